/* schema.c - metadata blobs and owned ArrowSchema trees.
 *
 * Metadata blob (Arrow C Data Interface encoding, native = little endian):
 *   int32 n, then n times: int32 key_len, key bytes, int32 value_len, value
 *   bytes (no padding, no NUL terminators).
 * The readers below (count/at/find/size) trust the blob: callers get blobs
 * either from our own builders or after mw_metadata_valid().
 *
 * Owned schema node: format/name/metadata are private copies and `children`
 * is an array of individually malloc'ed child structs. All pointers to free
 * are kept in private_data (mw_schema_priv) so release never trusts fields
 * the consumer may have rewritten. A child moved out by the consumer (bitwise
 * copy + release set to NULL in the parent's slot) is skipped by the parent's
 * release, as the C Data Interface requires; the struct memory of the slot is
 * still ours and is freed. */
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/error.h"

/* ------------------------------------------------------------- metadata */

static int32_t load_i32(const char *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

static void store_i32(char *p, int32_t v) { memcpy(p, &v, 4); }

int32_t mw_metadata_count(const char *blob) { return blob ? load_i32(blob) : 0; }

/* The pair at *p; advances *p past it. */
static mw_kv next_pair(const char **p) {
  mw_kv kv;
  kv.key_len = load_i32(*p);
  kv.key = *p + 4;
  kv.value_len = load_i32(kv.key + kv.key_len);
  kv.value = kv.key + kv.key_len + 4;
  *p = kv.value + kv.value_len;
  return kv;
}

mw_kv mw_metadata_at(const char *blob, int32_t i) {
  const char *p = blob + 4;
  mw_kv kv = next_pair(&p);
  for (int32_t k = 0; k < i; k++) kv = next_pair(&p);
  return kv;
}

bool mw_metadata_find(const char *blob, const char *key, mw_kv *out) {
  int32_t n = mw_metadata_count(blob);
  size_t klen = strlen(key);
  const char *p = blob ? blob + 4 : NULL;
  for (int32_t i = 0; i < n; i++) {
    mw_kv kv = next_pair(&p);
    if ((size_t)kv.key_len == klen && memcmp(kv.key, key, klen) == 0) {
      if (out) *out = kv;
      return true;
    }
  }
  return false;
}

size_t mw_metadata_size(const char *blob) {
  if (!blob) return 0;
  int32_t n = load_i32(blob);
  const char *p = blob + 4;
  for (int32_t i = 0; i < n; i++) next_pair(&p);
  return (size_t)(p - blob);
}

bool mw_metadata_valid(const char *blob, size_t max_len) {
  if (!blob) return true;
  if (max_len < 4) return false;
  int32_t n = load_i32(blob);
  if (n < 0) return false;
  size_t pos = 4;
  for (int32_t i = 0; i < n; i++) {
    for (int j = 0; j < 2; j++) {
      if (max_len - pos < 4) return false;
      int32_t l = load_i32(blob + pos);
      pos += 4;
      if (l < 0 || (size_t)l > max_len - pos) return false;
      pos += (size_t)l;
    }
  }
  return true;
}

char *mw_metadata_build(const mw_kv *pairs, int32_t n, bool *ok) {
  *ok = true;
  if (n <= 0) return NULL;
  size_t total = 4;
  for (int32_t i = 0; i < n; i++) total += 8 + (size_t)pairs[i].key_len + (size_t)pairs[i].value_len;
  char *blob = malloc(total);
  if (!blob) {
    *ok = false;
    return NULL;
  }
  store_i32(blob, n);
  char *p = blob + 4;
  for (int32_t i = 0; i < n; i++) {
    store_i32(p, pairs[i].key_len);
    p += 4;
    if (pairs[i].key_len) memcpy(p, pairs[i].key, (size_t)pairs[i].key_len);
    p += pairs[i].key_len;
    store_i32(p, pairs[i].value_len);
    p += 4;
    if (pairs[i].value_len) memcpy(p, pairs[i].value, (size_t)pairs[i].value_len);
    p += pairs[i].value_len;
  }
  return blob;
}

/* Applies overrides (pairs; value NULL = remove) onto blob's pairs. */
static char *metadata_apply(const char *blob, const mw_kv *ov, int32_t n_ov, bool *ok) {
  int32_t n = mw_metadata_count(blob);
  mw_kv *pairs = malloc(sizeof(mw_kv) * ((size_t)n + (size_t)n_ov + 1));
  if (!pairs) {
    *ok = false;
    return NULL;
  }
  int32_t m = 0;
  for (int32_t i = 0; i < n; i++) pairs[m++] = mw_metadata_at(blob, i);
  for (int32_t j = 0; j < n_ov; j++) {
    int32_t found = -1;
    for (int32_t i = 0; i < m; i++) {
      if (pairs[i].key_len == ov[j].key_len &&
          memcmp(pairs[i].key, ov[j].key, (size_t)ov[j].key_len) == 0) {
        found = i;
        break;
      }
    }
    if (ov[j].value == NULL) {
      if (found >= 0) {
        memmove(&pairs[found], &pairs[found + 1], sizeof(mw_kv) * (size_t)(m - found - 1));
        m--;
      }
    } else if (found >= 0) {
      pairs[found].value = ov[j].value;
      pairs[found].value_len = ov[j].value_len;
    } else {
      pairs[m++] = ov[j];
    }
  }
  char *out = mw_metadata_build(pairs, m, ok);
  free(pairs);
  return out;
}

char *mw_metadata_with(const char *blob, const char *key, const char *value, bool *ok) {
  mw_kv kv = {key, (int32_t)strlen(key), value, value ? (int32_t)strlen(value) : 0};
  return metadata_apply(blob, &kv, 1, ok);
}

char *mw_metadata_merge(const char *blob, const char *overrides, bool *ok) {
  int32_t n = mw_metadata_count(overrides);
  mw_kv *ov = malloc(sizeof(mw_kv) * ((size_t)n + 1));
  if (!ov) {
    *ok = false;
    return NULL;
  }
  for (int32_t i = 0; i < n; i++) {
    ov[i] = mw_metadata_at(overrides, i);
    if (!ov[i].value) ov[i].value = ""; /* an override never removes */
  }
  char *out = metadata_apply(blob, ov, n, ok);
  free(ov);
  return out;
}

bool mw_metadata_equal(const char *a, const char *b) {
  int32_t n = mw_metadata_count(a);
  if (n != mw_metadata_count(b)) return false;
  for (int32_t i = 0; i < n; i++) {
    mw_kv x = mw_metadata_at(a, i), y = mw_metadata_at(b, i);
    if (x.key_len != y.key_len || x.value_len != y.value_len) return false;
    if (memcmp(x.key, y.key, (size_t)x.key_len) != 0) return false;
    if (memcmp(x.value, y.value, (size_t)x.value_len) != 0) return false;
  }
  return true;
}

/* --------------------------------------------------------- owned schemas */

typedef struct mw_schema_priv {
  char *format;
  char *name;
  char *metadata;
  struct ArrowSchema **children;
  int64_t n_children;
} mw_schema_priv;

static void schema_release(struct ArrowSchema *s) {
  if (!s || !s->release) return;
  mw_schema_priv *p = s->private_data;
  if (p) {
    for (int64_t i = 0; i < p->n_children; i++) {
      struct ArrowSchema *c = p->children[i];
      if (c) {
        if (c->release) c->release(c);
        free(c);
      }
    }
    free(p->children);
    free(p->format);
    free(p->name);
    free(p->metadata);
    free(p);
  }
  if (s->dictionary) {
    if (s->dictionary->release) s->dictionary->release(s->dictionary);
    free(s->dictionary);
  }
  s->release = NULL;
}

static char *dup_str(const char *s, bool *ok) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (!d) *ok = false;
  else memcpy(d, s, n);
  return d;
}

