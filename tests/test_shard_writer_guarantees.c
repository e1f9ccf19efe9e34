/* test_shard_writer_guarantees.c - the ShardWriter's guarantees under faults
 * and concurrency (issue 9): close while puts are blocked inside put, no
 * hang when every generation write fails (the retry policy gives up and
 * puts get the error), put-time refusal of rows no generation can store,
 * the ownership rule of a failed durable put (MW_ERR_NOT_DURABLE: a caller
 * that follows it never writes a row twice), a log hook that calls back
 * into the writer, the Lance 2.0 fallback counted in the stats, and the
 * WAL entries in flight (issue 13: written at once, published, synced and
 * acknowledged strictly in order; a failure aborts every younger entry or
 * poisons the writer).
 * Runs on memory:// (the threaded parts also under ThreadSanitizer). */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "objstore/objstore_fault.h"
#include "writer_test_util.h"

static const char *SHARD = "21111111-2222-4333-8444-555555555555";

static void cfg_init(mw_shard_writer_config *c, int memtable, int durable) {
  mw_shard_writer_config_init(c);
  c->log_fn = quiet_log;
  snprintf(c->shard_id, sizeof c->shard_id, "%s", SHARD);
  c->enable_memtable = memtable;
  c->durable_write = durable;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static mw_objstore *mem_store(const char *name) {
  mw_objstore *s = NULL;
  char uri[128];
  snprintf(uri, sizeof uri, "memory://%s", name);
  mw_error e = {0};
  if (mw_objstore_open(&s, uri, NULL, &e) != MW_OK) abort();
  return s;
}

/* How often each id 0..cap-1 occurs in the reopened shard's MemTable. */
static void count_ids(mw_objstore *store, int *count, size_t cap) {
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  mw_shard_writer *r = NULL;
  mw_error e = {0};
  memset(count, 0, cap * sizeof *count);
  CHECK_OK(mw_shard_writer_open(&r, store, &c, &sc, NULL, 0, &e), &e);
  if (r) {
    static int64_t ids[4096];
    size_t n = scan_ids(r, NULL, ids, 4096);
    for (size_t i = 0; i < n; i++)
      if (ids[i] >= 0 && (size_t)ids[i] < cap) count[ids[i]]++;
    CHECK_OK(mw_shard_writer_close(r, &e), &e);
  }
  mw_schema_release(&sc);
}

/* A store wrapper whose writes of generation files (keys holding "_gen_")
 * fail while `failing` is set; everything else goes to the inner store. */
typedef struct gen_fail_store {
  mw_objstore *inner;
  atomic_int failing;
} gen_fail_store;

static mw_status gf_check(gen_fail_store *g, const char *key, mw_error *err) {
  if (atomic_load(&g->failing) && strstr(key, "_gen_"))
    return mw_err(err, MW_ERR_IO, "injected fault: generation write %s", key);
  return MW_OK;
}
static mw_status gf_put(void *self, const char *key, const void *d, size_t n, mw_error *err) {
  MW_TRY(gf_check(self, key, err));
  return mw_objstore_put(((gen_fail_store *)self)->inner, key, d, n, err);
}
static mw_status gf_put_if_absent(void *self, const char *key, const void *d, size_t n, mw_error *err) {
  MW_TRY(gf_check(self, key, err));
  return mw_objstore_put_if_absent(((gen_fail_store *)self)->inner, key, d, n, err);
}
static mw_status gf_get(void *self, uint8_t **out, size_t *out_len, const char *key, uint64_t off, uint64_t len,
                        mw_error *err) {
  return mw_objstore_get(((gen_fail_store *)self)->inner, out, out_len, key, off, len, err);
}
static mw_status gf_head(void *self, uint64_t *size, const char *key, mw_error *err) {
  return mw_objstore_head(((gen_fail_store *)self)->inner, size, key, err);
}
static mw_status gf_list(void *self, const char *prefix, mw_objstore_list_fn fn, void *arg, mw_error *err) {
  return mw_objstore_list(((gen_fail_store *)self)->inner, prefix, fn, arg, err);
}
static mw_status gf_del(void *self, const char *key, mw_error *err) {
  return mw_objstore_delete(((gen_fail_store *)self)->inner, key, err);
}

static const mw_objstore_vtable gf_vtable = {
    .abi_version = MW_OBJSTORE_ABI_VERSION,
    .struct_size = sizeof(mw_objstore_vtable),
    .put = gf_put,
    .put_if_absent = gf_put_if_absent,
    .get = gf_get,
    .head = gf_head,
    .list = gf_list,
    .del = gf_del,
};

/* A wrapper failing every generation write from the start. */
static mw_objstore *gen_fail_new(gen_fail_store *g, mw_objstore *inner) {
  g->inner = inner;
  atomic_init(&g->failing, 1);
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_new(&s, &gf_vtable, g, &e), &e);
  return s;
}

