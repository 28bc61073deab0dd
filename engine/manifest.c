/* Manifest model and its JSON form (see manifest.h). */
#include "engine/manifest.h"
#include "engine/frame.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"system", "undo", "ibd", "other"};

const char *eng_mfile_kind_name(enum eng_mfile_kind kind)
{
    return (unsigned)kind < 4 ? kind_names[kind] : "unknown";
}

void eng_manifest_init(struct eng_manifest *m)
{
    memset(m, 0, sizeof(*m));
    m->format = ENG_MANIFEST_FORMAT;
}

static void packs_free(struct eng_pack_ref *packs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(packs[i].key);
    free(packs);
}

void eng_manifest_free(struct eng_manifest *m)
{
    free(m->id);
    free(m->type);
    free(m->parent);
    free(m->server_version);
    free(m->hostname);
    free(m->datadir);
    free(m->data_file_path);
    free(m->binlog_file);
    free(m->gtid);
    eng_frame_list_free(&m->redo);
    packs_free(m->data_packs, m->data_pack_count);
    packs_free(m->redo_packs, m->redo_pack_count);
    for (size_t i = 0; i < m->file_count; i++) {
        free(m->files[i].name);
        free(m->files[i].source);
        eng_frame_list_free(&m->files[i].frames);
    }
    free(m->files);
    memset(m, 0, sizeof(*m));
}

long eng_manifest_add_file(struct eng_manifest *m, const char *name, enum eng_mfile_kind kind)
{
    if (m->file_count == m->file_cap) {
        size_t cap = m->file_cap ? m->file_cap * 2 : 64;
        struct eng_mfile *grown = realloc(m->files, cap * sizeof(*grown));
        if (!grown)
            return -1;
        m->files = grown;
        m->file_cap = cap;
    }
    struct eng_mfile *f = &m->files[m->file_count];
    memset(f, 0, sizeof(*f));
    f->name = strdup(name);
    if (!f->name)
        return -1;
    f->kind = kind;
    return (long)m->file_count++;
}

int eng_frame_list_add(struct eng_frame_list *list, const struct eng_frame_ref *ref,
                       struct ibs_err *err)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct eng_frame_ref *grown = realloc(list->refs, cap * sizeof(*grown));
        if (!grown)
            return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
        list->refs = grown;
        list->cap = cap;
    }
    list->refs[list->count++] = *ref;
    return 0;
}

void eng_frame_list_free(struct eng_frame_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->refs[i].pages);
    free(list->refs);
    memset(list, 0, sizeof(*list));
}

int eng_frame_list_copy(struct eng_frame_list *dst, const struct eng_frame_list *src,
                        struct ibs_err *err)
{
    for (size_t i = 0; i < src->count; i++) {
        struct eng_frame_ref ref = src->refs[i];
        if (ref.npages) {
            ref.pages = malloc(ref.npages * sizeof(*ref.pages));
            if (!ref.pages)
                return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            memcpy(ref.pages, src->refs[i].pages, ref.npages * sizeof(*ref.pages));
        }
        int rc = eng_frame_list_add(dst, &ref, err);
        if (rc) {
            free(ref.pages);
            return rc;
        }
    }
    return 0;
}

/* ---- writing ---- */

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : json_object_new_null();
}

static json_object *ju64(uint64_t v)
{
    /* json-c holds int64; every value we store (LSNs, sizes) is below 2^63. */
    return json_object_new_int64((int64_t)v);
}

static json_object *frames_to_json(const struct eng_frame_list *list)
{
    json_object *arr = json_object_new_array_ext((int)list->count);
    char hash[17];
    for (size_t i = 0; i < list->count; i++) {
        const struct eng_frame_ref *r = &list->refs[i];
        json_object *f = json_object_new_array_ext(6);
        json_object_array_add(f, ju64(r->pack));
        json_object_array_add(f, ju64(r->pack_offset));
        json_object_array_add(f, ju64(r->frame_len));
        json_object_array_add(f, ju64(r->offset));
        json_object_array_add(f, ju64(r->raw_len));
        snprintf(hash, sizeof(hash), "%016" PRIx64, r->xxh3);
        json_object_array_add(f, json_object_new_string(hash));
        if (r->pages) {
            json_object *pages = json_object_new_array_ext((int)r->npages);
            for (uint32_t k = 0; k < r->npages; k++)
                json_object_array_add(pages, ju64(r->pages[k]));
            json_object_array_add(f, pages);
        }
        json_object_array_add(arr, f);
    }
    return arr;
}

