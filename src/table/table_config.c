/*
 * table_config.c - creating a base Lance table and installing its MemWAL
 * configuration without LanceDB (memwal.h: mw_table_create,
 * mw_table_set_lsm_spec), byte-compatible with what LanceDB 0.39 writes.
 *
 * Design:
 *  - create: the Lance fields are encoded by the same code that writes
 *    generation schemas (mw_lance_write_fields: ids depth first, encodings,
 *    key flags), unpacked into protobuf-c structs, and given the
 *    "lance-schema:unenforced-primary-key:position" metadata LanceDB's
 *    setUnenforcedPrimaryKey adds. Version 1 = Overwrite transaction, no
 *    fragments, data format lance 2.2, as LanceDB's createEmptyTable.
 *  - set spec: read the latest version, build the new MemWalIndexDetails
 *    (starting from the previous one when there is one, so its unknown
 *    fields and the fields we do not set survive), and commit version + 1
 *    as a CreateIndex transaction whose new index section is the old one
 *    with the `__lance_mem_wal` entry replaced (spec_id always 1, see
 *    set_spec_once). The new manifest is a
 *    shallow copy of the old protobuf-c struct with a few fields changed,
 *    so every other field, known or unknown, is written back unchanged.
 *    A lost put-if-absent race re-reads and retries.
 *  Nothing read is trusted: the previous manifest went through the checked
 *  decoder of mw_table_open.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "lance/lance_file.h"
#include "lance/pb.h"
#include "lance/table_manifest.h"
#include "lance/table_manifest_write.h"
#include "table/table.h"

#define PK_POSITION_KEY "lance-schema:unenforced-primary-key:position"
#define PK_FLAG_KEY "lance-schema:unenforced-primary-key"
#define COMMIT_ATTEMPTS 3

static void now_parts(int64_t *sec, int32_t *nsec) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  *sec = (int64_t)ts.tv_sec;
  *nsec = (int32_t)ts.tv_nsec;
}

static mw_status new_uuid_text(char out[MW_UUID_STR_LEN + 1], uint8_t raw[16], mw_error *err) {
  uint8_t u[16];
  MW_TRY(mw_uuid_v4(u, err));
  mw_uuid_format(out, u);
  if (raw) memcpy(raw, u, 16);
  return MW_OK;
}

/* Never commit a manifest we cannot read back: protobuf-c keeps unknown
 * fields of hostile shapes (e.g. field number 0) that it then writes in a
 * form it refuses to decode. */
static mw_status self_check(const uint8_t *file, size_t len, uint64_t version, mw_error *err) {
  mw_lance_table_manifest *chk = NULL;
  mw_error e = {0};
  mw_status st = mw_lance_table_manifest_decode(&chk, file, len, "(rewritten manifest)", &e);
  mw_lance_table_manifest_free(chk);
  if (st == MW_OK) return MW_OK;
  if (st == MW_ERR_NOMEM) return mw_err(err, st, "%s", e.message);
  return mw_err(err, MW_ERR_CORRUPT, "table version %" PRIu64 " holds fields that cannot be rewritten faithfully "
                "(%s); nothing was committed", version, e.message);
}

/* ------------------------------------------------------------------ create */

static bool meta_value(const struct ArrowSchema *f, const char *key, char *buf, size_t cap) {
  mw_kv kv;
  if (!f->metadata || !mw_metadata_find(f->metadata, key, &kv) || kv.value_len < 0 || (size_t)kv.value_len >= cap)
    return false;
  memcpy(buf, kv.value, (size_t)kv.value_len);
  buf[kv.value_len] = '\0';
  return true;
}

/* The key from field metadata (see memwal.h): names into names[], count in
 * *n (cap entries). */
