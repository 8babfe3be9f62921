#!/usr/bin/env bash
# Installs what Switchboard needs on Debian 12. Idempotent: with everything present it only
# checks and returns. Usage: scripts/setup.sh [build|test]
#   build  compilers, libraries and Node.js/npm (enough to build and run the server; npm
#          builds the embedded web app)
#   test   also what the test suite drives: Chromium, python3-websockets, nftables (a NAT inside
#          a test's private network namespace), coturn (only its
#          turnutils_* clients are used; its service is never started), clang/libFuzzer,
#          and the npm packages of tests/interop
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-build}

build_pkgs=(build-essential cmake pkg-config libssl-dev zlib1g-dev libtomlplusplus-dev libsqlite3-dev libusrsctp-dev libsrtp2-dev openssl curl)
test_pkgs=(libgtest-dev libgmock-dev clang-14 libclang-rt-14-dev python3 python3-websockets chromium coturn nftables python3-aiortc)

pkgs=("${build_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
# npm builds the web app the server embeds (clients/js); any Node.js 18+ will do.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$what" = test ] && [ -f tests/interop/package-lock.json ]; then
  stamp=tests/interop/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ tests/interop/package-lock.json -nt "$stamp" ]; then
    echo "setup: installing npm packages for tests/interop"
    npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error
  fi
fi
