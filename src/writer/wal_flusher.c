/*
 * wal_flusher.c - the WAL flusher thread and durability waits (MEMWAL.md
 * section 6; the shared state is described in writer_internal.h).
 *
 * Design.
 *  - Every put gets consecutive batch positions. Batches not yet in the WAL
 *    wait in the pending queue (FIFO). In MemTable mode the batch itself
 *    lives in the MemTable and the queue holds a shared reference; in
 *    WAL-only mode the queue owns it (the drainable queue).
 *  - One WAL flusher thread: on a trigger (durable put, size, timer, flush
 *    request, close) it snapshots the queue front, encodes and appends it
 *    as one entry WITHOUT holding mu, and only on success drops exactly
 *    those batches from the queue front. A failed append leaves them
 *    queued: the retry writes them once (never dropped, never duplicated:
 *    an append whose outcome is unknown poisons the writer instead, see
 *    wal_appender.c).
 *  - Entries are bounded at max_wal_buffer_size and never mix two
 *    generations: the queue is cut at each frozen MemTable's batch end, so
 *    a generation's covering WAL position holds none of the next one's rows
 *    (replay after that generation's flush starts right after it).
 *  - Durability is tracked per batch position: durable_end = every batch
 *    position below it is in a durable WAL entry. Durable puts wait on
 *    durable_cv until durable_end passes their last batch; concurrent
 *    durable puts therefore group-commit into one entry.
 *  - Gathering (group commit that scales with putters). With one entry in
 *    flight at a time, putters that wait for each other's entries fall
 *    into lockstep: while A's entry is written B queues; A is acked and B
 *    is written alone while A puts again, and so on, one put per entry, so
 *    a second putter adds nothing. So each entry records how many durable
 *    puts were waiting when it completed (its own plus those queued
 *    meanwhile: gc_target). When the next entry is due only because of
 *    durable puts and fewer than gc_target are queued, the flusher waits
 *    for the missing putters (each put signals wal_cv) for at most a
 *    quarter of the last entry's I/O time, capped at GATHER_MAX_NS, then
 *    writes whatever is queued. One putter: gc_target is 1, no wait ever.
 *    A putter that went away costs at most one window, after which
 *    gc_target drops to what was really there.
 *  - Failures follow the retry policy (w_failure_record): exponential
 *    backoff from retry_initial_backoff_ms to retry_max_backoff_ms; after
 *    the policy is used up the streak gives up (puts fail with the error)
 *    but retries continue at the maximum backoff.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "writer/writer_internal.h"

/* The longest a due entry waits for missing putters (see "Gathering"). */
#define GATHER_MAX_NS 250000u

void w_free_pending_list(pending_batch *p) {
  while (p) {
    pending_batch *n = p->next;
    if (p->array.release) p->array.release(&p->array);
    free(p);
    p = n;
  }
}

/* How many queue-front batches the next entry takes (mu held): up to the
 * first frozen MemTable end inside the queue, and at most
 * max_wal_buffer_size bytes (at least one batch). Sets flush_requested when
 * more remains so the rest follows at once. */
static uint64_t entry_batches(mw_shard_writer *w) {
  uint64_t n = w->pend_count;
  for (size_t i = 0; i < w->n_frozen; i++) {
    uint64_t be = w->frozen[i].batch_end;
    if (be > w->pend_start) {
      if (be - w->pend_start < n) n = be - w->pend_start;
      break;
    }
  }
  uint64_t acc = 0, k = 0;
  for (pending_batch *q = w->pend_head; q && k < n; q = q->next) {
    if (k > 0 && acc + q->bytes > w->cfg.max_wal_buffer_size) break;
    acc += q->bytes;
    k++;
  }
  if (k < w->pend_count) w->flush_requested = true;
  return k;
}

/* Marks the queue front [pend_start, end) durable in entry `pos` (mu held)
 * and returns the detached list to release outside the lock. */
