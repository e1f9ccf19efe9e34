/*
 * shard_writer.c - the ShardWriter's caller-side half (MEMWAL.md sections
 * 6-8): open, put, backpressure, flush requests, close, accessors; and the
 * helpers the writer's threads share (time, logging, sticky errors, retry
 * policy). The threads live in wal_flusher.c, memtable_flusher.c and
 * index_worker.c, replay in replay.c; writer_internal.h says which lock
 * guards which field and what each condition variable signals.
 *
 * Design of put.
 *  - Validation needs no lock: batches against the schema, and (MemTable
 *    mode) what a Lance generation can store, so that nothing is accepted
 *    that the MemTable flusher could never write.
 *  - OWNERSHIP, one rule: a put that returns MW_OK or MW_ERR_NOT_DURABLE
 *    took the batches (their release is set to NULL) and the writer writes
 *    them; any other status means it did not take them and nothing of them
 *    will ever be written. MW_ERR_NOT_DURABLE (durable_write only) says the
 *    batches were taken but the wait for their WAL entry failed: the caller
 *    must not put them again (the writer retries them; after a poisoned or
 *    closed writer, reopening shows whether their entry landed).
 *  - Backpressure blocks a put before it takes anything while the unflushed
 *    bytes exceed max_unflushed_memtable_bytes, and returns the stored error
 *    once a background flush gave up under the retry policy (never hangs on
 *    a persistent failure), MW_ERR_CLOSED once close started.
 *  - In-flight accounting (w_enter / w_leave) lets close run while other
 *    threads are inside put / flush / scan: they finish (or return
 *    MW_ERR_CLOSED) before close frees anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/uuid.h"
#include "lance/lance_dataset.h"
#include "lance/lance_file.h"
#include "lance/pk_index.h"
#include "writer/shard_writer_split.h"
#include "writer/writer_internal.h"

/* ------------------------------------------------------------- utilities */

uint64_t w_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct timespec w_deadline_ms(uint64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)((ms % 1000) * 1000000);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

uint64_t w_ms_since(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t d = (int64_t)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
  return d < 0 ? 0 : (uint64_t)d;
}

static void cond_init_monotonic(pthread_cond_t *c) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
}

/* ---------------------------------------------------------------- logging */

static void emit(const mw_shard_writer *w, mw_log_level level, const char *msg) {
  if (w->cfg.log_fn) w->cfg.log_fn(w->cfg.log_arg, level, msg);
  else if (level >= MW_LOG_WARN)
    fprintf(stderr, "memwal: %s: %s\n", level == MW_LOG_WARN ? "warning" : "error", msg);
}

void w_log_now(mw_shard_writer *w, mw_log_level level, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  emit(w, level, msg);
}

void w_log_locked(mw_shard_writer *w, mw_log_level level, const char *fmt, ...) {
  if (!w->cfg.log_fn && level < MW_LOG_WARN) return; /* would not be shown */
  if (w->n_logq == W_LOGQ) {
    w->logs_dropped++;
    return;
  }
  w_log *l = &w->logq[w->n_logq++];
  l->level = level;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(l->text, sizeof l->text, fmt, ap);
  va_end(ap);
}

void w_unlock(mw_shard_writer *w) {
  if (w->n_logq == 0 && w->logs_dropped == 0) {
    pthread_mutex_unlock(&w->mu);
    return;
  }
  w_log q[W_LOGQ];
  unsigned n = w->n_logq, dropped = w->logs_dropped;
  memcpy(q, w->logq, n * sizeof *q);
  w->n_logq = 0;
  w->logs_dropped = 0;
  pthread_mutex_unlock(&w->mu);
  for (unsigned i = 0; i < n; i++) emit(w, q[i].level, q[i].text);
  if (dropped) w_log_now(w, MW_LOG_WARN, "%u log lines dropped (too many at once)", dropped);
}

/* ------------------------------------------------------------ errors */

void w_make_sticky(mw_shard_writer *w, mw_status s, const char *msg) {
  if (w->sticky != MW_OK) return;
  w->sticky = s;
  snprintf(w->sticky_msg, sizeof w->sticky_msg, "%.400s%s", msg,
           s == MW_ERR_POISONED ? " (writer refuses further writes until reopened)" : "");
  pthread_cond_broadcast(&w->durable_cv);
  pthread_cond_broadcast(&w->gen_cv);
  pthread_cond_broadcast(&w->mt_cv);
  pthread_cond_broadcast(&w->wal_cv);
}

mw_status w_sticky_error(mw_shard_writer *w, mw_error *err) {
  return mw_err(err, w->sticky, "%s", w->sticky_msg);
}

void w_failure_record(mw_shard_writer *w, w_failure *f, mw_status s, const char *msg, const char *what) {
  uint64_t now = w_now_ns();
  const mw_shard_writer_config *c = &w->cfg;
  f->seq++;
  if (f->streak++ == 0) {
    f->first_ns = now;
    f->backoff_ms = c->retry_initial_backoff_ms ? c->retry_initial_backoff_ms : 1;
  } else {
    f->backoff_ms *= 2;
  }
  if (c->retry_max_backoff_ms && f->backoff_ms > c->retry_max_backoff_ms) f->backoff_ms = c->retry_max_backoff_ms;
  f->retry_at = now + f->backoff_ms * 1000000ull;
  f->status = s;
  snprintf(f->msg, sizeof f->msg, "%s", msg);
  f->unreported = true;
  bool was = f->gave_up;
  if ((c->retry_max_attempts && f->streak >= c->retry_max_attempts) ||
      (c->retry_max_elapsed_ms && now - f->first_ns >= c->retry_max_elapsed_ms * 1000000ull))
    f->gave_up = true;
  w->stats.background_failures++;
  if (f->gave_up && !was) {
    w->stats.background_give_ups++;
    w_log_locked(w, MW_LOG_ERROR,
                 "%s failed %" PRIu64 " times in a row; giving up (puts fail with this error until a retry, every %" PRIu64
                 " ms, succeeds): %s",
                 what, f->streak, f->backoff_ms, msg);
  } else if (w->sticky == MW_OK) {
    w_log_locked(w, MW_LOG_ERROR, "%s failed (attempt %" PRIu64 ", retry in %" PRIu64 " ms): %s", what, f->streak,
                 f->backoff_ms, msg);
  } else {
    w_log_locked(w, MW_LOG_ERROR, "%s failed: %s", what, msg);
  }
}

void w_failure_clear(w_failure *f) {
  f->streak = 0;
  f->retry_at = 0;
  f->backoff_ms = 0;
  f->gave_up = false;
}

