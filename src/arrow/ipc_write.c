/* ipc_write.c - Arrow IPC stream encoder (mw_ipc_encode).
 *
 * Stream layout (FORMATS.md part A):
 *   message := FF FF FF FF | i32 LE metadata length M | flatbuffer Message
 *              (M bytes, 8 + M a multiple of 8) | body (bodyLength bytes)
 *   stream  := Schema message (no body) | RecordBatch message* | FF FF FF FF 00 00 00 00
 * Body: the buffers of every node in depth-first pre-order, each starting
 * 8-aligned (zero padding), Buffer.length unpadded. Validity buffers are
 * empty when the node has no nulls.
 *
 * Three passes so the output is allocated once and written once:
 *  1. validate the schema and every batch (nothing is written on failure);
 *  2. plan each batch: FieldNodes plus one "op" per body buffer saying how
 *     to produce it (memcpy, shifted bitmap copy, rebased offsets, zeros),
 *     and build its flatbuffer header into a scratch buffer;
 *  3. allocate the exact total, then copy headers and run the ops.
 * Fixed-width data is one memcpy per buffer; per-value work happens only
 * for sliced var-width/list offsets (rebasing) and unaligned bitmaps.
 * Values are copied as-is: the host must be little-endian (as Arrow IPC
 * streams written here declare). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "arrow/flatbuf_build.h"
#include "common/buf.h"
#include "common/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ipc_write.c copies values verbatim and needs a little-endian host"
#endif

#define MAX_DEPTH 64

/* Arrow Message.fbs ids. */
enum { HDR_SCHEMA = 1, HDR_RECORD_BATCH = 3 };
enum {
  FB_NULL = 1, FB_INT = 2, FB_FLOAT = 3, FB_BINARY = 4, FB_UTF8 = 5, FB_BOOL = 6,
  FB_DECIMAL = 7, FB_DATE = 8, FB_TIME = 9, FB_TIMESTAMP = 10, FB_LIST = 12,
  FB_STRUCT = 13, FB_FIXED_SIZE_BINARY = 15, FB_FIXED_SIZE_LIST = 16, FB_MAP = 17,
  FB_DURATION = 18, FB_LARGE_BINARY = 19, FB_LARGE_UTF8 = 20, FB_LARGE_LIST = 21
};
#define METADATA_VERSION_V5 4

static int64_t align8(int64_t n) { return (n + 7) & ~(int64_t)7; }

/* ------------------------------------------------------------ schema check */

static mw_status check_schema(const struct ArrowSchema *s, const char *path, int depth,
                              mw_error *err) {
  if (depth > MAX_DEPTH)
    return mw_err(err, MW_ERR_INVALID, "column '%s': nesting deeper than %d levels", path, MAX_DEPTH);
  if (s == NULL) return mw_err(err, MW_ERR_INVALID, "column '%s': missing schema", path);
  mw_type t;
  mw_status st = mw_type_from_format(&t, s->format, err);
  if (st != MW_OK) return mw_err_wrap(err, st, "column '%s'", path);
  if (s->dictionary != NULL)
    return mw_err(err, MW_ERR_UNSUPPORTED,
                  "column '%s': dictionary-encoded columns are not supported", path);
  int64_t want = -1;
  switch (t.id) {
    case MW_T_LIST: case MW_T_LARGE_LIST: case MW_T_FIXED_SIZE_LIST: case MW_T_MAP: want = 1; break;
    case MW_T_STRUCT: break;
    default: want = 0; break;
  }
  if (s->n_children < 0 || (want >= 0 && s->n_children != want) ||
      (s->n_children > 0 && s->children == NULL))
    return mw_err(err, MW_ERR_INVALID, "column '%s': type '%s' has %" PRId64 " children", path,
                  s->format, s->n_children);
  if (t.id == MW_T_MAP) {
    const struct ArrowSchema *e = s->children[0];
    if (e == NULL || e->format == NULL || strcmp(e->format, "+s") != 0 || e->n_children != 2)
      return mw_err(err, MW_ERR_INVALID,
                    "column '%s': map child must be a struct of 2 children (key, value)", path);
  }
  for (int64_t i = 0; i < s->n_children; i++) {
    const struct ArrowSchema *c = s->children[i];
    char cpath[256];
    int n; /* checked only to say truncation is fine (a long path is cut) */
    if (c && c->name && c->name[0]) n = snprintf(cpath, sizeof cpath, "%s.%s", path, c->name);
    else n = snprintf(cpath, sizeof cpath, "%s.%" PRId64, path, i);
    if (n < 0) cpath[0] = '\0';
    MW_TRY(check_schema(c, cpath, depth + 1, err));
  }
  return MW_OK;
}

