/* test_ipc_read.c - the Arrow IPC stream decoder (mw_ipc_decode), the
 * flatbuffer verifier under it, and the metadata/owned-schema helpers.
 * Inputs: real Lance WAL entries (fixture), streams written by apache-arrow
 * JS (tests/data/arrow_js_*, ipc_*; see ipc_gen_inputs.mjs), the worked
 * example of FORMATS.md, batches built here (compressed, malformed), and
 * exhaustive truncations / bit flips. */
#include <lz4frame.h>
#include <zstd.h>

#include "arrow/c_data.h"
#include "arrow/ipc.h"
#include "arrow/flatbuf_read.h"
#include "common/buf.h"
#include "mw_test.h"

#define WAL_DIR MW_SHARED_DIR "/fixtures/lance12_reference_table.lance/_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/wal/"

/* CHECK_OK wants a pointer expression (not &x, which -Waddress flags). */
static mw_error *E(mw_error *e) { return e; }

/* With MW_IPC_WRITE_SEEDS=DIR, generated streams are saved as fuzz seeds. */
static void seed(const char *name, const void *data, size_t len) {
  const char *dir = getenv("MW_IPC_WRITE_SEEDS");
  if (!dir) return;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(data, 1, len, f);
    fclose(f);
  }
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    *len = 0;
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  *len = fread(b, 1, (size_t)n, f);
  fclose(f);
  return b;
}

static uint8_t *data_file(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/data/%s", MW_SOURCE_DIR, name);
  uint8_t *b = read_file(path, len);
  CHECK(b != NULL);
  return b;
}

typedef struct decoded {
  struct ArrowSchema schema;
  struct ArrowArray *batches;
  size_t n;
  mw_error err;
  mw_status st;
} decoded;

static void dec(decoded *d, const void *data, size_t len) {
  memset(d, 0, sizeof *d);
  d->st = mw_ipc_decode(&d->schema, &d->batches, &d->n, data, len, &d->err);
  if (d->st == MW_OK) {
    for (size_t i = 0; i < d->n; i++) {
      mw_error verr = {0};
      mw_status vs = mw_batch_validate(&d->schema, &d->batches[i], &verr);
      if (vs != MW_OK) fprintf(stderr, "validate: %s\n", verr.message);
      CHECK_INT(vs, MW_OK);
    }
  }
}

static void undec(decoded *d) {
  if (d->st != MW_OK) return;
  for (size_t i = 0; i < d->n; i++) mw_array_release(&d->batches[i]);
  mw_free(d->batches);
  mw_schema_release(&d->schema);
  d->st = MW_ERR_CLOSED;
}

static bool md_is(const char *blob, const char *key, const char *value) {
  mw_kv kv;
  if (!mw_metadata_find(blob, key, &kv)) return false;
  return (size_t)kv.value_len == strlen(value) && memcmp(kv.value, value, strlen(value)) == 0;
}

static const char *str_at(const struct ArrowArray *a, int64_t i, char *buf) {
  const int32_t *off = a->buffers[1];
  const char *data = a->buffers[2];
  if (!mw_bit_get(a->buffers[0], a->offset + i)) return NULL;
  int32_t s = off[a->offset + i], e = off[a->offset + i + 1];
  memcpy(buf, data + s, (size_t)(e - s));
  buf[e - s] = 0;
  return buf;
}

static void expect_corrupt(const void *data, size_t len, const char *needle) {
  decoded d;
  dec(&d, data, len);
  CHECK_INT(d.st, MW_ERR_CORRUPT);
  if (d.st == MW_ERR_CORRUPT) {
    CHECK(strstr(d.err.message, "at byte ") != NULL);
    if (needle && !strstr(d.err.message, needle)) {
      fprintf(stderr, "  message '%s' lacks '%s'\n", d.err.message, needle);
      CHECK(0);
    }
  } else {
    fprintf(stderr, "  expected corrupt (%s), got %d: %s\n", needle ? needle : "", d.st, d.err.message);
  }
  undec(&d);
}

/* Message boundaries: ends[i] = end offset of message i (EOS excluded). */
static int message_ends(const uint8_t *in, size_t len, size_t *ends, int max) {
  size_t pos = 0;
  int n = 0;
  while (pos + 8 <= len && n < max) {
    uint32_t w = mw_load_u32le(in + pos);
    size_t hdr = w == 0xFFFFFFFFu ? 8 : 4;
    int32_t mlen = (int32_t)mw_load_u32le(in + pos + hdr - 4);
    if (mlen == 0) break;
    mw_fb fb;
    mw_fb_table msg;
    int64_t body = 0;
    mw_fb_init(&fb, in + pos + hdr, (size_t)mlen, 0);
    if (mw_fb_root(&msg, &fb, NULL) != MW_OK || mw_fb_i64(&msg, 3, 0, &body, NULL) != MW_OK) break;
    pos += hdr + (size_t)mlen + (size_t)body;
    ends[n++] = pos;
  }
  return n;
}

/* ------------------------------------------------------- message builder */

