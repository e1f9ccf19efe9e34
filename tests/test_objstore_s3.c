/*
 * test_objstore_s3.c - the s3:// store against a real S3 server (Ceph
 * radosgw started by scripts/test.sh through tests/s3/rgw_start.sh).
 *
 * Needs MW_TEST_S3_URI (s3://bucket/some-prefix) and the AWS_* variables of
 * the server (AWS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_ALLOW_HTTP=true); FAILS without them, so CMake registers it only with
 * -DMW_TEST_S3=ON. Every test works under a fresh prefix of its own.
 *
 * Covers: the shared contract suite (objstore_contract.h), racing
 * put_if_absent from 8 threads (one winner), readers vs overwriters,
 * listing over many pages (max-keys 7), keys that need URI and XML escaping,
 * configuration errors, and faults through a loopback TCP proxy written
 * here: responses lost after the server applied the request (put_if_absent
 * must answer MW_OK exactly once for its own write and ALREADY_EXISTS when
 * the stored object differs), injected 503 SlowDown answers (retried, or
 * reported with the S3 code once attempts run out), a dead endpoint,
 * injected 409 ConditionalRequestConflict answers (retried), and a PUT
 * held past the client's deadline then let through (MW_ERR_TIMEOUT, and a
 * WAL append through it still writes exactly one entry at one position).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arrow/c_data.h"
#include "common/error.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "mw_test.h"
#include "objstore_contract.h"
#include "s3_proxy.h"
#include "s3_test_util.h"

static char g_base[512]; /* MW_TEST_S3_URI + "/<run id>" */

/* Opens <base>/<sub> with opts (NULL = defaults from the environment). */
static mw_objstore *open_sub(const char *sub, const mw_objstore_options *o) {
  char uri[700];
  snprintf(uri, sizeof uri, "%s/%s", g_base, sub);
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OKE(mw_objstore_open(&s, uri, o, &e), &e);
  return s;
}

static void test_contract_s3(void) {
  mw_objstore *s = open_sub("contract", NULL);
  if (!s) return;
  contract(s);
  mw_objstore_close(s);
  /* a second handle on the same prefix sees the same objects */
  s = open_sub("contract/", NULL);
  if (!s) return;
  expect_obj(s, "a/b/c", "again");
  /* and a handle one level up sees them under "contract/" */
  mw_objstore_close(s);
  s = open_sub("", NULL);
  if (!s) return;
  expect_obj(s, "contract/p/x", "one");
  mw_objstore_close(s);
}

static void test_concurrency_s3(void) {
  mw_objstore *s = open_sub("race", NULL);
  if (!s) return;
  race_on(s);
  overwrite_vs_readers(s);
  mw_objstore_close(s);
}

/* Keys needing escapes in the URL (space, '+', '%', '?', '#', '&', '=',
 * UTF-8) and in the XML listing ('&', '<', '>', quotes). */
static void test_odd_keys(void) {
  mw_objstore *s = open_sub("odd", NULL);
  if (!s) return;
  static const char *const keys[] = {"sp ace/a+b", "pct%41/q?x#y", "amp&lt;/<tag>\"'", "eq=1;x,y",
                                     "utf8/\xc3\xa9t\xc3\xa9", "tilde~/_-.", "..dots"};
  size_t nk = sizeof keys / sizeof keys[0];
  for (size_t i = 0; i < nk; i++) put_ok(s, keys[i], keys[i]);
  for (size_t i = 0; i < nk; i++) expect_obj(s, keys[i], keys[i]);
  char buf[4096], want[4096] = "";
  /* sorted "key=size" list */
  const char *sorted[16];
  for (size_t i = 0; i < nk; i++) sorted[i] = keys[i];
  qsort(sorted, nk, sizeof sorted[0], cmp_str);
  for (size_t i = 0; i < nk; i++) {
    char item[200];
    snprintf(item, sizeof item, "%s%s=%zu", i ? "," : "", sorted[i], strlen(sorted[i]));
    strcat(want, item);
  }
  CHECK_STR(list_str(s, "", buf, sizeof buf), want);
  CHECK_STR(list_str(s, "sp ace/", buf, sizeof buf), "sp ace/a+b=10");
  CHECK_STR(list_str(s, "amp&", buf, sizeof buf), "amp&lt;/<tag>\"'=15");
  CHECK_STR(list_str(s, "pct%", buf, sizeof buf), "pct%41/q?x#y=12");
  CHECK_STR(list_str(s, "utf8/\xc3\xa9", buf, sizeof buf), "utf8/\xc3\xa9t\xc3\xa9=10");
  expect_big(s, 3u << 20);
  CHECK_OKE(mw_objstore_del(s, "big", NULL), NULL);
  CHECK_OKE(mw_objstore_del(s, "pct%41/q?x#y", NULL), NULL);
  expect_missing(s, "pct%41/q?x#y");
  expect_missing(s, "pctA/q?x#y"); /* %41 was not decoded anywhere */
  mw_objstore_close(s);
}

