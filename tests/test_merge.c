/* test_merge.c - the merger (src/table/merge.c, merge_read.c).
 *
 * Pieces: portable roaring bitmaps (round trips over array and bitmap
 * containers, a hand-made run container, every truncation and random byte
 * flips fail cleanly, values beyond the fragment refused), Arrow IPC file
 * deletion files (arrow-rs's 64-byte header padding, uint32 and int32
 * columns, truncations), manifests with flipped bytes (never a crash).
 *
 * Merging, on a table built in a memory store (mw_table_create, spec
 * bucket(id, 2), the table writer: generation 1 puts ids 0..99, generation
 * 2 overwrites 50..149 with id 60 twice in the input, generation 3 deletes
 * 0..9, 140 and a key never written): an independent reader of the table
 * (fragments + deletion files for the base-only view; plus the unmerged
 * generations, newest wins, for the LSM view) shows every key once with its
 * newest value after merging; --up-to and the shard filter merge only what
 * they name; a rerun is a no-op. Failure safety: with the fault-injecting
 * store failing the merge's nth write (an error before, an error after the
 * write landed, a crash), for every n, the table still reads right (LSM
 * view = expected, no key twice) and a rerun without faults finishes the
 * job (base-only view = expected). A real merger process (fork) on a
 * file:// table killed with SIGKILL at seeded random times, until kills
 * have landed before the first write, after a deletion file, after the
 * data copy, between the .txn and the manifest put and between
 * generations: after each kill the LSM view is right, the base-only view
 * is exactly the generations the watermark covers (one version per merged
 * generation), and a rerun finishes the job. Two mergers racing on one table commit
 * each generation exactly once; a commit that loses the race (made
 * deterministic by a store that lets another merger commit first) skips a
 * generation the other merged and rebases otherwise, leaving no files of
 * the lost attempt. Tables with stable row ids, overlays or unknown feature
 * flags are refused before anything is written.
 *
 * Garbage collection (src/table/gc.c), on copies of the table in memory://
 * and file://: generations are kept while not merged, while the version
 * before the merge is retained, while an FTS index has not caught up (index
 * catch-up committed by hand); dry runs change nothing; after the old
 * versions go (as LanceDB's cleanup does) gc removes them, both views stay
 * right and a rerun does nothing; a fault at every store call of gc (four
 * kinds) leaves the table readable and a rerun finishes; a stale writer
 * (older epoch, kept open while a newer one writes, flushes, merges and gc
 * runs) is still fenced on its next put, nothing acknowledged is lost
 * (this fails when gc deletes every entry below the replay cursor); with an
 * incomplete shard manifest history gc writes placeholders (no batch, the
 * original epoch) and deletes no WAL entry; writers reopened after gc
 * replay and flush; gc looping beside a writer and a merger never fails. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrow/c_data.h"
#include "common/uuid.h"
#include "lance/lance_read.h"
#include "lance/table_manifest.h"
#include "lance/table_manifest_write.h"
#include "manifest/manifest_store.h"
#include "manifest/shard_manifest.h"
#include "objstore/objstore.h"
#include "objstore/objstore_fault.h"
#include "table/merge.h"
#include "table/table.h"
#include "wal/wal_internal.h"
#include "wal/wal_names.h"
#include "writer_test_util.h"

/* ------------------------------------------------------------- roaring */

static bool same_set(const mw_rowset *a, const uint32_t *v, size_t n) {
  if (a->n != n) return false;
  for (size_t i = 0; i < n; i++)
    if (a->v[i] != v[i]) return false;
  return true;
}

static void roundtrip(const uint32_t *v, size_t n) {
  mw_rowset s = {0};
  mw_error e = {0};
  for (size_t i = 0; i < n; i++) mw_rowset_add(&s, v[i], &e);
  mw_rowset_normalize(&s);
  uint8_t *bytes = NULL;
  size_t len = 0;
  CHECK_OK(mw_roaring_encode(&bytes, &len, &s, &e), &e);
  mw_rowset d = {0};
  CHECK_OK(mw_roaring_decode(&d, bytes, len, UINT64_MAX, "t", &e), &e);
  CHECK(same_set(&d, s.v, s.n));
  mw_rowset_free(&d);
  /* every truncation fails cleanly */
  int bad = 0;
  for (size_t l = 0; l < len; l++) {
    uint8_t *cut = malloc(l ? l : 1);
    memcpy(cut, bytes, l);
    if (mw_roaring_decode(&d, cut, l, UINT64_MAX, "t", NULL) != MW_ERR_CORRUPT) bad++;
    mw_rowset_free(&d);
    free(cut);
  }
  CHECK_INT(bad, 0);
  /* a limit below the largest value is refused */
  if (s.n) CHECK_INT(mw_roaring_decode(&d, bytes, len, s.v[s.n - 1], "t", NULL), MW_ERR_CORRUPT);
  /* random byte flips: OK or CORRUPT, never a crash (ASan) */
  uint64_t seed = 12345;
  for (int k = 0; k < 300 && len; k++) {
    uint8_t *f = malloc(len);
    memcpy(f, bytes, len);
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    f[(seed >> 33) % len] ^= (uint8_t)(1u << ((seed >> 20) % 8));
    mw_status st = mw_roaring_decode(&d, f, len, 1u << 20, "t", NULL);
    CHECK(st == MW_OK || st == MW_ERR_CORRUPT);
    mw_rowset_free(&d);
    free(f);
  }
  free(bytes);
  mw_rowset_free(&s);
}

static void test_roaring(void) {
  roundtrip(NULL, 0);
  uint32_t one[] = {0};
  roundtrip(one, 1);
  uint32_t spread[] = {1, 2, 3, 65535, 65536, 200000, 4000000000u};
  roundtrip(spread, 7);
  static uint32_t dense[6000]; /* a bitmap container (> 4096 values) and an array one */
  for (int i = 0; i < 5000; i++) dense[i] = 70000 + (uint32_t)i;
  for (int i = 5000; i < 6000; i++) dense[i] = 300000 + 3 * (uint32_t)i;
  roundtrip(dense, 6000);

  /* a run container as CRoaring writes it: cookie 12347 | (size - 1) << 16,
   * run bitmap, header (key, card - 1), no offsets below 4 containers */
  uint8_t run[] = {0x3b, 0x30, 0x00, 0x00, 0x01, 0x00, 0x00, 0x09, 0x00,
                   0x02, 0x00, 0x03, 0x00, 0x04, 0x00, 0x64, 0x00, 0x04, 0x00};
  mw_rowset d = {0};
  mw_error e = {0};
  CHECK_OK(mw_roaring_decode(&d, run, sizeof run, 1000, "run", &e), &e);
  uint32_t want[] = {3, 4, 5, 6, 7, 100, 101, 102, 103, 104};
  CHECK(same_set(&d, want, 10));
  mw_rowset_free(&d);
  CHECK_INT(mw_roaring_decode(&d, run, sizeof run, 104, "run", &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "not below 104") != NULL);
  uint8_t bad_cookie[] = {1, 2, 3, 4, 0, 0, 0, 0};
  CHECK_INT(mw_roaring_decode(&d, bad_cookie, sizeof bad_cookie, 10, "c", &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "cookie") != NULL);
}

/* ------------------------------------------------- arrow deletion files */

static void noop_release(struct ArrowArray *a) { a->release = NULL; }

static uint8_t *arrow_file(size_t *out_len, const char *format, const void *vals, int64_t n) {
  struct ArrowSchema s;
  mw_error e = {0};
  mw_schema_init(&s, "+s", "", NULL, 0, 1, &e);
  mw_schema_init(s.children[0], format, "row_id", NULL, 0, 0, &e);
  const void *cb[2] = {NULL, vals};
  struct ArrowArray child = {n, 0, 0, 2, 0, cb, NULL, NULL, noop_release, NULL};
  struct ArrowArray *kids[1] = {&child};
  const void *tb[1] = {NULL};
  struct ArrowArray top = {n, 0, 0, 1, 1, tb, kids, NULL, noop_release, NULL};
  const struct ArrowArray *batches[1] = {&top};
  void *stream = NULL;
  size_t sl = 0;
  CHECK_OK(mw_ipc_encode(&stream, &sl, &s, batches, 1, NULL, &e), &e);
  mw_schema_release(&s);
  /* "ARROW1", zero padding to 64 (arrow-rs), the stream, a footer, its size, "ARROW1" */
  size_t len = 64 + sl + 16 + 4 + 6;
  uint8_t *f = calloc(1, len);
  memcpy(f, "ARROW1", 6);
  memcpy(f + 64, stream, sl);
  memset(f + 64 + sl, 0xAB, 16);
  f[64 + sl + 16] = 16;
  memcpy(f + len - 6, "ARROW1", 6);
  mw_free(stream);
  *out_len = len;
  return f;
}

static void test_arrow_deletions(void) {
  uint32_t u[] = {7, 1, 5};
  size_t len;
  uint8_t *f = arrow_file(&len, "I", u, 3);
  mw_rowset d = {0};
  mw_error e = {0};
  CHECK_OK(mw_deletion_arrow_decode(&d, f, len, 10, "u32", &e), &e);
  uint32_t want[] = {1, 5, 7};
  CHECK(same_set(&d, want, 3));
  mw_rowset_free(&d);
  CHECK_INT(mw_deletion_arrow_decode(&d, f, len, 7, "u32", &e), MW_ERR_CORRUPT);
  int bad = 0;
  for (size_t l = 0; l < len; l++)
    if (mw_deletion_arrow_decode(&d, f, l, 10, "cut", NULL) == MW_OK) bad++;
  CHECK_INT(bad, 0);
  free(f);
  int32_t neg[] = {2, -1};
  f = arrow_file(&len, "i", neg, 2);
  CHECK_INT(mw_deletion_arrow_decode(&d, f, len, 10, "i32", &e), MW_ERR_CORRUPT);
  free(f);
  int32_t ok[] = {4, 2, 4};
  f = arrow_file(&len, "i", ok, 3);
  CHECK_OK(mw_deletion_arrow_decode(&d, f, len, 10, "i32", &e), &e);
  uint32_t want2[] = {2, 4};
  CHECK(same_set(&d, want2, 2));
  mw_rowset_free(&d);
  free(f);
  const char *str = "utf8";
  int32_t offs[] = {0, 4};
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 1, &e);
  mw_schema_init(s.children[0], "u", "row_id", NULL, 0, 0, &e);
  const void *cb[3] = {NULL, offs, str};
  struct ArrowArray child = {1, 0, 0, 3, 0, cb, NULL, NULL, noop_release, NULL};
  struct ArrowArray *kids[1] = {&child};
  const void *tb[1] = {NULL};
  struct ArrowArray top = {1, 0, 0, 1, 1, tb, kids, NULL, noop_release, NULL};
  const struct ArrowArray *batches[1] = {&top};
  void *stream = NULL;
  size_t sl = 0;
  CHECK_OK(mw_ipc_encode(&stream, &sl, &s, batches, 1, NULL, &e), &e);
  CHECK_INT(mw_deletion_arrow_decode(&d, stream, sl, 10, "strings", &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "integer column") != NULL);
  mw_free(stream);
  mw_schema_release(&s);
}

/* ----------------------------------------------------------- the table */

#define MAXID 1100

typedef struct view {
  bool has[MAXID];
  char name[MAXID][16];
  int dups, bad;
} view;

static char expect_name[MAXID][16];
static bool expect_has[MAXID];

/* Applies the rows of a Lance data file (id, name[, _tombstone]) minus
 * `del`: base rows must be unique (dups counted), generation rows apply in
 * order (tombstones delete). */
