/*
 * routing.c - shard ids, the Spark-style bucket hash and per-row routing of
 * Arrow record batches (see routing.h for the rules, LSM.md sections 2-3 for
 * where they come from).
 *
 * Design: routing a batch is one pass over the key column. Each row yields
 * a "shard key" (the bucket number, or the identity value's bytes); a small
 * table maps shard keys to the batch's distinct shards, so the SHA-1 of a
 * shard's UUID is computed once per distinct shard, not once per row. For
 * bucket specs the table is a plain array indexed by bucket (N <= 1024);
 * for identity it is an open-addressing hash table whose keys point into
 * the batch's own buffers (strings) or into a per-shard inline copy
 * (integers, bools), so nothing is copied per row. All hash arithmetic is
 * done in uint32_t, where wrap-around is defined, and reinterpreted as
 * int32_t only at the edges (the values Lance computes are signed). The
 * ids of buckets 0..1023 are computed once per process (pthread_once) and
 * then copied: SHA-1 dominated routing over many buckets otherwise.
 */
#include "table/routing.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/uuid.h"

const uint8_t mw_shard_namespace[16] = {'L', 'S', 'M', 'W', 'R', 'I', 'T', 'E',
                                        '_', 'S', 'H', 'A', 'R', 'D', '0', '1'};

/* ------------------------------------------------------------------ murmur3 */

static uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static uint32_t mix_k1(uint32_t k) {
  k *= 0xcc9e2d51u;
  k = rotl32(k, 15);
  return k * 0x1b873593u;
}

static uint32_t mix_h1(uint32_t h, uint32_t k) {
  h ^= k;
  h = rotl32(h, 13);
  return h * 5u + 0xe6546b64u;
}