static mw_status pk_from_metadata(const char **names, size_t *n, size_t cap, const struct ArrowSchema *schema,
                                  mw_error *err) {
  *n = 0;
  int64_t nc = schema->n_children;
  uint32_t *pos = calloc((size_t)nc + 1, sizeof *pos);
  if (pos == NULL) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  uint32_t next_flag = 1u << 20; /* flagged-only columns sort after positioned ones, in field order */
  for (int64_t i = 0; i < nc; i++) {
    const struct ArrowSchema *f = schema->children[i];
    char v[32];
    if (meta_value(f, PK_POSITION_KEY, v, sizeof v)) {
      uint64_t p = 0;
      size_t k = 0;
      for (; v[k] >= '0' && v[k] <= '9' && p < 100000; k++) p = p * 10 + (uint64_t)(v[k] - '0');
      if (k == 0 || v[k] != '\0' || p == 0 || p >= 100000) {
        free(pos);
        return mw_err(err, MW_ERR_INVALID, "column '%s': %s = '%s' is not a key position >= 1", f->name, PK_POSITION_KEY, v);
      }
      pos[i] = (uint32_t)p;
    } else if (meta_value(f, PK_FLAG_KEY, v, sizeof v) && strcmp(v, "true") == 0) {
      pos[i] = next_flag++;
    }
  }
  for (;;) { /* selection by ascending position (few columns) */
    int64_t best = -1;
    for (int64_t i = 0; i < nc; i++)
      if (pos[i] && (best < 0 || pos[i] < pos[best])) best = i;
    if (best < 0) break;
    for (int64_t i = 0; i < nc; i++)
      if (i != best && pos[i] == pos[best]) {
        free(pos);
        return mw_err(err, MW_ERR_INVALID, "columns '%s' and '%s' have the same primary-key position",
                      schema->children[best]->name, schema->children[i]->name);
      }
    if (*n == cap) {
      free(pos);
      return mw_err(err, MW_ERR_INVALID, "more than %zu primary-key columns", cap);
    }
    names[(*n)++] = schema->children[best]->name;
    pos[best] = 0;
  }
  free(pos);
  return MW_OK;
}

static mw_status check_pk(const struct ArrowSchema *schema, const char *const *pk, size_t n, mw_error *err) {
  for (size_t k = 0; k < n; k++) {
    if (pk[k] == NULL || pk[k][0] == '\0') return mw_err(err, MW_ERR_INVALID, "primary-key column %zu has no name", k);
    for (size_t j = 0; j < k; j++)
      if (strcmp(pk[j], pk[k]) == 0) return mw_err(err, MW_ERR_INVALID, "primary-key column '%s' is named twice", pk[k]);
    const struct ArrowSchema *f = NULL;
    for (int64_t i = 0; i < schema->n_children && !f; i++)
      if (strcmp(schema->children[i]->name, pk[k]) == 0) f = schema->children[i];
    if (f == NULL) return mw_err(err, MW_ERR_INVALID, "primary-key column '%s' is not a top-level column", pk[k]);
    if (f->flags & ARROW_FLAG_NULLABLE)
      return mw_err(err, MW_ERR_INVALID, "primary-key column '%s' is nullable (Lance needs a non-null key)", pk[k]);
    if (f->format[0] == '+')
      return mw_err(err, MW_ERR_INVALID, "primary-key column '%s' is nested (Lance needs a primitive key)", pk[k]);
  }
  return MW_OK;
}

#define MAX_PK 64

