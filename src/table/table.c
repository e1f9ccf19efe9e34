/*
 * table.c - opening a base Lance table: latest manifest, schema, primary
 * key, the MemWAL index and its routing spec, the shard folders; and its
 * JSON description (see table.h).
 *
 * Design: everything is decoded once at open into a read-only snapshot.
 * Field names and strings are borrowed from the protobuf-c structs, which
 * the snapshot owns; only derived data (paths, the primary-key order, the
 * shard list) is allocated here. Nothing in the manifest is trusted: parent
 * chains are walked with a step limit (a cycle is corruption, not a hang),
 * and strings rendered to JSON are escaped and checked as UTF-8.
 */
#include "table/table.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"

void mw_table_close(mw_table *t) {
  if (t == NULL) return;
  for (size_t i = 0; i < t->n_fields; i++) free(t->fields[i].path);
  free(t->fields);
  free((void *)t->pk);
  if (t->mem_wal) lance__table__mem_wal_index_details_proto__free_unpacked(t->mem_wal, NULL);
  mw_lance_table_manifest_free(t->manifest);
  free(t->shards);
  free(t);
}

const mw_table_field *mw_table_field_by_id(const mw_table *t, int32_t id) {
  for (size_t i = 0; i < t->n_fields; i++)
    if (t->fields[i].id == id) return &t->fields[i];
  return NULL;
}

/* ---------------------------------------------------------------- schema */

static mw_status build_path(mw_table *t, mw_table_field *f, mw_error *err) {
  /* collect ancestors (at most n_fields steps; more means a cycle) */
  const mw_table_field *chain[64];
  size_t n = 0;
  const mw_table_field *cur = f;
  size_t steps = 0;
  while (cur != NULL) {
    if (n == sizeof chain / sizeof *chain || steps++ > t->n_fields)
      return mw_err(err, MW_ERR_CORRUPT, "table schema: field %" PRId32 " ('%s') has a parent chain that is too deep or cyclic",
                    f->id, f->name);
    chain[n++] = cur;
    if (cur->parent_id < 0) break;
    const mw_table_field *p = mw_table_field_by_id(t, cur->parent_id);
    if (p == NULL)
      return mw_err(err, MW_ERR_CORRUPT, "table schema: field %" PRId32 " ('%s') names parent %" PRId32 ", which does not exist",
                    cur->id, cur->name, cur->parent_id);
    cur = p;
  }
  size_t len = 0;
  for (size_t i = 0; i < n; i++) len += strlen(chain[i]->name) + 1;
  f->path = malloc(len);
  if (f->path == NULL) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  size_t o = 0;
  for (size_t i = n; i-- > 0;) {
    size_t l = strlen(chain[i]->name);
    memcpy(f->path + o, chain[i]->name, l);
    o += l;
    f->path[o++] = i ? '.' : '\0';
  }
  return MW_OK;
}

static int pk_cmp(const void *a, const void *b) {
  const mw_table_field *x = *(const mw_table_field *const *)a, *y = *(const mw_table_field *const *)b;
  if (x->pk_position != y->pk_position) return x->pk_position < y->pk_position ? -1 : 1;
  return x < y ? -1 : x > y; /* manifest order */
}

static mw_status load_schema(mw_table *t, mw_error *err) {
  const Lance__Table__TableManifest *pb = t->manifest->pb;
  if (pb->n_fields == 0) return MW_OK;
  t->fields = calloc(pb->n_fields, sizeof *t->fields);
  if (t->fields == NULL) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  t->n_fields = pb->n_fields;
  size_t n_pk = 0;
  for (size_t i = 0; i < pb->n_fields; i++) {
    const Lance__Table__LanceField *lf = pb->fields[i];
    mw_table_field *f = &t->fields[i];
    f->name = lf->name ? lf->name : "";
    f->id = lf->id;
    f->parent_id = lf->parent_id;
    f->logical_type = lf->logical_type ? lf->logical_type : "";
    f->nullable = lf->nullable;
    f->primary_key = lf->unenforced_primary_key;
    f->pk_position = lf->unenforced_primary_key_position;
    if (f->primary_key) n_pk++;
    for (size_t k = 0; k < i; k++)
      if (t->fields[k].id == f->id)
        return mw_err(err, MW_ERR_CORRUPT, "table schema: field id %" PRId32 " is used twice ('%s', '%s')", f->id,
                      t->fields[k].name, f->name);
  }
  for (size_t i = 0; i < t->n_fields; i++) MW_TRY(build_path(t, &t->fields[i], err));
  if (n_pk) {
    t->pk = malloc(n_pk * sizeof *t->pk);
    if (t->pk == NULL) return mw_err(err, MW_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->n_fields; i++)
      if (t->fields[i].primary_key) t->pk[t->n_pk++] = &t->fields[i];
    qsort((void *)t->pk, t->n_pk, sizeof *t->pk, pk_cmp);
  }
  return MW_OK;
}

