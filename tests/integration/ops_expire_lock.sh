#!/usr/bin/env bash
# Chains, retention and the repository lock on a local repository:
# two fulls each with an incremental; info shows the chains; expire
# --dry-run changes nothing; a full a kept incremental needs is kept; expire
# deletes the old chain incremental first, then its full, and says the bytes
# freed; verify catches a deleted parent. Two concurrent backups: the second
# fails at once with exit 7 naming the holder; after kill -9 of the first,
# cleanup breaks its stale lock and leaves no unreferenced object, and the
# next backup succeeds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ops_lib.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"

T=$IBS_TEST_TMPDIR
REPO=$T/repo
ops_make_data 2000

ids() { "$IBSTREAM" list --repo "$REPO" --json | python3 -c 'import json,sys
print(" ".join(b["id"] for b in reversed(json.load(sys.stdin)["backups"])))'; }
tree() { (cd "$REPO" && find . -path ./.ibstream-tmp -prune -o -type f -printf '%p %s\n' | sort); }

ops_backup "$REPO"
sleep 1.1
ibs_sql "INSERT INTO shop.orders SELECT seq, 'a1' FROM shop.seq_2001_to_2100"
ops_backup "$REPO" --incremental
sleep 1.1
ops_backup "$REPO"
sleep 1.1
ibs_sql "INSERT INTO shop.orders SELECT seq, 'b1' FROM shop.seq_2101_to_2200"
ops_backup "$REPO" --incremental
read -r A A1 B B1 < <(ids)
[[ -n "$B1" ]] || ibs_die "expected four backups, got: $A $A1 $B $B1"

ibs_log "list and info show the chains"
ops_expect_rc 0 "$IBSTREAM" list --repo "$REPO" --json
ops_assert_eq "$(ops_json '[(b["type"], b["parent"]) for b in j["backups"]]' "$OPS_OUT")" \
    "[[\"incremental\", \"$B\"], [\"full\", null], [\"incremental\", \"$A\"], [\"full\", null]]" \
    "types and parents"
ops_expect_rc 0 "$IBSTREAM" info --repo "$REPO" --backup "$B1" --json
ops_assert_eq "$(ops_json 'j["chain"]' "$OPS_OUT")" "[\"$B\", \"$B1\"]" "chain of B1"
ops_expect_rc 0 "$IBSTREAM" info --repo "$REPO" --backup "$A1"
ops_assert_grep "^chain +$A <- $A1\$" "$OPS_OUT" "text chain of A1"
ops_expect_rc 0 "$IBSTREAM" verify --repo "$REPO" --all

ibs_log "verify: an incremental whose parent is gone"
rm -rf "$T/bad" && cp -a "$REPO" "$T/bad"
rm "$T/bad/backups/$B/manifest"
ops_expect_rc 6 "$IBSTREAM" verify --repo "$T/bad" --backup "$B1"
ops_assert_grep "PROBLEM: chain: .*base backup $B .*has no manifest" "$OPS_OUT" "broken chain found"
ops_expect_rc 6 "$IBSTREAM" info --repo "$T/bad" --backup "$B1"
ops_assert_grep "BROKEN" "$OPS_OUT" "info marks the broken chain"

ibs_log "expire --dry-run changes nothing"
tree >"$T/tree.before"
ops_expect_rc 0 "$IBSTREAM" expire --repo "$REPO" --retain-full 1 --dry-run
ops_assert_grep "^would delete backup $A1 \(incremental" "$OPS_OUT" "dry run names A1"
ops_assert_grep "^would delete backup $A \(full" "$OPS_OUT" "dry run names A"
tree >"$T/tree.after"
cmp -s "$T/tree.before" "$T/tree.after" || ibs_die "expire --dry-run changed the repository"

ibs_log "a full that a kept incremental needs is kept"
python3 - "$REPO/backups/$A/manifest" <<'PY'
import json, sys, time
m = json.load(open(sys.argv[1]))
m["end_time"] = int(time.time()) - 10 * 86400
json.dump(m, open(sys.argv[1], "w"))
PY
ops_expect_rc 0 "$IBSTREAM" expire --repo "$REPO" --retain-full 1 --retain-days 2 --dry-run
ops_assert_grep "^would delete 0 backup" "$OPS_OUT" "nothing to delete"
ops_assert_grep "^keeping backup $A\$" "$OPS_OUT" "A kept for A1"

ibs_log "expire: the old chain goes, incremental first, manifest first"
WANT_BYTES=$(python3 -c 'import os, sys
print(sum(os.path.getsize(os.path.join(d, f)) for b in sys.argv[2:]
          for d, _, fs in os.walk(os.path.join(sys.argv[1], "backups", b)) for f in fs))' "$REPO" "$A" "$A1")
ops_expect_rc 0 "$IBSTREAM" expire --repo "$REPO" --retain-full 1
ops_assert_eq "$(grep -n "^deleted backup" "$OPS_OUT" | cut -d' ' -f3 | tr '\n' ' ')" "$A1 $A " "deletion order"
ops_assert_grep "^deleted 2 backup\(s\), $WANT_BYTES bytes" "$OPS_OUT" "bytes freed"
ops_assert_eq "$(ids)" "$B $B1" "backups left"
[[ ! -e "$REPO/backups/$A" && ! -e "$REPO/backups/$A1" ]] || ibs_die "expired objects remain"
[[ ! -e "$REPO/lock" ]] || ibs_die "expire left its lock behind"
ops_expect_rc 0 "$IBSTREAM" verify --repo "$REPO" --all

ibs_log "two backups at once: the second fails with the lock holder"
ops_make_data 6000
"$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$REPO" --throttle 1 \
    --parallel 1 --log-level warn >"$T/slow.out" 2>"$T/slow.err" &
SLOW=$!
for ((i = 0; i < 300; i++)); do
    [[ -s "$REPO/lock" ]] && compgen -G "$REPO/.ibstream-tmp/*/backups/*" >/dev/null && break
    kill -0 "$SLOW" 2>/dev/null || { cat "$T/slow.err" >&2; ibs_die "the slow backup ended early"; }
    sleep 0.1
done
[[ -s "$REPO/lock" ]] || ibs_die "the slow backup did not take the lock"
ops_expect_rc 7 "$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$REPO"
ops_assert_grep "is locked by 'backup' on host $(hostname), pid $SLOW, since " "$OPS_ERR" "lock message"
ops_expect_rc 7 "$IBSTREAM" expire --repo "$REPO" --retain-full 1
ops_expect_rc 7 "$IBSTREAM" cleanup --repo "$REPO" --older-than 0
kill -0 "$SLOW" || ibs_die "the slow backup ended before the kill"

ibs_log "kill -9 mid-backup, then cleanup and a new backup"
kill -9 "$SLOW"
wait "$SLOW" 2>/dev/null || true
[[ -s "$REPO/lock" ]] || ibs_die "a killed backup should leave its lock"
ops_expect_rc 0 "$IBSTREAM" list --repo "$REPO" --json --all
ops_assert_eq "$(ops_json 'len(j["backups"])' "$OPS_OUT")" 2 "no incomplete backup listed yet (its objects are uploads)"
ops_expect_rc 0 "$IBSTREAM" cleanup --repo "$REPO" --older-than 0
ops_assert_grep "breaking the stale lock of 'backup' on host .* pid $SLOW.*its process is gone" "$OPS_ERR" "stale lock broken"
ops_assert_grep "^aborted unfinished upload of backups/" "$OPS_OUT" "upload aborted"
[[ -z "$(ls -A "$REPO/.ibstream-tmp" 2>/dev/null)" ]] || ibs_die "uploads left: $(ls -A "$REPO/.ibstream-tmp")"
ops_expect_rc 0 "$IBSTREAM" list --repo "$REPO" --json --all
ops_assert_eq "$(ops_json '[b["status"] for b in j["backups"]]' "$OPS_OUT")" '["complete", "complete"]' "nothing incomplete"
[[ ! -e "$REPO/lock" ]] || ibs_die "cleanup left a lock"
ops_backup "$REPO"
ops_expect_rc 0 "$IBSTREAM" verify --repo "$REPO" --backup latest
ops_expect_rc 0 "$IBSTREAM" cleanup --repo "$REPO" --older-than 0
ops_assert_grep "^aborted 0 upload\(s\), removed 0 object\(s\)" "$OPS_OUT" "a clean repository has nothing to clean"
ibs_log "ops_expire_lock: ok"

ibs_log "six backups started at once on a fresh repository: exactly one takes the lock"
RACE=$T/race
pids=()
for i in 1 2 3 4 5 6; do
    "$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$RACE" --throttle 1 \
        --parallel 1 --log-level warn >"$T/race$i.out" 2>"$T/race$i.err" &
    pids+=($!)
done
for ((i = 0; i < 300; i++)); do
    running=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
    ((running <= 1)) && break
    sleep 0.1
done
locked=0 winner=""
for i in 1 2 3 4 5 6; do
    if kill -0 "${pids[i - 1]}" 2>/dev/null; then
        winner=${pids[i - 1]}
    else
        rc=0
        wait "${pids[i - 1]}" || rc=$?
        ((rc == 7)) || { cat "$T/race$i.err" >&2; ibs_die "racing backup $i exited $rc, want 7 or to hold the lock"; }
        locked=$((locked + 1))
    fi
done
((locked == 5)) && [[ -n $winner ]] || ibs_die "$locked of 6 racing backups refused, want 5 (and one running)"
grep -q "\"pid\":$winner," "$RACE/lock" || ibs_die "the lock names another process than the running backup $winner: $(cat "$RACE/lock")"
kill -INT "$winner"
rc=0
wait "$winner" || rc=$?
((rc == 8)) || ibs_die "the interrupted winner exited $rc, want 8"
[[ ! -e "$RACE/lock" ]] || ibs_die "the interrupted winner left its lock"
