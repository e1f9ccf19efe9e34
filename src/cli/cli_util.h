/* cli_util.h - helpers the memwal subcommands share: integer options,
 * opening a store that must already exist, reading an input file whole,
 * decoding an Arrow IPC input. Helpers that print do so as
 * "memwal CMD: ..." on stderr, CMD being the subcommand's name, so each
 * command keeps its own messages. */
#ifndef MW_CLI_UTIL_H
#define MW_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "memwal.h"

/* An option of a `CMD URI [options]` command: a value option ("--name V"
 * or "--name=V", at most once) when `value` is set, else a flag. */
typedef struct mw_cli_opt {
  const char *name;
  const char **value;
  bool *flag;
} mw_cli_opt;

/* Parses argv[1..argc-1] into opts and the one positional argument *uri
 * ("-" counts as positional). Returns 0, or 2 on a usage error (an unknown
 * option is also named on stderr): the caller then prints its usage. */
int mw_cli_parse_args(const char **uri, const mw_cli_opt *opts, size_t n_opts, const char *cmd,
                      int argc, char **argv);

/* Parses a non-negative decimal integer: digits only (no sign, no spaces),
 * at least one, no overflow. */
bool mw_cli_parse_u64(uint64_t *out, const char *s);

/* Opens the store at uri without options. A local folder (a path or a
 * file:// URI without %-escapes) must exist already, since opening a file
 * store would create it. Returns 0, or prints the reason and returns 1. */
int mw_cli_open_existing(mw_objstore **store, const char *cmd, const char *uri);

/* The end of a command that returns a JSON summary (merge, gc): on MW_OK
 * prints json and a newline on stdout, else "memwal CMD: URI: message" on
 * stderr; frees json and closes store (both may be NULL). Returns the exit
 * status (1 also when stdout cannot be flushed). */
int mw_cli_finish_json(const char *cmd, const char *uri, mw_status s, char *json, const mw_error *err,
                       mw_objstore *store);

/* The existence check of mw_cli_open_existing alone (local URIs must name an
 * existing folder; other schemes pass). 0 = ok, 1 = reported on stderr. */
int mw_cli_check_exists(const char *cmd, const char *uri);

/* Reads the whole file at path into b ("-" = stdin when dash_is_stdin).
 * Returns 0 or an errno value (ENOMEM when b cannot grow); *opened, when
 * given, tells whether the file could be opened at all. */
int mw_cli_read_file(mw_buf *b, const char *path, bool dash_is_stdin, bool *opened);

/* Decodes the Arrow IPC stream in `in` (the contents of `path`), printing
 * "memwal CMD: PATH: REASON" on failure. Returns 0 or 1. */
int mw_cli_decode_ipc(struct ArrowSchema *schema, struct ArrowArray **batches, size_t *n_batches,
                      const char *cmd, const char *path, const mw_buf *in);

/* Releases what mw_ipc_decode returned. */
void mw_cli_release_batches(struct ArrowArray *batches, size_t n_batches);

/* A copy of schema without the top-level metadata keys `drop` (a NULL-
 * terminated list): the WAL keys writer_epoch / fence_sentinel, which the
 * writer sets itself. */
mw_status mw_cli_schema_without(struct ArrowSchema *out, const struct ArrowSchema *in,
                                const char *const *drop, mw_error *err);

/* cli_writer.c: the writer schema of a shard (its first WAL entry with
 * columns, without fence metadata); 0 or 1 (message printed). */
int mw_cli_shard_schema(struct ArrowSchema *out, mw_objstore *store, const char *shard, const char *cmd);

/* cli_writer.c: calls fn for every unflushed WAL entry with rows of a shard,
 * read-only (no claim, no fence), in position order, after checking its
 * batches against schema. fn may take the entry's batches (set their
 * release to NULL). 0, or fn's non-zero status, or 1 (message printed). */
struct mw_wal_entry;
typedef int (*mw_cli_entry_fn)(void *ctx, uint64_t pos, struct mw_wal_entry *e);
int mw_cli_walk_unflushed(mw_objstore *store, const char *shard, const struct ArrowSchema *schema, const char *cmd,
                          mw_cli_entry_fn fn, void *ctx);

/* Prints a stream as ipc-cat does (a schema line, then one JSON object per
 * row), buffered; 0, or 1 with the error on stderr ("memwal CMD: ...").
 * The stream stays the caller's to release. */
int mw_cli_print_stream(struct ArrowArrayStream *st, const char *cmd);

#endif
