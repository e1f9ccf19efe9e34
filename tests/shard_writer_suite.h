/* shard_writer_suite.h - the ShardWriter test suite, on any object store.
 *
 * Included by test_shard_writer.c (memory:// and file://) and
 * test_shard_writer_s3.c (s3:// on radosgw). sw_run_suite(base) runs every
 * test with its stores under `base` (wt_store of writer_test_util.h, which
 * also has the test batches): MEMWAL.md section 10 scenarios and more, both
 * modes (MemTable / WAL-only), fencing, replay (ours and the Lance 12
 * fixture, copied into the store under test), faults (the fault wrapper of
 * objstore_fault.h wraps any store), threads, and SIGKILL of a writer
 * process (not on memory://, which dies with it). */
#ifndef MW_SHARD_WRITER_SUITE_H
#define MW_SHARD_WRITER_SUITE_H

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
#include "memwal.h"
#include "memwal_sys.h"
#include "mw_test.h"
#include "objstore/objstore_fault.h"
#include "wal/wal_names.h"
#include "writer_test_util.h"

static const char *SHARD = "11111111-2222-4333-8444-555555555555";

static void cfg_init(mw_shard_writer_config *c, int memtable, int durable) {
  mw_shard_writer_config_init(c);
  c->log_fn = quiet_log;
  snprintf(c->shard_id, sizeof c->shard_id, "%s", SHARD);
  c->enable_memtable = memtable;
  c->durable_write = durable;
  c->first_wal_entry_position = 0; /* the seed's 0-based scenarios (MEMWAL.md section 10) */
}

/* Collects every id of every WAL entry of the shard, in order. */
static size_t wal_ids(mw_objstore *store, int64_t *ids, size_t cap, uint64_t *n_entries) {
  mw_wal_tailer *t = NULL;
  mw_error e = {0};
  size_t n = 0;
  if (n_entries) *n_entries = 0;
  if (mw_wal_tailer_open(&t, store, SHARD, &e) != MW_OK) return 0;
  uint64_t p = 0;
  if (mw_wal_tailer_first_position(&p, t, &e) != MW_OK) {
    mw_wal_tailer_close(t);
    return 0;
  }
  for (;; p++) {
    mw_wal_entry en;
    if (mw_wal_tailer_read_entry(&en, t, p, &e) != MW_OK) break;
    if (n_entries) (*n_entries)++;
    for (size_t b = 0; b < en.n_batches; b++) {
      const struct ArrowArray *col = en.batches[b].children[0];
      const int64_t *v = col->buffers[1];
      for (int64_t i = 0; i < en.batches[b].length && n < cap; i++) ids[n++] = v[col->offset + en.batches[b].offset + i];
    }
    mw_wal_entry_release(&en);
  }
  mw_wal_tailer_close(t);
  return n;
}

/* --------------------------------------------------------------- tests */

