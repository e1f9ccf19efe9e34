/*
 * manifest_store.c - versioned shard manifests (see manifest_store.h).
 *
 * Every update is optimistic: read latest N, build N+1, put_if_absent.
 * put_if_absent is the only arbiter, so correctness never depends on the
 * hint or on head() results being fresh; they only decide where the search
 * starts and ends. A stale search just means our put of N+1 loses and we
 * re-read.
 *
 * A version is written with mw_objstore_put_if_absent_settled: a write
 * whose outcome stays unknown (visible but not known durable, or a timed-out
 * request that may still land) is MW_ERR_POISONED, which every commit
 * (claim_epoch, commit_update, advance_last_seen) returns as is: the caller
 * must not assume either outcome, and must reopen to find out.
 */
#include "manifest/manifest_store.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/uuid.h"
#include "objstore/objstore.h"
#include "wal/wal_names.h"

#define MW_SCAN_BATCH_MAX 64
#define MW_HINT_MAX_BYTES 4096

struct mw_manifest_store {
  mw_objstore *store; /* borrowed */
  uint8_t shard_id[16];
  char shard[MW_UUID_STR_LEN + 1];
  uint32_t scan_batch;
  _Atomic uint64_t hint_failures;
};

mw_status mw_manifest_store_open(mw_manifest_store **out, mw_objstore *store,
                                 const uint8_t shard_id[16], uint32_t scan_batch_size,
                                 mw_error *err) {
  *out = NULL;
  if (!store || !shard_id) return mw_err(err, MW_ERR_INVALID, "manifest store: NULL store or shard id");
  mw_manifest_store *ms = calloc(1, sizeof *ms);
  if (!ms) return mw_err(err, MW_ERR_NOMEM, "manifest store: out of memory");
  ms->store = store;
  memcpy(ms->shard_id, shard_id, 16);
  mw_uuid_format(ms->shard, shard_id);
  if (scan_batch_size == 0) scan_batch_size = MW_MANIFEST_SCAN_BATCH_DEFAULT;
  if (scan_batch_size > MW_SCAN_BATCH_MAX) scan_batch_size = MW_SCAN_BATCH_MAX;
  ms->scan_batch = scan_batch_size;
  atomic_init(&ms->hint_failures, 0);
  *out = ms;
  return MW_OK;
}

void mw_manifest_store_close(mw_manifest_store *ms) { free(ms); }

const char *mw_manifest_store_shard_str(const mw_manifest_store *ms) { return ms->shard; }
const uint8_t *mw_manifest_store_shard_id(const mw_manifest_store *ms) { return ms->shard_id; }

uint64_t mw_manifest_store_hint_failures(const mw_manifest_store *ms) {
  return atomic_load(&((mw_manifest_store *)ms)->hint_failures);
}

/* ------------------------------------------------------------- the hint */

/* {"version":N} with any whitespace; anything else -> 0 (= unusable). */
static uint64_t parse_hint(const uint8_t *d, size_t n) {
  char buf[MW_HINT_MAX_BYTES + 1];
  if (n > MW_HINT_MAX_BYTES) return 0;
  if (n) memcpy(buf, d, n);
  buf[n] = '\0';
  if (strlen(buf) != n) return 0; /* embedded NUL */
  const char *p = buf;
  while (isspace((unsigned char)*p)) p++;
  if (*p++ != '{') return 0;
  while (isspace((unsigned char)*p)) p++;
  if (strncmp(p, "\"version\"", 9) != 0) return 0;
  p += 9;
  while (isspace((unsigned char)*p)) p++;
  if (*p++ != ':') return 0;
  while (isspace((unsigned char)*p)) p++;
  if (!isdigit((unsigned char)*p)) return 0;
  uint64_t v = 0;
  for (; isdigit((unsigned char)*p); p++) {
    unsigned dgt = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - dgt) / 10) return 0;
    v = v * 10 + dgt;
  }
  while (isspace((unsigned char)*p)) p++;
  if (*p++ != '}') return 0;
  while (isspace((unsigned char)*p)) p++;
  return *p == '\0' ? v : 0;
}

