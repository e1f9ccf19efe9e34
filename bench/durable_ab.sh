#!/usr/bin/env bash
# Durable puts with fsync against the disk's floor and Lance, interleaved
# (issue 13 items 1 and 2). Each round runs, for P = 1, 2, 4, 8 putter
# threads, 1000 durable 20-row puts with fsync (`PUTTERS=P BENCH=write
# BATCH_SIZE=20 NUM_BATCHES=1000 DURABLE_WRITE=yes ENABLE_MEMTABLE=yes
# FSYNC=yes MAX_FLUSH_INTERVAL_MS=1`) through
#   A       BASE_BW (a bench_writer built from the commit to compare with)
#   B       NEW_BW (this tree's bench_writer, defaults: one entry in flight)
#   B4      NEW_BW with WAL_IN_FLIGHT=4 (four entries in flight)
# in an order that rotates each round (so no side always runs first), then
#   lance   Lance 12 durable 20-row puts (flush-ms=1; Lance does not fsync)
#   floor   bench_floor: the bare syscalls of one WAL entry, K entries with
#           one folder fsync, one 64 KiB write + fsync (bench/bench_floor.c;
#           last, so its files' writeback does not land on a writer run)
# with a `sync` after each run.
# Prints the medians over the rounds; every JSON line goes to $OUT.
# Usage: BASE_BW=... [NEW_BW=...] [PEERS_DIR=...] [ROUNDS=3] [OUT=file] bench/durable_ab.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=${BASE_BW:?BASE_BW: a bench_writer to compare with}
new=${NEW_BW:-$root/build-release/bench/bench_writer}
floor=${FLOOR_BW:-$(dirname "$new")/bench_floor}
peers=${PEERS_DIR:-$root/build/peers}
rounds=${ROUNDS:-3}
out=${OUT:-$(mktemp /tmp/mw_durable_ab_XXXXXX.jsonl)}
scratch=$(mktemp -d /tmp/mw_durable_ab_XXXXXX)
trap 'rm -rf "$scratch"' EXIT
: >"$out"

tag() { node -e 'const t = process.argv[1]; for (const l of require("fs").readFileSync(0, "utf8").split("\n"))
  if (l.startsWith("{")) console.log(JSON.stringify({tag: t, ...JSON.parse(l)}));' "$1"; }
run() { # tag binary env...
  local t=$1 bw=$2; shift 2
  env BENCH_DIR="$scratch/w" PUTTERS="$p" BENCH=write BATCH_SIZE=20 NUM_BATCHES=1000 DURABLE_WRITE=yes \
    ENABLE_MEMTABLE=yes FSYNC=yes MAX_FLUSH_INTERVAL_MS=1 "$@" "$bw" | tag "$t" >>"$out"
  rm -rf "$scratch/w"; }

one() { # tag
  case $1 in
    A) run A "$base" ;;
    B) run B "$new" ;;
    B4) run B4 "$new" WAL_IN_FLIGHT=4 ;;
  esac
  sync; }
for r in $(seq "$rounds"); do
  echo "round $r: $(uptime)" >&2
  # the order rotates each round, so no side always runs first (after the
  # previous step's files were written back)
  case $((r % 3)) in 1) order="A B B4" ;; 2) order="B B4 A" ;; 0) order="B4 A B" ;; esac
  for p in 1 2 4 8; do
    for t in $order; do one "$t"; done
  done
  if [ -f "$peers/lance_write_bench.mjs" ]; then
    node "$peers/lance_write_bench.mjs" "$scratch/lance" 20 1000 1 --native --flush-ms=1 2>/dev/null | tail -1 |
      tag lance >>"$out"
    rm -rf "$scratch/lance"
    sync
  fi
  FLOOR_DIR="$scratch/floor" ITERS=${FLOOR_ITERS:-500} ROUNDS=5 "$floor" | tag floor >>"$out"
  rm -rf "$scratch/floor"
  sync
done
echo "end: $(uptime)" >&2

node - "$out" <<'EOF'
const rows = require("fs").readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const med = (v) => { v = v.slice().sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
const f = (x, d = 0) => (x === undefined ? "-" : x.toFixed(d));
console.log("floor (bench_floor, median of rounds): variant p50 / p99 ms, entries/s");
for (const v of [...new Set(rows.filter((r) => r.tag === "floor").map((r) => r.variant))]) {
  const s = rows.filter((r) => r.tag === "floor" && r.variant === v);
  console.log(`  ${v.padEnd(16)} ${f(med(s.map((r) => r.p50_ms)), 3)} / ${f(med(s.map((r) => r.p99_ms)), 3)} ms  ${f(med(s.map((r) => r.entries_per_s)))}/s`);
}
console.log("durable+fsync 20-row puts x 1000: P  tag  rows/s  p50 / p99 ms  entries (medians)");
for (const p of [1, 2, 4, 8])
  for (const t of ["A", "B", "B4"]) {
    const s = rows.filter((r) => r.tag === t && r.putters === p);
    if (!s.length) continue;
    console.log(`  ${p}  ${t.padEnd(3)} ${f(med(s.map((r) => r.durable_puts_rows_per_s))).padStart(8)}  ${f(med(s.map((r) => r.put_p50_ms)), 2)} / ${f(med(s.map((r) => r.put_p99_ms)), 2)}  ${f(med(s.map((r) => r.wal_entries)))}`);
  }
const l = rows.filter((r) => r.tag === "lance");
if (l.length)
  console.log(`lance durable 20-row puts (no fsync): ${f(med(l.map((r) => r.rows_per_s_loop)))} rows/s, p50 / p99 ${f(med(l.map((r) => r.call_ms.p50)), 2)} / ${f(med(l.map((r) => r.call_ms.p99)), 2)} ms`);
EOF
echo "raw: $out" >&2
