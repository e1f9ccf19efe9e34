/* fuzz_table_manifest.c - the Lance table manifest reader (bytes from
 * storage): decode the manifest file; on success store it as the version it
 * claims in a memory store and open it as a table (schema, primary key,
 * MemWAL details, spec) and render the description. Failures must be
 * MW_ERR_CORRUPT with a message; nothing may crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lance/table_manifest.h"
#include "objstore/objstore.h"
#include "table/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_lance_table_manifest *m = NULL;
  mw_error e = {0};
  mw_status st = mw_lance_table_manifest_decode(&m, data, size, "fuzz", &e);
  if (st != MW_OK) {
    if (st != MW_ERR_CORRUPT || e.message[0] == '\0') abort();
    return 0;
  }
  uint64_t version = m->version;
  mw_lance_table_manifest_free(m);
  if (version == 0 || version == UINT64_MAX) return 0; /* no valid name for it */
  mw_objstore *s = NULL;
  if (mw_objstore_mem_open(&s, "", &e) != MW_OK) abort();
  char key[64];
  mw_lance_manifest_key(key, sizeof key, version);
  if (mw_objstore_put(s, key, data, size, &e) != MW_OK) abort();
  mw_table *t = NULL;
  st = mw_table_open(&t, s, &e);
  if (st == MW_OK) {
    char *json = NULL;
    if (mw_table_describe_json(&json, t, "fuzz", &e) != MW_OK) abort();
    free(json);
  } else if (st != MW_ERR_CORRUPT || e.message[0] == '\0') {
    abort();
  }
  mw_table_close(t);
  mw_objstore_close(s);
  return 0;
}
