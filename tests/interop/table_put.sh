#!/usr/bin/env bash
# table_put.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - the table writer
# against real LanceDB 0.39.0 (Lance core 12): LanceDB creates tables with a
# MemWAL spec (bucket(id, 4), bucket(id, 16), identity(text)); `memwal put
# URI --input F --flush-on-close` without --shard routes 3000 rows to the
# shards, prints per-shard row counts that add up, writes exactly the shard
# folders `memwal route --table` computes, and LanceDB's LSM read returns
# every id once with our text. Then newest wins across implementations:
# LanceDB upserts a key we wrote (its value wins in its read), we upsert a
# key LanceDB wrote (ours wins). Missing node or peers is a failure.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_routing_rows.mjs
LSM=$PEERS/lancedb_lsm.mjs

# rows: ids 1..3000, text "r<id>" (identity tables: 7 distinct regions)
node -e '
  const k = []; for (let i = 1; i <= 3000; i++) k.push([String(i), "r" + i]);
  require("fs").writeFileSync(process.argv[1], JSON.stringify(k));
  const g = []; for (let i = 1; i <= 3000; i++) g.push([String(i), "region" + (i % 7)]);
  require("fs").writeFileSync(process.argv[2], JSON.stringify(g));
  require("fs").writeFileSync(process.argv[3], JSON.stringify([["5", "lance5"], ["4001", "lance4001"]]));
  require("fs").writeFileSync(process.argv[4], JSON.stringify([["4001", "ours4001"]]));
' "$TMP/rows.json" "$TMP/regions.json" "$TMP/lance_up.json" "$TMP/ours_up.json" || die "keys"
for f in rows regions lance_up ours_up; do
  node "$TMP/js/lance_routing_rows.mjs" "$TMP/$f.arrows" "$TMP/$f.json" || die "rows $f"
done

# LanceDB's LSM read of table NAME as sorted "id:text" lines
lance_rows() {
  node "$LSM" read "$TMP/db" "$1" --columns id,text >"$TMP/read.json" 2>"$TMP/read.err" \
    || { cat "$TMP/read.err" >&2; echo "read failed"; return; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
    console.log(r.map((x) => x.id + ":" + x.text).sort().join("\n"));
  ' "$TMP/read.json"
}
# the shard folders under a table, sorted
folders() { ls "$TMP/db/$1.lance/_mem_wal" 2>/dev/null | sort | tr '\n' ' '; }

run() { # NAME SPEC ROWS N_SHARDS
  local name=$1 spec=$2 rows=$3 nshards=$4
  node "$LSM" create "$TMP/db" "$name" "$spec" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "$name: create"; return; }
  local out rc
  out=$("$BIN" put "$TMP/db/$name.lance" --input "$TMP/$rows.arrows" --flush-on-close 2>"$TMP/err"); rc=$?
  check "$name put exit" 0 $rc
  [ $rc = 0 ] || cat "$TMP/err"
  contains "$name put spec" "\"spec\":\"$spec\"" "$out"
  contains "$name put rows" '"rows":3000' "$out"
  local got_shards sum
  got_shards=$(echo "$out" | grep -o '"shard":"[^"]*"' | sed 's/"shard":"//; s/"//' | sort | tr '\n' ' ')
  check "$name shard count" "$nshards" "$(echo "$got_shards" | wc -w)"
  sum=$(echo "$out" | grep -o '"rows":[0-9]*,"puts"' | sed 's/"rows"://; s/,"puts"//' | awk '{s += $1} END {print s + 0}')
  check "$name per-shard rows add up" 3000 "$sum"
  check "$name folders = reported shards" "$got_shards" "$(folders "$name")"
  local want
  want=$("$BIN" route "$TMP/$rows.arrows" --table "$TMP/db/$name.lance" --summary 2>/dev/null \
    | grep -o '"shard":"[^"]*"' | sed 's/"shard":"//; s/"//' | sort | tr '\n' ' ')
  check "$name folders = memwal route" "$want" "$got_shards"
  local expect
  expect=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).map(([i,t])=>i+":"+t).sort().join("\n"))' "$TMP/$rows.json")
  check "$name LanceDB LSM read = our rows" "$expect" "$(lance_rows "$name")"
}

