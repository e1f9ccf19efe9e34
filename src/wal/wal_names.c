/* wal_names.c - bitrev64 names and shard key builders (see wal_names.h). */
#include "wal/wal_names.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void mw_bitrev64_name(char out[MW_BITREV64_LEN + 1], uint64_t n) {
  /* Character i is bit i of n: printing LSB first is the bit reversal. */
  for (int i = 0; i < MW_BITREV64_LEN; i++) out[i] = (char)('0' + ((n >> i) & 1u));
  out[MW_BITREV64_LEN] = '\0';
}

bool mw_bitrev64_parse(uint64_t *out, const char *name) {
  if (!name) return false;
  size_t len = strcspn(name, ".");
  if (len != MW_BITREV64_LEN) return false;
  uint64_t v = 0;
  for (int i = 0; i < MW_BITREV64_LEN; i++) {
    char c = name[i];
    if (c != '0' && c != '1') return false;
    if (c == '1') v |= (uint64_t)1 << i;
  }
  *out = v;
  return true;
}

void mw_wal_entry_key(char out[MW_KEY_SIZE], const char *shard, uint64_t position) {
  char name[MW_BITREV64_LEN + 1];
  mw_bitrev64_name(name, position);
  snprintf(out, MW_KEY_SIZE, "_mem_wal/%s/wal/%s.arrow", shard, name);
}

void mw_manifest_version_key(char out[MW_KEY_SIZE], const char *shard, uint64_t version) {
  char name[MW_BITREV64_LEN + 1];
  mw_bitrev64_name(name, version);
  snprintf(out, MW_KEY_SIZE, "_mem_wal/%s/manifest/%s.binpb", shard, name);
}

void mw_manifest_hint_key(char out[MW_KEY_SIZE], const char *shard) {
  snprintf(out, MW_KEY_SIZE, "_mem_wal/%s/manifest/version_hint.json", shard);
}

void mw_wal_dir_prefix(char out[MW_KEY_SIZE], const char *shard) {
  snprintf(out, MW_KEY_SIZE, "_mem_wal/%s/wal/", shard);
}

void mw_manifest_dir_prefix(char out[MW_KEY_SIZE], const char *shard) {
  snprintf(out, MW_KEY_SIZE, "_mem_wal/%s/manifest/", shard);
}

void mw_shard_dir_prefix(char out[MW_KEY_SIZE], const char *shard) {
  snprintf(out, MW_KEY_SIZE, "_mem_wal/%s/", shard);
}
