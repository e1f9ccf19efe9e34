/* cli_query.c - `memwal query`: one MemTable query (mw_query) over a
 * shard's unflushed rows, read-only.
 *
 * The shard's unflushed WAL entries are read with a WalTailer exactly as
 * `memwal scan` reads them (no epoch claim, no fence entry: safe next to a
 * live writer) and inserted in WAL order into one MemTable that maintains
 * the indexes given with --index (the primary key is always known from the
 * schema); every row is indexed before the query runs. The result prints
 * like `ipc-cat`: a schema line, then one JSON object per row in result
 * order, with `_distance` (k-NN) or `_score` (full-text) last. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/buf.h"
#include "index/hnsw.h"
#include "memtable/memtable.h"
#include "memwal.h"
#include "objstore/objstore.h"
#include "table/table.h"

static const char usage[] =
    "usage: memwal query URI --shard UUID [--index NAME:COLUMN:KIND[:METRIC]]... [--filter EXPR]\n"
    "                    [--nearest COLUMN --vector JSON_ARRAY [-k K] [--ef N] [--metric l2|cosine|dot]]\n"
    "                    [--fts TEXT --fts-column COLUMN [-k K]] [--keys JSON_ARRAY]\n"
    "                    [--columns A,B,...] [--limit N]\n"
    "  Replays the shard's unflushed WAL read-only (no epoch claim, no fence entry) into a\n"
    "  MemTable with the given indexes (KIND btree | hnsw | fts; METRIC for hnsw: l2 (default),\n"
    "  cosine, dot) plus the table's maintained ones (a Lance table's MemWAL index), runs one query and prints JSON lines as ipc-cat does (a schema line, then\n"
    "  one object per row in result order). Only the newest row of each primary key counts;\n"
    "  deleted keys are hidden. Kinds: a filtered scan (default; --filter 'a > 3 AND b IN\n"
    "  (1, 2)'), a point lookup (--keys [1, 5] on a one-column primary key), vector k-NN\n"
    "  (--nearest; exact without an HNSW index of that metric, with --filter or --ef exact;\n"
    "  without --ef, the search calibrated for recall@10 >= 0.95 on the shard's rows; `_distance` last), full-text (--fts, needs an fts index on --fts-column; `_score` last).\n";

typedef struct q_opts {
  const char *uri, *shard, *filter, *nearest, *vector, *fts, *fts_column, *columns, *keys, *metric;
  uint64_t k, ef, limit;
  bool ef_exact;
  mw_index_config idx[16];
  char *idx_text[16];
  size_t n_idx;
} q_opts;

static int parse_u64(const char *flag, const char *v, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || !end || *end || v[0] == '-' || !v[0]) {
    fprintf(stderr, "memwal query: %s wants a non-negative integer, got '%s'\n", flag, v);
    return 2;
  }
  *out = x;
  return 0;
}

/* NAME:COLUMN:KIND[:METRIC] -> an index config (strings point into text). */
static int parse_index(q_opts *o, const char *arg) {
  if (o->n_idx == sizeof o->idx / sizeof o->idx[0]) {
    fprintf(stderr, "memwal query: at most %zu --index options\n", sizeof o->idx / sizeof o->idx[0]);
    return 2;
  }
  char *t = strdup(arg);
  if (!t) return 1;
  o->idx_text[o->n_idx] = t;
  char *parts[4] = {0};
  int n = 0;
  for (char *p = t; n < 4;) {
    parts[n++] = p;
    char *c = strchr(p, ':');
    if (!c) break;
    *c = 0;
    p = c + 1;
  }
  if (n < 3 || !parts[0][0] || !parts[1][0]) {
    fprintf(stderr, "memwal query: --index wants NAME:COLUMN:KIND[:METRIC], got '%s'\n", arg);
    return 2;
  }
  mw_index_kind kind;
  if (strcmp(parts[2], "btree") == 0) kind = MW_INDEX_BTREE;
  else if (strcmp(parts[2], "hnsw") == 0) kind = MW_INDEX_HNSW;
  else if (strcmp(parts[2], "fts") == 0) kind = MW_INDEX_FTS;
  else {
    fprintf(stderr, "memwal query: --index '%s': unknown kind '%s' (btree, hnsw, fts)\n", arg, parts[2]);
    return 2;
  }
  mw_index_config *c = &o->idx[o->n_idx];
  mw_index_config_init(c, parts[0], parts[1], kind);
  if (n == 4) {
    if (kind != MW_INDEX_HNSW) {
      fprintf(stderr, "memwal query: --index '%s': a metric applies to hnsw indexes only\n", arg);
      return 2;
    }
    mw_error err = {0};
    if (mw_metric_parse(&c->metric, parts[3], &err) != MW_OK) {
      fprintf(stderr, "memwal query: --index '%s': %s\n", arg, err.message);
      return 2;
    }
  }
  o->n_idx++;
  return 0;
}

