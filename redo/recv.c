/* The redo record collector: page records per page in LSN order, file events,
 * page-0 size and flags. Records live in an arena that is emptied per batch
 * and kept for the next one, as runs of log bytes (struct redo_recv_run). */
#include "redo/recv.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Page-0 fields (fsp0fsp.h): FSP_HEADER_OFFSET 38 + FSP_SIZE 8 / FSP_SPACE_FLAGS 16. */
#define FSP_HEADER_SIZE_OFFSET 46
#define FSP_HEADER_FLAGS_OFFSET 54

/* 2 MiB, aligned: one transparent huge page each where the kernel allows it.
 * A batch of several hundred MiB faulted in 4 KiB at a time cost about a tenth
 * of prepare's time in the kernel. */
#define ARENA_CHUNK (2u << 20)

/* Allocations are rounded to this; a run's header has 8-byte fields. */
#define ARENA_ALIGN 8

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    _Alignas(16) uint8_t mem[];
};

/* An empty slot of the page table: space ids from 0xFFFFFFF0 on are never
 * logged (the decoder refuses them). */
#define SLOT_EMPTY 0xFFFFFFFFu

struct redo_recv {
    uint32_t page_size;
    bool refer; /* runs point into the caller's log (redo_recv_refer()) */
    /* Open addressing on (space_id, page_no), the pages in the slots: adding
     * a record reads and writes one cache line of the table. */
    struct redo_recv_page *slots;
    size_t n_slots, n_pages; /* n_pages: entries in the table */
    size_t n_live;           /* pages with records */
    struct arena_chunk *arena; /* chunks of this batch, newest first */
    struct arena_chunk *spare; /* emptied by redo_recv_clear_pages(), for reuse */
    size_t arena_bytes;        /* of the chunks in `arena` */
    struct redo_recv_page **sorted; /* redo_recv_pages() result */
    size_t n_sorted;
    struct redo_file_event *events;
    size_t n_events, cap_events;
    struct redo_space_info *spaces;
    size_t n_spaces, cap_spaces;
};

/* A standard chunk for payload <= CHUNK_PAYLOAD, else one of its own size
 * (never for a real record: they are at most a page). */
#define CHUNK_PAYLOAD (ARENA_CHUNK - sizeof(struct arena_chunk))

static struct arena_chunk *chunk_new(size_t payload)
{
    struct arena_chunk *c = NULL;
    if (payload <= CHUNK_PAYLOAD) {
        if (posix_memalign((void **)&c, ARENA_CHUNK, ARENA_CHUNK) != 0)
            return NULL;
        (void)madvise(c, ARENA_CHUNK, MADV_HUGEPAGE); /* a hint: fine if refused */
        c->size = CHUNK_PAYLOAD;
    } else {
        c = malloc(sizeof(*c) + payload);
        if (!c)
            return NULL;
        c->size = payload;
    }
    return c;
}

