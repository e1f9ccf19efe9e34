/* memtable_internal.h - shared between memtable.c and memtable_scan.c: the
 * reference-counted batch holder and the zero-copy ArrowArray views.
 *
 * A holder owns one stored batch (the ArrowArray moved in by insert) and
 * frees it when its last reference goes: the MemTable holds one reference,
 * every scan snapshot and every handed-out view another. Views are new
 * ArrowArray trees allocated as ONE block whose nodes copy the stored
 * nodes' offsets, lengths, null counts and buffer pointers; the block keeps
 * one holder reference and counts its live nodes (a consumer may move a
 * child out and release it separately, as the C Data Interface allows). */
#ifndef MW_MEMTABLE_INTERNAL_H
#define MW_MEMTABLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "lance/pk_index.h"
#include "memtable/index_btree.h"
#include "memtable/memtable.h"
#include "memwal.h"

typedef struct mw_holder {
  atomic_long refs;
  struct ArrowArray array; /* owned: the batch as inserted */
  uint64_t first_row;      /* global row id of row 0 */
  uint64_t bytes;          /* mw_array_byte_size at insert */
} mw_holder;

void mw_holder_ref(mw_holder *h);
void mw_holder_unref(mw_holder *h);

/* Builds a view of rows [start, start+len) of h's batch into *out, keeping
 * the top-level children listed in proj (n_proj of them, indexes into the
 * batch's children; proj NULL = all, in order). A whole-batch view copies
 * every node as is; a partial one shifts the top-level children's offsets
 * (root offset 0) so the slice reads the same whether or not a consumer
 * applies struct offsets to children. Returns false on OOM. */
bool mw_view_make(struct ArrowArray *out, mw_holder *h, int64_t start, int64_t len,
                  const int64_t *proj, int64_t n_proj);

/* What the state of a MemTable result stream (memtable_scan.c,
 * memtable_query.c) starts with: the output schema and the last error,
 * served by the shared get_schema / get_last_error callbacks, and the
 * function the shared release calls to free the whole state. */
typedef struct mw_mt_stream_base {
  struct ArrowSchema schema; /* output schema (owned by the state) */
  char error[MW_ERROR_MESSAGE_SIZE];
  void (*free_state)(void *state);
} mw_mt_stream_base;

/* Makes *out a stream over `state` (which starts with a mw_mt_stream_base
 * whose free_state is set) with the shared callbacks and get_next; the
 * stream owns the state from here on. */
void mw_mt_stream_start(struct ArrowArrayStream *out, mw_mt_stream_base *state,
                        int (*get_next)(struct ArrowArrayStream *stream, struct ArrowArray *out));


/* One in-memory index. Rows [0, indexed_rows) are in it (always a prefix:
 * rows are indexed in insertion order); `cursor` is the batch that holds
 * row indexed_rows. A BTree is updated under mu (it is not thread-safe and
 * cheap); an HNSW or FTS index is thread-safe and expensive, so its
 * indexer marks the index `busy`, releases mu while it inserts the rest of
 * batch `cursor`, then advances indexed_rows under mu and broadcasts
 * idx_cv. At most one indexer per index at a time, so the prefix rule
 * holds; other threads that need the index to progress wait on idx_cv. */
typedef struct mw_mt_index {
  char *name;
  int64_t col;
  mw_type type;
  mw_index_kind kind;
  mw_btree *tree;        /* MW_INDEX_BTREE */
  struct mw_hnsw *hnsw;  /* MW_INDEX_HNSW */
  struct mw_fts *fts;    /* MW_INDEX_FTS */
  uint64_t indexed_rows;
  size_t cursor;
  bool busy;
} mw_mt_index;

