/* hnsw.c - the in-memory HNSW index (see hnsw.h for the design, the
 * distance conventions and the locking).
 *
 * Storage: nodes live in chunks of MW_HNSW_CHUNK nodes. A chunk holds the
 * node headers (row, level, upper-level links) and a 64-byte aligned slot
 * array (whole 2 MiB huge pages): per node its vector (dim floats)
 * followed by its level-0 link list (a count and 2M ids), so the walk at
 * level 0, which dominates both inserts and searches, reads one contiguous
 * run of cache lines per node and never the node's header. Writers of a
 * node's lists lock one of MW_HNSW_STRIPES mutexes (node_mu).
 * Upper levels (1/M of the nodes) keep their lists in one malloc per node.
 * A directory of chunk pointers is allocated once (calloc: untouched pages
 * cost nothing), so nodes and vectors never move and readers need no lock
 * to reach them.
 *
 * Link lists: a list is [seq, count, id 0, id 1, ...] of _Atomic
 * uint32_t, followed by `cap` floats and `cap` mark bytes (both plain,
 * written and read under the node's lock stripe, node_mu; marks: see add_link's shrink):
 * dist[i] = the distance from the owner to id i, computed when the link was
 * made (the insert's own search distance, or the shrink's), so a flush
 * serialises the graph's `_distance` lists without recomputing them; only
 * mw_hnsw_export / mw_hnsw_graph_links read them (no insert runs then;
 * the flush reads each list once, in place, after mw_hnsw_export_nodes,
 * instead of a copy of the whole graph). Writers (add_link) hold the
 * owner's lock stripe (node_mu). An append stores the id, then the count (release
 * stores). A shrink rewrites the list in
 * place inside a sequence lock: seq is odd while it writes. Readers take no
 * lock (copy_links): they copy count and ids with acquire loads (plain moves
 * on x86-64) and retry when seq was odd or changed, so they always get one
 * consistent list (a torn list makes concurrent inserts pick worse
 * neighbours and leaves more nodes unreachable). Every id a reader sees is
 * a node that was complete before it was linked (its vector, row and level
 * happen-before the release store that published the id).
 *
 * Insert (paper, algorithm 1): reserve a node id, draw its level, write its
 * vector; greedy descent (ef 1) from the entry point down to level+1; then
 * per level from min(level, top) to 0: a beam search with ef_construction
 * (algorithm 2), neighbour selection by the heuristic (algorithm 4, without
 * keepPrunedConnections), and links both ways. A list that overflows is
 * shrunk with the same heuristic around its owner, then refilled with the
 * nearest pruned links (keepPrunedConnections), so a full list drops one
 * link at a time. The shrink is computed incrementally from marks the
 * previous shrink left on each link (same result as the full heuristic,
 * checked by test_hnsw_shrink_check), ~2M distances instead of ~2M^2 on
 * data where most links survive. Exact copies (distance 0): a copy prunes
 * the other copies of the same base, and a new vector links to its newest
 * copy first, so copies form a chain instead of filling each other's lists
 * (test_duplicates). Distance kernels: 4-lane GNU vectors, or 8-lane AVX2
 * / 16-lane AVX-512F picked at run time on x86-64. Links to the new node
 * are added to its own list through the same path as reverse links, so a
 * link another thread added meanwhile is kept.
 *
 * Search: greedy descent to level 1, then a beam search with
 * max(ef, k) at level 0; with a filter the beam walks every node but only
 * rows the filter keeps enter the result set.
 *
 * Scratch: each insert or search borrows a scratch object from the index's
 * pool (pool_mu guards the free list; the object is then private to the
 * call): a visited array of u32 epoch stamps (a node is visited when its
 * stamp equals the current epoch; the epoch is bumped per beam search
 * instead of clearing the array, which is cleared only when the epoch
 * wraps), both heaps and the candidate buffers. So a call allocates nothing
 * once the pool is warm; the pool's memory is counted in mw_hnsw_memory and
 * freed by mw_hnsw_free. Nodes reserved after a call started (ids >= its
 * snapshot of n_reserved) are skipped by that call. */
#include "index/hnsw.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MW_HUGE ((size_t)2 << 20)

#include "common/error.h"

#define MW_HNSW_CHUNK_BITS 12
#define MW_HNSW_CHUNK (1u << MW_HNSW_CHUNK_BITS)
#define MW_HNSW_DIR_SIZE (MW_HNSW_MAX_NODES >> MW_HNSW_CHUNK_BITS)
#define MW_NO_NODE UINT32_MAX
#define MW_HNSW_STRIPES 1024u /* writer locks, see mw_hnsw.stripes */

typedef _Atomic uint32_t link_t;

/* Words of a link list of capacity cap: seq, count, cap ids, cap
 * distances, cap one-byte marks (see "Link lists"). */
static size_t list_words(uint32_t cap) { return 2 + 2 * (size_t)cap + ((size_t)cap + 3) / 4; }

typedef struct hnsw_node {
  link_t *upper;       /* levels 1..level: list_words(m) words each (list, dists, marks); NULL at level 0 */
  uint64_t row;        /* written once before ready/links */
  float inv_norm;      /* 1/|v| (0 for a zero vector); cosine only */
  uint8_t level;       /* written once before ready/links */
  atomic_bool ready;   /* vector, row, level written */
} hnsw_node;

typedef struct hnsw_chunk {
  unsigned char *slots; /* MW_HNSW_CHUNK * stride bytes rounded up to 2 MiB, 2 MiB-aligned */
  hnsw_node nodes[MW_HNSW_CHUNK];
  /* node i's smallest and largest vector component (vec_bounds), written
   * once before its ready flag; read only by the export, not the walk */
  float vmin[MW_HNSW_CHUNK], vmax[MW_HNSW_CHUNK];
} hnsw_chunk;

typedef struct cand {
  float d;
  uint32_t id;
} cand;

/* Per-call working memory, borrowed from the pool (see the top comment). */
typedef struct hnsw_scratch {
  struct hnsw_scratch *next; /* pool free list (pool_mu) */
  uint32_t *stamp;           /* visited epochs, stamp_cap entries */
  size_t stamp_cap;
  uint32_t epoch;
  cand *cands, *res, *eps, *sel;
  size_t cands_cap, res_cap, eps_cap, sel_cap;
  uint32_t *nbuf;            /* room for m0 ids */
  size_t bytes;              /* counted in h->mem */
} hnsw_scratch;

struct mw_hnsw {
  uint32_t dim, m, m0, ef_construction;
  mw_metric metric;
  uint64_t seed;
  double level_mult; /* 1 / ln(m) */
  size_t stride;     /* bytes per level-0 slot: vector, then the list (list_words(m0)); 64-aligned */
  size_t vec_bytes;  /* dim * 4 */
  _Atomic(hnsw_chunk *) *dir; /* MW_HNSW_DIR_SIZE chunk pointers */
  pthread_mutex_t grow_mu;    /* serialises chunk allocation */
  atomic_uint_fast32_t n_reserved;
  atomic_size_t n_ready;
  atomic_size_t mem;
  pthread_mutex_t entry_mu; /* guards entry_node and top_level */
  uint32_t entry_node;
  int top_level;
  pthread_mutex_t pool_mu;  /* guards pool */
  hnsw_scratch *pool;
  /* The default search (ef 0), see "The default search" below: (node count
   * it was calibrated at << 32) | beam, beam PLAN_EXACT = an exact scan;
   * 0 = not calibrated yet. Written by the one search that won
   * `calibrating`; read by every default search. */
  _Atomic uint64_t plan;
  atomic_bool calibrating;
  /* The background calibration thread: started and joined under cal_mu
   * (held only to create or join it, never by the thread itself);
   * cal_joinable says cal_thread is a thread not joined yet. */
  pthread_mutex_t cal_mu;
  pthread_t cal_thread;
  bool cal_joinable;
  /* Writers of a node's link lists hold the node's stripe,
   * stripes[id % MW_HNSW_STRIPES] (node_mu): a small table that stays in
   * cache, instead of a mutex in every node header, whose cache line each
   * reverse link would otherwise miss on. Nobody holds two at once. */
  pthread_mutex_t stripes[MW_HNSW_STRIPES];
};

static pthread_mutex_t *node_mu(const mw_hnsw *h, uint32_t id) {
  return (pthread_mutex_t *)&h->stripes[id & (MW_HNSW_STRIPES - 1)];
}

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

/* Plain loops: the tail of the AVX2 kernels, and the kernels of compilers
 * without GNU vector extensions. */
