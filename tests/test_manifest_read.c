/* test_manifest_read.c - the public read-only shard manifest API
 * (mw_shard_manifest_read / _read_json / _info_free, manifest_read.c): the
 * Lance 12 fixture field by field and as exact JSON, a shard that does not
 * exist, bad arguments, a corrupt latest version, a manifest without
 * statistics and SEALED, reading writes nothing and does not fence a live
 * writer (WAL appender), and reads concurrent with commits (threaded: TSan). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/uuid.h"
#include "manifest/manifest_store.h"
#include "manifest/shard_manifest.h"
#include "memwal_sys.h"
#include "mw_test.h"
#include "store_test_util.h"
#include "wal/wal_names.h"

#define FIX_JSON                                                                                  \
  "{\"version\":8,\"writer_epoch\":4,\"replay_after_wal_entry_position\":3,"                      \
  "\"wal_entry_position_last_seen\":6,\"current_generation\":2,\"flushed_generations\":[{"        \
  "\"generation\":1,\"path\":\"70752807_gen_1\",\"in_memory_bytes\":166,\"physical_rows\":6,"     \
  "\"primary_key_bytes\":48}],\"shard_spec_id\":1,\"shard_id\":\"aa48498d-ac91-59e2-8452-"        \
  "69f46010ace2\",\"status\":\"ACTIVE\"}"

#define NO_SHARD "00000000-0000-4000-8000-000000000000"

/* ------------------------------------------------------------- helpers */

/* "key size\n" for every object of the store, in listing order. */
static int list_line(void *arg, const char *key, uint64_t size) {
  mw_buf *b = arg;
  char line[400];
  int n = snprintf(line, sizeof line, "%s %llu\n", key, (unsigned long long)size);
  mw_buf_append(b, line, (size_t)n);
  return 0;
}

static char *listing(mw_objstore *s) {
  mw_buf b;
  mw_buf_init(&b);
  mw_error e_ = {0}, *err = &e_;
  CHECK_OK(mw_objstore_list(s, "", list_line, &b, err), err);
  mw_buf_u8(&b, '\0');
  size_t n;
  return (char *)mw_buf_take(&b, &n);
}

/* Writes manifest version v of shard `id` with the given fields. */
static void write_manifest(mw_objstore *s, const uint8_t id[16], uint64_t v, uint64_t epoch,
                           int32_t status, int with_gen) {
  mw_error e_ = {0}, *err = &e_;
  mw_manifest_store *ms = NULL;
  CHECK_OK(mw_manifest_store_open(&ms, s, id, 0, err), err);
  mw_shard_manifest *m = NULL;
  CHECK_OK(mw_shard_manifest_new(&m, err), err);
  m->version = v;
  m->writer_epoch = epoch;
  m->current_generation = 3;
  m->replay_after_wal_entry_position = 10 * v;
  m->wal_entry_position_last_seen = 10 * v + 1;
  m->shard_spec_id = 7;
  m->status = status;
  CHECK_OK(mw_shard_manifest_set_shard_id(m, id, err), err);
  if (with_gen) {
    CHECK_OK(mw_shard_manifest_add_flushed_generation(m, 1, "aa_gen_1", NULL, err), err);
    CHECK_OK(mw_shard_manifest_add_flushed_generation(m, 2, "bb_gen_2", NULL, err), err);
  }
  CHECK_OK(mw_manifest_store_write_version(ms, m, err), err);
  mw_shard_manifest_free(m);
  mw_manifest_store_close(ms);
}

/* --------------------------------------------------------------- tests */

