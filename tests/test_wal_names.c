/* test_wal_names.c - bitrev64 names, shard keys and UUIDs (MEMWAL.md 2). */
#include <stdint.h>

#include "common/uuid.h"
#include "mw_test.h"
#include "wal/wal_names.h"

static void zeros_except(char *expect, const char *head) {
  memset(expect, '0', 64);
  expect[64] = '\0';
  memcpy(expect, head, strlen(head));
}

static void test_bitrev64_examples(void) {
  char name[65], expect[65];
  mw_bitrev64_name(name, 1);
  zeros_except(expect, "1");
  CHECK_STR(name, expect);
  CHECK_STR(name, "1000000000000000000000000000000000000000000000000000000000000000");
  mw_bitrev64_name(name, 2);
  zeros_except(expect, "01");
  CHECK_STR(name, expect);
  mw_bitrev64_name(name, 3);
  zeros_except(expect, "11");
  CHECK_STR(name, expect);
  mw_bitrev64_name(name, 5);
  zeros_except(expect, "101");
  CHECK_STR(name, expect);
  mw_bitrev64_name(name, 8);
  CHECK_STR(name, "0001000000000000000000000000000000000000000000000000000000000000");
  mw_bitrev64_name(name, 0);
  zeros_except(expect, "");
  CHECK_STR(name, expect);
  mw_bitrev64_name(name, UINT64_MAX);
  memset(expect, '1', 64);
  CHECK_STR(name, expect);
  mw_bitrev64_name(name, (uint64_t)1 << 63);
  zeros_except(expect, "");
  expect[63] = '1';
  CHECK_STR(name, expect);
  CHECK_INT(strlen(name), 64);
}

static void test_bitrev64_round_trip(void) {
  const uint64_t vals[] = {0, 1, 2, 3, 5, 7, 8, 255, 1000, 4096, 0x123456789abcdefULL,
                           (uint64_t)1 << 63, UINT64_MAX - 1, UINT64_MAX};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    char name[65], file[80];
    mw_bitrev64_name(name, vals[i]);
    uint64_t back = 12345;
    CHECK(mw_bitrev64_parse(&back, name));
    CHECK(back == vals[i]);
    snprintf(file, sizeof file, "%s.arrow", name);
    back = 12345;
    CHECK(mw_bitrev64_parse(&back, file));
    CHECK(back == vals[i]);
    snprintf(file, sizeof file, "%s.binpb.tmp.123", name);
    back = 12345;
    CHECK(mw_bitrev64_parse(&back, file)); /* text before the FIRST '.' */
    CHECK(back == vals[i]);
  }
  uint64_t v = 0;
  CHECK(mw_bitrev64_parse(&v, "0110000000000000000000000000000000000000000000000000000000000000.binpb"));
  CHECK_INT(v, 6);
}

static void test_bitrev64_rejects(void) {
  char name[70];
  uint64_t v = 77;
  CHECK(!mw_bitrev64_parse(&v, ""));
  CHECK(!mw_bitrev64_parse(&v, NULL));
  CHECK(!mw_bitrev64_parse(&v, ".arrow"));
  CHECK(!mw_bitrev64_parse(&v, "version_hint.json"));
  CHECK(!mw_bitrev64_parse(&v, "1"));
  memset(name, '0', 63);
  name[63] = '\0';
  CHECK(!mw_bitrev64_parse(&v, name)); /* 63 chars */
  memset(name, '0', 65);
  name[65] = '\0';
  CHECK(!mw_bitrev64_parse(&v, name)); /* 65 chars */
  memset(name, '0', 64);
  name[64] = '\0';
  name[10] = '2';
  CHECK(!mw_bitrev64_parse(&v, name));
  name[10] = ' ';
  CHECK(!mw_bitrev64_parse(&v, name));
  name[10] = '0';
  name[0] = 'x';
  CHECK(!mw_bitrev64_parse(&v, name));
  memset(name, '1', 64);
  memcpy(name + 64, "1.x", 4);
  CHECK(!mw_bitrev64_parse(&v, name)); /* 65 before the dot */
  memset(name, '1', 64);
  memcpy(name, ".tmp", 4);
  CHECK(!mw_bitrev64_parse(&v, name));
  CHECK_INT(v, 77); /* untouched on failure */
}

