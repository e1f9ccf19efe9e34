/* test_tombstone.c - deletes, the `_tombstone` column and takeover of
 * Lance-shaped WAL entries (LSM.md section 4): WAL entries and generations
 * carry `_tombstone` last (false for puts, true for deletes; non-key columns
 * nullable), scans return only the newest live row per key across
 * MemTables, generations keep tombstones (also a tombstone-only one),
 * replay accepts entries with and without `_tombstone` and with other
 * nullability, and refuses incompatible ones naming position and column.
 * Runs on memory:// and file://. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memtable/memtable.h"
#include "writer_test_util.h"

#define SHARD "7e57ab1e-0000-4000-8000-00000000d31e"

static void cfg(mw_shard_writer_config *c) {
  mw_shard_writer_config_init(c);
  c->log_fn = quiet_log;
  snprintf(c->shard_id, sizeof c->shard_id, "%s", SHARD);
}

/* ---- an owned {id int64, name utf8 (NULL = null), [_tombstone bool]} batch */

typedef struct obatch {
  struct ArrowArray top, kid[3];
  struct ArrowArray *kids[3];
  const void *tb[1], *b0[2], *b1[3], *b2[2];
  int64_t *ids;
  int32_t *offs;
  char *chars;
  uint8_t *nvalid, *tbits;
} obatch;

static void ob_child_release(struct ArrowArray *a) { a->release = NULL; }
static void ob_release(struct ArrowArray *a) {
  obatch *b = a->private_data;
  free(b->ids); free(b->offs); free(b->chars); free(b->nvalid); free(b->tbits); free(b);
  a->release = NULL;
}

/* with_tomb: add a third column from tomb[] (NULL = all false). */
static struct ArrowArray ob_make(const int64_t *ids, const char *const *names, const bool *tomb, int64_t n,
                                 bool with_tomb) {
  obatch *b = calloc(1, sizeof *b);
  b->ids = calloc((size_t)n + 1, 8);
  b->offs = calloc((size_t)n + 1, 4);
  b->chars = calloc((size_t)n * 24 + 1, 1);
  b->nvalid = calloc((size_t)n / 8 + 1, 1);
  b->tbits = calloc((size_t)n / 8 + 1, 1);
  int64_t nulls = 0;
  int32_t off = 0;
  for (int64_t i = 0; i < n; i++) {
    b->ids[i] = ids[i];
    b->offs[i] = off;
    if (names && !names[i]) nulls++;
    else {
      b->nvalid[i / 8] |= (uint8_t)(1u << (i % 8));
      off += names ? sprintf(b->chars + off, "%.20s", names[i]) : sprintf(b->chars + off, "n%" PRId64, ids[i]);
    }
    if (tomb && tomb[i]) b->tbits[i / 8] |= (uint8_t)(1u << (i % 8));
  }
  b->offs[n] = off;
  b->b0[0] = NULL; b->b0[1] = b->ids;
  b->b1[0] = b->nvalid; b->b1[1] = b->offs; b->b1[2] = b->chars;
  b->b2[0] = NULL; b->b2[1] = b->tbits;
  b->kid[0] = (struct ArrowArray){n, 0, 0, 2, 0, b->b0, NULL, NULL, ob_child_release, NULL};
  b->kid[1] = (struct ArrowArray){n, nulls, 0, 3, 0, b->b1, NULL, NULL, ob_child_release, NULL};
  b->kid[2] = (struct ArrowArray){n, 0, 0, 2, 0, b->b2, NULL, NULL, ob_child_release, NULL};
  for (int i = 0; i < 3; i++) b->kids[i] = &b->kid[i];
  b->top = (struct ArrowArray){n, 0, 0, 1, with_tomb ? 3 : 2, b->tb, b->kids, NULL, ob_release, b};
  return b->top;
}

/* The schema {id pk, name (nullable?), [_tombstone bool (nullable?)]};
 * name_format lets a test make an incompatible one. */
