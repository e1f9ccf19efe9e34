/* bench_writer.c - ShardWriter write and replay benchmarks with the knobs of
 * Lance's own mem_wal_write / mem_wal_replay benches (environment):
 *   BATCH_SIZE (20) NUM_BATCHES (1000) VECTOR_DIM (512)
 *   DURABLE_WRITE yes|no|both (both)  ENABLE_MEMTABLE yes|no|both (both)
 *   MAX_WAL_BUFFER_SIZE (10485760)  MAX_FLUSH_INTERVAL_MS (100)
 *   MAX_MEMTABLE_SIZE (268435456)   FSYNC yes|no|both (yes)
 *   NUM_ENTRIES (1000, replay)      BENCH_DIR (a new folder under /tmp)
 *   BENCH_URI (any store URI, e.g. s3://bucket/prefix; overrides BENCH_DIR;
 *              left in place afterwards)
 *   BENCH (write|replay|all|clean, all; clean deletes every object under
 *          BENCH_URI, e.g. between runs on a small S3 server)
 *   WAL_IN_FLIGHT (0 = the writer's default): wal_entries_in_flight
 *   PUTTERS (1): threads putting at once; batch i is put by thread
 *          i % PUTTERS, so every thread puts NUM_BATCHES / PUTTERS batches
 *          (group commit: concurrent durable puts share WAL entries;
 *          wal_entries in the output says how many entries were written)
 * Prints one JSON line per configuration (write): enqueue_rows_per_s /
 * enqueue_mb_per_s = the put loop alone with non-durable puts (they return
 * before their rows are in the WAL), or durable_puts_rows_per_s /
 * durable_puts_mb_per_s with durable puts (each returned once durable);
 * total_rows_per_s / total_mb_per_s = put loop + flush_wal + close (every
 * row written, threads stopped); flush_wal_ms, close_ms; put latency
 * p50/p99. Replay: entries/s of a tailer and open-with-replay time. The
 * batches are generated before the timed loop. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arrow/c_data.h"
#include "cli/gen_data.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "bench_util.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void die(const char *what, const mw_error *e) {
  fprintf(stderr, "bench_writer: %s: %s\n", what, e->message);
  exit(1);
}

static char base_dir[512];
static int run_no = 0;

static void fresh_uri(char *out, size_t cap) {
  snprintf(out, cap, "%s/run%d", base_dir, run_no++);
}

/* One putter thread: puts batches t, t + P, t + 2P, ... and records each
 * put's latency in lat[i]. */
typedef struct putter {
  mw_shard_writer *w;
  struct ArrowArray *batches;
  double *lat;
  long t, p, n;
} putter;

static void *putter_main(void *arg) {
  putter *pu = arg;
  mw_error e = {0};
  for (long i = pu->t; i < pu->n; i += pu->p) {
    double p0 = now_s();
    if (mw_shard_writer_put(NULL, pu->w, &pu->batches[i], 1, &e) != MW_OK) die("put", &e);
    pu->lat[i] = now_s() - p0;
  }
  return NULL;
}

