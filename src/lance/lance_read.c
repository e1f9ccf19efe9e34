/* lance_read.c - Lance v2 file reader: container, schema, row ranges and
 * Arrow assembly (layout and contract in lance_read.h; page encodings in
 * lance_decode.c).
 *
 * Open: head (store) or the buffer size; the 40-byte footer; one ranged get
 * of everything from the start of the column metadata to the end (column
 * metadata, CMO and GBO tables, and usually the FileDescriptor); global
 * buffer 0 separately when it lies before. Fields become a tree by
 * parent_id; columns are the leaf fields in field order (file format 2.1+:
 * a struct or list has no column of its own, its validity is carried in the
 * leaves' definition levels; 2.0 files with struct / list fields are
 * refused as unsupported).
 *
 * Read: for each projected leaf column, the pages overlapping the requested
 * rows are fetched (one get per page buffer) and decoded; the overlapping
 * rows are appended to a per-column accumulator that rebuilds every node on
 * the leaf's path from its top-level field (structs and lists in any order
 * and depth, up to MAX_LAYERS - 1 layers): per node its entries' validity,
 * per list node each entry's first child entry, and the leaf's items. Rep
 * and def levels drive it (page_append): layers innermost first; def levels
 * numbered from 1 over the nullable layers, innermost first, a
 * NULL_AND_EMPTY list layer taking two numbers (null, then empty); with m
 * list layers rep m starts a row and rep r a new element of the (m - r)-th
 * list from the outside. A null struct's children get null entries down to
 * the first list below it (a null list of no items); a page holds a value
 * exactly for the levels that reach the leaf. The accumulators then become
 * Arrow arrays: a struct's validity and a list's offsets come from the
 * first leaf under it (every leaf carries the same levels above), and every
 * child's length is checked against its parent's. Deleted rows (deletion
 * files) are the dataset reader's business (cli_lance_cat.c). Anything
 * else is MW_ERR_UNSUPPORTED naming the column. */
#include "lance/lance_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "common/error.h"
#include "lance/lance_decode.h"
#include "lance/pb.h"

#define MAX_FIELDS 100000
#define MAX_LAYERS 8

typedef struct rfield {
  char *name, *logical;
  char *meta; /* Arrow metadata blob or NULL */
  bool nullable;
  int32_t id, parent;
  int *kids;
  int nkids, capkids;
  int col;    /* leaf column, -1 for struct / list */
  char format[96];
  char item_format[96]; /* fixed_size_list item type */
} rfield;

struct mw_lance_reader {
  char name[256];
  const uint8_t *mem;
  mw_objstore *store;
  char *key;
  uint64_t size;
  uint16_t major, minor;
  uint32_t ncol, ngb;
  uint8_t *tail;     /* file bytes [tail_pos, size) */
  uint64_t tail_pos;
  uint64_t *cm_pos, *cm_len;
  rfield *f;
  int nf;
  int *top;
  int ntop;
  int *col_field; /* leaf field of each column */
  uint64_t rows;
  struct ArrowSchema schema;
};

static mw_status corrupt(mw_lance_reader *r, mw_error *err, uint64_t pos, const char *fmt, ...) MW_PRINTF(4, 5);
static mw_status corrupt(mw_lance_reader *r, mw_error *err, uint64_t pos, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return mw_err(err, MW_ERR_CORRUPT, "Lance file %s: %s (at byte %llu)", r->name, msg, (unsigned long long)pos);
}

/* ---- byte access ---- */

typedef struct bytes {
  const uint8_t *p;
  uint8_t *owned;
  size_t n;
} bytes;

static void bytes_free(bytes *b) {
  free(b->owned);
  b->owned = NULL;
  b->p = NULL;
}

/* bytes [pos, pos + len) of the file, checked against its size */
static mw_status get_range(mw_lance_reader *r, bytes *out, uint64_t pos, uint64_t len, const char *what, mw_error *err) {
  memset(out, 0, sizeof *out);
  if (pos > r->size || len > r->size - pos)
    return corrupt(r, err, pos, "%s of %llu bytes runs past the end of the %llu-byte file", what, (unsigned long long)len,
                   (unsigned long long)r->size);
  if (len > SIZE_MAX) return mw_err(err, MW_ERR_NOMEM, "Lance file %s: %s too large", r->name, what);
  if (len == 0) {
    out->p = (const uint8_t *)"";
    return MW_OK;
  }
  if (r->tail && pos >= r->tail_pos) {
    out->p = r->tail + (pos - r->tail_pos);
    out->n = (size_t)len;
    return MW_OK;
  }
  if (r->mem) {
    out->p = r->mem + pos;
    out->n = (size_t)len;
    return MW_OK;
  }
  uint8_t *d = NULL;
  size_t n = 0;
  mw_status s = mw_objstore_get(r->store, &d, &n, r->key, pos, len, err);
  if (s != MW_OK) return mw_err_wrap(err, s, "Lance file %s: reading %s", r->name, what);
  if (n != len) {
    free(d);
    return corrupt(r, err, pos, "%s: short read (%zu of %llu bytes)", what, n, (unsigned long long)len);
  }
  out->p = out->owned = d;
  out->n = n;
  return MW_OK;
}

/* ---- protobuf helpers ---- */

static bool pb_valid(const uint8_t *m, size_t n) {
  size_t pos = 0;
  mw_pb_field f;
  while (pos < n)
    if (!mw_pb_next(m, n, &pos, &f)) return false;
  return true;
}

/* packed or unpacked repeated u64 field: appends to out (up to cap) */
static bool pb_repeated_u64(const uint8_t *m, size_t n, uint32_t field, uint64_t *out, int cap, int *count) {
  size_t pos = 0;
  mw_pb_field f;
  *count = 0;
  while (pos < n && mw_pb_next(m, n, &pos, &f)) {
    if (f.field != field) continue;
    if (f.wire_type == 0) {
      if (*count >= cap) return false;
      out[(*count)++] = f.val;
    } else if (f.wire_type == 2) {
      size_t q = 0;
      while (q < f.len) {
        uint64_t x;
        if (!mw_pb_read_varint(f.data, f.len, &q, &x) || *count >= cap) return false;
        out[(*count)++] = x;
      }
    } else {
      return false;
    }
  }
  return true;
}

static char *strndup_(const uint8_t *p, size_t n) {
  char *s = malloc(n + 1);
  if (!s) return NULL;
  if (n) memcpy(s, p, n);
  s[n] = 0;
  return s;
}

