#!/usr/bin/env bash
# A full backup of a server holding every kind of table, taken while a
# workload writes: the manifest lists every data file of the datadir with its
# kind, a raw restore verifies, non-InnoDB files are byte-identical, and a
# server started on the prepared copy finds every table intact.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workload/backup_lib.sh"
WL="$(dirname "$0")/workload/write_load.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"

T=$IBS_TEST_TMPDIR
EXT=$T/extdata # DATA DIRECTORY of one table, outside the datadir
mkdir -p "$EXT"
ibs_start_mariadb

ibs_log "creating databases and tables"
ibs_sql "
CREATE DATABASE db_a; CREATE DATABASE db_b;
CREATE TABLE db_a.t_redundant (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB ROW_FORMAT=REDUNDANT;
CREATE TABLE db_a.t_compact (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB ROW_FORMAT=COMPACT;
CREATE TABLE db_a.t_dynamic (id INT PRIMARY KEY, v VARCHAR(200), b BLOB) ENGINE=InnoDB ROW_FORMAT=DYNAMIC;
CREATE TABLE db_a.t_compressed (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB
    ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;
CREATE TABLE db_a.t_part (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB
    PARTITION BY HASH (id) PARTITIONS 4;
CREATE TABLE db_a.t_myisam (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=MyISAM;
CREATE TABLE db_a.t_aria (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=Aria;
CREATE TABLE db_a.t_csv (id INT NOT NULL, v VARCHAR(200) NOT NULL) ENGINE=CSV;
CREATE TABLE db_b.t_datadir (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB DATA DIRECTORY='$EXT';
CREATE TABLE db_b.t_plain (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;
"
for t in db_a.t_redundant db_a.t_compact db_a.t_compressed db_a.t_part db_a.t_myisam \
    db_a.t_aria db_a.t_csv db_b.t_datadir db_b.t_plain; do
    ibs_sql "INSERT INTO $t SELECT seq, CONCAT('row ', seq, REPEAT('x', seq % 150)) FROM db_a.seq_1_to_3000"
done
ibs_sql "INSERT INTO db_a.t_dynamic SELECT seq, CONCAT('row ', seq), RANDOM_BYTES(1000) FROM db_a.seq_1_to_3000"
STATIC_TABLES="db_a.t_redundant db_a.t_compact db_a.t_dynamic db_a.t_compressed db_a.t_part
    db_a.t_myisam db_a.t_aria db_a.t_csv db_b.t_datadir db_b.t_plain"
[[ -f "$EXT/db_b/t_datadir.ibd" ]] || ibs_die "DATA DIRECTORY table not created under $EXT"

"$WL" init --socket "$IBS_TEST_MYSQL_SOCKET" --db wl
# Tables older than the backup's checkpoint: their pages must be copied.
bt_checkpoint
STOP=$T/workload.stop
"$WL" run --socket "$IBS_TEST_MYSQL_SOCKET" --db wl --clients 3 --seconds 60 \
    --stop-file "$STOP" --nontx &
WL_PID=$!
sleep 2

ibs_log "backup under load"
REPO=$T/repo
set +e
"$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$REPO" \
    >"$T/backup.out" 2>"$T/backup.err"
RC=$?
set -e
touch "$STOP"
wait "$WL_PID" || ibs_die "the workload failed"
cat "$T/backup.out" "$T/backup.err" >&2
((RC == 0)) || ibs_die "backup exited with $RC"

ID=$(sed -n 's/^backup \([0-9A-Za-z-]*\) complete: \([0-9]*\) files, .* read, .* stored.*/\1/p' "$T/backup.out")
[[ -n "$ID" ]] || ibs_die "no 'backup ID complete: N files, ...' summary line on stdout"
NFILES=$(sed -n 's/^backup [^ ]* complete: \([0-9]*\) files.*/\1/p' "$T/backup.out")
MANIFEST=$REPO/backups/$ID/manifest
[[ -f "$MANIFEST" ]] || ibs_die "no manifest at $MANIFEST"
M_FILES=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["files"]))' "$MANIFEST")
[[ "$M_FILES" == "$NFILES" ]] || ibs_die "summary says $NFILES files, the manifest lists $M_FILES"
python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert m["id"] == sys.argv[2] and m["type"] == "full", (m["id"], m["type"])
assert 0 < m["redo"]["checkpoint_lsn"] <= m["redo"]["end_lsn"], m["redo"]
assert m["binlog"]["enabled"] and m["binlog"]["file"].startswith("mysql-bin."), m["binlog"]
' "$MANIFEST" "$ID" || ibs_die "manifest header fields are wrong"

COPIED=$(bt_copied_ibd "$MANIFEST")
((COPIED >= 15)) || ibs_die "only $COPIED .ibd files have copied pages; want every table's"

ibs_log "manifest against the datadir listing"
# The datadir listing is taken now that the workload stopped: no DDL ran, so
# the set of files is the one the backup saw.
python3 "$(dirname "$0")/workload/manifest_check.py" "$MANIFEST" "$IBS_TEST_DATADIR" \
    --extra-dir "$EXT" || ibs_die "the manifest does not list the datadir's files"

ibs_log "raw restore (verifies every frame)"
RAW=$T/raw
"$IBSTREAM" restore --repo "$REPO" --target "$RAW" --no-prepare ||
    ibs_die "restore --no-prepare exited with $?"
[[ -f "$RAW/xtrabackup_checkpoints" && -f "$RAW/ib_logfile0" ]] ||
    ibs_die "the raw layout lacks xtrabackup_checkpoints or ib_logfile0"

# Files nothing wrote during the backup must come back byte for byte: every
# .frm, .opt and .par, and the data of the tables the workload leaves alone.
n=0
while IFS= read -r -d '' f; do
    rel=${f#"$IBS_TEST_DATADIR"/}
    cmp -s "$f" "$RAW/$rel" || ibs_die "restored $rel differs from the source"
    n=$((n + 1))
done < <(find "$IBS_TEST_DATADIR" -mindepth 2 -type f \
    \( -name '*.frm' -o -name '*.opt' -o -name '*.par' -o -path '*/db_a/t_myisam.*' \
    -o -path '*/db_a/t_aria.*' -o -path '*/db_a/t_csv.*' \) ! -name '#sql*' -print0)
((n >= 40)) || ibs_die "compared only $n non-InnoDB files"
ibs_log "$n non-InnoDB files identical to the source"

ibs_log "prepare"
"$IBSTREAM" prepare --target "$RAW" || ibs_die "prepare exited with $?"

# Source figures, taken now that the workload stopped.
declare -A SRC_COUNT
for t in $STATIC_TABLES; do SRC_COUNT[$t]=$(ibs_sql "SELECT COUNT(*) FROM $t"); done
# The restored copy must not depend on the source's DATA DIRECTORY file:
# stop the source and move that directory away, so only the restored copy
# (which restore places under the target) can serve the table.
ibs_stop_mariadb main
mv "$EXT" "$EXT.source"
isl=$(cat "$RAW/db_b/t_datadir.isl")
[[ "$isl" == "$(cd "$RAW" && pwd)/"* && -f "$isl" ]] ||
    ibs_die "restored db_b/t_datadir.isl names $isl, not the restored copy under $RAW"
ibs_start_mariadb_on "$RAW"

ibs_log "CHECK TABLE and row counts on the restored server"
TABLES=$(ibs_sql_on restored "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables
    WHERE table_schema IN ('db_a', 'db_b', 'wl', 'mysql') AND table_type = 'BASE TABLE'")
for t in $TABLES; do
    out=$(ibs_sql_on restored "CHECK TABLE $t") || ibs_die "CHECK TABLE $t failed"
    grep -q $'\tstatus\tOK$' <<<"$out" || ibs_die "CHECK TABLE $t: $out"
    ibs_sql_on restored "SELECT COUNT(*) FROM $t" >/dev/null || ibs_die "SELECT COUNT(*) FROM $t failed"
done
for t in $STATIC_TABLES; do
    got=$(ibs_sql_on restored "SELECT COUNT(*) FROM $t")
    [[ "$got" == "${SRC_COUNT[$t]}" ]] || ibs_die "$t: $got rows restored, ${SRC_COUNT[$t]} in the source"
done
"$WL" check --socket "$IBS_TEST_RESTORED_MYSQL_SOCKET" --db wl || ibs_die "workload invariant broken"
hist=$(ibs_sql_on restored "SELECT COUNT(*) FROM wl.wl_hist")
((hist > 0)) || ibs_die "no workload transaction in the backup"
ibs_log "OK: backup $ID, $NFILES files, $(wc -w <<<"$TABLES") tables checked, $hist workload rows"
