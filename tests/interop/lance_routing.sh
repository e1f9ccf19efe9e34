#!/usr/bin/env bash
# lance_routing.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - routing parity
# with real LanceDB 0.39.0 (Lance core 12): LanceDB creates bucket tables
# (int64 key `id` and utf8 key `text`; 1, 4, 16 and 1024 buckets) and
# identity tables (utf8 `text`, int64 `id`) with lancedb_lsm.mjs and
# mergeInserts 24-25 keys into each (edge-case int64s, utf8 with non-ASCII
# tail bytes that exercise the signed-tail quirk, "", a null text in the
# bucket tables). `memwal describe` must read each table's spec back; for
# every key, the shard folder LanceDB wrote it to (read back from the WAL
# entries with `memwal tail`) must be the shard `memwal route --table`
# computes from that spec, and the set of shard folders must be exactly
# ours. A table with base rows, indexes and maintained indexes, and one with
# writer config defaults, check that describe agrees with LanceDB's
# getLsmWriteSpec (spec, maintained indexes, defaults, field ids).
# Missing node or peers is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_routing_rows.mjs "$HERE"/lance_routing_check.mjs "$HERE"/lance_table_defaults.mjs
LSM=$PEERS/lancedb_lsm.mjs

# int64 keys: small, negative, around 2^31, 2^32, 2^53 and the extremes
cat >"$TMP/keys_int.json" <<'KEYS'
[["1","t1"],["2","t2"],["3","t3"],["4","t4"],["5","t5"],["6","t6"],["7","t7"],["8","t8"],
 ["0","t0"],["-1","tm1"],["-2","tm2"],["34","t34"],["1000","t1000"],["123456789","tbig"],
 ["2147483647","ti32max"],["2147483648","ti32max1"],["-2147483648","ti32min"],
 ["4294967301","t2p32"],["9007199254740993","t2p53"],["-9007199254740993","tm2p53"],
 ["9223372036854775807","tmax"],["-9223372036854775808","tmin"],["77777","t7s"],["-31337","tleet"]]
KEYS
# utf8 keys: 1-3 tail bytes >= 0x80 (café, ü, abcdé, xyzÿ: LSM.md's vectors),
# multi-byte scripts, emoji, "", lengths 0..50
cat >"$TMP/keys_utf8.json" <<'KEYS'
[["1","a"],["2","b"],["3","café"],["4","ü"],["5","abcdé"],["6","xyzÿ"],["7",""],["8","us"],
 ["9","eu"],["10","ap-south-1"],["11","日本語"],["12","😀"],["13","Zürich"],["14","ÿ"],
 ["15","é"],["16","naïve"],["17","hello world"],["18","xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxé"],
 ["19","ß"],["20","ab"],["21","abc"],["22","abcd"],["23","Ωmega"],["24","tailéé"]]
KEYS
# the utf8 bucket tables also get a null text (hash 0 -> bucket 0)
node -e '
  const fs = require("fs"), k = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  k.push(["25", null]); fs.writeFileSync(process.argv[2], JSON.stringify(k));
' "$TMP/keys_utf8.json" "$TMP/keys_utf8_null.json" || die "keys"
for k in int utf8 utf8_null; do
  node "$TMP/js/lance_routing_rows.mjs" "$TMP/$k.arrows" "$TMP/keys_$k.json" || die "lance_routing_rows.mjs $k"
done

# the routing spec `memwal describe` reads from a table's MemWAL index
describe_spec() { "$BIN" describe "$1" 2>&1 | sed -n 's/.*"spec":"\([^"]*\)".*/\1/p'; }

# run NAME SPEC KEYS: LanceDB creates table NAME with SPEC and upserts the
# rows of KEYS; `memwal describe` must read SPEC back from the table, and
# its shard folders are checked against `memwal route --table`.
# Runs in a background lane: the result goes to $TMP/NAME.out / NAME.rc.
run() {
  local name=$1 spec=$2 keys=$3 rc=1
  {
    if ! node "$LSM" create "$TMP/db" "$name" "$spec" >/dev/null 2>"$TMP/$name.err"; then
      cat "$TMP/$name.err"; echo "FAIL $name: LanceDB create $spec"
    elif ! node "$LSM" upsert "$TMP/db" "$name" "$TMP/$keys.arrows" >/dev/null 2>"$TMP/$name.err"; then
      cat "$TMP/$name.err"; echo "FAIL $name: LanceDB upsert"
    elif [ "$(describe_spec "$TMP/db/$name.lance")" != "$spec" ]; then
      echo "FAIL $name: memwal describe reads spec [$(describe_spec "$TMP/db/$name.lance")], LanceDB set $spec"
    elif ! "$BIN" route "$TMP/$keys.arrows" --table "$TMP/db/$name.lance" >"$TMP/$name.route" 2>"$TMP/$name.err"; then
      cat "$TMP/$name.err"; echo "FAIL $name: memwal route --table (spec $spec)"
    else
      node "$TMP/js/lance_routing_check.mjs" "$BIN" "$TMP/db/$name.lance" "$TMP/$name.route" \
        "$TMP/keys_$keys.json" "$name ($spec)" && rc=0
    fi
  } >"$TMP/$name.out" 2>&1
  echo $rc >"$TMP/$name.rc"
}

