/* EXTENDED records on index pages: page creation (page_create_low(),
 * page/page0page.cc), record insert and delete with the free list and the page
 * directory (page_apply_insert_redundant(), page_apply_insert_dynamic(),
 * page_apply_delete_redundant(), page_apply_delete_dynamic(),
 * page_mem_free(), page_dir_split_slot(), page_dir_balance_slot() in
 * page/page0cur.cc). Every offset read from the page is range-checked first. */
#include "redo/apply.h"

#include <string.h>

#include "redo/page.h"

/* Index page header (page0page.h), absolute offsets. */
#define PAGE_HEADER 38
#define PAGE_N_DIR_SLOTS (PAGE_HEADER + 0)
#define PAGE_HEAP_TOP (PAGE_HEADER + 2)
#define PAGE_N_HEAP (PAGE_HEADER + 4)
#define PAGE_FREE (PAGE_HEADER + 6)
#define PAGE_GARBAGE (PAGE_HEADER + 8)
#define PAGE_LAST_INSERT (PAGE_HEADER + 10)
#define PAGE_INSTANT (PAGE_HEADER + 12)
#define PAGE_DIRECTION_B (PAGE_HEADER + 13)
#define PAGE_N_DIRECTION (PAGE_HEADER + 14)
#define PAGE_N_RECS (PAGE_HEADER + 16)
#define PAGE_LEVEL (PAGE_HEADER + 26)
#define PAGE_DATA 94

#define PAGE_NEW_INFIMUM 99
#define PAGE_NEW_SUPREMUM 112
#define PAGE_NEW_SUPREMUM_END 120
#define PAGE_OLD_INFIMUM 101
#define PAGE_OLD_SUPREMUM 116
#define PAGE_OLD_SUPREMUM_END 125

#define REC_N_NEW_EXTRA_BYTES 5
#define REC_N_OLD_EXTRA_BYTES 6
#define REC_NEXT 2
#define REC_STATUS_NODE_PTR 1
#define REC_STATUS_INSTANT 4

#define PAGE_DIR 8 /* FIL_PAGE_DATA_END: the directory grows down from ps - 10 */
#define PAGE_DIR_SLOT_SIZE 2
#define PAGE_DIR_SLOT_MIN_N_OWNED 4
#define PAGE_DIR_SLOT_MAX_N_OWNED 8

#define PAGE_LEFT 1
#define PAGE_RIGHT 2
#define PAGE_NO_DIRECTION 5

/* The system records of an empty page (page_create_low()). */
static const uint8_t infimum_supremum_compact[] = {
    0x01, 0x00, 0x02, 0x00, 0x0d, 'i', 'n', 'f', 'i', 'm', 'u', 'm', 0,
    0x01, 0x00, 0x0b, 0x00, 0x00, 's', 'u', 'p', 'r', 'e', 'm', 'u', 'm'};
static const uint8_t infimum_supremum_redundant[] = {
    0x08, 0x01, 0x00, 0x00, 0x03, 0x00, 0x74, 'i', 'n', 'f', 'i', 'm', 'u', 'm', 0, 0x09,
    0x01, 0x00, 0x08, 0x03, 0x00, 0x00, 's',  'u', 'p', 'r', 'e', 'm', 'u', 'm', 0};

/* A page and its format, for the helpers below. */
struct ipage {
    uint8_t *p;
    size_t ps;
    bool comp;
    uint32_t extra;    /* REC_N_NEW/OLD_EXTRA_BYTES */
    uint32_t heap_bot; /* PAGE_*_SUPREMUM_END */
};

static inline uint32_t rd2(const struct ipage *pg, size_t off)
{
    return redo_mach_read_2(pg->p + off);
}

static inline void wr2(struct ipage *pg, size_t off, uint32_t v)
{
    redo_mach_write_2(pg->p + off, v);
}

