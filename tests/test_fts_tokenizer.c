/* test_fts_tokenizer.c - the FTS tokenizer against tokens LanceDB 0.39 printed
 * (peers/lancedb_lsm.mjs tokenize on a table with an FTS index; the same
 * lines are rechecked live by tests/interop/fts_tokenize.sh): Unicode,
 * the 40-byte limit (multi-byte tokens too), stop words, stop words that
 * only match once stemmed, position gaps and rebasing; plus the stop-word
 * list and reuse of one token buffer. */
#include "index/fts_tokenizer.h"
#include "mw_test.h"

typedef struct tk_case {
  const char *text;
  const char *tokens; /* expected tokens joined by one space */
  uint32_t positions[40];
  size_t n;
} tk_case;

/* Expected values copied from LanceDB 0.39's output. */
static const tk_case cases[] = {
    {"The Running FOXES jumped; na\xc3""\xaf""ve caf\xc3""\xa9""",
     "run fox jump naiv cafe",
     {0,1,2,3,4}, 5},
    {"I don't know what you're doing, whom should we ask? It's theirs and ours.",
     "know ask",
     {0,8}, 2},
    {"above very having doing yourselves himself also across whose would could",
     "abov veri yourselv also across whose would could",
     {0,1,4,6,7,8,9,10}, 8},
    {"short aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb \xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9""\xc3""\xa9"" \xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""\xc3""\xab""x \xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""\xc3""\x9c""z end",
     "short aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa eeeeeeeeeeeeeeeeeeex uuuuuuuuuuuuuuuuuuuz end",
     {0,1,4,5,6}, 5},
    {"Stra\xc3""\x9f""e \xc3""\x86""R\xc3""\x98""SK\xc3""\x98""BING \xc3""\x86""lfred \xc5""\x93""uvre \xc4""\xb0""stanbul \xc7""\x85""emal \xce""\xa3""\xce""\x8a""\xce""\xa3""\xce""\xa5""\xce""\xa6""\xce""\x9f""\xce""\xa3"" \xce""\x95""\xce""\xbb""\xce""\xbb""\xce""\xb7""\xce""\xbd""\xce""\xb9""\xce""\xba""\xce""\xac"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88"" \xe6""\x9d""\xb1""\xe4""\xba""\xac"" \xd0""\x9f""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82"" \xd0""\xbc""\xd0""\xb8""\xd1""\x80"" \xef""\xac""\x81""nance \xc2""\xbd"" \xc2""\xb2"" \xd9""\xa1""\xd9""\xa2""\xd9""\xa3"" na\xc3""\xaf""vet\xc3""\xa9"" fa\xc3""\xa7""ade",
     "strasse aeroskobing aelfred oeuvr i\xcc""\x87""stanbul dzemal \xcf""\x83""\xce""\xaf""\xcf""\x83""\xcf""\x85""\xcf""\x86""\xce""\xbf""\xcf""\x83"" \xce""\xb5""\xce""\xbb""\xce""\xbb""\xce""\xb7""\xce""\xbd""\xce""\xb9""\xce""\xba""\xce""\xac"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88"" \xe6""\x9d""\xb1""\xe4""\xba""\xac"" \xd0""\xbf""\xd1""\x80""\xd0""\xb8""\xd0""\xb2""\xd0""\xb5""\xd1""\x82"" \xd0""\xbc""\xd0""\xb8""\xd1""\x80"" financ 12 2 \xd9""\xa1""\xd9""\xa2""\xd9""\xa3"" naivete facad",
     {0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17}, 18},
    {"foo_bar foo-bar e-mail 3.14 x86_64 C++ user@example.com \xe2""\x91""\xa0""\xe2""\x91""\xa1"" \xe2""\x85""\xab""",
     "foo bar foo bar e mail 3 14 x86 64 c user exampl com 12 xii",
     {0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15}, 16},
    {"ourselves themselves yourself doesn't hadn't mightn't isn't wasn't shan't needn't",
     "ourselv themselv",
     {0,1}, 2},
    {"the the the",
     "",
     {0}, 0},
    {"Running runs ran runner easily fairly generously generations",
     "run run ran runner easili fair generous generat",
     {0,1,2,3,4,5,6,7}, 8},
    {"cafe\xcc""\x81"" \xe0""\xa4""\xb9""\xe0""\xa4""\xbf""\xe0""\xa4""\xa8""\xe0""\xa5""\x8d""\xe0""\xa4""\xa6""\xe0""\xa5""\x80"" \xc3""\xb0""\xc3""\xb3""rr \xc3""\xbe""ing \xc5""\x81""\xc3""\xb3""d\xc5""\xba"" \xc4""\x90""or\xc4""\x91""e \xc4""\xb3""ssel \xc3""\x98""rsted \xc3""\xa6""ble",
     "cafe \xe0""\xa4""\xb9""\xe0""\xa4""\xbf""\xe0""\xa4""\xa8"" \xe0""\xa4""\xa6""\xe0""\xa5""\x80"" dorr thing lodz dord ijssel orsted aeble",
     {0,1,2,3,4,5,6,7,8,9}, 10},
    {"BEING Was WERE been has HAD having Does did DOING",
     "doe",
     {0}, 1},
    {"th\xc3""\xa9"" \xc3""\xbc""ber fianc\xc3""\xa9""e \xc3""\xb1""and\xc3""\xba"" \xef""\xac""\x80"" \xc7""\x86"" \xc5""\x89"" \xc5""\xbf"" \xc3""\x9f""",
     "the uber fiance nandu ff dz n s ss",
     {0,1,2,3,4,5,6,7,8}, 9},
    {"  leading and trailing   ",
     "lead trail",
     {0,2}, 2},
    {"",
     "",
     {0}, 0},
    {"AbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAb\xc4""\x86"" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc4""\x84""",
     "",
     {0}, 0},
    {"an apple a day, once upon a time: then there were few more such only own same so than too very",
     "appl day onc upon time onli veri",
     {0,2,3,4,6,13,19}, 7},
};