static size_t arena_round(size_t size)
{
    return (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static void *arena_alloc(struct redo_recv *r, size_t size)
{
    size = arena_round(size);
    struct arena_chunk *c = r->arena;
    if (!c || c->size - c->used < size) {
        if (size <= CHUNK_PAYLOAD && r->spare) {
            c = r->spare;
            r->spare = c->next;
        } else {
            c = chunk_new(size);
            if (!c)
                return NULL;
        }
        c->next = r->arena;
        c->used = 0;
        r->arena = c;
        r->arena_bytes += sizeof(*c) + c->size;
    }
    void *p = c->mem + c->used;
    c->used += size;
    return p;
}

/* Grows the newest allocation, p of old_size bytes, to new_size in place if
 * it is the last one in the current chunk and the chunk has room. */
static bool arena_extend(struct redo_recv *r, void *p, size_t old_size, size_t new_size)
{
    struct arena_chunk *c = r->arena;
    size_t at = (size_t)((uint8_t *)p - c->mem);
    if (at + arena_round(old_size) != c->used || at + arena_round(new_size) > c->size)
        return false;
    c->used = at + arena_round(new_size);
    return true;
}

static void chunks_free(struct arena_chunk *c)
{
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
}

/* Keeps the chunks of an applied batch for the next ones, so that memory is
 * faulted in once, not once per batch. An oversized chunk (a record larger
 * than a chunk) is released. */
static void chunks_to_spare(struct redo_recv *r, struct arena_chunk *list)
{
    while (list) {
        struct arena_chunk *c = list;
        list = c->next;
        if (c->size != CHUNK_PAYLOAD) {
            free(c);
            continue;
        }
        c->next = r->spare;
        r->spare = c;
    }
}

static void arena_reset(struct redo_recv *r)
{
    chunks_to_spare(r, r->arena);
    r->arena = NULL;
    r->arena_bytes = 0;
}

/* The slot of page space_id:page_no, or the empty slot where it would go. */
static struct redo_recv_page *slot_of(const struct redo_recv *r, uint32_t space_id,
                                      uint32_t page_no)
{
    uint64_t key = (uint64_t)space_id << 32 | page_no;
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (r->n_slots - 1);
    for (;;) {
        struct redo_recv_page *p = &r->slots[i];
        if (p->space_id == SLOT_EMPTY || (p->space_id == space_id && p->page_no == page_no))
            return p;
        i = (i + 1) & (r->n_slots - 1);
    }
}

static struct redo_recv_page *slots_new(size_t n)
{
    struct redo_recv_page *slots =
        aligned_alloc(_Alignof(struct redo_recv_page), n * sizeof(*slots));
    if (slots)
        for (size_t i = 0; i < n; i++)
            slots[i].space_id = SLOT_EMPTY;
    return slots;
}

static int grow_slots(struct redo_recv *r, struct ibs_err *err)
{
    size_t n = r->n_slots * 2;
    struct redo_recv_page *old = r->slots;
    size_t old_n = r->n_slots;
    r->slots = slots_new(n);
    if (!r->slots) {
        r->slots = old;
        return ibs_err_set(err, IBS_E_INTERNAL, "redo: out of memory for the page table");
    }
    r->n_slots = n;
    for (size_t i = 0; i < old_n; i++)
        if (old[i].space_id != SLOT_EMPTY)
            *slot_of(r, old[i].space_id, old[i].page_no) = old[i];
    free(old);
    return 0;
}

struct redo_recv *redo_recv_new(uint32_t page_size, struct ibs_err *err)
{
    if (page_size < 4096 || page_size > 65536 || (page_size & (page_size - 1))) {
        ibs_err_set(err, IBS_E_INTERNAL, "redo: invalid page size %u", page_size);
        return NULL;
    }
    struct redo_recv *r = calloc(1, sizeof(*r));
    if (r) {
        r->n_slots = 1024;
        r->slots = slots_new(r->n_slots);
    }
    if (!r || !r->slots) {
        free(r);
        ibs_err_set(err, IBS_E_INTERNAL, "redo: out of memory");
        return NULL;
    }
    r->page_size = page_size;
    return r;
}

void redo_recv_free(struct redo_recv *r)
{
    if (!r)
        return;
    chunks_free(r->arena);
    chunks_free(r->spare);
    free(r->slots);
    free(r->sorted);
    for (size_t i = 0; i < r->n_events; i++) {
        free(r->events[i].name);
        free(r->events[i].new_name);
    }
    free(r->events);
    free(r->spaces);
    free(r);
}

void redo_recv_refer(struct redo_recv *r)
{
    r->refer = true;
}

size_t redo_recv_mem_used(const struct redo_recv *r)
{
    return r->arena_bytes + r->n_slots * sizeof(*r->slots);
}

size_t redo_recv_page_count(const struct redo_recv *r)
{
    return r->n_live;
}

const struct redo_recv_page *redo_recv_page_find(const struct redo_recv *r, uint32_t space_id,
                                                 uint32_t page_no)
{
    const struct redo_recv_page *p = slot_of(r, space_id, page_no);
    return p->space_id != SLOT_EMPTY && p->head ? p : NULL;
}

void redo_recv_clear_pages(struct redo_recv *r)
{
    arena_reset(r);
    for (size_t i = 0; i < r->n_slots; i++)
        r->slots[i].space_id = SLOT_EMPTY;
    r->n_pages = 0;
    r->n_live = 0;
    free(r->sorted);
    r->sorted = NULL;
    r->n_sorted = 0;
}

struct redo_recv_batch {
    struct redo_recv_page *slots; /* the pages live here */
    struct arena_chunk *arena;    /* their runs */
    struct redo_recv_page **sorted;
};

int redo_recv_detach(struct redo_recv *r, struct redo_recv_batch **batch,
                     struct redo_recv_page *const **pages, size_t *n, struct ibs_err *err)
{
    struct redo_recv_batch *b = calloc(1, sizeof(*b));
    struct redo_recv_page *slots = b ? slots_new(r->n_slots) : NULL;
    int rc = slots ? redo_recv_pages(r, pages, n, err)
                   : ibs_err_set(err, IBS_E_INTERNAL, "redo: out of memory for the page table");
    if (rc) {
        free(slots);
        free(b);
        return rc;
    }
    b->slots = r->slots;
    b->arena = r->arena;
    b->sorted = r->sorted;
    r->slots = slots;
    r->arena = NULL;
    r->arena_bytes = 0;
    r->sorted = NULL;
    r->n_sorted = 0;
    r->n_pages = 0;
    r->n_live = 0;
    *batch = b;
    return 0;
}

void redo_recv_batch_free(struct redo_recv *r, struct redo_recv_batch *b)
{
    if (!b)
        return;
    chunks_to_spare(r, b->arena);
    free(b->slots);
    free(b->sorted);
    free(b);
}

const struct redo_file_event *redo_recv_file_events(const struct redo_recv *r, size_t *n)
{
    *n = r->n_events;
    return r->events;
}

const struct redo_space_info *redo_recv_spaces(const struct redo_recv *r, size_t *n)
{
    *n = r->n_spaces;
    return r->spaces;
}

static int cmp_page(const void *a, const void *b)
{
    const struct redo_recv_page *x = *(struct redo_recv_page *const *)a;
    const struct redo_recv_page *y = *(struct redo_recv_page *const *)b;
    if (x->space_id != y->space_id)
        return x->space_id < y->space_id ? -1 : 1;
    return x->page_no < y->page_no ? -1 : x->page_no > y->page_no;
}

int redo_recv_pages(struct redo_recv *r, struct redo_recv_page *const **pages, size_t *n,
                    struct ibs_err *err)
{
    free(r->sorted);
    r->n_sorted = 0;
    r->sorted = malloc((r->n_live ? r->n_live : 1) * sizeof(*r->sorted));
    if (!r->sorted)
        return ibs_err_set(err, IBS_E_INTERNAL, "redo: out of memory sorting %zu pages", r->n_live);
    for (size_t i = 0; i < r->n_slots; i++)
        if (r->slots[i].space_id != SLOT_EMPTY && r->slots[i].head)
            r->sorted[r->n_sorted++] = &r->slots[i];
    qsort(r->sorted, r->n_sorted, sizeof(*r->sorted), cmp_page);
    *pages = r->sorted;
    *n = r->n_sorted;
    return 0;
}

static struct redo_space_info *space_info(struct redo_recv *r, uint32_t space_id,
                                          struct ibs_err *err)
{
    for (size_t i = 0; i < r->n_spaces; i++)
        if (r->spaces[i].space_id == space_id)
            return &r->spaces[i];
    if (r->n_spaces == r->cap_spaces) {
        size_t cap = r->cap_spaces ? r->cap_spaces * 2 : 16;
        void *p = realloc(r->spaces, cap * sizeof(*r->spaces));
        if (!p) {
            ibs_err_set(err, IBS_E_INTERNAL, "redo: out of memory");
            return NULL;
        }
        r->spaces = p;
        r->cap_spaces = cap;
    }
    struct redo_space_info *s = &r->spaces[r->n_spaces++];
    memset(s, 0, sizeof(*s));
    s->space_id = space_id;
    return s;
}

static char *dup_name(const char *name, uint32_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, name, len);
        s[len] = 0;
    }
    return s;
}

