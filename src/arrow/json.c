/* json.c - JSON rendering of Arrow schemas and rows (format: see json.h).
 *
 * Everything is appended to an mw_buf; allocation failure is checked once at
 * the end of each public call (mw_buf_ok). Values are addressed by logical
 * index: element i of array a lives at physical slot a->offset + i, and a
 * child's logical index is derived from the parent's physical slot (struct:
 * the same slot; list: offsets[slot]..offsets[slot+1]; fixed-size list:
 * slot*size ...), so sliced arrays work at every level. Floats are formatted
 * by float_fmt.c; lists of floats (vector columns) are rendered in one pass
 * into space reserved up front. */
#include "arrow/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "arrow/float_fmt.h"
#include "common/error.h"

/* ------------------------------------------------------------ small bits */

static void put(mw_buf *out, const char *s) { mw_buf_append(out, s, strlen(s)); }

static mw_status nomem(mw_buf *out, mw_error *err) {
  if (!mw_buf_ok(out)) return mw_err(err, MW_ERR_NOMEM, "json: out of memory");
  return MW_OK;
}

static const char hexdig[] = "0123456789abcdef";

static void put_hex(mw_buf *out, const uint8_t *p, size_t n) {
  if (!mw_buf_reserve(out, n * 2 + 2)) return;
  uint8_t *d = out->data + out->len;
  *d++ = '"';
  for (size_t i = 0; i < n; i++) {
    *d++ = (uint8_t)hexdig[p[i] >> 4];
    *d++ = (uint8_t)hexdig[p[i] & 15];
  }
  *d++ = '"';
  out->len += n * 2 + 2;
}

/* Length of the valid UTF-8 sequence at p (n bytes available), 0 if the
 * byte at p does not start one (overlongs, surrogates, > U+10FFFF and
 * truncated sequences are invalid). */
static size_t utf8_seq(const uint8_t *p, size_t n) {
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c == 0xE0) { len = 3; lo = 0xA0; }
  else if (c >= 0xE1 && c <= 0xEC) len = 3;
  else if (c == 0xED) { len = 3; hi = 0x9F; }
  else if (c >= 0xEE && c <= 0xEF) len = 3;
  else if (c == 0xF0) { len = 4; lo = 0x90; }
  else if (c >= 0xF1 && c <= 0xF3) len = 4;
  else if (c == 0xF4) { len = 4; hi = 0x8F; }
  else return 0;
  if (n < len) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < len; k++)
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
  return len;
}

void mw_json_string(mw_buf *out, const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  mw_buf_u8(out, '"');
  size_t i = 0;
  while (i < n) {
    /* Copy the longest run that needs no escaping in one append. */
    size_t run = i;
    while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') run++;
    if (run > i) {
      mw_buf_append(out, p + i, run - i);
      i = run;
      continue;
    }
    uint8_t c = p[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      mw_buf_append(out, e, 2);
      i++;
    } else if (c < 0x20) {
      char e[7] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15], 0};
      mw_buf_append(out, e, 6);
      i++;
    } else {
      size_t len = utf8_seq(p + i, n - i);
      if (len == 0) {
        put(out, "\\ufffd");
        i++;
      } else {
        mw_buf_append(out, p + i, len);
        i += len;
      }
    }
  }
  mw_buf_u8(out, '"');
}

/* --------------------------------------------------------------- floats */

static double pow2(int k) {
  /* 2^k for -1022 <= k <= 1023, built from the bit pattern (no libm). */
  uint64_t bits = (uint64_t)(k + 1023) << 52;
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

double mw_half_to_double(uint16_t h) {
  int exp = (h >> 10) & 0x1f;
  int m = h & 0x3ff;
  double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exp == 0) return sign * (double)m / 16777216.0; /* m * 2^-24 */
  if (exp == 31) {
    if (m == 0) return sign * (double)INFINITY;
    return (double)NAN;
  }
  return sign * (double)(1024 + m) * pow2(exp - 25);
}

