/* test_table.c - reading base Lance tables (src/lance/table_manifest.c,
 * src/table/table.c): the Lance 12 reference table (fixture), the latest
 * version with stale / missing / garbage hints and V1 names, synthetic
 * manifests carrying every MemWalIndexDetails field (plus an unknown one),
 * spec derivation for every transform, shard listing, and hostile bytes
 * (truncations, bit flips, bad frames) that must fail cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/uuid.h"
#include "lance/table_manifest.h"
#include "mw_test.h"
#include "objstore/objstore.h"
#include "table/table.h"

#define FIXTURE MW_SHARED_DIR "/fixtures/lance12_reference_table.lance"
#define V(n) (UINT64_MAX - (n))

static uint8_t *read_fixture(size_t *len, uint64_t version) {
  char path[512];
  snprintf(path, sizeof path, FIXTURE "/_versions/%020llu.manifest", (unsigned long long)V(version));
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = malloc(1 << 16);
  *len = fread(buf, 1, 1 << 16, f);
  fclose(f);
  return buf;
}

static void put(mw_objstore *s, const char *key, const void *data, size_t len) {
  mw_error e = {0};
  CHECK_OK(mw_objstore_put(s, key, data, len, &e), &e);
}

static void put_version(mw_objstore *s, uint64_t v, const uint8_t *data, size_t len) {
  char key[64];
  mw_lance_manifest_key(key, sizeof key, v);
  put(s, key, data, len);
}

static void test_fixture(void) {
  mw_error e = {0};
  mw_objstore *store = NULL;
  CHECK_OK(mw_objstore_open(&store, FIXTURE, NULL, &e), &e);
  if (!store) return;
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, store, &e), &e);
  if (t) {
    CHECK_INT(t->version, 3);
    CHECK_INT(t->n_fields, 2);
    CHECK_STR(t->fields[0].path, "id");
    CHECK_INT(t->fields[0].id, 0);
    CHECK_INT(t->fields[0].parent_id, -1);
    CHECK_STR(t->fields[0].logical_type, "int64");
    CHECK(!t->fields[0].nullable);
    CHECK_STR(t->fields[1].path, "name");
    CHECK_INT(t->fields[1].id, 1);
    CHECK_STR(t->fields[1].logical_type, "string");
    CHECK(t->fields[1].nullable);
    CHECK_INT(t->n_pk, 1);
    if (t->n_pk) CHECK_STR(t->pk[0]->name, "id");
    CHECK(t->mem_wal != NULL);
    CHECK(t->spec_ok);
    CHECK_INT(t->spec.kind, MW_SHARDING_UNSHARDED);
    if (t->mem_wal) {
      CHECK_INT(t->mem_wal->num_shards, 1);
      CHECK_INT(t->mem_wal->n_sharding_specs, 1);
      CHECK_INT(t->mem_wal_index->dataset_version, 2);
      CHECK(t->mem_wal_index->has_index_version && t->mem_wal_index->index_version == 0);
      CHECK(t->mem_wal_index->created_at > 1700000000000ull); /* milliseconds */
    }
    CHECK_INT(t->n_shards, 1);
    char s[MW_UUID_STR_LEN + 1];
    if (t->n_shards) {
      mw_uuid_format(s, t->shards[0]);
      CHECK_STR(s, "aa48498d-ac91-59e2-8452-69f46010ace2");
    }
    char *json = NULL;
    CHECK_OK(mw_table_describe_json(&json, t, "x", &e), &e);
    CHECK(json && strstr(json, "\"spec\":\"unsharded\"") != NULL);
    CHECK(json && strstr(json, "\"primary_key\":[\"id\"]") != NULL);
    CHECK(json && strstr(json, "\"transform\":\"unsharded\"") != NULL);
    free(json);
  }
  mw_table_close(t);
  /* older versions: the spec was installed by the commit of version 3
   * (its entry records dataset_version 2, the version it was written
   * against), so versions 1 and 2 have no MemWAL index */
  mw_lance_table_manifest *m = NULL;
  CHECK_OK(mw_lance_table_manifest_read(&m, store, 1, &e), &e);
  CHECK(m && mw_lance_table_find_index(m, MW_MEM_WAL_INDEX_NAME) == NULL);
  mw_lance_table_manifest_free(m);
  CHECK_OK(mw_lance_table_manifest_read(&m, store, 2, &e), &e);
  CHECK(m && m->version == 2 && mw_lance_table_find_index(m, MW_MEM_WAL_INDEX_NAME) == NULL);
  if (m) {
    CHECK_INT(m->format_major, 0);
    CHECK_INT(m->format_minor, 2);
  }
  mw_lance_table_manifest_free(m);
  CHECK_INT(mw_lance_table_manifest_read(&m, store, 9, &e), MW_ERR_NOT_FOUND);
  mw_objstore_close(store);
}

