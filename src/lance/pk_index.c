/* pk_index.c - primary key encoding, bloom hashing and the _pk_index/ BTree
 * files (layouts in pk_index.h). */
#include "lance/pk_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "lance/bloom.h"
#include "lance/lance_file.h"

static bool key_type_ok(mw_type_id id) {
  return id == MW_T_BOOL || (id >= MW_T_INT8 && id <= MW_T_UINT64) || id == MW_T_UTF8 ||
         id == MW_T_LARGE_UTF8 || id == MW_T_BINARY || id == MW_T_LARGE_BINARY;
}

/* Signed for the sort order: signed ints and the temporal types (stored as
 * signed ints). */
static bool is_signed(mw_type_id id) {
  return id == MW_T_INT8 || id == MW_T_INT16 || id == MW_T_INT32 || id == MW_T_INT64 ||
         id == MW_T_DATE32 || id == MW_T_DATE64 || id == MW_T_TIME32 || id == MW_T_TIME64 ||
         id == MW_T_TIMESTAMP || id == MW_T_DURATION;
}

static bool is_float(mw_type_id id) { return id == MW_T_FLOAT32 || id == MW_T_FLOAT64; }

/* Byte width of a fixed-width value (bool excluded). */
static int int_bytes(mw_type_id id) {
  switch (id) {
    case MW_T_INT8: case MW_T_UINT8: return 1;
    case MW_T_INT16: case MW_T_UINT16: return 2;
    case MW_T_INT32: case MW_T_UINT32: case MW_T_FLOAT32: case MW_T_DATE32: case MW_T_TIME32: return 4;
    default: return 8;
  }
}

/* Column types a generation BTree index (mw_btree_index_build) accepts:
 * the key types plus floats and the temporal types. */
bool mw_btree_type_ok(mw_type_id id) {
  return key_type_ok(id) || is_float(id) || id == MW_T_DATE32 || id == MW_T_DATE64 || id == MW_T_TIME32 ||
         id == MW_T_TIME64 || id == MW_T_TIMESTAMP || id == MW_T_DURATION;
}

static bool is_var(mw_type_id id) {
  return id == MW_T_UTF8 || id == MW_T_LARGE_UTF8 || id == MW_T_BINARY || id == MW_T_LARGE_BINARY;
}

static bool is_large(mw_type_id id) { return id == MW_T_LARGE_UTF8 || id == MW_T_LARGE_BINARY; }

mw_status mw_pk_resolve(mw_pk *out, const struct ArrowSchema *schema, const char *const *pk_names,
                        size_t n_pk, mw_error *err) {
  memset(out, 0, sizeof *out);
  uint32_t pos[MW_PK_MAX_COLS];
  for (int64_t i = 0; i < schema->n_children; i++) {
    const struct ArrowSchema *f = schema->children[i];
    uint32_t p = 0;
    if (pk_names && n_pk) {
      for (size_t k = 0; k < n_pk; k++)
        if (strcmp(pk_names[k], f->name) == 0) p = (uint32_t)k + 1;
    } else {
      mw_kv kv;
      if (f->metadata && mw_metadata_find(f->metadata, MW_LANCE_PK_POSITION_KEY, &kv)) {
        for (int32_t c = 0; c < kv.value_len; c++) {
          if (kv.value[c] < '0' || kv.value[c] > '9' || p > 1000)
            return mw_err(err, MW_ERR_INVALID, "column '%s': bad primary key position", f->name);
          p = p * 10 + (uint32_t)(kv.value[c] - '0');
        }
        if (p == 0) return mw_err(err, MW_ERR_INVALID, "column '%s': primary key position 0", f->name);
      }
    }
    if (!p) continue;
    if (out->n == MW_PK_MAX_COLS)
      return mw_err(err, MW_ERR_UNSUPPORTED, "more than %d primary key columns", MW_PK_MAX_COLS);
    mw_type t;
    MW_TRY(mw_type_from_format(&t, f->format, err));
    if (!key_type_ok(t.id)) {
      char tn[96];
      mw_type_name(tn, sizeof tn, &t);
      return mw_err(err, MW_ERR_UNSUPPORTED, "primary key column '%s' has type %s (supported: bool, integers, strings, binary)",
                    f->name, tn);
    }
    /* insertion sort by position */
    int k = out->n++;
    while (k > 0 && pos[k - 1] > p) {
      pos[k] = pos[k - 1];
      out->col[k] = out->col[k - 1];
      out->type[k] = out->type[k - 1];
      k--;
    }
    pos[k] = p;
    out->col[k] = (int)i;
    out->type[k] = t;
  }
  if (pk_names && n_pk && (size_t)out->n != n_pk)
    return mw_err(err, MW_ERR_INVALID, "primary key column not found in the schema");
  for (int k = 1; k < out->n; k++)
    if (pos[k] == pos[k - 1])
      return mw_err(err, MW_ERR_INVALID, "two primary key columns with position %u", pos[k]);
  return MW_OK;
}

