/* memtable_scan.c - snapshot scans over MemTables as an ArrowArrayStream.
 *
 * mw_memtable_scan does all the work up front: per MemTable, under its
 * mutex, it takes a reference on every batch present (the snapshot) and,
 * when an index on the filter column covers every row, asks the index;
 * outside the mutex it otherwise compares rows one by one (the stored
 * batches are immutable). The result is a list of runs (batch, first row,
 * row count) of consecutive matching rows in insertion order; get_next
 * turns one run into a zero-copy view (memtable_view.c). The stream holds
 * the batch references, so it may outlive the MemTables.
 *
 * mw_memtable_scan_latest (the writer's scan) snapshots every MemTable
 * first, then walks the rows from the newest backwards over a hash set of
 * primary-key encodings (pk_index.h): the first row seen of each key is its
 * newest; it survives unless its `_tombstone` is true; the filter is then
 * applied row by row to the survivors (indexes are not consulted: an older
 * row matching through the index must not resurrect a replaced key). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "lance/pk_index.h"
#include "memtable/memtable_internal.h"

typedef struct scan_run {
  mw_holder *h;
  int64_t start, len;
} scan_run;

typedef struct scan_state {
  mw_mt_stream_base b;       /* first: the shared stream callbacks; schema = the projected one */
  int64_t *proj;             /* NULL = all columns */
  int64_t n_proj;
  mw_holder **held;
  size_t n_held, cap_held;
  scan_run *runs;
  size_t n_runs, cap_runs, next;
} scan_state;

static void state_free(void *state) {
  scan_state *s = state;
  if (!s) return;
  for (size_t i = 0; i < s->n_held; i++) mw_holder_unref(s->held[i]);
  free(s->held);
  free(s->runs);
  free(s->proj);
  mw_schema_release(&s->b.schema);
  free(s);
}

static bool run_add(scan_state *s, mw_holder *h, int64_t row) {
  if (s->n_runs > 0) {
    scan_run *last = &s->runs[s->n_runs - 1];
    if (last->h == h && last->start + last->len == row) {
      last->len++;
      return true;
    }
  }
  if (s->n_runs == s->cap_runs) {
    size_t nc = s->cap_runs ? s->cap_runs * 2 : 16;
    scan_run *p = realloc(s->runs, nc * sizeof *p);
    if (!p) return false;
    s->runs = p;
    s->cap_runs = nc;
  }
  s->runs[s->n_runs++] = (scan_run){h, row, 1};
  return true;
}

static bool run_add_whole(scan_state *s, mw_holder *h) {
  if (h->array.length == 0) return true;
  if (!run_add(s, h, 0)) return false;
  s->runs[s->n_runs - 1].len = h->array.length;
  return true;
}

/* ---------------------------------------------------------------- stream */


static int st_get_next(struct ArrowArrayStream *stream, struct ArrowArray *out) {
  scan_state *s = stream->private_data;
  if (s->next >= s->n_runs) {
    memset(out, 0, sizeof *out); /* end of stream: release == NULL */
    return 0;
  }
  scan_run *r = &s->runs[s->next];
  if (!mw_view_make(out, r->h, r->start, r->len, s->proj, s->n_proj)) {
    snprintf(s->b.error, sizeof s->b.error, "memtable scan: out of memory");
    return ENOMEM;
  }
  s->next++;
  return 0;
}



/* ---------------------------------------------------------------- scan */

static const char *op_name(mw_filter_op op) {
  switch (op) {
    case MW_FILTER_EQ: return "=";
    case MW_FILTER_LT: return "<";
    case MW_FILTER_LE: return "<=";
    case MW_FILTER_GT: return ">";
    case MW_FILTER_GE: return ">=";
    case MW_FILTER_NE: return "!=";
  }
  return "?";
}

/* Row-by-row filter of one snapshot batch. */
static bool filter_rows(scan_state *s, mw_holder *h, int64_t col, const mw_type *t, mw_key_class kc,
                        mw_filter_op op, const mw_key *v) {
  const struct ArrowArray *root = &h->array;
  const struct ArrowArray *c = root->children[col];
  const void *root_valid = (root->null_count != 0 && root->n_buffers > 0) ? root->buffers[0] : NULL;
  for (int64_t r = 0; r < root->length; r++) {
    mw_key k;
    if (!mw_bit_get(root_valid, root->offset + r)) continue;
    if (!mw_key_get(&k, t, c, root->offset + r)) continue;
    if (mw_filter_op_holds(op, mw_key_cmp(kc, &k, v)) && !run_add(s, h, r)) return false;
  }
  return true;
}

