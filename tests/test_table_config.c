/* test_table_config.c - the public table API (memwal.h "tables") and
 * creating / configuring tables without LanceDB (src/table/table_api.c,
 * table_config.c, src/lance/table_manifest_write.c): create -> open round
 * trips (schema with field ids and key metadata, primary key from names or
 * field metadata), set-spec for all three kinds, twice and more (spec id 1,
 * one MemWAL index entry, the replaced one removed in the transaction), writer
 * defaults raw and applied, unknown fields of the manifest / details /
 * other index entries surviving a rewrite, lost commit races (retry, then
 * MW_ERR_CONFLICT), the Lance 12 fixture through the accessors, Lance logical
 * type mapping, and hostile inputs failing cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "lance/table_manifest.h"
#include "lance/table_manifest_write.h"
#include "mw_test.h"
#include "objstore/objstore.h"
#include "table/table.h"

static int store_seq = 0;

static mw_objstore *mem_store(void) {
  char uri[64];
  snprintf(uri, sizeof uri, "memory://table_config_%d", store_seq++);
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_open(&s, uri, NULL, &e), &e);
  return s;
}

static char *md1(const char *k, const char *v) {
  bool ok = true;
  mw_kv kv = {k, (int32_t)strlen(k), v, (int32_t)strlen(v)};
  return mw_metadata_build(&kv, 1, &ok);
}

/* id int64 not null, name utf8, s struct{a int32, b utf8}, v fsl<f32>[4],
 * ts timestamp[us, UTC]; schema metadata k=v. id_md / name_md: field
 * metadata (may be NULL); name_nullable. */
static void make_schema(struct ArrowSchema *s, const char *id_md, const char *name_md, bool name_nullable) {
  mw_error e = {0};
  char *top = md1("k", "v");
  CHECK_OK(mw_schema_init(s, "+s", "", top, 0, 5, &e), &e);
  free(top);
  CHECK_OK(mw_schema_init(s->children[0], "l", "id", id_md, 0, 0, &e), &e);
  CHECK_OK(mw_schema_init(s->children[1], "u", "name", name_md, name_nullable ? ARROW_FLAG_NULLABLE : 0, 0, &e), &e);
  CHECK_OK(mw_schema_init(s->children[2], "+s", "s", NULL, ARROW_FLAG_NULLABLE, 2, &e), &e);
  CHECK_OK(mw_schema_init(s->children[2]->children[0], "i", "a", NULL, ARROW_FLAG_NULLABLE, 0, &e), &e);
  CHECK_OK(mw_schema_init(s->children[2]->children[1], "u", "b", NULL, ARROW_FLAG_NULLABLE, 0, &e), &e);
  CHECK_OK(mw_schema_init(s->children[3], "+w:4", "v", NULL, ARROW_FLAG_NULLABLE, 1, &e), &e);
  CHECK_OK(mw_schema_init(s->children[3]->children[0], "f", "item", NULL, ARROW_FLAG_NULLABLE, 0, &e), &e);
  CHECK_OK(mw_schema_init(s->children[4], "tsu:UTC", "ts", NULL, ARROW_FLAG_NULLABLE, 0, &e), &e);
}

static bool meta_is(const struct ArrowSchema *f, const char *key, const char *want) {
  mw_kv kv;
  if (!f->metadata || !mw_metadata_find(f->metadata, key, &kv)) return want == NULL;
  return want && (size_t)kv.value_len == strlen(want) && memcmp(kv.value, want, strlen(want)) == 0;
}

static size_t count_prefix(mw_objstore *s, const char *prefix);

static int count_cb(void *arg, const char *key, uint64_t size) {
  (void)key;
  (void)size;
  (*(size_t *)arg)++;
  return 0;
}

static size_t count_prefix(mw_objstore *s, const char *prefix) {
  size_t n = 0;
  mw_error e = {0};
  CHECK_OK(mw_objstore_list(s, prefix, count_cb, &n, &e), &e);
  return n;
}

static mw_lance_table_manifest *read_version(mw_objstore *s, uint64_t v) {
  mw_lance_table_manifest *m = NULL;
  mw_error e = {0};
  CHECK_OK(mw_lance_table_manifest_read(&m, s, v, &e), &e);
  return m;
}

