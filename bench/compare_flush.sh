#!/usr/bin/env bash
# MemTable flush workloads through memwal (bench/bench_flush) and real Lance
# (LanceDB 0.39.0 / Lance core 12, ../shared/peers/lance_write_bench.mjs) in
# one run, on the same local disk; prints both sides and the ratios.
#
# Usage: bench/compare_flush.sh [REPEATS]     (median of REPEATS runs, default 3)
# Env:   PEERS_DIR (default build/peers; installed if missing), BENCH_DIR
#        (scratch folder on a disk with room, default a new one under /tmp),
#        BUILD_DIR (Release build of bench_flush, default build-release),
#        FLUSH_ROWS (100000), SUSTAINED_ROWS (1000000), OURS_ROWS (10000000:
#        our own long run, once; 0 = skip)
#
# Workloads: 1000-row puts of id int64 PK + vector f32[512] + text 70 B,
# non-durable, writer defaults on both sides (max_memtable_size 256 MiB,
# max_memtable_rows 100 000, max_unflushed_memtable_bytes 1 GiB, WAL buffer
# 10 MiB / 100 ms), no fsync on either side (Lance does not fsync locally).
#   flush      FLUSH_ROWS rows = one MemTable. Lance: loop, then close
#              (closeLsmWriters: the WAL tail + freeze + flush of the
#              generation + manifest commit) = close_ms. memwal: the same
#              loop then flush_memtable + close (sustained mode with
#              NUM_ROWS = FLUSH_ROWS: flush_and_close_s), plus bench_flush's
#              isolated numbers (all data as one WAL entry, then the flush
#              alone).
# Labels: "enqueue" = the put loop alone (non-durable puts return before
# their rows are in the WAL); "total" = put loop + final flush + close.
#   sustained  SUSTAINED_ROWS rows with background flushes, then close with
#              the final flush: rows/s, MB/s, peak RSS. Lance's script keeps
#              every batch in memory twice (Arrow tables + their IPC bytes,
#              built before the loop), so its peak RSS includes ~2x the
#              input: printed raw and minus that estimate. Lance is limited
#              to what fits in RAM; memwal also runs OURS_ROWS once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${MW_SHARED_DIR:-$root/../shared}
reps=${1:-3}
peers=${PEERS_DIR:-$root/build/peers}
build=${BUILD_DIR:-$root/build-release}
flush_rows=${FLUSH_ROWS:-100000}
sus_rows=${SUSTAINED_ROWS:-1000000}
ours_rows=${OURS_ROWS:-10000000}
bash "$shared/peers/install.sh" "$peers"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMW_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target bench_flush >/dev/null
bf="$build/bench/bench_flush"
scratch=${BENCH_DIR:-$(mktemp -d /tmp/mw_cmpflush_XXXXXX)}
mkdir -p "$scratch"
trap 'rm -rf "$scratch/ours" "$scratch/lance"; [ -n "${BENCH_DIR:-}" ] || rm -rf "$scratch"' EXIT

