/* cli_table.c - creating and configuring base Lance tables without LanceDB:
 *   memwal create URI --schema FILE.arrows [--pk COL[,COL]]
 *                 [--spec unsharded|bucket:COL:N|identity:COL]
 *                 [--maintain NAME,...] [--defaults KEY=VALUE,...]
 *     creates an empty table (version 1: the schema of FILE.arrows, an Arrow
 *     IPC stream whose batches are ignored; the primary key from --pk or the
 *     schema's field metadata) and installs the MemWAL spec (default
 *     unsharded) as version 2 (mw_table_create + mw_table_set_lsm_spec).
 *   memwal set-spec URI --spec SPEC [--maintain NAME,...] [--defaults K=V,...]
 *     installs or replaces the table's MemWAL index as a new version: the
 *     spec, maintained index names and writer config defaults given (what
 *     is not given is set to none, as LanceDB's setLsmWriteSpec does).
 * Both print the resulting table as `memwal describe` does (without shard
 * manifests), one JSON line. Exit 0 ok, 1 failure (message on stderr), 2
 * usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/buf.h"
#include "common/error.h"
#include "memwal.h"

#define MAX_ITEMS 64

/* Splits a comma-separated list in place into items (no empty items).
 * Returns the count, or -1 when malformed or too long. */
static int split_list(char *s, char **items, int cap) {
  int n = 0;
  for (char *p = s;;) {
    char *c = strchr(p, ',');
    if (c) *c = '\0';
    if (*p == '\0' || n == cap) return -1;
    items[n++] = p;
    if (!c) return n;
    p = c + 1;
  }
}

/* --maintain and --defaults into arrays (pointing into the copies). */
static int parse_lists(char **maint_copy, char **defs_copy, const char **maint, int *n_maint, mw_table_kv *defs,
                       int *n_defs, const char *cmd, const char *maintain, const char *defaults) {
  *n_maint = *n_defs = 0;
  if (maintain) {
    *maint_copy = strdup(maintain);
    if (!*maint_copy || (*n_maint = split_list(*maint_copy, (char **)maint, MAX_ITEMS)) < 0) {
      fprintf(stderr, "memwal %s: --maintain wants NAME[,NAME...] (at most %d)\n", cmd, MAX_ITEMS);
      return 2;
    }
  }
  if (defaults) {
    char *items[MAX_ITEMS];
    *defs_copy = strdup(defaults);
    int n = *defs_copy ? split_list(*defs_copy, items, MAX_ITEMS) : -1;
    for (int i = 0; i < n; i++) {
      char *eq = strchr(items[i], '=');
      if (!eq || eq == items[i]) {
        n = -1;
        break;
      }
      *eq = '\0';
      defs[i] = (mw_table_kv){items[i], eq + 1};
    }
    if (n < 0) {
      fprintf(stderr, "memwal %s: --defaults wants KEY=VALUE[,KEY=VALUE...] (at most %d)\n", cmd, MAX_ITEMS);
      return 2;
    }
    *n_defs = n;
  }
  return 0;
}

static int print_table(mw_objstore *store, const char *cmd, const char *uri) {
  mw_error err = {0};
  mw_table *t = NULL;
  char *json = NULL;
  int rc = 1;
  if (mw_table_open(&t, store, &err) != MW_OK || mw_table_describe_json(&json, t, uri, &err) != MW_OK)
    fprintf(stderr, "memwal %s: %s: reading the table back: %s\n", cmd, uri, err.message);
  else if (printf("%s\n", json) > 0 && fflush(stdout) == 0)
    rc = 0;
  mw_free(json);
  mw_table_close(t);
  return rc;
}

