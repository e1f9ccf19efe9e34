/*
 * objstore.c - the store handle: URI dispatch, key checking, and the
 * mw_objstore_* operations that forward to a store's vtable.
 *
 * Design: checks live here, once, so every store (built-in or a user's
 * vtable) gets only valid keys and non-NULL arguments, and every failure the
 * caller sees carries a message: if a custom store fails without filling the
 * error, a generic "<op> <key>: <status>" message is written for it.
 * Out-parameters are reset before the call so a failing store cannot leave
 * garbage behind.
 *
 * URIs: "memory://name", "file:///abs/path" (also "file://localhost/abs",
 * percent-escapes decoded), "s3://bucket/prefix" (objstore_s3.c) and plain
 * paths (relative or absolute). Any other "scheme://" is MW_ERR_UNSUPPORTED.
 */
#include "objstore/objstore.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "objstore/objstore_s3.h"

void mw_objstore_options_init(mw_objstore_options *opts) {
  if (!opts) return;
  memset(opts, 0, sizeof *opts);
  opts->struct_size = (uint32_t)sizeof *opts;
  opts->fsync = 1;
}

mw_status mw_objstore_check_key(const char *key, mw_error *err) {
  if (!key) return mw_err(err, MW_ERR_INVALID, "object key is NULL");
  if (key[0] == '\0') return mw_err(err, MW_ERR_INVALID, "object key is empty");
  if (key[0] == '/')
    return mw_err(err, MW_ERR_INVALID, "object key '%s' starts with '/' (keys are relative)", key);
  const char *seg = key;
  for (;;) {
    const char *end = strchr(seg, '/');
    size_t n = end ? (size_t)(end - seg) : strlen(seg);
    if (n == 0)
      return mw_err(err, MW_ERR_INVALID, "object key '%s' has an empty segment at byte %zu", key,
                    (size_t)(seg - key));
    if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
      return mw_err(err, MW_ERR_INVALID, "object key '%s' has a '%.*s' segment at byte %zu", key,
                    (int)n, seg, (size_t)(seg - key));
    if (!end) break;
    seg = end + 1;
  }
  return MW_OK;
}

/* ------------------------------------------------------------ handle life */

/* The V1 layout is a prefix of today's: flags starts at or after its end. */
_Static_assert(MW_OBJSTORE_VTABLE_SIZE_V1 <= offsetof(mw_objstore_vtable, flags),
               "vtable V1 layout is not a prefix");

void mw_objstore_vtable_init(mw_objstore_vtable *vt) {
  if (!vt) return;
  memset(vt, 0, sizeof *vt);
  vt->abi_version = MW_OBJSTORE_ABI_VERSION;
  vt->struct_size = (uint32_t)sizeof *vt;
}

mw_status mw_objstore_new(mw_objstore **out, const mw_objstore_vtable *vt, void *self,
                          mw_error *err) {
  mw_status st = MW_OK;
  /* The first two members are in every layout; read nothing else before
   * struct_size says it is there. */
  void (*destroy)(void *) = NULL;
  mw_objstore_vtable norm;
  memset(&norm, 0, sizeof norm);
  if (vt && vt->struct_size >= MW_OBJSTORE_VTABLE_SIZE_V1) {
    size_t n = vt->struct_size < sizeof norm ? vt->struct_size : sizeof norm;
    memcpy(&norm, vt, n); /* members past the store's struct_size stay 0 */
    destroy = norm.destroy;
  }
  if (out) *out = NULL;
  if (!out) {
    st = mw_err(err, MW_ERR_INVALID, "mw_objstore_new: out is NULL");
  } else if (!vt) {
    st = mw_err(err, MW_ERR_INVALID, "mw_objstore_new: vtable is NULL");
  } else if (vt->abi_version != MW_OBJSTORE_ABI_VERSION) {
    st = mw_err(err, MW_ERR_INVALID, "mw_objstore_new: unknown vtable abi_version %u (this library knows %u)",
                (unsigned)vt->abi_version, (unsigned)MW_OBJSTORE_ABI_VERSION);
  } else if (vt->struct_size < MW_OBJSTORE_VTABLE_SIZE_V1) {
    st = mw_err(err, MW_ERR_INVALID, "mw_objstore_new: vtable struct_size %u < %zu (the first layout)",
                (unsigned)vt->struct_size, (size_t)MW_OBJSTORE_VTABLE_SIZE_V1);
  } else if (!norm.put || !norm.put_if_absent || !norm.get || !norm.head || !norm.list || !norm.del) {
    st = mw_err(err, MW_ERR_INVALID, "mw_objstore_new: vtable has a NULL operation");
  }
  if (st == MW_OK) {
    mw_objstore *s = calloc(1, sizeof *s);
    if (!s) {
      st = mw_err(err, MW_ERR_NOMEM, "mw_objstore_new: out of memory");
    } else {
      s->vt = norm;
      s->vt.struct_size = (uint32_t)sizeof norm;
      s->orig = vt;
      s->self = self;
      *out = s;
      return MW_OK;
    }
  }
  /* self is owned from the call on: release it on every failure (a vtable
   * smaller than the first layout cannot be trusted to hold a destroy). */
  if (destroy) destroy(self);
  return st;
}