run b4 bucket:id:4 rows 4
run b16 bucket:id:16 rows 16
run idt identity:text regions 7

# newest wins across implementations (bucket(id, 4)): LanceDB upserts id 5
# (ours) and 4001 (new); then we upsert 4001.
node "$LSM" upsert "$TMP/db" b4 "$TMP/lance_up.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "lance upsert"; }
r=$(lance_rows b4)
contains "LanceDB's upsert of our key wins" "5:lance5" "$r"
contains "LanceDB's new key" "4001:lance4001" "$r"
check "still 3001 keys" 3001 "$(echo "$r" | wc -l)"
out=$("$BIN" put "$TMP/db/b4.lance" --input "$TMP/ours_up.arrows" --flush-on-close 2>"$TMP/err") || { cat "$TMP/err"; fail "our upsert"; }
r=$(lance_rows b4)
contains "our upsert of LanceDB's key wins" "4001:ours4001" "$r"
check "no lance4001 left" "" "$(echo "$r" | grep 'lance4001')"
check "still 3001 keys after ours" 3001 "$(echo "$r" | wc -l)"

# Deletes through the table: tombstones routed to each key's shard hide
# the keys in LanceDB's LSM read (ids 1..10 of b4, in several shards).
printf '[["1","x"],["2","x"],["3","x"],["4","x"],["5","x"],["6","x"],["7","x"],["8","x"],["9","x"],["10","x"]]' >"$TMP/del.json"
node "$TMP/js/lance_routing_rows.mjs" "$TMP/del.arrows" "$TMP/del.json" || die "rows del"
out=$("$BIN" delete "$TMP/db/b4.lance" --input "$TMP/del.arrows" --flush-on-close 2>"$TMP/err"); rc=$?
check "table delete exit" 0 $rc
[ $rc = 0 ] || cat "$TMP/err"
contains "table delete rows" '"rows":10' "$out"
r=$(lance_rows b4)
check "deleted keys gone from LanceDB's read" "" "$(echo "$r" | grep -E '^([1-9]|10):')"
check "2991 keys left" 2991 "$(echo "$r" | wc -l)"

# No silent loss on takeover (issue 10 item 5): we put 5 rows with default
# settings and leave them unflushed in the WAL; LanceDB then upserts one row
# into the same (unsharded) shard, which makes it replay our WAL from
# position 1 before flushing: all 6 rows must be in its read.
printf '[["10","a"],["11","b"],["12","c"],["13","d"],["14","e"]]' >"$TMP/five.json"
printf '[["99","lance99"]]' >"$TMP/one.json"
node "$TMP/js/lance_routing_rows.mjs" "$TMP/five.arrows" "$TMP/five.json" || die "rows five"
node "$TMP/js/lance_routing_rows.mjs" "$TMP/one.arrows" "$TMP/one.json" || die "rows one"
node "$LSM" create "$TMP/db" un unsharded >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "create un"; }
"$BIN" put "$TMP/db/un.lance" --input "$TMP/five.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "put five"; }
node "$LSM" upsert "$TMP/db" un "$TMP/one.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "lance upsert 99"; }
check "LanceDB takeover of our unflushed default-settings shard loses nothing" \
  "$(printf '10:a\n11:b\n12:c\n13:d\n14:e\n99:lance99')" "$(lance_rows un)"

# a table without a MemWAL spec: a clear error
node "$LSM" create "$TMP/db" plain unsharded >/dev/null 2>&1
"$BIN" put "$TMP/nonexistent.lance" --input "$TMP/rows.arrows" >/dev/null 2>"$TMP/err"; check "no table exit" 1 $?
[ "$fails" -eq 0 ] && [ "$fail" -eq 0 ]
