/* fts_tokenizer.c - Lance 12's default tokenizer pipeline (see
 * fts_tokenizer.h for the steps and their order).
 *
 * Design: one pass over the UTF-8 text finds the raw tokens (runs of
 * alphanumeric code points, ASCII classified inline, the rest by binary
 * search in the generated range table). Each raw token that is short enough
 * is lowercased into a scratch buffer (ASCII inline, else the generated full
 * mapping table), stemmed by libstemmer, checked against the stop-word list
 * (sorted, binary search), then ASCII-folded straight into the output text
 * buffer. The scratch buffers live in the tokenizer, so a warm tokenizer
 * does not allocate except to grow the caller's output. */
#include "index/fts_tokenizer.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "index/fts_unicode.h"

struct mw_fts_tokenizer {
  struct sb_stemmer *stemmer;
  char *lower;
  size_t lower_cap;
};

/* NLTK's English stop-word list (the 179 single-word entries; its entries
 * with an apostrophe can never be a token, since ' separates tokens),
 * sorted bytewise for the binary search. */
static const char *const stop_words[] = {
    "a", "about", "above", "after", "again", "against", "ain", "all", "am", "an", "and", "any",
    "are", "aren", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "couldn", "d", "did", "didn", "do", "does", "doesn", "doing", "don",
    "down", "during", "each", "few", "for", "from", "further", "had", "hadn", "has", "hasn", "have",
    "haven", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i",
    "if", "in", "into", "is", "isn", "it", "its", "itself", "just", "ll", "m", "ma", "me",
    "mightn", "more", "most", "mustn", "my", "myself", "needn", "no", "nor", "not", "now", "o",
    "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over",
    "own", "re", "s", "same", "shan", "she", "should", "shouldn", "so", "some", "such", "t",
    "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these",
    "they", "this", "those", "through", "to", "too", "under", "until", "up", "ve", "very", "was",
    "wasn", "we", "were", "weren", "what", "when", "where", "which", "while", "who", "whom", "why",
    "will", "with", "won", "wouldn", "y", "you", "your", "yours", "yourself", "yourselves"};

bool mw_fts_is_stop_word(const char *tok, size_t len) {
  size_t lo = 0, hi = sizeof(stop_words) / sizeof(stop_words[0]);
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const char *w = stop_words[mid];
    size_t wl = strlen(w);
    int c = memcmp(tok, w, len < wl ? len : wl);
    if (c == 0) c = len < wl ? -1 : len > wl ? 1 : 0;
    if (c == 0) return true;
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return false;
}

/* ------------------------------------------------------------- Unicode */

/* Decodes one UTF-8 code point at s[0..n); returns its length (1..4) and
 * the code point, or 0 for an invalid sequence (then *cp is undefined). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned char c = s[0];
  if (c < 0x80) { *cp = c; return 1; }
  size_t len;
  uint32_t v, min;
  if ((c & 0xE0) == 0xC0) { len = 2; v = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { len = 3; v = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { len = 4; v = c & 0x07; min = 0x10000; }
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

static size_t utf8_encode(uint32_t cp, char *out) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static bool is_alnum(uint32_t cp) {
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
  size_t lo = 0, hi = mw_uc_alnum_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < mw_uc_alnum_ranges[mid][0]) hi = mid;
    else if (cp > mw_uc_alnum_ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

static const mw_uc_lower *lower_of(uint32_t cp) {
  size_t lo = 0, hi = mw_uc_lower_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < mw_uc_lower_table[mid].cp) hi = mid;
    else if (cp > mw_uc_lower_table[mid].cp) lo = mid + 1;
    else return &mw_uc_lower_table[mid];
  }
  return NULL;
}

static const char *fold_of(uint32_t cp) {
  size_t lo = 0, hi = mw_uc_fold_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cp < mw_uc_fold_table[mid].cp) hi = mid;
    else if (cp > mw_uc_fold_table[mid].cp) lo = mid + 1;
    else return mw_uc_fold_table[mid].ascii;
  }
  return NULL;
}

/* ------------------------------------------------------------ pipeline */

mw_status mw_fts_tokenizer_create(mw_fts_tokenizer **out, mw_error *err) {
  *out = NULL;
  mw_fts_tokenizer *tk = calloc(1, sizeof(*tk));
  if (!tk) return mw_err(err, MW_ERR_NOMEM, "fts tokenizer: out of memory");
  tk->stemmer = sb_stemmer_new("english", "UTF_8");
  if (!tk->stemmer) {
    free(tk);
    return mw_err(err, MW_ERR_UNSUPPORTED, "fts tokenizer: libstemmer has no UTF-8 English stemmer");
  }
  *out = tk;
  return MW_OK;
}

