/*
 * shard_manifest.c - decode/encode/copy/edit/JSON of the shard manifest.
 *
 * Wire format: protobuf, message lance.table.ShardManifest (tags in
 * shard_manifest.proto / MEMWAL.md section 4). protobuf-c does the bytes and
 * copes with hostile input (unpack returns NULL); we add the checks it cannot
 * know about (shard uuid length). Edits allocate with malloc, which is what
 * protobuf-c's default allocator frees in free_unpacked.
 */
#include "manifest/shard_manifest.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"

mw_status mw_shard_manifest_decode(mw_shard_manifest **out, const uint8_t *data,
                                   size_t len, const char *key, mw_error *err) {
  *out = NULL;
  static const uint8_t empty = 0;
  mw_shard_manifest *m = lance__table__shard_manifest__unpack(NULL, len, data ? data : &empty);
  if (!m)
    return mw_err(err, MW_ERR_CORRUPT,
                  "shard manifest %s: malformed protobuf (%zu bytes)", key ? key : "(bytes)", len);
  if (m->shard_id && m->shard_id->has_uuid && m->shard_id->uuid.len != 16) {
    size_t n = m->shard_id->uuid.len;
    mw_shard_manifest_free(m);
    return mw_err(err, MW_ERR_CORRUPT, "shard manifest %s: shard_id is %zu bytes, expected 16",
                  key ? key : "(bytes)", n);
  }
  /* Everything we accept must survive our own read-modify-write: protobuf-c
   * keeps unknown fields it should have rejected (field number 0, e.g.
   * bytes 80 00) and packs them back into bytes nobody can read. Packing
   * once and unpacking again catches every such case, nested ones too. */
  size_t n = lance__table__shard_manifest__get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    mw_shard_manifest_free(m);
    return mw_err(err, MW_ERR_NOMEM, "out of memory decoding shard manifest %s", key ? key : "(bytes)");
  }
  lance__table__shard_manifest__pack(m, buf);
  mw_shard_manifest *again = lance__table__shard_manifest__unpack(NULL, n, buf);
  free(buf);
  if (!again) {
    mw_shard_manifest_free(m);
    return mw_err(err, MW_ERR_CORRUPT,
                  "shard manifest %s: malformed protobuf (invalid field number or wire type, %zu bytes)",
                  key ? key : "(bytes)", len);
  }
  mw_shard_manifest_free(again);
  *out = m;
  return MW_OK;
}

/* proto3 presence: Lance omits zero scalars; so do we. */
static void normalise(mw_shard_manifest *m) {
  m->has_version = m->version != 0;
  m->has_writer_epoch = m->writer_epoch != 0;
  m->has_replay_after_wal_entry_position = m->replay_after_wal_entry_position != 0;
  m->has_wal_entry_position_last_seen = m->wal_entry_position_last_seen != 0;
  m->has_current_generation = m->current_generation != 0;
  m->has_shard_spec_id = m->shard_spec_id != 0;
  m->has_status = m->status != 0;
}

mw_status mw_shard_manifest_encode(uint8_t **out_data, size_t *out_len, mw_shard_manifest *m,
                                   mw_error *err) {
  *out_data = NULL;
  *out_len = 0;
  normalise(m);
  size_t n = lance__table__shard_manifest__get_packed_size(m);
  uint8_t *p = malloc(n ? n : 1);
  if (!p) return mw_err(err, MW_ERR_NOMEM, "shard manifest: cannot allocate %zu bytes", n);
  size_t w = lance__table__shard_manifest__pack(m, p);
  if (w != n) {
    free(p);
    return mw_err(err, MW_ERR_INTERNAL, "shard manifest: packed %zu bytes, expected %zu", w, n);
  }
  *out_data = p;
  *out_len = n;
  return MW_OK;
}

mw_status mw_shard_manifest_new(mw_shard_manifest **out, mw_error *err) {
  *out = malloc(sizeof **out);
  if (!*out) return mw_err(err, MW_ERR_NOMEM, "shard manifest: out of memory");
  lance__table__shard_manifest__init(*out);
  return MW_OK;
}

