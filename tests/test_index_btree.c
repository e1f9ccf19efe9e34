/* test_index_btree.c - the MemTable B+tree index and the key order: many
 * keys in random order checked against a sorted model for every operator,
 * strings, floats with NaN, unsigned and decimal order, nulls skipped, key
 * copying, invariants. */
#include <math.h>

#include "arrow/c_data.h"
#include "memtable/index_btree.h"
#include "mw_test.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static mw_type type_of(const char *fmt) {
  mw_type t;
  mw_error e;
  if (mw_type_from_format(&t, fmt, &e) != MW_OK) abort();
  return t;
}

static const mw_filter_op ops[5] = {MW_FILTER_EQ, MW_FILTER_LT, MW_FILTER_LE, MW_FILTER_GT,
                                    MW_FILTER_GE};

/* ---- int64: 100k random keys (many duplicates) vs a sorted model */

typedef struct pair {
  int64_t k;
  uint64_t row;
} pair;

static int pair_cmp(const void *a, const void *b) {
  const pair *x = a, *y = b;
  if (x->k != y->k) return x->k < y->k ? -1 : 1;
  return (x->row > y->row) - (x->row < y->row);
}
static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Index range [lo, hi) of the sorted model satisfying `k op v`. */
static void model_range(const pair *m, size_t n, mw_filter_op op, int64_t v, size_t *lo, size_t *hi) {
  size_t a = 0, b = n; /* first k >= v */
  while (a < b) { size_t mid = (a + b) / 2; if (m[mid].k < v) a = mid + 1; else b = mid; }
  size_t ge = a;
  a = 0; b = n; /* first k > v */
  while (a < b) { size_t mid = (a + b) / 2; if (m[mid].k <= v) a = mid + 1; else b = mid; }
  size_t gt = a;
  switch (op) {
    case MW_FILTER_EQ: *lo = ge; *hi = gt; break;
    case MW_FILTER_LT: *lo = 0; *hi = ge; break;
    case MW_FILTER_LE: *lo = 0; *hi = gt; break;
    case MW_FILTER_GT: *lo = gt; *hi = n; break;
    case MW_FILTER_GE: *lo = ge; *hi = n; break;
    case MW_FILTER_NE: *lo = 0; *hi = 0; break; /* not a range: the btree refuses it */
  }
}

static void test_int64_many_random(void) {
  const size_t N = 100000;
  mw_type t = type_of("l");
  mw_btree *bt;
  mw_error err_s, *err = &err_s;
  CHECK_OK(mw_btree_new(&bt, &t, err), err);
  pair *m = malloc(N * sizeof *m);
  /* rows inserted in a random order (a shuffled permutation of 0..N-1) */
  uint64_t *perm = malloc(N * sizeof *perm);
  for (size_t i = 0; i < N; i++) perm[i] = i;
  for (size_t i = N - 1; i > 0; i--) {
    size_t j = rnd() % (i + 1);
    uint64_t x = perm[i]; perm[i] = perm[j]; perm[j] = x;
  }
  int fails = 0;
  for (size_t i = 0; i < N; i++) {
    int64_t k = (int64_t)(rnd() % 40000) - 20000; /* ~2.5 rows per key */
    if (i % 1000 == 0) k = INT64_MIN + (int64_t)i; /* extremes too */
    if (i % 1000 == 1) k = INT64_MAX - (int64_t)i;
    m[i].k = k;
    m[i].row = perm[i];
    mw_key key = {.v.i = k};
    if (mw_btree_insert(bt, &key, perm[i], err) != MW_OK) fails++;
  }
  CHECK_INT(fails, 0);
  CHECK_INT(mw_btree_count(bt), N);
  CHECK_OK(mw_btree_check(bt, err), err);
  CHECK(mw_btree_height(bt) >= 3);
  qsort(m, N, sizeof *m, pair_cmp);

  uint64_t *want = malloc(N * sizeof *want);
  int mismatches = 0, queries = 0;
  for (int q = 0; q < 160; q++) {
    int64_t v;
    if (q < 100) v = m[rnd() % N].k;            /* present */
    else if (q < 150) v = (int64_t)(rnd() % 50000) - 25000; /* maybe absent */
    else if (q < 155) v = q % 2 ? INT64_MIN : INT64_MAX;
    else v = q % 2 ? m[0].k : m[N - 1].k;
    for (int o = 0; o < 5; o++) {
      size_t lo = 0, hi = 0;
      model_range(m, N, ops[o], v, &lo, &hi);
      size_t nw = hi - lo;
      for (size_t i = lo; i < hi; i++) want[i - lo] = m[i].row;
      qsort(want, nw, sizeof *want, u64_cmp);
      uint64_t *ids;
      size_t n;
      mw_key key = {.v.i = v};
      CHECK_OK(mw_btree_lookup(&ids, &n, bt, ops[o], &key, err), err);
      queries++;
      if (n != nw || (n > 0 && memcmp(ids, want, n * sizeof *ids) != 0)) {
        if (mismatches++ < 5)
          fprintf(stderr, "op %d v %lld: got %zu rows, want %zu\n", (int)ops[o], (long long)v, n, nw);
      }
      free(ids);
    }
  }
  CHECK_INT(queries, 800);
  CHECK_INT(mismatches, 0);
  /* a specific check: EQ on the minimum extreme key finds exactly its row */
  {
    mw_key key = {.v.i = INT64_MIN};
    uint64_t *ids;
    size_t n;
    CHECK_OK(mw_btree_lookup(&ids, &n, bt, MW_FILTER_EQ, &key, err), err);
    CHECK_INT(n, 1);
    if (n == 1) CHECK_INT(ids[0], perm[0]);
    free(ids);
    CHECK_OK(mw_btree_lookup(&ids, &n, bt, MW_FILTER_LT, &key, err), err);
    CHECK_INT(n, 0);
    CHECK(ids == NULL);
  }
  free(want);
  free(perm);
  free(m);
  mw_btree_free(bt);
}

