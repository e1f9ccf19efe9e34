/* memtable_flush_suite.h - the ShardWriter's MemTable flusher, on any
 * object store: freeze triggers, generations flushed in order with exact
 * shard-manifest fields, replay of only the unflushed WAL, explicit flush
 * and close option, dedup inside a generation, WAL entries never mixing
 * generations, backpressure released by flushes, fencing, faults at every
 * object-store call of a flush (the fault wrapper wraps any store), and
 * SIGKILL during flushing (not on memory://, which dies with the writer).
 * Generation folders are read back with lance_test_read.h (ids of column 0,
 * names of column 1).
 *
 * Included by test_memtable_flush.c (memory:// and file://) and
 * test_memtable_flush_s3.c (s3:// on radosgw). mtf_run_suite(base) runs
 * every test with its stores under `base` (wt_store of writer_test_util.h). */
#ifndef MW_MEMTABLE_FLUSH_SUITE_H
#define MW_MEMTABLE_FLUSH_SUITE_H

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arrow/c_data.h"
#include "common/uuid.h"
#include "lance_test_read.h"
#include "manifest/manifest_store.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "mw_test.h"
#include "objstore/objstore_fault.h"
#include "writer_test_util.h"

static const char *SHARD = "22222222-3333-4444-8555-666666666666";

static void cfg_init(mw_shard_writer_config *c, int durable) {
  mw_shard_writer_config_init(c);
  c->first_wal_entry_position = 0; /* the position arithmetic below is 0-based */
  c->log_fn = quiet_log;
  snprintf(c->shard_id, sizeof c->shard_id, "%s", SHARD);
  c->durable_write = durable;
}

static mw_status put1(mw_shard_writer *w, int64_t first, int64_t n) {
  struct ArrowArray b = make_batch(first, n);
  mw_error e = {0};
  mw_status s = mw_shard_writer_put(NULL, w, &b, 1, &e);
  if (b.release) b.release(&b);
  return s;
}

/* ------------------------------------------------------- reading back */

static mw_shard_manifest *latest_manifest(mw_objstore *store) {
  uint8_t u[16];
  mw_error e = {0};
  mw_uuid_parse(u, SHARD, &e);
  mw_manifest_store *ms = NULL;
  mw_shard_manifest *m = NULL;
  if (mw_manifest_store_open(&ms, store, u, 2, &e) == MW_OK) mw_manifest_store_read_latest(&m, ms, &e);
  mw_manifest_store_close(ms);
  return m;
}

typedef struct keylist {
  char keys[64][256];
  int n;
} keylist;

static int list_cb(void *arg, const char *key, uint64_t size) {
  keylist *l = arg;
  (void)size;
  if (l->n < 64) snprintf(l->keys[l->n++], sizeof l->keys[0], "%s", key);
  return 0;
}

/* Values of page p of column c. 2.0 files: buffer 0 holds the values
 * (fixed width) or buffer 1 the string bytes. 2.1 files (mini-block, no
 * nulls here): buffer 1 is a run of chunks, each: u16 0 (no def levels),
 * u16 value bytes, pad to 8, the value buffer padded to 8; a string value
 * buffer is (k + 1) u32 offsets relative to its start, then the bytes.
 * Fixed: appends int64 values to ids; strings: appends bytes to names. */
static bool page_values(const uint8_t *d, size_t len, bool v21, uint32_t c, int p, bool strings, int64_t *ids,
                        size_t cap, size_t *n, char *names, size_t names_cap, uint64_t *out_rows) {
  uint64_t rows, bl;
  const uint8_t *buf;
  if (!v21) {
    if (!lt_page_buffer(d, len, c, p, strings ? 1 : 0, &rows, &buf, &bl)) return false;
    if (!strings) {
      if (bl != rows * 8) return false;
      for (uint64_t i = 0; i < rows; i++)
        if (*n < cap) ids[(*n)++] = (int64_t)mw_load_u64le(buf + 8 * i);
    } else {
      size_t k = strlen(names);
      if (k + bl >= names_cap) return false;
      memcpy(names + k, buf, bl);
      names[k + bl] = 0;
    }
    *out_rows = rows;
    return true;
  }
  if (!lt_page_buffer(d, len, c, p, 1, &rows, &buf, &bl)) return false;
  uint64_t got = 0;
  for (uint64_t off = 0; off < bl;) {
    if (bl - off < 8 || mw_load_u16le(buf + off) != 0) return false;
    uint64_t vb = mw_load_u16le(buf + off + 2);
    const uint8_t *v = buf + off + 8;
    if (vb > bl - off - 8) return false;
    if (!strings) {
      for (uint64_t i = 0; i < vb / 8; i++)
        if (*n < cap) ids[(*n)++] = (int64_t)mw_load_u64le(v + 8 * i);
      got += vb / 8;
    } else {
      if (vb < 4) return false;
      uint32_t o0 = mw_load_u32le(v), k = o0 / 4 - 1;
      uint32_t oe = mw_load_u32le(v + 4ull * k);
      if (o0 > vb || oe > vb || oe < o0) return false;
      size_t at = strlen(names);
      if (at + (oe - o0) >= names_cap) return false;
      memcpy(names + at, v + o0, oe - o0);
      names[at + (oe - o0)] = 0;
      got += k;
    }
    off += 8 + ((vb + 7) & ~7ull);
  }
  if (got != rows) return false;
  *out_rows = rows;
  return true;
}