/* --------------------------------------------------------------- mem wal */

static const char *param(const Lance__Table__ShardingFieldProto *f, const char *key) {
  for (size_t i = 0; i < f->n_parameters; i++)
    if (f->parameters[i]->key && strcmp(f->parameters[i]->key, key) == 0) return f->parameters[i]->value;
  return NULL;
}

/* The routing spec of the first sharding field (see table.h). */
static void derive_spec(mw_table *t) {
  const Lance__Table__MemWalIndexDetailsProto *d = t->mem_wal;
  t->spec_ok = false;
  if (d->n_sharding_specs == 0 || d->sharding_specs[0]->n_fields == 0) {
    snprintf(t->spec_error, sizeof t->spec_error, "the MemWAL index has no sharding spec");
    return;
  }
  const Lance__Table__ShardingFieldProto *f = d->sharding_specs[0]->fields[0];
  const char *tr = f->transform ? f->transform : "";
  mw_error e = {0};
  if (strcmp(tr, "unsharded") == 0) {
    t->spec_ok = mw_routing_spec_init(&t->spec, MW_SHARDING_UNSHARDED, NULL, 0, &e) == MW_OK;
    return;
  }
  if (strcmp(tr, "bucket") != 0 && strcmp(tr, "identity") != 0) {
    snprintf(t->spec_error, sizeof t->spec_error, "unsupported sharding transform '%.64s'", tr);
    return;
  }
  const char *column = param(f, "column");
  if (column == NULL || column[0] == '\0') {
    if (f->n_source_ids == 0) {
      snprintf(t->spec_error, sizeof t->spec_error, "sharding field '%.64s' has no source column",
               f->field_id ? f->field_id : "");
      return;
    }
    const mw_table_field *src = mw_table_field_by_id(t, f->source_ids[0]);
    if (src == NULL) {
      snprintf(t->spec_error, sizeof t->spec_error, "sharding source id %" PRId32 " is not a field of the table",
               f->source_ids[0]);
      return;
    }
    column = src->path;
  }
  uint64_t nb = 0;
  if (strcmp(tr, "bucket") == 0) {
    const char *n = param(f, "num_buckets");
    size_t i = 0;
    for (; n && n[i] >= '0' && n[i] <= '9' && nb <= MW_ROUTING_MAX_BUCKETS; i++) nb = nb * 10 + (uint64_t)(n[i] - '0');
    if (n == NULL || i == 0 || n[i] != '\0' || nb < 1 || nb > MW_ROUTING_MAX_BUCKETS) {
      snprintf(t->spec_error, sizeof t->spec_error, "bucket sharding: num_buckets '%.32s' is not in [1, %u]",
               n ? n : "(missing)", MW_ROUTING_MAX_BUCKETS);
      return;
    }
  }
  mw_status st = mw_routing_spec_init(&t->spec, nb ? MW_SHARDING_BUCKET : MW_SHARDING_IDENTITY, column,
                                      (uint32_t)nb, &e);
  if (st != MW_OK) {
    snprintf(t->spec_error, sizeof t->spec_error, "%.200s", e.message);
    return;
  }
  t->spec_ok = true;
}

static mw_status load_mem_wal(mw_table *t, mw_error *err) {
  const Lance__Table__IndexMetadataProto *x = mw_lance_table_find_index(t->manifest, MW_MEM_WAL_INDEX_NAME);
  if (x == NULL) return MW_OK;
  t->mem_wal_index = x;
  const char *url = x->index_details ? x->index_details->type_url : NULL;
  const char *last = url ? strrchr(url, '/') : NULL;
  if (last == NULL || strcmp(last, "/lance.table.MemWalIndexDetails") != 0)
    return mw_err(err, MW_ERR_CORRUPT, "table version %" PRIu64 ": index %s has details of type '%.100s', expected %s",
                  t->version, MW_MEM_WAL_INDEX_NAME, url ? url : "(none)", MW_MEM_WAL_DETAILS_TYPE_URL);
  const ProtobufCBinaryData *v = &x->index_details->value;
  t->mem_wal = lance__table__mem_wal_index_details_proto__unpack(NULL, v->len, v->data);
  if (t->mem_wal == NULL)
    return mw_err(err, MW_ERR_CORRUPT, "table version %" PRIu64 ": the %s details (%zu bytes) do not decode",
                  t->version, MW_MEM_WAL_INDEX_NAME, v->len);
  derive_spec(t);
  return MW_OK;
}

