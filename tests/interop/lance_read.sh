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
# match the full read. Tables with deletes (lance_read_deletes.mjs: two
# fragments, each with a `.arrow` or a `.bin` deletion file) must print
# without the deleted rows, row ranges counting only the rows left.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE/lance_read_tables.mjs" "$HERE/lance_read_nested.mjs" "$HERE/lance_read_deletes.mjs"
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
# nested columns: structs (in structs) and lists with null / empty lists
# and null items
for spec in nest_small:10 nest_big:20000; do
  name=${spec%%:*} rows=${spec#*:}
  node "$TMP/js/lance_read_nested.mjs" "$DB" "$TMP/out" "$rows" "$name" >"$TMP/$name.log" 2>&1 \
    || die "lance_read_nested.mjs $name: $(tail -3 "$TMP/$name.log")"
  "$BIN" ipc-cat "$TMP/out/$name.arrows" >"$TMP/want" || die "ipc-cat of LanceDB's read of $name"
  check "$name: LanceDB read $rows rows" "$rows" "$(($(wc -l <"$TMP/want") - 1))"
  "$BIN" lance-cat "$DB/$name.lance" >"$TMP/got" 2>"$TMP/err"
  check "$name: lance-cat exit" "0 " "$? $(head -c 300 "$TMP/err")"
  check "$name: rows identical to LanceDB's" "$(tail -n +2 "$TMP/want" | sort | md5sum)" "$(tail -n +2 "$TMP/got" | sort | md5sum)"
  "$BIN" lance-cat "$DB/$name.lance" --columns ls,st --rows 3:9 >"$TMP/got" 2>"$TMP/err"
  check "$name: projection + range rows" 7 "$(wc -l <"$TMP/got")"
done
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
