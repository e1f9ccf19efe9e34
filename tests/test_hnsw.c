/* test_hnsw.c - the in-memory HNSW index: distances as Lance reports them,
 * recall@10 against brute force on uniform random and clustered data for
 * the three metrics, filters, the exact helper, concurrent inserts and
 * searches (run under TSan: listed in MW_THREADED_TESTS), the graph export. */
#include <math.h>
#include <pthread.h>

#include "index/hnsw.h"
#include "mw_test.h"

static uint64_t rng_state = 42;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static float urand(void) { return (float)((rnd() >> 11) * 0x1.0p-53) - 0.5f; }

/* LanceDB 0.39, table.search([1,1]).distanceType(m) over [1,0], [0,2], [3,4]. */
static void test_distances_match_lance(void) {
  const float q[2] = {1, 1}, a[2] = {1, 0}, b[2] = {0, 2}, c[2] = {3, 4};
  CHECK(mw_vec_distance(MW_METRIC_L2, q, a, 2) == 1.0f);
  CHECK(mw_vec_distance(MW_METRIC_L2, q, b, 2) == 2.0f);
  CHECK(mw_vec_distance(MW_METRIC_L2, q, c, 2) == 13.0f);
  CHECK(fabsf(mw_vec_distance(MW_METRIC_COSINE, q, a, 2) - 0.29289323f) < 1e-6f);
  CHECK(fabsf(mw_vec_distance(MW_METRIC_COSINE, q, c, 2) - 0.010050476f) < 1e-6f);
  CHECK(mw_vec_distance(MW_METRIC_DOT, q, a, 2) == 0.0f);
  CHECK(mw_vec_distance(MW_METRIC_DOT, q, b, 2) == -1.0f);
  CHECK(mw_vec_distance(MW_METRIC_DOT, q, c, 2) == -6.0f);
  const float z[2] = {0, 0};
  CHECK(mw_vec_distance(MW_METRIC_COSINE, q, z, 2) == 1.0f);
  mw_metric m;
  CHECK_OK(mw_metric_parse(&m, "Cosine", NULL), NULL);
  CHECK_INT(m, MW_METRIC_COSINE);
  CHECK(mw_metric_parse(&m, "hamming", NULL) == MW_ERR_INVALID);
  CHECK_STR(mw_metric_name(MW_METRIC_DOT), "dot");
  /* the query's norm taken once (mw_vec_distance_pre, the MemTable's
   * exact scan) gives mw_vec_distance's bits, zero vectors included */
  float va[7][133];
  for (int i = 0; i < 7; i++)
    for (int d = 0; d < 133; d++) va[i][d] = i == 6 ? 0.0f : urand() * (float)(i + 1);
  const mw_metric ms[3] = {MW_METRIC_L2, MW_METRIC_COSINE, MW_METRIC_DOT};
  int differ = 0;
  for (int mi = 0; mi < 3; mi++)
    for (int i = 0; i < 7; i++) {
      float inv = mw_vec_inv_norm(va[i], 133);
      CHECK(i == 6 ? inv == 0.0f : inv > 0.0f);
      for (int j = 0; j < 7; j++)
        for (uint32_t dim = 1; dim <= 133; dim += 33) {
          float want = mw_vec_distance(ms[mi], va[i], va[j], dim);
          float got = mw_vec_distance_pre(ms[mi], va[i], mw_vec_inv_norm(va[i], dim), va[j], dim);
          if (memcmp(&want, &got, sizeof want) != 0) differ++;
        }
    }
  CHECK_INT(differ, 0);
}

/* Builds n x dim data: uniform in [-0.5, 0.5) or 50 Gaussian-ish clusters. */
static float *make_data(size_t n, uint32_t dim, bool clustered) {
  float *v = malloc(n * dim * sizeof(float));
  float *centers = malloc(50 * dim * sizeof(float));
  for (size_t i = 0; i < 50 * (size_t)dim; i++) centers[i] = urand() * 4;
  for (size_t i = 0; i < n; i++)
    for (uint32_t j = 0; j < dim; j++)
      v[i * dim + j] = clustered ? centers[(i % 50) * dim + j] + 0.3f * (urand() + urand() + urand())
                                 : urand();
  free(centers);
  return v;
}

/* recall@10 of mw_hnsw_search vs mw_hnsw_search_exact over nq queries;
 * also checks the exact helper against a plain loop for the first query. */
static double recall_at_10(mw_hnsw *h, const float *data, size_t n, uint32_t dim, mw_metric metric,
                           size_t nq, size_t ef) {
  size_t found = 0, total = 0;
  for (size_t q = 0; q < nq; q++) {
    float *qv = malloc(dim * sizeof(float));
    for (uint32_t j = 0; j < dim; j++) qv[j] = data[((q * 7919) % n) * dim + j] + 0.05f * urand();
    mw_hnsw_hit approx[10], exact[10];
    size_t na = 0, ne = 0;
    CHECK_OK(mw_hnsw_search(approx, &na, h, qv, 10, ef, NULL, NULL, NULL), NULL);
    CHECK_OK(mw_hnsw_search_exact(exact, &ne, h, qv, 10, NULL, NULL, NULL), NULL);
    CHECK_INT(na, 10);
    CHECK_INT(ne, 10);
    if (q == 0) { /* the exact helper really is exact: a plain scan agrees */
      float best = INFINITY;
      for (size_t i = 0; i < n; i++) {
        float d = mw_vec_distance(metric, qv, data + i * dim, dim);
        if (d < best) best = d;
      }
      CHECK(exact[0].distance == best);
    }
    for (size_t i = 1; i < na; i++) CHECK(approx[i - 1].distance <= approx[i].distance);
    for (size_t i = 0; i < na; i++) {
      CHECK(approx[i].distance == mw_vec_distance(metric, qv, data + approx[i].row * dim, dim));
      for (size_t j = 0; j < ne; j++)
        if (approx[i].row == exact[j].row) { found++; break; }
    }
    total += ne;
    free(qv);
  }
  return (double)found / (double)total;
}

