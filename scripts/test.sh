#!/usr/bin/env bash
# Berth's whole test run on a fresh Debian 12 machine: installs the system packages the real-client
# tests use (when missing, as root), builds, type-checks, lints, then runs unit, in-process HTTP and
# end-to-end tests. The tests start and stop their own servers (Berth, dockerd) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

# The container engines come with their recommended helpers (iptables, slirp4netns, uidmap, …).
packages=(docker.io skopeo podman)
# Everything else without recommended extras: Chromium for the UI test (fonts come with its
# dependencies), servers the tests start themselves, and Ceph's daemons for a real S3 gateway.
lean_packages=(umoci busybox-static docker-registry notary openssl curl chromium postgresql
  nginx-light radosgw ceph-mon ceph-osd git openssh-server openssh-client slapd ldap-utils samba samba-ad-provision
  samba-dsdb-modules samba-vfs-modules iproute2)
not_installed() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}
mapfile -t missing < <(not_installed "${packages[@]}")
mapfile -t missing_lean < <(not_installed "${lean_packages[@]}")
if [ $((${#missing[@]} + ${#missing_lean[@]})) -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${missing[*]} ${missing_lean[*]}"
    # Another apt (unattended upgrades on a fresh machine) may hold the dpkg lock: wait for it.
    apt=(apt-get -o DPkg::Lock::Timeout=900 -y -q)
    for _ in $(seq 60); do "${apt[@]}" update && break; sleep 10; done
    [ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}"
    # slapd: no default directory of its own (the LDAP tests start and seed theirs).
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections 2>/dev/null || true
    [ ${#missing_lean[@]} -eq 0 ] ||
      DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "${missing_lean[@]}"
  else
    echo "test.sh: missing system packages ${missing[*]} ${missing_lean[*]} (run as root, or apt-get install them)" >&2
  fi
fi

cleanup() {
  if [ -n "${PG_DIR:-}" ]; then as_pg "$PG_BIN/pg_ctl -D $PG_DIR/data -m fast stop >/dev/null" || true; rm -rf "$PG_DIR"; fi
  if [ -n "${CEPH_DIR:-}" ]; then bash scripts/ceph-s3.sh stop "$CEPH_DIR" >/dev/null 2>&1 || true; rm -rf "$CEPH_DIR"; fi
}
trap cleanup EXIT INT TERM

# A private PostgreSQL for the tests that run on it (the API suites again, the replica test),
# started here and stopped on exit. PostgreSQL refuses to run as root, so as `postgres` then.
PG_BIN=/usr/lib/postgresql/15/bin
if [ -z "${BERTH_TEST_PG:-}" ] && [ -x "$PG_BIN/initdb" ]; then
  PG_DIR=$(mktemp -d /tmp/berth-test-pg-XXXXXX)
  # Below the kernel's ephemeral range (32768 and up), so no outgoing connection holds the port.
  PG_PORT=$((20000 + RANDOM % 4000))
  as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb -D $PG_DIR/data -A trust -U berth >$PG_DIR/initdb.log 2>&1"
  as_pg "$PG_BIN/pg_ctl -D $PG_DIR/data -l $PG_DIR/server.log -w -o '-k $PG_DIR -p $PG_PORT -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' start >/dev/null"
  export BERTH_TEST_PG="postgres://berth@127.0.0.1:$PG_PORT"
  echo "test.sh: PostgreSQL for the tests at $BERTH_TEST_PG"
fi

# A one-node Ceph with its RADOS Gateway on 127.0.0.1 for the S3 driver tests.
if [ -z "${BERTH_TEST_S3:-}" ] && command -v radosgw >/dev/null && command -v ceph-mon >/dev/null; then
  # Ports below the kernel's ephemeral range (32768 and up): an outgoing connection's source port
  # there could take the gateway's port before it binds. A second try with fresh ports if not.
  ceph_started=false
  for attempt in 1 2; do
    [ -z "${CEPH_DIR:-}" ] || { bash scripts/ceph-s3.sh stop "$CEPH_DIR" >/dev/null 2>&1 || true; rm -rf "$CEPH_DIR"; }
    CEPH_DIR=$(mktemp -d /tmp/berth-test-ceph-XXXXXX)
    export CEPH_S3_PORT=$((24000 + RANDOM % 4000)) CEPH_S3_MON_PORT=$((28000 + RANDOM % 4000))
    if bash scripts/ceph-s3.sh start "$CEPH_DIR" >"$CEPH_DIR/start.log" 2>&1; then
      ceph_started=true
      break
    fi
    echo "test.sh: Ceph did not start (try $attempt):" >&2
    tail -5 "$CEPH_DIR/start.log" >&2 || true
  done
  if $ceph_started; then
    eval "$(bash scripts/ceph-s3.sh env "$CEPH_DIR" | sed 's/^/export /')"
    key=$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$AWS_ACCESS_KEY_ID")
    secret=$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$AWS_SECRET_ACCESS_KEY")
    export BERTH_TEST_S3="http://$key:$secret@127.0.0.1:$CEPH_S3_PORT"
    echo "test.sh: Ceph RADOS Gateway for the tests at http://127.0.0.1:$CEPH_S3_PORT"
  else
    echo "test.sh: Ceph did not start" >&2
  fi
fi

[ -d node_modules ] || npm ci
# The checks run before the tests; a failing one is counted in the closing line, and the tests
# still run.
failed_checks=()
check() {
  local name=$1
  shift
  "$@" || failed_checks+=("$name")
}
# `npm ci` builds already (the addons with node-gyp, then prepare); build again only when the
# sources are newer than the build.
native_stale() {
  local addon
  # Every target binding.gyp names, so a new addon needs no second list here.
  for addon in $(grep -o '"target_name": *"[a-z_]*"' binding.gyp | grep -o '"[a-z_]*"$' | tr -d '"'); do
    [ -f "build/Release/$addon.node" ] || return 0
    [ -z "$(find native binding.gyp -newer "build/Release/$addon.node" -print -quit)" ] || return 0
  done
  return 1
}
if native_stale; then
  check build-native npm run build:native
fi
if [ ! -f dist/berth.cjs ] || [ -n "$(find src ui/src scripts/bundle.mjs -newer dist/berth.cjs -print -quit)" ]; then
  check build npm run build
fi
check typecheck npx tsc -p tsconfig.json --noEmit
check typecheck-ui npx tsc -p ui/tsconfig.json
check eslint npx eslint .
check prettier npx prettier --check .
BERTH_CHECKS_FAILED=$(IFS=,; echo "${failed_checks[*]}") node scripts/run-tests.mjs all
