#!/usr/bin/env bash
# Backups killed with SIGKILL at random moments while a workload writes: after
# each kill `ibstream cleanup --older-than 0` leaves no incomplete backup and
# no temporary upload in the repository, the server holds no backup lock (a
# BACKUP STAGE START of our own succeeds), and the complete backups stay
# intact. At the end a new backup verifies and restores to a server whose
# tables check clean and whose workload invariant holds.
#
# IBS_FAULT_KILLS (default 5) kills; IBS_FAULT_SEED picks the moments
# (default: random, printed so a run can be repeated).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workload/backup_lib.sh"
WL="$(dirname "$0")/workload/write_load.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR
kills=${IBS_FAULT_KILLS:-5}
seed=${IBS_FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
ibs_log "fault_kill: $kills kills, IBS_FAULT_SEED=$seed"

ibs_start_mariadb
REPO=$T/repo
# Throttled so a backup lasts a few seconds and the kills land in every phase.
BACKUP=(backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$REPO" --throttle 8)

ibs_sql "CREATE DATABASE d;
    CREATE TABLE d.big (id INT PRIMARY KEY, b BLOB) ENGINE=InnoDB;
    INSERT INTO d.big SELECT seq, RANDOM_BYTES(2000) FROM d.seq_1_to_8000;
    CREATE TABLE d.my (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=MyISAM;
    INSERT INTO d.my SELECT seq, CONCAT('v', seq) FROM d.seq_1_to_2000"
"$WL" init --socket "$IBS_TEST_MYSQL_SOCKET" --db wl
bt_checkpoint
"$WL" run --socket "$IBS_TEST_MYSQL_SOCKET" --db wl --clients 2 --seconds 900 --nontx \
    --stop-file "$T/stop" >"$T/wl.log" 2>&1 &
wl=$!

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# check_repo WHEN: what must hold after a cleanup.
check_repo() {
    local when=$1 tmp dir json
    tmp=$(find "$REPO/.ibstream-tmp" -type f 2>/dev/null | head -n 5)
    [[ -z "$tmp" ]] || ibs_die "$when: temporary uploads left under .ibstream-tmp: $tmp"
    for dir in "$REPO"/backups/*/; do
        [[ -d "$dir" ]] || continue
        [[ -f "$dir/manifest" ]] || ibs_die "$when: backup directory without a manifest: $dir ($(ls -A "$dir"))"
    done
    json=$("$IBSTREAM" list --repo "$REPO" --all --json) || ibs_die "$when: list --all failed"
    python3 -c '
import json, sys
bad = [b for b in json.load(sys.stdin)["backups"] if b.get("status") != "complete"]
sys.exit("not complete: %s" % bad if bad else 0)' <<<"$json" || ibs_die "$when: list --all shows an incomplete backup"
}

# check_server WHEN: the killed run's session is gone and no backup lock is held.
check_server() {
    local when=$1 n i
    for ((i = 0; i < 150; i++)); do
        n=$(ibs_sql "SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'ibstream'")
        ((n == 0)) && break
        sleep 0.2
    done
    ((n == 0)) || ibs_die "$when: the killed backup's session is still on the server after 30 s"
    ibs_sql "SET SESSION lock_wait_timeout = 20; BACKUP STAGE START; BACKUP STAGE FLUSH;
        BACKUP STAGE BLOCK_DDL; BACKUP STAGE BLOCK_COMMIT; BACKUP STAGE END" ||
        ibs_die "$when: BACKUP STAGE START/END of our own failed: a backup lock is still held"
}

# A complete backup first: its length spreads the kills, and it must survive them.
t0=$(now_ms)
"$IBSTREAM" "${BACKUP[@]}" >"$T/first.out" 2>"$T/first.err" || {
    cat "$T/first.err" >&2
    ibs_die "the first backup failed"
}
dur=$(($(now_ms) - t0))
first=$(sed -n 's/^backup \([^ ]*\) complete: .*/\1/p' "$T/first.out")
[[ -n "$first" ]] || ibs_die "no summary line from the first backup"
ibs_log "first backup $first took $dur ms"

killed=0 finished=0
for ((k = 1; k <= kills; k++)); do
    # A moment in [2%, 85%] of the first backup's length (later ones can be
    # quicker: a backup that ends first is counted, not killed).
    at=$((dur * (2 + RANDOM % 84) / 100))
    "$IBSTREAM" "${BACKUP[@]}" >"$T/kill$k.out" 2>"$T/kill$k.err" &
    pid=$!
    sleep "$(printf '%d.%03d' $((at / 1000)) $((at % 1000)))"
    if kill -KILL "$pid" 2>/dev/null; then
        rc=0
        wait "$pid" || rc=$?
        if ((rc == 137)); then
            killed=$((killed + 1))
            ibs_log "kill $k: SIGKILL at $at ms ($(tail -n 1 "$T/kill$k.err" | cut -c1-120))"
        else
            finished=$((finished + 1))
            ibs_log "kill $k: the backup ended (exit $rc) before SIGKILL at $at ms"
            ((rc == 0)) || { cat "$T/kill$k.err" >&2; ibs_die "kill $k: backup failed with $rc before the kill"; }
        fi
    else
        rc=0
        wait "$pid" || rc=$?
        ((rc == 0)) || { cat "$T/kill$k.err" >&2; ibs_die "kill $k: backup failed with $rc"; }
        finished=$((finished + 1))
        ibs_log "kill $k: the backup had finished before $at ms"
    fi
    check_server "after kill $k"
    "$IBSTREAM" cleanup --repo "$REPO" --older-than 0 >"$T/cleanup$k.out" 2>&1 || {
        cat "$T/cleanup$k.out" >&2
        ibs_die "cleanup after kill $k failed"
    }
    check_repo "after kill $k"
done

((kills < 3 || killed > 0)) || ibs_die "no backup was killed: every one ended before its moment"

# Every backup that completed is still intact; a new one works end to end.
"$IBSTREAM" "${BACKUP[@]}" >"$T/last.out" 2>"$T/last.err" || {
    cat "$T/last.err" >&2
    ibs_die "the backup after $killed kills failed"
}
last=$(sed -n 's/^backup \([^ ]*\) complete: .*/\1/p' "$T/last.out")
touch "$T/stop"
wait "$wl" || { cat "$T/wl.log" >&2; ibs_die "the workload failed"; }
"$IBSTREAM" verify --repo "$REPO" --all >"$T/verify.out" 2>&1 || {
    cat "$T/verify.out" >&2
    ibs_die "verify --all failed after the kills"
}
"$IBSTREAM" restore --repo "$REPO" --backup "$last" --target "$T/restored" >"$T/restore.out" 2>&1 || {
    cat "$T/restore.out" >&2
    ibs_die "restore of $last failed"
}
ibs_start_mariadb_on "$T/restored"
out=$(ibs_sql_on restored "CHECK TABLE d.big, d.my, wl.wl_acct, wl.wl_hist, wl.wl_myisam, wl.wl_aria")
! grep -qv $'\tstatus\tOK$' <<<"$out" || ibs_die "CHECK TABLE on the restored server: $out"
"$WL" check --socket "$IBS_TEST_RESTORED_MYSQL_SOCKET" --db wl || ibs_die "workload invariant broken"
[[ $(ibs_sql_on restored "SELECT COUNT(*) FROM d.big") == 8000 ]] || ibs_die "d.big lost rows"
complete=$(find "$REPO/backups" -name manifest | wc -l)
ibs_log "OK: $killed backups killed, $finished finished first; cleanup left $complete complete backups and nothing else; $last restored and checked (IBS_FAULT_SEED=$seed)"