/* ---------------------------------------------------------- schema header */

static void write_kv_vector(mw_fbb *b, uint32_t ref_pos, const char *blob) {
  int32_t n = mw_metadata_count(blob);
  uint32_t vec = mw_fbb_vector(b, (uint32_t)n, 4, 4);
  mw_fbb_patch(b, ref_pos, vec);
  for (int32_t i = 0; i < n && mw_fbb_ok(b); i++) {
    mw_kv kv = mw_metadata_at(blob, i);
    mw_fb_field f[2] = {MW_FB_REF(0), MW_FB_REF(1)};
    uint32_t pos[2];
    uint32_t tab = mw_fbb_table(b, f, 2, pos);
    mw_fbb_patch(b, vec + 4 + 4 * (uint32_t)i, tab);
    uint32_t k = mw_fbb_string(b, kv.key, (size_t)kv.key_len);
    mw_fbb_patch(b, pos[0], k);
    uint32_t v = mw_fbb_string(b, kv.value ? kv.value : "", kv.value ? (size_t)kv.value_len : 0);
    mw_fbb_patch(b, pos[1], v);
  }
}

/* Writes the type table of t; *type_type receives the union tag. */
static uint32_t write_type(mw_fbb *b, const mw_type *t, bool keys_sorted) {
  mw_fb_field f[4];
  int n = 0;
  const char *tz = NULL;
  switch (t->id) {
    case MW_T_NULL: case MW_T_BOOL: case MW_T_UTF8: case MW_T_LARGE_UTF8: case MW_T_BINARY:
    case MW_T_LARGE_BINARY: case MW_T_LIST: case MW_T_LARGE_LIST: case MW_T_STRUCT:
      break;
    case MW_T_INT8: case MW_T_UINT8: case MW_T_INT16: case MW_T_UINT16:
    case MW_T_INT32: case MW_T_UINT32: case MW_T_INT64: case MW_T_UINT64: {
      bool is_signed = t->id == MW_T_INT8 || t->id == MW_T_INT16 || t->id == MW_T_INT32 ||
                       t->id == MW_T_INT64;
      f[n++] = MW_FB_SCALAR(0, 4, mw_type_fixed_bits(t));
      f[n++] = MW_FB_SCALAR(1, 1, is_signed ? 1 : 0);
      break;
    }
    case MW_T_FLOAT16: f[n++] = MW_FB_SCALAR(0, 2, 0); break;
    case MW_T_FLOAT32: f[n++] = MW_FB_SCALAR(0, 2, 1); break;
    case MW_T_FLOAT64: f[n++] = MW_FB_SCALAR(0, 2, 2); break;
    case MW_T_DECIMAL128:
      f[n++] = MW_FB_SCALAR(0, 4, (uint32_t)t->width);
      f[n++] = MW_FB_SCALAR(1, 4, (uint32_t)t->scale);
      f[n++] = MW_FB_SCALAR(2, 4, 128);
      break;
    case MW_T_DATE32: f[n++] = MW_FB_SCALAR(0, 2, 0); break;
    case MW_T_DATE64: f[n++] = MW_FB_SCALAR(0, 2, 1); break;
    case MW_T_TIME32: case MW_T_TIME64:
      f[n++] = MW_FB_SCALAR(0, 2, t->unit);
      f[n++] = MW_FB_SCALAR(1, 4, t->id == MW_T_TIME32 ? 32 : 64);
      break;
    case MW_T_TIMESTAMP:
      f[n++] = MW_FB_SCALAR(0, 2, t->unit);
      if (t->tz[0]) { f[n++] = MW_FB_REF(1); tz = t->tz; }
      break;
    case MW_T_DURATION: f[n++] = MW_FB_SCALAR(0, 2, t->unit); break;
    case MW_T_FIXED_SIZE_BINARY: f[n++] = MW_FB_SCALAR(0, 4, (uint32_t)t->width); break;
    case MW_T_FIXED_SIZE_LIST: f[n++] = MW_FB_SCALAR(0, 4, (uint32_t)t->width); break;
    case MW_T_MAP:
      if (keys_sorted) f[n++] = MW_FB_SCALAR(0, 1, 1);
      break;
  }
  uint32_t pos[4];
  uint32_t tab = mw_fbb_table(b, f, n, pos);
  if (tz) mw_fbb_patch(b, pos[n - 1], mw_fbb_string(b, tz, strlen(tz)));
  return tab;
}

