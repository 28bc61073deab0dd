# shellcheck shell=bash
# prepare_oracle.sh workload: sysbench oltp_write_only on 4 small tables.
# oracle_setup creates the data; oracle_run writes until $T/workload.run goes
# away (and at most 120 s).
oracle_sysbench_args() {
    echo --db-driver=mysql --mysql-socket="$IBS_TEST_MYSQL_SOCKET" --mysql-user=root \
        --mysql-db=sbtest --tables=4 --table-size=10000
}

oracle_setup() {
    ibs_sql "CREATE DATABASE sbtest"
    # shellcheck disable=SC2046
    sysbench oltp_write_only $(oracle_sysbench_args) prepare >"$T/sysbench-prepare.log" 2>&1 ||
        { tail "$T/sysbench-prepare.log" >&2; ibs_die "sysbench prepare failed"; }
}

oracle_run() {
    # Rounds of 3 s until the backup ends (at most 40): sysbench stops cleanly
    # and prints its summary each time, which a signal would not give.
    local round total=0 n
    for ((round = 0; round < 40; round++)); do
        [[ -f "$T/workload.run" ]] || break
        # shellcheck disable=SC2046
        sysbench oltp_write_only $(oracle_sysbench_args) --threads=4 --time=3 \
            --report-interval=0 run >"$T/sysbench-run.log" 2>&1 ||
            { tail "$T/sysbench-run.log"; return 1; }
        n=$(awk '/transactions:/ { print $2 }' "$T/sysbench-run.log")
        total=$((total + n))
    done
    echo "sysbench oltp_write_only: $total transactions in $round rounds of 3 s"
}
