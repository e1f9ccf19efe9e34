/*
 * objstore_mem.c - memory://name: a process-local object store.
 *
 * Design: one shared `mem_db` per name in a process-wide registry. Opening the
 * same name again gives another handle on the same contents; the db is
 * refcounted and its contents are FREED WHEN THE LAST HANDLE CLOSES (so tests
 * are leak-free and independent). A test that wants contents to survive a
 * close/reopen keeps one handle open meanwhile. "memory://" with an empty
 * name is a private, anonymous store (not in the registry).
 *
 * Contents: a sorted array of (key, bytes) behind one mutex. Sorted so a
 * prefix listing is a binary search plus a scan, and inserts are memmove's
 * (stores in tests hold at most thousands of objects). put_if_absent is
 * atomic because the existence check and the insert happen under the lock.
 * Data is copied in on put and copied out on get, so no caller ever holds a
 * pointer into the store. list snapshots the matching keys and sizes under
 * the lock and calls the callback without it, so a callback may use the
 * store (no deadlock) and sees the state at the start of the listing.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "objstore/objstore.h"

typedef struct mem_obj {
  char *key;
  uint8_t *data; /* NULL when len == 0 */
  size_t len;
} mem_obj;

typedef struct mem_db {
  char *name;          /* NULL for an anonymous store; immutable */
  int refs;            /* guarded by g_registry_mu */
  struct mem_db *next; /* registry link; guarded by g_registry_mu */
  pthread_mutex_t mu;  /* guards objs, n, cap */
  mem_obj *objs;       /* sorted by strcmp(key) */
  size_t n, cap;
} mem_db;

static pthread_mutex_t g_registry_mu = PTHREAD_MUTEX_INITIALIZER;
static mem_db *g_registry; /* guarded by g_registry_mu */

