/*
 * objstore_fault.c - the fault-injecting wrapper store (semantics documented
 * in objstore_fault.h).
 *
 * Design: every call first takes a decision under `mu` (count it, match it
 * against the armed fault, check the crashed flag), then acts on the inner
 * store with `mu` released. Writes are serialized by `write_mu`, held across
 * the inner call, and snapshot the key's old state before writing: when a
 * crash is observed after the inner write (the flag was set by another thread
 * meanwhile), the snapshot is put back before the call returns. A crash
 * waits on `write_mu` before returning, so by then no write is half-done and
 * the inner store holds exactly the acknowledged writes. Lock order:
 * write_mu before mu; mu is never held across inner I/O.
 *
 * Staging (header: STAGING, STALL): a stage is a copy of the bytes (no
 * inner I/O); a publish is put_if_absent_settled through the wrapper
 * itself (one counted put_if_absent); a stalled stage waits on stall_cv
 * under mu (no I/O is held up by it but its own).
 */
#include "objstore/objstore_fault.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "objstore/objstore.h"

typedef struct fault_store {
  mw_objstore *inner;        /* borrowed; immutable */
  mw_objstore *outer;        /* the wrapper's own handle (publish goes
                                through it); immutable after new */
  pthread_mutex_t write_mu;  /* serializes writes, held across inner I/O */
  pthread_mutex_t mu;        /* guards every field below */
  int armed;                 /* a fault is armed */
  mw_fault_spec spec;        /* the armed fault (spec.key_prefix = prefix) */
  char *prefix;              /* owned copy of spec.key_prefix, or NULL */
  uint64_t seen;             /* counted calls since arming */
  int crashed;
  int local_disk;            /* an fsync-after-visible kind was armed */
  /* the stall (header: STALL): stage calls left before the stalled one (0
   * = none pending), whether one is blocked, released, and fails after */
  uint64_t stall_left;
  bool stall_fail, stalled, released;
  pthread_cond_t stall_cv;   /* stalled or released changed */
  mw_fault_counters c;
} fault_store;

typedef enum action {
  ACT_PASS,     /* forward normally */
  ACT_ERROR,    /* fail without touching inner */
  ACT_WROTE,    /* forward, then fail */
  ACT_FSYNC_FILE, /* forward, then fail: the file's fsync failed */
  ACT_FSYNC_DIR,  /* forward, then fail: the folder's fsync failed */
  ACT_TIMEOUT,  /* fail with MW_ERR_TIMEOUT without touching inner */
  ACT_CRASH,    /* this call crashes the store */
  ACT_REFUSED   /* the store is crashed already */
} action;

static const char *const op_names[MW_FAULT_N_OPS] = {"put", "put_if_absent", "get", "head",
                                                      "list", "delete", "stage", "sync"};

static int write_only_kind(mw_fault_kind k) {
  return k == MW_FAULT_FSYNC_FILE_AFTER_VISIBLE || k == MW_FAULT_FSYNC_DIR_AFTER_VISIBLE ||
         k == MW_FAULT_TIMEOUT;
}

static action kind_action(mw_fault_kind k) {
  switch (k) {
    case MW_FAULT_ERROR: return ACT_ERROR;
    case MW_FAULT_WROTE_ERROR: return ACT_WROTE;
    case MW_FAULT_FSYNC_FILE_AFTER_VISIBLE: return ACT_FSYNC_FILE;
    case MW_FAULT_FSYNC_DIR_AFTER_VISIBLE: return ACT_FSYNC_DIR;
    case MW_FAULT_TIMEOUT: return ACT_TIMEOUT;
    default: return ACT_CRASH;
  }
}