static int parse(q_opts *o, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  o->k = 10;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool takes = a[0] == '-' && strcmp(a, "--help") != 0;
    if (takes && !v) {
      fprintf(stderr, "memwal query: %s needs a value\n%s", a, usage);
      return 2;
    }
    int rc = 0;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return -1;
    } else if (strcmp(a, "--shard") == 0) o->shard = v;
    else if (strcmp(a, "--index") == 0) rc = parse_index(o, v);
    else if (strcmp(a, "--filter") == 0) o->filter = v;
    else if (strcmp(a, "--nearest") == 0) o->nearest = v;
    else if (strcmp(a, "--vector") == 0) o->vector = v;
    else if (strcmp(a, "--metric") == 0) o->metric = v;
    else if (strcmp(a, "-k") == 0 || strcmp(a, "--k") == 0) rc = parse_u64(a, v, &o->k);
    else if (strcmp(a, "--ef") == 0) {
      if (strcmp(v, "exact") == 0) o->ef_exact = true;
      else rc = parse_u64(a, v, &o->ef);
    } else if (strcmp(a, "--fts") == 0) o->fts = v;
    else if (strcmp(a, "--fts-column") == 0) o->fts_column = v;
    else if (strcmp(a, "--columns") == 0) o->columns = v;
    else if (strcmp(a, "--keys") == 0) o->keys = v;
    else if (strcmp(a, "--limit") == 0) rc = parse_u64(a, v, &o->limit);
    else if (a[0] == '-') {
      fprintf(stderr, "memwal query: unknown option %s\n%s", a, usage);
      return 2;
    } else {
      if (o->uri) {
        fprintf(stderr, "memwal query: unexpected argument '%s'\n%s", a, usage);
        return 2;
      }
      o->uri = a;
      continue;
    }
    if (rc) return rc;
    i++;
  }
  if (!o->uri || !o->shard) {
    fprintf(stderr, "memwal query: URI and --shard are required\n%s", usage);
    return 2;
  }
  if ((o->nearest != NULL) != (o->vector != NULL)) {
    fprintf(stderr, "memwal query: --nearest and --vector go together\n");
    return 2;
  }
  if ((o->fts != NULL) != (o->fts_column != NULL)) {
    fprintf(stderr, "memwal query: --fts and --fts-column go together\n");
    return 2;
  }
  if (o->k == 0 || o->k > 100000) {
    fprintf(stderr, "memwal query: -k must be in 1..100000\n");
    return 2;
  }
  if (o->ef > UINT32_MAX - 1) {
    fprintf(stderr, "memwal query: --ef too large\n");
    return 2;
  }
  return 0;
}

/* A JSON array of numbers -> floats (malloc'ed). */
static int parse_vector(float **out, uint32_t *dim, const char *text) {
  *out = NULL;
  *dim = 0;
  const char *p = text;
  while (*p == ' ') p++;
  if (*p++ != '[') goto bad;
  size_t cap = 16, n = 0;
  float *v = malloc(cap * sizeof *v);
  if (!v) return 1;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    if (*p == ']' && n == 0) {
      p++;
      break;
    }
    char *end = NULL;
    double d = strtod(p, &end);
    if (end == p) {
      free(v);
      goto bad;
    }
    if (n == cap) {
      cap *= 2;
      float *nv = realloc(v, cap * sizeof *nv);
      if (!nv) {
        free(v);
        return 1;
      }
      v = nv;
    }
    v[n++] = (float)d;
    p = end;
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    if (*p == ',') {
      p++;
      continue;
    }
    if (*p == ']') {
      p++;
      break;
    }
    free(v);
    goto bad;
  }
  while (*p == ' ') p++;
  if (*p || n == 0) {
    free(v);
    goto bad;
  }
  *out = v;
  *dim = (uint32_t)n;
  return 0;
