/* ipc.h - internal additions to the public IPC codec of memwal.h. */
#ifndef MW_ARROW_IPC_H
#define MW_ARROW_IPC_H

#include <stddef.h>

#include "memwal.h"

/* As mw_ipc_decode, but takes ownership of `data` (malloc'ed; freed by the
 * library on success and on failure): uncompressed batches whose body is
 * 8-aligned in memory point straight into it instead of copying it, and
 * the buffer is freed when the last array referencing it is released.
 * Used for WAL entries read from storage (replay, tailers): one copy less. */
mw_status mw_ipc_decode_take(struct ArrowSchema *out_schema, struct ArrowArray **out_batches,
                             size_t *out_n_batches, void *data, size_t len, mw_error *err);
/* As mw_ipc_decode_take for a buffer that data_free frees (e.g.
 * mw_slab_free for one from a slab pool). */
mw_status mw_ipc_decode_take_with(struct ArrowSchema *out_schema, struct ArrowArray **out_batches,
                                  size_t *out_n_batches, void *data, size_t len, void (*data_free)(void *),
                                  mw_error *err);

#endif
