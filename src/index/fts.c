/* fts.c - the in-memory inverted index and BM25 search (see fts.h for the
 * formula, the semantics and which lock guards what).
 *
 * Layout: a term dictionary (open addressing over term indexes, keys in one
 * byte arena), per term a postings array (document, tf, offset of its
 * positions) and a positions array, documents in insertion order (row id,
 * token count). Documents are appended only, so a term's postings are in
 * document order.
 *
 * Insert: tokenize outside the lock with a pooled tokenizer; sort the
 * tokens by (text, position) to group each term's occurrences; then under
 * the write lock, phase 1 creates missing terms and reserves every array
 * the document will grow (the only step that can fail: a failure leaves
 * empty terms behind, which are harmless), phase 2 appends (cannot fail),
 * so a document is indexed entirely or not at all.
 *
 * Search: tokenize the query (a repeated token is scored each time); under
 * the read lock merge the tokens' postings (ascending by document) into one
 * list of (document, BM25 sum), so a query costs what it reads, not the
 * index size; then keep the top k rows the filter accepts in a heap.
 *
 * Serialisation: mw_fts_export_copy copies everything under the read lock;
 * a view (mw_fts_view_open .. mw_fts_view_close, the flush's path) holds
 * the read lock from open to close and reads terms, documents and postings
 * in place, so the flush copies each posting once, into its own arrays. */
#include "index/fts.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "index/fts_tokenizer.h"

typedef struct fts_posting {
  uint32_t doc, tf, pos_off;
} fts_posting;

typedef struct fts_term {
  uint32_t key_off, key_len;
  uint64_t hash;
  fts_posting *p;
  uint32_t n, cap;
  uint32_t *pos;
  uint32_t pos_n, pos_cap;
} fts_term;

typedef struct fts_doc {
  uint64_t row;
  uint32_t len;
} fts_doc;

struct mw_fts {
  pthread_rwlock_t rw; /* guards everything down to total_tokens */
  char *keys;
  size_t keys_len, keys_cap;
  fts_term *terms;
  uint32_t n_terms, terms_cap;
  uint32_t *slots; /* term index + 1; 0 = empty; n_slots a power of two */
  size_t n_slots;
  fts_doc *docs;
  uint32_t n_docs, docs_cap;
  uint64_t total_tokens;

  pthread_mutex_t pool_mu; /* guards pool, pool_n, pool_cap */
  mw_fts_tokenizer **pool;
  size_t pool_n, pool_cap;

  atomic_size_t mem;
};

/* ------------------------------------------------------------------ BM25 */

double mw_bm25_idf(uint64_t n_docs, uint64_t doc_freq) {
  double n = (double)n_docs, df = (double)doc_freq;
  return log(1.0 + (n - df + 0.5) / (df + 0.5));
}

double mw_bm25_weight(uint32_t tf, uint32_t doc_len, double avgdl) {
  const double k1 = 1.2, b = 0.75;
  double norm = avgdl > 0 ? (double)doc_len / avgdl : 0;
  return (k1 + 1) * tf / (tf + k1 * ((1 - b) + b * norm));
}

/* ------------------------------------------------------------ dictionary */

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return h;
}

/* Caller holds rw. Returns the term index or UINT32_MAX. */
static uint32_t term_find(const mw_fts *f, const char *tok, size_t len, uint64_t h) {
  if (!f->n_slots) return UINT32_MAX;
  for (size_t i = h & (f->n_slots - 1);; i = (i + 1) & (f->n_slots - 1)) {
    uint32_t s = f->slots[i];
    if (!s) return UINT32_MAX;
    const fts_term *t = &f->terms[s - 1];
    if (t->hash == h && t->key_len == len && memcmp(f->keys + t->key_off, tok, len) == 0) return s - 1;
  }
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem, atomic_size_t *mem) {
  if (need <= *cap) return true;
  size_t nc = *cap ? *cap : 4;
  while (nc < need) nc *= 2;
  void *np = realloc(*p, nc * elem);
  if (!np) return false;
  atomic_fetch_add(mem, (nc - *cap) * elem);
  *p = np;
  *cap = nc;
  return true;
}

static bool grow32(void **p, uint32_t *cap, size_t need, size_t elem, atomic_size_t *mem) {
  size_t c = *cap;
  if (need > UINT32_MAX) return false;
  bool ok = grow(p, &c, need, elem, mem);
  if (c > UINT32_MAX) c = UINT32_MAX;
  *cap = (uint32_t)c;
  return ok;
}

