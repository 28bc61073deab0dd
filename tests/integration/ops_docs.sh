#!/usr/bin/env bash
# What ships beside the binary stays in step with it: docs/ibstream.1 is what
# 'ibstream doc man' prints (and groff reads it without warnings), the bash
# completion offers the binary's commands and options, the systemd units pass
# 'systemd-analyze verify' (when it is installed), docs/operations.md names
# every command and exit status; --metrics-file and --syslog work on any
# command.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ops_lib.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR
SRC=$IBS_SOURCE_DIR

ibs_log "docs/ibstream.1 matches the binary"
"$IBSTREAM" doc man >"$T/ibstream.1"
diff -u "$SRC/docs/ibstream.1" "$T/ibstream.1" >"$T/man.diff" ||
    { head -n 40 "$T/man.diff" >&2; ibs_die "docs/ibstream.1 is stale: run 'ibstream doc man > docs/ibstream.1'"; }
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww "$T/ibstream.1" >"$T/man.txt" 2>"$T/groff.err"
    [[ ! -s "$T/groff.err" ]] || { cat "$T/groff.err" >&2; ibs_die "groff warns about the man page"; }
    grep -q "retain-full" "$T/man.txt" || ibs_die "the rendered man page lacks expire's options"
fi

ibs_log "bash completion"
mkdir -p "$T/bin" && ln -s "$IBSTREAM" "$T/bin/ibstream"
complete_words() { # words... -> COMPREPLY, one a line
    PATH="$T/bin:$PATH" bash -c '. "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _ibstream; printf "%s\n" "${COMPREPLY[@]}"' _ "$SRC/contrib/bash-completion/ibstream" "$@"
}
complete_words ibstream "" >"$T/c1"
for c in backup restore list info verify expire cleanup help; do
    grep -qx "$c" "$T/c1" || ibs_die "completion of commands lacks $c: $(tr '\n' ' ' <"$T/c1")"
done
ops_assert_eq "$(complete_words ibstream ver | tr '\n' ' ')" "verify version " "completion of 'ver'"
ops_assert_eq "$(complete_words ibstream expire --ret | tr '\n' ' ')" "--retain-full --retain-days " "expire options"
ops_assert_eq "$(complete_words ibstream list --metr | tr '\n' ' ')" "--metrics-file " "global option"
ops_assert_eq "$(complete_words ibstream list --log-level w | tr '\n' ' ')" "warn " "option values"

ibs_log "systemd units"
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units"
    cp "$SRC"/contrib/systemd/* "$T/units/"
    # verify checks that ExecStart's program exists.
    sed -i "s|/usr/bin/ibstream|$IBSTREAM|g" "$T"/units/*
    (cd "$T/units" && timeout 120 systemd-analyze verify --man=no ./ibstream-backup@full.service \
        ./ibstream-backup@incremental.service ./ibstream-backup-full.timer \
        ./ibstream-backup-incremental.timer ./ibstream-expire.service ./ibstream-expire.timer) \
        >"$T/sd.out" 2>&1 || { cat "$T/sd.out" >&2; ibs_die "systemd-analyze verify failed"; }
    [[ ! -s "$T/sd.out" ]] || { cat "$T/sd.out" >&2; ibs_die "systemd-analyze verify warns"; }
    grep -q '^ProtectSystem=strict' "$SRC/contrib/systemd/ibstream-backup@.service" || ibs_die "unit not hardened"
    grep -q 'backup --incremental' "$SRC/contrib/systemd/ibstream-backup@.service" || ibs_die "no incremental command line"
else
    ibs_log "systemd-analyze is not installed: units not verified"
fi
grep -q '^0 2 \* \* 0 ' "$SRC/contrib/cron/ibstream" || ibs_die "cron example lacks the 02:00 full"

ibs_log "docs/operations.md covers every command and exit status"
for c in list info verify expire cleanup; do
    grep -q "ibstream $c" "$SRC/docs/operations.md" || ibs_die "docs/operations.md does not describe $c"
done
for code in $(seq 0 12); do
    grep -qE "^\| *$code *\|" "$SRC/docs/operations.md" || ibs_die "docs/operations.md lacks exit status $code"
done
"$IBSTREAM" --help >"$T/help.txt" || true
ops_assert_grep "7 repository locked" "$T/help.txt" "exit codes in --help"

ibs_log "--metrics-file: success, then a failure that keeps the last success time"
mkdir -p "$T/repo"
ops_expect_rc 0 "$IBSTREAM" list --repo "$T/repo" --metrics-file "$T/list.prom" --syslog
ops_assert_grep '^ibstream_last_exit_code\{command="list"\} 0$' "$T/list.prom" "exit code 0"
SUCCESS=$(awk '/^ibstream_last_success_timestamp_seconds\{command="list"\}/ {print $2}' "$T/list.prom")
[[ "$SUCCESS" =~ ^[0-9]+$ ]] || ibs_die "no success timestamp in $(cat "$T/list.prom")"
ops_assert_grep '^# TYPE ibstream_last_duration_seconds gauge$' "$T/list.prom" "TYPE line"
printf 'not a directory' >"$T/file"
set +e
"$IBSTREAM" list --repo "$T/file" --metrics-file "$T/list.prom" >/dev/null 2>"$T/fail.err"
RC=$?
set -e
[[ $RC != 0 ]] || ibs_die "list of a file as repository succeeded"
ops_assert_grep "^ibstream_last_exit_code\{command=\"list\"\} $RC\$" "$T/list.prom" "failure exit code"
ops_assert_grep "^ibstream_last_success_timestamp_seconds\{command=\"list\"\} $SUCCESS\$" "$T/list.prom" "last success kept"
[[ -z "$(find "$T" -maxdepth 1 -name 'list.prom.tmp*')" ]] || ibs_die "a temporary metrics file was left"
ibs_log "ops_docs: ok"
