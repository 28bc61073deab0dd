# shellcheck shell=bash
# Helpers shared by the backup acceptance tests (tests/integration/backup_*.sh).
# Source after lib.sh.

# bt_checkpoint [NAME]: make InnoDB flush every dirty page and checkpoint, so
# the tables written so far are older than the checkpoint a backup starts
# from and must come from the page copy, not from redo alone. Bounded: 60 s.
bt_checkpoint() {
    local name=${1:-main} age i
    ibs_sql_on "$name" "SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0.001;
        SET GLOBAL innodb_max_dirty_pages_pct = 0" || ibs_die "cannot lower innodb_max_dirty_pages_pct"
    for ((i = 0; i < 300; i++)); do
        age=$(ibs_sql_on "$name" "SELECT variable_value FROM information_schema.global_status
            WHERE variable_name = 'INNODB_CHECKPOINT_AGE'")
        ((age < 1024)) && break
        sleep 0.2
    done
    ((age < 1024)) || ibs_die "InnoDB did not checkpoint within 60 s (checkpoint age $age)"
    ibs_sql_on "$name" "SET GLOBAL innodb_max_dirty_pages_pct = 90;
        SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0"
}

# bt_manifest_field MANIFEST PYEXPR: print a value of the manifest (m).
bt_manifest_field() {
    python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# bt_copied_ibd MANIFEST: how many .ibd files have pages from the copy.
bt_copied_ibd() {
    bt_manifest_field "$1" 'sum(1 for f in m["files"] if f["kind"] == "ibd" and f["pages_copied"] > 0)'
}

# bt_checksums NAME TABLES...: "table checksum" lines of CHECKSUM TABLE.
bt_checksums() {
    local name=$1 t
    shift
    for t in "$@"; do ibs_sql_on "$name" "CHECKSUM TABLE $t"; done
}
