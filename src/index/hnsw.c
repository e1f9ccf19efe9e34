/* hnsw.c - the in-memory HNSW index (see hnsw.h for the design, the
 * distance conventions and the locking).
 *
 * Storage: nodes live in chunks of MW_HNSW_CHUNK nodes, each chunk holding
 * the node headers and, after them, the chunk's vectors (dim floats per
 * node). A directory of chunk pointers is allocated once (calloc: untouched
 * pages cost nothing), so nodes and vectors never move and readers need no
 * lock to reach them.
 *
 * Insert (paper, algorithm 1): reserve a node id, draw its level, write its
 * vector; greedy descent (ef 1) from the entry point down to level+1; then
 * per level from min(level, top) to 0: a beam search with ef_construction
 * (algorithm 2), neighbour selection by the heuristic (algorithm 4, without
 * keepPrunedConnections), and links both ways. A list that overflows is
 * shrunk with the same heuristic around its owner, then refilled with the
 * nearest pruned links (keepPrunedConnections), so a full list drops one
 * link at a time. Distance kernels: 4-lane GNU vectors, or 8-lane AVX2
 * picked at run time on x86-64. Links to the new node
 * are added to its own list through the same path as reverse links, so a
 * link another thread added meanwhile is kept.
 *
 * Search: greedy descent to level 1, then a beam search with
 * max(ef, k) at level 0; with a filter the beam walks every node but only
 * rows the filter keeps enter the result set. Visited nodes are a bitmap
 * per call over the ids reserved when the call started (newer nodes are
 * skipped). */
#include "index/hnsw.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"

#define MW_HNSW_CHUNK_BITS 12
#define MW_HNSW_CHUNK (1u << MW_HNSW_CHUNK_BITS)
#define MW_HNSW_DIR_SIZE (MW_HNSW_MAX_NODES >> MW_HNSW_CHUNK_BITS)
#define MW_NO_NODE UINT32_MAX

typedef struct hnsw_node {
  pthread_mutex_t mu;              /* guards links and cnt */
  uint32_t *links;                 /* level 0: m0 ids, then m per upper level */
  uint16_t cnt[MW_HNSW_MAX_LEVEL]; /* links in use per level (guarded by mu) */
  uint64_t row;                    /* written once before ready/links */
  float inv_norm;                  /* 1/|v| (0 for a zero vector); cosine only */
  uint8_t level;                   /* written once before ready/links */
  atomic_bool ready;               /* vector, row, level written */
} hnsw_node;

typedef struct hnsw_chunk {
  hnsw_node nodes[MW_HNSW_CHUNK];
  float vecs[]; /* MW_HNSW_CHUNK * dim */
} hnsw_chunk;

struct mw_hnsw {
  uint32_t dim, m, m0, ef_construction;
  mw_metric metric;
  uint64_t seed;
  double level_mult; /* 1 / ln(m) */
  _Atomic(hnsw_chunk *) *dir; /* MW_HNSW_DIR_SIZE chunk pointers */
  pthread_mutex_t grow_mu;    /* serialises chunk allocation */
  atomic_uint_fast32_t n_reserved;
  atomic_size_t n_ready;
  atomic_size_t mem;
  pthread_mutex_t entry_mu; /* guards entry_node and top_level */
  uint32_t entry_node;
  int top_level;
};

/* ---------------------------------------------------------------- metrics */

const char *mw_metric_name(mw_metric m) {
  switch (m) {
  case MW_METRIC_L2: return "l2";
  case MW_METRIC_COSINE: return "cosine";
  case MW_METRIC_DOT: return "dot";
  }
  return "?";
}

mw_status mw_metric_parse(mw_metric *out, const char *name, mw_error *err) {
  if (name && strcasecmp(name, "l2") == 0) *out = MW_METRIC_L2;
  else if (name && strcasecmp(name, "cosine") == 0) *out = MW_METRIC_COSINE;
  else if (name && strcasecmp(name, "dot") == 0) *out = MW_METRIC_DOT;
  else return mw_err(err, MW_ERR_INVALID, "unknown metric '%s' (l2, cosine or dot)", name ? name : "(null)");
  return MW_OK;
}

/* The kernels: 16 floats per step in four 4-lane accumulators (GNU vector
 * extensions, plain SSE2 on x86-64; a scalar loop of the same shape
 * elsewhere), then a fixed summation order, so the same inputs always give
 * the same float on a given build. */