static bool val_valid(const struct ArrowArray *a, int64_t p) {
  return a->null_count == 0 || a->buffers[0] == NULL || mw_bit_get(a->buffers[0], p);
}

static void var_slice(const struct ArrowArray *a, mw_type_id id, int64_t p, const uint8_t **s, size_t *n) {
  int64_t b, e;
  if (is_large(id)) {
    b = ((const int64_t *)a->buffers[1])[p];
    e = ((const int64_t *)a->buffers[1])[p + 1];
  } else {
    b = ((const int32_t *)a->buffers[1])[p];
    e = ((const int32_t *)a->buffers[1])[p + 1];
  }
  *s = (const uint8_t *)a->buffers[2] + b;
  *n = (size_t)(e - b);
}

static uint64_t int_raw(const struct ArrowArray *a, mw_type_id id, int64_t p) {
  const uint8_t *v = a->buffers[1];
  switch (id) {
    case MW_T_INT8: return (uint64_t)(int64_t)((const int8_t *)v)[p];
    case MW_T_UINT8: return v[p];
    case MW_T_INT16: return (uint64_t)(int64_t)((const int16_t *)(const void *)v)[p];
    case MW_T_UINT16: return ((const uint16_t *)(const void *)v)[p];
    case MW_T_INT32: case MW_T_DATE32: case MW_T_TIME32:
      return (uint64_t)(int64_t)((const int32_t *)(const void *)v)[p];
    case MW_T_UINT32: return ((const uint32_t *)(const void *)v)[p];
    default: return ((const uint64_t *)(const void *)v)[p];
  }
}

/* A u64 whose unsigned order is the value order: signed values with the
 * sign bit flipped; floats in IEEE total order (Rust's total_cmp, which
 * Lance's BTree uses: -NaN < -inf < ... < -0 < +0 < ... < +inf < NaN). */
static uint64_t sort_bits(const struct ArrowArray *a, mw_type_id id, int64_t p) {
  if (is_float(id)) {
    uint64_t b;
    if (id == MW_T_FLOAT32) {
      uint32_t u;
      memcpy(&u, (const uint8_t *)a->buffers[1] + (size_t)p * 4, 4);
      b = (uint64_t)u << 32;
    } else {
      memcpy(&b, (const uint8_t *)a->buffers[1] + (size_t)p * 8, 8);
    }
    return (b >> 63) ? ~b : b ^ (1ULL << 63);
  }
  uint64_t v = int_raw(a, id, p);
  return is_signed(id) ? v ^ (1ULL << 63) : v;
}

void mw_pk_encode(mw_buf *out, const mw_pk *pk, const struct ArrowArray *batch, int64_t row) {
  for (int k = 0; k < pk->n; k++) {
    const struct ArrowArray *a = batch->children[pk->col[k]];
    mw_type_id id = pk->type[k].id;
    int64_t p = batch->offset + a->offset + row;
    if (!val_valid(a, p)) {
      mw_buf_u8(out, 0);
      continue;
    }
    mw_buf_u8(out, 1);
    if (id == MW_T_BOOL) {
      mw_buf_u8(out, mw_bit_get(a->buffers[1], p) ? 1 : 0);
    } else if (is_var(id)) {
      const uint8_t *s;
      size_t n;
      var_slice(a, id, p, &s, &n);
      for (size_t i = 0; i < n; i++) {
        mw_buf_u8(out, s[i]);
        if (s[i] == 0) mw_buf_u8(out, 0xff);
      }
      mw_buf_u8(out, 0);
      mw_buf_u8(out, 0);
    } else {
      uint64_t v = sort_bits(a, id, p);
      uint8_t be[8];
      for (int i = 0; i < 8; i++) be[i] = (uint8_t)(v >> (56 - 8 * i));
      mw_buf_append(out, be, 8);
    }
  }
}

