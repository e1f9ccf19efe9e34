#!/usr/bin/env bash
# table.sh MEMWAL_BIN SHARED_DIR - `memwal create` and `memwal set-spec`:
# create with the primary key from the schema's field metadata and the
# default unsharded spec (version 2, describe reads it back), with --pk,
# --spec bucket, --maintain refused on a table without that index,
# --defaults; set-spec replacing the spec (identity, unsharded) as new
# versions with one transaction file each; create over an existing table,
# a WAL-style schema with _tombstone, bad --pk / --spec / --defaults (exit
# 1 or 2 with a message, nothing written), and usage errors.
set -u
BIN=${1:?usage: table.sh MEMWAL_BIN SHARED_DIR}
SRC=$(cd "$(dirname "$0")/../data" && pwd)
. "$(dirname "$0")/common.sh"
mk_tmp
[ -x "$BIN" ] || die "no memwal binary at $BIN"
S="$SRC/table_schema.arrows"
[ -f "$S" ] || die "no $S"
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }

out=$("$BIN" create "$TMP/a.lance" --schema "$S" 2>"$TMP/err")
check "create exit" 0 $?
contains "create: version 2" '"version":2,' "$out"
contains "create: fields with ids" '"fields":[{"name":"id","id":0,"parent_id":-1,"type":"int64","nullable":false},{"name":"vector","id":1,"parent_id":-1,"type":"fixed_size_list:float:8","nullable":true},{"name":"text","id":2,"parent_id":-1,"type":"string","nullable":true}]' "$out"
contains "create: key from field metadata" '"primary_key":["id"],"spec":"unsharded"' "$out"
contains "create: unsharded as LanceDB writes it" '"num_shards":1,"sharding_specs":[{"spec_id":1,"fields":[{"field_id":"bucket","source_ids":[],"transform":"unsharded","expression":null,"result_type":"int32","parameters":{}}]}]' "$out"
check "create: describe agrees" "$out" "$("$BIN" describe "$TMP/a.lance" | sed 's/,"shard_manifests":\[\]}$/}/')"
check "create: two versions + hint" "18446744073709551613.manifest 18446744073709551614.manifest latest_version_hint.json" \
  "$(ls "$TMP/a.lance/_versions" | tr '\n' ' ' | sed 's/ $//')"
check "create: hint" '{"version":2}' "$(cat "$TMP/a.lance/_versions/latest_version_hint.json")"
check "create: transactions" "2" "$(ls "$TMP/a.lance/_transactions" | wc -l | tr -d ' ')"

out=$("$BIN" set-spec "$TMP/a.lance" --spec identity:text --defaults max_memtable_rows=500,durable_write=true)
check "set-spec exit" 0 $?
contains "set-spec: version 3" '"version":3,' "$out"
contains "set-spec: identity" '"spec":"identity:text"' "$out"
contains "set-spec: identity as LanceDB writes it" '"num_shards":0,"sharding_specs":[{"spec_id":1,"fields":[{"field_id":"bucket","source_ids":[2],"transform":"identity","expression":null,"result_type":"utf8","parameters":{}}]}]' "$out"
contains "set-spec: defaults sorted" '"writer_config_defaults":{"durable_write":"true","max_memtable_rows":"500"}' "$out"
contains "set-spec: index against version 2" '"dataset_version":2,' "$out"
out=$("$BIN" set-spec "file://$TMP/a.lance" --spec unsharded)
contains "set-spec again: version 4, defaults replaced" '"writer_config_defaults":{}' "$out"
contains "set-spec again: spec id stays 1" '"spec_id":1,' "$out"
check "set-spec: one transaction per version" "4" "$(ls "$TMP/a.lance/_transactions" | wc -l | tr -d ' ')"

out=$("$BIN" create "$TMP/b.lance" --schema "$S" --pk id --spec bucket:id:16)
contains "create --spec bucket" '"spec":"bucket:id:16"' "$out"
contains "create --spec bucket: LanceDB's encoding" '"num_shards":16,"sharding_specs":[{"spec_id":1,"fields":[{"field_id":"bucket","source_ids":[0],"transform":"bucket","expression":null,"result_type":"int32","parameters":{"num_buckets":"16"}}]}]' "$out"

# failures
"$BIN" create "$TMP/a.lance" --schema "$S" >"$TMP/out" 2>"$TMP/err"
check "create over a table: exit" 1 $?
contains "create over a table: message" "exists" "$(cat "$TMP/err")"
check "create over a table: untouched" "4" "$(ls "$TMP/a.lance/_transactions" | wc -l | tr -d ' ')"
"$BIN" create "$TMP/c.lance" --schema "$SRC/wal_append_input.arrows" >"$TMP/out" 2>"$TMP/err"
check "_tombstone column: exit" 1 $?
contains "_tombstone column: message" "_tombstone" "$(cat "$TMP/err")"
check "_tombstone column: nothing written" "" "$(ls "$TMP/c.lance" 2>/dev/null)"
"$BIN" create "$TMP/d.lance" --schema "$S" --pk text >/dev/null 2>"$TMP/err"
check "nullable --pk: exit" 1 $?
contains "nullable --pk: message" "nullable" "$(cat "$TMP/err")"
"$BIN" create "$TMP/e.lance" --schema "$S" --pk id, >/dev/null 2>&1
check "empty --pk item: exit" 2 $?
"$BIN" create "$TMP/f.lance" --schema "$S" --spec bucket:vector:4 >/dev/null 2>"$TMP/err"
check "bucket on a vector: exit" 1 $?
contains "bucket on a vector: names the version" "created (version 1)" "$(cat "$TMP/err")"
"$BIN" set-spec "$TMP/b.lance" --spec unsharded --maintain id_idx >/dev/null 2>"$TMP/err"
check "--maintain a missing index: exit" 1 $?
contains "--maintain a missing index: message" "'id_idx' does not exist" "$(cat "$TMP/err")"
"$BIN" set-spec "$TMP/b.lance" --spec bucket:id:2000 >/dev/null 2>&1
check "2000 buckets: exit" 1 $?
"$BIN" set-spec "$TMP/b.lance" --spec unsharded --defaults novalue >/dev/null 2>&1
check "--defaults without '=': exit" 2 $?
check "failed set-specs wrote nothing" "2" "$(ls "$TMP/b.lance/_transactions" | wc -l | tr -d ' ')"
"$BIN" set-spec "$TMP/missing" --spec unsharded >/dev/null 2>&1
check "set-spec on a missing folder: exit" 1 $?
mkdir "$TMP/empty"
"$BIN" set-spec "$TMP/empty" --spec unsharded >/dev/null 2>"$TMP/err"
check "set-spec on a non-table: exit" 1 $?
"$BIN" create "$TMP/g.lance" >/dev/null 2>&1
check "create without --schema: exit" 2 $?
"$BIN" set-spec "$TMP/a.lance" >/dev/null 2>&1
check "set-spec without --spec: exit" 2 $?
"$BIN" create "$TMP/g.lance" --schema "$TMP/nope.arrows" >/dev/null 2>&1
check "missing schema file: exit" 1 $?
exit $fail
