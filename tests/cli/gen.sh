#!/usr/bin/env bash
# gen.sh MEMWAL_BIN SHARED_DIR - `memwal gen`: generated rows of the
# benchmark schema as an Arrow IPC stream (row count, ids, batches, the
# schema-only stream, bad arguments).
set -u
. "$(dirname "$0")/common.sh"
BIN=${1:?usage: gen.sh MEMWAL_BIN SHARED_DIR}
mk_tmp
"$BIN" gen "$TMP/a.arrows" --rows 2500 --batch-rows 1000 --dim 3 --first-id 7; check "gen exit" 0 $?
out=$("$BIN" ipc-cat "$TMP/a.arrows")
check "rows" 2500 "$(echo "$out" | tail -n +2 | wc -l)"
check "first id" '{"id": 7,' "$(echo "$out" | sed -n 2p | cut -c1-9)"
check "last id" '{"id": 2506,' "$(echo "$out" | tail -n 1 | cut -c1-12)"
contains "pk marker" '"lance-schema:unenforced-primary-key:position": "1"' "$(echo "$out" | head -n 1)"
contains "dim" 'fixed_size_list[3]' "$(echo "$out" | head -n 1)"
"$BIN" gen "$TMP/s.arrows" --rows 0; check "schema only exit" 0 $?
check "schema only: no rows" 1 "$("$BIN" ipc-cat "$TMP/s.arrows" | wc -l)"

check "stdout stream rows" 3 "$("$BIN" gen - --rows 3 --dim 2 >"$TMP/p.arrows"; "$BIN" ipc-cat "$TMP/p.arrows" | tail -n +2 | wc -l)"
"$BIN" gen "$TMP/x.arrows" --dim 0 >/dev/null 2>&1; check "bad dim exit" 2 $?
"$BIN" gen >/dev/null 2>&1; check "no output exit" 2 $?
exit $fail
