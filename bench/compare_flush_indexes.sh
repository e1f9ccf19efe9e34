#!/usr/bin/env bash
# MemTable flush with and without generation indexes, memwal
# (bench/bench_flush, BENCH=flush) and real Lance (LanceDB 0.39.0 / Lance
# core 12, bench/lance_flush_indexes.mjs) in one run, interleaved, on the
# same local disk; medians; prints MB/s and seconds of both sides with and
# without indexes and the ratios.
#
# Usage: bench/compare_flush_indexes.sh [REPEATS]   (median of REPEATS, default 3)
# Env:   PEERS_DIR (default build/peers; installed if missing), BENCH_DIR
#        (scratch folder, default a new one under /tmp), BUILD_DIR (Release
#        build of bench_flush, default build-release), BASE_BUILD_DIR (a
#        Release build of bench_flush at an earlier commit: its flush with
#        indexes is run too, interleaved, as "before"; default none),
#        FLUSH_ROWS (100000), VECTOR_DIM (512), SETTLE_S (5: see below)
#
# Memory temperature: this VM hands memory freed in the guest back to its
# host about 2 s later (kernel page_reporting, 8 MiB blocks); touching it
# again then costs a host fault per page, and the flush writes ~300 MB into
# fresh buffers and the page cache. A run that starts right after the
# previous one (and whose puts take 50 ms, as without indexes) gets the
# memory that run just freed, warm, and flushes several times faster than
# one whose puts take tens of seconds (with indexes): 0.2 s vs 0.7-1.1 s
# for the same binary without indexes. So memwal pauses SETTLE_S seconds
# between its puts and flush_wal (bench_flush SETTLE_MS, not timed), and
# each Lance run starts SETTLE_S seconds after the previous run ended (its
# own puts are not paused: the .mjs has no such knob), so no flush starts
# in the memory the previous run freed. SETTLE_S=0 gives the earlier
# back-to-back measurement.
#
# Rows: the same on both sides (src/cli/gen_data.c's generator, ported to
# the .mjs): id int64 PK, vector f32[VECTOR_DIM] uniform [0, 1), text 70 B;
# 1000-row puts, non-durable, no fsync (Lance does not fsync locally).
# Indexes: "all" = BTree(id), FTS(text), vector (memwal: HNSW l2, M 16,
# ef_construction 100, as its table writer configures them for a LanceDB
# table with those indexes; Lance: an IVF_HNSW_SQ base index, maintained,
# which its MemTable keeps as HNSW with the same parameters); "none" = no
# maintained index. Both sides index inside put (sync_indexed_write), so the
# in-memory indexes are complete when the flush starts.
# What is timed:
#   memwal  flush_memtable alone (bench_flush: after the puts and after the
#           WAL is written as one entry by flush_wal): freeze, the generation
#           folder (data file, bloom filter, _pk_index/, the index files),
#           its manifest, the shard manifest commit.
#   Lance   closeLsmWriters after the puts: the WAL tail (the WAL is flushed
#           in the background during the puts: 10 MiB / 100 ms), freeze,
#           the generation with its index files, the manifest commit.
# MB/s = MB of Arrow input (2130 B per row at 512-d) / those seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${MW_SHARED_DIR:-$root/../shared}
reps=${1:-3}
peers=${PEERS_DIR:-$root/build/peers}
build=${BUILD_DIR:-$root/build-release}
base_build=${BASE_BUILD_DIR:-}
rows=${FLUSH_ROWS:-100000}
dim=${VECTOR_DIM:-512}
settle=${SETTLE_S:-5}
bash "$shared/peers/install.sh" "$peers"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMW_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target bench_flush >/dev/null
bf="$build/bench/bench_flush"
scratch=${BENCH_DIR:-$(mktemp -d /tmp/mw_cmpflushidx_XXXXXX)}
mkdir -p "$scratch/js"
trap 'rm -rf "$scratch/ours" "$scratch/lance" "$scratch/js"; [ -n "${BENCH_DIR:-}" ] || rm -rf "$scratch"' EXIT
ln -sfn "$peers/node_modules" "$scratch/js/node_modules"
cp "$root/bench/lance_flush_indexes.mjs" "$scratch/js/"

