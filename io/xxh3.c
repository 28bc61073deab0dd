/* XXH3-64 through libxxhash, one-shot and streaming (see hash.h). */
#include "io/hash.h"

#include <stdlib.h>
#include <xxhash.h>

struct io_xxh3 {
    XXH3_state_t *state;
};

uint64_t io_xxh3_64(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

struct io_xxh3 *io_xxh3_new(struct ibs_err *err)
{
    struct io_xxh3 *xxh = malloc(sizeof(*xxh));
    if (xxh == NULL)
        goto oom;
    xxh->state = XXH3_createState();
    if (xxh->state == NULL) {
        free(xxh);
        goto oom;
    }
    io_xxh3_reset(xxh);
    return xxh;
oom:
    ibs_err_set(err, IBS_E_INTERNAL, "xxh3: out of memory for a hash state");
    return NULL;
}

void io_xxh3_reset(struct io_xxh3 *xxh)
{
    XXH3_64bits_reset(xxh->state);
}

void io_xxh3_update(struct io_xxh3 *xxh, const void *data, size_t len)
{
    /* XXH3_64bits_update only fails for a NULL state, which cannot happen here. */
    if (len > 0)
        XXH3_64bits_update(xxh->state, data, len);
}

uint64_t io_xxh3_digest(const struct io_xxh3 *xxh)
{
    return XXH3_64bits_digest(xxh->state);
}

void io_xxh3_free(struct io_xxh3 *xxh)
{
    if (xxh == NULL)
        return;
    XXH3_freeState(xxh->state);
    free(xxh);
}
