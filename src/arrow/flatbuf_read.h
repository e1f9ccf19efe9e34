/* flatbuf_read.h - a bounds-checked reader/verifier for untrusted
 * flatbuffers (Arrow IPC message metadata).
 *
 * Layout reminder (all little-endian): the buffer starts with a u32 offset to
 * the root table. A table starts with an i32 soffset; its vtable is at
 * table_pos - soffset: u16 vtable bytes, u16 table inline bytes, then one u16
 * per field slot = the field's offset from the table start (0 = absent).
 * Reference fields (tables, strings, vectors) hold a u32 offset relative to
 * the field's own position. Strings: u32 length, bytes, NUL. Vectors: u32
 * count then the elements (inline structs/scalars, or u32 offsets to tables).
 *
 * Verification is done lazily, on access: every accessor checks the bytes it
 * reads with 64-bit arithmetic, so a caller that only touches what it needs
 * never reads out of bounds. Table nesting depth and the total number of
 * tables opened are capped (shared sub-tables could otherwise turn a small
 * buffer into an exponential walk). Errors are MW_ERR_CORRUPT with
 * "at byte N", N = `base` + position in the buffer (base = where the buffer
 * sits in the caller's input). */
#ifndef MW_ARROW_FLATBUF_READ_H
#define MW_ARROW_FLATBUF_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memwal.h"

#define MW_FB_MAX_DEPTH 64
#define MW_FB_MAX_TABLES (1u << 20)

typedef struct mw_fb {
  const uint8_t *buf;
  size_t len;
  uint64_t base;   /* offset of buf in the whole input, for error messages */
  uint32_t tables; /* tables opened so far (capped at MW_FB_MAX_TABLES) */
} mw_fb;

typedef struct mw_fb_table {
  mw_fb *fb;
  size_t pos;          /* table start */
  size_t vt;           /* vtable start */
  uint16_t vt_len;     /* vtable bytes */
  uint16_t inline_len; /* table inline bytes */
  int depth;           /* 0 for the root */
} mw_fb_table;

typedef struct mw_fb_vec {
  mw_fb *fb;
  size_t pos;   /* first element */
  uint32_t n;   /* element count */
  size_t elem;  /* element size in bytes */
  int depth;    /* depth of the owning table */
} mw_fb_vec;

void mw_fb_init(mw_fb *fb, const void *buf, size_t len, uint64_t base);

/* The root table. */
mw_status mw_fb_root(mw_fb_table *out, mw_fb *fb, mw_error *err);

/* Scalar fields: *out = the value, or `def` when the field is absent. */
mw_status mw_fb_u8(const mw_fb_table *t, int slot, uint8_t def, uint8_t *out, mw_error *err);
mw_status mw_fb_bool(const mw_fb_table *t, int slot, bool def, bool *out, mw_error *err);
mw_status mw_fb_i16(const mw_fb_table *t, int slot, int16_t def, int16_t *out, mw_error *err);
mw_status mw_fb_i32(const mw_fb_table *t, int slot, int32_t def, int32_t *out, mw_error *err);
mw_status mw_fb_i64(const mw_fb_table *t, int slot, int64_t def, int64_t *out, mw_error *err);

/* Reference fields. *present is false (and *out untouched) when absent. */
mw_status mw_fb_table_field(const mw_fb_table *t, int slot, mw_fb_table *out, bool *present,
                            mw_error *err);
/* String: *s points into the buffer and is NUL-terminated there. */
mw_status mw_fb_string(const mw_fb_table *t, int slot, const char **s, uint32_t *len,
                       bool *present, mw_error *err);
/* Vector of `elem`-byte inline elements (structs, scalars) or, with elem 4,
 * of offsets to tables/strings (use mw_fb_vec_table / mw_fb_vec_string). */
mw_status mw_fb_vector(const mw_fb_table *t, int slot, size_t elem, mw_fb_vec *out, bool *present,
                       mw_error *err);

/* Element i (< v->n) of a vector: pointer to its inline bytes. */
static inline const uint8_t *mw_fb_vec_at(const mw_fb_vec *v, uint32_t i) {
  return v->fb->buf + v->pos + (size_t)i * v->elem;
}
mw_status mw_fb_vec_table(const mw_fb_vec *v, uint32_t i, mw_fb_table *out, mw_error *err);
mw_status mw_fb_vec_string(const mw_fb_vec *v, uint32_t i, const char **s, uint32_t *len,
                           mw_error *err);

/* Absolute input offset of a position in the buffer (for messages). */
static inline uint64_t mw_fb_where(const mw_fb *fb, size_t pos) { return fb->base + pos; }

#endif
