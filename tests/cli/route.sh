#!/usr/bin/env bash
# route.sh MEMWAL_BIN SHARED_DIR - `memwal route`: the bucket / identity /
# unsharded shard of every row of an Arrow IPC stream, checked with LSM.md's
# vectors on the reference shard's real Lance 12 WAL entries (ids 1..6 over
# 4 buckets -> 0,0,3,2,3,1; bucket-b and unsharded UUIDs), --summary, and
# refusals: a null identity value and an unsupported key type (exit 1, with
# the column named, nothing on stdout), bad specs and usage (exit 2).
set -u
BIN=${1:?usage: route.sh MEMWAL_BIN SHARED_DIR}
SHARED=${2:?usage: route.sh MEMWAL_BIN SHARED_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
WAL="$SHARED/fixtures/lance12_reference_table.lance/_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/wal"
. "$HERE/common.sh"
mk_tmp
[ -x "$BIN" ] || die "no memwal binary at $BIN"
[ -d "$WAL" ] || die "no reference WAL folder at $WAL"
# WAL positions 1 (ids 1,2,3) and 3 (ids 4,5,6), bit-reversed names
E1="$WAL/1000000000000000000000000000000000000000000000000000000000000000.arrow"
E3="$WAL/1100000000000000000000000000000000000000000000000000000000000000.arrow"
buckets() { sed 's/.*"bucket":\([0-9]*\).*/\1/' | paste -sd,; }

check "ids 1,2,3 over 4 buckets" "0,0,3" "$("$BIN" route "$E1" --spec bucket:id:4 | buckets)"
check "ids 4,5,6 over 4 buckets" "2,3,1" "$("$BIN" route "$E3" --spec bucket:id:4 | buckets)"
check "row lines" '{"row":0,"shard":"4a388480-a25b-59a8-b058-24217f980256","bucket":0}
{"row":1,"shard":"4a388480-a25b-59a8-b058-24217f980256","bucket":0}
{"row":2,"shard":"1d8d46d4-1ffd-5f6e-9aea-466d5ea76fdb","bucket":3}' "$("$BIN" route "$E1" --spec bucket:id:4)"
check "summary" '{"spec":"bucket:id:4","rows":3,"shards":[{"shard":"e00299e4-8c4b-50fc-bbdd-ce8179135761","bucket":2,"rows":1},{"shard":"1d8d46d4-1ffd-5f6e-9aea-466d5ea76fdb","bucket":3,"rows":1},{"shard":"8e131bde-8368-54ff-89d9-c2e1cc781b29","bucket":1,"rows":1}]}' \
  "$("$BIN" route "$E3" --spec bucket:id:4 --summary)"
check "unsharded" '{"spec":"unsharded","rows":3,"shards":[{"shard":"aa48498d-ac91-59e2-8452-69f46010ace2","rows":3}]}' \
  "$("$BIN" route "$E1" --spec unsharded --summary)"
check "one bucket" "0,0,0" "$("$BIN" route "$E1" --spec bucket:name:1 | buckets)"
out=$("$BIN" route "$E1" --spec identity:id --summary)
contains "identity: three shards" '"rows":3,"shards":[{"shard":"' "$out"
check "identity: distinct shards" 3 "$(printf '%s' "$out" | grep -o '"shard"' | wc -l)"
# the spec of a table's MemWAL index (the reference table: unsharded)
check "--table" '{"spec":"unsharded","rows":3,"shards":[{"shard":"aa48498d-ac91-59e2-8452-69f46010ace2","rows":3}]}' \
  "$("$BIN" route "$E1" --table "$SHARED/fixtures/lance12_reference_table.lance" --summary)"
mkdir -p "$TMP/notable"
"$BIN" route "$E1" --table "$TMP/notable" >/dev/null 2>"$TMP/err"
check "--table not a table exit" 1 $?
"$BIN" route "$E1" --table "$SHARED/fixtures/lance12_reference_table.lance" --spec unsharded >/dev/null 2>&1
check "--table with --spec exit" 2 $?
# stdin input
check "stdin" "0,0,3" "$("$BIN" route - --spec bucket:id:4 <"$E1" | buckets)"

# refusals
out=$("$BIN" route "$TMP/none.arrows" --spec unsharded 2>"$TMP/err"); rc=$?
check "missing file exit" 1 $rc
out=$("$BIN" route "$HERE/../data/arrow_js_sample.arrows" --spec identity:name 2>"$TMP/err"); rc=$?
check "null identity exit" 1 $rc
check "null identity stdout empty" "" "$out"
contains "null identity message" "column 'name': row 1 is null" "$(cat "$TMP/err")"
out=$("$BIN" route "$HERE/../data/ipc_rich_types.arrows" --spec bucket:bin:8 2>"$TMP/err"); rc=$?
check "binary key exit" 1 $rc
contains "binary key message" "column 'bin': bucket sharding does not support type binary" "$(cat "$TMP/err")"
out=$("$BIN" route "$E1" --spec bucket:nope:8 2>"$TMP/err"); rc=$?
check "missing column exit" 1 $rc
contains "missing column message" "no column 'nope'" "$(cat "$TMP/err")"
for bad in bucket:id:0 bucket:id:1025 bucket:id identity: sharded; do
  "$BIN" route "$E1" --spec "$bad" >/dev/null 2>&1
  check "bad spec $bad exit" 2 $?
done
"$BIN" route "$E1" >/dev/null 2>&1
check "no spec exit" 2 $?
"$BIN" route --spec unsharded >/dev/null 2>&1
check "no input exit" 2 $?
exit $fail
