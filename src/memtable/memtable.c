/* memtable.c - the MemTable: batch list, insert, indexes, refs (see
 * memtable.h; scans live in memtable_scan.c, views in memtable_view.c).
 *
 * Everything mutable sits behind one mutex per MemTable. Insert allocates
 * all it needs (holders, room in the batch list) before taking ownership,
 * so a failure leaves both the MemTable and the caller's batches untouched.
 * Indexing is a prefix walk (per index: rows [0, indexed_rows) are in the
 * tree), done either inside insert (index_now) or by
 * mw_memtable_index_pending, one batch per lock hold so that inserts and
 * scans interleave with a long catch-up. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "index/fts.h"
#include "index/hnsw.h"
#include "memtable/memtable_internal.h"

static void lock(mw_memtable *mt) { pthread_mutex_lock(&mt->mu); }
static void unlock(mw_memtable *mt) { pthread_mutex_unlock(&mt->mu); }

int64_t mw_mt_column(const mw_memtable *mt, const char *name) {
  if (!name) return -1;
  for (int64_t i = 0; i < mt->n_cols; i++) {
    const char *n = mt->schema.children[i]->name;
    if (n && strcmp(n, name) == 0) return i;
  }
  return -1;
}

mw_status mw_mt_filter_value(mw_key *out, bool *is_null, const mw_type *col_type, const char *what,
                             const struct ArrowSchema *vs, const struct ArrowArray *va,
                             mw_error *err) {
  *is_null = false;
  if (!vs || !va || !vs->format || !va->release)
    return mw_err(err, MW_ERR_INVALID, "%s: filter value or its schema is missing", what);
  mw_type vt;
  MW_TRY(mw_type_from_format(&vt, vs->format, err));
  char want[96], got[96];
  mw_type_to_format(want, sizeof want, col_type);
  mw_type_to_format(got, sizeof got, &vt);
  if (strcmp(want, got) != 0) {
    char wn[128], gn[128];
    mw_type_name(wn, sizeof wn, col_type);
    mw_type_name(gn, sizeof gn, &vt);
    return mw_err(err, MW_ERR_INVALID, "%s: filter value has type %s, the column is %s", what, gn, wn);
  }
  if (va->length != 1)
    return mw_err(err, MW_ERR_INVALID, "%s: filter value must be a length-1 array, got length %" PRId64,
                  what, va->length);
  MW_TRY(mw_array_validate(vs, va, "filter value", err));
  if (!mw_key_get(out, col_type, va, 0)) *is_null = true;
  return MW_OK;
}

/* ---------------------------------------------------------------- new/free */

static void free_indexes(mw_mt_index *idx, size_t n) {
  for (size_t i = 0; idx && i < n; i++) {
    free(idx[i].name);
    mw_btree_free(idx[i].tree);
    mw_hnsw_free(idx[i].hnsw);
    mw_fts_free(idx[i].fts);
  }
  free(idx);
}

static void free_cfgs(mw_index_config *c, size_t n) {
  for (size_t i = 0; c && i < n; i++) {
    free((char *)c[i].name);
    free((char *)c[i].column);
  }
  free(c);
}

/* Checks that column type t suits an index of kind k; names the problem. */
static mw_status check_index_type(const mw_index_config *c, const mw_type *t,
                                  const struct ArrowSchema *field, mw_error *err) {
  char tn[128];
  mw_type_name(tn, sizeof tn, t);
  switch (c->kind) {
    case MW_INDEX_BTREE:
      if (mw_key_class_of(t) == MW_KC_NONE)
        return mw_err(err, MW_ERR_INVALID, "index '%s': column '%s' has type %s, not a scalar index key",
                      c->name, c->column, tn);
      return MW_OK;
    case MW_INDEX_HNSW:
      if (t->id != MW_T_FIXED_SIZE_LIST || t->width < 1 || field->n_children != 1 ||
          !field->children[0]->format || strcmp(field->children[0]->format, "f") != 0)
        return mw_err(err, MW_ERR_INVALID,
                      "index '%s' (HNSW): column '%s' has type %s, a vector index needs fixed_size_list<float32>",
                      c->name, c->column, tn);
      if ((int)c->metric < MW_METRIC_L2 || (int)c->metric > MW_METRIC_DOT)
        return mw_err(err, MW_ERR_INVALID, "index '%s' (HNSW): unknown metric %d", c->name, (int)c->metric);
      return MW_OK;
    case MW_INDEX_FTS:
      if (t->id != MW_T_UTF8 && t->id != MW_T_LARGE_UTF8)
        return mw_err(err, MW_ERR_INVALID,
                      "index '%s' (FTS): column '%s' has type %s, a full-text index needs utf8 or large_utf8",
                      c->name, c->column, tn);
      return MW_OK;
  }
  return mw_err(err, MW_ERR_INVALID, "index '%s' (column '%s'): unknown index kind %d", c->name, c->column,
                (int)c->kind);
}

