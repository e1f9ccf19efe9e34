/* flatbuf_build.h - a small FORWARD flatbuffer builder for the Arrow IPC
 * encoder.
 *
 * Layout it produces (all little-endian, positions relative to the buffer
 * start, which the IPC framing keeps 8-aligned):
 *   [u32 root offset] then objects in the order the caller writes them.
 *   A table is written as: vtable (u16 vtable bytes, u16 table bytes, one u16
 *   field offset per slot, 0 = absent), zero padding, then the table: i32
 *   soffset (= table - vtable, positive: the vtable sits just before), then
 *   the fields sorted by size (8, 4, 2, 1; slot order within a size), padded
 *   to 4. A table with an 8-byte field starts at 4 mod 8 so those fields land
 *   8-aligned right after the soffset.
 *   Strings: u32 length, bytes, NUL, pad to 4. Vectors: u32 count, elements
 *   (count placed so the first element is aligned), pad to 4.
 * Reference fields (tables, strings, vectors) are written as 0 and patched
 * with mw_fbb_patch once the target is written; targets are always written
 * after the referrer, so every offset is forward as flatbuffers require.
 * The caller chooses the order of objects, which makes the output
 * deterministic (FORMATS.md's worked example is reproduced byte for byte).
 *
 * Allocation failures are sticky (see mw_buf): check mw_fbb_ok at the end. */
#ifndef MW_ARROW_FLATBUF_BUILD_H
#define MW_ARROW_FLATBUF_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct mw_fbb {
  mw_buf buf;
} mw_fbb;

/* One table field. size is 1, 2, 4 or 8 for scalars; references are 4 bytes
 * (ref = true) and patched later. */
typedef struct mw_fb_field {
  uint16_t slot;
  uint8_t size;
  bool ref;
  uint64_t value; /* scalar bits (ignored for references) */
} mw_fb_field;

#define MW_FB_SCALAR(slot_, size_, v) ((mw_fb_field){(uint16_t)(slot_), (uint8_t)(size_), false, (uint64_t)(v)})
#define MW_FB_REF(slot_) ((mw_fb_field){(uint16_t)(slot_), 4, true, 0})

/* Maximum fields per table (Arrow's largest table has 7). */
#define MW_FB_MAX_FIELDS 16

/* Starts a buffer: reserves the root offset. */
void mw_fbb_init(mw_fbb *b);
void mw_fbb_free(mw_fbb *b);
/* Empties the buffer (keeping its memory) and reserves a new root offset. */
void mw_fbb_reset(mw_fbb *b);
static inline bool mw_fbb_ok(const mw_fbb *b) { return mw_buf_ok(&b->buf); }

/* Writes vtable + table; returns the table position. field_pos (may be NULL)
 * receives the absolute position of each field, in the order given (the
 * positions of reference fields are what mw_fbb_patch needs). n <=
 * MW_FB_MAX_FIELDS, slots unique. */
uint32_t mw_fbb_table(mw_fbb *b, const mw_fb_field *fields, int n, uint32_t *field_pos);

/* Writes a string; returns its position. */
uint32_t mw_fbb_string(mw_fbb *b, const char *s, size_t len);

/* Writes a vector of count elements of elem_size bytes with the first element
 * aligned to max(4, align); the elements are zeroed for the caller to fill at
 * mw_fbb_at(b, pos + 4). Returns the vector position (its count field). */
uint32_t mw_fbb_vector(mw_fbb *b, uint32_t count, uint32_t elem_size, uint32_t align);

/* Stores at `at` the forward offset to `target` (target > at). */
void mw_fbb_patch(mw_fbb *b, uint32_t at, uint32_t target);

/* Pointer to position pos (valid until the next write). */
static inline uint8_t *mw_fbb_at(mw_fbb *b, uint32_t pos) { return b->buf.data + pos; }

/* Current end position. */
static inline uint32_t mw_fbb_len(const mw_fbb *b) { return (uint32_t)b->buf.len; }

/* Sets the root to the table at `root` and pads the buffer to a multiple of
 * 8. The bytes stay in b->buf. */
void mw_fbb_finish(mw_fbb *b, uint32_t root);

#endif