void mw_objstore_close(mw_objstore *store) {
  if (!store) return;
  if (store->vt.destroy) store->vt.destroy(store->self);
  free(store);
}

bool mw_objstore_visible_implies_durable(const mw_objstore *store) {
  if (!store) return false;
  if (store->visible_implies_durable) return store->visible_implies_durable(store->self);
  return (store->vt.flags & MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE) != 0;
}

/* Decodes %XX escapes of a file:// path into a malloc'ed string. */
static mw_status decode_uri_path(char **out, const char *uri, const char *p, mw_error *err) {
  size_t n = strlen(p);
  char *d = malloc(n + 1);
  if (!d) return mw_err(err, MW_ERR_NOMEM, "out of memory decoding '%s'", uri);
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] != '%') {
      d[j++] = p[i];
      continue;
    }
    int v = 0;
    for (int k = 1; k <= 2; k++) {
      char c = (i + (size_t)k < n) ? p[i + (size_t)k] : '\0';
      int h = (c >= '0' && c <= '9') ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (h < 0) {
        free(d);
        return mw_err(err, MW_ERR_INVALID, "URI '%s': bad percent-escape at byte %zu", uri,
                      (size_t)(p - uri) + i);
      }
      v = v * 16 + h;
    }
    if (v == 0) {
      free(d);
      return mw_err(err, MW_ERR_INVALID, "URI '%s': %%00 at byte %zu", uri, (size_t)(p - uri) + i);
    }
    d[j++] = (char)v;
    i += 2;
  }
  d[j] = '\0';
  *out = d;
  return MW_OK;
}

/* Length of a leading "scheme://" (RFC 3986 scheme chars), 0 if none. */
static size_t scheme_len(const char *uri) {
  size_t i = 0;
  if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z'))) return 0;
  while (uri[i] && uri[i] != ':') {
    char c = uri[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
          c == '-' || c == '.'))
      return 0;
    i++;
  }
  if (uri[i] == ':' && uri[i + 1] == '/' && uri[i + 2] == '/') return i;
  return 0;
}

mw_status mw_objstore_open(mw_objstore **out, const char *uri, const mw_objstore_options *opts,
                           mw_error *err) {
  if (!out) return mw_err(err, MW_ERR_INVALID, "mw_objstore_open: out is NULL");
  *out = NULL;
  if (!uri || !uri[0]) return mw_err(err, MW_ERR_INVALID, "mw_objstore_open: empty URI");
  mw_objstore_options defaults;
  mw_objstore_options_init(&defaults);
  if (opts) {
    if (opts->struct_size < offsetof(mw_objstore_options, fsync) + sizeof opts->fsync)
      return mw_err(err, MW_ERR_INVALID, "mw_objstore_open: options not initialised (struct_size %u)",
                    (unsigned)opts->struct_size);
    /* Copy what the caller's (possibly older, shorter) struct has. */
    size_t n = opts->struct_size < sizeof defaults ? opts->struct_size : sizeof defaults;
    memcpy(&defaults, opts, n);
    defaults.struct_size = (uint32_t)sizeof defaults;
  }
  size_t sl = scheme_len(uri);
  if (sl == 0) return mw_objstore_file_open(out, uri, &defaults, err);
  const char *rest = uri + sl + 3;
  if (sl == 6 && strncasecmp(uri, "memory", 6) == 0) return mw_objstore_mem_open(out, rest, err);
  if (sl == 2 && strncasecmp(uri, "s3", 2) == 0) return mw_objstore_s3_open(out, uri, rest, &defaults, err);
  if (sl == 4 && strncasecmp(uri, "file", 4) == 0) {
    if (strncasecmp(rest, "localhost/", 10) == 0) rest += 9;
    if (rest[0] != '/')
      return mw_err(err, MW_ERR_INVALID,
                    "URI '%s': a file URI needs an absolute path (file:///abs/path)", uri);
    char *path = NULL;
    MW_TRY(decode_uri_path(&path, uri, rest, err));
    mw_status st = mw_objstore_file_open(out, path, &defaults, err);
    free(path);
    return st;
  }
  return mw_err(err, MW_ERR_UNSUPPORTED,
                "URI '%s': object store scheme '%.*s' is not supported (built-in: file://, memory://, "
                "s3://, plain paths)",
                uri, (int)sl, uri);
}

