/* cli_inspect.c - `memwal inspect URI --shard UUID`: prints the latest shard
 * manifest of a base table (URI = its root: a path, file://, memory://) as
 * one JSON line (mw_shard_manifest_read_json, the public read-only API).
 * Exit 0 ok, 1 on errors (no manifest, unreadable store, corrupt manifest;
 * message on stderr), 2 on usage errors. Read-only: never claims an epoch
 * or writes anything, and a local folder that does not exist is an error,
 * not created. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/uuid.h"
#include "memwal.h"

static int usage(void) {
  fprintf(stderr, "usage: memwal inspect URI --shard UUID\n");
  return 2;
}

int mw_cli_inspect(int argc, char **argv) {
  const char *uri = NULL, *shard = NULL;
  const mw_cli_opt opts[] = {{"--shard", &shard, NULL}};
  if (mw_cli_parse_args(&uri, opts, 1, "inspect", argc, argv)) return usage();
  if (!uri || !uri[0] || !shard) return usage();
  mw_error err = {0};
  uint8_t id[16];
  if (mw_uuid_parse(id, shard, &err) != MW_OK) {
    fprintf(stderr, "memwal inspect: %s\n", err.message);
    return 2;
  }
  mw_objstore *store = NULL;
  if (mw_cli_open_existing(&store, "inspect", uri)) return 1;
  int rc = 1;
  char *json = NULL;
  if (mw_shard_manifest_read_json(&json, store, shard, &err) != MW_OK) {
    fprintf(stderr, "memwal inspect: %s\n", err.message);
  } else {
    printf("%s\n", json);
    rc = fflush(stdout) == 0 ? 0 : 1;
  }
  mw_free(json);
  mw_objstore_close(store);
  return rc;
}
