/* The backup's watchdog: a thread that polls the server's current LSN on its
 * own connection, compares it with what the redo tailer has copied (the redo
 * headroom), slows the page copier down when the headroom runs low, fails the
 * backup when the server overwrote log that was not copied, and reports
 * progress. Private to engine/. */
#ifndef IBS_ENGINE_BACKUP_MONITOR_H
#define IBS_ENGINE_BACKUP_MONITOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/copier.h"
#include "engine/pacer.h"
#include "engine/redo_tail.h"
#include "engine/server.h"

struct io_throttle;

struct eng_monitor {
    struct eng_server *conn;      /* its own connection */
    struct eng_redo_tail *tail;
    uint64_t capacity;            /* redo log capacity in bytes */
    struct io_throttle *throttle; /* the copier's, may be NULL */
    uint64_t throttle_bps;        /* the user's limit (0 = none) */
    struct eng_copy_stats *stats;
    atomic_bool *cancel;
    bool progress_tty;
    bool pace;                    /* --pace auto: pace the copier by the host's load */
    pid_t server_pid;             /* for the pacer, 0 = unknown */

    pthread_t thread;
    bool running;
    atomic_bool stop;
    _Atomic uint64_t server_lsn;  /* last polled */
    _Atomic uint64_t min_headroom;
    atomic_bool slowed;           /* by low redo headroom */
    atomic_bool pacing;           /* until eng_monitor_end_pacing */
    _Atomic uint64_t paced_bps;   /* the pacer's rate, 0 = none */
    struct eng_pacer pacer;
    pthread_mutex_t lock;         /* guards failure; with wake, the pause between polls */
    pthread_cond_t wake;          /* signalled by eng_monitor_stop */
    struct ibs_err failure;       /* the backup must fail: log overwritten */
};

int eng_monitor_start(struct eng_monitor *m, struct ibs_err *err);
/* The copier runs unpaced from now on (the backup holds a lock that blocks
 * the server: what is left must be copied at once). */
void eng_monitor_end_pacing(struct eng_monitor *m);
/* Stops the thread; returns the failure it saw, if any. */
int eng_monitor_stop(struct eng_monitor *m, struct ibs_err *err);

#endif
