# common.sh - sourced by the CLI tests (tests/cli/*.sh) and, through
# tests/interop/common.sh, by the interop tests; not a test itself (CMake
# leaves it out). Two styles of recording failures, both ending in a
# non-zero exit of the test:
#   check NAME EXPECTED ACTUAL / contains NAME NEEDLE HAYSTACK: print
#     "ok   NAME" or "FAIL NAME: ..." and set fail=1 (the test ends with
#     `exit $fail`);
#   fail MSG / ok MSG: count failures in $fails (the test ends by checking
#     $fails);
# and die MSG: a missing precondition, the test FAILS now (never skips).
# mk_tmp: $TMP, a temp folder removed when the test exits.
fail=0
fails=0
check() { # name expected actual
  if [ "$2" != "$3" ]; then
    echo "FAIL $1: expected [$2] got [$3]" >&2
    fail=1
  else
    echo "ok   $1"
  fi
}
contains() { # name needle haystack
  case "$3" in *"$2"*) echo "ok   $1";; *) echo "FAIL $1: [$2] not in [$3]" >&2; fail=1;; esac
}
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }
mk_tmp() {
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
}
