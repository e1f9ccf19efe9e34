/* test_fts.c - the in-memory FTS index: BM25 scores against a hand-computed
 * example (LSM.md section 7's formula), postings (tf, positions), the match
 * query semantics (OR of tokens, stemming, duplicates, stop words),
 * filters, summed LSM statistics, a random workload against a brute-force
 * reference, and concurrent inserts + searches (TSan: MW_THREADED_TESTS);
 * the in-place view (mw_fts_view_*) equals the export copy. */
#include <math.h>
#include <pthread.h>

#include "index/fts.h"
#include "index/fts_tokenizer.h"
#include "mw_test.h"

static mw_fts *small_index(void) {
  mw_fts *f = NULL;
  CHECK_OK(mw_fts_create(&f, NULL), NULL);
  const char *docs[] = {"The quick brown fox", "quick QUICK dog", "lazy dogs sleeping", ""};
  for (int i = 0; i < 4; i++) CHECK_OK(mw_fts_insert(f, 10 + i, docs[i], strlen(docs[i]), NULL), NULL);
  return f;
}

/* Hand-computed: tokens 10 = quick brown fox (3), 11 = quick quick dog (3),
 * 12 = lazi dog sleep (3); 13 ("") has no token: not a document (LanceDB
 * does not count it). N = 3, avgdl = 9/3 = 3.
 * idf(quick) = idf(dog) = ln(1 + (3 - 2 + 0.5)/(2 + 0.5)) = ln 1.6 = 0.4700036.
 * tf 1, dl 3: 2.2 / (1 + 1.2 (0.25 + 0.75 * 3/3)) = 2.2 / 2.2 = 1
 * tf 2, dl 3: 4.4 / (2 + 1.2) = 1.375
 * "quick dog": 11 = 0.4700036 (1.375 + 1) = 1.1162586, 10 = 12 = 0.4700036
 * (tie: row order). */
static void test_bm25_hand_example(void) {
  mw_fts *f = small_index();
  CHECK_INT(mw_fts_doc_count(f), 3);
  CHECK_INT(mw_fts_total_tokens(f), 9);
  CHECK_INT(mw_fts_doc_freq(f, "quick", 5), 2);
  CHECK_INT(mw_fts_doc_freq(f, "lazi", 4), 1);
  CHECK_INT(mw_fts_doc_freq(f, "the", 3), 0);
  mw_fts_hit h[10];
  size_t n = 0;
  CHECK_OK(mw_fts_search(h, &n, f, "quick dog", 9, 10, NULL, NULL, NULL, NULL), NULL);
  CHECK_INT(n, 3);
  CHECK_INT(h[0].row, 11);
  CHECK_INT(h[1].row, 10);
  CHECK_INT(h[2].row, 12);
  CHECK(fabs(h[0].score - 1.1162586) < 1e-6);
  CHECK(fabs(h[1].score - 0.4700036) < 1e-6);
  CHECK(h[1].score == h[2].score);
  CHECK(fabs(mw_bm25_idf(4, 2) - 0.6931472) < 1e-7);
  CHECK(fabs(mw_bm25_weight(2, 3, 2.25) - 1.2571429) < 1e-7);
  /* k limits, best first */
  CHECK_OK(mw_fts_search(h, &n, f, "quick dog", 9, 1, NULL, NULL, NULL, NULL), NULL);
  CHECK(n == 1 && h[0].row == 11);
  /* stemming and case apply to the query; a repeated query token counts
   * each time (as LanceDB does): "quick dog quick" = 2 x quick + dog */
  mw_fts_hit h2[10];
  size_t n2 = 0;
  CHECK_OK(mw_fts_search(h2, &n2, f, "Quickly dogs, QUICK!", 20, 10, NULL, NULL, NULL, NULL), NULL);
  CHECK_INT(n2, 3);
  CHECK_INT(h2[0].row, 11); /* 0.4700036 (2 x 1.375 + 1) */
  CHECK(fabs(h2[0].score - 0.4700036 * 3.75) < 1e-6);
  CHECK_INT(h2[1].row, 10); /* 0.4700036 (2 x 1) */
  CHECK(fabs(h2[1].score - 0.4700036 * 2) < 1e-6);
  CHECK_INT(h2[2].row, 12);
  CHECK(fabs(h2[2].score - 0.4700036) < 1e-6);
  /* texts without tokens are not documents */
  CHECK_OK(mw_fts_insert(f, 20, "the of and", 10, NULL), NULL);
  CHECK_OK(mw_fts_insert(f, 21, NULL, 0, NULL), NULL);
  CHECK_OK(mw_fts_insert(f, 22, "--, !", 5, NULL), NULL);
  CHECK_INT(mw_fts_doc_count(f), 3);
  CHECK_OK(mw_fts_search(h, &n, f, "quick dog", 9, 10, NULL, NULL, NULL, NULL), NULL);
  CHECK(n == 3 && fabs(h[0].score - 1.1162586) < 1e-6);
  /* only stop words / unknown words: nothing */
  CHECK_OK(mw_fts_search(h, &n, f, "the and of", 10, 10, NULL, NULL, NULL, NULL), NULL);
  CHECK_INT(n, 0);
  CHECK_OK(mw_fts_search(h, &n, f, "zebra", 5, 10, NULL, NULL, NULL, NULL), NULL);
  CHECK_INT(n, 0);
  mw_fts_free(f);
}