static void test_create_round_trip(void) {
  mw_objstore *s = mem_store();
  if (!s) return;
  struct ArrowSchema in;
  make_schema(&in, NULL, NULL, true);
  mw_error e = {0};
  const char *pk[] = {"id"};
  CHECK_OK(mw_table_create(s, &in, pk, 1, &e), &e);
  CHECK_INT(mw_table_create(s, &in, pk, 1, &e), MW_ERR_ALREADY_EXISTS);
  uint8_t *hint = NULL;
  size_t hl = 0;
  CHECK_OK(mw_objstore_get(s, &hint, &hl, "_versions/latest_version_hint.json", 0, MW_OBJSTORE_TO_END, &e), &e);
  CHECK(hint && hl == 13 && memcmp(hint, "{\"version\":1}", 13) == 0);
  mw_free(hint);
  CHECK_INT(count_prefix(s, "_transactions/0-"), 1);
  CHECK_INT(count_prefix(s, "_versions/"), 2);

  /* the manifest as LanceDB writes it: Overwrite transaction inline at 0 */
  mw_lance_table_manifest *m = read_version(s, 1);
  if (m) {
    CHECK(m->index == NULL);
    CHECK(m->pb->has_transaction_section && m->pb->transaction_section == 0);
    CHECK(m->pb->transaction_file && strncmp(m->pb->transaction_file, "0-", 2) == 0);
    CHECK(m->pb->data_format && strcmp(m->pb->data_format->version, "2.2") == 0);
    CHECK_INT(m->pb->n_fields, 7);
    const Lance__Table__LanceField *id = m->pb->fields[0];
    CHECK(id->unenforced_primary_key && id->unenforced_primary_key_position == 1);
    CHECK(id->n_metadata == 1 && strcmp(id->metadata[0]->key, "lance-schema:unenforced-primary-key:position") == 0 &&
          id->metadata[0]->value.len == 1 && id->metadata[0]->value.data[0] == '1');
    CHECK(!m->pb->fields[1]->unenforced_primary_key);
  }
  mw_lance_table_manifest_free(m);

  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    CHECK_INT(mw_table_version(t), 1);
    CHECK_INT(mw_table_primary_key_count(t), 1);
    CHECK_STR(mw_table_primary_key(t, 0), "id");
    CHECK(mw_table_primary_key(t, 1) == NULL);
    char buf[512];
    int routable = 7;
    CHECK_INT(mw_table_sharding_spec(buf, sizeof buf, &routable, t, &e), MW_ERR_NOT_FOUND);
    CHECK_INT(routable, 0);
    CHECK_INT(mw_table_maintained_index_count(t), 0);
    CHECK_INT(mw_table_writer_default_count(t), 0);
    CHECK_INT(mw_table_shard_count(t), 0);
    CHECK_INT(mw_table_shard_id(buf, t, 0, &e), MW_ERR_INVALID);
    struct ArrowSchema out;
    CHECK_OK(mw_table_schema(&out, t, &e), &e);
    if (out.release) {
      CHECK(mw_schema_equal(&out, &in, false));
      CHECK(meta_is(&out, "k", "v"));
      CHECK(meta_is(out.children[0], "lance:field_id", "0"));
      CHECK(meta_is(out.children[0], "lance-schema:unenforced-primary-key:position", "1"));
      CHECK(meta_is(out.children[1], "lance:field_id", "1"));
      CHECK(meta_is(out.children[1], "lance-schema:unenforced-primary-key:position", NULL));
      CHECK(meta_is(out.children[2]->children[1], "lance:field_id", "4"));
      CHECK(meta_is(out.children[3], "lance:field_id", "5"));
      CHECK(meta_is(out.children[4], "lance:field_id", "6"));
      CHECK_STR(out.children[4]->format, "tsu:UTC");
      out.release(&out);
    }
    mw_table_close(t);
  }
  mw_schema_release(&in);
  mw_objstore_close(s);
}

static void test_pk_sources(void) {
  mw_error e = {0};
  /* from position metadata: name (1) then id (2) */
  char *p1 = md1("lance-schema:unenforced-primary-key:position", "2");
  char *p2 = md1("lance-schema:unenforced-primary-key:position", "1");
  struct ArrowSchema sc;
  make_schema(&sc, p1, p2, false);
  mw_objstore *s = mem_store();
  CHECK_OK(mw_table_create(s, &sc, NULL, 0, &e), &e);
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    CHECK_INT(mw_table_primary_key_count(t), 2);
    CHECK_STR(mw_table_primary_key(t, 0), "name");
    CHECK_STR(mw_table_primary_key(t, 1), "id");
  }
  mw_table_close(t);
  mw_objstore_close(s);
  mw_schema_release(&sc);
  free(p1);
  free(p2);
  /* from the boolean key (field order); position metadata added */
  char *b = md1("lance-schema:unenforced-primary-key", "true");
  make_schema(&sc, b, NULL, true);
  s = mem_store();
  CHECK_OK(mw_table_create(s, &sc, NULL, 0, &e), &e);
  t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    CHECK_INT(mw_table_primary_key_count(t), 1);
    CHECK_STR(mw_table_primary_key(t, 0), "id");
    struct ArrowSchema out;
    CHECK_OK(mw_table_schema(&out, t, &e), &e);
    if (out.release) {
      CHECK(meta_is(out.children[0], "lance-schema:unenforced-primary-key", "true"));
      CHECK(meta_is(out.children[0], "lance-schema:unenforced-primary-key:position", "1"));
      out.release(&out);
    }
  }
  mw_table_close(t);
  mw_objstore_close(s);
  mw_schema_release(&sc);
  free(b);
  /* no key at all is fine */
  make_schema(&sc, NULL, NULL, true);
  s = mem_store();
  CHECK_OK(mw_table_create(s, &sc, NULL, 0, &e), &e);
  t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) CHECK_INT(mw_table_primary_key_count(t), 0);
  mw_table_close(t);
  /* refused keys: nullable, missing, nested, twice; nothing written */
  mw_objstore *s2 = mem_store();
  const char *nullable[] = {"name"}, *missing[] = {"nope"}, *nested[] = {"s"}, *twice[] = {"id", "id"};
  CHECK_INT(mw_table_create(s2, &sc, nullable, 1, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "nullable") != NULL);
  CHECK_INT(mw_table_create(s2, &sc, missing, 1, &e), MW_ERR_INVALID);
  CHECK_INT(mw_table_create(s2, &sc, nested, 1, &e), MW_ERR_INVALID);
  CHECK_INT(mw_table_create(s2, &sc, twice, 2, &e), MW_ERR_INVALID);
  char *bad = md1("lance-schema:unenforced-primary-key:position", "x1");
  struct ArrowSchema sb;
  make_schema(&sb, bad, NULL, true);
  CHECK_INT(mw_table_create(s2, &sb, NULL, 0, &e), MW_ERR_INVALID);
  CHECK_INT(count_prefix(s2, ""), 0);
  mw_schema_release(&sb);
  free(bad);
  mw_objstore_close(s2);
  mw_objstore_close(s);
  mw_schema_release(&sc);
}

