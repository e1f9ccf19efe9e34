/* test_routing.c - shard ids, the Spark-style bucket hash and batch routing
 * (src/table/routing.c) against every test vector of LSM.md sections 2-3,
 * plus spec parsing, every key type, slices and hostile batches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_test_util.h"
#include "common/uuid.h"
#include "mw_test.h"
#include "table/routing.h"

static char uuid_buf[MW_UUID_STR_LEN + 1];
static const char *uuid_str(const uint8_t id[16]) {
  mw_uuid_format(uuid_buf, id);
  return uuid_buf;
}

/* A one-column batch: col is the caller's column array (format fmt). */
typedef struct one_col {
  tsch s, cs;
  tarr a;
} one_col;

static void one_col_init(one_col *b, const char *fmt, tarr *col, int64_t length) {
  sch_init(&b->s, "+s", "", 0);
  sch_init(&b->cs, fmt, "k", 2 /* nullable */);
  sch_add(&b->s, &b->cs);
  arr_init(&b->a, length, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&b->a, col);
}

/* The bucket of every row of a one-column batch, -1 on routing failure. */
static void buckets_of(int32_t *out, const char *fmt, tarr *col, int64_t n, uint32_t nb) {
  one_col b;
  one_col_init(&b, fmt, col, n);
  mw_routing_spec spec;
  mw_error e = {0};
  CHECK_OK(mw_routing_spec_init(&spec, MW_SHARDING_BUCKET, "k", nb, &e), &e);
  mw_routing r;
  mw_status st = mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e);
  CHECK_OK(st, &e);
  for (int64_t i = 0; i < n; i++)
    out[i] = st == MW_OK ? r.shard_bucket[r.row_shard[i]] : -1;
  mw_routing_free(&r);
}

static void test_raw_hashes(void) {
  CHECK_INT(mw_murmur3_int(1, 0), -68075478);
  CHECK_INT(mw_murmur3_long(1, 0), 1392991556);
  CHECK_INT(mw_murmur3_long(34, 0), 2017239379); /* = Iceberg */
  CHECK_INT(mw_murmur3_int(34, 0), -1928742653);
  CHECK_INT(mw_murmur3_bytes("iceberg", 7, 0), 1172751604);
  CHECK(mw_murmur3_bytes("iceberg", 7, 0) != 1210000089); /* standard murmur3 */
  /* empty input: fmix(0, 0) = 0 */
  CHECK_INT(mw_murmur3_bytes("", 0, 0), 0);
  CHECK_INT(mw_bucket_of_hash(-1, 1024), 0x7fffffff % 1024);
  CHECK_INT(mw_bucket_of_hash(-68075478, 8), 2); /* int32 1 -> bucket 2 */
}

static void test_shard_ids(void) {
  mw_error e = {0};
  uint8_t id[16];
  CHECK_OK(mw_shard_id_unsharded(id, &e), &e);
  CHECK_STR(uuid_str(id), "aa48498d-ac91-59e2-8452-69f46010ace2");
  static const char *const bucket_ids[] = {
    "4a388480-a25b-59a8-b058-24217f980256", "8e131bde-8368-54ff-89d9-c2e1cc781b29",
    "e00299e4-8c4b-50fc-bbdd-ce8179135761", "1d8d46d4-1ffd-5f6e-9aea-466d5ea76fdb"};
  for (uint32_t b = 0; b < 4; b++) {
    CHECK_OK(mw_shard_id_bucket(id, b, &e), &e);
    CHECK_STR(uuid_str(id), bucket_ids[b]);
  }
  CHECK_OK(mw_shard_id_identity(id, "us", 2, &e), &e);
  CHECK_STR(uuid_str(id), "e1794536-1200-59f9-8b6e-2da8285e103c");
  const uint8_t five[8] = {5, 0, 0, 0, 0, 0, 0, 0};
  CHECK_OK(mw_shard_id_identity(id, five, 8, &e), &e);
  CHECK_STR(uuid_str(id), "67754d1c-50df-52e2-adfd-f6a3788969b0");
  /* the namespace is the ASCII bytes "LSMWRITE_SHARD01" */
  CHECK_STR(uuid_str(mw_shard_namespace), "4c534d57-5249-5445-5f53-484152443031");
  /* a long identity value (heap path) differs from its 255-byte prefix */
  char big[600], id2[MW_UUID_STR_LEN + 1];
  memset(big, 'x', sizeof big);
  CHECK_OK(mw_shard_id_identity(id, big, sizeof big, &e), &e);
  snprintf(id2, sizeof id2, "%s", uuid_str(id));
  CHECK_OK(mw_shard_id_identity(id, big, 255, &e), &e);
  CHECK(strcmp(id2, uuid_str(id)) != 0);
  CHECK(id2[14] == '5'); /* version nibble */
}

