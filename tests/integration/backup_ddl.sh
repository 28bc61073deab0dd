#!/usr/bin/env bash
# DDL while the backup copies (throttled so it lasts): CREATE, DROP, RENAME,
# TRUNCATE, ALTER ... ALGORITHM=COPY and INPLACE. The DDL stops before the
# backup's BLOCK_DDL, so the backup and the quiesced source agree: same
# manifest files, same tables, same CHECKSUM TABLE after restore + prepare.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workload/backup_lib.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR
ibs_start_mariadb
ibs_sql "CREATE DATABASE d; CREATE TABLE d.pad (id INT PRIMARY KEY, b BLOB) ENGINE=InnoDB;
    INSERT INTO d.pad SELECT seq, RANDOM_BYTES(3000) FROM d.seq_1_to_10000"
for t in to_drop to_rename to_truncate alter_copy alter_inplace alter_force; do
    ibs_sql "CREATE TABLE d.$t (id INT PRIMARY KEY, v VARCHAR(100), n INT) ENGINE=InnoDB;
        INSERT INTO d.$t SELECT seq, CONCAT('r', seq), seq % 7 FROM d.seq_1_to_2000"
done
bt_checkpoint

# ~40 MB at 5 MB/s: several seconds of copy. The DDL runs during the first
# seconds only (bounded), then stops before the copy ends.
"$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$T/repo" --throttle 5 \
    >"$T/b.out" 2>"$T/b.err" &
bk=$!
sleep 1
ibs_sql "DROP TABLE d.to_drop;
    RENAME TABLE d.to_rename TO d.renamed;
    TRUNCATE TABLE d.to_truncate; INSERT INTO d.to_truncate VALUES (1, 'after', 1);
    ALTER TABLE d.alter_copy ADD COLUMN extra INT DEFAULT 5, ALGORITHM=COPY;
    ALTER TABLE d.alter_inplace ADD INDEX (n), ALGORITHM=INPLACE;
    ALTER TABLE d.alter_force FORCE, ALGORITHM=INPLACE;
    CREATE TABLE d.created (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB;
    INSERT INTO d.created SELECT seq, 'new' FROM d.seq_1_to_500;
    CREATE TABLE d.created_tmp (id INT) ENGINE=InnoDB; DROP TABLE d.created_tmp"
kill -0 "$bk" 2>/dev/null || ibs_die "the backup ended before the DDL did: it must last longer (throttle)"
set +e
wait "$bk"
rc=$?
set -e
cat "$T/b.out" >&2
((rc == 0)) || { cat "$T/b.err" >&2; ibs_die "backup exited with $rc"; }
id=$(sed -n 's/^backup \([^ ]*\) complete: .*/\1/p' "$T/b.out")
m=$T/repo/backups/$id/manifest
[[ -f "$m" ]] || ibs_die "no manifest for '$id'"

names=$(bt_manifest_field "$m" '" ".join(sorted(f["name"] for f in m["files"] if f["name"].startswith("d/")))')
for want in d/renamed.ibd d/renamed.frm d/created.ibd d/created.frm d/to_truncate.ibd d/alter_copy.ibd; do
    grep -qw -- "$want" <<<"$names" || ibs_die "manifest lacks $want: $names"
done
for gone in d/to_drop.ibd d/to_drop.frm d/to_rename.ibd d/to_rename.frm d/created_tmp.ibd; do
    ! grep -qw -- "$gone" <<<"$names" || ibs_die "manifest still lists $gone"
done
grep -q '#sql' <<<"$names" && ibs_die "manifest lists a temporary #sql file: $names"
python3 "$(dirname "$0")/workload/manifest_check.py" "$m" "$IBS_TEST_DATADIR" ||
    ibs_die "the manifest does not match the datadir"

TABLES="d.pad d.renamed d.to_truncate d.alter_copy d.alter_inplace d.alter_force d.created"
want_sum=$(bt_checksums main $TABLES)
want_set=$(ibs_sql "SELECT table_name FROM information_schema.tables WHERE table_schema = 'd' ORDER BY 1")
"$IBSTREAM" restore --repo "$T/repo" --target "$T/r" || ibs_die "restore exited with $?"
ibs_start_mariadb_on "$T/r"
got_set=$(ibs_sql_on restored "SELECT table_name FROM information_schema.tables WHERE table_schema = 'd' ORDER BY 1")
[[ "$got_set" == "$want_set" ]] || ibs_die "tables restored: $(echo $got_set); source: $(echo $want_set)"
got_sum=$(bt_checksums restored $TABLES)
[[ "$got_sum" == "$want_sum" ]] || ibs_die "CHECKSUM TABLE restored: $got_sum; source: $want_sum"
out=$(ibs_sql_on restored "CHECK TABLE ${TABLES// /, }")
! grep -qv $'\tstatus\tOK$' <<<"$out" || ibs_die "CHECK TABLE: $out"
ibs_sql_on restored "SHOW CREATE TABLE d.alter_inplace" | grep -q 'KEY `n`' || ibs_die "the INPLACE index is missing"
ibs_log "OK: backup $id with DDL restored; tables $(echo $got_set)"
