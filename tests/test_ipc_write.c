/* test_ipc_write.c - the Arrow IPC stream encoder: FORMATS.md's byte-exact
 * worked example, sliced arrays of every kind encode to the same bytes as
 * the equivalent unsliced arrays, validation errors name the column,
 * dictionaries are rejected, zero batches, zero-row batches, metadata. */
#include "mw_test.h"

#include "arrow/c_data.h"
#include "arrow_test_util.h"
#include "common/buf.h"

static mw_error g_err;
static mw_error *errp = &g_err; /* CHECK_OK wants a pointer expression */

/* ---- a tiny flatbuffer reader for checking what was written */

static uint32_t rd32(const uint8_t *p) { return mw_load_u32le(p); }

/* Absolute position of field `slot` of the table at `tab`, 0 if absent. */
static uint32_t fb_field(const uint8_t *fb, uint32_t tab, int slot) {
  uint32_t vt = tab - (uint32_t)(int32_t)rd32(fb + tab);
  uint16_t vt_size = mw_load_u16le(fb + vt);
  if (4 + 2 * (uint32_t)slot >= vt_size) return 0;
  uint16_t off = mw_load_u16le(fb + vt + 4 + 2 * slot);
  return off ? tab + off : 0;
}
/* Target of the reference field `slot`, 0 if absent. */
static uint32_t fb_ref(const uint8_t *fb, uint32_t tab, int slot) {
  uint32_t f = fb_field(fb, tab, slot);
  return f ? f + rd32(fb + f) : 0;
}
static int64_t fb_i64(const uint8_t *fb, uint32_t tab, int slot) {
  uint32_t f = fb_field(fb, tab, slot);
  return f ? (int64_t)mw_load_u64le(fb + f) : 0;
}
static int fb_u8(const uint8_t *fb, uint32_t tab, int slot) {
  uint32_t f = fb_field(fb, tab, slot);
  return f ? fb[f] : 0;
}
static int fb_i16(const uint8_t *fb, uint32_t tab, int slot) {
  uint32_t f = fb_field(fb, tab, slot);
  return f ? (int16_t)mw_load_u16le(fb + f) : 0;
}
static int fb_i32(const uint8_t *fb, uint32_t tab, int slot) {
  uint32_t f = fb_field(fb, tab, slot);
  return f ? (int32_t)rd32(fb + f) : 0;
}
/* Copies the string at pos into out. */
static const char *fb_str(const uint8_t *fb, uint32_t pos, char *out, size_t cap) {
  uint32_t n = rd32(fb + pos);
  if (n >= cap) n = (uint32_t)cap - 1;
  memcpy(out, fb + pos + 4, n);
  out[n] = '\0';
  return out;
}

/* One framed message of a stream. */
typedef struct msg {
  const uint8_t *fb; /* flatbuffer */
  uint32_t meta_len;
  uint32_t root;     /* Message table */
  const uint8_t *body;
  int64_t body_len;
} msg;

/* Splits a stream into messages; returns the count (-1 on bad framing). */
static int split_stream(const uint8_t *d, size_t n, msg *out, int max) {
  size_t pos = 0;
  int k = 0;
  while (pos + 8 <= n) {
    if (rd32(d + pos) != 0xFFFFFFFFu) return -1;
    uint32_t ml = rd32(d + pos + 4);
    if (ml == 0) return pos + 8 == n ? k : -1; /* EOS must be last */
    if (k == max || (8 + ml) % 8 != 0) return -1;
    msg *m = &out[k++];
    m->fb = d + pos + 8;
    m->meta_len = ml;
    m->root = rd32(m->fb);
    m->body_len = fb_i64(m->fb, m->root, 3);
    m->body = m->fb + ml;
    pos += 8 + ml + (size_t)m->body_len;
  }
  return -1;
}

