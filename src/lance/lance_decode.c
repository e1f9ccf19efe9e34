/* lance_decode.c - decodes one Lance page into values + rep/def levels.
 *
 * Design: every page is decoded whole (pages are bounded by the writer, a
 * few MiB at most) into an mw_lv value set of the leaf's shape plus, for
 * 2.1+ pages with levels, one rep / def level (u16) per level. Turning levels
 * into Arrow validity, list offsets and row ranges is the caller's job
 * (lance_read.c), so this file only knows encodings.
 *
 * 2.0 (type_url /lance.encodings.ArrayEncoding), the trees Lance 2.0 and our
 * writer produce for flat columns:
 *   nullable{no_nulls{V} | some_nulls{validity flat{1}, V} | all_nulls}
 *   V = flat{bits, buffer} | fixed_size_list{dim, flat{bits}} |
 *       binary{indices (u64 end offsets, nullable/flat 64), bytes flat{8},
 *              null_adjustment (a null row's end is stored + adjustment)}
 *       | constant{value}
 *   (a bare flat / binary without nullable is accepted too).
 * 2.1 / 2.2 (type_url /lance.encodings21.PageLayout):
 *   mini_block_layout: buffer 0 = chunk metadata, one u16 per chunk (u32 when
 *     has_large_chunk, as 2.2 writes): ((bytes / 8) - 1) << 4 | log2(values),
 *     the last chunk's count = num_items - the others; buffer 1 = the
 *     chunks, each: u16 num_levels, [u16 rep bytes], [u16 def bytes],
 *     num_buffers sizes (u16, u32 with large chunks), 0xFE pad to 8, then rep,
 *     def and each value buffer, each padded to 8; buffer 2 = the dictionary
 *     when the layout has one (the chunks then hold indices into it).
 *   full_zip_layout: per level a control word (rep << bits_def | def)
 *     zipped with its value when the level is visible (not a null / empty
 *     list): fixed bytes (a fixed_size_list with item validity puts the
 *     validity bits first; with or without repetition levels, e.g.
 *     list<fixed_size_list<float>>), or a length + bytes for valid variable
 *     items. A nullable layer outside a list is refused (LanceDB 0.39
 *     cannot read such pages back itself).
 *   constant layout (all_null_layout): one value for every item, inline
 *     (field 6) or in page buffer 0 (framed: u32 buffer count, u32 sizes,
 *     then the value, or 2 offsets + bytes for variable width); neither:
 *     every item null.
 *   Compressive encodings (values, levels, dictionaries): flat; variable
 *   (mini-block: offsets relative to the buffer in front of the bytes; block:
 *   [bits per offset][bytes start][offsets from 0][bytes]); constant;
 *   inline bitpacking (per chunk of up to 1024 values a T-sized bit width
 *   then 1024 * W / T words) and out-of-line bitpacking (chunks of 1024 at a
 *   fixed width, a raw or padded tail), both FastLanes: value index of (row,
 *   lane) = FL_ORDER[row / 8] * 16 + (row % 8) * 128 + lane, FL_ORDER = 0 4
 *   2 6 1 5 3 7; RLE (values + u8/u16/u32 run lengths: two mini-block
 *   buffers, or one block [u64 values size][values][lengths]); general
 *   (LZ4 block with a u32 size prefix, zstd with a u64 prefix or a bare
 *   frame) around any of these; FSST (symbol table in the protobuf: u64
 *   info, 8-byte symbols, lengths; code 255 escapes a literal byte);
 *   fixed_size_list (with or without item validity).
 *   Anything else: "unsupported encoding X in column Y".
 * Every size and offset is checked before use; messages give the file
 * offset of the offending page buffer (plus the offset inside it). */
#include "lance/lance_decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <zstd.h>

#include "common/error.h"
#include "lance/pb.h"

#define MAX_ENC_DEPTH 16
#define MAX_PAGE_ITEMS ((uint64_t)1 << 28) /* items a list page may claim */

typedef struct span {
  const uint8_t *p;
  size_t n;
  uint64_t pos; /* file offset of p[0] */
} span;

typedef struct dctx {
  const mw_lance_page_ctx *c;
  mw_error *err;
} dctx;

static mw_status corrupt(dctx *d, uint64_t pos, const char *fmt, ...) MW_PRINTF(3, 4);
static mw_status corrupt(dctx *d, uint64_t pos, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return mw_err(d->err, MW_ERR_CORRUPT, "Lance file %s: column '%s' page %u: %s (at byte %llu)", d->c->file,
                d->c->column, d->c->page, msg, (unsigned long long)pos);
}

static mw_status unsupported(dctx *d, const char *what) {
  return mw_err(d->err, MW_ERR_UNSUPPORTED, "unsupported encoding %s in column %s (Lance file %s, page %u)", what,
                d->c->column, d->c->file, d->c->page);
}

static mw_status nomem(dctx *d) { return mw_err(d->err, MW_ERR_NOMEM, "out of memory decoding a Lance page"); }

void mw_lv_init(mw_lv *v, mw_lv_kind kind, uint32_t width, uint32_t dim) {
  memset(v, 0, sizeof *v);
  v->kind = kind;
  v->width = width;
  v->dim = dim;
  mw_buf_init(&v->data);
  mw_buf_init(&v->offs);
  mw_buf_init(&v->valid);
  mw_buf_init(&v->ivalid);
}

void mw_lv_free(mw_lv *v) {
  mw_buf_free(&v->data);
  mw_buf_free(&v->offs);
  mw_buf_free(&v->valid);
  mw_buf_free(&v->ivalid);
  v->n = 0;
}

void mw_lance_page_free(mw_lance_page *p) {
  mw_lv_free(&p->v);
  free(p->fsst);
  p->fsst = NULL;
  free(p->rep);
  free(p->def);
  p->rep = p->def = NULL;
}

static bool lv_ok(const mw_lv *v) { return !v->data.failed && !v->offs.failed && !v->valid.failed && !v->ivalid.failed; }

/* ---- protobuf helpers: a message is walked whole once (pb_valid), then
 * fields are looked up */

static bool pb_valid(const uint8_t *m, size_t n) {
  size_t pos = 0;
  mw_pb_field f = {0};
  while (pos < n)
    if (!mw_pb_next(m, n, &pos, &f)) return false;
  return true;
}

/* the last occurrence of a field (protobuf semantics for scalars) */
static bool pb_get(const uint8_t *m, size_t n, uint32_t field, mw_pb_field *out) {
  size_t pos = 0;
  mw_pb_field f = {0};
  bool found = false;
  while (pos < n && mw_pb_next(m, n, &pos, &f))
    if (f.field == field) {
      *out = f;
      found = true;
    }
  return found;
}

static uint64_t pb_u64(const uint8_t *m, size_t n, uint32_t field) {
  mw_pb_field f = {0};
  return pb_get(m, n, field, &f) && f.wire_type == 0 ? f.val : 0;
}

/* sub-message (length-delimited); absent = empty */
static bool pb_msg(const uint8_t *m, size_t n, uint32_t field, const uint8_t **sub, size_t *sub_n) {
  mw_pb_field f = {0};
  if (!pb_get(m, n, field, &f) || f.wire_type != 2) {
    *sub = NULL;
    *sub_n = 0;
    return false;
  }
  *sub = f.data;
  *sub_n = f.len;
  return true;
}

/* The single set field of a oneof message: its number and payload. */
static mw_status pb_oneof(dctx *d, const uint8_t *m, size_t n, uint32_t *which, const uint8_t **sub, size_t *sub_n,
                          uint64_t pos, const char *what) {
  if (!pb_valid(m, n)) return corrupt(d, pos, "malformed %s protobuf", what);
  size_t p = 0;
  mw_pb_field f = {0};
  *which = 0;
  while (p < n && mw_pb_next(m, n, &p, &f))
    if (f.wire_type == 2) {
      *which = f.field;
      *sub = f.data;
      *sub_n = f.len;
    }
  if (!*which) return corrupt(d, pos, "%s has no encoding set", what);
  if (!pb_valid(*sub, *sub_n)) return corrupt(d, pos, "malformed %s protobuf", what);
  return MW_OK;
}

/* ---- value appends ---- */

static void bits_append(mw_buf *b, uint64_t at, const uint8_t *src, uint64_t from, uint64_t k) {
  uint64_t need = (at + k + 7) / 8;
  if (need > b->len) mw_buf_append_zeros(b, (size_t)(need - b->len));
  if (b->failed) return;
  for (uint64_t j = 0; j < k; j++) {
    uint64_t s = from + j, t = at + j;
    if ((src[s >> 3] >> (s & 7)) & 1) b->data[t >> 3] |= (uint8_t)(1u << (t & 7));
    else b->data[t >> 3] &= (uint8_t)~(1u << (t & 7));
  }
}

static void bits_fill(mw_buf *b, uint64_t at, uint64_t k, bool v) {
  uint64_t need = (at + k + 7) / 8;
  if (need > b->len) mw_buf_append_zeros(b, (size_t)(need - b->len));
  if (b->failed) return;
  for (uint64_t j = 0; j < k; j++) {
    uint64_t t = at + j;
    if (v) b->data[t >> 3] |= (uint8_t)(1u << (t & 7));
    else b->data[t >> 3] &= (uint8_t)~(1u << (t & 7));
  }
}

/* appends k values; var: lens/bytes via var_append */
static void lv_start_var(mw_lv *v) {
  if (v->offs.len == 0) mw_buf_u64le(&v->offs, 0);
}

