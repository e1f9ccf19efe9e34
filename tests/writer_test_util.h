/* writer_test_util.h - helpers shared by the ShardWriter test suites
 * (shard_writer_suite.h, memtable_flush_suite.h): the test schema and
 * batches, a silent logger, a MemTable scan collecting ids, and the store
 * base every test of a suite opens its stores under (memory://, a local
 * folder / file:// or s3://), so one suite runs unchanged on each store. */
#ifndef MW_WRITER_TEST_UTIL_H
#define MW_WRITER_TEST_UTIL_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "mw_test.h"

/* ------------------------------------------------------------ test data */

/* Schema: id int64 not null (the primary key when with_pk), name utf8. */
static void make_schema_pk(struct ArrowSchema *s, bool with_pk) {
  mw_kv pk = {"lance-schema:unenforced-primary-key:position", 44, "1", 1};
  bool ok = true;
  char *meta = with_pk ? mw_metadata_build(&pk, 1, &ok) : NULL;
  mw_error e = {0};
  mw_schema_init(s, "+s", "", NULL, 0, 2, &e);
  mw_schema_init(s->children[0], "l", "id", meta, 0, 0, &e);
  mw_schema_init(s->children[1], "u", "name", NULL, ARROW_FLAG_NULLABLE, 0, &e);
  free(meta);
}

static void make_schema(struct ArrowSchema *s) { make_schema_pk(s, true); }

typedef struct tbatch {
  struct ArrowArray top, id, name;
  struct ArrowArray *kids[2];
  const void *tb[1], *ib[2], *nb[3];
  int64_t *ids;
  int32_t *offs;
  char *chars;
} tbatch;

static void tb_child_release(struct ArrowArray *a) { a->release = NULL; }
static void tb_release(struct ArrowArray *a) {
  tbatch *b = a->private_data;
  free(b->ids);
  free(b->offs);
  free(b->chars);
  free(b);
  a->release = NULL;
}

/* n rows with the given ids; names[i], or "n<id>" when names is NULL. */
static struct ArrowArray make_rows(const int64_t *ids, const char *const *names, int64_t n) {
  tbatch *b = calloc(1, sizeof *b);
  b->ids = malloc((size_t)n * 8 + 8);
  b->offs = malloc(((size_t)n + 1) * 4);
  size_t cap = (size_t)n * 24 + 1;
  for (int64_t i = 0; names && i < n; i++) cap += strlen(names[i]);
  b->chars = malloc(cap);
  int32_t off = 0;
  for (int64_t i = 0; i < n; i++) {
    b->ids[i] = ids[i];
    b->offs[i] = off;
    if (names) off += sprintf(b->chars + off, "%s", names[i]);
    else off += sprintf(b->chars + off, "n%" PRId64, ids[i]);
  }
  b->offs[n] = off;
  b->ib[0] = NULL; b->ib[1] = b->ids;
  b->nb[0] = NULL; b->nb[1] = b->offs; b->nb[2] = b->chars;
  b->id = (struct ArrowArray){n, 0, 0, 2, 0, b->ib, NULL, NULL, tb_child_release, NULL};
  b->name = (struct ArrowArray){n, 0, 0, 3, 0, b->nb, NULL, NULL, tb_child_release, NULL};
  b->kids[0] = &b->id;
  b->kids[1] = &b->name;
  b->tb[0] = NULL;
  b->top = (struct ArrowArray){n, 0, 0, 1, 2, b->tb, b->kids, NULL, tb_release, b};
  return b->top;
}

/* rows ids first..first+n-1, names "n<id>". */
static struct ArrowArray make_batch(int64_t first, int64_t n) {
  int64_t *ids = calloc((size_t)n + 1, 8); /* zeroed: gcc -O2 otherwise sees n = 0 as uninitialized */
  for (int64_t i = 0; i < n; i++) ids[i] = first + i;
  struct ArrowArray a = make_rows(ids, NULL, n);
  free(ids);
  return a;
}

static void quiet_log(void *arg, mw_log_level level, const char *msg) {
  (void)arg;
  (void)level;
  (void)msg; /* fault tests provoke many expected errors */
}

/* Collects the ids a MemTable scan returns (filter f may be NULL). */
static size_t scan_ids(mw_shard_writer *w, const mw_scan_filter *f, int64_t *ids, size_t cap) {
  struct ArrowArrayStream st;
  mw_error e = {0};
  size_t n = 0;
  if (mw_shard_writer_scan(&st, w, NULL, 0, f, &e) != MW_OK) {
    fprintf(stderr, "scan: %s\n", e.message);
    return 0;
  }
  for (;;) {
    struct ArrowArray a;
    if (st.get_next(&st, &a) != 0 || !a.release) break;
    const struct ArrowArray *col = a.children[0];
    const int64_t *v = col->buffers[1];
    for (int64_t i = 0; i < a.length && n < cap; i++) ids[n++] = v[col->offset + a.offset + i];
    a.release(&a);
  }
  st.release(&st);
  return n;
}

/* ------------------------------------------------------------ the store */

/* The store every test runs on: wt_base + a name of the test's own.
 * "memory://" gives memory://NAME; "/tmp/x/" or "s3://bucket/prefix/" give
 * a folder / key prefix under the base. wt_set_base() sets it. */
static char wt_base[640];
static int wt_is_memory, wt_is_s3;

static inline void wt_set_base(const char *base) {
  snprintf(wt_base, sizeof wt_base, "%s", base);
  wt_is_memory = strncmp(base, "memory://", 9) == 0;
  wt_is_s3 = strncmp(base, "s3://", 5) == 0;
}

static inline void wt_uri(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s%s", wt_base, name); }

static inline mw_objstore *wt_store(const char *name) {
  mw_objstore *s = NULL;
  char uri[800];
  wt_uri(uri, sizeof uri, name);
  mw_error e = {0};
  if (mw_objstore_open(&s, uri, NULL, &e) != MW_OK) {
    fprintf(stderr, "open %s: %s\n", uri, e.message);
    abort();
  }
  return s;
}

/* Runs a suite on memory:// and then on file:// in a fresh folder made from
 * the mkdtemp template `tmpl` (removed afterwards); mw_test_finish()'s
 * status, or 1 when the folder cannot be made. */
static inline int wt_run_local(void (*suite)(const char *base), const char *tmpl) {
  suite("memory://");
  char root[64];
  snprintf(root, sizeof root, "%s", tmpl);
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  char base[128];
  snprintf(base, sizeof base, "file://%s/", root);
  suite(base);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  CHECK_INT(system(cmd), 0);
  return mw_test_finish();
}

#endif /* MW_WRITER_TEST_UTIL_H */
