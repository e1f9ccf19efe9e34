/* test_bloom.c - SipHash-1-3 and bloom_filter.bin (FORMATS.md part F test
 * vectors), and our filter for ids 1..6 against the Lance 12 fixture's
 * generation bloom_filter.bin byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "lance/bloom.h"
#include "lance/lance_dataset.h"
#include "lance/pk_index.h"
#include "memwal_sys.h"
#include "mw_test.h"
#include "store_test_util.h"

#define GEN_DIR FIX_SHARD_DIR

static void test_siphash_vectors(void) {
  uint8_t in[16];
  /* int64 1: null byte 00 then 8 bytes LE */
  memset(in, 0, sizeof in);
  in[1] = 1;
  CHECK(mw_siphash13(in, 9) == 0x7467d6524c084857ULL);
  CHECK_INT(mw_bloom_block(1024, 0x7467d6524c084857ULL), 465);
  in[1] = 2;
  CHECK(mw_siphash13(in, 9) == 0xd8d0c7d906895713ULL);
  CHECK_INT(mw_bloom_block(1024, 0xd8d0c7d906895713ULL), 867);
  in[1] = 3;
  CHECK(mw_siphash13(in, 9) == 0xf066dd0237ea7875ULL);
  CHECK_INT(mw_bloom_block(1024, 0xf066dd0237ea7875ULL), 961);
  /* int32 5 */
  uint8_t i32[5] = {0, 5, 0, 0, 0};
  CHECK(mw_siphash13(i32, 5) == 0xefbd061d92145d43ULL);
  /* utf8 "a": 00 'a' ff */
  uint8_t a[3] = {0, 'a', 0xff};
  CHECK(mw_siphash13(a, 3) == 0x2167e9c523e0fc15ULL);
  /* binary 01 02 00: 00, u64 LE length 3, bytes */
  uint8_t bin[12] = {0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0};
  CHECK(mw_siphash13(bin, 12) == 0x50449411496e74d8ULL);
  /* (int64 1, utf8 "x") */
  uint8_t comp[13] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 'x', 0xff};
  CHECK(mw_siphash13(comp, 12) == 0x6ccbda8a9bef3e8cULL);
  /* a longer input crosses the 8-byte word loop: must differ from a prefix */
  CHECK(mw_siphash13(comp, 13) != mw_siphash13(comp, 12));
}

static void test_bloom_insert(void) {
  uint8_t *f = calloc(1, MW_BLOOM_BYTES);
  mw_bloom_insert(f, MW_BLOOM_BLOCKS, 0x7467d6524c084857ULL);
  int nonzero = 0;
  for (uint32_t b = 0; b < MW_BLOOM_BLOCKS; b++)
    for (int i = 0; i < 32; i++)
      if (f[b * 32 + i]) {
        nonzero++;
        CHECK_INT(b, 465);
        break;
      }
  CHECK_INT(nonzero, 1);
  /* fixture block 465 words for ids 1..6 hold exactly the bits of id 1 */
  static const uint32_t w465[8] = {0x400000, 0x400, 0x1, 0x400000, 0x800000, 0x2000000, 0x800, 0x20};
  for (int i = 0; i < 8; i++) CHECK(mw_load_u32le(f + 465 * 32 + 4 * i) == w465[i]);
  CHECK(mw_bloom_maybe_contains(f, MW_BLOOM_BLOCKS, 0x7467d6524c084857ULL));
  CHECK(!mw_bloom_maybe_contains(f, MW_BLOOM_BLOCKS, 0xd8d0c7d906895713ULL));
  free(f);
}

/* Decodes WAL entries 1 (ids 1,2,3) and 3 (ids 4,5,6) of the fixture. */
static bool load_ids_1_6(struct ArrowSchema *schema, struct ArrowArray batches[2]) {
  static const char *const names[2] = {"1000000000000000000000000000000000000000000000000000000000000000",
                                       "1100000000000000000000000000000000000000000000000000000000000000"};
  for (int i = 0; i < 2; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/wal/%s.arrow", GEN_DIR, names[i]);
    size_t len;
    uint8_t *d = slurp(path, &len);
    if (!d) return false;
    struct ArrowSchema s;
    struct ArrowArray *b = NULL;
    size_t nb = 0;
    mw_error e = {0};
    mw_status st = mw_ipc_decode(&s, &b, &nb, d, len, &e);
    free(d);
    if (st != MW_OK || nb != 1) return false;
    batches[i] = b[0];
    mw_free(b);
    if (i == 0) *schema = s;
    else mw_schema_release(&s);
  }
  return true;
}

static void test_bloom_matches_fixture(void) {
  struct ArrowSchema schema;
  struct ArrowArray batches[2];
  CHECK(load_ids_1_6(&schema, batches));
  if (mw_test_failures) return;
  mw_objstore *st = NULL;
  mw_error e = {0}, *ep = &e;
  CHECK_OK(mw_objstore_open(&st, "memory://bloom_test", NULL, ep), ep);
  mw_lance_gen_result r;
  CHECK_OK(mw_lance_write_generation(st, "g", &schema, batches, 2, NULL, &r, ep), ep);
  CHECK_INT(r.physical_rows, 6);
  CHECK_INT(r.primary_key_bytes, 48);
  uint8_t *ours = NULL;
  size_t ol = 0;
  CHECK_OK(mw_objstore_get(st, &ours, &ol, "g/bloom_filter.bin", 0, MW_OBJSTORE_TO_END, ep), ep);
  size_t fl = 0;
  uint8_t *fix = slurp(GEN_DIR "/70752807_gen_1/bloom_filter.bin", &fl);
  CHECK(fix != NULL);
  CHECK_INT(ol, 32768);
  CHECK(fix && ol == fl && memcmp(ours, fix, fl) == 0);
  /* the per-row hash helper agrees with the raw vector */
  mw_pk pk;
  CHECK_OK(mw_pk_resolve(&pk, &schema, NULL, 0, ep), ep);
  mw_buf tmp;
  mw_buf_init(&tmp);
  CHECK(mw_pk_hash(&tmp, &pk, &batches[0], 0) == 0x7467d6524c084857ULL);
  mw_buf_free(&tmp);
  free(fix);
  mw_free(ours);
  mw_objstore_close(st);
  mw_array_release(&batches[0]);
  mw_array_release(&batches[1]);
  mw_schema_release(&schema);
}

int main(void) {
  MW_RUN(test_siphash_vectors);
  MW_RUN(test_bloom_insert);
  MW_RUN(test_bloom_matches_fixture);
  return mw_test_finish();
}