/* The FORMATS.md worked example: Schema message for nullable int32 "x". */
static const uint8_t WORKED_SCHEMA[128] = {
  0xff, 0xff, 0xff, 0xff, 0x78, 0x00, 0x00, 0x00,
  0x10, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x08, 0x00, 0x0a, 0x00, 0x04, 0x00, 0x00, 0x00,
  0x0c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x00,
  0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
  0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
  0x10, 0x00, 0x14, 0x00, 0x04, 0x00, 0x10, 0x00, 0x11, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0c, 0x00,
  0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
  0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x08, 0x00, 0x0c, 0x00, 0x04, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
  0x01, 0x00, 0x00, 0x00,
};

/* Appends a framed RecordBatch message: nodes/bufs are {a, b} pairs; codec
 * -1 = uncompressed. */
static void put_batch(mw_buf *o, int64_t length, const int64_t *nodes, int n_nodes,
                      const int64_t *bufs, int n_bufs, int codec, const void *body, size_t body_len) {
  uint8_t m[4096];
  memset(m, 0, sizeof m);
  mw_store_u32le(m + 0x00, 0x10);
  const uint16_t vt1[6] = {12, 24, 4, 6, 8, 16};
  for (int i = 0; i < 6; i++) mw_store_u16le(m + 0x04 + 2 * i, vt1[i]);
  mw_store_u32le(m + 0x10, 12);
  mw_store_u16le(m + 0x14, 4);
  m[0x16] = 3;
  mw_store_u32le(m + 0x18, 0x38 - 0x18);
  mw_store_u64le(m + 0x20, body_len);
  const uint16_t vt2[6] = {12, 24, 8, 4, 16, (uint16_t)(codec >= 0 ? 20 : 0)};
  for (int i = 0; i < 6; i++) mw_store_u16le(m + 0x28 + 2 * i, vt2[i]);
  mw_store_u32le(m + 0x38, 16);
  mw_store_u32le(m + 0x3c, 0x64 - 0x3c);
  mw_store_u64le(m + 0x40, (uint64_t)length);
  mw_store_u32le(m + 0x4c, 0x58 - 0x4c);
  const uint16_t vt3[4] = {8, 8, 4, 0};
  for (int i = 0; i < 4; i++) mw_store_u16le(m + 0x50 + 2 * i, vt3[i]);
  mw_store_u32le(m + 0x58, 8);
  m[0x5c] = (uint8_t)(codec >= 0 ? codec : 0);
  mw_store_u32le(m + 0x64, (uint32_t)n_nodes);
  size_t p = 0x68;
  for (int i = 0; i < 2 * n_nodes; i++, p += 8) mw_store_u64le(m + p, (uint64_t)nodes[i]);
  mw_store_u32le(m + 0x48, (uint32_t)(p + 4 - 0x48));
  mw_store_u32le(m + p + 4, (uint32_t)n_bufs);
  p += 8;
  for (int i = 0; i < 2 * n_bufs; i++, p += 8) mw_store_u64le(m + p, (uint64_t)bufs[i]);
  mw_buf_u32le(o, 0xFFFFFFFFu);
  mw_buf_u32le(o, (uint32_t)p);
  mw_buf_append(o, m, p);
  mw_buf_append(o, body, body_len);
}

/* The worked-example stream: schema + batch [1, null, 3] + EOS. */
static uint8_t *worked_stream(size_t *len, bool eos) {
  mw_buf o;
  mw_buf_init(&o);
  mw_buf_append(&o, WORKED_SCHEMA, sizeof WORKED_SCHEMA);
  static const uint8_t body[24] = {5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0};
  const int64_t nodes[] = {3, 1}, bufs[] = {0, 1, 8, 12};
  put_batch(&o, 3, nodes, 1, bufs, 2, -1, body, sizeof body);
  if (eos) {
    mw_buf_u32le(&o, 0xFFFFFFFFu);
    mw_buf_u32le(&o, 0);
  }
  return mw_buf_take(&o, len);
}

/* ------------------------------------------------------------------ tests */

static void test_metadata_helpers(void) {
  mw_kv kv[2] = {{"a", 1, "xy", 2}, {"key2", 4, "", 0}};
  bool ok;
  char *m = mw_metadata_build(kv, 2, &ok);
  CHECK(ok && m);
  CHECK_INT(mw_metadata_count(m), 2);
  CHECK_INT(mw_metadata_size(m), 4 + 4 + 1 + 4 + 2 + 4 + 4 + 4 + 0);
  CHECK(mw_metadata_valid(m, mw_metadata_size(m)));
  CHECK(!mw_metadata_valid(m, mw_metadata_size(m) - 1));
  CHECK(md_is(m, "a", "xy"));
  CHECK(md_is(m, "key2", ""));
  CHECK(!mw_metadata_find(m, "b", NULL));
  mw_kv at = mw_metadata_at(m, 1);
  CHECK_INT(at.key_len, 4);
  char *m2 = mw_metadata_with(m, "a", "z", &ok);
  CHECK(md_is(m2, "a", "z"));
  CHECK_INT(mw_metadata_count(m2), 2);
  CHECK(!mw_metadata_equal(m, m2));
  char *m3 = mw_metadata_with(m2, "a", NULL, &ok);
  CHECK_INT(mw_metadata_count(m3), 1);
  CHECK(!mw_metadata_find(m3, "a", NULL));
  char *m4 = mw_metadata_merge(m3, m, &ok);
  CHECK_INT(mw_metadata_count(m4), 2);
  CHECK(md_is(m4, "a", "xy"));
  CHECK(mw_metadata_equal(m4, mw_metadata_with(NULL, "x", NULL, &ok)) == false);
  char *empty = mw_metadata_with(m3, "key2", NULL, &ok);
  CHECK(ok && empty == NULL);
  CHECK(mw_metadata_equal(empty, NULL));
  CHECK_INT(mw_metadata_count(NULL), 0);
  uint8_t bad[8] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  CHECK(!mw_metadata_valid((const char *)bad, sizeof bad));
  free(m);
  free(m2);
  free(m3);
  free(m4);
}

