/* bench_ipc.c - Arrow IPC encode/decode throughput against memcpy.
 *
 * Batches of id: int64, vector: fixed_size_list<float32>[512], text: utf8
 * (~70 bytes a row) at 20 and 1000 rows per batch. Each measurement runs for
 * about SECONDS (argv[1], default 1.0) and prints rows/s, MB/s (input bytes
 * = mw_array_byte_size of the batch) and the ratio to memcpy of the same
 * byte count measured in the same run. One stream of one batch per call, as
 * a WAL entry with a single put would be.
 *
 * Usage: bench_ipc [SECONDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrow/c_data.h"
#include "memwal.h"

#define DIM 512
#define TEXT_LEN 70

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- a heap-built batch: one struct owning every buffer */

typedef struct bench_batch {
  struct ArrowArray batch, id, vec, vec_item, text;
  struct ArrowArray *batch_kids[3], *vec_kids[1];
  const void *batch_bufs[1], *id_bufs[2], *vec_bufs[1], *item_bufs[2], *text_bufs[3];
  int64_t *ids;
  float *floats;
  int32_t *offsets;
  char *chars;
} bench_batch;

static void noop_release(struct ArrowArray *a) { a->release = NULL; }

static void init_array(struct ArrowArray *a, int64_t length, int64_t n_buffers, const void **bufs,
                       int64_t n_children, struct ArrowArray **kids) {
  memset(a, 0, sizeof *a);
  a->length = length;
  a->n_buffers = n_buffers;
  a->buffers = bufs;
  a->n_children = n_children;
  a->children = kids;
  a->release = noop_release;
}

static bench_batch *make_batch(int64_t rows) {
  bench_batch *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->ids = malloc(sizeof(int64_t) * (size_t)rows);
  b->floats = malloc(sizeof(float) * (size_t)rows * DIM);
  b->offsets = malloc(sizeof(int32_t) * (size_t)(rows + 1));
  b->chars = malloc((size_t)rows * TEXT_LEN + 1);
  if (!b->ids || !b->floats || !b->offsets || !b->chars) return NULL;
  for (int64_t i = 0; i < rows; i++) {
    b->ids[i] = i;
    for (int d = 0; d < DIM; d++) b->floats[i * DIM + d] = (float)(i + d) * 0.001f;
  }
  int32_t pos = 0;
  for (int64_t i = 0; i < rows; i++) {
    b->offsets[i] = pos;
    int len = TEXT_LEN - 5 + (int)(i % 11); /* 65..75 bytes */
    for (int k = 0; k < len; k++) b->chars[pos + k] = (char)('a' + (i + k) % 26);
    pos += len;
  }
  b->offsets[rows] = pos;
  b->batch_bufs[0] = NULL;
  b->id_bufs[0] = NULL;
  b->id_bufs[1] = b->ids;
  b->vec_bufs[0] = NULL;
  b->item_bufs[0] = NULL;
  b->item_bufs[1] = b->floats;
  b->text_bufs[0] = NULL;
  b->text_bufs[1] = b->offsets;
  b->text_bufs[2] = b->chars;
  init_array(&b->id, rows, 2, b->id_bufs, 0, NULL);
  init_array(&b->vec_item, rows * DIM, 2, b->item_bufs, 0, NULL);
  b->vec_kids[0] = &b->vec_item;
  init_array(&b->vec, rows, 1, b->vec_bufs, 1, b->vec_kids);
  init_array(&b->text, rows, 3, b->text_bufs, 0, NULL);
  b->batch_kids[0] = &b->id;
  b->batch_kids[1] = &b->vec;
  b->batch_kids[2] = &b->text;
  init_array(&b->batch, rows, 1, b->batch_bufs, 3, b->batch_kids);
  return b;
}

static void free_batch(bench_batch *b) {
  if (!b) return;
  free(b->ids);
  free(b->floats);
  free(b->offsets);
  free(b->chars);
  free(b);
}

/* ---- the schema (borrowed structs with no-op release) */

static void schema_noop_release(struct ArrowSchema *s) { s->release = NULL; }

static struct ArrowSchema s_root, s_id, s_vec, s_item, s_text;
static struct ArrowSchema *root_kids[3], *vec_kids[1];

static void init_schema(struct ArrowSchema *s, const char *format, const char *name, int64_t flags,
                        int64_t n_children, struct ArrowSchema **kids) {
  memset(s, 0, sizeof *s);
  s->format = format;
  s->name = name;
  s->flags = flags;
  s->n_children = n_children;
  s->children = kids;
  s->release = schema_noop_release;
}

static void make_schema(void) {
  init_schema(&s_id, "l", "id", 0, 0, NULL);
  init_schema(&s_item, "f", "item", ARROW_FLAG_NULLABLE, 0, NULL);
  vec_kids[0] = &s_item;
  init_schema(&s_vec, "+w:512", "vector", ARROW_FLAG_NULLABLE, 1, vec_kids);
  init_schema(&s_text, "u", "text", ARROW_FLAG_NULLABLE, 0, NULL);
  root_kids[0] = &s_id;
  root_kids[1] = &s_vec;
  root_kids[2] = &s_text;
  init_schema(&s_root, "+s", "", 0, 3, root_kids);
}

