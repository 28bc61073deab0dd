#!/usr/bin/env bash
# `ibstream check` against the loopback emulator and local directories: the
# success path line by line, then each failure a user meets first (wrong
# secret, missing bucket, endpoint down, unwritable directory, no --repo)
# with its exit status and the message that names the cause and the fix.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${IBSTREAM:?run through ctest (IBSTREAM names the built ibstream)}"
ibs_start_s3

out="$IBS_TEST_TMPDIR/out"
err="$IBS_TEST_TMPDIR/err"
# check_run WANT_RC ARGS...: runs ibstream check, stdout in $out, stderr in $err.
check_run() {
    local want=$1 rc=0
    shift
    "$IBSTREAM" check "$@" >"$out" 2>"$err" || rc=$?
    if [[ $rc != "$want" ]]; then
        cat "$out" "$err" >&2
        ibs_die "ibstream check $* exited $rc, expected $want"
    fi
}
expect() { # REGEX FILE
    grep -Eq -- "$1" "$2" || { cat "$out" "$err" >&2; ibs_die "no line matching '$1' in $(basename "$2")"; }
}

repo="s3://$IBS_TEST_S3_BUCKET/check/prefix"
s3=(--s3-endpoint "$IBS_TEST_S3_ENDPOINT")

echo "success against the emulator"
check_run 0 --repo "$repo" "${s3[@]}"
expect "^ibstream check $repo\$" "$out"
expect '^  ok    credentials from environment$' "$out"
expect '^  ok    clock       within 5 s of the endpoint' "$out"
expect '^  ok    write       \.ibstream-check-[0-9a-f]{16} \(4096 bytes\)$' "$out"
expect '^  ok    read        the same 4096 bytes came back$' "$out"
expect '^  ok    list        the probe object is listed$' "$out"
# The emulator implements neither ListMultipartUploads nor AbortMultipartUpload.
expect '^  warn  multipart   upload and part accepted; AbortMultipartUpload is not supported by this endpoint' "$out"
expect '^  warn  multipart   ListMultipartUploads is not supported by this endpoint' "$out"
expect '^  ok    latency     median [0-9.]+ ms over 5 HEAD requests' "$out"
expect '^  ok    throughput  32 MiB up [0-9.]+ MiB/s, down [0-9.]+ MiB/s$' "$out"
expect '^  ok    delete      the probe objects are gone$' "$out"
expect '^check passed with 2 warnings: a backup can run$' "$out"
left=$(ibs_aws s3 ls --recursive "s3://$IBS_TEST_S3_BUCKET/check/" || true)
[[ -z "$left" ]] || ibs_die "the check left objects behind: $left"

echo "clock skew (faketime shifts this process's clock, not the emulator's)"
command -v faketime >/dev/null || ibs_die "faketime is not installed: run scripts/install-deps"
# faketime preloads its library; an ASan build must be told that is fine.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
faketime -f '+30s' "$IBSTREAM" check --repo "$repo" "${s3[@]}" >"$out" 2>"$err" ||
    { cat "$out" "$err" >&2; ibs_die "a clock 30 s ahead failed the check"; }
expect '^  warn  clock       (29|30|31) s ahead of the endpoint.s: requests fail at 15 minutes' "$out"
expect '^check passed with 3 warnings: a backup can run$' "$out"
rc=0
faketime -f '-20m' "$IBSTREAM" check --repo "$repo" "${s3[@]}" >"$out" 2>"$err" || rc=$?
[[ $rc == 5 ]] || { cat "$out" "$err" >&2; ibs_die "a clock 20 minutes behind exited $rc, expected 5"; }
expect '^  FAIL  clock       this host.s clock is 1[12][0-9][0-9] s behind the endpoint.s: S3 refuses requests signed more than 15 minutes off \(RequestTimeTooSkewed\): synchronise the clock' "$out"

echo "wrong secret key"
AWS_SECRET_ACCESS_KEY="wrong-secret-$$" check_run 5 --repo "$repo" "${s3[@]}"
expect '^  FAIL  write ' "$out"
expect '403 SignatureDoesNotMatch: the secret key does not match the access key \(credentials from environment\).*fix the secret key' "$err"
! grep -q "wrong-secret-$$" "$out" "$err" || ibs_die "the secret key appears in the output"

echo "missing bucket"
check_run 5 --repo "s3://no-such-bucket-$$/x" "${s3[@]}"
expect "NoSuchBucket: bucket no-such-bucket-$$ does not exist: create it or fix --repo" "$err"

echo "endpoint that does not answer"
port=$(ibs_free_port)
check_run 5 --repo "$repo" --s3-endpoint "http://127.0.0.1:$port"
expect '^  FAIL  connect ' "$out"
expect "connection error: .* check that http://127.0.0.1:$port is reachable" "$err"

echo "no repository, bad URL"
check_run 2
expect 'no repository: give --repo' "$err"
check_run 2 --repo "s3:///nobucket"

echo "local directory: success, then unwritable"
check_run 0 --repo "$IBS_TEST_TMPDIR/local-repo"
expect '^  ok    space       [0-9.]+ GiB free of' "$out"
expect '^  ok    throughput  32 MiB up' "$out"
expect '^check passed: a backup can run$' "$out"
[[ -z "$(find "$IBS_TEST_TMPDIR/local-repo" -name '.ibstream-check-*')" ]] ||
    ibs_die "the local check left probe files behind"
ro="$IBS_TEST_TMPDIR/readonly"
mkdir -p "$ro/repo"
chmod 755 "$IBS_TEST_TMPDIR" "$ro" "$ro/repo"
if [[ $(id -u) == 0 ]]; then
    # root writes anywhere: run as nobody so the permissions apply.
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
else
    chmod 555 "$ro/repo"
    as_user=()
fi
rc=0
"${as_user[@]}" "$IBSTREAM" check --repo "$ro/repo" >"$out" 2>"$err" || rc=$?
[[ $rc == 5 ]] || { cat "$out" "$err" >&2; ibs_die "check of an unwritable directory exited $rc, expected 5"; }
expect '^  FAIL  write ' "$out"
expect "$ro/repo" "$err"

echo "s3check_cli: OK"
