/* test_wal.c - WalAppender and WalTailer (MEMWAL.md section 5): round trips
 * on memory:// and file:// (0- and 1-based), cursor updates, invalid input,
 * the Lance 12 fixture, fencing (colliding and free positions, fence
 * entries), races (threads on two appenders, threads on one appender,
 * forked processes), and object-store faults and crashes during claim and
 * append. Every entry written carries distinct ids so its content can be
 * checked exactly. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arrow/c_data.h"
#include "arrow/json.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "manifest/manifest_store.h"
#include "memwal_sys.h"
#include "fwd_store.h"
#include "mw_test.h"
#include "objstore/objstore.h"
#include "objstore/objstore_fault.h"
#include "store_test_util.h"
#include "wal/wal_internal.h"
#include "wal/wal_names.h"

#define SHARD "01020304-0506-4708-890a-0b0c0d0e0f10"
#define PK_KEY "lance-schema:unenforced-primary-key:position"

/* ------------------------------------------------------------- helpers */

/* The fixture's schema: id int64 not null (primary key metadata), name utf8,
 * _tombstone bool not null. */
/* Most tests here exercise the seed's 0-based position arithmetic
 * (MEMWAL.md section 10): an appender config with first position 0. */
static const mw_wal_appender_config *zb(void) {
  static mw_wal_appender_config c;
  mw_wal_appender_config_init(&c);
  c.first_wal_entry_position = 0;
  return &c;
}

static void make_schema(struct ArrowSchema *s) {
  mw_error e = {0};
  bool ok = true;
  mw_kv pk = {PK_KEY, (int32_t)strlen(PK_KEY), "1", 1};
  char *meta = mw_metadata_build(&pk, 1, &ok);
  if (!ok || mw_schema_init(s, "+s", "", NULL, 0, 3, &e) != MW_OK ||
      mw_schema_init(s->children[0], "l", "id", meta, 0, 0, &e) != MW_OK ||
      mw_schema_init(s->children[1], "u", "name", NULL, ARROW_FLAG_NULLABLE, 0, &e) != MW_OK ||
      mw_schema_init(s->children[2], "b", "_tombstone", NULL, 0, 0, &e) != MW_OK) {
    fprintf(stderr, "make_schema: %s\n", e.message);
    abort();
  }
  free(meta);
}

/* A batch {id, name "n<id>", _tombstone false} owning its buffers. */
typedef struct tbatch {
  struct ArrowArray cols[3];
  struct ArrowArray *children[3];
  const void *top_bufs[1], *id_bufs[2], *name_bufs[3], *tomb_bufs[2];
  int64_t *ids;
  int32_t *offs;
  char *chars;
  uint8_t *tomb;
} tbatch;

static void noop_release(struct ArrowArray *a) { a->release = NULL; }

static void tbatch_release(struct ArrowArray *a) {
  tbatch *t = a->private_data;
  free(t->ids);
  free(t->offs);
  free(t->chars);
  free(t->tomb);
  free(t);
  a->release = NULL;
}

static void make_batch(struct ArrowArray *out, const int64_t *ids, int64_t n) {
  tbatch *t = calloc(1, sizeof *t);
  t->ids = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
  t->offs = malloc(sizeof(int32_t) * (size_t)(n + 1));
  t->chars = malloc((size_t)(n * 24 + 1));
  t->tomb = calloc(1, (size_t)(n / 8 + 1));
  t->offs[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    t->ids[i] = ids[i];
    int k = sprintf(t->chars + t->offs[i], "n%" PRId64, ids[i]);
    t->offs[i + 1] = t->offs[i] + k;
  }
  t->id_bufs[0] = NULL;
  t->id_bufs[1] = t->ids;
  t->name_bufs[0] = NULL;
  t->name_bufs[1] = t->offs;
  t->name_bufs[2] = t->chars;
  t->tomb_bufs[0] = NULL;
  t->tomb_bufs[1] = t->tomb;
  const void **bufs[3] = {t->id_bufs, t->name_bufs, t->tomb_bufs};
  int nb[3] = {2, 3, 2};
  for (int c = 0; c < 3; c++) {
    struct ArrowArray *a = &t->cols[c];
    memset(a, 0, sizeof *a);
    a->length = n;
    a->n_buffers = nb[c];
    a->buffers = bufs[c];
    a->release = noop_release;
    t->children[c] = a;
  }
  memset(out, 0, sizeof *out);
  t->top_bufs[0] = NULL;
  out->length = n;
  out->n_buffers = 1;
  out->buffers = t->top_bufs;
  out->n_children = 3;
  out->children = t->children;
  out->release = tbatch_release;
  out->private_data = t;
}

/* Appends one entry of one batch holding ids [first, first + n). */
static mw_status append_ids(mw_wal_append_result *r, mw_wal_appender *a, int64_t first, int64_t n,
                            mw_error *err) {
  struct ArrowSchema s;
  make_schema(&s);
  int64_t ids[64];
  for (int64_t i = 0; i < n; i++) ids[i] = first + i;
  struct ArrowArray b;
  make_batch(&b, ids, n);
  const struct ArrowArray *bp = &b;
  mw_status st = mw_wal_appender_append(r, a, &s, &bp, 1, err);
  b.release(&b);
  mw_schema_release(&s);
  return st;
}

/* The ids of an entry as "1,2,3" (every batch, in order); names are checked
 * to be "n<id>" and tombstones false (else "BAD"). */
static char *entry_ids(const mw_wal_entry *e) {
  mw_buf b;
  mw_buf_init(&b);
  bool bad = false;
  for (size_t k = 0; k < e->n_batches; k++) {
    const struct ArrowArray *a = &e->batches[k];
    if (a->n_children != 3) { bad = true; break; }
    const struct ArrowArray *id = a->children[0], *nm = a->children[1], *tb = a->children[2];
    const int64_t *iv = id->buffers[1];
    const int32_t *off = nm->buffers[1];
    const char *ch = nm->buffers[2];
    for (int64_t i = 0; i < a->length; i++) {
      int64_t v = iv[id->offset + a->offset + i];
      char want[32];
      int wl = snprintf(want, sizeof want, "n%" PRId64, v);
      int64_t j = nm->offset + a->offset + i;
      if (off[j + 1] - off[j] != wl || memcmp(ch + off[j], want, (size_t)wl) != 0) bad = true;
      if (tb->buffers[1] && mw_bit_get(tb->buffers[1], tb->offset + a->offset + i)) bad = true;
      char num[32];
      int nl = snprintf(num, sizeof num, "%s%" PRId64, b.len ? "," : "", v);
      mw_buf_append(&b, num, (size_t)nl);
    }
  }
  mw_buf_u8(&b, 0);
  char *s = (char *)mw_buf_take(&b, NULL);
  if (bad) strcpy(s, "BAD");
  return s;
}

/* Reads position p with a fresh tailer: returns "EPOCH:ids" or "absent" /
 * "error:<status>"; *fence receives is_fence. */
static char *read_at(mw_objstore *s, const char *shard, uint64_t p, int *fence) {
  mw_wal_tailer *t = NULL;
  mw_error e = {0};
  char *out = malloc(1024);
  if (mw_wal_tailer_open(&t, s, shard, &e) != MW_OK) {
    snprintf(out, 1024, "error:%s", e.message);
    return out;
  }
  mw_wal_entry en;
  mw_status st = mw_wal_tailer_read_entry(&en, t, p, &e);
  if (st == MW_ERR_NOT_FOUND) snprintf(out, 1024, "absent");
  else if (st != MW_OK) snprintf(out, 1024, "error:%s", mw_status_str(st));
  else {
    char *ids = entry_ids(&en);
    snprintf(out, 1024, "%" PRIu64 ":%s", en.writer_epoch, ids);
    free(ids);
    if (fence) *fence = en.is_fence;
    mw_wal_entry_release(&en);
  }
  mw_wal_tailer_close(t);
  return out;
}

#define CHECK_AT(store, shard, pos, expected)          \
  do {                                                 \
    char *got_ = read_at((store), (shard), (pos), NULL); \
    CHECK_STR(got_, (expected));                       \
    free(got_);                                        \
  } while (0)

static mw_shard_manifest *latest(mw_objstore *s, const char *shard) {
  uint8_t id[16];
  mw_uuid_parse(id, shard, NULL);
  mw_manifest_store *ms = NULL;
  mw_shard_manifest *m = NULL;
  if (mw_manifest_store_open(&ms, s, id, 0, NULL) == MW_OK) mw_manifest_store_read_latest(&m, ms, NULL);
  mw_manifest_store_close(ms);
  return m;
}