int mw_cli_create(int argc, char **argv) {
  const char *uri = NULL, *schema_path = NULL, *pk = NULL, *spec = NULL, *maintain = NULL, *defaults = NULL;
  const mw_cli_opt opts[] = {{"--schema", &schema_path, NULL}, {"--pk", &pk, NULL},         {"--spec", &spec, NULL},
                             {"--maintain", &maintain, NULL},  {"--defaults", &defaults, NULL}};
  if (mw_cli_parse_args(&uri, opts, sizeof opts / sizeof *opts, "create", argc, argv) || !uri || !uri[0] ||
      !schema_path) {
    fprintf(stderr, "usage: memwal create URI --schema FILE.arrows [--pk COL[,COL]] "
                    "[--spec unsharded|bucket:COL:N|identity:COL] [--maintain NAME,...] [--defaults KEY=VALUE,...]\n");
    return 2;
  }
  char *pk_copy = NULL, *maint_copy = NULL, *defs_copy = NULL;
  const char *pk_names[MAX_ITEMS], *maint[MAX_ITEMS];
  mw_table_kv defs[MAX_ITEMS];
  int n_pk = 0, n_maint = 0, n_defs = 0, rc = 2;
  struct ArrowSchema schema = {0};
  struct ArrowArray *batches = NULL;
  size_t n_batches = 0;
  mw_objstore *store = NULL;
  mw_buf in;
  mw_buf_init(&in);
  if (pk) {
    pk_copy = strdup(pk);
    if (!pk_copy || (n_pk = split_list(pk_copy, (char **)pk_names, MAX_ITEMS)) < 0) {
      fprintf(stderr, "memwal create: --pk wants COL[,COL...]\n");
      goto done;
    }
  }
  if (parse_lists(&maint_copy, &defs_copy, maint, &n_maint, defs, &n_defs, "create", maintain, defaults)) goto done;
  rc = 1;
  int e = mw_cli_read_file(&in, schema_path, false, NULL);
  if (e) {
    fprintf(stderr, "memwal create: %s: %s\n", schema_path, strerror(e));
    goto done;
  }
  if (mw_cli_decode_ipc(&schema, &batches, &n_batches, "create", schema_path, &in)) goto done;
  mw_error err = {0};
  if (mw_objstore_open(&store, uri, NULL, &err) != MW_OK) {
    fprintf(stderr, "memwal create: %s: %s\n", uri, err.message);
    goto done;
  }
  if (mw_table_create(store, &schema, pk ? pk_names : NULL, (size_t)n_pk, &err) != MW_OK) {
    fprintf(stderr, "memwal create: %s: %s\n", uri, err.message);
    goto done;
  }
  if (mw_table_set_lsm_spec(store, spec ? spec : "unsharded", maint, (size_t)n_maint, defs, (size_t)n_defs, &err) !=
      MW_OK) {
    fprintf(stderr, "memwal create: %s: the table was created (version 1), but installing the spec failed: %s\n", uri,
            err.message);
    goto done;
  }
  rc = print_table(store, "create", uri);
done:
  mw_objstore_close(store);
  mw_cli_release_batches(batches, n_batches);
  mw_schema_release(&schema);
  mw_buf_free(&in);
  free(pk_copy);
  free(maint_copy);
  free(defs_copy);
  return rc;
}

int mw_cli_set_spec(int argc, char **argv) {
  const char *uri = NULL, *spec = NULL, *maintain = NULL, *defaults = NULL;
  const mw_cli_opt opts[] = {{"--spec", &spec, NULL}, {"--maintain", &maintain, NULL}, {"--defaults", &defaults, NULL}};
  if (mw_cli_parse_args(&uri, opts, sizeof opts / sizeof *opts, "set-spec", argc, argv) || !uri || !uri[0] || !spec) {
    fprintf(stderr, "usage: memwal set-spec URI --spec unsharded|bucket:COL:N|identity:COL [--maintain NAME,...] "
                    "[--defaults KEY=VALUE,...]\n");
    return 2;
  }
  char *maint_copy = NULL, *defs_copy = NULL;
  const char *maint[MAX_ITEMS];
  mw_table_kv defs[MAX_ITEMS];
  int n_maint = 0, n_defs = 0, rc = 2;
  mw_objstore *store = NULL;
  if (parse_lists(&maint_copy, &defs_copy, maint, &n_maint, defs, &n_defs, "set-spec", maintain, defaults)) goto done;
  rc = 1;
  if (mw_cli_open_existing(&store, "set-spec", uri)) goto done;
  mw_error err = {0};
  if (mw_table_set_lsm_spec(store, spec, maint, (size_t)n_maint, defs, (size_t)n_defs, &err) != MW_OK) {
    fprintf(stderr, "memwal set-spec: %s: %s\n", uri, err.message);
    goto done;
  }
  rc = print_table(store, "set-spec", uri);
done:
  mw_objstore_close(store);
  free(maint_copy);
  free(defs_copy);
  return rc;
}
