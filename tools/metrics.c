/* --syslog, lock settings and --metrics-file around every command (see metrics.h). */
#include "tools/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/lock.h"
#include "engine/ops.h"

/* ---- syslog: a FILE that copies each log line to stderr and syslog ---- */

struct tee {
    char line[8192];
    size_t len;
};

static struct tee tee_state;
static int syslog_on;

static int line_priority(const char *line)
{
    if (strstr(line, " error ") || strstr(line, "\"level\":\"error\""))
        return LOG_ERR;
    if (strstr(line, " warn ") || strstr(line, "\"level\":\"warn\""))
        return LOG_WARNING;
    if (strstr(line, " debug ") || strstr(line, "\"level\":\"debug\""))
        return LOG_DEBUG;
    return LOG_INFO;
}

static ssize_t tee_write(void *cookie, const char *buf, size_t size)
{
    struct tee *t = cookie;
    fwrite(buf, 1, size, stderr);
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '\n' || t->len + 1 >= sizeof(t->line)) {
            t->line[t->len] = '\0';
            /* The text format starts with a timestamp; syslog adds its own. */
            const char *msg = t->line;
            const char *space = strchr(msg, ' ');
            if (msg[0] != '{' && space)
                msg = space + 1;
            if (t->len)
                syslog(line_priority(t->line), "%s", msg);
            t->len = 0;
            if (buf[i] == '\n')
                continue;
        }
        t->line[t->len++] = buf[i];
    }
    return (ssize_t)size;
}

static int setup_syslog(const struct opts *o, struct ibs_err *err)
{
    enum ibs_log_level level = IBS_LOG_INFO;
    enum ibs_log_format format = IBS_LOG_TEXT;
    const char *v;
    if ((v = opts_str(o, OPT_LOG_LEVEL)) && ibs_log_level_parse(v, &level) != 0)
        return ibs_err_set(err, IBS_E_USAGE, "--log-level: bad value '%s'", v);
    if (opts_bool(o, OPT_QUIET) && level < IBS_LOG_WARN)
        level = IBS_LOG_WARN;
    if ((v = opts_str(o, OPT_LOG_FORMAT)) && ibs_log_format_parse(v, &format) != 0)
        return ibs_err_set(err, IBS_E_USAGE, "--log-format: bad value '%s'", v);
    cookie_io_functions_t io = {.write = tee_write};
    FILE *f = fopencookie(&tee_state, "w", io);
    if (!f)
        return ibs_err_sys(err, IBS_E_INTERNAL, errno, "--syslog: cannot set up the log stream");
    setvbuf(f, NULL, _IOLBF, 0);
    openlog("ibstream", LOG_PID, LOG_DAEMON);
    syslog_on = 1;
    /* The stream lives until exit: every log line goes through it. */
    ibs_log_configure(level, format, f);
    return 0;
}

int cli_ops_begin(const struct opts *o, const char *command, struct ibs_err *err)
{
    unsigned stale_h = 24;
    if (opts_str(o, OPT_LOCK_STALE_AFTER)) {
        int rc = opts_uint(o, OPT_LOCK_STALE_AFTER, &stale_h, err);
        if (rc)
            return rc;
        if (stale_h == 0)
            return ibs_err_set(err, IBS_E_USAGE, "--lock-stale-after must be at least 1 hour");
    }
    eng_lock_configure(command, (uint64_t)stale_h * 3600);
    if (opts_bool(o, OPT_SYSLOG))
        return setup_syslog(o, err);
    return 0;
}

/* ---- metrics ---- */

#define SUCCESS_METRIC "ibstream_last_success_timestamp_seconds"

static double previous_success(const char *previous, const char *command)
{
    char prefix[128];
    snprintf(prefix, sizeof(prefix), SUCCESS_METRIC "{command=\"%s\"} ", command);
    const char *p = previous ? strstr(previous, prefix) : NULL;
    return p ? strtod(p + strlen(prefix), NULL) : 0.0;
}

static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    if (!*buf)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            free(*buf);
            *buf = NULL;
            return;
        }
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        char *grown = realloc(*buf, *cap * 2 + (size_t)n);
        if (!grown) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = grown;
        *cap = *cap * 2 + (size_t)n;
    }
}

#define GAUGE(name, help)                                                                     \
    put(&buf, &len, &cap, "# HELP " name " " help "\n# TYPE " name " gauge\n")

