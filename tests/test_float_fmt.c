/* test_float_fmt.c - src/arrow/float_fmt.c against the renderer it replaced.
 *
 * The reference (ref_* below) is json.c's previous float code, kept verbatim
 * in spirit: the smallest "%.{P}g" that reads back (binary search over P for
 * binary32/64, linear for binary16). Every output must be byte-identical to
 * it and read back (strtod / strtof / half rounding) as the same value.
 *
 * Inputs: random bit patterns (so every exponent, subnormals, NaN and Inf
 * appear), random short decimals parsed to the nearest float (short outputs,
 * exact ties), values near powers of two and ten, integers, and exhaustive
 * sets where they are small: every binary16, every power of two of binary32
 * and binary64 with its neighbours.
 *
 * Count: MW_FLOAT_FMT_COUNT random values for binary32 and as many for
 * binary64 (60% random bit patterns, 20% short decimals, 20% uniform in
 * [-1, 1)); default 10,000,000 each in plain builds (about a minute of CPU,
 * nearly all of it in the snprintf/strtod reference), 1,000,000 under
 * sanitizers, where everything is several times slower. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/float_fmt.h"
#include "arrow/json.h"
#include "mw_test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MW_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
#define MW_SANITIZED 1
#endif
#endif
#ifndef MW_SANITIZED
#define MW_SANITIZED 0
#endif

/* ------------------------------------------------ the old algorithm */

static bool ref_nonfinite(char *buf, size_t cap, double v) {
  if (v != v) {
    snprintf(buf, cap, "NaN");
    return true;
  }
  if (v > 1.7976931348623157e308) {
    snprintf(buf, cap, "Infinity");
    return true;
  }
  if (v < -1.7976931348623157e308) {
    snprintf(buf, cap, "-Infinity");
    return true;
  }
  return false;
}

static void ref_shortest_g(char *buf, size_t cap, double v, int max_p, bool as_float) {
  int lo = 1, hi = max_p;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    snprintf(buf, cap, "%.*g", mid, v);
    bool ok = as_float ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v;
    if (ok) hi = mid;
    else lo = mid + 1;
  }
  snprintf(buf, cap, "%.*g", lo, v);
}

static void ref_f64(char *buf, size_t cap, double v) {
  if (ref_nonfinite(buf, cap, v)) return;
  ref_shortest_g(buf, cap, v, 17, false);
}

static void ref_f32(char *buf, size_t cap, float v) {
  if (ref_nonfinite(buf, cap, v)) return;
  ref_shortest_g(buf, cap, (double)v, 9, true);
}