static void var_append(mw_lv *v, const uint8_t *bytes, uint64_t len) {
  lv_start_var(v);
  if (len) mw_buf_append(&v->data, bytes, (size_t)len);
  mw_buf_u64le(&v->offs, v->data.len);
  v->n++;
}

/* marks validity of the values just appended [at, at + k) */
static void lv_valid(mw_lv *v, uint64_t at, uint64_t k, const uint8_t *bits, uint64_t from) {
  if (!v->has_valid) {
    bool all = true;
    for (uint64_t j = 0; bits && j < k && all; j++) all = (bits[(from + j) >> 3] >> ((from + j) & 7)) & 1;
    if (all) return;
    v->has_valid = true;
    bits_fill(&v->valid, 0, at, true);
  }
  if (bits) bits_append(&v->valid, at, bits, from, k);
  else bits_fill(&v->valid, at, k, false);
}

static void lv_valid_all(mw_lv *v, uint64_t at, uint64_t k) {
  if (v->has_valid) bits_fill(&v->valid, at, k, true);
}

/* k zero / empty values */
static void lv_pad(mw_lv *v, uint64_t k) {
  switch (v->kind) {
    case MW_LV_FIXED: mw_buf_append_zeros(&v->data, (size_t)(k * v->width)); v->n += k; break;
    case MW_LV_BOOL: bits_fill(&v->data, v->n, k, false); v->n += k; break;
    case MW_LV_VAR:
      for (uint64_t j = 0; j < k; j++) var_append(v, NULL, 0);
      break;
  }
}

/* item validity of a fixed_size_list: k items from bits (starting at bit
 * `from`) appended after the items already held */
static void lv_item_valid(mw_lv *v, uint64_t at_item, const uint8_t *bits, uint64_t from, uint64_t k) {
  if (!v->has_ivalid) {
    bool all = true;
    for (uint64_t j = 0; j < k && all; j++) all = (bits[(from + j) >> 3] >> ((from + j) & 7)) & 1;
    if (all) return;
    v->has_ivalid = true;
    bits_fill(&v->ivalid, 0, at_item, true);
  }
  bits_append(&v->ivalid, at_item, bits, from, k);
}

/* ---- 2.1 compressive encodings ----
 * ce_decode appends n values to v (of v's shape) from the value buffers of
 * one mini-block chunk (or of a whole page for levels). */

typedef struct vbufs {
  span b[8];
  int n;
  bool block; /* one whole-page buffer (levels, dictionary): block formats */
} vbufs;

static const char *ce_name(uint32_t which) {
  static const char *names[] = {"?", "flat", "variable", "constant", "out_of_line_bitpacking", "inline_bitpacking",
                                "fsst", "dictionary", "rle", "byte_stream_split", "general", "fixed_size_list",
                                "packed_struct", "variable_packed_struct"};
  return which < sizeof names / sizeof names[0] ? names[which] : "unknown CompressiveEncoding";
}

/* FastLanes unpack of one chunk of 1024 values of T bytes at bit width w
 * into out (1024 * T bytes); words = the packed data (1024 * w / (8T) words). */
static void fl_unpack(uint8_t *out, const uint8_t *words, unsigned T, unsigned w) {
  static const unsigned order[8] = {0, 4, 2, 6, 1, 5, 3, 7};
  unsigned tb = T * 8, lanes = 1024 / tb;
  for (unsigned lane = 0; lane < lanes; lane++) {
    for (unsigned row = 0; row < tb; row++) {
      uint64_t v = 0;
      unsigned bit = row * w;
      for (unsigned got = 0; got < w;) {
        unsigned word = bit / tb, sh = bit % tb, take = tb - sh;
        if (take > w - got) take = w - got;
        const uint8_t *wp = words + ((size_t)word * lanes + lane) * T;
        uint64_t x = 0;
        for (unsigned b = 0; b < T; b++) x |= (uint64_t)wp[b] << (8 * b);
        x >>= sh;
        if (take < 64) x &= (((uint64_t)1) << take) - 1;
        v |= x << got;
        got += take;
        bit += take;
      }
      unsigned idx = order[row / 8] * 16 + (row % 8) * 128 + lane;
      for (unsigned b = 0; b < T; b++) out[(size_t)idx * T + b] = (uint8_t)(v >> (8 * b));
    }
  }
}

static mw_status ce_decode(dctx *d, const uint8_t *enc, size_t enc_n, const vbufs *bufs, uint64_t n, mw_lv *v,
                           const mw_lv *dict, int depth);

/* v21: Flat of encodings21 (field 2 = buffer compression); else 2.0's */
static mw_status flat_decode(dctx *d, const uint8_t *m, size_t mn, span b, uint64_t n, mw_lv *v, bool v21) {
  uint64_t bits = pb_u64(m, mn, 1);
  const uint8_t *comp;
  size_t comp_n;
  if (v21 && pb_msg(m, mn, 2, &comp, &comp_n) && pb_u64(comp, comp_n, 1) != 0)
    return unsupported(d, "flat with buffer compression");
  if (v->kind == MW_LV_BOOL) {
    if (bits != 1) return corrupt(d, b.pos, "flat of %llu bits for a boolean column", (unsigned long long)bits);
    if (b.n < (n + 7) / 8) return corrupt(d, b.pos, "flat buffer of %zu bytes for %llu booleans", b.n, (unsigned long long)n);
    bits_append(&v->data, v->n, b.p, 0, n);
    v->n += n;
    return MW_OK;
  }
  if (v->kind != MW_LV_FIXED || bits != (uint64_t)v->width * 8)
    return corrupt(d, b.pos, "flat of %llu bits does not match the column's %u-byte values", (unsigned long long)bits,
                   v->width);
  if (n > b.n / (v->width ? v->width : 1) || (v->width == 0 && n))
    return corrupt(d, b.pos, "flat buffer of %zu bytes for %llu values of %u bytes", b.n, (unsigned long long)n,
                   v->width);
  mw_buf_append(&v->data, b.p, (size_t)(n * v->width));
  v->n += n;
  return MW_OK;
}

static mw_status variable_decode(dctx *d, const uint8_t *m, size_t mn, span b, uint64_t n, mw_lv *v, bool block) {
  if (v->kind != MW_LV_VAR) return corrupt(d, b.pos, "variable-width values in a fixed-width column");
  const uint8_t *oe, *fl;
  size_t oe_n, fl_n;
  const uint8_t *comp;
  size_t comp_n;
  if (pb_msg(m, mn, 2, &comp, &comp_n) && pb_u64(comp, comp_n, 1) != 0)
    return unsupported(d, "variable with buffer compression");
  uint32_t which;
  if (!pb_msg(m, mn, 1, &oe, &oe_n)) return corrupt(d, b.pos, "variable encoding without offsets");
  MW_TRY(pb_oneof(d, oe, oe_n, &which, &fl, &fl_n, b.pos, "offsets encoding"));
  if (which != 1) return unsupported(d, "variable with non-flat offsets");
  uint64_t ob = pb_u64(fl, fl_n, 1);
  if (ob != 32 && ob != 64) return corrupt(d, b.pos, "variable offsets of %llu bits", (unsigned long long)ob);
  unsigned w = (unsigned)(ob / 8);
  if (block) {
    /* [bits per offset][start of the bytes][offsets from 0][bytes], the two
     * header words as wide as an offset */
    if (b.n < 2 * (size_t)w || (w == 4 ? mw_load_u32le(b.p) : mw_load_u64le(b.p)) != ob)
      return corrupt(d, b.pos, "variable block without its header");
    uint64_t bs = w == 4 ? mw_load_u32le(b.p + 4) : mw_load_u64le(b.p + 8);
    if (n + 1 > (b.n - 2 * w) / w || bs < 2 * w + (n + 1) * w || bs > b.n)
      return corrupt(d, b.pos, "variable block of %zu bytes cannot hold %llu offsets", b.n, (unsigned long long)(n + 1));
    const uint8_t *op = b.p + 2 * w, *data = b.p + bs;
    uint64_t dn = b.n - bs, prev = w == 4 ? mw_load_u32le(op) : mw_load_u64le(op);
    if (prev > dn) return corrupt(d, b.pos, "variable block first offset %llu past the data", (unsigned long long)prev);
    lv_start_var(v);
    for (uint64_t i = 0; i < n; i++) {
      uint64_t o = w == 4 ? mw_load_u32le(op + (i + 1) * w) : mw_load_u64le(op + (i + 1) * w);
      if (o < prev || o > dn)
        return corrupt(d, b.pos + 2 * w + (i + 1) * w, "variable offset %llu of value %llu out of range", (unsigned long long)o,
                       (unsigned long long)i);
      var_append(v, data + prev, o - prev);
      prev = o;
    }
    return MW_OK;
  }
  if (n + 1 > b.n / w) return corrupt(d, b.pos, "variable buffer of %zu bytes cannot hold %llu offsets", b.n,
                                      (unsigned long long)(n + 1));
  uint64_t prev = w == 4 ? mw_load_u32le(b.p) : mw_load_u64le(b.p);
  if (prev < (n + 1) * w || prev > b.n) return corrupt(d, b.pos, "variable first offset %llu out of range", (unsigned long long)prev);
  lv_start_var(v);
  for (uint64_t i = 0; i < n; i++) {
    const uint8_t *op = b.p + (i + 1) * w;
    uint64_t o = w == 4 ? mw_load_u32le(op) : mw_load_u64le(op);
    if (o < prev || o > b.n)
      return corrupt(d, b.pos + (i + 1) * w, "variable offset %llu of value %llu out of range [%llu, %zu]",
                     (unsigned long long)o, (unsigned long long)i, (unsigned long long)prev, b.n);
    var_append(v, b.p + prev, o - prev);
    prev = o;
  }
  return MW_OK;
}

