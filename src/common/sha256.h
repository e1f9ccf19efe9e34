/* sha256.h - SHA-256 (FIPS 180-4), one-shot. Used by the S3 store to send
 * the real payload hash (x-amz-content-sha256), which SigV4 then covers, so
 * the server rejects a body damaged in transit even over plain http. */
#ifndef MW_COMMON_SHA256_H
#define MW_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MW_SHA256_HEX_LEN 64

void mw_sha256(uint8_t out[32], const void *data, size_t len);
/* Lower-case hex digest, NUL-terminated (65 bytes). */
void mw_sha256_hex(char out[MW_SHA256_HEX_LEN + 1], const void *data, size_t len);

#endif
