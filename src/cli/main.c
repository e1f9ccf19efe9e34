/* main.c - the memwal command: dispatch to subcommands. Each subcommand
 * lives in its own cli_<name>.c and is listed in the table below. */
#include <stdio.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cli/cli.h"
#include "memwal.h"

static const mw_cli_command commands[] = {
  {"ipc-cat", "ipc-cat FILE        decode an Arrow IPC stream, print JSON lines", mw_cli_ipc_cat},
  {"lance-cat", "lance-cat FILE.lance|DATASET_DIR [--columns A,B] [--rows START:END]   print a Lance file's or dataset's rows as JSON lines", mw_cli_lance_cat},
  {"inspect", "inspect URI --shard UUID   print the latest shard manifest as JSON", mw_cli_inspect},
  {"tail", "tail URI --shard UUID [--from P] [--to P]   print WAL entries as JSON lines", mw_cli_tail},
  {"append", "append URI --shard UUID --input FILE.arrows [--first-position N] [--fence]   append one WAL entry", mw_cli_append},
  {"put", "put URI --shard UUID --input FILE.arrows [--wal-only] [--no-durable] ...   ingest through a ShardWriter", mw_cli_put},
  {"delete", "delete URI --shard UUID --input KEYS.arrows [--flush-on-close]   write tombstones for primary keys", mw_cli_delete},
  {"scan", "scan URI --shard UUID [--claim]   print a shard's unflushed rows (read-only unless --claim)", mw_cli_scan},
  {"query", "query URI --shard UUID [--index NAME:COLUMN:KIND[:METRIC]]... [--filter EXPR] [--nearest COL --vector JSON] [--fts TEXT --fts-column COL] [--keys JSON] [-k K] [--columns A,B] [--limit N]   query a shard's unflushed rows (read-only)", mw_cli_query},
  {"flush", "flush URI --shard UUID   replay a shard, flush its MemTable as a generation", mw_cli_flush},
  {"bench", "bench URI [--rows N] [--batch-rows N] ...   ingest generated rows, print rows/s", mw_cli_bench},
  {"bench-query", "bench-query [URI] [--rows N] [--dim D] [--k K] [--queries Q] [--batch B] [--ef EF]   the query benchmark (indexed puts, vector / lookup / full-text queries; bench/lance_query.mjs runs the same on LanceDB), print one JSON line", mw_cli_bench_query},
  {"describe", "describe URI   print the base Lance table (schema, primary key, MemWAL spec, shards) as JSON", mw_cli_describe},
  {"create", "create URI --schema FILE.arrows [--pk COL[,COL]] [--spec SPEC] [--maintain NAME,...] [--defaults K=V,...]   create an empty Lance table with a MemWAL spec", mw_cli_create},
  {"set-spec", "set-spec URI --spec unsharded|bucket:COL:N|identity:COL [--maintain NAME,...] [--defaults K=V,...]   install or replace the table's MemWAL spec", mw_cli_set_spec},
  {"merge", "merge URI [--shard UUID] [--up-to GEN]   merge flushed generations into the base table (oldest first), print a JSON summary", mw_cli_merge},
  {"gc", "gc URI [--shard UUID] [--dry-run] [--keep-wal]   remove merged generation folders and WAL entries nothing needs any more (conservative), print why and a JSON summary", mw_cli_gc},
  {"route", "route FILE.arrows (--spec unsharded|bucket:COL:N|identity:COL | --table URI) [--summary]   the LanceDB shard of every row", mw_cli_route},
  {"gen", "gen OUT.arrows [--rows N] [--batch-rows N] [--dim D] [--first-id N]   generated rows of the benchmark schema as an IPC stream", mw_cli_gen},
  {"lance-write", "lance-write IN.arrows OUT_DIR [--pk COL]... [--format 2.0|2.1]   write a generation-style Lance dataset", mw_cli_lance_write},
};

static void usage(FILE *f) {
  fprintf(f, "usage: memwal COMMAND [ARGS]\n       memwal --version\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %s\n", commands[i].help);
}

/* glibc serves every allocation over 128 KiB (a batch's buffers, a WAL
 * entry, a sub-batch split off for a shard) with its own mmap, so each one
 * page-faults its memory in and munmaps it again when freed; on this
 * machine that cost more than the copying itself (table writer over 16
 * shards: 2.7 s vs 2.0 s for 100,000 rows, bench/table_bench.sh). The tool
 * keeps such blocks in the heap for reuse instead; the library leaves the
 * allocator of the program that links it alone. */
static void tune_malloc(void) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

int main(int argc, char **argv) {
  tune_malloc();
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
    printf("memwal %s\n", mw_version());
    return 0;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "memwal: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
