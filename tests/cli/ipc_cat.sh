#!/usr/bin/env bash
# ipc_cat.sh MEMWAL_BIN SHARED_DIR - `memwal ipc-cat` on the real Lance 12 WAL
# entries of the reference shard (exact schema line and rows for positions
# 1..7), on malformed input (exit 1 + message, never a crash), usage errors
# (exit 2) and `memwal --version`.
set -u
BIN=${1:?usage: ipc_cat.sh MEMWAL_BIN SHARED_DIR}
SHARED=${2:?usage: ipc_cat.sh MEMWAL_BIN SHARED_DIR}
WAL="$SHARED/fixtures/lance12_reference_table.lance/_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/wal"
. "$(dirname "$0")/common.sh"
mk_tmp

[ -x "$BIN" ] || die "no memwal binary at $BIN"
[ -d "$WAL" ] || die "no reference WAL folder at $WAL"

# WAL entry file name of a 1-based position: 64 binary digits, least
# significant bit first (bit-reversed), + ".arrow".
entry_name() {
  local p=$1 s="" k
  for ((k = 0; k < 64; k++)); do s+=$(((p >> k) & 1)); done
  echo "$s.arrow"
}
[ "$(entry_name 1)" = "1$(printf '0%.0s' $(seq 63)).arrow" ] || fail "entry_name(1)"
[ "$(entry_name 6)" = "011$(printf '0%.0s' $(seq 61)).arrow" ] || fail "entry_name(6)"

data_schema() {
  printf '{"schema": {"fields": [{"name": "id", "type": "int64", "nullable": false, "metadata": {"lance-schema:unenforced-primary-key:position": "1"}}, {"name": "name", "type": "utf8", "nullable": true, "metadata": {}}, {"name": "_tombstone", "type": "bool", "nullable": false, "metadata": {}}], "metadata": {"writer_epoch": "%s"}}}\n' "$1"
}
fence_schema() {
  printf '{"schema": {"fields": [], "metadata": {"fence_sentinel": "true", "writer_epoch": "%s"}}}\n' "$1"
}
rows() {
  local id
  for id in "$@"; do printf '{"id": %s, "name": "n%s", "_tombstone": false}\n' "$id" "$id"; done
}

expected() {
  case $1 in
    1) data_schema 1; rows 1 2 3 ;;
    2) fence_schema 2 ;;
    3) data_schema 2; rows 4 5 6 ;;
    4) fence_schema 3 ;;
    5) data_schema 3; rows 7 8 9 ;;
    6) fence_schema 4 ;;
    7) data_schema 4; rows 3 10 ;;
  esac
}

n_files=$(ls "$WAL" | wc -l)
[ "$n_files" -eq 7 ] || fail "expected 7 WAL entries, found $n_files"
for p in 1 2 3 4 5 6 7; do
  f="$WAL/$(entry_name $p)"
  if [ ! -f "$f" ]; then fail "position $p: missing $f"; continue; fi
  "$BIN" ipc-cat "$f" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  expected $p >"$TMP/exp"
  if [ $rc -ne 0 ]; then
    fail "position $p: exit $rc: $(cat "$TMP/err")"
  elif ! cmp -s "$TMP/out" "$TMP/exp"; then
    fail "position $p: output differs:"; diff "$TMP/exp" "$TMP/out" >&2
  else
    ok "position $p ($(($(wc -l <"$TMP/out") - 1)) rows)"
  fi
done

# stdin ("-") gives the same output
"$BIN" ipc-cat - <"$WAL/$(entry_name 7)" >"$TMP/out" 2>"$TMP/err" && expected 7 | cmp -s - "$TMP/out" \
  && ok "stdin" || fail "ipc-cat - (stdin)"

# malformed inputs: exit 1, a message naming the file, no crash
check_bad() { # NAME FILE
  local name=$1 f=$2
  "$BIN" ipc-cat "$f" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ $rc -ne 1 ]; then
    fail "$name: exit status $rc (want 1)"
  elif ! grep -q "^memwal ipc-cat: $f: ." "$TMP/err"; then
    fail "$name: stderr lacks 'memwal ipc-cat: $f: <message>': $(cat "$TMP/err")"
  elif [ -s "$TMP/out" ]; then
    fail "$name: printed output on failure"
  else
    ok "$name: $(head -c 200 "$TMP/err")"
  fi
}
src="$WAL/$(entry_name 1)"
size=$(wc -c <"$src")
: >"$TMP/empty.arrow"
check_bad "empty file" "$TMP/empty.arrow"
for cut in 3 8 100 $((size / 2)) $((size - 9)); do
  head -c $cut "$src" >"$TMP/trunc_$cut.arrow"
  check_bad "truncated to $cut bytes" "$TMP/trunc_$cut.arrow"
done
head -c 4096 /dev/urandom >"$TMP/random.arrow"
printf '\xff\xff\xff\xff' | cat - "$TMP/random.arrow" >"$TMP/random2.arrow"
check_bad "random bytes" "$TMP/random.arrow"
check_bad "random bytes after a continuation marker" "$TMP/random2.arrow"
check_bad "missing file" "$TMP/does-not-exist.arrow"
grep -q "No such file" "$TMP/err" || fail "missing file: no errno text: $(cat "$TMP/err")"
check_bad "a directory" "$TMP"

# many random corruptions of a real entry: exit 0 or 1, never a crash
crashes=0
for i in $(seq 1 200); do
  cp "$src" "$TMP/flip.arrow"
  pos=$(( (RANDOM * 32768 + RANDOM) % size ))
  printf "\\x$(printf %02x $((RANDOM % 256)))" | dd of="$TMP/flip.arrow" bs=1 seek=$pos conv=notrunc status=none
  "$BIN" ipc-cat "$TMP/flip.arrow" >/dev/null 2>"$TMP/err"
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
    crashes=$((crashes + 1))
    cp "$TMP/flip.arrow" "/tmp/ipc_cat_crash_$i.arrow"
    fail "byte flip at $pos: exit status $rc (saved /tmp/ipc_cat_crash_$i.arrow)"
  fi
done
[ $crashes -eq 0 ] && ok "200 random byte flips: no crash"

# usage errors: exit 2
"$BIN" ipc-cat >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "no argument: exit 2" || fail "no argument: exit $rc (want 2)"
"$BIN" ipc-cat a b >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "two arguments: exit 2" || fail "two arguments: exit $rc (want 2)"

# version
v=$("$BIN" --version); rc=$?
if [ $rc -eq 0 ] && [[ "$v" =~ ^memwal\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then ok "--version: $v"; else fail "--version: '$v' exit $rc"; fi

if [ $fails -ne 0 ]; then
  echo "$fails failure(s)" >&2
  exit 1
fi
echo "all ipc-cat checks passed"