static void test_owned_schema(void) {
  struct ArrowSchema s, c;
  mw_error err = {0};
  bool ok;
  char *md = mw_metadata_with(NULL, "k", "v", &ok);
  CHECK_OK(mw_schema_init(&s, "+s", "", md, 0, 2, &err), E(&err));
  CHECK_OK(mw_schema_init(s.children[0], "l", "id", NULL, 0, 0, &err), E(&err));
  CHECK_OK(mw_schema_init(s.children[1], "+l", "vals", NULL, ARROW_FLAG_NULLABLE, 1, &err), E(&err));
  CHECK_OK(mw_schema_init(s.children[1]->children[0], "u", "item", NULL, ARROW_FLAG_NULLABLE, 0, &err), E(&err));
  CHECK_OK(mw_schema_copy(&c, &s, &err), E(&err));
  CHECK(mw_schema_equal(&s, &c, true));
  CHECK_STR(c.children[1]->children[0]->name, "item");
  CHECK(md_is(c.metadata, "k", "v"));
  /* move a child out, then release parent and child separately */
  struct ArrowSchema moved = *c.children[0];
  c.children[0]->release = NULL;
  mw_schema_release(&c);
  CHECK(c.release == NULL);
  CHECK_STR(moved.name, "id");
  mw_schema_release(&moved);
  struct ArrowSchema d;
  CHECK_OK(mw_schema_copy(&d, &s, &err), E(&err));
  d.children[0]->flags = ARROW_FLAG_NULLABLE;
  CHECK(!mw_schema_equal(&s, &d, false));
  mw_schema_release(&d);
  mw_schema_release(&s);
  mw_schema_release(&s); /* twice is a no-op */
  free(md);
}

static void test_worked_example(void) {
  size_t len;
  uint8_t *in = worked_stream(&len, true);
  seed("worked_example", in, len);
  decoded d;
  dec(&d, in, len);
  CHECK_OK(d.st, E(&d.err));
  if (d.st == MW_OK) {
    CHECK_STR(d.schema.format, "+s");
    CHECK_INT(d.schema.n_children, 1);
    CHECK_STR(d.schema.children[0]->format, "i");
    CHECK_STR(d.schema.children[0]->name, "x");
    CHECK_INT(d.schema.children[0]->flags, ARROW_FLAG_NULLABLE);
    CHECK_INT(d.n, 1);
    struct ArrowArray *b = &d.batches[0];
    CHECK_INT(b->length, 3);
    CHECK_INT(b->n_children, 1);
    struct ArrowArray *x = b->children[0];
    CHECK_INT(x->length, 3);
    CHECK_INT(x->null_count, 1);
    CHECK_INT(x->n_buffers, 2);
    const int32_t *v = x->buffers[1];
    CHECK(mw_bit_get(x->buffers[0], 0) && !mw_bit_get(x->buffers[0], 1) && mw_bit_get(x->buffers[0], 2));
    CHECK_INT(v[0], 1);
    CHECK_INT(v[2], 3);
    /* the result does not point into the input */
    memset(in, 0, len);
    CHECK_INT(v[2], 3);
    /* move the column out of the batch, release the batch first */
    struct ArrowArray col = *x;
    x->release = NULL;
    mw_array_release(b);
    CHECK_INT(((const int32_t *)col.buffers[1])[0], 1);
    mw_array_release(&col);
    mw_free(d.batches);
    mw_schema_release(&d.schema);
  }
  free(in);

  /* no EOS, legacy framing, legacy EOS, zero batches, zero-row batch */
  in = worked_stream(&len, false);
  dec(&d, in, len);
  CHECK_OK(d.st, E(&d.err));
  CHECK_INT(d.n, 1);
  undec(&d);
  mw_buf o;
  mw_buf_init(&o);
  size_t ends[8];
  int nm = message_ends(in, len, ends, 8);
  CHECK_INT(nm, 2);
  size_t prev = 0;
  for (int i = 0; i < nm; i++) { /* strip the FF markers */
    mw_buf_append(&o, in + prev + 4, ends[i] - prev - 4);
    prev = ends[i];
  }
  mw_buf_u32le(&o, 0);
  mw_buf_append(&o, "trailing garbage after EOS", 26);
  size_t llen;
  uint8_t *legacy = mw_buf_take(&o, &llen);
  seed("worked_example_legacy", legacy, llen);
  dec(&d, legacy, llen);
  CHECK_OK(d.st, E(&d.err));
  CHECK_INT(d.n, 1);
  if (d.st == MW_OK) CHECK_INT(((const int32_t *)d.batches[0].children[0]->buffers[1])[2], 3);
  undec(&d);
  free(legacy);

  dec(&d, WORKED_SCHEMA, sizeof WORKED_SCHEMA);
  CHECK_OK(d.st, E(&d.err));
  CHECK_INT(d.n, 0);
  CHECK_INT(d.schema.n_children, 1);
  undec(&d);

  mw_buf_init(&o);
  mw_buf_append(&o, WORKED_SCHEMA, sizeof WORKED_SCHEMA);
  const int64_t zn[] = {0, 0}, zb[] = {0, 0, 0, 0};
  put_batch(&o, 0, zn, 1, zb, 2, -1, NULL, 0);
  put_batch(&o, 0, zn, 1, zb, 2, -1, NULL, 0);
  uint8_t *zr = mw_buf_take(&o, &llen);
  dec(&d, zr, llen);
  CHECK_OK(d.st, E(&d.err));
  CHECK_INT(d.n, 2);
  if (d.st == MW_OK) {
    CHECK_INT(d.batches[1].length, 0);
    CHECK(d.batches[1].children[0]->buffers[0] == NULL);
    CHECK(d.batches[1].children[0]->buffers[1] != NULL);
  }
  undec(&d);
  free(zr);
  free(in);
}

