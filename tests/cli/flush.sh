#!/usr/bin/env bash
# flush.sh MEMWAL_BIN SHARED_DIR - MemTable flushes from the CLI:
# `put --flush-on-close`, `memwal flush`, the generations `inspect` shows,
# and `scan` after a flush (nothing flushed is replayed again). Exact JSON;
# generation folder names are random ({8 hex}_gen_{g}) and masked.
set -u
BIN=$1
SHARED=$2
INPUT=$(dirname "$0")/../data/wal_append_input.arrows # ids 11, 12 (+ an empty batch)
FIX=$SHARED/fixtures/lance12_reference_table.lance
FSHARD=aa48498d-ac91-59e2-8452-69f46010ace2
S=33333333-4444-4555-8666-777777777777
. "$(dirname "$0")/common.sh"
mask() { sed -E 's/"path":"[0-9a-f]{8}_gen_/"path":"HEX_gen_/g; s/"(put|close)_seconds": [0-9.]+/"\1_seconds": T/g'; }
mk_tmp
T=$TMP/t
SCHEMA='{"schema": {"fields": [{"name": "id", "type": "int64", "nullable": false, "metadata": {"lance-schema:unenforced-primary-key:position": "1"}}, {"name": "name", "type": "utf8", "nullable": true, "metadata": {}}, {"name": "_tombstone", "type": "bool", "nullable": false, "metadata": {}}], "metadata": {}}}'
G1='{"generation":1,"path":"HEX_gen_1","in_memory_bytes":35,"physical_rows":2,"primary_key_bytes":16}'
G2='{"generation":2,"path":"HEX_gen_2","in_memory_bytes":35,"physical_rows":2,"primary_key_bytes":16}'

out=$("$BIN" put "$T" --shard $S --input "$INPUT" --flush-on-close | mask); rc=${PIPESTATUS[0]}
check "put flush exit" 0 $rc
check "put flush json" '{"epoch": 1, "puts": 1, "rows": 2, "wal_entries": 1, "generations": 1, "put_seconds": T, "close_seconds": T}' "$out"
check "inspect gen 1" '{"version":2,"writer_epoch":1,"replay_after_wal_entry_position":1,"wal_entry_position_last_seen":1,"current_generation":2,"flushed_generations":['"$G1"'],"shard_spec_id":0,"shard_id":"'$S'","status":"ACTIVE"}' "$("$BIN" inspect "$T" --shard $S | mask)"
n=$(ls -d "$T"/_mem_wal/$S/*_gen_1 | wc -l)
check "one folder" 1 "$n"
for f in bloom_filter.bin _pk_index/page_data.lance _pk_index/page_lookup.lance _versions/18446744073709551614.manifest; do
  [ -f "$(ls -d "$T"/_mem_wal/$S/*_gen_1)/$f" ] || { echo "FAIL folder lacks $f" >&2; fail=1; }
done

# The same ids again (an update), not flushed: scan replays only these.
out=$("$BIN" put "$T" --shard $S --input "$INPUT" | mask)
check "put again" '{"epoch": 2, "puts": 1, "rows": 2, "wal_entries": 1, "put_seconds": T, "close_seconds": T}' "$out"
check "scan unflushed only" "$SCHEMA
{\"id\": 11, \"name\": \"n11\", \"_tombstone\": false}
{\"id\": 12, \"name\": \"n12\", \"_tombstone\": false}" "$("$BIN" scan "$T" --shard $S)"

# memwal flush: replays 2 rows (entry 2), flushes generation 2 covering
# through its own fence entry at 3 (1 is the fence of the second put; scan
# is read-only: no epoch, no fence).
check "flush" '{"epoch": 3, "replayed_rows": 2, "generations": 1, "flushed_rows": 2}' "$("$BIN" flush "$T" --shard $S)"
check "inspect gen 2" '{"version":5,"writer_epoch":3,"replay_after_wal_entry_position":4,"wal_entry_position_last_seen":4,"current_generation":3,"flushed_generations":['"$G1,$G2"'],"shard_spec_id":0,"shard_id":"'$S'","status":"ACTIVE"}' "$("$BIN" inspect "$T" --shard $S | mask)"
check "scan after flush" "$SCHEMA" "$("$BIN" scan "$T" --shard $S)"
check "scan --claim after flush" "$SCHEMA" "$("$BIN" scan "$T" --shard $S --claim)" # claims epoch 4
check "flush empty" '{"epoch": 5, "replayed_rows": 0, "generations": 0, "flushed_rows": 0}' "$("$BIN" flush "$T" --shard $S)"
check "no third generation" 2 "$(ls -d "$T"/_mem_wal/$S/*_gen_* | wc -l)"

# Lance 12 fixture: flush its unflushed WAL (ids 7, 8, 9, 3, 10) as
# generation 2 after Lance's generation 1.
cp -r "$FIX" "$TMP/f.lance" && chmod -R u+w "$TMP/f.lance"
check "fixture flush" '{"epoch": 5, "replayed_rows": 5, "generations": 1, "flushed_rows": 5}' "$("$BIN" flush "$TMP/f.lance" --shard $FSHARD --first-position 1)"
check "fixture inspect" '{"version":10,"writer_epoch":5,"replay_after_wal_entry_position":8,"wal_entry_position_last_seen":8,"current_generation":3,"flushed_generations":[{"generation":1,"path":"HEX_gen_1","in_memory_bytes":166,"physical_rows":6,"primary_key_bytes":48},{"generation":2,"path":"HEX_gen_2","in_memory_bytes":81,"physical_rows":5,"primary_key_bytes":40}],"shard_spec_id":1,"shard_id":"'$FSHARD'","status":"ACTIVE"}' "$("$BIN" inspect "$TMP/f.lance" --shard $FSHARD | mask)"
check "fixture scan empty" 1 "$("$BIN" scan "$TMP/f.lance" --shard $FSHARD --first-position 1 | wc -l)"

# bench --flush-on-close: every generated row ends up in generations.
out=$("$BIN" bench "$TMP/b" --shard $S --rows 2500 --batch-rows 1000 --dim 4 --quiet --flush-on-close | sed -E 's/.*"generations": ([0-9]+), "flushed_rows": ([0-9]+).*/\1 \2/')
check "bench flush" "1 2500" "$out"

# errors
"$BIN" flush "$T" >/dev/null 2>&1; check "flush no shard" 2 $?
"$BIN" flush "$TMP/none" --shard $S >/dev/null 2>&1; check "flush missing shard" 1 $?
"$BIN" put "$T" --shard $S --input "$INPUT" --what >/dev/null 2>&1; check "put unknown option" 2 $?
exit $fail
