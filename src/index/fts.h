/* fts.h - an in-memory full-text (inverted) index of one utf8 column, as a
 * MemTable keeps it, with BM25 scoring exactly as LSM.md section 7 states:
 *   idf(t)   = ln(1 + (N - n_t + 0.5) / (n_t + 0.5))
 *   w(t, d)  = 2.2 tf / (tf + 1.2 (0.25 + 0.75 dl / avgdl))   (k1 1.2, b 0.75)
 *   score(d) = sum over the query's tokens t of idf(t) w(t, d)
 * (a token repeated in the query counts each time: LanceDB 0.39 scores
 * "fern fern fern" 3x "fern", tests/interop/fts_bm25.sh)
 * N = documents indexed, n_t = documents holding t, tf = occurrences of t in
 * d, dl = tokens of d (after stop-word removal), avgdl = total tokens / N.
 * Computed in double, reported as float. Across LSM sources N, n_t and the
 * token total are sums over the sources: a caller can pass them in
 * (mw_fts_global).
 *
 * Tokens come from the tokenizer of fts_tokenizer.h (Lance 12's default
 * pipeline); a query is tokenized the same way and matches a document
 * holding ANY of its tokens (Lance's match query = OR). A text without
 * tokens (null, empty, only stop words or punctuation) is not a document:
 * it does not count in N nor in avgdl (LanceDB 0.39: adding "", "the of
 * and" and null rows to a table leaves every score unchanged,
 * tests/interop/fts_bm25.sh).
 *
 * Postings per term: (document, term frequency, positions), documents in
 * insertion order; documents: (row id, token count).
 *
 * Concurrency: any number of threads insert and search concurrently.
 *   - rw (a rwlock) guards the term dictionary, the postings, the document
 *     table and the totals: inserts take it for writing only to merge an
 *     already tokenized document, searches take it for reading;
 *   - pool_mu guards the free list of tokenizers (libstemmer instances are
 *     single-threaded): a thread takes one, tokenizes outside rw, returns it.
 *   - mem is atomic. */
#ifndef MW_INDEX_FTS_H
#define MW_INDEX_FTS_H

#include <stddef.h>
#include <stdint.h>

#include "index/row_filter.h"
#include "memwal.h"

typedef struct mw_fts mw_fts;

typedef struct mw_fts_hit {
  uint64_t row;
  float score;
} mw_fts_hit;

/* Corpus statistics summed over several sources (LSM search): N, the token
 * total, and a callback giving n_t for one token (bytes, not NUL-terminated). */
typedef struct mw_fts_global {
  uint64_t n_docs;
  uint64_t total_tokens;
  uint64_t (*doc_freq)(void *ctx, const char *token, size_t len);
  void *ctx;
} mw_fts_global;

/* One posting, as mw_fts_postings returns it. */
typedef struct mw_fts_posting {
  uint64_t row;
  uint32_t tf;
  const uint32_t *positions; /* tf positions, ascending (into the list's storage) */
} mw_fts_posting;

/* A snapshot copy of one term's postings; free with mw_fts_postings_free. */
typedef struct mw_fts_postings_list {
  mw_fts_posting *v;
  size_t n;
  uint32_t *positions;
} mw_fts_postings_list;

mw_status mw_fts_create(mw_fts **out, mw_error *err);
void mw_fts_free(mw_fts *f);

/* Tokenizes text[0..len) and adds it as document `row` (a text without
 * tokens is not added; text NULL = null). Thread-safe. */
mw_status mw_fts_insert(mw_fts *f, uint64_t row, const char *text, size_t len, mw_error *err);

/* The top k documents for a match query (OR of its tokens), best first
 * (score descending, ties by row ascending), restricted to rows the filter
 * keeps (NULL = all). `global` (NULL = this index's own statistics)
 * replaces N, the token total and n_t. `hits` has room for k; *n_hits gets
 * the count. A query without tokens matches nothing. Thread-safe. */
