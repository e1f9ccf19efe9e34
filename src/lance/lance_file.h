/* lance_file.h - Lance v2 file writer (FORMATS.md part C) and Lance schema
 * fields (lance.file.Field) from Arrow schemas.
 *
 * File layout written:
 *   data pages     every page buffer starts at a multiple of 64
 *   global buf 0   lance.file.FileDescriptor {1 schema, 2 length}
 *   column meta    one lance.file.v2.ColumnMetadata per column
 *   CMO table      (u64 position, u64 size) per column
 *   GBO table      (u64 position, u64 size) per global buffer
 *   footer (40 B)  u64 column_meta_start, u64 cmo_table_start,
 *                  u64 gbo_table_start, u32 num_global_buffers,
 *                  u32 num_columns, u16 major, u16 minor, "LANC"
 *
 * One column per leaf field: a top-level field of a flat type (a
 * fixed_size_list of numbers is one field and one column), each leaf of a
 * struct (2.1; struct validity goes into the leaves' definition levels), the
 * item of a top-level list / large_list (2.1; repetition + definition
 * levels). Rows are gathered
 * into per-column page accumulators and a page is cut when a column holds
 * max_page_bytes (default 8 MiB) or max_page_rows rows, so the accumulators
 * stay bounded; the file itself is built in memory because the object store
 * takes whole objects.
 *
 * Page encodings: 2.0 uses lance.encodings.ArrayEncoding trees (nullable /
 * flat / binary / fixed_size_list); 2.1 uses lance.encodings21.PageLayout
 * mini-block layouts (see lance_file.c). */
#ifndef MW_LANCE_LANCE_FILE_H
#define MW_LANCE_LANCE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "memwal.h"

typedef enum mw_lance_version {
  MW_LANCE_V2_0 = 0, /* footer (0,3), data_format "2.0" */
  MW_LANCE_V2_1 = 1  /* footer (2,1), data_format "2.1" */
} mw_lance_version;

#define MW_LANCE_PK_POSITION_KEY "lance-schema:unenforced-primary-key:position"
#define MW_LANCE_DEFAULT_PAGE_BYTES (8u << 20)

/* Checks that every column of a "+s" schema can be written to a Lance file
 * of the default version (2.1): MW_ERR_UNSUPPORTED naming the column
 * otherwise (map, null, fixed_size_list of non-numbers, lists inside
 * structs or lists, ...). */
mw_status mw_lance_check_schema(const struct ArrowSchema *schema, mw_error *err);

/* The same for a given version: 2.0 also refuses struct and list columns
 * (Lance 2.0 files cannot store struct validity). */
mw_status mw_lance_check_schema_version(const struct ArrowSchema *schema, mw_lance_version version,
                                        mw_error *err);

/* Checks the rows of a batch (already validated against `schema`) for
 * values a Lance file written here cannot hold whatever the version: a
 * null item inside a valid fixed_size_list row. MW_ERR_UNSUPPORTED naming
 * the column and the row. Values too large for a 2.1 mini-block are not
 * refused here: such a generation is written as 2.0 when the schema allows
 * it. Cheap: only fixed_size_list columns with item nulls are looked at. */
mw_status mw_lance_check_batch(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                               mw_error *err);

/* Field ids (depth-first, as mw_lance_write_fields numbers them) of the
 * leaf fields, which are the file's columns in order: what DataFile.fields
 * lists. Returns the number of leaves (ids holds the first `cap`). */
size_t mw_lance_leaf_field_ids(const struct ArrowSchema *schema, int32_t *ids, size_t cap);

/* Field ids of the file's columns in order for a version: the leaves, and
 * in 2.0 a list's own id before its item's (a 2.0 list is two columns).
 * What DataFile.fields lists. Returns the count (ids holds the first cap). */
size_t mw_lance_column_field_ids(const struct ArrowSchema *schema, mw_lance_version version, int32_t *ids,
                                 size_t cap);

/* Lance logical type string of a column ("int64", "timestamp:us:UTC",
 * "fixed_size_list:float:128", ...). MW_ERR_UNSUPPORTED otherwise. */
mw_status mw_lance_logical_type(char *buf, size_t cap, const struct ArrowSchema *field,
                                mw_error *err);

