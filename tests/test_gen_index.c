/* test_gen_index.c - a flushed generation's Lance indexes (gen_index.h):
 * the BTree index files (pages of 4096 rows, sorted nulls first then by
 * value in IEEE total order, ties by row offset, ids = generation row
 * offsets after dedup, page statistics as Lance computes them), their
 * manifest entry (bytes of the fields Lance writes, file sizes equal to the
 * stored objects), the manifest framing with an index section, field ids
 * of nested schemas, and failures that publish no generation; the FTS files
 * (docs after dedup, tokens in byte order, bit-packed blocks decoded
 * independently, the impact frontier bytes, Lance's details bytes) and the
 * IVF_HNSW_SQ files (row offsets, SQ8 codes, neighbours remapped and sorted,
 * the IVF global buffer, no index for a generation without vectors).
 * LanceDB's reading of these files: tests/interop/gen_btree.sh, gen_fts.sh,
 * gen_vec.sh. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "index/fts.h"
#include "index/hnsw.h"
#include "lance/gen_index.h"
#include "lance/lance_dataset.h"
#include "lance/pb.h"
#include "lance/table_manifest.h"
#include "memtable/memtable.h"
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

/* A store whose put_if_absent of keys containing `fail` fails (MW_ERR_IO);
 * everything else goes to the inner store. */
typedef struct fail_store {
  mw_objstore *inner;
  const char *fail;
} fail_store;

static mw_status fs_put(void *self, const char *key, const void *d, size_t n, mw_error *err) {
  fail_store *f = self;
  if (strstr(key, f->fail)) return mw_err(err, MW_ERR_IO, "injected fault: %s", key);
  return mw_objstore_put(f->inner, key, d, n, err);
}
static mw_status fs_put_if_absent(void *self, const char *key, const void *d, size_t n, mw_error *err) {
  fail_store *f = self;
  if (strstr(key, f->fail)) return mw_err(err, MW_ERR_IO, "injected fault: %s", key);
  return mw_objstore_put_if_absent(f->inner, key, d, n, err);
}
static mw_status fs_get(void *self, uint8_t **out, size_t *out_len, const char *key, uint64_t off, uint64_t len,
                        mw_error *err) {
  return mw_objstore_get(((fail_store *)self)->inner, out, out_len, key, off, len, err);
}
static mw_status fs_head(void *self, uint64_t *size, const char *key, mw_error *err) {
  return mw_objstore_head(((fail_store *)self)->inner, size, key, err);
}
static mw_status fs_list(void *self, const char *prefix, mw_objstore_list_fn fn, void *arg, mw_error *err) {
  return mw_objstore_list(((fail_store *)self)->inner, prefix, fn, arg, err);
}
static mw_status fs_del(void *self, const char *key, mw_error *err) {
  return mw_objstore_delete(((fail_store *)self)->inner, key, err);
}
static const mw_objstore_vtable fs_vtable = {
    .abi_version = MW_OBJSTORE_ABI_VERSION, .struct_size = sizeof(mw_objstore_vtable), .put = fs_put,
    .put_if_absent = fs_put_if_absent, .get = fs_get, .head = fs_head, .list = fs_list, .del = fs_del};

/* The indexes are built on threads while the data file is written: a
 * failed data file write, or a failed index file write, fails the
 * generation (the error names what failed), after every thread ended, and
 * publishes no manifest; two BTree indexes (two threads) whose files all
 * exist when the write succeeds, listed in the section in index order. */
