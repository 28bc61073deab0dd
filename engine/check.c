/* The repository pre-flight check (see check.h). Generic steps go through the
 * store interface, so S3 and local directories are checked alike; the S3
 * extras (credentials source, clock, multipart calls) come from s3/s3.h. */
#include "engine/check.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "s3/s3.h"

#define PROBE_LEN 4096u
#define MIB (1024.0 * 1024.0)

struct check {
    const struct eng_check_opts *opts;
    struct eng_check_result *result;
    struct store *store;
    char probe_key[64];
    char bulk_key[80];
    char mpu_key[80];
    bool probe_written;
    bool bulk_written;
};

static void say(struct check *c, enum eng_check_status status, const char *step, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

static void say(struct check *c, enum eng_check_status status, const char *step, const char *fmt,
                ...)
{
    char detail[IBS_ERR_MSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (status == ENG_CHECK_WARN)
        c->result->warnings++;
    if (c->opts->report)
        c->opts->report(c->opts->ctx, status, step, detail);
}

/* Reports err as the failure of step and returns its code. */
static int fail(struct check *c, const char *step, struct ibs_err *err)
{
    say(c, ENG_CHECK_FAIL, step, "%s", err->msg);
    return err->code ? (int)err->code : IBS_E_INTERNAL;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Deterministic bytes that do not compress: xorshift64 from seed. */
static void fill(unsigned char *buf, size_t len, uint64_t *seed)
{
    uint64_t x = *seed ? *seed : 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = len - i < 8 ? len - i : 8;
        memcpy(buf + i, &x, n);
    }
    *seed = x;
}

static uint64_t random_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid() << 40;
}

static int step_credentials(struct check *c, struct ibs_err *err)
{
    char source[600];
    int rc = s3_credentials_source(c->opts->store, source, sizeof(source), err);
    if (rc)
        return fail(c, "credentials", err);
    say(c, ENG_CHECK_OK, "credentials", "from %s", source);
    return 0;
}

static int step_clock(struct check *c, struct ibs_err *err)
{
    time_t server, local;
    int rc = s3_probe_clock(c->opts->store, &server, &local, err);
    if (rc) /* the first request: an endpoint that does not answer fails here */
        return fail(c, "connect", err);
    long long skew = (long long)local - (long long)server;
    long long off = skew < 0 ? -skew : skew;
    const char *dir = skew > 0 ? "ahead of" : "behind";
    if (off > ENG_CHECK_SKEW_FAIL_S) {
        ibs_err_set(err, IBS_E_STORAGE,
                    "this host's clock is %lld s %s the endpoint's: S3 refuses requests signed "
                    "more than 15 minutes off (RequestTimeTooSkewed): synchronise the clock "
                    "(NTP)",
                    off, dir);
        return fail(c, "clock", err);
    }
    if (off > ENG_CHECK_SKEW_WARN_S)
        say(c, ENG_CHECK_WARN, "clock",
            "%lld s %s the endpoint's: requests fail at 15 minutes; synchronise the clock (NTP)",
            off, dir);
    else
        say(c, ENG_CHECK_OK, "clock", "within %d s of the endpoint's (%lld s)",
            ENG_CHECK_SKEW_WARN_S, skew);
    return 0;
}

static int step_write_read(struct check *c, struct ibs_err *err)
{
    unsigned char data[PROBE_LEN];
    uint64_t seed = random_seed();
    void *back = NULL;
    size_t back_len = 0;

    fill(data, sizeof(data), &seed);
    int rc = store_put(c->store, c->probe_key, data, sizeof(data), err);
    if (rc)
        return fail(c, "write", err);
    c->probe_written = true;
    say(c, ENG_CHECK_OK, "write", "%s (%u bytes)", c->probe_key, PROBE_LEN);

    rc = store_get(c->store, c->probe_key, &back, &back_len, err);
    if (rc)
        return fail(c, "read", err);
    bool same = back_len == sizeof(data) && memcmp(back, data, sizeof(data)) == 0;
    free(back);
    if (!same) {
        ibs_err_set(err, IBS_E_STORAGE,
                    "%s: %s read back %zu bytes that differ from the %u written: the store "
                    "does not keep what it is given",
                    store_url(c->store), c->probe_key, back_len, PROBE_LEN);
        return fail(c, "read", err);
    }
    say(c, ENG_CHECK_OK, "read", "the same %u bytes came back", PROBE_LEN);
    return 0;
}

struct find_key {
    const char *key;
    uint64_t size;
    bool found;
};

static int match_key(void *ctx, const struct store_entry *entry)
{
    struct find_key *fk = ctx;
    if (strcmp(entry->key, fk->key) == 0) {
        fk->found = true;
        fk->size = entry->size;
    }
    return 0;
}

static int step_list(struct check *c, struct ibs_err *err)
{
    struct find_key fk = {.key = c->probe_key};
    int rc = store_list(c->store, c->probe_key, match_key, &fk, err);
    if (rc)
        return fail(c, "list", err);
    if (!fk.found || fk.size != PROBE_LEN) {
        ibs_err_set(err, IBS_E_STORAGE,
                    "%s: the listing under %s %s: listings must show every complete object",
                    store_url(c->store), c->probe_key,
                    fk.found ? "shows the probe with the wrong size" : "lacks the probe object");
        return fail(c, "list", err);
    }
    say(c, ENG_CHECK_OK, "list", "the probe object is listed");
    return 0;
}

static int step_multipart(struct check *c, struct ibs_err *err)
{
    struct s3_multipart_report rep;
    int rc = s3_probe_multipart(c->opts->store, c->mpu_key, &rep, err);
    if (rc)
        return fail(c, "multipart", err);
    if (rep.abort_note[0])
        say(c, ENG_CHECK_WARN, "multipart", "upload and part accepted; %s", rep.abort_note);
    if (rep.list_note[0])
        say(c, ENG_CHECK_WARN, "multipart", "%s%s", rep.list_note,
            rep.unsupported ? ""
                            : " (cleanup of interrupted uploads needs "
                              "s3:ListBucketMultipartUploads)");
    if (rep.aborted && rep.listed)
        say(c, ENG_CHECK_OK, "multipart", "upload started, one part, listed, aborted");
    else if (rep.aborted)
        say(c, ENG_CHECK_OK, "multipart", "upload started, one part, aborted");
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int step_latency(struct check *c, struct ibs_err *err)
{
    double ms[ENG_CHECK_LATENCY_SAMPLES];
    struct store_stat st;
    for (unsigned i = 0; i < ENG_CHECK_LATENCY_SAMPLES; i++) {
        double start = mono_ms();
        int rc = store_head(c->store, c->probe_key, &st, err);
        if (rc)
            return fail(c, "latency", err);
        ms[i] = mono_ms() - start;
    }
    qsort(ms, ENG_CHECK_LATENCY_SAMPLES, sizeof(ms[0]), cmp_double);
    c->result->latency_ms = ms[ENG_CHECK_LATENCY_SAMPLES / 2];
    say(c, ENG_CHECK_OK, "latency", "median %.2f ms over %u HEAD requests (min %.2f, max %.2f)",
        c->result->latency_ms, ENG_CHECK_LATENCY_SAMPLES, ms[0], ms[ENG_CHECK_LATENCY_SAMPLES - 1]);
    return 0;
}

/* Streams bulk_bytes up with the multipart writer a backup uses, reads them
 * back with parallel ranged GETs as a restore does, and compares hashes. */
static int step_throughput(struct check *c, struct ibs_err *err)
{
    const size_t chunk = 1u << 20;
    const size_t range = 8u << 20;
    const unsigned parallel = 4;
    uint64_t total = c->opts->bulk_bytes;
    uint64_t seed = random_seed();
    unsigned char *buf = malloc(range * parallel);
    struct store_range ranges[4];
    struct store_writer *w = NULL;
    XXH64_hash_t up_hash, down_hash;
    XXH3_state_t *xs = XXH3_createState();
    int rc;

    if (!buf || !xs) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "check: out of memory for the throughput test");
        goto out;
    }
    XXH3_64bits_reset(xs);
    double start = mono_ms();
    rc = store_writer_open(c->store, c->bulk_key, &w, err);
    for (uint64_t done = 0; !rc && done < total; done += chunk) {
        size_t n = total - done < chunk ? (size_t)(total - done) : chunk;
        fill(buf, n, &seed);
        XXH3_64bits_update(xs, buf, n);
        rc = store_writer_write(w, buf, n, err);
    }
    if (rc) {
        store_writer_abort(w);
        goto out;
    }
    rc = store_writer_commit(w, err);
    if (rc)
        goto out;
    c->bulk_written = true;
    double up_ms = mono_ms() - start;
    up_hash = XXH3_64bits_digest(xs);

    XXH3_64bits_reset(xs);
    start = mono_ms();
    for (uint64_t off = 0; !rc && off < total;) {
        size_t n = 0, batch = 0;
        for (; n < parallel && off < total; n++) {
            size_t len = total - off < range ? (size_t)(total - off) : range;
            ranges[n] = (struct store_range){c->bulk_key, off, len, buf + batch};
            off += len;
            batch += len;
        }
        rc = store_get_ranges(c->store, ranges, n, err);
        if (!rc)
            XXH3_64bits_update(xs, buf, batch);
    }
    if (rc)
        goto out;
    double down_ms = mono_ms() - start;
    down_hash = XXH3_64bits_digest(xs);
    if (up_hash != down_hash) {
        rc = ibs_err_set(err, IBS_E_STORAGE,
                         "%s: %s read back other bytes than were written: the store does not "
                         "keep what it is given",
                         store_url(c->store), c->bulk_key);
        goto out;
    }
    double mib = (double)total / MIB;
    c->result->up_mib_s = up_ms > 0 ? mib / (up_ms / 1e3) : 0;
    c->result->down_mib_s = down_ms > 0 ? mib / (down_ms / 1e3) : 0;
    say(c, ENG_CHECK_OK, "throughput", "%.0f MiB up %.1f MiB/s, down %.1f MiB/s", mib,
        c->result->up_mib_s, c->result->down_mib_s);
out:
    XXH3_freeState(xs);
    free(buf);
    return rc ? fail(c, "throughput", err) : 0;
}