/* map<string, bytes> entries of `field` as an Arrow metadata blob */
static mw_status map_to_blob(char **out, const uint8_t *m, size_t n, uint32_t field, mw_error *err) {
  *out = NULL;
  int32_t cnt = 0;
  size_t pos = 0;
  mw_pb_field f;
  while (pos < n && mw_pb_next(m, n, &pos, &f))
    if (f.field == field && f.wire_type == 2) cnt++;
  if (!cnt) return MW_OK;
  mw_kv *kv = calloc((size_t)cnt, sizeof *kv);
  if (!kv) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  int32_t i = 0;
  pos = 0;
  while (pos < n && mw_pb_next(m, n, &pos, &f)) {
    if (f.field != field || f.wire_type != 2) continue;
    mw_pb_field k, v;
    bool hk = mw_pb_find(f.data, f.len, 1, &k) && k.wire_type == 2;
    bool hv = mw_pb_find(f.data, f.len, 2, &v) && v.wire_type == 2;
    if (f.len > INT32_MAX) {
      free(kv);
      return mw_err(err, MW_ERR_CORRUPT, "metadata entry too large");
    }
    kv[i].key = hk ? (const char *)k.data : "";
    kv[i].key_len = hk ? (int32_t)k.len : 0;
    kv[i].value = hv ? (const char *)v.data : "";
    kv[i].value_len = hv ? (int32_t)v.len : 0;
    i++;
  }
  bool ok = true;
  *out = mw_metadata_build(kv, cnt, &ok);
  free(kv);
  return ok ? MW_OK : mw_err(err, MW_ERR_NOMEM, "out of memory");
}

/* ---- logical types ---- */

static const char *unit_code(const char *u) {
  if (!strcmp(u, "s")) return "s";
  if (!strcmp(u, "ms")) return "m";
  if (!strcmp(u, "us")) return "u";
  if (!strcmp(u, "ns")) return "n";
  return NULL;
}

/* Arrow format of a Lance logical type (not struct / list), or false */
static bool logical_format(char *buf, size_t cap, const char *lt) {
  static const struct { const char *l, *f; } simple[] = {
      {"bool", "b"}, {"int8", "c"}, {"uint8", "C"}, {"int16", "s"}, {"uint16", "S"}, {"int32", "i"},
      {"uint32", "I"}, {"int64", "l"}, {"uint64", "L"}, {"halffloat", "e"}, {"float", "f"}, {"double", "g"},
      {"string", "u"}, {"large_string", "U"}, {"binary", "z"}, {"large_binary", "Z"}, {"date32:day", "tdD"},
      {"date64:ms", "tdm"}, {"null", "n"}};
  for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
    if (!strcmp(lt, simple[i].l)) {
      snprintf(buf, cap, "%s", simple[i].f);
      return strcmp(lt, "null") != 0;
    }
  char u[16];
  int n = 0;
  if (!strncmp(lt, "timestamp:", 10)) {
    const char *p = lt + 10, *c = strchr(p, ':');
    if (!c || (size_t)(c - p) >= sizeof u) return false;
    memcpy(u, p, (size_t)(c - p));
    u[c - p] = 0;
    const char *uc = unit_code(u);
    if (!uc) return false;
    const char *tz = c + 1;
    snprintf(buf, cap, "ts%s:%s", uc, strcmp(tz, "-") ? tz : "");
    return true;
  }
  if (sscanf(lt, "time32:%15s%n", u, &n) == 1 && !lt[n] && (!strcmp(u, "s") || !strcmp(u, "ms"))) {
    snprintf(buf, cap, "tt%s", unit_code(u));
    return true;
  }
  if (sscanf(lt, "time64:%15s%n", u, &n) == 1 && !lt[n] && (!strcmp(u, "us") || !strcmp(u, "ns"))) {
    snprintf(buf, cap, "tt%s", unit_code(u));
    return true;
  }
  if (sscanf(lt, "duration:%15s%n", u, &n) == 1 && !lt[n] && unit_code(u)) {
    snprintf(buf, cap, "tD%s", unit_code(u));
    return true;
  }
  int a, b;
  if (sscanf(lt, "decimal:128:%d:%d%n", &a, &b, &n) == 2 && !lt[n] && a > 0 && a <= 38) {
    snprintf(buf, cap, "d:%d,%d", a, b);
    return true;
  }
  if (sscanf(lt, "fixed_size_binary:%d%n", &a, &n) == 1 && !lt[n] && a > 0) {
    snprintf(buf, cap, "w:%d", a);
    return true;
  }
  return false;
}

/* ---- schema ---- */

static mw_status parse_field(mw_lance_reader *r, rfield *f, const uint8_t *m, size_t n, uint64_t pos, mw_error *err) {
  if (!pb_valid(m, n)) return corrupt(r, err, pos, "malformed lance.file.Field");
  mw_pb_field x;
  f->col = -1;
  f->id = 0;
  f->parent = 0;
  size_t p = 0;
  while (p < n && mw_pb_next(m, n, &p, &x)) {
    switch (x.field) {
      case 2: if (x.wire_type == 2 && !f->name) f->name = strndup_(x.data, x.len); break;
      case 3: if (x.wire_type == 0) f->id = (int32_t)(uint32_t)x.val; break;
      case 4: if (x.wire_type == 0) f->parent = (int32_t)(uint32_t)x.val; break;
      case 5: if (x.wire_type == 2 && !f->logical) f->logical = strndup_(x.data, x.len); break;
      case 6: if (x.wire_type == 0) f->nullable = x.val != 0; break;
      default: break;
    }
  }
  if (!f->name) f->name = strndup_((const uint8_t *)"", 0);
  if (!f->logical) f->logical = strndup_((const uint8_t *)"", 0);
  if (!f->name || !f->logical) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  return map_to_blob(&f->meta, m, n, 10, err);
}

static mw_status build_schema(mw_lance_reader *r, struct ArrowSchema *s, int fi, mw_error *err) {
  rfield *f = &r->f[fi];
  const char *fmt = f->format;
  int64_t nk = !strcmp(fmt, "+s") ? f->nkids : (!strcmp(fmt, "+l") || !strcmp(fmt, "+L") || fmt[0] == '+') ? 1 : 0;
  MW_TRY(mw_schema_init(s, fmt, f->name, f->meta, f->nullable ? ARROW_FLAG_NULLABLE : 0, nk, err));
  if (!strcmp(fmt, "+s")) {
    for (int i = 0; i < f->nkids; i++) MW_TRY(build_schema(r, s->children[i], f->kids[i], err));
  } else if (fmt[0] == '+' && fmt[1] == 'w') {
    MW_TRY(mw_schema_init(s->children[0], f->item_format, "item", NULL, ARROW_FLAG_NULLABLE, 0, err));
  } else if (nk == 1) {
    MW_TRY(build_schema(r, s->children[0], f->kids[0], err));
  }
  return MW_OK;
}