static uint32_t fmix(uint32_t h, uint32_t len) {
  h ^= len;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

/* Two's complement reinterpretations without implementation-defined casts. */
static int32_t as_i32(uint32_t v) {
  int32_t r;
  memcpy(&r, &v, sizeof r);
  return r;
}
static uint32_t as_u32(int32_t v) {
  uint32_t r;
  memcpy(&r, &v, sizeof r);
  return r;
}

int32_t mw_murmur3_int(int32_t value, int32_t seed) {
  return as_i32(fmix(mix_h1(as_u32(seed), mix_k1(as_u32(value))), 4));
}

int32_t mw_murmur3_long(int64_t value, int32_t seed) {
  uint64_t u;
  memcpy(&u, &value, sizeof u);
  uint32_t h = mix_h1(as_u32(seed), mix_k1((uint32_t)u));
  h = mix_h1(h, mix_k1((uint32_t)(u >> 32)));
  return as_i32(fmix(h, 8));
}

int32_t mw_murmur3_bytes(const void *data, size_t len, int32_t seed) {
  const uint8_t *p = data;
  uint32_t h = as_u32(seed);
  size_t full = len - len % 4;
  for (size_t i = 0; i < full; i += 4) {
    uint32_t k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
                 (uint32_t)p[i + 3] << 24;
    h = mix_h1(h, mix_k1(k));
  }
  for (size_t i = full; i < len; i++) {
    /* Spark's quirk: each tail byte is a signed byte widened to int32. */
    uint32_t k = p[i] >= 0x80 ? 0xffffff00u | p[i] : p[i];
    h = mix_h1(h, mix_k1(k));
  }
  return as_i32(fmix(h, (uint32_t)len));
}

uint32_t mw_bucket_of_hash(int32_t hash, uint32_t num_buckets) {
  return (as_u32(hash) & 0x7fffffffu) % num_buckets;
}

/* ------------------------------------------------------------------- specs */

static bool column_ok(const char *column, size_t len) {
  return column != NULL && len > 0 && len < MW_ROUTING_COLUMN_MAX;
}

mw_status mw_routing_spec_init(mw_routing_spec *out, mw_sharding_kind kind, const char *column,
                               uint32_t num_buckets, mw_error *err) {
  memset(out, 0, sizeof *out);
  switch (kind) {
    case MW_SHARDING_UNSHARDED:
      out->kind = kind;
      return MW_OK;
    case MW_SHARDING_BUCKET:
      if (num_buckets < 1 || num_buckets > MW_ROUTING_MAX_BUCKETS)
        return mw_err(err, MW_ERR_INVALID, "bucket sharding: num_buckets %" PRIu32
                      " is outside [1, %u]", num_buckets, MW_ROUTING_MAX_BUCKETS);
      out->num_buckets = num_buckets;
      break;
    case MW_SHARDING_IDENTITY:
      break;
    default:
      return mw_err(err, MW_ERR_INVALID, "unknown sharding kind %d", (int)kind);
  }
  size_t len = column ? strlen(column) : 0;
  if (!column_ok(column, len))
    return mw_err(err, MW_ERR_INVALID, "%s sharding needs a column name of 1 to %d bytes",
                  kind == MW_SHARDING_BUCKET ? "bucket" : "identity", MW_ROUTING_COLUMN_MAX - 1);
  memcpy(out->column, column, len + 1);
  out->kind = kind;
  return MW_OK;
}

mw_status mw_routing_spec_parse(mw_routing_spec *out, const char *text, mw_error *err) {
  memset(out, 0, sizeof *out);
  if (text == NULL) return mw_err(err, MW_ERR_INVALID, "sharding spec is NULL");
  static const char usage[] = "expected unsharded, bucket:COLUMN:N (N in [1, 1024]) or identity:COLUMN";
  if (strcmp(text, "unsharded") == 0) return mw_routing_spec_init(out, MW_SHARDING_UNSHARDED, NULL, 0, err);
  if (strncmp(text, "identity:", 9) == 0) {
    const char *col = text + 9;
    if (!column_ok(col, strlen(col)))
      return mw_err(err, MW_ERR_INVALID, "sharding spec '%.300s': bad column name; %s", text, usage);
    return mw_routing_spec_init(out, MW_SHARDING_IDENTITY, col, 0, err);
  }
  if (strncmp(text, "bucket:", 7) == 0) {
    const char *col = text + 7, *last = strrchr(text, ':');
    size_t len = (size_t)(last - col);
    if (last < col || !column_ok(col, len))
      return mw_err(err, MW_ERR_INVALID, "sharding spec '%.300s': bad column name; %s", text, usage);
    const char *n = last + 1;
    uint64_t v = 0;
    size_t i = 0;
    for (; n[i] >= '0' && n[i] <= '9' && v <= MW_ROUTING_MAX_BUCKETS; i++) v = v * 10 + (uint64_t)(n[i] - '0');
    if (i == 0 || n[i] != '\0' || v < 1 || v > MW_ROUTING_MAX_BUCKETS)
      return mw_err(err, MW_ERR_INVALID, "sharding spec '%.300s': bucket count '%.32s' is not in [1, %u]",
                    text, n, MW_ROUTING_MAX_BUCKETS);
    char colbuf[MW_ROUTING_COLUMN_MAX];
    memcpy(colbuf, col, len);
    colbuf[len] = '\0';
    return mw_routing_spec_init(out, MW_SHARDING_BUCKET, colbuf, (uint32_t)v, err);
  }
  return mw_err(err, MW_ERR_INVALID, "sharding spec '%.300s': %s", text, usage);
}

void mw_routing_spec_format(char *buf, size_t cap, const mw_routing_spec *spec) {
  if (cap == 0) return;
  switch (spec->kind) {
    case MW_SHARDING_BUCKET:
      snprintf(buf, cap, "bucket:%s:%" PRIu32, spec->column, spec->num_buckets);
      break;
    case MW_SHARDING_IDENTITY:
      snprintf(buf, cap, "identity:%s", spec->column);
      break;
    default:
      snprintf(buf, cap, "unsharded");
      break;
  }
}

/* --------------------------------------------------------------- shard ids */

mw_status mw_shard_id_unsharded(uint8_t out[16], mw_error *err) {
  return mw_uuid_v5(out, mw_shard_namespace, "unsharded", 9, err);
}

static mw_status bucket_id_compute(uint8_t out[16], uint32_t bucket, mw_error *err) {
  char name[24];
  int n = snprintf(name, sizeof name, "bucket-%" PRIu32, bucket);
  return mw_uuid_v5(out, mw_shard_namespace, name, (size_t)n, err);
}

/* The ids of buckets 0..1023, computed once per process (a SHA-1 costs
 * ~0.3 us; a 1000-row batch over 1024 buckets touches ~640 of them). */
static uint8_t bucket_ids[MW_ROUTING_MAX_BUCKETS][16];
static bool bucket_ids_ok;
static pthread_once_t bucket_ids_once = PTHREAD_ONCE_INIT;

static void bucket_ids_init(void) {
  for (uint32_t b = 0; b < MW_ROUTING_MAX_BUCKETS; b++)
    if (bucket_id_compute(bucket_ids[b], b, NULL) != MW_OK) return;
  bucket_ids_ok = true;
}

mw_status mw_shard_id_bucket(uint8_t out[16], uint32_t bucket, mw_error *err) {
  if (bucket < MW_ROUTING_MAX_BUCKETS && pthread_once(&bucket_ids_once, bucket_ids_init) == 0 &&
      bucket_ids_ok) {
    memcpy(out, bucket_ids[bucket], 16);
    return MW_OK;
  }
  return bucket_id_compute(out, bucket, err);
}

mw_status mw_shard_id_identity(uint8_t out[16], const void *value, size_t len, mw_error *err) {
  static const char prefix[] = "identity-";
  const size_t plen = sizeof prefix - 1;
  uint8_t small[256];
  uint8_t *name = small;
  if (len > sizeof small - plen) {
    if (len > SIZE_MAX - plen) return mw_err(err, MW_ERR_INVALID, "identity value too large");
    name = malloc(plen + len);
    if (name == NULL) return mw_err(err, MW_ERR_NOMEM, "identity shard id: out of memory");
  }
  memcpy(name, prefix, plen);
  if (len) memcpy(name + plen, value, len);
  mw_status st = mw_uuid_v5(out, mw_shard_namespace, name, plen + len, err);
  if (name != small) free(name);
  return st;
}

/* ------------------------------------------------------------- key types */

static bool bucket_type_ok(mw_type_id id) {
  switch (id) {
    case MW_T_BOOL:
    case MW_T_INT8: case MW_T_UINT8: case MW_T_INT16: case MW_T_UINT16:
    case MW_T_INT32: case MW_T_UINT32: case MW_T_INT64: case MW_T_UINT64:
    case MW_T_FLOAT32: case MW_T_FLOAT64:
    case MW_T_DATE32: case MW_T_TIME32: case MW_T_TIME64: case MW_T_TIMESTAMP:
    case MW_T_UTF8: case MW_T_LARGE_UTF8:
      return true;
    default:
      return false;
  }
}

static bool identity_type_ok(mw_type_id id) {
  switch (id) {
    case MW_T_BOOL:
    case MW_T_INT8: case MW_T_UINT8: case MW_T_INT16: case MW_T_UINT16:
    case MW_T_INT32: case MW_T_UINT32: case MW_T_INT64: case MW_T_UINT64:
    case MW_T_UTF8: case MW_T_LARGE_UTF8:
      return true;
    default:
      return false;
  }
}

mw_status mw_routing_check_type(mw_sharding_kind kind, const mw_type *type, const char *column,
                                mw_error *err) {
  bool ok = kind == MW_SHARDING_UNSHARDED ||
            (kind == MW_SHARDING_BUCKET && bucket_type_ok(type->id)) ||
            (kind == MW_SHARDING_IDENTITY && identity_type_ok(type->id));
  if (ok) return MW_OK;
  char name[96];
  mw_type_name(name, sizeof name, type);
  return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': %s sharding does not support type %s",
                column ? column : "", kind == MW_SHARDING_BUCKET ? "bucket" : "identity", name);
}

