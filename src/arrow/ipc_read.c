/* ipc_read.c - the Arrow IPC stream decoder (mw_ipc_decode).
 *
 * Stream layout: a sequence of messages, each
 *   [FF FF FF FF] int32 LE metadata length M, M bytes of flatbuffer Message,
 *   then Message.bodyLength bytes of body.
 * (the FF marker is optional: old writers omit it). M == 0 ends the stream;
 * so does the end of the input after a complete message. The first message
 * must be the Schema; RecordBatch messages follow. The body of a batch holds
 * the buffers of its columns in depth-first pre-order of the fields; the
 * Message lists one FieldNode {length, null_count} per field and one Buffer
 * {offset, length} per buffer (see FORMATS.md part A).
 *
 * Memory: the schema is an owned ArrowSchema. Each batch's buffers live in
 * ONE allocation (rd_body: a copy of the body, or the decompressed buffers
 * laid out 8-aligned), shared by reference count among all the ArrowArray
 * nodes of that batch; every node (root, column, nested child) holds one
 * reference, so nodes may be released in any order or moved out of their
 * parent. The input is hostile: every length/offset is checked before use,
 * and errors say "at byte N" (N = offset in the input). */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <zstd.h>

#include "arrow/c_data.h"
#include "arrow/flatbuf_read.h"
#include "arrow/ipc.h"
#include "common/buf.h"
#include "common/error.h"

#define RD_MAX_FIELDS 65536
#define RD_MAX_LENGTH INT32_MAX            /* rows per array */
#define RD_MAX_BUFFER (UINT64_C(1) << 30)  /* one decompressed buffer */
#define RD_MAX_TOTAL (UINT64_C(1) << 31)   /* all decompressed buffers of a batch */

/* Arrow flatbuffer enums used here. */
enum { MSG_SCHEMA = 1, MSG_DICTIONARY = 2, MSG_RECORD_BATCH = 3 };
enum {
  TY_NULL = 1, TY_INT = 2, TY_FLOAT = 3, TY_BINARY = 4, TY_UTF8 = 5, TY_BOOL = 6,
  TY_DECIMAL = 7, TY_DATE = 8, TY_TIME = 9, TY_TIMESTAMP = 10, TY_LIST = 12,
  TY_STRUCT = 13, TY_FSB = 15, TY_FSL = 16, TY_MAP = 17, TY_DURATION = 18,
  TY_LARGE_BINARY = 19, TY_LARGE_UTF8 = 20, TY_LARGE_LIST = 21
};

/* One schema field in depth-first pre-order (the order of FieldNodes). */
typedef struct rd_field {
  mw_type type;
  int64_t n_children;
  const char *name; /* owned by the output schema */
} rd_field;

typedef struct rd_body rd_body;

typedef struct rd {
  rd_body *shared; /* the input itself, when the caller handed it over */
  const uint8_t *in;
  size_t len;
  struct ArrowSchema schema;
  bool have_schema;
  rd_field *fields;
  size_t n_fields, cap_fields;
  struct ArrowArray *batches;
  size_t n_batches, cap_batches;
} rd;

/* -------------------------------------------------------- shared bodies */

/* A reference-counted block the arrays point into: either a copy of one
 * batch's body (the data follows the header), or, for
 * mw_ipc_decode_take, the caller's whole input buffer (`ext`), shared by
 * every batch of the stream so that nothing is copied. */
struct rd_body {
  atomic_long refs;
  uint8_t *ext; /* owned input buffer, or NULL: data follows the header */
  void (*ext_free)(void *); /* how ext is freed (free, mw_slab_free) */
};

static uint8_t *body_data(rd_body *b) { return (uint8_t *)(b + 1); }

static void body_unref(rd_body *b) {
  if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
    if (b->ext) b->ext_free(b->ext);
    free(b);
  }
}

/* Zero bytes for the offsets/values of empty arrays (never written). */
static const int64_t rd_zeros[2] = {0, 0};

/* Private data of one array node; the child structs live in the same block. */
typedef struct rd_arr {
  rd_body *body;
  const void *buffers[3];
  struct ArrowArray **children;
} rd_arr;

static void arr_release(struct ArrowArray *a) {
  if (!a || !a->release) return;
  rd_arr *p = a->private_data;
  for (int64_t i = 0; i < a->n_children; i++) {
    struct ArrowArray *c = p->children[i];
    if (c->release) c->release(c); /* skipped if moved out */
  }
  body_unref(p->body);
  free(p);
  a->release = NULL;
}

/* Initialises *out with n_children zeroed child slots and a body reference. */
static mw_status arr_init(struct ArrowArray *out, rd_body *body, int64_t n_children, mw_error *err) {
  size_t n = (size_t)n_children;
  rd_arr *p = calloc(1, sizeof *p + n * (sizeof(struct ArrowArray *) + sizeof(struct ArrowArray)));
  if (!p) return mw_err(err, MW_ERR_NOMEM, "out of memory decoding a record batch");
  p->children = (struct ArrowArray **)(p + 1);
  struct ArrowArray *slots = (struct ArrowArray *)(p->children + n);
  for (size_t i = 0; i < n; i++) p->children[i] = &slots[i];
  atomic_fetch_add(&body->refs, 1);
  p->body = body;
  memset(out, 0, sizeof *out);
  out->n_children = n_children;
  out->buffers = p->buffers;
  out->children = n ? p->children : NULL;
  out->private_data = p;
  out->release = arr_release;
  return MW_OK;
}

/* ---------------------------------------------------------------- schema */

