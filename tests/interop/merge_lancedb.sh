#!/usr/bin/env bash
# merge_lancedb.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - `memwal
# merge` against real LanceDB 0.39.0 (Lance core 12). A table LanceDB
# creates (bucket(id, 2), 300 base rows written by LanceDB) gets
# generations from us (`memwal put --flush-on-close`: overwrites of base
# keys, new keys, a key twice in one input, overwrites across generations;
# `memwal delete`: tombstones of base keys, generation keys and a key that
# never existed) and from LanceDB (a key upserted twice into one MemTable:
# its generation carries a deletion file). After `memwal merge` LanceDB's
# LSM read and its base-only read (useLsm(false)) both return every key
# once with its newest value; merging again is a no-op; LanceDB then keeps
# writing on the merged table (a base delete -> .arrow deletion file, a
# base append, LSM upserts, optimize()) and we write and merge again on
# top (two merger processes racing), each step checked against the
# expected table. Missing node or peers is a failure.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_routing_rows.mjs "$HERE"/tomb_rows.mjs "$HERE"/merge_ops.mjs
LSM=$PEERS/lancedb_lsm.mjs
DB=$TMP/db
T=$DB/t.lance

declare -A exp
# rows FILE 'ID:TEXT ...' : an Arrow file of those rows (table schema)
rows() {
  local f=$1; shift
  node -e 'console.log(JSON.stringify(process.argv.slice(1).map((s) => { const i = s.indexOf(":"); return [s.slice(0, i), s.slice(i + 1)]; })))' "$@" \
    >"$TMP/$f.json" || die "rows $f"
  node "$TMP/js/lance_routing_rows.mjs" "$TMP/$f.arrows" "$TMP/$f.json" || die "rows $f arrows"
}
expect_put() { local s; for s in "$@"; do exp[${s%%:*}]=${s#*:}; done; }
expect_del() { local k; for k in "$@"; do unset "exp[$k]"; done; }
expected() { local k; for k in "${!exp[@]}"; do echo "$k:${exp[$k]}"; done | sort; }
# LanceDB's read as sorted "id:text" lines (extra args: --no-lsm)
lance_rows() {
  node "$LSM" read "$DB" t --columns id,text "$@" >"$TMP/read.json" 2>"$TMP/read.err" \
    || { cat "$TMP/read.err" >&2; echo "read failed"; return; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
    console.log(r.map((x) => x.id + ":" + x.text).sort().join("\n"));
  ' "$TMP/read.json"
}
same() { # NAME EXPECTED ACTUAL: check, printing a short diff on failure
  if [ "$2" = "$3" ]; then ok "$1"; else
    fail "$1"; diff <(echo "$2") <(echo "$3") | head -20 >&2
  fi
}
check_reads() { # LABEL: LanceDB's LSM and base-only reads (one process)
  local want lsm base
  want=$(expected)
  node "$TMP/js/merge_ops.mjs" "$DB" t views >"$TMP/views.json" 2>"$TMP/views.err" || cat "$TMP/views.err" >&2
  lsm=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).lsm.join("\n"))' "$TMP/views.json" | sort)
  base=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).base.join("\n"))' "$TMP/views.json" | sort)
  same "$1: LSM read = expected ($(echo "$want" | wc -l) keys)" "$want" "$lsm"
  same "$1: base-only read = expected" "$want" "$base"
  check "$1: no key twice in the base" "$(echo "$base" | cut -d: -f1 | sort | uniq -d | wc -l)" 0
}
put() { # NAME ROWS...
  local name=$1; shift
  rows "$name" "$@"
  "$BIN" put "$T" --input "$TMP/$name.arrows" --flush-on-close >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "put $name"; }
  expect_put "$@"
}
merge() { # LABEL -> $out (stdout JSON)
  local rc
  out=$("$BIN" merge "$T" 2>"$TMP/merge.err"); rc=$?
  check "$1: merge exit" 0 $rc
  [ $rc = 0 ] || cat "$TMP/merge.err" >&2
}
lance_upsert() { # NAME ROWS...
  local name=$1; shift
  rows "$name" "$@"
  node "$LSM" upsert "$DB" t "$TMP/$name.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "LanceDB upsert $name"; }
  expect_put "$@"
}
ops() { node "$TMP/js/merge_ops.mjs" "$DB" t "$@" 2>"$TMP/err" || { cat "$TMP/err" >&2; echo "merge_ops $* failed"; }; }

