/*
 * shard_writer.c - the ShardWriter (MEMWAL.md sections 6-8): orchestration
 * of puts, the WAL flusher thread, durability tracking, backpressure,
 * replay on open and statistics.
 *
 * Design.
 *  - Every put gets consecutive batch positions. Batches not yet in the WAL
 *    wait in `pending` (FIFO). In MemTable mode the batch itself moves into
 *    the MemTable and `pending` holds a shared reference; in WAL-only mode
 *    `pending` owns it (the drainable queue).
 *  - One WAL flusher thread: on a trigger (durable put, size, timer, flush
 *    request, close) it snapshots the WHOLE pending queue, writes it as one
 *    entry without holding the lock, and only on success drops exactly those
 *    batches from the queue front. A failed append leaves them queued: the
 *    retry writes them once (never dropped, never duplicated).
 *  - Durability is tracked per batch position: `durable_end` = every batch
 *    position below it is in a durable WAL entry. A durable put waits until
 *    durable_end passes its last batch, or until an attempt that covered its
 *    batches failed (then it returns that error), or the writer is dead.
 *    Concurrent durable puts therefore group-commit into one entry.
 *  - Sticky errors: fenced, or a WAL write whose outcome is unknown
 *    (MW_ERR_POISONED), make every later put fail until reopened. Other
 *    background errors are reported once to the next put/close (non-durable
 *    puts have nobody waiting) and the batches are retried.
 *  - Backpressure blocks puts (never fails them) while the unflushed bytes
 *    (MemTable mode: active + frozen MemTables; WAL-only: the queue) exceed
 *    max_unflushed_memtable_bytes, logging every backpressure_log_interval.
 *    With no frozen MemTable to wait for, it freezes the active one.
 *  - Generations. Each frozen MemTable remembers its batch range end and,
 *    once its last batch is durable, the WAL position of the entry holding
 *    that batch (the position its generation "covers"). The WAL flusher
 *    never puts batches of two generations in one entry: it cuts the queue
 *    at the frozen MemTables' batch ends. Otherwise an entry holding the
 *    tail of generation g and the head of g+1 would be g's covering
 *    position, and a replay after g's flush (which starts after it) would
 *    lose g+1's rows of that entry.
 *  - MemTable flusher thread: takes the oldest frozen MemTable once it is
 *    covered, checks fencing, writes {8 hex}_gen_{g}/ with
 *    mw_lance_write_generation (no lock held), then commit_update's the
 *    shard manifest (replay_after = covering position, current_generation
 *    = g + 1, the generation appended) and drops the MemTable (its bytes
 *    leave the backpressure budget). A failed folder write is retried with
 *    a growing delay (the WAL still holds the rows; a fresh folder name each
 *    time: an abandoned folder is never referenced, readers ignore it). A
 *    commit whose outcome stays unknown after re-reading the manifest
 *    poisons the writer (reopening replays or skips exactly according to
 *    what the store holds); fenced is sticky as for WAL writes.
 *
 * Locking: `mu` guards every field marked (mu). It is never held across
 * object-store I/O; the MemTable has its own internal lock (taken under mu,
 * it does no I/O).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrow/c_data.h"
#include "common/error.h"
#include "common/uuid.h"
#include "lance/lance_dataset.h"
#include "lance/lance_file.h"
#include "lance/pk_index.h"
#include "manifest/manifest_store.h"
#include "memtable/memtable.h"
#include "memwal_sys.h"
#include "wal/wal_internal.h"
#include "wal/wal_prefetch.h"
#include "wal/wal_names.h"

/* A frozen MemTable waiting for its flush. */
typedef struct frozen_mt {
  mw_memtable *mt;
  uint64_t generation;
  uint64_t batch_end; /* batch positions of this MemTable end here */
  bool covered;       /* every batch durable; wal_pos valid */
  uint64_t wal_pos;   /* WAL position of the entry holding its last batch */
} frozen_mt;

typedef struct pending_batch {
  struct ArrowArray array; /* owned (WAL-only) or a shared ref (MemTable) */
  uint64_t bytes;
  struct pending_batch *next;
} pending_batch;

struct mw_shard_writer {
  mw_objstore *store; /* borrowed */
  mw_manifest_store *ms;
  mw_wal_appender *appender;
  mw_shard_writer_config cfg;
  struct ArrowSchema schema; /* owned copy of the writer schema */
  char shard[MW_UUID_STR_LEN + 1];
  uint64_t epoch;
  mw_index_config *indexes; /* owned copies (names/columns strdup'ed) */
  size_t n_indexes;

  pthread_mutex_t mu;
  pthread_cond_t flusher_cv; /* wakes the WAL flusher */
  pthread_cond_t state_cv;   /* durability / error / backpressure changes */

  /* (mu) pending queue */
  pending_batch *pend_head, *pend_tail;
  uint64_t pend_count, pend_bytes;
  uint64_t pend_start;        /* batch position of pend_head */
  uint64_t next_batch_pos;    /* position the next put batch gets */
  uint64_t durable_end;       /* positions < durable_end are durable */
  uint64_t unflushed_new_bytes; /* bytes put since the last size trigger */
  struct timespec oldest_pending; /* when pend_head was put */
  bool flush_requested;
  bool stopping;
  bool in_flight;             /* the flusher is writing an entry */

  /* (mu) errors */
  mw_status sticky;           /* MW_ERR_FENCED / MW_ERR_POISONED: writer dead */
  char sticky_msg[MW_ERROR_MESSAGE_SIZE];
  uint64_t fail_seq;          /* count of failed flush attempts */
  uint64_t fail_end;          /* batch end of the last failed attempt */
  mw_status fail_status;
  char fail_msg[MW_ERROR_MESSAGE_SIZE];
  bool unreported;            /* a failure nobody has been told about yet */

  /* (mu) bytes of the generation file the MemTable flusher is building */
  uint64_t flushing_bytes;

  /* (mu) MemTable mode */
  mw_memtable *active;
  frozen_mt *frozen;          /* oldest first; only the MemTable flusher removes */
  size_t n_frozen, cap_frozen;
  bool have_wal_pos;
  uint64_t last_wal_pos;      /* entry that made durable_end what it is */