static void join_tokens(char *out, size_t cap, const mw_fts_tokens *t) {
  size_t o = 0;
  out[0] = 0;
  for (size_t i = 0; i < t->n && o + t->v[i].len + 2 < cap; i++) {
    if (i) out[o++] = ' ';
    memcpy(out + o, t->text + t->v[i].offset, t->v[i].len);
    o += t->v[i].len;
    out[o] = 0;
  }
}

static void test_lancedb_tokens(void) {
  mw_fts_tokenizer *tk = NULL;
  CHECK_OK(mw_fts_tokenizer_create(&tk, NULL), NULL);
  mw_fts_tokens t = {0}; /* one buffer reused for every line */
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    CHECK_OK(mw_fts_tokenize(&t, tk, cases[c].text, strlen(cases[c].text), NULL), NULL);
    char got[4096];
    join_tokens(got, sizeof(got), &t);
    CHECK_STR(got, cases[c].tokens);
    CHECK_INT(t.n, cases[c].n);
    for (size_t i = 0; i < t.n && i < cases[c].n; i++) CHECK_INT(t.v[i].position, cases[c].positions[i]);
  }
  mw_fts_tokens_free(&t);
  mw_fts_tokenizer_free(tk);
}

static void test_stop_words(void) {
  /* NLTK English: in the list */
  const char *in[] = {"a", "about", "should", "s", "t", "don", "mightn", "you", "whom", "yourselves", "ain"};
  for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) CHECK(mw_fts_is_stop_word(in[i], strlen(in[i])));
  /* not in the list (LSM.md section 7), and stems of listed words */
  const char *out[] = {"also", "across", "whose", "would", "could", "abov", "veri", "yourselv", "doe", "", "zz", "ab"};
  for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) CHECK(!mw_fts_is_stop_word(out[i], strlen(out[i])));
  /* a prefix of a stop word is not one */
  CHECK(!mw_fts_is_stop_word("abou", 4));
  CHECK(mw_fts_is_stop_word("about!", 5));
}

static void test_edge_inputs(void) {
  mw_fts_tokenizer *tk = NULL;
  CHECK_OK(mw_fts_tokenizer_create(&tk, NULL), NULL);
  mw_fts_tokens t = {0};
  /* invalid UTF-8 separates like punctuation */
  const char bad[] = "caf\xc3 x\xff" "ata \xe2\x82 end";
  CHECK_OK(mw_fts_tokenize(&t, tk, bad, sizeof(bad) - 1, NULL), NULL);
  char got[256];
  join_tokens(got, sizeof(got), &t);
  CHECK_STR(got, "caf x ata end");
  /* exactly 39 bytes kept, 40 dropped (but counted in positions) */
  char buf[128];
  memset(buf, 'k', 39);
  buf[39] = ' ';
  memset(buf + 40, 'm', 40);
  memcpy(buf + 80, " zebra", 6);
  CHECK_OK(mw_fts_tokenize(&t, tk, buf, 86, NULL), NULL);
  CHECK_INT(t.n, 2);
  CHECK_INT(t.v[0].len, 39);
  CHECK_INT(t.v[1].position, 2);
  /* a NUL byte inside the text is a separator, the length is honoured */
  CHECK_OK(mw_fts_tokenize(&t, tk, "red\0blue", 8, NULL), NULL);
  join_tokens(got, sizeof(got), &t);
  CHECK_STR(got, "red blue");
  mw_fts_tokens_free(&t);
  mw_fts_tokenizer_free(tk);
}

int main(void) {
  MW_RUN(test_lancedb_tokens);
  MW_RUN(test_stop_words);
  MW_RUN(test_edge_inputs);
  return mw_test_finish();
}
