/* fuzz_ipc_take.c - libFuzzer target for mw_ipc_decode_take, the zero-copy
 * decoder of WAL entries read from storage (wal_tailer.c, replay): the
 * arrays point into the caller's input buffer, which the decoder owns and
 * frees when the last array referencing it is released.
 *
 * Each input is decoded twice, by mw_ipc_decode (copying) and by
 * mw_ipc_decode_take (on a malloc'ed copy, handed over): both must succeed
 * or both fail with the same status (CORRUPT/UNSUPPORTED/NOMEM, with a
 * message); on success the batches must pass mw_batch_validate and agree
 * (count, lengths, and the sum of every byte each buffer claims). The
 * take batches are then released in an order that stresses the shared
 * buffer's reference count: the first column of each batch is moved out,
 * the batch released, and only then the column read again and released
 * (ASan flags a buffer freed too early or never).
 *
 * Then the same bytes go through the real WAL read path: stored as a WAL
 * entry in a memory:// store and read with mw_wal_tailer_read_entry
 * (mw_ipc_decode_take + the writer_epoch / fence_sentinel checks). It must
 * fail exactly when the decode failed or the writer_epoch metadata is
 * missing or not a decimal u64 (MW_ERR_CORRUPT with a message), and on
 * success carry the same batches and rows, without writer_epoch in its
 * schema metadata. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "arrow/ipc.h"
#include "ipc_touch.h"
#include "memwal_sys.h"
#include "wal/wal_names.h"

volatile uint64_t mw_fuzz_sink;

static void release_all(struct ArrowSchema *schema, struct ArrowArray *batches, size_t n) {
  for (size_t i = 0; i < n; i++) mw_array_release(&batches[i]);
  mw_free(batches);
  mw_schema_release(schema);
}

#define SHARD "6d656d77-616c-4000-8000-00000000f022"

/* A valid writer_epoch value: 1-20 decimal digits, at most UINT64_MAX. */
static int epoch_ok(const mw_kv *kv) {
  if (kv->value_len < 1 || kv->value_len > 20) return 0;
  uint64_t v = 0;
  for (int32_t i = 0; i < kv->value_len; i++) {
    char c = kv->value[i];
    if (c < '0' || c > '9') return 0;
    uint64_t d = (uint64_t)(c - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  return 1;
}

/* The WAL read path on the same bytes. decoded: whether mw_ipc_decode
 * accepted them (then schema/rows/n describe the result). */
static void check_tailer(const uint8_t *data, size_t size, int decoded, const struct ArrowSchema *schema,
                         uint64_t rows, size_t n) {
  static mw_objstore *store;
  static mw_wal_tailer *tailer;
  if (!store) {
    if (mw_objstore_open(&store, "memory://fuzz_ipc_take", NULL, NULL) != MW_OK) abort();
    if (mw_wal_tailer_open(&tailer, store, SHARD, NULL) != MW_OK) abort();
  }
  char key[MW_KEY_SIZE];
  mw_wal_entry_key(key, SHARD, 1);
  if (mw_objstore_put(store, key, data, size, NULL) != MW_OK) abort();
  mw_wal_entry e;
  mw_error err = {0};
  mw_status st = mw_wal_tailer_read_entry(&e, tailer, 1, &err);
  mw_kv kv;
  int epochs = 0;
  for (int32_t i = 0; decoded && i < mw_metadata_count(schema->metadata); i++) {
    mw_kv x = mw_metadata_at(schema->metadata, i);
    if (x.key_len == 12 && memcmp(x.key, "writer_epoch", 12) == 0) epochs++;
  }
  int want_ok = decoded && epochs == 1 && mw_metadata_find(schema->metadata, "writer_epoch", &kv) && epoch_ok(&kv);
  if ((st == MW_OK) != want_ok) __builtin_trap();
  if (st != MW_OK) {
    if (decoded && st != MW_ERR_CORRUPT) __builtin_trap();
    if (err.message[0] == 0) __builtin_trap();
    return;
  }
  if (e.position != 1 || e.n_batches != n || e.rows != rows) __builtin_trap();
  if (mw_metadata_find(e.schema.metadata, "writer_epoch", &kv)) __builtin_trap();
  for (size_t i = 0; i < e.n_batches; i++) mw_fuzz_sink += touch(&e.schema, &e.batches[i]);
  mw_wal_entry_release(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct ArrowSchema s1, s2;
  struct ArrowArray *b1 = NULL, *b2 = NULL;
  size_t n1 = 0, n2 = 0;
  mw_error e1 = {0}, e2 = {0};
  mw_status st1 = mw_ipc_decode(&s1, &b1, &n1, data, size, &e1);

  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) abort();
  if (size) memcpy(copy, data, size);
  mw_status st2 = mw_ipc_decode_take(&s2, &b2, &n2, copy, size, &e2); /* copy is the decoder's now */

  if (st1 != st2) __builtin_trap(); /* the two paths disagree */
  uint64_t rows = 0;
  for (size_t i = 0; st1 == MW_OK && i < n1; i++) rows += (uint64_t)b1[i].length;
  check_tailer(data, size, st1 == MW_OK, &s1, rows, n1);
  if (st2 != MW_OK) {
    if (st2 != MW_ERR_CORRUPT && st2 != MW_ERR_UNSUPPORTED && st2 != MW_ERR_NOMEM) __builtin_trap();
    if (e2.message[0] == 0) __builtin_trap();
    return 0;
  }
  if (n1 != n2 || s1.n_children != s2.n_children) __builtin_trap();
  for (size_t i = 0; i < n2; i++) {
    if (mw_batch_validate(&s2, &b2[i], &e2) != MW_OK) __builtin_trap();
    if (b1[i].length != b2[i].length || b1[i].n_children != b2[i].n_children) __builtin_trap();
    if (touch(&s1, &b1[i]) != touch(&s2, &b2[i])) __builtin_trap();
  }
  release_all(&s1, b1, n1);

  for (size_t i = 0; i < n2; i++) {
    if (b2[i].n_children == 0) {
      mw_array_release(&b2[i]);
      continue;
    }
    struct ArrowArray col = *b2[i].children[0];
    b2[i].children[0]->release = NULL; /* moved out */
    mw_array_release(&b2[i]);
    mw_fuzz_sink += touch(s2.children[0], &col); /* must still be readable */
    mw_array_release(&col);
  }
  mw_free(b2);
  mw_schema_release(&s2);
  return 0;
}
