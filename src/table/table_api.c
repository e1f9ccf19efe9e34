/*
 * table_api.c - the public accessors of an opened table (memwal.h, section
 * "tables"): version, the Arrow export of the schema, primary key, the
 * sharding spec as text, maintained indexes, writer config defaults (raw
 * and applied onto a mw_shard_writer_config) and the shard list.
 *
 * Design: mw_table is the snapshot table.c builds; these functions only
 * read it, so they are safe from any thread. The schema export rebuilds an
 * Arrow tree from the Lance fields (parent ids, manifest order), mapping
 * Lance logical types back to Arrow formats; the manifest is untrusted, so
 * every logical type is parsed strictly and anything unknown is refused
 * rather than guessed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/error.h"
#include "common/uuid.h"
#include "table/table.h"

#define PK_POSITION_KEY "lance-schema:unenforced-primary-key:position"
#define FIELD_ID_KEY "lance:field_id"

uint64_t mw_table_version(const mw_table *t) { return t->version; }

size_t mw_table_primary_key_count(const mw_table *t) { return t->n_pk; }

const char *mw_table_primary_key(const mw_table *t, size_t i) { return i < t->n_pk ? t->pk[i]->path : NULL; }

size_t mw_table_maintained_index_count(const mw_table *t) { return t->mem_wal ? t->mem_wal->n_maintained_indexes : 0; }

const char *mw_table_maintained_index(const mw_table *t, size_t i) {
  if (!t->mem_wal || i >= t->mem_wal->n_maintained_indexes) return NULL;
  return t->mem_wal->maintained_indexes[i] ? t->mem_wal->maintained_indexes[i] : "";
}

size_t mw_table_writer_default_count(const mw_table *t) {
  return t->mem_wal ? t->mem_wal->n_writer_config_defaults : 0;
}

mw_status mw_table_writer_default(const char **out_key, const char **out_value, const mw_table *t, size_t i,
                                  mw_error *err) {
  *out_key = *out_value = NULL;
  if (i >= mw_table_writer_default_count(t))
    return mw_err(err, MW_ERR_INVALID, "writer default %zu: the table has %zu", i, mw_table_writer_default_count(t));
  const Lance__Table__StringEntry *e = t->mem_wal->writer_config_defaults[i];
  *out_key = e->key ? e->key : "";
  *out_value = e->value ? e->value : "";
  return MW_OK;
}

size_t mw_table_shard_count(const mw_table *t) { return t->n_shards; }

mw_status mw_table_shard_id(char out[40], const mw_table *t, size_t i, mw_error *err) {
  out[0] = '\0';
  if (i >= t->n_shards) return mw_err(err, MW_ERR_INVALID, "shard %zu: the table has %zu shards", i, t->n_shards);
  mw_uuid_format(out, t->shards[i]);
  return MW_OK;
}

mw_status mw_table_sharding_spec(char *buf, size_t cap, int *out_routable, const mw_table *t, mw_error *err) {
  *out_routable = 0;
  if (cap) buf[0] = '\0';
  if (t->mem_wal == NULL) return mw_err(err, MW_ERR_NOT_FOUND, "the table has no MemWAL index");
  char s[MW_ROUTING_COLUMN_MAX + 32];
  if (t->spec_ok) mw_routing_spec_format(s, sizeof s, &t->spec);
  else snprintf(s, sizeof s, "%s", t->spec_error);
  size_t n = strlen(s);
  if (n >= cap) return mw_err(err, MW_ERR_INVALID, "sharding spec: buffer of %zu bytes is too small (%zu needed)", cap, n + 1);
  memcpy(buf, s, n + 1);
  *out_routable = t->spec_ok ? 1 : 0;
  return MW_OK;
}

/* ------------------------------------------------------- writer defaults */

static bool parse_u64(uint64_t *out, const char *s) {
  uint64_t v = 0;
  size_t i = 0;
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (i == 0 || s[i] != '\0') return false;
  *out = v;
  return true;
}

