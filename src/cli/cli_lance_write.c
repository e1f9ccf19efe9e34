/* cli_lance_write.c - `memwal lance-write IN.arrows OUT_DIR [--pk COL]...
 * [--format 2.0|2.1] [--no-dedup] [--no-index]`: writes the batches of an
 * Arrow IPC stream as a generation-style Lance dataset folder (data file,
 * manifest, bloom_filter.bin, _pk_index/) for debugging and interop tests.
 * Prints one JSON line with the result. Exit 0 ok, 1 failure, 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/buf.h"
#include "lance/lance_dataset.h"
#include "memwal.h"
#include "memwal_sys.h"

static int usage(void) {
  fprintf(stderr, "usage: memwal lance-write IN.arrows OUT_DIR [--pk COL]... [--format 2.0|2.1] [--no-dedup] [--no-index]\n");
  return 2;
}

int mw_cli_lance_write(int argc, char **argv) {
  const char *in_path = NULL, *out_dir = NULL;
  const char *pks[8];
  size_t n_pk = 0;
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--pk") == 0 && i + 1 < argc) {
      if (n_pk == 8) return usage();
      pks[n_pk++] = argv[++i];
    } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp(v, "2.0") == 0) o.version = MW_LANCE_V2_0;
      else if (strcmp(v, "2.1") == 0) o.version = MW_LANCE_V2_1;
      else return usage();
    } else if (strcmp(argv[i], "--no-dedup") == 0) {
      o.dedup = false;
    } else if (strcmp(argv[i], "--no-index") == 0) {
      o.write_index = false;
    } else if (argv[i][0] == '-' && argv[i][1] == '-') {
      return usage();
    } else if (!in_path) {
      in_path = argv[i];
    } else if (!out_dir) {
      out_dir = argv[i];
    } else {
      return usage();
    }
  }
  if (!in_path || !out_dir) return usage();
  if (n_pk) {
    o.pk_names = pks;
    o.n_pk = n_pk;
  }
  mw_buf in;
  mw_buf_init(&in);
  bool opened = false;
  int e = mw_cli_read_file(&in, in_path, false, &opened);
  if (e) {
    if (opened && e == ENOMEM) fprintf(stderr, "memwal lance-write: out of memory\n");
    else fprintf(stderr, "memwal lance-write: %s: %s\n", in_path, strerror(e));
    mw_buf_free(&in);
    return 1;
  }
  struct ArrowSchema schema;
  struct ArrowArray *batches = NULL;
  size_t nb = 0;
  int bad = mw_cli_decode_ipc(&schema, &batches, &nb, "lance-write", in_path, &in);
  mw_buf_free(&in);
  if (bad) return 1;
  mw_error err = {0};
  mw_objstore *store = NULL;
  int rc = 1;
  mw_status st = mw_objstore_open(&store, out_dir, NULL, &err);
  if (st == MW_OK) {
    mw_lance_gen_result r;
    st = mw_lance_write_generation(store, "", &schema, batches, nb, &o, &r, &err);
    if (st == MW_OK) {
      printf("{\"input_rows\":%llu,\"physical_rows\":%llu,\"in_memory_bytes\":%llu,"
             "\"primary_key_bytes\":%llu,\"data_file\":\"%s\",\"data_file_size\":%llu}\n",
             (unsigned long long)r.input_rows, (unsigned long long)r.physical_rows,
             (unsigned long long)r.in_memory_bytes, (unsigned long long)r.primary_key_bytes,
             r.data_file, (unsigned long long)r.data_file_size);
      rc = 0;
    }
  }
  if (st != MW_OK) fprintf(stderr, "memwal lance-write: %s\n", err.message[0] ? err.message : mw_status_str(st));
  mw_objstore_close(store);
  mw_cli_release_batches(batches, nb);
  mw_schema_release(&schema);
  return rc;
}
