/* Private to engine/: the tablespaces of a raw backup directory, found by
 * reading page 0 of every InnoDB file, and the page I/O prepare does on them. */
#ifndef IBS_ENGINE_PREPARE_SPACES_H
#define IBS_ENGINE_PREPARE_SPACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct prep_file {
    char *path;          /* absolute */
    char *name;          /* relative to the target: "ibdata1", "db/t.ibd" */
    uint32_t space_id;
    bool space_known;    /* page 0 was readable (or the log named the file) */
    uint32_t flags;
    uint32_t page_size;  /* physical */
    uint32_t first_page; /* ibdata2... continue ibdata1's page numbers */
    uint32_t pages;      /* pages in this file of a multi-file system tablespace; 0 = open-ended */
    int fd;
};

struct prep_spaces {
    struct prep_file *files;
    size_t count, cap;
    uint32_t server_page_size;
};

int prep_spaces_scan(const char *target, uint32_t server_page_size, struct prep_spaces *sp,
                     struct ibs_err *err);
void prep_spaces_free(struct prep_spaces *sp);

/* The file holding page_no of space_id, or NULL (a tablespace not in the backup). */
struct prep_file *prep_spaces_find(struct prep_spaces *sp, uint32_t space_id, uint32_t page_no);
/* By name as the log spells it ("./db/t.ibd" or absolute). */
struct prep_file *prep_spaces_find_name(struct prep_spaces *sp, const char *log_name);

/* Reads a page (zeros beyond the end of the file). */
int prep_read_page(struct prep_file *f, uint32_t page_no, uint8_t *page, struct ibs_err *err);
int prep_write_page(struct prep_file *f, uint32_t page_no, const uint8_t *page,
                    struct ibs_err *err);
/* Deallocates a page (a hole reading as zeros; zeros written where the file
 * system cannot punch holes). */
int prep_punch_page(struct prep_file *f, uint32_t page_no, struct ibs_err *err);

#endif
