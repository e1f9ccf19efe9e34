/*
 * objstore_fault.h - a fault-injecting object store for tests (internal API).
 *
 * mw_objstore_fault_new() wraps an existing store ("inner", borrowed: it must
 * outlive the wrapper, and closing the wrapper does not close it). The
 * wrapper is an ordinary mw_objstore: pass it to any layer (WAL, manifest,
 * writer) and steer failures from the test through the functions below.
 * With nothing armed it is a transparent pass-through that counts calls.
 *
 * OPERATIONS are numbered by mw_fault_op; masks combine MW_FAULT_MASK(op)
 * bits (MW_FAULT_WRITES = put | put_if_absent | del, MW_FAULT_READS = get |
 * head | list, MW_FAULT_ALL).
 *
 * ARMING (mw_objstore_fault_arm): one fault at a time; arming replaces the
 * previous one. From the moment of arming, calls whose op is in spec.ops (and,
 * if spec.key_prefix is set, whose key - for list: whose prefix - starts with
 * it) are counted 1, 2, 3, ...; the call numbered spec.nth is the first to
 * fail. spec.mode says what follows:
 *   MW_FAULT_ONCE        only that call fails (transient); the fault disarms.
 *   MW_FAULT_PERSISTENT  that call and every later counted call fail.
 * spec.kind says how a faulted call fails:
 *   MW_FAULT_ERROR       nothing is done on the inner store; the call returns
 *                        MW_ERR_IO "injected fault".
 *   MW_FAULT_WROTE_ERROR the call IS performed on the inner store, then
 *                        returns MW_ERR_IO "injected fault after the
 *                        operation" whatever the inner result was: the
 *                        "outcome unknown" case (for reads: data is dropped).
 *   MW_FAULT_CRASH       the store crashes at that call (see CRASH); mode is
 *                        ignored (a crash lasts until reset).
 *   MW_FAULT_FSYNC_FILE_AFTER_VISIBLE, MW_FAULT_FSYNC_DIR_AFTER_VISIBLE
 *                        a local disk whose fsync of the file / of its
 *                        folder fails after the object became visible
 *                        under its final name: the write IS performed on
 *                        the inner store, then the call returns MW_ERR_IO
 *                        "fsync of the file|folder failed after the
 *                        object became visible". Only writes (put, put_if_absent,
 *                        del) are counted for these kinds.
 *   MW_FAULT_TIMEOUT     nothing is done on the inner store; the call returns
 *                        MW_ERR_TIMEOUT (a request that timed out and, as it
 *                        happens, never lands). Writes only, like the above.
 * VISIBLE IMPLIES DURABLE: the wrapper inherits the inner store's
 * MW_OBJSTORE_VISIBLE_IMPLIES_DURABLE, except that from the moment an
 * fsync-after-visible kind is armed until mw_objstore_fault_reset() it
 * models a local disk and reports false (also after a ONCE fault fired:
 * the object it left visible is still not known durable).
 * Calls that fail because of a fault return MW_ERR_IO (MW_ERR_TIMEOUT for
 * MW_FAULT_TIMEOUT) with the op, key and call number in the message, and
 * count in counters.injected.
 *
 * CRASH (armed MW_FAULT_CRASH reaching its call, or mw_objstore_fault_crash):
 * simulates the process dying at that instant. The crashing call does
 * nothing and fails; from then on EVERY call, of any op, fails with MW_ERR_IO
 * "store crashed" without touching the inner store, until
 * mw_objstore_fault_reset(). A write that was in flight on another thread
 * when the crash happened (performed, or being performed, on the inner store
 * but not yet returned) is ROLLED BACK: the key is restored to its state
 * before that write (old bytes put back, or the key deleted) and the write
 * returns MW_ERR_IO "store crashed". So after a crash the inner store holds
 * exactly the writes that returned MW_OK (plus those that returned an
 * injected MW_FAULT_WROTE_ERROR before the crash: they completed; their
 * outcome was merely reported wrongly; the same for the fsync-after-visible
 * kinds). Reads in flight at the crash fail
 * too (their data is dropped). When mw_objstore_fault_crash() or the
 * crashing call returns, every rollback is complete, so the test can inspect
 * the inner store right away (typically: close the layer under test, reopen
 * it on the inner store, check every acknowledged write is there).
 * To make this exact, WRITES (put, put_if_absent, del) are SERIALIZED through
 * the wrapper (a mutex held across the inner call, and put/del first read the
 * key's old bytes for the undo). That is a deliberate exception to "no lock
 * across object-store I/O": this is a test tool. Reads are not serialized.
 * A rollback that fails on the inner store counts in
 * counters.rollback_failures (never with the built-in memory store).
 *
 * STAGING (objstore.h): the wrapper stages in memory (stage keeps a copy
 * of the bytes), publishes with put_if_absent_settled through itself (so a
 * published entry is ONE counted put_if_absent call, exactly as an
 * unstaged one, with every kind above) and syncs as a local disk would:
 *   stage (MW_FAULT_STAGE)  ERROR / TIMEOUT / WROTE_ERROR / the fsync
 *                           kinds: fails cleanly, nothing staged (a stage
 *                           is invisible whatever happened); CRASH crashes.
 *   sync (MW_FAULT_SYNC)    any kind but CRASH: MW_ERR_IO "fsync of the
 *                           folder failed after the object became visible
 *                           (injected ...): outcome unknown"; CRASH
 *                           crashes.
 * After a crash stage and sync fail like every call.
 *
 * COUNTERS count every call made through the wrapper, per op, including
 * failed ones and calls refused after a crash.
 *
 * All functions are thread-safe. The control functions return MW_ERR_INVALID
 * (or do nothing) when `store` is not a fault wrapper.
 */
