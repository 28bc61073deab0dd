#!/usr/bin/env bash
# A backup that cannot be taken fails with one error line, the documented
# exit code and nothing in the repository: wrong password, no server, missing
# privileges, an unreadable datadir, an unreachable S3 endpoint, a wrong
# S3 secret, a --pace that is neither auto nor off.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR
ibs_start_mariadb
ibs_start_s3
ibs_sql "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY) ENGINE=InnoDB;
    INSERT INTO d.t SELECT seq FROM d.seq_1_to_100"

# expect_fail NAME CODE PATTERN REPO ibstream-args...: exit CODE, exactly one
# "ibstream: error:" line on stderr matching PATTERN, nothing in REPO.
expect_fail() {
    local name=$1 code=$2 pattern=$3 repo=$4 rc errs
    shift 4
    set +e
    timeout 120 "$@" >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
    set -e
    cat "$T/$name.err" >&2
    ((rc == code)) || ibs_die "$name: exit $rc, want $code"
    errs=$(grep -c '^ibstream: error:' "$T/$name.err" || true)
    ((errs == 1)) || ibs_die "$name: $errs lines start with 'ibstream: error:', want exactly 1"
    grep '^ibstream: error:' "$T/$name.err" | grep -Eq -- "$pattern" ||
        ibs_die "$name: the error line does not match /$pattern/"
    if [[ "$repo" == s3://* ]]; then
        local left
        left=$(ibs_aws s3 ls --recursive "$repo/" || true)
        [[ -z "$left" ]] || ibs_die "$name: objects left in $repo: $left"
        # (The emulator does not implement ListMultipartUploads.)
    elif [[ -e "$repo" ]]; then
        local left
        left=$(find "$repo" -path "$repo/backups/*" -o -path "$repo/.ibstream-tmp/*" | head -5)
        [[ -z "$left" ]] || ibs_die "$name: left in the repository: $left"
    fi
    ibs_log "$name: exit $rc as expected"
}

B=(backup --defaults-file)
cnf() { # file user password [socket|host:port]
    local where="socket=$4"
    [[ "$4" == *:* ]] && where="host=${4%:*}"$'\n'"port=${4#*:}"
    printf '[client]\nuser=%s\npassword=%s\n%s\n' "$2" "$3" "$where" >"$1"
    chmod 644 "$1"
}

cnf "$T/badpass.cnf" ibstream wrong-password "$IBS_TEST_MYSQL_SOCKET"
expect_fail wrong_password 3 'ibstream|password|[Aa]ccess denied' "$T/repo1" \
    "$IBSTREAM" "${B[@]}" "$T/badpass.cnf" --repo "$T/repo1"

cnf "$T/nosock.cnf" ibstream "$IBS_TEST_MYSQL_PASSWORD" "$T/no-such-dir/mysqld.sock"
expect_fail no_server 3 "$T/no-such-dir/mysqld.sock" "$T/repo2" \
    "$IBSTREAM" "${B[@]}" "$T/nosock.cnf" --repo "$T/repo2"

ibs_sql "CREATE USER 'weak'@'localhost' IDENTIFIED BY 'weakpw'; GRANT SELECT ON *.* TO 'weak'@'localhost'"
cnf "$T/weak.cnf" weak weakpw "$IBS_TEST_MYSQL_SOCKET"
expect_fail no_privileges 4 'RELOAD' "$T/repo3" \
    "$IBSTREAM" "${B[@]}" "$T/weak.cnf" --repo "$T/repo3"
for p in RELOAD PROCESS 'BINLOG MONITOR'; do
    grep '^ibstream: error:' "$T/no_privileges.err" | grep -q "$p" ||
        ibs_die "no_privileges: the error line does not name the missing $p"
done

# Root reads any file whatever its mode (CAP_DAC_OVERRIDE), so the unreadable
# datadir is shown by running ibstream as nobody, with every capability
# dropped: it reaches the server over TCP and writes a repository it owns,
# but cannot enter the datadir (mode 0700, owned by root).
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
    NB=$T/nobody
    mkdir -p "$NB" && chmod 755 "$T" && chown nobody "$NB"
    chmod 700 "$IBS_TEST_DATADIR"
    cnf "$NB/tcp.cnf" ibstream "$IBS_TEST_MYSQL_PASSWORD" "127.0.0.1:$IBS_TEST_MYSQL_PORT"
    expect_fail unreadable_datadir 9 "$IBS_TEST_DATADIR|datadir|[Pp]ermission" "$NB/repo" \
        setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
        "$IBSTREAM" "${B[@]}" "$NB/tcp.cnf" --repo "$NB/repo"
else
    ibs_log "unreadable_datadir: skipped (needs root and setpriv to run as another user)"
fi

GOOD=$IBS_TEST_DEFAULTS_FILE
CLOSED=$(ibs_free_port)
expect_fail s3_unreachable 5 "127.0.0.1:$CLOSED|connect|[Cc]onnection" "s3://$IBS_TEST_S3_BUCKET/p1" \
    "$IBSTREAM" "${B[@]}" "$GOOD" --repo "s3://$IBS_TEST_S3_BUCKET/p1" \
    --s3-endpoint "http://127.0.0.1:$CLOSED" --s3-retries 2

expect_fail s3_wrong_secret 5 'SignatureDoesNotMatch' "s3://$IBS_TEST_S3_BUCKET/p2" \
    env AWS_SECRET_ACCESS_KEY=wrong-secret-0123456789012345678901234567 \
    "$IBSTREAM" "${B[@]}" "$GOOD" --repo "s3://$IBS_TEST_S3_BUCKET/p2" \
    --s3-endpoint "$IBS_TEST_S3_ENDPOINT"

expect_fail bad_pace 2 "--pace must be auto or off, not 'sometimes'" "$T/repo9" \
    "$IBSTREAM" "${B[@]}" "$GOOD" --repo "$T/repo9" --pace sometimes
[[ ! -e "$T/repo9" ]] || ibs_die "bad_pace: the repository was created before the options were checked"

# The same server and store accept a correct backup: the failures above were
# the inputs, not the rig.
"$IBSTREAM" "${B[@]}" "$GOOD" --repo "s3://$IBS_TEST_S3_BUCKET/p3" \
    --s3-endpoint "$IBS_TEST_S3_ENDPOINT" >/dev/null 2>"$T/good.err" ||
    { cat "$T/good.err" >&2; ibs_die "a correct backup failed"; }
ibs_log "OK: every bad input refused with its code; a correct backup then succeeded"
