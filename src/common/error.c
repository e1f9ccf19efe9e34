/* error.c - mw_error helpers and status names. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mw_version(void) { return MEMWAL_VERSION_STRING; }

void mw_free(void *ptr) { free(ptr); }

const char *mw_status_str(mw_status s) {
  switch (s) {
    case MW_OK: return "ok";
    case MW_ERR_INVALID: return "invalid input";
    case MW_ERR_NOT_FOUND: return "not found";
    case MW_ERR_ALREADY_EXISTS: return "already exists";
    case MW_ERR_IO: return "I/O error";
    case MW_ERR_CORRUPT: return "corrupt data";
    case MW_ERR_UNSUPPORTED: return "unsupported";
    case MW_ERR_NOMEM: return "out of memory";
    case MW_ERR_FENCED: return "writer fenced";
    case MW_ERR_CONFLICT: return "conflict";
    case MW_ERR_CLOSED: return "closed";
    case MW_ERR_POISONED: return "writer poisoned";
    case MW_ERR_TIMEOUT: return "timeout";
    case MW_ERR_INTERNAL: return "internal error";
    case MW_ERR_NOT_DURABLE: return "taken, not known durable";
  }
  return "unknown status";
}

mw_status mw_err(mw_error *err, mw_status code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

mw_status mw_err_wrap(mw_error *err, mw_status code, const char *fmt, ...) {
  if (!err) return code;
  char prefix[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  char old[MW_ERROR_MESSAGE_SIZE];
  memcpy(old, err->message, sizeof old);
  old[sizeof old - 1] = '\0';
  if (err->code == MW_OK) err->code = code;
  /* Truncation is acceptable: messages are bounded by design. */
  size_t n = strlen(prefix);
  if (n > sizeof err->message - 3) n = sizeof err->message - 3;
  memcpy(err->message, prefix, n);
  err->message[n] = ':';
  err->message[n + 1] = ' ';
  size_t room = sizeof err->message - n - 3;
  size_t m = strlen(old);
  if (m > room) m = room;
  memcpy(err->message + n + 2, old, m);
  err->message[n + 2 + m] = '\0';
  return err->code;
}

void mw_err_clear(mw_error *err) {
  if (err) {
    err->code = MW_OK;
    err->message[0] = '\0';
  }
}