uint16_t mw_double_to_half(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  uint16_t sign = (uint16_t)((b >> 48) & 0x8000);
  int exp = (int)((b >> 52) & 0x7ff);
  uint64_t mant = b & ((UINT64_C(1) << 52) - 1);
  if (exp == 0x7ff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp == 0) return sign; /* double zero/subnormal: far below half range */
  int e = exp - 1023;
  uint64_t sig = (UINT64_C(1) << 52) | mant; /* value = sig * 2^(e-52) */
  if (e > 15) return (uint16_t)(sign | 0x7c00);
  int shift, he;
  if (e >= -14) {
    shift = 42; /* keep 11 significant bits */
    he = e + 15;
  } else {
    shift = 28 - e; /* units of 2^-24 */
    he = 0;
    if (shift >= 54) return sign;
  }
  uint64_t q = sig >> shift;
  uint64_t rem = sig & ((UINT64_C(1) << shift) - 1);
  uint64_t halfway = UINT64_C(1) << (shift - 1);
  if (rem > halfway || (rem == halfway && (q & 1))) q++;
  if (he == 0) return (uint16_t)(sign | q); /* q == 1024 is the smallest normal */
  if (q == 2048) {
    q = 1024;
    he++;
  }
  if (he >= 31) return (uint16_t)(sign | 0x7c00);
  return (uint16_t)(sign | ((uint16_t)he << 10) | (uint16_t)(q - 1024));
}

/* Float text comes from float_fmt.c (the shortest "%g" that reads back). */
static void copy_text(char *buf, size_t cap, const char *t, size_t n) {
  if (cap == 0) return;
  if (n >= cap) n = cap - 1;
  memcpy(buf, t, n);
  buf[n] = 0;
}

void mw_json_format_f64(char *buf, size_t cap, double v) {
  char t[MW_FLOAT_FMT_MAX];
  copy_text(buf, cap, t, mw_float_fmt_f64(t, v));
}

void mw_json_format_f32(char *buf, size_t cap, float v) {
  char t[MW_FLOAT_FMT_MAX];
  copy_text(buf, cap, t, mw_float_fmt_f32(t, v));
}

void mw_json_format_f16(char *buf, size_t cap, uint16_t bits) {
  char t[MW_FLOAT_FMT_MAX];
  copy_text(buf, cap, t, mw_float_fmt_f16(t, bits));
}

/* Room put_float_at may use. */
#define FLOAT_JSON_MAX (MW_FLOAT_FMT_MAX + 2)

/* Writes slot `slot` of a float16/32/64 values buffer at d (FLOAT_JSON_MAX
 * bytes of room): finite values as bare numbers, NaN / Infinity / -Infinity
 * as strings. Returns the byte count. */
static size_t put_float_at(uint8_t *d, mw_type_id id, const void *vals, int64_t slot) {
  char *c = (char *)d;
  bool finite;
  size_t n;
  if (id == MW_T_FLOAT32) {
    float v = ((const float *)vals)[slot];
    finite = isfinite(v);
    n = mw_float_fmt_f32(c + !finite, v);
  } else if (id == MW_T_FLOAT64) {
    double v = ((const double *)vals)[slot];
    finite = isfinite(v);
    n = mw_float_fmt_f64(c + !finite, v);
  } else {
    uint16_t h = ((const uint16_t *)vals)[slot];
    finite = (h & 0x7C00) != 0x7C00;
    n = mw_float_fmt_f16(c + !finite, h);
  }
  if (finite) return n;
  c[0] = '"';
  c[n + 1] = '"';
  return n + 2;
}

static void put_float(mw_buf *out, mw_type_id id, const void *vals, int64_t slot) {
  if (!mw_buf_reserve(out, FLOAT_JSON_MAX)) return;
  out->len += put_float_at(out->data + out->len, id, vals, slot);
}

/* -------------------------------------------------------------- decimal */

/* Decimal text of a signed 128-bit little-endian integer with `scale`
 * applied, as a JSON string. */
