/* memtable_query.c - one query (mw_query, memwal.h) over a list of
 * MemTables: filtered scan, point lookup, vector k-NN, full-text search.
 *
 * Design. A query runs in three steps, all outside the MemTables' locks
 * except for the snapshot:
 *  1. Snapshot: per MemTable, under its mutex, a reference on every batch
 *     that holds visible rows (the caller passes each MemTable's visibility
 *     cursor, mw_memtable_visible_rows: a prefix of its rows). The
 *     snapshot's rows are numbered globally (MemTables oldest first, batches
 *     in order); a MemTable row id r of MemTable m is global row base[m] + r.
 *  2. Candidates: `alive` marks the newest visible row of each primary key
 *     that is not a tombstone (mw_mt_mark_latest, one pass from the newest
 *     row back); the filter (query/filter.h, evaluated a batch at a time)
 *     adds `keep`. Then per kind:
 *       scan    every alive & keep row in order;
 *       lookup  the query keys are encoded (pk_index.h) into a hash table;
 *               one pass over the alive rows finds each key's row;
 *       k-NN    with an HNSW index of the column and metric, no filter and
 *               ef != MW_EF_EXACT: each MemTable's graph is searched with a
 *               row filter (visible & alive), results merged by distance;
 *               otherwise exact: the distance of every keep row, the
 *               k nearest kept in a bounded heap, liveness checked only
 *               for a row that would enter it (also for ef 0 when a
 *               graph's calibrated default search is its exact scan:
 *               hnsw.h);
 *       FTS     each MemTable's FTS index searched with the same row filter
 *               and corpus statistics summed over the MemTables.
 *  3. Output: an ArrowArrayStream whose batches are materialised lazily in
 *     get_next: runs of consecutive rows of a scan are zero-copy views;
 *     ranked rows (lookup, k-NN, FTS) are gathered per run of rows of the
 *     same batch with mw_array_take, plus the `_distance` / `_score`
 *     column. The stream owns its batch references: it outlives the
 *     MemTables and the writer.
 * Ties (equal distance or score) go by global row, i.e. insertion order. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/take.h"
#include "common/error.h"
#include "index/fts.h"
#include "index/fts_tokenizer.h"
#include "index/hnsw.h"
#include "lance/pk_index.h"
#include "memtable/memtable_internal.h"
#include "query/filter.h"

/* ------------------------------------------------------------ snapshot */

typedef struct q_snap {
  mw_holder **held;
  int64_t *len;   /* visible rows of each holder */
  uint64_t *g0;   /* global row of each holder's row 0 */
  size_t n_held, cap;
  uint64_t total;
  uint64_t *base; /* per MemTable: global row of its row 0 */
  size_t *h0;     /* per MemTable: its first holder */
  size_t n_mts;
} q_snap;

static void snap_free(q_snap *s) {
  for (size_t i = 0; i < s->n_held; i++) mw_holder_unref(s->held[i]);
  free(s->held);
  free(s->len);
  free(s->g0);
  free(s->base);
  free(s->h0);
  memset(s, 0, sizeof *s);
}

static mw_status snap_take(q_snap *s, mw_memtable *const *mts, const uint64_t *visible, size_t n,
                           mw_error *err) {
  memset(s, 0, sizeof *s);
  s->base = calloc(n + 1, sizeof *s->base);
  s->h0 = calloc(n + 1, sizeof *s->h0);
  s->n_mts = n;
  if (!s->base || !s->h0) return mw_err(err, MW_ERR_NOMEM, "query: out of memory");
  for (size_t m = 0; m < n; m++) {
    mw_memtable *mt = mts[m];
    s->base[m] = s->total;
    s->h0[m] = s->n_held;
    pthread_mutex_lock(&mt->mu);
    uint64_t v = visible[m] < mt->rows ? visible[m] : mt->rows;
    size_t need = s->n_held + mt->n_batches;
    if (need > s->cap) {
      size_t nc = s->cap ? s->cap * 2 : 16;
      while (nc < need) nc *= 2;
      mw_holder **a = realloc(s->held, nc * sizeof *a);
      if (a) s->held = a;
      int64_t *b = a ? realloc(s->len, nc * sizeof *b) : NULL;
      if (b) s->len = b;
      uint64_t *c = b ? realloc(s->g0, nc * sizeof *c) : NULL;
      if (c) s->g0 = c;
      if (!c) {
        pthread_mutex_unlock(&mt->mu);
        return mw_err(err, MW_ERR_NOMEM, "query: out of memory");
      }
      s->cap = nc;
    }
    for (size_t b = 0; b < mt->n_batches && mt->batches[b]->first_row < v; b++) {
      mw_holder *h = mt->batches[b];
      mw_holder_ref(h);
      uint64_t end = h->first_row + (uint64_t)h->array.length;
      s->held[s->n_held] = h;
      s->len[s->n_held] = (int64_t)((end <= v ? end : v) - h->first_row);
      s->g0[s->n_held] = s->total + h->first_row;
      s->n_held++;
    }
    pthread_mutex_unlock(&mt->mu);
    s->total += v;
  }
  s->base[n] = s->total;
  s->h0[n] = s->n_held;
  return MW_OK;
}

