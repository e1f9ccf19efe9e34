/* lance_read.h - Lance v2 file reader (file format 2.0, 2.1, 2.2) returning
 * Arrow C Data arrays.
 *
 * The container (FORMATS.md part C): a 40-byte footer, the column metadata
 * offset table (CMO), the global buffer offset table (GBO), global buffer 0
 * = lance.file.FileDescriptor (schema as lance.file.Field list + row count),
 * one lance.file.v2.ColumnMetadata per column, each listing its pages.
 * Opening reads the footer, the metadata tables and the file descriptor
 * only; a read fetches just the pages of the projected columns that overlap
 * the requested rows (through ranged gets when the file is in an object
 * store). Page decoding lives in lance_decode.c (see lance_decode.h).
 *
 * Every byte of the file is untrusted: each offset and length is checked
 * against the file and its enclosing structure, and a failure is
 * MW_ERR_CORRUPT naming the file, the structure and the byte offset. A valid
 * page in an encoding this reader does not know is MW_ERR_UNSUPPORTED
 * "unsupported encoding X in column Y" (never wrong data).
 *
 * Thread-safety: a reader is not thread-safe; use one per thread. */
#ifndef MW_LANCE_LANCE_READ_H
#define MW_LANCE_LANCE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memwal.h"
#include "memwal_sys.h"

typedef struct mw_lance_reader mw_lance_reader;

/* Opens a file held in memory (data is borrowed and must outlive the
 * reader). name labels errors (may be NULL). */
mw_status mw_lance_reader_open_mem(mw_lance_reader **out, const uint8_t *data, size_t len,
                                   const char *name, mw_error *err);

/* Opens object `key` of `store` (borrowed for the reader's life): a head,
 * then ranged gets for the tail and, on reads, for the pages needed. */
mw_status mw_lance_reader_open_store(mw_lance_reader **out, mw_objstore *store, const char *key,
                                     mw_error *err);

/* The file's schema ("+s", one child per top-level field, Lance field
 * metadata as Arrow metadata, FileDescriptor schema metadata on the top).
 * Borrowed until mw_lance_reader_free. */
const struct ArrowSchema *mw_lance_reader_schema(const mw_lance_reader *r);

/* Rows in the file (FileDescriptor.length). */
uint64_t mw_lance_reader_num_rows(const mw_lance_reader *r);

/* Footer version: (0,3) = 2.0, (2,1) = 2.1, (2,2) = 2.2. */
void mw_lance_reader_version(const mw_lance_reader *r, uint16_t *major, uint16_t *minor);

/* Reads rows [start, end) (end clipped to the row count) of the top-level
 * columns named in `columns` (in that order; NULL = every column) into an
 * owned "+s" schema and batch (release both). MW_ERR_NOT_FOUND for an
 * unknown column name, MW_ERR_INVALID when start > end. */
mw_status mw_lance_reader_read(struct ArrowSchema *out_schema, struct ArrowArray *out_batch,
                               mw_lance_reader *r, const char *const *columns, size_t n_columns,
                               uint64_t start, uint64_t end, mw_error *err);

void mw_lance_reader_free(mw_lance_reader *r); /* NULL ok */

#endif
