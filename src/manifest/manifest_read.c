/* manifest_read.c - the public read-only view of a shard manifest
 * (mw_shard_manifest_read / _read_json in memwal.h), for tools that must
 * not disturb a live writer: `memwal inspect`, examples/ingest.c.
 *
 * Design: a thin layer over the manifest store's read_latest (which finds
 * the latest immutable version; see manifest_store.h) that copies the
 * fields a tool needs out of the protobuf-c struct into a plain public
 * struct, so the public header does not expose protobuf-c. Nothing here
 * writes: no epoch claim, no cursor update, no version hint. The info
 * struct, its generation array and every path string live in ONE malloc'ed
 * block (struct, then array, then the NUL-terminated paths), so
 * mw_shard_manifest_info_free is a single free() and the result is
 * immutable and safe to share between threads. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/uuid.h"
#include "manifest/manifest_store.h"
#include "manifest/shard_manifest.h"
#include "memwal.h"

/* The latest manifest of the shard, or MW_ERR_NOT_FOUND; *out to free. */
static mw_status read_latest(mw_shard_manifest **out, char shard_str[MW_UUID_STR_LEN + 1],
                             mw_objstore *store, const char *shard_id, const char *fn,
                             mw_error *err) {
  *out = NULL;
  if (!store || !shard_id) return mw_err(err, MW_ERR_INVALID, "%s: NULL argument", fn);
  uint8_t id[16];
  MW_TRY(mw_uuid_parse(id, shard_id, err));
  mw_uuid_format(shard_str, id);
  mw_manifest_store *ms = NULL;
  MW_TRY(mw_manifest_store_open(&ms, store, id, 0, err));
  mw_status s = mw_manifest_store_read_latest(out, ms, err);
  mw_manifest_store_close(ms);
  if (s == MW_OK && !*out) s = mw_err(err, MW_ERR_NOT_FOUND, "no manifest for shard %s", shard_str);
  return s;
}

mw_status mw_shard_manifest_read(mw_shard_manifest_info **out, mw_objstore *store,
                                 const char *shard_id, mw_error *err) {
  if (!out) return mw_err(err, MW_ERR_INVALID, "mw_shard_manifest_read: NULL argument");
  *out = NULL;
  char shard[MW_UUID_STR_LEN + 1];
  mw_shard_manifest *m = NULL;
  MW_TRY(read_latest(&m, shard, store, shard_id, "mw_shard_manifest_read", err));

  size_t n = m->n_flushed_generations, bytes = sizeof(mw_shard_manifest_info);
  bytes += n * sizeof(mw_flushed_generation_info);
  for (size_t i = 0; i < n; i++) {
    const char *p = m->flushed_generations[i]->path;
    bytes += (p ? strlen(p) : 0) + 1;
  }
  mw_shard_manifest_info *info = calloc(1, bytes);
  if (!info) {
    mw_shard_manifest_free(m);
    return mw_err(err, MW_ERR_NOMEM, "out of memory reading the manifest of shard %s", shard);
  }
  memcpy(info->shard_id, shard, sizeof info->shard_id);
  info->version = m->version;
  info->writer_epoch = m->writer_epoch;
  info->replay_after_wal_entry_position = m->replay_after_wal_entry_position;
  info->wal_entry_position_last_seen = m->wal_entry_position_last_seen;
  info->current_generation = m->current_generation;
  info->shard_spec_id = m->shard_spec_id;
  info->status = m->status;
  mw_flushed_generation_info *gens = (mw_flushed_generation_info *)(info + 1);
  char *text = (char *)(gens + n);
  for (size_t i = 0; i < n; i++) {
    const mw_flushed_generation *g = m->flushed_generations[i];
    size_t len = g->path ? strlen(g->path) : 0;
    if (len) memcpy(text, g->path, len);
    text[len] = '\0';
    gens[i].generation = g->generation;
    gens[i].path = text;
    text += len + 1;
    gens[i].has_stats = g->has_in_memory_bytes || g->has_physical_rows || g->has_primary_key_bytes;
    gens[i].in_memory_bytes = g->in_memory_bytes;
    gens[i].physical_rows = g->physical_rows;
    gens[i].primary_key_bytes = g->primary_key_bytes;
  }
  info->flushed_generations = n ? gens : NULL;
  info->n_flushed_generations = n;
  mw_shard_manifest_free(m);
  *out = info;
  return MW_OK;
}

mw_status mw_shard_manifest_read_json(char **out_json, mw_objstore *store, const char *shard_id,
                                      mw_error *err) {
  if (!out_json) return mw_err(err, MW_ERR_INVALID, "mw_shard_manifest_read_json: NULL argument");
  *out_json = NULL;
  char shard[MW_UUID_STR_LEN + 1];
  mw_shard_manifest *m = NULL;
  MW_TRY(read_latest(&m, shard, store, shard_id, "mw_shard_manifest_read_json", err));
  mw_status s = mw_shard_manifest_to_json(out_json, m, err); /* malloc'ed: mw_free is free */
  mw_shard_manifest_free(m);
  return s;
}

void mw_shard_manifest_info_free(mw_shard_manifest_info *info) { free(info); }