static uint8_t type_tag(mw_type_id id) {
  switch (id) {
    case MW_T_NULL: return FB_NULL;
    case MW_T_BOOL: return FB_BOOL;
    case MW_T_INT8: case MW_T_UINT8: case MW_T_INT16: case MW_T_UINT16:
    case MW_T_INT32: case MW_T_UINT32: case MW_T_INT64: case MW_T_UINT64: return FB_INT;
    case MW_T_FLOAT16: case MW_T_FLOAT32: case MW_T_FLOAT64: return FB_FLOAT;
    case MW_T_UTF8: return FB_UTF8;
    case MW_T_LARGE_UTF8: return FB_LARGE_UTF8;
    case MW_T_BINARY: return FB_BINARY;
    case MW_T_LARGE_BINARY: return FB_LARGE_BINARY;
    case MW_T_FIXED_SIZE_BINARY: return FB_FIXED_SIZE_BINARY;
    case MW_T_DECIMAL128: return FB_DECIMAL;
    case MW_T_DATE32: case MW_T_DATE64: return FB_DATE;
    case MW_T_TIME32: case MW_T_TIME64: return FB_TIME;
    case MW_T_TIMESTAMP: return FB_TIMESTAMP;
    case MW_T_DURATION: return FB_DURATION;
    case MW_T_FIXED_SIZE_LIST: return FB_FIXED_SIZE_LIST;
    case MW_T_LIST: return FB_LIST;
    case MW_T_LARGE_LIST: return FB_LARGE_LIST;
    case MW_T_STRUCT: return FB_STRUCT;
    case MW_T_MAP: return FB_MAP;
  }
  return 0;
}

/* Field table, then: name, children vector (+ each child), type, metadata.
 * The schema was checked already. */