static action decide(fault_store *fs, mw_fault_op op, const char *key, uint64_t *out_n) {
  action a = ACT_PASS;
  pthread_mutex_lock(&fs->mu);
  fs->c.calls[op]++;
  int write = op == MW_FAULT_OP_PUT || op == MW_FAULT_OP_PUT_IF_ABSENT || op == MW_FAULT_OP_DEL ||
              op == MW_FAULT_OP_STAGE || op == MW_FAULT_OP_SYNC;
  if (fs->crashed) {
    fs->c.injected++;
    a = ACT_REFUSED;
  } else if (fs->armed && (fs->spec.ops & MW_FAULT_MASK(op)) &&
             (write || !write_only_kind(fs->spec.kind)) &&
             (!fs->prefix || strncmp(key, fs->prefix, strlen(fs->prefix)) == 0)) {
    uint64_t n = ++fs->seen;
    *out_n = n;
    if (n >= fs->spec.nth) {
      fs->c.injected++;
      if (fs->spec.kind == MW_FAULT_CRASH) {
        fs->crashed = 1;
        fs->armed = 0;
        a = ACT_CRASH;
      } else {
        if (fs->spec.mode == MW_FAULT_ONCE) fs->armed = 0;
        a = kind_action(fs->spec.kind);
      }
    }
  }
  pthread_mutex_unlock(&fs->mu);
  return a;
}

static int is_crashed(fault_store *fs) {
  pthread_mutex_lock(&fs->mu);
  int c = fs->crashed;
  pthread_mutex_unlock(&fs->mu);
  return c;
}

/* Waits until no write is in flight (any in-flight write has rolled back). */
static void wait_writes(fault_store *fs) {
  pthread_mutex_lock(&fs->write_mu);
  pthread_mutex_unlock(&fs->write_mu);
}

static mw_status fail(mw_error *err, action a, mw_fault_op op, const char *key, uint64_t n) {
  switch (a) {
    case ACT_ERROR:
      return mw_err(err, MW_ERR_IO, "%s '%s': injected fault (counted call %llu)", op_names[op], key,
                    (unsigned long long)n);
    case ACT_WROTE:
      return mw_err(err, MW_ERR_IO, "%s '%s': injected fault after the operation (counted call %llu)",
                    op_names[op], key, (unsigned long long)n);
    case ACT_FSYNC_FILE:
    case ACT_FSYNC_DIR:
      return mw_err(err, MW_ERR_IO,
                    "%s '%s': fsync of the %s failed after the object became visible (injected "
                    "fault, counted call %llu)",
                    op_names[op], key, a == ACT_FSYNC_FILE ? "file" : "folder",
                    (unsigned long long)n);
    case ACT_TIMEOUT:
      return mw_err(err, MW_ERR_TIMEOUT, "%s '%s': injected timeout (counted call %llu)",
                    op_names[op], key, (unsigned long long)n);
    case ACT_CRASH:
      return mw_err(err, MW_ERR_IO, "%s '%s': store crashed (injected at counted call %llu)",
                    op_names[op], key, (unsigned long long)n);
    default:
      return mw_err(err, MW_ERR_IO, "%s '%s': store crashed", op_names[op], key);
  }
}

/* --------------------------------------------------------------- writes */

typedef struct snapshot {
  int ok;      /* the old state is known */
  int existed; /* key existed before */
  uint8_t *data;
  size_t len;
} snapshot;

static void take_snapshot(fault_store *fs, const char *key, snapshot *s) {
  memset(s, 0, sizeof *s);
  mw_error e = {0};
  mw_status st = mw_objstore_get(fs->inner, &s->data, &s->len, key, 0, MW_OBJSTORE_TO_END, &e);
  if (st == MW_OK) {
    s->ok = s->existed = 1;
  } else if (st == MW_ERR_NOT_FOUND) {
    s->ok = 1;
  }
}

static void restore_snapshot(fault_store *fs, const char *key, snapshot *s) {
  mw_error e = {0};
  mw_status st = MW_ERR_IO;
  if (s->ok)
    st = s->existed ? mw_objstore_put(fs->inner, key, s->data, s->len, &e)
                    : mw_objstore_del(fs->inner, key, &e);
  pthread_mutex_lock(&fs->mu);
  if (st == MW_OK)
    fs->c.rolled_back++;
  else
    fs->c.rollback_failures++;
  pthread_mutex_unlock(&fs->mu);
}