mw_status w_gave_up_error(mw_shard_writer *w, mw_error *err) {
  if (w->wal_fail.gave_up)
    return mw_err(err, w->wal_fail.status, "WAL writes keep failing (gave up after %" PRIu64 " attempts): %s",
                  w->wal_fail.streak, w->wal_fail.msg);
  if (w->gen_fail.gave_up)
    return mw_err(err, w->gen_fail.status,
                  "MemTable flushes keep failing (gave up after %" PRIu64 " attempts; the WAL holds the rows): %s",
                  w->gen_fail.streak, w->gen_fail.msg);
  return MW_OK;
}

/* Returns (and clears) a background failure nobody was told about, the
 * sticky error, or the error of a streak that gave up (mu held). A failed
 * generation flush that is still being retried is reported by close and
 * flush_memtable only (with_gen): the WAL holds its rows, so a put has no
 * reason to fail for it until the retry policy gives up. */
static mw_status take_unreported(mw_shard_writer *w, bool with_gen, mw_error *err) {
  if (w->sticky != MW_OK) return w_sticky_error(w, err);
  MW_TRY(w_gave_up_error(w, err));
  if (w->wal_fail.unreported) {
    w->wal_fail.unreported = false;
    return mw_err(err, w->wal_fail.status, "background WAL flush failed (retried): %s", w->wal_fail.msg);
  }
  if (with_gen && w->gen_fail.unreported) {
    w->gen_fail.unreported = false;
    return mw_err(err, w->gen_fail.status, "background MemTable flush failed (retried): %s", w->gen_fail.msg);
  }
  return MW_OK;
}

uint64_t w_memtable_bytes(mw_shard_writer *w) {
  uint64_t total = 0;
  mw_memtable_info info;
  if (w->active) {
    mw_memtable_info_get(&info, w->active);
    total += info.estimated_size;
  }
  for (size_t i = 0; i < w->n_frozen; i++) {
    mw_memtable_info_get(&info, w->frozen[i].mt);
    total += info.estimated_size;
  }
  return total;
}

/* ------------------------------------------------------- in-flight calls */

/* Enters a public call: mu held on MW_OK; MW_ERR_CLOSED once close started. */
static mw_status w_enter(mw_shard_writer *w, const char *op, mw_error *err) {
  if (!w) return mw_err(err, MW_ERR_INVALID, "%s: writer is NULL", op);
  pthread_mutex_lock(&w->mu);
  if (w->closing) {
    pthread_mutex_unlock(&w->mu);
    return mw_err(err, MW_ERR_CLOSED, "%s: writer is closing", op);
  }
  w->calls++;
  return MW_OK;
}

/* Leaves a public call (mu held); releases mu. */
static void w_leave(mw_shard_writer *w) {
  if (--w->calls == 0 && w->closing) pthread_cond_broadcast(&w->idle_cv);
  w_unlock(w);
}

/* ------------------------------------------------------------ config */

void mw_shard_writer_config_init(mw_shard_writer_config *c) {
  memset(c, 0, sizeof *c);
  c->struct_size = sizeof *c;
  c->durable_write = 1;
  c->sync_indexed_write = 1;
  c->max_wal_buffer_size = 10ull << 20;
  c->max_wal_flush_interval_ms = 100;
  c->max_memtable_size = 256ull << 20;
  c->max_memtable_rows = 100000;
  c->max_memtable_batches = 8000;
  c->max_unflushed_memtable_bytes = 1ull << 30;
  c->backpressure_log_interval_ms = 30000;
  c->async_index_buffer_rows = 10000;
  c->async_index_interval_ms = 1000;
  c->manifest_scan_batch_size = 2;
  c->enable_memtable = 1;
  c->first_wal_entry_position = 1; /* what every Lance >= 7 reader replays from */
  c->retry_max_attempts = 10;
  c->retry_initial_backoff_ms = 100;
  c->retry_max_backoff_ms = 5000;
  c->retry_max_elapsed_ms = 60000;
  c->index_threads = 0; /* the online cores */
  c->wal_entries_in_flight = 1; /* more is slower on a disk that serializes flushes (README) */
}

/* The versioning rule (memwal.h): a caller's struct may be an older, smaller
 * version; fields it lacks keep their defaults. */
static mw_status config_copy(mw_shard_writer_config *c, const mw_shard_writer_config *cfg, mw_error *err) {
  mw_shard_writer_config_init(c);
  if (!cfg) return MW_OK;
  size_t v1 = offsetof(mw_shard_writer_config, log_arg) + sizeof(void *);
  if (cfg->struct_size < v1 || cfg->struct_size > sizeof *c)
    return mw_err(err, MW_ERR_INVALID,
                  "shard writer config: struct_size %u is not a known version (%zu..%zu; call mw_shard_writer_config_init)",
                  cfg->struct_size, v1, sizeof *c);
  memcpy(c, cfg, cfg->struct_size);
  c->struct_size = sizeof *c;
  return MW_OK;
}

/* --------------------------------------------------------------------- put */

static mw_status validate_put(mw_shard_writer *w, struct ArrowArray *batches, size_t n, mw_error *err) {
  if (n == 0 || !batches) return mw_err(err, MW_ERR_INVALID, "put: no batches (a put needs at least one)");
  for (size_t i = 0; i < n; i++) {
    if (!batches[i].release) return mw_err(err, MW_ERR_INVALID, "put: batch %zu is released", i);
    if (batches[i].length == 0)
      return mw_err(err, MW_ERR_INVALID, "put: batch %zu has zero rows (empty batches are rejected)", i);
    mw_status s = mw_batch_validate(&w->user_schema, &batches[i], err);
    if (s == MW_OK && w->check_fsl_items) s = mw_lance_check_batch(&w->user_schema, &batches[i], err);
    if (s == MW_OK && w->user_has_tomb) {
      /* the user's own `_tombstone` is stored not null, as Lance stores it */
      const struct ArrowArray *t = batches[i].children[batches[i].n_children - 1];
      const void *v = t->null_count != 0 && t->n_buffers > 0 ? t->buffers[0] : NULL;
      for (int64_t r = 0; v && r < batches[i].length; r++)
        if (!mw_bit_get(v, t->offset + batches[i].offset + r))
          s = mw_err(err, MW_ERR_INVALID, "column '%s' is null in row %" PRId64 " (it must be true or false)",
                     MW_TOMBSTONE_COLUMN, r);
    }
    if (s != MW_OK) return mw_err_wrap(err, s, "put: batch %zu", i);
  }
  return MW_OK;
}

/* Blocks while the unflushed bytes exceed the budget (mu held). MW_OK to
 * go on; otherwise the put must fail without taking its batches. */
