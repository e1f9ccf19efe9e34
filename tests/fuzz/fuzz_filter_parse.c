/* fuzz_filter_parse.c - the filter expression parser (text from users):
 * parse; on success print, parse the printed text again (must succeed and
 * give an equal tree) and print again (must give the same text); on
 * failure the message must say where (a byte offset). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter.h"

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
  mw_free(s1);
  mw_free(s2);
  mw_expr_free(e2);
  mw_expr_free(e);
  free(text);
  return 0;
}
