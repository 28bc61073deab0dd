#!/usr/bin/env bash
# A full backup, then incrementals with writes and DDL between them (a table
# created, one dropped, rows changed and deleted, a non-InnoDB table changed):
# restoring the last member of the chain gives the source's tables exactly
# (CHECKSUM TABLE), restoring an earlier member gives the state at its time,
# an incremental with no writes stores almost nothing, and a chain with a
# member deleted from the repository is refused.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ibs_start_mariadb
repo="$IBS_TEST_TMPDIR/repo"
# --pack-size 1M: members spread over many objects.
backup() { "$IBSTREAM" backup --defaults-file="$IBS_TEST_DEFAULTS_FILE" --repo "$repo" --pack-size 1M "$@"; }
last_id() { ls "$repo/backups" | sort | tail -1; }
checksums() { # instance -> "table checksum" lines of every user table
    ibs_sql_on "$1" "SELECT CONCAT(table_schema,'.',table_name) FROM information_schema.tables
                     WHERE table_schema='shop' ORDER BY 1" |
        while read -r t; do ibs_sql_on "$1" "CHECKSUM TABLE $t"; done
}

ibs_sql "CREATE DATABASE shop; USE shop;
  CREATE TABLE shop.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(200), KEY(v)) ENGINE=InnoDB;
  CREATE TABLE shop.r (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB ROW_FORMAT=REDUNDANT;
  CREATE TABLE shop.m (id INT) ENGINE=MyISAM;
  INSERT INTO shop.m VALUES (1);
  INSERT INTO shop.t (v) SELECT REPEAT(CHAR(65+seq%26),100) FROM seq_1_to_30000;
  INSERT INTO shop.r SELECT seq, REPEAT('r',50) FROM seq_1_to_5000;"
backup >"$IBS_TEST_TMPDIR/full.out"
full=$(last_id)
[[ "$full" == *F ]] || ibs_die "the first backup $full is not a full one"


ibs_sql "UPDATE shop.t SET v='changed' WHERE id % 100 = 0; INSERT INTO shop.r VALUES (6000,'new');
         INSERT INTO shop.m VALUES (2);"
backup --incremental >"$IBS_TEST_TMPDIR/inc1.out"
inc1=$(last_id)
[[ "$inc1" == *I ]] || ibs_die "the second backup $inc1 is not incremental"
grep -q "incremental on $full (chain of 2)" "$IBS_TEST_TMPDIR/inc1.out" ||
    ibs_die "inc1 summary lacks its parent: $(cat "$IBS_TEST_TMPDIR/inc1.out")"
checksums main >"$IBS_TEST_TMPDIR/at-inc1.sum"


ibs_sql "USE shop; CREATE TABLE shop.n (id INT PRIMARY KEY) ENGINE=InnoDB;
         INSERT INTO shop.n SELECT seq FROM seq_1_to_1000;
         DROP TABLE shop.r; DELETE FROM shop.t WHERE id < 1000;"
# Let purge finish the DELETE, so the next backup really has nothing to store.
ibs_sql "SET GLOBAL innodb_max_purge_lag_wait=0"
backup --incremental >"$IBS_TEST_TMPDIR/inc2.out"
inc2=$(last_id)


backup --incremental >"$IBS_TEST_TMPDIR/inc3.out"
inc3=$(last_id)
# Nothing was written: (almost) no page is stored, and the summary says so.
stored=$(sed -n 's/.*: \([0-9]*\) of [0-9]* pages changed and stored/\1/p' "$IBS_TEST_TMPDIR/inc3.out")
[[ -n "$stored" && "$stored" -lt 20 ]] ||
    ibs_die "an incremental without writes stored '$stored' pages: $(cat "$IBS_TEST_TMPDIR/inc3.out")"
# The log since the server's last checkpoint is stored whatever changed; the
# data part is what an incremental saves.
full_mb=$(sed -n 's/.*; data \([0-9.]*\) MB, redo.*/\1/p' "$IBS_TEST_TMPDIR/full.out")
inc3_mb=$(sed -n 's/.*; data \([0-9.]*\) MB, redo.*/\1/p' "$IBS_TEST_TMPDIR/inc3.out")
python3 -c "import sys; sys.exit(0 if float('$inc3_mb') < float('$full_mb') / 10 else 1)" ||
    ibs_die "an idle incremental stored $inc3_mb MB of data against the full's $full_mb MB"
checksums main >"$IBS_TEST_TMPDIR/at-inc3.sum"
# info shows an incremental's parent, chain and pages.
"$IBSTREAM" info --repo "$repo" --backup "$inc3" --json >"$IBS_TEST_TMPDIR/inc3.json"
python3 - "$IBS_TEST_TMPDIR/inc3.json" "$full" "$inc1" "$inc2" "$inc3" <<'PY' ||
import json, sys
info = json.load(open(sys.argv[1]))
chain = sys.argv[2:]
assert info["parent"] == chain[2], info["parent"]
assert info["chain"] == chain, info["chain"]
assert info["pages_scanned"] > 1000 and info["pages_stored"] < 20, (info["pages_scanned"], info["pages_stored"])
PY
    ibs_die "ibstream info on $inc3 does not show its parent, chain and pages: $(cat "$IBS_TEST_TMPDIR/inc3.json")"

# The newest member: the source as it is now.
"$IBSTREAM" restore --repo "$repo" --target "$IBS_TEST_TMPDIR/r3" >"$IBS_TEST_TMPDIR/r3.out"
ibs_start_mariadb_on --name r3 "$IBS_TEST_TMPDIR/r3"
checksums r3 >"$IBS_TEST_TMPDIR/r3.sum"
diff -u "$IBS_TEST_TMPDIR/at-inc3.sum" "$IBS_TEST_TMPDIR/r3.sum" ||
    ibs_die "the restored chain differs from the source"
ibs_stop_mariadb r3

# An earlier member: the state at its time (shop.r still there, shop.n not yet).
"$IBSTREAM" restore --repo "$repo" --backup "$inc1" --target "$IBS_TEST_TMPDIR/r1" >/dev/null
ibs_start_mariadb_on --name r1 "$IBS_TEST_TMPDIR/r1"
checksums r1 >"$IBS_TEST_TMPDIR/r1.sum"
diff -u "$IBS_TEST_TMPDIR/at-inc1.sum" "$IBS_TEST_TMPDIR/r1.sum" ||
    ibs_die "restoring $inc1 did not give the state at its time"
ibs_stop_mariadb r1

# A member deleted from the repository breaks the chain: refused, never restored.
rm -rf "${repo:?}/backups/$inc2"
if "$IBSTREAM" restore --repo "$repo" --backup "$inc3" --target "$IBS_TEST_TMPDIR/broken" \
    2>"$IBS_TEST_TMPDIR/broken.err"; then
    ibs_die "a chain with a missing member was restored"
fi
grep -q "chain of backup $inc3 is broken: $inc2" "$IBS_TEST_TMPDIR/broken.err" ||
    ibs_die "the broken chain error does not name the missing member: $(cat "$IBS_TEST_TMPDIR/broken.err")"
echo "incremental chain: full $full, $inc1, $inc2, $inc3 restored and compared"