/* ------------------------------------------- close with blocked putters */

typedef struct putter {
  mw_shard_writer *w;
  int64_t first;
  mw_status status;
  int still_owned; /* the batch came back to the caller */
} putter;

static void *putter_main(void *p) {
  putter *t = p;
  struct ArrowArray b = make_batch(t->first, 5);
  mw_error e = {0};
  t->status = mw_shard_writer_put(NULL, t->w, &b, 1, &e);
  t->still_owned = b.release != NULL;
  if (b.release) b.release(&b);
  return NULL;
}

/* 8 durable putters blocked by backpressure (every generation write fails,
 * retried for ever) while close runs, 100 rounds: every put returns
 * MW_ERR_CLOSED without taking its batch, close frees the writer only after
 * they returned (ASan / TSan see no use after free). */
static void test_close_with_blocked_putters(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  int bad_status = 0, bad_owner = 0, not_blocked = 0;
  for (int round = 0; round < 100; round++) {
    mw_objstore *inner = mem_store("");
    gen_fail_store g;
    mw_objstore *fs = gen_fail_new(&g, inner);
    mw_error e = {0};
    mw_shard_writer_config c;
    cfg_init(&c, 1, 1);
    c.max_unflushed_memtable_bytes = 1; /* every put after the first blocks */
    c.retry_max_attempts = 0;           /* never give up: blocked until close */
    c.retry_max_elapsed_ms = 0;
    c.retry_initial_backoff_ms = 5;
    c.retry_max_backoff_ms = 20;
    mw_shard_writer *w = NULL;
    CHECK_OK(mw_shard_writer_open(&w, fs, &c, &sc, NULL, 0, &e), &e);
    if (!w) break;
    struct ArrowArray first = make_batch(1000, 1);
    CHECK_OK(mw_shard_writer_put(NULL, w, &first, 1, &e), &e);
    putter t[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
      t[i] = (putter){w, i * 10, MW_OK, 0};
      pthread_create(&th[i], NULL, putter_main, &t[i]);
    }
    /* Wait until all 8 are blocked (each counts one backpressure wait). */
    uint64_t t0 = now_ms();
    for (;;) {
      mw_write_stats st;
      mw_shard_writer_write_stats(&st, w, 0, NULL);
      if (st.backpressure_waits >= 8) break;
      if (now_ms() - t0 > 10000) {
        not_blocked++;
        break;
      }
      usleep(200);
    }
    mw_shard_writer_close(w, NULL);
    for (int i = 0; i < 8; i++) {
      pthread_join(th[i], NULL);
      if (t[i].status != MW_ERR_CLOSED) bad_status++;
      if (!t[i].still_owned) bad_owner++;
    }
    mw_objstore_close(fs);
    mw_objstore_close(inner);
  }
  CHECK_INT(not_blocked, 0);
  CHECK_INT(bad_status, 0);
  CHECK_INT(bad_owner, 0);
  mw_schema_release(&sc);
}

/* -------------------------------------------- backpressure never hangs */

/* Every generation write fails: a put blocked by backpressure returns the
 * stored flush error once the retry policy (3 attempts, 10-20 ms backoff)
 * gave up, later puts too (without taking their batches), close reports
 * it; once the store heals the flusher's retry clears the condition. */
static void test_backpressure_gives_up(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_objstore *inner = mem_store("");
  gen_fail_store g;
  mw_objstore *fs = gen_fail_new(&g, inner);
  mw_error e = {0};
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  c.max_unflushed_memtable_bytes = 1;
  c.retry_max_attempts = 3;
  c.retry_initial_backoff_ms = 10;
  c.retry_max_backoff_ms = 20;
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, fs, &c, &sc, NULL, 0, &e), &e);
  struct ArrowArray b1 = make_batch(0, 3);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b1, 1, &e), &e);
  uint64_t t0 = now_ms();
  struct ArrowArray b2 = make_batch(10, 3);
  mw_status s = mw_shard_writer_put(NULL, w, &b2, 1, &e);
  uint64_t took = now_ms() - t0;
  CHECK_INT(s, MW_ERR_IO);
  CHECK(strstr(e.message, "gave up") != NULL);
  CHECK(strstr(e.message, "injected fault: generation write") != NULL);
  CHECK(b2.release != NULL); /* not taken */
  CHECK(took < 5000);        /* 3 attempts x <= 20 ms, plus the writes */
  /* Later puts fail at once with the same error, also not taken. */
  t0 = now_ms();
  s = mw_shard_writer_put(NULL, w, &b2, 1, &e);
  CHECK_INT(s, MW_ERR_IO);
  CHECK(b2.release != NULL);
  CHECK(now_ms() - t0 < 1000);
  mw_write_stats st;
  CHECK_OK(mw_shard_writer_write_stats(&st, w, 0, &e), &e);
  CHECK(st.background_give_ups >= 1);
  CHECK(st.background_failures >= 3);
  /* The store heals: the flusher's retry (every 20 ms) flushes the
   * generation and puts work again. */
  atomic_store(&g.failing, 0);
  int ok = 0;
  for (int i = 0; i < 200 && !ok; i++) {
    usleep(10000);
    if (mw_shard_writer_put(NULL, w, &b2, 1, &e) == MW_OK) ok = 1;
  }
  CHECK(ok);
  CHECK(b2.release == NULL);
  if (b2.release) b2.release(&b2);
  CHECK_OK(mw_shard_writer_write_stats(&st, w, 0, &e), &e);
  CHECK_INT(st.memtable_flush_count, 1); /* generation 1 (ids 0-2) */
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  int count[64];
  count_ids(inner, count, 64); /* the unflushed rows, replayed */
  CHECK_INT(count[0], 0);
  CHECK_INT(count[10], 1);
  mw_objstore_close(fs);
  mw_objstore_close(inner);
  mw_schema_release(&sc);
}

