/* filter.c - binding filter expressions to a schema, evaluating them over
 * Arrow record batches, and extracting the conjuncts an index can answer.
 *
 * Design.
 *  - Bind compiles the mw_expr tree into a small array of nodes. Each
 *    referenced column gets a slot (child index, type, value class: int64 /
 *    uint64 / double / bytes, exactly mw_key_class_of's domains). A
 *    `column OP literal` comparison converts the literal into the column's
 *    class once, EXACTLY: when the literal is not representable (int_col <
 *    2.5, float_col = 2^53+1, uint_col > -1, int_col < NaN) the comparison
 *    is rewritten into an equivalent one on a representable threshold
 *    (int_col <= 2) or into a constant for every non-null row. So the
 *    per-row loop compares two values of one type, and int vs float
 *    comparisons are exact without ever rounding an integer to double.
 *    Constant subtrees fold (literal vs literal, NULL operands, AND/OR with
 *    constant children, nested ANDs/ORs flatten).
 *  - Eval is vectorised per node over chunks of MW_FILTER_CHUNK rows: every
 *    node writes one byte per row, FALSE = 0, NULL (unknown) = 1, TRUE = 2,
 *    so AND is a byte-wise min, OR a max and NOT 2 - x (SQL three-valued
 *    logic). A leaf first decodes its column chunk into a typed buffer
 *    (widened to int64 / uint64 / double) plus a validity byte per row, then
 *    runs one tight loop per operator. AND / OR skip the remaining children
 *    of a chunk once it is all FALSE / all TRUE. The scratch (one mask per
 *    tree level plus two decode buffers) is allocated once per eval call,
 *    so a bound filter is read-only and shareable between threads.
 *  - Index terms are computed at bind time from the folded tree's top-level
 *    conjuncts (filter.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/error.h"
#include "query/filter.h"

#define MW_FILTER_CHUNK 1024

enum { V_F = 0, V_N = 1, V_T = 2 };

/* Value classes (== mw_key_class domains). */
typedef enum lclass { LC_NONE = 0, LC_I64, LC_U64, LC_F64, LC_BYTES } lclass;

/* What a column may be compared with. */
typedef enum cgroup { G_OTHER = 0, G_NUM, G_TEMPORAL, G_STR, G_BOOL } cgroup;

typedef struct bcol {
  size_t idx;     /* child index in the schema */
  mw_type type;
  lclass lc;
  cgroup group;
  bool used;      /* read by the folded tree (not only by folded-away nodes) */
  char *name;
} bcol;

/* Comparison operators after rewriting (ISNAN / NOTNAN: float columns
 * against a NaN literal). */
typedef enum xop { X_EQ, X_NE, X_LT, X_LE, X_GT, X_GE, X_ISNAN, X_NOTNAN } xop;

typedef enum nkind {
  N_CONST,   /* v for every row */
  N_NNCONST, /* v for every row whose column is not null, NULL otherwise */
  N_CMP_LIT, /* col op key */
  N_CMP_COL, /* col op col2 */
  N_IN,      /* col IN set (+ NULL in the list: set_null) */
  N_ISNULL,
  N_NOTNULL,
  N_AND, N_OR, N_NOT
} nkind;

typedef struct bnode {
  nkind kind;
  uint8_t v;
  xop op;
  int col, col2;
  mw_key key;
  void *key_bytes;      /* owned copy behind a LC_BYTES key */
  mw_key *set;          /* N_IN: sorted, distinct */
  size_t n_set;
  bool set_null;
  void **set_bytes;     /* owned copies behind LC_BYTES set keys */
  int *kids;
  size_t n_kids;
} bnode;

struct mw_bound_filter {
  size_t n_fields;      /* schema children */
  bcol *cols;
  size_t n_cols;
  bnode *nodes;
  size_t n_nodes, cap_nodes;
  int root;
  int depth;            /* levels of the compiled tree */
  size_t *col_list;     /* distinct child indexes read, ascending */
  size_t n_col_list;
  mw_filter_term *terms;
  size_t n_terms;
};

/* ------------------------------------------------------- exact numbers */

static int cmp_f_f(double a, double b) {
  bool an = a != a, bn = b != b;
  if (an || bn) return (int)an - (int)bn;
  return (a > b) - (a < b);
}
static int cmp_i_u(int64_t a, uint64_t b) {
  if (a < 0) return -1;
  return ((uint64_t)a > b) - ((uint64_t)a < b);
}
static int cmp_i_f(int64_t a, double b) {
  if (b != b) return -1; /* NaN is greater than everything */
  if (b >= 0x1p63) return -1;
  if (b < -0x1p63) return 1;
  double t = floor(b);
  int64_t ti = (int64_t)t;
  if (a != ti) return a < ti ? -1 : 1;
  return t < b ? -1 : 0;
}
static int cmp_u_f(uint64_t a, double b) {
  if (b != b) return -1;
  if (b >= 0x1p64) return -1;
  if (b < 0) return 1;
  double t = floor(b);
  uint64_t tu = (uint64_t)t;
  if (a != tu) return a < tu ? -1 : 1;
  return t < b ? -1 : 0;
}

static int cmp_bytes(const uint8_t *a, uint64_t an, const uint8_t *b, uint64_t bn) {
  uint64_t n = an < bn ? an : bn;
  int c = n ? memcmp(a, b, (size_t)n) : 0;
  if (c) return c < 0 ? -1 : 1;
  return (an > bn) - (an < bn);
}

/* Exact comparison of two numbers of any classes (NaN order). */
static int num_cmp(lclass la, const mw_key *a, lclass lb, const mw_key *b) {
  switch (la) {
    case LC_I64:
      if (lb == LC_I64) return (a->v.i > b->v.i) - (a->v.i < b->v.i);
      if (lb == LC_U64) return cmp_i_u(a->v.i, b->v.u);
      return cmp_i_f(a->v.i, b->v.f);
    case LC_U64:
      if (lb == LC_I64) return -cmp_i_u(b->v.i, a->v.u);
      if (lb == LC_U64) return (a->v.u > b->v.u) - (a->v.u < b->v.u);
      return cmp_u_f(a->v.u, b->v.f);
    default:
      if (lb == LC_I64) return -cmp_i_f(b->v.i, a->v.f);
      if (lb == LC_U64) return -cmp_u_f(b->v.u, a->v.f);
      return cmp_f_f(a->v.f, b->v.f);
  }
}

static bool xop_holds(xop op, int c) {
  switch (op) {
    case X_EQ: return c == 0;
    case X_NE: return c != 0;
    case X_LT: return c < 0;
    case X_LE: return c <= 0;
    case X_GT: return c > 0;
    case X_GE: return c >= 0;
    default: return false;
  }
}

static xop xop_of(mw_filter_op op) {
  switch (op) {
    case MW_FILTER_EQ: return X_EQ;
    case MW_FILTER_NE: return X_NE;
    case MW_FILTER_LT: return X_LT;
    case MW_FILTER_LE: return X_LE;
    case MW_FILTER_GT: return X_GT;
    case MW_FILTER_GE: return X_GE;
  }
  return X_EQ;
}

/* a op b  <=>  b flip(op) a */
static xop xop_flip(xop op) {
  switch (op) {
    case X_LT: return X_GT;
    case X_LE: return X_GE;
    case X_GT: return X_LT;
    case X_GE: return X_LE;
    default: return op;
  }
}

static xop xop_negate(xop op) {
  switch (op) {
    case X_EQ: return X_NE;
    case X_NE: return X_EQ;
    case X_LT: return X_GE;
    case X_LE: return X_GT;
    case X_GT: return X_LE;
    case X_GE: return X_LT;
    case X_ISNAN: return X_NOTNAN;
    case X_NOTNAN: return X_ISNAN;
  }
  return op;
}