/* Appends the repeated lance.file.Field entries of a "+s" schema as field
 * number `field_no` of the enclosing message (Schema.fields = 1 and
 * Manifest.fields = 1). Ids depth-first from 0 (a struct / list before its
 * children), parent -1 at the top level; field metadata copied;
 * primary key columns flagged (12) with their position (13), taken from
 * pk_names when given, else from the position metadata key. */
mw_status mw_lance_write_fields(mw_buf *out, uint32_t field_no, const struct ArrowSchema *schema,
                                const char *const *pk_names, size_t n_pk, mw_error *err);

typedef struct mw_lance_file_options {
  mw_lance_version version;
  uint64_t max_page_bytes;   /* 0 = MW_LANCE_DEFAULT_PAGE_BYTES */
  uint64_t max_page_rows;    /* 0 = unlimited */
  const char *schema_metadata; /* Arrow metadata blob for FileDescriptor.schema.metadata (may be NULL) */
  /* Extra global buffers (borrowed until finish): entries 1..n of the
   * global buffer table (entry 0 is the file descriptor), written after the
   * data pages, each 64-byte aligned. Schema metadata refers to them by
   * index (e.g. Lance's vector indexes: lance:ivf = "1"). */
  const uint8_t *const *global_buffers;
  const size_t *global_buffer_lens;
  size_t n_global_buffers;
  const char *const *pk_names; /* primary key columns in order (NULL: from metadata) */
  size_t n_pk;
  /* Expected file size in bytes (0 = unknown): the file buffer is reserved
   * once at that size, so a large file is not grown by copies (each growth
   * from 2 MiB on copies into a new huge-page block, common/buf.c: old and
   * new resident together). An underestimate only costs a growth. */
  uint64_t size_hint;
  /* 2.0 only: the pages of fixed-width and fixed_size_list columns
   * (not lists' offsets) are taken by reference while each page's values
   * are one contiguous range of the written arrays' buffers (a whole column
   * written in one call), instead of being copied into the file; those
   * buffers must then stay alive and unchanged until the file is stored
   * from mw_lance_file_writer_finish_pieces. Same bytes either way. */
  bool borrow_pages;
} mw_lance_file_options;

void mw_lance_file_options_init(mw_lance_file_options *o);

typedef struct mw_lance_file_writer mw_lance_file_writer;

/* schema: "+s" (borrowed for the writer's life). */
mw_status mw_lance_file_writer_open(mw_lance_file_writer **out, const struct ArrowSchema *schema,
                                    const mw_lance_file_options *opts, mw_error *err);

/* Appends rows of a "+s" batch (offset honoured). rows: logical row numbers
 * to take, ascending (NULL = every row, n ignored). */
mw_status mw_lance_file_writer_write(mw_lance_file_writer *w, const struct ArrowArray *batch,
                                     const int64_t *rows, int64_t n, mw_error *err);

/* Rows written so far. */
uint64_t mw_lance_file_writer_rows(const mw_lance_file_writer *w);

/* Finishes the file: *out (malloc'ed, free()) and its size. The writer can
 * only be freed afterwards. */
mw_status mw_lance_file_writer_finish(mw_lance_file_writer *w, uint8_t **out, size_t *out_len,
                                      mw_error *err);

/* A finished file as pieces: iov[0..n_iov) in order are its len bytes,
 * pointing into `own` (the writer's bytes: headers, copied pages,
 * metadata) and into the borrowed pages (opts.borrow_pages). */
typedef struct mw_lance_file_pieces {
  uint8_t *own;
  mw_iov *iov;
  size_t n_iov;
  uint64_t len;
} mw_lance_file_pieces;

/* Finishes the file as pieces (mw_objstore_put_if_absent_v writes them
 * without joining them). Free with mw_lance_file_pieces_free; the writer
 * can only be freed afterwards. */
mw_status mw_lance_file_writer_finish_pieces(mw_lance_file_writer *w, mw_lance_file_pieces *out,
                                             mw_error *err);
void mw_lance_file_pieces_free(mw_lance_file_pieces *p);

void mw_lance_file_writer_free(mw_lance_file_writer *w);

#endif
