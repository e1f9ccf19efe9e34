/* sha256.c - SHA-256 through OpenSSL's libcrypto (already a dependency of
 * libcurl's OpenSSL flavour), which uses the CPU's SHA extensions where
 * present: hashing every S3 request body must not cost more than sending
 * it (a hand-written version ran at ~170 MB/s here, 12 ms per 2 MB put). */
#include "common/sha256.h"

#include <openssl/evp.h>
#include <stdlib.h>

void mw_sha256(uint8_t out[32], const void *data, size_t len) {
  static const uint8_t empty = 0;
  unsigned int n = 32;
  if (EVP_Digest(data ? data : &empty, len, out, &n, EVP_sha256(), NULL) != 1) abort();
}

void mw_sha256_hex(char out[MW_SHA256_HEX_LEN + 1], const void *data, size_t len) {
  static const char hex[] = "0123456789abcdef";
  uint8_t d[32];
  mw_sha256(d, data, len);
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[d[i] >> 4];
    out[2 * i + 1] = hex[d[i] & 15];
  }
  out[MW_SHA256_HEX_LEN] = '\0';
}