static mw_status push_field(rd *r, const rd_field *f, mw_error *err) {
  if (r->n_fields == r->cap_fields) {
    size_t cap = r->cap_fields ? r->cap_fields * 2 : 16;
    rd_field *nf = realloc(r->fields, cap * sizeof *nf);
    if (!nf) return mw_err(err, MW_ERR_NOMEM, "out of memory decoding a schema");
    r->fields = nf;
    r->cap_fields = cap;
  }
  r->fields[r->n_fields++] = *f;
  return MW_OK;
}

/* custom_metadata [KeyValue] at `slot` of t -> malloc'ed blob (NULL if none). */
static mw_status read_metadata(char **out, const mw_fb_table *t, int slot, mw_error *err) {
  mw_fb_vec v;
  bool present;
  *out = NULL;
  MW_TRY(mw_fb_vector(t, slot, 4, &v, &present, err));
  if (!present || v.n == 0) return MW_OK;
  mw_kv *kv = calloc(v.n, sizeof *kv);
  if (!kv) return mw_err(err, MW_ERR_NOMEM, "out of memory decoding metadata");
  mw_status s = MW_OK;
  for (uint32_t i = 0; i < v.n && s == MW_OK; i++) {
    mw_fb_table e;
    const char *str;
    uint32_t n;
    kv[i].key = kv[i].value = "";
    s = mw_fb_vec_table(&v, i, &e, err);
    if (s == MW_OK) s = mw_fb_string(&e, 0, &str, &n, &present, err);
    if (s == MW_OK && present) kv[i].key = str, kv[i].key_len = (int32_t)n;
    if (s == MW_OK) s = mw_fb_string(&e, 1, &str, &n, &present, err);
    /* lengths fit in int32: the whole message is shorter than 2^31 bytes */
    if (s == MW_OK && present) kv[i].value = str, kv[i].value_len = (int32_t)n;
  }
  if (s == MW_OK) {
    bool ok;
    *out = mw_metadata_build(kv, (int32_t)v.n, &ok);
    if (!ok) s = mw_err(err, MW_ERR_NOMEM, "out of memory decoding metadata");
  }
  free(kv);
  return s;
}

static mw_status bad_type(const mw_fb_table *t, const char *name, const char *what, mw_error *err) {
  return mw_err(err, MW_ERR_CORRUPT, "field '%s': %s at byte %" PRIu64, name, what,
                mw_fb_where(t->fb, t->pos));
}

/* Fills *ty from the Type union (type_type id + table); also checks the
 * number of children the type needs. */
static mw_status read_type(mw_type *ty, const mw_fb_table *field, uint8_t id, const char *name,
                           uint32_t n_children, mw_error *err) {
  mw_fb_table t;
  bool present;
  MW_TRY(mw_fb_table_field(field, 3, &t, &present, err));
  if (!present) t = *field, t.vt_len = 4; /* absent: every member at its default */
  memset(ty, 0, sizeof *ty);
  int64_t want_children = 0; /* -1 = any */
  int32_t i32;
  int16_t i16;
  bool b;
  switch (id) {
    case TY_NULL: ty->id = MW_T_NULL; break;
    case TY_INT: {
      MW_TRY(mw_fb_i32(&t, 0, 0, &i32, err));
      MW_TRY(mw_fb_bool(&t, 1, false, &b, err));
      switch (i32) {
        case 8: ty->id = b ? MW_T_INT8 : MW_T_UINT8; break;
        case 16: ty->id = b ? MW_T_INT16 : MW_T_UINT16; break;
        case 32: ty->id = b ? MW_T_INT32 : MW_T_UINT32; break;
        case 64: ty->id = b ? MW_T_INT64 : MW_T_UINT64; break;
        default: return bad_type(&t, name, "bad Int bitWidth", err);
      }
      break;
    }
    case TY_FLOAT:
      MW_TRY(mw_fb_i16(&t, 0, 0, &i16, err));
      if (i16 < 0 || i16 > 2) return bad_type(&t, name, "bad FloatingPoint precision", err);
      ty->id = i16 == 0 ? MW_T_FLOAT16 : i16 == 1 ? MW_T_FLOAT32 : MW_T_FLOAT64;
      break;
    case TY_BINARY: ty->id = MW_T_BINARY; break;
    case TY_UTF8: ty->id = MW_T_UTF8; break;
    case TY_BOOL: ty->id = MW_T_BOOL; break;
    case TY_LARGE_BINARY: ty->id = MW_T_LARGE_BINARY; break;
    case TY_LARGE_UTF8: ty->id = MW_T_LARGE_UTF8; break;
    case TY_DECIMAL: {
      int32_t prec, scale, bits;
      MW_TRY(mw_fb_i32(&t, 0, 0, &prec, err));
      MW_TRY(mw_fb_i32(&t, 1, 0, &scale, err));
      MW_TRY(mw_fb_i32(&t, 2, 128, &bits, err));
      if (bits != 128)
        return mw_err(err, MW_ERR_UNSUPPORTED, "field '%s': decimal bitWidth %d is not supported",
                      name, (int)bits);
      if (prec < 1 || prec > 38 || scale < -38 || scale > 38)
        return bad_type(&t, name, "bad Decimal precision/scale", err);
      ty->id = MW_T_DECIMAL128;
      ty->width = prec;
      ty->scale = scale;
      break;
    }
    case TY_DATE:
      MW_TRY(mw_fb_i16(&t, 0, 1, &i16, err));
      if (i16 != 0 && i16 != 1) return bad_type(&t, name, "bad Date unit", err);
      ty->id = i16 == 0 ? MW_T_DATE32 : MW_T_DATE64;
      break;
    case TY_TIME:
      MW_TRY(mw_fb_i16(&t, 0, 1, &i16, err));
      MW_TRY(mw_fb_i32(&t, 1, 32, &i32, err));
      if (i16 < 0 || i16 > 3 || i32 != (i16 <= 1 ? 32 : 64))
        return bad_type(&t, name, "bad Time unit/bitWidth", err);
      ty->id = i32 == 32 ? MW_T_TIME32 : MW_T_TIME64;
      ty->unit = (mw_time_unit)i16;
      break;
    case TY_TIMESTAMP: {
      const char *tz;
      uint32_t tzlen;
      MW_TRY(mw_fb_i16(&t, 0, 0, &i16, err));
      if (i16 < 0 || i16 > 3) return bad_type(&t, name, "bad Timestamp unit", err);
      MW_TRY(mw_fb_string(&t, 1, &tz, &tzlen, &present, err));
      ty->id = MW_T_TIMESTAMP;
      ty->unit = (mw_time_unit)i16;
      if (present) {
        if (tzlen >= MW_TZ_MAX || strlen(tz) != tzlen)
          return bad_type(&t, name, "bad Timestamp timezone", err);
        memcpy(ty->tz, tz, tzlen + 1);
      }
      break;
    }
    case TY_DURATION:
      MW_TRY(mw_fb_i16(&t, 0, 1, &i16, err));
      if (i16 < 0 || i16 > 3) return bad_type(&t, name, "bad Duration unit", err);
      ty->id = MW_T_DURATION;
      ty->unit = (mw_time_unit)i16;
      break;
    case TY_FSB:
      MW_TRY(mw_fb_i32(&t, 0, 0, &i32, err));
      if (i32 < 1) return bad_type(&t, name, "bad FixedSizeBinary byteWidth", err);
      ty->id = MW_T_FIXED_SIZE_BINARY;
      ty->width = i32;
      break;
    case TY_LIST: ty->id = MW_T_LIST; want_children = 1; break;
    case TY_LARGE_LIST: ty->id = MW_T_LARGE_LIST; want_children = 1; break;
    case TY_FSL:
      MW_TRY(mw_fb_i32(&t, 0, 0, &i32, err));
      if (i32 < 1) return bad_type(&t, name, "bad FixedSizeList listSize", err);
      ty->id = MW_T_FIXED_SIZE_LIST;
      ty->width = i32;
      want_children = 1;
      break;
    case TY_STRUCT: ty->id = MW_T_STRUCT; want_children = -1; break;
    case TY_MAP:
      MW_TRY(mw_fb_bool(&t, 0, false, &b, err));
      ty->id = MW_T_MAP;
      ty->keys_sorted = b;
      want_children = 1;
      break;
    default:
      return mw_err(err, MW_ERR_UNSUPPORTED,
                    "field '%s': Arrow type id %d is not supported (at byte %" PRIu64 ")", name,
                    (int)id, mw_fb_where(field->fb, field->pos));
  }
  if (want_children >= 0 && (int64_t)n_children != want_children)
    return mw_err(err, MW_ERR_CORRUPT, "field '%s': %u children, type needs %d at byte %" PRIu64,
                  name, n_children, (int)want_children, mw_fb_where(field->fb, field->pos));
  return MW_OK;
}

