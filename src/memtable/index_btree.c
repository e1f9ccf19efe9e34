/* index_btree.c - B+tree over (key, row id) entries; see index_btree.h.
 *
 * Node layout: one node type for leaves and inner nodes (a union), so the
 * split reserve is a single free list. A leaf holds up to FANOUT entries and
 * a pointer to its right sibling; an inner node holds up to FANOUT children
 * and FANOUT-1 separators, separator j being the smallest entry of child
 * j+1 (entries are unique, so "entry >= sep[j]" means "in child j+1 or
 * later").
 *
 * Appends (the common case: row ids grow, and many keys grow with them)
 * split the rightmost leaf unevenly (full left, new entry alone on the
 * right), so a sequentially built tree has full leaves. */
#include "memtable/index_btree.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define FAN MW_BTREE_FANOUT
#define ARENA_CHUNK (64 * 1024)
#define ARENA_BIG 4096 /* keys larger than this get their own allocation */

typedef struct bt_entry {
  mw_key k;
  uint64_t row;
} bt_entry;

typedef struct bt_node {
  uint16_t leaf;
  uint16_t n; /* leaf: entries; inner: children */
  struct bt_node *next; /* leaf chain (leaves) / free-list link (reserve) */
  union {
    bt_entry e[FAN];
    struct {
      bt_entry sep[FAN - 1];
      struct bt_node *child[FAN];
    } in;
  } u;
} bt_node;

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, cap;
  uint8_t data[];
} arena_chunk;

struct mw_btree {
  mw_type type;
  mw_key_class kc;
  bt_node *root;
  int height;
  uint64_t count;
  uint64_t nodes;     /* live nodes in the tree */
  bt_node *reserve;   /* free nodes kept for splits */
  size_t n_reserve;
  arena_chunk *arena; /* head = current chunk */
  uint64_t arena_bytes;
};

/* ---------------------------------------------------------------- keys */

mw_key_class mw_key_class_of(const mw_type *t) {
  switch (t->id) {
    case MW_T_BOOL: case MW_T_INT8: case MW_T_INT16: case MW_T_INT32: case MW_T_INT64:
    case MW_T_DATE32: case MW_T_DATE64: case MW_T_TIME32: case MW_T_TIME64:
    case MW_T_TIMESTAMP: case MW_T_DURATION:
      return MW_KC_INT;
    case MW_T_UINT8: case MW_T_UINT16: case MW_T_UINT32: case MW_T_UINT64:
      return MW_KC_UINT;
    case MW_T_FLOAT16: case MW_T_FLOAT32: case MW_T_FLOAT64:
      return MW_KC_FLOAT;
    case MW_T_DECIMAL128:
      return MW_KC_DEC128;
    case MW_T_UTF8: case MW_T_LARGE_UTF8: case MW_T_BINARY: case MW_T_LARGE_BINARY:
    case MW_T_FIXED_SIZE_BINARY:
      return MW_KC_BYTES;
    default:
      return MW_KC_NONE;
  }
}

static double half_to_double(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0) v = (double)mant / 1024.0 / 16384.0; /* subnormal: mant * 2^-24 */
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else {
    v = 1.0 + (double)mant / 1024.0;
    int e = exp - 15;
    while (e > 0) { v *= 2.0; e--; }
    while (e < 0) { v /= 2.0; e++; }
  }
  return sign ? -v : v;
}

/* Unaligned-safe typed loads (element j of a values buffer). */
#define MW_DEF_LOAD(T, NAME)                                              \
  static inline T NAME(const void *buf, int64_t j) {                      \
    T v;                                                                  \
    memcpy(&v, (const uint8_t *)buf + (size_t)j * sizeof(T), sizeof(T)); \
    return v;                                                             \
  }
