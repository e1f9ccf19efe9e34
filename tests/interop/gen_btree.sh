#!/usr/bin/env bash
# gen_btree.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - BTree indexes in
# the generations we flush, read by real LanceDB 0.39.0 (Lance 12; LSM.md
# sections 5, 6 and 10). LanceDB creates a table whose MemWAL maintains
# its id_idx BTree, text_idx FTS and vector_idx; `memwal put
# --flush-on-close` writes 9050 rows (ids
# 1..9000, then ids 1..50 again with new text, deduplicated inside the
# generation, so generation offsets differ from input rows; the index
# spans 3 pages of 4096). Then, on our generation opened as a table:
# listIndices shows the same indexes (names, types, columns, type URLs,
# versions) as the generation LanceDB flushes for the same table,
# indexStats counts every row of id_idx; filters return
# the right rows with ScalarIndexQuery id_idx(BTree) in the plan, across a
# page boundary and for rewritten keys; a copy without _indices/ fails the
# same read (so the index files are what answered). LanceDB's LSM read of
# the whole table with the filter agrees. Last, a maintained index of a
# kind we do not build (Bitmap) is named in a warning and the generation is
# still flushed. Missing node or peers is a failure.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_routing_rows.mjs "$HERE"/gen_bitmap_table.mjs "$PEERS"/lancedb_lsm.mjs
LSM=$TMP/js/lancedb_lsm.mjs

node -e '
  const k = []; for (let i = 1; i <= 9000; i++) k.push([String(i), "t" + i]);
  for (let i = 1; i <= 50; i++) k.push([String(i), "new" + i]);
  require("fs").writeFileSync(process.argv[1], JSON.stringify(k));
  const l = []; for (let i = 1; i <= 120; i++) l.push([String(i), "t" + i]);
  require("fs").writeFileSync(process.argv[2], JSON.stringify(l));
' "$TMP/rows.json" "$TMP/small.json" || die "keys"
for f in rows small; do
  node "$TMP/js/lance_routing_rows.mjs" "$TMP/$f.arrows" "$TMP/$f.json" || die "rows $f"
done

node "$LSM" create "$TMP/db" m unsharded --base 300 --indexes >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create m"; }
node "$LSM" create "$TMP/db" l unsharded --base 300 --indexes >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create l"; }

out=$("$BIN" put "$TMP/db/m.lance" --input "$TMP/rows.arrows" --flush-on-close 2>"$TMP/put.err"); rc=$?
check "put exit" 0 $rc
[ $rc = 0 ] || cat "$TMP/put.err"
contains "put rows" '"rows":9050' "$out"
check "every maintained index is built (no warning)" "" "$(grep "warning" "$TMP/put.err")"

node "$LSM" upsert "$TMP/db" l "$TMP/small.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "LanceDB upsert"; }