#if defined(__GNUC__)
typedef float mw_v4f __attribute__((vector_size(16)));
static inline mw_v4f ld4(const float *p) {
  mw_v4f v;
  memcpy(&v, p, sizeof(v));
  return v;
}
static inline float hsum(mw_v4f a, mw_v4f b, mw_v4f c, mw_v4f d) {
  mw_v4f s = (a + b) + (c + d);
  return (s[0] + s[1]) + (s[2] + s[3]);
}
static float dot_sse(const float *a, const float *b, uint32_t n) {
  mw_v4f s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
  uint32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 += ld4(a + i) * ld4(b + i);
    s1 += ld4(a + i + 4) * ld4(b + i + 4);
    s2 += ld4(a + i + 8) * ld4(b + i + 8);
    s3 += ld4(a + i + 12) * ld4(b + i + 12);
  }
  for (; i + 4 <= n; i += 4) s0 += ld4(a + i) * ld4(b + i);
  float t = hsum(s0, s1, s2, s3);
  for (; i < n; i++) t += a[i] * b[i];
  return t;
}
static float l2sq_sse(const float *a, const float *b, uint32_t n) {
  mw_v4f s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
  uint32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    mw_v4f d0 = ld4(a + i) - ld4(b + i), d1 = ld4(a + i + 4) - ld4(b + i + 4);
    mw_v4f d2 = ld4(a + i + 8) - ld4(b + i + 8), d3 = ld4(a + i + 12) - ld4(b + i + 12);
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; i + 4 <= n; i += 4) {
    mw_v4f d = ld4(a + i) - ld4(b + i);
    s0 += d * d;
  }
  float t = hsum(s0, s1, s2, s3);
  for (; i < n; i++) {
    float d = a[i] - b[i];
    t += d * d;
  }
  return t;
}
#if defined(__x86_64__)
/* The same kernels 8 lanes wide for CPUs with AVX2 (chosen at run time;
 * no FMA, so a product is rounded before it is added, as in the SSE path). */
typedef float mw_v8f __attribute__((vector_size(32)));
__attribute__((target("avx2"))) static float dot_avx2(const float *a, const float *b, uint32_t n) {
  mw_v8f s0 = {0, 0, 0, 0, 0, 0, 0, 0}, s1 = s0, x0, y0, x1, y1;
  uint32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    memcpy(&x0, a + i, 32);
    memcpy(&y0, b + i, 32);
    memcpy(&x1, a + i + 8, 32);
    memcpy(&y1, b + i + 8, 32);
    s0 += x0 * y0;
    s1 += x1 * y1;
  }
  mw_v8f s = s0 + s1;
  float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
  for (; i < n; i++) t += a[i] * b[i];
  return t;
}
__attribute__((target("avx2"))) static float l2sq_avx2(const float *a, const float *b, uint32_t n) {
  mw_v8f s0 = {0, 0, 0, 0, 0, 0, 0, 0}, s1 = s0, x0, y0, x1, y1;
  uint32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    memcpy(&x0, a + i, 32);
    memcpy(&y0, b + i, 32);
    memcpy(&x1, a + i + 8, 32);
    memcpy(&y1, b + i + 8, 32);
    mw_v8f d0 = x0 - y0, d1 = x1 - y1;
    s0 += d0 * d0;
    s1 += d1 * d1;
  }
  mw_v8f s = s0 + s1;
  float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
  for (; i < n; i++) {
    float d = a[i] - b[i];
    t += d * d;
  }
  return t;
}
#define MW_HAVE_AVX2() __builtin_cpu_supports("avx2")
#else
#define MW_HAVE_AVX2() 0
#define dot_avx2 dot_sse
#define l2sq_avx2 l2sq_sse
#endif
/* One kernel per process (the CPU does not change), so a pair of vectors
 * always gets the same distance. */
static float dot8(const float *a, const float *b, uint32_t n) {
  return MW_HAVE_AVX2() ? dot_avx2(a, b, n) : dot_sse(a, b, n);
}
static float l2sq8(const float *a, const float *b, uint32_t n) {
  return MW_HAVE_AVX2() ? l2sq_avx2(a, b, n) : l2sq_sse(a, b, n);
}
#else
static float dot8(const float *a, const float *b, uint32_t n) {
  float t = 0;
  for (uint32_t i = 0; i < n; i++) t += a[i] * b[i];
  return t;
}
static float l2sq8(const float *a, const float *b, uint32_t n) {
  float t = 0;
  for (uint32_t i = 0; i < n; i++) {
    float d = a[i] - b[i];
    t += d * d;
  }
  return t;
}
#endif

static float inv_norm_of(const float *v, uint32_t dim) {
  float n2 = dot8(v, v, dim);
  return n2 > 0 ? 1.0f / sqrtf(n2) : 0.0f;
}

/* One formula for every path (graph, exact scan, mw_vec_distance), so the
 * same pair always gives the same distance. */
static float dist_pre(mw_metric metric, const float *a, float inv_a, const float *b, float inv_b,
                      uint32_t dim) {
  switch (metric) {
  case MW_METRIC_L2: return l2sq8(a, b, dim);
  case MW_METRIC_DOT: return 1.0f - dot8(a, b, dim);
  case MW_METRIC_COSINE:
    if (inv_a == 0 || inv_b == 0) return 1.0f;
    return 1.0f - dot8(a, b, dim) * inv_a * inv_b;
  }
  return 0;
}

float mw_vec_distance(mw_metric metric, const float *a, const float *b, uint32_t dim) {
  float ia = metric == MW_METRIC_COSINE ? inv_norm_of(a, dim) : 0;
  float ib = metric == MW_METRIC_COSINE ? inv_norm_of(b, dim) : 0;
  return dist_pre(metric, a, ia, b, ib, dim);
}

/* ------------------------------------------------------------------ nodes */