static bool parse_bool(int *out, const char *s) {
  if (strcmp(s, "true") == 0) *out = 1;
  else if (strcmp(s, "false") == 0) *out = 0;
  else return false;
  return true;
}

mw_status mw_table_apply_writer_defaults(mw_shard_writer_config *cfg, const mw_table *t, mw_error *err) {
  mw_shard_writer_config c = *cfg; /* applied only when every value parses */
  size_t n = mw_table_writer_default_count(t);
  for (size_t i = 0; i < n; i++) {
    const char *k, *v;
    MW_TRY(mw_table_writer_default(&k, &v, t, i, err));
    uint64_t u = 0;
    bool ok = true;
    if (strcmp(k, "durable_write") == 0) ok = parse_bool(&c.durable_write, v);
    else if (strcmp(k, "enable_memtable") == 0) ok = parse_bool(&c.enable_memtable, v);
    else if (strcmp(k, "max_wal_buffer_size") == 0) ok = parse_u64(&c.max_wal_buffer_size, v);
    else if (strcmp(k, "max_wal_flush_interval_ms") == 0) ok = parse_u64(&c.max_wal_flush_interval_ms, v);
    else if (strcmp(k, "max_memtable_size") == 0) ok = parse_u64(&c.max_memtable_size, v);
    else if (strcmp(k, "max_memtable_rows") == 0) ok = parse_u64(&c.max_memtable_rows, v);
    else if (strcmp(k, "max_memtable_batches") == 0) ok = parse_u64(&c.max_memtable_batches, v);
    else if (strcmp(k, "max_unflushed_memtable_bytes") == 0) ok = parse_u64(&c.max_unflushed_memtable_bytes, v);
    else if (strcmp(k, "backpressure_log_interval_ms") == 0) ok = parse_u64(&c.backpressure_log_interval_ms, v);
    else if (strcmp(k, "wal_persist_retry_base_delay_ms") == 0) ok = parse_u64(&c.retry_initial_backoff_ms, v);
    else if (strcmp(k, "manifest_scan_batch_size") == 0 || strcmp(k, "max_wal_persist_retries") == 0) {
      ok = parse_u64(&u, v) && u <= UINT32_MAX;
      if (ok && k[0] == 'm' && k[1] == 'a' && k[2] == 'n') c.manifest_scan_batch_size = (uint32_t)u;
      else if (ok) c.retry_max_attempts = (uint32_t)u;
    }
    if (!ok) return mw_err(err, MW_ERR_INVALID, "table writer default %s = '%.64s' is not a valid value", k, v);
  }
  *cfg = c;
  return MW_OK;
}

/* ----------------------------------------------------------- Arrow export */

static const char *unit_code(const char *u) {
  if (strcmp(u, "s") == 0) return "s";
  if (strcmp(u, "ms") == 0) return "m";
  if (strcmp(u, "us") == 0) return "u";
  if (strcmp(u, "ns") == 0) return "n";
  return NULL;
}

static bool plain_format(char *buf, size_t cap, const char *lt) {
  static const char *const map[][2] = {
      {"bool", "b"},         {"int8", "c"},          {"uint8", "C"},       {"int16", "s"},
      {"uint16", "S"},       {"int32", "i"},         {"uint32", "I"},      {"int64", "l"},
      {"uint64", "L"},       {"halffloat", "e"},     {"float", "f"},       {"double", "g"},
      {"string", "u"},       {"large_string", "U"},  {"binary", "z"},      {"large_binary", "Z"},
      {"date32:day", "tdD"}, {"date64:ms", "tdm"},   {"struct", "+s"},     {"list", "+l"},
      {"large_list", "+L"},  {"null", "n"},
  };
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (strcmp(lt, map[i][0]) == 0) {
      snprintf(buf, cap, "%s", map[i][1]);
      return true;
    }
  return false;
}

/* A decimal in [1, max] that ends at s + len. */
static bool parse_dim(const char *s, size_t len, long max, long *out) {
  long v = 0;
  if (len == 0 || len > 9) return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  if (v < 1 || v > max) return false;
  *out = v;
  return true;
}

