/* row_filter.h - the row filter every in-memory index search accepts: a
 * callback deciding per row id (the MemTable's uint64 insertion row number)
 * whether a row may be returned, and a ready-made bitmap implementation.
 * A filter is called from the searching thread only. */
#ifndef MW_INDEX_ROW_FILTER_H
#define MW_INDEX_ROW_FILTER_H

#include <stdbool.h>
#include <stdint.h>

/* True keeps the row. */
typedef bool (*mw_row_filter_fn)(void *ctx, uint64_t row);

/* A bitmap over row ids (bit set = keep); rows at or past n_rows are
 * rejected. The caller owns the words. */
typedef struct mw_row_bitmap {
  const uint64_t *words;
  uint64_t n_rows;
} mw_row_bitmap;

/* mw_row_filter_fn over an mw_row_bitmap passed as ctx. */
bool mw_row_bitmap_filter(void *ctx, uint64_t row);

#endif
