/* cli.h - subcommands of the memwal tool. Each gets argv starting at its own
 * name and returns the process exit status (0 ok, 1 failure, 2 usage). */
#ifndef MW_CLI_H
#define MW_CLI_H

typedef struct mw_cli_command {
  const char *name;
  const char *help;
  int (*run)(int argc, char **argv);
} mw_cli_command;

int mw_cli_ipc_cat(int argc, char **argv);
int mw_cli_lance_cat(int argc, char **argv);
int mw_cli_inspect(int argc, char **argv);
int mw_cli_tail(int argc, char **argv);
int mw_cli_append(int argc, char **argv);
int mw_cli_put(int argc, char **argv);
int mw_cli_scan(int argc, char **argv);
int mw_cli_delete(int argc, char **argv);
int mw_cli_bench(int argc, char **argv);
int mw_cli_flush(int argc, char **argv);
int mw_cli_lance_write(int argc, char **argv);
int mw_cli_route(int argc, char **argv);
int mw_cli_describe(int argc, char **argv);
int mw_cli_create(int argc, char **argv);
int mw_cli_set_spec(int argc, char **argv);
int mw_cli_gen(int argc, char **argv);
int mw_cli_query(int argc, char **argv);
int mw_cli_bench_query(int argc, char **argv);
int mw_cli_merge(int argc, char **argv);
int mw_cli_gc(int argc, char **argv);

#endif