uint64_t mw_pk_hash(mw_buf *tmp, const mw_pk *pk, const struct ArrowArray *batch, int64_t row) {
  tmp->len = 0;
  for (int k = 0; k < pk->n; k++) {
    const struct ArrowArray *a = batch->children[pk->col[k]];
    mw_type_id id = pk->type[k].id;
    int64_t p = batch->offset + a->offset + row;
    if (!val_valid(a, p)) {
      mw_buf_u8(tmp, 1);
      continue;
    }
    mw_buf_u8(tmp, 0);
    if (id == MW_T_BOOL) {
      mw_buf_u8(tmp, mw_bit_get(a->buffers[1], p) ? 1 : 0);
    } else if (id == MW_T_UTF8 || id == MW_T_LARGE_UTF8) {
      const uint8_t *s;
      size_t n;
      var_slice(a, id, p, &s, &n);
      mw_buf_append(tmp, s, n);
      mw_buf_u8(tmp, 0xff);
    } else if (id == MW_T_BINARY || id == MW_T_LARGE_BINARY) {
      const uint8_t *s;
      size_t n;
      var_slice(a, id, p, &s, &n);
      mw_buf_u64le(tmp, n);
      mw_buf_append(tmp, s, n);
    } else {
      uint64_t v = int_raw(a, id, p);
      uint8_t le[8];
      mw_store_u64le(le, v);
      mw_buf_append(tmp, le, (size_t)int_bytes(id));
    }
  }
  return mw_siphash13(tmp->data, tmp->len);
}

uint64_t mw_pk_value_bytes(const mw_pk *pk, const struct ArrowArray *batch, int64_t row) {
  uint64_t total = 0;
  for (int k = 0; k < pk->n; k++) {
    const struct ArrowArray *a = batch->children[pk->col[k]];
    mw_type_id id = pk->type[k].id;
    if (is_var(id)) {
      const uint8_t *s;
      size_t n;
      var_slice(a, id, batch->offset + a->offset + row, &s, &n);
      total += n;
    } else if (id == MW_T_BOOL) {
      total += 1;
    } else {
      total += (uint64_t)int_bytes(id);
    }
  }
  return total;
}

/* ---- owned arrays built for the index files ---- */

typedef struct own_arr {
  struct ArrowArray a;
  const void *bufs[3];
  mw_buf b[3];
  struct ArrowArray *kids[4];
} own_arr;

static void own_release(struct ArrowArray *a) { a->release = NULL; }

static void own_init(own_arr *o) {
  memset(o, 0, sizeof *o);
  for (int i = 0; i < 3; i++) mw_buf_init(&o->b[i]);
}

static void own_free(own_arr *o) {
  for (int i = 0; i < 3; i++) mw_buf_free(&o->b[i]);
}

static bool own_finish(own_arr *o, int64_t len, int64_t nulls, int nbuf) {
  o->a.length = len;
  o->a.null_count = nulls;
  o->a.n_buffers = nbuf;
  for (int i = 0; i < 3; i++) {
    if (!mw_buf_ok(&o->b[i])) return false;
    o->bufs[i] = o->b[i].data;
  }
  o->a.buffers = o->bufs;
  o->a.release = own_release;
  return true;
}

static inline void bit_set_append(mw_buf *b, int64_t idx, bool v) {
  if ((idx & 7) == 0) mw_buf_u8(b, 0);
  if (v && !b->failed) b->data[idx >> 3] |= (uint8_t)(1u << (idx & 7));
}

/* Gathers srcs[i] row rows[i] (srcs[i] == NULL: a null) of type id. */
static bool gather(own_arr *o, mw_type_id id, const struct ArrowArray *const *srcs, const int64_t *rows,
                   int64_t n) {
  own_init(o);
  int64_t nulls = 0;
  bool large = is_large(id);
  if (is_var(id)) {
    if (large) mw_buf_u64le(&o->b[1], 0);
    else mw_buf_u32le(&o->b[1], 0);
  }
  for (int64_t i = 0; i < n; i++) {
    const struct ArrowArray *a = srcs[i];
    int64_t p = a ? a->offset + rows[i] : 0;
    bool v = a && val_valid(a, p);
    bit_set_append(&o->b[0], i, v);
    if (!v) nulls++;
    if (id == MW_T_BOOL) {
      bit_set_append(&o->b[1], i, v && mw_bit_get(a->buffers[1], p));
    } else if (is_var(id)) {
      if (v) {
        const uint8_t *s;
        size_t len;
        var_slice(a, id, p, &s, &len);
        mw_buf_append(&o->b[2], s, len);
      }
      if (large) mw_buf_u64le(&o->b[1], o->b[2].len);
      else mw_buf_u32le(&o->b[1], (uint32_t)o->b[2].len);
      if (!large && o->b[2].len > INT32_MAX) return false;
    } else {
      int w = int_bytes(id);
      if (v) mw_buf_append(&o->b[1], (const uint8_t *)a->buffers[1] + (size_t)p * (size_t)w, (size_t)w);
      else mw_buf_append_zeros(&o->b[1], (size_t)w);
    }
  }
  if (n == 0) mw_buf_u8(&o->b[0], 0);
  return own_finish(o, n, nulls, is_var(id) ? 3 : 2);
}