mw_status mw_fts_search(mw_fts_hit *hits, size_t *n_hits, mw_fts *f, const char *query,
                        size_t len, size_t k, mw_row_filter_fn filter, void *filter_ctx,
                        const mw_fts_global *global, mw_error *err);

/* The postings of one (already tokenized) term: a copy, empty when the term
 * is absent. Thread-safe. */
mw_status mw_fts_postings(mw_fts_postings_list *out, mw_fts *f, const char *token, size_t len,
                          mw_error *err);
void mw_fts_postings_free(mw_fts_postings_list *l);

/* A snapshot copy of the whole index, for serialisation (the MemTable
 * flusher writes it as Lance's inverted index, lance/gen_index.h): terms in
 * byte order (memcmp, shorter prefix first), each with its postings in
 * document order; documents in insertion order. Terms without postings are
 * left out. Thread-safe (a read lock for the copy). Free with
 * mw_fts_export_free. */
typedef struct mw_fts_export {
  uint32_t n_docs;
  uint64_t *doc_row;     /* doc_row[d]: the document's row id */
  uint32_t *doc_len;     /* doc_len[d]: its token count */
  uint32_t n_terms;
  char *keys;            /* term bytes, term t at keys + key_off[t], key_len[t] bytes */
  uint64_t *key_off;
  uint32_t *key_len;
  uint64_t *post_off;    /* n_terms + 1 entries: term t's postings are [post_off[t], post_off[t + 1]) */
  uint32_t *post_doc;    /* document index (into doc_row / doc_len) */
  uint32_t *post_tf;     /* term frequency */
} mw_fts_export;

mw_status mw_fts_export_copy(mw_fts_export *out, mw_fts *f, mw_error *err);
void mw_fts_export_free(mw_fts_export *x);

/* The same content read in place (the flush's path: no copy of every
 * posting first): mw_fts_view_open sorts the terms with postings by key
 * (as the export orders them) and takes the index's read lock, which the
 * view holds until mw_fts_view_close (searches still run; an insert waits:
 * the flusher only views a frozen, fully indexed MemTable). The caller
 * does no I/O while the view is open. */
typedef struct mw_fts_view {
  mw_fts *f;             /* NULL once closed */
  uint32_t n_docs;       /* documents, in insertion order */
  uint32_t n_terms;      /* terms with postings */
  uint32_t max_postings; /* the largest posting count of a term */
  uint64_t n_postings;   /* postings of all terms */
  uint32_t *order;       /* order[i]: the index's term number of the i-th term in key order */
} mw_fts_view;

mw_status mw_fts_view_open(mw_fts_view *v, mw_fts *f, mw_error *err);
void mw_fts_view_close(mw_fts_view *v);
/* Document d (d < n_docs): its row id and token count. */
void mw_fts_view_doc(const mw_fts_view *v, uint32_t d, uint64_t *row, uint32_t *len);
/* The i-th term in key order: its bytes (*key_len of them) and posting
 * count. */
const char *mw_fts_view_term(const mw_fts_view *v, uint32_t i, uint32_t *key_len, uint32_t *n_postings);
/* Its postings in document order into doc_tf: 2 per posting, document
 * (index into the documents) then term frequency. */
void mw_fts_view_postings(const mw_fts_view *v, uint32_t i, uint32_t *doc_tf);

/* This index's statistics: documents, token total, n_t of one term. */
uint64_t mw_fts_doc_count(mw_fts *f);
uint64_t mw_fts_total_tokens(mw_fts *f);
uint64_t mw_fts_doc_freq(mw_fts *f, const char *token, size_t len);
/* Bytes allocated by the index (capacities, not just lengths). */
size_t mw_fts_memory(const mw_fts *f);

/* The BM25 terms, exposed for tests and for callers merging sources. */
double mw_bm25_idf(uint64_t n_docs, uint64_t doc_freq);
double mw_bm25_weight(uint32_t tf, uint32_t doc_len, double avgdl);

#endif