MW_DEF_LOAD(int8_t, ld_i8)
MW_DEF_LOAD(int16_t, ld_i16)
MW_DEF_LOAD(int32_t, ld_i32)
MW_DEF_LOAD(int64_t, ld_i64)
MW_DEF_LOAD(uint8_t, ld_u8)
MW_DEF_LOAD(uint16_t, ld_u16)
MW_DEF_LOAD(uint32_t, ld_u32)
MW_DEF_LOAD(uint64_t, ld_u64)
MW_DEF_LOAD(float, ld_f32)
MW_DEF_LOAD(double, ld_f64)
#define LOAD(T, buf, j) LOAD_##T(buf, j)
#define LOAD_int8_t ld_i8
#define LOAD_int16_t ld_i16
#define LOAD_int32_t ld_i32
#define LOAD_int64_t ld_i64
#define LOAD_uint8_t ld_u8
#define LOAD_uint16_t ld_u16
#define LOAD_uint32_t ld_u32
#define LOAD_uint64_t ld_u64
#define LOAD_float ld_f32
#define LOAD_double ld_f64

bool mw_key_get(mw_key *out, const mw_type *t, const struct ArrowArray *a, int64_t i) {
  int64_t j = a->offset + i;
  if (a->null_count != 0 && a->n_buffers > 0 && a->buffers[0] != NULL && !mw_bit_get(a->buffers[0], j))
    return false;
  const void *vals = a->n_buffers > 1 ? a->buffers[1] : NULL;
  switch (t->id) {
    case MW_T_BOOL: out->v.i = mw_bit_get(vals, j) ? 1 : 0; return true;
    case MW_T_INT8: out->v.i = LOAD(int8_t, vals, j); return true;
    case MW_T_INT16: out->v.i = LOAD(int16_t, vals, j); return true;
    case MW_T_INT32: case MW_T_DATE32: case MW_T_TIME32: out->v.i = LOAD(int32_t, vals, j); return true;
    case MW_T_INT64: case MW_T_DATE64: case MW_T_TIME64: case MW_T_TIMESTAMP: case MW_T_DURATION:
      out->v.i = LOAD(int64_t, vals, j);
      return true;
    case MW_T_UINT8: out->v.u = LOAD(uint8_t, vals, j); return true;
    case MW_T_UINT16: out->v.u = LOAD(uint16_t, vals, j); return true;
    case MW_T_UINT32: out->v.u = LOAD(uint32_t, vals, j); return true;
    case MW_T_UINT64: out->v.u = LOAD(uint64_t, vals, j); return true;
    case MW_T_FLOAT16: out->v.f = half_to_double(LOAD(uint16_t, vals, j)); return true;
    case MW_T_FLOAT32: out->v.f = LOAD(float, vals, j); return true;
    case MW_T_FLOAT64: out->v.f = LOAD(double, vals, j); return true;
    case MW_T_DECIMAL128:
      out->v.d.lo = LOAD(uint64_t, vals, 2 * j);
      out->v.d.hi = LOAD(int64_t, vals, 2 * j + 1);
      return true;
    case MW_T_UTF8: case MW_T_BINARY: {
      int32_t s = LOAD(int32_t, vals, j), e = LOAD(int32_t, vals, j + 1);
      out->v.b.p = (const uint8_t *)a->buffers[2] + s;
      out->v.b.n = (uint64_t)(e - s);
      return true;
    }
    case MW_T_LARGE_UTF8: case MW_T_LARGE_BINARY: {
      int64_t s = LOAD(int64_t, vals, j), e = LOAD(int64_t, vals, j + 1);
      out->v.b.p = (const uint8_t *)a->buffers[2] + s;
      out->v.b.n = (uint64_t)(e - s);
      return true;
    }
    case MW_T_FIXED_SIZE_BINARY:
      out->v.b.p = (const uint8_t *)vals + (size_t)j * (size_t)t->width;
      out->v.b.n = (uint64_t)t->width;
      return true;
    default:
      return false;
  }
}

