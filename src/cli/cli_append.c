/* cli_append.c - `memwal append URI --shard UUID --input FILE.arrows
 * [--first-position N] [--fence]`: claims a new writer epoch on the shard
 * (fencing any older writer's manifest updates), then appends every batch
 * of the Arrow IPC stream FILE as ONE WAL entry and prints
 *   {"position": P, "writer_epoch": E, "rows": N}
 * The input's own writer_epoch (and fence_sentinel) schema metadata is
 * replaced by ours; other schema and field metadata are kept as given, so
 * the input must carry the table's exact schema for Lance to replay it.
 * Zero-row batches are dropped; an input without rows is an error (nothing
 * is claimed or written).
 *
 * Fence entries: by default none. This is the low-level appender: one
 * invocation writes exactly one entry, and it has no MemTable whose replay
 * an older writer's late entry could slip past (the reason the ShardWriter
 * writes a fence entry, MEMWAL.md sections 6 and 8); an older writer's next
 * append collides with our entry or lands after it and is replayed by
 * whoever reads. --fence writes a fence entry byte-compatible with Lance
 * 12's (empty schema, no batch, fence_sentinel = "true") right after the claim
 * when the shard had an earlier writer (previous epoch >= 1), fencing that
 * writer at once; the output then also has "fence_position".
 *
 * Exit 0 ok, 1 on errors (message on stderr), 2 on usage errors. A local
 * folder that does not exist is an error (not created). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "manifest/manifest_store.h"
#include "memwal.h"
#include "wal/wal_internal.h"

static int usage(void) {
  fprintf(stderr,
          "usage: memwal append URI --shard UUID --input FILE.arrows [--first-position N] [--fence]\n"
          "  appends the input's batches as one WAL entry (claims a new writer epoch first);\n"
          "  --first-position: first position of a fresh shard (default 1, what Lance >= 7 reads; 0 is unsafe with LanceDB);\n"
          "  --fence: first write a fence entry if the shard had an earlier writer\n");
  return 2;
}

int mw_cli_append(int argc, char **argv) {
  const char *uri = NULL, *shard = NULL, *input = NULL, *first_s = NULL;
  bool fence = false;
  const mw_cli_opt opts[] = {
    {"--shard", &shard, NULL},
    {"--input", &input, NULL},
    {"--first-position", &first_s, NULL},
    {"--fence", NULL, &fence},
  };
  if (mw_cli_parse_args(&uri, opts, sizeof opts / sizeof opts[0], "append", argc, argv)) return usage();
  if (!uri || !uri[0] || !shard || !input || !input[0]) return usage();
  uint64_t first_pos = 1;
  if (first_s && !mw_cli_parse_u64(&first_pos, first_s)) {
    fprintf(stderr, "memwal append: --first-position needs a non-negative integer, got '%s'\n", first_s);
    return 2;
  }
  mw_error err = {0};
  uint8_t id[16];
  if (mw_uuid_parse(id, shard, &err) != MW_OK) {
    fprintf(stderr, "memwal append: %s\n", err.message);
    return 2;
  }

  /* Read and check the input before touching the table. */
  mw_buf in;
  mw_buf_init(&in);
  int e = mw_cli_read_file(&in, input, false, NULL);
  if (e) {
    fprintf(stderr, "memwal append: %s: %s\n", input, strerror(e));
    mw_buf_free(&in);
    return 1;
  }
  struct ArrowSchema raw, schema;
  struct ArrowArray *batches = NULL;
  size_t n_batches = 0;
  int bad = mw_cli_decode_ipc(&raw, &batches, &n_batches, "append", input, &in);
  mw_buf_free(&in);
  if (bad) return 1;
  /* Ours are added when the entry is encoded. */
  static const char *const wal_keys[] = {"writer_epoch", "fence_sentinel", NULL};
  mw_status st = mw_cli_schema_without(&schema, &raw, wal_keys, &err);
  mw_schema_release(&raw);
  if (st != MW_OK) {
    fprintf(stderr, "memwal append: %s\n", err.message);
    mw_cli_release_batches(batches, n_batches);
    return 1;
  }
  const struct ArrowArray **keep = calloc(n_batches ? n_batches : 1, sizeof *keep);
  size_t n_keep = 0;
  for (size_t k = 0; keep && k < n_batches; k++) {
    if (batches[k].length == 0) continue; /* zero-row batches are dropped */
    keep[n_keep++] = &batches[k];
  }

  int rc = 1;
  mw_objstore *store = NULL;
  mw_manifest_store *ms = NULL;
  mw_wal_appender *ap = NULL;
  mw_shard_manifest *claimed = NULL;
  if (!keep) {
    fprintf(stderr, "memwal append: out of memory\n");
    goto done;
  }
  if (n_keep == 0) {
    fprintf(stderr, "memwal append: %s: the input has no rows (nothing to append)\n", input);
    goto done;
  }
  if (mw_cli_open_existing(&store, "append", uri)) goto done;
  /* Claim through the manifest store (not mw_wal_appender_open) to learn
   * the previous epoch, which decides whether --fence writes a fence. */
  uint64_t prev_epoch = 0;
  if (mw_manifest_store_open(&ms, store, id, 0, &err) != MW_OK ||
      mw_manifest_store_claim_epoch(&claimed, &prev_epoch, ms, 0, &err) != MW_OK ||
      mw_wal_appender_new_claimed(&ap, store, ms, false, claimed->writer_epoch, claimed, first_pos,
                                  &err) != MW_OK) {
    fprintf(stderr, "memwal append: %s\n", err.message);
    goto done;
  }
  mw_wal_append_result fr = {0};
  bool fenced_written = false;
  if (fence && prev_epoch >= 1) {
    struct ArrowSchema empty;
    if (mw_schema_init(&empty, "+s", "", NULL, 0, 0, &err) != MW_OK) {
      fprintf(stderr, "memwal append: %s\n", err.message);
      goto done;
    }
    st = mw_wal_appender_append_fence(&fr, ap, &empty, &err);
    mw_schema_release(&empty);
    if (st != MW_OK) {
      fprintf(stderr, "memwal append: writing the fence entry: %s\n", err.message);
      goto done;
    }
    fenced_written = true;
  }
  mw_wal_append_result r = {0};
  if (mw_wal_appender_append(&r, ap, &schema, keep, n_keep, &err) != MW_OK) {
    fprintf(stderr, "memwal append: %s\n", err.message);
    goto done;
  }
  if (fenced_written)
    printf("{\"position\": %" PRIu64 ", \"writer_epoch\": %" PRIu64 ", \"rows\": %" PRIu64
           ", \"fence_position\": %" PRIu64 "}\n",
           r.position, mw_wal_appender_epoch(ap), r.rows, fr.position);
  else
    printf("{\"position\": %" PRIu64 ", \"writer_epoch\": %" PRIu64 ", \"rows\": %" PRIu64 "}\n",
           r.position, mw_wal_appender_epoch(ap), r.rows);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "memwal append: writing output: %s\n", strerror(errno));
    goto done;
  }
  rc = 0;
done:
  mw_wal_appender_close(ap);
  mw_shard_manifest_free(claimed);
  mw_manifest_store_close(ms);
  mw_objstore_close(store);
  free(keep);
  mw_cli_release_batches(batches, n_batches);
  mw_schema_release(&schema);
  return rc;
}