static inline size_t slot_addr(const struct ipage *pg, uint32_t i)
{
    return pg->ps - PAGE_DIR - 2 - PAGE_DIR_SLOT_SIZE * (size_t)i;
}

static inline uint32_t n_owned(const struct ipage *pg, uint32_t rec)
{
    return pg->p[rec - pg->extra] & 0x0f;
}

static inline void set_n_owned(struct ipage *pg, uint32_t rec, uint32_t n)
{
    uint8_t *b = pg->p + rec - pg->extra;
    *b = (uint8_t)((*b & 0xf0) | n);
}

/* The next record in the list: relative pointers on COMPACT pages, absolute on
 * REDUNDANT ones; 0 = none. */
static inline uint32_t next_rec(const struct ipage *pg, uint32_t rec)
{
    uint32_t v = rd2(pg, rec - REC_NEXT);
    if (!pg->comp)
        return v;
    return v ? (rec + v) & 0xffff : 0;
}

static inline uint32_t heap_no(const struct ipage *pg, uint32_t rec)
{
    return rd2(pg, rec - (pg->comp ? 4 : 5)) >> 3;
}

/* A user record origin must lie in [heap_bot + extra, heap_top]. */
static inline bool rec_ok(const struct ipage *pg, uint32_t rec, uint32_t heap_top)
{
    return rec >= pg->heap_bot + pg->extra && rec <= heap_top;
}

const char *redo_apply_page_create(uint8_t *page, size_t ps, bool compact)
{
    redo_mach_write_2(page + FIL_PAGE_TYPE, FIL_PAGE_INDEX);
    memset(page + PAGE_HEADER, 0, PAGE_LEVEL - PAGE_HEADER);
    page[PAGE_N_DIR_SLOTS + 1] = 2;
    page[PAGE_INSTANT] = 0;
    page[PAGE_DIRECTION_B] = PAGE_NO_DIRECTION;
    if (compact) {
        redo_mach_write_2(page + PAGE_N_HEAP, 0x8002);
        redo_mach_write_2(page + PAGE_HEAP_TOP, PAGE_NEW_SUPREMUM_END);
        memcpy(page + PAGE_DATA, infimum_supremum_compact, sizeof(infimum_supremum_compact));
        memset(page + PAGE_NEW_SUPREMUM_END, 0, ps - PAGE_DIR - PAGE_NEW_SUPREMUM_END);
        redo_mach_write_2(page + ps - PAGE_DIR - 2, PAGE_NEW_INFIMUM);
        redo_mach_write_2(page + ps - PAGE_DIR - 4, PAGE_NEW_SUPREMUM);
    } else {
        redo_mach_write_2(page + PAGE_N_HEAP, 2);
        redo_mach_write_2(page + PAGE_HEAP_TOP, PAGE_OLD_SUPREMUM_END);
        memcpy(page + PAGE_DATA, infimum_supremum_redundant, sizeof(infimum_supremum_redundant));
        memset(page + PAGE_OLD_SUPREMUM_END, 0, ps - PAGE_DIR - PAGE_OLD_SUPREMUM_END);
        redo_mach_write_2(page + ps - PAGE_DIR - 2, PAGE_OLD_INFIMUM);
        redo_mach_write_2(page + ps - PAGE_DIR - 4, PAGE_OLD_SUPREMUM);
    }
    return NULL;
}

