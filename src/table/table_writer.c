/*
 * table_writer.c - writing a Lance table through its MemWAL (issue 10 item
 * 3; LSM.md sections 1-3): rows are routed to shards by the table's
 * sharding spec, as LanceDB routes them, and each shard is written by its
 * own ShardWriter.
 *
 * Design.
 *  - Open reads the base table (its latest version): schema, primary key,
 *    the `__lance_mem_wal` sharding spec and writer_config_defaults. The
 *    caller's Arrow schema must name the table's top-level columns in the
 *    table's order with the same Lance logical types; the primary-key field
 *    metadata is set from the table (a conflicting marker is refused). The
 *    table's writer defaults apply to every field the caller left at the
 *    library default (explicit settings win).
 *  - put routes every row (mw_route_batch): a batch whose rows all go to one
 *    shard is handed to that shard as is (zero copy, ownership moves as in
 *    mw_shard_writer_put); otherwise one sub-batch per shard is gathered
 *    (mw_array_take) and the caller's batches are released once every shard
 *    took its rows. Unlike LanceDB, which wants pre-sharded input and one
 *    open shard at a time, any number of shards may be written at once.
 *  - Shard writers are opened lazily on first use (claiming the shard) and
 *    closed when idle for idle_close_ms or when more than max_open_shards
 *    are open (least recently used first).
 *  - Concurrency: `mu` guards the shard table (entries, their state,
 *    refs and last use) and the counters; it is never held across a shard
 *    writer's open/put/close (I/O). An entry being opened is OPENING; other
 *    threads that need it wait on `cv` (signalled when an open finishes or
 *    an entry's refs drop to 0). An entry with refs > 0 is never closed.
 *  - Errors name the shard. A durable put returns once every shard entry it
 *    touched is durable (each shard put waits for its own WAL entry).
 *  - Maintained indexes: open resolves the MemWAL index's maintained index
 *    names to index configs (mw_table_resolve_indexes: kind from the base index's
 *    type URL, column from its first field) that every shard writer keeps
 *    in memory and writes into each flushed generation (gen_index.h);
 *    kinds not built yet are left out with a warning naming them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arrow/c_data.h"
#include "arrow/take.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "lance/gen_index.h"
#include "lance/lance_file.h"
#include "lance/pb.h"
#include "table/routing.h"
#include "table/table.h"
#include "writer/shard_writer_split.h"

typedef enum { TW_OPENING, TW_OPEN, TW_CLOSED } tw_state;

typedef struct tw_shard {
  uint8_t id[16];
  char id_str[40];
  int32_t bucket; /* bucket spec: the bucket; else -1 */
  mw_shard_writer *w;
  tw_state state;
  unsigned refs;      /* puts using it now */
  uint64_t last_used; /* ms */
  uint64_t rows, puts;
} tw_shard;

struct mw_table_writer {
  /* immutable after open */
  mw_objstore *store;
  mw_table_writer_config cfg;
  struct ArrowSchema schema; /* the caller's, with the table's key markers */
  struct ArrowSchema key_schema; /* the key columns of `schema`, in key order */
  mw_routing_spec spec;
  char spec_text[300];
  uint32_t spec_id;
  uint64_t table_version;
  bool durable; /* the caller's durable_write: shard writers run non-durable and
                   put waits for the WAL entries of all its shards at once */