/* Holder index of a global row (binary search). */
static size_t snap_holder(const q_snap *s, uint64_t g) {
  size_t lo = 0, hi = s->n_held;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (s->g0[mid] <= g) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* ------------------------------------------------------------ output */

typedef struct q_seg {
  mw_holder *h;   /* referenced by the snapshot the state keeps */
  int64_t start;  /* view mode: first row */
  int64_t len;    /* rows */
  size_t first;   /* take mode: index into rows / scores */
  bool take;
} q_seg;

typedef struct q_state {
  mw_mt_stream_base b;            /* first: the shared stream callbacks; schema = the output schema */
  q_snap snap;
  struct ArrowSchema proj_schema; /* projected columns only (owned) */
  int64_t *proj;
  int64_t n_proj;
  bool has_extra;
  q_seg *segs;
  size_t n_segs, cap_segs, next;
  int64_t *rows; /* take mode: local rows */
  float *scores;
  size_t n_rows, cap_rows;
} q_state;

static void state_free(void *state) {
  q_state *s = state;
  if (!s) return;
  snap_free(&s->snap);
  mw_schema_release(&s->b.schema);
  mw_schema_release(&s->proj_schema);
  free(s->proj);
  free(s->segs);
  free(s->rows);
  free(s->scores);
  free(s);
}

static bool seg_push(q_state *s, q_seg g) {
  if (s->n_segs == s->cap_segs) {
    size_t nc = s->cap_segs ? s->cap_segs * 2 : 16;
    q_seg *p = realloc(s->segs, nc * sizeof *p);
    if (!p) return false;
    s->segs = p;
    s->cap_segs = nc;
  }
  s->segs[s->n_segs++] = g;
  return true;
}

/* View mode: appends row r of h (merging with the previous run). */
static bool add_view_row(q_state *s, mw_holder *h, int64_t r) {
  if (s->n_segs > 0) {
    q_seg *l = &s->segs[s->n_segs - 1];
    if (!l->take && l->h == h && l->start + l->len == r) {
      l->len++;
      return true;
    }
  }
  return seg_push(s, (q_seg){h, r, 1, 0, false});
}

/* Take mode: appends row r of h with a score (grouping rows of the same
 * batch that follow each other in the result). */
static bool add_take_row(q_state *s, mw_holder *h, int64_t r, float score) {
  if (s->n_rows == s->cap_rows) {
    size_t nc = s->cap_rows ? s->cap_rows * 2 : 16;
    int64_t *a = realloc(s->rows, nc * sizeof *a);
    if (!a) return false;
    s->rows = a;
    float *b = realloc(s->scores, nc * sizeof *b);
    if (!b) return false;
    s->scores = b;
    s->cap_rows = nc;
  }
  s->rows[s->n_rows] = r;
  s->scores[s->n_rows] = score;
  s->n_rows++;
  if (s->n_segs > 0) {
    q_seg *l = &s->segs[s->n_segs - 1];
    if (l->take && l->h == h) {
      l->len++;
      return true;
    }
  }
  return seg_push(s, (q_seg){h, 0, 1, s->n_rows - 1, true});
}

/* A struct array = a taken batch + one float32 column. */
typedef struct extra_priv {
  struct ArrowArray taken;
  struct ArrowArray *children_store; /* the float column node */
  struct ArrowArray **children;
  float *values;
  const void *fbuf[2]; /* the float column's buffers: no validity, values */
} extra_priv;

static void extra_child_release(struct ArrowArray *a) { a->release = NULL; }

static void extra_release(struct ArrowArray *a) {
  extra_priv *p = a->private_data;
  if (p) {
    if (p->taken.release) p->taken.release(&p->taken);
    free(p->children_store);
    free(p->children);
    free(p->values);
    free(p);
  }
  a->release = NULL;
}

static int st_get_next(struct ArrowArrayStream *stream, struct ArrowArray *out) {
  q_state *s = stream->private_data;
  memset(out, 0, sizeof *out);
  if (s->next >= s->n_segs) return 0; /* end: release == NULL */
  q_seg *g = &s->segs[s->next];
  if (!g->take) {
    if (!mw_view_make(out, g->h, g->start, g->len, s->proj, s->n_proj)) {
      snprintf(s->b.error, sizeof s->b.error, "query: out of memory");
      return ENOMEM;
    }
    s->next++;
    return 0;
  }
  struct ArrowArray view, taken;
  if (!mw_view_make(&view, g->h, 0, g->h->array.length, s->proj, s->n_proj)) {
    snprintf(s->b.error, sizeof s->b.error, "query: out of memory");
    return ENOMEM;
  }
  mw_error e = {0};
  mw_status st = mw_array_take(&taken, &s->proj_schema, &view, s->rows + g->first, g->len, &e);
  view.release(&view);
  if (st != MW_OK) {
    snprintf(s->b.error, sizeof s->b.error, "query: %.480s", e.message);
    return st == MW_ERR_NOMEM ? ENOMEM : EINVAL;
  }
  if (!s->has_extra) {
    *out = taken;
    s->next++;
    return 0;
  }
  extra_priv *p = calloc(1, sizeof *p);
  int64_t nc = taken.n_children + 1;
  if (p) {
    p->children = calloc((size_t)nc, sizeof *p->children);
    p->children_store = calloc(1, sizeof *p->children_store);
    p->values = malloc((size_t)(g->len ? g->len : 1) * sizeof(float));
  }
  if (!p || !p->children || !p->children_store || !p->values) {
    if (p) {
      free(p->children);
      free(p->children_store);
      free(p->values);
      free(p);
    }
    taken.release(&taken);
    snprintf(s->b.error, sizeof s->b.error, "query: out of memory");
    return ENOMEM;
  }
  memcpy(p->values, s->scores + g->first, (size_t)g->len * sizeof(float));
  p->taken = taken;
  for (int64_t i = 0; i < taken.n_children; i++) p->children[i] = taken.children[i];
  struct ArrowArray *f = p->children_store;
  p->fbuf[0] = NULL;
  p->fbuf[1] = p->values;
  *f = (struct ArrowArray){.length = g->len, .null_count = 0, .offset = 0, .n_buffers = 2, .n_children = 0,
                           .buffers = p->fbuf, .release = extra_child_release};
  p->children[nc - 1] = f;
  *out = (struct ArrowArray){.length = g->len, .null_count = 0, .offset = 0, .n_buffers = 1,
                             .n_children = nc, .buffers = taken.buffers, .children = p->children,
                             .release = extra_release, .private_data = p};
  s->next++;
  return 0;
}

/* ------------------------------------------------------------ helpers */

typedef struct q_hit {
  uint64_t g; /* global row */
  float v;    /* distance or score */
} q_hit;

static int cmp_dist(const void *a, const void *b) {
  const q_hit *x = a, *y = b;
  /* NaN last */
  bool xn = isnan(x->v), yn = isnan(y->v);
  if (xn != yn) return xn ? 1 : -1;
  if (!xn && x->v != y->v) return x->v < y->v ? -1 : 1;
  return (x->g > y->g) - (x->g < y->g);
}

static int cmp_score(const void *a, const void *b) {
  const q_hit *x = a, *y = b;
  if (x->v != y->v) return x->v > y->v ? -1 : 1;
  return (x->g > y->g) - (x->g < y->g);
}

/* Document frequencies of the query's tokens summed over the MemTables'
 * FTS indexes, computed before searching: mw_fts_search calls doc_freq with
 * its own index locked, so the callback must not lock another index (two
 * read locks taken in opposite orders deadlock behind a waiting writer). */
typedef struct fts_sum {
  mw_fts_tokens toks;
  uint64_t *df;
} fts_sum;

static uint64_t fts_sum_df(void *ctx, const char *tok, size_t len) {
  const fts_sum *s = ctx;
  for (size_t i = 0; i < s->toks.n; i++)
    if (s->toks.v[i].len == len && memcmp(s->toks.text + s->toks.v[i].offset, tok, len) == 0) return s->df[i];
  return 0;
}

static mw_status fts_sum_init(fts_sum *s, mw_fts *const *fs, size_t n, const char *text, mw_error *err) {
  memset(s, 0, sizeof *s);
  mw_fts_tokenizer *tk = NULL;
  MW_TRY(mw_fts_tokenizer_create(&tk, err));
  mw_status st = mw_fts_tokenize(&s->toks, tk, text, strlen(text), err);
  mw_fts_tokenizer_free(tk);
  if (st != MW_OK) return st;
  s->df = calloc(s->toks.n ? s->toks.n : 1, sizeof *s->df);
  if (!s->df) return mw_err(err, MW_ERR_NOMEM, "query: out of memory");
  for (size_t i = 0; i < s->toks.n; i++)
    for (size_t j = 0; j < n; j++)
      s->df[i] += mw_fts_doc_freq(fs[j], s->toks.text + s->toks.v[i].offset, s->toks.v[i].len);
  return MW_OK;
}

static void fts_sum_free(fts_sum *s) {
  mw_fts_tokens_free(&s->toks);
  free(s->df);
}

/* The float vector of row r of holder h's column col (NULL when null). */
static const float *row_vector(const mw_holder *h, int64_t col, int32_t dim, int64_t r) {
  const struct ArrowArray *root = &h->array;
  const void *rv = (root->null_count != 0 && root->n_buffers > 0) ? root->buffers[0] : NULL;
  int64_t p = root->offset + r;
  if (!mw_bit_get(rv, p)) return NULL;
  const struct ArrowArray *c = root->children[col];
  const void *cv = (c->null_count != 0 && c->n_buffers > 0) ? c->buffers[0] : NULL;
  if (!mw_bit_get(cv, c->offset + p)) return NULL;
  const struct ArrowArray *items = c->children[0];
  return (const float *)items->buffers[1] + items->offset + (c->offset + p) * dim;
}

/* Max-heap (by cmp_dist: top = the worst) sift-down and sift-up. */
static void heap_down_max(q_hit *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && cmp_dist(&h[l], &h[m]) > 0) m = l;
    if (r < n && cmp_dist(&h[r], &h[m]) > 0) m = r;
    if (m == i) return;
    q_hit t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}
