/* float_fmt.c - shortest round-trip float formatting (see float_fmt.h).
 *
 * What the text must be. json.c used to find, by trial, the smallest
 * precision P for which snprintf("%.{P}g", v) reads back as v (a binary
 * search over P in 1..9 for binary32 and 1..17 for binary64, a linear scan
 * over 1..5 for binary16) and printed that. This file produces the same text
 * without formatting or parsing anything (tests/test_float_fmt.c keeps the
 * old code as the reference and compares).
 *
 * Why a Ryu-style digit generation gives that text. A finite nonzero v is
 * m * 2^e (m the integer significand). Exactly the decimals inside the
 * rounding interval of v (half-way to each neighbour; the ends included iff m
 * is even, as ties go to even) read back as v. "%.{P}g" prints round_P(v),
 * v rounded to P significant digits, ties to even. When the interval is
 * symmetric around v (every v except an exact power of two, whose lower
 * neighbour is twice as close as the upper one) round_P(v) is the nearest
 * P-digit decimal, so it is inside iff some P-digit decimal is: the smallest
 * P that reads back is the length of the shortest decimal in the interval
 * (so the search over P, which relies on "more digits never hurt", finds
 * it), and the text is the decimal of that length nearest to v (ties to
 * even), which has no trailing zeros. That is what Ryu (Ulf Adams, "Ryu:
 * fast float-to-string conversion", PLDI 2018) computes; the fast path
 * follows its idea:
 *
 *   1. Scale the interval ends and v by 4 (integers X = 4m-2, 4m, 4m+2 times
 *      2^(e-2)) and pick a decimal exponent k about one digit below the
 *      interval's width, then compute floor(X * 2^(e-2) / 10^k) for the
 *      three X with a 125-bit approximation of 2^a/5^k (e >= 2) or 5^-k/2^a
 *      (e < 2) and one 64x128-bit multiplication; the paper shows this floor
 *      is exact for every X below 2^55 and every exponent of binary64,
 *      which covers binary16 and binary32 too. Whether a product has a
 *      fraction is decided exactly by divisibility (5^k | X, or 2^k | X).
 *   2. Drop trailing digits of all three while the interval still holds a
 *      number with one digit less (floor(hi/10) > floor(lo/10)); then, if
 *      the low end is itself inside (exact and m even), while it ends in 0.
 *   3. Round the middle one by the dropped digits, to nearest; an exact tie
 *      (possible: binary32 16384.0625 -> "16384.062") goes to even, as
 *      printf does.
 * The tables are computed once, at first use, with exact big integers.
 *
 * Powers of two (asymmetric intervals: 2 x 253 binary32 values, 2 x 2045
 * binary64, 2 x 29 binary16) take an exact slow path that replays the old
 * search step by step: the full decimal expansion of v (big integers),
 * round_P(v) for each P the search tries, and an exact comparison of that
 * decimal with the interval ends. Here the nearest P-digit decimal can lie
 * below the (narrow) lower end while a farther one above is inside, so the
 * search can stop at a longer text than Ryu's; replaying it keeps the text.
 *
 * Formatting is "%g"'s: with X the decimal exponent of the rounded value,
 * "d.ddde+XX" (at least two exponent digits) if X < -4 or X >= P, else fixed
 * notation; trailing zeros and a bare '.' removed; "-" for negative values
 * including -0. */
#include "arrow/float_fmt.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

typedef unsigned __int128 mw_u128;

/* ------------------------------------------------------ big integers
 * Little-endian 32-bit words, no leading zero words. Sizes needed: table
 * init < 2^810, slow path expansion < 2^53 * 5^1074 < 2^2550, comparisons
 * < 2^1300. */

#define BIG_WORDS 96

typedef struct big {
  uint32_t w[BIG_WORDS];
  int n;
} big;

static void big_trim(big *b) {
  while (b->n > 0 && b->w[b->n - 1] == 0) b->n--;
}

static void big_set(big *b, uint64_t v) {
  b->n = 0;
  while (v) {
    b->w[b->n++] = (uint32_t)v;
    v >>= 32;
  }
}

