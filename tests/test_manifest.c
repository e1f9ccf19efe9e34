/* test_manifest.c - shard manifests and the manifest store (MEMWAL.md 4):
 * the Lance 12 fixture, hint scenarios, claims, fencing, commit races,
 * unknown-field preservation, hostile bytes, contention and faults. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"
#include "common/uuid.h"
#include "manifest/manifest_store.h"
#include "manifest/shard_manifest.h"
#include "fwd_store.h"
#include "memwal_sys.h"
#include "mw_test.h"
#include "objstore/objstore.h"
#include "objstore/objstore_fault.h"
#include "store_test_util.h"
#include "wal/wal_names.h"

#define FIX_JSON                                                                                  \
  "{\"version\":8,\"writer_epoch\":4,\"replay_after_wal_entry_position\":3,"                      \
  "\"wal_entry_position_last_seen\":6,\"current_generation\":2,\"flushed_generations\":[{"        \
  "\"generation\":1,\"path\":\"70752807_gen_1\",\"in_memory_bytes\":166,\"physical_rows\":6,"     \
  "\"primary_key_bytes\":48}],\"shard_spec_id\":1,\"shard_id\":\"aa48498d-ac91-59e2-8452-"        \
  "69f46010ace2\",\"status\":\"ACTIVE\"}"

static const uint8_t SHARD_A[16] = {1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16};

/* ------------------------------------------------------------- helpers */

static mw_manifest_store *open_ms(mw_objstore *s, const uint8_t id[16], uint32_t batch) {
  mw_manifest_store *ms = NULL;
  mw_error e = {0};
  if (mw_manifest_store_open(&ms, s, id, batch, &e) != MW_OK) {
    fprintf(stderr, "manifest store: %s\n", e.message);
    abort();
  }
  return ms;
}

static int exists(mw_objstore *s, const char *key) {
  uint64_t n;
  return mw_objstore_head(s, &n, key, NULL) == MW_OK;
}

static int version_exists(mw_objstore *s, const char *shard, uint64_t v) {
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, shard, v);
  return exists(s, key);
}

static char *get_text(mw_objstore *s, const char *key) {
  uint8_t *d = NULL;
  size_t n = 0;
  if (mw_objstore_get(s, &d, &n, key, 0, MW_OBJSTORE_TO_END, NULL) != MW_OK) return NULL;
  char *t = malloc(n + 1);
  if (n) memcpy(t, d, n);
  t[n] = '\0';
  mw_free(d);
  return t;
}

static void put_text(mw_objstore *s, const char *key, const char *text) {
  mw_error e = {0};
  if (mw_objstore_put(s, key, text, strlen(text), &e) != MW_OK) {
    fprintf(stderr, "put %s: %s\n", key, e.message);
    abort();
  }
}

static void set_hint(mw_objstore *s, const char *shard, const char *text) {
  char key[MW_KEY_SIZE];
  mw_manifest_hint_key(key, shard);
  if (text) put_text(s, key, text);
  else mw_objstore_del(s, key, NULL);
}

static char *hint_text(mw_objstore *s, const char *shard) {
  char key[MW_KEY_SIZE];
  mw_manifest_hint_key(key, shard);
  return get_text(s, key);
}

/* Writes versions 1..n of a plain manifest (epoch 1, last_seen = version). */
static void write_versions(mw_manifest_store *ms, uint64_t from, uint64_t to) {
  for (uint64_t v = from; v <= to; v++) {
    mw_shard_manifest *m = NULL;
    mw_error e = {0};
    mw_shard_manifest_new(&m, NULL);
    m->version = v;
    m->writer_epoch = 1;
    m->current_generation = 1;
    m->wal_entry_position_last_seen = v;
    mw_shard_manifest_set_shard_id(m, mw_manifest_store_shard_id(ms), NULL);
    if (mw_manifest_store_write_version(ms, m, &e) != MW_OK) {
      fprintf(stderr, "write_version %" PRIu64 ": %s\n", v, e.message);
      abort();
    }
    mw_shard_manifest_free(m);
  }
}

static uint64_t latest_version(mw_manifest_store *ms) {
  mw_shard_manifest *m = NULL;
  mw_error e = {0};
  if (mw_manifest_store_read_latest(&m, ms, &e) != MW_OK) {
    fprintf(stderr, "read_latest: %s\n", e.message);
    return UINT64_MAX;
  }
  uint64_t v = m ? m->version : 0;
  mw_shard_manifest_free(m);
  return v;
}

/* A temp folder holding a copy of the fixture's _mem_wal/ (the shared folder
 * is read-only). */
static mw_objstore *copy_fixture(char *dir_out /* 64 bytes */) {
  strcpy(dir_out, "/tmp/mw_test_manifest_XXXXXX");
  if (!mkdtemp(dir_out)) abort();
  mw_objstore *to = open_store(dir_out);
  copy_fixture_mem_wal(to);
  return to;
}

/* ----------------------------------------------- hooking store wrapper
 * Forwards everything to `inner`; before a put_if_absent of a manifest
 * version it may run a hook (a competing writer acting in between our read
 * and our write). */
typedef struct hook_store {
  mw_objstore *inner;
  void (*hook)(struct hook_store *hs, const char *key);
  int hook_budget; /* how many more times to run the hook */
  int hook_runs;
  uint8_t shard[16];
} hook_store;

static mw_status hs_put(void *self, const char *key, const void *d, size_t n, mw_error *err) {
  return mw_objstore_put(((hook_store *)self)->inner, key, d, n, err);
}
static mw_status hs_put_if_absent(void *self, const char *key, const void *d, size_t n,
                                  mw_error *err) {
  hook_store *hs = self;
  if (hs->hook && hs->hook_budget > 0 && strstr(key, "/manifest/") && strstr(key, ".binpb")) {
    hs->hook_budget--;
    hs->hook_runs++;
    hs->hook(hs, key);
  }
  return mw_objstore_put_if_absent(hs->inner, key, d, n, err);
}
static mw_status hs_get(void *self, uint8_t **o, size_t *on, const char *key, uint64_t off,
                        uint64_t len, mw_error *err) {
  return mw_objstore_get(((hook_store *)self)->inner, o, on, key, off, len, err);
}
static mw_status hs_head(void *self, uint64_t *o, const char *key, mw_error *err) {
  return mw_objstore_head(((hook_store *)self)->inner, o, key, err);
}
static mw_status hs_list(void *self, const char *p, mw_objstore_list_fn fn, void *arg,
                         mw_error *err) {
  return mw_objstore_list(((hook_store *)self)->inner, p, fn, arg, err);
}
static mw_status hs_del(void *self, const char *key, mw_error *err) {
  return mw_objstore_del(((hook_store *)self)->inner, key, err);
}
static void hs_destroy(void *self) { (void)self; }

static const mw_objstore_vtable hook_vt = {MW_OBJSTORE_ABI_VERSION, sizeof(mw_objstore_vtable),
                                           hs_put, hs_put_if_absent, hs_get, hs_head, hs_list,
                                           hs_del, hs_destroy, 0};

static mw_objstore *hook_wrap(hook_store *hs) {
  mw_objstore *s = NULL;
  if (mw_objstore_new(&s, &hook_vt, hs, NULL) != MW_OK) abort();
  return s;
}

/* Competing tailer: bumps the version (last_seen + 100) on the inner store. */
static void hook_tailer(hook_store *hs, const char *key) {
  (void)key;
  mw_manifest_store *ms = open_ms(hs->inner, hs->shard, 2);
  mw_shard_manifest *m = NULL;
  mw_manifest_store_read_latest(&m, ms, NULL);
  int written = 0;
  mw_error e = {0};
  if (mw_manifest_store_advance_last_seen(ms, m->wal_entry_position_last_seen + 100, &written, &e) !=
          MW_OK || !written)
    fprintf(stderr, "hook_tailer failed: %s\n", e.message);
  mw_shard_manifest_free(m);
  mw_manifest_store_close(ms);
}

