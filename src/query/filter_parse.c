/* filter_parse.c - filter expression text <-> mw_expr trees.
 *
 * Design: a hand-written lexer (one token of lookahead) feeds a recursive
 * descent parser for the grammar in memwal.h ("filter expressions"). The
 * input is treated as hostile: every token is bounds-checked against the
 * NUL-terminated text, nesting (parentheses + NOTs) is capped at
 * MW_EXPR_MAX_NESTING so recursion depth is bounded, and every error is
 * MW_ERR_INVALID "filter: expected X at offset N" (or names the bad token).
 *
 * The parser builds a temporary tree of separately allocated nodes (each
 * allocation recorded so an error frees them all), then copies it into ONE
 * allocation - nodes, args arrays, then names and strings - with the root
 * node first, so mw_expr_free is a single free().
 *
 * Literals: integers are read as a uint64 magnitude and must fit int64 with
 * the sign applied (a '-' before a number literal is unary minus, spaces
 * allowed: "- 5"; "-9223372036854775808" fits). Floats contain '.' or an
 * exponent, only ASCII digits, and are converted with strtod_l in the "C"
 * locale (locale-independent); a float that overflows to infinity is an
 * error (write INF), underflow to a subnormal or zero is accepted. NAN and
 * INF are float keywords (so that every double, including those, has a
 * text form mw_expr_to_string can print and read back).
 *
 * mw_expr_to_string prints every AND / OR / comparison / IN / IS NULL in
 * parentheses (NOT needs none: "NOT (a = 1)"), floats with the
 * shortest round-trip digits (src/arrow/float_fmt.h, locale-independent)
 * plus ".0" when they would otherwise read back as integers, strings in
 * '' with '' escapes, names bare when they are identifiers and not
 * keywords, else in "" with "" escapes. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/float_fmt.h"
#include "common/buf.h"
#include "common/error.h"
#include "query/filter.h"

/* Parenthesis + NOT nesting the parser's recursion accepts. The tree it
 * builds is limited to MW_EXPR_MAX_DEPTH levels as it goes, and
 * mw_expr_to_string prints a tree of depth D with at most D - 1 levels of
 * nesting, so the text of any tree parse accepted parses again. */
#define MW_EXPR_MAX_NESTING MW_EXPR_MAX_DEPTH

/* ------------------------------------------------------------------ lexer */

typedef enum tok_kind {
  TK_EOF, TK_LPAREN, TK_RPAREN, TK_COMMA, TK_MINUS, TK_CMP,
  TK_INT, TK_FLOAT, TK_STRING, TK_IDENT,
  TK_AND, TK_OR, TK_NOT, TK_IN, TK_IS, TK_NULL, TK_TRUE, TK_FALSE, TK_NAN, TK_INF
} tok_kind;

static const struct { const char *word; tok_kind kind; } keywords[] = {
  {"AND", TK_AND}, {"OR", TK_OR}, {"NOT", TK_NOT}, {"IN", TK_IN}, {"IS", TK_IS},
  {"NULL", TK_NULL}, {"TRUE", TK_TRUE}, {"FALSE", TK_FALSE}, {"NAN", TK_NAN},
  {"INF", TK_INF},
};

typedef struct token {
  tok_kind kind;
  size_t off, end;   /* byte range in the text */
  mw_filter_op op;   /* TK_CMP */
  uint64_t mag;      /* TK_INT: magnitude */
  bool mag_over;     /* TK_INT: > 2^63 */
  double f;          /* TK_FLOAT */
  bool quoted;       /* TK_IDENT: "..." or `...` (needs unescaping) */
} token;

typedef struct parser {
  const char *text;
  size_t pos;        /* lexer position */
  token t;           /* current token */
  int nesting;
  mw_error *err;
  void **allocs;     /* every temporary allocation */
  size_t n_allocs, cap_allocs;
  bool nomem;
} parser;

static mw_status expected(parser *p, const char *what) {
  return mw_err(p->err, MW_ERR_INVALID, "filter: expected %s at offset %zu", what, p->t.off);
}

