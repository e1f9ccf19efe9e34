/* cli_writer.c - the ShardWriter commands of the memwal tool:
 *   memwal put URI --shard UUID --input FILE.arrows [options]   ingest a file
 *   memwal scan URI --shard UUID [--claim]                       unflushed rows
 *   memwal bench URI [--rows N] [--batch-rows N] [options]       generated ingest
 *   memwal flush URI --shard UUID                                flush the MemTable
 *   memwal delete URI --shard UUID --input KEYS.arrows           tombstones for keys
 * They share option parsing and writer set-up; output is JSON (one object
 * per line) on stdout, progress and errors on stderr. put, bench and flush
 * claim a writer epoch (fencing a live writer of the shard); scan does not
 * (it replays the WAL with a WalTailer) unless given --claim. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrow/c_data.h"
#include "arrow/json.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/gen_data.h"
#include "common/buf.h"
#include "common/error.h"
#include "lance/lance_file.h"
#include "memwal.h"
#include "memwal_sys.h"

typedef struct writer_opts {
  const char *uri;
  const char *shard;
  const char *input;
  int wal_only;
  int no_durable;
  int acks;
  int no_fsync;
  uint64_t first_position;
  int64_t flush_interval_ms; /* -1 = default */
  int64_t buffer_bytes;      /* -1 = default */
  int64_t rows;              /* bench */
  int64_t batch_rows;        /* bench */
  int32_t dim;               /* bench */
  int quiet;
  int flush_on_close;        /* freeze + flush the MemTable before closing */
  int table;                 /* bench: through the table writer (the table's MemWAL spec) */
  int claim;                 /* scan: through a claiming ShardWriter */
  int read_only;             /* scan: explicit --read-only (the default) */
} writer_opts;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_u64(const char *cmd, const char *flag, const char *v, uint64_t *out) {
  if (mw_cli_parse_u64(out, v)) return 0;
  fprintf(stderr, "memwal %s: %s needs a non-negative integer, got '%s'\n", cmd, flag, v ? v : "");
  return -1;
}

/* Parses the options every writer command shares. Returns 0, or 2 (usage). */
static int parse_opts(writer_opts *o, const char *cmd, int argc, char **argv, const char *usage) {
  memset(o, 0, sizeof *o);
  o->first_position = 1; /* 0 is unsafe with Lance >= 7 readers */
  o->flush_interval_ms = -1;
  o->buffer_bytes = -1;
  o->rows = 100000;
  o->batch_rows = 1000;
  o->dim = 512;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t v;
#define NEED_VALUE()                                                       \
  do {                                                                     \
    if (!next) {                                                           \
      fprintf(stderr, "memwal %s: %s needs a value\n%s", cmd, a, usage);   \
      return 2;                                                            \
    }                                                                      \
    i++;                                                                   \
  } while (0)
    if (strcmp(a, "--shard") == 0) { NEED_VALUE(); o->shard = next; }
    else if (strcmp(a, "--input") == 0) { NEED_VALUE(); o->input = next; }
    else if (strcmp(a, "--wal-only") == 0) o->wal_only = 1;
    else if (strcmp(a, "--no-durable") == 0) o->no_durable = 1;
    else if (strcmp(a, "--acks") == 0) o->acks = 1;
    else if (strcmp(a, "--no-fsync") == 0) o->no_fsync = 1;
    else if (strcmp(a, "--quiet") == 0) o->quiet = 1;
    else if (strcmp(a, "--flush-on-close") == 0) o->flush_on_close = 1;
    else if (strcmp(cmd, "bench") == 0 && strcmp(a, "--table") == 0) o->table = 1;
    else if (strcmp(cmd, "scan") == 0 && strcmp(a, "--claim") == 0) o->claim = 1;
    else if (strcmp(cmd, "scan") == 0 && strcmp(a, "--read-only") == 0) o->read_only = 1;
    else if (strcmp(a, "--first-position") == 0) {
      NEED_VALUE();
      if (parse_u64(cmd, a, next, &v)) return 2;
      o->first_position = v;
    } else if (strcmp(a, "--flush-interval-ms") == 0) {
      NEED_VALUE();
      if (parse_u64(cmd, a, next, &v)) return 2;
      o->flush_interval_ms = (int64_t)v;
    } else if (strcmp(a, "--buffer-bytes") == 0) {
      NEED_VALUE();
      if (parse_u64(cmd, a, next, &v)) return 2;
      o->buffer_bytes = (int64_t)v;
    } else if (strcmp(a, "--rows") == 0) {
      NEED_VALUE();
      if (parse_u64(cmd, a, next, &v) || v == 0) return 2;
      o->rows = (int64_t)v;
    } else if (strcmp(a, "--batch-rows") == 0) {
      NEED_VALUE();
      if (parse_u64(cmd, a, next, &v) || v == 0) return 2;
      o->batch_rows = (int64_t)v;
    } else if (strcmp(a, "--dim") == 0) {
      NEED_VALUE();
      if (parse_u64(cmd, a, next, &v) || v == 0 || v > 65536) return 2;
      o->dim = (int32_t)v;
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "memwal %s: unknown option '%s'\n%s", cmd, a, usage);
      return 2;
    } else if (!o->uri) {
      o->uri = a;
    } else {
      fprintf(stderr, "memwal %s: unexpected argument '%s'\n%s", cmd, a, usage);
      return 2;
    }
#undef NEED_VALUE
  }
  if (!o->uri) {
    fprintf(stderr, "memwal %s: missing URI\n%s", cmd, usage);
    return 2;
  }
  return 0;
}

