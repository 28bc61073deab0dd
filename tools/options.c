/* The option table and the layering of defaults, config file, environment and
 * command line (see options.h). */
#include "tools/options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"

const struct opt_def opt_defs[OPT__COUNT] = {
    [OPT_HELP] = {"help", no_argument, NULL, NULL, false, "show help for the command"},
    [OPT_CONFIG] = {"config", required_argument, "FILE", NULL, false,
                    "config file (default " IBS_DEFAULT_CONFIG_FILE ")"},
    [OPT_LOG_LEVEL] = {"log-level", required_argument, "LEVEL", "info", false,
                       "debug, info, warn or error"},
    [OPT_LOG_FORMAT] = {"log-format", required_argument, "FORMAT", "text", false,
                        "text or json (one JSON object per line)"},
    [OPT_QUIET] = {"quiet", no_argument, NULL, NULL, false, "log warnings and errors only"},
    [OPT_HOST] = {"host", required_argument, "HOST", NULL, false, "MariaDB server host"},
    [OPT_PORT] = {"port", required_argument, "PORT", NULL, false, "MariaDB server TCP port"},
    [OPT_SOCKET] = {"socket", required_argument, "PATH", NULL, false,
                    "MariaDB server unix socket"},
    [OPT_USER] = {"user", required_argument, "NAME", NULL, false, "MariaDB user"},
    [OPT_PASSWORD] = {"password", optional_argument, "PASS", NULL, true,
                      "MariaDB password; without a value, asked on the terminal. Prefer an "
                      "option file ([client] or [ibstream] group)"},
    [OPT_DEFAULTS_FILE] = {"defaults-file", required_argument, "FILE", NULL, false,
                           "read MariaDB client options from FILE only"},
    [OPT_DEFAULTS_EXTRA_FILE] = {"defaults-extra-file", required_argument, "FILE", NULL, false,
                                 "read FILE after the usual MariaDB option files"},
    [OPT_REPO] = {"repo", required_argument, "URL", NULL, false,
                  "repository: s3://bucket/prefix, file:///path or a directory"},
    [OPT_S3_ENDPOINT] = {"s3-endpoint", required_argument, "URL", NULL, false,
                         "S3-compatible endpoint (path-style); default: AWS"},
    [OPT_S3_REGION] = {"s3-region", required_argument, "REGION", NULL, false,
                       "S3 region (default: AWS_REGION, the profile, us-east-1)"},
    [OPT_S3_PROFILE] = {"s3-profile", required_argument, "NAME", NULL, false,
                        "profile in ~/.aws/credentials and ~/.aws/config"},
    [OPT_S3_ACCESS_KEY] = {"s3-access-key", required_argument, "KEY", NULL, false,
                           "access key id (prefer the config file or AWS_ACCESS_KEY_ID)"},
    [OPT_S3_SECRET_KEY] = {"s3-secret-key", required_argument, "SECRET", NULL, true,
                           "secret access key (config file or AWS_SECRET_ACCESS_KEY only)"},
    [OPT_S3_CA_FILE] = {"s3-ca-file", required_argument, "FILE", NULL, false,
                        "CA bundle to verify the endpoint's TLS certificate"},
    [OPT_S3_NO_VERIFY_TLS] = {"s3-no-verify-tls", no_argument, NULL, NULL, false,
                              "do not verify TLS certificates (test rigs only; command line "
                              "only)"},
    [OPT_S3_SSE] = {"s3-sse", required_argument, "MODE", NULL, false,
                    "server-side encryption: AES256 or aws:kms"},
    [OPT_S3_SSE_KMS_KEY_ID] = {"s3-sse-kms-key-id", required_argument, "ID", NULL, false,
                               "KMS key for --s3-sse aws:kms"},
    [OPT_S3_SSE_C_KEY_FILE] = {"s3-sse-c-key-file", required_argument, "FILE", NULL, false,
                               "SSE-C: file holding a 32-byte key"},
    [OPT_S3_STORAGE_CLASS] = {"s3-storage-class", required_argument, "CLASS", NULL, false,
                              "storage class of uploaded objects"},
    [OPT_S3_PART_SIZE] = {"s3-part-size", required_argument, "SIZE", "16M", false,
                          "multipart part size (5M..5G)"},
    [OPT_S3_PARTS_IN_FLIGHT] = {"s3-parts-in-flight", required_argument, "N", "4", false,
                                "parts uploaded or downloaded at once"},
    [OPT_S3_RETRIES] = {"s3-retries", required_argument, "N", "8", false,
                        "attempts per request on retryable errors"},
    [OPT_DEBUG_S3] = {"debug-s3", no_argument, NULL, NULL, false,
                      "log every S3 request (method, path, status, request id, time)"},
    [OPT_ENCRYPTION_KEY_FILE] = {"encryption-key-file", required_argument, "FILE", NULL, false,
                                 "encrypt (or read) the repository with the key in FILE (32 "
                                 "bytes or a passphrase; mode 0600 or 0400)"},
    [OPT_PARALLEL] = {"parallel", required_argument, "N", "2", false,
                      "files copied at once (copier threads)"},
    [OPT_QUEUE_DEPTH] = {"queue-depth", required_argument, "N", "8", false,
                         "reads in flight per copier thread"},
    [OPT_CHUNK_SIZE] = {"chunk-size", required_argument, "SIZE", "2M", false,
                        "bytes per read and per stored frame (64K multiples, up to 16M)"},
    [OPT_PACK_SIZE] = {"pack-size", required_argument, "SIZE", "128M", false,
                       "largest object of a backup: a full one is completed while the next "
                       "fills (1M to 4G)"},
    [OPT_COMPRESS_LEVEL] = {"compress-level", required_argument, "N", "1", false,
                            "zstd level: negative is faster, up to 19 is smaller"},
    [OPT_THROTTLE] = {"throttle", required_argument, "MB/S", "0", false,
                      "limit reading data files to this many MB per second (0: no limit)"},
    [OPT_PACE] = {"pace", required_argument, "auto|off", "auto", false,
                  "auto: while the server is busy, the page copy takes only the CPU the "
                  "host has to spare; off: always full speed"},
    [OPT_REDO_TIMEOUT] = {"redo-timeout", required_argument, "SECONDS", "300", false,
                          "how long the end of the backup waits for the redo copy"},
    [OPT_BACKUP] = {"backup", required_argument, "ID", "latest", false,
                    "the backup to use: an id from 'ibstream list', or latest"},
    [OPT_TARGET] = {"target", required_argument, "DIR", NULL, false,
                    "data directory to write (created if missing, must be empty)"},
    [OPT_FORCE] = {"force", no_argument, NULL, NULL, false,
                   "replace the contents of a non-empty target (nothing outside it)"},
    [OPT_NO_PREPARE] = {"no-prepare", no_argument, NULL, NULL, false,
                        "leave the raw layout that mariabackup --prepare accepts"},
    [OPT_USE_MEMORY] = {"use-memory", required_argument, "SIZE", "1G", false,
                        "memory for redo records before a batch is applied"},
    [OPT_INCREMENTAL] = {"incremental", no_argument, NULL, NULL, false,
                         "store only the pages changed since a base backup"},
    [OPT_BASE] = {"base", required_argument, "ID", "latest", false,
                  "base of an incremental: a backup id, or latest (this server's newest)"},
    [OPT_JSON] = {"json", no_argument, NULL, NULL, false, "print JSON for scripts"},
    [OPT_ALL] = {"all", no_argument, NULL, NULL, false,
                 "list: also incomplete attempts; verify: every backup"},
    [OPT_RETAIN_FULL] = {"retain-full", required_argument, "N", NULL, false,
                         "keep the newest N full backups and what depends on them"},
    [OPT_RETAIN_DAYS] = {"retain-days", required_argument, "DAYS", NULL, false,
                         "also keep every backup that ended less than DAYS days ago"},
    [OPT_DRY_RUN] = {"dry-run", no_argument, NULL, NULL, false,
                     "print what would be deleted, change nothing"},
    [OPT_OLDER_THAN] = {"older-than", required_argument, "HOURS", "24", false,
                        "only remove leftovers older than HOURS hours"},
    [OPT_LOCK_STALE_AFTER] = {"lock-stale-after", required_argument, "HOURS", "24", false,
                              "break another host's repository lock older than HOURS hours",
                              true},
    [OPT_METRICS_FILE] = {"metrics-file", required_argument, "PATH", NULL, false,
                          "write Prometheus textfile-collector metrics to PATH at the end",
                          true},
    [OPT_SYSLOG] = {"syslog", no_argument, NULL, NULL, false,
                    "also log to syslog (facility daemon)", true},
};