static void test_memtable_single_put(void) {
  mw_objstore *s = wt_store("sw1");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  CHECK_INT(mw_shard_writer_epoch(w), 1);
  CHECK_STR(mw_shard_writer_shard_id(w), SHARD);
  struct ArrowArray b = make_batch(1, 10);
  mw_batch_range r;
  CHECK_OK(mw_shard_writer_put(&r, w, &b, 1, &e), &e);
  CHECK(b.release == NULL); /* moved */
  CHECK_INT(r.start, 0);
  CHECK_INT(r.end, 1);
  mw_memtable_stats ms;
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
  CHECK_INT(ms.row_count, 10);
  CHECK_INT(ms.batch_count, 1);
  CHECK_INT(ms.generation, 1);
  mw_wal_stats ws;
  CHECK_OK(mw_shard_writer_wal_stats(&ws, w, &e), &e);
  CHECK_INT(ws.next_wal_entry_position, 1); /* durable: entry 0 written */
  int64_t ids[64];
  CHECK_INT(scan_ids(w, NULL, ids, 64), 10);
  CHECK_INT(ids[0], 1);
  CHECK_INT(ids[9], 10);
  /* 5 batches in one put */
  struct ArrowArray five[5];
  for (int i = 0; i < 5; i++) five[i] = make_batch(100 + i * 10, 10);
  CHECK_OK(mw_shard_writer_put(&r, w, five, 5, &e), &e);
  CHECK_INT(r.start, 1);
  CHECK_INT(r.end, 6);
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
  CHECK_INT(ms.row_count, 60);
  CHECK_INT(ms.batch_count, 6);
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  CHECK_INT(st.put_count, 2);
  CHECK_INT(st.put_rows, 60);
  CHECK_INT(st.wal_flush_count, 2);
  CHECK_INT(st.memtable_flush_count, 0);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  uint64_t entries = 0;
  CHECK_INT(wal_ids(s, ids, 64, &entries), 60);
  CHECK_INT(entries, 2);
  CHECK_INT(ids[10], 100);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_wal_only_durable_round_trip(void) {
  mw_objstore *s = wt_store("sw2");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 0, 1);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  mw_batch_range r;
  struct ArrowArray b = make_batch(1, 3);
  CHECK_OK(mw_shard_writer_put(&r, w, &b, 1, &e), &e);
  CHECK_INT(r.start, 0);
  CHECK_INT(r.end, 1);
  b = make_batch(4, 3);
  CHECK_OK(mw_shard_writer_put(&r, w, &b, 1, &e), &e);
  CHECK_INT(r.start, 1);
  CHECK_INT(r.end, 2);
  /* MemTable accessors refuse in WAL-only mode. */
  mw_memtable_stats ms;
  CHECK_INT(mw_shard_writer_memtable_stats(&ms, w, &e), MW_ERR_INVALID);
  CHECK_STR(e.message, "MemTable accessor not available when enable_memtable = false (WAL-only mode)");
  struct ArrowArrayStream st;
  CHECK_INT(mw_shard_writer_scan(&st, w, NULL, 0, NULL, &e), MW_ERR_INVALID);
  mw_write_stats ws;
  mw_shard_writer_write_stats(&ws, w, 0, NULL);
  CHECK_INT(ws.memtable_flush_count, 0);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_wal_tailer *t = NULL;
  CHECK_OK(mw_wal_tailer_open(&t, s, SHARD, &e), &e);
  uint64_t first = 99, next = 99;
  CHECK_OK(mw_wal_tailer_first_position(&first, t, &e), &e);
  CHECK_OK(mw_wal_tailer_next_position(&next, t, &e), &e);
  CHECK_INT(first, 0);
  CHECK_INT(next, 2);
  mw_wal_entry e0, e1;
  CHECK_OK(mw_wal_tailer_read_entry(&e0, t, 0, &e), &e);
  CHECK_OK(mw_wal_tailer_read_entry(&e1, t, 1, &e), &e);
  CHECK(e0.writer_epoch >= 1);
  CHECK_INT(e0.writer_epoch, e1.writer_epoch);
  CHECK_INT(e0.rows, 3);
  CHECK_INT(e1.rows, 3);
  mw_wal_entry_release(&e0);
  mw_wal_entry_release(&e1);
  mw_wal_tailer_close(t);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_invalid_input(void) {
  mw_objstore *inner = wt_store("sw3");
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_fault_new(&s, inner, &e), &e);
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 0, 1);
  mw_index_config ix = {sizeof(mw_index_config), "ix", "id", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100};
  mw_shard_writer *w = NULL;
  CHECK_INT(mw_shard_writer_open(&w, s, &c, &sc, &ix, 1, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "WAL-only") != NULL);
  CHECK_INT(mw_objstore_fault_calls(s, 0), 0); /* rejected before any I/O */
  CHECK(w == NULL);
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  struct ArrowArray empty = make_batch(1, 0);
  CHECK_INT(mw_shard_writer_put(NULL, w, &empty, 1, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "zero rows") != NULL);
  CHECK(empty.release != NULL); /* not moved on failure */
  empty.release(&empty);
  CHECK_INT(mw_shard_writer_put(NULL, w, NULL, 0, &e), MW_ERR_INVALID);
  /* wrong schema: a batch with one column */
  struct ArrowArray b = make_batch(1, 2);
  b.n_children = 1;
  CHECK_INT(mw_shard_writer_put(NULL, w, &b, 1, &e), MW_ERR_INVALID);
  b.n_children = 2;
  b.release(&b);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  /* a bad index column in MemTable mode is rejected at open */
  cfg_init(&c, 1, 1);
  mw_index_config bad = {sizeof(mw_index_config), "ix", "nope", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100};
  CHECK_INT(mw_shard_writer_open(&w, s, &c, &sc, &bad, 1, &e), MW_ERR_INVALID);
  mw_objstore_close(s);
  mw_schema_release(&sc);
  mw_objstore_close(inner);
}

