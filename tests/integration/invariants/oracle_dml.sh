# shellcheck shell=bash
# prepare_oracle.sh workload "dml": a bulk INSERT ... SELECT with off-page
# BLOBs, updates of secondary-index columns, and DELETEs that empty most pages
# of a table (purge then frees and merges them), all at once.
# shellcheck source=tests/integration/invariants/oracle_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/oracle_lib.sh"

oracle_setup() {
    ibs_sql "CREATE DATABASE w;
        CREATE TABLE w.bulk (id INT AUTO_INCREMENT PRIMARY KEY, a INT, b VARCHAR(200),
                             c MEDIUMTEXT, KEY (a)) ENGINE=InnoDB;
        INSERT INTO w.bulk (a, b, c) SELECT seq, MD5(seq), IF(seq % 20 = 0, REPEAT('x', 20000), NULL)
            FROM mysql.seq_1_to_2000;
        CREATE TABLE w.idx (id INT PRIMARY KEY, k1 INT, k2 VARCHAR(64), k3 INT, pad CHAR(60),
                            KEY (k1), KEY (k2), KEY (k3, k1)) ENGINE=InnoDB;
        INSERT INTO w.idx SELECT seq, seq * 7 % 10007, MD5(seq), seq % 100, 'p' FROM mysql.seq_1_to_20000;
        CREATE TABLE w.del (id INT PRIMARY KEY, pad CHAR(200), KEY (pad(20))) ENGINE=InnoDB;
        INSERT INTO w.del SELECT seq, SHA2(seq, 256) FROM mysql.seq_1_to_30000;"
}

dml_bulk() { # doubling is too much; 2000 rows a round, every 20th with a 20 KB BLOB
    ibs_sql "INSERT INTO w.bulk (a, b, c)
             SELECT a + $1, b, IF(id % 20 = 0, REPEAT(CHAR(65 + $1 % 26), 20000), NULL)
             FROM w.bulk ORDER BY id LIMIT 2000" && sleep 1
}

dml_index() {
    local lo=$((RANDOM % 19000))
    ibs_sql "UPDATE w.idx SET k1 = FLOOR(RAND() * 100000), k2 = MD5(RAND()), k3 = k3 + 1
             WHERE id BETWEEN $lo AND $lo + 500" && sleep 0.2
}

dml_delete() { # most rows go, in 3000-row slices, then everything but a few
    local lo=$(($1 * 3000))
    if ((lo < 30000)); then
        ibs_sql "DELETE FROM w.del WHERE id BETWEEN $lo AND $lo + 2999 AND id % 50 <> 0" && sleep 0.5
    else
        ibs_sql "DELETE FROM w.del WHERE id % 1000 <> 0" && sleep 1
    fi
}

oracle_run() { oracle_parallel dml_bulk dml_index dml_delete; }
