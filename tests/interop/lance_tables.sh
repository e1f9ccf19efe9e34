#!/usr/bin/env bash
# lance_tables.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - tables we
# create and configure (`memwal create` / `memwal set-spec`, i.e.
# mw_table_create / mw_table_set_lsm_spec) with real LanceDB 0.39.0:
#  - LanceDB opens them: schema (names, types, nullability, the primary-key
#    field metadata), version, row count;
#  - LanceDB's getLsmWriteSpec reads back what we set, for bucket (int64 and
#    utf8 keys), identity and unsharded specs, writer config defaults and
#    maintained indexes;
#  - LanceDB's mergeInsert into them writes every key into the shard folder
#    `memwal route --table` computes, and its LSM read returns every key;
#  - LanceDB writes them (table.add, createIndex) and our set-spec rewrite
#    keeps its fragments and index (LanceDB reads the rows back after it);
#  - a table LanceDB creates with the same schema and spec is described
#    exactly as ours (fields, key, spec, MemWAL details).
# Missing node or peers is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_routing_rows.mjs "$HERE"/lance_routing_check.mjs "$HERE"/lance_table_ops.mjs
LSM=$PEERS/lancedb_lsm.mjs
OPS=$TMP/js/lance_table_ops.mjs
SCHEMA=$HERE/../data/table_schema.arrows
DB=$TMP/db
mkdir -p "$DB"

cat >"$TMP/keys_int.json" <<'KEYS'
[["1","t1"],["2","t2"],["3","t3"],["4","t4"],["5","t5"],["6","t6"],["7","t7"],["8","t8"],
 ["0","t0"],["-1","tm1"],["2147483648","ti32max1"],["-9223372036854775808","tmin"]]
KEYS
cat >"$TMP/keys_utf8.json" <<'KEYS'
[["1","a"],["2","b"],["3","café"],["4","ü"],["5","abcdé"],["6","xyzÿ"],["7",""],["8","us"],
 ["9","日本語"],["10","😀"],["11","naïve"],["12","tailéé"]]
KEYS
for k in int utf8; do
  node "$TMP/js/lance_routing_rows.mjs" "$TMP/$k.arrows" "$TMP/keys_$k.json" || die "lance_routing_rows.mjs $k"
done

