#!/usr/bin/env bash
# Runs the same MemWAL workloads through memwal (bench/bench_writer) and real
# Lance (LanceDB 0.39.0 / Lance core 12, ../shared/peers) in one run, on the
# same local disk, and prints both sides and the ratios.
#
# Usage: bench/compare_lance.sh [REPEATS]      (median of REPEATS runs, default 3)
#        ALL=1 bench/compare_lance.sh [REPEATS]   also JSON, flush/sustained, generation sizes
# Env:   PEERS_DIR (default build/peers; installed if missing), BENCH_DIR
#        (scratch folder, default a new one under /tmp), VECTOR_DIM (512)
#
# Workloads (Lance's knobs): batch = id int64 PK + vector f32[512] + text 70 B.
#   w20      non-durable MemTable puts, 20 rows x 1000
#   w1000    non-durable MemTable puts, 1000 rows x 100
#   d20      durable puts, 20 rows x 1000, one WAL entry per put (Lance: flush-ms=1)
#            memwal with fsync (truly durable) and without (Lance's level)
#   replay   open with replay of 1000 WAL entries x 20 rows (entries/s)
#   group    durable+fsync 20-row puts from 1, 2, 4, 8 putter threads (ours)
# Labels: "enqueue" = the put loop alone with non-durable puts (they return
# before their rows are in the WAL); "durable put loop" = the put loop with
# durable puts (each returned once durable); "total" = put loop + close
# (memwal: flush_wal + mw_shard_writer_close; Lance: closeLsmWriters).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${MW_SHARED_DIR:-$root/../shared}
reps=${1:-3}
peers=${PEERS_DIR:-$root/build/peers}
bash "$shared/peers/install.sh" "$peers"
cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DMW_BUILD_TESTS=OFF >/dev/null
cmake --build "$root/build-release" -j"$(nproc)" --target bench_writer >/dev/null
bw="$root/build-release/bench/bench_writer"
scratch=${BENCH_DIR:-$(mktemp -d /tmp/mw_compare_XXXXXX)}
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT

# median KEY over JSON lines on stdin
median() { node -e '
  const k = process.argv[1]; const v = require("fs").readFileSync(0, "utf8").trim().split("\n")
    .filter(Boolean).map((l) => { const o = JSON.parse(l); return k.split(".").reduce((a, p) => a[p], o); })
    .sort((a, b) => a - b);
  console.log(v[Math.floor(v.length / 2)]);' "$1"; }

ours() { # env... -> one JSON line
  env BENCH_DIR="$scratch/ours" "$@" "$bw"; rm -rf "$scratch/ours"; }
lance() { node "$peers/lance_write_bench.mjs" "$scratch/lance" "$@" 2>/dev/null | tail -1; rm -rf "$scratch/lance"; }

row() { # name ours lance unit [label_a label_b]
  node -e 'const [n,a,b,u,la="memwal",lb="lance"]=process.argv.slice(1); console.log(`${n.padEnd(44)} ${la.padEnd(8)} ${(+a).toFixed(1).padStart(12)} ${u.padEnd(10)} ${lb.padEnd(8)} ${(+b).toFixed(1).padStart(12)} ${u.padEnd(10)} ratio ${(a/b).toFixed(2)}x`)' "$@"; }

echo "memwal vs Lance 12, median of $reps runs, $(nproc) cores, scratch $scratch"
for w in w20 w1000 d20; do
  o=""; of=""; l=""
  for _ in $(seq "$reps"); do
    case $w in
      w20)   o+=$(ours BENCH=write BATCH_SIZE=20 NUM_BATCHES=1000 DURABLE_WRITE=no ENABLE_MEMTABLE=yes)$'\n'
             l+=$(lance 20 1000 0 --native)$'\n' ;;
      w1000) o+=$(ours BENCH=write BATCH_SIZE=1000 NUM_BATCHES=100 DURABLE_WRITE=no ENABLE_MEMTABLE=yes)$'\n'
             l+=$(lance 1000 100 0 --native)$'\n' ;;
      d20)   o+=$(ours BENCH=write BATCH_SIZE=20 NUM_BATCHES=1000 DURABLE_WRITE=yes ENABLE_MEMTABLE=yes FSYNC=yes MAX_FLUSH_INTERVAL_MS=1)$'\n'
             of+=$(ours BENCH=write BATCH_SIZE=20 NUM_BATCHES=1000 DURABLE_WRITE=yes ENABLE_MEMTABLE=yes FSYNC=no MAX_FLUSH_INTERVAL_MS=1)$'\n'
             l+=$(lance 20 1000 1 --native --flush-ms=1)$'\n' ;;
    esac
  done
  case $w in
    w20|w1000)
      row "$w non-durable enqueue rows/s" "$(median enqueue_rows_per_s <<<"$o")" "$(median rows_per_s_loop <<<"$l")" rows/s
      row "$w non-durable total rows/s (incl. close)" "$(median total_rows_per_s <<<"$o")" "$(median rows_per_s_total <<<"$l")" rows/s
      row "$w non-durable enqueue MB/s" "$(median enqueue_mb_per_s <<<"$o")" "$(median MB_per_s_loop <<<"$l")" MB/s ;;
    d20)
      row "d20 durable+fsync put loop rows/s" "$(median durable_puts_rows_per_s <<<"$o")" "$(median rows_per_s_loop <<<"$l")" rows/s
      row "d20 durable+fsync put p50" "$(median put_p50_ms <<<"$o")" "$(median call_ms.p50 <<<"$l")" ms
      row "d20 durable+fsync put p99" "$(median put_p99_ms <<<"$o")" "$(median call_ms.p99 <<<"$l")" ms
      row "d20 durable, no fsync (Lance's level) put loop rows/s" "$(median durable_puts_rows_per_s <<<"$of")" "$(median rows_per_s_loop <<<"$l")" rows/s
      row "d20 durable, no fsync put p99" "$(median put_p99_ms <<<"$of")" "$(median call_ms.p99 <<<"$l")" ms ;;
  esac
