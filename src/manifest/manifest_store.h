/*
 * manifest_store.h - versioned shard manifests in an object store
 * (MEMWAL.md section 4): finding the latest version, writing a new one,
 * claiming a writer epoch, the fencing check, and fenced read-modify-write
 * commits.
 *
 * Design: versions are immutable objects
 * _mem_wal/{shard}/manifest/{bitrev64(version)}.binpb created with
 * put_if_absent, so "who wrote version N+1 first" is the only
 * synchronisation point between writers, tailers and claimers. Every update
 * is: read latest N, copy it, change what the caller owns, put_if_absent
 * N+1; losing the race means re-read and decide (retry, or fenced).
 * version_hint.json ({"version":N}) only speeds up the search; it may be
 * missing, stale, ahead or garbage and the search still finds the latest.
 *
 * A handle is bound to one store (borrowed: must outlive the handle) and
 * one shard. All functions are thread-safe: the handle itself is read-only
 * after open apart from an atomic counter.
 *
 * Manifests returned through `mw_shard_manifest **out` are owned by the
 * caller (free with mw_shard_manifest_free); on error *out is NULL.
 */
#ifndef MW_MANIFEST_MANIFEST_STORE_H
#define MW_MANIFEST_MANIFEST_STORE_H

#include <stdint.h>

#include "manifest/shard_manifest.h"
#include "memwal.h"
#include "memwal_sys.h"

typedef struct mw_manifest_store mw_manifest_store;

#define MW_MANIFEST_SCAN_BATCH_DEFAULT 2
#define MW_MANIFEST_CLAIM_ATTEMPTS 16
#define MW_MANIFEST_COMMIT_ATTEMPTS 10
#define MW_MANIFEST_CURSOR_ATTEMPTS 4

/* Opens a handle for shard `shard_id` (16 bytes) in `store` (borrowed).
 * scan_batch_size: versions probed per round by read_latest (0 = default
 * 2; capped at 64). With a batch > 1 the heads of one round run on their
 * own threads. */
mw_status mw_manifest_store_open(mw_manifest_store **out, mw_objstore *store,
                                 const uint8_t shard_id[16], uint32_t scan_batch_size,
                                 mw_error *err);
void mw_manifest_store_close(mw_manifest_store *ms); /* NULL ok */

/* The shard's UUID string (36 chars, lowercase hyphenated), and its bytes. */
const char *mw_manifest_store_shard_str(const mw_manifest_store *ms);
const uint8_t *mw_manifest_store_shard_id(const mw_manifest_store *ms);

/* How many version_hint.json writes failed (they are otherwise ignored). */
uint64_t mw_manifest_store_hint_failures(const mw_manifest_store *ms);

/* The latest manifest version, or *out = NULL with MW_OK when the shard has
 * no manifest at all (not an error). Algorithm (MEMWAL.md section 4):
 * hint (missing/unparseable -> 1); start at the hint if it exists, else at
 * version 1 if hint > 1 and 1 exists; then probe the next scan_batch_size
 * versions with head (in parallel), move to the highest found, repeat
 * until a round finds none. Errors: MW_ERR_IO (store), MW_ERR_CORRUPT
 * (undecodable manifest, or its version field differs from its name). */
mw_status mw_manifest_store_read_latest(mw_shard_manifest **out, mw_manifest_store *ms,
                                        mw_error *err);

/* One specific version. MW_ERR_NOT_FOUND if it does not exist. */
mw_status mw_manifest_store_read_version(mw_shard_manifest **out, mw_manifest_store *ms,
                                         uint64_t version, mw_error *err);

/* Writes m as version m->version with put_if_absent. MW_ERR_ALREADY_EXISTS
 * (nothing written) if that version exists: the caller lost a race. On
 * success the hint is overwritten with {"version":N}, best effort (failures
 * are counted, not reported). m->version must be >= 1 (MW_ERR_INVALID).
 * m's has_ flags are normalised (see shard_manifest.h). */
mw_status mw_manifest_store_write_version(mw_manifest_store *ms, mw_shard_manifest *m,
                                          mw_error *err);

/* Claims the shard for a new writer (up to 16 attempts):
 *  - no manifest: writes version 1, writer_epoch 1, current_generation 1,
 *    shard_spec_id, shard_id = the handle's shard, everything else empty;
 *  - else: copy of the latest with version+1, writer_epoch+1, every other
 *    field (unknown ones too) unchanged. A SEALED shard (status 1) is
 *    refused: MW_ERR_INVALID "shard X is sealed".
 * Losing the put race re-reads: stored epoch >= our target -> MW_ERR_FENCED
 * "shard X claimed by another writer (epoch N)"; otherwise (someone only
 * bumped the version, e.g. a tailer cursor) retry. MW_ERR_CONFLICT after 16
 * attempts. On success *out is the manifest written (its writer_epoch is
 * the caller's epoch) and *out_prev_epoch the previous writer's epoch (0 for
 * a new shard), so the caller can decide whether to write a fence entry. */
mw_status mw_manifest_store_claim_epoch(mw_shard_manifest **out, uint64_t *out_prev_epoch,
                                        mw_manifest_store *ms, uint32_t shard_spec_id,
                                        mw_error *err);

/* Fencing check for a writer holding `epoch`: reads the latest manifest;
 * latest.writer_epoch > epoch -> MW_ERR_FENCED with exactly
 * "writer fenced: local epoch L < stored epoch S (shard UUID)". On MW_OK
 * *out (may be NULL: caller doesn't want it) receives the latest manifest.
 * No manifest at all -> MW_ERR_NOT_FOUND "no manifest for shard X". */
mw_status mw_manifest_store_check_fenced(mw_shard_manifest **out, mw_manifest_store *ms,
                                         uint64_t epoch, mw_error *err);

/* Edits the new version in place. Called once per attempt on a fresh copy of
 * the latest manifest whose version and writer_epoch are already set: it must
 * derive its change from `m` (not from what an earlier attempt saw). A
 * non-MW_OK return aborts the commit with that status (nothing written). */
typedef mw_status (*mw_manifest_mutate_fn)(void *arg, mw_shard_manifest *m, mw_error *err);

/* Fenced read-modify-write by the writer holding `epoch` (up to 10
 * attempts): read latest, fencing check (MW_ERR_FENCED as check_fenced),
 * copy, version+1, writer_epoch = epoch, mutate(arg, copy), write; on
 * MW_ERR_ALREADY_EXISTS retry (the re-read also re-checks fencing).
 * MW_ERR_CONFLICT after 10 lost races; MW_ERR_NOT_FOUND if the shard has no
 * manifest. On MW_OK *out (may be NULL) receives the manifest written. */
mw_status mw_manifest_store_commit_update(mw_shard_manifest **out, mw_manifest_store *ms,
                                          uint64_t epoch, mw_manifest_mutate_fn mutate,
                                          void *arg, mw_error *err);

/* Tailer cursor: raises wal_entry_position_last_seen to max(old, position)
 * in a new version, keeping writer_epoch. Best effort: no manifest, a value
 * already >= position, or losing the race 4 times all return MW_OK without
 * writing; only store/corruption errors are returned. *out_written (may be
 * NULL) says whether a version was written. */
mw_status mw_manifest_store_advance_last_seen(mw_manifest_store *ms, uint64_t position,
                                              int *out_written, mw_error *err);

#endif
