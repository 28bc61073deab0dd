/* The token-bucket rate limiter (see throttle.h). Credit is kept as a double:
 * byte counts and rates fit its 53 bits exactly enough, and the refill
 * arithmetic (elapsed ns x rate) would overflow 64-bit integers. */
#include "io/throttle.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define NS_PER_SEC 1000000000.0

struct io_throttle {
    struct io_clock clock;
    bool default_burst;

    pthread_mutex_t lock; /* guards everything below */
    uint64_t rate;        /* bytes per second, 0 = unlimited */
    double burst;         /* most credit the bucket holds */
    double tokens;        /* credit in bytes; negative = debt */
    uint64_t last_ns;     /* when tokens was last refilled */
    uint64_t total;
};

static uint64_t monotonic_now_ns(void *ctx)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void monotonic_sleep_ns(void *ctx, uint64_t ns)
{
    struct timespec left = {.tv_sec = (time_t)(ns / 1000000000u),
                            .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

static double default_burst(uint64_t rate)
{
    double burst = (double)rate / 10;
    return burst < 1 ? 1 : burst;
}

struct io_throttle *io_throttle_new_clock(uint64_t bytes_per_sec, uint64_t burst_bytes,
                                          const struct io_clock *clock, struct ibs_err *err)
{
    struct io_throttle *throttle = calloc(1, sizeof(*throttle));
    if (throttle == NULL) {
        ibs_err_set(err, IBS_E_INTERNAL, "throttle: out of memory");
        return NULL;
    }
    if (clock != NULL)
        throttle->clock = *clock;
    else
        throttle->clock = (struct io_clock){monotonic_now_ns, monotonic_sleep_ns, NULL};
    throttle->default_burst = burst_bytes == 0;
    throttle->rate = bytes_per_sec;
    throttle->burst = burst_bytes != 0 ? (double)burst_bytes : default_burst(bytes_per_sec);
    throttle->tokens = throttle->burst;
    throttle->last_ns = throttle->clock.now_ns(throttle->clock.ctx);
    pthread_mutex_init(&throttle->lock, NULL);
    return throttle;
}

struct io_throttle *io_throttle_new(uint64_t bytes_per_sec, struct ibs_err *err)
{
    return io_throttle_new_clock(bytes_per_sec, 0, NULL, err);
}

/* Adds the credit earned since last_ns at the current rate; lock held. */
static void throttle_refill(struct io_throttle *throttle, uint64_t now)
{
    if (now > throttle->last_ns && throttle->rate != 0) {
        throttle->tokens += (double)(now - throttle->last_ns) * (double)throttle->rate / NS_PER_SEC;
        if (throttle->tokens > throttle->burst)
            throttle->tokens = throttle->burst;
    }
    if (now > throttle->last_ns)
        throttle->last_ns = now;
}

uint64_t io_throttle_take(struct io_throttle *throttle, uint64_t bytes)
{
    uint64_t wait = 0;

    pthread_mutex_lock(&throttle->lock);
    throttle->total += bytes;
    if (throttle->rate != 0) {
        throttle_refill(throttle, throttle->clock.now_ns(throttle->clock.ctx));
        throttle->tokens -= (double)bytes;
        if (throttle->tokens < 0) {
            double debt_ns = -throttle->tokens * NS_PER_SEC / (double)throttle->rate;
            wait = (uint64_t)debt_ns;
            if ((double)wait < debt_ns)
                wait++; /* round up: never run ahead of the rate */
        }
    }
    pthread_mutex_unlock(&throttle->lock);
    /* Sleep outside the lock: other threads queue up behind this one's debt. */
    if (wait != 0)
        throttle->clock.sleep_ns(throttle->clock.ctx, wait);
    return wait;
}

void io_throttle_set_rate(struct io_throttle *throttle, uint64_t bytes_per_sec)
{
    pthread_mutex_lock(&throttle->lock);
    uint64_t now = throttle->clock.now_ns(throttle->clock.ctx);
    if (throttle->rate == 0) {
        /* Leaving unlimited: start with a full bucket, as a new limiter does. */
        throttle->last_ns = now;
        throttle->tokens = throttle->default_burst ? default_burst(bytes_per_sec) : throttle->burst;
    } else {
        throttle_refill(throttle, now);
    }
    throttle->rate = bytes_per_sec;
    if (throttle->default_burst)
        throttle->burst = default_burst(bytes_per_sec);
    if (throttle->tokens > throttle->burst)
        throttle->tokens = throttle->burst;
    if (bytes_per_sec == 0)
        throttle->tokens = 0; /* unlimited forgives debt */
    pthread_mutex_unlock(&throttle->lock);
}

uint64_t io_throttle_rate(struct io_throttle *throttle)
{
    pthread_mutex_lock(&throttle->lock);
    uint64_t rate = throttle->rate;
    pthread_mutex_unlock(&throttle->lock);
    return rate;
}

uint64_t io_throttle_total(struct io_throttle *throttle)
{
    pthread_mutex_lock(&throttle->lock);
    uint64_t total = throttle->total;
    pthread_mutex_unlock(&throttle->lock);
    return total;
}

void io_throttle_free(struct io_throttle *throttle)
{
    if (throttle == NULL)
        return;
    pthread_mutex_destroy(&throttle->lock);
    free(throttle);
}
