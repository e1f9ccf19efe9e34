/* cli_tail.c - `memwal tail URI --shard UUID [--from P] [--to P]`: prints the
 * WAL entries of a shard, one JSON line each:
 *   {"position": P, "writer_epoch": E, "fence": B, "batches": N,
 *    "rows": [ROW, ...]}
 * ROW objects are rendered exactly as `ipc-cat` renders rows (arrow/json.h).
 * Reading starts at --from, else at the tailer's first position (a listing:
 * works for 0- and 1-based shards), and stops after --to or at the first
 * absent position above the shard manifest's replay cursor: at or below it
 * an absent position (other than 0, which 1-based shards never have) is a
 * gap `memwal gc` made (it deletes entries whose data is in a flushed
 * generation) and is skipped. An empty WAL without
 * --from prints nothing (exit 0).
 * Exit 0 ok, 1 on errors (unreadable store, corrupt entry: message on
 * stderr; lines already printed stay printed), 2 on usage errors. Read-only:
 * never claims an epoch or moves the cursor, and a local folder that does
 * not exist is an error, not created. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/json.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "memwal.h"

static int usage(void) {
  fprintf(stderr, "usage: memwal tail URI --shard UUID [--from P] [--to P]\n");
  return 2;
}

/* Renders one entry as a JSON line into out. */
static mw_status render_entry(mw_buf *out, const mw_wal_entry *e, mw_error *err) {
  char head[160];
  snprintf(head, sizeof head,
           "{\"position\": %" PRIu64 ", \"writer_epoch\": %" PRIu64
           ", \"fence\": %s, \"batches\": %zu, \"rows\": [",
           e->position, e->writer_epoch, e->is_fence ? "true" : "false", e->n_batches);
  mw_buf_append(out, head, strlen(head));
  bool first = true;
  for (size_t b = 0; b < e->n_batches; b++) {
    for (int64_t i = 0; i < e->batches[b].length; i++) {
      if (!first) mw_buf_append(out, ", ", 2);
      first = false;
      MW_TRY(mw_json_row(out, &e->schema, &e->batches[b], i, err));
    }
  }
  mw_buf_append(out, "]}\n", 3);
  if (!mw_buf_ok(out)) return mw_err(err, MW_ERR_NOMEM, "out of memory rendering an entry");
  return MW_OK;
}

int mw_cli_tail(int argc, char **argv) {
  const char *uri = NULL, *shard = NULL, *from_s = NULL, *to_s = NULL;
  const mw_cli_opt opts[] = {
    {"--shard", &shard, NULL},
    {"--from", &from_s, NULL},
    {"--to", &to_s, NULL},
  };
  if (mw_cli_parse_args(&uri, opts, sizeof opts / sizeof opts[0], "tail", argc, argv)) return usage();
  if (!uri || !uri[0] || !shard) return usage();
  uint64_t from = 0, to = UINT64_MAX;
  if (from_s && !mw_cli_parse_u64(&from, from_s)) {
    fprintf(stderr, "memwal tail: --from needs a position (a non-negative integer), got '%s'\n", from_s);
    return 2;
  }
  if (to_s && !mw_cli_parse_u64(&to, to_s)) {
    fprintf(stderr, "memwal tail: --to needs a position (a non-negative integer), got '%s'\n", to_s);
    return 2;
  }
  mw_error err = {0};
  uint8_t id[16];
  if (mw_uuid_parse(id, shard, &err) != MW_OK) {
    fprintf(stderr, "memwal tail: %s\n", err.message);
    return 2;
  }
  mw_objstore *store = NULL;
  if (mw_cli_open_existing(&store, "tail", uri)) return 1;
  int rc = 0;
  mw_wal_tailer *t = NULL;
  mw_buf out;
  mw_buf_init(&out);
  if (mw_wal_tailer_open(&t, store, shard, &err) != MW_OK) {
    fprintf(stderr, "memwal tail: %s\n", err.message);
    rc = 1;
    goto done;
  }
  if (!from_s) {
    mw_status s = mw_wal_tailer_first_position(&from, t, &err);
    if (s == MW_ERR_NOT_FOUND) goto done; /* empty WAL: nothing to print */
    if (s != MW_OK) {
      fprintf(stderr, "memwal tail: %s\n", err.message);
      rc = 1;
      goto done;
    }
  }
  /* gc's gaps lie at or below the replay cursor (no manifest: no gaps) */
  uint64_t cursor = 0;
  bool flushed = false;
  mw_shard_manifest_info *mi = NULL;
  mw_status ms = mw_shard_manifest_read(&mi, store, shard, &err);
  if (ms != MW_OK && ms != MW_ERR_NOT_FOUND) {
    fprintf(stderr, "memwal tail: %s\n", err.message);
    rc = 1;
    goto done;
  }
  if (mi && (mi->replay_after_wal_entry_position > 0 || mi->n_flushed_generations > 0)) {
    flushed = true;
    cursor = mi->replay_after_wal_entry_position;
  }
  mw_shard_manifest_info_free(mi);
  for (uint64_t p = from; p <= to; p++) {
    mw_wal_entry e;
    mw_status s = mw_wal_tailer_read_entry(&e, t, p, &err);
    /* a gap gc left (position 0 is not skipped: 1-based shards never have it) */
    if (s == MW_ERR_NOT_FOUND && flushed && p > 0 && p <= cursor) continue;
    if (s == MW_ERR_NOT_FOUND) break;
    if (s == MW_OK) {
      out.len = 0;
      s = render_entry(&out, &e, &err);
      mw_wal_entry_release(&e);
    }
    if (s != MW_OK) {
      fprintf(stderr, "memwal tail: %s\n", err.message[0] ? err.message : mw_status_str(s));
      rc = 1;
      break;
    }
    if (fwrite(out.data, 1, out.len, stdout) != out.len) {
      fprintf(stderr, "memwal tail: writing output: %s\n", strerror(errno));
      rc = 1;
      break;
    }
    if (p == UINT64_MAX) break;
  }
  if (rc == 0 && fflush(stdout) != 0) {
    fprintf(stderr, "memwal tail: writing output: %s\n", strerror(errno));
    rc = 1;
  }
done:
  mw_buf_free(&out);
  mw_wal_tailer_close(t);
  mw_objstore_close(store);
  return rc;
}