static void check_sample(decoded *d, const char *epoch) {
  CHECK_OK(d->st, E(&d->err));
  if (d->st != MW_OK) return;
  CHECK(md_is(d->schema.metadata, "writer_epoch", epoch));
  CHECK_INT(d->schema.n_children, 3);
  CHECK_STR(d->schema.children[0]->name, "id");
  CHECK_STR(d->schema.children[0]->format, "l");
  CHECK_INT(d->schema.children[0]->flags, 0);
  CHECK_STR(d->schema.children[1]->name, "name");
  CHECK_STR(d->schema.children[1]->format, "u");
  CHECK_INT(d->schema.children[1]->flags, ARROW_FLAG_NULLABLE);
  CHECK_STR(d->schema.children[2]->name, "_tombstone");
  CHECK_STR(d->schema.children[2]->format, "b");
  CHECK_INT(d->n, 1);
  if (d->n != 1) return;
  const struct ArrowArray *b = &d->batches[0];
  CHECK_INT(b->length, 3);
  const int64_t *ids = b->children[0]->buffers[1];
  char s[16];
  for (int i = 0; i < 3; i++) CHECK_INT(ids[i], i + 1);
  CHECK_STR(str_at(b->children[1], 0, s), "a");
  CHECK(str_at(b->children[1], 1, s) == NULL);
  CHECK_STR(str_at(b->children[1], 2, s), "c");
  CHECK_INT(b->children[1]->null_count, 1);
  const void *tb = b->children[2]->buffers[1];
  CHECK(!mw_bit_get(tb, 0) && !mw_bit_get(tb, 1) && mw_bit_get(tb, 2));
}

static void test_arrow_js_sample(void) {
  size_t len;
  uint8_t *in = data_file("arrow_js_sample.arrows", &len);
  if (!in) return;
  decoded d;
  dec(&d, in, len);
  check_sample(&d, "5");
  undec(&d);
  dec(&d, in, len - 8); /* without EOS */
  check_sample(&d, "5");
  undec(&d);
  free(in);
}

static void test_lance_fixture(void) {
  for (int pos = 1; pos <= 7; pos++) {
    char path[512], name[65];
    for (int i = 0; i < 64; i++) name[i] = (((uint64_t)pos >> i) & 1) ? '1' : '0';
    name[64] = 0;
    snprintf(path, sizeof path, "%s%s.arrow", WAL_DIR, name);
    size_t len;
    uint8_t *in = read_file(path, &len);
    CHECK(in != NULL);
    if (!in) continue;
    decoded d;
    dec(&d, in, len);
    CHECK_OK(d.st, E(&d.err));
    char epoch[4];
    snprintf(epoch, sizeof epoch, "%d", pos / 2 + 1);
    if (d.st == MW_OK) {
      CHECK(md_is(d.schema.metadata, "writer_epoch", epoch));
      if (pos % 2 == 0) { /* fence entry: metadata only, no columns, no batches */
        CHECK(md_is(d.schema.metadata, "fence_sentinel", "true"));
        CHECK_INT(mw_metadata_count(d.schema.metadata), 2);
        CHECK_INT(d.schema.n_children, 0);
        CHECK_INT(d.n, 0);
      } else {
        CHECK(!mw_metadata_find(d.schema.metadata, "fence_sentinel", NULL));
        CHECK_INT(d.schema.n_children, 3);
        struct ArrowSchema **c = d.schema.children;
        CHECK_STR(c[0]->name, "id");
        CHECK_STR(c[0]->format, "l");
        CHECK_INT(c[0]->flags, 0);
        CHECK_INT(mw_metadata_count(c[0]->metadata), 1);
        CHECK(md_is(c[0]->metadata, "lance-schema:unenforced-primary-key:position", "1"));
        CHECK_STR(c[1]->name, "name");
        CHECK_STR(c[1]->format, "u");
        CHECK_INT(c[1]->flags, ARROW_FLAG_NULLABLE);
        CHECK(c[1]->metadata == NULL);
        CHECK_STR(c[2]->name, "_tombstone");
        CHECK_STR(c[2]->format, "b");
        CHECK_INT(c[2]->flags, 0);
        CHECK_INT(d.n, 1);
        static const int64_t want[4][3] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {3, 10, 0}};
        int64_t rows = pos == 7 ? 2 : 3;
        if (d.n == 1) {
          const struct ArrowArray *b = &d.batches[0];
          CHECK_INT(b->length, rows);
          for (int64_t r = 0; r < rows && b->length == rows; r++) {
            int64_t id = want[pos / 2][r];
            CHECK_INT(((const int64_t *)b->children[0]->buffers[1])[r], id);
            char s[32], exp[32];
            snprintf(exp, sizeof exp, "n%lld", (long long)id);
            CHECK_STR(str_at(b->children[1], r, s), exp);
            CHECK(!mw_bit_get(b->children[2]->buffers[1], r));
            CHECK(mw_bit_get(b->children[2]->buffers[0], r));
          }
        }
      }
    }
    undec(&d);
    free(in);
  }
}