static int add_event(struct redo_recv *r, const struct redo_rec *rec, enum redo_file_op op,
                     const struct redo_mtr *mtr, struct ibs_err *err)
{
    if (r->n_events == r->cap_events) {
        size_t cap = r->cap_events ? r->cap_events * 2 : 64;
        void *p = realloc(r->events, cap * sizeof(*r->events));
        if (!p)
            return ibs_err_set(err, IBS_E_INTERNAL, "redo: out of memory for file events");
        r->events = p;
        r->cap_events = cap;
    }
    struct redo_file_event *e = &r->events[r->n_events];
    memset(e, 0, sizeof(*e));
    e->op = op;
    e->space_id = rec->space_id;
    e->lsn = rec->lsn;
    e->end_lsn = mtr->lsn + mtr->len;
    e->checkpoint_lsn = rec->checkpoint_lsn;
    if (op == REDO_FILE_OP_TRUNCATE)
        e->size = rec->page_no;
    if (rec->name && !(e->name = dup_name(rec->name, rec->name_len)))
        goto oom;
    if (rec->new_name && !(e->new_name = dup_name(rec->new_name, rec->new_name_len)))
        goto oom;
    r->n_events++;
    return 0;
oom:
    free(e->name);
    return ibs_err_set(err, IBS_E_INTERNAL, "redo: out of memory for file events");
}