static void write_field(mw_fbb *b, uint32_t slot_pos, const struct ArrowSchema *s) {
  mw_type t;
  if (mw_type_from_format(&t, s->format, NULL) != MW_OK) { b->buf.failed = true; return; }
  mw_fb_field f[6];
  int n = 0, i_name = -1, i_type, i_children, i_meta = -1;
  if (s->name) { i_name = n; f[n++] = MW_FB_REF(0); }
  if (s->flags & ARROW_FLAG_NULLABLE) f[n++] = MW_FB_SCALAR(1, 1, 1);
  f[n++] = MW_FB_SCALAR(2, 1, type_tag(t.id));
  i_type = n; f[n++] = MW_FB_REF(3);
  i_children = n; f[n++] = MW_FB_REF(5);
  if (mw_metadata_count(s->metadata) > 0) { i_meta = n; f[n++] = MW_FB_REF(6); }
  uint32_t pos[6];
  uint32_t tab = mw_fbb_table(b, f, n, pos);
  mw_fbb_patch(b, slot_pos, tab);
  if (i_name >= 0) mw_fbb_patch(b, pos[i_name], mw_fbb_string(b, s->name, strlen(s->name)));
  uint32_t vec = mw_fbb_vector(b, (uint32_t)s->n_children, 4, 4);
  mw_fbb_patch(b, pos[i_children], vec);
  for (int64_t i = 0; i < s->n_children && mw_fbb_ok(b); i++)
    write_field(b, vec + 4 + 4 * (uint32_t)i, s->children[i]);
  mw_fbb_patch(b, pos[i_type], write_type(b, &t, (s->flags & ARROW_FLAG_MAP_KEYS_SORTED) != 0));
  if (i_meta >= 0) write_kv_vector(b, pos[i_meta], s->metadata);
}

static void write_schema_message(mw_fbb *b, const struct ArrowSchema *schema, const char *metadata) {
  mw_fb_field mf[3] = {MW_FB_SCALAR(0, 2, METADATA_VERSION_V5), MW_FB_SCALAR(1, 1, HDR_SCHEMA),
                       MW_FB_REF(2)};
  uint32_t mpos[3];
  uint32_t msg = mw_fbb_table(b, mf, 3, mpos);
  bool has_meta = mw_metadata_count(metadata) > 0;
  mw_fb_field sf[2] = {MW_FB_REF(1), MW_FB_REF(2)};
  uint32_t spos[2];
  uint32_t sch = mw_fbb_table(b, sf, has_meta ? 2 : 1, spos);
  mw_fbb_patch(b, mpos[2], sch);
  uint32_t vec = mw_fbb_vector(b, (uint32_t)schema->n_children, 4, 4);
  mw_fbb_patch(b, spos[0], vec);
  for (int64_t i = 0; i < schema->n_children && mw_fbb_ok(b); i++)
    write_field(b, vec + 4 + 4 * (uint32_t)i, schema->children[i]);
  if (has_meta) write_kv_vector(b, spos[1], metadata);
  mw_fbb_finish(b, msg);
}

/* ------------------------------------------------------------ batch plans */

enum { OP_COPY, OP_BITS, OP_OFFS32, OP_OFFS64, OP_ZERO };

typedef struct enc_op {
  int kind;
  const uint8_t *src;
  int64_t start;   /* OP_BITS: first bit; OP_OFFS*: first element */
  int64_t count;   /* OP_BITS: bits; OP_OFFS*: elements; OP_COPY/ZERO: bytes */
  int64_t base;    /* OP_OFFS*: subtracted from every offset */
  int64_t out_off; /* position in the body */
  int64_t out_len; /* Buffer.length (unpadded) */
} enc_op;

typedef struct enc_node {
  int64_t length, null_count;
} enc_node;

typedef struct enc_plan {
  enc_node *nodes;
  size_t n_nodes, cap_nodes;
  enc_op *ops; /* every buffer of every batch, in body order */
  size_t n_ops, cap_ops;
  int64_t body_len; /* of the batch being planned */
  bool oom;
} enc_plan;

static void plan_node(enc_plan *p, int64_t length, int64_t null_count) {
  if (p->n_nodes == p->cap_nodes) {
    size_t cap = p->cap_nodes ? p->cap_nodes * 2 : 16;
    enc_node *n = realloc(p->nodes, cap * sizeof *n);
    if (!n) { p->oom = true; return; }
    p->nodes = n;
    p->cap_nodes = cap;
  }
  p->nodes[p->n_nodes++] = (enc_node){length, null_count};
}