static void apply_file(view *v, mw_objstore *s, const char *key, const mw_rowset *del, bool gen) {
  mw_lance_reader *r = NULL;
  mw_error e = {0};
  CHECK_OK(mw_lance_reader_open_store(&r, s, key, &e), &e);
  if (!r) {
    v->bad++;
    return;
  }
  const char *cols[] = {"id", "name", "_tombstone"};
  struct ArrowSchema sch;
  struct ArrowArray b;
  if (mw_lance_reader_read(&sch, &b, r, cols, gen ? 3 : 2, 0, UINT64_MAX, &e) != MW_OK) {
    fprintf(stderr, "read %s: %s\n", key, e.message);
    v->bad++;
    mw_lance_reader_free(r);
    return;
  }
  const struct ArrowArray *ida = b.children[0], *na = b.children[1];
  const int64_t *ids = ida->buffers[1];
  const int32_t *offs = na->buffers[1];
  const char *chars = na->buffers[2];
  for (int64_t i = 0; i < b.length; i++) {
    if (mw_rowset_has(del, (uint32_t)i)) continue;
    int64_t id = ids[ida->offset + i];
    if (id < 0 || id >= MAXID) {
      v->bad++;
      continue;
    }
    bool tomb = gen && mw_bit_get(b.children[2]->buffers[1], b.children[2]->offset + i);
    if (tomb) {
      v->has[id] = false;
      continue;
    }
    if (!gen && v->has[id]) v->dups++;
    v->has[id] = true;
    int64_t p = na->offset + i;
    int32_t n = offs[p + 1] - offs[p];
    snprintf(v->name[id], sizeof v->name[id], "%.*s", n < 15 ? n : 15, chars + offs[p]);
  }
  b.release(&b);
  sch.release(&sch);
  mw_lance_reader_free(r);
}

static uint64_t wm_of(const mw_table *t, const uint8_t shard[16]) {
  uint64_t w = 0;
  for (size_t i = 0; t->mem_wal && i < t->mem_wal->n_compacted_sstables; i++) {
    const Lance__Table__CompactedSsTableProto *c = t->mem_wal->compacted_sstables[i];
    if (c->shard_id && c->shard_id->uuid.len == 16 && memcmp(c->shard_id->uuid.data, shard, 16) == 0) w = c->generation;
  }
  return w;
}

/* The table as a reader sees it: the base (fragments minus deletion files)
 * and, with lsm, the generations above each shard's watermark. */
/* Applies generation g of shard `sid` (its data file minus its deletion
 * file) to v. Returns false when the shard manifest lists no generation g
 * or its manifest is absent (*listed says which). */
static bool apply_generation(view *v, mw_objstore *s, const mw_shard_manifest *sm, const char *sid, uint64_t g,
                             bool *listed) {
  mw_error e = {0};
  const mw_flushed_generation *fg = NULL;
  for (size_t k = 0; k < sm->n_flushed_generations; k++)
    if (sm->flushed_generations[k]->generation == g) fg = sm->flushed_generations[k];
  *listed = fg != NULL;
  if (!fg) return false;
  char prefix[256], key[512];
  snprintf(prefix, sizeof prefix, "_mem_wal/%s/%s", sid, fg->path);
  mw_merge_manifest *gm = NULL;
  CHECK_OK(mw_merge_manifest_read(&gm, s, prefix, 1, &e), &e);
  if (!gm) return false;
  mw_rowset del = {0};
  CHECK_OK(mw_merge_read_deletions(&del, s, prefix, &gm->frags[0], &e), &e);
  snprintf(key, sizeof key, "%s/data/%s", prefix, gm->frags[0].files[0].path);
  apply_file(v, s, key, &del, true);
  mw_rowset_free(&del);
  mw_merge_manifest_free(gm);
  return true;
}

static void read_view(view *v, mw_objstore *s, bool lsm) {
  memset(v, 0, sizeof *v);
  mw_table *t = NULL;
  mw_error e = {0};
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (!t) {
    v->bad++;
    return;
  }
  mw_merge_manifest *m = NULL;
  CHECK_OK(mw_merge_manifest_read(&m, s, "", t->version, &e), &e);
  for (size_t i = 0; m && i < m->n_frags; i++) {
    mw_rowset del = {0};
    CHECK_OK(mw_merge_read_deletions(&del, s, "", &m->frags[i], &e), &e);
    char key[256];
    snprintf(key, sizeof key, "data/%s", m->frags[i].files[0].path);
    apply_file(v, s, key, &del, false);
    mw_rowset_free(&del);
  }
  mw_merge_manifest_free(m);
  for (size_t si = 0; lsm && si < t->n_shards; si++) {
    mw_manifest_store *ms = NULL;
    mw_shard_manifest *sm = NULL;
    CHECK_OK(mw_manifest_store_open(&ms, s, t->shards[si], 0, &e), &e);
    CHECK_OK(mw_manifest_store_read_latest(&sm, ms, &e), &e);
    uint64_t wm = wm_of(t, t->shards[si]);
    char sid[MW_UUID_STR_LEN + 1];
    mw_uuid_format(sid, t->shards[si]);
    bool listed = false;
    for (uint64_t g = wm + 1; sm && apply_generation(v, s, sm, sid, g, &listed); g++) { /* ascending */
    }
    mw_shard_manifest_free(sm);
    mw_manifest_store_close(ms);
  }
  mw_table_close(t);
}

/* Mismatches between a view and the expected table. */
static int diff_expected(const view *v) {
  int d = v->dups + v->bad;
  for (int i = 0; i < MAXID; i++) {
    if (v->has[i] != expect_has[i]) d++;
    else if (v->has[i] && strcmp(v->name[i], expect_name[i]) != 0) d++;
  }
  return d;
}

static void expect_put(int64_t id, const char *name) {
  expect_has[id] = true;
  snprintf(expect_name[id], sizeof expect_name[id], "%.15s", name);
}

static void build_table(mw_objstore *s) {
  memset(expect_has, 0, sizeof expect_has);
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_error e = {0};
  CHECK_OK(mw_table_create(s, &sc, NULL, 0, &e), &e);
  CHECK_OK(mw_table_set_lsm_spec(s, "bucket:id:2", NULL, 0, NULL, 0, &e), &e);
  mw_table_writer_config c;
  mw_table_writer_config_init(&c);
  c.shard.log_fn = quiet_log;
  mw_table_writer *w = NULL;
  CHECK_OK(mw_table_writer_open(&w, s, &c, &sc, &e), &e);
  if (!w) return;
  /* generation 1: ids 0..99 */
  struct ArrowArray b = make_batch(0, 100);
  CHECK_OK(mw_table_writer_put(w, &b, 1, &e), &e);
  for (int i = 0; i < 100; i++) {
    char n[16];
    snprintf(n, sizeof n, "n%d", i);
    expect_put(i, n);
  }
  CHECK_OK(mw_table_writer_flush_memtables(w, &e), &e);
  /* generation 2: 50..149 overwritten, id 60 twice in the input */
  static int64_t ids[101];
  static char nbuf[101][16];
  const char *names[101];
  for (int i = 0; i < 100; i++) {
    ids[i] = 50 + i;
    snprintf(nbuf[i], sizeof nbuf[i], "b%d", 50 + i);
  }
  ids[100] = 60;
  snprintf(nbuf[100], sizeof nbuf[100], "dup60");
  for (int i = 0; i <= 100; i++) names[i] = nbuf[i];
  b = make_rows(ids, names, 101);
  CHECK_OK(mw_table_writer_put(w, &b, 1, &e), &e);
  for (int i = 0; i <= 100; i++) expect_put(ids[i], nbuf[i]);
  CHECK_OK(mw_table_writer_flush_memtables(w, &e), &e);
  /* generation 3: tombstones */
  int64_t del[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 140, 1000};
  b = make_rows(del, NULL, 12);
  CHECK_OK(mw_table_writer_delete(w, &b, &sc, &e), &e);
  if (b.release) b.release(&b);
  for (int i = 0; i < 12; i++) expect_has[del[i]] = false;
  CHECK_OK(mw_table_writer_close(w, 1, &e), &e);
  mw_schema_release(&sc);
}

typedef struct clone_ctx {
  mw_objstore *src, *dst;
  int fails;
} clone_ctx;

static int clone_one(void *arg, const char *key, uint64_t size) {
  (void)size;
  clone_ctx *c = arg;
  uint8_t *d = NULL;
  size_t n = 0;
  if (mw_objstore_get(c->src, &d, &n, key, 0, MW_OBJSTORE_TO_END, NULL) != MW_OK ||
      mw_objstore_put(c->dst, key, d, n, NULL) != MW_OK)
    c->fails++;
  mw_free(d);
  return 0;
}

static mw_objstore *clone_store(mw_objstore *src) {
  mw_objstore *dst = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_mem_open(&dst, "", &e), &e);
  clone_ctx c = {src, dst, 0};
  CHECK_OK(mw_objstore_list(src, "", clone_one, &c, &e), &e);
  CHECK_INT(c.fails, 0);
  return dst;
}

static uint64_t json_u64(const char *json, const char *field) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", field);
  const char *p = json ? strstr(json, pat) : NULL;
  return p ? strtoull(p + strlen(pat), NULL, 10) : UINT64_MAX;
}

static mw_objstore *g_template;

static void test_merge_all(void) {
  mw_objstore *s = clone_store(g_template);
  view v;
  read_view(&v, s, true);
  CHECK_INT(diff_expected(&v), 0); /* the LSM view before merging */
  read_view(&v, s, false);
  CHECK(diff_expected(&v) > 0);    /* the base is empty */
  char *json = NULL;
  mw_error e = {0};
  CHECK_OK(mw_table_merge(&json, s, NULL, &e), &e);
  CHECK_INT(json_u64(json, "generations_merged"), 6); /* 3 per shard */
  CHECK_INT(json_u64(json, "table_version_before"), 2);
  CHECK_INT(json_u64(json, "table_version"), 8);
  CHECK_INT(json_u64(json, "tombstones"), 12); /* 0..9, 140 and 1000 (never written: still a tombstone row) */
  {
    /* bytes_copied = the sizes of the generation files that became fragments */
    uint64_t want = 0;
    mw_table *t = NULL;
    mw_merge_manifest *m = NULL;
    mw_error e2 = {0};
    CHECK_OK(mw_table_open(&t, s, &e2), &e2);
    if (t) CHECK_OK(mw_merge_manifest_read(&m, s, "", t->version, &e2), &e2);
    for (size_t i = 0; m && i < m->n_frags; i++) want += m->frags[i].files[0].size;
    CHECK(want > 0);
    CHECK_INT(json_u64(json, "bytes_copied"), want);
    CHECK(json_u64(json, "seconds") != UINT64_MAX);
    mw_merge_manifest_free(m);
    mw_table_close(t);
  }
  mw_free(json);
  read_view(&v, s, false);
  CHECK_INT(diff_expected(&v), 0);
  read_view(&v, s, true);
  CHECK_INT(diff_expected(&v), 0);
  json = NULL;
  CHECK_OK(mw_table_merge(&json, s, NULL, &e), &e);
  CHECK_INT(json_u64(json, "generations_merged"), 0);
  CHECK_INT(json_u64(json, "table_version"), 8);
  mw_free(json);
  mw_objstore_close(s);
}

