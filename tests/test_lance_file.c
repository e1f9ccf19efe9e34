/* test_lance_file.c - the Lance v2 file writer: footer and offset tables,
 * 64-byte aligned page buffers, 2.0 encodings (values, validity, u64 end
 * offsets with null adjustment), row selection across sliced input, page
 * cuts by rows and bytes, field protobufs, and schema checks naming the
 * column. */
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

static void test_footer_and_pages(void) {
  tb t;
  tb_init(&t);
  struct ArrowSchema s;
  schema2(&s);
  mw_error e = {0}, *ep = &e;
  mw_lance_file_writer *w;
  CHECK_OK(mw_lance_file_writer_open(&w, &s, NULL, ep), ep);
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
  CHECK_INT(mw_lance_check_schema(&s, &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'props'") != NULL);
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
  CHECK_INT(mw_lance_logical_type(lt, sizeof lt, &ts, &e), MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'lst'") != NULL);
  mw_schema_release(&ts);
  /* 2.1 is refused clearly at open */
  mw_lance_file_options o;
  mw_lance_file_options_init(&o);
  o.version = MW_LANCE_V2_1;
  mw_lance_file_writer *w = NULL;
  struct ArrowSchema ok1;
  mw_schema_init(&ok1, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(ok1.children[0], "l", "id", NULL, 0, 0, NULL);
  CHECK_INT(mw_lance_file_writer_open(&w, &ok1, &o, &e), MW_ERR_UNSUPPORTED);
  CHECK(w == NULL);
  mw_schema_release(&ok1);
  mw_schema_release(&s);
}

int main(void) {
  MW_RUN(test_footer_and_pages);
  MW_RUN(test_selection_slicing_and_page_cuts);
  MW_RUN(test_check_schema);
  return mw_test_finish();
}