int mw_key_cmp(mw_key_class kc, const mw_key *a, const mw_key *b) {
  switch (kc) {
    case MW_KC_INT: return (a->v.i > b->v.i) - (a->v.i < b->v.i);
    case MW_KC_UINT: return (a->v.u > b->v.u) - (a->v.u < b->v.u);
    case MW_KC_FLOAT: {
      double x = a->v.f, y = b->v.f;
      bool xn = x != x, yn = y != y;
      if (xn || yn) return (int)xn - (int)yn; /* NaN == NaN, NaN > all */
      return (x > y) - (x < y);
    }
    case MW_KC_DEC128:
      if (a->v.d.hi != b->v.d.hi) return a->v.d.hi < b->v.d.hi ? -1 : 1;
      return (a->v.d.lo > b->v.d.lo) - (a->v.d.lo < b->v.d.lo);
    case MW_KC_BYTES: {
      uint64_t n = a->v.b.n < b->v.b.n ? a->v.b.n : b->v.b.n;
      int c = n ? memcmp(a->v.b.p, b->v.b.p, (size_t)n) : 0;
      if (c) return c < 0 ? -1 : 1;
      return (a->v.b.n > b->v.b.n) - (a->v.b.n < b->v.b.n);
    }
    default: return 0;
  }
}

/* Full entry order: key, then row id. */
static inline int ent_cmp(mw_key_class kc, const bt_entry *a, const bt_entry *b) {
  int c = mw_key_cmp(kc, &a->k, &b->k);
  if (c) return c;
  return (a->row > b->row) - (a->row < b->row);
}

/* ---------------------------------------------------------------- tree */

static bt_node *node_alloc(void) {
  bt_node *n = malloc(sizeof *n);
  if (n) {
    n->leaf = 1;
    n->n = 0;
    n->next = NULL;
  }
  return n;
}

mw_status mw_btree_new(mw_btree **out, const mw_type *t, mw_error *err) {
  *out = NULL;
  mw_key_class kc = mw_key_class_of(t);
  if (kc == MW_KC_NONE) {
    char name[128];
    mw_type_name(name, sizeof name, t);
    return mw_err(err, MW_ERR_INVALID, "btree index: type %s cannot be an index key", name);
  }
  mw_btree *b = calloc(1, sizeof *b);
  if (!b) return mw_err(err, MW_ERR_NOMEM, "btree index: out of memory");
  b->root = node_alloc();
  if (!b->root) {
    free(b);
    return mw_err(err, MW_ERR_NOMEM, "btree index: out of memory");
  }
  b->type = *t;
  b->kc = kc;
  b->height = 1;
  b->nodes = 1;
  *out = b;
  return MW_OK;
}

static void free_subtree(bt_node *n, int height) {
  if (height > 1)
    for (int i = 0; i < n->n; i++) free_subtree(n->u.in.child[i], height - 1);
  free(n);
}

void mw_btree_free(mw_btree *t) {
  if (!t) return;
  free_subtree(t->root, t->height);
  while (t->reserve) {
    bt_node *n = t->reserve;
    t->reserve = n->next;
    free(n);
  }
  while (t->arena) {
    arena_chunk *c = t->arena;
    t->arena = c->next;
    free(c);
  }
  free(t);
}

uint64_t mw_btree_count(const mw_btree *t) { return t->count; }
int mw_btree_height(const mw_btree *t) { return t->height; }
mw_key_class mw_btree_key_class(const mw_btree *t) { return t->kc; }
uint64_t mw_btree_memory(const mw_btree *t) {
  return (t->nodes + t->n_reserve) * sizeof(bt_node) + t->arena_bytes + sizeof *t;
}