static mw_status inline_bp_decode(dctx *d, const uint8_t *m, size_t mn, span b, uint64_t n, mw_lv *v) {
  uint64_t ub = pb_u64(m, mn, 1);
  const uint8_t *comp;
  size_t comp_n;
  if (pb_msg(m, mn, 2, &comp, &comp_n) && pb_u64(comp, comp_n, 1) != 0)
    return unsupported(d, "inline_bitpacking with buffer compression");
  if (ub != 8 && ub != 16 && ub != 32 && ub != 64) return corrupt(d, b.pos, "inline bitpacking of %llu-bit values", (unsigned long long)ub);
  if (v->kind != MW_LV_FIXED || v->width != ub / 8)
    return corrupt(d, b.pos, "inline bitpacking of %llu bits in a column of %u-byte values", (unsigned long long)ub, v->width);
  unsigned T = (unsigned)(ub / 8);
  uint8_t *tmp = malloc((size_t)1024 * T);
  if (!tmp) return nomem(d);
  size_t at = 0;
  while (n > 0) {
    uint64_t k = n < 1024 ? n : 1024;
    if (b.n - at < T) {
      free(tmp);
      return corrupt(d, b.pos + at, "inline bitpacking chunk truncated (no bit width)");
    }
    uint64_t w = 0;
    for (unsigned i = 0; i < T; i++) w |= (uint64_t)b.p[at + i] << (8 * i);
    at += T;
    if (w > ub) {
      free(tmp);
      return corrupt(d, b.pos + at - T, "inline bitpacking bit width %llu above %llu", (unsigned long long)w, (unsigned long long)ub);
    }
    size_t packed = (size_t)(1024 * w / 8);
    if (b.n - at < packed) {
      free(tmp);
      return corrupt(d, b.pos + at, "inline bitpacking chunk of width %llu needs %zu bytes, %zu left", (unsigned long long)w,
                     packed, b.n - at);
    }
    if (w == 0) memset(tmp, 0, (size_t)1024 * T);
    else fl_unpack(tmp, b.p + at, T, (unsigned)w);
    at += packed;
    mw_buf_append(&v->data, tmp, (size_t)(k * T));
    v->n += k;
    n -= k;
  }
  free(tmp);
  return MW_OK;
}

/* out-of-line bitpacking: chunks of 1024 values packed at a fixed width
 * (FastLanes layout, ceil(1024 * w / T) words of T each); the last partial
 * chunk either packed whole or stored raw (told apart by the size) */
static mw_status ool_bp_decode(dctx *d, const uint8_t *m, size_t mn, span b, uint64_t n, mw_lv *v) {
  uint64_t ub = pb_u64(m, mn, 1);
  const uint8_t *ve, *vm;
  size_t ven, vmn;
  uint32_t vw;
  if (!pb_msg(m, mn, 3, &ve, &ven)) return corrupt(d, b.pos, "out-of-line bitpacking without values");
  MW_TRY(pb_oneof(d, ve, ven, &vw, &vm, &vmn, b.pos, "bitpacked values"));
  if (vw != 1) return unsupported(d, "out_of_line_bitpacking of compressed values");
  uint64_t w = pb_u64(vm, vmn, 1);
  if (ub != 8 && ub != 16 && ub != 32 && ub != 64) return corrupt(d, b.pos, "bitpacking of %llu-bit values", (unsigned long long)ub);
  if (v->kind != MW_LV_FIXED || v->width != ub / 8 || v->dim)
    return corrupt(d, b.pos, "bitpacking of %llu bits in a column of %u-byte values", (unsigned long long)ub, v->width);
  if (w > ub) return corrupt(d, b.pos, "bit width %llu above %llu", (unsigned long long)w, (unsigned long long)ub);
  unsigned T = (unsigned)(ub / 8);
  uint64_t wpc = (1024 * w + ub - 1) / ub; /* words per chunk */
  uint64_t whole = n / 1024, tail = n % 1024, words = b.n / T;
  bool raw_tail = tail && words == whole * wpc + tail;
  uint64_t need = whole * wpc + (tail ? (raw_tail ? tail : wpc) : 0);
  if (words < need) return corrupt(d, b.pos, "bitpacked buffer of %zu bytes for %llu values at width %llu", b.n,
                                   (unsigned long long)n, (unsigned long long)w);
  uint8_t *tmp = malloc((size_t)1024 * T);
  if (!tmp) return nomem(d);
  for (uint64_t c = 0; c < whole + (tail ? 1 : 0); c++) {
    uint64_t k = c < whole ? 1024 : tail;
    const uint8_t *src = b.p + c * wpc * T;
    if (c == whole && raw_tail) {
      mw_buf_append(&v->data, src, (size_t)(k * T));
      continue;
    }
    if (w == 0) memset(tmp, 0, (size_t)1024 * T);
    else fl_unpack(tmp, src, T, (unsigned)w);
    mw_buf_append(&v->data, tmp, (size_t)(k * T));
  }
  free(tmp);
  v->n += n;
  return MW_OK;
}

/* general compression of buffer 0 (LZ4 block with a u32 size prefix, or
 * zstd: a u64 size prefix or a bare frame), then the inner encoding */
static mw_status general_decode(dctx *d, const uint8_t *m, size_t mn, const vbufs *bufs, uint64_t n, mw_lv *v,
                                const mw_lv *dict, int depth) {
  span b = bufs->b[0];
  const uint8_t *cm, *inner;
  size_t cmn, inner_n;
  if (!pb_msg(m, mn, 3, &inner, &inner_n)) return corrupt(d, b.pos, "general encoding without values");
  pb_msg(m, mn, 1, &cm, &cmn);
  uint64_t scheme = cm ? pb_u64(cm, cmn, 1) : 0;
  uint8_t *out = NULL;
  size_t out_n = 0;
  if (scheme == 1) {
    if (b.n < 4) return corrupt(d, b.pos, "lz4 buffer of %zu bytes", b.n);
    uint32_t sz = mw_load_u32le(b.p);
    if (sz > (1u << 30) || b.n - 4 > INT32_MAX) return corrupt(d, b.pos, "lz4 size %u too large", sz);
    out = malloc(sz ? sz : 1);
    if (!out) return nomem(d);
    int got = LZ4_decompress_safe((const char *)b.p + 4, (char *)out, (int)(b.n - 4), (int)sz);
    if (got < 0 || (uint32_t)got != sz) {
      free(out);
      return corrupt(d, b.pos, "lz4 block does not decompress to %u bytes", sz);
    }
    out_n = sz;
  } else if (scheme == 2) {
    const uint8_t *src = b.p;
    size_t sn = b.n;
    unsigned long long sz;
    if (sn >= 4 && mw_load_u32le(src) == 0xFD2FB528u && (sn < 5 || !(src[4] & 0x10))) {
      sz = ZSTD_getFrameContentSize(src, sn);
    } else {
      if (sn < 8) return corrupt(d, b.pos, "zstd buffer of %zu bytes", sn);
      sz = mw_load_u64le(src);
      src += 8;
      sn -= 8;
    }
    if (sz > (1ull << 30)) return corrupt(d, b.pos, "zstd size unknown or too large");
    out = malloc(sz ? (size_t)sz : 1);
    if (!out) return nomem(d);
    size_t got = ZSTD_decompress(out, (size_t)sz, src, sn);
    if (ZSTD_isError(got) || got != sz) {
      free(out);
      return corrupt(d, b.pos, "zstd data does not decompress to %llu bytes", sz);
    }
    out_n = (size_t)sz;
  } else {
    return unsupported(d, "general with an unknown compression scheme");
  }
  vbufs nb = *bufs;
  nb.b[0] = (span){out, out_n, b.pos};
  mw_status s = ce_decode(d, inner, inner_n, &nb, n, v, dict, depth + 1);
  free(out);
  return s;
}

static mw_status constant_decode(dctx *d, const uint8_t *m, size_t mn, uint64_t n, mw_lv *v, uint64_t pos) {
  mw_pb_field f = {0};
  if (!pb_get(m, mn, 1, &f) || f.wire_type != 2) {
    lv_pad(v, n);
    return MW_OK;
  }
  if (v->kind == MW_LV_VAR) {
    for (uint64_t i = 0; i < n; i++) var_append(v, f.data, f.len);
  } else if (v->kind == MW_LV_BOOL) {
    if (f.len < 1) return corrupt(d, pos, "constant boolean without a value");
    bits_fill(&v->data, v->n, n, f.data[0] & 1);
    v->n += n;
  } else {
    if (f.len != v->width) return corrupt(d, pos, "constant of %zu bytes for %u-byte values", f.len, v->width);
    for (uint64_t i = 0; i < n; i++) mw_buf_append(&v->data, f.data, f.len);
    v->n += n;
  }
  return MW_OK;
}

/* FSST symbol table (Lance's export): u64 LE info ("FSST" in the top 32
 * bits, bit 24 = compression on, low byte = symbol count), the symbols as 8
 * bytes each, then one length byte per symbol. */
typedef struct fsst_table {
  bool on;
  unsigned n;
  uint8_t sym[255][8];
  uint8_t len[255];
} fsst_table;