static int file_record(struct redo_recv *r, const struct redo_rec *rec, const struct redo_mtr *mtr,
                       struct ibs_err *err)
{
    if (rec->padding)
        return 0;
    switch (rec->type) {
    case REDO_FILE_CREATE:
        return add_event(r, rec, REDO_FILE_OP_CREATE, mtr, err);
    case REDO_FILE_DELETE:
        return add_event(r, rec, REDO_FILE_OP_DELETE, mtr, err);
    case REDO_FILE_RENAME:
        return add_event(r, rec, REDO_FILE_OP_RENAME, mtr, err);
    case REDO_FILE_MODIFY:
        return add_event(r, rec, REDO_FILE_OP_MODIFY, mtr, err);
    case REDO_FILE_CHECKPOINT:
        return add_event(r, rec, REDO_FILE_OP_CHECKPOINT, mtr, err);
    default:
        return 0;
    }
}

/* The page's slot, made if new. Adding a page can move every page: a pointer
 * from before is stale. */
static struct redo_recv_page *get_page(struct redo_recv *r, uint32_t space_id, uint32_t page_no,
                                       struct ibs_err *err)
{
    struct redo_recv_page *p = slot_of(r, space_id, page_no);
    if (p->space_id != SLOT_EMPTY)
        return p;
    if ((r->n_pages + 1) * 2 > r->n_slots) {
        if (grow_slots(r, err))
            return NULL;
        p = slot_of(r, space_id, page_no);
    }
    memset(p, 0, sizeof(*p));
    p->space_id = space_id;
    p->page_no = page_no;
    r->n_pages++;
    return p;
}

/* TRIM_PAGES: the whole tablespace is re-initialised; records of earlier mtrs
 * are obsolete (page_recv_t::trim()). */
