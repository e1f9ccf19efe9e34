/* memtable.h - the in-memory table of one shard generation (MEMWAL.md
 * sections 1 and 6): an append-only list of Arrow record batches, owned and
 * reference counted so that scans may outlive the MemTable, with optional
 * in-memory indexes (BTree on a scalar column).
 *
 * Thread safety: every function may be called from any thread; an internal
 * mutex guards the batch list and the indexes (it is never held across I/O:
 * there is none here). Scans take a snapshot (the batches present at the
 * call) and do not block inserts afterwards.
 *
 * Row ids: rows are numbered 0, 1, 2, ... in insertion order across the
 * MemTable's batches (global row number); indexes map values to row ids. */
#ifndef MW_MEMTABLE_MEMTABLE_H
#define MW_MEMTABLE_MEMTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memwal.h"

typedef struct mw_memtable mw_memtable;

/* Creates an empty MemTable for `schema` (borrowed; deep-copied) with the
 * given generation and indexes (borrowed for the call). Index configs are
 * checked: unknown column, non-scalar column type (lists, structs, maps,
 * fixed-size lists), duplicate index name, or unknown kind ->
 * MW_ERR_INVALID naming the index and column. */
mw_status mw_memtable_new(mw_memtable **out, const struct ArrowSchema *schema, uint64_t generation,
                          const mw_index_config *indexes, size_t n_indexes, mw_error *err);

/* Drops one reference (mw_memtable_new gives the first): the last one
 * frees the MemTable's own references (scans still running keep the
 * batches they reference alive). NULL ok. */
void mw_memtable_free(mw_memtable *mt);

/* Takes one more reference (released with mw_memtable_free): lets a query
 * or the index worker use a MemTable outside the writer's lock while the
 * MemTable flusher may drop the writer's reference. */
void mw_memtable_retain(mw_memtable *mt);

/* Inserts n batches atomically (all become visible together, or none).
 * The batches must already be validated against the schema by the caller.
 * Ownership of each ArrowArray MOVES into the MemTable on MW_OK (source
 * release set to NULL); on failure nothing changes and the caller keeps
 * them. index_now: update the indexes inside this call (sync_indexed_write);
 * otherwise the rows wait for mw_memtable_index_pending(). *out_first_batch
 * (may be NULL) receives the index of the first inserted batch within this
 * MemTable. Fails with MW_ERR_INVALID if the MemTable is frozen (or n == 0,
 * or a batch is already released / has the wrong column count).
 * If index_now and indexing runs out of memory, the insert still succeeds
 * (the batches are in) and the remaining rows stay pending for
 * mw_memtable_index_pending. The byte size (mw_array_byte_size) is computed
 * before the mutex is taken; no user callback runs under the mutex. */
mw_status mw_memtable_insert(uint64_t *out_first_batch, mw_memtable *mt, struct ArrowArray *batches,
                             size_t n, bool index_now, mw_error *err);

/* Indexes every row not yet indexed (async indexing), in insertion order,
 * releasing the mutex between batches so inserts and scans interleave.
 * *out_rows (may be NULL): how many rows became covered by every index. */
mw_status mw_memtable_index_pending(uint64_t *out_rows, mw_memtable *mt, mw_error *err);

/* Test hook: while non-zero, each indexing step (one batch of one index, in
 * any MemTable of the process) fails with MW_ERR_NOMEM before doing any
 * work, and the counter goes down by one. Tests only; 0 otherwise. */
extern _Atomic unsigned mw_memtable_test_fail_index_steps;

/* Indexes every index up to row `target` (exclusive; capped at the rows
 * present), waiting for another thread already working on an index. Used
 * by a synchronous put after it inserted unindexed (so the writer's lock is
 * not held while indexing). */
mw_status mw_memtable_index_upto(mw_memtable *mt, uint64_t target, mw_error *err);

/* The visibility cursor: the rows a query may see, a prefix [0, v) with v =
 * min(rows covered by every index, rows of the first `durable_batches`
 * batches). Pass UINT64_MAX when durability does not restrict. */
uint64_t mw_memtable_visible_rows(mw_memtable *mt, uint64_t durable_batches);

/* Writer bookkeeping for the visibility cursor under durable writes:
 * batches [0, b0) are durable (replayed from the WAL) and batch b >= b0 has
 * the writer's batch position p0 + (b - b0). A new MemTable starts with
 * b0 = UINT64_MAX (every batch durable). mw_memtable_durable_batches gives
 * how many leading batches are durable when positions < durable_end are. */
void mw_memtable_set_positions(mw_memtable *mt, uint64_t b0, uint64_t p0);
uint64_t mw_memtable_durable_batches(mw_memtable *mt, uint64_t durable_end);

/* Threads that insert one batch's vectors into an HNSW index together
 * (mw_hnsw_insert_batch); 0 = the online cores (the default). */
void mw_memtable_set_index_threads(mw_memtable *mt, unsigned threads);

/* Rows inserted but not yet indexed. */
uint64_t mw_memtable_unindexed_rows(mw_memtable *mt);