/* Index of key, or of where it would be inserted; *found says which. */
static size_t find(const mem_db *db, const char *key, int *found) {
  size_t lo = 0, hi = db->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(db->objs[mid].key, key);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

static uint8_t *dup_bytes(const void *data, size_t len, int *ok) {
  *ok = 1;
  if (len == 0) return NULL;
  uint8_t *p = malloc(len);
  if (!p) {
    *ok = 0;
    return NULL;
  }
  memcpy(p, data, len);
  return p;
}

/* Stores key -> data. if_absent: fail with ALREADY_EXISTS when present. */
static mw_status mem_write(mem_db *db, const char *key, const void *data, size_t len, int if_absent,
                           mw_error *err) {
  int ok;
  uint8_t *copy = dup_bytes(data, len, &ok);
  if (!ok) return mw_err(err, MW_ERR_NOMEM, "memory store: out of memory storing '%s' (%zu bytes)", key, len);
  pthread_mutex_lock(&db->mu);
  int found;
  size_t i = find(db, key, &found);
  if (found) {
    if (if_absent) {
      pthread_mutex_unlock(&db->mu);
      free(copy);
      return mw_err(err, MW_ERR_ALREADY_EXISTS, "put_if_absent '%s': object already exists", key);
    }
    free(db->objs[i].data);
    db->objs[i].data = copy;
    db->objs[i].len = len;
    pthread_mutex_unlock(&db->mu);
    return MW_OK;
  }
  char *kcopy = strdup(key);
  if (!kcopy || (db->n == db->cap && db->cap > SIZE_MAX / 2 / sizeof(mem_obj))) goto nomem;
  if (db->n == db->cap) {
    size_t cap = db->cap ? db->cap * 2 : 16;
    mem_obj *objs = realloc(db->objs, cap * sizeof *objs);
    if (!objs) goto nomem;
    db->objs = objs;
    db->cap = cap;
  }
  memmove(&db->objs[i + 1], &db->objs[i], (db->n - i) * sizeof *db->objs);
  db->objs[i] = (mem_obj){kcopy, copy, len};
  db->n++;
  pthread_mutex_unlock(&db->mu);
  return MW_OK;
nomem:
  pthread_mutex_unlock(&db->mu);
  free(kcopy);
  free(copy);
  return mw_err(err, MW_ERR_NOMEM, "memory store: out of memory storing '%s'", key);
}

static mw_status mem_put(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  return mem_write(self, key, data, len, 0, err);
}

static mw_status mem_put_if_absent(void *self, const char *key, const void *data, size_t len,
                                   mw_error *err) {
  return mem_write(self, key, data, len, 1, err);
}

static mw_status mem_get(void *self, uint8_t **out_data, size_t *out_len, const char *key,
                         uint64_t offset, uint64_t length, mw_error *err) {
  mem_db *db = self;
  pthread_mutex_lock(&db->mu);
  int found;
  size_t i = find(db, key, &found);
  if (!found) {
    pthread_mutex_unlock(&db->mu);
    return mw_err(err, MW_ERR_NOT_FOUND, "get '%s': no such object", key);
  }
  const mem_obj *o = &db->objs[i];
  size_t n = 0;
  if (offset < o->len) {
    uint64_t avail = o->len - offset;
    n = (size_t)(length < avail ? length : avail);
  }
  uint8_t *p = NULL;
  if (n) {
    p = malloc(n);
    if (!p) {
      pthread_mutex_unlock(&db->mu);
      return mw_err(err, MW_ERR_NOMEM, "get '%s': out of memory (%zu bytes)", key, n);
    }
    memcpy(p, o->data + offset, n);
  }
  pthread_mutex_unlock(&db->mu);
  *out_data = p;
  *out_len = n;
  return MW_OK;
}

static mw_status mem_head(void *self, uint64_t *out_size, const char *key, mw_error *err) {
  mem_db *db = self;
  pthread_mutex_lock(&db->mu);
  int found;
  size_t i = find(db, key, &found);
  if (found) *out_size = db->objs[i].len;
  pthread_mutex_unlock(&db->mu);
  return found ? MW_OK : mw_err(err, MW_ERR_NOT_FOUND, "head '%s': no such object", key);
}

static mw_status mem_list(void *self, const char *prefix, mw_objstore_list_fn fn, void *arg,
                          mw_error *err) {
  mem_db *db = self;
  size_t plen = strlen(prefix);
  pthread_mutex_lock(&db->mu);
  int found;
  size_t first = find(db, prefix, &found), end = first;
  while (end < db->n && strncmp(db->objs[end].key, prefix, plen) == 0) end++;
  size_t n = end - first;
  mem_obj *snap = n ? calloc(n, sizeof *snap) : NULL;
  int ok = !n || snap;
  for (size_t i = 0; ok && i < n; i++) {
    snap[i].key = strdup(db->objs[first + i].key);
    snap[i].len = db->objs[first + i].len;
    if (!snap[i].key) ok = 0;
  }
  pthread_mutex_unlock(&db->mu);
  mw_status st = MW_OK;
  if (!ok) {
    st = mw_err(err, MW_ERR_NOMEM, "list '%s': out of memory", prefix);
  } else {
    for (size_t i = 0; i < n; i++)
      if (fn(arg, snap[i].key, snap[i].len)) break;
  }
  for (size_t i = 0; snap && i < n; i++) free(snap[i].key);
  free(snap);
  return st;
}

static mw_status mem_del(void *self, const char *key, mw_error *err) {
  (void)err;
  mem_db *db = self;
  pthread_mutex_lock(&db->mu);
  int found;
  size_t i = find(db, key, &found);
  if (found) {
    free(db->objs[i].key);
    free(db->objs[i].data);
    memmove(&db->objs[i], &db->objs[i + 1], (db->n - i - 1) * sizeof *db->objs);
    db->n--;
  }
  pthread_mutex_unlock(&db->mu);
  return MW_OK;
}

static void db_free(mem_db *db) {
  for (size_t i = 0; i < db->n; i++) {
    free(db->objs[i].key);
    free(db->objs[i].data);
  }
  free(db->objs);
  pthread_mutex_destroy(&db->mu);
  free(db->name);
  free(db);
}

static void mem_destroy(void *self) {
  mem_db *db = self;
  pthread_mutex_lock(&g_registry_mu);
  int last = --db->refs == 0;
  if (last && db->name) {
    for (mem_db **pp = &g_registry; *pp; pp = &(*pp)->next)
      if (*pp == db) {
        *pp = db->next;
        break;
      }
  }
  pthread_mutex_unlock(&g_registry_mu);
  if (last) db_free(db);
}

static const mw_objstore_vtable mem_vtable = {
    .abi_version = MW_OBJSTORE_ABI_VERSION,
    .struct_size = sizeof(mw_objstore_vtable),
    .put = mem_put,
    .put_if_absent = mem_put_if_absent,
    .get = mem_get,
    .head = mem_head,
    .list = mem_list,
    .del = mem_del,
    .destroy = mem_destroy,
    /* No durability beyond the process: what a get sees is all there is. */
    .flags = MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE,
};

mw_status mw_objstore_mem_open(mw_objstore **out, const char *name, mw_error *err) {
  pthread_mutex_lock(&g_registry_mu);
  mem_db *db = NULL;
  if (name[0]) {
    for (db = g_registry; db; db = db->next)
      if (strcmp(db->name, name) == 0) break;
  }
  if (db) {
    db->refs++;
  } else {
    db = calloc(1, sizeof *db);
    if (!db || (name[0] && !(db->name = strdup(name)))) {
      pthread_mutex_unlock(&g_registry_mu);
      free(db);
      return mw_err(err, MW_ERR_NOMEM, "memory://%s: out of memory", name);
    }
    pthread_mutex_init(&db->mu, NULL);
    db->refs = 1;
    if (db->name) {
      db->next = g_registry;
      g_registry = db;
    }
  }
  pthread_mutex_unlock(&g_registry_mu);
  /* On failure mw_objstore_new calls mem_destroy, which drops our ref. */
  return mw_objstore_new(out, &mem_vtable, db, err);
}
