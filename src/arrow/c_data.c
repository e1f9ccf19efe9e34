/* c_data.c - the mw_type descriptor (Arrow C format strings <-> mw_type,
 * readable names, buffer counts), validation of ArrowArray trees against
 * their schema, and byte sizes of logical slices.
 *
 * Validation treats the C structs as untrusted shapes (wrong counts, NULL
 * buffers, negative lengths, non-monotonic offsets) but cannot know buffer
 * sizes: the C Data Interface does not carry them. Everything here works on
 * the array's logical slice [offset, offset + length); struct children
 * inherit the parent offset, list children are indexed through the offsets.
 * (Metadata blobs and owned schemas live in schema.c.) */
#include "arrow/c_data.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

/* Recursion cap for nested types: deeper trees are rejected, not walked. */
#define MW_MAX_DEPTH 64

/* ------------------------------------------------------------ format parse */

/* Parses a non-negative decimal int32 at *p, advancing *p. */
static bool parse_i32(const char **p, int32_t *out, bool allow_neg) {
  const char *s = *p;
  bool neg = false;
  if (allow_neg && *s == '-') { neg = true; s++; }
  if (*s < '0' || *s > '9') return false;
  int64_t v = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (*s - '0');
    if (v > INT32_MAX) return false;
    s++;
  }
  *out = (int32_t)(neg ? -v : v);
  *p = s;
  return true;
}

static mw_status fmt_invalid(mw_error *err, const char *format) {
  return mw_err(err, MW_ERR_INVALID, "malformed Arrow format string '%s'", format);
}

static mw_status fmt_unsupported(mw_error *err, const char *format, const char *what) {
  return mw_err(err, MW_ERR_UNSUPPORTED, "unsupported Arrow type '%s' (%s)", format, what);
}

static mw_status parse_unit(char c, mw_time_unit *out) {
  switch (c) {
    case 's': *out = MW_SECOND; return MW_OK;
    case 'm': *out = MW_MILLI; return MW_OK;
    case 'u': *out = MW_MICRO; return MW_OK;
    case 'n': *out = MW_NANO; return MW_OK;
    default: return MW_ERR_INVALID;
  }
}

