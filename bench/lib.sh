# shellcheck shell=bash
# Shared helpers of the bench/ scripts (backup, restore, prepare). Source it
# after setting nothing; it sources the integration harness
# (tests/integration/lib.sh), so every server a bench starts is stopped and its
# temp dir removed on exit, failure or Ctrl-C.
#
# Environment:
#   BENCH_BUILD     build dir holding tools/ibstream (default build-bench)
#   BENCH_RUNS      repetitions of each measurement (default 3; medians quoted)
#   BENCH_CACHE     where generated datasets are kept between runs
#                   (default /tmp/ibstream-bench-cache; delete it to regenerate)
#   BENCH_OUT       directory for the raw results (default: under the temp dir)
#
# Measurements: bench_pipe NAME STAGE... runs STAGE1 | STAGE2 | ... once, each
# stage under GNU time, and appends to $BENCH_OUT/NAME.txt one line
#   wall_s cpu_s rss_sum_kib rss_max_kib
# wall: the whole pipeline; cpu: user+sys summed over the stages (children
# included); rss_sum: the stages' peak RSS added up (they run at the same
# time, so this bounds the pipeline's footprint from above); rss_max: the
# largest stage.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_ROOT="$(dirname "$BENCH_DIR")"
# shellcheck source=../tests/integration/lib.sh
. "$BENCH_ROOT/tests/integration/lib.sh"

