/* buf.c - growable byte buffer. */
#include "common/buf.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

void mw_buf_init(mw_buf *b) { memset(b, 0, sizeof *b); }

void mw_buf_free(mw_buf *b) {
  free(b->data);
  mw_buf_init(b);
}

bool mw_buf_reserve(mw_buf *b, size_t extra) {
  if (b->failed) return false;
  if (extra > SIZE_MAX - b->len) { b->failed = true; return false; }
  size_t need = b->len + extra;
  if (need <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) { cap = need; break; }
    cap *= 2;
  }
  if (cap >= ((size_t)2 << 20)) {
    /* From 2 MiB on: a huge-page block (mw_large_alloc) and a copy, not a
     * realloc, whose fresh 4 KiB pages each cost a fault when first
     * written (in this VM the faults cost more than the copy: the
     * generation and WAL entry buffers are written once, front to back). */
    size_t got = 0;
    uint8_t *p = mw_large_alloc(cap, &got);
    if (!p) { b->failed = true; return false; }
    if (b->len) memcpy(p, b->data, b->len);
    free(b->data);
    b->data = p;
    b->cap = got;
    return true;
  }
  uint8_t *p = realloc(b->data, cap);
  if (!p) { b->failed = true; return false; }
  b->data = p;
  b->cap = cap;
  return true;
}

void mw_buf_append(mw_buf *b, const void *data, size_t n) {
  if (n == 0 || !mw_buf_reserve(b, n)) return;
  memcpy(b->data + b->len, data, n);
  b->len += n;
}

void mw_buf_append_zeros(mw_buf *b, size_t n) {
  if (n == 0 || !mw_buf_reserve(b, n)) return;
  memset(b->data + b->len, 0, n);
  b->len += n;
}

void mw_buf_pad_to(mw_buf *b, size_t align) {
  size_t rem = b->len % align;
  if (rem) mw_buf_append_zeros(b, align - rem);
}

void mw_buf_u8(mw_buf *b, uint8_t v) { mw_buf_append(b, &v, 1); }
void mw_buf_u32le(mw_buf *b, uint32_t v) { uint8_t t[4]; mw_store_u32le(t, v); mw_buf_append(b, t, 4); }
void mw_buf_u64le(mw_buf *b, uint64_t v) { uint8_t t[8]; mw_store_u64le(t, v); mw_buf_append(b, t, 8); }

uint8_t *mw_buf_take(mw_buf *b, size_t *out_len) {
  uint8_t *p = b->data;
  if (out_len) *out_len = b->len;
  mw_buf_init(b);
  return p;
}

void *mw_large_alloc(size_t n, size_t *cap) {
  const size_t huge = (size_t)2 << 20;
  if (n < huge || n > SIZE_MAX - huge) {
    if (cap) *cap = n;
    return malloc(n ? n : 1);
  }
  size_t c = (n + huge - 1) & ~(huge - 1);
  void *p = NULL;
  if (posix_memalign(&p, huge, c) != 0) return NULL;
  (void)madvise(p, c, MADV_HUGEPAGE); /* a hint: failure only costs speed */
  if (cap) *cap = c;
  return p;
}