static mw_status fsst_table_read(dctx *d, fsst_table *t, const uint8_t *p, size_t n, uint64_t pos) {
  if (n < 8) return corrupt(d, pos, "fsst symbol table of %zu bytes", n);
  uint64_t info = mw_load_u64le(p);
  if ((info >> 32) != 0x46535354u) return corrupt(d, pos, "fsst symbol table without its magic");
  t->on = (info >> 24) & 1;
  t->n = (unsigned)(info & 255);
  if (t->n > 255 || n < 8 + (size_t)t->n * 9) return corrupt(d, pos, "fsst symbol table of %zu bytes for %u symbols", n, t->n);
  for (unsigned i = 0; i < t->n; i++) {
    memcpy(t->sym[i], p + 8 + 8 * i, 8);
    t->len[i] = p[8 + 8 * t->n + i];
    if (t->len[i] < 1 || t->len[i] > 8) return corrupt(d, pos, "fsst symbol %u of length %u", i, t->len[i]);
  }
  return MW_OK;
}

/* one compressed string: code 255 escapes the next byte, other codes are
 * symbols */
static mw_status fsst_expand(dctx *d, const fsst_table *t, const uint8_t *in, size_t n, mw_buf *out, uint64_t pos) {
  if (!t->on) {
    mw_buf_append(out, in, n);
    return MW_OK;
  }
  for (size_t i = 0; i < n; i++) {
    uint8_t c = in[i];
    if (c == 255) {
      if (i + 1 >= n) return corrupt(d, pos, "fsst escape at the end of a string");
      mw_buf_u8(out, in[++i]);
    } else if (c < t->n) {
      mw_buf_append(out, t->sym[c], t->len[c]);
    } else {
      return corrupt(d, pos, "fsst code %u of a table with %u symbols", c, t->n);
    }
  }
  return out->failed ? nomem(d) : MW_OK;
}

static mw_status fsst_decode(dctx *d, const uint8_t *m, size_t mn, const vbufs *bufs, uint64_t n, mw_lv *v, int depth) {
  uint64_t pos = bufs->n ? bufs->b[0].pos : d->c->meta_pos;
  if (v->kind != MW_LV_VAR) return corrupt(d, pos, "fsst in a fixed-width column");
  mw_pb_field st = {0};
  const uint8_t *inner;
  size_t inner_n;
  if (!pb_get(m, mn, 1, &st) || st.wire_type != 2) return corrupt(d, pos, "fsst without a symbol table");
  if (!pb_msg(m, mn, 2, &inner, &inner_n)) return corrupt(d, pos, "fsst without values");
  fsst_table *t = malloc(sizeof *t);
  if (!t) return nomem(d);
  mw_status s = fsst_table_read(d, t, st.data, st.len, d->c->meta_pos);
  mw_lv c;
  mw_lv_init(&c, MW_LV_VAR, 0, 0);
  if (s == MW_OK) s = ce_decode(d, inner, inner_n, bufs, n, &c, NULL, depth + 1);
  lv_start_var(v);
  for (uint64_t i = 0; s == MW_OK && i < c.n; i++) {
    uint64_t a = mw_load_u64le(c.offs.data + 8 * i), b = mw_load_u64le(c.offs.data + 8 * (i + 1));
    s = fsst_expand(d, t, c.data.data + a, (size_t)(b - a), &v->data, pos);
    mw_buf_u64le(&v->offs, v->data.len);
    v->n++;
  }
  mw_lv_free(&c);
  free(t);
  return s;
}

/* RLE: run values (flat of the value width) and u8/u16/u32 run lengths;
 * in a mini-block two buffers, as a block (levels) one buffer framed as
 * u64 values size, values, run lengths. Runs past n are an error. */
static mw_status rle_decode(dctx *d, const uint8_t *m, size_t mn, const vbufs *bufs, uint64_t n, mw_lv *v) {
  uint64_t pos = bufs->b[0].pos;
  const uint8_t *ve, *le, *vm, *lm;
  size_t ven, len_, vmn, lmn;
  uint32_t vw, lw;
  if (!pb_msg(m, mn, 1, &ve, &ven) || !pb_msg(m, mn, 2, &le, &len_)) return corrupt(d, pos, "rle without values or run lengths");
  MW_TRY(pb_oneof(d, ve, ven, &vw, &vm, &vmn, pos, "rle values"));
  MW_TRY(pb_oneof(d, le, len_, &lw, &lm, &lmn, pos, "rle run lengths"));
  if (vw != 1 || lw != 1) return unsupported(d, "rle with compressed values or run lengths");
  uint64_t vbits = pb_u64(vm, vmn, 1), lbits = pb_u64(lm, lmn, 1);
  if (v->kind != MW_LV_FIXED || vbits != (uint64_t)v->width * 8 || v->dim)
    return corrupt(d, pos, "rle of %llu-bit values in a column of %u-byte values", (unsigned long long)vbits, v->width);
  if (lbits != 8 && lbits != 16 && lbits != 32) return corrupt(d, pos, "rle run lengths of %llu bits", (unsigned long long)lbits);
  span vals, lens;
  if (!bufs->block) {
    if (bufs->n < 2) return corrupt(d, pos, "rle without a run-length buffer");
    vals = bufs->b[0];
    lens = bufs->b[1];
  } else {
    span b = bufs->b[0];
    if (b.n < 8) return corrupt(d, b.pos, "rle block of %zu bytes", b.n);
    uint64_t vs = mw_load_u64le(b.p);
    if (vs > b.n - 8) return corrupt(d, b.pos, "rle values size %llu past the %zu-byte block", (unsigned long long)vs, b.n);
    vals = (span){b.p + 8, (size_t)vs, b.pos + 8};
    lens = (span){b.p + 8 + vs, b.n - 8 - (size_t)vs, b.pos + 8 + vs};
  }
  unsigned w = v->width, lb = (unsigned)(lbits / 8);
  if (vals.n % w || lens.n % lb || vals.n / w != lens.n / lb)
    return corrupt(d, vals.pos, "rle with %zu value bytes and %zu run-length bytes", vals.n, lens.n);
  uint64_t runs = vals.n / w, got = 0;
  for (uint64_t r = 0; r < runs && got < n; r++) {
    uint64_t len = lb == 1 ? lens.p[r] : lb == 2 ? mw_load_u16le(lens.p + 2 * r) : mw_load_u32le(lens.p + 4 * r);
    if (len > n - got) len = n - got;
    for (uint64_t k = 0; k < len; k++) mw_buf_append(&v->data, vals.p + r * w, w);
    got += len;
    if (v->data.failed) return nomem(d);
  }
  if (got != n) return corrupt(d, vals.pos, "rle runs hold %llu values, expected %llu", (unsigned long long)got, (unsigned long long)n);
  v->n += n;
  return MW_OK;
}

/* dictionary lookup: indices decoded as integers of any width, then the
 * values copied from the decoded dictionary */
static mw_status dict_lookup(dctx *d, const mw_lv *idx, const mw_lv *dict, mw_lv *v, uint64_t pos) {
  for (uint64_t i = 0; i < idx->n; i++) {
    uint64_t k = 0;
    for (unsigned b = 0; b < idx->width; b++) k |= (uint64_t)idx->data.data[i * idx->width + b] << (8 * b);
    if (k >= dict->n)
      return corrupt(d, pos, "dictionary index %llu of value %llu past the %llu dictionary items", (unsigned long long)k,
                     (unsigned long long)i, (unsigned long long)dict->n);
    switch (v->kind) {
      case MW_LV_FIXED: mw_buf_append(&v->data, dict->data.data + k * v->width, v->width); v->n++; break;
      case MW_LV_BOOL: bits_append(&v->data, v->n, dict->data.data, k, 1); v->n++; break;
      case MW_LV_VAR: {
        uint64_t s = mw_load_u64le(dict->offs.data + 8 * k), e = mw_load_u64le(dict->offs.data + 8 * (k + 1));
        var_append(v, dict->data.data + s, e - s);
        break;
      }
    }
  }
  return MW_OK;
}