/* -------------------------------------------------------------- operations */

/* Makes sure a failure carries a message even if a custom store forgot. */
static mw_status finish(mw_status st, mw_error *err, const char *op, const char *key) {
  if (st != MW_OK && err && err->code == MW_OK)
    mw_err(err, st, "%s '%s': %s", op, key ? key : "", mw_status_str(st));
  return st;
}

static mw_status check_store(mw_objstore *store, const char *op, mw_error *err) {
  if (!store) return mw_err(err, MW_ERR_INVALID, "%s: store is NULL", op);
  mw_err_clear(err);
  return MW_OK;
}

mw_status mw_objstore_put(mw_objstore *store, const char *key, const void *data, size_t len,
                          mw_error *err) {
  MW_TRY(check_store(store, "put", err));
  MW_TRY(mw_objstore_check_key(key, err));
  if (!data && len) return mw_err(err, MW_ERR_INVALID, "put '%s': data is NULL with len %zu", key, len);
  return finish(store->vt.put(store->self, key, data, len, err), err, "put", key);
}

mw_status mw_objstore_put_if_absent(mw_objstore *store, const char *key, const void *data,
                                    size_t len, mw_error *err) {
  MW_TRY(check_store(store, "put_if_absent", err));
  MW_TRY(mw_objstore_check_key(key, err));
  if (!data && len)
    return mw_err(err, MW_ERR_INVALID, "put_if_absent '%s': data is NULL with len %zu", key, len);
  return finish(store->vt.put_if_absent(store->self, key, data, len, err), err, "put_if_absent",
                key);
}

mw_status mw_objstore_put_if_absent_v(mw_objstore *store, const char *key, const mw_iov *iov, size_t n,
                                      mw_error *err) {
  MW_TRY(check_store(store, "put_if_absent", err));
  MW_TRY(mw_objstore_check_key(key, err));
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    if (!iov[i].data && iov[i].len)
      return mw_err(err, MW_ERR_INVALID, "put_if_absent '%s': piece %zu is NULL with len %zu", key, i, iov[i].len);
    if (iov[i].len > SIZE_MAX - len) return mw_err(err, MW_ERR_INVALID, "put_if_absent '%s': too large", key);
    len += iov[i].len;
  }
  if (store->put_if_absent_v)
    return finish(store->put_if_absent_v(store->self, key, iov, n, err), err, "put_if_absent", key);
  if (n == 1) return finish(store->vt.put_if_absent(store->self, key, iov[0].data, len, err), err, "put_if_absent", key);
  uint8_t *joined = malloc(len ? len : 1);
  if (!joined) return mw_err(err, MW_ERR_NOMEM, "put_if_absent '%s': out of memory", key);
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    if (iov[i].len) memcpy(joined + at, iov[i].data, iov[i].len);
    at += iov[i].len;
  }
  mw_status st = finish(store->vt.put_if_absent(store->self, key, joined, len, err), err, "put_if_absent", key);
  free(joined);
  return st;
}

/* ------------------------------------------------------ staged put_if_absent */

struct mw_staged {
  void *impl;    /* the store's handle (a store with staging) */
  uint8_t *data; /* the bytes (generic staging), owned */
  size_t len;
};

bool mw_objstore_has_staging(const mw_objstore *store) { return store && store->stage; }

mw_status mw_objstore_stage(mw_objstore *store, mw_staged **out, const char *key, void *data, size_t len,
                            mw_error *err) {
  *out = NULL;
  mw_status st = check_store(store, "stage", err);
  if (st == MW_OK) st = mw_objstore_check_key(key, err);
  if (st == MW_OK && !data && len) st = mw_err(err, MW_ERR_INVALID, "stage '%s': data is NULL with len %zu", key, len);
  mw_staged *h = st == MW_OK ? calloc(1, sizeof *h) : NULL;
  if (st == MW_OK && !h) st = mw_err(err, MW_ERR_NOMEM, "stage '%s': out of memory", key);
  if (st != MW_OK) {
    free(data);
    return st;
  }
  if (store->stage) {
    st = finish(store->stage(store->self, &h->impl, key, data, len, err), err, "stage", key);
    free(data);
    if (st != MW_OK) {
      free(h);
      return st;
    }
  } else {
    h->data = data;
    h->len = len;
  }
  *out = h;
  return MW_OK;
}

mw_status mw_objstore_publish(mw_objstore *store, mw_staged *staged, const char *key, mw_error *err) {
  MW_TRY(check_store(store, "publish", err));
  MW_TRY(mw_objstore_check_key(key, err));
  if (!staged) return mw_err(err, MW_ERR_INVALID, "publish '%s': nothing staged", key);
  if (store->stage) return finish(store->publish(store->self, staged->impl, key, err), err, "publish", key);
  return mw_objstore_put_if_absent_settled(store, key, staged->data, staged->len, err);
}