/* Appends the ids (and, if names != NULL, the concatenated name bytes) of
 * the generation folder `path` of the shard. Returns rows, -1 on error. */
static int64_t gen_rows(mw_objstore *store, const char *path, int64_t *ids, size_t cap, size_t *n,
                        char *names, size_t names_cap) {
  char prefix[256];
  snprintf(prefix, sizeof prefix, "_mem_wal/%s/%s/data/", SHARD, path);
  keylist l = {0};
  mw_error e = {0};
  if (mw_objstore_list(store, prefix, list_cb, &l, &e) != MW_OK || l.n != 1) return -1;
  uint8_t *d = NULL;
  size_t len = 0;
  if (mw_objstore_get(store, &d, &len, l.keys[0], 0, MW_OBJSTORE_TO_END, &e) != MW_OK) return -1;
  lt_footer f;
  bool v21 = lt_footer_read(&f, d, len) && f.major == 2;
  int pages = lt_pages(d, len, 0);
  int64_t rows_total = pages > 0 ? 0 : -1;
  for (int p = 0; p < pages; p++) {
    uint64_t rows;
    if (!page_values(d, len, v21, 0, p, false, ids, cap, n, NULL, 0, &rows)) {
      rows_total = -1;
      break;
    }
    rows_total += (int64_t)rows;
  }
  if (names && rows_total >= 0) {
    names[0] = 0;
    int np = lt_pages(d, len, 1);
    for (int p = 0; p < np; p++) {
      uint64_t rows;
      if (!page_values(d, len, v21, 1, p, true, NULL, 0, NULL, names, names_cap, &rows)) rows_total = -1;
    }
  }
  mw_free(d);
  return rows_total;
}

/* Every id in the shard's committed generations, in generation order.
 * Returns the count, or (size_t)-1 if a folder cannot be read. */
static size_t committed_ids(mw_objstore *store, int64_t *ids, size_t cap) {
  mw_shard_manifest *m = latest_manifest(store);
  size_t n = 0;
  if (!m) return 0;
  for (size_t g = 0; g < m->n_flushed_generations; g++) {
    int64_t r = gen_rows(store, m->flushed_generations[g]->path, ids, cap, &n, NULL, 0);
    if (r < 0 || (uint64_t)r != m->flushed_generations[g]->physical_rows) {
      fprintf(stderr, "generation %s unreadable or row count differs\n", m->flushed_generations[g]->path);
      n = (size_t)-1;
      break;
    }
  }
  mw_shard_manifest_free(m);
  return n;
}

/* Ids of each WAL entry from `first` on: entry_ids[k] are the ids of entry
 * first + k, separated by -1. Returns the number of entries. */
static int wal_entries(mw_objstore *store, uint64_t first, int64_t *out, size_t cap, size_t *n) {
  mw_wal_tailer *t = NULL;
  mw_error e = {0};
  int entries = 0;
  *n = 0;
  if (mw_wal_tailer_open(&t, store, SHARD, &e) != MW_OK) return -1;
  for (uint64_t p = first;; p++) {
    mw_wal_entry en;
    if (mw_wal_tailer_read_entry(&en, t, p, &e) != MW_OK) break;
    entries++;
    for (size_t b = 0; b < en.n_batches; b++) {
      const struct ArrowArray *col = en.batches[b].children[0];
      const int64_t *v = col->buffers[1];
      for (int64_t i = 0; i < en.batches[b].length && *n < cap; i++) out[(*n)++] = v[col->offset + i];
    }
    if (*n < cap) out[(*n)++] = -1;
    mw_wal_entry_release(&en);
  }
  mw_wal_tailer_close(t);
  return entries;
}

/* ------------------------------------------------------------------ tests */

static void test_open_checks(void) {
  mw_objstore *s = wt_store("mtf_open");
  mw_error e = {0};
  mw_shard_writer *w = NULL;
  mw_shard_writer_config c;
  cfg_init(&c, 1);
  struct ArrowSchema sc;
  /* no primary key: MemTable mode refuses, WAL-only mode accepts */
  make_schema_pk(&sc, false);
  CHECK_INT(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "primary key") != NULL);
  CHECK(latest_manifest(s) == NULL); /* before any I/O */
  c.enable_memtable = 0;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  CHECK_INT(mw_shard_writer_flush_memtable(w, &e), MW_ERR_INVALID);
  CHECK_OK(mw_shard_writer_close_ex(w, 1, &e), &e);
  mw_schema_release(&sc);
  /* a column Lance cannot store yet (a list of lists) is named at open */
  make_schema(&sc);
  mw_schema_release(sc.children[1]);
  mw_schema_init(sc.children[1], "+l", "nested", NULL, ARROW_FLAG_NULLABLE, 1, &e);
  mw_schema_init(sc.children[1]->children[0], "+l", "item", NULL, ARROW_FLAG_NULLABLE, 1, &e);
  mw_schema_init(sc.children[1]->children[0]->children[0], "i", "x", NULL, ARROW_FLAG_NULLABLE, 0, &e);
  c.enable_memtable = 1;
  mw_status st = mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e);
  CHECK(st == MW_ERR_UNSUPPORTED || st == MW_ERR_INVALID);
  CHECK(strstr(e.message, "nested") != NULL);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* Expected manifest after flushing generation g. */
