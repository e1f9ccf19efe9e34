/*
 * wal_appender.c - the synchronous, atomic WAL appender (MEMWAL.md section 5).
 *
 * Design: every entry is one object created with put_if_absent at the next
 * position, so two writers can never both own a position: the loser sees
 * "already exists", checks the manifest for a newer epoch (fenced -> stop)
 * and otherwise moves on to the next position. Appends are serialised by
 * `append_mu`, which IS held across the object-store calls of one append: the
 * position sequence is the state it protects and the spec requires appends
 * to be serialised (each thread gets its own position, in order).
 *
 * The next position is a hint until the first successful append (or a seed
 * after replay) makes it authoritative. When it is unknown it is discovered
 * by probing with head from the manifest's hint, with list(wal/) as the
 * fallback. Every entry is written with mw_objstore_put_if_absent_settled
 * (objstore_settle.c), the one "did our ambiguous write land" helper: a
 * failed write is read back; our bytes there are success only on a store
 * whose visible objects are durable; other bytes are a plain conflict (ours
 * can never land there, so moving on to the next position is safe); absence
 * after a clean error is a clean failure (the position is retried by the
 * next append); absence after a timeout is retried at the SAME position
 * with the SAME bytes; whatever stays unknown is MW_ERR_POISONED. So the
 * appender never moves bytes whose outcome is unresolved to another
 * position: an entry can never be written twice.
 *
 * STAGED appends (the WAL flusher's entries in flight): mw_wal_appender_stage
 * makes an entry's bytes durable where no reader sees them, any number at
 * once; mw_wal_appender_publish_staged then gives one a position exactly
 * like an append (the same discovery, conflict, fencing and outcome rules;
 * the caller publishes in the order the entries must have), and
 * mw_wal_appender_sync makes every entry published so far durable (the
 * folder's fsync on file://; nothing on stores whose visible objects are
 * durable). A failed sync is an unknown outcome: POISONED, sticky.
 *
 * Fenced and poisoned are sticky: every later append fails the same way
 * without I/O (a fenced appender stays fenced; after an unknown outcome a
 * retry could duplicate the entry, so the caller must reopen and look).
 */
#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/error.h"
#include "common/uuid.h"
#include "manifest/manifest_store.h"
#include "memwal_sys.h"
#include "objstore/objstore.h"
#include "wal/wal_internal.h"
#include "wal/wal_names.h"

#define MW_WAL_PROBE_STEPS 4096
#define MW_WAL_REDISCOVER_EVERY 16
#define MW_WAL_MAX_CONFLICTS 1024

struct mw_wal_appender {
  mw_objstore *store;      /* borrowed */
  mw_manifest_store *ms;   /* owned */
  bool owns_ms;
  char shard[MW_UUID_STR_LEN + 1];
  uint64_t epoch;
  uint64_t first_position;
  pthread_mutex_t append_mu; /* guards next/next_known and serialises appends */
  uint64_t next;             /* next position to try */
  bool next_known;           /* next is authoritative (not just a hint) */
  uint64_t hint;             /* manifest-derived starting point for discovery */
  /* Sticky failures (guarded by append_mu): once fenced, always fenced
   * (epochs only grow); once an outcome is unknown, the caller must reopen
   * (MW_ERR_POISONED) rather than retry into a possible duplicate. */
  mw_status sticky;
  char sticky_msg[MW_ERROR_MESSAGE_SIZE];
};

void mw_wal_appender_config_init(mw_wal_appender_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->struct_size = sizeof *cfg;
  cfg->shard_spec_id = 0;
  cfg->first_wal_entry_position = 1;
  cfg->manifest_scan_batch_size = MW_MANIFEST_SCAN_BATCH_DEFAULT;
}

/* The discovery start derived from a manifest: max(last_seen, replay_after)
 * + 1 once anything was seen or flushed, else the first position. */
static uint64_t hint_from_manifest(const mw_shard_manifest *m, uint64_t first_position) {
  if (!m) return first_position;
  uint64_t a = m->wal_entry_position_last_seen, b = m->replay_after_wal_entry_position;
  uint64_t top = a > b ? a : b;
  if (top == 0) return first_position;
  return top + 1;
}

