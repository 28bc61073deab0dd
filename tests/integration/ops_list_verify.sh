#!/usr/bin/env bash
# list, info and verify on a local repository: two backups listed newest
# first with their fields (--json parsed), an incomplete attempt only with
# --all, info's chain and per-database sizes, and verify finding a flipped
# byte in a data object (which also stops a restore, exit 6), a truncated
# object, a deleted pack and hand-edited manifests (exit 6), a missing backup
# (exit 11), a clean one (exit 0); a restore limited to 40 file descriptors
# writes the same files as one without limit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ops_lib.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"

T=$IBS_TEST_TMPDIR
REPO=$T/repo
ops_make_data 3000

ops_backup "$REPO" --metrics-file "$T/backup.prom"
ibs_log "the backup wrote its metrics"
ops_assert_grep '^ibstream_last_exit_code\{command="backup"\} 0$' "$T/backup.prom" "backup exit code"
ops_assert_grep '^ibstream_last_bytes_read\{command="backup"\} [1-9][0-9]*$' "$T/backup.prom" "bytes read"
ops_assert_grep '^ibstream_last_bytes_stored\{command="backup"\} [1-9][0-9]*$' "$T/backup.prom" "bytes stored"
ops_assert_grep '^ibstream_last_compression_ratio\{command="backup"\} [0-9]+\.[0-9]{3}$' "$T/backup.prom" "ratio"
sleep 1.1 # backup ids have one-second resolution
ibs_sql "INSERT INTO shop.orders SELECT seq, 'later' FROM shop.seq_3001_to_3100"
ops_backup "$REPO"

ibs_log "list --json: two complete backups, newest first"
ops_expect_rc 0 "$IBSTREAM" list --repo "$REPO" --json
cp "$OPS_OUT" "$T/list.json"
ops_assert_eq "$(ops_json 'len(j["backups"])' "$T/list.json")" 2 "backups listed"
FIRST=$(ops_json 'j["backups"][1]["id"]' "$T/list.json")
SECOND=$(ops_json 'j["backups"][0]["id"]' "$T/list.json")
[[ "$SECOND" > "$FIRST" ]] || ibs_die "list is not newest first: $SECOND then $FIRST"
for f in '["type"]' '["status"]' '["server"]["version"]' '["server"]["hostname"]' \
    '["lsn"]["checkpoint"]' '["lsn"]["end"]' '["binlog"]["file"]' '["binlog"]["position"]' \
    '["bytes_read"]' '["bytes_stored"]' '["duration_ms"]' '["start_time"]' '["end_time"]'; do
    v=$(ops_json "j[\"backups\"][0]$f" "$T/list.json")
    [[ -n "$v" && "$v" != None ]] || ibs_die "list --json: field $f is empty"
done
ops_assert_eq "$(ops_json 'j["backups"][0]["type"]' "$T/list.json")" full "type"
ops_assert_eq "$(ops_json 'j["backups"][0]["status"]' "$T/list.json")" complete "status"
ops_assert_eq "$(ops_json 'j["backups"][0]["binlog"]["file"].startswith("mysql-bin.")' "$T/list.json")" True "binlog file"
ops_assert_eq "$(ops_json 'j["backups"][0]["lsn"]["end"] >= j["backups"][0]["lsn"]["checkpoint"] > 0' "$T/list.json")" True "LSN range"
ops_assert_eq "$(ops_json 'j["backups"][0]["bytes_read"] > j["backups"][0]["bytes_stored"] > 0' "$T/list.json")" True "bytes read and stored"

ibs_log "an attempt without manifest is listed only with --all"
mkdir -p "$REPO/backups/20000101-000000F"
printf 'partial' >"$REPO/backups/20000101-000000F/data.0000"
ops_expect_rc 0 "$IBSTREAM" list --repo "$REPO" --json
ops_assert_eq "$(ops_json 'len(j["backups"])' "$OPS_OUT")" 2 "backups without --all"
ops_expect_rc 0 "$IBSTREAM" list --repo "$REPO" --json --all
ops_assert_eq "$(ops_json '[b["status"] for b in j["backups"]]' "$OPS_OUT")" \
    '["complete", "complete", "incomplete"]' "statuses with --all"
ops_expect_rc 0 "$IBSTREAM" list --repo "$REPO" --all
ops_assert_grep "20000101-000000F +incomplete" "$OPS_OUT" "text list marks the attempt"
ops_assert_grep "^$SECOND +full" "$OPS_OUT" "text list shows the newest"
rm -rf "$REPO/backups/20000101-000000F"

ibs_log "info: manifest, chain, databases"
ops_expect_rc 0 "$IBSTREAM" info --repo "$REPO" --backup latest --json
cp "$OPS_OUT" "$T/info.json"
ops_assert_eq "$(ops_json 'j["id"]' "$T/info.json")" "$SECOND" "info latest"
ops_assert_eq "$(ops_json 'j["chain"]' "$T/info.json")" "[\"$SECOND\"]" "chain of a full"
ops_assert_eq "$(ops_json 'sorted(d["name"] for d in j["databases"] if d["name"] in ("shop","crm","mysql","(server)"))' "$T/info.json")" \
    '["(server)", "crm", "mysql", "shop"]' "databases"
ops_assert_eq "$(ops_json '[d for d in j["databases"] if d["name"]=="shop"][0]["size"] >= 65536' "$T/info.json")" True "size of shop"
ops_expect_rc 0 "$IBSTREAM" info --repo "$REPO" --backup "$FIRST"
ops_assert_grep "^backup +$FIRST" "$OPS_OUT" "text info"
ops_assert_grep "^shop +" "$OPS_OUT" "text info per database"
ops_expect_rc 11 "$IBSTREAM" info --repo "$REPO" --backup 19990101-000000F

