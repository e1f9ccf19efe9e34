/* cli_describe.c - `memwal describe URI`: the base Lance table at URI (a
 * path, file://, memory://, s3://) as one JSON line: its latest version,
 * writer, fields (path, Lance field id, parent id, logical type,
 * nullability), unenforced primary key, routing spec ("bucket:id:4", null
 * without a MemWAL index, {"error": ...} for a spec we cannot route), every
 * MemWalIndexDetails field of the `__lance_mem_wal` index entry, and the
 * shard folders under _mem_wal/ (format: mw_table_describe_json), plus
 * "shard_manifests": each shard's latest manifest as `memwal inspect`
 * prints it (null for a folder without one). Exit 0 ok,
 * 1 on errors (not a Lance table, unreadable or corrupt manifest: message
 * on stderr), 2 on usage errors. Read-only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "manifest/manifest_store.h"
#include "memwal.h"
#include "table/table.h"

/* Appends ",\"shard_manifests\":[...]" (one JSON value per shard). */
static mw_status shard_manifests(mw_buf *out, mw_objstore *store, const mw_table *t, mw_error *err) {
  static const char head[] = ",\"shard_manifests\":[";
  mw_buf_append(out, head, sizeof head - 1);
  for (size_t i = 0; i < t->n_shards; i++) {
    mw_manifest_store *ms = NULL;
    mw_shard_manifest *m = NULL;
    char *json = NULL;
    mw_status st = mw_manifest_store_open(&ms, store, t->shards[i], 0, err);
    if (st == MW_OK) st = mw_manifest_store_read_latest(&m, ms, err);
    if (st == MW_OK && m) st = mw_shard_manifest_to_json(&json, m, err);
    if (st != MW_OK) {
      char id[MW_UUID_STR_LEN + 1];
      mw_uuid_format(id, t->shards[i]);
      mw_err_wrap(err, st, "shard %s", id);
    }
    if (i) mw_buf_u8(out, ',');
    if (json) mw_buf_append(out, json, strlen(json));
    else mw_buf_append(out, "null", 4);
    free(json);
    mw_shard_manifest_free(m);
    mw_manifest_store_close(ms);
    if (st != MW_OK) return st;
  }
  mw_buf_u8(out, ']');
  return MW_OK;
}

int mw_cli_describe(int argc, char **argv) {
  const char *uri = NULL;
  if (mw_cli_parse_args(&uri, NULL, 0, "describe", argc, argv) || !uri || !uri[0]) {
    fprintf(stderr, "usage: memwal describe URI\n");
    return 2;
  }
  mw_objstore *store = NULL;
  if (mw_cli_open_existing(&store, "describe", uri)) return 1;
  mw_error err = {0};
  mw_table *t = NULL;
  char *json = NULL;
  int rc = 1;
  mw_buf out;
  mw_buf_init(&out);
  if (mw_table_open(&t, store, &err) != MW_OK || mw_table_describe_json(&json, t, uri, &err) != MW_OK) {
    fprintf(stderr, "memwal describe: %s: %s\n", uri, err.message);
  } else {
    mw_buf_append(&out, json, strlen(json) - 1); /* without the closing brace */
    if (shard_manifests(&out, store, t, &err) != MW_OK) {
      fprintf(stderr, "memwal describe: %s: %s\n", uri, err.message);
    } else {
      mw_buf_append(&out, "}\n", 2);
      if (!mw_buf_ok(&out)) fprintf(stderr, "memwal describe: out of memory\n");
      else if (fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0) rc = 0;
    }
  }
  mw_buf_free(&out);
  free(json);
  mw_table_close(t);
  mw_objstore_close(store);
  return rc;
}