static mw_status backpressure(mw_shard_writer *w, mw_error *err) {
  uint64_t budget = w->cfg.max_unflushed_memtable_bytes;
  uint64_t t0 = 0, last_log = 0;
  mw_status s = MW_OK;
  for (;;) {
    if (w->sticky != MW_OK) {
      s = w_sticky_error(w, err);
      break;
    }
    if (w->closing) {
      s = mw_err(err, MW_ERR_CLOSED, "put: writer is closing");
      break;
    }
    if (budget == 0) break;
    uint64_t used = w->cfg.enable_memtable ? w_memtable_bytes(w) + w->flushing_bytes : w->pend_bytes;
    if (used < budget) break;
    if (!w->cfg.enable_memtable && w->pend_count == 0) break;
    /* Blocked: a flush that gave up will not free anything. */
    if ((s = w_gave_up_error(w, err)) != MW_OK) {
      mw_err_wrap(err, s, "put blocked by backpressure (%" PRIu64 " unflushed bytes >= budget %" PRIu64 ")", used,
                  budget);
      break;
    }
    if (w->cfg.enable_memtable && w->n_frozen == 0) {
      /* Nothing is being flushed that could release bytes: freeze the
       * active MemTable so the MemTable flusher can. */
      mw_error fe = {0};
      if (w_freeze_active(w, &fe) != MW_OK) w_log_locked(w, MW_LOG_ERROR, "backpressure freeze failed: %s", fe.message);
    }
    uint64_t now = w_now_ns();
    if (t0 == 0) {
      t0 = last_log = now;
      w->stats.backpressure_waits++;
      w->flush_requested = true;
      pthread_cond_signal(&w->wal_cv);
    } else if (w->cfg.backpressure_log_interval_ms &&
               now - last_log >= w->cfg.backpressure_log_interval_ms * 1000000ull) {
      last_log = now;
      w_log_locked(w, MW_LOG_WARN,
                   "put blocked by backpressure for %" PRIu64 " ms: %" PRIu64 " unflushed bytes >= budget %" PRIu64,
                   (now - t0) / 1000000, used, budget);
    }
    if (w->n_logq) {
      w_unlock(w);
      pthread_mutex_lock(&w->mu);
      continue;
    }
    struct timespec dl = w_deadline_ms(100);
    pthread_cond_timedwait(w->cfg.enable_memtable ? &w->gen_cv : &w->durable_cv, &w->mu, &dl);
  }
  if (t0) w->stats.backpressure_nanos += w_now_ns() - t0;
  return s;
}

static void free_items(pending_batch **items, size_t n) {
  for (size_t i = 0; items && i < n; i++) {
    if (items[i] && items[i]->array.release) items[i]->array.release(&items[i]->array);
    free(items[i]);
  }
  free(items);
}

/* The put of n validated batches of the stored schema (put and delete).
 * Taken (MW_OK / MW_ERR_NOT_DURABLE): their release is set to NULL; any
 * other status leaves them untouched. */
static mw_status put_stored(mw_batch_range *out, mw_shard_writer *w, struct ArrowArray *batches, size_t n,
                            mw_error *err) {
  uint64_t t0 = w_now_ns();
  mw_memtable *index_mt = NULL; /* sync_indexed_write: the MemTable to index */
  uint64_t index_target = 0;

  /* Allocate the queue items before taking the lock (all or nothing). */
  pending_batch **items = calloc(n, sizeof *items);
  bool oom = items == NULL;
  for (size_t i = 0; !oom && i < n; i++) oom = (items[i] = calloc(1, sizeof **items)) == NULL;
  if (oom) {
    free_items(items, n);
    return mw_err(err, MW_ERR_NOMEM, "put: out of memory");
  }
  uint64_t bytes = 0, rows = 0;
  for (size_t i = 0; i < n; i++) {
    items[i]->bytes = mw_array_byte_size(&w->schema, &batches[i]);
    bytes += items[i]->bytes;
    rows += (uint64_t)batches[i].length;
  }

  mw_status s = w_enter(w, "put", err);
  if (s != MW_OK) {
    free_items(items, n);
    return s;
  }
  s = take_unreported(w, false, err);
  if (s == MW_OK) s = backpressure(w, err);
  if (s == MW_OK && w->cfg.enable_memtable) {
    /* insert is all-or-nothing and the last step that can fail cleanly. */
    uint64_t first = 0;
    /* Inserted unindexed: a synchronous put indexes its rows below, with
     * the writer's lock released. */
    s = mw_memtable_insert(&first, w->active, batches, n, false, err);
    if (s == MW_OK && w->cfg.sync_indexed_write && w->n_indexes) {
      mw_memtable_info mi;
      mw_memtable_info_get(&mi, w->active);
      index_mt = w->active;
      index_target = mi.rows;
      mw_memtable_retain(index_mt);
    }
    for (size_t i = 0; s == MW_OK && i < n; i++) {
      mw_error re = {0};
      if (mw_memtable_batch_ref(&items[i]->array, w->active, first + i, &re) != MW_OK) {
        /* The rows are in the MemTable but cannot be queued for the WAL:
         * acknowledged data could be lost, so the writer stops. */
        char msg[MW_ERROR_MESSAGE_SIZE];
        snprintf(msg, sizeof msg, "could not queue inserted batches for the WAL (%.400s)", re.message);
        w_make_sticky(w, MW_ERR_POISONED, msg);
        s = mw_err(err, MW_ERR_NOT_DURABLE, "put: the batches were taken but cannot reach the WAL: %s", msg);
        /* Not queued: release the refs taken so far; the MemTable keeps the rows. */
        for (size_t j = 0; j < n; j++) {
          if (items[j]->array.release) items[j]->array.release(&items[j]->array);
        }
      }
    }
    if (s == MW_ERR_NOT_DURABLE) {
      w_leave(w);
      free_items(items, n);
      mw_memtable_free(index_mt);
      return s;
    }
  } else if (s == MW_OK) {
    for (size_t i = 0; i < n; i++) {
      items[i]->array = batches[i];
      batches[i].release = NULL; /* moved */
    }
  }
  if (s != MW_OK) {
    w_leave(w);
    free_items(items, n);
    return s;
  }

  /* Taken: enqueue as one contiguous run. */
  for (size_t i = 0; i < n; i++) {
    pending_batch *node = items[i];
    node->next = NULL;
    if (w->pend_tail) w->pend_tail->next = node;
    else {
      w->pend_head = node;
      clock_gettime(CLOCK_MONOTONIC, &w->oldest_pending);
    }
    w->pend_tail = node;
    if (!w->pend_taken) w->pend_taken = node; /* every earlier batch is in an entry in flight */
    w->pend_count++;
  }
  if (w->cfg.durable_write) {
    items[n - 1]->ends_durable_put = true;
    w->gc_queued_puts++;
  }
  free(items);
  uint64_t start = w->next_batch_pos, end = start + n;
  w->next_batch_pos = end;
  w->pend_bytes += bytes;
  w->unflushed_new_bytes += bytes;
  if (w->cfg.durable_write || w->unflushed_new_bytes >= w->cfg.max_wal_buffer_size) w->flush_requested = true;
  pthread_cond_signal(&w->wal_cv);

  if (w->cfg.enable_memtable) {
    mw_error fe = {0};
    if (w_maybe_freeze(w, &fe) != MW_OK) w_log_locked(w, MW_LOG_ERROR, "freeze failed: %s", fe.message);
    if (!w->cfg.sync_indexed_write && w->index_thread_started &&
        mw_memtable_unindexed_rows(w->active) >= w->cfg.async_index_buffer_rows)
      pthread_cond_signal(&w->index_cv);
  }
  uint64_t fail_seq0 = w->wal_fail.seq; /* failures after this concern our batches */
  if (index_mt) {
    /* Synchronous indexing (sync_indexed_write) outside the writer's lock
     * (the call stays counted: close waits for it). The rows are taken
     * whatever happens here: an indexing failure (out of memory) leaves
     * them pending for the index worker / the flusher and is logged. */
    w_unlock(w);
    mw_error ie = {0};
    if (mw_memtable_index_upto(index_mt, index_target, &ie) != MW_OK)
      w_log_now(w, MW_LOG_ERROR, "put: indexing failed, the rows stay pending: %s", ie.message);
    mw_memtable_free(index_mt);
    pthread_mutex_lock(&w->mu);
  }
  if (w->cfg.durable_write) {
    s = w_wait_durable(w, start, end, fail_seq0, err);
    if (s != MW_OK) {
      mw_err_wrap(err, s,
                  "put: batches [%" PRIu64 ", %" PRIu64 ") were taken (do not put them again) but their WAL entry "
                  "is not known durable (%s)",
                  start, end, mw_status_str(s));
      if (err) err->code = MW_ERR_NOT_DURABLE;
      s = MW_ERR_NOT_DURABLE;
    }
  }
  w->stats.put_count++;
  w->stats.put_rows += rows;
  w->stats.put_nanos += w_now_ns() - t0;
  w_leave(w);
  if (out) {
    out->start = start;
    out->end = end;
  }
  return s;
}

