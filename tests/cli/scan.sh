#!/usr/bin/env bash
# scan.sh MEMWAL_BIN SHARED_DIR - `memwal scan` is read-only by default: on
# a copy of the Lance 12 fixture it prints the unflushed rows (exact JSON),
# and leaves the writer epoch, the manifest version and every byte of the
# table as they were (--read-only says the same explicitly); `scan --claim`
# prints the same rows but claims an epoch (fences) and writes a fence
# entry (the writer's scan shows the newest row per key, the read-only scan
# every WAL row). Then never-flushed 0- and 1-based shards, an entry whose columns
# differ, and the error exits.
set -u
BIN=$1
SHARED=$2
HERE=$(cd "$(dirname "$0")" && pwd)
INPUT=$HERE/../data/wal_append_input.arrows # ids 11, 12 (+ an empty batch)
OTHER=$HERE/../data/ipc_list_int32.arrows   # one list<int32> column
FIX=$SHARED/fixtures/lance12_reference_table.lance
SHARD=aa48498d-ac91-59e2-8452-69f46010ace2
. "$HERE/common.sh"
mk_tmp

SCHEMA='{"schema": {"fields": [{"name": "id", "type": "int64", "nullable": false, "metadata": {"lance-schema:unenforced-primary-key:position": "1"}}, {"name": "name", "type": "utf8", "nullable": true, "metadata": {}}, {"name": "_tombstone", "type": "bool", "nullable": false, "metadata": {}}], "metadata": {}}}'
row() { printf '{"id": %s, "name": "n%s", "_tombstone": false}' "$1" "$1"; }
# the fixture: generation 1 covers positions <= 3; entries 5 (7, 8, 9) and 7 (3, 10) are not flushed
UNFLUSHED=$(printf '%s\n' "$SCHEMA" "$(row 7)" "$(row 8)" "$(row 9)" "$(row 3)" "$(row 10)")
epoch() { "$BIN" inspect "$1" --shard "$2" | sed 's/.*"writer_epoch":\([0-9]*\),.*/\1/'; }
version() { "$BIN" inspect "$1" --shard "$2" | sed 's/^{"version":\([0-9]*\),.*/\1/'; }
tree() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

cp -r "$FIX" "$TMP/f.lance" && chmod -R u+w "$TMP/f.lance"
T=$TMP/f.lance
before=$(tree "$T")
check "fixture epoch" 4 "$(epoch "$T" $SHARD)"
check "fixture version" 8 "$(version "$T" $SHARD)"

out=$("$BIN" scan "$T" --shard $SHARD); rc=$?
check "scan exit" 0 $rc
check "scan rows" "$UNFLUSHED" "$out"
out=$("$BIN" scan "file://$T" --shard $SHARD --read-only); rc=$?
check "scan --read-only exit" 0 $rc
check "scan --read-only rows" "$UNFLUSHED" "$out"
check "scan --read-only --first-position 1 rows" "$UNFLUSHED" "$("$BIN" scan "$T" --shard $SHARD --read-only --first-position 1)"
check "epoch after read-only scans" 4 "$(epoch "$T" $SHARD)"
check "version after read-only scans" 8 "$(version "$T" $SHARD)"
check "table bytes unchanged by read-only scans" "$before" "$(tree "$T")"

# --claim: today's behaviour through a ShardWriter: same rows, but epoch 5
# is claimed (a live writer would be fenced) and its fence entry written at 8.
out=$("$BIN" scan "$T" --shard $SHARD --claim); rc=$?
check "scan --claim exit" 0 $rc
check "scan --claim rows" "$UNFLUSHED" "$out"
check "epoch after scan --claim" 5 "$(epoch "$T" $SHARD)"
check "version after scan --claim" 9 "$(version "$T" $SHARD)"
check "fence entry of scan --claim" '{"position": 8, "writer_epoch": 5, "fence": true, "batches": 0, "rows": []}' \
  "$("$BIN" tail "$T" --shard $SHARD --from 8)"
check "read-only scan after --claim: same rows (fences have none)" "$UNFLUSHED" "$("$BIN" scan "$T" --shard $SHARD)"
check "epoch still 5" 5 "$(epoch "$T" $SHARD)"

# A shard that was never flushed: every entry, 0-based and 1-based.
S0=11111111-2222-4333-8444-000000000000
S1=11111111-2222-4333-8444-111111111111
mkdir "$TMP/n"
"$BIN" append "$TMP/n" --shard $S0 --input "$INPUT" >/dev/null || die "append S0"
"$BIN" append "$TMP/n" --shard $S0 --input "$INPUT" --fence >/dev/null || die "append S0 --fence"
"$BIN" append "$TMP/n" --shard $S1 --input "$INPUT" --first-position 1 >/dev/null || die "append S1"
TWICE=$(printf '%s\n' "$SCHEMA" "$(row 11)" "$(row 12)" "$(row 11)" "$(row 12)")
check "0-based, never flushed (entries 0 and 2, fence at 1)" "$TWICE" "$("$BIN" scan "$TMP/n" --shard $S0)"
check "1-based, never flushed" "$(printf '%s\n' "$SCHEMA" "$(row 11)" "$(row 12)")" "$("$BIN" scan "$TMP/n" --shard $S1)"
# --claim scans the writer's MemTable: the newest row of each key only
check "0-based: --claim shows the newest row per key" "$(printf '%s\n' "$SCHEMA" "$(row 11)" "$(row 12)")" "$("$BIN" scan "$TMP/n" --shard $S0 --claim)"
check "0-based: epoch 3 after --claim (2 appends + scan --claim)" 3 "$(epoch "$TMP/n" $S0)"

# An entry whose columns are not the shard's: exit 1 naming the position
# (the rows before it are printed, as tail does).
"$BIN" append "$TMP/n" --shard $S1 --input "$OTHER" >/dev/null || die "append other schema"
out=$("$BIN" scan "$TMP/n" --shard $S1 2>"$TMP/err"); rc=$?
check "mismatch exit" 1 $rc
check "mismatch msg" "memwal scan: WAL entry at position 2 does not match the shard's schema: expected 3 columns, got 1" "$(cat "$TMP/err")"
check "mismatch: rows before it" 3 "$(printf '%s\n' "$out" | wc -l)"

# Errors.
"$BIN" scan "$TMP/n" --shard 22222222-2222-4333-8444-555555555555 >/dev/null 2>"$TMP/err"; rc=$?
check "empty shard exit" 1 $rc
contains "empty shard msg" "cannot find the shard's schema" "$(cat "$TMP/err")"
"$BIN" scan "$TMP/does/not/exist" --shard $SHARD >/dev/null 2>&1; rc=$?
check "missing folder exit" 1 $rc
check "missing folder not created" no "$([ -e "$TMP/does" ] && echo yes || echo no)"
"$BIN" scan "$T" >/dev/null 2>&1; check "no shard" 2 $?
"$BIN" scan "$T" --shard $SHARD --claim --read-only >/dev/null 2>&1; check "--claim with --read-only" 2 $?
"$BIN" scan "$T" --shard $SHARD --bogus >/dev/null 2>&1; check "unknown option" 2 $?
"$BIN" put "$T" --shard $SHARD --input "$INPUT" --claim >/dev/null 2>&1; check "put --claim is not an option" 2 $?

exit $fail
