#!/usr/bin/env bash
# (Berth keeps this copy of the team's shared/s3/ceph-s3.sh: scripts/test.sh starts a real Ceph RADOS
# Gateway with it for the S3 driver tests.)
# ceph-s3.sh - single-node Ceph (mon + osd + optional mgr + radosgw) on loopback,
# bootstrapped by hand the way src/vstart.sh does it, for S3 integration tests.
#
#   ceph-s3.sh start DIR   bootstrap (first time) or restart, wait for S3, print creds
#   ceph-s3.sh stop  DIR   stop exactly the daemons recorded in DIR/run/*.pid
#   ceph-s3.sh env   DIR   print the endpoint/credentials as shell exports
#
# Tunables (env): CEPH_S3_PORT (7480), CEPH_S3_MON_PORT (6789; v2 uses +1),
#   CEPH_S3_OSD_PORTS (6800-6899), CEPH_S3_STORE (bluestore|memstore),
#   CEPH_S3_BLOCK_SIZE (bluestore file size, sparse; 20G), CEPH_S3_MGR (0|1; 0),
#   CEPH_S3_ACCESS_KEY / CEPH_S3_SECRET_KEY, CEPH_S3_TIMEOUT (seconds; 180),
#   CEPH_S3_SSE (0|1; 1 = accept x-amz-server-side-encryption AES256 and aws:kms
#   with key id "testkey-1" over plain http - note it then encrypts every object).
# Settings are frozen into DIR/settings.env at bootstrap; a restart reuses them.
# Needs: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd [ceph-mgr]
set -euo pipefail

PORT=${CEPH_S3_PORT:-7480}
MON_PORT=${CEPH_S3_MON_PORT:-6789}
MON_PORT2=$((MON_PORT + 1))
OSD_PORTS=${CEPH_S3_OSD_PORTS:-6800-6899}
STORE=${CEPH_S3_STORE:-bluestore}
BLOCK_SIZE=${CEPH_S3_BLOCK_SIZE:-20G}
WITH_MGR=${CEPH_S3_MGR:-0}
ACCESS_KEY=${CEPH_S3_ACCESS_KEY:-0555b35654ad1656d804}
SECRET_KEY=${CEPH_S3_SECRET_KEY:-h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q==}
TIMEOUT=${CEPH_S3_TIMEOUT:-180}
WITH_SSE=${CEPH_S3_SSE:-0}

die() { echo "ceph-s3: $*" >&2; exit 1; }
log() { [ -n "${CEPH_S3_VERBOSE:-}" ] && echo "ceph-s3 [${SECONDS}s]: $*" >&2 || true; }

to_bytes() { numfmt --from=iec "$1"; }

# run a command with a deadline (seconds) - every wait in this script is bounded
within() { local t=$1; shift; timeout --kill-after=5 "$t" "$@"; }