static void test_bucket_int32_date32(void) {
  /* LSM.md: int32 [1, 2, null, 3] over 8 buckets -> [2, 7, 0, 1]; date32 the same */
  static const int32_t v[4] = {1, 2, 0, 3};
  static const uint8_t valid = 0x0b; /* rows 0, 1, 3 */
  const char *fmts[] = {"i", "tdD"};
  for (int f = 0; f < 2; f++) {
    tarr col;
    arr_init(&col, 4, 1, 0, 2, &valid, v, NULL);
    int32_t got[4];
    buckets_of(got, fmts[f], &col, 4, 8);
    CHECK_INT(got[0], 2);
    CHECK_INT(got[1], 7);
    CHECK_INT(got[2], 0);
    CHECK_INT(got[3], 1);
  }
  /* the null row's value bytes do not matter */
  static const int32_t v2[4] = {1, 2, 12345, 3};
  tarr col;
  arr_init(&col, 4, 1, 0, 2, &valid, v2, NULL);
  int32_t got[4];
  buckets_of(got, "i", &col, 4, 8);
  CHECK_INT(got[2], 0);
}

static void test_bucket_utf8(void) {
  /* LSM.md: utf8 ["a", "b", null] over 8 buckets -> [1, 5, 0]; large_utf8 the same */
  static const int32_t off[4] = {0, 1, 2, 2};
  static const int64_t off64[4] = {0, 1, 2, 2};
  static const uint8_t valid = 0x03;
  tarr col;
  int32_t got[3];
  arr_init(&col, 3, 1, 0, 3, &valid, off, "ab");
  buckets_of(got, "u", &col, 3, 8);
  CHECK_INT(got[0], 1);
  CHECK_INT(got[1], 5);
  CHECK_INT(got[2], 0);
  arr_init(&col, 3, 1, 0, 3, &valid, off64, "ab");
  buckets_of(got, "U", &col, 3, 8);
  CHECK_INT(got[0], 1);
  CHECK_INT(got[1], 5);
  CHECK_INT(got[2], 0);
}

/* Standard-style tail (unsigned bytes, mixed one by one) for the control
 * below: what a non-Spark implementation of the same loop would compute. */
static int32_t unsigned_tail_hash(const char *s) {
  size_t len = strlen(s), full = len - len % 4;
  uint32_t h = 0;
  for (size_t i = 0; i < len; i++) {
    uint32_t k;
    if (i < full) {
      memcpy(&k, s + i, 4);
      i += 3;
    } else {
      k = (uint8_t)s[i];
    }
    k *= 0xcc9e2d51u;
    k = (k << 15) | (k >> 17);
    k *= 0x1b873593u;
    h ^= k;
    h = (h << 13) | (h >> 19);
    h = h * 5u + 0xe6546b64u;
  }
  h ^= (uint32_t)len;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  int32_t r;
  memcpy(&r, &h, 4);
  return r;
}

static void test_bucket_utf8_signed_tail(void) {
  /* LSM.md (observed in LanceDB): "café", "ü", "abcdé", "xyzÿ" -> 6, 0, 7, 2
   * over 8 buckets; unsigned tail bytes would give 6, 2, 3, 0 */
  const char *keys[4] = {"caf\xc3\xa9", "\xc3\xbc", "abcd\xc3\xa9", "xyz\xc3\xbf"};
  const int exp[4] = {6, 0, 7, 2}, exp_unsigned[4] = {6, 2, 3, 0};
  char data[64];
  int32_t off[5] = {0};
  size_t pos = 0;
  for (int i = 0; i < 4; i++) {
    size_t l = strlen(keys[i]);
    memcpy(data + pos, keys[i], l);
    pos += l;
    off[i + 1] = (int32_t)pos;
    CHECK_INT(mw_bucket_of_hash(mw_murmur3_bytes(keys[i], l, 0), 8), exp[i]);
    CHECK_INT(mw_bucket_of_hash(unsigned_tail_hash(keys[i]), 8), exp_unsigned[i]);
  }
  tarr col;
  arr_init(&col, 4, 0, 0, 3, NULL, off, data);
  int32_t got[4];
  buckets_of(got, "u", &col, 4, 8);
  for (int i = 0; i < 4; i++) CHECK_INT(got[i], exp[i]);
}