bool mw_table_arrow_format(char *buf, size_t cap, char *item_buf, size_t item_cap, const char *lt) {
  if (plain_format(buf, cap, lt)) return true;
  const char *c1 = strchr(lt, ':');
  if (c1 == NULL) return false;
  size_t head = (size_t)(c1 - lt);
  const char *rest = c1 + 1;
  long n = 0;
  if (head == 17 && strncmp(lt, "fixed_size_binary", head) == 0) {
    if (!parse_dim(rest, strlen(rest), 1L << 30, &n)) return false;
    snprintf(buf, cap, "w:%ld", n);
    return true;
  }
  if (head == 15 && strncmp(lt, "fixed_size_list", head) == 0) {
    const char *c2 = strrchr(rest, ':');
    if (c2 == NULL || !parse_dim(c2 + 1, strlen(c2 + 1), 1L << 20, &n)) return false;
    char inner[32];
    size_t il = (size_t)(c2 - rest);
    if (il == 0 || il >= sizeof inner) return false;
    memcpy(inner, rest, il);
    inner[il] = '\0';
    char f[16];
    if (!plain_format(f, sizeof f, inner) || f[0] == '+' || f[0] == 'u' || f[0] == 'U' || f[0] == 'z' ||
        f[0] == 'Z' || f[0] == 't' || f[0] == 'n')
      return false;
    if (item_buf) snprintf(item_buf, item_cap, "%s", f);
    snprintf(buf, cap, "+w:%ld", n);
    return true;
  }
  if ((head == 6 && strncmp(lt, "time32", 6) == 0) || (head == 6 && strncmp(lt, "time64", 6) == 0) ||
      (head == 8 && strncmp(lt, "duration", 8) == 0)) {
    const char *u = unit_code(rest);
    if (u == NULL) return false;
    bool t32 = lt[4] == '3';
    if (head == 6 && (t32 ? (u[0] != 's' && u[0] != 'm') : (u[0] != 'u' && u[0] != 'n'))) return false;
    snprintf(buf, cap, "%s%s", head == 8 ? "tD" : "tt", u);
    return true;
  }
  if (head == 9 && strncmp(lt, "timestamp", 9) == 0) {
    const char *c2 = strchr(rest, ':');
    if (c2 == NULL) return false;
    char unit[4];
    size_t ul = (size_t)(c2 - rest);
    if (ul == 0 || ul >= sizeof unit) return false;
    memcpy(unit, rest, ul);
    unit[ul] = '\0';
    const char *u = unit_code(unit);
    if (u == NULL) return false;
    const char *tz = c2 + 1;
    if (strcmp(tz, "-") == 0) tz = "";
    if (strlen(tz) > 64) return false;
    snprintf(buf, cap, "ts%s:%s", u, tz);
    return true;
  }
  if (head == 7 && strncmp(lt, "decimal", 7) == 0) {
    int bits = 0, p = 0, s = 0;
    char tail;
    if (sscanf(rest, "%d:%d:%d%c", &bits, &p, &s, &tail) != 3 || bits != 128 || p < 1 || p > 38 || s < -p || s > p)
      return false;
    snprintf(buf, cap, "d:%d,%d", p, s);
    return true;
  }
  return false;
}