static void plan_buf(enc_plan *p, int kind, const void *src, int64_t start, int64_t count,
                     int64_t base, int64_t out_len) {
  if (p->n_ops == p->cap_ops) {
    size_t cap = p->cap_ops ? p->cap_ops * 2 : 32;
    enc_op *o = realloc(p->ops, cap * sizeof *o);
    if (!o) { p->oom = true; return; }
    p->ops = o;
    p->cap_ops = cap;
  }
  p->ops[p->n_ops++] = (enc_op){kind, (const uint8_t *)src, start, count, base, p->body_len, out_len};
  p->body_len += align8(out_len);
}

static void plan_empty(enc_plan *p) { plan_buf(p, OP_COPY, NULL, 0, 0, 0, 0); }

/* Number of zero bits in bits [start, start + n) of bitmap. */
static int64_t count_zeros(const uint8_t *bm, int64_t start, int64_t n) {
  int64_t ones = 0, i = start, end = start + n;
  while (i < end && (i & 7)) { ones += (bm[i >> 3] >> (i & 7)) & 1; i++; }
  const uint8_t *q = bm + (i >> 3);
  for (; i + 64 <= end; i += 64, q += 8) {
    uint64_t w;
    memcpy(&w, q, 8);
    ones += __builtin_popcountll(w);
  }
  for (; i < end; i++) ones += (bm[i >> 3] >> (i & 7)) & 1;
  return n - ones;
}

/* Nulls in rows [abs, abs + len) of a; `whole` = that range is a's own slice
 * so a->null_count applies when known. */
static int64_t range_nulls(const struct ArrowArray *a, int64_t abs, int64_t len, bool whole) {
  if (a->null_count == 0 || len == 0 || a->buffers[0] == NULL) return 0;
  if (whole && a->null_count > 0) return a->null_count;
  return count_zeros(a->buffers[0], abs, len);
}

static int64_t load_off(const void *buf, bool large, int64_t i) {
  if (large) return ((const int64_t *)buf)[i];
  return ((const int32_t *)buf)[i];
}

static void plan_offsets(enc_plan *p, const void *offs, bool large, int64_t abs, int64_t len,
                         int64_t *first, int64_t *last) {
  int w = large ? 8 : 4;
  if (len == 0) { /* one zero offset: readers expect length + 1 entries */
    *first = *last = 0;
    plan_buf(p, OP_ZERO, NULL, 0, w, 0, w);
    return;
  }
  *first = load_off(offs, large, abs);
  *last = load_off(offs, large, abs + len);
  if (*first == 0)
    plan_buf(p, OP_COPY, (const uint8_t *)offs + abs * w, 0, (len + 1) * w, 0, (len + 1) * w);
  else
    plan_buf(p, large ? OP_OFFS64 : OP_OFFS32, offs, abs, len + 1, *first, (len + 1) * w);
}

