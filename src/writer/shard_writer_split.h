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

/* Freezes the active MemTable (when it holds rows) and asks for the frozen
 * ones to be flushed; *out_generation: the generation to wait for (0 =
 * nothing to flush). */
mw_status mw_shard_writer_request_memtable_flush(uint64_t *out_generation, mw_shard_writer *w, mw_error *err);
/* Waits until every generation <= `generation` is flushed and committed,
 * returning the first failure that happens meanwhile. */
mw_status mw_shard_writer_wait_memtable_flush(mw_shard_writer *w, uint64_t generation, mw_error *err);

#endif
