#!/usr/bin/env bash
# arrow_js.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - Arrow IPC interop
# with apache-arrow JS 18.1.0 (installed in PEERS_DIR by shared/peers/install.sh):
#  (a) our streams -> JS: every sample of `test_ipc --write-samples` is read
#      by PEERS_DIR/arrow_read.mjs and compared with our JSON rendering
#      (compare_arrow_js.mjs: types, nullability, metadata, every value);
#      samples named nojs_* use types apache-arrow JS lacks (large_list) or
#      int64 temporal values it cannot convert to numbers: they are not given
#      to JS (test_ipc round-trips them);
#  (b) JS streams -> us: arrow_write_sample.mjs and gen_arrow_types.mjs (every
#      type JS can write) decoded by `memwal ipc-cat`, compared exactly.
# Missing node or peers is a failure, not a skip.
set -u
. "$(dirname "$0")/common.sh"

need_node
need_peers arrow_read.mjs node_modules/apache-arrow/
[ -x "$BIN" ] || die "no memwal binary at $BIN"
[ -x "$BDIR/tests/test_ipc" ] || die "no $BDIR/tests/test_ipc"

js_tmp "$HERE"/*.mjs
mkdir -p "$TMP/samples"

# ---- (a) our streams -> apache-arrow JS
"$BDIR/tests/test_ipc" --write-samples "$TMP/samples" >"$TMP/test_ipc.log" 2>&1 \
  || { cat "$TMP/test_ipc.log" >&2; fail "test_ipc --write-samples"; }
n=0
for f in "$TMP"/samples/*.arrows; do
  [ -e "$f" ] || { fail "no samples written"; break; }
  name=$(basename "$f" .arrows)
  case $name in nojs_*) continue ;; esac
  n=$((n + 1))
  if ! node "$PEERS/arrow_read.mjs" "$f" >"$TMP/$name.read.json" 2>"$TMP/err"; then
    fail "$name: arrow_read failed: $(cat "$TMP/err")"; continue
  fi
  if node "$TMP/js/compare_arrow_js.mjs" "$TMP/samples/$name.json" "$TMP/$name.read.json" >"$TMP/out" 2>&1; then
    ok "ours -> js: $name: $(cat "$TMP/out")"
  else
    cat "$TMP/out" >&2; fail "ours -> js: $name differs"
  fi
done
[ $n -ge 12 ] || fail "only $n samples compared"

# the comparator must be able to fail: a changed value is reported
sed '2s/"i8": -128/"i8": -127/' "$TMP/samples/primitives.json" >"$TMP/mutated.json"
if node "$TMP/js/compare_arrow_js.mjs" "$TMP/mutated.json" "$TMP/primitives.read.json" >/dev/null 2>&1; then
  fail "comparator accepted a changed value"
else
  ok "comparator detects a changed value"
fi

# ---- (b) apache-arrow JS streams -> memwal ipc-cat
node "$PEERS/arrow_write_sample.mjs" "$TMP/sample.arrows" >/dev/null || fail "arrow_write_sample.mjs"
cat >"$TMP/sample.exp" <<'EOF'
{"schema": {"fields": [{"name": "id", "type": "int64", "nullable": false, "metadata": {}}, {"name": "name", "type": "utf8", "nullable": true, "metadata": {}}, {"name": "_tombstone", "type": "bool", "nullable": false, "metadata": {}}], "metadata": {"writer_epoch": "5"}}}
{"id": 1, "name": "a", "_tombstone": false}
{"id": 2, "name": null, "_tombstone": false}
{"id": 3, "name": "c", "_tombstone": true}
EOF
if "$BIN" ipc-cat "$TMP/sample.arrows" >"$TMP/sample.out" 2>"$TMP/err" && cmp -s "$TMP/sample.exp" "$TMP/sample.out"; then
  ok "js -> ours: arrow_write_sample (3 rows)"
else
  cat "$TMP/err" >&2; diff "$TMP/sample.exp" "$TMP/sample.out" >&2; fail "js -> ours: arrow_write_sample"
fi

if node "$TMP/js/gen_arrow_types.mjs" "$TMP/types.arrows" "$TMP/types.exp" >/dev/null 2>"$TMP/err"; then
  if "$BIN" ipc-cat "$TMP/types.arrows" >"$TMP/types.out" 2>"$TMP/err" && cmp -s "$TMP/types.exp" "$TMP/types.out"; then
    ok "js -> ours: every type ($(($(wc -l <"$TMP/types.out") - 1)) rows)"
  else
    cat "$TMP/err" >&2; diff "$TMP/types.exp" "$TMP/types.out" >&2; fail "js -> ours: gen_arrow_types"
  fi
else
  cat "$TMP/err" >&2; fail "gen_arrow_types.mjs"
fi

if [ $fails -ne 0 ]; then echo "$fails failure(s)" >&2; exit 1; fi
echo "all arrow-js interop checks passed"
