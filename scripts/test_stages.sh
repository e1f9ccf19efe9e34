# test_stages.sh - sourced by scripts/test.sh (and tests/cli/ctest_tally.sh):
# the bookkeeping of the test stages and the closing summary. Needs $root
# (the repository) and $jobs; uses $rgw_dir (radosgw to stop, "" = none)
# and $mw_stages (the ctest stages expected, default "plain asan+ubsan
# tsan": one that never reported is listed as not run).
# Every stage's ctest output is kept in $logs/STAGE.log; finish() prints
# the failed stages and the real ctest counts (scripts/ctest_tally.sh) and
# exits 1 if anything failed, did not run, or the script stopped early.
step() { echo; echo "=== $* ($(date +%T))"; }
logs=$(mktemp -d) # one ctest log per stage, for the closing lines
tally=()          # ctest_tally.sh arguments: STAGE=LOG or STAGE=:REASON
problems=()       # failed stages (non-ctest ones too: install, fuzzing)
rgw_dir=""

# On any exit (also set -e stopping the script early): stop radosgw, list
# the failed stages, print the real ctest counts per stage and the closing
# line, and exit non-zero if anything failed or did not run.
finish() {
  local rc=$? st
  trap - EXIT
  [ -z "$rgw_dir" ] || bash "$root/tests/s3/rgw_stop.sh" "$rgw_dir"
  step "summary"
  [ "$rc" -eq 0 ] || problems+=("test.sh stopped early (exit $rc)")
  for st in ${mw_stages:-plain asan+ubsan tsan}; do
    case " ${tally[*]-} " in *" $st="*) ;; *) tally+=("$st=:not run (test.sh stopped before it)") ;; esac
  done
  for st in ${problems[@]+"${problems[@]}"}; do echo "FAILED $st"; done
  local tally_rc=0
  bash "$root/scripts/ctest_tally.sh" "${tally[@]}" || tally_rc=$?
  rm -rf "$logs"
  if [ ${#problems[@]} -gt 0 ] || [ $tally_rc -ne 0 ]; then exit 1; fi
  exit 0
}
# ctest_stage STAGE BUILD_DIR [ENV=VALUE ...] -- [CTEST_ARGS ...]: runs ctest
# in BUILD_DIR with its output on the terminal and in the stage's log.
ctest_stage() {
  local stage=$1 dir=$2 envs=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  local rc=0
  (cd "$dir" && env ${envs[@]+"${envs[@]}"} ctest -j"$jobs" --output-on-failure "$@") 2>&1 |
    tee "$logs/$stage.log" || rc=$?
  tally+=("$stage=$logs/$stage.log")
  [ "$rc" -eq 0 ] || problems+=("$stage: ctest exit $rc")
}
# build_stage STAGE BUILD_DIR: builds; on failure records it (no tests run).
build_stage() {
  if cmake --build "$2" -j"$jobs"; then return 0; fi
  tally+=("$1=:not run (build failed)")
  problems+=("$1: build failed")
  return 1
}

