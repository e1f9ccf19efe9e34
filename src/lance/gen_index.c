/* gen_index.c - building a flushed generation's Lance indexes and their
 * manifest entries (layouts in gen_index.h).
 *
 * Design: one function per index kind turns the generation rows (and, for
 * FTS / HNSW, the MemTable's in-memory index remapped to generation row
 * offsets) into a list of named files held in memory; mw_gen_index_write
 * then stores every file and only afterwards appends the manifest entry
 * listing them with their exact sizes (a stale size fails in Lance with
 * "invalid magic"). The index files (Lance 2.0) are held as pieces: their
 * fixed-width pages are the column buffers they were built in (borrowed by
 * the file writer, kept in gen_out.keep until stored), written without
 * being copied into one file buffer first. No state is kept between calls;
 * not thread-affine. */
#include "lance/gen_index.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/float_fmt.h"
#include "common/error.h"
#include "common/uuid.h"
#include "index/fts.h"
#include "index/hnsw.h"
#include "lance/lance_file.h"
#include "lance/pb.h"
#include "objstore/objstore.h"

#define MAX_FILES 8

typedef struct gen_file {
  char name[96];
  uint8_t *data; /* the file, or with iov its own bytes (free() both) */
  size_t len;    /* the file's size */
  mw_iov *iov;   /* NULL, or the file as pieces (into data and o->keep) */
  size_t n_iov;
} gen_file;

typedef struct gen_out {
  gen_file f[MAX_FILES];
  int n;
  const char *type_url;
  mw_buf details; /* Any.value (empty = no value field) */
  int32_t index_version;
  bool created_at;
  bool list_files;
  mw_buf *keep; /* column buffers the files' pieces point into */
  size_t n_keep, cap_keep;
} gen_out;

static bool is_nested(const struct ArrowSchema *f) {
  return f->format && f->format[0] == '+' && (f->format[1] == 's' || f->format[1] == 'l' || f->format[1] == 'L');
}

static int32_t count_fields(const struct ArrowSchema *f) {
  int32_t n = 1;
  if (is_nested(f))
    for (int64_t i = 0; i < f->n_children; i++) n += count_fields(f->children[i]);
  return n;
}

int32_t mw_lance_top_field_id(const struct ArrowSchema *schema, int64_t col) {
  int32_t id = 0;
  for (int64_t i = 0; i < col && i < schema->n_children; i++) id += count_fields(schema->children[i]);
  return id;
}

void mw_roaring_single_zero(mw_buf *out) {
  /* cookie 12346 (no run containers), 1 container; key 0, cardinality - 1 =
   * 0; offset of the container data (16); the array container {0}. */
  mw_buf_u32le(out, 12346);
  mw_buf_u32le(out, 1);
  mw_buf_u32le(out, 0); /* u16 key 0, u16 card-1 0 */
  mw_buf_u32le(out, 16);
  mw_buf_append_zeros(out, 2);
}

bool mw_gen_index_column_ok(mw_index_kind kind, const struct ArrowSchema *field) {
  mw_type t;
  if (!field || !field->format || mw_type_from_format(&t, field->format, NULL) != MW_OK) return false;
  switch (kind) {
    case MW_INDEX_BTREE: return mw_btree_type_ok(t.id);
    case MW_INDEX_FTS: return t.id == MW_T_UTF8 || t.id == MW_T_LARGE_UTF8;
    case MW_INDEX_HNSW:
      return t.id == MW_T_FIXED_SIZE_LIST && t.width > 0 && field->n_children == 1 && field->children[0]->format &&
             strcmp(field->children[0]->format, "f") == 0;
    default: return false;
  }
}

static int find_column(const struct ArrowSchema *schema, const char *name) {
  for (int64_t i = 0; i < schema->n_children; i++)
    if (schema->children[i]->name && strcmp(schema->children[i]->name, name) == 0) return (int)i;
  return -1;
}

static mw_status add_file(gen_out *o, const char *name, uint8_t *data, size_t len, mw_error *err) {
  if (o->n == MAX_FILES) {
    free(data);
    return mw_err(err, MW_ERR_INVALID, "too many index files");
  }
  gen_file *f = &o->f[o->n++];
  snprintf(f->name, sizeof f->name, "%s", name);
  f->data = data;
  f->len = len;
  return MW_OK;
}

/* A file given as pieces (taken over: freed with o). */
static mw_status add_file_pieces(gen_out *o, const char *name, mw_lance_file_pieces *p, mw_error *err) {
  if (o->n == MAX_FILES) {
    mw_lance_file_pieces_free(p);
    return mw_err(err, MW_ERR_INVALID, "too many index files");
  }
  gen_file *f = &o->f[o->n++];
  snprintf(f->name, sizeof f->name, "%s", name);
  f->data = p->own;
  f->len = (size_t)p->len;
  f->iov = p->iov;
  f->n_iov = p->n_iov;
  memset(p, 0, sizeof *p);
  return MW_OK;
}

/* Moves b into o->keep (b is left empty). */
static bool keep_buf(gen_out *o, mw_buf *b) {
  if (!b->data) return true;
  if (o->n_keep == o->cap_keep) {
    size_t cap = o->cap_keep ? 2 * o->cap_keep : 16;
    mw_buf *k = realloc(o->keep, cap * sizeof *k);
    if (!k) return false;
    o->keep = k;
    o->cap_keep = cap;
  }
  o->keep[o->n_keep++] = *b;
  mw_buf_init(b);
  return true;
}

static void gen_out_free(gen_out *o) {
  for (int i = 0; i < o->n; i++) {
    free(o->f[i].data);
    free(o->f[i].iov);
  }
  for (size_t i = 0; i < o->n_keep; i++) mw_buf_free(&o->keep[i]);
  free(o->keep);
  mw_buf_free(&o->details);
}

static mw_status build_btree(gen_out *o, const mw_gen_rows *g, int col, mw_error *err) {
  uint8_t *d, *l;
  size_t dl, ll;
  MW_TRY(mw_btree_index_build(&d, &dl, &l, &ll, g->schema, col, g->batches, g->rows, g->n_rows,
                              MW_BTREE_INDEX_BATCH_SIZE, err));
  mw_status s = add_file(o, "page_data.lance", d, dl, err);
  if (s == MW_OK) s = add_file(o, "page_lookup.lance", l, ll, err);
  else free(l);
  o->type_url = "/lance.table.BTreeIndexDetails";
  o->index_version = 0;
  o->created_at = true;
  o->list_files = true;
  return s;
}

/* ------------------------------------------------------------------ files */

/* A column being built: up to 3 buffers, and for a list one child. */
typedef struct gcol {
  struct ArrowArray a, child;
  const void *bufs[3], *cbufs[3];
  struct ArrowArray *kids[1];
  mw_buf b[3], cb[3];
} gcol;