static void test_non_durable_batched(void) {
  mw_objstore *s = wt_store("sw4");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 0, 0);
  c.max_wal_flush_interval_ms = 0; /* no timer: only close flushes */
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  for (int i = 0; i < 3; i++) {
    struct ArrowArray b = make_batch(i * 10, 10);
    CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  }
  mw_wal_stats ws;
  CHECK_OK(mw_shard_writer_wal_stats(&ws, w, &e), &e);
  CHECK_INT(ws.pending_batches, 3);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_wal_tailer *t = NULL;
  CHECK_OK(mw_wal_tailer_open(&t, s, SHARD, &e), &e);
  mw_wal_entry en;
  CHECK_OK(mw_wal_tailer_read_entry(&en, t, 0, &e), &e);
  CHECK_INT(en.n_batches, 3);
  CHECK_INT(en.rows, 30);
  mw_wal_entry_release(&en);
  CHECK_INT(mw_wal_tailer_read_entry(&en, t, 1, &e), MW_ERR_NOT_FOUND);
  mw_wal_tailer_close(t);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_timer_flushes_quiet_writer(void) {
  mw_objstore *s = wt_store("sw5");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1, 0);
  c.max_wal_flush_interval_ms = 20;
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  struct ArrowArray b = make_batch(1, 5);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  /* No further put: the timer alone must write the entry. */
  mw_wal_stats ws = {0};
  for (int i = 0; i < 200; i++) {
    CHECK_OK(mw_shard_writer_wal_stats(&ws, w, &e), &e);
    if (ws.pending_batches == 0) break;
    usleep(10000);
  }
  CHECK_INT(ws.pending_batches, 0);
  CHECK_INT(ws.next_wal_entry_position, 1);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_size_trigger(void) {
  mw_objstore *s = wt_store("sw6");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 0, 0);
  c.max_wal_flush_interval_ms = 0;
  c.max_wal_buffer_size = 1;
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  for (int i = 0; i < 3; i++) {
    struct ArrowArray b = make_batch(i * 10, 10);
    CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
    CHECK_OK(mw_shard_writer_flush_wal(w, &e), &e); /* let each trigger complete */
  }
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  int64_t ids[64];
  uint64_t entries = 0;
  CHECK_INT(wal_ids(s, ids, 64, &entries), 30);
  CHECK(entries >= 3);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_replay(void) {
  mw_objstore *s = wt_store("sw7");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1, 1);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  /* fresh shard: replay is a no-op */
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  mw_memtable_stats ms;
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
  CHECK_INT(ms.row_count, 0);
  mw_wal_stats ws;
  CHECK_OK(mw_shard_writer_wal_stats(&ws, w, &e), &e);
  CHECK_INT(ws.next_wal_entry_position, 0);
  struct ArrowArray b = make_batch(1, 5);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  b = make_batch(6, 3);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  /* reopen: 8 rows / 2 batches replayed, a fence entry at 2, next 3 */
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  CHECK_INT(mw_shard_writer_epoch(w), 2);
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
  CHECK_INT(ms.row_count, 8);
  CHECK_INT(ms.batch_count, 2);
  CHECK_OK(mw_shard_writer_wal_stats(&ws, w, &e), &e);
  CHECK_INT(ws.next_wal_entry_position, 3);
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  CHECK_INT(st.replayed_rows, 8);
  CHECK_INT(st.wal_flush_count, 0); /* replayed batches are not re-written */
  int64_t ids[64];
  CHECK_INT(scan_ids(w, NULL, ids, 64), 8);
  for (int i = 0; i < 8; i++) CHECK_INT(ids[i], i + 1);
  mw_batch_range r;
  b = make_batch(9, 1);
  CHECK_OK(mw_shard_writer_put(&r, w, &b, 1, &e), &e);
  CHECK_INT(r.start, 2); /* replayed batches occupy positions 0 and 1 */
  CHECK_OK(mw_shard_writer_wal_stats(&ws, w, &e), &e);
  CHECK_INT(ws.next_wal_entry_position, 4);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);

  /* An entry with a newer epoch (100) aborts the next open. */
  {
    struct ArrowArray nb = make_batch(50, 1);
    const struct ArrowArray *bp = &nb;
    void *data = NULL;
    size_t len = 0;
    CHECK_OK(mw_ipc_encode(&data, &len, &sc, &bp, 1, NULL, &e), &e);
    mw_kv kv = {"writer_epoch", 12, "100", 3};
    bool ok = true;
    char *meta = mw_metadata_build(&kv, 1, &ok);
    free(data);
    CHECK_OK(mw_ipc_encode(&data, &len, &sc, &bp, 1, meta, &e), &e);
    free(meta);
    char key[MW_KEY_SIZE];
    mw_wal_entry_key(key, SHARD, 4);
    CHECK_OK(mw_objstore_put_if_absent(s, key, data, len, &e), &e);
    free(data);
    nb.release(&nb);
  }
  CHECK_INT(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), MW_ERR_FENCED);
  CHECK(strstr(e.message, "position 4") != NULL);
  CHECK(strstr(e.message, "epoch 100") != NULL);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_fencing(int memtable) {
  char name[32];
  snprintf(name, sizeof name, "sw_fence%d", memtable);
  mw_objstore *s = wt_store(name);
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, memtable, 1);
  mw_shard_writer *a = NULL, *b = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&a, s, &c, &sc, NULL, 0, &e), &e);
  struct ArrowArray x = make_batch(1, 2);
  CHECK_OK(mw_shard_writer_put(NULL, a, &x, 1, &e), &e);
  CHECK_OK(mw_shard_writer_open(&b, s, &c, &sc, NULL, 0, &e), &e);
  x = make_batch(3, 2);
  CHECK_OK(mw_shard_writer_put(NULL, b, &x, 1, &e), &e);
  x = make_batch(5, 2);
  /* Taken, then its WAL write found the writer fenced: NOT_DURABLE (the
   * batch was taken; a fenced writer never writes it). */
  CHECK_INT(mw_shard_writer_put(NULL, a, &x, 1, &e), MW_ERR_NOT_DURABLE);
  CHECK(x.release == NULL);
  CHECK(strstr(e.message, "writer fenced: local epoch 1 < stored epoch 2") != NULL);
  /* sticky: the next put fails at once, without hanging */
  struct ArrowArray y = make_batch(7, 1);
  CHECK_INT(mw_shard_writer_put(NULL, a, &y, 1, &e), MW_ERR_FENCED);
  y.release(&y);
  CHECK(mw_shard_writer_close(a, &e) != MW_OK);
  CHECK_OK(mw_shard_writer_close(b, &e), &e);
  int64_t ids[64];
  uint64_t entries;
  size_t n = wal_ids(s, ids, 64, &entries);
  CHECK_INT(n, 4); /* 1,2 (A) and 3,4 (B); A's 5,6 never acknowledged */
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