static bool is_ident_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static char upper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale = (locale_t)0;
static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static mw_status lex_number(parser *p, size_t start) {
  const char *s = p->text;
  size_t i = start;
  bool is_float = false;
  while (is_digit(s[i])) i++;
  size_t int_digits = i - start;
  if (s[i] == '.') {
    is_float = true;
    i++;
    size_t frac_start = i;
    while (is_digit(s[i])) i++;
    if (int_digits == 0 && i == frac_start)
      return mw_err(p->err, MW_ERR_INVALID, "filter: expected a digit at offset %zu", i);
  }
  if (s[i] == 'e' || s[i] == 'E') {
    is_float = true;
    i++;
    if (s[i] == '+' || s[i] == '-') i++;
    if (!is_digit(s[i]))
      return mw_err(p->err, MW_ERR_INVALID, "filter: expected exponent digits at offset %zu", i);
    while (is_digit(s[i])) i++;
  }
  if (is_ident_char(s[i]) || s[i] == '.')
    return mw_err(p->err, MW_ERR_INVALID, "filter: unexpected character '%c' in a number at offset %zu",
                  s[i], i);
  p->t.end = i;
  if (!is_float) {
    uint64_t mag = 0;
    bool over = false;
    for (size_t k = start; k < i; k++) {
      uint64_t d = (uint64_t)(s[k] - '0');
      if (mag > (UINT64_MAX - d) / 10) over = true;
      else mag = mag * 10 + d;
    }
    if (mag > (uint64_t)INT64_MAX + 1) over = true;
    p->t.kind = TK_INT;
    p->t.mag = mag;
    p->t.mag_over = over;
    return MW_OK;
  }
  pthread_once(&c_locale_once, c_locale_init);
  if (c_locale == (locale_t)0)
    return mw_err(p->err, MW_ERR_NOMEM, "filter: cannot create the C locale for number parsing");
  size_t n = i - start;
  char stackbuf[64];
  char *tmp = n < sizeof stackbuf ? stackbuf : malloc(n + 1);
  if (!tmp) return mw_err(p->err, MW_ERR_NOMEM, "filter: out of memory");
  memcpy(tmp, s + start, n);
  tmp[n] = '\0';
  errno = 0;
  char *endp = NULL;
  double v = strtod_l(tmp, &endp, c_locale);
  bool full = endp == tmp + n;
  if (tmp != stackbuf) free(tmp);
  if (!full)
    return mw_err(p->err, MW_ERR_INVALID, "filter: malformed number at offset %zu", start);
  if (isinf(v))
    return mw_err(p->err, MW_ERR_INVALID,
                  "filter: float literal out of range at offset %zu (write INF for infinity)", start);
  p->t.kind = TK_FLOAT;
  p->t.f = v;
  return MW_OK;
}

/* Reads the next token into p->t. */
static mw_status lex(parser *p) {
  const char *s = p->text;
  size_t i = p->pos;
  while (is_space(s[i])) i++;
  token *t = &p->t;
  memset(t, 0, sizeof *t);
  t->off = i;
  char c = s[i];
  mw_status st = MW_OK;
  if (c == '\0') {
    t->kind = TK_EOF;
    t->end = i;
  } else if (c == '(' || c == ')' || c == ',' || c == '-') {
    t->kind = c == '(' ? TK_LPAREN : c == ')' ? TK_RPAREN : c == ',' ? TK_COMMA : TK_MINUS;
    t->end = i + 1;
  } else if (c == '=') {
    t->kind = TK_CMP; t->op = MW_FILTER_EQ; t->end = i + 1;
  } else if (c == '!') {
    if (s[i + 1] != '=')
      return mw_err(p->err, MW_ERR_INVALID, "filter: expected '=' after '!' at offset %zu", i + 1);
    t->kind = TK_CMP; t->op = MW_FILTER_NE; t->end = i + 2;
  } else if (c == '<') {
    t->kind = TK_CMP;
    if (s[i + 1] == '=') { t->op = MW_FILTER_LE; t->end = i + 2; }
    else if (s[i + 1] == '>') { t->op = MW_FILTER_NE; t->end = i + 2; }
    else { t->op = MW_FILTER_LT; t->end = i + 1; }
  } else if (c == '>') {
    t->kind = TK_CMP;
    if (s[i + 1] == '=') { t->op = MW_FILTER_GE; t->end = i + 2; }
    else { t->op = MW_FILTER_GT; t->end = i + 1; }
  } else if (is_digit(c) || (c == '.' && is_digit(s[i + 1]))) {
    st = lex_number(p, i);
  } else if (c == '\'' || c == '"' || c == '`') {
    size_t k = i + 1;
    for (;;) {
      if (s[k] == '\0')
        return mw_err(p->err, MW_ERR_INVALID, "filter: unterminated %s starting at offset %zu",
                      c == '\'' ? "string" : "quoted name", i);
      if (s[k] == c) {
        if (s[k + 1] == c) { k += 2; continue; } /* doubled quote = one quote */
        break;
      }
      k++;
    }
    t->kind = c == '\'' ? TK_STRING : TK_IDENT;
    t->quoted = true;
    t->end = k + 1;
  } else if (is_ident_start(c)) {
    size_t k = i;
    while (is_ident_char(s[k])) k++;
    t->kind = TK_IDENT;
    t->end = k;
    for (size_t w = 0; w < sizeof keywords / sizeof keywords[0]; w++) {
      const char *kw = keywords[w].word;
      size_t n = strlen(kw);
      if (n != k - i) continue;
      size_t j = 0;
      while (j < n && upper(s[i + j]) == kw[j]) j++;
      if (j == n) { t->kind = keywords[w].kind; break; }
    }
  } else {
    if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
      return mw_err(p->err, MW_ERR_INVALID, "filter: unexpected character '%c' at offset %zu", c, i);
    return mw_err(p->err, MW_ERR_INVALID, "filter: unexpected byte 0x%02x at offset %zu",
                  (unsigned)(unsigned char)c, i);
  }
  if (st == MW_OK) p->pos = t->end;
  return st;
}

