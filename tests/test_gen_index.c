/* test_gen_index.c - a flushed generation's Lance indexes (gen_index.h):
 * the BTree index files (pages of 4096 rows, sorted nulls first then by
 * value in IEEE total order, ties by row offset, ids = generation row
 * offsets after dedup, page statistics as Lance computes them), their
 * manifest entry (bytes of the fields Lance writes, file sizes equal to the
 * stored objects), the manifest framing with an index section, field ids
 * of nested schemas, and failures that publish no generation. LanceDB's
 * reading of these files is tested in tests/interop/gen_btree.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "common/uuid.h"
#include "lance/gen_index.h"
#include "lance/lance_dataset.h"
#include "lance/pb.h"
#include "lance/table_manifest.h"
#include "lance_test_read.h"
#include "mw_test.h"

static void noop(struct ArrowArray *a) { a->release = NULL; }

/* Lance's fragment bitmap {0}, as Lance 12 wrote it in a generation
 * manifest (LanceDB 0.39). */
static const uint8_t LANCE_BITMAP0[18] = {0x3a, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0};

static void test_roaring_and_field_ids(void) {
  mw_buf b;
  mw_buf_init(&b);
  mw_roaring_single_zero(&b);
  CHECK_INT(b.len, 18);
  CHECK(b.len == 18 && memcmp(b.data, LANCE_BITMAP0, 18) == 0);
  mw_buf_free(&b);
  /* {a int32, s struct<x, y>, v fixed_size_list<f32>[2], t utf8}: ids 0, 1 (x 2, y 3), 4, 5 */
  struct ArrowSchema s;
  CHECK_OK(mw_schema_init(&s, "+s", "", NULL, 0, 4, NULL), NULL);
  mw_schema_init(s.children[0], "i", "a", NULL, 0, 0, NULL);
  mw_schema_init(s.children[1], "+s", "s", NULL, 0, 2, NULL);
  mw_schema_init(s.children[1]->children[0], "i", "x", NULL, 0, 0, NULL);
  mw_schema_init(s.children[1]->children[1], "i", "y", NULL, 0, 0, NULL);
  mw_schema_init(s.children[2], "+w:2", "v", NULL, 0, 1, NULL);
  mw_schema_init(s.children[2]->children[0], "f", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_schema_init(s.children[3], "u", "t", NULL, 0, 0, NULL);
  CHECK_INT(mw_lance_top_field_id(&s, 0), 0);
  CHECK_INT(mw_lance_top_field_id(&s, 1), 1);
  CHECK_INT(mw_lance_top_field_id(&s, 2), 4);
  CHECK_INT(mw_lance_top_field_id(&s, 3), 5);
  int32_t leaves[8];
  CHECK_INT(mw_lance_leaf_field_ids(&s, leaves, 8), 5); /* a, x, y, v, t */
  CHECK_INT(leaves[4], 5); /* agrees with the data file's numbering */
  mw_schema_release(&s);
}

/* A batch {id int64 (primary key), score float64 nullable, tag utf8}. */
typedef struct gen_batch {
  int64_t *id;
  double *score;
  uint8_t *valid;
  int32_t *toff;
  char *tdata;
  const void *ib[2], *sb[2], *tb[3], *rb[1];
  struct ArrowArray ia, sa, ta, root;
  struct ArrowArray *kids[3];
} gen_batch;

static void gb_init(gen_batch *g, int n) {
  memset(g, 0, sizeof *g);
  g->id = calloc((size_t)n, sizeof *g->id);
  g->score = calloc((size_t)n, sizeof *g->score);
  g->valid = calloc((size_t)n / 8 + 1, 1);
  g->toff = calloc((size_t)n + 1, sizeof *g->toff);
  g->tdata = calloc(1, 1);
}

static void gb_finish(gen_batch *g, int n, int nulls) {
  g->ib[1] = g->id;
  g->sb[0] = g->valid;
  g->sb[1] = g->score;
  g->tb[1] = g->toff;
  g->tb[2] = g->tdata;
  g->ia = (struct ArrowArray){.length = n, .n_buffers = 2, .buffers = g->ib, .release = noop};
  g->sa = (struct ArrowArray){.length = n, .null_count = nulls, .n_buffers = 2, .buffers = g->sb, .release = noop};
  g->ta = (struct ArrowArray){.length = n, .n_buffers = 3, .buffers = g->tb, .release = noop};
  g->kids[0] = &g->ia;
  g->kids[1] = &g->sa;
  g->kids[2] = &g->ta;
  g->root = (struct ArrowArray){.length = n, .n_buffers = 1, .buffers = g->rb, .n_children = 3,
                                .children = g->kids, .release = noop};
}

static void gb_free(gen_batch *g) {
  free(g->id);
  free(g->score);
  free(g->valid);
  free(g->toff);
  free(g->tdata);
}

static void gen_schema(struct ArrowSchema *s) {
  mw_schema_init(s, "+s", "", NULL, 0, 3, NULL);
  bool ok = true;
  char *md = mw_metadata_with(NULL, MW_LANCE_PK_POSITION_KEY, "1", &ok);
  mw_schema_init(s->children[0], "l", "id", md, 0, 0, NULL);
  free(md);
  mw_schema_init(s->children[1], "g", "score", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_schema_init(s->children[2], "u", "tag", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
}

/* Lance's order of (valid, value): nulls first, then f64 total order. */
static int total_cmp(bool va, double a, bool vb, double b) {
  if (!va || !vb) return (int)va - (int)vb;
  uint64_t x, y;
  memcpy(&x, &a, 8);
  memcpy(&y, &b, 8);
  x = (x >> 63) ? ~x : x ^ (1ULL << 63);
  y = (y >> 63) ? ~y : y ^ (1ULL << 63);
  return x < y ? -1 : x > y;
}

static uint8_t *get_obj(mw_objstore *st, const char *key, size_t *len) {
  uint8_t *d = NULL;
  mw_error e = {0};
  if (mw_objstore_get(st, &d, len, key, 0, MW_OBJSTORE_TO_END, &e) != MW_OK) return NULL;
  return d;
}

/* 10000 input rows, ids i % 9000 (the last 1000 rewrite ids 0..999: dedup
 * keeps 9000 rows, ids 1000..8999 first, then 0..999), score null every
 * 7th row, else a value with repeats, NaN, -0.0 and +0.0. */
static void test_btree_generation(void) {
  enum { N = 10000, U = 9000 };
  gen_batch g;
  gb_init(&g, N);
  int nulls = 0;
  for (int i = 0; i < N; i++) {
    g.id[i] = i % U;
    bool v = i % 7 != 3;
    if (v) g.valid[i / 8] |= (uint8_t)(1u << (i % 8));
    else nulls++;
    double x = (double)((i * 7919) % 501) - 250.0;
    if (i % 97 == 0) x = NAN;
    if (i % 89 == 0) x = -0.0;
    if (i % 83 == 0) x = 0.0;
    g.score[i] = x;
  }
  gb_finish(&g, N, nulls);
  struct ArrowSchema s;
  gen_schema(&s);
  mw_objstore *st;
  mw_error e = {0}, *ep = &e;
  CHECK_OK(mw_objstore_open(&st, "memory://gen_index_test", NULL, ep), ep);
  mw_gen_index ix = {.name = "score_idx", .column = "score", .kind = MW_INDEX_BTREE};
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  o.indexes = &ix;
  o.n_indexes = 1;
  o.timestamp_ns = 1700000000123456789LL;
  mw_lance_gen_result res;
  CHECK_OK(mw_lance_write_generation(st, "g1", &s, &g.root, 1, &o, &res, ep), ep);
  CHECK_INT(res.physical_rows, U);

  /* expected generation rows: input rows U..N-1 replace 0..999 */
  int *gen_src = malloc(U * sizeof *gen_src);
  for (int k = 0; k < U - 1000; k++) gen_src[k] = 1000 + k;
  for (int k = 0; k < 1000; k++) gen_src[U - 1000 + k] = U + k;

  /* the manifest: [IndexSection frame][Manifest frame][trailer] */
  size_t ml;
  uint8_t *man = get_obj(st, "g1/_versions/" MW_LANCE_V1_MANIFEST, &ml);
  CHECK(man != NULL);
  if (!man) goto out;
  mw_lance_table_manifest *tm = NULL;
  CHECK_OK(mw_lance_table_manifest_decode(&tm, man, ml, "manifest", ep), ep);
  CHECK(tm && tm->index && tm->index->n_indices == 1);
  CHECK(tm && tm->pb->has_index_section && tm->pb->index_section == 0);
  char ustr[40] = "";
  if (tm && tm->index && tm->index->n_indices == 1) {
    const Lance__Table__IndexMetadataProto *im = tm->index->indices[0];
    CHECK_STR(im->name, "score_idx");
    CHECK_INT(im->n_fields, 1);
    CHECK_INT(im->n_fields ? im->fields[0] : -1, 1);
    CHECK(im->has_dataset_version && im->dataset_version == 1);
    CHECK(im->has_fragment_bitmap && im->fragment_bitmap.len == 18 &&
          memcmp(im->fragment_bitmap.data, LANCE_BITMAP0, 18) == 0);
    CHECK(im->index_details && strcmp(im->index_details->type_url, "/lance.table.BTreeIndexDetails") == 0);
    CHECK(im->index_details && !im->index_details->has_value); /* Lance writes no value for BTree */
    CHECK(im->has_index_version && im->index_version == 0);
    CHECK(im->has_created_at && im->created_at == 1700000000123ULL);
    CHECK(im->uuid && im->uuid->has_uuid && im->uuid->uuid.len == 16);
    if (im->uuid && im->uuid->uuid.len == 16) mw_uuid_format(ustr, im->uuid->uuid.data);
  }
  /* files {1 path, 2 size} (field 10, not declared in our proto): from the raw entry */
  uint32_t sl = mw_load_u32le(man);
  mw_pb_field entry, fl;
  size_t pos = 0;
  int nfiles = 0;
  CHECK(mw_pb_find(man + 4, sl, 1, &entry));
  while (mw_pb_next(entry.data, entry.len, &pos, &fl)) {
    if (fl.field != 10) continue;
    mw_pb_field p, z;
    CHECK(mw_pb_find(fl.data, fl.len, 1, &p) && mw_pb_find(fl.data, fl.len, 2, &z));
    char key[256];
    snprintf(key, sizeof key, "g1/_indices/%s/%.*s", ustr, (int)p.len, (const char *)p.data);
    uint64_t size = 0;
    CHECK_OK(mw_objstore_head(st, &size, key, ep), ep);
    CHECK_INT(size, z.val);
    nfiles++;
  }
  CHECK_INT(nfiles, 2);

  /* page_data: 3 pages of 4096, 4096, 808 rows; ids sorted as Lance sorts */
  char key[256];
  snprintf(key, sizeof key, "g1/_indices/%s/page_data.lance", ustr);
  size_t dl;
  uint8_t *d = get_obj(st, key, &dl);
  CHECK(d != NULL);
  if (d) {
    CHECK_INT(lt_pages(d, dl, 1), 3);
    uint64_t *ids = malloc(U * sizeof *ids);
    int k = 0;
    for (int p = 0; p < 3; p++) {
      const uint8_t *buf;
      uint64_t rws, bl;
      CHECK(lt_page_buffer(d, dl, 1, p, 0, &rws, &buf, &bl));
      CHECK_INT(rws, p < 2 ? 4096 : U - 8192);
      for (uint64_t r = 0; r < rws && k < U; r++) ids[k++] = mw_load_u64le(buf + 8 * r);
    }
    CHECK_INT(k, U);
    int bad = 0, seen_nulls = 0;
    uint8_t *seen = calloc(U, 1);
    for (int i = 0; i < k; i++) {
      if (ids[i] >= U || seen[ids[i]]++) {
        bad++;
        continue;
      }
      int src = gen_src[ids[i]];
      bool v = g.valid[src / 8] >> (src % 8) & 1;
      seen_nulls += !v;
      if (i > 0 && ids[i - 1] < U) {
        int ps = gen_src[ids[i - 1]];
        int c = total_cmp(g.valid[ps / 8] >> (ps % 8) & 1, g.score[ps], v, g.score[src]);
        if (c > 0 || (c == 0 && ids[i - 1] > ids[i])) bad++;
      }
    }
    CHECK_INT(bad, 0);
    int want_nulls = 0;
    for (int r = 0; r < U; r++) want_nulls += !(g.valid[gen_src[r] / 8] >> (gen_src[r] % 8) & 1);
    CHECK_INT(seen_nulls, want_nulls);
    CHECK(want_nulls > 4096 / 8); /* the test has nulls in page 0 */

    /* page_lookup: null_count per page and page_idx 0..2 */
    snprintf(key, sizeof key, "g1/_indices/%s/page_lookup.lance", ustr);
    size_t ll;
    uint8_t *l = get_obj(st, key, &ll);
    CHECK(l != NULL);
    if (l) {
      const uint8_t *buf;
      uint64_t rws, bl;
      CHECK(lt_page_buffer(l, ll, 2, 0, 0, &rws, &buf, &bl));
      CHECK_INT(rws, 3);
      int nn0 = 0;
      for (int i = 0; i < 4096; i++) {
        int src = gen_src[ids[i]];
        nn0 += !(g.valid[src / 8] >> (src % 8) & 1);
      }
      CHECK_INT(mw_load_u32le(buf), nn0);
      CHECK(lt_page_buffer(l, ll, 3, 0, 0, &rws, &buf, &bl));
      CHECK_INT(mw_load_u32le(buf + 8), 2);
      /* schema metadata: batch_size 4096 (Lance's default), not the _pk_index's 8192 */
      static const char bs[] = "batch_size";
      const uint8_t *hit = NULL;
      for (size_t i = 0; i + sizeof bs - 1 + 6 <= ll; i++)
        if (memcmp(l + i, bs, sizeof bs - 1) == 0) hit = l + i;
      CHECK(hit != NULL);
      bool has4096 = false;
      for (size_t i = 0; hit && i + 4 <= ll && i < 64; i++)
        if (hit + i + 4 <= l + ll && memcmp(hit + i, "4096", 4) == 0) has4096 = true;
      CHECK(has4096);
      mw_free(l);
    }
    free(seen);
    free(ids);
    mw_free(d);
  }
  mw_lance_table_manifest_free(tm);
  mw_free(man);
out:
  free(gen_src);
  mw_objstore_close(st);
  mw_schema_release(&s);
  gb_free(&g);
}

/* No index -> the manifest is framed as before (no index section); a bad
 * index (unknown column, unsupported type) fails the write and publishes
 * no manifest. */
static void test_no_index_and_failures(void) {
  enum { N = 5 };
  gen_batch g;
  gb_init(&g, N);
  for (int i = 0; i < N; i++) {
    g.id[i] = i;
    g.valid[0] |= (uint8_t)(1u << i);
    g.score[i] = i;
  }
  gb_finish(&g, N, 0);
  struct ArrowSchema s;
  gen_schema(&s);
  mw_objstore *st;
  mw_error e = {0}, *ep = &e;
  CHECK_OK(mw_objstore_open(&st, "memory://gen_index_test2", NULL, ep), ep);
  mw_lance_gen_result res;
  CHECK_OK(mw_lance_write_generation(st, "plain", &s, &g.root, 1, NULL, &res, ep), ep);
  size_t ml;
  uint8_t *man = get_obj(st, "plain/_versions/" MW_LANCE_V1_MANIFEST, &ml);
  CHECK(man != NULL);
  if (man) {
    mw_lance_table_manifest *tm = NULL;
    CHECK_OK(mw_lance_table_manifest_decode(&tm, man, ml, "m", ep), ep);
    CHECK(tm && tm->index == NULL && !tm->pb->has_index_section);
    CHECK_INT(mw_load_u64le(man + ml - 16), 0); /* the manifest frame at 0 */
    mw_lance_table_manifest_free(tm);
    mw_free(man);
  }
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  mw_gen_index bad = {.name = "nope_idx", .column = "nope", .kind = MW_INDEX_BTREE};
  o.indexes = &bad;
  o.n_indexes = 1;
  mw_error e2 = {0};
  CHECK_INT(mw_lance_write_generation(st, "bad1", &s, &g.root, 1, &o, &res, &e2), MW_ERR_INVALID);
  CHECK(strstr(e2.message, "nope_idx") != NULL && strstr(e2.message, "nope") != NULL);
  uint64_t sz;
  CHECK_INT(mw_objstore_head(st, &sz, "bad1/_versions/" MW_LANCE_V1_MANIFEST, NULL), MW_ERR_NOT_FOUND);
  /* an FTS index on a float column is not something we build */
  mw_gen_index fts = {.name = "f_idx", .column = "score", .kind = MW_INDEX_FTS};
  o.indexes = &fts;
  mw_error e3 = {0};
  CHECK_INT(mw_lance_write_generation(st, "bad2", &s, &g.root, 1, &o, &res, &e3), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e3.message, "f_idx") != NULL);
  CHECK_INT(mw_objstore_head(st, &sz, "bad2/_versions/" MW_LANCE_V1_MANIFEST, NULL), MW_ERR_NOT_FOUND);
  mw_objstore_close(st);
  mw_schema_release(&s);
  gb_free(&g);
}

int main(void) {
  MW_RUN(test_roaring_and_field_ids);
  MW_RUN(test_btree_generation);
  MW_RUN(test_no_index_and_failures);
  return mw_test_finish();
}
