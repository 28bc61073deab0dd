#!/usr/bin/env bash
# A full backup under load into the S3 emulator, restored from it with
# prepare: the restored server's data matches the source's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workload/backup_lib.sh"
WL="$(dirname "$0")/workload/write_load.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR
ibs_start_s3
ibs_start_mariadb
REPO=s3://$IBS_TEST_S3_BUCKET/backups-s3
S3=(--s3-endpoint "$IBS_TEST_S3_ENDPOINT" --s3-part-size 5M)

ibs_sql "CREATE DATABASE d;
    CREATE TABLE d.big (id INT PRIMARY KEY, b BLOB) ENGINE=InnoDB;
    INSERT INTO d.big SELECT seq, RANDOM_BYTES(1000) FROM d.seq_1_to_8000; -- at most 1024 bytes
    CREATE TABLE d.my (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=MyISAM;
    INSERT INTO d.my SELECT seq, CONCAT('v', seq) FROM d.seq_1_to_2000"
"$WL" init --socket "$IBS_TEST_MYSQL_SOCKET" --db wl
bt_checkpoint
"$WL" run --socket "$IBS_TEST_MYSQL_SOCKET" --db wl --clients 2 --seconds 60 --stop-file "$T/stop" &
wl=$!
sleep 1
set +e
# --pack-size 1M: a pack per frame or two, so objects are completed while
# others fill, and the restore reads from many.
"$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$REPO" "${S3[@]}" --pack-size 1M \
    >"$T/b.out" 2>"$T/b.err"
rc=$?
set -e
touch "$T/stop"
wait "$wl" || ibs_die "the workload failed"
cat "$T/b.out" >&2
((rc == 0)) || { cat "$T/b.err" >&2; ibs_die "backup to S3 exited with $rc"; }
id=$(sed -n 's/^backup \([^ ]*\) complete: .*/\1/p' "$T/b.out")
[[ -n "$id" ]] || ibs_die "no summary line"
keys=$(ibs_aws s3 ls --recursive "$REPO/backups/$id/" | awk '{print $4}')
grep -q "backups/$id/manifest$" <<<"$keys" || ibs_die "no manifest object for $id: $keys"
packs=$(grep -c "backups/$id/data\.[0-9]*$" <<<"$keys" || true)
((packs >= 3)) || ibs_die "$packs data pack objects with --pack-size 1M, want several: $keys"

want=$(bt_checksums main d.big d.my)
count=$(ibs_sql "SELECT COUNT(*) FROM d.big")
"$IBSTREAM" restore --repo "$REPO" "${S3[@]}" --target "$T/restored" || ibs_die "restore from S3 exited with $?"
ibs_start_mariadb_on "$T/restored"
got=$(bt_checksums restored d.big d.my)
[[ "$got" == "$want" ]] || ibs_die "CHECKSUM TABLE restored '$got', source '$want'"
[[ $(ibs_sql_on restored "SELECT COUNT(*) FROM d.big") == "$count" ]] || ibs_die "d.big row count differs"
out=$(ibs_sql_on restored "CHECK TABLE d.big, d.my, wl.wl_acct, wl.wl_hist, wl.wl_myisam")
! grep -qv $'\tstatus\tOK$' <<<"$out" || ibs_die "CHECK TABLE: $out"
"$WL" check --socket "$IBS_TEST_RESTORED_MYSQL_SOCKET" --db wl || ibs_die "workload invariant broken"
ibs_log "OK: backup $id through S3 restored; $want"
