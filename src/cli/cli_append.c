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
#include <sys/stat.h>

#include "arrow/c_data.h"
#include "cli/cli.h"
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
          "  --first-position: first position of a fresh shard (default 0; 1 for Lance >= 7);\n"
          "  --fence: first write a fence entry if the shard had an earlier writer\n");
  return 2;
}

static bool parse_u64(uint64_t *out, const char *s) {
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    uint64_t d = (uint64_t)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

static int check_local(const char *uri) {
  const char *path = NULL;
  if (!strstr(uri, "://")) path = uri;
  else if (strncmp(uri, "file://", 7) == 0 && !strchr(uri, '%')) path = uri + 7;
  if (!path) return 0;
  struct stat sb;
  if (stat(path, &sb) != 0) {
    fprintf(stderr, "memwal append: %s: %s\n", uri, strerror(errno));
    return 1;
  }
  if (!S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "memwal append: %s: not a folder\n", uri);
    return 1;
  }
  return 0;
}

static int slurp(const char *path, mw_buf *b) {
  FILE *f = fopen(path, "rb");
  if (!f) return errno ? errno : EIO;
  int e = 0;
  for (;;) {
    if (!mw_buf_reserve(b, 65536)) { e = ENOMEM; break; }
    size_t n = fread(b->data + b->len, 1, b->cap - b->len, f);
    b->len += n;
    if (n == 0) {
      if (ferror(f)) e = errno ? errno : EIO;
      break;
    }
  }
  fclose(f);
  return e;
}

/* A copy of schema whose top-level metadata lacks writer_epoch and
 * fence_sentinel (ours are added when the entry is encoded). */
static mw_status strip_wal_keys(struct ArrowSchema *out, const struct ArrowSchema *in, mw_error *err) {
  bool ok = true;
  char *m1 = mw_metadata_with(in->metadata, "writer_epoch", NULL, &ok);
  char *m2 = ok ? mw_metadata_with(m1, "fence_sentinel", NULL, &ok) : NULL;
  free(m1);
  if (!ok) {
    free(m2);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  mw_status s = mw_schema_init(out, in->format, in->name, m2, in->flags, in->n_children, err);
  free(m2);
  if (s != MW_OK) return s;
  for (int64_t i = 0; i < in->n_children; i++) {
    mw_schema_release(out->children[i]);
    s = mw_schema_copy(out->children[i], in->children[i], err);
    if (s != MW_OK) {
      mw_schema_release(out);
      return s;
    }
  }
  return MW_OK;
}

int mw_cli_append(int argc, char **argv) {
  const char *uri = NULL, *shard = NULL, *input = NULL, *first_s = NULL;
  bool fence = false;
  for (int i = 1; i < argc; i++) {
    const char **slot = NULL;
    const char *a = argv[i];
    if (strcmp(a, "--shard") == 0) slot = &shard;
    else if (strcmp(a, "--input") == 0) slot = &input;
    else if (strcmp(a, "--first-position") == 0) slot = &first_s;
    if (slot) {
      if (i + 1 >= argc || *slot) return usage();
      *slot = argv[++i];
      continue;
    }
    if (strncmp(a, "--shard=", 8) == 0) slot = &shard, a += 8;
    else if (strncmp(a, "--input=", 8) == 0) slot = &input, a += 8;
    else if (strncmp(a, "--first-position=", 17) == 0) slot = &first_s, a += 17;
    if (slot) {
      if (*slot) return usage();
      *slot = a;
    } else if (strcmp(a, "--fence") == 0) {
      fence = true;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "memwal append: unknown option '%s'\n", a);
      return usage();
    } else {
      if (uri) return usage();
      uri = a;
    }
  }
  if (!uri || !uri[0] || !shard || !input || !input[0]) return usage();
  uint64_t first_pos = 0;
  if (first_s && !parse_u64(&first_pos, first_s)) {
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
  int e = slurp(input, &in);
  if (e) {
    fprintf(stderr, "memwal append: %s: %s\n", input, strerror(e));
    mw_buf_free(&in);
    return 1;
  }
  struct ArrowSchema raw, schema;
  struct ArrowArray *batches = NULL;
  size_t n_batches = 0;
  mw_status st = mw_ipc_decode(&raw, &batches, &n_batches, in.data, in.len, &err);
  mw_buf_free(&in);
  if (st != MW_OK) {
    fprintf(stderr, "memwal append: %s: %s\n", input, err.message);
    return 1;
  }
  st = strip_wal_keys(&schema, &raw, &err);
  mw_schema_release(&raw);
  if (st != MW_OK) {
    fprintf(stderr, "memwal append: %s\n", err.message);
    for (size_t k = 0; k < n_batches; k++) mw_array_release(&batches[k]);
    mw_free(batches);
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
  if (check_local(uri)) goto done;
  if (mw_objstore_open(&store, uri, NULL, &err) != MW_OK) {
    fprintf(stderr, "memwal append: %s\n", err.message);
    goto done;
  }
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
  for (size_t k = 0; k < n_batches; k++) mw_array_release(&batches[k]);
  mw_free(batches);
  mw_schema_release(&schema);
  return rc;
}
