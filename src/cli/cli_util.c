/* cli_util.c - see cli_util.h. */
#include "cli/cli_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arrow/c_data.h"
#include "arrow/json.h"
#include "common/error.h"

int mw_cli_parse_args(const char **uri, const mw_cli_opt *opts, size_t n_opts, const char *cmd,
                      int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const mw_cli_opt *o = NULL;
    const char *v = NULL;
    for (size_t k = 0; k < n_opts && !o; k++) {
      size_t n = strlen(opts[k].name);
      if (strncmp(a, opts[k].name, n) != 0) continue;
      if (a[n] == '\0') o = &opts[k];
      else if (a[n] == '=' && opts[k].value) o = &opts[k], v = a + n + 1;
    }
    if (o && !o->value) {
      *o->flag = true;
    } else if (o) {
      if (*o->value) return 2;
      if (!v) {
        if (i + 1 >= argc) return 2;
        v = argv[++i];
      }
      *o->value = v;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "memwal %s: unknown option '%s'\n", cmd, a);
      return 2;
    } else {
      if (*uri) return 2;
      *uri = a;
    }
  }
  return 0;
}

bool mw_cli_parse_u64(uint64_t *out, const char *s) {
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    uint64_t d = (uint64_t)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

int mw_cli_check_exists(const char *cmd, const char *uri) {
  const char *path = NULL;
  if (!strstr(uri, "://")) path = uri;
  else if (strncmp(uri, "file://", 7) == 0 && !strchr(uri, '%')) path = uri + 7;
  if (path) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
      fprintf(stderr, "memwal %s: %s: %s\n", cmd, uri, strerror(errno));
      return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
      fprintf(stderr, "memwal %s: %s: not a folder\n", cmd, uri);
      return 1;
    }
  }
  return 0;
}

int mw_cli_finish_json(const char *cmd, const char *uri, mw_status s, char *json, const mw_error *err,
                       mw_objstore *store) {
  int rc = 1;
  if (s != MW_OK) {
    fprintf(stderr, "memwal %s: %s: %s\n", cmd, uri, err->message);
  } else {
    printf("%s\n", json ? json : "{}");
    rc = fflush(stdout) == 0 ? 0 : 1;
  }
  mw_free(json);
  mw_objstore_close(store);
  return rc;
}

int mw_cli_open_existing(mw_objstore **store, const char *cmd, const char *uri) {
  if (mw_cli_check_exists(cmd, uri)) return 1;
  mw_error err = {0};
  if (mw_objstore_open(store, uri, NULL, &err) != MW_OK) {
    fprintf(stderr, "memwal %s: %s\n", cmd, err.message);
    return 1;
  }
  return 0;
}

/* For an empty b and a regular file: one allocation of the file's size (plus
 * the 64 KiB the read loop asks for, so reaching EOF does not grow it);
 * from 2 MiB on, 2 MiB-aligned and marked for transparent huge pages. On
 * this machine first-touch page faults dominated reading a 42 MB file into
 * 4 KiB pages (10,461 faults, ~220 ms; 82-245 faults and 13-100 ms with huge
 * pages). Anything unexpected leaves b alone: the loop then grows it. */
static void presize(mw_buf *b, FILE *f) {
  struct stat st;
  if (b->data || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return;
  if ((uint64_t)st.st_size > SIZE_MAX / 2) return;
  size_t cap;
  void *p = mw_large_alloc((size_t)st.st_size + 65536, &cap);
  if (!p) return;
  b->data = p;
  b->cap = cap;
}

int mw_cli_read_file(mw_buf *b, const char *path, bool dash_is_stdin, bool *opened) {
  bool use_stdin = dash_is_stdin && strcmp(path, "-") == 0;
  errno = 0;
  FILE *f = use_stdin ? stdin : fopen(path, "rb");
  if (opened) *opened = f != NULL;
  if (!f) return errno ? errno : EIO;
  errno = 0;
  presize(b, f);
  int e = 0;
  for (;;) {
    if (!mw_buf_reserve(b, 65536)) {
      e = ENOMEM;
      break;
    }
    size_t n = fread(b->data + b->len, 1, b->cap - b->len, f);
    b->len += n;
    if (n == 0) {
      if (ferror(f)) e = errno ? errno : EIO;
      break;
    }
  }
  if (!use_stdin) fclose(f);
  return e;
}

int mw_cli_decode_ipc(struct ArrowSchema *schema, struct ArrowArray **batches, size_t *n_batches,
                      const char *cmd, const char *path, const mw_buf *in) {
  mw_error err = {0};
  mw_status st = mw_ipc_decode(schema, batches, n_batches, in->data, in->len, &err);
  if (st != MW_OK) {
    fprintf(stderr, "memwal %s: %s: %s\n", cmd, path, err.message[0] ? err.message : mw_status_str(st));
    return 1;
  }
  return 0;
}

void mw_cli_release_batches(struct ArrowArray *batches, size_t n_batches) {
  for (size_t k = 0; k < n_batches; k++) mw_array_release(&batches[k]);
  mw_free(batches);
}

mw_status mw_cli_schema_without(struct ArrowSchema *out, const struct ArrowSchema *in,
                                const char *const *drop, mw_error *err) {
  memset(out, 0, sizeof *out);
  bool ok = true;
  char *meta = NULL;
  const char *cur = in->metadata;
  for (; ok && *drop; drop++) {
    char *next = mw_metadata_with(cur, *drop, NULL, &ok);
    free(meta);
    cur = meta = next;
  }
  mw_status s = ok ? mw_schema_copy_with_metadata(out, in, meta, err)
                   : mw_err(err, MW_ERR_NOMEM, "out of memory");
  free(meta);
  return s;
}

int mw_cli_print_stream(struct ArrowArrayStream *st, const char *cmd) {
  struct ArrowSchema ss = {0};
  mw_error err = {0};
  mw_buf b;
  mw_buf_init(&b);
  int code = 1;
  if (st->get_schema(st, &ss) != 0) {
    fprintf(stderr, "memwal %s: %s\n", cmd, st->get_last_error(st));
    goto out;
  }
  if (mw_json_schema(&b, &ss, &err) != MW_OK) {
    fprintf(stderr, "memwal %s: %s\n", cmd, err.message);
    goto out;
  }
  mw_buf_u8(&b, '\n');
  for (;;) {
    struct ArrowArray a = {0};
    if (st->get_next(st, &a) != 0) {
      fprintf(stderr, "memwal %s: %s\n", cmd, st->get_last_error(st));
      goto out;
    }
    if (!a.release) break;
    mw_status s = mw_json_rows(&b, &ss, &a, &err);
    a.release(&a);
    if (s != MW_OK) {
      fprintf(stderr, "memwal %s: %s\n", cmd, err.message);
      goto out;
    }
    if (b.len > (1u << 20)) {
      fwrite(b.data, 1, b.len, stdout);
      b.len = 0;
    }
  }
  fwrite(b.data, 1, b.len, stdout);
  code = fflush(stdout) == 0 ? 0 : 1;
  if (code) fprintf(stderr, "memwal %s: writing output failed\n", cmd);
out:
  mw_schema_release(&ss);
  mw_buf_free(&b);
  return code;
}