/* Common checks of page_apply_insert_*() and page_apply_delete_*(). */
static const char *check_index_page(struct ipage *pg, uint8_t *page, size_t ps, bool comp,
                                    uint32_t *heap_top, uint32_t *n_slots)
{
    pg->p = page;
    pg->ps = ps;
    pg->comp = comp;
    pg->extra = comp ? REC_N_NEW_EXTRA_BYTES : REC_N_OLD_EXTRA_BYTES;
    pg->heap_bot = comp ? PAGE_NEW_SUPREMUM_END : PAGE_OLD_SUPREMUM_END;

    uint32_t type = redo_mach_read_2(page + FIL_PAGE_TYPE);
    if (type != FIL_PAGE_INDEX && type != FIL_PAGE_RTREE && type != FIL_PAGE_TYPE_INSTANT)
        return "not an index page";
    uint32_t h = rd2(pg, PAGE_N_HEAP);
    if (!(h & 0x8000) != !comp)
        return comp ? "not a COMPACT/DYNAMIC page" : "not a REDUNDANT page";
    *n_slots = rd2(pg, PAGE_N_DIR_SLOTS);
    if (*n_slots < 2 || (h & 0x7fff) < 2 || (h & 0x7fff) < *n_slots ||
        (h & 0x7fff) >= ps / (comp ? REC_N_NEW_EXTRA_BYTES : REC_N_OLD_EXTRA_BYTES) ||
        slot_addr(pg, *n_slots - 1) < pg->heap_bot)
        return "bad PAGE_N_HEAP or PAGE_N_DIR_SLOTS";
    *heap_top = rd2(pg, PAGE_HEAP_TOP);
    if (*heap_top < pg->heap_bot || *heap_top > slot_addr(pg, *n_slots - 1))
        return "bad PAGE_HEAP_TOP";
    if (rd2(pg, slot_addr(pg, *n_slots - 1)) != (comp ? PAGE_NEW_SUPREMUM : PAGE_OLD_SUPREMUM) ||
        rd2(pg, slot_addr(pg, 0)) != (comp ? PAGE_NEW_INFIMUM : PAGE_OLD_INFIMUM))
        return "bad page directory";
    if (rd2(pg, (comp ? PAGE_NEW_SUPREMUM : PAGE_OLD_SUPREMUM) - REC_NEXT))
        return "supremum has a successor";
    return NULL;
}

/* The slot pointing to rec, scanning from the last slot towards slot 1;
 * 0 if none. */
static size_t find_slot(const struct ipage *pg, uint32_t rec, uint32_t n_slots)
{
    for (size_t s = slot_addr(pg, n_slots - 1); s < slot_addr(pg, 0); s += 2)
        if (rd2(pg, s) == rec)
            return s;
    return 0;
}

/* page_dir_split_slot(): the owner of slot address `slot` reached 9 records. */
static const char *dir_split(struct ipage *pg, size_t slot, uint32_t heap_top)
{
    uint32_t n_slots = rd2(pg, PAGE_N_DIR_SLOTS);
    uint32_t rec = rd2(pg, slot + 2); /* the record of the previous (lower) slot */
    for (int i = 0; i < (PAGE_DIR_SLOT_MAX_N_OWNED + 1) / 2; i++) {
        rec = next_rec(pg, rec);
        if (!rec_ok(pg, rec, heap_top))
            return "bad record list in directory split";
    }
    size_t last = slot_addr(pg, n_slots); /* the new last slot */
    if (last < heap_top)
        return "no room for a directory slot";
    memmove(pg->p + last, pg->p + last + 2, slot - last);
    wr2(pg, PAGE_N_DIR_SLOTS, n_slots + 1);
    wr2(pg, slot, rec);
    set_n_owned(pg, rec, (PAGE_DIR_SLOT_MAX_N_OWNED + 1) / 2);
    set_n_owned(pg, rd2(pg, slot - 2),
                PAGE_DIR_SLOT_MAX_N_OWNED + 1 - (PAGE_DIR_SLOT_MAX_N_OWNED + 1) / 2);
    return NULL;
}