static void test_worked_example_schema(void) {
  tsch root, x;
  sch_init(&root, "+s", "", 0);
  sch_init(&x, "i", "x", ARROW_FLAG_NULLABLE);
  sch_add(&root, &x);
  static const uint8_t expect[128] = {
      0xff, 0xff, 0xff, 0xff, 0x78, 0x00, 0x00, 0x00,
      /* 00 */ 0x10, 0x00, 0x00, 0x00,
      /* 04 */ 0x0a, 0x00, 0x0c, 0x00, 0x08, 0x00, 0x0a, 0x00, 0x04, 0x00,
      /* 0e */ 0x00, 0x00,
      /* 10 */ 0x0c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
      /* 18 */ 0x04, 0x00, 0x01, 0x00,
      /* 1c */ 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00,
      /* 24 */ 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
      /* 2c */ 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
      /* 34 */ 0x10, 0x00, 0x14, 0x00, 0x04, 0x00, 0x10, 0x00, 0x11, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0c, 0x00,
      /* 44 */ 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
      /* 54 */ 0x01, 0x02, 0x00, 0x00,
      /* 58 */ 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x00,
      /* 60 */ 0x00, 0x00, 0x00, 0x00,
      /* 64 */ 0x08, 0x00, 0x0c, 0x00, 0x04, 0x00, 0x08, 0x00,
      /* 6c */ 0x08, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
  void *out = NULL;
  size_t len = 0;
    /* zero batches: schema message + EOS */
  CHECK_OK(mw_ipc_encode(&out, &len, &root.s, NULL, 0, NULL, errp), errp);
  CHECK_INT(len, 136);
  if (len == 136) {
    const uint8_t *p = out;
    for (int i = 0; i < 128; i++) {
      if (p[i] != expect[i]) {
        fprintf(stderr, "byte 0x%02x (message offset 0x%02x): got %02x expected %02x\n", i, i - 8,
                p[i], expect[i]);
        CHECK(p[i] == expect[i]);
        break;
      }
    }
    static const uint8_t eos[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    CHECK(memcmp(p + 128, eos, 8) == 0);
  }
  mw_free(out);
}

static void test_worked_example_batch(void) {
  tsch root, x;
  sch_init(&root, "+s", "", 0);
  sch_init(&x, "i", "x", ARROW_FLAG_NULLABLE);
  sch_add(&root, &x);
  static const uint8_t valid[1] = {0x05};
  static const int32_t vals[3] = {1, 0, 3};
  tarr b, c;
  arr_init(&c, 3, 1, 0, 2, valid, vals, NULL);
  arr_init(&b, 3, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&b, &c);
  const struct ArrowArray *batches[1] = {&b.a};
  void *out = NULL;
  size_t len = 0;
    CHECK_OK(mw_ipc_encode(&out, &len, &root.s, batches, 1, NULL, errp), errp);
  msg m[4];
  int n = split_stream(out, len, m, 4);
  CHECK_INT(n, 2);
  if (n == 2) {
    CHECK(memcmp(out, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x78}, 5) == 0);
    const uint8_t *fb = m[1].fb;
    CHECK_INT(fb_i16(fb, m[1].root, 0), 4);  /* V5 */
    CHECK_INT(fb_u8(fb, m[1].root, 1), 3);   /* RecordBatch */
    CHECK_INT(m[1].body_len, 24);
    uint32_t rb = fb_ref(fb, m[1].root, 2);
    CHECK_INT(fb_i64(fb, rb, 0), 3);
    uint32_t nodes = fb_ref(fb, rb, 1), bufs = fb_ref(fb, rb, 2);
    CHECK_INT(rd32(fb + nodes), 1);
    CHECK_INT((nodes + 4) % 8, 0); /* 16-byte structs start 8-aligned */
    CHECK_INT(mw_load_u64le(fb + nodes + 4), 3);
    CHECK_INT(mw_load_u64le(fb + nodes + 12), 1);
    CHECK_INT(rd32(fb + bufs), 2);
    CHECK_INT((bufs + 4) % 8, 0);
    static const int64_t eb[4] = {0, 1, 8, 12};
    for (int i = 0; i < 4; i++) CHECK_INT(mw_load_u64le(fb + bufs + 4 + 8 * i), eb[i]);
    static const uint8_t body[24] = {5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                                     3, 0, 0, 0, 0, 0, 0, 0};
    CHECK(memcmp(m[1].body, body, 24) == 0);
    CHECK_INT((size_t)(m[1].body + 24 - (const uint8_t *)out) + 8, len);
  }
  mw_free(out);
}

/* Encodes both one-batch streams and checks they are byte-identical. */
static void check_same(const struct ArrowSchema *schema, const struct ArrowArray *sliced,
                       const struct ArrowArray *plain, const char *what) {
  void *o1 = NULL, *o2 = NULL;
  size_t n1 = 0, n2 = 0;
    CHECK_OK(mw_ipc_encode(&o1, &n1, schema, &sliced, 1, NULL, errp), errp);
  CHECK_OK(mw_ipc_encode(&o2, &n2, schema, &plain, 1, NULL, errp), errp);
  bool same = o1 && o2 && n1 == n2 && memcmp(o1, o2, n1) == 0;
  if (!same) fprintf(stderr, "  sliced != plain for %s (%zu vs %zu bytes)\n", what, n1, n2);
  CHECK(same);
  mw_free(o1);
  mw_free(o2);
}

static void test_sliced_primitives(void) {
  /* int32 with nulls at 2, 5, 9; bool values; slice rows [3, 10) */
  static const int32_t big[12] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
  static const uint8_t big_valid[2] = {0xDB, 0x0D};
  static const uint8_t big_bool[2] = {0x4D, 0x07};
  static const int32_t small[7] = {40, 50, 60, 70, 80, 90, 100};
  static const uint8_t small_valid[1] = {0x3B};
  static const uint8_t small_bool[1] = {0x69};
  tsch root, si, sb;
  sch_init(&root, "+s", "", 0);
  sch_init(&si, "i", "n", ARROW_FLAG_NULLABLE);
  sch_init(&sb, "b", "flag", 0);
  sch_add(&root, &si);
  sch_add(&root, &sb);
  for (int nc = 0; nc < 2; nc++) { /* null_count unknown (-1) and given (2) */
    tarr b1, i1, f1, b2, i2, f2;
    arr_init(&i1, 7, nc ? 2 : -1, 3, 2, big_valid, big, NULL);
    arr_init(&f1, 7, 0, 3, 2, NULL, big_bool, NULL);
    arr_init(&b1, 7, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b1, &i1);
    arr_add(&b1, &f1);
    arr_init(&i2, 7, 2, 0, 2, small_valid, small, NULL);
    arr_init(&f2, 7, 0, 0, 2, NULL, small_bool, NULL);
    arr_init(&b2, 7, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b2, &i2);
    arr_add(&b2, &f2);
    check_same(&root.s, &b1.a, &b2.a, "int32+bool column offset");
    /* same slice through the batch offset instead of the column offsets */
    i1.a.offset = 0;
    i1.a.length = 12;
    i1.a.null_count = nc ? 3 : -1;
    f1.a.offset = 0;
    f1.a.length = 12;
    b1.a.offset = 3;
    check_same(&root.s, &b1.a, &b2.a, "int32+bool batch offset");
  }
  /* rows [6, 9) hold no nulls: the validity buffer must be dropped */
  {
    static const int32_t v3[3] = {70, 80, 90};
    tarr b1, i1, f1, b2, i2, f2;
    arr_init(&i1, 3, -1, 6, 2, big_valid, big, NULL);
    arr_init(&f1, 3, 0, 6, 2, NULL, big_bool, NULL);
    arr_init(&b1, 3, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b1, &i1);
    arr_add(&b1, &f1);
    arr_init(&i2, 3, 0, 0, 2, NULL, v3, NULL);
    static const uint8_t b3[1] = {0x05}; /* bits 6,7,8 of big_bool: 1,0,1 */
    arr_init(&f2, 3, 0, 0, 2, NULL, b3, NULL);
    arr_init(&b2, 3, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b2, &i2);
    arr_add(&b2, &f2);
    check_same(&root.s, &b1.a, &b2.a, "slice without nulls");
  }
}

static void test_sliced_var_width(void) {
  /* ["a","bb","","ccc","dddd","e"], slice [2, 5) = ["", "ccc", "dddd"] */
  static const int32_t off32[7] = {0, 1, 3, 3, 6, 10, 11};
  static const int64_t off64[7] = {0, 1, 3, 3, 6, 10, 11};
  static const char data[] = "abbcccdddde";
  static const int32_t s_off32[4] = {0, 0, 3, 7};
  static const int64_t s_off64[4] = {0, 0, 3, 7};
  static const char s_data[] = "cccdddd";
  static const uint8_t valid[1] = {0x3B}; /* row 2 null ("" at index 2 is null) */
  static const uint8_t s_valid[1] = {0x06}; /* rows 2,3,4 -> 0,1,1 */
  const char *fmts[3] = {"u", "U", "z"};
  for (int k = 0; k < 3; k++) {
    bool large = k == 1;
    tsch root, s;
    sch_init(&root, "+s", "", 0);
    sch_init(&s, fmts[k], "text", ARROW_FLAG_NULLABLE);
    sch_add(&root, &s);
    tarr b1, c1, b2, c2;
    arr_init(&c1, 3, -1, 2, 3, valid, large ? (const void *)off64 : (const void *)off32, data);
    arr_init(&b1, 3, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b1, &c1);
    arr_init(&c2, 3, 1, 0, 3, s_valid, large ? (const void *)s_off64 : (const void *)s_off32, s_data);
    arr_init(&b2, 3, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b2, &c2);
    check_same(&root.s, &b1.a, &b2.a, fmts[k]);
  }
}

static void test_sliced_lists(void) {
  /* lists [[1,2],[],[3,4,5],[6,7,8,9],[10]]; slice [1, 4) = [[],[3,4,5],[6,7,8,9]] */
  static const int32_t child[11] = {99, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; /* child offset 1 */
  static const int32_t off32[6] = {0, 2, 2, 5, 9, 10};
  static const int64_t off64[6] = {0, 2, 2, 5, 9, 10};
  static const int32_t s_child[7] = {3, 4, 5, 6, 7, 8, 9};
  static const int32_t s_off32[4] = {0, 0, 3, 7};
  static const int64_t s_off64[4] = {0, 0, 3, 7};
  for (int k = 0; k < 2; k++) {
    bool large = k == 1;
    tsch root, l, item;
    sch_init(&root, "+s", "", 0);
    sch_init(&l, large ? "+L" : "+l", "lst", ARROW_FLAG_NULLABLE);
    sch_init(&item, "i", "item", ARROW_FLAG_NULLABLE);
    sch_add(&l, &item);
    sch_add(&root, &l);
    tarr b1, l1, c1, b2, l2, c2;
    arr_init(&c1, 10, 0, 1, 2, NULL, child, NULL);
    arr_init(&l1, 3, 0, 1, 2, NULL, large ? (const void *)off64 : (const void *)off32, NULL);
    arr_add(&l1, &c1);
    arr_init(&b1, 3, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b1, &l1);
    arr_init(&c2, 7, 0, 0, 2, NULL, s_child, NULL);
    arr_init(&l2, 3, 0, 0, 2, NULL, large ? (const void *)s_off64 : (const void *)s_off32, NULL);
    arr_add(&l2, &c2);
    arr_init(&b2, 3, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b2, &l2);
    check_same(&root.s, &b1.a, &b2.a, large ? "large_list" : "list");
  }
  /* fixed_size_list<float32>[2]: 6 lists over child [x, 0..11] (child offset 1),
   * slice [2, 5) = child [4..9] */
  {
    static const float fc[13] = {-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    static const float s_fc[6] = {4, 5, 6, 7, 8, 9};
    tsch root, l, item;
    sch_init(&root, "+s", "", 0);
    sch_init(&l, "+w:2", "vector", 0);
    sch_init(&item, "f", "item", 0);
    sch_add(&l, &item);
    sch_add(&root, &l);
    tarr b1, l1, c1, b2, l2, c2;
    arr_init(&c1, 12, 0, 1, 2, NULL, fc, NULL);
    arr_init(&l1, 3, 0, 2, 1, NULL, NULL, NULL);
    arr_add(&l1, &c1);
    arr_init(&b1, 3, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b1, &l1);
    arr_init(&c2, 6, 0, 0, 2, NULL, s_fc, NULL);
    arr_init(&l2, 3, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&l2, &c2);
    arr_init(&b2, 3, 0, 0, 1, NULL, NULL, NULL);
    arr_add(&b2, &l2);
    check_same(&root.s, &b1.a, &b2.a, "fixed_size_list");
  }
}

static void test_sliced_struct_map(void) {
  /* struct s{a: int64, t: utf8} with nulls; batch offset 2, struct offset 1,
   * child a offset 1: rows read = a[4..6], t[3..5] */
  static const int64_t a_big[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  static const int32_t t_off[7] = {0, 1, 2, 3, 5, 8, 12};
  static const char t_data[] = "abcdeffgggghhhh";
  static const uint8_t s_valid_big[1] = {0xF7}; /* struct row 3 null */
  static const int64_t a_small[3] = {4, 5, 6};
  static const int32_t t_soff[4] = {0, 2, 5, 9};
  static const char t_sdata[] = "deffggggh";
  static const uint8_t s_valid_small[1] = {0x06}; /* rows 3,4,5 -> 0,1,1 */
  tsch root, s, a, t;
  sch_init(&root, "+s", "", 0);
  sch_init(&s, "+s", "s", ARROW_FLAG_NULLABLE);
  sch_init(&a, "l", "a", 0);
  sch_init(&t, "u", "t", 0);
  sch_add(&s, &a);
  sch_add(&s, &t);
  sch_add(&root, &s);
  tarr b1, s1, a1, t1, b2, s2, a2, t2;
  arr_init(&a1, 7, 0, 1, 2, NULL, a_big, NULL);
  arr_init(&t1, 6, 0, 0, 3, NULL, t_off, t_data);
  arr_init(&s1, 5, 1, 1, 1, s_valid_big, NULL, NULL);
  arr_add(&s1, &a1);
  arr_add(&s1, &t1);
  arr_init(&b1, 3, 0, 2, 1, NULL, NULL, NULL);
  arr_add(&b1, &s1);
  arr_init(&a2, 3, 0, 0, 2, NULL, a_small, NULL);
  arr_init(&t2, 3, 0, 0, 3, NULL, t_soff, t_sdata);
  arr_init(&s2, 3, 1, 0, 1, s_valid_small, NULL, NULL);
  arr_add(&s2, &a2);
  arr_add(&s2, &t2);
  arr_init(&b2, 3, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&b2, &s2);
  check_same(&root.s, &b1.a, &b2.a, "struct");

  /* map<utf8, int32>: [{k0:0}, {k1:1, k2:2}, {}, {k3:3}]; slice [1, 3) */
  static const int32_t m_off[5] = {0, 1, 3, 3, 4};
  static const int32_t k_off[5] = {0, 2, 4, 6, 8};
  static const char k_data[] = "k0k1k2k3";
  static const int32_t v[4] = {0, 1, 2, 3};
  static const int32_t sm_off[3] = {0, 2, 2};
  static const int32_t sk_off[3] = {0, 2, 4};
  static const char sk_data[] = "k1k2";
  static const int32_t sv[2] = {1, 2};
  tsch r2, m, e, k, val;
  sch_init(&r2, "+s", "", 0);
  sch_init(&m, "+m", "tags", ARROW_FLAG_NULLABLE);
  sch_init(&e, "+s", "entries", 0);
  sch_init(&k, "u", "key", 0);
  sch_init(&val, "i", "value", ARROW_FLAG_NULLABLE);
  sch_add(&e, &k);
  sch_add(&e, &val);
  sch_add(&m, &e);
  sch_add(&r2, &m);
  tarr mb1, m1, e1, k1, v1, mb2, m2, e2, k2, v2;
  arr_init(&k1, 4, 0, 0, 3, NULL, k_off, k_data);
  arr_init(&v1, 4, 0, 0, 2, NULL, v, NULL);
  arr_init(&e1, 4, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&e1, &k1);
  arr_add(&e1, &v1);
  arr_init(&m1, 2, 0, 1, 2, NULL, m_off, NULL);
  arr_add(&m1, &e1);
  arr_init(&mb1, 2, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&mb1, &m1);
  arr_init(&k2, 2, 0, 0, 3, NULL, sk_off, sk_data);
  arr_init(&v2, 2, 0, 0, 2, NULL, sv, NULL);
  arr_init(&e2, 2, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&e2, &k2);
  arr_add(&e2, &v2);
  arr_init(&m2, 2, 0, 0, 2, NULL, sm_off, NULL);
  arr_add(&m2, &e2);
  arr_init(&mb2, 2, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&mb2, &m2);
  check_same(&r2.s, &mb1.a, &mb2.a, "map");
}

static void test_sliced_other_fixed(void) {
  /* fixed_size_binary[3], decimal128(10, 2), timestamp[us, UTC], date32,
   * float16: rows [1, 3) */
  static const char fsb[] = "aaabbbccc";
  static const int64_t dec[6] = {1, 0, 2, 0, 3, 0};
  static const int64_t ts[3] = {100, 200, 300};
  static const int32_t d32[3] = {7, 8, 9};
  static const uint16_t h[3] = {0x3c00, 0x4000, 0x4200};
  tsch root, c[5];
  sch_init(&root, "+s", "", 0);
  sch_init(&c[0], "w:3", "fsb", 0);
  sch_init(&c[1], "d:10,2", "dec", 0);
  sch_init(&c[2], "tsu:UTC", "ts", 0);
  sch_init(&c[3], "tdD", "day", 0);
  sch_init(&c[4], "e", "half", 0);
  for (int i = 0; i < 5; i++) sch_add(&root, &c[i]);
  const void *src[5] = {fsb, dec, ts, d32, h};
  const void *dst[5] = {fsb + 3, dec + 2, ts + 1, d32 + 1, h + 1};
  tarr b1, b2, a1[5], a2[5];
  arr_init(&b1, 2, 0, 0, 1, NULL, NULL, NULL);
  arr_init(&b2, 2, 0, 0, 1, NULL, NULL, NULL);
  for (int i = 0; i < 5; i++) {
    arr_init(&a1[i], 2, 0, 1, 2, NULL, src[i], NULL);
    arr_init(&a2[i], 2, 0, 0, 2, NULL, dst[i], NULL);
    arr_add(&b1, &a1[i]);
    arr_add(&b2, &a2[i]);
  }
  check_same(&root.s, &b1.a, &b2.a, "fixed-width kinds");
}

/* Encodes `batch` with `schema` and expects failure `code` mentioning `needle`. */
static void expect_fail(const struct ArrowSchema *schema, const struct ArrowArray *batch,
                        mw_status code, const char *needle) {
  void *out = (void *)1;
  size_t len = 99;
  mw_error err = {0};
  mw_status st = mw_ipc_encode(&out, &len, schema, &batch, batch ? 1 : 0, NULL, &err);
  CHECK_INT(st, code);
  CHECK_INT(err.code, code);
  CHECK(out == NULL);
  CHECK_INT(len, 0);
  if (!strstr(err.message, needle)) {
    fprintf(stderr, "  message '%s' lacks '%s'\n", err.message, needle);
    CHECK(strstr(err.message, needle) != NULL);
  }
}

static void test_validation_errors(void) {
  static const int32_t bad_off[4] = {0, 3, 2, 5};
  static const char data[] = "abcde";
  tsch root, text;
  sch_init(&root, "+s", "", 0);
  sch_init(&text, "u", "text", 0);
  sch_add(&root, &text);
  tarr b, t;
  arr_init(&t, 3, 0, 0, 3, NULL, bad_off, data);
  arr_init(&b, 3, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&b, &t);
  expect_fail(&root.s, &b.a, MW_ERR_INVALID, "column 'text': offsets not monotonic");

  /* fixed_size_list child too short: the path names the child */
  static const float f[3] = {1, 2, 3};
  tsch r2, v, item;
  sch_init(&r2, "+s", "", 0);
  sch_init(&v, "+w:2", "vector", 0);
  sch_init(&item, "f", "item", 0);
  sch_add(&v, &item);
  sch_add(&r2, &v);
  tarr b2, l, c;
  arr_init(&c, 3, 0, 0, 2, NULL, f, NULL);
  arr_init(&l, 2, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&l, &c);
  arr_init(&b2, 2, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&b2, &l);
  expect_fail(&r2.s, &b2.a, MW_ERR_INVALID, "column 'vector.item'");

  /* wrong buffer count */
  arr_init(&c, 4, 0, 0, 3, NULL, f, NULL);
  expect_fail(&r2.s, &b2.a, MW_ERR_INVALID, "column 'vector.item': float32 array has 3 buffers");

  /* a batch with nulls */
  arr_init(&c, 4, 0, 0, 2, NULL, f, NULL);
  b2.a.null_count = 1;
  expect_fail(&r2.s, &b2.a, MW_ERR_INVALID, "null_count must be 0");

  /* schema not a struct */
  expect_fail(&item.s, NULL, MW_ERR_INVALID, "struct");
}

static void test_dictionary_rejected(void) {
  tsch root, cat, dict;
  sch_init(&root, "+s", "", 0);
  sch_init(&cat, "i", "cat", 0);
  sch_init(&dict, "u", NULL, 0);
  cat.s.dictionary = &dict.s;
  sch_add(&root, &cat);
  expect_fail(&root.s, NULL, MW_ERR_UNSUPPORTED, "column 'cat': dictionary");
  /* unsupported types name the column and the format */
  tsch r2, view;
  sch_init(&r2, "+s", "", 0);
  sch_init(&view, "vu", "sv", 0);
  sch_add(&r2, &view);
  expect_fail(&r2.s, NULL, MW_ERR_UNSUPPORTED, "column 'sv'");
  expect_fail(&r2.s, NULL, MW_ERR_UNSUPPORTED, "'vu'");
}

static void test_zero_row_batch(void) {
  tsch root, id, text;
  sch_init(&root, "+s", "", 0);
  sch_init(&id, "l", "id", 0);
  sch_init(&text, "u", "text", ARROW_FLAG_NULLABLE);
  sch_add(&root, &id);
  sch_add(&root, &text);
  tarr b, i, t;
  arr_init(&i, 0, 0, 0, 2, NULL, NULL, NULL);
  arr_init(&t, 0, 0, 0, 3, NULL, NULL, NULL);
  arr_init(&b, 0, 0, 0, 1, NULL, NULL, NULL);
  arr_add(&b, &i);
  arr_add(&b, &t);
  const struct ArrowArray *batches[2] = {&b.a, &b.a};
  void *out = NULL;
  size_t len = 0;
  CHECK_OK(mw_ipc_encode(&out, &len, &root.s, batches, 2, NULL, errp), errp);
  msg m[4];
  CHECK_INT(split_stream(out, len, m, 4), 3);
  const uint8_t *fb = m[1].fb;
  uint32_t rb = fb_ref(fb, m[1].root, 2);
  CHECK_INT(fb_i64(fb, rb, 0), 0);
  CHECK_INT(m[1].body_len, 8); /* the utf8 column's single zero offset, padded */
  uint32_t nodes = fb_ref(fb, rb, 1), bufs = fb_ref(fb, rb, 2);
  CHECK_INT(rd32(fb + nodes), 2);
  for (int k = 0; k < 4; k++) CHECK_INT(mw_load_u64le(fb + nodes + 4 + 8 * k), 0);
  CHECK_INT(rd32(fb + bufs), 5);
  static const int64_t eb[10] = {0, 0, 0, 0, 0, 0, 0, 4, 8, 0};
  for (int k = 0; k < 10; k++) CHECK_INT(mw_load_u64le(fb + bufs + 4 + 8 * k), eb[k]);
  static const uint8_t zero8[8] = {0};
  CHECK(memcmp(m[1].body, zero8, 8) == 0);
  /* both batches identical */
  CHECK_INT(m[2].meta_len, m[1].meta_len);
  CHECK(memcmp(m[1].fb, m[2].fb, m[1].meta_len + 8) == 0);
  mw_free(out);
}

/* Finds key in a [KeyValue] vector at vec; returns the value or NULL. */
static const char *kv_find(const uint8_t *fb, uint32_t vec, const char *key, char *buf, size_t cap) {
  uint32_t n = rd32(fb + vec);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t slot = vec + 4 + 4 * i;
    uint32_t kv = slot + rd32(fb + slot);
    char k[64];
    if (strcmp(fb_str(fb, fb_ref(fb, kv, 0), k, sizeof k), key) == 0)
      return fb_str(fb, fb_ref(fb, kv, 1), buf, cap);
  }
  return NULL;
}

static void test_schema_details(void) {
  bool ok = true;
  mw_kv sm[2] = {{"a", 1, "1", 1}, {"b", 1, "2", 1}};
  mw_kv ex[2] = {{"writer_epoch", 12, "7", 1}, {"a", 1, "x", 1}};
  mw_kv fm[1] = {{"unit", 4, "m", 1}};
  char *schema_meta = mw_metadata_build(sm, 2, &ok);
  char *extra = mw_metadata_build(ex, 2, &ok);
  char *field_meta = mw_metadata_build(fm, 1, &ok);
  CHECK(ok);
  tsch root, ts, dec, t32, m, e, k, v, dur, fsl, item;
  sch_init(&root, "+s", "", 0);
  root.s.metadata = schema_meta;
  sch_init(&ts, "tsn:Europe/Paris", "ts", ARROW_FLAG_NULLABLE);
  ts.s.metadata = field_meta;
  sch_init(&dec, "d:12,-3", "dec", 0);
  sch_init(&t32, "tts", "t32", 0);
  sch_init(&m, "+m", "m", ARROW_FLAG_MAP_KEYS_SORTED);
  sch_init(&e, "+s", "entries", 0);
  sch_init(&k, "U", "key", 0);
  sch_init(&v, "C", "value", ARROW_FLAG_NULLABLE);
  sch_add(&e, &k);
  sch_add(&e, &v);
  sch_add(&m, &e);
  sch_init(&dur, "tDu", "dur", 0);
  sch_init(&fsl, "+w:512", "vec", 0);
  sch_init(&item, "g", "item", 0);
  sch_add(&fsl, &item);
  sch_add(&root, &ts);
  sch_add(&root, &dec);
  sch_add(&root, &t32);
  sch_add(&root, &m);
  sch_add(&root, &dur);
  sch_add(&root, &fsl);
  void *out = NULL;
  size_t len = 0;
  CHECK_OK(mw_ipc_encode(&out, &len, &root.s, NULL, 0, extra, errp), errp);
  msg msgs[2];
  CHECK_INT(split_stream(out, len, msgs, 2), 1);
  const uint8_t *fb = msgs[0].fb;
  uint32_t sch = fb_ref(fb, msgs[0].root, 2);
  char buf[64];
  uint32_t md = fb_ref(fb, sch, 2);
  CHECK(md != 0);
  if (md) {
    CHECK_INT(rd32(fb + md), 3);
    const char *s;
    s = kv_find(fb, md, "a", buf, sizeof buf); CHECK_STR(s, "x");
    s = kv_find(fb, md, "b", buf, sizeof buf); CHECK_STR(s, "2");
    s = kv_find(fb, md, "writer_epoch", buf, sizeof buf); CHECK_STR(s, "7");
  }
  uint32_t fields = fb_ref(fb, sch, 1);
  CHECK_INT(rd32(fb + fields), 6);
  uint32_t fpos[6];
  for (int i = 0; i < 6; i++) fpos[i] = fields + 4 + 4 * i + rd32(fb + fields + 4 + 4 * i);
  /* timestamp[ns, Europe/Paris], nullable, field metadata */
  CHECK_STR(fb_str(fb, fb_ref(fb, fpos[0], 0), buf, sizeof buf), "ts");
  CHECK_INT(fb_u8(fb, fpos[0], 1), 1);
  CHECK_INT(fb_u8(fb, fpos[0], 2), 10);
  uint32_t ty = fb_ref(fb, fpos[0], 3);
  CHECK_INT(fb_i16(fb, ty, 0), 3);
  CHECK_STR(fb_str(fb, fb_ref(fb, ty, 1), buf, sizeof buf), "Europe/Paris");
  uint32_t fmd = fb_ref(fb, fpos[0], 6);
  CHECK(fmd != 0);
  if (fmd) CHECK_STR(kv_find(fb, fmd, "unit", buf, sizeof buf), "m");
  CHECK_INT(rd32(fb + fb_ref(fb, fpos[0], 5)), 0); /* empty children vector present */
  /* decimal128(12, -3) */
  CHECK_INT(fb_u8(fb, fpos[1], 1), 0);
  CHECK_INT(fb_u8(fb, fpos[1], 2), 7);
  ty = fb_ref(fb, fpos[1], 3);
  CHECK_INT(fb_i32(fb, ty, 0), 12);
  CHECK_INT(fb_i32(fb, ty, 1), -3);
  CHECK_INT(fb_i32(fb, ty, 2), 128);
  /* time32[s] */
  CHECK_INT(fb_u8(fb, fpos[2], 2), 9);
  ty = fb_ref(fb, fpos[2], 3);
  CHECK_INT(fb_i16(fb, ty, 0), 0);
  CHECK_INT(fb_i32(fb, ty, 1), 32);
  /* map, keys sorted, entries struct<key: large_utf8, value: uint8> */
  CHECK_INT(fb_u8(fb, fpos[3], 2), 17);
  CHECK_INT(fb_u8(fb, fb_ref(fb, fpos[3], 3), 0), 1);
  uint32_t kids = fb_ref(fb, fpos[3], 5);
  CHECK_INT(rd32(fb + kids), 1);
  uint32_t ent = kids + 4 + rd32(fb + kids + 4);
  CHECK_STR(fb_str(fb, fb_ref(fb, ent, 0), buf, sizeof buf), "entries");
  CHECK_INT(fb_u8(fb, ent, 2), 13);
  uint32_t ek = fb_ref(fb, ent, 5);
  CHECK_INT(rd32(fb + ek), 2);
  uint32_t kf = ek + 4 + rd32(fb + ek + 4), vf = ek + 8 + rd32(fb + ek + 8);
  CHECK_INT(fb_u8(fb, kf, 2), 20);
  CHECK_INT(fb_u8(fb, vf, 2), 2);
  CHECK_INT(fb_i32(fb, fb_ref(fb, vf, 3), 0), 8);
  CHECK_INT(fb_u8(fb, fb_ref(fb, vf, 3), 1), 0); /* is_signed false, written */
  CHECK(fb_field(fb, fb_ref(fb, vf, 3), 1) != 0);
  /* duration[us], fixed_size_list[512]<float64> */
  CHECK_INT(fb_u8(fb, fpos[4], 2), 18);
  CHECK_INT(fb_i16(fb, fb_ref(fb, fpos[4], 3), 0), 2);
  CHECK_INT(fb_u8(fb, fpos[5], 2), 16);
  CHECK_INT(fb_i32(fb, fb_ref(fb, fpos[5], 3), 0), 512);
  mw_free(out);
  free(schema_meta);
  free(extra);
  free(field_meta);
}

int main(void) {
  MW_RUN(test_worked_example_schema);
  MW_RUN(test_worked_example_batch);
  MW_RUN(test_sliced_primitives);
  MW_RUN(test_sliced_var_width);
  MW_RUN(test_sliced_lists);
  MW_RUN(test_sliced_struct_map);
  MW_RUN(test_sliced_other_fixed);
  MW_RUN(test_validation_errors);
  MW_RUN(test_dictionary_rejected);
  MW_RUN(test_zero_row_batch);
  MW_RUN(test_schema_details);
  return mw_test_finish();
}