/* ------------------------------------------------------- temporary tree */

static void *p_alloc(parser *p, size_t n) {
  if (p->n_allocs == p->cap_allocs) {
    size_t cap = p->cap_allocs ? p->cap_allocs * 2 : 32;
    void **a = realloc(p->allocs, cap * sizeof *a);
    if (!a) { p->nomem = true; return NULL; }
    p->allocs = a;
    p->cap_allocs = cap;
  }
  void *m = calloc(1, n ? n : 1);
  if (!m) { p->nomem = true; return NULL; }
  p->allocs[p->n_allocs++] = m;
  return m;
}

static mw_status nomem(parser *p) { return mw_err(p->err, MW_ERR_NOMEM, "filter: out of memory"); }

/* A temporary node: the mw_expr plus the depth of its subtree. */
typedef struct pnode {
  mw_expr e;
  int depth;
} pnode;

static mw_expr *new_node(parser *p, mw_expr_kind kind) {
  pnode *n = p_alloc(p, sizeof *n);
  if (!n) return NULL;
  n->e.kind = kind;
  n->depth = 1;
  return &n->e;
}

/* Sets the depth of a node whose args are set; refuses a tree deeper than
 * MW_EXPR_MAX_DEPTH. */
static mw_status set_depth(parser *p, mw_expr *e) {
  int d = 0;
  for (size_t i = 0; i < e->n_args; i++) {
    int c = ((const pnode *)(const void *)e->args[i])->depth;
    if (c > d) d = c;
  }
  ((pnode *)(void *)e)->depth = d + 1;
  if (d + 1 > MW_EXPR_MAX_DEPTH)
    return mw_err(p->err, MW_ERR_INVALID, "filter: expression nested deeper than %d levels at offset %zu",
                  MW_EXPR_MAX_DEPTH, p->t.off);
  return MW_OK;
}

/* A growable args list (its array is a temporary allocation too). */
typedef struct arglist {
  const mw_expr **v;
  size_t n, cap;
} arglist;

static bool args_push(parser *p, arglist *l, const mw_expr *e) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 4;
    const mw_expr **v = p_alloc(p, cap * sizeof *v);
    if (!v) return false;
    if (l->n) memcpy(v, l->v, l->n * sizeof *v); /* the old array stays in allocs */
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = e;
  return true;
}

/* Unescapes the quoted token text [off+1, end-1) (doubled quote -> one). */
static char *unquote(parser *p, const token *t, size_t *out_len) {
  const char *s = p->text;
  char q = s[t->off];
  char *out = p_alloc(p, t->end - t->off);
  if (!out) return NULL;
  size_t n = 0;
  for (size_t k = t->off + 1; k + 1 < t->end; k++) {
    out[n++] = s[k];
    if (s[k] == q) k++; /* skip the second quote of a pair */
  }
  out[n] = '\0';
  *out_len = n;
  return out;
}

/* ----------------------------------------------------------------- parser */

static mw_status parse_or(parser *p, mw_expr **out);

static mw_status nest_in(parser *p) {
  if (++p->nesting > MW_EXPR_MAX_NESTING)
    return mw_err(p->err, MW_ERR_INVALID, "filter: nesting deeper than %d levels at offset %zu",
                  MW_EXPR_MAX_NESTING, p->t.off);
  return MW_OK;
}

