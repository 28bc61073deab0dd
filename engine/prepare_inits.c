/* Last INIT_PAGE/FREE_PAGE per page: an open-addressing hash table keyed by
 * (space id, page number) (see prepare_inits.h). */
#include "engine/prepare_inits.h"

#include <stdlib.h>

struct slot {
    uint64_t key; /* space << 32 | page, plus one so that 0 means empty */
    uint64_t lsn;
};

struct prep_inits {
    struct slot *slots;
    size_t cap; /* a power of two */
    size_t count;
};

static uint64_t make_key(uint32_t space_id, uint32_t page_no)
{
    return ((uint64_t)space_id << 32 | page_no) + 1;
}

static size_t slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull; /* a 64-bit mix (MurmurHash3's finaliser) */
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

struct prep_inits *prep_inits_new(struct ibs_err *err)
{
    struct prep_inits *in = calloc(1, sizeof(*in));
    if (in) {
        in->cap = 1024;
        in->slots = calloc(in->cap, sizeof(*in->slots));
    }
    if (!in || !in->slots) {
        free(in);
        ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        return NULL;
    }
    return in;
}

void prep_inits_free(struct prep_inits *in)
{
    if (!in)
        return;
    free(in->slots);
    free(in);
}

static struct slot *find(struct slot *slots, size_t cap, uint64_t key)
{
    for (size_t i = slot_of(key, cap);; i = (i + 1) & (cap - 1))
        if (slots[i].key == key || slots[i].key == 0)
            return &slots[i];
}

static int grow(struct prep_inits *in, struct ibs_err *err)
{
    size_t cap = in->cap * 2;
    struct slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < in->cap; i++)
        if (in->slots[i].key)
            *find(slots, cap, in->slots[i].key) = in->slots[i];
    free(in->slots);
    in->slots = slots;
    in->cap = cap;
    return 0;
}

int prep_inits_note(struct prep_inits *in, uint32_t space_id, uint32_t page_no, uint64_t lsn,
                    struct ibs_err *err)
{
    if ((in->count + 1) * 4 > in->cap * 3) {
        int rc = grow(in, err);
        if (rc)
            return rc;
    }
    uint64_t key = make_key(space_id, page_no);
    struct slot *s = find(in->slots, in->cap, key);
    if (!s->key) {
        s->key = key;
        in->count++;
    }
    if (lsn > s->lsn)
        s->lsn = lsn;
    return 0;
}

uint64_t prep_inits_last(const struct prep_inits *in, uint32_t space_id, uint32_t page_no)
{
    const struct slot *s = find(in->slots, in->cap, make_key(space_id, page_no));
    return s->key ? s->lsn : 0;
}

size_t prep_inits_count(const struct prep_inits *in)
{
    return in->count;
}
