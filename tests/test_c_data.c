/* test_c_data.c - Arrow format strings <-> mw_type (round trips, names,
 * errors), buffer counts, array/batch validation errors naming the column,
 * and byte sizes of logical slices. */
#include "mw_test.h"

#include "arrow/c_data.h"
#include "arrow_test_util.h"

static mw_error g_err;
static mw_error *errp = &g_err; /* CHECK_OK wants a pointer expression */

static void test_format_round_trip(void) {
  static const struct { const char *fmt, *name, *back; int nbuf, bits; } cases[] = {
      {"n", "null", NULL, 0, 0},
      {"b", "bool", NULL, 2, 1},
      {"c", "int8", NULL, 2, 8},
      {"C", "uint8", NULL, 2, 8},
      {"s", "int16", NULL, 2, 16},
      {"S", "uint16", NULL, 2, 16},
      {"i", "int32", NULL, 2, 32},
      {"I", "uint32", NULL, 2, 32},
      {"l", "int64", NULL, 2, 64},
      {"L", "uint64", NULL, 2, 64},
      {"e", "float16", NULL, 2, 16},
      {"f", "float32", NULL, 2, 32},
      {"g", "float64", NULL, 2, 64},
      {"z", "binary", NULL, 3, 0},
      {"Z", "large_binary", NULL, 3, 0},
      {"u", "utf8", NULL, 3, 0},
      {"U", "large_utf8", NULL, 3, 0},
      {"w:16", "fixed_size_binary[16]", NULL, 2, 128},
      {"d:10,2", "decimal128(10, 2)", NULL, 2, 128},
      {"d:38,-4,128", "decimal128(38, -4)", "d:38,-4", 2, 128},
      {"tdD", "date32", NULL, 2, 32},
      {"tdm", "date64", NULL, 2, 64},
      {"tts", "time32[s]", NULL, 2, 32},
      {"ttm", "time32[ms]", NULL, 2, 32},
      {"ttu", "time64[us]", NULL, 2, 64},
      {"ttn", "time64[ns]", NULL, 2, 64},
      {"tss:", "timestamp[s]", NULL, 2, 64},
      {"tsm:Europe/Paris", "timestamp[ms, Europe/Paris]", NULL, 2, 64},
      {"tsu:UTC", "timestamp[us, UTC]", NULL, 2, 64},
      {"tsn:", "timestamp[ns]", NULL, 2, 64},
      {"tDs", "duration[s]", NULL, 2, 64},
      {"tDm", "duration[ms]", NULL, 2, 64},
      {"tDu", "duration[us]", NULL, 2, 64},
      {"tDn", "duration[ns]", NULL, 2, 64},
      {"+l", "list", NULL, 2, 0},
      {"+L", "large_list", NULL, 2, 0},
      {"+w:512", "fixed_size_list[512]", NULL, 1, 0},
      {"+s", "struct", NULL, 1, 0},
      {"+m", "map", NULL, 2, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mw_type t;
    CHECK_OK(mw_type_from_format(&t, cases[i].fmt, errp), errp);
    char buf[96];
    mw_type_to_format(buf, sizeof buf, &t);
    CHECK_STR(buf, cases[i].back ? cases[i].back : cases[i].fmt);
    mw_type_name(buf, sizeof buf, &t);
    CHECK_STR(buf, cases[i].name);
    CHECK_INT(mw_type_n_buffers(&t), cases[i].nbuf);
    CHECK_INT(mw_type_fixed_bits(&t), cases[i].bits);
  }
  mw_type t;
  CHECK_OK(mw_type_from_format(&t, "tsu:America/New_York", errp), errp);
  CHECK_INT(t.id, MW_T_TIMESTAMP);
  CHECK_INT(t.unit, MW_MICRO);
  CHECK_STR(t.tz, "America/New_York");
  CHECK_OK(mw_type_from_format(&t, "d:5,3", errp), errp);
  CHECK_INT(t.id, MW_T_DECIMAL128);
  CHECK_INT(t.width, 5);
  CHECK_INT(t.scale, 3);
  CHECK_OK(mw_type_from_format(&t, "+w:3", errp), errp);
  CHECK_INT(t.id, MW_T_FIXED_SIZE_LIST);
  CHECK_INT(t.width, 3);
}

static void test_format_errors(void) {
  static const char *unsupported[] = {"vu", "vz", "+vl", "+vL", "+ud:0,1", "+us:0", "+r",
                                      "tiM", "tiD", "tin", "d:10,2,256", "d:5,1,64", "d:5,1,32"};
  for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
    mw_type t;
    mw_error err = {0};
    CHECK_INT(mw_type_from_format(&t, unsupported[i], &err), MW_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, unsupported[i]) != NULL);
  }
  static const char *invalid[] = {"", "x", "ii", "w:", "w:abc", "w:4x", "w:-1", "d:10", "d:10,",
                                  "d:0,0", "d:39,0", "d:10,2,", "d:10,2,99", "td", "tdx", "tt",
                                  "ttx", "tts2", "tsu", "tsuUTC", "tsx:", "tD", "tDx", "+", "+x",
                                  "+w", "+w:", "+w:2:", "+ll", "+v", "vx", "w:99999999999"};
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    mw_type t;
    mw_error err = {0};
    mw_status st = mw_type_from_format(&t, invalid[i], &err);
    if (st != MW_ERR_INVALID) fprintf(stderr, "  format '%s' gave %d\n", invalid[i], st);
    CHECK_INT(st, MW_ERR_INVALID);
  }
  mw_type t;
  CHECK_INT(mw_type_from_format(&t, NULL, NULL), MW_ERR_INVALID);
  char tz[100];
  memset(tz, 'A', sizeof tz);
  memcpy(tz, "tsu:", 4);
  tz[99] = '\0';
  CHECK_INT(mw_type_from_format(&t, tz, NULL), MW_ERR_UNSUPPORTED);
}