static void big_mul(big *b, uint32_t m) {
  uint64_t carry = 0;
  for (int i = 0; i < b->n; i++) {
    uint64_t t = (uint64_t)b->w[i] * m + carry;
    b->w[i] = (uint32_t)t;
    carry = t >> 32;
  }
  if (carry && b->n < BIG_WORDS) b->w[b->n++] = (uint32_t)carry;
}

#define POW5_13 1220703125u /* the largest power of 5 below 2^32 */

static uint32_t small_pow5(int k) {
  uint32_t m = 1;
  while (k-- > 0) m *= 5;
  return m;
}

static void big_mul_pow5(big *b, int k) {
  for (; k >= 13; k -= 13) big_mul(b, POW5_13);
  big_mul(b, small_pow5(k));
}

/* b = floor(b / d); returns the remainder. */
static uint32_t big_div(big *b, uint32_t d) {
  uint64_t r = 0;
  for (int i = b->n - 1; i >= 0; i--) {
    uint64_t t = (r << 32) | b->w[i];
    b->w[i] = (uint32_t)(t / d);
    r = t % d;
  }
  big_trim(b);
  return (uint32_t)r;
}

static uint32_t big_word(const big *b, int i) { return i >= 0 && i < b->n ? b->w[i] : 0; }

static void big_shl(big *b, int s) {
  if (b->n == 0 || s <= 0) return;
  int ws = s / 32, bs = s % 32;
  int n = b->n + ws + 1;
  if (n > BIG_WORDS) n = BIG_WORDS; /* never reached for the sizes above */
  for (int i = n - 1; i >= 0; i--) {
    uint32_t hi = big_word(b, i - ws), lo = big_word(b, i - ws - 1);
    b->w[i] = bs ? (hi << bs) | (lo >> (32 - bs)) : hi;
  }
  b->n = n;
  big_trim(b);
}

static int big_bitlen(const big *b) {
  if (b->n == 0) return 0;
  return 32 * (b->n - 1) + (32 - __builtin_clz(b->w[b->n - 1]));
}

static int big_cmp(const big *a, const big *b) {
  if (a->n != b->n) return a->n < b->n ? -1 : 1;
  for (int i = a->n - 1; i >= 0; i--)
    if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
  return 0;
}

/* The low 128 bits of b >> s (s >= 0). */
static mw_u128 big_low128(const big *b, int s) {
  int ws = s / 32, bs = s % 32;
  mw_u128 r = 0;
  for (int k = 3; k >= 0; k--) {
    uint32_t lo = big_word(b, ws + k), hi = big_word(b, ws + k + 1);
    r = (r << 32) | (bs ? (lo >> bs) | (hi << (32 - bs)) : lo);
  }
  return r;
}

/* ------------------------------------------------------------ tables
 * inv5[k] = floor(2^(len5[k] - 1 + 125) / 5^k) + 1   (k < 292: binary64
 *           exponents >= 0 need k <= 290)
 * pow5[i] = 5^i scaled to exactly 125 bits (truncated)   (i < 326)
 * len5[i] = bit length of 5^i. */

#define MUL_BITS 125
#define INV_N 292
#define POW_N 326

static mw_u128 inv5[INV_N], pow5[POW_N];
static int len5[POW_N];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void) {
  big p;
  big_set(&p, 1);
  for (int i = 0; i < POW_N; i++) {
    int bl = big_bitlen(&p);
    len5[i] = bl;
    pow5[i] = bl <= MUL_BITS ? big_low128(&p, 0) << (MUL_BITS - bl) : big_low128(&p, bl - MUL_BITS);
    big_mul(&p, 5);
  }
  for (int k = 0; k < INV_N; k++) {
    big t;
    big_set(&t, 1);
    big_shl(&t, len5[k] - 1 + MUL_BITS);
    int r = k;
    for (; r >= 13; r -= 13) big_div(&t, POW5_13); /* floor(floor(x/a)/b) == floor(x/(ab)) */
    big_div(&t, small_pow5(r));
    inv5[k] = big_low128(&t, 0) + 1;
  }
}

/* ----------------------------------------------------------- fast path */

/* floor(log10(2^e)) for 0 <= e <= 1650, floor(log10(5^e)) for 0 <= e <= 2620
 * (checked exhaustively over those ranges with exact rationals). */