#ifndef MW_OBJSTORE_FAULT_H
#define MW_OBJSTORE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "memwal.h"
#include "memwal_sys.h"

typedef enum mw_fault_op {
  MW_FAULT_OP_PUT = 0,
  MW_FAULT_OP_PUT_IF_ABSENT = 1,
  MW_FAULT_OP_GET = 2,
  MW_FAULT_OP_HEAD = 3,
  MW_FAULT_OP_LIST = 4,
  MW_FAULT_OP_DEL = 5,
  MW_FAULT_OP_STAGE = 6, /* mw_objstore_stage (see STAGING) */
  MW_FAULT_OP_SYNC = 7,  /* mw_objstore_sync_published */
  MW_FAULT_N_OPS = 8
} mw_fault_op;

#define MW_FAULT_MASK(op) (1u << (op))
#define MW_FAULT_PUT MW_FAULT_MASK(MW_FAULT_OP_PUT)
#define MW_FAULT_PUT_IF_ABSENT MW_FAULT_MASK(MW_FAULT_OP_PUT_IF_ABSENT)
#define MW_FAULT_GET MW_FAULT_MASK(MW_FAULT_OP_GET)
#define MW_FAULT_HEAD MW_FAULT_MASK(MW_FAULT_OP_HEAD)
#define MW_FAULT_LIST MW_FAULT_MASK(MW_FAULT_OP_LIST)
#define MW_FAULT_DEL MW_FAULT_MASK(MW_FAULT_OP_DEL)
#define MW_FAULT_WRITES (MW_FAULT_PUT | MW_FAULT_PUT_IF_ABSENT | MW_FAULT_DEL)
#define MW_FAULT_READS (MW_FAULT_GET | MW_FAULT_HEAD | MW_FAULT_LIST)
#define MW_FAULT_STAGE MW_FAULT_MASK(MW_FAULT_OP_STAGE)
#define MW_FAULT_SYNC MW_FAULT_MASK(MW_FAULT_OP_SYNC)
/* ALL (and ops = 0) is the six object operations; stage and sync are
 * counted only when named. */
#define MW_FAULT_ALL (MW_FAULT_WRITES | MW_FAULT_READS)

