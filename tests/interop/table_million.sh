#!/usr/bin/env bash
# table_million.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - a 1,000,000-
# row sharded ingest read back by real LanceDB 0.39 (issue 10 item 7):
# LanceDB creates a bucket(id, 16) table (8-float vectors, to keep the run
# short); `memwal put` without --shard ingests 1M generated rows in
# 10,000-row batches and flushes; then 10,000 of the keys get new text in a
# second put; LanceDB's LSM read must return every key exactly once with its
# newest value.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_routing_rows.mjs
LSM=$PEERS/lancedb_lsm.mjs
node "$LSM" create "$TMP/db" t bucket:id:16 --dim 8 >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create"; }
"$BIN" gen "$TMP/rows.arrows" --rows 1000000 --dim 8 --batch-rows 10000 || die "gen"
out=$("$BIN" put "$TMP/db/t.lance" --input "$TMP/rows.arrows" --flush-on-close 2>"$TMP/err"); rc=$?
check "1M put exit" 0 $rc
[ $rc = 0 ] || cat "$TMP/err"
contains "1M rows" '"rows":1000000' "$out"
check "16 shards" 16 "$(echo "$out" | grep -o '"shard":' | wc -l)"
node -e '
  const k = []; for (let i = 0; i < 1000000; i += 100) k.push([String(i), "updated" + i]);
  require("fs").writeFileSync(process.argv[1], JSON.stringify(k));' "$TMP/upd.json"
node "$TMP/js/lance_routing_rows.mjs" "$TMP/upd.arrows" "$TMP/upd.json" || die "rows upd"
"$BIN" put "$TMP/db/t.lance" --input "$TMP/upd.arrows" --flush-on-close >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "update put"; }
node "$LSM" read "$TMP/db" t --columns id,text >"$TMP/read.json" 2>"$TMP/err" || { cat "$TMP/err"; die "read"; }
res=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
  const seen = new Map(); let dup = 0, bad = 0;
  for (const x of r) { const id = Number(x.id); if (seen.has(id)) dup++; seen.set(id, x.text); }
  for (let i = 0; i < 1000000; i++) {
    const t = seen.get(i);
    if (i % 100 === 0 ? t !== "updated" + i : !(typeof t === "string" && t.startsWith("row "))) bad++;
  }
  console.log(r.length, seen.size, dup, bad);' "$TMP/read.json")
check "LanceDB reads 1M keys once, newest values" "1000000 1000000 0 0" "$res"
[ "$fails" -eq 0 ] && [ "$fail" -eq 0 ]
