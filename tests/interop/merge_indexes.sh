#!/usr/bin/env bash
# merge_indexes.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - `memwal
# merge` on a LanceDB 0.39 table with indexes (IVF_PQ vector_idx, FTS
# text_idx, BTree id_idx, all maintained by its MemWAL spec): our
# generations (overwrites of base keys, new keys, tombstones) merged into
# the base leave LanceDB's LSM read, its base-only read and its BTree
# lookups right; LanceDB's optimize() then indexes the merged fragments and
# records index_catchup for our generations (Lance's own bookkeeping
# accepting our commit), after which its LSM vector search finds the
# merged rows (nearest first, no key twice). A last generation overwriting
# every key removes fragments the indexes still name: reads, BTree lookups,
# vector search and optimize() stay right. Missing node or peers is a
# failure.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_routing_rows.mjs "$HERE"/tomb_rows.mjs "$HERE"/merge_ops.mjs
LSM=$PEERS/lancedb_lsm.mjs
DB=$TMP/db
T=$DB/t.lance
B=1000000000

node "$LSM" create "$DB" t bucket:id:2 --base 300 --indexes >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create"; }
# rows: base keys 0..19 overwritten, new keys 1..10; then tombstones of base key 20 and new key 2
node -e '
  const k = []; for (let i = 0; i < 20; i++) k.push([String(1000000000 + i), "g" + i]);
  for (let i = 1; i <= 10; i++) k.push([String(i), "new" + i]);
  require("fs").writeFileSync(process.argv[1], JSON.stringify(k));
' "$TMP/g1.json" || die "rows"
node "$TMP/js/lance_routing_rows.mjs" "$TMP/g1.arrows" "$TMP/g1.json" || die "arrows"
"$BIN" put "$T" --input "$TMP/g1.arrows" --flush-on-close >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "put"; }
node "$TMP/js/tomb_rows.mjs" "$TMP/del.arrows" "$((B + 20)),2" --keys || die "keys"
"$BIN" delete "$T" --input "$TMP/del.arrows" --flush-on-close >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "delete"; }

"$BIN" merge >/dev/null 2>&1; check "merge without URI: usage" 2 $?
"$BIN" merge "$T" --up-to zero >/dev/null 2>&1; check "merge --up-to zero: usage" 2 $?
"$BIN" merge "$T" --shard not-a-uuid >/dev/null 2>&1; check "merge --shard not-a-uuid fails" 1 $?
# one shard, its first generation only (bucket 0 = 4a388480-..., LSM.md section 2)
S0=4a388480-a25b-59a8-b058-24217f980256
out=$("$BIN" merge "$T" --shard $S0 --up-to 1 2>"$TMP/err"); rc=$?
check "merge --shard --up-to exit" 0 $rc
contains "merged that one generation" "\"generations_merged\":1,\"generations_skipped\":0" "$out"
contains "of that shard" "\"shard\":\"$S0\",\"generation\":1," "$out"
contains "progress on stderr" "generation 1 -> table version" "$(cat "$TMP/err")"
out=$("$BIN" merge "$T" 2>"$TMP/err"); rc=$?
check "merge exit" 0 $rc
[ $rc = 0 ] || cat "$TMP/err" >&2
# the two tombstones route to one shard: 3 generations in all, 2 left
contains "merged the other 2 generations" '"generations_merged":2' "$out"