static mw_objstore *created(void) {
  mw_objstore *s = mem_store();
  struct ArrowSchema sc;
  make_schema(&sc, NULL, NULL, true);
  mw_error e = {0};
  const char *pk[] = {"id"};
  CHECK_OK(mw_table_create(s, &sc, pk, 1, &e), &e);
  mw_schema_release(&sc);
  return s;
}

static void check_spec(mw_objstore *s, uint64_t version, const char *spec, uint32_t spec_id, uint32_t num_shards) {
  mw_error e = {0};
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (!t) return;
  CHECK_INT(mw_table_version(t), version);
  char buf[512];
  int routable = 0;
  CHECK_OK(mw_table_sharding_spec(buf, sizeof buf, &routable, t, &e), &e);
  CHECK_INT(routable, 1);
  CHECK_STR(buf, spec);
  CHECK_INT(mw_table_sharding_spec(buf, 4, &routable, t, &e), MW_ERR_INVALID);
  const Lance__Table__MemWalIndexDetailsProto *d = t->mem_wal;
  if (d && d->n_sharding_specs == 1) {
    CHECK_INT(d->sharding_specs[0]->spec_id, spec_id);
    CHECK_INT(d->num_shards, num_shards);
    CHECK_INT(d->has_num_shards, num_shards != 0);
    CHECK_STR(d->sharding_specs[0]->fields[0]->field_id, "bucket");
  } else {
    CHECK(!"one sharding spec");
  }
  /* exactly one MemWAL entry, against the previous version */
  size_t n = 0;
  for (size_t i = 0; t->manifest->index && i < t->manifest->index->n_indices; i++)
    if (strcmp(t->manifest->index->indices[i]->name, MW_MEM_WAL_INDEX_NAME) == 0) n++;
  CHECK_INT(n, 1);
  CHECK_INT(t->mem_wal_index->dataset_version, version - 1);
  CHECK(t->mem_wal_index->has_index_version && t->mem_wal_index->index_version == 0);
  mw_table_close(t);
}

static int first_key_cb(void *arg, const char *key, uint64_t size) {
  (void)size;
  snprintf(arg, 256, "%s", key);
  return 1;
}

/* The transaction file committed on top of read version rv. */
static Lance__Table__TransactionProto *read_txn(mw_objstore *s, uint64_t rv) {
  char prefix[64], key[256] = "";
  snprintf(prefix, sizeof prefix, "_transactions/%llu-", (unsigned long long)rv);
  mw_error e = {0};
  (void)mw_objstore_list(s, prefix, first_key_cb, key, &e);
  uint8_t *data = NULL;
  size_t len = 0;
  CHECK_OK(mw_objstore_get(s, &data, &len, key, 0, MW_OBJSTORE_TO_END, &e), &e);
  Lance__Table__TransactionProto *t = data ? lance__table__transaction_proto__unpack(NULL, len, data) : NULL;
  CHECK(t != NULL);
  mw_free(data);
  return t;
}