static void test_keys(void) {
  const char *shard = "aa48498d-ac91-59e2-8452-69f46010ace2";
  char key[MW_KEY_SIZE];
  mw_wal_entry_key(key, shard, 3);
  CHECK_STR(key, "_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/wal/"
                 "1100000000000000000000000000000000000000000000000000000000000000.arrow");
  mw_manifest_version_key(key, shard, 8);
  CHECK_STR(key, "_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/manifest/"
                 "0001000000000000000000000000000000000000000000000000000000000000.binpb");
  mw_manifest_hint_key(key, shard);
  CHECK_STR(key, "_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/manifest/version_hint.json");
  mw_wal_dir_prefix(key, shard);
  CHECK_STR(key, "_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/wal/");
  mw_manifest_dir_prefix(key, shard);
  CHECK_STR(key, "_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/manifest/");
  mw_shard_dir_prefix(key, shard);
  CHECK_STR(key, "_mem_wal/aa48498d-ac91-59e2-8452-69f46010ace2/");
  mw_wal_entry_key(key, shard, UINT64_MAX);
  CHECK_INT(strlen(key), 9 + 36 + 5 + 64 + 6);
}

static void test_uuid(void) {
  uint8_t u[16];
  mw_error err_ = {0}, *err = &err_;
  CHECK_OK(mw_uuid_parse(u, "aa48498d-ac91-59e2-8452-69f46010ace2", err), err);
  const uint8_t expect[16] = {0xaa, 0x48, 0x49, 0x8d, 0xac, 0x91, 0x59, 0xe2,
                              0x84, 0x52, 0x69, 0xf4, 0x60, 0x10, 0xac, 0xe2};
  CHECK(memcmp(u, expect, 16) == 0);
  char s[37];
  mw_uuid_format(s, u);
  CHECK_STR(s, "aa48498d-ac91-59e2-8452-69f46010ace2");
  CHECK_OK(mw_uuid_parse(u, "AA48498D-AC91-59E2-8452-69F46010ACE2", err), err);
  CHECK(memcmp(u, expect, 16) == 0);
  const char *bad[] = {"", "aa48498d", "aa48498dac9159e2845269f46010ace2",
                       "aa48498d-ac91-59e2-8452-69f46010ace", "aa48498d-ac91-59e2-8452-69f46010ace2x",
                       "aa48498d-ac91-59e2-8452-69f46010acg2", "aa48498d_ac91-59e2-8452-69f46010ace2",
                       "aa48498-dac91-59e2-8452-69f46010ace2", "-aa48498dac91-59e2-8452-69f46010ace2"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(u, 0x11, 16);
    CHECK_INT(mw_uuid_parse(u, bad[i], err), MW_ERR_INVALID);
    CHECK(strstr(err->message, "invalid UUID") != NULL);
    CHECK(u[0] == 0x11 && u[15] == 0x11);
  }
  CHECK_INT(mw_uuid_parse(u, NULL, err), MW_ERR_INVALID);
  uint8_t a[16], b[16];
  CHECK_OK(mw_uuid_v4(a, err), err);
  CHECK_OK(mw_uuid_v4(b, err), err);
  CHECK(memcmp(a, b, 16) != 0);
  CHECK_INT(a[6] >> 4, 4);
  CHECK_INT(a[8] >> 6, 2);
  mw_uuid_format(s, a);
  CHECK_INT(strlen(s), 36);
  CHECK(s[14] == '4');
  uint8_t c[16];
  CHECK_OK(mw_uuid_parse(c, s, err), err);
  CHECK(memcmp(a, c, 16) == 0);
}

int main(void) {
  MW_RUN(test_bitrev64_examples);
  MW_RUN(test_bitrev64_round_trip);
  MW_RUN(test_bitrev64_rejects);
  MW_RUN(test_keys);
  MW_RUN(test_uuid);
  return mw_test_finish();
}
