/*
 * wal_flusher.c - the WAL flusher threads and durability waits (MEMWAL.md
 * section 6; the shared state is described in writer_internal.h).
 *
 * Design.
 *  - Every put gets consecutive batch positions. Batches not yet in the WAL
 *    wait in the pending queue (FIFO). In MemTable mode the batch itself
 *    lives in the MemTable and the queue holds a shared reference; in
 *    WAL-only mode the queue owns it (the drainable queue).
 *  - Entries in flight. wal_depth (config wal_entries_in_flight) WAL
 *    flusher threads, all running w_wal_flusher_main. On a trigger
 *    (durable put, size, timer, flush request, close) a free thread cuts
 *    the next entry from the queue (the batches after those already in
 *    entries in flight), encodes it and STAGES it WITHOUT holding mu
 *    (wal_appender.c: the bytes made durable where no reader sees them;
 *    file://: an O_TMPFILE inode written and fsync'ed), so up to wal_depth
 *    entries are written and fsync'ed at once (for devices that overlap
 *    concurrent flushes; on this project's test disk more entries in
 *    flight measured slower, so the default is 1: README "Durable puts
 *    against the disk's floor"). Then, one thread at a time
 *    (`publishing`), entries are PUBLISHED strictly in seq order: the
 *    oldest entry not yet published gets the next WAL position (its
 *    renameat2 on file://), so positions follow the batch order and no
 *    entry is ever visible before an older one. Then one thread at a time
 *    (`syncing`) SYNCS: one folder fsync makes every entry published so
 *    far durable, however many; only after it are those entries' batches
 *    marked durable (durable_end advances in position order) and dropped
 *    from the queue front. wal_depth 1 is the former one-entry-at-a-time
 *    flusher (stage, publish, sync in a row).
 *  - Failures. A stage or publish that fails cleanly (nothing visible)
 *    aborts that entry and every younger one (none of them is published:
 *    publishing goes in order): their batches are cut again by the retry,
 *    so they are written once, in order (never dropped, never duplicated).
 *    A publish whose outcome is unknown, a fence, or a failed sync (every
 *    entry it covered has an unknown outcome) makes the writer sticky
 *    (MW_ERR_POISONED / MW_ERR_FENCED): nothing after it is acknowledged,
 *    every later write is refused, the entries in flight are discarded.
 *    So no put is acknowledged before every older batch is durable.
 *  - Entries are bounded at max_wal_buffer_size and never mix two
 *    generations: the queue is cut at each frozen MemTable's batch end, so
 *    a generation's covering WAL position holds none of the next one's rows
 *    (replay after that generation's flush starts right after it).
 *  - Durability is tracked per batch position: durable_end = every batch
 *    position below it is in a durable WAL entry. Durable puts wait on
 *    durable_cv until durable_end passes their last batch; concurrent
 *    durable puts therefore group-commit into one entry.
 *  - Gathering (wal_depth 1 only: group commit that scales with putters
 *    when entries cannot overlap). With one entry in flight at a time,
 *    putters that wait for each other's entries fall
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
 *  - Callers help. A caller waiting for durability (durable put,
 *    flush_wal, wait_wal) does the next step of WAL work itself when one
 *    is due and free (wal_step: publish, sync, or cut and stage an entry
 *    when none is in flight), instead of waking a flusher thread and
 *    sleeping until it is done: a lone durable putter writes its own
 *    entry with no thread handoff (two wakeups less per put). The flusher
 *    threads do the rest (timer and size triggers, retries, steps nobody
 *    waits for); the steps are the same functions whoever runs them,
 *    coordinated by mu and the inflight[] states.
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

#include "objstore/objstore.h"
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

/* How many batches the next entry takes (mu held): the batches from
 * pend_taken on, up to the first frozen MemTable end inside them, and at
 * most max_wal_buffer_size bytes (at least one batch). Sets
 * flush_requested when more remains so the rest follows at once. */
static uint64_t entry_batches(mw_shard_writer *w) {
  uint64_t first = w->pend_start + w->pend_taken_n, n = w->pend_count - w->pend_taken_n;
  for (size_t i = 0; i < w->n_frozen; i++) {
    uint64_t be = w->frozen[i].batch_end;
    if (be > first) {
      if (be - first < n) n = be - first;
      break;
    }
  }
  uint64_t acc = 0, k = 0;
  for (pending_batch *q = w->pend_taken; q && k < n; q = q->next) {
    if (k > 0 && acc + q->bytes > w->cfg.max_wal_buffer_size) break;
    acc += q->bytes;
    k++;
  }
  if (k < w->pend_count - w->pend_taken_n) w->flush_requested = true;
  return k;
}