static void writer_config(mw_shard_writer_config *c, const writer_opts *o) {
  mw_shard_writer_config_init(c);
  if (o->shard) snprintf(c->shard_id, sizeof c->shard_id, "%s", o->shard);
  c->enable_memtable = !o->wal_only;
  c->durable_write = !o->no_durable;
  c->first_wal_entry_position = o->first_position;
  if (o->flush_interval_ms >= 0) c->max_wal_flush_interval_ms = (uint64_t)o->flush_interval_ms;
  if (o->buffer_bytes >= 0) c->max_wal_buffer_size = (uint64_t)o->buffer_bytes;
}

static int open_store(mw_objstore **store, const char *cmd, const writer_opts *o) {
  mw_objstore_options so;
  mw_objstore_options_init(&so);
  if (o->no_fsync) so.fsync = 0;
  mw_error err = {0};
  if (mw_objstore_open(store, o->uri, &so, &err) != MW_OK) {
    fprintf(stderr, "memwal %s: %s: %s\n", cmd, o->uri, err.message);
    return 1;
  }
  return 0;
}

/* Reads and decodes the Arrow IPC stream at `path` ("-" = stdin) for
 * command `cmd`, printing the reason on failure. 0 or 1. */
static int read_input(struct ArrowSchema *schema, struct ArrowArray **batches, size_t *nb, const char *cmd,
                      const char *path) {
  mw_buf in;
  mw_buf_init(&in);
  bool opened = false;
  int e = mw_cli_read_file(&in, path, true, &opened);
  if (e) {
    if (opened) fprintf(stderr, "memwal %s: %s: read failed\n", cmd, path);
    else fprintf(stderr, "memwal %s: %s: %s\n", cmd, path, strerror(e));
    mw_buf_free(&in);
    return 1;
  }
  int bad = mw_cli_decode_ipc(schema, batches, nb, cmd, path, &in);
  mw_buf_free(&in);
  return bad ? 1 : 0;
}

/* ------------------------------------------------------------------- put */

static const char put_usage[] =
    "usage: memwal put URI [--shard UUID] --input FILE.arrows [--wal-only] [--no-durable]\n"
    "                  [--first-position N] [--flush-interval-ms N] [--buffer-bytes N] [--acks]\n"
    "                  [--no-fsync] [--flush-on-close]\n"
    "  Writes each batch of the Arrow IPC stream FILE with one put through a ShardWriter\n"
    "  (claims an epoch; MemTable mode replays the WAL first) and prints one JSON summary:\n"
    "  {\"epoch\", \"puts\", \"rows\", \"wal_entries\", \"put_seconds\", \"close_seconds\"}.\n"
    "  --acks first prints {\"put\": i, \"rows\": n, \"start\": s, \"end\": e} per acknowledged put.\n"
    "  --flush-on-close freezes the MemTable at the end and flushes it as a generation folder\n"
    "  committed to the shard manifest (the summary then has \"generations\": n).\n"
    "  Without --shard, URI must be a Lance table with a MemWAL spec (memwal set-spec, or\n"
    "  LanceDB's setLsmWriteSpec): rows are routed to shards as LanceDB routes them and the\n"
    "  summary is {\"spec\", \"table_version\", \"puts\", \"rows\", \"shards\": [{\"shard\",\n"
    "  \"bucket\", \"rows\", \"puts\"}], \"put_seconds\", \"close_seconds\"}.\n";

/* The end of a table-writer command: flushes every shard's WAL (and with
 * --flush-on-close its MemTable), takes the writer's stats and closes it
 * (always). On success *out_json is the stats object WITHOUT its closing
 * brace (the caller appends fields and closes it; free with mw_free) and
 * *t_flushed the time the flushes ended. 0, or 1 after printing the error. */
static int table_finish(mw_table_writer *w, const writer_opts *o, const char *cmd, char **out_json,
                        double *t_flushed) {
  mw_error err = {0};
  *out_json = NULL;
  mw_status fs = mw_table_writer_flush_wal(w, &err);
  if (fs == MW_OK && o->flush_on_close && !o->wal_only) fs = mw_table_writer_flush_memtables(w, &err);
  *t_flushed = now_s();
  if (fs == MW_OK) fs = mw_table_writer_stats_json(out_json, w, &err);
  mw_error cerr = {0};
  mw_status cs = mw_table_writer_close(w, 0, &cerr);
  if (fs != MW_OK || cs != MW_OK) {
    fprintf(stderr, "memwal %s: close: %s\n", cmd, fs != MW_OK ? err.message : cerr.message);
    mw_free(*out_json);
    *out_json = NULL;
    return 1;
  }
  size_t n = strlen(*out_json);
  if (n > 0 && (*out_json)[n - 1] == '}') (*out_json)[n - 1] = '\0';
  return 0;
}

/* put without --shard: through a table writer (src/table/table_writer.c). */
static int table_put(const writer_opts *o, mw_objstore *store, const struct ArrowSchema *schema,
                     struct ArrowArray *batches, size_t nb) {
  mw_table_writer_config cfg;
  mw_table_writer_config_init(&cfg);
  writer_config(&cfg.shard, o);
  mw_error err = {0};
  mw_table_writer *w = NULL;
  if (mw_table_writer_open(&w, store, &cfg, schema, &err) != MW_OK) {
    fprintf(stderr, "memwal put: %s\n", err.message);
    return 1;
  }
  double t0 = now_s();
  for (size_t i = 0; i < nb; i++) {
    if (batches[i].length == 0) continue;
    if (mw_table_writer_put(w, &batches[i], 1, &err) != MW_OK) {
      fprintf(stderr, "memwal put: batch %zu: %s\n", i, err.message);
      mw_table_writer_close(w, 0, NULL);
      return 1;
    }
  }
  double t1 = now_s(), tf;
  char *json = NULL;
  if (table_finish(w, o, "put", &json, &tf)) return 1;
  double t2 = now_s();
  printf("%s,\"put_seconds\":%.6f,\"close_seconds\":%.6f}\n", json, t1 - t0, t2 - t1);
  mw_free(json);
  return 0;
}