/* Hands wrapped batches back to the caller (a put that took nothing). */
static void unwrap_all(struct ArrowArray *orig, struct ArrowArray *wrapped, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (wrapped[i].release) w_tomb_unwrap(&orig[i], &wrapped[i]);
}

mw_status mw_shard_writer_put(mw_batch_range *out, mw_shard_writer *w, struct ArrowArray *batches,
                              size_t n, mw_error *err) {
  if (out) memset(out, 0, sizeof *out);
  if (!w) return mw_err(err, MW_ERR_INVALID, "put: writer is NULL");
  MW_TRY(validate_put(w, batches, n, err));
  if (w->user_has_tomb) return put_stored(out, w, batches, n, err);
  /* Add `_tombstone = false` (zero copy: the batch is wrapped). */
  struct ArrowArray *wb = calloc(n, sizeof *wb);
  if (!wb) return mw_err(err, MW_ERR_NOMEM, "put: out of memory");
  mw_status s = MW_OK;
  for (size_t i = 0; s == MW_OK && i < n; i++) s = w_tomb_wrap(&wb[i], &batches[i], false, err);
  if (s == MW_OK) s = put_stored(out, w, wb, n, err);
  if (s != MW_OK && s != MW_ERR_NOT_DURABLE) unwrap_all(batches, wb, n);
  free(wb);
  return s;
}

mw_status mw_shard_writer_delete(mw_batch_range *out, mw_shard_writer *w, struct ArrowArray *keys,
                                 const struct ArrowSchema *keys_schema, mw_error *err) {
  if (out) memset(out, 0, sizeof *out);
  if (!w) return mw_err(err, MW_ERR_INVALID, "delete: writer is NULL");
  if (!w->cfg.enable_memtable || w->pk.n == 0)
    return mw_err(err, MW_ERR_INVALID,
                  "delete: needs MemTable mode and a primary key (not available when enable_memtable = false)");
  if (!keys || !keys->release) return mw_err(err, MW_ERR_INVALID, "delete: the key batch is NULL or released");
  if (keys->length == 0) return mw_err(err, MW_ERR_INVALID, "delete: the key batch has zero rows");
  int key_child[MW_PK_MAX_COLS];
  const struct ArrowSchema *ks = keys_schema;
  if (ks) {
    MW_TRY(mw_batch_validate(ks, keys, err));
    for (int j = 0; j < w->pk.n; j++) {
      const struct ArrowSchema *want = w->schema.children[w->pk.col[j]];
      key_child[j] = -1;
      for (int64_t i = 0; i < ks->n_children; i++)
        if (ks->children[i]->name && strcmp(ks->children[i]->name, want->name) == 0) key_child[j] = (int)i;
      if (key_child[j] < 0)
        return mw_err(err, MW_ERR_INVALID, "delete: the key batch has no primary-key column '%s'", want->name);
      const struct ArrowSchema *got = ks->children[key_child[j]];
      if (strcmp(got->format, want->format) != 0)
        return mw_err(err, MW_ERR_INVALID, "delete: key column '%s' has format '%s', the writer's is '%s'",
                      want->name, got->format, want->format);
    }
  } else {
    if (keys->n_children != w->pk.n)
      return mw_err(err, MW_ERR_INVALID,
                    "delete: without a keys schema the batch must hold exactly the %d primary-key column(s), not %" PRId64,
                    w->pk.n, keys->n_children);
    for (int j = 0; j < w->pk.n; j++) {
      const struct ArrowSchema *want = w->schema.children[w->pk.col[j]];
      key_child[j] = j;
      MW_TRY(mw_array_validate(want, keys->children[j], want->name, err));
      if (keys->children[j]->length < keys->offset + keys->length)
        return mw_err(err, MW_ERR_INVALID, "delete: key column '%s' is shorter than the batch", want->name);
    }
  }
  for (int j = 0; j < w->pk.n; j++) {
    const struct ArrowArray *c = keys->children[key_child[j]];
    const void *valid = c->null_count != 0 && c->n_buffers > 0 ? c->buffers[0] : NULL;
    for (int64_t r = 0; valid && r < keys->length; r++)
      if (!mw_bit_get(valid, c->offset + keys->offset + r))
        return mw_err(err, MW_ERR_INVALID, "delete: key column '%s' is null in row %" PRId64,
                      w->schema.children[w->pk.col[j]]->name, r);
  }
  struct ArrowArray wb;
  MW_TRY(w_delete_wrap(&wb, &w->schema, &w->pk, key_child, keys, err));
  mw_status s = put_stored(out, w, &wb, 1, err);
  if (s != MW_OK && s != MW_ERR_NOT_DURABLE) w_tomb_unwrap(keys, &wb);
  return s;
}

