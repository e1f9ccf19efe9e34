/* fuzz_lance_pb.c - the bounds-checked protobuf reader of src/lance/pb.h
 * (mw_pb_next / mw_pb_find / mw_pb_read_varint), which reads the Lance
 * manifests and index files we write back (tests, inspection). memwal has
 * no full Lance dataset manifest parser; this reader is the code that
 * parses those bytes.
 *
 * The input is walked as a message; every length-delimited field is also
 * walked as a nested message (depth <= 8). Checked for every field: the
 * position only moves forward and stays within the message, a
 * length-delimited payload lies inside the message, the wire type is one
 * the reader knows; a walk that stops early stops on bytes a second read
 * also refuses (the reader is deterministic); mw_pb_find agrees with the
 * walk on the first occurrence of a field; and each field re-encoded with
 * the writer (mw_pb_u64 / mw_pb_fixed64 / mw_pb_bytes) reads back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "lance/pb.h"

static void check_reencoded(const mw_pb_field *f) {
  mw_buf b;
  mw_buf_init(&b);
  switch (f->wire_type) {
    case 0: mw_pb_u64(&b, f->field, f->val); break;
    case 1: mw_pb_fixed64(&b, f->field, f->val); break;
    case 2: mw_pb_bytes(&b, f->field, f->data, f->len); break;
    case 5: /* no fixed32 writer: write the key and 4 bytes by hand */
      mw_pb_key(&b, f->field, 5);
      for (int i = 0; i < 4; i++) mw_buf_u8(&b, (uint8_t)(f->val >> (8 * i)));
      break;
    default: abort();
  }
  if (!mw_buf_ok(&b)) abort();
  size_t pos = 0;
  mw_pb_field g;
  if (!mw_pb_next(b.data, b.len, &pos, &g) || pos != b.len) abort();
  /* the key is written as a varint of field << 3: field numbers above 2^29
   * do not survive (protobuf's maximum is 2^29 - 1) */
  if (f->field < (1u << 29) && g.field != f->field) abort();
  if (g.wire_type != f->wire_type || g.val != f->val || g.len != f->len) abort();
  if (f->len && memcmp(g.data, f->data, f->len) != 0) abort();
  mw_buf_free(&b);
}

static void walk(const uint8_t *msg, size_t len, int depth) {
  size_t pos = 0, prev = 0;
  mw_pb_field f;
  uint32_t first_field = 0;
  int n = 0;
  while (mw_pb_next(msg, len, &pos, &f)) {
    if (pos <= prev || pos > len) abort();
    if (f.wire_type != 0 && f.wire_type != 1 && f.wire_type != 2 && f.wire_type != 5) abort();
    if (f.wire_type == 2) {
      if (f.len && (f.data < msg || f.data + f.len > msg + len)) abort();
      if (depth < 8) walk(f.data, f.len, depth + 1);
    }
    check_reencoded(&f);
    if (n++ == 0) {
      first_field = f.field;
      mw_pb_field g;
      if (!mw_pb_find(msg, len, first_field, &g) || g.wire_type != f.wire_type || g.val != f.val ||
          g.len != f.len || g.data != f.data)
        abort();
    }
    prev = pos;
  }
  if (pos < len) { /* stopped on malformed bytes: a second read refuses them too */
    size_t p2 = prev;
    if (mw_pb_next(msg, len, &p2, &f)) abort();
  }
}

volatile uint64_t mw_fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  walk(data, size, 0);
  size_t pos = 0;
  uint64_t v;
  if (mw_pb_read_varint(data, size, &pos, &v)) {
    if (pos == 0 || pos > 10 || pos > size) abort();
    mw_fuzz_sink += v;
  }
  return 0;
}