/* Caller holds rw for writing. Finds or creates a term; UINT32_MAX on
 * allocation failure. */
static uint32_t term_get(mw_fts *f, const char *tok, size_t len) {
  uint64_t h = fnv1a(tok, len);
  uint32_t t = term_find(f, tok, len, h);
  if (t != UINT32_MAX) return t;
  if ((size_t)(f->n_terms + 1) * 2 > f->n_slots) { /* keep load <= 1/2 */
    size_t ns = f->n_slots ? f->n_slots * 2 : 1024;
    uint32_t *slots = calloc(ns, sizeof(uint32_t));
    if (!slots) return UINT32_MAX;
    for (uint32_t i = 0; i < f->n_terms; i++) {
      size_t j = f->terms[i].hash & (ns - 1);
      while (slots[j]) j = (j + 1) & (ns - 1);
      slots[j] = i + 1;
    }
    atomic_fetch_add(&f->mem, (ns - f->n_slots) * sizeof(uint32_t));
    free(f->slots);
    f->slots = slots;
    f->n_slots = ns;
  }
  if (!grow32((void **)&f->terms, &f->terms_cap, (size_t)f->n_terms + 1, sizeof(fts_term), &f->mem) ||
      !grow((void **)&f->keys, &f->keys_cap, f->keys_len + len, 1, &f->mem) ||
      f->keys_len + len > UINT32_MAX)
    return UINT32_MAX;
  memcpy(f->keys + f->keys_len, tok, len);
  t = f->n_terms++;
  f->terms[t] = (fts_term){.key_off = (uint32_t)f->keys_len, .key_len = (uint32_t)len, .hash = h};
  f->keys_len += len;
  size_t j = h & (f->n_slots - 1);
  while (f->slots[j]) j = (j + 1) & (f->n_slots - 1);
  f->slots[j] = t + 1;
  return t;
}

/* ------------------------------------------------------------- lifecycle */

mw_status mw_fts_create(mw_fts **out, mw_error *err) {
  *out = NULL;
  mw_fts *f = calloc(1, sizeof(*f));
  if (!f) return mw_err(err, MW_ERR_NOMEM, "fts: out of memory");
  if (pthread_rwlock_init(&f->rw, NULL) != 0) {
    free(f);
    return mw_err(err, MW_ERR_NOMEM, "fts: cannot create a rwlock");
  }
  pthread_mutex_init(&f->pool_mu, NULL);
  atomic_init(&f->mem, sizeof(*f));
  *out = f;
  return MW_OK;
}

void mw_fts_free(mw_fts *f) {
  if (!f) return;
  for (uint32_t i = 0; i < f->n_terms; i++) {
    free(f->terms[i].p);
    free(f->terms[i].pos);
  }
  free(f->terms);
  free(f->keys);
  free(f->slots);
  free(f->docs);
  for (size_t i = 0; i < f->pool_n; i++) mw_fts_tokenizer_free(f->pool[i]);
  free(f->pool);
  pthread_mutex_destroy(&f->pool_mu);
  pthread_rwlock_destroy(&f->rw);
  free(f);
}

static mw_status pool_take(mw_fts_tokenizer **out, mw_fts *f, mw_error *err) {
  pthread_mutex_lock(&f->pool_mu);
  *out = f->pool_n ? f->pool[--f->pool_n] : NULL;
  pthread_mutex_unlock(&f->pool_mu);
  return *out ? MW_OK : mw_fts_tokenizer_create(out, err);
}

static void pool_give(mw_fts *f, mw_fts_tokenizer *tk) {
  pthread_mutex_lock(&f->pool_mu);
  if (grow((void **)&f->pool, &f->pool_cap, f->pool_n + 1, sizeof(*f->pool), &f->mem)) {
    f->pool[f->pool_n++] = tk;
    tk = NULL;
  }
  pthread_mutex_unlock(&f->pool_mu);
  mw_fts_tokenizer_free(tk); /* only when the pool could not grow */
}

static mw_status tokenize(mw_fts_tokens *t, mw_fts *f, const char *text, size_t len, mw_error *err) {
  mw_fts_tokenizer *tk;
  MW_TRY(pool_take(&tk, f, err));
  mw_status st = mw_fts_tokenize(t, tk, text, len, err);
  pool_give(f, tk);
  return st;
}

