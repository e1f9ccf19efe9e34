/* cli_lance_cat.c - `memwal lance-cat FILE.lance|DATASET [--columns A,B]
 * [--rows START:END]`: prints the rows of a Lance data file, or of a Lance
 * dataset (the latest manifest's fragments in order), like `ipc-cat`: the
 * schema line, then one JSON object per row (src/arrow/json.h).
 *
 * A file is read through a file store rooted at its folder, so only the
 * metadata and the pages of the wanted columns and rows are read (ranged
 * gets). For a dataset the manifest's fragments are walked in order (raw
 * protobuf: Manifest.fragments = 2, DataFragment {1 id, 2 files, 3
 * deletion_file, 4 physical_rows}, DataFile {1 path}); --rows counts rows
 * across fragments. A fragment with a deletion file or with more than one
 * data file is refused (exit 1) rather than printed wrong.
 * Exit 0 ok, 1 unreadable / malformed / unsupported input (message on
 * stderr), 2 usage. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arrow/c_data.h"
#include "arrow/json.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/buf.h"
#include "lance/lance_read.h"
#include "lance/pb.h"
#include "lance/table_manifest.h"
#include "memwal.h"
#include "memwal_sys.h"

#define CMD "lance-cat"

static int usage(void) {
  fprintf(stderr, "usage: memwal lance-cat FILE.lance|DATASET_DIR [--columns A,B] [--rows START:END]\n");
  return 2;
}

typedef struct cat {
  const char *const *cols;
  size_t n_cols;
  uint64_t start, end; /* global rows wanted */
  uint64_t seen;       /* global rows before the current file */
  bool schema_done;
  char *schema_line;   /* of the first file (later files must match) */
  mw_buf out;
} cat;

static int flush_out(cat *c) {
  if (!mw_buf_ok(&c->out)) {
    fprintf(stderr, "memwal " CMD ": out of memory\n");
    return 1;
  }
  if (c->out.len && fwrite(c->out.data, 1, c->out.len, stdout) != c->out.len) {
    fprintf(stderr, "memwal " CMD ": writing output: %s\n", strerror(errno));
    return 1;
  }
  c->out.len = 0;
  return 0;
}

/* prints the wanted rows of one file; rows = its rows (from the reader) */
static int cat_file(cat *c, mw_objstore *store, const char *key, const char *label) {
  mw_error err = {0};
  mw_lance_reader *r = NULL;
  if (mw_lance_reader_open_store(&r, store, key, &err) != MW_OK) {
    fprintf(stderr, "memwal " CMD ": %s: %s\n", label, err.message);
    return 1;
  }
  uint64_t rows = mw_lance_reader_num_rows(r), lo = 0, hi = 0;
  if (c->end > c->seen && c->start < c->seen + rows) {
    lo = c->start > c->seen ? c->start - c->seen : 0;
    hi = c->end - c->seen < rows ? c->end - c->seen : rows;
  }
  /* read in slices so a big file is not held whole */
  const uint64_t slice = 65536;
  int rc = 0;
  uint64_t at = lo;
  do {
    uint64_t e = hi - at > slice ? at + slice : hi;
    struct ArrowSchema s;
    struct ArrowArray a;
    if (mw_lance_reader_read(&s, &a, r, c->cols, c->n_cols, at, e, &err) != MW_OK) {
      fprintf(stderr, "memwal " CMD ": %s: %s\n", label, err.message);
      rc = 1;
      break;
    }
    mw_buf line;
    mw_buf_init(&line);
    mw_status st = mw_json_schema(&line, &s, &err);
    mw_buf_u8(&line, 0);
    if (st == MW_OK && mw_buf_ok(&line)) {
      if (!c->schema_line) {
        c->schema_line = strdup((const char *)line.data);
        mw_buf_append(&c->out, line.data, line.len - 1);
        mw_buf_u8(&c->out, '\n');
      } else if (strcmp(c->schema_line, (const char *)line.data) != 0) {
        fprintf(stderr, "memwal " CMD ": %s: schema differs from the first file's\n", label);
        st = MW_ERR_UNSUPPORTED;
      }
    }
    mw_buf_free(&line);
    for (int64_t i = 0; st == MW_OK && i < a.length; i++) {
      st = mw_json_row(&c->out, &s, &a, i, &err);
      mw_buf_u8(&c->out, '\n');
      if (c->out.len >= ((size_t)1 << 20) && flush_out(c)) st = MW_ERR_IO;
    }
    if (st != MW_OK && st != MW_ERR_IO && st != MW_ERR_UNSUPPORTED)
      fprintf(stderr, "memwal " CMD ": %s: %s\n", label, err.message[0] ? err.message : mw_status_str(st));
    mw_array_release(&a);
    mw_schema_release(&s);
    if (st != MW_OK) {
      rc = 1;
      break;
    }
    at = e;
  } while (at < hi);
  c->seen += rows;
  mw_lance_reader_free(r);
  return rc;
}

