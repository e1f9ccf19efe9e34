/* test_slab.c - common/slab.c: the huge-page blocks WAL entries are read
 * into on replay (buffers carved from shared blocks, freed by count). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/slab.h"
#include "mw_test.h"

static uint64_t rng = 99;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Sizes from 1 byte to MW_SLAB_MAX: each buffer 64-aligned, disjoint from
 * the others (a pattern written to each survives all the others' writes),
 * freed in random order, some after the pool is gone (ASan finds a block
 * freed early or never). */
static void test_alloc_free(void) {
  enum { N = 600 };
  mw_slab_pool pool;
  mw_slab_pool_init(&pool);
  unsigned char *b[N];
  size_t len[N];
  for (int i = 0; i < N; i++) {
    len[i] = i % 50 == 0 ? MW_SLAB_MAX : 1 + (size_t)(rnd() % 70000);
    b[i] = mw_slab_alloc(&pool, len[i]);
    CHECK(b[i] != NULL);
    if (!b[i]) return;
    CHECK(((uintptr_t)b[i] & 63) == 0);
    memset(b[i], i & 0xff, len[i]);
  }
  size_t bad = 0;
  for (int i = 0; i < N; i++)
    for (size_t j = 0; j < len[i]; j += 997) bad += b[i][j] != (unsigned char)(i & 0xff);
  CHECK_INT(bad, 0);
  /* refused: nothing, or more than a quarter block (the caller allocates) */
  CHECK(mw_slab_alloc(&pool, 0) == NULL);
  CHECK(mw_slab_alloc(&pool, MW_SLAB_MAX + 1) == NULL);
  int order[N];
  for (int i = 0; i < N; i++) order[i] = i;
  for (int i = N - 1; i > 0; i--) {
    int j = (int)(rnd() % (uint64_t)(i + 1)), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (int i = 0; i < N / 2; i++) mw_slab_free(b[order[i]]);
  mw_slab_pool_destroy(&pool);
  /* the rest outlive the pool and are still intact */
  for (int i = N / 2; i < N; i++) {
    int k = order[i];
    for (size_t j = 0; j < len[k]; j += 997) bad += b[k][j] != (unsigned char)(k & 0xff);
    mw_slab_free(b[k]);
  }
  CHECK_INT(bad, 0);
  mw_slab_free(NULL);
}

typedef struct thr {
  mw_slab_pool *pool;
  int bad;
} thr;

static void *worker(void *arg) {
  thr *t = arg;
  unsigned char *keep[64] = {0};
  for (int i = 0; i < 4000; i++) {
    int slot = i % 64;
    if (keep[slot]) {
      if (keep[slot][0] != (unsigned char)slot || keep[slot][4095] != (unsigned char)slot) t->bad++;
      mw_slab_free(keep[slot]);
    }
    keep[slot] = mw_slab_alloc(t->pool, 4096);
    if (!keep[slot]) {
      t->bad++;
      continue;
    }
    memset(keep[slot], slot, 4096);
  }
  for (int i = 0; i < 64; i++) mw_slab_free(keep[i]);
  return NULL;
}

/* Four threads allocating and freeing from one pool (TSan: the bump
 * offset under the pool's lock, the counts atomic). */
static void test_threads(void) {
  mw_slab_pool pool;
  mw_slab_pool_init(&pool);
  pthread_t th[4];
  thr a[4];
  for (int i = 0; i < 4; i++) {
    a[i] = (thr){&pool, 0};
    CHECK(pthread_create(&th[i], NULL, worker, &a[i]) == 0);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) CHECK_INT(a[i].bad, 0);
  mw_slab_pool_destroy(&pool);
}

int main(void) {
  MW_RUN(test_alloc_free);
  MW_RUN(test_threads);
  return mw_test_finish();
}
