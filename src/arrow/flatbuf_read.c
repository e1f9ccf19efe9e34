/* flatbuf_read.c - bounds-checked flatbuffer access (see flatbuf_read.h).
 * Every position is a size_t offset into fb->buf; sums are done in uint64_t
 * and compared against fb->len before any byte is read. */
#include "arrow/flatbuf_read.h"

#include <inttypes.h>

#include "common/buf.h"
#include "common/error.h"

#define CORRUPT(fb, pos, ...) corrupt_at((fb), (pos), err, __VA_ARGS__)

static mw_status corrupt_at(const mw_fb *fb, uint64_t pos, mw_error *err, const char *what) {
  return mw_err(err, MW_ERR_CORRUPT, "flatbuffer: %s at byte %" PRIu64, what, fb->base + pos);
}

void mw_fb_init(mw_fb *fb, const void *buf, size_t len, uint64_t base) {
  fb->buf = buf;
  fb->len = len;
  fb->base = base;
  fb->tables = 0;
}

static bool in_bounds(const mw_fb *fb, uint64_t pos, uint64_t n) {
  return pos <= fb->len && n <= fb->len - pos;
}

static mw_status table_at(mw_fb_table *out, mw_fb *fb, uint64_t pos, int depth, mw_error *err) {
  if (depth > MW_FB_MAX_DEPTH) return CORRUPT(fb, pos, "tables nested too deeply");
  if (++fb->tables > MW_FB_MAX_TABLES) return CORRUPT(fb, pos, "too many tables");
  if (!in_bounds(fb, pos, 4)) return CORRUPT(fb, pos, "table out of bounds");
  int32_t soff = (int32_t)mw_load_u32le(fb->buf + pos);
  int64_t vt = (int64_t)pos - (int64_t)soff;
  if (vt < 0 || !in_bounds(fb, (uint64_t)vt, 4)) return CORRUPT(fb, pos, "vtable out of bounds");
  if (vt & 1) return CORRUPT(fb, pos, "misaligned vtable");
  uint16_t vt_len = mw_load_u16le(fb->buf + vt);
  uint16_t inline_len = mw_load_u16le(fb->buf + vt + 2);
  if (vt_len < 4 || (vt_len & 1) || !in_bounds(fb, (uint64_t)vt, vt_len))
    return CORRUPT(fb, (uint64_t)vt, "bad vtable size");
  if (inline_len < 4 || !in_bounds(fb, pos, inline_len))
    return CORRUPT(fb, pos, "bad table size");
  out->fb = fb;
  out->pos = (size_t)pos;
  out->vt = (size_t)vt;
  out->vt_len = vt_len;
  out->inline_len = inline_len;
  out->depth = depth;
  return MW_OK;
}

mw_status mw_fb_root(mw_fb_table *out, mw_fb *fb, mw_error *err) {
  if (!in_bounds(fb, 0, 4)) return CORRUPT(fb, 0, "buffer too small for a root offset");
  uint32_t root = mw_load_u32le(fb->buf);
  return table_at(out, fb, root, 0, err);
}

/* Position of a field of `size` inline bytes, or 0 when absent. */
static mw_status field_pos(const mw_fb_table *t, int slot, size_t size, size_t *out, mw_error *err) {
  *out = 0;
  uint64_t e = 4 + 2 * (uint64_t)slot;
  if (slot < 0 || e + 2 > t->vt_len) return MW_OK;
  uint16_t off = mw_load_u16le(t->fb->buf + t->vt + e);
  if (off == 0) return MW_OK;
  if (off < 4 || (uint64_t)off + size > t->inline_len)
    return corrupt_at(t->fb, t->vt + e, err, "field outside its table");
  *out = t->pos + off;
  return MW_OK;
}

mw_status mw_fb_u8(const mw_fb_table *t, int slot, uint8_t def, uint8_t *out, mw_error *err) {
  size_t p;
  MW_TRY(field_pos(t, slot, 1, &p, err));
  *out = p ? t->fb->buf[p] : def;
  return MW_OK;
}

mw_status mw_fb_bool(const mw_fb_table *t, int slot, bool def, bool *out, mw_error *err) {
  uint8_t v;
  MW_TRY(mw_fb_u8(t, slot, def ? 1 : 0, &v, err));
  *out = v != 0;
  return MW_OK;
}

mw_status mw_fb_i16(const mw_fb_table *t, int slot, int16_t def, int16_t *out, mw_error *err) {
  size_t p;
  MW_TRY(field_pos(t, slot, 2, &p, err));
  *out = p ? (int16_t)mw_load_u16le(t->fb->buf + p) : def;
  return MW_OK;
}

