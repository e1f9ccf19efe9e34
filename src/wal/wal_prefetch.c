/* wal_prefetch.c - parallel read-ahead of WAL entries (see wal_prefetch.h).
 *
 * A ring of `window` slots; slot (pos % window) holds position pos. Readers
 * take the next unassigned position while it is within the window of the
 * consumer, read and decode it without the lock, and publish it. The first
 * absent position ends the run: readers assign nothing beyond it.
 * Entries are read into slab memory (common/slab.h: huge-page blocks
 * shared by many entries, `pool`, which has its own lock) where the store
 * can: replay keeps them all in the MemTable, and fresh 4 KiB pages faulted
 * in one by one cost more than the read itself (measured: open with replay
 * of 1000 x 43 KB entries 81-97 ms before, 36-41 ms with huge-page
 * buffers; README, "Replay"). */
#include "wal/wal_prefetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/slab.h"
#include "wal/wal_internal.h"

enum { SLOT_EMPTY = 0, SLOT_LOADING = 1, SLOT_READY = 2 };

typedef struct slot {
  int state;
  uint64_t pos;
  mw_status status;
  mw_error err;
  mw_wal_entry entry;
} slot;

struct mw_wal_prefetch {
  mw_wal_tailer *tailer; /* read_entry touches only immutable fields: shared */
  mw_slab_pool pool;     /* memory of the entries read (own lock) */
  pthread_mutex_t mu;    /* guards everything below */
  pthread_cond_t cv;
  slot *slots;
  int window;
  uint64_t next_fetch;   /* next position to assign to a reader */
  uint64_t next_consume; /* next position the caller gets */
  bool end_known;
  uint64_t end_pos;      /* first absent (or failed) position */
  bool stop;
  pthread_t *threads;
  int n_threads;
};

static void *reader_main(void *arg) {
  mw_wal_prefetch *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && (p->next_fetch >= p->next_consume + (uint64_t)p->window ||
                        (p->end_known && p->next_fetch >= p->end_pos)))
      pthread_cond_wait(&p->cv, &p->mu);
    if (p->stop) break;
    uint64_t pos = p->next_fetch++;
    slot *s = &p->slots[pos % (uint64_t)p->window];
    s->state = SLOT_LOADING;
    s->pos = pos;
    pthread_mutex_unlock(&p->mu);
    mw_error e = {0};
    mw_wal_entry en;
    mw_status st = mw_wal_tailer_read_entry_pooled(&en, p->tailer, pos, &p->pool, &e);
    pthread_mutex_lock(&p->mu);
    s->status = st;
    s->err = e;
    s->entry = en;
    s->state = SLOT_READY;
    if (st != MW_OK && (!p->end_known || pos < p->end_pos)) {
      p->end_known = true;
      p->end_pos = pos;
    }
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

mw_status mw_wal_prefetch_open(mw_wal_prefetch **out, mw_objstore *store, const char *shard,
                               uint64_t first, int n_threads, int window, mw_error *err) {
  *out = NULL;
  if (n_threads < 1) n_threads = 1;
  if (window < n_threads) window = n_threads;
  mw_wal_prefetch *p = calloc(1, sizeof *p);
  if (!p) return mw_err(err, MW_ERR_NOMEM, "out of memory starting WAL read-ahead");
  p->slots = calloc((size_t)window, sizeof *p->slots);
  p->threads = calloc((size_t)n_threads, sizeof *p->threads);
  if (!p->slots || !p->threads) {
    free(p->slots);
    free(p->threads);
    free(p);
    return mw_err(err, MW_ERR_NOMEM, "out of memory starting WAL read-ahead");
  }
  mw_status s = mw_wal_tailer_open(&p->tailer, store, shard, err);
  if (s != MW_OK) {
    free(p->slots);
    free(p->threads);
    free(p);
    return s;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  mw_slab_pool_init(&p->pool);
  p->window = window;
  p->next_fetch = p->next_consume = first;
  for (int i = 0; i < n_threads; i++) {
    if (pthread_create(&p->threads[i], NULL, reader_main, p) != 0) break;
    p->n_threads++;
  }
  if (p->n_threads == 0) {
    mw_wal_prefetch_close(p);
    return mw_err(err, MW_ERR_IO, "cannot start WAL read-ahead threads");
  }
  *out = p;
  return MW_OK;
}

mw_status mw_wal_prefetch_next(mw_wal_entry *out, mw_wal_prefetch *p, mw_error *err) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&p->mu);
  uint64_t pos = p->next_consume;
  slot *s = &p->slots[pos % (uint64_t)p->window];
  while (!(s->state == SLOT_READY && s->pos == pos)) pthread_cond_wait(&p->cv, &p->mu);
  mw_status st = s->status;
  if (st == MW_OK) {
    *out = s->entry;
    memset(&s->entry, 0, sizeof s->entry);
    s->state = SLOT_EMPTY;
    p->next_consume++;
    pthread_cond_broadcast(&p->cv);
  } else if (err) {
    *err = s->err; /* the slot stays: later calls return the same result */
  }
  pthread_mutex_unlock(&p->mu);
  return st;
}

void mw_wal_prefetch_close(mw_wal_prefetch *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
  for (int i = 0; i < p->window; i++)
    if (p->slots[i].state == SLOT_READY) mw_wal_entry_release(&p->slots[i].entry);
  mw_wal_tailer_close(p->tailer);
  mw_slab_pool_destroy(&p->pool); /* entries handed out keep their blocks */
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p->slots);
  free(p->threads);
  free(p);
}
