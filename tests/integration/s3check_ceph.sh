#!/usr/bin/env bash
# Against a real RADOS Gateway (run under tests/ceph/with-rgw): the store
# conformance suite, including the byte-order listing case and the multipart
# listing after an abort that the loopback emulator cannot serve, then
# `ibstream check` with no warning, and with bucket policies that withhold one
# permission each: the check fails with exit 5 and names the IAM action.
# $1: the store_conformance program.
set -euo pipefail
conformance=${1:?usage: s3check_ceph.sh path/to/store_conformance}
: "${IBSTREAM:?run through ctest}" "${IBS_TEST_S3_ENDPOINT:?run under tests/ceph/with-rgw}"
die() { echo "s3check_ceph: FAIL: $*" >&2; exit 1; }
aws=aws
[[ -x /usr/bin/aws ]] && aws=/usr/bin/aws
bucket=$IBS_TEST_S3_BUCKET
endpoint=$IBS_TEST_S3_ENDPOINT
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "store conformance"
# store_conformance skips its listing-order case for 127.0.0.1 endpoints (the
# emulator orders differently); the gateway orders as S3 does, so name it localhost.
IBS_TEST_S3_ENDPOINT=${endpoint/127.0.0.1/localhost} "$conformance" --s3

echo "ibstream check: every step, no warning"
"$IBSTREAM" check --repo "s3://$bucket/check" --s3-endpoint "$endpoint" >"$work/out" ||
    { cat "$work/out"; die "check failed against the gateway"; }
cat "$work/out"
grep -q '^  ok    multipart   upload started, one part, listed, aborted$' "$work/out" ||
    die "the multipart step did not list and abort"
grep -q '^check passed: a backup can run$' "$work/out" || die "the check did not pass cleanly"

# user_without ACTION: a user whom the bucket policy grants every permission a
# backup needs but ACTION; prints "ACCESS SECRET".
user_without() {
    local uid="no-${1#s3:}-$RANDOM" access secret grants="" a
    uid=$(tr '[:upper:]' '[:lower:]' <<<"$uid")
    access="IBS$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr '[:lower:]' '[:upper:]')"
    secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
    radosgw-admin user create --uid="$uid" --display-name="$uid" --access-key="$access" \
        --secret="$secret" >/dev/null 2>"$work/admin.err" || die "radosgw-admin: $(cat "$work/admin.err")"
    for a in s3:PutObject s3:GetObject s3:ListBucket s3:DeleteObject s3:AbortMultipartUpload \
        s3:ListBucketMultipartUploads; do
        [[ $a == "$1" ]] || grants+="${grants:+,}\"$a\""
    done
    cat >"$work/policy.json" <<JSON
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"AWS": ["arn:aws:iam:::user/$uid"]}, "Action": [$grants],
  "Resource": ["arn:aws:s3:::$bucket", "arn:aws:s3:::$bucket/*"]}]}
JSON
    "$aws" --endpoint-url "$endpoint" s3api put-bucket-policy --bucket "$bucket" \
        --policy "file://$work/policy.json" || die "cannot set the bucket policy"
    echo "$access $secret"
}

# Not s3:GetObject: the gateway lets an object's writer read it back through its ACL.
for action in s3:DeleteObject s3:AbortMultipartUpload s3:ListBucket; do
    echo "ibstream check without $action"
    read -r access secret < <(user_without "$action")
    rc=0
    AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret "$IBSTREAM" check \
        --repo "s3://$bucket/check-$action" --s3-endpoint "$endpoint" >"$work/out" 2>"$work/err" || rc=$?
    [[ $rc == 5 ]] || { cat "$work/out" "$work/err"; die "check without $action exited $rc, expected 5"; }
    grep -q "403 AccessDenied: .*($action)" "$work/err" ||
        { cat "$work/out" "$work/err"; die "the error does not name $action"; }
done
echo "s3check_ceph: OK"