static void run_recall(mw_metric metric, bool clustered, size_t n, uint32_t dim, double floor_recall) {
  float *data = make_data(n, dim, clustered);
  mw_hnsw *h = NULL;
  mw_hnsw_config cfg = {.dim = dim, .metric = metric, .seed = 7};
  CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
  for (size_t i = 0; i < n; i++) CHECK_OK(mw_hnsw_insert(h, i, data + i * dim, NULL), NULL);
  CHECK_INT(mw_hnsw_count(h), n);
  CHECK(mw_hnsw_memory(h) > n * dim * sizeof(float));
  double r = recall_at_10(h, data, n, dim, metric, 50, 100);
  /* single-threaded build: every stored vector is found as its own nearest
   * (l2 / cosine: distance 0; dot ranks by 1 - a.b, where a vector need not
   * be its own best match) */
  if (metric != MW_METRIC_DOT) {
    size_t missing = 0;
    for (size_t i = 0; i < n; i += 3) {
      mw_hnsw_hit hit[1];
      size_t nh = 0;
      CHECK_OK(mw_hnsw_search(hit, &nh, h, data + i * dim, 1, 100, NULL, NULL, NULL), NULL);
      if (nh != 1 || hit[0].row != i) missing++;
    }
    CHECK_INT(missing, 0);
  }
  printf("  %s %s n=%zu dim=%u: recall@10 at ef 100 = %.3f (floor %.2f)\n", mw_metric_name(metric),
         clustered ? "clustered" : "uniform", n, dim, r, floor_recall);
  CHECK(r >= floor_recall);
  /* the default search (calibrated) keeps its promise too */
  CHECK(recall_at_10(h, data, n, dim, metric, 50, 0) >= 0.95);
  /* a tiny beam does worse than ef 100: ef is really used */
  double r1 = recall_at_10(h, data, n, dim, metric, 50, 10);
  CHECK(r1 <= r + 1e-9);
  mw_hnsw_free(h);
  free(data);
}

/* Floors sit a little under what the graph gives at ef 100 (the beam of
 * ef_construction), so a weaker
 * graph or search fails them; uniform data in 64 dimensions is the hard case. */
static void test_recall_l2_uniform(void) { run_recall(MW_METRIC_L2, false, 5000, 64, 0.95); }
static void test_recall_l2_clustered(void) { run_recall(MW_METRIC_L2, true, 5000, 32, 0.97); }
static void test_recall_cosine(void) { run_recall(MW_METRIC_COSINE, false, 5000, 64, 0.95); }
static void test_recall_dot_clustered(void) { run_recall(MW_METRIC_DOT, true, 5000, 32, 0.95); }

static bool even_rows(void *ctx, uint64_t row) { (void)ctx; return row % 2 == 0; }

static void test_filter_and_exact(void) {
  const uint32_t dim = 8;
  const size_t n = 2000;
  float *data = make_data(n, dim, false);
  mw_hnsw *h = NULL;
  mw_hnsw_config cfg = {.dim = dim, .metric = MW_METRIC_L2};
  CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
  /* row ids are the caller's: use 1000 + i */
  for (size_t i = 0; i < n; i++) CHECK_OK(mw_hnsw_insert(h, 1000 + i, data + i * dim, NULL), NULL);
  mw_hnsw_hit hits[20], ex[20];
  size_t nh = 0, ne = 0;
  /* a beam far wider than the index is clamped (no huge allocation) and
   * then finds the exact answer */
  CHECK_OK(mw_hnsw_search(hits, &nh, h, data + 77 * dim, 20, (size_t)1 << 40, NULL, NULL, NULL), NULL);
  CHECK_OK(mw_hnsw_search_exact(ex, &ne, h, data + 77 * dim, 20, NULL, NULL, NULL), NULL);
  CHECK(nh == 20 && ne == 20);
  for (size_t i = 0; i < nh && i < ne; i++) CHECK(hits[i].row == ex[i].row);
  /* a stored vector finds itself at distance 0 */
  CHECK_OK(mw_hnsw_search(hits, &nh, h, data + 123 * dim, 5, 100, NULL, NULL, NULL), NULL);
  CHECK(nh == 5 && hits[0].row == 1123 && hits[0].distance == 0.0f);
  /* filter: only even rows, and still nearest first */
  CHECK_OK(mw_hnsw_search(hits, &nh, h, data + 123 * dim, 20, 100, even_rows, NULL, NULL), NULL);
  CHECK_INT(nh, 20);
  for (size_t i = 0; i < nh; i++) CHECK(hits[i].row % 2 == 0);
  CHECK_OK(mw_hnsw_search_exact(ex, &ne, h, data + 123 * dim, 20, even_rows, NULL, NULL), NULL);
  CHECK_INT(ne, 20);
  for (size_t i = 0; i < ne; i++) CHECK(ex[i].row % 2 == 0);
  for (size_t i = 1; i < ne; i++) CHECK(ex[i - 1].distance <= ex[i].distance);
  /* bitmap filter keeping 3 rows: exact returns exactly those, sorted */
  uint64_t words[(3000 + 63) / 64] = {0};
  uint64_t keep_rows[3] = {1005, 1500, 2999};
  for (int i = 0; i < 3; i++) words[keep_rows[i] >> 6] |= 1ull << (keep_rows[i] & 63);
  mw_row_bitmap bm = {words, 3000};
  CHECK_OK(mw_hnsw_search_exact(ex, &ne, h, data, 10, mw_row_bitmap_filter, &bm, NULL), NULL);
  CHECK_INT(ne, 3);
  CHECK_OK(mw_hnsw_search(hits, &nh, h, data, 10, 50, mw_row_bitmap_filter, &bm, NULL), NULL);
  CHECK_INT(nh, 3);
  for (size_t i = 0; i < ne && i < nh; i++) CHECK(ex[i].row == hits[i].row);
  /* non-finite input is refused */
  float bad[8] = {0, 0, NAN, 0, 0, 0, 0, 0};
  mw_error e = {0};
  CHECK(mw_hnsw_insert(h, 5, bad, &e) == MW_ERR_INVALID);
  CHECK(strstr(e.message, "not finite") != NULL);
  mw_hnsw_free(h);
  free(data);
  /* empty index: no hits, no error */
  CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
  CHECK_OK(mw_hnsw_search(hits, &nh, h, bad, 5, 0, NULL, NULL, NULL), NULL);
  CHECK_INT(nh, 0);
  mw_hnsw_free(h);
  mw_hnsw_config zero = {.dim = 0};
  CHECK(mw_hnsw_create(&h, &zero, NULL) == MW_ERR_INVALID);
}