static uint64_t wal_count(mw_objstore *s, const char *shard) {
  bool any = false;
  uint64_t mn = 0, mx = 0;
  if (mw_wal_list_bounds(&any, &mn, &mx, s, shard, NULL) != MW_OK) return UINT64_MAX;
  return any ? mx - mn + 1 : 0;
}

static char g_tmp[64];

static char *make_tmp(char *buf /* 128 */, const char *tag) {
  snprintf(buf, 128, "%.63s/mw_test_wal_%.8s_XXXXXX", g_tmp, tag);
  if (!mkdtemp(buf)) abort();
  return buf;
}

/* ------------------------------------------------------ round trips */

static void roundtrip_on(const char *uri) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store(uri);
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, s, SHARD, zb(), err), err);
  if (!a) { mw_objstore_close(s); return; }
  CHECK_INT(mw_wal_appender_epoch(a), 1);
  CHECK_INT(mw_wal_appender_next_position(a), 0);
  mw_wal_append_result r = {0};
  CHECK_OK(append_ids(&r, a, 1, 3, err), err);
  CHECK_INT(r.position, 0);
  CHECK_INT(r.batches, 1);
  CHECK_INT(r.rows, 3);
  CHECK(r.bytes > 0);
  /* Two batches in one entry. */
  struct ArrowSchema sch;
  make_schema(&sch);
  int64_t i4[] = {4}, i56[] = {5, 6};
  struct ArrowArray b1, b2;
  make_batch(&b1, i4, 1);
  make_batch(&b2, i56, 2);
  const struct ArrowArray *bp[] = {&b1, &b2};
  CHECK_OK(mw_wal_appender_append(&r, a, &sch, bp, 2, err), err);
  CHECK_INT(r.position, 1);
  CHECK_INT(r.batches, 2);
  CHECK_INT(r.rows, 3);
  CHECK_INT(mw_wal_appender_next_position(a), 2);

  mw_wal_tailer *t = NULL;
  CHECK_OK(mw_wal_tailer_open(&t, s, SHARD, err), err);
  mw_wal_entry en;
  CHECK_OK(mw_wal_tailer_read_entry(&en, t, 0, err), err);
  CHECK_INT(en.position, 0);
  CHECK_INT(en.writer_epoch, 1);
  CHECK_INT(en.is_fence, 0);
  CHECK_INT(en.n_batches, 1);
  CHECK_INT(en.rows, 3);
  mw_kv kv;
  CHECK(!mw_metadata_find(en.schema.metadata, "writer_epoch", &kv)); /* stripped */
  CHECK(mw_schema_equal(&en.schema, &sch, true));                    /* field metadata kept */
  mw_buf jb;
  mw_buf_init(&jb);
  CHECK_OK(mw_json_rows(&jb, &en.schema, &en.batches[0], err), err);
  mw_buf_u8(&jb, 0);
  CHECK_STR((char *)jb.data,
            "{\"id\": 1, \"name\": \"n1\", \"_tombstone\": false}\n"
            "{\"id\": 2, \"name\": \"n2\", \"_tombstone\": false}\n"
            "{\"id\": 3, \"name\": \"n3\", \"_tombstone\": false}\n");
  mw_buf_free(&jb);
  mw_wal_entry_release(&en);
  CHECK_OK(mw_wal_tailer_read_entry(&en, t, 1, err), err);
  CHECK_INT(en.writer_epoch, 1);
  CHECK_INT(en.n_batches, 2);
  CHECK_INT(en.rows, 3);
  char *ids = entry_ids(&en);
  CHECK_STR(ids, "4,5,6");
  free(ids);
  mw_wal_entry_release(&en);
  mw_error e2 = {0};
  CHECK_INT(mw_wal_tailer_read_entry(&en, t, 999, &e2), MW_ERR_NOT_FOUND);
  CHECK_INT(en.n_batches, 0);
  CHECK(strstr(e2.message, "no wal entry at position 999") != NULL);
  uint64_t p = 77;
  CHECK_OK(mw_wal_tailer_first_position(&p, t, err), err);
  CHECK_INT(p, 0);
  CHECK_OK(mw_wal_tailer_next_position(&p, t, err), err);
  CHECK_INT(p, 2);

  /* Third entry: next position 3 (appender and tailer). */
  CHECK_OK(append_ids(&r, a, 7, 1, err), err);
  CHECK_INT(r.position, 2);
  CHECK_INT(mw_wal_appender_next_position(a), 3);
  CHECK_OK(mw_wal_tailer_next_position(&p, t, err), err);
  CHECK_INT(p, 3);

  /* Cursor: raises last_seen in a new version, keeps the epoch, never lowers. */
  mw_shard_manifest *m0 = latest(s, SHARD);
  CHECK_OK(mw_wal_tailer_update_cursor(t, 2, err), err);
  mw_shard_manifest *m1 = latest(s, SHARD);
  CHECK(m0 && m1);
  if (m0 && m1) {
    CHECK_INT(m0->wal_entry_position_last_seen, 0);
    CHECK_INT(m1->version, m0->version + 1);
    CHECK_INT(m1->wal_entry_position_last_seen, 2);
    CHECK(m1->wal_entry_position_last_seen >= 1);
    CHECK_INT(m1->writer_epoch, 1);
  }
  CHECK_OK(mw_wal_tailer_update_cursor(t, 1, err), err);
  mw_shard_manifest *m2 = latest(s, SHARD);
  if (m1 && m2) {
    CHECK_INT(m2->version, m1->version);
    CHECK_INT(m2->wal_entry_position_last_seen, 2);
  }
  mw_shard_manifest_free(m0);
  mw_shard_manifest_free(m1);
  mw_shard_manifest_free(m2);
  /* The appender still writes after the cursor commit (same epoch). */
  CHECK_OK(append_ids(&r, a, 8, 1, err), err);
  CHECK_INT(r.position, 3);
  /* A new appender seeds its hint from last_seen (2) + 1 and finds 4. */
  mw_wal_appender *a2 = NULL;
  CHECK_OK(mw_wal_appender_open(&a2, s, SHARD, zb(), err), err);
  CHECK_INT(mw_wal_appender_epoch(a2), 2);
  CHECK_INT(mw_wal_appender_next_position(a2), 3);
  CHECK_OK(append_ids(&r, a2, 9, 1, err), err);
  CHECK_INT(r.position, 4);
  CHECK_AT(s, SHARD, 4, "2:9");
  mw_wal_appender_close(a2);

  b1.release(&b1);
  b2.release(&b2);
  mw_schema_release(&sch);
  mw_wal_tailer_close(t);
  mw_wal_appender_close(a);
  mw_objstore_close(s);
}

static void test_roundtrip_memory(void) { roundtrip_on("memory://wal_roundtrip"); }

static void test_roundtrip_file(void) {
  char dir[128], uri[160];
  make_tmp(dir, "rt");
  snprintf(uri, sizeof uri, "file://%s", dir);
  roundtrip_on(uri);
  /* The objects are where the spec says. */
  char path[400];
  snprintf(path, sizeof path,
           "%s/_mem_wal/" SHARD "/wal/0100000000000000000000000000000000000000000000000000000000000000.arrow",
           dir);
  CHECK(access(path, R_OK) == 0);
  remove_dir(dir);
}

