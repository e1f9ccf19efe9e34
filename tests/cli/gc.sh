#!/usr/bin/env bash
# gc.sh MEMWAL_BIN SHARED_DIR - `memwal gc`: usage errors (exit 2), a bad
# shard or a folder that is no table (exit 1); on a table of ours (bucket(id,
# 2), two flushed generations per shard): the reasons generations are kept
# (not merged; after `merge`, the base version before it still reads
# them), --dry-run printing "would remove" lines and the summary while
# changing no byte, --keep-wal leaving the WAL alone, --shard limiting gc
# to one shard, a rerun doing nothing, `tail` reading over the gaps gc
# leaves, and writes, merges and describe working on afterwards.
set -u
BIN=${1:?usage: gc.sh MEMWAL_BIN SHARED_DIR}
. "$(dirname "$0")/common.sh"
mk_tmp
T=$TMP/t
S0=4a388480-a25b-59a8-b058-24217f980256
"$BIN" gen "$TMP/s.arrows" --rows 0 --dim 3 || die "gen schema"
"$BIN" gen "$TMP/r.arrows" --rows 50 --dim 3 || die "gen rows"
"$BIN" create "$T" --schema "$TMP/s.arrows" --pk id --spec bucket:id:2 >/dev/null || die "create"
for i in 1 2; do "$BIN" put "$T" --input "$TMP/r.arrows" --flush-on-close >/dev/null || die "put $i"; done
tree() { find "$T" -type f | sort | xargs md5sum; }
gens() { find "$T/_mem_wal" -path '*_gen_*' -type f | sed 's|\(_gen_[0-9]*\)/.*|\1|' | sort -u | wc -l; }

"$BIN" gc >/dev/null 2>&1; check "no URI: usage" 2 $?
"$BIN" gc "$T" --bogus >/dev/null 2>&1; check "unknown option: usage" 2 $?
"$BIN" gc "$T" --shard >/dev/null 2>&1; check "--shard without value: usage" 2 $?
"$BIN" gc "$T" --shard nope >/dev/null 2>"$TMP/err"; check "bad shard id" 1 $?
"$BIN" gc "$T" --shard 11111111-2222-4333-8444-555555555555 >/dev/null 2>"$TMP/err"; check "unknown shard" 1 $?
contains "unknown shard named" "has no folder under _mem_wal/" "$(cat "$TMP/err")"
mkdir "$TMP/empty"
"$BIN" gc "$TMP/empty" >/dev/null 2>"$TMP/err"; check "not a table" 1 $?
"$BIN" gc "$TMP/missing" >/dev/null 2>&1; check "missing folder" 1 $?

before=$(tree)
out=$("$BIN" gc "$T" --dry-run --keep-wal 2>"$TMP/err"); check "dry run exit" 0 $?
check "dry run before merge: summary" '{"dry_run":true,"table_version":2,"generations_removed":0,"wal_entries_removed":0,"wal_entries_replaced":0,"bytes_freed":0,"temp_files_removed":0,"temp_bytes_freed":0,"kept":[{"shard":"4a388480-a25b-59a8-b058-24217f980256","generation":1,"reason":"not merged (watermark 0)"},{"shard":"4a388480-a25b-59a8-b058-24217f980256","generation":2,"reason":"not merged (watermark 0)"},{"shard":"8e131bde-8368-54ff-89d9-c2e1cc781b29","generation":1,"reason":"not merged (watermark 0)"},{"shard":"8e131bde-8368-54ff-89d9-c2e1cc781b29","generation":2,"reason":"not merged (watermark 0)"}]}' "$out"
check "dry run before merge: 4 keep lines" 4 "$(grep -c '^keep _mem_wal/[0-9a-f-]*/[0-9a-f]\{8\}_gen_[12]: not merged (watermark 0)$' "$TMP/err")"
out=$("$BIN" gc "$T" --dry-run 2>"$TMP/err"); check "dry run with WAL exit" 0 $?
contains "dry run names WAL entries" "would remove _mem_wal/$S0/wal/" "$(cat "$TMP/err")"
check "dry run changed nothing" "$before" "$(tree)"