/* page_dir_balance_slot(): slot index s now owns fewer than 4 records. */
static const char *dir_balance(struct ipage *pg, uint32_t s, uint32_t heap_top)
{
    uint32_t n_slots = rd2(pg, PAGE_N_DIR_SLOTS);
    if (s + 1 >= n_slots)
        return NULL; /* the supremum slot may own 1..8 */
    size_t slot = slot_addr(pg, s);
    uint32_t srec = rd2(pg, slot), up = rd2(pg, slot - 2);
    uint32_t top = pg->comp ? PAGE_NEW_SUPREMUM : PAGE_OLD_SUPREMUM;
    if (!rec_ok(pg, srec, heap_top) || (up != top && !rec_ok(pg, up, heap_top)))
        return "bad directory slot in balance";
    uint32_t up_owned = n_owned(pg, up);
    if (up_owned <= PAGE_DIR_SLOT_MIN_N_OWNED) {
        /* Merge slot s into the next one. */
        set_n_owned(pg, srec, 0);
        set_n_owned(pg, up, up_owned + PAGE_DIR_SLOT_MIN_N_OWNED - 1);
        size_t last = slot_addr(pg, n_slots - 1);
        memmove(pg->p + last + 2, pg->p + last, slot - last);
        memset(pg->p + last, 0, 2);
        wr2(pg, PAGE_N_DIR_SLOTS, n_slots - 1);
        return NULL;
    }
    /* Move one record from the next group into slot s. */
    uint32_t nrec = next_rec(pg, srec);
    if (!rec_ok(pg, nrec, heap_top))
        return "bad record list in balance";
    set_n_owned(pg, srec, 0);
    set_n_owned(pg, nrec, PAGE_DIR_SLOT_MIN_N_OWNED);
    set_n_owned(pg, up, up_owned - 1);
    wr2(pg, slot, nrec);
    return NULL;
}

/* PAGE_DIRECTION_B / PAGE_N_DIRECTION after an insert (not on R-tree pages). */
static void update_direction(struct ipage *pg, uint32_t last_insert, uint32_t prev_rec,
                             uint32_t next)
{
    if (pg->p[FIL_PAGE_TYPE + 1] == (FIL_PAGE_RTREE & 0xff))
        return;
    uint8_t *dir = pg->p + PAGE_DIRECTION_B;
    uint32_t d = *dir & 7;
    uint32_t n = rd2(pg, PAGE_N_DIRECTION);
    if (!last_insert) {
        d = PAGE_NO_DIRECTION;
        n = 0;
    } else if (last_insert == prev_rec && d != PAGE_LEFT) {
        d = PAGE_RIGHT;
        n++;
    } else if (next == last_insert && d != PAGE_RIGHT) {
        d = PAGE_LEFT;
        n++;
    } else {
        d = PAGE_NO_DIRECTION;
        n = 0;
    }
    *dir = (uint8_t)((*dir & ~7) | d);
    wr2(pg, PAGE_N_DIRECTION, n);
}

/* The owner of the group that next belongs to, and its slot address. */
static const char *find_owner(const struct ipage *pg, uint32_t next, uint32_t heap_top,
                              uint32_t n_slots, uint32_t *owner, size_t *owner_slot)
{
    uint32_t top = pg->comp ? PAGE_NEW_SUPREMUM : PAGE_OLD_SUPREMUM;
    uint32_t rec = next;
    for (int steps = PAGE_DIR_SLOT_MAX_N_OWNED; !n_owned(pg, rec); steps--) {
        rec = next_rec(pg, rec);
        if ((rec != top && !rec_ok(pg, rec, heap_top)) || !steps)
            return "bad record list";
    }
    if (n_owned(pg, rec) > PAGE_DIR_SLOT_MAX_N_OWNED)
        return "bad n_owned";
    *owner = rec;
    *owner_slot = find_slot(pg, rec, n_slots);
    return *owner_slot ? NULL : "owner has no directory slot";
}

/* REDUNDANT record geometry from its own header. */
static uint32_t old_n_fields(const struct ipage *pg, uint32_t rec)
{
    return (rd2(pg, rec - 4) >> 1) & 0x3ff;
}

static bool old_short(const struct ipage *pg, uint32_t rec)
{
    return pg->p[rec - 3] & 1;
}

