/* The repository lock (see lock.h). */
#include "engine/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/log.h"

/* How long a taker waits before reading its lock back: a racing put that
 * landed after ours is then visible and we back off. */
#define SETTLE_NS 200000000L

struct eng_lock {
    struct store *store;
    struct eng_lock_holder me;
    bool confirmed;         /* ours for sure: created exclusively or read back */
    struct timespec put_at; /* CLOCK_MONOTONIC, when our put completed */
};

static char configured_command[32] = "backup";
static uint64_t configured_stale_s = ENG_LOCK_DEFAULT_STALE_S;

void eng_lock_configure(const char *command, uint64_t stale_after_s)
{
    snprintf(configured_command, sizeof(configured_command), "%s", command);
    configured_stale_s = stale_after_s ? stale_after_s : ENG_LOCK_DEFAULT_STALE_S;
}

int eng_lock_acquire_configured(struct store *store, struct eng_lock **out, struct ibs_err *err)
{
    return eng_lock_acquire(store, configured_command, configured_stale_s, out, err);
}

int eng_lock_take_configured(struct store *store, struct eng_lock **out, struct ibs_err *err)
{
    return eng_lock_take(store, configured_command, configured_stale_s, out, err);
}

static int parse_holder(const char *text, size_t len, struct eng_lock_holder *h,
                        struct ibs_err *err)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    json_object *v;
    int rc = 0;
    memset(h, 0, sizeof(*h));
    if (!o || !json_object_is_type(o, json_type_object)) {
        rc = ibs_err_set(err, IBS_E_INTEGRITY, "the lock object is not JSON");
        goto out;
    }
    if (json_object_object_get_ex(o, "host", &v))
        snprintf(h->host, sizeof(h->host), "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "pid", &v))
        h->pid = (long)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "pid_start", &v))
        h->pid_start = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "started", &v))
        h->started = json_object_get_int64(v);
    if (json_object_object_get_ex(o, "command", &v))
        snprintf(h->command, sizeof(h->command), "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "token", &v))
        snprintf(h->token, sizeof(h->token), "%s", json_object_get_string(v));
    if (!h->host[0] || h->pid <= 0 || !h->token[0])
        rc = ibs_err_set(err, IBS_E_INTEGRITY, "the lock object lacks host, pid or token");
out:
    json_object_put(o);
    if (tok)
        json_tokener_free(tok);
    return rc;
}

int eng_lock_read(struct store *store, struct eng_lock_holder *holder, struct ibs_err *err)
{
    void *data = NULL;
    size_t len = 0;
    int rc = store_get(store, ENG_LOCK_KEY, &data, &len, err);
    if (rc)
        return rc;
    rc = parse_holder(data, len, holder, err);
    free(data);
    return rc;
}

static void describe(const struct eng_lock_holder *h, char *buf, size_t size)
{
    char when[32];
    struct tm tm;
    time_t t = (time_t)h->started;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(buf, size, "'%s' on host %s, pid %ld, since %s", h->command, h->host, h->pid, when);
}

/* The start time of a process (clock ticks since boot, /proc/PID/stat field
 * 22), 0 when unknown. With the pid it names one process: pids are reused. */
static uint64_t process_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces: count from its ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long start = 0;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
                      "%*d %llu",
               &start) != 1)
        return 0;
    return (uint64_t)start;
}

/* Is the process that wrote the lock still running here? */
static bool process_alive(long pid, uint64_t pid_start)
{
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return false;
    uint64_t now_start = process_start(pid);
    return !(pid_start && now_start && now_start != pid_start);
}

static bool is_stale(const struct eng_lock_holder *h, const char *my_host, uint64_t stale_s,
                     time_t now, const char **why)
{
    if (strcmp(h->host, my_host) == 0) {
        if (!process_alive(h->pid, h->pid_start)) {
            *why = "its process is gone";
            return true;
        }
        return false;
    }
    if (now - h->started > (int64_t)stale_s) {
        *why = "it is older than --lock-stale-after";
        return true;
    }
    return false;
}

static int to_json(const struct eng_lock_holder *h, char **text)
{
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "host", json_object_new_string(h->host));
    json_object_object_add(o, "pid", json_object_new_int64(h->pid));
    json_object_object_add(o, "pid_start", json_object_new_int64((int64_t)h->pid_start));
    json_object_object_add(o, "started", json_object_new_int64(h->started));
    json_object_object_add(o, "command", json_object_new_string(h->command));
    json_object_object_add(o, "token", json_object_new_string(h->token));
    *text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return *text ? 0 : -1;
}

static int locked_error(struct store *store, const struct eng_lock_holder *h,
                        struct ibs_err *err)
{
    char who[512];
    describe(h, who, sizeof(who));
    return ibs_err_set(err, IBS_E_LOCKED,
                       "repository %s is locked by %s: wait for it to finish (a lock whose "
                       "process is gone is broken automatically; see --lock-stale-after)",
                       store_url(store), who);
}

int eng_lock_take(struct store *store, const char *command, uint64_t stale_after_s,
                  struct eng_lock **out, struct ibs_err *err)
{
    struct eng_lock *lk = calloc(1, sizeof(*lk));
    struct eng_lock_holder cur;
    char *text = NULL;
    uint8_t rnd[16];
    int rc;

