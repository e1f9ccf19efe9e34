#!/usr/bin/env bash
# zero_checks.sh ZERO_CHECKS_BIN - the harness (tests/mw_test.h) fails a test
# program that makes no checks, and a test function that makes none, with a
# message saying so; a program whose checks all pass still passes.
set -u
BIN=$1
. "$(dirname "$0")/../cli/common.sh"

out=$("$BIN" none 2>&1); rc=$?
check "no checks at all: exit" 1 $rc
contains "no checks at all: function named" "[test_nothing] made no checks" "$out"
contains "no checks at all: program message" "this test program made no checks" "$out"
contains "no checks at all: FAIL line" "FAIL test_nothing" "$out"

out=$("$BIN" some 2>&1); rc=$?
check "one function without checks: exit" 1 $rc
contains "one function without checks: ok line" "ok   test_one_check" "$out"
contains "one function without checks: FAIL line" "FAIL test_nothing" "$out"
contains "one function without checks: summary" "1 checks, 1 failed" "$out"

out=$("$BIN" pass 2>&1); rc=$?
check "all checks pass: exit" 0 $rc
check "all checks pass: output" "$(printf 'ok   test_one_check\n1 checks, 0 failed')" "$out"

exit $fail