  /* (mu) MemTable flusher */
  pthread_cond_t mt_cv;       /* wakes the MemTable flusher */
  uint64_t mt_retry_at;       /* now_ns() before which a failed flush waits */
  uint64_t mt_backoff_ms;
  uint64_t mt_fail_seq;
  mw_status mt_fail_status;
  char mt_fail_msg[MW_ERROR_MESSAGE_SIZE];
  bool mt_unreported;

  /* (mu) statistics */
  mw_write_stats stats;

  pthread_t wal_thread;
  bool wal_thread_started;
  pthread_t mt_thread;
  bool mt_thread_started;
  pthread_t index_thread;
  bool index_thread_started;
  pthread_cond_t index_cv; /* wakes the index worker (mu) */
};

/* ------------------------------------------------------------- utilities */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct timespec deadline_in_ms(uint64_t ms) {
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

static uint64_t ms_since(const struct timespec *t) {
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

static void wlog(mw_shard_writer *w, mw_log_level level, const char *fmt, ...) MW_PRINTF(3, 4);
static void wlog(mw_shard_writer *w, mw_log_level level, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (w->cfg.log_fn) {
    w->cfg.log_fn(w->cfg.log_arg, level, msg);
  } else if (level >= MW_LOG_WARN) {
    fprintf(stderr, "memwal: %s: %s\n", level == MW_LOG_WARN ? "warning" : "error", msg);
  }
}

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
  c->first_wal_entry_position = 0;
}

/* Top-level field comparison: names, types, nullability and field metadata
 * of every column (schema-level metadata, e.g. writer_epoch, is ignored). */
static bool columns_equal(const struct ArrowSchema *a, const struct ArrowSchema *b) {
  if (a->n_children != b->n_children) return false;
  if (strcmp(a->format, b->format) != 0) return false;
  for (int64_t i = 0; i < a->n_children; i++)
    if (!mw_schema_equal(a->children[i], b->children[i], true)) return false;
  return true;
}

/* The first column that differs, for error messages. */
static void describe_schema_mismatch(char *buf, size_t cap, const struct ArrowSchema *want,
                                     const struct ArrowSchema *got) {
  if (want->n_children != got->n_children) {
    snprintf(buf, cap, "expected %" PRId64 " columns, got %" PRId64, want->n_children, got->n_children);
    return;
  }
  for (int64_t i = 0; i < want->n_children; i++) {
    if (!mw_schema_equal(want->children[i], got->children[i], true)) {
      snprintf(buf, cap, "column %" PRId64 " ('%s', format '%s') differs from the writer's ('%s', format '%s')",
               i, got->children[i]->name ? got->children[i]->name : "", got->children[i]->format,
               want->children[i]->name ? want->children[i]->name : "", want->children[i]->format);
      return;
    }
  }
  snprintf(buf, cap, "schema differs");
}

/* ------------------------------------------------------------ errors */

static mw_status sticky_error(mw_shard_writer *w, mw_error *err) {
  return mw_err(err, w->sticky, "%s", w->sticky_msg);
}

/* Returns (and clears) a background failure nobody was told about. (mu) */
static mw_status take_unreported(mw_shard_writer *w, mw_error *err) {
  if (w->sticky != MW_OK) return sticky_error(w, err);
  if (w->unreported) {
    w->unreported = false;
    return mw_err(err, w->fail_status, "background WAL flush failed: %s", w->fail_msg);
  }
  if (w->mt_unreported) {
    w->mt_unreported = false;
    return mw_err(err, w->mt_fail_status, "background MemTable flush failed (retried): %s", w->mt_fail_msg);
  }
  return MW_OK;
}

/* ------------------------------------------------------------ WAL flusher */

static void free_pending_list(pending_batch *p) {
  while (p) {
    pending_batch *n = p->next;
    if (p->array.release) p->array.release(&p->array);
    free(p);
    p = n;
  }
}

/* Writes the whole pending queue as one entry. Called with mu held; drops
 * it around the I/O. */
static void flush_once(mw_shard_writer *w) {
  uint64_t n = w->pend_count;
  if (n == 0 || w->sticky != MW_OK) return;
  /* Never mix generations in one entry: stop at the first frozen
   * MemTable's end that lies inside the queue. */
  for (size_t i = 0; i < w->n_frozen; i++) {
    uint64_t be = w->frozen[i].batch_end;
    if (be > w->pend_start) {
      if (be - w->pend_start < n) {
        n = be - w->pend_start;
        w->flush_requested = true; /* the rest follows at once */
      }
      break;
    }
  }
  /* Bound the entry (and so the encode buffer, a second copy of its
   * batches) at max_wal_buffer_size: a flusher that fell behind writes
   * several entries in a row, never one as large as a whole MemTable. */
  {
    uint64_t acc = 0, k = 0;
    for (pending_batch *q = w->pend_head; q && k < n; q = q->next) {
      if (k > 0 && acc + q->bytes > w->cfg.max_wal_buffer_size) break;
      acc += q->bytes;
      k++;
    }
    if (k < n) {
      n = k;
      w->flush_requested = true; /* the rest follows at once */
    }
  }
  const struct ArrowArray **arrays = malloc(n * sizeof *arrays);
  if (!arrays) {
    w->fail_seq++;
    w->fail_end = w->pend_start + n;
    w->fail_status = MW_ERR_NOMEM;
    snprintf(w->fail_msg, sizeof w->fail_msg, "out of memory preparing a WAL entry");
    w->unreported = true;
    pthread_cond_broadcast(&w->state_cv);
    return;
  }
  pending_batch *p = w->pend_head;
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < n; i++, p = p->next) {
    arrays[i] = &p->array;
    bytes += p->bytes;
  }
  uint64_t start = w->pend_start, end = w->pend_start + n;
  w->in_flight = true;
  pthread_mutex_unlock(&w->mu);

  /* The queue front cannot change while in_flight: only this thread removes
   * items, and puts only append at the tail. */
  uint64_t t0 = now_ns();
  mw_error e = {0};
  void *data = NULL;
  size_t len = 0;
  mw_wal_append_result r = {0};
  mw_status s = mw_wal_encode_entry(&data, &len, &w->schema, arrays, (size_t)n, w->epoch, false, &e);
  if (s == MW_OK) s = mw_wal_appender_append_encoded(&r, w->appender, data, len, &e);
  free(data);
  free(arrays);
  uint64_t t1 = now_ns();

  pthread_mutex_lock(&w->mu);
  w->in_flight = false;
  if (s == MW_OK) {
    pending_batch *done = w->pend_head, *last = NULL;
    p = w->pend_head;
    for (uint64_t i = 0; i < n; i++) {
      last = p;
      p = p->next;
    }
    w->pend_head = p;
    if (!p) w->pend_tail = NULL;
    if (last) last->next = NULL;
    w->pend_count -= n;
    w->pend_bytes -= bytes;
    w->pend_start = end;
    w->durable_end = end;
    /* A failed attempt nobody was told about is moot once every batch it
     * covered is durable (the retry wrote them): nothing was lost, so the
     * next put or close must not report it. It was logged when it happened. */
    if (w->unreported && w->sticky == MW_OK && w->durable_end >= w->fail_end) w->unreported = false;
    w->have_wal_pos = true;
    w->last_wal_pos = r.position;
    for (size_t i = 0; i < w->n_frozen; i++) {
      if (!w->frozen[i].covered && w->frozen[i].batch_end <= end) {
        w->frozen[i].covered = true;
        w->frozen[i].wal_pos = r.position;
        pthread_cond_signal(&w->mt_cv);
      }
    }
    if (w->pend_head) clock_gettime(CLOCK_MONOTONIC, &w->oldest_pending);
    w->stats.wal_flush_count++;
    w->stats.wal_flush_bytes += len;
    w->stats.wal_flush_nanos += t1 - t0;
    pthread_cond_broadcast(&w->state_cv);
    pthread_mutex_unlock(&w->mu);
    free_pending_list(done); /* release refs outside the lock */
    pthread_mutex_lock(&w->mu);
    return;
  }
  w->fail_seq++;
  w->fail_end = end;
  w->fail_status = s;
  snprintf(w->fail_msg, sizeof w->fail_msg, "%s", e.message);
  w->unreported = true;
  if (s == MW_ERR_FENCED || s == MW_ERR_POISONED) {
    w->sticky = s;
    snprintf(w->sticky_msg, sizeof w->sticky_msg, "%.400s%s", e.message,
             s == MW_ERR_POISONED ? " (writer refuses further writes until reopened)" : "");
  }
  wlog(w, MW_LOG_ERROR, "WAL flush of batches [%" PRIu64 ", %" PRIu64 ") failed: %s", start, end,
       e.message);
  pthread_cond_broadcast(&w->state_cv);
}