# summary of a read: rows, distinct ids, rows with our values, and the three probes
summary() { # ARGS for lancedb_lsm read
  node "$LSM" read "$DB" t --columns id,text "$@" >"$TMP/read.json" 2>"$TMP/read.err" \
    || { cat "$TMP/read.err" >&2; echo "read failed"; return; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
    const m = new Map(r.map((x) => [String(x.id), x.text]));
    console.log(r.length, m.size, r.filter((x) => /^(g|new)/.test(x.text)).length,
      m.get("1000000005"), m.get("1000000020") ?? "gone", m.get("2") ?? "gone", m.get("3"));
  ' "$TMP/read.json"
}
want="308 308 29 g5 gone gone new3"
check "LSM read after merge" "$want" "$(summary)"
check "base-only read after merge" "$want" "$(summary --no-lsm)"
lookup() { node "$LSM" read "$DB" t --no-lsm --filter "id = $1" --columns id,text 2>/dev/null | tr -d '\n'; }
check "BTree lookup of an overwritten base key" '{"rows":[{"id":"1000000007","text":"g7"}]}' "$(lookup $((B + 7)))"
check "BTree lookup of a deleted base key" '{"rows":[]}' "$(lookup $((B + 20)))"

opt=$(node "$TMP/js/merge_ops.mjs" "$DB" t optimize 2>"$TMP/err") || cat "$TMP/err" >&2
contains "LanceDB optimize" '"optimized":true' "$opt"
check "LSM read after optimize" "$want" "$(summary)"
check "base-only read after optimize" "$want" "$(summary --no-lsm)"
desc=$("$BIN" describe "$T" 2>/dev/null)
contains "Lance recorded index_catchup" '"index_catchup":[{' "$desc"
# row 0 of g1 (id 1000000000) has the vector [0, 1/7, ..., 6/7, 0]
node "$LSM" search "$DB" t --vector '[0,0.142857,0.285714,0.428571,0.571429,0.714286,0.857143,0]' -k 10 \
  >"$TMP/s.json" 2>"$TMP/err" || { cat "$TMP/err" >&2; }
res=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
  const ids = r.map((x) => String(x.id));
  console.log(r.length, new Set(ids).size, ids.includes("1000000000") ? "found" : "missing");
' "$TMP/s.json")
check "LSM vector search finds a merged row, no key twice" "10 10 found" "$res"

# every key overwritten once more: the fragments the indexes cover lose all
# their rows and are removed, while the index sections still name them
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
  require("fs").writeFileSync(process.argv[2], JSON.stringify(r.map((x) => [String(x.id), "z" + x.id])));
' "$TMP/read.json" "$TMP/all.json" || die "all keys"
node "$TMP/js/lance_routing_rows.mjs" "$TMP/all.arrows" "$TMP/all.json" || die "arrows"
"$BIN" put "$T" --input "$TMP/all.arrows" --flush-on-close >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "put all"; }
out=$("$BIN" merge "$T" 2>"$TMP/err") || cat "$TMP/err" >&2
echo "$out" | grep -q '"fragments_removed":[1-9]' && ok "indexed fragments removed" || { echo "FAIL indexed fragments removed: $out" >&2; fail=1; }
zsum() {
  node "$LSM" read "$DB" t --columns id,text "$@" >"$TMP/z.json" 2>"$TMP/err" || { cat "$TMP/err" >&2; echo "read failed"; return; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
    console.log(r.length, new Set(r.map((x) => String(x.id))).size, r.filter((x) => x.text === "z" + x.id).length);
  ' "$TMP/z.json"
}
check "LSM read: every key once, newest" "308 308 308" "$(zsum)"
check "base-only read: every key once, newest" "308 308 308" "$(zsum --no-lsm)"
check "BTree lookup after the indexed fragment went" '{"rows":[{"id":"1000000007","text":"z1000000007"}]}' "$(lookup $((B + 7)))"
node "$LSM" search "$DB" t --vector '[0,0.142857,0.285714,0.428571,0.571429,0.714286,0.857143,0]' -k 10 --no-lsm \
  >"$TMP/s.json" 2>"$TMP/err" || { cat "$TMP/err" >&2; }
res=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
  console.log(r.length, new Set(r.map((x) => String(x.id))).size, r.every((x) => x.text === "z" + x.id));
' "$TMP/s.json")
check "vector search: no row of a removed fragment" "10 10 true" "$res"
opt=$(node "$TMP/js/merge_ops.mjs" "$DB" t optimize 2>"$TMP/err") || cat "$TMP/err" >&2
contains "LanceDB optimize after the removal" '"optimized":true' "$opt"
check "LSM read after that optimize" "308 308 308" "$(zsum)"
exit $fail
