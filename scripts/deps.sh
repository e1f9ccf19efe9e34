#!/usr/bin/env bash
# Installs every build and test dependency from Debian's packages (needs root
# or sudo). Safe to re-run: does nothing when everything is present.
# Usage: deps.sh [--test]   --test also installs what only the test suite
# needs: Ceph (a real S3 server, radosgw, on loopback) and curl.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-dev
      liblz4-dev libzstd-dev libprotobuf-c-dev protobuf-c-compiler
      libcurl4-openssl-dev libssl-dev libstemmer-dev)
test_pkgs=(ceph-mon ceph-osd radosgw ceph-common curl)
if [ "${1:-}" = --test ]; then pkgs+=("${test_pkgs[@]}"); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Node.js + npm run the interop peers; a machine may have them from outside
# Debian (then the Debian packages would conflict): only the commands count.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