/* the raw Manifest protobuf of the latest version */
static int latest_manifest(mw_objstore *store, const char *uri, uint8_t **data, size_t *len, size_t *mpos, size_t *mlen) {
  mw_error err = {0};
  uint64_t v;
  if (mw_lance_table_latest_version(&v, store, &err) != MW_OK) {
    fprintf(stderr, "memwal " CMD ": %s: %s\n", uri, err.message);
    return 1;
  }
  char key[64];
  mw_lance_manifest_key(key, sizeof key, v);
  if (mw_objstore_get(store, data, len, key, 0, MW_OBJSTORE_TO_END, &err) != MW_OK) {
    fprintf(stderr, "memwal " CMD ": %s/%s: %s\n", uri, key, err.message);
    return 1;
  }
  /* trailer: i64 P, u16, u16, "LANC"; at P: u32 length + Manifest */
  size_t n = *len;
  uint64_t p = n >= 16 ? mw_load_u64le(*data + n - 16) : UINT64_MAX;
  if (n < 16 || memcmp(*data + n - 4, "LANC", 4) != 0 || p > n - 16 || n - 16 - p < 4 ||
      mw_load_u32le(*data + p) > n - 16 - p - 4) {
    fprintf(stderr, "memwal " CMD ": %s/%s: malformed manifest framing (at byte %zu)\n", uri, key, n >= 16 ? n - 16 : 0);
    return 1;
  }
  *mpos = (size_t)p + 4;
  *mlen = mw_load_u32le(*data + p);
  return 0;
}

static int cat_dataset(cat *c, const char *dir) {
  mw_objstore *store = NULL;
  if (mw_cli_open_existing(&store, CMD, dir)) return 1;
  uint8_t *mf = NULL;
  size_t mlen_all = 0, mp = 0, ml = 0;
  int rc = latest_manifest(store, dir, &mf, &mlen_all, &mp, &ml);
  if (!rc) {
    const uint8_t *m = mf + mp;
    size_t pos = 0;
    mw_pb_field f;
    while (!rc && pos < ml) {
      if (!mw_pb_next(m, ml, &pos, &f)) {
        fprintf(stderr, "memwal " CMD ": %s: malformed manifest (at byte %zu)\n", dir, mp + pos);
        rc = 1;
        break;
      }
      if (f.field != 2 || f.wire_type != 2) continue;
      mw_pb_field id, df, path, del;
      uint64_t fid = mw_pb_find(f.data, f.len, 1, &id) && id.wire_type == 0 ? id.val : 0;
      int files = 0;
      size_t q = 0;
      mw_pb_field x;
      while (q < f.len && mw_pb_next(f.data, f.len, &q, &x))
        if (x.field == 2 && x.wire_type == 2) {
          files++;
          df = x;
        }
      if (mw_pb_find(f.data, f.len, 3, &del)) {
        fprintf(stderr, "memwal " CMD ": %s: fragment %llu has a deletion file; lance-cat does not apply deletions\n", dir,
                (unsigned long long)fid);
        rc = 1;
        break;
      }
      if (files != 1 || !mw_pb_find(df.data, df.len, 1, &path) || path.wire_type != 2 || path.len == 0 ||
          path.len > 900) {
        fprintf(stderr, "memwal " CMD ": %s: fragment %llu has %d data files (only one is supported)\n", dir,
                (unsigned long long)fid, files);
        rc = 1;
        break;
      }
      char key[1024];
      snprintf(key, sizeof key, "data/%.*s", (int)path.len, (const char *)path.data);
      char label[2048];
      snprintf(label, sizeof label, "%s/%s", dir, key);
      rc = cat_file(c, store, key, label);
    }
  }
  free(mf);
  mw_objstore_close(store);
  return rc;
}