static void test_up_to_and_shard(void) {
  mw_objstore *s = clone_store(g_template);
  mw_table_merge_options o;
  mw_table_merge_options_init(&o);
  o.up_to = 1;
  char *json = NULL;
  mw_error e = {0};
  CHECK_OK(mw_table_merge(&json, s, &o, &e), &e);
  CHECK_INT(json_u64(json, "generations_merged"), 2);
  mw_free(json);
  view v;
  read_view(&v, s, true);
  CHECK_INT(diff_expected(&v), 0);
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  char first[MW_UUID_STR_LEN + 1] = "";
  if (t && t->n_shards == 2) {
    CHECK_INT(wm_of(t, t->shards[0]), 1);
    CHECK_INT(wm_of(t, t->shards[1]), 1);
    mw_uuid_format(first, t->shards[0]);
  }
  mw_table_close(t);
  mw_table_merge_options_init(&o);
  o.shard = first;
  json = NULL;
  CHECK_OK(mw_table_merge(&json, s, &o, &e), &e);
  CHECK_INT(json_u64(json, "generations_merged"), 2);
  mw_free(json);
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t && t->n_shards == 2) {
    CHECK_INT(wm_of(t, t->shards[0]), 3);
    CHECK_INT(wm_of(t, t->shards[1]), 1);
  }
  mw_table_close(t);
  read_view(&v, s, true);
  CHECK_INT(diff_expected(&v), 0);
  o.shard = "00000000-0000-0000-0000-000000000000";
  CHECK_INT(mw_table_merge(NULL, s, &o, &e), MW_ERR_NOT_FOUND);
  o.shard = "not-a-uuid";
  CHECK(mw_table_merge(NULL, s, &o, &e) != MW_OK);
  o.shard = NULL;
  o.struct_size = 4;
  CHECK_INT(mw_table_merge(NULL, s, &o, &e), MW_ERR_INVALID);
  mw_objstore_close(s);
}

static int progress_calls;
static void count_progress(void *ctx, const mw_table_merge_progress *p) {
  (void)ctx;
  if (strcmp(p->stage, "committed") == 0 && p->table_version > 0) progress_calls++;
}

/* A failure at each write of a merge (three ways) and at each read, then
 * a rerun. */
static void test_faults(void) {
  static const struct { unsigned ops; mw_fault_kind kind; mw_fault_mode mode; const char *name; } kinds[] = {
    {MW_FAULT_WRITES, MW_FAULT_ERROR, MW_FAULT_PERSISTENT, "error"},
    {MW_FAULT_WRITES, MW_FAULT_WROTE_ERROR, MW_FAULT_ONCE, "wrote-error"},
    {MW_FAULT_WRITES, MW_FAULT_CRASH, MW_FAULT_ONCE, "crash"},
    {MW_FAULT_READS, MW_FAULT_ERROR, MW_FAULT_ONCE, "read-error"},
  };
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    int runs = 0, failed_runs = 0, wrong = 0, unfinished = 0;
    for (uint64_t nth = 1; nth < 1000; nth++) {
      mw_objstore *inner = clone_store(g_template);
      mw_objstore *f = NULL;
      mw_error e = {0};
      CHECK_OK(mw_objstore_fault_new(&f, inner, &e), &e);
      mw_fault_spec spec = {.ops = kinds[k].ops, .nth = nth, .kind = kinds[k].kind, .mode = kinds[k].mode};
      CHECK_OK(mw_objstore_fault_arm(f, &spec, &e), &e);
      mw_status st = mw_table_merge(NULL, f, NULL, &e);
      mw_fault_counters fc;
      mw_objstore_fault_counters(f, &fc);
      mw_objstore_fault_reset(f);
      mw_objstore_close(f);
      runs++;
      view v;
      read_view(&v, inner, true);
      if (diff_expected(&v)) {
        wrong++;
        fprintf(stderr, "%s at write %" PRIu64 ": LSM view wrong after the failed merge\n", kinds[k].name, nth);
      }
      if (st != MW_OK) failed_runs++;
      mw_table_merge_options o;
      mw_table_merge_options_init(&o);
      o.progress = count_progress;
      char *json = NULL;
      mw_status st2 = mw_table_merge(&json, inner, &o, &e);
      if (st2 != MW_OK) fprintf(stderr, "rerun after %s at %" PRIu64 ": %s\n", kinds[k].name, nth, e.message);
      CHECK_OK(st2, &e);
      mw_free(json);
      read_view(&v, inner, false);
      if (diff_expected(&v)) {
        unfinished++;
        fprintf(stderr, "%s at write %" PRIu64 ": base view wrong after the rerun\n", kinds[k].name, nth);
      }
      mw_objstore_close(inner);
      if (fc.injected == 0) break; /* the merge made fewer writes: every step covered */
    }
    fprintf(stderr, "%s: %d runs, %d merges failed\n", kinds[k].name, runs, failed_runs);
    CHECK(failed_runs >= 6); /* at least one failure per generation commit */
    CHECK(runs > failed_runs || kinds[k].kind != MW_FAULT_ERROR);
    CHECK_INT(wrong, 0);
    CHECK_INT(unfinished, 0);
  }
  CHECK(progress_calls > 0);
}

/* ----------------------------------------------------- kill -9 a merger */

/* The base-only view a watermark promises: the generations 1..wm[shard] of
 * each shard applied in order to an empty table (the template's base is
 * empty before its first merge). */
static void read_merged_model(view *v, mw_objstore *s, uint64_t *wm_sum) {
  memset(v, 0, sizeof *v);
  *wm_sum = 0;
  mw_table *t = NULL;
  mw_error e = {0};
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (!t) {
    v->bad++;
    return;
  }
  for (size_t si = 0; si < t->n_shards; si++) {
    mw_manifest_store *ms = NULL;
    mw_shard_manifest *sm = NULL;
    CHECK_OK(mw_manifest_store_open(&ms, s, t->shards[si], 0, &e), &e);
    CHECK_OK(mw_manifest_store_read_latest(&sm, ms, &e), &e);
    uint64_t wm = wm_of(t, t->shards[si]);
    *wm_sum += wm;
    char sid[MW_UUID_STR_LEN + 1];
    mw_uuid_format(sid, t->shards[si]);
    for (uint64_t g = 1; sm && g <= wm; g++) {
      bool listed = false;
      if (apply_generation(v, s, sm, sid, g, &listed)) continue;
      if (!listed) v->bad++; /* the watermark names a generation the shard does not list */
      break;
    }
    mw_shard_manifest_free(sm);
    mw_manifest_store_close(ms);
  }
  mw_table_close(t);
}

static int views_differ(const view *a, const view *b) {
  int d = a->dups + a->bad + b->dups + b->bad;
  for (int i = 0; i < MAXID; i++) {
    if (a->has[i] != b->has[i]) d++;
    else if (a->has[i] && strcmp(a->name[i], b->name[i]) != 0) d++;
  }
  return d;
}

/* The child's store: the file store, each write announced on a pipe
 * ('B' + kind before, 'E' + kind after) and followed by a short sleep, so
 * a kill at a random time lands at every step boundary of a merge with a
 * fair chance. Kinds: D _deletions/, F data/, T _transactions/, M a table
 * manifest, H the version hint, ? anything else. */
typedef struct announcer {
  mw_objstore *inner;
  int fd;
  useconds_t pause_us;
} announcer;

static char write_kind(const char *key) {
  if (strncmp(key, "_deletions/", 11) == 0) return 'D';
  if (strncmp(key, "data/", 5) == 0) return 'F';
  if (strncmp(key, "_transactions/", 14) == 0) return 'T';
  if (strstr(key, "latest_version_hint")) return 'H';
  if (strncmp(key, "_versions/", 10) == 0) return 'M';
  return '?';
}

static void announce(announcer *a, char phase, const char *key) {
  char rec[2] = {phase, write_kind(key)};
  if (write(a->fd, rec, 2) != 2) _exit(6);
}

static mw_status an_put(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  announcer *a = self;
  announce(a, 'B', key);
  mw_status st = mw_objstore_put(a->inner, key, data, len, err);
  announce(a, 'E', key);
  usleep(a->pause_us);
  return st;
}
static mw_status an_pia(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  announcer *a = self;
  announce(a, 'B', key);
  mw_status st = mw_objstore_put_if_absent(a->inner, key, data, len, err);
  announce(a, 'E', key);
  usleep(a->pause_us);
  return st;
}
static mw_status an_get(void *self, uint8_t **out, size_t *n, const char *key, uint64_t off, uint64_t len, mw_error *err) {
  return mw_objstore_get(((announcer *)self)->inner, out, n, key, off, len, err);
}
static mw_status an_head(void *self, uint64_t *size, const char *key, mw_error *err) {
  return mw_objstore_head(((announcer *)self)->inner, size, key, err);
}
static mw_status an_list(void *self, const char *prefix, mw_objstore_list_fn fn, void *arg, mw_error *err) {
  return mw_objstore_list(((announcer *)self)->inner, prefix, fn, arg, err);
}
static mw_status an_del(void *self, const char *key, mw_error *err) {
  return mw_objstore_del(((announcer *)self)->inner, key, err);
}

/* Runs in the forked child: the merge on the file store at uri. Writes 'R'
 * when the store is open, 'X' when the merge returned OK. */
static void kill_child(const char *uri, int fd) {
  mw_objstore *fs = NULL;
  mw_error e = {0};
  mw_objstore_options fo;
  mw_objstore_options_init(&fo);
  fo.fsync = 0; /* a killed process loses no page cache: fsync only slows the kill points down */
  if (mw_objstore_open(&fs, uri, &fo, &e) != MW_OK) _exit(2);
  announcer a = {.inner = fs, .fd = fd, .pause_us = 1500};
  mw_objstore_vtable vt;
  mw_objstore_vtable_init(&vt);
  vt.put = an_put;
  vt.put_if_absent = an_pia;
  vt.get = an_get;
  vt.head = an_head;
  vt.list = an_list;
  vt.del = an_del;
  mw_objstore *s = NULL;
  if (mw_objstore_new(&s, &vt, &a, &e) != MW_OK) _exit(3);
  char r[2] = {'R', 'R'};
  if (write(fd, r, 2) != 2) _exit(6);
  if (mw_table_merge(NULL, s, NULL, &e) != MW_OK) {
    fprintf(stderr, "kill9 child: merge failed: %s\n", e.message);
    _exit(4);
  }
  char x[2] = {'X', 'X'};
  if (write(fd, x, 2) != 2) _exit(6);
  _exit(0);
}

/* Where the kill landed, from the last record the child wrote. */
enum { K_START, K_IN_WRITE, K_AFTER_DEL, K_AFTER_DATA, K_TXN_MANIFEST, K_MANIFEST_HINT, K_BETWEEN_GENS, K_DONE,
       K_OTHER, K_N };
static const char *const k_names[K_N] = {
  "before the first write (reading, resolving keys)", "in the middle of a write", "after a deletion file",
  "after the data copy", "between the .txn and the manifest put", "after the manifest, before the hint",
  "between generations (after the hint)", "merge finished before the kill", "other"};

static int classify_kill(const char *recs, size_t n) {
  if (n >= 2 && recs[n - 2] == 'X') return K_DONE;
  if (n < 2 || recs[n - 2] == 'R') return K_START;
  char phase = recs[n - 2], kind = recs[n - 1];
  if (phase == 'B') return K_IN_WRITE;
  switch (kind) {
    case 'D': return K_AFTER_DEL;
    case 'F': return K_AFTER_DATA;
    case 'T': return K_TXN_MANIFEST;
    case 'M': return K_MANIFEST_HINT;
    case 'H': return K_BETWEEN_GENS;
    default: return K_OTHER;
  }
}

typedef struct copy_ctx {
  mw_objstore *src, *dst;
  int fails;
} copy_ctx;

static int copy_one(void *arg, const char *key, uint64_t size) {
  (void)size;
  copy_ctx *c = arg;
  uint8_t *d = NULL;
  size_t n = 0;
  if (mw_objstore_get(c->src, &d, &n, key, 0, MW_OBJSTORE_TO_END, NULL) != MW_OK ||
      mw_objstore_put(c->dst, key, d, n, NULL) != MW_OK)
    c->fails++;
  mw_free(d);
  return 0;
}

