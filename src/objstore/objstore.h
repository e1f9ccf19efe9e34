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

struct mw_objstore {
  const mw_objstore_vtable *vt; /* borrowed for the handle's life */
  void *self;                   /* owned: vt->destroy(self) on close */
};

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