/* Plans rows [abs, abs + len) of a (abs includes a->offset). */
static void plan_array(enc_plan *p, const struct ArrowSchema *s, const struct ArrowArray *a,
                       int64_t abs, int64_t len) {
  mw_type t;
  if (mw_type_from_format(&t, s->format, NULL) != MW_OK) { p->oom = true; return; }
  if (t.id == MW_T_NULL) { plan_node(p, len, len); return; }
  bool whole = abs == a->offset && len == a->length;
  int64_t nulls = range_nulls(a, abs, len, whole);
  plan_node(p, len, nulls);
  if (nulls > 0) plan_buf(p, OP_BITS, a->buffers[0], abs, len, 0, (len + 7) / 8);
  else plan_empty(p);
  switch (t.id) {
    case MW_T_STRUCT:
      for (int64_t i = 0; i < s->n_children; i++) {
        const struct ArrowArray *c = a->children[i];
        plan_array(p, s->children[i], c, c->offset + abs, len);
      }
      return;
    case MW_T_FIXED_SIZE_LIST: {
      const struct ArrowArray *c = a->children[0];
      plan_array(p, s->children[0], c, c->offset + abs * t.width, len * t.width);
      return;
    }
    case MW_T_UTF8: case MW_T_BINARY: case MW_T_LARGE_UTF8: case MW_T_LARGE_BINARY: {
      int64_t first, last;
      plan_offsets(p, a->buffers[1], t.id == MW_T_LARGE_UTF8 || t.id == MW_T_LARGE_BINARY, abs, len,
                   &first, &last);
      plan_buf(p, OP_COPY, last > first ? (const uint8_t *)a->buffers[2] + first : NULL, 0,
               last - first, 0, last - first);
      return;
    }
    case MW_T_LIST: case MW_T_LARGE_LIST: case MW_T_MAP: {
      int64_t first, last;
      plan_offsets(p, a->buffers[1], t.id == MW_T_LARGE_LIST, abs, len, &first, &last);
      const struct ArrowArray *c = a->children[0];
      plan_array(p, s->children[0], c, c->offset + first, last - first);
      return;
    }
    default: {
      int bits = mw_type_fixed_bits(&t);
      if (bits == 1) {
        plan_buf(p, OP_BITS, a->buffers[1], abs, len, 0, (len + 7) / 8);
      } else {
        int64_t bytes = bits / 8;
        plan_buf(p, OP_COPY, len > 0 ? (const uint8_t *)a->buffers[1] + abs * bytes : NULL, 0,
                 len * bytes, 0, len * bytes);
      }
      return;
    }
  }
}

/* RecordBatch message header for the nodes/ops planned last. */
static void write_batch_message(mw_fbb *b, int64_t length, const enc_node *nodes, size_t n_nodes,
                                const enc_op *ops, size_t n_ops, int64_t body_len) {
  mw_fb_field mf[4] = {MW_FB_SCALAR(0, 2, METADATA_VERSION_V5),
                       MW_FB_SCALAR(1, 1, HDR_RECORD_BATCH), MW_FB_REF(2),
                       MW_FB_SCALAR(3, 8, (uint64_t)body_len)};
  uint32_t mpos[4];
  uint32_t msg = mw_fbb_table(b, mf, body_len > 0 ? 4 : 3, mpos);
  mw_fb_field rf[3] = {MW_FB_SCALAR(0, 8, (uint64_t)length), MW_FB_REF(1), MW_FB_REF(2)};
  uint32_t rpos[3];
  uint32_t rb = mw_fbb_table(b, rf, 3, rpos);
  mw_fbb_patch(b, mpos[2], rb);
  uint32_t nv = mw_fbb_vector(b, (uint32_t)n_nodes, 16, 8);
  mw_fbb_patch(b, rpos[1], nv);
  if (mw_fbb_ok(b)) {
    uint8_t *q = mw_fbb_at(b, nv + 4);
    for (size_t i = 0; i < n_nodes; i++, q += 16) {
      mw_store_u64le(q, (uint64_t)nodes[i].length);
      mw_store_u64le(q + 8, (uint64_t)nodes[i].null_count);
    }
  }
  uint32_t bv = mw_fbb_vector(b, (uint32_t)n_ops, 16, 8);
  mw_fbb_patch(b, rpos[2], bv);
  if (mw_fbb_ok(b)) {
    uint8_t *q = mw_fbb_at(b, bv + 4);
    for (size_t i = 0; i < n_ops; i++, q += 16) {
      mw_store_u64le(q, (uint64_t)ops[i].out_off);
      mw_store_u64le(q + 8, (uint64_t)ops[i].out_len);
    }
  }
  mw_fbb_finish(b, msg);
}

/* ------------------------------------------------------------- body fill */

