/* pb.c - minimal protobuf writer (see pb.h). */
#include "lance/pb.h"

#include <string.h>

#include "arrow/c_data.h"

void mw_pb_varint(mw_buf *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  mw_buf_append(b, tmp, n);
}

void mw_pb_key(mw_buf *b, uint32_t field, uint32_t wire_type) {
  mw_pb_varint(b, ((uint64_t)field << 3) | wire_type);
}

void mw_pb_u64(mw_buf *b, uint32_t field, uint64_t v) {
  mw_pb_key(b, field, 0);
  mw_pb_varint(b, v);
}

void mw_pb_i32(mw_buf *b, uint32_t field, int32_t v) {
  mw_pb_key(b, field, 0);
  mw_pb_varint(b, (uint64_t)(int64_t)v);
}

void mw_pb_bytes(mw_buf *b, uint32_t field, const void *data, size_t n) {
  mw_pb_key(b, field, 2);
  mw_pb_varint(b, n);
  if (n) mw_buf_append(b, data, n);
}

void mw_pb_str(mw_buf *b, uint32_t field, const char *s) { mw_pb_bytes(b, field, s, strlen(s)); }

void mw_pb_msg(mw_buf *b, uint32_t field, const mw_buf *sub) {
  if (sub->failed) b->failed = true;
  mw_pb_bytes(b, field, sub->data, sub->len);
}

void mw_pb_metadata(mw_buf *b, uint32_t field, const char *blob) {
  int32_t n = mw_metadata_count(blob);
  for (int32_t i = 0; i < n; i++) {
    mw_kv kv = mw_metadata_at(blob, i);
    mw_buf e;
    mw_buf_init(&e);
    mw_pb_bytes(&e, 1, kv.key, (size_t)kv.key_len);
    mw_pb_bytes(&e, 2, kv.value, (size_t)kv.value_len);
    mw_pb_msg(b, field, &e);
    mw_buf_free(&e);
  }
}

void mw_pb_packed_u64(mw_buf *b, uint32_t field, const uint64_t *v, size_t n) {
  mw_buf tmp;
  mw_buf_init(&tmp);
  for (size_t i = 0; i < n; i++) mw_pb_varint(&tmp, v[i]);
  mw_pb_msg(b, field, &tmp);
  mw_buf_free(&tmp);
}

void mw_pb_fixed64(mw_buf *b, uint32_t field, uint64_t v) {
  mw_pb_key(b, field, 1);
  mw_buf_u64le(b, v);
}

void mw_pb_any(mw_buf *out, const char *type_url, const mw_buf *inner) {
  mw_pb_str(out, 1, type_url);
  mw_pb_msg(out, 2, inner);
}

bool mw_pb_read_varint(const uint8_t *data, size_t len, size_t *pos, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= len) return false;
    uint8_t b = data[(*pos)++];
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

bool mw_pb_next(const uint8_t *msg, size_t len, size_t *pos, mw_pb_field *out) {
  uint64_t key;
  if (*pos >= len || !mw_pb_read_varint(msg, len, pos, &key)) return false;
  memset(out, 0, sizeof *out);
  out->field = (uint32_t)(key >> 3);
  out->wire_type = (uint32_t)(key & 7);
  switch (out->wire_type) {
    case 0: return mw_pb_read_varint(msg, len, pos, &out->val);
    case 1:
      if (len - *pos < 8) return false;
      out->val = mw_load_u64le(msg + *pos);
      *pos += 8;
      return true;
    case 5:
      if (len - *pos < 4) return false;
      out->val = mw_load_u32le(msg + *pos);
      *pos += 4;
      return true;
    case 2: {
      uint64_t n;
      if (!mw_pb_read_varint(msg, len, pos, &n) || n > len - *pos) return false;
      out->data = msg + *pos;
      out->len = (size_t)n;
      *pos += (size_t)n;
      return true;
    }
    default: return false;
  }
}

bool mw_pb_find(const uint8_t *msg, size_t len, uint32_t field, mw_pb_field *out) {
  size_t pos = 0;
  while (mw_pb_next(msg, len, &pos, out))
    if (out->field == field) return true;
  return false;
}