mw_status mw_wal_appender_new_claimed(mw_wal_appender **out, mw_objstore *store,
                                      mw_manifest_store *ms, bool owns_ms, uint64_t epoch,
                                      const mw_shard_manifest *claimed,
                                      uint64_t first_position, mw_error *err) {
  *out = NULL;
  mw_wal_appender *a = calloc(1, sizeof *a);
  if (!a) return mw_err(err, MW_ERR_NOMEM, "out of memory allocating a WAL appender");
  a->store = store;
  a->ms = ms;
  a->owns_ms = owns_ms;
  snprintf(a->shard, sizeof a->shard, "%s", mw_manifest_store_shard_str(ms));
  a->epoch = epoch;
  a->first_position = first_position;
  a->hint = hint_from_manifest(claimed, first_position);
  a->next = a->hint;
  a->next_known = false;
  pthread_mutex_init(&a->append_mu, NULL);
  *out = a;
  return MW_OK;
}

mw_status mw_wal_appender_open(mw_wal_appender **out, mw_objstore *store, const char *shard_id,
                               const mw_wal_appender_config *cfg_in, mw_error *err) {
  *out = NULL;
  mw_wal_appender_config cfg;
  mw_wal_appender_config_init(&cfg);
  if (cfg_in) {
    /* The versioning rule (memwal.h): an older, smaller struct is read up
     * to its struct_size; the fields it lacks keep their defaults. */
    size_t v1 = offsetof(mw_wal_appender_config, manifest_scan_batch_size) + sizeof cfg.manifest_scan_batch_size;
    if (cfg_in->struct_size < v1 || cfg_in->struct_size > sizeof cfg)
      return mw_err(err, MW_ERR_INVALID,
                    "wal appender config: struct_size %u is not a known version (call mw_wal_appender_config_init)",
                    cfg_in->struct_size);
    memcpy(&cfg, cfg_in, cfg_in->struct_size);
    cfg.struct_size = sizeof cfg;
  }
  if (!store || !shard_id) return mw_err(err, MW_ERR_INVALID, "wal appender: store and shard id are required");
  uint8_t uuid[16];
  MW_TRY(mw_uuid_parse(uuid, shard_id, err));
  mw_manifest_store *ms = NULL;
  MW_TRY(mw_manifest_store_open(&ms, store, uuid, cfg.manifest_scan_batch_size, err));
  mw_shard_manifest *claimed = NULL;
  uint64_t prev_epoch = 0;
  mw_status s = mw_manifest_store_claim_epoch(&claimed, &prev_epoch, ms, cfg.shard_spec_id, err);
  if (s != MW_OK) {
    mw_manifest_store_close(ms);
    return s;
  }
  s = mw_wal_appender_new_claimed(out, store, ms, true, claimed->writer_epoch, claimed,
                                  cfg.first_wal_entry_position, err);
  mw_shard_manifest_free(claimed);
  if (s != MW_OK) mw_manifest_store_close(ms);
  return s;
}

void mw_wal_appender_close(mw_wal_appender *a) {
  if (!a) return;
  pthread_mutex_destroy(&a->append_mu);
  if (a->owns_ms) mw_manifest_store_close(a->ms);
  free(a);
}

uint64_t mw_wal_appender_epoch(const mw_wal_appender *a) { return a->epoch; }

uint64_t mw_wal_appender_next_position(const mw_wal_appender *a) {
  mw_wal_appender *m = (mw_wal_appender *)a;
  pthread_mutex_lock(&m->append_mu);
  uint64_t n = m->next;
  pthread_mutex_unlock(&m->append_mu);
  return n;
}

void mw_wal_appender_seed_next_position(mw_wal_appender *a, uint64_t position) {
  pthread_mutex_lock(&a->append_mu);
  a->next = position;
  a->next_known = true;
  pthread_mutex_unlock(&a->append_mu);
}

