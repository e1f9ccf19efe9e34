/*
 * shard_manifest.h - the MemWAL shard manifest (MEMWAL.md section 4) as a
 * protobuf-c message: decode, encode, copy, edit helpers, JSON rendering.
 *
 * The in-memory form IS the generated protobuf-c struct (mw_shard_manifest =
 * Lance__Table__ShardManifest), so every field, including ones added by newer
 * writers, is carried: protobuf-c keeps unknown fields in base.unknown_fields
 * and packs them again, which is how a read-modify-write preserves them.
 *
 * Ownership: every mw_shard_manifest handed out by this module (decode, new,
 * copy) is allocated with protobuf-c's default (malloc) allocator and freed
 * with mw_shard_manifest_free(). Editing helpers allocate with malloc too, so
 * callers may also edit fields directly as long as they use malloc'ed memory.
 *
 * Encoding follows proto3 presence (what Lance writes): a top-level scalar is
 * written iff it is non-zero, whatever its has_ flag says.
 */
#ifndef MW_MANIFEST_SHARD_MANIFEST_H
#define MW_MANIFEST_SHARD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "manifest/shard_manifest.pb-c.h"
#include "memwal.h"

typedef Lance__Table__ShardManifest mw_shard_manifest;
typedef Lance__Table__FlushedGenerationProto mw_flushed_generation;

#define MW_SHARD_STATUS_ACTIVE 0
#define MW_SHARD_STATUS_SEALED 1

/* Decodes bytes (hostile input). `key` only names the object in errors
 * (may be NULL). MW_ERR_CORRUPT "shard manifest KEY: ..." when protobuf-c
 * rejects the bytes or shard_id.uuid is present but not 16 bytes. */
mw_status mw_shard_manifest_decode(mw_shard_manifest **out, const uint8_t *data,
                                   size_t len, const char *key, mw_error *err);

/* Encodes m (normalising the top-level has_ flags first, see above).
 * *out_data is malloc'ed (free with free()); never NULL on success. */
mw_status mw_shard_manifest_encode(uint8_t **out_data, size_t *out_len,
                                   mw_shard_manifest *m, mw_error *err);

/* A new empty manifest (every field absent / zero). */
mw_status mw_shard_manifest_new(mw_shard_manifest **out, mw_error *err);

/* Deep copy (pack + unpack), unknown fields included. */
mw_status mw_shard_manifest_copy(mw_shard_manifest **out, const mw_shard_manifest *m,
                                 mw_error *err);

void mw_shard_manifest_free(mw_shard_manifest *m); /* NULL ok */

/* Sets shard_id.uuid to the 16 bytes. */
mw_status mw_shard_manifest_set_shard_id(mw_shard_manifest *m, const uint8_t uuid[16],
                                         mw_error *err);

/* The 16 shard_id bytes, or NULL when absent. */
const uint8_t *mw_shard_manifest_shard_id(const mw_shard_manifest *m);

/* Optional Lance 12 statistics of a flushed generation. */
typedef struct mw_flushed_gen_stats {
  uint64_t in_memory_bytes;
  uint64_t physical_rows;
  uint64_t primary_key_bytes;
} mw_flushed_gen_stats;

/* Appends {generation, path (copied), stats (NULL = absent)} at the end of
 * flushed_generations (the list stays in flush order, ascending). */
mw_status mw_shard_manifest_add_flushed_generation(mw_shard_manifest *m, uint64_t generation,
                                                   const char *path,
                                                   const mw_flushed_gen_stats *stats,
                                                   mw_error *err);

/* Removes every flushed generation numbered <= up_to (after a merge).
 * Returns how many were removed. */
size_t mw_shard_manifest_remove_flushed_generations(mw_shard_manifest *m, uint64_t up_to);

/* One-line JSON object (no trailing newline), malloc'ed (free with free()):
 * version, writer_epoch, replay_after_wal_entry_position,
 * wal_entry_position_last_seen, current_generation, flushed_generations
 * [{generation, path[, in_memory_bytes, physical_rows, primary_key_bytes]}],
 * shard_spec_id, shard_id (UUID string or null), status ("ACTIVE",
 * "SEALED" or the number), then shard_field_values {k:int},
 * shard_field_string_values {k:str}, shard_field_entries
 * [{field_id, value (hex)}] when non-empty. */
mw_status mw_shard_manifest_to_json(char **out, const mw_shard_manifest *m, mw_error *err);

#endif
