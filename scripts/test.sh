#!/usr/bin/env bash
# Berth's whole test run on a fresh Debian 12 machine: installs the system packages the real-client
# tests use (when missing, as root), builds, type-checks, lints, then runs unit, in-process HTTP and
# end-to-end tests. The tests start and stop their own servers (Berth, dockerd) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker.io skopeo podman umoci busybox-static docker-registry notary openssl curl chromium
  postgresql nginx-light)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  else
    echo "test.sh: missing system packages ${missing[*]} (run as root, or apt-get install them)" >&2
  fi
fi

# A private PostgreSQL for the tests that run on it (the API suites again, the replica test),
# started here and stopped on exit. PostgreSQL refuses to run as root, so as `postgres` then.
PG_BIN=/usr/lib/postgresql/15/bin
if [ -z "${BERTH_TEST_PG:-}" ] && [ -x "$PG_BIN/initdb" ]; then
  PG_DIR=$(mktemp -d /tmp/berth-test-pg-XXXXXX)
  PG_PORT=$((20000 + RANDOM % 20000))
  as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb -D $PG_DIR/data -A trust -U berth >$PG_DIR/initdb.log 2>&1"
  as_pg "$PG_BIN/pg_ctl -D $PG_DIR/data -l $PG_DIR/server.log -w -o '-k $PG_DIR -p $PG_PORT -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' start >/dev/null"
  trap 'as_pg "$PG_BIN/pg_ctl -D $PG_DIR/data -m fast stop >/dev/null" || true; rm -rf "$PG_DIR"' EXIT
  export BERTH_TEST_PG="postgres://berth@127.0.0.1:$PG_PORT"
  echo "test.sh: PostgreSQL for the tests at $BERTH_TEST_PG"
fi

[ -d node_modules ] || npm ci
npm run build
npx tsc -p tsconfig.json --noEmit
npx tsc -p ui/tsconfig.json
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
node scripts/run-tests.mjs all
