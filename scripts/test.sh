#!/usr/bin/env bash
# Berth's whole test run on a fresh Debian 12 machine: installs the system packages the real-client
# tests use (when missing, as root), builds, type-checks, lints, then runs unit, in-process HTTP and
# end-to-end tests. The tests start and stop their own servers (Berth, dockerd) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker.io skopeo podman umoci busybox-static docker-registry notary openssl curl chromium)
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

[ -d node_modules ] || npm ci
npm run build
npx tsc -p tsconfig.json --noEmit
npx tsc -p ui/tsconfig.json
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
node scripts/run-tests.mjs all