static void put_decimal128(mw_buf *out, const uint8_t *p, int32_t scale) {
  uint64_t lo = mw_load_u64le(p), hi = mw_load_u64le(p + 8);
  bool neg = (hi >> 63) != 0;
  if (neg) { /* two's complement negate */
    lo = ~lo + 1;
    hi = ~hi + (lo == 0 ? 1 : 0);
  }
  uint32_t limb[4] = {(uint32_t)(hi >> 32), (uint32_t)hi, (uint32_t)(lo >> 32), (uint32_t)lo};
  char digits[48];
  int nd = 0;
  for (;;) {
    uint64_t r = 0;
    bool zero = true;
    for (int k = 0; k < 4; k++) {
      uint64_t cur = (r << 32) | limb[k];
      limb[k] = (uint32_t)(cur / 10);
      r = cur % 10;
      if (limb[k]) zero = false;
    }
    digits[nd++] = (char)('0' + r);
    if (zero) break;
  }
  /* digits[] holds the magnitude least significant first */
  bool is_zero = nd == 1 && digits[0] == '0';
  mw_buf_u8(out, '"');
  if (neg && !is_zero) mw_buf_u8(out, '-');
  if (scale <= 0) {
    for (int k = nd - 1; k >= 0; k--) mw_buf_u8(out, (uint8_t)digits[k]);
    if (!is_zero)
      for (int32_t k = 0; k < -scale; k++) mw_buf_u8(out, '0');
  } else {
    if (nd <= scale) {
      put(out, "0.");
      for (int32_t k = 0; k < scale - nd; k++) mw_buf_u8(out, '0');
      for (int k = nd - 1; k >= 0; k--) mw_buf_u8(out, (uint8_t)digits[k]);
    } else {
      for (int k = nd - 1; k >= 0; k--) {
        mw_buf_u8(out, (uint8_t)digits[k]);
        if (k == scale) mw_buf_u8(out, '.');
      }
    }
  }
  mw_buf_u8(out, '"');
}

/* ----------------------------------------------------------------- types */

static mw_status parse_type(mw_type *t, const struct ArrowSchema *s, mw_error *err) {
  if (s->dictionary) return mw_err(err, MW_ERR_UNSUPPORTED, "json: field '%s': dictionary-encoded fields are not supported", s->name ? s->name : "");
  return mw_type_from_format(t, s->format, err);
}

static mw_status type_rec(mw_buf *out, const struct ArrowSchema *s, int depth, mw_error *err) {
  if (depth > MW_JSON_MAX_DEPTH) return mw_err(err, MW_ERR_INVALID, "json: type nesting deeper than %d", MW_JSON_MAX_DEPTH);
  mw_type t;
  MW_TRY(parse_type(&t, s, err));
  char name[160];
  mw_type_name(name, sizeof name, &t);
  put(out, name);
  switch (t.id) {
    case MW_T_FIXED_SIZE_LIST: case MW_T_LIST: case MW_T_LARGE_LIST:
    case MW_T_STRUCT: case MW_T_MAP:
      break;
    default:
      return MW_OK;
  }
  mw_buf_u8(out, '<');
  for (int64_t k = 0; k < s->n_children; k++) {
    const struct ArrowSchema *c = s->children[k];
    if (k) put(out, ", ");
    const char *cn = c->name ? c->name : "";
    mw_buf_append(out, cn, strlen(cn));
    put(out, ": ");
    MW_TRY(type_rec(out, c, depth + 1, err));
    if (!(c->flags & ARROW_FLAG_NULLABLE)) put(out, " not null");
  }
  mw_buf_u8(out, '>');
  return MW_OK;
}

mw_status mw_json_type(mw_buf *out, const struct ArrowSchema *field, mw_error *err) {
  MW_TRY(type_rec(out, field, 0, err));
  return nomem(out, err);
}