static mw_status ce_decode(dctx *d, const uint8_t *enc, size_t enc_n, const vbufs *bufs, uint64_t n, mw_lv *v,
                           const mw_lv *dict, int depth) {
  uint64_t pos = bufs->n ? bufs->b[0].pos : d->c->meta_pos;
  if (depth > MAX_ENC_DEPTH) return corrupt(d, pos, "encoding nested too deeply");
  uint32_t which;
  const uint8_t *m;
  size_t mn;
  MW_TRY(pb_oneof(d, enc, enc_n, &which, &m, &mn, d->c->meta_pos, "CompressiveEncoding"));
  if (which != 3 && which != 7 && which != 11 && bufs->n < 1)
    return corrupt(d, pos, "%s encoding without a value buffer", ce_name(which));
  switch (which) {
    case 1: MW_TRY(flat_decode(d, m, mn, bufs->b[0], n, v, true)); break;
    case 2: MW_TRY(variable_decode(d, m, mn, bufs->b[0], n, v, bufs->block)); break;
    case 3: MW_TRY(constant_decode(d, m, mn, n, v, pos)); break;
    case 5: MW_TRY(inline_bp_decode(d, m, mn, bufs->b[0], n, v)); break;
    case 8: MW_TRY(rle_decode(d, m, mn, bufs, n, v)); break;
    case 6: MW_TRY(fsst_decode(d, m, mn, bufs, n, v, depth)); break;
    case 4: MW_TRY(ool_bp_decode(d, m, mn, bufs->b[0], n, v)); break;
    case 10: MW_TRY(general_decode(d, m, mn, bufs, n, v, dict, depth)); break;
    case 11: {
      uint64_t dim = pb_u64(m, mn, 1);
      bool hv = pb_u64(m, mn, 3) != 0;
      if (v->kind != MW_LV_FIXED || dim == 0 || dim != v->dim)
        return corrupt(d, pos, "fixed_size_list of %llu items does not match the column", (unsigned long long)dim);
      if (n > UINT64_MAX / dim) return corrupt(d, pos, "fixed_size_list item count overflows");
      const uint8_t *inner;
      size_t inner_n;
      if (!pb_msg(m, mn, 2, &inner, &inner_n)) return corrupt(d, pos, "fixed_size_list without values");
      vbufs ib = *bufs;
      if (hv) { /* item validity in the first buffer, then the values */
        if (bufs->n < 2 || bufs->b[0].n < (n * dim + 7) / 8)
          return corrupt(d, pos, "fixed_size_list item validity missing or short");
        lv_item_valid(v, v->n * dim, bufs->b[0].p, 0, n * dim);
        for (int i = 1; i < bufs->n; i++) ib.b[i - 1] = bufs->b[i];
        ib.n = bufs->n - 1;
      }
      mw_lv items;
      mw_lv_init(&items, MW_LV_FIXED, v->width / v->dim, 0);
      items.data = v->data; /* items are appended straight to the values */
      mw_status s = ce_decode(d, inner, inner_n, &ib, n * dim, &items, NULL, depth + 1);
      v->data = items.data;
      if (s != MW_OK) return s;
      v->n += n;
      break;
    }
    case 7: {
      if (!dict) return corrupt(d, pos, "dictionary-encoded values in a page without a dictionary");
      const uint8_t *ie;
      size_t ie_n;
      if (!pb_msg(m, mn, 1, &ie, &ie_n)) return corrupt(d, pos, "dictionary encoding without indices");
      /* the indices' width is what their encoding says: try widths */
      uint32_t iw;
      const uint8_t *im;
      size_t imn;
      MW_TRY(pb_oneof(d, ie, ie_n, &iw, &im, &imn, pos, "dictionary indices"));
      uint64_t bits = iw == 1 ? pb_u64(im, imn, 1) : iw == 5 ? pb_u64(im, imn, 1) : 0;
      if (bits != 8 && bits != 16 && bits != 32 && bits != 64) return unsupported(d, "dictionary with these indices");
      mw_lv idx;
      mw_lv_init(&idx, MW_LV_FIXED, (uint32_t)(bits / 8), 0);
      mw_status s = ce_decode(d, ie, ie_n, bufs, n, &idx, NULL, depth + 1);
      if (s == MW_OK && !lv_ok(&idx)) s = nomem(d);
      if (s == MW_OK) s = dict_lookup(d, &idx, dict, v, pos);
      mw_lv_free(&idx);
      if (s != MW_OK) return s;
      break;
    }
    default: return unsupported(d, ce_name(which));
  }
  return lv_ok(v) ? MW_OK : nomem(d);
}

/* ---- 2.1 mini-block page ---- */

static mw_status levels_to_u16(dctx *d, const uint8_t *enc, size_t enc_n, span b, uint64_t n, uint16_t *out) {
  mw_lv lv;
  mw_lv_init(&lv, MW_LV_FIXED, 2, 0);
  vbufs vb = {.b = {b}, .n = 1, .block = true};
  mw_status s = ce_decode(d, enc, enc_n, &vb, n, &lv, NULL, 0);
  if (s == MW_OK && lv.n != n) s = corrupt(d, b.pos, "level buffer holds %llu levels, expected %llu", (unsigned long long)lv.n, (unsigned long long)n);
  if (s == MW_OK)
    for (uint64_t i = 0; i < n; i++) out[i] = mw_load_u16le(lv.data.data + 2 * i);
  mw_lv_free(&lv);
  return s;
}

static mw_status get_layers(dctx *d, mw_lance_page *out, const uint8_t *m, size_t mn, uint32_t field, uint64_t pos) {
  mw_pb_field f = {0};
  out->n_layers = 0;
  size_t p = 0;
  while (p < mn && mw_pb_next(m, mn, &p, &f)) {
    if (f.field != field) continue;
    if (f.wire_type == 0) {
      if (out->n_layers >= 16) return unsupported(d, "more than 16 rep/def layers");
      out->layers[out->n_layers++] = (uint8_t)(f.val > 255 ? 255 : f.val);
    } else if (f.wire_type == 2) {
      size_t q = 0;
      while (q < f.len) {
        uint64_t x;
        if (!mw_pb_read_varint(f.data, f.len, &q, &x)) return corrupt(d, pos, "malformed layers");
        if (out->n_layers >= 16) return unsupported(d, "more than 16 rep/def layers");
        out->layers[out->n_layers++] = (uint8_t)(x > 255 ? 255 : x);
      }
    }
  }
  for (int i = 0; i < out->n_layers; i++)
    if (out->layers[i] < 1 || out->layers[i] > 6) return corrupt(d, pos, "unknown rep/def layer %u", out->layers[i]);
  if (out->n_layers == 0) return corrupt(d, pos, "page without rep/def layers");
  return MW_OK;
}

static mw_status levels_grow(dctx *d, mw_lance_page *out, bool rep, bool def, uint64_t *cap, uint64_t need) {
  if (need <= *cap) return MW_OK;
  uint64_t nc = *cap ? *cap * 2 : 1024;
  while (nc < need) nc *= 2;
  if (nc > SIZE_MAX / 2) return nomem(d);
  if (rep) {
    uint16_t *r = realloc(out->rep, (size_t)nc * 2);
    if (!r) return nomem(d);
    out->rep = r;
  }
  if (def) {
    uint16_t *r = realloc(out->def, (size_t)nc * 2);
    if (!r) return nomem(d);
    out->def = r;
  }
  *cap = nc;
  return MW_OK;
}

static mw_status decode_dictionary(dctx *d, const uint8_t *m, size_t mn, const mw_lance_page_bufs *bufs, mw_lv *dict,
                                   const mw_lv *shape) {
  const uint8_t *de;
  size_t de_n;
  if (!pb_msg(m, mn, 4, &de, &de_n)) return MW_OK;
  if (bufs->n < 3) return corrupt(d, d->c->meta_pos, "dictionary page without a dictionary buffer");
  uint64_t items = pb_u64(m, mn, 5);
  mw_lv_init(dict, shape->kind, shape->width, shape->dim);
  vbufs vb = {.b = {{bufs->ptr[2], (size_t)bufs->len[2], bufs->pos[2]}}, .n = 1, .block = true};
  MW_TRY(ce_decode(d, de, de_n, &vb, items, dict, NULL, 0));
  return MW_OK;
}

