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
 * users call any store, built-in or custom.
 */
#ifndef MEMWAL_SYS_H
#define MEMWAL_SYS_H

#include "memwal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bump when the vtable layout changes incompatibly. */
#define MW_OBJSTORE_ABI_VERSION 1

/** Length value meaning "to the end of the object" for ranged gets. */
#define MW_OBJSTORE_TO_END UINT64_MAX

/** Called once per listed object, in no particular order. `key` is borrowed
 *  for the call. Return 0 to continue, non-zero to stop the listing early
 *  (the list call then still returns MW_OK). */
typedef int (*mw_objstore_list_fn)(void *arg, const char *key, uint64_t size);

typedef struct mw_objstore_vtable {
  uint32_t abi_version; /* = MW_OBJSTORE_ABI_VERSION */
  uint32_t struct_size; /* = sizeof(mw_objstore_vtable) */

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
} mw_objstore_vtable;

/** Wraps a custom store. `vtable` is borrowed for the store's life (usually
 *  a static); `self` is owned by the store from then on (destroy is called
 *  on close, also when this function fails). Rejects a NULL function pointer
 *  or an abi_version it does not know with MW_ERR_INVALID. */
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
MW_API mw_status mw_objstore_delete(mw_objstore *store, const char *key,
                                    mw_error *err);

#ifdef __cplusplus
}
#endif

#endif /* MEMWAL_SYS_H */