/* When each write of the calibration merge ended (microseconds after
 * the child's 'R'). */
static double cal_us[256];
static size_t n_cal;

/* One round: a fresh file:// copy of `tmpl` under root/<round>, a child
 * merging it, SIGKILL after delay_us (0 = never: the child finishes), then
 * the checks. Returns the kill class, or -1 when a check failed; *secs =
 * the time from the child's 'R' to the kill (or to its 'X'). */
static int kill_round(mw_objstore *tmpl, const char *root, int round, useconds_t delay_us, double *secs) {
  char uri[256];
  snprintf(uri, sizeof uri, "file://%s/r%d", root, round);
  mw_objstore *fs = NULL;
  mw_error e = {0};
  mw_objstore_options fo;
  mw_objstore_options_init(&fo);
  fo.fsync = 0;
  CHECK_OK(mw_objstore_open(&fs, uri, &fo, &e), &e);
  if (!fs) return -1;
  copy_ctx cc = {tmpl, fs, 0};
  CHECK_OK(mw_objstore_list(tmpl, "", copy_one, &cc, &e), &e);
  CHECK_INT(cc.fails, 0);
  mw_objstore_close(fs);

  int fds[2];
  if (pipe(fds) != 0) abort();
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    kill_child(uri, fds[1]);
  }
  close(fds[1]);
  static char recs[8192];
  size_t n = 0;
  ssize_t r = read(fds[0], recs, 2);
  if (r != 2 || recs[0] != 'R') {
    fprintf(stderr, "kill9 round %d: the child did not start\n", round);
    close(fds[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
  }
  n = 2;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (delay_us) {
    usleep(delay_us);
    kill(pid, SIGKILL);
  } else { /* no kill: time the merge up to its 'X' (the child's exit is slow under sanitizers) */
    n_cal = 0;
    while (n + 2 <= sizeof recs && read(fds[0], recs + n, 2) == 2) {
      n += 2;
      if (recs[n - 2] == 'X') break;
      if (recs[n - 2] == 'E' && n_cal < sizeof cal_us / sizeof cal_us[0]) { /* a write just ended */
        struct timespec te;
        clock_gettime(CLOCK_MONOTONIC, &te);
        cal_us[n_cal++] = (double)(te.tv_sec - t0.tv_sec) * 1e6 + (double)(te.tv_nsec - t0.tv_nsec) / 1e3;
      }
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  int wst = 0;
  waitpid(pid, &wst, 0);
  while (n + 2 <= sizeof recs && (r = read(fds[0], recs + n, sizeof recs - n)) > 0) n += (size_t)r;
  close(fds[0]);
  int cls = classify_kill(recs, n - n % 2);
  int bad = 0;
  /* killed, or (K_DONE) exited 0 -- or killed between its 'X' and _exit */
  bool killed = WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL;
  if (!(killed || (cls == K_DONE && WIFEXITED(wst) && WEXITSTATUS(wst) == 0))) {
    fprintf(stderr, "kill9 round %d: child status %d (class %s)\n", round, wst, k_names[cls]);
    bad++;
  }

  /* the table as the kill left it */
  CHECK_OK(mw_objstore_open(&fs, uri, &fo, &e), &e);
  if (!fs) return -1;
  view lsm, base, model;
  read_view(&lsm, fs, true);
  read_view(&base, fs, false);
  uint64_t wm_sum = 0, version = 0;
  read_merged_model(&model, fs, &wm_sum);
  CHECK_OK(mw_lance_table_latest_version(&version, fs, &e), &e);
  if (diff_expected(&lsm)) {
    fprintf(stderr, "kill9 round %d (%s): LSM view wrong\n", round, k_names[cls]);
    bad++;
  }
  if (views_differ(&base, &model)) {
    fprintf(stderr, "kill9 round %d (%s): base view differs from the generations the watermark covers\n", round,
            k_names[cls]);
    bad++;
  }
  if (version != 2 + wm_sum) { /* one commit per merged generation, data and watermark together */
    fprintf(stderr, "kill9 round %d (%s): version %" PRIu64 " but watermarks sum to %" PRIu64 "\n", round,
            k_names[cls], version, wm_sum);
    bad++;
  }
  /* the rerun finishes the job */
  char *json = NULL;
  mw_status st = mw_table_merge(&json, fs, NULL, &e);
  CHECK_OK(st, &e);
  mw_free(json);
  read_view(&lsm, fs, true);
  read_view(&base, fs, false);
  CHECK_OK(mw_lance_table_latest_version(&version, fs, &e), &e);
  if (st != MW_OK || diff_expected(&base) || diff_expected(&lsm) || version != 8) {
    fprintf(stderr, "kill9 round %d (%s): wrong after the rerun (version %" PRIu64 ")\n", round, k_names[cls], version);
    bad++;
  }
  mw_objstore_close(fs);
  return bad ? -1 : cls;
}

/* A real merger process killed with SIGKILL at random times (seeded) on a
 * file:// table whose base holds generation 1 of both shards (4 generation
 * commits left: overwrites, a key twice, tombstones). After each kill the
 * table must read right (LSM view = expected, no key twice), the base-only
 * view must be exactly what the watermark promises (generations <= the
 * watermark merged, no more, no less; one version per merged generation),
 * and a rerun must finish the job. Kill times: odd rounds uniform over the
 * calibrated merge time, even rounds within the pause after a random write
 * of the calibration run. Rounds go on until every step class named below
 * was hit (at least 12, at most 120). */
static void test_kill9(void) {
  mw_objstore *tmpl = clone_store(g_template);
  mw_table_merge_options o;
  mw_table_merge_options_init(&o);
  o.up_to = 1;
  mw_error e = {0};
  CHECK_OK(mw_table_merge(NULL, tmpl, &o, &e), &e);
  char root[64] = "/tmp/mw_merge_kill9_XXXXXX";
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    CHECK(0);
    mw_objstore_close(tmpl);
    return;
  }
  double full = 0;
  int cls = kill_round(tmpl, root, 0, 0, &full); /* calibration: no kill */
  CHECK_INT(cls, K_DONE);
  unsigned span = (unsigned)(full * 1e6 * 0.95) + 1;
  double scale = 1; /* shrinks when merges finish before their kill */
  srand(20261207);
  struct timespec k0, k1;
  clock_gettime(CLOCK_MONOTONIC, &k0);
  int hits[K_N] = {0}, failures = 0, rounds = 0;
  static const int need[] = {K_START, K_AFTER_DEL, K_AFTER_DATA, K_TXN_MANIFEST, K_BETWEEN_GENS};
  for (int round = 1; round <= 120; round++) {
    double secs;
    /* odd rounds: anywhere in the merge; even rounds: within the pause
     * after a random write of the calibration run (the step boundaries) */
    useconds_t d = (useconds_t)(1 + (unsigned)rand() % span);
    if (round % 2 == 0 && n_cal) d = (useconds_t)(cal_us[(size_t)rand() % n_cal] * scale) + 1 + (useconds_t)(rand() % 1500);
    int c = kill_round(tmpl, root, round, d, &secs);
    rounds++;
    if (c < 0) failures++;
    else hits[c]++;
    if (c == K_DONE) { /* the calibration run was slower than this one */
      scale *= 0.8;
      span = span * 4 / 5 + 1;
    }
    bool all = round >= 12;
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) all = all && hits[need[i]] > 0;
    if (all) break;
  }
  clock_gettime(CLOCK_MONOTONIC, &k1);
  fprintf(stderr, "kill9: full merge %.3f s; %d kills in %.1f s, %d failed checks; landed:", full, rounds,
          (double)(k1.tv_sec - k0.tv_sec) + (double)(k1.tv_nsec - k0.tv_nsec) / 1e9, failures);
  for (int i = 0; i < K_N; i++)
    if (hits[i]) fprintf(stderr, " [%s] %d", k_names[i], hits[i]);
  fprintf(stderr, "\n");
  CHECK_INT(failures, 0);
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
    if (!hits[need[i]]) fprintf(stderr, "kill9: no kill landed %s\n", k_names[need[i]]);
    CHECK(hits[need[i]] > 0);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  CHECK_INT(system(cmd), 0);
  mw_objstore_close(tmpl);
}

typedef struct racer {
  mw_objstore *s;
  mw_status st;
  char *json;
  mw_error e;
} racer;

static void *race_main(void *p) {
  racer *r = p;
  r->st = mw_table_merge(&r->json, r->s, NULL, &r->e);
  return NULL;
}

/* Two mergers at once on one table: every generation is committed exactly
 * once (the loser of each race skips it or rebases), nothing lost or
 * doubled. */
static void test_race(void) {
  for (int round = 0; round < 5; round++) {
    mw_objstore *s = clone_store(g_template);
    racer r[2] = {{.s = s}, {.s = s}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, race_main, &r[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK_OK(r[0].st, &r[0].e);
    CHECK_OK(r[1].st, &r[1].e);
    CHECK_INT(json_u64(r[0].json, "generations_merged") + json_u64(r[1].json, "generations_merged"), 6);
    view v;
    read_view(&v, s, false);
    CHECK_INT(diff_expected(&v), 0);
    mw_table *t = NULL;
    mw_error e = {0};
    CHECK_OK(mw_table_open(&t, s, &e), &e);
    CHECK_INT(t ? t->version : 0, 8);
    mw_table_close(t);
    mw_free(r[0].json);
    mw_free(r[1].json);
    mw_objstore_close(s);
  }
}

/* A store that, at the next commit (put-if-absent of a table manifest),
 * first lets another merger commit (shard `shard`, up to generation 1):
 * the commit then loses the race deterministically. */
typedef struct meddler {
  mw_objstore *inner;
  bool armed;
  char shard[MW_UUID_STR_LEN + 1];
  mw_status st;
} meddler;

static mw_status md_put(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  return mw_objstore_put(((meddler *)self)->inner, key, data, len, err);
}
static mw_status md_pia(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  meddler *m = self;
  if (m->armed && strncmp(key, "_versions/", 10) == 0) {
    m->armed = false;
    mw_table_merge_options o;
    mw_table_merge_options_init(&o);
    o.shard = m->shard;
    o.up_to = 1;
    m->st = mw_table_merge(NULL, m->inner, &o, NULL);
  }
  return mw_objstore_put_if_absent(m->inner, key, data, len, err);
}
static mw_status md_get(void *self, uint8_t **out, size_t *n, const char *key, uint64_t off, uint64_t len, mw_error *err) {
  return mw_objstore_get(((meddler *)self)->inner, out, n, key, off, len, err);
}
static mw_status md_head(void *self, uint64_t *size, const char *key, mw_error *err) {
  return mw_objstore_head(((meddler *)self)->inner, size, key, err);
}
static mw_status md_list(void *self, const char *prefix, mw_objstore_list_fn fn, void *arg, mw_error *err) {
  return mw_objstore_list(((meddler *)self)->inner, prefix, fn, arg, err);
}
static mw_status md_del(void *self, const char *key, mw_error *err) {
  return mw_objstore_del(((meddler *)self)->inner, key, err);
}

static int count_key(void *arg, const char *key, uint64_t size) {
  (void)key;
  (void)size;
  (*(int *)arg)++;
  return 0;
}

static void test_lost_race(void) {
  for (int same = 0; same < 2; same++) {
    mw_objstore *inner = clone_store(g_template);
    mw_table *t = NULL;
    mw_error e = {0};
    CHECK_OK(mw_table_open(&t, inner, &e), &e);
    if (!t || t->n_shards != 2) {
      CHECK(0);
      mw_table_close(t);
      mw_objstore_close(inner);
      return;
    }
    meddler m = {.inner = inner, .armed = true};
    /* the merger starts with shards[0]; the meddler merges the same shard
     * (our generation is then covered: skipped) or the other (rebase) */
    mw_uuid_format(m.shard, t->shards[same ? 0 : 1]);
    mw_table_close(t);
    mw_objstore_vtable vt;
    mw_objstore_vtable_init(&vt);
    vt.put = md_put;
    vt.put_if_absent = md_pia;
    vt.get = md_get;
    vt.head = md_head;
    vt.list = md_list;
    vt.del = md_del;
    mw_objstore *s = NULL;
    CHECK_OK(mw_objstore_new(&s, &vt, &m, &e), &e);
    char *json = NULL;
    CHECK_OK(mw_table_merge(&json, s, NULL, &e), &e);
    CHECK(!m.armed);
    CHECK_OK(m.st, NULL);
    if (same) {
      CHECK_INT(json_u64(json, "generations_skipped"), 1);
      CHECK_INT(json_u64(json, "generations_merged"), 5);
      CHECK(json && strstr(json, "already merged by another merger") != NULL);
    } else {
      CHECK_INT(json_u64(json, "generations_skipped"), 0);
      CHECK_INT(json_u64(json, "generations_merged"), 5); /* + 1 by the meddler */
      CHECK(json && strstr(json, "\"attempts\":2") != NULL); /* rebased */
    }
    mw_free(json);
    view v;
    read_view(&v, inner, false);
    CHECK_INT(diff_expected(&v), 0);
    /* the lost attempt's files were removed: data/ holds one file per fragment */
    mw_merge_manifest *mm = NULL;
    CHECK_OK(mw_table_open(&t, inner, &e), &e);
    if (t) CHECK_OK(mw_merge_manifest_read(&mm, inner, "", t->version, &e), &e);
    int files = 0, txns = 0;
    CHECK_OK(mw_objstore_list(inner, "data/", count_key, &files, &e), &e);
    CHECK_OK(mw_objstore_list(inner, "_transactions/", count_key, &txns, &e), &e);
    CHECK_INT(files, mm ? (int)mm->n_frags : -1);
    CHECK_INT(txns, t ? (int)t->version : -1); /* one per version (version 1 included) */
    mw_merge_manifest_free(mm);
    mw_table_close(t);
    mw_objstore_close(s);
    mw_objstore_close(inner);
  }
}

/* Commits a copy of the latest version with reader and writer feature
 * flags set to `flags`. Returns the new version. */
static uint64_t commit_flags(mw_objstore *s, uint64_t flags) {
  mw_error e = {0};
  uint64_t v = 0;
  CHECK_OK(mw_lance_table_latest_version(&v, s, &e), &e);
  mw_lance_table_manifest *m = NULL;
  CHECK_OK(mw_lance_table_manifest_read(&m, s, v, &e), &e);
  if (!m) return 0;
  Lance__Table__TableManifest pb = *m->pb;
  ProtobufCMessageUnknownField uf[64];
  size_t n = 0;
  for (size_t i = 0; i < pb.base.n_unknown_fields && n < 62; i++)
    if (pb.base.unknown_fields[i].tag != 9 && pb.base.unknown_fields[i].tag != 10) uf[n++] = pb.base.unknown_fields[i];
  uint8_t var[10];
  size_t vl = 0;
  for (uint64_t x = flags; ; x >>= 7) {
    var[vl++] = (uint8_t)((x & 0x7f) | (x >= 0x80 ? 0x80 : 0));
    if (x < 0x80) break;
  }
  uf[n++] = (ProtobufCMessageUnknownField){9, PROTOBUF_C_WIRE_TYPE_VARINT, vl, var};
  uf[n++] = (ProtobufCMessageUnknownField){10, PROTOBUF_C_WIRE_TYPE_VARINT, vl, var};
  pb.base.n_unknown_fields = n;
  pb.base.unknown_fields = uf;
  pb.has_version = true;
  pb.version = v + 1;
  Lance__Table__TransactionProto txn = LANCE__TABLE__TRANSACTION_PROTO__INIT;
  txn.has_read_version = true;
  txn.read_version = v;
  txn.uuid = (char *)"00000000-0000-4000-8000-000000000000";
  uint8_t *file = NULL;
  size_t len = 0;
  CHECK_OK(mw_lance_table_manifest_encode(&file, &len, &pb, m->index, &txn, &e), &e);
  char key[64];
  mw_lance_manifest_key(key, sizeof key, v + 1);
  CHECK_OK(mw_objstore_put_if_absent(s, key, file, len, &e), &e);
  free(file);
  mw_lance_table_manifest_free(m);
  return v + 1;
}

static void test_refused_flags(void) {
  static const struct { uint64_t flags; const char *msg; } cases[] = {
    {MW_LANCE_FLAG_STABLE_ROW_IDS, "stable row ids"},
    {1u << 9, "feature flags 0x200"},
    {64, "feature flags 0x40"}, /* data overlay files */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mw_objstore *s = clone_store(g_template);
    uint64_t v = commit_flags(s, cases[i].flags);
    mw_error e = {0};
    CHECK_INT(mw_table_merge(NULL, s, NULL, &e), MW_ERR_UNSUPPORTED);
    CHECK(strstr(e.message, cases[i].msg) != NULL);
    uint64_t after = 0;
    CHECK_OK(mw_lance_table_latest_version(&after, s, &e), &e);
    CHECK_INT(after, v); /* nothing committed */
    int files = 0;
    CHECK_OK(mw_objstore_list(s, "data/", count_key, &files, &e), &e);
    CHECK_INT(files, 0);
    mw_objstore_close(s);
  }
  /* known flags (deletion files, v2, table config, mixed versions) merge */
  mw_objstore *s = clone_store(g_template);
  commit_flags(s, 1 | 4 | 8 | 256);
  mw_error e = {0};
  CHECK_OK(mw_table_merge(NULL, s, NULL, &e), &e);
  view v;
  read_view(&v, s, false);
  CHECK_INT(diff_expected(&v), 0);
  mw_objstore_close(s);
}

/* A generation that overwrites every row of a fragment: the fragment is
 * removed (Update.removed_fragment_ids), not kept fully deleted. */
static void test_whole_fragment_removed(void) {
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_mem_open(&s, "", &e), &e);
  struct ArrowSchema sc;
  make_schema(&sc);
  CHECK_OK(mw_table_create(s, &sc, NULL, 0, &e), &e);
  CHECK_OK(mw_table_set_lsm_spec(s, "unsharded", NULL, 0, NULL, 0, &e), &e);
  mw_table_writer_config c;
  mw_table_writer_config_init(&c);
  c.shard.log_fn = quiet_log;
  mw_table_writer *w = NULL;
  CHECK_OK(mw_table_writer_open(&w, s, &c, &sc, &e), &e);
  int64_t ids[] = {0, 1, 2, 3};
  const char *first[] = {"a", "b", "c", "d"}, *second[] = {"w", "x", "y", "z"};
  struct ArrowArray b = make_rows(ids, first, 4);
  CHECK_OK(mw_table_writer_put(w, &b, 1, &e), &e);
  CHECK_OK(mw_table_writer_flush_memtables(w, &e), &e);
  CHECK_OK(mw_table_merge(NULL, s, NULL, &e), &e); /* fragment 0 = a..d */
  b = make_rows(ids, second, 4);
  CHECK_OK(mw_table_writer_put(w, &b, 1, &e), &e);
  CHECK_OK(mw_table_writer_close(w, 1, &e), &e);
  char *json = NULL;
  CHECK_OK(mw_table_merge(&json, s, NULL, &e), &e);
  CHECK_INT(json_u64(json, "fragments_removed"), 1);
  CHECK_INT(json_u64(json, "base_rows_deleted"), 4);
  mw_free(json);
  mw_table *t = NULL;
  mw_merge_manifest *m = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) CHECK_OK(mw_merge_manifest_read(&m, s, "", t->version, &e), &e);
  CHECK_INT(m ? m->n_frags : 0, 1);
  if (m && m->n_frags == 1) {
    CHECK_INT(m->frags[0].id, 1);
    CHECK(!m->frags[0].del.present);
    CHECK_INT(m->max_fragment_id, 1);
  }
  mw_merge_manifest_free(m);
  mw_table_close(t);
  memset(expect_has, 0, sizeof expect_has);
  for (int i = 0; i < 4; i++) expect_put(i, second[i]);
  view v;
  read_view(&v, s, false);
  CHECK_INT(diff_expected(&v), 0);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* A utf8 primary key (`name`, not null; `id` is a plain column): a key
 * string names the same row in the base file and in a generation. */
static void test_string_key(void) {
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_mem_open(&s, "", &e), &e);
  struct ArrowSchema sc;
  mw_schema_init(&sc, "+s", "", NULL, 0, 2, &e);
  mw_schema_init(sc.children[0], "l", "id", NULL, 0, 0, &e);
  mw_schema_init(sc.children[1], "u", "name", NULL, 0, 0, &e);
  const char *pk[] = {"name"};
  CHECK_OK(mw_table_create(s, &sc, pk, 1, &e), &e);
  CHECK_OK(mw_table_set_lsm_spec(s, "bucket:name:2", NULL, 0, NULL, 0, &e), &e);
  mw_table_writer_config c;
  mw_table_writer_config_init(&c);
  c.shard.log_fn = quiet_log;
  mw_table_writer *w = NULL;
  CHECK_OK(mw_table_writer_open(&w, s, &c, &sc, &e), &e);
  if (!w) {
    mw_schema_release(&sc);
    mw_objstore_close(s);
    return;
  }
  static char kb[20][8];
  const char *keys[20];
  int64_t ids[20];
  for (int i = 0; i < 20; i++) {
    snprintf(kb[i], sizeof kb[i], "k%d", i);
    keys[i] = kb[i];
  }
  for (int i = 0; i < 10; i++) ids[i] = i; /* k0..k9 -> 0..9 */
  struct ArrowArray b = make_rows(ids, keys, 10);
  CHECK_OK(mw_table_writer_put(w, &b, 1, &e), &e);
  CHECK_OK(mw_table_writer_flush_memtables(w, &e), &e);
  for (int i = 0; i < 10; i++) ids[i] = 100 + 5 + i; /* k5..k14 -> 105..114 */
  b = make_rows(ids, keys + 5, 10);
  CHECK_OK(mw_table_writer_put(w, &b, 1, &e), &e);
  CHECK_OK(mw_table_writer_flush_memtables(w, &e), &e);
  int64_t zero[2] = {0, 0};
  b = make_rows(zero, keys + 6, 2); /* delete k6, k7 */
  CHECK_OK(mw_table_writer_delete(w, &b, &sc, &e), &e);
  if (b.release) b.release(&b);
  CHECK_OK(mw_table_writer_close(w, 1, &e), &e);
  CHECK_OK(mw_table_merge(NULL, s, NULL, &e), &e);
  /* the base: name -> id, each name once */
  int64_t got[20];
  int seen[20] = {0}, bad = 0;
  mw_table *t = NULL;
  mw_merge_manifest *m = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) CHECK_OK(mw_merge_manifest_read(&m, s, "", t->version, &e), &e);
  for (size_t f = 0; m && f < m->n_frags; f++) {
    mw_rowset del = {0};
    CHECK_OK(mw_merge_read_deletions(&del, s, "", &m->frags[f], &e), &e);
    char key[256];
    snprintf(key, sizeof key, "data/%s", m->frags[f].files[0].path);
    mw_lance_reader *r = NULL;
    CHECK_OK(mw_lance_reader_open_store(&r, s, key, &e), &e);
    struct ArrowSchema rs;
    struct ArrowArray rb;
    if (r && mw_lance_reader_read(&rs, &rb, r, NULL, 0, 0, UINT64_MAX, &e) == MW_OK) {
      const int64_t *iv = rb.children[0]->buffers[1];
      const int32_t *off = rb.children[1]->buffers[1];
      const char *ch = rb.children[1]->buffers[2];
      for (int64_t i = 0; i < rb.length; i++) {
        if (mw_rowset_has(&del, (uint32_t)i)) continue;
        int k = atoi(ch + off[i] + 1); /* "k<N>" */
        if (k < 0 || k >= 20 || seen[k]++) bad++;
        else got[k] = iv[i];
      }
      rb.release(&rb);
      rs.release(&rs);
    } else {
      bad++;
    }
    mw_lance_reader_free(r);
    mw_rowset_free(&del);
  }
  mw_merge_manifest_free(m);
  mw_table_close(t);
  CHECK_INT(bad, 0);
  int wrong = 0;
  for (int k = 0; k < 20; k++) {
    bool want = k < 15 && k != 6 && k != 7;
    int64_t want_id = k < 5 ? k : 100 + k;
    if (seen[k] != (want ? 1 : 0) || (want && got[k] != want_id)) wrong++;
  }
  CHECK_INT(wrong, 0);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_refusals(void) {
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_mem_open(&s, "", &e), &e);
  CHECK_INT(mw_table_merge(NULL, s, NULL, &e), MW_ERR_NOT_FOUND); /* not a table */
  struct ArrowSchema sc;
  make_schema(&sc);
  CHECK_OK(mw_table_create(s, &sc, NULL, 0, &e), &e);
  CHECK_INT(mw_table_merge(NULL, s, NULL, &e), MW_ERR_INVALID); /* no MemWAL spec */
  CHECK(strstr(e.message, "MemWAL") != NULL);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* Flipped bytes in a real manifest: parsed or refused, never a crash. */
static void test_manifest_flips(void) {
  mw_objstore *s = clone_store(g_template);
  mw_error e = {0};
  CHECK_OK(mw_table_merge(NULL, s, NULL, &e), &e);
  char key[64];
  mw_lance_manifest_key(key, sizeof key, 8);
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK_OK(mw_objstore_get(s, &d, &n, key, 0, MW_OBJSTORE_TO_END, &e), &e);
  uint64_t seed = 7;
  int parsed = 0;
  for (int k = 0; k < 20000 && n; k++) {
    uint8_t *c = malloc(n);
    memcpy(c, d, n);
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    c[(seed >> 33) % n] ^= (uint8_t)(1u << ((seed >> 20) % 8));
    mw_merge_manifest *m = NULL;
    mw_status st = mw_merge_manifest_parse(&m, c, n, "flip", NULL);
    CHECK(st == MW_OK || st == MW_ERR_CORRUPT || st == MW_ERR_NOMEM);
    parsed += st == MW_OK;
    mw_merge_manifest_free(m);
  }
  CHECK(parsed > 0);
  mw_merge_manifest *m = NULL;
  uint8_t *c = malloc(n);
  memcpy(c, d, n);
  CHECK_OK(mw_merge_manifest_parse(&m, c, n, "ok", &e), &e);
  if (m) {
    CHECK(m->n_frags >= 3);
    CHECK(m->reader_flags & MW_LANCE_FLAG_DELETION_FILES);
  }
  mw_merge_manifest_free(m);
  mw_free(d);
  mw_objstore_close(s);
}

/* ------------------------------------------------------ garbage collection
 * (src/table/gc.c) on copies of the merged-or-not template, in memory://
 * and in a file:// folder. */

static mw_objstore *clone_into(mw_objstore *src, mw_objstore *dst) {
  mw_error e = {0};
  clone_ctx c = {src, dst, 0};
  CHECK_OK(mw_objstore_list(src, "", clone_one, &c, &e), &e);
  CHECK_INT(c.fails, 0);
  return dst;
}

static char gc_root[64];
static int gc_file_n;

/* A copy of the template in a memory store (file == false) or in a fresh
 * folder under gc_root. */
static mw_objstore *gc_store(bool file) {
  if (!file) return clone_store(g_template);
  char uri[128];
  snprintf(uri, sizeof uri, "file://%s/t%d/", gc_root, gc_file_n++);
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_open(&s, uri, NULL, &e), &e);
  return clone_into(g_template, s);
}

