/* store_test_util.h - fixture and object-store helpers shared by the WAL,
 * manifest, bloom and pk-index tests: the Lance 12 fixture's paths, read a
 * file whole, open a store or abort (a test cannot go on without it), copy
 * the fixture's _mem_wal/ into a writable store (the shared folder is
 * read-only), remove a temp folder. Include after mw_test.h (the copy and
 * the removal are checks of their own). */
#ifndef MW_STORE_TEST_UTIL_H
#define MW_STORE_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/buf.h"
#include "memwal.h"
#include "memwal_sys.h"

#define FIXTURE MW_SHARED_DIR "/fixtures/lance12_reference_table.lance"
#define FIX_SHARD "aa48498d-ac91-59e2-8452-69f46010ace2"
#define FIX_SHARD_DIR FIXTURE "/_mem_wal/" FIX_SHARD

/* The whole file, malloc'd (free()), or NULL when it cannot be opened. */
static inline uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  mw_buf b;
  mw_buf_init(&b);
  for (;;) {
    mw_buf_reserve(&b, 65536);
    size_t n = fread(b.data + b.len, 1, b.cap - b.len, f);
    b.len += n;
    if (!n) break;
  }
  fclose(f);
  return mw_buf_take(&b, len);
}

static inline mw_objstore *open_store(const char *uri) {
  mw_objstore *s = NULL;
  mw_error e = {0};
  if (mw_objstore_open(&s, uri, NULL, &e) != MW_OK) {
    fprintf(stderr, "open %s: %s\n", uri, e.message);
    abort();
  }
  return s;
}

typedef struct copy_ctx {
  mw_objstore *from, *to;
  int failed;
} copy_ctx;

static inline int copy_one(void *arg, const char *key, uint64_t size) {
  copy_ctx *c = arg;
  uint8_t *d = NULL;
  size_t n = 0;
  if (mw_objstore_get(c->from, &d, &n, key, 0, MW_OBJSTORE_TO_END, NULL) != MW_OK ||
      mw_objstore_put(c->to, key, d, n, NULL) != MW_OK || n != size)
    c->failed = 1;
  mw_free(d);
  return 0;
}

/* Copies every object under _mem_wal/ of the fixture into `to`. */
static inline void copy_fixture_mem_wal(mw_objstore *to) {
  mw_objstore *from = open_store(FIXTURE);
  copy_ctx c = {from, to, 0};
  mw_error e_ = {0}, *err = &e_;
  CHECK_OK(mw_objstore_list(from, "_mem_wal/", copy_one, &c, err), err);
  CHECK_INT(c.failed, 0);
  mw_objstore_close(from);
}

static inline void remove_dir(const char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK_INT(system(cmd), 0);
}

#endif /* MW_STORE_TEST_UTIL_H */