static bool tok_is_literal_start(tok_kind k) {
  return k == TK_INT || k == TK_FLOAT || k == TK_STRING || k == TK_NULL || k == TK_TRUE ||
         k == TK_FALSE || k == TK_MINUS || k == TK_NAN || k == TK_INF;
}

/* literal (the current token starts it); consumes it. */
static mw_status parse_literal(parser *p, mw_expr **out) {
  bool neg = false;
  if (p->t.kind == TK_MINUS) {
    neg = true;
    MW_TRY(lex(p));
    if (p->t.kind != TK_INT && p->t.kind != TK_FLOAT && p->t.kind != TK_NAN && p->t.kind != TK_INF)
      return expected(p, "a number after '-'");
  }
  mw_expr *e = NULL;
  switch (p->t.kind) {
    case TK_INT:
      if (p->t.mag_over || (!neg && p->t.mag > (uint64_t)INT64_MAX))
        return mw_err(p->err, MW_ERR_INVALID, "filter: integer literal out of int64 range at offset %zu",
                      p->t.off);
      if (!(e = new_node(p, MW_EXPR_INT))) return nomem(p);
      /* two's complement negation of the magnitude (2^63 -> INT64_MIN) */
      e->i = neg ? (int64_t)(0 - p->t.mag) : (int64_t)p->t.mag;
      if (neg && p->t.mag == (uint64_t)INT64_MAX + 1) e->i = INT64_MIN;
      break;
    case TK_FLOAT: case TK_NAN: case TK_INF: {
      double v = p->t.kind == TK_FLOAT ? p->t.f : p->t.kind == TK_NAN ? NAN : INFINITY;
      if (!(e = new_node(p, MW_EXPR_FLOAT))) return nomem(p);
      e->f = neg ? -v : v;
      break;
    }
    case TK_STRING: {
      size_t n = 0;
      char *s = unquote(p, &p->t, &n);
      if (!s || !(e = new_node(p, MW_EXPR_STRING))) return nomem(p);
      e->s = s;
      e->s_len = n;
      break;
    }
    case TK_TRUE: case TK_FALSE:
      if (!(e = new_node(p, MW_EXPR_BOOL))) return nomem(p);
      e->i = p->t.kind == TK_TRUE;
      break;
    case TK_NULL:
      if (!(e = new_node(p, MW_EXPR_NULL))) return nomem(p);
      break;
    default:
      return expected(p, "a literal");
  }
  *out = e;
  return lex(p);
}

/* operand := column | literal; consumes it. */
static mw_status parse_operand(parser *p, mw_expr **out) {
  if (p->t.kind == TK_IDENT) {
    mw_expr *e = new_node(p, MW_EXPR_COLUMN);
    if (!e) return nomem(p);
    char *name;
    size_t n = 0;
    if (p->t.quoted) {
      name = unquote(p, &p->t, &n);
    } else {
      n = p->t.end - p->t.off;
      name = p_alloc(p, n + 1);
      if (name) memcpy(name, p->text + p->t.off, n);
    }
    if (!name) return nomem(p); /* (no NUL inside: the text is NUL-terminated) */
    e->name = name;
    *out = e;
    return lex(p);
  }
  if (tok_is_literal_start(p->t.kind)) return parse_literal(p, out);
  return expected(p, "a column name, a literal or '('");
}

