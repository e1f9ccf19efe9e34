/*
 * writer_internal.h - the ShardWriter's shared state (MEMWAL.md sections
 * 6-8), split by thread over:
 *
 *   shard_writer.c      open, put, backpressure, close, accessors (caller
 *                       threads); in-flight accounting; sticky errors; logs
 *   wal_flusher.c       the WAL flusher threads and durability waits
 *   memtable_flusher.c  freeze, and the MemTable flusher thread
 *   replay.c            replay of the unflushed WAL at open (no thread yet)
 *   index_worker.c      the async index worker thread
 *
 * THE LOCK. One mutex `mu` guards every field marked (mu). It is never held
 * across object-store I/O, indexing, Lance encoding or a user callback (the
 * log hook): log lines produced under mu are queued (logq) and emitted by
 * w_unlock() once mu is released. The MemTable has its own internal lock
 * (taken under mu for short bookkeeping, never the other way round).
 *
 * CONDITION VARIABLES, one per condition (all use mu and CLOCK_MONOTONIC):
 *   wal_cv      the WAL flusher threads have something to do: batches
 *               pending with a trigger fired, a flush requested, a retry
 *               due, an entry in flight staged / published / synced /
 *               aborted (the next step may start), or stopping.
 *   durable_cv  durability changed: durable_end advanced, a WAL attempt
 *               failed or the WAL flusher gave up, the writer became sticky,
 *               or it is closing/stopping (durable waits, WAL-only
 *               backpressure, close's final flush wait here).
 *   mt_cv       the MemTable flusher has something to do: the oldest frozen
 *               MemTable became covered by the WAL, an explicit flush
 *               request, or stopping.
 *   gen_cv      a generation flush finished or failed (or gave up), the
 *               bytes being flushed changed, the writer became sticky, or it
 *               is closing/stopping (MemTable backpressure and
 *               flush_memtable wait here).
 *   index_cv    the index worker has rows to index, or stopping.
 *   idle_cv     `calls` dropped to 0 while closing (close waits here).
 *
 * LIFECYCLE. Every public call except epoch/shard_id enters with
 * w_enter() (refused with MW_ERR_CLOSED once `closing` is set) and leaves
 * with w_leave(); close sets `closing`, lets the calls in flight finish
 * (they complete, or return MW_ERR_CLOSED where they would otherwise wait
 * for ever), waits for calls == 0, stops and joins the threads, and only
 * then frees the writer (sqlite3_close_v2 style).
 *
 * ERRORS.
 *  - sticky (fenced, or an outcome unknown = MW_ERR_POISONED): every later
 *    call fails with it until the shard is reopened (LMDB's sticky error).
 *    Set only through w_make_sticky().
 *  - a failure streak (w_failure, one for the WAL flusher and one for the
 *    MemTable flusher): each failed attempt is recorded (seq, status,
 *    message); a streak is retried with exponential backoff under the
 *    retry policy of the config; once the policy's attempts or time are
 *    used up the streak "gives up": every put, flush and close returns the
 *    stored error until an attempt succeeds again (the flusher keeps
 *    retrying at the maximum backoff, so a condition that clears heals).
 *  - a failure nobody waited for is "unreported" and returned once by the
 *    next put/close (unless a later success made it moot).
 */
#ifndef MW_WRITER_WRITER_INTERNAL_H
#define MW_WRITER_WRITER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "manifest/manifest_store.h"
#include "lance/pk_index.h"
#include "memtable/memtable.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "wal/wal_internal.h"

/* A frozen MemTable waiting for its flush. */
typedef struct frozen_mt {
  mw_memtable *mt;
  uint64_t generation;
  uint64_t batch_end; /* batch positions of this MemTable end here */
  bool covered;       /* every batch durable; wal_pos valid */
  uint64_t wal_pos;   /* WAL position of the entry holding its last batch */
} frozen_mt;

/* A batch put but not yet in the WAL. */
typedef struct pending_batch {
  struct ArrowArray array; /* owned (WAL-only) or a shared ref (MemTable) */
  uint64_t bytes;
  bool ends_durable_put; /* last batch of a durable put (group commit counts puts) */
  struct pending_batch *next;
} pending_batch;

/* A WAL entry in flight (wal_flusher.c "Entries in flight"). */
#define W_MAX_INFLIGHT 16
enum { W_STAGING, W_STAGED, W_PUBLISHED };
typedef struct wal_inflight {
  uint64_t seq;          /* entries are published in seq order */
  uint64_t start, n;     /* batch positions [start, start + n) */
  uint64_t bytes;        /* their batch bytes */
  pending_batch *first;  /* the queue node of batch `start` */
  int state;             /* W_STAGING (its thread writes it), W_STAGED, W_PUBLISHED */
  struct mw_staged *staged; /* W_STAGED / W_PUBLISHED */
  size_t len;            /* encoded bytes */
  uint64_t pos;          /* W_PUBLISHED: its WAL position */
  uint64_t t0;           /* w_now_ns() when it was cut */
} wal_inflight;

