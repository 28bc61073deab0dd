# shellcheck shell=bash
# ibstream integration-test harness. Source it from a bash test script:
#
#   . "$(dirname "$0")/lib.sh"
#   ibs_start_mariadb            # exports IBS_TEST_MYSQL_* (see below)
#   ibs_start_s3                 # exports IBS_TEST_S3_* and AWS_*
#   ...test...                   # servers are stopped and the temp dir removed
#                                # on exit, failure, Ctrl-C, SIGTERM or SIGHUP
#
# Every test gets its own temp dir ($IBS_TEST_TMPDIR, under
# ${TMPDIR:-/tmp}/ibstream-test.XXXXXX), its own ports and its own servers, so
# tests can run in parallel. Servers run in their own session (setsid): a
# terminal Ctrl-C reaches only the harness, which then stops them itself
# (SIGTERM or a clean shutdown, a bounded wait, then SIGKILL). A watchdog
# process does the same if the harness itself is killed with SIGKILL (for
# example by a ctest timeout).
#
# Call the ibs_start_* functions from the main shell of the test, not from a
# subshell: the list of services to stop lives in shell variables.
#
# Functions:
#   ibs_start_mariadb [mysqld options...]    fresh server, instance "main"
#   ibs_start_mariadb_on DATADIR [opts...]   server on an existing datadir
#                                            (e.g. a restored copy), instance
#                                            "restored"; --name NAME as first
#                                            argument picks another name
#   ibs_stop_mariadb [NAME]                  clean shutdown (default "main")
#   ibs_sql "SQL" [client args...]           mariadb client as root, instance main
#   ibs_sql_on NAME "SQL" [client args...]   same, on instance NAME
#   ibs_start_s3 / ibs_stop_s3               S3 emulator on loopback
#   ibs_die MSG / ibs_log MSG / ibs_free_port
#
# Instance "main" exports IBS_TEST_MYSQL_SOCKET, IBS_TEST_MYSQL_PORT,
# IBS_TEST_MYSQL_USER, IBS_TEST_MYSQL_PASSWORD, IBS_TEST_DATADIR,
# IBS_TEST_DEFAULTS_FILE. Any other instance NAME exports the same names with
# IBS_TEST_<NAME>_ in place of IBS_TEST_ (IBS_TEST_RESTORED_MYSQL_SOCKET,
# IBS_TEST_RESTORED_DATADIR, ...).

if [[ -n "${IBS__LIB_LOADED:-}" && "${IBS__LIB_PID:-}" == "$$" ]]; then
    return 0
fi
IBS__LIB_LOADED=1
IBS__LIB_PID=$$

IBS_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IBS_SOURCE_DIR="${IBS_SOURCE_DIR:-$(cd "$IBS_LIB_DIR/../.." && pwd)}"
export IBS_SOURCE_DIR

# How long a whole test may keep servers alive before the watchdog stops them.
IBS_TEST_MAX_SECONDS="${IBS_TEST_MAX_SECONDS:-10800}"
IBS_MARIADB_START_TIMEOUT="${IBS_MARIADB_START_TIMEOUT:-60}"
IBS_STOP_TIMEOUT="${IBS_STOP_TIMEOUT:-30}"

# Services started by this shell, stopped in reverse order: "kind name pid".
IBS__SERVICES=()
# Pids of this shell's servers; not exported, so a nested harness (with-s3
# with-mariadb CMD) keeps its own.
declare -gA IBS__MYSQL_PID=()
IBS__S3_PID=
IBS__CLEANED=0
IBS__WATCHDOG_PID=

# IBS_HARNESS_LOG=FILE: also append the harness's lines there (they survive a
# reader of stderr that is gone, e.g. ctest after Ctrl-C).
ibs_log() {
    local line
    line=$(printf '[harness %s %s] %s' "$(date +%H:%M:%S.%N | cut -c1-12)" "$$" "$*")
    printf '%s\n' "$line" >&2
    [[ -z "${IBS_HARNESS_LOG:-}" ]] || printf '%s\n' "$line" >>"$IBS_HARNESS_LOG" 2>/dev/null || true
}
ibs_die() {
    ibs_log "FAIL: $*"
    exit 1
}