/* Competing writer: claims the shard on the inner store. */
static void hook_claimer(hook_store *hs, const char *key) {
  (void)key;
  mw_manifest_store *ms = open_ms(hs->inner, hs->shard, 2);
  mw_shard_manifest *m = NULL;
  uint64_t prev;
  mw_error e = {0};
  if (mw_manifest_store_claim_epoch(&m, &prev, ms, 0, &e) != MW_OK)
    fprintf(stderr, "hook_claimer failed: %s\n", e.message);
  mw_shard_manifest_free(m);
  mw_manifest_store_close(ms);
}

/* ---------------------------------------------------------- the fixture */

static void check_fixture_v8(const mw_shard_manifest *m) {
  CHECK_INT(m->version, 8);
  CHECK_INT(m->writer_epoch, 4);
  CHECK_INT(m->replay_after_wal_entry_position, 3);
  CHECK_INT(m->wal_entry_position_last_seen, 6);
  CHECK_INT(m->current_generation, 2);
  CHECK_INT(m->n_flushed_generations, 1);
  if (m->n_flushed_generations == 1) {
    const mw_flushed_generation *g = m->flushed_generations[0];
    CHECK_INT(g->generation, 1);
    CHECK_STR(g->path, "70752807_gen_1");
    CHECK(g->has_in_memory_bytes && g->has_physical_rows && g->has_primary_key_bytes);
    CHECK_INT(g->in_memory_bytes, 166);
    CHECK_INT(g->physical_rows, 6);
    CHECK_INT(g->primary_key_bytes, 48);
  }
  CHECK_INT(m->shard_spec_id, 1);
  CHECK_INT(m->status, 0);
  const uint8_t *id = mw_shard_manifest_shard_id(m);
  CHECK(id != NULL);
  if (id) {
    char s[37];
    mw_uuid_format(s, id);
    CHECK_STR(s, FIX_SHARD);
  }
}

static void test_fixture_read_latest(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store(FIXTURE);
  uint8_t id[16];
  CHECK_OK(mw_uuid_parse(id, FIX_SHARD, err), err);
  for (uint32_t batch = 1; batch <= 5; batch++) {
    mw_manifest_store *ms = open_ms(s, id, batch);
    CHECK_STR(mw_manifest_store_shard_str(ms), FIX_SHARD);
    mw_shard_manifest *m = NULL;
    CHECK_OK(mw_manifest_store_read_latest(&m, ms, err), err);
    CHECK(m != NULL);
    if (m) check_fixture_v8(m);
    char *json = NULL;
    CHECK_OK(mw_shard_manifest_to_json(&json, m, err), err);
    CHECK_STR(json, FIX_JSON);
    free(json);
    mw_shard_manifest_free(m);
    /* Every version is readable and carries its own number; 9 is absent. */
    for (uint64_t v = 1; v <= 8; v++) {
      CHECK_OK(mw_manifest_store_read_version(&m, ms, v, err), err);
      CHECK_INT(m ? m->version : 0, v);
      mw_shard_manifest_free(m);
    }
    CHECK_INT(mw_manifest_store_read_version(&m, ms, 9, err), MW_ERR_NOT_FOUND);
    CHECK(m == NULL);
    /* Version 3 (epoch 2, last_seen 2, no replay_after). */
    CHECK_OK(mw_manifest_store_read_version(&m, ms, 3, err), err);
    CHECK_INT(m->writer_epoch, 2);
    CHECK_INT(m->wal_entry_position_last_seen, 2);
    CHECK_INT(m->replay_after_wal_entry_position, 0);
    CHECK_INT(m->current_generation, 1);
    mw_shard_manifest_free(m);
    /* A fenced check against it. */
    CHECK_INT(mw_manifest_store_check_fenced(NULL, ms, 3, err), MW_ERR_FENCED);
    CHECK_STR(err->message, "writer fenced: local epoch 3 < stored epoch 4 (shard " FIX_SHARD ")");
    mw_manifest_store_close(ms);
  }
  mw_objstore_close(s);
}

/* Our encoding of the decoded fixture is byte-identical to Lance's. */
static void test_fixture_reencode_identical(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store(FIXTURE);
  for (uint64_t v = 1; v <= 8; v++) {
    char key[MW_KEY_SIZE];
    mw_manifest_version_key(key, FIX_SHARD, v);
    uint8_t *d = NULL, *out = NULL;
    size_t n = 0, on = 0;
    CHECK_OK(mw_objstore_get(s, &d, &n, key, 0, MW_OBJSTORE_TO_END, err), err);
    mw_shard_manifest *m = NULL;
    CHECK_OK(mw_shard_manifest_decode(&m, d, n, key, err), err);
    CHECK_OK(mw_shard_manifest_encode(&out, &on, m, err), err);
    CHECK_INT(on, n);
    CHECK(on == n && memcmp(out, d, n) == 0);
    mw_shard_manifest *c = NULL;
    CHECK_OK(mw_shard_manifest_copy(&c, m, err), err);
    free(out);
    CHECK_OK(mw_shard_manifest_encode(&out, &on, c, err), err);
    CHECK(on == n && memcmp(out, d, n) == 0);
    free(out);
    mw_shard_manifest_free(c);
    mw_shard_manifest_free(m);
    mw_free(d);
  }
  mw_objstore_close(s);
}

static void test_fixture_claim(void) {
  mw_error e_ = {0}, *err = &e_;
  char dir[64];
  mw_objstore *s = copy_fixture(dir);
  uint8_t id[16];
  mw_uuid_parse(id, FIX_SHARD, NULL);
  mw_manifest_store *ms = open_ms(s, id, 0);
  mw_shard_manifest *m = NULL;
  uint64_t prev = 99;
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 42, err), err);
  CHECK_INT(prev, 4);
  CHECK_INT(m->version, 9);
  CHECK_INT(m->writer_epoch, 5);
  CHECK_INT(m->shard_spec_id, 1); /* carried, not the argument */
  char *hint = hint_text(s, FIX_SHARD);
  CHECK_STR(hint, "{\"version\":9}");
  free(hint);
  mw_shard_manifest_free(m);
  /* Read back: every other field intact, bytes identical to v8 except for
   * version and epoch. */
  CHECK_OK(mw_manifest_store_read_latest(&m, ms, err), err);
  CHECK_INT(m->version, 9);
  CHECK_INT(m->writer_epoch, 5);
  m->version = 8;
  m->writer_epoch = 4;
  check_fixture_v8(m);
  uint8_t *enc = NULL, *orig = NULL;
  size_t en = 0, on = 0;
  CHECK_OK(mw_shard_manifest_encode(&enc, &en, m, err), err);
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, FIX_SHARD, 8);
  CHECK_OK(mw_objstore_get(s, &orig, &on, key, 0, MW_OBJSTORE_TO_END, err), err);
  CHECK(en == on && memcmp(enc, orig, en) == 0);
  free(enc);
  mw_free(orig);
  mw_shard_manifest_free(m);
  CHECK_OK(mw_manifest_store_check_fenced(NULL, ms, 5, err), err);
  CHECK_INT(mw_manifest_store_check_fenced(NULL, ms, 4, err), MW_ERR_FENCED);
  CHECK_STR(err->message, "writer fenced: local epoch 4 < stored epoch 5 (shard " FIX_SHARD ")");
  CHECK_INT(mw_manifest_store_hint_failures(ms), 0);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
  remove_dir(dir);
}

/* --------------------------------------------------------------- hints */

