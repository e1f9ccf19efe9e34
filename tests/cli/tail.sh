#!/usr/bin/env bash
# tail.sh MEMWAL_BIN SHARED_DIR - `memwal tail` on the Lance 12 fixture
# (exact lines, --from/--to), `memwal append` on a temp copy (exact JSON,
# epoch/position, the input's writer_epoch replaced, zero-row batch dropped,
# --fence), concurrent CLI appenders, and the error exits of both commands.
set -u
BIN=$1
SHARED=$2
HERE=$(cd "$(dirname "$0")" && pwd)
INPUT=$HERE/../data/wal_append_input.arrows  # ids 11,12; writer_epoch 99; + a zero-row batch
FIX=$SHARED/fixtures/lance12_reference_table.lance
SHARD=aa48498d-ac91-59e2-8452-69f46010ace2
. "$(dirname "$0")/common.sh"

L1='{"position": 1, "writer_epoch": 1, "fence": false, "batches": 1, "rows": [{"id": 1, "name": "n1", "_tombstone": false}, {"id": 2, "name": "n2", "_tombstone": false}, {"id": 3, "name": "n3", "_tombstone": false}]}'
L2='{"position": 2, "writer_epoch": 2, "fence": true, "batches": 0, "rows": []}'
L3='{"position": 3, "writer_epoch": 2, "fence": false, "batches": 1, "rows": [{"id": 4, "name": "n4", "_tombstone": false}, {"id": 5, "name": "n5", "_tombstone": false}, {"id": 6, "name": "n6", "_tombstone": false}]}'
L4='{"position": 4, "writer_epoch": 3, "fence": true, "batches": 0, "rows": []}'
L5='{"position": 5, "writer_epoch": 3, "fence": false, "batches": 1, "rows": [{"id": 7, "name": "n7", "_tombstone": false}, {"id": 8, "name": "n8", "_tombstone": false}, {"id": 9, "name": "n9", "_tombstone": false}]}'
L6='{"position": 6, "writer_epoch": 4, "fence": true, "batches": 0, "rows": []}'
L7='{"position": 7, "writer_epoch": 4, "fence": false, "batches": 1, "rows": [{"id": 3, "name": "n3", "_tombstone": false}, {"id": 10, "name": "n10", "_tombstone": false}]}'
ALL=$(printf '%s\n' "$L1" "$L2" "$L3" "$L4" "$L5" "$L6" "$L7")

# ---- tail on the (read-only) fixture
out=$("$BIN" tail "$FIX" --shard $SHARD); rc=$?
check "fixture exit" 0 $rc
check "fixture lines" "$ALL" "$out"
out=$("$BIN" tail "file://$FIX" --shard=$SHARD --from 3 --to 5); rc=$?
check "from/to exit" 0 $rc
check "from 3 to 5" "$(printf '%s\n' "$L3" "$L4" "$L5")" "$out"
check "from 6" "$(printf '%s\n' "$L6" "$L7")" "$("$BIN" tail "$FIX" --shard $SHARD --from=6)"
check "to 2" "$(printf '%s\n' "$L1" "$L2")" "$("$BIN" tail "$FIX" --shard $SHARD --to 2)"
check "from 7 to 7" "$L7" "$("$BIN" tail "$FIX" --shard $SHARD --from 7 --to 7)"
out=$("$BIN" tail "$FIX" --shard $SHARD --from 8); rc=$?
check "from 8: nothing" "" "$out"
check "from 8 exit" 0 $rc
out=$("$BIN" tail "$FIX" --shard $SHARD --from 0); rc=$?
check "from 0 (absent on a 1-based shard): nothing" "" "$out"
check "from 0 exit" 0 $rc
check "from 5 to 4: nothing" "" "$("$BIN" tail "$FIX" --shard $SHARD --from 5 --to 4)"
out=$("$BIN" tail "memory://empty" --shard $SHARD); rc=$?
check "empty wal: nothing" "" "$out"
check "empty wal exit" 0 $rc

mk_tmp