# LanceDB needs one flush per shard touched (one shard writer at a time),
# mostly waiting on storage: three lanes keep the wall time down on 2 cores.
start=$(date +%s)
lane() { local t; for t in "$@"; do set -- $t; run "$1" "$2" "$3"; done; }
lane "bucket_id_1024 bucket:id:1024 int" "bucket_id_4 bucket:id:4 int" "bucket_text_1 bucket:text:1 utf8_null" &
lane "bucket_text_1024 bucket:text:1024 utf8_null" "bucket_text_4 bucket:text:4 utf8_null" "bucket_id_1 bucket:id:1 int" &
lane "identity_text identity:text utf8" "identity_id identity:id int" "bucket_id_16 bucket:id:16 int" "bucket_text_16 bucket:text:16 utf8_null" &
# a table with base rows and indexes: describe reads what getLsmWriteSpec
# reports (spec, maintained indexes, writer defaults) and the field ids
described() {
  {
    if ! node "$LSM" create "$TMP/db" ix bucket:id:4 --base 300 --indexes --maintain id_idx,text_idx \
         >/dev/null 2>"$TMP/ix.err"; then
      cat "$TMP/ix.err"; echo "FAIL ix: LanceDB create"
    elif ! node "$LSM" spec "$TMP/db" ix >"$TMP/ix.spec" 2>"$TMP/ix.err" \
         || ! "$BIN" describe "$TMP/db/ix.lance" >"$TMP/ix.desc" 2>>"$TMP/ix.err"; then
      cat "$TMP/ix.err"; echo "FAIL ix: spec / describe"
    else
      node -e '
        const fs = require("fs");
        const l = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).spec;
        const d = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
        const got = JSON.stringify({ spec: d.spec, maintained: d.mem_wal.maintained_indexes,
          defaults: d.mem_wal.writer_config_defaults, num_shards: d.mem_wal.num_shards, pk: d.primary_key,
          fields: d.fields.map((f) => f.name + ":" + f.id) });
        const want = JSON.stringify({ spec: `${l.specType}:${l.column}:${l.numBuckets}`,
          maintained: l.maintainedIndexes, defaults: l.writerConfigDefaults, num_shards: l.numBuckets,
          pk: ["id"], fields: ["id:0", "vector:1", "text:2"] });
        if (got === want && l.maintainedIndexes.length === 2) console.log("ok   ix: memwal describe = LanceDB getLsmWriteSpec " + got);
        else { console.log("FAIL ix: memwal describe " + got + " != LanceDB " + want); process.exit(1); }
      ' "$TMP/ix.spec" "$TMP/ix.desc" && echo 0 >"$TMP/ix.rc"
    fi
  } >"$TMP/ix.out" 2>&1
  # writer config defaults and an identity spec (num_shards 0, utf8)
  {
    if ! node "$TMP/js/lance_table_defaults.mjs" "$TMP/db" >"$TMP/wd.spec" 2>"$TMP/wd.err" \
         || ! "$BIN" describe "$TMP/db/wd.lance" >"$TMP/wd.desc" 2>>"$TMP/wd.err"; then
      cat "$TMP/wd.err"; echo "FAIL wd: create / describe"
    else
      node -e '
        const fs = require("fs");
        const l = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        const d = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
        const sorted = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
        const f = d.mem_wal.sharding_specs[0].fields[0];
        const got = JSON.stringify({ spec: d.spec, defaults: sorted(d.mem_wal.writer_config_defaults),
          num_shards: d.mem_wal.num_shards, transform: f.transform, result_type: f.result_type, source_ids: f.source_ids });
        const want = JSON.stringify({ spec: `${l.specType}:${l.column}`, defaults: sorted(l.writerConfigDefaults),
          num_shards: 0, transform: "identity", result_type: "utf8", source_ids: [1] });
        if (got === want && Object.keys(l.writerConfigDefaults).length === 3) console.log("ok   wd: memwal describe = LanceDB getLsmWriteSpec " + got);
        else { console.log("FAIL wd: memwal describe " + got + " != LanceDB " + want); process.exit(1); }
      ' "$TMP/wd.spec" "$TMP/wd.desc" && echo 0 >"$TMP/wd.rc"
    fi
  } >"$TMP/wd.out" 2>&1
}
described &
wait
for name in bucket_id_1 bucket_id_4 bucket_id_16 bucket_id_1024 bucket_text_1 bucket_text_4 \
            bucket_text_16 bucket_text_1024 identity_text identity_id ix wd; do
  if [ -f "$TMP/$name.out" ]; then cat "$TMP/$name.out"; else echo "FAIL $name: did not run"; fi
  [ "$(cat "$TMP/$name.rc" 2>/dev/null)" = 0 ] || fails=$((fails + 1))
done
echo "(LanceDB tables took $(( $(date +%s) - start )) s)"

# LSM.md's utf8 vectors through the CLI (8 buckets): the signed tail bytes
printf '[["1","café"],["2","ü"],["3","abcdé"],["4","xyzÿ"]]' >"$TMP/four.json"
node "$TMP/js/lance_routing_rows.mjs" "$TMP/four.arrows" "$TMP/four.json" || die "rows"
got=$("$BIN" route "$TMP/four.arrows" --spec bucket:text:8 | sed 's/.*"bucket":\([0-9]*\).*/\1/' | paste -sd,)
check "LSM.md vector: café, ü, abcdé, xyzÿ -> buckets 6,0,7,2 of 8" "6,0,7,2" "$got"
[ "$fails" -eq 0 ] && [ "$fail" -eq 0 ]