static void test_latest_version(void) {
  size_t l1 = 0, l2 = 0, l3 = 0;
  uint8_t *v1 = read_fixture(&l1, 1), *v2 = read_fixture(&l2, 2), *v3 = read_fixture(&l3, 3);
  CHECK(v1 && v2 && v3);
  if (!v1 || !v2 || !v3) goto out;
  mw_error e = {0};
  mw_objstore *s = NULL;
  CHECK_OK(mw_objstore_mem_open(&s, "", &e), &e);
  uint64_t v = 0;
  CHECK_INT(mw_lance_table_latest_version(&v, s, &e), MW_ERR_NOT_FOUND);
  CHECK(strstr(e.message, "not a Lance table") != NULL);
  put_version(s, 1, v1, l1);
  put_version(s, 2, v2, l2);
  CHECK_OK(mw_lance_table_latest_version(&v, s, &e), &e); /* no hint: listing */
  CHECK_INT(v, 2);
  put_version(s, 3, v3, l3);
  put(s, "_versions/latest_version_hint.json", "{\"version\":2}", 13); /* stale */
  CHECK_OK(mw_lance_table_latest_version(&v, s, &e), &e);
  CHECK_INT(v, 3);
  put(s, "_versions/latest_version_hint.json", "{\"version\":3}", 13);
  CHECK_OK(mw_lance_table_latest_version(&v, s, &e), &e);
  CHECK_INT(v, 3);
  put(s, "_versions/latest_version_hint.json", "{\"version\":77}", 14); /* missing */
  CHECK_OK(mw_lance_table_latest_version(&v, s, &e), &e);
  CHECK_INT(v, 3);
  put(s, "_versions/latest_version_hint.json", "garbage", 7);
  CHECK_OK(mw_lance_table_latest_version(&v, s, &e), &e);
  CHECK_INT(v, 3);
  put(s, "_versions/latest_version_hint.json", "{\"version\":99999999999999999999999}", 35);
  CHECK_OK(mw_lance_table_latest_version(&v, s, &e), &e);
  CHECK_INT(v, 3);
  /* other names in _versions/ are ignored */
  put(s, "_versions/readme.txt", "x", 1);
  put(s, "_versions/12x.manifest", "x", 1);
  put(s, "_versions/sub/5.manifest", "x", 1);
  CHECK_OK(mw_lance_table_latest_version(&v, s, &e), &e);
  CHECK_INT(v, 3);
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  CHECK(t && t->version == 3 && t->n_shards == 0);
  mw_table_close(t);
  mw_objstore_close(s);

  /* V1 names ("3.manifest") */
  CHECK_OK(mw_objstore_mem_open(&s, "", &e), &e);
  put(s, "_versions/2.manifest", v2, l2);
  put(s, "_versions/3.manifest", v3, l3);
  CHECK_OK(mw_lance_table_latest_version(&v, s, &e), &e);
  CHECK_INT(v, 3);
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  CHECK(t && t->version == 3 && t->spec_ok);
  mw_table_close(t);
  /* a file whose content is another version is corrupt */
  put(s, "_versions/4.manifest", v2, l2);
  CHECK_INT(mw_table_open(&t, s, &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "holds version 2, expected 4") != NULL);
  mw_objstore_close(s);
out:
  free(v1);
  free(v2);
  free(v3);
}