mw_manifest_store *mw_wal_appender_manifest_store(mw_wal_appender *a) { return a->ms; }

/* head(position): 1 exists, 0 absent, -1 error (err set). */
static int entry_exists(mw_objstore *store, const char *shard, uint64_t pos, mw_error *err) {
  char key[MW_KEY_SIZE];
  mw_wal_entry_key(key, shard, pos);
  uint64_t size;
  mw_error e = {0};
  mw_status s = mw_objstore_head(store, &size, key, &e);
  if (s == MW_OK) return 1;
  if (s == MW_ERR_NOT_FOUND) return 0;
  if (err) *err = e;
  return -1;
}

/* Finds the first free position at or after what we know, walking forward
 * with head from `start`; falls back to a listing. */
static mw_status find_free(uint64_t *out, mw_wal_appender *a, uint64_t start, mw_error *err) {
  int ex = entry_exists(a->store, a->shard, start, err);
  if (ex < 0) return err ? err->code : MW_ERR_IO;
  if (ex == 0) {
    /* start is free: usable at once only if its predecessor exists
     * (positions are dense). A free first position is NOT proof of an empty
     * WAL: a 1-based shard opened with first position 0 has nothing at 0
     * but entries from 1 on (writing at 0 would hide the entry from Lance's
     * replay), so that case, like a gap, is settled by the listing below. */
    if (start > a->first_position) {
      int prev = entry_exists(a->store, a->shard, start - 1, err);
      if (prev < 0) return err ? err->code : MW_ERR_IO;
      if (prev == 1) { *out = start; return MW_OK; }
    }
  } else {
    uint64_t p = start + 1;
    for (int i = 0; i < MW_WAL_PROBE_STEPS; i++, p++) {
      ex = entry_exists(a->store, a->shard, p, err);
      if (ex < 0) return err ? err->code : MW_ERR_IO;
      if (ex == 0) { *out = p; return MW_OK; }
    }
  }
  bool any = false;
  uint64_t mn = 0, mx = 0;
  MW_TRY(mw_wal_list_bounds(&any, &mn, &mx, a->store, a->shard, err));
  *out = any ? mx + 1 : a->first_position;
  if (*out < a->first_position) *out = a->first_position;
  return MW_OK;
}

static mw_status fenced_check(mw_wal_appender *a, mw_error *err);
static void make_sticky(mw_wal_appender *a, mw_status s, const mw_error *err);

/* Discovery = find_free + a fencing check AFTER the probes. Why: discovery
 * jumps over entries other writers wrote, possibly a newer writer's fence
 * entry; without the check an older appender whose next position was
 * unknown (first append, after an error) would write just past that fence,
 * where the newer writer's replay (which ended at its fence) never looks:
 * the section 8 data loss. A fence entry is written only after its claim
 * is in the manifest, so a manifest read after the probes that saw the
 * fence sees the claim. Fenced is made sticky here. */
static mw_status discover(uint64_t *out, mw_wal_appender *a, uint64_t start, mw_error *err) {
  MW_TRY(find_free(out, a, start, err));
  mw_status s = fenced_check(a, err);
  if (s == MW_ERR_FENCED) make_sticky(a, s, err);
  return s;
}

/* Records a sticky failure (append_mu held). */
static void make_sticky(mw_wal_appender *a, mw_status s, const mw_error *err) {
  a->sticky = s;
  snprintf(a->sticky_msg, sizeof a->sticky_msg, "%s",
           err && err->message[0] ? err->message : mw_status_str(s));
}

/* After a lost race: are we fenced? Returns MW_ERR_FENCED (err set) or MW_OK;
 * other errors are passed up. */
static mw_status fenced_check(mw_wal_appender *a, mw_error *err) {
  mw_status s = mw_manifest_store_check_fenced(NULL, a->ms, a->epoch, err);
  return s;
}

/* One append: the bytes (data, len) or an object staged with them
 * (staged != NULL: published instead of written, see
 * mw_wal_appender_publish_staged). */