/* A streak of failed background attempts (see ERRORS above). */
typedef struct w_failure {
  uint64_t seq;         /* failed attempts ever (waiters compare it) */
  uint64_t streak;      /* failed attempts since the last success */
  uint64_t first_ns;    /* now_ns() of the streak's first failure */
  uint64_t retry_at;    /* now_ns() before which no retry starts */
  uint64_t backoff_ms;  /* current backoff */
  uint64_t end;         /* WAL: batch end of the last failed attempt */
  mw_status status;
  char msg[MW_ERROR_MESSAGE_SIZE];
  bool unreported;      /* nobody was told about the last failure */
  bool gave_up;         /* the retry policy is used up */
} w_failure;

#define W_LOGQ 16

typedef struct w_log {
  mw_log_level level;
  char text[400];
} w_log;

struct mw_shard_writer {
  /* Immutable after open (read without mu). */
  mw_objstore *store; /* borrowed */
  mw_manifest_store *ms;
  mw_wal_appender *appender;
  mw_shard_writer_config cfg;
  struct ArrowSchema schema; /* the stored schema: user columns (non-key ones
                                nullable) + `_tombstone` (tombstone.c); what
                                the WAL, MemTables and generations hold */
  struct ArrowSchema user_schema; /* owned copy of the schema given to open */
  bool user_has_tomb;        /* the user's schema ends in `_tombstone` */
  mw_pk pk;                  /* primary key (MemTable mode; n = 0 otherwise) */
  char shard[40];
  uint64_t epoch;
  mw_index_config *indexes; /* owned copies (names/columns strdup'ed) */
  size_t n_indexes;
  bool check_fsl_items; /* a fixed_size_list column may hold null items */

  pthread_mutex_t mu;
  pthread_cond_t wal_cv, durable_cv, mt_cv, gen_cv, index_cv, idle_cv;

  /* (mu) lifecycle */
  unsigned calls;  /* public calls in flight */
  bool closing;    /* close started: new calls are refused */
  bool stopping;   /* background threads must exit */

  /* (mu) pending queue: batches not yet in the WAL (wal_flusher.c) */
  pending_batch *pend_head, *pend_tail;
  uint64_t pend_count, pend_bytes;
  uint64_t pend_start;            /* batch position of pend_head */
  uint64_t next_batch_pos;        /* position the next put batch gets */
  uint64_t durable_end;           /* positions < durable_end are durable */
  uint64_t unflushed_new_bytes;   /* bytes put since the last size trigger */
  struct timespec oldest_pending; /* when pend_head was put */
  bool flush_requested;
  /* group commit (wal_flusher.c "Gathering"): durable puts queued and not
   * yet in an entry; the concurrency the last entry saw; the end of the
   * current gathering window (0 = not gathering); the last entry's I/O time */
  uint64_t gc_queued_puts, gc_target, gc_gather_until, gc_last_io_ns;
  /* entries in flight (wal_flusher.c "Entries in flight"): inflight[] is
   * oldest first (seq order), n_inflight of them; the queue's first
   * pend_taken_n batches are in them and pend_taken is the first batch
   * that is not (NULL = none); one thread at a time publishes
   * (publishing) and syncs (syncing); wal_stop_failed: an attempt failed
   * while stopping (the threads exit without retrying); wal_depth (the
   * most entries in flight = flusher threads) never changes after open */
  wal_inflight inflight[W_MAX_INFLIGHT];
  unsigned n_inflight, wal_depth;
  uint64_t next_seq, pend_taken_n;
  pending_batch *pend_taken;
  bool publishing, syncing, wal_stop_failed;
  bool have_wal_pos;
  uint64_t last_wal_pos;          /* entry that made durable_end what it is */

  /* (mu) errors */
  mw_status sticky; /* MW_ERR_FENCED / MW_ERR_POISONED: writer dead */
  char sticky_msg[MW_ERROR_MESSAGE_SIZE];
  w_failure wal_fail; /* WAL flusher */
  w_failure gen_fail; /* MemTable flusher */

  /* (mu) MemTable mode */
  mw_memtable *active;
  bool replay_done; /* open finished replaying: new MemTables get batch positions */
  frozen_mt *frozen; /* oldest first; only the MemTable flusher removes */
  size_t n_frozen, cap_frozen;
  uint64_t flushing_bytes; /* the generation file being built */

  /* (mu) log lines waiting for w_unlock() */
  w_log logq[W_LOGQ];
  unsigned n_logq, logs_dropped;

  /* (mu) statistics */
  mw_write_stats stats;