/* sets formats bottom-up and numbers leaf columns depth-first */
static mw_status type_fields(mw_lance_reader *r, int fi, int depth, int *next_col, mw_error *err) {
  rfield *f = &r->f[fi];
  if (depth > 32) return corrupt(r, err, 0, "fields nested deeper than 32 levels");
  const char *lt = f->logical;
  if (!strcmp(lt, "struct")) {
    snprintf(f->format, sizeof f->format, "+s");
    if (f->nkids == 0)
      return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: column %s: a struct without fields is not supported", r->name,
                    f->name);
  } else if (!strcmp(lt, "list") || !strcmp(lt, "large_list") || !strcmp(lt, "list.struct") ||
             !strcmp(lt, "large_list.struct")) {
    snprintf(f->format, sizeof f->format, "%s", lt[0] == 'l' && lt[1] == 'a' ? "+L" : "+l");
    if (f->nkids != 1)
      return mw_err(err, MW_ERR_CORRUPT, "Lance file %s: list field '%s' has %d children", r->name, f->name, f->nkids);
  } else if (!strncmp(lt, "fixed_size_list:", 16)) {
    const char *last = strrchr(lt, ':');
    int dim = atoi(last + 1);
    char inner[96];
    size_t il = (size_t)(last - (lt + 16));
    if (dim <= 0 || il == 0 || il >= sizeof inner)
      return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: column %s: logical type '%s' not supported", r->name, f->name, lt);
    memcpy(inner, lt + 16, il);
    inner[il] = 0;
    if (!logical_format(f->item_format, sizeof f->item_format, inner))
      return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: column %s: logical type '%s' not supported", r->name, f->name, lt);
    snprintf(f->format, sizeof f->format, "+w:%d", dim);
  } else if (!logical_format(f->format, sizeof f->format, lt)) {
    return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: column %s: logical type '%s' not supported", r->name, f->name, lt);
  }
  if (f->format[0] == '+' && f->format[1] != 'w') {
    for (int i = 0; i < f->nkids; i++) MW_TRY(type_fields(r, f->kids[i], depth + 1, next_col, err));
  } else {
    if (f->nkids) return corrupt(r, err, 0, "leaf field '%s' has children", f->name);
    f->col = (*next_col)++;
  }
  return MW_OK;
}

static mw_status add_kid(rfield *p, int k, mw_error *err) {
  if (p->nkids == p->capkids) {
    int nc = p->capkids ? p->capkids * 2 : 4;
    int *nk = realloc(p->kids, (size_t)nc * sizeof *nk);
    if (!nk) return mw_err(err, MW_ERR_NOMEM, "out of memory");
    p->kids = nk;
    p->capkids = nc;
  }
  p->kids[p->nkids++] = k;
  return MW_OK;
}

static mw_status parse_descriptor(mw_lance_reader *r, const uint8_t *d, size_t n, uint64_t pos, mw_error *err) {
  if (!pb_valid(d, n)) return corrupt(r, err, pos, "malformed FileDescriptor");
  mw_pb_field sch, len;
  r->rows = mw_pb_find(d, n, 2, &len) && len.wire_type == 0 ? len.val : 0;
  if (!mw_pb_find(d, n, 1, &sch) || sch.wire_type != 2) return corrupt(r, err, pos, "FileDescriptor without a schema");
  if (!pb_valid(sch.data, sch.len)) return corrupt(r, err, pos, "malformed lance.file.Schema");
  size_t p = 0;
  mw_pb_field x;
  int cnt = 0;
  while (p < sch.len && mw_pb_next(sch.data, sch.len, &p, &x))
    if (x.field == 1 && x.wire_type == 2) cnt++;
  if (cnt == 0) return corrupt(r, err, pos, "schema without fields");
  if (cnt > MAX_FIELDS) return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: %d fields", r->name, cnt);
  r->f = calloc((size_t)cnt, sizeof *r->f);
  r->top = calloc((size_t)cnt, sizeof *r->top);
  if (!r->f || !r->top) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  p = 0;
  while (p < sch.len && mw_pb_next(sch.data, sch.len, &p, &x)) {
    if (x.field != 1 || x.wire_type != 2) continue;
    MW_TRY(parse_field(r, &r->f[r->nf], x.data, x.len, pos + (uint64_t)(x.data - d), err));
    r->nf++;
  }
  /* the tree by parent id; a parent must come before its children */
  for (int i = 0; i < r->nf; i++) {
    for (int j = 0; j < i; j++)
      if (r->f[j].id == r->f[i].id) return corrupt(r, err, pos, "field id %d used twice", r->f[i].id);
    if (r->f[i].parent == -1) {
      r->top[r->ntop++] = i;
      continue;
    }
    int pi = -1;
    for (int j = 0; j < i; j++)
      if (r->f[j].id == r->f[i].parent) pi = j;
    if (pi < 0) return corrupt(r, err, pos, "field '%s' has unknown parent %d", r->f[i].name, r->f[i].parent);
    MW_TRY(add_kid(&r->f[pi], i, err));
  }
  int ncol = 0;
  for (int i = 0; i < r->ntop; i++) MW_TRY(type_fields(r, r->top[i], 0, &ncol, err));
  r->col_field = calloc((size_t)(ncol ? ncol : 1), sizeof *r->col_field);
  if (!r->col_field) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  for (int i = 0; i < r->nf; i++)
    if (r->f[i].col >= 0) r->col_field[r->f[i].col] = i;
  bool v20 = r->major < 2;
  for (int i = 0; i < r->nf; i++)
    if (v20 && r->f[i].format[0] == '+' && r->f[i].format[1] != 'w')
      return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: column %s: struct / list columns in file format 2.0 are not supported",
                    r->name, r->f[i].name);
  if ((uint32_t)ncol != r->ncol)
    return corrupt(r, err, r->size - 40, "the schema has %d leaf columns, the footer %u", ncol, r->ncol);
  /* the Arrow schema */
  char *meta = NULL;
  MW_TRY(map_to_blob(&meta, sch.data, sch.len, 5, err));
  mw_status s = mw_schema_init(&r->schema, "+s", "", meta, 0, r->ntop, err);
  free(meta);
  MW_TRY(s);
  for (int i = 0; i < r->ntop; i++) MW_TRY(build_schema(r, r->schema.children[i], r->top[i], err));
  return MW_OK;
}

/* ---- open ---- */