typedef struct put_arg {
  mw_shard_writer *w;
  int64_t first;
  int n_puts;
  mw_status status[64];
} put_arg;

static void *put_thread(void *p) {
  put_arg *a = p;
  for (int i = 0; i < a->n_puts; i++) {
    struct ArrowArray b = make_batch(a->first + i * 10, 10);
    mw_error e = {0};
    a->status[i] = mw_shard_writer_put(NULL, a->w, &b, 1, &e);
    if (b.release) b.release(&b);
  }
  return NULL;
}

static void test_fenced_concurrent_durable_puts(void) {
  mw_objstore *s = wt_store("sw_fcd");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 0, 1);
  mw_shard_writer *a = NULL, *b = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&a, s, &c, &sc, NULL, 0, &e), &e);
  CHECK_OK(mw_shard_writer_open(&b, s, &c, &sc, NULL, 0, &e), &e);
  /* B's fence entry took position 0: A's first write collides. */
  put_arg t1 = {a, 100, 1, {0}}, t2 = {a, 200, 1, {0}};
  pthread_t p1, p2;
  pthread_create(&p1, NULL, put_thread, &t1);
  pthread_create(&p2, NULL, put_thread, &t2);
  pthread_join(p1, NULL);
  pthread_join(p2, NULL);
  /* Each put either was taken and then failed (NOT_DURABLE) or came after
   * the writer knew it was fenced (FENCED, not taken); neither succeeds. */
  CHECK(t1.status[0] == MW_ERR_NOT_DURABLE || t1.status[0] == MW_ERR_FENCED);
  CHECK(t2.status[0] == MW_ERR_NOT_DURABLE || t2.status[0] == MW_ERR_FENCED);
  CHECK(t1.status[0] == MW_ERR_NOT_DURABLE || t2.status[0] == MW_ERR_NOT_DURABLE);
  mw_shard_writer_close(a, NULL);
  mw_shard_writer_close(b, NULL);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_concurrent_puts(int memtable) {
  char name[32];
  snprintf(name, sizeof name, "sw_conc%d", memtable);
  mw_objstore *s = wt_store(name);
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, memtable, 1);
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  put_arg args[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    memset(&args[i], 0, sizeof args[i]);
    args[i].w = w;
    args[i].first = (int64_t)i * 100000;
    args[i].n_puts = 25;
    pthread_create(&th[i], NULL, put_thread, &args[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  int ok = 1;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 25; j++) ok &= args[i].status[j] == MW_OK;
  CHECK(ok);
  if (memtable) {
    mw_memtable_stats ms;
    CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
    CHECK_INT(ms.row_count, 1000);
  }
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  CHECK(st.wal_flush_count <= 100); /* group commit may merge puts */
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  static int64_t ids[2000];
  uint64_t entries = 0;
  size_t n = wal_ids(s, ids, 2000, &entries);
  CHECK_INT(n, 1000);
  /* every id exactly once, and each thread's ids in its own order */
  int seen_dup = 0;
  static unsigned char seen[4][2500];
  memset(seen, 0, sizeof seen);
  int64_t last[4] = {-1, -1, -1, -1};
  int order_ok = 1;
  for (size_t i = 0; i < n; i++) {
    int t = (int)(ids[i] / 100000);
    int64_t k = ids[i] % 100000;
    if (t < 0 || t > 3 || k >= 2500) { seen_dup = 1; continue; }
    if (seen[t][k]) seen_dup = 1;
    seen[t][k] = 1;
    if (k <= last[t]) order_ok = 0;
    last[t] = k;
  }
  CHECK(!seen_dup);
  CHECK(order_ok);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_index_and_filter(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  for (int sync = 0; sync < 2; sync++) {
    mw_objstore *s = wt_store(sync ? "sw_ix1" : "sw_ix0");
    mw_shard_writer_config c;
    cfg_init(&c, 1, 0);
    c.sync_indexed_write = sync;
    c.async_index_interval_ms = 10;
    mw_index_config ix = {sizeof(mw_index_config), "id_idx", "id", MW_INDEX_BTREE, MW_METRIC_L2, 16, 100};
    mw_shard_writer *w = NULL;
    mw_error e = {0};
    CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, &ix, 1, &e), &e);
    for (int i = 0; i < 10; i++) {
      struct ArrowArray b = make_batch(1000 + i * 10, 10);
      CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
    }
    /* value: a length-1 int64 array */
    int64_t v = 1042;
    const void *vb[2] = {NULL, &v};
    struct ArrowArray va = {1, 0, 0, 2, 0, vb, NULL, NULL, tb_child_release, NULL};
    struct ArrowSchema vs;
    mw_schema_init(&vs, "l", "v", NULL, 0, 0, &e);
    mw_scan_filter f = {"id", MW_FILTER_EQ, &vs, &va};
    int64_t ids[256];
    size_t n = scan_ids(w, &f, ids, 256);
    /* async indexing may lag: the scan then compares rows one by one */
    CHECK(n == 1 && ids[0] == 1042);
    f.op = MW_FILTER_GE;
    v = 1095;
    n = scan_ids(w, &f, ids, 256);
    CHECK_INT(n, 5);
    CHECK_INT(ids[0], 1095);
    CHECK_INT(ids[4], 1099);
    f.op = MW_FILTER_LT;
    v = 1003;
    n = scan_ids(w, &f, ids, 256);
    CHECK_INT(n, 3);
    mw_schema_release(&vs);
    CHECK_OK(mw_shard_writer_close(w, &e), &e);
    mw_objstore_close(s);
  }
  mw_schema_release(&sc);
}

