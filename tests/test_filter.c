/* test_filter.c - filter expressions (src/query/): the parser's accept and
 * reject tables (messages with byte offsets), to_string round trips, C
 * struct trees, binding errors, exact number comparisons, and evaluation
 * against an independent brute-force reference: random expression trees
 * (random depth, operators, literals including NULL / NaN / infinities /
 * int64 and uint64 extremes) over random batches with nulls, sliced struct
 * and child arrays, evaluated both as built and after to_string + parse.
 * The index terms are checked against a real B+tree (exactly equal row sets
 * for single-conjunct filters, a superset of the passing rows otherwise).
 *
 * The reference evaluator walks the mw_expr tree row by row and compares
 * numbers as long double, which holds every int64, uint64 and double
 * exactly (checked below), so it shares no comparison code with the
 * implementation. */
#include <float.h>
#include <math.h>
#include <pthread.h>

#include "arrow/c_data.h"
#include "memtable/index_btree.h"
#include "mw_test.h"
#include "query/filter.h"

_Static_assert(LDBL_MANT_DIG >= 64, "the reference evaluator needs a 64-bit long double mantissa");

static mw_error g_err;
static mw_error *errp = &g_err;

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static size_t rndn(size_t n) { return (size_t)(rnd() % n); }

/* ------------------------------------------------------------ parser */