static void test_set_spec(void) {
  mw_objstore *s = created();
  mw_error e = {0};
  const mw_table_kv defs[] = {{"max_memtable_rows", "1000"}, {"durable_write", "false"}, {"hnsw.v.num_edges", "8"}};
  CHECK_OK(mw_table_set_lsm_spec(s, "bucket:id:4", NULL, 0, defs, 3, &e), &e);
  check_spec(s, 2, "bucket:id:4", 1, 4);
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    CHECK_INT(mw_table_writer_default_count(t), 3);
    const char *k = NULL, *v = NULL;
    CHECK_OK(mw_table_writer_default(&k, &v, t, 0, &e), &e);
    CHECK_STR(k, "durable_write"); /* sorted by key */
    CHECK_STR(v, "false");
    CHECK_OK(mw_table_writer_default(&k, &v, t, 2, &e), &e);
    CHECK_STR(k, "max_memtable_rows");
    CHECK_INT(mw_table_writer_default(&k, &v, t, 3, &e), MW_ERR_INVALID);
    mw_shard_writer_config cfg;
    mw_shard_writer_config_init(&cfg);
    CHECK_OK(mw_table_apply_writer_defaults(&cfg, t, &e), &e);
    CHECK_INT(cfg.durable_write, 0);
    CHECK_INT(cfg.max_memtable_rows, 1000);
    const Lance__Table__ShardingFieldProto *f = t->mem_wal->sharding_specs[0]->fields[0];
    CHECK_STR(f->transform, "bucket");
    CHECK_STR(f->result_type, "int32");
    CHECK(f->n_source_ids == 1 && f->source_ids[0] == 0);
    CHECK(f->n_parameters == 1 && strcmp(f->parameters[0]->key, "num_buckets") == 0 &&
          strcmp(f->parameters[0]->value, "4") == 0);
    char *json = NULL;
    CHECK_OK(mw_table_describe_json(&json, t, "x", &e), &e);
    CHECK(json && strstr(json, "\"spec\":\"bucket:id:4\"") && strstr(json, "\"durable_write\":\"false\""));
    mw_free(json);
  }
  mw_table_close(t);
  /* replacing: the same spec, then others, always spec id 1 (what Lance 12
   * writers demand) */
  CHECK_OK(mw_table_set_lsm_spec(s, "bucket:id:4", NULL, 0, NULL, 0, &e), &e);
  check_spec(s, 3, "bucket:id:4", 1, 4);
  CHECK_OK(mw_table_set_lsm_spec(s, "identity:name", NULL, 0, NULL, 0, &e), &e);
  check_spec(s, 4, "identity:name", 1, 0);
  CHECK_OK(mw_table_set_lsm_spec(s, "unsharded", NULL, 0, NULL, 0, &e), &e);
  check_spec(s, 5, "unsharded", 1, 1);
  t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    const Lance__Table__ShardingFieldProto *f = t->mem_wal->sharding_specs[0]->fields[0];
    CHECK_STR(f->transform, "unsharded");
    CHECK_INT(f->n_source_ids, 0);
    CHECK_INT(mw_table_writer_default_count(t), 0);
  }
  mw_table_close(t);
  mw_lance_table_manifest *m4 = read_version(s, 4);
  if (m4) {
    const Lance__Table__IndexMetadataProto *x = mw_lance_table_find_index(m4, MW_MEM_WAL_INDEX_NAME);
    const Lance__Table__ShardingFieldProto *f = NULL;
    Lance__Table__MemWalIndexDetailsProto *d =
        lance__table__mem_wal_index_details_proto__unpack(NULL, x->index_details->value.len, x->index_details->value.data);
    if (d) f = d->sharding_specs[0]->fields[0];
    CHECK(f && strcmp(f->result_type, "utf8") == 0 && f->n_source_ids == 1 && f->source_ids[0] == 1);
    if (d) lance__table__mem_wal_index_details_proto__free_unpacked(d, NULL);
  }
  mw_lance_table_manifest_free(m4);
  CHECK_INT(count_prefix(s, "_transactions/"), 5);
  /* CreateIndex transactions: the first removes nothing, later ones the
   * entry they replace; read versions and the manifest's file name agree */
  Lance__Table__TransactionProto *x1 = read_txn(s, 1), *x3 = read_txn(s, 3);
  if (x1) {
    CHECK(x1->has_read_version && x1->read_version == 1);
    CHECK(x1->create_index && x1->create_index->n_new_indices == 1 && x1->create_index->n_removed_indices == 0);
    lance__table__transaction_proto__free_unpacked(x1, NULL);
  }
  mw_lance_table_manifest *m3 = read_version(s, 3), *m4b = read_version(s, 4);
  if (x3 && m3 && m4b) {
    CHECK(x3->create_index && x3->create_index->n_removed_indices == 1);
    const Lance__Table__IndexMetadataProto *was = mw_lance_table_find_index(m3, MW_MEM_WAL_INDEX_NAME);
    const Lance__Table__IndexMetadataProto *now = mw_lance_table_find_index(m4b, MW_MEM_WAL_INDEX_NAME);
    if (x3->create_index && x3->create_index->n_removed_indices == 1 && was && now) {
      CHECK(memcmp(x3->create_index->removed_indices[0]->uuid->uuid.data, was->uuid->uuid.data, 16) == 0);
      CHECK(memcmp(x3->create_index->new_indices[0]->uuid->uuid.data, now->uuid->uuid.data, 16) == 0);
      CHECK(memcmp(was->uuid->uuid.data, now->uuid->uuid.data, 16) != 0);
    }
    char want[80];
    snprintf(want, sizeof want, "3-%s.txn", x3->uuid);
    CHECK_STR(m4b->pb->transaction_file, want);
  }
  if (x3) lance__table__transaction_proto__free_unpacked(x3, NULL);
  mw_lance_table_manifest_free(m3);
  mw_lance_table_manifest_free(m4b);
  CHECK_INT(count_prefix(s, "_transactions/3-"), 1);

  /* refused, with nothing committed */
  CHECK_INT(mw_table_set_lsm_spec(s, "bucket:nope:4", NULL, 0, NULL, 0, &e), MW_ERR_INVALID);
  CHECK_INT(mw_table_set_lsm_spec(s, "bucket:id:0", NULL, 0, NULL, 0, &e), MW_ERR_INVALID);
  CHECK_INT(mw_table_set_lsm_spec(s, "range:id", NULL, 0, NULL, 0, &e), MW_ERR_INVALID);
  CHECK_INT(mw_table_set_lsm_spec(s, "bucket:s:4", NULL, 0, NULL, 0, &e), MW_ERR_UNSUPPORTED);
  CHECK_INT(mw_table_set_lsm_spec(s, "identity:v", NULL, 0, NULL, 0, &e), MW_ERR_UNSUPPORTED);
  const char *nope[] = {"id_idx"};
  CHECK_INT(mw_table_set_lsm_spec(s, "unsharded", nope, 1, NULL, 0, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "id_idx") != NULL);
  const mw_table_kv dup[] = {{"a", "1"}, {"a", "2"}};
  CHECK_INT(mw_table_set_lsm_spec(s, "unsharded", NULL, 0, dup, 2, &e), MW_ERR_INVALID);
  const mw_table_kv bad_value[] = {{"max_memtable_rows", "lots"}};
  CHECK_OK(mw_table_set_lsm_spec(s, "unsharded", NULL, 0, bad_value, 1, &e), &e);
  t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    CHECK_INT(mw_table_version(t), 6);
    mw_shard_writer_config cfg;
    mw_shard_writer_config_init(&cfg);
    uint64_t before = cfg.max_memtable_rows;
    CHECK_INT(mw_table_apply_writer_defaults(&cfg, t, &e), MW_ERR_INVALID);
    CHECK(strstr(e.message, "max_memtable_rows") != NULL);
    CHECK_INT(cfg.max_memtable_rows, before);
  }
  mw_table_close(t);
  /* no table */
  mw_objstore *empty = mem_store();
  CHECK_INT(mw_table_set_lsm_spec(empty, "unsharded", NULL, 0, NULL, 0, &e), MW_ERR_NOT_FOUND);
  mw_objstore_close(empty);
  mw_objstore_close(s);
}

