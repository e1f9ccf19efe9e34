/* test_ipc.c - Arrow IPC round trips (mw_ipc_encode -> mw_ipc_decode) of every
 * supported type, compared value by value with a generic comparator that
 * walks logical values (validity, values, offset-derived slices, children,
 * honouring offsets at every level) and by their JSON rendering; plus exact
 * JSON renderer checks and decoder robustness on truncated/flipped input.
 *
 * `test_ipc --write-samples DIR` writes every case as DIR/NAME.arrows and
 * DIR/NAME.json (exactly what `memwal ipc-cat` must print for it) for the
 * interop tests. Cases named "nojs_*" use types apache-arrow JS cannot read
 * (large_list). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "arrow/json.h"
#include "common/buf.h"
#include "mw_test.h"

static const char *samples_dir = NULL;

/* CHECK_OK with an error pointer held in a variable (taking the address of a
 * local directly in the macro's NULL test trips -Waddress). */
#define CHECK_OKE(expr, e)        \
  do {                            \
    mw_error *mw_ep_ = (e);       \
    CHECK_OK(expr, mw_ep_);       \
  } while (0)

/* ------------------------------------------------------ test array builder */

typedef struct tpriv {
  void *bufs[3];
} tpriv;

static void tarr_release(struct ArrowArray *a) {
  for (int64_t k = 0; k < a->n_children; k++) {
    struct ArrowArray *c = a->children[k];
    if (c && c->release) c->release(c);
    free(c);
  }
  free(a->children);
  tpriv *p = a->private_data;
  for (int k = 0; k < 3; k++) free(p->bufs[k]);
  free(p);
  free(a->buffers);
  a->release = NULL;
}

static struct ArrowArray *tarr(int64_t len, int64_t off, int nbuf, int nkids) {
  struct ArrowArray *a = calloc(1, sizeof *a);
  a->length = len;
  a->offset = off;
  a->n_buffers = nbuf;
  a->n_children = nkids;
  a->buffers = calloc(nbuf ? (size_t)nbuf : 1, sizeof(void *));
  a->children = nkids ? calloc((size_t)nkids, sizeof(struct ArrowArray *)) : NULL;
  a->private_data = calloc(1, sizeof(tpriv));
  a->release = tarr_release;
  return a;
}

static void tbuf(struct ArrowArray *a, int k, const void *data, size_t n) {
  void *p = malloc(n ? n : 1);
  if (n) memcpy(p, data, n);
  ((tpriv *)a->private_data)->bufs[k] = p;
  a->buffers[k] = p;
}

/* Validity from a string over physical slots: '1' valid, '0' null. */
static void tvalid(struct ArrowArray *a, const char *bits) {
  a->null_count = 0;
  if (!bits) return;
  size_t n = strlen(bits);
  uint8_t *bm = calloc(n / 8 + 1, 1);
  for (size_t i = 0; i < n; i++)
    if (bits[i] == '1') bm[i / 8] |= (uint8_t)(1u << (i % 8));
  for (int64_t i = a->offset; i < a->offset + a->length; i++)
    if (bits[i] != '1') a->null_count++;
  ((tpriv *)a->private_data)->bufs[0] = bm;
  a->buffers[0] = bm;
}

/* Fixed-width column: nslots physical values of `width` bytes. */
static struct ArrowArray *fixed(int64_t len, int64_t off, const char *bits, const void *vals, size_t width) {
  struct ArrowArray *a = tarr(len, off, 2, 0);
  tvalid(a, bits);
  tbuf(a, 1, vals, (size_t)(off + len) * width);
  return a;
}

static struct ArrowArray *boolcol(int64_t len, int64_t off, const char *bits, const char *vals) {
  struct ArrowArray *a = tarr(len, off, 2, 0);
  tvalid(a, bits);
  size_t n = strlen(vals);
  uint8_t bm[64] = {0};
  for (size_t i = 0; i < n; i++)
    if (vals[i] == '1') bm[i / 8] |= (uint8_t)(1u << (i % 8));
  tbuf(a, 1, bm, n / 8 + 1);
  return a;
}

/* Variable-width column from NUL-terminated strings (NULL entries = null
 * slots with an empty value); large = 64-bit offsets. */
static struct ArrowArray *strcol(int64_t len, int64_t off, const char *const *strs, bool large) {
  int64_t n = off + len;
  struct ArrowArray *a = tarr(len, off, 3, 0);
  char bits[256];
  mw_buf data;
  mw_buf_init(&data);
  int64_t *o64 = malloc((size_t)(n + 1) * 8);
  int32_t *o32 = malloc((size_t)(n + 1) * 4);
  o64[0] = 0;
  o32[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    bits[i] = strs[i] ? '1' : '0';
    if (strs[i]) mw_buf_append(&data, strs[i], strlen(strs[i]));
    o64[i + 1] = (int64_t)data.len;
    o32[i + 1] = (int32_t)data.len;
  }
  bits[n] = 0;
  tvalid(a, bits);
  if (large) tbuf(a, 1, o64, (size_t)(n + 1) * 8);
  else tbuf(a, 1, o32, (size_t)(n + 1) * 4);
  tbuf(a, 2, data.data, data.len);
  free(o64);
  free(o32);
  mw_buf_free(&data);
  return a;
}

/* List-like column (list / map: int32 offsets, large_list: int64). */
static struct ArrowArray *listcol(int64_t len, int64_t off, const char *bits, const int64_t *offs,
                                  bool large, struct ArrowArray *child) {
  struct ArrowArray *a = tarr(len, off, 2, 1);
  tvalid(a, bits);
  int64_t n = off + len;
  if (large) {
    tbuf(a, 1, offs, (size_t)(n + 1) * 8);
  } else {
    int32_t o32[256];
    for (int64_t i = 0; i <= n; i++) o32[i] = (int32_t)offs[i];
    tbuf(a, 1, o32, (size_t)(n + 1) * 4);
  }
  a->children[0] = child;
  return a;
}

static struct ArrowArray *structcol(int64_t len, int64_t off, const char *bits, int nkids,
                                    struct ArrowArray **kids) {
  struct ArrowArray *a = tarr(len, off, 1, nkids);
  tvalid(a, bits);
  for (int k = 0; k < nkids; k++) a->children[k] = kids[k];
  return a;
}

static struct ArrowArray *nullcol(int64_t len, int64_t off) {
  struct ArrowArray *a = tarr(len, off, 0, 0);
  a->null_count = len;
  return a;
}

/* ---------------------------------------------------------- schema helper */

static mw_error serr;

static struct ArrowSchema *fld(struct ArrowSchema *s, const char *fmt, const char *name, bool nullable,
                               int nkids) {
  mw_status st = mw_schema_init(s, fmt, name, NULL, nullable ? ARROW_FLAG_NULLABLE : 0, nkids, &serr);
  if (st != MW_OK) {
    fprintf(stderr, "mw_schema_init(%s) failed: %s\n", fmt, serr.message);
    exit(1);
  }
  return s;
}

