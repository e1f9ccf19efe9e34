/* slab.c - see slab.h for the design. A block is MW_SLAB_BLOCK bytes
 * aligned to MW_SLAB_BLOCK: its header (the reference count) sits at the
 * start, so mw_slab_free finds it by masking the buffer's address. The
 * count holds one reference per buffer out plus one while the block is a
 * pool's current block. */
#include "common/slab.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

struct mw_slab_block {
  atomic_size_t refs;
  size_t used; /* bump offset (pool->mu; only while current) */
};

#define HDR ((size_t)64)

static mw_slab_block *block_of(void *ptr) {
  return (mw_slab_block *)((uintptr_t)ptr & ~(uintptr_t)(MW_SLAB_BLOCK - 1));
}

static void block_unref(mw_slab_block *b) {
  if (b && atomic_fetch_sub(&b->refs, 1) == 1) free(b);
}

void mw_slab_pool_init(mw_slab_pool *p) {
  pthread_mutex_init(&p->mu, NULL);
  p->cur = NULL;
}

void mw_slab_pool_destroy(mw_slab_pool *p) {
  if (!p) return;
  block_unref(p->cur);
  p->cur = NULL;
  pthread_mutex_destroy(&p->mu);
}

void *mw_slab_alloc(mw_slab_pool *p, size_t n) {
  if (n == 0 || n > MW_SLAB_MAX) return NULL;
  size_t need = (n + 63) & ~(size_t)63;
  pthread_mutex_lock(&p->mu);
  mw_slab_block *b = p->cur;
  if (!b || b->used + need > MW_SLAB_BLOCK) {
    void *mem = NULL;
    if (posix_memalign(&mem, MW_SLAB_BLOCK, MW_SLAB_BLOCK) != 0) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    (void)madvise(mem, MW_SLAB_BLOCK, MADV_HUGEPAGE); /* a hint: failure only costs speed */
    mw_slab_block *nb = mem;
    atomic_init(&nb->refs, 1); /* the pool's */
    nb->used = HDR;
    block_unref(b);            /* the pool moves on */
    p->cur = b = nb;
  }
  void *r = (unsigned char *)b + b->used;
  b->used += need;
  atomic_fetch_add(&b->refs, 1);
  pthread_mutex_unlock(&p->mu);
  return r;
}

void mw_slab_free(void *ptr) {
  if (ptr) block_unref(block_of(ptr));
}
