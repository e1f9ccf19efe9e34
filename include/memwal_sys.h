/*
 * memwal_sys.h - extension points of libmemwal: bring your own object store.
 *
 * A store is a versioned vtable plus an opaque `self` pointer. Every function
 * of the vtable must be safe to call from several threads at once (a writer
 * runs its WAL flusher and MemTable flusher on their own threads).
 *
 * Keys are relative, '/'-separated, without a leading '/', and never contain
 * "." or ".." segments (the library checks this before calling the vtable).
 *
 * The same functions (mw_objstore_put, ...) are how the library and its
 * users call any store, built-in or custom. Names: vtable member X is called
 * through mw_objstore_X (put, put_if_absent, get, head, list, del);
 * mw_objstore_delete is kept as an alias of mw_objstore_del.
 *
 * VERSIONING (the vtable grows compatibly, libgit2 style):
 *   - abi_version changes only on an incompatible change (a member removed,
 *     retyped or reordered); a store with an unknown abi_version is refused.
 *   - struct_size is sizeof(mw_objstore_vtable) as the STORE was compiled.
 *     New members are only ever appended; the library reads exactly the
 *     members that lie within struct_size and treats every missing trailing
 *     member as 0 / NULL (its documented default). So a store compiled
 *     against an older, smaller vtable keeps working unchanged.
 *   - Fill a vtable with mw_objstore_vtable_init() (sets abi_version and
 *     struct_size, zeroes the rest) and then set your functions and flags;
 *     a static initializer must set both fields itself.
 *   Sizes: MW_OBJSTORE_VTABLE_SIZE_V1 is the first layout (put .. destroy);
 *   `flags` was appended after it.
 *
 * CONTRACT OF EVERY OPERATION (what the library relies on):
 *   - MW_OK: the operation happened (writes: and is durable).
 *   - An error other than MW_ERR_TIMEOUT: the call has NO FURTHER EFFECT
 *     after it returns. A write that failed may or may not have happened
 *     (e.g. the object was written, then its fsync failed), but whatever it
 *     did is done: reading the key now tells what stays visible.
 *   - MW_ERR_TIMEOUT: the outcome is unknown AND the request may still take
 *     effect later (an S3 PUT whose response did not come before the
 *     deadline may still be applied by the server afterwards).
 *   - MW_ERR_ALREADY_EXISTS (put_if_absent only): the key existed and this
 *     call changed nothing.
 *   - MW_ERR_NOT_FOUND (get/head): the key does not exist.
 *   - Fill `err` with a message naming the operation and the key (the
 *     library writes a generic one if a store leaves it empty).
 * How the library settles an ambiguous write (put_if_absent of a WAL entry
 * or a shard manifest version that failed): it reads the key back. Our
 * bytes there count as success only if the store declares
 * MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE; otherwise the writer is poisoned
 * (MW_ERR_POISONED, reopen), because a visible object may still be lost by a
 * crash. Absent after MW_ERR_TIMEOUT: the same bytes are retried at the same
 * key (never at another position) a few times, then MW_ERR_POISONED.
 */
#ifndef MEMWAL_SYS_H
#define MEMWAL_SYS_H

#include "memwal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bump when the vtable layout changes incompatibly (never for appended
 *  members: struct_size tells those apart). */
#define MW_OBJSTORE_ABI_VERSION 1

/** struct_size of the first vtable layout (abi_version .. destroy, no
 *  flags): the smallest struct_size accepted. */
#define MW_OBJSTORE_VTABLE_SIZE_V1 (2 * sizeof(uint32_t) + 7 * sizeof(void (*)(void)))

/** flags: an object that a get can see is durable (it survives a crash of
 *  the process, the machine and the store). True for S3 and for memory://
 *  (which has no other durability to offer); FALSE for local disks, where a
 *  file is visible in the page cache before its fsync (file://). Only a
 *  store with this flag lets the library settle an ambiguous write as
 *  success by reading it back. Default (flag absent): not set. */
#define MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE ((uint64_t)1 << 0)

/** Length value meaning "to the end of the object" for ranged gets. */
#define MW_OBJSTORE_TO_END UINT64_MAX

/** Called once per listed object, in no particular order. `key` is borrowed
 *  for the call. Return 0 to continue, non-zero to stop the listing early
 *  (the list call then still returns MW_OK). */