static void trim_space(struct redo_recv *r, uint32_t space_id, uint64_t start_lsn)
{
    for (size_t i = 0; i < r->n_slots; i++) {
        struct redo_recv_page *p = &r->slots[i];
        if (p->space_id != space_id)
            continue;
        struct redo_recv_run **link = &p->head;
        bool had = p->head != NULL;
        p->tail = NULL;
        p->n_recs = 0;
        while (*link) {
            if ((*link)->start_lsn < start_lsn) {
                *link = (*link)->next;
                continue;
            }
            p->tail = *link;
            p->n_recs += (*link)->n_recs;
            link = &(*link)->next;
        }
        if (!p->head) {
            p->init = false;
            r->n_live -= had;
        }
    }
}

/* Page 0 WRITEs covering all of FSP_SIZE / FSP_SPACE_FLAGS (parse_page0()). */
static int note_page0(struct redo_recv *r, const struct redo_rec *rec, struct ibs_err *err)
{
    if (rec->type != REDO_WRITE || rec->page_no != 0)
        return 0;
    bool has_size = rec->offset <= FSP_HEADER_SIZE_OFFSET &&
                    rec->offset + rec->len >= FSP_HEADER_SIZE_OFFSET + 4;
    bool has_flags = rec->offset <= FSP_HEADER_FLAGS_OFFSET &&
                     rec->offset + rec->len >= FSP_HEADER_FLAGS_OFFSET + 4;
    if (!has_size && !has_flags)
        return 0;
    struct redo_space_info *s = space_info(r, rec->space_id, err);
    if (!s)
        return IBS_E_INTERNAL;
    if (has_size) {
        s->has_size = true;
        s->size = redo_mach_read_4(rec->data + FSP_HEADER_SIZE_OFFSET - rec->offset);
    }
    if (has_flags) {
        s->has_flags = true;
        s->flags = redo_mach_read_4(rec->data + FSP_HEADER_FLAGS_OFFSET - rec->offset);
    }
    return 0;
}

/* Appends rec, the record after run's last one in the log, to run if its
 * bytes can follow run's: in the log itself, or in the arena right after. */
static bool run_extend(struct redo_recv *r, struct redo_recv_run *run, const struct redo_rec *rec)
{
    if (r->refer)
        return run->recs + run->len == rec->rec;
    size_t size = sizeof(*run) + run->len;
    if (!arena_extend(r, run, size, size + rec->rec_len))
        return false;
    memcpy((uint8_t *)(run + 1) + run->len, rec->rec, rec->rec_len);
    return true;
}

/* Where the records of the mtr being added go: the run that took its last
 * stored record, which a same-page record (or another record for that page
 * right after it) extends. */
struct mtr_cursor {
    struct redo_recv_page *page;
    struct redo_recv_run *run;
};

/* Stores rec, a page record of mtr decoded with the "current offset"
 * last_offset, as log bytes in a run of its page. */
static int page_record(struct redo_recv *r, const struct redo_rec *rec, const struct redo_mtr *mtr,
                       uint32_t last_offset, struct mtr_cursor *cur, struct ibs_err *err)
{
    if (rec->type == REDO_EXTENDED && rec->subtype == REDO_EXT_TRIM_PAGES) {
        trim_space(r, rec->space_id, mtr->lsn);
        cur->run = NULL;
        return add_event(r, rec, REDO_FILE_OP_TRUNCATE, mtr, err);
    }
    int rc = note_page0(r, rec, err);
    if (rc)
        return rc;
    struct redo_recv_page *p = cur->page;
    if (!cur->run || p->space_id != rec->space_id || p->page_no != rec->page_no) {
        p = get_page(r, rec->space_id, rec->page_no, err);
        if (!p)
            return IBS_E_INTERNAL;
        cur->page = p;
        cur->run = NULL;
    }
    if (rec->type == REDO_INIT_PAGE || rec->type == REDO_FREE_PAGE) {
        /* Everything before, even earlier in this mtr, is obsolete (will_not_read()). */
        r->n_live -= p->head != NULL;
        p->head = p->tail = NULL;
        p->n_recs = 0;
        p->init = true;
        p->init_lsn = mtr->lsn;
        cur->run = NULL;
    }
    struct redo_recv_run *run = cur->run;
    if (run && p->tail == run && run_extend(r, run, rec)) {
        run->len += rec->rec_len;
        run->n_recs++;
        p->n_recs++;
        return 0;
    }
    run = arena_alloc(r, sizeof(*run) + (r->refer ? 0 : rec->rec_len));
    if (!run)
        return ibs_err_set(err, IBS_E_INTERNAL, "redo: out of memory for page %u:%u", rec->space_id,
                           rec->page_no);
    run->next = NULL;
    run->start_lsn = mtr->lsn;
    run->mtr_len = mtr->len;
    run->len = rec->rec_len;
    run->last_offset = last_offset;
    run->n_recs = 1;
    if (r->refer) {
        run->recs = rec->rec;
    } else {
        memcpy(run + 1, rec->rec, rec->rec_len);
        run->recs = (const uint8_t *)(run + 1);
    }
    if (p->tail) {
        p->tail->next = run;
    } else {
        p->head = run;
        r->n_live++;
    }
    p->tail = run;
    p->end_lsn = mtr->lsn + mtr->len;
    p->n_recs++;
    cur->run = run;
    return 0;
}