/* ---------------------------------------------------------------- shards */

typedef struct shard_scan {
  mw_table *t;
  size_t cap;
  bool nomem;
} shard_scan;

static int on_mem_wal_key(void *arg, const char *key, uint64_t size) {
  (void)size;
  shard_scan *s = arg;
  if (strncmp(key, "_mem_wal/", 9) != 0) return 0;
  const char *rest = key + 9;
  const char *slash = strchr(rest, '/');
  if (slash == NULL || slash - rest != MW_UUID_STR_LEN) return 0;
  char text[MW_UUID_STR_LEN + 1];
  memcpy(text, rest, MW_UUID_STR_LEN);
  text[MW_UUID_STR_LEN] = '\0';
  uint8_t id[16];
  if (mw_uuid_parse(id, text, NULL) != MW_OK) return 0;
  mw_table *t = s->t;
  if (t->n_shards > 0 && memcmp(t->shards[t->n_shards - 1], id, 16) == 0) return 0; /* common: same folder */
  if (t->n_shards == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    void *g = realloc(t->shards, cap * 16);
    if (g == NULL) {
      s->nomem = true;
      return 1;
    }
    t->shards = g;
    s->cap = cap;
  }
  memcpy(t->shards[t->n_shards++], id, 16);
  return 0;
}

static int uuid_cmp(const void *a, const void *b) { return memcmp(a, b, 16); }

static mw_status load_shards(mw_table *t, mw_objstore *store, mw_error *err) {
  shard_scan s = {.t = t};
  mw_status st = mw_objstore_list(store, "_mem_wal/", on_mem_wal_key, &s, err);
  if (st != MW_OK) return mw_err_wrap(err, st, "listing _mem_wal/");
  if (s.nomem) return mw_err(err, MW_ERR_NOMEM, "out of memory listing shards");
  if (t->n_shards == 0) return MW_OK;
  qsort(t->shards, t->n_shards, 16, uuid_cmp);
  size_t m = 1;
  for (size_t i = 1; i < t->n_shards; i++)
    if (memcmp(t->shards[i], t->shards[m - 1], 16) != 0) memcpy(t->shards[m++], t->shards[i], 16);
  t->n_shards = m;
  return MW_OK;
}

mw_status mw_table_open(mw_table **out, mw_objstore *store, mw_error *err) {
  *out = NULL;
  mw_table *t = calloc(1, sizeof *t);
  if (t == NULL) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  mw_status st = mw_lance_table_latest_version(&t->version, store, err);
  if (st == MW_OK) st = mw_lance_table_manifest_read(&t->manifest, store, t->version, err);
  if (st == MW_OK) st = load_schema(t, err);
  if (st == MW_OK) st = load_mem_wal(t, err);
  if (st == MW_OK) st = load_shards(t, store, err);
  if (st != MW_OK) {
    mw_table_close(t);
    return st;
  }
  *out = t;
  return MW_OK;
}

/* ------------------------------------------------------------------ JSON */

/* A JSON string of s[0..len): escapes, and U+FFFD for bytes that are not
 * well-formed UTF-8 (the manifest is not trusted to hold valid text). */
static void json_strn(mw_buf *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const uint8_t *p = (const uint8_t *)s;
  mw_buf_u8(b, '"');
  for (size_t i = 0; i < len;) {
    uint8_t c = p[i];
    if (c == '"' || c == '\\') {
      mw_buf_u8(b, '\\');
      mw_buf_u8(b, c);
      i++;
    } else if (c < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      mw_buf_append(b, e, 6);
      i++;
    } else if (c < 0x80) {
      mw_buf_u8(b, c);
      i++;
    } else {
      size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
      bool ok = n > 0 && i + n <= len;
      for (size_t k = 1; ok && k < n; k++) ok = (p[i + k] & 0xc0) == 0x80;
      if (ok && n == 3) ok = !(c == 0xe0 && p[i + 1] < 0xa0) && !(c == 0xed && p[i + 1] >= 0xa0);
      if (ok && n == 4) ok = !(c == 0xf0 && p[i + 1] < 0x90) && !(c == 0xf4 && p[i + 1] >= 0x90);
      if (ok) {
        mw_buf_append(b, p + i, n);
        i += n;
      } else {
        mw_buf_append(b, "\xef\xbf\xbd", 3);
        i++;
      }
    }
  }
  mw_buf_u8(b, '"');
}

