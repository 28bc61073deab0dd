/* Applying one page's records: the page-LSN rule of recv_recover_page() and
 * the record semantics of log_phys_t::apply() (log/log0recv.cc); then the page
 * LSN, trailer and checksum as buf_flush_init_for_writing() writes them. */
#include "redo/apply.h"

#include <string.h>

#include "redo/fsp.h"
#include "redo/page.h"

/* Record LSNs in messages are those of their mini-transaction (rec->lsn, as
 * redo_rec_iter_resume() was given it). */
static int bad_record(struct ibs_err *err, const struct redo_recv_page *pg,
                      const struct redo_rec *rec, const char *why)
{
    return ibs_err_set(err, IBS_E_REDO, "redo: %s at LSN %llu for page %u:%u: %s",
                       redo_rec_type_name(rec->type), (unsigned long long)rec->lsn, pg->space_id,
                       pg->page_no, why);
}

static int corrupted(struct ibs_err *err, const struct redo_recv_page *pg,
                     const struct redo_rec *rec, const char *why)
{
    return ibs_err_set(err, IBS_E_INTEGRITY,
                       "redo: not applying %s of the mini-transaction at LSN %llu to page "
                       "%u:%u due to corruption: %s",
                       redo_ext_type_name(rec->subtype), (unsigned long long)rec->lsn, pg->space_id,
                       pg->page_no, why);
}

static int apply_extended(const struct redo_recv_page *pg, const struct redo_rec *rec,
                          uint8_t *page, size_t ps, uint32_t fsp_flags, struct ibs_err *err)
{
    const char *why = NULL;

    if (redo_fsp_flags_zip_size(fsp_flags))
        return bad_record(err, pg, rec,
                          "EXTENDED records on ROW_FORMAT=COMPRESSED pages are not supported");
    if (pg->page_no < 3)
        return bad_record(err, pg, rec, "EXTENDED record for page 0, 1 or 2");
    switch (rec->subtype) {
    case REDO_EXT_INIT_ROW_FORMAT_REDUNDANT:
    case REDO_EXT_INIT_ROW_FORMAT_DYNAMIC:
        why = redo_apply_page_create(page, ps, rec->subtype == REDO_EXT_INIT_ROW_FORMAT_DYNAMIC);
        break;
    case REDO_EXT_UNDO_INIT:
        why = redo_apply_undo_init(page, ps);
        break;
    case REDO_EXT_UNDO_APPEND:
        why = redo_apply_undo_append(page, ps, rec->data, rec->data_len);
        break;
    case REDO_EXT_INSERT_HEAP_REDUNDANT:
    case REDO_EXT_INSERT_REUSE_REDUNDANT:
    case REDO_EXT_INSERT_HEAP_DYNAMIC:
    case REDO_EXT_INSERT_REUSE_DYNAMIC:
        why = redo_apply_insert(page, ps, rec);
        break;
    case REDO_EXT_DELETE_ROW_FORMAT_REDUNDANT:
    case REDO_EXT_DELETE_ROW_FORMAT_DYNAMIC:
        why = redo_apply_delete(page, ps, rec);
        break;
    default:
        return bad_record(err, pg, rec, "unexpected EXTENDED subtype");
    }
    return why ? corrupted(err, pg, rec, why) : 0;
}