static hnsw_chunk *chunk_get(const mw_hnsw *h, uint32_t id) {
  return atomic_load_explicit(&h->dir[id >> MW_HNSW_CHUNK_BITS], memory_order_acquire);
}
static hnsw_node *node_at(const mw_hnsw *h, uint32_t id) {
  return &chunk_get(h, id)->nodes[id & (MW_HNSW_CHUNK - 1)];
}
static const float *vec_at(const mw_hnsw *h, uint32_t id) {
  return chunk_get(h, id)->vecs + (size_t)(id & (MW_HNSW_CHUNK - 1)) * h->dim;
}
static uint32_t *links_of(const mw_hnsw *h, hnsw_node *n, int level) {
  return level == 0 ? n->links : n->links + h->m0 + (size_t)(level - 1) * h->m;
}
/* inv_norm is read only for cosine: for l2 / dot the node header (another
 * cache line than the vector) is not touched. */
static float inv_norm_at(const mw_hnsw *h, uint32_t id) {
  return h->metric == MW_METRIC_COSINE ? node_at(h, id)->inv_norm : 0.0f;
}
static float dist_nodes(const mw_hnsw *h, uint32_t a, uint32_t b) {
  return dist_pre(h->metric, vec_at(h, a), inv_norm_at(h, a), vec_at(h, b), inv_norm_at(h, b), h->dim);
}

/* Copies the links of `id` at `level` into out (room for m0); returns count. */
static uint32_t copy_links(const mw_hnsw *h, uint32_t id, int level, uint32_t *out) {
  hnsw_node *n = node_at(h, id);
  pthread_mutex_lock(&n->mu);
  uint32_t c = level <= n->level ? n->cnt[level] : 0;
  const uint32_t *l = links_of(h, n, level);
  for (uint32_t i = 0; i < c; i++) out[i] = l[i]; /* short: a loop beats a memcpy call */
  pthread_mutex_unlock(&n->mu);
  return c;
}

/* ------------------------------------------------------------------ heaps */

typedef struct cand {
  float d;
  uint32_t id;
} cand;

/* a is "less" than b: nearer, ties by id */
static bool cand_lt(cand a, cand b) { return a.d < b.d || (a.d == b.d && a.id < b.id); }

typedef struct heap {
  cand *v;
  size_t n, cap;
  bool max; /* max-heap (top = farthest) or min-heap (top = nearest) */
} heap;

static bool heap_above(const heap *hp, cand a, cand b) { return hp->max ? cand_lt(b, a) : cand_lt(a, b); }

static bool heap_push(heap *hp, cand c) {
  if (hp->n == hp->cap) {
    size_t nc = hp->cap ? hp->cap * 2 : 64;
    cand *nv = realloc(hp->v, nc * sizeof(cand));
    if (!nv) return false;
    hp->v = nv;
    hp->cap = nc;
  }
  size_t i = hp->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!heap_above(hp, c, hp->v[p])) break;
    hp->v[i] = hp->v[p];
    i = p;
  }
  hp->v[i] = c;
  return true;
}

static cand heap_pop(heap *hp) {
  cand top = hp->v[0], last = hp->v[--hp->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, b = i;
    cand bv = last;
    if (l < hp->n && heap_above(hp, hp->v[l], bv)) { b = l; bv = hp->v[l]; }
    if (r < hp->n && heap_above(hp, hp->v[r], bv)) { b = r; bv = hp->v[r]; }
    if (b == i) break;
    hp->v[i] = hp->v[b];
    i = b;
  }
  if (hp->n) hp->v[i] = last;
  return top;
}

/* Sorts nearest first (arrays here hold at most 2M+1 or ef elements). */
static void cand_sort(cand *c, size_t n) {
  for (size_t i = 1; i < n; i++) {
    cand x = c[i];
    size_t j = i;
    while (j > 0 && cand_lt(x, c[j - 1])) {
      c[j] = c[j - 1];
      j--;
    }
    c[j] = x;
  }
}

/* ---------------------------------------------------------------- search */

typedef struct search_ctx {
  const mw_hnsw *h;
  const float *q;
  float q_inv;
  uint32_t n_snap;  /* ids >= this are ignored */
  uint64_t *visited;
  uint32_t *nbuf;   /* room for m0 links */
  heap cands, res;
  mw_row_filter_fn filter;
  void *filter_ctx;
} search_ctx;

static float dist_q(search_ctx *s, uint32_t id) {
  const mw_hnsw *h = s->h;
  return dist_pre(h->metric, s->q, s->q_inv, vec_at(h, id), inv_norm_at(h, id), h->dim);
}

static bool keep(search_ctx *s, uint32_t id) {
  return !s->filter || s->filter(s->filter_ctx, node_at(s->h, id)->row);
}

/* Greedy walk at one level from *cur (distance *curd) to a local minimum. */
static void greedy(search_ctx *s, int level, uint32_t *cur, float *curd) {
  bool changed = true;
  while (changed) {
    changed = false;
    uint32_t c = copy_links(s->h, *cur, level, s->nbuf);
    for (uint32_t i = 0; i < c; i++) {
      uint32_t e = s->nbuf[i];
      if (e >= s->n_snap) continue;
      float d = dist_q(s, e);
      if (d < *curd || (d == *curd && e < *cur)) {
        *cur = e;
        *curd = d;
        changed = true;
      }
    }
  }
}

