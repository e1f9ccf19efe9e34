#!/usr/bin/env bash
# lance_read.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - our Lance file
# reader on files real LanceDB 0.39 writes (file format 2.2 with its default
# encodings: mini-block with u32 chunks, inline / out-of-line bitpacking,
# RLE, structural dictionary with LZ4 items, FSST, constant pages, full-zip
# vectors and long strings, nulls). LanceDB creates tables of 10 and 100,000
# rows with 128-d vectors and of 3,001 rows with 1024-d vectors
# (lance_read_tables.mjs), and nested tables (lance_read_nested.mjs), and
# reads them back; `memwal lance-cat` of each dataset must print the same
# rows (the same renderer prints LanceDB's read through `ipc-cat`), every
# column on its own too (no "unsupported encoding"), and row ranges must
# match the full read. A narrow table of 1,000,000 rows
# (lance_read_million.mjs: many pages per column) must print identically,
# in order. Tables with deletes (lance_read_deletes.mjs: two
# fragments, each with a `.arrow` or a `.bin` deletion file) must print
# without the deleted rows, row ranges counting only the rows left.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE/lance_read_tables.mjs" "$HERE/lance_read_nested.mjs" "$HERE/lance_read_deletes.mjs" "$HERE/lance_read_fullzip.mjs" \
  "$HERE/lance_read_million.mjs"
DB="$TMP/db"
mkdir -p "$DB" "$TMP/out"
COLS="id low_i32 high_i64 small_u8 neg_i16 f32 f64 flag day ts word text long_text blob vec nothing same same_text"