static void test_concurrent_index_failures(void) {
  enum { N = 5000 };
  gen_batch g;
  gb_init(&g, N);
  for (int i = 0; i < N; i++) {
    g.id[i] = N - i;
    g.valid[i / 8] |= (uint8_t)(1u << (i % 8));
    g.score[i] = i * 0.5;
  }
  gb_finish(&g, N, 0);
  struct ArrowSchema s;
  gen_schema(&s);
  mw_objstore *mem;
  mw_error e = {0};
  CHECK_OK(mw_objstore_open(&mem, "memory://gen_index_conc", NULL, &e), &e);
  mw_gen_index two[2] = {{.name = "id_idx", .column = "id", .kind = MW_INDEX_BTREE},
                         {.name = "score_idx", .column = "score", .kind = MW_INDEX_BTREE}};
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  o.indexes = two;
  o.n_indexes = 2;
  const char *fails[3] = {"/data/", "/_indices/", "nothing-fails"};
  for (int k = 0; k < 3; k++) {
    fail_store fst = {mem, fails[k]};
    mw_objstore *st = NULL;
    CHECK_OK(mw_objstore_new(&st, &fs_vtable, &fst, &e), &e);
    char prefix[32], key[96];
    snprintf(prefix, sizeof prefix, "conc%d", k);
    mw_lance_gen_result res;
    mw_error e2 = {0};
    mw_status rc = mw_lance_write_generation(st, prefix, &s, &g.root, 1, &o, &res, &e2);
    snprintf(key, sizeof key, "%s/_versions/" MW_LANCE_V1_MANIFEST, prefix);
    uint64_t sz;
    if (k < 2) {
      CHECK_INT(rc, MW_ERR_IO);
      CHECK(strstr(e2.message, fails[k]) != NULL);
      /* both indexes fail: the error is the first one's in index order */
      if (k == 1) CHECK(strstr(e2.message, "id_idx") != NULL && strstr(e2.message, "score_idx") == NULL);
      CHECK_INT(mw_objstore_head(mem, &sz, key, NULL), MW_ERR_NOT_FOUND);
    } else {
      CHECK_OK(rc, &e2);
      size_t ml;
      uint8_t *man = get_obj(mem, key, &ml);
      CHECK(man != NULL);
      if (man) {
        mw_lance_table_manifest *tm = NULL;
        CHECK_OK(mw_lance_table_manifest_decode(&tm, man, ml, "m", &e), &e);
        CHECK(tm && tm->index && tm->index->n_indices == 2);
        if (tm && tm->index && tm->index->n_indices == 2) {
          CHECK_STR(tm->index->indices[0]->name, "id_idx");
          CHECK_STR(tm->index->indices[1]->name, "score_idx");
          /* each entry's folder holds its two files */
          for (size_t i = 0; i < 2; i++) {
            char us[MW_UUID_STR_LEN + 1] = "", fk[200];
            const Lance__Table__IndexMetadataProto *im = tm->index->indices[i];
            if (im->uuid && im->uuid->uuid.len == 16) mw_uuid_format(us, im->uuid->uuid.data);
            snprintf(fk, sizeof fk, "%s/_indices/%s/page_data.lance", prefix, us);
            CHECK_OK(mw_objstore_head(mem, &sz, fk, &e), &e);
            snprintf(fk, sizeof fk, "%s/_indices/%s/page_lookup.lance", prefix, us);
            CHECK_OK(mw_objstore_head(mem, &sz, fk, &e), &e);
          }
        }
        mw_lance_table_manifest_free(tm);
        mw_free(man);
      }
    }
    mw_objstore_close(st);
  }
  mw_objstore_close(mem);
  mw_schema_release(&s);
  gb_free(&g);
}

/* ---- FTS and HNSW, fed directly (no data batches needed) ---- */

typedef struct keys {
  char k[16][200];
  int n;
} keys;

static int keys_cb(void *arg, const char *key, uint64_t size) {
  (void)size;
  keys *l = arg;
  if (l->n < 16) snprintf(l->k[l->n++], sizeof l->k[0], "%s", key);
  return 0;
}

/* The object under prefix whose key ends with `suffix` (NULL if none). */
static uint8_t *get_suffix(mw_objstore *st, const keys *l, const char *suffix, size_t *len) {
  for (int i = 0; i < l->n; i++) {
    size_t a = strlen(l->k[i]), b = strlen(suffix);
    if (a >= b && strcmp(l->k[i] + a - b, suffix) == 0) return get_obj(st, l->k[i], len);
  }
  return NULL;
}

/* One column's item bytes (2.0 binary: buffer 0 u64 ends, buffer 1 bytes)
 * of item `i` in page 0. */
static bool bin_item(const uint8_t *d, size_t n, uint32_t col, uint64_t i, const uint8_t **p, size_t *len) {
  const uint8_t *e, *b;
  uint64_t rows, el, bl;
  if (!lt_page_buffer(d, n, col, 0, 0, &rows, &e, &el) || !lt_page_buffer(d, n, col, 0, 1, &rows, &b, &bl) ||
      i >= rows)
    return false;
  uint64_t s = i ? mw_load_u64le(e + 8 * (i - 1)) : 0, t = mw_load_u64le(e + 8 * i);
  if (t < s || t > bl) return false;
  *p = b + s;
  *len = (size_t)(t - s);
  return true;
}

/* The 4-lane bit-packed layout of 128 values, decoded independently. */
static void unpack128(const uint8_t *p, uint32_t w, uint32_t *out) {
  for (int i = 0; i < 128; i++) {
    uint32_t lane = (uint32_t)i % 4, slot = (uint32_t)i / 4, v = 0;
    for (uint32_t bit = 0; bit < w; bit++) {
      uint64_t pos = (uint64_t)slot * w + bit;
      uint32_t word = mw_load_u32le(p + 4 * (4 * (pos / 32) + lane));
      v |= ((word >> (pos % 32)) & 1u) << bit;
    }
    out[i] = v;
  }
}