static float dot_scalar(const float *a, const float *b, uint32_t n) {
  float t = 0;
  for (uint32_t i = 0; i < n; i++) t += a[i] * b[i];
  return t;
}
static float l2sq_scalar(const float *a, const float *b, uint32_t n) {
  float t = 0;
  for (uint32_t i = 0; i < n; i++) {
    float d = a[i] - b[i];
    t += d * d;
  }
  return t;
}

/* The kernels: 16 floats per step in four 4-lane accumulators (GNU vector
 * extensions, plain SSE2 on x86-64; a scalar loop of the same shape
 * elsewhere; 8 and 16 lanes with AVX2 / AVX-512F, picked at run time),
 * then a fixed summation order, so the same inputs always give the same
 * float on a given machine and build. */
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
typedef float mw_v16f __attribute__((vector_size(64)));
__attribute__((target("avx2"))) static float hsum_v8(mw_v8f s) {
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}
__attribute__((target("avx512f"))) static float hsum_v16(mw_v16f s) {
  mw_v8f lo, hi;
  memcpy(&lo, &s, sizeof lo);
  memcpy(&hi, (const char *)&s + sizeof lo, sizeof hi);
  return hsum_v8(lo + hi); /* a tree, not a chain of 8 dependent adds */
}
/* NAME: two accumulators of vector type V (ISA T), 2 x sizeof(V) bytes per
 * step, each adding STEP(x, y); HSUM sums the lanes, TAIL takes the rest
 * of n. AVX2: 8 lanes, scalar tail; AVX-512F: 16 lanes (a 128-d distance
 * is four steps), the AVX2 kernel for the rest. */
#define MW_DOT_STEP(x, y) ((x) * (y))
#define MW_L2_STEP(x, y) (((x) - (y)) * ((x) - (y)))
#define MW_VEC_KERNEL(NAME, V, T, STEP, HSUM, TAIL)                                            \
  __attribute__((target(T))) static float NAME(const float *a, const float *b, uint32_t n) {   \
    const uint32_t w = (uint32_t)(sizeof(V) / sizeof(float));                                 \
    V s0 = {0}, s1 = s0, x0, y0, x1, y1;                                                       \
    uint32_t i = 0;                                                                            \
    for (; i + 2 * w <= n; i += 2 * w) {                                                       \
      memcpy(&x0, a + i, sizeof(V));                                                           \
      memcpy(&y0, b + i, sizeof(V));                                                           \
      memcpy(&x1, a + i + w, sizeof(V));                                                       \
      memcpy(&y1, b + i + w, sizeof(V));                                                       \
      s0 += STEP(x0, y0);                                                                      \
      s1 += STEP(x1, y1);                                                                      \
    }                                                                                          \
    return i == n ? HSUM(s0 + s1) : HSUM(s0 + s1) + TAIL(a + i, b + i, n - i);                 \
  }
MW_VEC_KERNEL(dot_avx2, mw_v8f, "avx2", MW_DOT_STEP, hsum_v8, dot_scalar)
MW_VEC_KERNEL(l2sq_avx2, mw_v8f, "avx2", MW_L2_STEP, hsum_v8, l2sq_scalar)
MW_VEC_KERNEL(dot_avx512, mw_v16f, "avx512f", MW_DOT_STEP, hsum_v16, dot_avx2)
MW_VEC_KERNEL(l2sq_avx512, mw_v16f, "avx512f", MW_L2_STEP, hsum_v16, l2sq_avx2)
#define MW_HAVE_AVX2() __builtin_cpu_supports("avx2")
#define MW_HAVE_AVX512() __builtin_cpu_supports("avx512f")
#else
#define MW_HAVE_AVX2() 0
#define MW_HAVE_AVX512() 0
#define dot_avx2 dot_sse
#define l2sq_avx2 l2sq_sse
#define dot_avx512 dot_sse
#define l2sq_avx512 l2sq_sse
#endif
/* One kernel per process (the CPU does not change), so a pair of vectors
 * always gets the same distance. */
static float dot8(const float *a, const float *b, uint32_t n) {
  return MW_HAVE_AVX512() ? dot_avx512(a, b, n) : MW_HAVE_AVX2() ? dot_avx2(a, b, n) : dot_sse(a, b, n);
}
static float l2sq8(const float *a, const float *b, uint32_t n) {
  return MW_HAVE_AVX512() ? l2sq_avx512(a, b, n) : MW_HAVE_AVX2() ? l2sq_avx2(a, b, n) : l2sq_sse(a, b, n);
}
#else
static float dot8(const float *a, const float *b, uint32_t n) { return dot_scalar(a, b, n); }
static float l2sq8(const float *a, const float *b, uint32_t n) { return l2sq_scalar(a, b, n); }
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
  return mw_vec_distance_pre(metric, a, ia, b, dim);
}

float mw_vec_inv_norm(const float *a, uint32_t dim) { return inv_norm_of(a, dim); }

float mw_vec_distance_pre(mw_metric metric, const float *a, float a_inv, const float *b, uint32_t dim) {
  float ib = metric == MW_METRIC_COSINE ? inv_norm_of(b, dim) : 0;
  return dist_pre(metric, a, a_inv, b, ib, dim);
}


/* ------------------------------------------------------------------ nodes */

static hnsw_chunk *chunk_get(const mw_hnsw *h, uint32_t id) {
  return atomic_load_explicit(&h->dir[id >> MW_HNSW_CHUNK_BITS], memory_order_acquire);
}
static hnsw_node *node_at(const mw_hnsw *h, uint32_t id) {
  return &chunk_get(h, id)->nodes[id & (MW_HNSW_CHUNK - 1)];
}
static unsigned char *slot_at(const mw_hnsw *h, uint32_t id) {
  return chunk_get(h, id)->slots + (size_t)(id & (MW_HNSW_CHUNK - 1)) * h->stride;
}
static const float *vec_at(const mw_hnsw *h, uint32_t id) { return (const float *)slot_at(h, id); }
/* The list of `n` (node id `id`) at `level` (<= n->level): count, then ids.
 * Level 0 lives in the slot: n is not read (it may be NULL). */
static link_t *list_of(const mw_hnsw *h, uint32_t id, const hnsw_node *n, int level) {
  if (level == 0) return (link_t *)(slot_at(h, id) + h->vec_bytes);
  return n->upper + (size_t)(level - 1) * list_words(h->m);
}
/* The distances beside list l of capacity cap (see "Link lists"). */
static float *dists_of(link_t *l, uint32_t cap) { return (float *)(void *)(l + 2 + cap); }
/* The shrink's marks beside them, one byte per link (see add_link). */
enum { LINK_NEW = 0, LINK_KEPT = 1, LINK_PRUNED = 2 };
static uint8_t *marks_of(link_t *l, uint32_t cap) { return (uint8_t *)(void *)(l + 2 + 2 * (size_t)cap); }
/* inv_norm is read only for cosine: for l2 / dot the node header (another
 * cache line than the vector) is not touched. */
static float inv_norm_at(const mw_hnsw *h, uint32_t id) {
  return h->metric == MW_METRIC_COSINE ? node_at(h, id)->inv_norm : 0.0f;
}
static float dist_nodes(const mw_hnsw *h, uint32_t a, uint32_t b) {
  return dist_pre(h->metric, vec_at(h, a), inv_norm_at(h, a), vec_at(h, b), inv_norm_at(h, b), h->dim);
}

/* Copies the links of `id` at `level` into out (room for m0), without a
 * lock (see the top comment); returns the count. */
static uint32_t copy_links(const mw_hnsw *h, uint32_t id, int level, uint32_t *out) {
  link_t *l;
  if (level == 0) { /* every node has one: its header (another cache line) is not read */
    l = list_of(h, id, NULL, 0);
  } else {
    hnsw_node *n = node_at(h, id);
    if (level > n->level) return 0;
    l = list_of(h, id, n, level);
  }
  uint32_t cap = level == 0 ? h->m0 : h->m;
  for (;;) {
    uint32_t s1 = atomic_load_explicit(&l[0], memory_order_acquire);
    if (s1 & 1) { /* a shrink is rewriting the list: wait for it */
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      continue;
    }
    uint32_t c = atomic_load_explicit(&l[1], memory_order_acquire);
    if (c > cap) c = cap;
    for (uint32_t i = 0; i < c; i++) out[i] = atomic_load_explicit(&l[2 + i], memory_order_acquire);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&l[0], memory_order_relaxed) == s1) return c;
  }
}

/* ------------------------------------------------------------------ heaps */

/* a is "less" than b: nearer, ties by id */
static inline bool cand_lt(cand a, cand b) { return a.d < b.d || (a.d == b.d && a.id < b.id); }

/* Min-heap (top = nearest) and max-heap (top = farthest) over cand arrays;
 * the caller guarantees room for one more element on push. */