# ---- append on a copy (the fixture itself must never be written)
cp -r "$FIX" "$TMP/t.lance" && chmod -R u+w "$TMP/t.lance"
T=$TMP/t.lance
out=$("$BIN" append "$T" --shard $SHARD --input "$INPUT"); rc=$?
check "append exit" 0 $rc
check "append json" '{"position": 8, "writer_epoch": 5, "rows": 2}' "$out"
L8='{"position": 8, "writer_epoch": 5, "fence": false, "batches": 1, "rows": [{"id": 11, "name": "n11", "_tombstone": false}, {"id": 12, "name": "n12", "_tombstone": false}]}'
check "tail after append" "$(printf '%s\n' "$ALL" "$L8")" "$("$BIN" tail "$T" --shard $SHARD)"
W8=$T/_mem_wal/$SHARD/wal/0001000000000000000000000000000000000000000000000000000000000000.arrow
schema=$("$BIN" ipc-cat "$W8" | head -1)
check "entry schema (epoch 99 replaced by 5, field metadata kept)" '{"schema": {"fields": [{"name": "id", "type": "int64", "nullable": false, "metadata": {"lance-schema:unenforced-primary-key:position": "1"}}, {"name": "name", "type": "utf8", "nullable": true, "metadata": {}}, {"name": "_tombstone", "type": "bool", "nullable": false, "metadata": {}}], "metadata": {"writer_epoch": "5"}}}' "$schema"
insp=$("$BIN" inspect "$T" --shard $SHARD)
check "manifest after append" '{"version":9,"writer_epoch":5,"replay_after_wal_entry_position":3,"wal_entry_position_last_seen":6,"current_generation":2,"flushed_generations":[{"generation":1,"path":"70752807_gen_1","in_memory_bytes":166,"physical_rows":6,"primary_key_bytes":48}],"shard_spec_id":1,"shard_id":"aa48498d-ac91-59e2-8452-69f46010ace2","status":"ACTIVE"}' "$insp"

# --fence: a fence entry (empty schema, no batch: as Lance 12) first, then the data.
out=$("$BIN" append "file://$T" --shard $SHARD --input "$INPUT" --fence); rc=$?
check "append --fence exit" 0 $rc
check "append --fence json" '{"position": 10, "writer_epoch": 6, "rows": 2, "fence_position": 9}' "$out"
L9='{"position": 9, "writer_epoch": 6, "fence": true, "batches": 0, "rows": []}'
L10='{"position": 10, "writer_epoch": 6, "fence": false, "batches": 1, "rows": [{"id": 11, "name": "n11", "_tombstone": false}, {"id": 12, "name": "n12", "_tombstone": false}]}'
check "tail after --fence" "$(printf '%s\n' "$L8" "$L9" "$L10")" "$("$BIN" tail "$T" --shard $SHARD --from 8)"
W9=$T/_mem_wal/$SHARD/wal/1001000000000000000000000000000000000000000000000000000000000000.arrow
check "fence entry schema" '{"schema": {"fields": [], "metadata": {"writer_epoch": "6", "fence_sentinel": "true"}}}' "$("$BIN" ipc-cat "$W9")"

# A fresh shard: no fence even with --fence (no earlier writer); --first-position.
N1=11111111-2222-4333-8444-555555555555
mkdir "$TMP/fresh"
check "fresh 1-based" '{"position": 1, "writer_epoch": 1, "rows": 2}' "$("$BIN" append "$TMP/fresh" --shard $N1 --input "$INPUT" --first-position 1 --fence)"
check "fresh second" '{"position": 2, "writer_epoch": 2, "rows": 2}' "$("$BIN" append "$TMP/fresh" --shard $N1 --input "$INPUT" --first-position=1)"
# first position 0 on a 1-based shard: continues after the entries, never writes 0.
check "0-based config on 1-based shard" '{"position": 3, "writer_epoch": 3, "rows": 2}' "$("$BIN" append "$TMP/fresh" --shard $N1 --input "$INPUT" --first-position 0)"
check "fresh tail positions" "1 2 3" "$("$BIN" tail "$TMP/fresh" --shard $N1 | sed 's/^{"position": \([0-9]*\),.*/\1/' | tr '\n' ' ' | sed 's/ $//')"
N0=11111111-2222-4333-8444-000000000000
check "fresh 0-based" '{"position": 0, "writer_epoch": 1, "rows": 2}' "$("$BIN" append "$TMP/fresh" --shard $N0 --input "$INPUT" --first-position 0)"
check "tail 0-based" '{"position": 0, "writer_epoch": 1, "fence": false, "batches": 1, "rows": [{"id": 11, "name": "n11", "_tombstone": false}, {"id": 12, "name": "n12", "_tombstone": false}]}' "$("$BIN" tail "$TMP/fresh" --shard $N0)"

# ---- concurrent CLI appenders (processes) on one shard: every acknowledged
# position holds that process's entry, no position twice, failures are fenced.
NC=22222222-2222-4333-8444-555555555555
mkdir "$TMP/conc"
for w in a b; do
  ( for i in 1 2 3 4 5 6; do
      "$BIN" append "$TMP/conc" --shard $NC --input "$INPUT" --first-position 1 >>"$TMP/ok.$w" 2>>"$TMP/err.$w"
    done ) &
