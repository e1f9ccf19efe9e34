/* ingest.c - the smallest complete use of libmemwal: open a local table
 * folder, write 3 rows through a durable ShardWriter, flush them as a Lance
 * generation on close, and print the shard manifest (read-only: no writer).
 *
 *   cc ingest.c $(pkg-config --cflags --libs memwal) -o ingest
 *   ./ingest /tmp/t.lance
 */
#include <memwal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch {id int64 (primary key), name utf8} built by hand with the Arrow
 * C Data Interface; static buffers, so release only marks it released. */
static void release_batch(struct ArrowArray *a) { a->release = NULL; }
static void release_schema(struct ArrowSchema *s) { s->release = NULL; }

int main(int argc, char **argv) {
  const char *uri = argc > 1 ? argv[1] : "/tmp/memwal-example.lance";
  static const char pk_meta[] = /* int32 count, int32 len, key, int32 len, value (little-endian) */
      "\x01\x00\x00\x00" "\x2c\x00\x00\x00" "lance-schema:unenforced-primary-key:position"
      "\x01\x00\x00\x00" "1";
  struct ArrowSchema id = {"l", "id", pk_meta, 0, 0, NULL, NULL, release_schema, NULL};
  struct ArrowSchema name = {"u", "name", NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL, release_schema, NULL};
  struct ArrowSchema *cols[2] = {&id, &name};
  struct ArrowSchema schema = {"+s", "", NULL, 0, 2, cols, NULL, release_schema, NULL};

  static int64_t ids[3] = {1, 2, 3};
  static int32_t offs[4] = {0, 5, 10, 15};
  static const char chars[] = "alicebobbycarol";
  const void *idb[2] = {NULL, ids}, *nameb[3] = {NULL, offs, chars}, *topb[1] = {NULL};
  struct ArrowArray ida = {3, 0, 0, 2, 0, idb, NULL, NULL, release_batch, NULL};
  struct ArrowArray namea = {3, 0, 0, 3, 0, nameb, NULL, NULL, release_batch, NULL};
  struct ArrowArray *kids[2] = {&ida, &namea};
  struct ArrowArray batch = {3, 0, 0, 1, 2, topb, kids, NULL, release_batch, NULL};

  mw_error err = {0};
  mw_objstore *store = NULL;
  if (mw_objstore_open(&store, uri, NULL, &err) != MW_OK) {
    fprintf(stderr, "open %s: %s\n", uri, err.message);
    return 1;
  }
  mw_shard_writer_config cfg;
  mw_shard_writer_config_init(&cfg);
  snprintf(cfg.shard_id, sizeof cfg.shard_id, "%s", "6d656d77-616c-4000-8000-00000000e001");
  cfg.first_wal_entry_position = 1; /* what Lance >= 7 readers expect */
  mw_shard_writer *w = NULL;
  if (mw_shard_writer_open(&w, store, &cfg, &schema, NULL, 0, &err) != MW_OK) {
    fprintf(stderr, "writer: %s\n", err.message);
    mw_objstore_close(store);
    return 1;
  }
  mw_batch_range r;
  if (mw_shard_writer_put(&r, w, &batch, 1, &err) != MW_OK) /* durable on return */
    fprintf(stderr, "put: %s\n", err.message);
  mw_status s = mw_shard_writer_close_ex(w, 1, &err); /* flush a generation, then close */
  if (s != MW_OK) fprintf(stderr, "close: %s\n", err.message);
  /* Show the manifest the flush committed: a read-only look (no writer, no
   * epoch claimed; safe while another process writes the shard). */
  char *json = NULL;
  if (s == MW_OK) {
    s = mw_shard_manifest_read_json(&json, store, cfg.shard_id, &err);
    if (s == MW_OK) printf("%s\n", json);
    else fprintf(stderr, "manifest: %s\n", err.message);
    mw_free(json);
  }
  mw_objstore_close(store);
  return s == MW_OK ? 0 : 1;
}
