/* wal_internal.h - WAL pieces shared inside the library (the ShardWriter
 * builds its appender on an epoch it claimed itself and writes fence
 * entries; tailer and appender share listing helpers). */
#ifndef MW_WAL_INTERNAL_H
#define MW_WAL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest/manifest_store.h"
#include "memwal.h"

/* An appender on an epoch the caller already claimed (`claimed` is the
 * manifest written by the claim, borrowed for the call). ms is borrowed
 * unless owns_ms. */
mw_status mw_wal_appender_new_claimed(mw_wal_appender **out, mw_objstore *store,
                                      mw_manifest_store *ms, bool owns_ms, uint64_t epoch,
                                      const mw_shard_manifest *claimed,
                                      uint64_t first_position, mw_error *err);

/* The appender's manifest store (borrowed). */
mw_manifest_store *mw_wal_appender_manifest_store(mw_wal_appender *a);

/* Appends already-encoded entry bytes (position discovery, conflicts,
 * fencing and outcome resolution as for mw_wal_appender_append); fills
 * out->position and out->bytes. */
mw_status mw_wal_appender_append_encoded(mw_wal_append_result *out, mw_wal_appender *a,
                                         const uint8_t *data, size_t len, mw_error *err);

/* Staged appends (objstore.h "STAGED put_if_absent"; wal_appender.c).
 * stage: takes `data` (malloc'ed) in every case; writes it durably where
 * no reader sees it; a failure is clean. Thread-safe, any number at once.
 * publish_staged: gives a staged entry of `len` bytes the next position
 * (as append_encoded; publish in entry order, one at a time); fills
 * out->position and out->bytes. The handle stays the caller's (free it
 * with mw_objstore_staged_free). sync: makes every entry published so far
 * (through `position`) durable; failure = MW_ERR_POISONED, sticky. */
struct mw_staged;
mw_status mw_wal_appender_stage(struct mw_staged **out, mw_wal_appender *a, void *data, size_t len, mw_error *err);
mw_status mw_wal_appender_publish_staged(mw_wal_append_result *out, mw_wal_appender *a, struct mw_staged *staged,
                                         size_t len, mw_error *err);
mw_status mw_wal_appender_sync(mw_wal_appender *a, uint64_t position, mw_error *err);

/* Appends a Lance 12 fence entry: an IPC stream of `schema` with NO batch
 * (as Lance 12 writes them; despite "one batch of zero rows" in some notes,
 * the bytes hold none) whose schema metadata has writer_epoch and
 * fence_sentinel = "true". Lance itself uses an empty schema (no fields). */
mw_status mw_wal_appender_append_fence(mw_wal_append_result *out, mw_wal_appender *a,
                                       const struct ArrowSchema *schema, mw_error *err);

/* Encodes a WAL entry: an IPC stream whose schema metadata carries
 * writer_epoch (and fence_sentinel = "true" when fence). *out: free(). */
mw_status mw_wal_encode_entry(void **out, size_t *out_len, const struct ArrowSchema *schema,
                              const struct ArrowArray *const *batches, size_t n_batches,
                              uint64_t epoch, bool fence, mw_error *err);

/* A zero-length struct array matching `schema` (every buffer points at
 * static zeros). Release it with out->release. */
mw_status mw_wal_empty_batch(struct ArrowArray *out, const struct ArrowSchema *schema,
                             mw_error *err);

/* mw_wal_tailer_read_entry reading the entry into memory from `pool`
 * (common/slab.h) where the store can: replay keeps many entries alive,
 * and slab memory spares a page fault per 4 KiB. The entry's batches own
 * their slab buffer as they would a malloc'ed one. */
struct mw_slab_pool;
mw_status mw_wal_tailer_read_entry_pooled(mw_wal_entry *out, mw_wal_tailer *t, uint64_t position,
                                          struct mw_slab_pool *pool, mw_error *err);

/* Smallest and largest position among the WAL entries of the shard
 * (from a listing); *out_any false when there is none. */
mw_status mw_wal_list_bounds(bool *out_any, uint64_t *out_min, uint64_t *out_max,
                             mw_objstore *store, const char *shard, mw_error *err);

/* Decodes entry bytes read from `key` at `position` (as
 * mw_wal_tailer_read_entry does after fetching them). */
mw_status mw_wal_decode_entry(mw_wal_entry *out, const uint8_t *data, size_t len,
                              uint64_t position, const char *key, mw_error *err);

#endif
