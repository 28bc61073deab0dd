# shellcheck shell=bash
# Helpers of the incremental tests (tests/integration/incremental_*.sh).
# Source after lib.sh.
#
# The workload: write_load.sh's transfers between accounts (constant total in
# inc.wl_acct) plus inserts, updates and deletes on inc.items, whose secondary
# index (k) moves with every update. Bounded: each run stops after its
# seconds or when the stop file appears.

IBS_INC_WL="$IBS_LIB_DIR/workload/write_load.sh"

inc_backup() { # [backup options...]
    "$IBSTREAM" backup --defaults-file="$IBS_TEST_DEFAULTS_FILE" --repo "$IBS_INC_REPO" "$@"
}

inc_last_id() { ls "$IBS_INC_REPO/backups" | sort | tail -1; }

inc_setup() {
    "$IBS_INC_WL" init --socket "$IBS_TEST_MYSQL_SOCKET" --db inc ||
        ibs_die "write_load.sh init failed"
    ibs_sql "CREATE TABLE inc.items (id INT PRIMARY KEY AUTO_INCREMENT, k INT NOT NULL,
               v VARCHAR(255), KEY (k)) ENGINE=InnoDB;
             INSERT INTO inc.items (k, v) SELECT seq % 997, REPEAT(CHAR(65 + seq % 26), 120)
               FROM inc.seq_1_to_20000;"
}

# inc_items_run SECONDS STOPFILE: one client changing inc.items.
inc_items_run() {
    local deadline=$((SECONDS + $1)) stop=$2 i=0
    while ((SECONDS < deadline)) && [[ ! -e "$stop" ]]; do
        printf 'INSERT INTO items (k, v) VALUES (%d, RANDOM_BYTES(100));\n' $((RANDOM % 997))
        printf 'UPDATE items SET k = k + 1, v = CONCAT(v, "x") WHERE id = %d;\n' $((RANDOM % 20000 + 1))
        printf 'UPDATE items SET k = %d WHERE k = %d LIMIT 5;\n' $((RANDOM % 997)) $((RANDOM % 997))
        ((i % 3 == 0)) && printf 'DELETE FROM items WHERE id = %d;\n' $((RANDOM % 20000 + 1))
        i=$((i + 1))
    done | mariadb --no-defaults --user=root --socket="$IBS_TEST_MYSQL_SOCKET" --database=inc
}

# inc_load_start NAME SECONDS: start the workload in the background.
inc_load_start() {
    local name=$1 secs=$2
    rm -f "$IBS_TEST_TMPDIR/$name.stop"
    (
        "$IBS_INC_WL" run --socket "$IBS_TEST_MYSQL_SOCKET" --db inc --clients 3 \
            --seconds "$secs" --stop-file "$IBS_TEST_TMPDIR/$name.stop" &
        inc_items_run "$secs" "$IBS_TEST_TMPDIR/$name.stop" &
        rc=0
        wait %1 || rc=1
        wait %2 || rc=1
        exit $rc
    ) >"$IBS_TEST_TMPDIR/$name.log" 2>&1 &
    IBS_INC_LOAD_PID=$!
}

inc_load_stop() { # NAME
    : >"$IBS_TEST_TMPDIR/$1.stop"
    wait "$IBS_INC_LOAD_PID" || { tail -n 20 "$IBS_TEST_TMPDIR/$1.log" >&2; ibs_die "workload $1 failed"; }
}

# inc_checksums NAME: "table checksum" of every table of inc, in name order.
inc_checksums() {
    local t
    for t in $(ibs_sql_on "$1" "SELECT table_name FROM information_schema.tables
                               WHERE table_schema = 'inc' ORDER BY 1"); do
        ibs_sql_on "$1" "CHECKSUM TABLE inc.$t"
    done
}

# inc_check_tables NAME: CHECK TABLE of every inc table says OK.
inc_check_tables() {
    local t out
    for t in $(ibs_sql_on "$1" "SELECT table_name FROM information_schema.tables
                               WHERE table_schema = 'inc' ORDER BY 1"); do
        out=$(ibs_sql_on "$1" "CHECK TABLE inc.$t" | awk '$3 != "status" || $4 != "OK"')
        [[ -z "$out" ]] || ibs_die "CHECK TABLE inc.$t on $1: $out"
    done
}

# inc_replay_binlog NAME POSITION_LINE: replays the source's binlog into
# instance NAME from the position restore printed ("binlog position:
# FILE:POS, gtid ..."), through the newest binlog file.
inc_replay_binlog() {
    local name=$1 line=$2 file pos files=() f sock
    file=$(sed -n 's/^binlog position: \([^:]*\):\([0-9]*\).*/\1/p' <<<"$line")
    pos=$(sed -n 's/^binlog position: \([^:]*\):\([0-9]*\).*/\2/p' <<<"$line")
    [[ -n "$file" && -n "$pos" ]] || ibs_die "no binlog position in '$line'"
    while read -r f; do
        f=$(basename "$f")
        [[ "$f" < "$file" ]] || files+=("$IBS_TEST_DATADIR/$f")
    done <"$IBS_TEST_DATADIR/mysql-bin.index"
    sock=$(ibs__instance_var "$name" MYSQL_SOCKET)
    mariadb-binlog --no-defaults --start-position="$pos" "${files[@]}" |
        mariadb --no-defaults --user=root --socket="$sock" ||
        ibs_die "replaying the binlog from $file:$pos into $name failed"
}

# inc_checkpoint_past LSN: make the server checkpoint beyond LSN (bounded:
# 60 s), so the next backup's log starts after it and the pages changed
# before it must come from the data files, not from that backup's log.
inc_checkpoint_past() {
    local lsn=$1 now i
    ibs_sql "SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0.001; SET GLOBAL innodb_max_dirty_pages_pct = 0"
    for ((i = 0; i < 300; i++)); do
        now=$(ibs_sql "SELECT variable_value FROM information_schema.global_status
                       WHERE variable_name = 'INNODB_LSN_LAST_CHECKPOINT'")
        ((now > lsn)) && return 0
        sleep 0.2
    done
    ibs_die "the server did not checkpoint past LSN $lsn within 60 s (last checkpoint $now)"
}

# inc_lsns FILE: "checkpoint end" LSNs from a backup's summary ("  LSN a..b").
inc_lsns() { sed -n 's/^  LSN \([0-9]*\)\.\.\([0-9]*\).*/\1 \2/p' "$1"; }
