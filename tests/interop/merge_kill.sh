#!/usr/bin/env bash
# merge_kill.sh MEMWAL_BIN PEERS_DIR SHARED_DIR BINARY_DIR - the real
# `memwal merge` process killed with kill -9, checked by real LanceDB 0.39.
# A table LanceDB creates (unsharded: one shard, so the watermark counts the
# merged generations; 20,000 base rows written by LanceDB) gets seven
# generations: five from `memwal put --flush-on-close` (overwrites of base
# keys, new keys, a key twice in one input, overwrites across generations),
# one of tombstones (`memwal delete`: base keys, generation keys, a key never
# written) and one from LanceDB (a key upserted twice: a generation deletion
# file). The expected table after each generation is kept. Then ROUNDS
# rounds, each on a fresh copy of the unmerged table: `memwal merge` killed
# with kill -9 after a seeded random delay (round r draws from the r-th
# slice of the measured merge time, so the kills spread over the merge),
# then: LanceDB's LSM read = the expected table, LanceDB's base-only read
# (useLsm(false)) = the expected table after the generations the watermark
# covers (memwal describe: compacted_sstables), one table version per
# merged generation, no key twice; `memwal merge` again finishes the job and
# both LanceDB reads = the expected table. Missing node or peers is a
# failure. A round whose merge finished before the kill (a faster machine
# than at the calibration) is checked as well and retried at half the
# delay: every round ends with a real kill.
set -u
. "$(dirname "$0")/common.sh"
need_node
need_peers lancedb_lsm.mjs node_modules/@lancedb/lancedb/ node_modules/apache-arrow/
js_tmp "$HERE"/lance_routing_rows.mjs "$HERE"/tomb_rows.mjs "$HERE"/merge_ops.mjs
LSM=$PEERS/lancedb_lsm.mjs
ROUNDS=${ROUNDS:-4}
DB=$TMP/db
T=$DB/t.lance
fails=0

declare -A exp
rows() { # FILE 'ID:TEXT ...' : an Arrow file of those rows (table schema)
  local f=$1; shift
  node -e 'console.log(JSON.stringify(process.argv.slice(1).map((s) => { const i = s.indexOf(":"); return [s.slice(0, i), s.slice(i + 1)]; })))' "$@" \
    >"$TMP/$f.json" || die "rows $f"
  node "$TMP/js/lance_routing_rows.mjs" "$TMP/$f.arrows" "$TMP/$f.json" || die "rows $f arrows"
}
expect_put() { local s; for s in "$@"; do exp[${s%%:*}]=${s#*:}; done; }
expect_del() { local k; for k in "$@"; do unset "exp[$k]"; done; }
expected() { local k; for k in "${!exp[@]}"; do echo "$k:${exp[$k]}"; done | sort; }
gens=0
snap() { expected >"$TMP/exp_$gens"; } # the expected table after generation $gens
put() { # NAME ROWS...
  local name=$1; shift
  rows "$name" "$@"
  "$BIN" put "$T" --input "$TMP/$name.arrows" --flush-on-close >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "put $name"; }
  expect_put "$@"; gens=$((gens + 1)); snap
}
same() { # NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else
    fail "$1"; diff <(echo "$2") <(echo "$3") | head -10 >&2
  fi
}
# views DB -> $TMP/lsm, $TMP/base (sorted "id:text" lines, LanceDB's reads)
views() {
  node "$TMP/js/merge_ops.mjs" "$1" t views >"$TMP/views.json" 2>"$TMP/views.err" || cat "$TMP/views.err" >&2
  node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    require("fs").writeFileSync(process.argv[2], v.lsm.sort().join("\n") + "\n");
    require("fs").writeFileSync(process.argv[3], v.base.sort().join("\n") + "\n");' \
    "$TMP/views.json" "$TMP/lsm" "$TMP/base" 2>/dev/null || { : >"$TMP/lsm"; : >"$TMP/base"; }
}
# watermark and version of the table at $1 (memwal describe)
describe() {
  "$BIN" describe "$1" >"$TMP/desc.json" 2>"$TMP/desc.err" || cat "$TMP/desc.err" >&2
  node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const j = JSON.stringify(d); const m = [...j.matchAll(/"compacted_sstables":\[([^\]]*)\]/g)];
    const gens = m.length ? [...m[0][1].matchAll(/"generation":(\d+)/g)].map((x) => Number(x[1])) : [];
    console.log((gens.length ? Math.max(...gens) : 0) + " " + d.version);' "$TMP/desc.json" 2>/dev/null || echo "? ?"
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }

node "$LSM" create "$DB" t unsharded --base 20000 >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "create"; }
node "$LSM" read "$DB" t --columns id,text --no-lsm >"$TMP/read.json" 2>"$TMP/err" || { cat "$TMP/err"; die "read"; }
while IFS= read -r line; do exp[${line%%:*}]=${line#*:}; done < <(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rows;
  console.log(r.map((x) => x.id + ":" + x.text).join("\n"));' "$TMP/read.json")
check "LanceDB base rows" 20000 "${#exp[@]}"
snap

B=1000000000
g=(); for i in $(seq 0 2999); do g+=("$((B + i * 5)):a$i"); done; for i in $(seq 1 500); do g+=("$i:a$i"); done; g+=("1:a1-second")
put g1 "${g[@]}"
g=(); for i in $(seq 1 200); do g+=("$i:b$i"); done; for i in $(seq 0 999); do g+=("$((B + i * 7)):b$i"); done
put g2 "${g[@]}"
node "$TMP/js/tomb_rows.mjs" "$TMP/del.arrows" "5,6,$((B + 1)),$((B + 10)),$((B + 14)),123456" --keys || die "keys"
"$BIN" delete "$T" --input "$TMP/del.arrows" --flush-on-close >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "delete"; }
expect_del 5 6 $((B + 1)) $((B + 10)) $((B + 14)) 123456; gens=$((gens + 1)); snap
g=(); for i in $(seq 0 1999); do g+=("$((B + 10000 + i)):c$i"); done; g+=("6:c6-back")
put g4 "${g[@]}"
rows l1 "7:l7-first" "7:l7-second" "$((B + 3)):l3"
node "$LSM" upsert "$DB" t "$TMP/l1.arrows" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; die "LanceDB upsert"; }
expect_put "7:l7-first" "7:l7-second" "$((B + 3)):l3"; gens=$((gens + 1)); snap
g=(); for i in $(seq 0 2999); do g+=("$((B + 2 + i * 3)):e$i"); done
put g6 "${g[@]}"
g=(); for i in $(seq 1 100); do g+=("$i:f$i"); done; g+=("$((B + 3)):f3")
put g7 "${g[@]}"
want=$(expected)
check "generations written" 7 "$gens"
read -r w0 v0 <<<"$(describe "$T")"
check "no generation merged yet" 0 "$w0"

# the merge time on a copy (for the kill delays), and a check of the full merge
cp -a "$DB" "$TMP/cal"
a=$(ms); "$BIN" merge "$TMP/cal/t.lance" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; fail "calibration merge"; }; b=$(ms)
span=$((b - a)); [ $span -ge 5 ] || span=5
views "$TMP/cal"
same "uninterrupted merge: base-only read = expected" "$want" "$(cat "$TMP/base")"
read -r wc vc <<<"$(describe "$TMP/cal/t.lance")"
check "uninterrupted merge: watermark" 7 "$wc"
echo "merge takes ${span} ms; $ROUNDS kills"

RANDOM=4242
killed=0
for r in $(seq "$ROUNDS"); do
  # round r: a random time in the r-th of ROUNDS equal slices of the merge;
  # a merge that finished first (the machine was faster than at the
  # calibration) is checked too, then the round is retried at half the delay
  d=$(( (r - 1) * span / ROUNDS + RANDOM % (span / ROUNDS + 1) ))
  for try in 1 2 3 4; do
    D=$TMP/k$r
    cp -a "$DB" "$D"
    "$BIN" merge "$D/t.lance" >/dev/null 2>"$TMP/kill.err" & pid=$!
    sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null; rc=$?
    read -r w v <<<"$(describe "$D/t.lance")"
    tx=$(ls "$D/t.lance/_transactions" | wc -l) # one per version, plus one if killed between .txn and manifest
    echo "round $r.$try: kill after ${d} ms (exit $rc): $w of 7 generations merged, table version $v, $((tx - v)) uncommitted .txn"
    case $w in [0-7]) ;; *) fail "round $r: no watermark ($w)"; w=0 ;; esac
    check "round $r.$try: one table version per merged generation" "$((v0 + w))" "$v"
    views "$D"
    same "round $r.$try after the kill: LSM read = expected" "$want" "$(cat "$TMP/lsm")"
    same "round $r.$try after the kill: base-only read = the $w merged generations" "$(cat "$TMP/exp_$w")" "$(cat "$TMP/base")"
    check "round $r.$try after the kill: no key twice in the base" 0 "$(cut -d: -f1 "$TMP/base" | sort | uniq -d | wc -l)"
    if [ $rc = 137 ]; then
      "$BIN" merge "$D/t.lance" >"$TMP/rerun.json" 2>"$TMP/err" || { cat "$TMP/err"; fail "round $r: rerun"; }
      views "$D"
      same "round $r after the rerun: LSM read = expected" "$want" "$(cat "$TMP/lsm")"
      same "round $r after the rerun: base-only read = expected" "$want" "$(cat "$TMP/base")"
      read -r w v <<<"$(describe "$D/t.lance")"
      check "round $r after the rerun: watermark" 7 "$w"
    fi
    rm -rf "$D"
    [ $rc = 137 ] && { killed=$((killed + 1)); break; }
    d=$((d / 2))
  done
done
check "merges killed mid-way (one per round)" "$ROUNDS" "$killed"
[ "$fails" = 0 ] || fail=1
exit ${fail:-0}