static json_object *packs_to_json(const struct eng_pack_ref *packs, size_t count)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < count; i++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "key", jstr(packs[i].key));
        json_object_object_add(p, "size", ju64(packs[i].size));
        json_object_array_add(arr, p);
    }
    return arr;
}

int eng_manifest_to_json(const struct eng_manifest *m, char **out, size_t *len, struct ibs_err *err)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "format", json_object_new_int(m->format));
    json_object_object_add(root, "id", jstr(m->id));
    json_object_object_add(root, "type", jstr(m->type));
    json_object_object_add(root, "parent", jstr(m->parent));
    json_object_object_add(root, "start_time", json_object_new_int64(m->start_time));
    json_object_object_add(root, "end_time", json_object_new_int64(m->end_time));
    json_object_object_add(root, "duration_ms", ju64(m->duration_ms));

    json_object *server = json_object_new_object();
    json_object_object_add(server, "version", jstr(m->server_version));
    json_object_object_add(server, "hostname", jstr(m->hostname));
    json_object_object_add(server, "server_id", ju64(m->server_id));
    json_object_object_add(server, "datadir", jstr(m->datadir));
    json_object_object_add(server, "page_size", ju64(m->page_size));
    json_object_object_add(server, "log_file_size", ju64(m->log_file_size));
    json_object_object_add(server, "data_file_path", jstr(m->data_file_path));
    json_object_object_add(server, "undo_tablespaces", ju64(m->undo_tablespaces));
    json_object_object_add(root, "server", server);

    json_object *redo = json_object_new_object();
    json_object_object_add(redo, "checkpoint_lsn", ju64(m->checkpoint_lsn));
    json_object_object_add(redo, "checkpoint_end_lsn", ju64(m->checkpoint_end_lsn));
    json_object_object_add(redo, "end_lsn", ju64(m->end_lsn));
    json_object_object_add(redo, "to_lsn", ju64(m->to_lsn));
    json_object_object_add(redo, "log_format", ju64(m->log_format));
    if (m->log_resumed)
        json_object_object_add(redo, "resumed_from_base", json_object_new_boolean(true));
    json_object_object_add(redo, "packs", packs_to_json(m->redo_packs, m->redo_pack_count));
    json_object_object_add(redo, "frames", frames_to_json(&m->redo));
    json_object_object_add(root, "redo", redo);

    json_object *binlog = json_object_new_object();
    json_object_object_add(binlog, "enabled", json_object_new_boolean(m->binlog_enabled));
    json_object_object_add(binlog, "file", jstr(m->binlog_file));
    json_object_object_add(binlog, "position", ju64(m->binlog_pos));
    json_object_object_add(binlog, "gtid", jstr(m->gtid));
    json_object_object_add(root, "binlog", binlog);

    json_object *stats = json_object_new_object();
    json_object_object_add(stats, "bytes_read", ju64(m->bytes_read));
    json_object_object_add(stats, "bytes_stored", ju64(m->bytes_stored));
    json_object_object_add(root, "stats", stats);

    json_object_object_add(root, "data_packs", packs_to_json(m->data_packs, m->data_pack_count));

    json_object *files = json_object_new_array_ext((int)m->file_count);
    for (size_t i = 0; i < m->file_count; i++) {
        const struct eng_mfile *f = &m->files[i];
        json_object *jf = json_object_new_object();
        json_object_object_add(jf, "name", jstr(f->name));
        json_object_object_add(jf, "kind", json_object_new_string(eng_mfile_kind_name(f->kind)));
        json_object_object_add(jf, "space_id", ju64(f->space_id));
        json_object_object_add(jf, "fsp_flags", ju64(f->fsp_flags));
        json_object_object_add(jf, "page_size", ju64(f->page_size));
        json_object_object_add(jf, "size", ju64(f->size));
        json_object_object_add(jf, "mtime", json_object_new_int64(f->mtime));
        json_object_object_add(jf, "mtime_ns", json_object_new_int64(f->mtime_ns));
        json_object_object_add(jf, "pages_copied", ju64(f->pages_copied));
        json_object_object_add(jf, "pages_scanned", ju64(f->pages_scanned));
        json_object_object_add(jf, "source", jstr(f->source));
        json_object_object_add(jf, "frames", frames_to_json(&f->frames));
        json_object_array_add(files, jf);
    }
    json_object_object_add(root, "files", files);

    size_t n = 0;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &n);
    *out = text ? malloc(n + 1) : NULL;
    if (*out) {
        memcpy(*out, text, n + 1);
        *len = n;
    }
    json_object_put(root);
    if (!*out)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory serialising the manifest");
    return 0;
}