static uint32_t old_extra(const struct ipage *pg, uint32_t rec)
{
    return REC_N_OLD_EXTRA_BYTES + old_n_fields(pg, rec) * (old_short(pg, rec) ? 1 : 2);
}

/* Data size = end offset of the last field; 0 if the header does not fit. */
static uint32_t old_data_size(const struct ipage *pg, uint32_t rec)
{
    uint32_t n = old_n_fields(pg, rec);
    if (!n || old_extra(pg, rec) > rec)
        return 0;
    if (old_short(pg, rec))
        return pg->p[rec - REC_N_OLD_EXTRA_BYTES - n] & 0x7f;
    return rd2(pg, rec - REC_N_OLD_EXTRA_BYTES - 2 * n) & 0x3fff;
}

static const char *insert_dynamic(struct ipage *pg, const struct redo_rec *r, bool reuse,
                                  uint32_t heap_top, uint32_t n_slots)
{
    const uint32_t hdr_l = r->enc_hdr >> 3;
    uint32_t h = rd2(pg, PAGE_N_HEAP);
    const char *why;

    if ((r->enc_hdr & REC_STATUS_INSTANT) && rd2(pg, PAGE_LEVEL))
        return "instant record on a non-leaf page";
    if (hdr_l > r->data_len)
        return "literal header longer than the record";
    uint32_t prev_rec = (PAGE_NEW_INFIMUM + r->prev) & 0xffff;
    if (r->prev && !rec_ok(pg, prev_rec, heap_top))
        return "bad predecessor";
    uint32_t next = (prev_rec + rd2(pg, prev_rec - REC_NEXT)) & 0xffff;
    if (next != PAGE_NEW_SUPREMUM && !rec_ok(pg, next, heap_top))
        return "bad successor";
    uint32_t owner;
    size_t owner_slot;
    if ((why = find_owner(pg, next, heap_top, n_slots, &owner, &owner_slot)))
        return why;
    uint32_t owned = n_owned(pg, owner);

    const uint32_t extra = REC_N_NEW_EXTRA_BYTES + r->hdr_c + hdr_l;
    const uint32_t data_size = r->data_c + r->data_len - hdr_l;
    if (prev_rec < REC_N_NEW_EXTRA_BYTES + r->hdr_c || prev_rec + r->data_c > pg->ps)
        return "shared bytes outside the page";
    size_t buf;
    if (reuse) {
        uint32_t free_rec = rd2(pg, PAGE_FREE);
        if (!rec_ok(pg, free_rec, heap_top))
            return "bad PAGE_FREE";
        int64_t b = (int64_t)free_rec - extra;
        b += r->shift & 1 ? -(int64_t)(r->shift >> 1) : (int64_t)(r->shift >> 1);
        if (b < pg->heap_bot || b + extra + data_size > heap_top)
            return "reused space outside the heap";
        uint32_t garbage = rd2(pg, PAGE_GARBAGE);
        if (garbage < extra + data_size)
            return "PAGE_GARBAGE too small";
        uint32_t n = rd2(pg, free_rec - REC_NEXT);
        if (n) {
            n = (n + free_rec) & 0xffff;
            if (n < PAGE_NEW_SUPREMUM_END + REC_N_NEW_EXTRA_BYTES || n > heap_top)
                return "bad free list";
        }
        wr2(pg, PAGE_FREE, n);
        wr2(pg, PAGE_GARBAGE, garbage - (extra + data_size));
        h = heap_no(pg, free_rec);
        buf = (size_t)b;
    } else {
        if (heap_top + extra + data_size > slot_addr(pg, n_slots - 1))
            return "no room in the heap";
        wr2(pg, PAGE_N_HEAP, h + 1);
        h &= 0x7fff;
        wr2(pg, PAGE_HEAP_TOP, heap_top + extra + data_size);
        buf = heap_top;
    }

    uint8_t *p = pg->p;
    memcpy(p + buf, r->data, hdr_l);
    buf += hdr_l;
    memmove(p + buf, p + prev_rec - REC_N_NEW_EXTRA_BYTES - r->hdr_c, r->hdr_c);
    buf += r->hdr_c;
    p[buf++] = (uint8_t)((r->enc_hdr & 3) << 4); /* info bits; n_owned 0 */
    p[buf++] = (uint8_t)(h >> 5);
    uint32_t status = rd2(pg, PAGE_LEVEL) ? REC_STATUS_NODE_PTR : (r->enc_hdr & REC_STATUS_INSTANT);
    p[buf++] = (uint8_t)(((h & 31) << 3) | status);
    buf += REC_NEXT;
    const uint32_t origin = (uint32_t)buf;
    wr2(pg, origin - REC_NEXT, (next - origin) & 0xffff);
    uint32_t last_insert = rd2(pg, PAGE_LAST_INSERT);
    wr2(pg, PAGE_LAST_INSERT, origin);
    wr2(pg, prev_rec - REC_NEXT, (origin - prev_rec) & 0xffff);
    memmove(p + origin, p + prev_rec, r->data_c);
    memcpy(p + origin + r->data_c, r->data + hdr_l, r->data_len - hdr_l);

    set_n_owned(pg, owner, owned + 1);
    update_direction(pg, last_insert, prev_rec, next);
    wr2(pg, PAGE_N_RECS, rd2(pg, PAGE_N_RECS) + 1);
    if (owned == PAGE_DIR_SLOT_MAX_N_OWNED)
        return dir_split(pg, owner_slot, rd2(pg, PAGE_HEAP_TOP));
    return NULL;
}

