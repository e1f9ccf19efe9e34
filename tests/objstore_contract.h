/*
 * objstore_contract.h - the object-store contract suite and its helpers,
 * shared by test_objstore.c (file://, memory://, the fault wrapper) and
 * test_objstore_s3.c (s3:// on radosgw): contract(store) exercises every
 * operation with exact expectations on a fresh, empty store; race_on(store)
 * races put_if_absent from 8 threads (exactly one winner per key);
 * overwrite_vs_readers(store) checks readers never see a partial object.
 * Include once, after mw_test.h.
 */
#ifndef MW_TESTS_OBJSTORE_CONTRACT_H
#define MW_TESTS_OBJSTORE_CONTRACT_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "mw_test.h"
/* CHECK_OK with an error pointer that may be &local or NULL. */
#define CHECK_OKE(expr, eptr)       \
  do {                              \
    mw_error *chk_e_ = (eptr);      \
    CHECK_OK(expr, chk_e_);         \
  } while (0)

/* ------------------------------------------------------------ helpers */

static void put_ok(mw_objstore *s, const char *key, const char *text) {
  mw_error e = {0};
  CHECK_OKE(mw_objstore_put(s, key, text, strlen(text), &e), &e);
}

/* Checks key holds exactly `text`. */
static void expect_obj(mw_objstore *s, const char *key, const char *text) {
  mw_error e = {0};
  uint8_t *d = NULL;
  size_t n = 99;
  mw_status st = mw_objstore_get(s, &d, &n, key, 0, MW_OBJSTORE_TO_END, &e);
  CHECK_INT(st, MW_OK);
  if (st != MW_OK) fprintf(stderr, "  get '%s': %s\n", key, e.message);
  CHECK_INT(n, strlen(text));
  if (st == MW_OK && n == strlen(text)) CHECK(n == 0 || memcmp(d, text, n) == 0);
  mw_free(d);
  uint64_t sz = 99;
  CHECK_INT(mw_objstore_head(s, &sz, key, &e), MW_OK);
  CHECK_INT(sz, strlen(text));
}

static void expect_missing(mw_objstore *s, const char *key) {
  mw_error e = {0};
  uint8_t *d = (uint8_t *)1;
  size_t n = 99;
  CHECK_INT(mw_objstore_get(s, &d, &n, key, 0, MW_OBJSTORE_TO_END, &e), MW_ERR_NOT_FOUND);
  CHECK_INT(e.code, MW_ERR_NOT_FOUND);
  CHECK(d == NULL);
  CHECK_INT(n, 0);
  uint64_t sz = 99;
  CHECK_INT(mw_objstore_head(s, &sz, key, NULL), MW_ERR_NOT_FOUND);
  CHECK_INT(sz, 0);
}

/* Ranged get; compares with `want` (length wlen). */
static void expect_range(mw_objstore *s, const char *key, uint64_t off, uint64_t len, const char *want,
                         size_t wlen) {
  mw_error e = {0};
  uint8_t *d = (uint8_t *)1;
  size_t n = 99;
  CHECK_OKE(mw_objstore_get(s, &d, &n, key, off, len, &e), &e);
  CHECK_INT(n, wlen);
  if (n == wlen && wlen) CHECK(memcmp(d, want, wlen) == 0);
  if (wlen == 0) CHECK(d == NULL);
  mw_free(d);
}

/* Listing collected as a sorted "key=size,key=size" string. */
typedef struct listing {
  char *keys[256];
  uint64_t sizes[256];
  int n;
  int stop_after; /* 0 = never stop */
} listing;

/* A large object (`big` bytes, several MiB: curl sends Expect:
 * 100-continue on S3) round trip under "big", a ranged read of all but 4
 * bytes, and a ranged read deep inside that runs past its end. */