static mw_status read_field(rd *r, const mw_fb_table *f, struct ArrowSchema *out, mw_error *err) {
  const char *name = "";
  uint32_t name_len;
  bool present, nullable;
  uint8_t type_id;
  mw_fb_vec children = {0};
  mw_fb_table dict;

  if (r->n_fields >= RD_MAX_FIELDS)
    return mw_err(err, MW_ERR_CORRUPT, "more than %d fields at byte %" PRIu64, RD_MAX_FIELDS,
                  mw_fb_where(f->fb, f->pos));
  MW_TRY(mw_fb_string(f, 0, &name, &name_len, &present, err));
  if (!present) name = "";
  MW_TRY(mw_fb_bool(f, 1, false, &nullable, err));
  MW_TRY(mw_fb_u8(f, 2, 0, &type_id, err));
  MW_TRY(mw_fb_table_field(f, 4, &dict, &present, err));
  if (present)
    return mw_err(err, MW_ERR_UNSUPPORTED, "dictionary-encoded field '%s' is not supported", name);
  MW_TRY(mw_fb_vector(f, 5, 4, &children, &present, err));
  if (!present) children.n = 0;

  rd_field rf = {.n_children = children.n};
  MW_TRY(read_type(&rf.type, f, type_id, name, children.n, err));
  if (rf.type.id == MW_T_MAP) {
    /* the single child must be a struct<key, value> (checked below) */
  }
  char fmt[96];
  mw_type_to_format(fmt, sizeof fmt, &rf.type);
  char *md;
  MW_TRY(read_metadata(&md, f, 6, err));
  int64_t flags = (nullable ? ARROW_FLAG_NULLABLE : 0) |
                  (rf.type.keys_sorted ? ARROW_FLAG_MAP_KEYS_SORTED : 0);
  mw_status s = mw_schema_init(out, fmt, name, md, flags, children.n, err);
  free(md);
  MW_TRY(s);
  rf.name = out->name;
  MW_TRY(push_field(r, &rf, err)); /* out is released by the caller's root */
  size_t my_index = r->n_fields - 1;
  for (uint32_t i = 0; i < children.n; i++) {
    mw_fb_table c;
    MW_TRY(mw_fb_vec_table(&children, i, &c, err));
    MW_TRY(read_field(r, &c, out->children[i], err));
  }
  if (rf.type.id == MW_T_MAP) {
    const rd_field *entries = &r->fields[my_index + 1];
    if (entries->type.id != MW_T_STRUCT || entries->n_children != 2 ||
        (out->children[0]->children[0]->flags & ARROW_FLAG_NULLABLE))
      return mw_err(err, MW_ERR_CORRUPT,
                    "field '%s': map entries must be a struct of a non-null key and a value "
                    "at byte %" PRIu64,
                    name, mw_fb_where(f->fb, f->pos));
  }
  return MW_OK;
}

