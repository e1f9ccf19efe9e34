/* cli_merge.c - `memwal merge URI [--shard UUID] [--up-to GEN]`: merges the
 * flushed generations of the Lance table at URI into its base table
 * (mw_table_merge, LSM.md section 11), oldest first per shard, one table
 * version per generation. Progress goes to stderr (one line per
 * generation), the JSON summary of mw_table_merge to stdout. Exit 0 ok
 * (also when there was nothing to merge), 1 on errors (generations merged
 * before the failure stay merged; running it again continues), 2 on usage
 * errors. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "memwal.h"

static void progress(void *ctx, const mw_table_merge_progress *p) {
  (void)ctx;
  if (strcmp(p->stage, "committed") == 0)
    fprintf(stderr, "memwal merge: shard %s generation %" PRIu64 " -> table version %" PRIu64 " (%" PRIu64
            " rows added, %" PRIu64 " tombstones, %" PRIu64 " base rows deleted)\n",
            p->shard, p->generation, p->table_version, p->rows_added, p->tombstones, p->base_rows_deleted);
  else if (strcmp(p->stage, "skipped") == 0)
    fprintf(stderr, "memwal merge: shard %s generation %" PRIu64 " was merged by another merger, skipped\n", p->shard,
            p->generation);
  else
    fprintf(stderr, "memwal merge: shard %s generation %" PRIu64 " ...\n", p->shard, p->generation);
}

int mw_cli_merge(int argc, char **argv) {
  const char *uri = NULL, *shard = NULL, *up_to = NULL;
  mw_cli_opt opts[] = {{"--shard", &shard, NULL}, {"--up-to", &up_to, NULL}};
  mw_table_merge_options o;
  mw_table_merge_options_init(&o);
  if (mw_cli_parse_args(&uri, opts, 2, "merge", argc, argv) || !uri || !uri[0] ||
      (up_to && (!mw_cli_parse_u64(&o.up_to, up_to) || o.up_to == 0))) {
    fprintf(stderr, "usage: memwal merge URI [--shard UUID] [--up-to GEN]\n");
    return 2;
  }
  o.shard = shard;
  o.progress = progress;
  mw_objstore *store = NULL;
  if (mw_cli_open_existing(&store, "merge", uri)) return 1;
  mw_error err = {0};
  char *json = NULL;
  mw_status s = mw_table_merge(&json, store, &o, &err);
  return mw_cli_finish_json("merge", uri, s, json, &err, store);
}