/* Applies one record; *applied tells whether the page changed. */
static int apply_record(const struct redo_recv_page *pg, const struct redo_rec *rec, uint8_t *page,
                        size_t ps, uint32_t fsp_flags, bool *applied, struct ibs_err *err)
{
    switch (rec->type) {
    case REDO_FREE_PAGE:
        return 0;
    case REDO_INIT_PAGE:
        memset(page, 0, ps);
        redo_mach_write_4(page + FIL_PAGE_OFFSET, pg->page_no);
        memset(page + FIL_PAGE_PREV, 0xff, 8);
        redo_mach_write_4(page + FIL_PAGE_SPACE_ID, pg->space_id);
        break;
    case REDO_WRITE:
    case REDO_MEMSET:
    case REDO_MEMMOVE:
        /* The parser bounded offsets by innodb_page_size; a ROW_FORMAT=COMPRESSED
         * page is smaller. */
        if ((size_t)rec->offset + rec->len > ps ||
            (rec->type == REDO_MEMMOVE && (size_t)rec->src + rec->len > ps))
            return bad_record(err, pg, rec, "bytes beyond the end of the page");
        if (rec->type == REDO_WRITE) {
            memcpy(page + rec->offset, rec->data, rec->len);
        } else if (rec->type == REDO_MEMSET) {
            if (rec->data_len == 1) {
                memset(page + rec->offset, rec->data[0], rec->len);
            } else {
                for (uint32_t i = 0; i < rec->len; i++)
                    page[rec->offset + i] = rec->data[i % rec->data_len];
            }
        } else {
            /* The page as it is at this point of applying (log_phys_t::apply()). */
            memmove(page + rec->offset, page + rec->src, rec->len);
        }
        break;
    case REDO_EXTENDED: {
        int rc = apply_extended(pg, rec, page, ps, fsp_flags, err);
        if (rc)
            return rc;
        break;
    }
    default:
        return bad_record(err, pg, rec, "unexpected record type");
    }
    *applied = true;
    return 0;
}

/* Decodes the records of run (checked when they were collected) and applies them. */
static int apply_run(const struct redo_recv_page *pg, const struct redo_recv_run *run,
                     uint8_t *page, size_t ps, uint32_t fsp_flags, bool *applied,
                     struct ibs_err *err)
{
    struct redo_rec_iter it;
    struct redo_rec rec;
    redo_rec_iter_resume(&it, run->recs, run->len, pg->space_id, pg->page_no, run->last_offset,
                         run->start_lsn);
    while (redo_rec_iter_more(&it)) {
        int rc = redo_rec_next(&it, &rec, err);
        if (!rc)
            rc = apply_record(pg, &rec, page, ps, fsp_flags, applied, err);
        if (rc)
            return rc;
    }
    return 0;
}

int redo_apply_page(const struct redo_recv_page *pg, uint8_t *page, size_t physical_size,
                    uint32_t fsp_flags, struct redo_apply_result *res, struct ibs_err *err)
{
    const size_t ps = physical_size;
    uint64_t page_lsn = 0, last_end = 0;
    bool freed = false;

    memset(res, 0, sizeof(*res));
    if (ps < REDO_PAGE_ZIP_MIN_SIZE || ps > REDO_PAGE_MAX_SIZE || (ps & (ps - 1)))
        return ibs_err_set(err, IBS_E_INTERNAL, "redo: invalid page size %zu for page %u:%u", ps,
                           pg->space_id, pg->page_no);
    if (!pg->init) {
        /* recv_sys_t::free_corrupted_page(): nothing to apply the log to. */
        if (redo_page_is_zero(page, ps))
            return ibs_err_set(err, IBS_E_INTEGRITY,
                               "redo: page %u:%u is all zero (not in the data file?) and the log "
                               "does not initialise it",
                               pg->space_id, pg->page_no);
        page_lsn = redo_page_get_lsn(page);
    }

    for (const struct redo_recv_run *run = pg->head; run;) {
        const uint64_t start = run->start_lsn, end = start + run->mtr_len;
        /* The page already holds every mtr that started before its LSN. */
        if (start < page_lsn) {
            while (run && run->start_lsn == start)
                run = run->next;
            res->skipped++;
            continue;
        }
        bool applied = false;
        for (; run && run->start_lsn == start; run = run->next) {
            int rc = apply_run(pg, run, page, ps, fsp_flags, &applied, err);
            if (rc)
                return rc;
        }
        if (applied) {
            last_end = end;
            res->applied++;
            freed = false;
        } else {
            freed = true;
        }
    }

    if (last_end) {
        redo_page_set_lsn(page, ps, fsp_flags, last_end);
        redo_page_update_checksum(page, ps, fsp_flags);
        res->outcome = REDO_APPLY_WRITE;
        res->page_lsn = last_end;
    } else {
        res->outcome = freed ? REDO_APPLY_FREED : REDO_APPLY_NOTHING;
    }
    return 0;
}