mw_status mw_fb_i32(const mw_fb_table *t, int slot, int32_t def, int32_t *out, mw_error *err) {
  size_t p;
  MW_TRY(field_pos(t, slot, 4, &p, err));
  *out = p ? (int32_t)mw_load_u32le(t->fb->buf + p) : def;
  return MW_OK;
}

mw_status mw_fb_i64(const mw_fb_table *t, int slot, int64_t def, int64_t *out, mw_error *err) {
  size_t p;
  MW_TRY(field_pos(t, slot, 8, &p, err));
  *out = p ? (int64_t)mw_load_u64le(t->fb->buf + p) : def;
  return MW_OK;
}

/* Follows the u32 forward offset stored at p; checks 4 bytes at the target. */
static mw_status deref(mw_fb *fb, size_t p, uint64_t *target, mw_error *err) {
  uint64_t tgt = (uint64_t)p + mw_load_u32le(fb->buf + p);
  if (!in_bounds(fb, tgt, 4)) return corrupt_at(fb, p, err, "offset out of bounds");
  *target = tgt;
  return MW_OK;
}

mw_status mw_fb_table_field(const mw_fb_table *t, int slot, mw_fb_table *out, bool *present,
                            mw_error *err) {
  size_t p;
  uint64_t tgt = 0; /* set by follow(); the zero silences -O3 */
  *present = false;
  MW_TRY(field_pos(t, slot, 4, &p, err));
  if (!p) return MW_OK;
  MW_TRY(deref(t->fb, p, &tgt, err));
  MW_TRY(table_at(out, t->fb, tgt, t->depth + 1, err));
  *present = true;
  return MW_OK;
}

static mw_status string_at(mw_fb *fb, uint64_t tgt, const char **s, uint32_t *len, mw_error *err) {
  uint32_t n = mw_load_u32le(fb->buf + tgt);
  if (!in_bounds(fb, tgt + 4, (uint64_t)n + 1)) return corrupt_at(fb, tgt, err, "string out of bounds");
  if (fb->buf[tgt + 4 + n] != 0) return corrupt_at(fb, tgt, err, "string not NUL-terminated");
  *s = (const char *)fb->buf + tgt + 4;
  *len = n;
  return MW_OK;
}

mw_status mw_fb_string(const mw_fb_table *t, int slot, const char **s, uint32_t *len,
                       bool *present, mw_error *err) {
  size_t p;
  uint64_t tgt = 0; /* set by follow(); the zero silences -O3 */
  *present = false;
  MW_TRY(field_pos(t, slot, 4, &p, err));
  if (!p) return MW_OK;
  MW_TRY(deref(t->fb, p, &tgt, err));
  MW_TRY(string_at(t->fb, tgt, s, len, err));
  *present = true;
  return MW_OK;
}

mw_status mw_fb_vector(const mw_fb_table *t, int slot, size_t elem, mw_fb_vec *out, bool *present,
                       mw_error *err) {
  size_t p;
  uint64_t tgt = 0; /* set by follow(); the zero silences -O3 */
  *present = false;
  MW_TRY(field_pos(t, slot, 4, &p, err));
  if (!p) return MW_OK;
  MW_TRY(deref(t->fb, p, &tgt, err));
  uint32_t n = mw_load_u32le(t->fb->buf + tgt);
  if (!in_bounds(t->fb, tgt + 4, (uint64_t)n * elem))
    return corrupt_at(t->fb, tgt, err, "vector out of bounds");
  out->fb = t->fb;
  out->pos = (size_t)(tgt + 4);
  out->n = n;
  out->elem = elem;
  out->depth = t->depth;
  *present = true;
  return MW_OK;
}

mw_status mw_fb_vec_table(const mw_fb_vec *v, uint32_t i, mw_fb_table *out, mw_error *err) {
  size_t p = v->pos + (size_t)i * 4;
  uint64_t tgt = 0; /* set by follow(); the zero silences -O3 */
  if (v->elem != 4 || i >= v->n) return corrupt_at(v->fb, p, err, "bad vector element");
  MW_TRY(deref(v->fb, p, &tgt, err));
  return table_at(out, v->fb, tgt, v->depth + 1, err);
}

mw_status mw_fb_vec_string(const mw_fb_vec *v, uint32_t i, const char **s, uint32_t *len,
                           mw_error *err) {
  size_t p = v->pos + (size_t)i * 4;
  uint64_t tgt = 0; /* set by follow(); the zero silences -O3 */
  if (v->elem != 4 || i >= v->n) return corrupt_at(v->fb, p, err, "bad vector element");
  MW_TRY(deref(v->fb, p, &tgt, err));
  return string_at(v->fb, tgt, s, len, err);
}
