# shellcheck shell=bash
# prepare_oracle.sh workload "ddl": CREATE, INSERT, ALTER in place (ADD INDEX)
# and by rebuild (FORCE), RENAME, TRUNCATE and DROP of tables while the
# backup copies (BACKUP STAGE BLOCK_DDL makes the last ones wait), beside
# ordinary writes to a table that lives throughout.
# shellcheck source=tests/integration/invariants/oracle_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/oracle_lib.sh"

oracle_setup() {
    ibs_sql "CREATE DATABASE d;
        CREATE TABLE d.keep (id INT PRIMARY KEY, v INT, KEY (v)) ENGINE=InnoDB;
        INSERT INTO d.keep SELECT seq, seq FROM mysql.seq_1_to_20000;"
    local i
    for i in 0 1 2 3; do
        ibs_sql "CREATE TABLE d.old$i (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB;
                 INSERT INTO d.old$i SELECT seq, MD5(seq) FROM mysql.seq_1_to_3000;"
    done
}

ddl_round() {
    local r=$1
    ibs_sql "CREATE TABLE d.t$r (id INT PRIMARY KEY, v INT, w VARCHAR(100)) ENGINE=InnoDB;
             INSERT INTO d.t$r SELECT seq, seq % 101, MD5(seq) FROM mysql.seq_1_to_2000;
             ALTER TABLE d.t$r ADD INDEX (v), ALGORITHM=INPLACE;
             UPDATE d.t$r SET v = v + 1 WHERE id % 3 = 0;
             ALTER TABLE d.t$r FORCE;
             RENAME TABLE d.t$r TO d.r$r;"
    case $((r % 4)) in
    0) ibs_sql "DROP TABLE d.r$r" ;;
    1) ibs_sql "TRUNCATE TABLE d.r$r; INSERT INTO d.r$r SELECT seq, seq, 'x' FROM mysql.seq_1_to_100" ;;
    2) if ((r < 16)); then ibs_sql "DROP TABLE IF EXISTS d.old$((r / 4))"; fi ;;
    *) ibs_sql "ALTER TABLE d.r$r ADD COLUMN z INT DEFAULT 7, ALGORITHM=INSTANT" ;;
    esac
}

ddl_writes() {
    local lo=$((RANDOM % 19000))
    ibs_sql "UPDATE d.keep SET v = v + 1 WHERE id BETWEEN $lo AND $lo + 400"
}

oracle_run() { oracle_parallel ddl_round ddl_writes; }
