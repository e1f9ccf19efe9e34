/* fuzz_ipc_read.c - libFuzzer target for mw_ipc_decode. A successful decode
 * must produce batches that pass mw_batch_validate; every byte each buffer
 * claims is then read (ASan flags any pointer outside its allocation), and
 * everything is released, columns first for odd batches (order must not
 * matter). Failures must be CORRUPT/UNSUPPORTED/NOMEM with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"

static uint64_t sum_bytes(const void *p, uint64_t n) {
  const uint8_t *b = p;
  uint64_t s = 0;
  for (uint64_t i = 0; i < n; i++) s += b[i];
  return s;
}

static uint64_t touch(const struct ArrowSchema *sc, const struct ArrowArray *a) {
  mw_type t;
  if (mw_type_from_format(&t, sc->format, NULL) != MW_OK) __builtin_trap();
  uint64_t s = 0, len = (uint64_t)(a->offset + a->length);
  if (a->n_buffers > 0 && a->buffers[0]) s += sum_bytes(a->buffers[0], (len + 7) / 8);
  switch (t.id) {
    case MW_T_UTF8: case MW_T_BINARY: case MW_T_LIST: case MW_T_MAP: {
      const int32_t *off = a->buffers[1];
      s += sum_bytes(off, (len + 1) * 4);
      if (t.id == MW_T_UTF8 || t.id == MW_T_BINARY) s += sum_bytes(a->buffers[2], (uint64_t)off[len]);
      break;
    }
    case MW_T_LARGE_UTF8: case MW_T_LARGE_BINARY: case MW_T_LARGE_LIST: {
      const int64_t *off = a->buffers[1];
      s += sum_bytes(off, (len + 1) * 8);
      if (t.id != MW_T_LARGE_LIST) s += sum_bytes(a->buffers[2], (uint64_t)off[len]);
      break;
    }
    default: {
      int bits = mw_type_fixed_bits(&t);
      if (bits > 0) s += sum_bytes(a->buffers[1], (len * (uint64_t)bits + 7) / 8);
      break;
    }
  }
  for (int64_t i = 0; i < a->n_children; i++) s += touch(sc->children[i], a->children[i]);
  return s;
}

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
