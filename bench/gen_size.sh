#!/usr/bin/env bash
# Generation file size, memwal vs LanceDB 0.39 (Lance 12), for the same rows
# (issue 13 item 5). For each schema, one LanceDB-made unsharded table (no
# maintained indexes) is copied; LanceDB's mergeInsert + closeLsmWriters flushes
# the rows as a generation in one copy, `memwal put --flush-on-close` in the
# other; the script prints the bytes of each generation's data file(s)
# (data/*.lance) and of the whole generation folder.
#
# Usage: bench/gen_size.sh [BUILD_DIR]     (default build; needs its memwal)
# Env:   PEERS_DIR (default BUILD_DIR/peers; installed if missing), ROWS (20000)
# Schemas: bench = id int64 + vector f32[512] + text ~70 B ("row <i>" padded);
#          short = id int64 + vector f32[8] + text of 16 short words (3-9 B, repeated).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${MW_SHARED_DIR:-$root/../shared}
build=${1:-$root/build}
peers=${PEERS_DIR:-$build/peers}
rows=${ROWS:-20000}
bash "$shared/peers/install.sh" "$peers" >/dev/null
mw=$build/memwal
[ -x "$mw" ] || { echo "gen_size.sh: $mw not built" >&2; exit 1; }
tmp=$(mktemp -d /tmp/mw_gensize_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/js"; ln -s "$peers/node_modules" "$tmp/js/node_modules"
cp "$root/bench/gen_size_data.mjs" "$root/bench/table_lance.mjs" "$tmp/js/"
lsm=$peers/lancedb_lsm.mjs

gen_bytes() { # DIR -> "data_bytes total_bytes" of the one generation folder under DIR/_mem_wal
  local g; g=$(find "$1/_mem_wal" -maxdepth 2 -type d -name '*_gen_*' | head -1)
  [ -n "$g" ] || { echo "no generation under $1" >&2; exit 1; }
  local d; d=$(find "$g/data" -name '*.lance' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  local t; t=$(find "$g" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  echo "$d $t"
}

printf '%-7s %8s %14s %14s %14s %14s %8s\n' schema rows ours_data lance_data ours_total lance_total lance/ours
for schema in bench short; do
  dim=512; [ "$schema" = short ] && dim=8
  node "$tmp/js/gen_size_data.mjs" "$tmp/$schema.arrows" "$rows" "$dim" "$schema" 1000
  node "$lsm" create "$tmp/l_$schema" t unsharded --dim "$dim" --maintain none >/dev/null
  cp -a "$tmp/l_$schema" "$tmp/o_$schema"
  # LanceDB: mergeInsert of 1000-row batches (one shard), then closeLsmWriters
  awk -v n="$rows" 'BEGIN { for (i = 0; i < n; i++) print "{\"bucket\": 0}" }' >"$tmp/buckets.jsonl"
  node "$tmp/js/table_lance.mjs" upsert "$tmp/l_$schema" t "$tmp/$schema.arrows" "$tmp/buckets.jsonl" 1000 >/dev/null 2>&1
  "$mw" put "$tmp/o_$schema/t.lance" --input "$tmp/$schema.arrows" --flush-on-close >/dev/null
  read -r od ot <<<"$(gen_bytes "$tmp/o_$schema/t.lance")"
  read -r ld lt <<<"$(gen_bytes "$tmp/l_$schema/t.lance")"
  printf '%-7s %8s %14s %14s %14s %14s %8s\n' "$schema" "$rows" "$od" "$ld" "$ot" "$lt" \
    "$(awk -v a="$od" -v b="$ld" 'BEGIN {printf "%.3f", b / a}')"
done
