/* bench_floor.c - the physical floor of a durable WAL put on this disk: the
 * bare syscalls one WAL entry needs, with no memwal code in between, so a
 * put's latency can be set against them (README "Where the time of a
 * durable put goes"). Variants, run interleaved in rounds (ROUNDS x
 * ITERS / ROUNDS each) so they share the disk's conditions:
 *   entry_ours     what objstore_file.c does for one put_if_absent: write
 *                  ENTRY_BYTES into an O_TMPFILE inode opened beforehand
 *                  (the store's spare thread does that off the put's path,
 *                  so it is outside the timer here too), linkat it to a
 *                  hidden temp name, fsync, renameat2(RENAME_NOREPLACE) to
 *                  the final name, fsync the folder.
 *   entry_named    the same with a named temp file created beforehand
 *                  (outside the timer): write, fdatasync, renameat2
 *                  NOREPLACE, fsync the folder.
 *   entry_batchK   K (BATCH_K, 4) entries written by K threads at once,
 *                  each write + fdatasync + renameat2 NOREPLACE (in
 *                  position order), then ONE folder fsync for all K; the
 *                  time is per batch (every entry of it durable).
 *   write64k_fsync one 64 KiB pwrite at offset 0 of a file that already
 *                  holds 64 KiB (no size or block change) + fsync: the
 *                  device flush alone.
 *   append64k_fsync one 64 KiB write appended to a growing file + fsync
 *                  (size and block allocation change: a journal commit).
 * Prints one JSON line per variant: p50/p90/p99/max in ms and ops/s.
 * Env: FLOOR_DIR (default a new /tmp/mw_floor_XXXXXX, removed after),
 * ENTRY_BYTES (42000: a 20-row entry of
 * the bench_writer data, see its wal_bytes_per_entry), ITERS (1000 runs
 * per variant), ROUNDS (10), BATCH_K (4). Linux only (O_TMPFILE, renameat2). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static char dir[512];
static int dir_fd = -1;
static unsigned char *payload;
static size_t entry_bytes;
static long seq;

static void write_all(int fd, const void *p, size_t n) {
  const unsigned char *b = p;
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) die("write");
    b += w;
    n -= (size_t)w;
  }
}

static void final_name(char *out, size_t cap, const char *variant, long i) {
  snprintf(out, cap, "%s/%s-%020ld.arrow", dir, variant, i);
}

static double entry_ours(void) {
  int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) die("open O_TMPFILE");
  char proc[64], tmp[600], fin[600];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  snprintf(tmp, sizeof tmp, "%s/.tmp-ours-%ld", dir, seq);
  final_name(fin, sizeof fin, "ours", seq++);
  double t0 = now_s();
  write_all(fd, payload, entry_bytes);
  if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) < 0) die("linkat");
  if (fsync(fd) < 0) die("fsync");
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, fin, RENAME_NOREPLACE) < 0) die("renameat2");
  if (fsync(dir_fd) < 0) die("fsync folder");
  double t1 = now_s();
  close(fd);
  return t1 - t0;
}

static double entry_named(void) {
  char tmp[600], fin[600];
  snprintf(tmp, sizeof tmp, "%s/.tmp-named-%ld", dir, seq);
  final_name(fin, sizeof fin, "named", seq++);
  int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) die("open temp");
  double t0 = now_s();
  write_all(fd, payload, entry_bytes);
  if (fdatasync(fd) < 0) die("fdatasync");
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, fin, RENAME_NOREPLACE) < 0) die("renameat2");
  if (fsync(dir_fd) < 0) die("fsync folder");
  double t1 = now_s();
  close(fd);
  return t1 - t0;
}

/* entry_batchK: K threads each write + fdatasync one named temp; the
 * renames then go in position order, then one folder fsync. */
typedef struct batch_job {
  int fd;
  pthread_t th;
} batch_job;

static void *batch_main(void *arg) {
  batch_job *j = arg;
  write_all(j->fd, payload, entry_bytes);
  if (fdatasync(j->fd) < 0) die("fdatasync");
  return NULL;
}

