/* buf.h - growable byte buffer used by encoders. Growth doubles; on
 * allocation failure the buffer is marked failed and later appends are no-ops,
 * so callers check once (mw_buf_ok) at the end. */
#ifndef MW_COMMON_BUF_H
#define MW_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mw_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  bool failed; /* an allocation failed: contents are incomplete */
} mw_buf;

/* A borrowed byte range: one of the pieces an object is written from, in
 * order (mw_objstore_put_if_absent_v, mw_lance_file_writer_finish_pieces). */
typedef struct mw_iov {
  const void *data;
  size_t len;
} mw_iov;

void mw_buf_init(mw_buf *b);
void mw_buf_free(mw_buf *b);
bool mw_buf_reserve(mw_buf *b, size_t extra); /* room for len + extra */
void mw_buf_append(mw_buf *b, const void *data, size_t n);
void mw_buf_append_zeros(mw_buf *b, size_t n);
void mw_buf_pad_to(mw_buf *b, size_t align); /* zero-pad len to a multiple */
void mw_buf_u8(mw_buf *b, uint8_t v);
void mw_buf_u32le(mw_buf *b, uint32_t v);
void mw_buf_u64le(mw_buf *b, uint64_t v);

/* A block of at least n bytes for large reads, freed with free(). From 2 MiB
 * on its capacity (*cap) is n rounded up to 2 MiB, it is 2 MiB-aligned and
 * marked for transparent huge pages: first-touch page faults of 4 KiB pages
 * cost more than the copy itself when a big file is read into fresh memory
 * (measured for ipc-cat's input and the merger's generation reads). NULL
 * when out of memory. */
void *mw_large_alloc(size_t n, size_t *cap);
static inline bool mw_buf_ok(const mw_buf *b) { return !b->failed; }
/* Hands the bytes to the caller (malloc'ed, free with free()); resets b. */
uint8_t *mw_buf_take(mw_buf *b, size_t *out_len);

/* Little-endian loads/stores on possibly unaligned memory. */
static inline uint16_t mw_load_u16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t mw_load_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t mw_load_u64le(const uint8_t *p) {
  return (uint64_t)mw_load_u32le(p) | ((uint64_t)mw_load_u32le(p + 4) << 32);
}
static inline void mw_store_u16le(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void mw_store_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void mw_store_u64le(uint8_t *p, uint64_t v) {
  mw_store_u32le(p, (uint32_t)v); mw_store_u32le(p + 4, (uint32_t)(v >> 32));
}

#endif