static void schema_text(struct ArrowSchema *s) {
  mw_schema_init(s, "+s", "", NULL, 0, 2, NULL);
  mw_schema_init(s->children[0], "l", "id", NULL, 0, 0, NULL);
  mw_schema_init(s->children[1], "u", "text", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
}

/* 300 input rows: every text has "alpha", every 3rd "beta", every 50th
 * "gamma gamma"; row 5 null and row 7 only stop words (no documents); rows
 * r % 10 == 9 dropped by dedup. Four more rows (300..303) carry the impact
 * frontier case for "xylo": (tf 1, dl 3), (2, 12), (2, 15), (3, 40). */
static void test_fts_generation(void) {
  enum { N = 304 };
  mw_error e = {0}, *ep = &e;
  mw_fts *f = NULL;
  CHECK_OK(mw_fts_create(&f, ep), ep);
  if (!f) return;
  char text[1024];
  for (int r = 0; r < 300; r++) {
    if (r == 5) continue;
    if (r == 7) snprintf(text, sizeof text, "the of and");
    else snprintf(text, sizeof text, "alpha%s%s", r % 3 == 0 ? " beta" : "", r % 50 == 0 ? " gamma gamma" : "");
    CHECK_OK(mw_fts_insert(f, (uint64_t)r, text, strlen(text), ep), ep);
  }
  static const int xtf[4] = {1, 2, 2, 3}, xdl[4] = {3, 12, 15, 40};
  for (int k = 0; k < 4; k++) {
    size_t o = 0;
    for (int t = 0; t < xtf[k]; t++) o += (size_t)snprintf(text + o, sizeof text - o, "xylo ");
    for (int t = xtf[k]; t < xdl[k]; t++) o += (size_t)snprintf(text + o, sizeof text - o, "w%d ", t);
    CHECK_OK(mw_fts_insert(f, (uint64_t)(300 + k), text, o, ep), ep);
  }
  int64_t off[N];
  int64_t kept = 0;
  for (int r = 0; r < N; r++) off[r] = (r < 300 && r % 10 == 9) ? -1 : kept++;
  struct ArrowSchema s;
  schema_text(&s);
  mw_gen_rows g = {&s, NULL, NULL, (uint64_t)kept, off, N};
  mw_gen_index ix = {.name = "text_idx", .column = "text", .kind = MW_INDEX_FTS, .fts = f};
  mw_objstore *st;
  CHECK_OK(mw_objstore_open(&st, "memory://gen_index_fts", NULL, ep), ep);
  mw_buf sec;
  mw_buf_init(&sec);
  CHECK_OK(mw_gen_index_write(&sec, st, "g", &ix, &g, 1234, ep), ep);
  /* the entry: InvertedIndexDetails exactly as Lance 12 writes it, index
   * version 2, no created_at, no files */
  mw_pb_field en, any, url, val, fl;
  CHECK(mw_pb_find(sec.data, sec.len, 1, &en) && mw_pb_find(en.data, en.len, 6, &any));
  CHECK(mw_pb_find(any.data, any.len, 1, &url) && url.len == 33 &&
        memcmp(url.data, "/lance.table.InvertedIndexDetails", 33) == 0);
  static const uint8_t lance_details[38] = {0x0a, 0x06, 's', 'i', 'm', 'p', 'l', 'e', 0x12, 0x09, '"', 'E', 'n',
                                            'g', 'l', 'i', 's', 'h', '"', 0x20, 0x28, 0x28, 0x01, 0x30, 0x01, 0x38,
                                            0x01, 0x40, 0x01, 0x48, 0x03, 0x50, 0x03, 0x60, 0x80, 0x01, 0x78, 0x02};
  CHECK(mw_pb_find(any.data, any.len, 2, &val) && val.len == 38 && memcmp(val.data, lance_details, 38) == 0);
  CHECK(mw_pb_find(en.data, en.len, 7, &fl) && fl.val == 2);
  CHECK(!mw_pb_find(en.data, en.len, 8, &fl) && !mw_pb_find(en.data, en.len, 10, &fl));
  keys l = {0};
  CHECK_OK(mw_objstore_list(st, "g/_indices/", keys_cb, &l, ep), ep);
  CHECK_INT(l.n, 4);
  size_t ml, tl, dl, il;
  uint8_t *md = get_suffix(st, &l, "/metadata.lance", &ml), *tk = get_suffix(st, &l, "_tokens.lance", &tl),
          *dc = get_suffix(st, &l, "_docs.lance", &dl), *iv = get_suffix(st, &l, "_invert.lance", &il);
  CHECK(md && tk && dc && iv);
  if (md && tk && dc && iv) {
    /* metadata: the arrow token set, the partition id of the part files */
    CHECK(memmem(md, ml, "token_set_format", 16) && memmem(md, ml, "arrow", 5) && memmem(md, ml, "varint_delta_v1", 15));
    const char *part = strstr(l.k[0], "part_") ? strstr(l.k[0], "part_") + 5 : strstr(l.k[1], "part_") + 5;
    char pid[32] = {0};
    for (int i = 0; i < 31 && part[i] >= '0' && part[i] <= '9'; i++) pid[i] = part[i];
    char pl[40];
    snprintf(pl, sizeof pl, "[%s]", pid);
    CHECK(pid[0] && memmem(md, ml, pl, strlen(pl)) != NULL);
    /* docs: rows with tokens that survived (not 5, 7, r % 10 == 9), in offset order */
    const uint8_t *b;
    uint64_t rows, bl;
    CHECK(lt_page_buffer(dc, dl, 0, 0, 0, &rows, &b, &bl));
    int want_docs = 0, bad = 0;
    for (int r = 0; r < N; r++)
      if (off[r] >= 0 && r != 5 && r != 7) {
        if (want_docs < (int)rows && (int64_t)mw_load_u64le(b + 8 * want_docs) != off[r]) bad++;
        want_docs++;
      }
    CHECK_INT(rows, want_docs);
    CHECK_INT(bad, 0);
    /* tokens: byte order, ids = rows */
    static const char *const toks[3] = {"alpha", "beta", "gamma"};
    for (int i = 0; i < 3; i++) {
      const uint8_t *p;
      size_t n;
      CHECK(bin_item(tk, tl, 0, (uint64_t)i, &p, &n) && n == strlen(toks[i]) && memcmp(p, toks[i], n) == 0);
    }
    CHECK(lt_page_buffer(tk, tl, 1, 0, 0, &rows, &b, &bl));
    CHECK(rows >= 3 && mw_load_u32le(b + 4) == 1 && mw_load_u32le(b + 8) == 2);
    /* invert: alpha in every document of rows < 300 -> 1 full block + tail */
    CHECK(lt_page_buffer(iv, il, 3, 0, 0, &rows, &b, &bl)); /* _length */
    int alpha_df = want_docs - 4;                            /* all but the xylo docs */
    CHECK_INT(mw_load_u32le(b), alpha_df);
    const uint8_t *p;
    size_t n;
    CHECK(bin_item(iv, il, 1, 0, &p, &n) && n > 4 + 4 + 1 + 1);
    if (n > 10) {
      CHECK_INT(mw_load_u32le(p + 4), 0); /* first doc id */
      uint32_t w = p[8], v[128];
      CHECK_INT(w, 1); /* deltas 0, 1, 1, ...: 1 bit */
      unpack128(p + 9, w, v);
      int ok = v[0] == 0;
      for (int i = 1; i < 128; i++) ok &= v[i] == 1;
      CHECK(ok);
      uint32_t fw = p[9 + 16 * w];
      CHECK_INT(fw, 1); /* every tf is 1 */
      unpack128(p + 10 + 16 * w, fw, v);
      ok = 1;
      for (int i = 0; i < 128; i++) ok &= v[i] == 1;
      CHECK(ok);
    }
    /* impacts of "xylo" (the last token by bytes: "w..." < "xylo"): level 0
     * and level 1 entries both = last doc, 3 pairs (1, 3) (2, 12) (3, norm 26) */
    const uint8_t *li;
    uint64_t lr, lb;
    CHECK(lt_page_buffer(iv, il, 4, 0, 0, &lr, &li, &lb)); /* _impacts list ends */
    if (lr > 0) {
      uint64_t last = lr - 1, end = mw_load_u64le(li + 8 * last), start = last ? mw_load_u64le(li + 8 * (last - 1)) : 0;
      CHECK_INT(end - start, 2); /* one block: level 0 + level 1 */
      /* varint last doc id (two bytes here), pair count 3, then per pair
       * varint((freq delta - 1) << 1 | 1) and the norm delta byte */
      uint32_t last_doc = (uint32_t)want_docs - 1;
      CHECK(last_doc >= 128 && last_doc < 16384);
      uint8_t want[9] = {(uint8_t)(0x80 | (last_doc & 0x7f)), (uint8_t)(last_doc >> 7), 3, 0x01, 3, 0x01, 9, 0x01, 14};
      for (uint64_t it = start; it < end; it++) {
        CHECK(bin_item(iv, il, 5, it, &p, &n) && n == 9 && memcmp(p, want, 9) == 0);
      }
    }
  }
  free(md);
  free(tk);
  free(dc);
  free(iv);
  mw_buf_free(&sec);
  mw_objstore_close(st);
  mw_schema_release(&s);
  mw_fts_free(f);
}

/* 200 4-d vectors, rows r % 5 == 0 dropped by dedup: auxiliary.idx (row
 * offsets, SQ8 codes over the survivors' bounds, truncated), index.idx
 * (level 0 = every node, neighbours of survivors only, sorted by squared
 * L2, degree <= 2M), the IVF buffer; then all rows dropped: no index. */
static void test_hnsw_generation(void) {
  enum { N = 200, D = 4 };
  mw_error e = {0}, *ep = &e;
  mw_hnsw *h = NULL;
  mw_hnsw_config hc = {.dim = D, .metric = MW_METRIC_L2, .seed = 7};
  CHECK_OK(mw_hnsw_create(&h, &hc, ep), ep);
  if (!h) return;
  static float vec[N][D];
  for (int r = 0; r < N; r++)
    for (int j = 0; j < D; j++) vec[r][j] = (float)((r * 37 + j * 11) % 97) / 13.0f - 3.0f;
  /* the only extremes are in rows dedup drops: the bounds must be the
   * survivors' (not the in-memory index's) */
  vec[5][0] = -50.0f;
  vec[10][3] = 60.0f;
  for (int r = 0; r < N; r++) CHECK_OK(mw_hnsw_insert(h, (uint64_t)r, vec[r], ep), ep);
  int64_t off[N];
  int64_t kept = 0;
  for (int r = 0; r < N; r++) off[r] = r % 5 == 0 ? -1 : kept++;
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 2, NULL);
  mw_schema_init(s.children[0], "l", "id", NULL, 0, 0, NULL);
  mw_schema_init(s.children[1], "+w:4", "vector", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[1]->children[0], "f", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_gen_rows g = {&s, NULL, NULL, (uint64_t)kept, off, N};
  mw_gen_index ix = {.name = "vector_idx", .column = "vector", .kind = MW_INDEX_HNSW, .hnsw = h};
  mw_objstore *st;
  CHECK_OK(mw_objstore_open(&st, "memory://gen_index_hnsw", NULL, ep), ep);
  mw_buf sec;
  mw_buf_init(&sec);
  CHECK_OK(mw_gen_index_write(&sec, st, "g", &ix, &g, 99, ep), ep);
  mw_pb_field en, fl;
  CHECK(mw_pb_find(sec.data, sec.len, 1, &en));
  CHECK(mw_pb_find(en.data, en.len, 7, &fl) && fl.val == 1);
  CHECK(mw_pb_find(en.data, en.len, 8, &fl) && fl.val == 99);
  CHECK(mw_pb_find(en.data, en.len, 2, &fl) && fl.len == 1 && fl.data[0] == 1); /* field id of vector */
  keys l = {0};
  CHECK_OK(mw_objstore_list(st, "g/_indices/", keys_cb, &l, ep), ep);
  CHECK_INT(l.n, 2);
  size_t al, xl;
  uint8_t *ax = get_suffix(st, &l, "/auxiliary.idx", &al), *hx = get_suffix(st, &l, "/index.idx", &xl);
  CHECK(ax && hx);
  if (ax && hx) {
    double lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < N; r++)
      for (int j = 0; r % 5 && j < D; j++) {
        if (vec[r][j] < lo) lo = vec[r][j];
        if (vec[r][j] > hi) hi = vec[r][j];
      }
    const uint8_t *b, *c;
    uint64_t rows, bl, cl;
    CHECK(lt_page_buffer(ax, al, 0, 0, 0, &rows, &b, &bl) && lt_page_buffer(ax, al, 1, 0, 0, &rows, &c, &cl));
    CHECK_INT(rows, kept);
    int bad = 0, k = 0;
    for (int r = 0; r < N && cl == (uint64_t)kept * D; r++) {
      if (r % 5 == 0) continue;
      if ((int64_t)mw_load_u64le(b + 8 * k) != off[r]) bad++;
      for (int j = 0; j < D; j++)
        if (c[k * D + j] != (uint8_t)(((double)vec[r][j] - lo) * 255.0 / (hi - lo))) bad++;
      k++;
    }
    CHECK_INT(bad, 0);
    CHECK(memmem(ax, al, "lance:sq", 8) && memmem(ax, al, "storage_metadata", 16) && memmem(ax, al, "distance_type", 13));
    /* the IVF protobuf in global buffer 1: offsets [0], lengths [kept], centroid [1, D] zeros */
    lt_footer ft;
    memset(&ft, 0, sizeof ft);
    CHECK(lt_footer_read(&ft, ax, al) && ft.ngb == 2);
    uint64_t gp = mw_load_u64le(ax + ft.gbo + 16), gl = mw_load_u64le(ax + ft.gbo + 24);
    mw_pb_field f2, f3, f4, sh, dt;
    CHECK(gp + gl <= al && mw_pb_find(ax + gp, gl, 2, &f2) && f2.len == 1 && f2.data[0] == 0);
    CHECK(mw_pb_find(ax + gp, gl, 3, &f3) && f3.len == 2 && (f3.data[0] | (f3.data[1] << 7)) == (128 | kept));
    CHECK(mw_pb_find(ax + gp, gl, 4, &f4) && mw_pb_find(f4.data, f4.len, 2, &sh) && sh.len == 2 && sh.data[0] == 1 &&
          sh.data[1] == D && mw_pb_find(f4.data, f4.len, 3, &dt) && dt.len == 4 * D);
    /* index.idx: level 0 lists nodes 0..kept-1; neighbours valid and sorted */
    const uint8_t *vid, *no, *ni, *dof, *di;
    uint64_t vr, nr, nir, dr, dir, x1, x2, x3, x4, x5;
    CHECK(lt_page_buffer(hx, xl, 0, 0, 0, &vr, &vid, &x1) && lt_page_buffer(hx, xl, 1, 0, 0, &nr, &no, &x2) &&
          lt_page_buffer(hx, xl, 2, 0, 0, &nir, &ni, &x3) && lt_page_buffer(hx, xl, 3, 0, 0, &dr, &dof, &x4) &&
          lt_page_buffer(hx, xl, 4, 0, 0, &dir, &di, &x5));
    CHECK(vr >= (uint64_t)kept && nr == vr && dr == vr && nir == dir);
    int order = 0, range = 0, sorted = 0, dist = 0, deg = 0;
    uint64_t prev = 0;
    for (uint64_t i = 0; i < (uint64_t)kept && i < vr; i++) {
      if (mw_load_u32le(vid + 4 * i) != i) order++;
      uint64_t end = mw_load_u64le(no + 8 * i);
      if (end - prev > 32) deg++;
      float last = -1;
      for (uint64_t p = prev; p < end && p < nir; p++) {
        uint32_t nb = mw_load_u32le(ni + 4 * p);
        float d;
        memcpy(&d, di + 4 * p, 4);
        if (nb >= (uint32_t)kept || nb == i) range++;
        if (d < last) sorted++;
        last = d;
        /* node ids map back to rows: the (nb)-th and (i)-th survivors */
        int ra = (int)(i / 4 * 5 + i % 4 + 1), rb = (int)(nb / 4 * 5 + nb % 4 + 1);
        if (nb < (uint32_t)kept && fabsf(mw_vec_distance(MW_METRIC_L2, vec[ra], vec[rb], D) - d) > 1e-4f) dist++;
      }
      prev = end;
    }
    CHECK_INT(order, 0);
    CHECK_INT(range, 0);
    CHECK_INT(sorted, 0);
    CHECK_INT(dist, 0);
    CHECK_INT(deg, 0);
    char lv[64];
    snprintf(lv, sizeof lv, "level_offsets\\\":[0,%lld,", (long long)kept);
    CHECK(memmem(hx, xl, lv, strlen(lv)) != NULL);
    CHECK(memmem(hx, xl, "IVF_HNSW_SQ", 11) && memmem(hx, xl, "fullzip", 7));
  }
  free(ax);
  free(hx);
  /* every row dropped (a generation of tombstones): no vector index */
  for (int r = 0; r < N; r++) off[r] = -1;
  mw_gen_rows g0 = {&s, NULL, NULL, 0, off, N};
  sec.len = 0;
  CHECK_OK(mw_gen_index_write(&sec, st, "g0", &ix, &g0, 99, ep), ep);
  CHECK_INT(sec.len, 0);
  keys l0 = {0};
  CHECK_OK(mw_objstore_list(st, "g0/", keys_cb, &l0, ep), ep);
  CHECK_INT(l0.n, 0);
  mw_buf_free(&sec);
  mw_objstore_close(st);
  mw_schema_release(&s);
  mw_hnsw_free(h);
}

