/* test_shard_writer.c - the ShardWriter suite (shard_writer_suite.h) on
 * memory:// and on file:// (a fresh folder under /tmp). The same suite runs
 * on S3 (radosgw) in test_shard_writer_s3.c. */
#include "shard_writer_suite.h"

int main(void) {
  return wt_run_local(sw_run_suite, "/tmp/mw_test_sw_XXXXXX");
}