static mw_status read_schema(rd *r, const mw_fb_table *msg_schema, mw_error *err) {
  int16_t endian;
  mw_fb_vec fields;
  bool present;
  MW_TRY(mw_fb_i16(msg_schema, 0, 0, &endian, err));
  if (endian != 0)
    return mw_err(err, MW_ERR_UNSUPPORTED, "big-endian Arrow streams are not supported (at byte %" PRIu64 ")",
                  mw_fb_where(msg_schema->fb, msg_schema->pos));
  MW_TRY(mw_fb_vector(msg_schema, 1, 4, &fields, &present, err));
  if (!present) fields.n = 0;
  char *md;
  MW_TRY(read_metadata(&md, msg_schema, 2, err));
  mw_status s = mw_schema_init(&r->schema, "+s", "", md, 0, fields.n, err);
  free(md);
  MW_TRY(s);
  r->have_schema = true;
  for (uint32_t i = 0; i < fields.n; i++) {
    mw_fb_table f;
    MW_TRY(mw_fb_vec_table(&fields, i, &f, err));
    MW_TRY(read_field(r, &f, r->schema.children[i], err));
  }
  return MW_OK;
}

/* --------------------------------------------------------- record batches */

typedef struct rd_buf {
  const uint8_t *ptr; /* into the body store; NULL when len == 0 */
  int64_t len;
  uint64_t where; /* input offset of the buffer (for errors) */
} rd_buf;

typedef struct rd_batch {
  mw_fb_vec nodes, buffers;
  uint32_t node_i, buf_i;
  rd_buf *bufs;
  rd_body *body;
  uint64_t msg_where;
} rd_batch;

static uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

static mw_status decompress_lz4(uint8_t *dst, size_t cap, const uint8_t *src, size_t n,
                                uint64_t where, mw_error *err) {
  LZ4F_dctx *dctx;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
    return mw_err(err, MW_ERR_NOMEM, "out of memory creating an LZ4 context");
  size_t done = 0;
  mw_status s = MW_OK;
  uint8_t scratch[64];
  for (;;) {
    bool full = done == cap;
    size_t dsz = full ? sizeof scratch : cap - done, ssz = n;
    size_t rc = LZ4F_decompress(dctx, full ? scratch : dst + done, &dsz, src, &ssz, NULL);
    if (LZ4F_isError(rc)) {
      s = mw_err(err, MW_ERR_CORRUPT, "bad LZ4 frame (%s) at byte %" PRIu64,
                 LZ4F_getErrorName(rc), where);
      break;
    }
    if (full && dsz > 0) {
      s = mw_err(err, MW_ERR_CORRUPT,
                 "LZ4 data larger than its declared length %zu at byte %" PRIu64, cap, where);
      break;
    }
    src += ssz;
    n -= ssz;
    if (!full) done += dsz;
    if (rc == 0) break; /* frame complete */
    if (ssz == 0 && dsz == 0) {
      s = mw_err(err, MW_ERR_CORRUPT, "truncated LZ4 frame at byte %" PRIu64, where);
      break;
    }
  }
  LZ4F_freeDecompressionContext(dctx);
  if (s == MW_OK && done != cap)
    s = mw_err(err, MW_ERR_CORRUPT,
               "LZ4 data is %zu bytes, declared %zu at byte %" PRIu64, done, cap, where);
  return s;
}

static mw_status decompress_zstd(uint8_t *dst, size_t cap, const uint8_t *src, size_t n,
                                 uint64_t where, mw_error *err) {
  uint8_t scratch[8];
  size_t rc = ZSTD_decompress(cap ? dst : scratch, cap ? cap : sizeof scratch, src, n);
  if (ZSTD_isError(rc))
    return mw_err(err, MW_ERR_CORRUPT, "bad zstd frame (%s) at byte %" PRIu64,
                  ZSTD_getErrorName(rc), where);
  if (rc != cap)
    return mw_err(err, MW_ERR_CORRUPT,
                  "zstd data is %zu bytes, declared %zu at byte %" PRIu64, rc, cap, where);
  return MW_OK;
}

/* Checks every Buffer against the body and builds the batch's body store
 * (copy, or decompressed buffers), filling b->bufs. codec -1 = none. */
