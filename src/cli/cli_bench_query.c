/* cli_bench_query.c - `memwal bench-query [URI] --rows N --dim D [--k K]
 * [--queries Q] [--batch B] [--ef EF]`: MemTable queries end to end
 * through a ShardWriter (mw_shard_writer_put + mw_shard_writer_query, the
 * public API only) on the issue 11 anchor workload, the one
 * bench/lance_query.mjs runs on LanceDB's in-process MemTable:
 *   - ids 0..N-1 (int64 primary key) put in B-row batches (default 1000),
 *     BTree(id), HNSW(vector, l2) and FTS(text) maintained synchronously
 *     (sync_indexed_write: a put returns once its rows are indexed);
 *     non-durable: the WAL is written in the background to URI (default a
 *     memory:// store), so the ingest rate is what indexing and the
 *     MemTable cost. One MemTable (nothing flushes meanwhile);
 *   - vectors: D floats uniform in [-0.5, 0.5) from a seeded xorshift64
 *     (bq_urand below; lance_query.mjs makes the same bits), row after row;
 *   - text "<w[i % 10]> <w[(i * 7) % 10]> item<i>";
 *   - Q query vectors (the same generator, another seed) at k = K: the
 *     default search (ef 0, or --ef) timed, recall@K against the exact
 *     search (ef = MW_EF_EXACT, also timed);
 *   - Q point lookups of id (q * 37) % N (all columns);
 *   - 20 full-text queries "item<(q * 13) % N>" at k = K;
 *   - Q filters "id >= X AND id < X + 100", X = (q * 101) % N.
 * The batches are generated before the timed put loop. Prints one JSON
 * line on stdout; progress on stderr. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "memwal.h"

#define BQ_FTS_QUERIES 20
#define BQ_DATA_SEED 0x9E3779B97F4A7C15ull
#define BQ_QUERY_SEED 12345u

static const char bq_usage[] =
    "usage: memwal bench-query [URI] [--rows N] [--dim D] [--k K] [--queries Q] [--batch B] [--ef EF]\n"
    "  The issue 11 query benchmark on one ShardWriter (the workload bench/lance_query.mjs runs on\n"
    "  LanceDB): ids 0..N-1 (default 20000) with D floats uniform in [-0.5, 0.5) (default 128) and\n"
    "  text \"<w[i %% 10]> <w[(i * 7) %% 10]> item<i>\", put in B-row batches (default 1000) with\n"
    "  BTree(id), HNSW(vector) and FTS(text) maintained synchronously, non-durable (the WAL goes\n"
    "  to URI in the background; default a memory:// store); then Q (default 50) random query\n"
    "  vectors at k = K (default 10) with ef EF (default 0 = the index's default), recall@K\n"
    "  against the exact search, Q point lookups of id (q*37) %% N, 20 full-text queries\n"
    "  \"item<(q*13) %% N>\" and Q filters \"id >= X AND id < X + 100\". Prints one JSON line:\n"
    "  ingest_rows_per_s, vec_p50_ms, vec_p99_ms, recall10 (recall@K), exact_p50_ms,\n"
    "  pk_lookup_p50_ms, fts_p50_ms, filter_p50_ms, peak_rss_mb, ...; progress on stderr.\n";

static double bq_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64; a float uniform in [-0.5, 0.5) from the top 24 bits. */
static uint64_t bq_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}
static float bq_urand(uint64_t *s) { return (float)((double)(bq_next(s) >> 40) * 0x1.0p-24) - 0.5f; }

/* FNV-1a over 32-bit words: a checksum of the floats' bits that
 * lance_query.mjs computes the same way (bit-exact data on both sides). */
static uint32_t bq_fnv(uint32_t h, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (h ^ u) * 16777619u;
}

static const char *const BQ_W[10] = {"alpha", "beta", "gamma", "delta", "epsilon",
                                     "zeta", "theta", "kappa", "lambda", "sigma"};

static void bq_noop_schema(struct ArrowSchema *s) { s->release = NULL; }