/* Rewrites the latest version as version + 1 with an unknown manifest
 * field (tag 99), an extra index entry "id_idx" carrying an unknown field
 * (tag 50), and an unknown field (tag 40) in the MemWAL details. */
static void inject_unknowns(mw_objstore *s) {
  mw_error e = {0};
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (!t) return;
  static uint8_t v42[] = {0x2a};
  ProtobufCMessageUnknownField uf_m = {99, PROTOBUF_C_WIRE_TYPE_VARINT, 1, v42};
  ProtobufCMessageUnknownField uf_i = {50, PROTOBUF_C_WIRE_TYPE_VARINT, 1, v42};
  ProtobufCMessageUnknownField uf_d = {40, PROTOBUF_C_WIRE_TYPE_VARINT, 1, v42};
  Lance__Table__MemWalIndexDetailsProto d = *t->mem_wal;
  d.base.n_unknown_fields = 1;
  d.base.unknown_fields = &uf_d;
  size_t dl = lance__table__mem_wal_index_details_proto__get_packed_size(&d);
  uint8_t *db = malloc(dl);
  lance__table__mem_wal_index_details_proto__pack(&d, db);
  Lance__Table__AnyProto any = *t->mem_wal_index->index_details;
  any.value.data = db;
  any.value.len = dl;
  Lance__Table__IndexMetadataProto mw = *t->mem_wal_index;
  mw.index_details = &any;
  Lance__Table__AnyProto bt_any = LANCE__TABLE__ANY_PROTO__INIT;
  bt_any.type_url = (char *)"/lance.table.BTreeIndexDetails";
  Lance__Table__IndexMetadataProto bt = LANCE__TABLE__INDEX_METADATA_PROTO__INIT;
  bt.name = (char *)"id_idx";
  bt.index_details = &bt_any;
  bt.base.n_unknown_fields = 1;
  bt.base.unknown_fields = &uf_i;
  Lance__Table__IndexMetadataProto *ix[2] = {&mw, &bt};
  Lance__Table__IndexSectionProto sec = LANCE__TABLE__INDEX_SECTION_PROTO__INIT;
  sec.n_indices = 2;
  sec.indices = ix;
  Lance__Table__TransactionProto txn = LANCE__TABLE__TRANSACTION_PROTO__INIT;
  txn.uuid = (char *)"00000000-0000-4000-8000-000000000000";
  Lance__Table__TableManifest m = *t->manifest->pb;
  m.version = t->version + 1;
  m.base.n_unknown_fields = 1;
  m.base.unknown_fields = &uf_m;
  uint8_t *file = NULL;
  size_t len = 0;
  CHECK_OK(mw_lance_table_manifest_encode(&file, &len, &m, &sec, &txn, &e), &e);
  CHECK_OK(mw_lance_table_commit(s, t->version + 1, file, len, "x.txn", &txn, &e), &e);
  /* the same version again loses the race */
  CHECK_INT(mw_lance_table_commit(s, t->version + 1, file, len, "y.txn", &txn, &e), MW_ERR_ALREADY_EXISTS);
  CHECK_INT(count_prefix(s, "_transactions/y.txn"), 0);
  free(file);
  free(db);
  mw_table_close(t);
}