/* Beam search (paper, algorithm 2) at `level` from the entry points in
 * s->res (which it replaces with the best `ef`, as a max-heap). */
static bool search_layer(search_ctx *s, const cand *eps, size_t n_eps, size_t ef, int level) {
  memset(s->visited, 0, ((size_t)s->n_snap + 63) / 64 * sizeof(uint64_t));
  s->cands.n = 0;
  s->res.n = 0;
  for (size_t i = 0; i < n_eps; i++) {
    uint32_t id = eps[i].id;
    if (s->visited[id >> 6] >> (id & 63) & 1) continue;
    s->visited[id >> 6] |= 1ull << (id & 63);
    if (!heap_push(&s->cands, eps[i])) return false;
    if (keep(s, id)) {
      if (!heap_push(&s->res, eps[i])) return false;
      if (s->res.n > ef) heap_pop(&s->res);
    }
  }
  while (s->cands.n) {
    cand c = heap_pop(&s->cands);
    if (s->res.n >= ef && c.d > s->res.v[0].d) break;
    uint32_t nl = copy_links(s->h, c.id, level, s->nbuf);
#if defined(__GNUC__)
    /* start loading the unvisited neighbours' vectors before the first
     * distance: the walk is bound by memory latency as much as by flops */
    for (uint32_t i = 0; i < nl; i++) {
      uint32_t e = s->nbuf[i];
      if (e < s->n_snap && !(s->visited[e >> 6] >> (e & 63) & 1)) __builtin_prefetch(vec_at(s->h, e));
    }
#endif
    for (uint32_t i = 0; i < nl; i++) {
      uint32_t e = s->nbuf[i];
      if (e >= s->n_snap || (s->visited[e >> 6] >> (e & 63) & 1)) continue;
      s->visited[e >> 6] |= 1ull << (e & 63);
      cand ce = {dist_q(s, e), e};
      if (s->res.n < ef || cand_lt(ce, s->res.v[0])) {
        if (!heap_push(&s->cands, ce)) return false;
        if (keep(s, e)) {
          if (!heap_push(&s->res, ce)) return false;
          if (s->res.n > ef) heap_pop(&s->res);
        }
      }
    }
  }
  return true;
}

static void ctx_free(search_ctx *s) {
  free(s->visited);
  free(s->nbuf);
  free(s->cands.v);
  free(s->res.v);
}

static bool ctx_init(search_ctx *s, const mw_hnsw *h, const float *q) {
  memset(s, 0, sizeof(*s));
  s->h = h;
  s->q = q;
  s->q_inv = h->metric == MW_METRIC_COSINE ? inv_norm_of(q, h->dim) : 0;
  s->n_snap = (uint32_t)atomic_load(&h->n_reserved);
  if (s->n_snap > MW_HNSW_MAX_NODES) s->n_snap = MW_HNSW_MAX_NODES;
  s->visited = malloc((((size_t)s->n_snap + 63) / 64 + 1) * sizeof(uint64_t));
  s->nbuf = malloc(h->m0 * sizeof(uint32_t));
  s->cands.max = false;
  s->res.max = true;
  return s->visited && s->nbuf;
}

/* The heuristic of algorithm 4: walks `c` (sorted nearest first, distances
 * to the base point) and keeps an element only if it is nearer to the base
 * than to every element kept before it. Returns the count kept (<= max),
 * written to the front of c. */
static size_t select_heuristic(const mw_hnsw *h, cand *c, size_t n, size_t max) {
  size_t kept = 0;
  for (size_t i = 0; i < n && kept < max; i++) {
    bool good = true;
    for (size_t j = 0; j < kept && good; j++)
      if (dist_nodes(h, c[i].id, c[j].id) < c[i].d) good = false;
    if (good) c[kept++] = c[i];
  }
  return kept;
}

/* select_heuristic, then the pruned elements (still nearest first) fill
 * what is left of max. Returns the count written to the front of c. */
static size_t select_heuristic_keep(const mw_hnsw *h, cand *c, size_t n, size_t max) {
  cand buf[2 * MW_HNSW_DEFAULT_M + 1];
  cand *all = n <= sizeof(buf) / sizeof(buf[0]) ? buf : malloc(n * sizeof(cand));
  if (!all) return select_heuristic(h, c, n, max);
  memcpy(all, c, n * sizeof(cand));
  size_t kept = select_heuristic(h, c, n, max);
  /* all[] is sorted; c[0..kept) is a sorted subsequence of it */
  for (size_t i = 0, j = 0; i < n && kept < max; i++) {
    if (j < kept && all[i].id == c[j].id) {
      j++;
      continue;
    }
    c[kept++] = all[i];
  }
  cand_sort(c, kept);
  if (all != buf) free(all);
  return kept;
}

/* Adds a link owner -> target at `level` (no-op if present); an overflowing
 * list is re-selected around its owner. */
