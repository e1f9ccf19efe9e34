#!/usr/bin/env bash
# s3_writer.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - our ShardWriter
# and real Lance (LanceDB 0.39.0 / Lance core 12.0.0) on the same shard on
# S3 (Ceph radosgw):
#  (a) LanceDB creates the table and writes ids 1,2,3 (WAL only, like a
#      crash); `memwal put` takes the shard over through our ShardWriter on
#      s3:// (claims epoch 2, replays Lance's entry, writes ids 100,101 as a
#      durable put); `memwal scan --claim` (through our ShardWriter, claiming
#      epoch 3) replays both writers' entries from S3;
#  (b) LanceDB takes the shard back (claims, replays OUR entry, writes id 5,
#      flushes a generation) and reads exactly ids 1,2,3,5,100,101;
#  (c) we write again after Lance (ids 200,201, --flush-on-close: a
#      generation folder flushed by us on S3) and LanceDB reads it.
# Environment as s3_lance.sh (MW_TEST_S3_URI, AWS_*). Missing node, peers
# or S3 settings is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_memwal_write.mjs lancedb_read.mjs node_modules/@lancedb/lancedb/
need_s3 writer
js_tmp "$HERE"/lance_wal_input.mjs
T="$base/db/t.lance"
scan_ids() { # our ShardWriter's replay of the shard (scan --claim: through a writer) -> sorted ids
  "$BIN" scan "$T" --shard "$SH" --first-position 1 --claim 2>"$TMP/err" | grep -o '"id": [0-9]*' | sed 's/"id": //' \
    | sort -n | paste -sd, -
}

# ---- (a) Lance writes, our ShardWriter takes over on S3
node "$PEERS/lancedb_memwal_write.mjs" "$base/db" t 1,2,3 --create >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write --create on $base/db"; }
SH=$(shard_of "$prefix/db")
check "(a) one shard on S3" 1 "$(printf '%s\n' "$SH" | grep -c .)"
node "$TMP/js/lance_wal_input.mjs" "$TMP/ours.arrows" 100,101 >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lance_wal_input.mjs"; }
out=$("$BIN" put "$T" --shard "$SH" --input "$TMP/ours.arrows" --first-position 1 2>"$TMP/err"); rc=$?
check "(a) put exit" 0 $rc
[ $rc -eq 0 ] || cat "$TMP/err" >&2
check "(a) put: epoch 2, one durable put of 2 rows" '"epoch": 2, "puts": 1, "rows": 2, "wal_entries": 1' \
  "$(printf '%s' "$out" | grep -o '"epoch": [0-9]*, "puts": [0-9]*, "rows": [0-9]*, "wal_entries": [0-9]*')"
check "(a) our entry at position 3 (Lance: 1, our fence: 2)" \
  '{"position": 3, "writer_epoch": 2, "fence": false, "batches": 1, "rows": [{"id": 100, "name": "n100", "_tombstone": false}, {"id": 101, "name": "n101", "_tombstone": false}]}' \
  "$("$BIN" tail "$T" --shard "$SH" | grep '^{"position": 3,')"
check "(a) our ShardWriter replays Lance's and our entries from S3" "1,2,3,100,101" "$(scan_ids)"

# ---- (b) Lance takes over the shard we wrote on S3
node "$PEERS/lancedb_memwal_write.mjs" "$base/db" t 5 --close >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write 5 --close (Lance could not take over our shard on S3)"; }
check "(b) LanceDB reads our rows after its takeover (S3)" "1,2,3,5,100,101 6" "$(lance_ids "$T")"
insp=$("$BIN" inspect "$T" --shard "$SH")
check "(b) Lance's epoch after takeover" 4 "$(printf '%s' "$insp" | sed 's/.*"writer_epoch":\([0-9]*\),.*/\1/')"

# ---- (c) we write after Lance and flush a generation on S3; Lance reads it
node "$TMP/js/lance_wal_input.mjs" "$TMP/ours2.arrows" 200,201 >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lance_wal_input.mjs"; }
out=$("$BIN" put "$T" --shard "$SH" --input "$TMP/ours2.arrows" --first-position 1 --flush-on-close 2>"$TMP/err"); rc=$?
check "(c) put --flush-on-close exit" 0 $rc
[ $rc -eq 0 ] || cat "$TMP/err" >&2
check "(c) our epoch after Lance's" '"epoch": 5' "$(printf '%s' "$out" | grep -o '"epoch": [0-9]*')"
check "(c) LanceDB reads the generation we flushed on S3" "1,2,3,5,100,101,200,201 8" "$(lance_ids "$T")"
"$BIN" scan "$T" --shard "$SH" --first-position 1 --claim >"$TMP/scan.txt" 2>"$TMP/err"; rc=$?
check "(c) scan exit" 0 $rc
check "(c) our ShardWriter: the flushed rows are not replayed again" 0 "$(grep -c '"id": [0-9]' "$TMP/scan.txt")"
exit $fail