/* ------------------------------------------------------------ types */

static void classify(bcol *c) {
  switch (c->type.id) {
    case MW_T_INT8: case MW_T_INT16: case MW_T_INT32: case MW_T_INT64:
      c->lc = LC_I64; c->group = G_NUM; break;
    case MW_T_UINT8: case MW_T_UINT16: case MW_T_UINT32: case MW_T_UINT64:
      c->lc = LC_U64; c->group = G_NUM; break;
    case MW_T_FLOAT16: case MW_T_FLOAT32: case MW_T_FLOAT64:
      c->lc = LC_F64; c->group = G_NUM; break;
    case MW_T_UTF8: case MW_T_LARGE_UTF8:
      c->lc = LC_BYTES; c->group = G_STR; break;
    case MW_T_BOOL:
      c->lc = LC_I64; c->group = G_BOOL; break;
    case MW_T_DATE32: case MW_T_DATE64: case MW_T_TIME32: case MW_T_TIME64:
    case MW_T_TIMESTAMP: case MW_T_DURATION:
      c->lc = LC_I64; c->group = G_TEMPORAL; break;
    default:
      c->lc = LC_NONE; c->group = G_OTHER; break;
  }
}

static const char *lit_desc(const mw_expr *e) {
  switch (e->kind) {
    case MW_EXPR_INT: return "an integer literal";
    case MW_EXPR_FLOAT: return "a float literal";
    case MW_EXPR_STRING: return "a string literal";
    case MW_EXPR_BOOL: return "a bool literal";
    default: return "NULL";
  }
}

static bool lit_fits(cgroup g, const mw_expr *lit) {
  switch (lit->kind) {
    case MW_EXPR_NULL: return g != G_OTHER;
    case MW_EXPR_INT: return g == G_NUM || g == G_TEMPORAL;
    case MW_EXPR_FLOAT: return g == G_NUM;
    case MW_EXPR_STRING: return g == G_STR;
    case MW_EXPR_BOOL: return g == G_BOOL;
    default: return false;
  }
}

/* ------------------------------------------------------------ binding */

typedef struct binder {
  mw_bound_filter *f;
  const struct ArrowSchema *schema;
  mw_error *err;
} binder;

static mw_status oom(binder *b) { return mw_err(b->err, MW_ERR_NOMEM, "filter: out of memory"); }

static mw_status new_bnode(binder *b, nkind kind, int *out) {
  mw_bound_filter *f = b->f;
  if (f->n_nodes == f->cap_nodes) {
    size_t cap = f->cap_nodes ? f->cap_nodes * 2 : 16;
    bnode *n = realloc(f->nodes, cap * sizeof *n);
    if (!n) return oom(b);
    f->nodes = n;
    f->cap_nodes = cap;
  }
  bnode *n = &f->nodes[f->n_nodes];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->col = n->col2 = -1;
  *out = (int)f->n_nodes++;
  return MW_OK;
}

static mw_status const_node(binder *b, uint8_t v, int *out) {
  MW_TRY(new_bnode(b, N_CONST, out));
  b->f->nodes[*out].v = v;
  return MW_OK;
}

static mw_status nnconst_node(binder *b, int col, uint8_t v, int *out) {
  MW_TRY(new_bnode(b, N_NNCONST, out));
  b->f->nodes[*out].v = v;
  b->f->nodes[*out].col = col;
  return MW_OK;
}

static void type_name_of(char *buf, size_t cap, const bcol *c) { mw_type_name(buf, cap, &c->type); }

/* The slot of column `name` (added on first use). */
static mw_status column_slot(binder *b, const char *name, int *out) {
  mw_bound_filter *f = b->f;
  for (size_t i = 0; i < f->n_cols; i++)
    if (strcmp(f->cols[i].name, name) == 0) { *out = (int)i; return MW_OK; }
  const struct ArrowSchema *s = b->schema;
  int64_t found = -1;
  for (int64_t i = 0; i < s->n_children; i++) {
    const struct ArrowSchema *c = s->children[i];
    if (c && c->name && strcmp(c->name, name) == 0) {
      if (found >= 0) return mw_err(b->err, MW_ERR_INVALID, "filter: column '%s' is ambiguous (two fields)", name);
      found = i;
    }
  }
  if (found < 0) return mw_err(b->err, MW_ERR_INVALID, "filter: no column '%s' in the schema", name);
  mw_type t;
  mw_error te = {0};
  if (!s->children[found]->format || mw_type_from_format(&t, s->children[found]->format, &te) != MW_OK)
    return mw_err(b->err, MW_ERR_INVALID, "filter: column '%s' has an unsupported type (%s)", name,
                  te.message);
  bcol *cols = realloc(f->cols, (f->n_cols + 1) * sizeof *cols);
  if (!cols) return oom(b);
  f->cols = cols;
  bcol *c = &cols[f->n_cols];
  memset(c, 0, sizeof *c);
  c->idx = (size_t)found;
  c->type = t;
  c->name = strdup(name);
  if (!c->name) return oom(b);
  classify(c);
  *out = (int)f->n_cols++;
  return MW_OK;
}

/* Key of a literal in its own class (numbers) for folding. */
static lclass lit_num(const mw_expr *e, mw_key *k) {
  if (e->kind == MW_EXPR_FLOAT) { k->v.f = e->f; return LC_F64; }
  k->v.i = e->i;
  return LC_I64;
}

/* literal vs literal -> V_F / V_N / V_T, or a type error. */
static mw_status fold_lits(binder *b, const mw_expr *x, xop op, const mw_expr *y, uint8_t *out) {
  if (x->kind == MW_EXPR_NULL || y->kind == MW_EXPR_NULL) { *out = V_N; return MW_OK; }
  bool xn = x->kind == MW_EXPR_INT || x->kind == MW_EXPR_FLOAT;
  bool yn = y->kind == MW_EXPR_INT || y->kind == MW_EXPR_FLOAT;
  int c;
  if (xn && yn) {
    mw_key a = {0}, k = {0};
    lclass la = lit_num(x, &a), lb = lit_num(y, &k);
    c = num_cmp(la, &a, lb, &k);
  } else if (x->kind == MW_EXPR_STRING && y->kind == MW_EXPR_STRING) {
    c = cmp_bytes((const uint8_t *)x->s, x->s_len, (const uint8_t *)y->s, y->s_len);
  } else if (x->kind == MW_EXPR_BOOL && y->kind == MW_EXPR_BOOL) {
    c = (x->i > y->i) - (x->i < y->i);
  } else {
    return mw_err(b->err, MW_ERR_INVALID, "filter: cannot compare %s with %s", lit_desc(x), lit_desc(y));
  }
  *out = xop_holds(op, c) ? V_T : V_F;
  return MW_OK;
}

/* On a bool column `b != k` is `b = !k` (an index can answer that). */
static void bool_ne_to_eq(binder *b, bnode *n) {
  if (b->f->cols[n->col].group == G_BOOL && n->op == X_NE) {
    n->op = X_EQ;
    n->key.v.i = !n->key.v.i;
  }
}

typedef enum conv { CV_EXACT, CV_SHIFT, CV_ALL_LESS, CV_ALL_GREATER } conv;

/* Converts a (non-NULL, compatible) literal into class lc. CV_EXACT: *k is
 * the literal. CV_SHIFT: the literal lies strictly between *k and the next
 * value of the class. CV_ALL_LESS / GREATER: every value of the class is
 * less / greater than the literal. */