# median KEY over JSON lines on stdin
median() { node -e '
  const k = process.argv[1]; const v = require("fs").readFileSync(0, "utf8").trim().split("\n")
    .filter(Boolean).map((l) => { const o = JSON.parse(l); return k.split(".").reduce((a, p) => a[p], o); })
    .sort((a, b) => a - b);
  console.log(v[Math.floor(v.length / 2)]);' "$1"; }

ours() { # env... -> one JSON line (its objects are deleted by bench_flush)
  env BENCH_DIR="$scratch/ours" "$@" "$bf"; rm -rf "$scratch/ours"; }

# lance ROWS BATCHES -> one JSON line with max_rss_mib (GNU time) added
lance() {
  local t="$scratch/lance.time" j
  j=$(/usr/bin/time -f '%M' -o "$t" node "$peers/lance_write_bench.mjs" "$scratch/lance" "$1" "$2" 0 --native 2>/dev/null | tail -1)
  rm -rf "$scratch/lance"
  node -e 'const o = JSON.parse(process.argv[1]); o.max_rss_mib = +process.argv[2] / 1024;
    o.close_s = o.close_ms / 1e3; o.input_mib = o.logical_MB * 1e6 / 1048576;
    o.rss_minus_held_input_mib = o.max_rss_mib - 2 * o.input_mib;
    o.flush_MB_per_s = o.logical_MB / o.close_s; console.log(JSON.stringify(o));' "$j" "$(tail -1 "$t")"
}

row() { # name ours lance unit [label_a label_b]
  node -e 'const [n,a,b,u,la="memwal",lb="lance"]=process.argv.slice(1); console.log(`${n.padEnd(46)} ${la.padEnd(8)} ${(+a).toFixed(1).padStart(10)} ${u.padEnd(7)} ${lb.padEnd(8)} ${(+b).toFixed(1).padStart(10)} ${u.padEnd(7)} ratio ${(a/b).toFixed(2)}x`)' "$@"; }
one() { # name value unit
  node -e 'const [n,a,u]=process.argv.slice(1); console.log(`${n.padEnd(46)} ${(+a).toFixed(1).padStart(19)} ${u}`)' "$@"; }

echo "memwal vs Lance 12 MemTable flush, median of $reps runs, $(nproc) cores, scratch $scratch"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- flush: one MemTable of FLUSH_ROWS rows
fb=$(( flush_rows / 1000 ))
of=""; os=""; lf=""
for _ in $(seq "$reps"); do
  of+=$(ours BENCH=flush FLUSH_ROWS="$flush_rows")$'\n'
  os+=$(ours BENCH=sustained NUM_ROWS="$flush_rows")$'\n'
  lf+=$(lance 1000 "$fb")$'\n'
done
echo "-- flush: $flush_rows rows ($(median input_mb <<<"$of") MB of Arrow input), 1000-row puts, non-durable"
row "loop then flush+close: flush+close s" "$(median flush_and_close_s <<<"$os")" "$(median close_s <<<"$lf")" s
row "loop then flush+close: MB/s (input/(flush+close))" \
  "$(node -e 'console.log(process.argv[1] / process.argv[2])' "$(median input_mb <<<"$os")" "$(median flush_and_close_s <<<"$os")")" \
  "$(median flush_MB_per_s <<<"$lf")" MB/s
row "loop then flush+close: total rows/s" "$(median total_rows_per_s <<<"$os")" "$(median rows_per_s_total <<<"$lf")" rows/s
one "memwal isolated: WAL write (1 entry) MB/s" "$(median wal_mb_per_s <<<"$of")" MB/s
one "memwal isolated: flush_memtable alone MB/s" "$(median flush_mb_per_s <<<"$of")" MB/s
one "memwal isolated: flush_memtable alone rows/s" "$(median flush_rows_per_s <<<"$of")" rows/s
one "memwal isolated: WAL + flush MB/s" "$(median wal_plus_flush_mb_per_s <<<"$of")" MB/s

# ---- the disk's limit (issue 13 item 4): best of three 1 GiB sequential
# writes with fsync to the scratch folder's disk, halved because ingest
# writes every byte twice (WAL + generation)
disk_best=0
for _ in 1 2 3; do
  t0=$(date +%s.%N)
  dd if=/dev/zero of="$scratch/disk.bin" bs=1M count=1024 conv=fsync status=none
  t1=$(date +%s.%N)
  rm -f "$scratch/disk.bin"
  disk_best=$(awk -v a="$t0" -v b="$t1" -v best="$disk_best" 'BEGIN { r = 1073.741824 / (b - a); print (r > best ? r : best) }')
done
echo "-- disk: best of 3 x 1 GiB sequential write + fsync: $disk_best MB/s; ingest limit (half): $(awk -v d="$disk_best" 'BEGIN {print d / 2}') MB/s"

# ---- sustained: SUSTAINED_ROWS rows with background flushes
sb=$(( sus_rows / 1000 ))
os=""; ls_=""
for _ in $(seq "$reps"); do
  os+=$(ours BENCH=sustained NUM_ROWS="$sus_rows")$'\n'
  ls_+=$(lance 1000 "$sb")$'\n'
done
echo "-- sustained: $sus_rows rows ($(median input_mb <<<"$os") MB), 1000-row puts, non-durable, flushes running"
row "enqueue rows/s (put loop)" "$(median enqueue_rows_per_s <<<"$os")" "$(median rows_per_s_loop <<<"$ls_")" rows/s
row "total rows/s (incl. final flush + close)" "$(median total_rows_per_s <<<"$os")" "$(median rows_per_s_total <<<"$ls_")" rows/s
row "total MB/s (incl. final flush + close)" "$(median total_mb_per_s <<<"$os")" "$(median MB_per_s_total <<<"$ls_")" MB/s
row "total rows/s, memwal minus batch generation" "$(median total_rows_per_s_excl_gen <<<"$os")" "$(median rows_per_s_total <<<"$ls_")" rows/s
row "generations written" "$(median flushes <<<"$os")" "$(median generation_dirs <<<"$ls_")" gens
row "peak RSS (raw)" "$(median peak_rss_mib <<<"$os")" "$(median max_rss_mib <<<"$ls_")" MiB
row "peak RSS (Lance minus 2x input held by script)" "$(median peak_rss_mib <<<"$os")" "$(median rss_minus_held_input_mib <<<"$ls_")" MiB
one "memwal peak RSS / max_unflushed (1 GiB)" "$(median peak_rss_to_budget <<<"$os")" x
one "memwal total MB/s / (disk limit / 2) (target >= 0.5)" \
  "$(awk -v m="$(median total_mb_per_s <<<"$os")" -v d="$disk_best" 'BEGIN {print m / (d / 2)}')" x

# ---- memwal alone at OURS_ROWS (does not fit the Lance script's memory)
if [ "$ours_rows" -gt 0 ]; then
  o=$(ours BENCH=sustained NUM_ROWS="$ours_rows")
  echo "-- memwal only: $ours_rows rows, once"
  echo "$o"
  one "total rows/s (incl. final flush + close)" "$(median total_rows_per_s <<<"$o")" rows/s
  one "total MB/s" "$(median total_mb_per_s <<<"$o")" MB/s
  one "flushes" "$(median flushes <<<"$o")" gens
  one "peak RSS" "$(median peak_rss_mib <<<"$o")" MiB
  one "peak RSS / max_unflushed (1 GiB)" "$(median peak_rss_to_budget <<<"$o")" x
fi
