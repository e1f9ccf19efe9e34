#!/usr/bin/env bash
# s3_tombstone.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - takeover and
# deletes between our ShardWriter and real Lance (LanceDB 0.39.0 / Lance
# core 12) on S3 (Ceph radosgw):
#  (a) LanceDB leaves ids 1,2,3 unflushed (entries with `_tombstone`);
#      `memwal put` of {id, name} rows without `_tombstone` takes the shard
#      over on s3:// and `memwal delete` deletes 2 (unflushed);
#  (b) LanceDB takes the shard back (replays our put and tombstone), writes
#      50 and flushes: its read hides 2;
#  (c) our `memwal delete 3 --flush-on-close` (a tombstone-only generation
#      on S3) hides 3 in LanceDB's read.
# Environment as s3_lance.sh (MW_TEST_S3_URI, AWS_*). Missing node, peers
# or S3 settings is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_memwal_write.mjs lancedb_read.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
need_s3 tomb
js_tmp "$HERE"/tomb_rows.mjs
T="$base/db/t.lance"
rows() { node "$TMP/js/tomb_rows.mjs" "$@" || die "tomb_rows.mjs $*"; }
run() { # label, command...
  local label=$1; shift
  out=$("$@" 2>"$TMP/err"); rc=$?
  [ $rc -eq 0 ] || cat "$TMP/err" >&2
  check "$label exit" 0 $rc
}

# ---- (a)
node "$PEERS/lancedb_memwal_write.mjs" "$base/db" t 1,2,3 --create >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write --create on $base/db"; }
SH=$(shard_of "$prefix/db")
check "(a) one shard on S3" 1 "$(printf '%s\n' "$SH" | grep -c .)"
rows "$TMP/a.arrows" 4=x4
run "(a) put without _tombstone onto Lance's unflushed entry (S3)" "$BIN" put "$T" --shard "$SH" --input "$TMP/a.arrows"
rows "$TMP/k.arrows" 2 --keys
run "(a) delete 2 (S3)" "$BIN" delete "$T" --shard "$SH" --input "$TMP/k.arrows"
check "(a) our tombstone in the WAL on S3" \
  '{"position": 5, "writer_epoch": 3, "fence": false, "batches": 1, "rows": [{"id": 2, "name": null, "_tombstone": true}]}' \
  "$("$BIN" tail "$T" --shard "$SH" | grep '^{"position": 5,')"

# ---- (b)
node "$PEERS/lancedb_memwal_write.mjs" "$base/db" t 50 --close >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_memwal_write 50 --close (takeover of our shard on S3)"; }
check "(b) LanceDB's takeover replays our delete (S3)" "1,3,4,50 4" "$(lance_ids "$T")"

# ---- (c)
rows "$TMP/k3.arrows" 3 --keys
run "(c) delete 3 --flush-on-close (S3)" "$BIN" delete "$T" --shard "$SH" --input "$TMP/k3.arrows" --flush-on-close
check "(c) our flushed tombstone hides 3 (S3)" "1,4,50 3" "$(lance_ids "$T")"
exit $fail
