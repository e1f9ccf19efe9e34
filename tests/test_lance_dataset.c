/* test_lance_dataset.c - generation folders: objects written (names, put_if
 * absent), manifest framing and content (fields, fragment, data file,
 * version, data_format, writer_version), dedup last-write-wins (survivors in
 * insertion order of the last copies), result counters, and refusal to
 * overwrite an existing generation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "lance/lance_dataset.h"
#include "lance_test_read.h"
#include "memwal_sys.h"
#include "mw_test.h"

static void noop(struct ArrowArray *a) { a->release = NULL; }

typedef struct bt {
  int64_t id[4];
  int32_t off[5];
  char data[16];
  const void *bi[2], *bs[3], *br[1];
  struct ArrowArray ci, cs, root;
  struct ArrowArray *kids[2];
} bt;

static void bt_init(bt *b, const int64_t *ids, const char *const *names, int n) {
  memset(b, 0, sizeof *b);
  int pos = 0;
  for (int i = 0; i < n; i++) {
    b->id[i] = ids[i];
    b->off[i] = pos;
    memcpy(b->data + pos, names[i], strlen(names[i]));
    pos += (int)strlen(names[i]);
  }
  b->off[n] = pos;
  b->bi[1] = b->id;
  b->bs[1] = b->off;
  b->bs[2] = b->data;
  b->ci = (struct ArrowArray){.length = n, .n_buffers = 2, .buffers = b->bi, .release = noop};
  b->cs = (struct ArrowArray){.length = n, .n_buffers = 3, .buffers = b->bs, .release = noop};
  b->kids[0] = &b->ci;
  b->kids[1] = &b->cs;
  b->root = (struct ArrowArray){.length = n, .n_buffers = 1, .buffers = b->br, .n_children = 2,
                                .children = b->kids, .release = noop};
}

static void make_schema(struct ArrowSchema *s) {
  bool ok;
  char *md = mw_metadata_with(NULL, "lance-schema:unenforced-primary-key:position", "1", &ok);
  mw_schema_init(s, "+s", "", NULL, 0, 2, NULL);
  mw_schema_init(s->children[0], "l", "id", md, 0, 0, NULL);
  mw_schema_init(s->children[1], "u", "name", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  free(md);
}

typedef struct listing {
  char keys[16][160];
  int n;
} listing;

static int list_cb(void *arg, const char *key, uint64_t size) {
  listing *l = arg;
  (void)size;
  if (l->n < 16) snprintf(l->keys[l->n++], sizeof l->keys[0], "%s", key);
  return 0;
}

static bool has_key(const listing *l, const char *k) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->keys[i], k) == 0) return true;
  return false;
}

static void test_generation_dedup_and_manifest(void) {
  struct ArrowSchema s;
  make_schema(&s);
  /* batch 0: 1 a, 2 b, 1 c; batch 1: 3 d, 2 e  -> survivors 1 c, 3 d, 2 e */
  int64_t i0[3] = {1, 2, 1}, i1[2] = {3, 2};
  const char *n0[3] = {"a", "b", "c"}, *n1[2] = {"d", "e"};
  bt b0, b1;
  bt_init(&b0, i0, n0, 3);
  bt_init(&b1, i1, n1, 2);
  struct ArrowArray batches[2] = {b0.root, b1.root};
  batches[0].children = b0.kids;
  batches[1].children = b1.kids;
  mw_objstore *st;
  mw_error e = {0}, *ep = &e;
  CHECK_OK(mw_objstore_open(&st, "memory://lance_dataset_test", NULL, ep), ep);
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  CHECK_INT(o.version, MW_LANCE_V2_1); /* the default; this test checks the 2.0 bytes */
  o.version = MW_LANCE_V2_0;
  o.timestamp_ns = 1700000000123456789LL;
  o.writer_version = "9.9.9";
  mw_lance_gen_result r;
  const char *prefix = "_mem_wal/s/0badcafe_gen_1";
  CHECK_OK(mw_lance_write_generation(st, prefix, &s, batches, 2, &o, &r, ep), ep);
  CHECK_INT(r.input_rows, 5);
  CHECK_INT(r.physical_rows, 3);
  CHECK_INT(r.primary_key_bytes, 24);
  CHECK_INT(strlen(r.data_file), 32 + 6);

  listing l = {0};
  CHECK_OK(mw_objstore_list(st, prefix, list_cb, &l, ep), ep);
  CHECK_INT(l.n, 6);
  char k[256];
  snprintf(k, sizeof k, "%s/data/%s", prefix, r.data_file);
  CHECK(has_key(&l, k));
  CHECK(has_key(&l, "_mem_wal/s/0badcafe_gen_1/_versions/18446744073709551614.manifest"));
  CHECK(has_key(&l, "_mem_wal/s/0badcafe_gen_1/_versions/latest_version_hint.json"));
  CHECK(has_key(&l, "_mem_wal/s/0badcafe_gen_1/bloom_filter.bin"));
  CHECK(has_key(&l, "_mem_wal/s/0badcafe_gen_1/_pk_index/page_data.lance"));
  CHECK(has_key(&l, "_mem_wal/s/0badcafe_gen_1/_pk_index/page_lookup.lance"));

  /* data file: ids 1, 3, 2 and names c, d, e */
  uint8_t *d;
  size_t n;
  CHECK_OK(mw_objstore_get(st, &d, &n, k, 0, MW_OBJSTORE_TO_END, ep), ep);
  CHECK_INT(n, r.data_file_size);
  const uint8_t *buf;
  uint64_t rows, bl;
  CHECK(lt_page_buffer(d, n, 0, 0, 0, &rows, &buf, &bl));
  CHECK_INT(rows, 3);
  CHECK_INT(bl, 24);
  CHECK_INT(mw_load_u64le(buf), 1);
  CHECK_INT(mw_load_u64le(buf + 8), 3);
  CHECK_INT(mw_load_u64le(buf + 16), 2);
  CHECK(lt_page_buffer(d, n, 1, 0, 1, &rows, &buf, &bl));
  CHECK(bl == 3 && memcmp(buf, "cde", 3) == 0);
  mw_free(d);

  /* manifest framing: u32 len + protobuf at 0, trailer i64 0, u16 0, u16 2, LANC */
  snprintf(k, sizeof k, "%s/_versions/18446744073709551614.manifest", prefix);
  CHECK_OK(mw_objstore_get(st, &d, &n, k, 0, MW_OBJSTORE_TO_END, ep), ep);
  CHECK(n > 20);
  CHECK_INT(mw_load_u32le(d), n - 20);
  CHECK_INT(mw_load_u64le(d + n - 16), 0);
  CHECK_INT(mw_load_u16le(d + n - 8), 0);
  CHECK_INT(mw_load_u16le(d + n - 6), 2);
  CHECK(memcmp(d + n - 4, "LANC", 4) == 0);
  const uint8_t *m = d + 4;
  size_t ml = n - 20;
  mw_pb_field f, g, h;
  size_t pos = 0;
  int fields = 0;
  while (mw_pb_next(m, ml, &pos, &f))
    if (f.field == 1) fields++;
  CHECK_INT(pos, ml);
  CHECK_INT(fields, 2);
  CHECK(mw_pb_find(m, ml, 1, &f));
  CHECK(mw_pb_find(f.data, f.len, 12, &g) && g.val == 1); /* id: unenforced primary key */
  CHECK(mw_pb_find(f.data, f.len, 13, &g) && g.val == 1);
  CHECK(mw_pb_find(m, ml, 3, &f) && f.val == 1);           /* version */
  CHECK(mw_pb_find(m, ml, 7, &f) && mw_pb_find(f.data, f.len, 1, &g) && g.val == 1700000000ULL);
  CHECK(mw_pb_find(f.data, f.len, 2, &g) && g.val == 123456789ULL);
  CHECK(mw_pb_find(m, ml, 13, &f) && mw_pb_find(f.data, f.len, 1, &g) && g.len == 6 &&
        memcmp(g.data, "memwal", 6) == 0);
  CHECK(mw_pb_find(f.data, f.len, 2, &g) && g.len == 5 && memcmp(g.data, "9.9.9", 5) == 0);
  CHECK(mw_pb_find(m, ml, 15, &f) && mw_pb_find(f.data, f.len, 2, &g) && g.len == 3 &&
        memcmp(g.data, "2.0", 3) == 0);
  CHECK(mw_pb_find(m, ml, 2, &f));                         /* fragment */
  CHECK(!mw_pb_find(f.data, f.len, 1, &g));                 /* id 0 (default) */
  CHECK(mw_pb_find(f.data, f.len, 4, &g) && g.val == 3);    /* physical_rows */
  CHECK(mw_pb_find(f.data, f.len, 2, &g));                  /* data file */
  CHECK(mw_pb_find(g.data, g.len, 1, &h) && h.len == strlen(r.data_file) &&
        memcmp(h.data, r.data_file, h.len) == 0);
  CHECK(mw_pb_find(g.data, g.len, 2, &h) && h.len == 2 && h.data[0] == 0 && h.data[1] == 1);
  CHECK(mw_pb_find(g.data, g.len, 3, &h) && h.len == 2 && h.data[0] == 0 && h.data[1] == 1);
  CHECK(mw_pb_find(g.data, g.len, 4, &h) && h.val == 2);
  CHECK(!mw_pb_find(g.data, g.len, 5, &h));
  CHECK(mw_pb_find(g.data, g.len, 6, &h) && h.val == r.data_file_size);
  mw_free(d);
  snprintf(k, sizeof k, "%s/_versions/latest_version_hint.json", prefix);
  CHECK_OK(mw_objstore_get(st, &d, &n, k, 0, MW_OBJSTORE_TO_END, ep), ep);
  CHECK(n == 13 && memcmp(d, "{\"version\":1}", 13) == 0);
  mw_free(d);

  /* pk index holds the 3 survivors only */
  snprintf(k, sizeof k, "%s/_pk_index/page_data.lance", prefix);
  CHECK_OK(mw_objstore_get(st, &d, &n, k, 0, MW_OBJSTORE_TO_END, ep), ep);
  CHECK(lt_page_buffer(d, n, 1, 0, 0, &rows, &buf, &bl));
  CHECK_INT(rows, 3);
  CHECK_INT(mw_load_u64le(buf), 0);      /* key 1 at offset 0 */
  CHECK_INT(mw_load_u64le(buf + 8), 2);  /* key 2 at offset 2 */
  CHECK_INT(mw_load_u64le(buf + 16), 1); /* key 3 at offset 1 */
  mw_free(d);

  /* same folder again: the bloom/pk/manifest objects exist -> ALREADY_EXISTS */
  CHECK_INT(mw_lance_write_generation(st, prefix, &s, batches, 2, &o, &r, &e), MW_ERR_ALREADY_EXISTS);

  /* without dedup every row is written */
  o.dedup = false;
  CHECK_OK(mw_lance_write_generation(st, "g2", &s, batches, 2, &o, &r, ep), ep);
  CHECK_INT(r.physical_rows, 5);
  mw_objstore_close(st);
  mw_schema_release(&s);
}