void mw_fts_tokenizer_free(mw_fts_tokenizer *tk) {
  if (!tk) return;
  sb_stemmer_delete(tk->stemmer);
  free(tk->lower);
  free(tk);
}

void mw_fts_tokens_free(mw_fts_tokens *t) {
  free(t->v);
  free(t->text);
  memset(t, 0, sizeof(*t));
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return true;
  size_t nc = *cap ? *cap : 64;
  while (nc < need) nc *= 2;
  void *np = realloc(*p, nc * elem);
  if (!np) return false;
  *p = np;
  *cap = nc;
  return true;
}

/* Lowercase, stem, stop-word check and fold one raw token; appends it to
 * out unless it is a stop word. Returns false on allocation failure. */
static bool emit(mw_fts_tokens *out, mw_fts_tokenizer *tk, const unsigned char *s, size_t n,
                 uint32_t raw_pos, bool *kept) {
  *kept = false;
  /* lowercase: at most 3 code points of at most 4 bytes per input byte run */
  if (!grow((void **)&tk->lower, &tk->lower_cap, n * 3 + 4, 1)) return false;
  size_t ln = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t cl = utf8_decode(s + i, n - i, &cp); /* valid: the splitter checked */
    i += cl;
    if (cp < 0x80) {
      tk->lower[ln++] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
      continue;
    }
    const mw_uc_lower *l = lower_of(cp);
    if (!l) ln += utf8_encode(cp, tk->lower + ln);
    else
      for (int j = 0; j < l->n; j++) ln += utf8_encode(l->out[j], tk->lower + ln);
  }
  const sb_symbol *st = sb_stemmer_stem(tk->stemmer, (const sb_symbol *)tk->lower, (int)ln);
  if (!st) return false; /* libstemmer's only failure is out of memory */
  size_t sn = (size_t)sb_stemmer_length(tk->stemmer);
  if (mw_fts_is_stop_word((const char *)st, sn)) return true;
  /* fold into the output text (a fold is at most 4x... bounded by 8 bytes
   * of ASCII per code point of at least 2 bytes) */
  if (!grow((void **)&out->text, &out->text_cap, out->text_len + sn * 4 + 4, 1)) return false;
  if (!grow((void **)&out->v, &out->cap, out->n + 1, sizeof(mw_fts_token))) return false;
  size_t start = out->text_len;
  for (size_t i = 0; i < sn;) {
    uint32_t cp;
    size_t cl = utf8_decode(st + i, sn - i, &cp);
    if (cl == 0) { /* cannot happen for valid input; keep the byte */
      out->text[out->text_len++] = (char)st[i++];
      continue;
    }
    const char *f = cp < 0x80 ? NULL : fold_of(cp);
    if (f) {
      size_t fl = strlen(f);
      memcpy(out->text + out->text_len, f, fl);
      out->text_len += fl;
    } else {
      memcpy(out->text + out->text_len, st + i, cl);
      out->text_len += cl;
    }
    i += cl;
  }
  out->v[out->n++] = (mw_fts_token){start, (uint32_t)(out->text_len - start), raw_pos};
  *kept = true;
  return true;
}

mw_status mw_fts_tokenize(mw_fts_tokens *out, mw_fts_tokenizer *tk, const char *text, size_t len,
                          mw_error *err) {
  out->n = 0;
  out->text_len = 0;
  const unsigned char *s = (const unsigned char *)text;
  uint32_t raw_pos = 0, first_kept = 0;
  bool any_kept = false;
  size_t i = 0;
  while (i < len) {
    /* skip separators */
    uint32_t cp;
    size_t cl = utf8_decode(s + i, len - i, &cp);
    if (cl == 0 || !is_alnum(cp)) {
      i += cl ? cl : 1;
      continue;
    }
    size_t start = i;
    while (i < len) {
      cl = utf8_decode(s + i, len - i, &cp);
      if (cl == 0 || !is_alnum(cp)) break;
      i += cl;
    }
    uint32_t pos = raw_pos++;
    if (i - start >= MW_FTS_MAX_TOKEN_BYTES) continue;
    bool kept;
    if (!emit(out, tk, s + start, i - start, pos, &kept))
      return mw_err(err, MW_ERR_NOMEM, "fts tokenizer: out of memory");
    if (kept && !any_kept) {
      any_kept = true;
      first_kept = pos;
    }
  }
  for (size_t t = 0; t < out->n; t++) out->v[t].position -= first_kept;
  return MW_OK;
}
