/* bloom.c - SipHash-1-3 and the split-block bloom filter (see bloom.h). */
#include "lance/bloom.h"

#include "common/buf.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void sip_round(uint64_t *v0, uint64_t *v1, uint64_t *v2, uint64_t *v3) {
  *v0 += *v1; *v1 = ROTL(*v1, 13); *v1 ^= *v0; *v0 = ROTL(*v0, 32);
  *v2 += *v3; *v3 = ROTL(*v3, 16); *v3 ^= *v2;
  *v0 += *v3; *v3 = ROTL(*v3, 21); *v3 ^= *v0;
  *v2 += *v1; *v1 = ROTL(*v1, 17); *v1 ^= *v2; *v2 = ROTL(*v2, 32);
}

uint64_t mw_siphash13(const void *data, size_t len) {
  const uint8_t *p = data;
  /* keys (0, 0) */
  uint64_t v0 = 0x736f6d6570736575ULL, v1 = 0x646f72616e646f6dULL;
  uint64_t v2 = 0x6c7967656e657261ULL, v3 = 0x7465646279746573ULL;
  size_t full = len & ~(size_t)7;
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m = mw_load_u64le(p + i);
    v3 ^= m;
    sip_round(&v0, &v1, &v2, &v3);
    v0 ^= m;
  }
  uint64_t b = (uint64_t)len << 56;
  for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)p[full + i] << (8 * i);
  v3 ^= b;
  sip_round(&v0, &v1, &v2, &v3);
  v0 ^= b;
  v2 ^= 0xff;
  sip_round(&v0, &v1, &v2, &v3);
  sip_round(&v0, &v1, &v2, &v3);
  sip_round(&v0, &v1, &v2, &v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

static const uint32_t SALT[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                 0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

uint32_t mw_bloom_block(uint32_t nblocks, uint64_t hash) {
  return (uint32_t)(((hash >> 32) * (uint64_t)nblocks) >> 32);
}

void mw_bloom_insert(uint8_t *filter, uint32_t nblocks, uint64_t hash) {
  uint8_t *blk = filter + (size_t)mw_bloom_block(nblocks, hash) * 32;
  uint32_t x = (uint32_t)hash;
  for (int i = 0; i < 8; i++) {
    uint32_t bit = (uint32_t)(x * SALT[i]) >> 27;
    mw_store_u32le(blk + 4 * i, mw_load_u32le(blk + 4 * i) | (1u << bit));
  }
}

bool mw_bloom_maybe_contains(const uint8_t *filter, uint32_t nblocks, uint64_t hash) {
  const uint8_t *blk = filter + (size_t)mw_bloom_block(nblocks, hash) * 32;
  uint32_t x = (uint32_t)hash;
  for (int i = 0; i < 8; i++) {
    uint32_t bit = (uint32_t)(x * SALT[i]) >> 27;
    if (!(mw_load_u32le(blk + 4 * i) & (1u << bit))) return false;
  }
  return true;
}