/* Copies n bytes into the arena; NULL on OOM. */
static const uint8_t *arena_copy(mw_btree *t, const uint8_t *p, size_t n) {
  if (n == 0) return (const uint8_t *)"";
  if (n > ARENA_BIG) {
    /* Own chunk, linked behind the head so the head keeps filling. */
    arena_chunk *c = malloc(sizeof *c + n);
    if (!c) return NULL;
    c->used = c->cap = n;
    memcpy(c->data, p, n);
    if (t->arena) {
      c->next = t->arena->next;
      t->arena->next = c;
    } else {
      c->next = NULL;
      t->arena = c;
    }
    t->arena_bytes += sizeof *c + n;
    return c->data;
  }
  arena_chunk *h = t->arena;
  if (!h || h->cap - h->used < n) {
    arena_chunk *c = malloc(sizeof *c + ARENA_CHUNK);
    if (!c) return NULL;
    c->used = 0;
    c->cap = ARENA_CHUNK;
    c->next = t->arena;
    t->arena = c;
    t->arena_bytes += sizeof *c + ARENA_CHUNK;
    h = c;
  }
  uint8_t *dst = h->data + h->used;
  memcpy(dst, p, n);
  h->used += n;
  return dst;
}

static bt_node *reserve_take(mw_btree *t) {
  bt_node *n = t->reserve;
  t->reserve = n->next;
  t->n_reserve--;
  t->nodes++;
  n->next = NULL;
  n->n = 0;
  return n;
}

