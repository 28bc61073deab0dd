# shellcheck shell=bash
# prepare_oracle.sh workload "compressed": writes to ROW_FORMAT=COMPRESSED
# tables (KEY_BLOCK_SIZE 8 and 4) during the backup.
# shellcheck source=tests/integration/invariants/oracle_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/oracle_lib.sh"

oracle_setup() {
    ibs_sql "CREATE DATABASE z;
        CREATE TABLE z.k8 (id INT PRIMARY KEY, k INT, v VARCHAR(300), KEY (k))
            ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;
        CREATE TABLE z.k4 (id INT PRIMARY KEY, k INT, v VARCHAR(300), KEY (k))
            ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;
        INSERT INTO z.k8 SELECT seq, seq % 997, REPEAT(MD5(seq), 1 + seq % 8) FROM mysql.seq_1_to_8000;
        INSERT INTO z.k4 SELECT seq, seq % 997, REPEAT(MD5(seq), 1 + seq % 8) FROM mysql.seq_1_to_8000;"
}

compressed_round() {
    local name=k$((8 >> ($1 % 2))) lo=$((RANDOM % 7000))
    ibs_sql "INSERT INTO z.$name SELECT 100000 + $1 * 300 + seq, seq, REPEAT('n', seq % 250)
             FROM mysql.seq_1_to_300;
             UPDATE z.$name SET k = k + 1, v = MD5(RAND()) WHERE id BETWEEN $lo AND $lo + 300;
             DELETE FROM z.$name WHERE id BETWEEN $lo + 400 AND $lo + 700" && sleep 0.3
}

oracle_run() { oracle_parallel compressed_round; }
