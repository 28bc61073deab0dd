/* The manifest: the single description of a backup, written last. Its
 * presence in the repository is the commit point of a backup. It says what
 * server and LSN range the backup covers, and for every file where each of its
 * frames lies (pack number, offset and length), so restore can fetch frames in
 * parallel with ranged reads. Serialised as JSON (json-c). */
#ifndef IBS_ENGINE_MANIFEST_H
#define IBS_ENGINE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"

#define ENG_MANIFEST_FORMAT 1

/* One stored frame. */
struct eng_frame_ref {
    uint32_t pack;        /* object number in its series (data.NNNN / redo.NNNN) */
    uint64_t pack_offset; /* offset of the frame header in that object */
    uint32_t frame_len;   /* header + payload */
    uint64_t offset;      /* byte offset in the file, or first LSN for redo */
    uint32_t raw_len;     /* bytes the frame restores */
    uint64_t xxh3;        /* of the raw bytes (also in the frame header) */
    /* Page frames of an incremental (ENG_FRAME_PAGES): the page numbers they
     * hold, ascending, so a restore knows what later members supersede
     * without downloading. NULL for byte frames. */
    uint32_t *pages;
    uint32_t npages;
};

struct eng_frame_list {
    struct eng_frame_ref *refs;
    size_t count, cap;
};

enum eng_mfile_kind { ENG_MFILE_SYSTEM, ENG_MFILE_UNDO, ENG_MFILE_IBD, ENG_MFILE_OTHER };

struct eng_mfile {
    char *name; /* as in the data directory: "ibdata1", "db/t.ibd", or absolute */
    enum eng_mfile_kind kind;
    uint32_t space_id;
    uint32_t fsp_flags;
    uint32_t page_size; /* physical page size; 0 for non-InnoDB files */
    uint64_t size;      /* bytes the restored file has (beyond the last frame: zeros) */
    int64_t mtime;
    int64_t mtime_ns;       /* modification time in nanoseconds: change detection */
    uint64_t pages_copied;  /* pages stored (an incremental: pages newer than its base) */
    uint64_t pages_scanned; /* pages read */
    /* The backup whose data packs hold the frames: NULL for this backup; an
     * incremental names an earlier member for an unchanged non-InnoDB file. */
    char *source;
    struct eng_frame_list frames;
};

struct eng_pack_ref {
    char *key;
    uint64_t size;
};

struct eng_manifest {
    int format;
    char *id;
    char *type;                   /* "full" or "incremental" */
    char *parent;                 /* id of the base backup, NULL for a full */
    int64_t start_time, end_time; /* unix seconds */
    uint64_t duration_ms;

    /* server */
    char *server_version;
    char *hostname;
    unsigned server_id;
    char *datadir;
    uint32_t page_size;
    uint64_t log_file_size;
    char *data_file_path; /* innodb_data_file_path */
    unsigned undo_tablespaces;

    /* redo: the backup's log runs from checkpoint_lsn to end_lsn */
    uint64_t checkpoint_lsn;
    uint64_t checkpoint_end_lsn; /* where that checkpoint's FILE_CHECKPOINT group starts */
    /* An incremental whose log starts where its base ended, not at a server
     * checkpoint (checkpoint_lsn = checkpoint_end_lsn = that LSN): the log
     * has no FILE_CHECKPOINT group; writers of mariabackup's layout put one
     * before it (restore_delta.c). */
    bool log_resumed;
    uint64_t end_lsn;
    uint64_t to_lsn;     /* the server's checkpoint at BLOCK_COMMIT: next incremental's base */
    uint32_t log_format; /* on-disk format id of the server's ib_logfile0 */
    struct eng_frame_list redo;

    /* binlog coordinates taken under BACKUP STAGE BLOCK_COMMIT */
    bool binlog_enabled;
    char *binlog_file;
    uint64_t binlog_pos;
    char *gtid;

    /* objects */
    struct eng_pack_ref *data_packs;
    size_t data_pack_count;
    struct eng_pack_ref *redo_packs;
    size_t redo_pack_count;

    /* statistics */
    uint64_t bytes_read;
    uint64_t bytes_stored;

    struct eng_mfile *files;
    size_t file_count, file_cap;
};

/* Empty manifest with the format set. */
void eng_manifest_init(struct eng_manifest *m);
void eng_manifest_free(struct eng_manifest *m);

/* Appends a file (name copied); returns its index (the frames' file id) or -1. */
long eng_manifest_add_file(struct eng_manifest *m, const char *name, enum eng_mfile_kind kind);

/* Appends ref; the list takes ownership of ref->pages. */
int eng_frame_list_add(struct eng_frame_list *list, const struct eng_frame_ref *ref,
                       struct ibs_err *err);
void eng_frame_list_free(struct eng_frame_list *list);
/* Deep copy of src into an empty dst. */
int eng_frame_list_copy(struct eng_frame_list *dst, const struct eng_frame_list *src,
                        struct ibs_err *err);

/* Serialises to JSON; *out is malloc'd, NUL-terminated. */
int eng_manifest_to_json(const struct eng_manifest *m, char **out, size_t *len,
                         struct ibs_err *err);

/* Parses and validates JSON (any input: it is also a fuzz target). Unknown
 * newer formats, missing fields and inconsistent references are
 * IBS_E_INTEGRITY with the reason. */
int eng_manifest_parse(const char *json, size_t len, struct eng_manifest *m, struct ibs_err *err);

const char *eng_mfile_kind_name(enum eng_mfile_kind kind);

#endif