/* Asks the WAL flusher to write everything pending now (retrying a failed
 * streak at once) and waits (mu held). */
static mw_status flush_pending(mw_shard_writer *w, mw_error *err) {
  uint64_t end = w->next_batch_pos;
  if (w->durable_end >= end) return MW_OK;
  if (w->sticky != MW_OK) return w_sticky_error(w, err);
  uint64_t seq = w->wal_fail.seq;
  w->flush_requested = true;
  w->wal_fail.retry_at = 0;
  pthread_cond_signal(&w->wal_cv);
  return w_wait_durable(w, w->pend_start, end, seq, err);
}

mw_status mw_shard_writer_flush_wal(mw_shard_writer *w, mw_error *err) {
  MW_TRY(w_enter(w, "flush_wal", err));
  mw_status s = w->durable_end < w->next_batch_pos ? flush_pending(w, err) : take_unreported(w, false, err);
  w_leave(w);
  return s;
}

/* -------------------------------------------------------------- open/close */

/* Does any fixed_size_list column (top level or inside structs) allow null
 * items? Then puts check their rows (mw_lance_check_batch). */
static bool field_has_fsl_item_nulls(const struct ArrowSchema *f) {
  if (f->format[0] == '+' && f->format[1] == 'w' && f->n_children > 0)
    return (f->children[0]->flags & ARROW_FLAG_NULLABLE) != 0;
  if (f->format[0] == '+' && f->format[1] == 's')
    for (int64_t i = 0; i < f->n_children; i++)
      if (field_has_fsl_item_nulls(f->children[i])) return true;
  return false;
}

static bool schema_has_fsl_item_nulls(const struct ArrowSchema *s) { return field_has_fsl_item_nulls(s); }

static void free_indexes(mw_index_config *ix, size_t n) {
  for (size_t i = 0; ix && i < n; i++) {
    free((char *)ix[i].name);
    free((char *)ix[i].column);
  }
  free(ix);
}

static void writer_free(mw_shard_writer *w) {
  if (!w) return;
  w_free_pending_list(w->pend_head);
  mw_memtable_free(w->active);
  for (size_t i = 0; i < w->n_frozen; i++) mw_memtable_free(w->frozen[i].mt);
  free(w->frozen);
  mw_wal_appender_close(w->appender);
  mw_manifest_store_close(w->ms);
  mw_schema_release(&w->schema);
  mw_schema_release(&w->user_schema);
  free_indexes(w->indexes, w->n_indexes);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->wal_cv);
  pthread_cond_destroy(&w->durable_cv);
  pthread_cond_destroy(&w->mt_cv);
  pthread_cond_destroy(&w->gen_cv);
  pthread_cond_destroy(&w->index_cv);
  pthread_cond_destroy(&w->idle_cv);
  free(w);
}

void mw_index_config_init(mw_index_config *cfg, const char *name, const char *column, mw_index_kind kind) {
  if (!cfg) return;
  memset(cfg, 0, sizeof *cfg);
  cfg->struct_size = (uint32_t)sizeof *cfg;
  cfg->name = name;
  cfg->column = column;
  cfg->kind = kind;
  cfg->metric = MW_METRIC_L2;
  cfg->max_connections = 16;
  cfg->ef_construction = 100;
}