/* ---------------------------------------------------------------- insert */

typedef struct tok_ref {
  const char *s;
  uint32_t len, pos;
} tok_ref;

static int tok_ref_cmp(const void *a, const void *b) {
  const tok_ref *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos ? 1 : 0;
}

mw_status mw_fts_insert(mw_fts *f, uint64_t row, const char *text, size_t len, mw_error *err) {
  mw_fts_tokens t = {0};
  mw_status st = tokenize(&t, f, text ? text : "", text ? len : 0, err);
  tok_ref *refs = NULL;
  uint32_t *group_term = NULL;
  if (st != MW_OK || t.n == 0) goto out; /* no tokens: not a document (see fts.h) */
  if (t.n > UINT32_MAX) {
    st = mw_err(err, MW_ERR_INVALID, "fts: row %llu: too many tokens", (unsigned long long)row);
    goto out;
  }
  refs = malloc((t.n ? t.n : 1) * sizeof(*refs));
  group_term = malloc((t.n ? t.n : 1) * sizeof(*group_term));
  if (!refs || !group_term) {
    st = mw_err(err, MW_ERR_NOMEM, "fts: out of memory (row %llu)", (unsigned long long)row);
    goto out;
  }
  for (size_t i = 0; i < t.n; i++) refs[i] = (tok_ref){t.text + t.v[i].offset, t.v[i].len, t.v[i].position};
  qsort(refs, t.n, sizeof(*refs), tok_ref_cmp);

  pthread_rwlock_wrlock(&f->rw);
  /* phase 1: terms and capacities (may fail; changes nothing visible) */
  size_t n_groups = 0;
  bool ok = f->n_docs < UINT32_MAX &&
            grow32((void **)&f->docs, &f->docs_cap, (size_t)f->n_docs + 1, sizeof(fts_doc), &f->mem);
  for (size_t i = 0; ok && i < t.n;) {
    size_t j = i + 1;
    while (j < t.n && refs[j].len == refs[i].len && memcmp(refs[j].s, refs[i].s, refs[i].len) == 0) j++;
    uint32_t ti = term_get(f, refs[i].s, refs[i].len);
    if (ti == UINT32_MAX) { ok = false; break; }
    fts_term *term = &f->terms[ti];
    ok = grow32((void **)&term->p, &term->cap, (size_t)term->n + 1, sizeof(fts_posting), &f->mem) &&
         grow32((void **)&term->pos, &term->pos_cap, (size_t)term->pos_n + (j - i), sizeof(uint32_t), &f->mem);
    group_term[n_groups++] = ti;
    i = j;
  }
  if (!ok) {
    pthread_rwlock_unlock(&f->rw);
    st = mw_err(err, MW_ERR_NOMEM, "fts: out of memory (row %llu)", (unsigned long long)row);
    goto out;
  }
  /* phase 2: append (cannot fail) */
  uint32_t doc = f->n_docs++;
  f->docs[doc] = (fts_doc){row, (uint32_t)t.n};
  f->total_tokens += t.n;
  size_t g = 0;
  for (size_t i = 0; i < t.n; g++) {
    fts_term *term = &f->terms[group_term[g]];
    size_t j = i;
    fts_posting *p = &term->p[term->n++];
    *p = (fts_posting){doc, 0, term->pos_n};
    while (j < t.n && refs[j].len == refs[i].len && memcmp(refs[j].s, refs[i].s, refs[i].len) == 0) {
      term->pos[term->pos_n++] = refs[j].pos;
      j++;
    }
    p->tf = (uint32_t)(j - i);
    i = j;
  }
  pthread_rwlock_unlock(&f->rw);
out:
  free(refs);
  free(group_term);
  mw_fts_tokens_free(&t);
  return st;
}

/* ---------------------------------------------------------------- search */

static int hit_better(mw_fts_hit a, mw_fts_hit b) { /* a ranks before b */
  return a.score > b.score || (a.score == b.score && a.row < b.row);
}

static int hit_cmp(const void *a, const void *b) {
  mw_fts_hit x = *(const mw_fts_hit *)a, y = *(const mw_fts_hit *)b;
  return hit_better(x, y) ? -1 : hit_better(y, x) ? 1 : 0;
}