static int step_delete(struct check *c, struct ibs_err *err)
{
    struct store_stat st;
    int rc = store_delete(c->store, c->probe_key, err);
    if (!rc && c->bulk_written)
        rc = store_delete(c->store, c->bulk_key, err);
    if (rc)
        return fail(c, "delete", err);
    c->probe_written = c->bulk_written = false;
    rc = store_head(c->store, c->probe_key, &st, err);
    if (rc == 0) {
        ibs_err_set(err, IBS_E_STORAGE, "%s: %s is still there after a successful delete",
                    store_url(c->store), c->probe_key);
        return fail(c, "delete", err);
    }
    if (rc != IBS_E_NOTFOUND)
        return fail(c, "delete", err);
    ibs_err_clear(err);
    say(c, ENG_CHECK_OK, "delete", "the probe objects are gone");
    return 0;
}

/* Free space where a local repository lives: its directory, or the closest
 * existing parent when the first write has yet to create it. */
static int step_space(struct check *c, struct ibs_err *err)
{
    const char *url = store_url(c->store);
    char path[PATH_MAX];
    struct statvfs vfs;

    snprintf(path, sizeof(path), "%s", strncmp(url, "file://", 7) == 0 ? url + 7 : url);
    while (statvfs(path, &vfs) != 0) {
        char *slash = strrchr(path, '/');
        if (errno != ENOENT || !slash || slash == path) {
            ibs_err_sys(err, IBS_E_STORAGE, errno, "local: statvfs %s", path);
            return fail(c, "space", err);
        }
        *slash = '\0';
    }
    double free_gib = (double)vfs.f_bavail * (double)vfs.f_frsize / (MIB * 1024.0);
    double total_gib = (double)vfs.f_blocks * (double)vfs.f_frsize / (MIB * 1024.0);
    if ((uint64_t)vfs.f_bavail * vfs.f_frsize < ENG_CHECK_LOW_SPACE)
        say(c, ENG_CHECK_WARN, "space", "%.2f GiB free of %.1f GiB in %s: a backup needs room",
            free_gib, total_gib, path);
    else
        say(c, ENG_CHECK_OK, "space", "%.1f GiB free of %.1f GiB in %s", free_gib, total_gib, path);
    return 0;
}