static void test_bucket_scalars(void) {
  /* LSM.md: bool true -> 2; float32 1.25 -> 0; float64 1.25 -> 0 (8 buckets) */
  static const uint8_t t = 0x01;
  static const float f = 1.25f;
  static const double d = 1.25;
  tarr col;
  int32_t got[1];
  arr_init(&col, 1, 0, 0, 2, NULL, &t, NULL);
  buckets_of(got, "b", &col, 1, 8);
  CHECK_INT(got[0], 2);
  arr_init(&col, 1, 0, 0, 2, NULL, &f, NULL);
  buckets_of(got, "f", &col, 1, 8);
  CHECK_INT(got[0], 0);
  arr_init(&col, 1, 0, 0, 2, NULL, &d, NULL);
  buckets_of(got, "g", &col, 1, 8);
  CHECK_INT(got[0], 0);
  /* the float hashes themselves: bits of 1.25 as int / long */
  CHECK_INT(mw_bucket_of_hash(mw_murmur3_int(0x3fa00000, 0), 8), 0);
  CHECK_INT(mw_bucket_of_hash(mw_murmur3_long(INT64_C(0x3ff4000000000000), 0), 8), 0);
  /* bool false hashes int 0 */
  static const uint8_t fl = 0x00;
  arr_init(&col, 1, 0, 0, 2, NULL, &fl, NULL);
  buckets_of(got, "b", &col, 1, 1024);
  CHECK_INT(got[0], mw_bucket_of_hash(mw_murmur3_int(0, 0), 1024));
}

static void test_float_canonical(void) {
  /* +0 / -0 hash alike (as 0); every NaN hashes as the canonical quiet NaN */
  float fv[4] = {0.0f, -0.0f, NAN, 0.0f};
  uint32_t other_nan = 0x7fc00001u; /* a NaN with another payload */
  memcpy(&fv[3], &other_nan, 4);
  double dv[4] = {0.0, -0.0, NAN, 0.0};
  uint64_t other_dnan = UINT64_C(0xfff8000000000123);
  memcpy(&dv[3], &other_dnan, 8);
  tarr col;
  int32_t got[4];
  arr_init(&col, 4, 0, 0, 2, NULL, fv, NULL);
  buckets_of(got, "f", &col, 4, 1024);
  CHECK_INT(got[0], mw_bucket_of_hash(mw_murmur3_int(0, 0), 1024));
  CHECK_INT(got[1], got[0]);
  CHECK_INT(got[2], mw_bucket_of_hash(mw_murmur3_int(0x7fc00000, 0), 1024));
  CHECK_INT(got[3], got[2]);
  arr_init(&col, 4, 0, 0, 2, NULL, dv, NULL);
  buckets_of(got, "g", &col, 4, 1024);
  CHECK_INT(got[0], mw_bucket_of_hash(mw_murmur3_long(0, 0), 1024));
  CHECK_INT(got[1], got[0]);
  CHECK_INT(got[2], mw_bucket_of_hash(mw_murmur3_long(INT64_C(0x7ff8000000000000), 0), 1024));
  CHECK_INT(got[3], got[2]);
}

static void test_bucket_int64_observed(void) {
  /* LSM.md, observed in LanceDB: int64 ids 1,2 -> 0; 6 -> 1; 4 -> 2;
   * 3,5,7,8 -> 3 (4 buckets) */
  static const int64_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const int exp[8] = {0, 0, 3, 2, 3, 1, 3, 3};
  tarr col;
  arr_init(&col, 8, 0, 0, 2, NULL, ids, NULL);
  int32_t got[8];
  buckets_of(got, "l", &col, 8, 4);
  for (int i = 0; i < 8; i++) CHECK_INT(got[i], exp[i]);
}