static void schema3(struct ArrowSchema *s, const char *name_format, bool name_nullable, bool with_tomb,
                    bool tomb_nullable) {
  mw_kv pk = {"lance-schema:unenforced-primary-key:position", 44, "1", 1};
  bool ok = true;
  char *meta = mw_metadata_build(&pk, 1, &ok);
  mw_error e = {0};
  mw_schema_init(s, "+s", "", NULL, 0, with_tomb ? 3 : 2, &e);
  mw_schema_init(s->children[0], "l", "id", meta, 0, 0, &e);
  mw_schema_init(s->children[1], name_format, "name", NULL, name_nullable ? ARROW_FLAG_NULLABLE : 0, 0, &e);
  if (with_tomb)
    mw_schema_init(s->children[2], "b", MW_TOMBSTONE_COLUMN, NULL, tomb_nullable ? ARROW_FLAG_NULLABLE : 0, 0, &e);
  free(meta);
}

/* A key batch {id} (no metadata), owned. */
static struct ArrowArray keys_of(const int64_t *ids, int64_t n, struct ArrowSchema *ks) {
  mw_error e = {0};
  mw_schema_init(ks, "+s", "", NULL, 0, 1, &e);
  mw_schema_init(ks->children[0], "l", "id", NULL, 0, 0, &e);
  struct ArrowArray a = ob_make(ids, NULL, NULL, n, false);
  a.n_children = 1;
  return a;
}

static mw_status del(mw_shard_writer *w, const int64_t *ids, int64_t n, mw_error *e) {
  struct ArrowSchema ks;
  struct ArrowArray k = keys_of(ids, n, &ks);
  mw_status s = mw_shard_writer_delete(NULL, w, &k, &ks, e);
  if (k.release) k.release(&k);
  mw_schema_release(&ks);
  return s;
}

static mw_status put_ids(mw_shard_writer *w, const int64_t *ids, const char *const *names, int64_t n, mw_error *e) {
  struct ArrowArray b = make_rows(ids, names, n);
  mw_status s = mw_shard_writer_put(NULL, w, &b, 1, e);
  if (b.release) b.release(&b);
  return s;
}

/* "id=name,..." of a scan (names as stored). */
static void scan_str(char *out, size_t cap, mw_shard_writer *w) {
  struct ArrowArrayStream st;
  mw_error e = {0};
  out[0] = 0;
  if (mw_shard_writer_scan(&st, w, NULL, 0, NULL, &e) != MW_OK) {
    snprintf(out, cap, "scan failed: %s", e.message);
    return;
  }
  struct ArrowSchema ss;
  st.get_schema(&st, &ss);
  size_t len = 0;
  len += (size_t)snprintf(out + len, cap - len, "%" PRId64 "cols:", ss.n_children);
  mw_schema_release(&ss);
  for (;;) {
    struct ArrowArray a;
    if (st.get_next(&st, &a) != 0 || !a.release) break;
    const struct ArrowArray *ic = a.children[0], *nc = a.children[1];
    const int64_t *v = ic->buffers[1];
    const int32_t *o = nc->buffers[1];
    const char *ch = nc->buffers[2];
    for (int64_t i = 0; i < a.length && len < cap; i++) {
      int64_t r = a.offset + i;
      int64_t p = nc->offset + r;
      bool valid = mw_bit_get(nc->buffers[0], p);
      len += (size_t)snprintf(out + len, cap - len, "%s%" PRId64 "=%.*s", len > 6 ? "," : "", v[ic->offset + r],
                              valid ? (int)(o[p + 1] - o[p]) : 4, valid ? ch + o[p] : "null");
    }
    a.release(&a);
  }
  st.release(&st);
}

