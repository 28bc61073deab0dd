#!/usr/bin/env bash
# prepare is idempotent: on a raw layout of a backup taken under writes, a
# second `ibstream prepare` says the directory is already prepared and leaves
# every file byte-identical; so does a prepare after `restore` (which
# prepares). A prepare that failed leaves the directory unprepared, and a
# later successful one gives the same bytes as a prepare that never failed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/invariants/bank.sh"
[[ -x "${IBSTREAM:-}" ]] || ibs_die "IBSTREAM is not set to the ibstream binary"
T=$IBS_TEST_TMPDIR

ibs_start_mariadb
bank_setup
: >"$T/workload.run"
bank_transfers 1 >"$T/transfers.log" 2>&1 &
w1=$!
bank_applog >"$T/applog.log" 2>&1 &
w2=$!
sleep 1
"$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$T/repo" --throttle 4 \
    >"$T/backup.out" 2>"$T/backup.err" || { cat "$T/backup.err" >&2; ibs_die "backup failed"; }
rm -f "$T/workload.run"
wait "$w1" && wait "$w2" || ibs_die "the workload failed"

snapshot() { # DIR: one line per file: sha256 and path (the whole tree)
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

"$IBSTREAM" restore --repo "$T/repo" --target "$T/raw" --no-prepare >/dev/null 2>"$T/restore.err" ||
    { cat "$T/restore.err" >&2; ibs_die "restore --no-prepare failed"; }
"$IBSTREAM" prepare --target "$T/raw" >"$T/prepare1.out" 2>&1 ||
    { cat "$T/prepare1.out" >&2; ibs_die "the first prepare failed"; }
grep -q '^prepared ' "$T/prepare1.out" || ibs_die "the first prepare did not say it prepared: $(cat "$T/prepare1.out")"
grep -q 'backup_type = log-applied' "$T/raw/xtrabackup_checkpoints" ||
    ibs_die "xtrabackup_checkpoints is not log-applied after prepare"
snapshot "$T/raw" >"$T/after1.sums"

"$IBSTREAM" prepare --target "$T/raw" >"$T/prepare2.out" 2>&1 ||
    { cat "$T/prepare2.out" >&2; ibs_die "the second prepare failed"; }
grep -q 'is already prepared' "$T/prepare2.out" ||
    ibs_die "the second prepare did not say the directory is already prepared: $(cat "$T/prepare2.out")"
snapshot "$T/raw" >"$T/after2.sums"
diff "$T/after1.sums" "$T/after2.sums" >&2 || ibs_die "the second prepare changed files (above)"
ibs_log "second prepare: '$(head -n 1 "$T/prepare2.out")'; $(wc -l <"$T/after1.sums") files unchanged"

# restore prepares; a prepare after it changes nothing either, and the result
# is the same bytes as restore --no-prepare + prepare (data files and log).
"$IBSTREAM" restore --repo "$T/repo" --target "$T/full" >"$T/restore-full.out" 2>&1 ||
    { cat "$T/restore-full.out" >&2; ibs_die "restore failed"; }
snapshot "$T/full" >"$T/full1.sums"
"$IBSTREAM" prepare --target "$T/full" >"$T/prepare3.out" 2>&1 || ibs_die "prepare after restore failed"
grep -q 'is already prepared' "$T/prepare3.out" || ibs_die "prepare after restore did not say already prepared"
snapshot "$T/full" | diff "$T/full1.sums" - >&2 || ibs_die "prepare after restore changed files (above)"
diff <(grep -E ' \./(ibdata1|undo[0-9]+|.*\.ibd|ib_logfile0)$' "$T/after1.sums") \
    <(grep -E ' \./(ibdata1|undo[0-9]+|.*\.ibd|ib_logfile0)$' "$T/full1.sums") >&2 ||
    ibs_die "restore (with prepare) and restore --no-prepare + prepare gave different data files (above)"

# A prepare that fails (the log cut short) must not mark the directory
# prepared; with the log whole again, prepare gives the same bytes.
"$IBSTREAM" restore --repo "$T/repo" --target "$T/cut" --no-prepare >/dev/null 2>&1 ||
    ibs_die "restore --no-prepare (cut) failed"
cp "$T/cut/ib_logfile0" "$T/logfile0.whole"
truncate -s $(($(stat -c %s "$T/cut/ib_logfile0") - 1000)) "$T/cut/ib_logfile0"
rc=0
"$IBSTREAM" prepare --target "$T/cut" >"$T/prepare-cut.out" 2>&1 || rc=$?
((rc == 12)) || { cat "$T/prepare-cut.out" >&2; ibs_die "prepare of a cut log exited $rc, expected 12"; }
grep -q 'backup_type = full-backuped' "$T/cut/xtrabackup_checkpoints" ||
    ibs_die "a failed prepare marked the directory prepared"
cp "$T/logfile0.whole" "$T/cut/ib_logfile0"
"$IBSTREAM" prepare --target "$T/cut" >/dev/null 2>&1 || ibs_die "prepare after the failed one failed"
diff <(grep -E ' \./(ibdata1|undo[0-9]+|.*\.ibd)$' "$T/after1.sums") \
    <(snapshot "$T/cut" | grep -E ' \./(ibdata1|undo[0-9]+|.*\.ibd)$') >&2 ||
    ibs_die "prepare after a failed prepare gave other data files than a clean prepare (above)"
ibs_log "idempotent: second prepare and prepare after restore changed nothing; a failed prepare left the directory unprepared"