/* ---- parsing ---- */

struct parse_ctx {
    struct ibs_err *err;
    int rc;
};

static json_object *field(struct parse_ctx *c, json_object *obj, const char *name, json_type type,
                          bool nullable)
{
    json_object *v = NULL;
    if (c->rc)
        return NULL;
    if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, name, &v)) {
        c->rc = ibs_err_set(c->err, IBS_E_INTEGRITY, "manifest: field '%s' is missing", name);
        return NULL;
    }
    if (nullable && json_object_is_type(v, json_type_null))
        return NULL;
    if (!json_object_is_type(v, type)) {
        c->rc =
            ibs_err_set(c->err, IBS_E_INTEGRITY, "manifest: field '%s' has the wrong type", name);
        return NULL;
    }
    return v;
}

static char *get_str(struct parse_ctx *c, json_object *obj, const char *name, bool nullable)
{
    json_object *v = field(c, obj, name, json_type_string, nullable);
    if (!v)
        return NULL;
    char *s = strdup(json_object_get_string(v));
    if (!s)
        c->rc = ibs_err_set(c->err, IBS_E_INTERNAL, "out of memory");
    return s;
}

static uint64_t get_u64(struct parse_ctx *c, json_object *obj, const char *name)
{
    json_object *v = field(c, obj, name, json_type_int, false);
    if (!v)
        return 0;
    int64_t n = json_object_get_int64(v);
    if (n < 0) {
        c->rc = ibs_err_set(c->err, IBS_E_INTEGRITY, "manifest: field '%s' is negative", name);
        return 0;
    }
    return (uint64_t)n;
}

static int64_t get_i64(struct parse_ctx *c, json_object *obj, const char *name)
{
    json_object *v = field(c, obj, name, json_type_int, false);
    return v ? json_object_get_int64(v) : 0;
}

static uint64_t elem_u64(struct parse_ctx *c, json_object *arr, size_t i)
{
    json_object *v = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
        if (!c->rc)
            c->rc = ibs_err_set(c->err, IBS_E_INTEGRITY, "manifest: bad frame reference");
        return 0;
    }
    return (uint64_t)json_object_get_int64(v);
}

/* The page numbers of a page frame: ascending, each page's bytes inside it. */
static int parse_pages(struct parse_ctx *c, json_object *arr, struct eng_frame_ref *r)
{
    size_t n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    if (n == 0 || n > ENG_FRAME_PAGES_MAX) {
        c->rc = ibs_err_set(c->err, IBS_E_INTEGRITY, "manifest: bad page list of a page frame");
        return c->rc;
    }
    r->pages = malloc(n * sizeof(*r->pages));
    if (!r->pages)
        return c->rc = ibs_err_set(c->err, IBS_E_INTERNAL, "out of memory");
    for (size_t k = 0; k < n; k++) {
        uint64_t v = elem_u64(c, arr, k);
        if (!c->rc && (v > UINT32_MAX || (k > 0 && v <= r->pages[k - 1])))
            c->rc = ibs_err_set(c->err, IBS_E_INTEGRITY,
                                "manifest: page list of a page frame is not ascending");
        if (c->rc) {
            free(r->pages);
            r->pages = NULL;
            return c->rc;
        }
        r->pages[k] = (uint32_t)v;
    }
    r->npages = (uint32_t)n;
    return 0;
}

