#!/usr/bin/env bash
# describe.sh MEMWAL_BIN SHARED_DIR - `memwal describe URI` on the Lance 12
# reference table (exact JSON line: version 3, fields with ids, primary key,
# unsharded spec, the MemWAL index entry, one shard), on a folder that is
# not a Lance table and a corrupt manifest (exit 1, message on stderr), and
# usage errors (exit 2).
set -u
BIN=${1:?usage: describe.sh MEMWAL_BIN SHARED_DIR}
SHARED=${2:?usage: describe.sh MEMWAL_BIN SHARED_DIR}
T="$SHARED/fixtures/lance12_reference_table.lance"
. "$(dirname "$0")/common.sh"
mk_tmp
[ -x "$BIN" ] || die "no memwal binary at $BIN"
[ -d "$T" ] || die "no reference table at $T"

out=$("$BIN" describe "$T")
check "reference table" '{"uri":"'"$T"'","version":3,"writer":{"library":"lance","version":"12.0.0"},"fields":[{"name":"id","id":0,"parent_id":-1,"type":"int64","nullable":false},{"name":"name","id":1,"parent_id":-1,"type":"string","nullable":true}],"primary_key":["id"],"spec":"unsharded","mem_wal":{"index_uuid":"2a7d5e4a-6418-49f6-86cb-776d3058c0b3","dataset_version":2,"index_version":0,"created_at":1795653463150,"snapshot_ts_millis":0,"num_shards":1,"sharding_specs":[{"spec_id":1,"fields":[{"field_id":"bucket","source_ids":[],"transform":"unsharded","expression":null,"result_type":"int32","parameters":{}}]}],"maintained_indexes":[],"compacted_sstables":[],"index_catchup":[],"writer_config_defaults":{},"unknown_fields":0},"shards":["aa48498d-ac91-59e2-8452-69f46010ace2"]' \
  "${out%%,\"shard_manifests\":*}"
# the shard's latest manifest, as `memwal inspect` prints it
check "shard manifests" ",\"shard_manifests\":[$("$BIN" inspect "$T" --shard aa48498d-ac91-59e2-8452-69f46010ace2)]}" \
  ",\"shard_manifests\"${out#*,\"shard_manifests\"}"
contains "shard manifest epoch 4" '"writer_epoch":4,' "$out"
check "file:// URI" 3 "$("$BIN" describe "file://$T" | sed 's/.*"version":\([0-9]*\),"writer".*/\1/')"

# an older copy: versions 1 and 2 only (no MemWAL index yet), stale hint
mkdir -p "$TMP/old/_versions"
cp "$T"/_versions/1844674407370955161[34].manifest "$TMP/old/_versions/"
echo '{"version":1}' >"$TMP/old/_versions/latest_version_hint.json"
out=$("$BIN" describe "$TMP/old")
contains "old copy: version 2" '"version":2,' "$out"
contains "old copy: no spec" '"spec":null,"mem_wal":null,"shards":[],"shard_manifests":[]}' "$out"

mkdir -p "$TMP/empty"
"$BIN" describe "$TMP/empty" >"$TMP/out" 2>"$TMP/err"
check "not a table exit" 1 $?
contains "not a table message" "not a Lance table" "$(cat "$TMP/err")"
check "not a table stdout" "" "$(cat "$TMP/out")"
head -c 100 "$T/_versions/18446744073709551612.manifest" >"$TMP/old/_versions/18446744073709551612.manifest"
"$BIN" describe "$TMP/old" >"$TMP/out" 2>"$TMP/err"
check "corrupt manifest exit" 1 $?
contains "corrupt manifest message" "18446744073709551612.manifest" "$(cat "$TMP/err")"
"$BIN" describe "$TMP/missing" >/dev/null 2>&1
check "missing folder exit" 1 $?
"$BIN" describe >/dev/null 2>&1
check "usage exit" 2 $?
"$BIN" describe "$T" --shard x >/dev/null 2>&1
check "unknown option exit" 2 $?
exit $fail