# NAME:ROWS:DIM (ROWS not = 3 mod 7: apache-arrow JS drops a trailing null vector)
for spec in small:10:128 big:100000:128 wide:3001:1024; do
  IFS=: read -r name rows dim <<<"$spec"
  node "$TMP/js/lance_read_tables.mjs" "$DB" "$TMP/out" "$rows" "$name" "$dim" >"$TMP/$name.log" 2>&1 \
    || die "lance_read_tables.mjs $name: $(tail -3 "$TMP/$name.log")"
  ds="$DB/$name.lance"
  "$BIN" ipc-cat "$TMP/out/$name.arrows" >"$TMP/want" || die "ipc-cat of LanceDB's read of $name"
  check "$name: LanceDB read $rows rows" "$rows" "$(($(wc -l <"$TMP/want") - 1))"
  "$BIN" lance-cat "$ds" >"$TMP/got" 2>"$TMP/err"
  check "$name: lance-cat exit" "0 " "$? $(head -c 300 "$TMP/err")"
  check "$name: rows identical to LanceDB's" "$(tail -n +2 "$TMP/want" | sort | md5sum)" "$(tail -n +2 "$TMP/got" | sort | md5sum)"
  check "$name: file format 2.2" "1" "$(ls "$ds"/data/*.lance | wc -l)"
  f=$(ls "$ds"/data/*.lance)
  check "$name: footer version 2.2" "0200 0200 4c41 4e43" "$(tail -c 8 "$f" | od -An -tx2 --endian=big | sed 's/^ //')"
  for c in $COLS; do
    "$BIN" lance-cat "$ds" --columns "$c" >"$TMP/col" 2>"$TMP/err" || { fail "$name: column $c: $(head -c 300 "$TMP/err")"; continue; }
    # the column's values, in file order, against the same column of the full read
    n=$(grep -c "\"$c\": " "$TMP/col")
    [ "$n" = "$rows" ] && ok "$name: column $c alone" || fail "$name: column $c alone: $n rows"
  done
  if [ "$rows" -gt 1000 ]; then
    "$BIN" lance-cat "$f" --rows 31337:40001 --columns vec,id,text >"$TMP/range" || fail "$name: row range"
    "$BIN" lance-cat "$f" --columns vec,id,text | sed -n '1p;31339,40002p' >"$TMP/range_want"
    cmp -s "$TMP/range" "$TMP/range_want" && ok "$name: row range 31337:40001" || fail "$name: row range differs"
  fi
done
# the large end: 1,000,000 rows of narrow columns, identical and in order
node "$TMP/js/lance_read_million.mjs" "$DB" "$TMP/out" 1000000 million >"$TMP/million.log" 2>&1 \
  || die "LanceDB could not write/read the 1M-row table: $(tail -3 "$TMP/million.log")"
"$BIN" ipc-cat "$TMP/out/million.arrows" | tail -n +2 >"$TMP/want" || die "ipc-cat of LanceDB's read of million"
check "million: LanceDB read 1000000 rows" 1000000 "$(wc -l <"$TMP/want")"
"$BIN" lance-cat "$DB/million.lance" >"$TMP/got" 2>"$TMP/err" || fail "million: lance-cat: $(head -c 300 "$TMP/err")"
tail -n +2 "$TMP/got" | cmp -s - "$TMP/want" && ok "million: rows identical to LanceDB's, in order" \
  || fail "million: rows differ from LanceDB's"
"$BIN" lance-cat "$DB/million.lance" --rows 654322:654331 --columns text,id | tail -n +2 >"$TMP/range"
check "million: row range 654322:654331" '{"text": "r654322-' "$(head -c 18 "$TMP/range")"
check "million: row range length" 9 "$(wc -l <"$TMP/range")"
rm -rf "$DB/million.lance"; rm -f "$TMP/want" "$TMP/got"

# nested columns: structs (in structs) and lists with null / empty lists
# and null items, lists in structs, lists of structs, lists of lists
for spec in nest_small:10 nest_big:20000; do
  name=${spec%%:*} rows=${spec#*:}
  node "$TMP/js/lance_read_nested.mjs" "$DB" "$TMP/out" "$rows" "$name" >"$TMP/$name.log" 2>&1 \
    || die "lance_read_nested.mjs $name: $(tail -3 "$TMP/$name.log")"
  "$BIN" ipc-cat "$TMP/out/$name.arrows" >"$TMP/want" || die "ipc-cat of LanceDB's read of $name"
  check "$name: LanceDB read $rows rows" "$rows" "$(($(wc -l <"$TMP/want") - 1))"
  "$BIN" lance-cat "$DB/$name.lance" >"$TMP/got" 2>"$TMP/err"
  check "$name: lance-cat exit" "0 " "$? $(head -c 300 "$TMP/err")"
  check "$name: rows identical to LanceDB's" "$(tail -n +2 "$TMP/want" | sort | md5sum)" "$(tail -n +2 "$TMP/got" | sort | md5sum)"
  cp "$TMP/got" "$TMP/all"
  "$BIN" lance-cat "$DB/$name.lance" --columns ls,st --rows 3:9 >"$TMP/got" 2>"$TMP/err"
  check "$name: projection + range rows" 7 "$(wc -l <"$TMP/got")"
  # the nested columns alone and in a range: the same values as the full read
  lo=2; [ "$rows" -gt 1000 ] && lo=15001
  for c in st sl lst lli; do
    "$BIN" lance-cat "$DB/$name.lance" --columns "$c" --rows $lo:$((lo + 7)) >"$TMP/got" 2>"$TMP/err" || fail "$name: $c: $(head -c 300 "$TMP/err")"
    # (values here are small: JSON.parse keeps them exact)
    pick='const [f, c, a, b] = process.argv.slice(1); const l = require("fs").readFileSync(f, "utf8").split("\n").slice(1 + +a, 1 + +b);
      console.log(l.map((x) => JSON.stringify(JSON.parse(x)[c])).join("\n"))'
    node -e "$pick" "$TMP/got" "$c" 0 7 >"$TMP/got_rows"
    node -e "$pick" "$TMP/all" "$c" $lo $((lo + 7)) >"$TMP/want_rows"
    [ "$(wc -l <"$TMP/want_rows")" = 7 ] && ! grep -q undefined "$TMP/want_rows" && cmp -s "$TMP/got_rows" "$TMP/want_rows" \
      && ok "$name: column $c rows $lo:$((lo + 7))" || fail "$name: column $c rows $lo:$((lo + 7)) differ"
  done
done
# full-zip pages with repetition levels of fixed-width values (lists of
# vectors), structs of vectors, lists of structs of vectors, lists in structs
node "$TMP/js/lance_read_fullzip.mjs" "$DB" "$TMP/out" 3000 fullzip >"$TMP/fz.log" 2>&1 \
  || die "lance_read_fullzip.mjs: $(tail -3 "$TMP/fz.log")"
"$BIN" ipc-cat "$TMP/out/fullzip.arrows" >"$TMP/want" || die "ipc-cat of LanceDB's read of fullzip"
check "fullzip: LanceDB read 3000 rows" 3000 "$(($(wc -l <"$TMP/want") - 1))"
"$BIN" lance-cat "$DB/fullzip.lance" >"$TMP/got" 2>"$TMP/err"
check "fullzip: lance-cat exit" "0 " "$? $(head -c 300 "$TMP/err")"
cmp -s "$TMP/want" "$TMP/got" && ok "fullzip: rows identical to LanceDB's" || fail "fullzip: rows differ"
"$BIN" lance-cat "$DB/fullzip.lance" --columns lv,id --rows 1234:1240 >"$TMP/got" 2>"$TMP/err"
check "fullzip: lv range rows" 7 "$(wc -l <"$TMP/got")"
contains "fullzip: lv range = row 1234 on" '"id": 1234}' "$(sed -n 2p "$TMP/got")"
# a full-zip page under a nullable struct (LanceDB cannot read it back):
# refused with a clear error, never printed wrong
node "$TMP/js/lance_read_fullzip.mjs" "$DB" "$TMP/out" 3000 fz_struct unreadable >"$TMP/fz.log" 2>&1 \
  || die "lance_read_fullzip.mjs unreadable: $(tail -3 "$TMP/fz.log")"
"$BIN" lance-cat "$DB/fz_struct.lance" --columns sll >"$TMP/got" 2>"$TMP/err"
check "fz_struct: lance-cat refuses" 1 "$?"
contains "fz_struct: the error names the column" "unsupported encoding full_zip_layout with a nullable layer above a list in column sll.t.item" "$(cat "$TMP/err")"
"$BIN" lance-cat "$DB/fz_struct.lance" --columns id,lv >"$TMP/got" 2>"$TMP/err"
check "fz_struct: the other columns read" "0 3001" "$? $(wc -l <"$TMP/got")"
# deletion files: NAME:ROWS per fragment:KIND LanceDB writes for "id % 3 = 0"
for spec in del_small:10:arrow del_big:20000:bin; do
  IFS=: read -r name rows kind <<<"$spec"
  node "$TMP/js/lance_read_deletes.mjs" "$DB" "$TMP/out" "$rows" "$name" "id % 3 = 0" >"$TMP/$name.log" 2>&1 \
    || die "lance_read_deletes.mjs $name: $(tail -3 "$TMP/$name.log")"
  left=$(grep -v WARN "$TMP/$name.log" | tail -1)
  check "$name: LanceDB deleted a third" "$((2 * rows - (2 * rows + 2) / 3))" "$left"
  check "$name: two .$kind deletion files" 2 "$(ls "$DB/$name.lance/_deletions/"*."$kind" | wc -l)"
  "$BIN" ipc-cat "$TMP/out/$name.arrows" >"$TMP/want" || die "ipc-cat of LanceDB's read of $name"
  "$BIN" lance-cat "$DB/$name.lance" >"$TMP/got" 2>"$TMP/err"
  check "$name: lance-cat exit" "0 " "$? $(head -c 300 "$TMP/err")"
  check "$name: rows" "$((left + 1))" "$(wc -l <"$TMP/got")"
  check "$name: rows identical to LanceDB's" "$(tail -n +2 "$TMP/want" | sort | md5sum)" "$(tail -n +2 "$TMP/got" | sort | md5sum)"
  # ranges of the rows left: the start, across the fragments' boundary, the end
  half=$((rows - (rows + 2) / 3))
  for r in 0:3 $((half - 2)):$((half + 3)) $((left - 2)):$((left + 5)) 1:$((left - 1)); do
    s=${r%:*} e=${r#*:}
    "$BIN" lance-cat "$DB/$name.lance" --rows "$r" >"$TMP/range" 2>"$TMP/err" || fail "$name: rows $r: $(head -c 300 "$TMP/err")"
    sed -n "1p;$((s + 2)),$((e + 1))p" "$TMP/got" >"$TMP/range_want"
    cmp -s "$TMP/range" "$TMP/range_want" && ok "$name: rows $r" || fail "$name: rows $r differ"
  done
done
[ "$fails" = 0 ] && exit $fail
echo "$fails failures" >&2
exit 1
