/* bloom.h - the primary-key bloom filter of a flushed generation
 * (bloom_filter.bin, FORMATS.md part F) and SipHash-1-3.
 *
 * Layout: a split-block bloom filter with no header: nblocks blocks of eight
 * u32 LE words (1024 blocks = 32768 bytes for ndv 8192, fpp 0.00057).
 * Key hash: SipHash-1-3 with keys (0,0) over, for each key column in order,
 * a null byte (00 = not null, 01 = null and nothing else), then the value:
 * integers as little-endian bytes of their width, bool one byte, utf8 bytes
 * then FF, binary as u64 LE length then the bytes.
 * Insert: block = ((h >> 32) * nblocks) >> 32, x = (u32)h; word i gets bit
 * (x * SALT[i]) >> 27 (32-bit multiply). */
#ifndef MW_LANCE_BLOOM_H
#define MW_LANCE_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MW_BLOOM_BLOCKS 1024u
#define MW_BLOOM_BYTES (MW_BLOOM_BLOCKS * 32u)

uint64_t mw_siphash13(const void *data, size_t len);

/* filter: MW_BLOOM_BYTES bytes (zeroed by the caller). */
void mw_bloom_insert(uint8_t *filter, uint32_t nblocks, uint64_t hash);
bool mw_bloom_maybe_contains(const uint8_t *filter, uint32_t nblocks, uint64_t hash);
/* Block index a hash lands in. */
uint32_t mw_bloom_block(uint32_t nblocks, uint64_t hash);

#endif
