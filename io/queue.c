/* The bounded MPMC pointer queue (see queue.h): a ring of slots, one mutex,
 * one condvar for "not full" and one for "not empty". */
#include "io/queue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct io_queue {
    size_t capacity;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t not_full, not_empty;
    void **slots;
    size_t head, length; /* oldest item at slots[head] */
    bool closed;
};

struct io_queue *io_queue_new(size_t capacity, struct ibs_err *err)
{
    struct io_queue *queue;

    if (capacity == 0) {
        ibs_err_set(err, IBS_E_USAGE, "queue: capacity must be at least 1");
        return NULL;
    }
    queue = calloc(1, sizeof(*queue));
    if (queue != NULL)
        queue->slots = calloc(capacity, sizeof(*queue->slots));
    if (queue == NULL || queue->slots == NULL) {
        free(queue);
        ibs_err_set(err, IBS_E_INTERNAL, "queue: cannot allocate %zu slots", capacity);
        return NULL;
    }
    queue->capacity = capacity;
    pthread_mutex_init(&queue->lock, NULL);
    pthread_cond_init(&queue->not_full, NULL);
    pthread_cond_init(&queue->not_empty, NULL);
    return queue;
}

/* Both helpers run with the lock held. */
static void queue_append(struct io_queue *queue, void *item)
{
    queue->slots[(queue->head + queue->length) % queue->capacity] = item;
    queue->length++;
    pthread_cond_signal(&queue->not_empty);
}

static void *queue_take(struct io_queue *queue)
{
    void *item = queue->slots[queue->head];
    queue->head = (queue->head + 1) % queue->capacity;
    queue->length--;
    pthread_cond_signal(&queue->not_full);
    return item;
}

static enum io_queue_status queue_push(struct io_queue *queue, void *item, bool wait)
{
    enum io_queue_status status = IO_QUEUE_OK;

    pthread_mutex_lock(&queue->lock);
    while (wait && !queue->closed && queue->length == queue->capacity)
        pthread_cond_wait(&queue->not_full, &queue->lock);
    if (queue->closed)
        status = IO_QUEUE_CLOSED;
    else if (queue->length == queue->capacity)
        status = IO_QUEUE_WOULD_BLOCK;
    else
        queue_append(queue, item);
    pthread_mutex_unlock(&queue->lock);
    return status;
}

static enum io_queue_status queue_pop(struct io_queue *queue, void **item, bool wait)
{
    enum io_queue_status status = IO_QUEUE_OK;

    pthread_mutex_lock(&queue->lock);
    while (wait && !queue->closed && queue->length == 0)
        pthread_cond_wait(&queue->not_empty, &queue->lock);
    if (queue->length > 0)
        *item = queue_take(queue);
    else
        status = queue->closed ? IO_QUEUE_CLOSED : IO_QUEUE_WOULD_BLOCK;
    pthread_mutex_unlock(&queue->lock);
    return status;
}

enum io_queue_status io_queue_push(struct io_queue *queue, void *item)
{
    return queue_push(queue, item, true);
}

enum io_queue_status io_queue_try_push(struct io_queue *queue, void *item)
{
    return queue_push(queue, item, false);
}

enum io_queue_status io_queue_pop(struct io_queue *queue, void **item)
{
    return queue_pop(queue, item, true);
}

enum io_queue_status io_queue_try_pop(struct io_queue *queue, void **item)
{
    return queue_pop(queue, item, false);
}

void io_queue_close(struct io_queue *queue)
{
    pthread_mutex_lock(&queue->lock);
    queue->closed = true;
    pthread_cond_broadcast(&queue->not_full);
    pthread_cond_broadcast(&queue->not_empty);
    pthread_mutex_unlock(&queue->lock);
}

size_t io_queue_length(struct io_queue *queue)
{
    pthread_mutex_lock(&queue->lock);
    size_t length = queue->length;
    pthread_mutex_unlock(&queue->lock);
    return length;
}

void io_queue_free(struct io_queue *queue)
{
    if (queue == NULL)
        return;
    pthread_cond_destroy(&queue->not_empty);
    pthread_cond_destroy(&queue->not_full);
    pthread_mutex_destroy(&queue->lock);
    free(queue->slots);
    free(queue);
}
