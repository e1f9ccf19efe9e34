/* pk_index.h - primary keys of a flushed generation: resolving the key
 * columns, the order-preserving key encoding, the bloom hash input, and the
 * `_pk_index/` BTree scalar index (FORMATS.md part F).
 *
 * Key encoding (memcomparable; also used for dedup and sorting): for each key
 * column `00` if null else `01` + value; signed ints as (v as i64 as u64) XOR
 * 2^63, 8 bytes big-endian; unsigned ints widened to u64 big-endian; bool one
 * byte; strings and binary with every 00 byte written as `00 FF`, then
 * `00 00`. A composite key's index value is this encoding as `binary`.
 *
 * _pk_index/page_data.lance: `values` (key type, or binary for composite
 * keys; nullable; id 0) and `ids` (uint64 not null; row offset in the
 * fragment), one row per generation row sorted by value, ties by offset.
 * _pk_index/page_lookup.lance: `min`, `max` (key type, nullable), `null_count`
 * (uint32), `page_idx` (uint32): one row per run of batch_size (8192) rows of
 * page_data; schema metadata range_partitioned=false, batch_size=8192.
 * Both files are Lance 2.0 files, as Lance writes them. */
#ifndef MW_LANCE_PK_INDEX_H
#define MW_LANCE_PK_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "memwal.h"
#include "memwal_sys.h"

#define MW_PK_MAX_COLS 8
#define MW_PK_INDEX_BATCH_SIZE 8192
#define MW_BTREE_INDEX_BATCH_SIZE 4096 /* Lance's DEFAULT_BTREE_BATCH_SIZE */

typedef struct mw_pk {
  int n;                       /* 0 = no primary key */
  int col[MW_PK_MAX_COLS];     /* top-level column index, in key order */
  mw_type type[MW_PK_MAX_COLS];
} mw_pk;

/* Finds the key columns: pk_names when given (n_pk > 0), else the columns
 * whose metadata holds lance-schema:unenforced-primary-key:position (sorted
 * by position). Key types: bool, integers, utf8/large_utf8,
 * binary/large_binary; anything else -> MW_ERR_UNSUPPORTED naming it. */
mw_status mw_pk_resolve(mw_pk *out, const struct ArrowSchema *schema, const char *const *pk_names,
                        size_t n_pk, mw_error *err);

/* Appends the memcomparable encoding of the key of logical row `row` of a
 * struct batch (0 <= row < batch->length: the batch's own offset and its
 * children's offsets are applied here, as for every `row` below). */
void mw_pk_encode(mw_buf *out, const mw_pk *pk, const struct ArrowArray *batch, int64_t row);

/* Bloom filter hash of the key of logical row `row` (tmp: scratch buffer). */
uint64_t mw_pk_hash(mw_buf *tmp, const mw_pk *pk, const struct ArrowArray *batch, int64_t row);

/* Bytes of the key values of a row (fixed width, or string/binary length). */
uint64_t mw_pk_value_bytes(const mw_pk *pk, const struct ArrowArray *batch, int64_t row);

/* A row of the generation, in file order. */
typedef struct mw_pk_row {
  uint32_t batch;
  int64_t row; /* logical row in that batch */
} mw_pk_row;

/* Writes {prefix}/_pk_index/page_data.lance and page_lookup.lance for the
 * generation rows `rows` (file order: rows[i] is fragment row offset i). */
mw_status mw_pk_index_write(mw_objstore *store, const char *prefix, const struct ArrowSchema *schema,
                            const mw_pk *pk, const struct ArrowArray *batches, const mw_pk_row *rows,
                            uint64_t n_rows, mw_error *err);

/* The two files as bytes (for tests): *data / *lookup malloc'ed. */
mw_status mw_pk_index_build(uint8_t **data, size_t *data_len, uint8_t **lookup, size_t *lookup_len,
                            const struct ArrowSchema *schema, const mw_pk *pk,
                            const struct ArrowArray *batches, const mw_pk_row *rows, uint64_t n_rows,
                            mw_error *err);

/* A generation's BTree index on top-level column `col` (Lance's BTree
 * index, LSM.md sections 6 and 10): page_data.lance {values (the column's
 * type, nullable), ids u64 = row offset} sorted nulls first, then by value
 * (floats in IEEE total order), ties by offset; page_lookup.lance {min,
 * max, null_count u32, page_idx u32}, one row per run of batch_size rows
 * (0 = MW_BTREE_INDEX_BATCH_SIZE), min/max = the page's first/last value;
 * schema metadata range_partitioned=false, batch_size. Both Lance 2.0
 * files. Column types: bool, integers, float32/64, strings, binary, date,
 * time, timestamp, duration (MW_ERR_UNSUPPORTED naming the column
 * otherwise). */
/* Column types mw_btree_index_build accepts. */
bool mw_btree_type_ok(mw_type_id id);

mw_status mw_btree_index_build(uint8_t **data, size_t *data_len, uint8_t **lookup, size_t *lookup_len,
                               const struct ArrowSchema *schema, int col, const struct ArrowArray *batches,
                               const mw_pk_row *rows, uint64_t n_rows, uint64_t batch_size, mw_error *err);

#endif