static pending_batch *mark_durable(mw_shard_writer *w, uint64_t n, uint64_t bytes, uint64_t pos) {
  pending_batch *done = w->pend_head, *last = NULL, *p = w->pend_head;
  uint64_t puts = 0;
  for (uint64_t i = 0; i < n; i++) {
    puts += p->ends_durable_put;
    last = p;
    p = p->next;
  }
  w->gc_queued_puts -= puts;
  w->gc_target = puts + w->gc_queued_puts; /* the concurrency this entry saw */
  w->pend_head = p;
  if (!p) w->pend_tail = NULL;
  if (last) last->next = NULL;
  w->pend_count -= n;
  w->pend_bytes -= bytes;
  w->pend_start += n;
  w->durable_end = w->pend_start;
  w->have_wal_pos = true;
  w->last_wal_pos = pos;
  /* A failure nobody was told about is moot once every batch it covered is
   * durable (the retry wrote them): nothing was lost. It was logged. */
  if (w->wal_fail.unreported && w->durable_end >= w->wal_fail.end) w->wal_fail.unreported = false;
  w_failure_clear(&w->wal_fail);
  for (size_t i = 0; i < w->n_frozen; i++) {
    if (!w->frozen[i].covered && w->frozen[i].batch_end <= w->durable_end) {
      w->frozen[i].covered = true;
      w->frozen[i].wal_pos = pos;
      pthread_cond_signal(&w->mt_cv);
    }
  }
  if (w->pend_head) clock_gettime(CLOCK_MONOTONIC, &w->oldest_pending);
  pthread_cond_broadcast(&w->durable_cv);
  return done;
}

/* Writes the queue front as one entry. Called with mu held; releases it
 * around the encoding and the I/O. */
static void flush_once(mw_shard_writer *w) {
  uint64_t n = entry_batches(w);
  if (n == 0) return;
  const struct ArrowArray **arrays = malloc(n * sizeof *arrays);
  uint64_t start = w->pend_start, end = start + n, bytes = 0;
  if (!arrays) {
    w->wal_fail.end = end;
    w_failure_record(w, &w->wal_fail, MW_ERR_NOMEM, "out of memory preparing a WAL entry", "WAL flush");
    pthread_cond_broadcast(&w->durable_cv);
    return;
  }
  pending_batch *p = w->pend_head;
  for (uint64_t i = 0; i < n; i++, p = p->next) {
    arrays[i] = &p->array;
    bytes += p->bytes;
  }
  w_unlock(w);

  /* The queue front cannot change meanwhile: only this thread removes
   * items, and puts only append at the tail. */
  uint64_t t0 = w_now_ns();
  mw_error e = {0};
  void *data = NULL;
  size_t len = 0;
  mw_wal_append_result r = {0};
  mw_status s = mw_wal_encode_entry(&data, &len, &w->schema, arrays, (size_t)n, w->epoch, false, &e);
  if (s == MW_OK) s = mw_wal_appender_append_encoded(&r, w->appender, data, len, &e);
  free(data);
  free(arrays);
  uint64_t t1 = w_now_ns();

  pthread_mutex_lock(&w->mu);
  if (s == MW_OK) {
    pending_batch *done = mark_durable(w, n, bytes, r.position);
    w->stats.wal_flush_count++;
    w->stats.wal_flush_bytes += len;
    w->stats.wal_flush_nanos += t1 - t0;
    w->gc_last_io_ns = t1 - t0;
    w_unlock(w);
    w_free_pending_list(done); /* release refs outside the lock */
    pthread_mutex_lock(&w->mu);
    return;
  }
  char msg[MW_ERROR_MESSAGE_SIZE];
  snprintf(msg, sizeof msg, "batches [%" PRIu64 ", %" PRIu64 "): %.400s", start, end, e.message);
  if (s == MW_ERR_FENCED || s == MW_ERR_POISONED) w_make_sticky(w, s, e.message);
  w->wal_fail.end = end;
  w_failure_record(w, &w->wal_fail, s, msg, "WAL flush");
  pthread_cond_broadcast(&w->durable_cv);
  pthread_cond_broadcast(&w->gen_cv); /* MemTable backpressure watches WAL give-ups too */
}

/* Does the WAL flusher have a reason to write now? (mu held) */
static bool want_flush(mw_shard_writer *w, uint64_t now) {
  if (w->sticky != MW_OK || w->pend_count == 0) return false;
  if (w->wal_fail.streak > 0 && now < w->wal_fail.retry_at) return false; /* backing off */
  if (w->flush_requested || w->stopping || w->wal_fail.streak > 0) return true;
  if (w->unflushed_new_bytes >= w->cfg.max_wal_buffer_size) return true;
  return w->cfg.max_wal_flush_interval_ms > 0 &&
         w_ms_since(&w->oldest_pending) >= w->cfg.max_wal_flush_interval_ms;
}

