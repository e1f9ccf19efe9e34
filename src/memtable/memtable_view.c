/* memtable_view.c - batch holders and zero-copy ArrowArray views of them,
 * and the stream callbacks scan and query results share (see
 * memtable_internal.h).
 *
 * View block layout (one malloc): header {live nodes, holder}, then the
 * non-root nodes, then every node's buffer-pointer array, then every node's
 * children-pointer array. The root node is the caller's struct. `live`
 * starts at the number of nodes (root included); each node's release
 * releases its unreleased children, then drops one; the last one frees the
 * block and the holder reference. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memtable/memtable_internal.h"

void mw_holder_ref(mw_holder *h) { atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed); }

void mw_holder_unref(mw_holder *h) {
  if (!h) return;
  if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) {
    if (h->array.release) h->array.release(&h->array);
    free(h);
  }
}

typedef struct view_block {
  atomic_long live;
  mw_holder *holder;
  struct ArrowArray nodes[];
} view_block;

typedef struct view_fill {
  view_block *b;
  struct ArrowArray *node;   /* next free node */
  const void **bufs;         /* next free buffer slot */
  struct ArrowArray **kids;  /* next free child slot */
} view_fill;

static void view_release(struct ArrowArray *a) {
  view_block *b = a->private_data;
  for (int64_t i = 0; i < a->n_children; i++) {
    struct ArrowArray *c = a->children[i];
    if (c->release) c->release(c);
  }
  a->release = NULL;
  if (atomic_fetch_sub_explicit(&b->live, 1, memory_order_acq_rel) == 1) {
    mw_holder_unref(b->holder);
    free(b);
  }
}

static void count_tree(const struct ArrowArray *a, size_t *nodes, size_t *bufs, size_t *kids) {
  (*nodes)++;
  *bufs += (size_t)a->n_buffers;
  *kids += (size_t)a->n_children;
  for (int64_t i = 0; i < a->n_children; i++) count_tree(a->children[i], nodes, bufs, kids);
}

/* Copies the node src (and its subtree) into dst, except the children list
 * when kids_override is set (the root with a projection). */
static void fill_node(view_fill *f, struct ArrowArray *dst, const struct ArrowArray *src,
                      const int64_t *proj, int64_t n_proj) {
  dst->length = src->length;
  dst->null_count = src->null_count;
  dst->offset = src->offset;
  dst->n_buffers = src->n_buffers;
  dst->buffers = f->bufs;
  for (int64_t i = 0; i < src->n_buffers; i++) f->bufs[i] = src->buffers[i];
  f->bufs += src->n_buffers;
  int64_t nk = proj ? n_proj : src->n_children;
  dst->n_children = nk;
  dst->children = f->kids;
  f->kids += nk;
  for (int64_t i = 0; i < nk; i++) {
    struct ArrowArray *c = f->node++;
    fill_node(f, c, src->children[proj ? proj[i] : i], NULL, 0);
    dst->children[i] = c;
  }
  dst->dictionary = NULL; /* dictionary types are never stored */
  dst->release = view_release;
  dst->private_data = f->b;
}

static int64_t count_nulls(const void *bitmap, int64_t off, int64_t len) {
  const uint8_t *p = bitmap;
  int64_t valid = 0, i = 0;
  for (; i < len && ((off + i) & 7); i++) valid += mw_bit_get(p, off + i);
  for (; i + 8 <= len; i += 8) valid += __builtin_popcount(p[(off + i) >> 3]);
  for (; i < len; i++) valid += mw_bit_get(p, off + i);
  return len - valid;
}

bool mw_view_make(struct ArrowArray *out, mw_holder *h, int64_t start, int64_t len,
                  const int64_t *proj, int64_t n_proj) {
  const struct ArrowArray *src = &h->array;
  size_t nodes = 1, bufs = (size_t)src->n_buffers, kids = 0;
  int64_t nk = proj ? n_proj : src->n_children;
  kids = (size_t)nk;
  for (int64_t i = 0; i < nk; i++) count_tree(src->children[proj ? proj[i] : i], &nodes, &bufs, &kids);
  size_t sz = sizeof(view_block) + (nodes - 1) * sizeof(struct ArrowArray) +
              (bufs + kids + 1) * sizeof(void *);
  view_block *b = malloc(sz);
  if (!b) return false;
  atomic_init(&b->live, (long)nodes);
  b->holder = h;
  mw_holder_ref(h);
  view_fill f;
  f.b = b;
  f.node = b->nodes;
  f.bufs = (const void **)(b->nodes + (nodes - 1));
  f.kids = (struct ArrowArray **)(f.bufs + bufs);
  memset(out, 0, sizeof *out);
  fill_node(&f, out, src, proj, n_proj);

  bool whole = start == 0 && len == src->length;
  if (whole) return true;
  out->length = len;
  bool root_nulls = src->null_count != 0 && src->n_buffers > 0 && src->buffers[0] != NULL;
  if (root_nulls) {
    /* Rare (record batches have no top-level nulls): keep Arrow's struct
     * offset semantics, children unchanged. */
    out->offset = src->offset + start;
    out->null_count = -1;
    return true;
  }
  out->offset = 0;
  out->null_count = 0;
  if (out->n_buffers > 0) out->buffers[0] = NULL;
  for (int64_t i = 0; i < out->n_children; i++) {
    struct ArrowArray *c = out->children[i];
    c->offset = c->offset + src->offset + start;
    c->length = len;
    if (c->null_count == 0) continue;
    if (c->n_buffers == 0) c->null_count = len; /* null type */
    else if (c->buffers[0] == NULL) c->null_count = 0;
    else c->null_count = count_nulls(c->buffers[0], c->offset, len);
  }
  return true;
}

/* ------------------------------------------------ shared stream callbacks */

static int stream_get_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out) {
  mw_mt_stream_base *s = stream->private_data;
  mw_error e;
  if (mw_schema_copy(out, &s->schema, &e) != MW_OK) {
    snprintf(s->error, sizeof s->error, "%s", e.message);
    return ENOMEM;
  }
  return 0;
}

static const char *stream_get_last_error(struct ArrowArrayStream *stream) {
  mw_mt_stream_base *s = stream->private_data;
  return s->error[0] ? s->error : NULL;
}

static void stream_release(struct ArrowArrayStream *stream) {
  mw_mt_stream_base *s = stream->private_data;
  if (s) s->free_state(s);
  stream->private_data = NULL;
  stream->release = NULL;
}

void mw_mt_stream_start(struct ArrowArrayStream *out, mw_mt_stream_base *state,
                        int (*get_next)(struct ArrowArrayStream *stream, struct ArrowArray *out)) {
  out->get_schema = stream_get_schema;
  out->get_next = get_next;
  out->get_last_error = stream_get_last_error;
  out->release = stream_release;
  out->private_data = state;
}