/* Best effort after a failure: the probe objects should not outlive the check. */
static void remove_probes(struct check *c)
{
    struct ibs_err ignored;
    if (c->probe_written)
        store_delete(c->store, c->probe_key, &ignored);
    if (c->bulk_written)
        store_delete(c->store, c->bulk_key, &ignored);
}

int eng_check_run(const struct eng_check_opts *opts, struct eng_check_result *result,
                  struct ibs_err *err)
{
    struct check c = {.opts = opts, .result = result};
    uint64_t seed = random_seed();
    bool s3;
    int rc;

    memset(result, 0, sizeof(*result));
    fill((unsigned char *)&seed, sizeof(seed), &seed);
    snprintf(c.probe_key, sizeof(c.probe_key), ".ibstream-check-%016llx", (unsigned long long)seed);
    snprintf(c.bulk_key, sizeof(c.bulk_key), "%s.bulk", c.probe_key);
    snprintf(c.mpu_key, sizeof(c.mpu_key), "%s.multipart", c.probe_key);

    rc = store_open(opts->store, &c.store, err);
    if (rc)
        return fail(&c, "repository", err);
    s3 = strcmp(store_kind(c.store), "s3") == 0;
    say(&c, ENG_CHECK_OK, "repository", "%s (%s)", store_url(c.store), store_kind(c.store));

    if (s3 && (rc = step_credentials(&c, err)) != 0)
        goto out;
    if (s3 && (rc = step_clock(&c, err)) != 0)
        goto out;
    if (!s3 && (rc = step_space(&c, err)) != 0)
        goto out;
    if ((rc = step_write_read(&c, err)) != 0 || (rc = step_list(&c, err)) != 0)
        goto out;
    if (s3 && (rc = step_multipart(&c, err)) != 0)
        goto out;
    if ((rc = step_latency(&c, err)) != 0)
        goto out;
    if (opts->bulk_bytes && (rc = step_throughput(&c, err)) != 0)
        goto out;
    rc = step_delete(&c, err);
out:
    if (rc)
        remove_probes(&c);
    store_close(c.store);
    return rc;
}