static void bench_write(int memtable, int durable, int fsync_on, long batch_size, long num_batches, int dim) {
  mw_error e = {0};
  struct ArrowSchema schema;
  if (mw_gen_schema(&schema, dim, &e) != MW_OK) die("schema", &e);
  struct ArrowArray *batches = calloc((size_t)num_batches, sizeof *batches);
  uint64_t bytes = 0;
  for (long i = 0; i < num_batches; i++) {
    if (mw_gen_batch(&batches[i], i * batch_size, batch_size, dim, &e) != MW_OK) die("gen", &e);
    bytes += mw_array_byte_size(&schema, &batches[i]);
  }
  char uri[600];
  fresh_uri(uri, sizeof uri);
  mw_objstore_options so;
  mw_objstore_options_init(&so);
  so.fsync = fsync_on;
  mw_objstore *store = NULL;
  if (mw_objstore_open(&store, uri, &so, &e) != MW_OK) die("store", &e);
  mw_shard_writer_config c;
  mw_shard_writer_config_init(&c);
  c.enable_memtable = memtable;
  c.durable_write = durable;
  c.max_wal_buffer_size = (uint64_t)env_long("MAX_WAL_BUFFER_SIZE", 10485760);
  c.max_wal_flush_interval_ms = (uint64_t)env_long("MAX_FLUSH_INTERVAL_MS", 100);
  c.max_memtable_size = (uint64_t)env_long("MAX_MEMTABLE_SIZE", 268435456);
  c.wal_entries_in_flight = (uint32_t)env_long("WAL_IN_FLIGHT", 0);
  mw_shard_writer *w = NULL;
  if (mw_shard_writer_open(&w, store, &c, &schema, NULL, 0, &e) != MW_OK) die("open", &e);
  double *lat = calloc((size_t)num_batches, sizeof *lat);
  long putters = env_long("PUTTERS", 1);
  if (putters < 1) putters = 1;
  if (putters > 256) putters = 256;
  putter pu[256];
  pthread_t th[256];
  double t0 = now_s();
  if (putters == 1) {
    for (long i = 0; i < num_batches; i++) {
      double p0 = now_s();
      if (mw_shard_writer_put(NULL, w, &batches[i], 1, &e) != MW_OK) die("put", &e);
      lat[i] = now_s() - p0;
    }
  } else {
    for (long t = 0; t < putters; t++) {
      pu[t] = (putter){w, batches, lat, t, putters, num_batches};
      if (pthread_create(&th[t], NULL, putter_main, &pu[t]) != 0) {
        fprintf(stderr, "bench_writer: pthread_create failed\n");
        exit(1);
      }
    }
    for (long t = 0; t < putters; t++) pthread_join(th[t], NULL);
  }
  double t1 = now_s();
  if (mw_shard_writer_flush_wal(w, &e) != MW_OK) die("flush", &e);
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  double t2 = now_s();
  if (mw_shard_writer_close(w, &e) != MW_OK) die("close", &e);
  double t3 = now_s();
  qsort(lat, (size_t)num_batches, sizeof *lat, cmp_double);
  double rows = (double)batch_size * (double)num_batches;
  /* The put loop alone is an "enqueue" rate when puts are not durable (they
   * return before their rows are in the WAL); with durable puts each put
   * returned once its entry was durable. "total" is loop + flush_wal +
   * close (threads stopped, everything written). */
  const char *loop_name = durable ? "durable_puts" : "enqueue";
  printf("{\"bench\": \"write\", \"memtable\": %s, \"durable\": %s, \"fsync\": %s, \"batch_size\": %ld, "
         "\"num_batches\": %ld, \"putters\": %ld, \"%s_rows_per_s\": %.0f, \"%s_mb_per_s\": %.1f, \"total_rows_per_s\": %.0f, "
         "\"total_mb_per_s\": %.1f, \"flush_wal_ms\": %.3f, \"close_ms\": %.3f, \"put_p50_ms\": %.3f, "
         "\"put_p99_ms\": %.3f, \"wal_entries\": %" PRIu64 ", \"wal_bytes_per_entry\": %.0f, \"wal_in_flight\": %u}\n",
         memtable ? "true" : "false", durable ? "true" : "false", fsync_on ? "true" : "false", batch_size,
         num_batches, putters, loop_name, rows / (t1 - t0), loop_name, (double)bytes / 1e6 / (t1 - t0), rows / (t3 - t0),
         (double)bytes / 1e6 / (t3 - t0), (t2 - t1) * 1e3, (t3 - t2) * 1e3, lat[num_batches / 2] * 1e3,
         lat[(size_t)((double)num_batches * 0.99)] * 1e3, st.wal_flush_count,
         st.wal_flush_count ? (double)st.wal_flush_bytes / (double)st.wal_flush_count : 0.0, c.wal_entries_in_flight);
  fflush(stdout);
  free(lat);
  free(batches); /* moved into the writer */
  mw_schema_release(&schema);
  mw_objstore_close(store);
}

static void bench_replay(long batch_size, long num_entries, int dim) {
  mw_error e = {0};
  struct ArrowSchema schema;
  if (mw_gen_schema(&schema, dim, &e) != MW_OK) die("schema", &e);
  char uri[600];
  fresh_uri(uri, sizeof uri);
  mw_objstore *store = NULL;
  if (mw_objstore_open(&store, uri, NULL, &e) != MW_OK) die("store", &e);
  const char *shard = "0b0b0b0b-1111-4222-8333-444444444444";
  mw_wal_appender_config ac;
  mw_wal_appender_config_init(&ac);
  mw_wal_appender *a = NULL;
  if (mw_wal_appender_open(&a, store, shard, &ac, &e) != MW_OK) die("appender", &e);
  for (long i = 0; i < num_entries; i++) {
    struct ArrowArray b;
    if (mw_gen_batch(&b, i * batch_size, batch_size, dim, &e) != MW_OK) die("gen", &e);
    const struct ArrowArray *bp = &b;
    if (mw_wal_appender_append(NULL, a, &schema, &bp, 1, &e) != MW_OK) die("append", &e);
    b.release(&b);
  }
  mw_wal_appender_close(a);
  /* tailer read throughput */
  mw_wal_tailer *t = NULL;
  if (mw_wal_tailer_open(&t, store, shard, &e) != MW_OK) die("tailer", &e);
  uint64_t first = 0;
  if (mw_wal_tailer_first_position(&first, t, &e) != MW_OK) die("first position", &e);
  double t0 = now_s();
  long read = 0;
  for (uint64_t p = first;; p++) {
    mw_wal_entry en;
    if (mw_wal_tailer_read_entry(&en, t, p, &e) != MW_OK) break;
    read++;
    mw_wal_entry_release(&en);
  }
  double t1 = now_s();
  mw_wal_tailer_close(t);
  if (read != num_entries) {
    fprintf(stderr, "bench_writer: the tailer read %ld of %ld entries\n", read, num_entries);
    exit(1);
  }
  /* open with replay */
  mw_shard_writer_config c;
  mw_shard_writer_config_init(&c);
  snprintf(c.shard_id, sizeof c.shard_id, "%s", shard);
  mw_shard_writer *w = NULL;
  double t2 = now_s();
  if (mw_shard_writer_open(&w, store, &c, &schema, NULL, 0, &e) != MW_OK) die("open", &e);
  double t3 = now_s();
  mw_memtable_stats ms;
  mw_shard_writer_memtable_stats(&ms, w, &e);
  mw_shard_writer_close(w, NULL);
  printf("{\"bench\": \"replay\", \"num_entries\": %ld, \"batch_size\": %ld, \"tailer_entries_per_s\": %.0f, "
         "\"open_with_replay_ms\": %.2f, \"replay_entries_per_s\": %.0f, \"replayed_rows\": %" PRIu64 "}\n",
         num_entries, batch_size, (double)read / (t1 - t0), (t3 - t2) * 1e3, (double)num_entries / (t3 - t2),
         ms.row_count);
  fflush(stdout);
  mw_schema_release(&schema);
  mw_objstore_close(store);
}