static bool has_unknown(const ProtobufCMessage *msg, uint32_t tag) {
  for (size_t i = 0; i < msg->n_unknown_fields; i++)
    if (msg->unknown_fields[i].tag == tag) return true;
  return false;
}

static void test_unknown_fields_survive(void) {
  mw_objstore *s = created();
  mw_error e = {0};
  CHECK_OK(mw_table_set_lsm_spec(s, "bucket:id:16", NULL, 0, NULL, 0, &e), &e);
  inject_unknowns(s); /* version 3 */
  const char *maint[] = {"id_idx"};
  const mw_table_kv defs[] = {{"durable_write", "true"}};
  CHECK_OK(mw_table_set_lsm_spec(s, "identity:id", maint, 1, defs, 1, &e), &e);
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    CHECK_INT(mw_table_version(t), 4);
    CHECK(has_unknown(&t->manifest->pb->base, 99));
    CHECK(t->mem_wal && has_unknown(&t->mem_wal->base, 40));
    const Lance__Table__IndexMetadataProto *bt = mw_lance_table_find_index(t->manifest, "id_idx");
    CHECK(bt && has_unknown(&bt->base, 50));
    CHECK_INT(t->manifest->index ? t->manifest->index->n_indices : 0, 2);
    CHECK_INT(mw_table_maintained_index_count(t), 1);
    CHECK_STR(mw_table_maintained_index(t, 0), "id_idx");
    CHECK(mw_table_maintained_index(t, 1) == NULL);
    CHECK_INT(t->mem_wal->sharding_specs[0]->spec_id, 1);
    /* the fields (with their undeclared encoding tag 7) are unchanged */
    CHECK_INT(t->manifest->pb->n_fields, 7);
    CHECK(has_unknown(&t->manifest->pb->fields[0]->base, 7));
  }
  mw_table_close(t);
  mw_objstore_close(s);
}

static void test_hostile(void) {
  mw_objstore *s = created();
  mw_error e = {0};
  CHECK_OK(mw_table_set_lsm_spec(s, "bucket:id:4", NULL, 0, NULL, 0, &e), &e);
  /* every truncation and byte flip of a manifest we wrote decodes or fails
   * with CORRUPT */
  char key[64];
  mw_lance_manifest_key(key, sizeof key, 2);
  uint8_t *data = NULL;
  size_t len = 0;
  CHECK_OK(mw_objstore_get(s, &data, &len, key, 0, MW_OBJSTORE_TO_END, &e), &e);
  int bad = 0, ok_trunc = 0;
  uint8_t *copy = malloc(len ? len : 1);
  for (size_t n = 0; data && n < len; n++) {
    mw_lance_table_manifest *m = NULL;
    mw_status st = mw_lance_table_manifest_decode(&m, data, n, "k", &e);
    if (st == MW_OK) ok_trunc++;
    else if (st != MW_ERR_CORRUPT) bad++;
    mw_lance_table_manifest_free(m);
    memcpy(copy, data, len);
    copy[n] ^= 0xa5;
    m = NULL;
    st = mw_lance_table_manifest_decode(&m, copy, len, "k", &e);
    if (st != MW_OK && st != MW_ERR_CORRUPT) bad++;
    mw_lance_table_manifest_free(m);
  }
  CHECK_INT(ok_trunc, 0);
  CHECK_INT(bad, 0);
  /* a corrupt latest version: open and set-spec fail cleanly, nothing is
   * committed over it */
  if (data) {
    memcpy(copy, data, len);
    memcpy(copy + len - 4, "XXXX", 4);
    mw_lance_manifest_key(key, sizeof key, 3);
    CHECK_OK(mw_objstore_put(s, key, copy, len, &e), &e);
    mw_table *t = NULL;
    CHECK_INT(mw_table_open(&t, s, &e), MW_ERR_CORRUPT);
    CHECK_INT(mw_table_set_lsm_spec(s, "unsharded", NULL, 0, NULL, 0, &e), MW_ERR_CORRUPT);
    CHECK_INT(count_prefix(s, "_versions/"), 4); /* 1, 2, 3, hint */
  }
  free(copy);
  mw_free(data);
  mw_objstore_close(s);

  /* a field type with no Arrow mapping: open works, the export refuses */
  s = created();
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    Lance__Table__TableManifest m = *t->manifest->pb;
    Lance__Table__LanceField f0 = *m.fields[0];
    f0.logical_type = (char *)"dict:int32:string";
    Lance__Table__LanceField *fs[7];
    for (size_t i = 0; i < 7; i++) fs[i] = m.fields[i];
    fs[0] = &f0;
    m.fields = fs;
    m.version = 2;
    Lance__Table__TransactionProto txn = LANCE__TABLE__TRANSACTION_PROTO__INIT;
    uint8_t *file = NULL;
    size_t len2 = 0;
    CHECK_OK(mw_lance_table_manifest_encode(&file, &len2, &m, NULL, &txn, &e), &e);
    CHECK_OK(mw_lance_table_commit(s, 2, file, len2, "z.txn", &txn, &e), &e);
    free(file);
  }
  mw_table_close(t);
  t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    struct ArrowSchema out;
    CHECK_INT(mw_table_schema(&out, t, &e), MW_ERR_UNSUPPORTED);
    CHECK(out.release == NULL);
    CHECK(strstr(e.message, "'id'") != NULL);
  }
  mw_table_close(t);
  /* bucket on a column whose type has no mapping */
  CHECK_INT(mw_table_set_lsm_spec(s, "bucket:id:2", NULL, 0, NULL, 0, &e), MW_ERR_UNSUPPORTED);
  mw_objstore_close(s);
}