# a PID file counts only if that process is still ours (its argv names DIR/ceph.conf)
alive() {
    [ -f "$1" ] || return 1
    local pid; pid=$(cat "$1")
    kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$D/ceph.conf"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_daemon NAME CMD... : run in foreground mode (-f) detached, record PID
start_daemon() {
    local name=$1; shift
    local pidf="$D/run/$name.pid"
    if alive "$pidf"; then log "$name already running (pid $(cat "$pidf"))"; return 0; fi
    setsid "$@" -f </dev/null >>"$D/log/$name.out" 2>&1 &
    echo $! >"$pidf"
    log "started $name pid $!"
}

wait_for() { # wait_for DESC SECONDS CMD...
    local desc=$1 secs=$2; shift 2
    local end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || die "timed out after ${secs}s waiting for $desc (logs: $D/log)"
        sleep 0.5
    done
}

ceph_() { within 30 ceph -c "$D/ceph.conf" --connect-timeout 10 "$@"; }

write_conf() {
    local fsid=$1 osd_min=${OSD_PORTS%-*} osd_max=${OSD_PORTS#*-}
    cat >"$D/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT2,v1:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = $osd_min
ms bind port max = $osd_max
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
crash dir = $D/crash
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 2
mon data avail crit = 1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon osd full ratio = .99
mon osd backfillfull ratio = .99
mon osd nearfull ratio = .99
osd failsafe full ratio = .995

[mon]
mon data = $D/mon.\$id
mon cluster log file = $D/log/cluster.log

[osd]
osd data = $D/osd.\$id
osd objectstore = $STORE
osd memory target = 939524096
osd op num shards = 2
osd op num threads per shard = 1
bluestore block create = true
bluestore block size = $(to_bytes "$BLOCK_SIZE")
bluestore fsck on mount = false
bluestore cache autotune = true
memstore device bytes = $(to_bytes "$BLOCK_SIZE")

[mgr]
mgr data = $D/mgr.\$id

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw data = $D/rgw.\$id
rgw thread pool size = 64
rgw enable usage log = false
# reclaim deleted/overwritten object data within a minute instead of 2 hours
rgw gc obj min wait = 30
rgw gc processor period = 30
EOF
    if [ "$WITH_SSE" = 1 ]; then
        local k; k=$(head -c 32 /dev/urandom | base64)
        cat >>"$D/ceph.conf" <<EOF
rgw crypt require ssl = false
rgw crypt default encryption key = $k
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = testkey-1=$k
EOF
    fi
}

s3_answers() { curl -s -o /dev/null -m 3 "http://127.0.0.1:$PORT/"; }

cmd_start() {
    mkdir -p "$D"/{run,log,crash,mon.a,osd.0,mgr.x,rgw.a}
    D=$(cd "$D" && pwd)
    local t0=$SECONDS fresh=0
    if [ -f "$D/.bootstrapped" ] && [ "$STORE" = memstore ] && ! alive "$D/run/osd.0.pid"; then
        die "$D used memstore, whose data is gone once osd.0 stops; rm -rf $D and start again"
    fi
    if ! alive "$D/run/mon.a.pid" && port_busy "$MON_PORT"; then die "127.0.0.1:$MON_PORT already in use (CEPH_S3_MON_PORT)"; fi
    if ! alive "$D/run/rgw.a.pid" && port_busy "$PORT"; then die "127.0.0.1:$PORT already in use (CEPH_S3_PORT)"; fi
    if [ ! -f "$D/.bootstrapped" ]; then
        fresh=1
        declare -p PORT MON_PORT MON_PORT2 STORE WITH_MGR WITH_SSE ACCESS_KEY SECRET_KEY >"$D/settings.env"
        [ -z "$(ls -A "$D/mon.a")" ] || die "$D/mon.a is not empty but $D/.bootstrapped missing; remove $D and retry"
        local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
        write_conf "$fsid"
        # keys: mon. and client.admin go into the mon's initial auth db at mkfs
        ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
        ceph-authtool "$D/keyring" --gen-key -n client.admin \
            --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
        monmaptool --create --clobber --fsid "$fsid" \
            --addv a "[v2:127.0.0.1:$MON_PORT2,v1:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
        ceph-mon -c "$D/ceph.conf" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" \
            >>"$D/log/mkfs.out" 2>&1 || die "ceph-mon --mkfs failed (see $D/log)"
    fi
    start_daemon mon.a ceph-mon -c "$D/ceph.conf" -i a
    wait_for "mon quorum" 60 ceph_ mon stat

    if [ $fresh = 1 ]; then
        local uuid secret
        uuid=$(cat /proc/sys/kernel/random/uuid)
        secret=$(ceph-authtool --gen-print-key)
        echo "{\"cephx_secret\": \"$secret\"}" >"$D/osd.0/new.json"
        ceph_ osd new "$uuid" 0 -i "$D/osd.0/new.json" >/dev/null
        rm -f "$D/osd.0/new.json"
        ceph-authtool --create-keyring "$D/osd.0/keyring" -n osd.0 --add-key "$secret" >/dev/null
        within 300 ceph-osd -c "$D/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" \
            --keyring "$D/osd.0/keyring" >>"$D/log/mkfs.out" 2>&1 || die "ceph-osd --mkfs failed (see $D/log)"
        ceph_ auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
            -o "$D/mgr.x/keyring" >/dev/null
        ceph_ auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
            -o "$D/rgw.a/keyring" >/dev/null
    fi
    start_daemon osd.0 ceph-osd -c "$D/ceph.conf" -i 0 --keyring "$D/osd.0/keyring"
    if [ "$WITH_MGR" = 1 ]; then
        start_daemon mgr.x ceph-mgr -c "$D/ceph.conf" -i x --keyring "$D/mgr.x/keyring"
    fi
    wait_for "osd.0 up" 90 bash -c "ceph -c '$D/ceph.conf' --connect-timeout 10 osd dump 2>/dev/null | grep -q '^osd.0 up'"
    start_daemon rgw.a radosgw -c "$D/ceph.conf" -n client.rgw.a --keyring "$D/rgw.a/keyring"
    wait_for "S3 on 127.0.0.1:$PORT" "$TIMEOUT" s3_answers

    if [ $fresh = 1 ]; then
        within 60 radosgw-admin -c "$D/ceph.conf" -n client.admin user create --uid=tester \
            --display-name=tester --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" \
            >"$D/user.json" 2>>"$D/log/radosgw-admin.out" || die "radosgw-admin user create failed"
        touch "$D/.bootstrapped"
    fi
    # wait until the user is visible to rgw (signed ListBuckets succeeds)
    wait_for "S3 auth" 60 s3_signed_ok
    log "up in $((SECONDS - t0))s"
    cmd_env
}

s3_signed_ok() { # ListBuckets signed with SigV4 via curl --aws-sigv4
    [ "$(curl -s -o /dev/null -w '%{http_code}' -m 3 --aws-sigv4 'aws:amz:us-east-1:s3' \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
        --user "$ACCESS_KEY:$SECRET_KEY" "http://127.0.0.1:$PORT/")" = 200 ]
}

cmd_env() {
    echo "S3_ENDPOINT=http://127.0.0.1:$PORT"
    echo "S3_REGION=us-east-1"
    echo "AWS_REGION=us-east-1"
    # newer SDKs (JS v3 >= 3.729, Go v2 s3 >= 1.73, boto3 >= 1.36) default to aws-chunked
    # uploads with checksum trailers, which RGW 16.2 rejects (411 MissingContentLength)
    echo "AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED"
    echo "AWS_RESPONSE_CHECKSUM_VALIDATION=WHEN_REQUIRED"
    echo "AWS_ACCESS_KEY_ID=$ACCESS_KEY"
    echo "AWS_SECRET_ACCESS_KEY=$SECRET_KEY"
}

cmd_stop() {
    [ -d "$D/run" ] || { log "nothing to stop in $D"; return 0; }
    D=$(cd "$D" && pwd)
    local name pidf pid
    for name in rgw.a mgr.x osd.0 mon.a; do          # reverse start order
        pidf="$D/run/$name.pid"
        [ -f "$pidf" ] || continue
        pid=$(cat "$pidf")
        if alive "$pidf"; then
            kill -TERM "$pid" 2>/dev/null || true
            local end=$((SECONDS + 30))
            while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
            if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
            log "stopped $name ($pid)"
        fi
        rm -f "$pidf"
    done
}

[ $# -ge 2 ] || die "usage: $0 start|stop|env DIR"
D=$2
# a bootstrapped DIR keeps the settings it was created with
if [ -f "$D/settings.env" ]; then . "$D/settings.env"; fi
case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    *) die "unknown command $1" ;;
esac
