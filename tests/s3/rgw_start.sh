#!/usr/bin/env bash
# Starts a throwaway Ceph radosgw on loopback for the S3 tests and creates
# the test bucket. Wraps shared/s3/rgw_up.sh (1 mon, 1 memstore OSD, rgw).
# Usage: rgw_start.sh DIR [PORT] [BUCKET]   (env MW_SHARED_DIR: the shared/
#        folder, default <repo>/../shared)
# Prints shell assignments for the tests on stdout:
#   MW_S3_ENDPOINT=http://127.0.0.1:PORT MW_S3_ACCESS_KEY=.. MW_S3_SECRET_KEY=.. MW_S3_BUCKET=..
# Stop with rgw_stop.sh DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=${MW_SHARED_DIR:-$here/../../../shared}
dir=${1:?usage: rgw_start.sh DIR [PORT] [BUCKET]}
port=${2:-19702}
bucket=${3:-memwal-test}
ak=${S3_ACCESS_KEY:-AKIDMEMWALTEST}
sk=${S3_SECRET_KEY:-memwal-test-secret-key}
S3_ACCESS_KEY=$ak S3_SECRET_KEY=$sk bash "$shared/s3/rgw_up.sh" "$dir" "$port" >"$dir.up.log" 2>&1 || {
  echo "rgw_start: radosgw did not start:" >&2; tail -n 20 "$dir.up.log" >&2
  for f in "$dir"/log/*; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 10 "$f" >&2; }; done
  exit 1
}
endpoint="http://127.0.0.1:$port"
# Restart radosgw with tcp_nodelay=1: beast otherwise sends a GET's headers
# and body as two segments, Nagle holds the body until the client's delayed
# ACK (~40 ms) and every GET of a reused connection takes ~45 ms instead of
# ~2 ms (real S3 endpoints do not do this). The gateway is the last PID.
conf="$dir/ceph.conf"
if ! grep -q 'tcp_nodelay' "$conf"; then
  old=$(tail -n 1 "$dir/pids")
  kill "$old" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  sed -i "s|^rgw_frontends = beast endpoint=127.0.0.1:$port\$|& tcp_nodelay=1|" "$conf"
  grep -q 'tcp_nodelay=1' "$conf" || { echo "rgw_start: could not set tcp_nodelay in $conf" >&2; exit 1; }
  radosgw -c "$conf" -n client.rgw.a -f >>"$dir/log/rgw.out" 2>&1 &
  new=$!
  { head -n -1 "$dir/pids"; echo "$new"; } >"$dir/pids.new" && mv "$dir/pids.new" "$dir/pids"
  up=0
  for i in $(seq 120); do curl -s -o /dev/null "$endpoint/" && { up=1; break; }; sleep 0.25; done
  [ $up = 1 ] || { echo "rgw_start: radosgw did not come back with tcp_nodelay=1" >&2; exit 1; }
fi
# The user exists once rgw_up.sh returns; the bucket PUT may race its
# propagation, so retry briefly. 200 = created, 409 = ours already.
code=000
for i in $(seq 20); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" \
           -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$endpoint/$bucket" || true)
  [ "$code" = 200 ] || [ "$code" = 409 ] && break
  sleep 0.5
done
if [ "$code" != 200 ] && [ "$code" != 409 ]; then
  echo "rgw_start: creating bucket $bucket failed (HTTP $code)" >&2
  exit 1
fi
echo "MW_S3_ENDPOINT=$endpoint MW_S3_ACCESS_KEY=$ak MW_S3_SECRET_KEY=$sk MW_S3_BUCKET=$bucket"