static void test_hostile_manifests(void) {
  size_t len = 0;
  uint8_t *v3 = read_fixture(&len, 3);
  CHECK(v3 != NULL && len > 100);
  if (!v3) return;
  mw_error e = {0};
  mw_lance_table_manifest *m = NULL;
  CHECK_OK(mw_lance_table_manifest_decode(&m, v3, len, "k", &e), &e);
  CHECK(m && m->index && m->index->n_indices == 1);
  mw_lance_table_manifest_free(m);
  /* every truncation fails cleanly */
  int ok_trunc = 0;
  for (size_t n = 0; n < len; n++) {
    mw_status st = mw_lance_table_manifest_decode(&m, v3, n, "k", &e);
    if (st == MW_OK) ok_trunc++;
    mw_lance_table_manifest_free(m);
    m = NULL;
  }
  CHECK_INT(ok_trunc, 0);
  /* every single-byte flip either decodes or fails with CORRUPT */
  uint8_t *copy = malloc(len);
  int other = 0;
  for (size_t i = 0; i < len; i++) {
    memcpy(copy, v3, len);
    copy[i] ^= 0x5a;
    mw_status st = mw_lance_table_manifest_decode(&m, copy, len, "k", &e);
    if (st != MW_OK && st != MW_ERR_CORRUPT) other++;
    mw_lance_table_manifest_free(m);
    m = NULL;
  }
  CHECK_INT(other, 0);
  /* named failures */
  memcpy(copy, v3, len);
  copy[len - 1] = 'X';
  CHECK_INT(mw_lance_table_manifest_decode(&m, copy, len, "k", &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "LANC") != NULL);
  memcpy(copy, v3, len);
  memset(copy + len - 16, 0xff, 8); /* position -1 */
  CHECK_INT(mw_lance_table_manifest_decode(&m, copy, len, "k", &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "outside the file") != NULL);
  memcpy(copy, v3, len);
  uint64_t pos = 0;
  memcpy(&pos, v3 + len - 16, 8);
  copy[pos + 3] = 0x7f; /* manifest length far past the trailer */
  CHECK_INT(mw_lance_table_manifest_decode(&m, copy, len, "k", &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "claims") != NULL);
  memcpy(copy, v3, len);
  copy[3] = 0x7f; /* the index section frame (at 0) overruns */
  CHECK_INT(mw_lance_table_manifest_decode(&m, copy, len, "k", &e), MW_ERR_CORRUPT);
  CHECK(strstr(e.message, "index section") != NULL);
  CHECK_INT(mw_lance_table_manifest_decode(&m, NULL, 0, "k", &e), MW_ERR_CORRUPT);
  free(copy);
  free(v3);
}

/* ---- synthetic tables: manifests built with the generated protobuf-c
 * code, in Lance 12's layout [IndexSection][Manifest][trailer] */

typedef struct synth {
  const char *transform;      /* NULL = no MemWAL index */
  int32_t source_id;          /* -1 = none */
  const char *num_buckets;    /* NULL = no parameter */
  const char *column_param;   /* NULL = none */
  const char *type_url;       /* NULL = the right one */
  bool unknown_field;
} synth;

static uint8_t *pack_msg(const ProtobufCMessage *msg, size_t *len) {
  *len = protobuf_c_message_get_packed_size(msg);
  uint8_t *b = malloc(*len ? *len : 1);
  protobuf_c_message_pack(msg, b);
  return b;
}