static mw_status do_write(fault_store *fs, mw_fault_op op, const char *key, const void *data,
                          size_t len, mw_error *err) {
  pthread_mutex_lock(&fs->write_mu);
  uint64_t n = 0;
  action a = decide(fs, op, key, &n);
  if (a == ACT_ERROR || a == ACT_CRASH || a == ACT_REFUSED || a == ACT_TIMEOUT) {
    pthread_mutex_unlock(&fs->write_mu);
    return fail(err, a, op, key, n);
  }
  snapshot snap;
  take_snapshot(fs, key, &snap);
  mw_status st;
  if (op == MW_FAULT_OP_PUT)
    st = mw_objstore_put(fs->inner, key, data, len, err);
  else if (op == MW_FAULT_OP_PUT_IF_ABSENT)
    st = mw_objstore_put_if_absent(fs->inner, key, data, len, err);
  else
    st = mw_objstore_del(fs->inner, key, err);
  if (is_crashed(fs)) {
    /* Crashed while in flight: the write never happened. */
    restore_snapshot(fs, key, &snap);
    pthread_mutex_lock(&fs->mu);
    fs->c.injected++;
    pthread_mutex_unlock(&fs->mu);
    st = fail(err, ACT_REFUSED, op, key, 0);
  } else if (a == ACT_WROTE || a == ACT_FSYNC_FILE || a == ACT_FSYNC_DIR) {
    st = fail(err, a, op, key, n);
  }
  pthread_mutex_unlock(&fs->write_mu);
  free(snap.data);
  return st;
}

static mw_status f_put(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  return do_write(self, MW_FAULT_OP_PUT, key, data, len, err);
}

static mw_status f_put_if_absent(void *self, const char *key, const void *data, size_t len,
                                 mw_error *err) {
  return do_write(self, MW_FAULT_OP_PUT_IF_ABSENT, key, data, len, err);
}

static mw_status f_del(void *self, const char *key, mw_error *err) {
  return do_write(self, MW_FAULT_OP_DEL, key, NULL, 0, err);
}

/* -------------------------------------------------------------- staging */

typedef struct f_staged {
  uint8_t *data;
  size_t len;
} f_staged;

static mw_status f_stage(void *self, void **out_staged, const char *key, const void *data, size_t len,
                         mw_error *err) {
  fault_store *fs = self;
  uint64_t n = 0;
  action a = decide(fs, MW_FAULT_OP_STAGE, key, &n);
  if (a == ACT_CRASH) wait_writes(fs);
  if (a != ACT_PASS) {
    if (a == ACT_CRASH || a == ACT_REFUSED || a == ACT_TIMEOUT) return fail(err, a, MW_FAULT_OP_STAGE, key, n);
    return fail(err, ACT_ERROR, MW_FAULT_OP_STAGE, key, n); /* a stage fails cleanly */
  }
  pthread_mutex_lock(&fs->mu);
  bool stall = fs->stall_left > 0 && --fs->stall_left == 0, stall_fail = false;
  if (stall) {
    fs->stalled = true;
    fs->released = false;
    pthread_cond_broadcast(&fs->stall_cv);
    while (!fs->released) pthread_cond_wait(&fs->stall_cv, &fs->mu);
    fs->stalled = false;
    stall_fail = fs->stall_fail;
    pthread_cond_broadcast(&fs->stall_cv);
  }
  pthread_mutex_unlock(&fs->mu);
  if (stall_fail) return mw_err(err, MW_ERR_IO, "stage '%s': injected stall failure", key);
  f_staged *h = calloc(1, sizeof *h);
  if (h) h->data = malloc(len ? len : 1);
  if (!h || !h->data) {
    free(h);
    return mw_err(err, MW_ERR_NOMEM, "stage '%s': out of memory", key);
  }
  if (len) memcpy(h->data, data, len);
  h->len = len;
  *out_staged = h;
  return MW_OK;
}