static int log10_pow2(int e) { return (int)(((uint32_t)e * 78913u) >> 18); }
static int log10_pow5(int e) { return (int)(((uint32_t)e * 732923u) >> 20); }

/* floor(X * f / 2^j) for X = x - 2, x and x + 2 (x < 2^55, f < 2^126,
 * 64 < j < 192) at once: two multiplications give x * f, the neighbours
 * are that plus or minus 2f (exact 192-bit arithmetic, kept as the part
 * above bit 64 and the 64 bits below). */
static inline void mul_shift3(uint64_t x, mw_u128 f, int j, uint64_t *lo, uint64_t *mid, uint64_t *hi) {
  mw_u128 a = (mw_u128)x * (uint64_t)f;
  mw_u128 h = (mw_u128)x * (uint64_t)(f >> 64) + (a >> 64); /* (x * f) >> 64 */
  uint64_t l = (uint64_t)a;                                 /* (x * f) mod 2^64 */
  mw_u128 f2 = f << 1;
  uint64_t l2 = (uint64_t)f2;
  mw_u128 h2 = f2 >> 64;
  uint64_t lp = l + l2;
  mw_u128 hp = h + h2 + (lp < l);
  mw_u128 hm = h - h2 - (l < l2);
  int s = j - 64;
  *lo = (uint64_t)(hm >> s);
  *mid = (uint64_t)(h >> s);
  *hi = (uint64_t)(hp >> s);
}

static bool multiple_of_pow5(uint64_t x, int k) {
  if (k > 27) return false; /* 5^28 > 2^64 > x */
  for (; k > 0; k--) {
    if (x % 5) return false;
    x /= 5;
  }
  return true;
}

static bool multiple_of_pow2(uint64_t x, int k) { return k < 64 && (x & ((UINT64_C(1) << k) - 1)) == 0; }

typedef struct mw_dec {
  uint64_t d; /* value = d * 10^e */
  int e;
} mw_dec;

/* Step 2 and 3 when neither lo nor mid is exact: drop two digits at a time
 * while a candidate two digits shorter exists, then one at a time. */
static mw_dec drop_common64(uint64_t lo, uint64_t mid, uint64_t hi, int e10) {
  int last = 0;
  while (hi / 100 > lo / 100) {
    last = (int)(mid % 100 / 10);
    lo /= 100;
    mid /= 100;
    hi /= 100;
    e10 += 2;
  }
  if (hi / 10 > lo / 10) {
    last = (int)(mid % 10);
    lo /= 10;
    mid /= 10;
    e10++;
  }
  mw_dec r = {mid + (mid == lo || last >= 5), e10};
  return r;
}

/* The same in 32-bit arithmetic (cheaper divisions by constants). */
static mw_dec drop_common32(uint32_t lo, uint32_t mid, uint32_t hi, int e10) {
  uint32_t last = 0;
  while (hi / 100 > lo / 100) {
    last = mid % 100 / 10;
    lo /= 100;
    mid /= 100;
    hi /= 100;
    e10 += 2;
  }
  if (hi / 10 > lo / 10) {
    last = mid % 10;
    lo /= 10;
    mid /= 10;
    e10++;
  }
  mw_dec r = {(uint64_t)mid + (mid == lo || last >= 5), e10};
  return r;
}

/* The shortest decimal in the (symmetric) rounding interval of m2 * 2^e2,
 * nearest to it (m2 > 0, m2 < 2^53). */
