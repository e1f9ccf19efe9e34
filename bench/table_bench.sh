#!/usr/bin/env bash
# table_bench.sh BUILD_DIR PEERS_DIR - the table writer's throughput (issue
# 10 item 8), all in one run on the same rows (ROWS rows of the bench shape:
# id, DIM-float vector, ~70 B text; 1000-row batches; medians of RUNS):
#   table:  `memwal put TABLE --input F --flush-on-close` into a LanceDB-made
#           bucket(id, 16) table: routing + 16 ShardWriters;
#   single: the same file into one shard (`--shard`), no routing;
#   lance:  LanceDB 0.39's mergeInsert of the same rows into the same kind of
#           table, bucket by bucket as it must (bench/table_lance.mjs).
# Every side is durable at Lance's level: a put returns once its WAL entry is
# written (memwal durable puts with --no-fsync; Lance's local store does not
# fsync), and every MemTable is flushed as a generation before the clock
# stops. Prints one JSON line per side and the ratios.
set -euo pipefail
BUILD=${1:?usage: table_bench.sh BUILD_DIR PEERS_DIR}; PEERS=${2:?usage: table_bench.sh BUILD_DIR PEERS_DIR}
BIN=$BUILD/memwal
ROWS=${ROWS:-20000}; DIM=${DIM:-512}; RUNS=${RUNS:-3}; BUCKETS=16
HERE=$(cd "$(dirname "$0")" && pwd)
LSM=$PEERS/lancedb_lsm.mjs # installed there by shared/peers/install.sh
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/js"; ln -s "$PEERS/node_modules" "$TMP/js/node_modules"; cp "$HERE/table_lance.mjs" "$TMP/js/"
node "$TMP/js/table_lance.mjs" gen "$TMP/rows.arrows" "$ROWS" "$DIM" 1000
"$BIN" route "$TMP/rows.arrows" --spec bucket:id:$BUCKETS >"$TMP/buckets.jsonl"
BYTES=$(stat -c %s "$TMP/rows.arrows")
secs() { node -e 'const o = JSON.parse(process.argv[1]); console.log(o.put_seconds + o.close_seconds)' "$1"; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
: >"$TMP/table"; : >"$TMP/single"; : >"$TMP/lance"
for r in $(seq "$RUNS"); do
  node "$LSM" create "$TMP/d$r" t bucket:id:$BUCKETS --dim "$DIM" >/dev/null 2>&1
  out=$("$BIN" put "$TMP/d$r/t.lance" --input "$TMP/rows.arrows" --flush-on-close --no-fsync)
  secs "$out" >>"$TMP/table"
  out=$("$BIN" put "$TMP/s$r" --shard 6d656d77-616c-4000-8000-00000000000$r --input "$TMP/rows.arrows" --flush-on-close --no-fsync)
  secs "$out" >>"$TMP/single"
  node "$LSM" create "$TMP/l$r" t bucket:id:$BUCKETS --dim "$DIM" >/dev/null 2>&1
  node "$TMP/js/table_lance.mjs" upsert "$TMP/l$r" t "$TMP/rows.arrows" "$TMP/buckets.jsonl" 1000 2>/dev/null \
    | node -e 'process.stdin.on("data", (d) => console.log(JSON.parse(d).seconds))' >>"$TMP/lance"
done
t=$(median <"$TMP/table"); s=$(median <"$TMP/single"); l=$(median <"$TMP/lance")
for side in table single lance; do
  v=$(median <"$TMP/$side")
  node -e 'const [side, v, rows, bytes] = process.argv.slice(1).map((x, i) => i ? Number(x) : x);
    console.log(JSON.stringify({side, rows, seconds: v, rows_per_s: Math.round(rows / v), mb_per_s: +(bytes / 1e6 / v).toFixed(1)}))' \
    "$side" "$v" "$ROWS" "$BYTES"
done
node -e 'const [t, s, l] = process.argv.slice(1).map(Number);
  console.log(JSON.stringify({routing_cost_pct: +((t / s - 1) * 100).toFixed(1), table_vs_lance: +(l / t).toFixed(2)}))' "$t" "$s" "$l"