  /* threads (started at open, joined by close) */
  pthread_t wal_threads[W_MAX_INFLIGHT], mt_thread, index_thread;
  unsigned n_wal_threads; /* WAL flusher threads started (wal_depth of them) */
  bool mt_thread_started, index_thread_started;
};

/* ---- shard_writer.c: shared helpers ---- */
uint64_t w_now_ns(void);
uint64_t w_ms_since(const struct timespec *t);
struct timespec w_deadline_ms(uint64_t ms);
/* Logs with mu NOT held: calls the hook (or stderr) now. */
void w_log_now(mw_shard_writer *w, mw_log_level level, const char *fmt, ...) MW_PRINTF(3, 4);
/* Logs with mu held: queued, emitted by w_unlock(). */
void w_log_locked(mw_shard_writer *w, mw_log_level level, const char *fmt, ...) MW_PRINTF(3, 4);
/* Releases mu, then emits the queued log lines (no lock held). */
void w_unlock(mw_shard_writer *w);
/* Makes the writer refuse every later write (mu held); the first wins. */
void w_make_sticky(mw_shard_writer *w, mw_status s, const char *msg);
mw_status w_sticky_error(mw_shard_writer *w, mw_error *err);
/* Records a failed attempt of a background streak and schedules its retry
 * under the retry policy (mu held); logs it. what: "WAL flush" / ... */
void w_failure_record(mw_shard_writer *w, w_failure *f, mw_status s, const char *msg, const char *what);
/* A background attempt succeeded: the streak ends (mu held). */
void w_failure_clear(w_failure *f);
/* The error every write returns while a streak has given up, else MW_OK. */
mw_status w_gave_up_error(mw_shard_writer *w, mw_error *err);
/* Bytes of the active + frozen MemTables (mu held). */
uint64_t w_memtable_bytes(mw_shard_writer *w);

/* ---- wal_flusher.c ---- */
void *w_wal_flusher_main(void *arg);
/* Waits (mu held) until batch positions < end are durable, or a failure
 * covering [start, end) after fail_seq0, or the writer dies/stops. */
mw_status w_wait_durable(mw_shard_writer *w, uint64_t start, uint64_t end, uint64_t fail_seq0,
                         mw_error *err);
void w_free_pending_list(pending_batch *p);

/* ---- memtable_flusher.c ---- */
/* Freezes the active MemTable (mu held) if it holds rows. */
mw_status w_freeze_active(mw_shard_writer *w, mw_error *err);
/* Freezes when a trigger fired (mu held). */
mw_status w_maybe_freeze(mw_shard_writer *w, mw_error *err);
void *w_mt_flusher_main(void *arg);

/* ---- replay.c ---- */
/* Replays the WAL into the active MemTable (open, before the threads
 * start). *out_next: the first absent position. */
mw_status w_replay(uint64_t *out_next, mw_shard_writer *w, const mw_shard_manifest *m, mw_error *err);

/* ---- tombstone.c ---- */
/* Is f the `_tombstone` column (by name)? */
bool w_is_tombstone_field(const struct ArrowSchema *f);
/* The stored schema of a user schema: its columns (non-key ones nullable)
 * then `_tombstone: bool not null` (unless the user's last column already
 * is `_tombstone`: *out_user_has_tomb; it must then be bool and last). */
mw_status w_stored_schema(struct ArrowSchema *out, bool *out_user_has_tomb, const struct ArrowSchema *user,
                          mw_error *err);
/* Can a WAL entry of schema `entry` be replayed by a writer of `stored`?
 * Names and types must match; nullability and field metadata may differ;
 * an entry without `_tombstone` is accepted (*out_add_tomb: wrap its
 * batches with all-false). Else MW_ERR_INVALID with the column in why. */
mw_status w_entry_compat(bool *out_add_tomb, const struct ArrowSchema *stored, const struct ArrowSchema *entry,
                         char *why, size_t why_cap);
/* Wraps batch (moved into *out, zero copy) with a last bool child of all
 * `value`. On failure batch is untouched. */
mw_status w_tomb_wrap(struct ArrowArray *out, struct ArrowArray *batch, bool value, mw_error *err);
/* Undoes w_tomb_wrap: the original batch back into *batch. */
void w_tomb_unwrap(struct ArrowArray *batch, struct ArrowArray *wrapped);
/* A batch of the stored schema holding delete rows for the keys of `keys`
 * (moved into *out on MW_OK): key column pk->col[j] is keys' child
 * key_child[j] (borrowed), other columns all null, `_tombstone` all true. */
mw_status w_delete_wrap(struct ArrowArray *out, const struct ArrowSchema *stored, const mw_pk *pk,
                        const int *key_child, struct ArrowArray *keys, mw_error *err);

/* ---- index_worker.c ---- */
void *w_index_worker_main(void *arg);

#endif
