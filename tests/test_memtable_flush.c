/* test_memtable_flush.c - the MemTable flush suite (memtable_flush_suite.h)
 * on memory:// and on file:// (a fresh folder under /tmp; the SIGKILL test
 * runs there). The same suite runs on S3 (radosgw) in
 * test_memtable_flush_s3.c. */
#include "memtable_flush_suite.h"

int main(void) {
  return wt_run_local(mtf_run_suite, "/tmp/mw_test_mtf_XXXXXX");
}