/* A batch with a struct-level offset (a slice): the data file, the dedup
 * and the key bytes read the rows the slice shows, not the children's
 * first rows. */
static void test_struct_offset_slice(void) {
  struct ArrowSchema s;
  make_schema(&s);
  /* ids 1 a, 2 b, 3 c, 3 d sliced from row 1: 2 b, 3 c, 3 d -> survivors 2 b, 3 d */
  int64_t ids[4] = {1, 2, 3, 3};
  const char *names[4] = {"a", "b", "c", "d"};
  bt b;
  bt_init(&b, ids, names, 4);
  struct ArrowArray batch = b.root;
  batch.children = b.kids;
  batch.offset = 1;
  batch.length = 3;
  mw_objstore *st;
  mw_error e = {0}, *ep = &e;
  CHECK_OK(mw_objstore_open(&st, "memory://lance_dataset_slice", NULL, ep), ep);
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  o.version = MW_LANCE_V2_0; /* plain page buffers, read back below */
  mw_lance_gen_result r;
  const char *prefix = "_mem_wal/s/0badcafe_gen_2";
  CHECK_OK(mw_lance_write_generation(st, prefix, &s, &batch, 1, &o, &r, ep), ep);
  CHECK_INT(r.input_rows, 3);
  CHECK_INT(r.physical_rows, 2);
  CHECK_INT(r.primary_key_bytes, 16);
  char k[256];
  snprintf(k, sizeof k, "%s/data/%s", prefix, r.data_file);
  uint8_t *d;
  size_t n;
  CHECK_OK(mw_objstore_get(st, &d, &n, k, 0, MW_OBJSTORE_TO_END, ep), ep);
  const uint8_t *buf;
  uint64_t rows, bl;
  CHECK(lt_page_buffer(d, n, 0, 0, 0, &rows, &buf, &bl));
  CHECK_INT(rows, 2);
  CHECK(bl == 16 && mw_load_u64le(buf) == 2 && mw_load_u64le(buf + 8) == 3);
  CHECK(lt_page_buffer(d, n, 1, 0, 1, &rows, &buf, &bl));
  CHECK(bl == 2 && memcmp(buf, "bd", 2) == 0);
  mw_free(d);
  mw_objstore_close(st);
  mw_schema_release(&s);
}

static void test_unsupported_column_named(void) {
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 2, NULL);
  mw_schema_init(s.children[0], "l", "id", NULL, 0, 0, NULL);
  mw_schema_init(s.children[1], "+s", "tags", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[1]->children[0], "u", "x", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_objstore *st;
  mw_error e = {0}, *ep = &e;
  CHECK_OK(mw_objstore_open(&st, "memory://lance_dataset_test2", NULL, ep), ep);
  mw_lance_gen_result r;
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  o.version = MW_LANCE_V2_0; /* 2.1 (the default) writes struct columns, 2.0 cannot */
  CHECK_INT(mw_lance_write_generation(st, "g", &s, NULL, 0, &o, &r, &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'tags'") != NULL);
  mw_objstore_close(st);
  mw_schema_release(&s);
}

int main(void) {
  MW_RUN(test_generation_dedup_and_manifest);
  MW_RUN(test_unsupported_column_named);
  MW_RUN(test_struct_offset_slice);
  return mw_test_finish();
}