gen_of() { ls -d "$TMP/db/$1.lance/_mem_wal/"*/*_gen_* 2>/dev/null | head -1; }
G=$(gen_of m)
GL=$(gen_of l)
[ -n "$G" ] || die "no generation of ours"
[ -n "$GL" ] || die "no generation of LanceDB's"

# listIndices / indexStats: "name type columns url version" of every entry
# (+ indexed rows with ROWS=1)
idx_list() {
  node "$LSM" indices "$1" >"$TMP/idx.json" 2>"$TMP/err" || { cat "$TMP/err" >&2; echo "indices failed"; return; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).indices;
    console.log(r.map((i) => [i.name, i.indexType, i.columns.join(","), i.typeUrl, i.indexVersion,
      ...(process.argv[2] ? [i.stats.numIndexedRows] : [])].join(" ")).sort().join("\n"));
  ' "$TMP/idx.json" "${2:-}"
}
check "our generation's BTree index" "id_idx BTree id /lance.table.BTreeIndexDetails 0 9000" \
  "$(idx_list "$G" 1 | grep '^id_idx')"
check "our generation lists the indexes LanceDB's generation lists (name, type, column, url, version)" \
  "$(idx_list "$GL")" "$(idx_list "$G")"

# our generation opened as a table (LSM.md section 9)
mkdir -p "$TMP/gdb" "$TMP/gdb0"
ln -s "$G" "$TMP/gdb/g.lance"
rows_of() { # DB NAME FILTER [--no-lsm] -> sorted "id:text"
  node "$LSM" read "$1" "$2" --filter "$3" --columns id,text ${4:-} >"$TMP/read.json" 2>"$TMP/read.err" \
    || { echo "read failed: $(head -c 300 "$TMP/read.err")"; return; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
    console.log(r.map((x) => x.id + ":" + x.text).sort().join("\n"));
  ' "$TMP/read.json"
}
expect() { # FROM TO (inclusive) -> sorted "id:text" of our rows
  node -e '
    const [a, b] = process.argv.slice(1).map(Number); const o = [];
    for (let i = a; i <= b; i++) o.push(i + ":" + (i <= 50 ? "new" : "t") + i);
    console.log(o.sort().join("\n"));
  ' "$1" "$2"
}
plan=$(node "$LSM" explain "$TMP/gdb" g --filter "id >= 4090 AND id <= 4100" 2>&1)
contains "plan uses our BTree" "ScalarIndexQuery" "$plan"
contains "plan names id_idx(BTree)" "id_idx(BTree)" "$plan"
check "range across pages 0/1" "$(expect 4090 4100)" "$(rows_of "$TMP/gdb" g "id >= 4090 AND id <= 4100")"
check "range in the last page" "$(expect 8990 9000)" "$(rows_of "$TMP/gdb" g "id >= 8990")"
check "rewritten keys (dedup moved them)" "$(expect 1 60)" "$(rows_of "$TMP/gdb" g "id < 61")"
check "equality" "$(expect 7777 7777)" "$(rows_of "$TMP/gdb" g "id = 7777")"
check "absent key" "" "$(rows_of "$TMP/gdb" g "id = 9001")"

# control: without the index files the same read fails (LanceDB really reads them)
cp -r "$G/." "$TMP/gdb0/g.lance"
rm -rf "$TMP/gdb0/g.lance/_indices"
r=$(rows_of "$TMP/gdb0" g "id = 7777")
contains "control: missing index files fail the read" "read failed" "$r"

# the table through LanceDB's LSM path (base rows have ids >= 1e9)
check "LSM read with the filter" "$(expect 4090 4100)" "$(rows_of "$TMP/db" m "id >= 4090 AND id <= 4100")"

# A maintained index of a kind we do not build (a Bitmap index, installed
# with memwal set-spec: LanceDB itself refuses it): a warning names it, the
# generation is still flushed with the others, and LanceDB reads our rows.
node "$TMP/js/gen_bitmap_table.mjs" "$TMP/db" bm "$TMP/bm.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "bitmap table"; }
"$BIN" set-spec "$TMP/db/bm.lance" --spec unsharded --maintain id_idx,text_idx >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "set-spec"; }
"$BIN" put "$TMP/db/bm.lance" --input "$TMP/bm.arrows" --flush-on-close >/dev/null 2>"$TMP/put.err"; rc=$?
check "bitmap table: put exit" 0 $rc
contains "bitmap table: the warning names the index and its type" \
  "maintained index 'text_idx' (/lance.table.BitmapIndexDetails on text) is not built" "$(cat "$TMP/put.err")"
GB=$(ls -d "$TMP/db/bm.lance/_mem_wal/"*/*_gen_* 2>/dev/null | head -1)
check "bitmap table: the generation carries id_idx only" "id_idx BTree id /lance.table.BTreeIndexDetails 0" \
  "$(idx_list "$GB")"
check "bitmap table: LanceDB reads our rows" "7:n7" "$(rows_of "$TMP/db" bm "id = 7")"
[ "$fails" -eq 0 ] && [ "$fail" -eq 0 ]