static const char *insert_redundant(struct ipage *pg, const struct redo_rec *r, bool reuse,
                                    uint32_t heap_top, uint32_t n_slots)
{
    uint8_t hdr[REC_N_OLD_EXTRA_BYTES + 2 * 1024];
    const char *why;

    uint32_t prev_rec = (PAGE_OLD_INFIMUM + r->prev) & 0xffff;
    if (r->prev && !rec_ok(pg, prev_rec, heap_top))
        return "bad predecessor";
    uint32_t pn = old_n_fields(pg, prev_rec);
    if (pn < 1 || pn > 1023)
        return "bad predecessor field count";
    uint32_t next = rd2(pg, prev_rec - REC_NEXT);
    if (next != PAGE_OLD_SUPREMUM && !rec_ok(pg, next, heap_top))
        return "bad successor";
    uint32_t owner;
    size_t owner_slot;
    if ((why = find_owner(pg, next, heap_top, n_slots, &owner, &owner_slot)))
        return why;
    uint32_t owned = n_owned(pg, owner);

    const bool is_short = (r->enc_hdr >> 2) & 1;
    const uint32_t n_fields = (r->enc_hdr >> 3) + 1;
    if (n_fields > 1023)
        return "too many fields";
    const uint32_t extra = REC_N_OLD_EXTRA_BYTES + n_fields * (is_short ? 1 : 2);
    const uint32_t hc = r->hdr_c + REC_N_OLD_EXTRA_BYTES;
    if (hc > extra || extra - hc > r->data_len || hc > prev_rec)
        return "bad header sizes";
    const uint32_t lit_hdr = extra - hc;

    /* Assemble the header: literal bytes, then the predecessor's last hc bytes
     * (its 6 fixed bytes included, so the next pointer is already right). */
    memcpy(hdr, r->data, lit_hdr);
    memcpy(hdr + lit_hdr, pg->p + prev_rec - hc, hc);
    uint8_t *o = hdr + extra;                 /* the origin */
    o[-6] = (uint8_t)((r->enc_hdr & 3) << 4); /* info bits, n_owned 0 */
    uint32_t v = redo_mach_read_2(o - 4);
    v = (v & ~0x7feu) | n_fields << 1;
    redo_mach_write_2(o - 4, v);
    o[-3] = (uint8_t)((o[-3] & ~1u) | is_short);
    uint32_t data_size =
        is_short ? o[-6 - (int)n_fields] & 0x7fu : redo_mach_read_2(o - 6 - 2 * n_fields) & 0x3fffu;
    if (r->data_c > data_size || lit_hdr + data_size - r->data_c != r->data_len)
        return "record size does not match the literal";
    if (prev_rec + r->data_c > pg->ps)
        return "shared bytes outside the page";

    size_t buf;
    uint32_t h;
    if (reuse) {
        uint32_t free_rec = rd2(pg, PAGE_FREE);
        if (!rec_ok(pg, free_rec, heap_top))
            return "bad PAGE_FREE";
        uint32_t f_extra = old_extra(pg, free_rec), f_data = old_data_size(pg, free_rec);
        uint32_t garbage = rd2(pg, PAGE_GARBAGE);
        if (extra + data_size > f_extra + f_data || garbage < f_extra + f_data ||
            free_rec < pg->heap_bot + f_extra)
            return "freed record too small";
        uint32_t n = rd2(pg, free_rec - REC_NEXT);
        if (n && (n < pg->heap_bot + REC_N_OLD_EXTRA_BYTES || n > heap_top))
            return "bad free list";
        buf = free_rec - f_extra;
        wr2(pg, PAGE_GARBAGE, garbage - (extra + data_size));
        h = heap_no(pg, free_rec);
        wr2(pg, PAGE_FREE, n);
    } else {
        h = rd2(pg, PAGE_N_HEAP);
        if (heap_top + extra + data_size > slot_addr(pg, n_slots - 1))
            return "no room in the heap";
        wr2(pg, PAGE_N_HEAP, h + 1);
        buf = heap_top;
        wr2(pg, PAGE_HEAP_TOP, heap_top + extra + data_size);
    }
    v = redo_mach_read_2(o - 5);
    redo_mach_write_2(o - 5, (v & 7) | h << 3);

    uint8_t *p = pg->p;
    uint32_t last_insert = rd2(pg, PAGE_LAST_INSERT);
    memcpy(p + buf, hdr, extra);
    const uint32_t origin = (uint32_t)(buf + extra);
    wr2(pg, PAGE_LAST_INSERT, origin);
    wr2(pg, prev_rec - REC_NEXT, origin);
    memmove(p + origin, p + prev_rec, r->data_c);
    memcpy(p + origin + r->data_c, r->data + lit_hdr, r->data_len - lit_hdr);

    set_n_owned(pg, owner, owned + 1);
    update_direction(pg, last_insert, prev_rec, next);
    wr2(pg, PAGE_N_RECS, rd2(pg, PAGE_N_RECS) + 1);
    if (owned == PAGE_DIR_SLOT_MAX_N_OWNED)
        return dir_split(pg, owner_slot, rd2(pg, PAGE_HEAP_TOP));
    return NULL;
}

