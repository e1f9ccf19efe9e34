/*
 * replay.c - replay of the unflushed WAL when a MemTable-mode writer opens
 * (MEMWAL.md section 7). Runs inside open, after the claim and the fence
 * entry and before any thread starts, so it touches the writer's state
 * without contention (mu is not needed, and not held across the reads).
 *
 * Design: start at the first position to replay (after the last flushed
 * generation's covering position; on a never-flushed shard at 0 if entry 0
 * exists, else at 1 or the configured first position), read entries in
 * order with two read-ahead threads (wal_prefetch.c) until one is absent.
 * An entry of a newer epoch aborts the open (a newer writer claimed the
 * shard meanwhile); entries of older epochs are kept (no data loss). The
 * Entries are checked against the stored schema (tombstone.c): names and
 * types must match, nullability may differ (Lance widens non-key columns),
 * an entry without `_tombstone` is all puts (wrapped with all-false, zero
 * copy), and a mismatch names the position and the column. The
 * non-empty batches go into the active MemTable as already durable (never
 * written to the WAL again), and the freeze triggers apply as for puts, so
 * a long unflushed WAL becomes MemTables of the configured size, each
 * covering whole entries. The appender is then seeded with the first
 * absent position.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arrow/c_data.h"
#include "wal/wal_names.h"
#include "wal/wal_prefetch.h"
#include "writer/writer_internal.h"

/* Replays the WAL into the active MemTable (MEMWAL.md section 7). Returns
 * the first absent position. */
mw_status w_replay(uint64_t *out_next, mw_shard_writer *w, const mw_shard_manifest *m, mw_error *err) {
  uint64_t pos;
  if (m->replay_after_wal_entry_position > 0 || m->n_flushed_generations > 0) {
    pos = m->replay_after_wal_entry_position + 1;
  } else {
    /* Never flushed: 0-based shards start at 0, 1-based (Lance >= 7) at 1. */
    char key[MW_KEY_SIZE];
    mw_wal_entry_key(key, w->shard, 0);
    uint64_t size;
    mw_error he = {0};
    mw_status hs = mw_objstore_head(w->store, &size, key, &he);
    if (hs == MW_ERR_NOT_FOUND) {
      /* Nothing at 0: a 1-based shard starts at 1; an empty WAL at the
       * configured first position (where the next entry will go). */
      mw_wal_entry_key(key, w->shard, 1);
      hs = mw_objstore_head(w->store, &size, key, &he);
      if (hs == MW_OK) pos = 1;
      else if (hs == MW_ERR_NOT_FOUND) { pos = w->cfg.first_wal_entry_position; hs = MW_OK; }
    } else {
      pos = 0;
    }
    if (hs != MW_OK) {
      if (err) *err = he;
      return hs;
    }
  }
  mw_status s = MW_OK;
  uint64_t first_pos = pos;
  /* Entries are read ahead by two threads while this one inserts. */
  mw_wal_prefetch *pf = NULL;
  s = mw_wal_prefetch_open(&pf, w->store, w->shard, pos, 2, 32, err);
  if (s != MW_OK) return s;
  for (;; pos++) {
    mw_wal_entry e;
    mw_error re = {0};
    s = mw_wal_prefetch_next(&e, pf, &re);
    if (s == MW_ERR_NOT_FOUND) {
      s = MW_OK;
      break;
    }
    if (s != MW_OK) {
      if (err) *err = re;
      break;
    }
    if (e.writer_epoch > w->epoch) {
      s = mw_err(err, MW_ERR_FENCED,
                 "replay: WAL entry at position %" PRIu64 " has writer epoch %" PRIu64
                 " > our epoch %" PRIu64 ": a newer writer claimed shard %s during open",
                 pos, e.writer_epoch, w->epoch, w->shard);
      mw_wal_entry_release(&e);
      break;
    }
    if (e.rows > 0) {
      char why[400];
      bool add_tomb = false;
      if (w_entry_compat(&add_tomb, &w->schema, &e.schema, why, sizeof why) != MW_OK) {
        s = mw_err(err, MW_ERR_INVALID, "replay: WAL entry at position %" PRIu64 " does not match the writer schema: %s",
                   pos, why);
        mw_wal_entry_release(&e);
        break;
      }
      /* An entry without `_tombstone`: every row is a put. */
      for (size_t i = 0; add_tomb && s == MW_OK && i < e.n_batches; i++) {
        struct ArrowArray wrapped;
        s = w_tomb_wrap(&wrapped, &e.batches[i], false, err);
        if (s == MW_OK) e.batches[i] = wrapped;
      }
      /* Insert the non-empty batches; they are already in the WAL. */
      size_t k = 0;
      for (size_t i = 0; i < e.n_batches; i++) {
        mw_status vs = mw_batch_validate(&w->schema, &e.batches[i], err);
        if (vs != MW_OK) {
          s = mw_err_wrap(err, vs, "replay: WAL entry at position %" PRIu64, pos);
          break;
        }
        if (e.batches[i].length > 0) {
          if (k != i) {
            e.batches[k] = e.batches[i];
            e.batches[i].release = NULL;
          }
          k++;
        }
      }
      if (s == MW_OK && k > 0) {
        s = mw_memtable_insert(NULL, w->active, e.batches, k, true, err);
        if (s == MW_OK) {
          w->next_batch_pos += k;
          w->stats.replayed_rows += e.rows;
          /* Everything so far is durable and covered by this entry: the
           * freeze triggers apply as for puts, so a long unflushed WAL
           * becomes MemTables of the configured size (flushed once the
           * threads start), each covering whole entries up to its last. */
          w->durable_end = w->next_batch_pos;
          w->pend_start = w->next_batch_pos;
          w->have_wal_pos = true;
          w->last_wal_pos = pos;
          s = w_maybe_freeze(w, err);
        }
      }
      w->stats.replayed_entries++;
    }
    mw_wal_entry_release(&e);
    if (s != MW_OK) break;
  }
  mw_wal_prefetch_close(pf);
  if (s == MW_OK) {
    *out_next = pos;
    w->durable_end = w->next_batch_pos;
    w->pend_start = w->next_batch_pos;
    /* Every replayed batch (and fence entry) lies at or before pos - 1. */
    if (pos > first_pos) {
      w->have_wal_pos = true;
      w->last_wal_pos = pos - 1;
    }
  }
  return s;
}

