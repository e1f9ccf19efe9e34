/* fuzz_ipc_read.c - libFuzzer target for mw_ipc_decode. A successful decode
 * must produce batches that pass mw_batch_validate; every byte each buffer
 * claims is then read (ASan flags any pointer outside its allocation), and
 * everything is released, columns first for odd batches (order must not
 * matter). Failures must be CORRUPT/UNSUPPORTED/NOMEM with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "ipc_touch.h"

volatile uint64_t mw_fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct ArrowSchema schema;
  struct ArrowArray *batches = NULL;
  size_t n = 0;
  mw_error err = {0};
  mw_status st = mw_ipc_decode(&schema, &batches, &n, data, size, &err);
  if (st != MW_OK) {
    if (st != MW_ERR_CORRUPT && st != MW_ERR_UNSUPPORTED && st != MW_ERR_NOMEM) __builtin_trap();
    if (err.message[0] == 0) __builtin_trap();
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (mw_batch_validate(&schema, &batches[i], &err) != MW_OK) __builtin_trap();
    mw_fuzz_sink += touch(&schema, &batches[i]);
    if ((i & 1) && batches[i].n_children > 0) {
      /* move the first column out and release it after its parent */
      struct ArrowArray col = *batches[i].children[0];
      batches[i].children[0]->release = NULL;
      mw_array_release(&batches[i]);
      mw_array_release(&col);
    } else {
      mw_array_release(&batches[i]);
    }
  }
  mw_free(batches);
  mw_schema_release(&schema);
  return 0;
}