/* field metadata: lance-schema:unenforced-primary-key:position = "1" */
static const char BQ_PK_MD[] = {1, 0, 0, 0, 44, 0, 0, 0, 'l', 'a', 'n', 'c', 'e', '-', 's', 'c', 'h', 'e', 'm',
                                'a', ':', 'u', 'n', 'e', 'n', 'f', 'o', 'r', 'c', 'e', 'd', '-', 'p', 'r', 'i',
                                'm', 'a', 'r', 'y', '-', 'k', 'e', 'y', ':', 'p', 'o', 's', 'i', 't', 'i', 'o',
                                'n', 1, 0, 0, 0, '1'};

/* A batch owning its buffers (freed by its release). */
typedef struct bq_batch {
  struct ArrowArray cols[3], items;
  struct ArrowArray *kids[3], *item_kid[1];
  const void *b0[2], *b1[1], *b2[3], *bi[2], *root[1];
  int64_t *ids;
  float *vecs;
  int32_t *offs;
  char *text;
} bq_batch;

static void bq_kid_release(struct ArrowArray *a) { a->release = NULL; }
static void bq_batch_release(struct ArrowArray *a) {
  bq_batch *m = a->private_data;
  free(m->ids);
  free(m->vecs);
  free(m->offs);
  free(m->text);
  free(m);
  a->release = NULL;
}

#define BQ_TEXT_MAX 48

static int bq_make_batch(struct ArrowArray *out, int64_t first, int64_t n, int dim, uint64_t *rng) {
  bq_batch *m = calloc(1, sizeof *m);
  if (!m) return 1;
  m->ids = malloc((size_t)n * 8);
  m->vecs = malloc((size_t)n * (size_t)dim * 4);
  m->offs = malloc((size_t)(n + 1) * 4);
  m->text = malloc((size_t)n * BQ_TEXT_MAX);
  if (!m->ids || !m->vecs || !m->offs || !m->text) {
    free(m->ids);
    free(m->vecs);
    free(m->offs);
    free(m->text);
    free(m);
    return 1;
  }
  m->offs[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t id = first + i;
    m->ids[i] = id;
    for (int d = 0; d < dim; d++) m->vecs[i * dim + d] = bq_urand(rng);
    int l = snprintf(m->text + m->offs[i], BQ_TEXT_MAX, "%s %s item%" PRId64, BQ_W[id % 10], BQ_W[(id * 7) % 10], id);
    m->offs[i + 1] = m->offs[i] + l;
  }
  m->b0[1] = m->ids;
  m->bi[1] = m->vecs;
  m->b2[1] = m->offs;
  m->b2[2] = m->text;
  m->items = (struct ArrowArray){.length = n * dim, .n_buffers = 2, .buffers = m->bi, .release = bq_kid_release};
  m->item_kid[0] = &m->items;
  m->cols[0] = (struct ArrowArray){.length = n, .n_buffers = 2, .buffers = m->b0, .release = bq_kid_release};
  m->cols[1] = (struct ArrowArray){.length = n, .n_buffers = 1, .n_children = 1, .buffers = m->b1,
                                   .children = m->item_kid, .release = bq_kid_release};
  m->cols[2] = (struct ArrowArray){.length = n, .n_buffers = 3, .buffers = m->b2, .release = bq_kid_release};
  for (int i = 0; i < 3; i++) m->kids[i] = &m->cols[i];
  *out = (struct ArrowArray){.length = n, .n_buffers = 1, .n_children = 3, .buffers = m->root, .children = m->kids,
                             .release = bq_batch_release, .private_data = m};
  return 0;
}

static int bq_cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
/* The p-quantile (nearest rank) of v[0..n-1]; sorts v. */
static double bq_pct(double *v, int n, double p) {
  qsort(v, (size_t)n, sizeof *v, bq_cmp_d);
  return v[(int)(p * (n - 1) + 0.5)];
}

/* Runs q; copies the first column (int64 id) of up to cap rows into ids.
 * Returns the row count, or -1 (message printed). */
