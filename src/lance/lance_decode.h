/* lance_decode.h - decoding one Lance page (file format 2.0 ArrayEncoding
 * trees; 2.1/2.2 PageLayouts) into plain values plus repetition and
 * definition levels. Internal to the Lance reader (lance_read.c), which turns
 * pages into Arrow arrays; see lance_decode.c for the encodings handled. */
#ifndef MW_LANCE_LANCE_DECODE_H
#define MW_LANCE_LANCE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "memwal.h"

/* What a leaf column's values look like once decoded. */
typedef enum mw_lv_kind {
  MW_LV_FIXED, /* width bytes per value (fixed_size_list: dim items) */
  MW_LV_BOOL,  /* one bit per value, LSB first */
  MW_LV_VAR    /* u64 offsets (n + 1, from 0) + bytes */
} mw_lv_kind;

typedef struct mw_lv {
  mw_lv_kind kind;
  uint32_t width; /* MW_LV_FIXED: bytes per value */
  uint32_t dim;   /* fixed_size_list dimension (0: not a list); width = dim * item bytes */
  uint64_t n;     /* values held */
  mw_buf data;    /* fixed values / bits / var bytes */
  mw_buf offs;    /* MW_LV_VAR: n + 1 u64 offsets */
  mw_buf valid;   /* item validity bits, only when has_valid */
  bool has_valid;
  mw_buf ivalid;  /* fixed_size_list: validity of each of the n * dim items */
  bool has_ivalid;
} mw_lv;

/* A decoded page. levels: one per item slot and per null / empty list (only
 * when the page has rep or def levels); def 0 = everything valid, other
 * values per `layers` (lance.encodings21.RepDefLayer, innermost first). */
typedef struct mw_lance_page {
  mw_lv v;
  uint64_t n_levels;
  uint16_t *rep, *def; /* malloc'ed, NULL when absent */
  uint8_t layers[16];
  int n_layers;
  void *fsst; /* decoder scratch (freed by mw_lance_page_free) */
} mw_lance_page;

/* The page's buffers as read from the file. */
typedef struct mw_lance_page_bufs {
  const uint8_t *const *ptr;
  const uint64_t *len;
  const uint64_t *pos; /* file offset of each buffer (errors) */
  int n;
} mw_lance_page_bufs;

/* Where a page is, for error messages. */
typedef struct mw_lance_page_ctx {
  const char *file;
  const char *column; /* leaf path */
  uint32_t page;
  uint64_t meta_pos;  /* file offset of the column's metadata */
} mw_lance_page_ctx;

/* Resets *v to an empty value set of the given shape. */
void mw_lv_init(mw_lv *v, mw_lv_kind kind, uint32_t width, uint32_t dim);
void mw_lv_free(mw_lv *v);

void mw_lance_page_free(mw_lance_page *p);

/* Decodes one page of `rows` rows from its encoding (the google.protobuf.Any
 * type_url and value of Page.encoding.direct) into *out (initialised by the
 * caller with mw_lv_init for the leaf's shape). MW_ERR_CORRUPT with the
 * byte offset for malformed pages, MW_ERR_UNSUPPORTED "unsupported encoding
 * X in column Y" for encodings not handled. */
mw_status mw_lance_decode_page(mw_lance_page *out, const char *type_url, size_t url_len,
                               const uint8_t *enc, size_t enc_len, const mw_lance_page_bufs *bufs,
                               uint64_t rows, const mw_lance_page_ctx *ctx, mw_error *err);

#endif