static char *md1(const char *k, const char *v) {
  mw_kv kv = {k, (int32_t)strlen(k), v, (int32_t)strlen(v)};
  bool ok = true;
  return mw_metadata_build(&kv, 1, &ok);
}

static char *md2(const char *k1, const char *v1, const char *k2, const char *v2) {
  mw_kv kv[2] = {{k1, (int32_t)strlen(k1), v1, (int32_t)strlen(v1)},
                 {k2, (int32_t)strlen(k2), v2, (int32_t)strlen(v2)}};
  bool ok = true;
  return mw_metadata_build(kv, 2, &ok);
}

/* Replaces the metadata of an owned schema node: deep copy of a shallow
 * proxy carrying the new blob, then release the old node. */
static void set_md(struct ArrowSchema *s, const char *blob) {
  struct ArrowSchema out;
  struct ArrowSchema proxy = *s;
  proxy.metadata = blob;
  CHECK_OKE(mw_schema_copy(&out, &proxy, &serr), &serr);
  mw_schema_release(s);
  *s = out;
}

/* ------------------------------------------------------ generic comparator */

static int64_t count_nulls(const struct ArrowArray *a, bool has_validity_buffer) {
  if (!has_validity_buffer || a->buffers[0] == NULL) return 0;
  int64_t n = 0;
  for (int64_t i = 0; i < a->length; i++)
    if (!mw_bit_get(a->buffers[0], a->offset + i)) n++;
  return n;
}

static int64_t off_at(const struct ArrowArray *a, int64_t slot, bool large) {
  return large ? ((const int64_t *)a->buffers[1])[slot] : ((const int32_t *)a->buffers[1])[slot];
}

/* Compares element i of (sa, a) with element j of (sb, b); reports the first
 * difference under `path`. */
static bool cmp_value(const struct ArrowSchema *sa, const struct ArrowArray *a, int64_t i,
                      const struct ArrowSchema *sb, const struct ArrowArray *b, int64_t j, const char *path) {
  mw_type t, tb;
  if (mw_type_from_format(&t, sa->format, NULL) != MW_OK || mw_type_from_format(&tb, sb->format, NULL) != MW_OK ||
      strcmp(sa->format, sb->format) != 0) {
    fprintf(stderr, "  %s: formats differ: %s vs %s\n", path, sa->format, sb->format);
    return false;
  }
  if (i >= a->length || j >= b->length) {
    fprintf(stderr, "  %s: index out of range (%" PRId64 "/%" PRId64 ", %" PRId64 "/%" PRId64 ")\n", path, i,
            a->length, j, b->length);
    return false;
  }
  if (t.id == MW_T_NULL) return true;
  int64_t sa_ = a->offset + i, sb_ = b->offset + j;
  bool va = mw_bit_get(a->buffers[0], sa_), vb = mw_bit_get(b->buffers[0], sb_);
  if (va != vb) {
    fprintf(stderr, "  %s[%" PRId64 "]: validity %d vs %d\n", path, i, va, vb);
    return false;
  }
  if (!va) return true;
  char sub[512];
  switch (t.id) {
    case MW_T_BOOL:
      if (mw_bit_get(a->buffers[1], sa_) != mw_bit_get(b->buffers[1], sb_)) {
        fprintf(stderr, "  %s[%" PRId64 "]: bool differs\n", path, i);
        return false;
      }
      return true;
    case MW_T_UTF8: case MW_T_LARGE_UTF8: case MW_T_BINARY: case MW_T_LARGE_BINARY: {
      bool large = t.id == MW_T_LARGE_UTF8 || t.id == MW_T_LARGE_BINARY;
      int64_t a0 = off_at(a, sa_, large), a1 = off_at(a, sa_ + 1, large);
      int64_t b0 = off_at(b, sb_, large), b1 = off_at(b, sb_ + 1, large);
      if (a1 - a0 != b1 - b0 ||
          (a1 > a0 && memcmp((const uint8_t *)a->buffers[2] + a0, (const uint8_t *)b->buffers[2] + b0,
                             (size_t)(a1 - a0)) != 0)) {
        fprintf(stderr, "  %s[%" PRId64 "]: bytes differ\n", path, i);
        return false;
      }
      return true;
    }
    case MW_T_FIXED_SIZE_LIST:
      for (int64_t k = 0; k < t.width; k++) {
        snprintf(sub, sizeof sub, "%s[%" PRId64 "]", path, i);
        if (!cmp_value(sa->children[0], a->children[0], sa_ * t.width + k, sb->children[0], b->children[0],
                       sb_ * t.width + k, sub))
          return false;
      }
      return true;
    case MW_T_LIST: case MW_T_LARGE_LIST: case MW_T_MAP: {
      bool large = t.id == MW_T_LARGE_LIST;
      int64_t a0 = off_at(a, sa_, large), a1 = off_at(a, sa_ + 1, large);
      int64_t b0 = off_at(b, sb_, large), b1 = off_at(b, sb_ + 1, large);
      if (a1 - a0 != b1 - b0) {
        fprintf(stderr, "  %s[%" PRId64 "]: list lengths %" PRId64 " vs %" PRId64 "\n", path, i, a1 - a0, b1 - b0);
        return false;
      }
      snprintf(sub, sizeof sub, "%s[%" PRId64 "]", path, i);
      for (int64_t k = 0; k < a1 - a0; k++)
        if (!cmp_value(sa->children[0], a->children[0], a0 + k, sb->children[0], b->children[0], b0 + k, sub))
          return false;
      return true;
    }
    case MW_T_STRUCT:
      if (sa->n_children != sb->n_children || a->n_children != sa->n_children || b->n_children != sb->n_children) {
        fprintf(stderr, "  %s: struct child counts differ\n", path);
        return false;
      }
      for (int64_t k = 0; k < sa->n_children; k++) {
        snprintf(sub, sizeof sub, "%s[%" PRId64 "].%s", path, i, sa->children[k]->name);
        if (!cmp_value(sa->children[k], a->children[k], sa_, sb->children[k], b->children[k], sb_, sub))
          return false;
      }
      return true;
    default: {
      int bits = mw_type_fixed_bits(&t);
      size_t w = (size_t)bits / 8;
      if (w == 0 || memcmp((const uint8_t *)a->buffers[1] + (size_t)sa_ * w,
                           (const uint8_t *)b->buffers[1] + (size_t)sb_ * w, w) != 0) {
        fprintf(stderr, "  %s[%" PRId64 "]: value bytes differ\n", path, i);
        return false;
      }
      return true;
    }
  }
}