static void test_hint_scenarios(void) {
  mw_objstore *inner = open_store("memory://manifest_hints");
  mw_objstore *s = NULL;
  mw_error e_ = {0}, *err = &e_;
  CHECK_OK(mw_objstore_fault_new(&s, inner, err), err);
  mw_manifest_store *ms = open_ms(s, SHARD_A, 2);
  const char *shard = mw_manifest_store_shard_str(ms);
  mw_shard_manifest *m = NULL;

  /* No manifest: a distinct result, not an error (also with a hint). */
  CHECK_OK(mw_manifest_store_read_latest(&m, ms, err), err);
  CHECK(m == NULL);
  set_hint(s, shard, "{\"version\":3}");
  CHECK_OK(mw_manifest_store_read_latest(&m, ms, err), err);
  CHECK(m == NULL);

  write_versions(ms, 1, 5);
  char *h = hint_text(s, shard);
  CHECK_STR(h, "{\"version\":5}");
  free(h);

  struct {
    const char *hint; /* NULL = no hint object */
    uint64_t heads;   /* exact head() calls of one read_latest */
  } cases[] = {
      {"{\"version\":5}", 1 + 2},        /* hint exact: head 5, probe 6,7 */
      {NULL, 1 + 6},                     /* missing -> 1: head 1, probe 2-3,4-5,6-7 */
      {"{\"version\":2}", 1 + 6},        /* stale: head 2, probe 3-4, 5-6, 7-8 */
      {"{\"version\":9}", 2 + 6},        /* ahead: head 9, head 1, probe 2..7 */
      {"{\"version\":7}", 2 + 6},        /* missing version, 1 present */
      {"garbage", 1 + 6},                /* unparseable -> 1 */
      {"{\"version\":0}", 1 + 6},        /* 0 -> 1 */
      {"{\"version\":-3}", 1 + 6},
      {"{\"version\":99999999999999999999999}", 1 + 6}, /* overflow -> 1 */
      {"", 1 + 6},
      {" { \"version\" : 4 } \n", 1 + 4}, /* whitespace ok: head 4, 5-6, 6-7 */
      {"{\"version\":4}x", 1 + 6},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    set_hint(s, shard, cases[i].hint);
    mw_objstore_fault_reset_counters(s);
    CHECK_OK(mw_manifest_store_read_latest(&m, ms, err), err);
    CHECK_INT(m ? m->version : 0, 5);
    CHECK_INT(m ? m->wal_entry_position_last_seen : 0, 5);
    mw_shard_manifest_free(m);
    uint64_t heads = mw_objstore_fault_calls(s, MW_FAULT_HEAD);
    if (heads != cases[i].heads) fprintf(stderr, "hint case %zu\n", i);
    CHECK_INT(heads, cases[i].heads);
    CHECK_INT(mw_objstore_fault_calls(s, MW_FAULT_GET), 2); /* hint + manifest */
  }
  /* A hint pointing at a missing version while version 1 is gone too (only
   * 3..5 exist): nothing is found from the start: no manifest. That is the
   * documented limit of the algorithm (versions are never deleted from the
   * bottom while the hint is stale). With the hint at 3 it works. */
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, shard, 1);
  mw_objstore_del(s, key, NULL);
  mw_manifest_version_key(key, shard, 2);
  mw_objstore_del(s, key, NULL);
  set_hint(s, shard, "{\"version\":3}");
  CHECK_INT(latest_version(ms), 5);
  set_hint(s, shard, "{\"version\":9}");
  CHECK_INT(latest_version(ms), 0);

  /* Larger batch: one round finds the highest of its window. */
  mw_manifest_store *ms4 = open_ms(s, SHARD_A, 4);
  set_hint(s, shard, "{\"version\":3}");
  write_versions(ms4, 6, 11);
  set_hint(s, shard, "{\"version\":3}");
  mw_objstore_fault_reset_counters(s);
  CHECK_INT(latest_version(ms4), 11);
  CHECK_INT(mw_objstore_fault_calls(s, MW_FAULT_HEAD), 1 + 4 + 4 + 4); /* 3; 4-7; 8-11; 12-15 */
  mw_manifest_store_close(ms4);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
  mw_objstore_close(inner);
}

/* -------------------------------------------------------------- claims */

static void test_claim_new_shard(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://manifest_new");
  mw_manifest_store *ms = open_ms(s, SHARD_A, 0);
  const char *shard = mw_manifest_store_shard_str(ms);
  CHECK_STR(shard, "01020304-0506-4708-890a-0b0c0d0e0f10");
  mw_shard_manifest *m = NULL;
  uint64_t prev = 99;
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 7, err), err);
  CHECK_INT(prev, 0);
  char *json = NULL;
  mw_shard_manifest_to_json(&json, m, NULL);
  CHECK_STR(json, "{\"version\":1,\"writer_epoch\":1,\"replay_after_wal_entry_position\":0,"
                  "\"wal_entry_position_last_seen\":0,\"current_generation\":1,"
                  "\"flushed_generations\":[],\"shard_spec_id\":7,"
                  "\"shard_id\":\"01020304-0506-4708-890a-0b0c0d0e0f10\",\"status\":\"ACTIVE\"}");
  free(json);
  mw_shard_manifest_free(m);
  /* Exact bytes on storage: proto3-style, zero fields omitted. */
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, shard, 1);
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK_OK(mw_objstore_get(s, &d, &n, key, 0, MW_OBJSTORE_TO_END, err), err);
  const uint8_t expect[] = {0x08, 1, 0x10, 1, 0x30, 1, 0x50, 7, 0x5a, 18, 0x0a, 16,
                            1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16};
  CHECK_INT(n, sizeof expect);
  CHECK(n == sizeof expect && memcmp(d, expect, n) == 0);
  mw_free(d);
  char *h = hint_text(s, shard);
  CHECK_STR(h, "{\"version\":1}");
  free(h);
  /* Second claim: epoch 2 at version 2, spec id carried. */
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 9, err), err);
  CHECK_INT(prev, 1);
  CHECK_INT(m->version, 2);
  CHECK_INT(m->writer_epoch, 2);
  CHECK_INT(m->shard_spec_id, 7);
  CHECK_INT(m->current_generation, 1);
  mw_shard_manifest_free(m);
  /* write_version of an existing version: ALREADY_EXISTS, distinct. */
  mw_shard_manifest_new(&m, NULL);
  m->version = 2;
  CHECK_INT(mw_manifest_store_write_version(ms, m, err), MW_ERR_ALREADY_EXISTS);
  m->version = 0;
  CHECK_INT(mw_manifest_store_write_version(ms, m, err), MW_ERR_INVALID);
  mw_shard_manifest_free(m);
  CHECK_INT(latest_version(ms), 2);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
}

static void test_claim_sealed(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://manifest_sealed");
  mw_manifest_store *ms = open_ms(s, SHARD_A, 0);
  write_versions(ms, 1, 2);
  mw_shard_manifest *m = NULL;
  mw_shard_manifest_new(&m, NULL);
  m->version = 3;
  m->writer_epoch = 4;
  m->status = MW_SHARD_STATUS_SEALED;
  CHECK_OK(mw_manifest_store_write_version(ms, m, err), err);
  char *json = NULL;
  mw_shard_manifest_to_json(&json, m, NULL);
  CHECK(strstr(json, "\"status\":\"SEALED\"") != NULL);
  free(json);
  mw_shard_manifest_free(m);
  uint64_t prev = 99;
  CHECK_INT(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), MW_ERR_INVALID);
  CHECK_STR(err->message, "shard 01020304-0506-4708-890a-0b0c0d0e0f10 is sealed");
  CHECK(m == NULL);
  CHECK(!version_exists(s, mw_manifest_store_shard_str(ms), 4));
  CHECK_INT(latest_version(ms), 3);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
}

