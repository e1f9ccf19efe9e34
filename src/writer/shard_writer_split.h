/*
 * shard_writer_split.h - internal: the two halves of the ShardWriter's
 * flushes, so that a caller driving many shard writers (the table writer)
 * can start the flushes of every shard first and then wait for each, and
 * the shards' WAL and MemTable flusher threads work at the same time.
 * Same locking and error rules as mw_shard_writer_flush_wal /
 * mw_shard_writer_flush_memtable (shard_writer.c).
 */
#ifndef MW_WRITER_SHARD_WRITER_SPLIT_H
#define MW_WRITER_SHARD_WRITER_SPLIT_H

#include <stdint.h>

#include "memwal.h"

/* Asks the WAL flusher to write everything put so far now; *out_end: the
 * batch position to wait for with mw_shard_writer_wait_wal. */
mw_status mw_shard_writer_request_wal_flush(uint64_t *out_end, mw_shard_writer *w, mw_error *err);
/* Waits until every batch below `end` is durable (or a WAL attempt covering
 * them fails, or the writer dies). */
mw_status mw_shard_writer_wait_wal(mw_shard_writer *w, uint64_t end, mw_error *err);

/* What a MemTable flush request waits for: the newest frozen generation
 * (0 = nothing to flush) and the failure counters at the request, so the
 * wait reports any failure after it. */
typedef struct mw_flush_ticket {
  uint64_t generation;
  uint64_t wal_seq, gen_seq;
} mw_flush_ticket;

/* Freezes the active MemTable (when it holds rows) and asks for every
 * frozen one to be flushed now (retrying a failed flush at once).
 * mw_shard_writer_flush_memtable = this + the wait below. */
mw_status mw_shard_writer_request_memtable_flush(mw_flush_ticket *out, mw_shard_writer *w, mw_error *err);
/* Waits until every generation <= t->generation is flushed and committed;
 * returns the first failure after the request (WAL write or generation
 * flush, both retried in the background), the sticky error, or
 * MW_ERR_CLOSED once close started. */
mw_status mw_shard_writer_wait_memtable_flush(mw_shard_writer *w, const mw_flush_ticket *t, mw_error *err);

#endif