static void test_one_based(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://wal_one_based");
  mw_wal_appender_config cfg;
  mw_wal_appender_config_init(&cfg);
  CHECK_INT(cfg.first_wal_entry_position, 1); /* what Lance >= 7 reads */
  CHECK_INT(cfg.manifest_scan_batch_size, 2);
  cfg.first_wal_entry_position = 1;
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, s, SHARD, &cfg, err), err);
  mw_wal_append_result r = {0};
  CHECK_OK(append_ids(&r, a, 1, 2, err), err);
  CHECK_INT(r.position, 1);
  CHECK_OK(append_ids(&r, a, 3, 2, err), err);
  CHECK_INT(r.position, 2);
  mw_wal_tailer *t = NULL;
  CHECK_OK(mw_wal_tailer_open(&t, s, SHARD, err), err);
  uint64_t p = 0;
  CHECK_OK(mw_wal_tailer_first_position(&p, t, err), err);
  CHECK_INT(p, 1);
  CHECK_OK(mw_wal_tailer_next_position(&p, t, err), err);
  CHECK_INT(p, 3);
  CHECK_AT(s, SHARD, 0, "absent");
  CHECK_AT(s, SHARD, 1, "1:1,2");
  CHECK_AT(s, SHARD, 2, "1:3,4");
  /* An appender configured 0-based on this 1-based shard continues at 3
   * (it must never write position 0, which Lance would not replay). */
  mw_wal_appender *a0 = NULL;
  CHECK_OK(mw_wal_appender_open(&a0, s, SHARD, zb(), err), err);
  CHECK_OK(append_ids(&r, a0, 5, 1, err), err);
  CHECK_INT(r.position, 3);
  CHECK_AT(s, SHARD, 0, "absent");
  /* seed_next_position makes the position authoritative. */
  mw_wal_appender_seed_next_position(a0, 10);
  CHECK_INT(mw_wal_appender_next_position(a0), 10);
  CHECK_OK(append_ids(&r, a0, 6, 1, err), err);
  CHECK_INT(r.position, 10);
  mw_wal_appender_close(a0);
  mw_wal_tailer_close(t);
  mw_wal_appender_close(a);
  /* Empty WAL: first_position NOT_FOUND, next_position 0. */
  CHECK_OK(mw_wal_tailer_open(&t, s, "01020304-0506-4708-890a-0b0c0d0e0fff", err), err);
  CHECK_INT(mw_wal_tailer_first_position(&p, t, NULL), MW_ERR_NOT_FOUND);
  CHECK_OK(mw_wal_tailer_next_position(&p, t, err), err);
  CHECK_INT(p, 0);
  mw_wal_tailer_close(t);
  mw_objstore_close(s);
}

static void test_invalid_input(void) {
  mw_objstore *s = open_store("memory://wal_invalid");
  mw_error e = {0}, *ep = &e;
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, s, SHARD, zb(), ep), ep);
  struct ArrowSchema sch;
  make_schema(&sch);
  mw_wal_append_result r;
  /* no batches */
  CHECK_INT(mw_wal_appender_append(&r, a, &sch, NULL, 0, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "no batches") != NULL);
  /* zero-row batch (alone, and after a good one) */
  int64_t one[] = {1};
  struct ArrowArray good, empty;
  make_batch(&good, one, 1);
  make_batch(&empty, one, 0);
  const struct ArrowArray *bp[] = {&good, &empty};
  CHECK_INT(mw_wal_appender_append(&r, a, &sch, bp + 1, 1, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "zero rows") != NULL);
  CHECK_INT(mw_wal_appender_append(&r, a, &sch, bp, 2, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "batch 1 has zero rows") != NULL);
  /* released batch */
  struct ArrowArray released;
  make_batch(&released, one, 1);
  released.release(&released);
  const struct ArrowArray *rp = &released;
  CHECK_INT(mw_wal_appender_append(&r, a, &sch, &rp, 1, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "released") != NULL);
  /* a batch that does not match the schema (2 columns instead of 3) */
  struct ArrowArray bad;
  make_batch(&bad, one, 1);
  bad.n_children = 2;
  const struct ArrowArray *badp = &bad;
  CHECK_INT(mw_wal_appender_append(&r, a, &sch, &badp, 1, &e), MW_ERR_INVALID);
  bad.n_children = 3;
  bad.release(&bad);
  CHECK_INT(r.position, 0);
  CHECK_INT(r.rows, 0);
  /* Nothing was written; the next valid append lands on the first position. */
  CHECK_INT(wal_count(s, SHARD), 0);
  CHECK_OK(mw_wal_appender_append(&r, a, &sch, bp, 1, ep), ep);
  CHECK_INT(r.position, 0);
  CHECK_INT(wal_count(s, SHARD), 1);
  /* Bad shard ids */
  mw_wal_appender *x = NULL;
  CHECK_INT(mw_wal_appender_open(&x, s, "not-a-uuid", NULL, &e), MW_ERR_INVALID);
  CHECK(x == NULL);
  mw_wal_tailer *t = NULL;
  CHECK_INT(mw_wal_tailer_open(&t, s, "zz", &e), MW_ERR_INVALID);
  good.release(&good);
  empty.release(&empty);
  mw_schema_release(&sch);
  mw_wal_appender_close(a);
  mw_objstore_close(s);
}

static void test_sealed_and_corrupt(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://wal_sealed");
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, s, SHARD, zb(), err), err);
  mw_wal_appender_close(a);
  mw_shard_manifest *m = latest(s, SHARD);
  CHECK(m != NULL);
  if (m) {
    m->version++;
    m->status = MW_SHARD_STATUS_SEALED;
    m->has_status = 1;
    uint8_t id[16];
    mw_uuid_parse(id, SHARD, NULL);
    mw_manifest_store *ms = NULL;
    CHECK_OK(mw_manifest_store_open(&ms, s, id, 0, err), err);
    CHECK_OK(mw_manifest_store_write_version(ms, m, err), err);
    mw_manifest_store_close(ms);
    mw_shard_manifest_free(m);
  }
  a = NULL;
  mw_error e = {0};
  CHECK_INT(mw_wal_appender_open(&a, s, SHARD, zb(), &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "sealed") != NULL);
  CHECK(a == NULL);
  /* Hostile entries: garbage, and a valid stream without writer_epoch. */
  char key[MW_KEY_SIZE];
  mw_wal_entry_key(key, SHARD, 0);
  CHECK_OK(mw_objstore_put(s, key, "garbage!", 8, err), err);
  mw_wal_tailer *t = NULL;
  CHECK_OK(mw_wal_tailer_open(&t, s, SHARD, err), err);
  mw_wal_entry en;
  CHECK_INT(mw_wal_tailer_read_entry(&en, t, 0, &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, key) != NULL);
  struct ArrowSchema sch;
  make_schema(&sch);
  int64_t one[] = {1};
  struct ArrowArray b;
  make_batch(&b, one, 1);
  const struct ArrowArray *bp = &b;
  void *data = NULL;
  size_t len = 0;
  CHECK_OK(mw_ipc_encode(&data, &len, &sch, &bp, 1, NULL, err), err);
  mw_wal_entry_key(key, SHARD, 1);
  CHECK_OK(mw_objstore_put(s, key, data, len, err), err);
  mw_free(data);
  CHECK_INT(mw_wal_tailer_read_entry(&en, t, 1, &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "no writer_epoch") != NULL);
  bool ok = true;
  char *meta = mw_metadata_with(NULL, "writer_epoch", "12x", &ok);
  CHECK_OK(mw_ipc_encode(&data, &len, &sch, &bp, 1, meta, err), err);
  free(meta);
  mw_wal_entry_key(key, SHARD, 2);
  CHECK_OK(mw_objstore_put(s, key, data, len, err), err);
  mw_free(data);
  CHECK_INT(mw_wal_tailer_read_entry(&en, t, 2, &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "malformed writer_epoch '12x'") != NULL);
  b.release(&b);
  mw_schema_release(&sch);
  mw_wal_tailer_close(t);
  mw_objstore_close(s);
}

/* ----------------------------------------------------------- fixture */

static void check_fixture_wal(mw_objstore *s) {
  static const char *want[8] = {NULL,  "1:1,2,3", "2:",     "2:4,5,6",
                                "3:",  "3:7,8,9", "4:",     "4:3,10"};
  for (uint64_t p = 1; p <= 7; p++) {
    int fence = -1;
    char *got = read_at(s, FIX_SHARD, p, &fence);
    CHECK_STR(got, want[p]);
    CHECK_INT(fence, p % 2 == 0);
    free(got);
  }
  CHECK_AT(s, FIX_SHARD, 0, "absent");
  CHECK_AT(s, FIX_SHARD, 8, "absent");
  mw_wal_tailer *t = NULL;
  mw_error e_ = {0}, *err = &e_;
  CHECK_OK(mw_wal_tailer_open(&t, s, FIX_SHARD, err), err);
  uint64_t p = 0;
  CHECK_OK(mw_wal_tailer_first_position(&p, t, err), err);
  CHECK_INT(p, 1);
  CHECK_OK(mw_wal_tailer_next_position(&p, t, err), err);
  CHECK_INT(p, 8);
  /* Lance's fence entries: empty schema, no batch, fence_sentinel kept. */
  mw_wal_entry en;
  CHECK_OK(mw_wal_tailer_read_entry(&en, t, 2, err), err);
  CHECK_INT(en.is_fence, 1);
  CHECK_INT(en.n_batches, 0);
  CHECK_INT(en.rows, 0);
  CHECK_INT(en.schema.n_children, 0);
  mw_kv kv;
  CHECK(mw_metadata_find(en.schema.metadata, "fence_sentinel", &kv));
  CHECK(!mw_metadata_find(en.schema.metadata, "writer_epoch", &kv));
  mw_wal_entry_release(&en);
  /* A data entry has the fixture schema (which is ours). */
  CHECK_OK(mw_wal_tailer_read_entry(&en, t, 7, err), err);
  struct ArrowSchema sch;
  make_schema(&sch);
  CHECK(mw_schema_equal(&en.schema, &sch, true));
  mw_schema_release(&sch);
  mw_wal_entry_release(&en);
  mw_wal_tailer_close(t);
}