static void test_parse_accept(void) {
  static const struct { const char *in, *out; } cases[] = {
    {"a = 1", "(a = 1)"},
    {"a<>1", "(a != 1)"},
    {"a != -1", "(a != -1)"},
    {"a >= - 5", "(a >= -5)"},
    {"-5 < a", "(-5 < a)"},
    {"a <= 2.5", "(a <= 2.5)"},
    {"a > 1e3", "(a > 1e+03)"},
    {"a > 1.", "(a > 1.0)"},
    {"a > .5", "(a > 0.5)"},
    {"a > 2E-3", "(a > 0.002)"},
    {"a = -0.0", "(a = -0.0)"},
    {"a = NaN", "(a = NAN)"},
    {"a > -inf AND a < INF", "((a > -INF) AND (a < INF))"},
    {"a = -9223372036854775808", "(a = -9223372036854775808)"},
    {"a = 9223372036854775807", "(a = 9223372036854775807)"},
    {"s = 'it''s'", "(s = 'it''s')"},
    {"s = ''", "(s = '')"},
    {"\"my col\" = 1", "(\"my col\" = 1)"},
    {"`a``b` = 1", "(\"a`b\" = 1)"},
    {"\"q\"\"x\" IS NULL", "(\"q\"\"x\" IS NULL)"},
    {"\"and\" = 1", "(\"and\" = 1)"},
    {"\"\" = 1", "(\"\" = 1)"},
    {"_x9 is not null", "(_x9 IS NOT NULL)"},
    {"a in (1, -2, 3.5, NULL)", "(a IN (1, -2, 3.5, NULL))"},
    {"a NOT IN ('x')", "NOT (a IN ('x'))"},
    {"NOT a IN (1)", "NOT (a IN (1))"},
    {"a = 1 AND b = 2 OR c = 3", "(((a = 1) AND (b = 2)) OR (c = 3))"},
    {"a = 1 or b = 2 and c = 3", "((a = 1) OR ((b = 2) AND (c = 3)))"},
    {"a = 1 AND b = 2 AND c = 3", "((a = 1) AND (b = 2) AND (c = 3))"},
    {"(a = 1 AND b = 2) AND c = 3", "(((a = 1) AND (b = 2)) AND (c = 3))"},
    {"NOT NOT flag", "NOT NOT flag"},
    {"a = 1 AND NOT b = 2", "((a = 1) AND NOT (b = 2))"},
    {"NOT (a = 1 OR b)", "NOT ((a = 1) OR b)"},
    {"flag", "flag"},
    {"TRUE", "TRUE"},
    {"null", "NULL"},
    {"((a = b))", "(a = b)"},
    {"1 = 1", "(1 = 1)"},
    {"  \t\na\n=\r1  ", "(a = 1)"},
    {"a = TRUE AND b = false", "((a = TRUE) AND (b = FALSE))"},
    {"NULL IS NULL", "(NULL IS NULL)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mw_expr *e = NULL;
    mw_status st = mw_expr_parse(&e, cases[i].in, errp);
    CHECK_INT(st, MW_OK);
    if (st != MW_OK) {
      fprintf(stderr, "  input: %s -> %s\n", cases[i].in, g_err.message);
      continue;
    }
    char *s = NULL;
    CHECK_OK(mw_expr_to_string(&s, e, errp), errp);
    CHECK_STR(s, cases[i].out);
    mw_expr *e2 = NULL;
    CHECK_OK(mw_expr_parse(&e2, s, errp), errp);
    CHECK(e2 && mw_expr_equal(e, e2));
    mw_free(s);
    mw_expr_free(e);
    mw_expr_free(e2);
  }
}

static void test_parse_values(void) {
  mw_expr *e = NULL;
  CHECK_OK(mw_expr_parse(&e, "a IN (-9223372036854775808, 9007199254740993, 0.1, -0.0, 'x''y', TRUE)", errp), errp);
  CHECK(e && e->kind == MW_EXPR_IN && e->n_args == 7);
  if (e && e->n_args == 7) {
    CHECK(e->args[0]->kind == MW_EXPR_COLUMN && strcmp(e->args[0]->name, "a") == 0);
    CHECK(e->args[1]->kind == MW_EXPR_INT && e->args[1]->i == INT64_MIN);
    CHECK(e->args[2]->kind == MW_EXPR_INT && e->args[2]->i == 9007199254740993ll);
    CHECK(e->args[3]->kind == MW_EXPR_FLOAT && e->args[3]->f == 0.1);
    CHECK(e->args[4]->kind == MW_EXPR_FLOAT && e->args[4]->f == 0.0 && signbit(e->args[4]->f));
    CHECK(e->args[5]->kind == MW_EXPR_STRING && e->args[5]->s_len == 3 && memcmp(e->args[5]->s, "x'y", 3) == 0);
    CHECK(e->args[6]->kind == MW_EXPR_BOOL && e->args[6]->i == 1);
  }
  mw_expr_free(e);
  mw_expr_free(NULL);
}

static void test_parse_reject(void) {
  static const struct { const char *in, *msg; } cases[] = {
    {"", "expected a condition at offset 0"},
    {"   ", "expected a condition at offset 3"},
    {"a = ", "expected a column name, a literal or '(' at offset 4"},
    {"(a = 1", "expected ')' at offset 6"},
    {"((a = 1) AND (b = 2)", "expected ')' at offset 20"},
    {"a = 1)", "unbalanced ')' at offset 5"},
    {"a == 1", "expected a column name, a literal or '(' at offset 3"},
    {"a = 9223372036854775808", "integer literal out of int64 range at offset 4"},
    {"a = -9223372036854775809", "integer literal out of int64 range at offset 5"},
    {"a = 99999999999999999999999", "integer literal out of int64 range at offset 4"},
    {"a = 1e999", "float literal out of range at offset 4"},
    {"a = 'abc", "unterminated string starting at offset 4"},
    {"\"abc = 1", "unterminated quoted name starting at offset 0"},
    {"`abc = 1", "unterminated quoted name starting at offset 0"},
    {"a IN ()", "expected a literal at offset 6"},
    {"a IN (1 2)", "expected ',' or ')' at offset 8"},
    {"a IN (1,)", "expected a literal at offset 8"},
    {"a IN (b)", "expected a literal at offset 6"},
    {"a IN 1", "expected '(' after IN at offset 5"},
    {"a IS 5", "expected NULL or NOT NULL at offset 5"},
    {"a IS NOT 5", "expected NULL at offset 9"},
    {"a NOT 5", "expected IN after NOT at offset 6"},
    {"a = --5", "expected a number after '-' at offset 5"},
    {"a = -b", "expected a number after '-' at offset 5"},
    {"a = -'x'", "expected a number after '-' at offset 5"},
    {"a = 1a", "unexpected character 'a' in a number at offset 5"},
    {"a = 1.2.3", "unexpected character '.' in a number at offset 7"},
    {"a = 1e", "expected exponent digits at offset 6"},
    {"a = 1e+", "expected exponent digits at offset 7"},
    {"a ! 1", "expected '=' after '!' at offset 3"},
    {"a = 1 #", "unexpected character '#' at offset 6"},
    {"a = \x01", "unexpected byte 0x01 at offset 4"},
    {"a = \xc3\xa9", "unexpected byte 0xc3 at offset 4"},
    {"a = 1 b", "expected AND, OR or the end of the filter at offset 6"},
    {"a = 1 AND", "expected a column name, a literal or '(' at offset 9"},
    {"(a) = 1", "expected AND, OR or the end of the filter at offset 4"},
    {"a = b = c", "expected AND, OR or the end of the filter at offset 6"},
    {"AND", "expected a column name, a literal or '(' at offset 0"},
    {"NOT", "expected a column name, a literal or '(' at offset 3"},
    {"a IN (1) IN (2)", "expected AND, OR or the end of the filter at offset 9"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mw_expr *e = (mw_expr *)1;
    mw_error err = {0};
    mw_status st = mw_expr_parse(&e, cases[i].in, &err);
    CHECK_INT(st, MW_ERR_INVALID);
    CHECK(e == NULL);
    CHECK(strncmp(err.message, "filter: ", 8) == 0);
    if (!strstr(err.message, cases[i].msg)) {
      CHECK(!"message");
      fprintf(stderr, "  input: \"%s\": got \"%s\", want \"%s\"\n", cases[i].in, err.message, cases[i].msg);
    }
  }
  mw_expr *e = NULL;
  CHECK_INT(mw_expr_parse(&e, NULL, NULL), MW_ERR_INVALID);
}

static void test_parse_nesting(void) {
  char buf[1024];
  for (int depth = 63; depth <= 65; depth++) {
    size_t n = 0;
    for (int i = 0; i < depth; i++) buf[n++] = '(';
    memcpy(buf + n, "a = 1", 5);
    n += 5;
    for (int i = 0; i < depth; i++) buf[n++] = ')';
    buf[n] = '\0';
    mw_expr *e = NULL;
    mw_error err = {0};
    mw_status st = mw_expr_parse(&e, buf, &err);
    if (depth <= 64) {
      CHECK_INT(st, MW_OK);
      char *s = NULL;
      CHECK_OK(mw_expr_to_string(&s, e, errp), errp);
      CHECK_STR(s, "(a = 1)");
      mw_free(s);
    } else {
      CHECK_INT(st, MW_ERR_INVALID);
      CHECK(strstr(err.message, "nesting deeper than 64 levels at offset 64") != NULL);
    }
    mw_expr_free(e);
  }
  /* NOTs count as nesting */
  size_t n = 0;
  for (int i = 0; i < 65; i++) { memcpy(buf + n, "NOT ", 4); n += 4; }
  memcpy(buf + n, "x", 2);
  mw_expr *e = NULL;
  mw_error err = {0};
  CHECK_INT(mw_expr_parse(&e, buf, &err), MW_ERR_INVALID);
  CHECK(strstr(err.message, "nesting deeper than 64 levels at offset 256") != NULL);
  /* tree depth: x = 1 AND (x = 1 OR (x = 1 AND (...))) with p parentheses
   * is p + 2 levels deep (p AND/OR nodes, the comparison, the column) */
  for (int p = 61; p <= 63; p++) {
    n = 0;
    for (int i = 0; i < p; i++) n += (size_t)sprintf(buf + n, "x = 1 %s (", i % 2 ? "OR" : "AND");
    n += (size_t)sprintf(buf + n, "x = 1");
    for (int i = 0; i < p; i++) buf[n++] = ')';
    buf[n] = '\0';
    e = NULL;
    mw_status st = mw_expr_parse(&e, buf, &err);
    if (p + 2 <= 64) {
      CHECK_INT(st, MW_OK);
      /* the deepest accepted tree prints to text that parses back */
      char *s = NULL;
      mw_expr *e2 = NULL;
      CHECK_OK(mw_expr_to_string(&s, e, errp), errp);
      CHECK_OK(mw_expr_parse(&e2, s ? s : "", errp), errp);
      CHECK(e2 && mw_expr_equal(e, e2));
      mw_free(s);
      mw_expr_free(e2);
    } else {
      CHECK_INT(st, MW_ERR_INVALID);
      CHECK(strstr(err.message, "expression nested deeper than 64 levels at offset") != NULL);
    }
    mw_expr_free(e);
  }
  /* the same for NOT chains: 63 NOTs over a column are 64 levels */
  for (int k = 63; k <= 64; k++) {
    n = 0;
    for (int i = 0; i < k; i++) { memcpy(buf + n, "NOT ", 4); n += 4; }
    memcpy(buf + n, "x", 2);
    e = NULL;
    mw_status st = mw_expr_parse(&e, buf, &err);
    CHECK_INT(st, k == 63 ? MW_OK : MW_ERR_INVALID);
    if (st == MW_OK) {
      char *s = NULL;
      mw_expr *e2 = NULL;
      CHECK_OK(mw_expr_to_string(&s, e, errp), errp);
      CHECK_OK(mw_expr_parse(&e2, s ? s : "", errp), errp);
      CHECK(e2 && mw_expr_equal(e, e2));
      mw_free(s);
      mw_expr_free(e2);
    }
    mw_expr_free(e);
  }
}

/* Random mutations of valid filters: never a crash, an error always says
 * where; a success always round-trips. */
static void test_parse_garbage(void) {
  static const char *seeds[] = {
    "a = 1 AND (b <> 'x''y' OR c IN (1, -2.5e3, NULL)) AND d IS NOT NULL",
    "NOT (\"q c\" >= -9223372036854775808) OR `z` < NAN",
  };
  static const char alphabet[] = "()',\"`-=<>!. \t1e9aANDORNOTISNULL_x";
  char buf[256];
  int ok = 0, bad = 0;
  for (int it = 0; it < 20000; it++) {
    const char *s = seeds[it & 1];
    size_t n = strlen(s);
    memcpy(buf, s, n + 1);
    int muts = 1 + (int)rndn(4);
    for (int m = 0; m < muts; m++) {
      size_t p = rndn(n + 1);
      int kind = (int)rndn(3);
      if (kind == 0 && n > 0 && p < n) { memmove(buf + p, buf + p + 1, n - p); n--; }
      else if (kind == 1 && n + 1 < sizeof buf) {
        memmove(buf + p + 1, buf + p, n - p + 1);
        buf[p] = alphabet[rndn(sizeof alphabet - 1)];
        n++;
      } else if (p < n) {
        buf[p] = (char)(1 + rndn(255));
      }
    }
    mw_expr *e = NULL;
    mw_error err = {0};
    if (mw_expr_parse(&e, buf, &err) == MW_OK) {
      char *t = NULL;
      mw_expr *e2 = NULL;
      if (mw_expr_to_string(&t, e, &err) != MW_OK || mw_expr_parse(&e2, t, &err) != MW_OK ||
          !mw_expr_equal(e, e2)) {
        CHECK(!"garbage round trip");
        fprintf(stderr, "  input: %s\n", buf);
      }
      mw_free(t);
      mw_expr_free(e2);
      mw_expr_free(e);
      ok++;
    } else {
      if (!strstr(err.message, "offset")) {
        CHECK(!"error without offset");
        fprintf(stderr, "  input: %s -> %s\n", buf, err.message);
      }
      bad++;
    }
  }
  CHECK(ok > 100);
  CHECK(bad > 100);
}

/* ------------------------------------------------------ C struct trees */

static void test_c_trees(void) {
  mw_expr col = {.kind = MW_EXPR_COLUMN, .name = "x y"};
  mw_expr lit = {.kind = MW_EXPR_STRING, .s = "it's", .s_len = 4};
  const mw_expr *cargs[2] = {&col, &lit};
  mw_expr cmp = {.kind = MW_EXPR_CMP, .op = MW_FILTER_GE, .args = cargs, .n_args = 2};
  mw_expr nan_lit = {.kind = MW_EXPR_FLOAT, .f = -NAN};
  mw_expr b = {.kind = MW_EXPR_COLUMN, .name = "b"};
  const mw_expr *iargs[2] = {&b, &nan_lit};
  mw_expr in = {.kind = MW_EXPR_IN, .args = iargs, .n_args = 2};
  const mw_expr *aargs[2] = {&cmp, &in};
  mw_expr and = {.kind = MW_EXPR_AND, .args = aargs, .n_args = 2};
  char *s = NULL;
  CHECK_OK(mw_expr_to_string(&s, &and, errp), errp);
  CHECK_STR(s, "((\"x y\" >= 'it''s') AND (b IN (NAN)))");
  mw_expr *p = NULL;
  CHECK_OK(mw_expr_parse(&p, s ? s : "", errp), errp);
  CHECK(p && mw_expr_equal(p, &and));
  mw_free(s);
  mw_expr_free(p);

  /* malformed trees are refused by check, to_string and bind */
  mw_expr bad_bool = {.kind = MW_EXPR_BOOL, .i = 2};
  mw_error err = {0};
  CHECK_INT(mw_expr_check(&bad_bool, &err), MW_ERR_INVALID);
  CHECK(strstr(err.message, "not 0 or 1") != NULL);
  const mw_expr *nargs[2] = {&col, NULL};
  mw_expr null_arg = {.kind = MW_EXPR_CMP, .op = MW_FILTER_EQ, .args = nargs, .n_args = 2};
  CHECK_INT(mw_expr_to_string(&s, &null_arg, &err), MW_ERR_INVALID);
  CHECK(s == NULL);
  const mw_expr *xargs[2] = {&and, &lit};
  mw_expr nested_cmp = {.kind = MW_EXPR_CMP, .op = MW_FILTER_EQ, .args = xargs, .n_args = 2};
  CHECK_INT(mw_expr_check(&nested_cmp, &err), MW_ERR_INVALID);
  CHECK(strstr(err.message, "column or a literal") != NULL);
  const mw_expr *inargs[2] = {&col, &col};
  mw_expr in_col = {.kind = MW_EXPR_IN, .args = inargs, .n_args = 2};
  CHECK_INT(mw_expr_check(&in_col, &err), MW_ERR_INVALID);
  mw_expr bad_op = {.kind = MW_EXPR_CMP, .op = (mw_filter_op)17, .args = cargs, .n_args = 2};
  CHECK_INT(mw_expr_check(&bad_op, &err), MW_ERR_INVALID);
  mw_expr bad_kind = {.kind = (mw_expr_kind)99};
  CHECK_INT(mw_expr_check(&bad_kind, &err), MW_ERR_INVALID);
  mw_expr empty_and = {.kind = MW_EXPR_AND, .args = NULL, .n_args = 0};
  CHECK_INT(mw_expr_check(&empty_and, &err), MW_ERR_INVALID);
  /* a cycle is caught by the depth bound */
  mw_expr cyc = {.kind = MW_EXPR_NOT, .n_args = 1};
  const mw_expr *cyc_args[1] = {&cyc};
  cyc.args = cyc_args;
  CHECK_INT(mw_expr_check(&cyc, &err), MW_ERR_INVALID);
  CHECK(strstr(err.message, "deeper than") != NULL);
  /* a string with a NUL byte has no text form */
  mw_expr nul = {.kind = MW_EXPR_STRING, .s = "a\0b", .s_len = 3};
  const mw_expr *nul_args[2] = {&col, &nul};
  mw_expr nul_cmp = {.kind = MW_EXPR_CMP, .op = MW_FILTER_EQ, .args = nul_args, .n_args = 2};
  CHECK_INT(mw_expr_to_string(&s, &nul_cmp, &err), MW_ERR_INVALID);
  CHECK(strstr(err.message, "NUL") != NULL);
}

/* ------------------------------------------------------ batches */

enum { C_I64, C_I32, C_U64, C_F64, C_F32, C_S, C_LS, C_B, C_I8, C_U8, C_F16, C_D32, NCOLS };
static const char *col_names[NCOLS] = {"i64", "i32", "u64", "f64", "f32", "s", "ls", "b",
                                       "i8", "u8", "f16", "d32"};
static const char *col_formats[NCOLS] = {"l", "i", "L", "g", "f", "u", "U", "b", "c", "C", "e", "tdD"};

#define P63 9223372036854775808.0
static const int64_t I64_POOL[] = {INT64_MIN, INT64_MIN + 1, -9007199254740993ll, -1, 0, 1, 2, 3, 5,
                                   9007199254740992ll, 9007199254740993ll, INT64_MAX, INT64_MAX - 1,
                                   -2, 100, -100};
static const uint64_t U64_POOL[] = {0, 1, 2, 3, 5, 9007199254740992ull, 9007199254740993ull,
                                    (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1,
                                    (uint64_t)INT64_MAX + 2, UINT64_MAX, UINT64_MAX - 2047, 100};
static double F64_POOL[] = {0.0, -0.0, 0.5, 1.0, 2.0, 2.5, -1.0, -2.5, 3.0, 5.0,
                            9007199254740992.0, 9007199254740994.0, P63, -P63, 2 * P63,
                            18446744073709549568.0, 1e300, -1e300, 4.9e-324, 0.1, 100.0, -100.0,
                            0 /* NaN */, 0 /* inf */, 0 /* -inf */, 65504.0, 1e19};
#define N_F64_POOL (sizeof F64_POOL / sizeof F64_POOL[0])
static const char *STR_POOL[] = {"", "a", "ab", "abc", "b", "ba", "zeta", "\xff", "\xc3\xa9", "a'b", "A"};
#define N_STR_POOL (sizeof STR_POOL / sizeof STR_POOL[0])
/* float16 bit patterns and their values */
static const uint16_t F16_BITS[] = {0x0000, 0x8000, 0x3c00, 0x4000, 0x4100, 0xc000, 0x7c00, 0xfc00,
                                    0x7e00, 0x0001, 0x7bff, 0x3800};
static double F16_VALS[sizeof F16_BITS / sizeof F16_BITS[0]];
#define N_F16 (sizeof F16_BITS / sizeof F16_BITS[0])

static void init_pools(void) {
  F64_POOL[N_F64_POOL - 5] = NAN;
  F64_POOL[N_F64_POOL - 4] = INFINITY;
  F64_POOL[N_F64_POOL - 3] = -INFINITY;
  const double v[N_F16] = {0.0, -0.0, 1.0, 2.0, 2.5, -2.0, INFINITY, -INFINITY, NAN, 0x1p-24, 65504.0, 0.5};
  memcpy(F16_VALS, v, sizeof v);
}

typedef struct col {
  struct ArrowArray a;
  const void *bufs[3];
  uint8_t *validity;
  void *values;
  char *data;
} col;

typedef struct batch {
  struct ArrowSchema schema;
  struct ArrowSchema kid_s[NCOLS];
  struct ArrowSchema *kid_sp[NCOLS];
  struct ArrowArray arr;
  const void *sbufs[1];
  uint8_t *svalid;
  col cols[NCOLS];
  struct ArrowArray *kid_ap[NCOLS];
  int64_t n; /* logical rows */
} batch;

static void noop_sch(struct ArrowSchema *s) { s->release = NULL; }
static void noop_arr(struct ArrowArray *a) { a->release = NULL; }

static void init_schema(batch *b) {
  memset(&b->schema, 0, sizeof b->schema);
  b->schema.format = "+s";
  b->schema.name = "";
  b->schema.n_children = NCOLS;
  b->schema.children = b->kid_sp;
  b->schema.release = noop_sch;
  for (int c = 0; c < NCOLS; c++) {
    memset(&b->kid_s[c], 0, sizeof b->kid_s[c]);
    b->kid_s[c].format = col_formats[c];
    b->kid_s[c].name = col_names[c];
    b->kid_s[c].flags = ARROW_FLAG_NULLABLE;
    b->kid_s[c].release = noop_sch;
    b->kid_sp[c] = &b->kid_s[c];
  }
}

static void set_bit(uint8_t *bm, int64_t i, bool v) {
  if (v) bm[i >> 3] |= (uint8_t)(1u << (i & 7));
  else bm[i >> 3] &= (uint8_t)~(1u << (i & 7));
}
static bool get_bit(const uint8_t *bm, int64_t i) { return (bm[i >> 3] >> (i & 7)) & 1; }

/* n logical rows; the struct has offset so (+ validity when struct_nulls),
 * every child its own random offset. */
static void make_batch(batch *b, int64_t n, int64_t so, bool struct_nulls, int null_pct) {
  init_schema(b);
  b->n = n;
  memset(&b->arr, 0, sizeof b->arr);
  b->arr.length = n;
  b->arr.offset = so;
  b->arr.n_buffers = 1;
  b->arr.buffers = b->sbufs;
  b->arr.n_children = NCOLS;
  b->arr.children = b->kid_ap;
  b->arr.release = noop_arr;
  b->svalid = NULL;
  b->sbufs[0] = NULL;
  if (struct_nulls) {
    b->svalid = calloc((size_t)(so + n) / 8 + 1, 1);
    int64_t nulls = 0;
    for (int64_t i = 0; i < so + n; i++) {
      bool v = rndn(100) >= 3;
      set_bit(b->svalid, i, v);
      if (!v && i >= so) nulls++;
    }
    b->sbufs[0] = b->svalid;
    b->arr.null_count = nulls;
  }
  for (int c = 0; c < NCOLS; c++) {
    col *k = &b->cols[c];
    memset(k, 0, sizeof *k);
    int64_t co = (int64_t)rndn(20);
    int64_t total = co + so + n;
    k->validity = calloc((size_t)total / 8 + 1, 1);
    int64_t nulls = 0;
    for (int64_t i = 0; i < total; i++) {
      bool v = (int)rndn(100) >= null_pct;
      set_bit(k->validity, i, v);
      if (!v && i >= co + so && i < total) nulls++;
    }
    size_t w = 8;
    switch (c) {
      case C_I32: case C_F32: case C_D32: w = 4; break;
      case C_I8: case C_U8: w = 1; break;
      case C_F16: w = 2; break;
      default: break;
    }
    if (c == C_S || c == C_LS) {
      bool large = c == C_LS;
      k->values = calloc((size_t)total + 1, large ? 8 : 4);
      k->data = malloc((size_t)total * 8 + 1);
      int64_t pos = 0;
      for (int64_t i = 0; i < total; i++) {
        const char *s = STR_POOL[rndn(N_STR_POOL)];
        size_t len = strlen(s);
        memcpy(k->data + pos, s, len);
        if (large) ((int64_t *)k->values)[i] = pos;
        else ((int32_t *)k->values)[i] = (int32_t)pos;
        pos += (int64_t)len;
      }
      if (large) ((int64_t *)k->values)[total] = pos;
      else ((int32_t *)k->values)[total] = (int32_t)pos;
    } else if (c == C_B) {
      k->values = calloc((size_t)total / 8 + 1, 1);
      for (int64_t i = 0; i < total; i++) set_bit(k->values, i, rnd() & 1);
    } else {
      k->values = calloc((size_t)total, w);
      for (int64_t i = 0; i < total; i++) {
        switch (c) {
          case C_I64: ((int64_t *)k->values)[i] = rndn(4) ? I64_POOL[rndn(sizeof I64_POOL / 8)] : (int64_t)rndn(10) - 5; break;
          case C_I32: ((int32_t *)k->values)[i] = rndn(5) ? (int32_t)rndn(11) - 5 : (rnd() & 1 ? INT32_MIN : INT32_MAX); break;
          case C_U64: ((uint64_t *)k->values)[i] = U64_POOL[rndn(sizeof U64_POOL / 8)]; break;
          case C_F64: ((double *)k->values)[i] = F64_POOL[rndn(N_F64_POOL)]; break;
          case C_F32: ((float *)k->values)[i] = (float)F64_POOL[rndn(N_F64_POOL)]; break;
          case C_I8: ((int8_t *)k->values)[i] = (int8_t)(rndn(5) ? (int)rndn(11) - 5 : (rnd() & 1 ? -128 : 127)); break;
          case C_U8: ((uint8_t *)k->values)[i] = (uint8_t)(rndn(5) ? rndn(11) : 255); break;
          case C_F16: ((uint16_t *)k->values)[i] = F16_BITS[rndn(N_F16)]; break;
          case C_D32: ((int32_t *)k->values)[i] = (int32_t)rndn(11) - 5; break;
          default: break;
        }
      }
    }
    k->bufs[0] = k->validity;
    k->bufs[1] = k->values;
    k->bufs[2] = k->data;
    k->a.length = so + n;
    k->a.offset = co;
    k->a.null_count = nulls;
    k->a.n_buffers = (c == C_S || c == C_LS) ? 3 : 2;
    k->a.buffers = k->bufs;
    k->a.release = noop_arr;
    b->kid_ap[c] = &k->a;
  }
}

static void free_batch(batch *b) {
  free(b->svalid);
  for (int c = 0; c < NCOLS; c++) {
    free(b->cols[c].validity);
    free(b->cols[c].values);
    free(b->cols[c].data);
  }
}

/* ------------------------------------------------ reference evaluator */

enum { RF = 0, RN = 1, RT = 2 };

typedef struct rval {
  int kind; /* 0 null, 1 number, 2 string, 3 bool */
  long double v;
  bool nan;
  const char *s;
  size_t n;
} rval;

static int col_index(const char *name) {
  for (int c = 0; c < NCOLS; c++)
    if (strcmp(col_names[c], name) == 0) return c;
  return -1;
}

static rval ref_cell(const batch *b, int c, int64_t r) {
  rval v = {0};
  int64_t sr = b->arr.offset + r;
  if (b->svalid && !get_bit(b->svalid, sr)) return v;
  const col *k = &b->cols[c];
  int64_t j = k->a.offset + sr;
  if (!get_bit(k->validity, j)) return v;
  v.kind = 1;
  switch (c) {
    case C_I64: v.v = (long double)((int64_t *)k->values)[j]; break;
    case C_I32: case C_D32: v.v = (long double)((int32_t *)k->values)[j]; break;
    case C_U64: v.v = (long double)((uint64_t *)k->values)[j]; break;
    case C_F64: { double d = ((double *)k->values)[j]; v.nan = isnan(d); v.v = d; break; }
    case C_F32: { float d = ((float *)k->values)[j]; v.nan = isnan(d); v.v = d; break; }
    case C_I8: v.v = ((int8_t *)k->values)[j]; break;
    case C_U8: v.v = ((uint8_t *)k->values)[j]; break;
    case C_F16: {
      uint16_t bits = ((uint16_t *)k->values)[j];
      for (size_t i = 0; i < N_F16; i++)
        if (F16_BITS[i] == bits) { v.v = F16_VALS[i]; v.nan = isnan(F16_VALS[i]); }
      break;
    }
    case C_B: v.kind = 3; v.v = get_bit(k->values, j); break;
    case C_S: {
      int32_t *o = k->values;
      v.kind = 2; v.s = k->data + o[j]; v.n = (size_t)(o[j + 1] - o[j]);
      break;
    }
    case C_LS: {
      int64_t *o = k->values;
      v.kind = 2; v.s = k->data + o[j]; v.n = (size_t)(o[j + 1] - o[j]);
      break;
    }
  }
  return v;
}

static rval ref_operand(const batch *b, const mw_expr *e, int64_t r) {
  rval v = {0};
  switch (e->kind) {
    case MW_EXPR_COLUMN: return ref_cell(b, col_index(e->name), r);
    case MW_EXPR_INT: v.kind = 1; v.v = (long double)e->i; return v;
    case MW_EXPR_FLOAT: v.kind = 1; v.v = e->f; v.nan = isnan(e->f); return v;
    case MW_EXPR_STRING: v.kind = 2; v.s = e->s; v.n = e->s_len; return v;
    case MW_EXPR_BOOL: v.kind = 3; v.v = (long double)e->i; return v;
    default: return v;
  }
}

static int ref_cmp(const rval *a, const rval *b) {
  if (a->kind == 2) {
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)a->s[i] != (unsigned char)b->s[i])
        return (unsigned char)a->s[i] < (unsigned char)b->s[i] ? -1 : 1;
    return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
  }
  if (a->nan && b->nan) return 0;
  if (a->nan) return 1;
  if (b->nan) return -1;
  return a->v < b->v ? -1 : a->v > b->v ? 1 : 0;
}

static bool ref_op(mw_filter_op op, int c) {
  switch (op) {
    case MW_FILTER_EQ: return c == 0;
    case MW_FILTER_NE: return c != 0;
    case MW_FILTER_LT: return c < 0;
    case MW_FILTER_LE: return c <= 0;
    case MW_FILTER_GT: return c > 0;
    case MW_FILTER_GE: return c >= 0;
  }
  return false;
}

static int ref_eval(const batch *b, const mw_expr *e, int64_t r) {
  switch (e->kind) {
    case MW_EXPR_AND: {
      bool any_null = false;
      for (size_t i = 0; i < e->n_args; i++) {
        int v = ref_eval(b, e->args[i], r);
        if (v == RF) return RF;
        if (v == RN) any_null = true;
      }
      return any_null ? RN : RT;
    }
    case MW_EXPR_OR: {
      bool any_null = false;
      for (size_t i = 0; i < e->n_args; i++) {
        int v = ref_eval(b, e->args[i], r);
        if (v == RT) return RT;
        if (v == RN) any_null = true;
      }
      return any_null ? RN : RF;
    }
    case MW_EXPR_NOT: {
      int v = ref_eval(b, e->args[0], r);
      return v == RN ? RN : v == RT ? RF : RT;
    }
    case MW_EXPR_CMP: {
      rval x = ref_operand(b, e->args[0], r), y = ref_operand(b, e->args[1], r);
      if (x.kind == 0 || y.kind == 0) return RN;
      return ref_op(e->op, ref_cmp(&x, &y)) ? RT : RF;
    }
    case MW_EXPR_IN: {
      rval x = ref_operand(b, e->args[0], r);
      if (x.kind == 0) return RN;
      bool saw_null = false;
      for (size_t i = 1; i < e->n_args; i++) {
        rval y = ref_operand(b, e->args[i], r);
        if (y.kind == 0) saw_null = true;
        else if (ref_cmp(&x, &y) == 0) return RT;
      }
      return saw_null ? RN : RF;
    }
    case MW_EXPR_IS_NULL: return ref_operand(b, e->args[0], r).kind == 0 ? RT : RF;
    case MW_EXPR_IS_NOT_NULL: return ref_operand(b, e->args[0], r).kind != 0 ? RT : RF;
    case MW_EXPR_COLUMN: {
      rval x = ref_operand(b, e, r);
      return x.kind == 0 ? RN : x.v != 0 ? RT : RF;
    }
    case MW_EXPR_BOOL: return e->i ? RT : RF;
    default: return RN;
  }
}

/* ------------------------------------------------ random trees */

static mw_expr node_pool[8192];
static const mw_expr *arg_pool[16384];
static size_t n_nodes, n_argp;

static mw_expr *nn(mw_expr_kind k) {
  mw_expr *e = &node_pool[n_nodes++];
  memset(e, 0, sizeof *e);
  e->kind = k;
  return e;
}
static const mw_expr **na(size_t n) {
  const mw_expr **a = &arg_pool[n_argp];
  n_argp += n;
  return a;
}

typedef enum grp { GR_NUM, GR_STR, GR_BOOL, GR_DATE } grp;
static grp group_of(int c) {
  switch (c) {
    case C_S: case C_LS: return GR_STR;
    case C_B: return GR_BOOL;
    case C_D32: return GR_DATE;
    default: return GR_NUM;
  }
}

static mw_expr *rand_literal(grp g, bool allow_null) {
  if (allow_null && rndn(12) == 0) return nn(MW_EXPR_NULL);
  mw_expr *e;
  switch (g) {
    case GR_STR:
      e = nn(MW_EXPR_STRING);
      e->s = STR_POOL[rndn(N_STR_POOL)];
      e->s_len = strlen(e->s);
      return e;
    case GR_BOOL:
      e = nn(MW_EXPR_BOOL);
      e->i = (int64_t)(rnd() & 1);
      return e;
    case GR_DATE:
      e = nn(MW_EXPR_INT);
      e->i = (int64_t)rndn(13) - 6;
      return e;
    default:
      switch (rndn(4)) {
        case 0:
          e = nn(MW_EXPR_INT);
          e->i = I64_POOL[rndn(sizeof I64_POOL / 8)];
          return e;
        case 1:
          e = nn(MW_EXPR_INT);
          e->i = (int64_t)rndn(13) - 6;
          return e;
        case 2: {
          uint64_t u = U64_POOL[rndn(sizeof U64_POOL / 8)];
          if (u <= (uint64_t)INT64_MAX) {
            e = nn(MW_EXPR_INT);
            e->i = (int64_t)u;
          } else {
            e = nn(MW_EXPR_FLOAT);
            e->f = (double)u;
          }
          return e;
        }
        default:
          e = nn(MW_EXPR_FLOAT);
          e->f = F64_POOL[rndn(N_F64_POOL)];
          if (rndn(4) == 0) e->f = (double)(float)e->f;
          return e;
      }
  }
}

static mw_expr *col_node(int c) {
  mw_expr *e = nn(MW_EXPR_COLUMN);
  e->name = col_names[c];
  return e;
}

/* a column of the same comparison group as c */
static int partner(int c) {
  static const int nums[] = {C_I64, C_I32, C_U64, C_F64, C_F32, C_I8, C_U8, C_F16};
  switch (group_of(c)) {
    case GR_STR: return rnd() & 1 ? C_S : C_LS;
    case GR_BOOL: return C_B;
    case GR_DATE: return C_D32;
    default: return nums[rndn(8)];
  }
}

static mw_expr *rand_pred(void) {
  int c = (int)rndn(NCOLS);
  grp g = group_of(c);
  switch (rndn(10)) {
    case 0: case 1: case 2: case 3: { /* col op lit, or lit op col */
      mw_expr *e = nn(MW_EXPR_CMP);
      e->op = (mw_filter_op)rndn(6);
      const mw_expr **a = na(2);
      mw_expr *cn = col_node(c), *ln = rand_literal(g, true);
      if (rnd() & 1) { a[0] = cn; a[1] = ln; } else { a[0] = ln; a[1] = cn; }
      e->args = a;
      e->n_args = 2;
      return e;
    }
    case 4: { /* col op col */
      mw_expr *e = nn(MW_EXPR_CMP);
      e->op = (mw_filter_op)rndn(6);
      const mw_expr **a = na(2);
      a[0] = col_node(c);
      a[1] = col_node(partner(c));
      e->args = a;
      e->n_args = 2;
      return e;
    }
    case 5: { /* lit op lit */
      mw_expr *e = nn(MW_EXPR_CMP);
      e->op = (mw_filter_op)rndn(6);
      const mw_expr **a = na(2);
      a[0] = rand_literal(g, true);
      a[1] = rand_literal(g == GR_DATE ? GR_NUM : g, true);
      e->args = a;
      e->n_args = 2;
      return e;
    }
    case 6: case 7: { /* IN */
      mw_expr *e = nn(MW_EXPR_IN);
      size_t k = 1 + rndn(5);
      const mw_expr **a = na(k + 1);
      a[0] = rndn(8) ? col_node(c) : rand_literal(g, false);
      for (size_t i = 0; i < k; i++) a[1 + i] = rand_literal(g, true);
      e->args = a;
      e->n_args = k + 1;
      return e;
    }
    case 8: { /* IS [NOT] NULL */
      mw_expr *e = nn(rnd() & 1 ? MW_EXPR_IS_NULL : MW_EXPR_IS_NOT_NULL);
      const mw_expr **a = na(1);
      a[0] = rndn(6) ? col_node(c) : rand_literal(g, true);
      e->args = a;
      e->n_args = 1;
      return e;
    }
    default: /* bare bool column or constant */
      switch (rndn(4)) {
        case 0: return nn(MW_EXPR_NULL);
        case 1: return rand_literal(GR_BOOL, false);
        default: return col_node(C_B);
      }
  }
}

static mw_expr *rand_tree(int depth) {
  if (depth <= 0 || rndn(3) == 0) return rand_pred();
  switch (rndn(3)) {
    case 0: {
      mw_expr *e = nn(MW_EXPR_NOT);
      const mw_expr **a = na(1);
      a[0] = rand_tree(depth - 1);
      e->args = a;
      e->n_args = 1;
      return e;
    }
    default: {
      mw_expr *e = nn(rnd() & 1 ? MW_EXPR_AND : MW_EXPR_OR);
      size_t k = 2 + rndn(3);
      const mw_expr **a = na(k);
      for (size_t i = 0; i < k; i++) a[i] = rand_tree(depth - 1);
      e->args = a;
      e->n_args = k;
      return e;
    }
  }
}

/* ------------------------------------------------ differential test */

/* Does row r's cell satisfy the term (the B+tree's view: mw_key order)? */
static bool term_matches(const batch *b, const mw_filter_term *t, int64_t r) {
  if (t->none) return false;
  const col *k = &b->cols[t->column];
  mw_type ty;
  mw_error e;
  if (mw_type_from_format(&ty, col_formats[t->column], &e) != MW_OK) abort();
  mw_key cell;
  if (!mw_key_get(&cell, &ty, &k->a, b->arr.offset + r)) return false;
  if (t->in) {
    for (size_t i = 0; i < t->n_values; i++)
      if (mw_key_cmp(t->kc, &cell, &t->values[i]) == 0) return true;
    return false;
  }
  return mw_filter_op_holds(t->op, mw_key_cmp(t->kc, &cell, &t->value));
}

static int64_t diff_rows_checked, diff_terms_checked;

/* Evaluates e on b over a few ranges, against the reference. */
static void check_tree(const batch *b, const mw_expr *e, const char *what) {
  mw_bound_filter *f = NULL;
  mw_error err = {0};
  if (mw_filter_bind(&f, e, &b->schema, &err) != MW_OK) {
    CHECK(!"bind");
    char *s = NULL;
    mw_expr_to_string(&s, e, NULL);
    fprintf(stderr, "  %s: bind %s: %s\n", what, s ? s : "?", err.message);
    mw_free(s);
    return;
  }
  uint8_t *keep = malloc((size_t)b->n + 1);
  int8_t *ref = malloc((size_t)b->n + 1);
  for (int64_t r = 0; r < b->n; r++) ref[r] = (int8_t)ref_eval(b, e, r);
  bool bad = false;
  for (int rep = 0; rep < 3 && !bad; rep++) {
    int64_t start = rep == 0 ? 0 : (int64_t)rndn((size_t)b->n);
    int64_t len = rep == 0 ? b->n : (int64_t)rndn((size_t)(b->n - start) + 1);
    memset(keep, 0xEE, (size_t)b->n + 1);
    if (mw_filter_eval(keep, f, &b->arr, start, len, &err) != MW_OK) {
      CHECK(!"eval");
      fprintf(stderr, "  %s: eval: %s\n", what, err.message);
      bad = true;
      break;
    }
    if (keep[len] != 0xEE) { CHECK(!"eval wrote past len"); bad = true; }
    for (int64_t i = 0; i < len && !bad; i++) {
      int want = ref[start + i] == RT;
      if (keep[i] != want) {
        char *s = NULL;
        mw_expr_to_string(&s, e, NULL);
        fprintf(stderr, "  %s: row %lld: got %d, reference %d (3VL %d) for %s\n", what,
                (long long)(start + i), keep[i], want, ref[start + i], s ? s : "?");
        mw_free(s);
        CHECK(!"eval matches the reference");
        bad = true;
      }
    }
    diff_rows_checked += len;
  }
  /* a gather of random rows (any order, repeats), longer than one chunk */
  if (!bad) {
    size_t nr = rndn(2) ? rndn(40) : 1024 + rndn(1500);
    int64_t *rows = malloc((nr + 1) * sizeof *rows);
    uint8_t *k2 = malloc(nr + 1);
    for (size_t i = 0; i < nr; i++) rows[i] = (int64_t)rndn((size_t)b->n);
    if (mw_filter_eval_rows(k2, f, &b->arr, rows, nr, &err) != MW_OK) {
      CHECK(!"eval_rows");
      fprintf(stderr, "  %s: eval_rows: %s\n", what, err.message);
      bad = true;
    }
    for (size_t i = 0; i < nr && !bad; i++)
      if (k2[i] != (ref[rows[i]] == RT)) {
        CHECK(!"eval_rows matches the reference");
        fprintf(stderr, "  %s: eval_rows: row %lld\n", what, (long long)rows[i]);
        bad = true;
      }
    diff_rows_checked += (int64_t)nr;
    free(rows);
    free(k2);
  }
  /* every term holds on every passing row; a none term means no row passes */
  const mw_filter_term *terms = NULL;
  size_t nt = mw_filter_index_terms(f, &terms);
  for (size_t t = 0; t < nt && !bad; t++) {
    for (int64_t r = 0; r < b->n; r++)
      if (ref[r] == RT && !term_matches(b, &terms[t], r)) {
        char *s = NULL;
        mw_expr_to_string(&s, e, NULL);
        fprintf(stderr, "  %s: term %zu (column %s) misses passing row %lld of %s\n", what, t,
                terms[t].name, (long long)r, s ? s : "?");
        mw_free(s);
        CHECK(!"term superset");
        bad = true;
        break;
      }
    diff_terms_checked++;
  }
  int k = mw_filter_constant(f);
  if (k >= 0)
    for (int64_t r = 0; r < b->n && !bad; r++)
      if ((ref[r] == RT) != (k == 1)) { CHECK(!"constant filter"); bad = true; }
  if (!bad) CHECK(true);
  free(keep);
  free(ref);
  mw_bound_filter_free(f);
}

static void test_random_differential(void) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const int n_batches = 4, n_trees = 150; /* sanitizers: fewer trees (each still > 1 chunk) */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  const int n_batches = 4, n_trees = 150;
#else
  const int n_batches = 6, n_trees = 400;
#endif
#else
  const int n_batches = 6, n_trees = 400;
#endif
  for (int bi = 0; bi < n_batches; bi++) {
    batch b;
    int64_t n = bi == 0 ? 1 : 1500 + (int64_t)rndn(1500);
    make_batch(&b, n, (int64_t)rndn(13), bi % 2 == 1, 10 + (int)rndn(20));
    for (int ti = 0; ti < n_trees; ti++) {
      n_nodes = n_argp = 0;
      mw_expr *e = rand_tree(1 + (int)rndn(5));
      check_tree(&b, e, "built");
      /* the same tree through text */
      char *s = NULL;
      mw_expr *p = NULL;
      CHECK_OK(mw_expr_to_string(&s, e, errp), errp);
      CHECK_OK(mw_expr_parse(&p, s ? s : "", errp), errp);
      if (p && !mw_expr_equal(p, e)) {
        CHECK(!"round trip equal");
        fprintf(stderr, "  text: %s\n", s);
      }
      if (p && ti % 4 == 0) check_tree(&b, p, "parsed");
      mw_free(s);
      mw_expr_free(p);
    }
    free_batch(&b);
  }
  CHECK(diff_rows_checked > 100000);
  CHECK(diff_terms_checked > 50);
  printf("  differential: %lld rows, %lld terms checked\n", (long long)diff_rows_checked,
         (long long)diff_terms_checked);
}

