/* fts_tokenizer.h - Lance 12's default full-text tokenizer pipeline
 * (LSM.md section 7; checked token for token against LanceDB 0.39's
 * table.tokenize(), tests/interop/fts_tokenize.sh):
 *   1. split: a token is a maximal run of Unicode alphanumeric characters
 *      (Alphabetic or General_Category N*); everything else separates;
 *   2. drop tokens of 40 bytes or more (UTF-8 bytes, before lowercasing);
 *   3. lowercase each character (full mappings, no context: U+0130 ->
 *      "i" U+0307, a final capital sigma -> σ);
 *   4. Snowball English stemmer (libstemmer's "english", UTF-8);
 *   5. drop the token if the STEMMED form is an NLTK English stop word
 *      ("above" -> "abov" survives, "having" -> "have" goes);
 *   6. ASCII folding ("café" -> "cafe", "straße" -> "strasse").
 * Positions count every split token (dropped ones included) and are rebased
 * so that the first token kept has position 0 (what tokenize() prints).
 * Bytes that are not valid UTF-8 separate tokens, like punctuation.
 *
 * A tokenizer owns a libstemmer instance, which is not thread-safe: use one
 * tokenizer per thread (or guard it). Token lists are plain buffers the
 * caller owns. */
#ifndef MW_INDEX_FTS_TOKENIZER_H
#define MW_INDEX_FTS_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memwal.h"

#define MW_FTS_MAX_TOKEN_BYTES 40 /* tokens of this many bytes or more are dropped */

typedef struct mw_fts_tokenizer mw_fts_tokenizer;

typedef struct mw_fts_token {
  size_t offset;     /* into mw_fts_tokens.text */
  uint32_t len;      /* bytes */
  uint32_t position; /* see above */
} mw_fts_token;

/* The tokens of one text: token i is text[v[i].offset .. + v[i].len)
 * (not NUL-terminated). Zero-initialise, reuse across calls, free with
 * mw_fts_tokens_free. */
typedef struct mw_fts_tokens {
  mw_fts_token *v;
  size_t n, cap;
  char *text;
  size_t text_len, text_cap;
} mw_fts_tokens;

mw_status mw_fts_tokenizer_create(mw_fts_tokenizer **out, mw_error *err);
void mw_fts_tokenizer_free(mw_fts_tokenizer *tk);

/* Tokenizes text[0..len) into *out (replacing its previous content). */
mw_status mw_fts_tokenize(mw_fts_tokens *out, mw_fts_tokenizer *tk, const char *text, size_t len,
                          mw_error *err);
void mw_fts_tokens_free(mw_fts_tokens *t);

/* True when the (stemmed) token is an NLTK English stop word. */
bool mw_fts_is_stop_word(const char *tok, size_t len);

#endif