typedef struct gc_count {
  int keep, remove, replace, temp; /* temp: removals of temp files */
  char reason[256]; /* the last keep reason */
} gc_count;

static void gc_report(void *ctx, const mw_table_gc_item *it) {
  gc_count *c = ctx;
  if (strcmp(it->action, "keep") == 0) {
    c->keep++;
    snprintf(c->reason, sizeof c->reason, "%s", it->reason);
  } else if (strcmp(it->action, "remove") == 0) {
    c->remove++;
    if (strncmp(it->reason, "temp file", 9) == 0) c->temp++;
  } else if (strcmp(it->action, "replace") == 0) {
    c->replace++;
  }
}

/* Runs gc; returns its JSON (mw_free) and fills the counts. */
static char *run_gc(mw_objstore *s, bool dry, gc_count *c) {
  mw_table_gc_options o;
  mw_table_gc_options_init(&o);
  o.dry_run = dry;
  o.report = gc_report;
  gc_count local;
  if (!c) c = &local;
  memset(c, 0, sizeof *c);
  o.report_ctx = c;
  char *json = NULL;
  mw_error e = {0};
  CHECK_OK(mw_table_gc(&json, s, &o, &e), &e);
  return json;
}

static int count_gen_file(void *arg, const char *key, uint64_t size) {
  (void)size;
  if (strstr(key, "_gen_")) (*(int *)arg)++;
  return 0;
}

