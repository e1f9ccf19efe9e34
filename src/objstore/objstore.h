/*
 * objstore.h - internal view of an object store handle.
 *
 * Every store, built-in or custom, is the same thing: a vtable (borrowed,
 * usually a static) plus an opaque `self` (owned). The public mw_objstore_*
 * functions (objstore.c) check keys and arguments once, then forward to the
 * vtable, so a store implementation never sees an invalid key. The built-in
 * stores (objstore_file.c, objstore_mem.c, objstore_fault.c) construct their
 * handle with mw_objstore_new() like any user store would.
 */
#ifndef MW_OBJSTORE_OBJSTORE_H
#define MW_OBJSTORE_OBJSTORE_H

#include "memwal.h"
#include "memwal_sys.h"

#include <stdbool.h>

#include "common/buf.h"

struct mw_slab_pool;

/* Called once per temp file swept: its path relative to the store's root
 * (borrowed for the call), its size and its age in seconds. */
typedef void (*mw_objstore_temp_fn)(void *arg, const char *path, uint64_t size, double age_s);

struct mw_objstore {
  /* The store's vtable, normalized: a full-size copy of the first
   * struct_size bytes the store gave, the members it lacks (an older,
   * smaller layout) zeroed = their defaults. Immutable. */
  mw_objstore_vtable vt;
  const mw_objstore_vtable *orig; /* the pointer given to mw_objstore_new
                                     (identity only: never dereferenced) */
  void *self;                     /* owned: vt.destroy(self) on close */
  /* Internal override of MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE (NULL = use
   * vt.flags): the fault wrapper's answer depends on what is armed. */
  bool (*visible_implies_durable)(void *self);
  /* Internal: a whole-object get into a slab pool's memory (NULL = the
   * store has none: mw_objstore_get_slab falls back to get). */
  mw_status (*get_slab)(void *self, struct mw_slab_pool *pool, uint8_t **out_data, size_t *out_len,
                        bool *out_from_slab, const char *key, mw_error *err);
  /* Internal: removes temp files that interrupted writes left (NULL = the
   * store leaves none behind or cannot list them), see
   * mw_objstore_sweep_temp. */
  mw_status (*sweep_temp)(void *self, const char *prefix, double min_age_s, bool dry_run, mw_objstore_temp_fn fn,
                          void *arg, uint64_t *out_count, uint64_t *out_bytes, mw_error *err);
  /* Internal: put_if_absent of an object given as pieces, written in order
   * without joining them first (NULL = the store has none:
   * mw_objstore_put_if_absent_v joins them and calls put_if_absent). */
  mw_status (*put_if_absent_v)(void *self, const char *key, const mw_iov *iov, size_t n, mw_error *err);
  /* Internal: the staged put_if_absent of mw_objstore_stage & co. (all
   * four set, or all NULL = the generic one: stage keeps the bytes,
   * publish is put_if_absent_settled, sync does nothing). `staged` is the
   * store's own handle. stage writes data (borrowed for the call) where no
   * get sees it and makes it durable; publish gives it the name `key`
   * atomically (MW_ERR_ALREADY_EXISTS if taken; the handle stays usable);
   * sync makes every name published into key's folder durable (failure:
   * outcome unknown); staged_free discards what was not published. */
  mw_status (*stage)(void *self, void **out_staged, const char *key, const void *data, size_t len, mw_error *err);
  mw_status (*publish)(void *self, void *staged, const char *key, mw_error *err);
  mw_status (*sync_published)(void *self, const char *key, mw_error *err);
  void (*staged_free)(void *self, void *staged);
};

/* Removes the temp files under `prefix` (a key prefix, "" = everything)
 * that writes interrupted by a crash or kill left behind and that are at
 * least min_age_s old (by modification time), calling fn (optional) for
 * each; with dry_run only reports them. Counts and bytes of the files
 * (that would be) removed go to *out_count / *out_bytes. A store without
 * such files (memory://, s3://, or any store other than file://) returns
 * MW_OK with zero counts. A file that vanished meanwhile is skipped. */
mw_status mw_objstore_sweep_temp(mw_objstore *store, const char *prefix, double min_age_s, bool dry_run,
                                 mw_objstore_temp_fn fn, void *arg, uint64_t *out_count, uint64_t *out_bytes,
                                 mw_error *err);

/* The whole object at `key`, like mw_objstore_get(..., 0,
 * MW_OBJSTORE_TO_END), read into memory from `pool` when the store can
 * (the file store, for objects up to MW_SLAB_MAX) and *out_from_slab is
 * set: free the buffer with mw_slab_free; else with free(). */
