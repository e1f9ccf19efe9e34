/* test_table_writer.c - the table writer (src/table/table_writer.c) on a
 * copy of the Lance 12 reference table (unsharded MemWAL spec; its
 * `_mem_wal/` removed so the shard starts fresh): rows land in the shard
 * LanceDB uses for an unsharded table, exactly once, also when 4 threads
 * put at once and when shard writers are closed when idle after every put
 * (each reopen claims a new epoch and replays); per-shard stats; the schema
 * is checked against the table's (names, order, Lance types, key markers);
 * a folder that is not a table is MW_ERR_NOT_FOUND. */
#include <pthread.h>
#include <unistd.h>

#include "writer_test_util.h"

static char root[64];
static const char *UNSHARDED = "aa48498d-ac91-59e2-8452-69f46010ace2"; /* LSM.md section 2 */

static mw_objstore *fresh_table(const char *name) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s/%s && cp -r %s/fixtures/lance12_reference_table.lance %s/%s && rm -rf %s/%s/_mem_wal",
           root, name, MW_SHARED_DIR, root, name, root, name);
  CHECK_INT(system(cmd), 0);
  char uri[256];
  snprintf(uri, sizeof uri, "%s/%s", root, name);
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_open(&s, uri, NULL, &e), &e);
  return s;
}

/* Every id of the shard's unflushed rows (replayed by a fresh writer). */
static size_t shard_ids(mw_objstore *s, int64_t *ids, size_t cap) {
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  mw_shard_writer_config_init(&c);
  c.log_fn = quiet_log;
  snprintf(c.shard_id, sizeof c.shard_id, "%s", UNSHARDED);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  size_t n = 0;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  if (w) {
    n = scan_ids(w, NULL, ids, cap);
    CHECK_OK(mw_shard_writer_close(w, &e), &e);
  }
  mw_schema_release(&sc);
  return n;
}

static void tw_config(mw_table_writer_config *c) {
  mw_table_writer_config_init(c);
  c->shard.log_fn = quiet_log;
}

static void test_put_routes_to_the_unsharded_shard(void) {
  mw_objstore *s = fresh_table("t1");
  struct ArrowSchema sc;
  make_schema_pk(&sc, false); /* the key marker comes from the table */
  mw_table_writer_config c;
  tw_config(&c);
  mw_table_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_table_writer_open(&w, s, &c, &sc, &e), &e);
  CHECK_STR(w ? mw_table_writer_spec(w) : NULL, "unsharded");
  for (int i = 0; i < 5; i++) {
    struct ArrowArray b = make_batch(i * 100, 100);
    CHECK_OK(mw_table_writer_put(w, &b, 1, &e), &e);
    CHECK(b.release == NULL); /* taken */
  }
  char *json = NULL;
  CHECK_OK(mw_table_writer_stats_json(&json, w, &e), &e);
  CHECK(json && strstr(json, "\"rows\":500") != NULL);
  CHECK(json && strstr(json, UNSHARDED) != NULL);
  mw_free(json);
  CHECK_OK(mw_table_writer_close(w, 0, &e), &e);
  static int64_t ids[1024];
  size_t n = shard_ids(s, ids, 1024);
  CHECK_INT(n, 500);
  int ok = 1;
  for (size_t i = 0; i < n; i++) ok &= ids[i] == (int64_t)i;
  CHECK(ok);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

typedef struct tput {
  mw_table_writer *w;
  int64_t first;
  int fails;
} tput;

static void *tput_main(void *p) {
  tput *t = p;
  for (int i = 0; i < 20; i++) {
    struct ArrowArray b = make_batch(t->first + i * 10, 10);
    mw_error e = {0};
    if (mw_table_writer_put(t->w, &b, 1, &e) != MW_OK) {
      t->fails++;
      fprintf(stderr, "table put: %s\n", e.message);
    }
    if (b.release) b.release(&b);
  }
  return NULL;
}

/* 4 threads x 20 puts; with idle_close_ms = 1 shard writers are closed
 * between puts and reopened (new epoch, replay): every row once. */
static void test_concurrent_puts_and_idle_close(void) {
  for (int idle = 0; idle < 2; idle++) {
    mw_objstore *s = fresh_table(idle ? "t2b" : "t2a");
    struct ArrowSchema sc;
    make_schema(&sc);
    mw_table_writer_config c;
    tw_config(&c);
    c.idle_close_ms = idle ? 1 : 0;
    mw_table_writer *w = NULL;
    mw_error e = {0};
    CHECK_OK(mw_table_writer_open(&w, s, &c, &sc, &e), &e);
    tput t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
      t[i] = (tput){w, i * 1000, 0};
      pthread_create(&th[i], NULL, tput_main, &t[i]);
    }
    for (int i = 0; i < 4; i++) {
      pthread_join(th[i], NULL);
      CHECK_INT(t[i].fails, 0);
    }
    CHECK_OK(mw_table_writer_close(w, 0, &e), &e);
    static int64_t ids[2048];
    size_t n = shard_ids(s, ids, 2048);
    CHECK_INT(n, 800);
    static unsigned char seen[4000];
    memset(seen, 0, sizeof seen);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
      if (ids[i] < 0 || ids[i] >= 4000 || seen[ids[i]]++) bad++;
    }
    CHECK_INT(bad, 0);
    mw_schema_release(&sc);
    mw_objstore_close(s);
  }
}