typedef struct thr_arg {
  mw_hnsw *h;
  const float *data;
  uint32_t dim;
  size_t from, to;
  int failures;
} thr_arg;

static void *inserter(void *p) {
  thr_arg *a = p;
  for (size_t i = a->from; i < a->to; i++)
    if (mw_hnsw_insert(a->h, i, a->data + i * a->dim, NULL) != MW_OK) a->failures++;
  return NULL;
}

static void *searcher(void *p) {
  thr_arg *a = p;
  mw_hnsw_hit hits[10];
  for (size_t q = 0; q < a->to; q++) {
    size_t nh = 0;
    const float *qv = a->data + (q % 1000) * a->dim;
    /* odd queries use the default search, which calibrates itself (at
     * 2,048 and 4,096 nodes here) while the inserts go on */
    if (mw_hnsw_search(hits, &nh, a->h, qv, 10, q % 2 ? 0 : 32, NULL, NULL, NULL) != MW_OK) a->failures++;
    for (size_t i = 1; i < nh; i++)
      if (hits[i - 1].distance > hits[i].distance) a->failures++;
    if (mw_hnsw_search_exact(hits, &nh, a->h, qv, 3, NULL, NULL, NULL) != MW_OK) a->failures++;
  }
  return NULL;
}

static void test_concurrent_insert_search(void) {
  const uint32_t dim = 16;
  const size_t n = 6000;
  float *data = make_data(n, dim, true);
  mw_hnsw *h = NULL;
  mw_hnsw_config cfg = {.dim = dim, .metric = MW_METRIC_L2};
  CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
  thr_arg ins[3], srch[2];
  pthread_t t[5];
  for (int i = 0; i < 3; i++) {
    ins[i] = (thr_arg){h, data, dim, n * i / 3, n * (i + 1) / 3, 0};
    pthread_create(&t[i], NULL, inserter, &ins[i]);
  }
  for (int i = 0; i < 2; i++) {
    srch[i] = (thr_arg){h, data, dim, 0, 200, 0};
    pthread_create(&t[3 + i], NULL, searcher, &srch[i]);
  }
  for (int i = 0; i < 5; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 3; i++) CHECK_INT(ins[i].failures, 0);
  for (int i = 0; i < 2; i++) CHECK_INT(srch[i].failures, 0);
  CHECK_INT(mw_hnsw_count(h), n);
  /* the graph built concurrently is still a good graph, and every row is
   * reachable: each stored vector finds itself */
  double r = recall_at_10(h, data, n, dim, MW_METRIC_L2, 50, 100);
  printf("  concurrent build: recall@10 = %.3f\n", r);
  CHECK(r >= 0.95);
  size_t missing = 0;
  for (size_t i = 0; i < n; i += 7) {
    mw_hnsw_hit hit[1];
    size_t nh = 0;
    CHECK_OK(mw_hnsw_search(hit, &nh, h, data + i * dim, 1, 100, NULL, NULL, NULL), NULL);
    if (nh != 1 || hit[0].distance != 0.0f) missing++;
  }
  /* HNSW does not promise every node stays reachable (pruning can drop a
   * node's last in-link, more likely when neighbours are chosen from a graph
   * still being built by other threads): allow 1 miss in 200 probes (4 of
   * 858), where a broken concurrent insert would lose many. Measured over
   * 25 runs on a loaded 2-core machine: 0 misses in 20, 1 in 4, 2 in 1
   * (the code before the lock-free reads: 0 in 22, 1 in 3), so the old
   * bound of 1 in 500 (1 of 858) was a flaky one. */
  printf("  concurrent build: %zu of %zu stored vectors not found as their own nearest\n", missing, (n + 6) / 7);
  CHECK(missing * 200 <= (n + 6) / 7);
  mw_hnsw_free(h);
  free(data);
}

/* ------------------------------------------------------------------ export */

/* The beam search of hnsw.c written again over an exported graph (same
 * order of neighbour visits, same (distance, node) tie-break): if the
 * export holds exactly the index's lists, it returns exactly what
 * mw_hnsw_search returns. */
