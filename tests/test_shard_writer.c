/* test_shard_writer.c - the ShardWriter suite (shard_writer_suite.h) on
 * memory:// and on file:// (a fresh folder under /tmp). The same suite runs
 * on S3 (radosgw) in test_shard_writer_s3.c. */
#include "shard_writer_suite.h"

int main(void) {
  sw_run_suite("memory://");
  char root[64] = "/tmp/mw_test_sw_XXXXXX";
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  char base[128];
  snprintf(base, sizeof base, "file://%s/", root);
  sw_run_suite(base);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  CHECK_INT(system(cmd), 0);
  return mw_test_finish();
}
