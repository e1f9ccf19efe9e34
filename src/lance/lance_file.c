/* lance_file.c - Lance v2 file writer (layout in lance_file.h).
 *
 * 2.0 page encodings (lance.encodings.ArrayEncoding, FORMATS.md part C):
 *   fixed width / bool   nullable{no_nulls{flat{bits, buf 0}}}
 *                        nullable{some_nulls{validity flat{1, buf 0},
 *                                            values flat{bits, buf 1}}}
 *   utf8 / binary        binary{indices nullable{no_nulls{flat{64, buf 0}}},
 *                               bytes flat{8, buf 1}, null_adjustment}
 *                        indices = u64 END offsets within the page; a null
 *                        row stores end + null_adjustment (= bytes + 1)
 *   fixed_size_list      nullable{...{values fixed_size_list{dim, flat{bits}}}}
 *   list / large_list    (top level, of a leaf) TWO columns, as Lance 2.0
 *                        lays them out (encodings_v2_0.proto List; Lance's
 *                        previous/encodings/logical/list.rs): the list
 *                        column, pages list{offsets nullable{no_nulls{flat{64,
 *                        buf 0}}}, null_offset_adjustment = page items + 1,
 *                        num_items}, offsets = u64 END of each row's items
 *                        relative to the page's first item (no leading 0),
 *                        a null row's end + null_offset_adjustment; then the
 *                        item column, an ordinary column whose rows are the
 *                        items (its pages cut independently). List pages
 *                        carry no priority (Lance's legacy encoders write 0).
 * Validity bitmaps and bools are LSB-first, 1 = valid / true.
 * Not handled: nulls inside fixed_size_list items (a valid row with a null
 * item is refused at write), struct / map columns and nested lists in 2.0
 * (refused at open: Lance 2.0 cannot store struct validity).
 *
 * 2.1 pages (lance.encodings21.PageLayout, mini_block_layout; our files are
 * byte-identical to Lance 12's for inputs Lance writes without compression):
 *   layout    mini_block_layout{def_compression flat{16} (only with nulls),
 *             value_compression, layers [ALL_VALID_ITEM=1 | NULLABLE_ITEM=3],
 *             num_buffers 1, num_items = rows}
 *   values    fixed: flat{bits}; bool: flat{1}; fixed_size_list:
 *             fixed_size_list{dim, flat{item bits}}; utf8/binary:
 *             variable{offsets flat{32 | 64}}
 *   buffer 0  one u16 per chunk: ((chunk bytes / 8 - 1) << 4) | log2(values),
 *             the last chunk 0 in the low nibble (its count is num_items
 *             minus the others)
 *   buffer 1  the chunks, each: u16 num_levels (rows with def levels, else 0),
 *             u16 def bytes (with def levels), u16 value buffer bytes, 0xFE
 *             pad to 8; def levels (u16: 0 valid, 1 null) 0xFE-padded to 8;
 *             the value buffer 0xFE-padded to 8. Var-width value buffer =
 *             (values + 1) offsets relative to its own start (the first is
 *             (n + 1) * width), then the bytes, 0x48-padded to the offset width.
 *   Null rows keep whatever value bytes the Arrow input has (Lance does too);
 *   var-width null rows are empty.
 * 2.1 nested columns (one column per leaf; byte-identical to Lance 12 too):
 *   struct leaf  one def level per row: 0 valid, then one level per layer
 *                that has nulls in the page, innermost first (null leaf,
 *                null inner struct, ..., null top struct; the outermost null
 *                wins); layers [leaf, inner struct .. top struct], each
 *                NULLABLE_ITEM (3) if it has a null in the page (even one
 *                hidden by an outer null) else ALL_VALID_ITEM (1). Chunks as
 *                for flat columns.
 *   list item    rep levels (1 = row start, 0 = next item), def levels 0
 *                valid item, then null item, null list, empty list (each
 *                only if present in the page); layers [item, list] with the
 *                list layer ALL_VALID_LIST 2 / NULLABLE_LIST 4 /
 *                EMPTYABLE_LIST 5 / NULL_AND_EMPTY_LIST 6; rep_compression
 *                flat{16}, repetition_index_depth 1; num_items = items. Null
 *                and empty lists have levels but no value. Chunk header:
 *                u16 num_levels, u16 rep bytes, [u16 def bytes], u16 value
 *                bytes. We write ONE chunk per list page (pages cut at ~16
 *                KiB) so rows never straddle chunks and buffer 2, the
 *                repetition index, is (u64 rows, u64 0 partial items).
 *   Fields: ids depth-first, children after their parent (parent_id; 0 is
 *   omitted as proto3 does); DataFile.fields lists the leaves only.
 * Output: the file is built in one buffer (`file`), except that with
 * opts.borrow_pages (2.0) a fixed-width or fixed_size_list page whose values
 * are one contiguous range of the caller's arrays is not copied: it is
 * recorded as a piece spliced in at its position (struct wpiece), and
 * mw_lance_file_writer_finish_pieces hands the file over as the sequence of
 * own bytes and borrowed pages (finish joins them). Offsets in the file are
 * positions counting both (wpos). */
#include "lance/lance_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "lance/pb.h"

enum { K_FIXED, K_BOOL, K_VAR, K_FSL };

#define MAX_DEPTH 8 /* struct layers above a leaf */

typedef struct col {
  mw_type t;
  const char *name;   /* leaf path ("id", "props.x", "tags") */
  char *owned_name;
  int kind;
  /* where the leaf sits (2.1 only for nested): batch child `top`, then
   * `depth` struct layers (child index path[j] of layer j), or a top-level
   * list (list_w = offset width) of the leaf */
  int64_t top;
  int depth;
  int path[MAX_DEPTH];
  bool nested, list;
  int list_w;
  /* 2.0 lists take two columns: list20 = the offsets column (values = u64
   * END offsets relative to the page's first item; num_items = items the
   * page references), then items20 = the item column (rows = items) */
  bool list20, items20;
  uint64_t num_items;
  uint32_t vb;      /* bytes per value (K_FIXED), per row (K_FSL) */
  uint32_t bits;    /* bits per value/item for flat encodings */
  int32_t dim;      /* K_FSL */
  uint32_t item_bytes; /* K_FSL item width */
  int off_w;        /* K_VAR: 4 or 8 */
  /* page accumulators */
  mw_buf values;    /* fixed values / bool bits / var bytes */
  /* borrowed page values (opts.borrow_pages; 2.0 fixed width and
   * fixed_size_list leaves): while every run appended to the page was
   * contiguous in the caller's buffer, the page's values are that range
   * (bptr, blen) and `values` stays empty; a run that does not follow on
   * copies the range into `values` first */
  bool borrow;
  const uint8_t *bptr;
  uint64_t blen;
  mw_buf validity;  /* bits */
  mw_buf ends;      /* K_VAR: u64 end offsets */
  uint64_t rows, nulls;  /* items (values) and null items */
  uint64_t prow;         /* top-level rows in the page */
  uint64_t first_row;    /* top-level row of the page being accumulated */
  /* nested: one entry per rep/def level. lev = raw null code: 0 valid,
   * 1 null item, 1 + s null struct layer s (1 = innermost), for lists 2
   * null list, 3 empty list; mapped to Lance's def levels at page end, when
   * it is known which layers have nulls. rep = 1 at a row start. */
  mw_buf lev, rep;
  uint64_t nlev;
  uint32_t code_mask;    /* bit k: raw code k seen in the page */
  mw_buf pages;          /* serialized ColumnMetadata.pages entries */
} col;

struct mw_lance_file_writer {
  const struct ArrowSchema *schema;
  mw_lance_file_options opts;
  col *cols;
  int64_t n_cols;
  mw_buf file;
  /* 2.1 page scratch (chunk sizes, chunks), reused by every page: a page's
   * chunks are copied into `file`, so one buffer serves them all instead of
   * a fresh (page-faulting) one per page */
  mw_buf meta, chunks;
  /* borrowed pages, spliced into the file: piece k goes after the first
   * at[k] bytes of `file` (so the file's position is file.len + borrowed);
   * they are only referenced, and must stay unchanged until the file is
   * stored (mw_lance_file_writer_finish_pieces) */
  struct wpiece {
    size_t at;
    const uint8_t *ptr;
    uint64_t len;
  } *pieces;
  size_t n_pieces, cap_pieces;
  uint64_t borrowed;
  bool pieces_failed;
  uint64_t rows;
  bool finished;
};

/* The file's length so far (its own bytes and the borrowed pages). */
static uint64_t wpos(const mw_lance_file_writer *w) { return w->file.len + w->borrowed; }

void mw_lance_file_options_init(mw_lance_file_options *o) {
  memset(o, 0, sizeof *o);
  o->version = MW_LANCE_V2_1;
  o->max_page_bytes = MW_LANCE_DEFAULT_PAGE_BYTES;
}

/* ---- types ---- */

static const char *unit_str(mw_time_unit u) {
  switch (u) {
    case MW_SECOND: return "s";
    case MW_MILLI: return "ms";
    case MW_MICRO: return "us";
    default: return "ns";
  }
}

static bool is_number(mw_type_id id) {
  return (id >= MW_T_INT8 && id <= MW_T_FLOAT64);
}