mw_status mw_type_from_format(mw_type *out, const char *format, mw_error *err) {
  memset(out, 0, sizeof *out);
  if (format == NULL) return mw_err(err, MW_ERR_INVALID, "missing Arrow format string");
  const char *f = format;
  /* Single-character primitive formats. */
  if (f[0] != '\0' && f[1] == '\0') {
    switch (f[0]) {
      case 'n': out->id = MW_T_NULL; return MW_OK;
      case 'b': out->id = MW_T_BOOL; return MW_OK;
      case 'c': out->id = MW_T_INT8; return MW_OK;
      case 'C': out->id = MW_T_UINT8; return MW_OK;
      case 's': out->id = MW_T_INT16; return MW_OK;
      case 'S': out->id = MW_T_UINT16; return MW_OK;
      case 'i': out->id = MW_T_INT32; return MW_OK;
      case 'I': out->id = MW_T_UINT32; return MW_OK;
      case 'l': out->id = MW_T_INT64; return MW_OK;
      case 'L': out->id = MW_T_UINT64; return MW_OK;
      case 'e': out->id = MW_T_FLOAT16; return MW_OK;
      case 'f': out->id = MW_T_FLOAT32; return MW_OK;
      case 'g': out->id = MW_T_FLOAT64; return MW_OK;
      case 'z': out->id = MW_T_BINARY; return MW_OK;
      case 'Z': out->id = MW_T_LARGE_BINARY; return MW_OK;
      case 'u': out->id = MW_T_UTF8; return MW_OK;
      case 'U': out->id = MW_T_LARGE_UTF8; return MW_OK;
      default: return fmt_invalid(err, format);
    }
  }
  switch (f[0]) {
    case 'w': { /* w:N fixed-size binary */
      const char *p = f + 1;
      if (*p++ != ':' || !parse_i32(&p, &out->width, false) || *p != '\0')
        return fmt_invalid(err, format);
      out->id = MW_T_FIXED_SIZE_BINARY;
      return MW_OK;
    }
    case 'd': { /* d:P,S or d:P,S,BITS */
      const char *p = f + 1;
      int32_t bits = 128;
      if (*p++ != ':' || !parse_i32(&p, &out->width, false) || *p++ != ',' ||
          !parse_i32(&p, &out->scale, true))
        return fmt_invalid(err, format);
      if (*p == ',') {
        p++;
        if (!parse_i32(&p, &bits, false)) return fmt_invalid(err, format);
      }
      if (*p != '\0') return fmt_invalid(err, format);
      if (bits != 128) {
        if (bits == 32 || bits == 64 || bits == 256)
          return fmt_unsupported(err, format, "only 128-bit decimals are supported");
        return fmt_invalid(err, format);
      }
      if (out->width < 1 || out->width > 38)
        return mw_err(err, MW_ERR_INVALID, "Arrow format '%s': decimal128 precision must be 1..38",
                      format);
      out->id = MW_T_DECIMAL128;
      return MW_OK;
    }
    case 'v': /* vu / vz: string and binary views */
      if ((f[1] == 'u' || f[1] == 'z') && f[2] == '\0')
        return fmt_unsupported(err, format, "view types");
      return fmt_invalid(err, format);
    case 't': {
      char kind = f[1];
      if (kind == 'd') { /* tdD / tdm */
        if (f[2] == 'D' && f[3] == '\0') { out->id = MW_T_DATE32; return MW_OK; }
        if (f[2] == 'm' && f[3] == '\0') { out->id = MW_T_DATE64; return MW_OK; }
        return fmt_invalid(err, format);
      }
      if (kind == 't') { /* tts/ttm time32, ttu/ttn time64 */
        if (f[2] == '\0' || f[3] != '\0' || parse_unit(f[2], &out->unit) != MW_OK)
          return fmt_invalid(err, format);
        out->id = (out->unit <= MW_MILLI) ? MW_T_TIME32 : MW_T_TIME64;
        return MW_OK;
      }
      if (kind == 's') { /* tsX:TZ */
        if (f[2] == '\0' || parse_unit(f[2], &out->unit) != MW_OK || f[3] != ':')
          return fmt_invalid(err, format);
        size_t tzlen = strlen(f + 4);
        if (tzlen >= MW_TZ_MAX) return fmt_unsupported(err, format, "time zone name too long");
        memcpy(out->tz, f + 4, tzlen + 1);
        out->id = MW_T_TIMESTAMP;
        return MW_OK;
      }
      if (kind == 'D') { /* tDs.. duration */
        if (f[2] == '\0' || f[3] != '\0' || parse_unit(f[2], &out->unit) != MW_OK)
          return fmt_invalid(err, format);
        out->id = MW_T_DURATION;
        return MW_OK;
      }
      if (kind == 'i') { /* tiM / tiD / tin intervals */
        if ((f[2] == 'M' || f[2] == 'D' || f[2] == 'n') && f[3] == '\0')
          return fmt_unsupported(err, format, "interval types");
        return fmt_invalid(err, format);
      }
      return fmt_invalid(err, format);
    }
    case '+': {
      const char *p = f + 1;
      if (p[0] != '\0' && p[1] == '\0') {
        switch (p[0]) {
          case 'l': out->id = MW_T_LIST; return MW_OK;
          case 'L': out->id = MW_T_LARGE_LIST; return MW_OK;
          case 's': out->id = MW_T_STRUCT; return MW_OK;
          case 'm': out->id = MW_T_MAP; return MW_OK;
          case 'r': return fmt_unsupported(err, format, "run-end encoded arrays");
          default: return fmt_invalid(err, format);
        }
      }
      if (p[0] == 'w') {
        p++;
        if (*p++ != ':' || !parse_i32(&p, &out->width, false) || *p != '\0')
          return fmt_invalid(err, format);
        out->id = MW_T_FIXED_SIZE_LIST;
        return MW_OK;
      }
      if (p[0] == 'v' && (p[1] == 'l' || p[1] == 'L') && p[2] == '\0')
        return fmt_unsupported(err, format, "list views");
      if (p[0] == 'u' && (p[1] == 'd' || p[1] == 's') && p[2] == ':')
        return fmt_unsupported(err, format, "unions");
      return fmt_invalid(err, format);
    }
    default:
      return fmt_invalid(err, format);
  }
}