/* MEMWAL.md section 10: claim after a cursor update gives epoch 2 at v3. */
static void test_claim_after_cursor_update(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://manifest_cursor");
  mw_manifest_store *ms = open_ms(s, SHARD_A, 0);
  mw_shard_manifest *m = NULL;
  uint64_t prev;
  int written = -1;
  /* Cursor on a shard without manifest: nothing to do. */
  CHECK_OK(mw_manifest_store_advance_last_seen(ms, 5, &written, err), err);
  CHECK_INT(written, 0);
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err);
  mw_shard_manifest_free(m);
  CHECK_OK(mw_manifest_store_advance_last_seen(ms, 3, &written, err), err);
  CHECK_INT(written, 1);
  CHECK_OK(mw_manifest_store_read_latest(&m, ms, err), err);
  CHECK_INT(m->version, 2);
  CHECK_INT(m->writer_epoch, 1);
  CHECK_INT(m->wal_entry_position_last_seen, 3);
  mw_shard_manifest_free(m);
  /* Never lowered, no version for an unchanged value. */
  CHECK_OK(mw_manifest_store_advance_last_seen(ms, 2, &written, err), err);
  CHECK_INT(written, 0);
  CHECK_OK(mw_manifest_store_advance_last_seen(ms, 3, &written, err), err);
  CHECK_INT(written, 0);
  CHECK_INT(latest_version(ms), 2);
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err);
  CHECK_INT(m->version, 3);
  CHECK_INT(m->writer_epoch, 2);
  CHECK_INT(prev, 1);
  CHECK_INT(m->wal_entry_position_last_seen, 3);
  mw_shard_manifest_free(m);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
}

static void test_check_fenced(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *s = open_store("memory://manifest_fenced");
  mw_manifest_store *ms = open_ms(s, SHARD_A, 0);
  mw_shard_manifest *m = NULL;
  uint64_t prev;
  CHECK_INT(mw_manifest_store_check_fenced(&m, ms, 1, err), MW_ERR_NOT_FOUND);
  CHECK_STR(err->message, "no manifest for shard 01020304-0506-4708-890a-0b0c0d0e0f10");
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err);
  mw_shard_manifest_free(m);
  CHECK_OK(mw_manifest_store_check_fenced(&m, ms, 1, err), err);
  CHECK_INT(m ? m->writer_epoch : 0, 1);
  mw_shard_manifest_free(m);
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err);
  mw_shard_manifest_free(m);
  CHECK_INT(mw_manifest_store_check_fenced(&m, ms, 1, err), MW_ERR_FENCED);
  CHECK(m == NULL);
  CHECK_STR(err->message, "writer fenced: local epoch 1 < stored epoch 2 "
                          "(shard 01020304-0506-4708-890a-0b0c0d0e0f10)");
  CHECK_OK(mw_manifest_store_check_fenced(&m, ms, 2, err), err);
  CHECK_INT(m->version, 2);
  mw_shard_manifest_free(m);
  CHECK_OK(mw_manifest_store_check_fenced(NULL, ms, 3, err), err); /* ahead is not fenced */
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
}

/* ------------------------------------------------------ commit_update */

typedef struct add_gen {
  int calls;
  uint64_t seen_last_seen[16];
  mw_status fail_with;
} add_gen;

static mw_status mutate_add_gen(void *arg, mw_shard_manifest *m, mw_error *err) {
  add_gen *a = arg;
  if (a->calls < 16) a->seen_last_seen[a->calls] = m->wal_entry_position_last_seen;
  a->calls++;
  if (a->fail_with) return mw_err(err, a->fail_with, "mutate refused");
  char path[32];
  snprintf(path, sizeof path, "0000abcd_gen_%" PRIu64, m->current_generation);
  mw_flushed_gen_stats st = {100, 10, 40};
  MW_TRY(mw_shard_manifest_add_flushed_generation(m, m->current_generation, path, &st, err));
  m->current_generation++;
  m->replay_after_wal_entry_position = 7;
  return MW_OK;
}

static void test_commit_update(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *inner = open_store("memory://manifest_commit");
  hook_store hs = {.inner = inner};
  memcpy(hs.shard, SHARD_A, 16);
  mw_objstore *s = hook_wrap(&hs);
  mw_manifest_store *ms = open_ms(s, SHARD_A, 0);
  mw_shard_manifest *m = NULL;
  uint64_t prev;
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err); /* v1 e1 */
  mw_shard_manifest_free(m);

  /* Plain commit. */
  add_gen a = {0};
  CHECK_OK(mw_manifest_store_commit_update(&m, ms, 1, mutate_add_gen, &a, err), err);
  CHECK_INT(a.calls, 1);
  CHECK_INT(m->version, 2);
  CHECK_INT(m->writer_epoch, 1);
  CHECK_INT(m->current_generation, 2);
  char *json = NULL;
  mw_shard_manifest_to_json(&json, m, NULL);
  CHECK_STR(json, "{\"version\":2,\"writer_epoch\":1,\"replay_after_wal_entry_position\":7,"
                  "\"wal_entry_position_last_seen\":0,\"current_generation\":2,"
                  "\"flushed_generations\":[{\"generation\":1,\"path\":\"0000abcd_gen_1\","
                  "\"in_memory_bytes\":100,\"physical_rows\":10,\"primary_key_bytes\":40}],"
                  "\"shard_spec_id\":0,\"shard_id\":\"01020304-0506-4708-890a-0b0c0d0e0f10\","
                  "\"status\":\"ACTIVE\"}");
  free(json);
  mw_shard_manifest_free(m);

  /* A tailer slips in version 3 between our read and our write: retried,
   * the tailer's change is kept, ours is re-applied on top. */
  memset(&a, 0, sizeof a);
  hs.hook = hook_tailer;
  hs.hook_budget = 1;
  CHECK_OK(mw_manifest_store_commit_update(&m, ms, 1, mutate_add_gen, &a, err), err);
  CHECK_INT(hs.hook_runs, 1);
  CHECK_INT(a.calls, 2);
  CHECK_INT(a.seen_last_seen[0], 0);
  CHECK_INT(a.seen_last_seen[1], 100);
  CHECK_INT(m->version, 4);
  CHECK_INT(m->writer_epoch, 1);
  CHECK_INT(m->wal_entry_position_last_seen, 100);
  CHECK_INT(m->current_generation, 3);
  CHECK_INT(m->n_flushed_generations, 2);
  mw_shard_manifest_free(m);
  CHECK_INT(latest_version(ms), 4);

  /* The mutate callback fails: nothing written, its status returned. */
  memset(&a, 0, sizeof a);
  a.fail_with = MW_ERR_UNSUPPORTED;
  CHECK_INT(mw_manifest_store_commit_update(&m, ms, 1, mutate_add_gen, &a, err), MW_ERR_UNSUPPORTED);
  CHECK_STR(err->message, "mutate refused");
  CHECK(m == NULL);
  CHECK_INT(latest_version(ms), 4);

  /* Always losing: CONFLICT after exactly 10 attempts. */
  memset(&a, 0, sizeof a);
  hs.hook_runs = 0;
  hs.hook_budget = 1000;
  CHECK_INT(mw_manifest_store_commit_update(&m, ms, 1, mutate_add_gen, &a, err), MW_ERR_CONFLICT);
  CHECK(strstr(err->message, "lost 10 races") != NULL);
  CHECK_INT(a.calls, 10);
  CHECK_INT(hs.hook_runs, 10);
  CHECK_INT(latest_version(ms), 14);

  /* A new writer claims in between: FENCED with the exact text. */
  memset(&a, 0, sizeof a);
  hs.hook = hook_claimer;
  hs.hook_budget = 1;
  CHECK_INT(mw_manifest_store_commit_update(&m, ms, 1, mutate_add_gen, &a, err), MW_ERR_FENCED);
  CHECK_STR(err->message, "writer fenced: local epoch 1 < stored epoch 2 "
                          "(shard 01020304-0506-4708-890a-0b0c0d0e0f10)");
  CHECK_INT(a.calls, 1);
  CHECK(m == NULL);
  CHECK_OK(mw_manifest_store_read_latest(&m, ms, err), err);
  CHECK_INT(m->version, 15);
  CHECK_INT(m->writer_epoch, 2);
  CHECK_INT(m->current_generation, 3); /* our change never landed */
  mw_shard_manifest_free(m);
  /* Fenced up front too, without calling mutate. */
  memset(&a, 0, sizeof a);
  CHECK_INT(mw_manifest_store_commit_update(NULL, ms, 1, mutate_add_gen, &a, err), MW_ERR_FENCED);
  CHECK_INT(a.calls, 0);
  /* The new writer commits fine; a NULL mutate is a pure version bump. */
  CHECK_OK(mw_manifest_store_commit_update(&m, ms, 2, NULL, NULL, err), err);
  CHECK_INT(m->version, 16);
  CHECK_INT(m->writer_epoch, 2);
  mw_shard_manifest_free(m);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
  mw_objstore_close(inner);
}