static void test_bucket_widths(void) {
  /* narrow integers widen to int32 (unsigned by zero extension), uint32
   * reinterprets as int32, uint64 as int64, and timestamps / time64 /
   * time32 hash their raw value: check each against the scalar hash. */
  const uint32_t nb = 1024;
  tarr col;
  int32_t got[3];
  static const int8_t i8[3] = {-1, 0, 127};
  arr_init(&col, 3, 0, 0, 2, NULL, i8, NULL);
  buckets_of(got, "c", &col, 3, nb);
  for (int i = 0; i < 3; i++) CHECK_INT(got[i], mw_bucket_of_hash(mw_murmur3_int(i8[i], 0), nb));
  static const uint8_t u8[3] = {255, 0, 128};
  arr_init(&col, 3, 0, 0, 2, NULL, u8, NULL);
  buckets_of(got, "C", &col, 3, nb);
  for (int i = 0; i < 3; i++) CHECK_INT(got[i], mw_bucket_of_hash(mw_murmur3_int(u8[i], 0), nb));
  CHECK(got[0] != (int32_t)mw_bucket_of_hash(mw_murmur3_int(-1, 0), nb)); /* not sign-extended */
  static const int16_t i16[3] = {-300, 1, 32767};
  arr_init(&col, 3, 0, 0, 2, NULL, i16, NULL);
  buckets_of(got, "s", &col, 3, nb);
  for (int i = 0; i < 3; i++) CHECK_INT(got[i], mw_bucket_of_hash(mw_murmur3_int(i16[i], 0), nb));
  static const uint16_t u16[3] = {65535, 1, 40000};
  arr_init(&col, 3, 0, 0, 2, NULL, u16, NULL);
  buckets_of(got, "S", &col, 3, nb);
  for (int i = 0; i < 3; i++) CHECK_INT(got[i], mw_bucket_of_hash(mw_murmur3_int(u16[i], 0), nb));
  static const uint32_t u32[3] = {0xffffffffu, 1, 0x80000000u};
  arr_init(&col, 3, 0, 0, 2, NULL, u32, NULL);
  buckets_of(got, "I", &col, 3, nb);
  CHECK_INT(got[0], mw_bucket_of_hash(mw_murmur3_int(-1, 0), nb));
  CHECK_INT(got[1], mw_bucket_of_hash(mw_murmur3_int(1, 0), nb));
  CHECK_INT(got[2], mw_bucket_of_hash(mw_murmur3_int(INT32_MIN, 0), nb));
  static const uint64_t u64[3] = {UINT64_MAX, 1, UINT64_C(0x8000000000000000)};
  arr_init(&col, 3, 0, 0, 2, NULL, u64, NULL);
  buckets_of(got, "L", &col, 3, nb);
  CHECK_INT(got[0], mw_bucket_of_hash(mw_murmur3_long(-1, 0), nb));
  CHECK_INT(got[1], mw_bucket_of_hash(mw_murmur3_long(1, 0), nb));
  CHECK_INT(got[2], mw_bucket_of_hash(mw_murmur3_long(INT64_MIN, 0), nb));
  static const int64_t i64[3] = {-5, INT64_MAX, 1700000000000000LL};
  const char *fmts64[] = {"l", "tsu:UTC", "tsn:", "tss:", "ttu", "ttn"};
  for (int f = 0; f < 6; f++) {
    arr_init(&col, 3, 0, 0, 2, NULL, i64, NULL);
    buckets_of(got, fmts64[f], &col, 3, nb);
    for (int i = 0; i < 3; i++) CHECK_INT(got[i], mw_bucket_of_hash(mw_murmur3_long(i64[i], 0), nb));
  }
  static const int32_t i32[3] = {-5, 86399, 7};
  const char *fmts32[] = {"tts", "ttm"};
  for (int f = 0; f < 2; f++) {
    arr_init(&col, 3, 0, 0, 2, NULL, i32, NULL);
    buckets_of(got, fmts32[f], &col, 3, nb);
    for (int i = 0; i < 3; i++) CHECK_INT(got[i], mw_bucket_of_hash(mw_murmur3_int(i32[i], 0), nb));
  }
  /* int64 1 and int32 1 differ (8 vs 4 hashed bytes) */
  CHECK(mw_murmur3_long(1, 0) != mw_murmur3_int(1, 0));
}