    *out = NULL;
    if (!lk)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    lk->store = store;
    if (stale_after_s == 0)
        stale_after_s = ENG_LOCK_DEFAULT_STALE_S;
    if (gethostname(lk->me.host, sizeof(lk->me.host) - 1) != 0)
        snprintf(lk->me.host, sizeof(lk->me.host), "unknown");
    lk->me.pid = (long)getpid();
    lk->me.pid_start = process_start(lk->me.pid);
    lk->me.started = (int64_t)time(NULL);
    snprintf(lk->me.command, sizeof(lk->me.command), "%s", command);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        rc = ibs_err_sys(err, IBS_E_INTERNAL, errno, "no random bytes for the lock token");
        goto fail;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(lk->me.token + 2 * i, 3, "%02x", rnd[i]);

    rc = eng_lock_read(store, &cur, err);
    bool free_now = rc == IBS_E_NOTFOUND;
    if (rc == 0) {
        const char *why = NULL;
        char who[512];
        if (!is_stale(&cur, lk->me.host, stale_after_s, time(NULL), &why)) {
            rc = locked_error(store, &cur, err);
            goto fail;
        }
        describe(&cur, who, sizeof(who));
        IBS_WARN("lock", "breaking the stale lock of %s on %s: %s", who, store_url(store), why);
    } else if (rc == IBS_E_INTEGRITY) {
        rc = ibs_err_wrap(err, "repository %s: the object '%s' is not a lock ibstream wrote; "
                               "remove it if no ibstream is running",
                          store_url(store), ENG_LOCK_KEY);
        err->code = IBS_E_LOCKED;
        rc = IBS_E_LOCKED;
        goto fail;
    } else if (rc != IBS_E_NOTFOUND) {
        goto fail;
    }

    if (to_json(&lk->me, &text) != 0) {
        rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        goto fail;
    }
    /* No lock, and a store that creates objects exclusively: whoever creates
     * it first holds it, nothing to read back. (Breaking a stale lock keeps
     * the put and read-back below: deleting it first could delete the lock a
     * faster breaker has just taken.) */
    if (free_now && store_has_put_new(store)) {
        bool created = false;
        rc = store_put_new(store, ENG_LOCK_KEY, text, strlen(text), &created, err);
        free(text);
        if (rc) {
            ibs_err_wrap(err, "taking the repository lock");
            goto fail;
        }
        if (!created) {
            rc = eng_lock_read(store, &cur, err);
            if (rc == 0)
                rc = locked_error(store, &cur, err);
            else if (rc == IBS_E_NOTFOUND)
                rc = ibs_err_set(err, IBS_E_LOCKED,
                                 "repository %s: another process took the lock and released "
                                 "it meanwhile: try again",
                                 store_url(store));
            else
                ibs_err_wrap(err, "reading the repository lock another process took");
            goto fail;
        }
        IBS_DEBUG("lock", "took the lock of %s (token %s)", store_url(store), lk->me.token);
        lk->confirmed = true;
        *out = lk;
        return 0;
    }
    rc = store_put(store, ENG_LOCK_KEY, text, strlen(text), err);
    free(text);
    if (rc) {
        ibs_err_wrap(err, "taking the repository lock");
        goto fail;
    }
    clock_gettime(CLOCK_MONOTONIC, &lk->put_at);
    *out = lk;
    return 0;
fail:
    free(lk);
    return rc;
}

int eng_lock_confirm(struct eng_lock *lk, struct ibs_err *err)
{
    if (lk->confirmed)
        return 0;
    /* Read-after-write: a taker that raced us and put later wins; we back
     * off. The pause runs from our put: work done since counts. */
    struct timespec now, until = lk->put_at;
    until.tv_nsec += SETTLE_NS;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec < until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec < until.tv_nsec))
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
            ;
    struct eng_lock_holder cur;
    int rc = eng_lock_read(lk->store, &cur, err);
    if (rc == 0 && strcmp(cur.token, lk->me.token) != 0)
        return locked_error(lk->store, &cur, err);
    if (rc)
        return ibs_err_wrap(err, "reading back the repository lock");
    IBS_DEBUG("lock", "took the lock of %s (token %s)", store_url(lk->store), lk->me.token);
    lk->confirmed = true;
    return 0;
}

int eng_lock_acquire(struct store *store, const char *command, uint64_t stale_after_s,
                     struct eng_lock **out, struct ibs_err *err)
{
    int rc = eng_lock_take(store, command, stale_after_s, out, err);
    if (rc || (rc = eng_lock_confirm(*out, err)) == 0)
        return rc;
    free(*out); /* the lock object is another taker's now: left alone */
    *out = NULL;
    return rc;
}

int eng_lock_release(struct eng_lock *lk, struct ibs_err *err)
{
    if (!lk)
        return 0;
    struct eng_lock_holder cur;
    int rc = eng_lock_read(lk->store, &cur, err);
    if (rc == 0 && strcmp(cur.token, lk->me.token) == 0) {
        rc = store_delete(lk->store, ENG_LOCK_KEY, err);
    } else if (!lk->confirmed && (rc == 0 || rc == IBS_E_NOTFOUND)) {
        rc = 0; /* a race lost before the lock was ours: nothing to undo */
    } else if (rc == 0 || rc == IBS_E_NOTFOUND || rc == IBS_E_INTEGRITY) {
        IBS_WARN("lock", "the lock of %s is no longer ours (it was broken): left as it is",
                 store_url(lk->store));
        rc = 0;
    }
    free(lk);
    return rc;
}