/* Turns ascending row ids of one MemTable (snapshot batches hs[0..n)) into
 * runs. */
static bool ids_to_runs(scan_state *s, mw_holder **hs, size_t n, const uint64_t *ids, size_t n_ids) {
  size_t b = 0;
  for (size_t i = 0; i < n_ids; i++) {
    uint64_t id = ids[i];
    while (b < n && id >= hs[b]->first_row + (uint64_t)hs[b]->array.length) b++;
    if (b == n) break; /* cannot happen: the index and snapshot agree */
    if (!run_add(s, hs[b], (int64_t)(id - hs[b]->first_row))) return false;
  }
  return true;
}

/* ------------------------------------------------- newest row per key */

/* Marks in alive[] (one byte per snapshot row, batches in order) the rows
 * that are the newest of their primary key and not a tombstone: a walk from
 * the newest row backwards over an open-addressing set of key encodings. */
mw_status mw_mt_mark_latest(uint8_t **out_alive, mw_holder *const *held, const int64_t *lens, size_t n_held,
                            uint64_t total, const mw_pk *pk, int64_t tomb_col, mw_error *err) {
  *out_alive = NULL;
  uint8_t *alive = calloc(total ? total : 1, 1);
  uint64_t cap = 16;
  while (cap < total * 2) cap *= 2;
  uint64_t *slots = calloc(cap, sizeof *slots); /* 0 = empty, else 1 + key index */
  size_t *offs = malloc((total + 1) * sizeof *offs);
  mw_buf keys;
  mw_buf_init(&keys);
  if (!alive || !slots || !offs) {
    free(alive); free(slots); free(offs);
    return mw_err(err, MW_ERR_NOMEM, "memtable scan: out of memory");
  }
  uint64_t n_keys = 0, row_id = total;
  offs[0] = 0;
  for (size_t b = n_held; b-- > 0;) {
    const struct ArrowArray *a = &held[b]->array;
    for (int64_t r = lens ? lens[b] : a->length; r-- > 0;) {
      row_id--;
      size_t start = keys.len;
      mw_pk_encode(&keys, pk, a, r);
      if (!mw_buf_ok(&keys)) break;
      uint64_t slot = mw_mt_pk_hash(keys.data + start, keys.len - start) & (cap - 1);
      bool seen = false;
      for (; slots[slot]; slot = (slot + 1) & (cap - 1)) {
        uint64_t k = slots[slot] - 1;
        size_t kl = offs[k + 1] - offs[k];
        if (kl == keys.len - start && memcmp(keys.data + offs[k], keys.data + start, kl) == 0) {
          seen = true;
          break;
        }
      }
      if (seen) {
        keys.len = start; /* an older row of a key already decided */
        continue;
      }
      slots[slot] = ++n_keys;
      offs[n_keys] = keys.len;
      alive[row_id] = !mw_mt_row_is_tomb(a, tomb_col, r);
    }
  }
  bool ok = mw_buf_ok(&keys);
  mw_buf_free(&keys);
  free(slots);
  free(offs);
  if (!ok) {
    free(alive);
    return mw_err(err, MW_ERR_NOMEM, "memtable scan: out of memory");
  }
  *out_alive = alive;
  return MW_OK;
}

/* Latest mode: runs of the alive rows that match the filter. */
static bool latest_runs(scan_state *s, const uint8_t *alive, int64_t fcol, const mw_type *t, mw_key_class kc,
                        const mw_scan_filter *filter, bool fnull, const mw_key *v) {
  uint64_t id = 0;
  for (size_t b = 0; b < s->n_held; b++) {
    mw_holder *h = s->held[b];
    const struct ArrowArray *root = &h->array;
    const void *root_valid = (root->null_count != 0 && root->n_buffers > 0) ? root->buffers[0] : NULL;
    for (int64_t r = 0; r < root->length; r++, id++) {
      if (!alive[id]) continue;
      if (filter) {
        mw_key k;
        if (fnull || !mw_bit_get(root_valid, root->offset + r)) continue;
        if (!mw_key_get(&k, t, root->children[fcol], root->offset + r)) continue;
        if (!mw_filter_op_holds(filter->op, mw_key_cmp(kc, &k, v))) continue;
      }
      if (!run_add(s, h, r)) return false;
    }
  }
  return true;
}