static bool add_link(mw_hnsw *h, uint32_t owner, int level, uint32_t target) {
  hnsw_node *n = node_at(h, owner);
  uint32_t cap = level == 0 ? h->m0 : h->m;
  bool ok = true;
  pthread_mutex_lock(&n->mu);
  uint32_t *l = links_of(h, n, level);
  uint32_t c = n->cnt[level];
  for (uint32_t i = 0; i < c; i++)
    if (l[i] == target) goto out;
  if (c < cap) {
    l[c] = target;
    n->cnt[level] = (uint16_t)(c + 1);
    goto out;
  }
  cand buf[2 * MW_HNSW_DEFAULT_M + 1], *cs = buf;
  if (cap + 1 > sizeof(buf) / sizeof(buf[0])) {
    cs = malloc((cap + 1) * sizeof(cand));
    if (!cs) { ok = false; goto out; }
  }
  for (uint32_t i = 0; i < c; i++) cs[i] = (cand){dist_nodes(h, owner, l[i]), l[i]};
  cs[c] = (cand){dist_nodes(h, owner, target), target};
  cand_sort(cs, c + 1);
  /* heuristic first, then refill to capacity with the nearest pruned ones
   * (the paper's keepPrunedConnections, here only when shrinking a full
   * list): a full list then drops exactly one link, which keeps nodes
   * linked from somewhere under concurrent inserts */
  size_t kept = select_heuristic_keep(h, cs, c + 1, cap);
  for (size_t i = 0; i < kept; i++) l[i] = cs[i].id;
  n->cnt[level] = (uint16_t)kept;
  if (cs != buf) free(cs);
out:
  pthread_mutex_unlock(&n->mu);
  return ok;
}

/* ------------------------------------------------------------- lifecycle */

mw_status mw_hnsw_create(mw_hnsw **out, const mw_hnsw_config *cfg, mw_error *err) {
  *out = NULL;
  if (!cfg || cfg->dim == 0 || cfg->dim > 65536)
    return mw_err(err, MW_ERR_INVALID, "hnsw: dimension %u out of range 1..65536", cfg ? cfg->dim : 0);
  if (cfg->metric != MW_METRIC_L2 && cfg->metric != MW_METRIC_COSINE && cfg->metric != MW_METRIC_DOT)
    return mw_err(err, MW_ERR_INVALID, "hnsw: unknown metric %d", (int)cfg->metric);
  uint32_t m = cfg->m ? cfg->m : MW_HNSW_DEFAULT_M;
  if (m < 2 || m > 1024) return mw_err(err, MW_ERR_INVALID, "hnsw: max_connections %u out of range 2..1024", m);
  mw_hnsw *h = calloc(1, sizeof(*h));
  if (!h) return mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory");
  h->dim = cfg->dim;
  h->metric = cfg->metric;
  h->m = m;
  h->m0 = 2 * m;
  h->ef_construction = cfg->ef_construction ? cfg->ef_construction : MW_HNSW_DEFAULT_EF_CONSTRUCTION;
  h->seed = cfg->seed;
  h->level_mult = 1.0 / log((double)m);
  h->dir = calloc(MW_HNSW_DIR_SIZE, sizeof(*h->dir));
  if (!h->dir) {
    free(h);
    return mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory");
  }
  pthread_mutex_init(&h->grow_mu, NULL);
  pthread_mutex_init(&h->entry_mu, NULL);
  h->entry_node = MW_NO_NODE;
  h->top_level = -1;
  atomic_init(&h->n_reserved, 0);
  atomic_init(&h->n_ready, 0);
  atomic_init(&h->mem, sizeof(*h) + MW_HNSW_DIR_SIZE * sizeof(*h->dir));
  *out = h;
  return MW_OK;
}

void mw_hnsw_free(mw_hnsw *h) {
  if (!h) return;
  for (size_t c = 0; c < MW_HNSW_DIR_SIZE; c++) {
    hnsw_chunk *ch = atomic_load(&h->dir[c]);
    if (!ch) continue;
    for (uint32_t i = 0; i < MW_HNSW_CHUNK; i++) {
      pthread_mutex_destroy(&ch->nodes[i].mu);
      free(ch->nodes[i].links);
    }
    free(ch);
  }
  free(h->dir);
  pthread_mutex_destroy(&h->grow_mu);
  pthread_mutex_destroy(&h->entry_mu);
  free(h);
}

static uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static int draw_level(const mw_hnsw *h, uint32_t id) {
  double u = (double)(splitmix64(h->seed ^ ((uint64_t)id * 0x2545f4914f6cdd1dull)) >> 11) * 0x1.0p-53;
  if (u <= 0) u = 0x1.0p-53;
  double l = floor(-log(u) * h->level_mult);
  return l >= MW_HNSW_MAX_LEVEL - 1 ? MW_HNSW_MAX_LEVEL - 1 : (int)l;
}