/* ---- sorting ---- */

typedef struct sort_ctx {
  const uint8_t *enc;
  const uint64_t *off;
} sort_ctx;

static int cmp_rows(const void *x, const void *y, void *arg) {
  const sort_ctx *c = arg;
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  size_t la = (size_t)(c->off[a + 1] - c->off[a]), lb = (size_t)(c->off[b + 1] - c->off[b]);
  int r = memcmp(c->enc + c->off[a], c->enc + c->off[b], la < lb ? la : lb);
  if (r) return r;
  if (la != lb) return la < lb ? -1 : 1;
  return a < b ? -1 : (a > b ? 1 : 0);
}

static mw_status write_file(uint8_t **out, size_t *out_len, const struct ArrowSchema *schema,
                            struct ArrowArray *batch, uint64_t page_rows, mw_error *err) {
  mw_lance_file_options fo;
  mw_lance_file_options_init(&fo);
  fo.version = MW_LANCE_V2_0;
  fo.max_page_rows = page_rows;
  fo.schema_metadata = schema->metadata;
  mw_lance_file_writer *fw;
  MW_TRY(mw_lance_file_writer_open(&fw, schema, &fo, err));
  mw_status s = mw_lance_file_writer_write(fw, batch, NULL, 0, err);
  if (s == MW_OK) s = mw_lance_file_writer_finish(fw, out, out_len, err);
  mw_lance_file_writer_free(fw);
  return s;
}

/* The two BTree files for the values of `pk` (one column, or a composite
 * key as binary) over the generation rows, pages of batch_size rows. Page
 * statistics as Lance's train_btree_page computes them: min = the page's
 * first value, max = its last (null when that value is null: nulls sort
 * first), null_count. */
