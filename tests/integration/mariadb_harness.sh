#!/usr/bin/env bash
# Shows the MariaDB harness works: a private server with binlog on, data written
# as root, read back by the backup user over the socket and over TCP, and the
# backup user holding the privileges a physical backup needs.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ibs_start_mariadb

for v in IBS_TEST_MYSQL_SOCKET IBS_TEST_MYSQL_PORT IBS_TEST_MYSQL_USER IBS_TEST_MYSQL_PASSWORD \
    IBS_TEST_DATADIR IBS_TEST_DEFAULTS_FILE; do
    [[ -n "${!v:-}" ]] || ibs_die "$v is not set by ibs_start_mariadb"
done
[[ -S "$IBS_TEST_MYSQL_SOCKET" ]] || ibs_die "socket $IBS_TEST_MYSQL_SOCKET does not exist"
[[ "$IBS_TEST_DATADIR" == "$IBS_TEST_TMPDIR"/* ]] || ibs_die "datadir $IBS_TEST_DATADIR is outside the test's temp dir"

ibs_sql "CREATE DATABASE harness;
         CREATE TABLE harness.t (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB;
         INSERT INTO harness.t VALUES (1,'one'),(2,'two'),(3,'three');"
expected=$'1\tone\n2\ttwo\n3\tthree'

engine=$(ibs_sql "SELECT engine FROM information_schema.tables WHERE table_schema='harness' AND table_name='t'")
[[ "$engine" == InnoDB ]] || ibs_die "harness.t has engine '$engine', expected InnoDB"

# As the backup user over the socket, through the option file...
got=$(mariadb --defaults-file="$IBS_TEST_DEFAULTS_FILE" --batch --skip-column-names \
    -e "SELECT id, name FROM harness.t ORDER BY id")
[[ "$got" == "$expected" ]] || ibs_die "socket read as ibstream gave '$got', expected '$expected'"

# ...and over TCP on loopback, with explicit credentials.
got=$(mariadb --no-defaults --protocol=TCP --host=127.0.0.1 --port="$IBS_TEST_MYSQL_PORT" \
    --user="$IBS_TEST_MYSQL_USER" --password="$IBS_TEST_MYSQL_PASSWORD" --batch --skip-column-names \
    -e "SELECT id, name FROM harness.t ORDER BY id")
[[ "$got" == "$expected" ]] || ibs_die "TCP read as ibstream gave '$got', expected '$expected'"

via=$(mariadb --no-defaults --protocol=TCP --host=127.0.0.1 --port="$IBS_TEST_MYSQL_PORT" \
    --user="$IBS_TEST_MYSQL_USER" --password="$IBS_TEST_MYSQL_PASSWORD" --batch --skip-column-names \
    -e "SELECT CURRENT_USER()")
[[ "$via" == "ibstream@127.0.0.1" ]] || ibs_die "TCP connection authenticated as '$via', expected ibstream@127.0.0.1"

# A wrong password must be refused (the user really has one).
if mariadb --no-defaults --protocol=TCP --host=127.0.0.1 --port="$IBS_TEST_MYSQL_PORT" \
    --user="$IBS_TEST_MYSQL_USER" --password=wrong -e "SELECT 1" >/dev/null 2>&1; then
    ibs_die "the ibstream user logged in with a wrong password"
fi

log_bin=$(ibs_sql "SELECT @@log_bin, @@binlog_format, @@server_id")
[[ "$log_bin" == $'1\tROW\t1' ]] || ibs_die "binlog settings are '$log_bin', expected log_bin=1 ROW server_id=1"
ibs_sql "SHOW MASTER STATUS" | grep -q '^mysql-bin\.' || ibs_die "SHOW MASTER STATUS shows no binlog file"
# The backup user can read the binlog position (BINLOG MONITOR).
mariadb --defaults-file="$IBS_TEST_DEFAULTS_FILE" -e "SHOW MASTER STATUS" | grep -q 'mysql-bin\.' ||
    ibs_die "the ibstream user cannot run SHOW MASTER STATUS"

for host in localhost 127.0.0.1; do
    grants=$(ibs_sql "SHOW GRANTS FOR 'ibstream'@'$host'")
    for priv in RELOAD PROCESS "LOCK TABLES" "BINLOG MONITOR" "SLAVE MONITOR" SELECT; do
        grep -q "GRANT .*\b$priv\b.* ON \*\.\* TO \`ibstream\`@\`$host\`" <<<"$grants" ||
            ibs_die "SHOW GRANTS for ibstream@$host lacks $priv: $grants"
    done
done

# The innodb settings the harness promises.
settings=$(ibs_sql "SELECT @@innodb_buffer_pool_size, @@innodb_log_file_size, @@bind_address")
[[ "$settings" == $'67108864\t50331648\t127.0.0.1' ]] || ibs_die "server settings are '$settings'"

# Stop and start a second server on a copy of the datadir: the data is there.
ibs_stop_mariadb
cp -a "$IBS_TEST_DATADIR" "$IBS_TEST_TMPDIR/copy"
ibs_start_mariadb_on "$IBS_TEST_TMPDIR/copy"
[[ "$IBS_TEST_RESTORED_MYSQL_PORT" != "" && -S "$IBS_TEST_RESTORED_MYSQL_SOCKET" ]] ||
    ibs_die "ibs_start_mariadb_on did not export IBS_TEST_RESTORED_MYSQL_*"
got=$(mariadb --defaults-file="$IBS_TEST_RESTORED_DEFAULTS_FILE" --batch --skip-column-names \
    -e "SELECT id, name FROM harness.t ORDER BY id")
[[ "$got" == "$expected" ]] || ibs_die "the copied datadir gave '$got', expected '$expected'"

echo "mariadb_harness: OK"
