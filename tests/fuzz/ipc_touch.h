/* ipc_touch.h - shared by the IPC fuzz targets: reads every byte each
 * buffer of a decoded array claims (ASan flags any pointer outside its
 * allocation, or into memory already freed) and returns their sum, so two
 * decodes of the same input can be compared. */
#ifndef MW_FUZZ_IPC_TOUCH_H
#define MW_FUZZ_IPC_TOUCH_H

#include <stdint.h>

#include "arrow/c_data.h"

static inline uint64_t sum_bytes(const void *p, uint64_t n) {
  const uint8_t *b = p;
  uint64_t s = 0;
  for (uint64_t i = 0; i < n; i++) s += b[i];
  return s;
}

static inline uint64_t touch(const struct ArrowSchema *sc, const struct ArrowArray *a) {
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

#endif
