/*
 * wal_tailer.c - reading WAL entries (MEMWAL.md section 5, "WalTailer").
 *
 * Design: an entry is fetched whole and decoded by the IPC decoder (which
 * treats the bytes as hostile); its schema metadata must carry a decimal
 * writer_epoch, which is removed from the schema handed to the caller.
 * Entries with zero rows (Lance 12 fence entries, fence_sentinel = "true")
 * are returned like any other: callers skip them as data. Positions are
 * found by head probes (dense sequence) or, for the first position, by a
 * listing, so 0-based and 1-based shards read alike.
 *
 * Also here: small WAL helpers shared with the appender (listing bounds,
 * zero-row batches for fence entries).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "arrow/ipc.h"
#include "common/error.h"
#include "common/slab.h"
#include "common/uuid.h"
#include "manifest/manifest_store.h"
#include "memwal_sys.h"
#include "objstore/objstore.h"
#include "wal/wal_internal.h"
#include "wal/wal_names.h"

#define MW_TAILER_PROBE_STEPS 4096

struct mw_wal_tailer {
  mw_objstore *store;    /* borrowed */
  mw_manifest_store *ms; /* owned */
  char shard[MW_UUID_STR_LEN + 1];
};

/* ------------------------------------------------------------ list bounds */

typedef struct list_bounds {
  bool any;
  uint64_t min, max;
  size_t prefix_len;
} list_bounds;

static int list_bounds_cb(void *arg, const char *key, uint64_t size) {
  (void)size;
  list_bounds *lb = arg;
  const char *name = key + lb->prefix_len;
  if (strchr(name, '/')) return 0;
  size_t n = strlen(name);
  if (n < 6 || strcmp(name + n - 6, ".arrow") != 0) return 0;
  uint64_t p;
  if (!mw_bitrev64_parse(&p, name)) return 0;
  if (!lb->any || p > lb->max) lb->max = p;
  if (!lb->any || p < lb->min) lb->min = p;
  lb->any = true;
  return 0;
}

mw_status mw_wal_list_bounds(bool *out_any, uint64_t *out_min, uint64_t *out_max,
                             mw_objstore *store, const char *shard, mw_error *err) {
  char prefix[MW_KEY_SIZE];
  mw_wal_dir_prefix(prefix, shard);
  list_bounds lb = {.prefix_len = strlen(prefix)};
  MW_TRY(mw_objstore_list(store, prefix, list_bounds_cb, &lb, err));
  *out_any = lb.any;
  *out_min = lb.min;
  *out_max = lb.max;
  return MW_OK;
}

/* ------------------------------------------------------- empty batches */

static const uint64_t zeros[4];

typedef struct empty_node {
  const void *buffers[3];
  struct ArrowArray *children_ptrs[]; /* n_children pointers */
} empty_node;

static void empty_release(struct ArrowArray *a) {
  if (!a || !a->release) return;
  for (int64_t i = 0; i < a->n_children; i++) {
    struct ArrowArray *c = a->children[i];
    if (c->release) c->release(c);
    free(c);
  }
  free(a->private_data);
  a->release = NULL;
}

