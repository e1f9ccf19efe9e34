/* pb.h - a minimal protobuf *writer* for the Lance formats.
 *
 * Wire format: each field is a varint key (field_number << 3 | wire_type)
 * followed by a varint (type 0), 8 bytes LE (type 1), a varint length + bytes
 * (type 2) or 4 bytes LE (type 5). Nested messages are written into their own
 * mw_buf first and then appended as a length-delimited field, which keeps the
 * writer one-pass and allocation-light. Only what Lance needs is here; proto3
 * semantics (zero scalars omitted) are left to the callers so that the bytes
 * match what Lance writes. */
#ifndef MW_LANCE_PB_H
#define MW_LANCE_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

void mw_pb_varint(mw_buf *b, uint64_t v);
void mw_pb_key(mw_buf *b, uint32_t field, uint32_t wire_type);
/* field as varint (always written, even 0) */
void mw_pb_u64(mw_buf *b, uint32_t field, uint64_t v);
/* int32 as protobuf does it: negatives sign-extended to 10 bytes */
void mw_pb_i32(mw_buf *b, uint32_t field, int32_t v);
/* length-delimited bytes/string/sub-message */
void mw_pb_bytes(mw_buf *b, uint32_t field, const void *data, size_t n);
void mw_pb_str(mw_buf *b, uint32_t field, const char *s);
void mw_pb_msg(mw_buf *b, uint32_t field, const mw_buf *sub);
/* packed repeated varints */
void mw_pb_packed_u64(mw_buf *b, uint32_t field, const uint64_t *v, size_t n);
/* fixed64 */
void mw_pb_fixed64(mw_buf *b, uint32_t field, uint64_t v);

/* Each pair of an Arrow metadata blob (arrow/c_data.h) as a map entry
 * message {1 key, 2 value} of `field`, in blob order. */
void mw_pb_metadata(mw_buf *b, uint32_t field, const char *blob);

/* Wraps `inner` as google.protobuf.Any {1 type_url, 2 value} into *out
 * (out is appended to). */
void mw_pb_any(mw_buf *out, const char *type_url, const mw_buf *inner);

/* ---- reader (for tests and inspection; bounds-checked) ----
 * Reads the field at *pos of msg[0, len): varint fields set *val, fixed64
 * and fixed32 set *val, length-delimited fields set data and len. Returns
 * false at the end or on malformed input (*pos then == len on a clean end). */
typedef struct mw_pb_field {
  uint32_t field;
  uint32_t wire_type;
  uint64_t val;
  const uint8_t *data;
  size_t len;
} mw_pb_field;

bool mw_pb_next(const uint8_t *msg, size_t len, size_t *pos, mw_pb_field *out);
/* First occurrence of `field` in msg (false if absent or malformed). */
bool mw_pb_find(const uint8_t *msg, size_t len, uint32_t field, mw_pb_field *out);
/* Reads one varint from data at *pos (< len). */
bool mw_pb_read_varint(const uint8_t *data, size_t len, size_t *pos, uint64_t *out);

#endif
