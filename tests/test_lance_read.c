/* test_lance_read.c - the Lance file reader (src/lance/lance_read.c,
 * lance_decode.c) against our own writer: random batches of every type the
 * writer supports (2.0: flat types; 2.1: also structs and lists), nulls
 * everywhere, 1 row to 100k rows, many pages; read back whole, by row range
 * and by column projection, compared value by value (the JSON rendering of
 * every row, which covers validity, values and nesting, plus the schema
 * line with field metadata). Also: reading through an object store with
 * ranged gets, unknown columns, and corrupted files failing with
 * MW_ERR_CORRUPT and a byte offset (never a crash). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "arrow/json.h"
#include "common/buf.h"
#include "lance/lance_file.h"
#include "lance/lance_read.h"
#include "memwal_sys.h"
#include "mw_test.h"

/* ---- random batches: every buffer in a pool freed at the end ---- */

typedef struct pool {
  void *p[4096];
  int n;
} pool;

static void *palloc(pool *pl, size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (!p || pl->n >= 4096) abort();
  pl->p[pl->n++] = p;
  return p;
}

static void pool_free(pool *pl) {
  for (int i = 0; i < pl->n; i++) free(pl->p[i]);
  pl->n = 0;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void noop_a(struct ArrowArray *a) { a->release = NULL; }
static void noop_s(struct ArrowSchema *s) { s->release = NULL; }

static struct ArrowArray *new_arr(pool *pl, int64_t len, int nbuf, int nkids) {
  struct ArrowArray *a = palloc(pl, sizeof *a);
  a->length = len;
  a->n_buffers = nbuf;
  a->buffers = palloc(pl, sizeof(void *) * 3);
  a->n_children = nkids;
  a->children = nkids ? palloc(pl, sizeof(void *) * (size_t)nkids) : NULL;
  a->release = noop_a;
  return a;
}

static struct ArrowSchema *new_sch(pool *pl, const char *fmt, const char *name, bool nullable, int nkids) {
  struct ArrowSchema *s = palloc(pl, sizeof *s);
  s->format = fmt;
  s->name = name;
  s->flags = nullable ? ARROW_FLAG_NULLABLE : 0;
  s->n_children = nkids;
  s->children = nkids ? palloc(pl, sizeof(void *) * (size_t)nkids) : NULL;
  s->release = noop_s;
  return s;
}

/* validity with null probability pct (0: no bitmap) */
static const void *gen_valid(pool *pl, int64_t n, int pct, int64_t *nulls) {
  *nulls = 0;
  if (!pct) return NULL;
  uint8_t *b = palloc(pl, (size_t)(n + 7) / 8);
  for (int64_t i = 0; i < n; i++) {
    if ((int)(rnd() % 100) >= pct) b[i >> 3] |= (uint8_t)(1u << (i & 7));
    else (*nulls)++;
  }
  return b;
}

/* a leaf array of Arrow format fmt (flat types, fixed_size_list via +w) */
static struct ArrowArray *gen_leaf(pool *pl, const char *fmt, int64_t n, int pct) {
  mw_type t;
  if (mw_type_from_format(&t, fmt, NULL) != MW_OK) abort();
  int64_t nulls;
  const void *v = gen_valid(pl, n, pct, &nulls);
  if (t.id == MW_T_UTF8 || t.id == MW_T_BINARY || t.id == MW_T_LARGE_UTF8 || t.id == MW_T_LARGE_BINARY) {
    bool large = t.id == MW_T_LARGE_UTF8 || t.id == MW_T_LARGE_BINARY;
    struct ArrowArray *a = new_arr(pl, n, 3, 0);
    int64_t total = 0;
    int64_t *lens = palloc(pl, sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
      int r = (int)(rnd() % 10);
      lens[i] = r < 7 ? (int64_t)(rnd() % 12) : r < 9 ? (int64_t)(rnd() % 100) : (int64_t)(rnd() % 600);
      total += lens[i];
    }
    uint8_t *data = palloc(pl, (size_t)total);
    for (int64_t i = 0; i < total; i++)
      data[i] = t.id == MW_T_UTF8 || t.id == MW_T_LARGE_UTF8 ? (uint8_t)('a' + rnd() % 26) : (uint8_t)rnd();
    void *off = palloc(pl, (size_t)(n + 1) * (large ? 8 : 4));
    int64_t o = 0;
    for (int64_t i = 0; i <= n; i++) {
      if (large) ((int64_t *)off)[i] = o;
      else ((int32_t *)off)[i] = (int32_t)o;
      if (i < n) o += lens[i];
    }
    a->buffers[0] = v;
    a->buffers[1] = off;
    a->buffers[2] = data;
    a->null_count = nulls;
    return a;
  }
  if (t.id == MW_T_FIXED_SIZE_LIST) {
    struct ArrowArray *a = new_arr(pl, n, 1, 1);
    a->buffers[0] = v;
    a->null_count = nulls;
    a->children[0] = gen_leaf(pl, "f", n * t.width, 0);
    return a;
  }
  struct ArrowArray *a = new_arr(pl, n, 2, 0);
  int bits = mw_type_fixed_bits(&t);
  size_t bytes = bits == 1 ? (size_t)(n + 7) / 8 : (size_t)n * (size_t)bits / 8;
  uint8_t *d = palloc(pl, bytes);
  for (size_t i = 0; i < bytes; i++) d[i] = (uint8_t)rnd();
  if (t.id == MW_T_FLOAT16) /* keep halves finite and non-NaN so JSON compares cleanly */
    for (int64_t i = 0; i < n; i++) d[2 * i + 1] &= 0x3b;
  if (t.id == MW_T_DECIMAL128) /* keep decimals small and positive */
    for (int64_t i = 0; i < n; i++) memset(d + 16 * i + 8, 0, 8);
  a->buffers[0] = v;
  a->buffers[1] = d;
  a->null_count = nulls;
  return a;
}

typedef struct batch {
  struct ArrowSchema *schema;
  struct ArrowArray *array;
} batch;

static const char *const FLAT_TYPES[] = {"b", "c", "C", "s", "S", "i", "I", "l", "L", "e", "f", "g",
                                         "u", "U", "z", "Z", "tdD", "tdm", "tsu:UTC", "tsn:", "w:5",
                                         "+w:8", "d:10,2", "tts", "ttu", "tDm"};
#define N_FLAT (sizeof FLAT_TYPES / sizeof FLAT_TYPES[0])

static char names[64][16];

/* a batch of the flat types (+ nested ones when nested), with nulls */
static batch gen_batch(pool *pl, int64_t n, bool nested, int pct) {
  int ncols = (int)N_FLAT + (nested ? 5 : 0);
  batch b;
  b.schema = new_sch(pl, "+s", "", false, ncols);
  b.array = new_arr(pl, n, 1, ncols);
  static char md[32];
  /* field metadata on column 0: count 1, "k" -> "v" */
  int32_t one = 1, l1 = 1;
  memcpy(md, &one, 4);
  memcpy(md + 4, &l1, 4);
  md[8] = 'k';
  memcpy(md + 9, &l1, 4);
  md[13] = 'v';
  for (int c = 0; c < (int)N_FLAT; c++) {
    snprintf(names[c], sizeof names[c], "c%d", c);
    const char *f = FLAT_TYPES[c];
    struct ArrowSchema *s = new_sch(pl, f, names[c], true, f[0] == '+' ? 1 : 0);
    if (f[0] == '+') s->children[0] = new_sch(pl, "f", "item", true, 0);
    if (c == 0) s->metadata = md;
    b.schema->children[c] = s;
    b.array->children[c] = gen_leaf(pl, f, n, c % 3 == 2 ? 0 : pct);
  }
  if (nested) {
    int c = (int)N_FLAT;
    /* st: struct<x int32, y utf8, inner struct<z double>> */
    struct ArrowSchema *st = new_sch(pl, "+s", "st", true, 3);
    st->children[0] = new_sch(pl, "i", "x", true, 0);
    st->children[1] = new_sch(pl, "u", "y", true, 0);
    st->children[2] = new_sch(pl, "+s", "inner", true, 1);
    st->children[2]->children[0] = new_sch(pl, "g", "z", true, 0);
    struct ArrowArray *sa = new_arr(pl, n, 1, 3);
    int64_t nulls;
    sa->buffers[0] = gen_valid(pl, n, pct, &nulls);
    sa->null_count = nulls;
    sa->children[0] = gen_leaf(pl, "i", n, pct);
    sa->children[1] = gen_leaf(pl, "u", n, pct);
    struct ArrowArray *in = new_arr(pl, n, 1, 1);
    in->buffers[0] = gen_valid(pl, n, pct, &nulls);
    in->null_count = nulls;
    in->children[0] = gen_leaf(pl, "g", n, pct);
    sa->children[2] = in;
    b.schema->children[c] = st;
    b.array->children[c] = sa;
    /* lists: list<int64>, large_list<utf8>, list<bool>, large_list<double> */
    const char *lf[] = {"+l", "+L", "+l", "+L"}, *items[] = {"l", "u", "b", "g"}, *ln[] = {"li", "lu", "lb", "lg"};
    for (int k = 0; k < 4; k++) {
      struct ArrowSchema *ls = new_sch(pl, lf[k], ln[k], true, 1);
      ls->children[0] = new_sch(pl, items[k], "item", true, items[k][0] == '+' ? 1 : 0);
      if (items[k][0] == '+') ls->children[0]->children[0] = new_sch(pl, "f", "item", true, 0);
      struct ArrowArray *la = new_arr(pl, n, 2, 1);
      la->buffers[0] = gen_valid(pl, n, pct, &nulls);
      la->null_count = nulls;
      bool large = lf[k][1] == 'L';
      void *off = palloc(pl, (size_t)(n + 1) * (large ? 8 : 4));
      int64_t o = 0;
      for (int64_t i = 0; i <= n; i++) {
        if (large) ((int64_t *)off)[i] = o;
        else ((int32_t *)off)[i] = (int32_t)o;
        if (i < n && (!la->buffers[0] || mw_bit_get(la->buffers[0], i))) o += (int64_t)(rnd() % 5);
      }
      la->buffers[1] = off;
      la->children[0] = gen_leaf(pl, items[k], o, items[k][0] == '+' ? 0 : pct);
      b.schema->children[c + 1 + k] = ls;
      b.array->children[c + 1 + k] = la;
    }
  }
  return b;
}

/* ---- helpers ---- */

static uint8_t *write_file(const batch *b, mw_lance_version v, uint64_t page_rows, uint64_t page_bytes, size_t *n) {
  mw_error e = {0}, *ep = &e;
  mw_lance_file_options o;
  mw_lance_file_options_init(&o);
  o.version = v;
  o.max_page_rows = page_rows;
  o.max_page_bytes = page_bytes;
  mw_lance_file_writer *w = NULL;
  uint8_t *d = NULL;
  *n = 0;
  CHECK_OK(mw_lance_file_writer_open(&w, b->schema, &o, ep), ep);
  if (!w) return NULL;
  CHECK_OK(mw_lance_file_writer_write(w, b->array, NULL, 0, ep), ep);
  CHECK_OK(mw_lance_file_writer_finish(w, &d, n, ep), ep);
  mw_lance_file_writer_free(w);
  return d;
}

/* JSON of rows [a, b) of batch (schema s) with only columns cols (NULL: all) */
static char *rows_json(const struct ArrowSchema *s, const struct ArrowArray *arr, int64_t a, int64_t b) {
  mw_buf out;
  mw_buf_init(&out);
  mw_error e = {0};
  for (int64_t i = a; i < b; i++) {
    if (mw_json_row(&out, s, arr, i, &e) != MW_OK) {
      fprintf(stderr, "json: %s\n", e.message);
      break;
    }
    mw_buf_u8(&out, '\n');
  }
  mw_buf_u8(&out, 0);
  size_t n;
  return (char *)mw_buf_take(&out, &n);
}

static char *schema_json(const struct ArrowSchema *s) {
  mw_buf out;
  mw_buf_init(&out);
  mw_json_schema(&out, s, NULL);
  mw_buf_u8(&out, 0);
  size_t n;
  return (char *)mw_buf_take(&out, &n);
}

/* first differing line, for failure messages */
static void show_diff(const char *a, const char *b) {
  int line = 0;
  while (*a && *b) {
    const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
    size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
    if (la != lb || memcmp(a, b, la)) {
      fprintf(stderr, "line %d differs:\n  want %.*s\n  got  %.*s\n", line, (int)(la > 600 ? 600 : la), a,
              (int)(lb > 600 ? 600 : lb), b);
      return;
    }
    a += la + (ea ? 1 : 0);
    b += lb + (eb ? 1 : 0);
    line++;
  }
  fprintf(stderr, "line %d: one side ends\n", line);
}

/* reads the whole file and rows [a, b), compares with the batch */
static void check_roundtrip(const batch *b, const uint8_t *d, size_t n, int64_t a, int64_t z) {
  mw_error e = {0}, *ep = &e;
  mw_lance_reader *r = NULL;
  CHECK_OK(mw_lance_reader_open_mem(&r, d, n, "mem.lance", ep), ep);
  if (!r) return;
  CHECK_INT(mw_lance_reader_num_rows(r), b->array->length);
  struct ArrowSchema s;
  struct ArrowArray arr;
  for (int pass = 0; pass < 2; pass++) {
    int64_t lo = pass ? a : 0, hi = pass ? z : b->array->length;
    mw_status st = mw_lance_reader_read(&s, &arr, r, NULL, 0, (uint64_t)lo, (uint64_t)hi, ep);
    CHECK_OK(st, ep);
    if (st != MW_OK) break;
    CHECK_OK(mw_batch_validate(&s, &arr, ep), ep);
    CHECK_INT(arr.length, hi - lo);
    char *sw = schema_json(b->schema), *sg = schema_json(&s);
    CHECK_STR(sg, sw);
    char *want = rows_json(b->schema, b->array, lo, hi), *got = rows_json(&s, &arr, 0, arr.length);
    bool same = strcmp(want, got) == 0;
    CHECK(same);
    if (!same) show_diff(want, got);
    free(sw);
    free(sg);
    free(want);
    free(got);
    mw_array_release(&arr);
    mw_schema_release(&s);
  }
  mw_lance_reader_free(r);
}

/* ---- tests ---- */

static void roundtrip(mw_lance_version v, int64_t rows, int pct, uint64_t page_rows, uint64_t page_bytes) {
  pool pl = {0};
  batch b = gen_batch(&pl, rows, v == MW_LANCE_V2_1, pct);
  size_t n;
  uint8_t *d = write_file(&b, v, page_rows, page_bytes, &n);
  if (d) {
    int64_t a = rows > 2 ? (int64_t)(rnd() % (uint64_t)(rows / 2)) : 0;
    int64_t z = a + (rows > 2 ? (int64_t)(rnd() % (uint64_t)(rows - a)) + 1 : rows - a);
    check_roundtrip(&b, d, n, a, z);
  }
  free(d);
  pool_free(&pl);
}

static void test_v20_small(void) {
  roundtrip(MW_LANCE_V2_0, 1, 50, 0, 0);
  roundtrip(MW_LANCE_V2_0, 7, 30, 0, 0);
  roundtrip(MW_LANCE_V2_0, 1000, 0, 0, 0);
}

static void test_v20_pages(void) {
  roundtrip(MW_LANCE_V2_0, 3000, 20, 300, 0);
  roundtrip(MW_LANCE_V2_0, 2000, 100, 0, 4096); /* all null */
}

static void test_v21_small(void) {
  roundtrip(MW_LANCE_V2_1, 1, 50, 0, 0);
  roundtrip(MW_LANCE_V2_1, 9, 30, 0, 0);
  roundtrip(MW_LANCE_V2_1, 1000, 0, 0, 0);
}

static void test_v21_pages(void) {
  roundtrip(MW_LANCE_V2_1, 5000, 15, 700, 0);
  roundtrip(MW_LANCE_V2_1, 3000, 40, 0, 8192);
  roundtrip(MW_LANCE_V2_1, 1500, 100, 0, 0); /* all null */
}

/* 100k rows of a few columns (keeps the test fast under ASan) */
static void test_100k(void) {
  for (int ver = 0; ver < 2; ver++) {
    pool pl = {0};
    int64_t n = 100000;
    batch b;
    b.schema = new_sch(&pl, "+s", "", false, 4);
    b.array = new_arr(&pl, n, 1, 4);
    const char *f[] = {"l", "u", "+w:8", "b"}, *nm[] = {"id", "text", "vec", "flag"};
    for (int c = 0; c < 4; c++) {
      b.schema->children[c] = new_sch(&pl, f[c], nm[c], true, f[c][0] == '+' ? 1 : 0);
      if (f[c][0] == '+') b.schema->children[c]->children[0] = new_sch(&pl, "f", "item", true, 0);
      b.array->children[c] = gen_leaf(&pl, f[c], n, c == 2 ? 0 : 10);
    }
    size_t len;
    uint8_t *d = write_file(&b, ver ? MW_LANCE_V2_1 : MW_LANCE_V2_0, 0, 1 << 20, &len);
    if (d) check_roundtrip(&b, d, len, 31337, 77777);
    free(d);
    pool_free(&pl);
  }
}

static void test_projection(void) {
  pool pl = {0};
  batch b = gen_batch(&pl, 600, true, 20);
  size_t n;
  uint8_t *d = write_file(&b, MW_LANCE_V2_1, 100, 0, &n);
  mw_error e = {0}, *ep = &e;
  mw_lance_reader *r = NULL;
  CHECK_OK(mw_lance_reader_open_mem(&r, d, n, "p.lance", ep), ep);
  if (r) {
    int ncols = (int)b.schema->n_children;
    const char *cols[3] = {b.schema->children[ncols - 3]->name, b.schema->children[13]->name,
                           b.schema->children[ncols - 5]->name};
    int idx[3] = {ncols - 3, 13, ncols - 5};
    struct ArrowSchema s;
    struct ArrowArray arr;
    CHECK_OK(mw_lance_reader_read(&s, &arr, r, cols, 3, 250, 420, ep), ep);
    CHECK_INT(s.n_children, 3);
    CHECK_INT(arr.length, 170);
    /* a batch of just those columns of the original */
    struct ArrowSchema *ps = new_sch(&pl, "+s", "", false, 3);
    struct ArrowArray *pa = new_arr(&pl, 600, 1, 3);
    for (int i = 0; i < 3; i++) {
      ps->children[i] = b.schema->children[idx[i]];
      pa->children[i] = b.array->children[idx[i]];
    }
    char *want = rows_json(ps, pa, 250, 420), *got = rows_json(&s, &arr, 0, arr.length);
    CHECK_STR(got, want);
    free(want);
    free(got);
    mw_array_release(&arr);
    mw_schema_release(&s);
    const char *bad[1] = {"nope"};
    CHECK_INT(mw_lance_reader_read(&s, &arr, r, bad, 1, 0, 10, ep), MW_ERR_NOT_FOUND);
    /* past the end: clipped to an empty batch */
    CHECK_OK(mw_lance_reader_read(&s, &arr, r, cols, 1, 600, 900, ep), ep);
    CHECK_INT(arr.length, 0);
    mw_array_release(&arr);
    mw_schema_release(&s);
  }
  mw_lance_reader_free(r);
  free(d);
  pool_free(&pl);
}

/* counts gets so the test sees ranged reads */
static void test_store(void) {
  pool pl = {0};
  batch b = gen_batch(&pl, 2000, true, 10);
  size_t n;
  uint8_t *d = write_file(&b, MW_LANCE_V2_1, 200, 0, &n);
  mw_error e = {0}, *ep = &e;
  mw_objstore *st = NULL;
  CHECK_OK(mw_objstore_open(&st, "memory://", NULL, ep), ep);
  if (st && d) {
    CHECK_OK(mw_objstore_put(st, "data/x.lance", d, n, ep), ep);
    mw_lance_reader *r = NULL;
    CHECK_OK(mw_lance_reader_open_store(&r, st, "data/x.lance", ep), ep);
    if (r) {
      struct ArrowSchema s;
      struct ArrowArray arr;
      CHECK_OK(mw_lance_reader_read(&s, &arr, r, NULL, 0, 1500, 1700, ep), ep);
      char *want = rows_json(b.schema, b.array, 1500, 1700), *got = rows_json(&s, &arr, 0, arr.length);
      CHECK_STR(got, want);
      free(want);
      free(got);
      mw_array_release(&arr);
      mw_schema_release(&s);
    }
    mw_lance_reader_free(r);
    CHECK_INT(mw_lance_reader_open_store(&r, st, "data/missing.lance", ep), MW_ERR_NOT_FOUND);
  }
  mw_objstore_close(st);
  free(d);
  pool_free(&pl);
}

/* truncations and byte flips: an error or a valid batch, never a crash; a
 * few targeted ones must say where */
static void test_corrupt(void) {
  pool pl = {0};
  batch b = gen_batch(&pl, 300, true, 20);
  size_t n;
  uint8_t *d = write_file(&b, MW_LANCE_V2_1, 64, 0, &n);
  mw_error e = {0}, *ep = &e;
  mw_lance_reader *r = NULL;
  CHECK(d != NULL);
  if (!d) {
    pool_free(&pl);
    return;
  }
  CHECK_INT(mw_lance_reader_open_mem(&r, d, 39, "t.lance", ep), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "at byte") != NULL);
  CHECK_INT(mw_lance_reader_open_mem(&r, d, n - 1, "t.lance", ep), MW_ERR_CORRUPT);
  uint8_t *c = malloc(n);
  memcpy(c, d, n);
  mw_store_u64le(c + n - 40 + 8, (uint64_t)n); /* CMO table past the end */
  CHECK_INT(mw_lance_reader_open_mem(&r, c, n, "t.lance", ep), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "column metadata offset table") != NULL);
  memcpy(c, d, n);
  mw_store_u16le(c + n - 8, 9); /* version 9.x */
  CHECK_INT(mw_lance_reader_open_mem(&r, c, n, "t.lance", ep), MW_ERR_UNSUPPORTED);
  int errors = 0, oks = 0;
  for (int it = 0; it < 400; it++) {
    memcpy(c, d, n);
    size_t pos = (size_t)(rnd() % n);
    c[pos] ^= (uint8_t)(1 + rnd() % 255);
    r = NULL;
    if (mw_lance_reader_open_mem(&r, c, n, "t.lance", ep) != MW_OK) {
      errors++;
      continue;
    }
    struct ArrowSchema s;
    struct ArrowArray arr;
    if (mw_lance_reader_read(&s, &arr, r, NULL, 0, 0, 300, ep) == MW_OK) {
      oks++;
      mw_buf out;
      mw_buf_init(&out);
      if (mw_batch_validate(&s, &arr, NULL) == MW_OK) mw_json_rows(&out, &s, &arr, NULL);
      mw_buf_free(&out);
      mw_array_release(&arr);
      mw_schema_release(&s);
    } else {
      errors++;
    }
    mw_lance_reader_free(r);
  }
  CHECK_INT(errors + oks, 400);
  CHECK(errors > 0);
  free(c);
  free(d);
  pool_free(&pl);
}