/* claim_epoch losing a put race: to a tailer (retry) or a claimer (fenced). */
static void test_claim_races(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *inner = open_store("memory://manifest_claim_race");
  hook_store hs = {.inner = inner};
  memcpy(hs.shard, SHARD_A, 16);
  mw_objstore *s = hook_wrap(&hs);
  mw_manifest_store *ms = open_ms(s, SHARD_A, 0);
  mw_shard_manifest *m = NULL;
  uint64_t prev = 0;
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err); /* v1 e1 */
  mw_shard_manifest_free(m);
  hs.hook = hook_tailer;
  hs.hook_budget = 3;
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err);
  CHECK_INT(hs.hook_runs, 3);
  CHECK_INT(m->version, 5);
  CHECK_INT(m->writer_epoch, 2);
  CHECK_INT(prev, 1);
  CHECK_INT(m->wal_entry_position_last_seen, 300);
  mw_shard_manifest_free(m);
  hs.hook = hook_claimer;
  hs.hook_budget = 1;
  CHECK_INT(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), MW_ERR_FENCED);
  CHECK_STR(err->message,
            "shard 01020304-0506-4708-890a-0b0c0d0e0f10 claimed by another writer (epoch 3)");
  CHECK(m == NULL);
  /* A new shard: two claimers race for version 1. */
  hs.hook_budget = 1;
  hs.hook = hook_claimer;
  mw_manifest_store *ms2;
  uint8_t other[16];
  memcpy(other, SHARD_A, 16);
  other[0] = 0xee;
  memcpy(hs.shard, other, 16);
  ms2 = open_ms(s, other, 0);
  CHECK_INT(mw_manifest_store_claim_epoch(&m, &prev, ms2, 0, err), MW_ERR_FENCED);
  CHECK(strstr(err->message, "claimed by another writer (epoch 1)") != NULL);
  /* Always losing to tailers: CONFLICT after 16 attempts. */
  memcpy(hs.shard, SHARD_A, 16);
  hs.hook = hook_tailer;
  hs.hook_budget = 1000;
  hs.hook_runs = 0;
  CHECK_INT(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), MW_ERR_CONFLICT);
  CHECK_INT(hs.hook_runs, 16);
  mw_manifest_store_close(ms2);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
  mw_objstore_close(inner);
}

/* ----------------------------------------------- bytes, unknown fields */

static int find_bytes(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn) {
  for (size_t i = 0; i + nn <= hn; i++)
    if (memcmp(h + i, n, nn) == 0) return 1;
  return 0;
}

static void test_unknown_fields_survive(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *fx = open_store(FIXTURE);
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, FIX_SHARD, 8);
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK_OK(mw_objstore_get(fx, &d, &n, key, 0, MW_OBJSTORE_TO_END, err), err);
  mw_objstore_close(fx);
  /* tag 99 varint 42 (key 99<<3|0 = 792 = 0x98 0x06) and tag 100 bytes "abc"
   * (key 100<<3|2 = 802 = 0xa2 0x06). */
  const uint8_t t99[] = {0x98, 0x06, 0x2a};
  const uint8_t t100[] = {0xa2, 0x06, 0x03, 'a', 'b', 'c'};
  uint8_t *buf = malloc(n + sizeof t99 + sizeof t100);
  memcpy(buf, d, n);
  memcpy(buf + n, t99, sizeof t99);
  memcpy(buf + n + sizeof t99, t100, sizeof t100);
  size_t bn = n + sizeof t99 + sizeof t100;
  mw_free(d);

  mw_shard_manifest *m = NULL;
  CHECK_OK(mw_shard_manifest_decode(&m, buf, bn, "x", err), err);
  check_fixture_v8(m);
  CHECK_INT(m->base.n_unknown_fields, 2);
  m->writer_epoch = 5;
  uint8_t *out = NULL;
  size_t on = 0;
  CHECK_OK(mw_shard_manifest_encode(&out, &on, m, err), err);
  CHECK(find_bytes(out, on, t99, sizeof t99));
  CHECK(find_bytes(out, on, t100, sizeof t100));
  CHECK_INT(on, bn);
  free(out);
  mw_shard_manifest_free(m);

  /* Through the store: a claim carries them into the next version. */
  mw_objstore *s = open_store("memory://manifest_unknown");
  uint8_t id[16];
  mw_uuid_parse(id, FIX_SHARD, NULL);
  mw_manifest_store *ms = open_ms(s, id, 0);
  CHECK_OK(mw_objstore_put_if_absent(s, key, buf, bn, err), err);
  set_hint(s, FIX_SHARD, "{\"version\":8}"); /* only version 8 exists */
  uint64_t prev;
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err);
  CHECK_INT(m->version, 9);
  mw_shard_manifest_free(m);
  mw_manifest_version_key(key, FIX_SHARD, 9);
  CHECK_OK(mw_objstore_get(s, &d, &n, key, 0, MW_OBJSTORE_TO_END, err), err);
  CHECK(find_bytes(d, n, t99, sizeof t99));
  CHECK(find_bytes(d, n, t100, sizeof t100));
  mw_free(d);
  /* And through commit_update. */
  add_gen a = {0};
  CHECK_OK(mw_manifest_store_commit_update(NULL, ms, 5, mutate_add_gen, &a, err), err);
  mw_manifest_version_key(key, FIX_SHARD, 10);
  CHECK_OK(mw_objstore_get(s, &d, &n, key, 0, MW_OBJSTORE_TO_END, err), err);
  CHECK(find_bytes(d, n, t99, sizeof t99));
  CHECK(find_bytes(d, n, t100, sizeof t100));
  mw_free(d);
  free(buf);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
}