const char *redo_apply_insert(uint8_t *page, size_t ps, const struct redo_rec *rec)
{
    struct ipage pg;
    uint32_t heap_top, n_slots;
    bool dynamic = rec->subtype & 2, reuse = rec->subtype & 1;
    const char *why = check_index_page(&pg, page, ps, dynamic, &heap_top, &n_slots);
    if (why)
        return why;
    return dynamic ? insert_dynamic(&pg, rec, reuse, heap_top, n_slots)
                   : insert_redundant(&pg, rec, reuse, heap_top, n_slots);
}

/* page_mem_free(): put rec on the free list, or shrink the heap if it is the top. */
static void mem_free(struct ipage *pg, uint32_t rec, uint32_t data_size, uint32_t extra)
{
    uint32_t old_free = rd2(pg, PAGE_FREE);
    uint32_t n_heap = (rd2(pg, PAGE_N_HEAP) - 1) & 0xffff;
    uint32_t hn = heap_no(pg, rec);
    bool top = pg->comp ? n_heap == (hn | 0x8000) : n_heap == hn;
    uint8_t *p = pg->p;

    if (top) {
        uint32_t savings = rd2(pg, PAGE_HEAP_TOP) - (rec + data_size);
        wr2(pg, PAGE_HEAP_TOP, rec - extra);
        wr2(pg, PAGE_N_HEAP, n_heap);
        if (savings)
            wr2(pg, PAGE_GARBAGE, rd2(pg, PAGE_GARBAGE) - savings);
    } else {
        wr2(pg, PAGE_FREE, rec);
        wr2(pg, PAGE_GARBAGE, rd2(pg, PAGE_GARBAGE) + extra + data_size);
    }
    wr2(pg, PAGE_LAST_INSERT, 0);
    wr2(pg, PAGE_N_RECS, rd2(pg, PAGE_N_RECS) - 1);
    if (top) {
        memset(p + rec - extra, 0, extra + data_size);
    } else {
        uint32_t link = !old_free ? 0 : pg->comp ? (old_free - rec) & 0xffff : old_free;
        wr2(pg, rec - REC_NEXT, link);
        memset(p + rec, 0, data_size);
    }
}