bad:
  fprintf(stderr, "memwal query: --vector wants a JSON array of numbers, e.g. [0.1, 2, -3e-2], got '%s'\n", text);
  return 2;
}

typedef struct ins_ctx {
  mw_memtable *mt;
  uint64_t rows;
} ins_ctx;

static int insert_entry(void *ctx, uint64_t pos, mw_wal_entry *e) {
  ins_ctx *c = ctx;
  mw_error err = {0};
  if (mw_memtable_insert(NULL, c->mt, e->batches, e->n_batches, false, &err) != MW_OK) {
    fprintf(stderr, "memwal query: WAL entry at position %" PRIu64 ": %s\n", pos, err.message);
    return 1;
  }
  c->rows += e->rows;
  return 0;
}

/* The keys of --keys: an owned array with one allocation per buffer. */
typedef struct keys_priv {
  void *bufs[3];
  const void *ptrs[3];
} keys_priv;

static void keys_release(struct ArrowArray *a) {
  keys_priv *p = a->private_data;
  if (p) {
    for (int i = 0; i < 3; i++) free(p->bufs[i]);
    free(p);
  }
  a->release = NULL;
}

/* Builds the keys array of a point lookup from a JSON array of integers
 * (integer key column) or strings (utf8 / large_utf8 key column). */
static int keys_array(struct ArrowSchema *ks, struct ArrowArray *ka, const struct ArrowSchema *schema,
                      const char *text) {
  const struct ArrowSchema *kf = NULL;
  int n_pk = 0;
  for (int64_t i = 0; i < schema->n_children; i++) {
    const char *md = schema->children[i]->metadata;
    mw_kv kv;
    if (md && mw_metadata_find(md, "lance-schema:unenforced-primary-key:position", &kv)) {
      kf = schema->children[i];
      n_pk++;
    }
  }
  if (n_pk != 1) {
    fprintf(stderr, "memwal query: --keys needs a one-column primary key (this schema has %d key columns)\n", n_pk);
    return 2;
  }
  mw_error err = {0};
  mw_type t;
  if (mw_type_from_format(&t, kf->format, &err) != MW_OK) return 1;
  bool is_str = t.id == MW_T_UTF8 || t.id == MW_T_LARGE_UTF8;
  int bits = mw_type_fixed_bits(&t);
  bool is_int = t.id >= MW_T_INT8 && t.id <= MW_T_UINT64;
  if (!is_str && !is_int) {
    fprintf(stderr, "memwal query: --keys supports integer and string primary keys (this one is '%s')\n", kf->format);
    return 2;
  }
  keys_priv *p = calloc(1, sizeof *p);
  mw_buf vals, data;
  mw_buf_init(&vals);
  mw_buf_init(&data);
  int64_t n = 0;
  const char *q = text;
  while (*q == ' ') q++;
  if (*q++ != '[') goto bad;
  if (is_str) {
    if (t.id == MW_T_LARGE_UTF8) mw_buf_append(&vals, &(int64_t){0}, 8);
    else mw_buf_append(&vals, &(int32_t){0}, 4);
  }
  for (;;) {
    while (*q == ' ') q++;
    if (*q == ']' && n == 0) {
      q++;
      break;
    }
    if (is_str) {
      if (*q++ != '"') goto bad;
      while (*q && *q != '"') {
        if (*q == '\\' && q[1]) q++;
        mw_buf_u8(&data, (uint8_t)*q++);
      }
      if (*q++ != '"') goto bad;
      if (t.id == MW_T_LARGE_UTF8) mw_buf_append(&vals, &(int64_t){(int64_t)data.len}, 8);
      else mw_buf_append(&vals, &(int32_t){(int32_t)data.len}, 4);
    } else {
      char *end = NULL;
      errno = 0;
      bool neg = *q == '-';
      uint64_t u = 0;
      int64_t i = 0;
      if (neg) i = strtoll(q, &end, 10);
      else u = strtoull(q, &end, 10);
      if (end == q || errno) goto bad;
      q = end;
      uint8_t tmp[8];
      if (neg) memcpy(tmp, &i, 8);
      else memcpy(tmp, &u, 8);
      mw_buf_append(&vals, tmp, (size_t)bits / 8); /* little-endian truncation: checked below */
      if (neg && (t.id == MW_T_UINT8 || t.id == MW_T_UINT16 || t.id == MW_T_UINT32 || t.id == MW_T_UINT64)) goto bad;
      if (bits < 64) {
        int64_t lo = -(INT64_C(1) << (bits - 1)), hi = (INT64_C(1) << (bits - 1)) - 1;
        bool uns = t.id == MW_T_UINT8 || t.id == MW_T_UINT16 || t.id == MW_T_UINT32;
        if (uns ? u > (uint64_t)((INT64_C(1) << bits) - 1) : (neg ? i < lo : u > (uint64_t)hi)) goto bad;
      } else if (!neg && t.id == MW_T_INT64 && u > (uint64_t)INT64_MAX) {
        goto bad;
      }
    }
    n++;
    while (*q == ' ') q++;
    if (*q == ',') {
      q++;
      continue;
    }
    if (*q == ']') {
      q++;
      break;
    }
    goto bad;
  }
  while (*q == ' ') q++;
  if (*q || !p || !mw_buf_ok(&vals) || !mw_buf_ok(&data)) goto bad;
  if (mw_schema_copy(ks, kf, &err) != MW_OK) goto bad;
  p->bufs[1] = vals.data;
  p->bufs[2] = is_str ? (data.data ? (void *)data.data : malloc(1)) : NULL;
  if (!is_str) mw_buf_free(&data);
  p->ptrs[0] = NULL;
  p->ptrs[1] = p->bufs[1] ? p->bufs[1] : (p->bufs[1] = malloc(8));
  p->ptrs[2] = p->bufs[2];
  *ka = (struct ArrowArray){.length = n, .null_count = 0, .offset = 0, .n_buffers = is_str ? 3 : 2, .n_children = 0,
                            .buffers = p->ptrs, .release = keys_release, .private_data = p};
  return 0;
bad:
  mw_buf_free(&vals);
  mw_buf_free(&data);
  free(p);
  fprintf(stderr, "memwal query: --keys wants a JSON array of %s of the key column's type, got '%s'\n",
          is_str ? "strings" : "integers", text);
  return 2;
}

