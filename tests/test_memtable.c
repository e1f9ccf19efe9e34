/* test_memtable.c - the MemTable: insert arithmetic, all-or-nothing insert,
 * references outliving the MemTable, scans (projection, filters via index
 * and row by row, runs as zero-copy slices), index vs row-by-row vs a
 * brute-force model on random data, async indexing, and concurrent inserts
 * with concurrent scans (run under TSan). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "arrow/c_data.h"
#include "memtable/memtable.h"
#include "mw_test.h"

/* ------------------------------------------------------------ builders */

typedef struct own {
  const void *bp[3];
  void *mem[3];
  struct ArrowArray **kids;
  int64_t nk;
} own;

static void own_release(struct ArrowArray *a) {
  own *o = a->private_data;
  for (int i = 0; i < 3; i++) free(o->mem[i]);
  for (int64_t i = 0; i < o->nk; i++) {
    if (o->kids[i]->release) o->kids[i]->release(o->kids[i]);
    free(o->kids[i]);
  }
  free(o->kids);
  free(o);
  a->release = NULL;
}

static own *own_init(struct ArrowArray *a, int64_t len, int n_buffers) {
  own *o = calloc(1, sizeof *o);
  memset(a, 0, sizeof *a);
  a->length = len;
  a->n_buffers = n_buffers;
  a->buffers = o->bp;
  a->release = own_release;
  a->private_data = o;
  return o;
}

/* validity bitmap from a bool array (NULL = all valid); sets null_count */
static void set_validity(struct ArrowArray *a, own *o, const bool *valid, int64_t n) {
  if (!valid) return;
  uint8_t *bm = calloc((size_t)(n + 7) / 8 + 1, 1);
  int64_t nulls = 0;
  for (int64_t i = 0; i < n; i++) {
    if (valid[i]) bm[i >> 3] |= (uint8_t)(1u << (i & 7));
    else nulls++;
  }
  o->mem[0] = bm;
  o->bp[0] = bm;
  a->null_count = nulls;
}

static struct ArrowArray *col_i64(const int64_t *v, const bool *valid, int64_t n) {
  struct ArrowArray *a = malloc(sizeof *a);
  own *o = own_init(a, n, 2);
  int64_t *d = malloc((size_t)(n ? n : 1) * 8);
  memcpy(d, v, (size_t)n * 8);
  o->mem[1] = d;
  o->bp[1] = d;
  set_validity(a, o, valid, n);
  return a;
}

static struct ArrowArray *col_f64(const double *v, int64_t n) {
  struct ArrowArray *a = malloc(sizeof *a);
  own *o = own_init(a, n, 2);
  double *d = malloc((size_t)(n ? n : 1) * 8);
  memcpy(d, v, (size_t)n * 8);
  o->mem[1] = d;
  o->bp[1] = d;
  return a;
}

/* strs[i] NULL = null */
static struct ArrowArray *col_utf8(const char *const *strs, int64_t n) {
  struct ArrowArray *a = malloc(sizeof *a);
  own *o = own_init(a, n, 3);
  int32_t *offs = malloc((size_t)(n + 1) * 4);
  size_t total = 0;
  bool *valid = malloc((size_t)(n ? n : 1));
  bool any_null = false;
  for (int64_t i = 0; i < n; i++) {
    valid[i] = strs[i] != NULL;
    any_null |= !valid[i];
    total += strs[i] ? strlen(strs[i]) : 0;
  }
  char *data = malloc(total + 1);
  offs[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    size_t l = strs[i] ? strlen(strs[i]) : 0;
    memcpy(data + offs[i], strs[i] ? strs[i] : "", l);
    offs[i + 1] = offs[i] + (int32_t)l;
  }
  o->mem[1] = offs;
  o->bp[1] = offs;
  o->mem[2] = data;
  o->bp[2] = data;
  set_validity(a, o, any_null ? valid : NULL, n);
  free(valid);
  return a;
}

/* Struct batch over columns (moved in: the pointers are owned after). */
static void make_batch(struct ArrowArray *out, int64_t n, struct ArrowArray **cols, int64_t nc) {
  own *o = own_init(out, n, 1);
  o->kids = malloc((size_t)nc * sizeof *o->kids);
  memcpy(o->kids, cols, (size_t)nc * sizeof *cols);
  o->nk = nc;
  out->n_children = nc;
  out->children = o->kids;
}

/* schema: id int64, name utf8, score float64 */
static void make_schema(struct ArrowSchema *s) {
  mw_error e;
  if (mw_schema_init(s, "+s", "", NULL, 0, 3, &e) != MW_OK ||
      mw_schema_init(s->children[0], "l", "id", NULL, ARROW_FLAG_NULLABLE, 0, &e) != MW_OK ||
      mw_schema_init(s->children[1], "u", "name", NULL, ARROW_FLAG_NULLABLE, 0, &e) != MW_OK ||
      mw_schema_init(s->children[2], "g", "score", NULL, ARROW_FLAG_NULLABLE, 0, &e) != MW_OK)
    abort();
}

/* Row values of the standard test batches, a function of the id. */
static const char *const NAMES[] = {"apple", "banana", "cherry", "date", "elder", "fig", "grape"};
static bool name_null(int64_t id) { return id % 5 == 4; }
static const char *name_of(int64_t id) { return name_null(id) ? NULL : NAMES[(id % 35) / 5]; }
static double score_of(int64_t id) { return id % 13 == 6 ? NAN : (double)(id % 17) / 2.0; }

