/*
 * test_objstore.c - the object-store contract, run against every built-in
 * store (file:// in a mkdtemp folder, memory://, and the fault wrapper over
 * memory with nothing armed), plus store-specific checks: URI dispatch, file
 * atomicity details (temp files invisible, nothing left behind), objects
 * put from pieces (put_if_absent_v), staged put_if_absent (stage, publish,
 * sync, discard; the fault wrapper's stage/sync faults and stall), racing
 * put_if_absent from 8 threads, concurrent overwrite vs readers, and the
 * fault wrapper's documented semantics (nth call, transient/persistent, op
 * mask, key prefix, wrote-but-errored, crash with rollback of in-flight
 * writes). The contract itself lives in objstore_contract.h (shared with
 * test_objstore_s3.c). Every check asserts exact values.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "mw_test.h"
#include "fwd_store.h"
#include "objstore/objstore.h"
#include "objstore/objstore_fault.h"

static char g_tmpdir[256];

#include "objstore_contract.h"

static void rm_rf(const char *path) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
  CHECK_INT(system(cmd), 0);
}

static void test_contract_file(void) {
  char root[400], uri[420];
  snprintf(root, sizeof root, "%s/contract", g_tmpdir);
  snprintf(uri, sizeof uri, "file://%s", root);
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OKE(mw_objstore_open(&s, uri, NULL, &e), &e);
  if (!s) return;
  contract(s);
  mw_objstore_close(s);
  /* The bytes are where the layout says, and persist across handles. */
  char p[500];
  snprintf(p, sizeof p, "%s/a/b/d", root);
  FILE *f = fopen(p, "rb");
  CHECK(f != NULL);
  if (f) {
    char c[8] = {0};
    CHECK_INT(fread(c, 1, sizeof c, f), 1);
    CHECK_STR(c, "x");
    fclose(f);
  }
  /* plain absolute path, fsync off */
  mw_objstore_options o;
  mw_objstore_options_init(&o);
  CHECK_INT(o.fsync, 1);
  CHECK_INT(o.struct_size, sizeof o);
  o.fsync = 0;
  CHECK_OKE(mw_objstore_open(&s, root, &o, &e), &e);
  if (!s) return;
  expect_obj(s, "a/b/c", "again");
  mw_objstore_close(s);
}

static void test_contract_memory(void) {
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OKE(mw_objstore_open(&s, "memory://contract", NULL, &e), &e);
  if (!s) return;
  contract(s);
  mw_objstore_close(s);
  /* anonymous store */
  CHECK_OKE(mw_objstore_open(&s, "memory://", NULL, &e), &e);
  if (!s) return;
  contract(s);
  mw_objstore_close(s);
}

static void test_contract_fault_passthrough(void) {
  mw_objstore *inner = NULL, *f = NULL;
  mw_error e = {0};
  CHECK_OKE(mw_objstore_open(&inner, "memory://", NULL, &e), &e);
  CHECK_OKE(mw_objstore_fault_new(&f, inner, &e), &e);
  if (!f) return;
  CHECK(mw_objstore_is_fault(f));
  CHECK(!mw_objstore_is_fault(inner));
  contract(f);
  mw_fault_counters c;
  mw_objstore_fault_counters(f, &c);
  CHECK_INT(c.injected, 0);
  CHECK_INT(c.rolled_back, 0);
  /* exact call counts of contract(); rejected arguments never reach it */
  CHECK_INT(c.calls[MW_FAULT_OP_PUT], 8);
  CHECK_INT(c.calls[MW_FAULT_OP_PUT_IF_ABSENT], 6);
  CHECK_INT(c.calls[MW_FAULT_OP_GET], 27);
  CHECK_INT(c.calls[MW_FAULT_OP_HEAD], 14);
  CHECK_INT(c.calls[MW_FAULT_OP_LIST], 17);
  CHECK_INT(c.calls[MW_FAULT_OP_DEL], 3);
  mw_objstore_close(f);
  /* inner still usable after closing the wrapper */
  expect_obj(inner, "a/b/c", "again");
  mw_objstore_close(inner);
}

/* ------------------------------------------------------------ URIs */

static int g_destroyed;
static mw_status dummy_put(void *self, const char *k, const void *d, size_t n, mw_error *err) {
  return MW_ERR_IO; /* no message on purpose */
}
static void dummy_destroy(void *self) { g_destroyed++; }

