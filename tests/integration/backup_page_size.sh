#!/usr/bin/env bash
# Full backup, restore with prepare and a server on the result, for servers
# with non-default page sizes: CHECKSUM TABLE of a quiesced table and the
# workload's invariant must match the source. Pages: $BT_PAGE_SIZES
# (default "4k 64k").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workload/backup_lib.sh"
WL="$(dirname "$0")/workload/write_load.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR

for ps in ${BT_PAGE_SIZES:-4k 64k}; do
    ibs_log "page size $ps"
    # ibs_start_mariadb's mariadb-install-db would make a 16k ibdata1: make
    # the datadir at this page size, then add the backup user ourselves.
    dd=$T/data-$ps
    ibs_install_db "$dd" "$T/install-$ps.log" --innodb-page-size="$ps"
    export IBS_TEST_MYSQL_USER=ibstream IBS_TEST_MYSQL_PASSWORD=ibs-page-$ps
    ibs_start_mariadb_on --name main "$dd" --innodb-page-size="$ps"
    ibs_sql "CREATE USER ibstream@localhost IDENTIFIED BY '$IBS_TEST_MYSQL_PASSWORD';
        GRANT $IBS_BACKUP_PRIVILEGES ON *.* TO ibstream@localhost"
    got=$(ibs_sql "SELECT @@innodb_page_size")
    [[ "$got" == $((${ps%k} * 1024)) ]] || ibs_die "server runs with page size $got, asked $ps"
    ibs_sql "CREATE DATABASE d;
        CREATE TABLE d.quiet (id INT PRIMARY KEY, v VARCHAR(300), b BLOB) ENGINE=InnoDB;
        INSERT INTO d.quiet SELECT seq, REPEAT(CHAR(65 + seq % 26), seq % 300), RANDOM_BYTES(500)
            FROM d.seq_1_to_5000;
        CREATE TABLE d.zip (id INT PRIMARY KEY, v VARCHAR(300)) ENGINE=InnoDB ROW_FORMAT=COMPACT;
        INSERT INTO d.zip SELECT seq, REPEAT('z', seq % 300) FROM d.seq_1_to_3000"
    "$WL" init --socket "$IBS_TEST_MYSQL_SOCKET" --db wl
    bt_checkpoint
    "$WL" run --socket "$IBS_TEST_MYSQL_SOCKET" --db wl --clients 2 --seconds 60 \
        --stop-file "$T/stop.$ps" &
    wl=$!
    sleep 1
    repo=$T/repo-$ps
    set +e
    "$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$repo" >"$T/b.$ps.out" 2>"$T/b.$ps.err"
    rc=$?
    set -e
    touch "$T/stop.$ps"
    wait "$wl" || ibs_die "the workload failed"
    ((rc == 0)) || { cat "$T/b.$ps.err" >&2; ibs_die "backup at page size $ps exited with $rc"; }
    id=$(sed -n 's/^backup \([^ ]*\) complete: .*/\1/p' "$T/b.$ps.out")
    m=$repo/backups/$id/manifest
    [[ -f "$m" ]] || ibs_die "no manifest for backup '$id'"
    [[ $(bt_manifest_field "$m" 'm["server"]["page_size"]') == $((${ps%k} * 1024)) ]] ||
        ibs_die "manifest page_size is not $ps"
    ((($(bt_copied_ibd "$m")) >= 3)) || ibs_die "page size $ps: user tablespaces were not copied"
    want=$(bt_checksums main d.quiet d.zip)

    "$IBSTREAM" restore --repo "$repo" --target "$T/r-$ps" || ibs_die "restore at page size $ps exited with $?"
    ibs_stop_mariadb main
    ibs_start_mariadb_on "$T/r-$ps" --innodb-page-size="$ps"
    got=$(bt_checksums restored d.quiet d.zip)
    [[ "$got" == "$want" ]] || ibs_die "page size $ps: CHECKSUM TABLE restored '$got', source '$want'"
    out=$(ibs_sql_on restored "CHECK TABLE d.quiet, d.zip, wl.wl_acct, wl.wl_hist")
    ! grep -qv $'\tstatus\tOK$' <<<"$out" || ibs_die "page size $ps: CHECK TABLE: $out"
    "$WL" check --socket "$IBS_TEST_RESTORED_MYSQL_SOCKET" --db wl || ibs_die "page size $ps: invariant broken"
    ibs_stop_mariadb restored
    rm -rf "$dd" "$T/mariadb-main" "$T/mariadb-restored" "$T/r-$ps" "$repo"
    ibs_log "page size $ps: OK ($want)"
done