static void std_batch(struct ArrowArray *out, int64_t first_id, int64_t n) {
  int64_t *ids = malloc((size_t)n * 8);
  const char **names = malloc((size_t)n * sizeof *names);
  double *scores = malloc((size_t)n * 8);
  for (int64_t i = 0; i < n; i++) {
    ids[i] = first_id + i;
    names[i] = name_of(first_id + i);
    scores[i] = score_of(first_id + i);
  }
  struct ArrowArray *cols[3] = {col_i64(ids, NULL, n), col_utf8(names, n), col_f64(scores, n)};
  make_batch(out, n, cols, 3);
  free(ids);
  free(names);
  free(scores);
}

/* ------------------------------------------------------------ readers
 * Element i of top-level column c of a struct batch (honouring both the
 * struct's and the child's offset). */

static int64_t rd_i64(const struct ArrowArray *b, int64_t c, int64_t i, bool *valid) {
  const struct ArrowArray *a = b->children[c];
  int64_t j = a->offset + b->offset + i;
  if (valid) *valid = a->null_count == 0 || mw_bit_get(a->buffers[0], j);
  return ((const int64_t *)a->buffers[1])[j];
}

static double rd_f64(const struct ArrowArray *b, int64_t c, int64_t i) {
  const struct ArrowArray *a = b->children[c];
  return ((const double *)a->buffers[1])[a->offset + b->offset + i];
}

/* returns NULL for null; else copies into buf */
static const char *rd_str(const struct ArrowArray *b, int64_t c, int64_t i, char *buf, size_t cap) {
  const struct ArrowArray *a = b->children[c];
  int64_t j = a->offset + b->offset + i;
  if (a->null_count != 0 && !mw_bit_get(a->buffers[0], j)) return NULL;
  const int32_t *o = a->buffers[1];
  size_t l = (size_t)(o[j + 1] - o[j]);
  if (l >= cap) l = cap - 1;
  memcpy(buf, (const char *)a->buffers[2] + o[j], l);
  buf[l] = 0;
  return buf;
}

/* Drains a stream whose projection has `id` at column idc: collects ids,
 * batch count, and batch lengths (first 64). Validates each batch. */
typedef struct drained {
  int64_t *ids;
  size_t n;
  int batches;
  int64_t lens[64];
  int invalid;
} drained;

static void drain(drained *d, struct ArrowArrayStream *s, int64_t idc) {
  memset(d, 0, sizeof *d);
  struct ArrowSchema sch;
  if (s->get_schema(s, &sch) != 0) abort();
  size_t cap = 0;
  for (;;) {
    struct ArrowArray b;
    if (s->get_next(s, &b) != 0) abort();
    if (!b.release) break;
    mw_error e;
    if (mw_batch_validate(&sch, &b, &e) != MW_OK) {
      d->invalid++;
      fprintf(stderr, "invalid slice: %s\n", e.message);
    }
    if (d->batches < 64) d->lens[d->batches] = b.length;
    d->batches++;
    for (int64_t i = 0; i < b.length; i++) {
      if (d->n == cap) {
        cap = cap ? cap * 2 : 64;
        d->ids = realloc(d->ids, cap * sizeof *d->ids);
      }
      d->ids[d->n++] = idc >= 0 ? rd_i64(&b, idc, i, NULL) : 0;
    }
    b.release(&b);
  }
  sch.release(&sch);
}

/* ------------------------------------------------------------ tests */

static void test_insert_stats(void) {
  mw_error err_s, *err = &err_s;
  struct ArrowSchema s;
  make_schema(&s);
  mw_memtable *mt;
  CHECK_OK(mw_memtable_new(&mt, &s, 1, NULL, 0, err), err);
  struct ArrowArray b;
  std_batch(&b, 0, 10);
  uint64_t want_bytes = mw_array_byte_size(&s, &b);
  /* 10 ids (80) + names: offsets 44 + bytes + validity 2 + scores 80 */
  size_t name_bytes = 0;
  for (int64_t i = 0; i < 10; i++) name_bytes += name_of(i) ? strlen(name_of(i)) : 0;
  CHECK_INT(want_bytes, 80 + 44 + name_bytes + 2 + 80);
  uint64_t first = 99;
  CHECK_OK(mw_memtable_insert(&first, mt, &b, 1, true, err), err);
  CHECK(b.release == NULL); /* moved */
  CHECK_INT(first, 0);
  mw_memtable_info info;
  mw_memtable_info_get(&info, mt);
  CHECK_INT(info.rows, 10);
  CHECK_INT(info.batches, 1);
  CHECK_INT(info.generation, 1);
  CHECK_INT(info.estimated_size, want_bytes);
  mw_memtable_free(mt);

  /* one insert of 5 batches -> 5 batches, 50 rows; then 1 more */
  CHECK_OK(mw_memtable_new(&mt, &s, 7, NULL, 0, err), err);
  struct ArrowArray five[5];
  uint64_t sum = 0;
  for (int i = 0; i < 5; i++) {
    std_batch(&five[i], i * 10, 10);
    sum += mw_array_byte_size(&s, &five[i]);
  }
  CHECK_OK(mw_memtable_insert(&first, mt, five, 5, false, err), err);
  CHECK_INT(first, 0);
  mw_memtable_info_get(&info, mt);
  CHECK_INT(info.rows, 50);
  CHECK_INT(info.batches, 5);
  CHECK_INT(info.generation, 7);
  CHECK_INT(info.estimated_size, sum);
  std_batch(&b, 50, 3);
  CHECK_OK(mw_memtable_insert(&first, mt, &b, 1, false, err), err);
  CHECK_INT(first, 5);
  mw_memtable_info_get(&info, mt);
  CHECK_INT(info.rows, 53);
  CHECK_INT(info.batches, 6);
  CHECK_INT(mw_memtable_unindexed_rows(mt), 0); /* no indexes */
  CHECK(mw_schema_equal(mw_memtable_schema(mt), &s, true));
  mw_memtable_free(mt);
  s.release(&s);
}