static uint8_t *synth_manifest(size_t *out_len, uint64_t version, const synth *sp) {
  /* details */
  Lance__Table__StringEntry p_nb = LANCE__TABLE__STRING_ENTRY__INIT, p_col = LANCE__TABLE__STRING_ENTRY__INIT;
  p_nb.key = "num_buckets";
  p_nb.value = (char *)sp->num_buckets;
  p_col.key = "column";
  p_col.value = (char *)sp->column_param;
  Lance__Table__StringEntry *params[2];
  size_t n_params = 0;
  if (sp->num_buckets) params[n_params++] = &p_nb;
  if (sp->column_param) params[n_params++] = &p_col;
  Lance__Table__ShardingFieldProto sf = LANCE__TABLE__SHARDING_FIELD_PROTO__INIT;
  sf.field_id = "bucket";
  int32_t src = sp->source_id;
  if (src >= 0) {
    sf.n_source_ids = 1;
    sf.source_ids = &src;
  }
  sf.transform = (char *)sp->transform;
  sf.result_type = "int32";
  sf.n_parameters = n_params;
  sf.parameters = params;
  Lance__Table__ShardingFieldProto *sfs[1] = {&sf};
  Lance__Table__ShardingSpecProto spec = LANCE__TABLE__SHARDING_SPEC_PROTO__INIT;
  spec.has_spec_id = 1;
  spec.spec_id = 1;
  spec.n_fields = 1;
  spec.fields = sfs;
  Lance__Table__ShardingSpecProto *specs[1] = {&spec};
  uint8_t shard[16];
  mw_uuid_parse(shard, "4a388480-a25b-59a8-b058-24217f980256", NULL);
  Lance__Table__LanceUuid su = LANCE__TABLE__LANCE_UUID__INIT;
  su.has_uuid = 1;
  su.uuid.len = 16;
  su.uuid.data = shard;
  Lance__Table__CompactedSsTableProto cs = LANCE__TABLE__COMPACTED_SS_TABLE_PROTO__INIT;
  cs.shard_id = &su;
  cs.has_generation = 1;
  cs.generation = 7;
  Lance__Table__CompactedSsTableProto *css[1] = {&cs};
  Lance__Table__IndexCatchupProgressProto cu = LANCE__TABLE__INDEX_CATCHUP_PROGRESS_PROTO__INIT;
  cu.index_name = "vector_idx";
  cu.n_caught_up_generations = 1;
  cu.caught_up_generations = css;
  Lance__Table__IndexCatchupProgressProto *cus[1] = {&cu};
  Lance__Table__StringEntry w1 = LANCE__TABLE__STRING_ENTRY__INIT, w2 = LANCE__TABLE__STRING_ENTRY__INIT;
  w1.key = "durable_write";
  w1.value = "true";
  w2.key = "max_memtable_rows";
  w2.value = "1000";
  Lance__Table__StringEntry *ws[2] = {&w1, &w2};
  char *maint[2] = {"id_idx", "text_idx"};
  Lance__Table__MemWalIndexDetailsProto d = LANCE__TABLE__MEM_WAL_INDEX_DETAILS_PROTO__INIT;
  d.has_num_shards = 1;
  d.num_shards = sp->num_buckets ? 16 : 0;
  d.has_snapshot_ts_millis = 1;
  d.snapshot_ts_millis = 1234;
  d.n_sharding_specs = 1;
  d.sharding_specs = specs;
  d.n_maintained_indexes = 2;
  d.maintained_indexes = maint;
  d.n_compacted_sstables = 1;
  d.compacted_sstables = css;
  d.n_index_catchup = 1;
  d.index_catchup = cus;
  d.n_writer_config_defaults = 2;
  d.writer_config_defaults = ws;
  ProtobufCMessageUnknownField unk = {.tag = 40, .wire_type = PROTOBUF_C_WIRE_TYPE_VARINT, .len = 1,
                                      .data = (uint8_t *)"\x2a"};
  if (sp->unknown_field) {
    d.base.n_unknown_fields = 1;
    d.base.unknown_fields = &unk;
  }
  size_t dlen;
  uint8_t *dbytes = pack_msg(&d.base, &dlen);
  /* index section */
  Lance__Table__AnyProto any = LANCE__TABLE__ANY_PROTO__INIT;
  any.type_url = sp->type_url ? (char *)sp->type_url : MW_MEM_WAL_DETAILS_TYPE_URL;
  any.has_value = 1;
  any.value.len = dlen;
  any.value.data = dbytes;
  uint8_t iu[16] = {1, 2, 3};
  Lance__Table__LanceUuid iuu = LANCE__TABLE__LANCE_UUID__INIT;
  iuu.has_uuid = 1;
  iuu.uuid.len = 16;
  iuu.uuid.data = iu;
  Lance__Table__IndexMetadataProto im = LANCE__TABLE__INDEX_METADATA_PROTO__INIT;
  im.uuid = &iuu;
  im.name = MW_MEM_WAL_INDEX_NAME;
  im.has_dataset_version = 1;
  im.dataset_version = version - 1;
  im.index_details = &any;
  im.has_index_version = 1;
  im.index_version = 0;
  Lance__Table__IndexMetadataProto *ims[1] = {&im};
  Lance__Table__IndexSectionProto is = LANCE__TABLE__INDEX_SECTION_PROTO__INIT;
  is.n_indices = sp->transform ? 1 : 0;
  is.indices = ims;
  size_t ilen;
  uint8_t *ibytes = pack_msg(&is.base, &ilen);
  /* manifest: id int64 (pk), s struct { text string }, text at id 2 */
  Lance__Table__LanceField f0 = LANCE__TABLE__LANCE_FIELD__INIT, f1 = LANCE__TABLE__LANCE_FIELD__INIT,
                           f2 = LANCE__TABLE__LANCE_FIELD__INIT, f3 = LANCE__TABLE__LANCE_FIELD__INIT;
  f0.name = "id"; f0.has_id = 1; f0.id = 0; f0.has_parent_id = 1; f0.parent_id = -1; f0.logical_type = "int64";
  f0.has_unenforced_primary_key = 1; f0.unenforced_primary_key = 1;
  f0.has_unenforced_primary_key_position = 1; f0.unenforced_primary_key_position = 2;
  f1.name = "s"; f1.has_id = 1; f1.id = 1; f1.has_parent_id = 1; f1.parent_id = -1; f1.logical_type = "struct";
  f1.has_nullable = 1; f1.nullable = 1;
  f2.name = "text"; f2.has_id = 1; f2.id = 2; f2.has_parent_id = 1; f2.parent_id = 1; f2.logical_type = "string";
  f3.name = "region"; f3.has_id = 1; f3.id = 3; f3.has_parent_id = 1; f3.parent_id = -1; f3.logical_type = "string";
  f3.has_unenforced_primary_key = 1; f3.unenforced_primary_key = 1;
  f3.has_unenforced_primary_key_position = 1; f3.unenforced_primary_key_position = 1;
  Lance__Table__LanceField *fs[4] = {&f0, &f1, &f2, &f3};
  Lance__Table__TableManifest tm = LANCE__TABLE__TABLE_MANIFEST__INIT;
  tm.n_fields = 4;
  tm.fields = fs;
  tm.has_version = 1;
  tm.version = version;
  tm.has_index_section = 1;
  tm.index_section = 0;
  size_t mlen;
  uint8_t *mbytes = pack_msg(&tm.base, &mlen);
  size_t total = 4 + ilen + 4 + mlen + 16;
  uint8_t *f = malloc(total);
  uint32_t l32 = (uint32_t)ilen;
  memcpy(f, &l32, 4);
  memcpy(f + 4, ibytes, ilen);
  uint64_t mpos = 4 + ilen;
  l32 = (uint32_t)mlen;
  memcpy(f + mpos, &l32, 4);
  memcpy(f + mpos + 4, mbytes, mlen);
  memcpy(f + total - 16, &mpos, 8);
  memcpy(f + total - 8, "\0\0\2\0LANC", 8);
  free(dbytes);
  free(ibytes);
  free(mbytes);
  *out_len = total;
  return f;
}

