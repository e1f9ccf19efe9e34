/*
 * memtable_flusher.c - freezing MemTables and the MemTable flusher thread
 * (MEMWAL.md section 6, "Freeze and flush"; shared state in
 * writer_internal.h).
 *
 * Design.
 *  - Freeze (any thread, mu held): the active MemTable becomes the newest
 *    frozen one (remembering its batch end) and a new active MemTable with
 *    generation + 1 takes its place. A WAL flush is requested at once so the
 *    frozen MemTable's batches reach the WAL before later ones (the pending
 *    queue is FIFO, and the WAL flusher cuts entries at batch ends).
 *  - A frozen MemTable is "covered" once its last batch is durable; the WAL
 *    position of that entry is the position its generation covers.
 *  - The MemTable flusher thread takes the oldest frozen MemTable once it is
 *    covered and, WITHOUT holding mu: indexes any rows not yet indexed (a
 *    failure there is a failed flush, retried; only after the retry policy
 *    gave up is the generation written without the FTS / vector indexes,
 *    logged as an error, so that the writer does not stall for good),
 *    checks fencing, writes {8 hex}_gen_{g}/ (mw_lance_write_generation,
 *    with a Lance index under _indices/ for each index config: BTree built
 *    from the rows, FTS and IVF_HNSW_SQ serialised from the MemTable's
 *    in-memory indexes (gen_index.h), each built on a thread of its own
 *    while this thread writes the data file, all registered in the
 *    generation manifest, which is written last, after every index file; a
 *    fresh folder name on every attempt: an abandoned folder is never
 *    referenced and readers ignore it; values too large for a Lance 2.1
 *    page make that generation a 2.0 dataset when the schema allows it,
 *    counted in stats), then commit_update's the shard manifest
 *    (replay_after = covering position, current_generation = g + 1, the
 *    generation appended). On success the MemTable is dropped and its bytes
 *    leave the backpressure budget.
 *  - Failures: fenced and unknown outcomes (MW_ERR_POISONED from the
 *    manifest store, which settles ambiguous writes itself) are sticky; any
 *    other failure is retried under the retry policy (w_failure_record),
 *    and once the policy gives up every put / flush_memtable / close returns
 *    the error (the WAL still holds the rows; the flusher keeps retrying at
 *    the maximum backoff, and a success clears the condition).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/uuid.h"
#include "lance/lance_dataset.h"
#include "lance/lance_file.h"
#include "memtable/memtable.h"
#include "writer/writer_internal.h"

mw_status w_freeze_active(mw_shard_writer *w, mw_error *err) {
  mw_memtable_info info;
  mw_memtable_info_get(&info, w->active);
  if (info.rows == 0) return MW_OK;
  mw_memtable *next = NULL;
  MW_TRY(mw_memtable_new(&next, &w->schema, info.generation + 1, w->indexes, w->n_indexes, err));
  mw_memtable_set_index_threads(next, w->cfg.index_threads);
  if (w->n_frozen == w->cap_frozen) {
    size_t cap = w->cap_frozen ? w->cap_frozen * 2 : 4;
    frozen_mt *f = realloc(w->frozen, cap * sizeof *f);
    if (!f) {
      mw_memtable_free(next);
      return mw_err(err, MW_ERR_NOMEM, "out of memory freezing a MemTable");
    }
    w->frozen = f;
    w->cap_frozen = cap;
  }
  mw_memtable_freeze(w->active);
  frozen_mt *f = &w->frozen[w->n_frozen++];
  f->mt = w->active;
  f->generation = info.generation;
  f->batch_end = w->next_batch_pos;
  /* Already durable (e.g. only replayed batches): the entry that made
   * durable_end what it is holds its last batch. */
  f->covered = w->durable_end >= f->batch_end && w->have_wal_pos;
  f->wal_pos = f->covered ? w->last_wal_pos : 0;
  /* Batch positions of the new MemTable start here (the visibility cursor
   * of durable writes); during replay every batch is durable (default). */
  if (w->replay_done) mw_memtable_set_positions(next, 0, w->next_batch_pos);
  w->active = next;
  pthread_cond_signal(&w->mt_cv);
  w->flush_requested = true;
  pthread_cond_signal(&w->wal_cv);
  w_log_locked(w, MW_LOG_INFO, "froze MemTable generation %" PRIu64 " (%" PRIu64 " rows, %" PRIu64 " bytes)",
               info.generation, info.rows, info.estimated_size);
  return MW_OK;
}