static inline void minheap_push(cand *v, size_t *n, cand c) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!cand_lt(c, v[p])) break;
    v[i] = v[p];
    i = p;
  }
  v[i] = c;
}
static inline cand minheap_pop(cand *v, size_t *n) {
  cand top = v[0], last = v[--*n];
  size_t i = 0, cnt = *n;
  for (;;) {
    size_t l = 2 * i + 1, b = l;
    if (l >= cnt) break;
    if (l + 1 < cnt && cand_lt(v[l + 1], v[l])) b = l + 1;
    if (!cand_lt(v[b], last)) break;
    v[i] = v[b];
    i = b;
  }
  if (cnt) v[i] = last;
  return top;
}
static inline void maxheap_push(cand *v, size_t *n, cand c) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!cand_lt(v[p], c)) break;
    v[i] = v[p];
    i = p;
  }
  v[i] = c;
}
static inline cand maxheap_pop(cand *v, size_t *n) {
  cand top = v[0], last = v[--*n];
  size_t i = 0, cnt = *n;
  for (;;) {
    size_t l = 2 * i + 1, b = l;
    if (l >= cnt) break;
    if (l + 1 < cnt && cand_lt(v[l], v[l + 1])) b = l + 1;
    if (!cand_lt(last, v[b])) break;
    v[i] = v[b];
    i = b;
  }
  if (cnt) v[i] = last;
  return top;
}

#ifdef MW_HNSW_CHECK_SHRINK
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
#endif

/* ---------------------------------------------------------------- scratch */

static bool grow(void **p, size_t *cap, size_t need, size_t elem, size_t *bytes) {
  if (*cap >= need) return true;
  size_t nc = *cap ? *cap : 64;
  while (nc < need) nc *= 2;
  void *np = realloc(*p, nc * elem);
  if (!np) return false;
  *bytes += (nc - *cap) * elem;
  *p = np;
  *cap = nc;
  return true;
}

/* Borrows a scratch object with a visited array covering n_snap ids and
 * heaps for a beam of `ef`. NULL when out of memory. */
static hnsw_scratch *scratch_get(mw_hnsw *h, uint32_t n_snap, size_t ef) {
  pthread_mutex_lock(&h->pool_mu);
  hnsw_scratch *s = h->pool;
  if (s) h->pool = s->next;
  pthread_mutex_unlock(&h->pool_mu);
  if (!s) {
    s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->bytes = sizeof(*s);
    s->nbuf = malloc(h->m0 * sizeof(uint32_t));
    if (!s->nbuf) {
      free(s);
      return NULL;
    }
    s->bytes += h->m0 * sizeof(uint32_t);
    atomic_fetch_add(&h->mem, s->bytes);
  }
  size_t before = s->bytes, old_cap = s->stamp_cap;
  bool ok = true;
  if (s->stamp_cap < n_snap) {
    /* grow by at least a quarter so a growing index does not realloc per call */
    size_t want = (size_t)n_snap + n_snap / 4 + 1024;
    uint32_t *ns = realloc(s->stamp, want * sizeof(uint32_t));
    if (ns) {
      memset(ns + old_cap, 0, (want - old_cap) * sizeof(uint32_t));
      s->stamp = ns;
      s->stamp_cap = want;
      s->bytes += (want - old_cap) * sizeof(uint32_t);
    } else {
      ok = false;
    }
  }
  ok = ok && grow((void **)&s->res, &s->res_cap, ef + 2, sizeof(cand), &s->bytes) &&
       grow((void **)&s->eps, &s->eps_cap, ef + 2, sizeof(cand), &s->bytes) &&
       grow((void **)&s->sel, &s->sel_cap, ef + 2, sizeof(cand), &s->bytes) &&
       grow((void **)&s->cands, &s->cands_cap, ef + h->m0 + 2, sizeof(cand), &s->bytes);
  atomic_fetch_add(&h->mem, s->bytes - before);
  if (!ok) {
    pthread_mutex_lock(&h->pool_mu);
    s->next = h->pool;
    h->pool = s;
    pthread_mutex_unlock(&h->pool_mu);
    return NULL;
  }
  return s;
}

static void scratch_put(mw_hnsw *h, hnsw_scratch *s) {
  if (!s) return;
  pthread_mutex_lock(&h->pool_mu);
  s->next = h->pool;
  h->pool = s;
  pthread_mutex_unlock(&h->pool_mu);
}

static void scratch_free(hnsw_scratch *s) {
  free(s->stamp);
  free(s->cands);
  free(s->res);
  free(s->eps);
  free(s->sel);
  free(s->nbuf);
  free(s);
}

/* ---------------------------------------------------------------- search */

typedef struct search_ctx {
  mw_hnsw *h;
  const float *q;
  float q_inv;
  uint32_t n_snap;  /* ids >= this are ignored */
  hnsw_scratch *sc;
  size_t n_res;     /* elements of sc->res (a max-heap) after search_layer */
  mw_row_filter_fn filter;
  void *filter_ctx;
  uint32_t skip;    /* a node the walk treats as absent (MW_NO_NODE: none) */
} search_ctx;

static inline float dist_q(const search_ctx *s, uint32_t id) {
  const mw_hnsw *h = s->h;
  return dist_pre(h->metric, s->q, s->q_inv, vec_at(h, id), inv_norm_at(h, id), h->dim);
}

static inline bool keep(const search_ctx *s, uint32_t id) {
  return !s->filter || s->filter(s->filter_ctx, node_at(s->h, id)->row);
}

/* Starts loading n bytes from p, a cache line at a time. */
static inline void prefetch_bytes(const unsigned char *p, size_t n) {
#if defined(__GNUC__)
  for (size_t o = 0; o < n; o += 64) __builtin_prefetch(p + o);
#else
  (void)p;
  (void)n;
#endif
}

static inline void prefetch_vec(const mw_hnsw *h, uint32_t id) { prefetch_bytes(slot_at(h, id), h->vec_bytes); }

/* Starts loading the head of id's level-0 link list (seq, count, ids),
 * which sits after its vector in the slot and is read when id is expanded. */
static inline void prefetch_list0(const mw_hnsw *h, uint32_t id) {
  prefetch_bytes((const unsigned char *)list_of(h, id, NULL, 0), (2 + (size_t)h->m0) * sizeof(link_t));
}

/* Greedy walk at one level from *cur (distance *curd) to a local minimum. */
static void greedy(search_ctx *s, int level, uint32_t *cur, float *curd) {
  bool changed = true;
  while (changed) {
    changed = false;
    uint32_t c = copy_links(s->h, *cur, level, s->sc->nbuf);
    for (uint32_t i = 0; i < c; i++) {
      uint32_t e = s->sc->nbuf[i];
      if (e >= s->n_snap || e == s->skip) continue;
      float d = dist_q(s, e);
      if (d < *curd || (d == *curd && e < *cur)) {
        *cur = e;
        *curd = d;
        changed = true;
      }
    }
  }
}

/* Beam search (paper, algorithm 2) at `level` from the entry points eps;
 * leaves the best `ef` kept ones in sc->res (a max-heap of s->n_res).
 * sc has room for ef + 2 results and the candidate heap grows as needed. */
