/* test_memtable_flush_s3.c - the whole MemTable flush suite
 * (memtable_flush_suite.h), SIGKILL test included, on S3: Ceph radosgw
 * started by scripts/test.sh (tests/s3/rgw_start.sh). Needs MW_TEST_S3_URI
 * and the AWS_* variables like test_objstore_s3.c and FAILS without them
 * (CMake registers it only with -DMW_TEST_S3=ON). Every run works under a
 * fresh prefix of its own. */
#include "memtable_flush_suite.h"
#include "s3_test_util.h"

int main(void) {
  char base[640];
  if (s3_test_base(base, sizeof base, "test_memtable_flush_s3", "mtf", "/") != 0) return 1;
  mtf_run_suite(base);
  return mw_test_finish();
}