static mw_status build_btree(uint8_t **data, size_t *data_len, uint8_t **lookup, size_t *lookup_len,
                             const struct ArrowSchema *schema, const mw_pk *pk,
                             const struct ArrowArray *batches, const mw_pk_row *rows, uint64_t n_rows,
                             uint64_t batch_size, mw_error *err) {
  *data = *lookup = NULL;
  *data_len = *lookup_len = 0;
  if (pk->n < 1) return mw_err(err, MW_ERR_INVALID, "no primary key: cannot build _pk_index");
  mw_status s = MW_OK;
  mw_buf enc;
  mw_buf_init(&enc);
  uint64_t *off = malloc((size_t)(n_rows + 1) * sizeof *off);
  uint64_t *perm = malloc((size_t)(n_rows + 1) * sizeof *perm);
  const struct ArrowArray **srcs = malloc((size_t)(n_rows + 1) * sizeof *srcs);
  int64_t *srows = malloc((size_t)(n_rows + 1) * sizeof *srows);
  own_arr vals, ids, mins, maxs, ncount, pidx;
  own_init(&vals); own_init(&ids); own_init(&mins); own_init(&maxs); own_init(&ncount); own_init(&pidx);
  struct ArrowSchema ds = {0}, ls = {0};
  if (!off || !perm || !srcs || !srows) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building _pk_index");
    goto done;
  }
  for (uint64_t i = 0; i < n_rows; i++) {
    off[i] = enc.len;
    mw_pk_encode(&enc, pk, &batches[rows[i].batch], rows[i].row);
    perm[i] = i;
  }
  off[n_rows] = enc.len;
  if (!mw_buf_ok(&enc)) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building _pk_index");
    goto done;
  }
  sort_ctx sc = {enc.data, off};
  qsort_r(perm, (size_t)n_rows, sizeof *perm, cmp_rows, &sc);

  bool composite = pk->n > 1;
  mw_type_id vid = composite ? MW_T_BINARY : pk->type[0].id;
  bool ok = true;
  if (composite) {
    /* binary values = the encodings in sorted order */
    own_init(&vals);
    mw_buf_u32le(&vals.b[1], 0);
    for (uint64_t k = 0; k < n_rows; k++) {
      uint64_t i = perm[k];
      bit_set_append(&vals.b[0], (int64_t)k, true);
      mw_buf_append(&vals.b[2], enc.data + off[i], (size_t)(off[i + 1] - off[i]));
      if (vals.b[2].len > INT32_MAX) ok = false;
      mw_buf_u32le(&vals.b[1], (uint32_t)vals.b[2].len);
    }
    if (n_rows == 0) mw_buf_u8(&vals.b[0], 0);
    ok = ok && own_finish(&vals, (int64_t)n_rows, 0, 3);
  } else {
    for (uint64_t k = 0; k < n_rows; k++) {
      const mw_pk_row *r = &rows[perm[k]];
      srcs[k] = batches[r->batch].children[pk->col[0]];
      srows[k] = batches[r->batch].offset + r->row; /* the struct's offset applies to its children */
    }
    ok = gather(&vals, vid, srcs, srows, (int64_t)n_rows);
  }
  own_init(&ids);
  mw_buf_u8(&ids.b[0], 0);
  for (uint64_t k = 0; k < n_rows; k++) mw_buf_u64le(&ids.b[1], perm[k]);
  ok = ok && own_finish(&ids, (int64_t)n_rows, 0, 2);
  if (!ok) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory (or keys over 2 GiB) building _pk_index");
    goto done;
  }

  /* page_data */
  const char *vfmt = composite ? "z" : schema->children[pk->col[0]]->format;
  s = mw_schema_init(&ds, "+s", "", NULL, 0, 2, err);
  if (s == MW_OK) s = mw_schema_init(ds.children[0], vfmt, "values", NULL, ARROW_FLAG_NULLABLE, 0, err);
  if (s == MW_OK) s = mw_schema_init(ds.children[1], "L", "ids", NULL, 0, 0, err);
  if (s != MW_OK) goto done;
  struct ArrowArray *dk[2] = {&vals.a, &ids.a};
  struct ArrowArray db = {.length = (int64_t)n_rows, .n_buffers = 1, .n_children = 2, .children = dk,
                          .release = own_release};
  const void *nobuf[1] = {NULL};
  db.buffers = nobuf;
  s = write_file(data, data_len, &ds, &db, batch_size, err);
  if (s != MW_OK) goto done;

  /* page_lookup */
  uint64_t n_pages = (n_rows + batch_size - 1) / batch_size;
  const struct ArrowArray **msrc = malloc((size_t)(2 * n_pages + 1) * sizeof *msrc);
  int64_t *mrow = malloc((size_t)(2 * n_pages + 1) * sizeof *mrow);
  if (!msrc || !mrow) {
    free(msrc);
    free(mrow);
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building _pk_index");
    goto done;
  }
  own_init(&ncount);
  own_init(&pidx);
  mw_buf_u8(&ncount.b[0], 0);
  mw_buf_u8(&pidx.b[0], 0);
  for (uint64_t p = 0; p < n_pages; p++) {
    uint64_t a = p * batch_size, b = a + batch_size;
    if (b > n_rows) b = n_rows;
    uint32_t nn = 0;
    for (uint64_t k = a; k < b; k++)
      if (!val_valid(&vals.a, (int64_t)k)) nn++;
    msrc[p] = val_valid(&vals.a, (int64_t)a) ? &vals.a : NULL;
    mrow[p] = (int64_t)a;
    msrc[n_pages + p] = val_valid(&vals.a, (int64_t)(b - 1)) ? &vals.a : NULL;
    mrow[n_pages + p] = (int64_t)(b - 1);
    mw_buf_u32le(&ncount.b[1], nn);
    mw_buf_u32le(&pidx.b[1], (uint32_t)p);
  }
  ok = gather(&mins, vid, msrc, mrow, (int64_t)n_pages) &&
       gather(&maxs, vid, msrc + n_pages, mrow + n_pages, (int64_t)n_pages) &&
       own_finish(&ncount, (int64_t)n_pages, 0, 2) && own_finish(&pidx, (int64_t)n_pages, 0, 2);
  free(msrc);
  free(mrow);
  if (!ok) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building _pk_index");
    goto done;
  }
  char bs[24];
  int bsl = snprintf(bs, sizeof bs, "%llu", (unsigned long long)batch_size);
  const mw_kv meta_kv[2] = {{"range_partitioned", 17, "false", 5}, {"batch_size", 10, bs, bsl}};
  bool mok = true;
  char *meta = mw_metadata_build(meta_kv, 2, &mok);
  if (!mok) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory");
    goto done;
  }
  s = mw_schema_init(&ls, "+s", "", meta, 0, 4, err);
  free(meta);
  if (s == MW_OK) s = mw_schema_init(ls.children[0], vfmt, "min", NULL, ARROW_FLAG_NULLABLE, 0, err);
  if (s == MW_OK) s = mw_schema_init(ls.children[1], vfmt, "max", NULL, ARROW_FLAG_NULLABLE, 0, err);
  if (s == MW_OK) s = mw_schema_init(ls.children[2], "I", "null_count", NULL, 0, 0, err);
  if (s == MW_OK) s = mw_schema_init(ls.children[3], "I", "page_idx", NULL, 0, 0, err);
  if (s != MW_OK) goto done;
  struct ArrowArray *lk[4] = {&mins.a, &maxs.a, &ncount.a, &pidx.a};
  struct ArrowArray lb = {.length = (int64_t)n_pages, .n_buffers = 1, .n_children = 4, .children = lk,
                          .release = own_release};
  lb.buffers = nobuf;
  s = write_file(lookup, lookup_len, &ls, &lb, 0, err);