mw_status mw_objstore_get_slab(mw_objstore *store, struct mw_slab_pool *pool, uint8_t **out_data,
                               size_t *out_len, bool *out_from_slab, const char *key, mw_error *err);

/* put_if_absent of the object made of the n pieces in order (same
 * contract). The file store writes the pieces straight from where they
 * are; other stores get one joined copy. */
mw_status mw_objstore_put_if_absent_v(mw_objstore *store, const char *key, const mw_iov *iov, size_t n,
                                      mw_error *err);

/* Does a get seeing an object prove it durable? (vtable flag
 * MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE, or the store's internal override.)
 * false for NULL. */
bool mw_objstore_visible_implies_durable(const mw_objstore *store);

/* "Did our ambiguous write land?" - put_if_absent with its outcome settled
 * (objstore_settle.c has the design):
 *   MW_OK                  our bytes are at `key`, durable;
 *   MW_ERR_ALREADY_EXISTS  other bytes are at `key`: ours are not there and
 *                          can never land there;
 *   MW_ERR_POISONED        unknown: our bytes are visible on a store whose
 *                          visible objects are not known durable, or a
 *                          timed-out request may still land, or the key
 *                          could not be read back;
 *   any other error        clean failure: nothing of ours is at `key` and
 *                          nothing will land there later.
 * The message says which case and carries the store's error. */
mw_status mw_objstore_put_if_absent_settled(mw_objstore *store, const char *key,
                                            const void *data, size_t len, mw_error *err);

/* STAGED put_if_absent: one put_if_absent_settled split in three steps so
 * that several objects can be written at once while they become visible in
 * a chosen order, and one folder fsync covers several of them (the WAL
 * flusher's entries in flight, wal_flusher.c):
 *   mw_objstore_stage    writes the bytes where no get or list sees them
 *                        and makes them durable (file store: an O_TMPFILE
 *                        inode linked to a hidden temp name, fsync'ed).
 *                        Takes `data` (malloc'ed) in every case. Failure is
 *                        clean: nothing is visible, nothing will be. Any
 *                        number of stages may run at once.
 *   mw_objstore_publish  gives the staged object the name `key` (any key in
 *                        the folder of the key it was staged for) with the
 *                        put_if_absent_settled outcomes: MW_OK visible (on
 *                        a store whose visible objects are durable, durable
 *                        too), MW_ERR_ALREADY_EXISTS (other bytes there;
 *                        the staged object may be published elsewhere),
 *                        MW_ERR_POISONED unknown, other errors clean.
 *   mw_objstore_sync_published  makes every object published into key's
 *                        folder durable. A failure is an unknown outcome
 *                        for each of them (MW_ERR_IO "... outcome
 *                        unknown"): never count one as written nor absent.
 *   mw_objstore_staged_free     discards a staged object not published
 *                        (and frees the handle in every case).
 * A store without its own staging (every store but file://) gets the
 * generic one: stage keeps the bytes in memory, publish is
 * put_if_absent_settled (durable when it returns), sync does nothing. */
typedef struct mw_staged mw_staged;
mw_status mw_objstore_stage(mw_objstore *store, mw_staged **out, const char *key, void *data, size_t len,
                            mw_error *err);
mw_status mw_objstore_publish(mw_objstore *store, mw_staged *staged, const char *key, mw_error *err);
mw_status mw_objstore_sync_published(mw_objstore *store, const char *key, mw_error *err);
void mw_objstore_staged_free(mw_objstore *store, mw_staged *staged);
/* Does the store stage for real (writes at stage time, needs a sync)? */
bool mw_objstore_has_staging(const mw_objstore *store);
/* Checks a key against the rules of memwal_sys.h: non-empty, no leading '/',
 * no empty, "." or ".." segment (so no trailing '/' and no "//"). A C string
 * cannot hold NUL, so that rule holds by construction. MW_ERR_INVALID with the
 * key and the reason otherwise. */
mw_status mw_objstore_check_key(const char *key, mw_error *err);

/* file:// store rooted at `root` (a filesystem path, relative or absolute,
 * created with its parents if missing; resolved to an absolute path once). */
mw_status mw_objstore_file_open(mw_objstore **out, const char *root,
                                const mw_objstore_options *opts,
                                mw_error *err);

/* memory:// store named `name` ("" = a private anonymous store). */
mw_status mw_objstore_mem_open(mw_objstore **out, const char *name,
                               mw_error *err);

#endif