static uint64_t read_hint(mw_manifest_store *ms) {
  char key[MW_KEY_SIZE];
  mw_manifest_hint_key(key, ms->shard);
  uint8_t *d = NULL;
  size_t n = 0;
  /* Any failure (missing, I/O, garbage) means "start at 1". */
  if (mw_objstore_get(ms->store, &d, &n, key, 0, MW_OBJSTORE_TO_END, NULL) != MW_OK) return 1;
  uint64_t v = parse_hint(d, n);
  mw_free(d);
  return v ? v : 1;
}

static void write_hint(mw_manifest_store *ms, uint64_t version) {
  char key[MW_KEY_SIZE], body[64];
  mw_manifest_hint_key(key, ms->shard);
  int n = snprintf(body, sizeof body, "{\"version\":%" PRIu64 "}", version);
  if (mw_objstore_put(ms->store, key, body, (size_t)n, NULL) != MW_OK)
    atomic_fetch_add(&ms->hint_failures, 1);
}

/* ------------------------------------------------------------ searching */

/* *exists = whether version v exists; NOT_FOUND is not an error. */
static mw_status version_exists(int *exists, mw_manifest_store *ms, uint64_t v, mw_error *err) {
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, ms->shard, v);
  uint64_t size;
  mw_error e = {0};
  mw_status s = mw_objstore_head(ms->store, &size, key, &e);
  if (s == MW_OK) {
    *exists = 1;
    return MW_OK;
  }
  *exists = 0;
  if (s == MW_ERR_NOT_FOUND) return MW_OK;
  if (err) *err = e;
  return mw_err_wrap(err, s, "shard %s: probing manifest version %" PRIu64, ms->shard, v);
}

typedef struct probe {
  mw_manifest_store *ms;
  uint64_t version;
  int exists;
  mw_status status;
  mw_error err;
  pthread_t thread;
  int started;
} probe;

static void *probe_main(void *arg) {
  probe *p = arg;
  p->status = version_exists(&p->exists, p->ms, p->version, &p->err);
  return NULL;
}

/* Probes from+1 .. from+batch; *out_highest = highest existing or 0. */
static mw_status probe_round(uint64_t *out_highest, mw_manifest_store *ms, uint64_t from,
                             mw_error *err) {
  probe ps[MW_SCAN_BATCH_MAX];
  uint32_t n = ms->scan_batch;
  if (from > UINT64_MAX - n) n = (uint32_t)(UINT64_MAX - from);
  memset(ps, 0, sizeof ps[0] * n);
  for (uint32_t i = 0; i < n; i++) {
    ps[i].ms = ms;
    ps[i].version = from + 1 + i;
    /* One head per thread; the last one (or all, on thread failure) runs
     * on the caller's thread. */
    if (n > 1 && i + 1 < n && pthread_create(&ps[i].thread, NULL, probe_main, &ps[i]) == 0)
      ps[i].started = 1;
  }
  for (uint32_t i = 0; i < n; i++)
    if (!ps[i].started) probe_main(&ps[i]);
  for (uint32_t i = 0; i < n; i++)
    if (ps[i].started) pthread_join(ps[i].thread, NULL);
  *out_highest = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (ps[i].status != MW_OK) {
      if (err) *err = ps[i].err;
      return ps[i].status;
    }
    if (ps[i].exists) *out_highest = ps[i].version;
  }
  return MW_OK;
}

mw_status mw_manifest_store_read_version(mw_shard_manifest **out, mw_manifest_store *ms,
                                         uint64_t version, mw_error *err) {
  *out = NULL;
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, ms->shard, version);
  uint8_t *d = NULL;
  size_t n = 0;
  mw_status s = mw_objstore_get(ms->store, &d, &n, key, 0, MW_OBJSTORE_TO_END, err);
  if (s != MW_OK) return mw_err_wrap(err, s, "shard %s: reading manifest version %" PRIu64, ms->shard, version);
  mw_shard_manifest *m = NULL;
  s = mw_shard_manifest_decode(&m, d, n, key, err);
  mw_free(d);
  if (s != MW_OK) return s;
  if (m->version != version) {
    uint64_t got = m->version;
    mw_shard_manifest_free(m);
    return mw_err(err, MW_ERR_CORRUPT, "shard manifest %s: version field is %" PRIu64 ", expected %" PRIu64,
                  key, got, version);
  }
  *out = m;
  return MW_OK;
}