/* Every WAL row of the shard as "id:name:T/F" (name "null"), entries in order. */
static void wal_str(char *out, size_t cap, mw_objstore *store, int64_t *n_cols_last) {
  mw_wal_tailer *t = NULL;
  mw_error e = {0};
  out[0] = 0;
  *n_cols_last = 0;
  if (mw_wal_tailer_open(&t, store, SHARD, &e) != MW_OK) return;
  uint64_t p = 0;
  size_t len = 0;
  if (mw_wal_tailer_first_position(&p, t, &e) != MW_OK) { mw_wal_tailer_close(t); return; }
  for (;; p++) {
    mw_wal_entry en;
    if (mw_wal_tailer_read_entry(&en, t, p, &e) != MW_OK) break;
    for (size_t b = 0; b < en.n_batches; b++) {
      const struct ArrowArray *a = &en.batches[b];
      *n_cols_last = a->n_children;
      if (a->n_children < 3) continue;
      const struct ArrowArray *ic = a->children[0], *nc = a->children[1], *tc = a->children[2];
      for (int64_t i = 0; i < a->length && len < cap; i++) {
        int64_t pn = nc->offset + a->offset + i, pt = tc->offset + a->offset + i;
        const int32_t *o = nc->buffers[1];
        bool valid = mw_bit_get(nc->buffers[0], pn);
        len += (size_t)snprintf(out + len, cap - len, "%s%" PRId64 ":%.*s:%c", len ? "," : "",
                                ((const int64_t *)ic->buffers[1])[ic->offset + a->offset + i],
                                valid ? (int)(o[pn + 1] - o[pn]) : 4,
                                valid ? (const char *)nc->buffers[2] + o[pn] : "null",
                                mw_bit_get(tc->buffers[1], pt) ? 'T' : 'F');
      }
    }
    if (en.n_batches > 0 && en.schema.n_children == 3) {
      const struct ArrowSchema *ts = en.schema.children[2];
      if (strcmp(ts->name, MW_TOMBSTONE_COLUMN) != 0 || strcmp(ts->format, "b") != 0 ||
          (ts->flags & ARROW_FLAG_NULLABLE) || !(en.schema.children[1]->flags & ARROW_FLAG_NULLABLE))
        len += (size_t)snprintf(out + len, cap - len, "!bad schema!");
    }
    mw_wal_entry_release(&en);
  }
  mw_wal_tailer_close(t);
}

/* "physical_rows" of the newest generation in the shard manifest JSON. */
static long long last_gen_rows(mw_shard_writer *w, int *n_gens) {
  char *j = NULL;
  mw_error e = {0};
  *n_gens = 0;
  if (mw_shard_writer_manifest_json(&j, w, &e) != MW_OK) return -1;
  long long rows = -1;
  for (const char *p = j; (p = strstr(p, "\"physical_rows\":")) != NULL; p++) {
    rows = strtoll(p + 16, NULL, 10);
    (*n_gens)++;
  }
  mw_free(j);
  return rows;
}

/* ----------------------------------------------------------------- tests */

