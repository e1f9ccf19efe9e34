#!/usr/bin/env bash
# bench_query.sh MEMWAL_BIN SHARED_DIR - `memwal bench-query`: a small run
# (3000 x 16, 10 queries) prints exactly one JSON line on stdout with every
# field, recall10 in [0, 1], rows/s and latencies > 0, the full-text row
# first for every query and the checksums bench/lance_query.mjs checks; a
# run writing its WAL to a local folder works too; bad arguments exit 2
# with a message naming the problem.
set -u
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
mk_tmp

out=$("$BIN" bench-query --rows 3000 --dim 16 --queries 10 2>"$TMP/err"); rc=$?
check "exit" 0 $rc
check "one line on stdout" 1 "$(printf '%s\n' "$out" | wc -l)"
case "$out" in "{"*"}") ok "a JSON object";; *) fail "not a JSON object: $out";; esac
check "stderr: progress lines only" "" "$(tr '\r' '\n' < "$TMP/err" | grep -v ' rows, [0-9]* rows/s$' | grep -v '^$')"
# field=value pairs of the line (numbers and strings), one per line
fields=$(printf '%s' "$out" | sed 's/^{//; s/}$//' | tr ',' '\n' | sed 's/^ *"\([a-z0-9_]*\)": *"\{0,1\}\([^"]*\)"\{0,1\}$/\1=\2/')
val() { printf '%s\n' "$fields" | sed -n "s/^$1=//p"; }
for f in ingest_rows_per_s vec_p50_ms vec_p99_ms recall10 pk_lookup_p50_ms fts_p50_ms peak_rss_mb \
         exact_p50_ms filter_p50_ms rss_before_ingest_mb rows dim k queries fts_queries vector_checksum query_checksum; do
  v=$(val $f)
  if [ -n "$v" ]; then ok "field $f present ($v)"; else fail "field $f missing in: $out"; fi
done
num_in() { # name value lo hi (inclusive; lo/hi may be "" for open)
  awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN { if (v !~ /^[0-9.]+(e[-+]?[0-9]+)?$/) exit 1;
    if (lo != "" && v + 0 < lo + 0) exit 1; if (hi != "" && v + 0 > hi + 0) exit 1; exit 0 }' \
    && ok "$1 = $2" || fail "$1 = [$2], wanted a number in [${3:-..}, ${4:-..}]"
}
num_in "recall10 in [0, 1]" "$(val recall10)" 0 1
num_in "recall10 >= 0.5 on 3000 rows" "$(val recall10)" 0.5 1
awk -v v="$(val ingest_rows_per_s)" 'BEGIN { exit !(v > 0) }' && ok "rows/s > 0" || fail "rows/s [$(val ingest_rows_per_s)]"
for f in vec_p50_ms pk_lookup_p50_ms fts_p50_ms peak_rss_mb; do
  awk -v v="$(val $f)" 'BEGIN { exit !(v > 0) }' && ok "$f > 0" || fail "$f = [$(val $f)], wanted > 0"
done
check "rows echoed" 3000 "$(val rows)"
check "dim echoed" 16 "$(val dim)"
check "queries echoed" 10 "$(val queries)"
check "fts: own row first in every query" "1.00" "$(val fts_first_share)"
# the checksums are those of the seeded generator (bench/lance_query.mjs prints the same)
check "vector checksum" cee44c51 "$(val vector_checksum)"

# the WAL written to a local folder instead of memory://
out=$("$BIN" bench-query "$TMP/store" --rows 1500 --dim 8 --queries 3 --k 5 --batch 500 --ef 50 2>/dev/null); rc=$?
check "folder URI exit" 0 $rc
contains "folder URI: k 5" '"k": 5,' "$out"
contains "folder URI: ef 50" '"vec_ef": 50,' "$out"
[ -d "$TMP/store" ] && [ -n "$(find "$TMP/store" -type f | head -1)" ] && ok "folder URI: files written" \
  || fail "folder URI: nothing written under $TMP/store"

# usage errors: exit 2 and a message naming the problem
bad() { # name expected-message args...
  local name=$1 msg=$2
  shift 2
  local err rc
  err=$("$BIN" bench-query "$@" 2>&1 >/dev/null); rc=$?
  check "$name: exit 2" 2 $rc
  contains "$name: message" "$msg" "$err"
}
bad "--rows 0" "--rows wants an integer in 1.." --rows 0
bad "--dim abc" "--dim wants an integer in 1..65536, got 'abc'" --dim abc
bad "--k 0" "--k wants an integer in 1.." --k 0
bad "--queries -1" "--queries wants an integer" --queries -1
bad "unknown option" "unknown option '--bogus'" --bogus 1
bad "missing value" "usage: memwal bench-query" --rows
bad "two URIs" "usage: memwal bench-query" memory://a memory://b
out=$("$BIN" bench-query --help); rc=$?
check "--help exit" 0 $rc
contains "--help text" "usage: memwal bench-query [URI]" "$out"
contains "listed in memwal --help" "bench-query [URI]" "$("$BIN" --help)"

[ $fails -eq 0 ] || fail=1
exit $fail
