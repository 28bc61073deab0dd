/* Redo headroom watchdog and progress reporting (see backup_monitor.h). */
#include "engine/backup_monitor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "io/throttle.h"

#define POLL_MS 100
#define LOG_EVERY_S 10
#define MAX_FAILED_POLLS 50
/* Below this share of the log capacity left, the copier is slowed down. */
#define HEADROOM_SLOW_PCT 30
#define HEADROOM_OK_PCT 50
#define SLOW_RATE_BPS (8ull << 20)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(struct eng_monitor *m, double elapsed, uint64_t headroom, bool final)
{
    uint64_t read = atomic_load(&m->stats->bytes_read);
    uint64_t total = atomic_load(&m->stats->bytes_total);
    double mbps = elapsed > 0 ? (double)read / elapsed / 1e6 : 0;
    double pct = total ? 100.0 * (double)read / (double)total : 0;
    double eta = mbps > 0 && total > read ? (double)(total - read) / 1e6 / mbps : 0;
    double headroom_pct = m->capacity ? 100.0 * (double)headroom / (double)m->capacity : 100;
    if (m->progress_tty) {
        fprintf(stderr, "\r%5.1f%%  %8.1f MB read  %7.1f MB/s  ETA %4.0fs  redo headroom %3.0f%%%s",
                pct > 100 ? 100 : pct, (double)read / 1e6, mbps, eta, headroom_pct,
                final ? "\n" : "");
        fflush(stderr);
    } else {
        IBS_INFO("backup", "%.1f%% copied, %.1f MB read, %.1f MB/s, redo headroom %.0f%%",
                 pct > 100 ? 100 : pct, (double)read / 1e6, mbps, headroom_pct);
    }
}

/* The copier's rate: the lowest of the user's limit, the slow rate while the
 * redo headroom is low, and the pacer's rate (0 = unlimited). */
static uint64_t copier_rate(struct eng_monitor *m)
{
    uint64_t rate = m->throttle_bps;
    uint64_t limits[2] = {atomic_load(&m->slowed) ? SLOW_RATE_BPS : 0,
                          atomic_load(&m->pacing) ? atomic_load(&m->paced_bps) : 0};
    for (int i = 0; i < 2; i++)
        if (limits[i] && (!rate || limits[i] < rate))
            rate = limits[i];
    return rate;
}

static void apply_rate(struct eng_monitor *m)
{
    if (m->throttle && io_throttle_rate(m->throttle) != copier_rate(m))
        io_throttle_set_rate(m->throttle, copier_rate(m));
}

/* One pacer step: a new rate is applied and told. */
static void pace(struct eng_monitor *m)
{
    struct eng_pace_sample s;
    if (!atomic_load(&m->pacing) ||
        !eng_pace_read(m->server_pid, atomic_load(&m->stats->bytes_read), &s) ||
        !eng_pacer_update(&m->pacer, &s))
        return;
    const struct eng_pacer *p = &m->pacer;
    uint64_t before = atomic_exchange(&m->paced_bps, p->rate);
    if (p->rate && !before)
        IBS_INFO("backup",
                 "the server is busy (%.2f cores; the host's other processes %.2f of %u): "
                 "pacing the page copy at %.0f MB/s (--pace off copies at full speed)",
                 p->server_cores, p->others_cores, p->ncpu, (double)p->rate / 1e6);
    else if (!p->rate)
        IBS_INFO("backup", "the server is quiet (%.2f cores): copying at full speed",
                 p->server_cores);
    else
        IBS_DEBUG("backup", "pacing the page copy at %.0f MB/s (others %.2f cores)",
                  (double)p->rate / 1e6, p->others_cores);
    apply_rate(m);
}

void eng_monitor_end_pacing(struct eng_monitor *m)
{
    if (!atomic_exchange(&m->pacing, false))
        return;
    if (atomic_load(&m->paced_bps))
        IBS_INFO("backup", "pacing ends: the rest is copied at full speed");
    apply_rate(m);
}

/* Sleeps until the next poll, or until eng_monitor_stop: the backup waits
 * for the monitor at its end and must not wait out a whole poll interval. */
static void pause_poll(struct eng_monitor *m)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += POLL_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&m->lock);
    while (!atomic_load(&m->stop) &&
           pthread_cond_timedwait(&m->wake, &m->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&m->lock);
}