int mw_cli_put(int argc, char **argv) {
  writer_opts o;
  int rc = parse_opts(&o, "put", argc, argv, put_usage);
  if (rc) return rc;
  if (!o.input) {
    fprintf(stderr, "memwal put: --input is required\n%s", put_usage);
    return 2;
  }
  struct ArrowSchema schema = {0};
  struct ArrowArray *batches = NULL;
  size_t nb = 0;
  if (read_input(&schema, &batches, &nb, "put", o.input)) return 1;
  /* The file's own writer_epoch (if any) is not part of the writer schema. */
  static const char *const wal_keys[] = {"writer_epoch", NULL};
  mw_error err = {0};
  struct ArrowSchema wschema = {0};
  mw_status s = mw_cli_schema_without(&wschema, &schema, wal_keys, &err);
  mw_schema_release(&schema);
  mw_objstore *store = NULL;
  mw_shard_writer *w = NULL;
  int code = 1;
  if (s != MW_OK) {
    fprintf(stderr, "memwal put: %s\n", err.message);
    goto out;
  }
  if (!o.shard) {
    if (mw_cli_check_exists("put", o.uri) || open_store(&store, "put", &o)) goto out;
    code = table_put(&o, store, &wschema, batches, nb);
    goto out;
  }
  if (open_store(&store, "put", &o)) goto out;
  mw_shard_writer_config cfg;
  writer_config(&cfg, &o);
  if (mw_shard_writer_open(&w, store, &cfg, &wschema, NULL, 0, &err) != MW_OK) {
    fprintf(stderr, "memwal put: open: %s\n", err.message);
    goto out;
  }
  uint64_t puts = 0, rows = 0;
  double t0 = now_s();
  for (size_t i = 0; i < nb; i++) {
    if (batches[i].length == 0) {
      batches[i].release(&batches[i]);
      continue;
    }
    mw_batch_range r;
    int64_t n = batches[i].length;
    double ps = now_s();
    if (mw_shard_writer_put(&r, w, &batches[i], 1, &err) != MW_OK) {
      fprintf(stderr, "memwal put: put %" PRIu64 ": %s\n", puts, err.message);
      mw_shard_writer_close(w, NULL);
      w = NULL;
      goto out;
    }
    if (o.acks) {
      printf("{\"put\": %" PRIu64 ", \"rows\": %" PRId64 ", \"start\": %.6f, \"end\": %.6f}\n", puts, n, ps - t0,
             now_s() - t0);
      fflush(stdout);
    }
    puts++;
    rows += (uint64_t)n;
  }
  double t1 = now_s();
  mw_error ferr = {0};
  mw_status fs = mw_shard_writer_flush_wal(w, &ferr);
  if (fs == MW_OK && o.flush_on_close && !o.wal_only) fs = mw_shard_writer_flush_memtable(w, &ferr);
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  uint64_t epoch = mw_shard_writer_epoch(w);
  mw_status cs = mw_shard_writer_close(w, &err);
  w = NULL;
  double t2 = now_s();
  if (fs != MW_OK || cs != MW_OK) {
    fprintf(stderr, "memwal put: close: %s\n", fs != MW_OK ? ferr.message : err.message);
    goto out;
  }
  char gens[48] = "";
  if (o.flush_on_close) snprintf(gens, sizeof gens, ", \"generations\": %" PRIu64, st.memtable_flush_count);
  printf("{\"epoch\": %" PRIu64 ", \"puts\": %" PRIu64 ", \"rows\": %" PRIu64 ", \"wal_entries\": %" PRIu64
         "%s, \"put_seconds\": %.6f, \"close_seconds\": %.6f}\n",
         epoch, puts, rows, st.wal_flush_count, gens, t1 - t0, t2 - t1);
  code = 0;
out:
  mw_cli_release_batches(batches, nb);
  mw_schema_release(&wschema);
  mw_objstore_close(store);
  return code;
}

/* ------------------------------------------------------------------ scan */

static const char scan_usage[] =
    "usage: memwal scan URI --shard UUID [--read-only | --claim] [--first-position N]\n"
    "  Prints the shard's unflushed rows (the WAL entries after the manifest's\n"
    "  replay_after_wal_entry_position, up to the first absent position) as JSON lines, as\n"
    "  ipc-cat does: a schema line (the schema of the shard's WAL entries), then one object\n"
    "  per row, in WAL order. --read-only (the default) reads the manifest and the WAL and\n"
    "  writes nothing: no epoch claim, no fence, safe next to a live writer. --claim opens a\n"
    "  MemTable-mode ShardWriter instead (claims an epoch, which FENCES a live writer, and\n"
    "  writes a fence entry), replays the WAL into its MemTable and scans that: only the\n"
    "  newest row of each primary key, and no key whose newest row is a delete (tombstone).\n";

/* The writer schema of a shard: the schema of its first WAL entry, without
 * writer_epoch / fence_sentinel. */