static const char unit_char[4] = {'s', 'm', 'u', 'n'};
static const char *const unit_name[4] = {"s", "ms", "us", "ns"};

void mw_type_to_format(char *buf, size_t cap, const mw_type *t) {
  const char *s = NULL;
  switch (t->id) {
    case MW_T_NULL: s = "n"; break;
    case MW_T_BOOL: s = "b"; break;
    case MW_T_INT8: s = "c"; break;
    case MW_T_UINT8: s = "C"; break;
    case MW_T_INT16: s = "s"; break;
    case MW_T_UINT16: s = "S"; break;
    case MW_T_INT32: s = "i"; break;
    case MW_T_UINT32: s = "I"; break;
    case MW_T_INT64: s = "l"; break;
    case MW_T_UINT64: s = "L"; break;
    case MW_T_FLOAT16: s = "e"; break;
    case MW_T_FLOAT32: s = "f"; break;
    case MW_T_FLOAT64: s = "g"; break;
    case MW_T_UTF8: s = "u"; break;
    case MW_T_LARGE_UTF8: s = "U"; break;
    case MW_T_BINARY: s = "z"; break;
    case MW_T_LARGE_BINARY: s = "Z"; break;
    case MW_T_DATE32: s = "tdD"; break;
    case MW_T_DATE64: s = "tdm"; break;
    case MW_T_LIST: s = "+l"; break;
    case MW_T_LARGE_LIST: s = "+L"; break;
    case MW_T_STRUCT: s = "+s"; break;
    case MW_T_MAP: s = "+m"; break;
    case MW_T_FIXED_SIZE_BINARY: snprintf(buf, cap, "w:%" PRId32, t->width); return;
    case MW_T_DECIMAL128: snprintf(buf, cap, "d:%" PRId32 ",%" PRId32, t->width, t->scale); return;
    case MW_T_TIME32:
    case MW_T_TIME64: snprintf(buf, cap, "tt%c", unit_char[t->unit & 3]); return;
    case MW_T_TIMESTAMP: snprintf(buf, cap, "ts%c:%s", unit_char[t->unit & 3], t->tz); return;
    case MW_T_DURATION: snprintf(buf, cap, "tD%c", unit_char[t->unit & 3]); return;
    case MW_T_FIXED_SIZE_LIST: snprintf(buf, cap, "+w:%" PRId32, t->width); return;
  }
  snprintf(buf, cap, "%s", s ? s : "?");
}

void mw_type_name(char *buf, size_t cap, const mw_type *t) {
  const char *s = NULL;
  switch (t->id) {
    case MW_T_NULL: s = "null"; break;
    case MW_T_BOOL: s = "bool"; break;
    case MW_T_INT8: s = "int8"; break;
    case MW_T_UINT8: s = "uint8"; break;
    case MW_T_INT16: s = "int16"; break;
    case MW_T_UINT16: s = "uint16"; break;
    case MW_T_INT32: s = "int32"; break;
    case MW_T_UINT32: s = "uint32"; break;
    case MW_T_INT64: s = "int64"; break;
    case MW_T_UINT64: s = "uint64"; break;
    case MW_T_FLOAT16: s = "float16"; break;
    case MW_T_FLOAT32: s = "float32"; break;
    case MW_T_FLOAT64: s = "float64"; break;
    case MW_T_UTF8: s = "utf8"; break;
    case MW_T_LARGE_UTF8: s = "large_utf8"; break;
    case MW_T_BINARY: s = "binary"; break;
    case MW_T_LARGE_BINARY: s = "large_binary"; break;
    case MW_T_DATE32: s = "date32"; break;
    case MW_T_DATE64: s = "date64"; break;
    case MW_T_LIST: s = "list"; break;
    case MW_T_LARGE_LIST: s = "large_list"; break;
    case MW_T_STRUCT: s = "struct"; break;
    case MW_T_MAP: s = "map"; break;
    case MW_T_FIXED_SIZE_BINARY: snprintf(buf, cap, "fixed_size_binary[%" PRId32 "]", t->width); return;
    case MW_T_DECIMAL128:
      snprintf(buf, cap, "decimal128(%" PRId32 ", %" PRId32 ")", t->width, t->scale);
      return;
    case MW_T_TIME32: snprintf(buf, cap, "time32[%s]", unit_name[t->unit & 3]); return;
    case MW_T_TIME64: snprintf(buf, cap, "time64[%s]", unit_name[t->unit & 3]); return;
    case MW_T_TIMESTAMP:
      if (t->tz[0]) snprintf(buf, cap, "timestamp[%s, %s]", unit_name[t->unit & 3], t->tz);
      else snprintf(buf, cap, "timestamp[%s]", unit_name[t->unit & 3]);
      return;
    case MW_T_DURATION: snprintf(buf, cap, "duration[%s]", unit_name[t->unit & 3]); return;
    case MW_T_FIXED_SIZE_LIST: snprintf(buf, cap, "fixed_size_list[%" PRId32 "]", t->width); return;
  }
  snprintf(buf, cap, "%s", s ? s : "?");
}