/* ---- measurements */

typedef struct result {
  double seconds;
  long iters;
} result;

static volatile unsigned char sink;

static result run_memcpy(size_t bytes, double budget) {
  unsigned char *src = malloc(bytes), *dst = malloc(bytes);
  result r = {0, 0};
  if (!src || !dst) { free(src); free(dst); return r; }
  memset(src, 1, bytes);
  memset(dst, 0, bytes);
  double t0 = now(), t;
  do {
    memcpy(dst, src, bytes);
    sink ^= dst[r.iters % bytes];
    r.iters++;
  } while ((t = now()) - t0 < budget);
  r.seconds = t - t0;
  free(src);
  free(dst);
  return r;
}

static result run_encode(const struct ArrowArray *batch, double budget, int *ok) {
  result r = {0, 0};
  mw_error err = {0};
  double t0 = now(), t;
  do {
    void *out = NULL;
    size_t len = 0;
    if (mw_ipc_encode(&out, &len, &s_root, &batch, 1, NULL, &err) != MW_OK) {
      fprintf(stderr, "encode failed: %s\n", err.message);
      *ok = 0;
      return r;
    }
    sink ^= ((unsigned char *)out)[len - 9];
    mw_free(out);
    r.iters++;
  } while ((t = now()) - t0 < budget);
  r.seconds = t - t0;
  return r;
}

static result run_decode(const void *stream, size_t len, double budget, int *ok) {
  result r = {0, 0};
  mw_error err = {0};
  double t0 = now(), t;
  do {
    struct ArrowSchema schema;
    struct ArrowArray *batches = NULL;
    size_t n = 0;
    if (mw_ipc_decode(&schema, &batches, &n, stream, len, &err) != MW_OK || n != 1) {
      fprintf(stderr, "decode failed: %s\n", err.message);
      *ok = 0;
      return r;
    }
    sink ^= (unsigned char)batches[0].length;
    for (size_t i = 0; i < n; i++)
      if (batches[i].release) batches[i].release(&batches[i]);
    mw_free(batches);
    if (schema.release) schema.release(&schema);
    r.iters++;
  } while ((t = now()) - t0 < budget);
  r.seconds = t - t0;
  return r;
}

static void print_line(const char *what, int64_t rows, uint64_t bytes, result r, double memcpy_mbs) {
  double mbs = (double)bytes * (double)r.iters / r.seconds / 1e6;
  double rows_s = (double)rows * (double)r.iters / r.seconds;
  if (memcpy_mbs > 0)
    printf("%-7s rows/batch=%-5lld iters=%-8ld %12.0f rows/s %9.1f MB/s  ratio vs memcpy %.2f\n",
           what, (long long)rows, r.iters, rows_s, mbs, mbs / memcpy_mbs);
  else
    printf("%-7s rows/batch=%-5lld iters=%-8ld %12.0f rows/s %9.1f MB/s\n", what,
           (long long)rows, r.iters, rows_s, mbs);
}

int main(int argc, char **argv) {
  double budget = argc > 1 ? atof(argv[1]) : 1.0;
  if (budget <= 0) budget = 1.0;
  make_schema();
  static const int64_t sizes[2] = {20, 1000};
  int ok = 1;
  for (int k = 0; k < 2 && ok; k++) {
    int64_t rows = sizes[k];
    bench_batch *b = make_batch(rows);
    if (!b) { fprintf(stderr, "out of memory\n"); return 1; }
    const struct ArrowArray *batch = &b->batch;
    mw_error err = {0};
    if (mw_batch_validate(&s_root, batch, &err) != MW_OK) {
      fprintf(stderr, "bad batch: %s\n", err.message);
      return 1;
    }
    uint64_t bytes = mw_array_byte_size(&s_root, batch);
    void *stream = NULL;
    size_t stream_len = 0;
    if (mw_ipc_encode(&stream, &stream_len, &s_root, &batch, 1, NULL, &err) != MW_OK) {
      fprintf(stderr, "encode failed: %s\n", err.message);
      return 1;
    }
    printf("batch: %lld rows, %llu input bytes, stream %zu bytes\n", (long long)rows,
           (unsigned long long)bytes, stream_len);
    result m = run_memcpy((size_t)bytes, budget);
    double memcpy_mbs = (double)bytes * (double)m.iters / m.seconds / 1e6;
    print_line("memcpy", rows, bytes, m, 0);
    result e = run_encode(batch, budget, &ok);
    if (ok) print_line("encode", rows, bytes, e, memcpy_mbs);
    result d = run_decode(stream, stream_len, budget, &ok);
    if (ok) print_line("decode", rows, bytes, d, memcpy_mbs);
    mw_free(stream);
    free_batch(b);
  }
  return ok ? 0 : 1;
}