static void check_manifest(mw_objstore *s, uint64_t replay_after, uint64_t last_seen, uint64_t cur_gen,
                           size_t n_gens, const uint64_t *rows) {
  mw_shard_manifest *m = latest_manifest(s);
  CHECK(m != NULL);
  if (!m) return;
  CHECK_INT(m->replay_after_wal_entry_position, replay_after);
  CHECK_INT(m->wal_entry_position_last_seen, last_seen);
  CHECK_INT(m->current_generation, cur_gen);
  CHECK_INT(m->n_flushed_generations, n_gens);
  for (size_t i = 0; i < m->n_flushed_generations && i < n_gens; i++) {
    const mw_flushed_generation *g = m->flushed_generations[i];
    CHECK_INT(g->generation, i + 1);
    CHECK_INT(g->physical_rows, rows[i]);
    CHECK_INT(g->primary_key_bytes, rows[i] * 8);
    CHECK(g->in_memory_bytes > 0);
    char suffix[32];
    snprintf(suffix, sizeof suffix, "_gen_%zu", i + 1);
    CHECK_INT(strlen(g->path), 8 + strlen(suffix));
    CHECK(strcmp(g->path + 8, suffix) == 0);
    CHECK(strspn(g->path, "0123456789abcdef") == 8);
  }
  mw_shard_manifest_free(m);
}

/* Every committed generation together holds ids 0 .. n-1, once, in order. */
static void check_committed_sequence(mw_objstore *s, size_t n) {
  int64_t *ids = malloc((n + 16) * sizeof *ids);
  CHECK_INT(committed_ids(s, ids, n + 16), n);
  int ok = 1;
  for (size_t i = 0; i < n; i++) ok &= ids[i] == (int64_t)i;
  CHECK(ok);
  free(ids);
}

/* Reopening finds nothing to replay and the MemTable at generation gen. */
static void check_reopen_empty(mw_objstore *s, const mw_shard_writer_config *c, const struct ArrowSchema *sc,
                               uint64_t gen) {
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, c, sc, NULL, 0, &e), &e);
  if (!w) return;
  mw_memtable_stats ms;
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
  CHECK_INT(ms.row_count, 0);
  CHECK_INT(ms.generation, gen);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
}

/* trigger 0: rows, 1: batches, 2: size. Three generations of 3 puts of 10
 * rows; each durable put is one WAL entry (positions 0..8). */
static void test_triggers_and_manifest(int trigger) {
  char name[32];
  snprintf(name, sizeof name, "mtf_trig%d", trigger);
  mw_objstore *s = wt_store(name);
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1);
  struct ArrowArray probe = make_batch(0, 10);
  uint64_t bs = mw_array_byte_size(&sc, &probe);
  probe.release(&probe);
  if (trigger == 0) c.max_memtable_rows = 30;
  if (trigger == 1) c.max_memtable_batches = 3;
  if (trigger == 2) {
    /* The size counts the batches and the MemTable's primary-key map: read
     * what three puts add up to from a probe writer, freeze at that. */
    char pname[40];
    snprintf(pname, sizeof pname, "%s_probe", name);
    mw_objstore *ps = wt_store(pname);
    mw_shard_writer_config pc;
    cfg_init(&pc, 1);
    mw_shard_writer *pw = NULL;
    CHECK_OK(mw_shard_writer_open(&pw, ps, &pc, &sc, NULL, 0, NULL), NULL);
    for (int i = 0; pw && i < 3; i++) CHECK_OK(put1(pw, i * 10, 10), NULL);
    mw_memtable_stats pms = {0};
    if (pw) CHECK_OK(mw_shard_writer_memtable_stats(&pms, pw, NULL), NULL);
    CHECK(pms.estimated_size >= 3 * bs);
    mw_shard_writer_close(pw, NULL);
    mw_objstore_close(ps);
    c.max_memtable_size = pms.estimated_size;
  }
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  uint64_t rows[3] = {30, 30, 30};
  for (int g = 0; g < 3; g++) {
    for (int i = 0; i < 3; i++) CHECK_OK(put1(w, g * 30 + i * 10, 10), &e);
    mw_memtable_stats ms;
    CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
    CHECK_INT(ms.generation, g + 2); /* frozen by the trigger */
    CHECK_INT(ms.row_count, 0);
    /* nothing active: waits for the frozen generation only */
    CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e);
    CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
    CHECK_INT(ms.frozen_count, 0);
    check_manifest(s, (uint64_t)g * 3 + 2, (uint64_t)g * 3 + 2, (uint64_t)g + 2, (size_t)g + 1, rows);
  }
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  CHECK_INT(st.memtable_flush_count, 3);
  CHECK_INT(st.memtable_flush_rows, 90);
  CHECK(st.memtable_flush_nanos > 0);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  check_committed_sequence(s, 90);
  check_reopen_empty(s, &c, &sc, 4); /* only the fence entry to replay */
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* Reopen replays only the unflushed WAL; flush-on-close of a replayed
 * MemTable covers up to the fence entry; explicit flush of an empty
 * MemTable does nothing. */