int mw_type_n_buffers(const mw_type *t) {
  switch (t->id) {
    case MW_T_NULL: return 0;
    case MW_T_STRUCT:
    case MW_T_FIXED_SIZE_LIST: return 1;
    case MW_T_UTF8:
    case MW_T_LARGE_UTF8:
    case MW_T_BINARY:
    case MW_T_LARGE_BINARY: return 3;
    default: return 2; /* validity + values, or validity + offsets for lists/maps */
  }
}

int mw_type_fixed_bits(const mw_type *t) {
  switch (t->id) {
    case MW_T_BOOL: return 1;
    case MW_T_INT8: case MW_T_UINT8: return 8;
    case MW_T_INT16: case MW_T_UINT16: case MW_T_FLOAT16: return 16;
    case MW_T_INT32: case MW_T_UINT32: case MW_T_FLOAT32: case MW_T_DATE32: case MW_T_TIME32:
      return 32;
    case MW_T_INT64: case MW_T_UINT64: case MW_T_FLOAT64: case MW_T_DATE64: case MW_T_TIME64:
    case MW_T_TIMESTAMP: case MW_T_DURATION:
      return 64;
    case MW_T_DECIMAL128: return 128;
    case MW_T_FIXED_SIZE_BINARY: return t->width * 8;
    default: return 0;
  }
}

/* ---------------------------------------------------------------- validate */

static bool is_var_width(mw_type_id id) {
  return id == MW_T_UTF8 || id == MW_T_BINARY || id == MW_T_LARGE_UTF8 || id == MW_T_LARGE_BINARY;
}
static bool has_large_offsets(mw_type_id id) {
  return id == MW_T_LARGE_UTF8 || id == MW_T_LARGE_BINARY || id == MW_T_LARGE_LIST;
}
static bool has_offsets(mw_type_id id) {
  return is_var_width(id) || id == MW_T_LIST || id == MW_T_LARGE_LIST || id == MW_T_MAP;
}

static int64_t load_offset(const void *buf, bool large, int64_t i) {
  if (large) return ((const int64_t *)buf)[i];
  return ((const int32_t *)buf)[i];
}

/* out = parent + "." + child name (or the index for an unnamed child),
 * truncated to cap. Hand-rolled: it runs for every column of every batch. */
static void child_path(char *out, size_t cap, const char *parent, const struct ArrowSchema *child,
                       int64_t i) {
  char num[24];
  const char *name = child && child->name && child->name[0] ? child->name : NULL;
  if (!name) {
    snprintf(num, sizeof num, "%" PRId64, i);
    name = num;
  }
  size_t n = 0;
  if (parent[0]) {
    for (; parent[n] && n + 1 < cap; n++) out[n] = parent[n];
    if (n + 1 < cap) out[n++] = '.';
  }
  for (size_t k = 0; name[k] && n + 1 < cap; k++) out[n++] = name[k];
  out[n] = '\0';
}

