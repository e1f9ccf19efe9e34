#!/usr/bin/env bash
# merge_bench.sh BUILD_DIR PEERS_DIR - `memwal merge` throughput and the
# read amplification it removes (issue 14 item 5).
#   The table: LanceDB 0.39 creates it (bench shape: id int64 primary key,
#   vector fixed_size_list<float32>[DIM], text ~70 B; spec unsharded = one
#   shard) and writes the base with table.add(): ROWS_BASE rows, 100,000 per
#   fragment. Then GENS generations flushed by memwal into the one shard,
#   each GEN_ROWS rows: TOMBS tombstones (`memwal delete`, random live keys)
#   + GEN_ROWS - TOMBS puts (`memwal put --flush-on-close --no-fsync`), of
#   which OVERWRITE_PCT % overwrite random existing keys (base or earlier
#   generations) and the rest are new keys (bench/merge_bench.mjs plan).
#   Merge: RUNS times, each on a fresh copy (cp -a) of the unmerged table
#   (page cache warm), `memwal merge` timed from exec to exit (wall clock);
#   rows/s = generation rows merged (puts + tombstones) / s, MB/s = bytes of
#   the generations' data files / s (1 MB = 10^6 B); bytes_copied = what the
#   merge copied into data/.
#   Reads, through LanceDB's LSM path, on the unmerged table and on a merged
#   copy, RUNS times each (bench/merge_bench.mjs reads): a full scan of the id
#   column counting rows (median), and LOOKUPS point lookups `id = K` one at a
#   time (p50 / p99 over all runs), every result checked against the plan.
# Prints JSON lines: {"build"}, {"merge"}, {"reads": "before_merge"},
# {"reads": "after_merge"}. Scratch space: TMPDIR (about 3.3 x the input
# bytes: inputs, the table with its WAL, one merged copy).
# Env: ROWS_BASE (1000000) GEN_ROWS (100000) GENS (10) RUNS (3) DIM (512)
#      OVERWRITE_PCT (20) TOMBS (100) LOOKUPS (100); PERF_DATA=FILE adds one
#      untimed merge under `perf record -g -o FILE`.
set -euo pipefail
BUILD=${1:?usage: merge_bench.sh BUILD_DIR PEERS_DIR}; PEERS=${2:?usage: merge_bench.sh BUILD_DIR PEERS_DIR}
BIN=$BUILD/memwal
ROWS_BASE=${ROWS_BASE:-1000000}; GEN_ROWS=${GEN_ROWS:-100000}; GENS=${GENS:-10}; RUNS=${RUNS:-3}
DIM=${DIM:-512}; OVERWRITE_PCT=${OVERWRITE_PCT:-20}; TOMBS=${TOMBS:-100}; LOOKUPS=${LOOKUPS:-100}
[ "$GEN_ROWS" -gt "$TOMBS" ] || { echo "GEN_ROWS must exceed TOMBS" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
LSM=$PEERS/lancedb_lsm.mjs # installed there by shared/peers/install.sh
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/js" "$TMP/in"; ln -s "$PEERS/node_modules" "$TMP/js/node_modules"; cp "$HERE/merge_bench.mjs" "$TMP/js/"
JS=$TMP/js/merge_bench.mjs
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
field() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$1" "$2"; }

# the inputs and the table
t0=$(now)
node "$JS" plan "$TMP/in" "$ROWS_BASE" "$((GEN_ROWS - TOMBS))" "$GENS" "$OVERWRITE_PCT" "$TOMBS" "$LOOKUPS" "$DIM" >/dev/null
t1=$(now)
node "$LSM" create "$TMP/db" t unsharded --dim "$DIM" >/dev/null 2>"$TMP/create.err"
bases=(); for f in "$TMP"/in/base_*.arrows; do bases+=("$f"); done
[ "$ROWS_BASE" -gt 0 ] && node "$JS" add "$TMP/db" t "${bases[@]}" >/dev/null
t2=$(now)
T=$TMP/db/t.lance
for g in $(seq "$GENS"); do
  "$BIN" delete "$T" --input "$TMP/in/tomb_$g.arrows" --no-fsync >/dev/null
  "$BIN" put "$T" --input "$TMP/in/gen_$g.arrows" --flush-on-close --no-fsync >/dev/null
done
t3=$(now)
ngen=$(ls -d "$T"/_mem_wal/*/*_gen_* | wc -l)
[ "$ngen" = "$GENS" ] || { echo "expected $GENS generation folders, found $ngen" >&2; exit 1; }
gen_bytes=$(cat "$T"/_mem_wal/*/*_gen_*/data/*.lance | wc -c)
node -e 'const [rb, gr, g, ng, gb, tb, plan, base, gens] = process.argv.slice(1).map(Number);
  console.log(JSON.stringify({build: {rows_base: rb, gen_rows: gr, gens: g, generation_folders: ng, generation_data_bytes: gb,
    tombstones_per_gen: tb, plan_seconds: +plan.toFixed(1), lancedb_base_seconds: +base.toFixed(1), memwal_generations_seconds: +gens.toFixed(1)}}))' \
  "$ROWS_BASE" "$GEN_ROWS" "$GENS" "$ngen" "$gen_bytes" "$TOMBS" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)"

# reads before the merge
echo "{\"reads\":\"before_merge\",\"result\":$(node "$JS" reads "$TMP/db" t "$TMP/in" "$RUNS")}"

# the merge, RUNS times on fresh copies; the last merged copy stays for the reads
: >"$TMP/walls"
for r in $(seq "$RUNS"); do
  rm -rf "$TMP/m"; mkdir -p "$TMP/m"
  cp -a "$T" "$TMP/m/t.lance"
  sync
  a=$(now)
  out=$("$BIN" merge "$TMP/m/t.lance" 2>"$TMP/merge.err")
  b=$(now)
  echo "$b - $a" | bc >>"$TMP/walls"
  [ "$r" = 1 ] && first=$out
done
wall=$(median <"$TMP/walls")
node -e 'const [wall, walls, gr, g, gb, j] = process.argv.slice(1);
  const o = JSON.parse(j), s = Number(wall), rows = Number(gr) * Number(g);
  console.log(JSON.stringify({merge: {runs: walls.trim().split("\n").map(Number), wall_seconds: s, merge_seconds_in_process: o.seconds,
    generations_merged: o.generations_merged, generation_rows: rows, rows_per_s: Math.round(rows / s),
    generation_data_bytes: Number(gb), mb_per_s: +(Number(gb) / 1e6 / s).toFixed(1), bytes_copied: o.bytes_copied,
    rows_added: o.rows_added, tombstones: o.tombstones, base_rows_deleted: o.base_rows_deleted, table_version: o.table_version}}))' \
  "$wall" "$(cat "$TMP/walls")" "$GEN_ROWS" "$GENS" "$gen_bytes" "$first"

# optional: one more merge on a fresh copy under `perf record -g` (not timed)
if [ -n "${PERF_DATA:-}" ]; then
  rm -rf "$TMP/p"; mkdir -p "$TMP/p"; cp -a "$T" "$TMP/p/t.lance"; sync
  perf record -g -o "$PERF_DATA" "$BIN" merge "$TMP/p/t.lance" >/dev/null 2>"$TMP/perf.err"
  rm -rf "$TMP/p"
fi

# reads after the merge
echo "{\"reads\":\"after_merge\",\"result\":$(node "$JS" reads "$TMP/m" t "$TMP/in" "$RUNS")}"
