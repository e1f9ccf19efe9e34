/* cli_route.c - `memwal route FILE.arrows (--spec SPEC | --table URI)
 * [--summary]`: the shard LanceDB would write each row of an Arrow IPC
 * stream to, under the sharding spec SPEC (unsharded | bucket:COL:N |
 * identity:COL; see src/table/routing.h) or the spec of the MemWAL index of
 * the Lance table at URI. Prints one JSON line per row, in input order:
 * {"row":I,"shard":"UUID"} plus "bucket":B for bucket specs; with --summary
 * one JSON object instead: {"spec":..,"rows":N,"shards":[{"shard":..,
 * ["bucket":B,]"rows":R}, ...]} with the shards in first-seen order.
 * Exit 0 ok, 1 on unreadable input or a routing error (message on stderr,
 * nothing printed), 2 usage. Touches no storage. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/buf.h"
#include "common/uuid.h"
#include "memwal.h"
#include "table/routing.h"
#include "table/table.h"

static int usage(void) {
  fprintf(stderr, "usage: memwal route FILE.arrows (--spec unsharded|bucket:COL:N|identity:COL | --table URI) [--summary]\n");
  return 2;
}

typedef struct route_total {
  uint8_t id[16];
  int32_t bucket;
  int64_t rows;
  size_t first; /* first-seen order */
} route_total;

static int by_id(const void *a, const void *b) {
  const route_total *x = a, *y = b;
  int c = memcmp(x->id, y->id, 16);
  if (c) return c;
  return x->first < y->first ? -1 : x->first > y->first;
}

static int by_first(const void *a, const void *b) {
  const route_total *x = a, *y = b;
  return x->first < y->first ? -1 : x->first > y->first;
}

/* Appends the summary object of totals (merged by shard id) to out. */
static void render_summary(mw_buf *out, const char *spec_text, int64_t rows, route_total *t, size_t n,
                           bool bucket) {
  qsort(t, n, sizeof *t, by_id);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m > 0 && memcmp(t[m - 1].id, t[i].id, 16) == 0) {
      t[m - 1].rows += t[i].rows;
    } else {
      t[m++] = t[i];
    }
  }
  qsort(t, m, sizeof *t, by_first);
  char line[160], uuid[MW_UUID_STR_LEN + 1];
  snprintf(line, sizeof line, "{\"spec\":\"");
  mw_buf_append(out, line, strlen(line));
  for (const char *c = spec_text; *c; c++) { /* column names may hold " or \ */
    if (*c == '"' || *c == '\\') mw_buf_u8(out, '\\');
    if ((unsigned char)*c < 0x20) {
      snprintf(line, sizeof line, "u%04x", (unsigned char)*c);
      mw_buf_u8(out, '\\');
      mw_buf_append(out, line, strlen(line));
      continue;
    }
    mw_buf_u8(out, (uint8_t)*c);
  }
  snprintf(line, sizeof line, "\",\"rows\":%" PRId64 ",\"shards\":[", rows);
  mw_buf_append(out, line, strlen(line));
  for (size_t i = 0; i < m; i++) {
    mw_uuid_format(uuid, t[i].id);
    int len = snprintf(line, sizeof line, "%s{\"shard\":\"%s\"", i ? "," : "", uuid);
    mw_buf_append(out, line, (size_t)len);
    if (bucket) {
      len = snprintf(line, sizeof line, ",\"bucket\":%" PRId32, t[i].bucket);
      mw_buf_append(out, line, (size_t)len);
    }
    len = snprintf(line, sizeof line, ",\"rows\":%" PRId64 "}", t[i].rows);
    mw_buf_append(out, line, (size_t)len);
  }
  mw_buf_append(out, "]}\n", 3);
}

/* Appends the shards of one routed batch to the running totals. */
static mw_status add_totals(route_total **totals, size_t *n, size_t *cap, const mw_routing *r) {
  if (*n + r->n_shards > *cap) {
    size_t c = (*n + r->n_shards) * 2;
    route_total *g = realloc(*totals, c * sizeof *g);
    if (g == NULL) return MW_ERR_NOMEM;
    *totals = g;
    *cap = c;
  }
  for (uint32_t s = 0; s < r->n_shards; s++) {
    route_total *t = &(*totals)[*n];
    memcpy(t->id, r->shard_ids[s], 16);
    t->bucket = r->shard_bucket[s];
    t->rows = r->shard_rows[s];
    t->first = (*n)++;
  }
  return MW_OK;
}

