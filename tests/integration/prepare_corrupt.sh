#!/usr/bin/env bash
# Damage is refused with the right exit code and a message that says where:
#   - one byte flipped inside a stored data frame (backups/<id>/data.0000 of
#     a local repository): `ibstream restore` exits 6 (integrity) naming the
#     object, the offset in it and the data file the frame belongs to;
#   - one byte flipped in the copied redo log of a raw layout (restore
#     --no-prepare): `ibstream prepare` exits 12 naming the LSN of the damaged
#     mini-transaction, and leaves the directory unprepared.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ -x "${IBSTREAM:-}" ]] || ibs_die "IBSTREAM is not set to the ibstream binary"
T=$IBS_TEST_TMPDIR

ibs_start_mariadb
ibs_sql "CREATE DATABASE c;
    CREATE TABLE c.t (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;
    INSERT INTO c.t SELECT seq, SHA2(seq, 256) FROM c.seq_1_to_20000;"
# Writes after the checkpoint the backup starts from, so its log has records.
ibs_sql "SET GLOBAL innodb_log_checkpoint_now = ON"
ibs_sql "UPDATE c.t SET v = MD5(v) WHERE id % 7 = 0"
"$IBSTREAM" backup --defaults-file "$IBS_TEST_DEFAULTS_FILE" --repo "$T/repo" \
    >"$T/backup.out" 2>"$T/backup.err" || { cat "$T/backup.err" >&2; ibs_die "backup failed"; }
id=$(sed -n 's/^backup \([^ ]*\) complete: .*/\1/p' "$T/backup.out")
pack="$T/repo/backups/$id/data.0000"
[[ -f "$pack" ]] || ibs_die "no data pack $pack"

flip() { # FILE OFFSET: invert the byte there
    local b
    b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# --- a stored frame -----------------------------------------------------
# Inside the payload of the pack's first frame (header: 48 bytes, stored
# length as 4 bytes little-endian at 16, engine/frame.c), not in a header.
stored=$(od -An -tu4 --endian=little -j 16 -N 4 "$pack" | tr -d ' ')
((stored > 16)) || ibs_die "cannot read the first frame's stored length in $pack"
at=$((48 + stored / 2))
cp "$pack" "$T/pack.orig"
flip "$pack" "$at"
cmp -s "$pack" "$T/pack.orig" && ibs_die "the byte at $at of $pack did not change"
rc=0
"$IBSTREAM" restore --repo "$T/repo" --target "$T/r1" >"$T/r1.out" 2>"$T/r1.err" || rc=$?
cat "$T/r1.err" >&2
((rc == 6)) || ibs_die "restore of a damaged pack exited $rc, expected 6 (integrity)"
msg=$(grep -i 'error' "$T/r1.err" | head -n 1)
grep -q "backups/$id/data.0000" <<<"$msg" || ibs_die "the error does not name the object backups/$id/data.0000: $msg"
grep -Eq "data.0000 offset [0-9]+" <<<"$msg" || ibs_die "the error does not give the offset in the object: $msg"
grep -Eq '(ibdata1|undo[0-9]+|\.ibd|\.frm|\.MA[DI]|ib_logfile0)' <<<"$msg" ||
    ibs_die "the error does not name the data file the frame belongs to: $msg"
[[ ! -f "$T/r1/xtrabackup_checkpoints" ]] || ! grep -q log-applied "$T/r1/xtrabackup_checkpoints" ||
    ibs_die "a failed restore left a prepared directory"
ibs_log "damaged frame: exit 6: $msg"
cp "$T/pack.orig" "$pack"

# --- the redo log of a raw layout ----------------------------------------
"$IBSTREAM" restore --repo "$T/repo" --target "$T/raw" --no-prepare >/dev/null 2>"$T/raw.err" ||
    { cat "$T/raw.err" >&2; ibs_die "restore --no-prepare of the repaired pack failed"; }
log=$T/raw/ib_logfile0
first_lsn=$(od -An -tu8 --endian=big -j 8 -N 8 "$log" | tr -d ' ')
ckpt_lsn=$(od -An -tu8 --endian=big -j 4096 -N 8 "$log" | tr -d ' ')
last_lsn=$(awk '$1 == "last_lsn" { print $3 }' "$T/raw/xtrabackup_checkpoints")
((last_lsn - ckpt_lsn > 1000)) || ibs_die "the backup's log holds only $((last_lsn - ckpt_lsn)) bytes"
bad_lsn=$(((ckpt_lsn + last_lsn) / 2))
flip "$log" $((12288 + bad_lsn - first_lsn))
rc=0
"$IBSTREAM" prepare --target "$T/raw" >"$T/p.out" 2>"$T/p.err" || rc=$?
cat "$T/p.err" >&2
((rc == 12)) || ibs_die "prepare of a damaged log exited $rc, expected 12"
said=$(grep -Eo 'LSN [0-9]+' "$T/p.err" | head -n 1 | cut -d' ' -f2)
[[ -n "$said" ]] || ibs_die "the error does not name an LSN: $(cat "$T/p.err")"
# The damaged byte lies in the mtr that starts at the LSN named, at most 1 MiB
# of records before it (the longest mtr).
((said <= bad_lsn && bad_lsn - said < 1100000)) ||
    ibs_die "the error names LSN $said; the damaged byte is at LSN $bad_lsn"
grep -q 'backup_type = full-backuped' "$T/raw/xtrabackup_checkpoints" ||
    ibs_die "a failed prepare marked the directory prepared"
ibs_log "damaged log byte at LSN $bad_lsn: exit 12: $(head -n 1 "$T/p.err")"