mw_status w_maybe_freeze(mw_shard_writer *w, mw_error *err) {
  mw_memtable_info info;
  mw_memtable_info_get(&info, w->active);
  bool full = info.estimated_size >= w->cfg.max_memtable_size ||
              (w->cfg.max_memtable_batches && info.batches >= w->cfg.max_memtable_batches) ||
              (w->cfg.max_memtable_rows && info.rows >= w->cfg.max_memtable_rows);
  return full ? w_freeze_active(w, err) : MW_OK;
}

typedef struct gen_commit {
  uint64_t generation;
  uint64_t wal_pos;
  const char *folder;
  mw_flushed_gen_stats stats;
} gen_commit;

/* commit_update callback: derives the new version from the latest one. */
static mw_status gen_commit_mutate(void *arg, mw_shard_manifest *m, mw_error *err) {
  const gen_commit *c = arg;
  for (size_t i = 0; i < m->n_flushed_generations; i++)
    if (m->flushed_generations[i]->generation == c->generation)
      return mw_err(err, MW_ERR_CONFLICT, "generation %" PRIu64 " is already in the shard manifest (folder %s)",
                    c->generation, m->flushed_generations[i]->path ? m->flushed_generations[i]->path : "");
  if (m->replay_after_wal_entry_position < c->wal_pos) m->replay_after_wal_entry_position = c->wal_pos;
  if (m->wal_entry_position_last_seen < c->wal_pos) m->wal_entry_position_last_seen = c->wal_pos;
  m->current_generation = c->generation + 1;
  return mw_shard_manifest_add_flushed_generation(m, c->generation, c->folder, &c->stats, err);
}

/* Writes the generation folder of f (no lock held). *fell_back: written as
 * Lance 2.0 because a value did not fit a 2.1 page. indexed: every row is
 * in the in-memory indexes (else FTS / HNSW are not serialised: an index
 * missing rows would hide them from LanceDB's searches silently). */
