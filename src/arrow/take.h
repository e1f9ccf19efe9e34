/* take.h - gathering rows of an Arrow C Data array into a new, self-owned
 * array (see take.c). */
#ifndef MW_ARROW_TAKE_H
#define MW_ARROW_TAKE_H

#include <stdint.h>

#include "arrow/c_data.h"
#include "memwal.h"

/* *out = the rows rows[0..n) (logical row numbers of src, any order,
 * repeats allowed) of src, which must be a valid array of `schema`. The
 * result owns all its buffers (src may be released right after); release it
 * with out->release. MW_ERR_UNSUPPORTED for dictionary columns (and types
 * mw_type_from_format does not know), MW_ERR_INVALID for a row out of
 * range, MW_ERR_NOMEM. On failure *out is zeroed. */
mw_status mw_array_take(struct ArrowArray *out, const struct ArrowSchema *schema, const struct ArrowArray *src,
                        const int64_t *rows, int64_t n, mw_error *err);

#endif
