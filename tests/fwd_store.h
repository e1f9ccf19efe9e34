/* fwd_store.h - a custom object store written against the public API only
 * (memwal_sys.h), forwarding every call to an inner store, for the tests of
 * the vtable's versioning and of how the library settles ambiguous writes
 * on stores that declare (or do not declare) "visible implies durable".
 *
 * fwd_store_new(inner, FWD_LAYOUT_V1, 0) registers a vtable of the FIRST
 * layout (the struct a store compiled against the header before `flags`
 * was appended would have: struct_size = sizeof that struct, 64 bytes on
 * LP64): the library must read nothing past it (ASan would report a global
 * buffer overflow) and treat the store as declaring nothing.
 * FWD_LAYOUT_CURRENT uses today's mw_objstore_vtable with the given flags,
 * from a stack variable (the library copies the vtable). `inner` is
 * borrowed and must outlive the store. */
#ifndef MW_FWD_STORE_H
#define MW_FWD_STORE_H

#include <stdlib.h>
#include <string.h>

#include "memwal.h"
#include "memwal_sys.h"

enum { FWD_LAYOUT_V1 = 1, FWD_LAYOUT_CURRENT = 2 };

static mw_status fwd_put(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  return mw_objstore_put((mw_objstore *)self, key, data, len, err);
}
static mw_status fwd_pia(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  return mw_objstore_put_if_absent((mw_objstore *)self, key, data, len, err);
}
static mw_status fwd_get(void *self, uint8_t **o, size_t *on, const char *key, uint64_t off,
                         uint64_t len, mw_error *err) {
  return mw_objstore_get((mw_objstore *)self, o, on, key, off, len, err);
}
static mw_status fwd_head(void *self, uint64_t *o, const char *key, mw_error *err) {
  return mw_objstore_head((mw_objstore *)self, o, key, err);
}
static mw_status fwd_list(void *self, const char *p, mw_objstore_list_fn fn, void *arg,
                          mw_error *err) {
  return mw_objstore_list((mw_objstore *)self, p, fn, arg, err);
}
static mw_status fwd_del(void *self, const char *key, mw_error *err) {
  return mw_objstore_del((mw_objstore *)self, key, err);
}

/* The vtable exactly as the first layout declared it. */
typedef struct fwd_vtable_v1 {
  uint32_t abi_version;
  uint32_t struct_size;
  mw_status (*put)(void *, const char *, const void *, size_t, mw_error *);
  mw_status (*put_if_absent)(void *, const char *, const void *, size_t, mw_error *);
  mw_status (*get)(void *, uint8_t **, size_t *, const char *, uint64_t, uint64_t, mw_error *);
  mw_status (*head)(void *, uint64_t *, const char *, mw_error *);
  mw_status (*list)(void *, const char *, mw_objstore_list_fn, void *, mw_error *);
  mw_status (*del)(void *, const char *, mw_error *);
  void (*destroy)(void *);
} fwd_vtable_v1;

static const fwd_vtable_v1 fwd_v1 = {MW_OBJSTORE_ABI_VERSION, sizeof(fwd_vtable_v1), fwd_put,
                                     fwd_pia, fwd_get, fwd_head, fwd_list, fwd_del, NULL};

static inline mw_objstore *fwd_store_new(mw_objstore *inner, int layout, uint64_t flags) {
  mw_objstore *s = NULL;
  mw_status st;
  if (layout == FWD_LAYOUT_V1) {
    st = mw_objstore_new(&s, (const mw_objstore_vtable *)(const void *)&fwd_v1, inner, NULL);
  } else {
    mw_objstore_vtable vt;
    mw_objstore_vtable_init(&vt);
    vt.put = fwd_put;
    vt.put_if_absent = fwd_pia;
    vt.get = fwd_get;
    vt.head = fwd_head;
    vt.list = fwd_list;
    vt.del = fwd_del;
    vt.flags = flags;
    st = mw_objstore_new(&s, &vt, inner, NULL);
    memset(&vt, 0xA5, sizeof vt); /* copied: scribbling on it changes nothing */
  }
  if (st != MW_OK) abort();
  return s;
}

#endif