static void test_route_batch_shards(void) {
  /* two columns; the key is the second; rows in first-seen shard order */
  static const int64_t other[6] = {0};
  static const int64_t ids[6] = {1, 3, 2, 6, 4, 5}; /* 4 buckets: 0, 3, 0, 1, 2, 3 */
  tsch s, c0, c1;
  sch_init(&s, "+s", "", 0);
  sch_init(&c0, "l", "x", 0);
  sch_init(&c1, "l", "id", 0);
  sch_add(&s, &c0);
  sch_add(&s, &c1);
  tarr a, a0, a1;
  arr_init(&a, 6, 0, 0, 1, NULL, NULL, NULL);
  arr_init(&a0, 6, 0, 0, 2, NULL, other, NULL);
  arr_init(&a1, 6, 0, 0, 2, NULL, ids, NULL);
  arr_add(&a, &a0);
  arr_add(&a, &a1);
  mw_routing_spec spec;
  mw_error e = {0};
  CHECK_OK(mw_routing_spec_parse(&spec, "bucket:id:4", &e), &e);
  mw_routing r;
  CHECK_OK(mw_route_batch(&r, &spec, &s.s, &a.a, &e), &e);
  CHECK_INT(r.n_rows, 6);
  CHECK_INT(r.n_shards, 4);
  const int exp_bucket[4] = {0, 3, 1, 2}, exp_rows[4] = {2, 2, 1, 1};
  const int exp_row_shard[6] = {0, 1, 0, 2, 3, 1};
  for (uint32_t k = 0; k < r.n_shards && k < 4; k++) {
    CHECK_INT(r.shard_bucket[k], exp_bucket[k]);
    CHECK_INT(r.shard_rows[k], exp_rows[k]);
    uint8_t id[16];
    CHECK_OK(mw_shard_id_bucket(id, (uint32_t)exp_bucket[k], &e), &e);
    CHECK(memcmp(id, r.shard_ids[k], 16) == 0);
  }
  for (int i = 0; i < 6; i++) CHECK_INT(r.row_shard[i], exp_row_shard[i]);
  CHECK_STR(uuid_str(r.shard_ids[0]), "4a388480-a25b-59a8-b058-24217f980256"); /* bucket-0 */
  mw_routing_free(&r);

  /* a slice: batch offset 2 and a child offset 1 -> rows ids[3..5] */
  a.a.offset = 2;
  a.a.length = 3;
  a1.a.offset = 1;
  CHECK_OK(mw_route_batch(&r, &spec, &s.s, &a.a, &e), &e);
  CHECK_INT(r.n_rows, 3);
  CHECK_INT(r.n_shards, 3);
  if (r.n_shards == 3) {
    CHECK_INT(r.shard_bucket[0], 1); /* id 6 */
    CHECK_INT(r.shard_bucket[1], 2); /* id 4 */
    CHECK_INT(r.shard_bucket[2], 3); /* id 5 */
  }
  mw_routing_free(&r);
  /* a child too short for the slice */
  a1.a.length = 4;
  CHECK(mw_route_batch(&r, &spec, &s.s, &a.a, &e) == MW_ERR_INVALID);
  CHECK(strstr(e.message, "shorter") != NULL);
  CHECK_INT(r.n_shards, 0);
  CHECK(r.row_shard == NULL);
  a1.a.length = 6;

  /* unsharded: one shard, every row; an empty batch has no shards */
  CHECK_OK(mw_routing_spec_parse(&spec, "unsharded", &e), &e);
  CHECK_OK(mw_route_batch(&r, &spec, &s.s, &a.a, &e), &e);
  CHECK_INT(r.n_shards, 1);
  CHECK_INT(r.shard_rows[0], 3);
  CHECK_INT(r.shard_bucket[0], -1);
  CHECK_STR(uuid_str(r.shard_ids[0]), "aa48498d-ac91-59e2-8452-69f46010ace2");
  for (int i = 0; i < 3; i++) CHECK_INT(r.row_shard[i], 0);
  mw_routing_free(&r);
  a.a.length = 0;
  CHECK_OK(mw_route_batch(&r, &spec, &s.s, &a.a, &e), &e);
  CHECK_INT(r.n_shards, 0);
  CHECK_INT(r.n_rows, 0);
  mw_routing_free(&r);
  CHECK_OK(mw_routing_spec_parse(&spec, "bucket:id:1024", &e), &e);
  CHECK_OK(mw_route_batch(&r, &spec, &s.s, &a.a, &e), &e);
  CHECK_INT(r.n_shards, 0);
  mw_routing_free(&r);
}

