#!/usr/bin/env bash
# ctest_tally.sh MEMWAL_BIN SHARED_DIR - scripts/ctest_tally.sh, which makes
# the closing "ctest: N passed, M failed" line of scripts/test.sh, on the
# output of REAL ctest runs of a tiny throwaway CMake project (passing,
# failing, not-run and skipped tests), on a log cut before ctest's summary,
# on "No tests were found", on stages that did not run, and on usage errors.
# (The memwal binary is not used.)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TALLY=$HERE/../../scripts/ctest_tally.sh
. "$HERE/common.sh"
mk_tmp
command -v ctest >/dev/null || die "ctest not found"

# A project with 2 passing tests, 1 failing, 1 that cannot run, 1 skipped.
mkdir -p "$TMP/p"
cat > "$TMP/p/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.18)
project(tally_sample NONE)
enable_testing()
add_test(NAME pass1 COMMAND true)
add_test(NAME pass2 COMMAND true)
add_test(NAME fails COMMAND false)
add_test(NAME notrun COMMAND /nonexistent/memwal-tally-test)
add_test(NAME skipped COMMAND sh -c "exit 77")
set_tests_properties(skipped PROPERTIES SKIP_RETURN_CODE 77)
set_tests_properties(pass1 pass2 PROPERTIES LABELS good)
EOF
cmake -S "$TMP/p" -B "$TMP/b" >/dev/null 2>&1 || die "cmake on the sample project failed"
(cd "$TMP/b" && ctest -j2 --output-on-failure) > "$TMP/mixed.log" 2>&1
check "sample ctest run fails" 8 $?
(cd "$TMP/b" && ctest -L good) > "$TMP/good.log" 2>&1
check "sample ctest good run passes" 0 $?
(cd "$TMP/b" && ctest -R no-such-test) > "$TMP/none.log" 2>&1
grep '% tests passed' "$TMP/good.log" > "$TMP/cut.log" # summary line only
head -n 2 "$TMP/mixed.log" > "$TMP/truncated.log"      # ctest killed before its summary

out=$(bash "$TALLY" plain="$TMP/good.log"); rc=$?
check "all pass: lines" "$(printf 'plain: 2 passed, 0 failed\nctest: 2 passed, 0 failed')" "$out"
check "all pass: exit" 0 $rc

out=$(bash "$TALLY" plain="$TMP/mixed.log"); rc=$?
check "mixed: lines (Not Run is failed, skipped is not passed)" \
  "$(printf 'plain: 2 passed, 2 failed, 1 skipped\nctest: 2 passed, 2 failed, 1 skipped')" "$out"
check "mixed: exit" 1 $rc

# Three stages: the totals are the sums, the failed stage does not hide the others.
out=$(bash "$TALLY" plain="$TMP/good.log" asan+ubsan="$TMP/mixed.log" tsan="$TMP/good.log"); rc=$?
check "three stages" "$(printf 'plain: 2 passed, 0 failed\nasan+ubsan: 2 passed, 2 failed, 1 skipped\ntsan: 2 passed, 0 failed\nctest: 6 passed, 2 failed, 1 skipped')" "$out"
check "three stages: exit" 1 $rc

# Two ctest runs in one stage's log are added up.
cat "$TMP/good.log" "$TMP/good.log" > "$TMP/twice.log"
check "two runs in one log" "$(printf 's: 4 passed, 0 failed\nctest: 4 passed, 0 failed')" "$(bash "$TALLY" s="$TMP/twice.log")"
check "summary line alone" "$(printf 's: 2 passed, 0 failed\nctest: 2 passed, 0 failed')" "$(bash "$TALLY" s="$TMP/cut.log")"

# Stages that did not run: named, counted as nothing; only a missing or
# summary-less log makes the tally fail.
out=$(bash "$TALLY" plain="$TMP/good.log" asan+ubsan=":skipped (MW_SKIP_SAN=1)" tsan=":not run (build failed)"); rc=$?
check "skipped stages" "$(printf 'plain: 2 passed, 0 failed\nasan+ubsan: skipped (MW_SKIP_SAN=1)\ntsan: not run (build failed)\nctest: 2 passed, 0 failed')" "$out"
check "skipped stages: exit" 0 $rc