static void test_all_or_nothing(void) {
  mw_error err_s, *err = &err_s;
  struct ArrowSchema s;
  make_schema(&s);
  mw_index_config ix = {sizeof(mw_index_config), "by_id", "id", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100};
  mw_memtable *mt;
  CHECK_OK(mw_memtable_new(&mt, &s, 3, &ix, 1, err), err);
  struct ArrowArray b[3];
  for (int i = 0; i < 3; i++) std_batch(&b[i], i * 4, 4);
  CHECK_OK(mw_memtable_insert(NULL, mt, &b[0], 1, true, err), err);

  /* a released batch in the middle: nothing taken, nothing visible */
  struct ArrowArray two[2] = {b[1], {0}};
  CHECK_INT(mw_memtable_insert(NULL, mt, two, 2, true, err), MW_ERR_INVALID);
  CHECK(two[0].release != NULL);
  mw_memtable_info info;
  mw_memtable_info_get(&info, mt);
  CHECK_INT(info.rows, 4);
  CHECK_INT(info.batches, 1);

  /* frozen: inserts fail, the caller keeps the batches */
  CHECK(!mw_memtable_is_frozen(mt));
  mw_memtable_freeze(mt);
  mw_memtable_freeze(mt); /* idempotent */
  CHECK(mw_memtable_is_frozen(mt));
  struct ArrowArray pair[2] = {b[1], b[2]};
  CHECK_INT(mw_memtable_insert(NULL, mt, pair, 2, true, err), MW_ERR_INVALID);
  CHECK(strstr(err->message, "frozen") != NULL);
  CHECK(pair[0].release != NULL && pair[1].release != NULL);
  mw_memtable_info_get(&info, mt);
  CHECK_INT(info.rows, 4);
  CHECK_INT(info.batches, 1);
  CHECK_INT(mw_memtable_insert(NULL, mt, pair, 0, true, err), MW_ERR_INVALID);
  /* still readable after freeze */
  struct ArrowArrayStream st;
  CHECK_OK(mw_memtable_scan(&st, &mt, 1, NULL, 0, NULL, err), err);
  drained d;
  drain(&d, &st, 0);
  CHECK_INT(d.n, 4);
  st.release(&st);
  free(d.ids);
  pair[0].release(&pair[0]);
  pair[1].release(&pair[1]);
  mw_memtable_free(mt);
  s.release(&s);
}

static void test_refs_outlive_memtable(void) {
  mw_error err_s, *err = &err_s;
  struct ArrowSchema s;
  make_schema(&s);
  mw_memtable *mt;
  CHECK_OK(mw_memtable_new(&mt, &s, 1, NULL, 0, err), err);
  struct ArrowArray b[2];
  std_batch(&b[0], 100, 6);
  std_batch(&b[1], 106, 6);
  CHECK_OK(mw_memtable_insert(NULL, mt, b, 2, true, err), err);
  struct ArrowArray ref, ref2;
  CHECK_OK(mw_memtable_batch_ref(&ref, mt, 1, err), err);
  CHECK_OK(mw_memtable_batch_ref(&ref2, mt, 0, err), err);
  CHECK_INT(mw_memtable_batch_ref(&ref2, mt, 2, err), MW_ERR_INVALID);
  struct ArrowArrayStream st;
  const char *cols[] = {"name", "id"};
  int64_t v = 103;
  struct ArrowArray *va = col_i64(&v, NULL, 1);
  struct ArrowSchema vs;
  CHECK_OK(mw_schema_init(&vs, "l", "v", NULL, 0, 0, err), err);
  mw_scan_filter f = {"id", MW_FILTER_GE, &vs, va};
  CHECK_OK(mw_memtable_scan(&st, &mt, 1, cols, 2, &f, err), err);
  va->release(va);
  free(va);
  vs.release(&vs);
  mw_memtable_free(mt); /* the ref and the stream keep the batches alive */

  CHECK_INT(ref.length, 6);
  CHECK_INT(ref.n_children, 3);
  bool valid;
  CHECK_INT(rd_i64(&ref, 0, 0, &valid), 106);
  CHECK(valid);
  char buf[32];
  CHECK_STR(rd_str(&ref, 1, 1, buf, sizeof buf), name_of(107));
  CHECK(rd_str(&ref, 1, 3, buf, sizeof buf) == NULL); /* id 109: 109 % 5 == 4 */
  CHECK(rd_f64(&ref, 2, 5) == score_of(111));
  CHECK_OK(mw_batch_validate(&s, &ref, err), err);
  /* move a child out (C Data Interface), release the parent first */
  struct ArrowArray moved = *ref.children[1];
  ref.children[1]->release = NULL;
  ref.release(&ref);
  CHECK(ref.release == NULL);
  struct ArrowArray *kids[2] = {NULL, &moved};
  struct ArrowArray wrap = {.children = kids};
  CHECK_STR(rd_str(&wrap, 1, 2, buf, sizeof buf), name_of(108));
  moved.release(&moved);
  CHECK(moved.release == NULL);

  /* the stream: projected schema, rows id >= 103 as slices */
  struct ArrowSchema ps;
  CHECK_INT(st.get_schema(&st, &ps), 0);
  CHECK_INT(ps.n_children, 2);
  CHECK_STR(ps.children[0]->name, "name");
  CHECK_STR(ps.children[1]->name, "id");
  CHECK_STR(ps.format, "+s");
  ps.release(&ps);
  drained d;
  drain(&d, &st, 1);
  CHECK_INT(d.n, 9);
  CHECK_INT(d.batches, 2);
  CHECK_INT(d.lens[0], 3);
  CHECK_INT(d.lens[1], 6);
  CHECK_INT(d.invalid, 0);
  for (size_t i = 0; i < d.n; i++) CHECK_INT(d.ids[i], 103 + (int64_t)i);
  CHECK(st.get_last_error(&st) == NULL);
  free(d.ids);
  st.release(&st);
  CHECK(st.release == NULL);
  ref2.release(&ref2);
  s.release(&s);
}