static void parse_frames(struct parse_ctx *c, json_object *obj, struct eng_frame_list *list)
{
    json_object *arr = field(c, obj, "frames", json_type_array, false);
    if (!arr)
        return;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n && !c->rc; i++) {
        json_object *f = json_object_array_get_idx(arr, i);
        size_t width = json_object_is_type(f, json_type_array) ? json_object_array_length(f) : 0;
        if (width != 6 && width != 7) {
            c->rc = ibs_err_set(c->err, IBS_E_INTEGRITY, "manifest: bad frame reference");
            return;
        }
        struct eng_frame_ref r;
        uint64_t pack = elem_u64(c, f, 0), frame_len = elem_u64(c, f, 2), raw = elem_u64(c, f, 4);
        r.pack_offset = elem_u64(c, f, 1);
        r.offset = elem_u64(c, f, 3);
        json_object *h = json_object_array_get_idx(f, 5);
        const char *hex = json_object_is_type(h, json_type_string) ? json_object_get_string(h) : "";
        char *end = NULL;
        r.xxh3 = strtoull(hex, &end, 16);
        if (c->rc)
            return;
        if (strlen(hex) != 16 || *end || pack > UINT32_MAX || frame_len > UINT32_MAX ||
            raw > UINT32_MAX) {
            c->rc = ibs_err_set(c->err, IBS_E_INTEGRITY, "manifest: bad frame reference");
            return;
        }
        r.pack = (uint32_t)pack;
        r.frame_len = (uint32_t)frame_len;
        r.raw_len = (uint32_t)raw;
        r.pages = NULL;
        r.npages = 0;
        if (width == 7 && parse_pages(c, json_object_array_get_idx(f, 6), &r) != 0)
            return;
        c->rc = eng_frame_list_add(list, &r, c->err);
        if (c->rc)
            free(r.pages);
    }
}

static void parse_packs(struct parse_ctx *c, json_object *obj, const char *name,
                        struct eng_pack_ref **packs, size_t *count)
{
    json_object *arr = field(c, obj, name, json_type_array, false);
    if (!arr)
        return;
    size_t n = json_object_array_length(arr);
    *packs = calloc(n ? n : 1, sizeof(**packs));
    if (!*packs) {
        c->rc = ibs_err_set(c->err, IBS_E_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < n && !c->rc; i++) {
        json_object *p = json_object_array_get_idx(arr, i);
        (*packs)[i].key = get_str(c, p, "key", false);
        (*packs)[i].size = get_u64(c, p, "size");
        *count = i + 1;
    }
}

static enum eng_mfile_kind parse_kind(struct parse_ctx *c, json_object *obj)
{
    char *name = get_str(c, obj, "kind", false);
    enum eng_mfile_kind kind = ENG_MFILE_OTHER;
    bool found = false;
    for (unsigned k = 0; name && k < 4; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            kind = (enum eng_mfile_kind)k;
            found = true;
        }
    if (name && !found)
        c->rc = ibs_err_set(c->err, IBS_E_INTEGRITY, "manifest: unknown file kind '%s'", name);
    free(name);
    return kind;
}

/* Every frame must point into a listed pack, inside it. */
static void check_refs(struct parse_ctx *c, const struct eng_frame_list *list,
                       const struct eng_pack_ref *packs, size_t count, const char *what)
{
    for (size_t i = 0; i < list->count && !c->rc; i++) {
        const struct eng_frame_ref *r = &list->refs[i];
        if (r->pack >= count || r->pack_offset + r->frame_len > packs[r->pack].size) {
            c->rc = ibs_err_set(c->err, IBS_E_INTEGRITY,
                                "manifest: %s frame %zu points outside its pack", what, i);
        }
    }
}

int eng_manifest_parse(const char *json, size_t len, struct eng_manifest *m, struct ibs_err *err)
{
    struct parse_ctx c = {err, 0};
    eng_manifest_init(m);
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
    json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t consumed = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success || consumed != len) {
        json_object_put(root);
        return ibs_err_set(err, IBS_E_INTEGRITY, "manifest is not valid JSON (%s)",
                           json_tokener_error_desc(jerr));
    }

    int64_t format = get_i64(&c, root, "format");
    if (!c.rc && format != ENG_MANIFEST_FORMAT)
        c.rc = ibs_err_set(err, IBS_E_INTEGRITY,
                           "manifest format %lld is not supported (this ibstream reads %d)",
                           (long long)format, ENG_MANIFEST_FORMAT);
    m->id = get_str(&c, root, "id", false);
    m->type = get_str(&c, root, "type", false);
    m->parent = get_str(&c, root, "parent", true);
    m->start_time = get_i64(&c, root, "start_time");
    m->end_time = get_i64(&c, root, "end_time");
    m->duration_ms = get_u64(&c, root, "duration_ms");

    json_object *server = field(&c, root, "server", json_type_object, false);
    m->server_version = get_str(&c, server, "version", true);
    m->hostname = get_str(&c, server, "hostname", true);
    m->server_id = (unsigned)get_u64(&c, server, "server_id");
    m->datadir = get_str(&c, server, "datadir", true);
    m->page_size = (uint32_t)get_u64(&c, server, "page_size");
    m->log_file_size = get_u64(&c, server, "log_file_size");
    m->data_file_path = get_str(&c, server, "data_file_path", true);
    m->undo_tablespaces = (unsigned)get_u64(&c, server, "undo_tablespaces");

