/* bench_index.c - the standalone in-memory indexes (src/index/) on the
 * issue 11 anchor workload, before they are wired into the MemTable:
 * ids 0..N-1, vectors D floats uniform in [-0.5, 0.5) from a seeded
 * generator, text "<w[i % 10]> <w[(i * 7) % 10]> item<i>" with w = alpha,
 * beta, gamma, delta, epsilon, zeta, theta, kappa, lambda, sigma.
 *
 * Measures (one JSON line per phase):
 *   - ingest: HNSW inserts (T threads, rows split in contiguous ranges),
 *     FTS inserts (same threads), and both together (each thread inserts a
 *     row into both indexes): rows/s, wall clock;
 *   - vector k-NN: Q random query vectors (same generator, other seed) at
 *     k, per ef in the list: p50 / p99 latency (ms) and recall@k against
 *     the exact scan (mw_hnsw_search_exact), plus the exact scan's p50;
 *   - FTS: 20 queries "item<q*13>" at k: p50 / p99 (ms), and how many found
 *     their row first.
 * Anchor (LanceDB 0.39 in-process MemTable, 20,000 x 128, LSM.md section 9):
 * indexed ingest 10.3k rows/s, vector k=10 p50 6.3 ms / p99 37 ms at
 * recall@10 0.35, FTS 2.1 ms. Lance's numbers include its query layer; these
 * are the bare indexes.
 *
 * --data clustered replaces the uniform vectors by 50 clusters (centres
 * uniform in [-2, 2), points centre + 0.3 * (sum of three uniform
 * [-0.5, 0.5)), row i in cluster i % 50) and the queries by points drawn
 * the same way (other seed). --batch 1 builds the HNSW-alone index with
 * mw_hnsw_insert_batch on T threads instead of T threads of single inserts.
 * ef 0 in the list is the index's default search (printed with default_ef;
 * its calibration, on first use, is timed apart as calibrate_ms).
 *
 * Usage: bench_index [--rows N] [--dim D] [--k K] [--queries Q]
 *                    [--threads T] [--ef E1,E2,...] [--metric l2|cosine|dot]
 *                    [--data uniform|clustered] [--batch 0|1] */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index/fts.h"
#include "index/hnsw.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(void) { /* CPU time of the whole process (all threads) */
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}
static float urand(uint64_t *s) { return (float)((rng_next(s) >> 40) * 0x1.0p-24) - 0.5f; }

/* n points of the clustered data set: point i in cluster (i + off) % 50 */
static void make_clustered(float *v, size_t n, uint32_t dim, const float *centers, uint64_t *s, size_t off) {
  for (size_t i = 0; i < n; i++) {
    const float *c = centers + ((i + off) % 50) * dim;
    for (uint32_t j = 0; j < dim; j++) v[i * dim + j] = c[j] + 0.3f * (urand(s) + urand(s) + urand(s));
  }
}

static const char *W[10] = {"alpha", "beta", "gamma", "delta", "epsilon",
                            "zeta", "theta", "kappa", "lambda", "sigma"};

typedef struct job {
  mw_hnsw *h;
  mw_fts *f;
  const float *vecs;
  uint32_t dim;
  size_t from, to;
  int failures;
} job;

static void *run_job(void *p) {
  job *j = p;
  char text[96];
  mw_error err = {0};
  for (size_t i = j->from; i < j->to; i++) {
    if (j->h && mw_hnsw_insert(j->h, i, j->vecs + i * j->dim, &err) != MW_OK) j->failures++;
    if (j->f) {
      int n = snprintf(text, sizeof(text), "%s %s item%zu", W[i % 10], W[(i * 7) % 10], i);
      if (mw_fts_insert(j->f, i, text, (size_t)n, &err) != MW_OK) j->failures++;
    }
  }
  if (j->failures) fprintf(stderr, "bench_index: %d failures, last: %s\n", j->failures, err.message);
  return NULL;
}

