/* test_memtable_flush.c - the MemTable flush suite (memtable_flush_suite.h)
 * on memory:// and on file:// (a fresh folder under /tmp; the SIGKILL test
 * runs there). The same suite runs on S3 (radosgw) in
 * test_memtable_flush_s3.c. */
#include "memtable_flush_suite.h"

int main(void) {
  mtf_run_suite("memory://");
  char root[64] = "/tmp/mw_test_mtf_XXXXXX";
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  char base[128];
  snprintf(base, sizeof base, "file://%s/", root);
  mtf_run_suite(base);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  CHECK_INT(system(cmd), 0);
  return mw_test_finish();
}