static mw_dec shortest_symmetric(uint64_t m2, int e2) {
  bool even = (m2 & 1) == 0;
  int e = e2 - 2;
  uint64_t xv = 4 * m2, xp = xv + 2, xm = xv - 2;
  uint64_t lo, mid, hi;
  bool lo_exact, mid_exact, hi_exact;
  int e10;
  if (e >= 0) {
    /* X * 2^e / 10^k = X * 2^(e-k) / 5^k with k <= e */
    int k = log10_pow2(e) - (e > 3);
    int j = len5[k] - 1 + MUL_BITS - (e - k);
    e10 = k;
    mul_shift3(xv, inv5[k], j, &lo, &mid, &hi);
    lo_exact = multiple_of_pow5(xm, k);
    mid_exact = multiple_of_pow5(xv, k);
    hi_exact = multiple_of_pow5(xp, k);
  } else {
    /* with k >= 0 and i = -e - k: X * 2^e / 10^(k+e) = X * 5^i / 2^k */
    int k = log10_pow5(-e) - (-e > 1);
    int i = -e - k;
    int j = k - (len5[i] - MUL_BITS);
    e10 = k + e;
    mul_shift3(xv, pow5[i], j, &lo, &mid, &hi);
    lo_exact = multiple_of_pow2(xm, k);
    mid_exact = multiple_of_pow2(xv, k);
    hi_exact = multiple_of_pow2(xp, k);
  }
  /* The candidates at the current scale are the integers n with lo < n <= hi,
   * plus lo itself when the low end is exact and included. */
  if (!even && hi_exact) hi--;
  if (!lo_exact && !mid_exact) {
    /* The common case: lo is no candidate, and what is dropped from mid is
     * never exactly half, so its first dropped digit decides the rounding.
     * binary32 values fit 32 bits here (mid < 2^24 * 100). */
    if (hi <= UINT32_MAX) return drop_common32((uint32_t)lo, (uint32_t)mid, (uint32_t)hi, e10);
    return drop_common64(lo, mid, hi, e10);
  }
  bool lo_zeros = lo_exact;   /* lo's dropped part is all zeros */
  bool mid_zeros = mid_exact; /* mid's dropped part below `last` is all zeros */
  int last = 0;               /* the last digit dropped from mid */
  while (hi / 10 > lo / 10) {
    lo_zeros = lo_zeros && lo % 10 == 0;
    mid_zeros = mid_zeros && last == 0;
    last = (int)(mid % 10);
    lo /= 10;
    mid /= 10;
    hi /= 10;
    e10++;
  }
  bool lo_in = even && lo_zeros;
  if (lo_in) {
    /* hi / 10 == lo / 10 now: lo is the only candidate one digit shorter */
    while (lo != 0 && lo % 10 == 0) {
      mid_zeros = mid_zeros && last == 0;
      last = (int)(mid % 10);
      lo /= 10;
      mid /= 10;
      hi /= 10;
      e10++;
    }
  }
  if (mid_zeros && last == 5 && mid % 2 == 0) last = 4; /* exact tie: to even */
  mw_dec r = {mid + ((mid == lo && !lo_in) || last >= 5), e10};
  return r;
}

/* ----------------------------------------------------------- formatting */

static const uint64_t pow10_tab[20] = {
    UINT64_C(1), UINT64_C(10), UINT64_C(100), UINT64_C(1000), UINT64_C(10000), UINT64_C(100000),
    UINT64_C(1000000), UINT64_C(10000000), UINT64_C(100000000), UINT64_C(1000000000),
    UINT64_C(10000000000), UINT64_C(100000000000), UINT64_C(1000000000000),
    UINT64_C(10000000000000), UINT64_C(100000000000000), UINT64_C(1000000000000000),
    UINT64_C(10000000000000000), UINT64_C(100000000000000000), UINT64_C(1000000000000000000),
    UINT64_C(10000000000000000000)};

/* Number of decimal digits of d > 0: estimated from the bit length
 * (1233/4096 is just above log10(2)), then corrected by one comparison. */