int mw_cli_shard_schema(struct ArrowSchema *out, mw_objstore *store, const char *shard, const char *cmd) {
  mw_error err = {0};
  mw_wal_tailer *t = NULL;
  if (mw_wal_tailer_open(&t, store, shard, &err) != MW_OK) {
    fprintf(stderr, "memwal %s: %s\n", cmd, err.message);
    return 1;
  }
  uint64_t first = 0;
  mw_wal_entry e;
  int rc = 1;
  /* Fence entries carry an empty schema (Lance 12): use the first entry
   * that has columns. */
  if (mw_wal_tailer_first_position(&first, t, &err) != MW_OK) {
    fprintf(stderr, "memwal %s: cannot find the shard's schema: %s\n", cmd, err.message);
    mw_wal_tailer_close(t);
    return 1;
  }
  for (uint64_t p = first;; p++) {
    if (mw_wal_tailer_read_entry(&e, t, p, &err) != MW_OK) {
      fprintf(stderr, "memwal %s: cannot find the shard's schema (no WAL entry with columns): %s\n",
              cmd, err.message);
      mw_wal_tailer_close(t);
      return 1;
    }
    if (e.schema.n_children > 0) break;
    mw_wal_entry_release(&e);
  }
  static const char *const fence_key[] = {"fence_sentinel", NULL};
  if (mw_cli_schema_without(out, &e.schema, fence_key, &err) == MW_OK) rc = 0;
  if (rc) fprintf(stderr, "memwal %s: %s\n", cmd, err.message[0] ? err.message : "out of memory");
  mw_wal_entry_release(&e);
  mw_wal_tailer_close(t);
  return rc;
}

/* Set-up shared by scan and flush: parses the options (--shard required),
 * opens the store and a MemTable-mode writer on the shard with the schema of
 * its WAL (replaying it). Returns 0 with *w, *store and *schema to close and
 * release, or the exit status (nothing left open). */
static int open_replayed_writer(mw_shard_writer **w, mw_objstore **store, struct ArrowSchema *schema,
                                const char *cmd, int argc, char **argv, const char *usage) {
  writer_opts o;
  int rc = parse_opts(&o, cmd, argc, argv, usage);
  if (rc) return rc;
  if (!o.shard) {
    fprintf(stderr, "memwal %s: --shard is required\n%s", cmd, usage);
    return 2;
  }
  /* Reading a shard never creates its table folder. */
  if (mw_cli_check_exists(cmd, o.uri) || open_store(store, cmd, &o)) return 1;
  if (mw_cli_shard_schema(schema, *store, o.shard, cmd)) {
    mw_objstore_close(*store);
    return 1;
  }
  mw_shard_writer_config cfg;
  writer_config(&cfg, &o);
  cfg.enable_memtable = 1;
  mw_error err = {0};
  if (mw_shard_writer_open(w, *store, &cfg, schema, NULL, 0, &err) != MW_OK) {
    fprintf(stderr, "memwal %s: open: %s\n", cmd, err.message);
    mw_schema_release(schema);
    mw_objstore_close(*store);
    return 1;
  }
  return 0;
}

/* The columns of a WAL entry are the shard's (as the writer's replay
 * requires); else a message naming the first column that differs. */
static int same_columns(char *why, size_t cap, const struct ArrowSchema *want, const struct ArrowSchema *got) {
  if (want->n_children != got->n_children || strcmp(want->format, got->format) != 0) {
    snprintf(why, cap, "expected %" PRId64 " columns, got %" PRId64, want->n_children, got->n_children);
    return 0;
  }
  for (int64_t i = 0; i < want->n_children; i++) {
    if (!mw_schema_equal(want->children[i], got->children[i], true)) {
      snprintf(why, cap, "column %" PRId64 " ('%s', format '%s') differs from the shard's ('%s', format '%s')",
               i, got->children[i]->name ? got->children[i]->name : "", got->children[i]->format,
               want->children[i]->name ? want->children[i]->name : "", want->children[i]->format);
      return 0;
    }
  }
  return 1;
}

/* The unflushed WAL entries of a shard, read-only: the rows a
 * ShardWriter's replay would put in its MemTable, read with a WalTailer:
 * start after the manifest's replay_after_wal_entry_position (when the
 * shard was ever flushed; else at 0, or 1 for 1-based shards), stop at the
 * first absent position, skip entries without rows (fences), check each
 * entry's columns against `schema`, and hand each entry to fn (a non-zero
 * return stops the walk with that status). Reads only: the manifest is read
 * with mw_shard_manifest_read, nothing is claimed or written. A writer
 * working meanwhile may append more entries; the walk sees those it
 * reaches. Used by scan and query. */