static mw_status validate_rec(const struct ArrowSchema *schema, const struct ArrowArray *a,
                              const char *path, int depth, mw_error *err) {
  if (depth > MW_MAX_DEPTH)
    return mw_err(err, MW_ERR_INVALID, "column '%s': nesting deeper than %d levels", path,
                  MW_MAX_DEPTH);
  if (schema == NULL) return mw_err(err, MW_ERR_INVALID, "column '%s': missing schema", path);
  if (a == NULL) return mw_err(err, MW_ERR_INVALID, "column '%s': missing array", path);
  mw_type t;
  mw_status st = mw_type_from_format(&t, schema->format, err);
  if (st != MW_OK) return mw_err_wrap(err, st, "column '%s'", path);
  if (schema->dictionary != NULL)
    return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': dictionary-encoded columns are not supported",
                  path);
  char tname[96]; /* filled only on the error paths (validation is per batch: keep it cheap) */
#define MW_TNAME() (mw_type_name(tname, sizeof tname, &t), tname)
  if (a->release == NULL)
    return mw_err(err, MW_ERR_INVALID, "column '%s': array is released (release == NULL)", path);
  if (a->length < 0)
    return mw_err(err, MW_ERR_INVALID, "column '%s': negative length %" PRId64, path, a->length);
  if (a->offset < 0)
    return mw_err(err, MW_ERR_INVALID, "column '%s': negative offset %" PRId64, path, a->offset);
  if (a->offset > INT64_MAX - a->length)
    return mw_err(err, MW_ERR_INVALID, "column '%s': offset + length overflows", path);
  if (a->null_count < -1 || a->null_count > a->length)
    return mw_err(err, MW_ERR_INVALID, "column '%s': null_count %" PRId64 " outside [-1, %" PRId64 "]",
                  path, a->null_count, a->length);
  int nb = mw_type_n_buffers(&t);
  if (a->n_buffers != nb)
    return mw_err(err, MW_ERR_INVALID, "column '%s': %s array has %" PRId64 " buffers, expected %d",
                  path, MW_TNAME(), a->n_buffers, nb);
  if (nb > 0 && a->buffers == NULL)
    return mw_err(err, MW_ERR_INVALID, "column '%s': buffers pointer is NULL", path);

  int64_t want_children = 0;
  switch (t.id) {
    case MW_T_LIST: case MW_T_LARGE_LIST: case MW_T_MAP: case MW_T_FIXED_SIZE_LIST:
      want_children = 1;
      break;
    case MW_T_STRUCT: want_children = schema->n_children; break;
    default: break;
  }
  if (schema->n_children != want_children)
    return mw_err(err, MW_ERR_INVALID, "column '%s': %s schema has %" PRId64 " children, expected %" PRId64,
                  path, MW_TNAME(), schema->n_children, want_children);
  if (a->n_children != want_children)
    return mw_err(err, MW_ERR_INVALID, "column '%s': %s array has %" PRId64 " children, expected %" PRId64,
                  path, MW_TNAME(), a->n_children, want_children);
  if (want_children > 0 && (a->children == NULL || schema->children == NULL))
    return mw_err(err, MW_ERR_INVALID, "column '%s': children pointer is NULL", path);
  for (int64_t i = 0; i < want_children; i++) {
    if (schema->children[i] == NULL || a->children[i] == NULL)
      return mw_err(err, MW_ERR_INVALID, "column '%s': child %" PRId64 " is NULL", path, i);
  }

  if (t.id == MW_T_NULL) return MW_OK; /* no buffers; null_count is all of it */

  /* null_count -1 with no bitmap is accepted: no bitmap means no nulls */
  if (a->buffers[0] == NULL && a->null_count > 0)
    return mw_err(err, MW_ERR_INVALID,
                  "column '%s': validity buffer is NULL but null_count is %" PRId64, path,
                  a->null_count);

  const int64_t end = a->offset + a->length; /* one past the last slot used */
  int64_t child_need = 0;                     /* min child length (lists, fsl) */

  if (has_offsets(t.id)) {
    bool large = has_large_offsets(t.id);
    if (a->length > 0) {
      const void *offs = a->buffers[1];
      if (offs == NULL)
        return mw_err(err, MW_ERR_INVALID, "column '%s': offsets buffer is NULL with length %" PRId64,
                      path, a->length);
      int64_t prev = load_offset(offs, large, a->offset);
      if (prev < 0)
        return mw_err(err, MW_ERR_INVALID, "column '%s': first offset %" PRId64 " is negative", path,
                      prev);
      for (int64_t i = a->offset + 1; i <= end; i++) {
        int64_t o = load_offset(offs, large, i);
        if (o < prev)
          return mw_err(err, MW_ERR_INVALID,
                        "column '%s': offsets not monotonic at index %" PRId64 " (%" PRId64
                        " after %" PRId64 ")",
                        path, i - a->offset, o, prev);
        prev = o;
      }
      int64_t first = load_offset(offs, large, a->offset);
      if (is_var_width(t.id) && prev > first && a->buffers[2] == NULL)
        return mw_err(err, MW_ERR_INVALID, "column '%s': data buffer is NULL but %" PRId64
                      " bytes are referenced", path, prev - first);
      child_need = prev;
    }
  } else if (t.id == MW_T_FIXED_SIZE_LIST) {
    if (t.width > 0 && end > INT64_MAX / t.width)
      return mw_err(err, MW_ERR_INVALID, "column '%s': fixed_size_list length overflows", path);
    child_need = end * t.width;
  } else if (t.id == MW_T_STRUCT) {
    child_need = end;
  } else {
    /* fixed width: values buffer must exist when any bytes are referenced */
    int bits = mw_type_fixed_bits(&t);
    if (a->length > 0 && bits > 0 && a->buffers[1] == NULL)
      return mw_err(err, MW_ERR_INVALID, "column '%s': values buffer is NULL with length %" PRId64,
                    path, a->length);
  }

  if (t.id == MW_T_MAP) {
    const struct ArrowSchema *e = schema->children[0];
    if (e->format == NULL || strcmp(e->format, "+s") != 0 || e->n_children != 2)
      return mw_err(err, MW_ERR_INVALID,
                    "column '%s': map child must be a struct of 2 children (key, value)", path);
  }

  for (int64_t i = 0; i < want_children; i++) {
    const struct ArrowSchema *cs = schema->children[i];
    const struct ArrowArray *ca = a->children[i];
    char cpath[256];
    child_path(cpath, sizeof cpath, path, cs, i);
    if (ca->length >= 0 && ca->length < child_need)
      return mw_err(err, MW_ERR_INVALID,
                    "column '%s': child length %" PRId64 " is shorter than the %" PRId64
                    " values the parent references",
                    cpath, ca->length, child_need);
    st = validate_rec(cs, ca, cpath, depth + 1, err);
    if (st != MW_OK) return st;
  }
  return MW_OK;
}

