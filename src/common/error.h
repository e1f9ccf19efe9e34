/* error.h - filling mw_error: the message is written once, where the failure
 * is detected, and says what and where. */
#ifndef MW_COMMON_ERROR_H
#define MW_COMMON_ERROR_H

#include "memwal.h"

#if defined(__GNUC__)
#define MW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MW_PRINTF(a, b)
#endif

/* Sets err (if non-NULL) to code + formatted message; returns code. */
mw_status mw_err(mw_error *err, mw_status code, const char *fmt, ...) MW_PRINTF(3, 4);

/* Prepends "prefix: " to an existing message (adds context on the way up);
 * returns err->code (or `code` if err is NULL). */
mw_status mw_err_wrap(mw_error *err, mw_status code, const char *fmt, ...) MW_PRINTF(3, 4);

/* Clears err to MW_OK / "". */
void mw_err_clear(mw_error *err);

#define MW_TRY(expr)                  \
  do {                                \
    mw_status mw_try_s_ = (expr);     \
    if (mw_try_s_ != MW_OK) return mw_try_s_; \
  } while (0)

#endif