/* Checks every node of a decoded array: null_count matches its bitmap. */
static bool check_null_counts(const struct ArrowSchema *s, const struct ArrowArray *a, const char *path) {
  mw_type t;
  if (mw_type_from_format(&t, s->format, NULL) != MW_OK) return false;
  if (t.id != MW_T_NULL && a->null_count != -1 && a->null_count != count_nulls(a, a->n_buffers > 0)) {
    fprintf(stderr, "  %s: null_count %" PRId64 " vs bitmap %" PRId64 "\n", path, a->null_count,
            count_nulls(a, true));
    return false;
  }
  for (int64_t k = 0; k < s->n_children && k < a->n_children; k++)
    if (!check_null_counts(s->children[k], a->children[k], s->children[k]->name)) return false;
  return true;
}

static char *render_rows(const struct ArrowSchema *s, const struct ArrowArray *const *batches, size_t n) {
  mw_buf b;
  mw_buf_init(&b);
  mw_error err = {0};
  for (size_t k = 0; k < n; k++) CHECK_OKE(mw_json_rows(&b, s, batches[k], &err), &err);
  mw_buf_u8(&b, 0);
  return (char *)b.data;
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(fwrite(data, 1, n, f) == n);
  CHECK(fclose(f) == 0);
}

/* Robustness: every truncation and some byte flips of a valid stream must
 * decode to an error or a valid result, never crash (ASan/UBSan build). */
static void mangle(const uint8_t *data, size_t len) {
  struct ArrowSchema s;
  struct ArrowArray *b;
  size_t nb;
  size_t step = len > 4000 ? len / 2000 : 1;
  for (size_t cut = 0; cut < len; cut += step) {
    if (mw_ipc_decode(&s, &b, &nb, data, cut, NULL) == MW_OK) {
      for (size_t k = 0; k < nb; k++) mw_array_release(&b[k]);
      mw_free(b);
      mw_schema_release(&s);
    }
  }
  uint8_t *copy = malloc(len);
  static const uint8_t flips[] = {0x01, 0x80, 0xff};
  for (size_t pos = 0; pos < len; pos += step) {
    for (size_t f = 0; f < sizeof flips; f++) {
      memcpy(copy, data, len);
      copy[pos] ^= flips[f];
      if (mw_ipc_decode(&s, &b, &nb, copy, len, NULL) == MW_OK) {
        mw_buf j;
        mw_buf_init(&j);
        /* rendering a decoded (validated) result must be safe too */
        for (size_t k = 0; k < nb; k++) (void)mw_json_rows(&j, &s, &b[k], NULL);
        mw_buf_free(&j);
        for (size_t k = 0; k < nb; k++) mw_array_release(&b[k]);
        mw_free(b);
        mw_schema_release(&s);
      }
    }
  }
  free(copy);
}

/* The round trip of one case: encode, decode, compare; optionally check the
 * JSON rows exactly. Takes ownership of schema and batches. */
static void roundtrip(const char *name, struct ArrowSchema *schema, struct ArrowArray **batches, size_t n,
                      const char *extra_md, const char *expected_rows) {
  mw_error err = {0};
  void *data = NULL;
  size_t len = 0;
  mw_status st = mw_ipc_encode(&data, &len, schema, (const struct ArrowArray *const *)batches, n, extra_md, &err);
  CHECK_OKE(st, &err);
  if (st != MW_OK) {
    fprintf(stderr, "  case %s\n", name);
    goto out;
  }
  struct ArrowSchema ds;
  struct ArrowArray *db = NULL;
  size_t dn = 0;
  st = mw_ipc_decode(&ds, &db, &dn, data, len, &err);
  CHECK_OKE(st, &err);
  if (st != MW_OK) {
    fprintf(stderr, "  case %s\n", name);
    mw_free(data);
    goto out;
  }
  /* schema: structure + field metadata equal, schema metadata = merged */
  bool ok = true;
  char *merged = mw_metadata_merge(schema->metadata, extra_md, &ok);
  CHECK(ok);
  CHECK(mw_schema_equal(schema, &ds, false));
  CHECK(mw_metadata_equal(ds.metadata, merged));
  CHECK_INT(ds.n_children, schema->n_children);
  for (int64_t k = 0; k < ds.n_children && k < schema->n_children; k++)
    CHECK(mw_metadata_equal(ds.children[k]->metadata, schema->children[k]->metadata));
  CHECK_INT(dn, n);
  for (size_t k = 0; k < n && k < dn; k++) {
    CHECK_INT(db[k].length, batches[k]->length);
    CHECK_INT(db[k].n_children, schema->n_children);
    CHECK(check_null_counts(&ds, &db[k], "batch"));
    CHECK_OKE(mw_batch_validate(&ds, &db[k], &err), &err);
    for (int64_t r = 0; r < batches[k]->length && r < db[k].length; r++) {
      bool same = cmp_value(schema, batches[k], r, &ds, &db[k], r, name);
      CHECK(same);
      if (!same) break;
    }
  }
  /* JSON: input and output render identically (and exactly as expected) */
  const struct ArrowArray **dptr = calloc(dn + 1, sizeof *dptr);
  for (size_t k = 0; k < dn; k++) dptr[k] = &db[k];
  char *jin = render_rows(schema, (const struct ArrowArray *const *)batches, n);
  char *jout = render_rows(&ds, dptr, dn);
  CHECK_STR(jout, jin);
  if (expected_rows) CHECK_STR(jin, expected_rows);

  if (samples_dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.arrows", samples_dir, name);
    write_file(path, data, len);
    mw_buf j;
    mw_buf_init(&j);
    CHECK_OKE(mw_json_schema(&j, &ds, &err), &err);
    mw_buf_u8(&j, '\n');
    mw_buf_append(&j, jout, strlen(jout));
    snprintf(path, sizeof path, "%s/%s.json", samples_dir, name);
    write_file(path, j.data, j.len);
    mw_buf_free(&j);
  } else {
    mangle(data, len);
  }
  free(jin);
  free(jout);
  free(dptr);
  free(merged);
  for (size_t k = 0; k < dn; k++) mw_array_release(&db[k]);
  mw_free(db);
  mw_schema_release(&ds);
  mw_free(data);
out:
  for (size_t k = 0; k < n; k++) {
    batches[k]->release(batches[k]);
    free(batches[k]);
  }
  mw_schema_release(schema);
}

/* ------------------------------------------------------------------ cases */

