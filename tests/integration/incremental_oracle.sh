#!/usr/bin/env bash
# Oracle for incremental chains: a full and three incrementals taken while a
# workload writes are restored twice: (a) by `ibstream restore` (member by
# member, each member's log applied by ibstream), (b) by `ibstream restore
# --no-prepare` (the delta layout) followed by the mariabackup commands it
# prints (--prepare of the base, then --incremental-dir per member; 10.11's
# mariabackup has no --apply-log-only: --prepare rolls nothing back). Every
# page of every tablespace must be byte-for-byte equal.
#
# Differences accepted: none (incremental_pagecmp.py compares every byte,
# checksums and page LSNs included; pages past the end of the shorter copy of
# a file are compared with zeros).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$IBS_LIB_DIR/incremental_lib.sh"
T=$IBS_TEST_TMPDIR
IBS_INC_REPO="$T/repo"

ibs_start_mariadb
inc_setup

inc_load_start load 120
sleep 1
inc_backup >"$T/full.out"
full=$(inc_last_id)
# Each incremental's log starts after its base's end: the pages changed in
# between exist only in the member's .delta, which mariabackup must apply.
read -r _ end <<<"$(inc_lsns "$T/full.out")"
inc_checkpoint_past "$end"
inc_backup --incremental --throttle 20 >"$T/inc1.out"
inc1=$(inc_last_id)
ibs_sql "CREATE TABLE inc.made (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB;
         INSERT INTO inc.made SELECT seq, REPEAT('m', 300) FROM inc.seq_1_to_3000"
read -r ck1 end1 <<<"$(inc_lsns "$T/inc1.out")"
inc_checkpoint_past "$end1"
inc_backup --incremental --throttle 20 >"$T/inc2.out"
inc2=$(inc_last_id)
read -r ck2 end2 <<<"$(inc_lsns "$T/inc2.out")"
# The third follows at once: the server's checkpoint is still before the
# second's end, so its log is copied from that end only; its delta layout
# puts a checkpoint group of its own (FILE_MODIFY for every tablespace, then
# FILE_CHECKPOINT) in front, which mariabackup must accept, also for a table
# created after that end (named in the group, then created by the log).
ibs_sql "CREATE TABLE inc.made3 (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB;
         INSERT INTO inc.made3 SELECT seq, REPEAT('n', 200) FROM inc.seq_1_to_2000"
inc_backup --incremental --throttle 20 >"$T/inc3.out" 2>"$T/inc3.err"
inc3=$(inc_last_id)
inc_load_stop load
read -r ck3 _ <<<"$(inc_lsns "$T/inc3.out")"
((ck1 > end && ck2 > end1)) ||
    ibs_die "an incremental's log reaches back into its base (checkpoints $ck1, $ck2; base ends $end, $end1)"
((ck3 == end2)) && grep -q "copying the log from LSN $end2, where the base ended" "$T/inc3.err" ||
    ibs_die "the third incremental's log does not start at its base's end $end2 (checkpoint $ck3): $(cat "$T/inc3.err")"
[[ "$full" == *F && "$inc1" == *I && "$inc2" == *I && "$inc3" == *I && "$inc1" != "$inc2" &&
   "$inc2" != "$inc3" ]] || ibs_die "unexpected chain: $full $inc1 $inc2 $inc3"

# (a) ibstream's own chain restore and prepare.
"$IBSTREAM" restore --repo "$IBS_INC_REPO" --target "$T/ours" >"$T/ours.out" ||
    ibs_die "restore of $inc2 failed"

# (b) the delta layout, prepared by mariabackup.
"$IBSTREAM" restore --repo "$IBS_INC_REPO" --target "$T/delta" --no-prepare >"$T/delta.out" ||
    ibs_die "restore --no-prepare of $inc2 failed"
cat "$T/delta.out"
d1="$T/delta/incremental/001-$inc1" d2="$T/delta/incremental/002-$inc2" d3="$T/delta/incremental/003-$inc3"
[[ -d "$T/delta/base" && -d "$d1" && -d "$d2" && -d "$d3" ]] ||
    ibs_die "delta layout: $(ls -R "$T/delta" | head)"