static mw_status logical_of(char *buf, size_t cap, const mw_type *t, const struct ArrowSchema *f,
                            mw_error *err) {
  const char *s = NULL;
  switch (t->id) {
    case MW_T_BOOL: s = "bool"; break;
    case MW_T_INT8: s = "int8"; break;
    case MW_T_UINT8: s = "uint8"; break;
    case MW_T_INT16: s = "int16"; break;
    case MW_T_UINT16: s = "uint16"; break;
    case MW_T_INT32: s = "int32"; break;
    case MW_T_UINT32: s = "uint32"; break;
    case MW_T_INT64: s = "int64"; break;
    case MW_T_UINT64: s = "uint64"; break;
    case MW_T_FLOAT16: s = "halffloat"; break;
    case MW_T_FLOAT32: s = "float"; break;
    case MW_T_FLOAT64: s = "double"; break;
    case MW_T_UTF8: s = "string"; break;
    case MW_T_LARGE_UTF8: s = "large_string"; break;
    case MW_T_BINARY: s = "binary"; break;
    case MW_T_LARGE_BINARY: s = "large_binary"; break;
    case MW_T_DATE32: s = "date32:day"; break;
    case MW_T_DATE64: s = "date64:ms"; break;
    case MW_T_FIXED_SIZE_BINARY: snprintf(buf, cap, "fixed_size_binary:%d", (int)t->width); return MW_OK;
    case MW_T_DECIMAL128: snprintf(buf, cap, "decimal:128:%d:%d", (int)t->width, (int)t->scale); return MW_OK;
    case MW_T_TIME32: snprintf(buf, cap, "time32:%s", unit_str(t->unit)); return MW_OK;
    case MW_T_TIME64: snprintf(buf, cap, "time64:%s", unit_str(t->unit)); return MW_OK;
    case MW_T_DURATION: snprintf(buf, cap, "duration:%s", unit_str(t->unit)); return MW_OK;
    case MW_T_TIMESTAMP:
      snprintf(buf, cap, "timestamp:%s:%s", unit_str(t->unit), t->tz[0] ? t->tz : "-");
      return MW_OK;
    case MW_T_FIXED_SIZE_LIST: {
      mw_type ct;
      if (f->n_children != 1 || !f->children || !f->children[0] ||
          mw_type_from_format(&ct, f->children[0]->format, NULL) != MW_OK || !is_number(ct.id))
        return mw_err(err, MW_ERR_UNSUPPORTED,
                      "column '%s': only fixed_size_list of integers or floats can be written to Lance",
                      f->name ? f->name : "");
      char inner[32];
      MW_TRY(logical_of(inner, sizeof inner, &ct, f->children[0], err));
      snprintf(buf, cap, "fixed_size_list:%s:%d", inner, (int)t->width);
      return MW_OK;
    }
    case MW_T_STRUCT: s = "struct"; break;
    case MW_T_LIST: s = "list"; break;
    case MW_T_LARGE_LIST: s = "large_list"; break;
    default: {
      char tn[96];
      mw_type_name(tn, sizeof tn, t);
      return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': type %s cannot be written to Lance yet",
                    f->name ? f->name : "", tn);
    }
  }
  snprintf(buf, cap, "%s", s);
  return MW_OK;
}

mw_status mw_lance_logical_type(char *buf, size_t cap, const struct ArrowSchema *field,
                                mw_error *err) {
  mw_type t;
  mw_status s = mw_type_from_format(&t, field->format, err);
  if (s != MW_OK)
    return mw_err_wrap(err, s, "column '%s'", field->name ? field->name : "");
  return logical_of(buf, cap, &t, field, err);
}

/* Checks field f (path = its dotted name) and its children: structs of
 * leaves or structs, and top-level lists of leaves, only in 2.1. */
static mw_status check_field(const struct ArrowSchema *f, const char *path, int depth, bool in_list,
                             mw_lance_version v, mw_error *err) {
  if (f->dictionary)
    return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': dictionary columns cannot be written to Lance yet", path);
  mw_type t;
  mw_status st = mw_type_from_format(&t, f->format, err);
  if (st != MW_OK) return mw_err_wrap(err, st, "column '%s'", path);
  if (t.id == MW_T_STRUCT || t.id == MW_T_LIST || t.id == MW_T_LARGE_LIST) {
    const char *what = t.id == MW_T_STRUCT ? "struct" : "list";
    if (v == MW_LANCE_V2_0 && (t.id == MW_T_STRUCT || depth > 0))
      return mw_err(err, MW_ERR_UNSUPPORTED,
                    "column '%s': %s columns need Lance file format 2.1 (2.0 cannot store their validity)",
                    path, what);
    if (in_list)
      return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': a %s inside a list cannot be written to Lance yet",
                    path, what);
    if (t.id != MW_T_STRUCT && depth > 0)
      return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': a list inside a struct cannot be written to Lance yet",
                    path);
    if (depth >= MAX_DEPTH)
      return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': structs nested deeper than %d levels", path, MAX_DEPTH);
    if (f->n_children < 1 || !f->children || (t.id != MW_T_STRUCT && f->n_children != 1))
      return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': %s without a child cannot be written to Lance",
                    path, what);
    for (int64_t i = 0; i < f->n_children; i++) {
      const struct ArrowSchema *ch = f->children[i];
      if (!ch || !ch->name || !ch->name[0])
        return mw_err(err, MW_ERR_INVALID, "column '%s': child %lld has no name", path, (long long)i);
      char sub[256];
      snprintf(sub, sizeof sub, "%s.%s", path, ch->name);
      MW_TRY(check_field(ch, sub, depth + 1, t.id != MW_T_STRUCT, v, err));
    }
    return MW_OK;
  }
  if (in_list && t.id == MW_T_FIXED_SIZE_LIST)
    return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': a fixed_size_list inside a list cannot be written to Lance yet",
                  path);
  char lt[128];
  st = logical_of(lt, sizeof lt, &t, f, err);
  if (st != MW_OK && depth > 0) return mw_err(err, st, "column '%s': type cannot be written to Lance yet", path);
  return st;
}

mw_status mw_lance_check_schema_version(const struct ArrowSchema *schema, mw_lance_version version,
                                        mw_error *err) {
  if (!schema || !schema->format || strcmp(schema->format, "+s") != 0)
    return mw_err(err, MW_ERR_INVALID, "Lance schema must be a struct (\"+s\")");
  if (schema->n_children < 1)
    return mw_err(err, MW_ERR_INVALID, "Lance schema has no columns");
  if (version != MW_LANCE_V2_0 && version != MW_LANCE_V2_1)
    return mw_err(err, MW_ERR_INVALID, "unknown Lance file version %d", (int)version);
  for (int64_t i = 0; i < schema->n_children; i++) {
    const struct ArrowSchema *f = schema->children[i];
    if (!f || !f->name || !f->name[0])
      return mw_err(err, MW_ERR_INVALID, "column %lld has no name", (long long)i);
    MW_TRY(check_field(f, f->name, 0, false, version, err));
  }
  return MW_OK;
}

mw_status mw_lance_check_schema(const struct ArrowSchema *schema, mw_error *err) {
  return mw_lance_check_schema_version(schema, MW_LANCE_V2_1, err);
}

/* Primary key position of field i: 1-based, 0 = not a key. */
static uint32_t pk_position(const struct ArrowSchema *f, const char *const *pk_names, size_t n_pk) {
  if (pk_names) {
    for (size_t k = 0; k < n_pk; k++)
      if (strcmp(pk_names[k], f->name) == 0) return (uint32_t)(k + 1);
    return 0;
  }
  mw_kv kv;
  if (f->metadata && mw_metadata_find(f->metadata, MW_LANCE_PK_POSITION_KEY, &kv)) {
    uint32_t v = 0;
    for (int32_t i = 0; i < kv.value_len; i++) {
      if (kv.value[i] < '0' || kv.value[i] > '9' || v > 100000) return 0;
      v = v * 10 + (uint32_t)(kv.value[i] - '0');
    }
    return v;
  }
  return 0;
}

/* One lance.file.Field and its children, depth first (ids from *next). */
static mw_status write_field(mw_buf *out, uint32_t field_no, const struct ArrowSchema *f, int32_t *next,
                             int32_t parent, const char *const *pk_names, size_t n_pk, mw_error *err) {
  mw_type t;
  MW_TRY(mw_type_from_format(&t, f->format, err));
  char lt[128];
  MW_TRY(logical_of(lt, sizeof lt, &t, f, err));
  int32_t id = (*next)++;
  mw_buf fb;
  mw_buf_init(&fb);
  mw_pb_str(&fb, 2, f->name);
  if (id != 0) mw_pb_i32(&fb, 3, id);
  if (parent != 0) mw_pb_i32(&fb, 4, parent); /* proto3: 0 is omitted */
  mw_pb_str(&fb, 5, lt);
  if (f->flags & ARROW_FLAG_NULLABLE) mw_pb_u64(&fb, 6, 1);
  bool var = t.id == MW_T_UTF8 || t.id == MW_T_LARGE_UTF8 || t.id == MW_T_BINARY ||
             t.id == MW_T_LARGE_BINARY;
  /* v1 Encoding: PLAIN / VAR_BINARY, none for structs, as Lance writes */
  if (t.id != MW_T_STRUCT) mw_pb_u64(&fb, 7, var ? 2 : 1);
  mw_pb_metadata(&fb, 10, f->metadata);
  uint32_t pos = parent < 0 ? pk_position(f, pk_names, n_pk) : 0;
  if (pos) {
    mw_pb_u64(&fb, 12, 1);
    mw_pb_u64(&fb, 13, pos);
  }
  mw_pb_msg(out, field_no, &fb);
  mw_buf_free(&fb);
  if (t.id == MW_T_STRUCT || t.id == MW_T_LIST || t.id == MW_T_LARGE_LIST)
    for (int64_t i = 0; i < f->n_children; i++)
      MW_TRY(write_field(out, field_no, f->children[i], next, id, pk_names, n_pk, err));
  return MW_OK;
}