mw_status mw_memtable_new(mw_memtable **out, const struct ArrowSchema *schema, uint64_t generation,
                          const mw_index_config *indexes, size_t n_indexes, mw_error *err) {
  *out = NULL;
  if (!schema || !schema->format || strcmp(schema->format, "+s") != 0)
    return mw_err(err, MW_ERR_INVALID, "memtable: schema must be a struct (\"+s\") schema");
  if (n_indexes > 0 && !indexes) return mw_err(err, MW_ERR_INVALID, "memtable: indexes is NULL");
  mw_memtable *mt = calloc(1, sizeof *mt);
  if (!mt) return mw_err(err, MW_ERR_NOMEM, "memtable: out of memory");
  mw_status st = mw_schema_copy(&mt->schema, schema, err);
  if (st != MW_OK) {
    free(mt);
    return st;
  }
  mt->generation = generation;
  mt->pos_b0 = UINT64_MAX;
  /* The primary-key map needs a key of a supported type; without one the
   * MemTable simply keeps no map (newest-row queries then refuse). */
  if (mw_pk_resolve(&mt->pk, &mt->schema, NULL, 0, NULL) != MW_OK) mt->pk.n = 0;
  mw_buf_init(&mt->pk_keys);
  atomic_init(&mt->refs, 1);
  mt->n_cols = mt->schema.n_children;
  if (mt->n_cols > 0) {
    mt->types = calloc((size_t)mt->n_cols, sizeof *mt->types);
    if (!mt->types) {
      st = mw_err(err, MW_ERR_NOMEM, "memtable: out of memory");
      goto fail;
    }
  }
  for (int64_t i = 0; i < mt->n_cols; i++) {
    st = mw_type_from_format(&mt->types[i], mt->schema.children[i]->format, err);
    if (st != MW_OK) goto fail;
  }
  if (n_indexes > 0) {
    mt->idx = calloc(n_indexes, sizeof *mt->idx);
    mt->cfgs = calloc(n_indexes, sizeof *mt->cfgs);
    if (!mt->idx || !mt->cfgs) {
      st = mw_err(err, MW_ERR_NOMEM, "memtable: out of memory");
      goto fail;
    }
  }
  for (size_t i = 0; i < n_indexes; i++) {
    const mw_index_config *c = &indexes[i];
    const char *iname = c->name ? c->name : "(null)";
    const char *cname = c->column ? c->column : "(null)";
    if (!c->name || !c->name[0]) {
      st = mw_err(err, MW_ERR_INVALID, "index %zu on column '%s': empty index name", i, cname);
      goto fail;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(mt->idx[j].name, c->name) == 0) {
        st = mw_err(err, MW_ERR_INVALID, "index '%s' (column '%s'): duplicate index name", iname, cname);
        goto fail;
      }
    int64_t col = mw_mt_column(mt, c->column);
    if (col < 0) {
      st = mw_err(err, MW_ERR_INVALID, "index '%s': unknown column '%s'", iname, cname);
      goto fail;
    }
    if (c->kind != MW_INDEX_BTREE && c->kind != MW_INDEX_HNSW && c->kind != MW_INDEX_FTS) {
      st = mw_err(err, MW_ERR_INVALID, "index '%s' (column '%s'): unknown index kind %d", iname, cname,
                  (int)c->kind);
      goto fail;
    }
    st = check_index_type(c, &mt->types[col], mt->schema.children[col], err);
    if (st != MW_OK) goto fail;
    mw_mt_index *x = &mt->idx[i];
    x->name = strdup(c->name);
    mt->cfgs[i] = *c;
    mt->cfgs[i].name = strdup(c->name);
    mt->cfgs[i].column = strdup(c->column);
    if (!x->name || !mt->cfgs[i].name || !mt->cfgs[i].column) {
      st = mw_err(err, MW_ERR_NOMEM, "memtable: out of memory");
      goto fail;
    }
    x->col = col;
    x->type = mt->types[col];
    x->kind = c->kind;
    if (c->kind == MW_INDEX_BTREE) {
      st = mw_btree_new(&x->tree, &x->type, err);
    } else if (c->kind == MW_INDEX_HNSW) {
      mw_hnsw_config hc = {(uint32_t)x->type.width, c->metric, c->max_connections, c->ef_construction,
                           generation * 0x9E3779B97F4A7C15ull + i};
      st = mw_hnsw_create(&x->hnsw, &hc, err);
    } else {
      st = mw_fts_create(&x->fts, err);
    }
    if (st != MW_OK) {
      mw_err_wrap(err, st, "index '%s'", iname);
      goto fail;
    }
  }
  mt->n_idx = n_indexes;
  if (pthread_mutex_init(&mt->mu, NULL) != 0) {
    st = mw_err(err, MW_ERR_NOMEM, "memtable: cannot create a mutex");
    goto fail;
  }
  if (pthread_cond_init(&mt->idx_cv, NULL) != 0) {
    pthread_mutex_destroy(&mt->mu);
    st = mw_err(err, MW_ERR_NOMEM, "memtable: cannot create a condition variable");
    goto fail;
  }
  *out = mt;
  return MW_OK;
fail:
  free_indexes(mt->idx, mt->idx ? n_indexes : 0); /* calloc'ed: unset slots are NULL */
  free_cfgs(mt->cfgs, mt->cfgs ? n_indexes : 0);
  free(mt->types);
  mw_schema_release(&mt->schema);
  free(mt);
  return st;
}

