/* test_take.c - mw_array_take (src/arrow/take.c): every row a take returns
 * renders exactly like the source row it came from (JSON rows as memwal
 * prints them), for the rich-type and deep-nesting IPC samples (all
 * primitive, temporal, decimal, binary, list, large list, fixed-size list,
 * map and struct columns, with nulls and offsets) and an apache-arrow JS
 * sample, taking rows in a scrambled order with repeats; the result
 * outlives its source; rows out of range are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "arrow/json.h"
#include "arrow/take.h"
#include "common/buf.h"
#include "mw_test.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *d = malloc((size_t)n + 1);
  *len = fread(d, 1, (size_t)n, f);
  fclose(f);
  return d;
}

/* JSON of row i of a batch. */
static char *row_json(const struct ArrowSchema *s, const struct ArrowArray *b, int64_t i) {
  mw_buf out;
  mw_buf_init(&out);
  mw_error e = {0};
  if (mw_json_row(&out, s, b, i, &e) != MW_OK) {
    fprintf(stderr, "render: %s\n", e.message);
    mw_buf_free(&out);
    return strdup("<error>");
  }
  char *r = malloc(out.len + 1);
  memcpy(r, out.data, out.len);
  r[out.len] = '\0';
  mw_buf_free(&out);
  return r;
}

static void check_file(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/data/%s", MW_SOURCE_DIR, name);
  size_t len = 0;
  char *data = slurp(path, &len);
  CHECK(data != NULL);
  if (!data) return;
  struct ArrowSchema sc;
  struct ArrowArray *batches = NULL;
  size_t nb = 0;
  mw_error e = {0};
  CHECK_OK(mw_ipc_decode(&sc, &batches, &nb, data, len, &e), &e);
  free(data);
  int compared = 0, differ = 0;
  for (size_t b = 0; b < nb; b++) {
    const struct ArrowArray *src = &batches[b];
    int64_t n = src->length;
    if (n == 0) continue;
    /* scrambled order with repeats: 2n picks */
    int64_t m = 2 * n;
    int64_t *rows = malloc((size_t)m * sizeof *rows);
    for (int64_t i = 0; i < m; i++) rows[i] = (i * 7 + 3) % n;
    struct ArrowArray t;
    CHECK_OK(mw_array_take(&t, &sc, src, rows, m, &e), &e);
    CHECK_INT(t.length, m);
    CHECK_OK(mw_batch_validate(&sc, &t, &e), &e);
    char **want = calloc((size_t)n, sizeof *want);
    for (int64_t i = 0; i < n; i++) want[i] = row_json(&sc, src, i);
    /* Release the source first: the take owns its buffers. */
    for (int64_t i = 0; i < m; i++) {
      char *got = row_json(&sc, &t, i);
      compared++;
      if (strcmp(got, want[rows[i]]) != 0) {
        if (differ++ < 3) fprintf(stderr, "%s row %lld: got %s\nwant %s\n", name, (long long)i, got, want[rows[i]]);
      }
      free(got);
    }
    for (int64_t i = 0; i < n; i++) free(want[i]);
    free(want);
    if (t.release) t.release(&t);
    free(rows);
  }
  CHECK(compared > 0);
  CHECK_INT(differ, 0);
  for (size_t b = 0; b < nb; b++)
    if (batches[b].release) batches[b].release(&batches[b]);
  mw_free(batches);
  mw_schema_release(&sc);
}

static void test_rich_types(void) { check_file("ipc_rich_types.arrows"); }
static void test_arrow_js_sample(void) { check_file("arrow_js_sample.arrows"); }
static void test_list_int32(void) { check_file("ipc_list_int32.arrows"); }
static void test_wal_input(void) { check_file("wal_append_input.arrows"); }

/* The take outlives its source, and an empty take is a valid empty batch;
 * rows out of range are refused. */
static void test_edges(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/data/ipc_rich_types.arrows", MW_SOURCE_DIR);
  size_t len = 0;
  char *data = slurp(path, &len);
  struct ArrowSchema sc;
  struct ArrowArray *batches = NULL;
  size_t nb = 0;
  mw_error e = {0};
  CHECK_OK(mw_ipc_decode(&sc, &batches, &nb, data, len, &e), &e);
  free(data);
  CHECK(nb >= 1);
  int64_t last = batches[0].length - 1;
  char *want = row_json(&sc, &batches[0], last);
  struct ArrowArray t;
  CHECK_OK(mw_array_take(&t, &sc, &batches[0], &last, 1, &e), &e);
  for (size_t b = 0; b < nb; b++) batches[b].release(&batches[b]);
  mw_free(batches);
  char *got = row_json(&sc, &t, 0);
  CHECK_STR(got, want);
  free(got);
  free(want);
  t.release(&t);
  mw_schema_release(&sc);
  struct ArrowArray empty;
  int64_t bad = 1000000;
  CHECK_OK(mw_ipc_decode(&sc, &batches, &nb, (data = slurp(path, &len)), len, &e), &e);
  free(data);
  CHECK_OK(mw_array_take(&empty, &sc, &batches[0], NULL, 0, &e), &e);
  CHECK_INT(empty.length, 0);
  CHECK_OK(mw_batch_validate(&sc, &empty, &e), &e);
  empty.release(&empty);
  CHECK_INT(mw_array_take(&empty, &sc, &batches[0], &bad, 1, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "out of") != NULL);
  for (size_t b = 0; b < nb; b++) batches[b].release(&batches[b]);
  mw_free(batches);
  mw_schema_release(&sc);
}

int main(void) {
  MW_RUN(test_rich_types);
  MW_RUN(test_arrow_js_sample);
  MW_RUN(test_list_int32);
  MW_RUN(test_wal_input);
  MW_RUN(test_edges);
  return mw_test_finish();
}
