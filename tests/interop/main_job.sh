#!/usr/bin/env bash
# main_job.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - the README's main
# job (`ROWS=3000 BATCH_ROWS=500 scripts/run-main.sh DIR`, with this build's
# memwal) makes a real Lance table that LanceDB 0.39 opens and reads through
# its LSM path: every id 0..2999 exactly once, in the 4 bucket shards
# LanceDB itself would use; running the job again reuses the table and
# upserts the same ids (still 3000 rows, a newer table writer epoch).
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/
mk_tmp
ROOT=$HERE/../..
LSM=$PEERS/lancedb_lsm.mjs
ids() { # DIR -> "count first last distinct"
  # to a file: the peer exits right after printing, which can cut a pipe short
  node "$LSM" read "$1" table --columns id >"$TMP/read.json" 2>/dev/null
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows
      .map((x) => Number(x.id)).sort((a, b) => a - b);
    console.log(r.length, r[0], r[r.length - 1], new Set(r).size);' "$TMP/read.json"
}
out=$(MEMWAL_BIN=$BIN ROWS=3000 BATCH_ROWS=500 bash "$ROOT/scripts/run-main.sh" "$TMP/job" 2>"$TMP/err"); rc=$?
check "main job exit" 0 $rc
[ $rc = 0 ] || cat "$TMP/err"
contains "main job created the table" "creating the Lance table" "$out"
contains "main job routed to 4 shards" '"bucket":3' "$out"
check "LanceDB reads every row once through its LSM path" "3000 0 2999 3000" "$(ids "$TMP/job")"
spec=$(node "$LSM" spec "$TMP/job" table 2>/dev/null)
contains "LanceDB sees the bucket spec" 'bucket' "$spec"
check "4 shard folders" 4 "$(ls "$TMP/job/table.lance/_mem_wal" | wc -l)"
out=$(MEMWAL_BIN=$BIN ROWS=3000 BATCH_ROWS=500 bash "$ROOT/scripts/run-main.sh" "$TMP/job" 2>"$TMP/err"); rc=$?
check "second run exit" 0 $rc
contains "second run reuses the table" "reusing the Lance table" "$out"
check "still every row once" "3000 0 2999 3000" "$(ids "$TMP/job")"
exit $fail