int mw_cli_walk_unflushed(mw_objstore *store, const char *shard, const struct ArrowSchema *schema, const char *cmd,
                          mw_cli_entry_fn fn, void *ctx) {
  mw_error err = {0};
  int code = 1;
  mw_wal_tailer *t = NULL;
  mw_shard_manifest_info *mi = NULL;
  mw_wal_entry e = {0};
  mw_status s = mw_shard_manifest_read(&mi, store, shard, &err);
  if (s != MW_OK && s != MW_ERR_NOT_FOUND) { /* no manifest: never flushed */
    fprintf(stderr, "memwal %s: %s\n", cmd, err.message);
    goto out;
  }
  if (mw_wal_tailer_open(&t, store, shard, &err) != MW_OK) {
    fprintf(stderr, "memwal %s: %s\n", cmd, err.message);
    goto out;
  }
  uint64_t pos = 0;
  if (mi && (mi->replay_after_wal_entry_position > 0 || mi->n_flushed_generations > 0)) {
    pos = mi->replay_after_wal_entry_position + 1;
    s = mw_wal_tailer_read_entry(&e, t, pos, &err);
  } else {
    s = mw_wal_tailer_read_entry(&e, t, pos, &err);
    if (s == MW_ERR_NOT_FOUND) s = mw_wal_tailer_read_entry(&e, t, ++pos, &err); /* 1-based */
  }
  for (;;) {
    if (s == MW_ERR_NOT_FOUND) break; /* the first absent position: done */
    if (s != MW_OK) {
      fprintf(stderr, "memwal %s: %s\n", cmd, err.message);
      goto out;
    }
    if (e.rows > 0) {
      char why[256];
      if (!same_columns(why, sizeof why, schema, &e.schema)) {
        fprintf(stderr, "memwal %s: WAL entry at position %" PRIu64 " does not match the shard's schema: %s\n", cmd,
                pos, why);
        goto out;
      }
      for (size_t i = 0; i < e.n_batches; i++) {
        if (mw_batch_validate(schema, &e.batches[i], &err) != MW_OK) {
          fprintf(stderr, "memwal %s: WAL entry at position %" PRIu64 ": %s\n", cmd, pos, err.message);
          goto out;
        }
      }
      int rc = fn(ctx, pos, &e);
      if (rc) {
        code = rc;
        goto out;
      }
    }
    mw_wal_entry_release(&e);
    if (pos == UINT64_MAX) break;
    s = mw_wal_tailer_read_entry(&e, t, ++pos, &err);
  }
  code = 0;
out:
  mw_wal_entry_release(&e);
  mw_shard_manifest_info_free(mi);
  mw_wal_tailer_close(t);
  return code;
}

typedef struct scan_print {
  const struct ArrowSchema *schema;
  mw_buf *b;
} scan_print;

static int scan_print_entry(void *ctx, uint64_t pos, mw_wal_entry *e) {
  scan_print *p = ctx;
  mw_error err = {0};
  for (size_t i = 0; i < e->n_batches; i++) {
    if (mw_json_rows(p->b, p->schema, &e->batches[i], &err) != MW_OK) {
      fprintf(stderr, "memwal scan: WAL entry at position %" PRIu64 ": %s\n", pos, err.message);
      return 1;
    }
  }
  fwrite(p->b->data, 1, p->b->len, stdout);
  p->b->len = 0;
  return 0;
}

/* scan --read-only: prints the unflushed rows in WAL order. */
static int scan_read_only(const writer_opts *o) {
  mw_objstore *store = NULL;
  if (mw_cli_check_exists("scan", o->uri) || open_store(&store, "scan", o)) return 1;
  struct ArrowSchema schema = {0};
  if (mw_cli_shard_schema(&schema, store, o->shard, "scan")) {
    mw_objstore_close(store);
    return 1;
  }
  mw_error err = {0};
  int code = 1;
  mw_buf b;
  mw_buf_init(&b);
  if (mw_json_schema(&b, &schema, &err) != MW_OK) {
    fprintf(stderr, "memwal scan: %s\n", err.message);
    goto out;
  }
  mw_buf_u8(&b, '\n');
  fwrite(b.data, 1, b.len, stdout);
  b.len = 0;
  scan_print sp = {&schema, &b};
  code = mw_cli_walk_unflushed(store, o->shard, &schema, "scan", scan_print_entry, &sp);
  if (code == 0 && fflush(stdout) != 0) {
    fprintf(stderr, "memwal scan: writing output failed\n");
    code = 1;
  }
out:
  mw_buf_free(&b);
  mw_schema_release(&schema);
  mw_objstore_close(store);
  return code;
}

int mw_cli_scan(int argc, char **argv) {
  writer_opts o;
  int rc = parse_opts(&o, "scan", argc, argv, scan_usage);
  if (rc) return rc;
  if (!o.shard) {
    fprintf(stderr, "memwal scan: --shard is required\n%s", scan_usage);
    return 2;
  }
  if (o.claim && o.read_only) {
    fprintf(stderr, "memwal scan: --read-only and --claim exclude each other\n%s", scan_usage);
    return 2;
  }
  if (!o.claim) return scan_read_only(&o);

  mw_objstore *store = NULL;
  struct ArrowSchema schema = {0};
  mw_shard_writer *w = NULL;
  rc = open_replayed_writer(&w, &store, &schema, "scan", argc, argv, scan_usage);
  if (rc) return rc;
  mw_error err = {0};
  int code = 1;
  struct ArrowArrayStream st = {0};
  if (mw_shard_writer_scan(&st, w, NULL, 0, NULL, &err) != MW_OK) {
    fprintf(stderr, "memwal scan: %s\n", err.message);
    goto out;
  }
  code = mw_cli_print_stream(&st, "scan");
out:
  if (st.release) st.release(&st);
  if (w && mw_shard_writer_close(w, &err) != MW_OK && code == 0) {
    fprintf(stderr, "memwal scan: close: %s\n", err.message);
    code = 1;
  }
  mw_schema_release(&schema);
  mw_objstore_close(store);
  return code;
}

/* ---------------------------------------------------------------- delete */

