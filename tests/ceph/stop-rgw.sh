#!/usr/bin/env bash
# stop-rgw.sh DIR: stops the cluster start-rgw.sh DIR started (gateway, OSD,
# monitor: SIGTERM, a bounded wait, SIGKILL) and removes DIR.
set -uo pipefail
dir=${1:?usage: stop-rgw.sh DIR}
[[ -d $dir ]] || exit 0
if [[ -f $dir/run/pids ]]; then
    mapfile -t pids < <(tac "$dir/run/pids")
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 100; i++)); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
fi
rm -rf -- "$dir"
