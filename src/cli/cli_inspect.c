/* cli_inspect.c - `memwal inspect URI --shard UUID`: prints the latest shard
 * manifest of a base table (URI = its root: a path, file://, memory://) as
 * one JSON line (format: mw_shard_manifest_to_json). Exit 0 ok, 1 on errors
 * (no manifest, unreadable store, corrupt manifest; message on stderr), 2 on
 * usage errors. Read-only: a local folder that does not exist is an error,
 * not created. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/uuid.h"
#include "manifest/manifest_store.h"
#include "memwal.h"

static int usage(void) {
  fprintf(stderr, "usage: memwal inspect URI --shard UUID\n");
  return 2;
}

/* Local paths must exist already (opening a file store would create them). */
static int check_local(const char *uri) {
  const char *path = NULL;
  if (!strstr(uri, "://")) path = uri;
  else if (strncmp(uri, "file://", 7) == 0 && !strchr(uri, '%')) path = uri + 7;
  if (!path) return 0;
  struct stat sb;
  if (stat(path, &sb) != 0) {
    fprintf(stderr, "memwal inspect: %s: %s\n", uri, strerror(errno));
    return 1;
  }
  if (!S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "memwal inspect: %s: not a folder\n", uri);
    return 1;
  }
  return 0;
}

int mw_cli_inspect(int argc, char **argv) {
  const char *uri = NULL, *shard = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--shard") == 0) {
      if (i + 1 >= argc || shard) return usage();
      shard = argv[++i];
    } else if (strncmp(argv[i], "--shard=", 8) == 0) {
      if (shard) return usage();
      shard = argv[i] + 8;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "memwal inspect: unknown option '%s'\n", argv[i]);
      return usage();
    } else {
      if (uri) return usage();
      uri = argv[i];
    }
  }
  if (!uri || !uri[0] || !shard) return usage();
  mw_error err = {0};
  uint8_t id[16];
  if (mw_uuid_parse(id, shard, &err) != MW_OK) {
    fprintf(stderr, "memwal inspect: %s\n", err.message);
    return 2;
  }
  if (check_local(uri)) return 1;
  mw_objstore *store = NULL;
  if (mw_objstore_open(&store, uri, NULL, &err) != MW_OK) {
    fprintf(stderr, "memwal inspect: %s\n", err.message);
    return 1;
  }
  int rc = 1;
  mw_manifest_store *ms = NULL;
  mw_shard_manifest *m = NULL;
  char *json = NULL;
  if (mw_manifest_store_open(&ms, store, id, 0, &err) != MW_OK ||
      mw_manifest_store_read_latest(&m, ms, &err) != MW_OK) {
    fprintf(stderr, "memwal inspect: %s\n", err.message);
  } else if (!m) {
    fprintf(stderr, "memwal inspect: no manifest for shard %s\n", mw_manifest_store_shard_str(ms));
  } else if (mw_shard_manifest_to_json(&json, m, &err) != MW_OK) {
    fprintf(stderr, "memwal inspect: %s\n", err.message);
  } else {
    printf("%s\n", json);
    rc = fflush(stdout) == 0 ? 0 : 1;
  }
  free(json);
  mw_shard_manifest_free(m);
  mw_manifest_store_close(ms);
  mw_objstore_close(store);
  return rc;
}