static mw_status miniblock_decode(dctx *d, mw_lance_page *out, const uint8_t *m, size_t mn,
                                  const mw_lance_page_bufs *bufs, uint64_t rows) {
  uint64_t mpos = d->c->meta_pos;
  const uint8_t *rep_e = NULL, *def_e = NULL, *val_e = NULL;
  size_t rep_n = 0, def_n = 0, val_n = 0;
  bool has_rep = pb_msg(m, mn, 1, &rep_e, &rep_n);
  bool has_def = pb_msg(m, mn, 2, &def_e, &def_n);
  if (!pb_msg(m, mn, 3, &val_e, &val_n)) return corrupt(d, mpos, "mini-block layout without value compression");
  MW_TRY(get_layers(d, out, m, mn, 6, mpos));
  uint64_t nbuf = pb_u64(m, mn, 7), num_items = pb_u64(m, mn, 9);
  bool large = pb_u64(m, mn, 10) != 0;
  if (nbuf < 1 || nbuf > 8) return corrupt(d, mpos, "mini-block layout with %llu buffers", (unsigned long long)nbuf);
  /* without lists every row is one item; lists: a sanity cap (every item
   * costs memory to decode, a hostile page must not claim billions) */
  if (!has_rep && num_items != rows)
    return corrupt(d, mpos, "mini-block page of %llu rows holds %llu items", (unsigned long long)rows, (unsigned long long)num_items);
  if (num_items > MAX_PAGE_ITEMS)
    return corrupt(d, mpos, "mini-block page claims %llu items", (unsigned long long)num_items);
  if (bufs->n < 2) return corrupt(d, mpos, "mini-block page with %d buffers", bufs->n);
  mw_lv dict;
  memset(&dict, 0, sizeof dict);
  mw_status s = decode_dictionary(d, m, mn, bufs, &dict, &out->v);
  const uint8_t *dummy;
  size_t dummy_n;
  bool has_dict = s == MW_OK && pb_msg(m, mn, 4, &dummy, &dummy_n);
  /* with a dictionary the chunks hold indices, as wide as their encoding says */
  uint32_t idx_bits = 0;
  if (s == MW_OK && has_dict) {
    uint32_t iw;
    const uint8_t *im;
    size_t imn;
    s = pb_oneof(d, val_e, val_n, &iw, &im, &imn, mpos, "dictionary indices");
    if (s == MW_OK) idx_bits = (iw == 1 || iw == 5) ? (uint32_t)pb_u64(im, imn, 1) : 0;
    if (s == MW_OK && idx_bits != 8 && idx_bits != 16 && idx_bits != 32 && idx_bits != 64)
      s = unsupported(d, "dictionary with these indices");
  }
  span meta = {bufs->ptr[0], (size_t)bufs->len[0], bufs->pos[0]};
  span data = {bufs->ptr[1], (size_t)bufs->len[1], bufs->pos[1]};
  size_t mw_ = large ? 4 : 2, sw = large ? 4 : 2;
  if (meta.n % mw_) s = s != MW_OK ? s : corrupt(d, meta.pos, "chunk metadata of %zu bytes", meta.n);
  uint64_t nchunks = meta.n / mw_, items_seen = 0, lev_cap = 0;
  size_t at = 0;
  for (uint64_t ci = 0; s == MW_OK && ci < nchunks; ci++) {
    uint32_t w = large ? mw_load_u32le(meta.p + ci * 4) : mw_load_u16le(meta.p + ci * 2);
    uint64_t cbytes = ((uint64_t)(w >> 4) + 1) * 8, log = w & 15;
    uint64_t k = ci + 1 == nchunks ? num_items - items_seen : (uint64_t)1 << log;
    if (items_seen > num_items || (ci + 1 < nchunks && k > num_items - items_seen)) {
      s = corrupt(d, meta.pos + ci * mw_, "chunk %llu holds more than the page's %llu items", (unsigned long long)ci,
                  (unsigned long long)num_items);
      break;
    }
    if (cbytes > data.n - at) {
      s = corrupt(d, data.pos + at, "chunk %llu of %llu bytes runs past the %zu-byte chunk buffer", (unsigned long long)ci,
                  (unsigned long long)cbytes, data.n);
      break;
    }
    span c = {data.p + at, (size_t)cbytes, data.pos + at};
    size_t hdr = 2 + (has_rep ? 2 : 0) + (has_def ? 2 : 0) + (size_t)nbuf * sw;
    if (hdr > c.n) {
      s = corrupt(d, c.pos, "chunk header of %zu bytes in a %zu-byte chunk", hdr, c.n);
      break;
    }
    size_t h = 0;
    uint64_t nl = mw_load_u16le(c.p);
    h += 2;
    uint64_t rsz = 0, dsz = 0, vsz[8];
    if (has_rep) { rsz = mw_load_u16le(c.p + h); h += 2; }
    if (has_def) { dsz = mw_load_u16le(c.p + h); h += 2; }
    for (uint64_t b = 0; b < nbuf; b++) {
      vsz[b] = large ? mw_load_u32le(c.p + h) : mw_load_u16le(c.p + h);
      h += sw;
    }
    size_t q = (hdr + 7) / 8 * 8;
    span rs = {0}, ds = {0};
    vbufs vb = {.n = (int)nbuf};
    uint64_t sizes[10] = {rsz, dsz};
    for (uint64_t b = 0; b < nbuf; b++) sizes[2 + b] = vsz[b];
    for (int b = 0; b < 2 + (int)nbuf; b++) {
      if ((b == 0 && !has_rep) || (b == 1 && !has_def)) continue;
      if (sizes[b] > c.n - q || q > c.n) {
        s = corrupt(d, c.pos + q, "chunk %llu buffer of %llu bytes runs past the chunk end", (unsigned long long)ci,
                    (unsigned long long)sizes[b]);
        break;
      }
      span sp = {c.p + q, (size_t)sizes[b], c.pos + q};
      if (b == 0) rs = sp;
      else if (b == 1) ds = sp;
      else vb.b[b - 2] = sp;
      q += (size_t)sizes[b];
      q = (q + 7) / 8 * 8;
      if (q > c.n) q = c.n;
    }
    if (s != MW_OK) break;
    if ((has_rep || has_def) && nl < k) {
      s = corrupt(d, c.pos, "chunk %llu has %llu items and no levels", (unsigned long long)ci, (unsigned long long)k);
      break;
    }
    if (has_rep || has_def) {
      s = levels_grow(d, out, true, true, &lev_cap, out->n_levels + nl);
      if (s != MW_OK) break;
      if (has_rep) s = levels_to_u16(d, rep_e, rep_n, rs, nl, out->rep + out->n_levels);
      else memset(out->rep + out->n_levels, 0, (size_t)nl * 2);
      if (s == MW_OK && has_def) s = levels_to_u16(d, def_e, def_n, ds, nl, out->def + out->n_levels);
      else if (s == MW_OK) memset(out->def + out->n_levels, 0, (size_t)nl * 2);
      if (s != MW_OK) break;
      out->n_levels += nl;
    }
    if (has_dict) {
      mw_lv idx;
      mw_lv_init(&idx, MW_LV_FIXED, idx_bits / 8, 0);
      s = ce_decode(d, val_e, val_n, &vb, k, &idx, NULL, 0);
      if (s == MW_OK) s = dict_lookup(d, &idx, &dict, &out->v, c.pos);
      mw_lv_free(&idx);
    } else {
      s = ce_decode(d, val_e, val_n, &vb, k, &out->v, NULL, 0);
    }
    items_seen += k;
    at += (size_t)cbytes;
  }
  if (s == MW_OK && items_seen != num_items)
    s = corrupt(d, meta.pos, "chunks hold %llu items, the page %llu", (unsigned long long)items_seen, (unsigned long long)num_items);
  if (s == MW_OK && out->v.n != num_items)
    s = corrupt(d, data.pos, "decoded %llu values, the page has %llu items", (unsigned long long)out->v.n, (unsigned long long)num_items);
  if (!has_rep) {
    free(out->rep);
    out->rep = NULL;
  }
  if (!has_def) {
    free(out->def);
    out->def = NULL;
  }
  if (has_dict) mw_lv_free(&dict);
  return s;
}

/* all_null_layout / constant layout: every item null unless the layout
 * carries an inline value (field 6) */
static mw_status constant_layout(dctx *d, mw_lance_page *out, const uint8_t *m, size_t mn,
                                const mw_lance_page_bufs *bufs, uint64_t rows) {
  MW_TRY(get_layers(d, out, m, mn, 5, d->c->meta_pos));
  for (int i = 0; i < out->n_layers; i++)
    if (out->layers[i] == 2 || out->layers[i] >= 4) return unsupported(d, "constant layout of list columns");
  mw_pb_field f = {0};
  if (pb_get(m, mn, 7, &f) || pb_get(m, mn, 8, &f)) return unsupported(d, "constant layout with rep/def levels");
  /* the value: inline, else the page's buffer 0, else none (all null) */
  const uint8_t *val = NULL;
  size_t val_n = 0;
  if (pb_get(m, mn, 6, &f) && f.wire_type == 2) {
    val = f.data;
    val_n = f.len;
  } else if (bufs->n >= 1) {
    /* a value in a buffer is framed as [u32 buffer count][u32 size each]
     * [buffers]: one buffer (the value) for fixed width; offsets (2, of 4
     * or 8 bytes) and the bytes for variable width */
    const uint8_t *p = bufs->ptr[0];
    size_t n = (size_t)bufs->len[0];
    uint64_t pos = bufs->pos[0];
    uint32_t nb = n >= 4 ? mw_load_u32le(p) : 0;
    if (nb < 1 || nb > 2 || n < 4 + 4 * (size_t)nb) return corrupt(d, pos, "constant value buffer without its framing");
    uint64_t s0 = mw_load_u32le(p + 4), s1 = nb == 2 ? mw_load_u32le(p + 8) : 0;
    size_t h = 4 + 4 * (size_t)nb;
    if (s0 + s1 != n - h) return corrupt(d, pos, "constant value buffer of %zu bytes frames %llu + %llu", n, (unsigned long long)s0, (unsigned long long)s1);
    if (nb == 1) {
      val = p + h;
      val_n = (size_t)s0;
    } else {
      if (s0 != 8 && s0 != 16) return corrupt(d, pos, "constant value offsets of %llu bytes", (unsigned long long)s0);
      unsigned w = (unsigned)(s0 / 2);
      uint64_t a = w == 4 ? mw_load_u32le(p + h) : mw_load_u64le(p + h);
      uint64_t b = w == 4 ? mw_load_u32le(p + h + w) : mw_load_u64le(p + h + w);
      if (a > b || b > s1) return corrupt(d, pos + h, "constant value offsets %llu..%llu past %llu bytes", (unsigned long long)a, (unsigned long long)b, (unsigned long long)s1);
      val = p + h + s0 + a;
      val_n = (size_t)(b - a);
    }
  }
  if (val) {
    mw_buf enc, ce;
    mw_buf_init(&enc);
    mw_buf_init(&ce);
    mw_pb_bytes(&enc, 1, val, val_n);
    mw_pb_msg(&ce, 3, &enc);
    vbufs vb = {.n = 0};
    mw_status s = mw_buf_ok(&ce) ? ce_decode(d, ce.data, ce.len, &vb, rows, &out->v, NULL, 0) : nomem(d);
    mw_buf_free(&enc);
    mw_buf_free(&ce);
    return s;
  }
  /* all null: the innermost nullable layer is null for every row */
  int j = 0;
  while (j < out->n_layers && out->layers[j] != 3) j++;
  if (j == out->n_layers) return corrupt(d, d->c->meta_pos, "all-null page without a nullable layer");
  lv_pad(&out->v, rows);
  if (j > 0) {
    /* a null struct layer: every row at def 1 */
    out->def = calloc(rows ? (size_t)rows : 1, 2);
    if (!out->def) return nomem(d);
    for (uint64_t i = 0; i < rows; i++) out->def[i] = 1;
    out->n_levels = rows;
    return MW_OK;
  }
  out->v.has_valid = true;
  bits_fill(&out->v.valid, 0, rows, false);
  return lv_ok(&out->v) ? MW_OK : nomem(d);
}

/* full_zip_layout: buffer 0 holds every item zipped with its control word
 * (rep << bits_def | def, 0/1/2/4 bytes); fixed: then bits_per_value / 8
 * value bytes for every visible item, null items too (a fixed_size_list
 * with validity puts its ceil(dim / 8) item-validity bytes first), also
 * with repetition levels (e.g. list<fixed_size_list<float>>); variable: a length of
 * bits_per_offset / 8 bytes and the bytes, only for valid visible items.
 * Buffer 1 (a repetition index) is not needed to decode a whole page. */