static conv convert_lit(lclass lc, const mw_expr *lit, mw_key *k) {
  memset(k, 0, sizeof *k);
  switch (lc) {
    case LC_I64:
      if (lit->kind != MW_EXPR_FLOAT) { k->v.i = lit->i; return CV_EXACT; }
      {
        double d = lit->f;
        if (d != d || d >= 0x1p63) return CV_ALL_LESS;
        if (d < -0x1p63) return CV_ALL_GREATER;
        double t = floor(d);
        k->v.i = (int64_t)t;
        return t == d ? CV_EXACT : CV_SHIFT;
      }
    case LC_U64:
      if (lit->kind != MW_EXPR_FLOAT) {
        if (lit->i < 0) return CV_ALL_GREATER;
        k->v.u = (uint64_t)lit->i;
        return CV_EXACT;
      }
      {
        double d = lit->f;
        if (d != d || d >= 0x1p64) return CV_ALL_LESS;
        if (d < 0) return CV_ALL_GREATER;
        double t = floor(d);
        k->v.u = (uint64_t)t;
        return t == d ? CV_EXACT : CV_SHIFT;
      }
    case LC_F64:
      if (lit->kind == MW_EXPR_FLOAT) { k->v.f = lit->f; return CV_EXACT; }
      {
        int64_t L = lit->i;
        double dl = (double)L;
        int c = cmp_i_f(L, dl);
        if (c == 0) { k->v.f = dl; return CV_EXACT; }
        k->v.f = c < 0 ? nextafter(dl, -INFINITY) : dl;
        return CV_SHIFT;
      }
    case LC_BYTES:
      k->v.b.p = (const uint8_t *)lit->s;
      k->v.b.n = lit->s_len;
      return CV_EXACT;
    default:
      return CV_ALL_LESS;
  }
}

/* col op lit (column on the left). */
static mw_status cmp_col_lit(binder *b, int col, xop op, const mw_expr *lit, int *out) {
  const bcol *c = &b->f->cols[col];
  if (!lit_fits(c->group, lit)) {
    char tn[128];
    type_name_of(tn, sizeof tn, c);
    if (c->group == G_OTHER)
      return mw_err(b->err, MW_ERR_INVALID, "filter: column '%s' of type %s cannot be compared", c->name, tn);
    return mw_err(b->err, MW_ERR_INVALID, "filter: column '%s' (%s) cannot be compared with %s", c->name,
                  tn, lit_desc(lit));
  }
  if (lit->kind == MW_EXPR_NULL) return const_node(b, V_N, out);
  mw_key k = {0};
  conv cv = convert_lit(c->lc, lit, &k);
  bool lt_all = false, gt_all = false;
  switch (cv) {
    case CV_EXACT:
      if (c->lc == LC_F64 && k.v.f != k.v.f) { /* against NaN: NaN == NaN, NaN > all */
        switch (op) {
          case X_EQ: case X_GE: op = X_ISNAN; break;
          case X_NE: case X_LT: op = X_NOTNAN; break;
          case X_LE: return nnconst_node(b, col, V_T, out);
          default: return nnconst_node(b, col, V_F, out);
        }
      }
      break;
    case CV_SHIFT:
      switch (op) {
        case X_EQ: return nnconst_node(b, col, V_F, out);
        case X_NE: return nnconst_node(b, col, V_T, out);
        case X_LT: case X_LE: op = X_LE; break;
        default: op = X_GT; break;
      }
      break;
    case CV_ALL_LESS: lt_all = true; break;
    case CV_ALL_GREATER: gt_all = true; break;
  }
  if (lt_all || gt_all) {
    bool t;
    switch (op) {
      case X_EQ: t = false; break;
      case X_NE: t = true; break;
      case X_LT: case X_LE: t = lt_all; break;
      default: t = gt_all; break;
    }
    return nnconst_node(b, col, t ? V_T : V_F, out);
  }
  MW_TRY(new_bnode(b, N_CMP_LIT, out));
  bnode *n = &b->f->nodes[*out];
  n->col = col;
  n->op = op;
  n->key = k;
  if (c->lc == LC_BYTES) {
    n->key_bytes = malloc(k.v.b.n ? k.v.b.n : 1);
    if (!n->key_bytes) return oom(b);
    if (k.v.b.n) memcpy(n->key_bytes, k.v.b.p, k.v.b.n);
    n->key.v.b.p = n->key_bytes;
  }
  bool_ne_to_eq(b, n);
  return MW_OK;
}

static bool is_lit(const mw_expr *e) {
  return e->kind == MW_EXPR_INT || e->kind == MW_EXPR_FLOAT || e->kind == MW_EXPR_STRING ||
         e->kind == MW_EXPR_BOOL || e->kind == MW_EXPR_NULL;
}

static mw_status compile(binder *b, const mw_expr *e, int *out);

static mw_status compile_cmp(binder *b, const mw_expr *e, int *out) {
  const mw_expr *x = e->args[0], *y = e->args[1];
  xop op = xop_of(e->op);
  if (is_lit(x) && is_lit(y)) {
    uint8_t v = 0;
    MW_TRY(fold_lits(b, x, op, y, &v));
    return const_node(b, v, out);
  }
  if (is_lit(x)) { /* literal op column -> column flip(op) literal */
    const mw_expr *t = x;
    x = y;
    y = t;
    op = xop_flip(op);
  }
  int ca;
  MW_TRY(column_slot(b, x->name, &ca));
  if (is_lit(y)) return cmp_col_lit(b, ca, op, y, out);
  int cb;
  MW_TRY(column_slot(b, y->name, &cb));
  const bcol *A = &b->f->cols[ca], *B = &b->f->cols[cb];
  bool ok = A->group != G_OTHER && A->group == B->group;
  if (ok && A->group == G_TEMPORAL)
    ok = A->type.id == B->type.id && (A->type.id == MW_T_DATE32 || A->type.id == MW_T_DATE64 ||
                                      A->type.unit == B->type.unit);
  if (!ok) {
    char ta[128], tb[128];
    type_name_of(ta, sizeof ta, A);
    type_name_of(tb, sizeof tb, B);
    return mw_err(b->err, MW_ERR_INVALID, "filter: column '%s' (%s) cannot be compared with column '%s' (%s)",
                  A->name, ta, B->name, tb);
  }
  MW_TRY(new_bnode(b, N_CMP_COL, out));
  bnode *n = &b->f->nodes[*out];
  n->col = ca;
  n->col2 = cb;
  n->op = op;
  return MW_OK;
}

static _Thread_local lclass sort_lc; /* qsort has no context argument in C11 */

static int key_qcmp(const void *pa, const void *pb) {
  const mw_key *a = pa, *b = pb;
  if (sort_lc == LC_BYTES) return cmp_bytes(a->v.b.p, a->v.b.n, b->v.b.p, b->v.b.n);
  return num_cmp(sort_lc, a, sort_lc, b);
}

