/* The file list of discovery and the pure rules: innodb_data_file_path, which
 * names are copied, and backup names (see discover.h). */
#include "engine/discover.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int eng_file_list_add(struct eng_file_list *list, const char *path, const char *name,
                      enum eng_file_kind kind, uint32_t space_id, uint64_t size, struct ibs_err *err)
{
    size_t count = list->count;
    if (count == list->capacity) {
        size_t cap = count ? count * 2 : 64;
        struct eng_file *grown = realloc(list->files, cap * sizeof(*grown));
        if (!grown)
            return ibs_err_set(err, IBS_E_INTERNAL, "discovery: out of memory");
        list->files = grown;
        list->capacity = cap;
    }
    struct eng_file *f = &list->files[count];
    f->path = strdup(path);
    f->name = strdup(name);
    if (!f->path || !f->name) {
        free(f->path);
        free(f->name);
        return ibs_err_set(err, IBS_E_INTERNAL, "discovery: out of memory");
    }
    f->kind = kind;
    f->space_id = space_id;
    f->size = size;
    list->count = count + 1;
    return 0;
}

const struct eng_file *eng_file_list_find(const struct eng_file_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->files[i].name, name) == 0)
            return &list->files[i];
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct eng_file *)a)->name, ((const struct eng_file *)b)->name);
}

void eng_file_list_sort(struct eng_file_list *list)
{
    if (list->count > 1)
        qsort(list->files, list->count, sizeof(list->files[0]), by_name);
}

void eng_file_list_free(struct eng_file_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->files[i].path);
        free(list->files[i].name);
    }
    free(list->files);
    list->files = NULL;
    list->count = 0;
    list->capacity = 0;
}

/* A size of innodb_data_file_path: digits with an optional K/M/G/T suffix;
 * without one the number is bytes (SysTablespace::parse_units()). */
static bool parse_size(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (!isdigit((unsigned char)*s))
        return false;
    while (isdigit((unsigned char)*s)) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    unsigned shift = 0;
    switch (*s) {
    case 'K': case 'k': shift = 10; s++; break;
    case 'M': case 'm': shift = 20; s++; break;
    case 'G': case 'g': shift = 30; s++; break;
    case 'T': case 't': shift = 40; s++; break;
    default: break;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return false;
    *out = v << shift;
    *p = s;
    return true;
}

static bool starts_with_word(const char *s, const char *word, const char **rest)
{
    size_t len = strlen(word);
    if (strncmp(s, word, len) != 0)
        return false;
    *rest = s + len;
    return true;
}

/* One "path:size[:autoextend[:max:size]]" or "path:size{newraw|raw}" entry. */
static bool parse_entry(const char *entry, struct eng_data_file *f)
{
    /* The path ends at the first ':' followed by a digit (the size). */
    const char *colon = entry;
    while ((colon = strchr(colon, ':')) && !isdigit((unsigned char)colon[1]))
        colon++;
    if (!colon || colon == entry || (size_t)(colon - entry) >= sizeof(f->path))
        return false;
    memset(f, 0, sizeof(*f));
    memcpy(f->path, entry, (size_t)(colon - entry));
    const char *p = colon + 1;
    if (!parse_size(&p, &f->size))
        return false;
    const char *rest;
    if (starts_with_word(p, "newraw", &rest) || starts_with_word(p, "raw", &rest)) {
        f->raw = true;
        p = rest;
    }
    if (starts_with_word(p, ":autoextend", &rest)) {
        f->autoextend = true;
        p = rest;
        if (starts_with_word(p, ":max:", &rest)) {
            p = rest;
            if (!parse_size(&p, &f->max_size))
                return false;
        }
    }
    return *p == '\0' && f->size > 0;
}

int eng_parse_data_file_path(const char *spec, struct eng_data_file **files, size_t *count,
                             struct ibs_err *err)
{
    char *copy = NULL, *save = NULL;
    struct eng_data_file *out = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    *files = NULL;
    *count = 0;
    if (!spec || !*spec)
        return ibs_err_set(err, IBS_E_SERVER, "innodb_data_file_path is empty");
    copy = strdup(spec);
    if (!copy)
        return ibs_err_set(err, IBS_E_INTERNAL, "discovery: out of memory");
    for (char *entry = strtok_r(copy, ";", &save); entry; entry = strtok_r(NULL, ";", &save)) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            struct eng_data_file *grown = realloc(out, cap * sizeof(*grown));
            if (!grown) {
                rc = ibs_err_set(err, IBS_E_INTERNAL, "discovery: out of memory");
                goto out;
            }
            out = grown;
        }
        if (n > 0 && out[n - 1].autoextend) {
            rc = ibs_err_set(err, IBS_E_SERVER,
                             "innodb_data_file_path '%s': only the last file may autoextend", spec);
            goto out;
        }
        if (!parse_entry(entry, &out[n])) {
            rc = ibs_err_set(err, IBS_E_SERVER,
                             "innodb_data_file_path '%s': cannot parse '%s' (expected "
                             "file:size[:autoextend[:max:size]])", spec, entry);
            goto out;
        }
        n++;
    }
    if (n == 0) {
        rc = ibs_err_set(err, IBS_E_SERVER, "innodb_data_file_path '%s' names no file", spec);
        goto out;
    }
    *files = out;
    *count = n;
    out = NULL;
out:
    free(out);
    free(copy);
    return rc;
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Server temporary files (#sql-...), left by ALTER TABLE or crashes. */
static bool is_temporary(const char *name)
{
    return strncmp(name, "#sql", 4) == 0;
}

/* backup_copy.cc's ext_list, plus db.opt by its extension. */
static const char *const other_suffixes[] = {
    ".frm", ".isl", ".MYD", ".MYI", ".MAD", ".MAI", ".MRG", ".TRG", ".TRN",
    ".ARM", ".ARZ", ".CSM", ".CSV", ".opt", ".par",
};

bool eng_other_file_wanted(const char *file_name)
{
    if (is_temporary(file_name))
        return false;
    for (size_t i = 0; i < sizeof(other_suffixes) / sizeof(other_suffixes[0]); i++)
        if (has_suffix(file_name, other_suffixes[i]))
            return true;
    return false;
}

bool eng_top_file_wanted(const char *file_name)
{
    if (strcmp(file_name, "aria_log_control") == 0)
        return true;
    /* aria_log.00000001: exactly eight digits. */
    if (strncmp(file_name, "aria_log.", 9) != 0 || strlen(file_name) != 17)
        return false;
    for (const char *p = file_name + 9; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

bool eng_database_dir_wanted(const char *dir_name)
{
    return dir_name[0] != '.' && dir_name[0] != '#' && strcmp(dir_name, "lost+found") != 0;
}

bool eng_ibd_file_wanted(const char *file_name)
{
    return has_suffix(file_name, ".ibd") && !is_temporary(file_name);
}

const char *eng_name_in_datadir(const char *datadir, const char *path)
{
    size_t len = strlen(datadir);
    while (len > 1 && datadir[len - 1] == '/')
        len--;
    if (strncmp(path, datadir, len) != 0 || path[len] != '/' || path[len + 1] == '\0')
        return NULL;
    return path + len + 1;
}
