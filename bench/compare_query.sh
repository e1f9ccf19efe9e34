#!/usr/bin/env bash
# compare_query.sh BUILD_DIR PEERS_DIR [ROWS] [DIM] - `memwal bench-query`
# next to LanceDB 0.39's in-process MemTable (bench/lance_query.mjs) on the
# same workload (the same rows and query vectors bit for bit: the script
# checks the checksums both print), REPS runs of each (default 3),
# interleaved (memwal, LanceDB, memwal, ...). Prints every run's JSON line,
# then a table of the medians per field with the ratio, oriented so that
# > 1 means memwal is better (faster, more rows/s, higher recall, less RSS).
#
#   BUILD_DIR  a build folder holding the memwal binary (RelWithDebInfo or
#              Release; build it first: cmake --build BUILD_DIR --target memwal)
#   PEERS_DIR  a folder whose node_modules has @lancedb/lancedb 0.39 and
#              apache-arrow (e.g. /work/peers, or what ../shared/peers/install.sh
#              installs)
#   ROWS, DIM  default 20000, 128
# Env: REPS (3), QUERIES (50), K (10), EF (memwal's --ef for the k-NN queries;
#      default 0 = its default search), BENCH_DIR (scratch folder for
#      LanceDB's table, default a new one under /tmp, removed at the end).
#
# What each side times (see the headers of src/cli/cli_bench_query.c and
# bench/lance_query.mjs): ingest = the 1000-row puts / mergeInserts with
# all three indexes maintained synchronously, non-durable (batches built
# beforehand); vec = one k-NN query (memwal: mw_shard_writer_query at the
# default ef, or EF; LanceDB: table.search(v).limit(K).select(["id"]).toArray()
# over the LSM path: 512-row IVF_PQ base + MemTable HNSW), recall@K against
# the exact top K; pk lookup = one key (memwal: a keys query; LanceDB:
# query().where("id = X")); fts = "item<n>" at k = K (LanceDB:
# search(..., "fts", "text")). LanceDB runs with LANCE_LOG=off (its
# per-query deprecation warnings otherwise go to stderr).
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
build=$(cd "$1" && pwd)
peers=$(cd "$2" && pwd)
rows=${3:-20000}
dim=${4:-128}
reps=${REPS:-3}
queries=${QUERIES:-50}
k=${K:-10}
ef=${EF:-0}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/memwal
[ -x "$bin" ] || { echo "compare_query: $bin not found (cmake --build $1 --target memwal)" >&2; exit 2; }
[ -d "$peers/node_modules/@lancedb/lancedb" ] || { echo "compare_query: no @lancedb/lancedb under $peers/node_modules" >&2; exit 2; }
scratch=${BENCH_DIR:-$(mktemp -d /tmp/mw_cmpquery_XXXXXX)}
mkdir -p "$scratch/js"
trap 'rm -rf "$scratch/js" "$scratch/lance"; [ -n "${BENCH_DIR:-}" ] || rm -rf "$scratch"' EXIT
ln -sfn "$peers/node_modules" "$scratch/js/node_modules"
cp "$root/bench/lance_query.mjs" "$scratch/js/"

echo "# memwal bench-query vs LanceDB 0.39: rows $rows, dim $dim, k $k, queries $queries, memwal ef $ef, $reps run(s) each"
echo "# memwal $("$bin" --version | cut -d' ' -f2), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'); $(uptime | sed 's/^ *//')"
: > "$scratch/ours.jsonl"
: > "$scratch/lance.jsonl"
for r in $(seq 1 "$reps"); do
  line=$("$bin" bench-query --rows "$rows" --dim "$dim" --k "$k" --queries "$queries" --ef "$ef")
  echo "memwal  run $r: $line"
  echo "$line" >> "$scratch/ours.jsonl"
  line=$(cd "$scratch/js" && LANCE_LOG=off node lance_query.mjs "$scratch/lance" --rows "$rows" --dim "$dim" \
    --k "$k" --queries "$queries" 2> "$scratch/lance.err") || { cat "$scratch/lance.err" >&2; exit 1; }
  rm -rf "$scratch/lance"
  echo "lancedb run $r: $line"
  echo "$line" >> "$scratch/lance.jsonl"
done
echo "# $(uptime | sed 's/^ *//')"

node - "$scratch/ours.jsonl" "$scratch/lance.jsonl" <<'EOF'
const fs = require("fs");
const load = (f) => fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const ours = load(process.argv[2]), lance = load(process.argv[3]);
for (const key of ["vector_checksum", "query_checksum"]) {
  const v = new Set([...ours, ...lance].map((o) => o[key]));
  if (v.size !== 1) { console.error(`compare_query: ${key} differs between runs: ${[...v].join(" ")}`); process.exit(1); }
}
const med = (rs, k) => { const v = rs.map((o) => o[k]).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
// field, label, better: "high" (ratio ours / lance) or "low" (ratio lance / ours)
const fields = [
  ["ingest_rows_per_s", "indexed ingest, rows/s (1000-row puts / mergeInserts)", "high"],
  ["vec_p50_ms", `vector k-NN p50, ms (memwal ef ${ours[0].vec_ef || "default"}, LanceDB default)`, "low"],
  ["vec_p99_ms", "vector k-NN p99, ms", "low"],
  ["recall10", "recall@k of that search vs exact top k", "high"],
  ["exact_p50_ms", "memwal EXACT k-NN p50 (recall 1) vs LanceDB default search p50, ms", "low", "vec_p50_ms"],
  ["pk_lookup_p50_ms", "point lookup of one id p50, ms", "low"],
  ["fts_p50_ms", "full-text \"item<n>\" p50, ms", "low"],
  ["peak_rss_mb", "peak RSS of the process, MB", "low"],
  ["rss_before_ingest_mb", "of which: RSS with the data generated, before ingest, MB", "low"],
];
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const rows = [["field", "memwal", "lancedb", "ratio (>1 = memwal better)"]];
for (const [k, label, better, lk] of fields) {
  const a = med(ours, k), b = med(lance, lk || k);
  const ratio = better === "high" ? a / b : b / a;
  rows.push([`${label} [${k}]`, fmt(a), fmt(b), Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "n/a"]);
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log(`medians of ${ours.length} run(s) each (memwal vec_ef ${ours[0].vec_ef}, 0 = default);` +
  ` LanceDB generations flushed during ingest: ${med(lance, "generations_flushed")}`);
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  "));
EOF
