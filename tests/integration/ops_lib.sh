# shellcheck shell=bash
# Helpers of the operations tests (ops_*.sh), sourced after lib.sh.

# ops_backup REPO [extra options...]: a backup of the main instance; dies on failure.
ops_backup() {
    local repo=$1
    shift
    "$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$repo" \
        --log-level warn "$@" >>"$IBS_TEST_TMPDIR/backups.out" 2>>"$IBS_TEST_TMPDIR/backups.err" ||
        { tail -n 20 "$IBS_TEST_TMPDIR/backups.err" >&2; ibs_die "backup into $repo failed"; }
}

# ops_expect_rc WANT CMD...: runs CMD, its output in $OPS_OUT / $OPS_ERR; dies
# unless it exits with WANT.
ops_expect_rc() {
    local want=$1 rc=0
    shift
    OPS_OUT=$IBS_TEST_TMPDIR/cmd.out OPS_ERR=$IBS_TEST_TMPDIR/cmd.err
    "$@" >"$OPS_OUT" 2>"$OPS_ERR" || rc=$?
    if [[ $rc != "$want" ]]; then
        cat "$OPS_OUT" "$OPS_ERR" >&2
        ibs_die "'$*' exited with $rc, expected $want"
    fi
}

# ops_json EXPR FILE: evaluates the Python expression EXPR on the JSON in
# FILE (bound to j) and prints the result.
ops_json() {
    python3 -c 'import json, sys
j = json.load(open(sys.argv[2]))
r = eval(sys.argv[1])
print(r if not isinstance(r, (list, dict)) else json.dumps(r))' "$1" "$2"
}

# ops_assert_eq GOT WANT WHAT
ops_assert_eq() {
    [[ "$1" == "$2" ]] || ibs_die "$3: got '$1', want '$2'"
}

# ops_assert_grep PATTERN FILE WHAT
ops_assert_grep() {
    grep -qE -- "$1" "$2" || { cat "$2" >&2; ibs_die "$3: no line matches /$1/ in $2"; }
}

# A little data in two databases, so per-database sizes have something to show.
ops_make_data() {
    ibs_sql "CREATE DATABASE IF NOT EXISTS shop; CREATE DATABASE IF NOT EXISTS crm;
        CREATE TABLE IF NOT EXISTS shop.orders (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;
        CREATE TABLE IF NOT EXISTS crm.people (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;
        INSERT IGNORE INTO shop.orders SELECT seq, REPEAT('o', 150) FROM shop.seq_1_to_${1:-2000};
        INSERT IGNORE INTO crm.people SELECT seq, REPEAT('p', 150) FROM shop.seq_1_to_${1:-2000};"
    # Written to the files (not only the redo log), so data frames hold pages.
    ibs_sql "FLUSH TABLES shop.orders, crm.people FOR EXPORT; UNLOCK TABLES;"
}