static mw_status load_buffers(rd_batch *b, rd_body *shared, const uint8_t *body, uint64_t body_len,
                              uint64_t body_where, int codec, mw_error *err) {
  uint32_t n = b->buffers.n;
  b->bufs = calloc(n ? n : 1, sizeof *b->bufs);
  if (!b->bufs) return mw_err(err, MW_ERR_NOMEM, "out of memory decoding a record batch");
  uint64_t *slot = calloc(n ? n : 1, sizeof *slot); /* store offset (compressed case) */
  if (!slot) return mw_err(err, MW_ERR_NOMEM, "out of memory decoding a record batch");
  mw_status s = MW_OK;
  uint64_t total = codec < 0 ? body_len : 0;
  for (uint32_t i = 0; i < n && s == MW_OK; i++) {
    const uint8_t *e = mw_fb_vec_at(&b->buffers, i);
    int64_t off = (int64_t)mw_load_u64le(e), len = (int64_t)mw_load_u64le(e + 8);
    uint64_t ewhere = mw_fb_where(b->buffers.fb, b->buffers.pos + (size_t)i * 16);
    if (off < 0 || len < 0 || (uint64_t)off > body_len || (uint64_t)len > body_len - (uint64_t)off) {
      s = mw_err(err, MW_ERR_CORRUPT,
                 "buffer %u {offset %" PRId64 ", length %" PRId64 "} outside the %" PRIu64
                 "-byte body at byte %" PRIu64, i, off, len, body_len, ewhere);
      break;
    }
    b->bufs[i].where = body_where + (uint64_t)off;
    if (codec < 0) {
      if (len > 0 && (off & 7)) {
        s = mw_err(err, MW_ERR_CORRUPT, "buffer %u offset %" PRId64 " not 8-aligned at byte %" PRIu64,
                   i, off, ewhere);
        break;
      }
      b->bufs[i].len = len;
      slot[i] = (uint64_t)off;
      continue;
    }
    if (len == 0) continue; /* empty buffers carry no length prefix */
    if (len < 8) {
      s = mw_err(err, MW_ERR_CORRUPT, "compressed buffer %u shorter than 8 bytes at byte %" PRIu64,
                 i, b->bufs[i].where);
      break;
    }
    int64_t ulen = (int64_t)mw_load_u64le(body + off);
    uint64_t clen = (uint64_t)len - 8;
    uint64_t size;
    if (ulen == -1) {
      size = clen;
    } else {
      /* Bombs: cap the size, and the ratio (LZ4 cannot beat ~255:1, zstd
       * ~32768:1 with RLE blocks), so a tiny input cannot claim gigabytes. */
      uint64_t ratio = codec == 0 ? 256 : 32768;
      if (ulen < 0 || (uint64_t)ulen > RD_MAX_BUFFER || (uint64_t)ulen > clen * ratio + 65536) {
        s = mw_err(err, MW_ERR_CORRUPT,
                   "implausible uncompressed length %" PRId64 " for %" PRIu64
                   " compressed bytes at byte %" PRIu64, ulen, clen, b->bufs[i].where);
        break;
      }
      size = (uint64_t)ulen;
    }
    slot[i] = total;
    b->bufs[i].len = (int64_t)size;
    total += align8(size);
    if (total > RD_MAX_TOTAL) {
      s = mw_err(err, MW_ERR_CORRUPT, "decompressed batch larger than 2 GiB at byte %" PRIu64,
                 b->bufs[i].where);
      break;
    }
  }
  /* Zero copy: point into the handed-over input when its body is 8-aligned
   * in memory (it is whenever the writer padded as the format requires). */
  bool in_place = s == MW_OK && codec < 0 && shared && ((uintptr_t)body & 7) == 0;
  if (in_place) {
    b->body = shared;
    atomic_fetch_add(&shared->refs, 1); /* the decoder's own reference */
  } else if (s == MW_OK) {
    b->body = malloc(sizeof(rd_body) + (size_t)total);
    if (!b->body) s = mw_err(err, MW_ERR_NOMEM, "out of memory for a %" PRIu64 "-byte batch", total);
    else b->body->ext = NULL, b->body->ext_free = NULL;
  }
  if (s == MW_OK) {
    uint8_t *data = in_place ? (uint8_t *)body : body_data(b->body);
    if (!in_place) atomic_init(&b->body->refs, 1); /* the decoder's own reference */
    if (in_place) {
      /* buffers already point into the input */
    } else if (codec < 0) {
      if (total) memcpy(data, body, (size_t)total);
    } else {
      memset(data, 0, (size_t)total); /* also zeroes the padding between slots */
      for (uint32_t i = 0; i < n && s == MW_OK; i++) {
        if (b->bufs[i].len == 0) continue;
        const uint8_t *e = mw_fb_vec_at(&b->buffers, i);
        uint64_t off = mw_load_u64le(e), clen = mw_load_u64le(e + 8) - 8;
        const uint8_t *src = body + off + 8;
        int64_t ulen = (int64_t)mw_load_u64le(body + off);
        uint8_t *dst = data + slot[i];
        size_t cap = (size_t)b->bufs[i].len;
        if (ulen == -1) memcpy(dst, src, cap);
        else if (codec == 0) s = decompress_lz4(dst, cap, src, (size_t)clen, b->bufs[i].where, err);
        else s = decompress_zstd(dst, cap, src, (size_t)clen, b->bufs[i].where, err);
      }
    }
    for (uint32_t i = 0; i < n; i++)
      b->bufs[i].ptr = b->bufs[i].len ? data + slot[i] : NULL;
  }
  free(slot);
  return s;
}

static mw_status next_buffer(rd_batch *b, const rd_field *f, rd_buf *out, mw_error *err) {
  if (b->buf_i >= b->buffers.n)
    return mw_err(err, MW_ERR_CORRUPT,
                  "field '%s': the batch lists only %u buffers (message at byte %" PRIu64 ")",
                  f->name, b->buffers.n, b->msg_where);
  *out = b->bufs[b->buf_i++];
  return MW_OK;
}

/* Checks n+1 offsets (int32 or int64) for monotonicity from >= 0; *last =
 * the final offset. */
static mw_status check_offsets(const rd_field *f, const rd_buf *ob, int64_t length, bool large,
                               int64_t *last, mw_error *err) {
  uint64_t w = large ? 8 : 4;
  if ((uint64_t)ob->len < ((uint64_t)length + 1) * w)
    return mw_err(err, MW_ERR_CORRUPT,
                  "field '%s': offsets buffer of %" PRId64 " bytes too small for %" PRId64
                  " values at byte %" PRIu64, f->name, ob->len, length, ob->where);
  int64_t prev = 0;
  for (int64_t i = 0; i <= length; i++) {
    const uint8_t *p = ob->ptr + (uint64_t)i * w;
    int64_t v = large ? (int64_t)mw_load_u64le(p) : (int64_t)(int32_t)mw_load_u32le(p);
    if (v < prev || (i == 0 && v < 0))
      return mw_err(err, MW_ERR_CORRUPT,
                    "field '%s': offset %" PRId64 " is %s at byte %" PRIu64, f->name, i,
                    v < 0 ? "negative" : "smaller than the previous one", ob->where + (uint64_t)i * w);
    prev = v;
  }
  *last = prev;
  return MW_OK;
}

