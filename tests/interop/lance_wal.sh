#!/usr/bin/env bash
# lance_wal.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - live interop of
# the WAL with real Lance (LanceDB 0.39.0 / Lance core 12.0.0):
#  (a) a shard freshly written by make_reference_shard.sh is read by
#      `memwal tail` / `memwal inspect` exactly like the committed fixture;
#  (b) takeover: on a table created by LanceDB (WAL entry at position 1,
#      epoch 1) we append rows 100,101 with `memwal append --first-position
#      1`; LanceDB then claims the shard, replays the WAL including our
#      entry, writes row 5 and flushes a generation; lancedb_read.mjs must
#      return exactly ids 1,2,3,5,100,101.
# Missing node or peers is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_memwal_write.mjs lancedb_read.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
[ -f "$SHARED/peers/make_reference_shard.sh" ] || die "missing $SHARED/peers/make_reference_shard.sh"

js_tmp "$HERE"/lance_*.mjs

# ---- (a) a fresh reference shard written by real Lance
shard_dir=$(bash "$SHARED/peers/make_reference_shard.sh" "$PEERS" "$TMP/ref" 2>"$TMP/err") \
  || { cat "$TMP/err" >&2; die "make_reference_shard.sh"; }
SH=$(basename "$shard_dir")
echo "reference shard $SH"
ROWS='[{"id": 1, "name": "n1", "_tombstone": false}, {"id": 2, "name": "n2", "_tombstone": false}, {"id": 3, "name": "n3", "_tombstone": false}]'
EXP=$(cat <<EOF
{"position": 1, "writer_epoch": 1, "fence": false, "batches": 1, "rows": $ROWS}
{"position": 2, "writer_epoch": 2, "fence": true, "batches": 0, "rows": []}
{"position": 3, "writer_epoch": 2, "fence": false, "batches": 1, "rows": [{"id": 4, "name": "n4", "_tombstone": false}, {"id": 5, "name": "n5", "_tombstone": false}, {"id": 6, "name": "n6", "_tombstone": false}]}
{"position": 4, "writer_epoch": 3, "fence": true, "batches": 0, "rows": []}
{"position": 5, "writer_epoch": 3, "fence": false, "batches": 1, "rows": [{"id": 7, "name": "n7", "_tombstone": false}, {"id": 8, "name": "n8", "_tombstone": false}, {"id": 9, "name": "n9", "_tombstone": false}]}
{"position": 6, "writer_epoch": 4, "fence": true, "batches": 0, "rows": []}
{"position": 7, "writer_epoch": 4, "fence": false, "batches": 1, "rows": [{"id": 3, "name": "n3", "_tombstone": false}, {"id": 10, "name": "n10", "_tombstone": false}]}
EOF
)
out=$("$BIN" tail "$TMP/ref/t.lance" --shard "$SH" 2>"$TMP/err"); rc=$?
check "(a) tail exit" 0 $rc
[ $rc -eq 0 ] || cat "$TMP/err" >&2
check "(a) tail lines (as the fixture)" "$EXP" "$out"
check "(a) tail = tail of the committed fixture" \
  "$("$BIN" tail "$SHARED/fixtures/lance12_reference_table.lance" --shard aa48498d-ac91-59e2-8452-69f46010ace2)" "$out"
insp=$("$BIN" inspect "$TMP/ref/t.lance" --shard "$SH")
# Generation folder names and byte counts depend on the run: compare the rest.
norm=$(printf '%s' "$insp" | sed 's/"path":"[0-9a-f]\{8\}_gen_1"/"path":"X_gen_1"/; s/"in_memory_bytes":[0-9]*/"in_memory_bytes":B/; s/"primary_key_bytes":[0-9]*/"primary_key_bytes":B/')
check "(a) inspect" "{\"version\":8,\"writer_epoch\":4,\"replay_after_wal_entry_position\":3,\"wal_entry_position_last_seen\":6,\"current_generation\":2,\"flushed_generations\":[{\"generation\":1,\"path\":\"X_gen_1\",\"in_memory_bytes\":B,\"physical_rows\":6,\"primary_key_bytes\":B}],\"shard_spec_id\":1,\"shard_id\":\"$SH\",\"status\":\"ACTIVE\"}" "$norm"

