/* test_lance_file.c - the Lance v2 file writer: footer and offset tables,
 * 64-byte aligned page buffers, 2.0 encodings (values, validity, u64 end
 * offsets with null adjustment), row selection across sliced input, page
 * cuts by rows and bytes, field protobufs, schema checks naming the
 * column, and 2.0 pages borrowed from the input (same bytes, as pieces). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "lance/lance_file.h"
#include "lance_test_read.h"
#include "mw_test.h"

static void noop(struct ArrowArray *a) { a->release = NULL; }

/* {a int32 nullable, s utf8 nullable}: a = 10,null,30,40,50, s = "x",null,"","yz",null */
typedef struct tb {
  int32_t a[5];
  uint8_t va, vs;
  int32_t off[6];
  char data[8];
  const void *ba[2], *bs[3], *br[1];
  struct ArrowArray ca, cs, root;
  struct ArrowArray *kids[2];
} tb;

static void tb_init(tb *t) {
  memset(t, 0, sizeof *t);
  int32_t a[5] = {10, 0, 30, 40, 50};
  memcpy(t->a, a, sizeof a);
  t->va = 0x1d; /* 11101 */
  t->vs = 0x0d; /* 01101 */
  int32_t off[6] = {0, 1, 1, 1, 3, 3};
  memcpy(t->off, off, sizeof off);
  memcpy(t->data, "xyz", 3);
  t->ba[0] = &t->va;
  t->ba[1] = t->a;
  t->bs[0] = &t->vs;
  t->bs[1] = t->off;
  t->bs[2] = t->data;
  t->ca = (struct ArrowArray){.length = 5, .null_count = 1, .n_buffers = 2, .buffers = t->ba, .release = noop};
  t->cs = (struct ArrowArray){.length = 5, .null_count = 2, .n_buffers = 3, .buffers = t->bs, .release = noop};
  t->kids[0] = &t->ca;
  t->kids[1] = &t->cs;
  t->root = (struct ArrowArray){.length = 5, .n_buffers = 1, .buffers = t->br, .n_children = 2,
                                .children = t->kids, .release = noop};
}