/* Files inside generation folders. */
static int gen_files(mw_objstore *s) {
  int n = 0;
  mw_error e = {0};
  CHECK_OK(mw_objstore_list(s, "_mem_wal/", count_gen_file, &n, &e), &e);
  return n;
}

typedef struct vkeys {
  char k[64][64];
  int n;
} vkeys;

static int collect_version(void *arg, const char *key, uint64_t size) {
  (void)size;
  vkeys *v = arg;
  size_t l = strlen(key);
  if (l > 9 && strcmp(key + l - 9, ".manifest") == 0 && v->n < 64) snprintf(v->k[v->n++], 64, "%s", key);
  return 0;
}

/* What LanceDB's cleanup of old versions does to _versions/: every
 * manifest but the latest goes. */
static void drop_old_versions(mw_objstore *s) {
  uint64_t latest = 0;
  mw_error e = {0};
  CHECK_OK(mw_lance_table_latest_version(&latest, s, &e), &e);
  char keep[128];
  mw_lance_manifest_key(keep, sizeof keep, latest);
  vkeys v = {.n = 0};
  CHECK_OK(mw_objstore_list(s, "_versions/", collect_version, &v, &e), &e);
  for (int i = 0; i < v.n; i++)
    if (strcmp(v.k[i], keep) != 0) CHECK_OK(mw_objstore_delete(s, v.k[i], &e), &e);
}

/* Commits version V + 1 of the table: index `name` (details of type
 * `type_url`) added to the index section, and the MemWAL details' index
 * catch-up set to [name: every shard at generation `caught`] (no entry
 * when caught is 0). */