struct mw_memtable {
  pthread_mutex_t mu;          /* guards everything below except the immutable part */
  /* immutable after new */
  struct ArrowSchema schema;   /* owned copy */
  mw_type *types;              /* per top-level column */
  int64_t n_cols;
  uint64_t generation;
  mw_mt_index *idx;            /* trees and counters guarded by mu */
  size_t n_idx;
  mw_index_config *cfgs;       /* copies of the configs (names owned) */
  pthread_cond_t idx_cv;       /* an index's busy flag cleared (it progressed or failed) */
  /* guarded by mu */
  mw_holder **batches;
  size_t n_batches, cap;
  uint64_t rows;
  uint64_t bytes;
  bool frozen;
  uint64_t pos_b0, pos_p0;     /* mw_memtable_set_positions (b0 = UINT64_MAX: all durable) */
  _Atomic unsigned index_threads; /* HNSW insert threads per batch (0 = online cores) */
  /* The primary-key map (pk.n > 0; pk immutable after new, the rest under
   * mu): every distinct key's encoding (pk_index.h) with its newest row,
   * and per row the previous row of the same key, so that the newest row
   * of a key below a visibility cursor is a hash probe and a short walk.
   * Kept up to date by insert (room reserved before publishing). */
  mw_pk pk;
  uint64_t *pk_slots;          /* open addressing: 0 = empty, else 1 + key index */
  uint64_t pk_cap;             /* slots (power of two) */
  mw_buf pk_keys;              /* key encodings, back to back */
  size_t *pk_off;              /* key i = pk_keys[pk_off[i], pk_off[i + 1]) */
  uint64_t *pk_newest;         /* key i's newest row */
  uint64_t pk_n, pk_cap_keys;
  uint64_t *pk_prev;           /* per row: older row of the same key, UINT64_MAX = none */
  uint64_t pk_cap_rows;
  _Atomic unsigned refs;       /* mw_memtable_retain / mw_memtable_free */
};

/* Checks a filter value (length-1 array whose type equals the column's:
 * same format string) and reads it. *is_null set when the value is null
 * (such a filter matches nothing). MW_ERR_INVALID naming `what`. */
mw_status mw_mt_filter_value(mw_key *out, bool *is_null, const mw_type *col_type,
                             const char *what, const struct ArrowSchema *vs,
                             const struct ArrowArray *va, mw_error *err);

/* Top-level column index by name, -1 if absent. */
int64_t mw_mt_column(const mw_memtable *mt, const char *name);

/* Marks in *out_alive (one byte per snapshot row: holders in order, the
 * first lens[b] rows of holder b, or all its rows when lens is NULL; total =
 * their sum) the rows that are the newest of their primary key and not a
 * tombstone (tomb_col: the `_tombstone` column, -1 = none). malloc'ed. */
struct mw_pk;
mw_status mw_mt_mark_latest(uint8_t **out_alive, mw_holder *const *held, const int64_t *lens, size_t n_held,
                            uint64_t total, const struct mw_pk *pk, int64_t tomb_col, mw_error *err);

/* The newest row < visible of the key encoded in key[0..len) (hash = its
 * FNV-1a hash, mw_mt_pk_hash), or UINT64_MAX. Takes mu. */
#define MW_MT_NO_ROW UINT64_MAX
uint64_t mw_mt_pk_hash(const uint8_t *key, size_t len);
uint64_t mw_mt_pk_newest(mw_memtable *mt, const uint8_t *key, size_t len, uint64_t hash, uint64_t visible);

/* The `_tombstone` column of a MemTable schema: its last column when it is
 * named so and bool, else -1 (no row is a tombstone). */
int64_t mw_mt_tomb_col(const struct ArrowSchema *schema);

/* Is row r (logical, of the stored batch) a tombstone? tomb_col from
 * mw_mt_tomb_col; -1 = never. */
static inline bool mw_mt_row_is_tomb(const struct ArrowArray *batch, int64_t tomb_col, int64_t r) {
  if (tomb_col < 0) return false;
  const struct ArrowArray *tc = batch->children[tomb_col];
  int64_t p = tc->offset + batch->offset + r;
  const void *v = tc->null_count != 0 ? tc->buffers[0] : NULL;
  return mw_bit_get(v, p) && mw_bit_get(tc->buffers[1], p);
}

#endif
