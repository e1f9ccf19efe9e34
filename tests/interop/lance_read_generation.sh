#!/usr/bin/env bash
# lance_read_generation.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - the
# generation folders memwal writes (`memwal lance-write`, i.e.
# mw_lance_write_generation) are read by real Lance (LanceDB 0.39.0, Lance
# 12) with identical rows, types, nullability, metadata and nulls, for both
# Lance file formats 2.1 (the default) and 2.0:
#  (a) every supported column type with nulls, 1 and 1000 rows;
#  (a') struct (with a nested struct) and list columns with null structs,
#      null / empty lists and null items, 1, 1000 and 200,000 rows (2.1;
#      2.0 refuses structs with a clear error);
#  (a'') top-level lists (int32, utf8, bool, large_binary, uint32, float32
#      items; null / empty lists, null items) in 2.0 as well: 1, 1000 and
#      200,000 rows (several item pages);
#  (b) 1,000,000 rows of the simple schema (id, name, _tombstone);
#  (c) repeated keys: only the last copy of each key is written (compared
#      with the input deduplicated last-write-wins);
#  (d) the Lance 12 fixture table with its generation 1 replaced by ours for
#      the same rows (ids 1..6): LanceDB's LSM read returns exactly what it
#      returns for the original, and our bloom_filter.bin and _pk_index/
#      files are byte-identical to Lance's.
# Missing node or peers is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"

need_node
need_peers lancedb_read.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
[ -x "$BIN" ] || die "no memwal binary at $BIN"

js_tmp "$HERE"/lance_types_gen.mjs "$HERE"/lance_compare.mjs

# gen_compare NAME ROWS MODE BATCHES [compare flags]; FMT= selects --format
# (empty: the default, which must be 2.1)
gen_compare() {
  local name=$1 rows=$2 mode=$3 nb=$4; shift 4
  node "$TMP/js/lance_types_gen.mjs" "$TMP/$name.arrows" "$rows" "$mode" "$nb" \
    || { fail "$name: generating input"; return; }
  "$BIN" lance-write "$TMP/$name.arrows" "$TMP/$name" ${FMT:+--format "$FMT"} >"$TMP/$name.json" 2>"$TMP/$name.err" \
    || { cat "$TMP/$name.err" >&2; fail "$name: memwal lance-write"; return; }
  check_format "$name" "${FMT:-2.1}"
  local out
  out=$(node "$TMP/js/lance_compare.mjs" "$TMP/$name.arrows" "$TMP/$name" "$@" 2>&1)
  if [ "${out%% *}" = ok ]; then ok "$name: $out"; else echo "$out" >&2; fail "$name"; fi
}

# check_format NAME VERSION: the data file's footer and the manifest's
# data_format name the version
check_format() {
  local dir=$TMP/$1 want=$2 f
  f=$(ls "$dir"/data/*.lance 2>/dev/null | head -1)
  [ -n "$f" ] || { fail "$1: no data file"; return; }
  local v
  v=$(tail -c 8 "$f" | od -An -tu2 -N4 | awk '{print $1 "." $2}')
  case "$want" in 2.1) exp=2.1 ;; 2.0) exp=0.3 ;; esac
  [ "$v" = "$exp" ] || fail "$1: footer version $v, expected $exp for $want"
  LC_ALL=C grep -aq "lance.\{0,2\}$want" "$dir/_versions/$(ls "$dir/_versions" | grep manifest | head -1)" \
    || fail "$1: manifest data_format is not $want"
}

# (a) every type, nulls; (b) a million rows; both file formats
for FMT in "" 2.0; do
  sfx=${FMT:-2.1}; sfx=_v${sfx/./}
  gen_compare types_1$sfx 1 all 1
  gen_compare types_1000$sfx 1000 all 3
  gen_compare simple_1m$sfx 1000000 simple 10
done
FMT=
# (a') struct and list columns (2.1 only): 1, 1000 and 200,000 rows
gen_compare nested_1 1 nested 1
gen_compare nested_1000 1000 nested 3
gen_compare nested_200k 200000 nested 4
# ... and 2.0 refuses them, naming the column
if "$BIN" lance-write "$TMP/nested_1.arrows" "$TMP/nested_v20" --format 2.0 >/dev/null 2>"$TMP/n20.err"; then
  fail "2.0 accepted a struct column"
elif grep -q "column 'st': struct columns need Lance file format 2.1" "$TMP/n20.err"; then
  ok "2.0 refuses struct columns: $(cat "$TMP/n20.err")"
else
  cat "$TMP/n20.err" >&2; fail "2.0 struct refusal message"
fi
# (a'') top-level lists, both formats (2.0: two columns per list)
for FMT in "" 2.0; do
  sfx=${FMT:-2.1}; sfx=_v${sfx/./}
  gen_compare lists_1$sfx 1 lists 1
  gen_compare lists_1000$sfx 1000 lists 3
  gen_compare lists_200k$sfx 200000 lists 4
done
FMT=
# (c) repeated keys, last write wins (20 rows, 5 keys)
gen_compare dup_20 20 dup 3 --last-wins
rows=$(sed -n 's/.*"physical_rows":\([0-9]*\).*/\1/p' "$TMP/dup_20.json")
[ "$rows" = 5 ] && ok "dup_20: physical_rows 5" || fail "dup_20: physical_rows '$rows', expected 5"
# the comparator itself detects a difference: a 21-row input vs the 20-row folder
node "$TMP/js/lance_types_gen.mjs" "$TMP/other.arrows" 21 dup 3 >/dev/null
if node "$TMP/js/lance_compare.mjs" "$TMP/other.arrows" "$TMP/types_1000_v21" >/dev/null 2>&1; then
  fail "lance_compare accepted a different table"
else
  ok "lance_compare rejects a different table"
fi

# (d) the fixture's generation 1 replaced by ours
FIX="$SHARED/fixtures/lance12_reference_table.lance"
SH=_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2
GEN=$SH/70752807_gen_1
mkdir -p "$TMP/tbl"
cp -r "$FIX" "$TMP/tbl/t.lance"
rm -rf "${TMP:?}/tbl/t.lance/$GEN"
node "$TMP/js/lance_types_gen.mjs" "$TMP/six.arrows" 6 simple 2 1 || fail "six: generating input"
if "$BIN" lance-write "$TMP/six.arrows" "$TMP/tbl/t.lance/$GEN" >/dev/null; then
  node "$PEERS/lancedb_read.mjs" "$FIX" --max 100 | grep -v '"dataset"' >"$TMP/ref.json" \
    || fail "lancedb_read on the fixture"
  node "$PEERS/lancedb_read.mjs" "$TMP/tbl/t.lance" --max 100 | grep -v '"dataset"' >"$TMP/ours.json" \
    || fail "lancedb_read on the fixture with our generation"
  if [ -s "$TMP/ref.json" ] && diff "$TMP/ref.json" "$TMP/ours.json" >&2; then
    ok "fixture LSM read with our generation 1: $(grep -o '"query_rows": [0-9]*' "$TMP/ours.json")"
  else
    fail "fixture LSM read differs with our generation 1"
  fi
  for f in bloom_filter.bin _pk_index/page_data.lance _pk_index/page_lookup.lance; do
    if cmp -s "$FIX/$GEN/$f" "$TMP/tbl/t.lance/$GEN/$f"; then ok "$f byte-identical to Lance's"
    else fail "$f differs from Lance's"; fi
  done
else
  fail "memwal lance-write into the fixture copy"
fi

[ $fails -eq 0 ] && echo "all lance generation interop checks passed" || echo "$fails failure(s)" >&2
exit $((fails > 0))
