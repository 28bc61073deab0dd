#!/usr/bin/env bash
# Backup and restore through tests/faultproxy/faultproxy.py in front of the S3
# emulator, 20% of requests failing (500, 503 SlowDown, connection resets,
# stalls): a full backup under load and an incremental after the writes
# stopped both complete, the chain restores, and the restored server's
# CHECKSUM TABLE equals the quiesced source's. Only complete backups are left
# in the bucket. The proxy's count of faults injected is printed.
#
# IBS_FAULT_RATE (default 0.2), IBS_FAULT_SEED (default: random, printed),
# IBS_FAULT_STALL_SECONDS (default 1).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workload/backup_lib.sh"
WL="$(dirname "$0")/workload/write_load.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR
rate=${IBS_FAULT_RATE:-0.2}
seed=${IBS_FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
# A stall holds a request this long, then drops it (longer than 30 s also
# exercises the client's low-speed timeout; short keeps the test quick).
stall=${IBS_FAULT_STALL_SECONDS:-1}
ibs_start_s3
ibs_start_mariadb

# The proxy, stopped by the harness if the test dies; stopped here (SIGTERM:
# it prints its summary) when the test ends well. Its output files exist
# before it starts: the redirections happen in the child, maybe after our
# first look.
: >"$T/proxy.out"
: >"$T/proxy.err"
setsid python3 "$IBS_SOURCE_DIR/tests/faultproxy/faultproxy.py" --upstream "$IBS_TEST_S3_ENDPOINT" \
    --port 0 --fault-rate "$rate" --seed "$seed" --faults 500,503,reset,stall --stall-seconds "$stall" \
    </dev/null >"$T/proxy.out" 2>"$T/proxy.err" &
proxy=$!
ibs__register faultproxy faultproxy "$proxy"
for ((i = 0; i < 300; i++)); do
    port=$(awk '$1 == "ready" { print $2; exit }' "$T/proxy.out")
    [[ -n "$port" ]] && break
    kill -0 "$proxy" 2>/dev/null || break
    sleep 0.1
done
[[ -n "$port" ]] || { cat "$T/proxy.err" >&2; ibs_die "faultproxy did not start"; }
ibs_log "faultproxy on port $port: fault rate $rate, IBS_FAULT_SEED=$seed"

REPO=s3://$IBS_TEST_S3_BUCKET/faults
# Retries enough for a 20% fault rate: 30 attempts all failing is 0.2^30.
S3=(--s3-endpoint "http://127.0.0.1:$port" --s3-part-size 5M --s3-retries 30)

ibs_sql "CREATE DATABASE d;
    CREATE TABLE d.big (id INT PRIMARY KEY, b BLOB) ENGINE=InnoDB;
    INSERT INTO d.big SELECT seq, RANDOM_BYTES(2000) FROM d.seq_1_to_8000;
    CREATE TABLE d.my (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=MyISAM;
    INSERT INTO d.my SELECT seq, CONCAT('v', seq) FROM d.seq_1_to_2000"
"$WL" init --socket "$IBS_TEST_MYSQL_SOCKET" --db wl
bt_checkpoint
"$WL" run --socket "$IBS_TEST_MYSQL_SOCKET" --db wl --clients 2 --seconds 600 --nontx \
    --stop-file "$T/stop" >"$T/wl.log" 2>&1 &
wl=$!
sleep 1

# backup_through_faults NAME ARGS...: one backup; prints its id.
backup_through_faults() {
    local name=$1 rc=0 id
    shift
    "$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$REPO" "${S3[@]}" "$@" \
        >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    ((rc == 0)) || { tail -n 30 "$T/$name.err" >&2; ibs_die "$name backup through faults exited with $rc"; }
    id=$(sed -n 's/^backup \([^ ]*\) complete: .*/\1/p' "$T/$name.out")
    [[ -n "$id" ]] || ibs_die "$name backup: no summary line"
    echo "$id"
}

full=$(backup_through_faults full)
ibs_log "full backup $full done"
touch "$T/stop"
wait "$wl" || { cat "$T/wl.log" >&2; ibs_die "the workload failed"; }
# Quiesced: the source no longer changes; the incremental takes it all.
ibs_sql "INSERT INTO d.big SELECT seq, RANDOM_BYTES(500) FROM d.seq_8001_to_9000;
    UPDATE d.my SET v = CONCAT(v, 'x') WHERE id % 7 = 0"
inc=$(backup_through_faults incremental --incremental)
ibs_log "incremental backup $inc done"
tables=(d.big d.my wl.wl_acct wl.wl_hist wl.wl_myisam wl.wl_aria)
want=$(bt_checksums main "${tables[@]}")

rc=0
"$IBSTREAM" restore --repo "$REPO" "${S3[@]}" --backup "$inc" --target "$T/restored" \
    >"$T/restore.out" 2>"$T/restore.err" || rc=$?
((rc == 0)) || { tail -n 30 "$T/restore.err" >&2; ibs_die "restore through faults exited with $rc"; }
ibs_log "restore done"

# The proxy's summary: how many faults the backups and the restore went through.
kill -TERM "$proxy"
for ((i = 0; i < 100; i++)); do kill -0 "$proxy" 2>/dev/null || break; sleep 0.1; done
wait "$proxy" 2>/dev/null || true
ibs__forget "$proxy"
summary=$(grep -m 1 '^faultproxy: ' "$T/proxy.err" || true)
[[ -n "$summary" ]] || { cat "$T/proxy.err" >&2; ibs_die "no summary from faultproxy"; }
faults=$(sed -nE 's/.* ([0-9]+) faults injected.*/\1/p' <<<"$summary")
((faults >= 5)) || ibs_die "too few faults injected to mean anything: $summary"

# Only complete backups in the bucket: every object lies in a directory with a manifest.
keys=$(ibs_aws s3 ls --recursive "$REPO/backups/" | awk '{print $4}')
for k in $keys; do
    dir=${k%/*}
    grep -qx "$dir/manifest" <<<"$keys" || ibs_die "object outside a complete backup: $k"
done

ibs_start_mariadb_on "$T/restored"
got=$(bt_checksums restored "${tables[@]}")
[[ "$got" == "$want" ]] || ibs_die "CHECKSUM TABLE restored:
$got
source:
$want"
list=$(IFS=,; echo "${tables[*]}")
out=$(ibs_sql_on restored "CHECK TABLE $list")
! grep -qv $'\tstatus\tOK$' <<<"$out" || ibs_die "CHECK TABLE: $out"
"$WL" check --socket "$IBS_TEST_RESTORED_MYSQL_SOCKET" --db wl || ibs_die "workload invariant broken"
ibs_log "OK: full $full + incremental $inc through faults, restored identically; $summary (IBS_FAULT_SEED=$seed)"