static mw_status open_common(mw_lance_reader *r, mw_error *err) {
  if (r->size < 40) return corrupt(r, err, 0, "file of %llu bytes is too small for a footer", (unsigned long long)r->size);
  bytes ft;
  MW_TRY(get_range(r, &ft, r->size - 40, 40, "footer", err));
  const uint8_t *p = ft.p;
  if (memcmp(p + 36, "LANC", 4) != 0) {
    bytes_free(&ft);
    return corrupt(r, err, r->size - 4, "no LANC magic at the end of the file");
  }
  uint64_t cms = mw_load_u64le(p), cmo = mw_load_u64le(p + 8), gbo = mw_load_u64le(p + 16);
  r->ngb = mw_load_u32le(p + 24);
  r->ncol = mw_load_u32le(p + 28);
  r->major = mw_load_u16le(p + 32);
  r->minor = mw_load_u16le(p + 34);
  bytes_free(&ft);
  uint64_t end = r->size - 40;
  if (!((r->major == 0 && r->minor == 3) || (r->major == 2 && (r->minor == 0 || r->minor == 1 || r->minor == 2))))
    return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: file format version %u.%u not supported", r->name, r->major,
                  r->minor);
  if (cms > end) return corrupt(r, err, end, "column metadata start %llu past the footer", (unsigned long long)cms);
  if (cmo > end || r->ncol > (end - cmo) / 16)
    return corrupt(r, err, end + 8, "column metadata offset table at %llu (%u columns) runs past the footer",
                   (unsigned long long)cmo, r->ncol);
  if (gbo > end || r->ngb > (end - gbo) / 16)
    return corrupt(r, err, end + 16, "global buffer offset table at %llu (%u buffers) runs past the footer",
                   (unsigned long long)gbo, r->ngb);
  if (r->ngb < 1) return corrupt(r, err, end + 24, "no global buffer (the file descriptor)");
  uint64_t tail_pos = cms;
  if (cmo < tail_pos) tail_pos = cmo;
  if (gbo < tail_pos) tail_pos = gbo;
  bytes tb;
  MW_TRY(get_range(r, &tb, tail_pos, r->size - tail_pos, "file metadata", err));
  if (tb.owned) {
    r->tail = tb.owned;
  } else {
    r->tail = malloc(tb.n ? tb.n : 1);
    if (!r->tail) return mw_err(err, MW_ERR_NOMEM, "out of memory");
    memcpy(r->tail, tb.p, tb.n);
  }
  r->tail_pos = tail_pos;
  const uint8_t *t = r->tail;
  r->cm_pos = calloc(r->ncol ? r->ncol : 1, sizeof *r->cm_pos);
  r->cm_len = calloc(r->ncol ? r->ncol : 1, sizeof *r->cm_len);
  if (!r->cm_pos || !r->cm_len) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  for (uint32_t c = 0; c < r->ncol; c++) {
    uint64_t at = cmo + 16ull * c;
    uint64_t cp = mw_load_u64le(t + (at - tail_pos)), cl = mw_load_u64le(t + (at - tail_pos) + 8);
    if (cp > r->size || cl > r->size - cp)
      return corrupt(r, err, at, "column %u metadata at %llu (%llu bytes) runs past the end of the file", c,
                     (unsigned long long)cp, (unsigned long long)cl);
    r->cm_pos[c] = cp;
    r->cm_len[c] = cl;
  }
  uint64_t gp = mw_load_u64le(t + (gbo - tail_pos)), gl = mw_load_u64le(t + (gbo - tail_pos) + 8);
  bytes fd;
  MW_TRY(get_range(r, &fd, gp, gl, "global buffer 0 (file descriptor)", err));
  mw_status s = parse_descriptor(r, fd.p, fd.n, gp, err);
  bytes_free(&fd);
  return s;
}

static mw_lance_reader *reader_new(const char *name) {
  mw_lance_reader *r = calloc(1, sizeof *r);
  if (r) snprintf(r->name, sizeof r->name, "%s", name ? name : "(memory)");
  return r;
}

mw_status mw_lance_reader_open_mem(mw_lance_reader **out, const uint8_t *data, size_t len, const char *name,
                                   mw_error *err) {
  *out = NULL;
  mw_lance_reader *r = reader_new(name);
  if (!r) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  r->mem = data ? data : (const uint8_t *)"";
  r->size = len;
  mw_status s = open_common(r, err);
  if (s != MW_OK) {
    mw_lance_reader_free(r);
    return s;
  }
  *out = r;
  return MW_OK;
}

mw_status mw_lance_reader_open_store(mw_lance_reader **out, mw_objstore *store, const char *key, mw_error *err) {
  *out = NULL;
  mw_lance_reader *r = reader_new(key);
  if (!r) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  r->store = store;
  r->key = strndup_((const uint8_t *)key, strlen(key));
  mw_status s = r->key ? mw_objstore_head(store, &r->size, key, err) : mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (s == MW_OK) s = open_common(r, err);
  if (s != MW_OK) {
    mw_lance_reader_free(r);
    return s;
  }
  *out = r;
  return MW_OK;
}

const struct ArrowSchema *mw_lance_reader_schema(const mw_lance_reader *r) { return &r->schema; }
uint64_t mw_lance_reader_num_rows(const mw_lance_reader *r) { return r->rows; }
void mw_lance_reader_version(const mw_lance_reader *r, uint16_t *major, uint16_t *minor) {
  *major = r->major;
  *minor = r->minor;
}

void mw_lance_reader_free(mw_lance_reader *r) {
  if (!r) return;
  for (int i = 0; i < r->nf; i++) {
    free(r->f[i].name);
    free(r->f[i].logical);
    free(r->f[i].meta);
    free(r->f[i].kids);
  }
  free(r->f);
  free(r->top);
  free(r->col_field);
  free(r->cm_pos);
  free(r->cm_len);
  free(r->tail);
  free(r->key);
  mw_schema_release(&r->schema);
  free(r);
}

/* ---- per-column accumulation ---- */

/* A leaf column's path from its top-level field: node 0 = the top field,
 * node `leaf` = the leaf (whose entries are the item values in v). Each
 * struct / list node gets one entry per slot of its parent (per row for
 * node 0), with a validity bit; a list node also records, per entry, the
 * index of its first child entry. Every leaf rebuilds the nodes above it;
 * the Arrow arrays take a struct's or list's entries from the first leaf
 * under it (the levels of every leaf below carry the same layers). */
typedef struct acc {
  mw_lv v;                  /* items */
  uint64_t rows;
  int leaf;                 /* node index of the leaf */
  bool is_list[MAX_LAYERS]; /* per node: list (else struct / leaf) */
  int n_lists;
  int list_node[MAX_LAYERS]; /* the list nodes, outermost first */
  uint64_t cnt[MAX_LAYERS]; /* entries per node */
  mw_buf valid[MAX_LAYERS]; /* validity bits per node (not the leaf) */
  bool has_null[MAX_LAYERS];
  mw_buf start[MAX_LAYERS]; /* list nodes: u64 first child entry per entry */
} acc;