/* Marks the MemTable frozen: later inserts fail. Idempotent. */
void mw_memtable_freeze(mw_memtable *mt);
bool mw_memtable_is_frozen(mw_memtable *mt);

typedef struct mw_memtable_info {
  uint64_t generation;
  uint64_t rows;
  uint64_t batches;
  uint64_t estimated_size; /* bytes: mw_array_byte_size of every batch + index overhead */
} mw_memtable_info;

void mw_memtable_info_get(mw_memtable_info *out, mw_memtable *mt);

/* Borrowed view of the schema (valid for the MemTable's life). */
const struct ArrowSchema *mw_memtable_schema(const mw_memtable *mt);

/* Batch i (0-based, < info.batches) as a new reference: *out is a struct
 * array sharing the stored buffers (release it when done; the data stays
 * valid until then even if the MemTable is freed). For the Lance flusher and
 * tests. */
mw_status mw_memtable_batch_ref(struct ArrowArray *out, mw_memtable *mt, uint64_t i, mw_error *err);

/* A snapshot scan over the listed MemTables (in the order given: frozen
 * generations first, then the active one), as an ArrowArrayStream of struct
 * batches in insertion order. columns/n_columns: projection by top-level
 * name (NULL/0 = all; unknown name -> MW_ERR_INVALID). filter: NULL = all
 * rows; otherwise `column op value` where column is a top-level scalar
 * column; when an index on that column exists and covers every row of a
 * MemTable, the index answers for it, else the rows are compared one by
 * one. Comparison semantics (index and row by row alike): see
 * index_btree.h (NaN equals NaN and sorts after +inf; strings/binaries by
 * memcmp, shorter first); null cells never match; a null filter value
 * matches nothing; a value of another type than the column ->
 * MW_ERR_INVALID. All MemTables must have equal schemas. Matching rows are
 * returned as zero-copy slices of the stored batches (one output batch per
 * run of consecutive matching rows; without a filter one per stored batch):
 * a slice has struct offset 0 and the top-level children's offset/length
 * shifted, so it reads the same whether or not a consumer applies struct
 * offsets to children. The stream holds references to the batches: it may
 * outlive the MemTables. get_next/get_schema return 0 or ENOMEM. */
mw_status mw_memtable_scan(struct ArrowArrayStream *out, mw_memtable *const *mts, size_t n_mts,
                           const char *const *columns, size_t n_columns,
                           const mw_scan_filter *filter, mw_error *err);

/* As mw_memtable_scan, but only the newest row of each primary key (field
 * metadata lance-schema:unenforced-primary-key:position; none ->
 * MW_ERR_INVALID) across all the MemTables given (later MemTables and later
 * rows are newer), and no key whose newest row has `_tombstone` = true (a
 * last bool column of that name; without it no row is a tombstone). The
 * filter applies to those newest rows (row by row; indexes are not used).
 * Rows stay in insertion order. */
mw_status mw_memtable_scan_latest(struct ArrowArrayStream *out, mw_memtable *const *mts, size_t n_mts,
                                  const char *const *columns, size_t n_columns,
                                  const mw_scan_filter *filter, mw_error *err);

/* Index lookup for tests and the flusher: row ids (ascending) of rows
 * whose `index_name` key compares `op` to value (length-1 array of the
 * column type). *out_ids malloc'ed (free()). MW_ERR_NOT_FOUND for an
 * unknown index. Only rows already indexed are considered. */
mw_status mw_memtable_index_lookup(uint64_t **out_ids, size_t *out_n, mw_memtable *mt,
                                   const char *index_name, mw_filter_op op,
                                   const struct ArrowSchema *value_schema,
                                   const struct ArrowArray *value, mw_error *err);

/* The in-memory index objects, for the query layer and the MemTable
 * flusher (which serialises them into the generation, LSM.md section 6).
 * Looked up by index name; NULL when there is no index of that name and
 * kind. The object lives as long as the MemTable (hold a reference). Row
 * ids inside are the MemTable's global row numbers. Once the MemTable is
 * frozen and mw_memtable_unindexed_rows() is 0 nothing changes them any
 * more. */
struct mw_hnsw;
struct mw_fts;
struct mw_hnsw *mw_memtable_hnsw(mw_memtable *mt, const char *index_name);
struct mw_fts *mw_memtable_fts(mw_memtable *mt, const char *index_name);
/* The index configs the MemTable was created with (borrowed, n_out set). */
const mw_index_config *mw_memtable_index_configs(const mw_memtable *mt, size_t *n_out);

/* One query (mw_query, memwal.h) over the MemTables mts[0..n) (oldest
 * first, equal schemas with a primary key), MemTable m restricted to its
 * first visible[m] rows (its visibility cursor). def_cols/n_def_cols: the
 * projection when q->n_columns is 0 (NULL/0 = every column). The stream
 * holds its own batch references (it may outlive the MemTables). See
 * memtable_query.c. */
mw_status mw_memtable_query(struct ArrowArrayStream *out, mw_memtable *const *mts, const uint64_t *visible,
                            size_t n_mts, const struct mw_query *q, const char *const *def_cols, size_t n_def_cols,
                            mw_error *err);

#endif