mw_status mw_table_create(mw_objstore *store, const struct ArrowSchema *schema, const char *const *pk_names,
                          size_t n_pk, mw_error *err) {
  if (store == NULL || schema == NULL) return mw_err(err, MW_ERR_INVALID, "mw_table_create: store and schema are required");
  MW_TRY(mw_lance_check_schema_version(schema, MW_LANCE_V2_1, err));
  for (int64_t i = 0; i < schema->n_children; i++)
    if (strcmp(schema->children[i]->name, "_tombstone") == 0)
      return mw_err(err, MW_ERR_INVALID, "column '_tombstone' is reserved: the MemWAL adds it to WAL entries and "
                                         "generations, never to the base table");
  const char *derived[MAX_PK];
  if (pk_names == NULL) {
    MW_TRY(pk_from_metadata(derived, &n_pk, MAX_PK, schema, err));
    pk_names = derived;
  } else if (n_pk > MAX_PK) {
    return mw_err(err, MW_ERR_INVALID, "more than %d primary-key columns", MAX_PK);
  }
  MW_TRY(check_pk(schema, pk_names, n_pk, err));
  uint64_t latest = 0;
  mw_error e2 = {0};
  mw_status st = mw_lance_table_latest_version(&latest, store, &e2);
  if (st == MW_OK) return mw_err(err, MW_ERR_ALREADY_EXISTS, "a Lance table exists there already (version %" PRIu64 ")", latest);
  if (st != MW_ERR_NOT_FOUND) {
    if (err) *err = e2;
    return st;
  }

  /* fields (+ schema metadata) encoded once, then decoded into structs */
  mw_buf fb;
  mw_buf_init(&fb);
  st = mw_lance_write_fields(&fb, 1, schema, pk_names, n_pk, err);
  if (st != MW_OK) {
    mw_buf_free(&fb);
    return st;
  }
  mw_pb_metadata(&fb, 5, schema->metadata);
  if (!mw_buf_ok(&fb)) {
    mw_buf_free(&fb);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  Lance__Table__TableManifest *fm = lance__table__table_manifest__unpack(NULL, fb.len, fb.data);
  mw_buf_free(&fb);
  if (fm == NULL) return mw_err(err, MW_ERR_INTERNAL, "the encoded Lance fields do not decode");

  /* key position metadata on the key fields (replaced when present) */
  size_t nf = fm->n_fields;
  Lance__Table__LanceField *fcopy = calloc(nf + 1, sizeof *fcopy);
  Lance__Table__LanceField **fptr = calloc(nf + 1, sizeof *fptr);
  Lance__Table__MetadataEntry *pos_entry = calloc(n_pk + 1, sizeof *pos_entry);
  Lance__Table__MetadataEntry ***mptr = calloc(nf + 1, sizeof *mptr);
  char (*pos_text)[16] = calloc(n_pk + 1, sizeof *pos_text);
  uint8_t *out = NULL;
  size_t out_len = 0;
  if (!fcopy || !fptr || !pos_entry || !mptr || !pos_text) {
    st = mw_err(err, MW_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < nf; i++) {
    fcopy[i] = *fm->fields[i];
    fptr[i] = &fcopy[i];
    const Lance__Table__LanceField *lf = fm->fields[i];
    if (!lf->unenforced_primary_key || lf->unenforced_primary_key_position == 0) continue;
    size_t k = lf->unenforced_primary_key_position - 1;
    if (k >= n_pk) continue;
    snprintf(pos_text[k], sizeof pos_text[k], "%zu", k + 1);
    lance__table__metadata_entry__init(&pos_entry[k]);
    pos_entry[k].key = (char *)PK_POSITION_KEY;
    pos_entry[k].has_value = true;
    pos_entry[k].value.data = (uint8_t *)pos_text[k];
    pos_entry[k].value.len = strlen(pos_text[k]);
    mptr[i] = calloc(lf->n_metadata + 1, sizeof **mptr);
    if (mptr[i] == NULL) {
      st = mw_err(err, MW_ERR_NOMEM, "out of memory");
      goto done;
    }
    size_t m = 0;
    for (size_t j = 0; j < lf->n_metadata; j++)
      if (!lf->metadata[j]->key || strcmp(lf->metadata[j]->key, PK_POSITION_KEY) != 0) mptr[i][m++] = lf->metadata[j];
    mptr[i][m++] = &pos_entry[k];
    fcopy[i].metadata = mptr[i];
    fcopy[i].n_metadata = m;
  }

  char uuid[MW_UUID_STR_LEN + 1], txn_file[64];
  st = new_uuid_text(uuid, NULL, err);
  if (st != MW_OK) goto done;
  snprintf(txn_file, sizeof txn_file, "0-%s.txn", uuid);

  Lance__Table__TxnOverwriteProto ow = LANCE__TABLE__TXN_OVERWRITE_PROTO__INIT;
  ow.n_schema = nf;
  ow.schema = fptr;
  ow.n_schema_metadata = fm->n_schema_metadata;
  ow.schema_metadata = fm->schema_metadata;
  Lance__Table__TransactionProto txn = LANCE__TABLE__TRANSACTION_PROTO__INIT;
  txn.uuid = uuid;
  txn.overwrite = &ow;

  Lance__Table__TimestampProto ts = LANCE__TABLE__TIMESTAMP_PROTO__INIT;
  now_parts(&ts.seconds, &ts.nanos);
  ts.has_seconds = true;
  ts.has_nanos = ts.nanos != 0;
  Lance__Table__WriterVersion wv = LANCE__TABLE__WRITER_VERSION__INIT;
  wv.library = (char *)"memwal";
  wv.version = (char *)mw_version();
  Lance__Table__DataStorageFormatProto df = LANCE__TABLE__DATA_STORAGE_FORMAT_PROTO__INIT;
  df.file_format = (char *)"lance";
  df.version = (char *)"2.2";
  Lance__Table__TableManifest m = LANCE__TABLE__TABLE_MANIFEST__INIT;
  m.n_fields = nf;
  m.fields = fptr;
  m.has_version = true;
  m.version = 1;
  m.n_schema_metadata = fm->n_schema_metadata;
  m.schema_metadata = fm->schema_metadata;
  m.timestamp = &ts;
  m.transaction_file = txn_file;
  m.writer_version = &wv;
  m.data_format = &df;
  st = mw_lance_table_manifest_encode(&out, &out_len, &m, NULL, &txn, err);
  if (st == MW_OK) st = self_check(out, out_len, 0, err);
  if (st == MW_OK) st = mw_lance_table_commit(store, 1, out, out_len, txn_file, &txn, err);
  if (st == MW_ERR_ALREADY_EXISTS) st = mw_err(err, MW_ERR_ALREADY_EXISTS, "another writer created the table first");

done:
  free(out);
  if (mptr)
    for (size_t i = 0; i < nf; i++) free(mptr[i]);
  free(mptr);
  free(pos_text);
  free(pos_entry);
  free(fptr);
  free(fcopy);
  lance__table__table_manifest__free_unpacked(fm, NULL);
  return st;
}

/* ---------------------------------------------------------------- set spec */

/* The Arrow type of a table column, for the spec checks. */
static mw_status column_type(mw_type *out, const mw_table_field **field, const mw_table *t, const char *column,
                             mw_error *err) {
  const mw_table_field *f = NULL;
  for (size_t i = 0; i < t->n_fields && !f; i++)
    if (t->fields[i].parent_id < 0 && strcmp(t->fields[i].name, column) == 0) f = &t->fields[i];
  if (f == NULL) return mw_err(err, MW_ERR_INVALID, "sharding column '%s' is not a top-level column of the table", column);
  char fmt[96];
  if (!mw_table_arrow_format(fmt, sizeof fmt, NULL, 0, f->logical_type) || mw_type_from_format(out, fmt, NULL) != MW_OK)
    return mw_err(err, MW_ERR_UNSUPPORTED, "sharding column '%s' has Lance type '%s', which cannot be a shard key", column,
                  f->logical_type);
  *field = f;
  return MW_OK;
}

/* LanceDB's result_type of an identity spec: the Arrow type name. */
static const char *identity_result_type(const mw_type *t) {
  switch (t->id) {
    case MW_T_INT8: return "int8";
    case MW_T_INT16: return "int16";
    case MW_T_INT32: return "int32";
    case MW_T_INT64: return "int64";
    case MW_T_UINT8: return "uint8";
    case MW_T_UINT16: return "uint16";
    case MW_T_UINT32: return "uint32";
    case MW_T_UINT64: return "uint64";
    case MW_T_UTF8: return "utf8";
    case MW_T_LARGE_UTF8: return "large_utf8";
    case MW_T_BOOL: return "boolean";
    default: return NULL;
  }
}

static int kv_cmp(const void *a, const void *b) {
  const mw_table_kv *x = a, *y = b;
  return strcmp(x->key, y->key);
}

typedef struct spec_parts {
  Lance__Table__ShardingFieldProto field;
  Lance__Table__ShardingFieldProto *field_ptr[1];
  Lance__Table__ShardingSpecProto spec;
  Lance__Table__ShardingSpecProto *spec_ptr[1];
  Lance__Table__StringEntry nb_entry;
  Lance__Table__StringEntry *nb_ptr[1];
  char nb_text[16];
  int32_t source_id[1];
} spec_parts;

/* The sharding spec as LanceDB writes it (LSM.md section 1). */
static mw_status build_spec(spec_parts *p, uint32_t *num_shards, const mw_routing_spec *rs, const mw_table *t,
                            uint32_t spec_id, mw_error *err) {
  lance__table__sharding_field_proto__init(&p->field);
  lance__table__sharding_spec_proto__init(&p->spec);
  p->field.field_id = (char *)"bucket";
  p->field_ptr[0] = &p->field;
  p->spec.has_spec_id = true;
  p->spec.spec_id = spec_id;
  p->spec.n_fields = 1;
  p->spec.fields = p->field_ptr;
  p->spec_ptr[0] = &p->spec;
  if (rs->kind == MW_SHARDING_UNSHARDED) {
    p->field.transform = (char *)"unsharded";
    p->field.result_type = (char *)"int32";
    *num_shards = 1;
    return MW_OK;
  }
  mw_type ty;
  const mw_table_field *f = NULL;
  MW_TRY(column_type(&ty, &f, t, rs->column, err));
  p->source_id[0] = f->id;
  p->field.n_source_ids = 1;
  p->field.source_ids = p->source_id;
  if (rs->kind == MW_SHARDING_BUCKET) {
    MW_TRY(mw_routing_check_type(MW_SHARDING_BUCKET, &ty, rs->column, err));
    p->field.transform = (char *)"bucket";
    p->field.result_type = (char *)"int32";
    snprintf(p->nb_text, sizeof p->nb_text, "%" PRIu32, rs->num_buckets);
    lance__table__string_entry__init(&p->nb_entry);
    p->nb_entry.key = (char *)"num_buckets";
    p->nb_entry.value = p->nb_text;
    p->nb_ptr[0] = &p->nb_entry;
    p->field.n_parameters = 1;
    p->field.parameters = p->nb_ptr;
    *num_shards = rs->num_buckets;
    return MW_OK;
  }
  MW_TRY(mw_routing_check_type(MW_SHARDING_IDENTITY, &ty, rs->column, err));
  const char *rt = identity_result_type(&ty);
  if (rt == NULL) return mw_err(err, MW_ERR_UNSUPPORTED, "identity sharding on column '%s': its type cannot be a shard key", rs->column);
  p->field.transform = (char *)"identity";
  p->field.result_type = (char *)rt;
  *num_shards = 0;
  return MW_OK;
}

/* One attempt on the latest version. MW_ERR_ALREADY_EXISTS = lost the race. */
static mw_status set_spec_once(mw_objstore *store, const mw_routing_spec *rs, const char *const *maintained,
                               size_t n_maintained, const mw_table_kv *sorted, size_t n_defaults, mw_error *err) {
  mw_table *t = NULL;
  MW_TRY(mw_table_open(&t, store, err));
  const Lance__Table__IndexSectionProto *old_sec = t->manifest->index;
  const Lance__Table__IndexMetadataProto *old_idx = t->mem_wal_index;
  /* maintained names must be indexes of the table */
  for (size_t i = 0; i < n_maintained; i++) {
    bool found = maintained[i] && maintained[i][0] && strcmp(maintained[i], MW_MEM_WAL_INDEX_NAME) != 0 &&
                 mw_lance_table_find_index(t->manifest, maintained[i]) != NULL;
    if (!found) {
      mw_status st = mw_err(err, MW_ERR_INVALID, "maintained index '%s' does not exist on the table (version %" PRIu64 ")",
                            maintained[i] ? maintained[i] : "", t->version);
      mw_table_close(t);
      return st;
    }
  }
  spec_parts sp;
  uint32_t num_shards = 0;
  /* spec_id is always 1, as LanceDB writes it: Lance 12's shard writer
   * refuses a shard whose shard_spec_id (LanceDB stamps 1) differs from the
   * index's spec id, so a replaced spec keeps id 1 */
  mw_status st = build_spec(&sp, &num_shards, rs, t, 1, err);
  Lance__Table__StringEntry *dent = calloc(n_defaults + 1, sizeof *dent);
  Lance__Table__StringEntry **dptr = calloc(n_defaults + 1, sizeof *dptr);
  size_t n_old = old_sec ? old_sec->n_indices : 0;
  Lance__Table__IndexMetadataProto **iptr = calloc(n_old + 1, sizeof *iptr);
  uint8_t *details = NULL, *file = NULL;
  size_t file_len = 0;
  if (st == MW_OK && (!dent || !dptr || !iptr)) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (st != MW_OK) goto done;
  for (size_t i = 0; i < n_defaults; i++) {
    lance__table__string_entry__init(&dent[i]);
    dent[i].key = (char *)sorted[i].key;
    dent[i].value = (char *)sorted[i].value;
    dptr[i] = &dent[i];
  }

  /* the details: the previous ones (unknown fields and all) with the spec,
   * the shard count, the maintained indexes and the defaults replaced */
  Lance__Table__MemWalIndexDetailsProto d = LANCE__TABLE__MEM_WAL_INDEX_DETAILS_PROTO__INIT;
  if (t->mem_wal) d = *t->mem_wal;
  d.has_num_shards = num_shards != 0;
  d.num_shards = num_shards;
  d.n_sharding_specs = 1;
  d.sharding_specs = sp.spec_ptr;
  d.n_maintained_indexes = n_maintained;
  d.maintained_indexes = (char **)maintained;
  d.n_writer_config_defaults = n_defaults;
  d.writer_config_defaults = dptr;
  size_t dl = lance__table__mem_wal_index_details_proto__get_packed_size(&d);
  details = malloc(dl ? dl : 1);
  if (details == NULL) {
    st = mw_err(err, MW_ERR_NOMEM, "out of memory");
    goto done;
  }
  lance__table__mem_wal_index_details_proto__pack(&d, details);

  uint8_t iuuid_raw[16];
  char tuuid[MW_UUID_STR_LEN + 1], iuuid_text[MW_UUID_STR_LEN + 1], txn_file[96];
  st = new_uuid_text(iuuid_text, iuuid_raw, err);
  if (st == MW_OK) st = new_uuid_text(tuuid, NULL, err);
  if (st != MW_OK) goto done;
  snprintf(txn_file, sizeof txn_file, "%" PRIu64 "-%s.txn", t->version, tuuid);
  int64_t sec;
  int32_t nsec;
  now_parts(&sec, &nsec);

  Lance__Table__LanceUuid iu = LANCE__TABLE__LANCE_UUID__INIT;
  iu.has_uuid = true;
  iu.uuid.data = iuuid_raw;
  iu.uuid.len = 16;
  Lance__Table__AnyProto any = LANCE__TABLE__ANY_PROTO__INIT;
  any.type_url = (char *)MW_MEM_WAL_DETAILS_TYPE_URL;
  any.has_value = true;
  any.value.data = details;
  any.value.len = dl;
  Lance__Table__IndexMetadataProto idx = LANCE__TABLE__INDEX_METADATA_PROTO__INIT;
  idx.uuid = &iu;
  idx.name = (char *)MW_MEM_WAL_INDEX_NAME;
  idx.has_dataset_version = true;
  idx.dataset_version = t->version;
  idx.index_details = &any;
  idx.has_index_version = true;
  idx.index_version = 0;
  idx.has_created_at = true;
  idx.created_at = (uint64_t)sec * 1000u + (uint64_t)nsec / 1000000u;

  size_t ni = 0;
  for (size_t i = 0; i < n_old; i++)
    if (old_sec->indices[i] != old_idx) iptr[ni++] = old_sec->indices[i];
  iptr[ni++] = &idx;
  Lance__Table__IndexSectionProto sec_new = LANCE__TABLE__INDEX_SECTION_PROTO__INIT;
  if (old_sec) sec_new = *old_sec; /* unknown fields of the section kept */
  sec_new.n_indices = ni;
  sec_new.indices = iptr;

  Lance__Table__IndexMetadataProto *new_ptr[1] = {&idx};
  Lance__Table__IndexMetadataProto *old_ptr[1] = {(Lance__Table__IndexMetadataProto *)old_idx};
  Lance__Table__TxnCreateIndexProto ci = LANCE__TABLE__TXN_CREATE_INDEX_PROTO__INIT;
  ci.n_new_indices = 1;
  ci.new_indices = new_ptr;
  ci.n_removed_indices = old_idx ? 1 : 0;
  ci.removed_indices = old_ptr;
  Lance__Table__TransactionProto txn = LANCE__TABLE__TRANSACTION_PROTO__INIT;
  txn.has_read_version = true;
  txn.read_version = t->version;
  txn.uuid = tuuid;
  txn.create_index = &ci;

  Lance__Table__TimestampProto ts = LANCE__TABLE__TIMESTAMP_PROTO__INIT;
  if (t->manifest->pb->timestamp) ts = *t->manifest->pb->timestamp;
  ts.has_seconds = true;
  ts.seconds = sec;
  ts.has_nanos = nsec != 0;
  ts.nanos = nsec;
  Lance__Table__WriterVersion wv = LANCE__TABLE__WRITER_VERSION__INIT;
  if (t->manifest->pb->writer_version) wv = *t->manifest->pb->writer_version;
  wv.library = (char *)"memwal";
  wv.version = (char *)mw_version();
  Lance__Table__TableManifest m = *t->manifest->pb; /* every other field, unknown ones included */
  m.has_version = true;
  m.version = t->version + 1;
  m.timestamp = &ts;
  m.transaction_file = txn_file;
  m.writer_version = &wv;
  st = mw_lance_table_manifest_encode(&file, &file_len, &m, &sec_new, &txn, err);
  if (st == MW_OK) st = self_check(file, file_len, t->version, err);
  if (st == MW_OK) st = mw_lance_table_commit(store, t->version + 1, file, file_len, txn_file, &txn, err);

done:
  free(file);
  free(details);
  free(iptr);
  free(dptr);
  free(dent);
  mw_table_close(t);
  return st;
}

mw_status mw_table_set_lsm_spec(mw_objstore *store, const char *spec_text, const char *const *maintained,
                                size_t n_maintained, const mw_table_kv *defaults, size_t n_defaults, mw_error *err) {
  if (store == NULL || spec_text == NULL) return mw_err(err, MW_ERR_INVALID, "mw_table_set_lsm_spec: store and spec are required");
  if ((n_maintained && !maintained) || (n_defaults && !defaults))
    return mw_err(err, MW_ERR_INVALID, "mw_table_set_lsm_spec: a count without its array");
  mw_routing_spec rs;
  MW_TRY(mw_routing_spec_parse(&rs, spec_text, err));
  for (size_t i = 0; i < n_maintained; i++)
    for (size_t j = 0; j < i; j++)
      if (maintained[i] && maintained[j] && strcmp(maintained[i], maintained[j]) == 0)
        return mw_err(err, MW_ERR_INVALID, "maintained index '%s' is named twice", maintained[i]);
  mw_table_kv *sorted = calloc(n_defaults + 1, sizeof *sorted);
  if (sorted == NULL) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n_defaults; i++) {
    if (!defaults[i].key || !defaults[i].key[0] || !defaults[i].value) {
      free(sorted);
      return mw_err(err, MW_ERR_INVALID, "writer default %zu has no key or no value", i);
    }
    sorted[i] = defaults[i];
  }
  qsort(sorted, n_defaults, sizeof *sorted, kv_cmp);
  for (size_t i = 1; i < n_defaults; i++)
    if (strcmp(sorted[i - 1].key, sorted[i].key) == 0) {
      mw_status st = mw_err(err, MW_ERR_INVALID, "writer default '%s' is given twice", sorted[i].key);
      free(sorted);
      return st;
    }
  mw_status st = MW_OK;
  for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
    st = set_spec_once(store, &rs, maintained, n_maintained, sorted, n_defaults, err);
    if (st != MW_ERR_ALREADY_EXISTS) break;
  }
  if (st == MW_ERR_ALREADY_EXISTS)
    st = mw_err(err, MW_ERR_CONFLICT, "set LSM spec: other writers committed first %d times in a row; retry later",
                COMMIT_ATTEMPTS);
  free(sorted);
  return st;
}