static void gcol_init(gcol *c) {
  memset(c, 0, sizeof *c);
  for (int i = 0; i < 3; i++) {
    mw_buf_init(&c->b[i]);
    mw_buf_init(&c->cb[i]);
  }
}

static void gcol_free(gcol *c) {
  for (int i = 0; i < 3; i++) {
    mw_buf_free(&c->b[i]);
    mw_buf_free(&c->cb[i]);
  }
}

static void noop_release(struct ArrowArray *a) { a->release = NULL; }

/* Finishes a flat column of n rows (nbuf buffers, b[0] = validity or empty). */
static bool gcol_finish(gcol *c, int64_t n, int64_t nulls, int nbuf) {
  for (int i = 0; i < 3; i++) {
    if (!mw_buf_ok(&c->b[i]) || !mw_buf_ok(&c->cb[i])) return false;
    c->bufs[i] = c->b[i].len ? c->b[i].data : NULL;
    c->cbufs[i] = c->cb[i].data;
  }
  c->a = (struct ArrowArray){.length = n, .null_count = nulls, .n_buffers = nbuf, .buffers = c->bufs,
                             .release = noop_release};
  return true;
}

/* Finishes a list column: b[1] = i32 list offsets (n + 1); the items in
 * cb (cnbuf buffers: large_binary cb[1] i64 offsets + cb[2] bytes, fixed
 * width cb[1] values). */
static bool gcol_finish_list(gcol *c, int64_t n, int64_t items, int cnbuf) {
  if (!gcol_finish(c, n, 0, 2)) return false;
  c->child = (struct ArrowArray){.length = items, .n_buffers = cnbuf, .buffers = c->cbufs, .release = noop_release};
  c->kids[0] = &c->child;
  c->a.n_children = 1;
  c->a.children = c->kids;
  return true;
}

/* Finishes a fixed_size_list column of n rows whose items are in cb[1]. */
static bool gcol_finish_fsl(gcol *c, int64_t n, int64_t items) {
  if (!gcol_finish(c, n, 0, 1)) return false;
  c->child = (struct ArrowArray){.length = items, .n_buffers = 2, .buffers = c->cbufs, .release = noop_release};
  c->kids[0] = &c->child;
  c->a.n_children = 1;
  c->a.children = c->kids;
  return true;
}

/* A Lance 2.0 index file: per column format and name; a list or
 * fixed_size_list format carries its item format after '|' ("+l|Z",
 * "+w:8|C"); nullable / fullzip: bitmasks of nullable columns and of
 * columns whose field metadata says lance-encoding:structural-encoding =
 * fullzip (as Lance marks its HNSW list columns); meta: schema metadata;
 * gb: one extra global buffer (entry 1; NULL = none). */
typedef struct fspec {
  int ncol;
  const char *const *fmts, *const *names;
  unsigned nullable, fullzip;
  const char *meta;
  const uint8_t *gb;
  size_t gb_len;
} fspec;

/* Writes file `name` of the columns (their pages borrowed: the columns'
 * buffers move to o->keep) and adds it to o as pieces. */
static mw_status write_file20(gen_out *o, const char *name, const fspec *f, gcol *cols, int64_t rows,
                              mw_error *err) {
  struct ArrowSchema sch;
  mw_status s = mw_schema_init(&sch, "+s", "", f->meta, 0, f->ncol, err);
  if (s != MW_OK) return s;
  char *fz = NULL;
  bool ok = true;
  if (f->fullzip) fz = mw_metadata_with(NULL, "lance-encoding:structural-encoding", "fullzip", &ok);
  if (!ok) s = mw_err(err, MW_ERR_NOMEM, "out of memory");
  for (int i = 0; s == MW_OK && i < f->ncol; i++) {
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%s", f->fmts[i]);
    char *bar = strchr(fmt, '|');
    if (bar) *bar = 0;
    s = mw_schema_init(sch.children[i], fmt, f->names[i], (f->fullzip >> i & 1) ? fz : NULL,
                       (f->nullable >> i & 1) ? ARROW_FLAG_NULLABLE : 0, bar ? 1 : 0, err);
    if (s == MW_OK && bar) s = mw_schema_init(sch.children[i]->children[0], bar + 1, "item", NULL, ARROW_FLAG_NULLABLE, 0, err);
  }
  free(fz);
  struct ArrowArray *kids[8];
  const void *nobuf[1] = {NULL};
  for (int i = 0; i < f->ncol && i < 8; i++) kids[i] = &cols[i].a;
  struct ArrowArray root = {.length = rows, .n_buffers = 1, .buffers = nobuf, .n_children = f->ncol,
                            .children = kids, .release = noop_release};
  mw_lance_file_writer *fw = NULL;
  const uint8_t *gbs[1] = {f->gb};
  size_t gbl[1] = {f->gb_len};
  if (s == MW_OK) {
    mw_lance_file_options fo;
    mw_lance_file_options_init(&fo);
    fo.version = MW_LANCE_V2_0;
    fo.schema_metadata = f->meta;
    fo.borrow_pages = true;
    if (f->gb) {
      fo.global_buffers = gbs;
      fo.global_buffer_lens = gbl;
      fo.n_global_buffers = 1;
    }
    s = mw_lance_file_writer_open(&fw, &sch, &fo, err);
  }
  if (s == MW_OK) s = mw_lance_file_writer_write(fw, &root, NULL, 0, err);
  mw_lance_file_pieces p;
  memset(&p, 0, sizeof p);
  if (s == MW_OK) s = mw_lance_file_writer_finish_pieces(fw, &p, err);
  mw_lance_file_writer_free(fw);
  mw_schema_release(&sch);
  for (int i = 0; s == MW_OK && i < f->ncol; i++)
    for (int k = 0; k < 3; k++)
      if (!keep_buf(o, &cols[i].b[k]) || !keep_buf(o, &cols[i].cb[k])) s = mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (s == MW_OK) s = add_file_pieces(o, name, &p, err);
  mw_lance_file_pieces_free(&p);
  return s;
}

static char *meta_of(const mw_kv *kv, int n, mw_error *err) {
  bool ok = true;
  char *m = mw_metadata_build(kv, n, &ok);
  if (!ok) mw_err(err, MW_ERR_NOMEM, "out of memory");
  return ok ? m : (char *)"";
}

static mw_kv kv_str(const char *k, const char *v) {
  return (mw_kv){k, (int32_t)strlen(k), v, (int32_t)strlen(v)};
}

/* -------------------------------------------------------------------- FTS */

#define FTS_BLOCK 128
#define FTS_IMPACT_GROUP 32

/* Lance's tokenizer parameters, as it writes them into metadata.lance
 * (key order as Lance 12 serialises them). */
static const char FTS_PARAMS[] =
    "{\"lance_tokenizer\":null,\"base_tokenizer\":\"simple\",\"language\":\"English\",\"with_position\":false,"
    "\"max_token_length\":40,\"lower_case\":true,\"stem\":true,\"remove_stop_words\":true,\"custom_stop_words\":null,"
    "\"ascii_folding\":true,\"min_ngram_length\":3,\"max_ngram_length\":3,\"prefix_only\":false,\"block_size\":128,"
    "\"split_identifiers\":false,\"split_on_numerics\":false,\"preserve_original\":false,\"index_operators\":false}";

