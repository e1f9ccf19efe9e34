/*
 * objstore_settle.c - "did our ambiguous write land?": put_if_absent with
 * its outcome settled (contract in objstore.h).
 *
 * Design: a put_if_absent that returns an error may still have written the
 * object (the object became visible, then an fsync failed; an S3 response
 * was lost). The only way to know is to read the key back and compare with
 * our bytes, and what that read proves depends on the store:
 *   - our bytes, store declares MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE (S3,
 *     memory://): the write happened and is durable: MW_OK.
 *   - our bytes, any other store (file://, a custom store declaring
 *     nothing): visible but perhaps not durable (a failed fsync may have
 *     lost it for a crash): MW_ERR_POISONED. Never MW_OK: a caller would
 *     acknowledge data a crash can take away.
 *   - other bytes: someone else owns the key; put_if_absent never replaces,
 *     so ours can never land there: MW_ERR_ALREADY_EXISTS.
 *   - absent, and no attempt so far returned MW_ERR_TIMEOUT: by the vtable
 *     contract a call that returned has no further effect, so nothing of
 *     ours will ever be there: the clean failure, returned as it came.
 *   - absent, but some attempt returned MW_ERR_TIMEOUT: that request may
 *     still land. Moving our bytes elsewhere could then write them twice,
 *     so the SAME bytes are retried at the SAME key (SETTLE_ROUNDS times,
 *     backoff doubling from SETTLE_BACKOFF_MS): a retry that succeeds wins
 *     the key (the late request then finds it taken and does nothing); a
 *     late landing of the earlier request shows up as ALREADY_EXISTS whose
 *     read-back holds our bytes (-> the first case). Still unresolved after
 *     the rounds: MW_ERR_POISONED.
 *   - the read-back itself fails: unknown: MW_ERR_POISONED.
 * A first attempt answering ALREADY_EXISTS is returned as is (no read): with
 * no earlier request of ours in flight the key cannot hold our write.
 * Identical bytes written by another writer are indistinguishable from
 * ours; for memwal objects (WAL entries carry the writer epoch, manifests
 * their version and epoch) that means the same content, so either answer
 * is right.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "objstore/objstore.h"

#define SETTLE_ROUNDS 4
#define SETTLE_BACKOFF_MS 50

typedef enum readback { RB_OURS, RB_OTHER, RB_ABSENT, RB_UNKNOWN } readback;

static readback read_back(mw_objstore *store, const char *key, const void *data, size_t len,
                          mw_error *rerr) {
  uint8_t *got = NULL;
  size_t got_len = 0;
  mw_status s = mw_objstore_get(store, &got, &got_len, key, 0, MW_OBJSTORE_TO_END, rerr);
  if (s == MW_ERR_NOT_FOUND) return RB_ABSENT;
  if (s != MW_OK) return RB_UNKNOWN;
  readback r = (got_len == len && (len == 0 || memcmp(got, data, len) == 0)) ? RB_OURS : RB_OTHER;
  free(got);
  return r;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

mw_status mw_objstore_put_if_absent_settled(mw_objstore *store, const char *key,
                                            const void *data, size_t len, mw_error *err) {
  mw_error werr = {0};
  mw_status s = mw_objstore_put_if_absent(store, key, data, len, &werr);
  if (s == MW_OK) return MW_OK;
  if (s == MW_ERR_ALREADY_EXISTS || s == MW_ERR_INVALID) {
    if (err) *err = werr;
    return s;
  }
  int pending = 0; /* some attempt timed out: it may still land */
  long backoff = SETTLE_BACKOFF_MS;
  for (int round = 0;; round++) {
    if (s == MW_ERR_TIMEOUT) pending = 1;
    mw_error rerr = {0};
    readback rb = read_back(store, key, data, len, &rerr);
    switch (rb) {
      case RB_OURS:
        if (mw_objstore_visible_implies_durable(store)) {
          mw_err_clear(err);
          return MW_OK;
        }
        return mw_err(err, MW_ERR_POISONED,
                      "outcome unknown (visible, but the store does not declare visible objects "
                      "durable): %s",
                      werr.message);
      case RB_OTHER:
        return mw_err(err, MW_ERR_ALREADY_EXISTS,
                      "put_if_absent '%s': already exists with other content (after: %s)", key,
                      werr.message);
      case RB_UNKNOWN:
        return mw_err(err, MW_ERR_POISONED, "outcome unknown: %s; reading it back failed: %s",
                      werr.message, rerr.message);
      case RB_ABSENT:
        break;
    }
    if (!pending) {
      /* Clean failure: nothing of ours there, nothing in flight. */
      if (err) *err = werr;
      return s;
    }
    if (round >= SETTLE_ROUNDS)
      return mw_err(err, MW_ERR_POISONED,
                    "outcome unknown: a timed-out request may still land (%d retries did not "
                    "settle it; last: %s)",
                    SETTLE_ROUNDS, werr.message);
    sleep_ms(backoff);
    backoff *= 2;
    mw_err_clear(&werr);
    s = mw_objstore_put_if_absent(store, key, data, len, &werr);
    if (s == MW_OK) {
      mw_err_clear(err);
      return MW_OK; /* ours won the key; the late request will find it taken */
    }
    /* ALREADY_EXISTS now may be our own late landing: read back again. */
  }
}
