#!/usr/bin/env bash
# fts_bm25.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - memwal's FTS index
# (src/index/fts.c) scores like Lance 12: LanceDB 0.39 creates a table of
# 256 rows with an FTS index (peers/lancedb_lsm.mjs create --indexes; texts
# "base <w> <w>"), then answers match queries through its own index
# (`fts ... --no-lsm -k 300`: every match); the same texts, read back from
# LanceDB, go into an mw_fts index (BINARY_DIR/tests/mw_fts_tokenize
# --bm25). Both must return the same rows with the same BM25 scores (to
# float precision), best first, for queries of one token, several tokens,
# a token in every row (low idf), stems and case ("Cedars"), repeated
# tokens, stop words and a token no row has. Then a second table
# (fts_table.mjs) whose texts include "", only stop words, only punctuation
# and null: those rows are not documents for BM25 (N and avgdl leave them
# out), which the same comparison checks.
# Missing node or peers is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"

need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/
TOOL=$BDIR/tests/mw_fts_tokenize
[ -x "$TOOL" ] || die "no $TOOL (cmake --build BUILD --target mw_fts_tokenize)"
js_tmp "$HERE/fts_table.mjs"
LSM=$PEERS/lancedb_lsm.mjs

node "$LSM" create "$TMP/db" t unsharded --dim 8 --base 256 --indexes >"$TMP/create.log" 2>&1 \
  || { cat "$TMP/create.log" >&2; die "LanceDB create"; }
node "$LSM" read "$TMP/db" t --no-lsm --columns id,text >"$TMP/rows.json" 2>"$TMP/read.err" \
  || { cat "$TMP/read.err" >&2; die "LanceDB read"; }
# one text per line, line i = the row with id 1e9 + i
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
  const t = []; for (const x of r) t[Number(BigInt(x.id) - 1000000000n)] = x.text;
  if (t.length !== 256 || t.some((x) => typeof x !== "string")) process.exit(1);
  process.stdout.write(t.join("\n") + "\n");' "$TMP/rows.json" >"$TMP/docs.txt" || die "texts"

# compare LANCE_JSON OURS_JSONL -> prints a summary; exit 1 on a difference
compare() {
  node -e '
    const fs = require("fs");
    const lance = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).rows
      .map((r) => ({ row: Number(BigInt(r.id) - 1000000000n), score: r._score }));
    const ours = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    // best first; Lance orders ties arbitrarily, we by row: compare in (score desc, row) order
    const f32 = (x) => Math.fround(x);
    lance.sort((a, b) => f32(b.score) - f32(a.score) || a.row - b.row);
    for (let i = 1; i < ours.length; i++)
      if (ours[i].score > ours[i - 1].score) { console.log("ours not best first at " + i); process.exit(1); }
    if (lance.length !== ours.length) { console.log(`lance ${lance.length} rows, ours ${ours.length}`); process.exit(1); }
    for (let i = 0; i < ours.length; i++) {
      const a = lance[i], b = ours[i];
      if (a.row !== b.row || Math.abs(a.score - b.score) > 1e-6 * Math.max(1, Math.abs(a.score))) {
        console.log(`#${i}: lance row ${a.row} score ${a.score}, ours row ${b.row} score ${b.score}`); process.exit(1);
      }
    }
    console.log(`${ours.length} rows` + (ours.length ? `, top score ${ours[0].score}` : ""));
  ' "$1" "$2"
}

q=0
for query in "amber" "amber cedar" "base" "grove heath elm" "Cedars, GROVES!" "fern fern fern" \
             "the basil of dune" "zebra" "base amber basil cedar dune elm fern grove heath"; do
  q=$((q + 1))
  node "$LSM" fts "$TMP/db" t "$query" --column text -k 300 --no-lsm >"$TMP/lance$q.json" 2>"$TMP/fts.err" \
    || { cat "$TMP/fts.err" >&2; fail "LanceDB fts '$query'"; continue; }
  "$TOOL" --bm25 "$query" 300 <"$TMP/docs.txt" >"$TMP/ours$q.jsonl" || { fail "ours '$query'"; continue; }
  if out=$(compare "$TMP/lance$q.json" "$TMP/ours$q.jsonl"); then ok "'$query': $out"; else fail "'$query': $out"; fi
done

# texts without tokens: a null row is fed to us as an empty line (neither is
# a document)
texts='["apple pie", "", "banana split apple", "the of and", null, "cherry tart", "apple apple apple", "!!! ...", "date cake", "Apple"]'
queries=("apple" "apple cherry" "the" "date tart pie")
node "$TMP/js/fts_table.mjs" "$TMP/db2" "$texts" "${queries[@]}" >"$TMP/lance_e.jsonl" 2>"$TMP/fts.err" \
  || { cat "$TMP/fts.err" >&2; die "LanceDB fts_table.mjs"; }
node -e 'for (const t of JSON.parse(process.argv[1])) console.log(t === null ? "" : t)' "$texts" >"$TMP/docs_e.txt"
i=0
for query in "${queries[@]}"; do
  i=$((i + 1))
  sed -n "${i}p" "$TMP/lance_e.jsonl" >"$TMP/lance_e$i.json"
  "$TOOL" --bm25 "$query" 300 <"$TMP/docs_e.txt" >"$TMP/ours_e$i.jsonl" || { fail "ours '$query' (empty texts)"; continue; }
  if out=$(compare "$TMP/lance_e$i.json" "$TMP/ours_e$i.jsonl"); then ok "'$query', table with empty/null/stop-word texts: $out"
  else fail "'$query', table with empty/null/stop-word texts: $out"; fi
done
[ "$fails" -eq 0 ]