mw_status mw_shard_manifest_copy(mw_shard_manifest **out, const mw_shard_manifest *m,
                                 mw_error *err) {
  *out = NULL;
  size_t n = lance__table__shard_manifest__get_packed_size(m);
  uint8_t *p = malloc(n ? n : 1);
  if (!p) return mw_err(err, MW_ERR_NOMEM, "shard manifest copy: out of memory");
  lance__table__shard_manifest__pack(m, p);
  mw_shard_manifest *c = lance__table__shard_manifest__unpack(NULL, n, p);
  free(p);
  if (!c) return mw_err(err, MW_ERR_NOMEM, "shard manifest copy: unpack failed");
  /* pack skips scalars whose has_ flag is 0 even if set; carry the values
   * over directly so that a copy never loses an edit. */
  c->version = m->version;
  c->writer_epoch = m->writer_epoch;
  c->replay_after_wal_entry_position = m->replay_after_wal_entry_position;
  c->wal_entry_position_last_seen = m->wal_entry_position_last_seen;
  c->current_generation = m->current_generation;
  c->shard_spec_id = m->shard_spec_id;
  c->status = m->status;
  normalise(c);
  *out = c;
  return MW_OK;
}

void mw_shard_manifest_free(mw_shard_manifest *m) {
  if (m) lance__table__shard_manifest__free_unpacked(m, NULL);
}

mw_status mw_shard_manifest_set_shard_id(mw_shard_manifest *m, const uint8_t uuid[16],
                                         mw_error *err) {
  if (!m->shard_id) {
    m->shard_id = malloc(sizeof *m->shard_id);
    if (!m->shard_id) return mw_err(err, MW_ERR_NOMEM, "shard manifest: out of memory");
    lance__table__shard_id_proto__init(m->shard_id);
  }
  uint8_t *b = malloc(16);
  if (!b) return mw_err(err, MW_ERR_NOMEM, "shard manifest: out of memory");
  memcpy(b, uuid, 16);
  free(m->shard_id->uuid.data);
  m->shard_id->uuid.data = b;
  m->shard_id->uuid.len = 16;
  m->shard_id->has_uuid = 1;
  return MW_OK;
}

const uint8_t *mw_shard_manifest_shard_id(const mw_shard_manifest *m) {
  if (!m->shard_id || !m->shard_id->has_uuid || m->shard_id->uuid.len != 16) return NULL;
  return m->shard_id->uuid.data;
}

mw_status mw_shard_manifest_add_flushed_generation(mw_shard_manifest *m, uint64_t generation,
                                                   const char *path,
                                                   const mw_flushed_gen_stats *stats,
                                                   mw_error *err) {
  mw_flushed_generation *g = malloc(sizeof *g);
  char *p = path ? strdup(path) : NULL;
  mw_flushed_generation **arr =
      realloc(m->flushed_generations, (m->n_flushed_generations + 1) * sizeof *arr);
  if (!g || (path && !p) || !arr) {
    free(g);
    free(p);
    if (arr) m->flushed_generations = arr;
    return mw_err(err, MW_ERR_NOMEM, "shard manifest: out of memory adding generation %" PRIu64,
                  generation);
  }
  m->flushed_generations = arr;
  lance__table__flushed_generation_proto__init(g);
  g->has_generation = 1;
  g->generation = generation;
  g->path = p;
  if (stats) {
    g->has_in_memory_bytes = g->has_physical_rows = g->has_primary_key_bytes = 1;
    g->in_memory_bytes = stats->in_memory_bytes;
    g->physical_rows = stats->physical_rows;
    g->primary_key_bytes = stats->primary_key_bytes;
  }
  arr[m->n_flushed_generations++] = g;
  return MW_OK;
}

size_t mw_shard_manifest_remove_flushed_generations(mw_shard_manifest *m, uint64_t up_to) {
  size_t kept = 0, removed = 0;
  for (size_t i = 0; i < m->n_flushed_generations; i++) {
    mw_flushed_generation *g = m->flushed_generations[i];
    if (g->generation <= up_to) {
      lance__table__flushed_generation_proto__free_unpacked(g, NULL);
      removed++;
    } else {
      m->flushed_generations[kept++] = g;
    }
  }
  m->n_flushed_generations = kept;
  return removed;
}

/* ------------------------------------------------------------------ JSON */

static void jprintf(mw_buf *b, const char *fmt, ...) MW_PRINTF(2, 3);
static void jprintf(mw_buf *b, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) mw_buf_append(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void jstr(mw_buf *b, const char *s) {
  mw_buf_u8(b, '"');
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') {
      mw_buf_u8(b, '\\');
      mw_buf_u8(b, *p);
    } else if (*p < 0x20) {
      jprintf(b, "\\u%04x", *p);
    } else {
      mw_buf_u8(b, *p);
    }
  }
  mw_buf_u8(b, '"');
}