static const char delete_usage[] =
    "usage: memwal delete URI [--shard UUID] --input KEYS.arrows [--flush-on-close] [--no-durable]\n"
    "                     [--first-position N] [--no-fsync]\n"
    "  Deletes the primary keys named by the rows of the Arrow IPC stream KEYS: its columns\n"
    "  named like the shard's primary-key columns give the keys (other columns are ignored).\n"
    "  Opens a ShardWriter on the shard with the schema of its WAL (claims an epoch, replays\n"
    "  the WAL), writes one tombstone row per key (the key, _tombstone = true, nulls elsewhere),\n"
    "  and prints {\"epoch\", \"deletes\", \"rows\", \"wal_entries\"} (+ \"generations\" with\n"
    "  --flush-on-close, which flushes the MemTable, tombstones included, as a generation).\n"
    "  The shard must have a WAL entry with columns (its schema comes from there).\n"
    "  Without --shard, URI must be a Lance table with a MemWAL spec: each key's tombstone goes\n"
    "  to the shard its key routes to (the table writer) and the summary is the table writer's\n"
    "  {\"spec\", \"puts\", \"rows\", \"shards\"} (puts counting delete batches).\n";

/* delete without --shard: through a table writer whose schema is the
 * table's (its columns with only the primary-key markers). */
static int table_delete(const writer_opts *o, const struct ArrowSchema *kschema, struct ArrowArray *batches,
                        size_t nb) {
  mw_objstore *store = NULL;
  if (mw_cli_check_exists("delete", o->uri) || open_store(&store, "delete", o)) return 1;
  mw_error err = {0};
  mw_table *t = NULL;
  struct ArrowSchema full = {0}, schema = {0};
  mw_table_writer *w = NULL;
  int code = 1;
  if (mw_table_open(&t, store, &err) != MW_OK || mw_table_schema(&full, t, &err) != MW_OK) {
    fprintf(stderr, "memwal delete: %s\n", err.message);
    goto out;
  }
  if (mw_schema_init(&schema, "+s", "", NULL, 0, full.n_children, &err) != MW_OK) goto fail;
  for (int64_t i = 0; i < full.n_children; i++) {
    mw_kv pk;
    char *meta = NULL;
    bool ok = true;
    if (full.children[i]->metadata && mw_metadata_find(full.children[i]->metadata, MW_LANCE_PK_POSITION_KEY, &pk)) {
      char v[16] = "";
      if (pk.value_len > 0 && pk.value_len < (int32_t)sizeof v) memcpy(v, pk.value, (size_t)pk.value_len);
      meta = mw_metadata_with(NULL, MW_LANCE_PK_POSITION_KEY, v, &ok);
    }
    mw_status s = ok ? mw_schema_copy_with_metadata(schema.children[i], full.children[i], meta, &err)
                     : mw_err(&err, MW_ERR_NOMEM, "out of memory");
    free(meta);
    if (s != MW_OK) goto fail;
  }
  mw_table_writer_config cfg;
  mw_table_writer_config_init(&cfg);
  writer_config(&cfg.shard, o);
  if (mw_table_writer_open(&w, store, &cfg, &schema, &err) != MW_OK) goto fail;
  for (size_t i = 0; i < nb; i++) {
    if (batches[i].length == 0) continue;
    if (mw_table_writer_delete(w, &batches[i], kschema, &err) != MW_OK) {
      fprintf(stderr, "memwal delete: batch %zu: %s\n", i, err.message);
      goto out;
    }
  }
  char *json = NULL;
  double tf;
  int bad = table_finish(w, o, "delete", &json, &tf);
  w = NULL;
  if (bad) goto out;
  printf("%s}\n", json);
  mw_free(json);
  code = 0;
  goto out;
fail:
  fprintf(stderr, "memwal delete: %s\n", err.message);
out:
  if (w) mw_table_writer_close(w, 0, NULL);
  mw_schema_release(&schema);
  mw_schema_release(&full);
  mw_table_close(t);
  mw_objstore_close(store);
  return code;
}

int mw_cli_delete(int argc, char **argv) {
  writer_opts o;
  int rc = parse_opts(&o, "delete", argc, argv, delete_usage);
  if (rc) return rc;
  if (!o.input) {
    fprintf(stderr, "memwal delete: --input is required\n%s", delete_usage);
    return 2;
  }
  if (o.wal_only) {
    fprintf(stderr, "memwal delete: deletes need MemTable mode (--wal-only is not allowed)\n%s", delete_usage);
    return 2;
  }
  struct ArrowSchema kschema = {0};
  struct ArrowArray *batches = NULL;
  size_t nb = 0;
  if (read_input(&kschema, &batches, &nb, "delete", o.input)) return 1;
  if (!o.shard) {
    int tc = table_delete(&o, &kschema, batches, nb);
    mw_cli_release_batches(batches, nb);
    mw_schema_release(&kschema);
    return tc;
  }
  mw_objstore *store = NULL;
  struct ArrowSchema schema = {0};
  mw_shard_writer *w = NULL;
  int code = 1;
  rc = open_replayed_writer(&w, &store, &schema, "delete", argc, argv, delete_usage);
  if (rc) {
    code = rc;
    goto out;
  }
  mw_error err = {0};
  uint64_t deletes = 0, rows = 0;
  for (size_t i = 0; i < nb; i++) {
    if (batches[i].length == 0) continue;
    int64_t n = batches[i].length;
    mw_batch_range r;
    if (mw_shard_writer_delete(&r, w, &batches[i], &kschema, &err) != MW_OK) {
      fprintf(stderr, "memwal delete: batch %zu: %s\n", i, err.message);
      mw_shard_writer_close(w, NULL);
      w = NULL;
      goto out;
    }
    deletes++;
    rows += (uint64_t)n;
  }
  mw_error ferr = {0};
  mw_status fs = mw_shard_writer_flush_wal(w, &ferr);
  if (fs == MW_OK && o.flush_on_close) fs = mw_shard_writer_flush_memtable(w, &ferr);
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  uint64_t epoch = mw_shard_writer_epoch(w);
  mw_status cs = mw_shard_writer_close(w, &err);
  w = NULL;
  if (fs != MW_OK || cs != MW_OK) {
    fprintf(stderr, "memwal delete: close: %s\n", fs != MW_OK ? ferr.message : err.message);
    goto out;
  }
  char gens[48] = "";
  if (o.flush_on_close) snprintf(gens, sizeof gens, ", \"generations\": %" PRIu64, st.memtable_flush_count);
  printf("{\"epoch\": %" PRIu64 ", \"deletes\": %" PRIu64 ", \"rows\": %" PRIu64 ", \"wal_entries\": %" PRIu64 "%s}\n",
         epoch, deletes, rows, st.wal_flush_count, gens);
  code = 0;
out:
  mw_cli_release_batches(batches, nb);
  mw_schema_release(&kschema);
  mw_schema_release(&schema);
  mw_objstore_close(store);
  return code;
}