static void test_postings(void) {
  mw_fts *f = small_index();
  mw_fts_postings_list l;
  CHECK_OK(mw_fts_postings(&l, f, "quick", 5, NULL), NULL);
  CHECK_INT(l.n, 2);
  if (l.n == 2) {
    CHECK_INT(l.v[0].row, 10);
    CHECK_INT(l.v[0].tf, 1);
    CHECK_INT(l.v[0].positions[0], 0); /* "The" dropped, positions rebased */
    CHECK_INT(l.v[1].row, 11);
    CHECK_INT(l.v[1].tf, 2);
    CHECK(l.v[1].positions[0] == 0 && l.v[1].positions[1] == 1);
  }
  mw_fts_postings_free(&l);
  CHECK_OK(mw_fts_postings(&l, f, "dog", 3, NULL), NULL);
  CHECK(l.n == 2 && l.v[0].row == 11 && l.v[0].positions[0] == 2 && l.v[1].row == 12 &&
        l.v[1].positions[0] == 1);
  mw_fts_postings_free(&l);
  CHECK_OK(mw_fts_postings(&l, f, "cat", 3, NULL), NULL);
  CHECK_INT(l.n, 0);
  mw_fts_postings_free(&l);
  CHECK(mw_fts_memory(f) > 0);
  mw_fts_free(f);
}

static bool not_11(void *ctx, uint64_t row) { (void)ctx; return row != 11; }
static uint64_t df_ten(void *ctx, const char *t, size_t len) { (void)ctx; (void)t; (void)len; return 10; }

static void test_filter_and_global_stats(void) {
  mw_fts *f = small_index();
  mw_fts_hit h[10];
  size_t n = 0;
  CHECK_OK(mw_fts_search(h, &n, f, "quick dog", 9, 10, not_11, NULL, NULL, NULL), NULL);
  CHECK(n == 2 && h[0].row == 10 && h[1].row == 12);
  /* summed statistics of several sources: N 100, 900 tokens, n_t 10:
   * idf = ln(1 + 90.5/10.5), avgdl 9; row 11: tf 2, dl 3 and tf 1, dl 3 */
  mw_fts_global g = {100, 900, df_ten, NULL};
  CHECK_OK(mw_fts_search(h, &n, f, "quick dog", 9, 10, NULL, NULL, &g, NULL), NULL);
  double idf = log(1 + 90.5 / 10.5);
  double w2 = 4.4 / (2 + 1.2 * (0.25 + 0.75 * 3 / 9.0)), w1 = 2.2 / (1 + 1.2 * (0.25 + 0.75 * 3 / 9.0));
  CHECK(n == 3 && h[0].row == 11);
  CHECK(fabs(h[0].score - idf * (w2 + w1)) < 1e-5);
  CHECK(fabs(h[1].score - idf * w1) < 1e-5);
  mw_fts_free(f);
}

/* ---- random workload vs a brute-force reference */

static uint64_t rs = 99;
static uint32_t rnd(uint32_t n) {
  rs = rs * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)((rs >> 33) % n);
}
static const char *vocab[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta",
                              "kappa", "lambda", "sigma", "running", "runs", "the", "and",
                              "café", "CAFE", "naïve", "above", "having", "items"};

static char *random_doc(void) {
  char *s = malloc(512);
  size_t o = 0, words = rnd(12);
  for (size_t i = 0; i < words; i++)
    o += (size_t)snprintf(s + o, 512 - o, "%s%s", i ? (rnd(3) ? " " : ", ") : "", vocab[rnd(20)]);
  s[o] = 0;
  return s;
}

typedef struct ref_doc {
  mw_fts_tokens t;
} ref_doc;