/* More keys than pages: listing follows continuation tokens. */
static int count_cb(void *arg, const char *key, uint64_t size) {
  int *n = arg;
  (*n)++;
  return 0;
}

static void test_pagination(void) {
  mw_objstore_options o;
  mw_objstore_options_init(&o);
  o.s3_list_max_keys = 7;
  mw_objstore *s = open_sub("pages", &o);
  if (!s) return;
  char key[32], want[4096] = "", buf[4096];
  for (int i = 0; i < 50; i++) {
    snprintf(key, sizeof key, "k/%03d", i);
    put_ok(s, key, key + 2);
    char item[40];
    snprintf(item, sizeof item, "%sk/%03d=3", i ? "," : "", i);
    strcat(want, item);
  }
  put_ok(s, "z", "zz");
  CHECK_STR(list_str(s, "k/", buf, sizeof buf), want);
  strcat(want, ",z=2");
  CHECK_STR(list_str(s, "", buf, sizeof buf), want);
  CHECK_STR(list_str(s, "k/04", buf, sizeof buf),
            "k/040=3,k/041=3,k/042=3,k/043=3,k/044=3,k/045=3,k/046=3,k/047=3,k/048=3,k/049=3");
  /* early stop in the middle of the second page */
  listing l;
  memset(&l, 0, sizeof l);
  l.stop_after = 10;
  CHECK_OKE(mw_objstore_list(s, "", collect, &l, NULL), NULL);
  CHECK_INT(l.n, 10);
  for (int i = 0; i < l.n; i++) free(l.keys[i]);
  int n = 0;
  CHECK_OKE(mw_objstore_list(s, "k/0", count_cb, &n, NULL), NULL);
  CHECK_INT(n, 50);
  mw_objstore_close(s);
  /* default page size (server's 1000) gives the same */
  s = open_sub("pages", NULL);
  if (!s) return;
  n = 0;
  CHECK_OKE(mw_objstore_list(s, "", count_cb, &n, NULL), NULL);
  CHECK_INT(n, 51);
  mw_objstore_close(s);
}

/* ------------------------------------------------------------ config */