/* A close while the generation flush has given up reports the error. */
static void test_close_reports_give_up(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_objstore *inner = mem_store("");
  gen_fail_store g;
  mw_objstore *fs = gen_fail_new(&g, inner);
  mw_error e = {0};
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  c.retry_max_attempts = 2;
  c.retry_initial_backoff_ms = 5;
  c.retry_max_backoff_ms = 10;
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, fs, &c, &sc, NULL, 0, &e), &e);
  struct ArrowArray b = make_batch(0, 4);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  /* flush_memtable returns the first failure, not a hang. */
  CHECK_INT(mw_shard_writer_flush_memtable(w, &e), MW_ERR_IO);
  usleep(100000); /* the retries run out */
  mw_status s = mw_shard_writer_close(w, &e);
  CHECK_INT(s, MW_ERR_IO);
  CHECK(strstr(e.message, "gave up") != NULL);
  /* Nothing lost: the WAL holds the rows. */
  int count[8];
  count_ids(inner, count, 8);
  for (int i = 0; i < 4; i++) CHECK_INT(count[i], 1);
  mw_objstore_close(fs);
  mw_objstore_close(inner);
  mw_schema_release(&sc);
}

/* ------------------------------------------ what put accepts is flushable */

/* Schema id int64 (key), vec fixed_size_list<float32 nullable>[3]. */
static void make_fsl_schema(struct ArrowSchema *s) {
  mw_kv pk = {"lance-schema:unenforced-primary-key:position", 44, "1", 1};
  bool ok = true;
  char *meta = mw_metadata_build(&pk, 1, &ok);
  mw_error e = {0};
  mw_schema_init(s, "+s", "", NULL, 0, 2, &e);
  mw_schema_init(s->children[0], "l", "id", meta, 0, 0, &e);
  mw_schema_init(s->children[1], "+w:3", "vec", NULL, ARROW_FLAG_NULLABLE, 1, &e);
  mw_schema_init(s->children[1]->children[0], "f", "item", NULL, ARROW_FLAG_NULLABLE, 0, &e);
  free(meta);
}

typedef struct fslb {
  struct ArrowArray top, id, vec, item;
  struct ArrowArray *kids[2], *vkids[1];
  const void *tb[1], *ib[2], *vb[1], *fb[2];
  int64_t ids[2];
  uint8_t vec_valid[1], item_valid[1];
  float items[6];
} fslb;

static void fsl_child_release(struct ArrowArray *a) { a->release = NULL; }
static void fsl_release(struct ArrowArray *a) {
  free(a->private_data);
  a->release = NULL;
}

/* Two rows, ids first and first+1; item_valid_bits: validity of the 6
 * items; row_valid_bits: validity of the 2 vec rows. */
static struct ArrowArray make_fsl_batch(int64_t first, uint8_t item_valid_bits, uint8_t row_valid_bits) {
  fslb *b = calloc(1, sizeof *b);
  b->ids[0] = first;
  b->ids[1] = first + 1;
  for (int i = 0; i < 6; i++) b->items[i] = (float)i;
  b->item_valid[0] = item_valid_bits;
  b->vec_valid[0] = row_valid_bits;
  int64_t item_nulls = 6 - __builtin_popcount(item_valid_bits & 0x3f);
  int64_t row_nulls = 2 - __builtin_popcount(row_valid_bits & 0x3);
  b->ib[1] = b->ids;
  b->fb[0] = item_nulls ? b->item_valid : NULL;
  b->fb[1] = b->items;
  b->vb[0] = row_nulls ? b->vec_valid : NULL;
  b->id = (struct ArrowArray){2, 0, 0, 2, 0, b->ib, NULL, NULL, fsl_child_release, NULL};
  b->item = (struct ArrowArray){6, item_nulls, 0, 2, 0, b->fb, NULL, NULL, fsl_child_release, NULL};
  b->vkids[0] = &b->item;
  b->vec = (struct ArrowArray){2, row_nulls, 0, 1, 1, b->vb, b->vkids, NULL, fsl_child_release, NULL};
  b->kids[0] = &b->id;
  b->kids[1] = &b->vec;
  b->top = (struct ArrowArray){2, 0, 0, 1, 2, b->tb, b->kids, NULL, fsl_release, b};
  return b->top;
}