static void ref_f16(char *buf, size_t cap, uint16_t bits) {
  double v = mw_half_to_double(bits);
  if (ref_nonfinite(buf, cap, v)) return;
  for (int prec = 1; prec <= 5; prec++) {
    snprintf(buf, cap, "%.*g", prec, v);
    if (mw_double_to_half(strtod(buf, NULL)) == bits) return;
  }
  snprintf(buf, cap, "%.17g", v);
}

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static double f64_of(uint64_t b) {
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}
static float f32_of(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}
static uint64_t bits64(double d) {
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return b;
}
static uint32_t bits32(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

typedef struct tally {
  long long n, differ, no_roundtrip;
} tally;

static void report(const char *what, const tally *t) {
  printf("  %-40s %12lld values, %lld differ, %lld do not read back\n", what, t->n, t->differ,
         t->no_roundtrip);
  CHECK(t->n > 0);
  CHECK_INT(t->differ, 0);
  CHECK_INT(t->no_roundtrip, 0);
}

static void one64(tally *t, double v) {
  char ref[64], got[MW_FLOAT_FMT_MAX + 1];
  ref_f64(ref, sizeof ref, v);
  size_t n = mw_float_fmt_f64(got, v);
  got[n] = 0;
  t->n++;
  if (n > MW_FLOAT_FMT_MAX || strcmp(ref, got) != 0) {
    if (t->differ++ < 10)
      fprintf(stderr, "f64 %016llx: got \"%s\", reference \"%s\"\n", (unsigned long long)bits64(v), got, ref);
  }
  if (v == v && !isinf(v) && bits64(strtod(got, NULL)) != bits64(v)) {
    if (t->no_roundtrip++ < 10) fprintf(stderr, "f64 %016llx: \"%s\" reads back differently\n", (unsigned long long)bits64(v), got);
  }
}

static void one32(tally *t, float v) {
  char ref[64], got[MW_FLOAT_FMT_MAX + 1];
  ref_f32(ref, sizeof ref, v);
  size_t n = mw_float_fmt_f32(got, v);
  got[n] = 0;
  t->n++;
  if (n > MW_FLOAT_FMT_MAX || strcmp(ref, got) != 0) {
    if (t->differ++ < 10) fprintf(stderr, "f32 %08x: got \"%s\", reference \"%s\"\n", bits32(v), got, ref);
  }
  if (v == v && !isinf(v) && bits32(strtof(got, NULL)) != bits32(v)) {
    if (t->no_roundtrip++ < 10) fprintf(stderr, "f32 %08x: \"%s\" reads back differently\n", bits32(v), got);
  }
}

static long long random_count(void) {
  const char *e = getenv("MW_FLOAT_FMT_COUNT");
  if (e && *e) return atoll(e);
  return MW_SANITIZED ? 1000000 : 10000000;
}

/* A random decimal of 1..max_digits digits and exponent in [lo, hi]. */
static void random_decimal(char *s, size_t cap, int max_digits, int lo, int hi) {
  uint64_t d = rnd() % 1000000000000000000u;
  int nd = 1 + (int)(rnd() % (uint64_t)max_digits);
  for (int k = nd; k < 18; k++) d /= 10;
  int e = lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
  snprintf(s, cap, "%s%llue%d", (rnd() & 1) ? "-" : "", (unsigned long long)d, e);
}

/* -------------------------------------------------------------- tests */

static void test_known_values(void) {
  char t[MW_FLOAT_FMT_MAX + 1];
#define F64(v, want) t[mw_float_fmt_f64(t, v)] = 0; CHECK_STR(t, want)
#define F32(v, want) t[mw_float_fmt_f32(t, v)] = 0; CHECK_STR(t, want)
  F64(0.1, "0.1");
  F64(1e23, "1e+23");
  F64(-0.0, "-0");
  F64(0.0, "0");
  F64(5e-324, "5e-324");
  F64(1.7976931348623157e308, "1.7976931348623157e+308");
  F64(2.2250738585072014e-308, "2.2250738585072014e-308");
  F64(100.0, "1e+02");
  F64(123456.0, "123456");
  F64(0.0001, "0.0001");
  F64(0.00001, "1e-05");
  F64(-1.5, "-1.5");
  F64(INFINITY, "Infinity");
  F64(-INFINITY, "-Infinity");
  F64(NAN, "NaN");
  F32(0.1f, "0.1");
  F32(3.4028235e38f, "3.4028235e+38");
  F32(1e-45f, "1e-45");
  F32(16384.0625f, "16384.062"); /* exact tie at the shortest length: to even */
  F32(16777216.0f, "16777216");
  F32(1.0f, "1");
  F32(-2.0f, "-2");
  F32(0.3f, "0.3");
  F32(NAN, "NaN");
  F32(-INFINITY, "-Infinity");
#undef F64
#undef F32
  t[mw_float_fmt_f16(t, 0x3555)] = 0;
  CHECK_STR(t, "0.3333");
  t[mw_float_fmt_f16(t, 0x7BFF)] = 0;
  CHECK_STR(t, "6.55e+04");
  t[mw_float_fmt_f16(t, 0x8000)] = 0;
  CHECK_STR(t, "-0");
}

static void test_every_half(void) {
  tally t = {0};
  for (uint32_t h = 0; h < 0x10000; h++) {
    char ref[64], got[MW_FLOAT_FMT_MAX + 1];
    ref_f16(ref, sizeof ref, (uint16_t)h);
    size_t n = mw_float_fmt_f16(got, (uint16_t)h);
    got[n] = 0;
    t.n++;
    if (strcmp(ref, got) != 0 && t.differ++ < 10) fprintf(stderr, "f16 %04x: got \"%s\", reference \"%s\"\n", h, got, ref);
    bool finite = (h & 0x7C00) != 0x7C00;
    if (finite && mw_double_to_half(strtod(got, NULL)) != h) t.no_roundtrip++;
  }
  report("binary16: all 65536", &t);
}

static void test_special_f64(void) {
  tally t = {0};
  double fixed[] = {0.0, -0.0, 5e-324, -5e-324, 2.2250738585072009e-308, 2.2250738585072014e-308,
                    1.7976931348623157e308, -1.7976931348623157e308, INFINITY, -INFINITY, NAN,
                    -NAN, 1.0, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 9007199254740992.0, 9007199254740993.0,
                    123456789012345678.0, 1e15, 1e16, 1e17, 1e21, 1e22, 1e23, 5e-5, 1e-4, 1e-5};
  for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) one64(&t, fixed[k]);
  report("binary64: fixed edge cases", &t);

  tally p2 = {0};
  for (uint64_t ef = 0; ef < 0x7ff; ef++) { /* every power of two (+ neighbours, both signs) */
    uint64_t b = ef << 52;
    for (int64_t dlt = -2; dlt <= 2; dlt++) {
      uint64_t x = b + (uint64_t)dlt;
      if (x >= (UINT64_C(0x7ff) << 52)) continue;
      one64(&p2, f64_of(x));
      one64(&p2, f64_of(x | (UINT64_C(1) << 63)));
    }
  }
  report("binary64: powers of 2 +-2 ulp", &p2);

  tally p10 = {0};
  for (int e = -325; e <= 309; e++) { /* powers of ten and neighbours */
    char s[32];
    snprintf(s, sizeof s, "1e%d", e);
    uint64_t b = bits64(strtod(s, NULL));
    for (int64_t dlt = -3; dlt <= 3; dlt++) one64(&p10, f64_of(b + (uint64_t)dlt));
  }
  report("binary64: powers of 10 +-3 ulp", &p10);

  tally ints = {0};
  for (int64_t i = -100000; i <= 100000; i++) one64(&ints, (double)i);
  for (int k = 0; k < 100000; k++) one64(&ints, (double)(int64_t)(rnd() >> (rnd() % 64)));
  report("binary64: integers", &ints);
}