typedef struct g_cand {
  float d;
  uint32_t id;
} g_cand;
static bool g_lt(g_cand a, g_cand b) { return a.d < b.d || (a.d == b.d && a.id < b.id); }

static size_t graph_search(mw_hnsw_hit *hits, const mw_hnsw_graph *g, const float *q, size_t k, size_t ef) {
  uint32_t cur = g->entry;
  float curd = mw_vec_distance(g->metric, q, g->vecs[cur], g->dim);
  for (int l = (int)g->top_level; l > 0; l--) {
    bool changed = true;
    while (changed) {
      changed = false;
      uint32_t from = g->off[l][cur], to = g->off[l][cur + 1];
      for (uint32_t j = from; j < to; j++) {
        uint32_t e = g->nbr[l][j];
        float d = mw_vec_distance(g->metric, q, g->vecs[e], g->dim);
        if (d < curd || (d == curd && e < cur)) {
          cur = e;
          curd = d;
          changed = true;
        }
      }
    }
  }
  /* candidates and results as plain arrays (slow, simple) */
  bool *seen = calloc(g->n_nodes, 1);
  g_cand *cands = malloc(g->n_nodes * sizeof(g_cand)), *res = malloc((ef + 1) * sizeof(g_cand));
  size_t nc = 0, nr = 0;
  cands[nc++] = (g_cand){curd, cur};
  res[nr++] = (g_cand){curd, cur};
  seen[cur] = true;
  while (nc) {
    size_t bi = 0; /* nearest candidate */
    for (size_t i = 1; i < nc; i++)
      if (g_lt(cands[i], cands[bi])) bi = i;
    g_cand c = cands[bi];
    cands[bi] = cands[--nc];
    size_t wi = 0; /* farthest result */
    for (size_t i = 1; i < nr; i++)
      if (g_lt(res[wi], res[i])) wi = i;
    if (nr >= ef && c.d > res[wi].d) break;
    for (uint32_t j = g->off[0][c.id]; j < g->off[0][c.id + 1]; j++) {
      uint32_t e = g->nbr[0][j];
      if (seen[e]) continue;
      seen[e] = true;
      g_cand ce = {mw_vec_distance(g->metric, q, g->vecs[e], g->dim), e};
      wi = 0;
      for (size_t i = 1; i < nr; i++)
        if (g_lt(res[wi], res[i])) wi = i;
      if (nr < ef || g_lt(ce, res[wi])) {
        cands[nc++] = ce;
        res[nr++] = ce;
        if (nr > ef) {
          wi = 0;
          for (size_t i = 1; i < nr; i++)
            if (g_lt(res[wi], res[i])) wi = i;
          res[wi] = res[--nr];
        }
      }
    }
  }
  /* nearest first, ties by row */
  for (size_t i = 1; i < nr; i++)
    for (size_t j = i; j > 0; j--) {
      g_cand a = res[j - 1], b = res[j];
      bool swap = a.d > b.d || (a.d == b.d && g->rows[a.id] > g->rows[b.id]);
      if (!swap) break;
      res[j - 1] = b;
      res[j] = a;
    }
  size_t n = nr < k ? nr : k;
  for (size_t i = 0; i < n; i++) hits[i] = (mw_hnsw_hit){g->rows[res[i].id], res[i].d};
  free(seen);
  free(cands);
  free(res);
  return n;
}

