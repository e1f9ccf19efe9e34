#!/usr/bin/env bash
# ABBA pairs of durable puts with fsync, for a disk whose speed changes
# within minutes (a shared machine): each quad runs base, new, new, base
# back to back at the same P (1, then 4), so both sides see the same disk;
# after each repetition Lance's durable put bench and bench_floor run once.
# Every run: `PUTTERS=P BENCH=write BATCH_SIZE=20 NUM_BATCHES=1000
# DURABLE_WRITE=yes ENABLE_MEMTABLE=yes FSYNC=yes MAX_FLUSH_INTERVAL_MS=1`.
# Prints each quad (rows/s, put p50/p99, WAL entries, new/base ratio = mean
# of the two new runs over the mean of the two base runs), the median
# ratios, Lance and the floor runs. JSON lines go to $OUT.
# Usage: BASE_BW=... [NEW_BW=...] [PEERS_DIR=...] [REPS=6] [OUT=file] bench/durable_abba.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=${BASE_BW:?BASE_BW: a bench_writer to compare with}
new=${NEW_BW:-$root/build-release/bench/bench_writer}
floor=${FLOOR_BW:-$(dirname "$new")/bench_floor}
peers=${PEERS_DIR:-$root/build/peers}
reps=${REPS:-6}
out=${OUT:-$(mktemp /tmp/mw_durable_abba_XXXXXX.jsonl)}
scratch=$(mktemp -d /tmp/mw_durable_abba_XXXXXX)
trap 'rm -rf "$scratch"' EXIT
: >"$out"
tag() { node -e 'const t = process.argv[1]; for (const l of require("fs").readFileSync(0, "utf8").split("\n"))
  if (l.startsWith("{")) console.log(JSON.stringify({tag: t, ...JSON.parse(l)}));' "$1"; }
run() { # tag P binary
  env BENCH_DIR="$scratch/w" PUTTERS="$2" BENCH=write BATCH_SIZE=20 NUM_BATCHES=1000 DURABLE_WRITE=yes \
    ENABLE_MEMTABLE=yes FSYNC=yes MAX_FLUSH_INTERVAL_MS=1 "$3" | tag "$1" >>"$out"
  rm -rf "$scratch/w"; sync; }
for i in $(seq "$reps"); do
  echo "rep $i: $(uptime)" >&2
  for p in 1 4; do run A "$p" "$base"; run B "$p" "$new"; run B "$p" "$new"; run A "$p" "$base"; done
  if [ -f "$peers/lance_write_bench.mjs" ]; then
    node "$peers/lance_write_bench.mjs" "$scratch/l" 20 1000 1 --native --flush-ms=1 2>/dev/null | tail -1 | tag lance >>"$out"
    rm -rf "$scratch/l"; sync
  fi
  FLOOR_DIR="$scratch/f" ITERS=300 ROUNDS=3 "$floor" | tag floor >>"$out"
  rm -rf "$scratch/f"; sync
done
echo "end: $(uptime)" >&2
node - "$out" <<'JS'
const rows = require("fs").readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const med = (v) => { v = v.slice().sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
const w = rows.filter((r) => r.tag === "A" || r.tag === "B"), ratios = {};
const fmt = (r) => `${r.durable_puts_rows_per_s.toFixed(0)} ${r.put_p50_ms.toFixed(2)}/${r.put_p99_ms.toFixed(2)} e${r.wal_entries}`;
for (let i = 0; i + 3 < w.length; i += 4) {
  const q = w.slice(i, i + 4), p = q[0].putters, rate = (r) => r.durable_puts_rows_per_s;
  const ratio = (rate(q[1]) + rate(q[2])) / (rate(q[0]) + rate(q[3]));
  (ratios[p] = ratios[p] || []).push(ratio);
  console.log(`P=${p} base ${fmt(q[0])}, ${fmt(q[3])} | new ${fmt(q[1])}, ${fmt(q[2])} | new/base ${ratio.toFixed(2)}`);
}
for (const p in ratios) console.log(`P=${p}: median new/base ${med(ratios[p]).toFixed(2)} over ${ratios[p].length} quads`);
for (const r of rows.filter((r) => r.tag === "lance"))
  console.log(`lance ${r.rows_per_s_loop.toFixed(0)} rows/s p50/p99 ${r.call_ms.p50.toFixed(2)}/${r.call_ms.p99.toFixed(2)}`);
for (const r of rows.filter((r) => r.tag === "floor")) console.log(`floor ${r.variant} p50/p99 ${r.p50_ms}/${r.p99_ms} ${r.entries_per_s}/s`);
JS
echo "raw: $out" >&2
