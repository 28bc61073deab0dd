#!/usr/bin/env bash
# Shows the S3 harness works: a private emulator on loopback, an object PUT and
# GET with the AWS CLI byte for byte, and requests signed with a wrong secret
# (or not signed at all) refused: the emulator really checks SigV4 signatures.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ibs_start_s3

for v in IBS_TEST_S3_ENDPOINT IBS_TEST_S3_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION \
    AWS_EC2_METADATA_DISABLED AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE; do
    [[ -n "${!v:-}" ]] || ibs_die "$v is not set by ibs_start_s3"
done
[[ "$IBS_TEST_S3_ENDPOINT" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || ibs_die "endpoint $IBS_TEST_S3_ENDPOINT is not on loopback"
[[ "$AWS_CONFIG_FILE" == "$IBS_TEST_TMPDIR"/* ]] || ibs_die "AWS_CONFIG_FILE points outside the test's temp dir"

work="$IBS_TEST_TMPDIR/work"
mkdir -p "$work"
# 6 MiB: larger than the CLI's multipart threshold, so multipart upload is exercised too.
head -c $((6 * 1024 * 1024)) /dev/urandom >"$work/up.bin"
printf 'small object\n' >"$work/small.txt"

ibs_aws s3 cp --only-show-errors "$work/up.bin" "s3://$IBS_TEST_S3_BUCKET/harness/up.bin"
ibs_aws s3 cp --only-show-errors "$work/small.txt" "s3://$IBS_TEST_S3_BUCKET/harness/small.txt"
ibs_aws s3 cp --only-show-errors "s3://$IBS_TEST_S3_BUCKET/harness/up.bin" "$work/down.bin"
ibs_aws s3 cp --only-show-errors "s3://$IBS_TEST_S3_BUCKET/harness/small.txt" "$work/small.down"
cmp "$work/up.bin" "$work/down.bin" || ibs_die "the 6 MiB object came back different"
cmp "$work/small.txt" "$work/small.down" || ibs_die "the small object came back different"

listing=$(ibs_aws s3 ls "s3://$IBS_TEST_S3_BUCKET/harness/")
grep -q ' 6291456 up.bin$' <<<"$listing" || ibs_die "listing lacks up.bin of 6291456 bytes: $listing"

# Paged listing (continuation tokens; these broke on node 20 without the
# launcher's DES shim, for any listing of more than 1000 keys).
keys=$(ibs_aws s3api list-objects-v2 --bucket "$IBS_TEST_S3_BUCKET" --prefix harness/ --page-size 1 \
    --query 'Contents[].Key' --output text | tr '\t' '\n')
[[ "$keys" == $'harness/small.txt\nharness/up.bin' ]] || ibs_die "paged listing gave '$keys'"

# A wrong secret key: the request must fail with SignatureDoesNotMatch.
if out=$(AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY}x" \
    ibs_aws s3 cp "$work/small.txt" "s3://$IBS_TEST_S3_BUCKET/harness/forged.txt" 2>&1); then
    ibs_die "PUT with a wrong secret key succeeded"
fi
grep -q SignatureDoesNotMatch <<<"$out" || ibs_die "PUT with a wrong secret failed, but not with SignatureDoesNotMatch: $out"
if out=$(AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY}x" \
    ibs_aws s3 cp "s3://$IBS_TEST_S3_BUCKET/harness/small.txt" "$work/forged.down" 2>&1); then
    ibs_die "GET with a wrong secret key succeeded"
fi
grep -q 'SignatureDoesNotMatch\|403' <<<"$out" || ibs_die "GET with a wrong secret failed for another reason: $out"

# An unknown access key is refused too.
if out=$(AWS_ACCESS_KEY_ID=AKIAUNKNOWN0000000000 \
    ibs_aws s3 cp "$work/small.txt" "s3://$IBS_TEST_S3_BUCKET/harness/forged.txt" 2>&1); then
    ibs_die "PUT with an unknown access key succeeded"
fi
grep -q InvalidAccessKeyId <<<"$out" || ibs_die "PUT with an unknown key failed, but not with InvalidAccessKeyId: $out"

# And an unsigned request.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    "$IBS_TEST_S3_ENDPOINT/$IBS_TEST_S3_BUCKET/harness/small.txt")
[[ "$code" == 403 ]] || ibs_die "an unsigned GET got HTTP $code, expected 403"

if ibs_aws s3 ls "s3://$IBS_TEST_S3_BUCKET/harness/forged.txt" >/dev/null 2>&1; then
    ibs_die "a forged object was stored"
fi

echo "s3_harness: OK"