/* ----------------------------------------------------------------- bench */

static const char bench_usage[] =
    "usage: memwal bench URI [--shard UUID] [--rows N] [--batch-rows N] [--dim D] [--wal-only]\n"
    "                    [--no-durable] [--no-fsync] [--flush-interval-ms N] [--buffer-bytes N]\n"
    "                    [--first-position N] [--quiet] [--flush-on-close] [--table]\n"
    "  Ingests N generated rows (id int64 primary key, vector fixed_size_list<float32>[D],\n"
    "  text ~70 B; defaults 100000 rows, 1000 per put, D = 512) into a new or existing shard,\n"
    "  with a progress line on stderr, then prints a JSON summary with rows/s and MB/s of the\n"
    "  whole ingest (put loop + flush + close; batch generation excluded) and the seconds of\n"
    "  each part (put_seconds = the put loop alone).\n"
    "  \"generations\" counts the generations committed before close; with --flush-on-close\n"
    "  every row is in a committed generation when it is printed.\n"
    "  --table: URI is a Lance table with a MemWAL spec and the same columns (e.g. made by\n"
    "  scripts/run-main.sh or LanceDB); rows are routed to its shards by the table writer and\n"
    "  the summary adds \"spec\" and \"shards\" (rows per shard).\n";

/* bench --table: the generated rows through a table writer. */
static int bench_table(const writer_opts *o, mw_objstore *store, const struct ArrowSchema *schema) {
  mw_table_writer_config cfg;
  mw_table_writer_config_init(&cfg);
  writer_config(&cfg.shard, o);
  mw_error err = {0};
  mw_table_writer *w = NULL;
  if (mw_table_writer_open(&w, store, &cfg, schema, &err) != MW_OK) {
    fprintf(stderr, "memwal bench: %s\n", err.message);
    return 1;
  }
  uint64_t bytes = 0, puts = 0;
  int64_t done = 0;
  double t0 = now_s(), last = t0, gen_time = 0;
  while (done < o->rows) {
    int64_t n = o->rows - done < o->batch_rows ? o->rows - done : o->batch_rows;
    struct ArrowArray batch;
    double g0 = now_s();
    if (mw_gen_batch(&batch, done, n, o->dim, &err) != MW_OK) {
      fprintf(stderr, "memwal bench: %s\n", err.message);
      mw_table_writer_close(w, 0, NULL);
      return 1;
    }
    gen_time += now_s() - g0;
    bytes += mw_array_byte_size(schema, &batch);
    if (mw_table_writer_put(w, &batch, 1, &err) != MW_OK) {
      fprintf(stderr, "memwal bench: put at row %" PRId64 ": %s\n", done, err.message);
      if (batch.release) batch.release(&batch);
      mw_table_writer_close(w, 0, NULL);
      return 1;
    }
    done += n;
    puts++;
    double t = now_s();
    if (!o->quiet && (t - last >= 0.5 || done == o->rows)) {
      last = t;
      fprintf(stderr, "\r%" PRId64 "/%" PRId64 " rows (%.0f%%), %.0f rows/s", done, o->rows,
              100.0 * (double)done / (double)o->rows, (double)done / (t - t0));
      fflush(stderr);
    }
  }
  if (!o->quiet) fputc('\n', stderr);
  double t1 = now_s(), t2;
  char *json = NULL;
  if (table_finish(w, o, "bench", &json, &t2)) return 1;
  double t3 = now_s();
  double put_s = (t1 - t0) - gen_time, total_s = (t3 - t0) - gen_time;
  printf("%s,\"mode\":\"%s\",\"durable\":%s,\"bytes\":%" PRIu64 ",\"put_seconds\":%.6f,\"flush_seconds\":%.6f"
         ",\"close_seconds\":%.6f,\"rows_per_s\":%.0f,\"mb_per_s\":%.1f}\n",
         json, o->wal_only ? "wal-only" : "memtable", o->no_durable ? "false" : "true", bytes, put_s, t2 - t1,
         t3 - t2, (double)done / total_s, (double)bytes / 1e6 / total_s);
  mw_free(json);
  (void)puts;
  return 0;
}