void opts_env_name(const char *name, char *buf, unsigned size)
{
    int n = snprintf(buf, size, "IBSTREAM_");
    for (const char *p = name; *p && (unsigned)n + 1 < size; p++)
        buf[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    buf[n] = '\0';
}

static int find_by_name(const char *name)
{
    for (int i = 0; i < OPT__COUNT; i++)
        if (strcmp(opt_defs[i].name, name) == 0)
            return i;
    return -1;
}

static bool is_allowed(const int *allowed, int id)
{
    if (opt_defs[id].global)
        return true;
    for (const int *a = allowed; *a >= 0; a++)
        if (*a == id)
            return true;
    return false;
}

static void set_value(struct opts *o, int id, const char *value, enum opt_source source)
{
    free((char *)o->value[id]);
    o->value[id] = value ? strdup(value) : NULL;
    o->source[id] = source;
    if (opt_defs[id].secret && value)
        ibs_log_add_secret(value);
}

struct config_ctx {
    struct opts *o;
    const char *command;
    const int *allowed;
    const char *path;
    struct ibs_err *err;
    int failed;
    bool section_pass; /* false: [ibstream] keys; true: [command] keys */
};

static int config_entry(void *user, const char *section, const char *name, const char *value)
{
    struct config_ctx *c = user;
    bool global = section[0] == '\0' || strcmp(section, "ibstream") == 0;
    bool mine = strcmp(section, c->command) == 0;
    if ((c->section_pass && !mine) || (!c->section_pass && !global))
        return 1;
    int id = find_by_name(name);
    if (id < 0 || id == OPT_CONFIG || id == OPT_HELP) {
        ibs_err_set(c->err, IBS_E_USAGE, "%s: [%s] unknown option '%s' (see 'ibstream help')",
                    c->path, section[0] ? section : "ibstream", name);
        c->failed = 1;
        return 0;
    }
    /* Keys for other commands' options are allowed in [ibstream]: one file serves all. */
    if (is_allowed(c->allowed, id))
        set_value(c->o, id, value, SRC_CONFIG);
    return 1;
}

static int load_config(struct opts *o, const char *path, bool required, const char *command,
                       const int *allowed, struct ibs_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!required && errno == ENOENT)
            return 0;
        return ibs_err_sys(err, IBS_E_USAGE, errno, "config file %s", path);
    }
    struct config_ctx ctx = {o, command, allowed, path, err, 0, false};
    int rc = ini_parse_file(f, config_entry, &ctx);
    if (rc == 0 && !ctx.failed) {
        rewind(f);
        ctx.section_pass = true;
        rc = ini_parse_file(f, config_entry, &ctx);
    }
    fclose(f);
    if (ctx.failed)
        return err->code;
    if (rc != 0)
        return ibs_err_set(err, IBS_E_USAGE, "config file %s: syntax error on line %d", path,
                           rc);
    return 0;
}

