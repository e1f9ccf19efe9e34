#!/usr/bin/env bash
# s3_lance.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - WAL interop with
# real Lance (LanceDB 0.39.0 / Lance core 12.0.0) on S3 (Ceph radosgw):
#  (a) LanceDB writes a shard under s3://BUCKET/PREFIX; `memwal tail` and
#      `memwal inspect` read it through our s3:// store;
#  (b) takeover: we append rows 100,101 at position 2 with `memwal append
#      --first-position 1`; LanceDB claims the shard, replays our entry,
#      writes row 5 and flushes; it reads back exactly ids 1,2,3,5,100,101.
# Environment (set by CTest with -DMW_TEST_S3=ON): MW_TEST_S3_URI,
# AWS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
# AWS_ALLOW_HTTP - the same variables serve Lance and memwal.
# Missing node, peers or S3 settings is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_memwal_write.mjs lancedb_read.mjs node_modules/@lancedb/lancedb/
need_s3 interop
js_tmp "$HERE"/lance_wal_input.mjs

# ---- (a) Lance writes on S3, we read
node "$PEERS/lancedb_memwal_write.mjs" "$base/db" t 1,2,3 --create >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write --create on $base/db"; }
SH=$(shard_of "$prefix/db")
check "(a) one shard on S3" 1 "$(printf '%s\n' "$SH" | grep -c .)"
out=$("$BIN" tail "$base/db/t.lance" --shard "$SH" 2>"$TMP/err"); rc=$?
check "(a) tail exit" 0 $rc
[ $rc -eq 0 ] || cat "$TMP/err" >&2
check "(a) tail reads Lance's entry from S3" \
  '{"position": 1, "writer_epoch": 1, "fence": false, "batches": 1, "rows": [{"id": 1, "name": "n1", "_tombstone": false}, {"id": 2, "name": "n2", "_tombstone": false}, {"id": 3, "name": "n3", "_tombstone": false}]}' \
  "$out"
insp=$("$BIN" inspect "$base/db/t.lance" --shard "$SH" 2>"$TMP/err")
check "(a) inspect" \
  "{\"version\":1,\"writer_epoch\":1,\"replay_after_wal_entry_position\":0,\"wal_entry_position_last_seen\":0,\"current_generation\":1,\"flushed_generations\":[],\"shard_spec_id\":1,\"shard_id\":\"$SH\",\"status\":\"ACTIVE\"}" \
  "$insp"

# ---- (b) we append on S3, Lance takes over
node "$TMP/js/lance_wal_input.mjs" "$TMP/ours.arrows" 100,101 >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lance_wal_input.mjs"; }
out=$("$BIN" append "$base/db/t.lance" --shard "$SH" --input "$TMP/ours.arrows" --first-position 1 2>"$TMP/err"); rc=$?
check "(b) append exit" 0 $rc
[ $rc -eq 0 ] || cat "$TMP/err" >&2
check "(b) append json" '{"position": 2, "writer_epoch": 2, "rows": 2}' "$out"
node "$PEERS/lancedb_memwal_write.mjs" "$base/db" t 5 --close >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write 5 --close (Lance could not take over our WAL on S3)"; }
check "(b) Lance returns our rows after replay (S3)" "1,2,3,5,100,101 6" "$(lance_ids "$base/db/t.lance")"
insp=$("$BIN" inspect "$base/db/t.lance" --shard "$SH")
check "(b) Lance's epoch after takeover" 3 "$(printf '%s' "$insp" | sed 's/.*"writer_epoch":\([0-9]*\),.*/\1/')"
check "(b) our entry still at position 2" \
  '{"position": 2, "writer_epoch": 2, "fence": false, "batches": 1, "rows": [{"id": 100, "name": "n100", "_tombstone": false}, {"id": 101, "name": "n101", "_tombstone": false}]}' \
  "$("$BIN" tail "$base/db/t.lance" --shard "$SH" | grep '^{"position": 2,')"
exit $fail
