/* uuid.c - UUID text form, random v4 and name-based v5 UUIDs (see uuid.h).
 * SHA-1 for v5 comes from libcrypto (already a dependency, see sha256.c). */
#include "common/uuid.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>

#include "common/error.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

mw_status mw_uuid_parse(uint8_t out[16], const char *text, mw_error *err) {
  if (!text) return mw_err(err, MW_ERR_INVALID, "UUID is NULL");
  uint8_t tmp[16];
  size_t i = 0, b = 0;
  for (; i < MW_UUID_STR_LEN; i++) {
    char c = text[i];
    if (c == '\0') break;
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') break;
      continue;
    }
    int h = hexval(c), l = hexval(text[i + 1]);
    if (h < 0 || l < 0) break;
    tmp[b++] = (uint8_t)(h << 4 | l);
    i++;
  }
  if (i != MW_UUID_STR_LEN || b != 16 || text[MW_UUID_STR_LEN] != '\0')
    return mw_err(err, MW_ERR_INVALID,
                  "invalid UUID '%.64s': expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", text);
  memcpy(out, tmp, 16);
  return MW_OK;
}

void mw_uuid_format(char out[MW_UUID_STR_LEN + 1], const uint8_t uuid[16]) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (int b = 0; b < 16; b++) {
    if (b == 4 || b == 6 || b == 8 || b == 10) out[o++] = '-';
    out[o++] = hex[uuid[b] >> 4];
    out[o++] = hex[uuid[b] & 15];
  }
  out[o] = '\0';
}

mw_status mw_uuid_v4(uint8_t out[16], mw_error *err) {
  size_t got = 0;
  while (got < 16) {
    ssize_t n = getrandom(out + got, 16 - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return mw_err(err, MW_ERR_IO, "getrandom failed: %s", strerror(errno));
    }
    got += (size_t)n;
  }
  out[6] = (uint8_t)((out[6] & 0x0f) | 0x40); /* version 4 */
  out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  return MW_OK;
}

mw_status mw_uuid_v5(uint8_t out[16], const uint8_t ns[16], const void *name, size_t name_len,
                     mw_error *err) {
  static const uint8_t empty = 0;
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) return mw_err(err, MW_ERR_NOMEM, "UUID v5: cannot allocate a SHA-1 context");
  int ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
           EVP_DigestUpdate(ctx, ns, 16) == 1 &&
           EVP_DigestUpdate(ctx, name_len ? name : &empty, name_len) == 1 &&
           EVP_DigestFinal_ex(ctx, digest, &n) == 1 && n >= 16;
  EVP_MD_CTX_free(ctx);
  if (!ok) return mw_err(err, MW_ERR_INTERNAL, "UUID v5: SHA-1 digest failed");
  memcpy(out, digest, 16);
  out[6] = (uint8_t)((out[6] & 0x0f) | 0x50); /* version 5 */
  out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  return MW_OK;
}
