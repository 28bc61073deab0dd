/* Oracle for redo apply: applies a raw mariadb-backup directory's ib_logfile0
 * to its data files with redo/ and compares every recovered page with the same
 * backup prepared by `mariadb-backup --prepare`.
 *
 * Usage: redo_oracle <raw-backup-dir> <work-dir> <prepared-dir> [batch-bytes]
 * work-dir must be a fresh copy of raw-backup-dir; it is modified (pages
 * written, files extended), as prepare would. With batch-bytes the records are
 * applied in batches whenever the collector holds more than that. Exit status
 * 0 when every written page equals the prepared one byte for byte. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redo/apply.h"
#include "redo/fsp.h"
#include "redo/log.h"
#include "redo/mtr.h"
#include "redo/page.h"
#include "redo/recv.h"

#define MAX_SPACES 4096

struct space {
    uint32_t id, flags;
    size_t ps;
    char rel[512]; /* path relative to the backup directory */
    int fd;        /* in work-dir */
};

static struct space spaces[MAX_SPACES];
static size_t n_spaces;
static const char *work_dir, *prep_dir;
static unsigned long long n_same, n_diff, n_freed, n_noop, n_missing, n_batch;
static FILE *touched_file; /* "space page batch outcome" per applied page */

static struct space *find_space(uint32_t id)
{
    for (size_t i = 0; i < n_spaces; i++)
        if (spaces[i].id == id)
            return &spaces[i];
    return NULL;
}

static void add_space(const char *rel)
{
    char path[1024];
    uint8_t p0[65536];
    snprintf(path, sizeof(path), "%s/%s", work_dir, rel);
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return;
    ssize_t n = pread(fd, p0, sizeof(p0), 0);
    if (n < 4096 || n_spaces == MAX_SPACES) {
        close(fd);
        return;
    }
    struct space *s = &spaces[n_spaces++];
    s->id = redo_mach_read_4(p0 + 38);
    s->flags = redo_mach_read_4(p0 + 54);
    s->ps = redo_fsp_flags_physical_size(s->flags);
    snprintf(s->rel, sizeof(s->rel), "%s", rel);
    s->fd = fd;
}

static void scan_dir(const char *sub)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", work_dir, sub);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char rel[600];
        size_t len = strlen(e->d_name);
        snprintf(rel, sizeof(rel), "%s%s%s", sub, *sub ? "/" : "", e->d_name);
        if (e->d_name[0] == '.')
            continue;
        if (e->d_type == DT_DIR && !*sub)
            scan_dir(e->d_name);
        else if ((len > 4 && !strcmp(e->d_name + len - 4, ".ibd")) ||
                 (!*sub && (!strcmp(e->d_name, "ibdata1") || !strncmp(e->d_name, "undo", 4))))
            add_space(rel);
    }
    closedir(d);
}

static int apply_batch(struct redo_recv *recv, struct ibs_err *err)
{
    struct redo_recv_page *const *pages;
    size_t n, ns;
    const struct redo_space_info *si = redo_recv_spaces(recv, &ns);
    uint8_t page[65536];

    /* Extend files to their logged FSP_SIZE first (extend_to_recv_size()). */
    for (size_t i = 0; i < ns; i++) {
        struct space *s = find_space(si[i].space_id);
        struct stat st;
        if (s && si[i].has_size && !fstat(s->fd, &st) &&
            (uint64_t)st.st_size < (uint64_t)si[i].size * s->ps)
            if (ftruncate(s->fd, (off_t)si[i].size * (off_t)s->ps))
                return ibs_err_set(err, IBS_E_IO, "cannot extend %s", s->rel);
    }
    if (redo_recv_pages(recv, &pages, &n, err))
        return err->code;
    for (size_t i = 0; i < n; i++) {
        const struct redo_recv_page *pg = pages[i];
        struct space *s = find_space(pg->space_id);
        if (!s) {
            n_missing++;
            continue;
        }
        off_t off = (off_t)pg->page_no * (off_t)s->ps;
        memset(page, 0, s->ps);
        if (!pg->init && pread(s->fd, page, s->ps, off) < 0)
            return ibs_err_set(err, IBS_E_IO, "read %s", s->rel);
        struct redo_apply_result res;
        int rc = redo_apply_page(pg, page, s->ps, s->flags, &res, err);
        if (rc)
            return rc;
        fprintf(touched_file, "%u %u %llu %d\n", pg->space_id, pg->page_no, n_batch,
                (int)res.outcome);
        if (res.outcome == REDO_APPLY_FREED) {
            n_freed++;
            continue;
        }
        if (res.outcome == REDO_APPLY_NOTHING) {
            n_noop++;
            continue;
        }
        if (pwrite(s->fd, page, s->ps, off) != (ssize_t)s->ps)
            return ibs_err_set(err, IBS_E_IO, "write %s", s->rel);
    }
    n_batch++;
    return 0;
}

/* Compares every page the log wrote (in any batch) with the prepared copy,
 * except pages whose last state is freed: their bytes are whatever an earlier
 * batch or the backup left, and the server never reads them. */