void mw_memtable_retain(mw_memtable *mt) { atomic_fetch_add(&mt->refs, 1); }

void mw_memtable_free(mw_memtable *mt) {
  if (!mt) return;
  if (atomic_fetch_sub(&mt->refs, 1) != 1) return; /* another holder remains */
  for (size_t i = 0; i < mt->n_batches; i++) mw_holder_unref(mt->batches[i]);
  free(mt->batches);
  free_indexes(mt->idx, mt->n_idx);
  free_cfgs(mt->cfgs, mt->n_idx);
  free(mt->types);
  free(mt->pk_slots);
  mw_buf_free(&mt->pk_keys);
  free(mt->pk_off);
  free(mt->pk_newest);
  free(mt->pk_prev);
  mw_schema_release(&mt->schema);
  pthread_cond_destroy(&mt->idx_cv);
  pthread_mutex_destroy(&mt->mu);
  free(mt);
}

const struct ArrowSchema *mw_memtable_schema(const mw_memtable *mt) { return &mt->schema; }

/* ---------------------------------------------------------------- indexing */

static mw_status index_rows_loop(mw_mt_index *x, const mw_holder *h, int64_t r0, int64_t r1, float *vb,
                                 uint64_t *vb_rows, size_t *vb_np, mw_error *err);

/* Inserts rows [r0, r1) of holder h into an HNSW or FTS index (no lock:
 * both are thread-safe; the batch is immutable and referenced). Null rows
 * (struct or column null) are not indexed; a vector with a non-finite
 * component is not put into the graph either (exact searches, which read
 * the batches, still find it). */
static mw_status index_rows_unlocked(mw_mt_index *x, const mw_holder *h, int64_t r0, int64_t r1,
                                     unsigned threads, mw_error *err) {
  /* HNSW with several threads: the batch's vectors are gathered, then
   * inserted together (mw_hnsw_insert_batch). Without memory for the copy
   * the rows go in one by one. */
  float *vb = NULL;
  uint64_t *vb_rows = NULL;
  size_t vb_n = 0;
  if (x->kind == MW_INDEX_HNSW && threads != 1 && r1 - r0 > 1) {
    vb = malloc((size_t)(r1 - r0) * (size_t)x->type.width * sizeof *vb);
    vb_rows = malloc((size_t)(r1 - r0) * sizeof *vb_rows);
    if (!vb || !vb_rows) {
      free(vb);
      free(vb_rows);
      vb = NULL;
      vb_rows = NULL;
    }
  }
  mw_status st = index_rows_loop(x, h, r0, r1, vb, vb_rows, &vb_n, err);
  if (st == MW_OK && vb && vb_n > 0) st = mw_hnsw_insert_batch(x->hnsw, vb_rows, vb, vb_n, threads, err);
  free(vb);
  free(vb_rows);
  return st;
}

