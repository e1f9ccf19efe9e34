/* test_pk_index.c - primary key resolution, the memcomparable composite key
 * encoding (FORMATS.md part F), and the _pk_index/ files: byte-identical to
 * the Lance 12 fixture generation for ids 1..6, sorted with ties by row
 * offset, pages of 8192 rows with exact min/max in page_lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "lance/lance_file.h"
#include "lance/pk_index.h"
#include "lance_test_read.h"
#include "mw_test.h"
#include "store_test_util.h"

#define SHARD_DIR FIX_SHARD_DIR

static bool decode_file(const char *path, struct ArrowSchema *s, struct ArrowArray *batch) {
  size_t len;
  uint8_t *d = slurp(path, &len);
  if (!d) return false;
  struct ArrowArray *b = NULL;
  size_t nb = 0;
  mw_status st = mw_ipc_decode(s, &b, &nb, d, len, NULL);
  free(d);
  if (st != MW_OK || nb != 1) return false;
  *batch = b[0];
  mw_free(b);
  return true;
}

static void test_fixture_identical(void) {
  struct ArrowSchema s, s2;
  struct ArrowArray b[2];
  CHECK(decode_file(SHARD_DIR "/wal/1000000000000000000000000000000000000000000000000000000000000000.arrow", &s, &b[0]));
  CHECK(decode_file(SHARD_DIR "/wal/1100000000000000000000000000000000000000000000000000000000000000.arrow", &s2, &b[1]));
  if (mw_test_failures) return;
  mw_error e = {0}, *ep = &e;
  mw_pk pk;
  CHECK_OK(mw_pk_resolve(&pk, &s, NULL, 0, ep), ep);
  CHECK_INT(pk.n, 1);
  CHECK_INT(pk.col[0], 0);
  mw_pk_row rows[6];
  for (int i = 0; i < 6; i++) {
    rows[i].batch = (uint32_t)(i / 3);
    rows[i].row = i % 3;
  }
  uint8_t *d, *l;
  size_t dl, ll;
  CHECK_OK(mw_pk_index_build(&d, &dl, &l, &ll, &s, &pk, b, rows, 6, ep), ep);
  size_t fdl, fll;
  uint8_t *fd = slurp(SHARD_DIR "/70752807_gen_1/_pk_index/page_data.lance", &fdl);
  uint8_t *fl = slurp(SHARD_DIR "/70752807_gen_1/_pk_index/page_lookup.lance", &fll);
  CHECK(fd && fl);
  CHECK_INT(dl, 492);
  CHECK_INT(ll, 983);
  CHECK(fd && dl == fdl && memcmp(d, fd, dl) == 0);
  CHECK(fl && ll == fll && memcmp(l, fl, ll) == 0);
  free(d); free(l); free(fd); free(fl);
  mw_array_release(&b[0]); mw_array_release(&b[1]);
  mw_schema_release(&s); mw_schema_release(&s2);
}

/* A batch {k1 int64, k2 utf8} built by hand. */
typedef struct kb {
  int64_t k1[5];
  int32_t off[6];
  char data[32];
  uint8_t valid2;
  const void *b1[2], *b2[3], *bs[1];
  struct ArrowArray c1, c2, root;
  struct ArrowArray *kids[2];
} kb;

static void noop(struct ArrowArray *a) { a->release = NULL; }

static void kb_init(kb *k, const int64_t *k1, const char *const *k2, int n) {
  memset(k, 0, sizeof *k);
  int pos = 0;
  for (int i = 0; i < n; i++) {
    k->k1[i] = k1[i];
    k->off[i] = pos;
    if (k2[i]) {
      size_t len = strlen(k2[i]);
      if (len == 1 && k2[i][0] == '@') { /* "@" = a string holding one 00 byte */
        k->data[pos++] = 0;
      } else {
        memcpy(k->data + pos, k2[i], len);
        pos += (int)len;
      }
      k->valid2 |= (uint8_t)(1u << i);
    }
  }
  k->off[n] = pos;
  k->b1[1] = k->k1;
  k->b2[0] = &k->valid2;
  k->b2[1] = k->off;
  k->b2[2] = k->data;
  k->c1 = (struct ArrowArray){.length = n, .n_buffers = 2, .buffers = k->b1, .release = noop};
  int nulls = 0;
  for (int i = 0; i < n; i++) nulls += !k2[i];
  k->c2 = (struct ArrowArray){.length = n, .null_count = nulls, .n_buffers = 3, .buffers = k->b2, .release = noop};
  k->kids[0] = &k->c1;
  k->kids[1] = &k->c2;
  k->root = (struct ArrowArray){.length = n, .n_buffers = 1, .buffers = k->bs, .n_children = 2,
                                .children = k->kids, .release = noop};
}

