/* cli_gc.c - `memwal gc URI [--shard UUID] [--dry-run] [--keep-wal]`:
 * conservative garbage collection of the Lance table at URI (mw_table_gc,
 * rules in src/table/gc.c): generation folders every retained base version
 * and every index no longer needs, WAL entries whose data is in a flushed
 * generation (replaced by fence-shaped placeholders, or deleted where no
 * writer can append any more), on a local folder the temp files of writes
 * killed at least an hour ago. One line per decision on stderr ("remove
 * PATH: reason", "replace PATH: reason", "keep PATH: reason"; with
 * --dry-run prefixed "would "), the JSON summary on stdout. Exit 0 ok, 1 on
 * errors (what was removed before stays removed; running it again
 * finishes), 2 on usage errors. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "memwal.h"

static void report(void *ctx, const mw_table_gc_item *it) {
  const bool *dry = ctx;
  fprintf(stderr, "%s%s %s: %s\n", *dry && strcmp(it->action, "keep") != 0 ? "would " : "", it->action, it->path,
          it->reason);
}

int mw_cli_gc(int argc, char **argv) {
  const char *uri = NULL, *shard = NULL;
  bool dry = false, keep_wal = false;
  mw_cli_opt opts[] = {{"--shard", &shard, NULL}, {"--dry-run", NULL, &dry}, {"--keep-wal", NULL, &keep_wal}};
  if (mw_cli_parse_args(&uri, opts, 3, "gc", argc, argv) || !uri || !uri[0]) {
    fprintf(stderr, "usage: memwal gc URI [--shard UUID] [--dry-run] [--keep-wal]\n");
    return 2;
  }
  mw_table_gc_options o;
  mw_table_gc_options_init(&o);
  o.shard = shard;
  o.dry_run = dry;
  o.skip_wal = keep_wal;
  o.report = report;
  o.report_ctx = &dry;
  mw_objstore *store = NULL;
  if (mw_cli_open_existing(&store, "gc", uri)) return 1;
  mw_error err = {0};
  char *json = NULL;
  mw_status s = mw_table_gc(&json, store, &o, &err);
  return mw_cli_finish_json("gc", uri, s, json, &err, store);
}