static mw_status index_rows_loop(mw_mt_index *x, const mw_holder *h, int64_t r0, int64_t r1, float *vb,
                                 uint64_t *vb_rows, size_t *vb_np, mw_error *err) {
  size_t vb_n = 0;
  const struct ArrowArray *root = &h->array;
  const struct ArrowArray *col = root->children[x->col];
  const void *root_valid = (root->null_count != 0 && root->n_buffers > 0) ? root->buffers[0] : NULL;
  const void *col_valid = (col->null_count != 0 && col->n_buffers > 0) ? col->buffers[0] : NULL;
  for (int64_t r = r0; r < r1; r++) {
    int64_t p = root->offset + r; /* row in the children's coordinates */
    if (!mw_bit_get(root_valid, p) || !mw_bit_get(col_valid, col->offset + p)) continue;
    uint64_t row = h->first_row + (uint64_t)r;
    if (x->kind == MW_INDEX_HNSW) {
      const struct ArrowArray *items = col->children[0];
      int64_t dim = x->type.width;
      const float *v = (const float *)items->buffers[1] + items->offset + (col->offset + p) * dim;
      bool finite = true;
      for (int64_t d = 0; d < dim && finite; d++) finite = v[d] - v[d] == 0.0f;
      if (!finite) continue;
      if (vb) {
        /* gathered: one parallel batch insert below */
        vb_rows[vb_n] = row;
        memcpy(vb + (size_t)vb_n * (size_t)dim, v, (size_t)dim * sizeof *v);
        vb_n++;
        continue;
      }
      MW_TRY(mw_hnsw_insert(x->hnsw, row, v, err));
    } else {
      int64_t i = col->offset + p;
      const char *data = col->buffers[2];
      int64_t o0, o1;
      if (x->type.id == MW_T_LARGE_UTF8) {
        o0 = ((const int64_t *)col->buffers[1])[i];
        o1 = ((const int64_t *)col->buffers[1])[i + 1];
      } else {
        o0 = ((const int32_t *)col->buffers[1])[i];
        o1 = ((const int32_t *)col->buffers[1])[i + 1];
      }
      MW_TRY(mw_fts_insert(x->fts, row, data + o0, (size_t)(o1 - o0), err));
    }
  }
  *vb_np = vb_n;
  return MW_OK;
}

/* Indexes the rest of batch x->cursor into x (mu held on entry and on
 * return; released while an HNSW / FTS index works, with x->busy set).
 * On failure the rows indexed so far stay (the prefix grows row by row for
 * a BTree; an HNSW / FTS batch that failed is redone from its start, which
 * both tolerate: a failed HNSW insert leaves an unreachable hole). */
_Atomic unsigned mw_memtable_test_fail_index_steps;

/* The test hook (memtable.h): takes one injected failure if any is left. */
static bool injected_index_failure(void) {
  unsigned k = atomic_load(&mw_memtable_test_fail_index_steps);
  while (k > 0 && !atomic_compare_exchange_weak(&mw_memtable_test_fail_index_steps, &k, k - 1)) {
  }
  return k > 0;
}

static mw_status index_step(mw_memtable *mt, mw_mt_index *x, mw_error *err) {
  if (injected_index_failure()) return mw_err(err, MW_ERR_NOMEM, "indexing failed (injected by a test)");
  mw_holder *h = mt->batches[x->cursor];
  const struct ArrowArray *root = &h->array;
  if (x->kind == MW_INDEX_BTREE) {
    const struct ArrowArray *col = root->children[x->col];
    const void *root_valid = (root->null_count != 0 && root->n_buffers > 0) ? root->buffers[0] : NULL;
    for (int64_t r = (int64_t)(x->indexed_rows - h->first_row); r < root->length; r++) {
      if (mw_bit_get(root_valid, root->offset + r)) {
        mw_status st = mw_btree_insert_from(x->tree, col, root->offset + r, h->first_row + (uint64_t)r,
                                            NULL, err);
        if (st != MW_OK) return st;
      }
      x->indexed_rows++;
    }
    x->cursor++;
    return MW_OK;
  }
  int64_t r0 = (int64_t)(x->indexed_rows - h->first_row), r1 = root->length;
  x->busy = true;
  mw_holder_ref(h);
  unlock(mt);
  mw_status st = index_rows_unlocked(x, h, r0, r1, atomic_load(&mt->index_threads), err);
  lock(mt);
  mw_holder_unref(h);
  x->busy = false;
  if (st == MW_OK) {
    x->indexed_rows = h->first_row + (uint64_t)r1;
    x->cursor++;
  }
  pthread_cond_broadcast(&mt->idx_cv);
  return st;
}