median() { node -e '
  const k = process.argv[1]; const v = require("fs").readFileSync(0, "utf8").trim().split("\n")
    .filter(Boolean).map((l) => JSON.parse(l)[k]).sort((a, b) => a - b);
  console.log(v[Math.floor(v.length / 2)]);' "$1"; }

ours() { # BINARY INDEXES -> one JSON line
  env BENCH=flush FLUSH_ROWS="$rows" VECTOR_DIM="$dim" INDEXES="$2" SETTLE_MS=$((settle * 1000)) \
    BENCH_DIR="$scratch/ours" "$1"
  rm -rf "$scratch/ours"; }
lance() { # INDEXES -> one JSON line
  sleep "$settle"
  node "$scratch/js/lance_flush_indexes.mjs" "$scratch/lance" "$rows" "$1" "$dim" 2>/dev/null | tail -1
  rm -rf "$scratch/lance"; }

echo "MemTable flush with generation indexes: memwal vs Lance 12, $rows rows x $dim-d, median of $reps runs, $(nproc) cores"
echo "commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo '+dirty'), settle ${settle} s, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
oa=""; on=""; ob=""; la=""; ln_=""
for r in $(seq "$reps"); do
  oa+=$(ours "$bf" all)$'\n'
  la+=$(lance all)$'\n'
  on+=$(ours "$bf" none)$'\n'
  ln_+=$(lance none)$'\n'
  [ -n "$base_build" ] && ob+=$(ours "$base_build/bench/bench_flush" all)$'\n'
  echo "run $r done, load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
printf '%s' "$oa$on$ob" >"$scratch/ours.jsonl"; printf '%s' "$la$ln_" >"$scratch/lance.jsonl"
echo "-- raw (memwal, then Lance):"; cat "$scratch/ours.jsonl" "$scratch/lance.jsonl"

ofa=$(median flush_ms <<<"$oa"); ofn=$(median flush_ms <<<"$on")
lfa=$(median close_ms <<<"$la"); lfn=$(median close_ms <<<"$ln_")
mb=$(median input_mb <<<"$oa")
node -e '
  const [mb, ofa, ofn, lfa, lfn, ob, oea, lla, oia, lia, oca, ocn] = process.argv.slice(1).map(Number);
  const row = (n, s, x) => console.log(`${n.padEnd(58)} ${(s / 1e3).toFixed(2).padStart(7)} s ${(mb / (s / 1e3)).toFixed(1).padStart(7)} MB/s${x || ""}`);
  console.log(`-- ${mb.toFixed(1)} MB of Arrow input; medians`);
  row("memwal flush_memtable, indexes btree,fts,hnsw", ofa, `   index files ${oia.toFixed(1)} MB`);
  row("memwal flush_memtable, no indexes", ofn);
  if (ob > 0) row("memwal flush_memtable, indexes, BASE_BUILD_DIR (before)", ob);
  row("Lance closeLsmWriters, indexes btree,fts,ivf_hnsw_sq", lfa, `   index files ${lia.toFixed(1)} MB`);
  row("Lance closeLsmWriters, no indexes", lfn);
  console.log(`ratio memwal with/without indexes (flush seconds)      ${(ofa / ofn).toFixed(2)}x   (target <= 1.3x)`);
  if (ob > 0) console.log(`ratio memwal before/after, with indexes                ${(ob / ofa).toFixed(2)}x`);
  console.log(`ratio Lance with/without indexes                       ${(lfa / lfn).toFixed(2)}x`);
  console.log(`memwal vs Lance with indexes (MB/s ratio)              ${(lfa / ofa).toFixed(2)}x`);
  console.log(`memwal vs Lance without indexes (MB/s ratio)           ${(lfn / ofn).toFixed(2)}x`);
  console.log(`memwal flush CPU (all threads, user+sys): with indexes ${(oca / 1e3).toFixed(2)} s, without ${(ocn / 1e3).toFixed(2)} s, ratio ${(oca / ocn).toFixed(2)}x`);
  console.log(`put loops with indexes (in-memory indexing, not part of the flush): memwal ${(oea / 1e3).toFixed(1)} s, Lance ${(lla / 1e3).toFixed(1)} s`);
' "$mb" "$ofa" "$ofn" "$lfa" "$lfn" "$( [ -n "$ob" ] && median flush_ms <<<"$ob" || echo 0)" \
  "$(median enqueue_ms <<<"$oa")" "$(median loop_ms <<<"$la")" "$(median index_mb <<<"$oa")" "$(median index_mb <<<"$la")" \
  "$(median flush_cpu_ms <<<"$oa")" "$(median flush_cpu_ms <<<"$on")"