#undef MW_TNAME

mw_status mw_array_validate(const struct ArrowSchema *schema, const struct ArrowArray *array,
                            const char *path, mw_error *err) {
  return validate_rec(schema, array, path ? path : "", 0, err);
}

mw_status mw_batch_validate(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                            mw_error *err) {
  if (schema == NULL || schema->release == NULL)
    return mw_err(err, MW_ERR_INVALID, "batch schema is missing or released");
  if (schema->format == NULL || strcmp(schema->format, "+s") != 0)
    return mw_err(err, MW_ERR_INVALID, "batch schema must be a struct (\"+s\"), got '%s'",
                  schema->format ? schema->format : "(null)");
  if (schema->n_children < 0 || (schema->n_children > 0 && schema->children == NULL))
    return mw_err(err, MW_ERR_INVALID, "batch schema has a broken children list");
  if (batch == NULL || batch->release == NULL)
    return mw_err(err, MW_ERR_INVALID, "batch is missing or released (release == NULL)");
  if (batch->length < 0 || batch->offset < 0 || batch->offset > INT64_MAX - batch->length)
    return mw_err(err, MW_ERR_INVALID, "batch: bad length %" PRId64 " / offset %" PRId64,
                  batch->length, batch->offset);
  if (batch->n_buffers != 1 || batch->buffers == NULL)
    return mw_err(err, MW_ERR_INVALID, "batch: struct array has %" PRId64 " buffers, expected 1",
                  batch->n_buffers);
  if (batch->null_count != 0 && !(batch->null_count == -1 && batch->buffers[0] == NULL))
    return mw_err(err, MW_ERR_INVALID,
                  "batch: top-level null_count must be 0 (a record batch has no nulls), got %" PRId64,
                  batch->null_count);
  if (batch->n_children != schema->n_children)
    return mw_err(err, MW_ERR_INVALID, "batch has %" PRId64 " columns, schema has %" PRId64,
                  batch->n_children, schema->n_children);
  if (batch->n_children > 0 && batch->children == NULL)
    return mw_err(err, MW_ERR_INVALID, "batch: children pointer is NULL");
  for (int64_t i = 0; i < schema->n_children; i++) {
    const struct ArrowSchema *cs = schema->children[i];
    const struct ArrowArray *ca = batch->children[i];
    char path[256];
    child_path(path, sizeof path, "", cs, i);
    if (cs == NULL || ca == NULL)
      return mw_err(err, MW_ERR_INVALID, "column '%s': missing schema or array", path);
    if (ca->length >= 0 && ca->length < batch->offset + batch->length)
      return mw_err(err, MW_ERR_INVALID,
                    "column '%s': length %" PRId64 " is shorter than the batch (%" PRId64 " rows)",
                    path, ca->length, batch->offset + batch->length);
    mw_status st = validate_rec(cs, ca, path, 1, err);
    if (st != MW_OK) return st;
  }
  return MW_OK;
}