static mw_status compile_in(binder *b, const mw_expr *e, int *out) {
  const mw_expr *x = e->args[0];
  size_t n_lits = e->n_args - 1;
  if (is_lit(x)) { /* literal IN (literals): fold */
    uint8_t v = V_F;
    for (size_t i = 0; i < n_lits; i++) {
      uint8_t r = 0;
      MW_TRY(fold_lits(b, x, X_EQ, e->args[1 + i], &r));
      if (r > v) v = r; /* OR of the equalities */
    }
    return const_node(b, v, out);
  }
  int col;
  MW_TRY(column_slot(b, x->name, &col));
  const bcol *c = &b->f->cols[col];
  mw_key *set = malloc(n_lits * sizeof *set);
  if (!set) return oom(b);
  size_t n = 0;
  bool has_null = false;
  for (size_t i = 0; i < n_lits; i++) {
    const mw_expr *lit = e->args[1 + i];
    if (!lit_fits(c->group, lit)) {
      free(set);
      char tn[128];
      type_name_of(tn, sizeof tn, c);
      return mw_err(b->err, MW_ERR_INVALID, "filter: column '%s' (%s) cannot be compared with %s in IN",
                    c->name, tn, lit_desc(lit));
    }
    if (lit->kind == MW_EXPR_NULL) { has_null = true; continue; }
    mw_key k = {0};
    if (convert_lit(c->lc, lit, &k) == CV_EXACT) set[n++] = k; /* others never equal */
  }
  if (n == 0) {
    free(set);
    return has_null ? const_node(b, V_N, out) : nnconst_node(b, col, V_F, out);
  }
  sort_lc = c->lc;
  qsort(set, n, sizeof *set, key_qcmp);
  size_t m = 1;
  for (size_t i = 1; i < n; i++)
    if (key_qcmp(&set[m - 1], &set[i]) != 0) set[m++] = set[i];
  mw_status st = new_bnode(b, N_IN, out);
  if (st != MW_OK) { free(set); return st; }
  bnode *nd = &b->f->nodes[*out];
  nd->col = col;
  nd->set = set;
  nd->n_set = m;
  nd->set_null = has_null;
  if (c->lc == LC_BYTES) {
    nd->set_bytes = calloc(m, sizeof *nd->set_bytes);
    if (!nd->set_bytes) return oom(b);
    for (size_t i = 0; i < m; i++) {
      nd->set_bytes[i] = malloc(set[i].v.b.n ? set[i].v.b.n : 1);
      if (!nd->set_bytes[i]) return oom(b);
      if (set[i].v.b.n) memcpy(nd->set_bytes[i], set[i].v.b.p, set[i].v.b.n);
      set[i].v.b.p = nd->set_bytes[i];
    }
  }
  return MW_OK;
}

static mw_status compile_logic(binder *b, const mw_expr *e, int *out) {
  bool is_and = e->kind == MW_EXPR_AND;
  uint8_t absorbing = is_and ? V_F : V_T, neutral = is_and ? V_T : V_F;
  int *kids = NULL;
  size_t n = 0, cap = 0;
  bool saw_null_const = false, absorbed = false;
  mw_status st = MW_OK;
  /* every child is compiled (and so type-checked) even after an absorbing
   * constant decided the result */
  for (size_t i = 0; i < e->n_args && st == MW_OK; i++) {
    int k;
    st = compile(b, e->args[i], &k);
    if (st != MW_OK) break;
    bnode *kn = &b->f->nodes[k];
    if (kn->kind == N_CONST) {
      if (kn->v == absorbing) absorbed = true;
      else if (kn->v == V_N) saw_null_const = true;
      continue; /* the neutral constant is dropped; NULL is re-added once below */
    }
    /* flatten a nested node of the same kind */
    size_t add = kn->kind == (is_and ? N_AND : N_OR) ? kn->n_kids : 1;
    if (n + add > cap) {
      size_t nc = (n + add) * 2;
      int *nk = realloc(kids, nc * sizeof *nk);
      if (!nk) { st = oom(b); break; }
      kids = nk;
      cap = nc;
    }
    if (add == 1 && !(kn->kind == (is_and ? N_AND : N_OR))) {
      kids[n++] = k;
    } else {
      memcpy(kids + n, kn->kids, add * sizeof *kids);
      n += add;
    }
  }
  if (st != MW_OK) { free(kids); return st; }
  if (absorbed) { free(kids); return const_node(b, absorbing, out); }
  if (n == 0) { free(kids); return const_node(b, saw_null_const ? V_N : neutral, out); }
  if (saw_null_const) { /* keep one NULL constant: it still matters */
    int k;
    st = const_node(b, V_N, &k);
    if (st != MW_OK) { free(kids); return st; }
    if (n + 1 > cap) {
      int *nk = realloc(kids, (n + 1) * sizeof *nk);
      if (!nk) { free(kids); return oom(b); }
      kids = nk;
    }
    kids[n++] = k;
  }
  if (n == 1) { *out = kids[0]; free(kids); return MW_OK; }
  st = new_bnode(b, is_and ? N_AND : N_OR, out);
  if (st != MW_OK) { free(kids); return st; }
  b->f->nodes[*out].kids = kids;
  b->f->nodes[*out].n_kids = n;
  return MW_OK;
}

static mw_status compile(binder *b, const mw_expr *e, int *out) {
  switch (e->kind) {
    case MW_EXPR_AND: case MW_EXPR_OR: return compile_logic(b, e, out);
    case MW_EXPR_NOT: {
      int k;
      MW_TRY(compile(b, e->args[0], &k));
      bnode *kn = &b->f->nodes[k];
      if (kn->kind == N_CONST) return const_node(b, (uint8_t)(2 - kn->v), out);
      if (kn->kind == N_NNCONST) return nnconst_node(b, kn->col, (uint8_t)(2 - kn->v), out);
      if (kn->kind == N_CMP_LIT || kn->kind == N_CMP_COL) {
        /* the value order is total (NaN == NaN, NaN last), so NOT (x op y)
         * is x negate(op) y, and a null operand stays unknown; the child is
         * referenced only here, so it is rewritten in place */
        kn->op = xop_negate(kn->op);
        if (kn->kind == N_CMP_LIT) bool_ne_to_eq(b, kn);
        *out = k;
        return MW_OK;
      }
      MW_TRY(new_bnode(b, N_NOT, out));
      int *kids = malloc(sizeof *kids);
      if (!kids) return oom(b);
      kids[0] = k;
      b->f->nodes[*out].kids = kids;
      b->f->nodes[*out].n_kids = 1;
      return MW_OK;
    }
    case MW_EXPR_CMP: return compile_cmp(b, e, out);
    case MW_EXPR_IN: return compile_in(b, e, out);
    case MW_EXPR_IS_NULL: case MW_EXPR_IS_NOT_NULL: {
      bool want_null = e->kind == MW_EXPR_IS_NULL;
      const mw_expr *x = e->args[0];
      if (is_lit(x)) return const_node(b, (x->kind == MW_EXPR_NULL) == want_null ? V_T : V_F, out);
      int col;
      MW_TRY(column_slot(b, x->name, &col));
      MW_TRY(new_bnode(b, want_null ? N_ISNULL : N_NOTNULL, out));
      b->f->nodes[*out].col = col;
      return MW_OK;
    }
    case MW_EXPR_COLUMN: {
      int col;
      MW_TRY(column_slot(b, e->name, &col));
      const bcol *c = &b->f->cols[col];
      if (c->group != G_BOOL) {
        char tn[128];
        type_name_of(tn, sizeof tn, c);
        return mw_err(b->err, MW_ERR_INVALID, "filter: column '%s' (%s) is not a condition (not bool)",
                      c->name, tn);
      }
      mw_expr t = {.kind = MW_EXPR_BOOL, .i = 1};
      return cmp_col_lit(b, col, X_EQ, &t, out);
    }
    case MW_EXPR_BOOL: return const_node(b, e->i ? V_T : V_F, out);
    case MW_EXPR_NULL: return const_node(b, V_N, out);
    default:
      return mw_err(b->err, MW_ERR_INVALID, "filter: %s is not a condition", lit_desc(e));
  }
}

static int node_depth(const mw_bound_filter *f, int k) {
  const bnode *n = &f->nodes[k];
  int d = 0;
  for (size_t i = 0; i < n->n_kids; i++) {
    int c = node_depth(f, n->kids[i]);
    if (c > d) d = c;
  }
  return d + 1;
}

/* ---- index terms */

static void domain_min(lclass lc, mw_key *k) {
  memset(k, 0, sizeof *k);
  switch (lc) {
    case LC_I64: k->v.i = INT64_MIN; break;
    case LC_U64: k->v.u = 0; break;
    case LC_F64: k->v.f = -INFINITY; break;
    default: k->v.b.p = (const uint8_t *)""; k->v.b.n = 0; break;
  }
}