IBS_TEST_TMPDIR="$(mktemp -d "${TMPDIR:-/tmp}/ibstream-test.XXXXXX")" ||
    ibs_die "cannot create a temp dir under ${TMPDIR:-/tmp}: check that it exists and is writable"
export IBS_TEST_TMPDIR
: >"$IBS_TEST_TMPDIR/.pids"

# ---------------------------------------------------------------- cleanup --

ibs__kill_group() { # pid signal: the server leads its own process group (setsid)
    kill "-$2" -- "-$1" 2>/dev/null || kill "-$2" "$1" 2>/dev/null || true
}

ibs__wait_gone() { # pid seconds: 0 once the process is gone
    local pid=$1 deadline=$((SECONDS + $2)) i
    for ((i = 0; i < $2 * 10 + 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        # A child of ours stays a zombie until reaped; that counts as gone.
        if [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]]; then
            wait "$pid" 2>/dev/null || true
            return 0
        fi
        ((SECONDS < deadline)) || break
        sleep 0.1
    done
    ! kill -0 "$pid" 2>/dev/null
}

ibs__stop_pid() { # name pid: SIGTERM, bounded wait, SIGKILL
    local name=$1 pid=$2
    kill -0 "$pid" 2>/dev/null || return 0
    ibs_log "stopping $name (pid $pid)"
    ibs__kill_group "$pid" TERM
    if ! ibs__wait_gone "$pid" "$IBS_STOP_TIMEOUT"; then
        ibs_log "$name (pid $pid) did not stop in ${IBS_STOP_TIMEOUT}s; killing it"
        ibs__kill_group "$pid" KILL
        ibs__wait_gone "$pid" 5 || ibs_log "$name (pid $pid) survived SIGKILL"
    fi
    wait "$pid" 2>/dev/null || true
}

ibs__forget() { # pid: drop from the service list and the watchdog's file
    local i
    for i in "${!IBS__SERVICES[@]}"; do
        [[ "${IBS__SERVICES[$i]##* }" == "$1" ]] && unset "IBS__SERVICES[$i]"
    done
    IBS__SERVICES=("${IBS__SERVICES[@]}")
    if [[ -f "$IBS_TEST_TMPDIR/.pids" ]]; then
        grep -vx -- "$1" "$IBS_TEST_TMPDIR/.pids" >"$IBS_TEST_TMPDIR/.pids.new" || true
        mv -f "$IBS_TEST_TMPDIR/.pids.new" "$IBS_TEST_TMPDIR/.pids"
    fi
}

ibs__cleanup() {
    ((IBS__CLEANED)) && return 0
    IBS__CLEANED=1
    # Our stdout/stderr may be a pipe whose reader (ctest) is gone after a
    # Ctrl-C: a log line must not kill the cleanup with SIGPIPE.
    trap '' PIPE
    # A Ctrl-C during the cleanup (say, the test was already stopping its
    # servers) must not cut it short: it is bounded anyway.
    trap '' INT TERM HUP
    local i entry kind name pid
    for ((i = ${#IBS__SERVICES[@]} - 1; i >= 0; i--)); do
        entry=${IBS__SERVICES[$i]}
        read -r kind name pid <<<"$entry"
        case $kind in
        mariadb) ibs__mariadb_shutdown "$name" "$pid" ;;
        *) ibs__stop_pid "$kind" "$pid" ;;
        esac
    done
    IBS__SERVICES=()
    if [[ -n "$IBS__WATCHDOG_PID" ]]; then
        kill -TERM "$IBS__WATCHDOG_PID" 2>/dev/null || true
        wait "$IBS__WATCHDOG_PID" 2>/dev/null || true
    fi
    if [[ -n "${IBS_TEST_KEEP_TMPDIR:-}" ]]; then
        ibs_log "keeping $IBS_TEST_TMPDIR (IBS_TEST_KEEP_TMPDIR is set)"
    else
        rm -rf -- "$IBS_TEST_TMPDIR"
    fi
}

ibs__on_exit() {
    local rc=$1
    ibs__cleanup
    exit "$rc"
}

ibs__on_signal() { # SIG: clean up, then die of the same signal so callers see it
    ibs_log "got SIG$1; stopping servers"
    ibs__cleanup
    trap - EXIT INT TERM HUP
    kill "-$1" "$$"
    exit $((128 + $(kill -l "$1")))
}

trap 'ibs__on_exit $?' EXIT
trap 'ibs__on_signal INT' INT
trap 'ibs__on_signal TERM' TERM
trap 'ibs__on_signal HUP' HUP

# The watchdog outlives a harness killed with SIGKILL (trap never runs): it
# stops the servers listed in .pids and removes the temp dir. Its loop ends
# with the harness or after IBS_TEST_MAX_SECONDS.
ibs__start_watchdog() {
    [[ -n "$IBS__WATCHDOG_PID" ]] && return 0
    # shellcheck disable=SC2016
    setsid bash -c '
        parent=$1 dir=$2 deadline=$((SECONDS + $3))
        trap "exit 0" TERM
        while kill -0 "$parent" 2>/dev/null && ((SECONDS < deadline)); do sleep 1; done
        [[ -f "$dir/.pids" ]] || exit 0
        while read -r p; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done <"$dir/.pids"
        for ((i = 0; i < 100; i++)); do
            alive=0
            while read -r p; do kill -0 "$p" 2>/dev/null && alive=1; done <"$dir/.pids"
            ((alive)) || break
            sleep 0.1
        done
        while read -r p; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; done <"$dir/.pids"
        rm -rf -- "$dir"
    ' ibs-watchdog "$$" "$IBS_TEST_TMPDIR" "$IBS_TEST_MAX_SECONDS" </dev/null >/dev/null 2>&1 &
    IBS__WATCHDOG_PID=$!
}

ibs__register() { # kind name pid
    IBS__SERVICES+=("$1 $2 $3")
    echo "$3" >>"$IBS_TEST_TMPDIR/.pids"
    ibs__start_watchdog
}

# ------------------------------------------------------------------ utils --

# A free TCP port on 127.0.0.1 (the kernel's choice; a caller that races with
# another process for it retries).
ibs_free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ibs__random() { # n: n random lowercase hex characters
    od -An -N"$(((${1} + 1) / 2))" -tx1 /dev/urandom | tr -d ' \n' | cut -c1-"$1"
}

ibs__prefix() { # instance name -> variable prefix
    if [[ "$1" == main ]]; then
        echo IBS_TEST_
    else
        echo "IBS_TEST_$(tr '[:lower:]-' '[:upper:]_' <<<"$1")_"
    fi
}

ibs__instance_var() { # name var -> value of <prefix><var>
    local v
    v="$(ibs__prefix "$1")$2"
    echo "${!v:-}"
}

# ---------------------------------------------------------------- mariadb --

ibs_sql_on() { # NAME "SQL" [client args...]
    local name=$1 sql=$2 sock
    shift 2
    sock=$(ibs__instance_var "$name" MYSQL_SOCKET)
    [[ -n "$sock" ]] || ibs_die "ibs_sql_on $name: no such MariaDB instance is running"
    mariadb --no-defaults --user=root --socket="$sock" --batch --skip-column-names "$@" -e "$sql"
}

ibs_sql() { ibs_sql_on main "$@"; }

ibs__mariadb_alive() { # socket
    mariadb-admin --no-defaults --user=root --socket="$1" --connect-timeout=2 ping >/dev/null 2>&1
}

ibs__mariadb_shutdown() { # name pid
    local name=$1 pid=$2 sock
    sock=$(ibs__instance_var "$name" MYSQL_SOCKET)
    if kill -0 "$pid" 2>/dev/null && [[ -n "$sock" ]]; then
        ibs_log "shutting down mariadbd[$name] (pid $pid)"
        timeout 20 mariadb-admin --no-defaults --user=root --socket="$sock" \
            --connect-timeout=2 --shutdown-timeout=15 shutdown >/dev/null 2>&1 || true
    fi
    ibs__stop_pid "mariadbd[$name]" "$pid"
}

# ibs__mariadb_launch NAME DATADIR RUNDIR [opts...]: start mariadbd, wait for
# it, export the instance's variables. Retries with another port if someone
# took the chosen one meanwhile.
ibs__mariadb_launch() {
    local name=$1 datadir=$2 rundir=$3
    shift 3
    local prefix sock errlog port pid attempt i ok
    prefix=$(ibs__prefix "$name")
    sock="$rundir/mysqld.sock"
    errlog="$rundir/error.log"
    local user_opt=()
    [[ $(id -u) == 0 ]] && user_opt=(--user=root)

    for attempt in 1 2 3; do
        port=$(ibs_free_port) || ibs_die "mariadb[$name]: cannot find a free loopback port (python3 missing?)"
        : >"$errlog"
        # --no-defaults first: the system's /etc/mysql must not leak in.
        setsid mariadbd --no-defaults "${user_opt[@]}" \
            --datadir="$datadir" --socket="$sock" --port="$port" \
            --bind-address=127.0.0.1 --skip-name-resolve \
            --pid-file="$rundir/mysqld.pid" --log-error="$errlog" \
            --tmpdir="$rundir" --secure-file-priv="$rundir" \
            --log-bin=mysql-bin --server-id=1 --binlog-format=ROW \
            --innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
            --max-connections=100 --skip-host-cache \
            "$@" </dev/null >>"$rundir/mysqld.out" 2>&1 &
        pid=$!
        ibs__register mariadb "$name" "$pid"

        ok=0
        local deadline=$((SECONDS + IBS_MARIADB_START_TIMEOUT))
        for ((i = 0; i < IBS_MARIADB_START_TIMEOUT * 5 + 5; i++)); do
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            if ibs__mariadb_alive "$sock"; then
                ok=1
                break
            fi
            ((SECONDS < deadline)) || break
            sleep 0.2
        done
        ((ok)) && break

        if kill -0 "$pid" 2>/dev/null; then
            ibs__stop_pid "mariadbd[$name]" "$pid"
            ibs__forget "$pid"
            echo "--- $errlog (last 30 lines) ---" >&2
            tail -n 30 "$errlog" >&2
            ibs_die "mariadb[$name]: mariadbd did not answer within ${IBS_MARIADB_START_TIMEOUT}s (see the log above)"
        fi
        wait "$pid" 2>/dev/null || true
        ibs__forget "$pid"
        if grep -q "Bind on TCP/IP port\|Address already in use" "$errlog" && ((attempt < 3)); then
            ibs_log "mariadb[$name]: port $port was taken meanwhile; retrying with another"
            continue
        fi
        echo "--- $errlog (last 30 lines) ---" >&2
        tail -n 30 "$errlog" >&2
        ibs_die "mariadb[$name]: mariadbd exited during startup (see the log above)"
    done

    export "${prefix}MYSQL_SOCKET=$sock" "${prefix}MYSQL_PORT=$port" "${prefix}DATADIR=$datadir"
    export "${prefix}MYSQL_ERROR_LOG=$errlog"
    IBS__MYSQL_PID[$name]=$pid
    ibs_log "mariadb[$name]: up on 127.0.0.1:$port, socket $sock, datadir $datadir"
}

ibs__write_defaults_file() { # name
    local name=$1 prefix file user pass
    prefix=$(ibs__prefix "$name")
    file="$IBS_TEST_TMPDIR/mariadb-$name/client.cnf"
    user=${IBS_TEST_MYSQL_USER:-ibstream}
    pass=${IBS_TEST_MYSQL_PASSWORD:-}
    (
        umask 077
        printf '[client]\nuser=%s\npassword=%s\nsocket=%s\n' "$user" "$pass" \
            "$(ibs__instance_var "$name" MYSQL_SOCKET)" >"$file"
    )
    export "${prefix}DEFAULTS_FILE=$file"
    if [[ "$name" != main ]]; then
        export "${prefix}MYSQL_USER=$user" "${prefix}MYSQL_PASSWORD=$pass"
    fi
}

# The privileges a physical backup needs on 10.11: RELOAD for BACKUP STAGE and
# FLUSH, PROCESS for InnoDB status, LOCK TABLES, BINLOG MONITOR for the binlog
# position (SHOW MASTER STATUS), SLAVE MONITOR for a replica's position, and
# SELECT to discover tablespaces and non-InnoDB tables.
IBS_BACKUP_PRIVILEGES="RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SLAVE MONITOR, SELECT"

# ibs_install_db DATADIR LOG [mysqld options...]: a new data directory. The
# bootstrap server gets a temp dir of its own: with the shared /tmp, installs
# running at the same time clash on the names of their temporary tables
# ("Could not remove temporary table: '/tmp/#sql-temptable-...'").
ibs_install_db() {
    local datadir=$1 log=$2 user_opt=()
    shift 2
    mkdir -p "$datadir.tmp" || ibs_die "cannot create $datadir.tmp"
    [[ $(id -u) == 0 ]] && user_opt=(--user=root)
    if ! mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$datadir" \
        --tmpdir="$datadir.tmp" --auth-root-authentication-method=normal --skip-test-db \
        --skip-name-resolve "$@" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        ibs_die "mariadb-install-db into $datadir failed (see the log above; is mariadb-server installed? run scripts/install-deps)"
    fi
    rm -rf "$datadir.tmp"
}

ibs_start_mariadb() { # [mysqld options...]
    [[ -z "${IBS__MYSQL_PID[main]:-}" ]] || ibs_die "ibs_start_mariadb: instance main is already running"
    local base="$IBS_TEST_TMPDIR/mariadb-main"
    local datadir="$base/data"
    mkdir -p "$base/run" || ibs_die "mariadb[main]: cannot create $base/run"
    ibs_install_db "$datadir" "$base/install-db.log"
    ibs__mariadb_launch main "$datadir" "$base/run" "$@"

    export IBS_TEST_MYSQL_USER=ibstream
    export IBS_TEST_MYSQL_PASSWORD="ibs-$(ibs__random 20)"
    ibs_sql "
        CREATE USER 'ibstream'@'localhost' IDENTIFIED BY '$IBS_TEST_MYSQL_PASSWORD';
        CREATE USER 'ibstream'@'127.0.0.1' IDENTIFIED BY '$IBS_TEST_MYSQL_PASSWORD';
        GRANT $IBS_BACKUP_PRIVILEGES ON *.* TO 'ibstream'@'localhost';
        GRANT $IBS_BACKUP_PRIVILEGES ON *.* TO 'ibstream'@'127.0.0.1';" ||
        ibs_die "mariadb[main]: cannot create the backup user ibstream"
    ibs__write_defaults_file main
}

# ibs_start_mariadb_on [--name NAME] DATADIR [mysqld options...]
ibs_start_mariadb_on() {
    local name=restored
    if [[ "${1:-}" == --name ]]; then
        name=$2
        shift 2
    fi
    local datadir=${1:?ibs_start_mariadb_on: DATADIR missing}
    shift
    [[ -d "$datadir" ]] || ibs_die "mariadb[$name]: datadir $datadir does not exist"
    [[ -z "${IBS__MYSQL_PID[$name]:-}" ]] ||
        ibs_die "ibs_start_mariadb_on: instance $name is already running"
    local base="$IBS_TEST_TMPDIR/mariadb-$name"
    mkdir -p "$base/run" || ibs_die "mariadb[$name]: cannot create $base/run"
    ibs__mariadb_launch "$name" "$(cd "$datadir" && pwd)" "$base/run" "$@"
    ibs__write_defaults_file "$name"
}

ibs_stop_mariadb() { # [NAME]
    local name=${1:-main} pid prefix
    prefix=$(ibs__prefix "$name")
    pid=${IBS__MYSQL_PID[$name]:-}
    [[ -n "$pid" ]] || return 0
    ibs__mariadb_shutdown "$name" "$pid"
    ibs__forget "$pid"
    unset "IBS__MYSQL_PID[$name]" "${prefix}MYSQL_SOCKET" "${prefix}MYSQL_PORT"
}

# --------------------------------------------------------------------- s3 --

ibs_start_s3() {
    [[ -z "$IBS__S3_PID" ]] || ibs_die "ibs_start_s3: the emulator is already running"
    local dir="$IBS_TEST_TMPDIR/s3" launcher="$IBS_SOURCE_DIR/tests/s3rver"
    command -v node >/dev/null || ibs_die "s3: node is not installed; run scripts/install-deps"
    [[ -d "$launcher/node_modules/@20minutes/s3rver" ]] ||
        ibs_die "s3: $launcher/node_modules is missing; run scripts/install-deps (or npm ci in tests/s3rver)"
    mkdir -p "$dir/data" || ibs_die "s3: cannot create $dir"

    export IBS_TEST_S3_BUCKET=ibstream-test
    export AWS_ACCESS_KEY_ID="IBSTEST$(ibs__random 13 | tr '[:lower:]' '[:upper:]')"
    export AWS_SECRET_ACCESS_KEY="$(ibs__random 40)"

    local pid port="" i deadline=$((SECONDS + 30))
    # The emulator's ListObjectsV2 builds continuation tokens with DES, which
    # node >= 17 (OpenSSL 3) offers only through the legacy provider: without
    # it every listing of more than 1,000 keys answers 500.
    setsid node --openssl-legacy-provider "$launcher/s3rver.js" --port 0 --address 127.0.0.1 \
        --directory "$dir/data" --bucket "$IBS_TEST_S3_BUCKET" \
        --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" \
        </dev/null >"$dir/s3rver.out" 2>"$dir/s3rver.err" &
    pid=$!
    ibs__register s3 s3 "$pid"
    for ((i = 0; i < 300; i++)); do
        port=$(awk '$1 == "ready" { print $2; exit }' "$dir/s3rver.out")
        [[ -n "$port" ]] && break
        kill -0 "$pid" 2>/dev/null || break
        ((SECONDS < deadline)) || break
        sleep 0.1
    done
    if [[ -z "$port" ]]; then
        tail -n 20 "$dir/s3rver.err" >&2
        ibs_die "s3: the emulator did not report ready within 30s (see the log above)"
    fi

    IBS__S3_PID=$pid
    export IBS_TEST_S3_PORT=$port
    export IBS_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    # Keep the user's ~/.aws out of the test.
    export AWS_CONFIG_FILE="$dir/aws-config" AWS_SHARED_CREDENTIALS_FILE="$dir/aws-credentials"
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_DEFAULT_PROFILE
    printf '[default]\nregion = us-east-1\n' >"$AWS_CONFIG_FILE"
    : >"$AWS_SHARED_CREDENTIALS_FILE"
    ibs_log "s3: emulator up at $IBS_TEST_S3_ENDPOINT, bucket $IBS_TEST_S3_BUCKET"
}

ibs_stop_s3() {
    [[ -n "$IBS__S3_PID" ]] || return 0
    ibs__stop_pid s3 "$IBS__S3_PID"
    ibs__forget "$IBS__S3_PID"
    IBS__S3_PID=
}

# The aws command: Debian's awscli package first (scripts/install-deps
# installs it), whatever else is on PATH otherwise.
ibs_aws() {
    local aws=aws
    [[ -x /usr/bin/aws ]] && aws=/usr/bin/aws
    "$aws" --endpoint-url "$IBS_TEST_S3_ENDPOINT" "$@"
}