static void test_delete_put_delete(void) {
  mw_objstore *s = wt_store("dpd");
  struct ArrowSchema sc;
  make_schema(&sc); /* id not null pk, name: no _tombstone */
  mw_shard_writer_config c;
  cfg(&c);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  char got[1024];
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  int64_t a[] = {1, 2, 3, 4, 5};
  struct ArrowArray b15 = make_batch(1, 5);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b15, 1, &e), &e);
  int64_t got_ids[8];
  CHECK_INT(scan_ids(w, NULL, got_ids, 8), 5);
  int64_t d1[] = {2, 4, 99};
  CHECK_OK(del(w, d1, 3, &e), &e);
  scan_str(got, sizeof got, w);
  CHECK_STR(got, "2cols:1=n1,3=n3,5=n5"); /* _tombstone hidden: the user's schema has 2 columns */
  int64_t p2[] = {2};
  const char *again[] = {"again"};
  CHECK_OK(put_ids(w, p2, again, 1, &e), &e);
  scan_str(got, sizeof got, w);
  CHECK_STR(got, "2cols:1=n1,3=n3,5=n5,2=again");
  /* flush: generation 1 keeps the newest row of each key, tombstones too */
  CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e);
  int gens = 0;
  CHECK_INT(last_gen_rows(w, &gens), 6); /* 1,2(again),3,4(T),5,99(T) */
  CHECK_INT(gens, 1);
  /* a delete in the next MemTable, then put again, then delete again */
  int64_t d2[] = {2};
  CHECK_OK(del(w, d2, 1, &e), &e);
  scan_str(got, sizeof got, w);
  CHECK_STR(got, "2cols:"); /* the scan reads MemTables only */
  CHECK_OK(put_ids(w, d2, again, 1, &e), &e);
  CHECK_OK(put_ids(w, a + 2, NULL, 1, &e), &e);
  CHECK_OK(del(w, d2, 1, &e), &e);
  scan_str(got, sizeof got, w);
  CHECK_STR(got, "2cols:3=n3");
  /* the WAL holds every row with _tombstone last (false for puts) */
  int64_t ncols = 0;
  wal_str(got, sizeof got, s, &ncols);
  CHECK_STR(got, "1:n1:F,2:n2:F,3:n3:F,4:n4:F,5:n5:F,2:null:T,4:null:T,99:null:T,2:again:F,"
                 "2:null:T,2:again:F,3:n3:F,2:null:T");
  CHECK_INT(ncols, 3);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);

  /* replay of tombstones: a new writer sees the same live rows */
  w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  scan_str(got, sizeof got, w);
  CHECK_STR(got, "2cols:3=n3");
  /* the generation of the replayed rows: 2 (tombstone) and 3 */
  CHECK_OK(mw_shard_writer_close_ex(w, 1, &e), &e);
  w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  CHECK_INT(last_gen_rows(w, &gens), 2);
  CHECK_INT(gens, 2);
  /* a generation of tombstones only is written */
  int64_t d3[] = {7, 8, 9};
  CHECK_OK(del(w, d3, 3, &e), &e);
  CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e);
  CHECK_INT(last_gen_rows(w, &gens), 3);
  CHECK_INT(gens, 3);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_scan_latest_across_memtables(void) {
  struct ArrowSchema sc;
  schema3(&sc, "u", true, true, false);
  mw_error e = {0};
  mw_memtable *m1 = NULL, *m2 = NULL, *m3 = NULL;
  CHECK_OK(mw_memtable_new(&m1, &sc, 1, NULL, 0, &e), &e);
  CHECK_OK(mw_memtable_new(&m2, &sc, 2, NULL, 0, &e), &e);
  CHECK_OK(mw_memtable_new(&m3, &sc, 3, NULL, 0, &e), &e);
  int64_t i1[] = {1, 2, 3, 4};
  const char *n1[] = {"a1", "a2", "a3", "a4"};
  struct ArrowArray b1 = ob_make(i1, n1, NULL, 4, true);
  int64_t i2[] = {2, 3, 5};
  const char *n2[] = {NULL, "b3", "b5"};
  bool t2[] = {true, false, false};
  struct ArrowArray b2 = ob_make(i2, n2, t2, 3, true);
  int64_t i3[] = {2, 5, 4};
  const char *n3[] = {"c2", NULL, NULL};
  bool t3[] = {false, true, true};
  struct ArrowArray b3 = ob_make(i3, n3, t3, 3, true);
  CHECK_OK(mw_memtable_insert(NULL, m1, &b1, 1, true, &e), &e);
  CHECK_OK(mw_memtable_insert(NULL, m2, &b2, 1, true, &e), &e);
  CHECK_OK(mw_memtable_insert(NULL, m3, &b3, 1, true, &e), &e);
  mw_memtable *all[] = {m1, m2, m3};
  /* newest wins: 1=a1 (m1), 2=c2 (m3 put after m2's delete), 3=b3 (m2),
   * 4 and 5 deleted in m3 */
  struct ArrowArrayStream st;
  CHECK_OK(mw_memtable_scan_latest(&st, all, 3, NULL, 0, NULL, &e), &e);
  char got[256] = "";
  size_t len = 0;
  for (;;) {
    struct ArrowArray a;
    if (st.get_next(&st, &a) != 0 || !a.release) break;
    const struct ArrowArray *ic = a.children[0], *nc = a.children[1];
    for (int64_t i = 0; i < a.length; i++) {
      int64_t p = nc->offset + a.offset + i;
      const int32_t *o = nc->buffers[1];
      len += (size_t)snprintf(got + len, sizeof got - len, "%" PRId64 "=%.*s;",
                              ((const int64_t *)ic->buffers[1])[ic->offset + a.offset + i], (int)(o[p + 1] - o[p]),
                              (const char *)nc->buffers[2] + o[p]);
    }
    a.release(&a);
  }
  st.release(&st);
  CHECK_STR(got, "1=a1;3=b3;2=c2;");
  /* a filter applies to the newest row only: name = "a3" matches m1's
   * row of key 3, which m2 replaced */
  struct ArrowSchema vs;
  mw_schema_init(&vs, "u", "", NULL, ARROW_FLAG_NULLABLE, 0, &e);
  int32_t vo[2] = {0, 2};
  const void *vb[3] = {NULL, vo, "a3"};
  struct ArrowArray va = {1, 0, 0, 3, 0, vb, NULL, NULL, ob_child_release, NULL};
  mw_scan_filter f = {"name", MW_FILTER_EQ, &vs, &va};
  CHECK_OK(mw_memtable_scan_latest(&st, all, 3, NULL, 0, &f, &e), &e);
  struct ArrowArray a;
  CHECK_INT(st.get_next(&st, &a), 0);
  CHECK(a.release == NULL); /* no row */
  st.release(&st);
  vo[1] = 2;
  vb[2] = "b3";
  CHECK_OK(mw_memtable_scan_latest(&st, all, 3, NULL, 0, &f, &e), &e);
  CHECK_INT(st.get_next(&st, &a), 0);
  CHECK(a.release != NULL && a.length == 1);
  if (a.release) a.release(&a);
  st.release(&st);
  /* the plain scan still returns every row */
  CHECK_OK(mw_memtable_scan(&st, all, 3, NULL, 0, NULL, &e), &e);
  int64_t rows = 0;
  for (;;) {
    if (st.get_next(&st, &a) != 0 || !a.release) break;
    rows += a.length;
    a.release(&a);
  }
  st.release(&st);
  CHECK_INT(rows, 10);
  mw_schema_release(&vs);
  mw_memtable_free(m1);
  mw_memtable_free(m2);
  mw_memtable_free(m3);
  mw_schema_release(&sc);
}