static void test_route_identity(void) {
  mw_error e = {0};
  mw_routing_spec spec;
  CHECK_OK(mw_routing_spec_parse(&spec, "identity:k", &e), &e);
  mw_routing r;
  /* utf8: "us", "eu", "us", "" */
  static const int32_t off[5] = {0, 2, 4, 6, 6};
  tarr col;
  arr_init(&col, 4, 0, 0, 3, NULL, off, "useuus");
  one_col b;
  one_col_init(&b, "u", &col, 4);
  CHECK_OK(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), &e);
  CHECK_INT(r.n_shards, 3);
  CHECK_INT(r.row_shard[0], 0);
  CHECK_INT(r.row_shard[1], 1);
  CHECK_INT(r.row_shard[2], 0);
  CHECK_INT(r.row_shard[3], 2);
  CHECK_INT(r.shard_rows[0], 2);
  CHECK_STR(uuid_str(r.shard_ids[0]), "e1794536-1200-59f9-8b6e-2da8285e103c");
  uint8_t id[16];
  CHECK_OK(mw_shard_id_identity(id, "", 0, &e), &e);
  CHECK(memcmp(id, r.shard_ids[2], 16) == 0);
  mw_routing_free(&r);

  /* int64 5 (LSM.md) and -5 */
  static const int64_t v64[3] = {5, -5, 5};
  arr_init(&col, 3, 0, 0, 2, NULL, v64, NULL);
  one_col_init(&b, "l", &col, 3);
  CHECK_OK(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), &e);
  CHECK_INT(r.n_shards, 2);
  CHECK_STR(uuid_str(r.shard_ids[0]), "67754d1c-50df-52e2-adfd-f6a3788969b0");
  const uint8_t m5[8] = {0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  CHECK_OK(mw_shard_id_identity(id, m5, 8, &e), &e);
  CHECK(memcmp(id, r.shard_ids[1], 16) == 0);
  CHECK_INT(r.row_shard[2], 0);
  mw_routing_free(&r);

  /* integers at their own width: int32 5 is 4 bytes, uint16 / int8 / bool */
  static const int32_t v32[1] = {5};
  arr_init(&col, 1, 0, 0, 2, NULL, v32, NULL);
  one_col_init(&b, "i", &col, 1);
  CHECK_OK(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), &e);
  CHECK_OK(mw_shard_id_identity(id, "\x05\0\0\0", 4, &e), &e);
  CHECK(r.n_shards == 1 && memcmp(id, r.shard_ids[0], 16) == 0);
  CHECK(strcmp(uuid_str(r.shard_ids[0]), "67754d1c-50df-52e2-adfd-f6a3788969b0") != 0);
  mw_routing_free(&r);
  static const uint16_t v16[1] = {0x1234};
  arr_init(&col, 1, 0, 0, 2, NULL, v16, NULL);
  one_col_init(&b, "S", &col, 1);
  CHECK_OK(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), &e);
  CHECK_OK(mw_shard_id_identity(id, "\x34\x12", 2, &e), &e);
  CHECK(r.n_shards == 1 && memcmp(id, r.shard_ids[0], 16) == 0);
  mw_routing_free(&r);
  static const int8_t v8[1] = {-1};
  arr_init(&col, 1, 0, 0, 2, NULL, v8, NULL);
  one_col_init(&b, "c", &col, 1);
  CHECK_OK(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), &e);
  CHECK_OK(mw_shard_id_identity(id, "\xff", 1, &e), &e);
  CHECK(r.n_shards == 1 && memcmp(id, r.shard_ids[0], 16) == 0);
  mw_routing_free(&r);
  static const uint8_t bits = 0x02; /* false, true */
  arr_init(&col, 2, 0, 0, 2, NULL, &bits, NULL);
  one_col_init(&b, "b", &col, 2);
  CHECK_OK(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), &e);
  CHECK_INT(r.n_shards, 2);
  CHECK_OK(mw_shard_id_identity(id, "\x01", 1, &e), &e);
  CHECK(r.n_shards == 2 && memcmp(id, r.shard_ids[1], 16) == 0);
  mw_routing_free(&r);

  /* a null identity value is refused, naming the row */
  static const uint8_t valid = 0x01;
  arr_init(&col, 2, 1, 0, 2, &valid, v64, NULL);
  one_col_init(&b, "l", &col, 2);
  CHECK(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e) == MW_ERR_INVALID);
  CHECK(strstr(e.message, "row 1 is null") != NULL);
}

static void test_route_identity_many(void) {
  /* 5000 rows, 1000 distinct values: the table grows; every row's shard is
   * the id of its value */
  enum { N = 5000, D = 1000 };
  int64_t *v = malloc(N * sizeof *v);
  for (int i = 0; i < N; i++) v[i] = (int64_t)(i % D) * 7919 - 100000;
  tarr col;
  arr_init(&col, N, 0, 0, 2, NULL, v, NULL);
  one_col b;
  one_col_init(&b, "l", &col, N);
  mw_routing_spec spec;
  mw_error e = {0};
  CHECK_OK(mw_routing_spec_init(&spec, MW_SHARDING_IDENTITY, "k", 0, &e), &e);
  mw_routing r;
  CHECK_OK(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), &e);
  CHECK_INT(r.n_shards, D);
  int bad = 0;
  for (int i = 0; i < N && r.row_shard; i++) {
    uint8_t le[8], id[16];
    for (int k = 0; k < 8; k++) le[k] = (uint8_t)((uint64_t)v[i] >> (8 * k));
    mw_shard_id_identity(id, le, 8, &e);
    if (r.row_shard[i] != (uint32_t)(i % D) || memcmp(id, r.shard_ids[r.row_shard[i]], 16) != 0) bad++;
  }
  CHECK_INT(bad, 0);
  for (uint32_t k = 0; k < r.n_shards; k++)
    if (r.shard_rows[k] != N / D) bad++;
  CHECK_INT(bad, 0);
  mw_routing_free(&r);
  free(v);
}