static void test_config(void) {
  mw_objstore *s = (mw_objstore *)1;
  mw_error e = {0};
  mw_objstore_options o;
  mw_objstore_options_init(&o);
  CHECK_INT(o.s3_allow_http, 0);
  CHECK(o.s3_endpoint == NULL);
  o.s3_endpoint = "http://127.0.0.1:1";
  o.s3_allow_http = -1;
  CHECK_INT(mw_objstore_open(&s, "s3://bucket/x", &o, &e), MW_ERR_INVALID);
  CHECK(s == NULL);
  CHECK(strstr(e.message, "AWS_ALLOW_HTTP") != NULL);
  o.s3_allow_http = 1;
  o.s3_endpoint = "ftp://h";
  CHECK_INT(mw_objstore_open(&s, "s3://bucket/x", &o, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "https://") != NULL);
  o.s3_endpoint = "http://127.0.0.1:1";
  CHECK_INT(mw_objstore_open(&s, "s3://b/x", &o, &e), MW_ERR_INVALID); /* bucket too short */
  CHECK_INT(mw_objstore_open(&s, "s3://bu/cket/x", &o, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_open(&s, "s3://bucket/a//b", &o, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_open(&s, "s3://bucket/../b", &o, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_open(&s, "s3://", &o, NULL), MW_ERR_INVALID);
  o.s3_access_key = "AK";
  o.s3_secret_key = "";
  CHECK_INT(mw_objstore_open(&s, "s3://bucket/x", &o, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "secret") != NULL);
  /* a dead endpoint: connection refused, retried, then a clear I/O error */
  o.s3_secret_key = "SK";
  o.s3_max_attempts = 2;
  CHECK_OKE(mw_objstore_open(&s, "s3://bucket/x", &o, &e), &e);
  if (!s) return;
  uint64_t sz = 9;
  CHECK_INT(mw_objstore_head(s, &sz, "k", &e), MW_ERR_IO);
  CHECK(strstr(e.message, "head 'k'") == e.message);
  CHECK(strstr(e.message, "after 2 attempts") != NULL);
  CHECK(strstr(e.message, "127.0.0.1:1") != NULL);
  mw_objstore_close(s);
  /* wrong secret: 403 with the S3 error code */
  mw_objstore_options_init(&o);
  o.s3_secret_key = "not-the-secret";
  s = open_sub("cfg", &o);
  if (!s) return;
  CHECK_INT(mw_objstore_put(s, "k", "v", 1, &e), MW_ERR_IO);
  CHECK(strstr(e.message, "put 'k': HTTP 403") == e.message);
  CHECK(strstr(e.message, "SignatureDoesNotMatch") != NULL);
  mw_objstore_close(s);
  /* missing bucket */
  const char *ep = getenv("AWS_ENDPOINT");
  mw_objstore_options_init(&o);
  CHECK_OKE(mw_objstore_open(&s, "s3://no-such-bucket-memwal/x", &o, &e), &e);
  if (!s) return;
  CHECK_INT(mw_objstore_put(s, "k", "v", 1, &e), MW_ERR_IO);
  CHECK(strstr(e.message, "NoSuchBucket") != NULL);
  CHECK_INT(mw_objstore_head(s, &sz, "k", &e), MW_ERR_NOT_FOUND);
  mw_objstore_close(s);
  (void)ep;
}

/* ------------------------------------------------------------ fault proxy */

/* The loopback fault proxy lives in s3_proxy.h (shared with
 * test_shard_writer_s3.c). */

static void test_lost_responses(void) {
  proxy px;
  if (proxy_start(&px) != 0) {
    CHECK(0 && "proxy did not start");
    return;
  }
  char ep[64];
  snprintf(ep, sizeof ep, "http://127.0.0.1:%d", px.port);
  mw_objstore_options o;
  mw_objstore_options_init(&o);
  o.s3_endpoint = ep;
  o.s3_allow_http = 1;
  mw_objstore *s = open_sub("lost", &o);   /* through the proxy */
  mw_objstore *direct = open_sub("lost", NULL);
  if (!s || !direct) {
    mw_objstore_close(s);
    mw_objstore_close(direct);
    proxy_stop(&px);
    return;
  }
  mw_error e = {0};
  /* works through the proxy */
  put_ok(s, "warmup", "w");
  expect_obj(direct, "warmup", "w");

  /* 1. our own write whose response was lost: MW_OK, once */
  atomic_store(&px.drop, 1);
  CHECK_OKE(mw_objstore_put_if_absent(s, "wal/1", "entry-1", 7, &e), &e);
  CHECK_INT(atomic_load(&px.dropped), 1);
  expect_obj(direct, "wal/1", "entry-1");
  mw_err_clear(&e);
  CHECK_INT(mw_objstore_put_if_absent(s, "wal/1", "entry-1", 7, &e), MW_ERR_ALREADY_EXISTS);
  CHECK(strstr(e.message, "HTTP 412") != NULL);

  /* 2. somebody else's object, our attempt's answer lost: the 412 on the
   *    retry is not ours (the bytes differ) */
  put_ok(direct, "wal/2", "theirs");
  atomic_store(&px.drop, 1);
  mw_err_clear(&e);
  CHECK_INT(mw_objstore_put_if_absent(s, "wal/2", "mine", 4, &e), MW_ERR_ALREADY_EXISTS);
  CHECK_INT(e.code, MW_ERR_ALREADY_EXISTS);
  CHECK(strstr(e.message, "other content") != NULL);
  CHECK_INT(atomic_load(&px.dropped), 2);
  expect_obj(direct, "wal/2", "theirs");

  /* 3. a sequence of appends with every 3rd response lost: each key acked
   *    exactly once, each holds its own bytes, nothing extra */
  int acked = 0;
  char key[32], val[32], want[2048] = "", buf[2048];
  for (int i = 0; i < 12; i++) {
    snprintf(key, sizeof key, "seq/%02d", i);
    snprintf(val, sizeof val, "value-%02d", i);
    if (i % 3 == 0) atomic_store(&px.drop, 1);
    mw_status st = mw_objstore_put_if_absent(s, key, val, strlen(val), &e);
    CHECK_INT(st, MW_OK);
    if (st == MW_OK) acked++;
    /* a duplicate retry by the caller is a conflict, never a second ack */
    CHECK_INT(mw_objstore_put_if_absent(s, key, val, strlen(val), NULL), MW_ERR_ALREADY_EXISTS);
    char item[40];
    snprintf(item, sizeof item, "%sseq/%02d=8", i ? "," : "", i);
    strcat(want, item);
  }
  CHECK_INT(acked, 12);
  CHECK_INT(atomic_load(&px.dropped), 6);
  CHECK_STR(list_str(direct, "seq/", buf, sizeof buf), want);
  for (int i = 0; i < 12; i++) {
    snprintf(key, sizeof key, "seq/%02d", i);
    snprintf(val, sizeof val, "value-%02d", i);
    expect_obj(direct, key, val);
  }

  /* 4. idempotent operations with a lost answer simply retry */
  atomic_store(&px.drop, 1);
  CHECK_OKE(mw_objstore_put(s, "plain", "p1", 2, &e), &e);
  CHECK_INT(atomic_load(&px.dropped), 7);
  atomic_store(&px.drop, 1);
  expect_obj(s, "plain", "p1"); /* the get's answer lost once */
  CHECK_INT(atomic_load(&px.dropped), 8);
  atomic_store(&px.drop, 1);
  CHECK_OKE(mw_objstore_del(s, "plain", &e), &e);
  expect_missing(direct, "plain");
  CHECK_INT(atomic_load(&px.dropped), 9);
  CHECK_INT(atomic_load(&px.drop), 0);

  /* 5. 503 SlowDown: retried transparently... */
  int before = atomic_load(&px.requests);
  atomic_store(&px.fake503, 2);
  CHECK_OKE(mw_objstore_put_if_absent(s, "slow/1", "s", 1, &e), &e);
  CHECK_INT(atomic_load(&px.faked), 2);
  CHECK_INT(atomic_load(&px.requests) - before, 3);
  expect_obj(direct, "slow/1", "s");
  /* ...and reported with S3's code once the attempts run out */
  mw_objstore_close(s);
  o.s3_max_attempts = 2;
  s = open_sub("lost", &o);
  if (s) {
    atomic_store(&px.fake503, 2);
    mw_err_clear(&e);
    CHECK_INT(mw_objstore_put(s, "slow/2", "s", 1, &e), MW_ERR_IO);
    CHECK(strstr(e.message, "put 'slow/2': HTTP 503 SlowDown: Please reduce your request rate.") ==
          e.message);
    CHECK(strstr(e.message, "after retries") != NULL);
    CHECK_INT(atomic_load(&px.faked), 4);
    expect_missing(direct, "slow/2");
    mw_objstore_close(s);
  }
  mw_objstore_close(direct);
  proxy_stop(&px);
}

/* 409 ConditionalRequestConflict on a conditional PUT (another conditional
 * write on the key is in progress) is retried, not "already exists"; once
 * the attempts run out it is MW_ERR_CONFLICT and nothing was stored. */
static void test_conditional_conflict_409(void) {
  proxy px;
  if (proxy_start(&px) != 0) {
    CHECK(0 && "proxy did not start");
    return;
  }
  char ep[64];
  snprintf(ep, sizeof ep, "http://127.0.0.1:%d", px.port);
  mw_objstore_options o;
  mw_objstore_options_init(&o);
  o.s3_endpoint = ep;
  o.s3_allow_http = 1;
  o.s3_max_attempts = 3;
  mw_objstore *s = open_sub("c409", &o), *direct = open_sub("c409", NULL);
  if (s && direct) {
    mw_error e = {0};
    int before = atomic_load(&px.requests);
    atomic_store(&px.fake409, 2);
    CHECK_OKE(mw_objstore_put_if_absent(s, "k", "v", 1, &e), &e);
    CHECK_INT(atomic_load(&px.faked), 2);
    CHECK_INT(atomic_load(&px.requests) - before, 3);
    expect_obj(direct, "k", "v");
    atomic_store(&px.fake409, 3);
    CHECK_INT(mw_objstore_put_if_absent(s, "k2", "v", 1, &e), MW_ERR_CONFLICT);
    CHECK(strstr(e.message, "HTTP 409 ConditionalRequestConflict") != NULL);
    CHECK_INT(atomic_load(&px.faked), 5);
    expect_missing(direct, "k2");
    /* through the settle helper's caller: a WAL-style put_if_absent of an
     * existing key is still ALREADY_EXISTS (412), never retried as 409 */
    CHECK_INT(mw_objstore_put_if_absent(s, "k", "v", 1, &e), MW_ERR_ALREADY_EXISTS);
    CHECK(strstr(e.message, "HTTP 412") != NULL);
  }
  mw_objstore_close(s);
  mw_objstore_close(direct);
  proxy_stop(&px);
}

/* ------------------------------------------ deadline + settled WAL appends */

#define DL_SHARD "0a0b0c0d-0e0f-4000-8000-000000000042"

typedef struct idbatch {
  struct ArrowArray top, id;
  struct ArrowArray *kids[1];
  const void *tb[1], *ib[2];
  int64_t ids[8];
} idbatch;

static void idb_release(struct ArrowArray *a) { a->release = NULL; }

/* n (<= 8) rows of one int64 column "id": first, first+1, ... */
static void id_batch(idbatch *b, int64_t first, int64_t n) {
  memset(b, 0, sizeof *b);
  for (int64_t i = 0; i < n; i++) b->ids[i] = first + i;
  b->ib[1] = b->ids;
  b->id = (struct ArrowArray){n, 0, 0, 2, 0, b->ib, NULL, NULL, idb_release, NULL};
  b->kids[0] = &b->id;
  b->top = (struct ArrowArray){n, 0, 0, 1, 1, b->tb, b->kids, NULL, idb_release, NULL};
}

static mw_status append_rows(mw_wal_append_result *r, mw_wal_appender *a, int64_t first,
                             mw_error *e) {
  struct ArrowSchema sc;
  mw_schema_init(&sc, "+s", "", NULL, 0, 1, NULL);
  mw_schema_init(sc.children[0], "l", "id", NULL, 0, 0, NULL);
  idbatch b;
  id_batch(&b, first, 3);
  const struct ArrowArray *bp = &b.top;
  mw_status st = mw_wal_appender_append(r, a, &sc, &bp, 1, e);
  mw_schema_release(&sc);
  return st;
}

/* The entry at pos holds exactly our 3 rows first.. (-1 = absent). */
static int64_t entry_first_id(mw_objstore *s, uint64_t pos) {
  mw_wal_tailer *t = NULL;
  if (mw_wal_tailer_open(&t, s, DL_SHARD, NULL) != MW_OK) return -2;
  mw_wal_entry ent;
  int64_t r = -1;
  mw_status st = mw_wal_tailer_read_entry(&ent, t, pos, NULL);
  if (st == MW_OK) {
    r = -3;
    if (ent.n_batches == 1 && ent.rows == 3 && ent.batches[0].n_children == 1) {
      const int64_t *v = ent.batches[0].children[0]->buffers[1];
      if (v[1] == v[0] + 1 && v[2] == v[0] + 2) r = v[0];
    }
    mw_wal_entry_release(&ent);
  } else if (st != MW_ERR_NOT_FOUND) {
    r = -2;
  }
  mw_wal_tailer_close(t);
  return r;
}

static int count_one(void *arg, const char *key, uint64_t size) {
  (void)key;
  (void)size;
  (*(int *)arg)++;
  return 0;
}

static int wal_objects(mw_objstore *s) {
  int n = 0;
  if (mw_objstore_list(s, "_mem_wal/" DL_SHARD "/wal/", count_one, &n, NULL) != MW_OK) return -1;
  return n;
}

/* Waits (up to 10 s) until the proxy's server has answered n held PUTs. */
static int wait_answered(proxy *px, int n) {
  for (int i = 0; i < 1000 && atomic_load(&px->delayed_answered) < n; i++) usleep(10000);
  return atomic_load(&px->delayed_answered);
}

static int64_t ms_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A PUT held by the proxy past the client's deadline (1 s), then let
 * through: the store returns MW_ERR_TIMEOUT (outcome unknown) at the
 * deadline, and the request lands later. A WAL append through it still
 * ends with exactly one entry holding our bytes, at one position:
 *  A. the retry (same bytes, same position) wins; the late request finds
 *     the position taken (HTTP 412) and changes nothing;
 *  B. the retry is held too: the late first request lands, the retry
 *     times out, the read-back finds our bytes (S3: visible = durable). */
static void test_deadline_and_late_landing(void) {
  proxy px;
  if (proxy_start(&px) != 0) {
    CHECK(0 && "proxy did not start");
    return;
  }
  char ep[64];
  snprintf(ep, sizeof ep, "http://127.0.0.1:%d", px.port);
  mw_objstore_options o;
  mw_objstore_options_init(&o);
  CHECK_INT(o.s3_request_timeout_ms, 0); /* = 30 s default */
  o.s3_endpoint = ep;
  o.s3_allow_http = 1;
  o.s3_request_timeout_ms = 1000;
  mw_objstore *s = open_sub("deadline", &o);
  mw_objstore *direct = open_sub("deadline", NULL);
  if (!s || !direct) {
    mw_objstore_close(s);
    mw_objstore_close(direct);
    proxy_stop(&px);
    return;
  }
  mw_error e = {0};
  /* the store: MW_ERR_TIMEOUT at the deadline, the request lands later */
  atomic_store(&px.delay_ms, 2000);
  atomic_store(&px.delay_put, 1);
  int64_t t0 = ms_now();
  CHECK_INT(mw_objstore_put_if_absent(s, "k1", "late", 4, &e), MW_ERR_TIMEOUT);
  int64_t took = ms_now() - t0;
  CHECK(took >= 900 && took < 1900);
  CHECK(strstr(e.message, "outcome unknown") != NULL);
  expect_missing(direct, "k1");
  CHECK_INT(wait_answered(&px, 1), 1);
  CHECK_INT(atomic_load(&px.last_delayed_status), 200);
  expect_obj(direct, "k1", "late");

  mw_wal_appender *a = NULL;
  mw_wal_appender_config acfg; /* the positions below count from 0 */
  mw_wal_appender_config_init(&acfg);
  acfg.first_wal_entry_position = 0;
  CHECK_OKE(mw_wal_appender_open(&a, s, DL_SHARD, &acfg, &e), &e);
  if (!a) {
    mw_objstore_close(s);
    mw_objstore_close(direct);
    proxy_stop(&px);
    return;
  }
  mw_wal_append_result r = {0};
  CHECK_OKE(append_rows(&r, a, 100, &e), &e);
  CHECK_INT(r.position, 0);

  /* A */
  atomic_store(&px.delay_ms, 2000);
  atomic_store(&px.delay_put, 1);
  CHECK_OKE(append_rows(&r, a, 200, &e), &e);
  CHECK_INT(r.position, 1);
  CHECK_INT(wait_answered(&px, 2), 2);
  CHECK_INT(atomic_load(&px.last_delayed_status), 412); /* landed late: refused */
  CHECK_INT(wal_objects(direct), 2);
  CHECK_INT(entry_first_id(direct, 1), 200);
  CHECK_INT(entry_first_id(direct, 2), -1);

  /* B */
  atomic_store(&px.delay_ms, 1500);
  atomic_store(&px.delay_put, 2);
  CHECK_OKE(append_rows(&r, a, 300, &e), &e);
  CHECK_INT(r.position, 2);
  CHECK_INT(wait_answered(&px, 4), 4);
  CHECK_INT(atomic_load(&px.last_delayed_status), 412); /* the retry, refused */
  CHECK_INT(wal_objects(direct), 3);
  CHECK_INT(entry_first_id(direct, 2), 300);
  CHECK_INT(entry_first_id(direct, 3), -1);

  /* and the appender goes on at the next position */
  CHECK_OKE(append_rows(&r, a, 400, &e), &e);
  CHECK_INT(r.position, 3);
  CHECK_INT(entry_first_id(direct, 3), 400);
  CHECK_INT(wal_objects(direct), 4);
  mw_wal_appender_close(a);
  mw_objstore_close(s);
  mw_objstore_close(direct);
  proxy_stop(&px);
}

int main(void) {
  if (s3_test_base(g_base, sizeof g_base, "test_objstore_s3", "objstore", "") != 0) return 1;
  MW_RUN(test_contract_s3);
  MW_RUN(test_concurrency_s3);
  MW_RUN(test_odd_keys);
  MW_RUN(test_pagination);
  MW_RUN(test_config);
  MW_RUN(test_lost_responses);
  MW_RUN(test_conditional_conflict_409);
  MW_RUN(test_deadline_and_late_landing);
  return mw_test_finish();
}