mw_status mw_schema_init(struct ArrowSchema *out, const char *format, const char *name,
                         const char *metadata, int64_t flags, int64_t n_children, mw_error *err) {
  memset(out, 0, sizeof *out);
  if (!format || n_children < 0 || n_children > (1 << 24))
    return mw_err(err, MW_ERR_INVALID, "mw_schema_init: bad format or child count");
  mw_schema_priv *p = calloc(1, sizeof *p);
  if (!p) return mw_err(err, MW_ERR_NOMEM, "out of memory building a schema");
  bool ok = true;
  p->format = dup_str(format, &ok);
  p->name = dup_str(name, &ok);
  size_t msize = mw_metadata_size(metadata);
  if (metadata) {
    p->metadata = malloc(msize);
    if (p->metadata) memcpy(p->metadata, metadata, msize);
    else ok = false;
  }
  if (ok && n_children > 0) {
    p->children = calloc((size_t)n_children, sizeof *p->children);
    if (!p->children) ok = false;
    for (int64_t i = 0; ok && i < n_children; i++) {
      p->children[i] = calloc(1, sizeof(struct ArrowSchema));
      if (!p->children[i]) ok = false;
      p->n_children = i + 1;
    }
  }
  out->format = p->format;
  out->name = p->name;
  out->metadata = p->metadata;
  out->flags = flags;
  out->n_children = n_children;
  out->children = p->children;
  out->dictionary = NULL;
  out->private_data = p;
  out->release = schema_release;
  if (!ok) {
    schema_release(out);
    memset(out, 0, sizeof *out);
    return mw_err(err, MW_ERR_NOMEM, "out of memory building a schema");
  }
  return MW_OK;
}