/* Appends one entry of `schema` to the shard with a raw appender. */
static void append_entry(mw_objstore *s, const struct ArrowSchema *schema, struct ArrowArray *b, mw_error *e) {
  mw_wal_appender *ap = NULL;
  mw_wal_appender_config ac;
  mw_wal_appender_config_init(&ac);
  CHECK_OK(mw_wal_appender_open(&ap, s, SHARD, &ac, e), e);
  const struct ArrowArray *bs[1] = {b};
  mw_wal_append_result r;
  if (ap) CHECK_OK(mw_wal_appender_append(&r, ap, schema, bs, 1, e), e);
  mw_wal_appender_close(ap);
  b->release(b);
}

static void test_takeover_entries(void) {
  mw_objstore *s = wt_store("take");
  mw_error e = {0};
  /* 1: an old memwal entry: no _tombstone, name NOT nullable */
  struct ArrowSchema old_s;
  schema3(&old_s, "u", false, false, false);
  int64_t i1[] = {1, 2, 3};
  struct ArrowArray b1 = ob_make(i1, NULL, NULL, 3, false);
  append_entry(s, &old_s, &b1, &e);
  /* 2: a Lance 12 entry: _tombstone true and false, a null name */
  struct ArrowSchema lance_s;
  schema3(&lance_s, "u", true, true, false);
  int64_t i2[] = {2, 4, 3};
  const char *n2[] = {NULL, "l4", "l3"};
  bool t2[] = {true, false, false};
  struct ArrowArray b2 = ob_make(i2, n2, t2, 3, true);
  append_entry(s, &lance_s, &b2, &e);
  /* 3: nullability differs everywhere: _tombstone declared nullable */
  struct ArrowSchema odd_s;
  schema3(&odd_s, "u", true, true, true);
  int64_t i3[] = {5};
  struct ArrowArray b3 = ob_make(i3, NULL, NULL, 1, true);
  append_entry(s, &odd_s, &b3, &e);

  /* a writer whose schema does not mention _tombstone and has name not null */
  mw_shard_writer_config c;
  cfg(&c);
  char got[512];
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &old_s, NULL, 0, &e), &e);
  scan_str(got, sizeof got, w);
  CHECK_STR(got, "2cols:1=n1,4=l4,3=l3,5=n5");
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  /* and one whose schema has it (Lance's): it sees the column */
  w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &lance_s, NULL, 0, &e), &e);
  scan_str(got, sizeof got, w);
  CHECK_STR(got, "3cols:1=n1,4=l4,3=l3,5=n5");
  /* the user's _tombstone may not be null (even if declared nullable) */
  struct ArrowSchema nt;
  schema3(&nt, "u", true, true, true);
  mw_shard_writer *w2 = NULL;
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  CHECK_OK(mw_shard_writer_open(&w2, s, &c, &nt, NULL, 0, &e), &e);
  int64_t i6[] = {6, 7};
  struct ArrowArray b6 = ob_make(i6, NULL, NULL, 2, true);
  uint8_t tvalid = 0x1;
  b6.children[2]->buffers[0] = &tvalid;
  b6.children[2]->null_count = 1;
  CHECK_INT(mw_shard_writer_put(NULL, w2, &b6, 1, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "'_tombstone' is null in row 1") != NULL);
  CHECK(b6.release != NULL);
  b6.release(&b6);
  CHECK_OK(mw_shard_writer_close(w2, &e), &e);
  mw_schema_release(&nt);
  w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &lance_s, NULL, 0, &e), &e);
  /* with the user's _tombstone a put of true is a delete */
  int64_t i4[] = {1};
  bool t4[] = {true};
  struct ArrowArray b4 = ob_make(i4, NULL, t4, 1, true);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b4, 1, &e), &e);
  scan_str(got, sizeof got, w);
  CHECK_STR(got, "3cols:4=l4,3=l3,5=n5");
  CHECK_OK(mw_shard_writer_close(w, &e), &e);

  /* an incompatible entry (name is int32) fails naming position and column */
  struct ArrowSchema bad_s;
  schema3(&bad_s, "i", true, true, false);
  struct ArrowArray b5 = ob_make(i3, NULL, NULL, 1, true);
  b5.children[1]->n_buffers = 2;
  b5.children[1]->null_count = 0;
  b5.children[1]->buffers = (const void **)b5.children[0]->buffers; /* 8-byte ids read as int32 */
  append_entry(s, &bad_s, &b5, &e);
  w = NULL;
  mw_error oe = {0};
  CHECK_INT(mw_shard_writer_open(&w, s, &c, &old_s, NULL, 0, &oe), MW_ERR_INVALID);
  CHECK(w == NULL);
  /* positions: 1, 2, 3 the raw entries; 4, 5, 6, 7 the fences of the next
   * four writers, 8 the put of the last; 9 the bad entry (the failed
   * open's fence comes after it) */
  CHECK_STR(oe.message, "replay: WAL entry at position 9 does not match the writer schema: column 1 is 'name' "
                        "(format 'i'), the writer's is 'name' (format 'u')");
  /* an entry lacking a column of the writer's */
  mw_objstore *s2 = wt_store("take_missing");
  struct ArrowSchema id_only;
  mw_schema_init(&id_only, "+s", "", NULL, 0, 1, &e);
  mw_schema_init(id_only.children[0], "l", "id", old_s.children[0]->metadata, 0, 0, &e);
  struct ArrowArray b7 = ob_make(i3, NULL, NULL, 1, false);
  b7.n_children = 1;
  append_entry(s2, &id_only, &b7, &e);
  w = NULL;
  CHECK_INT(mw_shard_writer_open(&w, s2, &c, &old_s, NULL, 0, &oe), MW_ERR_INVALID);
  CHECK_STR(oe.message, "replay: WAL entry at position 1 does not match the writer schema: column 1 'name' "
                        "(format 'u') of the writer schema is missing (the entry has 1 columns)");
  mw_schema_release(&id_only);
  mw_objstore_close(s2);
  mw_schema_release(&bad_s);
  mw_schema_release(&odd_s);
  mw_schema_release(&lance_s);
  mw_schema_release(&old_s);
  mw_objstore_close(s);
}

