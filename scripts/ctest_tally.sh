#!/usr/bin/env bash
# ctest_tally.sh - the closing line of scripts/test.sh, from the real output
# of each ctest run (factored out so tests/cli/ctest_tally.sh can feed it
# sample outputs without running the suite).
#
# Usage: ctest_tally.sh STAGE=LOG ... | STAGE=:REASON ...
#   STAGE=LOG     the saved stdout of one stage's ctest run(s);
#   STAGE=:REASON a stage whose ctest did not run, e.g. ":skipped (MW_SKIP_SAN=1)"
#                 or ":not run (build failed)" (printed, counts nothing).
# Prints one line per stage and then the closing line
#   ctest: N passed, M failed[, K skipped][ (incomplete: STAGE ...)]
# where, per ctest summary "P% tests passed, F tests failed out of T",
# failed = F (this includes "Not Run"), skipped = the "(Skipped)" and
# "(Disabled)" lines under "The following tests did not run:" (ctest counts
# those as passed), passed = T - F - skipped. A LOG that is missing, empty,
# or has no summary line (ctest died, or found no tests) makes that stage
# incomplete. Exit status: 0 when every LOG has a summary, nothing failed
# and nothing was skipped; 1 otherwise; 2 on usage errors. Stages given as
# :REASON do not change the exit status (the caller decides).
set -u
if [ $# -eq 0 ]; then
  echo "usage: ctest_tally.sh STAGE=LOG|STAGE=:REASON ..." >&2
  exit 2
fi
total_pass=0 total_fail=0 total_skip=0 incomplete=""
for arg in "$@"; do
  case "$arg" in
    *=*) stage=${arg%%=*}; val=${arg#*=} ;;
    *) echo "ctest_tally.sh: expected STAGE=LOG or STAGE=:REASON, got '$arg'" >&2; exit 2 ;;
  esac
  if [ -z "$stage" ]; then
    echo "ctest_tally.sh: empty stage name in '$arg'" >&2
    exit 2
  fi
  case "$val" in
    :*) echo "$stage: ${val#:}"; continue ;;
  esac
  if [ ! -s "$val" ]; then
    echo "$stage: no ctest output (ctest did not run)"
    incomplete="$incomplete $stage"
    continue
  fi
  # Sums every summary in the log (a stage may run ctest more than once).
  # Prints "runs total failed skipped".
  read -r runs tot fl sk < <(awk '
    /^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+/ {
      for (i = 1; i <= NF; i++) {
        if ($i == "failed") f += $(i - 2)
        if ($i == "of") t += $(i + 1)
      }
      runs++
      next
    }
    /^The following tests did not run:/ { dnr = 1; next }
    /^The following tests/ { dnr = 0; next }
    dnr && /\((Skipped|Disabled)\)[[:space:]]*$/ { s++ ; next }
    dnr && !/^[[:space:]]/ { dnr = 0 }
    END { printf "%d %d %d %d\n", runs, t, f, s }' "$val")
  if [ "$runs" -eq 0 ]; then
    if grep -q 'No tests were found' "$val"; then
      echo "$stage: no tests were found"
    else
      echo "$stage: no ctest summary line (ctest did not finish)"
    fi
    incomplete="$incomplete $stage"
    continue
  fi
  pass=$((tot - fl - sk))
  line="$stage: $pass passed, $fl failed"
  [ "$sk" -gt 0 ] && line="$line, $sk skipped"
  echo "$line"
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fl))
  total_skip=$((total_skip + sk))
done
line="ctest: $total_pass passed, $total_fail failed"
[ "$total_skip" -gt 0 ] && line="$line, $total_skip skipped"
[ -n "$incomplete" ] && line="$line (incomplete:$incomplete)"
echo "$line"
[ "$total_fail" -eq 0 ] && [ "$total_skip" -eq 0 ] && [ -z "$incomplete" ]