/* A null item inside a valid fixed_size_list row is refused at put
 * (naming column and row, batch not taken); a null row holding null items
 * and fully valid rows are accepted, and the MemTable flushes. */
static void test_put_rejects_unflushable_rows(void) {
  struct ArrowSchema sc;
  make_fsl_schema(&sc);
  mw_objstore *st = mem_store("");
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, st, &c, &sc, NULL, 0, &e), &e);
  /* item 4 (row 1, item 1) null, both rows valid. */
  struct ArrowArray bad = make_fsl_batch(0, 0x3f & ~(1u << 4), 0x3);
  CHECK_INT(mw_shard_writer_put(NULL, w, &bad, 1, &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'vec'") != NULL);
  CHECK(strstr(e.message, "row 1") != NULL);
  CHECK(bad.release != NULL);
  if (bad.release) bad.release(&bad);
  /* Row 1 null (its items may be anything), row 0 valid. */
  struct ArrowArray ok1 = make_fsl_batch(10, 0x3f & ~(1u << 4), 0x1);
  CHECK_OK(mw_shard_writer_put(NULL, w, &ok1, 1, &e), &e);
  struct ArrowArray ok2 = make_fsl_batch(20, 0x3f, 0x3);
  CHECK_OK(mw_shard_writer_put(NULL, w, &ok2, 1, &e), &e);
  CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e);
  mw_write_stats ws;
  CHECK_OK(mw_shard_writer_write_stats(&ws, w, 0, &e), &e);
  CHECK_INT(ws.memtable_flush_count, 1);
  CHECK_INT(ws.memtable_flush_rows, 4);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_objstore_close(st);
  mw_schema_release(&sc);
}

/* A value too large for a Lance 2.1 page: the generation is written as 2.0
 * and counted. */
static void test_v2_0_fallback_counted(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_objstore *st = mem_store("");
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, st, &c, &sc, NULL, 0, &e), &e);
  char *big = malloc(70001);
  memset(big, 'x', 70000);
  big[70000] = '\0';
  const char *names[1] = {big};
  int64_t id = 7;
  struct ArrowArray b = make_rows(&id, names, 1);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e);
  mw_write_stats ws;
  CHECK_OK(mw_shard_writer_write_stats(&ws, w, 0, &e), &e);
  CHECK_INT(ws.lance_v2_0_generations, 1);
  CHECK_INT(ws.memtable_flush_count, 1);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  free(big);
  mw_objstore_close(st);
  mw_schema_release(&sc);
}

/* ------------------------------------------------ ownership on failure */

/* A durable put whose WAL append fails once: the put says
 * MW_ERR_NOT_DURABLE and has taken the batch; a caller that follows the
 * rule (retry only what was not taken) ends with exactly one copy of each
 * row after reopen, in both modes. */
static void test_not_durable_retry_once(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  for (int memtable = 0; memtable < 2; memtable++) {
    mw_objstore *inner = mem_store("");
    mw_objstore *fs = NULL;
    mw_error e = {0};
    CHECK_OK(mw_objstore_fault_new(&fs, inner, &e), &e);
    mw_shard_writer_config c;
    cfg_init(&c, memtable, 1);
    c.retry_initial_backoff_ms = 5;
    mw_shard_writer *w = NULL;
    CHECK_OK(mw_shard_writer_open(&w, fs, &c, &sc, NULL, 0, &e), &e);
    char prefix[96];
    snprintf(prefix, sizeof prefix, "_mem_wal/%s/wal/", SHARD);
    mw_fault_spec spec = {MW_FAULT_PUT_IF_ABSENT, prefix, 1, MW_FAULT_ERROR, MW_FAULT_ONCE};
    CHECK_OK(mw_objstore_fault_arm(fs, &spec, &e), &e);
    int not_durable = 0;
    for (int i = 0; i < 4; i++) {
      struct ArrowArray b = make_batch(i * 10, 10);
      mw_status s = mw_shard_writer_put(NULL, w, &b, 1, &e);
      if (s == MW_ERR_NOT_DURABLE) {
        not_durable++;
        CHECK(b.release == NULL); /* taken */
      } else if (s != MW_OK) {
        /* Not taken: the caller retries the same rows. */
        CHECK(b.release != NULL);
        s = mw_shard_writer_put(NULL, w, &b, 1, &e);
        CHECK_OK(s, &e);
      }
      if (b.release) b.release(&b);
    }
    CHECK_INT(not_durable, 1);
    CHECK_OK(mw_shard_writer_close(w, &e), &e);
    mw_objstore_close(fs);
    int count[64];
    count_ids(inner, count, 64);
    for (int i = 0; i < 40; i++) CHECK_INT(count[i], 1);
    mw_objstore_close(inner);
  }
  mw_schema_release(&sc);
}

