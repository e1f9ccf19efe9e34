#!/usr/bin/env bash
# The main job on a local folder, no server needed: installs dependencies,
# builds memwal, then
#   1. creates (or reuses) a real Lance table OUT_DIR/table.lance: schema
#      id int64 (primary key), vector fixed_size_list<float32>[512], text
#      (~70 B); MemWAL spec bucket(id, 4), as LanceDB's setLsmWriteSpec
#      writes it;
#   2. ingests ROWS generated rows through the table writer: durable puts of
#      BATCH_ROWS rows, routed to the 4 shards as LanceDB routes them, with a
#      progress line and a JSON summary (rows per shard, rows/s, MB/s);
#   3. flushes every shard's MemTable as a generation (Lance datasets
#      LanceDB's LSM reader reads) and describes the table;
#   4. prints how to read it with LanceDB.
# Running it again reuses the table: the same ids are upserted (newest wins).
# Usage: scripts/run-main.sh [OUT_DIR]   (env: ROWS=100000, BATCH_ROWS=1000;
#        MEMWAL_BIN=path skips the build and uses that binary)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out}
rows=${ROWS:-100000}; batch=${BATCH_ROWS:-1000}
if [ -n "${MEMWAL_BIN:-}" ]; then
  bin=$MEMWAL_BIN
else
  bash "$root/scripts/deps.sh"
  cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DMW_BUILD_TESTS=OFF >/dev/null
  cmake --build "$root/build-release" -j"$(nproc)" --target memwal >/dev/null
  bin="$root/build-release/memwal"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
table="$out/table.lance"
if [ -d "$table/_versions" ]; then
  echo "== reusing the Lance table $table"
else
  echo "== creating the Lance table $table (spec bucket:id:4)"
  "$bin" gen "$out/schema.arrows" --rows 0 --dim 512
  "$bin" create "$table" --schema "$out/schema.arrows" --spec bucket:id:4
  rm -f "$out/schema.arrows"
fi
echo "== ingesting $rows rows ($batch per durable put) through the table writer"
"$bin" bench "$table" --table --rows "$rows" --batch-rows "$batch" --flush-on-close
echo "== the table"
"$bin" describe "$table"
cat <<MSG
== done: $rows rows are in $table (WAL entries and flushed generations).
Read them with LanceDB (its LSM path merges the generations with the base):
  node -e 'const l = require("@lancedb/lancedb");
    l.connect("$out").then(db => db.openTable("table"))
     .then(t => t.query().limit(5).toArray()).then(r => console.log(r.length, r[0]))'
  python3 -c 'import lancedb; print(lancedb.connect("$out").open_table("table").count_rows())'
MSG
