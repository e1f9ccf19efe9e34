#!/usr/bin/env bash
# s3_bench.sh [BUILD_DIR] [PEERS_DIR] - durable put latency (p50/p99) and
# throughput on S3 (Ceph radosgw on loopback): memwal's ShardWriter
# (bench/bench_writer, MemTable mode, durable_write) next to real Lance
# (LanceDB 0.39.0 / Lance core 12.0.0: PEERS_DIR/lance_write_bench.mjs
# --native --flush-ms=1, i.e. one durable WAL entry per put) on the SAME
# radosgw in the same run, for 20-row and 1000-row batches of the benchmark
# workload (id int64 PK, vector fixed_size_list<float32>[512], text ~70 B).
# Each case runs REPEAT times (default 3), alternating the two sides; the
# medians are printed with the ratios (> 1 = memwal better).
#
# Server: the AWS_ENDPOINT / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of the
# environment with S3_BENCH_BUCKET, or else a radosgw started here
# (tests/s3/rgw_start.sh on port MW_S3_PORT, default 19790) and stopped at
# exit. Env knobs: REPEAT, N20 (puts of 20 rows, default 1000), N1000 (puts
# of 1000 rows, default 100). BUILD_DIR defaults to build, PEERS_DIR to
# BUILD_DIR/peers (bash ../shared/peers/install.sh BUILD_DIR/peers).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
peers=$(cd "${2:-$build/peers}" && pwd)
bw="$build/bench/bench_writer"
[ -x "$bw" ] || { echo "s3_bench: $bw not built" >&2; exit 1; }
[ -f "$peers/lance_write_bench.mjs" ] && [ -d "$peers/node_modules/@lancedb/lancedb" ] \
  || { echo "s3_bench: peers not installed in $peers" >&2; exit 1; }
REPEAT=${REPEAT:-3}
N20=${N20:-1000}
N1000=${N1000:-100}

tmp=$(mktemp -d)
rgw_dir=""
cleanup() {
  [ -n "$rgw_dir" ] && bash "$root/tests/s3/rgw_stop.sh" "$rgw_dir"
  rm -rf "$tmp"
}
trap cleanup EXIT
if [ -n "${AWS_ENDPOINT:-}" ] && [ -n "${S3_BENCH_BUCKET:-}" ]; then
  bucket=$S3_BENCH_BUCKET
else
  rgw_dir=$(mktemp -d /tmp/mw-rgw-bench-XXXXXX)
  eval "$(bash "$root/tests/s3/rgw_start.sh" "$rgw_dir" "${MW_S3_PORT:-19790}")"
  export AWS_ENDPOINT=$MW_S3_ENDPOINT AWS_ACCESS_KEY_ID=$MW_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$MW_S3_SECRET_KEY
  bucket=$MW_S3_BUCKET
fi
export AWS_REGION=${AWS_REGION:-us-east-1} AWS_ALLOW_HTTP=true
run="s3://$bucket/bench-$(date +%s)-$$"

# lance_write_bench.mjs resolves its argument as a local path and deletes it
# first: a copy (next to the peers' node_modules) that passes URIs through.
ln -s "$peers/node_modules" "$tmp/node_modules"
sed -e 's|^const dir = path.resolve(DIR);.*|const dir = DIR.includes("://") ? DIR : path.resolve(DIR);|' \
    -e 's|^fs.rmSync(dir, { recursive: true, force: true });|if (!DIR.includes("://")) fs.rmSync(dir, { recursive: true, force: true });|' \
    "$peers/lance_write_bench.mjs" >"$tmp/lance_write_bench.mjs"
[ "$(grep -c 'DIR.includes("://")' "$tmp/lance_write_bench.mjs")" = 2 ] \
  || { echo "s3_bench: could not adapt lance_write_bench.mjs to s3:// URIs" >&2; exit 1; }

echo "# radosgw $AWS_ENDPOINT, under $run; $REPEAT runs per side and case"
for rows in 20 1000; do
  n=$N20; [ "$rows" = 1000 ] && n=$N1000
  for r in $(seq "$REPEAT"); do
    BENCH=write ENABLE_MEMTABLE=yes DURABLE_WRITE=yes BATCH_SIZE=$rows NUM_BATCHES=$n \
      BENCH_URI="$run/memwal-$rows-$r" "$bw" | tee -a "$tmp/memwal-$rows.jsonl"
    node "$tmp/lance_write_bench.mjs" "$run/lance-$rows-$r" "$rows" "$n" 1 --native --flush-ms=1 2>/dev/null \
      | tee -a "$tmp/lance-$rows.jsonl" | cut -c1-160
    # free the server's space (radosgw's memstore OSD of rgw_start.sh holds 2 GB)
    for side in memwal lance; do BENCH=clean BENCH_URI="$run/$side-$rows-$r" "$bw" >/dev/null; done
  done
done

echo
node - "$tmp" <<'JS'
const fs = require("fs"), dir = process.argv[2];
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const rd = (f) => fs.readFileSync(`${dir}/${f}`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const f = (x, d = 2) => x.toFixed(d);
console.log("rows/put  puts | memwal p50 / p99 ms   rows/s | Lance p50 / p99 ms   rows/s | Lance/memwal p50  p99  memwal/Lance rows/s");
for (const rows of [20, 1000]) {
  const m = rd(`memwal-${rows}.jsonl`), l = rd(`lance-${rows}.jsonl`);
  const mp50 = med(m.map((x) => x.put_p50_ms)), mp99 = med(m.map((x) => x.put_p99_ms));
  const mr = med(m.map((x) => x.durable_puts_rows_per_s)); // durable put loop
  const lp50 = med(l.map((x) => x.call_ms.p50)), lp99 = med(l.map((x) => x.call_ms.p99));
  const lr = med(l.map((x) => x.rows_per_s_loop));
  console.log(`${String(rows).padStart(8)} ${String(m[0].num_batches).padStart(5)} | ` +
    `${f(mp50).padStart(10)} / ${f(mp99).padStart(6)} ${f(mr, 0).padStart(8)} | ` +
    `${f(lp50).padStart(9)} / ${f(lp99).padStart(6)} ${f(lr, 0).padStart(8)} | ` +
    `${f(lp50 / mp50).padStart(16)} ${f(lp99 / mp99).padStart(4)} ${f(mr / lr).padStart(20)}`);
}
JS