/* Decodes the field at fields[*cursor] (and its subtree) into *out. */
static mw_status build_array(rd_batch *b, rd *r, size_t *cursor, struct ArrowArray *out, int depth,
                             mw_error *err) {
  memset(out, 0, sizeof *out);
  if (*cursor >= r->n_fields || depth > MW_FB_MAX_DEPTH)
    return mw_err(err, MW_ERR_INTERNAL, "field tree walk out of range");
  const rd_field *f = &r->fields[(*cursor)++];
  if (b->node_i >= b->nodes.n)
    return mw_err(err, MW_ERR_CORRUPT,
                  "field '%s': the batch lists only %u field nodes (message at byte %" PRIu64 ")",
                  f->name, b->nodes.n, b->msg_where);
  const uint8_t *ne = mw_fb_vec_at(&b->nodes, b->node_i);
  uint64_t nwhere = mw_fb_where(b->nodes.fb, b->nodes.pos + (size_t)b->node_i * 16);
  b->node_i++;
  int64_t length = (int64_t)mw_load_u64le(ne), nulls = (int64_t)mw_load_u64le(ne + 8);
  if (length < 0 || length > RD_MAX_LENGTH || nulls < 0 || nulls > length)
    return mw_err(err, MW_ERR_CORRUPT,
                  "field '%s': bad field node {length %" PRId64 ", null_count %" PRId64
                  "} at byte %" PRIu64, f->name, length, nulls, nwhere);

  MW_TRY(arr_init(out, b->body, f->n_children, err));
  rd_arr *p = out->private_data;
  out->length = length;
  out->null_count = nulls;
  mw_status s = MW_OK;
  const mw_type *t = &f->type;
  rd_buf vb = {0}, ob = {0}, db = {0};
  int64_t last = 0;
  int64_t child_need = 0; /* minimum child length */
#define FAIL(...) do { s = mw_err(err, MW_ERR_CORRUPT, __VA_ARGS__); goto fail; } while (0)
#define NEXT(x) do { s = next_buffer(b, f, &(x), err); if (s) goto fail; } while (0)
  if (t->id == MW_T_NULL) {
    out->n_buffers = 0;
    out->null_count = length;
  } else {
    NEXT(vb);
    if (vb.len == 0) {
      if (nulls != 0)
        FAIL("field '%s': %" PRId64 " nulls but no validity buffer at byte %" PRIu64, f->name, nulls,
             nwhere);
      p->buffers[0] = NULL;
    } else {
      if ((uint64_t)vb.len < ((uint64_t)length + 7) / 8)
        FAIL("field '%s': validity buffer of %" PRId64 " bytes too small for %" PRId64
             " values at byte %" PRIu64, f->name, vb.len, length, vb.where);
      p->buffers[0] = vb.ptr;
    }
    switch (t->id) {
      case MW_T_STRUCT:
        out->n_buffers = 1;
        child_need = length;
        break;
      case MW_T_FIXED_SIZE_LIST:
        out->n_buffers = 1;
        child_need = length * t->width;
        break;
      case MW_T_UTF8: case MW_T_BINARY: case MW_T_LARGE_UTF8: case MW_T_LARGE_BINARY: {
        bool large = t->id == MW_T_LARGE_UTF8 || t->id == MW_T_LARGE_BINARY;
        out->n_buffers = 3;
        NEXT(ob);
        NEXT(db);
        if (length == 0 && ob.len == 0) {
          p->buffers[1] = rd_zeros;
        } else {
          s = check_offsets(f, &ob, length, large, &last, err);
          if (s) goto fail;
          if (last > db.len)
            FAIL("field '%s': last offset %" PRId64 " beyond the %" PRId64
                 "-byte data buffer at byte %" PRIu64, f->name, last, db.len, ob.where);
          p->buffers[1] = ob.ptr;
        }
        p->buffers[2] = db.len ? (const void *)db.ptr : (const void *)rd_zeros;
        break;
      }
      case MW_T_LIST: case MW_T_LARGE_LIST: case MW_T_MAP:
        out->n_buffers = 2;
        NEXT(ob);
        if (length == 0 && ob.len == 0) {
          p->buffers[1] = rd_zeros;
        } else {
          s = check_offsets(f, &ob, length, t->id == MW_T_LARGE_LIST, &last, err);
          if (s) goto fail;
          p->buffers[1] = ob.ptr;
        }
        child_need = last;
        break;
      default: { /* fixed width */
        out->n_buffers = 2;
        NEXT(db);
        uint64_t need;
        switch (t->id) {
          case MW_T_BOOL: need = ((uint64_t)length + 7) / 8; break;
          case MW_T_INT8: case MW_T_UINT8: need = (uint64_t)length; break;
          case MW_T_INT16: case MW_T_UINT16: case MW_T_FLOAT16: need = (uint64_t)length * 2; break;
          case MW_T_INT32: case MW_T_UINT32: case MW_T_FLOAT32: case MW_T_DATE32: case MW_T_TIME32:
            need = (uint64_t)length * 4; break;
          case MW_T_DECIMAL128: need = (uint64_t)length * 16; break;
          case MW_T_FIXED_SIZE_BINARY: need = (uint64_t)length * (uint64_t)t->width; break;
          default: need = (uint64_t)length * 8; break;
        }
        if ((uint64_t)db.len < need)
          FAIL("field '%s': values buffer of %" PRId64 " bytes too small for %" PRId64
               " values (needs %" PRIu64 ") at byte %" PRIu64, f->name, db.len, length, need,
               db.where);
        p->buffers[1] = db.len ? (const void *)db.ptr : (const void *)rd_zeros;
        break;
      }
    }
  }
  for (int64_t i = 0; i < f->n_children; i++) {
    uint32_t child_node = b->node_i;
    s = build_array(b, r, cursor, p->children[i], depth + 1, err);
    if (s) goto fail;
    if (p->children[i]->length < child_need) {
      uint64_t cw = mw_fb_where(b->nodes.fb, b->nodes.pos + (size_t)child_node * 16);
      FAIL("field '%s': child length %" PRId64 " smaller than the %" PRId64
           " its parent needs at byte %" PRIu64, f->name, p->children[i]->length, child_need, cw);
    }
  }
#undef FAIL
#undef NEXT
  return MW_OK;
fail:
  arr_release(out);
  return s;
}

