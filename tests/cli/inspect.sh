#!/usr/bin/env bash
# inspect.sh MEMWAL_BIN SHARED_DIR - `memwal inspect` on the Lance 12
# fixture (exact JSON), plus its error exits.
set -u
BIN=$1
SHARED=$2
FIX=$SHARED/fixtures/lance12_reference_table.lance
SHARD=aa48498d-ac91-59e2-8452-69f46010ace2
. "$(dirname "$0")/common.sh"
EXPECT='{"version":8,"writer_epoch":4,"replay_after_wal_entry_position":3,"wal_entry_position_last_seen":6,"current_generation":2,"flushed_generations":[{"generation":1,"path":"70752807_gen_1","in_memory_bytes":166,"physical_rows":6,"primary_key_bytes":48}],"shard_spec_id":1,"shard_id":"aa48498d-ac91-59e2-8452-69f46010ace2","status":"ACTIVE"}'

out=$("$BIN" inspect "$FIX" --shard $SHARD); rc=$?
check "fixture exit" 0 $rc
check "fixture json" "$EXPECT" "$out"
check "fixture one line" 1 "$(printf '%s\n' "$out" | wc -l)"

out=$("$BIN" inspect --shard=$SHARD "file://$FIX"); rc=$?
check "file uri exit" 0 $rc
check "file uri json" "$EXPECT" "$out"

mk_tmp

err=$("$BIN" inspect "$FIX" --shard 00000000-0000-4000-8000-000000000000 2>&1 >/dev/null); rc=$?
check "missing shard exit" 1 $rc
check "missing shard msg" "memwal inspect: no manifest for shard 00000000-0000-4000-8000-000000000000" "$err"

"$BIN" inspect "bogus://x" --shard $SHARD >/dev/null 2>"$TMP/e"; rc=$?
check "bad scheme exit" 1 $rc
grep -q "not supported" "$TMP/e" || { echo "FAIL bad scheme msg: $(cat "$TMP/e")" >&2; fail=1; }

"$BIN" inspect "$TMP/does/not/exist" --shard $SHARD >/dev/null 2>"$TMP/e"; rc=$?
check "missing folder exit" 1 $rc
check "missing folder not created" no "$([ -e "$TMP/does" ] && echo yes || echo no)"

"$BIN" inspect "memory://nothing" --shard $SHARD >/dev/null 2>&1; rc=$?
check "empty memory store exit" 1 $rc

# A corrupt latest manifest: exit 1 with a message naming the object.
mkdir -p "$TMP/t/_mem_wal/$SHARD/manifest"
printf '\377\377\377' > "$TMP/t/_mem_wal/$SHARD/manifest/1000000000000000000000000000000000000000000000000000000000000000.binpb"
err=$("$BIN" inspect "$TMP/t" --shard $SHARD 2>&1 >/dev/null); rc=$?
check "corrupt exit" 1 $rc
case "$err" in *"malformed protobuf"*) echo "ok   corrupt msg";; *) echo "FAIL corrupt msg: $err" >&2; fail=1;; esac

# Usage errors exit 2.
"$BIN" inspect "$FIX" >/dev/null 2>&1; check "no shard" 2 $?
"$BIN" inspect --shard $SHARD >/dev/null 2>&1; check "no uri" 2 $?
"$BIN" inspect "$FIX" --shard >/dev/null 2>&1; check "shard without value" 2 $?
"$BIN" inspect "$FIX" --shard not-a-uuid >/dev/null 2>&1; check "bad uuid" 2 $?
"$BIN" inspect "$FIX" "$FIX" --shard $SHARD >/dev/null 2>&1; check "two uris" 2 $?
"$BIN" inspect "$FIX" --shard $SHARD --bogus >/dev/null 2>&1; check "unknown option" 2 $?

exit $fail
