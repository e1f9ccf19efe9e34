/* arrow_test_util.h - hand-built Arrow C structs for the tests: a tarr is an
 * ArrowArray with room for 3 buffers and 8 children, a tsch an ArrowSchema
 * with room for 8 children. Buffers are the caller's (static or on the
 * stack) and release only clears the callback, so nothing is freed. */
#ifndef MW_ARROW_TEST_UTIL_H
#define MW_ARROW_TEST_UTIL_H

#include <stdint.h>
#include <string.h>

#include "memwal.h"

typedef struct tarr {
  struct ArrowArray a;
  const void *bufs[3];
  struct ArrowArray *kids[8];
} tarr;

typedef struct tsch {
  struct ArrowSchema s;
  struct ArrowSchema *kids[8];
} tsch;

static inline void arr_noop_release(struct ArrowArray *a) { a->release = NULL; }
static inline void sch_noop_release(struct ArrowSchema *s) { s->release = NULL; }

static inline void arr_init(tarr *t, int64_t length, int64_t null_count, int64_t offset, int n_buffers,
                     const void *b0, const void *b1, const void *b2) {
  memset(t, 0, sizeof *t);
  t->a.length = length;
  t->a.null_count = null_count;
  t->a.offset = offset;
  t->a.n_buffers = n_buffers;
  t->bufs[0] = b0;
  t->bufs[1] = b1;
  t->bufs[2] = b2;
  t->a.buffers = t->bufs;
  t->a.children = t->kids;
  t->a.release = arr_noop_release;
}

static inline void arr_add(tarr *t, tarr *child) { t->kids[t->a.n_children++] = &child->a; }

static inline void sch_init(tsch *t, const char *format, const char *name, int64_t flags) {
  memset(t, 0, sizeof *t);
  t->s.format = format;
  t->s.name = name;
  t->s.flags = flags;
  t->s.children = t->kids;
  t->s.release = sch_noop_release;
}

static inline void sch_add(tsch *t, tsch *child) { t->kids[t->s.n_children++] = &child->s; }

#endif