static void test_reopen_and_close_option(void) {
  mw_objstore *s = wt_store("mtf_reopen");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1);
  c.max_memtable_batches = 3;
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  for (int i = 0; i < 5; i++) CHECK_OK(put1(w, i * 10, 10), &e); /* gen 1 = 0..29, active 30..49 */
  /* wait for generation 1 without freezing the active MemTable */
  for (int i = 0; i < 500; i++) {
    mw_memtable_stats ms;
    mw_shard_writer_memtable_stats(&ms, w, &e);
    if (ms.frozen_count == 0) break;
    usleep(10000);
  }
  CHECK_OK(mw_shard_writer_close(w, &e), &e); /* no MemTable flush */
  uint64_t r30[2] = {30, 20};
  check_manifest(s, 2, 2, 2, 1, r30);

  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  CHECK_INT(mw_shard_writer_epoch(w), 2);
  static int64_t ids[256];
  mw_memtable_stats ms;
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
  CHECK_INT(ms.generation, 2);
  CHECK_INT(ms.row_count, 20);
  CHECK_INT(scan_ids(w, NULL, ids, 256), 20);
  CHECK_INT(ids[0], 30);
  CHECK_INT(ids[19], 49);
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  CHECK_INT(st.replayed_rows, 20);
  CHECK_INT(st.replayed_entries, 2); /* positions 3, 4 (5 is our fence entry) */
  CHECK_OK(mw_shard_writer_close_ex(w, 1, &e), &e);
  check_manifest(s, 5, 5, 3, 2, r30); /* covered through the fence entry at 5 */

  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
  CHECK_INT(ms.row_count, 0);
  CHECK_INT(ms.generation, 3);
  CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e); /* empty: nothing flushed */
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  CHECK_INT(st.memtable_flush_count, 0);
  CHECK_OK(put1(w, 50, 10), &e);
  CHECK_OK(mw_shard_writer_flush_memtable(w, &e), &e);
  uint64_t r3[3] = {30, 20, 10};
  check_manifest(s, 7, 7, 4, 3, r3); /* fence at 6, data at 7 */
  CHECK_OK(mw_shard_writer_close_ex(w, 1, &e), &e);
  check_manifest(s, 7, 7, 4, 3, r3); /* nothing new to flush */
  check_committed_sequence(s, 60);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* A key written twice in one generation is stored once, with its last
 * value, at the position of its last copy. */
static void test_dedup_last_value(void) {
  mw_objstore *s = wt_store("mtf_dedup");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  int64_t i0[3] = {1, 2, 3}, i1[2] = {2, 4};
  const char *n0[3] = {"a", "b", "c"}, *n1[2] = {"B", "d"};
  struct ArrowArray b = make_rows(i0, n0, 3);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  b = make_rows(i1, n1, 2);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  CHECK_OK(mw_shard_writer_close_ex(w, 1, &e), &e);
  mw_shard_manifest *m = latest_manifest(s);
  CHECK(m && m->n_flushed_generations == 1);
  if (m && m->n_flushed_generations == 1) {
    CHECK_INT(m->flushed_generations[0]->physical_rows, 4);
    CHECK_INT(m->flushed_generations[0]->primary_key_bytes, 32);
    int64_t ids[8];
    size_t n = 0;
    char names[64] = {0};
    CHECK_INT(gen_rows(s, m->flushed_generations[0]->path, ids, 8, &n, names, sizeof names), 4);
    CHECK_INT(ids[0], 1);
    CHECK_INT(ids[1], 3);
    CHECK_INT(ids[2], 2);
    CHECK_INT(ids[3], 4);
    CHECK_STR(names, "acBd");
    /* the folder has its bloom filter and primary-key index */
    char prefix[256];
    snprintf(prefix, sizeof prefix, "_mem_wal/%s/%s/", SHARD, m->flushed_generations[0]->path);
    keylist l = {0};
    CHECK_OK(mw_objstore_list(s, prefix, list_cb, &l, &e), &e);
    int bloom = 0, pk = 0, man = 0;
    for (int i = 0; i < l.n; i++) {
      bloom += strstr(l.keys[i], "/bloom_filter.bin") != NULL;
      pk += strstr(l.keys[i], "/_pk_index/") != NULL;
      man += strstr(l.keys[i], "/_versions/18446744073709551614.manifest") != NULL;
    }
    CHECK_INT(bloom, 1);
    CHECK_INT(pk, 2);
    CHECK_INT(man, 1);
  }
  mw_shard_manifest_free(m);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* The WAL flusher cuts entries at generation boundaries. Batches of two
 * generations wait in the queue together (WAL writes failing meanwhile);
 * when the store heals, generation 1's batches and generation 2's go to
 * separate entries, generation 1 is flushed covering only its own entry,
 * and a reopen replays generation 2's rows (one mixed entry would have
 * been skipped: data loss). */