/* hits[0..*n) is a heap whose top is the worst kept hit. */
static void topk_push(mw_fts_hit *hits, size_t *n, size_t k, mw_fts_hit c) {
  if (*n < k) {
    size_t i = (*n)++;
    while (i > 0 && hit_better(hits[(i - 1) / 2], c)) {
      hits[i] = hits[(i - 1) / 2];
      i = (i - 1) / 2;
    }
    hits[i] = c;
    return;
  }
  if (!hit_better(c, hits[0])) return;
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, w = i;
    mw_fts_hit wv = c;
    if (l < *n && hit_better(wv, hits[l])) { w = l; wv = hits[l]; }
    if (r < *n && hit_better(wv, hits[r])) { w = r; wv = hits[r]; }
    if (w == i) break;
    hits[i] = hits[w];
    i = w;
  }
  hits[i] = c;
}

typedef struct acc_ent {
  uint32_t doc;
  double score;
} acc_ent;

mw_status mw_fts_search(mw_fts_hit *hits, size_t *n_hits, mw_fts *f, const char *query,
                        size_t len, size_t k, mw_row_filter_fn filter, void *filter_ctx,
                        const mw_fts_global *global, mw_error *err) {
  *n_hits = 0;
  if (k == 0) return MW_OK;
  mw_fts_tokens t = {0};
  tok_ref *refs = NULL;
  uint32_t *tids = NULL;
  acc_ent *acc = NULL, *tmp = NULL;
  mw_status st = tokenize(&t, f, query ? query : "", query ? len : 0, err);
  if (st != MW_OK || t.n == 0) goto out;
  refs = malloc(t.n * sizeof(*refs));
  tids = malloc(t.n * sizeof(*tids));
  if (!refs || !tids) {
    st = mw_err(err, MW_ERR_NOMEM, "fts: out of memory (search)");
    goto out;
  }
  for (size_t i = 0; i < t.n; i++) refs[i] = (tok_ref){t.text + t.v[i].offset, t.v[i].len, 0};
  qsort(refs, t.n, sizeof(*refs), tok_ref_cmp);

  pthread_rwlock_rdlock(&f->rw);
  uint64_t n_docs = global ? global->n_docs : f->n_docs;
  uint64_t total = global ? global->total_tokens : f->total_tokens;
  if (f->n_docs == 0 || n_docs == 0) goto unlock;
  double avgdl = (double)total / (double)n_docs;
  size_t total_postings = 0;
  for (size_t i = 0; i < t.n; i++) {
    tids[i] = term_find(f, refs[i].s, refs[i].len, fnv1a(refs[i].s, refs[i].len));
    if (tids[i] != UINT32_MAX) total_postings += f->terms[tids[i]].n;
  }
  acc = malloc((total_postings ? total_postings : 1) * sizeof(*acc));
  tmp = malloc((total_postings ? total_postings : 1) * sizeof(*tmp));
  if (!acc || !tmp) {
    st = mw_err(err, MW_ERR_NOMEM, "fts: out of memory (search)");
    goto unlock;
  }
  /* Merge the query tokens' postings (each ascending by document) into one
   * ascending list of (document, score): memory and time follow the
   * postings read, not the index size. A repeated query token counts each
   * time, as in Lance. */
  size_t n_acc = 0;
  for (size_t i = 0; i < t.n; i++) {
    if (tids[i] == UINT32_MAX || f->terms[tids[i]].n == 0) continue;
    const fts_term *term = &f->terms[tids[i]];
    uint64_t df = global ? global->doc_freq(global->ctx, refs[i].s, refs[i].len) : term->n;
    double idf = mw_bm25_idf(n_docs, df);
    size_t a = 0, o = 0;
    for (uint32_t p = 0; p < term->n; p++) {
      uint32_t d = term->p[p].doc;
      while (a < n_acc && acc[a].doc < d) tmp[o++] = acc[a++];
      double w = idf * mw_bm25_weight(term->p[p].tf, f->docs[d].len, avgdl);
      if (a < n_acc && acc[a].doc == d) tmp[o++] = (acc_ent){d, acc[a++].score + w};
      else tmp[o++] = (acc_ent){d, w};
    }
    while (a < n_acc) tmp[o++] = acc[a++];
    acc_ent *sw = acc;
    acc = tmp;
    tmp = sw;
    n_acc = o;
  }
  size_t n = 0;
  for (size_t i = 0; i < n_acc; i++) {
    uint64_t row = f->docs[acc[i].doc].row;
    if (filter && !filter(filter_ctx, row)) continue;
    topk_push(hits, &n, k, (mw_fts_hit){row, (float)acc[i].score});
  }
  qsort(hits, n, sizeof(*hits), hit_cmp);
  *n_hits = n;
unlock:
  pthread_rwlock_unlock(&f->rw);
out:
  free(acc);
  free(tmp);
  free(tids);
  free(refs);
  mw_fts_tokens_free(&t);
  return st;
}