static void copy_bits(uint8_t *dst, const uint8_t *src, int64_t start, int64_t nbits) {
  int64_t nbytes = (nbits + 7) / 8;
  const uint8_t *s = src + (start >> 3);
  int sh = (int)(start & 7);
  if (sh == 0) {
    memcpy(dst, s, (size_t)nbytes);
  } else {
    int64_t last_src = (sh + nbits - 1) >> 3; /* last source byte index needed */
    for (int64_t j = 0; j < nbytes; j++) {
      unsigned v = (unsigned)s[j] >> sh;
      if (j + 1 <= last_src) v |= (unsigned)s[j + 1] << (8 - sh);
      dst[j] = (uint8_t)v;
    }
  }
  if (nbits & 7) dst[nbytes - 1] &= (uint8_t)((1u << (nbits & 7)) - 1); /* deterministic tail */
}

static void run_op(uint8_t *body, const enc_op *op) {
  uint8_t *dst = body + op->out_off;
  switch (op->kind) {
    case OP_COPY:
      if (op->count > 0) memcpy(dst, op->src, (size_t)op->count);
      break;
    case OP_ZERO: memset(dst, 0, (size_t)op->count); break;
    case OP_BITS:
      if (op->count > 0) copy_bits(dst, op->src, op->start, op->count);
      break;
    case OP_OFFS32: {
      const int32_t *s = (const int32_t *)op->src + op->start;
      int32_t *d = (int32_t *)(void *)dst, base = (int32_t)op->base;
      for (int64_t i = 0; i < op->count; i++) d[i] = s[i] - base;
      break;
    }
    case OP_OFFS64: {
      const int64_t *s = (const int64_t *)op->src + op->start;
      int64_t *d = (int64_t *)(void *)dst;
      for (int64_t i = 0; i < op->count; i++) d[i] = s[i] - op->base;
      break;
    }
  }
  int64_t pad = align8(op->out_len) - op->out_len;
  if (pad) memset(dst + op->out_len, 0, (size_t)pad);
}

/* ------------------------------------------------------------------ encode */

typedef struct batch_info {
  size_t meta_off, meta_len; /* in the scratch buffer */
  size_t op_first, op_count;
  int64_t body_len;
} batch_info;

static void put_prefix(uint8_t *p, size_t meta_len) {
  mw_store_u32le(p, 0xFFFFFFFFu);
  mw_store_u32le(p + 4, (uint32_t)meta_len);
}

