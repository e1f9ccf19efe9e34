/* slab.h - reference-counted, huge-page backed blocks that many small
 * buffers are carved from (WAL entries read on replay).
 *
 * Why: replay reads every unflushed WAL entry into fresh memory that the
 * MemTable then keeps (the decoded batches point into it). From malloc,
 * that memory is 4 KiB pages faulted in one by one while the kernel copies
 * the page cache into them: in a VM each fault is costly, and replay of
 * 1000 x 43 KB entries spent most of its time there (perf: page faults and
 * `_copy_to_iter` ~60% of the open; README, "Replay"). Blocks here are
 * MW_SLAB_BLOCK bytes, aligned to their size and hinted MADV_HUGEPAGE, so
 * one fault maps 2 MiB.
 *
 * A block is freed when its last buffer is freed and the pool has moved on
 * from it (the pool holds a reference on its current block). So a buffer
 * that lives long pins its whole block: fine for replay, whose buffers are
 * kept and dropped together with their MemTable; not for a general heap.
 *
 * Thread-safety: mw_slab_alloc may be called from any number of threads
 * (pool->mu guards the current block and its bump offset); mw_slab_free
 * from any thread (atomic count), also after the pool is destroyed. */
#ifndef MW_COMMON_SLAB_H
#define MW_COMMON_SLAB_H

#include <pthread.h>
#include <stddef.h>

#define MW_SLAB_BLOCK ((size_t)8 << 20)
/* Larger requests are not served (mw_slab_alloc returns NULL): the caller
 * allocates them itself (mw_large_alloc gives them huge pages anyway). */
#define MW_SLAB_MAX (MW_SLAB_BLOCK / 4)

typedef struct mw_slab_block mw_slab_block;

typedef struct mw_slab_pool {
  pthread_mutex_t mu;   /* guards cur */
  mw_slab_block *cur;   /* the block being carved (one reference held) */
} mw_slab_pool;

void mw_slab_pool_init(mw_slab_pool *p);
/* Drops the pool's reference; buffers still out stay valid. */
void mw_slab_pool_destroy(mw_slab_pool *p);

/* n bytes (64-byte aligned) from the pool, or NULL when n is 0 or more
 * than MW_SLAB_MAX, or memory is short: then the caller allocates. */
void *mw_slab_alloc(mw_slab_pool *p, size_t n);

/* Frees a buffer from mw_slab_alloc (its block goes with the last one). */
void mw_slab_free(void *ptr);

#endif