    json_object *redo = field(&c, root, "redo", json_type_object, false);
    m->checkpoint_lsn = get_u64(&c, redo, "checkpoint_lsn");
    m->checkpoint_end_lsn = get_u64(&c, redo, "checkpoint_end_lsn");
    m->end_lsn = get_u64(&c, redo, "end_lsn");
    m->to_lsn = get_u64(&c, redo, "to_lsn");
    m->log_format = (uint32_t)get_u64(&c, redo, "log_format");
    /* Optional: written only when true (manifests before it lack it). */
    json_object *resumed = NULL;
    m->log_resumed = redo && json_object_object_get_ex(redo, "resumed_from_base", &resumed) &&
                     json_object_get_boolean(resumed);
    parse_packs(&c, redo, "packs", &m->redo_packs, &m->redo_pack_count);
    parse_frames(&c, redo, &m->redo);

    json_object *binlog = field(&c, root, "binlog", json_type_object, false);
    json_object *enabled = field(&c, binlog, "enabled", json_type_boolean, false);
    m->binlog_enabled = enabled && json_object_get_boolean(enabled);
    m->binlog_file = get_str(&c, binlog, "file", true);
    m->binlog_pos = get_u64(&c, binlog, "position");
    m->gtid = get_str(&c, binlog, "gtid", true);

    json_object *stats = field(&c, root, "stats", json_type_object, false);
    m->bytes_read = get_u64(&c, stats, "bytes_read");
    m->bytes_stored = get_u64(&c, stats, "bytes_stored");

    parse_packs(&c, root, "data_packs", &m->data_packs, &m->data_pack_count);

    json_object *files = field(&c, root, "files", json_type_array, false);
    size_t n = files ? json_object_array_length(files) : 0;
    for (size_t i = 0; i < n && !c.rc; i++) {
        json_object *jf = json_object_array_get_idx(files, i);
        char *name = get_str(&c, jf, "name", false);
        if (c.rc)
            break;
        long idx = eng_manifest_add_file(m, name, ENG_MFILE_OTHER);
        free(name);
        if (idx < 0) {
            c.rc = ibs_err_set(err, IBS_E_INTERNAL, "out of memory");
            break;
        }
        struct eng_mfile *f = &m->files[idx];
        f->kind = parse_kind(&c, jf);
        f->space_id = (uint32_t)get_u64(&c, jf, "space_id");
        f->fsp_flags = (uint32_t)get_u64(&c, jf, "fsp_flags");
        f->page_size = (uint32_t)get_u64(&c, jf, "page_size");
        f->size = get_u64(&c, jf, "size");
        f->mtime = get_i64(&c, jf, "mtime");
        f->mtime_ns = get_i64(&c, jf, "mtime_ns");
        f->pages_copied = get_u64(&c, jf, "pages_copied");
        f->pages_scanned = get_u64(&c, jf, "pages_scanned");
        f->source = get_str(&c, jf, "source", true);
        parse_frames(&c, jf, &f->frames);
        if (!f->source)
            check_refs(&c, &f->frames, m->data_packs, m->data_pack_count, f->name);
        for (size_t k = 0; k < f->frames.count && !c.rc; k++)
            if (!f->frames.refs[k].pages &&
                f->frames.refs[k].offset + f->frames.refs[k].raw_len > f->size)
                c.rc =
                    ibs_err_set(err, IBS_E_INTEGRITY,
                                "manifest: %s frame %zu lies beyond the file's size", f->name, k);
    }
    check_refs(&c, &m->redo, m->redo_packs, m->redo_pack_count, "redo");
    if (!c.rc && strcmp(m->type, "incremental") == 0 && !m->parent)
        c.rc = ibs_err_set(err, IBS_E_INTEGRITY, "manifest: an incremental without a parent");
    if (!c.rc && (m->end_lsn < m->checkpoint_lsn))
        c.rc = ibs_err_set(err, IBS_E_INTEGRITY, "manifest: end LSN before the checkpoint LSN");
    if (!c.rc && strcmp(m->type, "full") != 0 && strcmp(m->type, "incremental") != 0)
        c.rc = ibs_err_set(err, IBS_E_INTEGRITY, "manifest: unknown backup type '%s'", m->type);
    json_object_put(root);
    if (c.rc)
        eng_manifest_free(m);
    return c.rc;
}
