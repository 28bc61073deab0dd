#!/bin/sh
# Redo apply oracle: a throwaway MariaDB server under the write workload, a
# mariadb-backup --backup, --prepare on one copy, ibstream's redo apply on
# another, page-by-page comparison (redo_oracle). Optionally refreshes the unit
# test's apply fixture.
#
# Usage: redo_oracle.sh <build-dir> [workdir] [--fixture]
# Needs mariadb-server and mariadb-backup (10.11+). Loopback only: the server
# listens on a unix socket in workdir, and is stopped at the end.
set -eu
build=$1
dir=${2:-$(mktemp -d /tmp/redo_oracle.XXXXXX)}
fixture=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
oracle=$build/tests/unit/redo/redo_oracle
sock=$dir/sock

cleanup() {
    if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

mkdir -p "$dir"
rm -rf "$dir/data"
mariadb-install-db --datadir="$dir/data" --auth-root-authentication-method=normal \
    --innodb-log-file-size=64M >"$dir/install.log" 2>&1
mariadbd --no-defaults --datadir="$dir/data" --socket="$sock" --skip-networking --user=root \
    --innodb-log-file-size=64M --innodb-buffer-pool-size=64M --pid-file="$dir/pid" \
    >"$dir/server.log" 2>&1 &
for _ in $(seq 60); do mariadb -S "$sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
"$here/redo_workload.sh" "$sock" setup

run() { # <name> <rounds>: backup during the workload, prepare, compare
    name=$1
    # A fresh checkpoint keeps the backup's log to what the workload writes.
    mariadb -S "$sock" -uroot -e "SET GLOBAL innodb_max_dirty_pages_pct_lwm=0.001;
                                  SET GLOBAL innodb_max_dirty_pages_pct=0"
    sleep 3
    "$here/redo_workload.sh" "$sock" run "$2" >"$dir/$name.workload.log" 2>&1 &
    wl=$!
    rm -rf "$dir/$name.raw" "$dir/$name.prep" "$dir/$name.work"
    mariadb-backup --backup --target-dir="$dir/$name.raw" --socket="$sock" --user=root \
        >"$dir/$name.backup.log" 2>&1
    wait $wl
    cp -a "$dir/$name.raw" "$dir/$name.prep"
    cp -a "$dir/$name.raw" "$dir/$name.work"
    mariadb-backup --prepare --target-dir="$dir/$name.prep" >"$dir/$name.prepare.log" 2>&1
    rm -f "$dir/$name.pages"
    REDO_ORACLE_PAGES="$dir/$name.pages" "$oracle" "$dir/$name.raw" "$dir/$name.work" "$dir/$name.prep"
}

run big 40
if [ "$fixture" = --fixture ]; then
    run small 2
    "$here/redo_make_apply_fixture.py" "$dir/small.raw" "$dir/small.prep" "$dir/small.pages" \
        "$here/../fixtures/redo"
fi
