/* Pacing of the page copy by the load of the host (see pacer.h). */
#include "engine/pacer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

void eng_pacer_init(struct eng_pacer *p, unsigned ncpu)
{
    memset(p, 0, sizeof(*p));
    p->ncpu = ncpu ? ncpu : 1;
    /* Half the host stays free for the server's bursts and the clients on
     * the host; the copy keeps a tenth. On two cores: one core, and a fifth
     * of one. (Measured on 2 cores: a busy server lost 30 % of its
     * transactions to one core of other work, 45 % to two, although its own
     * load left more than a core idle: what the server feels is the cores
     * being busy, not their being taken.) */
    p->margin_cores = 0.5 * p->ncpu;
    p->floor_cores = 0.1 * p->ncpu > 0.2 ? 0.1 * p->ncpu : 0.2;
    p->server_cores = -1;
}

static bool rate_changed(uint64_t old, uint64_t now)
{
    if ((old == 0) != (now == 0))
        return true;
    uint64_t diff = old > now ? old - now : now - old;
    return diff * 20 > old; /* more than 5 % */
}

bool eng_pacer_update(struct eng_pacer *p, const struct eng_pace_sample *s)
{
    if (!p->have_last) {
        p->last = *s;
        p->have_last = true;
        return false;
    }
    double dt = s->wall_s - p->last.wall_s;
    if (dt + 1e-6 < PACE_WINDOW_S) /* (the tolerance: decimal windows in binary) */
        return false;
    double self = s->self_cpu_s - p->last.self_cpu_s;
    double host = (s->host_busy_s - p->last.host_busy_s) / dt;
    uint64_t bytes = s->bytes > p->last.bytes ? s->bytes - p->last.bytes : 0;
    bool server_known = s->server_cpu_s >= 0 && p->last.server_cpu_s >= 0;

    p->self_cores = self / dt;
    p->others_cores = host > p->self_cores ? host - p->self_cores : 0;
    p->server_cores = server_known ? (s->server_cpu_s - p->last.server_cpu_s) / dt : -1;
    /* What a CPU second of ours copies: learned while copying, smoothed. */
    if (bytes > 0 && self > 0.01) {
        double per_cpu = (double)bytes / self;
        p->bytes_per_cpu_s =
            p->bytes_per_cpu_s > 0 ? 0.5 * p->bytes_per_cpu_s + 0.5 * per_cpu : per_cpu;
    }
    p->last = *s;

    bool busy = server_known ? p->server_cores >= PACE_SERVER_BUSY_CORES
                             : p->others_cores >= PACE_HOST_BUSY_SHARE * p->ncpu;
    p->quiet_windows = busy ? 0 : p->quiet_windows + 1;
    if (!busy && p->rate && p->quiet_windows < PACE_QUIET_WINDOWS)
        return false; /* paced until the quiet lasts */
    uint64_t rate = 0;
    if (busy && p->bytes_per_cpu_s > 0) {
        /* While paced the others get more CPU and the budget shrinks again:
         * on a saturated host the copy settles at the floor. */
        double budget = (double)p->ncpu - p->others_cores - p->margin_cores;
        if (budget < p->floor_cores)
            budget = p->floor_cores;
        double r = budget * p->bytes_per_cpu_s;
        /* Down at once (the server is losing throughput now), up smoothly. */
        if (p->rate && r > (double)p->rate)
            r = 0.5 * (double)p->rate + 0.5 * r;
        if (r < (double)PACE_MIN_RATE_BPS)
            r = (double)PACE_MIN_RATE_BPS;
        rate = (uint64_t)r;
    }
    bool changed = rate_changed(p->rate, rate);
    if (changed)
        p->rate = rate;
    return changed;
}

/* CPU seconds the host's CPUs spent busy: every /proc/stat column but idle
 * and iowait (guest time is already counted in user). */
static bool read_host_busy(double *busy_s)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return false;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4)
        return false;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    *busy_s = (double)busy / (double)sysconf(_SC_CLK_TCK);
    return true;
}

/* utime + stime of a process, from the fields after its command name. */
static double process_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long utime, stime;
    /* After ") ": state, then fields 4..13, then utime (14) and stime (15). */
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

bool eng_pace_read(pid_t server_pid, uint64_t bytes, struct eng_pace_sample *s)
{
    struct timespec t;
    struct rusage ru;
    clock_gettime(CLOCK_MONOTONIC, &t);
    s->wall_s = (double)t.tv_sec + (double)t.tv_nsec / 1e9;
    if (!read_host_busy(&s->host_busy_s) || getrusage(RUSAGE_SELF, &ru) != 0)
        return false;
    s->self_cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    s->server_cpu_s = server_pid > 0 ? process_cpu_s(server_pid) : -1;
    s->bytes = bytes;
    return true;
}

pid_t eng_pace_server_pid(const char *pid_file)
{
    FILE *f = fopen(pid_file, "re");
    if (!f)
        return 0;
    long pid = 0;
    int n = fscanf(f, "%ld", &pid);
    fclose(f);
    if (n != 1 || pid <= 0)
        return 0;
    /* A stale pid file may name an unrelated process by now. */
    char path[64], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
    if (!(f = fopen(path, "re")))
        return 0;
    bool got = fgets(comm, sizeof(comm), f) != NULL;
    fclose(f);
    if (!got || (!strstr(comm, "mariadbd") && !strstr(comm, "mysqld")))
        return 0;
    return process_cpu_s((pid_t)pid) >= 0 ? (pid_t)pid : 0;
}
