/*
 * take.c - gathers rows of an Arrow C Data array into a new array that owns
 * its buffers (Arrow's "take" kernel), for the table writer, which splits a
 * batch into one sub-batch per shard.
 *
 * Design: one recursive walk over the type (mw_type). Every output node is
 * a `take_node` allocation holding its buffers and its children's
 * ArrowArray structs; the release callback frees the node and its children
 * (children are released through their own callbacks, as the C Data
 * Interface requires). Offsets are honoured at every level (a node's
 * logical row r is physical row offset + r). Validity bitmaps are written
 * only when a taken row is null (null_count 0 otherwise). Lists gather the
 * child rows of the taken list rows, fixed-size lists the rows
 * [r * size, (r + 1) * size) of their child; structs and maps pass the same
 * rows (shifted by the struct's offset) to their children.
 *
 * The input is assumed valid for its schema (the writer validates batches
 * before routing them); row numbers must lie in [0, length).
 */
#include "arrow/take.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

typedef struct take_node {
  const void *bufs[3];
  void *owned[3];
  struct ArrowArray *kids; /* n_children structs */
  struct ArrowArray **kid_ptrs;
  int64_t n_kids;
} take_node;

static void take_release(struct ArrowArray *a) {
  take_node *t = a->private_data;
  if (t) {
    for (int64_t i = 0; i < t->n_kids; i++)
      if (t->kids[i].release) t->kids[i].release(&t->kids[i]);
    for (int i = 0; i < 3; i++) free(t->owned[i]);
    free(t->kids);
    free(t->kid_ptrs);
    free(t);
  }
  a->release = NULL;
}

static bool valid_at(const struct ArrowArray *a, int64_t phys) {
  if (a->null_count == 0 || a->n_buffers < 1 || !a->buffers[0]) return true;
  return mw_bit_get(a->buffers[0], phys);
}

static void bit_set(uint8_t *bm, int64_t i, bool v) {
  if (v) bm[i >> 3] |= (uint8_t)(1u << (i & 7));
  else bm[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

static mw_status take_rec(struct ArrowArray *out, const struct ArrowSchema *schema, const struct ArrowArray *src,
                          const int64_t *rows, int64_t n, int depth, mw_error *err);

/* Allocates the node of `out` with room for n_kids children. */
static mw_status node_new(take_node **t, struct ArrowArray *out, int64_t n_buffers, int64_t n_kids, int64_t n,
                          mw_error *err) {
  *t = calloc(1, sizeof **t);
  if (!*t) return mw_err(err, MW_ERR_NOMEM, "take: out of memory");
  if (n_kids > 0) {
    (*t)->kids = calloc((size_t)n_kids, sizeof *(*t)->kids);
    (*t)->kid_ptrs = calloc((size_t)n_kids, sizeof *(*t)->kid_ptrs);
    if (!(*t)->kids || !(*t)->kid_ptrs) {
      free((*t)->kids);
      free((*t)->kid_ptrs);
      free(*t);
      return mw_err(err, MW_ERR_NOMEM, "take: out of memory");
    }
    for (int64_t i = 0; i < n_kids; i++) (*t)->kid_ptrs[i] = &(*t)->kids[i];
  }
  (*t)->n_kids = n_kids;
  memset(out, 0, sizeof *out);
  out->length = n;
  out->n_buffers = n_buffers;
  out->n_children = n_kids;
  out->buffers = (*t)->bufs;
  out->children = n_kids ? (*t)->kid_ptrs : NULL;
  out->private_data = *t;
  out->release = take_release;
  return MW_OK;
}

/* Validity of the taken rows into buffer 0 (NULL when none is null). */
static mw_status take_validity(take_node *t, struct ArrowArray *out, const struct ArrowArray *src,
                               const int64_t *rows, int64_t n, mw_error *err) {
  int64_t nulls = 0;
  if (src->null_count != 0 && src->n_buffers > 0 && src->buffers[0])
    for (int64_t i = 0; i < n; i++) nulls += !valid_at(src, src->offset + rows[i]);
  out->null_count = nulls;
  if (nulls == 0) return MW_OK;
  uint8_t *bm = calloc((size_t)(n + 7) / 8 + 1, 1);
  if (!bm) return mw_err(err, MW_ERR_NOMEM, "take: out of memory");
  for (int64_t i = 0; i < n; i++) bit_set(bm, i, valid_at(src, src->offset + rows[i]));
  t->owned[0] = bm;
  t->bufs[0] = bm;
  return MW_OK;
}

static mw_status take_fixed(take_node *t, const struct ArrowArray *src, const int64_t *rows, int64_t n, int bits,
                            mw_error *err) {
  size_t bytes = bits == 1 ? (size_t)(n + 7) / 8 + 1 : (size_t)n * (size_t)(bits / 8) + 1;
  uint8_t *v = bits == 1 || !src->buffers[1] ? calloc(bytes, 1) : malloc(bytes);
  if (!v) return mw_err(err, MW_ERR_NOMEM, "take: out of memory");
  const uint8_t *in = src->buffers[1];
  if (bits == 1) {
    for (int64_t i = 0; i < n; i++) bit_set(v, i, in && mw_bit_get(in, src->offset + rows[i]));
  } else if (in) {
    size_t w = (size_t)bits / 8;
    for (int64_t i = 0; i < n; i++) memcpy(v + (size_t)i * w, in + (size_t)(src->offset + rows[i]) * w, w);
  }
  t->owned[1] = v;
  t->bufs[1] = v;
  return MW_OK;
}

static inline int64_t off_at(const void *offs, bool large, int64_t i) {
  return large ? ((const int64_t *)offs)[i] : ((const int32_t *)offs)[i];
}

static mw_status take_var(take_node *t, const struct ArrowArray *src, const int64_t *rows, int64_t n, bool large,
                          mw_error *err) {
  size_t ow = large ? 8 : 4;
  void *offs = malloc((size_t)(n + 1) * ow);
  if (!offs) return mw_err(err, MW_ERR_NOMEM, "take: out of memory");
  t->owned[1] = offs;
  t->bufs[1] = offs;
  const void *in = src->buffers[1];
  const uint8_t *data = src->buffers[2];
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t p = src->offset + rows[i];
    total += off_at(in, large, p + 1) - off_at(in, large, p);
  }
  if (!large && total > INT32_MAX) return mw_err(err, MW_ERR_INVALID, "take: more than 2 GiB of string data");
  uint8_t *d = malloc((size_t)total + 1);
  if (!d) return mw_err(err, MW_ERR_NOMEM, "take: out of memory");
  t->owned[2] = d;
  t->bufs[2] = d;
  int64_t at = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t p = src->offset + rows[i];
    int64_t s = off_at(in, large, p), e = off_at(in, large, p + 1);
    if (large) ((int64_t *)offs)[i] = at;
    else ((int32_t *)offs)[i] = (int32_t)at;
    if (e > s) memcpy(d + at, data + s, (size_t)(e - s));
    at += e - s;
  }
  if (large) ((int64_t *)offs)[n] = at;
  else ((int32_t *)offs)[n] = (int32_t)at;
  return MW_OK;
}

