#!/usr/bin/env bash
# gen_vec.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - the IVF_HNSW_SQ
# index we write into a flushed generation (LSM.md sections 6 and 10:
# auxiliary.idx with SQ8 codes over the generation's bounds, index.idx with
# the in-memory HNSW graph remapped to generation positions, the
# one-partition IVF protobuf in a global buffer; Lance file 2.0), searched
# by real LanceDB 0.39 (Lance 12). 10,000 rows of 32-d clustered vectors
# (every 97th null) plus 500 rewrites of earlier ids, so dedup drops graph
# nodes (BINARY_DIR/tests/mw_gen_write: the in-memory mw_hnsw built as a
# MemTable builds it, then the generation writer):
#  (a) on our generation opened as a table: listIndices shows vector_idx as
#      IvfHnswSq with the details Lance's own generation has and indexStats
#      counts every row of the generation (as for Lance's own: the fragment); the exact vector of 50 rows comes back
#      first at distance 0; recall@10 >= 0.9 against brute force for 50
#      queries from the same clusters (LanceDB's default ef); a copy
#      without index.idx fails the search (the index is what answered);
#  (b) `memwal put` into a LanceDB table maintaining id_idx, text_idx and
#      vector_idx: the generation it flushes lists the three indexes as
#      LanceDB's own generation does (BTree, FTS, IvfHnswSq), and LanceDB's
#      LSM vector search returns our exact-match rows first with recall@10
#      >= 0.9 against brute force over base + generation;
#  (c) LanceDB takes the shard over and flushes a generation of its own:
#      its LSM search still returns our rows and its own first, recall@10
#      >= 0.9 over base + both generations.
# Missing node or peers is a failure.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
TOOL=$BDIR/tests/mw_gen_write
[ -x "$TOOL" ] || die "no $TOOL (cmake --build BUILD --target mw_gen_write)"
js_tmp "$HERE"/gen_vec.mjs "$PEERS"/lancedb_lsm.mjs
J=$TMP/js

node "$J/gen_vec.mjs" rows 10000 32 5 "$TMP/r" || die "rows"
out=$("$TOOL" "$TMP/r.arrows" "$TMP/gen" --hnsw vector vector_idx --btree id id_idx 2>&1); rc=$?
check "(a) mw_gen_write exit" 0 $rc
contains "(a) dedup" '"physical_rows":10000' "$out"

node "$J/lancedb_lsm.mjs" indices "$TMP/gen" >"$TMP/idx.json" 2>"$TMP/err" || { cat "$TMP/err"; fail "indices"; }
got=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).indices.find((i) => i.name === "vector_idx");
  console.log(r ? [r.indexType, r.columns.join(","), r.typeUrl, r.indexVersion, JSON.stringify(r.indexDetails), r.stats.numIndexedRows, r.stats.distanceType].join(" ") : "none");
' "$TMP/idx.json")
check "(a) listIndices vector_idx" \
  "IvfHnswSq vector /lance.index.pb.VectorIndexDetails 1 {\"compression\":{\"num_bits\":8,\"type\":\"sq\"},\"hnsw\":{\"construction_ef\":100,\"max_connections\":16,\"max_level\":7},\"metric_type\":\"L2\"} 10000 l2" "$got"

res=$(node "$J/gen_vec.mjs" search "$TMP/gen" "$TMP/r.json" 10 50 2>"$TMP/err") || { cat "$TMP/err"; fail "(a) search"; }
echo "(a) $res"
contains "(a) exact vectors come back first at distance 0" '"exact_first":50,' "$res"
node -e 'process.exit(JSON.parse(process.argv[1]).recall >= 0.9 ? 0 : 1)' "$res" \
  && ok "(a) recall@10 >= 0.9" || fail "(a) recall@10 below 0.9: $res"
mkdir -p "$TMP/noidx"
cp -r "$TMP/gen/." "$TMP/noidx/"
rm -f "$TMP/noidx/_indices/"*/index.idx
if node "$J/gen_vec.mjs" search "$TMP/noidx" "$TMP/r.json" 10 2 >/dev/null 2>&1; then
  fail "(a) control: the search succeeded without index.idx"