static void test_entries_do_not_mix_generations(void) {
  mw_objstore *inner = wt_store("mtf_mix");
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_fault_new(&s, inner, &e), &e);
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 0); /* non-durable */
  c.max_wal_flush_interval_ms = 0;
  c.max_memtable_batches = 3;
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  char wal_prefix[128];
  snprintf(wal_prefix, sizeof wal_prefix, "_mem_wal/%s/wal/", SHARD);
  mw_fault_spec spec = {MW_FAULT_PUT_IF_ABSENT, wal_prefix, 1, MW_FAULT_ERROR, MW_FAULT_PERSISTENT};
  CHECK_OK(mw_objstore_fault_arm(s, &spec, &e), &e);
  int acked = 0;
  for (int64_t i = 0; acked < 5 && i < 20; i++) {
    /* a put may report the background WAL failure once: repeat it */
    if (put1(w, acked * 10, 10) == MW_OK) acked++;
    else usleep(1000);
  }
  CHECK_INT(acked, 5);
  mw_memtable_stats ms;
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
  CHECK_INT(ms.frozen_count, 1);
  CHECK_INT(ms.row_count, 20);
  mw_wal_stats ws;
  CHECK_OK(mw_shard_writer_wal_stats(&ws, w, &e), &e);
  CHECK_INT(ws.pending_batches, 5);
  mw_objstore_fault_reset(s);
  /* an attempt still in flight when the store healed may report its
   * failure to this call: the batches stay queued, so ask again */
  mw_status fs = MW_ERR_IO;
  for (int i = 0; i < 10 && fs != MW_OK; i++) fs = mw_shard_writer_flush_wal(w, &e);
  CHECK_OK(fs, &e);
  for (int i = 0; i < 500; i++) {
    mw_shard_writer_memtable_stats(&ms, w, &e);
    if (ms.frozen_count == 0) break;
    usleep(10000);
  }
  CHECK_INT(ms.frozen_count, 0);
  /* The WAL attempt the freeze requested may fail after the last put
   * returned (the flusher runs late on a slow store or a loaded machine):
   * nobody was told, so the writer keeps it for the next call although its
   * batches are durable by now. flush_wal, with nothing pending, reports
   * it; only that stale injected failure may come back here. */
  fs = mw_shard_writer_flush_wal(w, &e);
  if (fs != MW_OK) CHECK(strstr(e.message, "injected fault") != NULL);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  static int64_t ent[256];
  size_t n = 0;
  CHECK_INT(wal_entries(inner, 0, ent, 256, &n), 2);
  CHECK_INT(n, 52);
  CHECK_INT(ent[29], 29);
  CHECK_INT(ent[30], -1); /* entry 0 ends with generation 1 */
  CHECK_INT(ent[31], 30);
  uint64_t r[1] = {30};
  check_manifest(inner, 0, 0, 2, 1, r);
  CHECK_OK(mw_shard_writer_open(&w, inner, &c, &sc, NULL, 0, &e), &e);
  static int64_t ids[256];
  CHECK_INT(scan_ids(w, NULL, ids, 256), 20);
  CHECK_INT(ids[0], 30);
  CHECK_INT(ids[19], 49);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_schema_release(&sc);
  mw_objstore_close(s);
  mw_objstore_close(inner);
}

/* Backpressure: a budget of two batches; each put that finds the budget
 * full freezes the active MemTable and waits for its flush. */
static void test_backpressure_released(void) {
  mw_objstore *s = wt_store("mtf_bp");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1);
  struct ArrowArray probe = make_batch(0, 10);
  uint64_t bs = mw_array_byte_size(&sc, &probe);
  probe.release(&probe);
  /* The budget counts the batches and each MemTable's primary-key map:
   * two puts' worth, read from a probe writer. */
  mw_objstore *ps = wt_store("mtf_bp_probe");
  mw_shard_writer_config pc;
  cfg_init(&pc, 1);
  mw_shard_writer *pw = NULL;
  CHECK_OK(mw_shard_writer_open(&pw, ps, &pc, &sc, NULL, 0, NULL), NULL);
  if (pw) CHECK_OK(put1(pw, 0, 10), NULL);
  mw_memtable_stats pms = {0};
  if (pw) CHECK_OK(mw_shard_writer_memtable_stats(&pms, pw, NULL), NULL);
  CHECK(pms.estimated_size > bs);
  mw_shard_writer_close(pw, NULL);
  mw_objstore_close(ps);
  c.max_unflushed_memtable_bytes = 2 * pms.estimated_size;
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  int ok = 1;
  for (int i = 0; i < 100; i++) ok &= put1(w, i * 10, 10) == MW_OK;
  CHECK(ok);
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  CHECK_INT(st.backpressure_waits, 49); /* puts 3, 5, ..., 99 */
  CHECK_INT(st.memtable_flush_count, 49);
  CHECK_INT(st.memtable_flush_rows, 980);
  CHECK_OK(mw_shard_writer_close_ex(w, 1, &e), &e);
  check_committed_sequence(s, 1000);
  mw_shard_manifest *m = latest_manifest(s);
  CHECK(m && m->n_flushed_generations == 50 && m->current_generation == 51 &&
        m->replay_after_wal_entry_position == 99);
  mw_shard_manifest_free(m);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* An older writer never commits a generation after a newer one claimed. */
