#!/usr/bin/env bash
# A bounded writing workload with a checkable invariant, for backups taken
# under load. Each client moves money between rows of <db>.wl_acct inside one
# transaction and logs the transfer in <db>.wl_hist with a padding column, so
# the sum of wl_acct.bal never changes (100 rows of 1000: 100000) whatever
# instant a consistent backup captures. --nontx also appends to a MyISAM and
# an Aria table, which a backup must copy while their writes are blocked.
#
#   write_load.sh init  --socket S --db D
#   write_load.sh run   --socket S --db D [--clients N] [--seconds T]
#                       [--stop-file F] [--pad BYTES] [--nontx]
#   write_load.sh check --socket S --db D    (exit 1 if the invariant is broken)
#
# run ends after T seconds (default 30) or as soon as F exists, whichever
# comes first; it waits for its clients and exits 0 unless one failed.
set -u

cmd=${1:?usage: write_load.sh init|run|check --socket S --db D ...}
shift
socket= db= clients=2 seconds=30 stop_file= pad=200 nontx=0
while (($#)); do
    case $1 in
    --socket) socket=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --stop-file) stop_file=$2; shift 2 ;;
    --pad) pad=$2; shift 2 ;;
    --nontx) nontx=1; shift ;;
    *) echo "write_load.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -n "$socket" && -n "$db" ]] || { echo "write_load.sh: --socket and --db are required" >&2; exit 2; }

sql() { mariadb --no-defaults --user=root --socket="$socket" --batch --skip-column-names "$@"; }

case $cmd in
init)
    sql -e "
        CREATE DATABASE IF NOT EXISTS \`$db\`;
        CREATE TABLE \`$db\`.wl_acct (id INT PRIMARY KEY, bal BIGINT NOT NULL) ENGINE=InnoDB;
        CREATE TABLE \`$db\`.wl_hist (id BIGINT AUTO_INCREMENT PRIMARY KEY, client INT,
            src INT, dst INT, pad VARBINARY(8000)) ENGINE=InnoDB;
        CREATE TABLE \`$db\`.wl_myisam (id BIGINT AUTO_INCREMENT PRIMARY KEY, client INT,
            pad VARBINARY(2000)) ENGINE=MyISAM;
        CREATE TABLE \`$db\`.wl_aria (id BIGINT AUTO_INCREMENT PRIMARY KEY, client INT,
            pad VARBINARY(2000)) ENGINE=Aria;
        INSERT INTO \`$db\`.wl_acct SELECT seq, 1000 FROM \`$db\`.seq_1_to_100;"
    ;;
check)
    total=$(sql -e "SELECT SUM(bal), COUNT(*) FROM \`$db\`.wl_acct") || exit 1
    if [[ "$total" != $'100000\t100' ]]; then
        echo "write_load.sh: invariant broken in $db.wl_acct: SUM(bal), COUNT(*) = $total, want 100000 100" >&2
        exit 1
    fi
    ;;
run)
    deadline=$((SECONDS + seconds))
    client() { # n: statements on stdin of one client, until the deadline or the stop file
        local n=$1 i=0 src dst lo hi lo_d hi_d
        while ((SECONDS < deadline)) && [[ -z "$stop_file" || ! -e "$stop_file" ]]; do
            src=$((RANDOM % 100 + 1)) dst=$((RANDOM % 100 + 1))
            # Rows locked in id order: clients never deadlock.
            if ((src < dst)); then lo=$src lo_d=-1 hi=$dst hi_d=1; else lo=$dst lo_d=1 hi=$src hi_d=-1; fi
            printf 'BEGIN; UPDATE wl_acct SET bal = bal + %d WHERE id = %d; UPDATE wl_acct SET bal = bal + %d WHERE id = %d; INSERT INTO wl_hist (client, src, dst, pad) VALUES (%d, %d, %d, RANDOM_BYTES(%d)); COMMIT;\n' \
                "$lo_d" "$lo" "$hi_d" "$hi" "$n" "$src" "$dst" "$((pad < 1024 ? pad : 1024))"
            if ((pad > 1024)); then
                printf 'UPDATE wl_hist SET pad = REPEAT(RANDOM_BYTES(1024), %d) WHERE id = LAST_INSERT_ID();\n' \
                    "$((pad / 1024))"
            fi
            if ((nontx && i % 4 == 0)); then
                printf 'INSERT INTO wl_myisam (client, pad) VALUES (%d, RANDOM_BYTES(300)); INSERT INTO wl_aria (client, pad) VALUES (%d, RANDOM_BYTES(300));\n' "$n" "$n"
            fi
            # Keep the table from growing without bound in long runs.
            ((i % 500 == 499)) && printf 'DELETE FROM wl_hist WHERE client = %d ORDER BY id LIMIT 250;\n' "$n"
            i=$((i + 1))
        done | sql --database="$db"
    }
    pids=()
    for ((c = 1; c <= clients; c++)); do
        client "$c" &
        pids+=($!)
    done
    rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    exit $rc
    ;;
*)
    echo "write_load.sh: unknown command $cmd (init, run, check)" >&2
    exit 2
    ;;
esac