/* Validates batch/schema and expects failure `code` with `needle` in the message. */
static void expect_invalid(const struct ArrowSchema *s, const struct ArrowArray *b, mw_status code,
                           const char *needle) {
  mw_error err = {0};
  CHECK_INT(mw_batch_validate(s, b, &err), code);
  if (!strstr(err.message, needle)) {
    fprintf(stderr, "  message '%s' lacks '%s'\n", err.message, needle);
    CHECK(strstr(err.message, needle) != NULL);
  }
}

static void test_validate_primitives(void) {
  static const int64_t v[4] = {1, 2, 3, 4};
  static const uint8_t valid[1] = {0x0B};
  tsch root, id;
  sch_init(&root, "+s", "", 0);
  sch_init(&id, "l", "id", ARROW_FLAG_NULLABLE);
  sch_add(&root, &id);
  tarr b, c;
  arr_init(&c, 4, 1, 0, 2, valid, v, NULL);
  arr_init(&b, 4, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&b, &c);
  CHECK_OK(mw_batch_validate(&root.s, &b.a, errp), errp);
  CHECK_OK(mw_array_validate(&id.s, &c.a, "id", errp), errp);

  c.a.release = NULL;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': array is released");
  c.a.release = arr_noop_release;
  c.a.n_buffers = 3;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': int64 array has 3 buffers, expected 2");
  c.a.n_buffers = 2;
  c.a.length = -1;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': negative length");
  c.a.length = 4;
  c.a.offset = -2;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': negative offset");
  c.a.offset = 0;
  c.a.null_count = 5;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': null_count 5 outside [-1, 4]");
  c.a.null_count = -2;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': null_count -2");
  c.a.null_count = 1;
  c.bufs[0] = NULL;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': validity buffer is NULL but null_count is 1");
  c.a.null_count = -1; /* no bitmap + unknown count = no nulls: fine */
  CHECK_OK(mw_batch_validate(&root.s, &b.a, errp), errp);
  c.a.null_count = 0;
  c.bufs[1] = NULL;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': values buffer is NULL");
  c.a.length = 0; /* empty arrays need no buffers */
  b.a.length = 0;
  CHECK_OK(mw_batch_validate(&root.s, &b.a, errp), errp);
  c.bufs[1] = v;
  c.a.length = 3;
  b.a.length = 4;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': length 3 is shorter than the batch (4 rows)");
  c.a.length = 2;
  b.a.length = 2;
  b.a.offset = 1;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': length 2 is shorter than the batch (3 rows)");
  b.a.offset = 0;
  /* batch-level checks */
  b.a.null_count = 1;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "top-level null_count must be 0");
  b.a.null_count = 0;
  b.a.n_children = 0;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "batch has 0 columns, schema has 1");
  b.a.n_children = 1;
  b.a.release = NULL;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "released");
  b.a.release = arr_noop_release;
  expect_invalid(&id.s, &b.a, MW_ERR_INVALID, "must be a struct");
  /* bad format names the column */
  id.s.format = "q";
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'id': malformed Arrow format string 'q'");
  id.s.format = "+vl";
  expect_invalid(&root.s, &b.a, MW_ERR_UNSUPPORTED, "column 'id'");
}

