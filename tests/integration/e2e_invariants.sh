#!/usr/bin/env bash
# End to end under load: while transfers between accounts and an append-only
# log write (invariants/bank.sh), a hot backup is taken; `ibstream restore`
# (with prepare) gives a data directory on which a server
#   - starts without crash recovery (its error log says nothing of it),
#   - finds every table clean (CHECK TABLE),
#   - holds the invariants (total constant; log ids 1..max, payloads right),
#   - and, after the source's binlog is replayed from the position the backup
#     recorded, has CHECKSUM TABLE equal to the source's for every table.
#
#   e2e_invariants.sh [PAGE_SIZE]     4k, 8k, 16k (default) or 64k
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/invariants/bank.sh"
[[ -x "${IBSTREAM:-}" ]] || ibs_die "IBSTREAM is not set to the ibstream binary"
T=$IBS_TEST_TMPDIR
ps=${1:-16k}
page_opt=()

if [[ "$ps" == 16k ]]; then
    ibs_start_mariadb
else
    # mariadb-install-db fixes the page size of ibdata1: make the datadir at
    # this size, then add the backup user ourselves.
    page_opt=(--innodb-page-size="$ps")
    ibs_install_db "$T/source" "$T/install.log" "${page_opt[@]}"
    export IBS_TEST_MYSQL_USER=ibstream IBS_TEST_MYSQL_PASSWORD="ibs-e2e-$ps"
    ibs_start_mariadb_on --name main "$T/source" "${page_opt[@]}"
    ibs_sql "CREATE USER ibstream@localhost IDENTIFIED BY '$IBS_TEST_MYSQL_PASSWORD';
        GRANT $IBS_BACKUP_PRIVILEGES ON *.* TO ibstream@localhost"
fi
page_size=$(ibs_sql "SELECT @@innodb_page_size")
ibs_log "source: innodb_page_size $page_size"

bank_setup
: >"$T/workload.run"
pids=()
for w in 1 2 3 4; do
    bank_transfers "$w" >"$T/transfers.$w.log" 2>&1 &
    pids+=($!)
done
bank_applog >"$T/applog.log" 2>&1 &
pids+=($!)
sleep 2

"$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$T/repo" --throttle 2 --pack-size 1M \
    >"$T/backup.out" 2>"$T/backup.err" || { cat "$T/backup.err" >&2; ibs_die "backup failed"; }
rm -f "$T/workload.run"
for pid in "${pids[@]}"; do wait "$pid" || ibs_die "a writer of the workload failed (see $T/*.log)"; done
cat "$T"/transfers.*.log "$T/applog.log" >&2
grep -q 'rounds of 40 committed' "$T/transfers.1.log" || ibs_die "the transfers did not run"
bank_check main

# The source, quiet now: what the restored server must end up equal to.
tables=$(ibs_sql "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables
                  WHERE table_type = 'BASE TABLE' AND table_schema NOT IN
                  ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1" | paste -sd,)
[[ -n "$tables" ]] || ibs_die "no user tables on the source"
want=$(ibs_sql "CHECKSUM TABLE $tables")

# Restore with prepare; the binlog position is printed and, in the raw
# layout, in xtrabackup_binlog_info: they must agree.
"$IBSTREAM" restore --repo "$T/repo" --target "$T/restored" >"$T/restore.out" 2>"$T/restore.err" ||
    { cat "$T/restore.err" >&2; ibs_die "restore failed"; }
cat "$T/restore.out" >&2
read -r binlog_file binlog_pos < <(sed -n 's/^binlog position: \([^:]*\):\([0-9]*\).*/\1 \2/p' "$T/restore.out")
[[ -n "${binlog_file:-}" && -n "${binlog_pos:-}" ]] || ibs_die "restore printed no binlog position"
"$IBSTREAM" restore --repo "$T/repo" --target "$T/raw" --no-prepare >/dev/null 2>"$T/raw.err" ||
    { cat "$T/raw.err" >&2; ibs_die "restore --no-prepare failed"; }
read -r raw_file raw_pos _ <"$T/raw/xtrabackup_binlog_info"
[[ "$raw_file $raw_pos" == "$binlog_file $binlog_pos" ]] ||
    ibs_die "xtrabackup_binlog_info says $raw_file:$raw_pos, restore printed $binlog_file:$binlog_pos"

ibs_start_mariadb_on "$T/restored" "${page_opt[@]}"
errlog=$IBS_TEST_RESTORED_MYSQL_ERROR_LOG
# 10.11 prints "InnoDB: Starting crash recovery from checkpoint LSN=..." and
# "Starting a batch to recover" / "Starting final batch to recover" when the
# log holds anything to apply (recv_recovery_from_checkpoint_start()).
if grep -Ei 'crash recovery|batch to recover|\[ERROR\]' "$errlog"; then
    ibs_die "the server on the restored directory needed recovery or reported errors (above, $errlog)"
fi
grep -q 'ready for connections' "$errlog" || ibs_die "no 'ready for connections' in $errlog"

all=$(ibs_sql_on restored "SELECT CONCAT('\`', table_schema, '\`.\`', table_name, '\`')
                           FROM information_schema.tables WHERE table_type = 'BASE TABLE'
                           AND table_schema NOT IN ('information_schema', 'performance_schema')
                           ORDER BY 1" | paste -sd,)
ibs_sql_on restored "CHECK TABLE $all" >"$T/check.out"
bad=$(awk -F'\t' '!($3 == "status" && $4 == "OK")' "$T/check.out")
[[ -z "$bad" ]] || { echo "$bad" >&2; ibs_die "CHECK TABLE on the restored server is not clean (above)"; }
ibs_log "CHECK TABLE: $(wc -l <"$T/check.out") tables OK"
bank_check restored

# Replay the source's binlog from the recorded position: the restored server
# must become equal to the source.
files=()
while read -r f; do
    f=$(basename "$f")
    [[ "$f" < "$binlog_file" ]] || files+=("$IBS_TEST_DATADIR/$f")
done <"$IBS_TEST_DATADIR/mysql-bin.index"
((${#files[@]} > 0)) || ibs_die "binlog $binlog_file is not in the source's mysql-bin.index"
mariadb-binlog --start-position="$binlog_pos" "${files[@]}" >"$T/replay.sql" ||
    ibs_die "mariadb-binlog could not read ${files[*]}"
ibs_sql_on restored "SOURCE $T/replay.sql" || ibs_die "replaying the binlog on the restored server failed"
got=$(ibs_sql_on restored "CHECKSUM TABLE $tables")
if [[ "$got" != "$want" ]]; then
    diff <(echo "$want") <(echo "$got") >&2 || true
    ibs_die "after the binlog replay, CHECKSUM TABLE differs from the source's (above: source <, restored >)"
fi
bank_check restored
ibs_log "e2e ($ps pages): $(echo "$tables" | tr , '\n' | wc -l) tables equal to the source after replaying from $binlog_file:$binlog_pos"