mw_status mw_objstore_sync_published(mw_objstore *store, const char *key, mw_error *err) {
  MW_TRY(check_store(store, "sync", err));
  MW_TRY(mw_objstore_check_key(key, err));
  if (!store->stage) return MW_OK;
  return finish(store->sync_published(store->self, key, err), err, "sync", key);
}

void mw_objstore_staged_free(mw_objstore *store, mw_staged *staged) {
  if (!staged) return;
  if (store && store->stage && staged->impl) store->staged_free(store->self, staged->impl);
  free(staged->data);
  free(staged);
}

mw_status mw_objstore_get(mw_objstore *store, uint8_t **out_data, size_t *out_len, const char *key,
                          uint64_t offset, uint64_t length, mw_error *err) {
  if (out_data) *out_data = NULL;
  if (out_len) *out_len = 0;
  MW_TRY(check_store(store, "get", err));
  if (!out_data || !out_len) return mw_err(err, MW_ERR_INVALID, "get: out_data/out_len is NULL");
  MW_TRY(mw_objstore_check_key(key, err));
  mw_status st = store->vt.get(store->self, out_data, out_len, key, offset, length, err);
  if (st != MW_OK) {
    free(*out_data); /* a misbehaving store must not leak or hand back junk */
    *out_data = NULL;
    *out_len = 0;
  }
  return finish(st, err, "get", key);
}

mw_status mw_objstore_sweep_temp(mw_objstore *store, const char *prefix, double min_age_s, bool dry_run,
                                 mw_objstore_temp_fn fn, void *arg, uint64_t *out_count, uint64_t *out_bytes,
                                 mw_error *err) {
  *out_count = 0;
  *out_bytes = 0;
  if (!store || !store->sweep_temp) return MW_OK;
  return store->sweep_temp(store->self, prefix ? prefix : "", min_age_s, dry_run, fn, arg, out_count, out_bytes,
                           err);
}

mw_status mw_objstore_get_slab(mw_objstore *store, struct mw_slab_pool *pool, uint8_t **out_data,
                               size_t *out_len, bool *out_from_slab, const char *key, mw_error *err) {
  *out_from_slab = false;
  if (store && store->get_slab && pool) {
    *out_data = NULL;
    *out_len = 0;
    MW_TRY(mw_objstore_check_key(key, err));
    mw_status st = store->get_slab(store->self, pool, out_data, out_len, out_from_slab, key, err);
    return finish(st, err, "get", key);
  }
  return mw_objstore_get(store, out_data, out_len, key, 0, MW_OBJSTORE_TO_END, err);
}

mw_status mw_objstore_head(mw_objstore *store, uint64_t *out_size, const char *key, mw_error *err) {
  if (out_size) *out_size = 0;
  MW_TRY(check_store(store, "head", err));
  if (!out_size) return mw_err(err, MW_ERR_INVALID, "head: out_size is NULL");
  MW_TRY(mw_objstore_check_key(key, err));
  return finish(store->vt.head(store->self, out_size, key, err), err, "head", key);
}

mw_status mw_objstore_list(mw_objstore *store, const char *prefix, mw_objstore_list_fn fn,
                           void *arg, mw_error *err) {
  MW_TRY(check_store(store, "list", err));
  if (!fn) return mw_err(err, MW_ERR_INVALID, "list: callback is NULL");
  if (!prefix) prefix = "";
  /* The complete segments of a prefix (those before its last '/') obey the
   * key rules, so a store can map them to folders without escaping its root
   * ("../x"); the trailing partial segment is free ("..x" keys are valid). */
  const char *slash = strrchr(prefix, '/');
  if (slash) {
    size_t n = (size_t)(slash - prefix);
    char *dir = malloc(n + 1);
    if (!dir) return mw_err(err, MW_ERR_NOMEM, "list: out of memory");
    memcpy(dir, prefix, n);
    dir[n] = '\0';
    mw_status st = mw_objstore_check_key(dir, err);
    free(dir);
    if (st != MW_OK) return mw_err_wrap(err, st, "list: prefix '%s'", prefix);
  }
  return finish(store->vt.list(store->self, prefix, fn, arg, err), err, "list", prefix);
}

mw_status mw_objstore_del(mw_objstore *store, const char *key, mw_error *err) {
  MW_TRY(check_store(store, "delete", err));
  MW_TRY(mw_objstore_check_key(key, err));
  return finish(store->vt.del(store->self, key, err), err, "delete", key);
}

mw_status mw_objstore_delete(mw_objstore *store, const char *key, mw_error *err) {
  return mw_objstore_del(store, key, err);
}