mw_status mw_lance_write_fields(mw_buf *out, uint32_t field_no, const struct ArrowSchema *schema,
                                const char *const *pk_names, size_t n_pk, mw_error *err) {
  int32_t next = 0;
  for (int64_t i = 0; i < schema->n_children; i++)
    MW_TRY(write_field(out, field_no, schema->children[i], &next, -1, pk_names, n_pk, err));
  return mw_buf_ok(out) ? MW_OK : mw_err(err, MW_ERR_NOMEM, "out of memory writing Lance fields");
}

static bool is_nested(const struct ArrowSchema *f) {
  return f->format && f->format[0] == '+' && (f->format[1] == 's' || f->format[1] == 'l' || f->format[1] == 'L');
}

static void leaf_ids(const struct ArrowSchema *f, int32_t *next, int32_t *ids, size_t cap, size_t *n) {
  int32_t id = (*next)++;
  if (!is_nested(f)) {
    if (*n < cap) ids[*n] = id;
    (*n)++;
    return;
  }
  for (int64_t i = 0; i < f->n_children; i++) leaf_ids(f->children[i], next, ids, cap, n);
}

size_t mw_lance_leaf_field_ids(const struct ArrowSchema *schema, int32_t *ids, size_t cap) {
  int32_t next = 0;
  size_t n = 0;
  for (int64_t i = 0; i < schema->n_children; i++) leaf_ids(schema->children[i], &next, ids, cap, &n);
  return n;
}

size_t mw_lance_column_field_ids(const struct ArrowSchema *schema, mw_lance_version version, int32_t *ids,
                                 size_t cap) {
  int32_t next = 0;
  size_t n = 0;
  for (int64_t i = 0; i < schema->n_children; i++) {
    const struct ArrowSchema *f = schema->children[i];
    bool lst = f->format[0] == '+' && (f->format[1] == 'l' || f->format[1] == 'L');
    if (lst && version == MW_LANCE_V2_0) {
      if (n < cap) ids[n] = next; /* the list's own (offsets) column */
      n++;
      next++;
      for (int64_t k = 0; k < f->n_children; k++) leaf_ids(f->children[k], &next, ids, cap, &n);
    } else {
      leaf_ids(f, &next, ids, cap, &n);
    }
  }
  return n;
}

/* ---- writer ---- */

static void col_reset(col *c) {
  c->values.len = 0;
  c->validity.len = 0;
  c->ends.len = 0;
  c->lev.len = 0;
  c->rep.len = 0;
  c->bptr = NULL;
  c->blen = 0;
  c->rows = 0;
  c->nulls = 0;
  c->prow = 0;
  c->nlev = 0;
  c->code_mask = 0;
  c->num_items = 0;
}

/* Sets up the leaf kind of column c from its leaf field. */
static void col_kind(col *c, const struct ArrowSchema *f) {
  (void)mw_type_from_format(&c->t, f->format, NULL); /* checked at open */
  switch (c->t.id) {
    case MW_T_BOOL: c->kind = K_BOOL; c->bits = 1; break;
    case MW_T_UTF8: case MW_T_BINARY: c->kind = K_VAR; c->off_w = 4; break;
    case MW_T_LARGE_UTF8: case MW_T_LARGE_BINARY: c->kind = K_VAR; c->off_w = 8; break;
    case MW_T_FIXED_SIZE_LIST: {
      mw_type ct;
      (void)mw_type_from_format(&ct, f->children[0]->format, NULL);
      c->kind = K_FSL;
      c->dim = c->t.width;
      c->item_bytes = (uint32_t)mw_type_fixed_bits(&ct) / 8;
      c->bits = (uint32_t)mw_type_fixed_bits(&ct);
      c->vb = c->item_bytes * (uint32_t)c->dim;
      break;
    }
    default:
      c->kind = K_FIXED;
      c->bits = (uint32_t)mw_type_fixed_bits(&c->t);
      c->vb = c->bits / 8;
      break;
  }
}

/* Appends the leaf columns under field f (top-level index top, struct path
 * path[0..depth)) to w->cols; name = the dotted path. */
static bool add_cols(mw_lance_file_writer *w, const struct ArrowSchema *f, int64_t top, int *path,
                     int depth, const char *name) {
  bool st = f->format[1] == 's' && f->format[0] == '+';
  bool lst = f->format[0] == '+' && (f->format[1] == 'l' || f->format[1] == 'L');
  if (st) {
    for (int64_t i = 0; i < f->n_children; i++) {
      char sub[256];
      snprintf(sub, sizeof sub, "%.120s.%.120s", name, f->children[i]->name); /* names only label errors */
      path[depth] = (int)i;
      if (!add_cols(w, f->children[i], top, path, depth + 1, sub)) return false;
    }
    return true;
  }
  if (lst && w->opts.version == MW_LANCE_V2_0) {
    /* the offsets column, then the item column (a plain leaf fed with the
     * child's runs) */
    col *l = &w->cols[w->n_cols++];
    mw_buf_init(&l->values); mw_buf_init(&l->validity); mw_buf_init(&l->ends);
    mw_buf_init(&l->lev); mw_buf_init(&l->rep); mw_buf_init(&l->pages);
    l->top = top;
    l->list20 = true;
    l->list_w = f->format[1] == 'L' ? 8 : 4;
    l->kind = K_FIXED;
    l->bits = 64;
    l->vb = 8;
    l->name = f->name;
    col *it = &w->cols[w->n_cols++];
    mw_buf_init(&it->values); mw_buf_init(&it->validity); mw_buf_init(&it->ends);
    mw_buf_init(&it->lev); mw_buf_init(&it->rep); mw_buf_init(&it->pages);
    it->top = top;
    it->items20 = true;
    it->list_w = l->list_w;
    col_kind(it, f->children[0]);
    it->name = f->name;
    return true;
  }
  col *c = &w->cols[w->n_cols++];
  mw_buf_init(&c->values);
  mw_buf_init(&c->validity);
  mw_buf_init(&c->ends);
  mw_buf_init(&c->lev);
  mw_buf_init(&c->rep);
  mw_buf_init(&c->pages);
  c->top = top;
  c->depth = depth;
  memcpy(c->path, path, sizeof c->path);
  c->nested = depth > 0 || lst;
  c->list = lst;
  c->list_w = f->format[1] == 'L' ? 8 : 4;
  col_kind(c, lst ? f->children[0] : f);
  if (!c->nested) {
    c->name = f->name;
    return true;
  }
  c->owned_name = malloc(strlen(name) + 1);
  if (!c->owned_name) return false;
  memcpy(c->owned_name, name, strlen(name) + 1);
  c->name = c->owned_name;
  return true;
}

