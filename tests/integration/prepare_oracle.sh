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
#   compressed  ROW_FORMAT=COMPRESSED (KEY_BLOCK_SIZE 8 and 4): the server
#               logs changes to compressed pages as WRITE/MEMSET/MEMMOVE of
#               the compressed frame, never as EXTENDED records (which
#               ibstream refuses for such pages, redo/apply.c), so they prepare
#   ddl         CREATE, ALTER (in place and rebuild), RENAME, TRUNCATE, DROP
#               while the backup copies
#
# Differences accepted: none, when both prepare in one batch (checked: the
# test fails if mariabackup says "Multi-batch recovery needed"). Every page is
# compared, checksums and page LSNs included, with one exception: pages of
# PAGE_COMPRESSED=1 tablespaces, which mariabackup writes compressed and
# ibstream uncompressed (both valid, reference §3.5), are compared after
# decompressing mariabackup's (pagecmp.py --allow page-compressed; the count
# is printed). A third copy prepared by
# ibstream in 8 MiB batches must match too, except pages whose last record in
# the log is FREE_PAGE: recovery does not write those, so they keep whatever
# an earlier batch wrote, and that depends on the batch boundaries of each
# tool (pagecmp.py --allow freed-page; the count is printed). ib_logfile0 is
# not a tablespace and differs by design (creator "Backup ibstream" against
# "Backup 10.11.x"); its checkpoint LSN must be the same, which is checked.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

workload=${1:?usage: prepare_oracle.sh WORKLOAD [mysqld options...]}
shift
here="$(dirname "${BASH_SOURCE[0]}")"
wl="$here/invariants/oracle_$workload.sh"
[[ -f "$wl" ]] || ibs_die "no workload script $wl"
[[ -x "${IBSTREAM:-}" ]] || ibs_die "IBSTREAM is not set to the ibstream binary"
T=$IBS_TEST_TMPDIR

# On a failure after the backup, keep its repository for whoever looks into it
# (the temp dir goes away with the test).
keep_repo() {
    local dest="${IBS_BINARY_DIR:-${TMPDIR:-/tmp}}/prepare_oracle_failed/$workload.$(date +%Y%m%d-%H%M%S).$$"
    mkdir -p "$dest" && cp -a "$T/repo" "$dest/" && ibs_log "backup repository kept in $dest/repo"
}
fail() { keep_repo || true; ibs_die "$@"; }

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
# Bounded: a backup that cannot finish says where it stands (redo timeout)
# well before the test's own timeout.
timeout 200 "$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$T/repo" \
    --throttle 2 --redo-timeout 60 --log-level debug \
    >"$T/backup.log" 2>&1 || { tail -n 60 "$T/backup.log" >&2; ibs_die "backup failed"; }
rm -f "$T/workload.run"
wait "$wl_pid" || { tail -n 20 "$T/workload.log" >&2; ibs_die "the $workload workload failed"; }
ibs_log "workload $workload: $(tail -n 1 "$T/workload.log")"

# ref: mariabackup; cand: ibstream; multi: ibstream in many small batches.
for d in ref cand multi; do
    "$IBSTREAM" restore --repo "$T/repo" --target "$T/$d" --no-prepare >"$T/restore-$d.log" 2>&1 ||
        { cat "$T/restore-$d.log" >&2; fail "restore --no-prepare into $d failed"; }
done
cp "$T/cand/ib_logfile0" "$T/raw_logfile0"
log_lsn() { # the checkpoint LSN of a prepared ib_logfile0 (header block 1, offset 4096)
    od -An -tu8 --endian=big -j 4096 -N 8 "$1/ib_logfile0" | tr -d ' '
}
last_lsn=$(awk '$1 == "last_lsn" { print $3 }' "$T/ref/xtrabackup_checkpoints")
log_bytes=$(($(stat -c %s "$T/ref/ib_logfile0") - 12288))
ibs_log "backup: end LSN $last_lsn, ib_logfile0 holds $log_bytes bytes of log"
((log_bytes > 1000000)) || fail "the backup holds little redo: the workload did not overlap it"

# One batch on both sides (enough memory for the whole log), so that even
# pages freed at the end hold the same bytes (see pagecmp.py --allow).
mariabackup --prepare --use-memory=512M --target-dir="$T/ref" >"$T/mariabackup.log" 2>&1 ||
    { tail -n 30 "$T/mariabackup.log" >&2; fail "mariabackup --prepare failed on the raw layout"; }
! grep -q 'Multi-batch recovery needed' "$T/mariabackup.log" ||
    fail "mariabackup --prepare needed several batches: make the workload lighter"

"$IBSTREAM" prepare --target "$T/cand" >"$T/prepare.log" 2>&1 ||
    { cat "$T/prepare.log" >&2; fail "ibstream prepare failed"; }
ibs_log "$(head -n 1 "$T/prepare.log")"

python3 "$here/pagecmp.py" --label "$workload" --allow page-compressed "$T/ref" "$T/cand" | tee "$T/pagecmp.log" ||
    fail "pages prepared by ibstream differ from mariabackup's (see above)"
grep -Eq "pagecmp $workload: [0-9]+ files, [1-9][0-9]* pages compared" "$T/pagecmp.log" ||
    fail "pagecmp compared no pages"
[[ "$(log_lsn "$T/ref")" == "$(log_lsn "$T/cand")" ]] ||
    fail "prepared ib_logfile0 checkpoint LSN: mariabackup $(log_lsn "$T/ref"), ibstream $(log_lsn "$T/cand")"

# Many batches (8 MiB of records each): every page must still be equal,
# except pages the log frees at the end, whose bytes depend on the batches.
"$IBSTREAM" prepare --target "$T/multi" --use-memory 8M >"$T/prepare-multi.log" 2>&1 ||
    { cat "$T/prepare-multi.log" >&2; fail "ibstream prepare --use-memory 8M failed"; }
python3 "$here/pagecmp.py" --label "$workload-multibatch" --allow freed-page --allow page-compressed \
    --freed-log "$T/raw_logfile0" "$T/ref" "$T/multi" | tee "$T/pagecmp-multi.log" ||
    fail "pages prepared by ibstream in small batches differ from mariabackup's (see above)"
ibs_log "oracle $workload: every page equal; ib_logfile0 checkpoint LSN $(log_lsn "$T/cand") in both"