/* ------------------------------------------- visible is not durable */

/* A WAL entry (or a generation's manifest commit) whose object became
 * visible but whose fsync (file or folder) failed is an unknown outcome:
 * no put is acknowledged for it, the writer is poisoned (sticky), and a
 * reopen replays exactly what the store holds (the entry is there: its
 * rows come back once). On memory:// and file://. */
static void test_fsync_after_visible_never_acked(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  char dir[] = "/tmp/mw_test_fsv_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  for (int on_file = 0; on_file < 2; on_file++) {
    for (int kind = 0; kind < 2; kind++) {
      for (int target = 0; target < 2; target++) { /* 0: WAL entry, 1: generation commit */
        mw_objstore *inner = NULL;
        mw_error e = {0};
        char uri[128];
        if (on_file) snprintf(uri, sizeof uri, "file://%s/t%d%d", dir, kind, target);
        else snprintf(uri, sizeof uri, "memory://fsv%d%d", kind, target);
        CHECK_OK(mw_objstore_open(&inner, uri, NULL, &e), &e);
        mw_objstore *fs = NULL;
        CHECK_OK(mw_objstore_fault_new(&fs, inner, &e), &e);
        mw_shard_writer_config c;
        cfg_init(&c, 1, 1);
        mw_shard_writer *w = NULL;
        CHECK_OK(mw_shard_writer_open(&w, fs, &c, &sc, NULL, 0, &e), &e);
        struct ArrowArray b0 = make_batch(0, 5);
        CHECK_OK(mw_shard_writer_put(NULL, w, &b0, 1, &e), &e);
        char prefix[96];
        snprintf(prefix, sizeof prefix, target == 0 ? "_mem_wal/%s/wal/" : "_mem_wal/%s/manifest/", SHARD);
        mw_fault_spec spec = {MW_FAULT_PUT_IF_ABSENT, prefix, 1,
                              kind == 0 ? MW_FAULT_FSYNC_FILE_AFTER_VISIBLE : MW_FAULT_FSYNC_DIR_AFTER_VISIBLE,
                              MW_FAULT_ONCE};
        CHECK_OK(mw_objstore_fault_arm(fs, &spec, &e), &e);
        if (target == 0) {
          struct ArrowArray b1 = make_batch(10, 5);
          mw_status ps = mw_shard_writer_put(NULL, w, &b1, 1, &e);
          CHECK_INT(ps, MW_ERR_NOT_DURABLE); /* never MW_OK */
          CHECK(strstr(e.message, "POISON") != NULL || strstr(e.message, "poison") != NULL ||
                strstr(e.message, "outcome unknown") != NULL);
          if (b1.release) b1.release(&b1);
        } else {
          CHECK_INT(mw_shard_writer_flush_memtable(w, &e), MW_ERR_POISONED);
        }
        /* Sticky: the next put is refused without taking its batch. */
        struct ArrowArray b2 = make_batch(20, 5);
        CHECK_INT(mw_shard_writer_put(NULL, w, &b2, 1, &e), MW_ERR_POISONED);
        CHECK(b2.release != NULL);
        if (b2.release) b2.release(&b2);
        CHECK_INT(mw_shard_writer_close(w, &e), MW_ERR_POISONED);
        mw_objstore_close(fs);
        /* Reopen: what the store holds decides; nothing twice. */
        int count[32];
        count_ids(inner, count, 32);
        int flushed_gen = 0;
        if (target == 1) {
          /* The commit's version is there: generation 1 holds ids 0-4. */
          char *json = NULL;
          mw_shard_writer_config c2;
          cfg_init(&c2, 1, 1);
          mw_shard_writer *r = NULL;
          CHECK_OK(mw_shard_writer_open(&r, inner, &c2, &sc, NULL, 0, &e), &e);
          if (r && mw_shard_writer_manifest_json(&json, r, &e) == MW_OK) {
            flushed_gen = strstr(json, "_gen_1") != NULL;
            mw_free(json);
          }
          mw_shard_writer_close(r, NULL);
        }
        for (int i = 0; i < 5; i++) CHECK_INT(count[i], target == 1 && flushed_gen ? 0 : 1);
        for (int i = 10; i < 15; i++) CHECK_INT(count[i], target == 0 ? 1 : 0);
        for (int i = 20; i < 25; i++) CHECK_INT(count[i], 0);
        mw_objstore_close(inner);
      }
    }
  }
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_INT(system(cmd), 0);
  mw_schema_release(&sc);
}