/* Runs a scan with filter `col op value` and returns the drained result
 * (projection: id only). vs/va built per type. */
static mw_status scan_ids(drained *d, mw_memtable *const *mts, size_t n, const char *col,
                          mw_filter_op op, const struct ArrowSchema *vs, const struct ArrowArray *va,
                          mw_error *err) {
  const char *cols[] = {"id"};
  struct ArrowArrayStream st;
  mw_scan_filter f = {col, op, vs, va};
  mw_status s = mw_memtable_scan(&st, mts, n, cols, 1, vs ? &f : NULL, err);
  if (s != MW_OK) return s;
  drain(d, &st, 0);
  st.release(&st);
  return MW_OK;
}

typedef struct val {
  struct ArrowSchema s;
  struct ArrowArray *a;
} val;

static void val_i64(val *v, int64_t x) {
  mw_schema_init(&v->s, "l", "v", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  v->a = col_i64(&x, NULL, 1);
}
static void val_null_i64(val *v) {
  int64_t x = 0;
  bool f = false;
  mw_schema_init(&v->s, "l", "v", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  v->a = col_i64(&x, &f, 1);
}
static void val_str(val *v, const char *x) {
  mw_schema_init(&v->s, "u", "v", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  v->a = col_utf8(&x, 1);
}
static void val_f64(val *v, double x) {
  mw_schema_init(&v->s, "g", "v", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  v->a = col_f64(&x, 1);
}
static void val_free(val *v) {
  v->s.release(&v->s);
  v->a->release(v->a);
  free(v->a);
}

/* Expected ids (in order) for ids [0, n) under a predicate. */
static int cmp_name(int64_t id, const char *v) { return strcmp(name_of(id), v); }

static void test_scan_filters(void) {
  mw_error err_s, *err = &err_s;
  struct ArrowSchema s;
  make_schema(&s);
  mw_index_config ix[3] = {{sizeof(mw_index_config), "by_id", "id", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100},
                           {sizeof(mw_index_config), "by_name", "name", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100},
                           {sizeof(mw_index_config), "by_score", "score", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100}};
  /* two MemTables with the same 3 batches of 10 rows (ids 0..29): one
   * indexed (frozen gen 1 + active gen 2 split), one without indexes */
  mw_memtable *ia, *ib, *plain;
  CHECK_OK(mw_memtable_new(&ia, &s, 1, ix, 3, err), err);
  CHECK_OK(mw_memtable_new(&ib, &s, 2, ix, 3, err), err);
  CHECK_OK(mw_memtable_new(&plain, &s, 1, NULL, 0, err), err);
  for (int i = 0; i < 3; i++) {
    struct ArrowArray b1, b2;
    std_batch(&b1, i * 10, 10);
    std_batch(&b2, i * 10, 10);
    CHECK_OK(mw_memtable_insert(NULL, i < 2 ? ia : ib, &b1, 1, true, err), err);
    CHECK_OK(mw_memtable_insert(NULL, plain, &b2, 1, true, err), err);
  }
  mw_memtable_freeze(ia);
  mw_memtable *idx2[2] = {ia, ib};
  mw_memtable_info info;
  mw_memtable_info_get(&info, ia);
  CHECK(info.estimated_size > 20 * 8); /* includes index memory */

  /* no filter, all columns: 3 batches, whole */
  drained d;
  CHECK_OK(scan_ids(&d, idx2, 2, NULL, 0, NULL, NULL, err), err);
  CHECK_INT(d.n, 30);
  CHECK_INT(d.batches, 3);
  free(d.ids);

  /* id > 14: rows 15..29 as 2 slices (5 rows of batch 1, all of batch 2) */
  val v;
  val_i64(&v, 14);
  for (int w = 0; w < 2; w++) {
    CHECK_OK(w ? scan_ids(&d, &plain, 1, "id", MW_FILTER_GT, &v.s, v.a, err)
               : scan_ids(&d, idx2, 2, "id", MW_FILTER_GT, &v.s, v.a, err), err);
    CHECK_INT(d.n, 15);
    CHECK_INT(d.batches, 2);
    CHECK_INT(d.lens[0], 5);
    CHECK_INT(d.lens[1], 10);
    CHECK_INT(d.invalid, 0);
    for (size_t i = 0; i < d.n; i++) CHECK_INT(d.ids[i], 15 + (int64_t)i);
    free(d.ids);
  }
  /* each op on id, index vs plain vs expected */
  const mw_filter_op ops[5] = {MW_FILTER_EQ, MW_FILTER_LT, MW_FILTER_LE, MW_FILTER_GT, MW_FILTER_GE};
  const size_t want_n[5] = {1, 14, 15, 15, 16};
  for (int o = 0; o < 5; o++) {
    drained a, b;
    CHECK_OK(scan_ids(&a, idx2, 2, "id", ops[o], &v.s, v.a, err), err);
    CHECK_OK(scan_ids(&b, &plain, 1, "id", ops[o], &v.s, v.a, err), err);
    CHECK_INT(a.n, want_n[o]);
    CHECK_INT(b.n, want_n[o]);
    CHECK(a.n == b.n && (a.n == 0 || memcmp(a.ids, b.ids, a.n * 8) == 0));
    free(a.ids);
    free(b.ids);
  }
  val_free(&v);

  /* strings with duplicates and nulls */
  const char *probe[] = {"cherry", "b", "zzz", ""};
  for (size_t p = 0; p < 4; p++) {
    val_str(&v, probe[p]);
    for (int o = 0; o < 5; o++) {
      int64_t want[30];
      size_t nw = 0;
      for (int64_t id = 0; id < 30; id++) {
        if (name_null(id)) continue;
        int c = cmp_name(id, probe[p]);
        bool h = o == 0 ? c == 0 : o == 1 ? c < 0 : o == 2 ? c <= 0 : o == 3 ? c > 0 : c >= 0;
        if (h) want[nw++] = id;
      }
      drained a, b;
      CHECK_OK(scan_ids(&a, idx2, 2, "name", ops[o], &v.s, v.a, err), err);
      CHECK_OK(scan_ids(&b, &plain, 1, "name", ops[o], &v.s, v.a, err), err);
      CHECK_INT(a.n, nw);
      CHECK_INT(b.n, nw);
      CHECK(a.n == nw && (nw == 0 || memcmp(a.ids, want, nw * 8) == 0));
      CHECK(b.n == nw && (nw == 0 || memcmp(b.ids, want, nw * 8) == 0));
      free(a.ids);
      free(b.ids);
    }
    val_free(&v);
  }
  /* exact: name = "cherry": ids 10..13 (14 is null) -> one slice of 4 */
  val_str(&v, "cherry");
  CHECK_OK(scan_ids(&d, idx2, 2, "name", MW_FILTER_EQ, &v.s, v.a, err), err);
  CHECK_INT(d.n, 4);
  CHECK_INT(d.batches, 1);
  if (d.n == 4) CHECK_INT(d.ids[0], 10);
  free(d.ids);
  val_free(&v);

  /* floats with NaN: ids 6 and 19 have NaN scores */
  val_f64(&v, NAN);
  CHECK_OK(scan_ids(&d, idx2, 2, "score", MW_FILTER_EQ, &v.s, v.a, err), err);
  CHECK_INT(d.n, 2);
  if (d.n == 2) {
    CHECK_INT(d.ids[0], 6);
    CHECK_INT(d.ids[1], 19);
  }
  free(d.ids);
  CHECK_OK(scan_ids(&d, &plain, 1, "score", MW_FILTER_LT, &v.s, v.a, err), err);
  CHECK_INT(d.n, 28);
  free(d.ids);
  val_free(&v);
  val_f64(&v, 7.5); /* id % 17 >= 15 -> ids 15, 16, 32.. none above 29 except 15,16 (NaN too) */
  CHECK_OK(scan_ids(&d, idx2, 2, "score", MW_FILTER_GE, &v.s, v.a, err), err);
  CHECK_INT(d.n, 4); /* 15 (7.5), 16 (8.0), NaN at 6 and 19 */
  if (d.n == 4) {
    CHECK_INT(d.ids[0], 6);
    CHECK_INT(d.ids[1], 15);
    CHECK_INT(d.ids[2], 16);
    CHECK_INT(d.ids[3], 19);
  }
  free(d.ids);
  val_free(&v);

  /* null filter value matches nothing */
  val_null_i64(&v);
  CHECK_OK(scan_ids(&d, idx2, 2, "id", MW_FILTER_GE, &v.s, v.a, err), err);
  CHECK_INT(d.n, 0);
  CHECK_INT(d.batches, 0);
  free(d.ids);
  val_free(&v);

  /* errors: type mismatch, unknown filter column, unknown projection,
   * length != 1, different schemas */
  val_str(&v, "x");
  CHECK_INT(scan_ids(&d, idx2, 2, "id", MW_FILTER_EQ, &v.s, v.a, err), MW_ERR_INVALID);
  CHECK(strstr(err->message, "utf8") != NULL && strstr(err->message, "int64") != NULL);
  CHECK_INT(scan_ids(&d, idx2, 2, "nope", MW_FILTER_EQ, &v.s, v.a, err), MW_ERR_INVALID);
  CHECK(strstr(err->message, "nope") != NULL);
  val_free(&v);
  struct ArrowArrayStream st;
  const char *bad_cols[] = {"id", "missing"};
  CHECK_INT(mw_memtable_scan(&st, idx2, 2, bad_cols, 2, NULL, err), MW_ERR_INVALID);
  CHECK(strstr(err->message, "missing") != NULL);
  CHECK(st.release == NULL);
  int64_t two[2] = {1, 2};
  struct ArrowArray *va2 = col_i64(two, NULL, 2);
  val_i64(&v, 0);
  CHECK_INT(scan_ids(&d, idx2, 2, "id", MW_FILTER_EQ, &v.s, va2, err), MW_ERR_INVALID);
  uint64_t *ids;
  size_t nids;
  CHECK_INT(mw_memtable_index_lookup(&ids, &nids, ia, "nope", MW_FILTER_EQ, &v.s, v.a, err),
            MW_ERR_NOT_FOUND);
  CHECK_OK(mw_memtable_index_lookup(&ids, &nids, ib, "by_id", MW_FILTER_GE, &v.s, v.a, err), err);
  CHECK_INT(nids, 10); /* ib holds ids 20..29 as its rows 0..9 */
  if (nids == 10) CHECK_INT(ids[9], 9);
  free(ids);
  va2->release(va2);
  free(va2);
  val_free(&v);
  struct ArrowSchema other;
  mw_schema_init(&other, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(other.children[0], "l", "id", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_memtable *om;
  CHECK_OK(mw_memtable_new(&om, &other, 1, NULL, 0, err), err);
  mw_memtable *mixed[2] = {ia, om};
  CHECK_INT(mw_memtable_scan(&st, mixed, 2, NULL, 0, NULL, err), MW_ERR_INVALID);
  mw_memtable_free(om);
  other.release(&other);

  mw_memtable_free(ia);
  mw_memtable_free(ib);
  mw_memtable_free(plain);
  s.release(&s);
}

static void test_new_errors(void) {
  mw_error err_s, *err = &err_s;
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 2, NULL);
  mw_schema_init(s.children[0], "l", "id", NULL, 0, 0, NULL);
  mw_schema_init(s.children[1], "+l", "tags", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[1]->children[0], "u", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_memtable *mt = NULL;
  mw_index_config bad_col = {sizeof(mw_index_config), "i1", "nope", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100};
  CHECK_INT(mw_memtable_new(&mt, &s, 1, &bad_col, 1, err), MW_ERR_INVALID);
  CHECK(strstr(err->message, "i1") && strstr(err->message, "nope"));
  mw_index_config list_col = {sizeof(mw_index_config), "i2", "tags", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100};
  CHECK_INT(mw_memtable_new(&mt, &s, 1, &list_col, 1, err), MW_ERR_INVALID);
  CHECK(strstr(err->message, "i2") && strstr(err->message, "tags"));
  mw_index_config dup[2] = {{sizeof(mw_index_config), "i3", "id", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100}, {sizeof(mw_index_config), "i3", "id", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100}};
  CHECK_INT(mw_memtable_new(&mt, &s, 1, dup, 2, err), MW_ERR_INVALID);
  CHECK(strstr(err->message, "duplicate") != NULL);
  mw_index_config kind = {sizeof(mw_index_config), "i4", "id", (mw_index_kind)9, MW_METRIC_L2, 16, 100};
  CHECK_INT(mw_memtable_new(&mt, &s, 1, &kind, 1, err), MW_ERR_INVALID);
  CHECK(strstr(err->message, "kind") != NULL);
  CHECK(mt == NULL);
  /* filter on a list column is rejected too */
  CHECK_OK(mw_memtable_new(&mt, &s, 1, NULL, 0, err), err);
  val v;
  val_i64(&v, 1);
  struct ArrowArrayStream st;
  mw_scan_filter f = {"tags", MW_FILTER_EQ, &v.s, v.a};
  CHECK_INT(mw_memtable_scan(&st, &mt, 1, NULL, 0, &f, err), MW_ERR_INVALID);
  val_free(&v);
  mw_memtable_free(mt);
  s.release(&s);
}

/* ---- random data: index vs row by row vs brute force (int64 and utf8) */

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

#define RN 4000

static void test_random_index_vs_rows(void) {
  mw_error err_s, *err = &err_s;
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 2, NULL);
  mw_schema_init(s.children[0], "l", "k", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_schema_init(s.children[1], "u", "id", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  /* note: column "id" here is the utf8 key; rows are identified by their
   * position, recovered from k's companion arrays below */
  static int64_t keys[RN];
  static bool kvalid[RN];
  static char strs[RN][6];
  static const char *sp[RN];
  for (int i = 0; i < RN; i++) {
    keys[i] = (int64_t)(rnd() % 600) - 300; /* ~6.7 rows per key */
    kvalid[i] = rnd() % 10 != 0;
    size_t l = rnd() % 4;
    for (size_t j = 0; j < l; j++) strs[i][j] = "xyz"[rnd() % 3];
    strs[i][l] = 0;
    sp[i] = rnd() % 12 == 0 ? NULL : strs[i];
  }
  mw_index_config ix[2] = {{sizeof(mw_index_config), "k_idx", "k", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100}, {sizeof(mw_index_config), "s_idx", "id", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100}};
  mw_memtable *with, *without;
  CHECK_OK(mw_memtable_new(&with, &s, 1, ix, 2, err), err);
  CHECK_OK(mw_memtable_new(&without, &s, 1, NULL, 0, err), err);
  for (int pass = 0; pass < 2; pass++) {
    int i = 0;
    uint64_t seed = 77;
    while (i < RN) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      int n = 1 + (int)((seed >> 33) % 60);
      if (i + n > RN) n = RN - i;
      struct ArrowArray *cols[2] = {col_i64(&keys[i], &kvalid[i], n), col_utf8(&sp[i], n)};
      struct ArrowArray b;
      make_batch(&b, n, cols, 2);
      /* half the rows indexed on insert, the rest by index_pending */
      CHECK_OK(mw_memtable_insert(NULL, pass ? without : with, &b, 1, (i / 500) % 2 == 0, err), err);
      i += n;
    }
  }
  CHECK(mw_memtable_unindexed_rows(with) > 0);
  uint64_t done = 0;
  CHECK_OK(mw_memtable_index_pending(&done, with, err), err);
  CHECK(done > 0);
  CHECK_INT(mw_memtable_unindexed_rows(with), 0);

  /* We project column "k" and compare the sequence of (k) values plus
   * counts; exact row identity is checked through index_lookup ids. */
  const mw_filter_op ops[5] = {MW_FILTER_EQ, MW_FILTER_LT, MW_FILTER_LE, MW_FILTER_GT, MW_FILTER_GE};
  int mism = 0, checked = 0;
  static uint64_t want[RN];
  for (int q = 0; q < 40; q++) {
    int64_t kv = q < 30 ? keys[rnd() % RN] : (int64_t)(rnd() % 800) - 400;
    const char *sv = q < 30 ? strs[rnd() % RN] : (q % 2 ? "zzzz" : "");
    for (int o = 0; o < 5; o++) {
      for (int which = 0; which < 2; which++) {
        size_t nw = 0;
        for (int i = 0; i < RN; i++) {
          int c;
          if (which == 0) {
            if (!kvalid[i]) continue;
            c = (keys[i] > kv) - (keys[i] < kv);
          } else {
            if (!sp[i]) continue;
            c = strcmp(sp[i], sv);
            c = (c > 0) - (c < 0);
          }
          bool h = o == 0 ? c == 0 : o == 1 ? c < 0 : o == 2 ? c <= 0 : o == 3 ? c > 0 : c >= 0;
          if (h) want[nw++] = (uint64_t)i;
        }
        val v;
        if (which == 0) val_i64(&v, kv);
        else val_str(&v, sv);
        const char *col = which == 0 ? "k" : "id";
        uint64_t *ids;
        size_t n;
        CHECK_OK(mw_memtable_index_lookup(&ids, &n, with, which ? "s_idx" : "k_idx", ops[o], &v.s, v.a,
                                          err), err);
        if (n != nw || (n && memcmp(ids, want, n * 8) != 0)) mism++;
        free(ids);
        /* scans: compare the projected k values row by row */
        for (int m = 0; m < 2; m++) {
          const char *cols[] = {"k"};
          struct ArrowArrayStream st;
          mw_scan_filter f = {col, ops[o], &v.s, v.a};
          CHECK_OK(mw_memtable_scan(&st, m ? &without : &with, 1, cols, 1, &f, err), err);
          size_t got = 0;
          bool same = true;
          for (;;) {
            struct ArrowArray b;
            if (st.get_next(&st, &b) != 0) abort();
            if (!b.release) break;
            for (int64_t r = 0; r < b.length; r++, got++) {
              bool valid;
              int64_t k = rd_i64(&b, 0, r, &valid);
              if (got >= nw || valid != kvalid[want[got]] || (valid && k != keys[want[got]]))
                same = false;
            }
            b.release(&b);
          }
          st.release(&st);
          if (!same || got != nw) mism++;
          checked++;
        }
        val_free(&v);
      }
    }
  }
  CHECK_INT(checked, 40 * 5 * 2 * 2);
  CHECK_INT(mism, 0);
  mw_memtable_free(with);
  mw_memtable_free(without);
  s.release(&s);
}

static void test_async_indexing(void) {
  mw_error err_s, *err = &err_s;
  struct ArrowSchema s;
  make_schema(&s);
  mw_index_config ix = {sizeof(mw_index_config), "by_id", "id", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100};
  mw_memtable *mt;
  CHECK_OK(mw_memtable_new(&mt, &s, 1, &ix, 1, err), err);
  struct ArrowArray b[3];
  std_batch(&b[0], 0, 10);
  std_batch(&b[1], 10, 10);
  std_batch(&b[2], 20, 5);
  CHECK_OK(mw_memtable_insert(NULL, mt, &b[0], 2, false, err), err);
  CHECK_INT(mw_memtable_unindexed_rows(mt), 20);
  val v;
  val_i64(&v, 5);
  uint64_t *ids;
  size_t n;
  CHECK_OK(mw_memtable_index_lookup(&ids, &n, mt, "by_id", MW_FILTER_GE, &v.s, v.a, err), err);
  CHECK_INT(n, 0); /* nothing indexed yet */
  /* the scan falls back to row-by-row and still answers exactly */
  drained d;
  CHECK_OK(scan_ids(&d, &mt, 1, "id", MW_FILTER_GE, &v.s, v.a, err), err);
  CHECK_INT(d.n, 15);
  free(d.ids);
  uint64_t done = 0;
  CHECK_OK(mw_memtable_index_pending(&done, mt, err), err);
  CHECK_INT(done, 20);
  CHECK_INT(mw_memtable_unindexed_rows(mt), 0);
  CHECK_OK(mw_memtable_index_pending(&done, mt, err), err);
  CHECK_INT(done, 0);
  CHECK_OK(mw_memtable_index_lookup(&ids, &n, mt, "by_id", MW_FILTER_GE, &v.s, v.a, err), err);
  CHECK_INT(n, 15);
  if (n == 15) CHECK_INT(ids[0], 5);
  free(ids);
  /* unindexed again, then a sync insert indexes the pending prefix too */
  CHECK_OK(mw_memtable_insert(NULL, mt, &b[2], 1, false, err), err);
  CHECK_INT(mw_memtable_unindexed_rows(mt), 5);
  struct ArrowArray b4;
  std_batch(&b4, 25, 5);
  CHECK_OK(mw_memtable_insert(NULL, mt, &b4, 1, true, err), err);
  CHECK_INT(mw_memtable_unindexed_rows(mt), 0);
  CHECK_OK(mw_memtable_index_lookup(&ids, &n, mt, "by_id", MW_FILTER_GE, &v.s, v.a, err), err);
  CHECK_INT(n, 25);
  free(ids);
  val_free(&v);
  mw_memtable_free(mt);
  s.release(&s);
}

/* ---- threads: 4 inserters, 2 scanners, 1 async indexer */

#define NT 4
#define PUTS 150

typedef struct tctx {
  mw_memtable *mt;
  int t;
  atomic_int *stop;
  int errors;
  int scans;
} tctx;

static void *inserter(void *p) {
  tctx *c = p;
  for (int i = 0; i < PUTS; i++) {
    int64_t base = (int64_t)c->t * 1000000 + i * 8;
    struct ArrowArray b[2];
    std_batch(&b[0], base, 4);
    std_batch(&b[1], base + 4, 4);
    mw_error e;
    if (mw_memtable_insert(NULL, c->mt, b, 2, i % 2 == 0, &e) != MW_OK) c->errors++;
  }
  return NULL;
}

static void *scanner(void *p) {
  tctx *c = p;
  uint64_t last = 0;
  while (!atomic_load(c->stop)) {
    val v;
    val_i64(&v, 2000000); /* ids of threads 2 and 3 */
    mw_error e;
    struct ArrowArrayStream st;
    mw_scan_filter f = {"id", MW_FILTER_GE, &v.s, v.a};
    const char *cols[] = {"id"};
    if (mw_memtable_scan(&st, &c->mt, 1, cols, 1, c->scans % 2 ? &f : NULL, &e) != MW_OK) {
      c->errors++;
      val_free(&v);
      break;
    }
    uint64_t rows = 0;
    for (;;) {
      struct ArrowArray b;
      if (st.get_next(&st, &b) != 0) { c->errors++; break; }
      if (!b.release) break;
      for (int64_t r = 1; r < b.length; r++)
        if (rd_i64(&b, 0, r, NULL) != rd_i64(&b, 0, r - 1, NULL) + 1) c->errors++;
      if (c->scans % 2 && rd_i64(&b, 0, 0, NULL) < 2000000) c->errors++;
      rows += (uint64_t)b.length;
      b.release(&b);
    }
    st.release(&st);
    val_free(&v);
    if (rows % 8 != 0) c->errors++; /* a put's two batches appear together */
    if (c->scans % 2 == 0) {
      if (rows < last) c->errors++;
      last = rows;
    }
    c->scans++;
  }
  return NULL;
}

static void *indexer(void *p) {
  tctx *c = p;
  while (!atomic_load(c->stop)) {
    mw_error e;
    if (mw_memtable_index_pending(NULL, c->mt, &e) != MW_OK) c->errors++;
    mw_memtable_info info;
    mw_memtable_info_get(&info, c->mt);
  }
  return NULL;
}

static void test_concurrent(void) {
  mw_error err_s, *err = &err_s;
  struct ArrowSchema s;
  make_schema(&s);
  mw_index_config ix = {sizeof(mw_index_config), "by_id", "id", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100};
  mw_memtable *mt;
  CHECK_OK(mw_memtable_new(&mt, &s, 1, &ix, 1, err), err);
  atomic_int stop;
  atomic_init(&stop, 0);
  tctx ins[NT], sc[2], ixc = {mt, 0, &stop, 0, 0};
  pthread_t ti[NT], ts[2], tx;
  for (int i = 0; i < 2; i++) {
    sc[i] = (tctx){mt, i, &stop, 0, 0};
    pthread_create(&ts[i], NULL, scanner, &sc[i]);
  }
  pthread_create(&tx, NULL, indexer, &ixc);
  for (int i = 0; i < NT; i++) {
    ins[i] = (tctx){mt, i, &stop, 0, 0};
    pthread_create(&ti[i], NULL, inserter, &ins[i]);
  }
  for (int i = 0; i < NT; i++) pthread_join(ti[i], NULL);
  atomic_store(&stop, 1);
  for (int i = 0; i < 2; i++) pthread_join(ts[i], NULL);
  pthread_join(tx, NULL);
  int errors = ixc.errors;
  for (int i = 0; i < NT; i++) errors += ins[i].errors;
  for (int i = 0; i < 2; i++) errors += sc[i].errors;
  CHECK_INT(errors, 0);
  CHECK(sc[0].scans > 0 && sc[1].scans > 0);
  mw_memtable_info info;
  mw_memtable_info_get(&info, mt);
  CHECK_INT(info.rows, NT * PUTS * 8);
  CHECK_INT(info.batches, NT * PUTS * 2);
  CHECK_OK(mw_memtable_index_pending(NULL, mt, err), err);
  CHECK_INT(mw_memtable_unindexed_rows(mt), 0);
  val v;
  val_i64(&v, 2000000);
  uint64_t *ids;
  size_t n;
  CHECK_OK(mw_memtable_index_lookup(&ids, &n, mt, "by_id", MW_FILTER_GE, &v.s, v.a, err), err);
  CHECK_INT(n, 2 * PUTS * 8);
  free(ids);
  drained d;
  CHECK_OK(scan_ids(&d, &mt, 1, "id", MW_FILTER_GE, &v.s, v.a, err), err);
  CHECK_INT(d.n, 2 * PUTS * 8);
  free(d.ids);
  val_free(&v);
  val_i64(&v, 3000000 + 8 * 77 + 3);
  CHECK_OK(scan_ids(&d, &mt, 1, "id", MW_FILTER_EQ, &v.s, v.a, err), err);
  CHECK_INT(d.n, 1);
  if (d.n == 1) CHECK_INT(d.ids[0], 3000000 + 8 * 77 + 3);
  free(d.ids);
  val_free(&v);
  mw_memtable_free(mt);
  s.release(&s);
}

int main(void) {
  MW_RUN(test_insert_stats);
  MW_RUN(test_all_or_nothing);
  MW_RUN(test_refs_outlive_memtable);
  MW_RUN(test_scan_filters);
  MW_RUN(test_new_errors);
  MW_RUN(test_random_index_vs_rows);
  MW_RUN(test_async_indexing);
  MW_RUN(test_concurrent);
  return mw_test_finish();
}