done
wait
acked=$(cat "$TMP/ok.a" "$TMP/ok.b" | wc -l)
errs=$(cat "$TMP/err.a" "$TMP/err.b" | grep -vc 'writer fenced\|claimed by another writer')
check "concurrent: only fencing errors" 0 "$errs"
check "concurrent: acked + failed = 12" 12 "$(( acked + $(cat "$TMP/err.a" "$TMP/err.b" | wc -l) ))"
tailout=$("$BIN" tail "$TMP/conc" --shard $NC)
check "concurrent: entries = acked" "$acked" "$(printf '%s\n' "$tailout" | grep -c .)"
dups=$(cat "$TMP/ok.a" "$TMP/ok.b" | sed 's/.*"position": \([0-9]*\),.*/\1/' | sort | uniq -d | wc -l)
check "concurrent: no position twice" 0 "$dups"
badack=0
while read -r line; do
  p=$(printf '%s' "$line" | sed 's/.*"position": \([0-9]*\),.*/\1/')
  e=$(printf '%s' "$line" | sed 's/.*"writer_epoch": \([0-9]*\),.*/\1/')
  want="{\"position\": $p, \"writer_epoch\": $e, \"fence\": false, \"batches\": 1, \"rows\": [{\"id\": 11, \"name\": \"n11\", \"_tombstone\": false}, {\"id\": 12, \"name\": \"n12\", \"_tombstone\": false}]}"
  got=$(printf '%s\n' "$tailout" | grep "^{\"position\": $p,")
  [ "$want" = "$got" ] || { echo "FAIL acked $line, tail has [$got]" >&2; badack=1; }
done < <(cat "$TMP/ok.a" "$TMP/ok.b")
check "concurrent: every acked entry readable" 0 "$badack"

# ---- errors
out=$("$BIN" append "$T" --shard $SHARD --input "$FIX/_mem_wal/$SHARD/wal/0100000000000000000000000000000000000000000000000000000000000000.arrow" 2>&1 >/dev/null); rc=$?
check "no rows exit" 1 $rc
contains "no rows msg" "has no rows" "$out"
check "no rows: nothing claimed" '"version":10,"writer_epoch":6' "$("$BIN" inspect "$T" --shard $SHARD | cut -d, -f1-2 | sed 's/^{//')"
printf 'garbage' > "$TMP/bad.arrows"
"$BIN" append "$T" --shard $SHARD --input "$TMP/bad.arrows" >/dev/null 2>&1; check "corrupt input exit" 1 $?
"$BIN" append "$T" --shard $SHARD --input "$TMP/missing.arrows" >/dev/null 2>&1; check "missing input exit" 1 $?
"$BIN" append "$TMP/nope" --shard $SHARD --input "$INPUT" >/dev/null 2>&1; check "missing table exit" 1 $?
check "missing table not created" no "$([ -e "$TMP/nope" ] && echo yes || echo no)"
"$BIN" tail "$TMP/nope" --shard $SHARD >/dev/null 2>&1; check "tail missing table exit" 1 $?
# a corrupt entry: lines before it are printed, then exit 1
cp -r "$FIX" "$TMP/c.lance" && chmod -R u+w "$TMP/c.lance"
printf 'xx' > "$TMP/c.lance/_mem_wal/$SHARD/wal/1100000000000000000000000000000000000000000000000000000000000000.arrow"
out=$("$BIN" tail "$TMP/c.lance" --shard $SHARD 2>"$TMP/e"); rc=$?
check "corrupt entry exit" 1 $rc
check "corrupt entry: earlier lines" "$(printf '%s\n' "$L1" "$L2")" "$out"
contains "corrupt entry msg names the object" "wal/1100000000000000000000000000000000000000000000000000000000000000.arrow" "$(cat "$TMP/e")"
# a sealed shard cannot be appended to: covered in test_wal.c (needs a manifest edit)

"$BIN" tail "$FIX" >/dev/null 2>&1; check "tail no shard" 2 $?
"$BIN" tail --shard $SHARD >/dev/null 2>&1; check "tail no uri" 2 $?
"$BIN" tail "$FIX" --shard $SHARD --from x >/dev/null 2>&1; check "tail bad from" 2 $?
"$BIN" tail "$FIX" --shard $SHARD --to -1 >/dev/null 2>&1; check "tail bad to" 2 $?
"$BIN" tail "$FIX" --shard bad >/dev/null 2>&1; check "tail bad uuid" 2 $?
"$BIN" tail "$FIX" --shard $SHARD --bogus >/dev/null 2>&1; check "tail unknown option" 2 $?
"$BIN" append "$T" --shard $SHARD >/dev/null 2>&1; check "append no input" 2 $?
"$BIN" append "$T" --input "$INPUT" >/dev/null 2>&1; check "append no shard" 2 $?
"$BIN" append "$T" --shard $SHARD --input "$INPUT" --first-position z >/dev/null 2>&1; check "append bad first" 2 $?
"$BIN" append "$T" --shard $SHARD --input "$INPUT" --what >/dev/null 2>&1; check "append unknown option" 2 $?
check "usage errors wrote nothing" '"version":10,"writer_epoch":6' "$("$BIN" inspect "$T" --shard $SHARD | cut -d, -f1-2 | sed 's/^{//')"

exit $fail
