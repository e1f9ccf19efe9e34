/*
 * index_worker.c - the async index worker (sync_indexed_write = 0; MEMWAL.md
 * section 6). Puts insert rows unindexed; this thread indexes them in
 * insertion order when async_index_buffer_rows rows wait (a put signals
 * index_cv) or every async_index_interval_ms.
 *
 * Design: under mu the worker only takes a reference to the active
 * MemTable (mw_memtable_retain); the indexing itself runs with mu released
 * (the MemTable's own lock is dropped between batches, so puts and scans
 * interleave). A MemTable frozen meanwhile is still indexed to the end (the
 * MemTable flusher also indexes what remains before it writes a
 * generation). Log lines go through w_log_now, never under mu.
 */
#include <stdio.h>

#include "writer/writer_internal.h"

void *w_index_worker_main(void *arg) {
  mw_shard_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stopping) {
    struct timespec dl = w_deadline_ms(w->cfg.async_index_interval_ms ? w->cfg.async_index_interval_ms : 1000);
    pthread_cond_timedwait(&w->index_cv, &w->mu, &dl);
    if (w->stopping) break;
    mw_memtable *mt = w->active;
    if (!mt || mw_memtable_unindexed_rows(mt) == 0) continue;
    mw_memtable_retain(mt);
    w_unlock(w);
    mw_error e = {0};
    if (mw_memtable_index_pending(NULL, mt, &e) != MW_OK)
      w_log_now(w, MW_LOG_ERROR, "async indexing failed: %s", e.message);
    mw_memtable_free(mt);
    pthread_mutex_lock(&w->mu);
  }
  w_unlock(w);
  return NULL;
}