static mw_status f_publish(void *self, void *staged, const char *key, mw_error *err) {
  fault_store *fs = self;
  f_staged *h = staged;
  return mw_objstore_put_if_absent_settled(fs->outer, key, h->data, h->len, err);
}

static mw_status f_sync_published(void *self, const char *key, mw_error *err) {
  fault_store *fs = self;
  uint64_t n = 0;
  action a = decide(fs, MW_FAULT_OP_SYNC, key, &n);
  if (a == ACT_CRASH) wait_writes(fs);
  if (a == ACT_PASS) return MW_OK;
  if (a == ACT_CRASH || a == ACT_REFUSED) return fail(err, a, MW_FAULT_OP_SYNC, key, n);
  return mw_err(err, MW_ERR_IO,
                "sync '%s': fsync of the folder failed after the object became visible (injected fault, "
                "counted call %llu): outcome unknown",
                key, (unsigned long long)n);
}

static void f_staged_free(void *self, void *staged) {
  (void)self;
  f_staged *h = staged;
  free(h->data);
  free(h);
}

/* ---------------------------------------------------------------- reads */

/* Before a read: MW_OK to go on, else the failure to return. */
static mw_status read_begin(fault_store *fs, mw_fault_op op, const char *key, action *a,
                            uint64_t *n, mw_error *err) {
  *a = decide(fs, op, key, n);
  if (*a == ACT_CRASH) wait_writes(fs);
  if (*a == ACT_ERROR || *a == ACT_CRASH || *a == ACT_REFUSED) return fail(err, *a, op, key, *n);
  return MW_OK;
}

/* After a read: the status to return (the read's own, or a failure). */
static mw_status read_end(fault_store *fs, mw_status st, action a, mw_fault_op op, const char *key,
                          uint64_t n, mw_error *err) {
  if (is_crashed(fs)) {
    pthread_mutex_lock(&fs->mu);
    fs->c.injected++;
    pthread_mutex_unlock(&fs->mu);
    return fail(err, ACT_REFUSED, op, key, 0);
  }
  if (a == ACT_WROTE) return fail(err, a, op, key, n);
  return st;
}

static mw_status f_get(void *self, uint8_t **out_data, size_t *out_len, const char *key,
                       uint64_t offset, uint64_t length, mw_error *err) {
  fault_store *fs = self;
  action a;
  uint64_t n = 0;
  MW_TRY(read_begin(fs, MW_FAULT_OP_GET, key, &a, &n, err));
  mw_status st = mw_objstore_get(fs->inner, out_data, out_len, key, offset, length, err);
  mw_status end = read_end(fs, st, a, MW_FAULT_OP_GET, key, n, err);
  if (end != MW_OK && st == MW_OK) {
    free(*out_data);
    *out_data = NULL;
    *out_len = 0;
  }
  return end;
}

static mw_status f_head(void *self, uint64_t *out_size, const char *key, mw_error *err) {
  fault_store *fs = self;
  action a;
  uint64_t n = 0;
  MW_TRY(read_begin(fs, MW_FAULT_OP_HEAD, key, &a, &n, err));
  mw_status st = mw_objstore_head(fs->inner, out_size, key, err);
  mw_status end = read_end(fs, st, a, MW_FAULT_OP_HEAD, key, n, err);
  if (end != MW_OK) *out_size = 0;
  return end;
}

static mw_status f_list(void *self, const char *prefix, mw_objstore_list_fn fn, void *arg,
                        mw_error *err) {
  fault_store *fs = self;
  action a;
  uint64_t n = 0;
  MW_TRY(read_begin(fs, MW_FAULT_OP_LIST, prefix, &a, &n, err));
  mw_status st = mw_objstore_list(fs->inner, prefix, fn, arg, err);
  return read_end(fs, st, a, MW_FAULT_OP_LIST, prefix, n, err);
}