static void test_export(void) {
  const uint32_t dim = 24;
  const size_t n = 3000;
  float *data = make_data(n, dim, true);
  mw_hnsw *h = NULL;
  mw_hnsw_config cfg = {.dim = dim, .metric = MW_METRIC_L2, .seed = 3};
  CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
  mw_hnsw_graph g;
  /* empty index: no nodes */
  CHECK_OK(mw_hnsw_export(&g, h, NULL), NULL);
  CHECK_INT(g.n_nodes, 0);
  CHECK_INT(g.dim, dim);
  mw_hnsw_graph_free(&g);
  /* row ids are the caller's: 5000 + 3i; one refused insert in between
   * (not finite) must not leave a node */
  float bad[24] = {INFINITY};
  for (size_t i = 0; i < n; i++) {
    CHECK_OK(mw_hnsw_insert(h, 5000 + 3 * i, data + i * dim, NULL), NULL);
    if (i == 100) CHECK(mw_hnsw_insert(h, 1, bad, NULL) == MW_ERR_INVALID);
  }
  CHECK_OK(mw_hnsw_export(&g, h, NULL), NULL);
  CHECK_INT(g.n_nodes, n);
  CHECK_INT(g.dim, dim);
  CHECK_INT(g.metric, MW_METRIC_L2);
  CHECK_INT(g.m, MW_HNSW_DEFAULT_M);
  CHECK_INT(g.ef_construction, MW_HNSW_DEFAULT_EF_CONSTRUCTION);
  CHECK_INT(g.max_level, MW_HNSW_MAX_LEVEL);
  uint32_t max_level = 0;
  size_t bad_rows = 0, bad_vecs = 0, bad_deg = 0, bad_links = 0, upper_nodes = 0, bad_dist = 0;
  for (uint32_t i = 0; i < g.n_nodes; i++) {
    if (g.rows[i] != 5000 + 3 * (uint64_t)i) bad_rows++;
    if (memcmp(g.vecs[i], data + (size_t)i * dim, dim * sizeof(float)) != 0) bad_vecs++;
    if (g.levels[i] > max_level) max_level = g.levels[i];
    if (g.levels[i] > 0) upper_nodes++;
    for (uint32_t l = 0; l < MW_HNSW_MAX_LEVEL; l++) {
      uint32_t from = g.off[l][i], to = g.off[l][i + 1];
      if (to < from) { bad_deg++; continue; }
      uint32_t deg = to - from, cap = l == 0 ? 2 * g.m : g.m;
      if (deg > cap || (l > g.levels[i] && deg != 0)) bad_deg++;
      if (l <= g.levels[i] && g.n_nodes > 1 && l == 0 && deg == 0) bad_deg++; /* level 0 is connected */
      for (uint32_t j = from; j < to; j++) {
        uint32_t e = g.nbr[l][j];
        /* in range, not itself, on this level, no duplicates */
        if (e >= g.n_nodes || e == i || g.levels[e] < l) bad_links++;
        for (uint32_t k = from; k < j; k++)
          if (g.nbr[l][k] == e) bad_links++;
        /* the stored distance is the one computed from the vectors (l2:
         * bit for bit, whichever side computed it) */
        if (e < g.n_nodes && g.dist[l][j] != mw_vec_distance(MW_METRIC_L2, g.vecs[i], g.vecs[e], dim)) bad_dist++;
      }
    }
  }
  CHECK_INT(bad_rows, 0);
  CHECK_INT(bad_vecs, 0);
  CHECK_INT(bad_deg, 0);
  CHECK_INT(bad_links, 0);
  CHECK_INT(bad_dist, 0);
  for (uint32_t l = 0; l < MW_HNSW_MAX_LEVEL; l++) CHECK_INT(g.off[l][0], 0);
  CHECK(g.off[0][g.n_nodes] > (uint32_t)n * 4); /* level 0 is well linked */
  CHECK(upper_nodes > 0 && upper_nodes < n / 4); /* ~1/M of the nodes reach level 1 */
  CHECK(g.entry < g.n_nodes);
  CHECK_INT(g.top_level, max_level);
  CHECK_INT(g.levels[g.entry], g.top_level);
  /* the lists are the ones the index walks: the same search over the
   * export returns exactly the index's hits (rows and distances) */
  size_t same = 0;
  for (size_t q = 0; q < 40; q++) {
    float qv[24];
    for (uint32_t j = 0; j < dim; j++) qv[j] = data[((q * 131) % n) * dim + j] + 0.2f * urand();
    mw_hnsw_hit a[10], b[10];
    size_t na = 0, ef = q % 2 ? 10 : 40;
    CHECK_OK(mw_hnsw_search(a, &na, h, qv, 10, ef, NULL, NULL, NULL), NULL);
    size_t nb = graph_search(b, &g, qv, 10, ef);
    bool eq = na == nb;
    for (size_t i = 0; eq && i < na; i++) eq = a[i].row == b[i].row && a[i].distance == b[i].distance;
    same += eq;
  }
  CHECK_INT(same, 40);
  mw_hnsw_graph_free(&g);
  CHECK(g.rows == NULL && g.n_nodes == 0);
  mw_hnsw_graph_free(&g); /* twice is harmless */
  mw_hnsw_free(h);
  free(data);
}

/* Per-node bounds (mw_hnsw_graph.vmin / vmax) of signed zeros: the first
 * of equal components, as a flat pass keeps it (the SQ8 bounds of a flush
 * are printed from them: "-0.0" and "0.0" differ in the file). */
static void test_vec_bounds_zeros(void) {
  mw_hnsw *h = NULL;
  mw_hnsw_config cfg = {.dim = 4, .metric = MW_METRIC_L2, .seed = 5};
  CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
  if (!h) return;
  const float a[4] = {0.0f, -0.0f, 1.0f, 2.0f}, b[4] = {-0.0f, 0.0f, 3.0f, 1.0f}, c[4] = {-1.5f, 0.0f, -0.0f, -2.5f};
  const float d[4] = {-0.0f, -0.0f, -0.0f, -0.0f};
  CHECK_OK(mw_hnsw_insert(h, 10, a, NULL), NULL);
  CHECK_OK(mw_hnsw_insert(h, 11, b, NULL), NULL);
  CHECK_OK(mw_hnsw_insert(h, 12, c, NULL), NULL);
  CHECK_OK(mw_hnsw_insert(h, 13, d, NULL), NULL);
  mw_hnsw_graph g;
  CHECK_OK(mw_hnsw_export_nodes(&g, h, NULL), NULL);
  CHECK_INT(g.n_nodes, 4);
  if (g.n_nodes == 4) {
    CHECK(g.vmin[0] == 0.0f && !signbit(g.vmin[0]) && g.vmax[0] == 2.0f);
    CHECK(g.vmin[1] == 0.0f && signbit(g.vmin[1]) && g.vmax[1] == 3.0f);
    CHECK(g.vmin[2] == -2.5f && g.vmax[2] == 0.0f && !signbit(g.vmax[2]));
    CHECK(g.vmin[3] == 0.0f && signbit(g.vmin[3]) && g.vmax[3] == 0.0f && signbit(g.vmax[3]));
  }
  mw_hnsw_graph_free(&g);
  mw_hnsw_free(h);
}

/* mw_hnsw_insert_batch: all rows in, on several threads, while searches
 * run; a non-finite vector anywhere refuses the whole batch. */
/* Many copies of few vectors (300 rows, 8 distinct vectors of 8 floats,
 * ~37 copies each, interleaved): copies of a node are at distance 0 from
 * it: a heuristic that never prunes them fills lists with copies and
 * strands the other vectors, and copies that all link to the oldest copy
 * (ties by id) get no reverse links once its list is full. Every copy must
 * be found: a search for k = (its copies) at ef 100 returns all copies of
 * a vector at distance 0, single-threaded and on 3 threads. */