static int64_t bq_run(mw_shard_writer *w, const mw_query *q, int64_t *ids, int64_t cap) {
  struct ArrowArrayStream st;
  mw_error err = {0};
  if (mw_shard_writer_query(&st, w, q, &err) != MW_OK) {
    fprintf(stderr, "memwal bench-query: query: %s\n", err.message);
    return -1;
  }
  int64_t n = 0;
  for (;;) {
    struct ArrowArray a = {0};
    if (st.get_next(&st, &a) != 0) {
      fprintf(stderr, "memwal bench-query: query: %s\n", st.get_last_error(&st));
      st.release(&st);
      return -1;
    }
    if (!a.release) break;
    const struct ArrowArray *c = a.children[0];
    for (int64_t i = 0; i < a.length; i++, n++)
      if (n < cap) ids[n] = ((const int64_t *)c->buffers[1])[c->offset + a.offset + i];
    a.release(&a);
  }
  st.release(&st);
  return n;
}

typedef struct bq_opts {
  const char *uri;
  uint64_t rows, dim, k, queries, batch, ef;
} bq_opts;

static int bq_parse(bq_opts *o, int argc, char **argv) {
  const char *rows_s = NULL, *dim_s = NULL, *k_s = NULL, *k2_s = NULL, *q_s = NULL, *b_s = NULL, *ef_s = NULL;
  bool help = false, help2 = false;
  mw_cli_opt opts[] = {
    {"--rows", &rows_s, NULL}, {"--dim", &dim_s, NULL},   {"--k", &k_s, NULL},     {"-k", &k2_s, NULL},
    {"--queries", &q_s, NULL}, {"--batch", &b_s, NULL},   {"--ef", &ef_s, NULL},   {"--help", NULL, &help},
    {"-h", NULL, &help2},
  };
  *o = (bq_opts){.rows = 20000, .dim = 128, .k = 10, .queries = 50, .batch = 1000, .ef = 0};
  if (mw_cli_parse_args(&o->uri, opts, sizeof opts / sizeof opts[0], "bench-query", argc, argv)) {
    fprintf(stderr, "%s", bq_usage);
    return 2;
  }
  if (help || help2) {
    fputs(bq_usage, stdout);
    return -1;
  }
  if (k_s && k2_s) {
    fprintf(stderr, "memwal bench-query: give --k once\n");
    return 2;
  }
  if (!k_s) k_s = k2_s;
  struct {
    const char *flag, *text;
    uint64_t *out, min, max;
  } nums[] = {
    {"--rows", rows_s, &o->rows, 1, 100000000},   {"--dim", dim_s, &o->dim, 1, 65536},
    {"--k", k_s, &o->k, 1, 10000},                {"--queries", q_s, &o->queries, 1, 1000000},
    {"--batch", b_s, &o->batch, 1, 100000000},    {"--ef", ef_s, &o->ef, 0, UINT32_MAX - 1},
  };
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    if (!nums[i].text) continue;
    if (!mw_cli_parse_u64(nums[i].out, nums[i].text) || *nums[i].out < nums[i].min || *nums[i].out > nums[i].max) {
      fprintf(stderr, "memwal bench-query: %s wants an integer in %" PRIu64 "..%" PRIu64 ", got '%s'\n",
              nums[i].flag, nums[i].min, nums[i].max, nums[i].text);
      return 2;
    }
  }
  if (o->uri && !o->uri[0]) {
    fprintf(stderr, "memwal bench-query: empty URI\n");
    return 2;
  }
  return 0;
}

/* The schema of the workload (static storage; nothing to release). */
typedef struct bq_schema {
  char fmt[32];
  struct ArrowSchema id, item, vec, text, root;
  struct ArrowSchema *item_kids[1], *kids[3];
} bq_schema;