static void test_freeze_generations(void) {
  mw_objstore *s = wt_store("sw_gen");
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, 1, 0);
  c.max_memtable_size = 1024;
  mw_shard_writer *w = NULL;
  mw_error e = {0};
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  for (int i = 0; i < 20; i++) {
    struct ArrowArray b = make_batch(i * 10, 10);
    CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, &e), &e);
  }
  mw_memtable_stats ms;
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
  CHECK(ms.generation > 1);
  /* A freeze requests a WAL flush, and a frozen MemTable whose rows are in
   * the WAL is flushed as a generation and dropped in the background: on a
   * slow moment some may be gone already (CI saw 9 of 10 frozen, 180 rows).
   * Flushes go oldest first, so what is left is the newest puts: a suffix
   * of them, frozen + active, in insertion order. */
  CHECK(ms.frozen_count <= ms.generation - 1);
  int64_t ids[512];
  size_t n = scan_ids(w, NULL, ids, 512);
  CHECK(n >= 10 && n <= 200 && n % 10 == 0);
  int ordered = 1;
  for (size_t i = 0; i < n; i++) ordered &= ids[i] == (int64_t)(200 - n + i);
  CHECK(ordered);
  CHECK_OK(mw_shard_writer_close(w, &e), &e);
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

/* Fault injection: every object-store call during open + puts fails once
 * (error, and wrote-but-errored) in turn. Afterwards, reopening on the inner
 * store must show every acknowledged row exactly once. */