static void put_metadata(mw_buf *out, const char *blob) {
  int32_t n = mw_metadata_count(blob);
  mw_buf_u8(out, '{');
  for (int32_t k = 0; k < n; k++) {
    mw_kv kv = mw_metadata_at(blob, k);
    if (k) put(out, ", ");
    mw_json_string(out, kv.key, (size_t)kv.key_len);
    put(out, ": ");
    mw_json_string(out, kv.value, (size_t)kv.value_len);
  }
  mw_buf_u8(out, '}');
}

mw_status mw_json_schema(mw_buf *out, const struct ArrowSchema *schema, mw_error *err) {
  put(out, "{\"schema\": {\"fields\": [");
  for (int64_t k = 0; k < schema->n_children; k++) {
    const struct ArrowSchema *f = schema->children[k];
    if (k) put(out, ", ");
    put(out, "{\"name\": ");
    const char *fn = f->name ? f->name : "";
    mw_json_string(out, fn, strlen(fn));
    put(out, ", \"type\": ");
    /* the type string may contain names: render it, then quote it */
    mw_buf tb;
    mw_buf_init(&tb);
    mw_status st = type_rec(&tb, f, 0, err);
    if (st == MW_OK && !mw_buf_ok(&tb)) st = mw_err(err, MW_ERR_NOMEM, "json: out of memory");
    if (st != MW_OK) {
      mw_buf_free(&tb);
      return st;
    }
    mw_json_string(out, (const char *)tb.data, tb.len);
    mw_buf_free(&tb);
    put(out, (f->flags & ARROW_FLAG_NULLABLE) ? ", \"nullable\": true" : ", \"nullable\": false");
    put(out, ", \"metadata\": ");
    put_metadata(out, f->metadata);
    mw_buf_u8(out, '}');
  }
  put(out, "], \"metadata\": ");
  put_metadata(out, schema->metadata);
  put(out, "}}");
  return nomem(out, err);
}

/* Mirrors value_rec's walk: children of structs and lists one level down,
 * a map's key and value two. */
static mw_status check_rec(const struct ArrowSchema *s, int depth, mw_error *err) {
  if (depth > MW_JSON_MAX_DEPTH) return mw_err(err, MW_ERR_INVALID, "json: nesting deeper than %d", MW_JSON_MAX_DEPTH);
  mw_type t;
  MW_TRY(parse_type(&t, s, err));
  switch (t.id) {
    case MW_T_STRUCT:
      for (int64_t k = 0; k < s->n_children; k++) MW_TRY(check_rec(s->children[k], depth + 1, err));
      return MW_OK;
    case MW_T_LIST: case MW_T_LARGE_LIST: case MW_T_FIXED_SIZE_LIST:
      if (s->n_children < 1) return mw_err(err, MW_ERR_INVALID, "json: list without a child");
      return check_rec(s->children[0], depth + 1, err);
    case MW_T_MAP: {
      if (s->n_children < 1) return mw_err(err, MW_ERR_INVALID, "json: map without entries");
      const struct ArrowSchema *es = s->children[0];
      for (int64_t k = 0; k < es->n_children && k < 2; k++) MW_TRY(check_rec(es->children[k], depth + 2, err));
      return MW_OK;
    }
    default:
      return MW_OK;
  }
}

mw_status mw_json_check(const struct ArrowSchema *schema, mw_error *err) {
  return check_rec(schema, 0, err);
}

/* ---------------------------------------------------------------- values */

static mw_status value_rec(mw_buf *out, const struct ArrowSchema *s, const struct ArrowArray *a,
                           int64_t i, int depth, mw_error *err);

static int64_t list_offset(const struct ArrowArray *a, int64_t slot, bool large) {
  if (large) return (int64_t)((const int64_t *)a->buffers[1])[slot];
  return ((const int32_t *)a->buffers[1])[slot];
}

/* A list of float16/32/64 items, rendered in one pass into room reserved
 * up front (vector columns: most of the output of a typical table). */