/* ---- sequential appends produce full leaves; duplicates of one key */

static void test_sequential_and_duplicates(void) {
  mw_type t = type_of("i");
  mw_btree *bt;
  mw_error err_s, *err = &err_s;
  CHECK_OK(mw_btree_new(&bt, &t, err), err);
  uint64_t before = mw_btree_memory(bt);
  for (uint64_t i = 0; i < 64 * 64 * 4; i++) { /* 16384 rows, ascending keys */
    mw_key k = {.v.i = (int64_t)i};
    CHECK_OK(mw_btree_insert(bt, &k, i, err), err);
  }
  CHECK_OK(mw_btree_check(bt, err), err);
  CHECK_INT(mw_btree_height(bt), 3);
  /* full leaves: 256 leaves + 5 inner nodes (+ reserve); far below half-full */
  uint64_t mem = mw_btree_memory(bt) - before;
  CHECK(mem < 300 * 2100);
  /* 5000 rows with the same key: EQ returns them all in row order */
  mw_btree *d;
  CHECK_OK(mw_btree_new(&d, &t, err), err);
  for (uint64_t i = 0; i < 5000; i++) {
    mw_key k = {.v.i = (i % 3 == 0) ? 7 : (int64_t)(i % 11)};
    CHECK_OK(mw_btree_insert(d, &k, i, err), err);
  }
  CHECK_OK(mw_btree_check(d, err), err);
  mw_key seven = {.v.i = 7};
  uint64_t *ids;
  size_t n;
  CHECK_OK(mw_btree_lookup(&ids, &n, d, MW_FILTER_EQ, &seven, err), err);
  size_t want = 0;
  for (uint64_t i = 0; i < 5000; i++) want += (i % 3 == 0) || (i % 11 == 7);
  CHECK_INT(n, want);
  int bad = 0;
  for (size_t i = 1; i < n; i++) bad += ids[i] <= ids[i - 1];
  CHECK_INT(bad, 0);
  free(ids);
  CHECK_OK(mw_btree_lookup(&ids, &n, d, MW_FILTER_GT, &seven, err), err);
  want = 0;
  for (uint64_t i = 0; i < 5000; i++) want += (i % 3 != 0) && (i % 11 > 7);
  CHECK_INT(n, want);
  free(ids);
  mw_btree_free(d);
  mw_btree_free(bt);
}

/* ---- strings vs brute force, and copying of keys */

