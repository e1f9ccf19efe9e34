/* fts_tokenize.c - test tool: tokenizes each line of stdin with memwal's
 * FTS tokenizer and prints one JSON line per input line, in the exact form
 * LanceDB's tokenize() prints through peers/lancedb_lsm.mjs:
 * {"tokens":[{"text":"run","position":0},...]}. Used by
 * tests/interop/fts_tokenize.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void) {
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