static int dec_len(uint64_t d) {
  int n = (int)(((uint32_t)(64 - __builtin_clzll(d)) * 1233u) >> 12);
  return n + (d >= pow10_tab[n]);
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes the nd digits of d at out (two at a time from the end). */
static void put_digits(char *out, uint64_t d, int nd) {
  char *o = out + nd;
  if (d <= UINT32_MAX) { /* binary32: always; 32-bit divisions are cheaper */
    uint32_t w = (uint32_t)d;
    while (w >= 100) {
      o -= 2;
      memcpy(o, digit_pairs + 2 * (w % 100), 2);
      w /= 100;
    }
    if (w >= 10) {
      o -= 2;
      memcpy(o, digit_pairs + 2 * w, 2);
    } else {
      *--o = (char)('0' + w);
    }
    return;
  }
  while (d >= 100) {
    o -= 2;
    memcpy(o, digit_pairs + 2 * (d % 100), 2);
    d /= 100;
  }
  if (d >= 10) {
    o -= 2;
    memcpy(o, digit_pairs + 2 * d, 2);
  } else {
    *--o = (char)('0' + d);
  }
}

/* "%.{prec}g" of (-)d * 10^(x - nd + 1), d having nd digits (d > 0). The
 * digits are written in place (no copies through a temporary). */
static size_t put_g(char *dst, bool neg, uint64_t d, int nd, int x, int prec) {
  while (nd > 1 && d % 10 == 0) {
    d /= 10;
    nd--;
  }
  char *o = dst;
  if (neg) *o++ = '-';
  if (x < -4 || x >= prec) {
    /* d.ddd: the digits go one place right, then the first moves back */
    put_digits(o + 1, d, nd);
    o[0] = o[1];
    if (nd > 1) {
      o[1] = '.';
      o += nd + 1;
    } else {
      o += 1;
    }
    *o++ = 'e';
    *o++ = x < 0 ? '-' : '+';
    int ax = x < 0 ? -x : x;
    if (ax >= 100) {
      *o++ = (char)('0' + ax / 100);
      ax %= 100;
    }
    memcpy(o, digit_pairs + 2 * ax, 2);
    o += 2;
  } else if (x >= 0) {
    if (nd <= x + 1) { /* an integer: the digits, then zeros */
      put_digits(o, d, nd);
      o += nd;
      for (int k = nd; k <= x; k++) *o++ = '0';
    } else { /* x + 1 integer digits, '.', the rest */
      put_digits(o + 1, d, nd);
      for (int k = 0; k <= x; k++) o[k] = o[k + 1];
      o[x + 1] = '.';
      o += nd + 1;
    }
  } else { /* 0.000ddd */
    *o++ = '0';
    *o++ = '.';
    for (int k = 0; k < -x - 1; k++) *o++ = '0';
    put_digits(o, d, nd);
    o += nd;
  }
  return (size_t)(o - dst);
}

/* ------------------------------------------------------------ slow path */

typedef struct expansion {
  char s[800]; /* every significant digit of v */
  int n;
  int x; /* decimal exponent of s[0] */
} expansion;

static void expand(expansion *v, uint64_t m2, int e2) {
  big b;
  big_set(&b, m2);
  int shift = 0;
  if (e2 >= 0) {
    big_shl(&b, e2);
  } else {
    big_mul_pow5(&b, -e2); /* m2 * 2^e2 = m2 * 5^-e2 * 10^e2 */
    shift = e2;
  }
  char rev[sizeof v->s + 16];
  int t = 0;
  while (b.n > 0 && t + 9 <= (int)sizeof rev) {
    uint32_t r = big_div(&b, 1000000000u);
    for (int k = 0; k < 9; k++) {
      rev[t++] = (char)('0' + r % 10);
      r /= 10;
    }
  }
  while (t > 1 && rev[t - 1] == '0') t--;
  if (t > (int)sizeof v->s) t = (int)sizeof v->s; /* never: < 770 digits */
  for (int k = 0; k < t; k++) v->s[k] = rev[t - 1 - k];
  v->n = t;
  v->x = t - 1 + shift;
}

/* v rounded to p significant digits, ties to even: returns the p digits (as
 * an integer, maybe with trailing zeros) and their exponent in *x. */
static uint64_t round_to(const expansion *v, int p, int *x) {
  uint64_t d = 0, limit = 1;
  for (int k = 0; k < p; k++) {
    d = d * 10 + (uint64_t)(k < v->n ? v->s[k] - '0' : 0);
    limit *= 10;
  }
  *x = v->x;
  if (v->n > p) {
    int r = v->s[p] - '0';
    bool up = r > 5;
    if (r == 5) {
      bool rest = false;
      for (int k = p + 1; k < v->n && !rest; k++) rest = v->s[k] != '0';
      up = rest || (d & 1);
    }
    if (up && ++d == limit) {
      d /= 10;
      (*x)++;
    }
  }
  return d;
}

/* Sign of d * 10^t - y * 2^f. */
static int cmp_dec_bin(uint64_t d, int t, uint64_t y, int f) {
  big l, r;
  big_set(&l, d);
  big_set(&r, y);
  if (t >= 0) big_mul_pow5(&l, t);
  else big_mul_pow5(&r, -t);
  if (t >= f) big_shl(&l, t - f);
  else big_shl(&r, f - t);
  return big_cmp(&l, &r);
}

typedef struct binval {
  uint64_t m2; /* value = m2 * 2^e2, m2 > 0 */
  int e2;
  bool asym; /* lower neighbour at half the distance of the upper one */
} binval;

static bool reads_back(const binval *b, uint64_t d, int t) {
  uint64_t xl = 4 * b->m2 - (b->asym ? 1 : 2), xh = 4 * b->m2 + 2;
  int cl = cmp_dec_bin(d, t, xl, b->e2 - 2), ch = cmp_dec_bin(d, t, xh, b->e2 - 2);
  if ((b->m2 & 1) == 0) return cl >= 0 && ch <= 0;
  return cl > 0 && ch < 0;
}

static bool precision_ok(const binval *b, const expansion *v, int p) {
  int x;
  uint64_t d = round_to(v, p, &x);
  return reads_back(b, d, x - p + 1);
}

/* The old search, replayed exactly: binary over 1..max_p, or linear over
 * 1..max_p falling back to 17 digits. */
static size_t slow_path(char *dst, bool neg, const binval *b, int max_p, bool linear) {
  expansion v;
  expand(&v, b->m2, b->e2);
  int p;
  if (linear) {
    for (p = 1; p <= max_p && !precision_ok(b, &v, p); p++) {
    }
    if (p > max_p) p = 17;
  } else {
    int lo = 1, hi = max_p;
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (precision_ok(b, &v, mid)) hi = mid;
      else lo = mid + 1;
    }
    p = lo;
  }
  int x;
  uint64_t d = round_to(&v, p, &x);
  return put_g(dst, neg, d, p, x, p);
}

