#!/usr/bin/env bash
# gc_lancedb.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - `memwal gc`
# against real LanceDB 0.39 (Lance core 12). A LanceDB table (bucket(id, 2),
# 300 base rows, IVF_PQ vector_idx, FTS text_idx, BTree id_idx, all
# maintained by its MemWAL spec) gets two generations per shard from
# `memwal put --flush-on-close`; after `memwal merge` gc removes nothing
# (the indexes have not caught up, the version before the merge still
# exists); after LanceDB's optimize() (index catch-up) it still removes
# nothing (older versions read the generations); after LanceDB's cleanup
# of old versions `gc --dry-run` names the 4 folders and removes nothing,
# and `gc` removes them (and the WAL entries no writer can append at any
# more). LanceDB's LSM read and base-only read then show every key once
# with its newest value (the sstables list still names the deleted
# generations: LanceDB skips them), its vector and full-text searches find
# merged rows, and memwal keeps writing and flushing into the same shards
# (LanceDB reads the new generations). A loop of (put, flush, merge,
# optimize + cleanup, gc) three times leaves no generation folder holding
# files and no WAL entry but each shard's newest holding data (each writer
# session leaves one small entry: src/table/gc.c says why). Missing node or
# peers is a failure.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_routing_rows.mjs "$HERE"/merge_ops.mjs
LSM=$PEERS/lancedb_lsm.mjs
DB=$TMP/db
T=$DB/t.lance
B=1000000000