static void test_primitives(void) {
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 13);
  const char *fmts[13] = {"n", "b", "c", "C", "s", "S", "i", "I", "l", "L", "e", "f", "g"};
  const char *names[13] = {"nul", "b", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f16", "f32", "f64"};
  for (int k = 0; k < 13; k++) fld(s.children[k], fmts[k], names[k], k != 8, 0);
  /* two batches: the second is a slice (offset 3) of 9 physical slots */
  struct ArrowArray *batches[2];
  for (int bi = 0; bi < 2; bi++) {
    int64_t off = bi ? 3 : 0, len = bi ? 6 : 5;
    const char *bits = bi ? "111101110" : "11011";
    int8_t i8[9] = {-128, 127, 0, -1, 5, 6, 7, 8, 9};
    uint8_t u8[9] = {255, 0, 1, 2, 3, 4, 5, 6, 7};
    int16_t i16[9] = {-32768, 32767, 0, 1, 2, 3, 4, 5, -6};
    uint16_t u16[9] = {65535, 0, 1, 2, 3, 4, 5, 6, 7};
    int32_t i32[9] = {INT32_MIN, INT32_MAX, 0, -1, 1, 2, 3, 4, 5};
    uint32_t u32[9] = {UINT32_MAX, 0, 1, 2, 3, 4, 5, 6, 7};
    int64_t i64[9] = {INT64_MIN, INT64_MAX, 0, -1, 9007199254740993LL, 1, 2, 3, 4};
    uint64_t u64[9] = {UINT64_MAX, 0, 9007199254740993ULL, 1, 2, 3, 4, 5, 6};
    uint16_t f16[9] = {0x3C00, 0xC000, 0x2E66, 0x7BFF, 0x0001, 0x7C00, 0xFC00, 0x7E00, 0x8000};
    float f32[9] = {0.1f, -1.5f, 3.4028235e38f, 1e-45f, 0.0f, 16777216.0f, 1.0f / 3.0f, -0.0f, 2.5f};
    double f64[9] = {0.1, -1e300, 5e-324, 1.0 / 3.0, 0.0, 123456789.125, 1e21, 1e-7, 2.0};
    struct ArrowArray *kids[13] = {
        nullcol(len, off),
        boolcol(len, off, bits, "101100110"),
        fixed(len, off, bits, i8, 1),  fixed(len, off, bits, u8, 1),
        fixed(len, off, bits, i16, 2), fixed(len, off, bits, u16, 2),
        fixed(len, off, bits, i32, 4), fixed(len, off, bits, u32, 4),
        fixed(len, off, NULL, i64, 8), fixed(len, off, bits, u64, 8),
        fixed(len, off, bits, f16, 2), fixed(len, off, bits, f32, 4),
        fixed(len, off, bits, f64, 8)};
    batches[bi] = structcol(len, 0, NULL, 13, kids);
  }
  /* nulls: batch 0 row 2 (bits "11011"); batch 1 slots 3..8 of "111101110":
   * slot 4 and slot 8 null */
  const char *expected =
      "{\"nul\": null, \"b\": true, \"i8\": -128, \"u8\": 255, \"i16\": -32768, \"u16\": 65535, "
      "\"i32\": -2147483648, \"u32\": 4294967295, \"i64\": -9223372036854775808, "
      "\"u64\": 18446744073709551615, \"f16\": 1, \"f32\": 0.1, \"f64\": 0.1}\n"
      "{\"nul\": null, \"b\": false, \"i8\": 127, \"u8\": 0, \"i16\": 32767, \"u16\": 0, "
      "\"i32\": 2147483647, \"u32\": 0, \"i64\": 9223372036854775807, \"u64\": 0, \"f16\": -2, "
      "\"f32\": -1.5, \"f64\": -1e+300}\n"
      "{\"nul\": null, \"b\": null, \"i8\": null, \"u8\": null, \"i16\": null, \"u16\": null, "
      "\"i32\": null, \"u32\": null, \"i64\": 0, \"u64\": null, \"f16\": null, \"f32\": null, \"f64\": null}\n"
      "{\"nul\": null, \"b\": true, \"i8\": -1, \"u8\": 2, \"i16\": 1, \"u16\": 2, \"i32\": -1, \"u32\": 2, "
      "\"i64\": -1, \"u64\": 1, \"f16\": 6.55e+04, \"f32\": 1e-45, \"f64\": 0.3333333333333333}\n"
      "{\"nul\": null, \"b\": false, \"i8\": 5, \"u8\": 3, \"i16\": 2, \"u16\": 3, \"i32\": 1, \"u32\": 3, "
      "\"i64\": 9007199254740993, \"u64\": 2, \"f16\": 6e-08, \"f32\": 0, \"f64\": 0}\n"
      /* batch 1: slots 3..8 */
      "{\"nul\": null, \"b\": true, \"i8\": -1, \"u8\": 2, \"i16\": 1, \"u16\": 2, \"i32\": -1, \"u32\": 2, "
      "\"i64\": -1, \"u64\": 1, \"f16\": 6.55e+04, \"f32\": 1e-45, \"f64\": 0.3333333333333333}\n"
      "{\"nul\": null, \"b\": null, \"i8\": null, \"u8\": null, \"i16\": null, \"u16\": null, "
      "\"i32\": null, \"u32\": null, \"i64\": 9007199254740993, \"u64\": null, \"f16\": null, "
      "\"f32\": null, \"f64\": null}\n"
      "{\"nul\": null, \"b\": false, \"i8\": 6, \"u8\": 4, \"i16\": 3, \"u16\": 4, \"i32\": 2, \"u32\": 4, "
      "\"i64\": 1, \"u64\": 3, \"f16\": \"Infinity\", \"f32\": 16777216, \"f64\": 123456789.125}\n"
      "{\"nul\": null, \"b\": true, \"i8\": 7, \"u8\": 5, \"i16\": 4, \"u16\": 5, \"i32\": 3, \"u32\": 5, "
      "\"i64\": 2, \"u64\": 4, \"f16\": \"-Infinity\", \"f32\": 0.33333334, \"f64\": 1e+21}\n"
      "{\"nul\": null, \"b\": true, \"i8\": 8, \"u8\": 6, \"i16\": 5, \"u16\": 6, \"i32\": 4, \"u32\": 6, "
      "\"i64\": 3, \"u64\": 5, \"f16\": \"NaN\", \"f32\": -0, \"f64\": 1e-07}\n"
      "{\"nul\": null, \"b\": null, \"i8\": null, \"u8\": null, \"i16\": null, \"u16\": null, "
      "\"i32\": null, \"u32\": null, \"i64\": 4, \"u64\": null, \"f16\": null, \"f32\": null, \"f64\": null}\n";
  roundtrip("primitives", &s, batches, 2, NULL, expected);
}