done:
  if (s != MW_OK) {
    free(*data);
    free(*lookup);
    *data = *lookup = NULL;
  }
  mw_schema_release(&ds);
  mw_schema_release(&ls);
  own_free(&vals); own_free(&ids); own_free(&mins); own_free(&maxs); own_free(&ncount); own_free(&pidx);
  mw_buf_free(&enc);
  free(off);
  free(perm);
  free(srcs);
  free(srows);
  return s;
}

mw_status mw_pk_index_build(uint8_t **data, size_t *data_len, uint8_t **lookup, size_t *lookup_len,
                            const struct ArrowSchema *schema, const mw_pk *pk,
                            const struct ArrowArray *batches, const mw_pk_row *rows, uint64_t n_rows,
                            mw_error *err) {
  return build_btree(data, data_len, lookup, lookup_len, schema, pk, batches, rows, n_rows,
                     MW_PK_INDEX_BATCH_SIZE, err);
}

mw_status mw_btree_index_build(uint8_t **data, size_t *data_len, uint8_t **lookup, size_t *lookup_len,
                               const struct ArrowSchema *schema, int col, const struct ArrowArray *batches,
                               const mw_pk_row *rows, uint64_t n_rows, uint64_t batch_size, mw_error *err) {
  *data = *lookup = NULL;
  *data_len = *lookup_len = 0;
  if (col < 0 || col >= schema->n_children) return mw_err(err, MW_ERR_INVALID, "BTree index: no column %d", col);
  if (batch_size == 0) batch_size = MW_BTREE_INDEX_BATCH_SIZE;
  const struct ArrowSchema *f = schema->children[col];
  mw_pk one;
  memset(&one, 0, sizeof one);
  one.n = 1;
  one.col[0] = col;
  MW_TRY(mw_type_from_format(&one.type[0], f->format, err));
  if (!mw_btree_type_ok(one.type[0].id)) {
    char tn[96];
    mw_type_name(tn, sizeof tn, &one.type[0]);
    return mw_err(err, MW_ERR_UNSUPPORTED,
                  "BTree index on column '%s' of type %s (supported: bool, integers, float32/64, strings, "
                  "binary, date, time, timestamp, duration)",
                  f->name, tn);
  }
  return build_btree(data, data_len, lookup, lookup_len, schema, &one, batches, rows, n_rows, batch_size, err);
}

mw_status mw_pk_index_write(mw_objstore *store, const char *prefix, const struct ArrowSchema *schema,
                            const mw_pk *pk, const struct ArrowArray *batches, const mw_pk_row *rows,
                            uint64_t n_rows, mw_error *err) {
  uint8_t *d, *l;
  size_t dl, ll;
  MW_TRY(mw_pk_index_build(&d, &dl, &l, &ll, schema, pk, batches, rows, n_rows, err));
  char key[1024];
  snprintf(key, sizeof key, "%s%s_pk_index/page_data.lance", prefix, prefix[0] ? "/" : "");
  mw_status s = mw_objstore_put_if_absent(store, key, d, dl, err);
  if (s == MW_OK) {
    snprintf(key, sizeof key, "%s%s_pk_index/page_lookup.lance", prefix, prefix[0] ? "/" : "");
    s = mw_objstore_put_if_absent(store, key, l, ll, err);
  }
  free(d);
  free(l);
  return s;
}