# ---- (b) takeover of our WAL entry by Lance
node "$PEERS/lancedb_memwal_write.mjs" "$TMP/db" t 1,2,3 --create >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write --create"; }
n=$(ls "$TMP/db/t.lance/_mem_wal" | wc -l)
check "(b) one shard" 1 "$n"
SB=$(ls "$TMP/db/t.lance/_mem_wal" | head -1)
node "$TMP/js/lance_wal_input.mjs" "$TMP/ours.arrows" 100,101 >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lance_wal_input.mjs"; }
# Our input has exactly the schema of Lance's own WAL entries (fields and metadata).
lance_schema=$("$BIN" ipc-cat "$TMP/db/t.lance/_mem_wal/$SB/wal/1000000000000000000000000000000000000000000000000000000000000000.arrow" | head -1)
check "(b) our input schema = Lance's entry schema (minus writer_epoch)" \
  "$(printf '%s' "$lance_schema" | sed 's/"metadata": {"writer_epoch": "1"}}}$/"metadata": {}}}/')" \
  "$("$BIN" ipc-cat "$TMP/ours.arrows" | head -1)"
out=$("$BIN" append "$TMP/db/t.lance" --shard "$SB" --input "$TMP/ours.arrows" --first-position 1 2>"$TMP/err"); rc=$?
check "(b) append exit" 0 $rc
[ $rc -eq 0 ] || cat "$TMP/err" >&2
check "(b) append json" '{"position": 2, "writer_epoch": 2, "rows": 2}' "$out"
node "$PEERS/lancedb_memwal_write.mjs" "$TMP/db" t 5 --close >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write 5 --close (Lance could not take over our WAL)"; }
check "(b) Lance returns our rows after replay" "1,2,3,5,100,101 6" "$(lance_ids "$TMP/db/t.lance")"
names=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(r.rows.filter((x) => Number(x.id) >= 100).map((x) => x.id + "=" + x.name).sort().join(","));
' "$TMP/read.json")
check "(b) our rows' names" "100=n100,101=n101" "$names"
# Lance claimed epoch 3 after ours and wrote past our entry; its flush covers it.
insp=$("$BIN" inspect "$TMP/db/t.lance" --shard "$SB")
check "(b) Lance's epoch after takeover" 3 "$(printf '%s' "$insp" | sed 's/.*"writer_epoch":\([0-9]*\),.*/\1/')"
rap=$(printf '%s' "$insp" | sed 's/.*"replay_after_wal_entry_position":\([0-9]*\),.*/\1/')
[ "$rap" -ge 2 ] && echo "ok   (b) replay_after ($rap) covers our position 2" \
  || { echo "FAIL (b) replay_after $rap < 2" >&2; fail=1; }
"$BIN" tail "$TMP/db/t.lance" --shard "$SB" > "$TMP/tail.txt" || { echo "FAIL (b) tail after takeover" >&2; fail=1; }
check "(b) our entry still at position 2" \
  '{"position": 2, "writer_epoch": 2, "fence": false, "batches": 1, "rows": [{"id": 100, "name": "n100", "_tombstone": false}, {"id": 101, "name": "n101", "_tombstone": false}]}' \
  "$(grep '^{"position": 2,' "$TMP/tail.txt")"
# ---- (c) the same takeover with `append --fence`: Lance replays past our
# fence entry (empty schema, no batch, fence_sentinel: byte-for-byte what Lance writes) too.
node "$PEERS/lancedb_memwal_write.mjs" "$TMP/db2" t 1,2,3 --create >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write --create (c)"; }
SC=$(ls "$TMP/db2/t.lance/_mem_wal" | head -1)
out=$("$BIN" append "$TMP/db2/t.lance" --shard "$SC" --input "$TMP/ours.arrows" --first-position 1 --fence 2>"$TMP/err"); rc=$?
check "(c) append --fence exit" 0 $rc
check "(c) append --fence json" '{"position": 3, "writer_epoch": 2, "rows": 2, "fence_position": 2}' "$out"
node "$PEERS/lancedb_memwal_write.mjs" "$TMP/db2" t 5 --close >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write 5 --close after our fence entry"; }
check "(c) Lance returns our rows after replaying our fence + entry" "1,2,3,5,100,101 6" \
  "$(lance_ids "$TMP/db2/t.lance")"
exit $fail