static void test_fixture(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *fx = open_store(FIXTURE);
  mw_shard_manifest_info *m = NULL;
  CHECK_OK(mw_shard_manifest_read(&m, fx, FIX_SHARD, err), err);
  CHECK(m != NULL);
  if (m) {
    CHECK_STR(m->shard_id, FIX_SHARD);
    CHECK_INT(m->version, 8);
    CHECK_INT(m->writer_epoch, 4);
    CHECK_INT(m->replay_after_wal_entry_position, 3);
    CHECK_INT(m->wal_entry_position_last_seen, 6);
    CHECK_INT(m->current_generation, 2);
    CHECK_INT(m->shard_spec_id, 1);
    CHECK_INT(m->status, 0);
    CHECK_INT(m->n_flushed_generations, 1);
    if (m->n_flushed_generations == 1) {
      const mw_flushed_generation_info *g = &m->flushed_generations[0];
      CHECK_INT(g->generation, 1);
      CHECK_STR(g->path, "70752807_gen_1");
      CHECK_INT(g->has_stats, 1);
      CHECK_INT(g->in_memory_bytes, 166);
      CHECK_INT(g->physical_rows, 6);
      CHECK_INT(g->primary_key_bytes, 48);
    }
  }
  mw_shard_manifest_info_free(m);
  /* upper-case UUIDs are accepted; the info names the shard in lower case */
  m = NULL;
  CHECK_OK(mw_shard_manifest_read(&m, fx, "AA48498D-AC91-59E2-8452-69F46010ACE2", err), err);
  CHECK(m && strcmp(m->shard_id, FIX_SHARD) == 0 && m->version == 8);
  mw_shard_manifest_info_free(m);

  char *json = NULL;
  CHECK_OK(mw_shard_manifest_read_json(&json, fx, FIX_SHARD, err), err);
  CHECK_STR(json, FIX_JSON);
  mw_free(json);
  mw_objstore_close(fx);
}

static void test_missing_shard_and_bad_args(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *fx = open_store(FIXTURE);
  mw_shard_manifest_info *m = (mw_shard_manifest_info *)&e_; /* must be reset to NULL */
  CHECK_INT(mw_shard_manifest_read(&m, fx, NO_SHARD, err), MW_ERR_NOT_FOUND);
  CHECK(m == NULL);
  CHECK_STR(err->message, "no manifest for shard " NO_SHARD);
  CHECK_INT(err->code, MW_ERR_NOT_FOUND);
  char *json = (char *)"x";
  CHECK_INT(mw_shard_manifest_read_json(&json, fx, NO_SHARD, err), MW_ERR_NOT_FOUND);
  CHECK(json == NULL);
  CHECK_STR(err->message, "no manifest for shard " NO_SHARD);

  /* an empty store: the same clear error */
  mw_objstore *mem = open_store("memory://manifest_read_empty");
  CHECK_INT(mw_shard_manifest_read(&m, mem, FIX_SHARD, err), MW_ERR_NOT_FOUND);
  CHECK_STR(err->message, "no manifest for shard " FIX_SHARD);
  mw_objstore_close(mem);

  CHECK_INT(mw_shard_manifest_read(&m, fx, "not-a-uuid", err), MW_ERR_INVALID);
  CHECK(m == NULL);
  CHECK(strstr(err->message, "not-a-uuid") != NULL);
  CHECK_INT(mw_shard_manifest_read(&m, fx, FIX_SHARD "0", err), MW_ERR_INVALID);
  CHECK_INT(mw_shard_manifest_read(&m, fx, NULL, err), MW_ERR_INVALID);
  CHECK_INT(mw_shard_manifest_read(&m, NULL, FIX_SHARD, err), MW_ERR_INVALID);
  CHECK_INT(mw_shard_manifest_read(NULL, fx, FIX_SHARD, err), MW_ERR_INVALID);
  CHECK_INT(mw_shard_manifest_read_json(NULL, fx, FIX_SHARD, err), MW_ERR_INVALID);
  CHECK_INT(mw_shard_manifest_read_json(&json, fx, "zz", NULL), MW_ERR_INVALID); /* err optional */
  mw_shard_manifest_info_free(NULL);
  CHECK(1); /* free(NULL) returned */
  mw_objstore_close(fx);
}