mw_status mw_lance_file_writer_open(mw_lance_file_writer **out, const struct ArrowSchema *schema,
                                    const mw_lance_file_options *opts, mw_error *err) {
  *out = NULL;
  mw_lance_file_writer *w = calloc(1, sizeof *w);
  if (!w) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  w->schema = schema;
  if (opts) w->opts = *opts;
  else mw_lance_file_options_init(&w->opts);
  if (w->opts.max_page_bytes == 0) w->opts.max_page_bytes = MW_LANCE_DEFAULT_PAGE_BYTES;
  mw_status st = mw_lance_check_schema_version(schema, w->opts.version, err);
  if (st != MW_OK) {
    free(w);
    return st;
  }
  size_t nleaf = mw_lance_leaf_field_ids(schema, NULL, 0);
  if (w->opts.version == MW_LANCE_V2_0) /* a 2.0 list adds its offsets column */
    for (int64_t i = 0; i < schema->n_children; i++)
      if (schema->children[i]->format[0] == '+' &&
          (schema->children[i]->format[1] == 'l' || schema->children[i]->format[1] == 'L'))
        nleaf++;
  w->cols = calloc(nleaf ? nleaf : 1, sizeof *w->cols);
  if (!w->cols) {
    free(w);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  mw_buf_init(&w->file);
  mw_buf_init(&w->meta);
  mw_buf_init(&w->chunks);
  if (w->opts.size_hint && w->opts.size_hint < SIZE_MAX / 2 && !mw_buf_reserve(&w->file, (size_t)w->opts.size_hint)) {
    mw_buf_free(&w->file); /* only a hint: grow as needed instead */
    mw_buf_init(&w->file);
  }
  for (int64_t i = 0; i < schema->n_children; i++) {
    int path[MAX_DEPTH] = {0};
    if (!add_cols(w, schema->children[i], i, path, 0, schema->children[i]->name)) {
      mw_lance_file_writer_free(w);
      return mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
  }
  for (int64_t j = 0; j < w->n_cols; j++) {
    col *c = &w->cols[j];
    c->borrow = w->opts.borrow_pages && w->opts.version == MW_LANCE_V2_0 && !c->nested && !c->list &&
                !c->list20 && (c->kind == K_FIXED || c->kind == K_FSL);
  }
  *out = w;
  return MW_OK;
}

uint64_t mw_lance_file_writer_rows(const mw_lance_file_writer *w) { return w->rows; }

static inline void bit_append(mw_buf *b, uint64_t idx, bool v) {
  if ((idx & 7) == 0) mw_buf_u8(b, 0);
  if (v && !b->failed) b->data[idx >> 3] |= (uint8_t)(1u << (idx & 7));
}

/* ---- 2.0 page encoding ---- */

static void enc_buffer(mw_buf *out, uint32_t field, uint32_t index) {
  mw_buf b;
  mw_buf_init(&b);
  if (index) mw_pb_u64(&b, 1, index);
  mw_pb_msg(out, field, &b);
  mw_buf_free(&b);
}

/* ArrayEncoding{flat{bits, buffer{index}}} */
static void enc_flat(mw_buf *out, uint64_t bits, uint32_t index) {
  mw_buf fl;
  mw_buf_init(&fl);
  mw_pb_u64(&fl, 1, bits);
  enc_buffer(&fl, 2, index);
  mw_pb_msg(out, 1, &fl);
  mw_buf_free(&fl);
}

/* ArrayEncoding of the values of a column (without nullability). */
static void enc_values20(mw_buf *out, const col *c, uint32_t index) {
  if (c->kind == K_FSL) {
    mw_buf items, fsl;
    mw_buf_init(&items);
    mw_buf_init(&fsl);
    enc_flat(&items, c->bits, index);
    mw_pb_u64(&fsl, 1, (uint64_t)c->dim);
    mw_pb_msg(&fsl, 2, &items);
    mw_pb_msg(out, 3, &fsl);
    mw_buf_free(&items);
    mw_buf_free(&fsl);
  } else {
    enc_flat(out, c->kind == K_BOOL ? 1 : c->bits, index);
  }
}

typedef struct page_bufs {
  const uint8_t *ptr[4];
  uint64_t len[4];
  bool borrowed[4]; /* ptr is the caller's (a column's bptr): referenced */
  int n;
} page_bufs;

/* Alignment padding: Lance pads with 0x48 ('H'); doing the same makes our
 * files byte-comparable with Lance's. */
static void pad64(mw_lance_file_writer *w) {
  static const uint8_t pad[64] = {
      0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48,
      0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48,
      0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48,
      0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48, 0x48};
  uint64_t at = wpos(w);
  if (at % 64) mw_buf_append(&w->file, pad, (size_t)(64 - at % 64));
}

/* A page buffer taken into the file by reference (see struct wpiece). */
static void add_piece(mw_lance_file_writer *w, const uint8_t *ptr, uint64_t len) {
  if (w->n_pieces == w->cap_pieces) {
    size_t cap = w->cap_pieces ? 2 * w->cap_pieces : 16;
    struct wpiece *p = realloc(w->pieces, cap * sizeof *p);
    if (!p) {
      w->pieces_failed = true;
      return;
    }
    w->pieces = p;
    w->cap_pieces = cap;
  }
  w->pieces[w->n_pieces++] = (struct wpiece){w->file.len, ptr, len};
  w->borrowed += len;
}

static void append_page(mw_lance_file_writer *w, col *c, const page_bufs *pb, const mw_buf *enc_any) {
  uint64_t offs[4], sizes[4];
  for (int i = 0; i < pb->n; i++) {
    pad64(w);
    offs[i] = wpos(w);
    sizes[i] = pb->len[i];
    if (pb->len[i] && pb->borrowed[i]) add_piece(w, pb->ptr[i], pb->len[i]);
    else if (pb->len[i]) mw_buf_append(&w->file, pb->ptr[i], (size_t)pb->len[i]);
  }
  mw_buf page, enc, direct;
  mw_buf_init(&page);
  mw_buf_init(&enc);
  mw_buf_init(&direct);
  if (pb->n) {
    mw_pb_packed_u64(&page, 1, offs, (size_t)pb->n);
    mw_pb_packed_u64(&page, 2, sizes, (size_t)pb->n);
  }
  mw_pb_u64(&page, 3, c->prow);
  mw_pb_msg(&direct, 1, enc_any);
  mw_pb_msg(&enc, 2, &direct);
  mw_pb_msg(&page, 4, &enc);
  if (c->first_row && !c->list20 && !c->items20) mw_pb_u64(&page, 5, c->first_row);
  mw_pb_msg(&c->pages, 2, &page);
  mw_buf_free(&page);
  mw_buf_free(&enc);
  mw_buf_free(&direct);
}

static void flush_page20(mw_lance_file_writer *w, col *c) {
  page_bufs pb = {0};
  mw_buf ae, any;
  mw_buf_init(&ae);
  mw_buf_init(&any);
  if (c->list20) {
    /* ArrayEncoding.list{offsets nullable{no_nulls{flat{64, buf 0}}},
     * null_offset_adjustment = items + 1 (added to a null list's end),
     * num_items} */
    uint64_t adj = c->num_items + 1;
    if (c->nulls && !c->values.failed)
      for (uint64_t i = 0; i < c->rows; i++)
        if (!mw_bit_get(c->validity.data, (int64_t)i))
          mw_store_u64le(c->values.data + 8 * i, mw_load_u64le(c->values.data + 8 * i) + adj);
    pb.ptr[0] = c->values.data; pb.len[0] = c->values.len;
    pb.n = 1;
    mw_buf off, nn, nul, lst;
    mw_buf_init(&off); mw_buf_init(&nn); mw_buf_init(&nul); mw_buf_init(&lst);
    enc_flat(&off, 64, 0);
    mw_pb_msg(&nn, 1, &off);          /* NoNull.values */
    mw_pb_msg(&nul, 1, &nn);          /* Nullable.no_nulls */
    mw_buf off_ae;
    mw_buf_init(&off_ae);
    mw_pb_msg(&off_ae, 2, &nul);      /* ArrayEncoding.nullable */
    mw_pb_msg(&lst, 1, &off_ae);      /* List.offsets */
    mw_pb_u64(&lst, 2, adj);          /* List.null_offset_adjustment */
    if (c->num_items) mw_pb_u64(&lst, 3, c->num_items);
    mw_pb_msg(&ae, 4, &lst);          /* ArrayEncoding.list */
    mw_buf_free(&off); mw_buf_free(&nn); mw_buf_free(&nul); mw_buf_free(&lst); mw_buf_free(&off_ae);
  } else if (c->kind == K_VAR) {
    uint64_t adj = c->values.len + 1;
    uint64_t *ends = (uint64_t *)(void *)c->ends.data;
    if (c->nulls && !c->ends.failed)
      for (uint64_t i = 0; i < c->rows; i++)
        if (!mw_bit_get(c->validity.data, (int64_t)i)) {
          uint64_t v = mw_load_u64le((const uint8_t *)&ends[i]) + adj;
          mw_store_u64le((uint8_t *)&ends[i], v);
        }
    pb.ptr[0] = c->ends.data; pb.len[0] = c->ends.len;
    pb.ptr[1] = c->values.data; pb.len[1] = c->values.len;
    pb.n = 2;
    mw_buf idx, nn, nul, bin, bytes;
    mw_buf_init(&idx); mw_buf_init(&nn); mw_buf_init(&nul); mw_buf_init(&bin); mw_buf_init(&bytes);
    enc_flat(&idx, 64, 0);
    mw_pb_msg(&nn, 1, &idx);          /* NoNull.values */
    mw_pb_msg(&nul, 1, &nn);          /* Nullable.no_nulls */
    mw_buf idx_ae;
    mw_buf_init(&idx_ae);
    mw_pb_msg(&idx_ae, 2, &nul);      /* ArrayEncoding.nullable */
    enc_flat(&bytes, 8, 1);
    mw_pb_msg(&bin, 1, &idx_ae);
    mw_pb_msg(&bin, 2, &bytes);
    mw_pb_u64(&bin, 3, adj);
    mw_pb_msg(&ae, 6, &bin);
    mw_buf_free(&idx); mw_buf_free(&nn); mw_buf_free(&nul); mw_buf_free(&bin);
    mw_buf_free(&bytes); mw_buf_free(&idx_ae);
  } else {
    mw_buf vals, inner, nul;
    mw_buf_init(&vals); mw_buf_init(&inner); mw_buf_init(&nul);
    if (c->nulls == 0) {
      enc_values20(&vals, c, 0);
      mw_pb_msg(&inner, 1, &vals);      /* NoNull.values */
      mw_pb_msg(&nul, 1, &inner);       /* Nullable.no_nulls */
      pb.ptr[0] = c->blen ? c->bptr : c->values.data; pb.len[0] = c->blen ? c->blen : c->values.len;
      pb.borrowed[0] = c->blen > 0;
      pb.n = 1;
    } else {
      mw_buf valid;
      mw_buf_init(&valid);
      enc_flat(&valid, 1, 0);
      enc_values20(&vals, c, 1);
      mw_pb_msg(&inner, 1, &valid);     /* SomeNull.validity */
      mw_pb_msg(&inner, 2, &vals);      /* SomeNull.values */
      mw_pb_msg(&nul, 2, &inner);       /* Nullable.some_nulls */
      mw_buf_free(&valid);
      pb.ptr[0] = c->validity.data; pb.len[0] = c->validity.len;
      pb.ptr[1] = c->blen ? c->bptr : c->values.data; pb.len[1] = c->blen ? c->blen : c->values.len;
      pb.borrowed[1] = c->blen > 0;
      pb.n = 2;
    }
    mw_pb_msg(&ae, 2, &nul);
    mw_buf_free(&vals); mw_buf_free(&inner); mw_buf_free(&nul);
  }
  mw_pb_any(&any, "/lance.encodings.ArrayEncoding", &ae);
  append_page(w, c, &pb, &any);
  mw_buf_free(&ae);
  mw_buf_free(&any);
}

/* ---- 2.1 mini-block pages ----
 * Chunk sizing follows Lance's writer: fixed width takes the largest power of
 * two <= 4096 values whose value bytes fit in 4 KiB (at least one value);
 * variable width walks the values and takes the largest power of two whose
 * offsets + bytes fit in 4 KiB (the page's last chunk may take any smaller
 * remainder). The hard limits of the 2.1 format are 32 KiB per chunk (12-bit
 * word count in the chunk metadata) and 64 KiB per buffer (u16 sizes). */

#define MB_TARGET 4096u
#define MB_MAX_VALUES 4096u
#define MB_MAX_CHUNK 32768u

static void buf_u16(mw_buf *b, uint16_t v) {
  uint8_t x[2];
  mw_store_u16le(x, v);
  mw_buf_append(b, x, 2);
}

/* pads b (relative to position base) to a multiple of align with byte v */
static void pad_with(mw_buf *b, size_t base, size_t align, uint8_t v) {
  while ((b->len - base) % align && !b->failed) mw_buf_u8(b, v);
}

static uint64_t var_start(const col *c, uint64_t r) {
  return r ? mw_load_u64le(c->ends.data + (r - 1) * 8) : 0;
}

/* value buffer bytes of rows [i, i+k) */
static uint64_t chunk_value_bytes(const col *c, uint64_t i, uint64_t k) {
  if (c->kind == K_VAR) {
    uint64_t b = (k + 1) * (uint64_t)c->off_w + var_start(c, i + k) - var_start(c, i);
    return (b + (uint64_t)c->off_w - 1) / (uint64_t)c->off_w * (uint64_t)c->off_w;
  }
  if (c->kind == K_BOOL) return (k + 7) / 8;
  return k * c->vb;
}

/* whole chunk bytes (header, def levels, values, each padded to 8) */
static uint64_t chunk_bytes(const col *c, uint64_t i, uint64_t k, bool def) {
  uint64_t v = (chunk_value_bytes(c, i, k) + 7) / 8 * 8;
  return 8 + (def ? (2 * k + 7) / 8 * 8 : 0) + v;
}

static bool chunk_fits(const col *c, uint64_t i, uint64_t k, bool def) {
  return chunk_value_bytes(c, i, k) <= 0xffff && chunk_bytes(c, i, k, def) <= MB_MAX_CHUNK;
}

/* values in the chunk starting at row i (of n) */
static uint64_t chunk_values(const col *c, uint64_t i, uint64_t n, bool def) {
  uint64_t k = 1;
  for (;;) {
    uint64_t k2 = k * 2;
    if (k2 > MB_MAX_VALUES) break;
    if (i + k2 > n) {
      /* the page's last chunk: any count */
      uint64_t rem = n - i;
      if (rem > k && chunk_value_bytes(c, i, rem) <= MB_TARGET && chunk_fits(c, i, rem, def)) k = rem;
      break;
    }
    if (chunk_value_bytes(c, i, k2) > MB_TARGET || !chunk_fits(c, i, k2, def)) break;
    k = k2;
  }
  return k;
}

static void bits_copy(mw_buf *out, const uint8_t *src, uint64_t from, uint64_t k) {
  size_t base = out->len;
  mw_buf_append_zeros(out, (size_t)((k + 7) / 8));
  if (out->failed) return;
  for (uint64_t j = 0; j < k; j++)
    if (mw_bit_get(src, (int64_t)(from + j))) out->data[base + j / 8] |= (uint8_t)(1u << (j % 8));
}

/* One chunk: values [i, i+k) and levels [l0, l0+nl); def levels from the
 * raw codes through map (nested) or from the validity bits (flat). */
static void write_chunk21(mw_buf *out, const col *c, uint64_t i, uint64_t k, uint64_t l0, uint64_t nl,
                          bool rep, bool def, const uint8_t *map) {
  size_t base = out->len;
  uint64_t vsz = chunk_value_bytes(c, i, k);
  buf_u16(out, (def || rep) ? (uint16_t)nl : 0);
  if (rep) buf_u16(out, (uint16_t)(2 * nl));
  if (def) buf_u16(out, (uint16_t)(2 * nl));
  buf_u16(out, (uint16_t)vsz);
  pad_with(out, base, 8, 0xfe);
  if (rep) {
    for (uint64_t l = l0; l < l0 + nl; l++) buf_u16(out, c->rep.data[l]);
    pad_with(out, base, 8, 0xfe);
  }
  if (def) {
    for (uint64_t l = l0; l < l0 + nl; l++)
      buf_u16(out, map ? map[c->lev.data[l]] : mw_bit_get(c->validity.data, (int64_t)l) ? 0 : 1);
    pad_with(out, base, 8, 0xfe);
  }
  size_t vbase = out->len;
  switch (c->kind) {
    case K_BOOL: bits_copy(out, c->values.data, i, k); break;
    case K_VAR: {
      uint64_t s0 = var_start(c, i), first = (k + 1) * (uint64_t)c->off_w;
      for (uint64_t r = i; r <= i + k; r++) {
        uint64_t o = first + var_start(c, r) - s0;
        if (c->off_w == 4) mw_buf_u32le(out, (uint32_t)o);
        else mw_buf_u64le(out, o);
      }
      /* all-null pages (e.g. tombstone rows) have no value bytes at all */
      if (var_start(c, i + k) > s0) mw_buf_append(out, c->values.data + s0, (size_t)(var_start(c, i + k) - s0));
      pad_with(out, vbase, (size_t)c->off_w, 0x48); /* Lance pads the value buffer like this */
      break;
    }
    default:
      if (k * c->vb > 0) mw_buf_append(out, c->values.data + i * c->vb, (size_t)(k * c->vb));
      break;
  }
  pad_with(out, base, 8, 0xfe);
}

/* CompressiveEncoding of the value buffer */
static void enc_values21(mw_buf *out, const col *c) {
  mw_buf fl, inner;
  mw_buf_init(&fl);
  mw_buf_init(&inner);
  if (c->kind == K_VAR) {
    mw_buf off, ce;
    mw_buf_init(&off);
    mw_buf_init(&ce);
    mw_pb_u64(&off, 1, (uint64_t)c->off_w * 8);
    mw_pb_msg(&ce, 1, &off);           /* CompressiveEncoding.flat (offsets) */
    mw_pb_msg(&inner, 1, &ce);         /* Variable.offsets */
    mw_pb_msg(out, 2, &inner);         /* CompressiveEncoding.variable */
    mw_buf_free(&off);
    mw_buf_free(&ce);
  } else if (c->kind == K_FSL) {
    mw_buf ce;
    mw_buf_init(&ce);
    mw_pb_u64(&fl, 1, c->bits);
    mw_pb_msg(&ce, 1, &fl);            /* CompressiveEncoding.flat (items) */
    mw_pb_u64(&inner, 1, (uint64_t)c->dim);
    mw_pb_msg(&inner, 2, &ce);         /* FixedSizeList.values */
    mw_pb_msg(out, 11, &inner);        /* CompressiveEncoding.fixed_size_list */
    mw_buf_free(&ce);
  } else {
    mw_pb_u64(&fl, 1, c->kind == K_BOOL ? 1 : c->bits);
    mw_pb_msg(out, 1, &fl);
  }
  mw_buf_free(&fl);
  mw_buf_free(&inner);
}

static mw_status flush_page21(mw_lance_file_writer *w, col *c, mw_error *err) {
  uint64_t n = c->rows;
  /* def levels: flat columns from the validity; nested ones map each raw
   * code present in the page to the next level, innermost first */
  uint8_t map[2 + MAX_DEPTH] = {0}, layers[1 + MAX_DEPTH];
  size_t nlayers = 1;
  bool def = c->nulls > 0, rep = c->list;
  if (c->nested) {
    uint8_t next = 0;
    for (int k = 1; k < 2 + MAX_DEPTH; k++)
      if (c->code_mask & (1u << k)) map[k] = ++next;
    def = next > 0;
    layers[0] = (c->code_mask & 2) ? 3 : 1; /* NULLABLE_ITEM : ALL_VALID_ITEM */
    if (c->list) {
      bool nl = c->code_mask & 4, el = c->code_mask & 8;
      /* NULL_AND_EMPTY_LIST / NULLABLE_LIST / EMPTYABLE_LIST / ALL_VALID_LIST */
      layers[nlayers++] = nl && el ? 6 : nl ? 4 : el ? 5 : 2;
    } else {
      for (int k = 1; k <= c->depth; k++) layers[nlayers++] = (c->code_mask & (1u << (1 + k))) ? 3 : 1;
    }
  } else {
    layers[0] = def ? 3 : 1;
  }
  mw_buf meta = w->meta, chunks = w->chunks; /* the writer's scratch, emptied */
  meta.len = 0;
  chunks.len = 0;
  if (c->list) {
    /* one chunk per page: rows never straddle chunks, so the repetition
     * index is simply (rows, 0 partial items); page cuts keep it small */
    write_chunk21(&chunks, c, 0, n, 0, c->nlev, true, def, map);
    buf_u16(&meta, (uint16_t)((chunks.len / 8 - 1) << 4));
  }
  for (uint64_t i = 0; i < n && !c->list;) {
    uint64_t k = chunk_values(c, i, n, def);
    if (!chunk_fits(c, i, k, def)) {
      w->meta = meta;
      w->chunks = chunks;
      return mw_err(err, MW_ERR_UNSUPPORTED,
                    "column '%s': row %llu is too large for a Lance 2.1 mini-block (%llu bytes)",
                    c->name, (unsigned long long)(c->first_row + i),
                    (unsigned long long)chunk_value_bytes(c, i, 1));
    }
    size_t at = chunks.len;
    write_chunk21(&chunks, c, i, k, i, k, false, def, c->nested ? map : NULL);
    uint64_t words = (chunks.len - at) / 8;
    unsigned lg = 0;
    while ((1ull << lg) < k) lg++;
    if (i + k == n) lg = 0; /* the last chunk's count comes from num_items */
    buf_u16(&meta, (uint16_t)(((words - 1) << 4) | lg));
    i += k;
  }
  /* PageLayout{mini_block_layout{def_compression, value_compression, layers,
   * num_buffers 1, num_items}} */
  mw_buf mb, pl, any, ce;
  mw_buf_init(&mb); mw_buf_init(&pl); mw_buf_init(&any); mw_buf_init(&ce);
  for (uint32_t f = 1; f <= 2; f++) {
    if (f == 1 ? !rep : !def) continue;
    mw_buf fl, dc; /* rep / def compression: flat{16} */
    mw_buf_init(&fl);
    mw_buf_init(&dc);
    mw_pb_u64(&fl, 1, 16);
    mw_pb_msg(&dc, 1, &fl);
    mw_pb_msg(&mb, f, &dc);
    mw_buf_free(&fl);
    mw_buf_free(&dc);
  }
  enc_values21(&ce, c);
  mw_pb_msg(&mb, 3, &ce);
  mw_pb_bytes(&mb, 6, layers, nlayers);
  mw_pb_u64(&mb, 7, 1);
  if (rep) mw_pb_u64(&mb, 8, 1); /* repetition_index_depth */
  mw_pb_u64(&mb, 9, n);
  mw_pb_msg(&pl, 1, &mb);
  mw_pb_any(&any, "/lance.encodings21.PageLayout", &pl);
  uint8_t repidx[16];
  mw_store_u64le(repidx, c->prow);
  mw_store_u64le(repidx + 8, 0);
  page_bufs pb = {.ptr = {meta.data, chunks.data, repidx}, .len = {meta.len, chunks.len, 16},
                  .n = rep ? 3 : 2};
  if (!meta.failed && !chunks.failed) append_page(w, c, &pb, &any);
  bool ok = !meta.failed && !chunks.failed && !any.failed;
  w->meta = meta;
  w->chunks = chunks;
  mw_buf_free(&mb); mw_buf_free(&pl);
  mw_buf_free(&any); mw_buf_free(&ce);
  if (!ok) return mw_err(err, MW_ERR_NOMEM, "out of memory writing Lance page of column '%s'", c->name);
  return MW_OK;
}

static mw_status flush_page(mw_lance_file_writer *w, col *c, mw_error *err) {
  if (c->prow == 0) return MW_OK;
  if (w->opts.version == MW_LANCE_V2_1) {
    MW_TRY(flush_page21(w, c, err));
  } else {
    flush_page20(w, c);
  }
  c->first_row += c->prow;
  col_reset(c);
  if (!mw_buf_ok(&w->file) || !mw_buf_ok(&c->pages) || w->pieces_failed)
    return mw_err(err, MW_ERR_NOMEM, "out of memory writing Lance page of column '%s'", c->name);
  return MW_OK;
}

/* ---- gathering rows ---- */

static uint64_t col_bytes(const col *c) {
  return c->values.len + c->blen + c->validity.len + c->ends.len;
}

/* Appends n value bytes at src to the page: by reference while the page's
 * values stay one contiguous range of the caller's buffer (c->borrow),
 * else copied. */
static void col_values(col *c, const uint8_t *src, size_t n) {
  if (c->borrow && c->values.len == 0 && (c->blen == 0 || c->bptr + c->blen == src)) {
    if (c->blen == 0) c->bptr = src;
    c->blen += n;
    return;
  }
  if (c->blen) {
    mw_buf_append(&c->values, c->bptr, (size_t)c->blen);
    c->bptr = NULL;
    c->blen = 0;
  }
  mw_buf_append(&c->values, src, n);
}

/* Row (relative to r0) of the first null item inside a valid fixed-size
 * list row, -1 if none: Lance stores item validity in neither of our
 * encodings, so such rows are refused rather than silently made valid. */
static int64_t fsl_null_item(const col *c, const struct ArrowArray *a, int64_t r0, int64_t n) {
  const struct ArrowArray *ch = a->children[0];
  if (ch->null_count == 0 || ch->n_buffers < 1 || !ch->buffers[0]) return -1;
  const void *vbm = (a->null_count != 0 && a->n_buffers > 0) ? a->buffers[0] : NULL;
  for (int64_t i = 0; i < n; i++) {
    int64_t p = a->offset + r0 + i;
    if (!mw_bit_get(vbm, p)) continue;
    for (int64_t k = 0; k < c->dim; k++)
      if (!mw_bit_get(ch->buffers[0], ch->offset + p * c->dim + k)) return i;
  }
  return -1;
}

/* Walks field f / array a (parent offsets accumulated in lp, as write_run
 * does) to every fixed_size_list leaf and refuses a null item inside a
 * valid row, naming the column and the batch row. */
static mw_status check_fsl_items(const struct ArrowSchema *f, const struct ArrowArray *a, int64_t lp,
                                 int64_t n, const char *name, mw_error *err) {
  if (f->format[0] == '+' && f->format[1] == 's') {
    for (int64_t i = 0; i < f->n_children && i < a->n_children; i++) {
      char sub[256];
      snprintf(sub, sizeof sub, "%.120s.%.120s", name, f->children[i]->name ? f->children[i]->name : "");
      MW_TRY(check_fsl_items(f->children[i], a->children[i], lp + a->offset, n, sub, err));
    }
    return MW_OK;
  }
  if (f->format[0] != '+' || f->format[1] != 'w' || a->n_children < 1) return MW_OK;
  mw_type t;
  if (mw_type_from_format(&t, f->format, NULL) != MW_OK || t.width <= 0) return MW_OK;
  col c;
  memset(&c, 0, sizeof c);
  c.dim = t.width;
  int64_t bad = fsl_null_item(&c, a, lp, n);
  if (bad >= 0)
    return mw_err(err, MW_ERR_UNSUPPORTED,
                  "column '%s': row %lld has a null item inside its fixed_size_list; Lance files written "
                  "here cannot store null list items (make the row null, or fill the item)",
                  name, (long long)bad);
  return MW_OK;
}

mw_status mw_lance_check_batch(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                               mw_error *err) {
  if (!schema || !batch || batch->n_children != schema->n_children)
    return mw_err(err, MW_ERR_INVALID, "Lance batch check: batch does not match the schema");
  for (int64_t i = 0; i < schema->n_children; i++)
    MW_TRY(check_fsl_items(schema->children[i], batch->children[i], batch->offset, batch->length,
                           schema->children[i]->name ? schema->children[i]->name : "", err));
  return MW_OK;
}

/* Appends logical rows [r0, r0+n) of column array a. */
static void col_append_run(col *c, const struct ArrowArray *a, int64_t r0, int64_t n) {
  int64_t p0 = a->offset + r0;
  const void *vbm = (a->null_count != 0 && a->n_buffers > 0) ? a->buffers[0] : NULL;
  /* validity: always tracked so a page can switch to some_nulls */
  for (int64_t i = 0; i < n; i++) {
    bool v = mw_bit_get(vbm, p0 + i);
    bit_append(&c->validity, c->rows + (uint64_t)i, v);
    if (!v) c->nulls++;
  }
  switch (c->kind) {
    case K_FIXED:
      col_values(c, (const uint8_t *)a->buffers[1] + (size_t)p0 * c->vb, (size_t)n * c->vb);
      break;
    case K_BOOL:
      for (int64_t i = 0; i < n; i++)
        bit_append(&c->values, c->rows + (uint64_t)i, mw_bit_get(a->buffers[1], p0 + i) && a->buffers[1]);
      break;
    case K_FSL: {
      const struct ArrowArray *ch = a->children[0];
      int64_t q0 = ch->offset + p0 * c->dim;
      col_values(c, (const uint8_t *)ch->buffers[1] + (size_t)q0 * c->item_bytes, (size_t)n * c->vb);
      break;
    }
    case K_VAR: {
      for (int64_t i = 0; i < n; i++) {
        int64_t p = p0 + i, s, e;
        if (c->off_w == 4) {
          s = ((const int32_t *)a->buffers[1])[p];
          e = ((const int32_t *)a->buffers[1])[p + 1];
        } else {
          s = ((const int64_t *)a->buffers[1])[p];
          e = ((const int64_t *)a->buffers[1])[p + 1];
        }
        bool v = mw_bit_get(vbm, p);
        if (v && e > s) mw_buf_append(&c->values, (const uint8_t *)a->buffers[2] + s, (size_t)(e - s));
        mw_buf_u64le(&c->ends, c->values.len);
      }
      break;
    }
  }
  c->rows += (uint64_t)n;
}

static inline bool arr_valid(const struct ArrowArray *a, int64_t phys) {
  return a->null_count == 0 || a->n_buffers < 1 || !a->buffers[0] || mw_bit_get(a->buffers[0], phys);
}

static void lev_push(col *c, uint8_t code, bool row_start) {
  mw_buf_u8(&c->lev, code);
  if (c->list) mw_buf_u8(&c->rep, row_start ? 1 : 0);
  c->code_mask |= 1u << code;
  c->nlev++;
}

/* Rows [r0, r0+n) of top-level struct array a into struct leaf column c:
 * raw codes (the outermost null layer wins) and the leaf's values. */
static void struct_append(col *c, const struct ArrowArray *a, int64_t r0, int64_t n) {
  const struct ArrowArray *arr[MAX_DEPTH + 1];
  arr[0] = a;
  for (int j = 0; j < c->depth; j++) arr[j + 1] = arr[j]->children[c->path[j]];
  const struct ArrowArray *leaf = arr[c->depth];
  for (int64_t i = 0; i < n; i++) {
    int64_t p = r0 + i;
    uint8_t code = 0;
    for (int j = 0; j < c->depth; j++) {
      p += arr[j]->offset; /* a struct child's logical index = the parent's physical one */
      if (!arr_valid(arr[j], p)) {
        /* a layer with any null is NULLABLE in the page, even where an outer
         * null hides it (as Lance decides it) */
        c->code_mask |= 1u << (1 + c->depth - j);
        if (!code) code = (uint8_t)(1 + c->depth - j);
      }
    }
    if (!arr_valid(leaf, leaf->offset + p)) {
      c->code_mask |= 2;
      if (!code) code = 1;
    }
    lev_push(c, code, false);
  }
  int64_t lp = r0;
  for (int j = 0; j < c->depth; j++) lp += arr[j]->offset;
  col_append_run(c, leaf, lp, n);
  c->prow += (uint64_t)n;
}

/* chunk bytes of a list page after adding levels / items / value bytes */
static uint64_t list_chunk_bytes(const col *c, uint64_t add_lev, uint64_t add_items, uint64_t add_bytes) {
  uint64_t l = c->nlev + add_lev, items = c->rows + add_items, v;
  if (c->kind == K_VAR) v = (items + 1) * (uint64_t)c->off_w + c->values.len + add_bytes + (uint64_t)c->off_w;
  else if (c->kind == K_BOOL) v = (items + 7) / 8;
  else v = items * c->vb;
  return 8 + 2 * ((2 * l + 7) / 8 * 8) + (v + 7) / 8 * 8;
}

#define LIST_PAGE_TARGET 16384u

/* Row r of top-level list array a into list column c; cuts the page first
 * when the row would take the (single) chunk past LIST_PAGE_TARGET. */
static mw_status list_append_row(mw_lance_file_writer *w, col *c, const struct ArrowArray *a, int64_t r,
                                 mw_error *err) {
  int64_t p = a->offset + r, s = 0, e = 0;
  bool valid = arr_valid(a, p);
  if (valid) {
    if (c->list_w == 4) {
      s = ((const int32_t *)a->buffers[1])[p];
      e = ((const int32_t *)a->buffers[1])[p + 1];
    } else {
      s = ((const int64_t *)a->buffers[1])[p];
      e = ((const int64_t *)a->buffers[1])[p + 1];
    }
    if (e < s) return mw_err(err, MW_ERR_INVALID, "column '%s': list offsets decrease at row %lld", c->name, (long long)r);
  }
  const struct ArrowArray *ch = a->children[0];
  uint64_t m = (uint64_t)(e - s), bytes = 0;
  if (m && c->kind == K_VAR) {
    int64_t q = ch->offset + s, qe = ch->offset + e;
    bytes = c->off_w == 4 ? (uint64_t)(((const int32_t *)ch->buffers[1])[qe] - ((const int32_t *)ch->buffers[1])[q])
                          : (uint64_t)(((const int64_t *)ch->buffers[1])[qe] - ((const int64_t *)ch->buffers[1])[q]);
  }
  if (c->prow && list_chunk_bytes(c, m ? m : 1, m, bytes) > LIST_PAGE_TARGET) MW_TRY(flush_page(w, c, err));
  if (!valid) {
    lev_push(c, 2, true);
  } else if (m == 0) {
    lev_push(c, 3, true);
  } else {
    for (uint64_t j = 0; j < m; j++) lev_push(c, arr_valid(ch, ch->offset + s + (int64_t)j) ? 0 : 1, j == 0);
    col_append_run(c, ch, s, (int64_t)m);
  }
  c->prow++;
  if (list_chunk_bytes(c, 0, 0, 0) > MB_MAX_CHUNK || c->nlev > 0xffff)
    return mw_err(err, MW_ERR_UNSUPPORTED,
                  "column '%s': row %llu is too large for a Lance 2.1 mini-block (%llu items)", c->name,
                  (unsigned long long)(c->first_row + c->prow - 1), (unsigned long long)m);
  return MW_OK;
}

/* Rows [r0, r0+n) of top-level list array a into 2.0 list column c: the
 * offsets column takes one u64 end per row (null rows: their validity,
 * adjusted at page end), the item column the child's items. */
static mw_status list20_append(mw_lance_file_writer *w, col *c, const struct ArrowArray *a, int64_t r0, int64_t n,
                               mw_error *err) {
  const struct ArrowArray *ch = a->children[0];
  for (int64_t i = 0; i < n; i++) {
    int64_t p = a->offset + r0 + i, s = 0, e = 0;
    bool valid = arr_valid(a, p);
    if (valid) {
      if (c->list_w == 4) {
        s = ((const int32_t *)a->buffers[1])[p];
        e = ((const int32_t *)a->buffers[1])[p + 1];
      } else {
        s = ((const int64_t *)a->buffers[1])[p];
        e = ((const int64_t *)a->buffers[1])[p + 1];
      }
      if (e < s)
        return mw_err(err, MW_ERR_INVALID, "column '%s': list offsets decrease at row %lld", c->name,
                      (long long)(r0 + i));
    }
    uint64_t m = (uint64_t)(e - s);
    if (c->list20) {
      bit_append(&c->validity, c->rows, valid);
      if (!valid) c->nulls++;
      c->num_items += m;
      mw_buf_u64le(&c->values, c->num_items);
      c->rows++;
      c->prow++;
    } else if (m) {
      if (c->kind == K_FSL && fsl_null_item(c, ch, s, (int64_t)m) >= 0)
        return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': a null item inside a fixed_size_list item of row %lld",
                      c->name, (long long)(r0 + i));
      col_append_run(c, ch, s, (int64_t)m);
      c->prow += m;
    }
    if (c->values.failed || c->validity.failed || c->ends.failed)
      return mw_err(err, MW_ERR_NOMEM, "out of memory buffering Lance column '%s'", c->name);
    if (col_bytes(c) >= w->opts.max_page_bytes || (w->opts.max_page_rows && c->prow >= w->opts.max_page_rows))
      MW_TRY(flush_page(w, c, err));
  }
  return MW_OK;
}

static mw_status write_run(mw_lance_file_writer *w, const struct ArrowArray *batch, int64_t r0,
                           int64_t n, mw_error *err) {
  for (int64_t j = 0; j < w->n_cols; j++) {
    col *c = &w->cols[j];
    const struct ArrowArray *a = batch->children[c->top];
    if (c->list20 || c->items20) {
      MW_TRY(list20_append(w, c, a, r0, n, err));
      continue;
    }
    if (c->list) {
      for (int64_t i = 0; i < n; i++) {
        MW_TRY(list_append_row(w, c, a, r0 + i, err));
        if (c->values.failed || c->validity.failed || c->ends.failed || c->lev.failed || c->rep.failed)
          return mw_err(err, MW_ERR_NOMEM, "out of memory buffering Lance column '%s'", c->name);
        if (w->opts.max_page_rows && c->prow >= w->opts.max_page_rows) MW_TRY(flush_page(w, c, err));
      }
      continue;
    }
    int64_t done = 0;
    while (done < n) {
      int64_t chunk = n - done;
      if (chunk > 1024) chunk = 1024;
      if (w->opts.max_page_rows && (uint64_t)chunk > w->opts.max_page_rows - c->prow)
        chunk = (int64_t)(w->opts.max_page_rows - c->prow);
      if (c->kind == K_FSL) {
        const struct ArrowArray *leaf = a;
        int64_t lp = r0 + done;
        for (int d = 0; d < c->depth; d++) {
          lp += leaf->offset;
          leaf = leaf->children[c->path[d]];
        }
        int64_t bad = fsl_null_item(c, leaf, lp, chunk);
        if (bad >= 0)
          return mw_err(err, MW_ERR_UNSUPPORTED,
                        "column '%s': batch row %lld has a null item inside its fixed_size_list; "
                        "Lance files written here cannot store null list items",
                        c->name, (long long)(r0 + done + bad));
      }
      if (c->nested) {
        struct_append(c, a, r0 + done, chunk);
      } else {
        col_append_run(c, a, r0 + done, chunk);
        c->prow += (uint64_t)chunk;
      }
      done += chunk;
      if (c->values.failed || c->validity.failed || c->ends.failed || c->lev.failed)
        return mw_err(err, MW_ERR_NOMEM, "out of memory buffering Lance column '%s'", c->name);
      if (col_bytes(c) + c->lev.len >= w->opts.max_page_bytes ||
          (w->opts.max_page_rows && c->prow >= w->opts.max_page_rows))
        MW_TRY(flush_page(w, c, err));
    }
  }
  return MW_OK;
}

mw_status mw_lance_file_writer_write(mw_lance_file_writer *w, const struct ArrowArray *batch,
                                     const int64_t *rows, int64_t n, mw_error *err) {
  if (w->finished) return mw_err(err, MW_ERR_INVALID, "Lance file writer already finished");
  if (!batch || batch->n_children != w->schema->n_children)
    return mw_err(err, MW_ERR_INVALID, "batch has %lld columns, the Lance file %lld",
                  batch ? (long long)batch->n_children : 0LL, (long long)w->schema->n_children);
  /* rows are logical rows of the batch: its own (struct) offset applies to
   * every child, on top of the children's offsets */
  if (!rows) {
    if (batch->length > 0) MW_TRY(write_run(w, batch, batch->offset, batch->length, err));
    w->rows += (uint64_t)batch->length;
    return MW_OK;
  }
  int64_t i = 0;
  while (i < n) {
    int64_t j = i + 1;
    while (j < n && rows[j] == rows[j - 1] + 1) j++;
    if (rows[i] < 0 || rows[j - 1] >= batch->length)
      return mw_err(err, MW_ERR_INVALID, "row %lld out of the batch's %lld rows",
                    (long long)rows[i], (long long)batch->length);
    MW_TRY(write_run(w, batch, batch->offset + rows[i], j - i, err));
    i = j;
  }
  w->rows += (uint64_t)n;
  return MW_OK;
}

/* Writes the last pages, the global buffers, the column metadata and the
 * footer into w->file (borrowed pages stay pieces). */
static mw_status finish_file(mw_lance_file_writer *w, mw_error *err) {
  if (w->finished) return mw_err(err, MW_ERR_INVALID, "Lance file writer already finished");
  w->finished = true;
  for (int64_t j = 0; j < w->n_cols; j++) MW_TRY(flush_page(w, &w->cols[j], err));

  /* global buffer 0: FileDescriptor */
  mw_buf fd, sch;
  mw_buf_init(&fd);
  mw_buf_init(&sch);
  mw_status s = mw_lance_write_fields(&sch, 1, w->schema, w->opts.pk_names, w->opts.n_pk, err);
  if (s != MW_OK) {
    mw_buf_free(&fd);
    mw_buf_free(&sch);
    return s;
  }
  mw_pb_metadata(&sch, 5, w->opts.schema_metadata);
  mw_pb_msg(&fd, 1, &sch);
  if (w->rows) mw_pb_u64(&fd, 2, w->rows);
  /* extra global buffers (entries 1..n), after the data pages */
  size_t ngb = w->opts.n_global_buffers;
  uint64_t *gbx = calloc(2 * ngb + 1, sizeof *gbx);
  if (!gbx) {
    mw_buf_free(&fd);
    mw_buf_free(&sch);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < ngb; i++) {
    pad64(w);
    gbx[2 * i] = wpos(w);
    gbx[2 * i + 1] = w->opts.global_buffer_lens[i];
    if (w->opts.global_buffer_lens[i])
      mw_buf_append(&w->file, w->opts.global_buffers[i], w->opts.global_buffer_lens[i]);
  }
  pad64(w);
  uint64_t gb_pos = wpos(w), gb_len = fd.len;
  mw_buf_append(&w->file, fd.data, fd.len);
  mw_buf_free(&fd);
  mw_buf_free(&sch);

  /* column metadata */
  uint64_t cms = wpos(w);
  uint64_t *cm = calloc((size_t)w->n_cols * 2 + 1, sizeof *cm);
  if (!cm) {
    free(gbx);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  for (int64_t j = 0; j < w->n_cols; j++) {
    col *c = &w->cols[j];
    mw_buf meta, cenc, ce, direct, enc;
    mw_buf_init(&meta); mw_buf_init(&cenc); mw_buf_init(&ce); mw_buf_init(&direct); mw_buf_init(&enc);
    mw_buf empty;
    mw_buf_init(&empty);
    mw_pb_msg(&ce, 1, &empty); /* ColumnEncoding.values = Empty */
    mw_pb_any(&cenc, "/lance.encodings.ColumnEncoding", &ce);
    mw_pb_msg(&direct, 1, &cenc);
    mw_pb_msg(&enc, 2, &direct);
    mw_pb_msg(&meta, 1, &enc);
    mw_buf_append(&meta, c->pages.data, c->pages.len);
    cm[2 * j] = wpos(w);
    cm[2 * j + 1] = meta.len;
    mw_buf_append(&w->file, meta.data, meta.len);
    mw_buf_free(&meta); mw_buf_free(&cenc); mw_buf_free(&ce); mw_buf_free(&direct);
    mw_buf_free(&enc); mw_buf_free(&empty);
  }
  uint64_t cmo = wpos(w);
  for (int64_t j = 0; j < w->n_cols; j++) {
    mw_buf_u64le(&w->file, cm[2 * j]);
    mw_buf_u64le(&w->file, cm[2 * j + 1]);
  }
  free(cm);
  uint64_t gbo = wpos(w);
  mw_buf_u64le(&w->file, gb_pos);
  mw_buf_u64le(&w->file, gb_len);
  for (size_t i = 0; i < ngb; i++) {
    mw_buf_u64le(&w->file, gbx[2 * i]);
    mw_buf_u64le(&w->file, gbx[2 * i + 1]);
  }
  free(gbx);
  mw_buf_u64le(&w->file, cms);
  mw_buf_u64le(&w->file, cmo);
  mw_buf_u64le(&w->file, gbo);
  mw_buf_u32le(&w->file, (uint32_t)(1 + ngb));
  mw_buf_u32le(&w->file, (uint32_t)w->n_cols);
  uint8_t ver[4];
  if (w->opts.version == MW_LANCE_V2_1) {
    mw_store_u16le(ver, 2);
    mw_store_u16le(ver + 2, 1);
  } else {
    mw_store_u16le(ver, 0);
    mw_store_u16le(ver + 2, 3);
  }
  mw_buf_append(&w->file, ver, 4);
  mw_buf_append(&w->file, "LANC", 4);
  if (!mw_buf_ok(&w->file) || w->pieces_failed)
    return mw_err(err, MW_ERR_NOMEM, "out of memory finishing Lance file");
  return MW_OK;
}

/* The finished file's pieces (after finish_file). */
static mw_status take_pieces(mw_lance_file_writer *w, mw_lance_file_pieces *out, mw_error *err) {
  /* own bytes and borrowed pages alternate: at most 2 * pieces + 1 */
  mw_iov *iov = malloc((2 * w->n_pieces + 1) * sizeof *iov);
  if (!iov) return mw_err(err, MW_ERR_NOMEM, "out of memory finishing Lance file");
  size_t len = 0;
  out->own = mw_buf_take(&w->file, &len);
  size_t n = 0, at = 0;
  for (size_t k = 0; k < w->n_pieces; k++) {
    if (w->pieces[k].at > at) iov[n++] = (mw_iov){out->own + at, w->pieces[k].at - at};
    at = w->pieces[k].at;
    iov[n++] = (mw_iov){w->pieces[k].ptr, (size_t)w->pieces[k].len};
  }
  if (len > at) iov[n++] = (mw_iov){out->own + at, len - at};
  out->iov = iov;
  out->n_iov = n;
  out->len = (uint64_t)len + w->borrowed;
  return MW_OK;
}

mw_status mw_lance_file_writer_finish_pieces(mw_lance_file_writer *w, mw_lance_file_pieces *out,
                                             mw_error *err) {
  memset(out, 0, sizeof *out);
  MW_TRY(finish_file(w, err));
  return take_pieces(w, out, err);
}

void mw_lance_file_pieces_free(mw_lance_file_pieces *p) {
  free(p->own);
  free(p->iov);
  memset(p, 0, sizeof *p);
}

mw_status mw_lance_file_writer_finish(mw_lance_file_writer *w, uint8_t **out, size_t *out_len,
                                      mw_error *err) {
  *out = NULL;
  *out_len = 0;
  MW_TRY(finish_file(w, err));
  if (w->n_pieces == 0) {
    *out = mw_buf_take(&w->file, out_len);
    return MW_OK;
  }
  /* borrowed pages: joined into one buffer */
  mw_lance_file_pieces p;
  memset(&p, 0, sizeof p);
  MW_TRY(take_pieces(w, &p, err));
  uint8_t *b = malloc(p.len ? (size_t)p.len : 1);
  if (!b) {
    mw_lance_file_pieces_free(&p);
    return mw_err(err, MW_ERR_NOMEM, "out of memory finishing Lance file");
  }
  size_t at = 0;
  for (size_t i = 0; i < p.n_iov; i++) {
    memcpy(b + at, p.iov[i].data, p.iov[i].len);
    at += p.iov[i].len;
  }
  *out = b;
  *out_len = at;
  mw_lance_file_pieces_free(&p);
  return MW_OK;
}

void mw_lance_file_writer_free(mw_lance_file_writer *w) {
  if (!w) return;
  for (int64_t j = 0; j < w->n_cols; j++) {
    col *c = &w->cols[j];
    mw_buf_free(&c->values);
    mw_buf_free(&c->validity);
    mw_buf_free(&c->ends);
    mw_buf_free(&c->lev);
    mw_buf_free(&c->rep);
    mw_buf_free(&c->pages);
    free(c->owned_name);
  }
  free(w->cols);
  mw_buf_free(&w->file);
  mw_buf_free(&w->meta);
  mw_buf_free(&w->chunks);
  free(w->pieces);
  free(w);
}
