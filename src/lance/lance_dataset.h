/* lance_dataset.h - writing a one-fragment Lance dataset (FORMATS.md part
 * D) and a flushed MemWAL generation folder (part F).
 *
 * Dataset layout under a key prefix:
 *   data/<32 hex>.lance                       the fragment's data file
 *   _versions/18446744073709551614.manifest   version 1 (V2 naming:
 *                                             u64::MAX - version, 20 digits)
 *   _versions/latest_version_hint.json        {"version":1}
 * Manifest file framing: u32 LE length + lance.table.Manifest protobuf at
 * position P (we write P = 0), then the 16-byte trailer i64 LE P, u16 0,
 * u16 2, "LANC"; the protobuf ends at file size - 16.
 *
 * A generation folder adds bloom_filter.bin and _pk_index/ (see bloom.h and
 * pk_index.h) and holds at most one row per primary key: the last written
 * copy of each key survives, at the position of that last copy among the
 * survivors (insertion order of survivors). Every object is written with
 * put_if_absent; the manifest is written last, so a crash leaves a folder
 * without a version that readers ignore.
 *
 * With opts->indexes, each index's files go under _indices/<uuid>/ and
 * the manifest gets an index section (gen_index.h): the file is then
 * [u32 len + IndexSection][u32 len + Manifest][trailer], Manifest field 6
 * = 0 (the section's position), as Lance 12 rewrites a generation's
 * manifest. The manifest is still written after every index file. */
#ifndef MW_LANCE_LANCE_DATASET_H
#define MW_LANCE_LANCE_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lance/gen_index.h"
#include "lance/lance_file.h"
#include "memwal.h"
#include "memwal_sys.h"

#define MW_LANCE_V1_MANIFEST "18446744073709551614.manifest"

typedef struct mw_lance_gen_options {
  mw_lance_version version;      /* data file version (default 2.1) */
  const char *const *pk_names;   /* key columns in order; NULL = from field metadata */
  size_t n_pk;
  bool dedup;                    /* last write wins per key (default true) */
  bool write_index;              /* bloom_filter.bin + _pk_index/ (default true; needs a key) */
  uint64_t max_page_bytes;       /* 0 = 8 MiB */
  const char *writer_library;    /* manifest writer_version.library (default "memwal") */
  const char *writer_version;    /* default mw_version() */
  int64_t timestamp_ns;          /* manifest timestamp; 0 = now */
  const mw_gen_index *indexes;   /* Lance indexes to build (gen_index.h); borrowed */
  size_t n_indexes;
} mw_lance_gen_options;

void mw_lance_gen_options_init(mw_lance_gen_options *o);

typedef struct mw_lance_gen_result {
  uint64_t input_rows;        /* rows handed in */
  uint64_t physical_rows;     /* rows written (after dedup) */
  uint64_t in_memory_bytes;   /* Arrow bytes of the input batches */
  uint64_t primary_key_bytes; /* key value bytes of the written rows */
  uint64_t data_file_size;
  char data_file[64];         /* name under data/ */
} mw_lance_gen_result;

/* Writes a dataset (and, with a primary key and write_index, the generation
 * extras) under `prefix` (e.g. "_mem_wal/<shard>/1a2b3c4d_gen_3"; "" = the
 * store root). batches:
 * n "+s" arrays of `schema` (offsets honoured; not consumed). */
mw_status mw_lance_write_generation(mw_objstore *store, const char *prefix,
                                    const struct ArrowSchema *schema,
                                    const struct ArrowArray *batches, size_t n,
                                    const mw_lance_gen_options *opts, mw_lance_gen_result *out,
                                    mw_error *err);

/* The manifest file bytes (framing above) for one fragment with one data
 * file. */
typedef struct mw_lance_manifest_info {
  const struct ArrowSchema *schema;
  const char *const *pk_names;
  size_t n_pk;
  const char *data_file;     /* path relative to data/ */
  uint64_t data_file_size;
  uint64_t physical_rows;
  mw_lance_version version;
  const char *writer_library;
  const char *writer_version;
  int64_t timestamp_ns;
  const uint8_t *index_section; /* encoded IndexSection message (NULL = none) */
  size_t index_section_len;
} mw_lance_manifest_info;

mw_status mw_lance_manifest_encode(uint8_t **out, size_t *out_len, const mw_lance_manifest_info *info,
                                   mw_error *err);

#endif