/* Marks the queue front [pend_start, +n) durable in entry `pos` (mu held)
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
  w->pend_taken_n -= n;
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

/* Handles of staged entries to discard once mu is released. */
typedef struct staged_list {
  struct mw_staged *h[W_MAX_INFLIGHT];
  unsigned n;
} staged_list;

static void free_staged(mw_shard_writer *w, staged_list *l) {
  for (unsigned i = 0; i < l->n; i++) mw_objstore_staged_free(w->store, l->h[i]);
  l->n = 0;
}

/* Removes the entries in flight from index k on (mu held): their batches
 * go back to the queue (cut again by the next attempt); the handles of
 * staged ones go to *out (a W_STAGING entry's thread finds it gone and
 * discards its own). Never called on an entry being published. */
static void abort_from(mw_shard_writer *w, unsigned k, staged_list *out) {
  if (k >= w->n_inflight) return;
  w->pend_taken = w->inflight[k].first;
  w->pend_taken_n = w->inflight[k].start - w->pend_start;
  for (unsigned i = k; i < w->n_inflight; i++)
    if (w->inflight[i].staged) out->h[out->n++] = w->inflight[i].staged;
  w->n_inflight = k;
  pthread_cond_broadcast(&w->wal_cv);
}

static int find_seq(mw_shard_writer *w, uint64_t seq) {
  for (unsigned i = 0; i < w->n_inflight; i++)
    if (w->inflight[i].seq == seq) return (int)i;
  return -1;
}

/* Records a failed attempt of inflight[k] (mu held): a clean failure
 * aborts it and every younger entry (none published: safe to cut again)
 * and schedules the retry; a fence or an unknown outcome makes the writer
 * sticky instead. */
static void entry_failed(mw_shard_writer *w, unsigned k, mw_status s, const mw_error *e, staged_list *out) {
  wal_inflight *f = &w->inflight[k];
  uint64_t end = w->pend_start + w->pend_taken_n; /* the end of every aborted entry */
  char msg[MW_ERROR_MESSAGE_SIZE];
  snprintf(msg, sizeof msg, "batches [%" PRIu64 ", %" PRIu64 "): %.400s", f->start, end, e->message);
  /* Sticky: the main loop discards every entry in flight once nobody
   * publishes or syncs (one may be in use by another thread right now). */
  if (s == MW_ERR_FENCED || s == MW_ERR_POISONED) w_make_sticky(w, s, e->message);
  else abort_from(w, k, out);
  w->wal_fail.end = end;
  w_failure_record(w, &w->wal_fail, s, msg, "WAL flush");
  if (w->stopping) w->wal_stop_failed = true;
  pthread_cond_broadcast(&w->durable_cv);
  pthread_cond_broadcast(&w->gen_cv); /* MemTable backpressure watches WAL give-ups too */
}

/* Cuts the next entry and stages it. Called with mu held; releases it
 * around the encoding and the I/O. */
static void stage_one(mw_shard_writer *w) {
  uint64_t n = entry_batches(w);
  if (n == 0) return;
  staged_list junk = {.n = 0};
  const struct ArrowArray **arrays = malloc(n * sizeof *arrays);
  if (!arrays) {
    w->wal_fail.end = w->pend_start + w->pend_taken_n + n;
    w_failure_record(w, &w->wal_fail, MW_ERR_NOMEM, "out of memory preparing a WAL entry", "WAL flush");
    if (w->stopping) w->wal_stop_failed = true;
    pthread_cond_broadcast(&w->durable_cv);
    return;
  }
  wal_inflight *f = &w->inflight[w->n_inflight++];
  memset(f, 0, sizeof *f);
  f->seq = w->next_seq++;
  f->start = w->pend_start + w->pend_taken_n;
  f->n = n;
  f->first = w->pend_taken;
  f->state = W_STAGING;
  f->t0 = w_now_ns();
  pending_batch *p = w->pend_taken;
  for (uint64_t i = 0; i < n; i++, p = p->next) {
    arrays[i] = &p->array;
    f->bytes += p->bytes;
  }
  w->pend_taken = p;
  w->pend_taken_n += n;
  uint64_t seq = f->seq;
  w_unlock(w);

  /* The batches cannot change meanwhile: only durable entries leave the
   * queue front, and puts only append at the tail. */
  mw_error e = {0};
  void *data = NULL;
  size_t len = 0;
  struct mw_staged *h = NULL;
  mw_status s = mw_wal_encode_entry(&data, &len, &w->schema, arrays, (size_t)n, w->epoch, false, &e);
  free(arrays);
  if (s == MW_OK) s = mw_wal_appender_stage(&h, w->appender, data, len, &e); /* takes data */
  else free(data);

  pthread_mutex_lock(&w->mu);
  int k = find_seq(w, seq);
  if (k < 0) {
    junk.h[junk.n++] = h; /* aborted meanwhile (an older entry failed, or sticky) */
  } else if (s != MW_OK) {
    entry_failed(w, (unsigned)k, s, &e, &junk);
  } else {
    w->inflight[k].state = W_STAGED;
    w->inflight[k].staged = h;
    w->inflight[k].len = len;
    pthread_cond_broadcast(&w->wal_cv);
  }
  if (junk.n) {
    w_unlock(w);
    free_staged(w, &junk);
    pthread_mutex_lock(&w->mu);
  }
}

