/* bench_flush.c - MemTable flush benchmarks (issue 5 item 6), environment
 * knobs in the style of bench_writer:
 *   BENCH (flush|sustained|all, all)
 *   BATCH_SIZE (1000)  VECTOR_DIM (512)
 *   FLUSH_ROWS (100000: the rows of the flush benchmark, one generation)
 *   NUM_ROWS (10000000: the rows of the sustained ingest)
 *   MAX_MEMTABLE_SIZE (268435456)  MAX_MEMTABLE_ROWS (100000, 0 = none)
 *   MAX_UNFLUSHED (1073741824: max_unflushed_memtable_bytes)
 *   MAX_WAL_BUFFER_SIZE (10485760)  MAX_FLUSH_INTERVAL_MS (100)
 *   DURABLE_WRITE (yes|no, no: sustained only)  FSYNC (yes|no, no: Lance's
 *   level on a local disk)
 *   INDEXES (none | all | a comma list of btree,fts,hnsw; none): the
 *   MemTable's maintained indexes, configured as the table writer resolves
 *   a LanceDB table's BTree(id), FTS(text) and vector index (HNSW on
 *   vector, l2, M 16, ef_construction 100), named id_idx, text_idx,
 *   vector_idx; each is written into the generation as Lance's index
 *   (BTree; FTS; IVF_HNSW_SQ). Indexing is synchronous (sync_indexed_write
 *   = 1), so every row is indexed when the last put returns: the flush
 *   clock starts with the in-memory indexes complete.
 *   INDEX_THREADS (0 = the online cores): index_threads of the writer.
 *   SETTLE_MS (0): flush only: a pause after the put loop, before flush_wal
 *   (not timed). Memory freed before the pause is cold after it: this VM
 *   hands free memory back to its host ~2 s after it was freed (kernel
 *   page_reporting, order 11 = 8 MiB blocks), and memory touched again
 *   after that costs a host fault per page (free pages, page-cache pages).
 *   Without the pause, a flush that starts right after the puts (no
 *   indexes: ~50 ms of puts) writes into memory that the previous process
 *   or the put loop freed moments ago and is several times faster than one
 *   that starts after a long put loop (with indexes: tens of seconds);
 *   with it both start from equally cold memory.
 *   BENCH_DIR (a new folder under /tmp) / BENCH_URI (any store URI,
 *   overrides BENCH_DIR). Each run's objects are deleted afterwards
 *   (KEEP=yes keeps them).
 *
 * flush: puts FLUSH_ROWS rows (non-durable, WAL flushing deferred: no size
 * or timer trigger, no freeze) into a MemTable-mode writer, then times
 * mw_shard_writer_flush_wal (the same data as one WAL entry: WAL write
 * throughput) and mw_shard_writer_flush_memtable alone (freeze + generation
 * folder + manifest commit: flush throughput), in MB/s of Arrow input
 * (mw_array_byte_size). With INDEXES, flush_memtable also writes the
 * generation's Lance index files (from the complete in-memory indexes);
 * the put loop (enqueue_ms) then includes the in-memory indexing, and
 * index_mb is the size of the generation's _indices/ files. flush_cpu_ms:
 * CPU time of the whole process (all threads, user + system) while
 * flush_memtable ran (the flush's work, less sensitive to other load). wal+flush together is what a close that flushes
 * does (Lance's closeLsmWriters).
 *
 * sustained: NUM_ROWS rows in BATCH_SIZE-row puts with the writer's
 * triggers on (WAL by size/timer, freeze by size/rows, backpressure at
 * MAX_UNFLUSHED), then close with a final flush. Batches are generated in
 * the loop (10M rows do not fit in memory); generation time is measured and
 * reported apart. Reports rows/s and MB/s of the put loop alone (enqueue_*,
 * or durable_puts_* with DURABLE_WRITE=yes) and total (loop + final flush
 * + close: total_*; flush_and_close_s is the part after the loop), flushes
 * done, backpressure waits and peak RSS (VmHWM, plus a 20 ms sampler of
 * VmRSS), and peak RSS / MAX_UNFLUSHED. The flush benchmark's enqueue_ms is
 * its put loop (non-durable, WAL deferred).
 * One JSON line per benchmark. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "arrow/c_data.h"
#include "cli/gen_data.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "bench_util.h"

/* CPU seconds of the process (every thread), user + system. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static int env_yes(const char *name, int def) {
  const char *v = getenv(name);
  if (!(v && *v)) return def;
  return strcmp(v, "yes") == 0 || strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
}

static void die(const char *what, const mw_error *e) {
  fprintf(stderr, "bench_flush: %s: %s\n", what, e->message);
  exit(1);
}

/* kB value of a "Key:" line of /proc/self/status (0 if absent). */
static uint64_t status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  size_t kl = strlen(key);
  uint64_t v = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
      v = strtoull(line + kl + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

/* RSS sampler thread: the highest VmRSS seen (cross-check of VmHWM). */
static atomic_int sampler_stop;
static atomic_uint_fast64_t sampled_peak_kb;

static void *sampler_main(void *arg) {
  (void)arg;
  while (!atomic_load(&sampler_stop)) {
    uint64_t kb = status_kb("VmRSS");
    if (kb > atomic_load(&sampled_peak_kb)) atomic_store(&sampled_peak_kb, kb);
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static char base_dir[512];
static int run_no = 0;
static int fsync_on, keep;

static mw_objstore *open_run_store(char *uri, size_t cap) {
  snprintf(uri, cap, "%s/run%d", base_dir, run_no++);
  mw_error e = {0};
  mw_objstore_options so;
  mw_objstore_options_init(&so);
  so.fsync = fsync_on;
  mw_objstore *store = NULL;
  if (mw_objstore_open(&store, uri, &so, &e) != MW_OK) die("store", &e);
  return store;
}

/* Deletes every object of the run: rm -rf for a local folder, else list
 * (collecting the keys first: not every store tolerates deletes inside a
 * listing) and delete. */
typedef struct key_list {
  char **keys;
  size_t n, cap;
} key_list;

static int collect_cb(void *arg, const char *key, uint64_t size) {
  key_list *l = arg;
  (void)size;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 256;
    char **k = realloc(l->keys, cap * sizeof *k);
    if (!k) return 1;
    l->keys = k;
    l->cap = cap;
  }
  l->keys[l->n++] = strdup(key);
  return 0;
}

static void clean_run_store(mw_objstore *store, const char *uri) {
  if (!keep && (uri[0] == '/' || strncmp(uri, "file://", 7) == 0)) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", uri + (uri[0] == '/' ? 0 : 7));
    if (system(cmd) != 0) fprintf(stderr, "bench_flush: could not remove %s\n", uri);
  } else if (!keep) {
    key_list l = {0};
    mw_objstore_list(store, "", collect_cb, &l, NULL);
    for (size_t i = 0; i < l.n; i++) {
      if (l.keys[i]) mw_objstore_del(store, l.keys[i], NULL);
      free(l.keys[i]);
    }
    free(l.keys);
  }
  mw_objstore_close(store);
}

/* The INDEXES knob -> index configs (as mw_table_resolve_indexes makes them
 * for a LanceDB table with BTree(id), FTS(text) and a vector index). */
static size_t bench_indexes(mw_index_config *ix, const char *spec, char *label, size_t label_cap) {
  size_t n = 0;
  int all = strcmp(spec, "all") == 0;
  label[0] = 0;
  if (strcmp(spec, "none") == 0) {
    snprintf(label, label_cap, "none");
    return 0;
  }
  if (all || strstr(spec, "btree")) mw_index_config_init(&ix[n++], "id_idx", "id", MW_INDEX_BTREE);
  if (all || strstr(spec, "fts")) mw_index_config_init(&ix[n++], "text_idx", "text", MW_INDEX_FTS);
  if (all || strstr(spec, "hnsw")) {
    mw_index_config_init(&ix[n], "vector_idx", "vector", MW_INDEX_HNSW);
    ix[n++].metric = MW_METRIC_L2;
  }
  if (n == 0) {
    fprintf(stderr, "bench_flush: INDEXES must be none, all or a list of btree,fts,hnsw\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(label);
    snprintf(label + l, label_cap - l, "%s%s", i ? "," : "",
             ix[i].kind == MW_INDEX_BTREE ? "btree" : ix[i].kind == MW_INDEX_FTS ? "fts" : "hnsw");
  }
  return n;
}

/* Bytes of every object under `prefix` whose key contains "/_indices/". */
typedef struct idx_bytes {
  uint64_t bytes, files;
} idx_bytes;

static int idx_bytes_cb(void *arg, const char *key, uint64_t size) {
  idx_bytes *b = arg;
  if (strstr(key, "/_indices/")) {
    b->bytes += size;
    b->files++;
  }
  return 0;
}

static void base_config(mw_shard_writer_config *c) {
  mw_shard_writer_config_init(c);
  c->enable_memtable = 1;
  c->max_wal_buffer_size = (uint64_t)env_ll("MAX_WAL_BUFFER_SIZE", 10485760);
  c->max_wal_flush_interval_ms = (uint64_t)env_ll("MAX_FLUSH_INTERVAL_MS", 100);
  c->max_memtable_size = (uint64_t)env_ll("MAX_MEMTABLE_SIZE", 268435456);
  c->max_memtable_rows = (uint64_t)env_ll("MAX_MEMTABLE_ROWS", 100000);
  c->max_unflushed_memtable_bytes = (uint64_t)env_ll("MAX_UNFLUSHED", 1073741824);
}

static void bench_flush(long long rows, long long batch_size, int dim) {
  mw_error e = {0};
  struct ArrowSchema schema;
  if (mw_gen_schema(&schema, dim, &e) != MW_OK) die("schema", &e);
  long long nb = (rows + batch_size - 1) / batch_size;
  struct ArrowArray *batches = calloc((size_t)nb, sizeof *batches);
  uint64_t bytes = 0;
  for (long long i = 0; i < nb; i++) {
    long long n = i == nb - 1 ? rows - i * batch_size : batch_size;
    if (mw_gen_batch(&batches[i], i * batch_size, n, dim, &e) != MW_OK) die("gen", &e);
    bytes += mw_array_byte_size(&schema, &batches[i]);
  }
  char uri[600];
  mw_objstore *store = open_run_store(uri, sizeof uri);
  mw_shard_writer_config c;
  base_config(&c);
  c.durable_write = 0;
  c.max_wal_buffer_size = UINT64_MAX; /* WAL written only by flush_wal */
  c.max_wal_flush_interval_ms = 0;
  c.max_memtable_size = UINT64_MAX; /* no freeze before flush_memtable */
  c.max_memtable_rows = 0;
  c.max_memtable_batches = 0;
  c.max_unflushed_memtable_bytes = 0;
  c.sync_indexed_write = 1; /* indexing done inside put: none left for the flush */
  c.index_threads = (uint32_t)env_ll("INDEX_THREADS", 0);
  mw_index_config ix[3];
  char ilabel[32];
  size_t nix = bench_indexes(ix, env_str("INDEXES", "none"), ilabel, sizeof ilabel);
  mw_shard_writer *w = NULL;
  if (mw_shard_writer_open(&w, store, &c, &schema, ix, nix, &e) != MW_OK) die("open", &e);
  double t0 = now_s();
  for (long long i = 0; i < nb; i++)
    if (mw_shard_writer_put(NULL, w, &batches[i], 1, &e) != MW_OK) die("put", &e);
  double t1 = now_s(), enqueue_s = t1 - t0;
  long long settle = env_ll("SETTLE_MS", 0);
  if (settle > 0) {
    struct timespec ts = {(time_t)(settle / 1000), (long)(settle % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    t1 = now_s(); /* the WAL clock starts after the pause */
  }
  if (mw_shard_writer_flush_wal(w, &e) != MW_OK) die("flush_wal", &e);
  double t2 = now_s(), c2 = cpu_s();
  if (mw_shard_writer_flush_memtable(w, &e) != MW_OK) die("flush_memtable", &e);
  double t3 = now_s(), c3 = cpu_s();
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  if (mw_shard_writer_close(w, &e) != MW_OK) die("close", &e);
  idx_bytes ib = {0, 0};
  mw_objstore_list(store, "", idx_bytes_cb, &ib, NULL);
  double mb = (double)bytes / 1e6;
  printf("{\"bench\": \"flush\", \"indexes\": \"%s\", \"index_files\": %" PRIu64 ", \"index_mb\": %.1f, "
         "\"rows\": %lld, \"batch_size\": %lld, \"fsync\": %s, \"settle_ms\": %lld, \"input_mb\": %.1f, "
         "\"enqueue_ms\": %.1f, \"wal_ms\": %.1f, \"wal_mb_per_s\": %.1f, \"wal_entries\": %" PRIu64 ", "
         "\"flush_ms\": %.1f, \"flush_cpu_ms\": %.1f, \"flush_mb_per_s\": %.1f, \"flush_rows_per_s\": %.0f, "
         "\"wal_plus_flush_ms\": %.1f, \"wal_plus_flush_mb_per_s\": %.1f, \"generations\": %" PRIu64 "}\n",
         ilabel, ib.files, (double)ib.bytes / 1e6, rows, batch_size, fsync_on ? "true" : "false", settle, mb, enqueue_s * 1e3, (t2 - t1) * 1e3, mb / (t2 - t1),
         st.wal_flush_count, (t3 - t2) * 1e3, (c3 - c2) * 1e3, mb / (t3 - t2), (double)rows / (t3 - t2), (t3 - t1) * 1e3,
         mb / (t3 - t1), st.memtable_flush_count);
  fflush(stdout);
  free(batches); /* moved into the writer */
  mw_schema_release(&schema);
  clean_run_store(store, uri);
}

static void bench_sustained(long long rows, long long batch_size, int dim, int durable) {
  mw_error e = {0};
  struct ArrowSchema schema;
  if (mw_gen_schema(&schema, dim, &e) != MW_OK) die("schema", &e);
  char uri[600];
  mw_objstore *store = open_run_store(uri, sizeof uri);
  mw_shard_writer_config c;
  base_config(&c);
  c.durable_write = durable;
  c.backpressure_log_interval_ms = 0;
  mw_shard_writer *w = NULL;
  if (mw_shard_writer_open(&w, store, &c, &schema, NULL, 0, &e) != MW_OK) die("open", &e);
  uint64_t base_rss_kb = status_kb("VmRSS");
  pthread_t sampler;
  atomic_store(&sampler_stop, 0);
  atomic_store(&sampled_peak_kb, 0);
  pthread_create(&sampler, NULL, sampler_main, NULL);
  uint64_t bytes = 0;
  double gen_s = 0, t0 = now_s();
  long long nb = (rows + batch_size - 1) / batch_size;
  for (long long i = 0; i < nb; i++) {
    long long n = i == nb - 1 ? rows - i * batch_size : batch_size;
    double g0 = now_s();
    struct ArrowArray b;
    if (mw_gen_batch(&b, i * batch_size, n, dim, &e) != MW_OK) die("gen", &e);
    bytes += mw_array_byte_size(&schema, &b);
    gen_s += now_s() - g0;
    if (mw_shard_writer_put(NULL, w, &b, 1, &e) != MW_OK) die("put", &e);
  }
  double t1 = now_s();
  mw_write_stats st;
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  uint64_t loop_flushes = st.memtable_flush_count;
  if (mw_shard_writer_flush_memtable(w, &e) != MW_OK) die("flush_memtable", &e);
  mw_shard_writer_write_stats(&st, w, 0, NULL);
  if (mw_shard_writer_close(w, &e) != MW_OK) die("close", &e);
  double t2 = now_s(); /* total = loop + final flush + close */
  atomic_store(&sampler_stop, 1);
  pthread_join(sampler, NULL);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t hwm_kb = status_kb("VmHWM");
  uint64_t peak_kb = hwm_kb > (uint64_t)ru.ru_maxrss ? hwm_kb : (uint64_t)ru.ru_maxrss;
  double mb = (double)bytes / 1e6, budget_mib = (double)c.max_unflushed_memtable_bytes / 1048576.0;
  /* the put loop alone: "enqueue" for non-durable puts (they return before
   * their rows are in the WAL), "durable_puts" otherwise */
  const char *loop_name = durable ? "durable_puts" : "enqueue";
  double peak_mib = (double)peak_kb / 1024.0;
  printf("{\"bench\": \"sustained\", \"rows\": %lld, \"batch_size\": %lld, \"durable\": %s, \"fsync\": %s, "
         "\"max_memtable_size\": %" PRIu64 ", \"max_memtable_rows\": %" PRIu64 ", \"max_unflushed\": %" PRIu64 ", "
         "\"input_mb\": %.1f, \"%s_s\": %.2f, \"gen_s\": %.2f, \"flush_and_close_s\": %.2f, "
         "\"%s_rows_per_s\": %.0f, \"%s_mb_per_s\": %.1f, \"total_rows_per_s\": %.0f, \"total_mb_per_s\": %.1f, "
         "\"total_rows_per_s_excl_gen\": %.0f, \"total_mb_per_s_excl_gen\": %.1f, "
         "\"flushes_in_loop\": %" PRIu64 ", \"flushes\": %" PRIu64 ", \"flushed_rows\": %" PRIu64 ", "
         "\"flush_busy_s\": %.2f, \"wal_entries\": %" PRIu64 ", \"wal_busy_s\": %.2f, "
         "\"backpressure_waits\": %" PRIu64 ", \"backpressure_s\": %.2f, "
         "\"base_rss_mib\": %.1f, \"peak_rss_mib\": %.1f, \"sampled_peak_rss_mib\": %.1f, "
         "\"peak_rss_over_budget_mib\": %.1f, \"peak_rss_to_budget\": %.3f}\n",
         rows, batch_size, durable ? "true" : "false", fsync_on ? "true" : "false", c.max_memtable_size,
         c.max_memtable_rows, c.max_unflushed_memtable_bytes, mb, loop_name, t1 - t0, gen_s, t2 - t1,
         loop_name, (double)rows / (t1 - t0), loop_name, mb / (t1 - t0), (double)rows / (t2 - t0), mb / (t2 - t0),
         (double)rows / (t2 - t0 - gen_s), mb / (t2 - t0 - gen_s), loop_flushes, st.memtable_flush_count,
         st.memtable_flush_rows, (double)st.memtable_flush_nanos / 1e9, st.wal_flush_count,
         (double)st.wal_flush_nanos / 1e9, st.backpressure_waits, (double)st.backpressure_nanos / 1e9,
         (double)base_rss_kb / 1024.0, peak_mib, (double)atomic_load(&sampled_peak_kb) / 1024.0,
         peak_mib - budget_mib, peak_mib / budget_mib);
  fflush(stdout);
  mw_schema_release(&schema);
  clean_run_store(store, uri);
}

int main(void) {
  long long batch_size = env_ll("BATCH_SIZE", 1000);
  int dim = (int)env_ll("VECTOR_DIM", 512);
  const char *which = env_str("BENCH", "all");
  fsync_on = env_yes("FSYNC", 0);
  keep = env_yes("KEEP", 0);
  const char *dir = getenv("BENCH_URI");
  if (!(dir && *dir)) dir = getenv("BENCH_DIR");
  if (batch_size <= 0 || dim <= 0) {
    fprintf(stderr, "bench_flush: BATCH_SIZE and VECTOR_DIM must be positive\n");
    return 1;
  }
  int made_dir = 0;
  if (dir && *dir) {
    snprintf(base_dir, sizeof base_dir, "%s", dir);
    size_t bl = strlen(base_dir);
    while (bl > 1 && base_dir[bl - 1] == '/') base_dir[--bl] = '\0';
  } else {
    snprintf(base_dir, sizeof base_dir, "/tmp/mw_bench_flush_XXXXXX");
    if (!mkdtemp(base_dir)) {
      perror("mkdtemp");
      return 1;
    }
    made_dir = 1;
  }
  if (strcmp(which, "flush") == 0 || strcmp(which, "all") == 0)
    bench_flush(env_ll("FLUSH_ROWS", 100000), batch_size, dim);
  if (strcmp(which, "sustained") == 0 || strcmp(which, "all") == 0)
    bench_sustained(env_ll("NUM_ROWS", 10000000), batch_size, dim, env_yes("DURABLE_WRITE", 0));
  if (made_dir && !keep) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base_dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_flush: could not remove %s\n", base_dir);
  }
  return 0;
}
