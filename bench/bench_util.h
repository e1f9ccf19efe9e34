/* bench_util.h - the small helpers the benchmark programs share: a
 * monotonic clock in seconds and environment knobs with defaults (an
 * unset or empty variable gives the default). Header-only: each bench_*.c
 * is its own program (bench/CMakeLists.txt). */
#ifndef MW_BENCH_UTIL_H
#define MW_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline long env_long(const char *name, long def) {
  const char *v = getenv(name);
  return v && *v ? atol(v) : def;
}

static inline long long env_ll(const char *name, long long def) {
  const char *v = getenv(name);
  return v && *v ? atoll(v) : def;
}

static inline const char *env_str(const char *name, const char *def) {
  const char *v = getenv(name);
  return v && *v ? v : def;
}

#endif
