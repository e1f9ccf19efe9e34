#!/usr/bin/env bash
# gen_fts.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - the FTS index we
# write into a flushed generation (LSM.md sections 6, 7 and 10: Lance's
# inverted index format 2, "arrow" token set, block-max bit-packed
# postings and impacts, all Lance file 2.0 with list columns), built from
# the in-memory index (mw_fts) with rows remapped to generation offsets
# after dedup (BINARY_DIR/tests/mw_gen_write), searched by real LanceDB
# 0.39 (Lance 12):
#  (a) 6000 rows + 600 rewrites of earlier ids (null, "" and stop-word-only
#      texts included; frequent words have df > 4096, so > 32 posting
#      blocks and several level-1 impact groups): for every query LanceDB's
#      full-text search over our generation returns the same top-10 ids
#      with the same scores (1e-5) as LanceDB's own FTS index built over
#      the surviving rows in a table; listIndices shows text_idx as FTS
#      and indexStats counts the indexed rows;
#  (b) 400 rows upserted through LanceDB's MemWAL (its own flushed
#      generation, with its own FTS index) and the same rows written by us:
#      the same top-10 ids and scores (1e-5) over both generations;
#  (c) the same 400 rows through `memwal put` into a table maintaining
#      text_idx (the flusher serialises the MemTable's index): the same
#      over that generation, and LanceDB's LSM FTS over base + generation
#      equals its LSM FTS over the table holding LanceDB's generation.
# Missing node or peers is a failure.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
TOOL=$BDIR/tests/mw_gen_write
[ -x "$TOOL" ] || die "no $TOOL (cmake --build BUILD --target mw_gen_write)"
js_tmp "$HERE"/lance_routing_rows.mjs "$HERE"/gen_fts.mjs "$PEERS"/lancedb_lsm.mjs
J=$TMP/js

cat >"$TMP/q.json" <<'EOF'
["river", "stone lantern", "zephyr", "running fox", "café", "cedar harbor", "the", "nosuchword",
 "naive cafe", "river river stone", "copper falcon willow ember", "yarrow"]
EOF

# compare OURS LANCE -> "ok N" or the first difference
compare() {
  node -e '
    const fs = require("fs");
    const rd = (f) => fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const a = rd(process.argv[1]), b = rd(process.argv[2]);
    if (a.length !== b.length) { console.log("query count " + a.length + " vs " + b.length); process.exit(1); }
    let n = 0;
    for (let i = 0; i < a.length; i++) {
      const x = a[i].rows, y = b[i].rows;
      if (x.length !== y.length) { console.log(a[i].q + ": " + x.length + " vs " + y.length + " hits"); process.exit(1); }
      const top = Math.min(10, x.length);
      // scores of the top 10 agree in order; ids agree except among ties at the cut
      for (let j = 0; j < top; j++)
        if (Math.abs(x[j][1] - y[j][1]) > 1e-5) { console.log(a[i].q + ": score " + j + " " + x[j] + " vs " + y[j]); process.exit(1); }
      const cut = x.length > top ? x[top][1] : -Infinity;
      const ids = (r) => r.slice(0, top).filter((h) => h[1] > cut + 1e-5).map((h) => h[0]).sort().join(",");
      if (ids(x) !== ids(y)) { console.log(a[i].q + ": ids " + ids(x) + " vs " + ids(y)); process.exit(1); }
      n += top;
    }
    console.log("ok " + n);
  ' "$1" "$2"
}

# (a) 6000 rows + 600 rewrites vs LanceDB's own index over the survivors
node "$J/gen_fts.mjs" rows 6000 7 "$TMP/big" --dups || die "rows"
node "$J/lance_routing_rows.mjs" "$TMP/big.arrows" "$TMP/big.json" || die "arrows"
out=$("$TOOL" "$TMP/big.arrows" "$TMP/gen_big" --fts text text_idx --btree id id_idx 2>&1); rc=$?
check "(a) mw_gen_write exit" 0 $rc
contains "(a) dedup" '"physical_rows":6000' "$out"
node "$J/gen_fts.mjs" base "$TMP/db" oracle "$TMP/big.dedup.json" 2>"$TMP/err" || { cat "$TMP/err"; die "oracle table"; }
node "$J/gen_fts.mjs" search "$TMP/db" oracle "$TMP/q.json" 20 >"$TMP/a_lance.jsonl" 2>"$TMP/err" || { cat "$TMP/err"; fail "oracle search"; }
node "$J/gen_fts.mjs" searchdir "$TMP/gen_big" "$TMP/q.json" 20 >"$TMP/a_ours.jsonl" 2>"$TMP/err" || { cat "$TMP/err"; fail "search over our generation"; }
r=$(compare "$TMP/a_ours.jsonl" "$TMP/a_lance.jsonl")
contains "(a) top-10 ids and scores = LanceDB's own index ($r)" "ok" "$r"
river_df=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(r.filter(([, t]) => t && t.toLowerCase().split(/[^a-z]+/).includes("river")).length);' "$TMP/big.dedup.json")
[ "$river_df" -gt 4096 ] && ok "(a) 'river' in $river_df docs: > 32 posting blocks" \
  || fail "(a) 'river' in only $river_df docs: the corpus no longer exercises level-1 impact groups"
