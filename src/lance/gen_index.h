/* gen_index.h - the Lance indexes of a flushed generation (LSM.md sections 5,
 * 6 and 10; docs/generation_indexes.md): for each index the writer keeps,
 * the files under `_indices/<uuid>/` and the IndexMetadata entry of the
 * generation manifest's index section, exactly as Lance 12 registers them.
 *
 * IndexMetadata (lance.table, table.proto): 1 uuid {1: 16 bytes}, 2 fields
 * (packed int32: [the column's field id]), 3 name (the base index's name),
 * 4 dataset_version = 1, 5 fragment_bitmap = the portable roaring bitmap
 * {0}, 6 index_details (google.protobuf.Any), 7 index_version (written even
 * when 0), 8 created_at (ms), 10 files {1 path, 2 size_bytes}. Per kind:
 *   - BTree: page_data.lance + page_lookup.lance (pk_index.h,
 *     batch_size 4096), details `/lance.table.BTreeIndexDetails` (Any
 *     without a value), index_version 0, created_at and files set.
 *   - FTS (Inverted, format 2): metadata.lance + part_<id>_{tokens,docs,
 *     invert}.lance, built from the MemTable's mw_fts with its row ids
 *     remapped to generation offsets (documents whose row was dropped by
 *     dedup leave; doc ids follow the offsets); "arrow" token set; block-max
 *     postings (128-doc blocks: 4-lane bit-packed full blocks, varint tail)
 *     and impacts; f32 scores computed as Lance computes them. Details
 *     `/lance.table.InvertedIndexDetails` with Lance's default tokenizer
 *     values, index_version 2, no created_at, no files.
 *   - Vector (IVF_HNSW_SQ, one partition): auxiliary.idx (row offsets, SQ8
 *     codes over the generation's global bounds) and index.idx (the
 *     MemTable's HNSW graph, read in place through mw_hnsw_export_nodes
 *     and mw_hnsw_graph_links, renumbered to generation
 *     positions: dropped nodes removed, neighbour lists filtered and sorted
 *     by distance), each with the IVF protobuf as global buffer 1. Details
 *     `/lance.index.pb.VectorIndexDetails` (no value), index_version 1,
 *     created_at set, no files. A generation without vectors (tombstones
 *     only) gets no vector index, as Lance.
 * All index files are Lance file 2.0 (lists as two columns, lance_file.h).
 * docs/generation_indexes.md records how each layout was checked.
 * The caller writes the manifest (with the section) only after every index
 * file exists (Lance bug #9035: never publish a generation whose files are
 * missing). */
#ifndef MW_LANCE_GEN_INDEX_H
#define MW_LANCE_GEN_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "lance/pk_index.h"
#include "memwal.h"
#include "memwal_sys.h"

struct mw_fts;
struct mw_hnsw;

/* One index to build for a generation. */
typedef struct mw_gen_index {
  const char *name;   /* the base table's index name (manifest entry name) */
  const char *column; /* top-level column */
  mw_index_kind kind;
  struct mw_fts *fts;         /* MW_INDEX_FTS: the MemTable's index (row ids = MemTable rows) */
  const struct mw_hnsw *hnsw; /* MW_INDEX_HNSW: likewise */
} mw_gen_index;

/* The generation's rows, as mw_lance_write_generation lays them out. */
typedef struct mw_gen_rows {
  const struct ArrowSchema *schema;  /* the generation's schema ("+s") */
  const struct ArrowArray *batches;  /* the input batches */
  const mw_pk_row *rows;             /* rows[i] = generation row offset i */
  uint64_t n_rows;
  const int64_t *offset_of;          /* input row (batches concatenated) -> offset, -1 = dropped */
  uint64_t n_input;
} mw_gen_rows;

/* Whether a generation index of `kind` can be built on column `field`:
 * BTree on the types of mw_btree_index_build, FTS on utf8 / large_utf8,
 * HNSW on fixed_size_list<float32>. */
bool mw_gen_index_column_ok(mw_index_kind kind, const struct ArrowSchema *field);

/* Field id (depth-first, as mw_lance_write_fields numbers them) of
 * top-level column `col`. */
int32_t mw_lance_top_field_id(const struct ArrowSchema *schema, int64_t col);

/* Appends the portable roaring bitmap {0} (Lance's fragment bitmap of a
 * one-fragment dataset: 18 bytes). */
void mw_roaring_single_zero(mw_buf *out);

/* Builds index `ix` over the generation rows, writes its files under
 * `{prefix}/_indices/<new uuid>/` (put-if-absent) and appends its
 * IndexMetadata as field 1 of the IndexSection being built in `section`.
 * created_ms: the created_at value. MW_ERR_INVALID for an unknown column,
 * MW_ERR_UNSUPPORTED for a column type or index kind not built here. */
mw_status mw_gen_index_write(mw_buf *section, mw_objstore *store, const char *prefix, const mw_gen_index *ix,
                             const mw_gen_rows *g, uint64_t created_ms, mw_error *err);

#endif
