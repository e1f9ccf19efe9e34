#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies (apt + the npm
# interop peers), then
#   1. a plain build (-Wall -Wextra -Werror) and every test, interop included,
#      plus the S3 tests against a Ceph radosgw started here (tests/s3/);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build (clang, leak
#      checking on) and every test again, with the fuzz seed corpora;
#   3. a ThreadSanitizer build and the threaded tests;
#   4. a timed libFuzzer run of each fuzz target: the IPC decoder for
#      MW_FUZZ_SECONDS (default 60), the other targets share as much again
#      (so adding a target does not lengthen CI).
# Every stage runs even when an earlier one failed (a stage whose build
# failed has no tests; fuzzing needs the ASan build). The closing lines are
# the real ctest counts of each stage and in total (scripts/ctest_tally.sh),
# printed whatever happened; the exit status is non-zero if any stage failed.
# Usage: scripts/test.sh   (env: MW_FUZZ_SECONDS, MW_SKIP_SAN=1 for a quick local run)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${MW_SHARED_DIR:-$root/../shared}
jobs=$(nproc)
# Stage bookkeeping and the closing summary (step, ctest_stage,
# build_stage, finish): scripts/test_stages.sh, tested by
# tests/cli/ctest_tally.sh.
. "$root/scripts/test_stages.sh"
trap finish EXIT

bash "$root/scripts/deps.sh" --test
peers="$root/build/peers"
bash "$shared/peers/install.sh" "$peers"

# A real S3 server (Ceph radosgw on loopback) for the S3 tests of the plain
# build; stopped on exit whatever happens.
step "starting radosgw"
rgw_dir=$(mktemp -d /tmp/mw-rgw-XXXXXX)
s3_env=$(MW_SHARED_DIR="$shared" bash "$root/tests/s3/rgw_start.sh" "$rgw_dir" "${MW_S3_PORT:-19702}")
eval "$s3_env"
s3_flags=(-DMW_TEST_S3=ON -DMW_TEST_S3_URI="s3://$MW_S3_BUCKET/run-$(date +%s)-$$"
          -DMW_TEST_S3_ENDPOINT="$MW_S3_ENDPOINT" -DMW_TEST_S3_ACCESS_KEY="$MW_S3_ACCESS_KEY"
          -DMW_TEST_S3_SECRET_KEY="$MW_S3_SECRET_KEY")

step "plain build"
cmake -S "$root" -B "$root/build" -DMW_WERROR=ON -DMW_PEERS_DIR="$peers" -DMW_SHARED_DIR="$shared" \
  "${s3_flags[@]}" >/dev/null
plain_built=0
if build_stage plain "$root/build"; then
  plain_built=1
  ctest_stage plain "$root/build" --
fi
bash "$root/tests/s3/rgw_stop.sh" "$rgw_dir" # free its memory for the next stages
rgw_dir=""

step "install + pkg-config + the example program"
# (set -e does not act inside a subshell that is an if/|| condition, so the
# subshell runs with errexit off outside and on inside.)
inst_rc=1
if [ $plain_built = 1 ]; then
  set +e
  (
    set -e
    inst=$(mktemp -d)
    trap 'rm -rf "$inst"' EXIT
    cmake --install "$root/build" --prefix "$inst" >/dev/null
    PKG_CONFIG_PATH="$inst/lib/pkgconfig" cc -Wall -Wextra -Werror "$root/examples/ingest.c" \
      $(PKG_CONFIG_PATH="$inst/lib/pkgconfig" pkg-config --cflags --libs memwal) -o "$inst/ingest"
    LD_LIBRARY_PATH="$inst/lib" "$inst/ingest" "$inst/t.lance" > "$inst/out"
    grep -q '"physical_rows":3' "$inst/out"
    "$inst/bin/memwal" --version
  )
  inst_rc=$?
  set -e
fi
if [ $inst_rc -eq 0 ]; then
  echo "install + example: ok"
else
  problems+=("install + example: failed (or not run: plain build failed)")
fi

if [ "${MW_SKIP_SAN:-0}" != 1 ]; then
  step "ASan + UBSan build"
  CC=clang cmake -S "$root" -B "$root/build-asan" -DMW_WERROR=ON -DMW_SANITIZE=address,undefined \
    -DMW_FUZZ=ON -DMW_BUILD_BENCH=OFF -DMW_PEERS_DIR="$peers" -DMW_SHARED_DIR="$shared" >/dev/null
  asan_built=0
  if build_stage asan+ubsan "$root/build-asan"; then
    asan_built=1
    ctest_stage asan+ubsan "$root/build-asan" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 -- -LE interop
  fi

  step "TSan build (threaded tests)"
  CC=clang cmake -S "$root" -B "$root/build-tsan" -DMW_WERROR=ON -DMW_SANITIZE=thread \
    -DMW_BUILD_BENCH=OFF -DMW_SHARED_DIR="$shared" >/dev/null
  if build_stage tsan "$root/build-tsan"; then
    ctest_stage tsan "$root/build-tsan" TSAN_OPTIONS=halt_on_error=1 -- -L threads
  fi

  # Fuzzing: ipc_read gets MW_FUZZ_SECONDS, the other targets share as much.
  secs=${MW_FUZZ_SECONDS:-60}
  if [ $asan_built = 1 ]; then
    others=0
    for fz in "$root"/build-asan/tests/fuzz/fuzz_*; do
      [ -x "$fz" ] && [ "$(basename "$fz")" != fuzz_ipc_read ] && others=$((others + 1))
    done
    short=$(( others > 0 ? (secs + others - 1) / others : secs ))
    for fz in "$root"/build-asan/tests/fuzz/fuzz_*; do
      [ -x "$fz" ] || continue
      name=$(basename "$fz"); target=${name#fuzz_}
      t=$short; [ "$target" = ipc_read ] && t=$secs
      step "fuzzing $target for ${t}s"
      work=$(mktemp -d)
      cp "$root/tests/fuzz/corpus/$target"/* "$work"/
      rc=0
      ASAN_OPTIONS=detect_leaks=1 "$fz" -max_total_time="$t" -print_final_stats=1 \
        -artifact_prefix="$root/build-asan/" "$work" > "$logs/fuzz_$target.log" 2>&1 || rc=$?
      tail -n 5 "$logs/fuzz_$target.log"
      [ "$rc" -eq 0 ] || problems+=("fuzz $target: exit $rc (crash input under build-asan/; log above)")
      rm -rf "$work"
    done
  else
    problems+=("fuzzing: not run (ASan build failed)")
  fi
else
  tally+=("asan+ubsan=:skipped (MW_SKIP_SAN=1)" "tsan=:skipped (MW_SKIP_SAN=1)")
fi