static void test_faults(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  int failures = 0;
  for (int kind = 0; kind < 3; kind++) {
    for (uint64_t nth = 1; nth <= 40; nth++) {
      char name[48];
      snprintf(name, sizeof name, "sw_fault_%d_%" PRIu64, kind, nth);
      mw_objstore *inner = wt_store(name);
      mw_objstore *s = NULL;
      mw_error e = {0};
      mw_objstore_fault_new(&s, inner, &e);
      mw_fault_spec spec = {MW_FAULT_ALL, NULL, nth,
                            kind == 0 ? MW_FAULT_ERROR : kind == 1 ? MW_FAULT_WROTE_ERROR : MW_FAULT_CRASH,
                            MW_FAULT_ONCE};
      mw_objstore_fault_arm(s, &spec, &e);
      mw_shard_writer_config c;
      cfg_init(&c, nth % 2, 1);
      mw_shard_writer *w = NULL;
      unsigned char acked[64] = {0};
      if (mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e) == MW_OK) {
        for (int i = 0; i < 6; i++) {
          struct ArrowArray b = make_batch(i * 10, 10);
          if (mw_shard_writer_put(NULL, w, &b, 1, &e) == MW_OK) acked[i] = 1;
          if (b.release) b.release(&b);
        }
        mw_shard_writer_close(w, NULL);
      }
      if (kind == 2) mw_objstore_fault_crash(s); /* make sure nothing more lands */
      mw_objstore_close(s);
      /* Reopen on the inner store (MemTable mode replays everything). */
      mw_shard_writer_config c2;
      cfg_init(&c2, 1, 1);
      mw_shard_writer *r = NULL;
      mw_status os = mw_shard_writer_open(&r, inner, &c2, &sc, NULL, 0, &e);
      if (os != MW_OK) {
        fprintf(stderr, "fault kind %d nth %" PRIu64 ": reopen failed: %s\n", kind, nth, e.message);
        failures++;
      } else {
        static int64_t ids[1024];
        size_t n = scan_ids(r, NULL, ids, 1024);
        unsigned char count[64] = {0};
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
          int64_t bi = ids[i] / 10;
          if (bi < 0 || bi >= 6) { bad = 1; continue; }
          if (ids[i] % 10 == 0) count[bi]++;
        }
        for (int i = 0; i < 6; i++) {
          if (acked[i] && count[i] != 1) bad = 1; /* acknowledged: exactly once */
          if (count[i] > 1) bad = 1;               /* never duplicated */
        }
        if (bad) {
          fprintf(stderr, "fault kind %d nth %" PRIu64 ": acknowledged rows lost or duplicated\n", kind, nth);
          failures++;
        }
        mw_shard_writer_close(r, NULL);
      }
      mw_objstore_close(inner);
    }
  }
  CHECK_INT(failures, 0);
  mw_schema_release(&sc);
}