static void f_destroy(void *self) {
  fault_store *fs = self;
  if (!fs) return;
  pthread_mutex_destroy(&fs->mu);
  pthread_mutex_destroy(&fs->write_mu);
  pthread_cond_destroy(&fs->stall_cv);
  free(fs->prefix);
  free(fs);
}

/* The inner store's answer, unless an fsync-after-visible kind made this
 * wrapper a local disk (see the header). */
static bool f_visible_implies_durable(void *self) {
  fault_store *fs = self;
  pthread_mutex_lock(&fs->mu);
  int local = fs->local_disk;
  pthread_mutex_unlock(&fs->mu);
  return !local && mw_objstore_visible_implies_durable(fs->inner);
}

static const mw_objstore_vtable fault_vtable = {
    .abi_version = MW_OBJSTORE_ABI_VERSION,
    .struct_size = sizeof(mw_objstore_vtable),
    .put = f_put,
    .put_if_absent = f_put_if_absent,
    .get = f_get,
    .head = f_head,
    .list = f_list,
    .del = f_del,
    .destroy = f_destroy,
};

/* -------------------------------------------------------------- control */

mw_status mw_objstore_fault_new(mw_objstore **out, mw_objstore *inner, mw_error *err) {
  if (out) *out = NULL;
  if (!out || !inner) return mw_err(err, MW_ERR_INVALID, "mw_objstore_fault_new: out or inner is NULL");
  fault_store *fs = calloc(1, sizeof *fs);
  if (!fs) return mw_err(err, MW_ERR_NOMEM, "mw_objstore_fault_new: out of memory");
  fs->inner = inner;
  pthread_mutex_init(&fs->mu, NULL);
  pthread_mutex_init(&fs->write_mu, NULL);
  pthread_cond_init(&fs->stall_cv, NULL);
  MW_TRY(mw_objstore_new(out, &fault_vtable, fs, err));
  fs->outer = *out;
  (*out)->visible_implies_durable = f_visible_implies_durable;
  (*out)->stage = f_stage;
  (*out)->publish = f_publish;
  (*out)->sync_published = f_sync_published;
  (*out)->staged_free = f_staged_free;
  return MW_OK;
}

bool mw_objstore_is_fault(const mw_objstore *store) {
  return store && store->orig == &fault_vtable;
}

static fault_store *get_fs(mw_objstore *store) {
  return mw_objstore_is_fault(store) ? store->self : NULL;
}

mw_status mw_objstore_fault_arm(mw_objstore *store, const mw_fault_spec *spec, mw_error *err) {
  fault_store *fs = get_fs(store);
  if (!fs) return mw_err(err, MW_ERR_INVALID, "fault_arm: not a fault-injecting store");
  if (!spec) return mw_err(err, MW_ERR_INVALID, "fault_arm: spec is NULL");
  unsigned ops = spec->ops ? spec->ops : MW_FAULT_ALL;
  unsigned known = MW_FAULT_ALL | MW_FAULT_STAGE | MW_FAULT_SYNC;
  if (ops & ~known) return mw_err(err, MW_ERR_INVALID, "fault_arm: unknown op bits 0x%x", ops & ~known);
  if (spec->nth == 0) return mw_err(err, MW_ERR_INVALID, "fault_arm: nth must be >= 1");
  if ((int)spec->kind < (int)MW_FAULT_ERROR || (int)spec->kind > (int)MW_FAULT_TIMEOUT)
    return mw_err(err, MW_ERR_INVALID, "fault_arm: unknown kind %d", (int)spec->kind);
  if (spec->mode != MW_FAULT_ONCE && spec->mode != MW_FAULT_PERSISTENT)
    return mw_err(err, MW_ERR_INVALID, "fault_arm: unknown mode %d", (int)spec->mode);
  char *prefix = NULL;
  if (spec->key_prefix && spec->key_prefix[0] && !(prefix = strdup(spec->key_prefix)))
    return mw_err(err, MW_ERR_NOMEM, "fault_arm: out of memory");
  pthread_mutex_lock(&fs->mu);
  free(fs->prefix);
  fs->prefix = prefix;
  fs->spec = *spec;
  fs->spec.ops = ops;
  fs->spec.key_prefix = prefix;
  fs->seen = 0;
  fs->armed = 1;
  if (spec->kind == MW_FAULT_FSYNC_FILE_AFTER_VISIBLE || spec->kind == MW_FAULT_FSYNC_DIR_AFTER_VISIBLE)
    fs->local_disk = 1;
  pthread_mutex_unlock(&fs->mu);
  return MW_OK;
}