int mw_cli_bench(int argc, char **argv) {
  writer_opts o;
  int rc = parse_opts(&o, "bench", argc, argv, bench_usage);
  if (rc) return rc;
  mw_objstore *store = NULL;
  if (open_store(&store, "bench", &o)) return 1;
  mw_error err = {0};
  struct ArrowSchema schema = {0};
  if (mw_gen_schema(&schema, o.dim, &err) != MW_OK) {
    fprintf(stderr, "memwal bench: %s\n", err.message);
    mw_objstore_close(store);
    return 1;
  }
  mw_shard_writer_config cfg;
  writer_config(&cfg, &o);
  mw_shard_writer *w = NULL;
  int code = 1;
  if (o.table) {
    code = bench_table(&o, store, &schema);
    goto out;
  }
  if (mw_shard_writer_open(&w, store, &cfg, &schema, NULL, 0, &err) != MW_OK) {
    fprintf(stderr, "memwal bench: open: %s\n", err.message);
    goto out;
  }
  uint64_t bytes = 0;
  int64_t done = 0;
  uint64_t puts = 0;
  double t0 = now_s(), last = t0, gen_time = 0;
  while (done < o.rows) {
    int64_t n = o.rows - done < o.batch_rows ? o.rows - done : o.batch_rows;
    struct ArrowArray batch;
    double g0 = now_s();
    if (mw_gen_batch(&batch, done, n, o.dim, &err) != MW_OK) {
      fprintf(stderr, "memwal bench: %s\n", err.message);
      goto out;
    }
    gen_time += now_s() - g0;
    bytes += mw_array_byte_size(&schema, &batch);
    if (mw_shard_writer_put(NULL, w, &batch, 1, &err) != MW_OK) {
      fprintf(stderr, "memwal bench: put at row %" PRId64 ": %s\n", done, err.message);
      batch.release(&batch);
      goto out;
    }
    done += n;
    puts++;
    double t = now_s();
    if (!o.quiet && (t - last >= 0.5 || done == o.rows)) {
      last = t;
      fprintf(stderr, "\r%" PRId64 "/%" PRId64 " rows (%.0f%%), %.0f rows/s", done, o.rows,
              100.0 * (double)done / (double)o.rows, (double)done / (t - t0));
      fflush(stderr);
    }
  }
  if (!o.quiet) fputc('\n', stderr);
  double t1 = now_s();
  mw_status fs = mw_shard_writer_flush_wal(w, &err);
  if (fs == MW_OK && o.flush_on_close && !o.wal_only) fs = mw_shard_writer_flush_memtable(w, &err);
  double t2 = now_s();
  if (fs != MW_OK) {
    fprintf(stderr, "memwal bench: flush: %s\n", err.message);
    goto out;
  }
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  uint64_t epoch = mw_shard_writer_epoch(w);
  char shard[64];
  snprintf(shard, sizeof shard, "%s", mw_shard_writer_shard_id(w));
  mw_status cs = mw_shard_writer_close(w, &err);
  w = NULL;
  double t3 = now_s();
  if (cs != MW_OK) {
    fprintf(stderr, "memwal bench: close: %s\n", err.message);
    goto out;
  }
  /* rows_per_s / mb_per_s: the whole ingest, put loop + flush + close
   * (batch generation excluded); put_seconds is the put loop alone. */
  double put_s = (t1 - t0) - gen_time, total_s = (t3 - t0) - gen_time;
  printf("{\"shard\": \"%s\", \"epoch\": %" PRIu64 ", \"mode\": \"%s\", \"durable\": %s, \"rows\": %" PRId64
         ", \"puts\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"wal_entries\": %" PRIu64
         ", \"generations\": %" PRIu64 ", \"flushed_rows\": %" PRIu64
         ", \"put_seconds\": %.6f, \"flush_seconds\": %.6f, \"close_seconds\": %.6f"
         ", \"rows_per_s\": %.0f, \"mb_per_s\": %.1f}\n",
         shard, epoch, o.wal_only ? "wal-only" : "memtable", o.no_durable ? "false" : "true", done, puts, bytes,
         st.wal_flush_count, st.memtable_flush_count, st.memtable_flush_rows, put_s, t2 - t1, t3 - t2,
         (double)done / total_s, (double)bytes / 1e6 / total_s);
  code = 0;
out:
  if (w) mw_shard_writer_close(w, NULL);
  mw_schema_release(&schema);
  mw_objstore_close(store);
  return code;
}

/* ----------------------------------------------------------------- flush */

static const char flush_usage[] =
    "usage: memwal flush URI --shard UUID [--first-position N] [--no-fsync]\n"
    "  Opens a MemTable-mode writer on the shard (claims an epoch, replays the unflushed\n"
    "  WAL), freezes the MemTable and flushes it as a generation folder committed to the\n"
    "  shard manifest, then closes. Prints {\"epoch\", \"replayed_rows\", \"generations\",\n"
    "  \"flushed_rows\"}; an empty MemTable flushes nothing (generations 0).\n";

int mw_cli_flush(int argc, char **argv) {
  mw_objstore *store = NULL;
  struct ArrowSchema schema = {0};
  mw_shard_writer *w = NULL;
  int rc = open_replayed_writer(&w, &store, &schema, "flush", argc, argv, flush_usage);
  if (rc) return rc;
  mw_error err = {0};
  int code = 1;
  mw_status s = mw_shard_writer_flush_memtable(w, &err);
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  uint64_t epoch = mw_shard_writer_epoch(w);
  if (s != MW_OK) {
    fprintf(stderr, "memwal flush: %s\n", err.message);
    mw_shard_writer_close(w, NULL);
    goto out;
  }
  s = mw_shard_writer_close(w, &err);
  if (s != MW_OK) {
    fprintf(stderr, "memwal flush: close: %s\n", err.message);
    goto out;
  }
  printf("{\"epoch\": %" PRIu64 ", \"replayed_rows\": %" PRIu64 ", \"generations\": %" PRIu64
         ", \"flushed_rows\": %" PRIu64 "}\n",
         epoch, st.replayed_rows, st.memtable_flush_count, st.memtable_flush_rows);
  code = 0;
out:
  mw_schema_release(&schema);
  mw_objstore_close(store);
  return code;
}
