/* bench_query.c - MemTable queries end to end through a ShardWriter
 * (mw_shard_writer_put + mw_shard_writer_query), on the issue 11 anchor
 * workload: ids 0..N-1 (int64 primary key), vectors D floats uniform in
 * [-0.5, 0.5) from a seeded generator, text "<w[i % 10]> <w[(i * 7) % 10]>
 * item<i>"; indexes BTree(id), HNSW(vector, l2), FTS(text), all maintained
 * synchronously (sync_indexed_write = 1); puts of B rows, non-durable (the
 * WAL is written in the background to a memory:// store), so the ingest rate
 * is what indexing and the MemTable cost.
 *
 * Prints one JSON line per phase:
 *   ingest  rows/s of the puts (each put returns once its rows are indexed);
 *   knn     k=10 at the default ef: p50 / p99 ms, recall@10 against the
 *           exact query (ef = MW_EF_EXACT, also timed);
 *   lookup  point lookup of one key: p50 / p99 ms;
 *   fts     "item<n>" k=10: p50 / p99 ms, share of queries whose row is first;
 *   filter  "id >= X AND id < X + 100": p50 / p99 ms.
 * Anchor (LanceDB 0.39 in-process MemTable, 20,000 x 128 + text, HNSW + FTS
 * + BTree maintained, 1000-row mergeInserts; LSM.md section 9): ingest
 * 10.3k rows/s; vector k=10 p50 6.3 ms / p99 37 ms at recall@10 0.35; point
 * lookup 1.3 ms; FTS 2.1 ms.
 *
 * Usage: bench_query [--rows N] [--dim D] [--batch B] [--queries Q] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memwal.h"

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
static float urand(uint64_t *s) { return (float)((rng_next(s) >> 40) * 0x1.0p-24) - 0.5f; }

static const char *W[10] = {"alpha", "beta", "gamma", "delta", "epsilon",
                            "zeta", "theta", "kappa", "lambda", "sigma"};

static void noop_schema(struct ArrowSchema *s) { s->release = NULL; }

static const char PK_MD[] = {1, 0, 0, 0, 44, 0, 0, 0, 'l', 'a', 'n', 'c', 'e', '-', 's', 'c', 'h', 'e', 'm', 'a', ':',
                             'u', 'n', 'e', 'n', 'f', 'o', 'r', 'c', 'e', 'd', '-', 'p', 'r', 'i', 'm', 'a', 'r', 'y',
                             '-', 'k', 'e', 'y', ':', 'p', 'o', 's', 'i', 't', 'i', 'o', 'n', 1, 0, 0, 0, '1'};

/* A batch owning its buffers (freed by release). */
typedef struct batch_mem {
  struct ArrowArray cols[3], items;
  struct ArrowArray *kids[3], *item_kid[1];
  const void *b0[2], *b1[1], *b2[3], *bi[2], *root[1];
  int64_t *ids;
  float *vecs;
  int32_t *offs;
  char *text;
} batch_mem;

static void kid_release(struct ArrowArray *a) { a->release = NULL; }
static void batch_release(struct ArrowArray *a) {
  batch_mem *m = a->private_data;
  free(m->ids);
  free(m->vecs);
  free(m->offs);
  free(m->text);
  free(m);
  a->release = NULL;
}

static struct ArrowArray make_batch(int64_t first, int64_t n, int dim, uint64_t *rng) {
  batch_mem *m = calloc(1, sizeof *m);
  m->ids = malloc((size_t)n * 8);
  m->vecs = malloc((size_t)n * (size_t)dim * 4);
  m->offs = malloc((size_t)(n + 1) * 4);
  m->text = malloc((size_t)n * 48);
  m->offs[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t id = first + i;
    m->ids[i] = id;
    for (int d = 0; d < dim; d++) m->vecs[i * dim + d] = urand(rng);
    int l = snprintf(m->text + m->offs[i], 48, "%s %s item%lld", W[id % 10], W[(id * 7) % 10], (long long)id);
    m->offs[i + 1] = m->offs[i] + l;
  }
  m->b0[1] = m->ids;
  m->bi[1] = m->vecs;
  m->b2[1] = m->offs;
  m->b2[2] = m->text;
  m->items = (struct ArrowArray){.length = n * dim, .n_buffers = 2, .buffers = m->bi, .release = kid_release};
  m->item_kid[0] = &m->items;
  m->cols[0] = (struct ArrowArray){.length = n, .n_buffers = 2, .buffers = m->b0, .release = kid_release};
  m->cols[1] = (struct ArrowArray){.length = n, .n_buffers = 1, .n_children = 1, .buffers = m->b1,
                                   .children = m->item_kid, .release = kid_release};
  m->cols[2] = (struct ArrowArray){.length = n, .n_buffers = 3, .buffers = m->b2, .release = kid_release};
  for (int i = 0; i < 3; i++) m->kids[i] = &m->cols[i];
  return (struct ArrowArray){.length = n, .n_buffers = 1, .n_children = 3, .buffers = m->root, .children = m->kids,
                             .release = batch_release, .private_data = m};
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double pct(double *v, int n, double p) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  int i = (int)(p * (n - 1) + 0.5);
  return v[i];
}

