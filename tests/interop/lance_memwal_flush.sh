#!/usr/bin/env bash
# lance_memwal_flush.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - our
# flushed generations read by real Lance (LanceDB 0.39.0 / Lance core 12):
#  (1) LanceDB creates a MemWAL table (ids 1,2,3 in its WAL). We take the
#      shard over (first position 1) and `memwal put --flush-on-close`
#      twice: generation 1 = the replayed 1,2,3 + 100,101; generation 2 =
#      an update of id 2 + 102. LanceDB's LSM read returns exactly
#      1,2,3,100,101,102 with id 2 = our update (it hides generation 1's
#      copy). We then put id 103 without flushing; LanceDB takes over,
#      replays only that (after our replay cursor), writes 50 and flushes;
#      the LSM read returns ours and its rows.
#  (2) LanceDB flushes a generation (1,2,3,4) and leaves 5,6 in its WAL; our
#      `memwal scan` replays exactly 5,6, `memwal flush` makes generation 2,
#      and the LSM read returns 1..6.
# Missing node or peers is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_memwal_write.mjs lancedb_read.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_memwal_rows.mjs
rows() { node "$TMP/js/lance_memwal_rows.mjs" "$1" "$2" || die "lance_memwal_rows.mjs $2"; }
lwrite() { node "$PEERS/lancedb_memwal_write.mjs" "$@" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "lancedb_memwal_write $*"; }; }
# id=name pairs of the LSM read, sorted by id, and query_rows
lsm() {
  node "$PEERS/lancedb_read.mjs" "$1" --max 100 >"$TMP/read.json" 2>"$TMP/err" || { cat "$TMP/err" >&2; echo "READ FAILED"; return; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(r.rows.map((x) => [Number(x.id), x.name]).sort((a, b) => a[0] - b[0]).map((p) => p.join("=")).join(","), r.query_rows);
  ' "$TMP/read.json"
}
field() { sed 's/.*"'"$1"'":\([0-9]*\).*/\1/'; }

# ---- (1)
lwrite "$TMP/db" t 1,2,3 --create
SH=$(ls "$TMP/db/t.lance/_mem_wal" | head -1)
T=$TMP/db/t.lance
rows "$TMP/a.arrows" 100=ours100,101=ours101
out=$("$BIN" put "$T" --shard "$SH" --first-position 1 --input "$TMP/a.arrows" --flush-on-close 2>"$TMP/err"); rc=$?
[ $rc -eq 0 ] || cat "$TMP/err" >&2
check "(1) put 1 exit" 0 $rc
check "(1) put 1 generations" 1 "$(printf '%s' "$out" | sed 's/.*"generations": \([0-9]*\).*/\1/')"
insp=$("$BIN" inspect "$T" --shard "$SH")
# positions: 1 = Lance's ids 1,2,3; 2 = our fence; 3 = our rows
check "(1) replay_after after gen 1" 3 "$(printf '%s' "$insp" | field replay_after_wal_entry_position)"
check "(1) current_generation" 2 "$(printf '%s' "$insp" | field current_generation)"
check "(1) gen 1 rows" 5 "$(printf '%s' "$insp" | field physical_rows)"
rows "$TMP/b.arrows" 2=updated2,102=ours102
out=$("$BIN" put "$T" --shard "$SH" --first-position 1 --input "$TMP/b.arrows" --flush-on-close 2>"$TMP/err"); rc=$?
[ $rc -eq 0 ] || cat "$TMP/err" >&2
check "(1) put 2 exit" 0 $rc
check "(1) LSM read: our generations, id 2 updated" "1=n1,2=updated2,3=n3,100=ours100,101=ours101,102=ours102 6" "$(lsm "$T")"
# each folder opens on its own with its exact rows
for g in 1 2; do
  d=$(ls -d "$T/_mem_wal/$SH"/*_gen_$g)
  got=$(node "$PEERS/lancedb_read.mjs" "$d" --max 100 --no-lsm 2>"$TMP/err" | node -e '
    let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
      const r = JSON.parse(s); console.log(r.count_rows, r.rows.map((x) => x.id + "=" + x.name).join(",")); });')
  [ $g = 1 ] && exp="5 1=n1,2=n2,3=n3,100=ours100,101=ours101" || exp="2 2=updated2,102=ours102"
  check "(1) generation $g folder read by Lance" "$exp" "$got"
done
# unflushed row 103, then LanceDB takes over: replays only 103
rows "$TMP/c.arrows" 103=ours103
"$BIN" put "$T" --shard "$SH" --first-position 1 --input "$TMP/c.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "put 103"; }
lwrite "$TMP/db" t 50 --close
check "(1) LSM read after Lance's takeover" "1=n1,2=updated2,3=n3,50=n50,100=ours100,101=ours101,102=ours102,103=ours103 8" "$(lsm "$T")"
insp=$("$BIN" inspect "$T" --shard "$SH")
check "(1) Lance's generation 3 holds only 103 and 50" 2 "$(printf '%s' "$insp" | sed 's/.*"generation":3,[^}]*"physical_rows":\([0-9]*\).*/\1/')"
check "(1) current_generation after Lance" 4 "$(printf '%s' "$insp" | field current_generation)"

# ---- (2)
lwrite "$TMP/db2" t 1,2,3 --create
lwrite "$TMP/db2" t 4 --close
lwrite "$TMP/db2" t 5,6
T2=$TMP/db2/t.lance
SH2=$(ls "$T2/_mem_wal" | head -1)
out=$("$BIN" scan "$T2" --shard "$SH2" --first-position 1 2>"$TMP/err" | tail -n +2 | tr '\n' ' '); 
check "(2) scan replays only Lance's unflushed WAL" '{"id": 5, "name": "n5", "_tombstone": false} {"id": 6, "name": "n6", "_tombstone": false} ' "$out"
out=$("$BIN" flush "$T2" --shard "$SH2" --first-position 1 2>"$TMP/err"); rc=$?
[ $rc -eq 0 ] || cat "$TMP/err" >&2
check "(2) flush" '"replayed_rows": 2, "generations": 1, "flushed_rows": 2}' "$(printf '%s' "$out" | sed 's/.*\("replayed_rows"\)/\1/')"
check "(2) LSM read" "1=n1,2=n2,3=n3,4=n4,5=n5,6=n6 6" "$(lsm "$T2")"
check "(2) scan after our flush is empty" 1 "$("$BIN" scan "$T2" --shard "$SH2" --first-position 1 | wc -l)"
exit $fail