static mw_key_class kc_of(lclass lc) {
  switch (lc) {
    case LC_I64: return MW_KC_INT;
    case LC_U64: return MW_KC_UINT;
    case LC_F64: return MW_KC_FLOAT;
    case LC_BYTES: return MW_KC_BYTES;
    default: return MW_KC_NONE;
  }
}

/* Fills *t from node k when it is a term; false otherwise. */
static bool term_of(const mw_bound_filter *f, int k, mw_filter_term *t) {
  const bnode *n = &f->nodes[k];
  memset(t, 0, sizeof *t);
  if (n->col < 0 || n->col2 >= 0) return false;
  const bcol *c = &f->cols[n->col];
  if (c->lc == LC_NONE) return false;
  t->column = c->idx;
  t->name = c->name;
  t->kc = kc_of(c->lc);
  switch (n->kind) {
    case N_NNCONST:
      if (n->v != V_T) { t->none = true; return true; }
      t->op = MW_FILTER_GE; /* every non-null row */
      domain_min(c->lc, &t->value);
      return true;
    case N_CMP_LIT:
      t->value = n->key;
      switch (n->op) {
        case X_EQ: t->op = MW_FILTER_EQ; return true;
        case X_LT: t->op = MW_FILTER_LT; return true;
        case X_LE: t->op = MW_FILTER_LE; return true;
        case X_GT: t->op = MW_FILTER_GT; return true;
        case X_GE: t->op = MW_FILTER_GE; return true;
        case X_ISNAN: t->op = MW_FILTER_EQ; t->value.v.f = NAN; return true;
        case X_NOTNAN: t->op = MW_FILTER_LT; t->value.v.f = NAN; return true;
        default: return false; /* != : not a range */
      }
    case N_IN:
      t->in = true;
      t->values = n->set;
      t->n_values = n->n_set;
      return true;
    default:
      return false;
  }
}

static mw_status build_terms(binder *b) {
  mw_bound_filter *f = b->f;
  const bnode *r = &f->nodes[f->root];
  const int *conj = r->kind == N_AND ? r->kids : &f->root;
  size_t n = r->kind == N_AND ? r->n_kids : 1;
  f->terms = calloc(n, sizeof *f->terms);
  if (!f->terms) return oom(b);
  for (size_t i = 0; i < n; i++)
    if (term_of(f, conj[i], &f->terms[f->n_terms])) f->n_terms++;
  return MW_OK;
}

static int size_cmp(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

void mw_bound_filter_free(mw_bound_filter *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n_nodes; i++) {
    bnode *n = &f->nodes[i];
    free(n->key_bytes);
    if (n->set_bytes)
      for (size_t k = 0; k < n->n_set; k++) free(n->set_bytes[k]);
    free(n->set_bytes);
    free(n->set);
    free(n->kids);
  }
  free(f->nodes);
  for (size_t i = 0; i < f->n_cols; i++) free(f->cols[i].name);
  free(f->cols);
  free(f->col_list);
  free(f->terms);
  free(f);
}

mw_status mw_filter_bind(mw_bound_filter **out, const mw_expr *e, const struct ArrowSchema *schema,
                         mw_error *err) {
  *out = NULL;
  if (!schema || !schema->format || strcmp(schema->format, "+s") != 0)
    return mw_err(err, MW_ERR_INVALID, "filter: the schema must be a struct (\"+s\")");
  if (schema->n_children < 0 || (schema->n_children > 0 && !schema->children))
    return mw_err(err, MW_ERR_INVALID, "filter: malformed schema children");
  MW_TRY(mw_expr_check(e, err));
  mw_bound_filter *f = calloc(1, sizeof *f);
  if (!f) return mw_err(err, MW_ERR_NOMEM, "filter: out of memory");
  f->n_fields = (size_t)schema->n_children;
  binder b = {f, schema, err};
  mw_status st = compile(&b, e, &f->root);
  if (st == MW_OK) {
    f->depth = node_depth(f, f->root);
    f->col_list = malloc((f->n_cols ? f->n_cols : 1) * sizeof *f->col_list);
    if (!f->col_list) st = oom(&b);
  }
  if (st == MW_OK) {
    /* only the columns the folded tree still reads: walk from the root
     * (nodes folded away stay in the array, unreachable; every node has at
     * most one reachable parent, so the worklist never exceeds n_nodes) */
    bool *used = calloc(f->n_cols ? f->n_cols : 1, sizeof *used);
    int *work = malloc(f->n_nodes * sizeof *work);
    if (!used || !work) {
      st = oom(&b);
    } else {
      size_t top = 0;
      work[top++] = f->root;
      while (top) {
        const bnode *n = &f->nodes[work[--top]];
        if (n->col >= 0) used[n->col] = true;
        if (n->col2 >= 0) used[n->col2] = true;
        for (size_t k = 0; k < n->n_kids; k++) work[top++] = n->kids[k];
      }
      for (size_t i = 0; i < f->n_cols; i++)
        if ((f->cols[i].used = used[i])) f->col_list[f->n_col_list++] = f->cols[i].idx;
      qsort(f->col_list, f->n_col_list, sizeof *f->col_list, size_cmp);
    }
    free(used);
    free(work);
  }
  if (st == MW_OK) st = build_terms(&b);
  if (st != MW_OK) {
    mw_bound_filter_free(f);
    return st;
  }
  *out = f;
  return MW_OK;
}

/* ------------------------------------------------------------- evaluation */

typedef struct ectx {
  const mw_bound_filter *f;
  const struct ArrowArray *batch;
  int64_t srow;          /* struct-array index (offset included) of the chunk's first row,
                            or with rows: of the batch's row 0 */
  const int64_t *rows;   /* NULL: rows srow .. srow + n - 1; else srow + rows[i] */
  int64_t n;             /* rows in the chunk */
  int64_t cap;           /* rows per chunk the scratch holds (<= MW_FILTER_CHUNK) */
  uint8_t *masks;        /* (depth + 1) * cap */
  /* decoded values of up to two columns: integers (vi and vu share memory:
   * signed/unsigned views of one buffer) and doubles, cap each */
  int64_t *vi[2];
  uint64_t *vu[2];
  double *vf[2];
  uint8_t *valid;        /* 2 * cap: 1 = non-null */
} ectx;

static double half_to_double(uint16_t h) {
  int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0) v = ldexp((double)mant, -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = ldexp((double)(mant | 0x400), exp - 25);
  return (h >> 15) ? -v : v;
}

/* Unaligned-safe loads of element j of a values buffer. */
#define MW_DEF_LD(T, NAME)                                              \
  static inline T NAME(const void *buf, int64_t j) {                    \
    T v;                                                                \
    memcpy(&v, (const uint8_t *)buf + (size_t)j * sizeof(T), sizeof(T)); \
    return v;                                                           \
  }
MW_DEF_LD(int8_t, ld_int8_t)
MW_DEF_LD(int16_t, ld_int16_t)
MW_DEF_LD(int32_t, ld_int32_t)
MW_DEF_LD(int64_t, ld_int64_t)
MW_DEF_LD(uint8_t, ld_uint8_t)
MW_DEF_LD(uint16_t, ld_uint16_t)
MW_DEF_LD(uint32_t, ld_uint32_t)
MW_DEF_LD(uint64_t, ld_uint64_t)
MW_DEF_LD(float, ld_float)
MW_DEF_LD(double, ld_double)
#define LOADV(T, buf, j) ld_##T(buf, j)

/* Runs the body for i in [0, x->n) with J = J0 + the chunk's row i: a
 * contiguous run (x->rows NULL: row i) or a gather (x->rows[i]). Two loops,
 * so the contiguous one stays vectorisable. */