static void test_rich_types(void) {
  size_t len;
  uint8_t *in = data_file("ipc_rich_types.arrows", &len);
  if (!in) return;
  decoded d;
  dec(&d, in, len);
  CHECK_OK(d.st, E(&d.err));
  if (d.st == MW_OK) {
    static const char *fmts[] = {"c", "S", "f", "g", "u", "U", "z", "b", "d:10,2", "tdD", "tdm",
                                 "ttm", "ttu", "tsu:UTC", "tDn", "+l", "+s", "w:4", "+w:2", "+m", "n"};
    CHECK_INT(d.schema.n_children, 21);
    for (int i = 0; i < 21 && i < d.schema.n_children; i++) CHECK_STR(d.schema.children[i]->format, fmts[i]);
    CHECK(md_is(d.schema.metadata, "k", "v"));
    struct ArrowSchema *m = d.schema.children[19];
    CHECK_INT(m->flags, ARROW_FLAG_NULLABLE | ARROW_FLAG_MAP_KEYS_SORTED);
    CHECK_STR(m->children[0]->format, "+s");
    CHECK_STR(m->children[0]->children[0]->name, "key");
    CHECK_INT(d.n, 1);
    const struct ArrowArray *b = &d.batches[0];
    char s[16];
    CHECK_INT(((const int8_t *)b->children[0]->buffers[1])[1], -2);
    CHECK_INT(((const uint16_t *)b->children[1]->buffers[1])[1], 65535);
    CHECK(((const double *)b->children[3]->buffers[1])[1] == 1e300);
    CHECK_STR(str_at(b->children[4], 2, s), "zz");
    const int64_t *loff = b->children[5]->buffers[1];
    CHECK_INT(loff[1] - loff[0], 1);
    CHECK_INT(((const int32_t *)b->children[9]->buffers[1])[0], 1);
    CHECK_INT(((const int64_t *)b->children[12]->buffers[1])[2], 3);
    const struct ArrowArray *lst = b->children[15];
    CHECK_INT(lst->children[0]->length, 2);
    CHECK_INT(((const int32_t *)lst->children[0]->buffers[1])[1], 2);
    const struct ArrowArray *st = b->children[16];
    CHECK_INT(((const int32_t *)st->children[0]->buffers[1])[2], 3);
    CHECK_INT(b->children[18]->children[0]->length, 6);
    CHECK(((const float *)b->children[18]->children[0]->buffers[1])[5] == 6.0f);
    CHECK_INT(b->children[20]->n_buffers, 0);
    CHECK_INT(b->children[20]->null_count, 3);
    /* release nested children out of order: move the map's entries out */
    struct ArrowArray entries = *b->children[19]->children[0];
    b->children[19]->children[0]->release = NULL;
    struct ArrowArray keys = *entries.children[0];
    entries.children[0]->release = NULL;
    mw_array_release(&entries);
    undec(&d);
    char ks[8];
    CHECK_STR(str_at(&keys, 0, ks), "k");
    mw_array_release(&keys);
  }
  undec(&d);
  free(in);
}

/* Compresses the buffers of the JS sample batch into a body. */
static void build_compressed(mw_buf *o, int codec, bool raw_some, int64_t bad_ulen_delta) {
  static const uint8_t ids[24] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0};
  static const uint8_t nval[1] = {5};
  static const uint8_t noff[16] = {0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
  static const uint8_t ndat[2] = {'a', 'c'};
  static const uint8_t tomb[1] = {4};
  const void *raw[7] = {NULL, ids, nval, noff, ndat, NULL, tomb};
  const size_t rlen[7] = {0, 24, 1, 16, 2, 0, 1};
  mw_buf body;
  mw_buf_init(&body);
  int64_t bufs[14];
  for (int i = 0; i < 7; i++) {
    bufs[2 * i] = (int64_t)body.len;
    if (rlen[i] == 0) {
      bufs[2 * i + 1] = 0;
      continue;
    }
    uint8_t tmp[1024];
    size_t c;
    if (raw_some && i == 3) {
      memcpy(tmp, raw[i], rlen[i]);
      c = rlen[i];
      mw_buf_u64le(&body, UINT64_MAX); /* -1: stored raw */
    } else {
      if (codec == 0) c = LZ4F_compressFrame(tmp, sizeof tmp, raw[i], rlen[i], NULL);
      else c = ZSTD_compress(tmp, sizeof tmp, raw[i], rlen[i], 3);
      mw_buf_u64le(&body, (uint64_t)((int64_t)rlen[i] + (i == 1 ? bad_ulen_delta : 0)));
    }
    mw_buf_append(&body, tmp, c);
    bufs[2 * i + 1] = (int64_t)body.len - bufs[2 * i];
    mw_buf_pad_to(&body, 8);
  }
  const int64_t nodes[6] = {3, 0, 3, 1, 3, 0};
  put_batch(o, 3, nodes, 3, bufs, 7, codec, body.data, body.len);
  mw_buf_free(&body);
}