static void json_str(mw_buf *b, const char *s) {
  if (s == NULL) {
    mw_buf_append(b, "null", 4);
    return;
  }
  json_strn(b, s, strlen(s));
}

static void json_raw(mw_buf *b, const char *s) { mw_buf_append(b, s, strlen(s)); }

static void json_fmt(mw_buf *b, const char *fmt, ...) MW_PRINTF(2, 3);
static void json_fmt(mw_buf *b, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) mw_buf_append(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void json_uuid_msg(mw_buf *b, const Lance__Table__LanceUuid *u) {
  if (u == NULL || !u->has_uuid || u->uuid.len != 16) {
    json_raw(b, "null");
    return;
  }
  char s[MW_UUID_STR_LEN + 1];
  mw_uuid_format(s, u->uuid.data);
  json_str(b, s);
}

static void json_string_map(mw_buf *b, Lance__Table__StringEntry *const *e, size_t n) {
  mw_buf_u8(b, '{');
  for (size_t i = 0; i < n; i++) {
    if (i) mw_buf_u8(b, ',');
    json_str(b, e[i]->key ? e[i]->key : "");
    mw_buf_u8(b, ':');
    json_str(b, e[i]->value ? e[i]->value : "");
  }
  mw_buf_u8(b, '}');
}

static void json_sstables(mw_buf *b, Lance__Table__CompactedSsTableProto *const *c, size_t n) {
  mw_buf_u8(b, '[');
  for (size_t i = 0; i < n; i++) {
    json_raw(b, i ? ",{\"shard\":" : "{\"shard\":");
    json_uuid_msg(b, c[i]->shard_id);
    json_fmt(b, ",\"generation\":%" PRIu64 "}", c[i]->generation);
  }
  mw_buf_u8(b, ']');
}

static void json_mem_wal(mw_buf *b, const mw_table *t) {
  const Lance__Table__MemWalIndexDetailsProto *d = t->mem_wal;
  const Lance__Table__IndexMetadataProto *x = t->mem_wal_index;
  json_raw(b, "{\"index_uuid\":");
  json_uuid_msg(b, x->uuid);
  json_fmt(b, ",\"dataset_version\":%" PRIu64 ",\"index_version\":%" PRId32 ",\"created_at\":%" PRIu64,
           x->dataset_version, x->index_version, x->created_at);
  json_fmt(b, ",\"snapshot_ts_millis\":%" PRId64 ",\"num_shards\":%" PRIu32, d->snapshot_ts_millis, d->num_shards);
  if (d->has_inline_snapshots) json_fmt(b, ",\"inline_snapshots_bytes\":%zu", d->inline_snapshots.len);
  json_raw(b, ",\"sharding_specs\":[");
  for (size_t i = 0; i < d->n_sharding_specs; i++) {
    const Lance__Table__ShardingSpecProto *s = d->sharding_specs[i];
    json_fmt(b, "%s{\"spec_id\":%" PRIu32 ",\"fields\":[", i ? "," : "", s->spec_id);
    for (size_t k = 0; k < s->n_fields; k++) {
      const Lance__Table__ShardingFieldProto *f = s->fields[k];
      json_raw(b, k ? ",{\"field_id\":" : "{\"field_id\":");
      json_str(b, f->field_id);
      json_raw(b, ",\"source_ids\":[");
      for (size_t j = 0; j < f->n_source_ids; j++) json_fmt(b, "%s%" PRId32, j ? "," : "", f->source_ids[j]);
      json_raw(b, "],\"transform\":");
      json_str(b, f->transform);
      json_raw(b, ",\"expression\":");
      json_str(b, f->expression);
      json_raw(b, ",\"result_type\":");
      json_str(b, f->result_type);
      json_raw(b, ",\"parameters\":");
      json_string_map(b, f->parameters, f->n_parameters);
      mw_buf_u8(b, '}');
    }
    json_raw(b, "]}");
  }
  json_raw(b, "],\"maintained_indexes\":[");
  for (size_t i = 0; i < d->n_maintained_indexes; i++) {
    if (i) mw_buf_u8(b, ',');
    json_str(b, d->maintained_indexes[i]);
  }
  json_raw(b, "],\"compacted_sstables\":");
  json_sstables(b, d->compacted_sstables, d->n_compacted_sstables);
  json_raw(b, ",\"index_catchup\":[");
  for (size_t i = 0; i < d->n_index_catchup; i++) {
    json_raw(b, i ? ",{\"index_name\":" : "{\"index_name\":");
    json_str(b, d->index_catchup[i]->index_name);
    json_raw(b, ",\"caught_up_generations\":");
    json_sstables(b, d->index_catchup[i]->caught_up_generations, d->index_catchup[i]->n_caught_up_generations);
    mw_buf_u8(b, '}');
  }
  json_raw(b, "],\"writer_config_defaults\":");
  json_string_map(b, d->writer_config_defaults, d->n_writer_config_defaults);
  json_fmt(b, ",\"unknown_fields\":%zu}", (size_t)d->base.n_unknown_fields);
}

mw_status mw_table_describe_json(char **out, const mw_table *t, const char *uri, mw_error *err) {
  *out = NULL;
  mw_buf b;
  mw_buf_init(&b);
  mw_buf_u8(&b, '{');
  if (uri) {
    json_raw(&b, "\"uri\":");
    json_str(&b, uri);
    mw_buf_u8(&b, ',');
  }
  json_fmt(&b, "\"version\":%" PRIu64, t->version);
  const Lance__Table__WriterVersion *wv = t->manifest->pb->writer_version;
  json_raw(&b, ",\"writer\":");
  if (wv) {
    json_raw(&b, "{\"library\":");
    json_str(&b, wv->library);
    json_raw(&b, ",\"version\":");
    json_str(&b, wv->version);
    mw_buf_u8(&b, '}');
  } else {
    json_raw(&b, "null");
  }
  json_raw(&b, ",\"fields\":[");
  for (size_t i = 0; i < t->n_fields; i++) {
    const mw_table_field *f = &t->fields[i];
    json_raw(&b, i ? ",{\"name\":" : "{\"name\":");
    json_str(&b, f->path);
    json_fmt(&b, ",\"id\":%" PRId32 ",\"parent_id\":%" PRId32 ",\"type\":", f->id, f->parent_id);
    json_str(&b, f->logical_type);
    json_fmt(&b, ",\"nullable\":%s}", f->nullable ? "true" : "false");
  }
  json_raw(&b, "],\"primary_key\":[");
  for (size_t i = 0; i < t->n_pk; i++) {
    if (i) mw_buf_u8(&b, ',');
    json_str(&b, t->pk[i]->path);
  }
  json_raw(&b, "],\"spec\":");
  if (t->mem_wal == NULL) {
    json_raw(&b, "null");
  } else if (t->spec_ok) {
    char s[MW_ROUTING_COLUMN_MAX + 32];
    mw_routing_spec_format(s, sizeof s, &t->spec);
    json_str(&b, s);
  } else {
    json_raw(&b, "{\"error\":");
    json_str(&b, t->spec_error);
    mw_buf_u8(&b, '}');
  }
  json_raw(&b, ",\"mem_wal\":");
  if (t->mem_wal) {
    json_mem_wal(&b, t);
  } else {
    json_raw(&b, "null");
  }
  json_raw(&b, ",\"shards\":[");
  for (size_t i = 0; i < t->n_shards; i++) {
    char s[MW_UUID_STR_LEN + 1];
    mw_uuid_format(s, t->shards[i]);
    if (i) mw_buf_u8(&b, ',');
    json_str(&b, s);
  }
  json_raw(&b, "]}");
  mw_buf_u8(&b, '\0');
  if (!mw_buf_ok(&b)) {
    mw_buf_free(&b);
    return mw_err(err, MW_ERR_NOMEM, "out of memory rendering the table description");
  }
  size_t len;
  *out = (char *)mw_buf_take(&b, &len);
  return MW_OK;
}

mw_status mw_table_shard_ids(uint8_t (**out)[16], size_t *n_out, const mw_table *t, const char *shard,
                             const uint8_t only[16], mw_error *err) {
  *out = NULL;
  *n_out = 0;
  if (shard) {
    bool found = false;
    for (size_t i = 0; i < t->n_shards; i++) found = found || memcmp(t->shards[i], only, 16) == 0;
    if (!found) return mw_err(err, MW_ERR_NOT_FOUND, "shard %s has no folder under _mem_wal/", shard);
  }
  uint8_t(*ids)[16] = malloc((t->n_shards + 1) * sizeof *ids);
  if (!ids) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (t->n_shards) memcpy(ids, t->shards, t->n_shards * sizeof *ids);
  *out = ids;
  *n_out = t->n_shards;
  return MW_OK;
}