static mw_status scan_impl(struct ArrowArrayStream *out, mw_memtable *const *mts, size_t n_mts,
                           const char *const *columns, size_t n_columns, const mw_scan_filter *filter,
                           bool latest, mw_error *err);

mw_status mw_memtable_scan(struct ArrowArrayStream *out, mw_memtable *const *mts, size_t n_mts,
                           const char *const *columns, size_t n_columns,
                           const mw_scan_filter *filter, mw_error *err) {
  return scan_impl(out, mts, n_mts, columns, n_columns, filter, false, err);
}

mw_status mw_memtable_scan_latest(struct ArrowArrayStream *out, mw_memtable *const *mts, size_t n_mts,
                                  const char *const *columns, size_t n_columns,
                                  const mw_scan_filter *filter, mw_error *err) {
  return scan_impl(out, mts, n_mts, columns, n_columns, filter, true, err);
}

static mw_status scan_impl(struct ArrowArrayStream *out, mw_memtable *const *mts, size_t n_mts,
                           const char *const *columns, size_t n_columns, const mw_scan_filter *filter,
                           bool latest, mw_error *err) {
  memset(out, 0, sizeof *out);
  if (n_mts == 0 || !mts) return mw_err(err, MW_ERR_INVALID, "memtable scan: no MemTables");
  for (size_t i = 0; i < n_mts; i++) {
    if (!mts[i]) return mw_err(err, MW_ERR_INVALID, "memtable scan: MemTable %zu is NULL", i);
    if (i > 0 && !mw_schema_equal(&mts[0]->schema, &mts[i]->schema, true))
      return mw_err(err, MW_ERR_INVALID, "memtable scan: MemTable %zu has a different schema", i);
  }
  if (n_columns > 0 && !columns) return mw_err(err, MW_ERR_INVALID, "memtable scan: columns is NULL");
  const mw_memtable *m0 = mts[0];
  const struct ArrowSchema *sch = &m0->schema;

  /* Filter: column, type, value. */
  int64_t fcol = -1;
  mw_key fkey;
  bool fnull = false;
  mw_key_class kc = MW_KC_NONE;
  if (filter) {
    fcol = mw_mt_column(m0, filter->column);
    if (fcol < 0)
      return mw_err(err, MW_ERR_INVALID, "memtable scan: filter on unknown column '%s'",
                    filter->column ? filter->column : "(null)");
    kc = mw_key_class_of(&m0->types[fcol]);
    if (kc == MW_KC_NONE) {
      char tn[128];
      mw_type_name(tn, sizeof tn, &m0->types[fcol]);
      return mw_err(err, MW_ERR_INVALID, "memtable scan: cannot filter on column '%s' of type %s",
                    filter->column, tn);
    }
    if (filter->op < MW_FILTER_EQ || filter->op > MW_FILTER_GE)
      return mw_err(err, MW_ERR_INVALID, "memtable scan: unknown filter op %d", (int)filter->op);
    char what[160];
    snprintf(what, sizeof what, "memtable scan: filter '%s' %s", filter->column, op_name(filter->op));
    MW_TRY(mw_mt_filter_value(&fkey, &fnull, &m0->types[fcol], what, filter->value_schema,
                              filter->value, err));
  }

  mw_pk pk = {0};
  int64_t tomb_col = -1;
  if (latest) {
    MW_TRY(mw_pk_resolve(&pk, sch, NULL, 0, err));
    if (pk.n == 0) return mw_err(err, MW_ERR_INVALID, "memtable scan: newest-row scans need a primary key");
    tomb_col = mw_mt_tomb_col(sch);
  }

  scan_state *s = calloc(1, sizeof *s);
  if (!s) return mw_err(err, MW_ERR_NOMEM, "memtable scan: out of memory");
  s->b.free_state = state_free;
  mw_status st = MW_OK;

  /* Projection and the projected schema. */
  if (n_columns > 0) {
    s->proj = malloc(n_columns * sizeof *s->proj);
    if (!s->proj) {
      st = mw_err(err, MW_ERR_NOMEM, "memtable scan: out of memory");
      goto fail;
    }
    for (size_t i = 0; i < n_columns; i++) {
      int64_t c = mw_mt_column(m0, columns[i]);
      if (c < 0) {
        st = mw_err(err, MW_ERR_INVALID, "memtable scan: unknown column '%s'",
                    columns[i] ? columns[i] : "(null)");
        goto fail;
      }
      s->proj[i] = c;
    }
    s->n_proj = (int64_t)n_columns;
    st = mw_schema_init(&s->b.schema, "+s", sch->name, sch->metadata, sch->flags, s->n_proj, err);
    if (st != MW_OK) goto fail;
    for (int64_t i = 0; i < s->n_proj; i++) {
      st = mw_schema_copy(s->b.schema.children[i], sch->children[s->proj[i]], err);
      if (st != MW_OK) goto fail;
    }
  } else {
    st = mw_schema_copy(&s->b.schema, sch, err);
    if (st != MW_OK) goto fail;
  }

  for (size_t m = 0; m < n_mts; m++) {
    mw_memtable *mt = mts[m];
    uint64_t *ids = NULL;
    size_t n_ids = 0;
    bool use_index = false;
    pthread_mutex_lock(&mt->mu);
    size_t first = s->n_held;
    if (s->n_held + mt->n_batches > s->cap_held) {
      size_t nc = s->cap_held ? s->cap_held : 16;
      while (nc < s->n_held + mt->n_batches) nc *= 2;
      mw_holder **p = realloc(s->held, nc * sizeof *p);
      if (!p) {
        pthread_mutex_unlock(&mt->mu);
        st = mw_err(err, MW_ERR_NOMEM, "memtable scan: out of memory");
        goto fail;
      }
      s->held = p;
      s->cap_held = nc;
    }
    for (size_t i = 0; i < mt->n_batches; i++) {
      mw_holder_ref(mt->batches[i]);
      s->held[s->n_held++] = mt->batches[i];
    }
    if (filter && !fnull && !latest) {
      for (size_t i = 0; i < mt->n_idx; i++) {
        mw_mt_index *x = &mt->idx[i];
        if (x->col == fcol && x->indexed_rows == mt->rows) {
          use_index = true;
          st = mw_btree_lookup(&ids, &n_ids, x->tree, filter->op, &fkey, err);
          break;
        }
      }
    }
    pthread_mutex_unlock(&mt->mu);
    if (st != MW_OK) goto fail;
    mw_holder **hs = s->held ? s->held + first : NULL;
    size_t nh = s->n_held - first;
    bool ok = true;
    if (latest) {
      /* runs are made once every MemTable is in the snapshot */
    } else if (!filter) {
      for (size_t i = 0; ok && i < nh; i++) ok = run_add_whole(s, hs[i]);
    } else if (fnull) {
      /* a null value matches nothing */
    } else if (use_index) {
      ok = ids_to_runs(s, hs, nh, ids, n_ids);
    } else {
      for (size_t i = 0; ok && i < nh; i++)
        ok = filter_rows(s, hs[i], fcol, &m0->types[fcol], kc, filter->op, &fkey);
    }
    free(ids);
    if (!ok) {
      st = mw_err(err, MW_ERR_NOMEM, "memtable scan: out of memory");
      goto fail;
    }
  }

  if (latest) {
    uint64_t total = 0;
    for (size_t i = 0; i < s->n_held; i++) total += (uint64_t)s->held[i]->array.length;
    uint8_t *alive = NULL;
    st = mw_mt_mark_latest(&alive, s->held, NULL, s->n_held, total, &pk, tomb_col, err);
    if (st != MW_OK) goto fail;
    bool ok = latest_runs(s, alive, fcol, fcol >= 0 ? &m0->types[fcol] : NULL, kc, filter, fnull, &fkey);
    free(alive);
    if (!ok) {
      st = mw_err(err, MW_ERR_NOMEM, "memtable scan: out of memory");
      goto fail;
    }
  }

  mw_mt_stream_start(out, &s->b, st_get_next);
  return MW_OK;
fail:
  state_free(s);
  return st;
}