static void *monitor_main(void *arg)
{
    struct eng_monitor *m = arg;
    double start = now_s(), last_log = start;
    uint64_t first_lsn = 0;
    unsigned failed_polls = 0;
    while (!atomic_load(&m->stop)) {
        uint64_t current = 0, checkpoint = 0;
        struct ibs_err err;
        uint64_t flushed = 0;
        bool polled = eng_server_lsn_flushed(m->conn, &flushed, &err) == 0;
        if (polled)
            eng_redo_tail_set_durable(m->tail, flushed);
        polled = polled && eng_server_lsn(m->conn, &current, &checkpoint, &err) == 0;
        /* Without these figures the redo copy neither advances nor notices an
         * overwrite: a monitor that keeps failing fails the backup instead of
         * letting it wait at BLOCK_COMMIT. */
        failed_polls = polled ? 0 : failed_polls + 1;
        if (failed_polls == MAX_FAILED_POLLS) {
            pthread_mutex_lock(&m->lock);
            ibs_err_set(&m->failure, err.code ? err.code : IBS_E_CONNECT,
                        "cannot read the server's LSNs for %d s: %s",
                        MAX_FAILED_POLLS * POLL_MS / 1000, err.msg);
            pthread_mutex_unlock(&m->lock);
            atomic_store(m->cancel, true);
            break;
        }
        if (polled) {
            uint64_t copied = eng_redo_tail_lsn(m->tail);
            uint64_t behind = current > copied ? current - copied : 0;
            atomic_store(&m->server_lsn, current);
            if (!first_lsn)
                first_lsn = current;
            if (behind > m->capacity) {
                double rate = eng_redo_tail_rate(m->tail);
                double elapsed = now_s() - start;
                double write_rate = elapsed > 0 ? (double)(current - first_lsn) / elapsed : 0;
                pthread_mutex_lock(&m->lock);
                ibs_err_set(&m->failure, IBS_E_REDO,
                            "the server overwrote redo log that was not copied yet (log "
                            "capacity %.1f MB; server at LSN %llu writing %.1f MB/s, copy at "
                            "%llu copying %.1f MB/s, after %.0f s): set a larger "
                            "innodb_log_file_size, or lower --parallel or set a lower "
                            "--throttle so the page copy leaves the redo copy more I/O",
                            (double)m->capacity / 1e6, (unsigned long long)current,
                            write_rate / 1e6, (unsigned long long)copied, rate / 1e6, elapsed);
                pthread_mutex_unlock(&m->lock);
                atomic_store(m->cancel, true);
                break;
            }
            uint64_t headroom = m->capacity - behind;
            if (headroom < atomic_load(&m->min_headroom))
                atomic_store(&m->min_headroom, headroom);
            /* Give the tailer priority: reading less data leaves it the disk. */
            bool slowed = atomic_load(&m->slowed);
            if (m->throttle && !slowed && headroom * 100 < m->capacity * HEADROOM_SLOW_PCT) {
                IBS_WARN("backup", "redo headroom %.0f%%: slowing the page copier down",
                         100.0 * (double)headroom / (double)m->capacity);
                atomic_store(&m->slowed, true);
                apply_rate(m);
            } else if (m->throttle && slowed && headroom * 100 > m->capacity * HEADROOM_OK_PCT) {
                atomic_store(&m->slowed, false);
                apply_rate(m);
            }
            if (m->throttle)
                pace(m);
            double now = now_s();
            if (m->progress_tty || now - last_log >= LOG_EVERY_S) {
                report(m, now - start, headroom, false);
                last_log = now;
            }
        }
        pause_poll(m);
    }
    if (m->progress_tty)
        report(m, now_s() - start, atomic_load(&m->min_headroom), true);
    return NULL;
}

int eng_monitor_start(struct eng_monitor *m, struct ibs_err *err)
{
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &attr);
    pthread_condattr_destroy(&attr);
    ibs_err_clear(&m->failure);
    atomic_init(&m->stop, false);
    atomic_init(&m->server_lsn, 0);
    atomic_init(&m->min_headroom, m->capacity);
    atomic_init(&m->slowed, false);
    atomic_init(&m->pacing, m->pace);
    atomic_init(&m->paced_bps, 0);
    eng_pacer_init(&m->pacer, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
    if (pthread_create(&m->thread, NULL, monitor_main, m) != 0) {
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->wake);
        return ibs_err_set(err, IBS_E_INTERNAL, "cannot start the backup monitor thread");
    }
    m->running = true;
    return 0;
}

int eng_monitor_stop(struct eng_monitor *m, struct ibs_err *err)
{
    if (!m->running)
        return 0;
    pthread_mutex_lock(&m->lock);
    atomic_store(&m->stop, true);
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    m->running = false;
    int rc = 0;
    if (m->failure.code) {
        *err = m->failure;
        rc = err->code;
    }
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->wake);
    return rc;
}