static void put_float_list(mw_buf *out, mw_type_id id, const struct ArrowArray *ca, int64_t start,
                           int64_t end) {
  size_t n = (size_t)(end - start);
  if (!mw_buf_reserve(out, n * (FLOAT_JSON_MAX + 2) + 2)) return;
  const void *valid = ca->n_buffers > 0 ? ca->buffers[0] : NULL;
  const void *vals = ca->buffers[1];
  uint8_t *d = out->data + out->len;
  *d++ = '[';
  for (int64_t j = start; j < end; j++) {
    if (j > start) {
      *d++ = ',';
      *d++ = ' ';
    }
    int64_t slot = ca->offset + j;
    if (!mw_bit_get(valid, slot)) {
      memcpy(d, "null", 4);
      d += 4;
    } else {
      d += put_float_at(d, id, vals, slot);
    }
  }
  *d++ = ']';
  out->len = (size_t)(d - out->data);
}

static mw_status put_list_range(mw_buf *out, const struct ArrowSchema *cs, const struct ArrowArray *ca,
                                int64_t start, int64_t end, int depth, mw_error *err) {
  if (end > start && depth + 1 <= MW_JSON_MAX_DEPTH) {
    mw_type ct;
    MW_TRY(parse_type(&ct, cs, err));
    if (ct.id == MW_T_FLOAT32 || ct.id == MW_T_FLOAT64 || ct.id == MW_T_FLOAT16) {
      put_float_list(out, ct.id, ca, start, end);
      return MW_OK;
    }
  }
  mw_buf_u8(out, '[');
  for (int64_t j = start; j < end; j++) {
    if (j > start) put(out, ", ");
    MW_TRY(value_rec(out, cs, ca, j, depth + 1, err));
  }
  mw_buf_u8(out, ']');
  return MW_OK;
}