mw_status mw_hnsw_insert(mw_hnsw *h, uint64_t row, const float *vec, mw_error *err) {
  for (uint32_t i = 0; i < h->dim; i++)
    if (!isfinite(vec[i]))
      return mw_err(err, MW_ERR_INVALID, "hnsw: row %llu: component %u is not finite",
                    (unsigned long long)row, i);
  uint32_t id = (uint32_t)atomic_fetch_add(&h->n_reserved, 1);
  if (id >= MW_HNSW_MAX_NODES) {
    atomic_fetch_sub(&h->n_reserved, 1);
    return mw_err(err, MW_ERR_INVALID, "hnsw: index full (%u nodes)", (unsigned)MW_HNSW_MAX_NODES);
  }
  uint32_t c = id >> MW_HNSW_CHUNK_BITS;
  if (!atomic_load_explicit(&h->dir[c], memory_order_acquire)) {
    pthread_mutex_lock(&h->grow_mu);
    if (!atomic_load_explicit(&h->dir[c], memory_order_relaxed)) {
      size_t bytes = sizeof(hnsw_chunk) + (size_t)MW_HNSW_CHUNK * h->dim * sizeof(float);
      hnsw_chunk *ch = malloc(bytes);
      if (ch) {
        for (uint32_t i = 0; i < MW_HNSW_CHUNK; i++) {
          pthread_mutex_init(&ch->nodes[i].mu, NULL);
          ch->nodes[i].links = NULL;
          ch->nodes[i].level = 0;
          memset(ch->nodes[i].cnt, 0, sizeof(ch->nodes[i].cnt));
          atomic_init(&ch->nodes[i].ready, false);
        }
        atomic_fetch_add(&h->mem, bytes);
        atomic_store_explicit(&h->dir[c], ch, memory_order_release);
      }
    }
    pthread_mutex_unlock(&h->grow_mu);
    if (!atomic_load_explicit(&h->dir[c], memory_order_acquire))
      return mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (chunk %u)", c);
  }
  hnsw_node *n = node_at(h, id);
  int level = draw_level(h, id);
  n->row = row;
  n->level = (uint8_t)level;
  size_t nlinks = h->m0 + (size_t)level * h->m;
  n->links = malloc(nlinks * sizeof(uint32_t));
  if (!n->links) return mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (links of row %llu)", (unsigned long long)row);
  atomic_fetch_add(&h->mem, nlinks * sizeof(uint32_t));
  float *v = (float *)vec_at(h, id);
  memcpy(v, vec, h->dim * sizeof(float));
  n->inv_norm = h->metric == MW_METRIC_COSINE ? inv_norm_of(v, h->dim) : 0;
  atomic_store_explicit(&n->ready, true, memory_order_release);
  atomic_fetch_add(&h->n_ready, 1);

  pthread_mutex_lock(&h->entry_mu);
  uint32_t ep = h->entry_node;
  int top = h->top_level;
  if (ep == MW_NO_NODE) {
    h->entry_node = id;
    h->top_level = level;
    pthread_mutex_unlock(&h->entry_mu);
    return MW_OK;
  }
  pthread_mutex_unlock(&h->entry_mu);

  search_ctx s;
  mw_status st = MW_OK;
  if (!ctx_init(&s, h, v)) {
    st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (insert of row %llu)", (unsigned long long)row);
    goto done;
  }
  uint32_t cur = ep;
  float curd = dist_q(&s, ep);
  for (int lc = top; lc > level; lc--) greedy(&s, lc, &cur, &curd);
  cand *eps = malloc(sizeof(cand) * (h->ef_construction + 1));
  if (!eps) {
    st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (insert of row %llu)", (unsigned long long)row);
    goto done;
  }
  size_t n_eps = 1;
  eps[0] = (cand){curd, cur};
  for (int lc = top < level ? top : level; lc >= 0; lc--) {
    if (!search_layer(&s, eps, n_eps, h->ef_construction, lc)) {
      st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (insert of row %llu)", (unsigned long long)row);
      break;
    }
    n_eps = s.res.n;
    for (size_t i = n_eps; i > 0; i--) eps[i - 1] = heap_pop(&s.res); /* farthest first out */
    /* select on a copy: eps (all of W) seeds the next level */
    cand *sel = s.cands.v; /* reuse: cands is empty after search_layer's use */
    if (s.cands.cap < n_eps) {
      sel = realloc(s.cands.v, n_eps * sizeof(cand));
      if (!sel) {
        st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (insert of row %llu)", (unsigned long long)row);
        break;
      }
      s.cands.v = sel;
      s.cands.cap = n_eps;
    }
    memcpy(sel, eps, n_eps * sizeof(cand));
    size_t kept = select_heuristic(h, sel, n_eps, h->m);
    for (size_t i = 0; i < kept && st == MW_OK; i++) {
      if (sel[i].id == id) continue;
      if (!add_link(h, id, lc, sel[i].id) || !add_link(h, sel[i].id, lc, id))
        st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (links of row %llu)", (unsigned long long)row);
    }
    if (st != MW_OK) break;
  }
  free(eps);
  if (st == MW_OK && level > top) {
    pthread_mutex_lock(&h->entry_mu);
    if (level > h->top_level) {
      h->top_level = level;
      h->entry_node = id;
    }
    pthread_mutex_unlock(&h->entry_mu);
  }
done:
  ctx_free(&s);
  return st;
}

/* --------------------------------------------------------------- queries */

static int hit_cmp(const void *a, const void *b) {
  const mw_hnsw_hit *x = a, *y = b;
  if (x->distance != y->distance) return x->distance < y->distance ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row ? 1 : 0;
}