static uint64_t min_indexed(const mw_memtable *mt) {
  uint64_t m = mt->rows;
  for (size_t i = 0; i < mt->n_idx; i++)
    if (mt->idx[i].indexed_rows < m) m = mt->idx[i].indexed_rows;
  return m;
}

/* Indexes every index up to `target` rows (mu held; released between
 * batches so that inserts and scans interleave, and while HNSW / FTS
 * indexes work). An index another thread is working on is waited for. */
static mw_status index_upto(mw_memtable *mt, uint64_t target, mw_error *err) {
  if (target > mt->rows) target = mt->rows;
  for (;;) {
    bool more = false, waiting = false;
    for (size_t i = 0; i < mt->n_idx; i++) {
      mw_mt_index *x = &mt->idx[i];
      if (x->indexed_rows >= target) continue;
      if (x->busy) {
        waiting = true;
        continue;
      }
      MW_TRY(index_step(mt, x, err));
      more = true;
    }
    if (!more && !waiting) return MW_OK;
    if (!more) {
      pthread_cond_wait(&mt->idx_cv, &mt->mu);
    } else {
      unlock(mt);
      lock(mt);
    }
  }
}

mw_status mw_memtable_index_upto(mw_memtable *mt, uint64_t target, mw_error *err) {
  lock(mt);
  mw_status st = index_upto(mt, target, err);
  unlock(mt);
  return st;
}

mw_status mw_memtable_index_pending(uint64_t *out_rows, mw_memtable *mt, mw_error *err) {
  if (out_rows) *out_rows = 0;
  lock(mt);
  uint64_t before = min_indexed(mt);
  mw_status st = index_upto(mt, mt->rows, err);
  uint64_t after = min_indexed(mt);
  unlock(mt);
  if (out_rows) *out_rows = after > before ? after - before : 0;
  return st;
}

void mw_memtable_set_index_threads(mw_memtable *mt, unsigned threads) { atomic_store(&mt->index_threads, threads); }

void mw_memtable_set_positions(mw_memtable *mt, uint64_t b0, uint64_t p0) {
  lock(mt);
  mt->pos_b0 = b0;
  mt->pos_p0 = p0;
  unlock(mt);
}

uint64_t mw_memtable_durable_batches(mw_memtable *mt, uint64_t durable_end) {
  lock(mt);
  uint64_t b0 = mt->pos_b0, p0 = mt->pos_p0;
  unlock(mt);
  if (b0 == UINT64_MAX) return UINT64_MAX;
  return b0 + (durable_end > p0 ? durable_end - p0 : 0);
}

uint64_t mw_memtable_visible_rows(mw_memtable *mt, uint64_t durable_batches) {
  lock(mt);
  uint64_t v = min_indexed(mt);
  if (durable_batches < mt->n_batches) {
    uint64_t d = mt->batches[durable_batches]->first_row;
    if (d < v) v = d;
  }
  unlock(mt);
  return v;
}

struct mw_hnsw *mw_memtable_hnsw(mw_memtable *mt, const char *index_name) {
  for (size_t i = 0; index_name && i < mt->n_idx; i++)
    if (mt->idx[i].hnsw && strcmp(mt->idx[i].name, index_name) == 0) return mt->idx[i].hnsw;
  return NULL;
}

struct mw_fts *mw_memtable_fts(mw_memtable *mt, const char *index_name) {
  for (size_t i = 0; index_name && i < mt->n_idx; i++)
    if (mt->idx[i].fts && strcmp(mt->idx[i].name, index_name) == 0) return mt->idx[i].fts;
  return NULL;
}

const mw_index_config *mw_memtable_index_configs(const mw_memtable *mt, size_t *n_out) {
  *n_out = mt->n_idx;
  return mt->cfgs;
}

uint64_t mw_memtable_unindexed_rows(mw_memtable *mt) {
  lock(mt);
  uint64_t n = mt->rows - min_indexed(mt);
  unlock(mt);
  return n;
}

/* ---------------------------------------------------------------- pk map */

int64_t mw_mt_tomb_col(const struct ArrowSchema *sch) {
  int64_t last = sch->n_children - 1;
  if (last >= 0 && sch->children[last]->name && strcmp(sch->children[last]->name, MW_TOMBSTONE_COLUMN) == 0 &&
      strcmp(sch->children[last]->format, "b") == 0)
    return last;
  return -1;
}