static void test_fencing(void) {
  mw_objstore *s = wt_store("mtf_fence");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1);
  mw_shard_writer *a = NULL, *b = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&a, s, &c, &sc, NULL, 0, &e), &e);
  CHECK_OK(put1(a, 0, 10), &e);
  CHECK_OK(put1(a, 10, 10), &e);
  CHECK_OK(mw_shard_writer_open(&b, s, &c, &sc, NULL, 0, &e), &e);
  CHECK_INT(mw_shard_writer_flush_memtable(a, &e), MW_ERR_FENCED);
  CHECK(strstr(e.message, "fenced") != NULL);
  CHECK_INT(put1(a, 20, 10), MW_ERR_FENCED); /* sticky */
  CHECK_INT(mw_shard_writer_close_ex(a, 1, &e), MW_ERR_FENCED);
  /* no folder was written, no generation committed */
  char prefix[128];
  snprintf(prefix, sizeof prefix, "_mem_wal/%s/", SHARD);
  keylist l = {0};
  CHECK_OK(mw_objstore_list(s, prefix, list_cb, &l, &e), &e);
  int gens = 0;
  for (int i = 0; i < l.n; i++) gens += strstr(l.keys[i], "_gen_") != NULL;
  CHECK_INT(gens, 0);
  /* B replayed A's rows and flushes them as generation 1 */
  static int64_t ids[64];
  CHECK_INT(scan_ids(b, NULL, ids, 64), 20);
  CHECK_OK(mw_shard_writer_close_ex(b, 1, &e), &e);
  uint64_t r[1] = {20};
  check_manifest(s, 2, 2, 2, 1, r); /* A's entries 0, 1; B's fence at 2 */
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* Every object-store call from the flush on fails in turn (error, wrote
 * but errored, crash). Reopening on the inner store shows every
 * acknowledged row exactly once across generations and the replayed WAL.
 * The three kinds run in threads of their own, each on its own stores (on
 * S3 the 108 rounds are bound by request latency). */
typedef struct fault_run {
  const struct ArrowSchema *sc;
  int kind, failures, poisoned;
} fault_run;

static void *fault_kind(void *arg) {
  fault_run *fr = arg;
  const struct ArrowSchema *sc = fr->sc;
  int kind = fr->kind;
  for (uint64_t nth = 1; nth <= 36; nth++) {
    char name[48];
    snprintf(name, sizeof name, "mtf_fault_%d_%" PRIu64, kind, nth);
    mw_objstore *inner = wt_store(name);
    mw_objstore *s = NULL;
    mw_error e = {0};
    mw_objstore_fault_new(&s, inner, &e);
    mw_shard_writer_config c;
    cfg_init(&c, 1);
    c.max_memtable_batches = 3;
    mw_shard_writer *w = NULL;
    unsigned char acked[8] = {0};
    if (mw_shard_writer_open(&w, s, &c, sc, NULL, 0, &e) != MW_OK) {
      fr->failures++;
      continue;
    }
    for (int i = 0; i < 2; i++) acked[i] = put1(w, i * 10, 10) == MW_OK;
    mw_fault_spec spec = {MW_FAULT_ALL, NULL, nth,
                          kind == 0 ? MW_FAULT_ERROR : kind == 1 ? MW_FAULT_WROTE_ERROR : MW_FAULT_CRASH,
                          MW_FAULT_ONCE};
    mw_objstore_fault_arm(s, &spec, &e);
    /* the 3rd put freezes generation 1 and starts its flush */
    for (int i = 2; i < 6; i++) acked[i] = put1(w, i * 10, 10) == MW_OK;
    mw_status fs = mw_shard_writer_flush_memtable(w, &e);
    if (fs == MW_ERR_POISONED) fr->poisoned++;
    mw_shard_writer_close_ex(w, 1, NULL);
    if (kind == 2) mw_objstore_fault_crash(s);
    mw_objstore_close(s);
    mw_shard_writer *r = NULL;
    mw_shard_writer_config c2;
    cfg_init(&c2, 1);
    if (mw_shard_writer_open(&r, inner, &c2, sc, NULL, 0, &e) != MW_OK) {
      fprintf(stderr, "fault %d/%" PRIu64 ": reopen: %s\n", kind, nth, e.message);
      fr->failures++;
      mw_objstore_close(inner);
      continue;
    }
    int64_t ids[512];
    size_t ng = committed_ids(inner, ids, 512);
    size_t nm = ng == (size_t)-1 ? 0 : scan_ids(r, NULL, ids + ng, 512 - ng);
    unsigned char count[8] = {0};
    int bad = ng == (size_t)-1;
    for (size_t i = 0; !bad && i < ng + nm; i++) {
      if (ids[i] < 0 || ids[i] >= 60) bad = 1;
      else if (ids[i] % 10 == 0) count[ids[i] / 10]++;
    }
    for (int i = 0; i < 6; i++) {
      if (acked[i] && count[i] != 1) bad = 1;
      if (count[i] > 1) bad = 1;
    }
    if (bad) {
      fprintf(stderr, "fault %d/%" PRIu64 ": acknowledged rows lost or duplicated (%zu + %zu rows)\n", kind,
              nth, ng, nm);
      fr->failures++;
    }
    mw_shard_writer_close(r, NULL);
    mw_objstore_close(inner);
  }
  return NULL;
}

