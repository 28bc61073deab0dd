/* The delta layout of an incremental chain (restore --no-prepare): the full's
 * raw layout in <target>/base and, for every later member, the directory
 * `mariabackup --prepare --incremental-dir` accepts, in
 * <target>/incremental/NNN-<id> (NNN = position in the chain, from 001):
 * <file>.delta/<file>.meta for every InnoDB file of the member (§5.9),
 * non-InnoDB files whole, the member's own copied log as ib_logfile0,
 * xtrabackup_checkpoints (backup_type = incremental), backup-my.cnf and
 * xtrabackup_binlog_info. No log is applied: mariabackup does that. */
#ifndef IBS_ENGINE_RESTORE_DELTA_H
#define IBS_ENGINE_RESTORE_DELTA_H

#include <stddef.h>

#include "common/err.h"
#include "engine/manifest.h"
#include "engine/restore.h"

#define ENG_RESTORE_DELTA_BASE "base"
#define ENG_RESTORE_DELTA_DIR "incremental"

/* Writes the delta directory of chain[1..count-1] under opts->target
 * (chain[0] is the full, oldest first; chain[k]'s from_lsn is chain[k-1]'s
 * to_lsn). Adds files, frames and bytes written to res. */
int eng_restore_deltas(const struct eng_restore_opts *opts, const struct eng_manifest *const *chain,
                       size_t count, struct eng_restore_result *res, struct ibs_err *err);

/* The to_lsn a member's xtrabackup_checkpoints gives (the next one's from_lsn). */
uint64_t eng_restore_to_lsn(const struct eng_manifest *m);

#endif
