/* A bounded multi-producer, multi-consumer queue of pointers between pipeline
 * stages (reader -> compressor workers -> uploader). The bound is what makes a
 * fast stage wait for a slow one instead of buffering without limit. Closing
 * the queue ends the stream: producers can no longer push, consumers drain what
 * is left and then learn that it is closed. Thread-safe. */
#ifndef IBS_IO_QUEUE_H
#define IBS_IO_QUEUE_H

#include <stddef.h>

#include "common/err.h"

enum io_queue_status {
    IO_QUEUE_OK = 0,      /* an item was pushed or popped */
    IO_QUEUE_CLOSED,      /* push: the queue is closed; pop: closed and empty */
    IO_QUEUE_WOULD_BLOCK, /* try variants only: full (push) or empty (pop) */
};

struct io_queue;

/* Creates a queue holding at most capacity items (capacity >= 1). Returns NULL
 * with err set: IBS_E_USAGE for capacity 0, IBS_E_INTERNAL without memory. */
struct io_queue *io_queue_new(size_t capacity, struct ibs_err *err);

/* Appends item (any pointer, NULL included), waiting while the queue is full.
 * Returns IO_QUEUE_OK, or IO_QUEUE_CLOSED if the queue is or becomes closed
 * before there is room: the item was not queued and still belongs to the caller. */
enum io_queue_status io_queue_push(struct io_queue *queue, void *item);

/* Takes the oldest item into *item, waiting while the queue is empty and open.
 * Returns IO_QUEUE_OK, or IO_QUEUE_CLOSED once the queue is closed and every
 * item pushed before the close has been popped (*item is then untouched). */
enum io_queue_status io_queue_pop(struct io_queue *queue, void **item);

/* Non-waiting variants: IO_QUEUE_WOULD_BLOCK instead of waiting. */
enum io_queue_status io_queue_try_push(struct io_queue *queue, void *item);
enum io_queue_status io_queue_try_pop(struct io_queue *queue, void **item);

/* Closes the queue and wakes every waiter. Idempotent. */
void io_queue_close(struct io_queue *queue);

/* Items currently queued (a snapshot). */
size_t io_queue_length(struct io_queue *queue);

/* Releases the queue; items still in it are not freed (drain it first if they
 * own memory). No thread may be using it. NULL is a no-op. */
void io_queue_free(struct io_queue *queue);

#endif