BENCH_BUILD=${BENCH_BUILD:-$BENCH_ROOT/build-bench}
IBSTREAM=${IBSTREAM:-$BENCH_BUILD/tools/ibstream}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_CACHE=${BENCH_CACHE:-/tmp/ibstream-bench-cache}
BENCH_OUT=${BENCH_OUT:-$IBS_TEST_TMPDIR/results}
mkdir -p "$BENCH_OUT"
rm -f "$BENCH_OUT"/*.txt # results of an earlier run in the same BENCH_OUT
# The dataset's backup user: fixed, since a cached datadir carries it.
BENCH_USER=ibstream
BENCH_PASSWORD=ibs-bench-password

bench_log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_require() {
    local c
    [[ -x $IBSTREAM ]] || ibs_die "$IBSTREAM is missing: cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && make -C build-bench -j2 ibstream"
    [[ -x /usr/bin/time ]] || ibs_die "/usr/bin/time is missing: scripts/install-deps (package time)"
    for c in "$@"; do
        command -v "$c" >/dev/null || ibs_die "$c is not installed (scripts/install-deps)"
    done
}

# ------------------------------------------------------------- dataset --

# bench_dataset SIZE_GB [mysqld options...]: start instance "main" on a copy of
# a sysbench dataset of about SIZE_GB on disk (4 oltp tables in db sbtest),
# generating and caching it first if needed. Exports BENCH_TABLES and
# BENCH_TABLE_SIZE for sysbench.
BENCH_TABLES=4
bench_dataset() {
    local size=$1
    shift
    # ~230 bytes per sysbench row on disk (data + secondary index).
    BENCH_TABLE_SIZE=$(awk -v g="$size" -v t="$BENCH_TABLES" 'BEGIN { printf "%d", g * 1e9 / t / 230 }')
    export BENCH_TABLES BENCH_TABLE_SIZE
    local cache="$BENCH_CACHE/sbtest-${BENCH_TABLES}x${BENCH_TABLE_SIZE}"
    if [[ ! -f $cache/.complete ]]; then
        bench_log "generating the dataset: $BENCH_TABLES tables x $BENCH_TABLE_SIZE rows (cached in $cache)"
        rm -rf "$cache"
        mkdir -p "$BENCH_CACHE"
        ibs_start_mariadb --innodb-buffer-pool-size=1G --innodb-log-file-size=512M \
            --innodb-flush-log-at-trx-commit=2
        ibs_sql "CREATE DATABASE sbtest;
                 CREATE USER IF NOT EXISTS '$BENCH_USER'@'localhost';
                 ALTER USER '$BENCH_USER'@'localhost' IDENTIFIED BY '$BENCH_PASSWORD';
                 GRANT ALL ON *.* TO '$BENCH_USER'@'localhost';" ||
            ibs_die "cannot create the bench database"
        timeout 3600 sysbench oltp_read_write --db-driver=mysql --mysql-socket="$IBS_TEST_MYSQL_SOCKET" \
            --mysql-user=root --mysql-db=sbtest --tables="$BENCH_TABLES" \
            --table-size="$BENCH_TABLE_SIZE" --threads="$BENCH_TABLES" prepare >"$IBS_TEST_TMPDIR/prepare.log" ||
            ibs_die "sysbench prepare failed: $(tail -5 "$IBS_TEST_TMPDIR/prepare.log")"
        ibs_stop_mariadb main
        cp -a "$IBS_TEST_DATADIR" "$cache"
        touch "$cache/.complete"
        rm -rf "$IBS_TEST_DATADIR"
        unset "IBS__MYSQL_PID[main]"
    fi
    rm -rf "$IBS_TEST_TMPDIR/data"
    cp -a "$cache" "$IBS_TEST_TMPDIR/data"
    rm -f "$IBS_TEST_TMPDIR/data/.complete"
    export IBS_TEST_MYSQL_USER=$BENCH_USER IBS_TEST_MYSQL_PASSWORD=$BENCH_PASSWORD
    ibs_start_mariadb_on --name main "$IBS_TEST_TMPDIR/data" "$@"
    BENCH_DATA_BYTES=$(ibs_sql "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = 'sbtest'")
    BENCH_DISK_BYTES=$(du -sb --exclude='ib_logfile*' --exclude='mysql-bin.*' "$IBS_TEST_DATADIR" | cut -f1)
    export BENCH_DATA_BYTES BENCH_DISK_BYTES
    bench_log "dataset: $(bench_mib "$BENCH_DISK_BYTES") MiB on disk without redo and binlog ($(bench_mib "$BENCH_DATA_BYTES") MiB in sbtest tables)"
}

bench_mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# The mariadb client options of the root user of instance main.
bench_root_opts() { echo "--user=root --socket=$IBS_TEST_MYSQL_SOCKET"; }

# ----------------------------------------------------------- measuring --

# bench_pipe NAME STAGE...: see the header. A failing stage fails the bench.
bench_pipe() {
    local name=$1 i n cmd="" t0 t1 f
    shift
    n=$#
    for ((i = 1; i <= n; i++)); do
        f="$IBS_TEST_TMPDIR/time.$name.$i"
        rm -f "$f"
        ((i > 1)) && cmd+=" | "
        cmd+="/usr/bin/time -f '%e %U %S %M' -o '$f' bash -c $(printf '%q' "${!i}")"
    done
    bench_log "$name: $*"
    t0=$(date +%s.%N)
    bash -o pipefail -c "$cmd" || ibs_die "$name failed: $*"
    t1=$(date +%s.%N)
    local cpu=0 rsum=0 rmax=0 line
    for ((i = 1; i <= n; i++)); do
        line=$(tail -n 1 "$IBS_TEST_TMPDIR/time.$name.$i")
        read -r cpu rsum rmax < <(awk -v c="$cpu" -v s="$rsum" -v m="$rmax" -v l="$line" 'BEGIN {
            split(l, a, " "); c += a[2] + a[3]; s += a[4]; if (a[4] > m) m = a[4]
            print c, s, m }')
    done
    awk -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v c="$cpu" -v s="$rsum" -v m="$rmax" \
        'BEGIN { printf "%.2f %.2f %d %d\n", w, c, s, m }' | tee -a "$BENCH_OUT/$name.txt" >&2
}

bench_median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# bench_col NAME COLUMN: median of that column of NAME's results.
bench_col() {
    if [[ -s $BENCH_OUT/$1.txt ]]; then
        awk -v c="$2" '{ print $c }' "$BENCH_OUT/$1.txt" | bench_median
    else
        echo 0 # not measured in this run
    fi
}

# bench_combine NAME PART...: one result line for steps run one after the
# other: walls and CPUs added, RSS the largest of the steps.
bench_combine() {
    local name=$1 p
    shift
    for p in "$@"; do tail -n 1 "$BENCH_OUT/$p.txt"; done | awk '
        { w += $1; c += $2; if ($3 > s) s = $3; if ($4 > m) m = $4 }
        END { printf "%.2f %.2f %d %d\n", w, c, s, m }' | tee -a "$BENCH_OUT/$name.txt" >&2
}

bench_drop_caches() {
    [[ ${BENCH_DROP_CACHES:-1} == 1 ]] || return 0
    sync
    echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || bench_log "cannot drop the page cache (not root?)"
}

# bench_record NAME VALUE: one more sample of a plain number (stored bytes...).
bench_record() { echo "$2" >>"$BENCH_OUT/$1.txt"; }

bench_table_header() {
    printf '%-28s %9s %9s %11s %11s %12s\n' "pipeline (median of $BENCH_RUNS)" "wall s" "cpu s" \
        "RSS sum MiB" "RSS max MiB" "stored MiB"
}

# bench_table_row NAME [STORED_NAME]
bench_table_row() {
    local stored=nan
    [[ -n ${2:-} && -s $BENCH_OUT/$2.txt ]] && stored=$(bench_mib "$(bench_col "$2" 1)")
    printf '%-28s %9.2f %9.2f %11.1f %11.1f %12s\n' "$1" "$(bench_col "$1" 1)" "$(bench_col "$1" 2)" \
        "$(awk -v k="$(bench_col "$1" 3)" 'BEGIN { print k / 1024 }')" \
        "$(awk -v k="$(bench_col "$1" 4)" 'BEGIN { print k / 1024 }')" "$stored"
}

# bench_ratio LABEL A B COLUMN: median(A)/median(B) of that column.
bench_ratio() {
    awk -v l="$1" -v a="$(bench_col "$2" "$4")" -v b="$(bench_col "$3" "$4")" \
        'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%-52s %6.3f  (%s / %s)\n", l, a / b, a, b
                 else printf "%-52s n/a\n", l }'
}

# ------------------------------------------------------------- S3 --------

# Start the emulator (the harness gives node the legacy OpenSSL provider that
# listings need).
bench_start_s3() {
    ibs_start_s3
    BENCH_BUCKET=$IBS_TEST_S3_BUCKET
    export BENCH_BUCKET
}

# bench_s3_bytes PREFIX: bytes stored under s3://bucket/PREFIX/
bench_s3_bytes() {
    ibs_aws s3api list-objects-v2 --bucket "$BENCH_BUCKET" --prefix "$1/" \
        --query 'sum(Contents[].Size)' --output text
}

bench_s3_rm() { ibs_aws --only-show-errors s3 rm --recursive "s3://$BENCH_BUCKET/$1/" >/dev/null; }

# ----------------------------------------------------------- workload ---

# bench_sysbench_start NAME SECONDS [extra sysbench options]: oltp_read_write,
# 4 threads, one report a second into $IBS_TEST_TMPDIR/NAME.sb, in the
# background (BENCH_SB_PID). Its clock starts now (BENCH_SB_T0).
bench_sysbench_start() {
    local name=$1 secs=$2
    shift 2
    BENCH_SB_LOG="$IBS_TEST_TMPDIR/$name.sb"
    BENCH_SB_T0=$(date +%s.%N)
    stdbuf -oL sysbench "${BENCH_SB_TEST:-oltp_read_write}" --db-driver=mysql \
        --mysql-socket="$IBS_TEST_MYSQL_SOCKET" --mysql-user=root --mysql-db=sbtest \
        --tables="$BENCH_TABLES" --table-size="$BENCH_TABLE_SIZE" --threads="${BENCH_SB_THREADS:-4}" \
        --time="$secs" --report-interval=1 --percentile=95 "$@" run >"$BENCH_SB_LOG" 2>&1 &
    BENCH_SB_PID=$!
}

bench_sysbench_stop() {
    if [[ -n ${BENCH_SB_PID:-} ]]; then
        # sysbench ignores SIGINT; SIGTERM ends it (its 1 s reports are already out).
        kill -TERM "$BENCH_SB_PID" 2>/dev/null || true
        wait "$BENCH_SB_PID" 2>/dev/null || true
        BENCH_SB_PID=
    fi
}

# Offset in seconds of now from the sysbench clock.
bench_sb_now() { awk -v a="$BENCH_SB_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# bench_sb_window LOG FROM TO: "tps p95_ms" over the 1 s reports that overlap
# (FROM, TO]: mean TPS, median of the per-second 95th percentiles.
bench_sb_window() {
    awk -v from="$2" -v to="$3" '
        /^\[ *[0-9]+s \]/ {
            s = $2; sub(/s/, "", s); s += 0
            if (s <= from || s - 1 >= to) next
            for (i = 1; i <= NF; i++) {
                if ($i == "tps:") { tps += $(i + 1); n++ }
                if ($i == "(ms,95%):") p[++m] = $(i + 1)
            }
        }
        END {
            if (!n) { print "nan nan"; exit }
            asort(p)
            printf "%.1f %.2f\n", tps / n, (m % 2) ? p[(m + 1) / 2] : (p[m / 2] + p[m / 2 + 1]) / 2
        }' "$1"
}
