/* gen_data.c - generated benchmark rows (see gen_data.h). One malloc per
 * batch holds the struct headers and every buffer, so a release is one
 * free(). Values are cheap to make (an xorshift generator) so that the
 * generator never dominates what it measures. */
#include "cli/gen_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/error.h"

#define TEXT_LEN 70

mw_status mw_gen_schema(struct ArrowSchema *out, int32_t dim, mw_error *err) {
  char fsl[32];
  snprintf(fsl, sizeof fsl, "+w:%d", (int)dim);
  mw_kv pk = {"lance-schema:unenforced-primary-key:position", 44, "1", 1};
  bool ok = true;
  char *pk_meta = mw_metadata_build(&pk, 1, &ok);
  if (!ok) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  mw_status s = mw_schema_init(out, "+s", "", NULL, 0, 3, err);
  if (s == MW_OK) s = mw_schema_init(out->children[0], "l", "id", pk_meta, 0, 0, err);
  if (s == MW_OK) s = mw_schema_init(out->children[1], fsl, "vector", NULL, 0, 1, err);
  if (s == MW_OK) s = mw_schema_init(out->children[1]->children[0], "f", "item", NULL, ARROW_FLAG_NULLABLE, 0, err);
  if (s == MW_OK) s = mw_schema_init(out->children[2], "u", "text", NULL, ARROW_FLAG_NULLABLE, 0, err);
  free(pk_meta);
  if (s != MW_OK) mw_schema_release(out);
  return s;
}

typedef struct gen_block {
  struct ArrowArray id, vec, item, text;
  struct ArrowArray *top_children[3];
  struct ArrowArray *vec_children[1];
  const void *top_bufs[1], *id_bufs[2], *vec_bufs[1], *item_bufs[2], *text_bufs[3];
} gen_block;

static void child_release(struct ArrowArray *a) { a->release = NULL; }

static void gen_release(struct ArrowArray *a) {
  if (!a || !a->release) return;
  free(a->private_data);
  a->release = NULL;
}

static const char words[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";

mw_status mw_gen_batch(struct ArrowArray *out, int64_t first_id, int64_t rows, int32_t dim,
                       mw_error *err) {
  memset(out, 0, sizeof *out);
  if (rows <= 0 || dim <= 0) return mw_err(err, MW_ERR_INVALID, "gen: rows and dim must be positive");
  size_t hdr = (sizeof(gen_block) + 63) & ~(size_t)63;
  size_t ids = (size_t)rows * 8, vec = (size_t)rows * (size_t)dim * 4, offs = ((size_t)rows + 1) * 4,
         txt = (size_t)rows * TEXT_LEN;
  uint8_t *mem = malloc(hdr + ids + vec + offs + txt + 64);
  if (!mem) return mw_err(err, MW_ERR_NOMEM, "gen: out of memory for %lld rows", (long long)rows);
  gen_block *b = (gen_block *)mem;
  memset(b, 0, sizeof *b);
  int64_t *idv = (int64_t *)(mem + hdr);
  float *vv = (float *)(mem + hdr + ids);
  int32_t *ov = (int32_t *)(mem + hdr + ids + vec);
  char *tv = (char *)(mem + hdr + ids + vec + offs);
  uint32_t x = (uint32_t)(first_id * 2654435761u) | 1u;
  for (int64_t i = 0; i < rows; i++) idv[i] = first_id + i;
  for (size_t i = 0; i < (size_t)rows * (size_t)dim; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    vv[i] = (float)(x & 0xffff) / 65536.0f;
  }
  for (int64_t i = 0; i < rows; i++) {
    ov[i] = (int32_t)(i * TEXT_LEN);
    char *t = tv + i * TEXT_LEN;
    int n = snprintf(t, TEXT_LEN, "row %012lld ", (long long)(first_id + i));
    for (int k = n; k < TEXT_LEN; k++) t[k] = words[(k + i) % (sizeof words - 1)];
  }
  ov[rows] = (int32_t)(rows * TEXT_LEN);

  b->id_bufs[0] = NULL; b->id_bufs[1] = idv;
  b->id = (struct ArrowArray){rows, 0, 0, 2, 0, b->id_bufs, NULL, NULL, child_release, NULL};
  b->item_bufs[0] = NULL; b->item_bufs[1] = vv;
  b->item = (struct ArrowArray){rows * dim, 0, 0, 2, 0, b->item_bufs, NULL, NULL, child_release, NULL};
  b->vec_children[0] = &b->item;
  b->vec_bufs[0] = NULL;
  b->vec = (struct ArrowArray){rows, 0, 0, 1, 1, b->vec_bufs, b->vec_children, NULL, child_release, NULL};
  b->text_bufs[0] = NULL; b->text_bufs[1] = ov; b->text_bufs[2] = tv;
  b->text = (struct ArrowArray){rows, 0, 0, 3, 0, b->text_bufs, NULL, NULL, child_release, NULL};
  b->top_children[0] = &b->id; b->top_children[1] = &b->vec; b->top_children[2] = &b->text;
  b->top_bufs[0] = NULL;
  *out = (struct ArrowArray){rows, 0, 0, 1, 3, b->top_bufs, b->top_children, NULL, gen_release, mem};
  return MW_OK;
}