/* ------------------------------------------------------------- entries */

static size_t put_word(char *dst, const char *w) {
  size_t n = strlen(w);
  memcpy(dst, w, n);
  return n;
}

/* A finite value of a format with `mbits` stored significand bits and
 * exponent bias `bias`, given its biased exponent field and significand. */
static size_t format_finite(char *dst, bool neg, int ef, uint64_t mant, int mbits, int bias, int max_p,
                            bool linear) {
  if (ef == 0 && mant == 0) return put_word(dst, neg ? "-0" : "0");
  binval b;
  if (ef == 0) {
    b.m2 = mant;
    b.e2 = 1 - bias - mbits;
  } else {
    b.m2 = mant | (UINT64_C(1) << mbits);
    b.e2 = ef - bias - mbits;
  }
  b.asym = mant == 0 && ef > 1;
  pthread_once(&tables_once, tables_init);
  if (b.asym) return slow_path(dst, neg, &b, max_p, linear);
  mw_dec r = shortest_symmetric(b.m2, b.e2);
  int nd = dec_len(r.d);
  return put_g(dst, neg, r.d, nd, r.e + nd - 1, nd);
}

size_t mw_float_fmt_f64(char *dst, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  bool neg = (bits >> 63) != 0;
  int ef = (int)((bits >> 52) & 0x7ff);
  uint64_t mant = bits & ((UINT64_C(1) << 52) - 1);
  if (ef == 0x7ff) return put_word(dst, mant ? "NaN" : neg ? "-Infinity" : "Infinity");
  return format_finite(dst, neg, ef, mant, 52, 1023, 17, false);
}

size_t mw_float_fmt_f32(char *dst, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  bool neg = (bits >> 31) != 0;
  int ef = (int)((bits >> 23) & 0xff);
  uint64_t mant = bits & ((UINT32_C(1) << 23) - 1);
  if (ef == 0xff) return put_word(dst, mant ? "NaN" : neg ? "-Infinity" : "Infinity");
  return format_finite(dst, neg, ef, mant, 23, 127, 9, false);
}

size_t mw_float_fmt_f16(char *dst, uint16_t bits) {
  bool neg = (bits >> 15) != 0;
  int ef = (bits >> 10) & 0x1f;
  uint64_t mant = bits & 0x3ff;
  if (ef == 0x1f) return put_word(dst, mant ? "NaN" : neg ? "-Infinity" : "Infinity");
  return format_finite(dst, neg, ef, mant, 10, 15, 5, true);
}