static void test_decode_hostile(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *fx = open_store(FIXTURE);
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, FIX_SHARD, 8);
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK_OK(mw_objstore_get(fx, &d, &n, key, 0, MW_OBJSTORE_TO_END, err), err);
  mw_objstore_close(fx);
  /* Every truncation: OK (a shorter valid message) or CORRUPT naming the key. */
  int corrupt = 0;
  for (size_t len = 0; len < n; len++) {
    uint8_t *cp = malloc(len ? len : 1);
    memcpy(cp, d, len);
    mw_shard_manifest *m = NULL;
    mw_status s = mw_shard_manifest_decode(&m, cp, len, "k/trunc", err);
    CHECK(s == MW_OK || s == MW_ERR_CORRUPT);
    if (s == MW_ERR_CORRUPT) {
      corrupt++;
      CHECK(m == NULL);
      CHECK(strstr(err->message, "shard manifest k/trunc: ") == err->message);
    }
    mw_shard_manifest_free(m);
    free(cp);
  }
  CHECK(corrupt > 10);
  /* Every single-byte flip to 0xff: never crashes. */
  for (size_t i = 0; i < n; i++) {
    uint8_t *cp = malloc(n);
    memcpy(cp, d, n);
    cp[i] = 0xff;
    mw_shard_manifest *m = NULL;
    mw_status s = mw_shard_manifest_decode(&m, cp, n, "k", err);
    CHECK(s == MW_OK || s == MW_ERR_CORRUPT);
    mw_shard_manifest_free(m);
    free(cp);
  }
  mw_free(d);
  mw_shard_manifest *m = NULL;
  const uint8_t garbage[] = {0xff, 0xff, 0xff};
  CHECK_INT(mw_shard_manifest_decode(&m, garbage, sizeof garbage, "g", err), MW_ERR_CORRUPT);
  CHECK_STR(err->message, "shard manifest g: malformed protobuf (3 bytes)");
  /* shard_id of 3 bytes. */
  const uint8_t short_id[] = {0x5a, 5, 0x0a, 3, 1, 2, 3};
  CHECK_INT(mw_shard_manifest_decode(&m, short_id, sizeof short_id, "s", err), MW_ERR_CORRUPT);
  CHECK_STR(err->message, "shard manifest s: shard_id is 3 bytes, expected 16");
  /* Wrong wire type for a known tag (version as length-delimited). */
  const uint8_t wrong_type[] = {0x0a, 1, 0};
  CHECK_INT(mw_shard_manifest_decode(&m, wrong_type, sizeof wrong_type, "w", err), MW_ERR_CORRUPT);
  /* Empty input is an empty manifest. */
  CHECK_OK(mw_shard_manifest_decode(&m, NULL, 0, "e", err), err);
  CHECK_INT(m->version, 0);
  mw_shard_manifest_free(m);

  /* Through the store: garbage latest and a version mismatch. */
  mw_objstore *s = open_store("memory://manifest_hostile");
  mw_manifest_store *ms = open_ms(s, SHARD_A, 0);
  write_versions(ms, 1, 2);
  const char *shard = mw_manifest_store_shard_str(ms);
  mw_manifest_version_key(key, shard, 3);
  CHECK_OK(mw_objstore_put_if_absent(s, key, garbage, sizeof garbage, err), err);
  CHECK_INT(mw_manifest_store_read_latest(&m, ms, err), MW_ERR_CORRUPT);
  CHECK(strstr(err->message, key) != NULL);
  uint64_t prev;
  CHECK_INT(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), MW_ERR_CORRUPT);
  mw_objstore_del(s, key, NULL);
  const uint8_t says2[] = {0x08, 2};
  CHECK_OK(mw_objstore_put_if_absent(s, key, says2, sizeof says2, err), err);
  CHECK_INT(mw_manifest_store_read_latest(&m, ms, err), MW_ERR_CORRUPT);
  CHECK(strstr(err->message, "version field is 2, expected 3") != NULL);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
}

static void test_json_and_helpers(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_shard_manifest *m = NULL;
  CHECK_OK(mw_shard_manifest_new(&m, err), err);
  char *json = NULL;
  CHECK_OK(mw_shard_manifest_to_json(&json, m, err), err);
  CHECK_STR(json, "{\"version\":0,\"writer_epoch\":0,\"replay_after_wal_entry_position\":0,"
                  "\"wal_entry_position_last_seen\":0,\"current_generation\":0,"
                  "\"flushed_generations\":[],\"shard_spec_id\":0,\"shard_id\":null,"
                  "\"status\":\"ACTIVE\"}");
  free(json);
  m->status = 7;
  CHECK_OK(mw_shard_manifest_add_flushed_generation(m, 1, "a\"b\\c\n", NULL, err), err);
  CHECK_OK(mw_shard_manifest_add_flushed_generation(m, 2, "g2", NULL, err), err);
  mw_flushed_gen_stats st = {1, 2, 3};
  CHECK_OK(mw_shard_manifest_add_flushed_generation(m, 3, "g3", &st, err), err);
  /* map entries and field entries, built by hand like a newer writer. */
  m->shard_field_values = malloc(sizeof *m->shard_field_values);
  m->shard_field_values[0] = malloc(sizeof **m->shard_field_values);
  lance__table__shard_field_value_entry__init(m->shard_field_values[0]);
  m->shard_field_values[0]->key = strdup("bucket");
  m->shard_field_values[0]->has_value = 1;
  m->shard_field_values[0]->value = -3;
  m->n_shard_field_values = 1;
  m->shard_field_string_values = malloc(sizeof *m->shard_field_string_values);
  m->shard_field_string_values[0] = malloc(sizeof **m->shard_field_string_values);
  lance__table__shard_field_string_value_entry__init(m->shard_field_string_values[0]);
  m->shard_field_string_values[0]->key = strdup("region");
  m->shard_field_string_values[0]->value = strdup("eu");
  m->n_shard_field_string_values = 1;
  m->shard_field_entries = malloc(sizeof *m->shard_field_entries);
  m->shard_field_entries[0] = malloc(sizeof **m->shard_field_entries);
  lance__table__shard_field_entry_proto__init(m->shard_field_entries[0]);
  m->shard_field_entries[0]->field_id = strdup("1");
  m->shard_field_entries[0]->has_value = 1;
  m->shard_field_entries[0]->value.data = malloc(2);
  m->shard_field_entries[0]->value.data[0] = 0x2a;
  m->shard_field_entries[0]->value.data[1] = 0xff;
  m->shard_field_entries[0]->value.len = 2;
  m->n_shard_field_entries = 1;
  const char *expect =
      "{\"version\":0,\"writer_epoch\":0,\"replay_after_wal_entry_position\":0,"
      "\"wal_entry_position_last_seen\":0,\"current_generation\":0,\"flushed_generations\":["
      "{\"generation\":1,\"path\":\"a\\\"b\\\\c\\u000a\"},{\"generation\":2,\"path\":\"g2\"},"
      "{\"generation\":3,\"path\":\"g3\",\"in_memory_bytes\":1,\"physical_rows\":2,"
      "\"primary_key_bytes\":3}],\"shard_spec_id\":0,\"shard_id\":null,\"status\":7,"
      "\"shard_field_values\":{\"bucket\":-3},\"shard_field_string_values\":{\"region\":\"eu\"},"
      "\"shard_field_entries\":[{\"field_id\":\"1\",\"value\":\"2aff\"}]}";
  CHECK_OK(mw_shard_manifest_to_json(&json, m, err), err);
  CHECK_STR(json, expect);
  free(json);
  /* A round trip through bytes keeps all of it. */
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK_OK(mw_shard_manifest_encode(&d, &n, m, err), err);
  mw_shard_manifest *back = NULL;
  CHECK_OK(mw_shard_manifest_decode(&back, d, n, "rt", err), err);
  free(d);
  CHECK_OK(mw_shard_manifest_to_json(&json, back, err), err);
  CHECK_STR(json, expect);
  free(json);
  mw_shard_manifest_free(back);
  CHECK_INT(mw_shard_manifest_remove_flushed_generations(m, 2), 2);
  CHECK_INT(m->n_flushed_generations, 1);
  CHECK_INT(m->flushed_generations[0]->generation, 3);
  CHECK_INT(mw_shard_manifest_remove_flushed_generations(m, 2), 0);
  CHECK(mw_shard_manifest_shard_id(m) == NULL);
  CHECK_OK(mw_shard_manifest_set_shard_id(m, SHARD_A, err), err);
  CHECK_OK(mw_shard_manifest_set_shard_id(m, SHARD_A, err), err); /* replaces */
  CHECK(memcmp(mw_shard_manifest_shard_id(m), SHARD_A, 16) == 0);
  /* copy keeps a value whose has_ flag the editor forgot. */
  m->version = 12;
  m->has_version = 0;
  mw_shard_manifest *c = NULL;
  CHECK_OK(mw_shard_manifest_copy(&c, m, err), err);
  CHECK_INT(c->version, 12);
  CHECK_INT(c->status, 7);
  mw_shard_manifest_free(c);
  mw_shard_manifest_free(m);
}

