#!/usr/bin/env bash
# query.sh MEMWAL_BIN SHARED_DIR - `memwal query` over a shard's unflushed
# rows, read-only: on a copy of the Lance 12 fixture (rows real Lance wrote)
# a scan, a filter, a point lookup and a full-text query print exactly the
# expected rows, and the table's bytes are unchanged; on generated rows with
# vectors, the exact k-NN and the HNSW k-NN agree on the nearest row, whose
# `_distance` is 0 for its own vector; bad input exits 2 with a clear message.
set -u
BIN=$1
SHARED=$2
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$SHARED/fixtures/lance12_reference_table.lance
SHARD=aa48498d-ac91-59e2-8452-69f46010ace2
. "$HERE/common.sh"
mk_tmp

SCHEMA='{"schema": {"fields": [{"name": "id", "type": "int64", "nullable": false, "metadata": {"lance-schema:unenforced-primary-key:position": "1"}}, {"name": "name", "type": "utf8", "nullable": true, "metadata": {}}], "metadata": {}}}'
row() { printf '{"id": %s, "name": "n%s"}' "$1" "$1"; }
tree() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
cp -r "$FIX" "$TMP/f.lance" && chmod -R u+w "$TMP/f.lance"
T=$TMP/f.lance
before=$(tree "$T")

# unflushed: entries 5 (7, 8, 9) and 7 (3, 10)
out=$("$BIN" query "$T" --shard $SHARD); rc=$?
check "scan exit" 0 $rc
check "scan rows" "$(printf '%s\n' "$SCHEMA" "$(row 7)" "$(row 8)" "$(row 9)" "$(row 3)" "$(row 10)")" "$out"
out=$("$BIN" query "$T" --shard $SHARD --filter "id >= 8 AND name != 'n10'")
check "filter rows" "$(printf '%s\n' "$SCHEMA" "$(row 8)" "$(row 9)")" "$out"
out=$("$BIN" query "$T" --shard $SHARD --filter "id IN (3, 7) OR name IS NULL" --limit 1)
check "filter + limit rows" "$(printf '%s\n' "$SCHEMA" "$(row 7)")" "$out"
out=$("$BIN" query "$T" --shard $SHARD --keys '[10, 42, 3, 10]' --columns name)
check "lookup rows" "$(printf '%s\n' '{"schema": {"fields": [{"name": "name", "type": "utf8", "nullable": true, "metadata": {}}], "metadata": {}}}' '{"name": "n10"}' '{"name": "n3"}' '{"name": "n10"}')" "$out"
out=$("$BIN" query "$T" --shard $SHARD --index name_idx:name:fts --fts "N9 n8" --fts-column name --columns id)
check "fts rows (ids)" "$(printf '%s\n' 8 9)" "$(echo "$out" | tail -n +2 | sed 's/{"id": \([0-9]*\),.*/\1/' | sort)"
contains "fts score column" '"_score": ' "$out"
check "table bytes unchanged by queries" "$before" "$(tree "$T")"

# vectors: generated rows put without a flush
"$BIN" gen "$TMP/in.arrows" --rows 500 --dim 16 >/dev/null || die "gen failed"
S2=11111111-2222-4333-8444-555555555555
"$BIN" put "file://$TMP/t2" --shard $S2 --input "$TMP/in.arrows" >/dev/null || die "put failed"
V=$("$BIN" query "file://$TMP/t2" --shard $S2 --keys '[123]' --columns vector | tail -1 | sed 's/{"vector": \(\[.*\]\)}/\1/')
contains "vector of row 123" "[" "$V"
exact=$("$BIN" query "file://$TMP/t2" --shard $S2 --nearest vector --vector "$V" -k 5 --columns id)
check "exact k-NN: nearest is the row itself" '{"id": 123, "_distance": 0}' "$(echo "$exact" | sed -n 2p)"
check "exact k-NN: 5 rows" 6 "$(echo "$exact" | wc -l)"
hnsw=$("$BIN" query "file://$TMP/t2" --shard $S2 --index v:vector:hnsw --nearest vector --vector "$V" -k 5 --columns id)
check "hnsw k-NN: nearest is the row itself" '{"id": 123, "_distance": 0}' "$(echo "$hnsw" | sed -n 2p)"
check "hnsw k-NN = exact k-NN on 500 rows" "$exact" "$hnsw"
cos=$("$BIN" query "file://$TMP/t2" --shard $S2 --index v:vector:hnsw:cosine --nearest vector --vector "$V" --metric cosine -k 1 --columns id)
contains "cosine k-NN: nearest is the row itself" '{"id": 123, "_distance": ' "$(echo "$cos" | sed -n 2p)"

# errors
err=$("$BIN" query "$T" --shard $SHARD --filter "id >= AND" 2>&1); rc=$?
check "bad filter exit" 2 $rc
contains "bad filter offset" "offset" "$err"
err=$("$BIN" query "$T" --shard $SHARD --filter "nope = 1" 2>&1); rc=$?
check "unknown filter column exit" 2 $rc
contains "unknown filter column named" "nope" "$err"
err=$("$BIN" query "$T" --shard $SHARD --fts x --fts-column name 2>&1); rc=$?
check "fts without index exit" 2 $rc
contains "fts without index message" "no full-text" "$err"
err=$("$BIN" query "$T" --shard $SHARD --index a:name:hnsw 2>&1); rc=$?
check "hnsw on a text column exit" 2 $rc
contains "hnsw on a text column message" "fixed_size_list<float32>" "$err"
err=$("$BIN" query "file://$TMP/t2" --shard $S2 --nearest vector --vector '[1, 2]' 2>&1); rc=$?
check "wrong dimension exit" 2 $rc
contains "wrong dimension message" "dimensions" "$err"
err=$("$BIN" query "$T" --shard $SHARD --keys '["a"]' 2>&1); rc=$?
check "string key for an int key exit" 2 $rc
err=$("$BIN" query "$TMP/absent" --shard $SHARD 2>&1); rc=$?
check "absent table exit" 1 $rc
exit $fail