static void test_compressed(void) {
  size_t len;
  uint8_t *js = data_file("arrow_js_sample.arrows", &len);
  if (!js) return;
  size_t ends[4];
  CHECK_INT(message_ends(js, len, ends, 4), 2);
  for (int codec = 0; codec <= 1; codec++) {
    for (int variant = 0; variant < 4; variant++) {
      mw_buf o;
      mw_buf_init(&o);
      mw_buf_append(&o, js, ends[0]); /* the JS schema message */
      int64_t delta = variant == 2 ? 1 : variant == 3 ? -1 : 0;
      build_compressed(&o, codec, variant == 1, delta);
      size_t n;
      uint8_t *in = mw_buf_take(&o, &n);
      decoded d;
      if (variant < 2) {
        char sn[32];
        snprintf(sn, sizeof sn, "sample_%s_%d", codec ? "zstd" : "lz4", variant);
        seed(sn, in, n);
        dec(&d, in, n);
        check_sample(&d, "5");
        undec(&d);
      } else {
        expect_corrupt(in, n, codec == 0 ? "LZ4" : "zstd");
      }
      free(in);
    }
  }
  /* decompression bomb: a tiny buffer claiming 1 TiB / 100 MiB */
  for (int k = 0; k < 2; k++) {
    mw_buf o, body;
    mw_buf_init(&o);
    mw_buf_init(&body);
    mw_buf_append(&o, WORKED_SCHEMA, sizeof WORKED_SCHEMA);
    mw_buf_u64le(&body, k == 0 ? (UINT64_C(1) << 40) : (UINT64_C(100) << 20));
    uint8_t tmp[256];
    uint8_t zeros[16] = {0};
    size_t c = ZSTD_compress(tmp, sizeof tmp, zeros, sizeof zeros, 1);
    mw_buf_append(&body, tmp, c);
    const int64_t nodes[] = {3, 0}, bufs[] = {0, 0, 0, (int64_t)body.len};
    put_batch(&o, 3, nodes, 1, bufs, 2, 1, body.data, body.len);
    size_t n;
    uint8_t *in = mw_buf_take(&o, &n);
    expect_corrupt(in, n, "implausible uncompressed length");
    free(in);
    mw_buf_free(&body);
  }
  free(js);
}

static void test_hostile_framing(void) {
  size_t len;
  uint8_t *in = worked_stream(&len, true);
  uint8_t *cp = malloc(len + 256);
  expect_corrupt(in, 0, "without a Schema");
  expect_corrupt(in, 3, "truncated message header at byte 0");
  /* huge / negative metadata lengths */
  memcpy(cp, in, len);
  mw_store_u32le(cp + 4, 0x7ffffff0);
  expect_corrupt(cp, len, "exceeds");
  mw_store_u32le(cp + 4, 0xfffffff0);
  expect_corrupt(cp, len, "metadata length -16");
  mw_store_u32le(cp, 0xfffffff0); /* legacy framing, negative */
  expect_corrupt(cp, len, "at byte 0");
  /* huge bodyLength (batch message: bodyLength at 8 + 0x20 of it) */
  memcpy(cp, in, len);
  mw_store_u64le(cp + 128 + 8 + 0x20, UINT64_C(1) << 62);
  expect_corrupt(cp, len, "body length");
  mw_store_u64le(cp + 128 + 8 + 0x20, UINT64_MAX);
  expect_corrupt(cp, len, "body length -1");
  /* RecordBatch before the Schema; two Schemas */
  expect_corrupt(in + 128, len - 128, "RecordBatch before the Schema message at byte 0");
  memcpy(cp, in, 128);
  memcpy(cp + 128, in, len);
  expect_corrupt(cp, len + 128, "second Schema message at byte 128");
  /* root offset out of range */
  memcpy(cp, in, len);
  mw_store_u32le(cp + 8, 0x1000);
  expect_corrupt(cp, len, "table out of bounds at byte 4104");
  /* vtable misaligned */
  memcpy(cp, in, len);
  mw_store_u32le(cp + 8 + 0x10, 13);
  expect_corrupt(cp, len, "misaligned vtable at byte 24");
  /* string without NUL: the field name "x" */
  memcpy(cp, in, len);
  cp[8 + 0x5d] = 'y';
  expect_corrupt(cp, len, "NUL");
  free(cp);
  free(in);
}

static void batch_case(const int64_t *nodes, int n_nodes, const int64_t *bufs, int n_bufs,
                       int64_t length, const void *body, size_t body_len, const char *needle) {
  mw_buf o;
  mw_buf_init(&o);
  mw_buf_append(&o, WORKED_SCHEMA, sizeof WORKED_SCHEMA);
  put_batch(&o, length, nodes, n_nodes, bufs, n_bufs, -1, body, body_len);
  size_t n;
  uint8_t *in = mw_buf_take(&o, &n);
  expect_corrupt(in, n, needle);
  free(in);
}