static mw_status value_rec(mw_buf *out, const struct ArrowSchema *s, const struct ArrowArray *a,
                           int64_t i, int depth, mw_error *err) {
  if (depth > MW_JSON_MAX_DEPTH) return mw_err(err, MW_ERR_INVALID, "json: nesting deeper than %d", MW_JSON_MAX_DEPTH);
  mw_type t;
  MW_TRY(parse_type(&t, s, err));
  int64_t slot = a->offset + i;
  if (t.id == MW_T_NULL) {
    put(out, "null");
    return MW_OK;
  }
  if (a->n_buffers > 0 && !mw_bit_get(a->buffers[0], slot)) {
    put(out, "null");
    return MW_OK;
  }
  char tmp[64];
  const void *vals = a->n_buffers > 1 ? a->buffers[1] : NULL;
  switch (t.id) {
    case MW_T_NULL: break;
    case MW_T_BOOL: put(out, mw_bit_get(vals, slot) ? "true" : "false"); return MW_OK;
    case MW_T_INT8: snprintf(tmp, sizeof tmp, "%d", ((const int8_t *)vals)[slot]); break;
    case MW_T_UINT8: snprintf(tmp, sizeof tmp, "%u", ((const uint8_t *)vals)[slot]); break;
    case MW_T_INT16: snprintf(tmp, sizeof tmp, "%d", ((const int16_t *)vals)[slot]); break;
    case MW_T_UINT16: snprintf(tmp, sizeof tmp, "%u", ((const uint16_t *)vals)[slot]); break;
    case MW_T_INT32: case MW_T_DATE32: case MW_T_TIME32:
      snprintf(tmp, sizeof tmp, "%" PRId32, ((const int32_t *)vals)[slot]);
      break;
    case MW_T_UINT32: snprintf(tmp, sizeof tmp, "%" PRIu32, ((const uint32_t *)vals)[slot]); break;
    case MW_T_INT64: case MW_T_DATE64: case MW_T_TIME64: case MW_T_TIMESTAMP: case MW_T_DURATION:
      snprintf(tmp, sizeof tmp, "%" PRId64, ((const int64_t *)vals)[slot]);
      break;
    case MW_T_UINT64: snprintf(tmp, sizeof tmp, "%" PRIu64, ((const uint64_t *)vals)[slot]); break;
    case MW_T_FLOAT16: case MW_T_FLOAT32: case MW_T_FLOAT64:
      put_float(out, t.id, vals, slot);
      return MW_OK;
    case MW_T_UTF8: case MW_T_BINARY: case MW_T_LARGE_UTF8: case MW_T_LARGE_BINARY: {
      bool large = t.id == MW_T_LARGE_UTF8 || t.id == MW_T_LARGE_BINARY;
      int64_t b = list_offset(a, slot, large), e = list_offset(a, slot + 1, large);
      const uint8_t *data = (const uint8_t *)a->buffers[2];
      size_t n = e > b ? (size_t)(e - b) : 0;
      const uint8_t *p = n ? data + b : (const uint8_t *)"";
      if (t.id == MW_T_UTF8 || t.id == MW_T_LARGE_UTF8) mw_json_string(out, (const char *)p, n);
      else put_hex(out, p, n);
      return MW_OK;
    }
    case MW_T_FIXED_SIZE_BINARY:
      put_hex(out, (const uint8_t *)vals + (size_t)slot * (size_t)t.width, (size_t)t.width);
      return MW_OK;
    case MW_T_DECIMAL128:
      put_decimal128(out, (const uint8_t *)vals + (size_t)slot * 16, t.scale);
      return MW_OK;
    case MW_T_FIXED_SIZE_LIST:
      return put_list_range(out, s->children[0], a->children[0], slot * t.width, (slot + 1) * t.width,
                            depth, err);
    case MW_T_LIST: case MW_T_LARGE_LIST: {
      bool large = t.id == MW_T_LARGE_LIST;
      return put_list_range(out, s->children[0], a->children[0], list_offset(a, slot, large),
                            list_offset(a, slot + 1, large), depth, err);
    }
    case MW_T_STRUCT:
      mw_buf_u8(out, '{');
      for (int64_t k = 0; k < s->n_children; k++) {
        if (k) put(out, ", ");
        const char *cn = s->children[k]->name ? s->children[k]->name : "";
        mw_json_string(out, cn, strlen(cn));
        put(out, ": ");
        MW_TRY(value_rec(out, s->children[k], a->children[k], slot, depth + 1, err));
      }
      mw_buf_u8(out, '}');
      return MW_OK;
    case MW_T_MAP: {
      const struct ArrowSchema *es = s->children[0];
      const struct ArrowArray *ea = a->children[0];
      int64_t b = list_offset(a, slot, false), e = list_offset(a, slot + 1, false);
      mw_buf_u8(out, '[');
      for (int64_t j = b; j < e; j++) {
        if (j > b) put(out, ", ");
        int64_t eslot = ea->offset + j;
        if (ea->n_buffers > 0 && !mw_bit_get(ea->buffers[0], eslot)) {
          put(out, "null");
          continue;
        }
        mw_buf_u8(out, '[');
        for (int64_t k = 0; k < es->n_children && k < 2; k++) {
          if (k) put(out, ", ");
          MW_TRY(value_rec(out, es->children[k], ea->children[k], eslot, depth + 2, err));
        }
        mw_buf_u8(out, ']');
      }
      mw_buf_u8(out, ']');
      return MW_OK;
    }
  }
  put(out, tmp);
  return MW_OK;
}

mw_status mw_json_value(mw_buf *out, const struct ArrowSchema *schema, const struct ArrowArray *array,
                        int64_t i, mw_error *err) {
  MW_TRY(value_rec(out, schema, array, i, 0, err));
  return nomem(out, err);
}

mw_status mw_json_row(mw_buf *out, const struct ArrowSchema *schema, const struct ArrowArray *batch,
                      int64_t i, mw_error *err) {
  return mw_json_value(out, schema, batch, i, err);
}

mw_status mw_json_rows(mw_buf *out, const struct ArrowSchema *schema, const struct ArrowArray *batch,
                       mw_error *err) {
  for (int64_t i = 0; i < batch->length; i++) {
    MW_TRY(value_rec(out, schema, batch, i, 0, err));
    mw_buf_u8(out, '\n');
  }
  return nomem(out, err);
}