else
  ok "(a) control: without index.idx the search fails (LanceDB reads our graph)"
fi

# (b) LanceDB's LSM path: `memwal put` into a table that maintains vector_idx
# (the table writer resolves it to an HNSW index; the flusher serialises
# the MemTable's graph)
node "$J/lancedb_lsm.mjs" create "$TMP/db" t unsharded --dim 32 --base 300 --indexes >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err"; die "create"; }
"$BIN" put "$TMP/db/t.lance" --input "$TMP/r.arrows" --flush-on-close >/dev/null 2>"$TMP/put.err" \
  || { cat "$TMP/put.err"; die "memwal put"; }
check "(b) no index left out" "" "$(grep "not built" "$TMP/put.err")"
G=$(ls -d "$TMP/db/t.lance/_mem_wal/"*/*_gen_* | head -1)
[ -d "$G" ] || die "no generation"
node "$J/lancedb_lsm.mjs" indices "$G" >"$TMP/idx2.json" 2>"$TMP/err" || { cat "$TMP/err"; fail "(b) indices"; }
got=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).indices;
  console.log(r.map((i) => i.name + ":" + i.indexType + ":" + i.stats.numIndexedRows).sort().join(" "));' "$TMP/idx2.json")
check "(b) our flushed generation's indexes (as LanceDB's own: id_idx, text_idx, vector_idx)" \
  "id_idx:BTree:10000 text_idx:FTS:10000 vector_idx:IvfHnswSq:10000" "$got"
res=$(node "$J/gen_vec.mjs" search x "$TMP/r.json" 10 50 --lsm "$TMP/db" t 2>"$TMP/err") || { cat "$TMP/err"; fail "(b) LSM search"; }
echo "(b) $res"
contains "(b) LSM: exact vectors of our rows come back first" '"exact_first":50,' "$res"
node -e 'process.exit(JSON.parse(process.argv[1]).recall >= 0.9 ? 0 : 1)' "$res" \
  && ok "(b) LSM recall@10 >= 0.9" || fail "(b) LSM recall@10 below 0.9: $res"

# (c) LanceDB takes the shard over: it upserts 20 rows of its own (ids
# 20001..) into the same shard (a new writer epoch), flushes its own
# generation, and its LSM vector search still finds our rows and its own
node "$J/gen_vec.mjs" rows 20 32 6 "$TMP/more" 20001 || die "more rows"
node "$J/lancedb_lsm.mjs" upsert "$TMP/db" t "$TMP/more.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "(c) LanceDB upsert"; }
check "(c) LanceDB flushed a second generation" 2 "$(ls -d "$TMP/db/t.lance/_mem_wal/"*/*_gen_* | wc -l)"
res=$(node "$J/gen_vec.mjs" search x "$TMP/r.json" 10 50 --lsm "$TMP/db" t 2>"$TMP/err") || { cat "$TMP/err"; fail "(c) LSM search"; }
echo "(c) ours after takeover: $res"
contains "(c) our exact-match rows still come back first" '"exact_first":50,' "$res"
res=$(node "$J/gen_vec.mjs" search x "$TMP/more.json" 10 10 --lsm "$TMP/db" t 2>"$TMP/err") || { cat "$TMP/err"; fail "(c) LSM search"; }
contains "(c) LanceDB's own rows come back first too" '"exact_first":10,' "$res"
res=$(node "$J/gen_vec.mjs" search x "$TMP/r.json,$TMP/more.json" 10 50 --lsm "$TMP/db" t 2>"$TMP/err") || { cat "$TMP/err"; fail "(c) LSM search"; }
node -e 'process.exit(JSON.parse(process.argv[1]).recall >= 0.9 ? 0 : 1)' "$res" \
  && ok "(c) LSM recall@10 >= 0.9 over base + both generations" || fail "(c) recall below 0.9: $res"
[ "$fails" -eq 0 ] && [ "$fail" -eq 0 ]