static void test_corrupt_latest(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://manifest_read_corrupt");
  uint8_t id[16];
  CHECK_OK(mw_uuid_parse(id, FIX_SHARD, err), err);
  write_manifest(s, id, 1, 1, 0, 0);
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, FIX_SHARD, 2);
  CHECK_OK(mw_objstore_put(s, key, "\377\377\377", 3, err), err);
  mw_shard_manifest_info *m = NULL;
  CHECK_INT(mw_shard_manifest_read(&m, s, FIX_SHARD, err), MW_ERR_CORRUPT);
  CHECK(m == NULL);
  CHECK(strstr(err->message, key) != NULL); /* names the object */
  char *json = NULL;
  CHECK_INT(mw_shard_manifest_read_json(&json, s, FIX_SHARD, err), MW_ERR_CORRUPT);
  CHECK(json == NULL);
  mw_objstore_close(s);
}

static void test_no_stats_sealed(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://manifest_read_sealed");
  const char *shard = "11111111-2222-4333-8444-555555555555";
  uint8_t id[16];
  CHECK_OK(mw_uuid_parse(id, shard, err), err);
  write_manifest(s, id, 1, 1, 0, 0);
  write_manifest(s, id, 2, 5, 1, 1);
  mw_shard_manifest_info *m = NULL;
  CHECK_OK(mw_shard_manifest_read(&m, s, shard, err), err);
  if (m) {
    CHECK_INT(m->version, 2);
    CHECK_INT(m->writer_epoch, 5);
    CHECK_INT(m->status, 1);
    CHECK_INT(m->shard_spec_id, 7);
    CHECK_INT(m->replay_after_wal_entry_position, 20);
    CHECK_INT(m->wal_entry_position_last_seen, 21);
    CHECK_INT(m->current_generation, 3);
    CHECK_INT(m->n_flushed_generations, 2);
    if (m->n_flushed_generations == 2) {
      CHECK_INT(m->flushed_generations[0].generation, 1);
      CHECK_STR(m->flushed_generations[0].path, "aa_gen_1");
      CHECK_INT(m->flushed_generations[0].has_stats, 0);
      CHECK_INT(m->flushed_generations[0].physical_rows, 0);
      CHECK_INT(m->flushed_generations[1].generation, 2);
      CHECK_STR(m->flushed_generations[1].path, "bb_gen_2");
    }
  }
  mw_shard_manifest_info_free(m);
  char *json = NULL;
  CHECK_OK(mw_shard_manifest_read_json(&json, s, shard, err), err);
  CHECK(json && strstr(json, "\"status\":\"SEALED\"") != NULL);
  CHECK(json && strstr(json, "{\"generation\":1,\"path\":\"aa_gen_1\"}") != NULL);
  mw_free(json);
  mw_objstore_close(s);
}

/* Static Arrow structs (borrowed by the appender): release only marks. */
static void release_schema(struct ArrowSchema *x) { x->release = NULL; }
static void release_array(struct ArrowArray *x) { x->release = NULL; }

/* Reading writes nothing (not even the version hint) and leaves a live
 * writer's epoch alone: the appender that claimed the shard appends after
 * the reads as before. */
