#!/usr/bin/env bash
# lance_cat.sh MEMWAL_BIN SHARED_DIR - `memwal lance-cat`: a dataset written
# by `memwal lance-write` (2.1 and 2.0) prints exactly what `ipc-cat` prints
# for the input; --rows and --columns select; the real Lance 12 flushed
# generation of the reference table (a LanceDB 2.2 data file and its 2.0
# primary-key index files) prints its known rows; malformed files and usage
# errors fail with a message (exit 1 / 2), never a crash.
set -u
BIN=${1:?usage: lance_cat.sh MEMWAL_BIN SHARED_DIR}
SHARED=${2:?usage: lance_cat.sh MEMWAL_BIN SHARED_DIR}
GEN="$SHARED/fixtures/lance12_reference_table.lance/_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/70752807_gen_1"
. "$(dirname "$0")/common.sh"
mk_tmp
[ -x "$BIN" ] || die "no memwal binary at $BIN"
[ -d "$GEN" ] || die "no reference generation at $GEN"

"$BIN" gen "$TMP/g.arrows" --rows 5000 --batch-rows 700 --dim 16 >/dev/null || die "gen"
"$BIN" ipc-cat "$TMP/g.arrows" >"$TMP/want" || die "ipc-cat"
for fmt in 2.1 2.0; do
  "$BIN" lance-write "$TMP/g.arrows" "$TMP/ds$fmt" --pk id --format $fmt --no-dedup >/dev/null || die "lance-write $fmt"
  "$BIN" lance-cat "$TMP/ds$fmt" >"$TMP/got" 2>"$TMP/err"
  check "dataset $fmt exit" 0 $?
  check "dataset $fmt output = ipc-cat" "$(md5sum <"$TMP/want")" "$(md5sum <"$TMP/got")"
  file=$(ls "$TMP/ds$fmt/data/"*.lance)
  "$BIN" lance-cat "$file" --rows 4990:6000 >"$TMP/got" 2>"$TMP/err"
  check "file $fmt --rows tail" "$(sed -n '1p;4992,$p' "$TMP/want")" "$(cat "$TMP/got")"
done
# projection: columns in the order asked
"$BIN" lance-cat "$TMP/ds2.1" --columns text,id --rows 10:12 >"$TMP/got"
check "columns rows" 3 "$(wc -l <"$TMP/got")"
contains "columns schema order" '"fields": [{"name": "text"' "$(head -1 "$TMP/got")"
id10=$(sed -n 12p "$TMP/want" | sed 's/.*"id": \([0-9]*\).*/\1/')
contains "columns row 10 id" "\"id\": $id10}" "$(sed -n 2p "$TMP/got")"

# LanceDB-written files of the reference generation
out=$("$BIN" lance-cat "$GEN")
check "reference generation" '{"schema": {"fields": [{"name": "id", "type": "int64", "nullable": false, "metadata": {"lance-schema:unenforced-primary-key:position": "1"}}, {"name": "name", "type": "utf8", "nullable": true, "metadata": {}}, {"name": "_tombstone", "type": "bool", "nullable": false, "metadata": {}}], "metadata": {}}}
{"id": 1, "name": "n1", "_tombstone": false}
{"id": 2, "name": "n2", "_tombstone": false}
{"id": 3, "name": "n3", "_tombstone": false}
{"id": 4, "name": "n4", "_tombstone": false}
{"id": 5, "name": "n5", "_tombstone": false}
{"id": 6, "name": "n6", "_tombstone": false}' "$out"
out=$("$BIN" lance-cat "$GEN/_pk_index/page_data.lance" --columns ids,values --rows 5:)
check "reference pk index (2.0)" '{"schema": {"fields": [{"name": "ids", "type": "uint64", "nullable": false, "metadata": {}}, {"name": "values", "type": "int64", "nullable": true, "metadata": {}}], "metadata": {}}}
{"ids": 5, "values": 6}' "$out"

# malformed input
head -c 100 "$file" >"$TMP/short.lance"
"$BIN" lance-cat "$TMP/short.lance" >"$TMP/got" 2>"$TMP/err"
check "truncated exit" 1 $?
contains "truncated message" "at byte" "$(cat "$TMP/err")"
check "truncated prints nothing" "" "$(cat "$TMP/got")"
cp "$file" "$TMP/bad.lance"
printf 'XXXX' | dd of="$TMP/bad.lance" bs=1 seek=$(($(stat -c %s "$file") - 4)) conv=notrunc 2>/dev/null
"$BIN" lance-cat "$TMP/bad.lance" >/dev/null 2>"$TMP/err"
check "bad magic exit" 1 $?
contains "bad magic message" "LANC" "$(cat "$TMP/err")"
"$BIN" lance-cat "$TMP/ds2.1" --columns nope >/dev/null 2>"$TMP/err"
check "unknown column exit" 1 $?
contains "unknown column message" "no column 'nope'" "$(cat "$TMP/err")"
"$BIN" lance-cat "$TMP/ds2.1" --columns id,text,id >/dev/null 2>"$TMP/err"
check "column named twice exit" 1 $?
contains "column named twice message" "column 'id' asked for twice" "$(cat "$TMP/err")"
"$BIN" lance-cat "$TMP/missing.lance" >/dev/null 2>&1
check "missing file exit" 1 $?
"$BIN" lance-cat >/dev/null 2>&1
check "no args exit" 2 $?
"$BIN" lance-cat "$file" --rows 9:3 >/dev/null 2>&1
check "reversed rows exit" 2 $?
"$BIN" lance-cat "$file" --bogus >/dev/null 2>&1
check "unknown option exit" 2 $?
exit $fail
