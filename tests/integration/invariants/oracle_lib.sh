# shellcheck shell=bash
# Helpers for the prepare_oracle.sh workloads: loops that write until the
# backup ends ($T/workload.run is removed), each bounded in rounds.

# oracle_until_done MAX_ROUNDS FUNCTION: calls FUNCTION ROUND until the backup
# ends or MAX_ROUNDS; prints "FUNCTION: N rounds"; fails if FUNCTION does.
oracle_until_done() {
    local max=$1 fn=$2 round
    for ((round = 0; round < max; round++)); do
        [[ -f "$T/workload.run" ]] || break
        "$fn" "$round" || { echo "$fn failed in round $round"; return 1; }
    done
    echo "$fn: $round rounds"
}

# oracle_parallel FUNCTION...: runs each function in the background under
# oracle_until_done and waits for all; fails if one did.
oracle_parallel() {
    local pids=() fn rc=0
    for fn in "$@"; do
        oracle_until_done 400 "$fn" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    return $rc
}