node "$LSM" create "$DB" t bucket:id:2 --base 300 >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create"; }
while IFS= read -r line; do exp[${line%%:*}]=${line#*:}; done < <(lance_rows --no-lsm)
check "LanceDB base rows" 300 "${#exp[@]}"

B=1000000000
# generation 1 (per shard): base keys 0..49 overwritten, new keys 1..100, key 1 twice (last wins)
g1=(); for i in $(seq 0 49); do g1+=("$((B + i)):a$((B + i))"); done
for i in $(seq 1 100); do g1+=("$i:a$i"); done
g1+=("1:a1-second")
put g1 "${g1[@]}"
# generation 2: overwrites of generation 1 and of base keys 40..59
g2=(); for i in $(seq 1 30); do g2+=("$i:b$i"); done
for i in $(seq 40 59); do g2+=("$((B + i)):b$((B + i))"); done
put g2 "${g2[@]}"
# generation 3: tombstones (a generation key, a base key overwritten, a base-only key, a key never written)
node "$TMP/js/tomb_rows.mjs" "$TMP/del.arrows" "5,6,$((B + 1)),$((B + 100)),2000" --keys || die "keys"
"$BIN" delete "$T" --input "$TMP/del.arrows" --flush-on-close >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "delete"; }
expect_del 5 6 $((B + 1)) $((B + 100)) 2000
# LanceDB's own generation: key 7 twice in one MemTable, a base key
lance_upsert l1 "7:l7-first" "7:l7-second" "$((B + 200)):l200"
ls "$T"/_mem_wal/*/*/_deletions/*.bin >/dev/null 2>&1 && ok "LanceDB's generation has a deletion file" \
  || fail "no generation deletion file (key 7 twice)"
same "before merge: LSM read = expected" "$(expected)" "$(lance_rows)"

merge "first merge"
contains "first merge summary" '"generations_merged":' "$out"
n=$(echo "$out" | grep -o '"generations_merged":[0-9]*' | cut -d: -f2)
[ "${n:-0}" -ge 6 ] && ok "first merge merged $n generations" || fail "first merge merged ${n:-0} generations: $out"
contains "tombstones counted" '"tombstones":' "$out"
[ -n "$(ls "$T/_deletions" 2>/dev/null)" ] && ok "deletion files written" || fail "no _deletions/"
check_reads "after the first merge"

merge "second merge"
contains "merging again is a no-op" '"generations_merged":0' "$out"
v1=$(echo "$out" | grep -o '"table_version_before":[0-9]*' | cut -d: -f2)
v2=$(echo "$out" | grep -o '"table_version":[0-9]*' | cut -d: -f2)
check "no new table version" "$v1" "$v2"

# LanceDB keeps writing on the merged table
rows add "5000:add5000" "5001:add5001" "5002:add5002"
contains "LanceDB base append" '"added":3' "$(ops add "$TMP/add.arrows")"
expect_put "5000:add5000" "5001:add5001" "5002:add5002"
# a delete in the appended fragment (no deletion file yet: Lance writes .arrow)
contains "LanceDB base delete" '"deleted"' "$(ops delete "id = 5002 OR id = $((B + 250))")"
expect_del 5002 $((B + 250))
ls "$T"/_deletions/*.arrow >/dev/null 2>&1 && ok "LanceDB wrote an .arrow deletion file" || fail "no .arrow deletion file"
check_reads "after LanceDB's delete and append"
put g4 "$((B + 251)):c251" "5000:c5000" "8:c8" "$((B + 2)):c2"
lance_upsert l2 "9:l9" "$((B + 3)):l3"
# two merger processes race on the table: both succeed, each generation is
# merged once (by one of them), nothing is lost or doubled
"$BIN" merge "$T" >"$TMP/m1.json" 2>"$TMP/m1.err" & p1=$!
"$BIN" merge "$T" >"$TMP/m2.json" 2>"$TMP/m2.err" & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
check "racing mergers: first exit" 0 $r1
check "racing mergers: second exit" 0 $r2
[ $r1 = 0 ] && [ $r2 = 0 ] || cat "$TMP/m1.err" "$TMP/m2.err" >&2
n1=$(grep -o '"generations_merged":[0-9]*' "$TMP/m1.json" | cut -d: -f2)
n2=$(grep -o '"generations_merged":[0-9]*' "$TMP/m2.json" | cut -d: -f2)
[ $((${n1:-0} + ${n2:-0})) -ge 3 ] && ok "racing mergers merged $n1 + $n2 generations" || fail "racing mergers merged ${n1:-0} + ${n2:-0}"
contains "the racing merge extended the .arrow deletions" '"base_rows_deleted":' "$(cat "$TMP/m1.json" "$TMP/m2.json")"
merge "merge after the race"
contains "nothing left after the race" '"generations_merged":0' "$out"
check_reads "after the racing merges"
contains "LanceDB optimize" '"optimized":true' "$(ops optimize)"
check_reads "after LanceDB's optimize"
put g5 "10:d10" "$((B + 252)):d252" "5001:d5001"
merge "merge after optimize"
check_reads "after the merge on the optimized table"
# a generation overwriting every key of the last one: its fragments lose
# every row and are removed from the table
put g6 "10:e10" "$((B + 252)):e252" "5001:e5001"
merge "merge removing whole fragments"
contains "whole fragments removed" '"fragments_removed":1' "$out"
check_reads "after removing whole fragments"
lance_upsert l3 "11:l11" "$((B + 4)):l4"
same "LanceDB writes on: LSM read = expected" "$(expected)" "$(lance_rows)"
[ "$fails" = 0 ] || fail=1
exit $fail