static void test_validate_var_width(void) {
  static int32_t off[5] = {0, 2, 2, 5, 9};
  static const char data[] = "aabbbcccc";
  tsch root, t;
  sch_init(&root, "+s", "", 0);
  sch_init(&t, "u", "text", 0);
  sch_add(&root, &t);
  tarr b, c;
  arr_init(&c, 4, 0, 0, 3, NULL, off, data);
  arr_init(&b, 4, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&b, &c);
  CHECK_OK(mw_batch_validate(&root.s, &b.a, errp), errp);
  off[2] = 1;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID,
                 "column 'text': offsets not monotonic at index 2 (1 after 2)");
  off[2] = 2;
  /* the slice [2, 4) only reads offsets 2..4: a bad offset 0 is outside */
  off[0] = 7;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'text': offsets not monotonic at index 1");
  c.a.offset = 2;
  c.a.length = 2;
  b.a.length = 2;
  CHECK_OK(mw_batch_validate(&root.s, &b.a, errp), errp);
  off[0] = 0;
  off[2] = -1;
  off[1] = -3;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'text': first offset -1 is negative");
  off[1] = 2;
  off[2] = 2;
  c.bufs[1] = NULL;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'text': offsets buffer is NULL");
  c.bufs[1] = off;
  c.bufs[2] = NULL;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'text': data buffer is NULL but 7 bytes");
}

static void test_validate_nested(void) {
  static const float f[8] = {0};
  static const int32_t loff[4] = {0, 1, 3, 6};
  static const int32_t i32[6] = {0};
  tsch root, vec, item, lst, litem, st, sa, mp, ent, k, v;
  sch_init(&root, "+s", "", 0);
  sch_init(&vec, "+w:2", "vector", 0);
  sch_init(&item, "f", "item", 0);
  sch_add(&vec, &item);
  sch_init(&lst, "+l", "lst", 0);
  sch_init(&litem, "i", "item", 0);
  sch_add(&lst, &litem);
  sch_init(&st, "+s", "st", 0);
  sch_init(&sa, "i", "a", 0);
  sch_add(&st, &sa);
  sch_init(&mp, "+m", "mp", 0);
  sch_init(&ent, "+s", "entries", 0);
  sch_init(&k, "i", "key", 0);
  sch_init(&v, "i", "value", 0);
  sch_add(&ent, &k);
  sch_add(&ent, &v);
  sch_add(&mp, &ent);
  sch_add(&root, &vec);
  sch_add(&root, &lst);
  sch_add(&root, &st);
  sch_add(&root, &mp);
  tarr b, av, ai, al, ali, as, asa, am, ae, ak, avv;
  arr_init(&ai, 8, 0, 0, 2, NULL, f, NULL);
  arr_init(&av, 3, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&av, &ai);
  arr_init(&ali, 6, 0, 0, 2, NULL, i32, NULL);
  arr_init(&al, 3, 0, 0, 2, NULL, loff, NULL);
  arr_add(&al, &ali);
  arr_init(&asa, 3, 0, 0, 2, NULL, i32, NULL);
  arr_init(&as, 3, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&as, &asa);
  arr_init(&ak, 6, 0, 0, 2, NULL, i32, NULL);
  arr_init(&avv, 6, 0, 0, 2, NULL, i32, NULL);
  arr_init(&ae, 6, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&ae, &ak);
  arr_add(&ae, &avv);
  arr_init(&am, 3, 0, 0, 2, NULL, loff, NULL);
  arr_add(&am, &ae);
  arr_init(&b, 3, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&b, &av);
  arr_add(&b, &al);
  arr_add(&b, &as);
  arr_add(&b, &am);
  CHECK_OK(mw_batch_validate(&root.s, &b.a, errp), errp);

  ai.a.length = 5; /* needs 3 x 2 = 6 */
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'vector.item': child length 5 is shorter than the 6");
  ai.a.length = 8;
  av.a.offset = 1; /* needs (1 + 3) x 2 = 8: ok */
  CHECK_OK(mw_batch_validate(&root.s, &b.a, errp), errp);
  av.a.offset = 2;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'vector.item': child length 8 is shorter than the 10");
  av.a.offset = 0;
  av.a.n_children = 0;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'vector': fixed_size_list[2] array has 0 children, expected 1");
  av.a.n_children = 1;
  av.a.n_buffers = 2;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'vector': fixed_size_list[2] array has 2 buffers, expected 1");
  av.a.n_buffers = 1;

  ali.a.length = 5;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'lst.item': child length 5 is shorter than the 6");
  ali.a.length = 6;
  ali.a.n_buffers = 1;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'lst.item': int32 array has 1 buffers");
  ali.a.n_buffers = 2;

  asa.a.length = 2;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'st.a': child length 2 is shorter than the 3");
  as.a.offset = 1; /* struct children inherit the offset: need 4 */
  asa.a.length = 4;
  CHECK_OK(mw_batch_validate(&root.s, &b.a, errp), errp);
  asa.a.length = 3;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'st.a': child length 3 is shorter than the 4");
  as.a.offset = 0;

  avv.a.length = 4;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'mp.entries.value': child length 4 is shorter than the 6");
  avv.a.length = 6;
  ent.s.n_children = 1;
  ae.a.n_children = 1;
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'mp': map child must be a struct of 2 children");
  ent.s.n_children = 2;
  ae.a.n_children = 2;
  ent.s.format = "i";
  expect_invalid(&root.s, &b.a, MW_ERR_INVALID, "column 'mp'");
  ent.s.format = "+s";
  CHECK_OK(mw_batch_validate(&root.s, &b.a, errp), errp);

  /* dictionaries are unsupported and named */
  tsch dict;
  sch_init(&dict, "u", NULL, 0);
  sa.s.dictionary = &dict.s;
  expect_invalid(&root.s, &b.a, MW_ERR_UNSUPPORTED, "column 'st.a': dictionary");
  sa.s.dictionary = NULL;
}