static void test_faults(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  fault_run runs[3];
  pthread_t th[3];
  int started[3] = {0};
  for (int kind = 0; kind < 3; kind++) {
    runs[kind] = (fault_run){&sc, kind, 0, 0};
    started[kind] = pthread_create(&th[kind], NULL, fault_kind, &runs[kind]) == 0;
    if (!started[kind]) fault_kind(&runs[kind]); /* no thread: run it here */
  }
  int failures = 0, poisoned = 0;
  for (int kind = 0; kind < 3; kind++) {
    if (started[kind]) pthread_join(th[kind], NULL);
    failures += runs[kind].failures;
    poisoned += runs[kind].poisoned;
  }
  CHECK_INT(failures, 0);
  CHECK(poisoned > 0); /* some fault hit the manifest commit itself */
  mw_schema_release(&sc);
}

/* SIGKILL while flushing: a child writes durable puts with 4-batch
 * generations to a shard of the store under test and reports each
 * acknowledged batch; the parent kills it at a random moment after its
 * open, reopens, and finds every acknowledged batch exactly once across the
 * committed generations and the replay. */
static void test_kill9(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  srand(4242);
  int failures = 0, rounds_with_gens = 0;
  /* the child runs kill_us .. 4 * kill_us after its open (S3 puts are slower) */
  int kill_us = wt_is_s3 ? 100000 : 50000;
  for (int round = 0; round < 10; round++) {
    char name[32], uri[800];
    snprintf(name, sizeof name, "mtf_kill9_t%d", round % 3);
    wt_uri(uri, sizeof uri, name);
    int fds[2];
    if (pipe(fds) != 0) abort();
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      mw_objstore *s = NULL;
      mw_error e = {0};
      if (mw_objstore_open(&s, uri, NULL, &e) != MW_OK) _exit(2);
      mw_shard_writer_config c;
      cfg_init(&c, 1);
      c.max_memtable_batches = 4;
      mw_shard_writer *w = NULL;
      if (mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e) != MW_OK) _exit(3);
      int64_t opened = -1;
      if (write(fds[1], &opened, sizeof opened) != sizeof opened) _exit(5);
      for (int64_t i = 0; i < 100000; i++) {
        int64_t id = (int64_t)round * 1000000 + i * 10;
        if (put1(w, id, 10) != MW_OK) _exit(4);
        if (write(fds[1], &id, sizeof id) != sizeof id) _exit(5);
      }
      _exit(0);
    }
    close(fds[1]);
    /* the kill lands while puts run: wait for the child's "opened" mark
     * (its open replays the earlier rounds' WAL, which takes a while on S3) */
    int64_t id = 0;
    if (read(fds[0], &id, sizeof id) != sizeof id || id != -1) {
      fprintf(stderr, "kill9 round %d: the child did not open the writer\n", round);
      failures++;
    }
    /* and for 6 acknowledged batches (a generation's worth and a half: a
     * flush has started), so a slow (loaded, sanitized) child is killed
     * while flushing too, not before its first flush */
    static int64_t acked[200000];
    size_t na = 0;
    while (na < 6 && read(fds[0], &id, sizeof id) == sizeof id) acked[na++] = id;
    usleep((useconds_t)kill_us + (useconds_t)(rand() % (3 * kill_us)));
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    while (read(fds[0], &id, sizeof id) == sizeof id && na < 200000) acked[na++] = id;
    close(fds[0]);
    mw_objstore *s = NULL;
    mw_error e = {0};
    CHECK_OK(mw_objstore_open(&s, uri, NULL, &e), &e);
    mw_shard_writer_config c;
    cfg_init(&c, 1);
    mw_shard_writer *w = NULL;
    if (mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e) != MW_OK) {
      fprintf(stderr, "kill9 round %d: reopen: %s\n", round, e.message);
      failures++;
      mw_objstore_close(s);
      continue;
    }
    static int64_t ids[2000000];
    size_t ng = committed_ids(s, ids, 2000000);
    size_t nm = ng == (size_t)-1 ? 0 : scan_ids(w, NULL, ids + ng, 2000000 - ng);
    size_t found = 0, dups = 0, rows = 0;
    /* ids of this round, in order: generations then MemTable are ascending */
    int64_t prev = -1;
    size_t j = 0;
    for (size_t i = 0; ng != (size_t)-1 && i < ng + nm; i++) {
      if (ids[i] / 1000000 != round) continue;
      rows++;
      if (ids[i] <= prev) dups++;
      prev = ids[i];
      if (ids[i] % 10 != 0) continue;
      while (j < na && acked[j] < ids[i]) j++;
      if (j < na && acked[j] == ids[i]) found++;
    }
    if (ng == (size_t)-1 || found != na || dups) {
      fprintf(stderr, "kill9 round %d: %zu acknowledged, %zu found, %zu dups (%zu gen rows)\n", round, na, found,
              dups, ng);
      failures++;
    }
    if (ng != (size_t)-1 && ng > 0) rounds_with_gens++;
    mw_shard_writer_close(w, NULL);
    mw_objstore_close(s);
  }
  CHECK_INT(failures, 0);
  CHECK(rounds_with_gens >= 3); /* the kills hit a writer that was flushing */
  mw_schema_release(&sc);
}