/* ------------------------------------------------------------- accessors */

mw_status mw_fts_postings(mw_fts_postings_list *out, mw_fts *f, const char *token, size_t len,
                          mw_error *err) {
  memset(out, 0, sizeof(*out));
  pthread_rwlock_rdlock(&f->rw);
  mw_status st = MW_OK;
  uint32_t ti = term_find(f, token, len, fnv1a(token, len));
  if (ti != UINT32_MAX && f->terms[ti].n) {
    const fts_term *term = &f->terms[ti];
    out->v = malloc(term->n * sizeof(*out->v));
    out->positions = malloc((term->pos_n ? term->pos_n : 1) * sizeof(uint32_t));
    if (!out->v || !out->positions) {
      free(out->v);
      free(out->positions);
      memset(out, 0, sizeof(*out));
      st = mw_err(err, MW_ERR_NOMEM, "fts: out of memory (postings)");
    } else {
      memcpy(out->positions, term->pos, term->pos_n * sizeof(uint32_t));
      for (uint32_t i = 0; i < term->n; i++)
        out->v[i] = (mw_fts_posting){f->docs[term->p[i].doc].row, term->p[i].tf,
                                     out->positions + term->p[i].pos_off};
      out->n = term->n;
    }
  }
  pthread_rwlock_unlock(&f->rw);
  return st;
}

void mw_fts_postings_free(mw_fts_postings_list *l) {
  free(l->v);
  free(l->positions);
  memset(l, 0, sizeof(*l));
}

uint64_t mw_fts_doc_count(mw_fts *f) {
  pthread_rwlock_rdlock(&f->rw);
  uint64_t n = f->n_docs;
  pthread_rwlock_unlock(&f->rw);
  return n;
}

uint64_t mw_fts_total_tokens(mw_fts *f) {
  pthread_rwlock_rdlock(&f->rw);
  uint64_t n = f->total_tokens;
  pthread_rwlock_unlock(&f->rw);
  return n;
}

uint64_t mw_fts_doc_freq(mw_fts *f, const char *token, size_t len) {
  pthread_rwlock_rdlock(&f->rw);
  uint32_t ti = term_find(f, token, len, fnv1a(token, len));
  uint64_t n = ti == UINT32_MAX ? 0 : f->terms[ti].n;
  pthread_rwlock_unlock(&f->rw);
  return n;
}

size_t mw_fts_memory(const mw_fts *f) { return atomic_load(&((mw_fts *)f)->mem); }

/* ---------------------------------------------------------------- export */

typedef struct key_sort_ctx {
  const mw_fts *f;
} key_sort_ctx;