/* Runs q, returns the ids (up to cap) and the row count. */
static int64_t run(mw_shard_writer *w, const mw_query *q, int64_t *ids, int64_t cap) {
  struct ArrowArrayStream st;
  mw_error err = {0};
  if (mw_shard_writer_query(&st, w, q, &err) != MW_OK) {
    fprintf(stderr, "query failed: %s\n", err.message);
    exit(1);
  }
  int64_t n = 0;
  struct ArrowArray a;
  while (st.get_next(&st, &a) == 0 && a.release) {
    const struct ArrowArray *c = a.children[0];
    for (int64_t i = 0; i < a.length; i++, n++)
      if (n < cap) ids[n] = ((const int64_t *)c->buffers[1])[c->offset + a.offset + i];
    a.release(&a);
  }
  st.release(&st);
  return n;
}

int main(int argc, char **argv) {
  int64_t rows = 20000, batch = 1000;
  int dim = 128, queries = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--rows") == 0) rows = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--dim") == 0) dim = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--batch") == 0) batch = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--queries") == 0) queries = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: bench_query [--rows N] [--dim D] [--batch B] [--queries Q]\n");
      return 2;
    }
  }
  char fmt[32];
  snprintf(fmt, sizeof fmt, "+w:%d", dim);
  struct ArrowSchema f_id = {.format = "l", .name = "id", .metadata = PK_MD, .release = noop_schema};
  struct ArrowSchema f_item = {.format = "f", .name = "item", .flags = ARROW_FLAG_NULLABLE, .release = noop_schema};
  struct ArrowSchema *item_kids[1] = {&f_item};
  struct ArrowSchema f_vec = {.format = fmt, .name = "vector", .n_children = 1, .children = item_kids,
                              .release = noop_schema};
  struct ArrowSchema f_text = {.format = "u", .name = "text", .flags = ARROW_FLAG_NULLABLE, .release = noop_schema};
  struct ArrowSchema *kids[3] = {&f_id, &f_vec, &f_text};
  struct ArrowSchema schema = {.format = "+s", .name = "", .n_children = 3, .children = kids, .release = noop_schema};

  mw_error err = {0};
  mw_objstore *store = NULL;
  if (mw_objstore_open(&store, "memory://bench-query", NULL, &err) != MW_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  mw_shard_writer_config cfg;
  mw_shard_writer_config_init(&cfg);
  cfg.durable_write = 0;
  cfg.max_memtable_rows = (uint64_t)rows + 1; /* one MemTable: nothing flushes meanwhile */
  cfg.max_memtable_size = 8ull << 30;
  cfg.max_unflushed_memtable_bytes = 16ull << 30;
  mw_index_config ix[3];
  mw_index_config_init(&ix[0], "id_idx", "id", MW_INDEX_BTREE);
  mw_index_config_init(&ix[1], "vector_idx", "vector", MW_INDEX_HNSW);
  mw_index_config_init(&ix[2], "text_idx", "text", MW_INDEX_FTS);
  mw_shard_writer *w = NULL;
  if (mw_shard_writer_open(&w, store, &cfg, &schema, ix, 3, &err) != MW_OK) {
    fprintf(stderr, "open: %s\n", err.message);
    return 1;
  }
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  double t0 = now();
  for (int64_t first = 0; first < rows; first += batch) {
    int64_t n = first + batch <= rows ? batch : rows - first;
    struct ArrowArray a = make_batch(first, n, dim, &rng);
    if (mw_shard_writer_put(NULL, w, &a, 1, &err) != MW_OK) {
      fprintf(stderr, "put: %s\n", err.message);
      return 1;
    }
  }
  double t_ingest = now() - t0;
  printf("{\"phase\": \"ingest\", \"rows\": %lld, \"dim\": %d, \"batch_rows\": %lld, \"seconds\": %.3f, "
         "\"rows_per_s\": %.0f, \"indexes\": \"btree(id) hnsw(vector, l2) fts(text)\", \"sync_indexed_write\": 1}\n",
         (long long)rows, dim, (long long)batch, t_ingest, (double)rows / t_ingest);

  double *lat = malloc((size_t)queries * sizeof *lat), *lat2 = malloc((size_t)queries * sizeof *lat2);
  float *qv = malloc((size_t)dim * sizeof *qv);
  int64_t got[16], exact[16];
  uint64_t qrng = 12345;
  double recall = 0;
  for (int i = 0; i < queries; i++) {
    for (int d = 0; d < dim; d++) qv[d] = urand(&qrng);
    mw_query q;
    mw_query_init(&q);
    q.nearest_column = "vector";
    q.vector = qv;
    q.dim = (uint32_t)dim;
    q.k = 10;
    const char *cols[1] = {"id"};
    q.columns = cols;
    q.n_columns = 1;
    double a = now();
    int64_t n = run(w, &q, got, 16);
    lat[i] = (now() - a) * 1e3;
    q.ef = MW_EF_EXACT;
    a = now();
    int64_t ne = run(w, &q, exact, 16);
    lat2[i] = (now() - a) * 1e3;
    int hit = 0;
    for (int64_t x = 0; x < n && x < 10; x++)
      for (int64_t y = 0; y < ne && y < 10; y++) hit += got[x] == exact[y];
    recall += ne ? (double)hit / (double)(ne < 10 ? ne : 10) : 1.0;
  }
  printf("{\"phase\": \"knn\", \"k\": 10, \"ef\": \"default\", \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"recall_at_10\": %.3f, "
         "\"exact_p50_ms\": %.3f, \"exact_p99_ms\": %.3f}\n",
         pct(lat, queries, 0.5), pct(lat, queries, 0.99), recall / queries, pct(lat2, queries, 0.5),
         pct(lat2, queries, 0.99));

  for (int i = 0; i < queries; i++) {
    int64_t key = (int64_t)(rng_next(&qrng) % (uint64_t)rows);
    struct ArrowSchema ks = {.format = "l", .name = "id", .release = noop_schema};
    const void *kb[2] = {NULL, &key};
    struct ArrowArray ka = {.length = 1, .n_buffers = 2, .buffers = kb, .release = kid_release};
    mw_query q;
    mw_query_init(&q);
    q.keys_schema = &ks;
    q.keys = &ka;
    double a = now();
    int64_t n = run(w, &q, got, 16);
    lat[i] = (now() - a) * 1e3;
    if (n != 1 || got[0] != key) {
      fprintf(stderr, "lookup of %lld returned %lld rows\n", (long long)key, (long long)n);
      return 1;
    }
  }
  printf("{\"phase\": \"lookup\", \"keys\": 1, \"p50_ms\": %.3f, \"p99_ms\": %.3f}\n", pct(lat, queries, 0.5),
         pct(lat, queries, 0.99));

  int first_ok = 0;
  for (int i = 0; i < queries; i++) {
    int64_t id = (int64_t)(rng_next(&qrng) % (uint64_t)rows);
    char text[32];
    snprintf(text, sizeof text, "item%lld", (long long)id);
    mw_query q;
    mw_query_init(&q);
    q.fts_column = "text";
    q.fts_text = text;
    q.k = 10;
    double a = now();
    int64_t n = run(w, &q, got, 16);
    lat[i] = (now() - a) * 1e3;
    first_ok += n >= 1 && got[0] == id;
  }
  printf("{\"phase\": \"fts\", \"k\": 10, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"row_first\": %.2f}\n",
         pct(lat, queries, 0.5), pct(lat, queries, 0.99), (double)first_ok / queries);

  for (int i = 0; i < queries; i++) {
    int64_t lo = (int64_t)(rng_next(&qrng) % (uint64_t)rows);
    char text[96];
    snprintf(text, sizeof text, "id >= %lld AND id < %lld", (long long)lo, (long long)lo + 100);
    mw_expr *e = NULL;
    if (mw_expr_parse(&e, text, &err) != MW_OK) {
      fprintf(stderr, "%s\n", err.message);
      return 1;
    }
    mw_query q;
    mw_query_init(&q);
    q.filter = e;
    double a = now();
    run(w, &q, got, 16);
    lat[i] = (now() - a) * 1e3;
    mw_expr_free(e);
  }
  printf("{\"phase\": \"filter\", \"expr\": \"id >= X AND id < X + 100\", \"p50_ms\": %.3f, \"p99_ms\": %.3f}\n",
         pct(lat, queries, 0.5), pct(lat, queries, 0.99));
  mw_memtable_stats ms;
  if (mw_shard_writer_memtable_stats(&ms, w, &err) == MW_OK)
    printf("{\"phase\": \"memory\", \"memtable_estimated_bytes\": %llu}\n", (unsigned long long)ms.estimated_size);
  mw_shard_writer_close(w, NULL);
  mw_objstore_close(store);
  free(lat);
  free(lat2);
  free(qv);
  return 0;
}
