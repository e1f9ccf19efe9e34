/* gen_write.c - test tool for the generation-index interop tests:
 *   mw_gen_write IN.arrows OUT_DIR [--btree|--fts|--hnsw COL NAME]...
 * reads the batches of an Arrow IPC stream (a table's columns, primary key
 * `id`), appends `_tombstone` (bool, not null, false) as a MemWAL
 * generation has it, builds the in-memory index of every --fts / --hnsw
 * column the way a MemTable does (mw_fts / mw_hnsw with Lance's defaults,
 * l2; row id = the input row number), and writes
 * the rows as a flushed generation dataset in OUT_DIR
 * (mw_lance_write_generation: deduplicated by id, newest wins) with the
 * Lance indexes asked for. Prints the write result as one JSON line. The
 * indexes are what the MemTable flusher writes; this tool feeds them
 * without a MemTable, so they can be checked against LanceDB before the
 * MemTable keeps FTS / HNSW indexes itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrow/c_data.h"
#include "index/fts.h"
#include "index/hnsw.h"
#include "lance/lance_dataset.h"

static void noop(struct ArrowArray *a) { a->release = NULL; }

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
  if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
    free(d);
    d = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return d;
}

static int col_of(const struct ArrowSchema *s, const char *name) {
  for (int64_t i = 0; i < s->n_children; i++)
    if (strcmp(s->children[i]->name, name) == 0) return (int)i;
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mw_gen_write IN.arrows OUT_DIR [--btree COL NAME] [--fts COL NAME]...\n");
    return 2;
  }
  mw_error e = {0};
  size_t len;
  uint8_t *data = slurp(argv[1], &len);
  if (!data) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  struct ArrowSchema in;
  struct ArrowArray *b = NULL;
  size_t nb = 0;
  if (mw_ipc_decode(&in, &b, &nb, data, len, &e) != MW_OK) {
    fprintf(stderr, "decode: %s\n", e.message);
    return 1;
  }
  free(data);
  /* the generation schema: the input's columns + _tombstone */
  struct ArrowSchema gs;
  mw_schema_init(&gs, "+s", "", NULL, 0, in.n_children + 1, NULL);
  for (int64_t i = 0; i < in.n_children; i++) mw_schema_copy(gs.children[i], in.children[i], NULL);
  mw_schema_init(gs.children[in.n_children], "b", "_tombstone", NULL, 0, 0, NULL);
  struct ArrowArray *gb = calloc(nb ? nb : 1, sizeof *gb);
  struct ArrowArray **kids = calloc(nb ? nb : 1, sizeof *kids);
  struct ArrowArray *tomb = calloc(nb ? nb : 1, sizeof *tomb);
  const void **tbufs = calloc(2 * (nb ? nb : 1), sizeof *tbufs);
  int64_t total = 0;
  for (size_t k = 0; k < nb; k++) {
    total += b[k].length;
    uint8_t *zeros = calloc((size_t)b[k].length / 8 + 1, 1);
    tbufs[2 * k + 1] = zeros;
    tomb[k] = (struct ArrowArray){.length = b[k].length, .n_buffers = 2, .buffers = &tbufs[2 * k], .release = noop};
    struct ArrowArray **ch = calloc((size_t)in.n_children + 1, sizeof *ch);
    for (int64_t i = 0; i < in.n_children; i++) ch[i] = b[k].children[i];
    ch[in.n_children] = &tomb[k];
    kids[k] = (struct ArrowArray *)ch;
    gb[k] = b[k];
    gb[k].n_children = in.n_children + 1;
    gb[k].children = ch;
    gb[k].release = noop;
  }
  mw_gen_index ix[8];
  mw_fts *fts[8] = {0};
  mw_hnsw *hn[8] = {0};
  size_t nix = 0;
  for (int a = 3; a + 2 < argc && nix < 8; a += 3) {
    const char *col = argv[a + 1], *name = argv[a + 2];
    int c = col_of(&in, col);
    if (c < 0) {
      fprintf(stderr, "no column %s\n", col);
      return 1;
    }
    memset(&ix[nix], 0, sizeof ix[nix]);
    ix[nix].name = name;
    ix[nix].column = col;
    if (strcmp(argv[a], "--btree") == 0) {
      ix[nix].kind = MW_INDEX_BTREE;
    } else if (strcmp(argv[a], "--fts") == 0) {
      ix[nix].kind = MW_INDEX_FTS;
      if (mw_fts_create(&fts[nix], &e) != MW_OK) return 1;
      uint64_t row = 0;
      for (size_t k = 0; k < nb; k++) {
        const struct ArrowArray *t = b[k].children[c];
        const int32_t *off = t->buffers[1];
        for (int64_t r = 0; r < b[k].length; r++, row++) {
          int64_t p = b[k].offset + t->offset + r;
          if (t->null_count && t->buffers[0] && !mw_bit_get(t->buffers[0], p)) continue;
          if (mw_fts_insert(fts[nix], row, (const char *)t->buffers[2] + off[p], (size_t)(off[p + 1] - off[p]), &e) !=
              MW_OK) {
            fprintf(stderr, "fts insert: %s\n", e.message);
            return 1;
          }
        }
      }
      ix[nix].fts = fts[nix];
    } else if (strcmp(argv[a], "--hnsw") == 0) {
      ix[nix].kind = MW_INDEX_HNSW;
      mw_type t;
      if (mw_type_from_format(&t, in.children[c]->format, &e) != MW_OK || t.id != MW_T_FIXED_SIZE_LIST) {
        fprintf(stderr, "%s is not a fixed_size_list column\n", col);
        return 1;
      }
      mw_hnsw_config hc = {.dim = (uint32_t)t.width, .metric = MW_METRIC_L2, .seed = 42};
      if (mw_hnsw_create(&hn[nix], &hc, &e) != MW_OK) return 1;
      /* the non-null vectors with their input row numbers, inserted as one
       * batch (2 threads) */
      uint64_t row = 0, nv = 0;
      uint64_t *rws = malloc(((size_t)total + 1) * sizeof *rws);
      float *vs = malloc(((size_t)total + 1) * (size_t)t.width * sizeof *vs);
      if (!rws || !vs) return 1;
      for (size_t k = 0; k < nb; k++) {
        const struct ArrowArray *v = b[k].children[c], *it = v->children[0];
        for (int64_t r = 0; r < b[k].length; r++, row++) {
          int64_t p = b[k].offset + v->offset + r;
          if (v->null_count && v->buffers[0] && !mw_bit_get(v->buffers[0], p)) continue;
          memcpy(vs + nv * (size_t)t.width, (const float *)it->buffers[1] + (it->offset + p * t.width),
                 (size_t)t.width * sizeof *vs);
          rws[nv++] = row;
        }
      }
      if (mw_hnsw_insert_batch(hn[nix], rws, vs, (size_t)nv, 2, &e) != MW_OK) {
        fprintf(stderr, "hnsw insert: %s\n", e.message);
        return 1;
      }
      free(rws);
      free(vs);
      ix[nix].hnsw = hn[nix];
    } else {
      fprintf(stderr, "unknown option %s\n", argv[a]);
      return 2;
    }
    nix++;
  }
  mw_objstore *st = NULL;
  char uri[4096];
  snprintf(uri, sizeof uri, "file://%s", argv[2]);
  if (mw_objstore_open(&st, uri, NULL, &e) != MW_OK) {
    fprintf(stderr, "open %s: %s\n", uri, e.message);
    return 1;
  }
  mw_lance_gen_options o;
  mw_lance_gen_options_init(&o);
  static const char *const pk[1] = {"id"};
  o.pk_names = pk;
  o.n_pk = 1;
  o.indexes = ix;
  o.n_indexes = nix;
  mw_lance_gen_result res;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  mw_status s = mw_lance_write_generation(st, "", &gs, gb, nb, &o, &res, &e);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (s != MW_OK) {
    fprintf(stderr, "write: %s\n", e.message);
    return 1;
  }
  /* write_seconds: the generation write alone (what the MemTable flusher
   * does), in-memory index building excluded */
  printf("{\"input_rows\":%llu,\"physical_rows\":%llu,\"in_memory_bytes\":%llu,\"write_seconds\":%.3f}\n",
         (unsigned long long)res.input_rows, (unsigned long long)res.physical_rows,
         (unsigned long long)res.in_memory_bytes,
         (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
  mw_objstore_close(st);
  for (size_t i = 0; i < nix; i++) {
    mw_fts_free(fts[i]);
    mw_hnsw_free(hn[i]);
  }
  for (size_t k = 0; k < nb; k++) {
    free((void *)tbufs[2 * k + 1]);
    free(kids[k]);
    b[k].release(&b[k]);
  }
  free(b);
  free(gb);
  free(kids);
  free(tomb);
  free(tbufs);
  mw_schema_release(&gs);
  mw_schema_release(&in);
  (void)total;
  return 0;
}