static void test_duplicates(void) {
  const uint32_t dim = 8, distinct = 8;
  const size_t n = 300;
  float *base = make_data(distinct, dim, false);
  float *data = malloc(n * dim * sizeof(float));
  uint64_t *rows = malloc(n * sizeof(uint64_t));
  for (size_t i = 0; i < n; i++) {
    memcpy(data + i * dim, base + (i % distinct) * dim, dim * sizeof(float));
    rows[i] = i;
  }
  for (unsigned threads = 1; threads <= 3; threads += 2) {
    mw_hnsw *h = NULL;
    mw_hnsw_config cfg = {.dim = dim, .metric = MW_METRIC_L2, .seed = 11};
    CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
    CHECK_OK(mw_hnsw_insert_batch(h, rows, data, n, threads, NULL), NULL);
    size_t missing = 0;
    for (uint32_t v = 0; v < distinct; v++) {
      size_t copies = (n - v + distinct - 1) / distinct;
      mw_hnsw_hit hits[64];
      size_t nh = 0;
      CHECK_OK(mw_hnsw_search(hits, &nh, h, base + v * dim, copies, 100, NULL, NULL, NULL), NULL);
      size_t zero = 0;
      for (size_t i = 0; i < nh; i++)
        if (hits[i].distance == 0.0f && hits[i].row % distinct == v) zero++;
      missing += copies - zero;
      if (zero != copies) printf("  vector %u: %zu of %zu copies found (%zu hits)\n", v, zero, copies, nh);
    }
    printf("  %u thread(s): %zu of %zu copies not found\n", threads, missing, n);
    CHECK_INT(missing, 0);
    mw_hnsw_free(h);
  }
  free(rows);
  free(data);
  free(base);
}

static void test_insert_batch(void) {
  const uint32_t dim = 16;
  const size_t n = 6000;
  float *data = make_data(n, dim, true);
  uint64_t *rows = malloc(n * sizeof(uint64_t));
  for (size_t i = 0; i < n; i++) rows[i] = i;
  mw_hnsw *h = NULL;
  mw_hnsw_config cfg = {.dim = dim, .metric = MW_METRIC_L2};
  CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
  /* empty batch */
  CHECK_OK(mw_hnsw_insert_batch(h, rows, data, 0, 2, NULL), NULL);
  CHECK_INT(mw_hnsw_count(h), 0);
  /* a NaN in the last vector: nothing is inserted, the error names it */
  float *bad = malloc(100 * dim * sizeof(float));
  memcpy(bad, data, 100 * dim * sizeof(float));
  bad[99 * dim + 5] = NAN;
  mw_error e = {0};
  CHECK(mw_hnsw_insert_batch(h, rows, bad, 100, 2, &e) == MW_ERR_INVALID);
  CHECK(strstr(e.message, "row 99") != NULL && strstr(e.message, "component 5") != NULL);
  CHECK_INT(mw_hnsw_count(h), 0);
  free(bad);
  /* the first half with threads = 0 (online cores) while 2 threads search */
  thr_arg srch[2];
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    srch[i] = (thr_arg){h, data, dim, 0, 100, 0};
    pthread_create(&t[i], NULL, searcher, &srch[i]);
  }
  CHECK_OK(mw_hnsw_insert_batch(h, rows, data, n / 2, 0, NULL), NULL);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; i++) CHECK_INT(srch[i].failures, 0);
  CHECK_INT(mw_hnsw_count(h), n / 2);
  /* the second half on 3 threads */
  CHECK_OK(mw_hnsw_insert_batch(h, rows + n / 2, data + n / 2 * dim, n - n / 2, 3, NULL), NULL);
  CHECK_INT(mw_hnsw_count(h), n);
  /* each row is in exactly once: the export holds rows 0..n-1 */
  mw_hnsw_graph g;
  CHECK_OK(mw_hnsw_export(&g, h, NULL), NULL);
  CHECK_INT(g.n_nodes, n);
  unsigned char *seen = calloc(n, 1);
  size_t dup = 0;
  for (uint32_t i = 0; i < g.n_nodes; i++) {
    if (g.rows[i] >= n || seen[g.rows[i]]) dup++;
    else seen[g.rows[i]] = 1;
  }
  CHECK_INT(dup, 0);
  free(seen);
  /* links made by concurrent inserts and shrinks carry the distance of
   * their two vectors too */
  size_t bad_dist = 0, links = 0;
  for (uint32_t l = 0; l < MW_HNSW_MAX_LEVEL; l++)
    for (uint32_t i = 0; i < g.n_nodes; i++)
      for (uint32_t p = g.off[l][i]; p < g.off[l][i + 1]; p++, links++)
        bad_dist += g.dist[l][p] != mw_vec_distance(MW_METRIC_L2, g.vecs[i], g.vecs[g.nbr[l][p]], dim);
  CHECK(links > n);
  CHECK_INT(bad_dist, 0);
  /* mw_hnsw_export_nodes + mw_hnsw_graph_links (the flush's in-place
   * read) give the same nodes, entry and lists as the copy */
  mw_hnsw_graph v;
  CHECK_OK(mw_hnsw_export_nodes(&v, h, NULL), NULL);
  CHECK_INT(v.n_nodes, g.n_nodes);
  CHECK_INT(v.entry, g.entry);
  CHECK_INT(v.top_level, g.top_level);
  CHECK(v.off[0] == NULL && v.nbr[0] == NULL);
  size_t diff = 0, vlinks = 0;
  uint32_t ids[64];
  float ds[64];
  for (uint32_t i = 0; i < v.n_nodes && i < g.n_nodes; i++) {
    diff += v.rows[i] != g.rows[i] || v.levels[i] != g.levels[i] || v.vecs[i] != g.vecs[i];
    for (uint32_t l = 0; l < MW_HNSW_MAX_LEVEL; l++) {
      uint32_t c = mw_hnsw_graph_links(&v, i, l, ids, ds);
      vlinks += c;
      if (c != g.off[l][i + 1] - g.off[l][i]) {
        diff++;
        continue;
      }
      for (uint32_t j = 0; j < c; j++)
        diff += ids[j] != g.nbr[l][g.off[l][i] + j] || ds[j] != g.dist[l][g.off[l][i] + j];
    }
  }
  CHECK_INT(diff, 0);
  CHECK_INT(vlinks, links);
  /* each node's bounds, kept since its (concurrent) insert, are its
   * vector's smallest and largest component, in both exports */
  size_t bad_bounds = 0;
  for (uint32_t i = 0; i < v.n_nodes && i < g.n_nodes; i++) {
    float lo = INFINITY, hi = -INFINITY;
    for (uint32_t j = 0; j < dim; j++) {
      if (g.vecs[i][j] < lo) lo = g.vecs[i][j];
      if (g.vecs[i][j] > hi) hi = g.vecs[i][j];
    }
    bad_bounds += g.vmin[i] != lo || g.vmax[i] != hi || v.vmin[i] != lo || v.vmax[i] != hi;
  }
  CHECK_INT(bad_bounds, 0);
  mw_hnsw_graph_free(&v);
  mw_hnsw_graph_free(&g);
  double r = recall_at_10(h, data, n, dim, MW_METRIC_L2, 50, 100);
  printf("  batch build: recall@10 = %.3f\n", r);
  CHECK(r >= 0.95);
  mw_hnsw_free(h);
  free(rows);
  free(data);
}