static void test_fixture(void) {
  /* Reads only: the shared folder itself. */
  mw_objstore *ro = open_store(FIXTURE);
  check_fixture_wal(ro);
  mw_objstore_close(ro);
  /* Writes: a copy in a temp folder. */
  char dir[128];
  make_tmp(dir, "fix");
  mw_objstore *to = open_store(dir);
  copy_fixture_mem_wal(to);
  mw_error e_ = {0}, *err = &e_;
  check_fixture_wal(to);
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, to, FIX_SHARD, zb(), err), err);
  CHECK_INT(mw_wal_appender_epoch(a), 5);
  CHECK_INT(mw_wal_appender_next_position(a), 7); /* hint: max(last_seen 6, replay_after 3) + 1 */
  mw_wal_append_result r = {0};
  CHECK_OK(append_ids(&r, a, 11, 2, err), err);
  CHECK_INT(r.position, 8);
  CHECK_INT(mw_wal_appender_next_position(a), 9);
  CHECK_AT(to, FIX_SHARD, 8, "5:11,12");
  mw_shard_manifest *m = latest(to, FIX_SHARD);
  CHECK(m != NULL);
  if (m) {
    CHECK_INT(m->version, 9);
    CHECK_INT(m->writer_epoch, 5);
    CHECK_INT(m->replay_after_wal_entry_position, 3);
    CHECK_INT(m->wal_entry_position_last_seen, 6);
    CHECK_INT(m->current_generation, 2);
    CHECK_INT(m->n_flushed_generations, 1);
  }
  mw_shard_manifest_free(m);
  mw_wal_appender_close(a);
  mw_objstore_close(to);
  remove_dir(dir);
}

/* ----------------------------------------------------------- fencing */

static void test_fenced_on_collision(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://wal_fence_collide");
  mw_wal_appender *A = NULL, *B = NULL;
  CHECK_OK(mw_wal_appender_open(&A, s, SHARD, zb(), err), err);
  mw_wal_append_result r = {0};
  CHECK_OK(append_ids(&r, A, 1, 1, err), err);
  CHECK_INT(r.position, 0);
  CHECK_OK(mw_wal_appender_open(&B, s, SHARD, zb(), err), err);
  CHECK_INT(mw_wal_appender_epoch(B), 2);
  CHECK_OK(append_ids(&r, B, 2, 1, err), err);
  CHECK_INT(r.position, 1);
  mw_error e = {0};
  CHECK_INT(append_ids(&r, A, 3, 1, &e), MW_ERR_FENCED);
  CHECK_STR(e.message, "writer fenced: local epoch 1 < stored epoch 2 (shard " SHARD ")");
  CHECK_INT(e.code, MW_ERR_FENCED);
  /* Sticky: the next append fails the same way without touching the WAL. */
  mw_error e2 = {0};
  CHECK_INT(append_ids(&r, A, 4, 1, &e2), MW_ERR_FENCED);
  CHECK_STR(e2.message, e.message);
  CHECK_INT(wal_count(s, SHARD), 2);
  CHECK_AT(s, SHARD, 0, "1:1");
  CHECK_AT(s, SHARD, 1, "2:2");
  CHECK_AT(s, SHARD, 2, "absent");
  /* B goes on. */
  CHECK_OK(append_ids(&r, B, 5, 1, err), err);
  CHECK_INT(r.position, 2);
  mw_wal_appender_close(A);
  mw_wal_appender_close(B);
  mw_objstore_close(s);
}

/* Fencing is lazy at a free position: put_if_absent on a free position
 * succeeds without consulting the manifest, so an older appender's write
 * there is accepted (it is a valid, replayable entry of its epoch). It is
 * fenced on its first collision, and at once when the newer writer wrote a
 * fence entry at the tip (what the ShardWriter and `append --fence` do). */
static void test_fenced_free_position(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://wal_fence_free");
  mw_wal_appender *A = NULL, *B = NULL;
  CHECK_OK(mw_wal_appender_open(&A, s, SHARD, zb(), err), err);
  mw_wal_append_result r = {0};
  CHECK_OK(append_ids(&r, A, 1, 1, err), err);
  CHECK_OK(mw_wal_appender_open(&B, s, SHARD, zb(), err), err);
  /* B has not written: A's next position (1) is free: A's write succeeds. */
  CHECK_OK(append_ids(&r, A, 2, 1, err), err);
  CHECK_INT(r.position, 1);
  CHECK_AT(s, SHARD, 1, "1:2");
  /* B discovers past A's entries. */
  CHECK_OK(append_ids(&r, B, 3, 1, err), err);
  CHECK_INT(r.position, 2);
  mw_error e = {0};
  CHECK_INT(append_ids(&r, A, 4, 1, &e), MW_ERR_FENCED);
  CHECK_STR(e.message, "writer fenced: local epoch 1 < stored epoch 2 (shard " SHARD ")");
  mw_wal_appender_close(A);
  mw_wal_appender_close(B);

  /* With a fence entry: C claims (epoch 3) and fences at the tip (3). */
  mw_wal_appender *D = NULL, *C = NULL;
  CHECK_OK(mw_wal_appender_open(&D, s, SHARD, zb(), err), err); /* epoch 3 */
  CHECK_OK(append_ids(&r, D, 5, 1, err), err);
  CHECK_INT(r.position, 3);
  uint8_t id[16];
  mw_uuid_parse(id, SHARD, NULL);
  mw_manifest_store *ms = NULL;
  CHECK_OK(mw_manifest_store_open(&ms, s, id, 0, err), err);
  mw_shard_manifest *claimed = NULL;
  uint64_t prev = 0;
  CHECK_OK(mw_manifest_store_claim_epoch(&claimed, &prev, ms, 0, err), err);
  CHECK_INT(prev, 3);
  CHECK_OK(mw_wal_appender_new_claimed(&C, s, ms, true, claimed->writer_epoch, claimed, 0, err), err);
  CHECK_INT(mw_wal_appender_epoch(C), 4);
  struct ArrowSchema sch;
  make_schema(&sch);
  mw_wal_append_result fr = {0};
  CHECK_OK(mw_wal_appender_append_fence(&fr, C, &sch, err), err);
  CHECK_INT(fr.position, 4);
  CHECK_INT(fr.batches, 0);
  CHECK_INT(fr.rows, 0);
  int fence = 0;
  char *got = read_at(s, SHARD, 4, &fence);
  CHECK_STR(got, "4:");
  CHECK_INT(fence, 1);
  free(got);
  /* D's next position (4) holds the fence: D is fenced at once. */
  CHECK_INT(append_ids(&r, D, 6, 1, &e), MW_ERR_FENCED);
  CHECK_STR(e.message, "writer fenced: local epoch 3 < stored epoch 4 (shard " SHARD ")");
  CHECK_OK(append_ids(&r, C, 7, 1, err), err);
  CHECK_INT(r.position, 5);
  mw_schema_release(&sch);
  mw_shard_manifest_free(claimed);
  mw_wal_appender_close(C);
  mw_wal_appender_close(D);
  mw_objstore_close(s);
}

/* ------------------------------------------------------------- races */

#define RACE_MAX 64
typedef struct racer {
  mw_wal_appender *a;
  int64_t tag;        /* ids = tag * 1000 + i */
  int n;              /* appends to try (or until fenced) */
  int stop_on_flag;   /* stop when *done is set */
  volatile int *done; /* set by the newer writer when it finishes */
  pthread_barrier_t *start; /* optional: all racers start together */
  uint64_t pos[RACE_MAX * 4];
  int64_t first_id[RACE_MAX * 4];
  int acked;
  mw_status last;
  char msg[MW_ERROR_MESSAGE_SIZE];
} racer;

