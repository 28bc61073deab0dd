#!/usr/bin/env bash
# A redo log too small for the writes during a slow backup: the server
# overwrites log the backup has not copied yet. The backup must fail with
# exit 12, say so with the figures and the fix, and list nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workload/backup_lib.sh"
WL="$(dirname "$0")/workload/write_load.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR
# 4 MiB is innodb_log_file_size's minimum on 10.11 (a smaller value is raised to it).
ibs_start_mariadb --innodb-log-file-size=4M
[[ $(ibs_sql "SELECT @@innodb_log_file_size") == 4194304 ]] || ibs_die "innodb_log_file_size is not 4M"
ibs_sql "CREATE DATABASE d; CREATE TABLE d.fill (id INT PRIMARY KEY, b BLOB) ENGINE=InnoDB;
    INSERT INTO d.fill SELECT seq, RANDOM_BYTES(4000) FROM d.seq_1_to_5000"
"$WL" init --socket "$IBS_TEST_MYSQL_SOCKET" --db wl
bt_checkpoint
# Large rows from four clients: several MB of redo a second against a 4 MiB
# log. The tailer keeps up with that on its own, so the backup process is
# stopped (SIGSTOP, as a starved or swapped-out process would be) until the
# server has written STALL_LAPS times the log's size, then continued: the log
# it had not copied is gone, and the backup must notice. Two laps and more
# matter most: log two laps newer carries the same sequence bit as the log it
# replaced and would pass the mini-transaction checks.
"$WL" run --socket "$IBS_TEST_MYSQL_SOCKET" --db wl --clients 4 --seconds 120 --pad 6000 \
    --stop-file "$T/stop" &
wl=$!
REPO=$T/repo
lsn() { ibs_sql "SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'INNODB_LSN_CURRENT'"; }
log_size=4194304
for STALL_LAPS in 3 1; do
    # --throttle 1: the page copy of the ~25 MB datadir takes long enough.
    "$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$REPO" --throttle 1 \
        >"$T/b.out" 2>"$T/b.err" &
    bk=$!
    # Under these writes the log may be overwritten before the copy has caught
    # up from the checkpoint, with no stall: that must fail the same way.
    how="failed before the stall"
    sleep 2
    if kill -STOP "$bk" 2>/dev/null; then
        how="a stall of $STALL_LAPS laps"
        from=$(lsn)
        for ((i = 0; i < 600; i++)); do
            (( $(lsn) - from > STALL_LAPS * log_size + log_size / 2 )) && break
            sleep 0.1
        done
        (( $(lsn) - from > STALL_LAPS * log_size )) || { kill -CONT "$bk"; ibs_die "the server wrote less than $STALL_LAPS laps of log in 60 s"; }
        kill -CONT "$bk"
    fi
    set +e
    for ((i = 0; i < 1500; i++)); do
        kill -0 "$bk" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$bk" 2>/dev/null && { kill -KILL "$bk"; ibs_die "the backup did not end within 150 s of the stall"; }
    wait "$bk"
    rc=$?
    set -e
    cat "$T/b.err" >&2
    ((rc == 12)) || ibs_die "backup exited with $rc, want 12 (redo log overwritten)"
    errs=$(grep -c '^ibstream: error:' "$T/b.err" || true)
    ((errs == 1)) || ibs_die "$errs error lines, want 1"
    line=$(grep '^ibstream: error:' "$T/b.err")
    grep -qi 'overwr' <<<"$line" || ibs_die "the error does not say the redo log was overwritten"
    grep -q 'innodb_log_file_size' <<<"$line" || ibs_die "the error does not name innodb_log_file_size as the fix"
    grep -Eq '[0-9]{4,}' <<<"$line" || ibs_die "the error gives no figures (LSNs or sizes)"
    left=$(find "$REPO" -name manifest 2>/dev/null || true)
    [[ -z "$left" ]] || ibs_die "a manifest was left: $left"
    left=$(find "$REPO/backups" -mindepth 1 2>/dev/null | head -3 || true)
    [[ -z "$left" ]] || ibs_die "the failed backup left files: $left"
    ! grep -q ' complete: ' "$T/b.out" || ibs_die "a failed backup printed a completion line"
    ibs_log "OK: $how: exit 12; $line"
done
touch "$T/stop"
wait "$wl" || ibs_die "the workload failed"
