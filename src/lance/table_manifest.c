/*
 * table_manifest.c - latest version, framing and protobuf decoding of Lance
 * table manifests (see table_manifest.h).
 *
 * Design: the reader never trusts a length or a position it read: every
 * frame is checked against the file size before protobuf-c sees it, and
 * protobuf-c itself rejects malformed wire data. Finding the latest version
 * costs one GET (the hint) and two HEADs in the common case; a listing of
 * `_versions/` is the fallback and the authority when the hint is stale,
 * missing or unreadable (Lance may not update the hint on every commit).
 */
#include "lance/table_manifest.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"

#define HINT_KEY "_versions/latest_version_hint.json"

void mw_lance_manifest_key(char *buf, size_t cap, uint64_t version) {
  snprintf(buf, cap, "_versions/%020" PRIu64 ".manifest", UINT64_MAX - version);
}

static void v1_key(char *buf, size_t cap, uint64_t version) {
  snprintf(buf, cap, "_versions/%" PRIu64 ".manifest", version);
}

/* Parses 1..20 decimal digits (no overflow) of s[0..n). */
static bool parse_u64_digits(uint64_t *out, const char *s, size_t n) {
  if (n == 0 || n > 20) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool mw_lance_version_from_key(uint64_t *out, const char *key) {
  if (strncmp(key, "_versions/", 10) != 0) return false;
  const char *name = key + 10;
  if (strchr(name, '/')) return false;
  size_t len = strlen(name);
  static const char ext[] = ".manifest";
  if (len <= sizeof ext - 1 || strcmp(name + len - (sizeof ext - 1), ext) != 0) return false;
  uint64_t n;
  size_t digits = len - (sizeof ext - 1);
  if (!parse_u64_digits(&n, name, digits)) return false;
  *out = digits == 20 ? UINT64_MAX - n : n; /* V2 names are 20 digits */
  return true;
}

typedef struct latest_scan {
  uint64_t best;
} latest_scan;

static int on_version(void *arg, const char *key, uint64_t size) {
  (void)size;
  latest_scan *s = arg;
  uint64_t v;
  if (mw_lance_version_from_key(&v, key) && v > s->best) s->best = v;
  return 0;
}

static mw_status exists(bool *out, mw_objstore *store, const char *key, mw_error *err) {
  uint64_t size;
  mw_status st = mw_objstore_head(store, &size, key, err);
  if (st == MW_ERR_NOT_FOUND) {
    mw_err_clear(err);
    *out = false;
    return MW_OK;
  }
  *out = st == MW_OK;
  return st;
}

/* The version in the hint, or 0 when absent / unreadable. */
static mw_status read_hint(uint64_t *out, mw_objstore *store, mw_error *err) {
  *out = 0;
  uint8_t *data = NULL;
  size_t len = 0;
  mw_status st = mw_objstore_get(store, &data, &len, HINT_KEY, 0, MW_OBJSTORE_TO_END, err);
  if (st == MW_ERR_NOT_FOUND) {
    mw_err_clear(err);
    return MW_OK;
  }
  if (st != MW_OK) return st;
  /* {"version":N}: the digits after "version" and a colon */
  char text[128];
  size_t n = len < sizeof text - 1 ? len : sizeof text - 1;
  if (n) memcpy(text, data, n);
  text[n] = '\0';
  mw_free(data);
  const char *p = strstr(text, "\"version\"");
  if (p == NULL) return MW_OK;
  p += 9;
  while (*p == ' ' || *p == ':') p++;
  size_t d = 0;
  while (p[d] >= '0' && p[d] <= '9') d++;
  uint64_t v;
  if (parse_u64_digits(&v, p, d)) *out = v;
  return MW_OK;
}

mw_status mw_lance_table_latest_version(uint64_t *out, mw_objstore *store, mw_error *err) {
  *out = 0;
  uint64_t hint;
  MW_TRY(read_hint(&hint, store, err));
  if (hint >= 1 && hint < UINT64_MAX - 1) {
    char key[64];
    bool here, next;
    mw_lance_manifest_key(key, sizeof key, hint);
    MW_TRY(exists(&here, store, key, err));
    if (here) {
      mw_lance_manifest_key(key, sizeof key, hint + 1);
      MW_TRY(exists(&next, store, key, err));
      if (!next) {
        *out = hint;
        return MW_OK;
      }
    }
  }
  latest_scan s = {0};
  mw_status st = mw_objstore_list(store, "_versions/", on_version, &s, err);
  if (st != MW_OK) return mw_err_wrap(err, st, "listing _versions/");
  if (s.best == 0) return mw_err(err, MW_ERR_NOT_FOUND, "not a Lance table: no manifest under _versions/");
  *out = s.best;
  return MW_OK;
}

void mw_lance_table_manifest_free(mw_lance_table_manifest *m) {
  if (m == NULL) return;
  if (m->pb) lance__table__table_manifest__free_unpacked(m->pb, NULL);
  if (m->index) lance__table__index_section_proto__free_unpacked(m->index, NULL);
  free(m);
}

/* The frame at pos: u32 LE length + that many bytes, all before `end`. */
static mw_status frame_at(const uint8_t **body, size_t *body_len, const uint8_t *data, size_t end,
                          uint64_t pos, const char *what, const char *key, mw_error *err) {
  if (pos > end || end - pos < 4)
    return mw_err(err, MW_ERR_CORRUPT, "%s: %s position %" PRIu64 " is outside the file (%zu bytes before the trailer)",
                  key, what, pos, end);
  uint32_t len = mw_load_u32le(data + pos);
  if ((uint64_t)len > end - pos - 4)
    return mw_err(err, MW_ERR_CORRUPT, "%s: %s at offset %" PRIu64 " claims %" PRIu32
                  " bytes, only %" PRIu64 " remain before the trailer", key, what, pos, len,
                  (uint64_t)(end - pos - 4));
  *body = data + pos + 4;
  *body_len = len;
  return MW_OK;
}

mw_status mw_lance_table_manifest_decode(mw_lance_table_manifest **out, const uint8_t *data,
                                         size_t len, const char *key, mw_error *err) {
  *out = NULL;
  if (key == NULL) key = "manifest";
  if (len < 16 || data == NULL)
    return mw_err(err, MW_ERR_CORRUPT, "%s: %zu bytes is too short for a Lance manifest (16-byte trailer)",
                  key, len);
  if (memcmp(data + len - 4, "LANC", 4) != 0)
    return mw_err(err, MW_ERR_CORRUPT, "%s: no LANC magic at offset %zu", key, len - 4);
  uint64_t upos = mw_load_u64le(data + len - 16);
  size_t end = len - 16;
  mw_lance_table_manifest *m = calloc(1, sizeof *m);
  if (m == NULL) return mw_err(err, MW_ERR_NOMEM, "%s: out of memory", key);
  m->format_major = mw_load_u16le(data + len - 8);
  m->format_minor = mw_load_u16le(data + len - 6);
  const uint8_t *body;
  size_t body_len;
  mw_status st = frame_at(&body, &body_len, data, end, upos, "manifest", key, err);
  if (st != MW_OK) goto fail;
  m->pb = lance__table__table_manifest__unpack(NULL, body_len, body);
  if (m->pb == NULL) {
    st = mw_err(err, MW_ERR_CORRUPT, "%s: the manifest protobuf at offset %" PRIu64 " (%zu bytes) does not decode",
                key, upos + 4, body_len);
    goto fail;
  }
  m->version = m->pb->version;
  if (m->pb->has_index_section) {
    uint64_t ipos = m->pb->index_section;
    st = frame_at(&body, &body_len, data, end, ipos, "index section", key, err);
    if (st != MW_OK) goto fail;
    m->index = lance__table__index_section_proto__unpack(NULL, body_len, body);
    if (m->index == NULL) {
      st = mw_err(err, MW_ERR_CORRUPT, "%s: the index section at offset %" PRIu64 " (%zu bytes) does not decode",
                  key, ipos + 4, body_len);
      goto fail;
    }
  }
  *out = m;
  return MW_OK;
fail:
  mw_lance_table_manifest_free(m);
  return st;
}

mw_status mw_lance_table_manifest_read(mw_lance_table_manifest **out, mw_objstore *store,
                                       uint64_t version, mw_error *err) {
  *out = NULL;
  char key[64];
  uint8_t *data = NULL;
  size_t len = 0;
  mw_lance_manifest_key(key, sizeof key, version);
  mw_status st = mw_objstore_get(store, &data, &len, key, 0, MW_OBJSTORE_TO_END, err);
  if (st == MW_ERR_NOT_FOUND) {
    v1_key(key, sizeof key, version);
    st = mw_objstore_get(store, &data, &len, key, 0, MW_OBJSTORE_TO_END, err);
  }
  if (st != MW_OK) return mw_err_wrap(err, st, "reading version %" PRIu64 " of the table", version);
  st = mw_lance_table_manifest_decode(out, data, len, key, err);
  mw_free(data);
  if (st == MW_OK && (*out)->pb->version != version) {
    mw_status bad = mw_err(err, MW_ERR_CORRUPT, "%s: holds version %" PRIu64 ", expected %" PRIu64, key,
                           (*out)->pb->version, version);
    mw_lance_table_manifest_free(*out);
    *out = NULL;
    return bad;
  }
  return st;
}

const Lance__Table__IndexMetadataProto *mw_lance_table_find_index(const mw_lance_table_manifest *m,
                                                                 const char *name) {
  if (m == NULL || m->index == NULL) return NULL;
  for (size_t i = 0; i < m->index->n_indices; i++) {
    const Lance__Table__IndexMetadataProto *x = m->index->indices[i];
    if (x && x->name && strcmp(x->name, name) == 0) return x;
  }
  return NULL;
}
