/* fuzz_filter_parse.c - the filter expression parser (text from users):
 * parse; on success print, parse the printed text again (must succeed and
 * give an equal tree) and print again (must give the same text); on
 * failure the message must say where (a byte offset). A parsed tree is
 * also bound to a fixed schema (a int64, b float64, u uint64, s utf8,
 * f bool; a bind error must be MW_ERR_INVALID with a message) and, when it
 * binds, evaluated over a small batch with nulls (every keep byte 0 or 1). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter.h"

static void noop_sch(struct ArrowSchema *s) { s->release = NULL; }
static void noop_arr(struct ArrowArray *a) { a->release = NULL; }

static void bind_and_eval(const mw_expr *e) {
  static const char *names[5] = {"a", "b", "u", "s", "f"};
  static const char *formats[5] = {"l", "g", "L", "u", "b"};
  struct ArrowSchema ks[5], *ksp[5];
  for (int c = 0; c < 5; c++) {
    ks[c] = (struct ArrowSchema){.format = formats[c], .name = names[c], .release = noop_sch};
    ksp[c] = &ks[c];
  }
  struct ArrowSchema schema = {.format = "+s", .n_children = 5, .children = ksp, .release = noop_sch};
  mw_bound_filter *f = NULL;
  mw_error err = {0};
  if (mw_filter_bind(&f, e, &schema, &err) != MW_OK) {
    if (err.code != MW_ERR_INVALID || err.message[0] == '\0') abort();
    return;
  }
  static const int64_t a[4] = {INT64_MIN, -1, 0, INT64_MAX};
  static const double b[4] = {-0.0, 1.5, NAN, INFINITY};
  static const uint64_t u[4] = {0, 1, (uint64_t)INT64_MAX + 1, UINT64_MAX};
  static const int32_t so[5] = {0, 0, 1, 3, 6};
  static const char sd[] = "aabcde";
  static const uint8_t fbits[1] = {0x5}, valid[1] = {0xB};
  const void *ba[2] = {valid, a}, *bb[2] = {NULL, b}, *bu[2] = {valid, u}, *bs[3] = {valid, so, sd},
             *bf[2] = {NULL, fbits};
  struct ArrowArray ka[5] = {
    {.length = 4, .null_count = 1, .n_buffers = 2, .buffers = ba, .release = noop_arr},
    {.length = 4, .n_buffers = 2, .buffers = bb, .release = noop_arr},
    {.length = 4, .null_count = 1, .n_buffers = 2, .buffers = bu, .release = noop_arr},
    {.length = 4, .null_count = 1, .n_buffers = 3, .buffers = bs, .release = noop_arr},
    {.length = 4, .n_buffers = 2, .buffers = bf, .release = noop_arr},
  };
  struct ArrowArray *kap[5] = {&ka[0], &ka[1], &ka[2], &ka[3], &ka[4]};
  const void *sb[1] = {NULL};
  struct ArrowArray batch = {.length = 4, .n_buffers = 1, .buffers = sb, .n_children = 5,
                             .children = kap, .release = noop_arr};
  uint8_t keep[4];
  if (mw_filter_eval(keep, f, &batch, 0, 4, &err) != MW_OK) abort();
  for (int i = 0; i < 4; i++)
    if (keep[i] > 1) abort();
  const mw_filter_term *t = NULL;
  size_t nt = mw_filter_index_terms(f, &t);
  for (size_t i = 0; i < nt; i++)
    if (t[i].column >= 5 || (t[i].in && t[i].n_values == 0)) abort();
  mw_bound_filter_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0'; /* an embedded NUL simply ends the filter */
  mw_expr *e = NULL;
  mw_error err = {0};
  if (mw_expr_parse(&e, text, &err) != MW_OK) {
    if (err.code != MW_ERR_INVALID || !strstr(err.message, "offset")) abort();
    free(text);
    return 0;
  }
  if (mw_expr_check(e, &err) != MW_OK) abort();
  char *s1 = NULL, *s2 = NULL;
  mw_expr *e2 = NULL;
  if (mw_expr_to_string(&s1, e, &err) != MW_OK) abort();
  if (mw_expr_parse(&e2, s1, &err) != MW_OK) abort();
  if (!mw_expr_equal(e, e2)) abort();
  if (mw_expr_to_string(&s2, e2, &err) != MW_OK) abort();
  if (strcmp(s1, s2) != 0) abort();
  bind_and_eval(e);
  mw_free(s1);
  mw_free(s2);
  mw_expr_free(e2);
  mw_expr_free(e);
  free(text);
  return 0;
}