/* nd = documents with at least one token (the others are not documents) */
static double ref_score(ref_doc *docs, size_t n_all, size_t nd, size_t d, mw_fts_tokens *q, double total) {
  double avgdl = total / (double)nd, s = 0;
  for (size_t i = 0; i < q->n; i++) {
    const char *qt = q->text + q->v[i].offset;
    uint32_t ql = q->v[i].len;
    uint32_t df = 0, tf = 0;
    for (size_t e = 0; e < n_all; e++) {
      uint32_t c = 0;
      for (size_t k = 0; k < docs[e].t.n; k++)
        if (docs[e].t.v[k].len == ql && memcmp(docs[e].t.text + docs[e].t.v[k].offset, qt, ql) == 0) c++;
      if (c) df++;
      if (e == d) tf = c;
    }
    if (tf) {
      double idf = log(1 + ((double)nd - df + 0.5) / (df + 0.5));
      s += idf * 2.2 * tf / (tf + 1.2 * (0.25 + 0.75 * docs[d].t.n / avgdl));
    }
  }
  return s;
}

static void test_random_vs_reference(void) {
  mw_fts *f = NULL;
  CHECK_OK(mw_fts_create(&f, NULL), NULL);
  mw_fts_tokenizer *tk = NULL;
  CHECK_OK(mw_fts_tokenizer_create(&tk, NULL), NULL);
  enum { ND = 300 };
  ref_doc *docs = calloc(ND, sizeof(*docs));
  double total = 0;
  size_t nd = 0;
  for (size_t d = 0; d < ND; d++) {
    char *s = random_doc();
    CHECK_OK(mw_fts_insert(f, d, s, strlen(s), NULL), NULL);
    CHECK_OK(mw_fts_tokenize(&docs[d].t, tk, s, strlen(s), NULL), NULL);
    total += (double)docs[d].t.n;
    nd += docs[d].t.n > 0;
    free(s);
  }
  size_t mismatches = 0;
  for (int q = 0; q < 40; q++) {
    char *qs = random_doc();
    mw_fts_tokens qt = {0};
    CHECK_OK(mw_fts_tokenize(&qt, tk, qs, strlen(qs), NULL), NULL);
    mw_fts_hit *h = malloc(ND * sizeof(*h));
    size_t n = 0;
    CHECK_OK(mw_fts_search(h, &n, f, qs, strlen(qs), ND, NULL, NULL, NULL, NULL), NULL);
    /* every matching document, exactly once, with the reference score */
    size_t expect = 0;
    for (size_t d = 0; d < ND; d++) {
      double rsc = ref_score(docs, ND, nd, d, &qt, total);
      if (rsc > 0) expect++;
      bool found = false;
      for (size_t i = 0; i < n; i++)
        if (h[i].row == d) {
          found = true;
          if (fabs(h[i].score - rsc) > 1e-5 * (1 + rsc)) mismatches++;
        }
      if (found != (rsc > 0)) mismatches++;
    }
    CHECK_INT(n, expect);
    for (size_t i = 1; i < n; i++)
      CHECK(h[i - 1].score > h[i].score || (h[i - 1].score == h[i].score && h[i - 1].row < h[i].row));
    free(h);
    free(qs);
    mw_fts_tokens_free(&qt);
  }
  CHECK_INT(mismatches, 0);
  CHECK(nd < ND); /* the workload did have texts without tokens */
  CHECK_INT(mw_fts_doc_count(f), nd);
  for (size_t d = 0; d < ND; d++) mw_fts_tokens_free(&docs[d].t);
  free(docs);
  mw_fts_tokenizer_free(tk);
  mw_fts_free(f);
}

/* ---- concurrency */

typedef struct thr {
  mw_fts *f;
  size_t from, to;
  int failures;
} thr;

static void make_text(char *buf, size_t cap, size_t i) {
  snprintf(buf, cap, "%s %s item%zu", vocab[i % 10], vocab[(i * 7) % 10], i);
}

static void *ins_thread(void *p) {
  thr *a = p;
  char buf[128];
  for (size_t i = a->from; i < a->to; i++) {
    make_text(buf, sizeof(buf), i);
    if (mw_fts_insert(a->f, i, buf, strlen(buf), NULL) != MW_OK) a->failures++;
  }
  return NULL;
}

static void *search_thread(void *p) {
  thr *a = p;
  mw_fts_hit h[10];
  char q[64];
  for (size_t i = 0; i < a->to; i++) {
    size_t n = 0;
    snprintf(q, sizeof(q), "item%zu gamma", i * 13);
    if (mw_fts_search(h, &n, a->f, q, strlen(q), 10, NULL, NULL, NULL, NULL) != MW_OK) a->failures++;
    for (size_t j = 1; j < n; j++)
      if (h[j - 1].score < h[j].score) a->failures++;
  }
  return NULL;
}