static mw_status push_batch(rd *r, struct ArrowArray *a, mw_error *err) {
  if (r->n_batches == r->cap_batches) {
    size_t cap = r->cap_batches ? r->cap_batches * 2 : 4;
    struct ArrowArray *nb = realloc(r->batches, cap * sizeof *nb);
    if (!nb) return mw_err(err, MW_ERR_NOMEM, "out of memory decoding batches");
    r->batches = nb;
    r->cap_batches = cap;
  }
  r->batches[r->n_batches++] = *a;
  return MW_OK;
}

static mw_status read_batch(rd *r, const mw_fb_table *rb, const uint8_t *body, uint64_t body_len,
                            uint64_t body_where, uint64_t msg_where, mw_error *err) {
  rd_batch b = {0};
  bool present;
  int64_t length;
  b.msg_where = msg_where;
  MW_TRY(mw_fb_i64(rb, 0, 0, &length, err));
  if (length < 0 || length > RD_MAX_LENGTH)
    return mw_err(err, MW_ERR_CORRUPT, "bad record batch length %" PRId64 " at byte %" PRIu64,
                  length, mw_fb_where(rb->fb, rb->pos));
  MW_TRY(mw_fb_vector(rb, 1, 16, &b.nodes, &present, err));
  if (!present) b.nodes.n = 0;
  MW_TRY(mw_fb_vector(rb, 2, 16, &b.buffers, &present, err));
  if (!present) b.buffers.n = 0;
  int codec = -1;
  mw_fb_table comp;
  MW_TRY(mw_fb_table_field(rb, 3, &comp, &present, err));
  if (present) {
    uint8_t c, method;
    MW_TRY(mw_fb_u8(&comp, 0, 0, &c, err));
    MW_TRY(mw_fb_u8(&comp, 1, 0, &method, err));
    if (c > 1)
      return mw_err(err, MW_ERR_CORRUPT, "unknown compression codec %u at byte %" PRIu64, c,
                    mw_fb_where(comp.fb, comp.pos));
    if (method != 0)
      return mw_err(err, MW_ERR_UNSUPPORTED, "compression method %u is not supported (at byte %" PRIu64 ")",
                    method, mw_fb_where(comp.fb, comp.pos));
    codec = c;
  }
  mw_status s = load_buffers(&b, r->shared, body, body_len, body_where, codec, err);
  struct ArrowArray root;
  memset(&root, 0, sizeof root);
  if (s == MW_OK) s = arr_init(&root, b.body, r->schema.n_children, err);
  if (s == MW_OK) {
    rd_arr *p = root.private_data;
    root.length = length;
    root.n_buffers = 1;
    p->buffers[0] = NULL;
    size_t cursor = 0;
    for (int64_t i = 0; i < r->schema.n_children && s == MW_OK; i++) {
      uint32_t node = b.node_i;
      s = build_array(&b, r, &cursor, p->children[i], 1, err);
      if (s == MW_OK && p->children[i]->length != length)
        s = mw_err(err, MW_ERR_CORRUPT,
                   "column '%s': length %" PRId64 " differs from the batch length %" PRId64
                   " at byte %" PRIu64, r->schema.children[i]->name, p->children[i]->length, length,
                   mw_fb_where(b.nodes.fb, b.nodes.pos + (size_t)node * 16));
    }
    if (s == MW_OK && (b.node_i != b.nodes.n || b.buf_i != b.buffers.n))
      s = mw_err(err, MW_ERR_CORRUPT,
                 "the batch lists %u field nodes and %u buffers, the schema needs %u and %u "
                 "(message at byte %" PRIu64 ")",
                 b.nodes.n, b.buffers.n, b.node_i, b.buf_i, msg_where);
    if (s == MW_OK) s = push_batch(r, &root, err);
    if (s != MW_OK) arr_release(&root);
  }
  body_unref(b.body); /* drop the decoder's reference */
  free(b.bufs);
  return s;
}

/* ---------------------------------------------------------------- stream */

