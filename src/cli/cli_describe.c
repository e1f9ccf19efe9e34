/* cli_describe.c - `memwal describe URI`: the base Lance table at URI (a
 * path, file://, memory://, s3://) as one JSON line: its latest version,
 * writer, fields (path, Lance field id, parent id, logical type,
 * nullability), unenforced primary key, routing spec ("bucket:id:4", null
 * without a MemWAL index, {"error": ...} for a spec we cannot route), every
 * MemWalIndexDetails field of the `__lance_mem_wal` index entry, and the
 * shard folders under _mem_wal/ (format: mw_table_describe_json). Exit 0 ok,
 * 1 on errors (not a Lance table, unreadable or corrupt manifest: message
 * on stderr), 2 on usage errors. Read-only. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "memwal.h"
#include "table/table.h"

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
  if (mw_table_open(&t, store, &err) != MW_OK || mw_table_describe_json(&json, t, uri, &err) != MW_OK) {
    fprintf(stderr, "memwal describe: %s: %s\n", uri, err.message);
  } else {
    printf("%s\n", json);
    rc = fflush(stdout) == 0 ? 0 : 1;
  }
  free(json);
  mw_table_close(t);
  mw_objstore_close(store);
  return rc;
}