/* List / large list / map: new offsets, and the child rows of the taken
 * lists taken from the child. */
static mw_status take_list(take_node *t, struct ArrowArray *out, const struct ArrowSchema *schema,
                           const struct ArrowArray *src, const int64_t *rows, int64_t n, bool large, int depth,
                           mw_error *err) {
  size_t ow = large ? 8 : 4;
  void *offs = malloc((size_t)(n + 1) * ow);
  if (!offs) return mw_err(err, MW_ERR_NOMEM, "take: out of memory");
  t->owned[1] = offs;
  t->bufs[1] = offs;
  const void *in = src->buffers[1];
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t p = src->offset + rows[i];
    total += off_at(in, large, p + 1) - off_at(in, large, p);
  }
  if (!large && total > INT32_MAX) return mw_err(err, MW_ERR_INVALID, "take: list child longer than 2^31");
  int64_t *kid_rows = malloc((size_t)(total ? total : 1) * sizeof *kid_rows);
  if (!kid_rows) return mw_err(err, MW_ERR_NOMEM, "take: out of memory");
  int64_t at = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t p = src->offset + rows[i];
    int64_t s = off_at(in, large, p), e = off_at(in, large, p + 1);
    if (large) ((int64_t *)offs)[i] = at;
    else ((int32_t *)offs)[i] = (int32_t)at;
    for (int64_t k = s; k < e; k++) kid_rows[at++] = k;
  }
  if (large) ((int64_t *)offs)[n] = at;
  else ((int32_t *)offs)[n] = (int32_t)at;
  mw_status s = take_rec(&t->kids[0], schema->children[0], src->children[0], kid_rows, total, depth + 1, err);
  free(kid_rows);
  (void)out;
  return s;
}