static void rand_str(char *buf, size_t *len) {
  static const char alpha[] = "ab\xff";
  size_t n = rnd() % 7; /* 0..6 chars: many prefixes, the empty string */
  for (size_t i = 0; i < n; i++) buf[i] = alpha[rnd() % 3];
  *len = n;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = memcmp(a, b, n);
  if (c) return c < 0 ? -1 : 1;
  return (an > bn) - (an < bn);
}

static bool holds(mw_filter_op op, int c) {
  switch (op) {
    case MW_FILTER_EQ: return c == 0;
    case MW_FILTER_LT: return c < 0;
    case MW_FILTER_LE: return c <= 0;
    case MW_FILTER_GT: return c > 0;
    case MW_FILTER_GE: return c >= 0;
    case MW_FILTER_NE: return c != 0;
  }
  return false;
}

static void test_strings_brute_force(void) {
  const size_t N = 20000;
  mw_type t = type_of("u");
  mw_btree *bt;
  mw_error err_s, *err = &err_s;
  CHECK_OK(mw_btree_new(&bt, &t, err), err);
  char (*keys)[8] = malloc(N * sizeof *keys);
  size_t *lens = malloc(N * sizeof *lens);
  for (size_t i = 0; i < N; i++) {
    char tmp[8];
    rand_str(tmp, &lens[i]);
    memcpy(keys[i], tmp, lens[i]);
    mw_key k = {.v.b = {(const uint8_t *)tmp, lens[i]}};
    CHECK_OK(mw_btree_insert(bt, &k, i, err), err);
    memset(tmp, 'z', sizeof tmp); /* the tree must have copied the bytes */
  }
  CHECK_OK(mw_btree_check(bt, err), err);
  CHECK_INT(mw_btree_count(bt), N);
  uint64_t *want = malloc(N * sizeof *want);
  int mismatches = 0;
  for (int q = 0; q < 60; q++) {
    char v[8];
    size_t vn;
    rand_str(v, &vn);
    for (int o = 0; o < 5; o++) {
      size_t nw = 0;
      for (size_t i = 0; i < N; i++)
        if (holds(ops[o], bytes_cmp(keys[i], lens[i], v, vn))) want[nw++] = i;
      mw_key k = {.v.b = {(const uint8_t *)v, vn}};
      uint64_t *ids;
      size_t n;
      CHECK_OK(mw_btree_lookup(&ids, &n, bt, ops[o], &k, err), err);
      if (n != nw || (n && memcmp(ids, want, n * sizeof *ids) != 0)) mismatches++;
      free(ids);
    }
  }
  CHECK_INT(mismatches, 0);
  /* exact: "" is the smallest key; "a" < "aa" < "ab" < "b" < "\xff" */
  size_t n_empty = 0, n_lt_a = 0;
  for (size_t i = 0; i < N; i++) {
    n_empty += lens[i] == 0;
    n_lt_a += bytes_cmp(keys[i], lens[i], "a", 1) < 0;
  }
  CHECK_INT(n_lt_a, n_empty);
  mw_key a = {.v.b = {(const uint8_t *)"a", 1}};
  uint64_t *ids;
  size_t n;
  CHECK_OK(mw_btree_lookup(&ids, &n, bt, MW_FILTER_LT, &a, err), err);
  CHECK_INT(n, n_empty);
  free(ids);
  free(want);
  free(keys);
  free(lens);
  mw_btree_free(bt);

  /* long keys (own arena chunks) */
  CHECK_OK(mw_btree_new(&bt, &t, err), err);
  char *big = malloc(10000);
  for (int i = 0; i < 20; i++) {
    memset(big, 'a' + i, 10000);
    mw_key k = {.v.b = {(const uint8_t *)big, 10000 - (uint64_t)i}};
    CHECK_OK(mw_btree_insert(bt, &k, (uint64_t)i, err), err);
  }
  memset(big, 'c', 10000);
  mw_key k = {.v.b = {(const uint8_t *)big, 9998}};
  CHECK_OK(mw_btree_lookup(&ids, &n, bt, MW_FILTER_EQ, &k, err), err);
  CHECK_INT(n, 1);
  if (n == 1) CHECK_INT(ids[0], 2);
  free(ids);
  CHECK_OK(mw_btree_lookup(&ids, &n, bt, MW_FILTER_GE, &k, err), err);
  CHECK_INT(n, 18);
  free(ids);
  CHECK(mw_btree_memory(bt) > 200000);
  free(big);
  mw_btree_free(bt);
}

