/* test_memtable_flush_s3.c - the whole MemTable flush suite
 * (memtable_flush_suite.h), SIGKILL test included, on S3: Ceph radosgw
 * started by scripts/test.sh (tests/s3/rgw_start.sh). Needs MW_TEST_S3_URI
 * and the AWS_* variables like test_objstore_s3.c and FAILS without them
 * (CMake registers it only with -DMW_TEST_S3=ON). Every run works under a
 * fresh prefix of its own. */
#include <time.h>

#include "memtable_flush_suite.h"

int main(void) {
  const char *uri = getenv("MW_TEST_S3_URI");
  if (!uri || strncmp(uri, "s3://", 5) != 0) {
    fprintf(stderr, "test_memtable_flush_s3: MW_TEST_S3_URI is not set (s3://bucket/prefix with AWS_ENDPOINT "
                    "etc.); run through scripts/test.sh, which starts radosgw\n");
    return 1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  size_t ul = strlen(uri);
  while (ul && uri[ul - 1] == '/') ul--;
  char base[640];
  snprintf(base, sizeof base, "%.*s/mtf-%ld-%ld/", (int)ul, uri, (long)getpid(), (long)ts.tv_nsec);
  mtf_run_suite(base);
  return mw_test_finish();
}
