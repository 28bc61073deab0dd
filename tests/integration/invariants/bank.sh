# shellcheck shell=bash
# The end-to-end workload with invariants (sourced by e2e_invariants.sh):
#   bank.accounts  100 accounts of 1000; concurrent clients move money between
#                  them in multi-statement transactions: the total stays 100000
#   bank.applog    one writer appends rows with ids 1, 2, 3... in order, each
#                  committed alone, payload SHA2(id, 256): at any consistent
#                  point the ids are 1..max with no gap and every payload fits
# Writers run until $T/workload.run is removed, each bounded in rounds.

BANK_ACCOUNTS=100
BANK_TOTAL=100000

bank_setup() {
    ibs_sql "CREATE DATABASE bank;
        CREATE TABLE bank.accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL,
                                    moves INT NOT NULL DEFAULT 0, KEY (balance)) ENGINE=InnoDB;
        INSERT INTO bank.accounts (id, balance)
            SELECT seq, $BANK_TOTAL / $BANK_ACCOUNTS FROM bank.seq_1_to_$BANK_ACCOUNTS;
        CREATE TABLE bank.applog (id BIGINT PRIMARY KEY, payload CHAR(64) NOT NULL,
                                  at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
                                  KEY (payload)) ENGINE=InnoDB;"
}

# bank_transfers WORKER: rounds of 40 transfers in one client session. A
# deadlock or lock wait timeout ends the client, and with it the open
# transaction (rolled back): no transfer is ever half done.
bank_transfers() {
    local worker=$1 round i a b amount failed=0 done_rounds=0 sql
    for ((round = 0; round < 500; round++)); do
        [[ -f "$T/workload.run" ]] || break
        sql=""
        for ((i = 0; i < 40; i++)); do
            a=$((RANDOM % BANK_ACCOUNTS + 1)) b=$((RANDOM % BANK_ACCOUNTS + 1)) amount=$((RANDOM % 50 + 1))
            ((a == b)) && b=$((a % BANK_ACCOUNTS + 1))
            sql+="START TRANSACTION;
                  UPDATE bank.accounts SET balance = balance - $amount, moves = moves + 1 WHERE id = $a;
                  UPDATE bank.accounts SET balance = balance + $amount, moves = moves + 1 WHERE id = $b;
                  COMMIT;"
        done
        if mariadb --no-defaults --user=root --socket="$IBS_TEST_MYSQL_SOCKET" \
            --init-command="SET SESSION innodb_lock_wait_timeout = 5" -e "$sql" 2>>"$T/transfers.err"; then
            done_rounds=$((done_rounds + 1))
        else
            failed=$((failed + 1))
        fi
    done
    echo "transfers[$worker]: $done_rounds rounds of 40 committed, $failed cut short by deadlocks"
}

# bank_applog: rounds of 50 appends; each round continues from MAX(id).
bank_applog() {
    local round next i sql
    for ((round = 0; round < 2000; round++)); do
        [[ -f "$T/workload.run" ]] || break
        next=$(ibs_sql "SELECT COALESCE(MAX(id), 0) + 1 FROM bank.applog") || return 1
        sql=""
        for ((i = next; i < next + 50; i++)); do
            sql+="INSERT INTO bank.applog (id, payload) VALUES ($i, SHA2($i, 256));"
        done
        ibs_sql "$sql" || return 1
    done
    echo "applog: $((next + 49)) rows"
}

# bank_check INSTANCE: dies unless the invariants hold on that server.
bank_check() {
    local inst=$1 got
    got=$(ibs_sql_on "$inst" "SELECT SUM(balance), COUNT(*) FROM bank.accounts")
    [[ "$got" == "$BANK_TOTAL"$'\t'"$BANK_ACCOUNTS" ]] ||
        ibs_die "$inst: bank.accounts sum and count are '$got', expected $BANK_TOTAL over $BANK_ACCOUNTS accounts"
    got=$(ibs_sql_on "$inst" "SELECT COUNT(*), COALESCE(MIN(id), 0), COALESCE(MAX(id), 0),
                                      SUM(BINARY payload <> BINARY SHA2(id, 256)) FROM bank.applog")
    local n min max bad
    read -r n min max bad <<<"$got"
    ((n > 0)) || ibs_die "$inst: bank.applog is empty: the workload wrote nothing before the backup"
    ((min == 1 && max == n)) ||
        ibs_die "$inst: bank.applog ids run $min..$max over $n rows: a gap or a duplicate"
    ((bad == 0)) || ibs_die "$inst: bank.applog has $bad rows whose payload is not SHA2(id)"
    echo "$inst: total $BANK_TOTAL over $BANK_ACCOUNTS accounts; applog ids 1..$max, payloads right"
}