/* pred := "(" expr ")" | operand [cmp operand | [NOT] IN (...) | IS [NOT] NULL] */
static mw_status parse_pred(parser *p, mw_expr **out) {
  if (p->t.kind == TK_LPAREN) {
    MW_TRY(nest_in(p));
    MW_TRY(lex(p));
    MW_TRY(parse_or(p, out));
    if (p->t.kind != TK_RPAREN) return expected(p, "')'");
    p->nesting--;
    return lex(p);
  }
  mw_expr *lhs = NULL;
  MW_TRY(parse_operand(p, &lhs));
  if (p->t.kind == TK_CMP) {
    mw_filter_op op = p->t.op;
    MW_TRY(lex(p));
    mw_expr *rhs = NULL;
    MW_TRY(parse_operand(p, &rhs));
    mw_expr *e = new_node(p, MW_EXPR_CMP);
    const mw_expr **a = p_alloc(p, 2 * sizeof *a);
    if (!e || !a) return nomem(p);
    a[0] = lhs;
    a[1] = rhs;
    e->op = op;
    e->args = a;
    e->n_args = 2;
    *out = e;
    return set_depth(p, e);
  }
  if (p->t.kind == TK_IS) {
    MW_TRY(lex(p));
    bool not = false;
    if (p->t.kind == TK_NOT) {
      not = true;
      MW_TRY(lex(p));
    }
    if (p->t.kind != TK_NULL) return expected(p, not ? "NULL" : "NULL or NOT NULL");
    MW_TRY(lex(p));
    mw_expr *e = new_node(p, not ? MW_EXPR_IS_NOT_NULL : MW_EXPR_IS_NULL);
    const mw_expr **a = p_alloc(p, sizeof *a);
    if (!e || !a) return nomem(p);
    a[0] = lhs;
    e->args = a;
    e->n_args = 1;
    *out = e;
    return set_depth(p, e);
  }
  if (p->t.kind == TK_IN || p->t.kind == TK_NOT) {
    bool not = p->t.kind == TK_NOT;
    if (not) {
      MW_TRY(lex(p));
      if (p->t.kind != TK_IN) return expected(p, "IN after NOT");
    }
    MW_TRY(lex(p));
    if (p->t.kind != TK_LPAREN) return expected(p, "'(' after IN");
    MW_TRY(lex(p));
    arglist l = {0};
    if (!args_push(p, &l, lhs)) return nomem(p);
    for (;;) {
      if (!tok_is_literal_start(p->t.kind)) return expected(p, "a literal");
      mw_expr *lit = NULL;
      MW_TRY(parse_literal(p, &lit));
      if (!args_push(p, &l, lit)) return nomem(p);
      if (p->t.kind == TK_COMMA) {
        MW_TRY(lex(p));
        continue;
      }
      if (p->t.kind != TK_RPAREN) return expected(p, "',' or ')'");
      MW_TRY(lex(p));
      break;
    }
    mw_expr *e = new_node(p, MW_EXPR_IN);
    if (!e) return nomem(p);
    e->args = l.v;
    e->n_args = l.n;
    MW_TRY(set_depth(p, e));
    if (not) {
      mw_expr *n = new_node(p, MW_EXPR_NOT);
      const mw_expr **a = p_alloc(p, sizeof *a);
      if (!n || !a) return nomem(p);
      a[0] = e;
      n->args = a;
      n->n_args = 1;
      MW_TRY(set_depth(p, n));
      e = n;
    }
    *out = e;
    return MW_OK;
  }
  *out = lhs;
  return MW_OK;
}

static mw_status parse_not(parser *p, mw_expr **out) {
  if (p->t.kind != TK_NOT) return parse_pred(p, out);
  MW_TRY(nest_in(p));
  MW_TRY(lex(p));
  mw_expr *inner = NULL;
  MW_TRY(parse_not(p, &inner));
  p->nesting--;
  mw_expr *e = new_node(p, MW_EXPR_NOT);
  const mw_expr **a = p_alloc(p, sizeof *a);
  if (!e || !a) return nomem(p);
  a[0] = inner;
  e->args = a;
  e->n_args = 1;
  *out = e;
  return set_depth(p, e);
}

/* One level of a left-flattened n-ary operator (AND over NOTs, OR over ANDs). */
static mw_status parse_nary(parser *p, mw_expr **out, tok_kind sep, mw_expr_kind kind,
                            mw_status (*sub)(parser *, mw_expr **)) {
  mw_expr *first = NULL;
  MW_TRY(sub(p, &first));
  if (p->t.kind != sep) {
    *out = first;
    return MW_OK;
  }
  arglist l = {0};
  if (!args_push(p, &l, first)) return nomem(p);
  while (p->t.kind == sep) {
    MW_TRY(lex(p));
    mw_expr *next = NULL;
    MW_TRY(sub(p, &next));
    if (!args_push(p, &l, next)) return nomem(p);
  }
  mw_expr *e = new_node(p, kind);
  if (!e) return nomem(p);
  e->args = l.v;
  e->n_args = l.n;
  *out = e;
  return set_depth(p, e);
}

static mw_status parse_and(parser *p, mw_expr **out) {
  return parse_nary(p, out, TK_AND, MW_EXPR_AND, parse_not);
}
static mw_status parse_or(parser *p, mw_expr **out) {
  return parse_nary(p, out, TK_OR, MW_EXPR_OR, parse_and);
}

/* ------------------------------------------------- flatten (one allocation) */

typedef struct flat_size {
  size_t nodes, args, bytes;
} flat_size;

static void flat_measure(const mw_expr *e, flat_size *sz) {
  sz->nodes++;
  sz->args += e->n_args;
  if (e->kind == MW_EXPR_COLUMN) sz->bytes += strlen(e->name) + 1;
  if (e->kind == MW_EXPR_STRING) sz->bytes += e->s_len + 1;
  for (size_t i = 0; i < e->n_args; i++) flat_measure(e->args[i], sz);
}

