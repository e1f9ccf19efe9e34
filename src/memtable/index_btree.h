/* index_btree.h - the in-memory B+tree index of a MemTable column, and the
 * scalar key order shared by the index and by row-by-row filtering.
 *
 * Design: a classic B+tree (fanout MW_BTREE_FANOUT) whose entries are
 * (key, row id) pairs ordered by key, then row id: the pair is unique, so
 * duplicate keys are simply adjacent entries, and the rows of one key come
 * out in ascending row-id order. Leaves are chained left to right for range
 * scans. There is no delete (MemTables are append-only).
 *
 * Key order (one "key class" per Arrow type, see mw_key_class_of):
 *   - bool, signed ints, date32/64, time32/64, timestamp, duration: as int64
 *     (bool false < true);
 *   - unsigned ints: as uint64;
 *   - float16/32/64: as double, IEEE order except that every NaN compares
 *     equal to every other NaN and greater than everything else (+inf
 *     included); -0.0 == +0.0;
 *   - decimal128: as a signed 128-bit integer (one column = one scale);
 *   - utf8/large_utf8, binary/large_binary, fixed_size_binary: byte-wise
 *     lexicographic (memcmp), a proper prefix sorts first.
 * Nulls are never indexed and never match a filter.
 *
 * Variable-length keys are COPIED into an arena owned by the tree (64 KiB
 * chunks), so a tree never points into Arrow buffers: it is self-contained
 * and its memory use (mw_btree_memory) is honest.
 *
 * Failure atomicity: an insert either adds the entry or (MW_ERR_NOMEM)
 * leaves the tree unchanged: the nodes a split may need are reserved before
 * the tree is touched.
 *
 * Not thread-safe: the MemTable's mutex guards it. */
#ifndef MW_MEMTABLE_INDEX_BTREE_H
#define MW_MEMTABLE_INDEX_BTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrow/c_data.h"
#include "memwal.h"

#define MW_BTREE_FANOUT 64

typedef enum mw_key_class {
  MW_KC_NONE = 0, /* type cannot be a key */
  MW_KC_INT,      /* int64 */
  MW_KC_UINT,     /* uint64 */
  MW_KC_FLOAT,    /* double, NaN last */
  MW_KC_DEC128,   /* signed 128-bit */
  MW_KC_BYTES     /* memcmp, shorter first */
} mw_key_class;

/* One scalar key value (what a row's cell becomes for comparison). For
 * MW_KC_BYTES, p/n point either into an Arrow buffer (transient keys) or
 * into the tree's arena (stored keys). */
typedef struct mw_key {
  union {
    int64_t i;
    uint64_t u;
    double f;
    struct { uint64_t lo; int64_t hi; } d;
    struct { const uint8_t *p; uint64_t n; } b;
  } v;
} mw_key;

/* Key class of a type (MW_KC_NONE for null, lists, structs, maps, ...). */
mw_key_class mw_key_class_of(const mw_type *t);

/* Reads element i (logical index: the array's own offset is added) of a
 * scalar array of type t into *out. Returns false when the element is null.
 * The array must be valid for t (validated by the caller). */
bool mw_key_get(mw_key *out, const mw_type *t, const struct ArrowArray *a, int64_t i);

/* <0, 0, >0 as a < b, a == b, a > b under the class's order. */
int mw_key_cmp(mw_key_class kc, const mw_key *a, const mw_key *b);

/* Does `cmp` (= mw_key_cmp(row, value)) satisfy `row OP value`? */
static inline bool mw_filter_op_holds(mw_filter_op op, int cmp) {
  switch (op) {
    case MW_FILTER_EQ: return cmp == 0;
    case MW_FILTER_LT: return cmp < 0;
    case MW_FILTER_LE: return cmp <= 0;
    case MW_FILTER_GT: return cmp > 0;
    case MW_FILTER_GE: return cmp >= 0;
    case MW_FILTER_NE: return cmp != 0;
  }
  return false;
}

typedef struct mw_btree mw_btree;

/* New empty tree for keys of type t (copied). MW_ERR_INVALID when the type
 * cannot be a key. */
mw_status mw_btree_new(mw_btree **out, const mw_type *t, mw_error *err);
void mw_btree_free(mw_btree *t); /* NULL ok */

/* Inserts (key, row). Byte keys are copied into the tree. */
mw_status mw_btree_insert(mw_btree *t, const mw_key *key, uint64_t row, mw_error *err);

/* Inserts element i of array a (of the tree's type) with the given row id;
 * a null element is skipped (*out_added = false; may be NULL). */
mw_status mw_btree_insert_from(mw_btree *t, const struct ArrowArray *a, int64_t i, uint64_t row,
                               bool *out_added, mw_error *err);

/* Row ids (ascending) of every entry whose key satisfies `key OP value`.
 * *out_ids is malloc'ed (free()); NULL when *out_n == 0. */
mw_status mw_btree_lookup(uint64_t **out_ids, size_t *out_n, const mw_btree *t, mw_filter_op op,
                          const mw_key *value, mw_error *err);

/* Row ids (ascending) of every entry with lo <(=) key <(=) hi (strict:
 * excluded bound). *out_ids is malloc'ed (free()); NULL when *out_n == 0. */
mw_status mw_btree_lookup_range(uint64_t **out_ids, size_t *out_n, const mw_btree *t, const mw_key *lo,
                                bool lo_strict, const mw_key *hi, bool hi_strict, mw_error *err);

/* Number of entries. */
uint64_t mw_btree_count(const mw_btree *t);
/* Bytes held (nodes + key arena). */
uint64_t mw_btree_memory(const mw_btree *t);
/* Height (1 = a single leaf). */
int mw_btree_height(const mw_btree *t);
/* The tree's key class. */
mw_key_class mw_btree_key_class(const mw_btree *t);

/* Checks the structural invariants (sorted entries across the leaf chain,
 * separators bounding their subtrees, uniform depth, node fill, count).
 * For tests; MW_ERR_INTERNAL describing the first violation. */
mw_status mw_btree_check(const mw_btree *t, mw_error *err);

#endif