static void commit_index(mw_objstore *s, const char *name, const char *type_url, uint64_t caught) {
  mw_table *t = NULL;
  mw_error e = {0};
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (!t || !t->mem_wal || !t->manifest->index) {
    CHECK(false);
    mw_table_close(t);
    return;
  }
  size_t ns = t->n_shards;
  Lance__Table__LanceUuid su[8];
  Lance__Table__CompactedSsTableProto cs[8];
  Lance__Table__CompactedSsTableProto *csp[8];
  for (size_t i = 0; i < ns && i < 8; i++) {
    su[i] = (Lance__Table__LanceUuid)LANCE__TABLE__LANCE_UUID__INIT;
    su[i].has_uuid = 1;
    su[i].uuid.len = 16;
    su[i].uuid.data = t->shards[i];
    cs[i] = (Lance__Table__CompactedSsTableProto)LANCE__TABLE__COMPACTED_SS_TABLE_PROTO__INIT;
    cs[i].shard_id = &su[i];
    cs[i].has_generation = 1;
    cs[i].generation = caught;
    csp[i] = &cs[i];
  }
  Lance__Table__IndexCatchupProgressProto cu = LANCE__TABLE__INDEX_CATCHUP_PROGRESS_PROTO__INIT;
  cu.index_name = (char *)name;
  cu.n_caught_up_generations = ns;
  cu.caught_up_generations = csp;
  Lance__Table__IndexCatchupProgressProto *cup[1] = {&cu};
  Lance__Table__MemWalIndexDetailsProto d = *t->mem_wal;
  d.n_index_catchup = caught ? 1 : 0;
  d.index_catchup = cup;
  size_t dl = lance__table__mem_wal_index_details_proto__get_packed_size(&d);
  uint8_t *db = malloc(dl + 1);
  lance__table__mem_wal_index_details_proto__pack(&d, db);
  Lance__Table__AnyProto mwany = *t->mem_wal_index->index_details;
  mwany.value.len = dl;
  mwany.value.data = db;
  Lance__Table__IndexMetadataProto mwidx = *t->mem_wal_index;
  mwidx.index_details = &mwany;
  uint8_t iu[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
  Lance__Table__LanceUuid iuu = LANCE__TABLE__LANCE_UUID__INIT;
  iuu.has_uuid = 1;
  iuu.uuid.len = 16;
  iuu.uuid.data = iu;
  Lance__Table__AnyProto nany = LANCE__TABLE__ANY_PROTO__INIT;
  nany.type_url = (char *)type_url;
  Lance__Table__IndexMetadataProto nidx = LANCE__TABLE__INDEX_METADATA_PROTO__INIT;
  nidx.uuid = &iuu;
  nidx.name = (char *)name;
  int32_t fld[1] = {1};
  nidx.n_fields = 1;
  nidx.fields = fld;
  nidx.has_dataset_version = 1;
  nidx.dataset_version = t->version;
  nidx.index_details = &nany;
  const Lance__Table__IndexSectionProto *old = t->manifest->index;
  Lance__Table__IndexMetadataProto **ip = calloc(old->n_indices + 1, sizeof *ip);
  size_t ni = 0;
  bool have = false;
  for (size_t i = 0; i < old->n_indices; i++) {
    if (old->indices[i] == t->mem_wal_index) ip[ni++] = &mwidx;
    else ip[ni++] = old->indices[i];
    if (old->indices[i]->name && strcmp(old->indices[i]->name, name) == 0) have = true;
  }
  if (!have) ip[ni++] = &nidx;
  Lance__Table__IndexSectionProto sec = *old;
  sec.n_indices = ni;
  sec.indices = ip;
  Lance__Table__IndexMetadataProto *np[1] = {&mwidx};
  Lance__Table__TxnCreateIndexProto ci = LANCE__TABLE__TXN_CREATE_INDEX_PROTO__INIT;
  ci.n_new_indices = 1;
  ci.new_indices = np;
  char tuuid[MW_UUID_STR_LEN + 1], txn_file[96];
  uint8_t tu[16];
  CHECK_OK(mw_uuid_v4(tu, &e), &e);
  mw_uuid_format(tuuid, tu);
  snprintf(txn_file, sizeof txn_file, "%" PRIu64 "-%s.txn", t->version, tuuid);
  Lance__Table__TransactionProto txn = LANCE__TABLE__TRANSACTION_PROTO__INIT;
  txn.has_read_version = 1;
  txn.read_version = t->version;
  txn.uuid = tuuid;
  txn.create_index = &ci;
  Lance__Table__TableManifest m = *t->manifest->pb;
  m.has_version = 1;
  m.version = t->version + 1;
  m.transaction_file = txn_file;
  uint8_t *file = NULL;
  size_t fl = 0;
  CHECK_OK(mw_lance_table_manifest_encode(&file, &fl, &m, &sec, &txn, &e), &e);
  if (file) CHECK_OK(mw_lance_table_commit(s, t->version + 1, file, fl, txn_file, &txn, &e), &e);
  free(file);
  free(ip);
  free(db);
  mw_table_close(t);
}

static void merge_all(mw_objstore *s) {
  mw_error e = {0};
  CHECK_OK(mw_table_merge(NULL, s, NULL, &e), &e);
}

static void check_views(mw_objstore *s, const char *what) {
  view v;
  read_view(&v, s, true);
  int d1 = diff_expected(&v);
  read_view(&v, s, false);
  int d2 = diff_expected(&v);
  if (d1 || d2) fprintf(stderr, "%s: LSM view %d, base view %d mismatches\n", what, d1, d2);
  CHECK_INT(d1, 0);
  CHECK_INT(d2, 0);
}

/* The decision steps of the brief, on memory:// and file://. */
/* Temp files of interrupted writes (a writer killed while the file store
 * wrote a ".tmp-*" file): gc removes those at least an hour old, under the
 * whole table or under the given shard's folder, reports each, counts them
 * in its JSON, and leaves younger ones and every object alone; --dry-run
 * removes none. */
static int count_all(void *arg, const char *key, uint64_t size) {
  (void)key;
  (void)size;
  (*(int *)arg)++;
  return 0;
}

static void make_temp(const char *root, const char *rel, long age_s) {
  char path[512], cmd[1200];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\" && printf 'partial' > '%s'", path, path);
  CHECK_INT(system(cmd), 0);
  struct timespec ts[2];
  clock_gettime(CLOCK_REALTIME, &ts[0]);
  ts[0].tv_sec -= age_s;
  ts[1] = ts[0];
  CHECK_INT(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool file_exists(const char *root, const char *rel) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  return access(path, F_OK) == 0;
}

static void test_gc_temp_files(void) {
  mw_objstore *s = gc_store(true);
  char root[300];
  snprintf(root, sizeof root, "%s/t%d", gc_root, gc_file_n - 1);
  gc_count c;
  mw_free(run_gc(s, false, &c)); /* what gc removes anyway goes first */
  CHECK_INT(c.temp, 0);
  int objects0 = 0;
  mw_error e = {0};
  CHECK_OK(mw_objstore_list(s, "", count_all, &objects0, &e), &e);
  const char *old1 = "_versions/.tmp-4242-1-aaaa", *old2 = "_mem_wal/x/_gen_1/data/.tmp-4242-2-bbbb";
  const char *young = "_mem_wal/x/.tmp-4242-3-cccc";
  make_temp(root, old1, 7200);
  make_temp(root, old2, 3 * 86400);
  make_temp(root, young, 60);
  char *j = run_gc(s, true, &c); /* dry run: reported, nothing removed */
  CHECK_INT(json_u64(j, "temp_files_removed"), 2);
  CHECK_INT(json_u64(j, "temp_bytes_freed"), 14);
  CHECK_INT(c.temp, 2);
  mw_free(j);
  CHECK(file_exists(root, old1) && file_exists(root, old2) && file_exists(root, young));
  /* a shard given: only its folder (x is no shard, so nothing) */
  mw_table_gc_options o;
  mw_table_gc_options_init(&o);
  o.shard = "00000000-0000-0000-0000-000000000001";
  char *jo = NULL;
  mw_status st = mw_table_gc(&jo, s, &o, &e);
  if (st == MW_OK) CHECK_INT(json_u64(jo, "temp_files_removed"), 0);
  mw_free(jo);
  CHECK(file_exists(root, old1) && file_exists(root, old2));
  j = run_gc(s, false, &c);
  CHECK_INT(json_u64(j, "temp_files_removed"), 2);
  CHECK_INT(c.temp, 2);
  mw_free(j);
  CHECK(!file_exists(root, old1) && !file_exists(root, old2) && file_exists(root, young));
  int objects1 = 0;
  CHECK_OK(mw_objstore_list(s, "", count_all, &objects1, &e), &e);
  CHECK_INT(objects1, objects0); /* temp files were never objects */
  /* again: nothing old is left */
  j = run_gc(s, false, &c);
  CHECK_INT(json_u64(j, "temp_files_removed"), 0);
  mw_free(j);
  /* a memory store has none */
  mw_objstore *m = gc_store(false);
  j = run_gc(m, false, &c);
  CHECK_INT(json_u64(j, "temp_files_removed"), 0);
  mw_free(j);
  mw_objstore_close(m);
  mw_objstore_close(s);
}

static void test_gc_generations(void) {
  for (int file = 0; file < 2; file++) {
    mw_objstore *s = gc_store(file);
    int files0 = gen_files(s);
    CHECK(files0 > 0);
    gc_count c;
    /* not merged: every generation kept */
    char *j = run_gc(s, false, &c);
    CHECK_INT(json_u64(j, "generations_removed"), 0);
    CHECK_INT(c.keep, 6);
    CHECK(strstr(c.reason, "not merged (watermark 0)") != NULL);
    CHECK(strstr(j, "\"kept\":[{\"shard\":") != NULL);
    mw_free(j);
    merge_all(s);
    /* merged, but the versions before the merges still read them */
    j = run_gc(s, false, &c);
    CHECK_INT(json_u64(j, "generations_removed"), 0);
    CHECK_INT(c.keep, 6);
    CHECK(strstr(c.reason, "still reads it") != NULL);
    mw_free(j);
    CHECK_INT(gen_files(s), files0);
    drop_old_versions(s);
    /* dry run: names them, removes nothing */
    j = run_gc(s, true, &c);
    CHECK_INT(json_u64(j, "generations_removed"), 6);
    CHECK(strstr(j, "\"dry_run\":true") != NULL);
    CHECK_INT(c.remove >= 6, 1);
    mw_free(j);
    CHECK_INT(gen_files(s), files0);
    j = run_gc(s, false, &c);
    CHECK_INT(json_u64(j, "generations_removed"), 6);
    CHECK(json_u64(j, "bytes_freed") > 0);
    CHECK_INT(c.keep, 0);
    mw_free(j);
    CHECK_INT(gen_files(s), 0);
    check_views(s, "after gc");
    /* idempotent: nothing left to do */
    j = run_gc(s, false, &c);
    CHECK_INT(json_u64(j, "generations_removed"), 0);
    CHECK_INT(json_u64(j, "wal_entries_removed"), 0);
    CHECK_INT(json_u64(j, "wal_entries_replaced"), 0);
    mw_free(j);
    /* the merger and the table writer after gc: a reopened writer replays
     * and flushes (no missing-generation error), merge and gc go on */
    mw_table_writer_config wc;
    mw_table_writer_config_init(&wc);
    wc.shard.log_fn = quiet_log;
    struct ArrowSchema sc;
    make_schema(&sc);
    mw_table_writer *w = NULL;
    mw_error e = {0};
    CHECK_OK(mw_table_merge(NULL, s, NULL, &e), &e);
    CHECK_OK(mw_table_writer_open(&w, s, &wc, &sc, &e), &e);
    bool saved_has[MAXID];
    char saved_name[MAXID][16];
    memcpy(saved_has, expect_has, sizeof saved_has);
    memcpy(saved_name, expect_name, sizeof saved_name);
    if (w) {
      struct ArrowArray b = make_batch(300, 20);
      CHECK_OK(mw_table_writer_put(w, &b, 1, &e), &e);
      for (int i = 300; i < 320; i++) {
        char n[16];
        snprintf(n, sizeof n, "n%d", i);
        expect_put(i, n);
      }
      CHECK_OK(mw_table_writer_flush_memtables(w, &e), &e);
      CHECK_OK(mw_table_writer_close(w, 1, &e), &e);
    }
    view v;
    read_view(&v, s, true);
    CHECK_INT(diff_expected(&v), 0);
    merge_all(s);
    drop_old_versions(s);
    j = run_gc(s, false, &c);
    CHECK(json_u64(j, "generations_removed") >= 2);
    mw_free(j);
    CHECK_INT(gen_files(s), 0);
    check_views(s, "after the second gc");
    memcpy(expect_has, saved_has, sizeof saved_has);
    memcpy(expect_name, saved_name, sizeof saved_name);
    mw_schema_release(&sc);
    mw_objstore_close(s);
  }
}

/* An FTS index LanceDB has not re-indexed the merged generations for keeps
 * them; once index_catchup covers them they go. */
static void test_gc_index(void) {
  mw_objstore *s = gc_store(false);
  merge_all(s);
  commit_index(s, "text_idx", "/lance.table.InvertedIndexDetails", 0);
  drop_old_versions(s);
  gc_count c;
  char *j = run_gc(s, false, &c);
  CHECK_INT(json_u64(j, "generations_removed"), 0);
  CHECK_INT(c.keep, 6);
  CHECK(strstr(c.reason, "index text_idx has not caught up (watermark 0)") != NULL);
  mw_free(j);
  commit_index(s, "text_idx", "/lance.table.InvertedIndexDetails", 2);
  drop_old_versions(s);
  j = run_gc(s, false, &c);
  CHECK_INT(json_u64(j, "generations_removed"), 4); /* generation 3 of each shard waits */
  CHECK_INT(c.keep, 2);
  CHECK(strstr(c.reason, "index text_idx has not caught up (watermark 2)") != NULL);
  mw_free(j);
  commit_index(s, "text_idx", "/lance.table.InvertedIndexDetails", 3);
  /* the version before (catch-up 2) is still there */
  j = run_gc(s, false, &c);
  CHECK_INT(json_u64(j, "generations_removed"), 0);
  CHECK(strstr(c.reason, "still reads it (watermark 2)") != NULL);
  mw_free(j);
  drop_old_versions(s);
  j = run_gc(s, false, &c);
  CHECK_INT(json_u64(j, "generations_removed"), 2);
  mw_free(j);
  CHECK_INT(gen_files(s), 0);
  check_views(s, "after index catch-up and gc");
  mw_objstore_close(s);
}

/* A failure at each write / read of gc, then a rerun: the table reads
 * right after the failure and the rerun finishes the job. */
static void test_gc_faults(void) {
  mw_objstore *ready = clone_store(g_template);
  merge_all(ready);
  drop_old_versions(ready);
  static const struct { unsigned ops; mw_fault_kind kind; mw_fault_mode mode; const char *name; } kinds[] = {
    {MW_FAULT_WRITES, MW_FAULT_ERROR, MW_FAULT_PERSISTENT, "error"},
    {MW_FAULT_WRITES, MW_FAULT_WROTE_ERROR, MW_FAULT_ONCE, "wrote-error"},
    {MW_FAULT_WRITES, MW_FAULT_CRASH, MW_FAULT_ONCE, "crash"},
    {MW_FAULT_READS, MW_FAULT_ERROR, MW_FAULT_ONCE, "read-error"},
  };
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    int runs = 0, failed = 0;
    for (uint64_t nth = 1; nth < 2000; nth++) {
      mw_objstore *inner = clone_store(ready);
      mw_objstore *f = NULL;
      mw_error e = {0};
      CHECK_OK(mw_objstore_fault_new(&f, inner, &e), &e);
      mw_fault_spec spec = {.ops = kinds[k].ops, .nth = nth, .kind = kinds[k].kind, .mode = kinds[k].mode};
      CHECK_OK(mw_objstore_fault_arm(f, &spec, &e), &e);
      mw_status st = mw_table_gc(NULL, f, NULL, &e);
      mw_fault_counters fc;
      mw_objstore_fault_counters(f, &fc);
      mw_objstore_fault_reset(f);
      mw_objstore_close(f);
      runs++;
      if (st != MW_OK) failed++;
      check_views(inner, kinds[k].name);
      char *j = NULL;
      mw_status st2 = mw_table_gc(&j, inner, NULL, &e);
      if (st2 != MW_OK) fprintf(stderr, "gc rerun after %s at %" PRIu64 ": %s\n", kinds[k].name, nth, e.message);
      CHECK_OK(st2, &e);
      mw_free(j);
      CHECK_INT(gen_files(inner), 0);
      check_views(inner, "rerun");
      j = NULL;
      CHECK_OK(mw_table_gc(&j, inner, NULL, &e), &e);
      CHECK_INT(json_u64(j, "generations_removed"), 0);
      CHECK_INT(json_u64(j, "wal_entries_removed"), 0);
      CHECK_INT(json_u64(j, "wal_entries_replaced"), 0);
      mw_free(j);
      mw_objstore_close(inner);
      if (fc.injected == 0) break;
    }
    fprintf(stderr, "gc %s: %d runs, %d failed\n", kinds[k].name, runs, failed);
    CHECK(failed >= 6);
  }
  mw_objstore_close(ready);
}