int redo_recv_add_mtr(struct redo_recv *r, const uint8_t *buf, const struct redo_mtr *mtr,
                      enum redo_log_format format, struct ibs_err *err)
{
    struct redo_rec_iter it;
    struct redo_rec rec;
    struct mtr_cursor cur = {NULL, NULL};
    int rc = redo_rec_iter_init(&it, mtr, buf, format, r->page_size, err);

    while (!rc && redo_rec_iter_more(&it)) {
        uint32_t last_offset = it.last_offset;
        rc = redo_rec_next(&it, &rec, err);
        if (rc)
            break;
        if (rec.type >= REDO_FILE_CREATE)
            rc = file_record(r, &rec, mtr, err);
        else if (rec.type != REDO_OPTION)
            rc = page_record(r, &rec, mtr, last_offset, &cur, err);
        else
            cur.run = NULL; /* not stored: what follows needs its own run */
    }
    return rc;
}

int redo_recv_scan_mtr(struct redo_recv *r, const uint8_t *buf, const struct redo_mtr *mtr,
                       enum redo_log_format format, redo_recv_init_fn on_init, void *ctx,
                       struct ibs_err *err)
{
    struct redo_rec_iter it;
    struct redo_rec rec;
    int rc = redo_rec_iter_init(&it, mtr, buf, format, r->page_size, err);

    while (!rc && redo_rec_iter_more(&it)) {
        rc = redo_rec_frame(&it, &rec, err);
        if (rc)
            break;
        /* Most records change a page other than 0 and matter only to apply:
         * they are framed, not decoded (half the cost of the scan). Page 0
         * records are all decoded, so that the offsets of its WRITEs are known. */
        bool wanted = rec.type >= REDO_FILE_CREATE || rec.page_no == 0 ||
                      rec.type == REDO_INIT_PAGE || rec.type == REDO_FREE_PAGE ||
                      (rec.type == REDO_EXTENDED && rec.payload_len &&
                       rec.payload[0] == REDO_EXT_TRIM_PAGES);
        if (!wanted)
            continue;
        rc = redo_rec_decode(&it, &rec, err);
        if (rc)
            break;
        if (rec.type >= REDO_FILE_CREATE)
            rc = file_record(r, &rec, mtr, err);
        else if (rec.type == REDO_EXTENDED && rec.subtype == REDO_EXT_TRIM_PAGES)
            rc = add_event(r, &rec, REDO_FILE_OP_TRUNCATE, mtr, err);
        else if (rec.type == REDO_INIT_PAGE || rec.type == REDO_FREE_PAGE)
            rc = on_init ? on_init(ctx, rec.space_id, rec.page_no, mtr->lsn, err) : 0;
        else
            rc = note_page0(r, &rec, err);
    }
    return rc;
}