/* Single-conjunct filters: the rows a real B+tree returns for the term are
 * exactly the rows where the filter is TRUE. */
static void test_terms_exact_btree(void) {
  batch b;
  make_batch(&b, 2000, 5, false, 15);
  const int cols[] = {C_I64, C_I32, C_U64, C_F64, C_F32, C_S, C_LS, C_B, C_I8, C_U8, C_F16, C_D32};
  mw_btree *trees[NCOLS] = {0};
  for (int c = 0; c < NCOLS; c++) {
    mw_type ty;
    CHECK_OK(mw_type_from_format(&ty, col_formats[c], errp), errp);
    CHECK_OK(mw_btree_new(&trees[c], &ty, errp), errp);
    for (int64_t r = 0; r < b.n; r++)
      CHECK_OK(mw_btree_insert_from(trees[c], &b.cols[c].a, b.arr.offset + r, (uint64_t)r, NULL, errp), errp);
  }
  uint8_t *in_tree = malloc((size_t)b.n);
  int exact = 0, none = 0, no_term = 0;
  for (int it = 0; it < 1500; it++) {
    n_nodes = n_argp = 0;
    int c = cols[rndn(NCOLS)];
    grp g = group_of(c);
    mw_expr *e;
    if (rndn(4) == 0) {
      e = nn(MW_EXPR_IN);
      size_t k = 1 + rndn(4);
      const mw_expr **a = na(k + 1);
      a[0] = col_node(c);
      for (size_t i = 0; i < k; i++) a[1 + i] = rand_literal(g, true);
      e->args = a;
      e->n_args = k + 1;
    } else {
      e = nn(MW_EXPR_CMP);
      e->op = (mw_filter_op)rndn(6);
      const mw_expr **a = na(2);
      mw_expr *cn = col_node(c), *ln = rand_literal(g, false);
      if (rnd() & 1) { a[0] = cn; a[1] = ln; } else { a[0] = ln; a[1] = cn; }
      e->args = a;
      e->n_args = 2;
    }
    mw_bound_filter *f = NULL;
    CHECK_OK(mw_filter_bind(&f, e, &b.schema, errp), errp);
    if (!f) continue;
    const mw_filter_term *t = NULL;
    size_t nt = mw_filter_index_terms(f, &t);
    bool is_ne = e->kind == MW_EXPR_CMP && e->op == MW_FILTER_NE;
    if (nt == 0) {
      /* only != (and IN of nothing but NULLs, which folds to a constant) may lack a term */
      if (!is_ne && mw_filter_constant(f) < 0) {
        char *s = NULL;
        mw_expr_to_string(&s, e, NULL);
        fprintf(stderr, "  no term for %s\n", s ? s : "?");
        mw_free(s);
        CHECK(!"term expected");
      }
      no_term++;
      mw_bound_filter_free(f);
      continue;
    }
    CHECK_INT(nt, 1);
    CHECK_INT(t->column, c);
    memset(in_tree, 0, (size_t)b.n);
    if (!t->none) {
      mw_type ty;
      mw_type_from_format(&ty, col_formats[c], NULL);
      CHECK_INT(t->kc, mw_key_class_of(&ty));
      size_t nv = t->in ? t->n_values : 1;
      for (size_t v = 0; v < nv; v++) {
        uint64_t *ids = NULL;
        size_t n_ids = 0;
        CHECK_OK(mw_btree_lookup(&ids, &n_ids, trees[c], t->in ? MW_FILTER_EQ : t->op,
                                 t->in ? &t->values[v] : &t->value, errp), errp);
        for (size_t i = 0; i < n_ids; i++) in_tree[ids[i]] = 1;
        free(ids);
      }
    } else {
      none++;
    }
    bool same = true;
    for (int64_t r = 0; r < b.n; r++)
      if (in_tree[r] != (ref_eval(&b, e, r) == RT)) same = false;
    if (!same) {
      char *s = NULL;
      mw_expr_to_string(&s, e, NULL);
      fprintf(stderr, "  term rows differ for %s\n", s ? s : "?");
      mw_free(s);
    }
    CHECK(same);
    exact++;
    mw_bound_filter_free(f);
  }
  printf("  exact terms: %d (none: %d), without a term: %d\n", exact, none, no_term);
  CHECK(exact > 1000);
  CHECK(none > 0);
  free(in_tree);
  for (int c = 0; c < NCOLS; c++) mw_btree_free(trees[c]);
  free_batch(&b);
}