static void test_strings(void) {
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 5);
  fld(s.children[0], "u", "s", true, 0);
  fld(s.children[1], "U", "ls", true, 0);
  fld(s.children[2], "z", "bin", true, 0);
  fld(s.children[3], "Z", "lbin", true, 0);
  fld(s.children[4], "w:3", "fsb", true, 0);
  const char *strs[7] = {"", "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80", NULL, "q\"\\\n\t\x01", "plain", "", "x"};
  const char *bins[7] = {"\x01\xff", "", NULL, "ab", "\x7f", "zz", ""};
  uint8_t fsb[21] = {0, 1, 2, 0xde, 0xad, 0xbe, 9, 9, 9, 0xff, 0xfe, 0xfd, 1, 1, 1, 2, 2, 2, 3, 3, 3};
  struct ArrowArray *batches[2];
  for (int bi = 0; bi < 2; bi++) {
    int64_t off = bi ? 5 : 0, len = bi ? 2 : 5;
    struct ArrowArray *kids[5] = {strcol(len, off, strs, false), strcol(len, off, strs, true),
                                  strcol(len, off, bins, false), strcol(len, off, bins, true),
                                  fixed(len, off, "1101011", fsb, 3)};
    batches[bi] = structcol(len, 0, NULL, 5, kids);
  }
  const char *expected =
      "{\"s\": \"\", \"ls\": \"\", \"bin\": \"01ff\", \"lbin\": \"01ff\", \"fsb\": \"000102\"}\n"
      "{\"s\": \"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\", \"ls\": \"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\", "
      "\"bin\": \"\", \"lbin\": \"\", \"fsb\": \"deadbe\"}\n"
      "{\"s\": null, \"ls\": null, \"bin\": null, \"lbin\": null, \"fsb\": null}\n"
      "{\"s\": \"q\\\"\\\\\\u000a\\u0009\\u0001\", \"ls\": \"q\\\"\\\\\\u000a\\u0009\\u0001\", \"bin\": \"6162\", "
      "\"lbin\": \"6162\", \"fsb\": \"fffefd\"}\n"
      "{\"s\": \"plain\", \"ls\": \"plain\", \"bin\": \"7f\", \"lbin\": \"7f\", \"fsb\": null}\n"
      "{\"s\": \"\", \"ls\": \"\", \"bin\": \"7a7a\", \"lbin\": \"7a7a\", \"fsb\": \"020202\"}\n"
      "{\"s\": \"x\", \"ls\": \"x\", \"bin\": \"\", \"lbin\": \"\", \"fsb\": \"030303\"}\n";
  roundtrip("strings", &s, batches, 2, NULL, expected);
}

static void put_i128(uint8_t *p, int64_t hi, uint64_t lo) {
  mw_store_u64le(p, lo);
  mw_store_u64le(p + 8, (uint64_t)hi);
}

static void test_decimal(void) {
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 2);
  fld(s.children[0], "d:10,2", "d", true, 0);
  fld(s.children[1], "d:38,0", "big", true, 0);
  uint8_t d[6 * 16], big[6 * 16];
  put_i128(d + 0, -1, (uint64_t)-12345); /* -123.45 */
  put_i128(d + 16, 0, 1);                /* 0.01 */
  put_i128(d + 32, 0, 0);                /* 0.00 */
  put_i128(d + 48, 0, 4200);             /* 42.00 */
  put_i128(d + 64, -1, (uint64_t)-5);    /* -0.05 */
  put_i128(d + 80, 0, 7);
  /* 10^38 - 1 and its negation; 2^64 */
  put_i128(big + 0, INT64_C(0x4B3B4CA85A86C47A), UINT64_C(0x098A223FFFFFFFFF));
  put_i128(big + 16, ~INT64_C(0x4B3B4CA85A86C47A), ~UINT64_C(0x098A223FFFFFFFFF) + 1);
  put_i128(big + 32, 1, 0);
  put_i128(big + 48, 0, 42);
  put_i128(big + 64, 0, 0);
  put_i128(big + 80, -1, UINT64_MAX);
  struct ArrowArray *kids[2] = {fixed(6, 0, "111110", d, 16), fixed(6, 0, NULL, big, 16)};
  struct ArrowArray *batches[1] = {structcol(6, 0, NULL, 2, kids)};
  const char *expected =
      "{\"d\": \"-123.45\", \"big\": \"99999999999999999999999999999999999999\"}\n"
      "{\"d\": \"0.01\", \"big\": \"-99999999999999999999999999999999999999\"}\n"
      "{\"d\": \"0.00\", \"big\": \"18446744073709551616\"}\n"
      "{\"d\": \"42.00\", \"big\": \"42\"}\n"
      "{\"d\": \"-0.05\", \"big\": \"0\"}\n"
      "{\"d\": null, \"big\": \"-1\"}\n";
  roundtrip("decimal", &s, batches, 1, NULL, expected);

  /* negative scale multiplies (apache-arrow JS has no negative scales in
   * its value API: not a sample) */
  fld(&s, "+s", "", false, 1);
  fld(s.children[0], "d:5,-2", "d", true, 0);
  uint8_t neg[3 * 16];
  put_i128(neg, 0, 42);
  put_i128(neg + 16, -1, (uint64_t)-7);
  put_i128(neg + 32, 0, 0);
  struct ArrowArray *k1[1] = {fixed(3, 0, NULL, neg, 16)};
  struct ArrowArray *b1[1] = {structcol(3, 0, NULL, 1, k1)};
  const char *saved = samples_dir;
  samples_dir = NULL;
  roundtrip("decimal_negative_scale", &s, b1, 1, NULL, "{\"d\": \"4200\"}\n{\"d\": \"-700\"}\n{\"d\": \"0\"}\n");
  samples_dir = saved;
}

static void test_temporal(void) {
  static const char *fmts[] = {"tdD", "tdm", "tts", "ttm", "ttu", "ttn", "tss:", "tsm:", "tsu:", "tsn:",
                               "tss:UTC", "tsm:Europe/Paris", "tsu:UTC", "tsn:+01:00", "tDs", "tDm", "tDu", "tDn"};
  static const char *names[] = {"date32", "date64", "time_s", "time_ms", "time_us", "time_ns", "ts_s", "ts_ms",
                                "ts_us", "ts_ns", "ts_s_utc", "ts_ms_paris", "ts_us_utc", "ts_ns_plus1",
                                "dur_s", "dur_ms", "dur_us", "dur_ns"};
  enum { N = 18 };
  struct ArrowSchema s;
  fld(&s, "+s", "", false, N);
  for (int k = 0; k < N; k++) fld(s.children[k], fmts[k], names[k], true, 0);
  int32_t v32[4][4] = {{19000, -1, 0, 2932896}, {0, 0, 0, 0}, {86399, 0, 3600, 1}, {86399999, 0, 1, 5}};
  /* values within +-2^53 so apache-arrow JS can convert them to numbers;
   * the int64 extremes are in nojs_temporal_extremes */
  int64_t v64[4] = {1700000000123LL, -86400000LL, 0, 9007199254740991LL};
  int64_t vt[4] = {1700000000123456LL, -1, 0, -9007199254740991LL};
  struct ArrowArray *kids[N];
  const char *bits = "1101";
  for (int k = 0; k < N; k++) {
    if (k == 0) kids[k] = fixed(4, 0, bits, v32[0], 4);
    else if (k == 1) kids[k] = fixed(4, 0, bits, v64, 8);
    else if (k == 2) kids[k] = fixed(4, 0, bits, v32[2], 4);
    else if (k == 3) kids[k] = fixed(4, 0, bits, v32[3], 4);
    else kids[k] = fixed(4, 0, k % 2 ? NULL : bits, vt, 8);
  }
  struct ArrowArray *batches[1] = {structcol(4, 0, NULL, N, kids)};
  roundtrip("temporal", &s, batches, 1, NULL, NULL);
  /* int64 extremes in every 64-bit temporal type */
  fld(&s, "+s", "", false, 4);
  fld(s.children[0], "tdm", "d", true, 0);
  fld(s.children[1], "ttn", "t", true, 0);
  fld(s.children[2], "tsu:UTC", "ts", true, 0);
  fld(s.children[3], "tDn", "dur", true, 0);
  int64_t ext[2] = {INT64_MAX, INT64_MIN};
  struct ArrowArray *k3[4] = {fixed(2, 0, NULL, ext, 8), fixed(2, 0, NULL, ext, 8), fixed(2, 0, NULL, ext, 8),
                              fixed(2, 0, NULL, ext, 8)};
  struct ArrowArray *b3[1] = {structcol(2, 0, NULL, 4, k3)};
  roundtrip("nojs_temporal_extremes", &s, b3, 1, NULL,
            "{\"d\": 9223372036854775807, \"t\": 9223372036854775807, \"ts\": 9223372036854775807, "
            "\"dur\": 9223372036854775807}\n"
            "{\"d\": -9223372036854775808, \"t\": -9223372036854775808, \"ts\": -9223372036854775808, "
            "\"dur\": -9223372036854775808}\n");
  /* the JSON of one row, exactly */
  fld(&s, "+s", "", false, 3);
  fld(s.children[0], "tdD", "d", true, 0);
  fld(s.children[1], "tsn:UTC", "t", true, 0);
  fld(s.children[2], "tDs", "u", false, 0);
  struct ArrowArray *k2[3] = {fixed(2, 0, "01", v32[0], 4), fixed(2, 0, NULL, vt, 8), fixed(2, 0, NULL, v64, 8)};
  struct ArrowArray *b2[1] = {structcol(2, 0, NULL, 3, k2)};
  roundtrip("temporal_small", &s, b2, 1, NULL,
            "{\"d\": null, \"t\": 1700000000123456, \"u\": 1700000000123}\n"
            "{\"d\": -1, \"t\": -1, \"u\": -86400000}\n");
}

