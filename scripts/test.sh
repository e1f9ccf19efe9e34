#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies (apt + the npm
# interop peers), then
#   1. a plain build (-Wall -Wextra -Werror) and every test, interop included,
#      plus the S3 tests against a Ceph radosgw started here (tests/s3/);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build (clang, leak
#      checking on) and every test again, with the fuzz seed corpora;
#   3. a ThreadSanitizer build and the threaded tests;
#   4. a timed libFuzzer run of each fuzz target: the IPC decoder for
#      MW_FUZZ_SECONDS (default 60), the others for half that.
# Usage: scripts/test.sh   (env: MW_FUZZ_SECONDS, MW_SKIP_SAN=1 for a quick local run)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${MW_SHARED_DIR:-$root/../shared}
jobs=$(nproc)
bash "$root/scripts/deps.sh" --test
peers="$root/build/peers"
bash "$shared/peers/install.sh" "$peers"

step() { echo; echo "=== $* ($(date +%T))"; }
summary=$(mktemp) # ctest output, for the closing line

# A real S3 server (Ceph radosgw on loopback) for the S3 tests of the plain
# build; stopped on exit whatever happens.
step "starting radosgw"
rgw_dir=$(mktemp -d /tmp/mw-rgw-XXXXXX)
trap 'bash "$root/tests/s3/rgw_stop.sh" "$rgw_dir"; rm -f "$summary"' EXIT
s3_env=$(MW_SHARED_DIR="$shared" bash "$root/tests/s3/rgw_start.sh" "$rgw_dir" "${MW_S3_PORT:-19702}")
eval "$s3_env"
s3_flags=(-DMW_TEST_S3=ON -DMW_TEST_S3_URI="s3://$MW_S3_BUCKET/run-$(date +%s)-$$"
          -DMW_TEST_S3_ENDPOINT="$MW_S3_ENDPOINT" -DMW_TEST_S3_ACCESS_KEY="$MW_S3_ACCESS_KEY"
          -DMW_TEST_S3_SECRET_KEY="$MW_S3_SECRET_KEY")

step "plain build"
cmake -S "$root" -B "$root/build" -DMW_WERROR=ON -DMW_PEERS_DIR="$peers" -DMW_SHARED_DIR="$shared" \
  "${s3_flags[@]}" >/dev/null
cmake --build "$root/build" -j"$jobs"
(cd "$root/build" && ctest -j"$jobs" --output-on-failure) | tee -a "$summary"
bash "$root/tests/s3/rgw_stop.sh" "$rgw_dir" # free its memory for the next stages

step "install + pkg-config + the example program"
inst=$(mktemp -d)
cmake --install "$root/build" --prefix "$inst" >/dev/null
PKG_CONFIG_PATH="$inst/lib/pkgconfig" cc -Wall -Wextra -Werror "$root/examples/ingest.c" \
  $(PKG_CONFIG_PATH="$inst/lib/pkgconfig" pkg-config --cflags --libs memwal) -o "$inst/ingest"
LD_LIBRARY_PATH="$inst/lib" "$inst/ingest" "$inst/t.lance" | grep -q '"physical_rows":3'
"$inst/bin/memwal" --version
rm -rf "$inst"

if [ "${MW_SKIP_SAN:-0}" != 1 ]; then
  step "ASan + UBSan build"
  CC=clang cmake -S "$root" -B "$root/build-asan" -DMW_WERROR=ON -DMW_SANITIZE=address,undefined \
    -DMW_FUZZ=ON -DMW_BUILD_BENCH=OFF -DMW_PEERS_DIR="$peers" -DMW_SHARED_DIR="$shared" >/dev/null
  cmake --build "$root/build-asan" -j"$jobs"
  (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j"$jobs" --output-on-failure -LE interop) | tee -a "$summary"

  step "TSan build (threaded tests)"
  CC=clang cmake -S "$root" -B "$root/build-tsan" -DMW_WERROR=ON -DMW_SANITIZE=thread \
    -DMW_BUILD_BENCH=OFF -DMW_SHARED_DIR="$shared" >/dev/null
  cmake --build "$root/build-tsan" -j"$jobs"
  (cd "$root/build-tsan" && TSAN_OPTIONS=halt_on_error=1 ctest -j"$jobs" --output-on-failure -L threads) | tee -a "$summary"

  secs=${MW_FUZZ_SECONDS:-60}
  for fz in "$root"/build-asan/tests/fuzz/fuzz_*; do
    [ -x "$fz" ] || continue
    name=$(basename "$fz"); target=${name#fuzz_}
    t=$secs; [ "$target" = ipc_read ] || t=$(( (secs + 1) / 2 ))
    step "fuzzing $target for ${t}s"
    work=$(mktemp -d)
    cp "$root/tests/fuzz/corpus/$target"/* "$work"/
    ASAN_OPTIONS=detect_leaks=1 "$fz" -max_total_time="$t" -print_final_stats=1 \
      -artifact_prefix="$root/build-asan/" "$work" 2>&1 | tail -n 5
    rm -rf "$work"
  done
fi
step "all test stages passed"
# One closing line over every ctest run above (plain, ASan+UBSan, TSan).
passed=$(grep -o 'tests passed, [0-9]* tests failed out of [0-9]*' "$summary" | awk '{t += $NF} END {print t + 0}')
echo "ctest: $passed passed, 0 failed"
