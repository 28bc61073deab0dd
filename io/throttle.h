/* A token-bucket rate limiter in bytes per second, shared by the threads of a
 * stage (the page copier's readers, the uploader). The rate can change while
 * it runs: the redo tailer slows the copier when the server's redo log is about
 * to overwrite log the tailer has not copied yet. Thread-safe.
 *
 * The bucket holds up to burst bytes of credit. A take larger than the credit
 * runs the bucket into debt and sleeps until the debt is repaid at the rate, so
 * blocks of any size are allowed and the long-run rate holds across threads. */
#ifndef IBS_IO_THROTTLE_H
#define IBS_IO_THROTTLE_H

#include <stdint.h>

#include "common/err.h"

/* The time source; tests inject a fake one. */
struct io_clock {
    uint64_t (*now_ns)(void *ctx);            /* monotonic nanoseconds */
    void (*sleep_ns)(void *ctx, uint64_t ns); /* sleep at least ns */
    void *ctx;
};

struct io_throttle;

/* A limiter of bytes_per_sec (0 = unlimited) on CLOCK_MONOTONIC, with a burst
 * of a tenth of a second's worth of bytes, starting full. Returns NULL with
 * err set (IBS_E_INTERNAL) when memory runs out. Free with io_throttle_free. */
struct io_throttle *io_throttle_new(uint64_t bytes_per_sec, struct ibs_err *err);

/* The same with an explicit burst (0 = a tenth of the rate) and clock (NULL =
 * CLOCK_MONOTONIC and nanosleep; copied, ctx must outlive the limiter). */
struct io_throttle *io_throttle_new_clock(uint64_t bytes_per_sec, uint64_t burst_bytes,
                                          const struct io_clock *clock, struct ibs_err *err);

/* Accounts bytes about to be (or just) transferred and sleeps as long as the
 * rate requires. Returns the nanoseconds slept (0 when unlimited or in credit). */
uint64_t io_throttle_take(struct io_throttle *throttle, uint64_t bytes);

/* Changes the rate (0 = unlimited) for every take from now on; a burst given
 * to io_throttle_new_clock is kept, a default one follows the rate. Credit is
 * capped to the new burst; debt is kept and repaid at the new rate. A thread
 * already sleeping finishes the sleep it computed at the old rate. */
void io_throttle_set_rate(struct io_throttle *throttle, uint64_t bytes_per_sec);

/* The current rate (0 = unlimited). */
uint64_t io_throttle_rate(struct io_throttle *throttle);

/* Bytes taken since creation. */
uint64_t io_throttle_total(struct io_throttle *throttle);

/* Releases the limiter; no thread may be in io_throttle_take. NULL is a no-op. */
void io_throttle_free(struct io_throttle *throttle);

#endif
