/* mw_test.h - the tiny test harness: CHECK macros that record failures and
 * keep going, and a summary line. Each test file has a main() that calls its
 * test functions with MW_RUN(fn) and returns mw_test_finish(). A program
 * that made no check at all fails (a test that asserts nothing proves
 * nothing: typically a skipped precondition or a loop that never ran). */
#ifndef MW_TEST_H
#define MW_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memwal.h"

static int mw_test_failures = 0;
/* The message of an optional error (a function, so that passing &e does not
 * trip -Waddress in the macro below). */
static inline const char *mw_test_msg(const mw_error *e) { return e ? e->message : ""; }
static int mw_test_checks = 0;
static const char *mw_test_current = "";

#define CHECK(cond)                                                              \
  do {                                                                           \
    mw_test_checks++;                                                            \
    if (!(cond)) {                                                               \
      mw_test_failures++;                                                        \
      fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__,      \
              mw_test_current, #cond);                                           \
    }                                                                            \
  } while (0)

#define CHECK_INT(a, b)                                                          \
  do {                                                                           \
    long long mw_a_ = (long long)(a), mw_b_ = (long long)(b);                    \
    mw_test_checks++;                                                            \
    if (mw_a_ != mw_b_) {                                                        \
      mw_test_failures++;                                                        \
      fprintf(stderr, "%s:%d: [%s] CHECK_INT failed: %s == %lld, expected %lld\n", \
              __FILE__, __LINE__, mw_test_current, #a, mw_a_, mw_b_);            \
    }                                                                            \
  } while (0)

#define CHECK_STR(a, b)                                                          \
  do {                                                                           \
    const char *mw_a_ = (a), *mw_b_ = (b);                                       \
    mw_test_checks++;                                                            \
    if (!mw_a_ || !mw_b_ || strcmp(mw_a_, mw_b_) != 0) {                         \
      mw_test_failures++;                                                        \
      fprintf(stderr, "%s:%d: [%s] CHECK_STR failed: %s == \"%s\", expected \"%s\"\n", \
              __FILE__, __LINE__, mw_test_current, #a, mw_a_ ? mw_a_ : "(null)",  \
              mw_b_ ? mw_b_ : "(null)");                                         \
    }                                                                            \
  } while (0)

/* Checks a status is MW_OK, printing the error message otherwise. */
#define CHECK_OK(expr, errp)                                                     \
  do {                                                                           \
    mw_status mw_s_ = (expr);                                                    \
    mw_test_checks++;                                                            \
    if (mw_s_ != MW_OK) {                                                        \
      mw_test_failures++;                                                        \
      fprintf(stderr, "%s:%d: [%s] %s failed: %s: %s\n", __FILE__, __LINE__,     \
              mw_test_current, #expr, mw_status_str(mw_s_),                      \
              mw_test_msg(errp));                                    \
    }                                                                            \
  } while (0)

/* Runs one test function; one that made no check fails too. */
#define MW_RUN(fn)                                                               \
  do {                                                                           \
    mw_test_current = #fn;                                                       \
    int mw_before_ = mw_test_failures, mw_checks_before_ = mw_test_checks;       \
    fn();                                                                        \
    if (mw_test_checks == mw_checks_before_) {                                   \
      mw_test_failures++;                                                        \
      fprintf(stderr, "[%s] made no checks (a test must assert something)\n", #fn); \
    }                                                                            \
    printf("%s %s\n", mw_test_failures == mw_before_ ? "ok  " : "FAIL", #fn);    \
    fflush(stdout);                                                              \
  } while (0)

static inline int mw_test_finish(void) {
  printf("%d checks, %d failed\n", mw_test_checks, mw_test_failures);
  if (mw_test_checks == 0) {
    fprintf(stderr, "FAIL: this test program made no checks (a test must assert something)\n");
    return 1;
  }
  return mw_test_failures ? 1 : 0;
}

#endif