mw_status mw_manifest_store_read_latest(mw_shard_manifest **out, mw_manifest_store *ms,
                                        mw_error *err) {
  *out = NULL;
  uint64_t hint = read_hint(ms), cur = 0;
  int exists = 0;
  MW_TRY(version_exists(&exists, ms, hint, err));
  if (exists) {
    cur = hint;
  } else if (hint > 1) {
    MW_TRY(version_exists(&exists, ms, 1, err));
    if (exists) cur = 1;
  }
  for (;;) {
    uint64_t highest = 0;
    MW_TRY(probe_round(&highest, ms, cur, err));
    if (highest == 0) break;
    cur = highest;
  }
  if (cur == 0) return MW_OK; /* no manifest */
  return mw_manifest_store_read_version(out, ms, cur, err);
}

/* -------------------------------------------------------------- writing */

mw_status mw_manifest_store_write_version(mw_manifest_store *ms, mw_shard_manifest *m,
                                          mw_error *err) {
  if (m->version == 0)
    return mw_err(err, MW_ERR_INVALID, "shard %s: manifest version 0 cannot be written", ms->shard);
  uint8_t *d = NULL;
  size_t n = 0;
  MW_TRY(mw_shard_manifest_encode(&d, &n, m, err));
  char key[MW_KEY_SIZE];
  mw_manifest_version_key(key, ms->shard, m->version);
  mw_status s = mw_objstore_put_if_absent_settled(ms->store, key, d, n, err);
  free(d);
  if (s == MW_ERR_ALREADY_EXISTS)
    return mw_err(err, s, "shard %s: manifest version %" PRIu64 " already exists", ms->shard, m->version);
  if (s == MW_ERR_POISONED)
    return mw_err_wrap(err, s, "shard %s: manifest version %" PRIu64, ms->shard, m->version);
  if (s != MW_OK)
    return mw_err_wrap(err, s, "shard %s: writing manifest version %" PRIu64, ms->shard, m->version);
  write_hint(ms, m->version);
  return MW_OK;
}

/* ------------------------------------------------------------- claiming */

static mw_status new_manifest(mw_shard_manifest **out, mw_manifest_store *ms, uint32_t spec_id,
                              mw_error *err) {
  MW_TRY(mw_shard_manifest_new(out, err));
  mw_shard_manifest *m = *out;
  m->version = 1;
  m->writer_epoch = 1;
  m->current_generation = 1;
  m->shard_spec_id = spec_id;
  mw_status s = mw_shard_manifest_set_shard_id(m, ms->shard_id, err);
  if (s != MW_OK) {
    mw_shard_manifest_free(m);
    *out = NULL;
  }
  return s;
}

mw_status mw_manifest_store_claim_epoch(mw_shard_manifest **out, uint64_t *out_prev_epoch,
                                        mw_manifest_store *ms, uint32_t shard_spec_id,
                                        mw_error *err) {
  *out = NULL;
  *out_prev_epoch = 0;
  for (int attempt = 0; attempt < MW_MANIFEST_CLAIM_ATTEMPTS; attempt++) {
    mw_shard_manifest *cur = NULL, *next = NULL;
    MW_TRY(mw_manifest_store_read_latest(&cur, ms, err));
    uint64_t prev = 0;
    if (!cur) {
      MW_TRY(new_manifest(&next, ms, shard_spec_id, err));
    } else {
      if (cur->status == MW_SHARD_STATUS_SEALED) {
        mw_shard_manifest_free(cur);
        return mw_err(err, MW_ERR_INVALID, "shard %s is sealed", ms->shard);
      }
      if (cur->version == UINT64_MAX || cur->writer_epoch == UINT64_MAX) {
        mw_shard_manifest_free(cur);
        return mw_err(err, MW_ERR_CORRUPT, "shard %s: manifest version or epoch overflow", ms->shard);
      }
      prev = cur->writer_epoch;
      mw_status s = mw_shard_manifest_copy(&next, cur, err);
      mw_shard_manifest_free(cur);
      if (s != MW_OK) return s;
      next->version++;
      next->writer_epoch++;
    }
    uint64_t target = next->writer_epoch;
    mw_status s = mw_manifest_store_write_version(ms, next, err);
    if (s == MW_OK) {
      *out = next;
      *out_prev_epoch = prev;
      return MW_OK;
    }
    mw_shard_manifest_free(next);
    if (s != MW_ERR_ALREADY_EXISTS) return s;
    /* Lost the race: a claimer (epoch >= ours) or only a version bump? */
    MW_TRY(mw_manifest_store_read_latest(&cur, ms, err));
    if (cur && cur->writer_epoch >= target) {
      uint64_t e = cur->writer_epoch;
      mw_shard_manifest_free(cur);
      return mw_err(err, MW_ERR_FENCED, "shard %s claimed by another writer (epoch %" PRIu64 ")",
                    ms->shard, e);
    }
    mw_shard_manifest_free(cur);
  }
  return mw_err(err, MW_ERR_CONFLICT, "shard %s: claim lost %d races, giving up", ms->shard,
                MW_MANIFEST_CLAIM_ATTEMPTS);
}

