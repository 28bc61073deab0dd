# shellcheck shell=bash
# prepare_oracle.sh workload "formats": inserts, updates and deletes on
# ROW_FORMAT=REDUNDANT, COMPACT and DYNAMIC PAGE_COMPRESSED=1 tables.
# shellcheck source=tests/integration/invariants/oracle_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/oracle_lib.sh"


oracle_setup() {
    ibs_sql "CREATE DATABASE f"
    local name opts
    for name in red cmp pc; do
        case $name in
        red) opts="ROW_FORMAT=REDUNDANT" ;;
        cmp) opts="ROW_FORMAT=COMPACT" ;;
        pc) opts="ROW_FORMAT=DYNAMIC PAGE_COMPRESSED=1" ;;
        esac
        ibs_sql "CREATE TABLE f.$name (id INT PRIMARY KEY, k INT, v VARCHAR(300), KEY (k))
                 ENGINE=InnoDB $opts;
                 INSERT INTO f.$name SELECT seq, seq % 997, REPEAT(MD5(seq), 1 + seq % 8)
                 FROM mysql.seq_1_to_8000"
    done
}

formats_round() { # ROUND WRITER: one table per round, in turn
    local tables=(red cmp pc) name lo
    name=${tables[$((($1 + $2) % 3))]}
    lo=$((RANDOM % 7000))
    ibs_sql "INSERT INTO f.$name SELECT 100000 + $2 * 500000 + $1 * 300 + seq, seq, REPEAT('n', seq % 250)
             FROM mysql.seq_1_to_300;
             UPDATE f.$name SET k = k + 1, v = REPEAT(MD5(RAND()), 1 + id % 9) WHERE id BETWEEN $lo AND $lo + 300;
             DELETE FROM f.$name WHERE id BETWEEN $lo + 400 AND $lo + 700" && sleep 0.3
}

formats_a() { formats_round "$1" 0; }
formats_b() { formats_round "$1" 1; }

oracle_run() { oracle_parallel formats_a formats_b; }
