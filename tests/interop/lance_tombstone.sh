#!/usr/bin/env bash
# lance_tombstone.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - deletes
# (tombstones) and takeover between our ShardWriter and real Lance
# (LanceDB 0.39.0 / Lance core 12), file://:
#  (1) LanceDB leaves ids 1,2,3 unflushed in its WAL (entries with
#      `_tombstone`); `memwal put` of {id, name} rows WITHOUT `_tombstone`
#      takes the shard over (this used to fail: "expected 2 columns, got
#      3"), `memwal delete` deletes 2 and 5 (unflushed), our writer's scan
#      shows the newest live rows, and the WAL holds our tombstone rows as
#      Lance writes them. LanceDB then takes the shard over (replays our
#      puts and tombstones), writes 50 and flushes: its LSM read hides 2, 5.
#  (2) LanceDB flushes 1,2,3 as a generation; `memwal delete 2
#      --flush-on-close` writes a tombstone-only generation that Lance opens
#      (one row, _tombstone true) and that hides 2 in the LSM read; a later
#      put of 2 brings it back with the new value.
#  (3) a table with 3 base rows (lancedb_lsm.mjs): our flushed tombstone
#      hides a base row in LanceDB's LSM read (the base itself keeps it).
#  (4) tombstone rows of every column type memwal writes (lance_types_gen.mjs
#      "all" and "nested", a not-null column among them): the generation
#      of tombstones only opens in Lance with every non-key value null.
# LanceDB 0.39 cannot write MemWAL deletes itself (its table.delete() only
# touches the base table, LSM.md section 4), so Lance-written `_tombstone =
# true` entries are covered by test_tombstone.c. Missing node or peers is a
# failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_memwal_write.mjs lancedb_read.mjs lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/tomb_rows.mjs "$HERE"/lance_types_gen.mjs
rows() { node "$TMP/js/tomb_rows.mjs" "$@" || die "tomb_rows.mjs $*"; }
lwrite() { node "$PEERS/lancedb_memwal_write.mjs" "$@" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "lancedb_memwal_write $*"; }; }
# id=name pairs of LanceDB's LSM read, sorted by id, and query_rows
lsm() {
  node "$PEERS/lancedb_read.mjs" "$1" --max 100 >"$TMP/read.json" 2>"$TMP/err" || { cat "$TMP/err" >&2; echo "READ FAILED"; return; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(r.rows.map((x) => [Number(x.id), x.name]).sort((a, b) => a[0] - b[0]).map((p) => p.join("=")).join(","), r.query_rows);
  ' "$TMP/read.json"
}
run() { # label, command...: stdout; stderr shown on failure
  local label=$1; shift
  out=$("$@" 2>"$TMP/err"); rc=$?
  [ $rc -eq 0 ] || cat "$TMP/err" >&2
  check "$label exit" 0 $rc
}

# ---- (1) we take over Lance's unflushed shard, delete, and Lance takes it back
lwrite "$TMP/db" t 1,2,3 --create
T=$TMP/db/t.lance
SH=$(ls "$T/_mem_wal" | head -1)
rows "$TMP/a.arrows" 4=x4,5=x5
run "(1) put without _tombstone onto Lance's unflushed entry" "$BIN" put "$T" --shard "$SH" --input "$TMP/a.arrows"
rows "$TMP/k.arrows" 2,5 --keys
run "(1) delete 2,5" "$BIN" delete "$T" --shard "$SH" --input "$TMP/k.arrows"
check "(1) delete summary" '{"epoch": 3, "deletes": 1, "rows": 2, "wal_entries": 1}' "$out"
check "(1) our WAL entries: puts with _tombstone false, deletes true with nulls" \
  '{"position": 3, "writer_epoch": 2, "fence": false, "batches": 1, "rows": [{"id": 4, "name": "x4", "_tombstone": false}, {"id": 5, "name": "x5", "_tombstone": false}]}
{"position": 5, "writer_epoch": 3, "fence": false, "batches": 1, "rows": [{"id": 2, "name": null, "_tombstone": true}, {"id": 5, "name": null, "_tombstone": true}]}' \
  "$("$BIN" tail "$T" --shard "$SH" | grep -E '^\{"position": [35],')"
schemas=$(for f in "$T/_mem_wal/$SH"/wal/*.arrow; do "$BIN" ipc-cat "$f" | head -1; done | sed 's/"writer_epoch": "[0-9]*"/"writer_epoch": "E"/' | sort -u)
check "(1) Lance's and our WAL entries (fences included) have one schema: Lance's" \
  '{"schema": {"fields": [{"name": "id", "type": "int64", "nullable": false, "metadata": {"lance-schema:unenforced-primary-key:position": "1"}}, {"name": "name", "type": "utf8", "nullable": true, "metadata": {}}, {"name": "_tombstone", "type": "bool", "nullable": false, "metadata": {}}], "metadata": {"writer_epoch": "E"}}}' \
  "$(printf '%s\n' "$schemas" | grep -v fence_sentinel)"
check "(1) 5 entries: Lance's, our fence, put, fence, delete" 5 "$(ls "$T/_mem_wal/$SH/wal" | wc -l)"
check "(1) our writer's scan: newest live row per key" \
  "$(printf '%s\n' '{"id": 1, "name": "n1", "_tombstone": false}' '{"id": 3, "name": "n3", "_tombstone": false}' '{"id": 4, "name": "x4", "_tombstone": false}')" \
  "$("$BIN" scan "$T" --shard "$SH" --claim | tail -n +2)"
lwrite "$TMP/db" t 50 --close
check "(1) LanceDB takes over our puts and deletes: 2 and 5 hidden" "1=n1,3=n3,4=x4,50=n50 4" "$(lsm "$T")"

# ---- (2) a tombstone-only generation hides Lance's flushed row
lwrite "$TMP/db2" t 1,2,3 --create --close
T=$TMP/db2/t.lance
SH=$(ls "$T/_mem_wal" | head -1)
rows "$TMP/k2.arrows" 2 --keys
run "(2) delete 2 --flush-on-close" "$BIN" delete "$T" --shard "$SH" --input "$TMP/k2.arrows" --flush-on-close
check "(2) delete summary" '{"epoch": 2, "deletes": 1, "rows": 1, "wal_entries": 1, "generations": 1}' "$out"
check "(2) LSM read: 2 hidden by our flushed tombstone" "1=n1,3=n3 2" "$(lsm "$T")"
g=$(ls -d "$T/_mem_wal/$SH"/*_gen_2)
got=$(node "$PEERS/lancedb_read.mjs" "$g" --max 10 --no-lsm 2>"$TMP/err" | node -e '
  let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
    const r = JSON.parse(s);
    console.log(r.count_rows, r.fields.map((f) => f.name + ":" + f.type + ":" + f.nullable).join(","),
                JSON.stringify(r.rows)); });')
check "(2) Lance opens our tombstone-only generation" \
  '1 id:Int64:false,name:Utf8:true,_tombstone:Bool:false [{"id":"2","name":null,"_tombstone":true}]' "$got"
rows "$TMP/b.arrows" 2=back
run "(2) put 2 again" "$BIN" put "$T" --shard "$SH" --input "$TMP/b.arrows" --flush-on-close
check "(2) LSM read: 2 is back with its new value" "1=n1,2=back,3=n3 3" "$(lsm "$T")"

# ---- (3) our flushed tombstone hides a base-table row
node "$PEERS/lancedb_lsm.mjs" create "$TMP/db3" t unsharded --base 3 --maintain none >/dev/null 2>"$TMP/err" \
  || { cat "$TMP/err" >&2; die "lancedb_lsm create"; }
T=$TMP/db3/t.lance
rows "$TMP/v.arrows" 7=seven --vector 8
SH=$("$BIN" route "$TMP/v.arrows" --spec unsharded | head -1 | sed 's/.*"shard":"\([^"]*\)".*/\1/')
run "(3) put 7" "$BIN" put "$T" --shard "$SH" --input "$TMP/v.arrows"
rows "$TMP/kb.arrows" 1000000001 --keys
run "(3) delete base row 1000000001" "$BIN" delete "$T" --shard "$SH" --input "$TMP/kb.arrows" --flush-on-close
ids() { node "$PEERS/lancedb_lsm.mjs" read "$TMP/db3" t --columns id "$@" 2>"$TMP/err" | grep -o '"id":"[0-9]*"' | grep -o '[0-9]*' | sort -n | paste -sd, -; }
check "(3) LSM read: the base row is hidden, ours is there" "7,1000000000,1000000002" "$(ids)"
check "(3) the base table itself keeps the row" "1000000000,1000000001,1000000002" "$(ids --no-lsm)"

# ---- (4) all-null columns of every type in a tombstone-only generation
for m in all nested; do
  node "$TMP/js/lance_types_gen.mjs" "$TMP/$m.arrows" 4 "$m" 1 || die "lance_types_gen.mjs $m"
  SH=11111111-2222-4333-8444-00000000000$([ $m = all ] && echo 1 || echo 2)
  run "(4) $m: put" "$BIN" put "$TMP/g" --shard "$SH" --input "$TMP/$m.arrows"
  rows "$TMP/k4.arrows" 0,1,2,3 --keys
  run "(4) $m: delete every key --flush-on-close" "$BIN" delete "$TMP/g" --shard "$SH" --input "$TMP/k4.arrows" --flush-on-close
  d=$(ls -d "$TMP/g/_mem_wal/$SH"/*_gen_1)
  got=$(node "$PEERS/lancedb_read.mjs" "$d" --no-lsm --max 10 2>"$TMP/err" | node -e '
    let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
      const r = JSON.parse(s);
      const nonNull = r.rows.map((x) => Object.entries(x).filter(([k, v]) => k !== "id" && k !== "_tombstone" && v !== null).length);
      console.log(r.count_rows, r.fields[r.fields.length - 1].name, nonNull.join(","), r.rows.map((x) => x._tombstone).join(","),
                  r.fields.filter((f) => f.name !== "id" && f.name !== "_tombstone" && !f.nullable).length); });')
  check "(4) $m: Lance reads 4 tombstones, every other value null, non-key columns nullable" \
    "4 _tombstone 0,0,0,0 true,true,true,true 0" "$got"
done
exit $fail