static void load_env(struct opts *o, const int *allowed)
{
    char env[96];
    for (int id = 0; id < OPT__COUNT; id++) {
        if (id == OPT_HELP || id == OPT_CONFIG || !is_allowed(allowed, id))
            continue;
        opts_env_name(opt_defs[id].name, env, sizeof(env));
        const char *value = getenv(env);
        if (value)
            set_value(o, id, value, SRC_ENV);
    }
}

/* Hides a password given on the command line from ps, as MariaDB's clients do. */
static void scrub_argument(char *arg)
{
    char *eq = strchr(arg, '=');
    char *from = eq ? eq + 1 : arg;
    memset(from, 'x', strlen(from));
}

int opts_load(struct opts *o, const char *command, const int *allowed, int argc, char **argv,
              int *first_arg, struct ibs_err *err)
{
    struct option longopts[OPT__COUNT + 1];
    int n = 0;
    int rc;

    memset(o, 0, sizeof(*o));
    for (int i = 0; i < OPT__COUNT; i++)
        if (opt_defs[i].def)
            set_value(o, i, opt_defs[i].def, SRC_DEFAULT);

    for (const int *a = allowed; *a >= 0; a++)
        if (!opt_defs[*a].global)
            longopts[n++] =
                (struct option){opt_defs[*a].name, opt_defs[*a].has_arg, NULL, *a + 256};
    for (int id = 0; id < OPT__COUNT; id++)
        if (opt_defs[id].global)
            longopts[n++] = (struct option){opt_defs[id].name, opt_defs[id].has_arg, NULL, id + 256};
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    /* First pass: only find --config, so the file can sit underneath everything. */
    const char *config = getenv("IBSTREAM_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strncmp(argv[i], "--config=", 9) == 0)
            config = argv[i] + 9;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[i + 1];
    }
    rc = load_config(o, config ? config : IBS_DEFAULT_CONFIG_FILE, config != NULL, command,
                     allowed, err);
    if (rc)
        return rc;
    if (config)
        set_value(o, OPT_CONFIG, config, SRC_CLI);
    load_env(o, allowed);

    optind = 1;
    opterr = 0;
    for (;;) {
        int longindex = -1;
        int c = getopt_long(argc, argv, "+h", longopts, &longindex);
        if (c == -1)
            break;
        if (c == 'h') {
            set_value(o, OPT_HELP, "1", SRC_CLI);
            continue;
        }
        if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];
            if (c == ':' || (optopt >= 256 && opt_defs[optopt - 256].has_arg == required_argument))
                return ibs_err_set(err, IBS_E_USAGE,
                                   "option '%s' needs a value (see 'ibstream help %s')", bad,
                                   command);
            return ibs_err_set(err, IBS_E_USAGE,
                               "unknown option '%s' for '%s' (see 'ibstream help %s')", bad,
                               command, command);
        }
        int id = c - 256;
        if (opt_defs[id].has_arg == no_argument) {
            set_value(o, id, "1", SRC_CLI);
        } else if (id == OPT_PASSWORD && !optarg) {
            o->password_prompt = true;
        } else {
            set_value(o, id, optarg, SRC_CLI);
            if (opt_defs[id].secret)
                scrub_argument(argv[optind - 1]);
        }
    }
    *first_arg = optind;
    return 0;
}

