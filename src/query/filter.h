/* filter.h - filter expressions (mw_expr, declared in memwal.h) bound to a
 * schema and evaluated over Arrow record batches, plus the conjuncts an
 * index can answer.
 *
 * Life cycle: a caller parses text (mw_expr_parse) or builds an mw_expr tree
 * itself, binds it to a "+s" schema once (mw_filter_bind: names resolved,
 * types checked, literals converted to each column's value domain,
 * constants folded), then evaluates the bound filter over any number of
 * batches of that schema (mw_filter_eval). A bound filter is immutable after
 * bind and owns copies of everything it needs (the mw_expr and the schema
 * are borrowed for the bind call only), so one bound filter may be
 * evaluated by several threads at once.
 *
 * Semantics (memwal.h "filter expressions"): SQL three-valued logic; number
 * comparisons are exact across int64 / uint64 / double (no rounding of
 * the integer to double); NaN equals NaN and sorts after +inf; -0.0 ==
 * +0.0; strings compare bytewise (memcmp, a proper prefix first).
 *
 * Column types: comparisons accept int8..int64, uint8..uint64, float16/32/64
 * (numbers), utf8 / large_utf8 (strings), bool, and date32/date64/time32/
 * time64/timestamp/duration compared with integer literals (the stored
 * integer: days, or units of the type) or with a column of the very same
 * type. IS [NOT] NULL accepts a column of any type. Anything else is
 * refused at bind time (MW_ERR_INVALID naming the column).
 *
 * Rows of the batch's struct array that are null (its own validity bitmap)
 * read as null in every column. */
#ifndef MW_QUERY_FILTER_H
#define MW_QUERY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memtable/index_btree.h"
#include "memwal.h"

/* Deepest tree (levels of nodes, a lone column = 1) that mw_expr_parse
 * builds and mw_filter_bind / mw_expr_to_string accept; deeper (or cyclic)
 * C trees are refused with MW_ERR_INVALID. The parser also caps the
 * nesting of its input (parentheses + NOTs) at this number. */
#define MW_EXPR_MAX_DEPTH 64

/* Structural check of a C-built tree (kinds, n_args, args non-NULL, operand
 * kinds where the grammar wants a column or literal, BOOL 0/1, depth): the
 * shapes mw_expr_parse can produce and mw_expr_to_string can print.
 * MW_ERR_INVALID describing the first problem. */
mw_status mw_expr_check(const mw_expr *e, mw_error *err);

/* Tree equality: same kinds, ops, names, literals (floats bitwise except that
 * every NaN equals every NaN), same args in the same order. */
bool mw_expr_equal(const mw_expr *a, const mw_expr *b);

typedef struct mw_bound_filter mw_bound_filter;

/* Binds e to `schema` (a "+s" schema: top-level fields are the columns).
 * *out is owned by the caller (mw_bound_filter_free). MW_ERR_INVALID for an
 * unknown column, a type mismatch, an unsupported column type, a non-boolean
 * condition or a malformed tree; MW_ERR_NOMEM. */
mw_status mw_filter_bind(mw_bound_filter **out, const mw_expr *e, const struct ArrowSchema *schema,
                         mw_error *err);

void mw_bound_filter_free(mw_bound_filter *f); /* NULL ok */

/* keep[i] = 1 when the filter is TRUE for row start + i of `batch` (a struct
 * array of the bound schema; its offset, each child's offset and all
 * validity bitmaps are honoured), else 0 (FALSE or unknown), for i in
 * [0, len). Precondition: batch is valid for the schema (mw_batch_validate);
 * this only checks the shape it relies on (child count, the row range, the
 * referenced columns' lengths and buffers) and returns MW_ERR_INVALID
 * otherwise. Thread-safe on a shared bound filter. */
mw_status mw_filter_eval(uint8_t *keep, const mw_bound_filter *f, const struct ArrowArray *batch,
                         int64_t start, int64_t len, mw_error *err);

/* The same for a list of rows (e.g. the candidates an index returned):
 * keep[k] = 1 when the filter is TRUE for row rows[k] of the batch (0-based
 * logical rows: the struct's offset is added), for k in [0, n_rows). Rows
 * may come in any order and repeat; one outside [0, batch->length) is
 * MW_ERR_INVALID. The referenced columns must cover the whole batch. */
mw_status mw_filter_eval_rows(uint8_t *keep, const mw_bound_filter *f, const struct ArrowArray *batch,
                              const int64_t *rows, size_t n_rows, mw_error *err);

/* When the filter folded to a constant: 1 = every row passes, 0 = no row
 * does (FALSE or unknown); -1 = it depends on the rows. */
int mw_filter_constant(const mw_bound_filter *f);

/* Column indexes (into the bound schema's children) the filter reads, in
 * ascending order, without duplicates; *out borrowed from f. */
size_t mw_filter_columns(const mw_bound_filter *f, const size_t **out);

/* ---- index help
 *
 * A term is one top-level AND-conjunct of the bound filter (the whole filter
 * when it is not an AND) that an ordered index on one column can answer:
 * `column OP literal` (or `literal OP column`, flipped; NOT of one is the
 * negated comparison), `column IN (literals)`, or a bare bool column
 * (= TRUE; NOT flag = FALSE). The literal is already
 * converted to the column's key domain (mw_key_class_of of its type), and
 * the conversion is exact: the rows whose non-null cell k satisfies
 * `k op value` (mw_key_cmp order, as mw_btree_lookup answers it), or equals
 * one of `values`, are EXACTLY the rows for which that conjunct is TRUE.
 * When the literal is not representable in the column's domain the term is
 * rewritten to an equivalent one (int_col < 2.5 -> int_col <= 2; int64_col
 * < 1e300 -> int64_col >= INT64_MIN; float64_col = 2^53+1 -> `none`), and
 * when no row can satisfy it `none` is set (the filter can never be TRUE).
 * Conjuncts that cannot be expressed so (!=, NOT IN, IS NULL, column vs
 * column, OR, ...) are simply not terms.
 *
 * This is only an optimisation: the rows of ANY one term are a superset of
 * the rows that pass the filter, so a caller may fetch the candidates of
 * one term from the index and must still evaluate the whole filter on
 * them (mw_filter_eval_rows evaluates just the candidates). */
typedef struct mw_filter_term {
  size_t column;         /* child index in the bound schema */
  const char *name;      /* the column's name (owned by the bound filter) */
  mw_key_class kc;       /* mw_key_class_of(column type): the domain of value(s) */
  bool none;             /* no row can satisfy the term (op/value unused) */
  bool in;               /* true: `column IN values`; false: `column op value` */
  mw_filter_op op;       /* !in: EQ, LT, LE, GT or GE (never NE) */
  mw_key value;          /* !in; MW_KC_BYTES points into the bound filter */
  const mw_key *values;  /* in: n_values >= 1 distinct keys, ascending */
  size_t n_values;
} mw_filter_term;

/* The filter's terms (computed at bind time); *out borrowed from f, valid
 * until mw_bound_filter_free. Returns the count (0: no term, *out NULL). */
size_t mw_filter_index_terms(const mw_bound_filter *f, const mw_filter_term **out);

#endif
