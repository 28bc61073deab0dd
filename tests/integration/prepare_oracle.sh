#!/usr/bin/env bash
# Oracle for prepare: a hot backup taken while a workload writes is restored
# raw (--no-prepare) twice; one copy is prepared by `mariabackup --prepare`,
# the other by `ibstream prepare`, and every page of every tablespace file
# (ibdata1, undo*, *.ibd) must be byte-for-byte equal (pagecmp.py).
#
#   prepare_oracle.sh WORKLOAD [mysqld options...]
#
# WORKLOAD (invariants/oracle_<WORKLOAD>.sh sets it up and runs it):
#   sysbench    sysbench oltp_write_only, 4 tables x 10000 rows, 4 threads
#   dml         bulk INSERT ... SELECT (with off-page BLOBs), updates of
#               secondary-index columns, DELETEs that empty most pages
#   formats     the same on ROW_FORMAT=REDUNDANT, COMPACT and PAGE_COMPRESSED
#               tables
#   compressed  ROW_FORMAT=COMPRESSED: ibstream prepare does not apply
#               EXTENDED records to compressed pages (redo/apply.c); the test
#               asserts the clear error (exit 12, naming the record and page)
#               and that mariabackup prepares the same backup
#   ddl         CREATE, ALTER (in place and rebuild), RENAME, TRUNCATE, DROP
#               while the backup copies
#
# Differences accepted: none. Every page compared, including checksums, the
# page LSN and ibdata1's page 0 (whose FIL_PAGE_FILE_FLUSH_LSN mariabackup
# does not write on --prepare either). ib_logfile0 is not a tablespace and
# differs by design (mariabackup writes "Backup 10.11.x" as the creator and we
# "Backup ibstream"; the checkpoint LSN is the same, which is checked).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

workload=${1:?usage: prepare_oracle.sh WORKLOAD [mysqld options...]}
shift
here="$(dirname "${BASH_SOURCE[0]}")"
wl="$here/invariants/oracle_$workload.sh"
[[ -f "$wl" ]] || ibs_die "no workload script $wl"
[[ -x "${IBSTREAM:-}" ]] || ibs_die "IBSTREAM is not set to the ibstream binary"
T=$IBS_TEST_TMPDIR

ibs_start_mariadb "$@"
# shellcheck source=/dev/null
. "$wl"
oracle_setup

# The workload writes from before the copy starts until after it ends; the
# throttle stretches the copy of the ~30 MB datadir over several seconds.
: >"$T/workload.run"
oracle_run >"$T/workload.log" 2>&1 &
wl_pid=$!
sleep 2
"$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$T/repo" --throttle 2 \
    >"$T/backup.log" 2>&1 || { cat "$T/backup.log" >&2; ibs_die "backup failed"; }
rm -f "$T/workload.run"
wait "$wl_pid" || { tail -n 20 "$T/workload.log" >&2; ibs_die "the $workload workload failed"; }
ibs_log "workload $workload: $(tail -n 1 "$T/workload.log")"

for d in ref cand; do
    "$IBSTREAM" restore --repo "$T/repo" --target "$T/$d" --no-prepare >"$T/restore-$d.log" 2>&1 ||
        { cat "$T/restore-$d.log" >&2; ibs_die "restore --no-prepare into $d failed"; }
done
log_lsn() { # the checkpoint LSN of a prepared ib_logfile0 (header block 1, offset 4096+0)
    od -An -tu8 --endian=big -j 4096 -N 8 "$1/ib_logfile0" | tr -d ' '
}
last_lsn=$(awk '$1 == "last_lsn" { print $3 }' "$T/ref/xtrabackup_checkpoints")
log_bytes=$(( $(stat -c %s "$T/ref/ib_logfile0") - 12288 ))
ibs_log "backup: end LSN $last_lsn, ib_logfile0 holds $log_bytes bytes of log"
((log_bytes > 1000000)) || ibs_die "the backup holds little redo: the workload did not overlap it"

mariabackup --prepare --target-dir="$T/ref" >"$T/mariabackup.log" 2>&1 ||
    { tail -n 30 "$T/mariabackup.log" >&2; ibs_die "mariabackup --prepare failed on the raw layout"; }

if [[ "$workload" == compressed ]]; then
    rc=0
    "$IBSTREAM" prepare --target "$T/cand" >"$T/prepare.log" 2>&1 || rc=$?
    cat "$T/prepare.log" >&2
    ((rc == 12)) || ibs_die "ibstream prepare on ROW_FORMAT=COMPRESSED changes exited $rc, expected 12"
    grep -q 'EXTENDED records on ROW_FORMAT=COMPRESSED pages are not supported' "$T/prepare.log" ||
        ibs_die "ibstream prepare did not say why it refused the compressed pages"
    grep -Eq 'LSN [0-9]+ for page [0-9]+:[0-9]+' "$T/prepare.log" ||
        ibs_die "the refusal does not name the LSN and the page"
    grep -q 'backup_type = full-backuped' "$T/cand/xtrabackup_checkpoints" ||
        ibs_die "a failed prepare marked the directory prepared"
    ibs_log "compressed: ibstream prepare refused as documented; mariabackup prepared it"
    exit 0
fi

"$IBSTREAM" prepare --target "$T/cand" >"$T/prepare.log" 2>&1 ||
    { cat "$T/prepare.log" >&2; ibs_die "ibstream prepare failed"; }
ibs_log "$(head -n 1 "$T/prepare.log")"

python3 "$here/pagecmp.py" --label "$workload" "$T/ref" "$T/cand" | tee "$T/pagecmp.log" ||
    ibs_die "pages prepared by ibstream differ from mariabackup's (see above)"
grep -Eq "pagecmp $workload: [0-9]+ files, [1-9][0-9]* pages compared" "$T/pagecmp.log" ||
    ibs_die "pagecmp compared no pages"

[[ "$(log_lsn "$T/ref")" == "$(log_lsn "$T/cand")" ]] ||
    ibs_die "prepared ib_logfile0 checkpoint LSN: mariabackup $(log_lsn "$T/ref"), ibstream $(log_lsn "$T/cand")"
ibs_log "oracle $workload: every page equal; ib_logfile0 checkpoint LSN $(log_lsn "$T/cand") in both"