static void test_lists(void) {
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 3);
  fld(fld(s.children[0], "+w:3", "vec", true, 1)->children[0], "f", "item", true, 0);
  fld(fld(s.children[1], "+l", "ints", true, 1)->children[0], "i", "item", true, 0);
  fld(fld(s.children[2], "+l", "strs", true, 1)->children[0], "u", "item", false, 0);
  /* 5 physical rows; the batch uses a slice of the columns at offset 1 */
  float fv[15] = {0, 0, 0, 1.5f, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  int32_t iv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  int64_t ioffs[6] = {0, 1, 3, 3, 3, 8};
  const char *sv[6] = {"a", "", "c\xC3\xBC", "d", "e", "f"};
  int64_t soffs[6] = {0, 0, 2, 2, 3, 6};
  struct ArrowArray *kids[3] = {
      structcol(4, 1, "10110", 1, (struct ArrowArray *[]){fixed(15, 0, "111011111111111", fv, 4)}),
      listcol(4, 1, "11011", ioffs, false, fixed(8, 0, "11101111", iv, 4)),
      listcol(4, 1, "11101", soffs, false, strcol(6, 0, sv, false))};
  struct ArrowArray *batches[1] = {structcol(4, 0, NULL, 3, kids)};
  /* rows = physical slots 1..4 of each column */
  const char *expected =
      "{\"vec\": null, \"ints\": [2, 3], \"strs\": [\"a\", \"\"]}\n"
      "{\"vec\": [4, 5, 6], \"ints\": null, \"strs\": []}\n"
      "{\"vec\": [7, 8, 9], \"ints\": [], \"strs\": null}\n"
      "{\"vec\": null, \"ints\": [null, 5, 6, 7, 8], \"strs\": [\"d\", \"e\", \"f\"]}\n";
  roundtrip("lists", &s, batches, 1, NULL, expected);
}

static void test_large_list(void) {
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 1);
  fld(fld(s.children[0], "+L", "ll", true, 1)->children[0], "l", "item", true, 0);
  int64_t v[5] = {10, 20, 30, 40, 50};
  int64_t offs[5] = {0, 2, 2, 2, 5};
  struct ArrowArray *kids[1] = {listcol(4, 0, "1101", offs, true, fixed(5, 0, "11011", v, 8))};
  struct ArrowArray *batches[1] = {structcol(4, 0, NULL, 1, kids)};
  roundtrip("nojs_large_list", &s, batches, 1, NULL,
            "{\"ll\": [10, 20]}\n{\"ll\": []}\n{\"ll\": null}\n{\"ll\": [null, 40, 50]}\n");
}

static void test_struct_and_map(void) {
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 2);
  struct ArrowSchema *st = fld(s.children[0], "+s", "st", true, 2);
  fld(st->children[0], "i", "a", true, 0);
  fld(st->children[1], "u", "b", false, 0);
  struct ArrowSchema *m = fld(s.children[1], "+m", "m", true, 1);
  struct ArrowSchema *ent = fld(m->children[0], "+s", "entries", false, 2);
  fld(ent->children[0], "u", "key", false, 0);
  fld(ent->children[1], "l", "value", true, 0);
  int32_t av[4] = {1, 2, 3, 4};
  const char *bv[4] = {"x", "y", "z", ""};
  const char *keys[5] = {"k1", "k2", "k3", "k4", "k5"};
  int64_t vals[5] = {100, 200, 300, 400, 500};
  int64_t moffs[5] = {0, 2, 2, 2, 5};
  struct ArrowArray *skids[2] = {fixed(4, 0, "1011", av, 4), strcol(4, 0, bv, false)};
  struct ArrowArray *ekids[2] = {strcol(5, 0, keys, false), fixed(5, 0, "10111", vals, 8)};
  struct ArrowArray *kids[2] = {structcol(4, 0, "1101", 2, skids),
                                listcol(4, 0, "1101", moffs, false, structcol(5, 0, NULL, 2, ekids))};
  struct ArrowArray *batches[1] = {structcol(4, 0, NULL, 2, kids)};
  roundtrip("struct_map", &s, batches, 1, NULL,
            "{\"st\": {\"a\": 1, \"b\": \"x\"}, \"m\": [[\"k1\", 100], [\"k2\", null]]}\n"
            "{\"st\": {\"a\": null, \"b\": \"y\"}, \"m\": []}\n"
            "{\"st\": null, \"m\": null}\n"
            "{\"st\": {\"a\": 4, \"b\": \"\"}, \"m\": [[\"k3\", 300], [\"k4\", 400], [\"k5\", 500]]}\n");
}

