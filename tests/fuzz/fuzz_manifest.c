/* fuzz_manifest.c - the shard manifest decoder (protobuf from storage):
 * decode, and on success re-encode, render JSON, copy and decode again,
 * which must succeed and agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/shard_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_shard_manifest *m = NULL;
  mw_error e = {0};
  if (mw_shard_manifest_decode(&m, data, size, "fuzz", &e) != MW_OK) {
    if (e.message[0] == '\0') abort(); /* every error says what */
    return 0;
  }
  char *json = NULL;
  if (mw_shard_manifest_to_json(&json, m, &e) != MW_OK) abort();
  free(json);
  uint8_t *out = NULL;
  size_t n = 0;
  if (mw_shard_manifest_encode(&out, &n, m, &e) != MW_OK) abort();
  mw_shard_manifest *m2 = NULL;
  if (mw_shard_manifest_decode(&m2, out, n, "fuzz re-encoded", &e) != MW_OK) abort();
  if (m2->version != m->version || m2->writer_epoch != m->writer_epoch ||
      m2->n_flushed_generations != m->n_flushed_generations)
    abort();
  mw_shard_manifest *c = NULL;
  if (mw_shard_manifest_copy(&c, m, &e) != MW_OK) abort();
  mw_shard_manifest_free(c);
  mw_shard_manifest_free(m2);
  free(out);
  mw_shard_manifest_free(m);
  return 0;
}