static mw_status write_generation(mw_shard_writer *w, const frozen_mt *f, const mw_memtable_info *info,
                                  bool indexed, char *folder, size_t folder_cap, mw_lance_gen_result *res,
                                  bool *fell_back, mw_error *e) {
  mw_status s = MW_OK;
  size_t n = (size_t)info->batches;
  struct ArrowArray *arrays = calloc(n ? n : 1, sizeof *arrays);
  if (!arrays) return mw_err(e, MW_ERR_NOMEM, "out of memory");
  for (size_t i = 0; s == MW_OK && i < n; i++) s = mw_memtable_batch_ref(&arrays[i], f->mt, i, e);
  /* Fencing first: a fenced writer writes no folder. */
  if (s == MW_OK) s = mw_manifest_store_check_fenced(NULL, w->ms, w->epoch, e);
  char prefix[160];
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  /* The generation's Lance indexes (gen_index.h): one per index of the
   * writer, named as the writer names it (the base index's name for a table
   * writer); FTS and HNSW are serialised from the MemTable's in-memory
   * index. An index Lance cannot have on its column is left out (warned). */
  mw_gen_index *gix = calloc(w->n_indexes ? w->n_indexes : 1, sizeof *gix);
  if (!gix) s = mw_err(e, MW_ERR_NOMEM, "out of memory");
  size_t ngix = 0;
  for (size_t i = 0; gix && i < w->n_indexes; i++) {
    const mw_index_config *c = &w->indexes[i];
    const struct ArrowSchema *field = NULL;
    for (int64_t k = 0; k < w->schema.n_children; k++)
      if (strcmp(w->schema.children[k]->name, c->column) == 0) field = w->schema.children[k];
    mw_gen_index *x = &gix[ngix];
    x->name = c->name;
    x->column = c->column;
    x->kind = c->kind;
    if (c->kind == MW_INDEX_HNSW && indexed) x->hnsw = mw_memtable_hnsw(f->mt, c->name);
    if (c->kind == MW_INDEX_FTS && indexed) x->fts = mw_memtable_fts(f->mt, c->name);
    if (!mw_gen_index_column_ok(c->kind, field) || (c->kind == MW_INDEX_HNSW && !x->hnsw) ||
        (c->kind == MW_INDEX_FTS && !x->fts)) {
      w_log_now(w, MW_LOG_WARN, "generation %" PRIu64 ": index '%s' on column '%s' cannot be written as a Lance index; "
                "the generation has none", f->generation, c->name, c->column);
      continue;
    }
    ngix++;
  }
  o.indexes = gix;
  o.n_indexes = ngix;
  for (int attempt = 0; s == MW_OK && attempt < 2; attempt++) {
    uint8_t rnd[16];
    s = mw_uuid_v4(rnd, e);
    if (s != MW_OK) break;
    snprintf(folder, folder_cap, "%02x%02x%02x%02x_gen_%" PRIu64, rnd[0], rnd[1], rnd[2], rnd[3], f->generation);
    snprintf(prefix, sizeof prefix, "_mem_wal/%s/%s", w->shard, folder);
    s = mw_lance_write_generation(w->store, prefix, &w->schema, arrays, n, &o, res, e);
    if (s == MW_OK) break;
    if (s == MW_ERR_UNSUPPORTED && o.version == MW_LANCE_V2_1 &&
        mw_lance_check_schema_version(&w->schema, MW_LANCE_V2_0, NULL) == MW_OK) {
      w_log_now(w, MW_LOG_WARN, "generation %" PRIu64 ": %s; writing it as Lance file format 2.0", f->generation,
                e->message);
      o.version = MW_LANCE_V2_0;
      *fell_back = true;
      s = MW_OK;
      continue;
    }
    mw_err_wrap(e, s, "writing %s", folder);
  }
  for (size_t i = 0; i < n; i++)
    if (arrays[i].release) arrays[i].release(&arrays[i]);
  free(arrays);
  free(gix);
  return s;
}