static mw_status append_impl(mw_wal_append_result *out, mw_wal_appender *a, const uint8_t *data, size_t len,
                             mw_staged *staged, mw_error *err) {
  mw_status s = MW_OK;
  pthread_mutex_lock(&a->append_mu);
  if (a->sticky != MW_OK) {
    s = mw_err(err, a->sticky, "%s", a->sticky_msg);
    goto done;
  }
  if (!a->next_known) {
    uint64_t p;
    s = discover(&p, a, a->next > a->hint ? a->next : a->hint, err);
    if (s != MW_OK) goto done;
    a->next = p;
  }
  uint64_t pos = a->next;
  for (int conflicts = 0;;) {
    char key[MW_KEY_SIZE];
    mw_wal_entry_key(key, a->shard, pos);
    mw_error werr = {0};
    s = staged ? mw_objstore_publish(a->store, staged, key, &werr)
               : mw_objstore_put_if_absent_settled(a->store, key, data, len, &werr);
    if (s == MW_OK) break;
    if (s == MW_ERR_ALREADY_EXISTS) {
      /* Another writer owns the position and ours can never land there. */
      s = fenced_check(a, err);
      if (s != MW_OK) {
        if (s == MW_ERR_FENCED) make_sticky(a, s, err);
        goto done;
      }
      conflicts++;
      if (conflicts >= MW_WAL_MAX_CONFLICTS) {
        s = mw_err(err, MW_ERR_CONFLICT,
                   "wal append: %d positions in a row were taken (last %" PRIu64 ", shard %s)",
                   conflicts, pos, a->shard);
        a->next_known = false;
        goto done;
      }
      if (conflicts % MW_WAL_REDISCOVER_EVERY == 0) {
        s = discover(&pos, a, pos + 1, err);
        if (s != MW_OK) goto done;
      } else {
        pos++;
      }
      continue;
    }
    mw_status fs = fenced_check(a, err);
    if (fs == MW_ERR_FENCED) {
      /* Fenced: we stop for good, whatever became of this write (a newer
       * writer took over; it replays whatever is there). */
      s = fs;
      a->next_known = false;
      make_sticky(a, s, err);
      goto done;
    }
    if (s != MW_ERR_POISONED) {
      /* Clean failure: nothing at pos; the position stays ours to retry. */
      s = mw_err(err, s, "wal append at position %" PRIu64 " failed: %s", pos, werr.message);
      a->next = pos;
    } else {
      s = mw_err(err, MW_ERR_POISONED, "wal append at position %" PRIu64 ": %s", pos,
                 werr.message);
      a->next_known = false;
      make_sticky(a, s, err);
    }
    goto done;
  }
  a->next = pos + 1;
  a->next_known = true;
  if (out) {
    out->position = pos;
    out->bytes = len;
  }
done:
  pthread_mutex_unlock(&a->append_mu);
  return s;
}

mw_status mw_wal_appender_append_encoded(mw_wal_append_result *out, mw_wal_appender *a,
                                         const uint8_t *data, size_t len, mw_error *err) {
  return append_impl(out, a, data, len, NULL, err);
}

mw_status mw_wal_appender_publish_staged(mw_wal_append_result *out, mw_wal_appender *a, mw_staged *staged,
                                         size_t len, mw_error *err) {
  return append_impl(out, a, NULL, len, staged, err);
}

mw_status mw_wal_appender_stage(mw_staged **out, mw_wal_appender *a, void *data, size_t len, mw_error *err) {
  /* Any key of the WAL folder: the object may be published at any
   * position (entries of one shard share one folder). */
  char key[MW_KEY_SIZE];
  pthread_mutex_lock(&a->append_mu);
  uint64_t pos = a->next;
  pthread_mutex_unlock(&a->append_mu);
  mw_wal_entry_key(key, a->shard, pos);
  return mw_objstore_stage(a->store, out, key, data, len, err);
}