static void *wal_flusher_main(void *arg) {
  mw_shard_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  uint64_t seen_fail = w->fail_seq;
  for (;;) {
    bool want = false;
    if (w->sticky == MW_OK && w->pend_count > 0) {
      if (w->flush_requested || w->stopping) want = true;
      if (w->unflushed_new_bytes >= w->cfg.max_wal_buffer_size) want = true;
      if (w->cfg.max_wal_flush_interval_ms > 0 &&
          ms_since(&w->oldest_pending) >= w->cfg.max_wal_flush_interval_ms)
        want = true;
      /* After a failed attempt do not spin: retry on the timer or on a new
       * explicit request only. */
      if (want && w->fail_seq != seen_fail && !w->flush_requested && !w->stopping &&
          ms_since(&w->oldest_pending) < (w->cfg.max_wal_flush_interval_ms ? w->cfg.max_wal_flush_interval_ms : 100))
        want = false;
    }
    if (want) {
      w->flush_requested = false;
      w->unflushed_new_bytes = 0;
      uint64_t before = w->fail_seq;
      flush_once(w);
      if (w->fail_seq != before) {
        seen_fail = before; /* remember we are in a failure streak */
        clock_gettime(CLOCK_MONOTONIC, &w->oldest_pending); /* back off one interval */
        if (w->stopping) break; /* close reports the error */
      } else {
        seen_fail = w->fail_seq;
      }
      continue;
    }
    if (w->stopping) break;
    if (w->cfg.max_wal_flush_interval_ms > 0 && w->pend_count > 0) {
      uint64_t el = ms_since(&w->oldest_pending);
      uint64_t wait = el >= w->cfg.max_wal_flush_interval_ms ? 1 : w->cfg.max_wal_flush_interval_ms - el;
      struct timespec dl = deadline_in_ms(wait);
      pthread_cond_timedwait(&w->flusher_cv, &w->mu, &dl);
    } else {
      pthread_cond_wait(&w->flusher_cv, &w->mu);
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Waits (mu held) until batch positions < end are durable, or a failure
 * covering [start, end) happened after `fail_seq0`, or the writer died. */
static mw_status wait_durable(mw_shard_writer *w, uint64_t start, uint64_t end, uint64_t fail_seq0,
                              mw_error *err) {
  for (;;) {
    if (w->durable_end >= end) return MW_OK;
    if (w->sticky != MW_OK) return sticky_error(w, err);
    if (w->fail_seq != fail_seq0 && w->fail_end > start) {
      w->unreported = false; /* this caller is told */
      return mw_err(err, w->fail_status, "WAL write failed (the batches stay queued and are retried): %s",
                    w->fail_msg);
    }
    pthread_cond_wait(&w->state_cv, &w->mu);
  }
}

/* ------------------------------------------------------------- index worker */

static void *index_worker_main(void *arg) {
  mw_shard_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stopping) {
    struct timespec dl = deadline_in_ms(w->cfg.async_index_interval_ms ? w->cfg.async_index_interval_ms : 1000);
    pthread_cond_timedwait(&w->index_cv, &w->mu, &dl);
    mw_memtable *mt = w->active;
    if (!mt) continue;
    mw_error e = {0};
    uint64_t rows = 0;
    if (mw_memtable_index_pending(&rows, mt, &e) != MW_OK)
      wlog(w, MW_LOG_ERROR, "async indexing failed: %s", e.message);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* -------------------------------------------------------------- MemTable */

static uint64_t memtable_bytes(mw_shard_writer *w) {
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

/* Freezes the active MemTable (mu held; it must hold rows): a new one with
 * generation + 1 takes its place, and the frozen one waits for its WAL
 * entries and then for the MemTable flusher. */
static mw_status freeze_active(mw_shard_writer *w, mw_error *err) {
  mw_memtable_info info;
  mw_memtable_info_get(&info, w->active);
  if (info.rows == 0) return MW_OK;
  mw_memtable *next = NULL;
  MW_TRY(mw_memtable_new(&next, &w->schema, info.generation + 1, w->indexes, w->n_indexes, err));
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
  if (!w->cfg.sync_indexed_write) {
    mw_error e = {0};
    if (mw_memtable_index_pending(NULL, w->active, &e) != MW_OK)
      wlog(w, MW_LOG_ERROR, "indexing the frozen MemTable failed: %s", e.message);
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
  w->active = next;
  pthread_cond_signal(&w->mt_cv);
  /* The frozen MemTable's batches must reach the WAL before later ones: the
   * pending queue is FIFO, so asking for a flush now keeps the order. */
  w->flush_requested = true;
  pthread_cond_signal(&w->flusher_cv);
  wlog(w, MW_LOG_INFO, "froze MemTable generation %" PRIu64 " (%" PRIu64 " rows, %" PRIu64 " bytes)",
       info.generation, info.rows, info.estimated_size);
  return MW_OK;
}

/* Freezes the active MemTable when a trigger fired (mu held). */
static mw_status maybe_freeze(mw_shard_writer *w, mw_error *err) {
  mw_memtable_info info;
  mw_memtable_info_get(&info, w->active);
  bool full = info.estimated_size >= w->cfg.max_memtable_size ||
              (w->cfg.max_memtable_batches && info.batches >= w->cfg.max_memtable_batches) ||
              (w->cfg.max_memtable_rows && info.rows >= w->cfg.max_memtable_rows);
  if (!full) return MW_OK;
  return freeze_active(w, err);
}

/* ------------------------------------------------------- MemTable flusher */

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

/* Does the latest manifest list `folder`? (after a commit of unknown
 * outcome). *out -1 = cannot tell. */
static void commit_landed(int *out, mw_shard_writer *w, const char *folder) {
  *out = -1;
  mw_shard_manifest *m = NULL;
  mw_error e = {0};
  if (mw_manifest_store_read_latest(&m, w->ms, &e) != MW_OK || !m) return;
  *out = 0;
  for (size_t i = 0; i < m->n_flushed_generations; i++)
    if (m->flushed_generations[i]->path && strcmp(m->flushed_generations[i]->path, folder) == 0) *out = 1;
  mw_shard_manifest_free(m);
}

/* Records a failed (retryable) generation flush (mu held). */
static void mt_failed(mw_shard_writer *w, uint64_t gen, mw_status s, const char *msg) {
  w->mt_fail_seq++;
  w->mt_fail_status = s;
  snprintf(w->mt_fail_msg, sizeof w->mt_fail_msg, "generation %" PRIu64 ": %.400s", gen, msg);
  w->mt_unreported = true;
  w->mt_backoff_ms = w->mt_backoff_ms ? w->mt_backoff_ms * 2 : 100;
  if (w->mt_backoff_ms > 5000) w->mt_backoff_ms = 5000;
  w->mt_retry_at = now_ns() + w->mt_backoff_ms * 1000000ull;
  wlog(w, MW_LOG_ERROR, "MemTable flush of generation %" PRIu64 " failed (retry in %" PRIu64 " ms): %s", gen,
       w->mt_backoff_ms, msg);
  pthread_cond_broadcast(&w->state_cv);
}

static void make_sticky(mw_shard_writer *w, mw_status s, const char *msg) {
  if (w->sticky != MW_OK) return;
  w->sticky = s;
  snprintf(w->sticky_msg, sizeof w->sticky_msg, "%.400s%s", msg,
           s == MW_ERR_POISONED ? " (writer refuses further writes until reopened)" : "");
  pthread_cond_broadcast(&w->state_cv);
}

/* Flushes frozen[0] (mu held, covered): drops mu around the I/O. */
static void flush_generation(mw_shard_writer *w) {
  frozen_mt f = w->frozen[0]; /* copy: the array may move while unlocked */
  /* The generation's data file is built in memory (a second copy of the
   * MemTable): it counts against the backpressure budget while it exists. */
  mw_memtable_info fi;
  mw_memtable_info_get(&fi, f.mt);
  w->flushing_bytes = fi.estimated_size;
  pthread_mutex_unlock(&w->mu);

  uint64_t t0 = now_ns();
  mw_error e = {0};
  mw_status s = MW_OK;
  mw_memtable_info info;
  mw_memtable_info_get(&info, f.mt);
  size_t n = (size_t)info.batches;
  struct ArrowArray *arrays = calloc(n ? n : 1, sizeof *arrays);
  if (!arrays) s = mw_err(&e, MW_ERR_NOMEM, "out of memory");
  for (size_t i = 0; s == MW_OK && i < n; i++) s = mw_memtable_batch_ref(&arrays[i], f.mt, i, &e);
  /* Fencing first: a fenced writer writes no folder. */
  if (s == MW_OK) s = mw_manifest_store_check_fenced(NULL, w->ms, w->epoch, &e);
  char folder[64] = "", prefix[MW_UUID_STR_LEN + 96];
  mw_lance_gen_result res = {0};
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  for (int attempt = 0; s == MW_OK && attempt < 2; attempt++) {
    uint8_t rnd[16];
    s = mw_uuid_v4(rnd, &e);
    if (s != MW_OK) break;
    snprintf(folder, sizeof folder, "%02x%02x%02x%02x_gen_%" PRIu64, rnd[0], rnd[1], rnd[2], rnd[3],
             f.generation);
    snprintf(prefix, sizeof prefix, "_mem_wal/%s/%s", w->shard, folder);
    s = mw_lance_write_generation(w->store, prefix, &w->schema, arrays, n, &o, &res, &e);
    if (s == MW_OK) break;
    /* Lance 2.1 pages cannot hold a single value over ~32 KiB yet; every
     * generation is a dataset of its own, so this one is written as 2.0
     * (in a new folder: the partial one stays unreferenced). */
    if (s == MW_ERR_UNSUPPORTED && o.version == MW_LANCE_V2_1 &&
        mw_lance_check_schema_version(&w->schema, MW_LANCE_V2_0, NULL) == MW_OK) {
      wlog(w, MW_LOG_WARN, "generation %" PRIu64 ": %s; writing it as Lance file format 2.0",
           f.generation, e.message);
      o.version = MW_LANCE_V2_0;
      s = MW_OK;
      continue;
    }
    mw_err_wrap(&e, s, "writing %s", folder);
  }
  for (size_t i = 0; arrays && i < n; i++)
    if (arrays[i].release) arrays[i].release(&arrays[i]);
  free(arrays);
  bool write_ok = s == MW_OK;
  int landed = 0;
  if (write_ok) {
    gen_commit c = {f.generation, f.wal_pos, folder,
                    {res.in_memory_bytes, res.physical_rows, res.primary_key_bytes}};
    s = mw_manifest_store_commit_update(NULL, w->ms, w->epoch, gen_commit_mutate, &c, &e);
    if (s != MW_OK && s != MW_ERR_FENCED && s != MW_ERR_CONFLICT) {
      /* The new version may or may not be stored: look. */
      commit_landed(&landed, w, folder);
      if (landed == 1) s = MW_OK;
    }
  }
  uint64_t t1 = now_ns();

  pthread_mutex_lock(&w->mu);
  w->flushing_bytes = 0;
  pthread_cond_broadcast(&w->state_cv);
  if (s == MW_OK) {
    /* frozen[0] is still f: only this thread removes frozen MemTables. */
    memmove(&w->frozen[0], &w->frozen[1], (w->n_frozen - 1) * sizeof *w->frozen);
    w->n_frozen--;
    w->mt_backoff_ms = 0;
    w->mt_retry_at = 0;
    w->stats.memtable_flush_count++;
    w->stats.memtable_flush_rows += info.rows;
    w->stats.memtable_flush_nanos += t1 - t0;
    wlog(w, MW_LOG_INFO,
         "flushed generation %" PRIu64 " to %s (%" PRIu64 " rows, %" PRIu64 " after dedup), replay after WAL position %" PRIu64,
         f.generation, folder, info.rows, res.physical_rows, f.wal_pos);
    pthread_cond_broadcast(&w->state_cv);
    pthread_mutex_unlock(&w->mu);
    mw_memtable_free(f.mt); /* outside the lock: may free much memory */
    pthread_mutex_lock(&w->mu);
    return;
  }
  if (s == MW_ERR_FENCED) {
    make_sticky(w, s, e.message);
    wlog(w, MW_LOG_ERROR, "MemTable flush of generation %" PRIu64 ": %s", f.generation, e.message);
  } else if (write_ok && s != MW_ERR_CONFLICT) {
    char msg[MW_ERROR_MESSAGE_SIZE];
    snprintf(msg, sizeof msg, "committing generation %" PRIu64 " (%s) to the shard manifest: outcome unknown: %.300s",
             f.generation, folder, e.message);
    make_sticky(w, MW_ERR_POISONED, msg);
    wlog(w, MW_LOG_ERROR, "%s", msg);
  } else {
    mt_failed(w, f.generation, s, e.message);
  }
}

static void *mt_flusher_main(void *arg) {
  mw_shard_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    if (w->stopping || w->sticky != MW_OK) break;
    uint64_t now = now_ns();
    if (w->n_frozen > 0 && w->frozen[0].covered && now >= w->mt_retry_at) {
      flush_generation(w);
      continue;
    }
    if (w->n_frozen > 0 && w->frozen[0].covered) {
      uint64_t ms = (w->mt_retry_at - now) / 1000000 + 1;
      struct timespec dl = deadline_in_ms(ms);
      pthread_cond_timedwait(&w->mt_cv, &w->mu, &dl);
    } else {
      pthread_cond_wait(&w->mt_cv, &w->mu);
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* --------------------------------------------------------------------- put */

static mw_status validate_put(mw_shard_writer *w, struct ArrowArray *batches, size_t n, mw_error *err) {
  if (n == 0 || !batches) return mw_err(err, MW_ERR_INVALID, "put: no batches (a put needs at least one)");
  for (size_t i = 0; i < n; i++) {
    if (!batches[i].release) return mw_err(err, MW_ERR_INVALID, "put: batch %zu is released", i);
    if (batches[i].length == 0)
      return mw_err(err, MW_ERR_INVALID, "put: batch %zu has zero rows (empty batches are rejected)", i);
    mw_status s = mw_batch_validate(&w->schema, &batches[i], err);
    if (s != MW_OK) return mw_err_wrap(err, s, "put: batch %zu", i);
  }
  return MW_OK;
}

static void backpressure(mw_shard_writer *w) {
  uint64_t budget = w->cfg.max_unflushed_memtable_bytes;
  if (budget == 0) return;
  uint64_t t0 = 0, last_log = 0;
  for (;;) {
    if (w->stopping || w->sticky != MW_OK) break;
    uint64_t used = w->cfg.enable_memtable ? memtable_bytes(w) + w->flushing_bytes : w->pend_bytes;
    if (used < budget) break;
    if (!w->cfg.enable_memtable && w->pend_count == 0) break;
    if (w->cfg.enable_memtable && w->n_frozen == 0) {
      /* Nothing is being flushed that could release bytes: freeze the
       * active MemTable so the MemTable flusher can. */
      mw_error fe = {0};
      if (freeze_active(w, &fe) != MW_OK) wlog(w, MW_LOG_ERROR, "backpressure freeze failed: %s", fe.message);
    }
    uint64_t now = now_ns();
    if (t0 == 0) {
      t0 = now;
      last_log = now;
      w->stats.backpressure_waits++;
      w->flush_requested = true;
      pthread_cond_signal(&w->flusher_cv);
    } else if (w->cfg.backpressure_log_interval_ms &&
               now - last_log >= w->cfg.backpressure_log_interval_ms * 1000000ull) {
      last_log = now;
      wlog(w, MW_LOG_WARN,
           "put blocked by backpressure for %" PRIu64 " ms: %" PRIu64 " unflushed bytes >= budget %" PRIu64,
           (now - t0) / 1000000, used, budget);
    }
    struct timespec dl = deadline_in_ms(100);
    pthread_cond_timedwait(&w->state_cv, &w->mu, &dl);
  }
  if (t0) w->stats.backpressure_nanos += now_ns() - t0;
}

mw_status mw_shard_writer_put(mw_batch_range *out, mw_shard_writer *w, struct ArrowArray *batches,
                              size_t n, mw_error *err) {
  if (out) memset(out, 0, sizeof *out);
  if (!w) return mw_err(err, MW_ERR_INVALID, "put: writer is NULL");
  MW_TRY(validate_put(w, batches, n, err));
  uint64_t t0 = now_ns();

  /* Allocate the queue items before taking the lock (all or nothing). */
  pending_batch **items = calloc(n, sizeof *items);
  bool oom = items == NULL;
  for (size_t i = 0; !oom && i < n; i++) oom = (items[i] = calloc(1, sizeof **items)) == NULL;
  if (oom) {
    for (size_t i = 0; items && i < n; i++) free(items[i]);
    free(items);
    return mw_err(err, MW_ERR_NOMEM, "put: out of memory");
  }
  uint64_t bytes = 0, rows = 0;
  for (size_t i = 0; i < n; i++) {
    items[i]->bytes = mw_array_byte_size(&w->schema, &batches[i]);
    bytes += items[i]->bytes;
    rows += (uint64_t)batches[i].length;
  }

  pthread_mutex_lock(&w->mu);
  mw_status s = take_unreported(w, err);
  if (s == MW_OK && w->stopping) s = mw_err(err, MW_ERR_CLOSED, "put: writer is closing");
  if (s == MW_OK) {
    backpressure(w);
    if (w->sticky != MW_OK) s = sticky_error(w, err);
    else if (w->stopping) s = mw_err(err, MW_ERR_CLOSED, "put: writer is closing");
  }
  if (s == MW_OK && w->cfg.enable_memtable) {
    /* Take the refs first so that a failure leaves the MemTable untouched:
     * insert is all-or-nothing and is the last step that can fail. */
    uint64_t first = 0;
    s = mw_memtable_insert(&first, w->active, batches, n, w->cfg.sync_indexed_write != 0, err);
    for (size_t i = 0; s == MW_OK && i < n; i++) {
      s = mw_memtable_batch_ref(&items[i]->array, w->active, first + i, err);
      if (s != MW_OK) {
        /* The rows are in the MemTable but cannot be queued for the WAL:
         * acknowledged data could be lost, so the writer stops. */
        w->sticky = MW_ERR_POISONED;
        snprintf(w->sticky_msg, sizeof w->sticky_msg,
                 "could not queue inserted batches for the WAL (%.400s); reopen the writer", err ? err->message : "");
        pthread_cond_broadcast(&w->state_cv);
        s = MW_ERR_POISONED;
      }
    }
  } else if (s == MW_OK) {
    for (size_t i = 0; i < n; i++) {
      items[i]->array = batches[i];
      batches[i].release = NULL; /* moved */
    }
  }
  if (s != MW_OK) {
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++) {
      if (items[i]->array.release) items[i]->array.release(&items[i]->array);
      free(items[i]);
    }
    free(items);
    return s;
  }

  /* Enqueue as one contiguous run. */
  for (size_t i = 0; i < n; i++) {
    pending_batch *node = items[i];
    node->next = NULL;
    if (w->pend_tail) w->pend_tail->next = node;
    else {
      w->pend_head = node;
      clock_gettime(CLOCK_MONOTONIC, &w->oldest_pending);
    }
    w->pend_tail = node;
    w->pend_count++;
  }
  free(items);
  uint64_t start = w->next_batch_pos, end = start + n;
  w->next_batch_pos = end;
  w->pend_bytes += bytes;
  w->unflushed_new_bytes += bytes;
  if (w->cfg.durable_write || w->unflushed_new_bytes >= w->cfg.max_wal_buffer_size)
    w->flush_requested = true;
  pthread_cond_signal(&w->flusher_cv);

  if (w->cfg.enable_memtable) {
    mw_error fe = {0};
    if (maybe_freeze(w, &fe) != MW_OK) wlog(w, MW_LOG_ERROR, "freeze failed: %s", fe.message);
    if (!w->cfg.sync_indexed_write && w->index_thread_started &&
        mw_memtable_unindexed_rows(w->active) >= w->cfg.async_index_buffer_rows)
      pthread_cond_signal(&w->index_cv);
  }

  if (w->cfg.durable_write) s = wait_durable(w, start, end, w->fail_seq, err);
  w->stats.put_count++;
  w->stats.put_rows += rows;
  w->stats.put_nanos += now_ns() - t0;
  pthread_mutex_unlock(&w->mu);
  if (out) {
    out->start = start;
    out->end = end;
  }
  return s;
}

mw_status mw_shard_writer_flush_wal(mw_shard_writer *w, mw_error *err) {
  pthread_mutex_lock(&w->mu);
  mw_status s = MW_OK;
  uint64_t end = w->next_batch_pos;
  uint64_t start = w->pend_start;
  if (w->durable_end < end) {
    uint64_t seq = w->fail_seq;
    w->flush_requested = true;
    pthread_cond_signal(&w->flusher_cv);
    s = wait_durable(w, start, end, seq, err);
  } else {
    s = take_unreported(w, err);
  }
  pthread_mutex_unlock(&w->mu);
  return s;
}

/* ------------------------------------------------------------------ replay */

/* Replays the WAL into the active MemTable (MEMWAL.md section 7). Returns
 * the first absent position. */
static mw_status replay(uint64_t *out_next, mw_shard_writer *w, const mw_shard_manifest *m,
                        mw_error *err) {
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
      if (!columns_equal(&w->schema, &e.schema)) {
        char why[256];
        describe_schema_mismatch(why, sizeof why, &w->schema, &e.schema);
        s = mw_err(err, MW_ERR_INVALID, "replay: WAL entry at position %" PRIu64 " does not match the writer schema: %s",
                   pos, why);
        mw_wal_entry_release(&e);
        break;
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
          s = maybe_freeze(w, err);
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

/* -------------------------------------------------------------- open/close */

static void free_indexes(mw_index_config *ix, size_t n) {
  for (size_t i = 0; ix && i < n; i++) {
    free((char *)ix[i].name);
    free((char *)ix[i].column);
  }
  free(ix);
}

static void writer_free(mw_shard_writer *w) {
  if (!w) return;
  free_pending_list(w->pend_head);
  mw_memtable_free(w->active);
  for (size_t i = 0; i < w->n_frozen; i++) mw_memtable_free(w->frozen[i].mt);
  free(w->frozen);
  mw_wal_appender_close(w->appender);
  mw_manifest_store_close(w->ms);
  mw_schema_release(&w->schema);
  free_indexes(w->indexes, w->n_indexes);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->flusher_cv);
  pthread_cond_destroy(&w->state_cv);
  pthread_cond_destroy(&w->index_cv);
  pthread_cond_destroy(&w->mt_cv);
  free(w);
}

mw_status mw_shard_writer_open(mw_shard_writer **out, mw_objstore *store, const mw_shard_writer_config *cfg,
                               const struct ArrowSchema *schema, const mw_index_config *indexes,
                               size_t n_indexes, mw_error *err) {
  *out = NULL;
  mw_shard_writer_config c;
  mw_shard_writer_config_init(&c);
  if (cfg) {
    if (cfg->struct_size != sizeof c)
      return mw_err(err, MW_ERR_INVALID, "shard writer config: struct_size %u != %zu (call mw_shard_writer_config_init)",
                    cfg->struct_size, sizeof c);
    c = *cfg;
  }
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
  mw_uuid_format(w->shard, uuid);
  snprintf(w->cfg.shard_id, sizeof w->cfg.shard_id, "%s", w->shard);
  pthread_mutex_init(&w->mu, NULL);
  cond_init_monotonic(&w->flusher_cv);
  cond_init_monotonic(&w->state_cv);
  cond_init_monotonic(&w->index_cv);
  cond_init_monotonic(&w->mt_cv);
  mw_status s = mw_schema_copy(&w->schema, schema, err);
  if (s != MW_OK) {
    w->schema.release = NULL;
    writer_free(w);
    return s;
  }
  if (n_indexes) {
    w->indexes = calloc(n_indexes, sizeof *w->indexes);
    if (!w->indexes) {
      writer_free(w);
      return mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_indexes; i++) {
      w->indexes[i].kind = indexes[i].kind;
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
    mw_pk pk;
    s = mw_lance_check_schema(&w->schema, err);
    if (s != MW_OK) mw_err_wrap(err, s, "open (MemTable mode flushes Lance datasets)");
    if (s == MW_OK) s = mw_pk_resolve(&pk, &w->schema, NULL, 0, err);
    if (s == MW_OK && pk.n == 0)
      s = mw_err(err, MW_ERR_INVALID,
                 "open: MemTable mode needs a primary key: mark the key column(s) with field metadata "
                 "%s = \"1\" (flushed generations are deduplicated and indexed by it)",
                 MW_LANCE_PK_POSITION_KEY);
    if (s != MW_OK) {
      writer_free(w);
      return s;
    }
    s = mw_memtable_new(&w->active, &w->schema, 1, w->indexes, w->n_indexes, err);
    if (s != MW_OK) {
      writer_free(w);
      return s;
    }
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
        mw_memtable_free(w->active);
        w->active = mt;
      }
    }
    uint64_t next = 0;
    if (s == MW_OK) s = replay(&next, w, claimed, err);
    if (s == MW_OK) mw_wal_appender_seed_next_position(w->appender, next);
  }
  mw_shard_manifest_free(claimed);
  if (s != MW_OK) {
    writer_free(w);
    return s;
  }
  /* 4. background threads. */
  if (pthread_create(&w->wal_thread, NULL, wal_flusher_main, w) != 0) {
    writer_free(w);
    return mw_err(err, MW_ERR_IO, "open: cannot start the WAL flusher thread: %s", strerror(errno));
  }
  w->wal_thread_started = true;
  if (c.enable_memtable) {
    if (pthread_create(&w->mt_thread, NULL, mt_flusher_main, w) != 0) {
      mw_status cs = mw_err(err, MW_ERR_IO, "open: cannot start the MemTable flusher thread: %s", strerror(errno));
      pthread_mutex_lock(&w->mu);
      w->stopping = true;
      pthread_cond_broadcast(&w->flusher_cv);
      pthread_mutex_unlock(&w->mu);
      pthread_join(w->wal_thread, NULL);
      writer_free(w);
      return cs;
    }
    w->mt_thread_started = true;
  }
  if (c.enable_memtable && !c.sync_indexed_write && w->n_indexes > 0) {
    if (pthread_create(&w->index_thread, NULL, index_worker_main, w) == 0) w->index_thread_started = true;
    else wlog(w, MW_LOG_WARN, "cannot start the index thread; indexing happens at freeze");
  }
  *out = w;
  return MW_OK;
}

mw_status mw_shard_writer_close(mw_shard_writer *w, mw_error *err) {
  if (!w) return MW_OK;
  pthread_mutex_lock(&w->mu);
  mw_status s = take_unreported(w, err);
  /* Flush everything pending, then stop. */
  uint64_t end = w->next_batch_pos;
  if (s == MW_OK && w->durable_end < end && w->sticky == MW_OK) {
    uint64_t seq = w->fail_seq;
    w->flush_requested = true;
    pthread_cond_signal(&w->flusher_cv);
    s = wait_durable(w, w->pend_start, end, seq, err);
    if (s != MW_OK) mw_err_wrap(err, s, "close: %" PRIu64 " batches could not be written to the WAL", end - w->durable_end);
  }
  w->stopping = true;
  pthread_cond_broadcast(&w->flusher_cv);
  pthread_cond_broadcast(&w->index_cv);
  pthread_cond_broadcast(&w->state_cv);
  pthread_cond_broadcast(&w->mt_cv);
  pthread_mutex_unlock(&w->mu);
  if (w->wal_thread_started) pthread_join(w->wal_thread, NULL);
  if (w->mt_thread_started) pthread_join(w->mt_thread, NULL);
  if (w->index_thread_started) pthread_join(w->index_thread, NULL);
  if (s == MW_OK && w->pend_count > 0 && w->sticky == MW_OK)
    s = mw_err(err, MW_ERR_IO, "close: %" PRIu64 " batches were not written to the WAL", w->pend_count);
  writer_free(w);
  return s;
}

mw_status mw_shard_writer_flush_memtable(mw_shard_writer *w, mw_error *err) {
  if (!w) return mw_err(err, MW_ERR_INVALID, "flush_memtable: writer is NULL");
  if (!w->cfg.enable_memtable)
    return mw_err(err, MW_ERR_INVALID, "flush_memtable: not available when enable_memtable = false (WAL-only mode)");
  pthread_mutex_lock(&w->mu);
  mw_status s = MW_OK;
  if (w->sticky != MW_OK) s = sticky_error(w, err);
  else if (w->stopping) s = mw_err(err, MW_ERR_CLOSED, "flush_memtable: writer is closing");
  if (s == MW_OK) s = freeze_active(w, err);
  if (s == MW_OK && w->n_frozen > 0) {
    uint64_t target = w->frozen[w->n_frozen - 1].generation;
    uint64_t wal_seq = w->fail_seq, mt_seq = w->mt_fail_seq;
    w->flush_requested = true;
    w->mt_retry_at = 0; /* an explicit request retries a failed flush now */
    pthread_cond_signal(&w->flusher_cv);
    pthread_cond_signal(&w->mt_cv);
    for (;;) {
      if (w->n_frozen == 0 || w->frozen[0].generation > target) break;
      if (w->sticky != MW_OK) {
        s = sticky_error(w, err);
        break;
      }
      if (w->mt_fail_seq != mt_seq) {
        w->mt_unreported = false;
        s = mw_err(err, w->mt_fail_status, "flush_memtable: %s (retried in the background)", w->mt_fail_msg);
        break;
      }
      if (w->fail_seq != wal_seq) {
        w->unreported = false;
        s = mw_err(err, w->fail_status, "flush_memtable: WAL write failed (retried in the background): %s",
                   w->fail_msg);
        break;
      }
      if (w->stopping) {
        s = mw_err(err, MW_ERR_CLOSED, "flush_memtable: writer is closing");
        break;
      }
      pthread_cond_wait(&w->state_cv, &w->mu);
    }
  }
  pthread_mutex_unlock(&w->mu);
  return s;
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
    return mw_err(err, MW_ERR_INVALID,
                  "MemTable accessor not available when enable_memtable = false (WAL-only mode)");
  return MW_OK;
}

mw_status mw_shard_writer_wal_stats(mw_wal_stats *out, mw_shard_writer *w, mw_error *err) {
  (void)err;
  pthread_mutex_lock(&w->mu);
  out->pending_batches = w->pend_count;
  out->pending_bytes = w->pend_bytes;
  pthread_mutex_unlock(&w->mu);
  out->next_wal_entry_position = mw_wal_appender_next_position(w->appender);
  return MW_OK;
}

mw_status mw_shard_writer_memtable_stats(mw_memtable_stats *out, mw_shard_writer *w, mw_error *err) {
  memset(out, 0, sizeof *out);
  MW_TRY(memtable_mode_only(w, err));
  pthread_mutex_lock(&w->mu);
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
  pthread_mutex_unlock(&w->mu);
  return MW_OK;
}

mw_status mw_shard_writer_scan(struct ArrowArrayStream *out, mw_shard_writer *w, const char *const *columns,
                               size_t n_columns, const mw_scan_filter *filter, mw_error *err) {
  memset(out, 0, sizeof *out);
  MW_TRY(memtable_mode_only(w, err));
  pthread_mutex_lock(&w->mu);
  size_t n = w->n_frozen + 1;
  mw_memtable **mts = malloc(n * sizeof *mts);
  mw_status s;
  if (!mts) {
    s = mw_err(err, MW_ERR_NOMEM, "scan: out of memory");
  } else {
    for (size_t i = 0; i < w->n_frozen; i++) mts[i] = w->frozen[i].mt;
    mts[w->n_frozen] = w->active;
    s = mw_memtable_scan(out, mts, n, columns, n_columns, filter, err);
    free(mts);
  }
  pthread_mutex_unlock(&w->mu);
  return s;
}

uint64_t mw_shard_writer_epoch(const mw_shard_writer *w) { return w->epoch; }

const char *mw_shard_writer_shard_id(const mw_shard_writer *w) { return w->shard; }

mw_status mw_shard_writer_manifest_json(char **out_json, mw_shard_writer *w, mw_error *err) {
  *out_json = NULL;
  mw_shard_manifest *m = NULL;
  MW_TRY(mw_manifest_store_read_latest(&m, w->ms, err));
  if (!m) return mw_err(err, MW_ERR_NOT_FOUND, "no manifest for shard %s", w->shard);
  mw_status s = mw_shard_manifest_to_json(out_json, m, err);
  mw_shard_manifest_free(m);
  return s;
}

void mw_shard_writer_write_stats(mw_write_stats *out, mw_shard_writer *w, int reset) {
  pthread_mutex_lock(&w->mu);
  *out = w->stats;
  if (reset) memset(&w->stats, 0, sizeof w->stats);
  pthread_mutex_unlock(&w->mu);
}