/* ----------------------------------------------------------- contention */

#define N_CLAIMERS 8

typedef struct claimer {
  mw_objstore *store;
  pthread_barrier_t *barrier;
  mw_status status;
  uint64_t epoch, version, prev;
  mw_error err;
} claimer;

static void *claimer_main(void *arg) {
  claimer *c = arg;
  mw_manifest_store *ms = NULL;
  if (mw_manifest_store_open(&ms, c->store, SHARD_A, 2, &c->err) != MW_OK) {
    c->status = MW_ERR_INTERNAL;
    return NULL;
  }
  pthread_barrier_wait(c->barrier);
  mw_shard_manifest *m = NULL;
  c->status = mw_manifest_store_claim_epoch(&m, &c->prev, ms, 0, &c->err);
  if (m) {
    c->epoch = m->writer_epoch;
    c->version = m->version;
  }
  mw_shard_manifest_free(m);
  mw_manifest_store_close(ms);
  return NULL;
}

static void test_claim_contention(void) {
  mw_objstore *s = open_store("memory://manifest_contention");
  mw_manifest_store *ms = open_ms(s, SHARD_A, 2);
  const char *shard = mw_manifest_store_shard_str(ms);
  uint64_t total_ok = 0, max_epoch = 0;
  for (int round = 0; round < 6; round++) {
    claimer cs[N_CLAIMERS];
    pthread_t th[N_CLAIMERS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, N_CLAIMERS);
    memset(cs, 0, sizeof cs);
    for (int i = 0; i < N_CLAIMERS; i++) {
      cs[i].store = s;
      cs[i].barrier = &barrier;
      pthread_create(&th[i], NULL, claimer_main, &cs[i]);
    }
    for (int i = 0; i < N_CLAIMERS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    int ok = 0;
    uint64_t max_round_start = max_epoch;
    for (int i = 0; i < N_CLAIMERS; i++) {
      if (cs[i].status == MW_OK) {
        ok++;
        total_ok++;
        /* Epochs handed out in this round are new: above every earlier round. */
        CHECK(cs[i].epoch > max_round_start);
        CHECK(cs[i].epoch == cs[i].version);
        CHECK_INT(cs[i].prev + 1, cs[i].epoch);
        if (cs[i].epoch > max_epoch) max_epoch = cs[i].epoch;
        for (int j = 0; j < i; j++)
          if (cs[j].status == MW_OK) {
            CHECK(cs[i].epoch != cs[j].epoch);
            CHECK(cs[i].version != cs[j].version);
          }
      } else {
        /* Clean failures only, with a message. */
        CHECK(cs[i].status == MW_ERR_FENCED || cs[i].status == MW_ERR_CONFLICT);
        CHECK(cs[i].err.message[0] != '\0');
        if (cs[i].status == MW_ERR_FENCED)
          CHECK(strstr(cs[i].err.message, "claimed by another writer (epoch ") != NULL);
      }
    }
    CHECK(ok >= 1);
    fprintf(stderr, "contention round %d: %d of %d claims won\n", round, ok, N_CLAIMERS);
    /* Dense versions 1..N, nothing beyond; only claims wrote, so each
     * version's epoch is its number and the final epoch is the highest one
     * handed out. */
    uint64_t last = latest_version(ms);
    CHECK_INT(last, total_ok);
    for (uint64_t v = 1; v <= last; v++) {
      mw_shard_manifest *m = NULL;
      CHECK_OK(mw_manifest_store_read_version(&m, ms, v, NULL), (mw_error *)NULL);
      CHECK_INT(m ? m->writer_epoch : 0, v);
      mw_shard_manifest_free(m);
    }
    CHECK(!version_exists(s, shard, last + 1));
    mw_shard_manifest *m = NULL;
    mw_manifest_store_read_latest(&m, ms, NULL);
    CHECK_INT(m ? m->writer_epoch : 0, max_epoch);
    mw_shard_manifest_free(m);
  }
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
}

/* ----------------------------------------------------------- faults */

/* Checks the stored versions are dense 1..L, all decodable with matching
 * version fields and non-decreasing epochs; returns L and the last epoch. */
static void check_versions(mw_objstore *inner, uint64_t *out_last, uint64_t *out_epoch) {
  mw_manifest_store *ms = open_ms(inner, SHARD_A, 2);
  const char *shard = mw_manifest_store_shard_str(ms);
  uint64_t v = 1, epoch = 0;
  for (;; v++) {
    mw_shard_manifest *m = NULL;
    mw_error e_ = {0}, *err = &e_;
    mw_status s = mw_manifest_store_read_version(&m, ms, v, err);
    if (s == MW_ERR_NOT_FOUND) break;
    CHECK_OK(s, err);
    if (!m) break;
    CHECK(m->writer_epoch >= epoch);
    epoch = m->writer_epoch;
    mw_shard_manifest_free(m);
  }
  *out_last = v - 1;
  *out_epoch = epoch;
  CHECK(!version_exists(inner, shard, v + 1));
  mw_manifest_store_close(ms);
}

static void test_claim_faults(void) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *inner = open_store("memory://manifest_faults");
  mw_objstore *s = NULL;
  CHECK_OK(mw_objstore_fault_new(&s, inner, err), err);
  mw_manifest_store *ms = open_ms(s, SHARD_A, 2);
  mw_shard_manifest *m = NULL;
  uint64_t prev;
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err);
  mw_shard_manifest_free(m);
  CHECK_OK(mw_manifest_store_advance_last_seen(ms, 4, NULL, err), err);
  /* How many store calls a clean claim makes. */
  mw_objstore_fault_reset_counters(s);
  CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err);
  mw_shard_manifest_free(m);
  uint64_t calls = mw_objstore_fault_calls(s, 0);
  CHECK(calls >= 6);
  uint64_t last = 0, epoch = 0;
  check_versions(inner, &last, &epoch);
  CHECK_INT(last, 3);
  CHECK_INT(epoch, 2);
  const mw_fault_kind kinds[] = {MW_FAULT_ERROR, MW_FAULT_WROTE_ERROR};
  const mw_fault_mode modes[] = {MW_FAULT_ONCE, MW_FAULT_PERSISTENT};
  int failures = 0, successes = 0;
  for (size_t k = 0; k < 2; k++)
    for (size_t md = 0; md < 2; md++)
      for (uint64_t nth = 1; nth <= calls + 1; nth++) {
        mw_fault_spec spec = {.ops = MW_FAULT_ALL, .nth = nth, .kind = kinds[k], .mode = modes[md]};
        CHECK_OK(mw_objstore_fault_arm(s, &spec, err), err);
        mw_status st = mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err);
        mw_objstore_fault_reset(s);
        if (st == MW_OK) {
          successes++;
          CHECK_INT(m->writer_epoch, epoch + 1);
          CHECK_INT(prev, epoch);
          mw_shard_manifest_free(m);
        } else {
          failures++;
          CHECK(m == NULL);
          /* A version write that failed and could not be read back (the
           * read fails too) has an unknown outcome: POISONED, never OK. */
          int ok = st == MW_ERR_IO || (st == MW_ERR_POISONED && modes[md] == MW_FAULT_PERSISTENT &&
                                       strstr(err->message, "reading it back failed") != NULL);
          if (!ok) fprintf(stderr, "kind %zu mode %zu nth %" PRIu64 ": %s: %s\n", k, md, nth,
                           mw_status_str(st), err->message);
          CHECK(ok);
          CHECK(strstr(err->message, "injected fault") != NULL);
        }
        uint64_t nlast = 0, nepoch = 0;
        check_versions(inner, &nlast, &nepoch);
        CHECK(nlast >= last);
        CHECK(nepoch >= epoch);
        CHECK(nlast <= last + 1);
        if (st == MW_OK) CHECK_INT(nlast, last + 1);
        last = nlast;
        epoch = nepoch;
        /* A later claim succeeds on top of whatever happened. */
        CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, err), err);
        CHECK_INT(m ? m->writer_epoch : 0, epoch + 1);
        CHECK_INT(m ? m->version : 0, last + 1);
        mw_shard_manifest_free(m);
        last++;
        epoch++;
      }
  CHECK(failures > 0);
  CHECK(successes > 0); /* hint write failures do not fail a claim */
  CHECK(mw_manifest_store_hint_failures(ms) > 0);
  mw_manifest_store_close(ms);
  mw_objstore_close(s);
  mw_objstore_close(inner);
}