# spec_is NAME WANT_JSON: LanceDB's getLsmWriteSpec of table NAME (keys of
# writerConfigDefaults sorted) must be WANT_JSON.
spec_is() {
  local got
  got=$(node "$LSM" spec "$DB" "$1" 2>&1 | node -e '
    const s = JSON.parse(require("fs").readFileSync(0, "utf8")).spec;
    const d = s.writerConfigDefaults || {};
    s.writerConfigDefaults = Object.fromEntries(Object.keys(d).sort().map((k) => [k, d[k]]));
    console.log(JSON.stringify(s));' 2>&1)
  check "$1: LanceDB getLsmWriteSpec" "$2" "$got"
}

# routed NAME KEYS: LanceDB upserts the rows of KEYS into our table NAME;
# every key must land where `memwal route --table` puts it, and LanceDB's
# LSM read must return every key once.
routed() {
  local name=$1 keys=$2
  if ! node "$LSM" upsert "$DB" "$name" "$TMP/$keys.arrows" >/dev/null 2>"$TMP/$name.err"; then
    cat "$TMP/$name.err"; echo "FAIL $name: LanceDB mergeInsert into our table"; fail=1; return
  fi
  if ! "$BIN" route "$TMP/$keys.arrows" --table "$DB/$name.lance" >"$TMP/$name.route" 2>"$TMP/$name.err"; then
    cat "$TMP/$name.err"; echo "FAIL $name: memwal route --table"; fail=1; return
  fi
  node "$TMP/js/lance_routing_check.mjs" "$BIN" "$DB/$name.lance" "$TMP/$name.route" "$TMP/keys_$keys.json" \
    "$name: LanceDB's shard folders" || fail=1
  local want
  want=$(node -e 'const k = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(JSON.stringify(k.map((x) => BigInt(x[0])).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String)));' \
    "$TMP/keys_$keys.json")
  check "$name: LanceDB LSM read returns every key" "$want" \
    "$(node "$OPS" "$DB" "$name" read 2>&1 | sed -n 's/^{"ids":\(.*\),"rows":.*/\1/p')"
}

lane1() {
  # bucket on int64 with writer defaults; LanceDB opens the table
  "$BIN" create "$DB/bid.lance" --schema "$SCHEMA" --spec bucket:id:4 \
    --defaults durable_write=true,max_memtable_rows=1000 >/dev/null 2>"$TMP/bid.err" \
    || { cat "$TMP/bid.err"; echo "FAIL bid: memwal create"; fail=1; return; }
  check "bid: LanceDB opens our table (version, schema with key metadata, no rows)" \
    '{"version":2,"count":0,"fields":[["id","Int64",false,{"lance-schema:unenforced-primary-key:position":"1"}],["vector","FixedSizeList[8]<Float32>",true,{}],["text","Utf8",true,{}]]}' \
    "$(node "$OPS" "$DB" bid open 2>&1)"
  spec_is bid '{"specType":"bucket","column":"id","numBuckets":4,"maintainedIndexes":[],"writerConfigDefaults":{"durable_write":"true","max_memtable_rows":"1000"}}'
  routed bid int
  # identity on utf8, set after create (replacing the default unsharded)
  "$BIN" create "$DB/itext.lance" --schema "$SCHEMA" >/dev/null 2>&1 \
    && "$BIN" set-spec "$DB/itext.lance" --spec identity:text >/dev/null 2>"$TMP/itext.err" \
    || { cat "$TMP/itext.err"; echo "FAIL itext: memwal create / set-spec"; fail=1; return; }
  spec_is itext '{"specType":"identity","column":"text","maintainedIndexes":[],"writerConfigDefaults":{}}'
  routed itext utf8
}

lane2() {
  # bucket on utf8 (signed tail bytes), 16 buckets
  "$BIN" create "$DB/btext.lance" --schema "$SCHEMA" --pk id --spec bucket:text:16 >/dev/null 2>"$TMP/btext.err" \
    || { cat "$TMP/btext.err"; echo "FAIL btext: memwal create"; fail=1; return; }
  spec_is btext '{"specType":"bucket","column":"text","numBuckets":16,"maintainedIndexes":[],"writerConfigDefaults":{}}'
  routed btext utf8
  # unsharded; LanceDB appends rows and builds an index, our set-spec then
  # maintains it and keeps LanceDB's fragment and index
  "$BIN" create "$DB/un.lance" --schema "$SCHEMA" >/dev/null 2>"$TMP/un.err" \
    || { cat "$TMP/un.err"; echo "FAIL un: memwal create"; fail=1; return; }
  spec_is un '{"specType":"unsharded","maintainedIndexes":[],"writerConfigDefaults":{}}'
  node "$OPS" "$DB" un add "$TMP/int.arrows" >/dev/null 2>"$TMP/un.err" && node "$OPS" "$DB" un index-id >/dev/null 2>>"$TMP/un.err" \
    || { cat "$TMP/un.err"; echo "FAIL un: LanceDB add / createIndex on our table"; fail=1; return; }
  "$BIN" set-spec "$DB/un.lance" --spec bucket:id:4 --maintain id_idx --defaults max_wal_flush_interval_ms=250 \
    >"$TMP/un.desc" 2>"$TMP/un.err" || { cat "$TMP/un.err"; echo "FAIL un: set-spec --maintain"; fail=1; return; }
  contains "un: set-spec is version 5 (after LanceDB's 3 and 4)" '"version":5,' "$(cat "$TMP/un.desc")"
  spec_is un '{"specType":"bucket","column":"id","numBuckets":4,"maintainedIndexes":["id_idx"],"writerConfigDefaults":{"max_wal_flush_interval_ms":"250"}}'
  check "un: LanceDB reads its rows after our rewrite" "12" \
    "$(node "$OPS" "$DB" un open 2>&1 | sed -n 's/.*"count":\([0-9]*\).*/\1/p')"
  # a table LanceDB creates with the same schema and spec reads the same
  if node "$LSM" create "$DB" lx bucket:id:4 --maintain none >/dev/null 2>"$TMP/lx.err" \
     && "$BIN" create "$DB/ox.lance" --schema "$SCHEMA" --spec bucket:id:4 >/dev/null 2>>"$TMP/lx.err"; then
    local parts='const d = JSON.parse(require("fs").readFileSync(0, "utf8")); const m = d.mem_wal;
      console.log(JSON.stringify([d.version - m.dataset_version, d.fields, d.primary_key, d.spec, m.index_version,
        m.num_shards, m.sharding_specs, m.maintained_indexes, m.writer_config_defaults, m.unknown_fields, d.shards]));'
    check "lx: LanceDB's table and ours are described alike" \
      "$("$BIN" describe "$DB/lx.lance" | node -e "$parts")" "$("$BIN" describe "$DB/ox.lance" | node -e "$parts")"
  else
    cat "$TMP/lx.err"; echo "FAIL lx: create"; fail=1
  fi
}

start=$(date +%s)
lane1 >"$TMP/lane1.out" 2>&1 &
lane2 >"$TMP/lane2.out" 2>&1
wait
cat "$TMP/lane1.out" "$TMP/lane2.out"
grep -q '^FAIL' "$TMP/lane1.out" "$TMP/lane2.out" && fail=1
echo "(took $(( $(date +%s) - start )) s)"
exit $fail