/* ------------------------------------------------- log hook re-entry */

typedef struct hook_state {
  _Atomic(mw_shard_writer *) w;
  atomic_int calls, ok;
} hook_state;

static void reentrant_log(void *arg, mw_log_level level, const char *msg) {
  (void)level;
  (void)msg;
  hook_state *h = arg;
  mw_shard_writer *w = atomic_load(&h->w);
  if (!w) return;
  atomic_fetch_add(&h->calls, 1);
  mw_write_stats st;
  mw_memtable_stats ms;
  if (mw_shard_writer_write_stats(&st, w, 0, NULL) == MW_OK && mw_shard_writer_memtable_stats(&ms, w, NULL) == MW_OK)
    atomic_fetch_add(&h->ok, 1);
}

/* The log hook runs with no writer lock held: a hook that calls back into
 * the writer (stats) does not deadlock, for the INFO lines of freezes and
 * flushes logged by put and by the MemTable flusher thread. */
static void test_log_hook_reenters_writer(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_objstore *st = mem_store("");
  hook_state h;
  atomic_init(&h.w, NULL);
  atomic_init(&h.calls, 0);
  atomic_init(&h.ok, 0);
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  c.log_fn = reentrant_log;
  c.log_arg = &h;
  c.max_memtable_rows = 10; /* a put freezes */
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, st, &c, &sc, NULL, 0, &e), &e);
  atomic_store(&h.w, w);
  for (int i = 0; i < 3; i++) {
    struct ArrowArray b = make_batch(i * 10, 10);
    CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  }
  CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e);
  mw_write_stats ws;
  CHECK_OK(mw_shard_writer_write_stats(&ws, w, 0, &e), &e);
  CHECK_INT(ws.memtable_flush_count, 3);
  /* The flusher emits its last line just after flush_memtable wakes. */
  for (int i = 0; i < 2000 && atomic_load(&h.calls) < 6; i++) usleep(1000);
  CHECK(atomic_load(&h.calls) >= 6); /* 3 freezes + 3 flushes */
  CHECK_INT(atomic_load(&h.ok), atomic_load(&h.calls));
  atomic_store(&h.w, NULL);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_objstore_close(st);
  mw_schema_release(&sc);
}

/* ------------------------------------------ config versioning */

/* ------------------------------------------------- entries in flight */

/* The ids of every WAL entry of SHARD in position order (fences skipped);
 * *out_entries: entries read. Positions must be dense from the first. */
static size_t wal_ids(mw_objstore *store, int64_t *ids, size_t cap, size_t *out_entries) {
  mw_wal_tailer *t = NULL;
  mw_error e = {0};
  size_t n = 0, entries = 0;
  CHECK_OK(mw_wal_tailer_open(&t, store, SHARD, &e), &e);
  uint64_t first = 0;
  CHECK_OK(mw_wal_tailer_first_position(&first, t, &e), &e);
  for (uint64_t p = first;; p++) {
    mw_wal_entry en;
    if (mw_wal_tailer_read_entry(&en, t, p, &e) != MW_OK) break;
    entries++;
    for (size_t b = 0; b < en.n_batches; b++) {
      const struct ArrowArray *a = &en.batches[b], *col = a->children[0];
      const int64_t *v = col->buffers[1];
      for (int64_t i = 0; i < a->length && n < cap; i++) ids[n++] = v[col->offset + a->offset + i];
    }
    mw_wal_entry_release(&en);
  }
  mw_wal_tailer_close(t);
  if (out_entries) *out_entries = entries;
  return n;
}

/* With 8 entries in flight on file:// (real staging: O_TMPFILE + fsync,
 * rename, folder fsync) and one batch per entry, the WAL holds every row
 * once, in put order, at dense positions: a single putter's non-durable
 * puts (many entries in flight) and 4 concurrent durable putters (each
 * putter's rows in its own order). */
typedef struct order_putter {
  mw_shard_writer *w;
  int t;
  mw_status st;
} order_putter;

static void *order_putter_main(void *arg) {
  order_putter *o = arg;
  mw_error e = {0};
  for (int i = 0; i < 40 && o->st == MW_OK; i++) {
    struct ArrowArray b = make_batch(o->t * 1000 + i * 2, 2);
    o->st = mw_shard_writer_put(NULL, o->w, &b, 1, &e);
    if (b.release) b.release(&b);
  }
  return NULL;
}