/* Publishes the oldest entry not yet published (inflight[k], W_STAGED).
 * Called with mu held and `publishing` free; releases mu around the I/O. */
static void publish_one(mw_shard_writer *w, unsigned k) {
  w->publishing = true;
  uint64_t seq = w->inflight[k].seq;
  struct mw_staged *h = w->inflight[k].staged;
  size_t len = w->inflight[k].len;
  w_unlock(w);
  mw_error e = {0};
  mw_wal_append_result r = {0};
  mw_status s = mw_wal_appender_publish_staged(&r, w->appender, h, len, &e);
  pthread_mutex_lock(&w->mu);
  w->publishing = false;
  staged_list junk = {.n = 0};
  int i = find_seq(w, seq); /* only the sticky cleanup removes it, and it waits for !publishing */
  if (i >= 0 && s == MW_OK) {
    w->inflight[i].state = W_PUBLISHED;
    w->inflight[i].pos = r.position;
  } else if (i >= 0) {
    entry_failed(w, (unsigned)i, s, &e, &junk);
  }
  pthread_cond_broadcast(&w->wal_cv);
  if (junk.n) {
    w_unlock(w);
    free_staged(w, &junk);
    pthread_mutex_lock(&w->mu);
  }
}

/* Syncs the m oldest entries (all W_PUBLISHED) and marks their batches
 * durable. Called with mu held and `syncing` free; releases mu around the
 * I/O. */
static void sync_some(mw_shard_writer *w, unsigned m) {
  w->syncing = true;
  uint64_t last_pos = w->inflight[m - 1].pos;
  w_unlock(w);
  mw_error e = {0};
  mw_status s = mw_wal_appender_sync(w->appender, last_pos, &e);
  uint64_t t1 = w_now_ns();
  pthread_mutex_lock(&w->mu);
  w->syncing = false;
  staged_list junk = {.n = 0};
  pending_batch *done = NULL, **tail = &done;
  if (s == MW_OK) {
    /* Entries only leave from the front, and only here or in the sticky
     * cleanup (which waits for !syncing): the m oldest are still these. */
    for (unsigned i = 0; i < m; i++) {
      wal_inflight *f = &w->inflight[i];
      *tail = mark_durable(w, f->n, f->bytes, f->pos);
      while (*tail) tail = &(*tail)->next;
      w->stats.wal_flush_count++;
      w->stats.wal_flush_bytes += f->len;
      w->stats.wal_flush_nanos += t1 - f->t0;
      w->gc_last_io_ns = t1 - f->t0;
      junk.h[junk.n++] = f->staged;
    }
    memmove(&w->inflight[0], &w->inflight[m], (w->n_inflight - m) * sizeof w->inflight[0]);
    w->n_inflight -= m;
  } else {
    entry_failed(w, 0, s, &e, &junk); /* MW_ERR_POISONED: sticky */
  }
  pthread_cond_broadcast(&w->wal_cv);
  w_unlock(w);
  free_staged(w, &junk);
  w_free_pending_list(done); /* release refs outside the lock */
  pthread_mutex_lock(&w->mu);
}