static void compare_one(uint32_t sid, uint32_t pno)
{
    uint8_t a[65536], b[65536];
    {
        struct space *s = find_space(sid);
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", prep_dir, s->rel);
        int fd = open(path, O_RDONLY);
        memset(a, 0, s->ps);
        memset(b, 0, s->ps);
        if (pread(s->fd, a, s->ps, (off_t)pno * (off_t)s->ps) < 0 ||
            pread(fd, b, s->ps, (off_t)pno * (off_t)s->ps) < 0)
            perror("pread");
        close(fd);
        if (!memcmp(a, b, s->ps)) {
            n_same++;
            /* The list of compared pages, for tests/oracle/redo_make_apply_fixture.py. */
            const char *list = getenv("REDO_ORACLE_PAGES");
            FILE *lf = list ? fopen(list, "a") : NULL;
            if (lf) {
                fprintf(lf, "%u %u %s %zu %u\n", sid, pno, s->rel, s->ps, s->flags);
                fclose(lf);
            }
        } else {
            size_t first = 0, cnt = 0;
            for (size_t k = 0; k < s->ps; k++)
                if (a[k] != b[k] && !cnt++)
                    first = k;
            if (++n_diff <= 20)
                printf("DIFF %u:%u type %u: %zu bytes differ, first at %zu (ours %02x, "
                       "prepared %02x)\n",
                       sid, pno, redo_mach_read_2(b + 24), cnt, first, a[first], b[first]);
        }
    }
}

static void compare_all(const char *touched_path)
{
    FILE *f = fopen(touched_path, "r");
    uint32_t sid, pno, last_sid = 0, last_pno = 0;
    unsigned long long batch;
    int outcome, last_outcome = -1, written = 0;
    while (f && fscanf(f, "%u %u %llu %d", &sid, &pno, &batch, &outcome) == 4) {
        if (last_outcome >= 0 && (sid != last_sid || pno != last_pno)) {
            if (last_outcome != REDO_APPLY_FREED && written)
                compare_one(last_sid, last_pno);
            written = 0;
        }
        written |= outcome == REDO_APPLY_WRITE;
        last_sid = sid;
        last_pno = pno;
        last_outcome = outcome;
    }
    if (last_outcome >= 0 && last_outcome != REDO_APPLY_FREED && written)
        compare_one(last_sid, last_pno);
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s raw-dir work-dir prepared-dir [batch-bytes]\n", argv[0]);
        return 2;
    }
    work_dir = argv[2];
    prep_dir = argv[3];
    size_t budget = argc > 4 ? strtoull(argv[4], NULL, 10) : (size_t)-1;
    struct ibs_err err = {0};
    char path[1024];
    snprintf(path, sizeof(path), "%s/ib_logfile0", argv[1]);
    FILE *lf = fopen(path, "rb");
    if (!lf)
        return perror(path), 1;
    fseek(lf, 0, SEEK_END);
    size_t len = (size_t)ftell(lf);
    fseek(lf, 0, SEEK_SET);
    uint8_t *log = malloc(len);
    if (fread(log, 1, len, lf) != len)
        return 1;
    fclose(lf);

    struct redo_log_header hdr;
    struct redo_checkpoint ck;
    struct redo_log_geom g;
    if (redo_log_header_parse(log, len, &hdr, &err) ||
        redo_log_find_checkpoint(log, len, hdr.first_lsn, &ck, &err) ||
        redo_log_geom_init(&g, &hdr, len, &err))
        goto fail;

    scan_dir("");
    struct space *sys = find_space(0);
    if (!sys)
        return fprintf(stderr, "no ibdata1\n"), 1;
    uint32_t page_size = redo_fsp_flags_logical_size(sys->flags);
    struct redo_recv *recv = redo_recv_new(page_size, &err);
    if (!recv)
        goto fail;

    char touched[1100];
    snprintf(touched, sizeof(touched), "%s/.redo_oracle_touched", work_dir);
    touched_file = fopen(touched, "w");
    uint64_t lsn = ck.checkpoint_lsn;
    size_t pos = redo_log_offset(&g, lsn);
    unsigned long long mtrs = 0, batches = 0;
    struct redo_mtr m;
    for (;;) {
        enum redo_mtr_status st = redo_mtr_scan(&g, log + pos, len - pos, lsn, &m);
        if (st != REDO_MTR_OK)
            break;
        if (redo_recv_add_mtr(recv, log + pos, &m, g.format, &err))
            goto fail;
        pos += m.len;
        lsn += m.len;
        mtrs++;
        if (redo_recv_mem_used(recv) > budget) {
            if (apply_batch(recv, &err))
                goto fail;
            redo_recv_clear_pages(recv);
            batches++;
        }
    }
    if (apply_batch(recv, &err))
        goto fail;
    batches++;
    fclose(touched_file);
    /* Group each page's lines, batches in order. */
    char cmd[2400];
    snprintf(cmd, sizeof(cmd), "sort -n -k1,1 -k2,2 -k3,3 -o %s %s", touched, touched);
    if (system(cmd))
        return 1;
    size_t nev;
    const struct redo_file_event *ev = redo_recv_file_events(recv, &nev);
    compare_all(touched);
    unlink(touched);
    printf("log %llu..%llu: %llu mtrs, %llu batches, %zu file events; pages: %llu identical, "
           "%llu different, %llu freed (not written), %llu already current, %llu without file\n",
           (unsigned long long)ck.checkpoint_lsn, (unsigned long long)lsn, mtrs, batches, nev,
           n_same, n_diff, n_freed, n_noop, n_missing);
    (void)ev;
    redo_recv_free(recv);
    free(log);
    for (size_t i = 0; i < n_spaces; i++)
        close(spaces[i].fd);
    return n_diff ? 1 : 0;
fail:
    fprintf(stderr, "redo_oracle: %s\n", err.msg);
    return 1;
}