static void test_in_flight_wal_order(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  char dir[] = "/tmp/mw_test_inflight_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  for (int durable = 0; durable < 2; durable++) {
    char uri[128];
    snprintf(uri, sizeof uri, "file://%s/d%d", dir, durable);
    mw_objstore *st = NULL;
    mw_error e = {0};
    CHECK_OK(mw_objstore_open(&st, uri, NULL, &e), &e);
    mw_shard_writer_config c;
    cfg_init(&c, 0, durable);
    c.wal_entries_in_flight = 8;
    c.max_wal_buffer_size = 1; /* one batch per entry */
    mw_shard_writer *w = NULL;
    CHECK_OK(mw_shard_writer_open(&w, st, &c, &sc, NULL, 0, &e), &e);
    if (!durable) {
      for (int i = 0; i < 200; i++) {
        struct ArrowArray b = make_batch(i * 3, 3);
        CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
      }
    } else {
      order_putter o[4];
      pthread_t th[4];
      for (int t = 0; t < 4; t++) {
        o[t] = (order_putter){w, t, MW_OK};
        CHECK(pthread_create(&th[t], NULL, order_putter_main, &o[t]) == 0);
      }
      for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        CHECK_INT(o[t].st, MW_OK);
      }
    }
    CHECK_OK(mw_shard_writer_flush_wal(w, &e), &e);
    CHECK_OK(mw_shard_writer_close(w, &e), &e);
    static int64_t ids[1024];
    size_t entries = 0, n = wal_ids(st, ids, 1024, &entries);
    if (!durable) {
      CHECK_INT(n, 600);
      CHECK_INT(entries, 200); /* dense: the tailer stops at the first gap */
      for (size_t i = 0; i < n; i++) CHECK_INT(ids[i], (int64_t)i);
    } else {
      CHECK_INT(n, 320);
      int64_t last[4] = {-1, -1, -1, -1};
      int seen[4] = {0, 0, 0, 0};
      for (size_t i = 0; i < n; i++) {
        int t = (int)(ids[i] / 1000);
        CHECK(t >= 0 && t < 4);
        if (t < 0 || t >= 4) break;
        CHECK(ids[i] > last[t]); /* each putter's rows in its put order, once */
        last[t] = ids[i];
        seen[t]++;
      }
      for (int t = 0; t < 4; t++) CHECK_INT(seen[t], 80);
    }
    mw_objstore_close(st);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
  mw_schema_release(&sc);
}

typedef struct one_put {
  mw_shard_writer *w;
  int64_t first;
  atomic_int done;
  mw_status st;
  char msg[MW_ERROR_MESSAGE_SIZE];
} one_put;

static void *one_put_main(void *arg) {
  one_put *o = arg;
  mw_error e = {0};
  struct ArrowArray b = make_batch(o->first, 5);
  o->st = mw_shard_writer_put(NULL, o->w, &b, 1, &e);
  snprintf(o->msg, sizeof o->msg, "%s", e.message);
  if (b.release) b.release(&b);
  atomic_store(&o->done, 1);
  return NULL;
}

/* An older entry still being written holds back a younger one: B's entry
 * is staged while A's stage is stalled, yet nothing is published and B's
 * durable put does not return before A's entry is durable; then A and B
 * are at consecutive positions in put order. With `fail`, A's stage fails
 * after B was staged: both puts report the failure (B's entry is aborted,
 * never published ahead of A), the retry writes A then B, each row once. */
static void in_flight_hold_back(int fail) {
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_objstore *inner = mem_store("");
  mw_objstore *fs = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_fault_new(&fs, inner, &e), &e);
  mw_shard_writer_config c;
  cfg_init(&c, 0, 1);
  c.wal_entries_in_flight = 4;
  c.retry_initial_backoff_ms = 5;
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, fs, &c, &sc, NULL, 0, &e), &e);
  uint64_t pia0 = mw_objstore_fault_calls(fs, MW_FAULT_PUT_IF_ABSENT);
  mw_objstore_fault_stall_stage(fs, 1, fail != 0);
  one_put a = {.w = w, .first = 0}, b = {.w = w, .first = 10};
  atomic_init(&a.done, 0);
  atomic_init(&b.done, 0);
  pthread_t ta, tb;
  CHECK(pthread_create(&ta, NULL, one_put_main, &a) == 0);
  for (int i = 0; i < 5000 && !mw_objstore_fault_stalled(fs); i++) usleep(1000);
  CHECK(mw_objstore_fault_stalled(fs));
  CHECK(pthread_create(&tb, NULL, one_put_main, &b) == 0);
  /* B's entry gets staged by another flusher thread (a stage call) */
  for (int i = 0; i < 5000 && mw_objstore_fault_calls(fs, MW_FAULT_STAGE) < 2; i++) usleep(1000);
  CHECK(mw_objstore_fault_calls(fs, MW_FAULT_STAGE) >= 2);
  usleep(50000);
  CHECK_INT(atomic_load(&b.done), 0); /* not acknowledged before A */
  CHECK_INT(atomic_load(&a.done), 0);
  CHECK_INT(mw_objstore_fault_calls(fs, MW_FAULT_PUT_IF_ABSENT), pia0); /* nothing published */
  mw_objstore_fault_release(fs);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  if (!fail) {
    CHECK_INT(a.st, MW_OK);
    CHECK_INT(b.st, MW_OK);
  } else {
    CHECK_INT(a.st, MW_ERR_NOT_DURABLE);
    CHECK(strstr(a.msg, "stall failure") != NULL);
    CHECK_INT(b.st, MW_ERR_NOT_DURABLE); /* its entry was aborted with A's */
  }
  CHECK_OK(mw_shard_writer_close(w, &e), &e); /* the retry writes both */
  mw_objstore_close(fs);
  int64_t ids[64];
  size_t entries = 0, n = wal_ids(inner, ids, 64, &entries);
  CHECK_INT(n, 10);
  for (size_t i = 0; i < n && i < 10; i++) CHECK_INT(ids[i], (int64_t)(i < 5 ? i : i + 5));
  mw_objstore_close(inner);
  mw_schema_release(&sc);
}