static void test_uri_and_new(void) {
  mw_objstore *s = (mw_objstore *)1;
  mw_error e = {0};
  CHECK_INT(mw_objstore_open(&s, "gs://bucket/path", NULL, &e), MW_ERR_UNSUPPORTED);
  CHECK(s == NULL);
  CHECK_INT(e.code, MW_ERR_UNSUPPORTED);
  CHECK(strstr(e.message, "'gs'") != NULL);
  CHECK_INT(mw_objstore_open(&s, "az+blob://b/c", NULL, NULL), MW_ERR_UNSUPPORTED);
  CHECK_INT(mw_objstore_open(&s, "", NULL, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_open(&s, NULL, NULL, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_open(NULL, "memory://x", NULL, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_open(&s, "file://relative/x", NULL, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_open(&s, "file:///tmp/bad%zzescape", NULL, NULL), MW_ERR_INVALID);
  mw_objstore_options zero;
  memset(&zero, 0, sizeof zero);
  CHECK_INT(mw_objstore_open(&s, "memory://x", &zero, NULL), MW_ERR_INVALID);

  /* memory:// same name = same contents; freed with the last handle */
  mw_objstore *a = NULL, *b = NULL, *c = NULL;
  CHECK_OKE(mw_objstore_open(&a, "memory://shared", NULL, &e), &e);
  CHECK_OKE(mw_objstore_open(&b, "MEMORY://shared", NULL, &e), &e);
  CHECK_OKE(mw_objstore_open(&c, "memory://other", NULL, &e), &e);
  put_ok(a, "k", "v1");
  expect_obj(b, "k", "v1");
  expect_missing(c, "k");
  mw_objstore_close(a);
  expect_obj(b, "k", "v1"); /* still one handle open */
  mw_objstore_close(b);
  CHECK_OKE(mw_objstore_open(&a, "memory://shared", NULL, &e), &e);
  expect_missing(a, "k"); /* last close freed it */
  mw_objstore_close(a);
  mw_objstore_close(c);
  /* anonymous stores are private */
  CHECK_OKE(mw_objstore_open(&a, "memory://", NULL, &e), &e);
  CHECK_OKE(mw_objstore_open(&b, "memory://", NULL, &e), &e);
  put_ok(a, "k", "v");
  expect_missing(b, "k");
  mw_objstore_close(a);
  mw_objstore_close(b);
  mw_objstore_close(NULL);

  /* file:// with escapes and localhost */
  char uri[600], path[600];
  snprintf(uri, sizeof uri, "file://localhost%s/with%%20space", g_tmpdir);
  CHECK_OKE(mw_objstore_open(&a, uri, NULL, &e), &e);
  if (a) {
    put_ok(a, "k", "v");
    mw_objstore_close(a);
  }
  snprintf(path, sizeof path, "%s/with space/k", g_tmpdir);
  struct stat sb;
  CHECK_INT(stat(path, &sb), 0);
  CHECK_INT(sb.st_size, 1);
  /* relative plain path: resolved against the cwd once */
  char rel[64];
  snprintf(rel, sizeof rel, "objstore-rel-%ld/x/", (long)getpid());
  CHECK_OKE(mw_objstore_open(&a, rel, NULL, &e), &e);
  if (a) {
    put_ok(a, "k", "rel");
    mw_objstore_close(a);
  }
  snprintf(path, sizeof path, "objstore-rel-%ld/x/k", (long)getpid());
  CHECK_INT(stat(path, &sb), 0);
  snprintf(path, sizeof path, "objstore-rel-%ld", (long)getpid());
  rm_rf(path);
  /* a root that is a file */
  snprintf(path, sizeof path, "%s/with space/k", g_tmpdir);
  CHECK_INT(mw_objstore_open(&a, path, NULL, &e), MW_ERR_IO);

  /* custom vtables */
  static const mw_objstore_vtable incomplete = {
      .abi_version = MW_OBJSTORE_ABI_VERSION, .struct_size = sizeof(mw_objstore_vtable),
      .put = dummy_put, .destroy = dummy_destroy};
  g_destroyed = 0;
  CHECK_INT(mw_objstore_new(&s, &incomplete, NULL, &e), MW_ERR_INVALID);
  CHECK_INT(g_destroyed, 1); /* self released on failure */
  CHECK(s == NULL);
  mw_objstore_vtable v2 = incomplete;
  v2.abi_version = 2;
  CHECK_INT(mw_objstore_new(&s, &v2, NULL, NULL), MW_ERR_INVALID);
  CHECK_INT(g_destroyed, 2);
}

/* A custom store that fails without a message: the library writes one. */
static mw_status dummy_get(void *self, uint8_t **o, size_t *n, const char *k, uint64_t off,
                           uint64_t len, mw_error *err) {
  *o = malloc(4); /* junk the library must free */
  *n = 4;
  return MW_ERR_IO;
}
static mw_status dummy_pia(void *self, const char *k, const void *d, size_t n, mw_error *err) {
  return MW_OK;
}
static mw_status dummy_head(void *self, uint64_t *o, const char *k, mw_error *err) { return MW_OK; }
static mw_status dummy_list(void *self, const char *p, mw_objstore_list_fn fn, void *a, mw_error *err) {
  return MW_OK;
}
static mw_status dummy_del(void *self, const char *k, mw_error *err) { return MW_OK; }

static void test_custom_store(void) {
  static const mw_objstore_vtable vt = {
      .abi_version = MW_OBJSTORE_ABI_VERSION, .struct_size = sizeof(mw_objstore_vtable),
      .put = dummy_put, .put_if_absent = dummy_pia, .get = dummy_get, .head = dummy_head,
      .list = dummy_list, .del = dummy_del, .destroy = dummy_destroy};
  mw_objstore *s = NULL;
  mw_error e = {0};
  g_destroyed = 0;
  CHECK_OKE(mw_objstore_new(&s, &vt, NULL, &e), &e);
  if (!s) return;
  CHECK_INT(mw_objstore_put(s, "k", "v", 1, &e), MW_ERR_IO);
  CHECK_INT(e.code, MW_ERR_IO);
  CHECK_STR(e.message, "put 'k': I/O error");
  uint8_t *d = (uint8_t *)1;
  size_t n = 9;
  CHECK_INT(mw_objstore_get(s, &d, &n, "k", 0, 1, &e), MW_ERR_IO);
  CHECK(d == NULL);
  CHECK_INT(n, 0);
  CHECK_OKE(mw_objstore_put_if_absent(s, "k", "v", 1, &e), &e);
  CHECK_INT(e.code, MW_OK);
  mw_objstore_close(s);
  CHECK_INT(g_destroyed, 1);
}

/* ------------------------------------------------------------ file details */

static int count_tmp_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (strncmp(de->d_name, ".tmp-", 5) == 0) n++;
  closedir(d);
  return n;
}

/* put_if_absent_v: the pieces in order make the object (file:// writes them
 * one by one, memory:// and the fault wrapper get them joined); an existing
 * key is left as it was; nothing is left behind in the folder. */
static void test_put_if_absent_pieces(void) {
  char root[400], p[600], mname[64];
  snprintf(root, sizeof root, "%s/pieces", g_tmpdir);
  snprintf(mname, sizeof mname, "memory://pieces-%d", (int)getpid());
  for (int k = 0; k < 2; k++) {
    mw_objstore *s = NULL;
    mw_error e = {0};
    CHECK_OKE(mw_objstore_open(&s, k == 0 ? root : mname, NULL, &e), &e);
    if (!s) continue;
    const mw_iov iov[4] = {{"ab", 2}, {NULL, 0}, {"", 0}, {"cde", 3}};
    CHECK_OKE(mw_objstore_put_if_absent_v(s, "p/x", iov, 4, &e), &e);
    expect_obj(s, "p/x", "abcde");
    const mw_iov one[1] = {{"z", 1}};
    CHECK_OKE(mw_objstore_put_if_absent_v(s, "p/one", one, 1, &e), &e);
    expect_obj(s, "p/one", "z");
    CHECK_OKE(mw_objstore_put_if_absent_v(s, "p/empty", NULL, 0, &e), &e);
    expect_obj(s, "p/empty", "");
    CHECK_INT(mw_objstore_put_if_absent_v(s, "p/x", one, 1, NULL), MW_ERR_ALREADY_EXISTS);
    expect_obj(s, "p/x", "abcde");
    const mw_iov bad[1] = {{NULL, 3}};
    CHECK_INT(mw_objstore_put_if_absent_v(s, "p/bad", bad, 1, NULL), MW_ERR_INVALID);
    if (k == 0) {
      snprintf(p, sizeof p, "%s/p", root);
      CHECK_INT(count_tmp_files(p), 0);
    }
    mw_objstore_close(s);
  }
}

static void test_file_details(void) {
  char root[400], p[600], buf[2048];
  snprintf(root, sizeof root, "%s/details", g_tmpdir);
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OKE(mw_objstore_open(&s, root, NULL, &e), &e);
  if (!s) return;
  put_ok(s, "t/real", "real");
  CHECK_OKE(mw_objstore_put_if_absent(s, "t/once", "1", 1, &e), &e);
  CHECK_INT(mw_objstore_put_if_absent(s, "t/once", "2", 1, NULL), MW_ERR_ALREADY_EXISTS);
  snprintf(p, sizeof p, "%s/t", root);
  CHECK_INT(count_tmp_files(p), 0); /* nothing left behind, also by the loser */

  /* a temp file left by a crash (complete or partial) is invisible */
  snprintf(p, sizeof p, "%s/t/.tmp-999-1-deadbeef", root);
  FILE *f = fopen(p, "wb");
  CHECK(f != NULL);
  if (f) {
    fputs("partial", f);
    fclose(f);
  }
  snprintf(p, sizeof p, "%s/u/.tmp-1-2-3", root);
  snprintf(buf, sizeof buf, "%s/u", root);
  CHECK_INT(mkdir(buf, 0755), 0);
  f = fopen(p, "wb");
  if (f) fclose(f);
  CHECK_STR(list_str(s, "", buf, sizeof buf), "t/once=1,t/real=4");
  CHECK_STR(list_str(s, "t/.tmp", buf, sizeof buf), "");
  CHECK_STR(list_str(s, "u", buf, sizeof buf), "");
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK_INT(mw_objstore_get(s, &d, &n, "t/.tmp-999-1-deadbeef", 0, MW_OBJSTORE_TO_END, &e),
            MW_ERR_INVALID);
  CHECK_INT(mw_objstore_put(s, "t/.tmp-x", "v", 1, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_del(s, "t/.tmp-999-1-deadbeef", NULL), MW_ERR_INVALID);
  /* a ".tmp-" folder segment that is not the last one is an ordinary key */
  put_ok(s, "v/.tmp-dir/obj", "ok");
  expect_obj(s, "v/.tmp-dir/obj", "ok");
  CHECK_STR(list_str(s, "v/", buf, sizeof buf), "v/.tmp-dir/obj=2");
  CHECK_STR(list_str(s, "", buf, sizeof buf), "t/once=1,t/real=4,v/.tmp-dir/obj=2");
  /* keys that start with dots are ordinary */
  put_ok(s, "..dots", "d");
  put_ok(s, "w/.hidden", "h");
  CHECK_STR(list_str(s, ".", buf, sizeof buf), "..dots=1");
  CHECK_STR(list_str(s, "w/.", buf, sizeof buf), "w/.hidden=1");
  CHECK_STR(list_str(s, "..", buf, sizeof buf), "..dots=1");

  /* file/folder clashes */
  mw_err_clear(&e);
  CHECK_INT(mw_objstore_put(s, "t/real/child", "c", 1, &e), MW_ERR_IO);
  CHECK(strstr(e.message, "t/real") != NULL);
  CHECK_INT(mw_objstore_put(s, "t", "c", 1, &e), MW_ERR_IO);
  CHECK_INT(mw_objstore_put_if_absent(s, "t", "c", 1, &e), MW_ERR_IO);
  CHECK_OKE(mw_objstore_del(s, "t", &e), &e); /* a folder is not an object */
  expect_obj(s, "t/real", "real");
  expect_missing(s, "t/real/child");
  snprintf(p, sizeof p, "%s/t", root);
  CHECK_INT(count_tmp_files(p), 1); /* only the simulated leftover */

  expect_big(s, 5u << 20);
  mw_objstore_close(s);
}

/* ------------------------------------------------------------ staging */

static void *dup_bytes(const char *s) {
  size_t n = strlen(s);
  void *p = malloc(n ? n : 1);
  if (p) memcpy(p, s, n);
  return p;
}

/* The staged put_if_absent (objstore.h) on file:// (real staging: a
 * durable temp, renamed at publish) and memory:// (the generic one):
 * staged bytes are invisible until published; publish is put_if_absent
 * (a taken name is MW_ERR_ALREADY_EXISTS and the staged object can go to
 * another name of the folder); sync succeeds; a staged object never
 * published leaves nothing behind. */
static void test_staging(void) {
  char root[400], p[600], buf[256];
  snprintf(root, sizeof root, "%s/staging", g_tmpdir);
  for (int on_file = 0; on_file < 2; on_file++) {
    mw_objstore *s = NULL;
    mw_error e = {0};
    CHECK_OKE(mw_objstore_open(&s, on_file ? root : "memory://", NULL, &e), &e);
    if (!s) return;
    CHECK(mw_objstore_has_staging(s) == (on_file != 0));
    put_ok(s, "w/2", "taken");
    mw_staged *a = NULL, *b = NULL, *c = NULL;
    CHECK_OKE(mw_objstore_stage(s, &a, "w/1", dup_bytes("alpha"), 5, &e), &e);
    CHECK_OKE(mw_objstore_stage(s, &b, "w/1", dup_bytes("beta"), 4, &e), &e);
    CHECK_OKE(mw_objstore_stage(s, &c, "w/1", dup_bytes("gamma"), 5, &e), &e);
    CHECK_STR(list_str(s, "w/", buf, sizeof buf), "w/2=5"); /* staged = invisible */
    expect_missing(s, "w/1");
    CHECK_OKE(mw_objstore_publish(s, a, "w/1", &e), &e);
    CHECK_INT(mw_objstore_publish(s, b, "w/1", &e), MW_ERR_ALREADY_EXISTS);
    CHECK_INT(mw_objstore_publish(s, b, "w/2", &e), MW_ERR_ALREADY_EXISTS);
    CHECK_OKE(mw_objstore_publish(s, b, "w/3", &e), &e); /* same folder, next name */
    CHECK_OKE(mw_objstore_sync_published(s, "w/3", &e), &e);
    expect_obj(s, "w/1", "alpha");
    expect_obj(s, "w/2", "taken");
    expect_obj(s, "w/3", "beta");
    mw_objstore_staged_free(s, a);
    mw_objstore_staged_free(s, b);
    mw_objstore_staged_free(s, c); /* never published: discarded */
    CHECK_STR(list_str(s, "w/", buf, sizeof buf), "w/1=5,w/2=5,w/3=4");
    if (on_file) {
      snprintf(p, sizeof p, "%s/w", root);
      CHECK_INT(count_tmp_files(p), 0); /* no temp left by publish or discard */
    }
    /* a reserved key and a bad key are refused before anything is staged */
    mw_staged *d = NULL;
    CHECK_INT(mw_objstore_stage(s, &d, "w//x", dup_bytes("x"), 1, &e), MW_ERR_INVALID);
    CHECK(d == NULL);
    mw_objstore_close(s);
  }
}

/* The fault wrapper's staging: stage and sync are counted only when named;
 * a faulted stage fails cleanly (nothing staged, nothing visible), a
 * faulted sync is an unknown outcome; a publish is one counted
 * put_if_absent; a stall blocks exactly the nth stage until released. */
typedef struct stall_arg {
  mw_objstore *s;
  mw_status st;
  mw_staged *h;
} stall_arg;

static void *stall_main(void *arg) {
  stall_arg *a = arg;
  a->st = mw_objstore_stage(a->s, &a->h, "k/x", dup_bytes("late"), 4, NULL);
  return NULL;
}

static void test_fault_staging(void) {
  mw_objstore *inner = NULL, *s = NULL;
  mw_error e = {0};
  CHECK_OKE(mw_objstore_open(&inner, "memory://", NULL, &e), &e);
  CHECK_OKE(mw_objstore_fault_new(&s, inner, &e), &e);
  mw_fault_spec spec = {MW_FAULT_STAGE, NULL, 2, MW_FAULT_ERROR, MW_FAULT_ONCE};
  CHECK_OKE(mw_objstore_fault_arm(s, &spec, &e), &e);
  mw_staged *a = NULL, *b = NULL;
  CHECK_OKE(mw_objstore_stage(s, &a, "k/1", dup_bytes("one"), 3, &e), &e);
  CHECK_INT(mw_objstore_stage(s, &b, "k/2", dup_bytes("two"), 3, &e), MW_ERR_IO);
  CHECK(b == NULL);
  CHECK(strstr(e.message, "injected") != NULL);
  CHECK_INT(mw_objstore_fault_calls(s, MW_FAULT_PUT_IF_ABSENT), 0);
  CHECK_OKE(mw_objstore_publish(s, a, "k/1", &e), &e);
  CHECK_INT(mw_objstore_fault_calls(s, MW_FAULT_PUT_IF_ABSENT), 1);
  CHECK_INT(mw_objstore_fault_calls(s, 0), 1); /* ALL leaves stage out: only the put_if_absent */
  CHECK_INT(mw_objstore_fault_calls(s, MW_FAULT_STAGE), 2);
  expect_obj(inner, "k/1", "one");
  expect_missing(inner, "k/2");
  mw_fault_spec sync = {MW_FAULT_SYNC, NULL, 1, MW_FAULT_ERROR, MW_FAULT_ONCE};
  CHECK_OKE(mw_objstore_fault_arm(s, &sync, &e), &e);
  CHECK_INT(mw_objstore_sync_published(s, "k/1", &e), MW_ERR_IO);
  CHECK(strstr(e.message, "outcome unknown") != NULL);
  CHECK_OKE(mw_objstore_sync_published(s, "k/1", &e), &e); /* ONCE */
  mw_objstore_staged_free(s, a);
  /* the stall */
  mw_objstore_fault_stall_stage(s, 1, true);
  stall_arg sa = {s, MW_OK, NULL};
  pthread_t th;
  CHECK(pthread_create(&th, NULL, stall_main, &sa) == 0);
  for (int i = 0; i < 5000 && !mw_objstore_fault_stalled(s); i++) usleep(1000);
  CHECK(mw_objstore_fault_stalled(s));
  mw_objstore_fault_release(s);
  pthread_join(th, NULL);
  CHECK_INT(sa.st, MW_ERR_IO);
  CHECK(sa.h == NULL);
  CHECK(!mw_objstore_fault_stalled(s));
  mw_objstore_close(s);
  mw_objstore_close(inner);
}

/* ------------------------------------------------------------ concurrency */


static void test_concurrency(void) {
  char root[400];
  snprintf(root, sizeof root, "%s/race", g_tmpdir);
  mw_objstore *s = NULL;
  mw_error e = {0};
  CHECK_OKE(mw_objstore_open(&s, root, NULL, &e), &e);
  if (s) {
    race_on(s);
    overwrite_vs_readers(s);
    char p[500];
    snprintf(p, sizeof p, "%s/race", root);
    CHECK_INT(count_tmp_files(p), 0);
    snprintf(p, sizeof p, "%s/ow", root);
    CHECK_INT(count_tmp_files(p), 0);
    mw_objstore_close(s);
  }
  CHECK_OKE(mw_objstore_open(&s, "memory://race", NULL, &e), &e);
  if (s) {
    race_on(s);
    overwrite_vs_readers(s);
    mw_objstore *f = NULL;
    mw_objstore *inner2 = NULL;
    CHECK_OKE(mw_objstore_open(&inner2, "memory://", NULL, &e), &e);
    CHECK_OKE(mw_objstore_fault_new(&f, inner2, &e), &e);
    if (f) {
      race_on(f);
      overwrite_vs_readers(f);
      mw_objstore_close(f);
    }
    mw_objstore_close(inner2);
    mw_objstore_close(s);
  }
}

/* ------------------------------------------------------------ faults */

typedef struct fx {
  mw_objstore *inner, *f;
} fx;

static fx fx_new(void) {
  fx x = {NULL, NULL};
  mw_error e = {0};
  CHECK_OKE(mw_objstore_open(&x.inner, "memory://", NULL, &e), &e);
  CHECK_OKE(mw_objstore_fault_new(&x.f, x.inner, &e), &e);
  return x;
}

static void fx_free(fx *x) {
  mw_objstore_close(x->f);
  mw_objstore_close(x->inner);
}

static mw_status arm(mw_objstore *f, unsigned ops, uint64_t nth, mw_fault_kind kind, mw_fault_mode mode,
                     const char *prefix) {
  mw_fault_spec spec = {.ops = ops, .key_prefix = prefix, .nth = nth, .kind = kind, .mode = mode};
  mw_error e = {0};
  mw_status st = mw_objstore_fault_arm(f, &spec, &e);
  if (st != MW_OK) fprintf(stderr, "  arm: %s\n", e.message);
  return st;
}

static void test_fault_nth(void) {
  fx x = fx_new();
  if (!x.f) return;
  mw_error e = {0};
  char k[16];
  /* transient: the 3rd put fails, before reaching the store */
  CHECK_OKE(arm(x.f, MW_FAULT_PUT, 3, MW_FAULT_ERROR, MW_FAULT_ONCE, NULL), NULL);
  mw_status got[5];
  for (int i = 1; i <= 5; i++) {
    snprintf(k, sizeof k, "k%d", i);
    mw_err_clear(&e);
    got[i - 1] = mw_objstore_put(x.f, k, "v", 1, &e);
    if (i == 3) {
      CHECK_INT(e.code, MW_ERR_IO);
      CHECK_STR(e.message, "put 'k3': injected fault (counted call 3)");
    }
    expect_missing(x.f, "never"); /* gets/heads do not count */
  }
  CHECK_INT(got[0], MW_OK);
  CHECK_INT(got[1], MW_OK);
  CHECK_INT(got[2], MW_ERR_IO);
  CHECK_INT(got[3], MW_OK);
  CHECK_INT(got[4], MW_OK);
  expect_missing(x.inner, "k3");
  expect_obj(x.inner, "k4", "v");
  mw_fault_counters c;
  mw_objstore_fault_counters(x.f, &c);
  CHECK_INT(c.calls[MW_FAULT_OP_PUT], 5);
  CHECK_INT(c.calls[MW_FAULT_OP_GET], 5);
  CHECK_INT(c.calls[MW_FAULT_OP_HEAD], 5);
  CHECK_INT(c.calls[MW_FAULT_OP_PUT_IF_ABSENT], 0);
  CHECK_INT(c.calls[MW_FAULT_OP_LIST], 0);
  CHECK_INT(c.calls[MW_FAULT_OP_DEL], 0);
  CHECK_INT(c.injected, 1);
  CHECK_INT(mw_objstore_fault_calls(x.f, MW_FAULT_READS), 10);
  CHECK_INT(mw_objstore_fault_calls(x.f, 0), 15);
  mw_objstore_fault_reset_counters(x.f);
  CHECK_INT(mw_objstore_fault_calls(x.f, 0), 0);

  /* persistent: the 2nd write and every later one fail, reads work */
  CHECK_OKE(arm(x.f, MW_FAULT_WRITES, 2, MW_FAULT_ERROR, MW_FAULT_PERSISTENT, NULL), NULL);
  CHECK_INT(mw_objstore_put_if_absent(x.f, "p1", "a", 1, NULL), MW_OK);
  CHECK_INT(mw_objstore_put(x.f, "p2", "a", 1, NULL), MW_ERR_IO);
  CHECK_INT(mw_objstore_del(x.f, "p1", NULL), MW_ERR_IO);
  CHECK_INT(mw_objstore_put_if_absent(x.f, "p3", "a", 1, NULL), MW_ERR_IO);
  expect_obj(x.f, "p1", "a");
  expect_missing(x.inner, "p2");
  expect_missing(x.inner, "p3");
  CHECK_INT(mw_objstore_fault_crashed(x.f), 0);
  mw_objstore_fault_counters(x.f, &c);
  CHECK_INT(c.injected, 3);
  mw_objstore_fault_reset(x.f);
  CHECK_INT(mw_objstore_put(x.f, "p2", "b", 1, NULL), MW_OK);
  expect_obj(x.inner, "p2", "b");

  /* op mask on reads: only gets count */
  CHECK_OKE(arm(x.f, MW_FAULT_GET, 1, MW_FAULT_ERROR, MW_FAULT_ONCE, NULL), NULL);
  uint64_t sz = 0;
  CHECK_INT(mw_objstore_head(x.f, &sz, "p2", NULL), MW_OK);
  CHECK_INT(sz, 1);
  put_ok(x.f, "p4", "c");
  uint8_t *d = (uint8_t *)1;
  size_t n = 5;
  CHECK_INT(mw_objstore_get(x.f, &d, &n, "p2", 0, MW_OBJSTORE_TO_END, NULL), MW_ERR_IO);
  CHECK(d == NULL);
  CHECK_INT(n, 0);
  expect_obj(x.f, "p2", "b"); /* transient: next get works */

  /* list faults */
  CHECK_OKE(arm(x.f, MW_FAULT_LIST, 2, MW_FAULT_ERROR, MW_FAULT_ONCE, NULL), NULL);
  listing l;
  memset(&l, 0, sizeof l);
  CHECK_INT(mw_objstore_list(x.f, "", collect, &l, NULL), MW_OK);
  int first = l.n;
  CHECK_INT(first, 7); /* k1 k2 k4 k5 p1 p2 p4 */
  CHECK_INT(mw_objstore_list(x.f, "", collect, &l, NULL), MW_ERR_IO);
  CHECK_INT(l.n, first); /* the callback was never called */
  for (int i = 0; i < l.n; i++) free(l.keys[i]);
  memset(&l, 0, sizeof l);

  /* key prefix: only keys under wal/ count */
  CHECK_OKE(arm(x.f, MW_FAULT_ALL, 1, MW_FAULT_ERROR, MW_FAULT_PERSISTENT, "wal/"), NULL);
  put_ok(x.f, "manifest/1", "m");
  CHECK_INT(mw_objstore_put_if_absent(x.f, "wal/1", "w", 1, NULL), MW_ERR_IO);
  CHECK_INT(mw_objstore_head(x.f, &sz, "wal/1", NULL), MW_ERR_IO);
  CHECK_INT(mw_objstore_list(x.f, "wal/", collect, &l, NULL), MW_ERR_IO);
  CHECK_INT(mw_objstore_list(x.f, "manifest/", collect, &l, NULL), MW_OK);
  CHECK_INT(l.n, 1);
  for (int i = 0; i < l.n; i++) free(l.keys[i]);
  expect_missing(x.inner, "wal/1");
  mw_objstore_fault_reset(x.f);

  /* bad specs */
  CHECK_INT(arm(x.f, MW_FAULT_PUT, 0, MW_FAULT_ERROR, MW_FAULT_ONCE, NULL), MW_ERR_INVALID);
  CHECK_INT(arm(x.f, 0x100, 1, MW_FAULT_ERROR, MW_FAULT_ONCE, NULL), MW_ERR_INVALID);
  CHECK_INT(arm(x.f, MW_FAULT_PUT, 1, (mw_fault_kind)7, MW_FAULT_ONCE, NULL), MW_ERR_INVALID);
  CHECK_INT(arm(x.f, MW_FAULT_PUT, 1, MW_FAULT_ERROR, (mw_fault_mode)7, NULL), MW_ERR_INVALID);
  CHECK_INT(arm(x.inner, MW_FAULT_PUT, 1, MW_FAULT_ERROR, MW_FAULT_ONCE, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_fault_arm(x.f, NULL, NULL), MW_ERR_INVALID);
  CHECK_INT(mw_objstore_fault_calls(x.inner, 0), 0);
  CHECK_INT(mw_objstore_fault_crashed(x.inner), 0);
  CHECK_INT(mw_objstore_fault_new(NULL, x.inner, NULL), MW_ERR_INVALID);
  /* a bad spec does not disturb the (disarmed) wrapper */
  put_ok(x.f, "after", "ok");
  fx_free(&x);
}

static void test_fault_wrote_error(void) {
  fx x = fx_new();
  if (!x.f) return;
  mw_error e = {0};
  CHECK_OKE(arm(x.f, MW_FAULT_PUT_IF_ABSENT, 1, MW_FAULT_WROTE_ERROR, MW_FAULT_ONCE, NULL), NULL);
  CHECK_INT(mw_objstore_put_if_absent(x.f, "wal/1", "entry", 5, &e), MW_ERR_IO);
  CHECK_STR(e.message, "put_if_absent 'wal/1': injected fault after the operation (counted call 1)");
  expect_obj(x.inner, "wal/1", "entry"); /* it was written */
  /* a retry learns the truth */
  CHECK_INT(mw_objstore_put_if_absent(x.f, "wal/1", "entry", 5, NULL), MW_ERR_ALREADY_EXISTS);

  CHECK_OKE(arm(x.f, MW_FAULT_PUT, 2, MW_FAULT_WROTE_ERROR, MW_FAULT_PERSISTENT, NULL), NULL);
  CHECK_INT(mw_objstore_put(x.f, "h", "1", 1, NULL), MW_OK);
  CHECK_INT(mw_objstore_put(x.f, "h", "2", 1, NULL), MW_ERR_IO);
  CHECK_INT(mw_objstore_put(x.f, "h", "3", 1, NULL), MW_ERR_IO);
  expect_obj(x.inner, "h", "3");

  CHECK_OKE(arm(x.f, MW_FAULT_DEL, 1, MW_FAULT_WROTE_ERROR, MW_FAULT_ONCE, NULL), NULL);
  CHECK_INT(mw_objstore_del(x.f, "h", NULL), MW_ERR_IO);
  expect_missing(x.inner, "h");

  CHECK_OKE(arm(x.f, MW_FAULT_GET | MW_FAULT_HEAD, 1, MW_FAULT_WROTE_ERROR, MW_FAULT_PERSISTENT, NULL),
           NULL);
  uint8_t *d = (uint8_t *)1;
  size_t n = 3;
  CHECK_INT(mw_objstore_get(x.f, &d, &n, "wal/1", 0, MW_OBJSTORE_TO_END, NULL), MW_ERR_IO);
  CHECK(d == NULL);
  CHECK_INT(n, 0);
  uint64_t sz = 9;
  CHECK_INT(mw_objstore_head(x.f, &sz, "wal/1", NULL), MW_ERR_IO);
  CHECK_INT(sz, 0);
  mw_fault_counters c;
  mw_objstore_fault_counters(x.f, &c);
  CHECK_INT(c.injected, 6);
  CHECK_INT(c.rolled_back, 0);
  fx_free(&x);
}

/* A sequential writer against a crash at write call N: the inner store ends
 * up holding exactly the acknowledged writes. */
static void test_fault_crash_sequential(void) {
  /* ops: 0 pia wal/1, 1 put hint=1, 2 pia wal/2, 3 put hint=2, 4 del wal/1,
   *      5 pia wal/3, 6 put hint=3 */
  for (int crash_at = 1; crash_at <= 8; crash_at++) {
    fx x = fx_new();
    if (!x.f) return;
    put_ok(x.inner, "hint", "0"); /* pre-existing state */
    CHECK_OKE(arm(x.f, MW_FAULT_WRITES, (uint64_t)crash_at, MW_FAULT_CRASH, MW_FAULT_ONCE, NULL), NULL);
    int acked = 0, failed = 0;
    for (int op = 0; op < 7; op++) {
      mw_error e = {0};
      mw_status st;
      switch (op) {
        case 0: st = mw_objstore_put_if_absent(x.f, "wal/1", "e1", 2, &e); break;
        case 1: st = mw_objstore_put(x.f, "hint", "1", 1, &e); break;
        case 2: st = mw_objstore_put_if_absent(x.f, "wal/2", "e2", 2, &e); break;
        case 3: st = mw_objstore_put(x.f, "hint", "2", 1, &e); break;
        case 4: st = mw_objstore_del(x.f, "wal/1", &e); break;
        case 5: st = mw_objstore_put_if_absent(x.f, "wal/3", "e3", 2, &e); break;
        default: st = mw_objstore_put(x.f, "hint", "3", 1, &e); break;
      }
      if (st == MW_OK) {
        CHECK_INT(failed, 0); /* no success after the crash */
        acked++;
      } else {
        CHECK_INT(st, MW_ERR_IO);
        CHECK(strstr(e.message, "crashed") != NULL);
        failed++;
      }
    }
    int expect_acked = crash_at - 1 < 7 ? crash_at - 1 : 7;
    CHECK_INT(acked, expect_acked);
    CHECK_INT(mw_objstore_fault_crashed(x.f), crash_at <= 7);
    /* reads fail too once crashed */
    uint64_t sz;
    CHECK_INT(mw_objstore_head(x.f, &sz, "hint", NULL), crash_at <= 7 ? MW_ERR_IO : MW_OK);
    /* model of the acknowledged state */
    const char *hint = acked >= 7 ? "3" : acked >= 4 ? "2" : acked >= 2 ? "1" : "0";
    char want[256] = "";
    char buf[256];
    if (acked >= 1 && acked < 5) strcat(want, "wal/1=2,");
    if (acked >= 3) strcat(want, "wal/2=2,");
    if (acked >= 6) strcat(want, "wal/3=2,");
    if (want[0]) want[strlen(want) - 1] = '\0';
    CHECK_STR(list_str(x.inner, "wal/", buf, sizeof buf), want);
    expect_obj(x.inner, "hint", hint);
    mw_fault_counters c;
    mw_objstore_fault_counters(x.f, &c);
    CHECK_INT(c.injected, crash_at <= 7 ? (uint64_t)(7 - acked) + 1 : 0);
    CHECK_INT(c.rolled_back, 0);
    /* reset: works again */
    mw_objstore_fault_reset(x.f);
    CHECK_INT(mw_objstore_fault_crashed(x.f), 0);
    CHECK_INT(mw_objstore_put_if_absent(x.f, "wal/9", "e9", 2, NULL), MW_OK);
    fx_free(&x);
  }
  /* a crash triggered by a read */
  fx x = fx_new();
  if (!x.f) return;
  CHECK_OKE(arm(x.f, MW_FAULT_GET, 2, MW_FAULT_CRASH, MW_FAULT_PERSISTENT, NULL), NULL);
  put_ok(x.f, "a", "1");
  expect_obj(x.f, "a", "1");
  uint8_t *d = NULL;
  size_t n = 0;
  mw_error e = {0};
  CHECK_INT(mw_objstore_get(x.f, &d, &n, "a", 0, 1, &e), MW_ERR_IO);
  CHECK_STR(e.message, "get 'a': store crashed (injected at counted call 2)");
  CHECK_INT(mw_objstore_put(x.f, "b", "2", 1, &e), MW_ERR_IO);
  CHECK_STR(e.message, "put 'b': store crashed");
  expect_missing(x.inner, "b");
  mw_objstore_fault_reset(x.f);
  put_ok(x.f, "b", "2");
  /* explicit crash */
  mw_objstore_fault_crash(x.f);
  CHECK_INT(mw_objstore_fault_crashed(x.f), 1);
  CHECK_INT(mw_objstore_del(x.f, "b", NULL), MW_ERR_IO);
  expect_obj(x.inner, "b", "2");
  fx_free(&x);
}

/* A "gate" store over memory: a write is performed on memory, then blocks
 * until the test opens the gate - a write caught in flight. */
typedef struct gate {
  mw_objstore *mem;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int entered, open;
} gate;

static void gate_wait(gate *g) {
  pthread_mutex_lock(&g->mu);
  g->entered = 1;
  pthread_cond_broadcast(&g->cv);
  while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}
static mw_status g_put(void *self, const char *k, const void *d, size_t n, mw_error *err) {
  gate *g = self;
  mw_status st = mw_objstore_put(g->mem, k, d, n, err);
  gate_wait(g);
  return st;
}
static mw_status g_pia(void *self, const char *k, const void *d, size_t n, mw_error *err) {
  gate *g = self;
  mw_status st = mw_objstore_put_if_absent(g->mem, k, d, n, err);
  gate_wait(g);
  return st;
}
static mw_status g_del(void *self, const char *k, mw_error *err) {
  gate *g = self;
  mw_status st = mw_objstore_del(g->mem, k, err);
  gate_wait(g);
  return st;
}
static mw_status g_get(void *self, uint8_t **o, size_t *n, const char *k, uint64_t off, uint64_t len,
                       mw_error *err) {
  return mw_objstore_get(((gate *)self)->mem, o, n, k, off, len, err);
}
static mw_status g_head(void *self, uint64_t *o, const char *k, mw_error *err) {
  return mw_objstore_head(((gate *)self)->mem, o, k, err);
}
static mw_status g_list(void *self, const char *p, mw_objstore_list_fn fn, void *a, mw_error *err) {
  return mw_objstore_list(((gate *)self)->mem, p, fn, a, err);
}
static const mw_objstore_vtable gate_vt = {
    .abi_version = MW_OBJSTORE_ABI_VERSION, .struct_size = sizeof(mw_objstore_vtable),
    .put = g_put, .put_if_absent = g_pia, .get = g_get, .head = g_head, .list = g_list, .del = g_del};

typedef struct inflight_arg {
  mw_objstore *f;
  int op; /* 0 put, 1 pia, 2 del */
  mw_status st;
  mw_error e;
} inflight_arg;

static void *inflight_main(void *p) {
  inflight_arg *a = p;
  if (a->op == 0)
    a->st = mw_objstore_put(a->f, "k", "new", 3, &a->e);
  else if (a->op == 1)
    a->st = mw_objstore_put_if_absent(a->f, "fresh", "new", 3, &a->e);
  else
    a->st = mw_objstore_del(a->f, "k", &a->e);
  return NULL;
}

static void *crash_main(void *p) {
  mw_objstore_fault_crash(p);
  return NULL;
}

static void test_fault_crash_inflight(void) {
  for (int op = 0; op < 3; op++) {
    gate g = {0};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    mw_error e = {0};
    mw_objstore *gs = NULL, *f = NULL;
    CHECK_OKE(mw_objstore_open(&g.mem, "memory://", NULL, &e), &e);
    CHECK_OKE(mw_objstore_new(&gs, &gate_vt, &g, &e), &e);
    CHECK_OKE(mw_objstore_fault_new(&f, gs, &e), &e);
    if (!f) return;
    put_ok(g.mem, "k", "old");
    pthread_t tw, tc;
    inflight_arg a = {f, op, MW_OK, {0}};
    CHECK_INT(pthread_create(&tw, NULL, inflight_main, &a), 0);
    pthread_mutex_lock(&g.mu);
    while (!g.entered) pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    /* the write has reached memory but not returned: crash now */
    if (op == 0) expect_obj(g.mem, "k", "new");
    if (op == 1) expect_obj(g.mem, "fresh", "new");
    if (op == 2) expect_missing(g.mem, "k");
    CHECK_INT(pthread_create(&tc, NULL, crash_main, f), 0);
    while (!mw_objstore_fault_crashed(f)) sched_yield();
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(tc, NULL); /* crash() returned: rollback complete */
    pthread_join(tw, NULL);
    CHECK_INT(a.st, MW_ERR_IO);
    CHECK(strstr(a.e.message, "store crashed") != NULL);
    expect_obj(g.mem, "k", "old");
    expect_missing(g.mem, "fresh");
    mw_fault_counters c;
    mw_objstore_fault_counters(f, &c);
    CHECK_INT(c.rolled_back, 1);
    CHECK_INT(c.rollback_failures, 0);
    CHECK_INT(c.injected, 1);
    mw_objstore_close(f);
    mw_objstore_close(gs);
    mw_objstore_close(g.mem);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.cv);
  }
}

/* Several writer threads, crash at write N: the inner store holds exactly
 * the acknowledged keys. */
#define CW_THREADS 4
#define CW_MAX 100

typedef struct cw_arg {
  mw_objstore *f;
  int id;
  int acked; /* keys 0..acked-1 acknowledged */
  int post_crash_ok;
} cw_arg;

static void *cw_main(void *p) {
  cw_arg *a = p;
  char key[32];
  int failed = 0;
  for (int i = 0; i < CW_MAX; i++) {
    snprintf(key, sizeof key, "t%d/%03d", a->id, i);
    mw_status st = mw_objstore_put_if_absent(a->f, key, key, strlen(key), NULL);
    if (st == MW_OK) {
      if (failed) a->post_crash_ok++;
      else a->acked++;
    } else {
      failed = 1;
    }
  }
  return NULL;
}

static void test_fault_crash_concurrent(void) {
  for (int round = 0; round < 3; round++) {
    fx x = fx_new();
    if (!x.f) return;
    uint64_t crash_at = 37 + 61 * (uint64_t)round;
    CHECK_OKE(arm(x.f, MW_FAULT_PUT_IF_ABSENT, crash_at, MW_FAULT_CRASH, MW_FAULT_ONCE, NULL), NULL);
    pthread_t th[CW_THREADS];
    cw_arg args[CW_THREADS];
    for (int i = 0; i < CW_THREADS; i++) {
      args[i] = (cw_arg){x.f, i, 0, 0};
      CHECK_INT(pthread_create(&th[i], NULL, cw_main, &args[i]), 0);
    }
    for (int i = 0; i < CW_THREADS; i++) pthread_join(th[i], NULL);
    int total = 0;
    for (int i = 0; i < CW_THREADS; i++) {
      CHECK_INT(args[i].post_crash_ok, 0);
      total += args[i].acked;
      char prefix[8], buf[8192];
      snprintf(prefix, sizeof prefix, "t%d/", i);
      listing l;
      memset(&l, 0, sizeof l);
      CHECK_OKE(mw_objstore_list(x.inner, prefix, collect, &l, NULL), NULL);
      CHECK_INT(l.n, args[i].acked);
      for (int j = 0; j < l.n; j++) free(l.keys[j]);
      if (args[i].acked) {
        snprintf(buf, sizeof buf, "t%d/%03d", i, args[i].acked - 1);
        expect_obj(x.inner, buf, buf);
      }
    }
    CHECK_INT(total, (int)crash_at - 1);
    fx_free(&x);
  }
}

/* ------------------------------------------------- vtable versions */

static mw_objstore *open_store(const char *uri) {
  mw_objstore *s = NULL;
  mw_error e = {0};
  if (mw_objstore_open(&s, uri, NULL, &e) != MW_OK) {
    fprintf(stderr, "open %s: %s\n", uri, e.message);
    abort();
  }
  return s;
}

/* A store compiled against the first vtable layout (no flags) keeps working
 * and declares nothing; today's layout is copied (the caller's struct may
 * go away) and its flags are read; anything smaller than the first layout
 * or with an unknown abi_version is refused. */
static void test_vtable_versions(void) {
  mw_objstore *mem = open_store("memory://vt_versions");
  mw_objstore *v1 = fwd_store_new(mem, FWD_LAYOUT_V1, 0);
  CHECK_INT((int)sizeof(fwd_vtable_v1), (int)MW_OBJSTORE_VTABLE_SIZE_V1);
  CHECK((size_t)MW_OBJSTORE_VTABLE_SIZE_V1 < sizeof(mw_objstore_vtable));
  put_ok(v1, "a/b", "one");
  expect_obj(v1, "a/b", "one");
  expect_obj(mem, "a/b", "one");
  mw_error e = {0};
  CHECK_INT(mw_objstore_put_if_absent(v1, "a/b", "x", 1, &e), MW_ERR_ALREADY_EXISTS);
  CHECK_OKE(mw_objstore_del(v1, "a/b", &e), &e);
  CHECK_OKE(mw_objstore_delete(v1, "a/b", &e), &e); /* the alias, missing key */
  uint64_t sz = 0;
  CHECK_INT(mw_objstore_head(mem, &sz, "a/b", NULL), MW_ERR_NOT_FOUND);
  CHECK(!mw_objstore_visible_implies_durable(v1));
  mw_objstore_close(v1);

  mw_objstore *cur0 = fwd_store_new(mem, FWD_LAYOUT_CURRENT, 0);
  mw_objstore *cur1 = fwd_store_new(mem, FWD_LAYOUT_CURRENT, MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE);
  CHECK(!mw_objstore_visible_implies_durable(cur0));
  CHECK(mw_objstore_visible_implies_durable(cur1));
  put_ok(cur1, "c", "two"); /* works although its vtable variable was scribbled on */
  expect_obj(cur0, "c", "two");
  mw_objstore_close(cur0);
  mw_objstore_close(cur1);

  mw_objstore_vtable vt;
  memset(&vt, 0x5A, sizeof vt);
  mw_objstore_vtable_init(&vt);
  CHECK_INT(vt.abi_version, MW_OBJSTORE_ABI_VERSION);
  CHECK_INT(vt.struct_size, sizeof vt);
  CHECK(vt.put == NULL && vt.destroy == NULL);
  CHECK_INT(vt.flags, 0);
  vt.put = fwd_put;
  vt.put_if_absent = fwd_pia;
  vt.get = fwd_get;
  vt.head = fwd_head;
  vt.list = fwd_list;
  vt.del = fwd_del;
  mw_objstore *s = NULL;
  vt.struct_size = (uint32_t)MW_OBJSTORE_VTABLE_SIZE_V1 - 1;
  CHECK_INT(mw_objstore_new(&s, &vt, mem, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "struct_size") != NULL);
  CHECK(s == NULL);
  vt.struct_size = sizeof vt;
  vt.abi_version = MW_OBJSTORE_ABI_VERSION + 1;
  CHECK_INT(mw_objstore_new(&s, &vt, mem, &e), MW_ERR_INVALID);
  CHECK(strstr(e.message, "abi_version") != NULL);
  /* a larger struct_size (a store built against a newer header): the
   * members this library knows are used, the rest ignored */
  struct {
    mw_objstore_vtable vt;
    void *future_member;
  } big;
  memset(&big, 0, sizeof big);
  big.vt = vt;
  big.vt.abi_version = MW_OBJSTORE_ABI_VERSION;
  big.vt.struct_size = sizeof big;
  big.vt.flags = MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE;
  CHECK_OKE(mw_objstore_new(&s, &big.vt, mem, &e), &e);
  CHECK(mw_objstore_visible_implies_durable(s));
  expect_obj(s, "c", "two");
  mw_objstore_close(s);
  mw_objstore_close(mem);
}

/* Which stores declare that a visible object is durable, and the fault
 * wrapper's answer (inherited, false while an fsync-after-visible kind is
 * armed or has fired, until reset). */
static void test_visible_implies_durable(void) {
  char root[400];
  snprintf(root, sizeof root, "%s/vid", g_tmpdir);
  mw_objstore *file = open_store(root), *mem = open_store("memory://vid"), *f = NULL, *g = NULL;
  mw_error e = {0};
  CHECK(!mw_objstore_visible_implies_durable(file));
  CHECK(mw_objstore_visible_implies_durable(mem));
  CHECK(!mw_objstore_visible_implies_durable(NULL));
  CHECK_OKE(mw_objstore_fault_new(&f, mem, &e), &e);
  CHECK_OKE(mw_objstore_fault_new(&g, file, &e), &e);
  CHECK(mw_objstore_visible_implies_durable(f));
  CHECK(!mw_objstore_visible_implies_durable(g));
  mw_fault_spec spec = {.ops = MW_FAULT_PUT, .nth = 1, .kind = MW_FAULT_WROTE_ERROR};
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  CHECK(mw_objstore_visible_implies_durable(f)); /* not a disk fault */
  spec.kind = MW_FAULT_FSYNC_DIR_AFTER_VISIBLE;
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  CHECK(!mw_objstore_visible_implies_durable(f));
  CHECK_INT(mw_objstore_put(f, "k", "v", 1, &e), MW_ERR_IO);
  CHECK(strstr(e.message, "fsync of the folder failed after the object became visible") != NULL);
  expect_obj(mem, "k", "v"); /* performed on the inner store */
  CHECK(!mw_objstore_visible_implies_durable(f)); /* fired (ONCE), still a disk */
  put_ok(f, "k", "w");                            /* disarmed */
  mw_objstore_fault_reset(f);
  CHECK(mw_objstore_visible_implies_durable(f));
  spec.kind = MW_FAULT_FSYNC_FILE_AFTER_VISIBLE;
  spec.ops = MW_FAULT_ALL;
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK_OKE(mw_objstore_get(f, &d, &n, "k", 0, MW_OBJSTORE_TO_END, &e), &e); /* reads not counted */
  mw_free(d);
  CHECK_INT(mw_objstore_del(f, "k", &e), MW_ERR_IO);
  CHECK(strstr(e.message, "fsync of the file failed") != NULL);
  uint64_t sz = 0;
  CHECK_INT(mw_objstore_head(mem, &sz, "k", NULL), MW_ERR_NOT_FOUND);
  spec.kind = (mw_fault_kind)6;
  CHECK_INT(mw_objstore_fault_arm(f, &spec, &e), MW_ERR_INVALID);
  mw_objstore_close(f);
  mw_objstore_close(g);
  mw_objstore_close(file);
  mw_objstore_close(mem);
}

/* The settle helper, case by case (objstore_settle.c). */
static void test_settle(void) {
  char root[400];
  snprintf(root, sizeof root, "%s/settle", g_tmpdir);
  mw_objstore *mem = open_store("memory://settle"), *file = open_store(root), *f = NULL, *g = NULL;
  mw_error e = {0};
  CHECK_OKE(mw_objstore_fault_new(&f, mem, &e), &e);
  CHECK_OKE(mw_objstore_fault_new(&g, file, &e), &e);
  mw_fault_spec spec = {.ops = MW_FAULT_PUT_IF_ABSENT, .nth = 1, .kind = MW_FAULT_WROTE_ERROR};
  /* plain success, plain "exists" (no read-back) */
  CHECK_OKE(mw_objstore_put_if_absent_settled(f, "a", "ours", 4, &e), &e);
  mw_objstore_fault_reset_counters(f);
  CHECK_INT(mw_objstore_put_if_absent_settled(f, "a", "ours", 4, &e), MW_ERR_ALREADY_EXISTS);
  CHECK_INT(mw_objstore_fault_calls(f, MW_FAULT_GET), 0);
  /* written, then an error: ours is visible; durable on memory:// */
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  CHECK_OKE(mw_objstore_put_if_absent_settled(f, "b", "ours", 4, &e), &e);
  CHECK_INT(e.code, MW_OK);
  expect_obj(mem, "b", "ours");
  /* ... not on file:// */
  CHECK_OKE(mw_objstore_fault_arm(g, &spec, &e), &e);
  CHECK_INT(mw_objstore_put_if_absent_settled(g, "b", "ours", 4, &e), MW_ERR_POISONED);
  CHECK(strstr(e.message, "outcome unknown") != NULL);
  expect_obj(file, "b", "ours");
  /* clean failure: nothing landed, the store's error comes back as is */
  spec.kind = MW_FAULT_ERROR;
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  CHECK_INT(mw_objstore_put_if_absent_settled(f, "c", "ours", 4, &e), MW_ERR_IO);
  CHECK(strstr(e.message, "injected fault") != NULL);
  uint64_t sz = 0;
  CHECK_INT(mw_objstore_head(mem, &sz, "c", NULL), MW_ERR_NOT_FOUND);
  /* read-back fails too: unknown */
  spec.ops = MW_FAULT_PUT_IF_ABSENT | MW_FAULT_GET;
  spec.mode = MW_FAULT_PERSISTENT;
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  CHECK_INT(mw_objstore_put_if_absent_settled(f, "c", "ours", 4, &e), MW_ERR_POISONED);
  CHECK(strstr(e.message, "reading it back failed") != NULL);
  mw_objstore_fault_reset(f);
  /* a timeout, and someone else's bytes are there: ours can never land */
  put_ok(mem, "d", "theirs");
  spec.ops = MW_FAULT_PUT_IF_ABSENT;
  spec.kind = MW_FAULT_TIMEOUT;
  spec.mode = MW_FAULT_ONCE;
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  CHECK_INT(mw_objstore_put_if_absent_settled(f, "d", "ours", 4, &e), MW_ERR_ALREADY_EXISTS);
  CHECK(strstr(e.message, "other content") != NULL);
  expect_obj(mem, "d", "theirs");
  /* a timeout, absent: retried at the same key, lands once */
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  mw_objstore_fault_reset_counters(f);
  CHECK_OKE(mw_objstore_put_if_absent_settled(f, "e", "ours", 4, &e), &e);
  CHECK_INT(mw_objstore_fault_calls(f, MW_FAULT_PUT_IF_ABSENT), 2);
  expect_obj(mem, "e", "ours");
  /* a timeout, then a clean error, absent: the first may still land */
  spec.mode = MW_FAULT_PERSISTENT;
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  CHECK_INT(mw_objstore_put_if_absent_settled(f, "g", "ours", 4, &e), MW_ERR_POISONED);
  CHECK(strstr(e.message, "may still land") != NULL);
  mw_objstore_fault_reset(f);
  /* a custom store declaring nothing over memory://: visible is not enough */
  mw_objstore *c = fwd_store_new(f, FWD_LAYOUT_V1, 0);
  spec.kind = MW_FAULT_WROTE_ERROR;
  spec.mode = MW_FAULT_ONCE;
  CHECK_OKE(mw_objstore_fault_arm(f, &spec, &e), &e);
  CHECK_INT(mw_objstore_put_if_absent_settled(c, "h", "ours", 4, &e), MW_ERR_POISONED);
  mw_objstore_close(c);
  mw_objstore_close(f);
  mw_objstore_close(g);
  mw_objstore_close(mem);
  mw_objstore_close(file);
}

/* The mkdir race: 8 threads create objects in the same new nested folders
 * at once, so most of them lose a mkdir (EEXIST) and must fsync the parent
 * themselves before going on (objstore_file.c): every put succeeds, every
 * object is there, nothing else is. 20 rounds, fresh folders each. */
#define MKDIR_THREADS 8
typedef struct mkdir_arg {
  mw_objstore *s;
  pthread_barrier_t *bar;
  int round, id, pia;
  mw_status st;
  char msg[MW_ERROR_MESSAGE_SIZE];
} mkdir_arg;

static void *mkdir_main(void *p) {
  mkdir_arg *a = p;
  char key[128];
  snprintf(key, sizeof key, "mk%d/a/b/c/obj%d", a->round, a->id);
  mw_error e = {0};
  pthread_barrier_wait(a->bar);
  a->st = a->pia ? mw_objstore_put_if_absent(a->s, key, key, strlen(key), &e)
                 : mw_objstore_put(a->s, key, key, strlen(key), &e);
  snprintf(a->msg, sizeof a->msg, "%s", e.message);
  return NULL;
}

static void test_file_mkdir_race(void) {
  char root[400], buf[4096];
  snprintf(root, sizeof root, "%s/mkdir_race", g_tmpdir);
  mw_objstore *s = open_store(root);
  for (int round = 0; round < 20; round++) {
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, MKDIR_THREADS);
    pthread_t t[MKDIR_THREADS];
    mkdir_arg args[MKDIR_THREADS];
    for (int i = 0; i < MKDIR_THREADS; i++) {
      args[i] = (mkdir_arg){s, &bar, round, i, (round + i) % 2, MW_ERR_INTERNAL, ""};
      pthread_create(&t[i], NULL, mkdir_main, &args[i]);
    }
    for (int i = 0; i < MKDIR_THREADS; i++) {
      pthread_join(t[i], NULL);
      if (args[i].st != MW_OK) fprintf(stderr, "round %d thread %d: %s\n", round, i, args[i].msg);
      CHECK_INT(args[i].st, MW_OK);
    }
    pthread_barrier_destroy(&bar);
    char prefix[32], want[1024] = "";
    snprintf(prefix, sizeof prefix, "mk%d/", round);
    for (int i = 0; i < MKDIR_THREADS; i++) {
      char item[64];
      int kl = snprintf(item, sizeof item, "mk%d/a/b/c/obj%d", round, i);
      snprintf(item + kl, sizeof item - (size_t)kl, "=%d", kl);
      if (i) strcat(want, ",");
      strcat(want, item);
      item[kl] = '\0';
      expect_obj(s, item, item);
    }
    CHECK_STR(list_str(s, prefix, buf, sizeof buf), want);
  }
  mw_objstore_close(s);
}

int main(void) {
  snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/mw-objstore-XXXXXX");
  if (!mkdtemp(g_tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  MW_RUN(test_contract_file);
  MW_RUN(test_contract_memory);
  MW_RUN(test_contract_fault_passthrough);
  MW_RUN(test_uri_and_new);
  MW_RUN(test_custom_store);
  MW_RUN(test_file_details);
  MW_RUN(test_put_if_absent_pieces);
  MW_RUN(test_staging);
  MW_RUN(test_fault_staging);
  MW_RUN(test_concurrency);
  MW_RUN(test_fault_nth);
  MW_RUN(test_fault_wrote_error);
  MW_RUN(test_fault_crash_sequential);
  MW_RUN(test_fault_crash_inflight);
  MW_RUN(test_fault_crash_concurrent);
  MW_RUN(test_vtable_versions);
  MW_RUN(test_visible_implies_durable);
  MW_RUN(test_settle);
  MW_RUN(test_file_mkdir_race);
  rm_rf(g_tmpdir);
  return mw_test_finish();
}
