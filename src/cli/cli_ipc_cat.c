/* cli_ipc_cat.c - `memwal ipc-cat FILE`: decodes an Arrow IPC stream (FILE
 * "-" = stdin) and prints the schema line, then one JSON object per row of
 * every batch (format: src/arrow/json.h). Exit 0 ok, 1 on unreadable or
 * malformed input (message on stderr, nothing partial is trusted), 2 usage. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "arrow/ipc.h"
#include "arrow/json.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/buf.h"
#include "memwal.h"

int mw_cli_ipc_cat(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '\0') {
    fprintf(stderr, "usage: memwal ipc-cat FILE   (FILE - reads stdin)\n");
    return 2;
  }
  const char *path = argv[1];
  mw_buf in;
  mw_buf_init(&in);
  int e = mw_cli_read_file(&in, path, true, NULL);
  if (e) {
    fprintf(stderr, "memwal ipc-cat: %s: %s\n", path, strerror(e));
    mw_buf_free(&in);
    return 1;
  }

  struct ArrowSchema schema;
  struct ArrowArray *batches = NULL;
  size_t n_batches = 0;
  /* The decoder takes the buffer: batches point into it instead of copies. */
  size_t in_len;
  uint8_t *in_data = mw_buf_take(&in, &in_len);
  mw_error derr = {0};
  mw_status ds = mw_ipc_decode_take(&schema, &batches, &n_batches, in_data, in_len, &derr);
  if (ds != MW_OK) {
    fprintf(stderr, "memwal ipc-cat: %s: %s\n", path, derr.message[0] ? derr.message : mw_status_str(ds));
    return 1;
  }

  /* When mw_json_check says rendering cannot fail (short of memory), rows
   * go out in chunks of about 1 MiB as they are rendered; otherwise
   * everything is rendered first, so that a rendering error prints nothing. */
  mw_error err = {0};
  mw_buf out;
  mw_buf_init(&out);
  bool stream = mw_json_check(&schema, NULL) == MW_OK;
  bool write_failed = false;
  mw_status st = mw_json_schema(&out, &schema, &err);
  if (st == MW_OK) mw_buf_u8(&out, '\n');
  for (size_t k = 0; st == MW_OK && !write_failed && k < n_batches; k++) {
    if (!stream) {
      st = mw_json_rows(&out, &schema, &batches[k], &err);
      continue;
    }
    for (int64_t i = 0; st == MW_OK && i < batches[k].length; i++) {
      st = mw_json_row(&out, &schema, &batches[k], i, &err);
      mw_buf_u8(&out, '\n');
      if (out.len >= ((size_t)1 << 20) && mw_buf_ok(&out)) {
        write_failed = fwrite(out.data, 1, out.len, stdout) != out.len;
        out.len = 0;
        if (write_failed) break;
      }
    }
  }
  if (st == MW_OK && !mw_buf_ok(&out)) st = MW_ERR_NOMEM;

  int rc = 0;
  if (st != MW_OK) {
    fprintf(stderr, "memwal ipc-cat: %s: %s\n", path, err.message[0] ? err.message : mw_status_str(st));
    rc = 1;
  } else if (write_failed || fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
    fprintf(stderr, "memwal ipc-cat: writing output: %s\n", strerror(errno));
    rc = 1;
  }
  mw_buf_free(&out);
  mw_cli_release_batches(batches, n_batches);
  mw_schema_release(&schema);
  return rc;
}
