#!/usr/bin/env bash
# Interop: an object written by ibstream's S3 driver is read back byte for byte
# by `aws s3 cp`, and an object written by `aws s3 cp` (multipart, its own part
# size) is read back by ibstream's driver. Run under with-s3; $1 is
# bench_s3_stream (put: stdin to an object, get: an object to stdout).
set -euo pipefail
s3_cp=${1:?usage: s3_interop.sh path/to/bench_s3_stream}
: "${IBS_TEST_S3_ENDPOINT:?run under tests/integration/with-s3}" "${IBS_TEST_S3_BUCKET:?}"
export BENCH_S3_ENDPOINT=$IBS_TEST_S3_ENDPOINT
command -v aws >/dev/null || { echo "s3_interop: the aws CLI is not installed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="s3_interop-$$"
url="s3://$IBS_TEST_S3_BUCKET/$prefix"
aws_s3() { aws --endpoint-url "$IBS_TEST_S3_ENDPOINT" --only-show-errors s3 "$@"; }

# 23 MiB + 7 bytes of deterministic data: 5 parts of 5 MiB for ibstream, a
# partial last part, and several parts for the CLI's 8 MiB default too.
head -c $((23 * 1024 * 1024 + 7)) <(openssl enc -aes-128-ctr -nosalt -pass pass:ibstream \
    -in /dev/zero 2>/dev/null) >"$work/data"
want=$(sha256sum <"$work/data" | cut -d' ' -f1)

echo "ibstream writes (multipart), aws reads"
BENCH_PART_MB=5 "$s3_cp" put "$url" "from ibstream/data 1+1=2" <"$work/data"
aws_s3 cp "s3://$IBS_TEST_S3_BUCKET/$prefix/from ibstream/data 1+1=2" "$work/by-aws"
got=$(sha256sum <"$work/by-aws" | cut -d' ' -f1)
[[ "$got" == "$want" ]] || { echo "s3_interop: aws read $got, want $want" >&2; exit 1; }

echo "ibstream writes (single PUT), aws reads"
head -c 1000 "$work/data" | "$s3_cp" put "$url" small
aws_s3 cp "s3://$IBS_TEST_S3_BUCKET/$prefix/small" "$work/small-by-aws"
cmp "$work/small-by-aws" <(head -c 1000 "$work/data")

echo "aws writes (multipart), ibstream reads"
aws_s3 cp "$work/data" "s3://$IBS_TEST_S3_BUCKET/$prefix/from aws/data é"
"$s3_cp" get "$url" "from aws/data é" >"$work/by-ibstream"
got=$(sha256sum <"$work/by-ibstream" | cut -d' ' -f1)
[[ "$got" == "$want" ]] || { echo "s3_interop: ibstream read $got, want $want" >&2; exit 1; }

echo "s3_interop: ok"