char *cli_metrics_text(const char *command, int rc, double duration_s, time_t now,
                       uint64_t bytes_read, uint64_t bytes_stored, int have_bytes,
                       const char *previous)
{
    size_t cap = 2048, len = 0;
    char *buf = malloc(cap);
    if (buf)
        buf[0] = '\0';
    double success = rc == 0 ? (double)now : previous_success(previous, command);

    GAUGE(SUCCESS_METRIC, "Unix time of the last successful run of the command.");
    if (success > 0)
        put(&buf, &len, &cap, SUCCESS_METRIC "{command=\"%s\"} %.0f\n", command, success);
    GAUGE("ibstream_last_run_timestamp_seconds", "Unix time the last run of the command ended.");
    put(&buf, &len, &cap, "ibstream_last_run_timestamp_seconds{command=\"%s\"} %lld\n", command,
        (long long)now);
    GAUGE("ibstream_last_exit_code", "Exit status of the last run (see ibstream --help).");
    put(&buf, &len, &cap, "ibstream_last_exit_code{command=\"%s\"} %d\n", command, rc);
    GAUGE("ibstream_last_duration_seconds", "Wall time of the last run.");
    put(&buf, &len, &cap, "ibstream_last_duration_seconds{command=\"%s\"} %.3f\n", command,
        duration_s);
    if (have_bytes) {
        GAUGE("ibstream_last_bytes_read", "Bytes the last run read from the data files.");
        put(&buf, &len, &cap, "ibstream_last_bytes_read{command=\"%s\"} %" PRIu64 "\n", command,
            bytes_read);
        GAUGE("ibstream_last_bytes_stored", "Bytes the last run stored in the repository.");
        put(&buf, &len, &cap, "ibstream_last_bytes_stored{command=\"%s\"} %" PRIu64 "\n",
            command, bytes_stored);
        GAUGE("ibstream_last_compression_ratio", "Bytes read per byte stored in the last run.");
        put(&buf, &len, &cap, "ibstream_last_compression_ratio{command=\"%s\"} %.3f\n", command,
            bytes_stored ? (double)bytes_read / (double)bytes_stored : 0.0);
    }
    return buf;
}

int cli_metrics_write_file(const char *path, const char *text, struct ibs_err *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
        return ibs_err_set(err, IBS_E_USAGE, "--metrics-file: path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ibs_err_sys(err, IBS_E_IO, errno, "--metrics-file: create %s", tmp);
    size_t len = strlen(text);
    int rc = 0;
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
        rc = ibs_err_sys(err, IBS_E_IO, errno, "--metrics-file: write %s", tmp);
    if (close(fd) != 0 && !rc)
        rc = ibs_err_sys(err, IBS_E_IO, errno, "--metrics-file: close %s", tmp);
    if (!rc && rename(tmp, path) != 0)
        rc = ibs_err_sys(err, IBS_E_IO, errno, "--metrics-file: rename %s to %s", tmp, path);
    if (rc)
        unlink(tmp);
    return rc;
}

static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    if (buf && fread(buf, 1, 65535, f) == 0) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

void cli_ops_end(const struct opts *o, const char *command, int rc, const struct ibs_err *err,
                 const struct timespec *started)
{
    struct timespec now_mono;
    clock_gettime(CLOCK_MONOTONIC, &now_mono);
    double duration = (double)(now_mono.tv_sec - started->tv_sec) +
                      (double)(now_mono.tv_nsec - started->tv_nsec) / 1e9;
    int status = rc ? (err->code ? (int)err->code : IBS_E_INTERNAL) : 0;

    if (syslog_on) {
        if (status) {
            char line[IBS_ERR_MSG_MAX + 64];
            ibs_log_redact(err->msg, line, sizeof(line));
            syslog(LOG_ERR, "%s failed (exit %d): %s", command, status, line);
        } else {
            syslog(LOG_INFO, "%s succeeded in %.1f s", command, duration);
        }
    }
    const char *path = opts_str(o, OPT_METRICS_FILE);
    if (!path)
        return;
    uint64_t bytes_read, bytes_stored;
    bool any;
    eng_ops_noted_bytes(&bytes_read, &bytes_stored, &any);
    char *previous = read_small_file(path);
    char *text = cli_metrics_text(command, status, duration, time(NULL), bytes_read,
                                  bytes_stored, any, previous);
    free(previous);
    struct ibs_err werr;
    if (!text)
        IBS_WARN("metrics", "out of memory writing %s", path);
    else if (cli_metrics_write_file(path, text, &werr) != 0)
        IBS_WARN("metrics", "%s", werr.msg);
    free(text);
}