static bool search_layer(search_ctx *s, const cand *eps, size_t n_eps, size_t ef, int level) {
  hnsw_scratch *sc = s->sc;
  if (++sc->epoch == 0) { /* wrapped: forget every stamp */
    memset(sc->stamp, 0, sc->stamp_cap * sizeof(uint32_t));
    sc->epoch = 1;
  }
  const uint32_t ep = sc->epoch;
  uint32_t *stamp = sc->stamp;
  if (s->skip < s->n_snap) stamp[s->skip] = ep; /* never entered nor expanded */
  size_t nc = 0, nr = 0;
  for (size_t i = 0; i < n_eps; i++) {
    uint32_t id = eps[i].id;
    if (stamp[id] == ep) continue;
    stamp[id] = ep;
    if (nc + 1 > sc->cands_cap) {
      size_t b = 0;
      if (!grow((void **)&sc->cands, &sc->cands_cap, nc + 1, sizeof(cand), &b)) return false;
      sc->bytes += b;
      atomic_fetch_add(&s->h->mem, b);
    }
    minheap_push(sc->cands, &nc, eps[i]);
    if (keep(s, id)) {
      maxheap_push(sc->res, &nr, eps[i]);
      if (nr > ef) maxheap_pop(sc->res, &nr);
    }
  }
  while (nc) {
    cand c = minheap_pop(sc->cands, &nc);
    if (nr >= ef && c.d > sc->res[0].d) break;
    /* the next candidate is likely expanded next: load its list meanwhile */
    if (level == 0 && nc > 0) prefetch_list0(s->h, sc->cands[0].id);
    uint32_t nl = copy_links(s->h, c.id, level, sc->nbuf);
    /* drop visited / too new ids, then start loading the remaining
     * vectors before the first distance: the walk is bound by memory
     * latency as much as by flops */
    uint32_t nn = 0;
    /* without branches (whether a neighbour was visited is a coin toss
     * for the branch predictor): an id at or past n_snap reads and
     * rewrites stamp[0] unchanged */
    for (uint32_t i = 0; i < nl; i++) {
      uint32_t e = sc->nbuf[i];
      uint32_t ok = e < s->n_snap;
      uint32_t ix = ok ? e : 0;
      uint32_t st = stamp[ix];
      uint32_t fresh = ok & (st != ep);
      stamp[ix] = fresh ? ep : st;
      sc->nbuf[nn] = e;
      nn += fresh;
    }
    for (uint32_t i = 0; i < nn && i < 4; i++) prefetch_vec(s->h, sc->nbuf[i]);
    if (nc + nn > sc->cands_cap) {
      size_t b = 0;
      if (!grow((void **)&sc->cands, &sc->cands_cap, nc + nn, sizeof(cand), &b)) return false;
      sc->bytes += b;
      atomic_fetch_add(&s->h->mem, b);
    }
    for (uint32_t i = 0; i < nn; i++) {
      if (i + 4 < nn) prefetch_vec(s->h, sc->nbuf[i + 4]);
      uint32_t e = sc->nbuf[i];
      cand ce = {dist_q(s, e), e};
      if (nr < ef || cand_lt(ce, sc->res[0])) {
        minheap_push(sc->cands, &nc, ce);
        if (keep(s, e)) {
          maxheap_push(sc->res, &nr, ce);
          if (nr > ef) maxheap_pop(sc->res, &nr);
        }
      }
    }
  }
  s->n_res = nr;
  return true;
}

static bool ctx_init(search_ctx *s, mw_hnsw *h, const float *q, size_t ef) {
  memset(s, 0, sizeof(*s));
  s->h = h;
  s->q = q;
  s->q_inv = h->metric == MW_METRIC_COSINE ? inv_norm_of(q, h->dim) : 0;
  s->n_snap = (uint32_t)atomic_load(&h->n_reserved);
  if (s->n_snap > MW_HNSW_MAX_NODES) s->n_snap = MW_HNSW_MAX_NODES;
  s->skip = MW_NO_NODE;
  s->sc = scratch_get(h, s->n_snap, ef);
  return s->sc != NULL;
}

static void ctx_free(search_ctx *s) { scratch_put(s->h, s->sc); }

/* The heuristic's test: an element at distance d from the base is pruned
 * by a kept one at distance dk from it when dk < d (the paper's rule), and
 * a copy of the base (d 0) also by another copy (dk 0): otherwise copies of
 * a vector, never pruned, fill each other's lists and strand the rest
 * (test_duplicates). */
static inline bool dominated(float dk, float d) { return dk < d || (d == 0 && dk == 0); }

/* The heuristic of algorithm 4: walks `c` (sorted nearest first, distances
 * to the base point) and keeps an element only if it is nearer to the base
 * than to every element kept before it. Returns the count kept (<= max),
 * written to the front of c. */
static size_t select_heuristic(const mw_hnsw *h, cand *c, size_t n, size_t max) {
  size_t kept = 0;
  for (size_t i = 0; i < n && kept < max; i++) {
    bool good = true;
    for (size_t j = 0; j < kept && good; j++)
      if (dominated(dist_nodes(h, c[i].id, c[j].id), c[i].d)) good = false;
    if (good) c[kept++] = c[i];
  }
  return kept;
}

#ifdef MW_HNSW_CHECK_SHRINK
/* select_heuristic, then the pruned elements (still nearest first) fill
 * what is left of max. Returns the count written to the front of c. The
 * shrink in add_link computes the same incrementally; this full version
 * checks it in test_hnsw_shrink_check. */
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
#endif

/* Adds a link owner -> target at `level` (no-op if present); an overflowing
 * list is re-selected around its owner. Holds owner's mu (only writers
 * take it); readers see the release stores. */
