/* Redo headroom watchdog and progress reporting (see backup_monitor.h). */
#include "engine/backup_monitor.h"

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

static void *monitor_main(void *arg)
{
    struct eng_monitor *m = arg;
    double start = now_s(), last_log = start;
    uint64_t first_lsn = 0;
    unsigned failed_polls = 0;
    bool slowed = false;
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
            if (m->throttle && !slowed && headroom * 100 < m->capacity * HEADROOM_SLOW_PCT) {
                IBS_WARN("backup", "redo headroom %.0f%%: slowing the page copier down",
                         100.0 * (double)headroom / (double)m->capacity);
                io_throttle_set_rate(m->throttle, SLOW_RATE_BPS);
                slowed = true;
            } else if (m->throttle && slowed && headroom * 100 > m->capacity * HEADROOM_OK_PCT) {
                io_throttle_set_rate(m->throttle, m->throttle_bps);
                slowed = false;
            }
            double now = now_s();
            if (m->progress_tty || now - last_log >= LOG_EVERY_S) {
                report(m, now - start, headroom, false);
                last_log = now;
            }
        }
        usleep(POLL_MS * 1000);
    }
    if (m->progress_tty)
        report(m, now_s() - start, atomic_load(&m->min_headroom), true);
    return NULL;
}

int eng_monitor_start(struct eng_monitor *m, struct ibs_err *err)
{
    pthread_mutex_init(&m->lock, NULL);
    ibs_err_clear(&m->failure);
    atomic_init(&m->stop, false);
    atomic_init(&m->server_lsn, 0);
    atomic_init(&m->min_headroom, m->capacity);
    if (pthread_create(&m->thread, NULL, monitor_main, m) != 0) {
        pthread_mutex_destroy(&m->lock);
        return ibs_err_set(err, IBS_E_INTERNAL, "cannot start the backup monitor thread");
    }
    m->running = true;
    return 0;
}

int eng_monitor_stop(struct eng_monitor *m, struct ibs_err *err)
{
    if (!m->running)
        return 0;
    atomic_store(&m->stop, true);
    pthread_join(m->thread, NULL);
    m->running = false;
    int rc = 0;
    if (m->failure.code) {
        *err = m->failure;
        rc = err->code;
    }
    pthread_mutex_destroy(&m->lock);
    return rc;
}