/* ---- through a ShardWriter: the flusher writes every index ---- */

typedef struct fbatch {
  struct ArrowArray top, id, name, vec, item;
  struct ArrowArray *kids[3], *vk[1];
  const void *tb[1], *ib[2], *nb[3], *vb[1], *itb[2];
  int64_t ids[16];
  int32_t offs[17];
  char chars[256];
  float v[32];
} fbatch;

static void fb_kid_release(struct ArrowArray *a) { a->release = NULL; }
static void fb_release(struct ArrowArray *a) {
  free(a->private_data);
  a->release = NULL;
}

/* n rows {id, name "alpha w<id>", vec (id, -id)}. */
static struct ArrowArray flush_rows(const int64_t *ids, int n) {
  fbatch *b = calloc(1, sizeof *b);
  int o = 0;
  for (int i = 0; i < n; i++) {
    b->ids[i] = ids[i];
    b->offs[i] = o;
    o += snprintf(b->chars + o, sizeof b->chars - (size_t)o, "alpha w%lld", (long long)ids[i]);
    b->v[2 * i] = (float)ids[i];
    b->v[2 * i + 1] = -(float)ids[i];
  }
  b->offs[n] = o;
  b->ib[1] = b->ids;
  b->nb[1] = b->offs;
  b->nb[2] = b->chars;
  b->itb[1] = b->v;
  b->id = (struct ArrowArray){.length = n, .n_buffers = 2, .buffers = b->ib, .release = fb_kid_release};
  b->name = (struct ArrowArray){.length = n, .n_buffers = 3, .buffers = b->nb, .release = fb_kid_release};
  b->item = (struct ArrowArray){.length = 2 * n, .n_buffers = 2, .buffers = b->itb, .release = fb_kid_release};
  b->vk[0] = &b->item;
  b->vec = (struct ArrowArray){.length = n, .n_buffers = 1, .buffers = b->vb, .n_children = 1, .children = b->vk,
                               .release = fb_kid_release};
  b->kids[0] = &b->id;
  b->kids[1] = &b->name;
  b->kids[2] = &b->vec;
  b->top = (struct ArrowArray){.length = n, .n_buffers = 1, .buffers = b->tb, .n_children = 3, .children = b->kids,
                               .release = fb_release, .private_data = b};
  return b->top;
}