static void varint(mw_buf *b, uint64_t v) { mw_pb_varint(b, v); }

static uint32_t bitlen32(uint32_t v) {
  uint32_t n = 0;
  while (v) {
    n++;
    v >>= 1;
  }
  return n;
}

/* u8 width, then 128 values bit-packed in the 4-lane layout (value i in
 * lane i % 4, slot i / 4; each lane's 32 values LSB-first in `width` u32
 * words; word k of lane j at u32 index 4k + j). */
static void pack128(mw_buf *b, const uint32_t *v) {
  uint32_t mx = 0;
  for (int i = 0; i < FTS_BLOCK; i++)
    if (v[i] > mx) mx = v[i];
  uint32_t w = bitlen32(mx);
  mw_buf_u8(b, (uint8_t)w);
  if (!w) return;
  uint32_t words[4 * 32];
  memset(words, 0, sizeof words);
  for (int i = 0; i < FTS_BLOCK; i++) {
    uint32_t lane = (uint32_t)i % 4, slot = (uint32_t)i / 4;
    uint64_t bit = (uint64_t)slot * w;
    uint32_t k = (uint32_t)(bit / 32), sh = (uint32_t)(bit % 32);
    words[4 * k + lane] |= v[i] << sh;
    if (sh + w > 32) words[4 * (k + 1) + lane] |= v[i] >> (32 - sh);
  }
  for (uint32_t i = 0; i < 4 * w; i++) mw_buf_u32le(b, words[i]);
}

static uint32_t dl_norm(uint32_t dl) {
  if (dl < 8) return dl;
  uint32_t s = bitlen32(dl) - 4;
  return ((dl >> s) & 7) | ((s + 1) << 3);
}

typedef struct fpair {
  uint32_t tf, dl;
} fpair;

/* Ascending u64s, sorted inline (qsort's comparator calls were most of
 * the impact entries' time): insertion sort for short runs, else heapsort.
 * Equal keys are equal values, so the result is the one any sort gives. */
static void sift_u64(uint64_t *a, size_t i, size_t end) {
  uint64_t v = a[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= end) break;
    if (c + 1 < end && a[c + 1] > a[c]) c++;
    if (a[c] <= v) break;
    a[i] = a[c];
    i = c;
  }
  a[i] = v;
}

static void sort_u64(uint64_t *a, size_t n) {
  if (n <= 24) {
    for (size_t i = 1; i < n; i++) {
      uint64_t v = a[i];
      size_t j = i;
      for (; j > 0 && a[j - 1] > v; j--) a[j] = a[j - 1];
      a[j] = v;
    }
    return;
  }
  for (size_t i = n / 2; i-- > 0;) sift_u64(a, i, n);
  for (size_t end = n - 1; end > 0; end--) {
    uint64_t t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift_u64(a, 0, end);
  }
}

/* One impact entry over postings [a, b) (tmp: scratch of 2 (b - a) pairs,
 * ks: of b - a keys). */
static void impact_entry(mw_buf *out, const uint32_t *doc, const uint32_t *tf, const uint32_t *dlen, size_t a,
                         size_t b, fpair *tmp, uint64_t *ks) {
  size_t n = 0;
  for (size_t i = a; i < b; i++) ks[n++] = (uint64_t)tf[i] << 32 | dlen[doc[i]];
  sort_u64(ks, n); /* by frequency, then length */
  for (size_t i = 0; i < n; i++) tmp[i] = (fpair){(uint32_t)(ks[i] >> 32), (uint32_t)ks[i]};
  /* minimum dl per distinct frequency (the first of each run) */
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (m == 0 || tmp[i].tf != tmp[m - 1].tf) tmp[m++] = tmp[i];
  /* from the highest frequency down, keep a pair only if its dl is below
   * every kept dl; the kept pairs, reversed, ascend in both */
  fpair *fr = tmp + n; /* the frontier, built from the top down */
  size_t k = 0;
  uint32_t best = UINT32_MAX;
  for (size_t i = m; i-- > 0;)
    if (tmp[i].dl < best) {
      best = tmp[i].dl;
      fr[k++] = tmp[i];
    }
  /* ascending frequency; norms; equal norms merge keeping the larger
   * frequency (the later one) */
  size_t q = 0;
  for (size_t i = k; i-- > 0;) {
    fpair p = {fr[i].tf, dl_norm(fr[i].dl)};
    if (q && tmp[q - 1].dl == p.dl) tmp[q - 1] = p;
    else tmp[q++] = p;
  }
  varint(out, doc[b - 1]);
  varint(out, q);
  uint32_t pf = 0, pn = 0;
  for (size_t i = 0; i < q; i++) {
    uint32_t dn = tmp[i].dl - pn;
    uint32_t x = dn != 1;
    varint(out, ((uint64_t)(tmp[i].tf - pf - 1) << 1) | x);
    if (x) mw_buf_u8(out, (uint8_t)dn);
    pf = tmp[i].tf;
    pn = tmp[i].dl;
  }
}

/* Lance's block score terms, in f32 and in Lance's order of operations
 * (compute_block_score_and_impact_block): per posting tf / (tf + doc_norm)
 * with doc_norm = K1 (1 - B + B dl / avgdl), avgdl = total / N; the block
 * maximum times idf_scale = idf(n, N) (K1 + 1), idf = ln((N - n + 0.5) /
 * (n + 0.5) + 1). Volatile stores keep every step in f32. */
static float lance_idf_scale(uint32_t n, uint32_t n_docs) {
  volatile float N = (float)n_docs, q = (float)n;
  volatile float r = (N - q + 0.5f) / (q + 0.5f) + 1.0f;
  volatile float idf = logf(r);
  return idf * (1.2f + 1.0f);
}

static float lance_doc_weight(uint32_t tf, uint32_t dl, float avgdl) {
  volatile float norm = 1.2f * (1.0f - 0.75f + 0.75f * (float)dl / avgdl);
  volatile float f = (float)tf;
  return f / (f + norm);
}

typedef struct fdoc {
  uint64_t off;
  uint32_t len, src;
} fdoc;