static mw_status full_zip_decode(dctx *d, mw_lance_page *out, const uint8_t *m, size_t mn,
                                 const mw_lance_page_bufs *bufs, uint64_t rows) {
  uint64_t mpos = d->c->meta_pos;
  MW_TRY(get_layers(d, out, m, mn, 8, mpos));
  uint64_t brep = pb_u64(m, mn, 1), bdef = pb_u64(m, mn, 2), bpv = pb_u64(m, mn, 3), bpo = pb_u64(m, mn, 4);
  uint64_t items = pb_u64(m, mn, 5);
  if (brep > 16 || bdef > 16) return corrupt(d, mpos, "full-zip control word of %llu + %llu bits", (unsigned long long)brep, (unsigned long long)bdef);
  if (!brep && items != rows)
    return corrupt(d, mpos, "full-zip page of %llu rows holds %llu items", (unsigned long long)rows, (unsigned long long)items);
  if (items > MAX_PAGE_ITEMS) return corrupt(d, mpos, "full-zip page claims %llu items", (unsigned long long)items);
  /* visible levels (an item follows the control word): def 0 and the defs
   * of the layers inside the innermost list (numbered first, innermost
   * first); a null / empty list or a null layer outside it has no item */
  unsigned max_vis = 0;
  for (int j = 0; j < out->n_layers && out->layers[j] != 2 && out->layers[j] < 4; j++)
    max_vis += out->layers[j] == 3 ? 1 : 0;
  /* a nullable layer outside a list: LanceDB 0.39 writes such pages but
   * cannot read them back itself ("Structural validity has N entries for
   * an array with M values"), so there is nothing to check a reading
   * against: refused */
  bool seen_list = false;
  for (int j = 0; j < out->n_layers; j++) {
    if (out->layers[j] == 2 || out->layers[j] >= 4) seen_list = true;
    else if (out->layers[j] == 3 && seen_list) return unsupported(d, "full_zip_layout with a nullable layer above a list");
  }
  unsigned cw = brep + bdef == 0 ? 0 : brep + bdef <= 8 ? 1 : brep + bdef <= 16 ? 2 : 4;
  const uint8_t *ve, *vm;
  size_t ven, vmn;
  uint32_t vw;
  if (!pb_msg(m, mn, 7, &ve, &ven)) return corrupt(d, mpos, "full-zip layout without value compression");
  MW_TRY(pb_oneof(d, ve, ven, &vw, &vm, &vmn, mpos, "full-zip values"));
  if (bufs->n < 1) return corrupt(d, mpos, "full-zip page without buffers");
  span b = {bufs->ptr[0], (size_t)bufs->len[0], bufs->pos[0]};
  mw_lv *v = &out->v;
  bool fixed = bpv != 0;
  uint64_t fsl_dim = 0, vbytes = 0, ivbytes = 0;
  if (fixed) {
    if (bpv % 8) return corrupt(d, mpos, "full-zip values of %llu bits", (unsigned long long)bpv);
    vbytes = bpv / 8;
    if (vw == 11) {
      fsl_dim = pb_u64(vm, vmn, 1);
      if (pb_u64(vm, vmn, 3)) ivbytes = (fsl_dim + 7) / 8;
      const uint8_t *ie, *im;
      size_t ien, imn;
      uint32_t iw;
      if (!pb_msg(vm, vmn, 2, &ie, &ien)) return corrupt(d, mpos, "fixed_size_list without values");
      MW_TRY(pb_oneof(d, ie, ien, &iw, &im, &imn, mpos, "fixed_size_list values"));
      if (iw != 1) return unsupported(d, "full-zip fixed_size_list of compressed items");
      if (fsl_dim != v->dim || v->kind != MW_LV_FIXED || pb_u64(im, imn, 1) * fsl_dim != (uint64_t)v->width * 8)
        return corrupt(d, mpos, "full-zip fixed_size_list does not match the column");
    } else if (vw == 1) {
      if (pb_u64(vm, vmn, 1) != bpv) return corrupt(d, mpos, "full-zip flat width differs from bits_per_value");
    } else {
      return unsupported(d, ce_name(vw));
    }
    if (v->kind == MW_LV_VAR || (v->kind == MW_LV_FIXED && vbytes != v->width + ivbytes) || v->kind == MW_LV_BOOL)
      return corrupt(d, mpos, "full-zip values of %llu bytes in a column of %u-byte values", (unsigned long long)vbytes, v->width);
  } else {
    fsst_table *ft = NULL;
    if (vw == 6) {
      mw_pb_field st = {0};
      const uint8_t *ie, *im;
      size_t ien, imn;
      uint32_t iw;
      if (!pb_get(vm, vmn, 1, &st) || st.wire_type != 2 || !pb_msg(vm, vmn, 2, &ie, &ien))
        return corrupt(d, mpos, "fsst without a symbol table or values");
      MW_TRY(pb_oneof(d, ie, ien, &iw, &im, &imn, mpos, "fsst values"));
      if (iw != 2) return unsupported(d, "full-zip fsst of non-variable values");
      ft = malloc(sizeof *ft);
      if (!ft) return nomem(d);
      mw_status s = fsst_table_read(d, ft, st.data, st.len, mpos);
      if (s != MW_OK) {
        free(ft);
        return s;
      }
    } else if (vw != 2) {
      return unsupported(d, ce_name(vw));
    }
    out->fsst = ft;
    if (bpo != 8 && bpo != 16 && bpo != 32 && bpo != 64) return corrupt(d, mpos, "full-zip lengths of %llu bits", (unsigned long long)bpo);
    if (v->kind != MW_LV_VAR) return corrupt(d, mpos, "variable full-zip values in a fixed-width column");
  }
  if (bdef || brep) {
    out->def = calloc(items ? (size_t)items : 1, 2);
    out->rep = brep ? calloc(items ? (size_t)items : 1, 2) : NULL;
    if (!out->def || (brep && !out->rep)) return nomem(d);
    out->n_levels = items;
  }
  size_t at = 0;
  for (uint64_t i = 0; i < items; i++) {
    uint32_t word = 0;
    if (cw > b.n - at) return corrupt(d, b.pos + at, "full-zip item %llu truncated", (unsigned long long)i);
    for (unsigned k = 0; k < cw; k++) word |= (uint32_t)b.p[at + k] << (8 * k);
    at += cw;
    uint16_t def = (uint16_t)(word & ((1u << bdef) - 1));
    if (out->def) out->def[i] = def;
    if (out->rep) out->rep[i] = (uint16_t)(word >> bdef);
    if (def > max_vis) continue; /* a null or empty list: no item */
    if (fixed) {
      if (vbytes > b.n - at) return corrupt(d, b.pos + at, "full-zip value %llu truncated", (unsigned long long)i);
      if (ivbytes) lv_item_valid(v, v->n * fsl_dim, b.p + at, 0, fsl_dim);
      mw_buf_append(&v->data, b.p + at + ivbytes, (size_t)(vbytes - ivbytes));
      v->n++;
      at += (size_t)vbytes;
    } else if (def == 0) {
      unsigned lb = (unsigned)(bpo / 8);
      if (lb > b.n - at) return corrupt(d, b.pos + at, "full-zip length %llu truncated", (unsigned long long)i);
      uint64_t len = 0;
      for (unsigned k = 0; k < lb; k++) len |= (uint64_t)b.p[at + k] << (8 * k);
      at += lb;
      if (len > b.n - at) return corrupt(d, b.pos + at, "full-zip value %llu of %llu bytes truncated", (unsigned long long)i, (unsigned long long)len);
      if (out->fsst) {
        lv_start_var(v);
        MW_TRY(fsst_expand(d, out->fsst, b.p + at, (size_t)len, &v->data, b.pos + at));
        mw_buf_u64le(&v->offs, v->data.len);
        v->n++;
      } else {
        var_append(v, b.p + at, len);
      }
      at += (size_t)len;
    } else {
      var_append(v, NULL, 0);
    }
    if (!lv_ok(v)) return nomem(d);
  }
  if (v->has_ivalid && v->ivalid.len < (v->n * fsl_dim + 7) / 8) bits_fill(&v->ivalid, v->n * fsl_dim, 0, true);
  if (at != b.n) return corrupt(d, b.pos + at, "full-zip data has %zu bytes after the last item", b.n - at);
  uint64_t vis = pb_u64(m, mn, 6);
  if (brep && vis != v->n)
    return corrupt(d, mpos, "full-zip page holds %llu visible items, its layout says %llu", (unsigned long long)v->n, (unsigned long long)vis);
  return MW_OK;
}

/* ---- 2.0 ArrayEncoding trees ---- */

static mw_status page_buf(dctx *d, const uint8_t *buffer_msg, size_t bn, const mw_lance_page_bufs *bufs, span *out) {
  if (!pb_valid(buffer_msg, bn)) return corrupt(d, d->c->meta_pos, "malformed Buffer protobuf");
  uint64_t idx = pb_u64(buffer_msg, bn, 1), type = pb_u64(buffer_msg, bn, 2);
  if (type != 0) return unsupported(d, "flat with a column or file buffer");
  if (idx >= (uint64_t)bufs->n) return corrupt(d, d->c->meta_pos, "buffer index %llu of a page with %d buffers", (unsigned long long)idx, bufs->n);
  out->p = bufs->ptr[idx];
  out->n = (size_t)bufs->len[idx];
  out->pos = bufs->pos[idx];
  return MW_OK;
}