node "$LSM" create "$DB" t bucket:id:2 --base 300 --indexes >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create"; }
# put ROUND: base keys 0..19 and new keys 1..10 get text "ROUND-<id>", flushed
put() {
  node -e '
    const r = process.argv[2], k = [];
    for (let i = 0; i < 20; i++) k.push([String(1000000000 + i), r + "-" + (1000000000 + i)]);
    for (let i = 1; i <= 10; i++) k.push([String(i), r + "-" + i]);
    require("fs").writeFileSync(process.argv[1], JSON.stringify(k));
  ' "$TMP/$1.json" "$1" || die "rows $1"
  node "$TMP/js/lance_routing_rows.mjs" "$TMP/$1.arrows" "$TMP/$1.json" || die "arrows $1"
  "$BIN" put "$T" --input "$TMP/$1.arrows" --flush-on-close >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "put $1"; }
}
# generation folders that still hold files; WAL entries of the fullest shard
gen_folders() { find "$T/_mem_wal" -path '*_gen_*' -type f | sed 's|\(_gen_[0-9]*\)/.*|\1|' | sort -u | wc -l; }
# WAL entries other than each shard's newest that still hold batches
wal_big() {
  local d f p s
  for d in "$T"/_mem_wal/*/wal; do
    s=$(basename "$(dirname "$d")")
    ls "$d" | rev | sort | rev | head -n -1 | while read -r f; do
      p=$((2#$(echo "${f%%.*}" | rev)))
      "$BIN" tail "$T" --shard "$s" --from $p --to $p 2>/dev/null | grep -q '"batches": 0,' || echo "$s $p"
    done
  done | wc -l
}
wal_count() { find "$T/_mem_wal" -path '*/wal/*' -type f | wc -l; }
optimize() { node "$TMP/js/merge_ops.mjs" "$DB" t optimize >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; echo "optimize failed"; }; }
# cleanup runs inside an optimize, so the versions its own commits make are
# removed by the second one
cleanup() {
  local i
  for i in 1 2; do node "$TMP/js/merge_ops.mjs" "$DB" t cleanup >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; echo "cleanup failed"; }; done
}
# views ROUND: "LSM-rows LSM-distinct base-rows base-distinct rows-of-ROUND(LSM) rows-of-ROUND(base)"
views() {
  node "$TMP/js/merge_ops.mjs" "$DB" t views >"$TMP/views.json" 2>"$TMP/err" || { cat "$TMP/err" >&2; echo "views failed"; return; }
  node -e '
    const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")), r = process.argv[2];
    const d = (a) => new Set(a.map((s) => s.split(":")[0])).size;
    const n = (a) => a.filter((s) => { const [id, t] = s.split(":"); return t === r + "-" + id; }).length;
    console.log(v.lsm.length, d(v.lsm), v.base.length, d(v.base), n(v.lsm), n(v.base));
  ' "$TMP/views.json" "$1"
}

put r1
put r2
wal0=$(wal_count)
check "4 generation folders (2 per shard)" 4 "$(gen_folders)"
"$BIN" gc >/dev/null 2>&1; check "gc without URI: usage" 2 $?
"$BIN" gc "$T" --shard not-a-uuid >/dev/null 2>&1; check "gc --shard not-a-uuid fails" 1 $?

out=$("$BIN" gc "$T" 2>"$TMP/gc.err"); rc=$?
check "gc before merge exit" 0 $rc
contains "nothing removed before merge" '"generations_removed":0' "$out"
contains "kept: not merged" "not merged (watermark 0)" "$(cat "$TMP/gc.err")"

"$BIN" merge "$T" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "merge"; }
out=$("$BIN" gc "$T" 2>"$TMP/gc.err")
contains "merged, indexes not caught up: nothing removed" '"generations_removed":0' "$out"
contains "kept: an index has not caught up" "has not caught up (watermark 0)" "$(cat "$TMP/gc.err")"
check "still 4 generation folders" 4 "$(gen_folders)"

check "optimize" "" "$(optimize)"
out=$("$BIN" gc "$T" 2>"$TMP/gc.err")
contains "caught up but old versions retained: nothing removed" '"generations_removed":0' "$out"
contains "kept: a retained base version reads it" "still reads it" "$(cat "$TMP/gc.err")"
check "still 4 generation folders after optimize" 4 "$(gen_folders)"
want="310 310 310 310 30 30"
check "reads before gc" "$want" "$(views r2)"

check "cleanup of old versions" "" "$(cleanup)"
out=$("$BIN" gc "$T" --dry-run 2>"$TMP/gc.err")
contains "dry run names the 4 folders" '"dry_run":true,"table_version":' "$out"
contains "dry run: 4 would go" '"generations_removed":4' "$out"
check "dry run: 4 'would remove' lines for generations" 4 "$(grep -c '^would remove .*_gen_[0-9]*: merged' "$TMP/gc.err")"
check "dry run removed nothing" 4 "$(gen_folders)"
out=$("$BIN" gc "$T" 2>"$TMP/gc.err"); rc=$?
check "gc exit" 0 $rc
contains "gc removed the 4 generations" '"generations_removed":4' "$out"
contains "with a reason on stderr" "remove _mem_wal/" "$(cat "$TMP/gc.err")"
check "no generation folder holds files" 0 "$(gen_folders)"
wal1=$(wal_count)
[ "$wal1" -lt "$wal0" ] && ok "WAL entries removed ($wal0 -> $wal1)" || { echo "FAIL WAL entries removed ($wal0 -> $wal1)" >&2; fail=1; }
check "no WAL entry but the newest holds data" 0 "$(wal_big)"
out=$("$BIN" gc "$T" 2>/dev/null)
contains "a rerun removes nothing more" '"generations_removed":0,"wal_entries_removed":0,"wal_entries_replaced":0' "$out"
"$BIN" describe "$T" >"$TMP/desc.json" 2>/dev/null
contains "the shard manifest still lists the generations" '"path":' "$(cat "$TMP/desc.json")"

check "reads after gc: every key once, newest" "$want" "$(views r2)"
node "$LSM" search "$DB" t --vector '[0,0.142857,0.285714,0.428571,0.571429,0.714286,0.857143,0]' -k 10 \
  >"$TMP/s.json" 2>"$TMP/err" || cat "$TMP/err" >&2
res=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
  console.log(r.length, new Set(r.map((x) => String(x.id))).size, r.filter((x) => /^r2-/.test(x.text)).length > 0);
' "$TMP/s.json")
check "LSM vector search after gc: 10 rows, no key twice, merged rows found" "10 10 true" "$res"
node "$LSM" fts "$DB" t r2 --column text -k 50 >"$TMP/f.json" 2>"$TMP/err" || cat "$TMP/err" >&2
res=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
  console.log(r.length, new Set(r.map((x) => String(x.id))).size);
' "$TMP/f.json")
check "LSM full-text search after gc finds the 30 merged rows once" "30 30" "$res"

# memwal keeps writing into the same shards; LanceDB reads the new generations
put r3
check "LSM read of a new generation after gc" "310 310 310 310 30 0" "$(views r3)"
check "2 new generation folders" 2 "$(gen_folders)"

# the loop: generation folders and WAL entries stay bounded
for r in r4 r5 r6; do
  put $r
  "$BIN" merge "$T" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; echo "FAIL merge $r" >&2; fail=1; }
  check "$r: optimize" "" "$(optimize)"
  check "$r: cleanup" "" "$(cleanup)"
  "$BIN" gc "$T" >"$TMP/gc.json" 2>"$TMP/gc.err" || { cat "$TMP/gc.err"; echo "FAIL gc $r" >&2; fail=1; }
  check "$r: generation folders after gc" 0 "$(gen_folders)"
  check "$r: no WAL entry but the newest holds data" 0 "$(wal_big)"
  n=$(wal_count)
  echo "     $r: $n WAL entries ($(du -cb "$T"/_mem_wal/*/wal/* | tail -1 | cut -f1) bytes) in the two shards"
  check "$r: reads" "310 310 310 310 30 30" "$(views $r)"
done
exit $fail
