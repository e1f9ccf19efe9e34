/*
 * cli_gen.c - `memwal gen OUT.arrows [--rows N] [--batch-rows N] [--dim D]
 * [--first-id N]`: writes generated rows of the benchmark schema (id int64
 * primary key, vector fixed_size_list<float32>[D], text ~70 B; gen_data.h)
 * as an Arrow IPC stream ("-" = stdout). With --rows 0 the stream holds the
 * schema only: what `memwal create --schema` reads (the main job creates its
 * table from it). Batches are encoded one at a time, so memory stays at one
 * batch whatever N is.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/gen_data.h"
#include "memwal.h"

static int usage(void) {
  fprintf(stderr,
          "usage: memwal gen OUT.arrows [--rows N] [--batch-rows N] [--dim D] [--first-id N]\n"
          "  N generated rows (default 1000; 0 = the schema only) of the benchmark schema: id int64\n"
          "  (primary key), vector fixed_size_list<float32>[D] (default 512), text ~70 B; ids from\n"
          "  --first-id (default 0), --batch-rows rows per batch (default 1000). OUT \"-\" = stdout.\n");
  return 2;
}

int mw_cli_gen(int argc, char **argv) {
  const char *out = NULL, *rows_s = NULL, *batch_s = NULL, *dim_s = NULL, *first_s = NULL;
  mw_cli_opt opts[] = {
    {"--rows", &rows_s, NULL},
    {"--batch-rows", &batch_s, NULL},
    {"--dim", &dim_s, NULL},
    {"--first-id", &first_s, NULL},
  };
  if (mw_cli_parse_args(&out, opts, sizeof opts / sizeof opts[0], "gen", argc, argv)) return usage();
  if (!out || !out[0]) return usage();
  uint64_t rows = 1000, batch = 1000, dim = 512, first = 0;
  if ((rows_s && !mw_cli_parse_u64(&rows, rows_s)) || (batch_s && (!mw_cli_parse_u64(&batch, batch_s) || batch == 0)) ||
      (dim_s && (!mw_cli_parse_u64(&dim, dim_s) || dim == 0 || dim > 65536)) ||
      (first_s && (!mw_cli_parse_u64(&first, first_s) || first > (uint64_t)INT64_MAX - rows))) {
    fprintf(stderr, "memwal gen: bad number\n");
    return usage();
  }
  FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "wb");
  if (!f) {
    perror(out);
    return 1;
  }
  mw_error err = {0};
  struct ArrowSchema schema;
  int code = 1;
  if (mw_gen_schema(&schema, (int32_t)dim, &err) != MW_OK) {
    fprintf(stderr, "memwal gen: %s\n", err.message);
    if (f != stdout) fclose(f);
    return 1;
  }
  /* One stream: the schema message once, then each batch's messages, then
   * end-of-stream. Encoding batch by batch and cutting the per-batch streams
   * apart would need the framing; instead each batch is a one-batch stream
   * whose schema prefix and end marker are dropped after the first. */
  void *data = NULL;
  size_t len = 0;
  if (mw_ipc_encode(&data, &len, &schema, NULL, 0, NULL, &err) != MW_OK) goto fail;
  /* schema-only stream = schema message + 8-byte end-of-stream marker */
  size_t schema_len = len - 8;
  if (fwrite(data, 1, schema_len, f) != schema_len) goto io;
  free(data);
  data = NULL;
  for (uint64_t done = 0; done < rows;) {
    uint64_t n = rows - done < batch ? rows - done : batch;
    struct ArrowArray b;
    if (mw_gen_batch(&b, (int64_t)(first + done), (int64_t)n, (int32_t)dim, &err) != MW_OK) goto fail;
    const struct ArrowArray *bp = &b;
    mw_status s = mw_ipc_encode(&data, &len, &schema, &bp, 1, NULL, &err);
    b.release(&b);
    if (s != MW_OK) goto fail;
    if (fwrite((uint8_t *)data + schema_len, 1, len - schema_len - 8, f) != len - schema_len - 8) goto io;
    free(data);
    data = NULL;
    done += n;
  }
  static const uint8_t eos[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  if (fwrite(eos, 1, 8, f) != 8) goto io;
  code = 0;
  goto done;
io:
  fprintf(stderr, "memwal gen: writing %s failed\n", out);
  goto done;
fail:
  fprintf(stderr, "memwal gen: %s\n", err.message);
done:
  free(data);
  mw_schema_release(&schema);
  if (f != stdout && fclose(f) != 0 && code == 0) {
    fprintf(stderr, "memwal gen: closing %s failed\n", out);
    code = 1;
  }
  return code;
}