typedef struct manis {
  char k[4][256];
  int n;
} manis;

static int mani_cb(void *arg, const char *key, uint64_t size) {
  (void)size;
  manis *m = arg;
  if (strstr(key, "_gen_") && strstr(key, ".manifest") && m->n < 4) snprintf(m->k[m->n++], sizeof m->k[0], "%s", key);
  return 0;
}

/* The index entry names of generation `gen` ("_gen_1"), sorted, space separated. */
static void gen_index_names(char *out, size_t cap, mw_objstore *st, const char *gen) {
  manis m = {0};
  out[0] = 0;
  mw_objstore_list(st, "_mem_wal/", mani_cb, &m, NULL);
  for (int i = 0; i < m.n; i++) {
    if (!strstr(m.k[i], gen)) continue;
    size_t len;
    uint8_t *d = get_obj(st, m.k[i], &len);
    mw_lance_table_manifest *tm = NULL;
    if (d && mw_lance_table_manifest_decode(&tm, d, len, "m", NULL) == MW_OK && tm->index) {
      const char *names[8];
      size_t n = 0;
      for (size_t j = 0; j < tm->index->n_indices && n < 8; j++) names[n++] = tm->index->indices[j]->name;
      for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
          if (strcmp(names[b], names[a]) < 0) {
            const char *x = names[a];
            names[a] = names[b];
            names[b] = x;
          }
      for (size_t j = 0; j < n; j++) snprintf(out + strlen(out), cap - strlen(out), "%s%s", j ? " " : "", names[j]);
    }
    mw_lance_table_manifest_free(tm);
    mw_free(d);
  }
}