static int parse_rows(cat *c, const char *s) {
  const char *colon = strchr(s, ':');
  if (!colon) return 1;
  char a[32], b[32];
  size_t la = (size_t)(colon - s), lb = strlen(colon + 1);
  if (la >= sizeof a || lb >= sizeof b) return 1;
  memcpy(a, s, la);
  a[la] = 0;
  memcpy(b, colon + 1, lb + 1);
  c->start = 0;
  c->end = UINT64_MAX;
  if (la && !mw_cli_parse_u64(&c->start, a)) return 1;
  if (lb && !mw_cli_parse_u64(&c->end, b)) return 1;
  return c->start > c->end;
}

int mw_cli_lance_cat(int argc, char **argv) {
  const char *path = NULL, *cols = NULL, *rows = NULL;
  mw_cli_opt opts[] = {{"--columns", &cols, NULL}, {"--rows", &rows, NULL}};
  if (mw_cli_parse_args(&path, opts, 2, CMD, argc, argv) || !path || !path[0]) return usage();
  cat c;
  memset(&c, 0, sizeof c);
  c.end = UINT64_MAX;
  mw_buf_init(&c.out);
  if (rows && parse_rows(&c, rows)) {
    fprintf(stderr, "memwal " CMD ": --rows wants START:END (either may be empty), START <= END\n");
    return 2;
  }
  char *colbuf = NULL;
  const char **colv = NULL;
  if (cols) {
    colbuf = strdup(cols);
    size_t n = 1;
    for (const char *p = cols; *p; p++) n += *p == ',';
    colv = calloc(n, sizeof *colv);
    if (!colbuf || !colv) {
      free(colbuf);
      free(colv);
      fprintf(stderr, "memwal " CMD ": out of memory\n");
      return 1;
    }
    char *save = NULL;
    for (char *t = strtok_r(colbuf, ",", &save); t; t = strtok_r(NULL, ",", &save)) colv[c.n_cols++] = t;
    if (c.n_cols == 0) {
      free(colbuf);
      free(colv);
      return usage();
    }
    c.cols = colv;
  }
  struct stat st;
  int rc;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "memwal " CMD ": %s: %s\n", path, strerror(errno));
    rc = 1;
  } else if (S_ISDIR(st.st_mode)) {
    rc = cat_dataset(&c, path);
  } else {
    /* a file: a store rooted at its folder, the base name as key */
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) ? (int)(slash - path) : 1, path);
    else snprintf(dir, sizeof dir, ".");
    mw_objstore *store = NULL;
    rc = mw_cli_open_existing(&store, CMD, dir);
    if (!rc) rc = cat_file(&c, store, slash ? slash + 1 : path, path);
    mw_objstore_close(store);
  }
  if (!rc && !c.schema_line) /* a dataset without fragments: no file to take a schema from */
    fprintf(stderr, "memwal " CMD ": %s: no data files (nothing printed)\n", path);
  if (!rc) rc = flush_out(&c);
  if (!rc && fflush(stdout) != 0) {
    fprintf(stderr, "memwal " CMD ": writing output: %s\n", strerror(errno));
    rc = 1;
  }
  mw_buf_free(&c.out);
  free(c.schema_line);
  free(colbuf);
  free(colv);
  return rc;
}