static void *race_main(void *arg) {
  racer *rc = arg;
  if (rc->start) pthread_barrier_wait(rc->start);
  for (int i = 0; rc->acked < rc->n; i++) {
    if (rc->stop_on_flag && __atomic_load_n(rc->done, __ATOMIC_ACQUIRE)) break;
    mw_wal_append_result r = {0};
    mw_error e = {0};
    int64_t first = rc->tag * 1000 + i * 2;
    mw_status s = append_ids(&r, rc->a, first, 2, &e);
    rc->last = s;
    if (s != MW_OK) {
      snprintf(rc->msg, sizeof rc->msg, "%s", e.message);
      break;
    }
    rc->pos[rc->acked] = r.position;
    rc->first_id[rc->acked] = first;
    rc->acked++;
  }
  if (!rc->stop_on_flag && rc->done) __atomic_store_n(rc->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* Every acknowledged entry of the racers holds its content and epoch; no
 * position acknowledged twice; the WAL is dense and holds exactly the
 * acknowledged entries plus `extra`. */
static void verify_racers(mw_objstore *s, racer **rs, int n, uint64_t extra) {
  uint64_t total = 0, maxpos = 0;
  for (int k = 0; k < n; k++) {
    for (int i = 0; i < rs[k]->acked; i++) {
      char want[128];
      snprintf(want, sizeof want, "%" PRIu64 ":%" PRId64 ",%" PRId64,
               mw_wal_appender_epoch(rs[k]->a), rs[k]->first_id[i], rs[k]->first_id[i] + 1);
      CHECK_AT(s, SHARD, rs[k]->pos[i], want);
      if (rs[k]->pos[i] > maxpos) maxpos = rs[k]->pos[i];
      for (int k2 = 0; k2 < n; k2++)
        for (int j = 0; j < rs[k2]->acked; j++)
          if ((k2 != k || j != i) && rs[k2]->pos[j] == rs[k]->pos[i]) {
            CHECK(!"position acknowledged twice");
            fprintf(stderr, "position %" PRIu64 " twice\n", rs[k]->pos[i]);
          }
    }
    total += (uint64_t)rs[k]->acked;
  }
  CHECK_INT(wal_count(s, SHARD), total + extra);
  mw_wal_tailer *t = NULL;
  uint64_t first = 9, next = 0;
  mw_wal_tailer_open(&t, s, SHARD, NULL);
  CHECK_OK(mw_wal_tailer_first_position(&first, t, NULL), (mw_error *)NULL);
  CHECK_OK(mw_wal_tailer_next_position(&next, t, NULL), (mw_error *)NULL);
  CHECK_INT(first, 0);
  CHECK_INT(next, total + extra); /* dense: 0 .. total+extra-1 */
  mw_wal_tailer_close(t);
}

static void test_race_two_appenders(void) {
  mw_error e_ = {0}, *err = &e_;
  for (int round = 0; round < 5; round++) {
    char uri[64];
    snprintf(uri, sizeof uri, "memory://wal_race2_%d", round);
    mw_objstore *s = open_store(uri);
    mw_wal_appender *A = NULL, *B = NULL;
    CHECK_OK(mw_wal_appender_open(&A, s, SHARD, zb(), err), err);
    /* A writes first, so its next position is known (no discovery, which
     * would check the manifest and fence A at once): the race is between
     * A's known positions and B's writes. */
    volatile int done = 0;
    racer ra = {.a = A, .tag = 1, .n = RACE_MAX * 4, .stop_on_flag = 1, .done = &done};
    mw_wal_append_result r0 = {0};
    CHECK_OK(append_ids(&r0, A, 500, 2, err), err);
    ra.pos[0] = r0.position;
    ra.first_id[0] = 500;
    ra.acked = 1;
    CHECK_OK(mw_wal_appender_open(&B, s, SHARD, zb(), err), err);
    if (!A || !B) return;
    racer rb = {.a = B, .tag = 2, .n = RACE_MAX, .stop_on_flag = 0, .done = &done};
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    ra.start = rb.start = &bar;
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race_main, &ra);
    pthread_create(&tb, NULL, race_main, &rb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&bar);
    CHECK_INT(rb.acked, RACE_MAX);
    CHECK_INT(rb.last, MW_OK);
    uint64_t extra = 0;
    if (ra.last != MW_ERR_FENCED) {
      /* A never collided: B fences at the tip, A's next append collides. */
      mw_wal_append_result fr = {0};
      struct ArrowSchema sch;
      make_schema(&sch);
      CHECK_OK(mw_wal_appender_append_fence(&fr, B, &sch, err), err);
      mw_schema_release(&sch);
      extra = 1;
      mw_wal_append_result r;
      mw_error e = {0};
      ra.last = append_ids(&r, A, 999999, 1, &e);
      snprintf(ra.msg, sizeof ra.msg, "%s", e.message);
    }
    CHECK_INT(ra.last, MW_ERR_FENCED);
    CHECK_STR(ra.msg, "writer fenced: local epoch 1 < stored epoch 2 (shard " SHARD ")");
    racer *rs[] = {&ra, &rb};
    verify_racers(s, rs, 2, extra);
    printf("  round %d: older acked %d, newer acked %d, older fenced %s\n", round, ra.acked,
           rb.acked, extra ? "after a fence entry" : "during the race");
    mw_wal_appender_close(A);
    mw_wal_appender_close(B);
    mw_objstore_close(s);
  }
}

static void test_threads_share_appender(void) {
  mw_error e_ = {0}, *err = &e_;
  char dir[128], uri[160];
  make_tmp(dir, "share");
  snprintf(uri, sizeof uri, "file://%s", dir);
  mw_objstore_options o;
  mw_objstore_options_init(&o);
  o.fsync = 0; /* speed: durability is not what this test checks */
  mw_objstore *s = NULL;
  CHECK_OK(mw_objstore_open(&s, uri, &o, err), err);
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, s, SHARD, zb(), err), err);
  if (!a) return;
  racer r[4];
  pthread_t th[4];
  for (int k = 0; k < 4; k++) {
    memset(&r[k], 0, sizeof r[k]);
    r[k].a = a;
    r[k].tag = k + 1;
    r[k].n = 25;
    pthread_create(&th[k], NULL, race_main, &r[k]);
  }
  for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
  for (int k = 0; k < 4; k++) {
    CHECK_INT(r[k].acked, 25);
    CHECK_INT(r[k].last, MW_OK);
    /* One thread's positions increase (appends are serialised). */
    for (int i = 1; i < r[k].acked; i++) CHECK(r[k].pos[i] > r[k].pos[i - 1]);
  }
  racer *rs[] = {&r[0], &r[1], &r[2], &r[3]};
  verify_racers(s, rs, 4, 0);
  CHECK_INT(mw_wal_appender_next_position(a), 100);
  mw_wal_appender_close(a);
  mw_objstore_close(s);
  remove_dir(dir);
}

/* Two processes, each with its own appender, on one file:// shard. Each
 * child writes one line "POS FIRST_ID EPOCH" per acknowledged append to its
 * own file and stops when fenced. */
static void child_appender(const char *uri, int tag, int go_fd, const char *ackpath) {
  char c;
  if (read(go_fd, &c, 1) != 1) _exit(3);
  mw_objstore *s = NULL;
  mw_error e = {0};
  if (mw_objstore_open(&s, uri, NULL, &e) != MW_OK) _exit(4);
  FILE *f = fopen(ackpath, "w");
  if (!f) _exit(5);
  mw_wal_appender *a = NULL;
  mw_wal_appender_config cfg;
  mw_wal_appender_config_init(&cfg);
  cfg.first_wal_entry_position = 1;
  mw_status st = mw_wal_appender_open(&a, s, SHARD, &cfg, &e);
  if (st != MW_OK) {
    fprintf(f, "open %d %s\n", (int)st, e.message);
    fclose(f);
    _exit(st == MW_ERR_FENCED ? 0 : 6);
  }
  int rc = 0;
  for (int i = 0; i < 40; i++) {
    mw_wal_append_result r = {0};
    int64_t first = (int64_t)tag * 1000 + i * 2;
    st = append_ids(&r, a, first, 2, &e);
    if (st == MW_ERR_FENCED) break;
    if (st != MW_OK) { rc = 7; break; }
    fprintf(f, "%" PRIu64 " %" PRId64 " %" PRIu64 "\n", r.position, first, mw_wal_appender_epoch(a));
    fflush(f);
  }
  fclose(f);
  mw_wal_appender_close(a);
  mw_objstore_close(s);
  _exit(rc);
}