static void test_special_f32(void) {
  tally t = {0};
  float fixed[] = {0.0f, -0.0f, 1e-45f, -1e-45f, 1.1754942e-38f, 1.17549435e-38f, 3.4028235e38f,
                   -3.4028235e38f, INFINITY, -INFINITY, NAN, -NAN, 1.0f, 0.1f, 0.2f, 0.3f,
                   1.0f / 3, 2.0f / 3, 16777216.0f, 16777218.0f, 16384.0625f, 1e7f, 1e8f, 1e9f,
                   1e10f, 5e-5f, 1e-4f, 1e-5f};
  for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) one32(&t, fixed[k]);
  report("binary32: fixed edge cases", &t);

  tally p2 = {0};
  for (uint32_t ef = 0; ef < 0xff; ef++) {
    uint32_t b = ef << 23;
    for (int32_t dlt = -2; dlt <= 2; dlt++) {
      uint32_t x = b + (uint32_t)dlt;
      if (x >= (UINT32_C(0xff) << 23)) continue;
      one32(&p2, f32_of(x));
      one32(&p2, f32_of(x | UINT32_C(0x80000000)));
    }
  }
  report("binary32: powers of 2 +-2 ulp", &p2);

  tally p10 = {0};
  for (int e = -46; e <= 39; e++) {
    char s[32];
    snprintf(s, sizeof s, "1e%d", e);
    uint32_t b = bits32(strtof(s, NULL));
    for (int32_t dlt = -3; dlt <= 3; dlt++) one32(&p10, f32_of(b + (uint32_t)dlt));
  }
  report("binary32: powers of 10 +-3 ulp", &p10);

  tally ints = {0};
  for (int32_t i = -100000; i <= 100000; i++) one32(&ints, (float)i);
  for (int k = 0; k < 100000; k++) one32(&ints, (float)(int64_t)(rnd() >> (rnd() % 64)));
  report("binary32: integers", &ints);
}

static void test_random_f64(void) {
  long long n = random_count();
  tally bitsn = {0}, dec = {0}, unit = {0};
  for (long long k = 0; k < n - 2 * (n / 5); k++) one64(&bitsn, f64_of(rnd()));
  report("binary64: random bit patterns", &bitsn);
  for (long long k = 0; k < n / 5; k++) {
    char s[48];
    random_decimal(s, sizeof s, 17, -330, 310);
    one64(&dec, strtod(s, NULL));
  }
  report("binary64: random short decimals", &dec);
  for (long long k = 0; k < n / 5; k++) one64(&unit, (double)(rnd() >> 11) / 9007199254740992.0 * 2 - 1);
  report("binary64: uniform in [-1, 1)", &unit);
}

static void test_random_f32(void) {
  long long n = random_count();
  tally bitsn = {0}, dec = {0}, unit = {0};
  for (long long k = 0; k < n - 2 * (n / 5); k++) one32(&bitsn, f32_of((uint32_t)rnd()));
  report("binary32: random bit patterns", &bitsn);
  for (long long k = 0; k < n / 5; k++) {
    char s[48];
    random_decimal(s, sizeof s, 9, -47, 39);
    one32(&dec, strtof(s, NULL));
  }
  report("binary32: random short decimals", &dec);
  for (long long k = 0; k < n / 5; k++) one32(&unit, (float)((double)(rnd() >> 40) / 16777216.0 * 2 - 1));
  report("binary32: uniform in [-1, 1) (vector-like)", &unit);
}

/* The json.h wrappers give the same text (NUL-terminated). */
static void test_json_wrappers(void) {
  int bad = 0;
  for (int k = 0; k < 100000; k++) {
    char a[64], b[64];
    uint64_t r = rnd();
    mw_json_format_f64(a, sizeof a, f64_of(r));
    ref_f64(b, sizeof b, f64_of(r));
    bad += strcmp(a, b) != 0;
    mw_json_format_f32(a, sizeof a, f32_of((uint32_t)r));
    ref_f32(b, sizeof b, f32_of((uint32_t)r));
    bad += strcmp(a, b) != 0;
    mw_json_format_f16(a, sizeof a, (uint16_t)r);
    ref_f16(b, sizeof b, (uint16_t)r);
    bad += strcmp(a, b) != 0;
  }
  CHECK_INT(bad, 0);
}

int main(void) {
  printf("random values per kind: %lld (MW_FLOAT_FMT_COUNT)\n", random_count());
  MW_RUN(test_known_values);
  MW_RUN(test_every_half);
  MW_RUN(test_special_f64);
  MW_RUN(test_special_f32);
  MW_RUN(test_json_wrappers);
  MW_RUN(test_random_f32);
  MW_RUN(test_random_f64);
  return mw_test_finish();
}