mw_status mw_ipc_encode(void **out_data, size_t *out_len, const struct ArrowSchema *schema,
                        const struct ArrowArray *const *batches, size_t n_batches,
                        const char *extra_metadata, mw_error *err) {
  if (out_data == NULL || out_len == NULL)
    return mw_err(err, MW_ERR_INVALID, "mw_ipc_encode: NULL output pointer");
  *out_data = NULL;
  *out_len = 0;
  if (schema == NULL || schema->release == NULL)
    return mw_err(err, MW_ERR_INVALID, "mw_ipc_encode: schema is missing or released");
  if (schema->format == NULL || strcmp(schema->format, "+s") != 0)
    return mw_err(err, MW_ERR_INVALID, "mw_ipc_encode: schema must be a struct (\"+s\"), got '%s'",
                  schema->format ? schema->format : "(null)");
  if (n_batches > 0 && batches == NULL)
    return mw_err(err, MW_ERR_INVALID, "mw_ipc_encode: batches is NULL");
  if (schema->n_children < 0 || (schema->n_children > 0 && schema->children == NULL))
    return mw_err(err, MW_ERR_INVALID, "mw_ipc_encode: schema has a broken children list");
  for (int64_t i = 0; i < schema->n_children; i++) {
    const struct ArrowSchema *c = schema->children[i];
    char path[256];
    if (c && c->name && c->name[0]) snprintf(path, sizeof path, "%s", c->name);
    else snprintf(path, sizeof path, "%" PRId64, i);
    MW_TRY(check_schema(c, path, 1, err));
  }
  for (size_t i = 0; i < n_batches; i++) {
    mw_status st = mw_batch_validate(schema, batches[i], err);
    if (st != MW_OK) return mw_err_wrap(err, st, "batch %zu", i);
  }

  mw_status st = MW_OK;
  mw_fbb fbb;
  mw_fbb_init(&fbb);
  mw_buf scratch; /* every message header, back to back */
  mw_buf_init(&scratch);
  enc_plan plan;
  memset(&plan, 0, sizeof plan);
  batch_info *info = n_batches ? calloc(n_batches, sizeof *info) : NULL;
  char *meta = NULL;
  uint8_t *out = NULL;
  if (n_batches && !info) goto oom;

  bool ok = true;
  meta = mw_metadata_merge(schema->metadata, extra_metadata, &ok);
  if (!ok) goto oom;
  write_schema_message(&fbb, schema, meta);
  if (!mw_fbb_ok(&fbb)) goto oom;
  size_t schema_meta_len = fbb.buf.len;
  mw_buf_append(&scratch, fbb.buf.data, fbb.buf.len);
  uint64_t total = 8 + (uint64_t)schema_meta_len + 8;

  for (size_t i = 0; i < n_batches; i++) {
    const struct ArrowArray *bt = batches[i];
    plan.n_nodes = 0;
    plan.body_len = 0;
    info[i].op_first = plan.n_ops;
    for (int64_t c = 0; c < schema->n_children; c++) {
      const struct ArrowArray *col = bt->children[c];
      plan_array(&plan, schema->children[c], col, col->offset + bt->offset, bt->length);
    }
    if (plan.oom) goto oom;
    info[i].op_count = plan.n_ops - info[i].op_first;
    info[i].body_len = plan.body_len;
    mw_fbb_reset(&fbb);
    write_batch_message(&fbb, bt->length, plan.nodes, plan.n_nodes, plan.ops + info[i].op_first,
                        info[i].op_count, plan.body_len);
    if (!mw_fbb_ok(&fbb)) goto oom;
    info[i].meta_off = scratch.len;
    info[i].meta_len = fbb.buf.len;
    mw_buf_append(&scratch, fbb.buf.data, fbb.buf.len);
    total += 8 + (uint64_t)fbb.buf.len + (uint64_t)plan.body_len;
  }
  if (!mw_buf_ok(&scratch)) goto oom;
  if (total > SIZE_MAX) {
    st = mw_err(err, MW_ERR_INVALID, "mw_ipc_encode: stream of %" PRIu64 " bytes is too large", total);
    goto done;
  }

  out = mw_large_alloc((size_t)total, NULL); /* huge pages from 2 MiB on (common/buf.h) */
  if (!out) goto oom;
  uint8_t *w = out;
  put_prefix(w, schema_meta_len);
  memcpy(w + 8, scratch.data, schema_meta_len);
  w += 8 + schema_meta_len;
  for (size_t i = 0; i < n_batches; i++) {
    put_prefix(w, info[i].meta_len);
    memcpy(w + 8, scratch.data + info[i].meta_off, info[i].meta_len);
    w += 8 + info[i].meta_len;
    for (size_t k = 0; k < info[i].op_count; k++) run_op(w, &plan.ops[info[i].op_first + k]);
    w += info[i].body_len;
  }
  put_prefix(w, 0); /* end of stream */
  w += 8;
  if ((uint64_t)(w - out) != total) {
    st = mw_err(err, MW_ERR_INTERNAL, "mw_ipc_encode: wrote %zu bytes, planned %" PRIu64,
                (size_t)(w - out), total);
    goto done;
  }
  *out_data = out;
  *out_len = (size_t)total;
  out = NULL;
  goto done;

oom:
  st = mw_err(err, MW_ERR_NOMEM, "mw_ipc_encode: out of memory");
done:
  free(out);
  free(meta);
  free(info);
  free(plan.nodes);
  free(plan.ops);
  mw_buf_free(&scratch);
  mw_fbb_free(&fbb);
  return st;
}
