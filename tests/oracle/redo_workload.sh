#!/bin/sh
# Write workload for the redo apply oracle: REDUNDANT, COMPACT and DYNAMIC tables
# with secondary indexes, inserts, deletes and updates (in place and
# size-changing), so the log holds every page-level record type the server
# writes for them. Usage: redo_workload.sh <socket> <setup|run> [rounds]
set -eu
sock=$1 mode=$2 rounds=${3:-50}
sql() { mariadb -S "$sock" -uroot test -e "$1"; }

if [ "$mode" = setup ]; then
    mariadb -S "$sock" -uroot -e 'CREATE DATABASE IF NOT EXISTS test'
    for fmt in REDUNDANT COMPACT DYNAMIC; do
        t=t_$(echo $fmt | tr A-Z a-z)
        sql "DROP TABLE IF EXISTS $t;
             CREATE TABLE $t (id INT PRIMARY KEY, a VARCHAR(200), b INT, c CHAR(10),
                              KEY kb (b), KEY ka (a(20))) ENGINE=InnoDB ROW_FORMAT=$fmt;"
        sql "INSERT INTO $t SELECT seq, REPEAT(CHAR(65 + seq % 26), 1 + seq % 150), seq % 97, 'x'
             FROM seq_1_to_3000;"
    done
    exit 0
fi

i=0
while [ $i -lt "$rounds" ]; do
    for t in t_redundant t_compact t_dynamic; do
        base=$((3000 + i * 40))
        sql "BEGIN;
             INSERT INTO $t SELECT seq, REPEAT('n', 1 + seq % 180), seq % 13, 'y'
                 FROM seq_${base}_to_$((base + 39)) ON DUPLICATE KEY UPDATE b = b + 1;
             UPDATE $t SET b = b + 1 WHERE id % 17 = $((i % 17));
             UPDATE $t SET a = REPEAT('u', 1 + (id + $i) % 190) WHERE id % 23 = $((i % 23));
             UPDATE $t SET c = 'z' WHERE id % 31 = $((i % 31));
             DELETE FROM $t WHERE id % 29 = $((i % 29)) AND id < $base;
             COMMIT;"
    done
    i=$((i + 1))
done
