/* Pacing of the page copy by the load of the host (--pace auto).
 *
 * A backup competes with the server it copies for CPU: compressing the pages
 * takes one to two cores, and on a server that is busy serving, every core the
 * backup takes is throughput the server loses, whatever the scheduler's
 * priorities say (measured: an idle-priority CPU hog on a 2-core host cost a
 * busy server as many transactions as a normal one; the cores' shared
 * hardware is what is contended). So while the server is busy, the copier
 * takes only the CPU the host has left over beyond a margin, never less than
 * a floor (the backup must finish); while the server is quiet, the copy runs
 * at full speed.
 *
 * The pacer turns CPU shares into the copier's byte rate through its own
 * measured cost: bytes read per CPU second of this process. It sees the host
 * through samples (eng_pace_read) and decides on windows of PACE_WINDOW_S; the
 * decision (eng_pacer_update) is a pure function of the samples, so tests
 * drive it with made-up figures. Private to engine/. */
#ifndef IBS_ENGINE_PACER_H
#define IBS_ENGINE_PACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PACE_WINDOW_S 0.3
/* The server counts as busy from this many cores of its own CPU time. */
#define PACE_SERVER_BUSY_CORES 0.25
/* Without the server's figures: the host's other processes, as a share of it. */
#define PACE_HOST_BUSY_SHARE 0.25
/* Paced, the server must look quiet this many windows in a row before the
 * copy runs at full speed again: a server stalled on its disk for a moment
 * uses little CPU without being any less busy. */
#define PACE_QUIET_WINDOWS 4
/* Never paced below this rate: a backup of a saturated host still ends. */
#define PACE_MIN_RATE_BPS (8ull << 20)

/* Cumulative counters at one instant. */
struct eng_pace_sample {
    double wall_s;       /* monotonic clock */
    double host_busy_s;  /* CPU seconds all CPUs spent busy (not idle or iowait) */
    double self_cpu_s;   /* this process's user + system CPU seconds */
    double server_cpu_s; /* the server process's, < 0 when unknown */
    uint64_t bytes;      /* bytes the copier has read */
};

struct eng_pacer {
    unsigned ncpu;
    double margin_cores;         /* left to the host's other processes */
    double floor_cores;          /* the least the copy gets */
    struct eng_pace_sample last; /* start of the current window */
    bool have_last;
    double bytes_per_cpu_s; /* learned; 0 until the first window with copying */
    uint64_t rate;          /* the copier's rate now, 0 = unlimited */
    unsigned quiet_windows; /* in a row, while paced */
    /* The last window's figures, for the log. */
    double others_cores, server_cores, self_cores;
};

void eng_pacer_init(struct eng_pacer *p, unsigned ncpu);

/* Takes one sample; at the end of a window decides the copier's rate
 * (p->rate, 0 = unlimited). Returns true when the rate changed. */
bool eng_pacer_update(struct eng_pacer *p, const struct eng_pace_sample *s);

/* Fills a sample from /proc (the server's figures from /proc/<server_pid>,
 * server_pid <= 0: unknown). Returns false when /proc/stat cannot be read. */
bool eng_pace_read(pid_t server_pid, uint64_t bytes, struct eng_pace_sample *s);

/* The pid in the server's pid file if that process is alive and readable in
 * /proc, else 0. */
pid_t eng_pace_server_pid(const char *pid_file);

#endif