void mw_objstore_fault_stall_stage(mw_objstore *store, uint64_t nth, bool fail) {
  fault_store *fs = get_fs(store);
  if (!fs) return;
  pthread_mutex_lock(&fs->mu);
  fs->stall_left = nth;
  fs->stall_fail = fail;
  pthread_mutex_unlock(&fs->mu);
}

bool mw_objstore_fault_stalled(mw_objstore *store) {
  fault_store *fs = get_fs(store);
  if (!fs) return false;
  pthread_mutex_lock(&fs->mu);
  bool st = fs->stalled;
  pthread_mutex_unlock(&fs->mu);
  return st;
}

void mw_objstore_fault_release(mw_objstore *store) {
  fault_store *fs = get_fs(store);
  if (!fs) return;
  pthread_mutex_lock(&fs->mu);
  fs->released = true;
  fs->stall_left = 0;
  pthread_cond_broadcast(&fs->stall_cv);
  pthread_mutex_unlock(&fs->mu);
}

void mw_objstore_fault_reset(mw_objstore *store) {
  fault_store *fs = get_fs(store);
  if (!fs) return;
  mw_objstore_fault_release(store);
  pthread_mutex_lock(&fs->mu);
  fs->armed = 0;
  fs->crashed = 0;
  fs->seen = 0;
  fs->local_disk = 0;
  pthread_mutex_unlock(&fs->mu);
}

void mw_objstore_fault_crash(mw_objstore *store) {
  fault_store *fs = get_fs(store);
  if (!fs) return;
  pthread_mutex_lock(&fs->mu);
  fs->crashed = 1;
  fs->armed = 0;
  pthread_mutex_unlock(&fs->mu);
  mw_objstore_fault_release(store);
  wait_writes(fs);
}

bool mw_objstore_fault_crashed(mw_objstore *store) {
  fault_store *fs = get_fs(store);
  return fs ? is_crashed(fs) != 0 : false;
}

void mw_objstore_fault_counters(mw_objstore *store, mw_fault_counters *out) {
  fault_store *fs = get_fs(store);
  memset(out, 0, sizeof *out);
  if (!fs) return;
  pthread_mutex_lock(&fs->mu);
  *out = fs->c;
  pthread_mutex_unlock(&fs->mu);
}

uint64_t mw_objstore_fault_calls(mw_objstore *store, unsigned ops) {
  mw_fault_counters c;
  mw_objstore_fault_counters(store, &c);
  if (!ops) ops = MW_FAULT_ALL;
  uint64_t sum = 0;
  for (int i = 0; i < MW_FAULT_N_OPS; i++)
    if (ops & MW_FAULT_MASK(i)) sum += c.calls[i];
  return sum;
}

void mw_objstore_fault_reset_counters(mw_objstore *store) {
  fault_store *fs = get_fs(store);
  if (!fs) return;
  pthread_mutex_lock(&fs->mu);
  memset(&fs->c, 0, sizeof fs->c);
  pthread_mutex_unlock(&fs->mu);
}