/* The schema must match the table's. */
static void test_schema_checks(void) {
  mw_objstore *s = fresh_table("t3");
  mw_table_writer_config c;
  tw_config(&c);
  mw_table_writer *w = NULL;
  mw_error e = {0};
  struct ArrowSchema sc;
  /* wrong name */
  mw_schema_init(&sc, "+s", "", NULL, 0, 2, &e);
  mw_schema_init(sc.children[0], "l", "id", NULL, 0, 0, &e);
  mw_schema_init(sc.children[1], "u", "nom", NULL, ARROW_FLAG_NULLABLE, 0, &e);
  CHECK_INT(mw_table_writer_open(&w, s, &c, &sc, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "'nom'") != NULL && strstr(e.message, "'name'") != NULL);
  mw_schema_release(&sc);
  /* wrong type */
  mw_schema_init(&sc, "+s", "", NULL, 0, 2, &e);
  mw_schema_init(sc.children[0], "i", "id", NULL, 0, 0, &e);
  mw_schema_init(sc.children[1], "u", "name", NULL, ARROW_FLAG_NULLABLE, 0, &e);
  CHECK_INT(mw_table_writer_open(&w, s, &c, &sc, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "int32") != NULL && strstr(e.message, "int64") != NULL);
  mw_schema_release(&sc);
  /* a key marker on a column that is not the table's key */
  mw_kv pk = {"lance-schema:unenforced-primary-key:position", 44, "1", 1};
  bool ok = true;
  char *meta = mw_metadata_build(&pk, 1, &ok);
  mw_schema_init(&sc, "+s", "", NULL, 0, 2, &e);
  mw_schema_init(sc.children[0], "l", "id", NULL, 0, 0, &e);
  mw_schema_init(sc.children[1], "u", "name", meta, ARROW_FLAG_NULLABLE, 0, &e);
  free(meta);
  CHECK_INT(mw_table_writer_open(&w, s, &c, &sc, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "primary key") != NULL);
  mw_schema_release(&sc);
  /* too few columns */
  mw_schema_init(&sc, "+s", "", NULL, 0, 1, &e);
  mw_schema_init(sc.children[0], "l", "id", NULL, 0, 0, &e);
  CHECK_INT(mw_table_writer_open(&w, s, &c, &sc, &e), MW_ERR_INVALID);
  mw_schema_release(&sc);
  mw_objstore_close(s);
  /* not a table */
  char uri[128];
  snprintf(uri, sizeof uri, "%s/empty", root);
  CHECK_OK(mw_objstore_open(&s, uri, NULL, &e), &e);
  make_schema(&sc);
  CHECK_INT(mw_table_writer_open(&w, s, &c, &sc, &e), MW_ERR_NOT_FOUND);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* Deletes route to the key's shard: 10 of 100 keys deleted, the shard's
 * newest rows are the other 90. */
static void test_delete(void) {
  mw_objstore *s = fresh_table("t4");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_table_writer_config c;
  tw_config(&c);
  mw_table_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_table_writer_open(&w, s, &c, &sc, &e), &e);
  struct ArrowArray b = make_batch(0, 100);
  CHECK_OK(mw_table_writer_put(w, &b, 1, &e), &e);
  struct ArrowArray k = make_batch(20, 10);
  CHECK_OK(mw_table_writer_delete(w, &k, &sc, &e), &e);
  CHECK(k.release == NULL); /* taken */
  CHECK_OK(mw_table_writer_close(w, 0, &e), &e);
  static int64_t ids[256];
  size_t n = shard_ids(s, ids, 256);
  CHECK_INT(n, 90);
  int hidden = 1;
  for (size_t i = 0; i < n; i++) hidden &= ids[i] < 20 || ids[i] >= 30;
  CHECK(hidden);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/mw_test_tw_XXXXXX");
  if (!mkdtemp(root)) return 1;
  MW_RUN(test_put_routes_to_the_unsharded_shard);
  MW_RUN(test_concurrent_puts_and_idle_close);
  MW_RUN(test_schema_checks);
  MW_RUN(test_delete);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  CHECK_INT(system(cmd), 0);
  return mw_test_finish();
}