static void test_processes(void) {
  char dir[128], uri[160];
  make_tmp(dir, "proc");
  snprintf(uri, sizeof uri, "file://%s", dir);
  int go[2];
  CHECK_INT(pipe(go), 0);
  pid_t pids[2];
  char ack[2][200];
  fflush(NULL);
  for (int k = 0; k < 2; k++) {
    snprintf(ack[k], sizeof ack[k], "%s/ack%d.txt", dir, k);
    pids[k] = fork();
    if (pids[k] == 0) {
      close(go[1]);
      child_appender(uri, k + 1, go[0], ack[k]);
    }
  }
  close(go[0]);
  CHECK_INT(write(go[1], "gg", 2), 2);
  close(go[1]);
  for (int k = 0; k < 2; k++) {
    int st = 0;
    waitpid(pids[k], &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_INT(WEXITSTATUS(st), 0);
  }
  mw_objstore *s = open_store(uri);
  uint64_t seen[256];
  int n_seen = 0, opened = 0;
  for (int k = 0; k < 2; k++) {
    FILE *f = fopen(ack[k], "r");
    CHECK(f != NULL);
    if (!f) continue;
    char line[600];
    while (fgets(line, sizeof line, f)) {
      uint64_t pos, epoch;
      int64_t first;
      if (strncmp(line, "open ", 5) == 0) {
        CHECK(strstr(line, "claimed by another writer") != NULL);
        continue;
      }
      if (sscanf(line, "%" SCNu64 " %" SCNd64 " %" SCNu64, &pos, &first, &epoch) != 3) {
        CHECK(!"bad ack line");
        continue;
      }
      char want[128];
      snprintf(want, sizeof want, "%" PRIu64 ":%" PRId64 ",%" PRId64, epoch, first, first + 1);
      CHECK_AT(s, SHARD, pos, want);
      for (int i = 0; i < n_seen; i++) CHECK(seen[i] != pos);
      if (n_seen < 256) seen[n_seen++] = pos;
      opened = 1;
    }
    fclose(f);
  }
  CHECK(opened);
  CHECK(n_seen >= 40); /* the newer writer is never fenced: all 40 acked */
  CHECK_INT(wal_count(s, SHARD), (uint64_t)n_seen); /* nothing unacknowledged, 1-based dense */
  CHECK_AT(s, SHARD, 0, "absent");
  mw_objstore_close(s);
  remove_dir(dir);
}

/* ------------------------------------------------------------ faults */

/* Known payloads (first id -> content) checked over the whole WAL: every
 * entry decodes (nothing partial), holds one of the payloads we wrote, and
 * no payload appears twice. */
static void check_wal_payloads(mw_objstore *inner, const int64_t *firsts, int n_firsts,
                               const char *what) {
  bool any = false;
  uint64_t mn = 0, mx = 0;
  CHECK_OK(mw_wal_list_bounds(&any, &mn, &mx, inner, SHARD, NULL), (mw_error *)NULL);
  int count[16] = {0};
  for (uint64_t p = mn; any && p <= mx; p++) {
    char *got = read_at(inner, SHARD, p, NULL);
    char *colon = strchr(got, ':');
    int matched = 0;
    for (int i = 0; colon && i < n_firsts; i++) {
      char want[64];
      snprintf(want, sizeof want, "%" PRId64 ",%" PRId64, firsts[i], firsts[i] + 1);
      if (strcmp(colon + 1, want) == 0) { count[i]++; matched = 1; }
    }
    if (!matched) {
      fprintf(stderr, "[%s] position %" PRIu64 ": unexpected entry %s\n", what, p, got);
      CHECK(matched);
    }
    free(got);
  }
  for (int i = 0; i < n_firsts; i++)
    if (count[i] > 1) {
      fprintf(stderr, "[%s] payload %" PRId64 " written %d times\n", what, firsts[i], count[i]);
      CHECK(count[i] <= 1);
    }
}

typedef struct fault_run {
  int injected;      /* did the armed fault fire? */
  mw_status open_st; /* result of open */
  mw_status st[2];   /* results of the two appends */
  uint64_t pos[2];
  uint64_t epoch;
} fault_run;

/* One scenario: seed entry (ids 1,2 at position 0) written without faults;
 * arm; open an appender through the wrapper; append ids 10,11 (armed), then
 * disarm and append ids 20,21. Checks what must hold whatever failed. */
static fault_run run_fault(const mw_fault_spec *spec, int crash, const char *what) {
  fault_run fr = {0};
  int retry = 0;
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *inner = open_store("memory://");
  mw_objstore *f = NULL;
  CHECK_OK(mw_objstore_fault_new(&f, inner, err), err);
  mw_wal_appender *seed = NULL;
  mw_wal_append_result r = {0};
  CHECK_OK(mw_wal_appender_open(&seed, inner, SHARD, zb(), err), err);
  CHECK_OK(append_ids(&r, seed, 1, 2, err), err);
  mw_wal_appender_close(seed);
  mw_shard_manifest *m0 = latest(inner, SHARD);
  uint64_t v0 = m0 ? m0->version : 0;
  mw_shard_manifest_free(m0);

  CHECK_OK(mw_objstore_fault_arm(f, spec, err), err);
  mw_wal_appender *a = NULL;
  mw_error e = {0};
  fr.open_st = mw_wal_appender_open(&a, f, SHARD, zb(), &e);
  if (fr.open_st != MW_OK) {
    CHECK(a == NULL);
    CHECK(e.message[0] != '\0');
    if (!crash && !strstr(e.message, "injected")) {
      fprintf(stderr, "[%s] unclear open error: %s\n", what, e.message);
      CHECK(!"open error names the injected fault");
    }
  } else {
    fr.epoch = mw_wal_appender_epoch(a);
    fr.st[0] = append_ids(&r, a, 10, 2, &e);
    fr.pos[0] = r.position;
    if (fr.st[0] != MW_OK && !crash && !strstr(e.message, "injected")) {
      fprintf(stderr, "[%s] unclear append error: %s\n", what, e.message);
      CHECK(!"append error names the injected fault");
    }
  }
  mw_fault_counters c;
  mw_objstore_fault_counters(f, &c);
  fr.injected = c.injected > 0;
  CHECK_INT(c.rollback_failures, 0);
  mw_objstore_fault_reset(f); /* disarm / "restart" the store */
  if (fr.open_st == MW_OK && !crash) {
    /* A clean failure (MW_ERR_IO) means "not written": the caller retries
     * the same payload, which must then exist exactly once. */
    retry = fr.st[0] == MW_ERR_IO;
    fr.st[1] = append_ids(&r, a, retry ? 10 : 20, 2, &e);
    fr.pos[1] = r.position;
    /* After a clean failure the appender works again; fenced/poisoned stay. */
    if (fr.st[0] == MW_OK || fr.st[0] == MW_ERR_IO) CHECK_INT(fr.st[1], MW_OK);
    else CHECK_INT(fr.st[1], fr.st[0]);
  }
  mw_wal_appender_close(a);

  /* Acknowledged entries are there, exactly. */
  CHECK_AT(inner, SHARD, 0, "1:1,2");
  char want[64];
  for (int i = 0; i < 2; i++)
    if (fr.open_st == MW_OK && fr.st[i] == MW_OK && !(crash && i == 1)) {
      int first = (i == 0 || retry) ? 10 : 20;
      snprintf(want, sizeof want, "%" PRIu64 ":%d,%d", fr.epoch, first, first + 1);
      CHECK_AT(inner, SHARD, fr.pos[i], want);
    }
  int64_t firsts[] = {1, 10, 20};
  check_wal_payloads(inner, firsts, 3, what);
  /* Manifests never go backwards; the claim, if acknowledged, is the latest. */
  mw_shard_manifest *m1 = latest(inner, SHARD);
  CHECK(m1 != NULL);
  if (m1) {
    CHECK(m1->version >= v0);
    if (fr.open_st == MW_OK) CHECK_INT(m1->writer_epoch, fr.epoch);
  }
  mw_shard_manifest_free(m1);
  /* Reopen on the inner store: a new writer appends after everything. */
  mw_wal_appender *re = NULL;
  CHECK_OK(mw_wal_appender_open(&re, inner, SHARD, zb(), err), err);
  if (re) {
    uint64_t before = wal_count(inner, SHARD);
    CHECK_OK(append_ids(&r, re, 30, 2, err), err);
    CHECK_INT(wal_count(inner, SHARD), before + 1);
    mw_wal_appender_close(re);
  }
  mw_objstore_close(f);
  mw_objstore_close(inner);
  return fr;
}

static void test_faults_each_call(void) {
  const mw_fault_kind kinds[] = {MW_FAULT_ERROR, MW_FAULT_WROTE_ERROR};
  const mw_fault_mode modes[] = {MW_FAULT_ONCE, MW_FAULT_PERSISTENT};
  int scenarios = 0;
  for (int k = 0; k < 2; k++)
    for (int md = 0; md < 2; md++)
      for (uint64_t n = 1; n < 200; n++) {
        mw_fault_spec spec = {.ops = MW_FAULT_ALL, .nth = n, .kind = kinds[k], .mode = modes[md]};
        char what[64];
        snprintf(what, sizeof what, "kind %d mode %d call %" PRIu64, k, md, n);
        fault_run fr = run_fault(&spec, 0, what);
        scenarios++;
        if (!fr.injected) break; /* past the last call: every call was covered */
        /* A transient fault never makes the second append fail. */
        if (modes[md] == MW_FAULT_ONCE && fr.open_st == MW_OK && fr.st[0] != MW_ERR_POISONED)
          CHECK_INT(fr.st[1], MW_OK);
      }
  printf("  %d fault scenarios (claim + append, every call, 2 kinds x 2 modes)\n", scenarios);
  CHECK(scenarios > 20);
}

static void test_fault_crash_each_call(void) {
  int scenarios = 0;
  for (uint64_t n = 1; n < 200; n++) {
    mw_fault_spec spec = {.ops = MW_FAULT_ALL, .nth = n, .kind = MW_FAULT_CRASH};
    char what[64];
    snprintf(what, sizeof what, "crash at call %" PRIu64, n);
    fault_run fr = run_fault(&spec, 1, what);
    scenarios++;
    if (!fr.injected) {
      /* No crash: everything succeeded. */
      CHECK_INT(fr.open_st, MW_OK);
      CHECK_INT(fr.st[0], MW_OK);
      break;
    }
  }
  printf("  %d crash scenarios\n", scenarios);
  CHECK(scenarios > 5);
}

/* WROTE_ERROR on the entry's put_if_absent: the object was written; the
 * read-back recognises our bytes and the append succeeds exactly once. */
static void test_fault_wrote_entry(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *inner = open_store("memory://");
  mw_objstore *f = NULL;
  CHECK_OK(mw_objstore_fault_new(&f, inner, err), err);
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, f, SHARD, zb(), err), err);
  mw_fault_spec spec = {.ops = MW_FAULT_PUT_IF_ABSENT,
                        .key_prefix = "_mem_wal/" SHARD "/wal/",
                        .nth = 1,
                        .kind = MW_FAULT_WROTE_ERROR,
                        .mode = MW_FAULT_ONCE};
  CHECK_OK(mw_objstore_fault_arm(f, &spec, err), err);
  mw_wal_append_result r = {0};
  CHECK_OK(append_ids(&r, a, 10, 2, err), err);
  CHECK_INT(r.position, 0);
  mw_fault_counters c;
  mw_objstore_fault_counters(f, &c);
  CHECK_INT(c.injected, 1);
  CHECK_OK(append_ids(&r, a, 20, 2, err), err);
  CHECK_INT(r.position, 1);
  CHECK_INT(wal_count(inner, SHARD), 2);
  CHECK_AT(inner, SHARD, 0, "1:10,11");
  CHECK_AT(inner, SHARD, 1, "1:20,21");

  /* ERROR on the entry put: clean failure, the position is retried. */
  spec.kind = MW_FAULT_ERROR;
  CHECK_OK(mw_objstore_fault_arm(f, &spec, err), err);
  mw_error e = {0};
  CHECK_INT(append_ids(&r, a, 30, 2, &e), MW_ERR_IO);
  CHECK(strstr(e.message, "wal append at position 2 failed") != NULL);
  CHECK(strstr(e.message, "injected") != NULL);
  CHECK_INT(wal_count(inner, SHARD), 2);
  CHECK_OK(append_ids(&r, a, 30, 2, err), err);
  CHECK_INT(r.position, 2);

  /* Put fails and the read-back cannot tell: POISONED, and it sticks (no
   * further I/O) until the caller reopens. */
  spec.ops = MW_FAULT_PUT_IF_ABSENT | MW_FAULT_GET;
  spec.mode = MW_FAULT_PERSISTENT;
  spec.kind = MW_FAULT_WROTE_ERROR;
  CHECK_OK(mw_objstore_fault_arm(f, &spec, err), err);
  CHECK_INT(append_ids(&r, a, 40, 2, &e), MW_ERR_POISONED);
  CHECK(strstr(e.message, "outcome unknown") != NULL);
  mw_objstore_fault_reset(f);
  uint64_t calls = mw_objstore_fault_calls(f, 0);
  mw_error e2 = {0};
  CHECK_INT(append_ids(&r, a, 50, 2, &e2), MW_ERR_POISONED);
  CHECK_STR(e2.message, e.message);
  CHECK_INT(mw_objstore_fault_calls(f, 0), calls);
  mw_wal_appender_close(a);
  /* The write did land (WROTE_ERROR): a reopened appender sees it and goes on. */
  CHECK_AT(inner, SHARD, 3, "1:40,41");
  CHECK_OK(mw_wal_appender_open(&a, f, SHARD, zb(), err), err);
  CHECK_OK(append_ids(&r, a, 50, 2, err), err);
  CHECK_INT(r.position, 4);
  mw_wal_appender_close(a);
  mw_objstore_close(f);
  mw_objstore_close(inner);
}