static void test_in_flight_holds_back_younger(void) { in_flight_hold_back(0); }
static void test_in_flight_stage_failure_aborts_younger(void) { in_flight_hold_back(1); }

/* A failed sync (the folder fsync after entries became visible) is an
 * unknown outcome for every entry it covered: the put is never
 * acknowledged, the writer refuses further writes (sticky), and a reopen
 * replays what the store holds (the entry is there: its rows come back
 * once). */
static void test_in_flight_sync_failure_poisons(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_objstore *inner = mem_store("");
  mw_objstore *fs = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_fault_new(&fs, inner, &e), &e);
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  c.wal_entries_in_flight = 4;
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, fs, &c, &sc, NULL, 0, &e), &e);
  struct ArrowArray b0 = make_batch(0, 5);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b0, 1, &e), &e);
  mw_fault_spec spec = {MW_FAULT_SYNC, NULL, 1, MW_FAULT_ERROR, MW_FAULT_ONCE};
  CHECK_OK(mw_objstore_fault_arm(fs, &spec, &e), &e);
  struct ArrowArray b1 = make_batch(10, 5);
  CHECK_INT(mw_shard_writer_put(NULL, w, &b1, 1, &e), MW_ERR_NOT_DURABLE);
  CHECK(strstr(e.message, "outcome unknown") != NULL);
  if (b1.release) b1.release(&b1);
  struct ArrowArray b2 = make_batch(20, 5);
  mw_status s2 = mw_shard_writer_put(NULL, w, &b2, 1, &e);
  CHECK(s2 != MW_OK); /* sticky: refused */
  CHECK(strstr(e.message, "reopen") != NULL);
  if (b2.release) b2.release(&b2);
  CHECK(mw_shard_writer_close(w, &e) != MW_OK);
  mw_objstore_close(fs);
  int count[32];
  count_ids(inner, count, 32);
  for (int i = 0; i < 5; i++) CHECK_INT(count[i], 1);
  for (int i = 10; i < 15; i++) CHECK_INT(count[i], 1);
  for (int i = 20; i < 25; i++) CHECK_INT(count[i], 0);
  mw_objstore_close(inner);
  mw_schema_release(&sc);
}

/* A caller built against version 1 of mw_shard_writer_config (no retry
 * fields) still opens a writer: the missing fields keep their defaults. */
static void test_config_v1_accepted(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_objstore *st = mem_store("");
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  c.struct_size = (uint32_t)(offsetof(mw_shard_writer_config, log_arg) + sizeof(void *));
  c.retry_max_attempts = 12345; /* beyond the v1 size: must be ignored */
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, st, &c, &sc, NULL, 0, &e), &e);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  c.struct_size = 8;
  CHECK_INT(mw_shard_writer_open(&w, st, &c, &sc, NULL, 0, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "struct_size") != NULL);
  mw_objstore_close(st);
  mw_schema_release(&sc);
}

int main(void) {
  MW_RUN(test_close_with_blocked_putters);
  MW_RUN(test_backpressure_gives_up);
  MW_RUN(test_close_reports_give_up);
  MW_RUN(test_put_rejects_unflushable_rows);
  MW_RUN(test_v2_0_fallback_counted);
  MW_RUN(test_not_durable_retry_once);
  MW_RUN(test_fsync_after_visible_never_acked);
  MW_RUN(test_log_hook_reenters_writer);
  MW_RUN(test_config_v1_accepted);
  MW_RUN(test_in_flight_wal_order);
  MW_RUN(test_in_flight_holds_back_younger);
  MW_RUN(test_in_flight_stage_failure_aborts_younger);
  MW_RUN(test_in_flight_sync_failure_poisons);
  return mw_test_finish();
}
