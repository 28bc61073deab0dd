#!/usr/bin/env bash
# The operations against the S3 emulator: list/info (--json), verify of a
# clean backup and of one with a flipped byte and one truncated object,
# expire, cleanup (the emulator lacks ListMultipartUploads: a clear note, the
# rest is done, exit 0), and the lock object held by another host.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ops_lib.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}" "${IBS_TEST_S3_ENDPOINT:?run with the s3 service}"

T=$IBS_TEST_TMPDIR
PREFIX=ops-s3
REPO=s3://$IBS_TEST_S3_BUCKET/$PREFIX
S3=(--s3-endpoint "$IBS_TEST_S3_ENDPOINT")
aws_s3() { /usr/bin/aws --endpoint-url "$IBS_TEST_S3_ENDPOINT" --only-show-errors s3 "$@"; }
aws_ls() { /usr/bin/aws --endpoint-url "$IBS_TEST_S3_ENDPOINT" s3 ls "$@"; }
ib() { "$IBSTREAM" "$1" --repo "$REPO" "${S3[@]}" "${@:2}"; }
ops_make_data 2000

ops_backup "$REPO" "${S3[@]}"
sleep 1.1
ops_backup "$REPO" "${S3[@]}"

ibs_log "list and info through S3"
ops_expect_rc 0 ib list --json
cp "$OPS_OUT" "$T/list.json"
ops_assert_eq "$(ops_json '[b["type"] for b in j["backups"]]' "$T/list.json")" '["full", "full"]' "two fulls"
ops_assert_eq "$(ops_json 'j["repository"]' "$T/list.json")" "$REPO" "repository url"
OLD=$(ops_json 'j["backups"][1]["id"]' "$T/list.json")
NEW=$(ops_json 'j["backups"][0]["id"]' "$T/list.json")
ops_expect_rc 0 ib info --backup "$NEW" --json
ops_assert_eq "$(ops_json '"shop" in [d["name"] for d in j["databases"]]' "$OPS_OUT")" True "shop listed"
ops_expect_rc 0 ib verify --all
ops_assert_grep "^verified 2 backup\(s\): all restorable" "$OPS_OUT" "clean verify"

ibs_log "verify through S3: a flipped byte, then a truncated object"
DATA=backups/$OLD/data.0000
aws_s3 cp "s3://$IBS_TEST_S3_BUCKET/$PREFIX/$DATA" "$T/data.orig"
aws_s3 cp "s3://$IBS_TEST_S3_BUCKET/$PREFIX/backups/$OLD/manifest" "$T/manifest"
read -r OFF LEN < <(python3 -c 'import json,sys
m = json.load(open(sys.argv[1]))
f = [f for f in m["files"] if f["name"] == "crm/people.ibd"][0]
fr = max(f["frames"], key=lambda r: r[2])
print(fr[1], fr[2])' "$T/manifest")
python3 -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read()); at = int(sys.argv[3])
d[at] ^= 0x01
open(sys.argv[2], "wb").write(d)' "$T/data.orig" "$T/data.flipped" $((OFF + LEN / 2))
aws_s3 cp "$T/data.flipped" "s3://$IBS_TEST_S3_BUCKET/$PREFIX/$DATA"
ops_expect_rc 6 ib verify --backup "$OLD"
ops_assert_grep "PROBLEM: crm/people.ibd: .*object $DATA offset $OFF" "$OPS_OUT" "flipped byte located"
head -c $(($(stat -c %s "$T/data.orig") / 2)) "$T/data.orig" >"$T/data.short"
aws_s3 cp "$T/data.short" "s3://$IBS_TEST_S3_BUCKET/$PREFIX/$DATA"
ops_expect_rc 6 ib verify --all
ops_assert_grep "object $DATA has [0-9]+ bytes, the manifest says" "$OPS_OUT" "truncation found"
ops_assert_grep "^backup $NEW: ok" "$OPS_OUT" "the other backup is fine"

ibs_log "a lock held by another host stops a backup, expire and cleanup"
printf '{"host":"db-elsewhere","pid":99,"started":%s,"command":"backup","token":"00ff"}' "$(date +%s)" >"$T/lock"
aws_s3 cp "$T/lock" "s3://$IBS_TEST_S3_BUCKET/$PREFIX/lock"
ops_expect_rc 7 "$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$REPO" "${S3[@]}"
ops_assert_grep "locked by 'backup' on host db-elsewhere, pid 99" "$OPS_ERR" "lock message"
ops_expect_rc 7 ib expire --retain-full 1
ops_expect_rc 7 ib cleanup --older-than 0
ibs_log "... until it is older than --lock-stale-after"
printf '{"host":"db-elsewhere","pid":99,"started":%s,"command":"backup","token":"00ff"}' "$(($(date +%s) - 7300))" >"$T/lock"
aws_s3 cp "$T/lock" "s3://$IBS_TEST_S3_BUCKET/$PREFIX/lock"
ops_expect_rc 7 ib expire --retain-full 1 --lock-stale-after 3
ops_expect_rc 0 ib expire --retain-full 1 --lock-stale-after 2
ops_assert_grep "breaking the stale lock .*db-elsewhere.*older than --lock-stale-after" "$OPS_ERR" "stale lock warning"
ops_assert_grep "^deleted backup $OLD \(full" "$OPS_OUT" "old full deleted"
ops_expect_rc 0 ib list --json --all
ops_assert_eq "$(ops_json '[b["id"] for b in j["backups"]]' "$OPS_OUT")" "[\"$NEW\"]" "one backup left"
aws_ls --recursive "s3://$IBS_TEST_S3_BUCKET/$PREFIX/backups/$OLD/" >"$T/left" || true
[[ ! -s "$T/left" ]] || { cat "$T/left" >&2; ibs_die "objects of the expired backup remain"; }

ibs_log "cleanup on the emulator: no upload listing, the rest is done"
printf 'left by a killed run' >"$T/orphan"
aws_s3 cp "$T/orphan" "s3://$IBS_TEST_S3_BUCKET/$PREFIX/backups/$NEW/data.0007"
aws_s3 cp "$T/orphan" "s3://$IBS_TEST_S3_BUCKET/$PREFIX/backups/29990101-000000F/redo.0000"
ops_expect_rc 0 ib cleanup --older-than 0 --dry-run
ops_assert_grep "^would remove backups/$NEW/data.0007" "$OPS_OUT" "dry run names the orphan"
aws_ls "s3://$IBS_TEST_S3_BUCKET/$PREFIX/backups/$NEW/data.0007" >/dev/null || ibs_die "dry run removed an object"
ops_expect_rc 0 ib cleanup --older-than 0
ops_assert_grep "^removed backups/$NEW/data.0007 \(20 bytes" "$OPS_OUT" "orphan in a complete backup"
ops_assert_grep "^removed backups/29990101-000000F/redo.0000" "$OPS_OUT" "orphan of an attempt"
if grep -q "^note: this store cannot list unfinished multipart uploads" "$OPS_OUT"; then
    ibs_log "the emulator does not list multipart uploads (noted by cleanup)"
fi
ops_expect_rc 0 ib verify --all
ops_expect_rc 0 ib list --json --all
ops_assert_eq "$(ops_json '[b["status"] for b in j["backups"]]' "$OPS_OUT")" '["complete"]' "nothing incomplete"
ibs_log "ops_s3: ok"