/* Index of the first entry in leaf > e (entries are unique). */
static int leaf_upper(mw_key_class kc, const bt_node *n, const bt_entry *e) {
  int lo = 0, hi = n->n;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (ent_cmp(kc, &n->u.e[mid], e) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Child index for e in an inner node: number of separators <= e. */
static int inner_child(mw_key_class kc, const bt_node *n, const bt_entry *e) {
  int lo = 0, hi = n->n - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (ent_cmp(kc, &n->u.in.sep[mid], e) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Inserts e below node (at `height`); on a split returns the new right
 * sibling and its smallest entry in *sep. Cannot fail: splits use the
 * reserve. */
static bt_node *ins(mw_btree *t, bt_node *node, int height, const bt_entry *e, bt_entry *sep) {
  mw_key_class kc = t->kc;
  if (height == 1) {
    int pos = leaf_upper(kc, node, e);
    if (node->n < FAN) {
      memmove(&node->u.e[pos + 1], &node->u.e[pos], (size_t)(node->n - pos) * sizeof(bt_entry));
      node->u.e[pos] = *e;
      node->n++;
      return NULL;
    }
    bt_node *r = reserve_take(t);
    r->leaf = 1;
    if (pos == FAN && node->next == NULL) {
      r->u.e[0] = *e; /* append to the rightmost leaf: keep the left full */
      r->n = 1;
    } else {
      int keep = FAN / 2, move = FAN - keep;
      memcpy(&r->u.e[0], &node->u.e[keep], (size_t)move * sizeof(bt_entry));
      r->n = (uint16_t)move;
      node->n = (uint16_t)keep;
      bt_node *dst = pos <= keep ? node : r;
      int p = pos <= keep ? pos : pos - keep;
      memmove(&dst->u.e[p + 1], &dst->u.e[p], (size_t)(dst->n - p) * sizeof(bt_entry));
      dst->u.e[p] = *e;
      dst->n++;
    }
    r->next = node->next;
    node->next = r;
    *sep = r->u.e[0];
    return r;
  }
  int c = inner_child(kc, node, e);
  bt_entry csep;
  bt_node *cr = ins(t, node->u.in.child[c], height - 1, e, &csep);
  if (!cr) return NULL;
  /* insert (csep, cr) as separator c and child c+1 */
  if (node->n < FAN) {
    int nsep = node->n - 1;
    memmove(&node->u.in.sep[c + 1], &node->u.in.sep[c], (size_t)(nsep - c) * sizeof(bt_entry));
    memmove(&node->u.in.child[c + 2], &node->u.in.child[c + 1],
            (size_t)(node->n - c - 1) * sizeof(bt_node *));
    node->u.in.sep[c] = csep;
    node->u.in.child[c + 1] = cr;
    node->n++;
    return NULL;
  }
  /* Full inner node: build the FAN+1 children / FAN separators in temp
   * arrays, then split them: left keeps `keep` children, the separator
   * between the halves moves up. */
  bt_entry seps[FAN];
  bt_node *kids[FAN + 1];
  memcpy(seps, node->u.in.sep, (size_t)c * sizeof(bt_entry));
  seps[c] = csep;
  memcpy(&seps[c + 1], &node->u.in.sep[c], (size_t)(FAN - 1 - c) * sizeof(bt_entry));
  memcpy(kids, node->u.in.child, (size_t)(c + 1) * sizeof(bt_node *));
  kids[c + 1] = cr;
  memcpy(&kids[c + 2], &node->u.in.child[c + 1], (size_t)(FAN - 1 - c) * sizeof(bt_node *));
  int total = FAN + 1;
  int keep = (c + 1 == FAN) ? FAN - 1 : total / 2; /* rightmost append: left stays full */
  bt_node *r = reserve_take(t);
  r->leaf = 0;
  node->n = (uint16_t)keep;
  memcpy(node->u.in.child, kids, (size_t)keep * sizeof(bt_node *));
  memcpy(node->u.in.sep, seps, (size_t)(keep - 1) * sizeof(bt_entry));
  *sep = seps[keep - 1];
  r->n = (uint16_t)(total - keep);
  memcpy(r->u.in.child, &kids[keep], (size_t)r->n * sizeof(bt_node *));
  memcpy(r->u.in.sep, &seps[keep], (size_t)(r->n - 1) * sizeof(bt_entry));
  return r;
}

mw_status mw_btree_insert(mw_btree *t, const mw_key *key, uint64_t row, mw_error *err) {
  /* Worst case one split per level plus a new root. */
  size_t need = (size_t)t->height + 1;
  while (t->n_reserve < need) {
    bt_node *n = node_alloc();
    if (!n) return mw_err(err, MW_ERR_NOMEM, "btree index: out of memory");
    n->next = t->reserve;
    t->reserve = n;
    t->n_reserve++;
  }
  bt_entry e;
  e.k = *key;
  e.row = row;
  if (t->kc == MW_KC_BYTES) {
    const uint8_t *p = arena_copy(t, key->v.b.p, (size_t)key->v.b.n);
    if (!p) return mw_err(err, MW_ERR_NOMEM, "btree index: out of memory");
    e.k.v.b.p = p;
  }
  bt_entry sep;
  bt_node *r = ins(t, t->root, t->height, &e, &sep);
  if (r) {
    bt_node *root = reserve_take(t);
    root->leaf = 0;
    root->n = 2;
    root->u.in.child[0] = t->root;
    root->u.in.child[1] = r;
    root->u.in.sep[0] = sep;
    t->root = root;
    t->height++;
  }
  t->count++;
  return MW_OK;
}

mw_status mw_btree_insert_from(mw_btree *t, const struct ArrowArray *a, int64_t i, uint64_t row,
                               bool *out_added, mw_error *err) {
  mw_key k;
  if (out_added) *out_added = false;
  if (!mw_key_get(&k, &t->type, a, i)) return MW_OK;
  MW_TRY(mw_btree_insert(t, &k, row, err));
  if (out_added) *out_added = true;
  return MW_OK;
}

/* ---------------------------------------------------------------- lookup */

/* First entry whose key is >= v (strict: > v): leaf and position (the
 * position may equal leaf->n: then the answer starts at leaf->next). */
static const bt_node *lower_bound(const mw_btree *t, const mw_key *v, bool strict, int *pos) {
  const bt_node *n = t->root;
  for (int h = t->height; h > 1; h--) {
    int lo = 0, hi = n->n - 1;
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      int c = mw_key_cmp(t->kc, &n->u.in.sep[mid].k, v);
      if (strict ? c > 0 : c >= 0) hi = mid;
      else lo = mid + 1;
    }
    n = n->u.in.child[lo];
  }
  int lo = 0, hi = n->n;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    int c = mw_key_cmp(t->kc, &n->u.e[mid].k, v);
    if (strict ? c > 0 : c >= 0) hi = mid;
    else lo = mid + 1;
  }
  *pos = lo;
  return n;
}

static const bt_node *leftmost(const mw_btree *t) {
  const bt_node *n = t->root;
  for (int h = t->height; h > 1; h--) n = n->u.in.child[0];
  return n;
}

typedef struct idvec {
  uint64_t *v;
  size_t n, cap;
} idvec;

static bool idvec_push(idvec *d, uint64_t x) {
  if (d->n == d->cap) {
    size_t nc = d->cap ? d->cap * 2 : 64;
    uint64_t *p = realloc(d->v, nc * sizeof *p);
    if (!p) return false;
    d->v = p;
    d->cap = nc;
  }
  d->v[d->n++] = x;
  return true;
}

/* LSD radix sort on 16-bit digits, skipping digits where all values agree. */
static bool sort_ids(uint64_t *v, size_t n) {
  if (n < 64) {
    for (size_t i = 1; i < n; i++) {
      uint64_t x = v[i];
      size_t j = i;
      while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
      v[j] = x;
    }
    return true;
  }
  uint64_t *tmp = malloc(n * sizeof *tmp);
  size_t *cnt = malloc(65536 * sizeof *cnt);
  if (!tmp || !cnt) {
    free(tmp);
    free(cnt);
    return false;
  }
  uint64_t all_or = 0, all_and = ~(uint64_t)0;
  for (size_t i = 0; i < n; i++) { all_or |= v[i]; all_and &= v[i]; }
  uint64_t *src = v, *dst = tmp;
  for (int shift = 0; shift < 64; shift += 16) {
    if ((((all_or ^ all_and) >> shift) & 0xffff) == 0) continue; /* digit constant */
    memset(cnt, 0, 65536 * sizeof *cnt);
    for (size_t i = 0; i < n; i++) cnt[(src[i] >> shift) & 0xffff]++;
    size_t sum = 0;
    for (size_t d = 0; d < 65536; d++) { size_t c = cnt[d]; cnt[d] = sum; sum += c; }
    for (size_t i = 0; i < n; i++) dst[cnt[(src[i] >> shift) & 0xffff]++] = src[i];
    uint64_t *s = src; src = dst; dst = s;
  }
  if (src != v) memcpy(v, src, n * sizeof *v);
  free(tmp);
  free(cnt);
  return true;
}

/* Hands a lookup's row ids to the caller: sorted ascending when `sort`,
 * NULL when there are none. */
static mw_status finish_ids(uint64_t **out_ids, size_t *out_n, idvec *d, bool sort, mw_error *err) {
  if (sort && !sort_ids(d->v, d->n)) {
    free(d->v);
    return mw_err(err, MW_ERR_NOMEM, "btree index: out of memory");
  }
  if (d->n == 0) {
    free(d->v);
    d->v = NULL;
  }
  *out_ids = d->v;
  *out_n = d->n;
  return MW_OK;
}

mw_status mw_btree_lookup(uint64_t **out_ids, size_t *out_n, const mw_btree *t, mw_filter_op op,
                          const mw_key *value, mw_error *err) {
  *out_ids = NULL;
  *out_n = 0;
  idvec d = {0};
  const bt_node *n;
  int pos;
  mw_key_class kc = t->kc;
  switch (op) {
    case MW_FILTER_EQ: case MW_FILTER_GE: case MW_FILTER_GT:
      n = lower_bound(t, value, op == MW_FILTER_GT, &pos);
      break;
    case MW_FILTER_LT: case MW_FILTER_LE:
      n = leftmost(t);
      pos = 0;
      break;
    default:
      return mw_err(err, MW_ERR_INVALID, "btree index: unknown filter op %d", (int)op);
  }
  for (; n; n = n->next, pos = 0) {
    for (int i = pos; i < n->n; i++) {
      const bt_entry *e = &n->u.e[i];
      if (op != MW_FILTER_GE && op != MW_FILTER_GT &&
          !mw_filter_op_holds(op, mw_key_cmp(kc, &e->k, value)))
        goto done;
      if (!idvec_push(&d, e->row)) {
        free(d.v);
        return mw_err(err, MW_ERR_NOMEM, "btree index: out of memory");
      }
    }
  }
done:
  /* EQ yields ascending row ids already (key ties are ordered by row). */
  return finish_ids(out_ids, out_n, &d, op != MW_FILTER_EQ, err);
}

mw_status mw_btree_lookup_range(uint64_t **out_ids, size_t *out_n, const mw_btree *t, const mw_key *lo,
                                bool lo_strict, const mw_key *hi, bool hi_strict, mw_error *err) {
  *out_ids = NULL;
  *out_n = 0;
  idvec d = {0};
  int pos;
  mw_key_class kc = t->kc;
  const bt_node *n = lower_bound(t, lo, lo_strict, &pos);
  for (; n; n = n->next, pos = 0) {
    for (int i = pos; i < n->n; i++) {
      const bt_entry *e = &n->u.e[i];
      int c = mw_key_cmp(kc, &e->k, hi);
      if (c > 0 || (c == 0 && hi_strict)) goto done;
      if (!idvec_push(&d, e->row)) {
        free(d.v);
        return mw_err(err, MW_ERR_NOMEM, "btree index: out of memory");
      }
    }
  }
done:
  return finish_ids(out_ids, out_n, &d, true, err);
}

/* ---------------------------------------------------------------- check */

typedef struct chk {
  const mw_btree *t;
  const bt_node *prev_leaf;
  uint64_t count;
  mw_error *err;
} chk;

/* lo/hi: entries bounding the subtree (lo <= all < hi), NULL = unbounded. */
static mw_status chk_node(chk *s, const bt_node *n, int height, const bt_entry *lo,
                          const bt_entry *hi, bool is_root) {
  mw_key_class kc = s->t->kc;
  if ((height == 1) != (n->leaf != 0))
    return mw_err(s->err, MW_ERR_INTERNAL, "btree: leaf flag wrong at height %d", height);
  if (n->n > FAN || (!is_root && n->n < 1) || (height > 1 && n->n < 2))
    return mw_err(s->err, MW_ERR_INTERNAL, "btree: bad fill %d at height %d", n->n, height);
  if (height == 1) {
    if (s->prev_leaf && s->prev_leaf->next != n)
      return mw_err(s->err, MW_ERR_INTERNAL, "btree: leaf chain broken");
    for (int i = 0; i < n->n; i++) {
      const bt_entry *e = &n->u.e[i];
      if (i > 0 && ent_cmp(kc, &n->u.e[i - 1], e) >= 0)
        return mw_err(s->err, MW_ERR_INTERNAL, "btree: leaf entries out of order");
      if ((lo && ent_cmp(kc, e, lo) < 0) || (hi && ent_cmp(kc, e, hi) >= 0))
        return mw_err(s->err, MW_ERR_INTERNAL, "btree: entry outside its separators");
    }
    s->count += n->n;
    s->prev_leaf = n;
    return MW_OK;
  }
  for (int i = 0; i < n->n; i++) {
    const bt_entry *clo = i == 0 ? lo : &n->u.in.sep[i - 1];
    const bt_entry *chi = i == n->n - 1 ? hi : &n->u.in.sep[i];
    if (i > 0 && i < n->n - 1 && ent_cmp(kc, &n->u.in.sep[i - 1], &n->u.in.sep[i]) >= 0)
      return mw_err(s->err, MW_ERR_INTERNAL, "btree: separators out of order");
    MW_TRY(chk_node(s, n->u.in.child[i], height - 1, clo, chi, false));
  }
  return MW_OK;
}

mw_status mw_btree_check(const mw_btree *t, mw_error *err) {
  chk s = {t, NULL, 0, err};
  MW_TRY(chk_node(&s, t->root, t->height, NULL, NULL, true));
  if (s.prev_leaf && s.prev_leaf->next != NULL)
    return mw_err(err, MW_ERR_INTERNAL, "btree: last leaf has a successor");
  if (s.count != t->count)
    return mw_err(err, MW_ERR_INTERNAL, "btree: %" PRIu64 " entries, count says %" PRIu64, s.count,
                  t->count);
  return MW_OK;
}
