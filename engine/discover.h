/* Discovery of the files a backup copies: the InnoDB tablespaces (system,
 * undo, file-per-table, including those in DATA DIRECTORY locations) and the
 * non-InnoDB files copied whole (.frm, MyISAM, Aria, CSV, ...), with the name
 * each file gets in the backup. */
#ifndef IBS_ENGINE_DISCOVER_H
#define IBS_ENGINE_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/server.h"

enum eng_file_kind {
    ENG_FILE_SYSTEM, /* ibdata*: the system tablespace, space 0 */
    ENG_FILE_UNDO,   /* undo001...: undo tablespaces */
    ENG_FILE_IBD,    /* file-per-table tablespaces */
    ENG_FILE_OTHER,  /* non-InnoDB, copied whole */
};

struct eng_file {
    char *path; /* absolute path on this host */
    /* Name in the backup: relative to the datadir ("ibdata1", "undo001",
     * "db/t.ibd", "db/t.frm", "aria_log_control"). A DATA DIRECTORY
     * tablespace keeps its absolute path as the server spells it. System and
     * undo files outside the datadir are named by their file name, as
     * mariabackup does: restore puts them where the settings say. */
    char *name;
    enum eng_file_kind kind;
    uint32_t space_id; /* from information_schema or page 0 where known, else 0; system = 0 */
    uint64_t size;
};

/* Owns files and the strings of each. Zero-initialise before use. */
struct eng_file_list {
    struct eng_file *files;
    size_t count;
    size_t capacity; /* allocated entries of files */
};

/* Appends a copy of path and name. */
int eng_file_list_add(struct eng_file_list *list, const char *path, const char *name,
                      enum eng_file_kind kind, uint32_t space_id, uint64_t size, struct ibs_err *err);

/* The file named name, or NULL. */
const struct eng_file *eng_file_list_find(const struct eng_file_list *list, const char *name);

/* Sorts by name (backups list files in a stable order). */
void eng_file_list_sort(struct eng_file_list *list);

/* Frees the files and empties the list; NULL is a no-op. */
void eng_file_list_free(struct eng_file_list *list);

/* InnoDB files: the system tablespace files of innodb_data_file_path, the undo
 * tablespaces (undo001... in innodb_undo_directory) and every file-per-table
 * .ibd: those information_schema.INNODB_SYS_TABLESPACES lists (with their
 * space ids and DATA DIRECTORY paths) and any other .ibd in the datadir's
 * database directories (space id from page 0). Partitions (t#P#p0.ibd) are
 * included; ibtmp1 and '#sql' temporary files are skipped. Appends to out,
 * then sorts it by name; the caller frees out, also on failure. */
int eng_discover_innodb(struct eng_server *s, const struct eng_server_info *info,
                        struct eng_file_list *out, struct ibs_err *err);

/* Non-InnoDB files copied whole, as mariabackup's backup_files() chooses them:
 * in each database directory .frm .par .opt .TRG .TRN .isl .MYD .MYI .MRG .ARM
 * .ARZ .CSM .CSV .MAD .MAI files (not '#sql' ones); in the datadir itself
 * aria_log_control and aria_log.NNNNNNNN and nothing else (not ib_logfile*,
 * ibtmp1, binlogs, relay logs, *.pid, *.err, sockets, ib_buffer_pool,
 * ddl_recovery.log). performance_schema has only db.opt on disk. Unreadable
 * datadir: IBS_E_IO naming the path and the fix. Appends to out, then sorts
 * it by name; the caller frees out, also on failure. */
int eng_discover_other(const struct eng_server_info *info, struct eng_file_list *out,
                       struct ibs_err *err);

/* --- the pure rules, public for tests --- */

/* One file of innodb_data_file_path. */
struct eng_data_file {
    char path[4096];   /* as written in the setting */
    uint64_t size;     /* bytes */
    bool autoextend;
    uint64_t max_size; /* 0: no limit */
    bool raw;          /* newraw/raw: a raw device */
};

/* Parses innodb_data_file_path ("ibdata1:12M;ibdata2:50M:autoextend:max:1G";
 * sizes in bytes or with K, M, G, T suffixes). Only the last file may
 * autoextend. *files is malloc'ed (free()); IBS_E_SERVER on a malformed value. */
int eng_parse_data_file_path(const char *spec, struct eng_data_file **files, size_t *count,
                             struct ibs_err *err);

/* A file in a database directory that is copied whole (by its extension). */
bool eng_other_file_wanted(const char *file_name);

/* A file directly in the datadir that is copied whole (the Aria logs). */
bool eng_top_file_wanted(const char *file_name);

/* A datadir subdirectory that may be a database (not lost+found, hidden or
 * '#' directories such as #rocksdb). */
bool eng_database_dir_wanted(const char *dir_name);

/* A file-per-table tablespace file worth copying (".ibd", not '#sql'). */
bool eng_ibd_file_wanted(const char *file_name);

/* Called by eng_scan_datadir for each regular file (symlinks followed): db is
 * the database directory's name, or NULL for a file directly in the datadir.
 * A non-zero return stops the scan and is returned. */
struct stat;
typedef int (*eng_scan_fn)(void *ctx, const char *db, const char *file_name, const char *path,
                           const struct stat *st, struct ibs_err *err);

/* Visits the regular files of datadir and of its database directories
 * (eng_database_dir_wanted, one level deep), skipping the directories in
 * skip_dirs (absolute, NULL-terminated; e.g. a binlog directory inside the
 * datadir). Files that vanish meanwhile are skipped. An unreadable directory:
 * IBS_E_IO naming it and the fix. */
int eng_scan_datadir(const char *datadir, const char *const *skip_dirs, eng_scan_fn fn, void *ctx,
                     struct ibs_err *err);

/* The backup name of path: relative to datadir if inside it, else NULL
 * (the caller decides). Points into path. */
const char *eng_name_in_datadir(const char *datadir, const char *path);

#endif
