#!/usr/bin/env bash
# Incrementals taken under load. A full backup; then a workload writes
# (transfers between accounts keeping a constant total, inserts, updates and
# deletes on a table with a secondary index) during incremental 1; more
# writes and DDL (a table created, one dropped) and incremental 2 under load
# too. Each of the two incrementals, restored, starts cleanly, passes CHECK
# TABLE and the invariant, and replaying the source's binlog from the
# position restore printed (after the workload stopped) gives every table the
# source's CHECKSUM TABLE: the restored data is exactly the source at that
# binlog position.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$IBS_LIB_DIR/incremental_lib.sh"
T=$IBS_TEST_TMPDIR
IBS_INC_REPO="$T/repo"

ibs_start_mariadb
inc_setup
ibs_sql "CREATE TABLE inc.doomed (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB;
         INSERT INTO inc.doomed SELECT seq, REPEAT('d', 200) FROM inc.seq_1_to_2000"
inc_backup >"$T/full.out"
full=$(inc_last_id)

inc_load_start load1 120
sleep 1
# Throttled: the page scan lasts seconds while the workload commits.
inc_backup --incremental --throttle 10 >"$T/inc1.out"
inc1=$(inc_last_id)
ibs_sql "CREATE TABLE inc.made (id INT PRIMARY KEY, k INT, KEY (k)) ENGINE=InnoDB;
         INSERT INTO inc.made SELECT seq, seq % 10 FROM inc.seq_1_to_5000;
         DROP TABLE inc.doomed;"
sleep 1
inc_backup --incremental --throttle 10 >"$T/inc2.out"
inc2=$(inc_last_id)
sleep 1
inc_load_stop load1
[[ "$inc1" == *I && "$inc2" == *I && "$inc1" != "$inc2" ]] || ibs_die "unexpected chain $full $inc1 $inc2"
written=$(ibs_sql "SELECT COUNT(*) FROM inc.wl_hist")
((written > 100)) || ibs_die "the workload wrote only $written transfers"
"$IBS_INC_WL" check --socket "$IBS_TEST_MYSQL_SOCKET" --db inc || ibs_die "invariant broken on the source"
inc_checksums main >"$T/source.sum"

for id in "$inc2" "$inc1"; do
    "$IBSTREAM" restore --repo "$IBS_INC_REPO" --backup "$id" --target "$T/r-$id" >"$T/r-$id.out" ||
        ibs_die "restore of $id failed"
    line=$(grep '^binlog position: ' "$T/r-$id.out") || ibs_die "restore of $id printed no binlog position"
    # Another server id: the replayed events carry the source's. No binlog
    # and no flush per commit: the replay is thousands of small transactions.
    ibs_start_mariadb_on --name r "$T/r-$id" --server-id=2 --skip-log-bin \
        --innodb-flush-log-at-trx-commit=0
    inc_check_tables r
    "$IBS_INC_WL" check --socket "$IBS_TEST_R_MYSQL_SOCKET" --db inc || ibs_die "invariant broken in $id"
    if [[ "$id" == "$inc2" ]]; then
        [[ -n "$(ibs_sql_on r "SHOW TABLES FROM inc LIKE 'made'")" &&
           -z "$(ibs_sql_on r "SHOW TABLES FROM inc LIKE 'doomed'")" ]] ||
            ibs_die "$id: inc.made should exist and inc.doomed not"
    else
        [[ -z "$(ibs_sql_on r "SHOW TABLES FROM inc LIKE 'made'")" &&
           -n "$(ibs_sql_on r "SHOW TABLES FROM inc LIKE 'doomed'")" ]] ||
            ibs_die "$id: inc.doomed should exist and inc.made not yet"
    fi
    inc_replay_binlog r "$line"
    inc_checksums r >"$T/r-$id.sum"
    diff -u "$T/source.sum" "$T/r-$id.sum" ||
        ibs_die "$id restored and replayed from its binlog position differs from the source"
    ibs_stop_mariadb r
    ibs_log "$id: restored, consistent at ${line#binlog position: }, equal to the source after replay"
done
ibs_log "incremental workload: $written transfers; $full, $inc1, $inc2 checked"