/* Does the WAL flusher have a reason to cut an entry now? (mu held) */
static bool want_flush(mw_shard_writer *w, uint64_t now) {
  if (w->sticky != MW_OK || w->pend_count == w->pend_taken_n) return false;
  if (w->wal_fail.streak > 0 && now < w->wal_fail.retry_at) return false; /* backing off */
  if (w->flush_requested || w->stopping || w->wal_fail.streak > 0) return true;
  if (w->unflushed_new_bytes >= w->cfg.max_wal_buffer_size) return true;
  return w->cfg.max_wal_flush_interval_ms > 0 &&
         w_ms_since(&w->oldest_pending) >= w->cfg.max_wal_flush_interval_ms;
}

/* Should a due entry wait for more putters first ("Gathering")? Returns
 * the nanoseconds left to wait, 0 = write now. (mu held) */
static uint64_t gather_wait_ns(mw_shard_writer *w, uint64_t now) {
  if (w->wal_depth > 1 || !w->cfg.durable_write || w->stopping || w->wal_fail.streak > 0 || w->gc_target < 2 ||
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

/* One step of WAL work, whoever runs it (a flusher thread, or a caller
 * waiting for durability: "Callers help"). Returns true if it did
 * something (mu was released meanwhile: re-check everything); false if
 * there is nothing to do now, *out_gather_ns > 0 if an entry is due but
 * waits that long for more putters. (mu held) */
static bool wal_step(mw_shard_writer *w, bool caller, uint64_t now, uint64_t *out_gather_ns) {
  *out_gather_ns = 0;
  if (w->sticky != MW_OK) {
    /* Dead writer: discard the entries in flight (never acknowledged).
     * The one being published or synced is left to its thread. */
    if (w->n_inflight == 0 || w->publishing || w->syncing) return false;
    staged_list junk = {.n = 0};
    abort_from(w, 0, &junk);
    w_unlock(w);
    free_staged(w, &junk);
    pthread_mutex_lock(&w->mu);
    return true;
  }
  /* 1. publish the oldest entry not yet published, in order */
  unsigned k = 0;
  while (k < w->n_inflight && w->inflight[k].state == W_PUBLISHED) k++;
  if (!w->publishing && k < w->n_inflight && w->inflight[k].state == W_STAGED) {
    publish_one(w, k);
    return true;
  }
  /* 2. one sync for every entry published so far */
  if (!w->syncing && k > 0) {
    sync_some(w, k);
    return true;
  }
  /* 3. cut and stage the next entry (a caller only when none is in
   * flight: with one in flight, younger batches wait to form a bigger
   * entry rather than one entry per caller) */
  if (w->n_inflight < (caller ? 1u : w->wal_depth) && want_flush(w, now)) {
    uint64_t gather = gather_wait_ns(w, now);
    if (gather > 0) {
      *out_gather_ns = gather;
      return false;
    }
    w->gc_gather_until = 0;
    w->flush_requested = false;
    w->unflushed_new_bytes = 0;
    stage_one(w);
    return true;
  }
  return false;
}

void *w_wal_flusher_main(void *arg) {
  mw_shard_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    uint64_t now = w_now_ns(), gather = 0;
    if (wal_step(w, false, now, &gather)) continue;
    if (gather > 0) {
      struct timespec dl;
      clock_gettime(CLOCK_MONOTONIC, &dl);
      uint64_t ns = (uint64_t)dl.tv_nsec + gather;
      dl.tv_sec += (time_t)(ns / 1000000000u);
      dl.tv_nsec = (long)(ns % 1000000000u);
      pthread_cond_timedwait(&w->wal_cv, &w->mu, &dl);
      continue;
    }
    /* Stopping: done once nothing is in flight and everything is written
     * (or cannot be: sticky, or an attempt failed while stopping: close
     * reports it). */
    if (w->stopping && w->n_inflight == 0 &&
        (w->pend_count == 0 || w->sticky != MW_OK || w->wal_stop_failed))
      break;
    /* Sleep until the next reason: a retry, the interval timer, or a signal. */
    uint64_t wait_ms = 0;
    if (w->sticky == MW_OK && w->pend_count > w->pend_taken_n && w->n_inflight < w->wal_depth) {
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
  pthread_cond_broadcast(&w->wal_cv); /* the other flusher threads re-check */
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
    uint64_t gather = 0;
    if (wal_step(w, true, w_now_ns(), &gather)) continue; /* "Callers help" */
    if (w->n_logq) {
      w_unlock(w);
      pthread_mutex_lock(&w->mu);
      continue;
    }
    pthread_cond_wait(&w->durable_cv, &w->mu);
  }
}
