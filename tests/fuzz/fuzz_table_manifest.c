/* fuzz_table_manifest.c - the Lance table manifest reader (bytes from
 * storage): decode the manifest file; on success store it as the version it
 * claims in a memory store and open it as a table (schema, primary key,
 * MemWAL details, spec) and render the description. Failures must be
 * MW_ERR_CORRUPT with a message; nothing may crash. A table that opens also
 * goes through the public accessors (the Arrow schema export may refuse a
 * type with MW_ERR_UNSUPPORTED / MW_ERR_CORRUPT, writer defaults may be
 * MW_ERR_INVALID) and a set-spec rewrite, which either commits a version
 * that opens again with the new spec or refuses with MW_ERR_CORRUPT (a
 * manifest it cannot rewrite faithfully) and commits nothing. */
#include <stdint.h>
#include <stdio.h>
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
    struct ArrowSchema sc;
    st = mw_table_schema(&sc, t, &e);
    if (st == MW_OK) sc.release(&sc);
    else if ((st != MW_ERR_UNSUPPORTED && st != MW_ERR_CORRUPT) || e.message[0] == '\0') abort();
    for (size_t i = 0; i < mw_table_primary_key_count(t); i++)
      if (mw_table_primary_key(t, i) == NULL) abort();
    for (size_t i = 0; i < mw_table_maintained_index_count(t); i++)
      if (mw_table_maintained_index(t, i) == NULL) abort();
    char spec[512];
    int routable = 0;
    st = mw_table_sharding_spec(spec, sizeof spec, &routable, t, &e);
    if (st != MW_OK && st != MW_ERR_NOT_FOUND) abort();
    mw_shard_writer_config cfg;
    mw_shard_writer_config_init(&cfg);
    st = mw_table_apply_writer_defaults(&cfg, t, &e);
    if (st != MW_OK && st != MW_ERR_INVALID) abort();
    if (version < UINT64_MAX - 1) {
      st = mw_table_set_lsm_spec(s, "unsharded", NULL, 0, NULL, 0, &e);
      if (st != MW_OK && (st != MW_ERR_CORRUPT || e.message[0] == '\0')) {
        fprintf(stderr, "set-spec rewrite failed: %s\n", e.message);
        abort();
      }
      if (st != MW_OK) version = UINT64_MAX; /* refused cleanly: nothing committed */
    }
    if (version < UINT64_MAX - 1) {
      mw_table *t2 = NULL;
      if (mw_table_open(&t2, s, &e) != MW_OK || mw_table_version(t2) != version + 1) {
        fprintf(stderr, "the rewritten table does not reopen as version %llu: %s\n",
                (unsigned long long)version + 1, t2 ? "(other version)" : e.message);
        abort();
      }
      if (mw_table_sharding_spec(spec, sizeof spec, &routable, t2, &e) != MW_OK || !routable ||
          strcmp(spec, "unsharded") != 0)
        abort();
      mw_table_close(t2);
    }
  } else if (st != MW_ERR_CORRUPT || e.message[0] == '\0') {
    abort();
  }
  mw_table_close(t);
  mw_objstore_close(s);
  return 0;
}