mw_status mw_shard_writer_open(mw_shard_writer **out, mw_objstore *store, const mw_shard_writer_config *cfg,
                               const struct ArrowSchema *schema, const mw_index_config *indexes,
                               size_t n_indexes, mw_error *err) {
  *out = NULL;
  mw_shard_writer_config c;
  MW_TRY(config_copy(&c, cfg, err));
  /* Checks that need no I/O first. */
  if (!store || !schema) return mw_err(err, MW_ERR_INVALID, "shard writer: store and schema are required");
  if (!c.enable_memtable && n_indexes > 0)
    return mw_err(err, MW_ERR_INVALID,
                  "index configs are not supported when enable_memtable = false (WAL-only mode keeps no MemTable to index)");
  if (!schema->release || !schema->format || strcmp(schema->format, "+s") != 0)
    return mw_err(err, MW_ERR_INVALID, "shard writer: the schema must be a struct (\"+s\") schema of the columns");
  if (schema->n_children == 0) return mw_err(err, MW_ERR_INVALID, "shard writer: the schema has no columns");
  if (c.manifest_scan_batch_size == 0) c.manifest_scan_batch_size = 2;
  uint8_t uuid[16];
  if (c.shard_id[0]) {
    MW_TRY(mw_uuid_parse(uuid, c.shard_id, err));
  } else {
    MW_TRY(mw_uuid_v4(uuid, err));
  }

  mw_shard_writer *w = calloc(1, sizeof *w);
  if (!w) return mw_err(err, MW_ERR_NOMEM, "out of memory allocating a shard writer");
  w->store = store;
  w->cfg = c;
  w->wal_depth = c.wal_entries_in_flight == 0 ? 1 : c.wal_entries_in_flight;
  if (w->wal_depth > W_MAX_INFLIGHT) w->wal_depth = W_MAX_INFLIGHT;
  mw_uuid_format(w->shard, uuid);
  snprintf(w->cfg.shard_id, sizeof w->cfg.shard_id, "%s", w->shard);
  pthread_mutex_init(&w->mu, NULL);
  cond_init_monotonic(&w->wal_cv);
  cond_init_monotonic(&w->durable_cv);
  cond_init_monotonic(&w->mt_cv);
  cond_init_monotonic(&w->gen_cv);
  cond_init_monotonic(&w->index_cv);
  cond_init_monotonic(&w->idle_cv);
  mw_status s = mw_schema_copy(&w->user_schema, schema, err);
  if (s != MW_OK) {
    w->user_schema.release = NULL;
    writer_free(w);
    return s;
  }
  s = w_stored_schema(&w->schema, &w->user_has_tomb, &w->user_schema, err);
  if (s != MW_OK) {
    writer_free(w);
    return mw_err_wrap(err, s, "open");
  }
  if (n_indexes) {
    w->indexes = calloc(n_indexes, sizeof *w->indexes);
    if (!w->indexes) {
      writer_free(w);
      return mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_indexes; i++) {
      if (indexes[i].struct_size != sizeof(mw_index_config)) {
        uint32_t got = indexes[i].struct_size;
        writer_free(w);
        return mw_err(err, MW_ERR_INVALID,
                      "index config %zu: struct_size %u is not this library's (%zu): fill it with mw_index_config_init",
                      i, got, sizeof(mw_index_config));
      }
      w->indexes[i] = indexes[i];
      w->indexes[i].name = NULL;
      w->indexes[i].column = NULL;
      w->indexes[i].name = strdup(indexes[i].name ? indexes[i].name : "");
      w->indexes[i].column = strdup(indexes[i].column ? indexes[i].column : "");
      w->n_indexes = i + 1;
      if (!w->indexes[i].name || !w->indexes[i].column) {
        writer_free(w);
        return mw_err(err, MW_ERR_NOMEM, "out of memory");
      }
    }
  }
  /* Validate schema and indexes before any I/O by building a MemTable; the
   * MemTable flusher will write the schema as Lance datasets keyed by the
   * primary key: refuse now what it could not write. */
  if (c.enable_memtable) {
    mw_pk pk = {0};
    s = mw_lance_check_schema(&w->schema, err);
    if (s != MW_OK) mw_err_wrap(err, s, "open (MemTable mode flushes Lance datasets)");
    if (s == MW_OK) s = mw_pk_resolve(&pk, &w->schema, NULL, 0, err);
    w->pk = pk;
    if (s == MW_OK && pk.n == 0)
      s = mw_err(err, MW_ERR_INVALID,
                 "open: MemTable mode needs a primary key: mark the key column(s) with field metadata "
                 "%s = \"1\" (flushed generations are deduplicated and indexed by it)",
                 MW_LANCE_PK_POSITION_KEY);
    if (s != MW_OK) {
      writer_free(w);
      return s;
    }
    w->check_fsl_items = schema_has_fsl_item_nulls(&w->user_schema);
    s = mw_memtable_new(&w->active, &w->schema, 1, w->indexes, w->n_indexes, err);
    if (s != MW_OK) {
      writer_free(w);
      return s;
    }
    mw_memtable_set_index_threads(w->active, c.index_threads);
  }

  /* 1. claim an epoch. */
  s = mw_manifest_store_open(&w->ms, store, uuid, c.manifest_scan_batch_size, err);
  mw_shard_manifest *claimed = NULL;
  uint64_t prev_epoch = 0;
  if (s == MW_OK) s = mw_manifest_store_claim_epoch(&claimed, &prev_epoch, w->ms, c.shard_spec_id, err);
  if (s != MW_OK) {
    writer_free(w);
    return s;
  }
  w->epoch = claimed->writer_epoch;
  s = mw_wal_appender_new_claimed(&w->appender, store, w->ms, false, w->epoch, claimed,
                                  c.first_wal_entry_position, err);
  /* 2. fence entry at the WAL tip when an earlier writer may exist. */
  if (s == MW_OK && prev_epoch >= 1) {
    mw_wal_append_result r;
    s = mw_wal_appender_append_fence(&r, w->appender, &w->schema, err);
    if (s != MW_OK) mw_err_wrap(err, s, "open: writing the fence entry");
  }
  /* 3. MemTable mode: replay. */
  if (s == MW_OK && c.enable_memtable) {
    if (claimed->current_generation > 1) {
      mw_memtable *mt = NULL;
      s = mw_memtable_new(&mt, &w->schema, claimed->current_generation, w->indexes, w->n_indexes, err);
      if (s == MW_OK) {
        mw_memtable_set_index_threads(mt, c.index_threads);
        mw_memtable_free(w->active);
        w->active = mt;
      }
    }
    uint64_t next = 0;
    if (s == MW_OK) s = w_replay(&next, w, claimed, err);
    if (s == MW_OK) mw_wal_appender_seed_next_position(w->appender, next);
    if (s == MW_OK) {
      /* Replayed batches are durable; put batches from here on have
       * positions from next_batch_pos (the visibility cursor). */
      mw_memtable_info mi;
      mw_memtable_info_get(&mi, w->active);
      mw_memtable_set_positions(w->active, mi.batches, w->next_batch_pos);
      w->replay_done = true;
    }
  }
  mw_shard_manifest_free(claimed);
  pthread_mutex_lock(&w->mu);
  w_unlock(w); /* log lines queued by replay's freezes */
  if (s != MW_OK) {
    writer_free(w);
    return s;
  }
  /* 4. background threads. */
  mw_status ts = MW_OK;
  for (unsigned i = 0; i < w->wal_depth && ts == MW_OK; i++) {
    if (pthread_create(&w->wal_threads[i], NULL, w_wal_flusher_main, w) == 0) w->n_wal_threads++;
    else ts = mw_err(err, MW_ERR_IO, "open: cannot start a WAL flusher thread: %s", strerror(errno));
  }
  if (ts == MW_OK && c.enable_memtable) {
    if (pthread_create(&w->mt_thread, NULL, w_mt_flusher_main, w) != 0)
      ts = mw_err(err, MW_ERR_IO, "open: cannot start the MemTable flusher thread: %s", strerror(errno));
    else
      w->mt_thread_started = true;
  }
  if (ts != MW_OK) {
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->wal_cv);
    pthread_cond_broadcast(&w->mt_cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->n_wal_threads; i++) pthread_join(w->wal_threads[i], NULL);
    if (w->mt_thread_started) pthread_join(w->mt_thread, NULL);
    writer_free(w);
    return ts;
  }
  if (c.enable_memtable && !c.sync_indexed_write && w->n_indexes > 0) {
    if (pthread_create(&w->index_thread, NULL, w_index_worker_main, w) == 0) w->index_thread_started = true;
    else w_log_now(w, MW_LOG_WARN, "cannot start the index thread; indexing happens at freeze");
  }
  *out = w;
  return MW_OK;
}

mw_status mw_shard_writer_close(mw_shard_writer *w, mw_error *err) {
  if (!w) return MW_OK;
  pthread_mutex_lock(&w->mu);
  if (w->closing) {
    pthread_mutex_unlock(&w->mu);
    return mw_err(err, MW_ERR_CLOSED, "close: the writer is already being closed (close it once)");
  }
  w->closing = true; /* new calls are refused; blocked puts give up */
  pthread_cond_broadcast(&w->durable_cv);
  pthread_cond_broadcast(&w->gen_cv);
  mw_status s = take_unreported(w, true, err);
  /* Write everything pending (also after an unreported failure: a retry
   * may heal it), then stop. */
  if (w->sticky == MW_OK && w->durable_end < w->next_batch_pos) {
    mw_error fe = {0};
    mw_status fs = flush_pending(w, &fe);
    if (fs != MW_OK && s == MW_OK)
      s = mw_err(err, fs, "close: %" PRIu64 " batches could not be written to the WAL: %s",
                 w->next_batch_pos - w->durable_end, fe.message);
  }
  w->stopping = true;
  pthread_cond_broadcast(&w->wal_cv);
  pthread_cond_broadcast(&w->durable_cv);
  pthread_cond_broadcast(&w->mt_cv);
  pthread_cond_broadcast(&w->gen_cv);
  pthread_cond_broadcast(&w->index_cv);
  while (w->calls > 0) {
    if (w->n_logq) {
      w_unlock(w);
      pthread_mutex_lock(&w->mu);
      continue;
    }
    pthread_cond_wait(&w->idle_cv, &w->mu);
  }
  w_unlock(w);
  for (unsigned i = 0; i < w->n_wal_threads; i++) pthread_join(w->wal_threads[i], NULL);
  if (w->mt_thread_started) pthread_join(w->mt_thread, NULL);
  if (w->index_thread_started) pthread_join(w->index_thread, NULL);
  pthread_mutex_lock(&w->mu);
  w_unlock(w); /* the threads' last log lines */
  if (s == MW_OK && w->pend_count > 0)
    s = w->sticky != MW_OK ? w_sticky_error(w, err)
                           : mw_err(err, MW_ERR_IO, "close: %" PRIu64 " batches were not written to the WAL", w->pend_count);
  writer_free(w);
  return s;
}