/* ---------------------------------------------------------- value access */

/* j = index into the column's buffers (offsets already added). */
static int64_t load_i64(const void *buf, int64_t j) {
  int64_t v;
  memcpy(&v, (const uint8_t *)buf + j * 8, 8);
  return v;
}
static int32_t load_i32(const void *buf, int64_t j) {
  int32_t v;
  memcpy(&v, (const uint8_t *)buf + j * 4, 4);
  return v;
}

/* The value bytes of row j of a utf8 / large_utf8 column. */
static const uint8_t *string_at(const struct ArrowArray *a, bool large, int64_t j, size_t *len) {
  int64_t start, end;
  if (large) {
    start = load_i64(a->buffers[1], j);
    end = load_i64(a->buffers[1], j + 1);
  } else {
    start = load_i32(a->buffers[1], j);
    end = load_i32(a->buffers[1], j + 1);
  }
  *len = (size_t)(end - start); /* validated: monotonic, non-negative */
  return *len ? (const uint8_t *)a->buffers[2] + start : (const uint8_t *)"";
}

static uint32_t f32_canonical_bits(float f) {
  if (f == 0.0f) return 0;
  if (isnan(f)) return 0x7fc00000u;
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

static uint64_t f64_canonical_bits(double d) {
  if (d == 0.0) return 0;
  if (isnan(d)) return UINT64_C(0x7ff8000000000000);
  uint64_t b;
  memcpy(&b, &d, 8);
  return b;
}

static int32_t u32_as_i32(uint32_t v) { return as_i32(v); }
static int64_t u64_as_i64(uint64_t v) {
  int64_t r;
  memcpy(&r, &v, 8);
  return r;
}

/* Bucket hash of the non-null value at index j (type checked before). */
static int32_t hash_value(const mw_type *t, const struct ArrowArray *a, int64_t j) {
  const void *v = a->buffers[1];
  switch (t->id) {
    case MW_T_BOOL: return mw_murmur3_int(mw_bit_get(v, j) ? 1 : 0, 0);
    case MW_T_INT8: return mw_murmur3_int(((const int8_t *)v)[j], 0);
    case MW_T_UINT8: return mw_murmur3_int(((const uint8_t *)v)[j], 0);
    case MW_T_INT16: {
      int16_t x;
      memcpy(&x, (const uint8_t *)v + j * 2, 2);
      return mw_murmur3_int(x, 0);
    }
    case MW_T_UINT16: {
      uint16_t x;
      memcpy(&x, (const uint8_t *)v + j * 2, 2);
      return mw_murmur3_int(x, 0);
    }
    case MW_T_INT32: case MW_T_DATE32: case MW_T_TIME32: return mw_murmur3_int(load_i32(v, j), 0);
    case MW_T_UINT32: {
      uint32_t x;
      memcpy(&x, (const uint8_t *)v + j * 4, 4);
      return mw_murmur3_int(u32_as_i32(x), 0);
    }
    case MW_T_INT64: case MW_T_TIME64: case MW_T_TIMESTAMP: case MW_T_UINT64:
      return mw_murmur3_long(load_i64(v, j), 0);
    case MW_T_FLOAT32: {
      float f;
      memcpy(&f, (const uint8_t *)v + j * 4, 4);
      return mw_murmur3_int(u32_as_i32(f32_canonical_bits(f)), 0);
    }
    case MW_T_FLOAT64: {
      double d;
      memcpy(&d, (const uint8_t *)v + j * 8, 8);
      return mw_murmur3_long(u64_as_i64(f64_canonical_bits(d)), 0);
    }
    case MW_T_UTF8: case MW_T_LARGE_UTF8: {
      size_t len;
      const uint8_t *s = string_at(a, t->id == MW_T_LARGE_UTF8, j, &len);
      return mw_murmur3_bytes(s, len, 0);
    }
    default: return 0; /* unreachable: mw_routing_check_type refused it */
  }
}

/* Identity bytes of the non-null value at index j: integers little-endian
 * at their width (into inl), strings in place, bool one byte. */
static const uint8_t *identity_bytes(const mw_type *t, const struct ArrowArray *a, int64_t j,
                                     uint8_t inl[8], size_t *len) {
  const uint8_t *v = a->buffers[1];
  size_t w = 0;
  switch (t->id) {
    case MW_T_BOOL:
      inl[0] = mw_bit_get(v, j) ? 1 : 0;
      *len = 1;
      return inl;
    case MW_T_INT8: case MW_T_UINT8: w = 1; break;
    case MW_T_INT16: case MW_T_UINT16: w = 2; break;
    case MW_T_INT32: case MW_T_UINT32: w = 4; break;
    case MW_T_INT64: case MW_T_UINT64: w = 8; break;
    case MW_T_UTF8: case MW_T_LARGE_UTF8:
      return string_at(a, t->id == MW_T_LARGE_UTF8, j, len);
    default:
      *len = 0;
      return inl; /* unreachable: type checked */
  }
  /* The buffer holds native-endian values; emit them little-endian. */
  uint64_t x = 0;
  uint8_t raw[8];
  memcpy(raw, v + (size_t)j * w, w);
  switch (w) {
    case 1: x = raw[0]; break;
    case 2: { uint16_t y; memcpy(&y, raw, 2); x = y; break; }
    case 4: { uint32_t y; memcpy(&y, raw, 4); x = y; break; }
    default: memcpy(&x, raw, 8); break;
  }
  for (size_t i = 0; i < w; i++) inl[i] = (uint8_t)(x >> (8 * i));
  *len = w;
  return inl;
}

/* ------------------------------------------------------------- the batch */

void mw_routing_free(mw_routing *r) {
  if (r == NULL) return;
  free(r->row_shard);
  free(r->shard_ids);
  free(r->shard_rows);
  free(r->shard_bucket);
  memset(r, 0, sizeof *r);
}

/* Growable per-shard arrays, plus the identity keys. */
typedef struct shard_set {
  mw_routing *r;
  uint32_t cap;
  const uint8_t **key_ptr; /* identity: value bytes (into the batch or key_inl) */
  size_t *key_len;
  uint8_t (*key_inl)[8];
  uint32_t *slots;         /* identity hash table: shard index + 1, 0 = empty */
  uint32_t *slot_hash;
  uint32_t n_slots;        /* power of two, > 2 * n_shards */
} shard_set;

static void shard_set_free(shard_set *s) {
  free(s->key_ptr);
  free(s->key_len);
  free(s->key_inl);
  free(s->slots);
  free(s->slot_hash);
}

#define GROW(ptr, n)                                                        \
  do {                                                                      \
    void *g_ = realloc((ptr), (size_t)(n) * sizeof *(ptr));                 \
    if (g_ == NULL) return mw_err(err, MW_ERR_NOMEM, "routing: out of memory"); \
    (ptr) = g_;                                                             \
  } while (0)

/* Appends a shard with the given id; returns its index in *idx. */
static mw_status add_shard(shard_set *s, const uint8_t id[16], int32_t bucket, bool identity,
                           uint32_t *idx, mw_error *err) {
  mw_routing *r = s->r;
  if (r->n_shards == s->cap) {
    if (s->cap > UINT32_MAX / 2) return mw_err(err, MW_ERR_NOMEM, "routing: too many shards");
    uint32_t cap = s->cap ? s->cap * 2 : 8;
    GROW(r->shard_ids, cap);
    GROW(r->shard_rows, cap);
    GROW(r->shard_bucket, cap);
    if (identity) {
      GROW(s->key_ptr, cap);
      GROW(s->key_len, cap);
      GROW(s->key_inl, cap);
    }
    s->cap = cap;
  }
  uint32_t i = r->n_shards++;
  memcpy(r->shard_ids[i], id, 16);
  r->shard_rows[i] = 0;
  r->shard_bucket[i] = bucket;
  *idx = i;
  return MW_OK;
}

static mw_status rehash(shard_set *s, uint32_t n_slots, mw_error *err) {
  uint32_t *slots = calloc(n_slots, sizeof *slots), *hashes = calloc(n_slots, sizeof *hashes);
  if (slots == NULL || hashes == NULL) {
    free(slots);
    free(hashes);
    return mw_err(err, MW_ERR_NOMEM, "routing: out of memory");
  }
  for (uint32_t k = 0; k < s->n_slots; k++) {
    if (s->slots[k] == 0) continue;
    uint32_t p = s->slot_hash[k] & (n_slots - 1);
    while (slots[p]) p = (p + 1) & (n_slots - 1);
    slots[p] = s->slots[k];
    hashes[p] = s->slot_hash[k];
  }
  free(s->slots);
  free(s->slot_hash);
  s->slots = slots;
  s->slot_hash = hashes;
  s->n_slots = n_slots;
  return MW_OK;
}

/* Key bytes of identity shard i: in the batch, or inline for integers and
 * bools (key_ptr NULL; kept by index because key_inl moves when it grows). */
static const uint8_t *shard_key(const shard_set *s, uint32_t i) {
  return s->key_ptr[i] ? s->key_ptr[i] : s->key_inl[i];
}

/* The shard of an identity value (found or added). `in_batch` tells whether
 * key points into the batch (kept as is) or at a temporary (copied). */
static mw_status identity_shard(shard_set *s, const uint8_t *key, size_t len, bool in_batch,
                                uint32_t *idx, mw_error *err) {
  uint32_t h = as_u32(mw_murmur3_bytes(key, len, 0x5eed));
  uint32_t mask = s->n_slots - 1, p = h & mask;
  for (; s->slots[p]; p = (p + 1) & mask) {
    uint32_t i = s->slots[p] - 1;
    if (s->slot_hash[p] == h && s->key_len[i] == len && memcmp(shard_key(s, i), key, len) == 0) {
      *idx = i;
      return MW_OK;
    }
  }
  uint8_t id[16];
  MW_TRY(mw_shard_id_identity(id, key, len, err));
  MW_TRY(add_shard(s, id, -1, true, idx, err));
  uint32_t i = *idx;
  s->key_len[i] = len;
  if (in_batch) {
    s->key_ptr[i] = key;
  } else {
    s->key_ptr[i] = NULL;
    memcpy(s->key_inl[i], key, len); /* len <= 8 */
  }
  s->slots[p] = i + 1;
  s->slot_hash[p] = h;
  if ((uint64_t)s->r->n_shards * 2 >= s->n_slots) {
    if (s->n_slots > UINT32_MAX / 2) return mw_err(err, MW_ERR_NOMEM, "routing: too many shards");
    MW_TRY(rehash(s, s->n_slots * 2, err));
  }
  return MW_OK;
}

/* Checks the batch's top-level shape; finds and validates the key column. */
static mw_status key_column(const struct ArrowSchema **cs, const struct ArrowArray **ca, mw_type *t,
                            const mw_routing_spec *spec, const struct ArrowSchema *schema,
                            const struct ArrowArray *batch, mw_error *err) {
  if (schema == NULL || schema->format == NULL || strcmp(schema->format, "+s") != 0)
    return mw_err(err, MW_ERR_INVALID, "routing: the batch schema must be a struct (\"+s\")");
  if (schema->n_children < 0 || (schema->n_children > 0 && schema->children == NULL))
    return mw_err(err, MW_ERR_INVALID, "routing: the batch schema has a broken children list");
  if (batch == NULL || batch->release == NULL)
    return mw_err(err, MW_ERR_INVALID, "routing: the batch is missing or released");
  if (batch->length < 0 || batch->offset < 0 || batch->offset > INT64_MAX - batch->length)
    return mw_err(err, MW_ERR_INVALID, "routing: batch has bad length %" PRId64 " / offset %" PRId64,
                  batch->length, batch->offset);
  if (batch->null_count > 0)
    return mw_err(err, MW_ERR_INVALID,
                  "routing: a record batch has no top-level nulls (null_count %" PRId64 ")",
                  batch->null_count);
  if (spec->kind == MW_SHARDING_UNSHARDED) return MW_OK;
  if (batch->n_children != schema->n_children || (batch->n_children > 0 && batch->children == NULL))
    return mw_err(err, MW_ERR_INVALID, "routing: batch has %" PRId64 " columns, schema has %" PRId64,
                  batch->n_children, schema->n_children);
  int64_t col = -1;
  for (int64_t i = 0; i < schema->n_children && col < 0; i++) {
    const struct ArrowSchema *c = schema->children[i];
    if (c != NULL && c->name != NULL && strcmp(c->name, spec->column) == 0) col = i;
  }
  if (col < 0) return mw_err(err, MW_ERR_INVALID, "routing: the batch has no column '%s'", spec->column);
  *cs = schema->children[col];
  *ca = batch->children[col];
  if (*ca == NULL) return mw_err(err, MW_ERR_INVALID, "column '%s': missing array", spec->column);
  MW_TRY(mw_type_from_format(t, (*cs)->format, err));
  MW_TRY(mw_routing_check_type(spec->kind, t, spec->column, err));
  MW_TRY(mw_array_validate(*cs, *ca, spec->column, err));
  if ((*ca)->length < batch->offset + batch->length)
    return mw_err(err, MW_ERR_INVALID,
                  "column '%s': length %" PRId64 " is shorter than the batch (%" PRId64 " rows)",
                  spec->column, (*ca)->length, batch->offset + batch->length);
  return MW_OK;
}

static mw_status route(shard_set *s, const mw_routing_spec *spec, const struct ArrowSchema *schema,
                       const struct ArrowArray *batch, mw_error *err) {
  mw_routing *out = s->r;
  const struct ArrowSchema *cs = NULL;
  const struct ArrowArray *ca = NULL;
  mw_type t;
  MW_TRY(key_column(&cs, &ca, &t, spec, schema, batch, err));
  int64_t n = batch->length;
  out->n_rows = n;
  if (n == 0) return MW_OK;
  if ((uint64_t)n > SIZE_MAX / sizeof *out->row_shard)
    return mw_err(err, MW_ERR_NOMEM, "routing: batch too large");
  out->row_shard = malloc((size_t)n * sizeof *out->row_shard);
  if (out->row_shard == NULL) return mw_err(err, MW_ERR_NOMEM, "routing: out of memory");

  if (spec->kind == MW_SHARDING_UNSHARDED) {
    uint8_t id[16];
    uint32_t idx;
    MW_TRY(mw_shard_id_unsharded(id, err));
    MW_TRY(add_shard(s, id, -1, false, &idx, err));
    for (int64_t i = 0; i < n; i++) out->row_shard[i] = idx;
    out->shard_rows[idx] = n;
    return MW_OK;
  }

  /* index of row i in the key column's buffers (struct children inherit
   * the batch's offset, then add their own) */
  const int64_t base = batch->offset + ca->offset;
  const void *validity = ca->buffers[0];
  if (spec->kind == MW_SHARDING_BUCKET) {
    int32_t of_bucket[MW_ROUTING_MAX_BUCKETS]; /* bucket -> shard index, -1 = not seen */
    for (uint32_t b = 0; b < spec->num_buckets; b++) of_bucket[b] = -1;
    for (int64_t i = 0; i < n; i++) {
      int64_t j = base + i;
      int32_t h = mw_bit_get(validity, j) ? hash_value(&t, ca, j) : 0; /* null: the seed */
      uint32_t b = mw_bucket_of_hash(h, spec->num_buckets);
      if (of_bucket[b] < 0) {
        uint8_t id[16];
        uint32_t idx;
        MW_TRY(mw_shard_id_bucket(id, b, err));
        MW_TRY(add_shard(s, id, (int32_t)b, false, &idx, err));
        of_bucket[b] = (int32_t)idx;
      }
      out->row_shard[i] = (uint32_t)of_bucket[b];
      out->shard_rows[of_bucket[b]]++;
    }
    return MW_OK;
  }

  MW_TRY(rehash(s, 16, err));
  for (int64_t i = 0; i < n; i++) {
    int64_t j = base + i;
    if (!mw_bit_get(validity, j))
      return mw_err(err, MW_ERR_INVALID,
                    "column '%s': row %" PRId64 " is null; identity sharding needs a value in every row",
                    spec->column, i);
    uint8_t inl[8];
    size_t len;
    const uint8_t *key = identity_bytes(&t, ca, j, inl, &len);
    uint32_t idx;
    MW_TRY(identity_shard(s, key, len, key != inl, &idx, err));
    out->row_shard[i] = idx;
    out->shard_rows[idx]++;
  }
  return MW_OK;
}

mw_status mw_route_batch(mw_routing *out, const mw_routing_spec *spec,
                         const struct ArrowSchema *schema, const struct ArrowArray *batch,
                         mw_error *err) {
  memset(out, 0, sizeof *out);
  if (spec == NULL) return mw_err(err, MW_ERR_INVALID, "routing: no sharding spec");
  if (spec->kind != MW_SHARDING_UNSHARDED && spec->kind != MW_SHARDING_BUCKET &&
      spec->kind != MW_SHARDING_IDENTITY)
    return mw_err(err, MW_ERR_INVALID, "routing: unknown sharding kind %d", (int)spec->kind);
  if (spec->kind == MW_SHARDING_BUCKET &&
      (spec->num_buckets < 1 || spec->num_buckets > MW_ROUTING_MAX_BUCKETS))
    return mw_err(err, MW_ERR_INVALID, "routing: num_buckets %" PRIu32 " is outside [1, %u]",
                  spec->num_buckets, MW_ROUTING_MAX_BUCKETS);
  shard_set s = {.r = out};
  mw_status st = route(&s, spec, schema, batch, err);
  shard_set_free(&s);
  if (st != MW_OK) mw_routing_free(out);
  return st;
}