static bool add_link(mw_hnsw *h, uint32_t owner, int level, uint32_t target, float d) {
  hnsw_node *n = node_at(h, owner);
  uint32_t cap = level == 0 ? h->m0 : h->m;
  bool ok = true;
  pthread_mutex_lock(node_mu(h, owner));
  link_t *l = list_of(h, owner, n, level);
  uint32_t c = atomic_load_explicit(&l[1], memory_order_relaxed);
  for (uint32_t i = 0; i < c; i++)
    if (atomic_load_explicit(&l[2 + i], memory_order_relaxed) == target) goto out;
  if (c < cap) { /* an append: id, then count; a reader sees either list */
    dists_of(l, cap)[c] = d;
    marks_of(l, cap)[c] = LINK_NEW;
    atomic_store_explicit(&l[2 + c], target, memory_order_release);
    atomic_store_explicit(&l[1], c + 1, memory_order_release);
    goto out;
  }
  /* a full list: shrink it around its owner, on the stored distances (no
   * vector is read for them) */
  const float *ld = dists_of(l, cap);
  cand buf[2 * MW_HNSW_DEFAULT_M + 1], *cs = buf;
  uint8_t mbuf[2 * MW_HNSW_DEFAULT_M + 1], *ms = mbuf;
  uint32_t xbuf[2 * MW_HNSW_DEFAULT_M + 1], *xs = xbuf;
  if (cap + 1 > sizeof(buf) / sizeof(buf[0])) {
    cs = malloc((cap + 1) * sizeof(cand));
    ms = malloc(cap + 1);
    xs = malloc((cap + 1) * sizeof(uint32_t));
    if (!cs || !ms || !xs) {
      ok = false;
      goto done;
    }
  }
  uint8_t *lm = marks_of(l, cap);
  for (uint32_t i = 0; i < c; i++) {
    cs[i] = (cand){ld[i], atomic_load_explicit(&l[2 + i], memory_order_relaxed)};
    ms[i] = lm[i];
  }
  cs[c] = (cand){d, target};
  ms[c] = LINK_NEW;
  /* nearest first; the list is sorted up to its appended tail, so this
   * insertion sort moves few elements */
  for (uint32_t i = 1; i <= c; i++) {
    cand x = cs[i];
    uint8_t xm = ms[i];
    uint32_t j = i;
    for (; j > 0 && cand_lt(x, cs[j - 1]); j--) {
      cs[j] = cs[j - 1];
      ms[j] = ms[j - 1];
    }
    cs[j] = x;
    ms[j] = xm;
  }
  /* The heuristic (select_heuristic) over the list and the target, then
   * the refill (select_heuristic_keep), computed incrementally from the
   * marks the last shrink left: KEPT links were kept by it, so none is
   * dominated by a nearer KEPT one, and a KEPT link is checked only
   * against the kept links that are not KEPT; a PRUNED link was dominated
   * by a nearer KEPT one, so it stays pruned without a distance as long as
   * every nearer KEPT link is still kept; NEW links (appended, the target,
   * or never examined) get the full check. Same result as the full
   * heuristic, ~2m distances instead of ~2m^2 when most links are kept. */
  size_t kept = 0, nx = 0; /* xs: indices of kept links that were not KEPT */
  bool kept_lost = false;
  uint32_t i = 0;
  for (; i <= c && kept < cap; i++) {
    bool good = true;
    if (ms[i] == LINK_KEPT) {
      for (size_t j = 0; j < nx && good; j++)
        if (dominated(dist_nodes(h, cs[i].id, cs[xs[j]].id), cs[i].d)) good = false;
    } else if (ms[i] == LINK_PRUNED && !kept_lost) {
      good = false;
    } else {
      for (uint32_t j = 0; j < i && good; j++)
        if (ms[j] == LINK_KEPT + 8 && dominated(dist_nodes(h, cs[i].id, cs[j].id), cs[i].d)) good = false;
    }
    if (good) {
      if (ms[i] != LINK_KEPT) xs[nx++] = i;
      ms[i] = LINK_KEPT + 8; /* kept by this shrink */
      kept++;
    } else {
      if (ms[i] == LINK_KEPT) kept_lost = true;
      ms[i] = LINK_PRUNED + 8;
    }
  }
  for (; i <= c; i++) ms[i] = LINK_NEW; /* not examined */
  /* the refill keeps every link not kept but the farthest one (c + 1
   * elements, cap places), nearest first */
  uint32_t drop = c;
  while (drop > 0 && ms[drop] == LINK_KEPT + 8) drop--;
#ifdef MW_HNSW_CHECK_SHRINK
  {
    cand *ref = malloc((c + 1) * sizeof(cand));
    if (!ref) abort();
    memcpy(ref, cs, (c + 1) * sizeof(cand));
    size_t rk = select_heuristic_keep(h, ref, c + 1, cap);
    size_t w2 = 0;
    for (uint32_t j = 0; j <= c; j++) {
      if (j == drop) continue;
      if (w2 >= rk || ref[w2].id != cs[j].id) break;
      w2++;
    }
    if (w2 != rk || w2 != c) {
      fprintf(stderr, "hnsw: incremental shrink of node %u differs from the full heuristic\n", owner);
      abort();
    }
    free(ref);
  }
#endif
  /* a rewrite in place: the sequence word is odd meanwhile, so readers
   * retry instead of copying a half old, half new list */
  uint32_t seq = atomic_load_explicit(&l[0], memory_order_relaxed);
  atomic_store_explicit(&l[0], seq + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  size_t w = 0;
  for (uint32_t j = 0; j <= c; j++) {
    if (j == drop) continue;
    dists_of(l, cap)[w] = cs[j].d;
    lm[w] = ms[j] >= 8 ? (uint8_t)(ms[j] - 8) : ms[j];
    atomic_store_explicit(&l[2 + w], cs[j].id, memory_order_release);
    w++;
  }
  atomic_store_explicit(&l[1], (uint32_t)w, memory_order_release);
  atomic_store_explicit(&l[0], seq + 2, memory_order_release);
done:
  if (cs != buf) {
    free(cs);
    free(ms);
    free(xs);
  }
out:
  pthread_mutex_unlock(node_mu(h, owner));
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
  h->vec_bytes = (size_t)h->dim * sizeof(float);
  h->stride = (h->vec_bytes + list_words(h->m0) * sizeof(link_t) + 63) / 64 * 64;
  h->dir = calloc(MW_HNSW_DIR_SIZE, sizeof(*h->dir));
  if (!h->dir) {
    free(h);
    return mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory");
  }
  pthread_mutex_init(&h->grow_mu, NULL);
  pthread_mutex_init(&h->entry_mu, NULL);
  pthread_mutex_init(&h->pool_mu, NULL);
  h->entry_node = MW_NO_NODE;
  h->top_level = -1;
  atomic_init(&h->n_reserved, 0);
  atomic_init(&h->n_ready, 0);
  atomic_init(&h->plan, 0);
  atomic_init(&h->calibrating, false);
  pthread_mutex_init(&h->cal_mu, NULL);
  h->cal_joinable = false;
  for (uint32_t i = 0; i < MW_HNSW_STRIPES; i++) pthread_mutex_init(&h->stripes[i], NULL);
  atomic_init(&h->mem, sizeof(*h) + MW_HNSW_DIR_SIZE * sizeof(*h->dir));
  *out = h;
  return MW_OK;
}

void mw_hnsw_free(mw_hnsw *h) {
  if (!h) return;
  /* a background calibration reads the graph: it ends first */
  pthread_mutex_lock(&h->cal_mu);
  if (h->cal_joinable) pthread_join(h->cal_thread, NULL);
  h->cal_joinable = false;
  pthread_mutex_unlock(&h->cal_mu);
  pthread_mutex_destroy(&h->cal_mu);
  for (size_t c = 0; c < MW_HNSW_DIR_SIZE; c++) {
    hnsw_chunk *ch = atomic_load(&h->dir[c]);
    if (!ch) continue;
    for (uint32_t i = 0; i < MW_HNSW_CHUNK; i++) {
      free(ch->nodes[i].upper);
    }
    free(ch->slots);
    free(ch);
  }
  while (h->pool) {
    hnsw_scratch *s = h->pool;
    h->pool = s->next;
    scratch_free(s);
  }
  free(h->dir);
  for (uint32_t i = 0; i < MW_HNSW_STRIPES; i++) pthread_mutex_destroy(&h->stripes[i]);
  pthread_mutex_destroy(&h->grow_mu);
  pthread_mutex_destroy(&h->entry_mu);
  pthread_mutex_destroy(&h->pool_mu);
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

static bool chunk_ensure(mw_hnsw *h, uint32_t c) {
  if (atomic_load_explicit(&h->dir[c], memory_order_acquire)) return true;
  pthread_mutex_lock(&h->grow_mu);
  if (!atomic_load_explicit(&h->dir[c], memory_order_relaxed)) {
    hnsw_chunk *ch = malloc(sizeof(hnsw_chunk));
    /* 2 MiB aligned, rounded up to 2 MiB and advised: the whole chunk
     * gets huge pages (the random walk's TLB misses on a small-page tail
     * cost more than the rounding; up to 2 MiB per 4096 nodes, counted) */
    size_t bytes = ((size_t)MW_HNSW_CHUNK * h->stride + MW_HUGE - 1) / MW_HUGE * MW_HUGE;
    void *mem = NULL;
    unsigned char *slots = ch && posix_memalign(&mem, MW_HUGE, bytes) == 0 ? mem : NULL;
    if (slots) {
#ifdef MADV_HUGEPAGE
      (void)madvise(slots, bytes, MADV_HUGEPAGE);
#endif
      memset(slots, 0, bytes); /* level-0 counts start at 0 */
      ch->slots = slots;
      for (uint32_t i = 0; i < MW_HNSW_CHUNK; i++) {
        ch->nodes[i].upper = NULL;
        ch->nodes[i].level = 0;
        atomic_init(&ch->nodes[i].ready, false);
      }
      atomic_fetch_add(&h->mem, sizeof(hnsw_chunk) + bytes);
      atomic_store_explicit(&h->dir[c], ch, memory_order_release);
    } else {
      free(ch);
    }
  }
  pthread_mutex_unlock(&h->grow_mu);
  return atomic_load_explicit(&h->dir[c], memory_order_acquire) != NULL;
}

/* The smallest and largest component; among equal ones (-0.0, +0.0) the
 * first, as a flat pass over many vectors keeps it (see
 * mw_hnsw_graph.vmin). Kept per node so a flush's SQ8 bounds over the
 * generation's surviving vectors are one pass over nodes, not over every
 * component (the insert has the vector in cache: a few hundred vector
 * instructions at 512-d, beside the ~ef_construction distances its search
 * computes). 8 bytes per node, in the chunk beside the headers. */
static void vec_bounds(const float *v, uint32_t dim, float *lo_out, float *hi_out) {
  float lo = INFINITY, hi = -INFINITY;
  for (uint32_t j = 0; j < dim; j++) {
    lo = v[j] < lo ? v[j] : lo;
    hi = v[j] > hi ? v[j] : hi;
  }
  *lo_out = lo;
  *hi_out = hi;
}

static mw_status insert_one(mw_hnsw *h, uint64_t row, const float *vec, mw_error *err) {
  uint32_t id = (uint32_t)atomic_fetch_add(&h->n_reserved, 1);
  if (id >= MW_HNSW_MAX_NODES) {
    atomic_fetch_sub(&h->n_reserved, 1);
    return mw_err(err, MW_ERR_INVALID, "hnsw: index full (%u nodes)", (unsigned)MW_HNSW_MAX_NODES);
  }
  uint32_t c = id >> MW_HNSW_CHUNK_BITS;
  if (!chunk_ensure(h, c)) return mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (chunk %u)", c);
  hnsw_node *n = node_at(h, id);
  int level = draw_level(h, id);
  n->row = row;
  n->level = (uint8_t)level;
  if (level > 0) {
    size_t words = (size_t)level * list_words(h->m);
    n->upper = malloc(words * sizeof(link_t));
    if (!n->upper) return mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (links of row %llu)", (unsigned long long)row);
    for (size_t i = 0; i < words; i++) atomic_init(&n->upper[i], 0);
    atomic_fetch_add(&h->mem, words * sizeof(link_t));
  }
  float *v = (float *)vec_at(h, id);
  memcpy(v, vec, h->vec_bytes);
  n->inv_norm = h->metric == MW_METRIC_COSINE ? inv_norm_of(v, h->dim) : 0;
  hnsw_chunk *ch = chunk_get(h, id);
  vec_bounds(v, h->dim, &ch->vmin[id & (MW_HNSW_CHUNK - 1)], &ch->vmax[id & (MW_HNSW_CHUNK - 1)]);
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
  if (!ctx_init(&s, h, v, h->ef_construction)) {
    st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (insert of row %llu)", (unsigned long long)row);
    goto done;
  }
  hnsw_scratch *sc = s.sc;
  uint32_t cur = ep;
  float curd = dist_q(&s, ep);
  for (int lc = top; lc > level; lc--) greedy(&s, lc, &cur, &curd);
  size_t n_eps = 1;
  sc->eps[0] = (cand){curd, cur};
  for (int lc = top < level ? top : level; lc >= 0; lc--) {
    if (!search_layer(&s, sc->eps, n_eps, h->ef_construction, lc)) {
      st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (insert of row %llu)", (unsigned long long)row);
      break;
    }
    n_eps = s.n_res;
    for (size_t i = n_eps; i > 0; i--) sc->eps[i - 1] = maxheap_pop(sc->res, &s.n_res); /* farthest first out */
    /* select on a copy: eps (all of W) seeds the next level */
    memcpy(sc->sel, sc->eps, n_eps * sizeof(cand));
    /* copies of the new vector (distance 0, ids ascending): the newest
     * first, so copies link in a chain the walk can follow (the oldest
     * copy's list fills up and would take no more reverse links) */
    size_t z = 0;
    while (z < n_eps && sc->sel[z].d == 0) z++;
    for (size_t a = 0, b = z; a + 1 < b; a++, b--) {
      cand t = sc->sel[a];
      sc->sel[a] = sc->sel[b - 1];
      sc->sel[b - 1] = t;
    }
    size_t kept = select_heuristic(h, sc->sel, n_eps, h->m);
    for (size_t i = 0; i < kept && st == MW_OK; i++) {
      if (sc->sel[i].id == id) continue;
      if (!add_link(h, id, lc, sc->sel[i].id, sc->sel[i].d) || !add_link(h, sc->sel[i].id, lc, id, sc->sel[i].d))
        st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (links of row %llu)", (unsigned long long)row);
    }
    if (st != MW_OK) break;
  }
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

static mw_status check_finite(uint64_t row, const float *vec, uint32_t dim, mw_error *err) {
  for (uint32_t i = 0; i < dim; i++)
    if (!isfinite(vec[i]))
      return mw_err(err, MW_ERR_INVALID, "hnsw: row %llu: component %u is not finite",
                    (unsigned long long)row, i);
  return MW_OK;
}

mw_status mw_hnsw_insert(mw_hnsw *h, uint64_t row, const float *vec, mw_error *err) {
  mw_status st = check_finite(row, vec, h->dim, err);
  return st != MW_OK ? st : insert_one(h, row, vec, err);
}

/* ------------------------------------------------------------ batch insert */

/* Shared state of one mw_hnsw_insert_batch call: `next` hands out rows;
 * mu guards st / err (the first failure); `stop` (atomic) tells the other
 * threads to start no further rows. */
typedef struct batch {
  mw_hnsw *h;
  const uint64_t *rows;
  const float *vecs;
  size_t n;
  atomic_size_t next;
  atomic_bool stop;
  pthread_mutex_t mu;
  mw_status st;
  mw_error err;
} batch;

static void *batch_worker(void *p) {
  batch *b = p;
  mw_error e = {0};
  while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
    size_t i = atomic_fetch_add(&b->next, 1);
    if (i >= b->n) break;
    mw_status st = insert_one(b->h, b->rows[i], b->vecs + i * b->h->dim, &e);
    if (st != MW_OK) {
      pthread_mutex_lock(&b->mu);
      if (b->st == MW_OK) {
        b->st = st;
        b->err = e;
      }
      pthread_mutex_unlock(&b->mu);
      atomic_store(&b->stop, true);
      break;
    }
  }
  return NULL;
}

mw_status mw_hnsw_insert_batch(mw_hnsw *h, const uint64_t *rows, const float *vecs, size_t n,
                               unsigned threads, mw_error *err) {
  if (n == 0) return MW_OK;
  if (!rows || !vecs) return mw_err(err, MW_ERR_INVALID, "hnsw: insert_batch of %zu rows without rows or vectors", n);
  for (size_t i = 0; i < n; i++) {
    mw_status st = check_finite(rows[i], vecs + i * h->dim, h->dim, err);
    if (st != MW_OK) return st;
  }
  if (threads == 0) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    threads = c > 0 ? (unsigned)c : 1;
  }
  if (threads > n) threads = (unsigned)n;
  if (threads > 256) threads = 256;
  batch b = {.h = h, .rows = rows, .vecs = vecs, .n = n, .st = MW_OK};
  atomic_init(&b.next, 0);
  atomic_init(&b.stop, false);
  pthread_mutex_init(&b.mu, NULL);
  pthread_t tids[256];
  unsigned started = 0;
  mw_status st = MW_OK;
  for (; started + 1 < threads; started++) /* the caller is the last worker */
    if (pthread_create(&tids[started], NULL, batch_worker, &b) != 0) {
      atomic_store(&b.stop, true);
      st = mw_err(err, MW_ERR_IO, "hnsw: insert_batch could not start thread %u of %u", started + 1, threads);
      break;
    }
  if (st == MW_OK) batch_worker(&b);
  for (unsigned i = 0; i < started; i++) pthread_join(tids[i], NULL);
  pthread_mutex_destroy(&b.mu);
  if (st != MW_OK) return st;
  if (b.st != MW_OK) {
    if (err) *err = b.err;
    return b.st;
  }
  return MW_OK;
}

/* --------------------------------------------------------------- queries */

static int hit_cmp(const void *a, const void *b) {
  const mw_hnsw_hit *x = a, *y = b;
  if (x->distance != y->distance) return x->distance < y->distance ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row ? 1 : 0;
}

/* The graph search: greedy descent, then a beam of ef at level 0; `skip`
 * is walked around as if absent (the calibration's held-out node). */
static mw_status graph_search(mw_hnsw_hit *hits, size_t *n_hits, mw_hnsw *h, const float *query, size_t k,
                              size_t ef, mw_row_filter_fn filter, void *filter_ctx, uint32_t skip,
                              mw_error *err) {
  *n_hits = 0;
  /* a beam wider than the index visits everything reachable, as a beam of
   * the index's size does: clamp, so a huge ef does not size the scratch */
  size_t n_now = (size_t)atomic_load(&h->n_reserved);
  if (ef > n_now) ef = n_now;
  if (ef < k) ef = k;
  pthread_mutex_lock(&h->entry_mu);
  uint32_t ep = h->entry_node;
  int top = h->top_level;
  pthread_mutex_unlock(&h->entry_mu);
  if (ep == MW_NO_NODE || ep == skip) return MW_OK;
  search_ctx s;
  mw_status st = MW_OK;
  if (!ctx_init(&s, h, query, ef)) {
    st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (search)");
    goto done;
  }
  s.filter = filter;
  s.filter_ctx = filter_ctx;
  s.skip = skip;
  uint32_t cur = ep;
  float curd = dist_q(&s, ep);
  for (int lc = top; lc > 0; lc--) greedy(&s, lc, &cur, &curd);
  cand e0 = {curd, cur};
  if (!search_layer(&s, &e0, 1, ef, 0)) {
    st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (search)");
    goto done;
  }
  /* pop farthest first into eps (room for ef + 2) so eps[0..n) is nearest first */
  size_t n = s.n_res;
  for (size_t i = n; i > 0; i--) s.sc->eps[i - 1] = maxheap_pop(s.sc->res, &s.n_res);
  size_t out = n < k ? n : k;
  /* the order by (distance, node id) can differ from (distance, row) only
   * among equal distances: take every hit tied with the last one kept,
   * then sort by (distance, row) */
  size_t take = out;
  while (take < n && s.sc->eps[take].d == s.sc->eps[out - 1].d) take++;
  mw_hnsw_hit small[64], *buf = take <= 64 ? small : malloc(take * sizeof(*buf));
  if (!buf) {
    st = mw_err(err, MW_ERR_NOMEM, "hnsw: out of memory (search)");
    goto done;
  }
  for (size_t i = 0; i < take; i++) buf[i] = (mw_hnsw_hit){node_at(h, s.sc->eps[i].id)->row, s.sc->eps[i].d};
  qsort(buf, take, sizeof(*buf), hit_cmp);
  memcpy(hits, buf, out * sizeof(*buf));
  *n_hits = out;
  if (buf != small) free(buf);
done:
  ctx_free(&s);
  return st;
}

static size_t default_beam(mw_hnsw *h, size_t k);

size_t mw_hnsw_default_ef(const mw_hnsw *h, size_t k) { return default_beam((mw_hnsw *)h, k); }

mw_status mw_hnsw_search(mw_hnsw_hit *hits, size_t *n_hits, const mw_hnsw *hc, const float *query,
                         size_t k, size_t ef, mw_row_filter_fn filter, void *filter_ctx,
                         mw_error *err) {
  mw_hnsw *h = (mw_hnsw *)hc; /* only the scratch pool and the plan (atomics) are written */
  *n_hits = 0;
  if (k == 0) return MW_OK;
  if (ef == 0) {
    ef = default_beam(h, k);
    if (ef == MW_HNSW_EF_EXACT) return mw_hnsw_search_exact(hits, n_hits, h, query, k, filter, filter_ctx, err);
  }
  return graph_search(hits, n_hits, h, query, k, ef, filter, filter_ctx, MW_NO_NODE, err);
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

/* ------------------------------------------------------ the default search
 *
 * ef 0 asks for the cheapest search that keeps recall@10 at or above
 * AUTO_TARGET on this index's own data (hnsw.h says why one fixed beam
 * cannot: uniform random 128-d vectors need a beam ~16x wider than
 * clustered ones for the same recall). Below AUTO_EXACT_BELOW nodes it is
 * the exact scan (it costs about one beam there). Above, the first default
 * search, and again each time the index has doubled since, calibrates:
 *   - AUTO_SAMPLES (64) nodes (a seeded draw, never the entry point) are held
 *     out: each one's vector is a query, and the node is walked around as
 *     if absent (its stamp is set before the walk), so the query meets the
 *     graph as a fresh vector of the same distribution would, not through
 *     its own links;
 *   - their exact top-10 (without themselves) come from one scan of every
 *     node against all samples;
 *   - beams ef_construction, 2x, 4x ... are tried in turn; the first whose
 *     measured recall@10 reaches AUTO_TARGET is the plan, unless its
 *     measured time per query already reaches AUTO_BEAM_SHARE (half) of
 *     one exact scan's (the best of three timed): then the exact scan is
 *     the plan (recall 1, not much slower); a beam is not tried when twice
 *     the previous one's time reaches that share (the beam's cost grows
 *     about linearly).
 * A beam stops being tried as soon as its misses exceed what the target
 * allows over all samples, so the beams that fail cost a few samples each.
 * How well held-out recall predicts that of fresh queries was measured on
 * one 100,000 x 128 uniform graph, six draws of 64 held-out nodes each
 * against 200 fresh queries: at ef 800 0.864-0.881 vs 0.872, at ef 1,600
 * 0.936-0.958 vs 0.948 (no bias, a spread of about +-0.01); across
 * graphs, one run estimated >= 0.97 at ef 1,600 where 100 fresh queries
 * got 0.946. So the target is 0.98 for the 0.95 promise; the estimate over
 * 64 x 10 neighbours has a standard error of ~0.007. For k > 10 the beam grows by
 * k / 10. The default search that finds the plan stale and wins
 * `calibrating` starts the calibration on a background thread (cal_mu,
 * cal_thread) and, like every search meanwhile, goes on with the previous
 * plan (before the first one: the exact scan), so no query waits for it
 * (it costs 30 ms of CPU at 20,000 x 128, 0.1-0.2 s at 100,000: README,
 * "The default search"). mw_hnsw_calibrate waits for it (tests, benches);
 * mw_hnsw_free joins a running one. The plan is one atomic word, so a
 * search reads a consistent (count, beam) pair. */
#define PLAN_EXACT UINT32_MAX
#define AUTO_EXACT_BELOW 2048u
#define AUTO_SAMPLES 64u
#define AUTO_K 10u
#define AUTO_TARGET 0.98
/* A beam is the plan only when it costs under this share of one exact
 * scan: a beam that saves less is not worth its lost recall, and a caller
 * pays more per beam than the bare walk timed here (the MemTable query
 * checks each kept node's liveness). Measured at 20,000 x 128 uniform: the
 * beam that reached the target (ef 800) took 0.76-0.80 ms, the exact scan
 * 0.68-0.74 ms, and through the MemTable query the beam took 2.3 ms. */
#define AUTO_BEAM_SHARE 0.5

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* max-heap of K cands: top = farthest kept */
static void top_push(cand *heap, size_t *n, size_t cap, cand c) {
  if (*n < cap) {
    maxheap_push(heap, n, c);
  } else if (cand_lt(c, heap[0])) {
    maxheap_pop(heap, n);
    maxheap_push(heap, n, c);
  }
}

/* Calibrates at the current size; returns the plan word (the exact scan
 * when memory runs out: slower, never wrong). */
static uint64_t calibrate(mw_hnsw *h) {
  uint32_t n_snap = (uint32_t)atomic_load(&h->n_reserved);
  if (n_snap > MW_HNSW_MAX_NODES) n_snap = MW_HNSW_MAX_NODES;
  uint64_t n_ready = atomic_load(&h->n_ready);
  if (n_ready > UINT32_MAX) n_ready = UINT32_MAX;
  uint64_t plan = (n_ready << 32) | PLAN_EXACT;
  pthread_mutex_lock(&h->entry_mu);
  uint32_t ep = h->entry_node;
  pthread_mutex_unlock(&h->entry_mu);
  const uint32_t dim = h->dim, S = AUTO_SAMPLES, K = AUTO_K;
  uint32_t ids[AUTO_SAMPLES];
  size_t ns = 0;
  for (uint64_t t = 0; ns < S && t < 8 * (uint64_t)S; t++) {
    uint32_t id = (uint32_t)(splitmix64(h->seed ^ (n_ready << 20) ^ (t * 0x9e3779b97f4a7c15ull)) % n_snap);
    if (id == ep || !chunk_get(h, id) ||
        !atomic_load_explicit(&node_at(h, id)->ready, memory_order_acquire))
      continue;
    bool dup = false;
    for (size_t j = 0; j < ns && !dup; j++) dup = ids[j] == id;
    if (!dup) ids[ns++] = id;
  }
  float *qinv = malloc(S * sizeof(float));
  cand *truth = malloc((size_t)S * K * sizeof(cand));
  size_t *nt = calloc(S, sizeof(size_t));
  uint64_t *trow = malloc((size_t)S * K * sizeof(uint64_t));
  mw_hnsw_hit hits[AUTO_K];
  if (ns < S / 2 || !qinv || !truth || !nt || !trow) goto done;
  for (size_t j = 0; j < ns; j++) qinv[j] = inv_norm_at(h, ids[j]);
  /* the truth: one pass over the nodes, every sample against each */
  for (uint32_t id = 0; id < n_snap; id++) {
    hnsw_chunk *ch = chunk_get(h, id);
    if (!ch) {
      id |= MW_HNSW_CHUNK - 1;
      continue;
    }
    if (!atomic_load_explicit(&ch->nodes[id & (MW_HNSW_CHUNK - 1)].ready, memory_order_acquire)) continue;
    const float *v = vec_at(h, id);
    float vin = inv_norm_at(h, id);
    for (size_t j = 0; j < ns; j++) {
      if (id == ids[j]) continue;
      cand c = {dist_pre(h->metric, vec_at(h, ids[j]), qinv[j], v, vin, dim), id};
      top_push(truth + j * K, &nt[j], K, c);
    }
  }
  for (size_t j = 0; j < ns; j++)
    for (size_t i = 0; i < nt[j]; i++) trow[j * K + i] = node_at(h, truth[j * K + i].id)->row;
  /* one exact scan's time: the best of three */
  double t_exact = 1e30;
  for (size_t j = 0; j < 3; j++) {
    size_t nh = 0;
    double t0 = mono_now();
    if (mw_hnsw_search_exact(hits, &nh, h, vec_at(h, ids[j]), K, NULL, NULL, NULL) != MW_OK) goto done;
    double dt = mono_now() - t0;
    if (dt < t_exact) t_exact = dt;
  }
  /* a beam fails as soon as its misses exceed what the target allows
   * (recall is judged over all samples, so no later sample can save it) */
  size_t total = 0;
  for (size_t j = 0; j < ns; j++) total += nt[j];
  const size_t allowed_miss = (size_t)((1.0 - AUTO_TARGET) * (double)total);
  size_t ef = h->ef_construction < K ? K : h->ef_construction;
  for (; ef < n_ready; ef *= 2) {
    size_t miss = 0, run = 0;
    double t0 = mono_now();
    for (size_t j = 0; j < ns && miss <= allowed_miss; j++, run++) {
      size_t nh = 0;
      if (graph_search(hits, &nh, h, vec_at(h, ids[j]), K, ef, NULL, NULL, ids[j], NULL) != MW_OK) goto done;
      for (size_t i = 0; i < nt[j]; i++) {
        bool hit = false;
        for (size_t a = 0; a < nh && !hit; a++) hit = hits[a].row == trow[j * K + i];
        miss += !hit;
      }
    }
    double per_query = (mono_now() - t0) / (double)run;
    if (per_query >= AUTO_BEAM_SHARE * t_exact) break;
    if (miss <= allowed_miss) {
      plan = (n_ready << 32) | (uint64_t)ef;
      break;
    }
    /* the next beam costs about twice this one: not tried when that
     * reaches the share of the scan's time */
    if (2 * per_query >= AUTO_BEAM_SHARE * t_exact) break;
  }
done:
  free(qinv);
  free(truth);
  free(nt);
  free(trow);
  return plan;
}

static void *cal_main(void *arg) {
  mw_hnsw *h = arg;
  atomic_store(&h->plan, calibrate(h));
  atomic_store(&h->calibrating, false);
  return NULL;
}

/* The plan word for a default search now. When the plan is stale (none
 * yet, or the index doubled since), the caller that wins `calibrating`
 * starts a calibration: on a background thread (wait = false: the search
 * goes on with the previous plan), or on its own thread (wait = true, or
 * when no thread can be started). wait = true also waits for one that
 * another caller started. */
static uint64_t plan_now(mw_hnsw *h, bool wait) {
  uint64_t n = atomic_load(&h->n_ready);
  uint64_t p = atomic_load(&h->plan);
  if (n < AUTO_EXACT_BELOW || (p != 0 && n < 2 * (p >> 32))) return p;
  bool idle = false;
  if (atomic_compare_exchange_strong(&h->calibrating, &idle, true)) {
    pthread_mutex_lock(&h->cal_mu);
    if (h->cal_joinable) pthread_join(h->cal_thread, NULL); /* the last one, done */
    h->cal_joinable = false;
    if (!wait && pthread_create(&h->cal_thread, NULL, cal_main, h) == 0) {
      h->cal_joinable = true;
      pthread_mutex_unlock(&h->cal_mu);
      return p;
    }
    pthread_mutex_unlock(&h->cal_mu);
    cal_main(h);
  } else if (wait) {
    while (atomic_load(&h->calibrating)) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
  }
  return atomic_load(&h->plan);
}

static size_t default_beam(mw_hnsw *h, size_t k) {
  if (atomic_load(&h->n_ready) < AUTO_EXACT_BELOW) return MW_HNSW_EF_EXACT;
  uint64_t p = plan_now(h, false);
  uint32_t ef = (uint32_t)p;
  if (p == 0 || ef == PLAN_EXACT) return MW_HNSW_EF_EXACT;
  size_t e = ef;
  if (k > AUTO_K) e = e * k / AUTO_K;
  return e < k ? k : e;
}

void mw_hnsw_calibrate(mw_hnsw *h) { (void)plan_now(h, true); }

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
  free(g->vmin);
  free(g->node_id);
  free(g->num);
  for (int l = 0; l < MW_HNSW_MAX_LEVEL; l++) {
    free(g->off[l]);
    free(g->nbr[l]);
    free(g->dist[l]);
  }
  memset(g, 0, sizeof(*g));
}

/* Two passes over the node ids: the first numbers the complete nodes and
 * counts links per level (links to incomplete nodes, which a failed insert
 * can leave, are dropped), the second copies them renumbered. Node locks
 * are still taken (cheap, and keeps a misuse from tearing a list). */
/* Node id's list at level l (nd = its node, its node_mu held), renumbered
 * through num (n_src entries; links to dropped nodes left out) with the
 * stored distances, at most max links, into ids / dists; returns the
 * count. Pass 2 of the export and mw_hnsw_graph_links both read lists so. */
static uint32_t read_list_locked(const mw_hnsw *h, uint32_t id, hnsw_node *nd, int l, const uint32_t *num,
                                 uint32_t n_src, uint32_t *ids, float *dists, uint32_t max) {
  link_t *ls = list_of(h, id, nd, l);
  uint32_t cap = l == 0 ? h->m0 : h->m;
  const float *ds = dists_of(ls, cap);
  uint32_t c = atomic_load_explicit(&ls[1], memory_order_relaxed), k = 0;
  if (c > cap) c = cap;
  for (uint32_t j = 0; j < c && k < max; j++) {
    uint32_t e = atomic_load_explicit(&ls[2 + j], memory_order_relaxed);
    if (e < n_src && num[e] != MW_NO_NODE) {
      dists[k] = ds[j];
      ids[k++] = num[e];
    }
  }
  return k;
}

static mw_status export_impl(mw_hnsw_graph *out, const mw_hnsw *h, bool links, mw_error *err) {
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
  out->vmin = malloc(2 * ((size_t)n + 1) * sizeof(float)); /* vmax: its second half */
  if (!out->rows || !out->levels || !out->vecs || !out->vmin) goto nomem;
  out->vmax = out->vmin + n + 1;
  if (!links) { /* nodes only: + the maps for mw_hnsw_graph_links */
    out->node_id = malloc(((size_t)n + 1) * sizeof(uint32_t));
    if (!out->node_id) goto nomem;
  }
  for (uint32_t id = 0; id < n_res; id++) {
    uint32_t i = newid[id];
    if (i == MW_NO_NODE) continue;
    hnsw_node *nd = node_at(h, id);
    out->rows[i] = nd->row;
    out->levels[i] = nd->level;
    out->vecs[i] = vec_at(h, id);
    const hnsw_chunk *ch = chunk_get(h, id);
    out->vmin[i] = ch->vmin[id & (MW_HNSW_CHUNK - 1)];
    out->vmax[i] = ch->vmax[id & (MW_HNSW_CHUNK - 1)];
    if (out->node_id) out->node_id[i] = id;
  }
  if (!links) {
    out->src = h;
    out->num = newid;
    out->n_src = n_res;
    newid = NULL;
    goto entry;
  }
  for (int l = 0; l < MW_HNSW_MAX_LEVEL; l++) {
    out->off[l] = calloc((size_t)n + 1, sizeof(uint32_t));
    if (!out->off[l]) goto nomem;
  }
  /* pass 1: per-node counts into off[l][i + 1] */
  for (uint32_t id = 0; id < n_res; id++) {
    uint32_t i = newid[id];
    if (i == MW_NO_NODE) continue;
    for (int l = 0; l <= out->levels[i]; l++) {
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
    out->dist[l] = malloc((total[l] ? total[l] : 1) * sizeof(float));
    if (!out->nbr[l] || !out->dist[l]) goto nomem;
  }
  /* pass 2: copy renumbered, with the stored distances; a list is re-read
   * under its node's lock and clipped to the counted length (equal unless
   * an insert ran, which the caller rules out) */
  for (uint32_t id = 0; id < n_res; id++) {
    uint32_t i = newid[id];
    if (i == MW_NO_NODE) continue;
    hnsw_node *nd = node_at(h, id);
    pthread_mutex_lock(node_mu(h, id));
    for (int l = 0; l <= out->levels[i]; l++) {
      uint32_t at = out->off[l][i], end = out->off[l][i + 1];
      at += read_list_locked(h, id, nd, l, newid, n_res, out->nbr[l] + at, out->dist[l] + at, end - at);
      while (at < end) { /* unreachable without a concurrent insert */
        out->dist[l][at] = 0;
        out->nbr[l][at++] = i;
      }
    }
    pthread_mutex_unlock(node_mu(h, id));
  }
entry:;
  const uint32_t *num = newid ? newid : out->num;
  pthread_mutex_lock((pthread_mutex_t *)&h->entry_mu);
  uint32_t ep = h->entry_node;
  int top = h->top_level;
  pthread_mutex_unlock((pthread_mutex_t *)&h->entry_mu);
  if (n > 0) {
    if (ep == MW_NO_NODE || ep >= n_res || num[ep] == MW_NO_NODE) {
      /* the first node's insert failed after it became the entry: pick the
       * highest complete node (ties: lowest id) */
      uint32_t best = 0;
      for (uint32_t i = 1; i < n; i++)
        if (out->levels[i] > out->levels[best]) best = i;
      out->entry = best;
      out->top_level = out->levels[best];
    } else {
      out->entry = num[ep];
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

mw_status mw_hnsw_export(mw_hnsw_graph *out, const mw_hnsw *h, mw_error *err) {
  return export_impl(out, h, true, err);
}

mw_status mw_hnsw_export_nodes(mw_hnsw_graph *out, const mw_hnsw *h, mw_error *err) {
  return export_impl(out, h, false, err);
}

/* One list read as pass 2 of the export reads it (under the node's lock,
 * links to dropped nodes left out). */
uint32_t mw_hnsw_graph_links(const mw_hnsw_graph *g, uint32_t i, uint32_t l, uint32_t *ids, float *dists) {
  const mw_hnsw *h = g->src;
  if (!h || i >= g->n_nodes || l > g->levels[i]) return 0;
  uint32_t id = g->node_id[i];
  hnsw_node *nd = node_at(h, id);
  pthread_mutex_lock(node_mu(h, id));
  uint32_t k = read_list_locked(h, id, nd, (int)l, g->num, g->n_src, ids, dists, l == 0 ? h->m0 : h->m);
  pthread_mutex_unlock(node_mu(h, id));
  return k;
}