/* BENCH=clean: deletes every object under the store at `uri`. */
typedef struct clean_list {
  char **keys;
  size_t n, cap;
} clean_list;

static int clean_cb(void *arg, const char *key, uint64_t size) {
  clean_list *l = arg;
  (void)size;
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 256;
    l->keys = realloc(l->keys, l->cap * sizeof *l->keys);
    if (!l->keys) return 1;
  }
  l->keys[l->n++] = strdup(key);
  return 0;
}

static int bench_clean(const char *uri) {
  mw_error e = {0};
  mw_objstore *store = NULL;
  if (mw_objstore_open(&store, uri, NULL, &e) != MW_OK) die("store", &e);
  clean_list l = {0};
  if (mw_objstore_list(store, "", clean_cb, &l, &e) != MW_OK) die("list", &e);
  size_t failed = 0;
  for (size_t i = 0; i < l.n; i++) {
    if (mw_objstore_del(store, l.keys[i], &e) != MW_OK) failed++;
    free(l.keys[i]);
  }
  free(l.keys);
  mw_objstore_close(store);
  printf("{\"bench\": \"clean\", \"deleted\": %zu, \"failed\": %zu}\n", l.n - failed, failed);
  return failed ? 1 : 0;
}

static int modes(const char *v, int out[2]) {
  if (strcmp(v, "yes") == 0) { out[0] = 1; return 1; }
  if (strcmp(v, "no") == 0) { out[0] = 0; return 1; }
  out[0] = 1;
  out[1] = 0;
  return 2;
}

int main(void) {
  long batch_size = env_long("BATCH_SIZE", 20), num_batches = env_long("NUM_BATCHES", 1000);
  int dim = (int)env_long("VECTOR_DIM", 512);
  const char *which = env_str("BENCH", "all");
  const char *dir = getenv("BENCH_URI");
  if (!(dir && *dir)) dir = getenv("BENCH_DIR");
  if (strcmp(which, "clean") == 0) {
    if (!(dir && *dir)) {
      fprintf(stderr, "bench_writer: BENCH=clean needs BENCH_URI\n");
      return 1;
    }
    return bench_clean(dir);
  }
  if (dir && *dir) {
    snprintf(base_dir, sizeof base_dir, "%s", dir);
    size_t bl = strlen(base_dir);
    while (bl > 1 && base_dir[bl - 1] == '/') base_dir[--bl] = '\0'; /* s3:// refuses "a//run0" */
  } else {
    snprintf(base_dir, sizeof base_dir, "/tmp/mw_bench_XXXXXX");
    if (!mkdtemp(base_dir)) { perror("mkdtemp"); return 1; }
  }
  if (strcmp(which, "write") == 0 || strcmp(which, "all") == 0) {
    int mt[2], du[2], fs[2];
    int nmt = modes(env_str("ENABLE_MEMTABLE", "both"), mt);
    int ndu = modes(env_str("DURABLE_WRITE", "both"), du);
    int nfs = modes(env_str("FSYNC", "yes"), fs);
    for (int i = 0; i < nmt; i++)
      for (int j = 0; j < ndu; j++)
        for (int k = 0; k < nfs; k++) bench_write(mt[i], du[j], fs[k], batch_size, num_batches, dim);
  }
  if (strcmp(which, "replay") == 0 || strcmp(which, "all") == 0)
    bench_replay(batch_size, env_long("NUM_ENTRIES", 1000), dim);
  if (!(dir && *dir)) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base_dir);
  }
  return 0;
}