static void make_schema(struct ArrowSchema *s) {
  mw_schema_init(s, "+s", "", NULL, 0, 2, NULL);
  mw_schema_init(s->children[0], "l", "k1", NULL, 0, 0, NULL);
  mw_schema_init(s->children[1], "u", "k2", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
}

static void test_composite_encoding(void) {
  struct ArrowSchema s;
  make_schema(&s);
  mw_error e = {0}, *ep = &e;
  static const char *const names[2] = {"k2", "k1"};
  mw_pk pk;
  CHECK_OK(mw_pk_resolve(&pk, &s, names, 2, ep), ep);
  CHECK_INT(pk.n, 2);
  CHECK_INT(pk.col[0], 1);
  CHECK_INT(pk.col[1], 0);
  int64_t k1[3] = {1, -1, 0};
  const char *k2[3] = {"x", NULL, "@"};
  kb k;
  kb_init(&k, k1, k2, 3);
  mw_buf b;
  mw_buf_init(&b);
  mw_pk_encode(&b, &pk, &k.root, 0);
  static const uint8_t e0[] = {1, 'x', 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 1};
  CHECK(b.len == sizeof e0 && memcmp(b.data, e0, sizeof e0) == 0);
  b.len = 0;
  mw_pk_encode(&b, &pk, &k.root, 1);
  static const uint8_t e1[] = {0, 1, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  CHECK(b.len == sizeof e1 && memcmp(b.data, e1, sizeof e1) == 0);
  b.len = 0;
  mw_pk_encode(&b, &pk, &k.root, 2);
  static const uint8_t e2[] = {1, 0, 0xff, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0};
  CHECK(b.len == sizeof e2 && memcmp(b.data, e2, sizeof e2) == 0);
  /* key bytes: 1 + 8, 0 + 8, 1 + 8 */
  CHECK_INT(mw_pk_value_bytes(&pk, &k.root, 0), 9);
  CHECK_INT(mw_pk_value_bytes(&pk, &k.root, 1), 8);
  mw_buf_free(&b);

  /* unsupported key type names the column */
  struct ArrowSchema f;
  mw_schema_init(&f, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(f.children[0], "g", "score", NULL, 0, 0, NULL);
  static const char *const sc[1] = {"score"};
  CHECK_INT(mw_pk_resolve(&pk, &f, sc, 1, &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'score'") != NULL);
  static const char *const missing[1] = {"nope"};
  CHECK_INT(mw_pk_resolve(&pk, &s, missing, 1, &e), MW_ERR_INVALID);
  mw_schema_release(&f);
  mw_schema_release(&s);
}

static void test_composite_index_sorted(void) {
  struct ArrowSchema s;
  make_schema(&s);
  mw_error e = {0}, *ep = &e;
  static const char *const names[2] = {"k1", "k2"};
  mw_pk pk;
  CHECK_OK(mw_pk_resolve(&pk, &s, names, 2, ep), ep);
  int64_t k1[5] = {5, -3, 5, 0, -3};
  const char *k2[5] = {"b", "z", "a", NULL, "z"};
  kb k;
  kb_init(&k, k1, k2, 5);
  mw_pk_row rows[5];
  for (int i = 0; i < 5; i++) rows[i] = (mw_pk_row){0, i};
  uint8_t *d, *l;
  size_t dl, ll;
  CHECK_OK(mw_pk_index_build(&d, &dl, &l, &ll, &s, &pk, &k.root, rows, 5, ep), ep);
  /* order: (-3,"z")@1, (-3,"z")@4 (tie by offset), (0,null)@3, (5,"a")@2, (5,"b")@0 */
  const uint8_t *buf;
  uint64_t rws, bl;
  CHECK(lt_page_buffer(d, dl, 1, 0, 0, &rws, &buf, &bl));
  CHECK_INT(rws, 5);
  CHECK_INT(bl, 40);
  static const uint64_t ids[5] = {1, 4, 3, 2, 0};
  for (int i = 0; i < 5 && bl == 40; i++) CHECK_INT(mw_load_u64le(buf + 8 * i), ids[i]);
  /* values: binary; indices buffer (u64 end offsets) then bytes */
  CHECK(lt_page_buffer(d, dl, 0, 0, 1, &rws, &buf, &bl));
  CHECK_INT(bl, 13 + 13 + 10 + 13 + 13); /* 01+8 bytes, then 01 z 00 00 or 00 */
  static const uint8_t first[12] = {1, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 1, 'z', 0};
  CHECK(bl >= 12 && memcmp(buf, first, 12) == 0);
  lt_footer f;
  CHECK(lt_footer_read(&f, l, ll));
  CHECK_INT(f.ncol, 4);
  CHECK_INT(f.major, 0);
  CHECK_INT(f.minor, 3);
  free(d);
  free(l);
  mw_schema_release(&s);
}

static void test_multi_page(void) {
  /* 20000 int32 keys in reverse order: 3 pages (8192, 8192, 3616) */
  enum { N = 20000 };
  int32_t *v = malloc(N * sizeof *v);
  for (int i = 0; i < N; i++) v[i] = N - 1 - i;
  const void *bufs[2] = {NULL, v}, *rb[1] = {NULL};
  struct ArrowArray c = {.length = N, .n_buffers = 2, .buffers = bufs, .release = noop};
  struct ArrowArray *kids[1] = {&c};
  struct ArrowArray root = {.length = N, .n_buffers = 1, .buffers = rb, .n_children = 1, .children = kids,
                            .release = noop};
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 1, NULL);
  bool ok = true;
  char *md = mw_metadata_with(NULL, MW_LANCE_PK_POSITION_KEY, "1", &ok);
  mw_schema_init(s.children[0], "i", "key", md, 0, 0, NULL);
  free(md);
  mw_error e = {0}, *ep = &e;
  mw_pk pk;
  CHECK_OK(mw_pk_resolve(&pk, &s, NULL, 0, ep), ep);
  mw_pk_row *rows = malloc(N * sizeof *rows);
  for (int i = 0; i < N; i++) rows[i] = (mw_pk_row){0, i};
  uint8_t *d, *l;
  size_t dl, ll;
  CHECK_OK(mw_pk_index_build(&d, &dl, &l, &ll, &s, &pk, &root, rows, N, ep), ep);
  CHECK_INT(lt_pages(d, dl, 0), 3);
  CHECK_INT(lt_pages(d, dl, 1), 3);
  const uint8_t *buf;
  uint64_t rws, bl;
  CHECK(lt_page_buffer(d, dl, 0, 1, 0, &rws, &buf, &bl));
  CHECK_INT(rws, 8192);
  CHECK_INT(mw_load_u32le(buf), 8192); /* sorted values: page 1 starts at 8192 */
  CHECK(lt_page_buffer(d, dl, 1, 2, 0, &rws, &buf, &bl));
  CHECK_INT(rws, N - 2 * 8192);
  CHECK_INT(mw_load_u64le(buf), N - 1 - 16384); /* ids = row offsets of those keys */
  /* page_lookup: min/max per page, null_count 0, page_idx 0..2 */
  CHECK_INT(lt_pages(l, ll, 0), 1);
  CHECK(lt_page_buffer(l, ll, 0, 0, 0, &rws, &buf, &bl));
  CHECK_INT(rws, 3);
  CHECK_INT(mw_load_u32le(buf + 4), 8192);
  CHECK(lt_page_buffer(l, ll, 1, 0, 0, &rws, &buf, &bl));
  CHECK_INT(mw_load_u32le(buf + 8), N - 1);
  CHECK(lt_page_buffer(l, ll, 3, 0, 0, &rws, &buf, &bl));
  CHECK_INT(mw_load_u32le(buf + 8), 2);
  free(d);
  free(l);
  free(rows);
  free(v);
  mw_schema_release(&s);
}

int main(void) {
  MW_RUN(test_fixture_identical);
  MW_RUN(test_composite_encoding);
  MW_RUN(test_composite_index_sorted);
  MW_RUN(test_multi_page);
  return mw_test_finish();
}