mw_status mw_shard_writer_flush_memtable(mw_shard_writer *w, mw_error *err) {
  mw_flush_ticket t;
  MW_TRY(mw_shard_writer_request_memtable_flush(&t, w, err));
  return t.generation ? mw_shard_writer_wait_memtable_flush(w, &t, err) : MW_OK;
}

mw_status mw_shard_writer_close_ex(mw_shard_writer *w, int flush_memtable, mw_error *err) {
  if (!w) return MW_OK;
  mw_status fs = MW_OK;
  if (flush_memtable && w->cfg.enable_memtable) fs = mw_shard_writer_flush_memtable(w, err);
  mw_status cs = mw_shard_writer_close(w, fs == MW_OK ? err : NULL);
  return fs != MW_OK ? fs : cs;
}

/* -------------------------------------------------------------- accessors */

static mw_status memtable_mode_only(mw_shard_writer *w, mw_error *err) {
  if (!w->cfg.enable_memtable)
    return mw_err(err, MW_ERR_INVALID, "MemTable accessor not available when enable_memtable = false (WAL-only mode)");
  return MW_OK;
}

mw_status mw_shard_writer_wal_stats(mw_wal_stats *out, mw_shard_writer *w, mw_error *err) {
  memset(out, 0, sizeof *out);
  MW_TRY(w_enter(w, "wal_stats", err));
  out->pending_batches = w->pend_count;
  out->pending_bytes = w->pend_bytes;
  w_leave(w);
  out->next_wal_entry_position = mw_wal_appender_next_position(w->appender);
  return MW_OK;
}

mw_status mw_shard_writer_memtable_stats(mw_memtable_stats *out, mw_shard_writer *w, mw_error *err) {
  memset(out, 0, sizeof *out);
  MW_TRY(w_enter(w, "memtable_stats", err));
  mw_status s = memtable_mode_only(w, err);
  if (s == MW_OK) {
    mw_memtable_info info;
    mw_memtable_info_get(&info, w->active);
    out->row_count = info.rows;
    out->batch_count = info.batches;
    out->estimated_size = info.estimated_size;
    out->generation = info.generation;
    out->frozen_count = w->n_frozen;
    for (size_t i = 0; i < w->n_frozen; i++) {
      mw_memtable_info_get(&info, w->frozen[i].mt);
      out->frozen_bytes += info.estimated_size;
    }
  }
  w_leave(w);
  return s;
}

mw_status mw_shard_writer_scan(struct ArrowArrayStream *out, mw_shard_writer *w, const char *const *columns,
                               size_t n_columns, const mw_scan_filter *filter, mw_error *err) {
  memset(out, 0, sizeof *out);
  MW_TRY(w_enter(w, "scan", err));
  mw_status s = memtable_mode_only(w, err);
  size_t n = w->n_frozen + 1;
  mw_memtable **mts = s == MW_OK ? malloc(n * sizeof *mts) : NULL;
  if (s == MW_OK && !mts) s = mw_err(err, MW_ERR_NOMEM, "scan: out of memory");
  if (s == MW_OK) {
    /* A snapshot of the MemTable list; the scan itself runs unlocked. */
    for (size_t i = 0; i < w->n_frozen; i++) mts[i] = w->frozen[i].mt;
    mts[w->n_frozen] = w->active;
    for (size_t i = 0; i < n; i++) mw_memtable_retain(mts[i]);
  }
  bool hide_tomb = !w->user_has_tomb;
  w_leave(w);
  if (s != MW_OK) return s;
  /* By default the columns given to open (the stored schema's names stay
   * valid while the MemTables are retained). */
  const char **def = NULL;
  if (n_columns == 0 && hide_tomb) {
    const struct ArrowSchema *ss = mw_memtable_schema(mts[0]);
    n_columns = (size_t)ss->n_children - 1;
    def = malloc(n_columns * sizeof *def);
    if (!def) s = mw_err(err, MW_ERR_NOMEM, "scan: out of memory");
    for (size_t i = 0; def && i < n_columns; i++) def[i] = ss->children[i]->name;
    columns = def;
  }
  if (s == MW_OK) s = mw_memtable_scan_latest(out, mts, n, columns, n_columns, filter, err);
  free(def);
  for (size_t i = 0; i < n; i++) mw_memtable_free(mts[i]);
  free(mts);
  return s;
}

void mw_query_init(mw_query *q) {
  if (!q) return;
  memset(q, 0, sizeof *q);
  q->struct_size = (uint32_t)sizeof *q;
  q->k = 10;
  q->metric = MW_METRIC_L2;
}