static char **split_columns(const char *text, size_t *n) {
  *n = 0;
  size_t cap = 1;
  for (const char *p = text; *p; p++) cap += *p == ',';
  char **v = calloc(cap, sizeof *v);
  char *t = strdup(text);
  if (!v || !t) {
    free(v);
    free(t);
    return NULL;
  }
  v[0] = t; /* v[0] owns the copy */
  size_t k = 0;
  for (char *p = t;;) {
    char *c = strchr(p, ',');
    if (c) *c = 0;
    v[k++] = p;
    if (!c) break;
    p = c + 1;
  }
  *n = k;
  return v;
}

int mw_cli_query(int argc, char **argv) {
  q_opts o;
  int rc = parse(&o, argc, argv);
  if (rc) {
    for (size_t i = 0; i < o.n_idx; i++) free(o.idx_text[i]);
    return rc < 0 ? 0 : rc;
  }
  mw_objstore *store = NULL;
  struct ArrowSchema schema = {0}, ks = {0};
  struct ArrowArray ka = {0};
  mw_memtable *mt = NULL;
  mw_expr *filter = NULL;
  float *vec = NULL;
  char **cols = NULL;
  char *cols_text = NULL;
  size_t n_cols = 0;
  struct ArrowArrayStream st = {0};
  mw_error err = {0};
  int code = 1;

  mw_query q;
  mw_query_init(&q);
  if (o.filter && mw_expr_parse(&filter, o.filter, &err) != MW_OK) {
    fprintf(stderr, "memwal query: --filter: %s\n", err.message);
    code = 2;
    goto out;
  }
  q.filter = filter;
  q.k = (uint32_t)o.k;
  q.limit = o.limit;
  q.ef = o.ef_exact ? MW_EF_EXACT : (uint32_t)o.ef;
  if (o.metric && mw_metric_parse(&q.metric, o.metric, &err) != MW_OK) {
    fprintf(stderr, "memwal query: --metric: %s\n", err.message);
    code = 2;
    goto out;
  }
  if (o.vector) {
    rc = parse_vector(&vec, &q.dim, o.vector);
    if (rc) {
      code = rc;
      goto out;
    }
    q.nearest_column = o.nearest;
    q.vector = vec;
  }
  if (o.fts) {
    q.fts_column = o.fts_column;
    q.fts_text = o.fts;
  }
  if (o.columns) {
    cols = split_columns(o.columns, &n_cols);
    if (!cols) goto out;
    cols_text = cols[0];
    q.columns = (const char *const *)cols;
    q.n_columns = n_cols;
  }

  if (mw_cli_check_exists("query", o.uri) || mw_cli_open_existing(&store, "query", o.uri)) goto out;
  if (mw_cli_shard_schema(&schema, store, o.shard, "query")) goto out;
  if (o.keys) {
    rc = keys_array(&ks, &ka, &schema, o.keys);
    if (rc) {
      code = rc;
      goto out;
    }
    q.keys_schema = &ks;
    q.keys = &ka;
  }
  /* The table's maintained indexes too (when URI is a Lance table with a
   * MemWAL index), unless an --index of the same name replaces one. */
  {
    mw_table *t = NULL;
    mw_error te = {0};
    if (mw_table_open(&t, store, &te) == MW_OK) {
      mw_index_config *tix = NULL;
      size_t n_tix = 0;
      if (mw_table_resolve_indexes(&tix, &n_tix, t, &schema, NULL, NULL, &te) == MW_OK) {
        for (size_t i = 0; i < n_tix; i++) {
          bool dup = false;
          for (size_t j = 0; j < o.n_idx; j++) dup |= strcmp(o.idx[j].name, tix[i].name) == 0;
          if (dup || o.n_idx == sizeof o.idx / sizeof o.idx[0]) continue;
          char *nm = strdup(tix[i].name), *cl = strdup(tix[i].column);
          char *both = nm && cl ? malloc(strlen(nm) + strlen(cl) + 2) : NULL;
          if (both) {
            /* one allocation per config, freed with the --index texts */
            strcpy(both, nm);
            strcpy(both + strlen(nm) + 1, cl);
            o.idx[o.n_idx] = tix[i];
            o.idx[o.n_idx].name = both;
            o.idx[o.n_idx].column = both + strlen(nm) + 1;
            o.idx_text[o.n_idx] = both;
            o.n_idx++;
          }
          free(nm);
          free(cl);
        }
        mw_table_free_indexes(tix, n_tix);
      }
      mw_table_close(t);
    }
  }
  if (mw_memtable_new(&mt, &schema, 0, o.idx, o.n_idx, &err) != MW_OK) {
    fprintf(stderr, "memwal query: %s\n", err.message);
    code = 2;
    goto out;
  }
  ins_ctx ic = {mt, 0};
  if (mw_cli_walk_unflushed(store, o.shard, &schema, "query", insert_entry, &ic)) goto out;
  if (mw_memtable_index_pending(NULL, mt, &err) != MW_OK) {
    fprintf(stderr, "memwal query: indexing: %s\n", err.message);
    goto out;
  }
  /* Hide `_tombstone` by default, as the writer's query does. */
  const char *def[256];
  size_t n_def = 0;
  if (!q.n_columns && schema.n_children <= 256) {
    for (int64_t i = 0; i < schema.n_children; i++)
      if (strcmp(schema.children[i]->name, MW_TOMBSTONE_COLUMN) != 0) def[n_def++] = schema.children[i]->name;
  }
  uint64_t vis = UINT64_MAX;
  if (mw_memtable_query(&st, &mt, &vis, 1, &q, n_def ? def : NULL, n_def, &err) != MW_OK) {
    fprintf(stderr, "memwal query: %s\n", err.message);
    code = err.code == MW_ERR_INVALID ? 2 : 1;
    goto out;
  }
  code = mw_cli_print_stream(&st, "query");
out:
  if (st.release) st.release(&st);
  mw_memtable_free(mt);
  if (ka.release) ka.release(&ka);
  mw_schema_release(&ks);
  mw_schema_release(&schema);
  mw_objstore_close(store);
  mw_expr_free(filter);
  free(vec);
  free(cols_text);
  free(cols);
  for (size_t i = 0; i < o.n_idx; i++) free(o.idx_text[i]);
  return code;
}
