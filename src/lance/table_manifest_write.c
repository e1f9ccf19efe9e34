/*
 * table_manifest_write.c - encoding and committing a Lance table version
 * (layout in table_manifest_write.h).
 *
 * Design: the frames are packed with protobuf-c into one buffer in Lance's
 * order (index section, transaction, manifest); the manifest is packed
 * last because it records the other two positions. Commit order follows
 * Lance: the transaction file first (a unique name, so put-if-absent never
 * collides), the manifest as the atomic commit point (put-if-absent: two
 * writers of the same version cannot both win), the hint last (a stale
 * hint is corrected by readers, see table_manifest.h).
 */
#include "lance/table_manifest_write.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "lance/table_manifest.h"

static void frame(mw_buf *b, const ProtobufCMessage *msg) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  if (n > UINT32_MAX) {
    b->failed = true;
    return;
  }
  mw_buf_u32le(b, (uint32_t)n);
  if (!mw_buf_reserve(b, n)) return;
  protobuf_c_message_pack(msg, b->data + b->len);
  b->len += n;
}

mw_status mw_lance_table_manifest_encode(uint8_t **out, size_t *out_len, Lance__Table__TableManifest *m,
                                         const Lance__Table__IndexSectionProto *index,
                                         const Lance__Table__TransactionProto *txn, mw_error *err) {
  *out = NULL;
  *out_len = 0;
  mw_buf b;
  mw_buf_init(&b);
  m->has_index_section = false;
  m->index_section = 0;
  if (index) {
    m->has_index_section = true;
    m->index_section = b.len;
    frame(&b, &index->base);
  }
  m->has_transaction_section = true;
  m->transaction_section = b.len;
  frame(&b, &txn->base);
  uint64_t pos = b.len;
  frame(&b, &m->base);
  mw_buf_u64le(&b, pos);
  uint8_t ver[4];
  mw_store_u16le(ver, 0);
  mw_store_u16le(ver + 2, 2);
  mw_buf_append(&b, ver, 4);
  mw_buf_append(&b, "LANC", 4);
  if (!mw_buf_ok(&b)) {
    mw_buf_free(&b);
    return mw_err(err, MW_ERR_NOMEM, "out of memory encoding a table manifest");
  }
  *out = mw_buf_take(&b, out_len);
  return MW_OK;
}

mw_status mw_lance_table_commit(mw_objstore *store, uint64_t version, const uint8_t *manifest, size_t len,
                                const char *txn_file, const Lance__Table__TransactionProto *txn,
                                mw_error *err) {
  char tkey[256], mkey[64];
  int n = snprintf(tkey, sizeof tkey, "_transactions/%s", txn_file);
  if (n < 0 || (size_t)n >= sizeof tkey) return mw_err(err, MW_ERR_INVALID, "transaction file name too long");
  size_t tl = protobuf_c_message_get_packed_size(&txn->base);
  uint8_t *tb = malloc(tl ? tl : 1);
  if (tb == NULL) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  protobuf_c_message_pack(&txn->base, tb);
  mw_status st = mw_objstore_put_if_absent(store, tkey, tb, tl, err);
  free(tb);
  if (st != MW_OK) return mw_err_wrap(err, st, "writing %s", tkey);
  mw_lance_manifest_key(mkey, sizeof mkey, version);
  st = mw_objstore_put_if_absent(store, mkey, manifest, len, err);
  if (st != MW_OK) {
    if (st == MW_ERR_ALREADY_EXISTS) {
      (void)mw_objstore_delete(store, tkey, NULL);
      return mw_err(err, MW_ERR_ALREADY_EXISTS, "table version %" PRIu64 " was committed by another writer", version);
    }
    return mw_err_wrap(err, st, "writing %s", mkey);
  }
  char hint[48];
  n = snprintf(hint, sizeof hint, "{\"version\":%" PRIu64 "}", version);
  st = mw_objstore_put(store, "_versions/latest_version_hint.json", hint, (size_t)n, err);
  if (st != MW_OK) return mw_err_wrap(err, st, "table version %" PRIu64 " is committed, but writing its hint failed", version);
  return MW_OK;
}
