/* test_shard_writer_s3.c - the whole ShardWriter suite (shard_writer_suite.h)
 * on S3: Ceph radosgw started by scripts/test.sh (tests/s3/rgw_start.sh).
 * Needs MW_TEST_S3_URI and the AWS_* variables like test_objstore_s3.c and
 * FAILS without them (CMake registers it only with -DMW_TEST_S3=ON).
 *
 * Plus connection drops under a durable ShardWriter (both modes): the writer
 * talks to radosgw through the loopback proxy of s3_proxy.h, which drops
 * every n-th response after the server applied the request, cuts every m-th
 * request mid-body, or both; afterwards a direct reopen must show every
 * acknowledged row exactly once in the WAL (no entry written twice) and, in
 * MemTable mode, in the replayed MemTable. */
#include "s3_proxy.h"
#include "s3_test_util.h"
#include "shard_writer_suite.h"

static char g_base[640];

/* fault: 0 = lost responses, 1 = cut mid-body, 2 = both. */
static void drops_case(int memtable, int fault) {
  proxy px;
  if (proxy_start(&px) != 0) {
    CHECK(0 && "proxy did not start");
    return;
  }
  char ep[64], uri[800];
  snprintf(ep, sizeof ep, "http://127.0.0.1:%d", px.port);
  snprintf(uri, sizeof uri, "%sdrops-m%d-f%d", g_base, memtable, fault);
  mw_objstore_options o;
  mw_objstore_options_init(&o);
  o.s3_endpoint = ep;
  o.s3_allow_http = 1;
  o.s3_max_attempts = 6;
  mw_objstore *s = NULL, *direct = NULL;
  mw_error e = {0};
  CHECK_OK(mw_objstore_open(&s, uri, &o, &e), &e);
  CHECK_OK(mw_objstore_open(&direct, uri, NULL, &e), &e);
  struct ArrowSchema sc;
  make_schema(&sc);
  mw_shard_writer_config c;
  cfg_init(&c, memtable, 1);
  /* faults from the first request on: the open (claim, fence entry) too */
  if (fault != 1) atomic_store(&px.drop_every, fault == 0 ? 3 : 4);
  if (fault != 0) atomic_store(&px.cut_every, fault == 1 ? 3 : 5);
  mw_shard_writer *w = NULL;
  enum { NPUT = 40 };
  int acked = 0;
  if (s && direct) CHECK_OK(mw_shard_writer_open(&w, s, &c, &sc, NULL, 0, &e), &e);
  if (w) {
    for (int i = 0; i < NPUT; i++) {
      struct ArrowArray b = make_batch((int64_t)i * 10, 10);
      mw_status st = mw_shard_writer_put(NULL, w, &b, 1, &e);
      if (st == MW_OK) acked++;
      else fprintf(stderr, "drops m%d f%d put %d: %s\n", memtable, fault, i, e.message);
      if (b.release) b.release(&b);
    }
    CHECK_OK(mw_shard_writer_close(w, &e), &e);
  }
  atomic_store(&px.drop_every, 0);
  atomic_store(&px.cut_every, 0);
  CHECK_INT(acked, NPUT); /* retries absorb every fault */
  if (fault != 1) CHECK(atomic_load(&px.dropped) >= 10);
  if (fault != 0) CHECK(atomic_load(&px.cutn) >= 8);
  /* the WAL, read directly: every row exactly once, in put order */
  static int64_t ids[4096];
  uint64_t entries = 0;
  size_t n = direct ? wal_ids(direct, ids, 4096, &entries) : 0;
  CHECK_INT(n, NPUT * 10);
  int in_order = 1;
  for (size_t i = 0; i < n; i++) in_order &= ids[i] == (int64_t)i;
  CHECK(in_order);
  CHECK_INT(entries, NPUT); /* one entry per durable put (a fresh shard has no fence entry) */
  /* a new writer (MemTable mode) replays exactly those rows */
  mw_shard_writer_config c2;
  cfg_init(&c2, 1, 1);
  mw_shard_writer *r = NULL;
  if (direct) CHECK_OK(mw_shard_writer_open(&r, direct, &c2, &sc, NULL, 0, &e), &e);
  if (r) {
    n = scan_ids(r, NULL, ids, 4096);
    CHECK_INT(n, NPUT * 10);
    in_order = 1;
    for (size_t i = 0; i < n; i++) in_order &= ids[i] == (int64_t)i;
    CHECK(in_order);
    CHECK_OK(mw_shard_writer_close(r, &e), &e);
  }
  fprintf(stderr, "drops m%d f%d: %d requests, %d responses dropped, %d requests cut\n", memtable, fault,
          atomic_load(&px.requests), atomic_load(&px.dropped), atomic_load(&px.cutn));
  mw_schema_release(&sc);
  mw_objstore_close(s);
  mw_objstore_close(direct);
  proxy_stop(&px);
}

static void test_drops_wal_only(void) {
  for (int f = 0; f < 3; f++) drops_case(0, f);
}

static void test_drops_memtable(void) {
  for (int f = 0; f < 3; f++) drops_case(1, f);
}

int main(void) {
  if (s3_test_base(g_base, sizeof g_base, "test_shard_writer_s3", "sw", "/") != 0) return 1;
  sw_run_suite(g_base);
  MW_RUN(test_drops_wal_only);
  MW_RUN(test_drops_memtable);
  return mw_test_finish();
}