/* Sanitized builds run 3-10x slower: the big recall test then runs at
 * 10,000 rows (ASan / UBSan) or 5,000 rows (TSan, the slowest, whose whole
 * test_hnsw must stay well inside CTest's 300 s on a loaded machine) with
 * the same assertions. */
#if defined(__SANITIZE_THREAD__)
#define MW_TEST_RECALL_ROWS 5000
#elif defined(__SANITIZE_ADDRESS__)
#define MW_TEST_RECALL_ROWS 10000
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MW_TEST_RECALL_ROWS 5000
#elif __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define MW_TEST_RECALL_ROWS 10000
#endif
#endif
#ifndef MW_TEST_RECALL_ROWS
#define MW_TEST_RECALL_ROWS 100000
#endif

/* recall@10 over nq queries drawn from the data's own distribution (fresh
 * points, not stored ones): uniform in [-0.5, 0.5)^dim, or a fresh point
 * of a random cluster (same centres as make_data when given them). */
static double recall_fresh(mw_hnsw *h, uint32_t dim, const float *centers, size_t nq, size_t ef) {
  size_t found = 0, total = 0;
  float *qv = malloc(dim * sizeof(float));
  for (size_t q = 0; q < nq; q++) {
    const float *c = centers ? centers + (rnd() % 50) * dim : NULL;
    for (uint32_t j = 0; j < dim; j++) qv[j] = c ? c[j] + 0.3f * (urand() + urand() + urand()) : urand();
    mw_hnsw_hit approx[10], exact[10];
    size_t na = 0, ne = 0;
    CHECK_OK(mw_hnsw_search(approx, &na, h, qv, 10, ef, NULL, NULL, NULL), NULL);
    CHECK_OK(mw_hnsw_search_exact(exact, &ne, h, qv, 10, NULL, NULL, NULL), NULL);
    CHECK_INT(na, 10);
    CHECK_INT(ne, 10);
    for (size_t i = 0; i < na; i++)
      for (size_t j = 0; j < ne; j++)
        if (approx[i].row == exact[j].row) { found++; break; }
    total += ne;
  }
  free(qv);
  return (double)found / (double)total;
}

/* The default search's plan as text: "exact scan" or "ef N". */
static void plan_name(char *buf, size_t cap, size_t plan) {
  if (plan == MW_HNSW_EF_EXACT) snprintf(buf, cap, "exact scan");
  else snprintf(buf, cap, "ef %zu", plan);
}

/* The target, 128-d at 100,000 rows (fewer sanitized), built with
 * mw_hnsw_insert_batch on 2 threads, with Lance's defaults (M 16,
 * ef_construction 100): recall@10 >= 0.95 at the default search, on
 * clustered (50 clusters, as make_data) and on uniform random vectors, for
 * fresh queries of the data's distribution.
 * The default calibrates itself (hnsw.c, "the default search"): on
 * clustered data a beam of ef_construction reaches it (0.98 at 100,000),
 * so the unsanitized run also asserts the default is the graph there, not
 * the exact scan. On uniform data a correct HNSW with these parameters
 * needs a much wider beam (hnswlib 0.6.2, M 16, ef_construction 100: 0.41
 * at ef 100, 0.94 at ef 1600 at 100,000 rows), so the graph itself is
 * checked apart: at ef 100 at least where that reference is (a broken
 * graph or search falls far below), and 0.95 at ef = max(3n/100, 300). */