mw_status mw_shard_manifest_to_json(char **out, const mw_shard_manifest *m, mw_error *err) {
  *out = NULL;
  mw_buf b;
  mw_buf_init(&b);
  jprintf(&b, "{\"version\":%" PRIu64 ",\"writer_epoch\":%" PRIu64, m->version, m->writer_epoch);
  jprintf(&b, ",\"replay_after_wal_entry_position\":%" PRIu64, m->replay_after_wal_entry_position);
  jprintf(&b, ",\"wal_entry_position_last_seen\":%" PRIu64, m->wal_entry_position_last_seen);
  jprintf(&b, ",\"current_generation\":%" PRIu64 ",\"flushed_generations\":[", m->current_generation);
  for (size_t i = 0; i < m->n_flushed_generations; i++) {
    const mw_flushed_generation *g = m->flushed_generations[i];
    jprintf(&b, "%s{\"generation\":%" PRIu64 ",\"path\":", i ? "," : "", g->generation);
    jstr(&b, g->path);
    if (g->has_in_memory_bytes) jprintf(&b, ",\"in_memory_bytes\":%" PRIu64, g->in_memory_bytes);
    if (g->has_physical_rows) jprintf(&b, ",\"physical_rows\":%" PRIu64, g->physical_rows);
    if (g->has_primary_key_bytes)
      jprintf(&b, ",\"primary_key_bytes\":%" PRIu64, g->primary_key_bytes);
    mw_buf_u8(&b, '}');
  }
  jprintf(&b, "],\"shard_spec_id\":%" PRIu32 ",\"shard_id\":", m->shard_spec_id);
  const uint8_t *id = mw_shard_manifest_shard_id(m);
  if (id) {
    char s[MW_UUID_STR_LEN + 1];
    mw_uuid_format(s, id);
    jstr(&b, s);
  } else {
    jprintf(&b, "null");
  }
  if (m->status == MW_SHARD_STATUS_ACTIVE) jprintf(&b, ",\"status\":\"ACTIVE\"");
  else if (m->status == MW_SHARD_STATUS_SEALED) jprintf(&b, ",\"status\":\"SEALED\"");
  else jprintf(&b, ",\"status\":%" PRId32, m->status);
  if (m->n_shard_field_values) {
    jprintf(&b, ",\"shard_field_values\":{");
    for (size_t i = 0; i < m->n_shard_field_values; i++) {
      if (i) mw_buf_u8(&b, ',');
      jstr(&b, m->shard_field_values[i]->key);
      jprintf(&b, ":%" PRId32, m->shard_field_values[i]->value);
    }
    mw_buf_u8(&b, '}');
  }
  if (m->n_shard_field_string_values) {
    jprintf(&b, ",\"shard_field_string_values\":{");
    for (size_t i = 0; i < m->n_shard_field_string_values; i++) {
      if (i) mw_buf_u8(&b, ',');
      jstr(&b, m->shard_field_string_values[i]->key);
      mw_buf_u8(&b, ':');
      jstr(&b, m->shard_field_string_values[i]->value);
    }
    mw_buf_u8(&b, '}');
  }
  if (m->n_shard_field_entries) {
    jprintf(&b, ",\"shard_field_entries\":[");
    for (size_t i = 0; i < m->n_shard_field_entries; i++) {
      const Lance__Table__ShardFieldEntryProto *e = m->shard_field_entries[i];
      jprintf(&b, "%s{\"field_id\":", i ? "," : "");
      jstr(&b, e->field_id);
      jprintf(&b, ",\"value\":\"");
      for (size_t k = 0; k < e->value.len; k++) jprintf(&b, "%02x", e->value.data[k]);
      jprintf(&b, "\"}");
    }
    mw_buf_u8(&b, ']');
  }
  mw_buf_u8(&b, '}');
  mw_buf_u8(&b, '\0');
  if (!mw_buf_ok(&b)) {
    mw_buf_free(&b);
    return mw_err(err, MW_ERR_NOMEM, "shard manifest JSON: out of memory");
  }
  size_t len;
  *out = (char *)mw_buf_take(&b, &len);
  return MW_OK;
}