out=$(bash "$TALLY" plain="$TMP/good.log" tsan="$TMP/truncated.log"); rc=$?
check "truncated log" "$(printf 'plain: 2 passed, 0 failed\ntsan: no ctest summary line (ctest did not finish)\nctest: 2 passed, 0 failed (incomplete: tsan)')" "$out"
check "truncated log: exit" 1 $rc

out=$(bash "$TALLY" plain="$TMP/none.log"); rc=$?
check "no tests found" "$(printf 'plain: no tests were found\nctest: 0 passed, 0 failed (incomplete: plain)')" "$out"
check "no tests found: exit" 1 $rc

out=$(bash "$TALLY" plain="$TMP/missing.log" tsan="$TMP/mixed.log"); rc=$?
check "missing log" "$(printf 'plain: no ctest output (ctest did not run)\ntsan: 2 passed, 2 failed, 1 skipped\nctest: 2 passed, 2 failed, 1 skipped (incomplete: plain)')" "$out"
check "missing log: exit" 1 $rc

# Usage errors.
bash "$TALLY" >/dev/null 2>&1; check "no arguments" 2 $?
bash "$TALLY" "$TMP/good.log" >/dev/null 2>&1; check "no stage name" 2 $?
bash "$TALLY" ="$TMP/good.log" >/dev/null 2>&1; check "empty stage name" 2 $?

# The stage bookkeeping of scripts/test.sh (scripts/test_stages.sh) on the
# sample project: a script that runs its stages and stops.
run_stages() { # body of a test.sh-like script, run in a subshell
  (
    set -euo pipefail
    root=$HERE/../..
    jobs=2
    . "$root/scripts/test_stages.sh"
    trap finish EXIT
    eval "$1"
  ) 2>&1
}
out=$(run_stages 'ctest_stage plain "$TMP/b" -- -L good; ctest_stage asan+ubsan "$TMP/b" -- -L good
                  ctest_stage tsan "$TMP/b" -- -L good'); rc=$?
check "stages all green: exit" 0 $rc
check "stages all green: closing line" "ctest: 6 passed, 0 failed" "$(printf '%s\n' "$out" | tail -n 1)"

# A failing stage does not stop the next ones; a stage whose build fails
# has no tests; the closing line is printed and the exit status is 1.
out=$(run_stages 'ctest_stage plain "$TMP/b" --; build_stage asan+ubsan "$TMP/no-build-dir" || true
                  ctest_stage tsan "$TMP/b" -- -L good'); rc=$?
check "failing stages: exit" 1 $rc
contains "failing stages: failed ctest named" "FAILED plain: ctest exit 8" "$out"
contains "failing stages: failed build named" "FAILED asan+ubsan: build failed" "$out"
contains "failing stages: per stage" "$(printf 'plain: 2 passed, 2 failed, 1 skipped\nasan+ubsan: not run (build failed)\ntsan: 2 passed, 0 failed')" "$out"
check "failing stages: closing line" "ctest: 4 passed, 2 failed, 1 skipped" "$(printf '%s\n' "$out" | tail -n 1)"

# The script stops early (set -e): the closing line still comes, the stages
# that never ran are named, exit 1.
out=$(run_stages 'ctest_stage plain "$TMP/b" -- -L good; false; ctest_stage tsan "$TMP/b" --'); rc=$?
check "stopped early: exit" 1 $rc
contains "stopped early: named" "FAILED test.sh stopped early (exit 1)" "$out"
contains "stopped early: stages not run" "$(printf 'asan+ubsan: not run (test.sh stopped before it)\ntsan: not run (test.sh stopped before it)')" "$out"
check "stopped early: closing line" "ctest: 2 passed, 0 failed" "$(printf '%s\n' "$out" | tail -n 1)"

exit $fail