/* SIGKILL at random points: a child writes durable puts to a shard of the
 * store under test, reporting each acknowledged batch through a pipe; the
 * parent kills it and reopens: every acknowledged batch must be there,
 * exactly once. kill_us: the child runs kill_us..2*kill_us microseconds. */
static void test_kill9(void) {
  struct ArrowSchema sc;
  make_schema(&sc);
  srand(12345);
  int failures = 0;
  int kill_us = wt_is_s3 ? 100000 : 20000;
  for (int round = 0; round < 12; round++) {
    char name[32], uri[800];
    /* rounds share 3 shards: later rounds replay earlier rounds' WAL */
    snprintf(name, sizeof name, "kill9_t%d", round % 3);
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
      cfg_init(&c, 1, 1);
      mw_shard_writer *w = NULL;
      if (mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e) != MW_OK) _exit(3);
      int64_t opened = -1;
      if (write(fds[1], &opened, sizeof opened) != sizeof opened) _exit(5);
      for (int64_t i = 0; i < 100000; i++) {
        int64_t id = (int64_t)round * 1000000 + i * 10;
        struct ArrowArray b = make_batch(id, 10);
        if (mw_shard_writer_put(NULL, w, &b, 1, &e) != MW_OK) _exit(4);
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
    usleep((useconds_t)kill_us + (useconds_t)(rand() % kill_us));
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFSIGNALED(st)) {
      fprintf(stderr, "kill9 round %d: child exited by itself (status %d)\n", round, WEXITSTATUS(st));
      failures++;
    }
    static int64_t acked[200000];
    size_t na = 0;
    while (read(fds[0], &id, sizeof id) == sizeof id && na < 200000) acked[na++] = id;
    close(fds[0]);
    mw_objstore *s = NULL;
    mw_error e = {0};
    CHECK_OK(mw_objstore_open(&s, uri, NULL, &e), &e);
    mw_shard_writer_config c;
    cfg_init(&c, 1, 1);
    mw_shard_writer *w = NULL;
    if (mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e) != MW_OK) {
      fprintf(stderr, "kill9 round %d: reopen: %s\n", round, e.message);
      failures++;
      mw_objstore_close(s);
      continue;
    }
    static int64_t ids[4000000];
    size_t n = scan_ids(w, NULL, ids, 4000000);
    /* every acknowledged batch start present exactly once */
    size_t found = 0, dups = 0;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
      if (ids[i] / 1000000 != round) continue;
      if (ids[i] % 10 != 0) continue;
      while (j < na && acked[j] < ids[i]) j++;
      if (j < na && acked[j] == ids[i]) found++;
      if (i > 0 && ids[i - 1] == ids[i]) dups++;
    }
    if (found != na || dups) {
      fprintf(stderr, "kill9 round %d: %zu acknowledged, %zu found, %zu dups\n", round, na, found, dups);
      failures++;
    }
    mw_shard_writer_close(w, NULL);
    mw_objstore_close(s);
  }
  CHECK_INT(failures, 0);
  mw_schema_release(&sc);
}

/* Copies every object of the store at src_uri into dst. */
typedef struct sw_copy {
  mw_objstore *src, *dst;
  int failed;
} sw_copy;

static int sw_copy_cb(void *arg, const char *key, uint64_t size) {
  sw_copy *c = arg;
  uint8_t *d = NULL;
  size_t n = 0;
  mw_error e = {0};
  (void)size;
  if (mw_objstore_get(c->src, &d, &n, key, 0, MW_OBJSTORE_TO_END, &e) != MW_OK ||
      mw_objstore_put(c->dst, key, d, n, &e) != MW_OK) {
    fprintf(stderr, "copy %s: %s\n", key, e.message);
    c->failed = 1;
  }
  mw_free(d);
  return 0;
}

/* Replay of the Lance 12 fixture (copied into the store under test):
 * exactly the rows of its unflushed WAL entries (positions 4..7: ids 7,8,9
 * and 3,10). */
