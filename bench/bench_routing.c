/* bench_routing.c - mw_route_batch throughput: the cost of deciding each
 * row's shard (the table writer pays it once per row before any I/O).
 *
 * Batches of BATCH_ROWS generated rows (gen_data.h: id int64, vector
 * fixed_size_list<float32>[8], text utf8 ~70 B), routed under unsharded,
 * bucket:id:16, bucket:id:1024, bucket:text:16 and identity:id (every id
 * distinct: one SHA-1 per row, the worst case). Each spec runs for about
 * SECONDS; prints rows/s and ns/row, next to mw_batch_validate of the same
 * batches measured in the same run (a check every put already pays).
 *
 * Usage: bench_routing [SECONDS] [BATCH_ROWS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "arrow/c_data.h"
#include "cli/gen_data.h"
#include "memwal.h"
#include "table/routing.h"

#define N_BATCHES 16

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  int64_t rows = argc > 2 ? atoll(argv[2]) : 1000;
  if (seconds <= 0 || rows <= 0) {
    fprintf(stderr, "usage: bench_routing [SECONDS] [BATCH_ROWS]\n");
    return 2;
  }
  mw_error e = {0};
  struct ArrowSchema schema;
  struct ArrowArray batches[N_BATCHES];
  if (mw_gen_schema(&schema, 8, &e) != MW_OK) goto fail;
  for (int b = 0; b < N_BATCHES; b++)
    if (mw_gen_batch(&batches[b], (int64_t)b * rows, rows, 8, &e) != MW_OK) goto fail;

  printf("mw_route_batch, %lld-row batches (id int64, text utf8 ~70 B), %.1f s per line\n",
         (long long)rows, seconds);
  const char *specs[] = {"validate", "unsharded", "bucket:id:16", "bucket:id:1024", "bucket:text:16",
                         "identity:id"};
  for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
    mw_routing_spec spec;
    bool validate = s == 0;
    if (!validate && mw_routing_spec_parse(&spec, specs[s], &e) != MW_OK) goto fail;
    int64_t done = 0;
    uint64_t shards = 0;
    double t0 = now(), t1;
    do {
      for (int b = 0; b < N_BATCHES; b++) {
        if (validate) {
          if (mw_batch_validate(&schema, &batches[b], &e) != MW_OK) goto fail;
        } else {
          mw_routing r;
          if (mw_route_batch(&r, &spec, &schema, &batches[b], &e) != MW_OK) goto fail;
          shards += r.n_shards;
          mw_routing_free(&r);
        }
        done += rows;
      }
      t1 = now();
    } while (t1 - t0 < seconds);
    double rps = (double)done / (t1 - t0);
    printf("%-16s %12.0f rows/s  %7.1f ns/row", validate ? "(batch validate)" : specs[s], rps, 1e9 / rps);
    if (!validate) printf("  %5.1f shards/batch", (double)shards / (double)(done / rows));
    printf("\n");
  }
  for (int b = 0; b < N_BATCHES; b++) mw_array_release(&batches[b]);
  mw_schema_release(&schema);
  return 0;
fail:
  fprintf(stderr, "bench_routing: %s\n", e.message);
  return 1;
}