#define ROWS_LOOP(x, J, J0, ...)                                                   \
  do {                                                                             \
    const int64_t *rows_ = (x)->rows;                                              \
    int64_t j0_ = (J0), n_ = (x)->n;                                               \
    if (!rows_) {                                                                  \
      for (int64_t i = 0; i < n_; i++) { int64_t J = j0_ + i; __VA_ARGS__ }        \
    } else {                                                                       \
      for (int64_t i = 0; i < n_; i++) { int64_t J = j0_ + rows_[i]; __VA_ARGS__ } \
    }                                                                              \
  } while (0)

static inline const struct ArrowArray *col_array(const ectx *x, int col) {
  return x->batch->children[x->f->cols[col].idx];
}

/* Validity of the chunk's rows for column `col` into v (1 = non-null);
 * returns whether any row is null. Struct-level nulls count as nulls. */
static bool decode_valid(const ectx *x, int col, uint8_t *v) {
  const struct ArrowArray *a = col_array(x, col);
  const struct ArrowArray *s = x->batch;
  int64_t n = x->n;
  if (x->f->cols[col].type.id == MW_T_NULL) {
    memset(v, 0, (size_t)n);
    return n > 0;
  }
  const uint8_t *bm = (a->null_count != 0 && a->n_buffers > 0) ? a->buffers[0] : NULL;
  const uint8_t *sbm = (s->null_count != 0 && s->n_buffers > 0) ? s->buffers[0] : NULL;
  if (!bm && !sbm) {
    memset(v, 1, (size_t)n);
    return false;
  }
  if (bm) ROWS_LOOP(x, j, a->offset + x->srow, v[i] = (bm[j >> 3] >> (j & 7)) & 1;);
  else memset(v, 1, (size_t)n);
  if (sbm) ROWS_LOOP(x, j, x->srow, v[i] &= (sbm[j >> 3] >> (j & 7)) & 1;);
  uint8_t all = 1;
  for (int64_t i = 0; i < n; i++) all &= v[i];
  return !all;
}

/* Decodes the chunk's values of a numeric / bool / temporal column into
 * buffer `which` (widened to its class). */
static void decode_vals(const ectx *x, int col, int which) {
  const struct ArrowArray *a = col_array(x, col);
  const void *buf = a->buffers[1];
  int64_t j0 = a->offset + x->srow;
  int64_t *oi = x->vi[which];
  uint64_t *ou = x->vu[which];
  double *of = x->vf[which];
  switch (x->f->cols[col].type.id) {
    case MW_T_BOOL: {
      const uint8_t *bits = buf;
      ROWS_LOOP(x, j, j0, oi[i] = (bits[j >> 3] >> (j & 7)) & 1;);
      break;
    }
    case MW_T_INT8: ROWS_LOOP(x, j, j0, oi[i] = LOADV(int8_t, buf, j);); break;
    case MW_T_INT16: ROWS_LOOP(x, j, j0, oi[i] = LOADV(int16_t, buf, j);); break;
    case MW_T_INT32: case MW_T_DATE32: case MW_T_TIME32:
      ROWS_LOOP(x, j, j0, oi[i] = LOADV(int32_t, buf, j););
      break;
    case MW_T_INT64: case MW_T_DATE64: case MW_T_TIME64: case MW_T_TIMESTAMP: case MW_T_DURATION:
      ROWS_LOOP(x, j, j0, oi[i] = LOADV(int64_t, buf, j););
      break;
    case MW_T_UINT8: ROWS_LOOP(x, j, j0, ou[i] = LOADV(uint8_t, buf, j);); break;
    case MW_T_UINT16: ROWS_LOOP(x, j, j0, ou[i] = LOADV(uint16_t, buf, j);); break;
    case MW_T_UINT32: ROWS_LOOP(x, j, j0, ou[i] = LOADV(uint32_t, buf, j);); break;
    case MW_T_UINT64: ROWS_LOOP(x, j, j0, ou[i] = LOADV(uint64_t, buf, j);); break;
    case MW_T_FLOAT16: ROWS_LOOP(x, j, j0, of[i] = half_to_double(LOADV(uint16_t, buf, j));); break;
    case MW_T_FLOAT32: ROWS_LOOP(x, j, j0, of[i] = LOADV(float, buf, j);); break;
    case MW_T_FLOAT64: ROWS_LOOP(x, j, j0, of[i] = LOADV(double, buf, j);); break;
    default: break;
  }
}

/* Decoded value i of buffer `which` as a key of class lc. */
static inline void key_at(const ectx *x, lclass lc, int which, int64_t i, mw_key *k) {
  if (lc == LC_F64) k->v.f = x->vf[which][i];
  else k->v.u = x->vu[which][i];
}

/* Bytes of element i of the chunk of a utf8 / large_utf8 column. */
static inline void str_at(const struct ArrowArray *a, bool large, int64_t j, const uint8_t **p, uint64_t *n) {
  const uint8_t *data = a->buffers[2];
  if (large) {
    int64_t s = LOADV(int64_t, a->buffers[1], j), e = LOADV(int64_t, a->buffers[1], j + 1);
    *p = data + s;
    *n = (uint64_t)(e - s);
  } else {
    int32_t s = LOADV(int32_t, a->buffers[1], j), e = LOADV(int32_t, a->buffers[1], j + 1);
    *p = data + s;
    *n = (uint64_t)(int64_t)(e - s);
  }
}

/* r[i] = (X[i] OP K) ? TRUE : FALSE, one loop per operator. */
#define CMP_LOOPS(X, K, NANX)                                                      \
  switch (op) {                                                                    \
    case X_EQ: for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)((X[i] == K) << 1); break; \
    case X_NE: for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)((X[i] != K) << 1); break; \
    case X_LT: for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)((X[i] < K) << 1); break;  \
    case X_LE: for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)((X[i] <= K) << 1); break; \
    case X_GT: for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)(((X[i] > K) | NANX(X[i])) << 1); break; \
    case X_GE: for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)(((X[i] >= K) | NANX(X[i])) << 1); break; \
    case X_ISNAN: for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)(NANX(X[i]) << 1); break; \
    case X_NOTNAN: for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)((!NANX(X[i])) << 1); break; \
  }
#define NO_NAN(v) 0
#define IS_NAN(v) ((v) != (v))

static void apply_nulls(uint8_t *r, const uint8_t *valid, int64_t n) {
  for (int64_t i = 0; i < n; i++) r[i] = valid[i] ? r[i] : (uint8_t)V_N;
}