static void test_read_only_with_live_writer(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://manifest_read_live");
  copy_fixture_mem_wal(s);
  mw_wal_appender *ap = NULL;
  CHECK_OK(mw_wal_appender_open(&ap, s, FIX_SHARD, NULL, err), err);
  if (!ap) {
    mw_objstore_close(s);
    return;
  }
  uint64_t epoch = mw_wal_appender_epoch(ap);
  CHECK_INT(epoch, 5); /* the fixture's epoch 4, claimed over */
  char *before = listing(s);
  for (int i = 0; i < 3; i++) {
    mw_shard_manifest_info *m = NULL;
    CHECK_OK(mw_shard_manifest_read(&m, s, FIX_SHARD, err), err);
    CHECK(m && m->writer_epoch == epoch && m->version == 9);
    mw_shard_manifest_info_free(m);
    char *json = NULL;
    CHECK_OK(mw_shard_manifest_read_json(&json, s, FIX_SHARD, err), err);
    CHECK(json && strstr(json, "\"version\":9,\"writer_epoch\":5,") == json + 1);
    mw_free(json);
  }
  char *after = listing(s);
  CHECK_STR(after, before);
  CHECK(strstr(before, "manifest/") != NULL); /* the listing does see the manifests */
  free(before);
  free(after);

  /* the writer is not fenced: it appends */
  struct ArrowSchema id = {"l", "id", NULL, 0, 0, NULL, NULL, release_schema, NULL};
  struct ArrowSchema *cols[1] = {&id};
  struct ArrowSchema schema = {"+s", "", NULL, 0, 1, cols, NULL, release_schema, NULL};
  static int64_t ids[2] = {41, 42};
  const void *idb[2] = {NULL, ids}, *topb[1] = {NULL};
  struct ArrowArray ida = {2, 0, 0, 2, 0, idb, NULL, NULL, release_array, NULL};
  struct ArrowArray *kids[1] = {&ida};
  struct ArrowArray batch = {2, 0, 0, 1, 1, topb, kids, NULL, release_array, NULL};
  const struct ArrowArray *bp = &batch;
  mw_wal_append_result r;
  CHECK_OK(mw_wal_appender_append(&r, ap, &schema, &bp, 1, err), err);
  CHECK_INT(r.position, 8); /* after the fixture's 7 entries */
  mw_wal_appender_close(ap);
  mw_objstore_close(s);
}

/* Readers run while a committer writes versions 2..N: each read is one
 * whole version (its fields agree with each other) and versions never go
 * backwards for one reader. */
typedef struct reader_ctx {
  mw_objstore *s;
  const char *shard;
  _Atomic int *stop;
  int reads, bad, backwards;
} reader_ctx;

static void *reader_main(void *arg) {
  reader_ctx *c = arg;
  uint64_t last = 0;
  while (!*c->stop || c->reads < 5) {
    mw_shard_manifest_info *m = NULL;
    mw_error e = {0};
    if (mw_shard_manifest_read(&m, c->s, c->shard, &e) != MW_OK) {
      c->bad++;
      continue;
    }
    c->reads++;
    if (m->version < last) c->backwards++;
    last = m->version;
    if (m->writer_epoch != m->version || m->replay_after_wal_entry_position != 10 * m->version ||
        m->wal_entry_position_last_seen != 10 * m->version + 1)
      c->bad++;
    mw_shard_manifest_info_free(m);
  }
  return NULL;
}

static void test_concurrent_reads(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://manifest_read_concurrent");
  const char *shard = "22222222-2222-4333-8444-555555555555";
  uint8_t id[16];
  CHECK_OK(mw_uuid_parse(id, shard, err), err);
  write_manifest(s, id, 1, 1, 0, 0);
  _Atomic int stop = 0;
  reader_ctx rc[3];
  pthread_t th[3];
  for (int i = 0; i < 3; i++) {
    rc[i] = (reader_ctx){s, shard, &stop, 0, 0, 0};
    CHECK_INT(pthread_create(&th[i], NULL, reader_main, &rc[i]), 0);
  }
  for (uint64_t v = 2; v <= 40; v++) write_manifest(s, id, v, v, 0, 1);
  stop = 1;
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    CHECK(rc[i].reads >= 5);
    CHECK_INT(rc[i].bad, 0);
    CHECK_INT(rc[i].backwards, 0);
  }
  mw_shard_manifest_info *m = NULL;
  CHECK_OK(mw_shard_manifest_read(&m, s, shard, err), err);
  CHECK(m && m->version == 40);
  mw_shard_manifest_info_free(m);
  mw_objstore_close(s);
}

int main(void) {
  MW_RUN(test_fixture);
  MW_RUN(test_missing_shard_and_bad_args);
  MW_RUN(test_corrupt_latest);
  MW_RUN(test_no_stats_sealed);
  MW_RUN(test_read_only_with_live_writer);
  MW_RUN(test_concurrent_reads);
  return mw_test_finish();
}