/* Returns wall seconds; *cpu gets the CPU seconds of all threads. */
static double run_ingest(mw_hnsw *h, mw_fts *f, const float *vecs, uint32_t dim, size_t rows, int threads,
                         double *cpu) {
  job jobs[64];
  pthread_t t[64];
  double c0 = cpu_now(), t0 = now();
  for (int i = 0; i < threads; i++) {
    jobs[i] = (job){h, f, vecs, dim, rows * i / threads, rows * (i + 1) / threads, 0};
    pthread_create(&t[i], NULL, run_job, &jobs[i]);
  }
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  double dt = now() - t0;
  *cpu = cpu_now() - c0;
  for (int i = 0; i < threads; i++)
    if (jobs[i].failures) exit(1);
  return dt;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof(double), cmp_double);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i];
}

int main(int argc, char **argv) {
  size_t rows = 20000, k = 10, queries = 50;
  uint32_t dim = 128;
  int threads = 2;
  const char *efs = "0,10,20,40,100";
  mw_metric metric = MW_METRIC_L2;
  bool clustered = false, use_batch = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--rows")) rows = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--dim")) dim = (uint32_t)atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--k")) k = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--queries")) queries = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--ef")) efs = argv[i + 1];
    else if (!strcmp(argv[i], "--data")) clustered = !strcmp(argv[i + 1], "clustered");
    else if (!strcmp(argv[i], "--batch")) use_batch = atoi(argv[i + 1]) != 0;
    else if (!strcmp(argv[i], "--metric")) {
      if (mw_metric_parse(&metric, argv[i + 1], NULL) != MW_OK) return 2;
    } else {
      fprintf(stderr, "usage: see the comment at the top of bench_index.c\n");
      return 2;
    }
  }
  if (threads < 1 || threads > 64 || rows == 0 || dim == 0 || k == 0 || queries == 0) return 2;

  uint64_t seed = 0x5eed;
  float *vecs = malloc(rows * dim * sizeof(float));
  float *centers = malloc(50 * (size_t)dim * sizeof(float));
  uint64_t cseed = 0xc1u;
  for (size_t i = 0; i < 50 * (size_t)dim; i++) centers[i] = 4 * urand(&cseed);
  if (clustered)
    make_clustered(vecs, rows, dim, centers, &seed, 0);
  else
    for (size_t i = 0; i < rows * dim; i++) vecs[i] = urand(&seed);
  mw_hnsw_config cfg = {.dim = dim, .metric = metric};
  mw_error err = {0};

  /* ingest: each index alone, then both */
  mw_hnsw *h = NULL;
  mw_fts *f = NULL;
  if (mw_hnsw_create(&h, &cfg, &err) != MW_OK || mw_fts_create(&f, &err) != MW_OK) {
    fprintf(stderr, "bench_index: %s\n", err.message);
    return 1;
  }
  double c_h, c_f, c_b;
  double t_h;
  if (use_batch) {
    uint64_t *ids = malloc(rows * sizeof(uint64_t));
    for (size_t i = 0; i < rows; i++) ids[i] = i;
    double c0 = cpu_now(), t0 = now();
    if (mw_hnsw_insert_batch(h, ids, vecs, rows, (unsigned)threads, &err) != MW_OK) {
      fprintf(stderr, "bench_index: %s\n", err.message);
      return 1;
    }
    t_h = now() - t0;
    c_h = cpu_now() - c0;
    free(ids);
  } else {
    t_h = run_ingest(h, NULL, vecs, dim, rows, threads, &c_h);
  }
  double t_f = run_ingest(NULL, f, vecs, dim, rows, threads, &c_f);
  mw_hnsw_free(h);
  mw_fts_free(f);
  if (mw_hnsw_create(&h, &cfg, &err) != MW_OK || mw_fts_create(&f, &err) != MW_OK) return 1;
  double t_b = run_ingest(h, f, vecs, dim, rows, threads, &c_b);
  /* rows/s = wall clock; *_cpu_us_per_row = CPU time of all threads per
   * row (what a shared, loaded machine does not distort) */
  printf("{\"phase\":\"ingest\",\"data\":\"%s\",\"batch\":%d,\"rows\":%zu,\"dim\":%u,\"threads\":%d,\"metric\":\"%s\","
         "\"hnsw_rows_per_s\":%.0f,\"fts_rows_per_s\":%.0f,\"both_rows_per_s\":%.0f,"
         "\"hnsw_cpu_us_per_row\":%.1f,\"fts_cpu_us_per_row\":%.2f,\"both_cpu_us_per_row\":%.1f,"
         "\"hnsw_mb\":%.1f,\"fts_mb\":%.1f}\n",
         clustered ? "clustered" : "uniform", use_batch, rows, dim, threads, mw_metric_name(metric), rows / t_h, rows / t_f, rows / t_b, c_h / rows * 1e6,
         c_f / rows * 1e6, c_b / rows * 1e6, mw_hnsw_memory(h) / 1048576.0, mw_fts_memory(f) / 1048576.0);
  fflush(stdout);

  /* vector queries */
  uint64_t qseed = 0xfeed;
  float *qv = malloc(queries * dim * sizeof(float));
  if (clustered)
    make_clustered(qv, queries, dim, centers, &qseed, 17);
  else
    for (size_t i = 0; i < queries * dim; i++) qv[i] = urand(&qseed);
  mw_hnsw_hit *exact = malloc(queries * k * sizeof(*exact)), *hits = malloc(k * sizeof(*hits));
  size_t *n_exact = malloc(queries * sizeof(size_t));
  double *lat = malloc(queries * sizeof(double));
  for (size_t q = 0; q < queries; q++) {
    double t0 = now();
    if (mw_hnsw_search_exact(exact + q * k, &n_exact[q], h, qv + q * dim, k, NULL, NULL, &err) != MW_OK) return 1;
    lat[q] = (now() - t0) * 1e3;
  }
  printf("{\"phase\":\"exact\",\"k\":%zu,\"queries\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n", k, queries,
         pct(lat, queries, 0.5), pct(lat, queries, 0.99));
  for (const char *e = efs; *e;) {
    size_t ef = strtoull(e, NULL, 10);
    size_t found = 0, total = 0;
    /* the default search calibrates on first use: timed on its own here,
     * so the latencies below are those of the calibrated default */
    double cal_ms = 0;
    size_t plan = 0;
    if (ef == 0) {
      double t0 = now();
      mw_hnsw_calibrate(h);
      cal_ms = (now() - t0) * 1e3;
      plan = mw_hnsw_default_ef(h, k);
    }
    for (size_t q = 0; q < queries; q++) {
      size_t n = 0;
      double t0 = now();
      if (mw_hnsw_search(hits, &n, h, qv + q * dim, k, ef, NULL, NULL, &err) != MW_OK) return 1;
      lat[q] = (now() - t0) * 1e3;
      for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n_exact[q]; j++)
          if (hits[i].row == exact[q * k + j].row) { found++; break; }
      total += n_exact[q];
    }
    char efs_txt[64];
    if (ef)
      snprintf(efs_txt, sizeof efs_txt, "%zu", ef);
    else if (plan == MW_HNSW_EF_EXACT)
      snprintf(efs_txt, sizeof efs_txt, "\"exact\",\"default_ef\":true,\"calibrate_ms\":%.1f", cal_ms);
    else
      snprintf(efs_txt, sizeof efs_txt, "%zu,\"default_ef\":true,\"calibrate_ms\":%.1f", plan, cal_ms);
    printf("{\"phase\":\"vector\",\"k\":%zu,\"ef\":%s,\"queries\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"recall\":%.3f}\n",
           k, efs_txt, queries, pct(lat, queries, 0.5), pct(lat, queries, 0.99), (double)found / (double)total);
    fflush(stdout);
    e = strchr(e, ',');
    if (!e) break;
    e++;
  }

  /* FTS queries */
  enum { FQ = 20 };
  double flat[FQ];
  int first = 0;
  mw_fts_hit fh[64];
  for (size_t q = 0; q < FQ; q++) {
    char qs[32];
    size_t target = (q * 13) % rows, n = 0;
    int ql = snprintf(qs, sizeof(qs), "item%zu", target);
    double t0 = now();
    if (mw_fts_search(fh, &n, f, qs, (size_t)ql, k < 64 ? k : 64, NULL, NULL, NULL, &err) != MW_OK) return 1;
    flat[q] = (now() - t0) * 1e3;
    if (n && fh[0].row == target) first++;
  }
  printf("{\"phase\":\"fts\",\"k\":%zu,\"queries\":%d,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"found_first\":%d}\n", k,
         FQ, pct(flat, FQ, 0.5), pct(flat, FQ, 0.99), first);
  mw_hnsw_free(h);
  mw_fts_free(f);
  free(vecs);
  free(centers);
  free(qv);
  free(exact);
  free(hits);
  free(n_exact);
  free(lat);
  return 0;
}