ibs_log "verify: clean backups"
ops_expect_rc 0 "$IBSTREAM" verify --repo "$REPO" --all
ops_assert_grep "^backup $FIRST: ok \([0-9]+ files, [0-9]+ frames, [1-9][0-9]* pages" "$OPS_OUT" "pages checked"
ops_assert_grep "^backup $FIRST: ok" "$OPS_OUT" "first verified"
ops_assert_grep "^backup $SECOND: ok" "$OPS_OUT" "second verified"
ops_expect_rc 11 "$IBSTREAM" verify --repo "$REPO" --backup 19990101-000000F
ops_assert_grep "no backup 19990101-000000F" "$OPS_ERR" "missing backup message"

ibs_log "restore with 40 file descriptors (files written in groups) equals an unlimited one"
ops_expect_rc 0 "$IBSTREAM" restore --repo "$REPO" --backup "$SECOND" --target "$T/r-all" --no-prepare
ops_expect_rc 0 bash -c 'ulimit -Sn 40 && ulimit -Hn 40 && exec "$@"' limit \
    "$IBSTREAM" restore --repo "$REPO" --backup "$SECOND" --target "$T/r-40" --no-prepare
diff -r "$T/r-all" "$T/r-40" >&2 || ibs_die "the restore with 40 descriptors differs (above)"
[[ $(find "$T/r-40" -type f | wc -l) -gt 40 ]] || ibs_die "too few files to need groups: $(find "$T/r-40" -type f | wc -l)"

# Each corruption is made on a copy of the repository, so the next one starts clean.
corrupt_copy() {
    rm -rf "$T/bad"
    cp -a "$REPO" "$T/bad"
}
MANIFEST=backups/$SECOND/manifest
DATA=backups/$SECOND/data.0000

ibs_log "verify: a flipped byte in the middle of a data frame"
corrupt_copy
# The largest frame of shop/orders.ibd, at its middle: inside a zstd payload or raw pages.
read -r OFF LEN < <(python3 -c 'import json,sys
m = json.load(open(sys.argv[1]))
f = [f for f in m["files"] if f["name"] == "shop/orders.ibd"][0]
fr = max(f["frames"], key=lambda r: r[2])
print(fr[1], fr[2])' "$T/bad/$MANIFEST")
python3 -c 'import sys
p, at = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0x40]))' \
    "$T/bad/$DATA" $((OFF + LEN / 2))
ops_expect_rc 6 "$IBSTREAM" verify --repo "$T/bad" --backup "$SECOND"
ops_assert_grep "PROBLEM: shop/orders.ibd: .*object $DATA offset $OFF" "$OPS_OUT" "flipped byte located"
ops_expect_rc 0 "$IBSTREAM" verify --repo "$T/bad" --backup "$FIRST"
ibs_log "restore: the flipped byte stops the restore, naming file, object and offset"
ops_expect_rc 6 "$IBSTREAM" restore --repo "$T/bad" --backup "$SECOND" --target "$T/bad-restore"
ops_assert_grep "shop/orders.ibd: object $DATA offset $OFF " "$OPS_ERR" "restore locates the frame"
ops_assert_grep "the target is incomplete" "$OPS_ERR" "restore says the target is incomplete"
! grep -q "^restored backup\|^prepared " "$OPS_OUT" || ibs_die "a failed restore reported success: $(cat "$OPS_OUT")"

ibs_log "verify: a truncated data object"
corrupt_copy
SIZE=$(stat -c %s "$T/bad/$DATA")
truncate -s $((SIZE - 100)) "$T/bad/$DATA"
ops_expect_rc 6 "$IBSTREAM" verify --repo "$T/bad" --backup "$SECOND"
ops_assert_grep "object $DATA has $((SIZE - 100)) bytes, the manifest says $SIZE" "$OPS_OUT" "truncation found"

ibs_log "verify: a deleted pack"
corrupt_copy
rm "$T/bad/$DATA"
ops_expect_rc 6 "$IBSTREAM" verify --repo "$T/bad" --backup "$SECOND"
ops_assert_grep "object $DATA is missing" "$OPS_OUT" "missing pack found"

ibs_log "verify: a manifest edited by hand (an xxh3, then an offset)"
corrupt_copy
python3 - "$T/bad/$MANIFEST" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
f = [f for f in m["files"] if f["name"] == "crm/people.ibd"][0]
f["frames"][0][5] = "%016x" % (int(f["frames"][0][5], 16) ^ 1)
json.dump(m, open(sys.argv[1], "w"))
PY
ops_expect_rc 6 "$IBSTREAM" verify --repo "$T/bad" --backup "$SECOND"
ops_assert_grep "PROBLEM: crm/people.ibd: frame at object .* does not match the manifest" "$OPS_OUT" "edited xxh3"
corrupt_copy
python3 - "$T/bad/$MANIFEST" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
f = [f for f in m["files"] if f["name"] == "crm/people.ibd"][0]
f["frames"][0][1] += 1
json.dump(m, open(sys.argv[1], "w"))
PY
ops_expect_rc 6 "$IBSTREAM" verify --repo "$T/bad" --backup "$SECOND"
ops_assert_grep "PROBLEM: crm/people.ibd: frame at object .*: bad frame magic|PROBLEM: crm/people.ibd: .*frame" "$OPS_OUT" "edited offset"

ibs_log "verify --all reports the damaged backup and exits 6"
ops_expect_rc 6 "$IBSTREAM" verify --repo "$T/bad" --all
ops_assert_grep "^backup $FIRST: ok" "$OPS_OUT" "intact backup still ok"
ops_assert_grep "^backup $SECOND: 1 problem" "$OPS_OUT" "damaged one counted"
ibs_log "ops_list_verify: ok"
