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
  for (size_t i = 0; i < n; i++) {
    free(idx[i].name);
    mw_btree_free(idx[i].tree);
  }
  free(idx);
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
    if (!mt->idx) {
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
    if (c->kind != MW_INDEX_BTREE) {
      st = mw_err(err, MW_ERR_INVALID, "index '%s' (column '%s'): unknown index kind %d", iname, cname,
                  (int)c->kind);
      goto fail;
    }
    int64_t col = mw_mt_column(mt, c->column);
    if (col < 0) {
      st = mw_err(err, MW_ERR_INVALID, "index '%s': unknown column '%s'", iname, cname);
      goto fail;
    }
    if (mw_key_class_of(&mt->types[col]) == MW_KC_NONE) {
      char tn[128];
      mw_type_name(tn, sizeof tn, &mt->types[col]);
      st = mw_err(err, MW_ERR_INVALID, "index '%s': column '%s' has type %s, not a scalar index key",
                  iname, cname, tn);
      goto fail;
    }
    mw_mt_index *x = &mt->idx[i];
    x->name = strdup(c->name);
    if (!x->name) {
      st = mw_err(err, MW_ERR_NOMEM, "memtable: out of memory");
      goto fail;
    }
    x->col = col;
    x->type = mt->types[col];
    st = mw_btree_new(&x->tree, &x->type, err);
    if (st != MW_OK) goto fail;
  }
  mt->n_idx = n_indexes;
  if (pthread_mutex_init(&mt->mu, NULL) != 0) {
    st = mw_err(err, MW_ERR_NOMEM, "memtable: cannot create a mutex");
    goto fail;
  }
  *out = mt;
  return MW_OK;
fail:
  free_indexes(mt->idx, mt->idx ? n_indexes : 0); /* calloc'ed: unset slots are NULL */
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
  free(mt->types);
  mw_schema_release(&mt->schema);
  pthread_mutex_destroy(&mt->mu);
  free(mt);
}

const struct ArrowSchema *mw_memtable_schema(const mw_memtable *mt) { return &mt->schema; }

/* ---------------------------------------------------------------- indexing */

/* Indexes the rest of batch x->cursor into x (under mu). On failure the
 * rows indexed so far stay (the prefix grows row by row). */
static mw_status index_step(mw_memtable *mt, mw_mt_index *x, mw_error *err) {
  mw_holder *h = mt->batches[x->cursor];
  const struct ArrowArray *root = &h->array;
  const struct ArrowArray *col = root->children[x->col];
  const void *root_valid =
      (root->null_count != 0 && root->n_buffers > 0) ? root->buffers[0] : NULL;
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

static uint64_t min_indexed(const mw_memtable *mt) {
  uint64_t m = mt->rows;
  for (size_t i = 0; i < mt->n_idx; i++)
    if (mt->idx[i].indexed_rows < m) m = mt->idx[i].indexed_rows;
  return m;
}

/* Indexes every index up to `target` rows (under mu; one batch at a time
 * when `yield` so other threads get the lock in between). */
static mw_status index_upto(mw_memtable *mt, uint64_t target, bool yield, mw_error *err) {
  for (;;) {
    bool more = false;
    for (size_t i = 0; i < mt->n_idx; i++) {
      mw_mt_index *x = &mt->idx[i];
      if (x->indexed_rows >= target) continue;
      MW_TRY(index_step(mt, x, err));
      if (x->indexed_rows < target) more = true;
    }
    if (!more) return MW_OK;
    if (yield) {
      unlock(mt);
      lock(mt);
    }
  }
}

mw_status mw_memtable_index_pending(uint64_t *out_rows, mw_memtable *mt, mw_error *err) {
  if (out_rows) *out_rows = 0;
  lock(mt);
  uint64_t before = min_indexed(mt);
  mw_status st = index_upto(mt, mt->rows, true, err);
  uint64_t after = min_indexed(mt);
  unlock(mt);
  if (out_rows) *out_rows = after > before ? after - before : 0;
  return st;
}

uint64_t mw_memtable_unindexed_rows(mw_memtable *mt) {
  lock(mt);
  uint64_t n = mt->rows - min_indexed(mt);
  unlock(mt);
  return n;
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
  mw_status st = MW_OK;
  lock(mt);
  if (mt->frozen) {
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
    return st;
  }
  /* Publish: cannot fail from here on. */
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
  if (index_now && mt->n_idx > 0) {
    /* A failure here (out of memory) leaves the rows pending for
     * mw_memtable_index_pending: the batches are in, insert succeeded. */
    mw_error ierr;
    (void)index_upto(mt, mt->rows, false, &ierr);
  }
  unlock(mt);
  free(hs);
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
  uint64_t sz = mt->bytes;
  for (size_t i = 0; i < mt->n_idx; i++) sz += mw_btree_memory(mt->idx[i].tree);
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