/* --------------------------------------------------------------- byte size */

/* Bytes of rows [abs, abs + len) of `a` (abs already includes a->offset). */
static uint64_t size_range(const struct ArrowSchema *schema, const struct ArrowArray *a,
                           int64_t abs, int64_t len, int depth) {
  mw_type t;
  if (depth > MW_MAX_DEPTH || len <= 0 || mw_type_from_format(&t, schema->format, NULL) != MW_OK)
    return 0;
  uint64_t n = 0;
  if (t.id == MW_T_NULL) return 0;
  if (a->null_count != 0 && a->n_buffers > 0 && a->buffers[0] != NULL)
    n += (uint64_t)(len + 7) / 8;
  switch (t.id) {
    case MW_T_STRUCT:
      for (int64_t i = 0; i < a->n_children; i++)
        n += size_range(schema->children[i], a->children[i], a->children[i]->offset + abs, len,
                        depth + 1);
      return n;
    case MW_T_FIXED_SIZE_LIST: {
      const struct ArrowArray *c = a->children[0];
      return n + size_range(schema->children[0], c, c->offset + abs * t.width, len * t.width,
                            depth + 1);
    }
    case MW_T_UTF8: case MW_T_BINARY: case MW_T_LARGE_UTF8: case MW_T_LARGE_BINARY:
    case MW_T_LIST: case MW_T_LARGE_LIST: case MW_T_MAP: {
      bool large = has_large_offsets(t.id);
      int64_t first = load_offset(a->buffers[1], large, abs);
      int64_t last = load_offset(a->buffers[1], large, abs + len);
      n += (uint64_t)(len + 1) * (large ? 8 : 4);
      if (is_var_width(t.id)) return n + (uint64_t)(last - first);
      const struct ArrowArray *c = a->children[0];
      return n + size_range(schema->children[0], c, c->offset + first, last - first, depth + 1);
    }
    default: {
      int bits = mw_type_fixed_bits(&t);
      return n + ((uint64_t)len * (uint64_t)bits + 7) / 8;
    }
  }
}

uint64_t mw_array_byte_size(const struct ArrowSchema *schema, const struct ArrowArray *array) {
  if (schema == NULL || array == NULL || array->release == NULL) return 0;
  return size_range(schema, array, array->offset, array->length, 0);
}