static void test_arrow_format(void) {
  static const char *const ok[][3] = {
      {"int64", "l", ""},
      {"string", "u", ""},
      {"large_string", "U", ""},
      {"bool", "b", ""},
      {"halffloat", "e", ""},
      {"date32:day", "tdD", ""},
      {"timestamp:us:UTC", "tsu:UTC", ""},
      {"timestamp:ns:-", "tsn:", ""},
      {"time32:ms", "ttm", ""},
      {"time64:ns", "ttn", ""},
      {"duration:s", "tDs", ""},
      {"decimal:128:10:2", "d:10,2", ""},
      {"fixed_size_binary:16", "w:16", ""},
      {"fixed_size_list:float:128", "+w:128", "f"},
      {"fixed_size_list:uint8:4", "+w:4", "C"},
      {"struct", "+s", ""},
      {"list", "+l", ""},
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    char f[96] = "", item[16] = "";
    CHECK(mw_table_arrow_format(f, sizeof f, item, sizeof item, ok[i][0]));
    CHECK_STR(f, ok[i][1]);
    CHECK_STR(item, ok[i][2]);
  }
  static const char *const bad[] = {"", "int", "int64 ", "time32:us", "time64:s", "timestamp:xs:UTC", "timestamp:us",
                                    "decimal:256:10:2", "decimal:128:99:2", "decimal:128:10:2x",
                                    "fixed_size_list:string:4", "fixed_size_list:float:0",
                                    "fixed_size_list:float:99999999999", "fixed_size_binary:-1", "dict:int32:string"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char f[96];
    CHECK(!mw_table_arrow_format(f, sizeof f, NULL, 0, bad[i]));
  }
}

/* A store that lets another writer commit a table version right before
 * each manifest put-if-absent (races > 0 times): the other writer sets
 * "bucket:id:2" through the inner store. */
typedef struct race_store {
  mw_objstore *inner;
  int races, raced;
} race_store;

static mw_status race_put(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  return mw_objstore_put(((race_store *)self)->inner, key, data, len, err);
}
static mw_status race_pia(void *self, const char *key, const void *data, size_t len, mw_error *err) {
  race_store *r = self;
  if (strncmp(key, "_versions/", 10) == 0 && r->races > 0) {
    r->races--;
    mw_error e = {0};
    if (mw_table_set_lsm_spec(r->inner, "bucket:id:2", NULL, 0, NULL, 0, &e) == MW_OK) r->raced++;
  }
  return mw_objstore_put_if_absent(r->inner, key, data, len, err);
}
static mw_status race_get(void *self, uint8_t **o, size_t *on, const char *key, uint64_t off, uint64_t len,
                          mw_error *err) {
  return mw_objstore_get(((race_store *)self)->inner, o, on, key, off, len, err);
}
static mw_status race_head(void *self, uint64_t *o, const char *key, mw_error *err) {
  return mw_objstore_head(((race_store *)self)->inner, o, key, err);
}
static mw_status race_list(void *self, const char *p, mw_objstore_list_fn fn, void *arg, mw_error *err) {
  return mw_objstore_list(((race_store *)self)->inner, p, fn, arg, err);
}
static mw_status race_del(void *self, const char *key, mw_error *err) {
  return mw_objstore_del(((race_store *)self)->inner, key, err);
}