typedef struct flat_cursor {
  mw_expr *nodes;
  const mw_expr **args;
  char *bytes;
} flat_cursor;

static mw_expr *flat_copy(const mw_expr *e, flat_cursor *c) {
  mw_expr *d = c->nodes++;
  *d = *e;
  if (e->kind == MW_EXPR_COLUMN) {
    size_t n = strlen(e->name) + 1;
    memcpy(c->bytes, e->name, n);
    d->name = c->bytes;
    c->bytes += n;
  } else {
    d->name = NULL;
  }
  if (e->kind == MW_EXPR_STRING) {
    if (e->s_len) memcpy(c->bytes, e->s, e->s_len);
    c->bytes[e->s_len] = '\0';
    d->s = c->bytes;
    c->bytes += e->s_len + 1;
  } else {
    d->s = NULL;
    d->s_len = 0;
  }
  if (e->n_args) {
    const mw_expr **a = c->args;
    c->args += e->n_args;
    for (size_t i = 0; i < e->n_args; i++) a[i] = flat_copy(e->args[i], c);
    d->args = a;
  } else {
    d->args = NULL;
  }
  return d;
}

/* One-allocation deep copy of a checked tree (root first). */
static mw_expr *flatten(const mw_expr *e) {
  flat_size sz = {0};
  flat_measure(e, &sz);
  size_t nodes_b = sz.nodes * sizeof(mw_expr);
  size_t args_b = sz.args * sizeof(const mw_expr *);
  char *block = malloc(nodes_b + args_b + sz.bytes);
  if (!block) return NULL;
  flat_cursor c = {(mw_expr *)block, (const mw_expr **)(void *)(block + nodes_b),
                   block + nodes_b + args_b};
  return flat_copy(e, &c);
}

mw_status mw_expr_parse(mw_expr **out, const char *text, mw_error *err) {
  *out = NULL;
  if (!text) return mw_err(err, MW_ERR_INVALID, "filter: text is NULL");
  parser p = {.text = text, .err = err};
  mw_expr *root = NULL;
  mw_status st = lex(&p);
  if (st == MW_OK) {
    if (p.t.kind == TK_EOF) st = expected(&p, "a condition");
    else st = parse_or(&p, &root);
  }
  if (st == MW_OK && p.t.kind != TK_EOF) {
    st = p.t.kind == TK_RPAREN ? mw_err(err, MW_ERR_INVALID, "filter: unbalanced ')' at offset %zu", p.t.off)
                               : expected(&p, "AND, OR or the end of the filter");
  }
  if (st == MW_OK && p.nomem) st = nomem(&p);
  if (st == MW_OK) {
    *out = flatten(root);
    if (!*out) st = nomem(&p);
  }
  for (size_t i = 0; i < p.n_allocs; i++) free(p.allocs[i]);
  free(p.allocs);
  return st;
}

void mw_expr_free(mw_expr *e) { free(e); }

/* ------------------------------------------------------- structure check */

static bool is_literal(const mw_expr *e) {
  return e->kind == MW_EXPR_INT || e->kind == MW_EXPR_FLOAT || e->kind == MW_EXPR_STRING ||
         e->kind == MW_EXPR_BOOL || e->kind == MW_EXPR_NULL;
}
static bool is_operand(const mw_expr *e) { return e->kind == MW_EXPR_COLUMN || is_literal(e); }

