#!/usr/bin/env bash
# The main job on a local folder, no server needed: installs dependencies,
# builds memwal, then ingests generated rows (id int64 primary key, a
# 512-float vector, ~70 B of text) through a durable MemTable-mode
# ShardWriter into the Lance table folder OUT_DIR/table.lance, with a
# progress line and a JSON summary, flushes the MemTable as Lance datasets
# (generation folders real Lance reads), and shows the resulting shard
# manifest and WAL. Running it again reopens the shard and adds more rows.
# Usage: scripts/run-main.sh [OUT_DIR]   (env: ROWS=100000, BATCH_ROWS=1000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out}
bash "$root/scripts/deps.sh"
cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DMW_BUILD_TESTS=OFF >/dev/null
cmake --build "$root/build-release" -j"$(nproc)" --target memwal >/dev/null
bin="$root/build-release/memwal"
shard=6d656d77-616c-4000-8000-000000000001
table="$out/table.lance"
mkdir -p "$out"
echo "== ingesting ${ROWS:-100000} rows into $table (shard $shard)"
"$bin" bench "$table" --shard "$shard" --rows "${ROWS:-100000}" --batch-rows "${BATCH_ROWS:-1000}" --flush-on-close
echo "== shard manifest"
"$bin" inspect "$table" --shard "$shard"
entries=$("$bin" tail "$table" --shard "$shard" | wc -l)
echo "== $entries WAL entries under $table/_mem_wal/$shard/wal/"
