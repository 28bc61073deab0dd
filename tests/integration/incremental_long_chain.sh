#!/usr/bin/env bash
# A chain of a full and 30 incrementals with small writes between them
# (inserts, updates that move secondary-index keys, deletes, one hot row
# changed every time; pages flushed before each backup, so every member
# stores pages): restoring the last member gives the source's tables
# (CHECKSUM TABLE), restoring the 15th gives the state at its time, and the
# restore does not fetch frames a newer member supersedes (the hot row's page
# is stored by every member: only the newest copy is fetched), which its
# summary reports.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$IBS_LIB_DIR/incremental_lib.sh"
. "$IBS_LIB_DIR/workload/backup_lib.sh"
T=$IBS_TEST_TMPDIR
IBS_INC_REPO="$T/repo"
MEMBERS=${IBS_INC_MEMBERS:-30}

ibs_start_mariadb
inc_setup
ibs_sql "CREATE TABLE inc.hot (id INT PRIMARY KEY, n INT) ENGINE=InnoDB; INSERT INTO inc.hot VALUES (1, 0)"
inc_backup >"$T/full.out"
ids=("$(inc_last_id)")
for ((i = 1; i <= MEMBERS; i++)); do
    ibs_sql "UPDATE inc.hot SET n = n + 1;
             INSERT INTO inc.items (k, v) VALUES ($i, 'round $i');
             UPDATE inc.items SET k = k + 7 WHERE id BETWEEN $((i * 200)) AND $((i * 200 + 20));
             DELETE FROM inc.items WHERE id BETWEEN $((i * 300)) AND $((i * 300 + 5));"
    # Written to the data files, so the member stores the pages (not only log).
    bt_checkpoint
    inc_backup --incremental >"$T/inc$i.out"
    ids+=("$(inc_last_id)")
    [[ "${ids[i]}" == *I && "${ids[i]}" != "${ids[i - 1]}" ]] ||
        ibs_die "backup $i is not a new incremental: ${ids[i]}"
    ((i == 15)) && inc_checksums main >"$T/at15.sum"
done
grep -q "chain of $((MEMBERS + 1))" "$T/inc$MEMBERS.out" ||
    ibs_die "the last incremental does not report a chain of $((MEMBERS + 1)): $(cat "$T/inc$MEMBERS.out")"
inc_checksums main >"$T/source.sum"

"$IBSTREAM" restore --repo "$IBS_INC_REPO" --target "$T/last" >"$T/last.out" ||
    ibs_die "restore of the chain of $((MEMBERS + 1)) failed"
cat "$T/last.out"
skipped=$(sed -n 's/^chain of [0-9]* backups: [0-9]* frames fetched, \([0-9]*\) not fetched.*/\1/p' "$T/last.out")
[[ -n "$skipped" ]] || ibs_die "restore's summary does not report the frames not fetched"
((skipped >= MEMBERS)) ||
    ibs_die "only $skipped frames were not fetched; the hot row's page alone is superseded in $MEMBERS members"
ibs_start_mariadb_on --name last "$T/last"
inc_checksums last >"$T/last.sum"
diff -u "$T/source.sum" "$T/last.sum" || ibs_die "the restored chain of $((MEMBERS + 1)) differs from the source"
[[ "$(ibs_sql_on last "SELECT n FROM inc.hot")" == "$MEMBERS" ]] || ibs_die "inc.hot.n is not $MEMBERS"
inc_check_tables last
ibs_stop_mariadb last

"$IBSTREAM" restore --repo "$IBS_INC_REPO" --backup "${ids[15]}" --target "$T/mid" >"$T/mid.out" ||
    ibs_die "restore of member 15 failed"
ibs_start_mariadb_on --name mid "$T/mid"
inc_checksums mid >"$T/mid.sum"
diff -u "$T/at15.sum" "$T/mid.sum" || ibs_die "restoring ${ids[15]} did not give the state at its time"
ibs_stop_mariadb mid
ibs_log "long chain: $((MEMBERS + 1)) members restored and compared; $skipped frames not fetched"