static const char *ae_name(uint32_t which) {
  static const char *names[] = {"?", "flat", "nullable", "fixed_size_list", "list", "struct", "binary", "dictionary",
                                "fsst", "packed_struct", "bitpacked", "fixed_size_binary", "bitpacked_for_non_neg",
                                "constant", "inline_bitpacking", "out_of_line_bitpacking", "variable",
                                "packed_struct_fixed_width_mini_block", "block", "rle", "general_mini_block",
                                "byte_stream_split"};
  return which < sizeof names / sizeof names[0] ? names[which] : "unknown ArrayEncoding";
}

static mw_status ae_decode(dctx *d, const uint8_t *enc, size_t en, const mw_lance_page_bufs *bufs, uint64_t n,
                           mw_lv *v, int depth);

/* flat{bits, buffer} in a 2.0 tree */
static mw_status ae_flat(dctx *d, const uint8_t *m, size_t mn, const mw_lance_page_bufs *bufs, uint64_t n, mw_lv *v) {
  const uint8_t *bm, *cm;
  size_t bmn, cmn;
  if (pb_msg(m, mn, 3, &cm, &cmn) && cmn) return unsupported(d, "flat with compression (2.0)");
  span b;
  pb_msg(m, mn, 2, &bm, &bmn);
  MW_TRY(page_buf(d, bm ? bm : (const uint8_t *)"", bmn, bufs, &b));
  return flat_decode(d, m, mn, b, n, v, false);
}

static mw_status ae_binary(dctx *d, const uint8_t *m, size_t mn, const mw_lance_page_bufs *bufs, uint64_t n, mw_lv *v) {
  if (v->kind != MW_LV_VAR) return corrupt(d, d->c->meta_pos, "binary encoding in a fixed-width column");
  const uint8_t *ie, *be;
  size_t ien, ben;
  if (!pb_msg(m, mn, 1, &ie, &ien) || !pb_msg(m, mn, 2, &be, &ben)) return corrupt(d, d->c->meta_pos, "binary encoding without indices or bytes");
  uint64_t adj = pb_u64(m, mn, 3);
  mw_lv idx, bytes;
  mw_lv_init(&idx, MW_LV_FIXED, 8, 0);
  mw_status s = ae_decode(d, ie, ien, bufs, n, &idx, 1);
  uint32_t which;
  const uint8_t *bsub;
  size_t bsubn;
  if (s == MW_OK) s = pb_oneof(d, be, ben, &which, &bsub, &bsubn, d->c->meta_pos, "binary bytes");
  if (s == MW_OK && which != 1) s = unsupported(d, ae_name(which));
  span bb = {0};
  if (s == MW_OK) {
    const uint8_t *bm;
    size_t bmn;
    pb_msg(bsub, bsubn, 2, &bm, &bmn);
    s = page_buf(d, bm ? bm : (const uint8_t *)"", bmn, bufs, &bb);
  }
  (void)bytes;
  uint64_t at = v->n, prev = 0;
  bool any_null = false;
  lv_start_var(v);
  for (uint64_t i = 0; s == MW_OK && i < n; i++) {
    uint64_t e = mw_load_u64le(idx.data.data + 8 * i);
    bool null = adj && e >= adj;
    if (null) e -= adj;
    if (e < prev || e > bb.n) {
      s = corrupt(d, bb.pos, "binary end offset %llu of row %llu out of range [%llu, %zu]", (unsigned long long)e,
                  (unsigned long long)i, (unsigned long long)prev, bb.n);
      break;
    }
    if (null && !any_null) {
      any_null = true;
      if (!v->has_valid) {
        v->has_valid = true;
        bits_fill(&v->valid, 0, at + i, true);
      }
    }
    var_append(v, bb.p + prev, null ? 0 : e - prev);
    if (v->has_valid) bits_fill(&v->valid, at + i, 1, !null);
    prev = e;
  }
  mw_lv_free(&idx);
  return s;
}

static mw_status ae_decode(dctx *d, const uint8_t *enc, size_t en, const mw_lance_page_bufs *bufs, uint64_t n,
                           mw_lv *v, int depth) {
  if (depth > MAX_ENC_DEPTH) return corrupt(d, d->c->meta_pos, "encoding nested too deeply");
  uint32_t which;
  const uint8_t *m;
  size_t mn;
  MW_TRY(pb_oneof(d, enc, en, &which, &m, &mn, d->c->meta_pos, "ArrayEncoding"));
  uint64_t at = v->n;
  switch (which) {
    case 1: MW_TRY(ae_flat(d, m, mn, bufs, n, v)); lv_valid_all(v, at, n); break;
    case 2: {
      uint32_t nw;
      const uint8_t *nm;
      size_t nmn;
      MW_TRY(pb_oneof(d, m, mn, &nw, &nm, &nmn, d->c->meta_pos, "Nullable"));
      if (nw == 1) {
        const uint8_t *vm;
        size_t vmn;
        if (!pb_msg(nm, nmn, 1, &vm, &vmn)) return corrupt(d, d->c->meta_pos, "no_nulls without values");
        MW_TRY(ae_decode(d, vm, vmn, bufs, n, v, depth + 1));
      } else if (nw == 2) {
        const uint8_t *vm, *vv;
        size_t vmn, vvn;
        if (!pb_msg(nm, nmn, 1, &vv, &vvn) || !pb_msg(nm, nmn, 2, &vm, &vmn))
          return corrupt(d, d->c->meta_pos, "some_nulls without validity or values");
        mw_lv valid;
        mw_lv_init(&valid, MW_LV_BOOL, 0, 0);
        mw_status s = ae_decode(d, vv, vvn, bufs, n, &valid, depth + 1);
        if (s == MW_OK && valid.n != n) s = corrupt(d, d->c->meta_pos, "validity of %llu rows for %llu", (unsigned long long)valid.n, (unsigned long long)n);
        if (s == MW_OK) s = ae_decode(d, vm, vmn, bufs, n, v, depth + 1);
        if (s == MW_OK) lv_valid(v, at, n, valid.data.data, 0);
        mw_lv_free(&valid);
        MW_TRY(s);
      } else if (nw == 3) {
        lv_pad(v, n);
        lv_valid(v, at, n, NULL, 0);
      } else {
        return corrupt(d, d->c->meta_pos, "unknown Nullable variant %u", nw);
      }
      break;
    }
    case 3: {
      uint64_t dim = pb_u64(m, mn, 1);
      if (pb_u64(m, mn, 3)) return unsupported(d, "fixed_size_list with item validity (2.0)");
      if (v->kind != MW_LV_FIXED || dim == 0 || dim != v->dim)
        return corrupt(d, d->c->meta_pos, "fixed_size_list of %llu items does not match the column", (unsigned long long)dim);
      const uint8_t *im;
      size_t imn;
      if (!pb_msg(m, mn, 2, &im, &imn)) return corrupt(d, d->c->meta_pos, "fixed_size_list without items");
      if (n > UINT64_MAX / dim) return corrupt(d, d->c->meta_pos, "fixed_size_list item count overflows");
      mw_lv items;
      mw_lv_init(&items, MW_LV_FIXED, v->width / v->dim, 0);
      items.data = v->data;
      mw_status s = ae_decode(d, im, imn, bufs, n * dim, &items, depth + 1);
      v->data = items.data;
      mw_buf_free(&items.valid);
      MW_TRY(s);
      v->n += n;
      lv_valid_all(v, at, n);
      break;
    }
    case 6: MW_TRY(ae_binary(d, m, mn, bufs, n, v)); break;
    case 13: MW_TRY(constant_decode(d, m, mn, n, v, d->c->meta_pos)); lv_valid_all(v, at, n); break;
    default: return unsupported(d, ae_name(which));
  }
  if (v->n != at + n)
    return corrupt(d, d->c->meta_pos, "%s decoded %llu values for %llu rows", ae_name(which), (unsigned long long)(v->n - at),
                   (unsigned long long)n);
  return lv_ok(v) ? MW_OK : nomem(d);
}

/* ---- entry ---- */

mw_status mw_lance_decode_page(mw_lance_page *out, const char *type_url, size_t url_len, const uint8_t *enc,
                               size_t enc_len, const mw_lance_page_bufs *bufs, uint64_t rows,
                               const mw_lance_page_ctx *ctx, mw_error *err) {
  dctx d = {ctx, err};
  out->n_levels = 0;
  out->rep = out->def = NULL;
  out->n_layers = 0;
  out->fsst = NULL;
  static const char u20[] = "/lance.encodings.ArrayEncoding", u21[] = "/lance.encodings21.PageLayout";
  if (url_len == sizeof u20 - 1 && memcmp(type_url, u20, url_len) == 0) {
    mw_status s = ae_decode(&d, enc, enc_len, bufs, rows, &out->v, 0);
    if (s != MW_OK) return s;
    out->layers[0] = out->v.has_valid ? 3 : 1;
    out->n_layers = 1;
    return MW_OK;
  }
  if (!(url_len == sizeof u21 - 1 && memcmp(type_url, u21, url_len) == 0)) {
    char what[96];
    snprintf(what, sizeof what, "'%.*s'", (int)(url_len > 80 ? 80 : url_len), type_url);
    return unsupported(&d, what);
  }
  uint32_t which;
  const uint8_t *m;
  size_t mn;
  MW_TRY(pb_oneof(&d, enc, enc_len, &which, &m, &mn, ctx->meta_pos, "PageLayout"));
  switch (which) {
    case 1: return miniblock_decode(&d, out, m, mn, bufs, rows);
    case 2: return constant_layout(&d, out, m, mn, bufs, rows);
    case 3: return full_zip_decode(&d, out, m, mn, bufs, rows);
    case 4: return unsupported(&d, "blob_layout");
    default: return unsupported(&d, "unknown PageLayout");
  }
}
