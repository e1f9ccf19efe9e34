/* cli_lance_cat.c - `memwal lance-cat FILE.lance|DATASET [--columns A,B]
 * [--rows START:END]`: prints the rows of a Lance data file, or of a Lance
 * dataset (the latest manifest's fragments in order), like `ipc-cat`: the
 * schema line, then one JSON object per row (src/arrow/json.h).
 *
 * A file is read through a file store rooted at its folder, so only the
 * metadata and the pages of the wanted columns and rows are read (ranged
 * gets). For a dataset the latest manifest's fragments are walked in order
 * (parsed by the merger's raw manifest reader, table/merge.h); a fragment's
 * deletion file (`.arrow` Arrow IPC row offsets or `.bin` roaring bitmap,
 * read by mw_merge_read_deletions, the merger's reader) removes its rows
 * from the output, as LanceDB's read does; --rows counts the rows printed
 * (deleted rows do not count) across fragments. A fragment with more than
 * one data file, or whose file holds another number of rows than the
 * manifest says, is refused (exit 1) rather than printed wrong.
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
#include "lance/table_manifest.h"
#include "memwal.h"
#include "memwal_sys.h"
#include "table/merge.h"

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

/* prints the wanted rows of one file; rows = its rows (from the reader).
 * del (normalized, may be NULL) = its deleted rows, which are skipped and
 * not counted; expect_rows (UINT64_MAX = any) = the rows the manifest says
 * the file holds. */
static int cat_file(cat *c, mw_objstore *store, const char *key, const char *label, const mw_rowset *del,
                    uint64_t expect_rows) {
  mw_error err = {0};
  mw_lance_reader *r = NULL;
  if (mw_lance_reader_open_store(&r, store, key, &err) != MW_OK) {
    fprintf(stderr, "memwal " CMD ": %s: %s\n", label, err.message);
    return 1;
  }
  uint64_t rows = mw_lance_reader_num_rows(r), lo = 0, hi = 0;
  if (expect_rows != UINT64_MAX && rows != expect_rows) {
    fprintf(stderr, "memwal " CMD ": %s: the file holds %llu rows, the manifest says %llu\n", label,
            (unsigned long long)rows, (unsigned long long)expect_rows);
    mw_lance_reader_free(r);
    return 1;
  }
  size_t n_del = del ? del->n : 0;
  uint64_t visible = rows - n_del; /* every deleted row is < rows (checked by the decoders) */
  if (c->end > c->seen && c->start < c->seen + visible) {
    lo = c->start > c->seen ? c->start - c->seen : 0;
    hi = c->end - c->seen < visible ? c->end - c->seen : visible;
  }
  /* lo/hi count visible rows; with deletions, map them to physical rows:
   * the physical row of visible row v is the least p with p - #del<=p = v */
  size_t di = 0; /* deleted rows before the physical position `at` */
  uint64_t plo = lo, phi = hi;
  if (n_del && hi > lo) {
    for (di = 0; di < n_del && del->v[di] <= plo + di; di++) {}
    plo = lo + di;
    size_t dj = di;
    for (; dj < n_del && del->v[dj] < hi + dj; dj++) {}
    phi = hi + dj;
  } else if (hi <= lo) {
    plo = phi = 0;
  }
  /* read in slices so a big file is not held whole */
  const uint64_t slice = 65536;
  int rc = 0;
  uint64_t at = plo;
  while (at < phi || (at == plo && plo == phi && !c->schema_line)) {
    uint64_t e = phi - at > slice ? at + slice : phi;
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
      uint64_t p = at + (uint64_t)i;
      while (di < n_del && del->v[di] < p) di++;
      if (di < n_del && del->v[di] == p) continue;
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
    if (e == at) break; /* the empty read that only took the schema */
    at = e;
  }
  c->seen += visible;
  mw_lance_reader_free(r);
  return rc;
}

static int cat_dataset(cat *c, const char *dir) {
  mw_objstore *store = NULL;
  if (mw_cli_open_existing(&store, CMD, dir)) return 1;
  mw_error err = {0};
  uint64_t v = 0;
  mw_merge_manifest *m = NULL;
  int rc = 0;
  if (mw_lance_table_latest_version(&v, store, &err) != MW_OK ||
      mw_merge_manifest_read(&m, store, "", v, &err) != MW_OK) {
    fprintf(stderr, "memwal " CMD ": %s: %s\n", dir, err.message);
    rc = 1;
  }
  for (size_t i = 0; !rc && i < m->n_frags; i++) {
    const mw_merge_fragment *f = &m->frags[i];
    if (f->n_files != 1 || f->files[0].has_base_id) {
      fprintf(stderr, "memwal " CMD ": %s: fragment %llu has %zu data files%s (only one in the table is supported)\n",
              dir, (unsigned long long)f->id, f->n_files, f->n_files == 1 ? " in another base path" : "");
      rc = 1;
      break;
    }
    mw_rowset del = {0};
    if (mw_merge_read_deletions(&del, store, "", f, &err) != MW_OK) {
      fprintf(stderr, "memwal " CMD ": %s: %s\n", dir, err.message);
      rc = 1;
      break;
    }
    mw_rowset_normalize(&del);
    char key[1024];
    if (snprintf(key, sizeof key, "data/%s", f->files[0].path) >= (int)sizeof key) {
      fprintf(stderr, "memwal " CMD ": %s: fragment %llu: data file path too long\n", dir, (unsigned long long)f->id);
      rc = 1;
    } else {
      char label[2048];
      snprintf(label, sizeof label, "%s/%s", dir, key);
      rc = cat_file(c, store, key, label, &del, f->physical_rows ? f->physical_rows : UINT64_MAX);
    }
    mw_rowset_free(&del);
  }
  mw_merge_manifest_free(m);
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
    if (!rc) rc = cat_file(&c, store, slash ? slash + 1 : path, path, NULL, UINT64_MAX);
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