static int term_key_cmp(const void *a, const void *b, void *arg) {
  const mw_fts *f = ((const key_sort_ctx *)arg)->f;
  const fts_term *x = &f->terms[*(const uint32_t *)a], *y = &f->terms[*(const uint32_t *)b];
  uint32_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(f->keys + x->key_off, f->keys + y->key_off, n);
  if (c) return c;
  return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

void mw_fts_export_free(mw_fts_export *x) {
  free(x->doc_row);
  free(x->doc_len);
  free(x->keys);
  free(x->key_off);
  free(x->key_len);
  free(x->post_off);
  free(x->post_doc);
  free(x->post_tf);
  memset(x, 0, sizeof *x);
}

mw_status mw_fts_export_copy(mw_fts_export *out, mw_fts *f, mw_error *err) {
  memset(out, 0, sizeof *out);
  pthread_rwlock_rdlock(&f->rw);
  uint32_t nt = 0;
  uint64_t np = 0, nk = 0;
  for (uint32_t t = 0; t < f->n_terms; t++)
    if (f->terms[t].n) {
      nt++;
      np += f->terms[t].n;
      nk += f->terms[t].key_len;
    }
  uint32_t *order = malloc((nt ? nt : 1) * sizeof *order);
  out->doc_row = malloc((f->n_docs ? f->n_docs : 1) * sizeof *out->doc_row);
  out->doc_len = malloc((f->n_docs ? f->n_docs : 1) * sizeof *out->doc_len);
  out->keys = malloc(nk ? nk : 1);
  out->key_off = malloc((nt ? nt : 1) * sizeof *out->key_off);
  out->key_len = malloc((nt ? nt : 1) * sizeof *out->key_len);
  out->post_off = malloc(((size_t)nt + 1) * sizeof *out->post_off);
  out->post_doc = malloc((np ? np : 1) * sizeof *out->post_doc);
  out->post_tf = malloc((np ? np : 1) * sizeof *out->post_tf);
  if (!order || !out->doc_row || !out->doc_len || !out->keys || !out->key_off || !out->key_len ||
      !out->post_off || !out->post_doc || !out->post_tf) {
    pthread_rwlock_unlock(&f->rw);
    free(order);
    mw_fts_export_free(out);
    return mw_err(err, MW_ERR_NOMEM, "fts: out of memory (export)");
  }
  for (uint32_t d = 0; d < f->n_docs; d++) {
    out->doc_row[d] = f->docs[d].row;
    out->doc_len[d] = f->docs[d].len;
  }
  out->n_docs = f->n_docs;
  uint32_t k = 0;
  for (uint32_t t = 0; t < f->n_terms; t++)
    if (f->terms[t].n) order[k++] = t;
  key_sort_ctx kc = {f};
  qsort_r(order, nt, sizeof *order, term_key_cmp, &kc);
  uint64_t ko = 0, po = 0;
  for (uint32_t i = 0; i < nt; i++) {
    const fts_term *term = &f->terms[order[i]];
    memcpy(out->keys + ko, f->keys + term->key_off, term->key_len);
    out->key_off[i] = ko;
    out->key_len[i] = term->key_len;
    ko += term->key_len;
    out->post_off[i] = po;
    for (uint32_t p = 0; p < term->n; p++, po++) {
      out->post_doc[po] = term->p[p].doc;
      out->post_tf[po] = term->p[p].tf;
    }
  }
  out->post_off[nt] = po;
  out->n_terms = nt;
  pthread_rwlock_unlock(&f->rw);
  free(order);
  return MW_OK;
}

/* ------------------------------------------------------------------ view */

mw_status mw_fts_view_open(mw_fts_view *v, mw_fts *f, mw_error *err) {
  memset(v, 0, sizeof *v);
  pthread_rwlock_rdlock(&f->rw);
  uint32_t nt = 0, mx = 0;
  uint64_t np = 0;
  for (uint32_t t = 0; t < f->n_terms; t++)
    if (f->terms[t].n) {
      nt++;
      np += f->terms[t].n;
      if (f->terms[t].n > mx) mx = f->terms[t].n;
    }
  uint32_t *order = malloc((nt ? nt : 1) * sizeof *order);
  if (!order) {
    pthread_rwlock_unlock(&f->rw);
    return mw_err(err, MW_ERR_NOMEM, "fts: out of memory (view)");
  }
  uint32_t k = 0;
  for (uint32_t t = 0; t < f->n_terms; t++)
    if (f->terms[t].n) order[k++] = t;
  key_sort_ctx kc = {f};
  qsort_r(order, nt, sizeof *order, term_key_cmp, &kc);
  *v = (mw_fts_view){f, f->n_docs, nt, mx, np, order};
  return MW_OK; /* the read lock stays held until mw_fts_view_close */
}

void mw_fts_view_close(mw_fts_view *v) {
  if (!v->f) return;
  pthread_rwlock_unlock(&v->f->rw);
  free(v->order);
  memset(v, 0, sizeof *v);
}

void mw_fts_view_doc(const mw_fts_view *v, uint32_t d, uint64_t *row, uint32_t *len) {
  *row = v->f->docs[d].row;
  *len = v->f->docs[d].len;
}

const char *mw_fts_view_term(const mw_fts_view *v, uint32_t i, uint32_t *key_len, uint32_t *n_postings) {
  const fts_term *t = &v->f->terms[v->order[i]];
  *key_len = t->key_len;
  *n_postings = t->n;
  return v->f->keys + t->key_off;
}

void mw_fts_view_postings(const mw_fts_view *v, uint32_t i, uint32_t *doc_tf) {
  const fts_term *t = &v->f->terms[v->order[i]];
  for (uint32_t p = 0; p < t->n; p++) {
    doc_tf[2 * p] = t->p[p].doc;
    doc_tf[2 * p + 1] = t->p[p].tf;
  }
}