static void test_unsupported_types(void) {
  /* bucket: float16, date64, duration, binary, large_binary, fixed-size
   * binary, decimal, null, nested; identity also refuses floats, dates */
  static const int64_t zeros[2] = {0, 0};
  static const int32_t off[3] = {0, 0, 0};
  const char *bucket_bad[] = {"e", "tdm", "tDs", "z", "Z", "w:4", "d:10,2", "n"};
  mw_error e = {0};
  mw_routing r;
  mw_routing_spec spec;
  CHECK_OK(mw_routing_spec_parse(&spec, "bucket:k:8", &e), &e);
  for (size_t i = 0; i < sizeof bucket_bad / sizeof *bucket_bad; i++) {
    tarr col;
    if (bucket_bad[i][0] == 'z' || bucket_bad[i][0] == 'Z')
      arr_init(&col, 2, 0, 0, 3, NULL, off, "");
    else if (bucket_bad[i][0] == 'n')
      arr_init(&col, 2, 2, 0, 0, NULL, NULL, NULL);
    else
      arr_init(&col, 2, 0, 0, 2, NULL, zeros, NULL);
    one_col b;
    one_col_init(&b, bucket_bad[i], &col, 2);
    mw_status st = mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e);
    CHECK_INT(st, MW_ERR_UNSUPPORTED);
    CHECK(strstr(e.message, "column 'k'") != NULL);
  }
  const char *identity_bad[] = {"f", "g", "tdD", "tsu:", "e", "z"};
  CHECK_OK(mw_routing_spec_parse(&spec, "identity:k", &e), &e);
  for (size_t i = 0; i < sizeof identity_bad / sizeof *identity_bad; i++) {
    tarr col;
    if (identity_bad[i][0] == 'z')
      arr_init(&col, 2, 0, 0, 3, NULL, off, "");
    else
      arr_init(&col, 2, 0, 0, 2, NULL, zeros, NULL);
    one_col b;
    one_col_init(&b, identity_bad[i], &col, 2);
    CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_UNSUPPORTED);
  }
  mw_type t = {.id = MW_T_LIST};
  CHECK_INT(mw_routing_check_type(MW_SHARDING_BUCKET, &t, "v", &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "column 'v'") != NULL);
  CHECK_OK(mw_routing_check_type(MW_SHARDING_UNSHARDED, &t, "v", &e), &e);
}

static void test_hostile_batches(void) {
  mw_error e = {0};
  mw_routing r;
  mw_routing_spec spec;
  CHECK_OK(mw_routing_spec_parse(&spec, "bucket:k:8", &e), &e);
  /* offsets going backwards */
  static const int32_t bad_off[3] = {0, 5, 2};
  tarr col;
  arr_init(&col, 2, 0, 0, 3, NULL, bad_off, "abcdef");
  one_col b;
  one_col_init(&b, "u", &col, 2);
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "monotonic") != NULL);
  /* NULL values buffer */
  arr_init(&col, 2, 0, 0, 2, NULL, NULL, NULL);
  one_col_init(&b, "l", &col, 2);
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  /* wrong buffer count */
  static const int64_t v[2] = {1, 2};
  arr_init(&col, 2, 0, 0, 3, NULL, v, NULL);
  one_col_init(&b, "l", &col, 2);
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  /* missing key column */
  arr_init(&col, 2, 0, 0, 2, NULL, v, NULL);
  one_col_init(&b, "l", &col, 2);
  CHECK_OK(mw_routing_spec_parse(&spec, "bucket:nope:8", &e), &e);
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "no column 'nope'") != NULL);
  /* not a struct; released batch; negative length; column count mismatch */
  CHECK_OK(mw_routing_spec_parse(&spec, "bucket:k:8", &e), &e);
  b.s.s.format = "l";
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  b.s.s.format = "+s";
  b.a.a.length = -1;
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  b.a.a.length = 2;
  b.a.a.n_children = 0;
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  b.a.a.n_children = 1;
  b.a.a.release = NULL;
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, NULL, &e), MW_ERR_INVALID);
  CHECK_INT(mw_route_batch(&r, NULL, &b.s.s, NULL, &e), MW_ERR_INVALID);
  /* a hand-made spec with a bucket count out of range */
  b.a.a.release = arr_noop_release;
  spec.num_buckets = 0;
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  spec.num_buckets = 2000;
  CHECK_INT(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), MW_ERR_INVALID);
  spec.num_buckets = 8;
  CHECK_OK(mw_route_batch(&r, &spec, &b.s.s, &b.a.a, &e), &e);
  mw_routing_free(&r);
}