/* ---- floats: NaN after everything, -0 == 0 */

static void test_floats_nan(void) {
  mw_type t = type_of("g");
  mw_btree *bt;
  mw_error err_s, *err = &err_s;
  CHECK_OK(mw_btree_new(&bt, &t, err), err);
  const double vals[] = {1.5, NAN, -INFINITY, 0.0, -0.0, INFINITY, -2.0, NAN, 1.5};
  for (uint64_t i = 0; i < 9; i++) {
    mw_key k = {.v.f = vals[i]};
    CHECK_OK(mw_btree_insert(bt, &k, i, err), err);
  }
  CHECK_OK(mw_btree_check(bt, err), err);
  struct { double v; mw_filter_op op; size_t n; uint64_t ids[9]; } cases[] = {
      {NAN, MW_FILTER_EQ, 2, {1, 7}},
      {NAN, MW_FILTER_LT, 7, {0, 2, 3, 4, 5, 6, 8}},
      {INFINITY, MW_FILTER_GT, 2, {1, 7}},
      {INFINITY, MW_FILTER_GE, 3, {1, 5, 7}},
      {0.0, MW_FILTER_EQ, 2, {3, 4}},
      {-0.0, MW_FILTER_LE, 4, {2, 3, 4, 6}},
      {1.5, MW_FILTER_EQ, 2, {0, 8}},
      {1.0, MW_FILTER_GT, 5, {0, 1, 5, 7, 8}},
      {-INFINITY, MW_FILTER_LT, 0, {0}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    mw_key k = {.v.f = cases[c].v};
    uint64_t *ids;
    size_t n;
    CHECK_OK(mw_btree_lookup(&ids, &n, bt, cases[c].op, &k, err), err);
    CHECK_INT(n, cases[c].n);
    if (n == cases[c].n)
      for (size_t i = 0; i < n; i++) CHECK_INT(ids[i], cases[c].ids[i]);
    free(ids);
  }
  mw_btree_free(bt);
}

/* ---- key extraction from arrays: offsets, nulls, every class */

static void test_key_get_and_insert_from(void) {
  /* int8 array with offset 1 and a null */
  int8_t v8[] = {99, -5, 3, 7, -128};
  uint8_t valid8 = 0x1d; /* 1,0,1,1,1: element 1 null */
  const void *b8[2] = {&valid8, v8};
  struct ArrowArray a8 = {.length = 4, .null_count = 1, .offset = 1, .n_buffers = 2, .buffers = b8};
  mw_type t8 = type_of("c");
  mw_key k;
  CHECK(!mw_key_get(&k, &t8, &a8, 0)); /* physical 1: null */
  CHECK(mw_key_get(&k, &t8, &a8, 1));
  CHECK_INT(k.v.i, 3);
  CHECK(mw_key_get(&k, &t8, &a8, 3));
  CHECK_INT(k.v.i, -128);
  mw_btree *bt;
  mw_error err_s, *err = &err_s;
  CHECK_OK(mw_btree_new(&bt, &t8, err), err);
  int added = 0;
  for (int64_t i = 0; i < 4; i++) {
    bool ok;
    CHECK_OK(mw_btree_insert_from(bt, &a8, i, (uint64_t)i, &ok, err), err);
    added += ok;
  }
  CHECK_INT(added, 3);
  CHECK_INT(mw_btree_count(bt), 3);
  mw_key zero = {.v.i = 0};
  uint64_t *ids;
  size_t n;
  CHECK_OK(mw_btree_lookup(&ids, &n, bt, MW_FILTER_LT, &zero, err), err);
  CHECK_INT(n, 1); /* only -128 (row 3); the null is not indexed */
  if (n == 1) CHECK_INT(ids[0], 3);
  free(ids);
  mw_btree_free(bt);

  /* uint64 above INT64_MAX sorts after small values */
  uint64_t vu[] = {UINT64_MAX, 1, (uint64_t)1 << 63};
  const void *bu[2] = {NULL, vu};
  struct ArrowArray au = {.length = 3, .n_buffers = 2, .buffers = bu};
  mw_type tu = type_of("L");
  CHECK_INT(mw_key_class_of(&tu), MW_KC_UINT);
  mw_key k0, k1, k2;
  CHECK(mw_key_get(&k0, &tu, &au, 0) && mw_key_get(&k1, &tu, &au, 1) && mw_key_get(&k2, &tu, &au, 2));
  CHECK_INT(mw_key_cmp(MW_KC_UINT, &k1, &k2), -1);
  CHECK_INT(mw_key_cmp(MW_KC_UINT, &k2, &k0), -1);

  /* decimal128: -1 < 0 < 2^64 */
  uint64_t dec[6] = {UINT64_MAX, UINT64_MAX, 0, 0, 0, 1};
  const void *bd[2] = {NULL, dec};
  struct ArrowArray ad = {.length = 3, .n_buffers = 2, .buffers = bd};
  mw_type td = type_of("d:38,2");
  CHECK(mw_key_get(&k0, &td, &ad, 0) && mw_key_get(&k1, &td, &ad, 1) && mw_key_get(&k2, &td, &ad, 2));
  CHECK_INT(mw_key_cmp(MW_KC_DEC128, &k0, &k1), -1);
  CHECK_INT(mw_key_cmp(MW_KC_DEC128, &k1, &k2), -1);

  /* large_utf8 with offset; fixed_size_binary; bool; float16 */
  int64_t offs[] = {0, 2, 2, 5};
  const char data[] = "abxyz";
  const void *bl[3] = {NULL, offs, data};
  struct ArrowArray al = {.length = 2, .offset = 1, .n_buffers = 3, .buffers = bl};
  mw_type tl = type_of("U");
  CHECK(mw_key_get(&k0, &tl, &al, 0));
  CHECK_INT(k0.v.b.n, 0);
  CHECK(mw_key_get(&k1, &tl, &al, 1));
  CHECK_INT(k1.v.b.n, 3);
  CHECK(memcmp(k1.v.b.p, "xyz", 3) == 0);
  const char fsb[] = "aaabbbab";
  const void *bf[2] = {NULL, fsb};
  struct ArrowArray af = {.length = 2, .offset = 0, .n_buffers = 2, .buffers = bf};
  mw_type tf = type_of("w:3");
  CHECK(mw_key_get(&k0, &tf, &af, 1));
  CHECK_INT(k0.v.b.n, 3);
  CHECK(memcmp(k0.v.b.p, "bbb", 3) == 0);
  uint8_t bits = 0x02;
  const void *bb[2] = {NULL, &bits};
  struct ArrowArray ab = {.length = 2, .n_buffers = 2, .buffers = bb};
  mw_type tb = type_of("b");
  CHECK(mw_key_get(&k0, &tb, &ab, 0) && mw_key_get(&k1, &tb, &ab, 1));
  CHECK_INT(k0.v.i, 0);
  CHECK_INT(k1.v.i, 1);
  uint16_t halves[] = {0x3c00, 0xc000, 0x7e00}; /* 1.0, -2.0, NaN */
  const void *bh[2] = {NULL, halves};
  struct ArrowArray ah = {.length = 3, .n_buffers = 2, .buffers = bh};
  mw_type th = type_of("e");
  CHECK(mw_key_get(&k0, &th, &ah, 0) && mw_key_get(&k1, &th, &ah, 1) && mw_key_get(&k2, &th, &ah, 2));
  CHECK(k0.v.f == 1.0);
  CHECK(k1.v.f == -2.0);
  CHECK(isnan(k2.v.f));

  /* key classes; non-scalar types rejected */
  mw_type tts = type_of("tsu:UTC");
  CHECK_INT(mw_key_class_of(&tts), MW_KC_INT);
  mw_type tlist = type_of("+l");
  CHECK_INT(mw_key_class_of(&tlist), MW_KC_NONE);
  mw_btree *none = NULL;
  CHECK_INT(mw_btree_new(&none, &tlist, err), MW_ERR_INVALID);
  CHECK(none == NULL);
  CHECK(strstr(err->message, "list") != NULL);
  mw_type tnull = type_of("n");
  CHECK_INT(mw_btree_new(&none, &tnull, err), MW_ERR_INVALID);
}

int main(void) {
  MW_RUN(test_int64_many_random);
  MW_RUN(test_sequential_and_duplicates);
  MW_RUN(test_strings_brute_force);
  MW_RUN(test_floats_nan);
  MW_RUN(test_key_get_and_insert_from);
  return mw_test_finish();
}