/* Should a due entry wait for more putters first ("Gathering")? Returns
 * the nanoseconds left to wait, 0 = write now. (mu held) */
static uint64_t gather_wait_ns(mw_shard_writer *w, uint64_t now) {
  if (!w->cfg.durable_write || w->stopping || w->wal_fail.streak > 0 || w->gc_target < 2 ||
      w->gc_queued_puts == 0 || w->gc_queued_puts >= w->gc_target ||
      w->unflushed_new_bytes >= w->cfg.max_wal_buffer_size) {
    w->gc_gather_until = 0;
    return 0;
  }
  if (w->gc_gather_until == 0) {
    uint64_t win = w->gc_last_io_ns / 4;
    w->gc_gather_until = now + (win < GATHER_MAX_NS ? win : GATHER_MAX_NS);
  }
  return w->gc_gather_until > now ? w->gc_gather_until - now : 0;
}

void *w_wal_flusher_main(void *arg) {
  mw_shard_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    uint64_t now = w_now_ns();
    if (want_flush(w, now)) {
      uint64_t gather = gather_wait_ns(w, now);
      if (gather > 0) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        uint64_t ns = (uint64_t)dl.tv_nsec + gather;
        dl.tv_sec += (time_t)(ns / 1000000000u);
        dl.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&w->wal_cv, &w->mu, &dl);
        continue;
      }
      w->gc_gather_until = 0;
      w->flush_requested = false;
      w->unflushed_new_bytes = 0;
      uint64_t before = w->wal_fail.seq;
      flush_once(w);
      /* Stopping after a failure: close reports it; nothing to wait for. */
      if (w->wal_fail.seq != before && w->stopping) break;
      continue;
    }
    if (w->stopping && (w->pend_count == 0 || w->sticky != MW_OK)) break;
    /* Sleep until the next reason: a retry, the interval timer, or a signal. */
    uint64_t wait_ms = 0;
    if (w->sticky == MW_OK && w->pend_count > 0) {
      if (w->wal_fail.streak > 0) {
        wait_ms = w->wal_fail.retry_at > now ? (w->wal_fail.retry_at - now) / 1000000 + 1 : 1;
      } else if (w->cfg.max_wal_flush_interval_ms > 0) {
        uint64_t el = w_ms_since(&w->oldest_pending);
        wait_ms = el >= w->cfg.max_wal_flush_interval_ms ? 1 : w->cfg.max_wal_flush_interval_ms - el;
      }
    }
    if (w->n_logq) {
      w_unlock(w);
      pthread_mutex_lock(&w->mu);
      continue;
    }
    if (wait_ms > 0) {
      struct timespec dl = w_deadline_ms(wait_ms);
      pthread_cond_timedwait(&w->wal_cv, &w->mu, &dl);
    } else {
      pthread_cond_wait(&w->wal_cv, &w->mu);
    }
  }
  w_unlock(w);
  return NULL;
}

mw_status w_wait_durable(mw_shard_writer *w, uint64_t start, uint64_t end, uint64_t fail_seq0,
                         mw_error *err) {
  for (;;) {
    if (w->durable_end >= end) return MW_OK;
    if (w->sticky != MW_OK) return w_sticky_error(w, err);
    if (w->wal_fail.seq != fail_seq0 && w->wal_fail.end > start) {
      w->wal_fail.unreported = false; /* this caller is told */
      return mw_err(err, w->wal_fail.status, "WAL write failed (the batches stay queued and are retried): %s",
                    w->wal_fail.msg);
    }
    if (w->wal_fail.gave_up && w->wal_fail.end > start)
      return mw_err(err, w->wal_fail.status, "WAL writes keep failing (gave up; retried in the background): %s",
                    w->wal_fail.msg);
    if (w->stopping) return mw_err(err, MW_ERR_CLOSED, "the writer stopped before the batches were durable");
    if (w->n_logq) {
      w_unlock(w);
      pthread_mutex_lock(&w->mu);
      continue;
    }
    pthread_cond_wait(&w->durable_cv, &w->mu);
  }
}