/* The routing spec of the table at uri; 0, or 1 after printing why not. */
static int spec_of_table(mw_routing_spec *spec, const char *uri) {
  mw_objstore *store = NULL;
  if (mw_cli_open_existing(&store, "route", uri)) return 1;
  mw_error err = {0};
  mw_table *t = NULL;
  int rc = 1;
  if (mw_table_open(&t, store, &err) != MW_OK)
    fprintf(stderr, "memwal route: %s: %s\n", uri, err.message);
  else if (t->mem_wal == NULL)
    fprintf(stderr, "memwal route: %s: the table has no MemWAL index (no sharding spec)\n", uri);
  else if (!t->spec_ok)
    fprintf(stderr, "memwal route: %s: %s\n", uri, t->spec_error);
  else {
    *spec = t->spec;
    rc = 0;
  }
  mw_table_close(t);
  mw_objstore_close(store);
  return rc;
}

int mw_cli_route(int argc, char **argv) {
  const char *path = NULL, *spec_text = NULL, *table = NULL;
  bool summary = false;
  const mw_cli_opt opts[] = {{"--spec", &spec_text, NULL}, {"--table", &table, NULL}, {"--summary", NULL, &summary}};
  if (mw_cli_parse_args(&path, opts, 3, "route", argc, argv)) return usage();
  if (!path || !path[0] || !spec_text == !table) return usage();
  mw_error err = {0};
  mw_routing_spec spec;
  char table_spec[MW_ROUTING_COLUMN_MAX + 32];
  if (table) {
    if (spec_of_table(&spec, table)) return 1;
    mw_routing_spec_format(table_spec, sizeof table_spec, &spec);
    spec_text = table_spec;
  } else if (mw_routing_spec_parse(&spec, spec_text, &err) != MW_OK) {
    fprintf(stderr, "memwal route: %s\n", err.message);
    return 2;
  }
  mw_buf in;
  mw_buf_init(&in);
  int e = mw_cli_read_file(&in, path, true, NULL);
  if (e) {
    fprintf(stderr, "memwal route: %s: %s\n", path, strerror(e));
    mw_buf_free(&in);
    return 1;
  }
  struct ArrowSchema schema;
  struct ArrowArray *batches = NULL;
  size_t n_batches = 0;
  int bad = mw_cli_decode_ipc(&schema, &batches, &n_batches, "route", path, &in);
  mw_buf_free(&in);
  if (bad) return 1;

  /* Route everything first: on an error nothing is printed. */
  mw_buf out;
  mw_buf_init(&out);
  route_total *totals = NULL;
  size_t n_totals = 0, cap_totals = 0;
  int64_t row = 0;
  mw_status st = MW_OK;
  char line[160], uuid[MW_UUID_STR_LEN + 1];
  for (size_t k = 0; st == MW_OK && k < n_batches; k++) {
    mw_routing r; /* left empty by a failure, so freeing it is always right */
    st = mw_route_batch(&r, &spec, &schema, &batches[k], &err);
    if (st == MW_OK && summary) st = add_totals(&totals, &n_totals, &cap_totals, &r);
    for (int64_t i = 0; st == MW_OK && !summary && i < r.n_rows; i++) {
      uint32_t s = r.row_shard[i];
      mw_uuid_format(uuid, r.shard_ids[s]);
      int len = spec.kind == MW_SHARDING_BUCKET
                    ? snprintf(line, sizeof line,
                               "{\"row\":%" PRId64 ",\"shard\":\"%s\",\"bucket\":%" PRId32 "}\n", row + i,
                               uuid, r.shard_bucket[s])
                    : snprintf(line, sizeof line, "{\"row\":%" PRId64 ",\"shard\":\"%s\"}\n", row + i, uuid);
      mw_buf_append(&out, line, (size_t)len);
    }
    row += r.n_rows;
    mw_routing_free(&r);
  }
  if (st == MW_OK && summary) render_summary(&out, spec_text, row, totals, n_totals, spec.kind == MW_SHARDING_BUCKET);
  if (st == MW_OK && !mw_buf_ok(&out)) st = MW_ERR_NOMEM;

  int rc = 0;
  if (st != MW_OK) {
    fprintf(stderr, "memwal route: %s: %s\n", path, err.message[0] ? err.message : mw_status_str(st));
    rc = 1;
  } else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
    fprintf(stderr, "memwal route: writing output: %s\n", strerror(errno));
    rc = 1;
  }
  free(totals);
  mw_buf_free(&out);
  mw_cli_release_batches(batches, n_batches);
  mw_schema_release(&schema);
  return rc;
}