/* ------------------------------------------------ specific semantics */

/* keep of `text` over a hand-made one-column-per-type batch */
static int eval_text(const batch *b, const char *text, uint8_t *keep) {
  mw_expr *e = NULL;
  mw_bound_filter *f = NULL;
  int rc = -1;
  if (mw_expr_parse(&e, text, errp) == MW_OK && mw_filter_bind(&f, e, &b->schema, errp) == MW_OK &&
      mw_filter_eval(keep, f, &b->arr, 0, b->n, errp) == MW_OK)
    rc = 0;
  else
    fprintf(stderr, "  %s: %s\n", text, g_err.message);
  mw_bound_filter_free(f);
  mw_expr_free(e);
  return rc;
}

static void test_exact_numbers(void) {
  batch b;
  make_batch(&b, 4, 0, false, 0);
  /* row 0..3 values for i64, u64, f64 */
  int64_t *i64 = (int64_t *)b.cols[C_I64].values + b.cols[C_I64].a.offset;
  uint64_t *u64 = (uint64_t *)b.cols[C_U64].values + b.cols[C_U64].a.offset;
  double *f64 = (double *)b.cols[C_F64].values + b.cols[C_F64].a.offset;
  const int64_t iv[4] = {9007199254740993ll, 9007199254740992ll, INT64_MAX, -3};
  const uint64_t uv[4] = {UINT64_MAX, (uint64_t)INT64_MAX + 1, 9007199254740993ull, 0};
  const double fv[4] = {9007199254740992.0, NAN, -0.0, 18446744073709551616.0};
  memcpy(i64, iv, sizeof iv);
  memcpy(u64, uv, sizeof uv);
  memcpy(f64, fv, sizeof fv);
  static const struct { const char *f; uint8_t want[4]; } cases[] = {
    {"i64 = 9007199254740992.0", {0, 1, 0, 0}},
    {"i64 > 9007199254740992.0", {1, 0, 1, 0}},
    {"i64 = 9007199254740993", {1, 0, 0, 0}},
    {"i64 < 9.3e18", {1, 1, 1, 1}},
    {"i64 >= 9223372036854775807.0", {0, 0, 0, 0}}, /* the literal is 2^63 */
    {"i64 < -2.5", {0, 0, 0, 1}},
    {"i64 <= -3.0", {0, 0, 0, 1}},
    {"i64 != -2.5", {1, 1, 1, 1}},
    {"i64 < NAN", {1, 1, 1, 1}},
    {"i64 = f64", {0, 0, 0, 0}},
    {"i64 > f64", {1, 0, 1, 0}},
    {"u64 > 9223372036854775807", {1, 1, 0, 0}},
    {"u64 = 18446744073709551615.0", {0, 0, 0, 0}}, /* the literal is 2^64 */
    {"u64 < 18446744073709551615.0", {1, 1, 1, 1}},
    {"u64 > -1", {1, 1, 1, 1}},
    {"u64 = -0.0", {0, 0, 0, 1}},
    {"u64 > i64", {1, 1, 0, 1}},
    {"u64 = 9007199254740992.0", {0, 0, 0, 0}},
    {"u64 IN (9007199254740993, -1, 0.5, 0)", {0, 0, 1, 1}},
    {"f64 = 9007199254740993", {0, 0, 0, 0}},
    {"f64 < 9007199254740993", {1, 0, 1, 0}},
    {"f64 > 9007199254740991", {1, 1, 0, 1}},
    {"f64 = NAN", {0, 1, 0, 0}},
    {"f64 > INF", {0, 1, 0, 0}},
    {"f64 >= NaN", {0, 1, 0, 0}},
    {"f64 <= NaN", {1, 1, 1, 1}},
    {"f64 != NAN", {1, 0, 1, 1}},
    {"f64 = 0", {0, 0, 1, 0}},
    {"f64 = u64", {0, 0, 0, 0}},
    {"f64 > u64", {0, 1, 0, 1}},
    {"f64 IN (NAN, 0)", {0, 1, 1, 0}},
    {"NOT f64 IN (NAN, 0)", {1, 0, 0, 1}},
    {"f64 NOT IN (NAN, NULL)", {0, 0, 0, 0}},
    {"1 = 1.0 AND NOT (NAN < INF) AND 'b' > 'a'", {1, 1, 1, 1}},
    {"9007199254740993 = 9007199254740992.0", {0, 0, 0, 0}},
    {"NULL IS NULL AND 1 IS NOT NULL", {1, 1, 1, 1}},
    {"NOT (i64 = NULL)", {0, 0, 0, 0}},
    {"i64 = NULL OR TRUE", {1, 1, 1, 1}},
    {"i64 IN (NULL) OR i64 = -3", {0, 0, 0, 1}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t keep[4] = {9, 9, 9, 9};
    CHECK_INT(eval_text(&b, cases[i].f, keep), 0);
    if (memcmp(keep, cases[i].want, 4) != 0) {
      CHECK(!"exact case");
      fprintf(stderr, "  %s: got %d%d%d%d want %d%d%d%d\n", cases[i].f, keep[0], keep[1], keep[2],
              keep[3], cases[i].want[0], cases[i].want[1], cases[i].want[2], cases[i].want[3]);
    }
  }
  free_batch(&b);
}

static void test_bind_errors(void) {
  batch b;
  make_batch(&b, 3, 0, false, 0);
  /* a list and a decimal column for the refusals */
  struct ArrowSchema item = {.format = "i", .name = "item", .release = noop_sch};
  struct ArrowSchema *item_p = &item;
  struct ArrowSchema extra[2] = {
    {.format = "+l", .name = "lst", .n_children = 1, .children = &item_p, .release = noop_sch},
    {.format = "d:10,2", .name = "dec", .release = noop_sch},
  };
  struct ArrowSchema *kids[NCOLS + 3];
  for (int c = 0; c < NCOLS; c++) kids[c] = &b.kid_s[c];
  kids[NCOLS] = &extra[0];
  kids[NCOLS + 1] = &extra[1];
  struct ArrowSchema dup = {.format = "l", .name = "i64", .release = noop_sch};
  kids[NCOLS + 2] = &dup;
  struct ArrowSchema schema = {.format = "+s", .n_children = NCOLS + 2, .children = kids, .release = noop_sch};
  static const struct { const char *f, *msg; } cases[] = {
    {"nope = 1", "no column 'nope' in the schema"},
    {"i64 = 'x'", "column 'i64' (int64) cannot be compared with a string literal"},
    {"s = 1", "column 's' (utf8) cannot be compared with an integer literal"},
    {"ls < 1.5", "column 'ls' (large_utf8) cannot be compared with a float literal"},
    {"b = 1", "column 'b' (bool) cannot be compared with an integer literal"},
    {"i64 = TRUE", "cannot be compared with a bool literal"},
    {"d32 = 1.5", "column 'd32' (date32) cannot be compared with a float literal"},
    {"d32 = i32", "column 'd32' (date32) cannot be compared with column 'i32' (int32)"},
    {"s = i64", "column 's' (utf8) cannot be compared with column 'i64' (int64)"},
    {"b = i64", "cannot be compared with column"},
    {"i64", "column 'i64' (int64) is not a condition"},
    {"5", "an integer literal is not a condition"},
    {"'x' AND b", "a string literal is not a condition"},
    {"1 = 'a'", "cannot compare an integer literal with a string literal"},
    {"TRUE < 2.5", "cannot compare a bool literal with a float literal"},
    {"i64 IN (1, 'a')", "cannot be compared with a string literal in IN"},
    {"lst = 1", "column 'lst' of type list cannot be compared"},
    {"lst = NULL", "column 'lst' of type list cannot be compared"},
    {"dec > 1", "column 'dec' of type decimal128(10, 2) cannot be compared"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mw_expr *e = NULL;
    mw_bound_filter *f = (mw_bound_filter *)1;
    mw_error err = {0};
    CHECK_OK(mw_expr_parse(&e, cases[i].f, errp), errp);
    CHECK_INT(mw_filter_bind(&f, e, &schema, &err), MW_ERR_INVALID);
    CHECK(f == NULL);
    if (!strstr(err.message, cases[i].msg)) {
      CHECK(!"bind message");
      fprintf(stderr, "  %s: got \"%s\", want \"%s\"\n", cases[i].f, err.message, cases[i].msg);
    }
    mw_expr_free(e);
  }
  /* IS NULL works on any column; a duplicated name is ambiguous */
  mw_expr *e = NULL;
  mw_bound_filter *f = NULL;
  CHECK_OK(mw_expr_parse(&e, "lst IS NOT NULL AND dec IS NULL", errp), errp);
  CHECK_OK(mw_filter_bind(&f, e, &schema, errp), errp);
  mw_bound_filter_free(f);
  mw_expr_free(e);
  schema.n_children = NCOLS + 3;
  mw_error err = {0};
  CHECK_OK(mw_expr_parse(&e, "i64 = 1", errp), errp);
  CHECK_INT(mw_filter_bind(&f, e, &schema, &err), MW_ERR_INVALID);
  CHECK(strstr(err.message, "ambiguous") != NULL);
  struct ArrowSchema not_struct = {.format = "l", .release = noop_sch};
  CHECK_INT(mw_filter_bind(&f, e, &not_struct, &err), MW_ERR_INVALID);
  mw_expr_free(e);
  free_batch(&b);
}

static void test_eval_shape_and_helpers(void) {
  batch b;
  make_batch(&b, 3000, 7, true, 20);
  mw_expr *e = NULL;
  mw_bound_filter *f = NULL;
  CHECK_OK(mw_expr_parse(&e, "u64 > 3 AND s IN ('a', 'b') AND (f64 < 1 OR i64 = i32) AND NOT b", errp), errp);
  CHECK_OK(mw_filter_bind(&f, e, &b.schema, errp), errp);
  const size_t *cols = NULL;
  size_t nc = mw_filter_columns(f, &cols);
  CHECK_INT(nc, 6);
  if (nc == 6) {
    const size_t want[6] = {C_I64, C_I32, C_U64, C_F64, C_S, C_B};
    for (int i = 0; i < 6; i++) CHECK_INT(cols[i], want[i]);
  }
  const mw_filter_term *t = NULL;
  size_t nt = mw_filter_index_terms(f, &t);
  CHECK_INT(nt, 3); /* u64 > 3, s IN (...), NOT b (= b = FALSE) */
  if (nt == 3) {
    CHECK(!t[0].in && t[0].column == C_U64 && t[0].op == MW_FILTER_GT && t[0].value.v.u == 3);
    CHECK(t[1].in && t[1].column == C_S && t[1].n_values == 2);
    CHECK(!t[2].in && t[2].column == C_B && t[2].op == MW_FILTER_EQ && t[2].value.v.i == 0);
  }
  CHECK_INT(mw_filter_constant(f), -1);
  uint8_t *keep = malloc(3000);
  mw_error err = {0};
  CHECK_INT(mw_filter_eval(keep, f, &b.arr, 2990, 11, &err), MW_ERR_INVALID);
  CHECK(strstr(err.message, "outside the batch") != NULL);
  CHECK_INT(mw_filter_eval(keep, f, &b.arr, -1, 1, &err), MW_ERR_INVALID);
  CHECK_OK(mw_filter_eval(keep, f, &b.arr, 3000, 0, &err), &err);
  const int64_t bad_rows[3] = {0, 2999, 3000};
  CHECK_INT(mw_filter_eval_rows(keep, f, &b.arr, bad_rows, 3, &err), MW_ERR_INVALID);
  CHECK(strstr(err.message, "row 3000 (index 2 of the list)") != NULL);
  CHECK_OK(mw_filter_eval_rows(keep, f, &b.arr, bad_rows, 2, &err), &err);
  CHECK_OK(mw_filter_eval_rows(keep, f, &b.arr, NULL, 0, &err), &err);
  b.arr.n_children = NCOLS - 1;
  CHECK_INT(mw_filter_eval(keep, f, &b.arr, 0, 10, &err), MW_ERR_INVALID);
  b.arr.n_children = NCOLS;
  int64_t saved = b.cols[C_U64].a.length;
  b.cols[C_U64].a.length = 100;
  CHECK_INT(mw_filter_eval(keep, f, &b.arr, 0, 3000, &err), MW_ERR_INVALID);
  CHECK(strstr(err.message, "column 'u64'") != NULL);
  b.cols[C_U64].a.length = saved;
  const void *sv = b.cols[C_S].bufs[2];
  b.cols[C_S].bufs[2] = NULL;
  CHECK_INT(mw_filter_eval(keep, f, &b.arr, 0, 3000, &err), MW_ERR_INVALID);
  b.cols[C_S].bufs[2] = sv;
  /* a column folded away is not read (nor checked) */
  mw_expr *e2 = NULL;
  mw_bound_filter *f2 = NULL;
  CHECK_OK(mw_expr_parse(&e2, "(i64 = 1 AND FALSE) OR u8 IS NULL", errp), errp);
  CHECK_OK(mw_filter_bind(&f2, e2, &b.schema, errp), errp);
  nc = mw_filter_columns(f2, &cols);
  CHECK_INT(nc, 1);
  if (nc == 1) CHECK_INT(cols[0], C_U8);
  b.kid_ap[C_I64] = NULL; /* would fail if read */
  CHECK_OK(mw_filter_eval(keep, f2, &b.arr, 0, 3000, &err), &err);
  b.kid_ap[C_I64] = &b.cols[C_I64].a;
  /* constants */
  mw_expr *e3 = NULL;
  mw_bound_filter *f3 = NULL;
  CHECK_OK(mw_expr_parse(&e3, "i64 > 1 OR NOT (NULL IS NULL) OR 2 > 1", errp), errp);
  CHECK_OK(mw_filter_bind(&f3, e3, &b.schema, errp), errp);
  CHECK_INT(mw_filter_constant(f3), 1);
  CHECK_OK(mw_filter_eval(keep, f3, &b.arr, 5, 100, &err), &err);
  CHECK(keep[0] == 1 && keep[99] == 1);
  mw_bound_filter_free(f3);
  mw_expr_free(e3);
  e3 = NULL;
  CHECK_OK(mw_expr_parse(&e3, "i64 = 1.5 AND u64 > 0", errp), errp);
  CHECK_OK(mw_filter_bind(&f3, e3, &b.schema, errp), errp);
  nt = mw_filter_index_terms(f3, &t);
  CHECK_INT(nt, 2);
  if (nt == 2) CHECK(t[0].none && t[0].column == C_I64);
  free(keep);
  mw_bound_filter_free(f3);
  mw_expr_free(e3);
  mw_bound_filter_free(f2);
  mw_expr_free(e2);
  mw_bound_filter_free(f);
  mw_expr_free(e);
  free_batch(&b);
}

/* One bound filter shared by threads that also parse and bind their own
 * (the parser's one-time locale setup, the binder's sort): same results. */
typedef struct share_job {
  const batch *b;
  const mw_bound_filter *shared;
  const char *text;
  const uint8_t *want;
  int mismatches;
} share_job;

static void *share_thread(void *arg) {
  share_job *j = arg;
  uint8_t *keep = malloc((size_t)j->b->n);
  for (int rep = 0; rep < 20; rep++) {
    mw_expr *e = NULL;
    mw_bound_filter *own = NULL;
    if (mw_expr_parse(&e, j->text, NULL) != MW_OK || mw_filter_bind(&own, e, &j->b->schema, NULL) != MW_OK) {
      j->mismatches++;
    } else {
      const mw_bound_filter *fs[2] = {j->shared, own};
      for (int k = 0; k < 2; k++)
        if (mw_filter_eval(keep, fs[k], &j->b->arr, 0, j->b->n, NULL) != MW_OK ||
            memcmp(keep, j->want, (size_t)j->b->n) != 0)
          j->mismatches++;
    }
    mw_bound_filter_free(own);
    mw_expr_free(e);
  }
  free(keep);
  return NULL;
}

static void test_threads_share_filter(void) {
  batch b;
  make_batch(&b, 2500, 3, true, 15);
  const char *text = "s IN ('a', 'b', 'zeta', 'ab', 'abc', 'ba', 'A', 'x', 'y', 'z', 'w', 'v', 'u', 't', 'r', 'q', 'p') "
                     "AND (f64 > 0.5e0 OR i64 <= -1) OR NOT b AND u64 IN (5, 3, 2, 1, 0)";
  mw_expr *e = NULL;
  mw_bound_filter *f = NULL;
  CHECK_OK(mw_expr_parse(&e, text, errp), errp);
  CHECK_OK(mw_filter_bind(&f, e, &b.schema, errp), errp);
  uint8_t *want = malloc((size_t)b.n);
  CHECK_OK(mw_filter_eval(want, f, &b.arr, 0, b.n, errp), errp);
  int64_t pass = 0;
  for (int64_t r = 0; r < b.n; r++) {
    CHECK_INT(want[r], ref_eval(&b, e, r) == RT);
    pass += want[r];
  }
  CHECK(pass > 0 && pass < b.n);
  share_job jobs[4];
  pthread_t th[4];
  for (int t = 0; t < 4; t++) {
    jobs[t] = (share_job){.b = &b, .shared = f, .text = text, .want = want};
    CHECK_INT(pthread_create(&th[t], NULL, share_thread, &jobs[t]), 0);
  }
  for (int t = 0; t < 4; t++) {
    pthread_join(th[t], NULL);
    CHECK_INT(jobs[t].mismatches, 0);
  }
  free(want);
  mw_bound_filter_free(f);
  mw_expr_free(e);
  free_batch(&b);
}

int main(void) {
  init_pools();
  MW_RUN(test_parse_accept);
  MW_RUN(test_parse_values);
  MW_RUN(test_parse_reject);
  MW_RUN(test_parse_nesting);
  MW_RUN(test_parse_garbage);
  MW_RUN(test_c_trees);
  MW_RUN(test_exact_numbers);
  MW_RUN(test_bind_errors);
  MW_RUN(test_eval_shape_and_helpers);
  MW_RUN(test_random_differential);
  MW_RUN(test_terms_exact_btree);
  MW_RUN(test_threads_share_filter);
  return mw_test_finish();
}
