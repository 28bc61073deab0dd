#!/usr/bin/env bash
# ROW_FORMAT=COMPRESSED tables (KEY_BLOCK_SIZE 8 and 4) created and filled
# while a backup runs exist only in the redo log when their files are copied
# (page 0 still zeros on disk): prepare must give them their compressed page
# size and checksums from the log. The restored server reads them, CHECK TABLE
# is clean and CHECKSUM TABLE equals the source's.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ibs_start_mariadb
ibs_sql "CREATE DATABASE d; USE d;
         CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(2000)) ENGINE=InnoDB;
         INSERT INTO big SELECT seq, REPEAT('x', 1500) FROM seq_1_to_20000;"
(
    sleep 1
    ibs_sql "USE d;
      CREATE TABLE z (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;
      INSERT INTO z SELECT seq, MD5(seq) FROM seq_1_to_5000;
      CREATE TABLE z4 (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;
      INSERT INTO z4 SELECT seq, REPEAT(MD5(seq), 10) FROM seq_1_to_2000;"
) &
ddl=$!
# About 55 MB at 5 MB/s: the tables are created and filled while files are copied.
"$IBSTREAM" backup --defaults-file="$IBS_TEST_DEFAULTS_FILE" --repo "$IBS_TEST_TMPDIR/repo" \
    --throttle 5 >"$IBS_TEST_TMPDIR/backup.out"
wait "$ddl" || ibs_die "creating the compressed tables failed"
manifest=$(ls "$IBS_TEST_TMPDIR"/repo/backups/*/manifest)
grep -q '"d\\/z.ibd"' "$manifest" || ibs_die "the manifest lacks d/z.ibd"
src=$(ibs_sql "CHECKSUM TABLE d.z, d.z4")

"$IBSTREAM" restore --repo "$IBS_TEST_TMPDIR/repo" --target "$IBS_TEST_TMPDIR/r" >/dev/null
ibs_start_mariadb_on "$IBS_TEST_TMPDIR/r"
dst=$(ibs_sql_on restored "CHECKSUM TABLE d.z, d.z4")
[[ "$src" == "$dst" ]] || ibs_die "restored compressed tables differ: source '$src', restored '$dst'"
if ibs_sql_on restored "CHECK TABLE d.z, d.z4" | grep -v 'status.OK'; then
    ibs_die "CHECK TABLE failed on the restored compressed tables"
fi
echo "compressed tables created during the backup restored: $(tr '\n\t' '  ' <<<"$dst")"