static void test_hostile_batches(void) {
  static const uint8_t body[24] = {5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0};
  const int64_t n1[] = {3, 1}, b2[] = {0, 1, 8, 12};
  const int64_t n2[] = {3, 1, 3, 1}, b3[] = {0, 1, 8, 12, 0, 0};
  batch_case(n2, 2, b2, 2, 3, body, 24, "lists 2 field nodes");
  batch_case(n1, 1, b3, 3, 3, body, 24, "3 buffers");
  batch_case(n1, 0, b2, 2, 3, body, 24, "only 0 field nodes");
  batch_case(n1, 1, b2, 1, 3, body, 24, "only 1 buffers");
  const int64_t out1[] = {0, 1, 8, 24}, out2[] = {0, 1, 16, 12}, neg[] = {0, 1, -8, 12},
                mis[] = {0, 1, 4, 12};
  batch_case(n1, 1, out1, 2, 3, body, 24, "outside the 24-byte body");
  batch_case(n1, 1, out2, 2, 3, body, 24, "outside");
  batch_case(n1, 1, neg, 2, 3, body, 24, "outside");
  batch_case(n1, 1, mis, 2, 3, body, 24, "not 8-aligned");
  const int64_t big[] = {100, 1}, nulls[] = {3, 4}, negl[] = {-1, 0}, short4[] = {4, 1};
  batch_case(big, 1, b2, 2, 100, body, 24, "validity buffer of 1 bytes too small");
  batch_case(nulls, 1, b2, 2, 3, body, 24, "bad field node");
  batch_case(negl, 1, b2, 2, -1, body, 24, "bad record batch length");
  batch_case(short4, 1, b2, 2, 4, body, 24, "values buffer of 12 bytes too small");
  batch_case(n1, 1, b2, 2, 2, body, 24, "differs from the batch length");
  const int64_t noval[] = {0, 0, 8, 12};
  batch_case(n1, 1, noval, 2, 3, body, 24, "1 nulls but no validity buffer");

  /* list<int32>: offsets and child lengths */
  size_t len;
  uint8_t *ls = data_file("ipc_list_int32.arrows", &len);
  if (!ls) return;
  size_t ends[4];
  CHECK_INT(message_ends(ls, len, ends, 4), 2);
  struct { int32_t off[4]; int64_t child_len; const char *needle; } cases[] = {
    {{0, 2, 2, 3}, 2, "child length 2 smaller than the 3"},
    {{0, 2, 1, 3}, 3, "offset 2 is smaller than the previous one"},
    {{-1, 2, 2, 3}, 3, "offset 0 is negative"},
    {{0, 2, 2, 3}, 3, NULL},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    uint8_t lbody[48] = {0};
    lbody[0] = 5;
    memcpy(lbody + 8, cases[k].off, 16);
    for (int i = 0; i < 3; i++) mw_store_u32le(lbody + 24 + 4 * i, (uint32_t)(10 + i));
    const int64_t nodes[] = {3, 1, cases[k].child_len, 0};
    const int64_t bufs[] = {0, 1, 8, 16, 24, 0, 24, 4 * cases[k].child_len};
    mw_buf o;
    mw_buf_init(&o);
    mw_buf_append(&o, ls, ends[0]);
    put_batch(&o, 3, nodes, 2, bufs, 4, -1, lbody, sizeof lbody);
    size_t n;
    uint8_t *in = mw_buf_take(&o, &n);
    if (cases[k].needle) {
      expect_corrupt(in, n, cases[k].needle);
    } else {
      decoded d;
      dec(&d, in, n);
      CHECK_OK(d.st, E(&d.err));
      if (d.st == MW_OK) CHECK_INT(((const int32_t *)d.batches[0].children[0]->children[0]->buffers[1])[2], 12);
      undec(&d);
    }
    free(in);
  }
  free(ls);

  /* utf8 offsets beyond the data / non-monotonic in the JS sample */
  uint8_t *js = data_file("arrow_js_sample.arrows", &len);
  if (!js) return;
  static const uint8_t pat[16] = {0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
  uint8_t *hit = memmem(js, len, pat, 16);
  CHECK(hit != NULL);
  if (hit) {
    mw_store_u32le(hit + 12, 0x100);
    expect_corrupt(js, len, "last offset 256 beyond the 8-byte data buffer");
    mw_store_u32le(hit + 12, 2);
    mw_store_u32le(hit + 4, 5);
    expect_corrupt(js, len, "offset 2 is smaller than the previous one");
  }
  free(js);
}

static void test_unsupported_and_deep(void) {
  size_t len;
  decoded d;
  uint8_t *in = data_file("ipc_dictionary.arrows", &len);
  if (in) {
    dec(&d, in, len);
    CHECK_INT(d.st, MW_ERR_UNSUPPORTED);
    CHECK_STR(d.err.message, "dictionary-encoded field 'x' is not supported");
    undec(&d);
    free(in);
  }
  in = data_file("ipc_interval.arrows", &len);
  if (in) {
    dec(&d, in, len);
    CHECK_INT(d.st, MW_ERR_UNSUPPORTED);
    CHECK(strstr(d.err.message, "field 'iv': Arrow type id 11 is not supported") != NULL);
    undec(&d);
    free(in);
  }
  in = data_file("ipc_deep_nesting.arrows", &len);
  if (in) expect_corrupt(in, len, "nested too deeply");
  free(in);
}

/* Every prefix fails except those ending on a message boundary; every bit
 * flip decodes or fails cleanly. */
static void exhaust(const uint8_t *in, size_t len, bool flips) {
  size_t ends[16];
  int nm = message_ends(in, len, ends, 16);
  uint8_t *cp = malloc(len + 1);
  int bad = 0;
  for (size_t cut = 0; cut < len; cut++) {
    bool boundary = false;
    for (int i = 0; i < nm; i++) boundary |= ends[i] == cut;
    memcpy(cp, in, cut);
    decoded d;
    dec(&d, cp, cut);
    if (boundary) {
      if (d.st != MW_OK) bad++;
    } else if (d.st != MW_ERR_CORRUPT || !strstr(d.err.message, "at byte ")) {
      if (bad++ < 5) fprintf(stderr, "  cut %zu: %d %s\n", cut, d.st, d.err.message);
    }
    undec(&d);
  }
  CHECK_INT(bad, 0);
  if (!flips) {
    free(cp);
    return;
  }
  int ok = 0, errs = 0;
  bad = 0;
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(cp, in, len);
      cp[i] ^= (uint8_t)(1 << bit);
      decoded d;
      dec(&d, cp, len);
      if (d.st == MW_OK) ok++;
      else errs++;
      if (d.st == MW_ERR_CORRUPT && !strstr(d.err.message, "at byte ")) bad++;
      if (d.st != MW_OK && d.st != MW_ERR_CORRUPT && d.st != MW_ERR_UNSUPPORTED) bad++;
      undec(&d);
    }
  }
  CHECK_INT(bad, 0);
  CHECK(ok > 0 && errs > 0);
  free(cp);
}