mw_status mw_shard_writer_query(struct ArrowArrayStream *out, mw_shard_writer *w, const mw_query *q,
                                mw_error *err) {
  memset(out, 0, sizeof *out);
  if (!q) return mw_err(err, MW_ERR_INVALID, "query: q is NULL");
  if (q->struct_size != sizeof(mw_query))
    return mw_err(err, MW_ERR_INVALID, "query: struct_size %u is not this library's (%zu): fill it with mw_query_init",
                  q->struct_size, sizeof(mw_query));
  MW_TRY(w_enter(w, "query", err));
  mw_status s = memtable_mode_only(w, err);
  /* A dead writer (fenced, or an outcome unknown) serves no reads: what it
   * holds may not be what the shard holds (Lance bug #7791). */
  if (s == MW_OK && w->sticky != MW_OK) s = w_sticky_error(w, err);
  size_t n = w->n_frozen + 1;
  mw_memtable **mts = s == MW_OK ? malloc(n * sizeof *mts) : NULL;
  uint64_t *vis = s == MW_OK ? malloc(n * sizeof *vis) : NULL;
  if (s == MW_OK && (!mts || !vis)) s = mw_err(err, MW_ERR_NOMEM, "query: out of memory");
  if (s == MW_OK) {
    /* The MemTable list and each one's visibility cursor (indexed, and
     * durable under durable_write), taken together under mu. */
    for (size_t i = 0; i < w->n_frozen; i++) mts[i] = w->frozen[i].mt;
    mts[w->n_frozen] = w->active;
    for (size_t i = 0; i < n; i++) {
      mw_memtable_retain(mts[i]);
      uint64_t db = w->cfg.durable_write ? mw_memtable_durable_batches(mts[i], w->durable_end) : UINT64_MAX;
      vis[i] = mw_memtable_visible_rows(mts[i], db);
    }
  }
  bool hide_tomb = !w->user_has_tomb;
  w_leave(w);
  if (s != MW_OK) {
    free(mts);
    free(vis);
    return s;
  }
  const char **def = NULL;
  size_t n_def = 0;
  if (q->n_columns == 0 && hide_tomb) {
    const struct ArrowSchema *ss = mw_memtable_schema(mts[0]);
    n_def = (size_t)ss->n_children - 1;
    def = malloc((n_def ? n_def : 1) * sizeof *def);
    if (!def) s = mw_err(err, MW_ERR_NOMEM, "query: out of memory");
    for (size_t i = 0; def && i < n_def; i++) def[i] = ss->children[i]->name;
  }
  if (s == MW_OK) s = mw_memtable_query(out, mts, vis, n, q, def, n_def, err);
  free(def);
  for (size_t i = 0; i < n; i++) mw_memtable_free(mts[i]);
  free(mts);
  free(vis);
  return s;
}

uint64_t mw_shard_writer_epoch(const mw_shard_writer *w) { return w->epoch; }

const char *mw_shard_writer_shard_id(const mw_shard_writer *w) { return w->shard; }

mw_status mw_shard_writer_manifest_json(char **out_json, mw_shard_writer *w, mw_error *err) {
  *out_json = NULL;
  MW_TRY(w_enter(w, "manifest_json", err));
  w_unlock(w); /* stays counted in calls: close waits for us */
  mw_shard_manifest *m = NULL;
  mw_status s = mw_manifest_store_read_latest(&m, w->ms, err);
  if (s == MW_OK && !m) s = mw_err(err, MW_ERR_NOT_FOUND, "no manifest for shard %s", w->shard);
  if (s == MW_OK) s = mw_shard_manifest_to_json(out_json, m, err);
  mw_shard_manifest_free(m);
  pthread_mutex_lock(&w->mu);
  w_leave(w);
  return s;
}

mw_status mw_shard_writer_write_stats(mw_write_stats *out, mw_shard_writer *w, int reset, mw_error *err) {
  memset(out, 0, sizeof *out);
  MW_TRY(w_enter(w, "write_stats", err));
  *out = w->stats;
  if (reset) memset(&w->stats, 0, sizeof w->stats);
  w_leave(w);
  return MW_OK;
}

/* ------------------------------------------- split flushes (table writer) */

mw_status mw_shard_writer_request_wal_flush(uint64_t *out_end, mw_shard_writer *w, mw_error *err) {
  *out_end = 0;
  MW_TRY(w_enter(w, "request_wal_flush", err));
  mw_status s = w->sticky != MW_OK ? w_sticky_error(w, err) : MW_OK;
  if (s == MW_OK) {
    *out_end = w->next_batch_pos;
    if (w->durable_end < w->next_batch_pos) {
      w->flush_requested = true;
      w->wal_fail.retry_at = 0;
      pthread_cond_signal(&w->wal_cv);
    }
  }
  w_leave(w);
  return s;
}

mw_status mw_shard_writer_wait_wal(mw_shard_writer *w, uint64_t end, mw_error *err) {
  MW_TRY(w_enter(w, "wait_wal", err));
  /* Failures after the request count: seq 0 would also count older ones. */
  mw_status s = w->durable_end >= end ? MW_OK : w_wait_durable(w, w->pend_start, end, w->wal_fail.seq, err);
  w_leave(w);
  return s;
}

mw_status mw_shard_writer_request_memtable_flush(mw_flush_ticket *out, mw_shard_writer *w, mw_error *err) {
  memset(out, 0, sizeof *out);
  MW_TRY(w_enter(w, "flush_memtable", err));
  mw_status s = MW_OK;
  if (!w->cfg.enable_memtable)
    s = mw_err(err, MW_ERR_INVALID, "flush_memtable: not available when enable_memtable = false (WAL-only mode)");
  else if (w->sticky != MW_OK) s = w_sticky_error(w, err);
  if (s == MW_OK) s = w_freeze_active(w, err);
  if (s == MW_OK && w->n_frozen > 0) {
    out->generation = w->frozen[w->n_frozen - 1].generation;
    out->wal_seq = w->wal_fail.seq;
    out->gen_seq = w->gen_fail.seq;
    w->flush_requested = true;
    w->wal_fail.retry_at = 0; /* an explicit request retries a failed flush now */
    w->gen_fail.retry_at = 0;
    pthread_cond_signal(&w->wal_cv);
    pthread_cond_signal(&w->mt_cv);
  }
  w_leave(w);
  return s;
}

mw_status mw_shard_writer_wait_memtable_flush(mw_shard_writer *w, const mw_flush_ticket *t, mw_error *err) {
  MW_TRY(w_enter(w, "flush_memtable", err));
  mw_status s = MW_OK;
  uint64_t wal_seq = t->wal_seq, gen_seq = t->gen_seq;
  while (t->generation > 0 && w->n_frozen > 0 && w->frozen[0].generation <= t->generation) {
    if (w->sticky != MW_OK) {
      s = w_sticky_error(w, err);
      break;
    }
    if (w->gen_fail.seq != gen_seq || w->gen_fail.gave_up) {
      w->gen_fail.unreported = false;
      s = mw_err(err, w->gen_fail.status, "flush_memtable: %s (retried in the background)", w->gen_fail.msg);
      break;
    }
    if (w->wal_fail.seq != wal_seq) {
      w->wal_fail.unreported = false;
      s = mw_err(err, w->wal_fail.status, "flush_memtable: WAL write failed (retried in the background): %s",
                 w->wal_fail.msg);
      break;
    }
    if (w->closing) {
      s = mw_err(err, MW_ERR_CLOSED, "flush_memtable: writer is closing");
      break;
    }
    if (w->n_logq) {
      w_unlock(w);
      pthread_mutex_lock(&w->mu);
      continue;
    }
    pthread_cond_wait(&w->gen_cv, &w->mu);
  }
  w_leave(w);
  return s;
}
