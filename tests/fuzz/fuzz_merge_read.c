/* fuzz_merge_read.c - the merger's decoders of bytes from storage
 * (src/table/merge_read.c). The first input byte picks one: 0 = a portable
 * roaring bitmap (`.bin` deletion file), 1 = an Arrow IPC file of row
 * offsets (`.arrow` deletion file), 2 = a Lance manifest file as the
 * merger parses it (fragments, data files, deletion files, fields); the
 * rest is the file. Failures must be MW_ERR_CORRUPT (or MW_ERR_NOMEM) with
 * a message; a decoded deletion vector must be sorted, unique and below the
 * limit, and a bitmap re-encoded must decode to the same set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table/merge.h"

#define LIMIT 1000000u

static void check_set(const mw_rowset *s) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] >= LIMIT || (i && s->v[i] <= s->v[i - 1])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t *d = data + 1;
  size_t n = size - 1;
  mw_error e = {0};
  mw_status st;
  if (data[0] == 0 || data[0] == 1) {
    mw_rowset s = {0};
    st = data[0] == 0 ? mw_roaring_decode(&s, d, n, LIMIT, "fuzz", &e) : mw_deletion_arrow_decode(&s, d, n, LIMIT, "fuzz", &e);
    if (st == MW_OK) {
      check_set(&s);
      uint8_t *enc = NULL;
      size_t el = 0;
      if (mw_roaring_encode(&enc, &el, &s, &e) != MW_OK) abort();
      mw_rowset back = {0};
      if (mw_roaring_decode(&back, enc, el, LIMIT, "re-encoded", &e) != MW_OK) abort();
      if (back.n != s.n || (s.n && memcmp(back.v, s.v, s.n * sizeof *s.v) != 0)) abort();
      mw_rowset_free(&back);
      free(enc);
    } else if ((st != MW_ERR_CORRUPT && st != MW_ERR_NOMEM) || e.message[0] == '\0') {
      abort();
    }
    mw_rowset_free(&s);
    return 0;
  }
  if (data[0] == 2) {
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) return 0;
    memcpy(copy, d, n);
    mw_merge_manifest *m = NULL;
    st = mw_merge_manifest_parse(&m, copy, n, "fuzz", &e);
    if (st == MW_OK) {
      for (size_t i = 0; i < m->n_frags; i++)
        for (size_t j = 0; j < m->frags[i].n_files; j++)
          if (!m->frags[i].files[j].path || m->frags[i].files[j].path[0] == '\0') abort();
      for (size_t i = 0; i < m->n_fields; i++)
        if (!m->fields[i].path) abort();
    } else if ((st != MW_ERR_CORRUPT && st != MW_ERR_NOMEM) || e.message[0] == '\0') {
      abort();
    }
    mw_merge_manifest_free(m);
  }
  return 0;
}