typedef int (*mw_objstore_list_fn)(void *arg, const char *key, uint64_t size);

typedef struct mw_objstore_vtable {
  uint32_t abi_version; /* = MW_OBJSTORE_ABI_VERSION */
  uint32_t struct_size; /* = sizeof(mw_objstore_vtable) as compiled; lets the
                           vtable grow (see VERSIONING above) */

  /** Creates or replaces `key` with len bytes. Durable when it returns MW_OK.
   *  Readers must never see a partial object. */
  mw_status (*put)(void *self, const char *key, const void *data, size_t len,
                   mw_error *err);

  /** Atomically creates `key` unless it exists: MW_ERR_ALREADY_EXISTS (and
   *  no change) if it does. Durable when it returns MW_OK. */
  mw_status (*put_if_absent)(void *self, const char *key, const void *data,
                             size_t len, mw_error *err);

  /** Reads `length` bytes at `offset` (MW_OBJSTORE_TO_END = all the rest;
   *  a range past the end is clipped). *out_data is allocated with malloc()
   *  (the library frees it with free()); it may be NULL when *out_len is 0.
   *  MW_ERR_NOT_FOUND if the object does not exist. */
  mw_status (*get)(void *self, uint8_t **out_data, size_t *out_len,
                   const char *key, uint64_t offset, uint64_t length,
                   mw_error *err);

  /** Size of `key`; MW_ERR_NOT_FOUND if it does not exist. */
  mw_status (*head)(void *self, uint64_t *out_size, const char *key,
                    mw_error *err);

  /** Lists every object whose key starts with `prefix` ("" = all), calling
   *  fn for each with its full key. */
  mw_status (*list)(void *self, const char *prefix, mw_objstore_list_fn fn,
                    void *arg, mw_error *err);

  /** Deletes `key`. Deleting a missing key is MW_OK. */
  mw_status (*del)(void *self, const char *key, mw_error *err);

  /** Frees `self`. Called once by mw_objstore_close(). May be NULL. */
  void (*destroy)(void *self);

  /* ---- end of layout V1 (MW_OBJSTORE_VTABLE_SIZE_V1) ---- */

  /** MW_OBJSTORE_* flags (default 0: none). */
  uint64_t flags;
} mw_objstore_vtable;

/** Zeroes *vtable and sets abi_version and struct_size for this header. */
MW_API void mw_objstore_vtable_init(mw_objstore_vtable *vtable);

/** Wraps a custom store. `vtable` is copied (only its first struct_size
 *  bytes are read; the members past them take their defaults), so it need
 *  not outlive the call; `self` is owned by the store from then on (destroy
 *  is called on close, also when this function fails). Rejects a NULL
 *  function pointer, an abi_version it does not know or a struct_size
 *  below MW_OBJSTORE_VTABLE_SIZE_V1 with MW_ERR_INVALID. */
MW_API mw_status mw_objstore_new(mw_objstore **out,
                                 const mw_objstore_vtable *vtable, void *self,
                                 mw_error *err);

/* Operations on any store; same contracts as the vtable entries above. Keys
 * are checked first (non-empty, relative, no empty/"."/".." segments). */
MW_API mw_status mw_objstore_put(mw_objstore *store, const char *key,
                                 const void *data, size_t len, mw_error *err);
MW_API mw_status mw_objstore_put_if_absent(mw_objstore *store, const char *key,
                                           const void *data, size_t len,
                                           mw_error *err);
/** *out_data: free with mw_free(). */
MW_API mw_status mw_objstore_get(mw_objstore *store, uint8_t **out_data,
                                 size_t *out_len, const char *key,
                                 uint64_t offset, uint64_t length,
                                 mw_error *err);
MW_API mw_status mw_objstore_head(mw_objstore *store, uint64_t *out_size,
                                  const char *key, mw_error *err);
MW_API mw_status mw_objstore_list(mw_objstore *store, const char *prefix,
                                  mw_objstore_list_fn fn, void *arg,
                                  mw_error *err);
MW_API mw_status mw_objstore_del(mw_objstore *store, const char *key,
                                 mw_error *err);
/** Alias of mw_objstore_del (the name of earlier releases). */
MW_API mw_status mw_objstore_delete(mw_objstore *store, const char *key,
                                    mw_error *err);

#ifdef __cplusplus
}
#endif

#endif /* MEMWAL_SYS_H */