static void test_nested(void) {
  /* list<struct<x: int32, y: list<utf8>>> and struct<l: list<int16>, s: struct<q: bool>> */
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 2);
  struct ArrowSchema *ls = fld(fld(s.children[0], "+l", "los", true, 1)->children[0], "+s", "item", true, 2);
  fld(ls->children[0], "i", "x", true, 0);
  fld(fld(ls->children[1], "+l", "y", true, 1)->children[0], "u", "item", true, 0);
  struct ArrowSchema *sl = fld(s.children[1], "+s", "sol", true, 2);
  fld(fld(sl->children[0], "+l", "l", true, 1)->children[0], "s", "item", true, 0);
  fld(fld(sl->children[1], "+s", "s", true, 1)->children[0], "b", "q", true, 0);

  int32_t xv[4] = {7, 8, 9, 10};
  const char *yv[4] = {"p", "q", NULL, "r"};
  int64_t yoffs[5] = {0, 2, 2, 4, 4};
  struct ArrowArray *item_kids[2] = {fixed(4, 0, "1110", xv, 4),
                                     listcol(4, 0, "1011", yoffs, false, strcol(4, 0, yv, false))};
  int64_t loffs[4] = {0, 3, 3, 4};
  struct ArrowArray *los = listcol(3, 0, "110", loffs, false, structcol(4, 0, "1101", 2, item_kids));
  int16_t l16[3] = {-1, 0, 1};
  int64_t l16offs[4] = {0, 0, 3, 3};
  struct ArrowArray *sol_kids[2] = {
      listcol(3, 0, "011", l16offs, false, fixed(3, 0, NULL, l16, 2)),
      structcol(3, 0, "101", 1, (struct ArrowArray *[]){boolcol(3, 0, "110", "100")})};
  struct ArrowArray *sol = structcol(3, 0, "111", 2, sol_kids);
  struct ArrowArray *batches[1] = {structcol(3, 0, NULL, 2, (struct ArrowArray *[]){los, sol})};
  roundtrip("nested", &s, batches, 1, NULL,
            "{\"los\": [{\"x\": 7, \"y\": [\"p\", \"q\"]}, {\"x\": 8, \"y\": null}, null], "
            "\"sol\": {\"l\": null, \"s\": {\"q\": true}}}\n"
            "{\"los\": [], \"sol\": {\"l\": [-1, 0, 1], \"s\": null}}\n"
            "{\"los\": null, \"sol\": {\"l\": [], \"s\": {\"q\": null}}}\n");
}

/* Slices at every level: the batch itself has offset 2, columns have their
 * own offsets (non-multiples of 8), list children are offset too. */
static void test_sliced(void) {
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 4);
  fld(s.children[0], "i", "i", true, 0);
  fld(s.children[1], "b", "b", true, 0);
  fld(s.children[2], "u", "s", true, 0);
  fld(fld(s.children[3], "+l", "l", true, 1)->children[0], "l", "item", true, 0);
  int32_t iv[20];
  for (int k = 0; k < 20; k++) iv[k] = k * 11;
  const char *sv[20] = {"s0", "s1", NULL, "s3", "s4", "s5", "", "s7", "s8", "s9",
                        "s10", NULL, "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19"};
  int64_t lv[30];
  for (int k = 0; k < 30; k++) lv[k] = 1000 + k;
  int64_t loffs[21];
  for (int k = 0; k <= 20; k++) loffs[k] = k + (k > 10 ? 5 : 0) + 2; /* starts at 2, jumps by 6 at 11 */
  const char *bits = "11110111011101111101";
  /* columns: physical 20 slots, column offsets 3/5/1/7, column length 11 */
  struct ArrowArray *kids[4] = {fixed(11, 3, bits, iv, 4), boolcol(11, 5, bits, "10101010101010101010"),
                                strcol(11, 1, sv, false),
                                listcol(11, 7, bits, loffs, false, fixed(27, 3, "110111111111111111111111111111", lv, 8))};
  /* the batch: length 7 starting at slot 2 of the columns' logical range */
  struct ArrowArray *b = structcol(7, 2, NULL, 4, kids);
  struct ArrowArray *batches[1] = {b};
  roundtrip("sliced", &s, batches, 1, NULL, NULL);

  /* a single bool column at odd offsets: check the rows exactly */
  fld(&s, "+s", "", false, 1);
  fld(s.children[0], "b", "b", true, 0);
  struct ArrowArray *bk[1] = {boolcol(5, 9, "1111111110110111", "0000000001100100")};
  struct ArrowArray *bb[1] = {structcol(4, 1, NULL, 1, bk)};
  /* column logical slots 1..4 = physical 10..13: validity 1,1,0,1 values 1,0,0,1 */
  roundtrip("sliced_bool", &s, bb, 1, NULL, "{\"b\": true}\n{\"b\": false}\n{\"b\": null}\n{\"b\": true}\n");
}

static void test_empty(void) {
  /* zero-length batch of every flat type + a list, and a stream of 0 batches */
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 4);
  fld(s.children[0], "l", "id", false, 0);
  fld(s.children[1], "u", "name", true, 0);
  fld(fld(s.children[2], "+l", "l", true, 1)->children[0], "i", "item", true, 0);
  fld(s.children[3], "d:12,3", "d", true, 0);
  int64_t z = 0;
  const char *none[1] = {NULL};
  struct ArrowArray *kids[4] = {fixed(0, 0, NULL, &z, 8), strcol(0, 0, none, false),
                                listcol(0, 0, NULL, &z, false, fixed(0, 0, NULL, &z, 4)), fixed(0, 0, NULL, &z, 16)};
  struct ArrowArray *batches[1] = {structcol(0, 0, NULL, 4, kids)};
  roundtrip("empty_batch", &s, batches, 1, NULL, "");

  fld(&s, "+s", "", false, 1);
  fld(s.children[0], "l", "id", false, 0);
  roundtrip("no_batches", &s, NULL, 0, NULL, "");
}