/* {id int64 (primary key), name utf8, vec fixed_size_list<float>[2]} and
 * its three indexes: BTree(id), FTS(name), HNSW(vec). */
static void flush_schema(struct ArrowSchema *s, mw_index_config ix[3]) {
  mw_schema_init(s, "+s", "", NULL, 0, 3, NULL);
  bool ok = true;
  char *md = mw_metadata_with(NULL, MW_LANCE_PK_POSITION_KEY, "1", &ok);
  mw_schema_init(s->children[0], "l", "id", md, 0, 0, NULL);
  free(md);
  mw_schema_init(s->children[1], "u", "name", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_schema_init(s->children[2], "+w:2", "vec", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s->children[2]->children[0], "f", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_index_config_init(&ix[0], "id_idx", "id", MW_INDEX_BTREE);
  mw_index_config_init(&ix[1], "name_idx", "name", MW_INDEX_FTS);
  mw_index_config_init(&ix[2], "vec_idx", "vec", MW_INDEX_HNSW);
}

static void test_flusher_writes_indexes(void) {
  mw_error e = {0}, *ep = &e;
  mw_objstore *st;
  CHECK_OK(mw_objstore_open(&st, "memory://gen_index_flush", NULL, ep), ep);
  struct ArrowSchema s;
  mw_index_config ix[3];
  flush_schema(&s, ix);
  mw_shard_writer_config cfg;
  mw_shard_writer_config_init(&cfg);
  snprintf(cfg.shard_id, sizeof cfg.shard_id, "33333333-3333-4333-8333-333333333333");
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, st, &cfg, &s, ix, 3, ep), ep);
  if (!w) goto out;
  /* 10 rows, ids 1, 2 twice: 8 survive */
  static const int64_t ids[10] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2};
  struct ArrowArray b = flush_rows(ids, 10);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, ep), ep);
  CHECK_OK(mw_shard_writer_flush_memtable(w, ep), ep);
  char names[256];
  gen_index_names(names, sizeof names, st, "_gen_1/");
  CHECK_STR(names, "id_idx name_idx vec_idx");
  /* tombstones only: no vector index (as Lance), the others stay */
  int64_t del[2] = {3, 4};
  const void *kb[2] = {NULL, del}, *kt[1] = {NULL};
  struct ArrowArray kid = {.length = 2, .n_buffers = 2, .buffers = kb, .release = fb_kid_release};
  struct ArrowArray *kk[1] = {&kid};
  struct ArrowArray dkeys = {.length = 2, .n_buffers = 1, .buffers = kt, .n_children = 1, .children = kk,
                            .release = fb_kid_release};
  CHECK_OK(mw_shard_writer_delete(NULL, w, &dkeys, NULL, ep), ep);
  CHECK_OK(mw_shard_writer_flush_memtable(w, ep), ep);
  gen_index_names(names, sizeof names, st, "_gen_2/");
  CHECK_STR(names, "id_idx name_idx");
  CHECK_OK(mw_shard_writer_close(w, ep), ep);