/* ------------------------------------------------------------- fencing */

mw_status mw_manifest_store_check_fenced(mw_shard_manifest **out, mw_manifest_store *ms,
                                         uint64_t epoch, mw_error *err) {
  if (out) *out = NULL;
  mw_shard_manifest *cur = NULL;
  MW_TRY(mw_manifest_store_read_latest(&cur, ms, err));
  if (!cur) return mw_err(err, MW_ERR_NOT_FOUND, "no manifest for shard %s", ms->shard);
  if (cur->writer_epoch > epoch) {
    uint64_t e = cur->writer_epoch;
    mw_shard_manifest_free(cur);
    return mw_err(err, MW_ERR_FENCED,
                  "writer fenced: local epoch %" PRIu64 " < stored epoch %" PRIu64 " (shard %s)",
                  epoch, e, ms->shard);
  }
  if (out) *out = cur;
  else mw_shard_manifest_free(cur);
  return MW_OK;
}

mw_status mw_manifest_store_commit_update(mw_shard_manifest **out, mw_manifest_store *ms,
                                          uint64_t epoch, mw_manifest_mutate_fn mutate,
                                          void *arg, mw_error *err) {
  if (out) *out = NULL;
  for (int attempt = 0; attempt < MW_MANIFEST_COMMIT_ATTEMPTS; attempt++) {
    mw_shard_manifest *cur = NULL, *next = NULL;
    MW_TRY(mw_manifest_store_check_fenced(&cur, ms, epoch, err));
    if (cur->version == UINT64_MAX) {
      mw_shard_manifest_free(cur);
      return mw_err(err, MW_ERR_CORRUPT, "shard %s: manifest version overflow", ms->shard);
    }
    mw_status s = mw_shard_manifest_copy(&next, cur, err);
    mw_shard_manifest_free(cur);
    if (s != MW_OK) return s;
    next->version++;
    next->writer_epoch = epoch;
    if (mutate && (s = mutate(arg, next, err)) != MW_OK) {
      mw_shard_manifest_free(next);
      return s;
    }
    s = mw_manifest_store_write_version(ms, next, err);
    if (s == MW_OK) {
      if (out) *out = next;
      else mw_shard_manifest_free(next);
      return MW_OK;
    }
    mw_shard_manifest_free(next);
    if (s != MW_ERR_ALREADY_EXISTS) return s;
  }
  return mw_err(err, MW_ERR_CONFLICT, "shard %s: manifest update lost %d races, giving up",
                ms->shard, MW_MANIFEST_COMMIT_ATTEMPTS);
}

/* -------------------------------------------------------------- cursors */

mw_status mw_manifest_store_advance_last_seen(mw_manifest_store *ms, uint64_t position,
                                              int *out_written, mw_error *err) {
  if (out_written) *out_written = 0;
  for (int attempt = 0; attempt < MW_MANIFEST_CURSOR_ATTEMPTS; attempt++) {
    mw_shard_manifest *cur = NULL, *next = NULL;
    MW_TRY(mw_manifest_store_read_latest(&cur, ms, err));
    if (!cur || cur->wal_entry_position_last_seen >= position || cur->version == UINT64_MAX) {
      mw_shard_manifest_free(cur);
      return MW_OK;
    }
    mw_status s = mw_shard_manifest_copy(&next, cur, err);
    mw_shard_manifest_free(cur);
    if (s != MW_OK) return s;
    next->version++;
    next->wal_entry_position_last_seen = position;
    s = mw_manifest_store_write_version(ms, next, err);
    mw_shard_manifest_free(next);
    if (s == MW_OK) {
      if (out_written) *out_written = 1;
      return MW_OK;
    }
    if (s != MW_ERR_ALREADY_EXISTS) return s;
  }
  mw_err_clear(err);
  return MW_OK;
}