static void eval_cmp_lit(const ectx *x, const bnode *nd, uint8_t *r) {
  const bcol *c = &x->f->cols[nd->col];
  int64_t n = x->n;
  xop op = nd->op;
  if (c->lc == LC_BYTES) {
    const struct ArrowArray *a = col_array(x, nd->col);
    int64_t j0 = a->offset + x->srow;
    const uint8_t *kp = nd->key.v.b.p;
    uint64_t kn = nd->key.v.b.n;
    if (op == X_EQ || op == X_NE) { /* lengths first: memcmp only on equal lengths */
      uint8_t hit = op == X_EQ ? V_T : V_F;
      const uint8_t *data = a->buffers[2];
      const void *offs = a->buffers[1];
      if (c->type.id == MW_T_LARGE_UTF8) {
        ROWS_LOOP(x, j, j0, {
          int64_t s0 = LOADV(int64_t, offs, j), s1 = LOADV(int64_t, offs, j + 1);
          bool eq = (uint64_t)(s1 - s0) == kn && (kn == 0 || memcmp(data + s0, kp, kn) == 0);
          r[i] = eq ? hit : (uint8_t)(V_T - hit);
        });
      } else {
        ROWS_LOOP(x, j, j0, {
          int32_t s0 = LOADV(int32_t, offs, j), s1 = LOADV(int32_t, offs, j + 1);
          bool eq = (uint64_t)(int64_t)(s1 - s0) == kn && (kn == 0 || memcmp(data + s0, kp, kn) == 0);
          r[i] = eq ? hit : (uint8_t)(V_T - hit);
        });
      }
    } else {
      uint8_t tab[3]; /* result by comparison sign + 1 */
      for (int cm = -1; cm <= 1; cm++) tab[cm + 1] = xop_holds(op, cm) ? V_T : V_F;
      bool large = c->type.id == MW_T_LARGE_UTF8;
      ROWS_LOOP(x, j, j0, {
        const uint8_t *p;
        uint64_t len;
        str_at(a, large, j, &p, &len);
        r[i] = tab[cmp_bytes(p, len, kp, kn) + 1];
      });
    }
  } else {
    decode_vals(x, nd->col, 0);
    if (c->lc == LC_I64) {
      const int64_t *v = x->vi[0];
      int64_t k = nd->key.v.i;
      CMP_LOOPS(v, k, NO_NAN)
    } else if (c->lc == LC_U64) {
      const uint64_t *v = x->vu[0];
      uint64_t k = nd->key.v.u;
      CMP_LOOPS(v, k, NO_NAN)
    } else {
      const double *v = x->vf[0];
      double k = nd->key.v.f;
      CMP_LOOPS(v, k, IS_NAN)
    }
  }
  if (decode_valid(x, nd->col, x->valid)) apply_nulls(r, x->valid, n);
}

static void eval_cmp_col(const ectx *x, const bnode *nd, uint8_t *r) {
  const bcol *A = &x->f->cols[nd->col], *B = &x->f->cols[nd->col2];
  int64_t n = x->n;
  if (A->lc == LC_BYTES) {
    const struct ArrowArray *a = col_array(x, nd->col), *b = col_array(x, nd->col2);
    bool al = A->type.id == MW_T_LARGE_UTF8, bl = B->type.id == MW_T_LARGE_UTF8;
    int64_t db = b->offset - a->offset; /* element of b = element of a + db */
    ROWS_LOOP(x, j, a->offset + x->srow, {
      const uint8_t *p, *q;
      uint64_t pn, qn;
      str_at(a, al, j, &p, &pn);
      str_at(b, bl, j + db, &q, &qn);
      r[i] = xop_holds(nd->op, cmp_bytes(p, pn, q, qn)) ? V_T : V_F;
    });
  } else {
    decode_vals(x, nd->col, 0);
    decode_vals(x, nd->col2, 1);
    if (A->lc == LC_I64 && B->lc == LC_I64) {
      const int64_t *u = x->vi[0], *v = x->vi[1];
      for (int64_t i = 0; i < n; i++) r[i] = xop_holds(nd->op, (u[i] > v[i]) - (u[i] < v[i])) ? V_T : V_F;
    } else {
      for (int64_t i = 0; i < n; i++) {
        mw_key ka, kb;
        key_at(x, A->lc, 0, i, &ka);
        key_at(x, B->lc, 1, i, &kb);
        r[i] = xop_holds(nd->op, num_cmp(A->lc, &ka, B->lc, &kb)) ? V_T : V_F;
      }
    }
  }
  bool na = decode_valid(x, nd->col, x->valid);
  if (na) apply_nulls(r, x->valid, n);
  if (decode_valid(x, nd->col2, x->valid + x->cap)) apply_nulls(r, x->valid + x->cap, n);
}