/* A stale writer (older epoch, still open) must stay fenced after gc: its
 * next put collides with an entry gc kept (or a placeholder) and fails;
 * nothing it had acknowledged is lost. */
static void test_gc_stale_writer(void) {
  for (int file = 0; file < 2; file++) {
    mw_objstore *s = gc_store(file);
    bool saved_has[MAXID];
    char saved_name[MAXID][16];
    memcpy(saved_has, expect_has, sizeof saved_has);
    memcpy(saved_name, expect_name, sizeof saved_name);
    mw_table_writer_config wc;
    mw_table_writer_config_init(&wc);
    wc.shard.log_fn = quiet_log;
    struct ArrowSchema sc;
    make_schema(&sc);
    mw_error e = {0};
    mw_table_writer *a = NULL, *b = NULL;
    CHECK_OK(mw_table_writer_open(&a, s, &wc, &sc, &e), &e);
    struct ArrowArray x = make_batch(400, 10); /* acknowledged by A */
    if (a) CHECK_OK(mw_table_writer_put(a, &x, 1, &e), &e);
    for (int i = 400; i < 410; i++) {
      char n[16];
      snprintf(n, sizeof n, "n%d", i);
      expect_put(i, n);
    }
    CHECK_OK(mw_table_writer_open(&b, s, &wc, &sc, &e), &e); /* fences A, replays its rows */
    if (b) {
      for (int r = 0; r < 3; r++) {
        x = make_batch(410 + 10 * r, 10);
        CHECK_OK(mw_table_writer_put(b, &x, 1, &e), &e);
        CHECK_OK(mw_table_writer_flush_memtables(b, &e), &e);
      }
      CHECK_OK(mw_table_writer_close(b, 1, &e), &e);
    }
    for (int i = 410; i < 440; i++) {
      char n[16];
      snprintf(n, sizeof n, "n%d", i);
      expect_put(i, n);
    }
    merge_all(s);
    drop_old_versions(s);
    if (file) {
      /* an incomplete epoch history (shard manifest version 1 gone): no
       * WAL entry may be deleted, data entries become placeholders */
      mw_table *t = NULL;
      CHECK_OK(mw_table_open(&t, s, &e), &e);
      for (size_t i = 0; t && i < t->n_shards; i++) {
        char sid[MW_UUID_STR_LEN + 1], key[MW_KEY_SIZE];
        mw_uuid_format(sid, t->shards[i]);
        mw_manifest_version_key(key, sid, 1);
        CHECK_OK(mw_objstore_delete(s, key, &e), &e);
      }
      mw_table_close(t);
    }
    gc_count c;
    char *j = run_gc(s, false, &c);
    CHECK(json_u64(j, "generations_removed") >= 6);
    if (file) {
      CHECK_INT(json_u64(j, "wal_entries_removed"), 0);
      CHECK(json_u64(j, "wal_entries_replaced") > 0);
      CHECK_INT(c.replace, (int)json_u64(j, "wal_entries_replaced"));
    } else {
      CHECK(json_u64(j, "wal_entries_removed") > 0);
    }
    mw_free(j);
    check_views(s, "stale writer: after gc");
    if (file) {
      /* a placeholder: no batch, the original epoch, the marker */
      mw_table *t = NULL;
      CHECK_OK(mw_table_open(&t, s, &e), &e);
      int placeholders = 0;
      for (size_t i = 0; t && i < t->n_shards; i++) {
        char sid[MW_UUID_STR_LEN + 1], key[MW_KEY_SIZE];
        mw_uuid_format(sid, t->shards[i]);
        for (uint64_t p = 0; p < 64; p++) {
          mw_wal_entry_key(key, sid, p);
          uint8_t *d = NULL;
          size_t n = 0;
          if (mw_objstore_get(s, &d, &n, key, 0, MW_OBJSTORE_TO_END, NULL) != MW_OK) continue;
          mw_wal_entry ent;
          memset(&ent, 0, sizeof ent);
          if (mw_wal_decode_entry(&ent, d, n, p, key, &e) == MW_OK) {
            const char *m = ent.schema.metadata;
            if (ent.n_batches == 0 && m && n < 400) {
              mw_kv kv;
              if (mw_metadata_find(m, "memwal_gc_placeholder", &kv)) {
                placeholders++;
                CHECK(ent.writer_epoch >= 1 && ent.writer_epoch <= 3);
              }
            }
            mw_wal_entry_release(&ent);
          } else {
            CHECK(false);
          }
          mw_free(d);
        }
      }
      mw_table_close(t);
      CHECK(placeholders > 0);
    }
    /* A writes again: fenced, and nothing of it lands */
    x = make_batch(450, 5);
    mw_status st = a ? mw_table_writer_put(a, &x, 1, &e) : MW_ERR_FENCED;
    /* the table writer reports it as rows not known durable, naming the fence */
    CHECK(st != MW_OK);
    if (st != MW_OK && !strstr(e.message, "writer fenced")) fprintf(stderr, "stale put: %s\n", e.message);
    CHECK(st == MW_OK || strstr(e.message, "writer fenced: local epoch") != NULL);
    if (a) (void)mw_table_writer_close(a, 0, NULL);
    check_views(s, "stale writer: after its refused put");
    /* a writer reopened after gc replays what is left and goes on */
    mw_table_writer *w = NULL;
    CHECK_OK(mw_table_writer_open(&w, s, &wc, &sc, &e), &e);
    if (w) {
      x = make_batch(460, 5);
      CHECK_OK(mw_table_writer_put(w, &x, 1, &e), &e);
      CHECK_OK(mw_table_writer_close(w, 1, &e), &e);
    }
    for (int i = 460; i < 465; i++) {
      char n[16];
      snprintf(n, sizeof n, "n%d", i);
      expect_put(i, n);
    }
    view v;
    read_view(&v, s, true);
    CHECK_INT(diff_expected(&v), 0);
    memcpy(expect_has, saved_has, sizeof saved_has);
    memcpy(expect_name, saved_name, sizeof saved_name);
    mw_schema_release(&sc);
    mw_objstore_close(s);
  }
}


/* gc looping on one thread while a writer puts and flushes and a merger
 * merges on another: every gc succeeds, and at the end (old versions
 * dropped, a last gc) both views are right and no generation is left. */
typedef struct gc_loop {
  mw_objstore *s;
  atomic_int stop;
  int runs, errors;
} gc_loop;

static void *gc_loop_main(void *p) {
  gc_loop *g = p;
  while (!atomic_load(&g->stop)) {
    mw_error e = {0};
    if (mw_table_gc(NULL, g->s, NULL, &e) != MW_OK) {
      fprintf(stderr, "concurrent gc: %s\n", e.message);
      g->errors++;
    }
    g->runs++;
  }
  return NULL;
}

static void test_gc_concurrent(void) {
  mw_objstore *s = clone_store(g_template);
  merge_all(s);
  drop_old_versions(s);
  bool saved_has[MAXID];
  char saved_name[MAXID][16];
  memcpy(saved_has, expect_has, sizeof saved_has);
  memcpy(saved_name, expect_name, sizeof saved_name);
  gc_loop g = {.s = s};
  atomic_init(&g.stop, 0);
  pthread_t th;
  CHECK_INT(pthread_create(&th, NULL, gc_loop_main, &g), 0);
  mw_table_writer_config wc;
  mw_table_writer_config_init(&wc);
  wc.shard.log_fn = quiet_log;
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_error e = {0};
  for (int r = 0; r < 3; r++) {
    mw_table_writer *w = NULL;
    CHECK_OK(mw_table_writer_open(&w, s, &wc, &sc, &e), &e);
    if (!w) break;
    for (int k = 0; k < 2; k++) {
      struct ArrowArray x = make_batch(500 + 20 * r + 10 * k, 10);
      CHECK_OK(mw_table_writer_put(w, &x, 1, &e), &e);
      CHECK_OK(mw_table_writer_flush_memtables(w, &e), &e);
    }
    CHECK_OK(mw_table_writer_close(w, 1, &e), &e);
    for (int i = 500 + 20 * r; i < 520 + 20 * r; i++) {
      char n[16];
      snprintf(n, sizeof n, "n%d", i);
      expect_put(i, n);
    }
    merge_all(s);
    view v;
    read_view(&v, s, true);
    CHECK_INT(diff_expected(&v), 0);
  }
  atomic_store(&g.stop, 1);
  pthread_join(th, NULL);
  fprintf(stderr, "concurrent gc: %d runs, %d errors\n", g.runs, g.errors);
  CHECK(g.runs > 0);
  CHECK_INT(g.errors, 0);
  drop_old_versions(s);
  char *j = run_gc(s, false, NULL);
  mw_free(j);
  CHECK_INT(gen_files(s), 0);
  check_views(s, "after concurrent gc");
  memcpy(expect_has, saved_has, sizeof saved_has);
  memcpy(expect_name, saved_name, sizeof saved_name);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

int main(void) {
  (void)scan_ids; /* from writer_test_util.h, unused here */
  MW_RUN(test_roaring);
  MW_RUN(test_arrow_deletions);
  mw_error e = {0};
  CHECK_OK(mw_objstore_mem_open(&g_template, "", &e), &e);
  build_table(g_template);
  MW_RUN(test_refusals);
  MW_RUN(test_merge_all);
  MW_RUN(test_up_to_and_shard);
  MW_RUN(test_manifest_flips);
  MW_RUN(test_kill9);
  MW_RUN(test_race);
  MW_RUN(test_lost_race);
  MW_RUN(test_refused_flags);
  MW_RUN(test_string_key);
  MW_RUN(test_faults);
  snprintf(gc_root, sizeof gc_root, "/tmp/mw_test_gc_XXXXXX");
  if (!mkdtemp(gc_root)) {
    perror("mkdtemp");
    return 1;
  }
  MW_RUN(test_gc_generations);
  MW_RUN(test_gc_index);
  MW_RUN(test_gc_faults);
  MW_RUN(test_gc_stale_writer);
  MW_RUN(test_gc_concurrent);
  MW_RUN(test_gc_temp_files);
  {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", gc_root);
    CHECK_INT(system(cmd), 0);
  }
  MW_RUN(test_whole_fragment_removed); /* last: changes the expected table */
  mw_objstore_close(g_template);
  return mw_test_finish();
}