static void test_recall_100k(void) {
  const size_t n = MW_TEST_RECALL_ROWS;
  const uint32_t dim = 128;
  for (int clustered = 1; clustered >= 0; clustered--) {
    /* make_data's centres, recomputed from the same generator state */
    uint64_t saved = rng_state;
    float *centers = malloc(50 * dim * sizeof(float));
    for (size_t i = 0; i < 50 * (size_t)dim; i++) centers[i] = urand() * 4;
    rng_state = saved;
    float *data = make_data(n, dim, clustered);
    uint64_t *rows = malloc(n * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) rows[i] = i;
    mw_hnsw *h = NULL;
    mw_hnsw_config cfg = {.dim = dim, .metric = MW_METRIC_L2, .seed = 11};
    CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
    CHECK_OK(mw_hnsw_insert_batch(h, rows, data, n, 2, NULL), NULL);
    CHECK_INT(mw_hnsw_count(h), n);
    const size_t nq = 100;
    mw_hnsw_calibrate(h); /* else the first queries run before the plan is made (exact scans) */
    double r = recall_fresh(h, dim, clustered ? centers : NULL, nq, 0);
    size_t plan = mw_hnsw_default_ef(h, 10);
    char plan_txt[32];
    plan_name(plan_txt, sizeof plan_txt, plan);
    printf("  %s n=%zu dim=%u: recall@10 of the default search (%s) = %.3f\n",
           clustered ? "clustered" : "uniform", n, dim, plan_txt, r);
    CHECK(r >= 0.95);
    if (clustered && n >= 100000) CHECK(plan != MW_HNSW_EF_EXACT);
    /* k > 10 widens a beam by k / 10 */
    if (plan != MW_HNSW_EF_EXACT) CHECK_INT(mw_hnsw_default_ef(h, 40), plan * 4);
    if (!clustered) {
      /* 0.41 for the reference at 100,000; more at 10,000 (0.70 at 20,000).
       * Ours spreads with the build (2 threads, so no two graphs are the
       * same): 0.376-0.454 in five runs on 2026-12-07; a broken graph or
       * search falls far below */
      double r100 = recall_fresh(h, dim, NULL, nq, 100);
      printf("  uniform n=%zu dim=%u: recall@10 at ef 100 = %.3f\n", n, dim, r100);
      CHECK(r100 >= (n >= 100000 ? 0.35 : 0.60));
      size_t ef = 3 * n / 100 < 300 ? 300 : 3 * n / 100;
      double rb = recall_fresh(h, dim, NULL, nq, ef);
      printf("  uniform n=%zu dim=%u: recall@10 at ef %zu = %.3f\n", n, dim, ef, rb);
      CHECK(rb >= 0.95);
    }
    mw_hnsw_free(h);
    free(rows);
    free(data);
    free(centers);
  }
}

/* Below 2,048 nodes the default is the exact scan; above, it is
 * calibrated (here at 2,048 nodes and again at 5,000, the first size at
 * least twice that): each plan is the exact scan or a beam in
 * [ef_construction, n), a graph plan widens by k / 10 for k > 10, and the
 * default search keeps recall@10 >= 0.95 (exactly 1 when it scans). */
static void test_default_plan(void) {
  const uint32_t dim = 16;
  const size_t n = 6000;
  float *data = make_data(n, dim, false);
  mw_hnsw *h = NULL;
  mw_hnsw_config cfg = {.dim = dim, .metric = MW_METRIC_L2, .seed = 3};
  CHECK_OK(mw_hnsw_create(&h, &cfg, NULL), NULL);
  size_t at = 0;
  const size_t stops[] = {100, 2047, 2048, 3000, 5000, 6000};
  for (size_t s = 0; s < sizeof stops / sizeof stops[0]; s++) {
    for (; at < stops[s]; at++) CHECK_OK(mw_hnsw_insert(h, at, data + at * dim, NULL), NULL);
    /* a stale plan: the default starts a calibration in the background and
     * answers with the plan in force (the exact scan before the first) */
    size_t before = mw_hnsw_default_ef(h, 10);
    if (at == 2048) CHECK(before == MW_HNSW_EF_EXACT);
    mw_hnsw_calibrate(h);
    size_t plan = mw_hnsw_default_ef(h, 10);
    if (at < 2048) CHECK(plan == MW_HNSW_EF_EXACT);
    else CHECK(plan == MW_HNSW_EF_EXACT || (plan >= 100 && plan < at));
    /* k > 10 widens a graph plan by k / 10 */
    size_t plan40 = mw_hnsw_default_ef(h, 40);
    if (plan != MW_HNSW_EF_EXACT) CHECK_INT(plan40, plan * 4);
    double r = recall_at_10(h, data, at, dim, MW_METRIC_L2, 30, 0);
    char plan_txt[32];
    plan_name(plan_txt, sizeof plan_txt, plan);
    printf("  n=%zu: default %s, recall@10 %.3f\n", at, plan_txt, r);
    CHECK(r >= 0.95);
    if (plan == MW_HNSW_EF_EXACT) CHECK(r == 1.0);
  }
  mw_hnsw_free(h);
  free(data);
}

int main(void) {
  MW_RUN(test_distances_match_lance);
  MW_RUN(test_recall_l2_uniform);
  MW_RUN(test_recall_l2_clustered);
  MW_RUN(test_recall_cosine);
  MW_RUN(test_recall_dot_clustered);
  MW_RUN(test_filter_and_exact);
  MW_RUN(test_concurrent_insert_search);
  MW_RUN(test_export);
  MW_RUN(test_vec_bounds_zeros);
  MW_RUN(test_insert_batch);
  MW_RUN(test_duplicates);
#ifdef MW_HNSW_CHECK_SHRINK /* test_hnsw_shrink_check: the builds above suffice */
  (void)test_recall_100k;
  (void)test_default_plan;
#else
  MW_RUN(test_recall_100k);
  MW_RUN(test_default_plan);
#endif
  return mw_test_finish();
}
