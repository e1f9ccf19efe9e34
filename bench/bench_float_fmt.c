/* bench_float_fmt.c - cost of formatting one float (src/arrow/float_fmt.c)
 * against one snprintf("%.9g" / "%.17g") call, which the old renderer made
 * 3-5 times per value (plus as many strtod calls).
 *
 * 10,000,000 random float32 in [-1, 1) (vector-like) and as many random
 * float64 bit patterns, formatted into a reused 1 MiB buffer; prints CPU
 * ns per value, best of 3 rounds. snprintf is timed on a tenth as many.
 *
 * Usage: bench_float_fmt */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrow/float_fmt.h"

#define N 10000000

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x2545F4914F6CDD1Du;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

int main(void) {
  float *f = malloc(N * sizeof *f);
  double *d = malloc(N * sizeof *d);
  char *out = malloc(((size_t)1 << 20) + 64);
  if (!f || !d || !out) return 1;
  for (int i = 0; i < N; i++) {
    f[i] = (float)((double)(next() >> 40) / 16777216.0 * 2 - 1);
    uint64_t b = next();
    if (((b >> 52) & 0x7ff) == 0x7ff) b ^= UINT64_C(1) << 62; /* finite only */
    memcpy(&d[i], &b, sizeof b);
  }
  double best32 = 1e9, best64 = 1e9, bestp32 = 1e9, bestp64 = 1e9;
  size_t sink = 0;
  for (int round = 0; round < 3; round++) {
    size_t len = 0;
    double t = cpu_now();
    for (int i = 0; i < N; i++) len += mw_float_fmt_f32(out + (len & 0xFFFFF), f[i]);
    double e = (cpu_now() - t) / N * 1e9;
    if (e < best32) best32 = e;
    t = cpu_now();
    for (int i = 0; i < N; i++) len += mw_float_fmt_f64(out + (len & 0xFFFFF), d[i]);
    e = (cpu_now() - t) / N * 1e9;
    if (e < best64) best64 = e;
    t = cpu_now();
    for (int i = 0; i < N / 10; i++) len += (size_t)snprintf(out + (len & 0xFFFFF), 64, "%.9g", (double)f[i]);
    e = (cpu_now() - t) / (N / 10) * 1e9;
    if (e < bestp32) bestp32 = e;
    t = cpu_now();
    for (int i = 0; i < N / 10; i++) len += (size_t)snprintf(out + (len & 0xFFFFF), 64, "%.17g", d[i]);
    e = (cpu_now() - t) / (N / 10) * 1e9;
    if (e < bestp64) bestp64 = e;
    sink += len;
  }
  printf("float32 in [-1, 1): %6.1f ns/value   one snprintf(\"%%.9g\"):  %6.1f ns\n", best32, bestp32);
  printf("float64 random:     %6.1f ns/value   one snprintf(\"%%.17g\"): %6.1f ns\n", best64, bestp64);
  printf("(best of 3 rounds of %d values, CPU time; %zu bytes)\n", N, sink);
  free(f);
  free(d);
  free(out);
  return 0;
}