/* ------------------------------------------------- durability truth */

#define WAL_PREFIX "_mem_wal/" SHARD "/wal/"

/* An entry that became visible but whose fsync (of the file or of its
 * folder) then failed is NEVER acknowledged: the append is MW_ERR_POISONED
 * (sticky, no further I/O), although a read-back finds our bytes, because
 * the fault wrapper then models a local disk (visible is not durable). */
static void fsync_after_visible_on(const char *uri, mw_fault_kind kind) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *inner = open_store(uri), *f = NULL;
  CHECK_OK(mw_objstore_fault_new(&f, inner, err), err);
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, f, SHARD, zb(), err), err);
  if (!a) return;
  mw_wal_append_result r = {0};
  CHECK_OK(append_ids(&r, a, 10, 2, err), err);
  CHECK_INT(r.position, 0);
  CHECK(mw_objstore_visible_implies_durable(f) == mw_objstore_visible_implies_durable(inner));
  mw_fault_spec spec = {.ops = MW_FAULT_PUT_IF_ABSENT, .key_prefix = WAL_PREFIX, .nth = 1,
                        .kind = kind, .mode = MW_FAULT_ONCE};
  CHECK_OK(mw_objstore_fault_arm(f, &spec, err), err);
  CHECK(!mw_objstore_visible_implies_durable(f));
  mw_error e = {0};
  memset(&r, 0, sizeof r);
  CHECK_INT(append_ids(&r, a, 20, 2, &e), MW_ERR_POISONED);
  CHECK_INT(e.code, MW_ERR_POISONED);
  CHECK(strstr(e.message, "became visible") != NULL);
  CHECK(strstr(e.message, kind == MW_FAULT_FSYNC_FILE_AFTER_VISIBLE ? "fsync of the file"
                                                                      : "fsync of the folder") != NULL);
  CHECK(strstr(e.message, "position 1") != NULL);
  CHECK_INT(r.position, 0); /* no result reported */
  /* The bytes are visible at position 1 - and still not acknowledged. */
  CHECK_AT(inner, SHARD, 1, "1:20,21");
  /* Sticky, without I/O; the entry is never written at another position. */
  uint64_t calls = mw_objstore_fault_calls(f, 0);
  mw_error e2 = {0};
  CHECK_INT(append_ids(&r, a, 20, 2, &e2), MW_ERR_POISONED);
  CHECK_STR(e2.message, e.message);
  CHECK_INT(mw_objstore_fault_calls(f, 0), calls);
  CHECK_INT(wal_count(inner, SHARD), 2);
  mw_wal_appender_close(a);
  /* Reopening looks: the next writer goes on after the visible entry. */
  mw_objstore_fault_reset(f);
  CHECK(mw_objstore_visible_implies_durable(f) == mw_objstore_visible_implies_durable(inner));
  CHECK_OK(mw_wal_appender_open(&a, f, SHARD, zb(), err), err);
  if (a) {
    CHECK_OK(append_ids(&r, a, 30, 2, err), err);
    CHECK_INT(r.position, 2);
    mw_wal_appender_close(a);
  }
  mw_objstore_close(f);
  mw_objstore_close(inner);
}

