/* zero_checks.c - a deliberately hollow test program for the harness's own
 * test (zero_checks.sh): with argument "none" it runs one test function that
 * checks nothing; with "some" one that makes a passing check, followed by
 * one that checks nothing; with "pass" one passing check only. mw_test.h
 * must fail the first two and pass the last. */
#include "../mw_test.h"

static void test_nothing(void) {}
static void test_one_check(void) { CHECK_INT(1 + 1, 2); }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "none";
  if (strcmp(mode, "none") == 0) {
    MW_RUN(test_nothing);
  } else if (strcmp(mode, "some") == 0) {
    MW_RUN(test_one_check);
    MW_RUN(test_nothing);
  } else {
    MW_RUN(test_one_check);
  }
  return mw_test_finish();
}