static void test_exhaustive(void) {
  size_t len;
  uint8_t *in = worked_stream(&len, true);
  exhaust(in, len, true);
  free(in);
  static const char *files[] = {"arrow_js_sample.arrows", "ipc_rich_types.arrows", "ipc_list_int32.arrows"};
  for (int f = 0; f < 3; f++) {
    in = data_file(files[f], &len);
    if (in) exhaust(in, len, true);
    free(in);
  }
  char path[512];
  snprintf(path, sizeof path, "%s%s.arrow", WAL_DIR,
           "1000000000000000000000000000000000000000000000000000000000000000");
  in = read_file(path, &len);
  if (in) exhaust(in, len, true);
  free(in);
}

/* mw_ipc_decode_take: same result as mw_ipc_decode, without copying the
 * body (arrays point into the handed-over buffer, which lives as long as
 * they do); every failure frees the buffer (ASan checks the leaks). */
static void test_decode_take(void) {
  size_t len = 0;
  uint8_t *a = read_file(MW_SOURCE_DIR "/tests/data/arrow_js_sample.arrows", &len);
  CHECK(a != NULL);
  if (!a) return;
  uint8_t *b = malloc(len);
  memcpy(b, a, len);
  struct ArrowSchema s1, s2;
  struct ArrowArray *b1 = NULL, *b2 = NULL;
  size_t n1 = 0, n2 = 0;
  mw_error e = {0};
  CHECK_OK(mw_ipc_decode(&s1, &b1, &n1, a, len, &e), &e);
  CHECK_OK(mw_ipc_decode_take(&s2, &b2, &n2, b, len, &e), &e);
  CHECK_INT(n1, n2);
  CHECK(mw_schema_equal(&s1, &s2, true));
  if (n1 == 1 && n2 == 1) {
    CHECK_INT(b2[0].length, 3);
    const struct ArrowArray *ids = b2[0].children[0];
    const uint8_t *p = ids->buffers[1];
    CHECK(p >= b && p < b + len); /* zero copy: points into the input */
    CHECK_INT(((const int64_t *)ids->buffers[1])[2], 3);
    /* a column moved out outlives its batch */
    struct ArrowArray moved = *b2[0].children[1];
    b2[0].children[1]->release = NULL;
    mw_array_release(&b2[0]);
    CHECK_INT(moved.length, 3);
    moved.release(&moved);
    mw_array_release(&b1[0]);
  }
  free(b1);
  free(b2);
  mw_schema_release(&s1);
  mw_schema_release(&s2);
  /* failures free the input */
  for (size_t cut = 0; cut < len; cut += 7) {
    uint8_t *c = malloc(cut ? cut : 1);
    memcpy(c, a, cut);
    struct ArrowSchema s3;
    struct ArrowArray *b3 = NULL;
    size_t n3 = 0;
    if (mw_ipc_decode_take(&s3, &b3, &n3, c, cut, &e) == MW_OK) {
      for (size_t i = 0; i < n3; i++) mw_array_release(&b3[i]);
      free(b3);
      mw_schema_release(&s3);
    }
  }
  free(a);
}

int main(void) {
  MW_RUN(test_metadata_helpers);
  MW_RUN(test_owned_schema);
  MW_RUN(test_worked_example);
  MW_RUN(test_arrow_js_sample);
  MW_RUN(test_lance_fixture);
  MW_RUN(test_decode_take);
  MW_RUN(test_rich_types);
  MW_RUN(test_compressed);
  MW_RUN(test_hostile_framing);
  MW_RUN(test_hostile_batches);
  MW_RUN(test_unsupported_and_deep);
  MW_RUN(test_exhaustive);
  return mw_test_finish();
}