static void expect_big(mw_objstore *s, size_t big) {
  uint8_t *data = malloc(big), *d = NULL;
  size_t n = 0;
  for (size_t i = 0; i < big; i++) data[i] = (uint8_t)(i * 2654435761u >> 13);
  mw_error e = {0};
  CHECK_OKE(mw_objstore_put(s, "big", data, big, &e), &e);
  CHECK_OKE(mw_objstore_get(s, &d, &n, "big", 0, MW_OBJSTORE_TO_END, &e), &e);
  CHECK_INT(n, big);
  CHECK(n == big && memcmp(d, data, big) == 0);
  mw_free(d);
  /* a ranged read of more than 2 MiB that is no multiple of it (the file
   * store's huge-page buffers round their size up) */
  CHECK_OKE(mw_objstore_get(s, &d, &n, "big", 3, big - 4, &e), &e);
  CHECK_INT(n, big - 4);
  CHECK(n == big - 4 && memcmp(d, data + 3, big - 4) == 0);
  mw_free(d);
  CHECK_OKE(mw_objstore_get(s, &d, &n, "big", big - 1000, 5000, &e), &e);
  CHECK_INT(n, 1000);
  CHECK(n == 1000 && memcmp(d, data + big - 1000, 1000) == 0);
  mw_free(d);
  free(data);
}