out:
  mw_objstore_close(st);
  mw_schema_release(&s);
}

/* Indexing a frozen MemTable fails (out of memory, injected): the flush is a
 * failure and is retried, so the generation still gets its FTS and vector
 * indexes; only once the retry policy gave up is a generation written
 * without them (and the writer keeps going). */
static void test_flush_index_failure(void) {
  mw_error e = {0}, *ep = &e;
  mw_objstore *st;
  CHECK_OK(mw_objstore_open(&st, "memory://gen_index_fail", NULL, ep), ep);
  struct ArrowSchema s;
  mw_index_config ix[3];
  flush_schema(&s, ix);
  mw_shard_writer_config cfg;
  mw_shard_writer_config_init(&cfg);
  snprintf(cfg.shard_id, sizeof cfg.shard_id, "44444444-4444-4444-8444-444444444444");
  cfg.sync_indexed_write = 0;            /* rows wait for the indexer... */
  cfg.async_index_buffer_rows = 1000000; /* ...which never runs before the flush */
  cfg.async_index_interval_ms = 3600000;
  cfg.retry_initial_backoff_ms = 1;
  cfg.retry_max_backoff_ms = 2;
  cfg.retry_max_attempts = 3;
  cfg.retry_max_elapsed_ms = 0;
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, st, &cfg, &s, ix, 3, ep), ep);
  if (!w) goto out;
  static const int64_t ids1[4] = {1, 2, 3, 4}, ids2[4] = {5, 6, 7, 8};
  struct ArrowArray b = flush_rows(ids1, 4);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, ep), ep);
  /* one failed attempt: flush_memtable reports it, the retry succeeds */
  atomic_store(&mw_memtable_test_fail_index_steps, 1);
  mw_status st1 = mw_shard_writer_flush_memtable(w, ep);
  CHECK(st1 == MW_OK || strstr(e.message, "injected") != NULL);
  if (st1 != MW_OK) CHECK_OK(mw_shard_writer_flush_memtable(w, ep), ep);
  CHECK_INT(atomic_load(&mw_memtable_test_fail_index_steps), 0);
  char names[256];
  gen_index_names(names, sizeof names, st, "_gen_1/");
  CHECK_STR(names, "id_idx name_idx vec_idx");
  mw_write_stats ws;
  mw_shard_writer_write_stats(&ws, w, 0, NULL);
  CHECK(ws.background_failures >= 1);
  /* indexing keeps failing: after 3 failed attempts the policy gives up and
   * the next attempt writes the generation without FTS / vector indexes */
  b = flush_rows(ids2, 4);
  CHECK_OK(mw_shard_writer_put(NULL, w, &b, 1, ep), ep);
  atomic_store(&mw_memtable_test_fail_index_steps, 1000000);
  mw_status st2 = MW_OK;
  for (int i = 0; i < 400; i++) { /* up to ~2 s: the retries run every 1-2 ms */
    st2 = mw_shard_writer_flush_memtable(w, ep);
    if (st2 == MW_OK) break;
    usleep(5000);
  }
  CHECK_OK(st2, ep);
  atomic_store(&mw_memtable_test_fail_index_steps, 0);
  gen_index_names(names, sizeof names, st, "_gen_2/");
  CHECK_STR(names, "id_idx");
  mw_shard_writer_write_stats(&ws, w, 0, NULL);
  CHECK(ws.background_give_ups >= 1);
  CHECK_OK(mw_shard_writer_close(w, ep), ep);
out:
  atomic_store(&mw_memtable_test_fail_index_steps, 0);
  mw_objstore_close(st);
  mw_schema_release(&s);
}

int main(void) {
  MW_RUN(test_roaring_and_field_ids);
  MW_RUN(test_btree_generation);
  MW_RUN(test_no_index_and_failures);
  MW_RUN(test_concurrent_index_failures);
  MW_RUN(test_fts_generation);
  MW_RUN(test_hnsw_generation);
  MW_RUN(test_flusher_writes_indexes);
  MW_RUN(test_flush_index_failure);
  return mw_test_finish();
}