/* Builds the Arrow node of field index fi and, recursively, its children. */
static mw_status export_field(struct ArrowSchema *out, const mw_table *t, size_t fi, int depth, mw_error *err) {
  const mw_table_field *f = &t->fields[fi];
  const Lance__Table__LanceField *lf = t->manifest->pb->fields[fi];
  if (depth > 32) return mw_err(err, MW_ERR_CORRUPT, "table schema: field '%s' is nested too deeply", f->path);
  char fmt[96], item[16] = "";
  if (!mw_table_arrow_format(fmt, sizeof fmt, item, sizeof item, f->logical_type))
    return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': Lance type '%.64s' has no Arrow mapping here", f->path,
                  f->logical_type);
  /* metadata: Lance's, then the field id and the key position */
  size_t nm = lf->n_metadata;
  mw_kv *kv = calloc(nm + 2, sizeof *kv);
  if (kv == NULL) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  int32_t n = 0;
  bool has_pos = false;
  for (size_t i = 0; i < nm; i++) {
    const Lance__Table__MetadataEntry *e = lf->metadata[i];
    const char *k = e->key ? e->key : "";
    if (strcmp(k, FIELD_ID_KEY) == 0) continue;
    if (strcmp(k, PK_POSITION_KEY) == 0) has_pos = true;
    if (e->value.len > INT32_MAX) continue;
    kv[n++] = (mw_kv){k, (int32_t)strlen(k), (const char *)e->value.data, (int32_t)e->value.len};
  }
  char idtext[16], postext[24] = "";
  snprintf(idtext, sizeof idtext, "%" PRId32, f->id);
  kv[n++] = (mw_kv){FIELD_ID_KEY, (int32_t)strlen(FIELD_ID_KEY), idtext, (int32_t)strlen(idtext)};
  if (f->primary_key && !has_pos) {
    for (size_t k = 0; k < t->n_pk; k++)
      if (t->pk[k] == f) snprintf(postext, sizeof postext, "%zu", k + 1);
    kv[n++] = (mw_kv){PK_POSITION_KEY, (int32_t)strlen(PK_POSITION_KEY), postext, (int32_t)strlen(postext)};
  }
  bool ok = true;
  char *md = mw_metadata_build(kv, n, &ok);
  free(kv);
  if (!ok) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  /* children: the Lance fields whose parent is this one (manifest order) */
  int64_t nc = 0;
  bool fsl = fmt[0] == '+' && fmt[1] == 'w';
  if (fsl) nc = 1;
  else if (fmt[0] == '+')
    for (size_t i = 0; i < t->n_fields; i++)
      if (t->fields[i].parent_id == f->id && i != fi) nc++;
  if ((fmt[1] == 'l' || fmt[1] == 'L') && fmt[0] == '+' && nc != 1) {
    free(md);
    return mw_err(err, MW_ERR_CORRUPT, "table schema: list field '%s' has %lld children", f->path, (long long)nc);
  }
  mw_status st = mw_schema_init(out, fmt, f->name, md, f->nullable ? ARROW_FLAG_NULLABLE : 0, nc, err);
  free(md);
  if (st != MW_OK) return st;
  if (fsl) return mw_schema_init(out->children[0], item, "item", NULL, ARROW_FLAG_NULLABLE, 0, err);
  int64_t c = 0;
  for (size_t i = 0; i < t->n_fields && c < nc; i++)
    if (t->fields[i].parent_id == f->id && i != fi) MW_TRY(export_field(out->children[c++], t, i, depth + 1, err));
  return MW_OK;
}

mw_status mw_table_schema(struct ArrowSchema *out, const mw_table *t, mw_error *err) {
  memset(out, 0, sizeof *out);
  const Lance__Table__TableManifest *pb = t->manifest->pb;
  mw_kv *kv = calloc(pb->n_schema_metadata + 1, sizeof *kv);
  if (kv == NULL) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  int32_t nk = 0;
  for (size_t i = 0; i < pb->n_schema_metadata; i++) {
    const Lance__Table__MetadataEntry *e = pb->schema_metadata[i];
    const char *k = e->key ? e->key : "";
    if (e->value.len > INT32_MAX) continue;
    kv[nk++] = (mw_kv){k, (int32_t)strlen(k), (const char *)e->value.data, (int32_t)e->value.len};
  }
  bool ok = true;
  char *md = mw_metadata_build(kv, nk, &ok);
  free(kv);
  if (!ok) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  int64_t n_top = 0;
  for (size_t i = 0; i < t->n_fields; i++)
    if (t->fields[i].parent_id < 0) n_top++;
  mw_status st = mw_schema_init(out, "+s", "", md, 0, n_top, err);
  free(md);
  int64_t c = 0;
  for (size_t i = 0; st == MW_OK && i < t->n_fields; i++)
    if (t->fields[i].parent_id < 0) st = export_field(out->children[c++], t, i, 0, err);
  if (st != MW_OK) mw_schema_release(out);
  return st;
}