static void heap_up_max(q_hit *h, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (cmp_dist(&h[i], &h[p]) <= 0) return;
    q_hit t = h[i];
    h[i] = h[p];
    h[p] = t;
    i = p;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The BTree's help for a filtered scan: the global rows (ascending) that
 * one index term of the filter selects in every MemTable of the snapshot
 * (a superset of the rows passing the filter). *used = false when no term
 * has a BTree index covering the snapshot's rows, or when the candidates
 * exceed a quarter of the rows (a full pass is then cheaper). */
static mw_status btree_candidates(uint64_t **out, size_t *n_out, bool *used, mw_memtable *const *mts,
                                  const q_snap *sn, const mw_bound_filter *bf, mw_error *err) {
  *out = NULL;
  *n_out = 0;
  *used = false;
  const mw_filter_term *terms = NULL;
  size_t n_terms = mw_filter_index_terms(bf, &terms);
  for (size_t t = 0; t < n_terms; t++) {
    const mw_filter_term *term = &terms[t];
    /* a lower and an upper bound on the same column make one range */
    const mw_filter_term *upper = NULL;
    if (!term->none && !term->in && (term->op == MW_FILTER_GE || term->op == MW_FILTER_GT))
      for (size_t u = 0; u < n_terms && !upper; u++)
        if (u != t && terms[u].column == term->column && !terms[u].none && !terms[u].in &&
            (terms[u].op == MW_FILTER_LE || terms[u].op == MW_FILTER_LT))
          upper = &terms[u];
    size_t xi = SIZE_MAX;
    for (size_t i = 0; i < mts[0]->n_idx; i++)
      if (mts[0]->idx[i].kind == MW_INDEX_BTREE && mts[0]->idx[i].col == (int64_t)term->column) xi = i;
    if (xi == SIZE_MAX) continue;
    uint64_t *rows = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;
    for (size_t m = 0; m < sn->n_mts && ok; m++) {
      mw_memtable *mt = mts[m];
      uint64_t span = sn->base[m + 1] - sn->base[m];
      pthread_mutex_lock(&mt->mu);
      mw_mt_index *x = &mt->idx[xi];
      if (x->indexed_rows < span) ok = false; /* the tree does not cover the snapshot */
      size_t nv = term->none ? 0 : term->in ? term->n_values : 1;
      for (size_t v = 0; ok && v < nv; v++) {
        uint64_t *ids = NULL;
        size_t n_ids = 0;
        mw_status st = upper ? mw_btree_lookup_range(&ids, &n_ids, x->tree, &term->value, term->op == MW_FILTER_GT,
                                                     &upper->value, upper->op == MW_FILTER_LT, err)
                             : mw_btree_lookup(&ids, &n_ids, x->tree, term->in ? MW_FILTER_EQ : term->op,
                                               term->in ? &term->values[v] : &term->value, err);
        if (st != MW_OK) {
          pthread_mutex_unlock(&mt->mu);
          free(rows);
          return st;
        }
        for (size_t i = 0; ok && i < n_ids; i++) {
          if (ids[i] >= span) continue;
          if (n == cap) {
            cap = cap ? cap * 2 : 256;
            uint64_t *p = realloc(rows, cap * sizeof *p);
            if (!p) {
              free(ids);
              pthread_mutex_unlock(&mt->mu);
              free(rows);
              return mw_err(err, MW_ERR_NOMEM, "query: out of memory");
            }
            rows = p;
          }
          rows[n++] = sn->base[m] + ids[i];
        }
        free(ids);
        if (n > sn->total / 4 + 16) ok = false;
      }
      pthread_mutex_unlock(&mt->mu);
    }
    if (!ok) {
      free(rows);
      continue;
    }
    qsort(rows, n, sizeof *rows, cmp_u64);
    *out = rows;
    *n_out = n;
    *used = true;
    return MW_OK;
  }
  return MW_OK;
}

/* Liveness on demand through the MemTables' primary-key maps (lookup,
 * HNSW and FTS queries touch few rows: no full pass). cache[g]: 0 unknown,
 * 1 dead, 2 alive. A row is alive when it is the newest row of its key
 * below its MemTable's cursor, no newer MemTable has a visible row of the
 * key, and it is not a tombstone. */
typedef struct q_live {
  mw_memtable *const *mts;
  const uint64_t *visible;
  const q_snap *snap;
  const mw_pk *pk;
  int64_t tomb_col;
  uint8_t *cache;
  mw_buf tmp;
} q_live;

static bool live_row(q_live *L, size_t m, uint64_t row) {
  const q_snap *sn = L->snap;
  if (row >= sn->base[m + 1] - sn->base[m]) return false;
  uint64_t g = sn->base[m] + row;
  if (L->cache[g]) return L->cache[g] == 2;
  size_t b = snap_holder(sn, g);
  const mw_holder *h = sn->held[b];
  int64_t r = (int64_t)(g - sn->g0[b]);
  L->tmp.len = 0;
  mw_pk_encode(&L->tmp, L->pk, &h->array, r);
  bool alive = mw_buf_ok(&L->tmp);
  uint64_t hash = mw_mt_pk_hash(L->tmp.data, L->tmp.len);
  for (size_t j = sn->n_mts; alive && j-- > m + 1;)
    alive = mw_mt_pk_newest(L->mts[j], L->tmp.data, L->tmp.len, hash, sn->base[j + 1] - sn->base[j]) == MW_MT_NO_ROW;
  if (alive) alive = mw_mt_pk_newest(L->mts[m], L->tmp.data, L->tmp.len, hash, sn->base[m + 1] - sn->base[m]) == row;
  if (alive) alive = !mw_mt_row_is_tomb(&h->array, L->tomb_col, r);
  L->cache[g] = alive ? 2 : 1;
  return alive;
}

typedef struct live_filter {
  q_live *L;
  size_t m;
  const uint8_t *keep; /* NULL = no filter */
} live_filter;

static bool live_row_ok(void *ctx, uint64_t row) {
  live_filter *f = ctx;
  if (!live_row(f->L, f->m, row)) return false;
  return !f->keep || f->keep[f->L->snap->base[f->m] + row];
}

/* ------------------------------------------------------------ the query */

mw_status mw_memtable_query(struct ArrowArrayStream *out, mw_memtable *const *mts, const uint64_t *visible,
                            size_t n_mts, const mw_query *q, const char *const *def_cols, size_t n_def_cols,
                            mw_error *err) {
  memset(out, 0, sizeof *out);
  if (!q) return mw_err(err, MW_ERR_INVALID, "query: q is NULL");
  if (n_mts == 0 || !mts) return mw_err(err, MW_ERR_INVALID, "query: no MemTables");
  const mw_memtable *m0 = mts[0];
  const struct ArrowSchema *sch = &m0->schema;
  bool lookup = q->keys != NULL || q->keys_schema != NULL;
  bool knn = q->nearest_column != NULL || q->vector != NULL;
  bool fts = q->fts_column != NULL || q->fts_text != NULL;
  if ((int)lookup + (int)knn + (int)fts > 1)
    return mw_err(err, MW_ERR_INVALID, "query: set only one of keys (lookup), nearest_column (k-NN) and fts_column (full-text)");
  if (lookup && (!q->keys || !q->keys_schema))
    return mw_err(err, MW_ERR_INVALID, "query: a point lookup needs both keys and keys_schema");
  if (knn && (!q->nearest_column || !q->vector))
    return mw_err(err, MW_ERR_INVALID, "query: a k-NN query needs both nearest_column and vector");
  if (fts && (!q->fts_column || !q->fts_text))
    return mw_err(err, MW_ERR_INVALID, "query: a full-text query needs both fts_column and fts_text");
  if ((knn || fts) && q->k == 0) return mw_err(err, MW_ERR_INVALID, "query: k must be >= 1");
  if (q->n_columns > 0 && !q->columns) return mw_err(err, MW_ERR_INVALID, "query: columns is NULL");

  mw_pk pk = {0};
  MW_TRY(mw_pk_resolve(&pk, sch, NULL, 0, err));
  if (pk.n == 0) return mw_err(err, MW_ERR_INVALID, "query: the schema has no primary key");
  int64_t tomb_col = mw_mt_tomb_col(sch);

  /* Kind-specific checks before any work. */
  int64_t vcol = -1, tcol = -1;
  int32_t dim = 0;
  const char *hnsw_name = NULL, *fts_name = NULL;
  size_t n_cfg = 0;
  const mw_index_config *cfg = mw_memtable_index_configs(m0, &n_cfg);
  if (knn) {
    vcol = mw_mt_column(m0, q->nearest_column);
    if (vcol < 0) return mw_err(err, MW_ERR_INVALID, "query: unknown vector column '%s'", q->nearest_column);
    const mw_type *t = &m0->types[vcol];
    const struct ArrowSchema *f = sch->children[vcol];
    if (t->id != MW_T_FIXED_SIZE_LIST || f->n_children != 1 || strcmp(f->children[0]->format, "f") != 0)
      return mw_err(err, MW_ERR_INVALID, "query: column '%s' is not a fixed_size_list<float32> vector column",
                    q->nearest_column);
    dim = t->width;
    if ((int64_t)q->dim != dim)
      return mw_err(err, MW_ERR_INVALID, "query: the query vector has %u dimensions, column '%s' has %d", q->dim,
                    q->nearest_column, dim);
    for (uint32_t d = 0; d < q->dim; d++)
      if (!isfinite(q->vector[d]))
        return mw_err(err, MW_ERR_INVALID, "query: the query vector's component %u is not finite", d);
    if ((int)q->metric < MW_METRIC_L2 || (int)q->metric > MW_METRIC_DOT)
      return mw_err(err, MW_ERR_INVALID, "query: unknown metric %d", (int)q->metric);
    for (size_t i = 0; i < n_cfg; i++)
      if (cfg[i].kind == MW_INDEX_HNSW && strcmp(cfg[i].column, q->nearest_column) == 0 &&
          cfg[i].metric == q->metric)
        hnsw_name = cfg[i].name;
  }
  if (fts) {
    tcol = mw_mt_column(m0, q->fts_column);
    if (tcol < 0) return mw_err(err, MW_ERR_INVALID, "query: unknown text column '%s'", q->fts_column);
    for (size_t i = 0; i < n_cfg; i++)
      if (cfg[i].kind == MW_INDEX_FTS && strcmp(cfg[i].column, q->fts_column) == 0) fts_name = cfg[i].name;
    if (!fts_name)
      return mw_err(err, MW_ERR_INVALID,
                    "query: column '%s' has no full-text (FTS) index; a full-text query needs one", q->fts_column);
  }
  /* Lookup keys: one column of the key's type, or a struct of the key columns. */
  mw_pk kpk = {0};
  struct ArrowArray kwrap;
  struct ArrowArray *kchild[1];
  const void *kbuf[1] = {NULL};
  const struct ArrowArray *kbatch = NULL;
  if (lookup) {
    MW_TRY(mw_array_validate(q->keys_schema, q->keys, "keys", err));
    kpk.n = pk.n;
    if (pk.n == 1) {
      char want[96];
      mw_type_to_format(want, sizeof want, &pk.type[0]);
      mw_type kt;
      MW_TRY(mw_type_from_format(&kt, q->keys_schema->format, err));
      char got[96];
      mw_type_to_format(got, sizeof got, &kt);
      if (strcmp(want, got) != 0)
        return mw_err(err, MW_ERR_INVALID, "query: keys have format '%s', the primary key column '%s' is '%s'", got,
                      sch->children[pk.col[0]]->name, want);
      kpk.col[0] = 0;
      kpk.type[0] = pk.type[0];
      kchild[0] = (struct ArrowArray *)q->keys;
      kwrap = (struct ArrowArray){.length = q->keys->length, .n_buffers = 1, .n_children = 1, .buffers = kbuf,
                                  .children = kchild};
      kbatch = &kwrap;
    } else {
      if (strcmp(q->keys_schema->format, "+s") != 0 || q->keys_schema->n_children != pk.n)
        return mw_err(err, MW_ERR_INVALID, "query: a composite primary key is looked up with a struct array of its %d columns in key order",
                      pk.n);
      for (int j = 0; j < pk.n; j++) {
        char want[96], got[96];
        mw_type kt;
        mw_type_to_format(want, sizeof want, &pk.type[j]);
        MW_TRY(mw_type_from_format(&kt, q->keys_schema->children[j]->format, err));
        mw_type_to_format(got, sizeof got, &kt);
        if (strcmp(want, got) != 0)
          return mw_err(err, MW_ERR_INVALID, "query: key column %d has format '%s', expected '%s'", j, got, want);
        kpk.col[j] = j;
        kpk.type[j] = pk.type[j];
      }
      kbatch = q->keys;
    }
  }

  mw_bound_filter *bf = NULL;
  if (q->filter) MW_TRY(mw_filter_bind(&bf, q->filter, sch, err));

  q_state *s = calloc(1, sizeof *s);
  q_live L;
  memset(&L, 0, sizeof L);
  uint64_t *cand = NULL;
  size_t n_cand = 0;
  bool use_cand = false;
  mw_buf_init(&L.tmp);
  uint8_t *alive = NULL, *keep = NULL;
  q_hit *hits = NULL;
  mw_status st = MW_OK;
  if (!s) {
    mw_bound_filter_free(bf);
    return mw_err(err, MW_ERR_NOMEM, "query: out of memory");
  }
  s->b.free_state = state_free;

  /* Projection: the given columns, else the defaults, else all. */
  const char *const *cols = q->n_columns ? q->columns : def_cols;
  size_t n_cols = q->n_columns ? q->n_columns : n_def_cols;
  if (n_cols == 0) n_cols = (size_t)sch->n_children;
  s->proj = malloc(n_cols * sizeof *s->proj);
  if (!s->proj) {
    st = mw_err(err, MW_ERR_NOMEM, "query: out of memory");
    goto done;
  }
  for (size_t i = 0; i < n_cols; i++) {
    int64_t c = cols ? mw_mt_column(m0, cols[i]) : (int64_t)i;
    if (c < 0) {
      st = mw_err(err, MW_ERR_INVALID, "query: unknown column '%s'", cols[i] ? cols[i] : "(null)");
      goto done;
    }
    s->proj[i] = c;
  }
  s->n_proj = (int64_t)n_cols;
  s->has_extra = knn || fts;
  st = mw_schema_init(&s->proj_schema, "+s", sch->name, NULL, sch->flags, s->n_proj, err);
  for (int64_t i = 0; st == MW_OK && i < s->n_proj; i++)
    st = mw_schema_copy(s->proj_schema.children[i], sch->children[s->proj[i]], err);
  if (st == MW_OK)
    st = mw_schema_init(&s->b.schema, "+s", sch->name, sch->metadata, sch->flags, s->n_proj + (s->has_extra ? 1 : 0),
                        err);
  for (int64_t i = 0; st == MW_OK && i < s->n_proj; i++)
    st = mw_schema_copy(s->b.schema.children[i], sch->children[s->proj[i]], err);
  if (st == MW_OK && s->has_extra)
    st = mw_schema_init(s->b.schema.children[s->n_proj], "f", knn ? "_distance" : "_score", NULL, 0, 0, err);
  if (st != MW_OK) goto done;

  /* 1. snapshot, 2. alive and keep. */
  st = snap_take(&s->snap, mts, visible, n_mts, err);
  if (st != MW_OK) goto done;
  q_snap *sn = &s->snap;
  bool knn_graph = knn && hnsw_name && !bf && q->ef != MW_EF_EXACT;
  /* the default search (ef 0): when a graph's calibrated plan is its exact
   * scan, this layer's exact pass does it (liveness checked only for the
   * rows that would enter the top k, not per node) */
  for (size_t m = 0; knn_graph && q->ef == 0 && m < n_mts; m++) {
    mw_hnsw *h = mw_memtable_hnsw(mts[m], hnsw_name);
    if (h && mw_hnsw_default_ef(h, q->k) == MW_HNSW_EF_EXACT) knn_graph = false;
  }
  bool full_pass = !lookup && !knn && !fts;
  if (full_pass && bf) {
    st = btree_candidates(&cand, &n_cand, &use_cand, mts, sn, bf, err);
    if (st != MW_OK) goto done;
    if (use_cand) full_pass = false;
  }
  L = (q_live){mts, visible, sn, &pk, tomb_col, NULL, L.tmp};
  if (full_pass) {
    st = mw_mt_mark_latest(&alive, sn->held, sn->len, sn->n_held, sn->total, &pk, tomb_col, err);
  } else {
    L.cache = calloc(sn->total ? sn->total : 1, 1);
    if (!L.cache) st = mw_err(err, MW_ERR_NOMEM, "query: out of memory");
  }
  if (st != MW_OK) goto done;
  if (bf && !lookup && !use_cand) {
    keep = malloc(sn->total ? sn->total : 1);
    if (!keep) {
      st = mw_err(err, MW_ERR_NOMEM, "query: out of memory");
      goto done;
    }
    for (size_t b = 0; b < sn->n_held && st == MW_OK; b++)
      if (sn->len[b] > 0) st = mw_filter_eval(keep + sn->g0[b], bf, &sn->held[b]->array, 0, sn->len[b], err);
    if (st != MW_OK) goto done;
  }
  uint64_t limit = q->limit ? q->limit : UINT64_MAX;
  bool oom = false;

  if (use_cand) {
    /* BTree candidates in insertion order: liveness and the whole filter
     * checked row by row. */
    uint64_t n_out = 0;
    size_t m = 0;
    int64_t *lr = malloc((n_cand ? n_cand : 1) * sizeof *lr); /* live candidates of one batch */
    uint8_t *kk = malloc(n_cand ? n_cand : 1);
    if (!lr || !kk) oom = true;
    for (size_t i = 0; i < n_cand && n_out < limit && !oom && st == MW_OK;) {
      /* the candidates of one stored batch: live ones gathered, the whole
       * filter evaluated on them at once */
      size_t b = snap_holder(sn, cand[i]);
      uint64_t end = sn->g0[b] + (uint64_t)sn->len[b];
      size_t n_lr = 0;
      for (; i < n_cand && cand[i] < end; i++) {
        uint64_t g = cand[i];
        while (m + 1 < n_mts && sn->base[m + 1] <= g) m++;
        if (live_row(&L, m, g - sn->base[m])) lr[n_lr++] = (int64_t)(g - sn->g0[b]);
      }
      if (n_lr == 0) continue;
      st = mw_filter_eval_rows(kk, bf, &sn->held[b]->array, lr, n_lr, err);
      for (size_t j = 0; st == MW_OK && j < n_lr && n_out < limit && !oom; j++) {
        if (!kk[j]) continue;
        if (!add_view_row(s, sn->held[b], lr[j])) oom = true;
        n_out++;
      }
    }
    free(lr);
    free(kk);
  } else if (!lookup && !knn && !fts) {
    uint64_t n_out = 0;
    for (size_t b = 0; b < sn->n_held && !oom && n_out < limit; b++)
      for (int64_t r = 0; r < sn->len[b] && n_out < limit; r++) {
        uint64_t g = sn->g0[b] + (uint64_t)r;
        if (!alive[g] || (keep && !keep[g])) continue;
        if (!add_view_row(s, sn->held[b], r)) {
          oom = true;
          break;
        }
        n_out++;
      }
  } else if (lookup) {
    /* Each key: its newest visible row, newest MemTable first (a probe of
     * each MemTable's primary-key map); a tombstone hides it. */
    uint64_t n_out = 0;
    for (int64_t i = 0; i < kbatch->length && n_out < limit && !oom && st == MW_OK; i++) {
      /* a null key (or a null struct row) names no row */
      bool null_key = false;
      if (kbatch->null_count != 0 && kbatch->buffers && !mw_bit_get(kbatch->buffers[0], kbatch->offset + i))
        null_key = true;
      for (int j = 0; j < kpk.n && !null_key; j++) {
        const struct ArrowArray *c = kbatch->children[kpk.col[j]];
        if (c->null_count != 0 && !mw_bit_get(c->buffers[0], c->offset + kbatch->offset + i)) null_key = true;
      }
      if (null_key) continue;
      L.tmp.len = 0;
      mw_pk_encode(&L.tmp, &kpk, kbatch, i);
      if (!mw_buf_ok(&L.tmp)) {
        oom = true;
        break;
      }
      uint64_t hash = mw_mt_pk_hash(L.tmp.data, L.tmp.len);
      for (size_t m = n_mts; m-- > 0;) {
        uint64_t row = mw_mt_pk_newest(mts[m], L.tmp.data, L.tmp.len, hash, sn->base[m + 1] - sn->base[m]);
        if (row == MW_MT_NO_ROW) continue;
        uint64_t g = sn->base[m] + row;
        size_t b = snap_holder(sn, g);
        int64_t r = (int64_t)(g - sn->g0[b]);
        if (mw_mt_row_is_tomb(&sn->held[b]->array, tomb_col, r)) break;
        if (bf) {
          uint8_t k1 = 0;
          st = mw_filter_eval(&k1, bf, &sn->held[b]->array, r, 1, err);
          if (st != MW_OK || !k1) break;
        }
        if (!add_take_row(s, sn->held[b], r, 0.0f)) oom = true;
        n_out++;
        break;
      }
    }
  } else {
    /* k-NN or FTS: collect hits, sort, keep the best k (and limit). */
    size_t k = q->k;
    if (limit < k) k = (size_t)limit;
    size_t n_hits = 0, cap_hits = 0;
    if (knn_graph) {
      /* Per MemTable: the beam without a filter, its whole result set
       * (ef rows, nearest first) checked for liveness until k live rows;
       * only when fewer than k of them are live (many overwrites) the
       * search runs again with the liveness filter, which pays a check per
       * node the beam keeps (~3x the bare beam). */
      cap_hits = n_mts * k;
      hits = malloc((cap_hits ? cap_hits : 1) * sizeof *hits);
      if (!hits) oom = true;
      for (size_t m = 0; !oom && m < n_mts && st == MW_OK; m++) {
        mw_hnsw *h = mw_memtable_hnsw(mts[m], hnsw_name);
        if (!h) continue;
        size_t ef = q->ef ? q->ef : mw_hnsw_default_ef(h, k);
        size_t want = ef > k ? ef : k;
        mw_hnsw_hit *hh = malloc(want * sizeof *hh);
        if (!hh) {
          oom = true;
          break;
        }
        size_t got = 0, live = 0;
        st = mw_hnsw_search(hh, &got, h, q->vector, want, ef, NULL, NULL, err);
        for (size_t i = 0; st == MW_OK && i < got && live < k; i++)
          if (live_row(&L, m, hh[i].row)) {
            hits[n_hits++] = (q_hit){sn->base[m] + hh[i].row, hh[i].distance};
            live++;
          }
        if (st == MW_OK && live < k && got == want) {
          n_hits -= live;
          live_filter f = {&L, m, NULL};
          st = mw_hnsw_search(hh, &got, h, q->vector, k, ef, live_row_ok, &f, err);
          for (size_t i = 0; st == MW_OK && i < got; i++)
            hits[n_hits++] = (q_hit){sn->base[m] + hh[i].row, hh[i].distance};
        }
        free(hh);
      }
    } else if (knn) {
      /* The k nearest live & kept rows in one pass: a max-heap (by
       * cmp_dist, top = the worst kept) of at most k hits; a row's
       * liveness is checked only when it would enter the heap (~k ln(n/k)
       * rows), not for every row. */
      cap_hits = k;
      hits = malloc((k ? k : 1) * sizeof *hits);
      if (!hits) oom = true;
      size_t m = 0;
      /* the query's inverse norm once, not per row (cosine) */
      float q_inv = q->metric == MW_METRIC_COSINE ? mw_vec_inv_norm(q->vector, (uint32_t)dim) : 0;
      for (size_t b = 0; !oom && k > 0 && b < sn->n_held; b++) {
        while (m + 1 < n_mts && sn->base[m + 1] <= sn->g0[b]) m++;
        for (int64_t r = 0; r < sn->len[b]; r++) {
          uint64_t g = sn->g0[b] + (uint64_t)r;
          if (keep && !keep[g]) continue;
          const float *v = row_vector(sn->held[b], vcol, dim, r);
          if (!v) continue;
          q_hit c = {g, mw_vec_distance_pre(q->metric, q->vector, q_inv, v, (uint32_t)dim)};
          if (n_hits == k && cmp_dist(&c, &hits[0]) >= 0) continue;
          if (!live_row(&L, m, g - sn->base[m])) continue;
          if (n_hits == k) {
            hits[0] = c;
            heap_down_max(hits, n_hits, 0);
          } else {
            hits[n_hits++] = c;
            heap_up_max(hits, n_hits - 1);
          }
        }
      }
      if (!oom) qsort(hits, n_hits, sizeof *hits, cmp_dist);
    } else {
      mw_fts **fs = calloc(n_mts, sizeof *fs);
      mw_fts_hit *fh = malloc(k * sizeof *fh);
      cap_hits = n_mts * k;
      hits = malloc((cap_hits ? cap_hits : 1) * sizeof *hits);
      if (!fs || !fh || !hits) oom = true;
      fts_sum sum;
      memset(&sum, 0, sizeof sum);
      mw_fts_global glob = {0, 0, fts_sum_df, &sum};
      size_t n_fs = 0;
      for (size_t m = 0; !oom && m < n_mts; m++) {
        mw_fts *f = mw_memtable_fts(mts[m], fts_name);
        if (!f) continue;
        fs[n_fs++] = f;
        glob.n_docs += mw_fts_doc_count(f);
        glob.total_tokens += mw_fts_total_tokens(f);
      }
      if (!oom) st = fts_sum_init(&sum, fs, n_fs, q->fts_text, err);
      size_t tl = strlen(q->fts_text);
      for (size_t m = 0; !oom && m < n_mts && st == MW_OK; m++) {
        mw_fts *f = mw_memtable_fts(mts[m], fts_name);
        if (!f) continue;
        live_filter mf = {&L, m, keep};
        size_t got = 0;
        st = mw_fts_search(fh, &got, f, q->fts_text, tl, k, live_row_ok, &mf, &glob, err);
        for (size_t i = 0; st == MW_OK && i < got; i++)
          hits[n_hits++] = (q_hit){sn->base[m] + fh[i].row, fh[i].score};
      }
      fts_sum_free(&sum);
      free(fs);
      free(fh);
    }
    if (!oom && st == MW_OK) {
      qsort(hits, n_hits, sizeof *hits, knn ? cmp_dist : cmp_score);
      if (n_hits > k) n_hits = k;
      for (size_t i = 0; i < n_hits && !oom; i++) {
        size_t b = snap_holder(sn, hits[i].g);
        if (!add_take_row(s, sn->held[b], (int64_t)(hits[i].g - sn->g0[b]), hits[i].v)) oom = true;
      }
    }
  }
  if (oom && st == MW_OK) st = mw_err(err, MW_ERR_NOMEM, "query: out of memory");

done:
  free(cand);
  free(L.cache);
  mw_buf_free(&L.tmp);
  mw_bound_filter_free(bf);
  free(alive);
  free(keep);
  free(hits);
  if (st != MW_OK) {
    state_free(s);
    return st;
  }
  mw_mt_stream_start(out, &s->b, st_get_next);
  return MW_OK;
}
