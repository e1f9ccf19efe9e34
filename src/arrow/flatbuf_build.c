/* flatbuf_build.c - the forward flatbuffer builder (layout: see the header). */
#include "arrow/flatbuf_build.h"

#include <string.h>

static void pad_to(mw_buf *b, size_t align, size_t rem) {
  /* zero-pad until len % align == rem */
  size_t need = (rem + align - b->len % align) % align;
  mw_buf_append_zeros(b, need);
}

void mw_fbb_init(mw_fbb *b) {
  mw_buf_init(&b->buf);
  mw_buf_u32le(&b->buf, 0); /* root offset, patched by finish */
}

void mw_fbb_free(mw_fbb *b) { mw_buf_free(&b->buf); }

void mw_fbb_reset(mw_fbb *b) {
  b->buf.len = 0;
  b->buf.failed = false;
  mw_buf_u32le(&b->buf, 0);
}

uint32_t mw_fbb_table(mw_fbb *b, const mw_fb_field *fields, int n, uint32_t *field_pos) {
  mw_buf *buf = &b->buf;
  if (n < 0 || n > MW_FB_MAX_FIELDS) { buf->failed = true; return 0; }
  /* Order: size descending, slot ascending (a stable insertion sort on
   * indices; n is tiny). */
  int order[MW_FB_MAX_FIELDS];
  int nslots = 0;
  bool has8 = false;
  for (int i = 0; i < n; i++) {
    int j = i;
    while (j > 0) {
      const mw_fb_field *p = &fields[order[j - 1]];
      if (p->size > fields[i].size || (p->size == fields[i].size && p->slot < fields[i].slot)) break;
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
    if (fields[i].slot + 1 > nslots) nslots = fields[i].slot + 1;
    if (fields[i].size == 8) has8 = true;
  }
  /* vtable right after the previous object (everything ends 4-aligned) */
  pad_to(buf, 4, 0);
  size_t vt_pos = buf->len;
  size_t vt_size = 4 + 2 * (size_t)nslots;
  size_t table_pos = vt_pos + vt_size;
  table_pos = (table_pos + 3) & ~(size_t)3;
  if (has8 && table_pos % 8 != 4) table_pos += 4;
  /* field positions, absolute alignment */
  size_t rel[MW_FB_MAX_FIELDS];
  size_t off = 4;
  for (int k = 0; k < n; k++) {
    const mw_fb_field *f = &fields[order[k]];
    size_t sz = f->size;
    while ((table_pos + off) % sz) off++;
    rel[order[k]] = off;
    off += sz;
  }
  size_t tsize = (off + 3) & ~(size_t)3;
  if (!mw_buf_reserve(buf, (table_pos - vt_pos) + tsize)) return 0;
  uint8_t *base = buf->data;
  memset(base + vt_pos, 0, (table_pos - vt_pos) + tsize);
  mw_store_u16le(base + vt_pos, (uint16_t)vt_size);
  mw_store_u16le(base + vt_pos + 2, (uint16_t)tsize);
  for (int i = 0; i < n; i++) {
    mw_store_u16le(base + vt_pos + 4 + 2 * (size_t)fields[i].slot, (uint16_t)rel[i]);
    uint8_t *p = base + table_pos + rel[i];
    if (!fields[i].ref) {
      switch (fields[i].size) {
        case 1: p[0] = (uint8_t)fields[i].value; break;
        case 2: mw_store_u16le(p, (uint16_t)fields[i].value); break;
        case 4: mw_store_u32le(p, (uint32_t)fields[i].value); break;
        case 8: mw_store_u64le(p, fields[i].value); break;
        default: buf->failed = true; break;
      }
    }
    if (field_pos) field_pos[i] = (uint32_t)(table_pos + rel[i]);
  }
  mw_store_u32le(base + table_pos, (uint32_t)(table_pos - vt_pos)); /* soffset */
  buf->len = table_pos + tsize;
  return (uint32_t)table_pos;
}

uint32_t mw_fbb_string(mw_fbb *b, const char *s, size_t len) {
  mw_buf *buf = &b->buf;
  pad_to(buf, 4, 0);
  uint32_t pos = (uint32_t)buf->len;
  mw_buf_u32le(buf, (uint32_t)len);
  mw_buf_append(buf, s, len);
  mw_buf_u8(buf, 0);
  pad_to(buf, 4, 0);
  return pos;
}

uint32_t mw_fbb_vector(mw_fbb *b, uint32_t count, uint32_t elem_size, uint32_t align) {
  mw_buf *buf = &b->buf;
  if (align < 4) align = 4;
  pad_to(buf, align, align - 4); /* count sits 4 bytes before an aligned element */
  uint32_t pos = (uint32_t)buf->len;
  mw_buf_u32le(buf, count);
  mw_buf_append_zeros(buf, (size_t)count * elem_size);
  pad_to(buf, 4, 0);
  return pos;
}

void mw_fbb_patch(mw_fbb *b, uint32_t at, uint32_t target) {
  if (!mw_buf_ok(&b->buf) || (size_t)at + 4 > b->buf.len || target <= at) {
    b->buf.failed = true;
    return;
  }
  mw_store_u32le(b->buf.data + at, target - at);
}

void mw_fbb_finish(mw_fbb *b, uint32_t root) {
  mw_fbb_patch(b, 0, root);
  pad_to(&b->buf, 8, 0);
}
