/* test_shard_writer_s3.c - the whole ShardWriter suite (shard_writer_suite.h)
 * on S3: Ceph radosgw started by scripts/test.sh (tests/s3/rgw_start.sh).
 * Needs MW_TEST_S3_URI and the AWS_* variables like test_objstore_s3.c and
 * FAILS without them (CMake registers it only with -DMW_TEST_S3=ON). */
#include <time.h>

#include "shard_writer_suite.h"

int main(void) {
  const char *uri = getenv("MW_TEST_S3_URI");
  if (!uri || strncmp(uri, "s3://", 5) != 0) {
    fprintf(stderr, "test_shard_writer_s3: MW_TEST_S3_URI is not set (s3://bucket/prefix with AWS_ENDPOINT "
                    "etc.); run through scripts/test.sh, which starts radosgw\n");
    return 1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  size_t ul = strlen(uri);
  while (ul && uri[ul - 1] == '/') ul--;
  char base[600];
  snprintf(base, sizeof base, "%.*s/sw-%ld-%ld/", (int)ul, uri, (long)getpid(), (long)ts.tv_nsec);
  sw_run_suite(base);
  return mw_test_finish();
}