static mw_table *open_synth(const synth *sp, mw_status want, mw_error *e) {
  mw_objstore *s = NULL;
  CHECK_OK(mw_objstore_mem_open(&s, "", e), e);
  size_t len;
  uint8_t *f = synth_manifest(&len, 5, sp);
  put_version(s, 5, f, len);
  free(f);
  put(s, "_mem_wal/4a388480-a25b-59a8-b058-24217f980256/manifest/x", "m", 1);
  put(s, "_mem_wal/4a388480-a25b-59a8-b058-24217f980256/wal/y", "w", 1);
  put(s, "_mem_wal/1d8d46d4-1ffd-5f6e-9aea-466d5ea76fdb/wal/y", "w", 1);
  put(s, "_mem_wal/not-a-uuid/wal/y", "w", 1);
  put(s, "_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2x/wal/y", "w", 1);
  mw_table *t = NULL;
  mw_status st = mw_table_open(&t, s, e);
  CHECK_INT(st, want);
  mw_objstore_close(s);
  return t;
}

static void test_synthetic_mem_wal(void) {
  mw_error e = {0};
  synth sp = {.transform = "bucket", .source_id = 0, .num_buckets = "16", .unknown_field = true};
  mw_table *t = open_synth(&sp, MW_OK, &e);
  if (!t) return;
  CHECK_INT(t->version, 5);
  CHECK(t->spec_ok);
  CHECK_INT(t->spec.kind, MW_SHARDING_BUCKET);
  CHECK_STR(t->spec.column, "id");
  CHECK_INT(t->spec.num_buckets, 16);
  /* nested path; primary key in position order (region, then id) */
  CHECK_INT(t->n_fields, 4);
  CHECK_STR(t->fields[2].path, "s.text");
  CHECK_INT(t->n_pk, 2);
  if (t->n_pk == 2) {
    CHECK_STR(t->pk[0]->name, "region");
    CHECK_STR(t->pk[1]->name, "id");
  }
  const Lance__Table__MemWalIndexDetailsProto *d = t->mem_wal;
  CHECK(d != NULL);
  if (d) {
    CHECK_INT(d->num_shards, 16);
    CHECK_INT(d->snapshot_ts_millis, 1234);
    CHECK_INT(d->n_maintained_indexes, 2);
    CHECK_INT(d->n_compacted_sstables, 1);
    CHECK_INT(d->n_index_catchup, 1);
    CHECK_INT(d->n_writer_config_defaults, 2);
    CHECK_INT(d->base.n_unknown_fields, 1); /* kept for a rewrite */
    size_t len;
    uint8_t *again = pack_msg(&d->base, &len);
    CHECK(len >= 3 && memcmp(again + len - 3, "\xc0\x02\x2a", 3) == 0); /* tag 40 varint 42 */
    free(again);
  }
  CHECK_INT(t->n_shards, 2);
  char *json = NULL;
  CHECK_OK(mw_table_describe_json(&json, t, NULL, &e), &e);
  const char *want[] = {
    "\"spec\":\"bucket:id:16\"", "\"primary_key\":[\"region\",\"id\"]", "\"name\":\"s.text\"",
    "\"maintained_indexes\":[\"id_idx\",\"text_idx\"]",
    "\"compacted_sstables\":[{\"shard\":\"4a388480-a25b-59a8-b058-24217f980256\",\"generation\":7}]",
    "\"index_catchup\":[{\"index_name\":\"vector_idx\",\"caught_up_generations\":[{\"shard\":\"4a388480-a25b-59a8-b058-24217f980256\",\"generation\":7}]}]",
    "\"writer_config_defaults\":{\"durable_write\":\"true\",\"max_memtable_rows\":\"1000\"}",
    "\"parameters\":{\"num_buckets\":\"16\"}", "\"source_ids\":[0]", "\"unknown_fields\":1",
    "\"shards\":[\"1d8d46d4-1ffd-5f6e-9aea-466d5ea76fdb\",\"4a388480-a25b-59a8-b058-24217f980256\"]"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    CHECK(json && strstr(json, want[i]) != NULL);
    if (json && !strstr(json, want[i])) fprintf(stderr, "  missing %s in %s\n", want[i], json);
  }
  free(json);
  mw_table_close(t);

  /* identity over a nested source; a "column" parameter wins over source ids */
  synth id = {.transform = "identity", .source_id = 2};
  t = open_synth(&id, MW_OK, &e);
  CHECK(t && t->spec_ok && t->spec.kind == MW_SHARDING_IDENTITY && strcmp(t->spec.column, "s.text") == 0);
  mw_table_close(t);
  synth col = {.transform = "identity", .source_id = 2, .column_param = "region"};
  t = open_synth(&col, MW_OK, &e);
  CHECK(t && t->spec_ok && strcmp(t->spec.column, "region") == 0);
  mw_table_close(t);
  /* specs we cannot route still open, with the reason */
  const synth bad[] = {
    {.transform = "hash", .source_id = 0},
    {.transform = "bucket", .source_id = 0, .num_buckets = "0"},
    {.transform = "bucket", .source_id = 0, .num_buckets = "2048"},
    {.transform = "bucket", .source_id = 0},
    {.transform = "bucket", .source_id = 9, .num_buckets = "4"},
    {.transform = "identity", .source_id = -1},
  };
  const char *why[] = {"unsupported sharding transform 'hash'", "num_buckets '0'", "num_buckets '2048'",
                       "num_buckets '(missing)'", "source id 9", "no source column"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    t = open_synth(&bad[i], MW_OK, &e);
    CHECK(t && !t->spec_ok);
    if (t) CHECK(strstr(t->spec_error, why[i]) != NULL);
    char *j = NULL;
    if (t) mw_table_describe_json(&j, t, NULL, &e);
    CHECK(j && strstr(j, "\"spec\":{\"error\":") != NULL);
    free(j);
    mw_table_close(t);
  }
  /* no MemWAL index: spec null */
  synth none = {0};
  t = open_synth(&none, MW_OK, &e);
  CHECK(t && t->mem_wal == NULL);
  char *j = NULL;
  if (t) mw_table_describe_json(&j, t, NULL, &e);
  CHECK(j && strstr(j, "\"spec\":null,\"mem_wal\":null") != NULL);
  free(j);
  mw_table_close(t);
  /* details of another type are corrupt */
  synth wrong = {.transform = "bucket", .source_id = 0, .num_buckets = "4", .type_url = "/lance.table.Other"};
  t = open_synth(&wrong, MW_ERR_CORRUPT, &e);
  CHECK(t == NULL);
  CHECK(strstr(e.message, "lance.table.Other") != NULL);
}

static void test_describe_escapes(void) {
  /* a field name with quotes, a control byte and invalid UTF-8 renders as
   * valid JSON */
  mw_error e = {0};
  synth sp = {.transform = "unsharded"};
  mw_table *t = open_synth(&sp, MW_OK, &e);
  if (!t) return;
  t->fields[3].path[0] = '"';
  t->fields[3].path[1] = '\x01';
  t->fields[3].path[2] = (char)0xff;
  char *j = NULL;
  CHECK_OK(mw_table_describe_json(&j, t, NULL, &e), &e);
  CHECK(j && strstr(j, "\"name\":\"\\\"\\u0001\xef\xbf\xbdion\"") != NULL);
  free(j);
  mw_table_close(t);
}

int main(void) {
  MW_RUN(test_fixture);
  MW_RUN(test_latest_version);
  MW_RUN(test_hostile_manifests);
  MW_RUN(test_synthetic_mem_wal);
  MW_RUN(test_describe_escapes);
  return mw_test_finish();
}