static void bq_schema_init(bq_schema *s, int dim) {
  snprintf(s->fmt, sizeof s->fmt, "+w:%d", dim);
  s->id = (struct ArrowSchema){.format = "l", .name = "id", .metadata = BQ_PK_MD, .release = bq_noop_schema};
  s->item = (struct ArrowSchema){.format = "f", .name = "item", .flags = ARROW_FLAG_NULLABLE,
                                 .release = bq_noop_schema};
  s->item_kids[0] = &s->item;
  s->vec = (struct ArrowSchema){.format = s->fmt, .name = "vector", .n_children = 1, .children = s->item_kids,
                                .release = bq_noop_schema};
  s->text = (struct ArrowSchema){.format = "u", .name = "text", .flags = ARROW_FLAG_NULLABLE,
                                 .release = bq_noop_schema};
  s->kids[0] = &s->id;
  s->kids[1] = &s->vec;
  s->kids[2] = &s->text;
  s->root = (struct ArrowSchema){.format = "+s", .name = "", .n_children = 3, .children = s->kids,
                                 .release = bq_noop_schema};
}

int mw_cli_bench_query(int argc, char **argv) {
  bq_opts o;
  int rc = bq_parse(&o, argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  const int64_t rows = (int64_t)o.rows, batch = (int64_t)o.batch;
  const int dim = (int)o.dim, nq = (int)o.queries, k = (int)o.k;
  const char *uri = o.uri ? o.uri : "memory://bench-query";
  int code = 1;
  mw_error err = {0};
  mw_objstore *store = NULL;
  mw_shard_writer *w = NULL;
  int64_t n_batches = (rows + batch - 1) / batch;
  struct ArrowArray *batches = calloc((size_t)n_batches, sizeof *batches);
  int nlat = nq > BQ_FTS_QUERIES ? nq : BQ_FTS_QUERIES;
  double *lat = malloc((size_t)nlat * sizeof *lat), *lat_exact = malloc((size_t)nq * sizeof *lat_exact);
  float *qv = malloc((size_t)nq * (size_t)dim * sizeof *qv);
  int64_t *got = malloc((size_t)(k + 1) * sizeof *got), *exact = malloc((size_t)(k + 1) * sizeof *exact);
  if (!batches || !lat || !lat_exact || !qv || !got || !exact) {
    fprintf(stderr, "memwal bench-query: out of memory\n");
    goto out;
  }

  /* data, generated before anything is timed */
  uint64_t rng = BQ_DATA_SEED;
  uint32_t vsum = 2166136261u;
  for (int64_t b = 0; b < n_batches; b++) {
    int64_t first = b * batch, n = first + batch <= rows ? batch : rows - first;
    if (bq_make_batch(&batches[b], first, n, dim, &rng)) {
      fprintf(stderr, "memwal bench-query: out of memory generating rows\n");
      goto out;
    }
    const float *v = batches[b].children[1]->children[0]->buffers[1];
    for (int64_t i = 0; i < n * dim; i++) vsum = bq_fnv(vsum, v[i]);
  }
  uint64_t qrng = BQ_QUERY_SEED;
  uint32_t qsum = 2166136261u;
  for (size_t i = 0; i < (size_t)nq * (size_t)dim; i++) qsum = bq_fnv(qsum, qv[i] = bq_urand(&qrng));

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double rss_before = (double)ru.ru_maxrss / 1024.0; /* the generated batches, before the writer */
  bq_schema sch;
  bq_schema_init(&sch, dim);
  if (mw_objstore_open(&store, uri, NULL, &err) != MW_OK) {
    fprintf(stderr, "memwal bench-query: %s: %s\n", uri, err.message);
    goto out;
  }
  mw_shard_writer_config cfg;
  mw_shard_writer_config_init(&cfg);
  cfg.durable_write = 0;
  cfg.sync_indexed_write = 1;
  cfg.max_memtable_rows = (uint64_t)rows + 1; /* one MemTable: nothing flushes meanwhile */
  cfg.max_memtable_size = 64ull << 30;
  cfg.max_unflushed_memtable_bytes = 128ull << 30;
  mw_index_config ix[3];
  mw_index_config_init(&ix[0], "id_idx", "id", MW_INDEX_BTREE);
  mw_index_config_init(&ix[1], "vector_idx", "vector", MW_INDEX_HNSW);
  mw_index_config_init(&ix[2], "text_idx", "text", MW_INDEX_FTS);
  if (mw_shard_writer_open(&w, store, &cfg, &sch.root, ix, 3, &err) != MW_OK) {
    fprintf(stderr, "memwal bench-query: open: %s\n", err.message);
    goto out;
  }

  /* ingest: the put loop alone */
  double t0 = bq_now(), last = t0;
  for (int64_t b = 0; b < n_batches; b++) {
    if (mw_shard_writer_put(NULL, w, &batches[b], 1, &err) != MW_OK) {
      fprintf(stderr, "memwal bench-query: put of batch %" PRId64 ": %s\n", b, err.message);
      goto out;
    }
    double t = bq_now();
    if (t - last >= 1.0) {
      last = t;
      fprintf(stderr, "\rmemwal bench-query: %" PRId64 "/%" PRId64 " rows, %.0f rows/s", (b + 1) * batch, rows,
              (double)((b + 1) * batch) / (t - t0));
    }
  }
  double t_ingest = bq_now() - t0;
  if (last > t0) fputc('\n', stderr);

  /* vector k-NN: default (or --ef) vs exact */
  const char *id_col[1] = {"id"};
  double recall = 0;
  for (int i = 0; i < nq; i++) {
    mw_query q;
    mw_query_init(&q);
    q.nearest_column = "vector";
    q.vector = qv + (size_t)i * (size_t)dim;
    q.dim = (uint32_t)dim;
    q.k = (uint32_t)k;
    q.ef = (uint32_t)o.ef;
    q.columns = id_col;
    q.n_columns = 1;
    double a = bq_now();
    int64_t n = bq_run(w, &q, got, k);
    lat[i] = (bq_now() - a) * 1e3;
    q.ef = MW_EF_EXACT;
    a = bq_now();
    int64_t ne = bq_run(w, &q, exact, k);
    lat_exact[i] = (bq_now() - a) * 1e3;
    if (n < 0 || ne < 0) goto out;
    int hit = 0;
    for (int64_t x = 0; x < n && x < k; x++)
      for (int64_t y = 0; y < ne && y < k; y++) hit += got[x] == exact[y];
    recall += ne ? (double)hit / (double)(ne < k ? ne : k) : 1.0;
  }
  recall /= nq;
  double vec_p50 = bq_pct(lat, nq, 0.5), vec_p99 = bq_pct(lat, nq, 0.99);
  double ex_p50 = bq_pct(lat_exact, nq, 0.5), ex_p99 = bq_pct(lat_exact, nq, 0.99);

  /* point lookups of id (q * 37) % N, all columns */
  for (int i = 0; i < nq; i++) {
    int64_t key = (int64_t)(((uint64_t)i * 37) % (uint64_t)rows);
    struct ArrowSchema ks = {.format = "l", .name = "id", .release = bq_noop_schema};
    const void *kb[2] = {NULL, &key};
    struct ArrowArray ka = {.length = 1, .n_buffers = 2, .buffers = kb, .release = bq_kid_release};
    mw_query q;
    mw_query_init(&q);
    q.keys_schema = &ks;
    q.keys = &ka;
    double a = bq_now();
    int64_t n = bq_run(w, &q, got, k);
    lat[i] = (bq_now() - a) * 1e3;
    if (n != 1 || got[0] != key) {
      fprintf(stderr, "memwal bench-query: lookup of id %" PRId64 " returned %" PRId64 " rows\n", key, n);
      goto out;
    }
  }
  double pk_p50 = bq_pct(lat, nq, 0.5), pk_p99 = bq_pct(lat, nq, 0.99);

  /* 20 full-text queries "item<(q * 13) % N>" at k, all columns */
  int first_ok = 0;
  for (int i = 0; i < BQ_FTS_QUERIES; i++) {
    int64_t id = (int64_t)(((uint64_t)i * 13) % (uint64_t)rows);
    char text[32];
    snprintf(text, sizeof text, "item%" PRId64, id);
    mw_query q;
    mw_query_init(&q);
    q.fts_column = "text";
    q.fts_text = text;
    q.k = (uint32_t)k;
    double a = bq_now();
    int64_t n = bq_run(w, &q, got, k);
    lat[i] = (bq_now() - a) * 1e3;
    if (n < 0) goto out;
    first_ok += n >= 1 && got[0] == id;
  }
  double fts_p50 = bq_pct(lat, BQ_FTS_QUERIES, 0.5), fts_p99 = bq_pct(lat, BQ_FTS_QUERIES, 0.99);

  /* Q range filters through the BTree */
  for (int i = 0; i < nq; i++) {
    int64_t lo = (int64_t)(((uint64_t)i * 101) % (uint64_t)rows);
    char text[96];
    snprintf(text, sizeof text, "id >= %" PRId64 " AND id < %" PRId64, lo, lo + 100);
    mw_expr *e = NULL;
    if (mw_expr_parse(&e, text, &err) != MW_OK) {
      fprintf(stderr, "memwal bench-query: %s\n", err.message);
      goto out;
    }
    mw_query q;
    mw_query_init(&q);
    q.filter = e;
    q.columns = id_col;
    q.n_columns = 1;
    double a = bq_now();
    int64_t n = bq_run(w, &q, got, k);
    lat[i] = (bq_now() - a) * 1e3;
    mw_expr_free(e);
    if (n < 0) goto out;
  }
  double filter_p50 = bq_pct(lat, nq, 0.5);

  mw_memtable_stats ms = {0};
  mw_shard_writer_memtable_stats(&ms, w, NULL);
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"engine\": \"memwal\", \"rows\": %" PRId64 ", \"dim\": %d, \"k\": %d, \"queries\": %d, "
         "\"fts_queries\": %d, \"batch_rows\": %" PRId64 ", \"vec_ef\": %" PRIu64 ", "
         "\"ingest_seconds\": %.3f, \"ingest_rows_per_s\": %.0f, "
         "\"vec_p50_ms\": %.3f, \"vec_p99_ms\": %.3f, \"recall10\": %.3f, "
         "\"exact_p50_ms\": %.3f, \"exact_p99_ms\": %.3f, "
         "\"pk_lookup_p50_ms\": %.3f, \"pk_lookup_p99_ms\": %.3f, "
         "\"fts_p50_ms\": %.3f, \"fts_p99_ms\": %.3f, \"fts_first_share\": %.2f, "
         "\"filter_p50_ms\": %.3f, \"memtable_mb\": %.1f, \"rss_before_ingest_mb\": %.1f, \"peak_rss_mb\": %.1f, "
         "\"vector_checksum\": \"%08x\", \"query_checksum\": \"%08x\"}\n",
         rows, dim, k, nq, BQ_FTS_QUERIES, batch, o.ef, t_ingest, (double)rows / t_ingest, vec_p50, vec_p99,
         recall, ex_p50, ex_p99, pk_p50, pk_p99, fts_p50, fts_p99, (double)first_ok / BQ_FTS_QUERIES, filter_p50,
         (double)ms.estimated_size / 1e6, rss_before, (double)ru.ru_maxrss / 1024.0, vsum, qsum);
  code = fflush(stdout) == 0 ? 0 : 1;
out:
  if (w && mw_shard_writer_close(w, &err) != MW_OK && code == 0) {
    fprintf(stderr, "memwal bench-query: close: %s\n", err.message);
    code = 1;
  }
  mw_objstore_close(store);
  if (batches)
    for (int64_t b = 0; b < n_batches; b++)
      if (batches[b].release) batches[b].release(&batches[b]);
  free(batches);
  free(lat);
  free(lat_exact);
  free(qv);
  free(got);
  free(exact);
  return code;
}
