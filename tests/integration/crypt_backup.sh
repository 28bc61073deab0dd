#!/usr/bin/env bash
# Client-side encryption end to end: an encrypted full backup restores to a
# server whose tables match the source; the stored objects hold neither a
# string the table holds nor its name (an unencrypted backup of the same data
# does, so the grep can fail); a missing key, a wrong key and a key file with
# a loose mode are refused with exit 2 and a message saying what to do; a
# flipped byte in a data pack fails authentication on restore and verify
# (exit 6); objects are 0600 in 0700 directories.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workload/backup_lib.sh"
: "${IBSTREAM:?IBSTREAM must name the ibstream binary}"
T=$IBS_TEST_TMPDIR
CANARY=ibstream-canary-6b1d4e
TABLES="db_c.t_canary_secret db_c.t_other"

# expect_fail CODE PATTERN OUT -- command...: the command exits CODE and its
# stderr holds PATTERN.
expect_fail() {
    local code=$1 pattern=$2 out=$3 rc=0
    shift 4
    "$@" >"$out.out" 2>"$out.err" || rc=$?
    [[ $rc -eq $code ]] || { cat "$out.err" >&2; ibs_die "$* exited $rc, not $code"; }
    grep -qF -- "$pattern" "$out.err" ||
        { cat "$out.err" >&2; ibs_die "$*: the message lacks '$pattern'"; }
}