/* A value Lance 2.1 pages cannot hold yet (> 32 KiB) does not block the
 * flusher: that generation is written as Lance file format 2.0. */
static void test_big_value_generation(void) {
  mw_objstore *s = wt_store("mtf_bigvalue");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  char *big = malloc(40001);
  memset(big, 'x', 40000);
  big[40000] = 0;
  int64_t ids[2] = {1, 2};
  const char *names[2] = {big, "b"};
  struct ArrowArray b = make_rows(ids, names, 2);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  CHECK_OK(mw_shard_writer_close_ex(w, 1, &e), &e);
  mw_shard_manifest *m = latest_manifest(s);
  CHECK(m && m->n_flushed_generations == 1);
  if (m && m->n_flushed_generations == 1) {
    CHECK_INT(m->flushed_generations[0]->physical_rows, 2);
    int64_t got[4];
    size_t n = 0;
    char *gnames = calloc(1, 40100);
    CHECK_INT(gen_rows(s, m->flushed_generations[0]->path, got, 4, &n, gnames, 40100), 2);
    CHECK_INT(strlen(gnames), 40001);
    CHECK(gnames[0] == 'x' && gnames[40000] == 'b');
    free(gnames);
  }
  mw_shard_manifest_free(m);
  free(big);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* Runs the whole suite with every store under `base`: "memory://" (stores
 * memory://NAME; no SIGKILL test), a local folder "/path/" or
 * "file:///path/", or "s3://bucket/prefix/" (trailing '/' needed). */
/* A long unflushed WAL is replayed into MemTables of the configured size:
 * the freeze triggers apply during replay, each frozen MemTable covering
 * whole entries, and they are flushed as separate generations once the
 * writer runs. 8 puts of 10 rows written with a large MemTable (no flush),
 * reopened with max_memtable_batches = 3: generations of 30, 30 and 20 rows
 * (the last one by close_ex), every row once and in order. */
static void test_replay_freezes(void) {
  mw_objstore *s = wt_store("mtf_replay_freeze");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  for (int i = 0; i < 8; i++) CHECK_OK(put1(w, i * 10, 10), &e); /* WAL positions 0..7 */
  CHECK_OK(mw_shard_writer_close(w, &e), &e);                       /* nothing flushed */
  c.max_memtable_batches = 3;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);  /* fence entry at 8 */
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  CHECK_INT(st.replayed_rows, 80);
  CHECK_OK(mw_shard_writer_close_ex(w, 1, &e), &e);
  /* gen 1 = entries 0..2, gen 2 = 3..5, gen 3 = 6..7 and the fence at 8 */
  uint64_t rows[3] = {30, 30, 20};
  check_manifest(s, 8, 8, 4, 3, rows);
  check_committed_sequence(s, 80);
  check_reopen_empty(s, &c, &sc, 4);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void mtf_run_suite(const char *base) {
  wt_set_base(base);
  fprintf(stderr, "--- MemTable flush suite on %s\n", base);
  MW_RUN(test_big_value_generation);
  MW_RUN(test_open_checks);
  test_triggers_and_manifest(0);
  test_triggers_and_manifest(1);
  test_triggers_and_manifest(2);
  MW_RUN(test_reopen_and_close_option);
  MW_RUN(test_replay_freezes);
  MW_RUN(test_dedup_last_value);
  MW_RUN(test_entries_do_not_mix_generations);
  MW_RUN(test_backpressure_released);
  MW_RUN(test_fencing);
  MW_RUN(test_faults);
  if (!wt_is_memory) MW_RUN(test_kill9);
}

#endif /* MW_MEMTABLE_FLUSH_SUITE_H */