static int collect(void *arg, const char *key, uint64_t size) {
  listing *l = arg;
  if (l->n < 256) {
    l->keys[l->n] = strdup(key);
    l->sizes[l->n] = size;
    l->n++;
  }
  return l->stop_after && l->n >= l->stop_after;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists prefix and returns the canonical string in buf. */
static const char *list_str(mw_objstore *s, const char *prefix, char *buf, size_t cap) {
  listing l;
  memset(&l, 0, sizeof l);
  mw_error e = {0};
  CHECK_OKE(mw_objstore_list(s, prefix, collect, &l, &e), &e);
  /* sort keys with their sizes: sort "key=size" strings */
  char *items[256];
  for (int i = 0; i < l.n; i++) {
    items[i] = malloc(strlen(l.keys[i]) + 32);
    sprintf(items[i], "%s=%llu", l.keys[i], (unsigned long long)l.sizes[i]);
    free(l.keys[i]);
  }
  qsort(items, (size_t)l.n, sizeof items[0], cmp_str);
  buf[0] = '\0';
  for (int i = 0; i < l.n; i++) {
    if (i) strncat(buf, ",", cap - strlen(buf) - 1);
    strncat(buf, items[i], cap - strlen(buf) - 1);
    free(items[i]);
  }
  return buf;
}

/* ------------------------------------------------------------ contract */

static void contract(mw_objstore *s) {
  mw_error e = {0};
  char buf[4096];

  /* put / get / overwrite */
  put_ok(s, "a/b/c", "hello");
  expect_obj(s, "a/b/c", "hello");
  put_ok(s, "a/b/c", "bye!!!");
  expect_obj(s, "a/b/c", "bye!!!");
  put_ok(s, "a/b/d", "x");
  put_ok(s, "a/bc", "yz");

  /* put_if_absent: conflict, content unchanged */
  CHECK_OKE(mw_objstore_put_if_absent(s, "p/x", "one", 3, &e), &e);
  mw_err_clear(&e);
  CHECK_INT(mw_objstore_put_if_absent(s, "p/x", "two", 3, &e), MW_ERR_ALREADY_EXISTS);
  CHECK_INT(e.code, MW_ERR_ALREADY_EXISTS);
  CHECK(strstr(e.message, "p/x") != NULL);
  expect_obj(s, "p/x", "one");
  CHECK_INT(mw_objstore_put_if_absent(s, "a/b/c", "zz", 2, NULL), MW_ERR_ALREADY_EXISTS);
  expect_obj(s, "a/b/c", "bye!!!");

  /* ranged gets */
  put_ok(s, "r", "0123456789");
  expect_range(s, "r", 2, 3, "234", 3);
  expect_range(s, "r", 7, 100, "789", 3);
  expect_range(s, "r", 9, MW_OBJSTORE_TO_END, "9", 1);
  expect_range(s, "r", 0, MW_OBJSTORE_TO_END, "0123456789", 10);
  expect_range(s, "r", 0, 10, "0123456789", 10);
  expect_range(s, "r", 3, 0, "", 0);
  expect_range(s, "r", 10, 5, "", 0);
  expect_range(s, "r", 50, MW_OBJSTORE_TO_END, "", 0);
  expect_range(s, "r", UINT64_MAX, UINT64_MAX, "", 0);

  /* NOT_FOUND */
  expect_missing(s, "nope");
  expect_missing(s, "a/b/c/deeper");
  expect_missing(s, "a/b"); /* a "folder" is not an object */
  uint8_t *d = (uint8_t *)1;
  size_t n = 7;
  CHECK_INT(mw_objstore_get(s, &d, &n, "nope", 2, 3, NULL), MW_ERR_NOT_FOUND);
  CHECK(d == NULL);
  CHECK_INT(n, 0);

  /* empty objects */
  CHECK_OKE(mw_objstore_put(s, "e/empty", NULL, 0, &e), &e);
  expect_obj(s, "e/empty", "");
  expect_range(s, "e/empty", 0, 10, "", 0);
  CHECK_OKE(mw_objstore_put_if_absent(s, "e/empty2", "", 0, &e), &e);
  expect_obj(s, "e/empty2", "");
  CHECK_INT(mw_objstore_put_if_absent(s, "e/empty2", "", 0, NULL), MW_ERR_ALREADY_EXISTS);

  /* binary data with NULs */
  uint8_t bin[300];
  for (int i = 0; i < 300; i++) bin[i] = (uint8_t)(i * 7);
  bin[0] = 0;
  bin[150] = 0;
  CHECK_OKE(mw_objstore_put(s, "bin/obj", bin, sizeof bin, &e), &e);
  d = NULL;
  n = 0;
  CHECK_OKE(mw_objstore_get(s, &d, &n, "bin/obj", 0, MW_OBJSTORE_TO_END, &e), &e);
  CHECK_INT(n, 300);
  CHECK(n == 300 && memcmp(d, bin, 300) == 0);
  mw_free(d);
  expect_range(s, "bin/obj", 140, 20, (const char *)bin + 140, 20);

  /* nested folders */
  put_ok(s, "n/1/2/3/4/5/deep", "deep");
  expect_obj(s, "n/1/2/3/4/5/deep", "deep");

  /* list */
  CHECK_STR(list_str(s, "", buf, sizeof buf),
            "a/b/c=6,a/b/d=1,a/bc=2,bin/obj=300,e/empty2=0,e/empty=0,n/1/2/3/4/5/deep=4,p/x=3,r=10");
  CHECK_STR(list_str(s, NULL, buf, sizeof buf),
            "a/b/c=6,a/b/d=1,a/bc=2,bin/obj=300,e/empty2=0,e/empty=0,n/1/2/3/4/5/deep=4,p/x=3,r=10");
  CHECK_STR(list_str(s, "a/", buf, sizeof buf), "a/b/c=6,a/b/d=1,a/bc=2");
  CHECK_STR(list_str(s, "a/b", buf, sizeof buf), "a/b/c=6,a/b/d=1,a/bc=2");
  CHECK_STR(list_str(s, "a/b/", buf, sizeof buf), "a/b/c=6,a/b/d=1");
  CHECK_STR(list_str(s, "a/b/c", buf, sizeof buf), "a/b/c=6");
  CHECK_STR(list_str(s, "e/empty", buf, sizeof buf), "e/empty2=0,e/empty=0");
  CHECK_STR(list_str(s, "n/1/2", buf, sizeof buf), "n/1/2/3/4/5/deep=4");
  CHECK_STR(list_str(s, "p", buf, sizeof buf), "p/x=3");
  CHECK_STR(list_str(s, "zzz", buf, sizeof buf), "");
  CHECK_STR(list_str(s, "a/b/c/", buf, sizeof buf), "");
  CHECK_STR(list_str(s, "q/r/s/", buf, sizeof buf), "");
  /* early stop */
  listing l;
  memset(&l, 0, sizeof l);
  l.stop_after = 2;
  CHECK_OKE(mw_objstore_list(s, "", collect, &l, &e), &e);
  CHECK_INT(l.n, 2);
  for (int i = 0; i < l.n; i++) free(l.keys[i]);
  CHECK_INT(mw_objstore_list(s, "", NULL, NULL, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_list(s, "/a", collect, &l, NULL), MW_ERR_INVALID);
  static const char *const bad_prefixes[] = {"/", "../", "../x", "a/../", "a//", "./a", "a/./b/c"};
  for (size_t i = 0; i < sizeof bad_prefixes / sizeof bad_prefixes[0]; i++) {
    mw_err_clear(&e);
    CHECK_INT(mw_objstore_list(s, bad_prefixes[i], collect, &l, &e), MW_ERR_INVALID);
    CHECK_INT(e.code, MW_ERR_INVALID);
    CHECK(strstr(e.message, "list: prefix") == e.message);
  }
  CHECK_INT(l.n, 2);
  CHECK_STR(list_str(s, ".", buf, sizeof buf), "");
  CHECK_STR(list_str(s, "..", buf, sizeof buf), "");

  /* delete */
  CHECK_OKE(mw_objstore_del(s, "a/b/c", &e), &e);
  expect_missing(s, "a/b/c");
  CHECK_OKE(mw_objstore_del(s, "a/b/c", &e), &e);
  CHECK_OKE(mw_objstore_del(s, "never/was/here", &e), &e);
  CHECK_STR(list_str(s, "a/", buf, sizeof buf), "a/b/d=1,a/bc=2");
  expect_obj(s, "a/b/d", "x");
  /* re-create after delete */
  CHECK_OKE(mw_objstore_put_if_absent(s, "a/b/c", "again", 5, &e), &e);
  expect_obj(s, "a/b/c", "again");

  /* invalid keys */
  static const char *const bad[] = {"", "/abs", "a//b", "a/", "./a", "a/./b", "a/..", "..", ".",
                                    "../x", "a/../b", "//"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *k = bad[i];
    uint64_t sz;
    mw_err_clear(&e);
    CHECK_INT(mw_objstore_put(s, k, "v", 1, &e), MW_ERR_INVALID);
    CHECK_INT(e.code, MW_ERR_INVALID);
    CHECK_INT(mw_objstore_put_if_absent(s, k, "v", 1, NULL), MW_ERR_INVALID);
    CHECK_INT(mw_objstore_get(s, &d, &n, k, 0, 1, NULL), MW_ERR_INVALID);
    CHECK_INT(mw_objstore_head(s, &sz, k, NULL), MW_ERR_INVALID);
    CHECK_INT(mw_objstore_del(s, k, NULL), MW_ERR_INVALID);
  }
  CHECK_INT(mw_objstore_put(s, NULL, "v", 1, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_put(s, "ok", NULL, 3, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_get(s, NULL, &n, "r", 0, 1, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_head(s, NULL, "r", NULL), MW_ERR_INVALID);
  expect_missing(s, "ok");
  /* nothing invalid reached the store */
  CHECK_STR(list_str(s, "", buf, sizeof buf),
            "a/b/c=5,a/b/d=1,a/bc=2,bin/obj=300,e/empty2=0,e/empty=0,n/1/2/3/4/5/deep=4,p/x=3,r=10");
}

/* ------------------------------------------------------------ concurrency */

#define RACE_THREADS 8
#define RACE_KEYS 24

typedef struct race_arg {
  mw_objstore *s;
  int id;
  mw_status results[RACE_KEYS];
} race_arg;

static void *race_main(void *p) {
  race_arg *a = p;
  char key[32], val[32];
  snprintf(val, sizeof val, "thread-%d", a->id);
  for (int k = 0; k < RACE_KEYS; k++) {
    snprintf(key, sizeof key, "race/k%02d", k);
    mw_error e = {0};
    a->results[k] = mw_objstore_put_if_absent(a->s, key, val, strlen(val), &e);
    if (a->results[k] != MW_OK && a->results[k] != MW_ERR_ALREADY_EXISTS)
      fprintf(stderr, "race: %s\n", e.message);
    if (a->results[k] == MW_ERR_ALREADY_EXISTS && e.code != MW_ERR_ALREADY_EXISTS)
      a->results[k] = MW_ERR_INTERNAL;
  }
  return NULL;
}

static void race_on(mw_objstore *s) {
  pthread_t th[RACE_THREADS];
  race_arg args[RACE_THREADS];
  for (int i = 0; i < RACE_THREADS; i++) {
    args[i].s = s;
    args[i].id = i;
    CHECK_INT(pthread_create(&th[i], NULL, race_main, &args[i]), 0);
  }
  for (int i = 0; i < RACE_THREADS; i++) pthread_join(th[i], NULL);
  char key[32], val[32];
  for (int k = 0; k < RACE_KEYS; k++) {
    int winners = 0, losers = 0, winner = -1;
    for (int i = 0; i < RACE_THREADS; i++) {
      if (args[i].results[k] == MW_OK) {
        winners++;
        winner = i;
      } else if (args[i].results[k] == MW_ERR_ALREADY_EXISTS) {
        losers++;
      }
    }
    CHECK_INT(winners, 1);
    CHECK_INT(losers, RACE_THREADS - 1);
    snprintf(key, sizeof key, "race/k%02d", k);
    snprintf(val, sizeof val, "thread-%d", winner);
    expect_obj(s, key, val);
  }
  char buf[4096];
  list_str(s, "race/", buf, sizeof buf);
  int commas = 0;
  for (char *c = buf; *c; c++) commas += *c == ',';
  CHECK_INT(commas, RACE_KEYS - 1);
}

/* Writers overwrite one key with whole-A or whole-B objects; readers must
 * only ever see one of them, complete. */
typedef struct ow_arg {
  mw_objstore *s;
  int id;
  int bad;
  int reads;
} ow_arg;

#define OW_SIZE 8192

static void *ow_writer(void *p) {
  ow_arg *a = p;
  uint8_t *v = malloc(OW_SIZE);
  memset(v, a->id % 2 ? 'B' : 'A', OW_SIZE);
  for (int i = 0; i < 40; i++)
    if (mw_objstore_put(a->s, "ow/key", v, OW_SIZE, NULL) != MW_OK) a->bad++;
  free(v);
  return NULL;
}

static void *ow_reader(void *p) {
  ow_arg *a = p;
  for (int i = 0; i < 200; i++) {
    uint8_t *d = NULL;
    size_t n = 0;
    if (mw_objstore_get(a->s, &d, &n, "ow/key", 0, MW_OBJSTORE_TO_END, NULL) != MW_OK || n != OW_SIZE) {
      a->bad++;
    } else {
      for (size_t j = 1; j < n; j++)
        if (d[j] != d[0]) {
          a->bad++;
          break;
        }
      a->reads++;
    }
    mw_free(d);
  }
  return NULL;
}

static void overwrite_vs_readers(mw_objstore *s) {
  uint8_t *v = malloc(OW_SIZE);
  memset(v, 'A', OW_SIZE);
  mw_error e = {0};
  CHECK_OKE(mw_objstore_put(s, "ow/key", v, OW_SIZE, &e), &e);
  free(v);
  pthread_t th[4];
  ow_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (ow_arg){s, i, 0, 0};
    CHECK_INT(pthread_create(&th[i], NULL, i < 2 ? ow_writer : ow_reader, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) CHECK_INT(args[i].bad, 0);
  CHECK_INT(args[2].reads + args[3].reads, 400);
}

#endif