static void test_commit_races(void) {
  mw_objstore *inner = created();
  mw_error e = {0};
  race_store r = {inner, 1, 0};
  mw_objstore_vtable vt;
  mw_objstore_vtable_init(&vt);
  vt.put = race_put;
  vt.put_if_absent = race_pia;
  vt.get = race_get;
  vt.head = race_head;
  vt.list = race_list;
  vt.del = race_del;
  mw_objstore *s = NULL;
  CHECK_OK(mw_objstore_new(&s, &vt, &r, &e), &e);
  if (!s) return;
  /* one lost race: retried on the other writer's version */
  CHECK_OK(mw_table_set_lsm_spec(s, "identity:id", NULL, 0, NULL, 0, &e), &e);
  CHECK_INT(r.raced, 1);
  check_spec(inner, 3, "identity:id", 1, 0);
  mw_lance_table_manifest *m2 = read_version(inner, 2);
  if (m2) {
    mw_table *t = NULL;
    CHECK(mw_lance_table_find_index(m2, MW_MEM_WAL_INDEX_NAME) != NULL);
    mw_lance_table_manifest_free(m2);
    CHECK_OK(mw_table_open(&t, inner, &e), &e);
    if (t) CHECK(t->mem_wal_index->dataset_version == 2); /* built on the winner's version */
    mw_table_close(t);
  }
  /* the loser's transaction file is gone: one per version */
  CHECK_INT(count_prefix(inner, "_transactions/"), 3);
  /* losing every time: MW_ERR_CONFLICT after 3 attempts, nothing of ours */
  r.races = 10;
  r.raced = 0;
  CHECK_INT(mw_table_set_lsm_spec(s, "unsharded", NULL, 0, NULL, 0, &e), MW_ERR_CONFLICT);
  CHECK_INT(r.raced, 3);
  check_spec(inner, 6, "bucket:id:2", 1, 2);
  CHECK_INT(count_prefix(inner, "_transactions/"), 6);
  mw_objstore_close(s);
  mw_objstore_close(inner);
}

#define FIXTURE MW_SHARED_DIR "/fixtures/lance12_reference_table.lance"

/* The public accessors on the table LanceDB 0.39 made (shared fixture). */
static void test_lancedb_fixture(void) {
  mw_error e = {0};
  mw_objstore *s = NULL;
  CHECK_OK(mw_objstore_open(&s, FIXTURE, NULL, &e), &e);
  if (!s) return;
  mw_table *t = NULL;
  CHECK_OK(mw_table_open(&t, s, &e), &e);
  if (t) {
    CHECK_INT(mw_table_version(t), 3);
    CHECK_INT(mw_table_primary_key_count(t), 1);
    CHECK_STR(mw_table_primary_key(t, 0), "id");
    char buf[512];
    int routable = 0;
    CHECK_OK(mw_table_sharding_spec(buf, sizeof buf, &routable, t, &e), &e);
    CHECK_INT(routable, 1);
    CHECK_STR(buf, "unsharded");
    CHECK_INT(mw_table_shard_count(t), 1);
    CHECK_OK(mw_table_shard_id(buf, t, 0, &e), &e);
    CHECK_STR(buf, "aa48498d-ac91-59e2-8452-69f46010ace2");
    struct ArrowSchema out;
    CHECK_OK(mw_table_schema(&out, t, &e), &e);
    if (out.release) {
      CHECK_INT(out.n_children, 2);
      CHECK_STR(out.children[0]->format, "l");
      CHECK_STR(out.children[1]->format, "u");
      CHECK(!(out.children[0]->flags & ARROW_FLAG_NULLABLE));
      CHECK(meta_is(out.children[0], "lance:field_id", "0"));
      CHECK(meta_is(out.children[0], "lance-schema:unenforced-primary-key:position", "1"));
      CHECK(meta_is(out.children[1], "lance:field_id", "1"));
      out.release(&out);
    }
    mw_shard_writer_config cfg;
    mw_shard_writer_config_init(&cfg);
    mw_shard_writer_config before = cfg;
    CHECK_OK(mw_table_apply_writer_defaults(&cfg, t, &e), &e);
    CHECK(memcmp(&cfg, &before, sizeof cfg) == 0); /* no defaults there */
  }
  mw_table_close(t);
  mw_objstore_close(s);
}

int main(void) {
  MW_RUN(test_create_round_trip);
  MW_RUN(test_pk_sources);
  MW_RUN(test_set_spec);
  MW_RUN(test_unknown_fields_survive);
  MW_RUN(test_hostile);
  MW_RUN(test_arrow_format);
  MW_RUN(test_lancedb_fixture);
  MW_RUN(test_commit_races);
  return mw_test_finish();
}