mw_status mw_hnsw_search(mw_hnsw_hit *hits, size_t *n_hits, const mw_hnsw *h, const float *query,
                         size_t k, size_t ef, mw_row_filter_fn filter, void *filter_ctx,
                         mw_error *err) {
  *n_hits = 0;
  if (k == 0) return MW_OK;
  if (ef == 0) ef = h->ef_construction;
  if (ef < k) ef = k;
  pthread_mutex_lock((pthread_mutex_t *)&h->entry_mu);
  uint32_t ep = h->entry_node;
  int top = h->top_level;
  pthread_mutex_unlock((pthread_mutex_t *)&h->entry_mu);
  if (ep == MW_NO_NODE) return MW_OK;
  search_ctx s;
  mw_status st = MW_OK;
  if (!ctx_init(&s, h, query)) {
    st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (search)");
    goto done;
  }
  s.filter = filter;
  s.filter_ctx = filter_ctx;
  uint32_t cur = ep;
  float curd = dist_q(&s, ep);
  for (int lc = top; lc > 0; lc--) greedy(&s, lc, &cur, &curd);
  cand e0 = {curd, cur};
  if (!search_layer(&s, &e0, 1, ef, 0)) {
    st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (search)");
    goto done;
  }
  size_t n = s.res.n;
  mw_hnsw_hit *all = malloc((n ? n : 1) * sizeof(*all));
  if (!all) {
    st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (search)");
    goto done;
  }
  for (size_t i = 0; i < n; i++) all[i] = (mw_hnsw_hit){node_at(h, s.res.v[i].id)->row, s.res.v[i].d};
  qsort(all, n, sizeof(*all), hit_cmp);
  *n_hits = n < k ? n : k;
  memcpy(hits, all, *n_hits * sizeof(*all));
  free(all);
done:
  ctx_free(&s);
  return st;
}

/* max-heap on (distance, row) over hit structs: top = worst kept */
static bool hit_worse(mw_hnsw_hit a, mw_hnsw_hit b) { return hit_cmp(&a, &b) > 0; }

mw_status mw_hnsw_search_exact(mw_hnsw_hit *hits, size_t *n_hits, const mw_hnsw *h,
                               const float *query, size_t k, mw_row_filter_fn filter,
                               void *filter_ctx, mw_error *err) {
  *n_hits = 0;
  if (k == 0) return MW_OK;
  float q_inv = h->metric == MW_METRIC_COSINE ? inv_norm_of(query, h->dim) : 0;
  uint32_t n = (uint32_t)atomic_load(&h->n_reserved);
  if (n > MW_HNSW_MAX_NODES) n = MW_HNSW_MAX_NODES;
  size_t cnt = 0;
  for (uint32_t id = 0; id < n; id++) {
    hnsw_chunk *ch = chunk_get(h, id);
    if (!ch) {
      id |= MW_HNSW_CHUNK - 1;
      continue;
    }
    hnsw_node *nd = &ch->nodes[id & (MW_HNSW_CHUNK - 1)];
    if (!atomic_load_explicit(&nd->ready, memory_order_acquire)) continue;
    if (filter && !filter(filter_ctx, nd->row)) continue;
    mw_hnsw_hit c = {nd->row, dist_pre(h->metric, query, q_inv, vec_at(h, id), nd->inv_norm, h->dim)};
    if (cnt < k) {
      size_t i = cnt++;
      while (i > 0 && hit_worse(c, hits[(i - 1) / 2])) {
        hits[i] = hits[(i - 1) / 2];
        i = (i - 1) / 2;
      }
      hits[i] = c;
    } else if (hit_worse(hits[0], c)) {
      size_t i = 0;
      for (;;) {
        size_t l = 2 * i + 1, r = l + 1, b = i;
        mw_hnsw_hit bv = c;
        if (l < cnt && hit_worse(hits[l], bv)) { b = l; bv = hits[l]; }
        if (r < cnt && hit_worse(hits[r], bv)) { b = r; bv = hits[r]; }
        if (b == i) break;
        hits[i] = hits[b];
        i = b;
      }
      hits[i] = c;
    }
  }
  qsort(hits, cnt, sizeof(*hits), hit_cmp);
  *n_hits = cnt;
  (void)err;
  return MW_OK;
}

size_t mw_hnsw_count(const mw_hnsw *h) { return atomic_load(&((mw_hnsw *)h)->n_ready); }
uint32_t mw_hnsw_dim(const mw_hnsw *h) { return h->dim; }
mw_metric mw_hnsw_metric(const mw_hnsw *h) { return h->metric; }
size_t mw_hnsw_memory(const mw_hnsw *h) { return atomic_load(&((mw_hnsw *)h)->mem); }

/* ----------------------------------------------------------------- export */

void mw_hnsw_graph_free(mw_hnsw_graph *g) {
  if (!g) return;
  free(g->rows);
  free(g->levels);
  free(g->vecs);
  for (int l = 0; l < MW_HNSW_MAX_LEVEL; l++) {
    free(g->off[l]);
    free(g->nbr[l]);
  }
  memset(g, 0, sizeof(*g));
}