uint64_t mw_mt_pk_hash(const uint8_t *key, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) h = (h ^ key[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

/* Slot of the key (found: *idx = its index) or the empty slot to use. */
static uint64_t pk_probe(const mw_memtable *mt, const uint8_t *key, size_t len, uint64_t hash, uint64_t *idx) {
  uint64_t mask = mt->pk_cap - 1;
  for (uint64_t slot = hash & mask;; slot = (slot + 1) & mask) {
    uint64_t v = mt->pk_slots[slot];
    if (!v) {
      *idx = UINT64_MAX;
      return slot;
    }
    uint64_t k = v - 1;
    size_t kl = mt->pk_off[k + 1] - mt->pk_off[k];
    if (kl == len && memcmp(mt->pk_keys.data + mt->pk_off[k], key, len) == 0) {
      *idx = k;
      return slot;
    }
  }
}

uint64_t mw_mt_pk_newest(mw_memtable *mt, const uint8_t *key, size_t len, uint64_t hash, uint64_t visible) {
  uint64_t row = MW_MT_NO_ROW;
  lock(mt);
  if (mt->pk.n > 0 && mt->pk_cap > 0) {
    uint64_t idx;
    pk_probe(mt, key, len, hash, &idx);
    if (idx != UINT64_MAX) {
      row = mt->pk_newest[idx];
      while (row != MW_MT_NO_ROW && row >= visible) row = mt->pk_prev[row];
    }
  }
  unlock(mt);
  return row;
}

/* Makes room (mu held) for `rows` more rows holding at most `rows` new keys
 * of `bytes` encoded bytes: nothing is published, so a failure changes
 * nothing. */
static bool pk_reserve(mw_memtable *mt, uint64_t rows, size_t bytes) {
  uint64_t need_rows = mt->rows + rows, need_keys = mt->pk_n + rows;
  if (need_rows > mt->pk_cap_rows) {
    uint64_t nc = mt->pk_cap_rows ? mt->pk_cap_rows * 2 : 1024;
    while (nc < need_rows) nc *= 2;
    uint64_t *p = realloc(mt->pk_prev, nc * sizeof *p);
    if (!p) return false;
    mt->pk_prev = p;
    mt->pk_cap_rows = nc;
  }
  if (need_keys > mt->pk_cap_keys) {
    uint64_t nc = mt->pk_cap_keys ? mt->pk_cap_keys * 2 : 1024;
    while (nc < need_keys) nc *= 2;
    size_t *o = realloc(mt->pk_off, (nc + 1) * sizeof *o);
    if (!o) return false;
    if (!mt->pk_off) o[0] = 0;
    mt->pk_off = o;
    uint64_t *nw = realloc(mt->pk_newest, nc * sizeof *nw);
    if (!nw) return false;
    mt->pk_newest = nw;
    mt->pk_cap_keys = nc;
  }
  if (!mw_buf_reserve(&mt->pk_keys, bytes ? bytes : 1)) return false;
  if (need_keys * 2 > mt->pk_cap) {
    uint64_t nc = mt->pk_cap ? mt->pk_cap : 2048;
    while (need_keys * 2 > nc) nc *= 2;
    uint64_t *slots = calloc(nc, sizeof *slots);
    if (!slots) return false;
    uint64_t mask = nc - 1;
    for (uint64_t k = 0; k < mt->pk_n; k++) {
      const uint8_t *key = mt->pk_keys.data + mt->pk_off[k];
      uint64_t slot = mw_mt_pk_hash(key, mt->pk_off[k + 1] - mt->pk_off[k]) & mask;
      while (slots[slot]) slot = (slot + 1) & mask;
      slots[slot] = k + 1;
    }
    free(mt->pk_slots);
    mt->pk_slots = slots;
    mt->pk_cap = nc;
  }
  return true;
}

/* Adds row `row` with key key[0..len) (mu held, room reserved). */
static void pk_add(mw_memtable *mt, uint64_t row, const uint8_t *key, size_t len, uint64_t hash) {
  uint64_t idx;
  uint64_t slot = pk_probe(mt, key, len, hash, &idx);
  if (idx != UINT64_MAX) {
    mt->pk_prev[row] = mt->pk_newest[idx];
    mt->pk_newest[idx] = row;
    return;
  }
  idx = mt->pk_n++;
  mw_buf_append(&mt->pk_keys, key, len);
  mt->pk_off[idx + 1] = mt->pk_keys.len;
  mt->pk_newest[idx] = row;
  mt->pk_prev[row] = MW_MT_NO_ROW;
  mt->pk_slots[slot] = idx + 1;
}

/* Bytes the map holds for its rows and keys (what it needs, not its
 * capacities, so that the MemTable size grows smoothly with its rows):
 * per key its encoding, offset, newest row and two hash slots; per row its
 * chain link. */
static uint64_t pk_memory(const mw_memtable *mt) {
  if (mt->pk.n == 0) return 0;
  return mt->pk_keys.len + mt->pk_n * (8 + 8 + 16) + mt->rows * 8;
}

/* ---------------------------------------------------------------- insert */

mw_status mw_memtable_insert(uint64_t *out_first_batch, mw_memtable *mt, struct ArrowArray *batches,
                             size_t n, bool index_now, mw_error *err) {
  if (n == 0 || !batches) return mw_err(err, MW_ERR_INVALID, "memtable insert: no batches");
  for (size_t i = 0; i < n; i++)
    if (!batches[i].release || batches[i].n_children != mt->n_cols)
      return mw_err(err, MW_ERR_INVALID, "memtable insert: batch %zu is released or has %" PRId64
                    " columns, expected %" PRId64, i, batches[i].n_children, mt->n_cols);
  /* Allocate everything before touching anything. */
  mw_holder **hs = malloc(n * sizeof *hs);
  if (!hs) return mw_err(err, MW_ERR_NOMEM, "memtable insert: out of memory");
  for (size_t i = 0; i < n; i++) {
    hs[i] = malloc(sizeof **hs);
    if (!hs[i]) {
      for (size_t j = 0; j < i; j++) free(hs[j]);
      free(hs);
      return mw_err(err, MW_ERR_NOMEM, "memtable insert: out of memory");
    }
    atomic_init(&hs[i]->refs, 1);
    hs[i]->bytes = mw_array_byte_size(&mt->schema, &batches[i]);
  }
  /* Primary-key encodings of the new rows, computed before the lock. */
  mw_buf enc;
  mw_buf_init(&enc);
  size_t *eoff = NULL;
  uint64_t n_new = 0;
  if (mt->pk.n > 0) {
    for (size_t i = 0; i < n; i++) n_new += (uint64_t)batches[i].length;
    eoff = malloc((n_new + 1) * sizeof *eoff);
    uint64_t k = 0;
    for (size_t i = 0; eoff && i < n; i++)
      for (int64_t r = 0; r < batches[i].length; r++) {
        eoff[k++] = enc.len;
        mw_pk_encode(&enc, &mt->pk, &batches[i], r);
      }
    if (eoff) eoff[n_new] = enc.len;
    if (!eoff || !mw_buf_ok(&enc)) {
      free(eoff);
      mw_buf_free(&enc);
      for (size_t i = 0; i < n; i++) free(hs[i]);
      free(hs);
      return mw_err(err, MW_ERR_NOMEM, "memtable insert: out of memory");
    }
  }
  mw_status st = MW_OK;
  lock(mt);
  if (!mt->frozen && mt->pk.n > 0 && !pk_reserve(mt, n_new, enc.len))
    st = mw_err(err, MW_ERR_NOMEM, "memtable insert: out of memory (primary-key map)");
  if (st != MW_OK) {
  } else if (mt->frozen) {
    st = mw_err(err, MW_ERR_INVALID, "memtable generation %" PRIu64 " is frozen: no more inserts",
                mt->generation);
  } else if (mt->n_batches + n > mt->cap) {
    size_t nc = mt->cap ? mt->cap * 2 : 64;
    while (nc < mt->n_batches + n) nc *= 2;
    mw_holder **p = realloc(mt->batches, nc * sizeof *p);
    if (!p) st = mw_err(err, MW_ERR_NOMEM, "memtable insert: out of memory");
    else {
      mt->batches = p;
      mt->cap = nc;
    }
  }
  if (st != MW_OK) {
    unlock(mt);
    for (size_t i = 0; i < n; i++) free(hs[i]);
    free(hs);
    free(eoff);
    mw_buf_free(&enc);
    return st;
  }
  /* Publish: cannot fail from here on. */
  for (uint64_t k = 0; k < n_new; k++) {
    const uint8_t *key = enc.data + eoff[k];
    size_t len = eoff[k + 1] - eoff[k];
    pk_add(mt, mt->rows + k, key, len, mw_mt_pk_hash(key, len));
  }
  free(eoff);
  mw_buf_free(&enc);
  if (out_first_batch) *out_first_batch = mt->n_batches;
  for (size_t i = 0; i < n; i++) {
    mw_holder *h = hs[i];
    h->array = batches[i];
    batches[i].release = NULL;
    h->first_row = mt->rows;
    mt->rows += (uint64_t)h->array.length;
    mt->bytes += h->bytes;
    mt->batches[mt->n_batches++] = h;
  }
  uint64_t target = mt->rows;
  bool has_btree_only = true;
  for (size_t i = 0; i < mt->n_idx; i++) has_btree_only &= mt->idx[i].kind == MW_INDEX_BTREE;
  if (index_now && mt->n_idx > 0 && has_btree_only) {
    /* A failure here (out of memory) leaves the rows pending for
     * mw_memtable_index_pending: the batches are in, insert succeeded. */
    mw_error ierr;
    (void)index_upto(mt, target, &ierr);
  }
  unlock(mt);
  free(hs);
  if (index_now && mt->n_idx > 0 && !has_btree_only) {
    /* HNSW / FTS work runs with mu released between and during batches
     * (index_upto); a failure leaves the rows pending as above. */
    mw_error ierr;
    (void)mw_memtable_index_upto(mt, target, &ierr);
  }
  return MW_OK;
}

/* ---------------------------------------------------------------- state */

void mw_memtable_freeze(mw_memtable *mt) {
  lock(mt);
  mt->frozen = true;
  unlock(mt);
}

bool mw_memtable_is_frozen(mw_memtable *mt) {
  lock(mt);
  bool f = mt->frozen;
  unlock(mt);
  return f;
}

void mw_memtable_info_get(mw_memtable_info *out, mw_memtable *mt) {
  lock(mt);
  out->generation = mt->generation;
  out->rows = mt->rows;
  out->batches = mt->n_batches;
  uint64_t sz = mt->bytes + pk_memory(mt);
  for (size_t i = 0; i < mt->n_idx; i++) {
    const mw_mt_index *x = &mt->idx[i];
    if (x->tree) sz += mw_btree_memory(x->tree);
    if (x->hnsw) sz += mw_hnsw_memory(x->hnsw);
    if (x->fts) sz += mw_fts_memory(x->fts);
  }
  out->estimated_size = sz;
  unlock(mt);
}

mw_status mw_memtable_batch_ref(struct ArrowArray *out, mw_memtable *mt, uint64_t i, mw_error *err) {
  lock(mt);
  if (i >= mt->n_batches) {
    size_t nb = mt->n_batches;
    unlock(mt);
    return mw_err(err, MW_ERR_INVALID, "memtable: batch %" PRIu64 " out of range (%zu batches)", i, nb);
  }
  mw_holder *h = mt->batches[i];
  mw_holder_ref(h);
  unlock(mt);
  bool ok = mw_view_make(out, h, 0, h->array.length, NULL, 0);
  mw_holder_unref(h);
  if (!ok) return mw_err(err, MW_ERR_NOMEM, "memtable: out of memory");
  return MW_OK;
}

mw_status mw_memtable_index_lookup(uint64_t **out_ids, size_t *out_n, mw_memtable *mt,
                                   const char *index_name, mw_filter_op op,
                                   const struct ArrowSchema *value_schema,
                                   const struct ArrowArray *value, mw_error *err) {
  *out_ids = NULL;
  *out_n = 0;
  mw_mt_index *x = NULL;
  for (size_t i = 0; i < mt->n_idx && index_name; i++)
    if (strcmp(mt->idx[i].name, index_name) == 0) x = &mt->idx[i];
  if (!x)
    return mw_err(err, MW_ERR_NOT_FOUND, "memtable: no index named '%s'",
                  index_name ? index_name : "(null)");
  if (op < MW_FILTER_EQ || op > MW_FILTER_GE)
    return mw_err(err, MW_ERR_INVALID, "index '%s': unknown filter op %d", x->name, (int)op);
  if (!x->tree) return mw_err(err, MW_ERR_INVALID, "index '%s' is not a BTree index", x->name);
  char what[160];
  snprintf(what, sizeof what, "index '%s'", x->name);
  mw_key key;
  bool is_null;
  MW_TRY(mw_mt_filter_value(&key, &is_null, &x->type, what, value_schema, value, err));
  if (is_null) return MW_OK;
  lock(mt);
  mw_status st = mw_btree_lookup(out_ids, out_n, x->tree, op, &key, err);
  unlock(mt);
  return st;
}