static mw_status decode(rd *r, mw_error *err) {
  const uint8_t *in = r->in;
  size_t len = r->len, pos = 0;
  for (;;) {
    if (pos == len) break; /* the stream simply ends */
    size_t start = pos;
    if (len - pos < 4)
      return mw_err(err, MW_ERR_CORRUPT, "truncated message header at byte %zu", start);
    uint32_t w = mw_load_u32le(in + pos);
    int32_t mlen;
    if (w == 0xFFFFFFFFu) {
      if (len - pos < 8)
        return mw_err(err, MW_ERR_CORRUPT, "truncated message header at byte %zu", start);
      mlen = (int32_t)mw_load_u32le(in + pos + 4);
      pos += 8;
    } else {
      mlen = (int32_t)w; /* legacy framing: no continuation marker */
      pos += 4;
    }
    if (mlen == 0) break; /* end-of-stream marker */
    if (mlen < 0 || (size_t)mlen > len - pos)
      return mw_err(err, MW_ERR_CORRUPT,
                    "message metadata length %d exceeds the %zu remaining bytes at byte %zu",
                    (int)mlen, len - pos, start);
    mw_fb fb;
    mw_fb_table msg, hdr;
    bool present;
    int16_t version;
    uint8_t htype;
    int64_t body_len;
    mw_fb_init(&fb, in + pos, (size_t)mlen, pos);
    MW_TRY(mw_fb_root(&msg, &fb, err));
    MW_TRY(mw_fb_i16(&msg, 0, 0, &version, err));
    MW_TRY(mw_fb_u8(&msg, 1, 0, &htype, err));
    MW_TRY(mw_fb_i64(&msg, 3, 0, &body_len, err));
    if (version < 3 || version > 4)
      return mw_err(err, MW_ERR_UNSUPPORTED,
                    "Arrow metadata version %d is not supported (V4/V5 are) at byte %zu",
                    (int)version, start);
    size_t body_pos = pos + (size_t)mlen;
    if (body_len < 0 || (uint64_t)body_len > len - body_pos)
      return mw_err(err, MW_ERR_CORRUPT,
                    "message body length %" PRId64 " exceeds the %zu remaining bytes at byte %zu",
                    body_len, len - body_pos, start);
    MW_TRY(mw_fb_table_field(&msg, 2, &hdr, &present, err));
    if (!present)
      return mw_err(err, MW_ERR_CORRUPT, "message without a header at byte %zu", start);
    switch (htype) {
      case MSG_SCHEMA:
        if (r->have_schema)
          return mw_err(err, MW_ERR_CORRUPT, "second Schema message at byte %zu", start);
        MW_TRY(read_schema(r, &hdr, err));
        break;
      case MSG_DICTIONARY:
        return mw_err(err, MW_ERR_UNSUPPORTED,
                      "DictionaryBatch message at byte %zu: dictionary-encoded fields are not "
                      "supported", start);
      case MSG_RECORD_BATCH:
        if (!r->have_schema)
          return mw_err(err, MW_ERR_CORRUPT, "RecordBatch before the Schema message at byte %zu",
                        start);
        MW_TRY(read_batch(r, &hdr, in + body_pos, (uint64_t)body_len, body_pos, start, err));
        break;
      default:
        return mw_err(err, MW_ERR_CORRUPT, "unexpected message type %u at byte %zu", htype, start);
    }
    pos = body_pos + (size_t)body_len;
  }
  if (!r->have_schema)
    return mw_err(err, MW_ERR_CORRUPT, "stream without a Schema message at byte %zu", pos);
  return MW_OK;
}

static mw_status decode_stream(struct ArrowSchema *out_schema, struct ArrowArray **out_batches,
                               size_t *out_n_batches, const void *data, size_t len, rd_body *shared,
                               mw_error *err) {
  rd r;
  memset(&r, 0, sizeof r);
  r.shared = shared;
  r.in = data;
  r.len = len;
  mw_status s = decode(&r, err);
  free(r.fields);
  if (s != MW_OK) {
    for (size_t i = 0; i < r.n_batches; i++) arr_release(&r.batches[i]);
    free(r.batches);
    if (r.have_schema) mw_schema_release(&r.schema);
    return s;
  }
  *out_schema = r.schema;
  *out_batches = r.batches;
  *out_n_batches = r.n_batches;
  return MW_OK;
}

mw_status mw_ipc_decode(struct ArrowSchema *out_schema, struct ArrowArray **out_batches,
                        size_t *out_n_batches, const void *data, size_t len, mw_error *err) {
  if (!out_schema || !out_batches || !out_n_batches || (!data && len))
    return mw_err(err, MW_ERR_INVALID, "mw_ipc_decode: NULL argument");
  return decode_stream(out_schema, out_batches, out_n_batches, data, len, NULL, err);
}

mw_status mw_ipc_decode_take(struct ArrowSchema *out_schema, struct ArrowArray **out_batches,
                             size_t *out_n_batches, void *data, size_t len, mw_error *err) {
  return mw_ipc_decode_take_with(out_schema, out_batches, out_n_batches, data, len, free, err);
}

mw_status mw_ipc_decode_take_with(struct ArrowSchema *out_schema, struct ArrowArray **out_batches,
                                  size_t *out_n_batches, void *data, size_t len, void (*data_free)(void *),
                                  mw_error *err) {
  if (!out_schema || !out_batches || !out_n_batches || (!data && len) || !data_free) {
    if (data && data_free) data_free(data);
    return mw_err(err, MW_ERR_INVALID, "mw_ipc_decode_take: NULL argument");
  }
  rd_body *shared = malloc(sizeof *shared);
  if (!shared) {
    if (data) data_free(data);
    return mw_err(err, MW_ERR_NOMEM, "out of memory decoding a stream");
  }
  atomic_init(&shared->refs, 1); /* ours, dropped below */
  shared->ext = data;
  shared->ext_free = data_free;
  mw_status s = decode_stream(out_schema, out_batches, out_n_batches, data, len, shared, err);
  body_unref(shared); /* the batches keep it alive if they point into it */
  return s;
}