node "$J/lancedb_lsm.mjs" indices "$TMP/gen_big" >"$TMP/idx.json" 2>"$TMP/err" || { cat "$TMP/err"; fail "indices"; }
got=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).indices.find((i) => i.name === "text_idx");
  console.log(r ? [r.indexType, r.columns.join(","), r.typeUrl, r.indexVersion, r.stats.numIndexedRows].join(" ") : "none");
' "$TMP/idx.json")
want_docs=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(r.length);' "$TMP/big.dedup.json")
check "(a) listIndices text_idx" "FTS text /lance.table.InvertedIndexDetails 2 $want_docs" "$got"

# (b) LanceDB's own flushed generation of 400 rows vs ours
node "$J/gen_fts.mjs" rows 400 11 "$TMP/small" || die "rows small"
node "$J/lance_routing_rows.mjs" "$TMP/small.arrows" "$TMP/small.json" || die "arrows small"
node "$J/lancedb_lsm.mjs" create "$TMP/db" l unsharded --base 300 --indexes >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create l"; }
node "$J/lancedb_lsm.mjs" upsert "$TMP/db" l "$TMP/small.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "upsert l"; }
GL=$(ls -d "$TMP/db/l.lance/_mem_wal/"*/*_gen_* | head -1)
[ -d "$GL/_indices" ] || die "LanceDB flushed no indexed generation"
"$TOOL" "$TMP/small.arrows" "$TMP/gen_small" --fts text text_idx >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "mw_gen_write small"; }
node "$J/gen_fts.mjs" searchdir "$GL" "$TMP/q.json" 20 >"$TMP/b_lance.jsonl" 2>"$TMP/err" || { cat "$TMP/err"; fail "search LanceDB generation"; }
node "$J/gen_fts.mjs" searchdir "$TMP/gen_small" "$TMP/q.json" 20 >"$TMP/b_ours.jsonl" 2>"$TMP/err" || { cat "$TMP/err"; fail "search our generation"; }
r=$(compare "$TMP/b_ours.jsonl" "$TMP/b_lance.jsonl")
contains "(b) top-10 ids and scores = LanceDB's generation ($r)" "ok" "$r"

# (c) the same rows through `memwal put` (the flusher serialises the
# MemTable's FTS index): LanceDB's search over that generation, and its
# LSM search of the table, agree with LanceDB's own generation
node "$J/lancedb_lsm.mjs" create "$TMP/db" m unsharded --base 300 --indexes >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create m"; }
"$BIN" put "$TMP/db/m.lance" --input "$TMP/small.arrows" --flush-on-close >/dev/null 2>"$TMP/put.err" \
  || { cat "$TMP/put.err"; die "memwal put"; }
GM=$(ls -d "$TMP/db/m.lance/_mem_wal/"*/*_gen_* | head -1)
node "$J/gen_fts.mjs" searchdir "$GM" "$TMP/q.json" 20 >"$TMP/c_ours.jsonl" 2>"$TMP/err" || { cat "$TMP/err"; fail "search our flushed generation"; }
r=$(compare "$TMP/c_ours.jsonl" "$TMP/b_lance.jsonl")
contains "(c) memwal put: top-10 ids and scores = LanceDB's generation ($r)" "ok" "$r"
lsm_fts() { # TABLE -> jsonl of LanceDB's LSM FTS (base + generation)
  node -e '
    const q = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const x of q) console.log(x);' "$TMP/q.json" | while read -r q; do
    node "$J/lancedb_lsm.mjs" fts "$TMP/db" "$1" "$q" --column text -k 20 2>/dev/null \
      | node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")).rows;
                 console.log(JSON.stringify({ q: process.argv[1], rows: r.map((x) => [String(x.id), x._score]) }));' "$q"
  done
}
lsm_fts m >"$TMP/c_lsm_ours.jsonl"
lsm_fts l >"$TMP/c_lsm_lance.jsonl"
r=$(compare "$TMP/c_lsm_ours.jsonl" "$TMP/c_lsm_lance.jsonl")
contains "(c) LSM FTS over base + our generation = over base + LanceDB's ($r)" "ok" "$r"
# (d) `memwal query` on a table picks up its maintained indexes: the same
# rows put without a flush are found by a full-text query over the shard's
# unflushed WAL with no --index given (a column without a maintained FTS
# index is refused: the control)
node "$J/lancedb_lsm.mjs" create "$TMP/db" n unsharded --base 300 --indexes >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create n"; }
"$BIN" put "$TMP/db/n.lance" --input "$TMP/small.arrows" >/dev/null 2>"$TMP/put.err" || { cat "$TMP/put.err"; die "memwal put n"; }
SN=$(ls "$TMP/db/n.lance/_mem_wal/" | head -1)
Q1=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0])' "$TMP/q.json")
out=$("$BIN" query "$TMP/db/n.lance" --shard "$SN" --fts "$Q1" --fts-column text -k 5 --columns id 2>"$TMP/q.err"); rc=$?
check "(d) memwal query with the table's maintained FTS index: exit" 0 $rc
contains "(d) memwal query: a _score column" '"_score": ' "$out"
err=$("$BIN" query "$TMP/db/n.lance" --shard "$SN" --fts "$Q1" --fts-column id 2>&1 >/dev/null); rc=$?
check "(d) control: a column without a maintained FTS index is refused" 2 $rc
contains "(d) control message" "no full-text" "$err"
[ "$fails" -eq 0 ] && [ "$fail" -eq 0 ]
