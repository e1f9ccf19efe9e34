/* fuzz_lance_read.c - libFuzzer target for the Lance file reader
 * (src/lance/lance_read.c + lance_decode.c): the input is a whole Lance
 * file. Opening must succeed or fail with CORRUPT / UNSUPPORTED / NOMEM and
 * a message; a file that opens (and claims at most 2^20 rows, to bound the
 * memory a run may take) is read whole, then its last column over a middle
 * row range. A successful read must give a batch that passes
 * mw_batch_validate, whose every buffer byte is touched (ASan flags
 * anything outside an allocation) and whose rows render as JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "arrow/json.h"
#include "common/buf.h"
#include "ipc_touch.h"
#include "lance/lance_read.h"

volatile uint64_t mw_fuzz_sink;

/* huge claims must fail as NOMEM, not abort the run */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

static void check_failure(mw_status st, const mw_error *err) {
  if (st != MW_ERR_CORRUPT && st != MW_ERR_UNSUPPORTED && st != MW_ERR_NOMEM) __builtin_trap();
  if (err->message[0] == 0) __builtin_trap();
}

static void read_once(mw_lance_reader *r, const char *const *cols, size_t n, uint64_t a, uint64_t b) {
  struct ArrowSchema s;
  struct ArrowArray arr;
  mw_error err = {0};
  mw_status st = mw_lance_reader_read(&s, &arr, r, cols, n, a, b, &err);
  if (st != MW_OK) {
    check_failure(st, &err);
    return;
  }
  if (mw_batch_validate(&s, &arr, &err) != MW_OK) __builtin_trap();
  if ((uint64_t)arr.length != b - a) __builtin_trap();
  mw_fuzz_sink += touch(&s, &arr);
  mw_buf out;
  mw_buf_init(&out);
  if (mw_json_rows(&out, &s, &arr, &err) != MW_OK && mw_buf_ok(&out)) __builtin_trap();
  mw_fuzz_sink += out.len;
  mw_buf_free(&out);
  mw_array_release(&arr);
  mw_schema_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_lance_reader *r = NULL;
  mw_error err = {0};
  mw_status st = mw_lance_reader_open_mem(&r, data, size, "fuzz.lance", &err);
  if (st != MW_OK) {
    check_failure(st, &err);
    if (r) __builtin_trap();
    return 0;
  }
  const struct ArrowSchema *s = mw_lance_reader_schema(r);
  uint64_t rows = mw_lance_reader_num_rows(r);
  if (!s || !s->format || strcmp(s->format, "+s") != 0) __builtin_trap();
  if (rows <= ((uint64_t)1 << 20)) {
    read_once(r, NULL, 0, 0, rows);
    if (s->n_children > 0) {
      const char *last = s->children[s->n_children - 1]->name;
      read_once(r, &last, 1, rows / 3, rows - rows / 3);
    }
  }
  mw_lance_reader_free(r);
  return 0;
}
