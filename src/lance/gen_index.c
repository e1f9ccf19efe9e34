/* gen_index.c - building a flushed generation's Lance indexes and their
 * manifest entries (layouts in gen_index.h).
 *
 * Design: one function per index kind turns the generation rows (and, for
 * FTS / HNSW, the MemTable's in-memory index remapped to generation row
 * offsets) into a list of named files held in memory; mw_gen_index_write
 * then stores every file and only afterwards appends the manifest entry
 * listing them with their exact sizes (a stale size fails in Lance with
 * "invalid magic"). No state is kept between calls; not thread-affine. */
#include "lance/gen_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/uuid.h"
#include "lance/pb.h"

#define MAX_FILES 8

typedef struct gen_file {
  char name[96];
  uint8_t *data;
  size_t len;
} gen_file;

typedef struct gen_out {
  gen_file f[MAX_FILES];
  int n;
  const char *type_url;
  mw_buf details; /* Any.value (empty = no value field) */
  int32_t index_version;
  bool created_at;
  bool list_files;
} gen_out;

static bool is_nested(const struct ArrowSchema *f) {
  return f->format && f->format[0] == '+' && (f->format[1] == 's' || f->format[1] == 'l' || f->format[1] == 'L');
}

static int32_t count_fields(const struct ArrowSchema *f) {
  int32_t n = 1;
  if (is_nested(f))
    for (int64_t i = 0; i < f->n_children; i++) n += count_fields(f->children[i]);
  return n;
}

int32_t mw_lance_top_field_id(const struct ArrowSchema *schema, int64_t col) {
  int32_t id = 0;
  for (int64_t i = 0; i < col && i < schema->n_children; i++) id += count_fields(schema->children[i]);
  return id;
}

void mw_roaring_single_zero(mw_buf *out) {
  /* cookie 12346 (no run containers), 1 container; key 0, cardinality - 1 =
   * 0; offset of the container data (16); the array container {0}. */
  mw_buf_u32le(out, 12346);
  mw_buf_u32le(out, 1);
  mw_buf_u32le(out, 0); /* u16 key 0, u16 card-1 0 */
  mw_buf_u32le(out, 16);
  mw_buf_append_zeros(out, 2);
}

static int find_column(const struct ArrowSchema *schema, const char *name) {
  for (int64_t i = 0; i < schema->n_children; i++)
    if (schema->children[i]->name && strcmp(schema->children[i]->name, name) == 0) return (int)i;
  return -1;
}

static mw_status add_file(gen_out *o, const char *name, uint8_t *data, size_t len, mw_error *err) {
  if (o->n == MAX_FILES) {
    free(data);
    return mw_err(err, MW_ERR_INVALID, "too many index files");
  }
  gen_file *f = &o->f[o->n++];
  snprintf(f->name, sizeof f->name, "%s", name);
  f->data = data;
  f->len = len;
  return MW_OK;
}

static mw_status build_btree(gen_out *o, const mw_gen_rows *g, int col, mw_error *err) {
  uint8_t *d, *l;
  size_t dl, ll;
  MW_TRY(mw_btree_index_build(&d, &dl, &l, &ll, g->schema, col, g->batches, g->rows, g->n_rows,
                              MW_BTREE_INDEX_BATCH_SIZE, err));
  mw_status s = add_file(o, "page_data.lance", d, dl, err);
  if (s == MW_OK) s = add_file(o, "page_lookup.lance", l, ll, err);
  else free(l);
  o->type_url = "/lance.table.BTreeIndexDetails";
  o->index_version = 0;
  o->created_at = true;
  o->list_files = true;
  return s;
}

mw_status mw_gen_index_write(mw_buf *section, mw_objstore *store, const char *prefix, const mw_gen_index *ix,
                             const mw_gen_rows *g, uint64_t created_ms, mw_error *err) {
  const char *iname = ix->name ? ix->name : "";
  int col = ix->column ? find_column(g->schema, ix->column) : -1;
  if (col < 0)
    return mw_err(err, MW_ERR_INVALID, "index '%s': no column '%s' in the generation schema", iname,
                  ix->column ? ix->column : "");
  gen_out o;
  memset(&o, 0, sizeof o);
  mw_buf_init(&o.details);
  mw_status s;
  switch (ix->kind) {
    case MW_INDEX_BTREE: s = build_btree(&o, g, col, err); break;
    default:
      s = mw_err(err, MW_ERR_UNSUPPORTED, "index '%s': generation index kind %d is not built yet", iname,
                 (int)ix->kind);
  }
  uint8_t uuid[16];
  char ustr[MW_UUID_STR_LEN + 1];
  if (s == MW_OK) s = mw_uuid_v4(uuid, err);
  if (s == MW_OK) mw_uuid_format(ustr, uuid);
  /* every file first: the entry is appended only once they all exist */
  for (int i = 0; s == MW_OK && i < o.n; i++) {
    char key[1024];
    int n = snprintf(key, sizeof key, "%s%s_indices/%s/%s", prefix, prefix[0] ? "/" : "", ustr, o.f[i].name);
    if (n < 0 || (size_t)n >= sizeof key) {
      s = mw_err(err, MW_ERR_INVALID, "key prefix too long");
      break;
    }
    s = mw_objstore_put_if_absent(store, key, o.f[i].data, o.f[i].len, err);
    if (s != MW_OK) mw_err_wrap(err, s, "writing %s", key);
  }
  if (s == MW_OK) {
    mw_buf e, u, bm, any, fl;
    mw_buf_init(&e); mw_buf_init(&u); mw_buf_init(&bm); mw_buf_init(&any); mw_buf_init(&fl);
    mw_pb_bytes(&u, 1, uuid, 16);
    mw_pb_msg(&e, 1, &u);
    uint64_t fid = (uint64_t)mw_lance_top_field_id(g->schema, col);
    mw_pb_packed_u64(&e, 2, &fid, 1);
    mw_pb_str(&e, 3, iname);
    mw_pb_u64(&e, 4, 1); /* dataset_version */
    mw_roaring_single_zero(&bm);
    mw_pb_msg(&e, 5, &bm);
    mw_pb_str(&any, 1, o.type_url);
    if (o.details.len) mw_pb_msg(&any, 2, &o.details);
    mw_pb_msg(&e, 6, &any);
    mw_pb_i32(&e, 7, o.index_version);
    if (o.created_at) mw_pb_u64(&e, 8, created_ms);
    if (o.list_files)
      for (int i = 0; i < o.n; i++) {
        fl.len = 0;
        mw_pb_str(&fl, 1, o.f[i].name);
        mw_pb_u64(&fl, 2, o.f[i].len);
        mw_pb_msg(&e, 10, &fl);
      }
    mw_pb_msg(section, 1, &e);
    if (!mw_buf_ok(section)) s = mw_err(err, MW_ERR_NOMEM, "out of memory encoding index '%s'", iname);
    mw_buf_free(&e); mw_buf_free(&u); mw_buf_free(&bm); mw_buf_free(&any); mw_buf_free(&fl);
  }
  for (int i = 0; i < o.n; i++) free(o.f[i].data);
  mw_buf_free(&o.details);
  if (s != MW_OK) mw_err_wrap(err, s, "generation index '%s'", iname);
  return s;
}
