#!/usr/bin/env bash
# start-rgw.sh DIR: a one-node Ceph cluster in DIR for S3-fidelity tests: one
# monitor (msgr2 on a free loopback port), one OSD on memstore (RAM, no disk
# set-up), a RADOS Gateway with the beast frontend on 127.0.0.1, a user made
# with radosgw-admin and a bucket. Runs as root, needs Debian's ceph-mon,
# ceph-osd, radosgw and ceph-common (scripts/install-deps).
#
# On success DIR/env holds the variables a test sources (the names the S3
# harness in tests/integration/lib.sh exports): IBS_TEST_S3_ENDPOINT,
# IBS_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
# CEPH_CONF. Stop it with stop-rgw.sh DIR, also after a failed start.
# Cephx is off: the cluster listens on loopback only and lives for one test.
set -euo pipefail
dir=${1:?usage: start-rgw.sh DIR}
timeout_s=${IBS_CEPH_START_TIMEOUT:-120}

die() { echo "start-rgw: $*" >&2; exit 1; }
log() { echo "start-rgw: $*" >&2; }
for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool python3 aws curl; do
    command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps"
done
[[ $(id -u) == 0 ]] || die "run as root (the daemons keep their data under $dir as root)"
free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

mkdir -p "$dir"/{mon,osd,rgw,run,log}
dir=$(cd "$dir" && pwd)
fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
mon_port=$(free_port)
rgw_port=$(free_port)
conf=$dir/ceph.conf
deadline=$((SECONDS + timeout_s))

cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public network = 127.0.0.0/8
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
# Without cephx no connection can be "secure": radosgw asks for secure mode
# to the monitors by default and then fails to connect (-13, EACCES).
ms mon client mode = crc
ms client mode = crc
ms mon service mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon cluster mode = crc
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
keyring = $dir/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 1
[mon.a]
mon data = $dir/mon
[osd.0]
osd data = $dir/osd
osd objectstore = memstore
memstore device bytes = 2147483648
osd memory target = 939524096
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
rgw enable usage log = false
rgw thread pool size = 64
CONF
export CEPH_CONF=$conf

# wait_for WHAT CMD...: retries CMD until it succeeds or the deadline passes.
wait_for() {
    local what=$1
    shift
    while ! "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "$what not ready within ${timeout_s}s (logs in $dir/log)"
        sleep 0.5
    done
}

log "monitor on v2:127.0.0.1:$mon_port"
ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
setsid ceph-mon -c "$conf" -i a -f </dev/null >"$dir/log/mon.out" 2>&1 &
echo $! >"$dir/run/pids"
wait_for "the monitor" timeout 10 ceph -c "$conf" --connect-timeout 5 mon stat

log "OSD on memstore"
osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
osd_id=$(ceph -c "$conf" osd new "$osd_uuid")
[[ $osd_id == 0 ]] || die "the new OSD got id $osd_id, expected 0"
ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.out" 2>&1 ||
    die "ceph-osd --mkfs failed: $(tail -n 5 "$dir/log/osd-mkfs.out")"
setsid ceph-osd -c "$conf" -i 0 -f </dev/null >"$dir/log/osd.out" 2>&1 &
echo $! >>"$dir/run/pids"
osd_up() { [[ $(ceph -c "$conf" osd stat --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["num_up_osds"])') == 1 ]]; }
wait_for "the OSD" osd_up

log "RADOS Gateway on 127.0.0.1:$rgw_port"
setsid radosgw -c "$conf" -n client.rgw -f </dev/null >"$dir/log/rgw.out" 2>&1 &
echo $! >>"$dir/run/pids"
wait_for "the gateway" curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$rgw_port/"

access_key="IBSCEPH$(od -An -N7 -tx1 /dev/urandom | tr -d ' \n' | tr '[:lower:]' '[:upper:]')"
secret_key=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
radosgw-admin -c "$conf" user create --uid=ibstream-test \
    --display-name="ibstream test" --access-key="$access_key" --secret="$secret_key" \
    >"$dir/log/user.json" 2>"$dir/log/user.err" || die "radosgw-admin user create: $(cat "$dir/log/user.err")"

cat >"$dir/env" <<ENV
export CEPH_CONF=$conf
export IBS_TEST_S3_ENDPOINT=http://127.0.0.1:$rgw_port
export IBS_TEST_S3_BUCKET=ibstream-test
export AWS_ACCESS_KEY_ID=$access_key
export AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$dir/aws-config AWS_SHARED_CREDENTIALS_FILE=$dir/aws-credentials
ENV
printf '[default]\nregion = us-east-1\n' >"$dir/aws-config"
: >"$dir/aws-credentials"
# shellcheck disable=SC1091
. "$dir/env"
aws=aws
[[ -x /usr/bin/aws ]] && aws=/usr/bin/aws
"$aws" --endpoint-url "$IBS_TEST_S3_ENDPOINT" s3api create-bucket --bucket "$IBS_TEST_S3_BUCKET" \
    >/dev/null || die "cannot create bucket $IBS_TEST_S3_BUCKET"
log "up in ${SECONDS}s: $IBS_TEST_S3_ENDPOINT, bucket $IBS_TEST_S3_BUCKET (source $dir/env)"