static void test_spec_parse(void) {
  mw_error e = {0};
  mw_routing_spec s;
  char buf[300];
  CHECK_OK(mw_routing_spec_parse(&s, "unsharded", &e), &e);
  CHECK_INT(s.kind, MW_SHARDING_UNSHARDED);
  mw_routing_spec_format(buf, sizeof buf, &s);
  CHECK_STR(buf, "unsharded");
  CHECK_OK(mw_routing_spec_parse(&s, "bucket:id:16", &e), &e);
  CHECK_INT(s.kind, MW_SHARDING_BUCKET);
  CHECK_INT(s.num_buckets, 16);
  CHECK_STR(s.column, "id");
  mw_routing_spec_format(buf, sizeof buf, &s);
  CHECK_STR(buf, "bucket:id:16");
  CHECK_OK(mw_routing_spec_parse(&s, "bucket:a:b:1024", &e), &e);
  CHECK_STR(s.column, "a:b");
  CHECK_INT(s.num_buckets, 1024);
  CHECK_OK(mw_routing_spec_parse(&s, "bucket:x:1", &e), &e);
  CHECK_OK(mw_routing_spec_parse(&s, "identity:region", &e), &e);
  CHECK_INT(s.kind, MW_SHARDING_IDENTITY);
  CHECK_STR(s.column, "region");
  mw_routing_spec_format(buf, sizeof buf, &s);
  CHECK_STR(buf, "identity:region");
  CHECK_OK(mw_routing_spec_parse(&s, "identity:a:b", &e), &e);
  CHECK_STR(s.column, "a:b");
  const char *bad[] = {"", "Unsharded", "unsharded:x", "bucket", "bucket:", "bucket:id",
                       "bucket:id:", "bucket::4", "bucket:id:0", "bucket:id:1025",
                       "bucket:id:-1", "bucket:id:4x", "bucket:id: 4", "bucket:id:99999999999999999999",
                       "identity:", "identity", "hash:id:4"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    e.code = MW_OK;
    CHECK_INT(mw_routing_spec_parse(&s, bad[i], &e), MW_ERR_INVALID);
    CHECK(e.message[0] != '\0');
  }
  CHECK_INT(mw_routing_spec_parse(&s, NULL, &e), MW_ERR_INVALID);
  char longcol[400] = "identity:";
  memset(longcol + 9, 'c', 300);
  longcol[309] = '\0';
  CHECK_INT(mw_routing_spec_parse(&s, longcol, &e), MW_ERR_INVALID);
  CHECK_INT(mw_routing_spec_init(&s, MW_SHARDING_BUCKET, "id", 0, &e), MW_ERR_INVALID);
  CHECK_INT(mw_routing_spec_init(&s, MW_SHARDING_IDENTITY, "", 0, &e), MW_ERR_INVALID);
  CHECK_INT(mw_routing_spec_init(&s, (mw_sharding_kind)7, "id", 4, &e), MW_ERR_INVALID);
}

int main(void) {
  MW_RUN(test_raw_hashes);
  MW_RUN(test_shard_ids);
  MW_RUN(test_bucket_int32_date32);
  MW_RUN(test_bucket_utf8);
  MW_RUN(test_bucket_utf8_signed_tail);
  MW_RUN(test_bucket_scalars);
  MW_RUN(test_float_canonical);
  MW_RUN(test_bucket_int64_observed);
  MW_RUN(test_bucket_widths);
  MW_RUN(test_route_batch_shards);
  MW_RUN(test_route_identity);
  MW_RUN(test_route_identity_many);
  MW_RUN(test_unsupported_types);
  MW_RUN(test_hostile_batches);
  MW_RUN(test_spec_parse);
  return mw_test_finish();
}