static void test_byte_size(void) {
  static const int64_t v[10] = {0};
  static const uint8_t valid[2] = {0xFF, 0x03};
  static const int32_t off[5] = {0, 2, 2, 5, 9};
  static const char data[] = "aabbbcccc";
  static const uint8_t bits[2] = {0};
  tsch s64, su, sb, sf, sfi, sl, sli, st;
  sch_init(&s64, "l", "x", 0);
  tarr a;
  arr_init(&a, 10, 0, 0, 2, NULL, v, NULL);
  CHECK_INT(mw_array_byte_size(&s64.s, &a.a), 80);
  arr_init(&a, 10, 1, 0, 2, valid, v, NULL);
  CHECK_INT(mw_array_byte_size(&s64.s, &a.a), 82);
  arr_init(&a, 3, 1, 7, 2, valid, v, NULL);
  CHECK_INT(mw_array_byte_size(&s64.s, &a.a), 25);
  sch_init(&sb, "b", "flag", 0);
  arr_init(&a, 10, 0, 0, 2, NULL, bits, NULL);
  CHECK_INT(mw_array_byte_size(&sb.s, &a.a), 2);
  sch_init(&su, "u", "t", 0);
  arr_init(&a, 4, 0, 0, 3, NULL, off, data);
  CHECK_INT(mw_array_byte_size(&su.s, &a.a), 5 * 4 + 9);
  arr_init(&a, 2, 0, 1, 3, NULL, off, data); /* ["", "bbb"] */
  CHECK_INT(mw_array_byte_size(&su.s, &a.a), 3 * 4 + 3);
  /* fixed_size_list<float32>[4], 2 lists from offset 1 */
  sch_init(&sf, "+w:4", "vec", 0);
  sch_init(&sfi, "f", "item", 0);
  sch_add(&sf, &sfi);
  tarr l, c;
  arr_init(&c, 12, 0, 0, 2, NULL, v, NULL);
  arr_init(&l, 2, 0, 1, 1, NULL, NULL, NULL);
  arr_add(&l, &c);
  CHECK_INT(mw_array_byte_size(&sf.s, &l.a), 32);
  /* list<int64> slice [1, 3) = child rows [2, 5) */
  sch_init(&sl, "+l", "lst", 0);
  sch_init(&sli, "l", "item", 0);
  sch_add(&sl, &sli);
  arr_init(&c, 9, 0, 0, 2, NULL, v, NULL);
  arr_init(&l, 2, 0, 1, 2, NULL, off, NULL);
  arr_add(&l, &c);
  CHECK_INT(mw_array_byte_size(&sl.s, &l.a), 3 * 4 + 3 * 8);
  /* struct{x: int64, t: utf8}, rows [1, 3) */
  sch_init(&st, "+s", "", 0);
  sch_add(&st, &s64);
  sch_add(&st, &su);
  tarr sa, x, t;
  arr_init(&x, 4, 0, 0, 2, NULL, v, NULL);
  arr_init(&t, 4, 0, 0, 3, NULL, off, data);
  arr_init(&sa, 2, 0, 1, 1, NULL, NULL, NULL);
  arr_add(&sa, &x);
  arr_add(&sa, &t);
  CHECK_INT(mw_array_byte_size(&st.s, &sa.a), 16 + 12 + 3);
  /* null type: no buffers */
  tsch sn;
  sch_init(&sn, "n", "nothing", 0);
  arr_init(&a, 5, 5, 0, 0, NULL, NULL, NULL);
  CHECK_INT(mw_array_byte_size(&sn.s, &a.a), 0);
}

int main(void) {
  MW_RUN(test_format_round_trip);
  MW_RUN(test_format_errors);
  MW_RUN(test_validate_primitives);
  MW_RUN(test_validate_var_width);
  MW_RUN(test_validate_nested);
  MW_RUN(test_byte_size);
  return mw_test_finish();
}
