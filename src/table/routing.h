/*
 * routing.h - which shard a row belongs to, exactly as LanceDB 0.39 / Lance 12
 * decide it (LSM.md sections 2-3). Pure functions: no I/O, no state.
 *
 * A table's sharding spec is one of
 *   unsharded            every row goes to one shard,
 *   bucket(column, N)    Spark-style murmur3 of the column value, bucket =
 *                        (hash & 0x7fffffff) % N, N in [1, 1024],
 *   identity(column)     one shard per distinct column value.
 * Shard ids are UUID v5 in LanceDB's namespace 4c534d57-5249-5445-5f53-
 * 484152443031 ("LSMWRITE_SHARD01") of the names "unsharded",
 * "bucket-<b>" (decimal) and "identity-" + the value's bytes (integers
 * little-endian at the column's width, utf8 raw bytes, bool one byte 0/1).
 *
 * The bucket hash follows Lance's evaluator byte for byte: 8/16/32-bit
 * integers (unsigned ones reinterpreted as int32), date32, time32 and bool
 * hash one 4-byte int; int64, uint64 (as int64), timestamps (raw value, any
 * unit) and time64 hash two 4-byte ints (low, high); float32/float64 hash
 * their bits with +-0 -> 0 and NaN -> the canonical quiet NaN; utf8 and
 * large_utf8 hash 4-byte little-endian chunks and then every remaining byte
 * as a SIGN-EXTENDED int8 (Spark's quirk, unlike standard murmur3); a null
 * hashes to the seed 0 (bucket 0). Other types (float16, date64, duration,
 * binary, decimal, nested) are refused with MW_ERR_UNSUPPORTED, as Lance
 * refuses them. Identity takes integers of every width, utf8, large_utf8
 * and bool; a null identity value is MW_ERR_INVALID (LanceDB refuses it).
 *
 * mw_route_batch() assigns every row of an Arrow C Data record batch to a
 * shard: the distinct shards of the batch in first-seen order with their
 * UUIDs and row counts, and per row the index of its shard. The batch is
 * treated as untrusted in shape (the key column is validated with
 * mw_array_validate first); its buffers must be as large as the C Data
 * Interface promises, which no consumer can check.
 */
#ifndef MW_TABLE_ROUTING_H
#define MW_TABLE_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrow/c_data.h"
#include "memwal.h"

typedef enum mw_sharding_kind {
  MW_SHARDING_UNSHARDED = 0,
  MW_SHARDING_BUCKET = 1,
  MW_SHARDING_IDENTITY = 2
} mw_sharding_kind;

#define MW_ROUTING_MAX_BUCKETS 1024u
#define MW_ROUTING_COLUMN_MAX 256 /* column name bytes, NUL included */

typedef struct mw_routing_spec {
  mw_sharding_kind kind;
  uint32_t num_buckets;               /* bucket: [1, MW_ROUTING_MAX_BUCKETS]; else 0 */
  char column[MW_ROUTING_COLUMN_MAX]; /* bucket / identity: top-level column; else "" */
} mw_routing_spec;

/* The namespace of LanceDB's shard UUIDs (the bytes "LSMWRITE_SHARD01"). */
extern const uint8_t mw_shard_namespace[16];

/* Parses "unsharded" | "bucket:COL:N" | "identity:COL". COL is non-empty
 * and at most MW_ROUTING_COLUMN_MAX - 1 bytes; for bucket it is everything
 * between the first and the last ':', for identity everything after the
 * first ':' (so column names may contain ':'). MW_ERR_INVALID naming the
 * text on anything else, N outside [1, 1024] included. */
mw_status mw_routing_spec_parse(mw_routing_spec *out, const char *text, mw_error *err);

/* The text form mw_routing_spec_parse reads ("bucket:id:16"); cap >= 16 +
 * MW_ROUTING_COLUMN_MAX is always enough. */
void mw_routing_spec_format(char *buf, size_t cap, const mw_routing_spec *spec);

/* Builds a spec from parts (validated like the parser). */
mw_status mw_routing_spec_init(mw_routing_spec *out, mw_sharding_kind kind, const char *column,
                               uint32_t num_buckets, mw_error *err);

/* ---- shard ids */

mw_status mw_shard_id_unsharded(uint8_t out[16], mw_error *err);
mw_status mw_shard_id_bucket(uint8_t out[16], uint32_t bucket, mw_error *err);
/* value = the identity bytes described above (any length, may be 0). */
mw_status mw_shard_id_identity(uint8_t out[16], const void *value, size_t len, mw_error *err);

/* ---- the bucket hash (Spark's Murmur3_x86_32 variants, seed usually 0) */

int32_t mw_murmur3_int(int32_t value, int32_t seed);
int32_t mw_murmur3_long(int64_t value, int32_t seed);
/* Spark's hashUnsafeBytes: sign-extended tail bytes. */
int32_t mw_murmur3_bytes(const void *data, size_t len, int32_t seed);
/* (hash & 0x7fffffff) % num_buckets; num_buckets >= 1. */
uint32_t mw_bucket_of_hash(int32_t hash, uint32_t num_buckets);

/* Can a column of this type be a key of this kind? MW_ERR_UNSUPPORTED
 * naming `column` and the type otherwise (unsharded accepts anything). */
mw_status mw_routing_check_type(mw_sharding_kind kind, const mw_type *type, const char *column,
                                mw_error *err);

/* ---- routing a batch */

typedef struct mw_routing {
  int64_t n_rows;
  uint32_t *row_shard;     /* n_rows entries: index into shard_ids */
  uint32_t n_shards;       /* distinct shards of the batch, first-seen order */
  uint8_t (*shard_ids)[16];
  int64_t *shard_rows;     /* rows per shard */
  int32_t *shard_bucket;   /* bucket spec: each shard's bucket; else -1 */
} mw_routing;

/* Routes every row of `batch` (a "+s" struct array of `schema`). *out is
 * overwritten; free it with mw_routing_free (also after a failure, which
 * leaves it empty). Errors: MW_ERR_INVALID (missing column, malformed
 * batch, null identity value naming the row), MW_ERR_UNSUPPORTED (key
 * type), MW_ERR_NOMEM. */
mw_status mw_route_batch(mw_routing *out, const mw_routing_spec *spec,
                         const struct ArrowSchema *schema, const struct ArrowArray *batch,
                         mw_error *err);

void mw_routing_free(mw_routing *r);

#endif
