/* wal_prefetch.h - reads WAL entries ahead, in parallel, and hands them out
 * in position order (replay on open). Reading an entry is I/O (a get on
 * S3 is a round trip) plus decoding; a few reader threads keep a bounded
 * window of entries in flight while the caller inserts the previous ones. */
#ifndef MW_WAL_PREFETCH_H
#define MW_WAL_PREFETCH_H

#include <stdint.h>

#include "memwal.h"

typedef struct mw_wal_prefetch mw_wal_prefetch;

/* Starts n_threads readers (>= 1) on shard `shard` of `store` (borrowed
 * until close) from position `first`, keeping at most `window` entries
 * read ahead (memory bound: window x entry size). */
mw_status mw_wal_prefetch_open(mw_wal_prefetch **out, mw_objstore *store, const char *shard,
                               uint64_t first, int n_threads, int window, mw_error *err);

/* The next entry in position order (the caller owns it: release with
 * mw_wal_entry_release). MW_ERR_NOT_FOUND at the first absent position
 * (out zeroed); any other status is that entry's read error. After a non-OK
 * result, next keeps returning it. */
mw_status mw_wal_prefetch_next(mw_wal_entry *out, mw_wal_prefetch *p, mw_error *err);

/* Stops the readers and frees entries read ahead. NULL ok. */
void mw_wal_prefetch_close(mw_wal_prefetch *p);

#endif