mw_status mw_wal_appender_sync(mw_wal_appender *a, uint64_t position, mw_error *err) {
  pthread_mutex_lock(&a->append_mu);
  mw_status s = a->sticky;
  if (s != MW_OK) s = mw_err(err, s, "%s", a->sticky_msg);
  pthread_mutex_unlock(&a->append_mu);
  if (s != MW_OK) return s;
  char key[MW_KEY_SIZE];
  mw_wal_entry_key(key, a->shard, position);
  mw_error e = {0};
  s = mw_objstore_sync_published(a->store, key, &e);
  if (s == MW_OK) return MW_OK;
  /* Published entries whose durability is unknown: a retry could
   * duplicate them (the appender must be reopened to look). */
  pthread_mutex_lock(&a->append_mu);
  s = mw_err(err, MW_ERR_POISONED, "wal sync up to position %" PRIu64 ": %s", position, e.message);
  a->next_known = false;
  if (a->sticky == MW_OK) make_sticky(a, s, err);
  pthread_mutex_unlock(&a->append_mu);
  return s;
}

mw_status mw_wal_appender_append(mw_wal_append_result *out, mw_wal_appender *a,
                                 const struct ArrowSchema *schema,
                                 const struct ArrowArray *const *batches, size_t n_batches,
                                 mw_error *err) {
  if (out) memset(out, 0, sizeof *out);
  if (!a || !schema) return mw_err(err, MW_ERR_INVALID, "wal append: appender and schema are required");
  if (n_batches == 0 || !batches)
    return mw_err(err, MW_ERR_INVALID, "wal append: no batches to append (an entry needs at least one)");
  uint64_t rows = 0;
  for (size_t i = 0; i < n_batches; i++) {
    if (!batches[i] || !batches[i]->release)
      return mw_err(err, MW_ERR_INVALID, "wal append: batch %zu is missing or released", i);
    if (batches[i]->length == 0)
      return mw_err(err, MW_ERR_INVALID, "wal append: batch %zu has zero rows", i);
    rows += (uint64_t)batches[i]->length;
  }
  void *data = NULL;
  size_t len = 0;
  MW_TRY(mw_wal_encode_entry(&data, &len, schema, batches, n_batches, a->epoch, false, err));
  mw_wal_append_result r = {0};
  mw_status s = mw_wal_appender_append_encoded(&r, a, data, len, err);
  free(data);
  if (s != MW_OK) return s;
  if (out) {
    *out = r;
    out->batches = n_batches;
    out->rows = rows;
  }
  return MW_OK;
}

mw_status mw_wal_encode_entry(void **out, size_t *out_len, const struct ArrowSchema *schema,
                              const struct ArrowArray *const *batches, size_t n_batches,
                              uint64_t epoch, bool fence, mw_error *err) {
  char epoch_str[32];
  snprintf(epoch_str, sizeof epoch_str, "%" PRIu64, epoch);
  bool ok = true;
  char *meta = mw_metadata_with(NULL, "writer_epoch", epoch_str, &ok);
  if (ok && fence) {
    char *m2 = mw_metadata_with(meta, "fence_sentinel", "true", &ok);
    free(meta);
    meta = m2;
  }
  if (!ok) {
    free(meta);
    return mw_err(err, MW_ERR_NOMEM, "out of memory encoding a WAL entry");
  }
  mw_status s = mw_ipc_encode(out, out_len, schema, batches, n_batches, meta, err);
  free(meta);
  return s;
}

mw_status mw_wal_appender_append_fence(mw_wal_append_result *out, mw_wal_appender *a,
                                       const struct ArrowSchema *schema, mw_error *err) {
  /* Exactly what Lance 12 writes (see the fixture's fence entries): the
   * schema message and end-of-stream, NO record batch. Not "one batch of
   * zero rows": Lance 12's replay rejects a zero-row batch of an empty
   * schema ("must either specify a row count or at least one column"). */
  void *data = NULL;
  size_t len = 0;
  MW_TRY(mw_wal_encode_entry(&data, &len, schema, NULL, 0, a->epoch, true, err));
  mw_status s = mw_wal_appender_append_encoded(out, a, data, len, err);
  if (s == MW_OK && out) {
    out->batches = 0;
    out->rows = 0;
  }
  free(data);
  return s;
}
