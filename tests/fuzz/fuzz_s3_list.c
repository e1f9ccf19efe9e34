/* fuzz_s3_list.c - the S3 ListObjectsV2 XML parser (bytes from the network):
 * every key handed out is a valid relative key, and errors say what. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore_s3.h"

static int on_key(void *arg, const char *key, uint64_t size) {
  (void)size;
  size_t *n = arg;
  if (!key || !key[0] || key[0] == '/') abort(); /* only valid keys reach callers */
  (*n)++;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int p = 0; p < 2; p++) {
    char *next = NULL;
    size_t n = 0;
    mw_error e = {0};
    mw_status s = mw_s3_parse_list_page(&next, p ? "db/" : "", data, size, on_key, &n, &e);
    if (s != MW_OK && e.message[0] == '\0') abort();
    free(next);
  }
  return 0;
}
