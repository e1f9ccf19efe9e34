/*
 * test_sha256.c - SHA-256 against the FIPS 180-4 / NIST vectors, around the
 * padding boundaries (55, 56, 63, 64 bytes) and a million 'a's.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "mw_test.h"

static const char *hex(const void *d, size_t n) {
  static char out[MW_SHA256_HEX_LEN + 1];
  mw_sha256_hex(out, d, n);
  return out;
}

static void test_vectors(void) {
  CHECK_STR(hex(NULL, 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_STR(hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK_STR(hex(m448, strlen(m448)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const char *m896 =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
      "opqrsmnopqrstnopqrstu";
  CHECK_STR(hex(m896, strlen(m896)),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  char *a = malloc(1000000);
  memset(a, 'a', 1000000);
  CHECK_STR(hex(a, 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  /* padding boundaries: sha256("a" * n), values from sha256sum */
  CHECK_STR(hex(a, 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK_STR(hex(a, 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK_STR(hex(a, 63), "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  CHECK_STR(hex(a, 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  uint8_t raw[32];
  mw_sha256(raw, "abc", 3);
  CHECK_INT(raw[0], 0xba);
  CHECK_INT(raw[31], 0xad);
  free(a);
}

int main(void) {
  MW_RUN(test_vectors);
  return mw_test_finish();
}