static mw_status take_rec(struct ArrowArray *out, const struct ArrowSchema *schema, const struct ArrowArray *src,
                          const int64_t *rows, int64_t n, int depth, mw_error *err) {
  memset(out, 0, sizeof *out);
  if (depth > 64) return mw_err(err, MW_ERR_UNSUPPORTED, "take: type nested deeper than 64 levels");
  if (schema->dictionary || src->dictionary)
    return mw_err(err, MW_ERR_UNSUPPORTED, "take: dictionary column '%s' cannot be split by shard",
                  schema->name ? schema->name : "");
  mw_type ty;
  MW_TRY(mw_type_from_format(&ty, schema->format, err));
  take_node *t = NULL;
  mw_status s = MW_OK;
  switch (ty.id) {
    case MW_T_NULL:
      MW_TRY(node_new(&t, out, 0, 0, n, err));
      out->null_count = n;
      return MW_OK;
    case MW_T_STRUCT: {
      MW_TRY(node_new(&t, out, 1, schema->n_children, n, err));
      s = take_validity(t, out, src, rows, n, err);
      int64_t *shifted = s == MW_OK ? malloc((size_t)(n ? n : 1) * sizeof *shifted) : NULL;
      if (s == MW_OK && !shifted) s = mw_err(err, MW_ERR_NOMEM, "take: out of memory");
      for (int64_t i = 0; s == MW_OK && i < n; i++) shifted[i] = rows[i] + src->offset;
      for (int64_t c = 0; s == MW_OK && c < schema->n_children; c++)
        s = take_rec(&t->kids[c], schema->children[c], src->children[c], shifted, n, depth + 1, err);
      free(shifted);
      break;
    }
    case MW_T_FIXED_SIZE_LIST: {
      MW_TRY(node_new(&t, out, 1, 1, n, err));
      s = take_validity(t, out, src, rows, n, err);
      /* Fast path (vectors): a fixed-width child without nulls is copied
       * one list (w items) at a time instead of item by item. */
      mw_type ct;
      const struct ArrowArray *ch = src->children[0];
      int cbits = mw_type_from_format(&ct, schema->children[0]->format, NULL) == MW_OK ? mw_type_fixed_bits(&ct) : 0;
      if (s == MW_OK && cbits >= 8 && cbits % 8 == 0 && ch->null_count == 0 && !schema->children[0]->dictionary &&
          ch->n_buffers == 2 && ch->n_children == 0) {
        size_t isz = (size_t)cbits / 8 * (size_t)ty.width;
        take_node *ct_node = NULL;
        s = node_new(&ct_node, &t->kids[0], 2, 0, n * ty.width, err);
        uint8_t *v = s == MW_OK ? malloc((size_t)n * isz + 1) : NULL;
        if (s == MW_OK && !v) s = mw_err(err, MW_ERR_NOMEM, "take: out of memory");
        if (s == MW_OK) {
          const uint8_t *in = ch->buffers[1];
          for (int64_t i = 0; i < n; i++)
            memcpy(v + (size_t)i * isz, in + ((size_t)(src->offset + rows[i]) * (size_t)ty.width + (size_t)ch->offset) * ((size_t)cbits / 8), isz);
          ct_node->owned[1] = v;
          ct_node->bufs[1] = v;
        }
        break;
      }
      int64_t w = ty.width, total = n * w;
      int64_t *kid_rows = s == MW_OK ? malloc((size_t)(total ? total : 1) * sizeof *kid_rows) : NULL;
      if (s == MW_OK && !kid_rows) s = mw_err(err, MW_ERR_NOMEM, "take: out of memory");
      for (int64_t i = 0; s == MW_OK && i < n; i++)
        for (int64_t k = 0; k < w; k++) kid_rows[i * w + k] = (src->offset + rows[i]) * w + k;
      if (s == MW_OK) s = take_rec(&t->kids[0], schema->children[0], src->children[0], kid_rows, total, depth + 1, err);
      free(kid_rows);
      break;
    }
    case MW_T_LIST:
    case MW_T_LARGE_LIST:
    case MW_T_MAP:
      MW_TRY(node_new(&t, out, 2, 1, n, err));
      s = take_validity(t, out, src, rows, n, err);
      if (s == MW_OK) s = take_list(t, out, schema, src, rows, n, ty.id == MW_T_LARGE_LIST, depth, err);
      break;
    case MW_T_UTF8:
    case MW_T_BINARY:
    case MW_T_LARGE_UTF8:
    case MW_T_LARGE_BINARY:
      MW_TRY(node_new(&t, out, 3, 0, n, err));
      s = take_validity(t, out, src, rows, n, err);
      if (s == MW_OK) s = take_var(t, src, rows, n, ty.id == MW_T_LARGE_UTF8 || ty.id == MW_T_LARGE_BINARY, err);
      break;
    default: {
      int bits = mw_type_fixed_bits(&ty);
      if (bits <= 0 || (bits != 1 && bits % 8 != 0))
        return mw_err(err, MW_ERR_UNSUPPORTED, "take: column '%s' of format '%s' cannot be split by shard",
                      schema->name ? schema->name : "", schema->format);
      MW_TRY(node_new(&t, out, 2, 0, n, err));
      s = take_validity(t, out, src, rows, n, err);
      if (s == MW_OK) s = take_fixed(t, src, rows, n, bits, err);
      break;
    }
  }
  if (s != MW_OK) out->release(out);
  return s;
}

mw_status mw_array_take(struct ArrowArray *out, const struct ArrowSchema *schema, const struct ArrowArray *src,
                        const int64_t *rows, int64_t n, mw_error *err) {
  if (!out || !schema || !src || (n > 0 && !rows) || n < 0)
    return mw_err(err, MW_ERR_INVALID, "take: bad arguments");
  for (int64_t i = 0; i < n; i++)
    if (rows[i] < 0 || rows[i] >= src->length)
      return mw_err(err, MW_ERR_INVALID, "take: row %lld out of the array's %lld rows", (long long)rows[i],
                    (long long)src->length);
  return take_rec(out, schema, src, rows, n, 0, err);
}