/* ------------------------------------------------- durability truth */

/* A manifest version that became visible but whose fsync failed is never a
 * successful claim or commit: MW_ERR_POISONED (the caller may assume
 * neither outcome). On memory:// and file:// inner stores, both kinds. */
static void manifest_fsync_on(const char *uri, mw_fault_kind kind) {
  mw_error e_ = {0}, *err = &e_;
  mw_objstore *inner = open_store(uri), *f = NULL;
  CHECK_OK(mw_objstore_fault_new(&f, inner, err), err);
  mw_manifest_store *ms = open_ms(f, SHARD_A, 0);
  mw_shard_manifest *m = NULL;
  uint64_t prev = 0;
  char dir[MW_KEY_SIZE];
  mw_manifest_dir_prefix(dir, "01020304-0506-4708-890a-0b0c0d0e0f10");
  mw_fault_spec spec = {.ops = MW_FAULT_PUT_IF_ABSENT, .key_prefix = dir, .nth = 1, .kind = kind,
                        .mode = MW_FAULT_ONCE};
  /* claim_epoch of a new shard: version 1 visible, not acknowledged */
  CHECK_OK(mw_objstore_fault_arm(f, &spec, err), err);
  mw_error e = {0};
  CHECK_INT(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, &e), MW_ERR_POISONED);
  CHECK(m == NULL);
  CHECK(strstr(e.message, "became visible") != NULL);
  CHECK(strstr(e.message, "manifest version 1") != NULL);
  CHECK(version_exists(inner, "01020304-0506-4708-890a-0b0c0d0e0f10", 1));
  /* commit_update on top of it: version 2 the same */
  CHECK_OK(mw_objstore_fault_arm(f, &spec, err), err);
  add_gen a = {0};
  mw_error e2 = {0};
  CHECK_INT(mw_manifest_store_commit_update(&m, ms, 1, mutate_add_gen, &a, &e2), MW_ERR_POISONED);
  CHECK(m == NULL);
  CHECK_INT(a.calls, 1); /* not retried as a lost race at version 3 */
  CHECK(strstr(e2.message, "became visible") != NULL);
  CHECK(version_exists(inner, "01020304-0506-4708-890a-0b0c0d0e0f10", 2));
  CHECK(!version_exists(inner, "01020304-0506-4708-890a-0b0c0d0e0f10", 3));
  /* With nothing armed, a commit goes on at version 3. */
  mw_objstore_fault_reset(f);
  CHECK_OK(mw_manifest_store_commit_update(&m, ms, 1, mutate_add_gen, &a, err), err);
  CHECK_INT(m ? m->version : 0, 3);
  mw_shard_manifest_free(m);
  mw_manifest_store_close(ms);
  mw_objstore_close(f);
  mw_objstore_close(inner);
}

static void test_manifest_fsync_after_visible(void) {
  const mw_fault_kind kinds[] = {MW_FAULT_FSYNC_FILE_AFTER_VISIBLE, MW_FAULT_FSYNC_DIR_AFTER_VISIBLE};
  for (int k = 0; k < 2; k++) {
    char name[64], dir[128], uri[160];
    snprintf(name, sizeof name, "memory://manifest_fsync_%d", k);
    manifest_fsync_on(name, kinds[k]);
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%.60s/mw_test_manifest_fsync_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) abort();
    snprintf(uri, sizeof uri, "file://%s", dir);
    manifest_fsync_on(uri, kinds[k]);
    remove_dir(dir);
  }
}

/* WROTE_ERROR on a version write settles to a successful commit only on a
 * store declaring visible-implies-durable (memory:// and a custom store
 * declaring it); a custom store declaring nothing (first vtable layout, or
 * flags 0) gives MW_ERR_POISONED. */
static void test_manifest_wrote_error_by_store(void) {
  for (int variant = 0; variant < 4; variant++) {
    char uri[64];
    snprintf(uri, sizeof uri, "memory://manifest_wrote_%d", variant);
    mw_objstore *inner = open_store(uri), *f = NULL, *via = NULL;
    mw_error e = {0};
    CHECK_OK(mw_objstore_fault_new(&f, inner, &e), &e);
    mw_status want = MW_ERR_POISONED;
    if (variant == 0) {
      via = f;
      want = MW_OK;
    } else if (variant == 1) {
      via = fwd_store_new(f, FWD_LAYOUT_V1, 0);
    } else if (variant == 2) {
      via = fwd_store_new(f, FWD_LAYOUT_CURRENT, 0);
    } else {
      via = fwd_store_new(f, FWD_LAYOUT_CURRENT, MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE);
      want = MW_OK;
    }
    mw_manifest_store *ms = open_ms(via, SHARD_A, 0);
    mw_shard_manifest *m = NULL;
    uint64_t prev = 0;
    CHECK_OK(mw_manifest_store_claim_epoch(&m, &prev, ms, 0, &e), &e);
    mw_shard_manifest_free(m);
    m = NULL;
    char dir[MW_KEY_SIZE];
    mw_manifest_dir_prefix(dir, "01020304-0506-4708-890a-0b0c0d0e0f10");
    mw_fault_spec spec = {.ops = MW_FAULT_PUT_IF_ABSENT, .key_prefix = dir, .nth = 1,
                          .kind = MW_FAULT_WROTE_ERROR, .mode = MW_FAULT_ONCE};
    CHECK_OK(mw_objstore_fault_arm(f, &spec, &e), &e);
    mw_status st = mw_manifest_store_claim_epoch(&m, &prev, ms, 0, &e);
    CHECK_INT(st, want);
    if (st == MW_OK) {
      CHECK_INT(m ? m->writer_epoch : 0, 2);
      CHECK_INT(m ? m->version : 0, 2);
    } else {
      CHECK(strstr(e.message, "outcome unknown") != NULL);
    }
    mw_shard_manifest_free(m);
    CHECK(version_exists(inner, "01020304-0506-4708-890a-0b0c0d0e0f10", 2));
    CHECK(!version_exists(inner, "01020304-0506-4708-890a-0b0c0d0e0f10", 3));
    mw_manifest_store_close(ms);
    if (via != f) mw_objstore_close(via);
    mw_objstore_close(f);
    mw_objstore_close(inner);
  }
}

int main(void) {
  MW_RUN(test_fixture_read_latest);
  MW_RUN(test_fixture_reencode_identical);
  MW_RUN(test_fixture_claim);
  MW_RUN(test_hint_scenarios);
  MW_RUN(test_claim_new_shard);
  MW_RUN(test_claim_sealed);
  MW_RUN(test_claim_after_cursor_update);
  MW_RUN(test_check_fenced);
  MW_RUN(test_commit_update);
  MW_RUN(test_claim_races);
  MW_RUN(test_unknown_fields_survive);
  MW_RUN(test_decode_hostile);
  MW_RUN(test_json_and_helpers);
  MW_RUN(test_claim_contention);
  MW_RUN(test_claim_faults);
  MW_RUN(test_manifest_fsync_after_visible);
  MW_RUN(test_manifest_wrote_error_by_store);
  return mw_test_finish();
}
