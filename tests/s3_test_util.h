/* s3_test_util.h - where an S3 test writes: MW_TEST_S3_URI (s3://bucket/
 * prefix, with the AWS_* variables of the server; CMake passes them with
 * -DMW_TEST_S3=ON, scripts/test.sh starts radosgw) + "/TAG-<pid>-<ns>", a
 * fresh prefix for every run. Without MW_TEST_S3_URI the test FAILS (it is
 * registered only when a server is there, so it never skips). */
#ifndef MW_S3_TEST_UTIL_H
#define MW_S3_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Writes the run's base into out (+ suffix, "" or "/"); -1 (after saying
 * why, as `test`) when MW_TEST_S3_URI is not an s3:// URI. */
static inline int s3_test_base(char *out, size_t cap, const char *test, const char *tag, const char *suffix) {
  const char *uri = getenv("MW_TEST_S3_URI");
  if (!uri || strncmp(uri, "s3://", 5) != 0) {
    fprintf(stderr, "%s: MW_TEST_S3_URI is not set (s3://bucket/prefix with AWS_ENDPOINT etc.); "
                    "run through scripts/test.sh, which starts radosgw\n", test);
    return -1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  size_t ul = strlen(uri);
  while (ul && uri[ul - 1] == '/') ul--;
  snprintf(out, cap, "%.*s/%s-%ld-%ld%s", (int)ul, uri, tag, (long)getpid(), (long)ts.tv_nsec, suffix);
  return 0;
}

#endif /* MW_S3_TEST_UTIL_H */