static mw_status check_rec(const mw_expr *e, int depth, mw_error *err) {
  if (!e) return mw_err(err, MW_ERR_INVALID, "filter: NULL expression node");
  if (depth > MW_EXPR_MAX_DEPTH)
    return mw_err(err, MW_ERR_INVALID, "filter: expression deeper than %d levels (or cyclic)",
                  MW_EXPR_MAX_DEPTH);
  size_t want_min = 0, want_max = 0;
  switch (e->kind) {
    case MW_EXPR_COLUMN:
      if (!e->name) return mw_err(err, MW_ERR_INVALID, "filter: column node without a name");
      break;
    case MW_EXPR_INT: case MW_EXPR_FLOAT: case MW_EXPR_NULL: break;
    case MW_EXPR_STRING:
      if (!e->s && e->s_len) return mw_err(err, MW_ERR_INVALID, "filter: string literal without bytes");
      break;
    case MW_EXPR_BOOL:
      if (e->i != 0 && e->i != 1)
        return mw_err(err, MW_ERR_INVALID, "filter: bool literal %lld is not 0 or 1", (long long)e->i);
      break;
    case MW_EXPR_CMP:
      if ((int)e->op < (int)MW_FILTER_EQ || (int)e->op > (int)MW_FILTER_NE)
        return mw_err(err, MW_ERR_INVALID, "filter: unknown comparison op %d", (int)e->op);
      want_min = want_max = 2;
      break;
    case MW_EXPR_IN: want_min = 2; want_max = SIZE_MAX; break;
    case MW_EXPR_IS_NULL: case MW_EXPR_IS_NOT_NULL: case MW_EXPR_NOT: want_min = want_max = 1; break;
    case MW_EXPR_AND: case MW_EXPR_OR: want_min = 1; want_max = SIZE_MAX; break;
    default: return mw_err(err, MW_ERR_INVALID, "filter: unknown expression kind %d", (int)e->kind);
  }
  if (e->n_args < want_min || e->n_args > want_max)
    return mw_err(err, MW_ERR_INVALID, "filter: expression kind %d with %zu arguments", (int)e->kind,
                  e->n_args);
  if (e->n_args && !e->args) return mw_err(err, MW_ERR_INVALID, "filter: args array is NULL");
  for (size_t i = 0; i < e->n_args; i++) {
    const mw_expr *a = e->args[i];
    if (!a) return mw_err(err, MW_ERR_INVALID, "filter: argument %zu is NULL", i);
    switch (e->kind) {
      case MW_EXPR_CMP: case MW_EXPR_IS_NULL: case MW_EXPR_IS_NOT_NULL:
        if (!is_operand(a))
          return mw_err(err, MW_ERR_INVALID, "filter: a comparison operand must be a column or a literal");
        break;
      case MW_EXPR_IN:
        if (i == 0 ? !is_operand(a) : !is_literal(a))
          return mw_err(err, MW_ERR_INVALID, "filter: IN needs a column or literal and a list of literals");
        break;
      default: break;
    }
    MW_TRY(check_rec(a, depth + 1, err));
  }
  return MW_OK;
}

mw_status mw_expr_check(const mw_expr *e, mw_error *err) { return check_rec(e, 1, err); }

bool mw_expr_equal(const mw_expr *a, const mw_expr *b) {
  if (a == b) return true;
  if (!a || !b || a->kind != b->kind || a->n_args != b->n_args) return false;
  switch (a->kind) {
    case MW_EXPR_COLUMN: if (strcmp(a->name, b->name) != 0) return false; break;
    case MW_EXPR_INT: case MW_EXPR_BOOL: if (a->i != b->i) return false; break;
    case MW_EXPR_FLOAT:
      if (isnan(a->f) || isnan(b->f)) {
        if (!(isnan(a->f) && isnan(b->f))) return false;
      } else if (memcmp(&a->f, &b->f, sizeof a->f) != 0) {
        return false;
      }
      break;
    case MW_EXPR_STRING:
      if (a->s_len != b->s_len || (a->s_len && memcmp(a->s, b->s, a->s_len) != 0)) return false;
      break;
    case MW_EXPR_CMP: if (a->op != b->op) return false; break;
    default: break;
  }
  for (size_t i = 0; i < a->n_args; i++)
    if (!mw_expr_equal(a->args[i], b->args[i])) return false;
  return true;
}

/* -------------------------------------------------------------- to_string */

static void put_str(mw_buf *b, const char *s) { mw_buf_append(b, s, strlen(s)); }

static bool name_needs_quotes(const char *n) {
  if (!is_ident_start(n[0])) return true;
  size_t len = 0;
  for (const char *c = n; *c; c++, len++)
    if (!is_ident_char(*c)) return true;
  for (size_t w = 0; w < sizeof keywords / sizeof keywords[0]; w++) {
    const char *kw = keywords[w].word;
    if (strlen(kw) != len) continue;
    size_t j = 0;
    while (j < len && upper(n[j]) == kw[j]) j++;
    if (j == len) return true;
  }
  return false;
}

static void put_quoted(mw_buf *b, const char *s, size_t n, char q) {
  mw_buf_u8(b, (uint8_t)q);
  for (size_t i = 0; i < n; i++) {
    mw_buf_u8(b, (uint8_t)s[i]);
    if (s[i] == q) mw_buf_u8(b, (uint8_t)q);
  }
  mw_buf_u8(b, (uint8_t)q);
}