"$BIN" merge "$T" >/dev/null 2>&1 || die "merge"
out=$("$BIN" gc "$T" --keep-wal 2>"$TMP/err"); check "gc after merge exit" 0 $?
contains "after merge: nothing removed" '"generations_removed":0' "$out"
check "after merge: the old version reads them" 4 "$(grep -c 'still reads it (watermark 0)$' "$TMP/err")"

# what LanceDB's cleanup of old versions does: every manifest but the latest goes
latest=$(ls "$T/_versions" | grep manifest | sort | head -1)
for f in "$T"/_versions/*.manifest; do [ "$(basename "$f")" = "$latest" ] || rm "$f"; done
wal_before=$(find "$T/_mem_wal" -path '*/wal/*' -type f | sort | xargs md5sum)
before=$(tree)
out=$("$BIN" gc "$T" --dry-run --keep-wal 2>"$TMP/err"); check "dry run after cleanup exit" 0 $?
contains "dry run: 4 would go" '"dry_run":true,"table_version":6,"generations_removed":4,"wal_entries_removed":0,"wal_entries_replaced":0,"bytes_freed":' "$out"
contains "dry run: nothing kept" '"kept":[]}' "$out"
check "dry run: 4 would-remove lines" 4 "$(grep -c '^would remove _mem_wal/.*_gen_[12]: merged (generation [12] <= the watermark of every retained base version, every index caught up)$' "$TMP/err")"
check "dry run after cleanup changed nothing" "$before" "$(tree)"

out=$("$BIN" gc "$T" --shard $S0 --keep-wal 2>"$TMP/err"); check "gc --shard exit" 0 $?
contains "--shard: its 2 generations" '"generations_removed":2' "$out"
check "--shard: only its lines" 2 "$(grep -c "^remove _mem_wal/$S0/" "$TMP/err")"
check "2 generation folders left" 2 "$(gens)"
out=$("$BIN" gc "$T" --keep-wal 2>"$TMP/err"); check "gc exit" 0 $?
contains "the other 2" '"generations_removed":2,"wal_entries_removed":0,"wal_entries_replaced":0' "$out"
check "no generation folder left" 0 "$(gens)"
check "--keep-wal left the WAL alone" "$wal_before" "$(find "$T/_mem_wal" -path '*/wal/*' -type f | sort | xargs md5sum)"
out=$("$BIN" gc "$T" 2>"$TMP/err"); check "gc with WAL exit" 0 $?
contains "WAL entries go" '"generations_removed":0,"wal_entries_removed":2,' "$out"
# tail skips gc's gaps at or below the replay cursor (--from 1 is one now)
n_wal=$(find "$T/_mem_wal/$S0/wal" -type f | wc -l)
"$BIN" tail "$T" --shard $S0 --from 1 >"$TMP/tail" 2>"$TMP/err"; check "tail over a gap exit" 0 $?
check "tail over a gap: every entry left" "$n_wal" "$(wc -l <"$TMP/tail")"
contains "tail over a gap: starts after it" '{"position": 2,' "$(head -c 20 "$TMP/tail")"
out=$("$BIN" gc "$T" 2>"$TMP/err")
check "rerun: nothing" '{"dry_run":false,"table_version":6,"generations_removed":0,"wal_entries_removed":0,"wal_entries_replaced":0,"bytes_freed":0,"temp_files_removed":0,"temp_bytes_freed":0,"kept":[]}' "$out"

# going on: a writer replays and flushes, merge and describe work
"$BIN" put "$T" --input "$TMP/r.arrows" --flush-on-close >/dev/null 2>"$TMP/err"; check "put after gc" 0 $?
"$BIN" merge "$T" >/dev/null 2>"$TMP/err"; check "merge after gc" 0 $?
"$BIN" describe "$T" >/dev/null 2>"$TMP/err"; check "describe after gc" 0 $?
exit $fail