void opts_free(struct opts *o)
{
    for (int i = 0; i < OPT__COUNT; i++) {
        if (o->value[i] && opt_defs[i].secret)
            explicit_bzero((char *)o->value[i], strlen(o->value[i]));
        free((char *)o->value[i]);
        o->value[i] = NULL;
    }
}

const char *opts_str(const struct opts *o, enum opt_id id)
{
    return o->value[id];
}

bool opts_bool(const struct opts *o, enum opt_id id)
{
    const char *v = o->value[id];
    if (!v)
        return false;
    return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
           strcasecmp(v, "on") == 0;
}

int opts_parse_size(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!text || !isdigit((unsigned char)text[0]))
        return -1;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return -1;
    }
    if (*end) {
        end++;
        if (toupper((unsigned char)*end) == 'I')
            end++;
        if (toupper((unsigned char)*end) == 'B')
            end++;
        if (*end)
            return -1;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int opts_size(const struct opts *o, enum opt_id id, uint64_t *out, struct ibs_err *err)
{
    if (opts_parse_size(o->value[id], out) != 0)
        return ibs_err_set(err, IBS_E_USAGE, "--%s: '%s' is not a size (e.g. 64M, 1G)",
                           opt_defs[id].name, o->value[id] ? o->value[id] : "");
    return 0;
}

int opts_uint(const struct opts *o, enum opt_id id, unsigned *out, struct ibs_err *err)
{
    uint64_t v;
    const char *text = o->value[id];
    char *end;
    if (!text || !isdigit((unsigned char)text[0]))
        goto bad;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno || *end || v > 1000000)
        goto bad;
    *out = (unsigned)v;
    return 0;
bad:
    return ibs_err_set(err, IBS_E_USAGE, "--%s: '%s' is not a whole number",
                       opt_defs[id].name, text ? text : "");
}