static mw_status empty_init(struct ArrowArray *out, const struct ArrowSchema *schema, int depth,
                            mw_error *err) {
  memset(out, 0, sizeof *out);
  if (depth > 64) return mw_err(err, MW_ERR_INVALID, "schema nested too deeply");
  mw_type t;
  MW_TRY(mw_type_from_format(&t, schema->format, err));
  int64_t nc = schema->n_children;
  empty_node *node = calloc(1, sizeof *node + (size_t)nc * sizeof(struct ArrowArray *));
  if (!node) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  int nb = mw_type_n_buffers(&t);
  for (int i = 0; i < nb && i < 3; i++) node->buffers[i] = zeros;
  node->buffers[0] = NULL; /* validity: none needed for zero rows */
  out->n_buffers = nb;
  out->buffers = nb ? node->buffers : NULL;
  out->children = nc ? node->children_ptrs : NULL;
  out->private_data = node;
  out->release = empty_release;
  for (int64_t i = 0; i < nc; i++) {
    struct ArrowArray *c = calloc(1, sizeof *c);
    if (!c) {
      empty_release(out);
      return mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
    node->children_ptrs[i] = c;
    out->n_children = i + 1;
    mw_status s = empty_init(c, schema->children[i], depth + 1, err);
    if (s != MW_OK) {
      empty_release(out);
      return s;
    }
  }
  return MW_OK;
}

mw_status mw_wal_empty_batch(struct ArrowArray *out, const struct ArrowSchema *schema,
                             mw_error *err) {
  return empty_init(out, schema, 0, err);
}

/* ---------------------------------------------------------------- tailer */

mw_status mw_wal_tailer_open(mw_wal_tailer **out, mw_objstore *store, const char *shard_id,
                             mw_error *err) {
  *out = NULL;
  if (!store || !shard_id) return mw_err(err, MW_ERR_INVALID, "wal tailer: store and shard id are required");
  uint8_t uuid[16];
  MW_TRY(mw_uuid_parse(uuid, shard_id, err));
  mw_wal_tailer *t = calloc(1, sizeof *t);
  if (!t) return mw_err(err, MW_ERR_NOMEM, "out of memory allocating a WAL tailer");
  mw_status s = mw_manifest_store_open(&t->ms, store, uuid, 0, err);
  if (s != MW_OK) {
    free(t);
    return s;
  }
  t->store = store;
  mw_uuid_format(t->shard, uuid);
  *out = t;
  return MW_OK;
}

void mw_wal_tailer_close(mw_wal_tailer *t) {
  if (!t) return;
  mw_manifest_store_close(t->ms);
  free(t);
}

void mw_wal_entry_release(mw_wal_entry *e) {
  if (!e) return;
  for (size_t i = 0; i < e->n_batches; i++) mw_array_release(&e->batches[i]);
  free(e->batches);
  mw_schema_release(&e->schema);
  memset(e, 0, sizeof *e);
}

static mw_status finish_entry(mw_wal_entry *out, const char *key, mw_error *err);

mw_status mw_wal_decode_entry(mw_wal_entry *out, const uint8_t *data, size_t len, uint64_t position,
                              const char *key, mw_error *err) {
  memset(out, 0, sizeof *out);
  out->position = position;
  mw_status s = mw_ipc_decode(&out->schema, &out->batches, &out->n_batches, data, len, err);
  if (s != MW_OK) return mw_err_wrap(err, s, "wal entry %s", key);
  return finish_entry(out, key, err);
}

/* As mw_wal_decode_entry, taking ownership of `data` (no copy of the
 * body), which data_free frees. */
static mw_status decode_entry_take(mw_wal_entry *out, uint8_t *data, size_t len, void (*data_free)(void *),
                                   uint64_t position, const char *key, mw_error *err) {
  memset(out, 0, sizeof *out);
  out->position = position;
  mw_status s = mw_ipc_decode_take_with(&out->schema, &out->batches, &out->n_batches, data, len, data_free, err);
  if (s != MW_OK) return mw_err_wrap(err, s, "wal entry %s", key);
  return finish_entry(out, key, err);
}

/* Checks and strips writer_epoch, reads the fence flag, counts rows. */
static mw_status finish_entry(mw_wal_entry *out, const char *key, mw_error *err) {
  mw_status s;
  mw_kv kv;
  if (!mw_metadata_find(out->schema.metadata, "writer_epoch", &kv)) {
    mw_wal_entry_release(out);
    return mw_err(err, MW_ERR_CORRUPT, "wal entry %s: schema metadata has no writer_epoch", key);
  }
  /* a second writer_epoch would make the entry's epoch ambiguous (and
   * survive the strip below): refused, like a malformed one */
  int32_t n_epochs = 0, n_meta = mw_metadata_count(out->schema.metadata);
  for (int32_t i = 0; i < n_meta; i++) {
    mw_kv x = mw_metadata_at(out->schema.metadata, i);
    if (x.key_len == 12 && memcmp(x.key, "writer_epoch", 12) == 0) n_epochs++;
  }
  if (n_epochs > 1) {
    mw_wal_entry_release(out);
    return mw_err(err, MW_ERR_CORRUPT, "wal entry %s: schema metadata has writer_epoch %d times", key,
                  (int)n_epochs);
  }
  uint64_t epoch = 0;
  bool okn = kv.value_len > 0 && kv.value_len <= 20;
  for (int32_t i = 0; okn && i < kv.value_len; i++) {
    char c = kv.value[i];
    if (c < '0' || c > '9') { okn = false; break; }
    uint64_t d = (uint64_t)(c - '0');
    if (epoch > (UINT64_MAX - d) / 10) { okn = false; break; }
    epoch = epoch * 10 + d;
  }
  if (!okn) {
    mw_wal_entry_release(out);
    return mw_err(err, MW_ERR_CORRUPT, "wal entry %s: malformed writer_epoch '%.*s'", key,
                  kv.value_len > 40 ? 40 : (int)kv.value_len, kv.value);
  }
  out->writer_epoch = epoch;
  out->is_fence = mw_metadata_find(out->schema.metadata, "fence_sentinel", &kv) &&
                  kv.value_len == 4 && memcmp(kv.value, "true", 4) == 0;
  bool ok = true;
  char *stripped = mw_metadata_with(out->schema.metadata, "writer_epoch", NULL, &ok);
  if (!ok) {
    mw_wal_entry_release(out);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  /* Swap the metadata of the owned schema: rebuild it. */
  struct ArrowSchema copy;
  s = mw_schema_copy_with_metadata(&copy, &out->schema, stripped, err);
  free(stripped);
  if (s != MW_OK) {
    mw_wal_entry_release(out);
    return s;
  }
  mw_schema_release(&out->schema);
  out->schema = copy;
  for (size_t i = 0; i < out->n_batches; i++) out->rows += (uint64_t)out->batches[i].length;
  return MW_OK;
}

mw_status mw_wal_tailer_read_entry_pooled(mw_wal_entry *out, mw_wal_tailer *t, uint64_t position,
                                          struct mw_slab_pool *pool, mw_error *err) {
  memset(out, 0, sizeof *out);
  char key[MW_KEY_SIZE];
  mw_wal_entry_key(key, t->shard, position);
  uint8_t *data = NULL;
  size_t len = 0;
  bool from_slab = false;
  mw_status s = mw_objstore_get_slab(t->store, pool, &data, &len, &from_slab, key, err);
  if (s == MW_ERR_NOT_FOUND)
    return mw_err(err, MW_ERR_NOT_FOUND, "no wal entry at position %" PRIu64 " (shard %s)", position,
                  t->shard);
  if (s != MW_OK) return s;
  return decode_entry_take(out, data, len, from_slab ? mw_slab_free : free, position, key, err);
}

mw_status mw_wal_tailer_read_entry(mw_wal_entry *out, mw_wal_tailer *t, uint64_t position,
                                   mw_error *err) {
  return mw_wal_tailer_read_entry_pooled(out, t, position, NULL, err);
}

mw_status mw_wal_tailer_first_position(uint64_t *out, mw_wal_tailer *t, mw_error *err) {
  bool any = false;
  uint64_t mn = 0, mx = 0;
  MW_TRY(mw_wal_list_bounds(&any, &mn, &mx, t->store, t->shard, err));
  if (!any) return mw_err(err, MW_ERR_NOT_FOUND, "wal of shard %s is empty", t->shard);
  *out = mn;
  return MW_OK;
}

static int exists(mw_wal_tailer *t, uint64_t pos, mw_error *err) {
  char key[MW_KEY_SIZE];
  mw_wal_entry_key(key, t->shard, pos);
  uint64_t size;
  mw_error e = {0};
  mw_status s = mw_objstore_head(t->store, &size, key, &e);
  if (s == MW_OK) return 1;
  if (s == MW_ERR_NOT_FOUND) return 0;
  if (err) *err = e;
  return -1;
}

mw_status mw_wal_tailer_next_position(uint64_t *out, mw_wal_tailer *t, mw_error *err) {
  mw_shard_manifest *m = NULL;
  MW_TRY(mw_manifest_store_read_latest(&m, t->ms, err));
  uint64_t start = 0;
  if (m) {
    start = m->wal_entry_position_last_seen > m->replay_after_wal_entry_position
                ? m->wal_entry_position_last_seen
                : m->replay_after_wal_entry_position;
    mw_shard_manifest_free(m);
  }
  int ex = exists(t, start, err);
  if (ex < 0) return err ? err->code : MW_ERR_IO;
  if (ex == 0 && start <= 1) {
    /* Fresh or 1-based shard: the first entry may be at 0 or at 1. */
    int e1 = exists(t, 1, err);
    if (e1 < 0) return err ? err->code : MW_ERR_IO;
    if (e1 == 1) { start = 1; ex = 1; }
  }
  if (ex == 1) {
    uint64_t p = start + 1;
    for (int i = 0; i < MW_TAILER_PROBE_STEPS; i++, p++) {
      int e = exists(t, p, err);
      if (e < 0) return err ? err->code : MW_ERR_IO;
      if (e == 0) { *out = p; return MW_OK; }
    }
  }
  /* The hint is not on a present entry (or the run is long): list. */
  bool any = false;
  uint64_t mn = 0, mx = 0;
  MW_TRY(mw_wal_list_bounds(&any, &mn, &mx, t->store, t->shard, err));
  *out = any ? mx + 1 : 0;
  return MW_OK;
}

mw_status mw_wal_tailer_update_cursor(mw_wal_tailer *t, uint64_t position, mw_error *err) {
  return mw_manifest_store_advance_last_seen(t->ms, position, NULL, err);
}