const char *redo_apply_delete(uint8_t *page, size_t ps, const struct redo_rec *r)
{
    struct ipage pg;
    uint32_t heap_top, n_slots;
    const bool comp = r->subtype == REDO_EXT_DELETE_ROW_FORMAT_DYNAMIC;
    const char *why = check_index_page(&pg, page, ps, comp, &heap_top, &n_slots);
    if (why)
        return why;
    uint32_t n_recs = rd2(&pg, PAGE_N_RECS);
    if (!n_recs)
        return "PAGE_N_RECS is 0";

    uint32_t prev_rec = ((comp ? PAGE_NEW_INFIMUM : PAGE_OLD_INFIMUM) + r->prev) & 0xffff;
    if (r->prev && !rec_ok(&pg, prev_rec, heap_top))
        return "bad predecessor";
    uint32_t rec = next_rec(&pg, prev_rec);
    if (!rec_ok(&pg, rec, heap_top))
        return "bad record to delete";
    uint32_t extra, data_size;
    if (comp) {
        extra = REC_N_NEW_EXTRA_BYTES + r->hdr_size;
        data_size = r->data_size;
    } else {
        extra = old_extra(&pg, rec);
        data_size = old_data_size(&pg, rec);
    }
    if (rec < extra || rec + data_size > heap_top)
        return "record outside the heap";
    uint32_t next = next_rec(&pg, rec);
    uint32_t top = comp ? PAGE_NEW_SUPREMUM : PAGE_OLD_SUPREMUM;
    if (next != top && !rec_ok(&pg, next, heap_top))
        return "bad successor";

    /* The owner of rec's group and its slot. */
    uint32_t s = rec;
    for (uint32_t steps = n_recs; !n_owned(&pg, s); steps--) {
        s = next_rec(&pg, s);
        if ((s != top && !rec_ok(&pg, s, heap_top)) || !steps)
            return "bad record list";
    }
    uint32_t slot_owned = n_owned(&pg, s) - 1;
    size_t slot = find_slot(&pg, s, n_slots);
    if (!slot)
        return "owner has no directory slot";
    if (rec == s) {
        s = prev_rec;
        wr2(&pg, slot, s);
    }
    if (comp)
        wr2(&pg, prev_rec - REC_NEXT, (next - prev_rec) & 0xffff);
    else
        memcpy(page + prev_rec - REC_NEXT, page + rec - REC_NEXT, 2);
    set_n_owned(&pg, s, slot_owned);
    mem_free(&pg, rec, data_size, extra);
    if (slot_owned < PAGE_DIR_SLOT_MIN_N_OWNED)
        return dir_balance(&pg, (uint32_t)((slot_addr(&pg, 0) - slot) / 2), heap_top);
    return NULL;
}