static void test_replay_lance_fixture(void) {
  char src_uri[600];
  snprintf(src_uri, sizeof src_uri, "%s/fixtures/lance12_reference_table.lance", MW_SHARED_DIR);
  mw_error e = {0};
  sw_copy cp = {NULL, wt_store("fixture/t.lance"), 0};
  CHECK_OK(mw_objstore_open(&cp.src, src_uri, NULL, &e), &e);
  if (!cp.src) return;
  CHECK_OK(mw_objstore_list(cp.src, "", sw_copy_cb, &cp, &e), &e);
  CHECK_INT(cp.failed, 0);
  mw_objstore_close(cp.src);
  mw_objstore *s = cp.dst;
  /* the fixture's schema: id int64 pk, name utf8, _tombstone bool not null */
  struct ArrowSchema sc;
  mw_kv pk = {"lance-schema:unenforced-primary-key:position", 44, "1", 1};
  bool ok = true;
  char *meta = mw_metadata_build(&pk, 1, &ok);
  mw_schema_init(&sc, "+s", "", NULL, 0, 3, &e);
  mw_schema_init(sc.children[0], "l", "id", meta, 0, 0, &e);
  mw_schema_init(sc.children[1], "u", "name", NULL, ARROW_FLAG_NULLABLE, 0, &e);
  mw_schema_init(sc.children[2], "b", "_tombstone", NULL, 0, 0, &e);
  free(meta);
  mw_shard_writer_config c;
  mw_shard_writer_config_init(&c);
  snprintf(c.shard_id, sizeof c.shard_id, "aa48498d-ac91-59e2-8452-69f46010ace2");
  c.first_wal_entry_position = 1;
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  if (w) {
    CHECK_INT(mw_shard_writer_epoch(w), 5);
    int64_t ids[64];
    size_t n = scan_ids(w, NULL, ids, 64);
    CHECK_INT(n, 5);
    int64_t want[5] = {7, 8, 9, 3, 10};
    for (size_t i = 0; i < 5 && i < n; i++) CHECK_INT(ids[i], want[i]);
    mw_memtable_stats ms;
    CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, &e), &e);
    CHECK_INT(ms.generation, 2);
    mw_wal_stats ws;
    CHECK_OK(mw_shard_writer_wal_stats(&ws, w, &e), &e);
    CHECK_INT(ws.next_wal_entry_position, 9); /* our fence entry took 8 */
    CHECK_OK(mw_shard_writer_close(w, &e), &e);
  }
  mw_schema_release(&sc);
  mw_objstore_close(s);
}

static void test_fencing_wal_only(void) { test_fencing(0); }
static void test_fencing_memtable(void) { test_fencing(1); }
static void test_concurrent_puts_wal_only(void) { test_concurrent_puts(0); }
static void test_concurrent_puts_memtable(void) { test_concurrent_puts(1); }

/* Runs the whole suite with every store under `base`: "memory://" (stores
 * memory://NAME; no SIGKILL test), a local folder "/path/" or
 * "file:///path/", or "s3://bucket/prefix/" (trailing '/' needed). */
static void sw_run_suite(const char *base) {
  wt_set_base(base);
  fprintf(stderr, "--- ShardWriter suite on %s\n", base);
  MW_RUN(test_memtable_single_put);
  MW_RUN(test_wal_only_durable_round_trip);
  MW_RUN(test_invalid_input);
  MW_RUN(test_non_durable_batched);
  MW_RUN(test_timer_flushes_quiet_writer);
  MW_RUN(test_size_trigger);
  MW_RUN(test_replay);
  MW_RUN(test_fencing_wal_only);
  MW_RUN(test_fencing_memtable);
  MW_RUN(test_fenced_concurrent_durable_puts);
  MW_RUN(test_concurrent_puts_wal_only);
  MW_RUN(test_concurrent_puts_memtable);
  MW_RUN(test_index_and_filter);
  MW_RUN(test_freeze_generations);
  MW_RUN(test_faults);
  MW_RUN(test_replay_lance_fixture);
  if (!wt_is_memory) MW_RUN(test_kill9);
}

#endif /* MW_SHARD_WRITER_SUITE_H */