done

# WAL-only vs MemTable mode (ours only)
wo=""; mt=""
for _ in $(seq "$reps"); do
  wo+=$(ours BENCH=write BATCH_SIZE=20 NUM_BATCHES=1000 DURABLE_WRITE=no ENABLE_MEMTABLE=no)$'\n'
  mt+=$(ours BENCH=write BATCH_SIZE=20 NUM_BATCHES=1000 DURABLE_WRITE=no ENABLE_MEMTABLE=yes)$'\n'
done
row "w20 WAL-only vs MemTable total rows/s (incl. close)" "$(median total_rows_per_s <<<"$wo")" "$(median total_rows_per_s <<<"$mt")" rows/s wal-only memtable

# Replay: 1000 entries x 20 rows. Lance: write them durable with one entry
# per put and exit without close, then time a fresh process's first write
# (open + claim + replay + put) minus the same on a fresh table.
ro=""; lr=""
for _ in $(seq "$reps"); do
  ro+=$(ours BENCH=replay BATCH_SIZE=20 NUM_ENTRIES=1000)$'\n'
  node "$peers/lance_write_bench.mjs" "$scratch/lance" 20 1000 1 --native --flush-ms=1 --no-close >/dev/null 2>&1
  full=$(node "$peers/lance_first_write.mjs" "$scratch/lance" 2>/dev/null | tail -1)
  rm -rf "$scratch/lance"
  node "$peers/lance_write_bench.mjs" "$scratch/lance" 20 1 1 --native --flush-ms=1 --no-close >/dev/null 2>&1
  empty=$(node "$peers/lance_first_write.mjs" "$scratch/lance" 2>/dev/null | tail -1)
  rm -rf "$scratch/lance"
  lr+=$(node -e 'const a=JSON.parse(process.argv[1]), b=JSON.parse(process.argv[2]);
    const ms=(a.open_ms+a.first_write_ms)-(b.open_ms+b.first_write_ms);
    console.log(JSON.stringify({replay_ms: ms, entries_per_s: 999/(ms/1e3)}))' "$full" "$empty")$'\n'
done
row "replay 1000x20 entries/s" "$(median replay_entries_per_s <<<"$ro")" "$(median entries_per_s <<<"$lr")" entries/s
row "replay 1000x20 open-with-replay ms" "$(median open_with_replay_ms <<<"$ro")" "$(median replay_ms <<<"$lr")" ms

# Group commit (ours only): durable 20-row puts with fsync from P putter
# threads at once (1000 puts in all, batch i put by thread i % P), medians.
# "entries" = WAL entries written for the 1000 puts (fewer = more grouping).
echo "group commit: durable+fsync 20-row puts x 1000 from P threads (memwal), median of $reps"
printf '%-8s %14s %10s %10s %10s\n' putters rows/s p50_ms p99_ms entries
for p in 1 2 4 8; do
  g=""
  for _ in $(seq "$reps"); do
    g+=$(ours BENCH=write BATCH_SIZE=20 NUM_BATCHES=1000 DURABLE_WRITE=yes ENABLE_MEMTABLE=yes FSYNC=yes MAX_FLUSH_INTERVAL_MS=1 PUTTERS="$p")$'\n'
  done
  printf '%-8s %14.0f %10.3f %10.3f %10.0f\n' "$p" "$(median durable_puts_rows_per_s <<<"$g")" \
    "$(median put_p50_ms <<<"$g")" "$(median put_p99_ms <<<"$g")" "$(median wal_entries <<<"$g")"
done

# ALL=1: the other ratios of issue 13 from the same run, one script after
# the other: JSON rendering vs apache-arrow JS, MemTable flush + sustained
# ingest (with the disk's limit), generation sizes.
if [ "${ALL:-0}" = 1 ]; then
  echo "== JSON rendering (bench/json_bench.sh $reps)"
  PEERS_DIR="$peers" bash "$root/bench/json_bench.sh" "$reps"
  echo "== MemTable flush and sustained ingest (bench/compare_flush.sh $reps)"
  PEERS_DIR="$peers" OURS_ROWS=0 bash "$root/bench/compare_flush.sh" "$reps"
  echo "== generation sizes (bench/gen_size.sh)"
  cmake --build "$root/build-release" -j2 --target memwal >/dev/null
  PEERS_DIR="$peers" ROWS=100000 bash "$root/bench/gen_size.sh" "$root/build-release"
fi