ckpt() { awk -v k="$2" '$1 == k { print $3 }' "$1/xtrabackup_checkpoints"; }
for d in "$d1" "$d2" "$d3"; do
    [[ "$(ckpt "$d" backup_type)" == incremental ]] ||
        ibs_die "$d/xtrabackup_checkpoints does not say incremental"
done
[[ "$(ckpt "$d1" from_lsn)" == "$(ckpt "$T/delta/base" to_lsn)" &&
   "$(ckpt "$d2" from_lsn)" == "$(ckpt "$d1" to_lsn)" &&
   "$(ckpt "$d3" from_lsn)" == "$(ckpt "$d2" to_lsn)" ]] ||
    ibs_die "from_lsn of a member is not its base's to_lsn"
# Every InnoDB file of a member has its .delta and .meta, the unchanged too.
for d in "$d1" "$d2" "$d3"; do
    [[ -f "$d/ibdata1.delta" && -f "$d/ibdata1.meta" && -f "$d/inc/wl_acct.ibd.delta" &&
       -f "$d/inc/items.ibd.meta" && -f "$d/ib_logfile0" && ! -e "$d/inc/items.ibd" ]] ||
        ibs_die "$d lacks a .delta/.meta pair or holds a whole .ibd: $(ls "$d" "$d/inc")"
done
[[ -f "$d2/inc/made.ibd.delta" && ! -e "$d1/inc/made.ibd.delta" ]] ||
    ibs_die "the table created between the incrementals is not (only) in the second's deltas"
[[ -f "$d3/inc/made3.ibd.delta" && ! -e "$d2/inc/made3.ibd.delta" ]] ||
    ibs_die "the table created before the third incremental is not (only) in its deltas"
grep '^  mariabackup ' "$T/delta.out" >"$T/commands"
[[ $(wc -l <"$T/commands") == 4 ]] || ibs_die "expected 4 mariabackup commands: $(cat "$T/delta.out")"
[[ "$(sed -n 1p "$T/commands")" == "  mariabackup --prepare --target-dir $T/delta/base" &&
   "$(sed -n 2p "$T/commands")" == *"--target-dir $T/delta/base --incremental-dir $d1" &&
   "$(sed -n 3p "$T/commands")" == *"--target-dir $T/delta/base --incremental-dir $d2" &&
   "$(sed -n 4p "$T/commands")" == *"--target-dir $T/delta/base --incremental-dir $d3" ]] ||
    ibs_die "the printed commands are not: base, then $inc1, $inc2, $inc3: $(cat "$T/commands")"
n=0
while read -r cmd; do
    n=$((n + 1))
    $cmd >"$T/mariabackup-$n.log" 2>&1 ||
        { tail -n 30 "$T/mariabackup-$n.log" >&2; ibs_die "mariabackup step $n failed: $cmd"; }
done <"$T/commands"
for n in 2 3 4; do
    grep -qi "applying .*inc/items.ibd.delta" "$T/mariabackup-$n.log" ||
        ibs_die "mariabackup step $n did not apply inc/items.ibd.delta (see $T/mariabackup-$n.log)"
done

python3 "$IBS_LIB_DIR/incremental_pagecmp.py" "$T/delta/base" "$T/ours" | tee "$T/pagecmp.log" ||
    ibs_die "pages of ibstream's chain restore differ from mariabackup's incremental prepare"

# And the result is a database: the restored server passes CHECK TABLE and the invariant.
ibs_start_mariadb_on --name ours "$T/ours"
inc_check_tables ours
"$IBS_INC_WL" check --socket "$IBS_TEST_OURS_MYSQL_SOCKET" --db inc || ibs_die "invariant broken"
ibs_stop_mariadb ours
ibs_log "incremental oracle: $full + $inc1 + $inc2 + $inc3: $(tail -n 1 "$T/pagecmp.log")"