static void schema2(struct ArrowSchema *s) {
  mw_schema_init(s, "+s", "", NULL, 0, 2, NULL);
  bool ok;
  char *md = mw_metadata_with(NULL, "k", "v", &ok);
  mw_schema_init(s->children[0], "i", "a", md, ARROW_FLAG_NULLABLE, 0, NULL);
  free(md);
  mw_schema_init(s->children[1], "u", "s", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
}

/* Writes every row of `root` as one file (options o, NULL = defaults):
 * the file's bytes (free()) and length, each step a check. */
static uint8_t *write_all(const struct ArrowSchema *s, const mw_lance_file_options *o,
                          const struct ArrowArray *root, size_t *n) {
  mw_error e = {0}, *ep = &e;
  mw_lance_file_writer *w = NULL;
  uint8_t *d = NULL;
  *n = 0;
  CHECK_OK(mw_lance_file_writer_open(&w, s, o, ep), ep);
  if (!w) return NULL;
  CHECK_OK(mw_lance_file_writer_write(w, root, NULL, 0, ep), ep);
  CHECK_OK(mw_lance_file_writer_finish(w, &d, n, ep), ep);
  mw_lance_file_writer_free(w);
  return d;
}

static void test_footer_and_pages(void) {
  tb t;
  tb_init(&t);
  struct ArrowSchema s;
  schema2(&s);
  mw_error e = {0}, *ep = &e;
  mw_lance_file_writer *w;
  mw_lance_file_options o20;
  mw_lance_file_options_init(&o20);
  o20.version = MW_LANCE_V2_0;
  CHECK_OK(mw_lance_file_writer_open(&w, &s, &o20, ep), ep);
  CHECK_OK(mw_lance_file_writer_write(w, &t.root, NULL, 0, ep), ep);
  CHECK_INT(mw_lance_file_writer_rows(w), 5);
  uint8_t *d;
  size_t n;
  CHECK_OK(mw_lance_file_writer_finish(w, &d, &n, ep), ep);
  mw_lance_file_writer_free(w);
  lt_footer f;
  CHECK(lt_footer_read(&f, d, n));
  CHECK_INT(f.major, 0);
  CHECK_INT(f.minor, 3);
  CHECK_INT(f.ncol, 2);
  CHECK_INT(f.ngb, 1);
  CHECK_INT(f.gbo, n - 40 - 16);         /* one GBO entry right before the footer */
  CHECK_INT(f.cmo, f.gbo - 2 * 16);      /* two CMO entries before it */
  uint64_t gb_pos = mw_load_u64le(d + f.gbo), gb_len = mw_load_u64le(d + f.gbo + 8);
  CHECK_INT(gb_pos % 64, 0);
  CHECK_INT(gb_pos + gb_len, f.cms);     /* column metadata follows global buffer 0 */
  CHECK_INT(mw_load_u64le(d + f.cmo), f.cms);
  /* FileDescriptor: schema with 2 fields, length 5 */
  mw_pb_field sch, len, fld;
  CHECK(mw_pb_find(d + gb_pos, gb_len, 1, &sch));
  CHECK(mw_pb_find(d + gb_pos, gb_len, 2, &len) && len.val == 5);
  CHECK(mw_pb_find(sch.data, sch.len, 1, &fld));
  /* field a: name, parent_id -1 (10-byte varint), logical type, nullable, encoding, metadata */
  static const uint8_t fa[] = {0x12, 1, 'a', 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1,
                               0x2a, 5, 'i', 'n', 't', '3', '2', 0x30, 1, 0x38, 1,
                               0x52, 6, 0x0a, 1, 'k', 0x12, 1, 'v'};
  CHECK(fld.len == sizeof fa && memcmp(fld.data, fa, sizeof fa) == 0);
  /* column a: some_nulls -> buffers validity, values */
  const uint8_t *buf;
  uint64_t rows, bl;
  CHECK(lt_page_buffer(d, n, 0, 0, 0, &rows, &buf, &bl));
  CHECK_INT(rows, 5);
  CHECK_INT(bl, 1);
  CHECK_INT(buf[0], 0x1d);
  CHECK_INT((uint64_t)(buf - d) % 64, 0);
  CHECK(lt_page_buffer(d, n, 0, 0, 1, &rows, &buf, &bl));
  CHECK_INT(bl, 20);
  CHECK_INT((uint64_t)(buf - d) % 64, 0);
  CHECK_INT(mw_load_u32le(buf + 8), 30);
  /* column s: u64 end offsets, null rows + null_adjustment (3 bytes + 1 = 4) */
  CHECK(lt_page_buffer(d, n, 1, 0, 0, &rows, &buf, &bl));
  CHECK_INT(bl, 40);
  static const uint64_t ends[5] = {1, 1 + 4, 1, 3, 3 + 4};
  for (int i = 0; i < 5 && bl == 40; i++) CHECK_INT(mw_load_u64le(buf + 8 * i), ends[i]);
  CHECK(lt_page_buffer(d, n, 1, 0, 1, &rows, &buf, &bl));
  CHECK(bl == 3 && memcmp(buf, "xyz", 3) == 0);
  free(d);
  mw_schema_release(&s);
}

static void test_selection_slicing_and_page_cuts(void) {
  tb t;
  tb_init(&t);
  /* slice the batch: offset 1 on the columns (rows null,30,40,50 / null,"","yz",null) */
  t.ca.offset = 1;
  t.ca.length = 4;
  t.cs.offset = 1;
  t.cs.length = 4;
  t.root.length = 4;
  struct ArrowSchema s;
  schema2(&s);
  mw_error e = {0}, *ep = &e;
  mw_lance_file_options o;
  mw_lance_file_options_init(&o);
  o.version = MW_LANCE_V2_0;
  o.max_page_rows = 2;
  mw_lance_file_writer *w;
  CHECK_OK(mw_lance_file_writer_open(&w, &s, &o, ep), ep);
  int64_t take[3] = {1, 2, 3}; /* 30,40,50 / "","yz",null */
  CHECK_OK(mw_lance_file_writer_write(w, &t.root, take, 3, ep), ep);
  int64_t bad[1] = {4};
  CHECK_INT(mw_lance_file_writer_write(w, &t.root, bad, 1, &e), MW_ERR_INVALID);
  uint8_t *d;
  size_t n;
  CHECK_OK(mw_lance_file_writer_finish(w, &d, &n, ep), ep);
  mw_lance_file_writer_free(w);
  CHECK_INT(lt_pages(d, n, 0), 2);
  const uint8_t *buf;
  uint64_t rows, bl;
  /* page 0 of a: no nulls -> one buffer 30,40 */
  CHECK(lt_page_buffer(d, n, 0, 0, 0, &rows, &buf, &bl));
  CHECK_INT(rows, 2);
  CHECK_INT(bl, 8);
  CHECK_INT(mw_load_u32le(buf), 30);
  CHECK_INT(mw_load_u32le(buf + 4), 40);
  CHECK(lt_page_buffer(d, n, 0, 1, 0, &rows, &buf, &bl));
  CHECK_INT(rows, 1);
  CHECK_INT(mw_load_u32le(buf), 50);
  /* page 1 of s: one null row with 0 bytes -> end 0 + adjustment 1 */
  CHECK(lt_page_buffer(d, n, 1, 1, 0, &rows, &buf, &bl));
  CHECK_INT(bl, 8);
  CHECK_INT(mw_load_u64le(buf), 1);
  /* page 0 of s: "" and "yz" */
  CHECK(lt_page_buffer(d, n, 1, 0, 0, &rows, &buf, &bl));
  CHECK_INT(mw_load_u64le(buf), 0);
  CHECK_INT(mw_load_u64le(buf + 8), 2);
  free(d);

  /* byte cut: ~1 KiB pages, 4 writes of 1000 int32 -> 4 pages */
  int32_t *v = calloc(1000, 4);
  const void *bb[2] = {NULL, v}, *rb[1] = {NULL};
  struct ArrowArray c = {.length = 1000, .n_buffers = 2, .buffers = bb, .release = noop};
  struct ArrowArray *k[1] = {&c};
  struct ArrowArray r = {.length = 1000, .n_buffers = 1, .buffers = rb, .n_children = 1, .children = k, .release = noop};
  struct ArrowSchema s1;
  mw_schema_init(&s1, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(s1.children[0], "i", "x", NULL, 0, 0, NULL);
  mw_lance_file_options_init(&o);
  o.version = MW_LANCE_V2_0;
  o.max_page_bytes = 1024 + 32; /* values + validity bytes */
  CHECK_OK(mw_lance_file_writer_open(&w, &s1, &o, ep), ep);
  for (int i = 0; i < 4; i++) CHECK_OK(mw_lance_file_writer_write(w, &r, NULL, 0, ep), ep);
  CHECK_OK(mw_lance_file_writer_finish(w, &d, &n, ep), ep);
  mw_lance_file_writer_free(w);
  /* rows are gathered in chunks of up to 1024 and a page is cut once a chunk
   * takes the column past the limit: one page per 1000-row write here */
  CHECK_INT(lt_pages(d, n, 0), 4);
  free(d);
  free(v);
  mw_schema_release(&s1);
  mw_schema_release(&s);
}

static void test_check_schema(void) {
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 3, NULL);
  mw_schema_init(s.children[0], "l", "id", NULL, 0, 0, NULL);
  mw_schema_init(s.children[1], "+s", "props", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[1]->children[0], "i", "x", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_schema_init(s.children[2], "+w:4", "vec", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[2]->children[0], "f", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_error e = {0};
  /* structs are written in 2.1 (the default) and refused, named, in 2.0 */
  CHECK_INT(mw_lance_check_schema(&s, &e), MW_OK);
  CHECK_INT(mw_lance_check_schema_version(&s, MW_LANCE_V2_1, &e), MW_OK);
  CHECK_INT(mw_lance_check_schema_version(&s, MW_LANCE_V2_0, &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'props'") && strstr(e.message, "2.1"));
  int32_t ids[8];
  CHECK_INT(mw_lance_leaf_field_ids(&s, ids, 8), 3); /* id 0, props 1 {x 2}, vec 3 */
  CHECK_INT(ids[0], 0);
  CHECK_INT(ids[1], 2);
  CHECK_INT(ids[2], 3);
  char lt[64];
  CHECK_INT(mw_lance_logical_type(lt, sizeof lt, s.children[2], &e), MW_OK);
  CHECK_STR(lt, "fixed_size_list:float:4");
  struct ArrowSchema ts;
  mw_schema_init(&ts, "tsu:UTC", "t", NULL, 0, 0, NULL);
  CHECK_INT(mw_lance_logical_type(lt, sizeof lt, &ts, &e), MW_OK);
  CHECK_STR(lt, "timestamp:us:UTC");
  mw_schema_release(&ts);
  mw_schema_init(&ts, "tsn:", "t", NULL, 0, 0, NULL);
  CHECK_INT(mw_lance_logical_type(lt, sizeof lt, &ts, &e), MW_OK);
  CHECK_STR(lt, "timestamp:ns:-");
  mw_schema_release(&ts);
  mw_schema_init(&ts, "d:12,3", "t", NULL, 0, 0, NULL);
  CHECK_INT(mw_lance_logical_type(lt, sizeof lt, &ts, &e), MW_OK);
  CHECK_STR(lt, "decimal:128:12:3");
  mw_schema_release(&ts);
  mw_schema_init(&ts, "+l", "lst", NULL, 0, 1, NULL);
  mw_schema_init(ts.children[0], "i", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  CHECK_INT(mw_lance_logical_type(lt, sizeof lt, &ts, &e), MW_OK);
  CHECK_STR(lt, "list");
  mw_schema_release(&ts);
  /* shapes not written yet are named with their path: list of lists, list
   * inside a struct, maps */
  struct ArrowSchema n;
  mw_schema_init(&n, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(n.children[0], "+L", "ll", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(n.children[0]->children[0], "+l", "inner", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(n.children[0]->children[0]->children[0], "i", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  CHECK_INT(mw_lance_check_schema(&n, &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'ll.inner'") && strstr(e.message, "inside a list"));
  mw_schema_release(&n);
  mw_schema_init(&n, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(n.children[0], "+s", "st", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(n.children[0]->children[0], "+l", "tags", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(n.children[0]->children[0]->children[0], "u", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  CHECK_INT(mw_lance_check_schema(&n, &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'st.tags'") && strstr(e.message, "inside a struct"));
  mw_schema_release(&n);
  /* an unknown version is refused at open */
  mw_lance_file_options o;
  mw_lance_file_options_init(&o);
  o.version = (mw_lance_version)7;
  mw_lance_file_writer *w = NULL;
  struct ArrowSchema ok1;
  mw_schema_init(&ok1, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(ok1.children[0], "l", "id", NULL, 0, 0, NULL);
  CHECK_INT(mw_lance_file_writer_open(&w, &ok1, &o, &e), MW_ERR_INVALID);
  CHECK(w == NULL);
  mw_schema_release(&ok1);
  mw_schema_release(&s);
}

/* The same 5 rows written by Lance 12 (LanceDB 0.39.0, data storage version
 * 2.1, schema {a int32 {k: v}, s utf8}): every byte of the file, mini-block
 * chunks, padding and protobufs included, is deterministic for this input. */
static const unsigned char lance21_tb[] =
    "\x50\x00\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48"
    "\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x05\x00\x0a\x00\x14\x00\xfe\xfe\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xfe\xfe\xfe\xfe\xfe\xfe\x0a\x00\x00\x00\x00\x00\x00\x00"
    "\x1e\x00\x00\x00\x28\x00\x00\x00\x32\x00\x00\x00\xfe\xfe\xfe\xfe\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x60\x00\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48"
    "\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48"
    "\x05\x00\x0a\x00\x1c\x00\xfe\xfe\x00\x00\x01\x00\x00\x00\x00\x00\x01\x00\xfe\xfe\xfe\xfe\xfe\xfe\x18\x00\x00\x00\x19\x00\x00\x00\x19\x00\x00\x00\x19\x00\x00\x00\x1b\x00\x00\x00\x1b\x00\x00\x00"
    "\x78\x79\x7a\x48\xfe\xfe\xfe\xfe\x48\x48\x48\x48\x48\x48\x48\x48\x0a\x41\x0a\x21\x12\x01\x61\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x2a\x05\x69\x6e\x74\x33\x32\x30\x01\x38\x01\x52\x06\x0a"
    "\x01\x6b\x12\x01\x76\x0a\x1c\x12\x01\x73\x18\x01\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x2a\x06\x73\x74\x72\x69\x6e\x67\x30\x01\x38\x02\x10\x05\x0a\x29\x12\x27\x0a\x25\x0a\x1f\x2f\x6c\x61"
    "\x6e\x63\x65\x2e\x65\x6e\x63\x6f\x64\x69\x6e\x67\x73\x2e\x43\x6f\x6c\x75\x6d\x6e\x45\x6e\x63\x6f\x64\x69\x6e\x67\x12\x02\x0a\x00\x12\x46\x0a\x02\x00\x40\x12\x02\x02\x30\x18\x05\x22\x3a\x12\x38"
    "\x0a\x36\x0a\x1d\x2f\x6c\x61\x6e\x63\x65\x2e\x65\x6e\x63\x6f\x64\x69\x6e\x67\x73\x32\x31\x2e\x50\x61\x67\x65\x4c\x61\x79\x6f\x75\x74\x12\x15\x0a\x13\x12\x04\x0a\x02\x08\x10\x1a\x04\x0a\x02\x08"
    "\x20\x32\x01\x03\x38\x01\x48\x05\x0a\x29\x12\x27\x0a\x25\x0a\x1f\x2f\x6c\x61\x6e\x63\x65\x2e\x65\x6e\x63\x6f\x64\x69\x6e\x67\x73\x2e\x43\x6f\x6c\x75\x6d\x6e\x45\x6e\x63\x6f\x64\x69\x6e\x67\x12"
    "\x02\x0a\x00\x12\x4c\x0a\x04\x80\x01\xc0\x01\x12\x02\x02\x38\x18\x05\x22\x3e\x12\x3c\x0a\x3a\x0a\x1d\x2f\x6c\x61\x6e\x63\x65\x2e\x65\x6e\x63\x6f\x64\x69\x6e\x67\x73\x32\x31\x2e\x50\x61\x67\x65"
    "\x4c\x61\x79\x6f\x75\x74\x12\x19\x0a\x17\x12\x04\x0a\x02\x08\x10\x1a\x08\x12\x06\x0a\x04\x0a\x02\x08\x20\x32\x01\x03\x38\x01\x48\x05\x45\x01\x00\x00\x00\x00\x00\x00\x73\x00\x00\x00\x00\x00\x00"
    "\x00\xb8\x01\x00\x00\x00\x00\x00\x00\x79\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x45\x00\x00\x00\x00\x00\x00\x00\x45\x01\x00\x00\x00\x00\x00\x00\x31\x02\x00\x00\x00\x00\x00"
    "\x00\x51\x02\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00\x4c\x41\x4e\x43"
;

static void test_v21_matches_lance(void) {
  tb t;
  tb_init(&t);
  struct ArrowSchema s;
  schema2(&s);
  mw_lance_file_options o;
  mw_lance_file_options_init(&o);
  CHECK_INT(o.version, MW_LANCE_V2_1); /* the default */
  size_t n;
  uint8_t *d = write_all(&s, &o, &t.root, &n);
  CHECK_INT(n, sizeof lance21_tb - 1);
  size_t first = n;
  for (size_t i = 0; i < n && i < sizeof lance21_tb - 1; i++)
    if (d[i] != lance21_tb[i]) {
      first = i;
      break;
    }
  CHECK_INT(first, n); /* first differing byte */
  lt_footer f;
  CHECK(lt_footer_read(&f, d, n));
  CHECK_INT(f.major, 2);
  CHECK_INT(f.minor, 1);
  free(d);
  mw_schema_release(&s);
}

/* one-column batch helper */
typedef struct onecol {
  const void *bufs[3], *rbufs[1];
  struct ArrowArray c, r, fc;
  struct ArrowArray *kids[1], *fkids[1];
  const void *fbufs[2];
} onecol;

static void onecol_init(onecol *o, int64_t len, int64_t nulls, const void *validity, const void *b1,
                        const void *b2, int n_buffers) {
  memset(o, 0, sizeof *o);
  o->bufs[0] = validity;
  o->bufs[1] = b1;
  o->bufs[2] = b2;
  o->c = (struct ArrowArray){.length = len, .null_count = nulls, .n_buffers = n_buffers, .buffers = o->bufs,
                             .release = noop};
  o->kids[0] = &o->c;
  o->r = (struct ArrowArray){.length = len, .n_buffers = 1, .buffers = o->rbufs, .n_children = 1,
                             .children = o->kids, .release = noop};
}

static uint8_t *write1(const char *fmt, bool nullable, onecol *oc, const mw_lance_file_options *o,
                       size_t *n, mw_status *st, mw_error *e) {
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(s.children[0], fmt, "x", NULL, nullable ? ARROW_FLAG_NULLABLE : 0, 0, NULL);
  mw_lance_file_writer *w = NULL;
  uint8_t *d = NULL;
  *n = 0;
  *st = mw_lance_file_writer_open(&w, &s, o, e);
  if (*st == MW_OK) *st = mw_lance_file_writer_write(w, &oc->r, NULL, 0, e);
  if (*st == MW_OK) *st = mw_lance_file_writer_finish(w, &d, n, e);
  mw_lance_file_writer_free(w);
  mw_schema_release(&s);
  return d;
}

static void test_v21_chunks(void) {
  mw_error e = {0}, *ep = &e;
  mw_status st;
  size_t n;
  const uint8_t *buf;
  uint64_t rows, bl;
  onecol oc;
  /* 5000 int64, no nulls: 512 values (4 KiB) per chunk -> 9 chunks of
   * 8 + 4096 bytes (meta ((513 - 1) << 4) | 9) and a last one of 392 values
   * (8 + 3136 bytes, meta (392 << 4) | 0) */
  int64_t *v = malloc(5000 * 8);
  for (int i = 0; i < 5000; i++) v[i] = i * 3;
  onecol_init(&oc, 5000, 0, NULL, v, NULL, 2);
  uint8_t *d = write1("l", false, &oc, NULL, &n, &st, &e);
  CHECK_OK(st, ep);
  CHECK(lt_page_buffer(d, n, 0, 0, 0, &rows, &buf, &bl));
  CHECK_INT(rows, 5000);
  CHECK_INT(bl, 20);
  for (int i = 0; i < 9 && bl == 20; i++) CHECK_INT(mw_load_u16le(buf + 2 * i), 0x2009);
  CHECK_INT(mw_load_u16le(buf + 18), 0x1880);
  CHECK(lt_page_buffer(d, n, 0, 0, 1, &rows, &buf, &bl));
  CHECK_INT(bl, 9 * 4104 + 3144);
  CHECK_INT((uint64_t)(buf - d) % 64, 0);
  if (bl == 9 * 4104 + 3144) {
    static const uint8_t h0[8] = {0, 0, 0x00, 0x10, 0xfe, 0xfe, 0xfe, 0xfe};
    CHECK(memcmp(buf, h0, 8) == 0);
    CHECK_INT(mw_load_u64le(buf + 8 + 8 * 5), 15);
    const uint8_t *last = buf + 9 * 4104;
    CHECK_INT(mw_load_u16le(last + 2), 392 * 8);
    CHECK_INT(mw_load_u64le(last + 8), (uint64_t)(9 * 512) * 3);
  }
  free(d);
  free(v);

  /* 5000 bools, row 4100 null: 4096 values per chunk; chunk 0 = 8 + 8192 def
   * bytes + 512 value bytes (meta (1088 << 4) | 12); chunk 1 = 904 values:
   * 8 + 1808 + 113 padded to 120 (meta (241 << 4)); its bits start at row 4096 */
  uint8_t *bits = calloc(625, 1), *valid = malloc(625);
  memset(valid, 0xff, 625);
  valid[4100 / 8] &= (uint8_t)~(1u << (4100 % 8));
  for (int i = 0; i < 5000; i++)
    if (i % 3 == 0) bits[i / 8] |= (uint8_t)(1u << (i % 8));
  onecol_init(&oc, 5000, 1, valid, bits, NULL, 2);
  d = write1("b", true, &oc, NULL, &n, &st, &e);
  CHECK_OK(st, ep);
  CHECK(lt_page_buffer(d, n, 0, 0, 0, &rows, &buf, &bl));
  CHECK_INT(bl, 4);
  CHECK_INT(mw_load_u16le(buf), 0x440c);
  CHECK_INT(mw_load_u16le(buf + 2), 0x0f10);
  CHECK(lt_page_buffer(d, n, 0, 0, 1, &rows, &buf, &bl));
  CHECK_INT(bl, 8712 + 1936);
  if (bl == 8712 + 1936) {
    const uint8_t *c1 = buf + 8712;
    static const uint8_t h1[8] = {0x88, 0x03, 0x10, 0x07, 0x71, 0x00, 0xfe, 0xfe}; /* 904, 1808, 113 */
    CHECK(memcmp(c1, h1, 8) == 0);
    CHECK_INT(mw_load_u16le(c1 + 8 + 2 * 4), 1);  /* row 4100: def level 1 */
    CHECK_INT(mw_load_u16le(c1 + 8 + 2 * 3), 0);
    /* rows 4096..: true at 4098, 4101 (bits 2, 5 of byte 0), 4104, 4107, 4110 (byte 1: 0x49) */
    CHECK_INT(c1[8 + 1808], 0x24);
    CHECK_INT(c1[8 + 1808 + 1], 0x49);
  }
  free(d);
  free(bits);
  free(valid);

  /* 3000 strings of 10 bytes: 256 per chunk (257 * 4 + 2560 = 3588 bytes);
   * 11 chunks of 3600 bytes (meta (449 << 4) | 8), then 184 values:
   * 185 * 4 + 1840 = 2580 -> 2592 (meta (323 << 4)) */
  int32_t *off = malloc(3001 * 4);
  char *data = malloc(30000);
  for (int i = 0; i <= 3000; i++) off[i] = 10 * i;
  for (int i = 0; i < 30000; i++) data[i] = (char)('0' + i % 10);
  onecol_init(&oc, 3000, 0, NULL, off, data, 3);
  d = write1("u", true, &oc, NULL, &n, &st, &e);
  CHECK_OK(st, ep);
  CHECK(lt_page_buffer(d, n, 0, 0, 0, &rows, &buf, &bl));
  CHECK_INT(bl, 24);
  CHECK_INT(mw_load_u16le(buf), 0x1c18);
  CHECK_INT(mw_load_u16le(buf + 22), 0x1430);
  CHECK(lt_page_buffer(d, n, 0, 0, 1, &rows, &buf, &bl));
  CHECK_INT(bl, 11 * 3600 + 2592);
  if (bl == 11 * 3600 + 2592) {
    const uint8_t *c1 = buf + 3600; /* second chunk: offsets restart at 257 * 4 */
    CHECK_INT(mw_load_u16le(c1 + 2), 3588);
    CHECK_INT(mw_load_u32le(c1 + 8), 1028);
    CHECK_INT(mw_load_u32le(c1 + 8 + 4 * 256), 1028 + 2560);
    CHECK(memcmp(c1 + 8 + 1028, "0123456789", 10) == 0);
  }
  free(d);
  free(off);
  free(data);

  /* a value too large for any mini-block is refused with its row */
  off = malloc(3 * 4);
  data = calloc(70000, 1);
  off[0] = 0;
  off[1] = 1;
  off[2] = 70000;
  onecol_init(&oc, 2, 0, NULL, off, data, 3);
  d = write1("z", true, &oc, NULL, &n, &st, &e);
  CHECK_INT(st, MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'x'") && strstr(e.message, "row 1"));
  CHECK(d == NULL);
  free(off);
  free(data);
}

static void test_v21_page_cut(void) {
  tb t;
  tb_init(&t);
  struct ArrowSchema s;
  schema2(&s);
  mw_lance_file_options o;
  mw_lance_file_options_init(&o);
  o.max_page_rows = 3;
  size_t n;
  uint8_t *d = write_all(&s, &o, &t.root, &n);
  CHECK_INT(lt_pages(d, n, 0), 2);
  const uint8_t *buf;
  uint64_t rows, bl;
  /* page 1 of a: rows 40, 50, no nulls -> header without def levels */
  CHECK(lt_page_buffer(d, n, 0, 1, 1, &rows, &buf, &bl));
  CHECK_INT(rows, 2);
  CHECK_INT(bl, 16);
  static const uint8_t c[16] = {0, 0, 8, 0, 0xfe, 0xfe, 0xfe, 0xfe, 40, 0, 0, 0, 50, 0, 0, 0};
  CHECK(bl == 16 && memcmp(buf, c, 16) == 0);
  /* page 1 of s: "yz", null -> def levels 0, 1; offsets 12, 14, 14; value
   * buffer padded with 0x48 to a multiple of the offset width (16 bytes) */
  CHECK(lt_page_buffer(d, n, 1, 1, 1, &rows, &buf, &bl));
  static const uint8_t c2[32] = {2, 0, 4, 0, 16, 0, 0xfe, 0xfe, 0, 0, 1, 0, 0xfe, 0xfe, 0xfe, 0xfe,
                                 12, 0, 0, 0, 14, 0, 0, 0, 14, 0, 0, 0, 'y', 'z', 0x48, 0x48};
  CHECK(bl == 32 && memcmp(buf, c2, 32) == 0);
  free(d);
  mw_schema_release(&s);
}

static void test_fsl_null_items_refused(void) {
  /* vec fixed_size_list<float>[2]: row 0 valid with items (1, null), row 1 null */
  float items[4] = {1, 0, 0, 0};
  uint8_t ivalid = 0x0d; /* item 1 null (row 0), items 2, 3 belong to null row 1 */
  uint8_t rvalid = 0x01;
  for (int ver = 0; ver < 2; ver++) {
    onecol oc;
    onecol_init(&oc, 2, 1, &rvalid, NULL, NULL, 1);
    oc.fbufs[0] = &ivalid;
    oc.fbufs[1] = items;
    oc.fc = (struct ArrowArray){.length = 4, .null_count = 1, .n_buffers = 2, .buffers = oc.fbufs, .release = noop};
    oc.fkids[0] = &oc.fc;
    oc.c.n_children = 1;
    oc.c.children = oc.fkids;
    struct ArrowSchema s;
    mw_schema_init(&s, "+s", "", NULL, 0, 1, NULL);
    mw_schema_init(s.children[0], "+w:2", "vec", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
    mw_schema_init(s.children[0]->children[0], "f", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
    mw_lance_file_options o;
    mw_lance_file_options_init(&o);
    o.version = ver ? MW_LANCE_V2_1 : MW_LANCE_V2_0;
    mw_error e = {0}, *ep = &e;
    mw_lance_file_writer *w;
    CHECK_OK(mw_lance_file_writer_open(&w, &s, &o, ep), ep);
    CHECK_INT(mw_lance_file_writer_write(w, &oc.r, NULL, 0, &e), MW_ERR_UNSUPPORTED);
    CHECK(strstr(e.message, "'vec'") && strstr(e.message, "row 0") && strstr(e.message, "null item"));
    /* only row 1 (null row, null items under it) is fine */
    int64_t take[1] = {1};
    CHECK_OK(mw_lance_file_writer_write(w, &oc.r, take, 1, ep), ep);
    mw_lance_file_writer_free(w);
    mw_schema_release(&s);
  }
}

/* Lance 12's 2.1 file for {st struct<x int32> nullable, l list<int32>}:
 * st = {1}, null (x valid 7 underneath), {x: null (9)}, {4};
 * l = [1, 2], null, [], [null (3), 5]. Struct validity becomes def levels of
 * the leaf (layers [NULLABLE_ITEM, NULLABLE_ITEM]: 0 valid, 1 null x, 2 null
 * struct); the list gets rep levels (1 = row start), def levels 0 item, 1
 * null item, 2 null list, 3 empty list (layers [NULLABLE_ITEM,
 * NULL_AND_EMPTY_LIST]) and a repetition index buffer (rows 4, 0 partial). */
static const unsigned char lance21_nested[] =
    "\x30\x00\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48"
    "\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x04\x00\x08\x00\x10\x00\xfe\xfe\x00\x00\x02\x00\x01\x00\x00\x00\x01\x00\x00\x00\x07\x00\x00\x00\x09\x00\x00\x00\x04\x00\x00\x00"
    "\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x60\x00\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48"
    "\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48"
    "\x06\x00\x0c\x00\x0c\x00\x10\x00\x01\x00\x00\x00\x01\x00\x01\x00\x01\x00\x00\x00\xfe\xfe\xfe\xfe\x00\x00\x00\x00\x02\x00\x03\x00\x01\x00\x00\x00\xfe\xfe\xfe\xfe\x01\x00\x00\x00\x02\x00\x00\x00"
    "\x03\x00\x00\x00\x05\x00\x00\x00\x48\x48\x48\x48\x48\x48\x48\x48\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48"
    "\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x48\x0a\x60\x0a\x19\x12\x02\x73\x74\x20\xff\xff\xff\xff\xff\xff\xff"
    "\xff\xff\x01\x2a\x06\x73\x74\x72\x75\x63\x74\x30\x01\x0a\x10\x12\x01\x78\x18\x01\x2a\x05\x69\x6e\x74\x33\x32\x30\x01\x38\x01\x0a\x1a\x12\x01\x6c\x18\x02\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff"
    "\x01\x2a\x04\x6c\x69\x73\x74\x30\x01\x38\x01\x0a\x15\x12\x04\x69\x74\x65\x6d\x18\x03\x20\x02\x2a\x05\x69\x6e\x74\x33\x32\x30\x01\x38\x01\x10\x04\x0a\x29\x12\x27\x0a\x25\x0a\x1f\x2f\x6c\x61\x6e"
    "\x63\x65\x2e\x65\x6e\x63\x6f\x64\x69\x6e\x67\x73\x2e\x43\x6f\x6c\x75\x6d\x6e\x45\x6e\x63\x6f\x64\x69\x6e\x67\x12\x02\x0a\x00\x12\x47\x0a\x02\x00\x40\x12\x02\x02\x20\x18\x04\x22\x3b\x12\x39\x0a"
    "\x37\x0a\x1d\x2f\x6c\x61\x6e\x63\x65\x2e\x65\x6e\x63\x6f\x64\x69\x6e\x67\x73\x32\x31\x2e\x50\x61\x67\x65\x4c\x61\x79\x6f\x75\x74\x12\x16\x0a\x14\x12\x04\x0a\x02\x08\x10\x1a\x04\x0a\x02\x08\x20"
    "\x32\x02\x03\x03\x38\x01\x48\x04\x0a\x29\x12\x27\x0a\x25\x0a\x1f\x2f\x6c\x61\x6e\x63\x65\x2e\x65\x6e\x63\x6f\x64\x69\x6e\x67\x73\x2e\x43\x6f\x6c\x75\x6d\x6e\x45\x6e\x63\x6f\x64\x69\x6e\x67\x12"
    "\x02\x0a\x00\x12\x54\x0a\x06\x80\x01\xc0\x01\x80\x02\x12\x03\x02\x38\x10\x18\x04\x22\x43\x12\x41\x0a\x3f\x0a\x1d\x2f\x6c\x61\x6e\x63\x65\x2e\x65\x6e\x63\x6f\x64\x69\x6e\x67\x73\x32\x31\x2e\x50"
    "\x61\x67\x65\x4c\x61\x79\x6f\x75\x74\x12\x1e\x0a\x1c\x0a\x04\x0a\x02\x08\x10\x12\x04\x0a\x02\x08\x10\x1a\x04\x0a\x02\x08\x20\x32\x02\x03\x06\x38\x01\x40\x01\x48\x04\xa4\x01\x00\x00\x00\x00\x00"
    "\x00\x74\x00\x00\x00\x00\x00\x00\x00\x18\x02\x00\x00\x00\x00\x00\x00\x81\x00\x00\x00\x00\x00\x00\x00\x40\x01\x00\x00\x00\x00\x00\x00\x64\x00\x00\x00\x00\x00\x00\x00\xa4\x01\x00\x00\x00\x00\x00"
    "\x00\x99\x02\x00\x00\x00\x00\x00\x00\xb9\x02\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00\x4c\x41\x4e\x43"
;

static void test_v21_nested_matches_lance(void) {
  int32_t xv[4] = {1, 7, 9, 4}, iv[4] = {1, 2, 3, 5}, lo[5] = {0, 2, 2, 2, 4};
  uint8_t xvalid = 0x0b, svalid = 0x0d, ivalid = 0x0b, lvalid = 0x0d;
  const void *xb[2] = {&xvalid, xv}, *sb[1] = {&svalid}, *ib[2] = {&ivalid, iv}, *lb[2] = {&lvalid, lo},
             *rb[1] = {NULL};
  struct ArrowArray x = {.length = 4, .null_count = 1, .n_buffers = 2, .buffers = xb, .release = noop};
  struct ArrowArray it = {.length = 4, .null_count = 1, .n_buffers = 2, .buffers = ib, .release = noop};
  struct ArrowArray *sk[1] = {&x}, *lk[1] = {&it};
  struct ArrowArray st = {.length = 4, .null_count = 1, .n_buffers = 1, .buffers = sb, .n_children = 1,
                          .children = sk, .release = noop};
  struct ArrowArray l = {.length = 4, .null_count = 1, .n_buffers = 2, .buffers = lb, .n_children = 1,
                         .children = lk, .release = noop};
  struct ArrowArray *rk[2] = {&st, &l};
  struct ArrowArray root = {.length = 4, .n_buffers = 1, .buffers = rb, .n_children = 2, .children = rk,
                            .release = noop};
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 2, NULL);
  mw_schema_init(s.children[0], "+s", "st", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[0]->children[0], "i", "x", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_schema_init(s.children[1], "+l", "l", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[1]->children[0], "i", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_error e = {0}, *ep = &e;
  mw_lance_file_writer *w;
  CHECK_OK(mw_lance_file_writer_open(&w, &s, NULL, ep), ep);
  /* two writes (rows 0-1, then 2-3 through the selection) make one page */
  int64_t a[2] = {0, 1}, b[2] = {2, 3};
  CHECK_OK(mw_lance_file_writer_write(w, &root, a, 2, ep), ep);
  CHECK_OK(mw_lance_file_writer_write(w, &root, b, 2, ep), ep);
  uint8_t *d;
  size_t n;
  CHECK_OK(mw_lance_file_writer_finish(w, &d, &n, ep), ep);
  mw_lance_file_writer_free(w);
  CHECK_INT(n, sizeof lance21_nested - 1);
  size_t first = n;
  for (size_t i = 0; i < n && i < sizeof lance21_nested - 1; i++)
    if (d[i] != lance21_nested[i]) {
      first = i;
      break;
    }
  CHECK_INT(first, n);

  /* large_list: the same pages (Lance normalizes offsets), logical type
   * "large_list" */
  int64_t lo64[5] = {0, 2, 2, 2, 4};
  const void *lb64[2] = {&lvalid, lo64};
  l.buffers = lb64;
  mw_schema_release(s.children[1]);
  mw_schema_init(s.children[1], "+L", "l", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[1]->children[0], "i", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  size_t n2;
  uint8_t *d2 = write_all(&s, NULL, &root, &n2);
  for (uint32_t c = 0; c < 2; c++)
    for (int k = 0; k < 2 + (int)c; k++) {
      const uint8_t *p1, *p2;
      uint64_t r1 = 0, r2 = 1, l1 = 0, l2 = 1;
      p1 = p2 = NULL;
      CHECK(lt_page_buffer(d, n, c, 0, k, &r1, &p1, &l1) && lt_page_buffer(d2, n2, c, 0, k, &r2, &p2, &l2));
      CHECK(r1 == r2 && l1 == l2 && p1 && p2 && memcmp(p1, p2, (size_t)l1) == 0);
    }
  CHECK(memmem(d2, n2, "large_list", 10) != NULL);
  CHECK(memmem(d, n, "large_list", 10) == NULL);
  free(d2);
  free(d);

  /* 2.0 refuses them at open, naming the column */
  mw_lance_file_options o;
  mw_lance_file_options_init(&o);
  o.version = MW_LANCE_V2_0;
  w = NULL;
  CHECK_INT(mw_lance_file_writer_open(&w, &s, &o, &e), MW_ERR_UNSUPPORTED);
  CHECK(w == NULL && strstr(e.message, "'st'"));

  /* list pages are cut so their single chunk stays small: 3000 rows of
   * [i, i+1] -> several pages, every one a single chunk (meta = 1 u16) with
   * a repetition index of its row count */
  int32_t *big = malloc(6000 * 4), *boff = malloc(3001 * 4);
  for (int i = 0; i < 6000; i++) big[i] = i;
  for (int i = 0; i <= 3000; i++) boff[i] = 2 * i;
  const void *bib[2] = {NULL, big}, *blb[2] = {NULL, boff};
  struct ArrowArray bit = {.length = 6000, .n_buffers = 2, .buffers = bib, .release = noop};
  struct ArrowArray *bk[1] = {&bit};
  struct ArrowArray bl = {.length = 3000, .n_buffers = 2, .buffers = blb, .n_children = 1, .children = bk,
                          .release = noop};
  struct ArrowArray *brk[1] = {&bl};
  struct ArrowArray broot = {.length = 3000, .n_buffers = 1, .buffers = rb, .n_children = 1, .children = brk,
                             .release = noop};
  struct ArrowSchema s1;
  mw_schema_init(&s1, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(s1.children[0], "+l", "l", NULL, 0, 1, NULL);
  mw_schema_init(s1.children[0]->children[0], "i", "item", NULL, 0, 0, NULL);
  d = write_all(&s1, NULL, &broot, &n);
  int pages = lt_pages(d, n, 0);
  CHECK(pages > 1);
  uint64_t total = 0;
  for (int p = 0; p < pages; p++) {
    const uint8_t *buf;
    uint64_t rows, blen;
    CHECK(lt_page_buffer(d, n, 0, p, 0, &rows, &buf, &blen));
    CHECK_INT(blen, 2);
    CHECK(lt_page_buffer(d, n, 0, p, 1, &rows, &buf, &blen));
    CHECK(blen <= 16384 + 64);
    /* chunk header: levels = 2 * rows, rep bytes, value bytes; no def levels */
    CHECK_INT(mw_load_u16le(buf), 2 * rows);
    CHECK_INT(mw_load_u16le(buf + 2), 4 * rows);
    CHECK_INT(mw_load_u16le(buf + 4), 8 * rows);
    CHECK(lt_page_buffer(d, n, 0, p, 2, &rows, &buf, &blen));
    CHECK_INT(blen, 16);
    CHECK_INT(mw_load_u64le(buf), rows);
    total += rows;
  }
  CHECK_INT(total, 3000);
  free(d);
  free(big);
  free(boff);
  mw_schema_release(&s1);
  mw_schema_release(&s);
}

/* 2.0 lists: two columns (offsets, then items); offsets u64 ends relative
 * to each page's first item, a null list's end + null_offset_adjustment
 * (= page items + 1), num_items in the encoding; pages cut by rows restart
 * the offsets; the item column's rows are the items. Rows: [1, 2], null,
 * [], [3], [4, 5, 6], null with max_page_rows 3 -> offsets pages
 * {2, 2+3, 2} / {1, 4, 4+5}. LanceDB's reading of such files:
 * tests/interop/lance_read_generation.sh (a''). */
static void test_v20_lists(void) {
  int32_t iv[6] = {1, 2, 3, 4, 5, 6}, lo[7] = {0, 2, 2, 2, 3, 6, 6};
  uint8_t lvalid = 0x1d; /* 011101: rows 1 and 5 null */
  const void *ib[2] = {NULL, iv}, *lb[2] = {&lvalid, lo}, *rb[1] = {NULL};
  struct ArrowArray it = {.length = 6, .n_buffers = 2, .buffers = ib, .release = noop};
  struct ArrowArray *lk[1] = {&it};
  struct ArrowArray l = {.length = 6, .null_count = 2, .n_buffers = 2, .buffers = lb, .n_children = 1,
                         .children = lk, .release = noop};
  struct ArrowArray *rk[1] = {&l};
  struct ArrowArray root = {.length = 6, .n_buffers = 1, .buffers = rb, .n_children = 1, .children = rk,
                            .release = noop};
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(s.children[0], "+l", "l", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[0]->children[0], "i", "item", NULL, 0, 0, NULL);
  mw_lance_file_options o;
  mw_lance_file_options_init(&o);
  o.version = MW_LANCE_V2_0;
  o.max_page_rows = 3;
  size_t n;
  uint8_t *d = write_all(&s, &o, &root, &n);
  lt_footer f;
  CHECK(d && lt_footer_read(&f, d, n));
  CHECK_INT(f.ncol, 2);
  CHECK_INT(f.major, 0);
  CHECK_INT(lt_pages(d, n, 0), 2);
  static const uint64_t want[2][3] = {{2, 2 + 3, 2}, {1, 4, 4 + 5}};
  static const uint64_t adj[2] = {3, 5};
  for (int p = 0; d && p < 2; p++) {
    const uint8_t *buf;
    uint64_t rows, bl;
    CHECK(lt_page_buffer(d, n, 0, p, 0, &rows, &buf, &bl));
    CHECK_INT(rows, 3);
    CHECK_INT(bl, 24);
    for (int i = 0; i < 3 && bl == 24; i++) CHECK_INT(mw_load_u64le(buf + 8 * i), want[p][i]);
    /* the page's encoding: ArrayEncoding.list (4) {.., 2: adjustment, 3: num_items} */
    const uint8_t *m;
    size_t ml, pos = 0;
    mw_pb_field pg, e1, e2, any, ae, lst, fadj, fni;
    CHECK(lt_column(d, n, 0, &m, &ml));
    int seen = 0;
    bool found = false;
    while (mw_pb_next(m, ml, &pos, &pg))
      if (pg.field == 2 && seen++ == p) {
        found = mw_pb_find(pg.data, pg.len, 4, &e1) && mw_pb_find(e1.data, e1.len, 2, &e2) &&
                mw_pb_find(e2.data, e2.len, 1, &any) && mw_pb_find(any.data, any.len, 2, &ae) &&
                mw_pb_find(ae.data, ae.len, 4, &lst) && mw_pb_find(lst.data, lst.len, 2, &fadj) &&
                mw_pb_find(lst.data, lst.len, 3, &fni);
        break;
      }
    CHECK(found);
    if (found) {
      CHECK_INT(fadj.val, adj[p]);
      CHECK_INT(fni.val, adj[p] - 1);
    }
  }
  /* the item column: 6 int32 items (max_page_rows cuts it at 3 items) */
  CHECK_INT(lt_pages(d, n, 1), 2);
  const uint8_t *buf;
  uint64_t rows, bl;
  CHECK(lt_page_buffer(d, n, 1, 1, 0, &rows, &buf, &bl));
  CHECK_INT(rows, 3);
  CHECK(bl == 12 && mw_load_u32le(buf) == 4 && mw_load_u32le(buf + 8) == 6);
  CHECK(memmem(d, n, "list", 4) != NULL);
  free(d);
  /* lists of lists, and lists in structs, stay refused in 2.0 */
  struct ArrowSchema s2;
  mw_schema_init(&s2, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(s2.children[0], "+l", "ll", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s2.children[0]->children[0], "+l", "item", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s2.children[0]->children[0]->children[0], "i", "item", NULL, 0, 0, NULL);
  mw_error e = {0};
  CHECK_INT(mw_lance_check_schema_version(&s2, MW_LANCE_V2_0, &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "ll") != NULL);
  mw_schema_release(&s2);
  mw_schema_release(&s);
}

/* borrow_pages: a 2.0 file whose fixed-width, fixed_size_list and list item
 * pages are taken by reference has the same bytes as the copied one, as one
 * buffer (finish) and as pieces (finish_pieces, some of them pointing into
 * the input); rows taken by a selection that is not contiguous fall back to
 * copies, with the same bytes again. */
static void test_v20_borrowed_pages(void) {
  enum { N = 40 };
  int64_t id[N];
  uint8_t codes[N * 4];
  uint32_t items[3 * N];
  int32_t lo[N + 1];
  for (int i = 0; i < N; i++) id[i] = 1000 + i;
  for (int i = 0; i < N * 4; i++) codes[i] = (uint8_t)(i * 7);
  for (int i = 0; i < 3 * N; i++) items[i] = (uint32_t)(i * 3 + 1);
  for (int i = 0; i <= N; i++) lo[i] = i * 3 - (i > 5 ? 2 : 0) - (i > 20 ? 1 : 0); /* uneven lists */
  lo[0] = 0;
  const void *ib[2] = {NULL, id}, *cb[2] = {NULL, codes}, *fb[1] = {NULL}, *lb[2] = {NULL, lo},
             *itb[2] = {NULL, items}, *rb[1] = {NULL};
  struct ArrowArray ci = {.length = N, .n_buffers = 2, .buffers = ib, .release = noop};
  struct ArrowArray cc = {.length = N * 4, .n_buffers = 2, .buffers = cb, .release = noop};
  struct ArrowArray *fk[1] = {&cc};
  struct ArrowArray cf = {.length = N, .n_buffers = 1, .buffers = fb, .n_children = 1, .children = fk,
                          .release = noop};
  struct ArrowArray cit = {.length = lo[N], .n_buffers = 2, .buffers = itb, .release = noop};
  struct ArrowArray *lk[1] = {&cit};
  struct ArrowArray cl = {.length = N, .n_buffers = 2, .buffers = lb, .n_children = 1, .children = lk,
                          .release = noop};
  struct ArrowArray *rk[3] = {&ci, &cf, &cl};
  struct ArrowArray root = {.length = N, .n_buffers = 1, .buffers = rb, .n_children = 3, .children = rk,
                            .release = noop};
  struct ArrowSchema s;
  mw_schema_init(&s, "+s", "", NULL, 0, 3, NULL);
  mw_schema_init(s.children[0], "l", "id", NULL, 0, 0, NULL);
  mw_schema_init(s.children[1], "+w:4", "code", NULL, 0, 1, NULL);
  mw_schema_init(s.children[1]->children[0], "C", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  mw_schema_init(s.children[2], "+l", "nbr", NULL, ARROW_FLAG_NULLABLE, 1, NULL);
  mw_schema_init(s.children[2]->children[0], "I", "item", NULL, ARROW_FLAG_NULLABLE, 0, NULL);
  static const uint8_t gb[5] = {1, 2, 3, 4, 5};
  const uint8_t *gbs[1] = {gb};
  size_t gbl[1] = {sizeof gb};
  mw_lance_file_options o;
  mw_lance_file_options_init(&o);
  o.version = MW_LANCE_V2_0;
  o.max_page_rows = 16; /* several pages per column */
  o.global_buffers = gbs;
  o.global_buffer_lens = gbl;
  o.n_global_buffers = 1;
  size_t n0, n1;
  uint8_t *copied = write_all(&s, &o, &root, &n0);
  o.borrow_pages = true;
  uint8_t *joined = write_all(&s, &o, &root, &n1);
  CHECK(copied && joined && n0 == n1 && memcmp(copied, joined, n0) == 0);
  /* as pieces */
  mw_error e = {0};
  mw_lance_file_writer *w = NULL;
  mw_lance_file_pieces p;
  memset(&p, 0, sizeof p);
  CHECK_OK(mw_lance_file_writer_open(&w, &s, &o, &e), &e);
  if (w) {
    CHECK_OK(mw_lance_file_writer_write(w, &root, NULL, 0, &e), &e);
    CHECK_OK(mw_lance_file_writer_finish_pieces(w, &p, &e), &e);
    mw_lance_file_writer_free(w);
  }
  CHECK_INT(p.len, n0);
  uint8_t *cat = malloc(n0 + 1);
  size_t at = 0, in_input = 0;
  for (size_t i = 0; cat && i < p.n_iov && at + p.iov[i].len <= n0; i++) {
    const uint8_t *d = p.iov[i].data;
    if ((d >= (const uint8_t *)id && d < (const uint8_t *)(id + N)) || (d >= codes && d < codes + sizeof codes) ||
        (d >= (const uint8_t *)items && d < (const uint8_t *)(items + 3 * N)))
      in_input++;
    memcpy(cat + at, d, p.iov[i].len);
    at += p.iov[i].len;
  }
  CHECK_INT(at, n0);
  CHECK(cat && copied && memcmp(cat, copied, n0) == 0);
  CHECK(in_input >= 3 * 3); /* id, code and list item pages, 3 pages each at least */
  free(cat);
  mw_lance_file_pieces_free(&p);
  /* a selection that is not contiguous: the pages are copies, same bytes */
  int64_t sel[6] = {0, 1, 5, 6, 7, 30};
  uint8_t *sd[2] = {NULL, NULL};
  size_t sn[2] = {0, 0};
  for (int b = 0; b < 2; b++) {
    o.borrow_pages = b == 1;
    w = NULL;
    CHECK_OK(mw_lance_file_writer_open(&w, &s, &o, &e), &e);
    if (!w) continue;
    CHECK_OK(mw_lance_file_writer_write(w, &root, sel, 6, &e), &e);
    CHECK_OK(mw_lance_file_writer_finish(w, &sd[b], &sn[b], &e), &e);
    mw_lance_file_writer_free(w);
  }
  CHECK(sd[0] && sd[1] && sn[0] == sn[1] && memcmp(sd[0], sd[1], sn[0]) == 0);
  free(sd[0]);
  free(sd[1]);
  free(copied);
  free(joined);
  mw_schema_release(&s);
}

int main(void) {
  MW_RUN(test_footer_and_pages);
  MW_RUN(test_selection_slicing_and_page_cuts);
  MW_RUN(test_check_schema);
  MW_RUN(test_v21_matches_lance);
  MW_RUN(test_v21_chunks);
  MW_RUN(test_v21_page_cut);
  MW_RUN(test_v21_nested_matches_lance);
  MW_RUN(test_fsl_null_items_refused);
  MW_RUN(test_v20_lists);
  MW_RUN(test_v20_borrowed_pages);
  return mw_test_finish();
}