ibs_start_mariadb
ibs_sql "CREATE DATABASE db_c;
CREATE TABLE db_c.t_canary_secret (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;
CREATE TABLE db_c.t_other (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=MyISAM;
INSERT INTO db_c.t_canary_secret SELECT seq, CONCAT('$CANARY ', seq) FROM db_c.seq_1_to_3000;
INSERT INTO db_c.t_other SELECT seq, CONCAT('$CANARY ', seq) FROM db_c.seq_1_to_500;"
bt_checkpoint

umask 022
KEY=$T/repo.key WRONG=$T/wrong.key
head -c 32 /dev/urandom >"$KEY"
printf 'a passphrase that is not the key\n' >"$WRONG"
chmod 600 "$KEY" "$WRONG"
# Negative levels store literals raw, so plaintext stays greppable unencrypted.
B=("$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --compress-level -5)

ibs_log "control: an unencrypted backup shows the plaintext"
"${B[@]}" --repo "$T/plain" >/dev/null 2>"$T/plain.err" || { cat "$T/plain.err" >&2; ibs_die "plain backup failed"; }
grep -rqaF "$CANARY" "$T/plain" || ibs_die "the canary is not visible in an unencrypted backup: the test cannot tell"
grep -rqaF t_canary_secret "$T/plain" || ibs_die "the table name is not visible in an unencrypted manifest"

ibs_log "a key file others can read is refused"
chmod 644 "$KEY"
expect_fail 2 "chmod 600" "$T/loose" -- "${B[@]}" --repo "$T/enc" --encryption-key-file "$KEY"
chmod 400 "$KEY"
[[ ! -e "$T/enc/ibstream.repo" ]] || ibs_die "a refused backup created the repository"

ibs_log "encrypted backup"
"${B[@]}" --repo "$T/enc" --encryption-key-file "$KEY" >"$T/enc.out" 2>"$T/enc.err" ||
    { cat "$T/enc.err" >&2; ibs_die "encrypted backup failed"; }
ID=$(ls "$T/enc/backups")
[[ -f "$T/enc/backups/$ID/manifest" ]] || ibs_die "no manifest for $ID"
if grep -rlaF "$CANARY" "$T/enc"; then ibs_die "plaintext from the table is in the encrypted repository"; fi
if grep -rlaF t_canary_secret "$T/enc"; then ibs_die "the table name is in the encrypted repository"; fi
head -c 4 "$T/enc/backups/$ID/manifest" | grep -qx IBSE || ibs_die "the manifest is not an envelope"
KEYID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["encryption"]["key_id"])' "$T/enc/ibstream.repo")
[[ ${#KEYID} -eq 16 ]] || ibs_die "ibstream.repo has no key id"
if grep -qaF "$(od -An -tx1 "$KEY" | tr -d ' \n' | head -c 16)" "$T/enc/ibstream.repo"; then ibs_die "ibstream.repo holds key bytes"; fi
for log in "$T/enc.out" "$T/enc.err"; do
    if grep -qaF "$(od -An -tx1 "$KEY" | tr -d ' \n' | head -c 16)" "$log"; then ibs_die "key bytes in $log"; fi
done
BAD=$(find "$T/enc" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \))
[[ -z "$BAD" ]] || ibs_die "repository entries not 0600/0700: $BAD"

ibs_log "reading without the key, with a wrong key, backing up without the key"
MSG="this repository is encrypted: give --encryption-key-file"
expect_fail 2 "$MSG" "$T/nokey-list" -- "$IBSTREAM" list --repo "$T/enc"
expect_fail 2 "$MSG" "$T/nokey-info" -- "$IBSTREAM" info --repo "$T/enc" --backup "$ID"
expect_fail 2 "$MSG" "$T/nokey-verify" -- "$IBSTREAM" verify --repo "$T/enc" --backup "$ID"
expect_fail 2 "$MSG" "$T/nokey-restore" -- "$IBSTREAM" restore --repo "$T/enc" --target "$T/r0"
expect_fail 2 "$MSG" "$T/nokey-backup" -- "${B[@]}" --repo "$T/enc"
expect_fail 2 "this repository is encrypted with key $KEYID; the key file gives" "$T/wrong" -- \
    "$IBSTREAM" restore --repo "$T/enc" --target "$T/r0" --encryption-key-file "$WRONG"
expect_fail 2 "this repository is encrypted with key $KEYID" "$T/wrong-backup" -- \
    "${B[@]}" --repo "$T/enc" --encryption-key-file "$WRONG"
expect_fail 2 "is not encrypted" "$T/plain-key" -- "$IBSTREAM" list --repo "$T/plain" --encryption-key-file "$KEY"
[[ ! -e "$T/r0" ]] || ibs_die "a refused restore created its target"

ibs_log "list, info and verify with the key"
"$IBSTREAM" list --repo "$T/enc" --encryption-key-file "$KEY" >"$T/list.out" || ibs_die "list failed"
grep -qF "$ID" "$T/list.out" || ibs_die "list does not show $ID"
"$IBSTREAM" info --repo "$T/enc" --encryption-key-file "$KEY" --backup "$ID" >"$T/info.out" || ibs_die "info failed"
"$IBSTREAM" verify --repo "$T/enc" --encryption-key-file "$KEY" --backup "$ID" >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out" >&2; ibs_die "verify of the intact backup failed"; }

ibs_log "restore and compare"
"$IBSTREAM" restore --repo "$T/enc" --encryption-key-file "$KEY" --target "$T/restored" \
    >"$T/restore.out" 2>&1 || { cat "$T/restore.out" >&2; ibs_die "restore failed"; }
# Data files 0640, directories 0750 (the server's group may read them);
# xtrabackup_checkpoints holds LSNs only and is written by prepare with the umask.
BAD=$(find "$T/restored" -perm /o+rwx ! -name xtrabackup_checkpoints)
[[ -z "$BAD" ]] || ibs_die "restored entries readable by others: $BAD"
EXPECT=$(bt_checksums main $TABLES)
ibs_start_mariadb_on "$T/restored"
GOT=$(bt_checksums restored $TABLES)
[[ "$GOT" == "$EXPECT" ]] || ibs_die "restored checksums differ: $GOT vs $EXPECT"
ibs_stop_mariadb restored

ibs_log "a flipped byte in a data pack fails authentication"
PACK=$T/enc/backups/$ID/data.0000
[[ -f "$PACK" ]] || PACK=$(find "$T/enc/backups/$ID" -name 'data.*' | head -n 1)
python3 - "$PACK" <<'PY'
import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(48 + 12 + 40)  # inside the first frame's ciphertext
    b = f.read(1)
    f.seek(48 + 12 + 40)
    f.write(bytes([b[0] ^ 0x20]))
PY
expect_fail 6 "frame failed authentication: wrong key or tampered data" "$T/tampered" -- \
    "$IBSTREAM" restore --repo "$T/enc" --encryption-key-file "$KEY" --target "$T/r1"
expect_fail 6 "frame failed authentication" "$T/tampered-verify" -- \
    "$IBSTREAM" verify --repo "$T/enc" --encryption-key-file "$KEY" --backup "$ID"
ibs_log "ok"
