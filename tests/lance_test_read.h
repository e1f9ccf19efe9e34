/* lance_test_read.h - test helper: reads page buffers back out of a Lance v2
 * file written by memwal (footer, column metadata offset table, pages) with
 * the bounds-checked protobuf reader. Header-only; used by the lance tests. */
#ifndef MW_LANCE_TEST_READ_H
#define MW_LANCE_TEST_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "lance/pb.h"

typedef struct lt_footer {
  uint64_t cms, cmo, gbo;
  uint32_t ngb, ncol;
  uint16_t major, minor;
} lt_footer;

static inline bool lt_footer_read(lt_footer *f, const uint8_t *d, size_t n) {
  if (n < 40 || memcmp(d + n - 4, "LANC", 4) != 0) return false;
  const uint8_t *p = d + n - 40;
  f->cms = mw_load_u64le(p);
  f->cmo = mw_load_u64le(p + 8);
  f->gbo = mw_load_u64le(p + 16);
  f->ngb = mw_load_u32le(p + 24);
  f->ncol = mw_load_u32le(p + 28);
  f->major = mw_load_u16le(p + 32);
  f->minor = mw_load_u16le(p + 34);
  return f->cmo + 16ull * f->ncol <= n && f->gbo + 16ull * f->ngb <= n - 40;
}

/* Column metadata bytes of column c. */
static inline bool lt_column(const uint8_t *d, size_t n, uint32_t c, const uint8_t **meta, size_t *mlen) {
  lt_footer f;
  if (!lt_footer_read(&f, d, n) || c >= f.ncol) return false;
  uint64_t pos = mw_load_u64le(d + f.cmo + 16 * c), len = mw_load_u64le(d + f.cmo + 16 * c + 8);
  if (pos > n || len > n - pos) return false;
  *meta = d + pos;
  *mlen = (size_t)len;
  return true;
}

/* Number of pages of column c (-1 on error). */
static inline int lt_pages(const uint8_t *d, size_t n, uint32_t c) {
  const uint8_t *m;
  size_t ml, pos = 0;
  if (!lt_column(d, n, c, &m, &ml)) return -1;
  int pages = 0;
  mw_pb_field fl;
  while (mw_pb_next(m, ml, &pos, &fl))
    if (fl.field == 2) pages++;
  return pages;
}

/* Page p of column c: its rows, and buffer b's bytes. */
static inline bool lt_page_buffer(const uint8_t *d, size_t n, uint32_t c, int p, int b, uint64_t *rows,
                                  const uint8_t **buf, uint64_t *blen) {
  const uint8_t *m;
  size_t ml, pos = 0;
  if (!lt_column(d, n, c, &m, &ml)) return false;
  mw_pb_field fl;
  int seen = 0;
  while (mw_pb_next(m, ml, &pos, &fl)) {
    if (fl.field != 2 || seen++ != p) continue;
    mw_pb_field offs, sizes, len;
    if (!mw_pb_find(fl.data, fl.len, 1, &offs) || !mw_pb_find(fl.data, fl.len, 2, &sizes)) return false;
    *rows = mw_pb_find(fl.data, fl.len, 3, &len) ? len.val : 0;
    size_t a = 0, s = 0;
    uint64_t o = 0, z = 0;
    for (int i = 0; i <= b; i++)
      if (!mw_pb_read_varint(offs.data, offs.len, &a, &o) || !mw_pb_read_varint(sizes.data, sizes.len, &s, &z))
        return false;
    if (o > n || z > n - o) return false;
    *buf = d + o;
    *blen = z;
    return true;
  }
  return false;
}

#endif