/* Two passes over the node ids: the first numbers the complete nodes and
 * counts links per level (links to incomplete nodes, which a failed insert
 * can leave, are dropped), the second copies them renumbered. Node locks
 * are still taken (cheap, and keeps a misuse from tearing a list). */
mw_status mw_hnsw_export(mw_hnsw_graph *out, const mw_hnsw *h, mw_error *err) {
  memset(out, 0, sizeof(*out));
  out->dim = h->dim;
  out->metric = h->metric;
  out->m = h->m;
  out->ef_construction = h->ef_construction;
  out->max_level = MW_HNSW_MAX_LEVEL;
  uint32_t n_res = (uint32_t)atomic_load(&h->n_reserved);
  if (n_res > MW_HNSW_MAX_NODES) n_res = MW_HNSW_MAX_NODES;
  uint32_t *newid = malloc(((size_t)n_res + 1) * sizeof(uint32_t));
  uint32_t *buf = malloc(h->m0 * sizeof(uint32_t));
  size_t total[MW_HNSW_MAX_LEVEL] = {0};
  mw_status st = MW_OK;
  if (!newid || !buf) goto nomem;
  uint32_t n = 0;
  for (uint32_t id = 0; id < n_res; id++) {
    hnsw_chunk *ch = chunk_get(h, id);
    if (ch && atomic_load_explicit(&ch->nodes[id & (MW_HNSW_CHUNK - 1)].ready, memory_order_acquire))
      newid[id] = n++;
    else
      newid[id] = MW_NO_NODE;
  }
  out->n_nodes = n;
  out->rows = malloc(((size_t)n + 1) * sizeof(uint64_t));
  out->levels = malloc((size_t)n + 1);
  out->vecs = malloc(((size_t)n + 1) * sizeof(float *));
  if (!out->rows || !out->levels || !out->vecs) goto nomem;
  for (int l = 0; l < MW_HNSW_MAX_LEVEL; l++) {
    out->off[l] = calloc((size_t)n + 1, sizeof(uint32_t));
    if (!out->off[l]) goto nomem;
  }
  /* pass 1: per-node counts into off[l][i + 1] */
  for (uint32_t id = 0; id < n_res; id++) {
    uint32_t i = newid[id];
    if (i == MW_NO_NODE) continue;
    hnsw_node *nd = node_at(h, id);
    out->rows[i] = nd->row;
    out->levels[i] = nd->level;
    out->vecs[i] = vec_at(h, id);
    for (int l = 0; l <= nd->level; l++) {
      uint32_t c = copy_links(h, id, l, buf), kept = 0;
      for (uint32_t j = 0; j < c; j++) kept += buf[j] < n_res && newid[buf[j]] != MW_NO_NODE;
      out->off[l][i + 1] = kept;
      total[l] += kept;
    }
  }
  for (int l = 0; l < MW_HNSW_MAX_LEVEL; l++) {
    if (total[l] > UINT32_MAX) {
      st = mw_err(err, MW_ERR_INVALID, "hnsw export: %zu links at level %d overflow u32 offsets", total[l], l);
      goto fail;
    }
    for (uint32_t i = 0; i < n; i++) out->off[l][i + 1] += out->off[l][i];
    out->nbr[l] = malloc((total[l] ? total[l] : 1) * sizeof(uint32_t));
    if (!out->nbr[l]) goto nomem;
  }
  /* pass 2: copy renumbered; a list is re-read under its lock and clipped
   * to the counted length (equal unless an insert ran, which the caller
   * rules out) */
  for (uint32_t id = 0; id < n_res; id++) {
    uint32_t i = newid[id];
    if (i == MW_NO_NODE) continue;
    for (int l = 0; l <= out->levels[i]; l++) {
      uint32_t c = copy_links(h, id, l, buf), at = out->off[l][i], end = out->off[l][i + 1];
      for (uint32_t j = 0; j < c && at < end; j++)
        if (buf[j] < n_res && newid[buf[j]] != MW_NO_NODE) out->nbr[l][at++] = newid[buf[j]];
      while (at < end) out->nbr[l][at++] = i; /* unreachable without a concurrent insert */
    }
  }
  pthread_mutex_lock((pthread_mutex_t *)&h->entry_mu);
  uint32_t ep = h->entry_node;
  int top = h->top_level;
  pthread_mutex_unlock((pthread_mutex_t *)&h->entry_mu);
  if (n > 0) {
    if (ep == MW_NO_NODE || ep >= n_res || newid[ep] == MW_NO_NODE) {
      /* the first node's insert failed after it became the entry: pick the
       * highest complete node (ties: lowest id) */
      uint32_t best = 0;
      for (uint32_t i = 1; i < n; i++)
        if (out->levels[i] > out->levels[best]) best = i;
      out->entry = best;
      out->top_level = out->levels[best];
    } else {
      out->entry = newid[ep];
      out->top_level = (uint32_t)top;
    }
  }
  free(newid);
  free(buf);
  return MW_OK;
nomem:
  st = mw_err(err, MW_ERR_NOMEM, "hnsw export: out of memory");
fail:
  free(newid);
  free(buf);
  mw_hnsw_graph_free(out);
  return st;
}