static double entry_batch(int k) {
  batch_job jobs[64];
  char tmp[64][600];
  long first = seq;
  for (int i = 0; i < k; i++) {
    snprintf(tmp[i], sizeof tmp[i], "%s/.tmp-batch-%ld", dir, seq++);
    jobs[i].fd = open(tmp[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (jobs[i].fd < 0) die("open temp");
  }
  double t0 = now_s();
  for (int i = 0; i < k; i++)
    if (pthread_create(&jobs[i].th, NULL, batch_main, &jobs[i]) != 0) die("pthread_create");
  for (int i = 0; i < k; i++) {
    pthread_join(jobs[i].th, NULL);
    char fin[600];
    final_name(fin, sizeof fin, "batch", first + i);
    if (renameat2(AT_FDCWD, tmp[i], AT_FDCWD, fin, RENAME_NOREPLACE) < 0) die("renameat2");
  }
  if (fsync(dir_fd) < 0) die("fsync folder");
  double t1 = now_s();
  for (int i = 0; i < k; i++) close(jobs[i].fd);
  return t1 - t0;
}

static int fixed_fd = -1, append_fd = -1;
static unsigned char block64k[65536];

static double write64k_fsync(void) {
  double t0 = now_s();
  ssize_t w = pwrite(fixed_fd, block64k, sizeof block64k, 0);
  if (w != (ssize_t)sizeof block64k) die("pwrite");
  if (fsync(fixed_fd) < 0) die("fsync");
  return now_s() - t0;
}

static double append64k_fsync(void) {
  double t0 = now_s();
  write_all(append_fd, block64k, sizeof block64k);
  if (fsync(append_fd) < 0) die("fsync");
  return now_s() - t0;
}

typedef struct variant {
  const char *name;
  double (*run)(void);
  double *lat;
  long n;
  long ops_per_run; /* entries made durable per run */
} variant;

static int batch_k = 4;
static double entry_batch_k(void) { return entry_batch(batch_k); }

int main(void) {
  entry_bytes = (size_t)env_long("ENTRY_BYTES", 42000);
  long iters = env_long("ITERS", 1000), rounds = env_long("ROUNDS", 10);
  batch_k = (int)env_long("BATCH_K", 4);
  if (batch_k < 1 || batch_k > 64) batch_k = 4;
  if (rounds < 1) rounds = 1;
  if (iters < rounds) iters = rounds;
  const char *d = getenv("FLOOR_DIR");
  int made = 0;
  if (d && *d) {
    snprintf(dir, sizeof dir, "%s", d);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) die("mkdir");
  } else {
    snprintf(dir, sizeof dir, "/tmp/mw_floor_XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp");
    made = 1;
  }
  dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) die("open folder");
  payload = malloc(entry_bytes);
  if (!payload) die("malloc");
  for (size_t i = 0; i < entry_bytes; i++) payload[i] = (unsigned char)(i * 131u + 7u);
  for (size_t i = 0; i < sizeof block64k; i++) block64k[i] = (unsigned char)(i * 17u + 3u);
  char p[600];
  snprintf(p, sizeof p, "%s/fixed64k", dir);
  fixed_fd = open(p, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fixed_fd < 0) die("open fixed");
  write_all(fixed_fd, block64k, sizeof block64k);
  if (fsync(fixed_fd) < 0 || fsync(dir_fd) < 0) die("fsync");
  snprintf(p, sizeof p, "%s/append", dir);
  append_fd = open(p, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
  if (append_fd < 0) die("open append");

  variant v[] = {
      {"entry_ours", entry_ours, NULL, 0, 1},
      {"entry_named", entry_named, NULL, 0, 1},
      {"entry_batchK", entry_batch_k, NULL, 0, 0},
      {"write64k_fsync", write64k_fsync, NULL, 0, 1},
      {"append64k_fsync", append64k_fsync, NULL, 0, 1},
  };
  size_t nv = sizeof v / sizeof v[0];
  v[2].ops_per_run = batch_k;
  long per_round = iters / rounds;
  double total[8] = {0};
  for (size_t i = 0; i < nv; i++) {
    v[i].lat = calloc((size_t)(per_round * rounds), sizeof(double));
    if (!v[i].lat) die("calloc");
  }
  for (long r = 0; r < rounds; r++) {
    for (size_t i = 0; i < nv; i++) {
      for (long k = 0; k < per_round; k++) {
        double t = v[i].run();
        v[i].lat[v[i].n++] = t;
        total[i] += t;
      }
    }
  }
  for (size_t i = 0; i < nv; i++) {
    qsort(v[i].lat, (size_t)v[i].n, sizeof(double), cmp_double);
    long n = v[i].n;
    char name[32];
    snprintf(name, sizeof name, "%s", v[i].name);
    if (v[i].run == entry_batch_k) snprintf(name, sizeof name, "entry_batch%d", batch_k);
    printf("{\"bench\": \"floor\", \"variant\": \"%s\", \"bytes\": %zu, \"runs\": %ld, \"entries_per_run\": %ld, "
           "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"entries_per_s\": %.0f}\n",
           name, v[i].run == write64k_fsync || v[i].run == append64k_fsync ? sizeof block64k : entry_bytes, n,
           v[i].ops_per_run, v[i].lat[n / 2] * 1e3, v[i].lat[(size_t)((double)n * 0.9)] * 1e3,
           v[i].lat[(size_t)((double)n * 0.99)] * 1e3, v[i].lat[n - 1] * 1e3,
           (double)(n * v[i].ops_per_run) / total[i]);
    free(v[i].lat);
  }
  close(fixed_fd);
  close(append_fd);
  close(dir_fd);
  free(payload);
  if (made) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
  return 0;
}