typedef enum mw_fault_kind {
  MW_FAULT_ERROR = 0,       /* fail before doing anything */
  MW_FAULT_WROTE_ERROR = 1, /* do it on the inner store, then report MW_ERR_IO */
  MW_FAULT_CRASH = 2,       /* crash the store at this call */
  MW_FAULT_FSYNC_FILE_AFTER_VISIBLE = 3, /* write visible, file fsync failed */
  MW_FAULT_FSYNC_DIR_AFTER_VISIBLE = 4,  /* write visible, folder fsync failed */
  MW_FAULT_TIMEOUT = 5      /* nothing done, MW_ERR_TIMEOUT (writes only) */
} mw_fault_kind;

typedef enum mw_fault_mode {
  MW_FAULT_ONCE = 0,      /* only the nth counted call fails */
  MW_FAULT_PERSISTENT = 1 /* the nth and every later counted call fail */
} mw_fault_mode;

typedef struct mw_fault_spec {
  unsigned ops;           /* mask of counted ops; 0 means MW_FAULT_ALL */
  const char *key_prefix; /* NULL/"" = any key; else only keys starting with
                             it count (copied by arm) */
  uint64_t nth;           /* 1 = the next counted call; must be >= 1 */
  mw_fault_kind kind;
  mw_fault_mode mode;
} mw_fault_spec;

typedef struct mw_fault_counters {
  uint64_t calls[MW_FAULT_N_OPS]; /* calls per op (indexed by mw_fault_op) */
  uint64_t injected;              /* calls failed by a fault or by the crash */
  uint64_t rolled_back;           /* in-flight writes undone by a crash */
  uint64_t rollback_failures;     /* undo attempts the inner store refused */
} mw_fault_counters;

/* Wraps `inner` (borrowed; must outlive the wrapper). Close the wrapper with
 * mw_objstore_close(); that leaves inner open. */
mw_status mw_objstore_fault_new(mw_objstore **out, mw_objstore *inner, mw_error *err);

/* True if `store` is a fault wrapper. */
bool mw_objstore_is_fault(const mw_objstore *store);

/* Arms one fault (replacing any armed one; the counted-call numbering starts
 * again at 0). MW_ERR_INVALID for nth == 0, an unknown kind/mode, ops outside
 * MW_FAULT_ALL, or a non-wrapper store. */
mw_status mw_objstore_fault_arm(mw_objstore *store, const mw_fault_spec *spec, mw_error *err);

/* STALL (for ordering tests, independent of the armed fault): the nth
 * stage call counted from now (1 = the next one) blocks until
 * mw_objstore_fault_release(); then it fails cleanly (MW_ERR_IO "injected
 * stall failure") if `fail`, else it stages normally. One stall at a time;
 * a new one replaces a pending one. mw_objstore_fault_stalled() says
 * whether a stage is blocked right now. Reset and crash release it too. */
void mw_objstore_fault_stall_stage(mw_objstore *store, uint64_t nth, bool fail);
bool mw_objstore_fault_stalled(mw_objstore *store);
void mw_objstore_fault_release(mw_objstore *store);

/* Disarms the fault and clears the crashed state (the store works again).
 * Counters are kept. */
void mw_objstore_fault_reset(mw_objstore *store);

/* Crashes the store now (see CRASH above); returns once every in-flight
 * write has been rolled back. */
void mw_objstore_fault_crash(mw_objstore *store);

/* True after a crash, until mw_objstore_fault_reset(). */
bool mw_objstore_fault_crashed(mw_objstore *store);

/* Snapshot of the counters (zeroed if store is not a wrapper). */
void mw_objstore_fault_counters(mw_objstore *store, mw_fault_counters *out);

/* Sum of calls[] over the ops in mask (0 = all). */
uint64_t mw_objstore_fault_calls(mw_objstore *store, unsigned ops);

/* Zeroes every counter (does not touch the armed fault). */
void mw_objstore_fault_reset_counters(mw_objstore *store);

#endif