/* an encoding the reader does not know: "unsupported encoding X in column
 * Y", for the page's column only (the others still read) */
static void test_unsupported(void) {
  pool pl = {0};
  batch b = gen_batch(&pl, 50, false, 10);
  size_t n;
  uint8_t *d = write_file(&b, MW_LANCE_V2_1, 0, 0, &n);
  CHECK(d != NULL);
  if (!d) {
    pool_free(&pl);
    return;
  }
  /* the first page's type url (column c0's): PageLayout -> PageLayouX */
  const char *url = "/lance.encodings21.PageLayout";
  uint8_t *hit = NULL;
  for (size_t i = 0; i + strlen(url) <= n && !hit; i++)
    if (!memcmp(d + i, url, strlen(url))) hit = d + i;
  CHECK(hit != NULL);
  if (hit) hit[strlen(url) - 1] = 'X';
  mw_error e = {0}, *ep = &e;
  mw_lance_reader *r = NULL;
  CHECK_OK(mw_lance_reader_open_mem(&r, d, n, "u.lance", ep), ep);
  if (r) {
    struct ArrowSchema s;
    struct ArrowArray arr;
    CHECK_INT(mw_lance_reader_read(&s, &arr, r, NULL, 0, 0, 50, ep), MW_ERR_UNSUPPORTED);
    CHECK(strstr(e.message, "unsupported encoding '/lance.encodings21.PageLayouX' in column c0") != NULL);
    const char *other[1] = {"c1"};
    CHECK_OK(mw_lance_reader_read(&s, &arr, r, other, 1, 0, 50, ep), ep);
    if (arr.release) {
      CHECK_INT(arr.length, 50);
      mw_array_release(&arr);
      mw_schema_release(&s);
    }
  }
  mw_lance_reader_free(r);
  free(d);
  pool_free(&pl);
}

int main(void) {
  MW_RUN(test_v20_small);
  MW_RUN(test_v20_pages);
  MW_RUN(test_v21_small);
  MW_RUN(test_v21_pages);
  MW_RUN(test_100k);
  MW_RUN(test_projection);
  MW_RUN(test_store);
  MW_RUN(test_corrupt);
  MW_RUN(test_unsupported);
  return mw_test_finish();
}
