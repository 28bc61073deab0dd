#!/usr/bin/env bash
# A restore target that runs out of space fails cleanly: exit 10 (no space)
# with one message that names the target and says how much was needed.
#   1. a 4 MiB filesystem for a backup of ~9 MB: refused before writing;
#   2. a filesystem with room for the bytes but not for the files (tmpfs
#      nr_inodes): ENOSPC in the middle of the restore.
# The small filesystems are tmpfs mounts in a private mount namespace
# (unshare -m as root, unshare -rm in a user namespace otherwise): they vanish
# with the restore, whatever happens. Skipped (77) where neither is allowed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR

# in_small_fs SIZE INODES CMD...: runs CMD with a fresh tmpfs on $T/small.
mkdir -p "$T/small"
unshare_opts=(-m --propagation private)
((EUID == 0)) || unshare_opts=(-r "${unshare_opts[@]}")
in_small_fs() {
    local size=$1 inodes=$2
    shift 2
    unshare "${unshare_opts[@]}" bash -c '
        mount -t tmpfs -o "size=$1,nr_inodes=$2" ibs-nospace "$3" || exit 77
        shift 3
        "$@"' in-small-fs "$size" "$inodes" "$T/small" "$@"
}
if ! in_small_fs 1m 100 true 2>"$T/unshare.err"; then
    ibs_log "SKIP: cannot mount a tmpfs in a private mount namespace here ($(head -c 200 "$T/unshare.err"))"
    exit 77
fi

ibs_start_mariadb
ibs_sql "CREATE DATABASE d;
    CREATE TABLE d.big (id INT PRIMARY KEY, b BLOB) ENGINE=InnoDB;
    INSERT INTO d.big SELECT seq, RANDOM_BYTES(2000) FROM d.seq_1_to_8000;
    CREATE TABLE d.my (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=MyISAM;
    INSERT INTO d.my SELECT seq, CONCAT('v', seq) FROM d.seq_1_to_2000"
for i in $(seq 1 30); do ibs_sql "CREATE TABLE d.t$i (id INT PRIMARY KEY) ENGINE=InnoDB"; done
"$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$T/repo" >"$T/backup.out" 2>&1 ||
    { cat "$T/backup.out" >&2; ibs_die "backup failed"; }

# restore_small SIZE INODES NAME: restore into $T/small/target; records the
# exit status, stderr, and what was left in the target (inside the namespace).
restore_small() {
    local rc=0
    in_small_fs "$1" "$2" bash -c '
        "$1" restore --repo "$2" --target "$3/target" 2>"$4.err" >"$4.out"
        rc=$?
        find "$3" -mindepth 1 | sed "s|^$3/||" | sort >"$4.left"
        df -k --output=avail,iavail "$3" | tail -n 1 >"$4.df"
        exit $rc' restore "$IBSTREAM" "$T/repo" "$T/small" "$T/$3" || rc=$?
    ((rc != 77)) || ibs_die "$3: the tmpfs mount failed this time"
    echo "$rc"
}

# 1. Too small for the backup: refused up front, nothing written.
rc=$(restore_small 4m 10000 small)
msg=$(cat "$T/small.err")
ibs_log "4 MiB target: exit $rc: $msg"
((rc == 10)) || ibs_die "restore onto a 4 MiB filesystem exited $rc, want 10 (no space): $msg"
grep -Eq 'needs [0-9.]+ [kMG]?B' <<<"$msg" || ibs_die "the message does not say how much is needed: $msg"
grep -q "$T/small/target" <<<"$msg" || ibs_die "the message does not name the target: $msg"
[[ $(grep -c "error:" "$T/small.err") == 1 ]] || ibs_die "not one error line: $msg"
! grep -v '^target$' "$T/small.left" | grep -q . || ibs_die "files written before the refusal: $(head "$T/small.left")"

# 2. Room for the bytes, not for the files: ENOSPC while files are created.
# (The message names the file; it cannot know how much more was needed.)
rc=$(restore_small 512m 40 inodes)
msg=$(cat "$T/inodes.err")
ibs_log "40-inode target: exit $rc: $msg"
((rc == 10)) || ibs_die "restore running out of inodes exited $rc, want 10 (no space): $msg"
grep -qi 'no space' <<<"$msg" || ibs_die "the message does not say the space ran out: $msg"
[[ $(grep -c "error:" "$T/inodes.err") == 1 ]] || ibs_die "not one error line: $msg"

# The same restore with room succeeds (the failures above were the space).
rc=$(restore_small 512m 100000 roomy)
((rc == 0)) || ibs_die "restore with room exited $rc: $(cat "$T/roomy.err")"
ibs_log "OK: 4 MiB target refused up front (exit 10), inode exhaustion mid-restore exit 10, restore with room fine"