/* Flushes frozen[0] (mu held, covered); releases mu around the work. */
static void flush_generation(mw_shard_writer *w) {
  frozen_mt f = w->frozen[0]; /* copy: the array may move while unlocked */
  mw_memtable_info info;
  mw_memtable_info_get(&info, f.mt);
  /* The generation's data file is built in memory (a second copy of the
   * MemTable): it counts against the backpressure budget while it exists. */
  w->flushing_bytes = info.estimated_size;
  bool gave_up = w->gen_fail.gave_up;
  w_unlock(w);

  uint64_t t0 = w_now_ns();
  mw_error e = {0};
  /* Rows put with sync_indexed_write = 0 may not be indexed yet. A
   * generation without its FTS / vector index would be invisible to
   * LanceDB's searches, so a failure to index (out of memory) is a failed
   * flush, retried with the retry policy; only once the policy gave up is
   * the generation written without those indexes (its rows stay readable;
   * searches find them after a merge and LanceDB's re-indexing), so the
   * writer does not stall for good. */
  bool indexed = true;
  mw_status s = MW_OK;
  if (mw_memtable_unindexed_rows(f.mt) > 0 && (s = mw_memtable_index_pending(NULL, f.mt, &e)) != MW_OK) {
    if (!gave_up) {
      mw_err_wrap(&e, s, "indexing the frozen MemTable");
    } else {
      w_log_now(w, MW_LOG_ERROR,
                "indexing frozen generation %" PRIu64 " failed again after the retry policy gave up (%s): writing it "
                "without its full-text / vector indexes; LanceDB's searches will not see its rows until merged "
                "and re-indexed",
                f.generation, e.message);
      indexed = false;
      s = MW_OK;
    }
  }
  char folder[64] = "";
  mw_lance_gen_result res = {0};
  bool fell_back = false;
  if (s == MW_OK) s = write_generation(w, &f, &info, indexed, folder, sizeof folder, &res, &fell_back, &e);
  if (s == MW_OK) {
    gen_commit c = {f.generation, f.wal_pos, folder, {res.in_memory_bytes, res.physical_rows, res.primary_key_bytes}};
    s = mw_manifest_store_commit_update(NULL, w->ms, w->epoch, gen_commit_mutate, &c, &e);
    if (s != MW_OK) mw_err_wrap(&e, s, "committing generation %" PRIu64 " (%s) to the shard manifest", f.generation, folder);
  }
  uint64_t t1 = w_now_ns();

  pthread_mutex_lock(&w->mu);
  w->flushing_bytes = 0;
  if (fell_back) w->stats.lance_v2_0_generations++;
  if (s == MW_OK) {
    /* frozen[0] is still f: only this thread removes frozen MemTables. */
    memmove(&w->frozen[0], &w->frozen[1], (w->n_frozen - 1) * sizeof *w->frozen);
    w->n_frozen--;
    if (w->gen_fail.streak > 0)
      w_log_locked(w, MW_LOG_INFO, "generation %" PRIu64 " flushed after %" PRIu64 " failed attempts", f.generation,
                   w->gen_fail.streak);
    w->gen_fail.unreported = false;
    w_failure_clear(&w->gen_fail);
    w->stats.memtable_flush_count++;
    w->stats.memtable_flush_rows += info.rows;
    w->stats.memtable_flush_nanos += t1 - t0;
    w_log_locked(w, MW_LOG_INFO,
                 "flushed generation %" PRIu64 " to %s (%" PRIu64 " rows, %" PRIu64
                 " after dedup), replay after WAL position %" PRIu64,
                 f.generation, folder, info.rows, res.physical_rows, f.wal_pos);
    pthread_cond_broadcast(&w->gen_cv);
    w_unlock(w);
    mw_memtable_free(f.mt); /* outside the lock: may free much memory */
    pthread_mutex_lock(&w->mu);
    return;
  }
  if (s == MW_ERR_FENCED || s == MW_ERR_POISONED) w_make_sticky(w, s, e.message);
  char msg[MW_ERROR_MESSAGE_SIZE];
  snprintf(msg, sizeof msg, "generation %" PRIu64 ": %.400s", f.generation, e.message);
  w_failure_record(w, &w->gen_fail, s, msg, "MemTable flush");
  pthread_cond_broadcast(&w->gen_cv);
}

void *w_mt_flusher_main(void *arg) {
  mw_shard_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    if (w->stopping || w->sticky != MW_OK) break;
    uint64_t now = w_now_ns();
    bool ready = w->n_frozen > 0 && w->frozen[0].covered;
    if (ready && now >= w->gen_fail.retry_at) {
      flush_generation(w);
      continue;
    }
    if (w->n_logq) {
      w_unlock(w);
      pthread_mutex_lock(&w->mu);
      continue;
    }
    if (ready) {
      struct timespec dl = w_deadline_ms((w->gen_fail.retry_at - now) / 1000000 + 1);
      pthread_cond_timedwait(&w->mt_cv, &w->mu, &dl);
    } else {
      pthread_cond_wait(&w->mt_cv, &w->mu);
    }
  }
  w_unlock(w);
  return NULL;
}
