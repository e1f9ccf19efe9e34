/* row_filter.c - the bitmap row filter (see row_filter.h). */
#include "index/row_filter.h"

bool mw_row_bitmap_filter(void *ctx, uint64_t row) {
  const mw_row_bitmap *bm = ctx;
  return row < bm->n_rows && ((bm->words[row >> 6] >> (row & 63)) & 1u);
}
