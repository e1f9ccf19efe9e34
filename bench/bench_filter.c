/* bench_filter.c - filter expression evaluation speed (src/query/filter.h)
 * over one in-memory record batch: N rows of
 *   id int64 (0..N-1), x float64 uniform [0, 1), s utf8 one of 10 words,
 *   flag bool (random), q int32 0..9 with 10% nulls,
 * from a seeded generator. For each filter below: bind once, then evaluate
 * the whole batch R times (mw_filter_eval over all rows; it works in chunks
 * of 1024 internally); reports the best run as rows/s and the selectivity,
 * one JSON line per filter. Then, for the last filter, the candidate path
 * an index uses: 100,000 random rows evaluated one call per row
 * (mw_filter_eval with len 1) and as one gather (mw_filter_eval_rows).
 *
 * Usage: bench_filter [--rows N] [--reps R] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query/filter.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static const char *W[10] = {"alpha", "beta", "gamma", "delta", "epsilon",
                            "zeta", "theta", "kappa", "lambda", "sigma"};

static void noop_sch(struct ArrowSchema *s) { s->release = NULL; }
static void noop_arr(struct ArrowArray *a) { a->release = NULL; }

#define NC 5

int main(int argc, char **argv) {
  int64_t n = 1000000;
  int reps = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) n = atoll(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_filter [--rows N] [--reps R]\n");
      return 2;
    }
  }
  if (n < 1 || reps < 1) return 2;
  uint64_t seed = 42;
  int64_t *id = malloc((size_t)n * sizeof *id);
  double *x = malloc((size_t)n * sizeof *x);
  int32_t *offs = malloc(((size_t)n + 1) * sizeof *offs);
  char *chars = malloc((size_t)n * 8);
  uint8_t *flag = calloc((size_t)n / 8 + 1, 1);
  int32_t *q = malloc((size_t)n * sizeof *q);
  uint8_t *qvalid = calloc((size_t)n / 8 + 1, 1);
  uint8_t *keep = malloc((size_t)n);
  if (!id || !x || !offs || !chars || !flag || !q || !qvalid || !keep) return 1;
  int32_t pos = 0;
  int64_t qnulls = 0;
  for (int64_t i = 0; i < n; i++) {
    id[i] = i;
    x[i] = (double)(rng_next(&seed) >> 11) * 0x1p-53;
    const char *w = W[rng_next(&seed) % 10];
    size_t len = strlen(w);
    offs[i] = pos;
    memcpy(chars + pos, w, len);
    pos += (int32_t)len;
    if (rng_next(&seed) & 1) flag[i >> 3] |= (uint8_t)(1u << (i & 7));
    q[i] = (int32_t)(rng_next(&seed) % 10);
    if (rng_next(&seed) % 10) qvalid[i >> 3] |= (uint8_t)(1u << (i & 7));
    else qnulls++;
  }
  offs[n] = pos;

  static const char *names[NC] = {"id", "x", "s", "flag", "q"};
  static const char *formats[NC] = {"l", "g", "u", "b", "i"};
  struct ArrowSchema ks[NC], *ksp[NC];
  for (int c = 0; c < NC; c++) {
    ks[c] = (struct ArrowSchema){.format = formats[c], .name = names[c], .flags = ARROW_FLAG_NULLABLE,
                                 .release = noop_sch};
    ksp[c] = &ks[c];
  }
  struct ArrowSchema schema = {.format = "+s", .name = "", .n_children = NC, .children = ksp,
                               .release = noop_sch};
  const void *b_id[2] = {NULL, id}, *b_x[2] = {NULL, x}, *b_s[3] = {NULL, offs, chars},
             *b_flag[2] = {NULL, flag}, *b_q[2] = {qvalid, q};
  struct ArrowArray ka[NC] = {
    {.length = n, .n_buffers = 2, .buffers = b_id, .release = noop_arr},
    {.length = n, .n_buffers = 2, .buffers = b_x, .release = noop_arr},
    {.length = n, .n_buffers = 3, .buffers = b_s, .release = noop_arr},
    {.length = n, .n_buffers = 2, .buffers = b_flag, .release = noop_arr},
    {.length = n, .null_count = qnulls, .n_buffers = 2, .buffers = b_q, .release = noop_arr},
  };
  struct ArrowArray *kap[NC];
  for (int c = 0; c < NC; c++) kap[c] = &ka[c];
  const void *sb[1] = {NULL};
  struct ArrowArray batch = {.length = n, .n_buffers = 1, .buffers = sb, .n_children = NC,
                             .children = kap, .release = noop_arr};

  static const char *filters[] = {
    "id > 500000",
    "x < 0.25",
    "x >= 2",
    "s = 'gamma'",
    "s IN ('alpha', 'beta', 'zeta')",
    "q IS NULL OR q = 3",
    "flag AND x > 0.5",
    "id >= 1000 AND id < 900000 AND (x > 0.5 OR flag) AND s != 'gamma'",
    "NOT (q IN (1, 2, 3) OR s > 'm') AND id <= 9007199254740993",
  };
  mw_error err = {0};
  for (size_t fi = 0; fi < sizeof filters / sizeof filters[0]; fi++) {
    mw_expr *e = NULL;
    mw_bound_filter *f = NULL;
    if (mw_expr_parse(&e, filters[fi], &err) != MW_OK || mw_filter_bind(&f, e, &schema, &err) != MW_OK) {
      fprintf(stderr, "bench_filter: %s: %s\n", filters[fi], err.message);
      return 1;
    }
    double best = 1e30;
    int64_t pass = 0;
    for (int r = 0; r < reps; r++) {
      double t0 = now();
      if (mw_filter_eval(keep, f, &batch, 0, n, &err) != MW_OK) {
        fprintf(stderr, "bench_filter: %s\n", err.message);
        return 1;
      }
      double dt = now() - t0;
      if (dt < best) best = dt;
      pass = 0;
      for (int64_t i = 0; i < n; i++) pass += keep[i];
    }
    printf("{\"filter\": \"%s\", \"rows\": %lld, \"passing\": %lld, \"best_s\": %.6f, \"rows_per_s\": %.0f}\n",
           filters[fi], (long long)n, (long long)pass, best, (double)n / best);
    if (fi + 1 == sizeof filters / sizeof filters[0]) {
      int64_t nr = n < 100000 ? n : 100000;
      int64_t *rows = malloc((size_t)nr * sizeof *rows);
      uint8_t *k2 = malloc((size_t)nr);
      if (!rows || !k2) return 1;
      for (int64_t i = 0; i < nr; i++) rows[i] = (int64_t)(rng_next(&seed) % (uint64_t)n);
      double best1 = 1e30, bestg = 1e30;
      for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int64_t i = 0; i < nr; i++)
          if (mw_filter_eval(&k2[i], f, &batch, rows[i], 1, &err) != MW_OK) return 1;
        double t1 = now();
        if (mw_filter_eval_rows(keep, f, &batch, rows, (size_t)nr, &err) != MW_OK) return 1;
        double t2 = now();
        if (memcmp(keep, k2, (size_t)nr) != 0) {
          fprintf(stderr, "bench_filter: per-row and gather results differ\n");
          return 1;
        }
        if (t1 - t0 < best1) best1 = t1 - t0;
        if (t2 - t1 < bestg) bestg = t2 - t1;
      }
      printf("{\"filter\": \"%s\", \"candidates\": %lld, \"per_row_call_ns\": %.1f, "
             "\"gather_rows_per_s\": %.0f}\n",
             filters[fi], (long long)nr, best1 / (double)nr * 1e9, (double)nr / bestg);
      free(rows);
      free(k2);
    }
    mw_bound_filter_free(f);
    mw_expr_free(e);
  }
  free(id);
  free(x);
  free(offs);
  free(chars);
  free(flag);
  free(q);
  free(qvalid);
  free(keep);
  return 0;
}