static void test_fsync_after_visible(void) {
  const mw_fault_kind kinds[] = {MW_FAULT_FSYNC_FILE_AFTER_VISIBLE, MW_FAULT_FSYNC_DIR_AFTER_VISIBLE};
  for (int k = 0; k < 2; k++) {
    char name[64], dir[128], uri[160];
    snprintf(name, sizeof name, "memory://wal_fsync_%d", k);
    fsync_after_visible_on(name, kinds[k]);
    make_tmp(dir, "fsync");
    snprintf(uri, sizeof uri, "file://%s", dir);
    fsync_after_visible_on(uri, kinds[k]);
    remove_dir(dir);
  }
}

/* WROTE_ERROR (written, then an error) on the entry: settled by reading it
 * back to MW_OK only where visible implies durable. file:// does not
 * declare it, nor does a custom store that declares nothing (here one of
 * the first vtable layout, which has no flags at all): POISONED. A custom
 * store declaring the flag settles to MW_OK like memory://. */
static mw_status wrote_error_append(mw_objstore *f, mw_objstore *via, uint64_t *out_count,
                                    mw_error *e) {
  mw_error e_ = {0}, *err = &e_;
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, via, SHARD, zb(), err), err);
  if (!a) return MW_ERR_INTERNAL;
  mw_fault_spec spec = {.ops = MW_FAULT_PUT_IF_ABSENT, .key_prefix = WAL_PREFIX, .nth = 1,
                        .kind = MW_FAULT_WROTE_ERROR, .mode = MW_FAULT_ONCE};
  CHECK_OK(mw_objstore_fault_arm(f, &spec, err), err);
  mw_wal_append_result r = {0};
  mw_status st = append_ids(&r, a, 10, 2, e);
  if (st == MW_OK) CHECK_INT(r.position, 0);
  mw_fault_counters c;
  mw_objstore_fault_counters(f, &c);
  CHECK_INT(c.injected, 1);
  *out_count = wal_count(via, SHARD);
  mw_wal_appender_close(a);
  return st;
}

static void test_wrote_error_settles_by_store(void) {
  for (int variant = 0; variant < 4; variant++) {
    char dir[128] = "", uri[160];
    if (variant == 0) {
      make_tmp(dir, "wrote");
      snprintf(uri, sizeof uri, "file://%s", dir);
    } else {
      snprintf(uri, sizeof uri, "memory://wal_wrote_%d", variant);
    }
    mw_objstore *inner = open_store(uri), *f = NULL, *via = NULL;
    mw_error e = {0};
    CHECK_OK(mw_objstore_fault_new(&f, inner, &e), &e);
    mw_status want = MW_ERR_POISONED;
    if (variant == 0) {
      via = f; /* file:// through the wrapper: not durable when visible */
      CHECK(!mw_objstore_visible_implies_durable(via));
    } else if (variant == 1) {
      via = fwd_store_new(f, FWD_LAYOUT_V1, 0); /* custom, first layout */
      CHECK(!mw_objstore_visible_implies_durable(via));
    } else if (variant == 2) {
      via = fwd_store_new(f, FWD_LAYOUT_CURRENT, 0); /* custom, declares nothing */
      CHECK(!mw_objstore_visible_implies_durable(via));
    } else {
      via = fwd_store_new(f, FWD_LAYOUT_CURRENT, MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE);
      CHECK(mw_objstore_visible_implies_durable(via));
      want = MW_OK;
    }
    uint64_t count = 0;
    mw_status st = wrote_error_append(f, via, &count, &e);
    CHECK_INT(st, want);
    if (want == MW_ERR_POISONED) {
      CHECK(strstr(e.message, "outcome unknown") != NULL);
      CHECK(strstr(e.message, "injected fault after the operation") != NULL);
    }
    CHECK_INT(count, 1); /* one entry either way, at position 0 */
    CHECK_AT(inner, SHARD, 0, "1:10,11");
    if (via != f) mw_objstore_close(via);
    mw_objstore_close(f);
    mw_objstore_close(inner);
    if (dir[0]) remove_dir(dir);
  }
}

/* MW_ERR_TIMEOUT: the request may still land, so the entry is retried with
 * the same bytes at the SAME position (never at the next one). A timeout
 * once: the retry lands, one entry. Timeouts that never end: POISONED
 * (nothing landed, nothing moved). */
static void test_timeout_retries_same_position(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *inner = open_store("memory://wal_timeout"), *f = NULL;
  CHECK_OK(mw_objstore_fault_new(&f, inner, err), err);
  mw_wal_appender *a = NULL;
  CHECK_OK(mw_wal_appender_open(&a, f, SHARD, zb(), err), err);
  if (!a) return;
  mw_wal_append_result r = {0};
  CHECK_OK(append_ids(&r, a, 10, 2, err), err);
  mw_fault_spec spec = {.ops = MW_FAULT_PUT_IF_ABSENT, .key_prefix = WAL_PREFIX, .nth = 1,
                        .kind = MW_FAULT_TIMEOUT, .mode = MW_FAULT_ONCE};
  CHECK_OK(mw_objstore_fault_arm(f, &spec, err), err);
  mw_objstore_fault_reset_counters(f);
  CHECK_OK(append_ids(&r, a, 20, 2, err), err);
  CHECK_INT(r.position, 1);
  mw_fault_counters c;
  mw_objstore_fault_counters(f, &c);
  CHECK_INT(c.injected, 1);
  CHECK_INT(c.calls[MW_FAULT_OP_PUT_IF_ABSENT], 2); /* the timed-out one + the retry */
  CHECK_INT(wal_count(inner, SHARD), 2);
  CHECK_AT(inner, SHARD, 1, "1:20,21");

  spec.mode = MW_FAULT_PERSISTENT;
  CHECK_OK(mw_objstore_fault_arm(f, &spec, err), err);
  mw_objstore_fault_reset_counters(f);
  mw_error e = {0};
  CHECK_INT(append_ids(&r, a, 30, 2, &e), MW_ERR_POISONED);
  CHECK(strstr(e.message, "may still land") != NULL);
  CHECK(strstr(e.message, "position 2") != NULL);
  mw_objstore_fault_counters(f, &c);
  CHECK(c.calls[MW_FAULT_OP_PUT_IF_ABSENT] >= 3);
  uint64_t n = wal_count(inner, SHARD);
  CHECK_INT(n, 2); /* nothing at 2, and nothing moved on to 3 */
  mw_objstore_fault_reset(f);
  CHECK_INT(append_ids(&r, a, 30, 2, &e), MW_ERR_POISONED); /* sticky */
  mw_wal_appender_close(a);
  mw_objstore_close(f);
  mw_objstore_close(inner);
}

int main(void) {
  const char *t = getenv("TMPDIR");
  snprintf(g_tmp, sizeof g_tmp, "%s", t && *t ? t : "/tmp");
  MW_RUN(test_processes); /* first: fork before any thread exists */
  MW_RUN(test_roundtrip_memory);
  MW_RUN(test_roundtrip_file);
  MW_RUN(test_one_based);
  MW_RUN(test_invalid_input);
  MW_RUN(test_sealed_and_corrupt);
  MW_RUN(test_fixture);
  MW_RUN(test_fenced_on_collision);
  MW_RUN(test_fenced_free_position);
  MW_RUN(test_race_two_appenders);
  MW_RUN(test_threads_share_appender);
  MW_RUN(test_fault_wrote_entry);
  MW_RUN(test_fsync_after_visible);
  MW_RUN(test_wrote_error_settles_by_store);
  MW_RUN(test_timeout_retries_same_position);
  MW_RUN(test_faults_each_call);
  MW_RUN(test_fault_crash_each_call);
  return mw_test_finish();
}
