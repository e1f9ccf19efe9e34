/* fts_tokenize.c - test tool for the interop tests:
 *   mw_fts_tokenize              tokenizes each line of stdin with memwal's
 *       FTS tokenizer and prints one JSON line per input line, in the exact
 *       form LanceDB's tokenize() prints through peers/lancedb_lsm.mjs:
 *       {"tokens":[{"text":"run","position":0},...]} (fts_tokenize.sh);
 *   mw_fts_tokenize --bm25 QUERY K   indexes each line of stdin as document
 *       <line number - 1> in an mw_fts index and prints the top K of the
 *       match query QUERY, one {"row":R,"score":S} line each (fts_bm25.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/fts.h"
#include "index/fts_tokenizer.h"

static void put_json_string(const char *s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static int bm25(const char *query, size_t k) {
  mw_fts *f = NULL;
  mw_error err = {0};
  if (mw_fts_create(&f, &err) != MW_OK) return 1;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  uint64_t row = 0;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    if (n && line[n - 1] == '\n') line[--n] = 0;
    if (mw_fts_insert(f, row++, line, (size_t)n, &err) != MW_OK) {
      fprintf(stderr, "fts_tokenize: %s\n", err.message);
      return 1;
    }
  }
  free(line);
  mw_fts_hit *hits = malloc((k ? k : 1) * sizeof(*hits));
  size_t nh = 0;
  if (!hits || mw_fts_search(hits, &nh, f, query, strlen(query), k, NULL, NULL, NULL, &err) != MW_OK) {
    fprintf(stderr, "fts_tokenize: %s\n", err.message);
    return 1;
  }
  for (size_t i = 0; i < nh; i++) printf("{\"row\":%llu,\"score\":%.9g}\n", (unsigned long long)hits[i].row, hits[i].score);
  free(hits);
  mw_fts_free(f);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--bm25") == 0) return bm25(argv[2], strtoull(argv[3], NULL, 10));
  mw_fts_tokenizer *tk = NULL;
  mw_error err = {0};
  if (mw_fts_tokenizer_create(&tk, &err) != MW_OK) {
    fprintf(stderr, "fts_tokenize: %s\n", err.message);
    return 1;
  }
  mw_fts_tokens t = {0};
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    if (n && line[n - 1] == '\n') line[--n] = 0;
    if (mw_fts_tokenize(&t, tk, line, (size_t)n, &err) != MW_OK) {
      fprintf(stderr, "fts_tokenize: %s\n", err.message);
      return 1;
    }
    fputs("{\"tokens\":[", stdout);
    for (size_t i = 0; i < t.n; i++) {
      fputs(i ? ",{\"text\":" : "{\"text\":", stdout);
      put_json_string(t.text + t.v[i].offset, t.v[i].len);
      printf(",\"position\":%u}", t.v[i].position);
    }
    fputs("]}\n", stdout);
  }
  free(line);
  mw_fts_tokens_free(&t);
  mw_fts_tokenizer_free(tk);
  return 0;
}