static const char *op_text(mw_filter_op op) {
  switch (op) {
    case MW_FILTER_EQ: return "=";
    case MW_FILTER_NE: return "!=";
    case MW_FILTER_LT: return "<";
    case MW_FILTER_LE: return "<=";
    case MW_FILTER_GT: return ">";
    case MW_FILTER_GE: return ">=";
  }
  return "?";
}

static mw_status print_rec(mw_buf *b, const mw_expr *e, mw_error *err) {
  char tmp[MW_FLOAT_FMT_MAX + 8];
  switch (e->kind) {
    case MW_EXPR_COLUMN:
      if (name_needs_quotes(e->name)) put_quoted(b, e->name, strlen(e->name), '"');
      else put_str(b, e->name);
      return MW_OK;
    case MW_EXPR_INT:
      snprintf(tmp, sizeof tmp, "%lld", (long long)e->i); /* digits and '-' only: locale-free */
      put_str(b, tmp);
      return MW_OK;
    case MW_EXPR_FLOAT: {
      if (isnan(e->f)) { put_str(b, "NAN"); return MW_OK; }
      if (isinf(e->f)) { put_str(b, e->f < 0 ? "-INF" : "INF"); return MW_OK; }
      size_t n = mw_float_fmt_f64(tmp, e->f);
      bool looks_int = true;
      for (size_t i = 0; i < n; i++)
        if (tmp[i] == '.' || tmp[i] == 'e' || tmp[i] == 'E') looks_int = false;
      if (looks_int) { memcpy(tmp + n, ".0", 2); n += 2; }
      mw_buf_append(b, tmp, n);
      return MW_OK;
    }
    case MW_EXPR_STRING:
      if (e->s_len && memchr(e->s, '\0', e->s_len))
        return mw_err(err, MW_ERR_INVALID, "filter: a string literal with a NUL byte has no text form");
      put_quoted(b, e->s, e->s_len, '\'');
      return MW_OK;
    case MW_EXPR_BOOL: put_str(b, e->i ? "TRUE" : "FALSE"); return MW_OK;
    case MW_EXPR_NULL: put_str(b, "NULL"); return MW_OK;
    case MW_EXPR_CMP:
      mw_buf_u8(b, '(');
      MW_TRY(print_rec(b, e->args[0], err));
      mw_buf_u8(b, ' ');
      put_str(b, op_text(e->op));
      mw_buf_u8(b, ' ');
      MW_TRY(print_rec(b, e->args[1], err));
      mw_buf_u8(b, ')');
      return MW_OK;
    case MW_EXPR_IN:
      mw_buf_u8(b, '(');
      MW_TRY(print_rec(b, e->args[0], err));
      put_str(b, " IN (");
      for (size_t i = 1; i < e->n_args; i++) {
        if (i > 1) put_str(b, ", ");
        MW_TRY(print_rec(b, e->args[i], err));
      }
      put_str(b, "))");
      return MW_OK;
    case MW_EXPR_IS_NULL: case MW_EXPR_IS_NOT_NULL:
      mw_buf_u8(b, '(');
      MW_TRY(print_rec(b, e->args[0], err));
      put_str(b, e->kind == MW_EXPR_IS_NULL ? " IS NULL)" : " IS NOT NULL)");
      return MW_OK;
    case MW_EXPR_NOT: /* needs no parentheses of its own (see MW_EXPR_MAX_NESTING) */
      put_str(b, "NOT ");
      return print_rec(b, e->args[0], err);
    case MW_EXPR_AND: case MW_EXPR_OR:
      mw_buf_u8(b, '(');
      for (size_t i = 0; i < e->n_args; i++) {
        if (i) put_str(b, e->kind == MW_EXPR_AND ? " AND " : " OR ");
        MW_TRY(print_rec(b, e->args[i], err));
      }
      mw_buf_u8(b, ')');
      return MW_OK;
  }
  return mw_err(err, MW_ERR_INTERNAL, "filter: unknown expression kind %d", (int)e->kind);
}

mw_status mw_expr_to_string(char **out, const mw_expr *e, mw_error *err) {
  *out = NULL;
  MW_TRY(mw_expr_check(e, err));
  mw_buf b;
  mw_buf_init(&b);
  mw_status st = print_rec(&b, e, err);
  mw_buf_u8(&b, 0);
  if (st != MW_OK) {
    mw_buf_free(&b);
    return st;
  }
  if (!mw_buf_ok(&b)) {
    mw_buf_free(&b);
    return mw_err(err, MW_ERR_NOMEM, "filter: out of memory");
  }
  size_t n = 0;
  *out = (char *)mw_buf_take(&b, &n);
  return MW_OK;
}
