/*
 * wal_names.h - object names of a MemWAL shard (MEMWAL.md section 2).
 *
 * WAL entries and manifest versions are named by bitrev64(n): the 64 bits of
 * n printed least-significant first as '0'/'1' (1 -> "1" + 63 zeros), which
 * spreads consecutive numbers over an S3 key space. Keys are relative to the
 * base table's root:
 *   _mem_wal/{shard}/wal/{bitrev64(position)}.arrow
 *   _mem_wal/{shard}/manifest/{bitrev64(version)}.binpb
 *   _mem_wal/{shard}/manifest/version_hint.json
 * {shard} is the lowercase hyphenated UUID (36 characters, see common/uuid.h).
 */
#ifndef MW_WAL_WAL_NAMES_H
#define MW_WAL_WAL_NAMES_H

#include <stdbool.h>
#include <stdint.h>

/* Length of a bitrev64 name (without NUL). */
#define MW_BITREV64_LEN 64
/* Buffer size for every key built below (the longest is 125 chars + NUL
 * with a 36-character shard; extra room so a bad shard string truncates
 * instead of overflowing). */
#define MW_KEY_SIZE 192

/* Writes bitrev64(n) + NUL into out (MW_BITREV64_LEN + 1 bytes). */
void mw_bitrev64_name(char out[MW_BITREV64_LEN + 1], uint64_t n);

/* Parses a name: the text before the first '.' (or all of it) must be
 * exactly 64 characters '0'/'1'. Returns false ("not a name": temporary
 * files, anything else) and leaves *out untouched otherwise. Accepts a file
 * name, not a full key: callers strip the folder first. */
bool mw_bitrev64_parse(uint64_t *out, const char *name);

/* Key builders. `shard` is the 36-character UUID string. Each writes a
 * NUL-terminated key into out (MW_KEY_SIZE bytes). */
void mw_wal_entry_key(char out[MW_KEY_SIZE], const char *shard, uint64_t position);
void mw_manifest_version_key(char out[MW_KEY_SIZE], const char *shard, uint64_t version);
void mw_manifest_hint_key(char out[MW_KEY_SIZE], const char *shard);
/* Folder prefixes for list(): "_mem_wal/{shard}/wal/", ".../manifest/",
 * "_mem_wal/{shard}/". */
void mw_wal_dir_prefix(char out[MW_KEY_SIZE], const char *shard);
void mw_manifest_dir_prefix(char out[MW_KEY_SIZE], const char *shard);
void mw_shard_dir_prefix(char out[MW_KEY_SIZE], const char *shard);

#endif
