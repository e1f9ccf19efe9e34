/*
 * merge.h - internal pieces of the merger (LSM.md section 11; the public
 * entry point is mw_table_merge in memwal.h, implemented in merge.c).
 *
 * merge_read.c reads what a merge needs, treating every byte as hostile:
 *  - row sets (deletion vectors): sorted, unique u32 row offsets;
 *  - deletion files: `.bin` = portable 32-bit roaring bitmap (cookies
 *    12346 "no run containers" and 12347 "with run containers"), `.arrow` =
 *    an Arrow IPC FILE with one integer column of row offsets (Lance writes
 *    it ZSTD-compressed for small sets); mw_roaring_encode writes the
 *    portable format (array and bitmap containers, cookie 12346);
 *  - the raw view of a Lance manifest file (fields, fragments with their
 *    data files and deletion file, max_fragment_id, feature flags), parsed
 *    straight from the protobuf bytes so that each fragment's bytes can be
 *    written back unchanged except its deletion file;
 *  - the primary keys of a data file (and its `_tombstone` column), as the
 *    memcomparable encoding of pk_index.h, one per row.
 */
#ifndef MW_TABLE_MERGE_H
#define MW_TABLE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "memwal.h"
#include "memwal_sys.h"

/* Lance manifest feature flags (table.proto) a merger understands. */
#define MW_LANCE_FLAG_DELETION_FILES 1u
#define MW_LANCE_FLAG_STABLE_ROW_IDS 2u
#define MW_LANCE_FLAG_V2_FORMAT 4u
#define MW_LANCE_FLAG_TABLE_CONFIG 8u
/* data files of different 2.x versions in one table (Lance sets it when it
 * mixes them; without it Lance 12 refuses e.g. a 2.1 file in a 2.2 table) */
#define MW_LANCE_FLAG_MIXED_VERSIONS 256u
#define MW_LANCE_FLAGS_KNOWN \
  (MW_LANCE_FLAG_DELETION_FILES | MW_LANCE_FLAG_V2_FORMAT | MW_LANCE_FLAG_TABLE_CONFIG | MW_LANCE_FLAG_MIXED_VERSIONS)

/* ------------------------------------------------------------- row sets */

typedef struct mw_rowset {
  uint32_t *v;
  size_t n, cap;
} mw_rowset;

void mw_rowset_free(mw_rowset *s);
mw_status mw_rowset_add(mw_rowset *s, uint32_t v, mw_error *err);
/* Adds every member of `other`. */
mw_status mw_rowset_add_all(mw_rowset *s, const mw_rowset *other, mw_error *err);
/* Sorts and removes duplicates (every lookup below needs it). */
void mw_rowset_normalize(mw_rowset *s);
bool mw_rowset_has(const mw_rowset *s, uint32_t v);

/* Decodes a portable roaring bitmap; every value must be < limit.
 * MW_ERR_CORRUPT naming `name` and the byte offset otherwise. *out is
 * normalized. */
mw_status mw_roaring_decode(mw_rowset *out, const uint8_t *data, size_t len, uint64_t limit,
                            const char *name, mw_error *err);
/* Encodes a normalized set (malloc'ed bytes). */
mw_status mw_roaring_encode(uint8_t **out, size_t *out_len, const mw_rowset *s, mw_error *err);
/* Decodes an Arrow IPC file (or stream) deletion file: one integer column
 * (int32/uint32/int64/uint64), no nulls, every value < limit. */
mw_status mw_deletion_arrow_decode(mw_rowset *out, const uint8_t *data, size_t len, uint64_t limit,
                                   const char *name, mw_error *err);

/* ------------------------------------------------------ manifest (raw) */

typedef struct mw_merge_datafile {
  char *path;               /* relative to data/ */
  size_t n_fields;
  int32_t *fields;          /* field ids */
  size_t n_cols;
  int32_t *cols;            /* column indices (may be shorter: v1 files) */
  uint32_t major, minor;
  uint64_t size;            /* 0 = unknown */
  bool has_base_id;
} mw_merge_datafile;