/* metadata: the node's own metadata when NULL, else *metadata. */
static mw_status schema_copy_rec(struct ArrowSchema *out, const struct ArrowSchema *src,
                                 const char *const *metadata, int depth, mw_error *err) {
  if (depth > 64) return mw_err(err, MW_ERR_INVALID, "schema nested too deeply");
  if (!src || !src->release || !src->format)
    return mw_err(err, MW_ERR_INVALID, "schema copy: source released or without format");
  MW_TRY(mw_schema_init(out, src->format, src->name, metadata ? *metadata : src->metadata, src->flags,
                        src->n_children, err));
  for (int64_t i = 0; i < src->n_children; i++) {
    mw_status s = schema_copy_rec(out->children[i], src->children[i], NULL, depth + 1, err);
    if (s != MW_OK) {
      schema_release(out);
      return s;
    }
  }
  if (src->dictionary) {
    out->dictionary = calloc(1, sizeof(struct ArrowSchema));
    mw_status s = out->dictionary ? schema_copy_rec(out->dictionary, src->dictionary, NULL, depth + 1, err)
                                  : mw_err(err, MW_ERR_NOMEM, "out of memory copying a schema");
    if (s != MW_OK) {
      free(out->dictionary);
      out->dictionary = NULL;
      schema_release(out);
      return s;
    }
  }
  return MW_OK;
}

mw_status mw_schema_copy(struct ArrowSchema *out, const struct ArrowSchema *src, mw_error *err) {
  return schema_copy_rec(out, src, NULL, 0, err);
}

mw_status mw_schema_copy_with_metadata(struct ArrowSchema *out, const struct ArrowSchema *src,
                                       const char *metadata, mw_error *err) {
  return schema_copy_rec(out, src, &metadata, 0, err);
}

static bool str_eq(const char *a, const char *b) {
  return strcmp(a ? a : "", b ? b : "") == 0;
}

bool mw_schema_equal(const struct ArrowSchema *a, const struct ArrowSchema *b, bool with_metadata) {
  if (a == b) return true;
  if (!a || !b) return false;
  if (!str_eq(a->format, b->format) || !str_eq(a->name, b->name)) return false;
  const int64_t mask = ARROW_FLAG_NULLABLE | ARROW_FLAG_MAP_KEYS_SORTED;
  if ((a->flags & mask) != (b->flags & mask)) return false;
  if (a->n_children != b->n_children) return false;
  if (with_metadata && !mw_metadata_equal(a->metadata, b->metadata)) return false;
  for (int64_t i = 0; i < a->n_children; i++)
    if (!mw_schema_equal(a->children[i], b->children[i], with_metadata)) return false;
  if ((a->dictionary == NULL) != (b->dictionary == NULL)) return false;
  if (a->dictionary && !mw_schema_equal(a->dictionary, b->dictionary, with_metadata)) return false;
  return true;
}

void mw_schema_release(struct ArrowSchema *s) {
  if (s && s->release) s->release(s);
}

void mw_array_release(struct ArrowArray *a) {
  if (a && a->release) a->release(a);
}