static bool set_has(lclass lc, const mw_key *set, size_t n, const mw_key *k) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = lc == LC_BYTES ? cmp_bytes(set[mid].v.b.p, set[mid].v.b.n, k->v.b.p, k->v.b.n)
                           : num_cmp(lc, &set[mid], lc, k);
    if (c == 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/* IN lists up to this long are matched key by key (a vectorisable loop per
 * key); longer ones by binary search. */
#define MW_IN_LINEAR 16

static void eval_in(const ectx *x, const bnode *nd, uint8_t *r) {
  const bcol *c = &x->f->cols[nd->col];
  int64_t n = x->n;
  uint8_t miss = nd->set_null ? V_N : V_F;
  if (c->lc == LC_BYTES) {
    const struct ArrowArray *a = col_array(x, nd->col);
    bool large = c->type.id == MW_T_LARGE_UTF8;
    ROWS_LOOP(x, j, a->offset + x->srow, {
      mw_key k = {0};
      str_at(a, large, j, &k.v.b.p, &k.v.b.n);
      bool hit = false;
      if (nd->n_set <= MW_IN_LINEAR) {
        for (size_t s = 0; s < nd->n_set && !hit; s++)
          hit = nd->set[s].v.b.n == k.v.b.n &&
                (k.v.b.n == 0 || memcmp(nd->set[s].v.b.p, k.v.b.p, k.v.b.n) == 0);
      } else {
        hit = set_has(LC_BYTES, nd->set, nd->n_set, &k);
      }
      r[i] = hit ? V_T : miss;
    });
  } else {
    decode_vals(x, nd->col, 0);
    if (nd->n_set <= MW_IN_LINEAR) {
      uint8_t *hit = r; /* 0/1 per row, then mapped to TRUE / miss */
      memset(hit, 0, (size_t)n);
      for (size_t s = 0; s < nd->n_set; s++) {
        if (c->lc == LC_F64) {
          const double *v = x->vf[0];
          double k = nd->set[s].v.f;
          if (k != k) for (int64_t i = 0; i < n; i++) hit[i] |= (uint8_t)(v[i] != v[i]);
          else for (int64_t i = 0; i < n; i++) hit[i] |= (uint8_t)(v[i] == k);
        } else { /* int64 and uint64 equality are the same bit test */
          const uint64_t *v = x->vu[0];
          uint64_t k = nd->set[s].v.u;
          for (int64_t i = 0; i < n; i++) hit[i] |= (uint8_t)(v[i] == k);
        }
      }
      for (int64_t i = 0; i < n; i++) r[i] = hit[i] ? (uint8_t)V_T : miss;
    } else {
      for (int64_t i = 0; i < n; i++) {
        mw_key k = {0};
        key_at(x, c->lc, 0, i, &k);
        r[i] = set_has(c->lc, nd->set, nd->n_set, &k) ? V_T : miss;
      }
    }
  }
  if (decode_valid(x, nd->col, x->valid)) apply_nulls(r, x->valid, n);
}

static void eval_node(const ectx *x, int k, uint8_t *r, int level) {
  const bnode *nd = &x->f->nodes[k];
  int64_t n = x->n;
  switch (nd->kind) {
    case N_CONST: memset(r, nd->v, (size_t)n); return;
    case N_NNCONST:
      memset(r, nd->v, (size_t)n);
      if (decode_valid(x, nd->col, x->valid)) apply_nulls(r, x->valid, n);
      return;
    case N_CMP_LIT: eval_cmp_lit(x, nd, r); return;
    case N_CMP_COL: eval_cmp_col(x, nd, r); return;
    case N_IN: eval_in(x, nd, r); return;
    case N_ISNULL: case N_NOTNULL: {
      decode_valid(x, nd->col, x->valid);
      uint8_t on_valid = nd->kind == N_ISNULL ? V_F : V_T;
      for (int64_t i = 0; i < n; i++) r[i] = x->valid[i] ? on_valid : (uint8_t)(V_T - on_valid);
      return;
    }
    case N_NOT:
      eval_node(x, nd->kids[0], r, level);
      for (int64_t i = 0; i < n; i++) r[i] = (uint8_t)(V_T - r[i]);
      return;
    case N_AND: case N_OR: {
      bool is_and = nd->kind == N_AND;
      uint8_t *t = x->masks + (size_t)level * (size_t)x->cap;
      eval_node(x, nd->kids[0], r, level);
      for (size_t c = 1; c < nd->n_kids; c++) {
        /* short-circuit: the chunk is decided once all FALSE (AND) / TRUE (OR) */
        uint8_t acc = is_and ? 0 : V_T;
        if (is_and) for (int64_t i = 0; i < n; i++) acc |= r[i];
        else for (int64_t i = 0; i < n; i++) acc &= r[i];
        if (acc == (is_and ? 0 : V_T)) return;
        eval_node(x, nd->kids[c], t, level + 1);
        if (is_and) for (int64_t i = 0; i < n; i++) r[i] = r[i] < t[i] ? r[i] : t[i];
        else for (int64_t i = 0; i < n; i++) r[i] = r[i] > t[i] ? r[i] : t[i];
      }
      return;
    }
  }
}

static mw_status check_column(const struct ArrowArray *batch, const bcol *c, int64_t need,
                              mw_error *err) {
  const struct ArrowArray *a = batch->children[c->idx];
  if (!a) return mw_err(err, MW_ERR_INVALID, "filter: column '%s' array is NULL", c->name);
  if (a->length < need || a->offset < 0)
    return mw_err(err, MW_ERR_INVALID, "filter: column '%s' has %lld rows, the batch needs %lld", c->name,
                  (long long)a->length, (long long)need);
  int nb = mw_type_n_buffers(&c->type);
  if (a->n_buffers < nb || (nb > 0 && !a->buffers))
    return mw_err(err, MW_ERR_INVALID, "filter: column '%s' has %lld buffers, expected %d", c->name,
                  (long long)a->n_buffers, nb);
  if (c->lc != LC_NONE) {
    for (int k = 1; k < nb; k++)
      if (!a->buffers[k])
        return mw_err(err, MW_ERR_INVALID, "filter: column '%s' buffer %d is NULL", c->name, k);
  }
  if (a->null_count != 0 && nb > 0 && a->buffers[0] == NULL && a->null_count > 0 &&
      c->type.id != MW_T_NULL)
    return mw_err(err, MW_ERR_INVALID, "filter: column '%s' has nulls but no validity bitmap", c->name);
  return MW_OK;
}

/* Shared checks of both eval entry points. */
static mw_status check_batch(const mw_bound_filter *f, const struct ArrowArray *batch, mw_error *err) {
  if (!batch || !f) return mw_err(err, MW_ERR_INVALID, "filter: NULL batch or filter");
  if (batch->n_children != (int64_t)f->n_fields || (f->n_fields && !batch->children))
    return mw_err(err, MW_ERR_INVALID, "filter: batch has %lld columns, the schema %zu",
                  (long long)batch->n_children, f->n_fields);
  if (batch->length < 0 || batch->offset < 0)
    return mw_err(err, MW_ERR_INVALID, "filter: batch length %lld / offset %lld",
                  (long long)batch->length, (long long)batch->offset);
  if (batch->null_count != 0 && batch->n_buffers > 0 && !batch->buffers)
    return mw_err(err, MW_ERR_INVALID, "filter: batch has nulls but no buffers");
  return MW_OK;
}

/* rows NULL: rows start .. start + len - 1; else rows[0 .. len). */
static mw_status eval_impl(uint8_t *keep, const mw_bound_filter *f, const struct ArrowArray *batch,
                           int64_t start, int64_t len, const int64_t *rows, mw_error *err) {
  if (len == 0) return MW_OK;
  const bnode *root = &f->nodes[f->root];
  if (root->kind == N_CONST) {
    memset(keep, root->v == V_T, (size_t)len);
    return MW_OK;
  }
  int64_t need = batch->offset + (rows ? batch->length : start + len);
  for (size_t i = 0; i < f->n_cols; i++)
    if (f->cols[i].used) MW_TRY(check_column(batch, &f->cols[i], need, err));
  /* scratch for one chunk: on the stack for short evaluations (a few rows,
   * e.g. index candidates one at a time), else one allocation */
  int64_t cap = len < MW_FILTER_CHUNK ? len : MW_FILTER_CHUNK;
  size_t ucap = (size_t)cap;
  size_t bytes = 4 * ucap * 8 + (size_t)(f->depth + 1) * ucap + 2 * ucap;
  uint64_t stack_mem[512];
  uint8_t *mem = bytes <= sizeof stack_mem ? (uint8_t *)stack_mem : malloc(bytes);
  if (!mem) return mw_err(err, MW_ERR_NOMEM, "filter: out of memory");
  ectx x = {.f = f, .batch = batch, .cap = cap};
  for (int w = 0; w < 2; w++) {
    x.vu[w] = (uint64_t *)(void *)(mem + (size_t)w * ucap * 8);
    x.vi[w] = (int64_t *)(void *)x.vu[w];
    x.vf[w] = (double *)(void *)(mem + (size_t)(2 + w) * ucap * 8);
  }
  x.masks = mem + 4 * ucap * 8;
  x.valid = x.masks + (size_t)(f->depth + 1) * ucap;
  for (int64_t done = 0; done < len; done += MW_FILTER_CHUNK) {
    if (rows) {
      x.srow = batch->offset;
      x.rows = rows + done;
    } else {
      x.srow = batch->offset + start + done;
    }
    x.n = len - done < MW_FILTER_CHUNK ? len - done : MW_FILTER_CHUNK;
    uint8_t *r = x.masks;
    eval_node(&x, f->root, r, 1);
    for (int64_t i = 0; i < x.n; i++) keep[done + i] = (uint8_t)(r[i] >> 1);
  }
  if (mem != (uint8_t *)stack_mem) free(mem);
  return MW_OK;
}

mw_status mw_filter_eval(uint8_t *keep, const mw_bound_filter *f, const struct ArrowArray *batch,
                         int64_t start, int64_t len, mw_error *err) {
  MW_TRY(check_batch(f, batch, err));
  if (start < 0 || len < 0 || start > batch->length || len > batch->length - start)
    return mw_err(err, MW_ERR_INVALID, "filter: rows [%lld, +%lld) outside the batch of %lld rows",
                  (long long)start, (long long)len, (long long)batch->length);
  return eval_impl(keep, f, batch, start, len, NULL, err);
}

mw_status mw_filter_eval_rows(uint8_t *keep, const mw_bound_filter *f, const struct ArrowArray *batch,
                              const int64_t *rows, size_t n_rows, mw_error *err) {
  MW_TRY(check_batch(f, batch, err));
  if (n_rows > (size_t)INT64_MAX || (n_rows && !rows))
    return mw_err(err, MW_ERR_INVALID, "filter: bad row list");
  for (size_t i = 0; i < n_rows; i++)
    if (rows[i] < 0 || rows[i] >= batch->length)
      return mw_err(err, MW_ERR_INVALID, "filter: row %lld (index %zu of the list) outside the batch of %lld rows",
                    (long long)rows[i], i, (long long)batch->length);
  return eval_impl(keep, f, batch, 0, (int64_t)n_rows, rows, err);
}

int mw_filter_constant(const mw_bound_filter *f) {
  const bnode *root = &f->nodes[f->root];
  if (root->kind != N_CONST) return -1;
  return root->v == V_T;
}

size_t mw_filter_columns(const mw_bound_filter *f, const size_t **out) {
  *out = f->n_col_list ? f->col_list : NULL;
  return f->n_col_list;
}

size_t mw_filter_index_terms(const mw_bound_filter *f, const mw_filter_term **out) {
  *out = f->n_terms ? f->terms : NULL;
  return f->n_terms;
}