typedef struct mw_merge_deletion {
  bool present;
  uint32_t type;            /* 0 ARROW_ARRAY (.arrow), 1 BITMAP (.bin) */
  uint64_t read_version, id, num_deleted;
  bool has_base_id;
} mw_merge_deletion;

typedef struct mw_merge_fragment {
  uint64_t id;
  uint64_t physical_rows;
  size_t n_files;
  mw_merge_datafile *files;
  mw_merge_deletion del;
  bool has_row_ids;         /* row id sequence (stable row ids) */
  bool has_overlays;
  const uint8_t *raw;       /* the DataFragment bytes (into the file) */
  size_t raw_len;
} mw_merge_fragment;

typedef struct mw_merge_field {
  int32_t id, parent_id;
  char *path;               /* names from the top joined with '.' */
} mw_merge_field;

typedef struct mw_merge_manifest {
  uint8_t *file;            /* the whole manifest file */
  size_t file_len;
  uint64_t version;
  size_t n_fields;
  mw_merge_field *fields;
  size_t n_frags;
  mw_merge_fragment *frags;
  bool has_max_fragment_id;
  uint64_t max_fragment_id;
  uint64_t reader_flags, writer_flags;
} mw_merge_manifest;

/* Parses a manifest file (framing of table_manifest.h), taking `file`
 * (malloc'ed; freed on failure too). `name` labels errors. */
mw_status mw_merge_manifest_parse(mw_merge_manifest **out, uint8_t *file, size_t len, const char *name,
                                  mw_error *err);
/* Reads `<prefix>/_versions/<version, V2 name>.manifest` (prefix "" = the
 * store root) and parses it. */
mw_status mw_merge_manifest_read(mw_merge_manifest **out, mw_objstore *store, const char *prefix,
                                 uint64_t version, mw_error *err);
void mw_merge_manifest_free(mw_merge_manifest *m);

/* The field with this id, or NULL. */
const mw_merge_field *mw_merge_field_by_id(const mw_merge_manifest *m, int32_t id);

/* Key of a fragment's deletion file: "<prefix>/_deletions/<frag>-<read_version>-<id>.<arrow|bin>". */
int mw_merge_deletion_key(char *buf, size_t cap, const char *prefix, uint64_t frag_id,
                          const mw_merge_deletion *d);

/* A fragment's deletion vector (empty without a deletion file). The set
 * must hold num_deleted rows, each < physical_rows. */
mw_status mw_merge_read_deletions(mw_rowset *out, mw_objstore *store, const char *prefix,
                                  const mw_merge_fragment *f, mw_error *err);

/* ------------------------------------------------------------------ keys */

typedef struct mw_merge_keys {
  uint64_t n;               /* rows */
  mw_buf enc;               /* concatenated key encodings */
  uint64_t *off;            /* n + 1 offsets into enc */
  uint8_t *tomb;            /* n flags (NULL unless asked) */
} mw_merge_keys;

void mw_merge_keys_free(mw_merge_keys *k);

/* Reads the key columns (by name, key order) and, when with_tombstone, the
 * `_tombstone` column of the Lance data file `key` (every row). A file
 * whose row count differs from expect_rows (when != UINT64_MAX) is
 * MW_ERR_CORRUPT. */
mw_status mw_merge_read_keys(mw_merge_keys *out, mw_objstore *store, const char *key,
                             const char *const *pk_names, size_t n_pk, bool with_tombstone,
                             uint64_t expect_rows, mw_error *err);

/* Key encoding of row i. */
static inline const uint8_t *mw_merge_key_at(const mw_merge_keys *k, uint64_t i, size_t *len) {
  *len = (size_t)(k->off[i + 1] - k->off[i]);
  return k->enc.data + k->off[i];
}

#endif