static void test_delete_errors(void) {
  mw_objstore *s = wt_store("derr");
  struct ArrowSchema sc;
  make_schema_pk(&sc, true);
  mw_shard_writer_config c;
  cfg(&c);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  /* a key column of another type: refused, nothing taken */
  struct ArrowSchema ks, ks2;
  int64_t ids[] = {1, 2};
  struct ArrowArray k = keys_of(ids, 2, &ks);
  mw_schema_init(&ks2, "+s", "", NULL, 0, 1, &e);
  mw_schema_init(ks2.children[0], "L", "id", NULL, 0, 0, &e); /* uint64 */
  CHECK_INT(mw_shard_writer_delete(NULL, w, &k, &ks2, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "key column 'id' has format 'L'") != NULL);
  CHECK(k.release != NULL);
  mw_schema_release(&ks2);
  /* no key column */
  mw_schema_init(&ks2, "+s", "", NULL, 0, 1, &e);
  mw_schema_init(ks2.children[0], "l", "other", NULL, 0, 0, &e);
  CHECK_INT(mw_shard_writer_delete(NULL, w, &k, &ks2, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "no primary-key column 'id'") != NULL);
  CHECK(k.release != NULL);
  mw_schema_release(&ks2);
  /* without a schema: the batch is the key columns; a null key is refused */
  uint8_t valid = 0x1; /* row 1 null */
  k.children[0]->buffers[0] = &valid;
  k.children[0]->null_count = 1;
  CHECK_INT(mw_shard_writer_delete(NULL, w, &k, NULL, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "null in row 1") != NULL);
  CHECK(k.release != NULL);
  k.children[0]->buffers[0] = NULL;
  k.children[0]->null_count = 0;
  mw_batch_range r;
  CHECK_OK(mw_shard_writer_delete(&r, w, &k, NULL, &e), &e);
  CHECK(k.release == NULL); /* taken */
  CHECK_INT(r.end - r.start, 1);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_schema_release(&ks);
  /* WAL-only mode has no deletes */
  c.enable_memtable = 0;
  w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  k = keys_of(ids, 2, &ks);
  CHECK_INT(mw_shard_writer_delete(NULL, w, &k, &ks, &e), MW_ERR_INVALID);
  CHECK(k.release != NULL);
  k.release(&k);
  mw_schema_release(&ks);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  /* a _tombstone that is not last, or not bool, is refused at open */
  struct ArrowSchema bad;
  mw_schema_init(&bad, "+s", "", NULL, 0, 2, &e);
  mw_schema_init(bad.children[0], "b", MW_TOMBSTONE_COLUMN, NULL, 0, 0, &e);
  mw_schema_init(bad.children[1], "l", "id", sc.children[0]->metadata, 0, 0, &e);
  w = NULL;
  CHECK_INT(mw_shard_writer_open(&w, s, &c, &bad, NULL, 0, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "must be the last column") != NULL);
  mw_schema_release(&bad);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* Delete rows of a schema with nested columns: every non-key column type
 * gets an all-null array the generation writer can store. */
static void test_delete_nested_columns(void) {
  mw_objstore *s = wt_store("nest");
  mw_error e = {0};
  mw_kv pk = {"lance-schema:unenforced-primary-key:position", 44, "1", 1};
  bool ok = true;
  char *meta = mw_metadata_build(&pk, 1, &ok);
  struct ArrowSchema sc;
  mw_schema_init(&sc, "+s", "", NULL, 0, 6, &e);
  mw_schema_init(sc.children[0], "u", "key", meta, 0, 0, &e); /* a utf8 key */
  mw_schema_init(sc.children[1], "+w:4", "vec", NULL, ARROW_FLAG_NULLABLE, 1, &e);
  mw_schema_init(sc.children[1]->children[0], "f", "item", NULL, 0, 0, &e);
  mw_schema_init(sc.children[2], "+l", "tags", NULL, 0, 1, &e);
  mw_schema_init(sc.children[2]->children[0], "u", "item", NULL, ARROW_FLAG_NULLABLE, 0, &e);
  mw_schema_init(sc.children[3], "+s", "st", NULL, ARROW_FLAG_NULLABLE, 2, &e);
  mw_schema_init(sc.children[3]->children[0], "i", "a", NULL, 0, 0, &e);
  mw_schema_init(sc.children[3]->children[1], "z", "b", NULL, ARROW_FLAG_NULLABLE, 0, &e);
  mw_schema_init(sc.children[4], "d:10,2", "dec", NULL, 0, 0, &e);
  mw_schema_init(sc.children[5], "b", "flag", NULL, 0, 0, &e);
  free(meta);
  mw_shard_writer_config c;
  cfg(&c);
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  /* keys: utf8 "k1", "k22" with an extra ignored column */
  int32_t offs[3] = {0, 2, 5};
  const void *kb[3] = {NULL, offs, "k1k22"};
  int64_t extra[2] = {7, 8};
  const void *xb[2] = {NULL, extra};
  struct ArrowArray kc = {2, 0, 0, 3, 0, kb, NULL, NULL, ob_child_release, NULL};
  struct ArrowArray xc = {2, 0, 0, 2, 0, xb, NULL, NULL, ob_child_release, NULL};
  struct ArrowArray *kids[2] = {&xc, &kc};
  const void *tb[1] = {NULL};
  struct ArrowArray k = {2, 0, 0, 1, 2, tb, kids, NULL, ob_child_release, NULL};
  struct ArrowSchema ks;
  mw_schema_init(&ks, "+s", "", NULL, 0, 2, &e);
  mw_schema_init(ks.children[0], "l", "other", NULL, 0, 0, &e);
  mw_schema_init(ks.children[1], "u", "key", NULL, 0, 0, &e);
  CHECK_OK(mw_shard_writer_delete(NULL, w, &k, &ks, &e), &e);
  CHECK(k.release == NULL);
  CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e);
  int gens = 0;
  CHECK_INT(last_gen_rows(w, &gens), 2);
  CHECK_INT(gens, 1);
  /* the scan shows nothing: both keys are deleted */
  struct ArrowArrayStream st;
  CHECK_OK(mw_shard_writer_scan(&st, w, NULL, 0, NULL, &e), &e);
  struct ArrowSchema ss;
  CHECK_INT(st.get_schema(&st, &ss), 0);
  CHECK_INT(ss.n_children, 6);
  mw_schema_release(&ss);
  st.release(&st);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  /* the WAL entry decodes and validates against the stored schema */
  mw_wal_tailer *t = NULL;
  CHECK_OK(mw_wal_tailer_open(&t, s, SHARD, &e), &e);
  mw_wal_entry en;
  CHECK_OK(mw_wal_tailer_read_entry(&en, t, 1, &e), &e);
  CHECK_INT(en.schema.n_children, 7);
  CHECK_INT(en.rows, 2);
  if (en.n_batches == 1) {
    CHECK_OK(mw_batch_validate(&en.schema, &en.batches[0], &e), &e);
    CHECK_INT(en.batches[0].children[1]->null_count, 2);
    CHECK_INT(en.batches[0].children[3]->null_count, 2);
  }
  mw_wal_entry_release(&en);
  mw_wal_tailer_close(t);
  mw_schema_release(&ks);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* A put batch with a struct-level offset (a slice): scans, newest-wins and
 * the generation's dedup read the rows the slice shows. */
static void test_struct_offset_batch(void) {
  mw_objstore *s = wt_store("soff");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg(&c);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  char got[256];
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  struct ArrowArray b = make_batch(1, 5); /* ids 1..5, sliced to 3, 4, 5 */
  b.offset = 2;
  b.length = 3;
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  int64_t five[] = {5};
  const char *nn[] = {"new5"};
  CHECK_OK(put_ids(w, five, nn, 1, &e), &e);
  int64_t four[] = {4};
  CHECK_OK(del(w, four, 1, &e), &e);
  scan_str(got, sizeof got, w);
  CHECK_STR(got, "2cols:3=n3,5=new5");
  CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e);
  int gens = 0;
  CHECK_INT(last_gen_rows(w, &gens), 3); /* 3, 4 (tombstone), 5 (new5) */
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void suite(const char *base) {
  wt_set_base(base);
  printf("--- tombstone suite on %s\n", base);
  MW_RUN(test_delete_put_delete);
  MW_RUN(test_scan_latest_across_memtables);
  MW_RUN(test_takeover_entries);
  MW_RUN(test_delete_errors);
  MW_RUN(test_delete_nested_columns);
  MW_RUN(test_struct_offset_batch);
}

int main(void) { return wt_run_local(suite, "/tmp/mw_test_tomb_XXXXXX"); }