static int fdoc_cmp(const void *a, const void *b) {
  const fdoc *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

typedef struct dtf {
  uint32_t doc, tf;
} dtf;

static int dtf_cmp(const void *a, const void *b) {
  const dtf *x = a, *y = b;
  return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static mw_status build_fts(gen_out *o, const mw_gen_rows *g, const mw_gen_index *ix, mw_error *err) {
  if (!ix->fts) return mw_err(err, MW_ERR_INVALID, "FTS index without its in-memory index");
  /* the in-memory index read in place (its read lock held until the
   * terms are encoded below; no I/O meanwhile), not copied first */
  mw_fts_view x;
  MW_TRY(mw_fts_view_open(&x, ix->fts, err));
  mw_status s = MW_OK;
  size_t mp = (size_t)x.max_postings + 1; /* per-term arrays: one term's postings at a time */
  fdoc *docs = malloc(((size_t)x.n_docs + 1) * sizeof *docs);
  uint32_t *newid = malloc(((size_t)x.n_docs + 1) * sizeof *newid);
  uint32_t *dlen = malloc(((size_t)x.n_docs + 1) * sizeof *dlen);
  uint32_t *raw = malloc(2 * mp * sizeof *raw);
  dtf *tp = malloc(mp * sizeof *tp);
  uint32_t *pdoc = malloc(mp * sizeof *pdoc);
  uint32_t *ptf = malloc(mp * sizeof *ptf);
  fpair *scratch = malloc(2 * mp * sizeof *scratch);
  uint64_t *ks = malloc(((size_t)FTS_IMPACT_GROUP * FTS_BLOCK + 1) * sizeof *ks); /* an entry's postings */
  gcol tk[2], dc[2], iv[4], md[1];
  for (int i = 0; i < 2; i++) gcol_init(&tk[i]), gcol_init(&dc[i]);
  for (int i = 0; i < 4; i++) gcol_init(&iv[i]);
  gcol_init(&md[0]);
  mw_buf blk;
  mw_buf_init(&blk);
  char *m_docs = NULL, *m_inv = NULL, *m_meta = NULL;
  if (!docs || !newid || !dlen || !raw || !tp || !pdoc || !ptf || !scratch || !ks) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building FTS index");
    goto done;
  }
  /* documents of the generation, in row-offset order */
  uint32_t nd = 0;
  uint64_t total = 0;
  for (uint32_t d = 0; d < x.n_docs; d++) {
    newid[d] = UINT32_MAX;
    uint64_t r;
    uint32_t dl;
    mw_fts_view_doc(&x, d, &r, &dl);
    if (r < g->n_input && g->offset_of[r] >= 0) docs[nd++] = (fdoc){(uint64_t)g->offset_of[r], dl, d};
  }
  qsort(docs, nd, sizeof *docs, fdoc_cmp);
  for (uint32_t i = 0; i < nd; i++) {
    newid[docs[i].src] = i;
    dlen[i] = docs[i].len;
    total += docs[i].len;
  }

  /* docs file: {_rowid u64, _num_tokens u32}, metadata total_tokens */
  for (uint32_t i = 0; i < nd; i++) {
    mw_buf_u64le(&dc[0].b[1], docs[i].off);
    mw_buf_u32le(&dc[1].b[1], docs[i].len);
  }
  char tt[24];
  snprintf(tt, sizeof tt, "%llu", (unsigned long long)total);
  mw_kv dkv[1] = {kv_str("total_tokens", tt)};
  m_docs = meta_of(dkv, 1, err);
  if (!m_docs[0]) s = MW_ERR_NOMEM;

  /* terms, postings, blocks */
  mw_buf_u32le(&tk[0].b[1], 0);
  mw_buf_u32le(&iv[0].b[1], 0);
  mw_buf_u64le(&iv[0].cb[1], 0);
  mw_buf_u32le(&iv[3].b[1], 0);
  mw_buf_u64le(&iv[3].cb[1], 0);
  uint32_t nt = 0;
  int64_t post_items = 0, imp_items = 0;
  for (uint32_t t = 0; s == MW_OK && t < x.n_terms; t++) {
    size_t n = 0;
    uint32_t klen, np;
    const char *key = mw_fts_view_term(&x, t, &klen, &np);
    mw_fts_view_postings(&x, t, raw);
    for (uint32_t p = 0; p < np; p++) {
      uint32_t d = newid[raw[2 * p]];
      if (d != UINT32_MAX) tp[n++] = (dtf){d, raw[2 * p + 1]};
    }
    if (!n) continue;
    /* usually in order already (a term's postings are appended as docs
     * are inserted, and offsets keep insertion order): checked first */
    size_t sorted = 1;
    while (sorted < n && tp[sorted - 1].doc < tp[sorted].doc) sorted++;
    if (sorted < n) qsort(tp, n, sizeof *tp, dtf_cmp);
    for (size_t i = 0; i < n; i++) {
      pdoc[i] = tp[i].doc;
      ptf[i] = tp[i].tf;
    }
    /* token */
    mw_buf_append(&tk[0].b[2], key, klen);
    mw_buf_u32le(&tk[0].b[1], (uint32_t)tk[0].b[2].len);
    mw_buf_u32le(&tk[1].b[1], nt);
    float idf_scale = lance_idf_scale((uint32_t)n, nd), avgdl_f = (float)total / (float)nd;
    float max_score = -FLT_MAX;
    size_t nb = (n + FTS_BLOCK - 1) / FTS_BLOCK;
    for (size_t bi = 0; bi < nb; bi++) {
      size_t a = bi * FTS_BLOCK, b = a + FTS_BLOCK < n ? a + FTS_BLOCK : n;
      float bs = -FLT_MAX;
      for (size_t i = a; i < b; i++) {
        float w = lance_doc_weight(ptf[i], dlen[pdoc[i]], avgdl_f);
        if (w > bs) bs = w;
      }
      bs *= idf_scale;
      if (bs > max_score) max_score = bs;
      blk.len = 0;
      uint8_t f4[4];
      memcpy(f4, &bs, 4);
      mw_buf_append(&blk, f4, 4);
      if (b - a == FTS_BLOCK) {
        uint32_t dv[FTS_BLOCK], fv[FTS_BLOCK];
        mw_buf_u32le(&blk, pdoc[a]);
        for (size_t i = 0; i < FTS_BLOCK; i++) {
          dv[i] = i ? pdoc[a + i] - pdoc[a + i - 1] : 0;
          fv[i] = ptf[a + i];
        }
        pack128(&blk, dv);
        pack128(&blk, fv);
      } else {
        for (size_t i = a; i < b; i++) varint(&blk, i == a ? pdoc[i] : pdoc[i] - pdoc[i - 1]);
        for (size_t i = a; i < b; i++) varint(&blk, ptf[i]);
      }
      mw_buf_append(&iv[0].cb[2], blk.data, blk.len);
      mw_buf_u64le(&iv[0].cb[1], iv[0].cb[2].len);
      post_items++;
    }
    mw_buf_u32le(&iv[0].b[1], (uint32_t)post_items);
    uint8_t f4[4];
    memcpy(f4, &max_score, 4);
    mw_buf_append(&iv[1].b[1], f4, 4);
    mw_buf_u32le(&iv[2].b[1], (uint32_t)n);
    /* impacts: one level-0 entry per block, then one level-1 entry per
     * group of FTS_IMPACT_GROUP blocks */
    for (size_t bi = 0; bi < nb; bi++) {
      size_t a = bi * FTS_BLOCK, b = a + FTS_BLOCK < n ? a + FTS_BLOCK : n;
      blk.len = 0;
      impact_entry(&blk, pdoc, ptf, dlen, a, b, scratch, ks);
      mw_buf_append(&iv[3].cb[2], blk.data, blk.len);
      mw_buf_u64le(&iv[3].cb[1], iv[3].cb[2].len);
      imp_items++;
    }
    for (size_t gi = 0; gi * FTS_IMPACT_GROUP < nb; gi++) {
      size_t a = gi * FTS_IMPACT_GROUP * FTS_BLOCK, b = a + (size_t)FTS_IMPACT_GROUP * FTS_BLOCK;
      if (b > n) b = n;
      blk.len = 0;
      impact_entry(&blk, pdoc, ptf, dlen, a, b, scratch, ks);
      mw_buf_append(&iv[3].cb[2], blk.data, blk.len);
      mw_buf_u64le(&iv[3].cb[1], iv[3].cb[2].len);
      imp_items++;
    }
    mw_buf_u32le(&iv[3].b[1], (uint32_t)imp_items);
    nt++;
    if (post_items > INT32_MAX || imp_items > INT32_MAX || tk[0].b[2].len > INT32_MAX)
      s = mw_err(err, MW_ERR_UNSUPPORTED, "FTS index too large for one partition");
  }
  mw_fts_view_close(&x); /* everything is in the column buffers now */
  if (s == MW_OK &&
      !(gcol_finish(&tk[0], nt, 0, 3) && gcol_finish(&tk[1], nt, 0, 2) && gcol_finish(&dc[0], nd, 0, 2) &&
        gcol_finish(&dc[1], nd, 0, 2) && gcol_finish_list(&iv[0], nt, post_items, 3) && gcol_finish(&iv[1], nt, 0, 2) &&
        gcol_finish(&iv[2], nt, 0, 2) && gcol_finish_list(&iv[3], nt, imp_items, 3) && mw_buf_ok(&blk)))
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building FTS index");
  uint64_t part = 0;
  if (s == MW_OK) {
    uint8_t r[16];
    s = mw_uuid_v4(r, err);
    for (int i = 0; i < 8; i++) part = part << 8 | r[i];
    part >>= 1; /* Lance's ids are u64; stay below 2^63 for any JSON reader */
  }
  char name[96];
  static const char *const tk_f[2] = {"u", "I"}, *const tk_n[2] = {"_token", "_token_id"};
  static const char *const dc_f[2] = {"L", "I"}, *const dc_n[2] = {"_rowid", "_num_tokens"};
  static const char *const iv_f[4] = {"+l|Z", "f", "I", "+l|Z"},
                           *const iv_n[4] = {"_posting", "_max_score", "_length", "_impacts"};
  mw_kv ikv[3] = {kv_str("format_version", "2"), kv_str("posting_block_size", "128"),
                  kv_str("posting_tail_codec", "varint_delta_v1")};
  if (s == MW_OK) {
    m_inv = meta_of(ikv, 3, err);
    if (!m_inv[0]) s = MW_ERR_NOMEM;
  }
  if (s == MW_OK) {
    fspec fs = {2, tk_f, tk_n, 0, 0, NULL, NULL, 0};
    snprintf(name, sizeof name, "part_%llu_tokens.lance", (unsigned long long)part);
    s = write_file20(o, name, &fs, tk, nt, err);
  }
  if (s == MW_OK) {
    fspec fs = {2, dc_f, dc_n, 0, 0, m_docs, NULL, 0};
    snprintf(name, sizeof name, "part_%llu_docs.lance", (unsigned long long)part);
    s = write_file20(o, name, &fs, dc, nd, err);
  }
  if (s == MW_OK) {
    fspec fs = {4, iv_f, iv_n, 0x9, 0, m_inv, NULL, 0};
    snprintf(name, sizeof name, "part_%llu_invert.lance", (unsigned long long)part);
    s = write_file20(o, name, &fs, iv, nt, err);
  }
  if (s == MW_OK) {
    /* metadata.lance: one null utf8 row; the index's parameters */
    char parts[32];
    snprintf(parts, sizeof parts, "[%llu]", (unsigned long long)part);
    mw_kv mkv[6] = {kv_str("params", FTS_PARAMS), kv_str("partitions", parts), kv_str("token_set_format", "arrow"),
                    kv_str("posting_tail_codec", "varint_delta_v1"), kv_str("format_version", "2"),
                    kv_str("posting_block_size", "128")};
    m_meta = meta_of(mkv, 6, err);
    if (!m_meta[0]) s = MW_ERR_NOMEM;
    mw_buf_u8(&md[0].b[0], 0);
    mw_buf_u32le(&md[0].b[1], 0);
    mw_buf_u32le(&md[0].b[1], 0);
    static const char *const md_f[1] = {"u"}, *const md_n[1] = {"_placeholder"};
    if (s == MW_OK && !gcol_finish(&md[0], 1, 1, 3)) s = mw_err(err, MW_ERR_NOMEM, "out of memory");
    fspec fs = {1, md_f, md_n, 1, 0, m_meta, NULL, 0};
    if (s == MW_OK) s = write_file20(o, "metadata.lance", &fs, md, 1, err);
  }
  /* InvertedIndexDetails as Lance 12 records the default tokenizer */
  mw_pb_str(&o->details, 1, "simple");
  mw_pb_str(&o->details, 2, "\"English\"");
  mw_pb_u64(&o->details, 4, 40);
  for (uint32_t f = 5; f <= 8; f++) mw_pb_u64(&o->details, f, 1);
  mw_pb_u64(&o->details, 9, 3);
  mw_pb_u64(&o->details, 10, 3);
  mw_pb_u64(&o->details, 12, FTS_BLOCK);
  mw_pb_u64(&o->details, 15, 2);
  o->type_url = "/lance.table.InvertedIndexDetails";
  o->index_version = 2;
  o->created_at = false;
  o->list_files = false;
  if (s == MW_OK && !mw_buf_ok(&o->details)) s = mw_err(err, MW_ERR_NOMEM, "out of memory");
done:
  if (m_docs && m_docs[0]) free(m_docs);
  if (m_inv && m_inv[0]) free(m_inv);
  if (m_meta && m_meta[0]) free(m_meta);
  for (int i = 0; i < 2; i++) gcol_free(&tk[i]), gcol_free(&dc[i]);
  for (int i = 0; i < 4; i++) gcol_free(&iv[i]);
  gcol_free(&md[0]);
  mw_buf_free(&blk);
  free(docs);
  free(newid);
  free(dlen);
  free(tp);
  free(pdoc);
  free(ptf);
  free(scratch);
  free(ks);
  free(raw);
  mw_fts_view_close(&x);
  return s;
}

/* ------------------------------------------------------------ IVF_HNSW_SQ */

/* lance.index.pb.IVF with one partition: offsets [0], lengths [len], a zero
 * centroid tensor (FLOAT32 = 2) of shape [1, dim]. */
static void ivf_pb(mw_buf *out, uint64_t len, uint32_t dim) {
  uint64_t zero = 0, shape[2] = {1, dim};
  mw_pb_packed_u64(out, 2, &zero, 1);
  mw_pb_packed_u64(out, 3, &len, 1);
  mw_buf t;
  mw_buf_init(&t);
  mw_pb_u64(&t, 1, 2);
  mw_pb_packed_u64(&t, 2, shape, 2);
  mw_pb_key(&t, 3, 2);
  mw_pb_varint(&t, (uint64_t)dim * 4);
  mw_buf_append_zeros(&t, (size_t)dim * 4);
  mw_pb_msg(out, 4, &t);
  mw_buf_free(&t);
}

typedef struct hnode {
  uint64_t off;
  uint32_t src;
} hnode;

static int hnode_cmp(const void *a, const void *b) {
  const hnode *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

typedef struct hnbr {
  float d;
  uint32_t id;
} hnbr;

static bool hnbr_less(hnbr x, hnbr y) { return x.d != y.d ? x.d < y.d : x.id < y.id; }

/* By distance, then id: an inline insertion sort (a list holds at most
 * 2 m + 64 links; qsort's comparator calls cost more than the sort). */
static void sort_hnbr(hnbr *a, size_t n) {
  for (size_t i = 1; i < n; i++) {
    hnbr v = a[i];
    size_t j = i;
    for (; j > 0 && hnbr_less(v, a[j - 1]); j--) a[j] = a[j - 1];
    a[j] = v;
  }
}

/* SQ8 bounds: the minimum and maximum over every value of the nodes'
 * vectors, kept in f32 (exact: they are input values); from each node's
 * own minimum and maximum, which the index keeps since the insert
 * (mw_hnsw_graph.vmin: a pass over nodes, not over every component; the
 * same element a pass over every value in node order keeps). */
static void sq_bounds(double *lo_out, double *hi_out, const mw_hnsw_graph *x, const hnode *nodes, uint32_t nn) {
  float lo = INFINITY, hi = -INFINITY;
  for (uint32_t k = 0; k < nn; k++) {
    uint32_t i = nodes[k].src;
    lo = x->vmin[i] < lo ? x->vmin[i] : lo;
    hi = x->vmax[i] > hi ? x->vmax[i] : hi;
  }
  *lo_out = lo;
  *hi_out = hi;
}

/* One vector's codes, Lance's formula in f64: trunc((v - lo) * 255 /
 * range), at most 255 (v >= lo, so never negative); through an i32 so the
 * loop vectorises. */
static void sq_encode(uint8_t *out, const float *v, uint32_t dim, double lo, double range) {
  for (uint32_t j = 0; j < dim; j++) {
    double c = ((double)v[j] - lo) * 255.0 / range;
    out[j] = (uint8_t)(int32_t)(c < 255.0 ? c : 255.0);
  }
}

static mw_status build_hnsw(gen_out *o, const mw_gen_rows *g, const mw_gen_index *ix, bool *skip, mw_error *err) {
  *skip = false;
  if (!ix->hnsw) return mw_err(err, MW_ERR_INVALID, "HNSW index without its in-memory index");
  mw_hnsw_graph x; /* nodes only: each link list is read once, in place, below */
  MW_TRY(mw_hnsw_export_nodes(&x, ix->hnsw, err));
  mw_status s = MW_OK;
  uint32_t dim = x.dim, nn = 0;
  const size_t hm = x.m ? x.m : MW_HNSW_DEFAULT_M; /* max_connections: 2 hm links at level 0, hm above */
  hnode *nodes = malloc(((size_t)x.n_nodes + 1) * sizeof *nodes);
  uint32_t *newid = malloc(((size_t)x.n_nodes + 1) * sizeof *newid);
  hnbr *tmp = malloc((2 * hm + 64) * sizeof *tmp);
  uint32_t *lid = malloc(2 * hm * sizeof *lid);
  float *ldist = malloc(2 * hm * sizeof *ldist);
  gcol ax[2], hx[3];
  for (int i = 0; i < 2; i++) gcol_init(&ax[i]);
  for (int i = 0; i < 3; i++) gcol_init(&hx[i]);
  mw_buf ivf_a, ivf_h, js;
  mw_buf_init(&ivf_a);
  mw_buf_init(&ivf_h);
  mw_buf_init(&js);
  char *m_aux = NULL, *m_idx = NULL;
  if (!nodes || !newid || !tmp || !lid || !ldist) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building HNSW index");
    goto done;
  }
  /* the generation's vectors: graph nodes whose rows survived, by offset */
  for (uint32_t i = 0; i < x.n_nodes; i++) {
    newid[i] = UINT32_MAX;
    uint64_t r = x.rows[i];
    if (r < g->n_input && g->offset_of[r] >= 0) nodes[nn++] = (hnode){(uint64_t)g->offset_of[r], i};
  }
  if (nn == 0) { /* e.g. a generation of tombstones: no vector index (as Lance) */
    *skip = true;
    goto done;
  }
  qsort(nodes, nn, sizeof *nodes, hnode_cmp);
  for (uint32_t k = 0; k < nn; k++) newid[nodes[k].src] = k;

  /* auxiliary.idx: {_rowid, __sq_code}, SQ8 over the global bounds */
  double lo, hi;
  sq_bounds(&lo, &hi, &x, nodes, nn);
  /* codes written straight into the column buffer (one pass, a loop the
   * compiler vectorises); the formula stays Lance's, in f64 */
  double range = hi > lo ? hi - lo : 0;
  size_t code_bytes = (size_t)nn * dim;
  mw_buf_reserve(&ax[0].b[1], (size_t)nn * 8);
  if (mw_buf_reserve(&ax[1].cb[1], code_bytes)) { /* every byte written below: not zeroed first */
    ax[1].cb[1].len = code_bytes;
    if (!(range > 0)) memset(ax[1].cb[1].data, 0, code_bytes);
  }
  for (uint32_t k = 0; k < nn && !ax[1].cb[1].failed; k++) {
    mw_buf_u64le(&ax[0].b[1], nodes[k].off);
    if (range > 0) sq_encode(ax[1].cb[1].data + (size_t)k * dim, x.vecs[nodes[k].src], dim, lo, range);
  }
  char slo[MW_FLOAT_FMT_MAX + 1], shi[MW_FLOAT_FMT_MAX + 1];
  slo[mw_float_fmt_f64(slo, lo)] = 0;
  shi[mw_float_fmt_f64(shi, hi)] = 0;
  char sq[256], sqa[320];
  snprintf(sq, sizeof sq, "{\"dim\":%u,\"num_bits\":8,\"bounds\":{\"start\":%s,\"end\":%s}}", dim, slo, shi);
  snprintf(sqa, sizeof sqa, "[\"{\\\"dim\\\":%u,\\\"num_bits\\\":8,\\\"bounds\\\":{\\\"start\\\":%s,\\\"end\\\":%s}}\"]", dim,
           slo, shi);
  const char *metric = mw_metric_name(x.metric);
  mw_kv akv[4] = {kv_str("distance_type", metric), kv_str("lance:sq", sq), kv_str("storage_metadata", sqa),
                  kv_str("lance:ivf", "1")};
  m_aux = meta_of(akv, 4, err);
  if (!m_aux[0]) s = MW_ERR_NOMEM;
  ivf_pb(&ivf_a, nn, dim);
  char fslf[32];
  snprintf(fslf, sizeof fslf, "+w:%u|C", dim);
  const char *ax_f[2] = {"L", fslf};
  static const char *const ax_n[2] = {"_rowid", "__sq_code"};
  if (s == MW_OK && !(gcol_finish(&ax[0], nn, 0, 2) && gcol_finish_fsl(&ax[1], nn, (int64_t)nn * dim) &&
                      mw_buf_ok(&ivf_a)))
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building HNSW index");
  if (s == MW_OK) {
    fspec fs = {2, ax_f, ax_n, 0x2, 0, m_aux, ivf_a.data, ivf_a.len};
    s = write_file20(o, "auxiliary.idx", &fs, ax, nn, err);
  }

  /* index.idx: one row per (node, level), level by level; neighbours
   * remapped (dropped nodes removed), sorted by distance */
  uint32_t levels = x.max_level ? x.max_level : MW_HNSW_MAX_LEVEL;
  if (levels > MW_HNSW_MAX_LEVEL) levels = MW_HNSW_MAX_LEVEL;
  uint64_t lvl_off[MW_HNSW_MAX_LEVEL + 1];
  uint64_t rows = 0, items = 0;
  int top = 0;
  uint32_t entry = UINT32_MAX;
  /* every buffer sized once (upper bounds: full link lists, 2 m at level
   * 0 and m above, and the (node, level) rows), so nothing is copied by
   * growth; reserved pages never written cost nothing */
  size_t max_items = 0, max_rows = 0;
  for (uint32_t k = 0; k < nn; k++) {
    max_rows += (size_t)x.levels[nodes[k].src] + 1;
    max_items += 2 * hm + (size_t)x.levels[nodes[k].src] * hm;
  }
  /* written through raw pointers below (no per-item append calls); the
   * lengths are set once the rows are known */
  if (s == MW_OK && !(mw_buf_reserve(&hx[0].b[1], max_rows * 4) && mw_buf_reserve(&hx[1].b[1], (max_rows + 1) * 4) &&
                      mw_buf_reserve(&hx[2].b[1], (max_rows + 1) * 4) && mw_buf_reserve(&hx[1].cb[1], max_items * 4) &&
                      mw_buf_reserve(&hx[2].cb[1], max_items * 4)))
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building HNSW index");
  uint8_t *w_vid = hx[0].b[1].data, *w_noff = hx[1].b[1].data, *w_doff = hx[2].b[1].data;
  uint8_t *w_nbr = hx[1].cb[1].data, *w_dist = hx[2].cb[1].data;
  if (s == MW_OK) {
    mw_store_u32le(w_noff, 0);
    mw_store_u32le(w_doff, 0);
  }
  for (uint32_t l = 0; s == MW_OK && l < levels; l++) {
    lvl_off[l] = rows;
    for (uint32_t k = 0; k < nn; k++) {
      uint32_t i = nodes[k].src;
      if (x.levels[i] < l) continue;
      if ((int)l >= top) {
        if ((int)l > top || entry == UINT32_MAX) entry = k;
        top = (int)l;
      }
      size_t cnt = 0;
      uint32_t nlk = mw_hnsw_graph_links(&x, i, l, lid, ldist);
      for (uint32_t p = 0; p < nlk; p++) {
        uint32_t nb = lid[p];
        if (nb >= x.n_nodes || newid[nb] == UINT32_MAX || nb == i) continue;
        if (cnt == (l == 0 ? 2 * hm : hm)) break; /* a list's capacity: keeps the writes within the reserve */
        /* the distance the index computed when it made the link (not
         * recomputed from the vectors: that was most of this loop's time) */
        tmp[cnt++] = (hnbr){ldist[p], newid[nb]};
      }
      sort_hnbr(tmp, cnt);
      /* within the reserved sizes: rows <= max_rows, items <= max_items
       * (cnt <= the list's capacity: 2 hm at level 0, hm above) */
      mw_store_u32le(w_vid + 4 * rows, k);
      for (size_t j = 0; j < cnt; j++) {
        mw_store_u32le(w_nbr + 4 * (items + j), tmp[j].id);
        uint32_t bits;
        memcpy(&bits, &tmp[j].d, 4);
        mw_store_u32le(w_dist + 4 * (items + j), bits);
      }
      items += cnt;
      rows++;
      mw_store_u32le(w_noff + 4 * rows, (uint32_t)items);
      mw_store_u32le(w_doff + 4 * rows, (uint32_t)items);
    }
    if (items > INT32_MAX) s = mw_err(err, MW_ERR_UNSUPPORTED, "HNSW graph too large for one index file");
  }
  lvl_off[levels] = rows;
  if (s == MW_OK) {
    hx[0].b[1].len = (size_t)rows * 4;
    hx[1].b[1].len = hx[2].b[1].len = ((size_t)rows + 1) * 4;
    hx[1].cb[1].len = hx[2].cb[1].len = (size_t)items * 4;
  }
  /* the entry point: the original one when it survived and sits on the top
   * level, else the first node of the top level */
  if (x.entry < x.n_nodes && newid[x.entry] != UINT32_MAX && x.levels[x.entry] == top) entry = newid[x.entry];
  static const char ep[] = "[\"{\\\"entry_point\\\":";
  mw_buf_append(&js, ep, sizeof ep - 1);
  char num[48];
  int nl = snprintf(num, sizeof num, "%u", entry);
  mw_buf_append(&js, num, (size_t)nl);
  nl = snprintf(num, sizeof num, ",\\\"params\\\":{\\\"max_level\\\":%u,", levels);
  mw_buf_append(&js, num, (size_t)nl);
  nl = snprintf(num, sizeof num, "\\\"m\\\":%u,", x.m ? x.m : MW_HNSW_DEFAULT_M);
  mw_buf_append(&js, num, (size_t)nl);
  nl = snprintf(num, sizeof num, "\\\"ef_construction\\\":%u,",
                x.ef_construction ? x.ef_construction : MW_HNSW_DEFAULT_EF_CONSTRUCTION);
  mw_buf_append(&js, num, (size_t)nl);
  static const char pf[] = "\\\"prefetch_distance\\\":2},\\\"level_offsets\\\":[";
  mw_buf_append(&js, pf, sizeof pf - 1);
  for (uint32_t l = 0; l <= levels; l++) {
    nl = snprintf(num, sizeof num, "%s%llu", l ? "," : "", (unsigned long long)lvl_off[l]);
    mw_buf_append(&js, num, (size_t)nl);
  }
  mw_buf_append(&js, "]}\"]", 5); /* with the NUL */
  char idxj[128];
  snprintf(idxj, sizeof idxj, "{\"type\":\"IVF_HNSW_SQ\",\"distance_type\":\"%s\"}", metric);
  if (s == MW_OK && !mw_buf_ok(&js)) s = mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (s == MW_OK) {
    mw_kv hkv[3] = {kv_str("lance:index", idxj), kv_str("lance:hnsw", (const char *)js.data), kv_str("lance:ivf", "1")};
    m_idx = meta_of(hkv, 3, err);
    if (!m_idx[0]) s = MW_ERR_NOMEM;
  }
  ivf_pb(&ivf_h, rows, dim);
  static const char *const hx_f[3] = {"I", "+l|I", "+l|f"}, *const hx_n[3] = {"__vector_id", "__neighbors", "_distance"};
  if (s == MW_OK && !(gcol_finish(&hx[0], (int64_t)rows, 0, 2) && gcol_finish_list(&hx[1], (int64_t)rows, (int64_t)items, 2) &&
                      gcol_finish_list(&hx[2], (int64_t)rows, (int64_t)items, 2) && mw_buf_ok(&ivf_h)))
    s = mw_err(err, MW_ERR_NOMEM, "out of memory building HNSW index");
  if (s == MW_OK) {
    fspec fs = {3, hx_f, hx_n, 0x6, 0x6, m_idx, ivf_h.data, ivf_h.len};
    s = write_file20(o, "index.idx", &fs, hx, (int64_t)rows, err);
  }
  o->type_url = "/lance.index.pb.VectorIndexDetails";
  o->index_version = 1;
  o->created_at = true;
  o->list_files = false;
done:
  if (m_aux && m_aux[0]) free(m_aux);
  if (m_idx && m_idx[0]) free(m_idx);
  for (int i = 0; i < 2; i++) gcol_free(&ax[i]);
  for (int i = 0; i < 3; i++) gcol_free(&hx[i]);
  mw_buf_free(&ivf_a);
  mw_buf_free(&ivf_h);
  mw_buf_free(&js);
  free(nodes);
  free(newid);
  free(tmp);
  free(lid);
  free(ldist);
  mw_hnsw_graph_free(&x);
  return s;
}

mw_status mw_gen_index_write(mw_buf *section, mw_objstore *store, const char *prefix, const mw_gen_index *ix,
                             const mw_gen_rows *g, uint64_t created_ms, mw_error *err) {
  const char *iname = ix->name ? ix->name : "";
  int col = ix->column ? find_column(g->schema, ix->column) : -1;
  if (col < 0)
    return mw_err(err, MW_ERR_INVALID, "index '%s': no column '%s' in the generation schema", iname,
                  ix->column ? ix->column : "");
  gen_out o;
  memset(&o, 0, sizeof o);
  mw_buf_init(&o.details);
  mw_status s;
  bool skip = false;
  switch (ix->kind) {
    case MW_INDEX_BTREE: s = build_btree(&o, g, col, err); break;
    case MW_INDEX_FTS: {
      mw_type t;
      s = mw_type_from_format(&t, g->schema->children[col]->format, err);
      if (s == MW_OK && t.id != MW_T_UTF8 && t.id != MW_T_LARGE_UTF8)
        s = mw_err(err, MW_ERR_UNSUPPORTED, "index '%s': FTS on column '%s', which is not a string column", iname,
                   ix->column);
      if (s == MW_OK) s = build_fts(&o, g, ix, err);
      break;
    }
    case MW_INDEX_HNSW: s = build_hnsw(&o, g, ix, &skip, err); break;
    default:
      s = mw_err(err, MW_ERR_UNSUPPORTED, "index '%s': generation index kind %d is not built yet", iname,
                 (int)ix->kind);
  }
  if (s == MW_OK && skip) {
    gen_out_free(&o);
    return MW_OK;
  }
  uint8_t uuid[16];
  char ustr[MW_UUID_STR_LEN + 1];
  if (s == MW_OK) s = mw_uuid_v4(uuid, err);
  if (s == MW_OK) mw_uuid_format(ustr, uuid);
  /* every file first: the entry is appended only once they all exist */
  for (int i = 0; s == MW_OK && i < o.n; i++) {
    char key[1024];
    int n = snprintf(key, sizeof key, "%s%s_indices/%s/%s", prefix, prefix[0] ? "/" : "", ustr, o.f[i].name);
    if (n < 0 || (size_t)n >= sizeof key) {
      s = mw_err(err, MW_ERR_INVALID, "key prefix too long");
      break;
    }
    s = o.f[i].iov ? mw_objstore_put_if_absent_v(store, key, o.f[i].iov, o.f[i].n_iov, err)
                   : mw_objstore_put_if_absent(store, key, o.f[i].data, o.f[i].len, err);
    if (s != MW_OK) mw_err_wrap(err, s, "writing %s", key);
  }
  if (s == MW_OK) {
    mw_buf e, u, bm, any, fl;
    mw_buf_init(&e); mw_buf_init(&u); mw_buf_init(&bm); mw_buf_init(&any); mw_buf_init(&fl);
    mw_pb_bytes(&u, 1, uuid, 16);
    mw_pb_msg(&e, 1, &u);
    uint64_t fid = (uint64_t)mw_lance_top_field_id(g->schema, col);
    mw_pb_packed_u64(&e, 2, &fid, 1);
    mw_pb_str(&e, 3, iname);
    mw_pb_u64(&e, 4, 1); /* dataset_version */
    mw_roaring_single_zero(&bm);
    mw_pb_msg(&e, 5, &bm);
    mw_pb_str(&any, 1, o.type_url);
    if (o.details.len) mw_pb_msg(&any, 2, &o.details);
    mw_pb_msg(&e, 6, &any);
    mw_pb_i32(&e, 7, o.index_version);
    if (o.created_at) mw_pb_u64(&e, 8, created_ms);
    if (o.list_files)
      for (int i = 0; i < o.n; i++) {
        fl.len = 0;
        mw_pb_str(&fl, 1, o.f[i].name);
        mw_pb_u64(&fl, 2, o.f[i].len);
        mw_pb_msg(&e, 10, &fl);
      }
    mw_pb_msg(section, 1, &e);
    if (!mw_buf_ok(section)) s = mw_err(err, MW_ERR_NOMEM, "out of memory encoding index '%s'", iname);
    mw_buf_free(&e); mw_buf_free(&u); mw_buf_free(&bm); mw_buf_free(&any); mw_buf_free(&fl);
  }
  gen_out_free(&o);
  if (s != MW_OK) mw_err_wrap(err, s, "generation index '%s'", iname);
  return s;
}