static void setbit(mw_buf *b, uint64_t i, bool v) {
  if ((i >> 3) >= b->len) mw_buf_append_zeros(b, (size_t)((i >> 3) + 1 - b->len));
  if (b->failed) return;
  if (v) b->data[i >> 3] |= (uint8_t)(1u << (i & 7));
  else b->data[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

static bool getbit(const uint8_t *b, uint64_t i) { return (b[i >> 3] >> (i & 7)) & 1; }

static void acc_init(acc *a) {
  memset(a, 0, sizeof *a);
  mw_lv_init(&a->v, MW_LV_FIXED, 0, 0);
  for (int i = 0; i < MAX_LAYERS; i++) {
    mw_buf_init(&a->valid[i]);
    mw_buf_init(&a->start[i]);
  }
}

static void acc_free(acc *a) {
  mw_lv_free(&a->v);
  for (int i = 0; i < MAX_LAYERS; i++) {
    mw_buf_free(&a->valid[i]);
    mw_buf_free(&a->start[i]);
  }
}

static bool acc_failed(const acc *a) {
  if (a->v.data.failed || a->v.offs.failed || a->v.valid.failed || a->v.ivalid.failed) return true;
  for (int i = 0; i < MAX_LAYERS; i++)
    if (a->valid[i].failed || a->start[i].failed) return true;
  return false;
}

/* copies value i of page values pv to a->v with validity `valid` */
static void copy_value(acc *a, const mw_lv *pv, uint64_t i, bool valid) {
  mw_lv *v = &a->v;
  switch (v->kind) {
    case MW_LV_FIXED: mw_buf_append(&v->data, pv->data.data + i * v->width, v->width); break;
    case MW_LV_BOOL: setbit(&v->data, v->n, getbit(pv->data.data, i)); break;
    case MW_LV_VAR: {
      if (v->offs.len == 0) mw_buf_u64le(&v->offs, 0);
      uint64_t s = mw_load_u64le(pv->offs.data + 8 * i), e = mw_load_u64le(pv->offs.data + 8 * (i + 1));
      if (e > s) mw_buf_append(&v->data, pv->data.data + s, (size_t)(e - s));
      mw_buf_u64le(&v->offs, v->data.len);
      break;
    }
  }
  if (v->dim && (pv->has_ivalid || v->has_ivalid)) {
    if (!v->has_ivalid) {
      v->has_ivalid = true;
      for (uint64_t j = 0; j < v->n * v->dim; j++) setbit(&v->ivalid, j, true);
    }
    for (uint64_t j = 0; j < v->dim; j++)
      setbit(&v->ivalid, v->n * v->dim + j, !pv->has_ivalid || getbit(pv->ivalid.data, i * v->dim + j));
  }
  if (!valid && !v->has_valid) {
    v->has_valid = true;
    for (uint64_t j = 0; j < v->n; j++) setbit(&v->valid, j, true);
  }
  if (v->has_valid) setbit(&v->valid, v->n, valid);
  v->n++;
}

/* a null item under a null struct: zeros (one empty value when variable) */
static void null_value(acc *a) {
  mw_lv *v = &a->v;
  switch (v->kind) {
    case MW_LV_FIXED: mw_buf_append_zeros(&v->data, v->width); break;
    case MW_LV_BOOL: setbit(&v->data, v->n, false); break;
    case MW_LV_VAR:
      if (v->offs.len == 0) mw_buf_u64le(&v->offs, 0);
      mw_buf_u64le(&v->offs, v->data.len);
      break;
  }
  if (v->dim && v->has_ivalid)
    for (uint64_t j = 0; j < v->dim; j++) setbit(&v->ivalid, v->n * v->dim + j, false);
  if (!v->has_valid) {
    v->has_valid = true;
    for (uint64_t j = 0; j < v->n; j++) setbit(&v->valid, j, true);
  }
  setbit(&v->valid, v->n, false);
  v->n++;
}

/* def level meanings of a page: for each layer its null def (0 = none) and,
 * for lists, its empty def */
typedef struct defmap {
  uint16_t null_def[16], empty_def[16];
} defmap;

static void make_defmap(defmap *m, const mw_lance_page *p) {
  memset(m, 0, sizeof *m);
  uint16_t next = 1;
  for (int j = 0; j < p->n_layers; j++) {
    switch (p->layers[j]) {
      case 3: case 4: m->null_def[j] = next++; break;
      case 5: m->empty_def[j] = next++; break;
      case 6: m->null_def[j] = next++; m->empty_def[j] = next++; break;
      default: break;
    }
  }
}

/* the layer a def level makes null (or empty), -1 for 0 / unknown */
static int def_layer(const defmap *m, int nl, uint16_t d, bool *empty) {
  *empty = false;
  if (d == 0) return -1;
  for (int j = 0; j < nl; j++) {
    if (m->null_def[j] == d) return j;
    if (m->empty_def[j] == d) {
      *empty = true;
      return j;
    }
  }
  return -2;
}

/* Appends the page's rows [ra, rb) to a. Lance's levels: layers innermost
 * first (layer j = node leaf - j); a def level names the one layer that is
 * null (or an empty list), the layers outside it being valid; with m list
 * layers, rep level m starts a row and rep r < m a new element of the
 * (m - r)-th list from the outside (rep 0: a new item of the innermost).
 * An entry is made at every node from where the rep level starts down to
 * the null layer; below a null struct the nodes get null entries, down to
 * the first list (a null list of no items). A value is taken from the page
 * exactly when the leaf node is reached. */
static mw_status page_append(mw_lance_reader *r, acc *a, const mw_lance_page *p, uint64_t prows, uint64_t ra, uint64_t rb,
                             const char *col, uint32_t pg, mw_error *err) {
  defmap dm;
  make_defmap(&dm, p);
  int K = a->leaf, m = a->n_lists;
  if (p->n_layers != K + 1)
    return mw_err(err, MW_ERR_UNSUPPORTED, "unsupported encoding: %d rep/def layers for column %s (Lance file %s, page %u)",
                  p->n_layers, col, r->name, pg);
  for (int j = 0; j <= K; j++) {
    uint8_t kind = p->layers[j];
    bool list_kind = kind == 2 || kind == 4 || kind == 5 || kind == 6;
    if (kind == 0 || kind > 6 || list_kind != a->is_list[K - j])
      return corrupt(r, err, 0, "column %s page %u: rep/def layer %d has kind %u, the schema wants a %s", col, pg, j, kind,
                     a->is_list[K - j] ? "list" : "struct / item");
  }
  if (m > 0 && !p->rep)
    return mw_err(err, MW_ERR_UNSUPPORTED, "unsupported encoding: list column %s without repetition levels (Lance file %s, page %u)",
                  col, r->name, pg);
  if (m == 0 && p->rep) return corrupt(r, err, 0, "column %s page %u: repetition levels in a column without lists", col, pg);
  uint64_t nlev = (p->rep || p->def) ? p->n_levels : prows;
  if (m == 0 && (p->v.n != prows || nlev != prows))
    return corrupt(r, err, 0, "column %s page %u: %llu values / %llu levels for %llu rows", col, pg,
                   (unsigned long long)p->v.n, (unsigned long long)nlev, (unsigned long long)prows);
  uint64_t row = 0, item = 0;
  bool in_row = false;
  for (uint64_t l = 0; l < nlev; l++) {
    uint16_t rep = m ? p->rep[l] : 0;
    int from = 0; /* the node where this level's new entries start */
    if (m == 0 || rep == m) {
      if (in_row) row++;
      in_row = true;
    } else if (rep > m) {
      return corrupt(r, err, 0, "column %s page %u: rep level %u with %d list layers", col, pg, rep, m);
    } else if (!in_row) {
      return corrupt(r, err, 0, "column %s page %u: items before the first row start", col, pg);
    } else {
      from = a->list_node[m - 1 - rep] + 1;
    }
    bool empty = false;
    int lay = p->def ? def_layer(&dm, K + 1, p->def[l], &empty) : -1;
    if (lay == -2) return corrupt(r, err, 0, "column %s page %u: def level %u unknown", col, pg, p->def[l]);
    int null_node = lay < 0 ? K + 1 : K - lay;
    if (empty && !a->is_list[null_node])
      return corrupt(r, err, 0, "column %s page %u: def level %u makes a non-list empty", col, pg, p->def[l]);
    if (null_node < from)
      return corrupt(r, err, 0, "column %s page %u: def level %u nulls a layer outside rep level %u's", col, pg, p->def[l], rep);
    bool take = row >= ra && row < rb;
    bool reach = true; /* the leaf is reached: a value is in the page */
    for (int k = from; k < K; k++) {
      bool valid = k < null_node || (k == null_node && empty);
      if (take) {
        if (k == 0) a->rows++;
        if (!valid) a->has_null[k] = true;
        setbit(&a->valid[k], a->cnt[k], valid);
        if (a->is_list[k]) mw_buf_u64le(&a->start[k], a->cnt[k + 1]);
        a->cnt[k]++;
      }
      if (a->is_list[k] && (k >= null_node)) {
        reach = false;
        break;
      }
    }
    if (reach) {
      if (item >= p->v.n) return corrupt(r, err, 0, "column %s page %u: more items than values", col, pg);
      if (take) {
        if (K == 0) a->rows++;
        if (null_node < K) null_value(a);
        else copy_value(a, &p->v, item, null_node > K && (!p->v.has_valid || getbit(p->v.valid.data, item)));
        a->cnt[K]++;
      }
      item++;
    }
  }
  if (in_row) row++;
  if (row != prows || item != p->v.n)
    return corrupt(r, err, 0, "column %s page %u: levels hold %llu rows / %llu items, the page %llu / %llu", col, pg,
                   (unsigned long long)row, (unsigned long long)item, (unsigned long long)prows, (unsigned long long)p->v.n);
  return MW_OK;
}

static mw_status lv_shape(mw_lance_reader *r, const rfield *leaf, mw_lv *v, mw_error *err) {
  mw_type t;
  MW_TRY(mw_type_from_format(&t, leaf->format, err));
  if (t.id == MW_T_BOOL) {
    mw_lv_init(v, MW_LV_BOOL, 0, 0);
  } else if (t.id == MW_T_UTF8 || t.id == MW_T_LARGE_UTF8 || t.id == MW_T_BINARY || t.id == MW_T_LARGE_BINARY) {
    mw_lv_init(v, MW_LV_VAR, 0, 0);
  } else if (t.id == MW_T_FIXED_SIZE_LIST) {
    mw_type it;
    MW_TRY(mw_type_from_format(&it, leaf->item_format, err));
    int bits = mw_type_fixed_bits(&it);
    if (bits < 8) return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: column %s: fixed_size_list item type", r->name, leaf->name);
    mw_lv_init(v, MW_LV_FIXED, (uint32_t)(bits / 8) * (uint32_t)t.width, (uint32_t)t.width);
  } else {
    int bits = mw_type_fixed_bits(&t);
    if (bits < 8) return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: column %s: type not supported", r->name, leaf->name);
    mw_lv_init(v, MW_LV_FIXED, (uint32_t)bits / 8, 0);
  }
  return MW_OK;
}

/* reads rows [start, end) of leaf column c into a */
static mw_status read_column(mw_lance_reader *r, acc *a, uint32_t c, const char *path, uint64_t start, uint64_t end,
                             mw_error *err) {
  bytes cm;
  MW_TRY(get_range(r, &cm, r->cm_pos[c], r->cm_len[c], "column metadata", err));
  mw_status s = MW_OK;
  uint64_t mpos = r->cm_pos[c];
  if (!pb_valid(cm.p, cm.n)) s = corrupt(r, err, mpos, "column %u: malformed ColumnMetadata", c);
  mw_pb_field x;
  size_t p = 0;
  uint64_t first = 0;
  uint32_t pg = 0;
  while (s == MW_OK && p < cm.n && mw_pb_next(cm.p, cm.n, &p, &x)) {
    if (x.field != 2) continue;
    if (x.wire_type != 2 || !pb_valid(x.data, x.len)) {
      s = corrupt(r, err, mpos, "column %s: malformed page %u", path, pg);
      break;
    }
    uint64_t pos[16], len[16];
    int np = 0, nl = 0;
    if (!pb_repeated_u64(x.data, x.len, 1, pos, 16, &np) || !pb_repeated_u64(x.data, x.len, 2, len, 16, &nl) || np != nl) {
      s = corrupt(r, err, mpos, "column %s page %u: bad buffer offsets / sizes", path, pg);
      break;
    }
    mw_pb_field lf, ef;
    uint64_t prows = mw_pb_find(x.data, x.len, 3, &lf) && lf.wire_type == 0 ? lf.val : 0;
    if (prows > r->rows - first) {
      s = corrupt(r, err, mpos, "column %s page %u: %llu rows past the file's %llu", path, pg, (unsigned long long)prows,
                  (unsigned long long)r->rows);
      break;
    }
    uint64_t p0 = first;
    first += prows;
    if (p0 + prows <= start || p0 >= end || prows == 0) {
      pg++;
      continue;
    }
    /* encoding: Encoding{2 direct{1 Any}} */
    const uint8_t *url = NULL, *val = NULL;
    size_t url_n = 0, val_n = 0;
    mw_pb_field dir, anyf, u, v;
    if (!mw_pb_find(x.data, x.len, 4, &ef) || ef.wire_type != 2 || !pb_valid(ef.data, ef.len)) {
      s = corrupt(r, err, mpos, "column %s page %u: no encoding", path, pg);
      break;
    }
    if (!mw_pb_find(ef.data, ef.len, 2, &dir) || dir.wire_type != 2 || !pb_valid(dir.data, dir.len)) {
      s = mw_err(err, MW_ERR_UNSUPPORTED, "unsupported encoding (not direct) in column %s (Lance file %s, page %u)", path,
                 r->name, pg);
      break;
    }
    if (mw_pb_find(dir.data, dir.len, 1, &anyf) && anyf.wire_type == 2 && pb_valid(anyf.data, anyf.len)) {
      if (mw_pb_find(anyf.data, anyf.len, 1, &u) && u.wire_type == 2) { url = u.data; url_n = u.len; }
      if (mw_pb_find(anyf.data, anyf.len, 2, &v) && v.wire_type == 2) { val = v.data; val_n = v.len; }
    }
    if (!url) {
      s = corrupt(r, err, mpos, "column %s page %u: encoding without a type", path, pg);
      break;
    }
    bytes bb[16];
    const uint8_t *ptrs[16];
    memset(bb, 0, sizeof bb);
    int got = 0;
    for (; got < np && s == MW_OK; got++) {
      char what[64];
      snprintf(what, sizeof what, "page %u buffer %d", pg, got);
      s = get_range(r, &bb[got], pos[got], len[got], what, err);
      ptrs[got] = bb[got].p;
    }
    if (s == MW_OK) {
      mw_lance_page page;
      memset(&page, 0, sizeof page);
      mw_lv_init(&page.v, a->v.kind, a->v.width, a->v.dim);
      mw_lance_page_bufs pb = {ptrs, len, pos, np};
      mw_lance_page_ctx ctx = {r->name, path, pg, mpos};
      s = mw_lance_decode_page(&page, (const char *)url, url_n, val ? val : (const uint8_t *)"", val_n, &pb, prows, &ctx, err);
      uint64_t ra = start > p0 ? start - p0 : 0, rb = (end < p0 + prows ? end : p0 + prows) - p0;
      if (s == MW_OK) s = page_append(r, a, &page, prows, ra, rb, path, pg, err);
      mw_lance_page_free(&page);
    }
    for (int i = 0; i < got; i++) bytes_free(&bb[i]);
    pg++;
  }
  if (s == MW_OK && first != r->rows)
    s = corrupt(r, err, mpos, "column %s: pages hold %llu rows, the file %llu", path, (unsigned long long)first,
                (unsigned long long)r->rows);
  bytes_free(&cm);
  if (s == MW_OK && acc_failed(a))
    s = mw_err(err, MW_ERR_NOMEM, "out of memory reading column %s", path);
  return s;
}

/* ---- Arrow arrays ---- */

typedef struct arr_priv {
  void *bufs[3];
  const void *ptrs[3];
  struct ArrowArray *kids;
  struct ArrowArray **kid_ptrs;
} arr_priv;

static void arr_release(struct ArrowArray *a) {
  arr_priv *p = a->private_data;
  if (p) {
    for (int64_t i = 0; i < a->n_children; i++)
      if (p->kids[i].release) p->kids[i].release(&p->kids[i]);
    free(p->kids);
    free(p->kid_ptrs);
    for (int i = 0; i < 3; i++) free(p->bufs[i]);
    free(p);
  }
  a->release = NULL;
}

static mw_status arr_new(struct ArrowArray *a, int64_t len, int nbuf, int nkids, mw_error *err) {
  memset(a, 0, sizeof *a);
  arr_priv *p = calloc(1, sizeof *p);
  if (!p) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (nkids) {
    p->kids = calloc((size_t)nkids, sizeof *p->kids);
    p->kid_ptrs = calloc((size_t)nkids, sizeof *p->kid_ptrs);
    if (!p->kids || !p->kid_ptrs) {
      free(p->kids);
      free(p->kid_ptrs);
      free(p);
      return mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < nkids; i++) p->kid_ptrs[i] = &p->kids[i];
  }
  a->length = len;
  a->n_buffers = nbuf;
  a->n_children = nkids;
  a->buffers = p->ptrs;
  a->children = nkids ? p->kid_ptrs : NULL;
  a->private_data = p;
  a->release = arr_release;
  return MW_OK;
}

/* hands buffer b's bytes to slot i of a (b is reset) */
static void arr_take(struct ArrowArray *a, int i, mw_buf *b) {
  arr_priv *p = a->private_data;
  size_t n;
  p->bufs[i] = mw_buf_take(b, &n);
  if (!p->bufs[i]) p->bufs[i] = calloc(1, 8);
  p->ptrs[i] = p->bufs[i];
}

static int64_t count_nulls(const mw_buf *b, uint64_t n) {
  int64_t c = 0;
  for (uint64_t i = 0; i < n; i++)
    if (!getbit(b->data, i)) c++;
  return c;
}

/* the leaf values of acc as an array of leaf field f */
static mw_status leaf_array(struct ArrowArray *out, const rfield *f, acc *a, mw_error *err) {
  mw_lv *v = &a->v;
  mw_type t;
  MW_TRY(mw_type_from_format(&t, f->format, err));
  bool fsl = t.id == MW_T_FIXED_SIZE_LIST;
  int nbuf = v->kind == MW_LV_VAR ? 3 : fsl ? 1 : 2;
  MW_TRY(arr_new(out, (int64_t)v->n, nbuf, fsl ? 1 : 0, err));
  if (v->has_valid) {
    out->null_count = count_nulls(&v->valid, v->n);
    arr_take(out, 0, &v->valid);
  }
  if (v->kind == MW_LV_VAR) {
    bool large = t.id == MW_T_LARGE_UTF8 || t.id == MW_T_LARGE_BINARY;
    if (v->offs.len == 0) mw_buf_u64le(&v->offs, 0);
    if (!large) {
      uint64_t last = mw_load_u64le(v->offs.data + v->offs.len - 8);
      if (last > INT32_MAX) {
        out->release(out);
        return mw_err(err, MW_ERR_UNSUPPORTED, "column %s: %llu bytes do not fit 32-bit offsets", f->name, (unsigned long long)last);
      }
      for (uint64_t i = 0; i <= v->n; i++) {
        uint32_t o = (uint32_t)mw_load_u64le(v->offs.data + 8 * i);
        mw_store_u32le(v->offs.data + 4 * i, o);
      }
      v->offs.len = (size_t)(v->n + 1) * 4;
    }
    arr_take(out, 1, &v->offs);
    arr_take(out, 2, &v->data);
  } else if (fsl) {
    mw_type it;
    MW_TRY(mw_type_from_format(&it, f->item_format, err));
    mw_status s = arr_new(&((arr_priv *)out->private_data)->kids[0], (int64_t)(v->n * v->dim), 2, 0, err);
    if (s != MW_OK) {
      out->release(out);
      return s;
    }
    if (v->has_ivalid) {
      out->children[0]->null_count = count_nulls(&v->ivalid, v->n * v->dim);
      arr_take(out->children[0], 0, &v->ivalid);
    }
    arr_take(out->children[0], 1, &v->data);
  } else {
    arr_take(out, 1, &v->data);
  }
  return MW_OK;
}

/* leaf column of the first leaf under field fi */
static int first_leaf(const mw_lance_reader *r, int fi) {
  while (r->f[fi].col < 0) {
    if (r->f[fi].nkids < 1) return -1;
    fi = r->f[fi].kids[0];
  }
  return r->f[fi].col;
}

/* the array of field fi at node `depth` of its leaves' paths, which must
 * hold `len` entries (checked: hostile levels may disagree between leaves) */
static mw_status field_array(mw_lance_reader *r, struct ArrowArray *out, int fi, int depth, acc *accs, uint64_t len,
                             mw_error *err) {
  rfield *f = &r->f[fi];
  int lc = first_leaf(r, fi);
  if (lc < 0) return corrupt(r, err, 0, "field '%s' without a leaf", f->name);
  acc *a = &accs[lc];
  uint64_t have = f->col >= 0 ? a->v.n : a->cnt[depth];
  if (have != len)
    return corrupt(r, err, 0, "column %s: %llu entries where its parent has %llu", f->name, (unsigned long long)have,
                   (unsigned long long)len);
  if (f->col >= 0) return leaf_array(out, f, a, err);
  if (!strcmp(f->format, "+s")) {
    MW_TRY(arr_new(out, (int64_t)len, 1, f->nkids, err));
    if (a->has_null[depth]) {
      out->null_count = count_nulls(&a->valid[depth], len);
      arr_take(out, 0, &a->valid[depth]);
    }
    for (int i = 0; i < f->nkids; i++) {
      mw_status s = field_array(r, &((arr_priv *)out->private_data)->kids[i], f->kids[i], depth + 1, accs, len, err);
      if (s != MW_OK) {
        out->release(out);
        return s;
      }
    }
    return MW_OK;
  }
  /* a list: offsets from the entries' first child entries */
  bool large = f->format[1] == 'L';
  uint64_t items = a->cnt[depth + 1];
  mw_buf *st = &a->start[depth];
  mw_buf_u64le(st, items);
  if (st->failed || st->len != (len + 1) * 8) return mw_err(err, MW_ERR_NOMEM, "out of memory reading column %s", f->name);
  MW_TRY(arr_new(out, (int64_t)len, 2, 1, err));
  if (a->has_null[depth]) {
    out->null_count = count_nulls(&a->valid[depth], len);
    arr_take(out, 0, &a->valid[depth]);
  }
  for (uint64_t i = 0; i <= len; i++) {
    uint64_t o = mw_load_u64le(st->data + 8 * i);
    if (large) continue;
    if (o > INT32_MAX) {
      out->release(out);
      return mw_err(err, MW_ERR_UNSUPPORTED, "column %s: too many items for 32-bit list offsets", f->name);
    }
    mw_store_u32le(st->data + 4 * i, (uint32_t)o);
  }
  if (!large) st->len = (size_t)(len + 1) * 4;
  arr_take(out, 1, st);
  mw_status s = field_array(r, &((arr_priv *)out->private_data)->kids[0], f->kids[0], depth + 1, accs, items, err);
  if (s != MW_OK) out->release(out);
  return s;
}

/* checks the shape below top-level field fi and sets up the accumulators
 * of its leaves; path = the nodes above (is_list per node), depth = fi's */
static mw_status setup_accs(mw_lance_reader *r, acc *accs, int fi, int depth, bool *path, const char *col, mw_error *err) {
  rfield *f = &r->f[fi];
  if (depth >= MAX_LAYERS)
    return mw_err(err, MW_ERR_UNSUPPORTED, "Lance file %s: column %s: more than %d nested layers not supported", r->name, col,
                  MAX_LAYERS - 1);
  if (f->col >= 0) {
    acc *a = &accs[f->col];
    MW_TRY(lv_shape(r, f, &a->v, err));
    a->leaf = depth;
    a->n_lists = 0;
    for (int k = 0; k < depth; k++) {
      a->is_list[k] = path[k];
      if (path[k]) a->list_node[a->n_lists++] = k;
    }
    a->is_list[depth] = false;
    return MW_OK;
  }
  path[depth] = f->format[1] == 'l' || f->format[1] == 'L';
  for (int i = 0; i < f->nkids; i++) MW_TRY(setup_accs(r, accs, f->kids[i], depth + 1, path, col, err));
  return MW_OK;
}

static mw_status read_leaves(mw_lance_reader *r, acc *accs, int fi, const char *path, uint64_t start, uint64_t end,
                             mw_error *err) {
  rfield *f = &r->f[fi];
  if (f->col >= 0) {
    char p[512];
    snprintf(p, sizeof p, "%s", path);
    return read_column(r, &accs[f->col], (uint32_t)f->col, p, start, end, err);
  }
  for (int i = 0; i < f->nkids; i++) {
    char p[512];
    snprintf(p, sizeof p, "%.250s.%.250s", path, r->f[f->kids[i]].name);
    MW_TRY(read_leaves(r, accs, f->kids[i], p, start, end, err));
  }
  return MW_OK;
}

mw_status mw_lance_reader_read(struct ArrowSchema *out_schema, struct ArrowArray *out_batch, mw_lance_reader *r,
                               const char *const *columns, size_t n_columns, uint64_t start, uint64_t end,
                               mw_error *err) {
  memset(out_schema, 0, sizeof *out_schema);
  memset(out_batch, 0, sizeof *out_batch);
  if (end > r->rows) end = r->rows;
  if (start > end) {
    if (start > r->rows) start = r->rows;
    if (start > end) return mw_err(err, MW_ERR_INVALID, "row range %llu:%llu is reversed", (unsigned long long)start, (unsigned long long)end);
  }
  size_t n = columns ? n_columns : (size_t)r->ntop;
  int *sel = calloc(n ? n : 1, sizeof *sel);
  if (!sel) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    if (!columns) {
      sel[i] = (int)i;
      continue;
    }
    sel[i] = -1;
    for (int j = 0; j < r->ntop; j++)
      if (!strcmp(r->f[r->top[j]].name, columns[i])) sel[i] = j;
    if (sel[i] < 0) {
      free(sel);
      return mw_err(err, MW_ERR_NOT_FOUND, "Lance file %s has no column '%s'", r->name, columns[i]);
    }
    for (size_t j = 0; j < i; j++)
      if (sel[j] == sel[i]) {
        free(sel);
        return mw_err(err, MW_ERR_INVALID, "column '%s' asked for twice (Lance file %s)", columns[i], r->name);
      }
  }
  acc *accs = calloc(r->ncol ? r->ncol : 1, sizeof *accs);
  if (!accs) {
    free(sel);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  for (uint32_t c = 0; c < r->ncol; c++) acc_init(&accs[c]);
  mw_status s = mw_schema_init(out_schema, "+s", "", r->schema.metadata, 0, (int64_t)n, err);
  for (size_t i = 0; s == MW_OK && i < n; i++) {
    mw_schema_release(out_schema->children[i]);
    s = mw_schema_copy(out_schema->children[i], r->schema.children[sel[i]], err);
  }
  for (size_t i = 0; s == MW_OK && i < n; i++) {
    int fi = r->top[sel[i]];
    bool path[MAX_LAYERS] = {false};
    s = setup_accs(r, accs, fi, 0, path, r->f[fi].name, err);
    if (s == MW_OK) s = read_leaves(r, accs, fi, r->f[fi].name, start, end, err);
  }
  if (s == MW_OK) s = arr_new(out_batch, (int64_t)(end - start), 1, (int)n, err);
  for (size_t i = 0; s == MW_OK && i < n; i++)
    s = field_array(r, &((arr_priv *)out_batch->private_data)->kids[i], r->top[sel[i]], 0, accs, end - start, err);
  for (uint32_t c = 0; c < r->ncol; c++) acc_free(&accs[c]);
  free(accs);
  free(sel);
  if (s != MW_OK) {
    mw_array_release(out_batch);
    mw_schema_release(out_schema);
    memset(out_schema, 0, sizeof *out_schema);
    memset(out_batch, 0, sizeof *out_batch);
  }
  return s;
}