  pthread_mutex_t mu;
  pthread_cond_t cv; /* an open finished, or an entry's refs dropped to 0 */
  /* (mu) */
  tw_shard *shards;
  size_t n_shards, cap_shards;
  uint64_t rows, puts;
  bool closing;
  unsigned calls; /* put / delete / flush calls in flight (close waits for 0) */
  /* immutable after open: the maintained indexes every shard writer keeps
   * (names/columns owned) */
  mw_index_config *indexes;
  size_t n_indexes;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void mw_table_writer_config_init(mw_table_writer_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->struct_size = sizeof *cfg;
  mw_shard_writer_config_init(&cfg->shard);
  cfg->shard.first_wal_entry_position = 1;
  cfg->idle_close_ms = 60000;
  cfg->max_open_shards = 1024;
}

/* ------------------------------------------------------------ open */

/* Applies the table's writer_config_defaults (mw_table_apply_writer_defaults)
 * to every field the caller left at the library default: explicit settings
 * win. */
static mw_status apply_table_defaults(mw_shard_writer_config *c, const mw_table *t, mw_error *err) {
  mw_shard_writer_config lib, tab;
  mw_shard_writer_config_init(&lib);
  tab = lib;
  MW_TRY(mw_table_apply_writer_defaults(&tab, t, err));
#define TAKE(f) \
  if (c->f == lib.f) c->f = tab.f;
  TAKE(durable_write)
  TAKE(enable_memtable)
  TAKE(sync_indexed_write)
  TAKE(max_wal_buffer_size)
  TAKE(max_wal_flush_interval_ms)
  TAKE(max_memtable_size)
  TAKE(max_memtable_rows)
  TAKE(max_memtable_batches)
  TAKE(max_unflushed_memtable_bytes)
  TAKE(backpressure_log_interval_ms)
  TAKE(async_index_buffer_rows)
  TAKE(async_index_interval_ms)
  TAKE(manifest_scan_batch_size)
  TAKE(retry_max_attempts)
  TAKE(retry_initial_backoff_ms)
  TAKE(retry_max_backoff_ms)
  TAKE(retry_max_elapsed_ms)
#undef TAKE
  return MW_OK;
}

/* The caller's schema with the table's primary-key markers, checked
 * against the table's top-level columns. */
static mw_status bind_schema(struct ArrowSchema *out, const struct ArrowSchema *s, const mw_table *t,
                             mw_error *err) {
  if (!s || !s->release || !s->format || strcmp(s->format, "+s") != 0)
    return mw_err(err, MW_ERR_INVALID, "table writer: the schema must be a struct (\"+s\") schema of the columns");
  size_t n_top = 0;
  for (size_t i = 0; i < t->n_fields; i++) n_top += t->fields[i].parent_id == -1;
  if ((size_t)s->n_children != n_top)
    return mw_err(err, MW_ERR_INVALID, "table writer: the schema has %" PRId64 " columns, the table %zu",
                  s->n_children, n_top);
  MW_TRY(mw_schema_init(out, "+s", s->name, s->metadata, s->flags, s->n_children, err));
  size_t k = 0;
  mw_status st = MW_OK;
  for (size_t i = 0; st == MW_OK && i < t->n_fields; i++) {
    const mw_table_field *f = &t->fields[i];
    if (f->parent_id != -1) continue;
    const struct ArrowSchema *c = s->children[k];
    if (!c->name || strcmp(c->name, f->name) != 0) {
      st = mw_err(err, MW_ERR_INVALID, "table writer: column %zu is '%s', the table's is '%s'", k,
                  c->name ? c->name : "", f->name);
      break;
    }
    char lt[128];
    mw_error te = {0};
    if (mw_lance_logical_type(lt, sizeof lt, c, &te) != MW_OK) {
      st = mw_err(err, MW_ERR_UNSUPPORTED, "table writer: column '%s': %s", f->name, te.message);
      break;
    }
    if (f->logical_type && strcmp(lt, f->logical_type) != 0) {
      st = mw_err(err, MW_ERR_INVALID, "table writer: column '%s' has Lance type %s, the table's is %s", f->name, lt,
                  f->logical_type);
      break;
    }
    /* key marker: the table's, whatever the caller wrote */
    uint32_t pos = 0;
    for (size_t p = 0; p < t->n_pk; p++)
      if (t->pk[p] == f) pos = (uint32_t)p + 1;
    mw_kv had;
    bool marked = c->metadata && mw_metadata_find(c->metadata, MW_LANCE_PK_POSITION_KEY, &had);
    if (marked && pos == 0) {
      st = mw_err(err, MW_ERR_INVALID, "table writer: column '%s' is marked as a primary key, the table's key is not",
                  f->name);
      break;
    }
    char *meta = NULL;
    if (pos > 0) {
      char v[16];
      snprintf(v, sizeof v, "%" PRIu32, pos);
      bool ok = true;
      meta = mw_metadata_with(c->metadata, MW_LANCE_PK_POSITION_KEY, v, &ok);
      if (!ok) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
    if (st == MW_OK) st = mw_schema_copy_with_metadata(out->children[k], c, pos > 0 ? meta : c->metadata, err);
    free(meta);
    k++;
  }
  if (st == MW_OK && t->n_pk == 0)
    st = mw_err(err, MW_ERR_INVALID, "table writer: the table has no primary key (rows are routed and merged by it)");
  if (st != MW_OK) mw_schema_release(out);
  return st;
}

/* ------------------------------------------------------------ maintained indexes */


typedef struct tw_log {
  mw_log_fn fn;
  void *arg;
} tw_log;

static void tw_warn(const tw_log *c, const char *msg) {
  if (c->fn) c->fn(c->arg, MW_LOG_WARN, msg);
  else fprintf(stderr, "memwal: warning: %s\n", msg);
}

static void free_indexes(mw_index_config *ix, size_t n) {
  for (size_t i = 0; ix && i < n; i++) {
    free((char *)ix[i].name);
    free((char *)ix[i].column);
  }
  free(ix);
}

void mw_table_free_indexes(mw_index_config *ix, size_t n) { free_indexes(ix, n); }

/* Case-insensitive suffix test of a type URL ("/lance.table.BTreeIndexDetails"). */
static bool url_is(const char *url, const char *msg) {
  size_t ul = strlen(url), ml = strlen(msg);
  return ul >= ml && strcasecmp(url + ul - ml, msg) == 0 && (ul == ml || url[ul - ml - 1] == '.' || url[ul - ml - 1] == '/');
}

/* Resolves the MemWAL index's maintained index names to index configs
 * (LSM.md sections 1 and 6): each names a base-table index whose first
 * field is the column and whose index_details type URL gives the kind
 * (BTreeIndexDetails -> BTree, InvertedIndexDetails -> FTS,
 * VectorIndexDetails -> HNSW, l2 unless the details' field 1 says
 * otherwise: field 1 = Lance's MetricType, L2 0 (omitted), Cosine 1, Dot 2
 * (seen in the manifests LanceDB 0.39 writes for ivfPq indexes with
 * distanceType cosine and dot). Indexes of
 * an unknown type URL, on a nested field, or on a column type the
 * generation index cannot have are left out with a warning naming them: the generations are still flushed, only
 * without that index. A name with no base index is a warning too (LanceDB
 * checks the names when it installs the spec). */
mw_status mw_table_resolve_indexes(mw_index_config **out, size_t *n_out, const mw_table *t,
                                   const struct ArrowSchema *schema, mw_log_fn log_fn, void *log_arg,
                                   mw_error *err) {
  tw_log lg = {log_fn, log_arg};
  const tw_log *c = &lg;
  *out = NULL;
  *n_out = 0;
  size_t n = t->mem_wal ? t->mem_wal->n_maintained_indexes : 0;
  if (n == 0) return MW_OK;
  mw_index_config *ix = calloc(n, sizeof *ix);
  if (!ix) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  size_t k = 0;
  char msg[512];
  for (size_t i = 0; i < n; i++) {
    const char *name = t->mem_wal->maintained_indexes[i] ? t->mem_wal->maintained_indexes[i] : "";
    const Lance__Table__IndexMetadataProto *im = mw_lance_table_find_index(t->manifest, name);
    if (!im) {
      snprintf(msg, sizeof msg, "maintained index '%s' is not an index of the table: not built", name);
      tw_warn(c, msg);
      continue;
    }
    const char *url = im->index_details && im->index_details->type_url ? im->index_details->type_url : "";
    const mw_table_field *f = im->n_fields > 0 ? mw_table_field_by_id(t, im->fields[0]) : NULL;
    mw_index_kind kind = 0;
    mw_metric metric = MW_METRIC_L2;
    if (url_is(url, "BTreeIndexDetails")) kind = MW_INDEX_BTREE;
    else if (url_is(url, "InvertedIndexDetails")) kind = MW_INDEX_FTS;
    else if (url_is(url, "VectorIndexDetails")) {
      kind = MW_INDEX_HNSW;
      mw_pb_field mf;
      if (im->index_details->has_value &&
          mw_pb_find(im->index_details->value.data, im->index_details->value.len, 1, &mf) && mf.wire_type == 0)
        metric = mf.val == 1 ? MW_METRIC_COSINE : mf.val == 2 ? MW_METRIC_DOT : MW_METRIC_L2;
    }
    const struct ArrowSchema *col = NULL;
    for (int64_t j = 0; f && j < schema->n_children; j++)
      if (strcmp(schema->children[j]->name, f->name) == 0) col = schema->children[j];
    if (!kind || !f || f->parent_id != -1 || !mw_gen_index_column_ok(kind, col)) {
      snprintf(msg, sizeof msg,
               "maintained index '%s' (%s%s%s) is not built by memwal yet: flushed generations carry no '%s' index, "
               "so LanceDB searches through it do not see their rows",
               name, url[0] ? url : "no type", f ? " on " : "", f ? f->path : "", name);
      tw_warn(c, msg);
      continue;
    }
    mw_index_config_init(&ix[k], NULL, NULL, kind);
    ix[k].metric = metric;
    ix[k].name = strdup(name);
    ix[k].column = strdup(f->name);
    k++;
    if (!ix[k - 1].name || !ix[k - 1].column) {
      free_indexes(ix, k);
      return mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
  }
  *out = ix;
  *n_out = k;
  return MW_OK;
}

mw_status mw_table_writer_open(mw_table_writer **out, mw_objstore *store, const mw_table_writer_config *cfg,
                               const struct ArrowSchema *schema, mw_error *err) {
  *out = NULL;
  if (!store) return mw_err(err, MW_ERR_INVALID, "table writer: store is NULL");
  mw_table_writer_config c;
  mw_table_writer_config_init(&c);
  if (cfg) {
    if (cfg->struct_size < sizeof(uint32_t) + sizeof(mw_shard_writer_config) || cfg->struct_size > sizeof c)
      return mw_err(err, MW_ERR_INVALID, "table writer config: struct_size %u is not a known version", cfg->struct_size);
    memcpy(&c, cfg, cfg->struct_size);
    c.struct_size = sizeof c;
  }
  mw_table *t = NULL;
  MW_TRY(mw_table_open(&t, store, err));
  mw_status s = MW_OK;
  if (!t->mem_wal) s = mw_err(err, MW_ERR_INVALID, "table writer: the table has no MemWAL spec (set one with memwal set-spec)");
  else if (!t->spec_ok) s = mw_err(err, MW_ERR_UNSUPPORTED, "table writer: cannot route this table: %s", t->spec_error);
  mw_table_writer *w = s == MW_OK ? calloc(1, sizeof *w) : NULL;
  if (s == MW_OK && !w) s = mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (s == MW_OK) {
    w->store = store;
    w->cfg = c;
    w->spec = t->spec;
    w->table_version = t->version;
    w->spec_id = t->mem_wal->n_sharding_specs > 0 ? t->mem_wal->sharding_specs[0]->spec_id : 0;
    mw_routing_spec_format(w->spec_text, sizeof w->spec_text, &w->spec);
    s = apply_table_defaults(&w->cfg.shard, t, err);
    if (s == MW_OK) s = bind_schema(&w->schema, schema, t, err);
    if (s == MW_OK) {
      s = mw_table_resolve_indexes(&w->indexes, &w->n_indexes, t, &w->schema, w->cfg.shard.log_fn,
                                   w->cfg.shard.log_arg, err);
      if (s != MW_OK) mw_schema_release(&w->schema);
    }
  }
  mw_table_close(t);
  if (s != MW_OK) {
    free(w);
    return s;
  }
  {
    /* the key columns, in key order: the default schema of delete keys */
    size_t nk = 0;
    int64_t cols[16];
    for (int64_t i = 0; i < w->schema.n_children && nk < 16; i++) {
      mw_kv pk;
      if (w->schema.children[i]->metadata &&
          mw_metadata_find(w->schema.children[i]->metadata, MW_LANCE_PK_POSITION_KEY, &pk))
        cols[nk++] = i;
    }
    s = mw_schema_init(&w->key_schema, "+s", "", NULL, 0, (int64_t)nk, err);
    for (size_t k = 0; s == MW_OK && k < nk; k++) {
      /* order by the recorded position */
      for (size_t j = 0; j < nk; j++) {
        mw_kv pk;
        mw_metadata_find(w->schema.children[cols[j]]->metadata, MW_LANCE_PK_POSITION_KEY, &pk);
        char v[16] = "";
        if (pk.value_len > 0 && pk.value_len < (int32_t)sizeof v) memcpy(v, pk.value, (size_t)pk.value_len);
        if (strtoul(v, NULL, 10) != k + 1) continue; /* bind_schema wrote "1", "2", ... */
        s = mw_schema_copy(w->key_schema.children[k], w->schema.children[cols[j]], err);
      }
    }
    if (s != MW_OK) {
      mw_schema_release(&w->schema);
      free_indexes(w->indexes, w->n_indexes);
      free(w);
      return s;
    }
  }
  w->cfg.shard.shard_spec_id = w->spec_id;
  w->durable = w->cfg.shard.durable_write != 0;
  w->cfg.shard.durable_write = 0;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  *out = w;
  return MW_OK;
}

/* ------------------------------------------------------------ shards */

/* Finds or adds the entry of shard `id` (mu held). NULL when out of memory. */
static tw_shard *entry_for(mw_table_writer *w, const uint8_t id[16], int32_t bucket, bool *created) {
  *created = false;
  for (size_t i = 0; i < w->n_shards; i++)
    if (memcmp(w->shards[i].id, id, 16) == 0) return &w->shards[i];
  if (w->n_shards == w->cap_shards) {
    size_t cap = w->cap_shards ? w->cap_shards * 2 : 16;
    tw_shard *n = realloc(w->shards, cap * sizeof *n);
    if (!n) return NULL;
    w->shards = n;
    w->cap_shards = cap;
  }
  tw_shard *e = &w->shards[w->n_shards++];
  memset(e, 0, sizeof *e);
  memcpy(e->id, id, 16);
  mw_uuid_format(e->id_str, id);
  e->bucket = bucket;
  e->state = TW_OPENING;
  *created = true;
  return e;
}

static size_t entry_index(mw_table_writer *w, const uint8_t id[16]) {
  for (size_t i = 0; i < w->n_shards; i++)
    if (memcmp(w->shards[i].id, id, 16) == 0) return i;
  return (size_t)-1;
}

/* Takes a reference on shard `id`, opening its writer if needed (mu not
 * held on entry or exit). */
static mw_status acquire(mw_table_writer *w, const uint8_t id[16], int32_t bucket, mw_error *err) {
  pthread_mutex_lock(&w->mu);
  for (;;) {
    bool created = false;
    tw_shard *e = entry_for(w, id, bucket, &created);
    if (!e) {
      pthread_mutex_unlock(&w->mu);
      return mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
    if (!created && e->state == TW_OPENING) {
      pthread_cond_wait(&w->cv, &w->mu);
      continue; /* the entry may have moved (the array grows) */
    }
    if (e->state == TW_CLOSED) { /* closed when idle, or a failed open: (re)open */
      e->state = TW_OPENING;
      created = true;
    }
    e->refs++;
    if (!created) {
      pthread_mutex_unlock(&w->mu);
      return MW_OK;
    }
    char sid[40];
    snprintf(sid, sizeof sid, "%s", e->id_str);
    pthread_mutex_unlock(&w->mu);
    mw_shard_writer_config sc = w->cfg.shard;
    snprintf(sc.shard_id, sizeof sc.shard_id, "%s", sid);
    mw_shard_writer *sw = NULL;
    mw_status s = mw_shard_writer_open(&sw, w->store, &sc, &w->schema, sc.enable_memtable ? w->indexes : NULL,
                                        sc.enable_memtable ? w->n_indexes : 0, err);
    if (s != MW_OK) mw_err_wrap(err, s, "opening shard %s", sid);
    pthread_mutex_lock(&w->mu);
    size_t i = entry_index(w, id);
    if (s == MW_OK) {
      w->shards[i].w = sw;
      w->shards[i].state = TW_OPEN;
    } else {
      w->shards[i].state = TW_CLOSED;
      w->shards[i].refs--;
    }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return s;
  }
}

static void release_ref(mw_table_writer *w, const uint8_t id[16], uint64_t rows) {
  pthread_mutex_lock(&w->mu);
  size_t i = entry_index(w, id);
  if (i != (size_t)-1) {
    tw_shard *e = &w->shards[i];
    e->refs--;
    e->last_used = now_ms();
    if (rows) {
      e->rows += rows;
      e->puts++;
    }
    if (e->refs == 0) pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
}

static mw_shard_writer *writer_of(mw_table_writer *w, const uint8_t id[16]) {
  pthread_mutex_lock(&w->mu);
  size_t i = entry_index(w, id);
  mw_shard_writer *sw = i == (size_t)-1 ? NULL : w->shards[i].w;
  pthread_mutex_unlock(&w->mu);
  return sw;
}

/* Closes shard writers idle for idle_close_ms, and the least recently used
 * beyond max_open_shards (mu not held). Their errors are logged to stderr
 * through the shard writers' own logs; a failed close is returned. */
static mw_status close_idle(mw_table_writer *w, mw_error *err) {
  mw_shard_writer *victims[64];
  char names[64][40];
  size_t nv = 0;
  pthread_mutex_lock(&w->mu);
  uint64_t now = now_ms();
  for (;;) {
    size_t open = 0, lru = (size_t)-1;
    for (size_t i = 0; i < w->n_shards; i++) {
      tw_shard *e = &w->shards[i];
      if (e->state != TW_OPEN) continue;
      open++;
      if (e->refs == 0 && (lru == (size_t)-1 || e->last_used < w->shards[lru].last_used)) lru = i;
    }
    if (lru == (size_t)-1 || nv == 64) break;
    tw_shard *e = &w->shards[lru];
    bool idle = w->cfg.idle_close_ms && now - e->last_used >= w->cfg.idle_close_ms;
    bool over = w->cfg.max_open_shards && open > w->cfg.max_open_shards;
    if (!idle && !over) break;
    victims[nv] = e->w;
    snprintf(names[nv], sizeof names[nv], "%s", e->id_str);
    nv++;
    e->w = NULL;
    e->state = TW_CLOSED; /* keeps its counters; reopened on next use */
  }
  pthread_mutex_unlock(&w->mu);
  mw_status first = MW_OK;
  for (size_t i = 0; i < nv; i++) {
    mw_error e = {0};
    mw_status s = mw_shard_writer_close(victims[i], &e);
    if (s != MW_OK && first == MW_OK) first = mw_err(err, s, "closing idle shard %s: %s", names[i], e.message);
  }
  return first;
}

/* ------------------------------------------------------------ put */

/* The shards one put touched: each holds a reference until the put ends. */
typedef struct touched {
  uint8_t (*ids)[16];
  uint64_t *rows, *end;
  size_t n, cap;
} touched;

static bool touched_add(touched *t, const uint8_t id[16], uint64_t rows) {
  for (size_t i = 0; i < t->n; i++)
    if (memcmp(t->ids[i], id, 16) == 0) {
      t->rows[i] += rows;
      return true;
    }
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    uint8_t(*ids)[16] = realloc(t->ids, cap * 16);
    if (ids) t->ids = ids;
    uint64_t *r = realloc(t->rows, cap * sizeof *r);
    if (r) t->rows = r;
    uint64_t *e = realloc(t->end, cap * sizeof *e);
    if (e) t->end = e;
    if (!ids || !r || !e) return false;
    t->cap = cap;
  }
  memcpy(t->ids[t->n], id, 16);
  t->rows[t->n] = rows;
  t->end[t->n] = 0;
  t->n++;
  return true;
}

typedef struct open_job {
  mw_table_writer *w;
  const uint8_t *id;
  int32_t bucket;
  mw_status status;
  mw_error err;
  pthread_t th;
  bool started;
} open_job;

static void *open_main(void *p) {
  open_job *j = p;
  j->status = acquire(j->w, j->id, j->bucket, &j->err);
  return NULL;
}

/* References (and opens, in parallel threads: each open claims a shard and
 * replays its WAL, mostly waiting on storage) every shard of a routed batch
 * that `t` does not hold yet. */
static mw_status acquire_all(mw_table_writer *w, touched *t, const mw_routing *r, mw_error *err) {
  open_job *jobs = calloc(r->n_shards, sizeof *jobs);
  if (!jobs) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  size_t nj = 0;
  for (uint32_t k = 0; k < r->n_shards; k++) {
    bool known = false;
    for (size_t i = 0; i < t->n; i++) known |= memcmp(t->ids[i], r->shard_ids[k], 16) == 0;
    if (known) continue;
    jobs[nj] = (open_job){w, r->shard_ids[k], r->shard_bucket ? r->shard_bucket[k] : -1, MW_OK, {0}, 0, false};
    nj++;
  }
  /* Only shards not open yet need a thread; the rest are referenced here. */
  for (size_t i = 0; i < nj; i++) {
    pthread_mutex_lock(&w->mu);
    size_t e = entry_index(w, jobs[i].id);
    bool open = e != (size_t)-1 && w->shards[e].state == TW_OPEN;
    pthread_mutex_unlock(&w->mu);
    if (!open && nj > 1 && pthread_create(&jobs[i].th, NULL, open_main, &jobs[i]) == 0) jobs[i].started = true;
    else open_main(&jobs[i]);
  }
  mw_status first = MW_OK;
  for (size_t i = 0; i < nj; i++) {
    if (jobs[i].started) pthread_join(jobs[i].th, NULL);
    if (jobs[i].status == MW_OK) {
      if (!touched_add(t, jobs[i].id, 0)) {
        release_ref(w, jobs[i].id, 0);
        if (first == MW_OK) first = mw_err(err, MW_ERR_NOMEM, "out of memory");
      }
    } else if (first == MW_OK) {
      first = jobs[i].status;
      if (err) *err = jobs[i].err;
    }
  }
  free(jobs);
  return first;
}

/* Puts `b` (one batch, owned by the caller until taken) into shard `id`
 * without waiting for durability; the shard stays referenced in `t`. */
static mw_status put_shard(mw_table_writer *w, touched *t, const uint8_t id[16], int32_t bucket,
                           struct ArrowArray *b, const struct ArrowSchema *keys_schema, mw_error *err) {
  bool known = false;
  for (size_t i = 0; i < t->n; i++) known |= memcmp(t->ids[i], id, 16) == 0;
  if (!known) {
    MW_TRY(acquire(w, id, bucket, err));
    if (!touched_add(t, id, 0)) {
      release_ref(w, id, 0);
      return mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
  }
  mw_shard_writer *sw = writer_of(w, id);
  uint64_t rows = (uint64_t)b->length;
  /* keys_schema: a delete of the keys in b (tombstones), else a put. */
  mw_status s = keys_schema ? mw_shard_writer_delete(NULL, sw, b, keys_schema, err) : mw_shard_writer_put(NULL, sw, b, 1, err);
  if (s != MW_OK) {
    char sid[40];
    mw_uuid_format(sid, id);
    mw_err_wrap(err, s, "shard %s", sid);
  } else {
    touched_add(t, id, rows);
  }
  return s;
}

/* Makes every touched shard's entries durable: all flushes are started
 * first, then waited for, so the shards write at the same time. Then drops
 * the references (counting the rows). */
static mw_status finish_touched(mw_table_writer *w, touched *t, bool wait, mw_error *err) {
  mw_status first = MW_OK;
  for (size_t i = 0; wait && i < t->n; i++) {
    mw_error e = {0};
    mw_status s = mw_shard_writer_request_wal_flush(&t->end[i], writer_of(w, t->ids[i]), &e);
    if (s != MW_OK && first == MW_OK) {
      char sid[40];
      mw_uuid_format(sid, t->ids[i]);
      first = mw_err(err, s, "shard %s: %s", sid, e.message);
    }
  }
  for (size_t i = 0; wait && i < t->n; i++) {
    mw_error e = {0};
    mw_status s = t->end[i] ? mw_shard_writer_wait_wal(writer_of(w, t->ids[i]), t->end[i], &e) : MW_OK;
    if (s != MW_OK && first == MW_OK) {
      char sid[40];
      mw_uuid_format(sid, t->ids[i]);
      first = mw_err(err, s, "shard %s: %s", sid, e.message);
    }
  }
  for (size_t i = 0; i < t->n; i++) release_ref(w, t->ids[i], t->rows[i]);
  free(t->ids);
  free(t->rows);
  free(t->end);
  memset(t, 0, sizeof *t);
  return first;
}

/* Routes and writes n batches of `schema`: puts, or (keys != NULL) deletes
 * of the keys they name, `schema` then being the keys' schema. */
static mw_status write_routed(mw_table_writer *w, struct ArrowArray *batches, size_t n,
                              const struct ArrowSchema *schema, bool del, mw_error *err) {
  const char *op = del ? "table delete" : "table put";
  if (n == 0 || !batches) return mw_err(err, MW_ERR_INVALID, "%s: no batches", op);
  for (size_t i = 0; i < n; i++) {
    if (!batches[i].release) return mw_err(err, MW_ERR_INVALID, "%s: batch %zu is released", op, i);
    mw_status vs = mw_batch_validate(schema, &batches[i], err);
    if (vs != MW_OK) return mw_err_wrap(err, vs, "%s: batch %zu", op, i);
  }
  mw_status s = MW_OK, taken_status = MW_OK;
  bool some_taken = false;
  touched tt = {0};
  for (size_t bi = 0; s == MW_OK && bi < n; bi++) {
    struct ArrowArray *b = &batches[bi];
    if (b->length == 0) continue;
    mw_routing r;
    s = mw_route_batch(&r, &w->spec, schema, b, err);
    if (s != MW_OK) {
      mw_err_wrap(err, s, "%s: routing batch %zu%s", op, bi,
                  del ? " (deletes are routed by the key columns: the spec's column must be one of them)" : "");
      mw_routing_free(&r);
      break;
    }
    s = acquire_all(w, &tt, &r, err);
    if (s != MW_OK) {
      mw_routing_free(&r);
      break;
    }
    if (r.n_shards == 1) {
      s = put_shard(w, &tt, r.shard_ids[0], r.shard_bucket ? r.shard_bucket[0] : -1, b, del ? schema : NULL, err);
    } else {
      /* Gather each shard's rows (in their order) into its own batch. */
      int64_t *rows = malloc((size_t)r.n_rows * sizeof *rows);
      int64_t *start = calloc((size_t)r.n_shards + 1, sizeof *start);
      if (!rows || !start) s = mw_err(err, MW_ERR_NOMEM, "out of memory routing a batch");
      for (uint32_t k = 0; s == MW_OK && k < r.n_shards; k++) start[k + 1] = start[k] + r.shard_rows[k];
      int64_t *fill = s == MW_OK ? calloc((size_t)r.n_shards, sizeof *fill) : NULL;
      if (s == MW_OK && !fill) s = mw_err(err, MW_ERR_NOMEM, "out of memory routing a batch");
      for (int64_t i = 0; s == MW_OK && i < r.n_rows; i++) {
        uint32_t k = r.row_shard[i];
        rows[start[k] + fill[k]++] = i;
      }
      for (uint32_t k = 0; s == MW_OK && k < r.n_shards; k++) {
        struct ArrowArray sub;
        s = mw_array_take(&sub, schema, b, rows + start[k], r.shard_rows[k], err);
        if (s != MW_OK) break;
        s = put_shard(w, &tt, r.shard_ids[k], r.shard_bucket ? r.shard_bucket[k] : -1, &sub, del ? schema : NULL, err);
        if (sub.release) sub.release(&sub);
        if (s == MW_ERR_NOT_DURABLE) {
          taken_status = s;
          s = MW_OK;
        }
        if (s == MW_OK) some_taken = true;
      }
      free(rows);
      free(start);
      free(fill);
      if (s == MW_OK && b->release) b->release(b); /* every shard took its rows */
    }
    if (s == MW_ERR_NOT_DURABLE) {
      taken_status = s;
      s = MW_OK;
    }
    if (s == MW_OK) some_taken = true;
    mw_routing_free(&r);
  }
  /* Durable: wait for every touched shard's WAL entries (rows taken: a
   * failure now is NOT_DURABLE, the shard writers retry them). */
  mw_error fe = {0};
  mw_status fs = finish_touched(w, &tt, w->durable && some_taken, &fe);
  if (s == MW_OK && fs != MW_OK) {
    mw_err(err, MW_ERR_NOT_DURABLE, "%s: rows were taken (do not write them again) but are not known durable: %s", op,
           fe.message);
    taken_status = MW_ERR_NOT_DURABLE;
  }
  if (s != MW_OK && some_taken)
    mw_err_wrap(err, s,
                "%s: some shards already took their rows (puts and deletes are idempotent by primary key: writing "
                "the batches again is safe)",
                op);
  pthread_mutex_lock(&w->mu);
  if (s == MW_OK) w->puts++;
  for (size_t i = 0; s == MW_OK && i < n; i++) w->rows += (uint64_t)batches[i].length;
  pthread_mutex_unlock(&w->mu);
  if (s == MW_OK) {
    mw_error ce = {0};
    if (close_idle(w, &ce) != MW_OK) return mw_err(err, ce.code, "%s", ce.message);
  }
  return s != MW_OK ? s : taken_status;
}

/* In-flight accounting (as the ShardWriter's): a call entered before close
 * started finishes before close frees anything; later ones get CLOSED. */
static mw_status tw_enter(mw_table_writer *w, const char *op, mw_error *err) {
  pthread_mutex_lock(&w->mu);
  bool closing = w->closing;
  if (!closing) w->calls++;
  pthread_mutex_unlock(&w->mu);
  return closing ? mw_err(err, MW_ERR_CLOSED, "%s: writer is closing", op) : MW_OK;
}

static void tw_leave(mw_table_writer *w) {
  pthread_mutex_lock(&w->mu);
  if (--w->calls == 0) pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

mw_status mw_table_writer_put(mw_table_writer *w, struct ArrowArray *batches, size_t n, mw_error *err) {
  if (!w) return mw_err(err, MW_ERR_INVALID, "table put: writer is NULL");
  MW_TRY(tw_enter(w, "table put", err));
  mw_status s = write_routed(w, batches, n, &w->schema, false, err);
  tw_leave(w);
  return s;
}

mw_status mw_table_writer_delete(mw_table_writer *w, struct ArrowArray *keys, const struct ArrowSchema *keys_schema,
                                 mw_error *err) {
  if (!w) return mw_err(err, MW_ERR_INVALID, "table delete: writer is NULL");
  if (!w->cfg.shard.enable_memtable)
    return mw_err(err, MW_ERR_INVALID, "table delete: deletes need MemTable mode (enable_memtable = 1)");
  MW_TRY(tw_enter(w, "table delete", err));
  mw_status s = write_routed(w, keys, 1, keys_schema ? keys_schema : &w->key_schema, true, err);
  tw_leave(w);
  return s;
}

/* ------------------------------------------------------------ flush/close */

/* Starts the MemTable flush of every open shard writer, then waits for
 * each: the shards' flushers write their generations at the same time. */
static mw_status flush_memtables(mw_table_writer *w, mw_error *err);

mw_status mw_table_writer_flush_memtables(mw_table_writer *w, mw_error *err) {
  if (!w) return mw_err(err, MW_ERR_INVALID, "table flush: writer is NULL");
  MW_TRY(tw_enter(w, "table flush", err));
  mw_status s = flush_memtables(w, err);
  tw_leave(w);
  return s;
}

static mw_status flush_memtables(mw_table_writer *w, mw_error *err) {
  pthread_mutex_lock(&w->mu);
  size_t n = w->n_shards;
  touched t = {0};
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    if (w->shards[i].state != TW_OPEN) continue;
    ok &= touched_add(&t, w->shards[i].id, 0);
    w->shards[i].refs++;
  }
  pthread_mutex_unlock(&w->mu);
  mw_status first = ok ? MW_OK : mw_err(err, MW_ERR_NOMEM, "out of memory");
  mw_flush_ticket *tickets = calloc(t.n ? t.n : 1, sizeof *tickets);
  if (!tickets && first == MW_OK) first = mw_err(err, MW_ERR_NOMEM, "out of memory");
  for (size_t i = 0; tickets && i < t.n; i++) {
    mw_error e = {0};
    mw_status s = mw_shard_writer_request_memtable_flush(&tickets[i], writer_of(w, t.ids[i]), &e);
    if (s != MW_OK && first == MW_OK) {
      char sid[40];
      mw_uuid_format(sid, t.ids[i]);
      first = mw_err(err, s, "flush_memtable of shard %s: %s", sid, e.message);
    }
  }
  for (size_t i = 0; tickets && i < t.n; i++) {
    mw_error e = {0};
    mw_status s = tickets[i].generation ? mw_shard_writer_wait_memtable_flush(writer_of(w, t.ids[i]), &tickets[i], &e)
                                        : MW_OK;
    if (s != MW_OK && first == MW_OK) {
      char sid[40];
      mw_uuid_format(sid, t.ids[i]);
      first = mw_err(err, s, "flush_memtable of shard %s: %s", sid, e.message);
    }
  }
  free(tickets);
  finish_touched(w, &t, false, NULL);
  return first;
}

mw_status mw_table_writer_flush_wal(mw_table_writer *w, mw_error *err) {
  if (!w) return mw_err(err, MW_ERR_INVALID, "table flush: writer is NULL");
  MW_TRY(tw_enter(w, "table flush", err));
  pthread_mutex_lock(&w->mu);
  touched t = {0};
  bool ok = true;
  for (size_t i = 0; i < w->n_shards; i++) {
    if (w->shards[i].state != TW_OPEN) continue;
    ok &= touched_add(&t, w->shards[i].id, 0);
    w->shards[i].refs++;
  }
  pthread_mutex_unlock(&w->mu);
  mw_status s = finish_touched(w, &t, true, err);
  tw_leave(w);
  return ok ? s : mw_err(err, MW_ERR_NOMEM, "out of memory");
}

mw_status mw_table_writer_close(mw_table_writer *w, int flush_memtables_too, mw_error *err) {
  if (!w) return MW_OK;
  mw_status fs = MW_OK;
  if (flush_memtables_too && w->cfg.shard.enable_memtable) fs = flush_memtables(w, err);
  pthread_mutex_lock(&w->mu);
  w->closing = true;
  /* Let calls in flight finish (they hold shard references meanwhile). */
  for (;;) {
    bool busy = w->calls > 0;
    for (size_t i = 0; i < w->n_shards; i++) busy |= w->shards[i].refs > 0;
    if (!busy) break;
    pthread_cond_wait(&w->cv, &w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  mw_status first = MW_OK;
  for (size_t i = 0; i < w->n_shards; i++) {
    mw_error e = {0};
    mw_status s = mw_shard_writer_close(w->shards[i].w, &e);
    if (s != MW_OK && first == MW_OK)
      first = fs != MW_OK ? s : mw_err(err, s, "closing shard %s: %s", w->shards[i].id_str, e.message);
  }
  free(w->shards);
  mw_schema_release(&w->schema);
  mw_schema_release(&w->key_schema);
  free_indexes(w->indexes, w->n_indexes);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
  return fs != MW_OK ? fs : first;
}

const char *mw_table_writer_spec(const mw_table_writer *w) { return w->spec_text; }

mw_status mw_table_writer_stats_json(char **out_json, mw_table_writer *w, mw_error *err) {
  *out_json = NULL;
  mw_buf b;
  mw_buf_init(&b);
  char tmp[512];
  pthread_mutex_lock(&w->mu);
  snprintf(tmp, sizeof tmp, "{\"spec\":\"%s\",\"table_version\":%" PRIu64 ",\"puts\":%" PRIu64 ",\"rows\":%" PRIu64
           ",\"shards\":[", w->spec_text, w->table_version, w->puts, w->rows);
  mw_buf_append(&b, tmp, strlen(tmp));
  for (size_t i = 0; i < w->n_shards; i++) {
    const tw_shard *e = &w->shards[i];
    int n = snprintf(tmp, sizeof tmp, "%s{\"shard\":\"%s\"", i ? "," : "", e->id_str);
    if (e->bucket >= 0) n += snprintf(tmp + n, sizeof tmp - (size_t)n, ",\"bucket\":%" PRId32, e->bucket);
    snprintf(tmp + n, sizeof tmp - (size_t)n, ",\"rows\":%" PRIu64 ",\"puts\":%" PRIu64 "}", e->rows, e->puts);
    mw_buf_append(&b, tmp, strlen(tmp));
  }
  pthread_mutex_unlock(&w->mu);
  mw_buf_append(&b, "]}", 3); /* with the NUL */
  if (b.failed) {
    mw_buf_free(&b);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  *out_json = (char *)b.data;
  return MW_OK;
}