static void test_metadata(void) {
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 2);
  fld(s.children[0], "l", "id", false, 0);
  fld(s.children[1], "u", "name", true, 0);
  char *fm = md1("lance-schema:unenforced-primary-key:position", "1");
  set_md(s.children[0], fm);
  char *fm2 = md2("a", "\xC3\xA9", "empty", "");
  set_md(s.children[1], fm2);
  char *sm = md2("writer_epoch", "1", "other", "x\"y");
  set_md(&s, sm);
  char *extra = md1("writer_epoch", "7");
  int64_t ids[2] = {1, 2};
  const char *names[2] = {"n1", NULL};
  struct ArrowArray *kids[2] = {fixed(2, 0, NULL, ids, 8), strcol(2, 0, names, false)};
  struct ArrowArray *batches[1] = {structcol(2, 0, NULL, 2, kids)};

  /* the schema line of the decoded stream, exactly */
  void *data = NULL;
  size_t len = 0;
  mw_error err = {0};
  CHECK_OKE(mw_ipc_encode(&data, &len, &s, (const struct ArrowArray *const *)batches, 1, extra, &err), &err);
  struct ArrowSchema ds;
  struct ArrowArray *db = NULL;
  size_t dn = 0;
  if (data && mw_ipc_decode(&ds, &db, &dn, data, len, &err) == MW_OK) {
    mw_buf j;
    mw_buf_init(&j);
    CHECK_OKE(mw_json_schema(&j, &ds, &err), &err);
    mw_buf_u8(&j, 0);
    CHECK_STR((const char *)j.data,
              "{\"schema\": {\"fields\": [{\"name\": \"id\", \"type\": \"int64\", \"nullable\": false, "
              "\"metadata\": {\"lance-schema:unenforced-primary-key:position\": \"1\"}}, "
              "{\"name\": \"name\", \"type\": \"utf8\", \"nullable\": true, \"metadata\": {\"a\": \"\xC3\xA9\", "
              "\"empty\": \"\"}}], \"metadata\": {\"writer_epoch\": \"7\", \"other\": \"x\\\"y\"}}}");
    mw_kv kv;
    CHECK(mw_metadata_find(ds.metadata, "writer_epoch", &kv) && kv.value_len == 1 && kv.value[0] == '7');
    mw_buf_free(&j);
    for (size_t k = 0; k < dn; k++) mw_array_release(&db[k]);
    mw_free(db);
    mw_schema_release(&ds);
  } else {
    CHECK(0);
  }
  mw_free(data);
  roundtrip("metadata", &s, batches, 1, extra, "{\"id\": 1, \"name\": \"n1\"}\n{\"id\": 2, \"name\": null}\n");
  free(fm);
  free(fm2);
  free(sm);
  free(extra);
}

/* ------------------------------------------------- JSON renderer specifics */

static void test_json_types(void) {
  struct ArrowSchema s;
  fld(&s, "+s", "", false, 5);
  fld(fld(s.children[0], "+l", "l", true, 1)->children[0], "i", "item", true, 0);
  fld(fld(s.children[1], "+w:512", "v", true, 1)->children[0], "f", "item", true, 0);
  struct ArrowSchema *st = fld(s.children[2], "+s", "st", true, 2);
  fld(st->children[0], "i", "a", true, 0);
  fld(st->children[1], "u", "b", true, 0);
  struct ArrowSchema *ent = fld(fld(s.children[3], "+m", "m", true, 1)->children[0], "+s", "entries", false, 2);
  fld(ent->children[0], "u", "key", false, 0);
  fld(ent->children[1], "l", "value", true, 0);
  fld(fld(s.children[4], "+L", "ll", false, 1)->children[0], "tsu:UTC", "item", false, 0);
  mw_buf b;
  mw_buf_init(&b);
  mw_error err = {0};
  CHECK_OKE(mw_json_schema(&b, &s, &err), &err);
  mw_buf_u8(&b, 0);
  CHECK_STR((const char *)b.data,
            "{\"schema\": {\"fields\": ["
            "{\"name\": \"l\", \"type\": \"list<item: int32>\", \"nullable\": true, \"metadata\": {}}, "
            "{\"name\": \"v\", \"type\": \"fixed_size_list[512]<item: float32>\", \"nullable\": true, \"metadata\": {}}, "
            "{\"name\": \"st\", \"type\": \"struct<a: int32, b: utf8>\", \"nullable\": true, \"metadata\": {}}, "
            "{\"name\": \"m\", \"type\": \"map<entries: struct<key: utf8 not null, value: int64> not null>\", "
            "\"nullable\": true, \"metadata\": {}}, "
            "{\"name\": \"ll\", \"type\": \"large_list<item: timestamp[us, UTC] not null>\", \"nullable\": false, "
            "\"metadata\": {}}], \"metadata\": {}}}");
  mw_buf_free(&b);
  mw_schema_release(&s);
}

static void test_json_strings(void) {
  mw_buf b;
  mw_buf_init(&b);
  /* invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate,
   * > U+10FFFF; each bad byte becomes \ufffd */
  const char in[] = "a\x80" "b\xC3" "c\xC0\xAF" "\xED\xA0\x80" "\xF4\x90\x80\x80" "\x7f\x1f";
  mw_json_string(&b, in, sizeof in - 1);
  mw_buf_u8(&b, 0);
  CHECK_STR((const char *)b.data,
            "\"a\\ufffdb\\ufffdc\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\x7f\\u001f\"");
  mw_buf_free(&b);
  mw_buf_init(&b);
  mw_json_string(&b, "\0x", 2);
  mw_buf_u8(&b, 0);
  CHECK_STR((const char *)b.data, "\"\\u0000x\"");
  mw_buf_free(&b);
}

static void test_json_floats(void) {
  char t[64];
  mw_json_format_f64(t, sizeof t, 0.1);
  CHECK_STR(t, "0.1");
  mw_json_format_f64(t, sizeof t, 1e23);
  CHECK_STR(t, "1e+23");
  mw_json_format_f64(t, sizeof t, -0.0);
  CHECK_STR(t, "-0");
  mw_json_format_f64(t, sizeof t, 5e-324);
  CHECK_STR(t, "5e-324");
  mw_json_format_f32(t, sizeof t, 0.1f);
  CHECK_STR(t, "0.1");
  mw_json_format_f32(t, sizeof t, 3.4028235e38f);
  CHECK_STR(t, "3.4028235e+38");
  mw_json_format_f16(t, sizeof t, 0x2E66);
  CHECK_STR(t, "0.1");
  mw_json_format_f16(t, sizeof t, 0x3555); /* 0.333251953125 */
  CHECK_STR(t, "0.3333");
  mw_json_format_f16(t, sizeof t, 0x7E00);
  CHECK_STR(t, "NaN");
  /* half conversions: exhaustive round trip of every non-NaN half */
  int bad = 0;
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;
    if (mw_double_to_half(mw_half_to_double((uint16_t)h)) != h) bad++;
  }
  CHECK_INT(bad, 0);
  CHECK_INT(mw_double_to_half(65520.0), 0x7C00);   /* rounds up to inf */
  CHECK_INT(mw_double_to_half(65519.99), 0x7BFF);
  CHECK_INT(mw_double_to_half(2.98023223876953125e-08), 0); /* exactly half the min subnormal: to even */
  CHECK_INT(mw_double_to_half(2.99e-08), 1);
  CHECK_INT(mw_double_to_half(1.0 + 1.0 / 2048), 0x3C00); /* tie to even */
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write-samples") == 0) {
    samples_dir = argv[2];
  } else if (argc != 1) {
    fprintf(stderr, "usage: test_ipc [--write-samples DIR]\n");
    return 2;
  }
  MW_RUN(test_json_strings);
  MW_RUN(test_json_floats);
  MW_RUN(test_json_types);
  MW_RUN(test_primitives);
  MW_RUN(test_strings);
  MW_RUN(test_decimal);
  MW_RUN(test_temporal);
  MW_RUN(test_lists);
  MW_RUN(test_large_list);
  MW_RUN(test_struct_and_map);
  MW_RUN(test_nested);
  MW_RUN(test_sliced);
  MW_RUN(test_empty);
  MW_RUN(test_metadata);
  return mw_test_finish();
}