static void test_concurrent(void) {
  const size_t N = 3000;
  mw_fts *f = NULL, *seq = NULL;
  CHECK_OK(mw_fts_create(&f, NULL), NULL);
  CHECK_OK(mw_fts_create(&seq, NULL), NULL);
  thr a[5];
  pthread_t t[5];
  for (int i = 0; i < 3; i++) {
    a[i] = (thr){f, N * i / 3, N * (i + 1) / 3, 0};
    pthread_create(&t[i], NULL, ins_thread, &a[i]);
  }
  for (int i = 3; i < 5; i++) {
    a[i] = (thr){f, 0, 150, 0};
    pthread_create(&t[i], NULL, search_thread, &a[i]);
  }
  for (int i = 0; i < 5; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 5; i++) CHECK_INT(a[i].failures, 0);
  thr s = {seq, 0, N, 0};
  ins_thread(&s);
  CHECK_INT(mw_fts_doc_count(f), N);
  CHECK_INT(mw_fts_total_tokens(f), mw_fts_total_tokens(seq));
  /* insertion order does not change any answer */
  const char *qs[] = {"item1300 gamma", "alpha beta", "sigma item7", "kappa lambda theta"};
  for (int q = 0; q < 4; q++) {
    mw_fts_hit h1[20], h2[20];
    size_t n1 = 0, n2 = 0;
    CHECK_OK(mw_fts_search(h1, &n1, f, qs[q], strlen(qs[q]), 20, NULL, NULL, NULL, NULL), NULL);
    CHECK_OK(mw_fts_search(h2, &n2, seq, qs[q], strlen(qs[q]), 20, NULL, NULL, NULL, NULL), NULL);
    CHECK_INT(n1, n2);
    for (size_t i = 0; i < n1 && i < n2; i++) CHECK(h1[i].row == h2[i].row && h1[i].score == h2[i].score);
  }
  mw_fts_hit h[1];
  size_t n = 0;
  CHECK_OK(mw_fts_search(h, &n, f, "item1300", 8, 1, NULL, NULL, NULL, NULL), NULL);
  CHECK(n == 1 && h[0].row == 1300);
  /* the in-place view of the concurrently built index = its export copy
   * (terms in key order, their postings, the documents); searches run
   * while the view is open (it holds the read lock) */
  mw_fts_export x;
  CHECK_OK(mw_fts_export_copy(&x, f, NULL), NULL);
  mw_fts_view v;
  CHECK_OK(mw_fts_view_open(&v, f, NULL), NULL);
  for (int i = 3; i < 5; i++) {
    a[i] = (thr){f, 0, 50, 0};
    pthread_create(&t[i], NULL, search_thread, &a[i]);
  }
  CHECK_INT(v.n_docs, x.n_docs);
  CHECK_INT(v.n_terms, x.n_terms);
  CHECK_INT(v.n_postings, x.post_off[x.n_terms]);
  size_t bad = 0;
  uint32_t mx = 0;
  for (uint32_t d = 0; d < v.n_docs && d < x.n_docs; d++) {
    uint64_t row;
    uint32_t len;
    mw_fts_view_doc(&v, d, &row, &len);
    bad += row != x.doc_row[d] || len != x.doc_len[d];
  }
  uint32_t *dt = malloc(2 * ((size_t)x.post_off[x.n_terms] + 1) * sizeof *dt);
  for (uint32_t i = 0; dt && i < v.n_terms && i < x.n_terms; i++) {
    uint32_t kl, np;
    const char *k = mw_fts_view_term(&v, i, &kl, &np);
    if (np > mx) mx = np;
    if (kl != x.key_len[i] || memcmp(k, x.keys + x.key_off[i], kl) != 0 || np != x.post_off[i + 1] - x.post_off[i]) {
      bad++;
      continue;
    }
    mw_fts_view_postings(&v, i, dt);
    for (uint32_t p = 0; p < np; p++)
      bad += dt[2 * p] != x.post_doc[x.post_off[i] + p] || dt[2 * p + 1] != x.post_tf[x.post_off[i] + p];
  }
  CHECK(dt != NULL);
  CHECK_INT(bad, 0);
  CHECK_INT(v.max_postings, mx);
  for (int i = 3; i < 5; i++) pthread_join(t[i], NULL);
  for (int i = 3; i < 5; i++) CHECK_INT(a[i].failures, 0);
  mw_fts_view_close(&v);
  CHECK(v.f == NULL && v.order == NULL);
  mw_fts_view_close(&v); /* twice is harmless */
  free(dt);
  mw_fts_export_free(&x);
  mw_fts_free(f);
  mw_fts_free(seq);
}

int main(void) {
  MW_RUN(test_bm25_hand_example);
  MW_RUN(test_postings);
  MW_RUN(test_filter_and_global_stats);
  MW_RUN(test_random_vs_reference);
  MW_RUN(test_concurrent);
  return mw_test_finish();
}
