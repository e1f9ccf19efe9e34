/*
 * merge.c - mw_table_merge (memwal.h): folding flushed generations into the
 * base table, one Lance commit per generation, as LSM.md section 11 says.
 *
 * Per shard, the generations of the shard manifest's sstables list above
 * the table's watermark (MemWalIndexDetails.compacted_sstables[shard]) are
 * merged oldest first, up to opts.up_to. Merging generation g on base
 * version V:
 *  1. read V's manifest (raw fragments, feature flags: stable row ids,
 *     overlays, other base paths or unknown flags are refused), the
 *     generation's manifest (one fragment, one data file, its own deletion
 *     vector), and the generation's key and `_tombstone` columns;
 *  2. resolve the generation: per key the last live row wins; older rows of
 *     the key, the generation's own deleted rows and winning tombstones go
 *     to the new fragment's deletion vector;
 *  3. read the key column of every live base fragment; a live row whose key
 *     the generation names (put or tombstone) is deleted: the fragment's
 *     deletion vector (existing .bin / .arrow file read) grows and is
 *     written as a new roaring `.bin`; a fragment left with no live row is
 *     removed instead;
 *  4. "zero copy": the generation's data file is copied byte for byte into
 *     data/ as fragment max_fragment_id + 1 whose DataFile lists the base
 *     field ids only (`_tombstone` is dropped by leaving its column out);
 *     a generation whose rows are all deleted adds no fragment;
 *  5. commit V + 1: an Update transaction {removed, updated and new
 *     fragments, compacted_sstables = [(shard, g)]} inline and as
 *     _transactions/<V>-<uuid>.txn, the index section with
 *     `__lance_mem_wal` rewritten (new uuid, dataset_version V + 1,
 *     compacted_sstables[shard] = g), the manifest put-if-absent, then the
 *     hint (advisory; a failed hint write is ignored).
 * The new manifest is the old protobuf-c struct with a few fields changed,
 * and the fragments / flags / max_fragment_id (which our proto leaves as
 * unknown fields) replaced in its unknown-field list, so every other field
 * survives. Files of an attempt get fresh random names and become
 * reachable only through the manifest, so a failure at any step leaves the
 * table as it was (plus unreferenced files); they are deleted best-effort
 * when the commit surely did not happen.
 * Conflicts: when V + 1 exists already, the table is re-read; if its
 * watermark covers g another merger did the work (the generation is
 * reported as skipped), otherwise the merge is redone on the new version
 * (rebase), up to max_attempts times.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "lance/pb.h"
#include "lance/table_manifest.h"
#include "lance/table_manifest_write.h"
#include "manifest/manifest_store.h"
#include "manifest/shard_manifest.h"
#include "table/merge.h"
#include "table/table.h"

#define DEFAULT_ATTEMPTS 8

void mw_table_merge_options_init(mw_table_merge_options *o) {
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->max_attempts = DEFAULT_ATTEMPTS;
}

/* ------------------------------------------------------------- key map */

typedef struct keymap {
  uint64_t mask;
  uint64_t *slot;  /* row + 1, 0 = empty */
  uint64_t *hash;
  const mw_merge_keys *keys;
} keymap;

static uint64_t key_hash(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

static mw_status keymap_init(keymap *m, const mw_merge_keys *keys, uint64_t n, mw_error *err) {
  uint64_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  m->mask = cap - 1;
  m->keys = keys;
  m->slot = calloc((size_t)cap, sizeof *m->slot);
  m->hash = calloc((size_t)cap, sizeof *m->hash);
  if (!m->slot || !m->hash) {
    free(m->slot);
    free(m->hash);
    return mw_err(err, MW_ERR_NOMEM, "out of memory (key map of %" PRIu64 " rows)", n);
  }
  return MW_OK;
}

static void keymap_free(keymap *m) {
  free(m->slot);
  free(m->hash);
}

/* The slot of key p[0,n): holding it, or the empty one where it goes. */
static uint64_t keymap_find(const keymap *m, const uint8_t *p, size_t n, uint64_t h) {
  for (uint64_t i = h & m->mask;; i = (i + 1) & m->mask) {
    if (m->slot[i] == 0) return i;
    if (m->hash[i] == h) {
      size_t kn;
      const uint8_t *k = mw_merge_key_at(m->keys, m->slot[i] - 1, &kn);
      if (kn == n && memcmp(k, p, n) == 0) return i;
    }
  }
}

/* ------------------------------------------------------------ helpers */

static void fmt_hex(char *out, const uint8_t *b, size_t n) {
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hx[b[i] >> 4];
    out[2 * i + 1] = hx[b[i] & 15];
  }
  out[2 * n] = 0;
}

static mw_status random_u64(uint64_t *out, mw_error *err) {
  uint8_t u[16];
  MW_TRY(mw_uuid_v4(u, err));
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | u[i];
  *out = v >> 1; /* stays below i64::MAX, as Lance's ids do */
  return MW_OK;
}

static uint64_t watermark(const mw_table *t, const uint8_t shard[16]) {
  uint64_t w = 0;
  if (!t->mem_wal) return 0;
  for (size_t i = 0; i < t->mem_wal->n_compacted_sstables; i++) {
    const Lance__Table__CompactedSsTableProto *c = t->mem_wal->compacted_sstables[i];
    if (c && c->shard_id && c->shard_id->has_uuid && c->shard_id->uuid.len == 16 &&
        memcmp(c->shard_id->uuid.data, shard, 16) == 0 && c->generation > w)
      w = c->generation;
  }
  return w;
}

/* The files one attempt wrote (deleted when it surely did not commit). */
typedef struct written {
  char **keys;
  size_t n;
} written;

static mw_status put_new(mw_objstore *store, written *w, const char *key, const void *data, size_t len, mw_error *err) {
  char **nk = realloc(w->keys, (w->n + 1) * sizeof *nk);
  if (!nk) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  w->keys = nk;
  if (!(nk[w->n] = strdup(key))) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  w->n++;
  mw_status st = mw_objstore_put_if_absent(store, key, data, len, err);
  if (st != MW_OK) return mw_err_wrap(err, st, "writing %s", key);
  return MW_OK;
}

static void written_free(written *w, mw_objstore *store, bool remove) {
  for (size_t i = 0; i < w->n; i++) {
    if (remove) (void)mw_objstore_delete(store, w->keys[i], NULL);
    free(w->keys[i]);
  }
  free(w->keys);
  memset(w, 0, sizeof *w);
}

/* DeletionFile {1 type BITMAP, 2 read_version, 3 id, 4 num_deleted}. */
static void deletion_msg(mw_buf *b, uint64_t read_version, uint64_t id, uint64_t n) {
  mw_pb_u64(b, 1, 1);
  mw_pb_u64(b, 2, read_version);
  mw_pb_u64(b, 3, id);
  mw_pb_u64(b, 4, n);
}

/* Writes `_deletions/<frag>-<V>-<id>.bin` for set s and appends the
 * DeletionFile message (field 3 of a fragment) to frag. */
static mw_status write_deletions(mw_buf *frag, mw_objstore *store, written *w, uint64_t frag_id, uint64_t version,
                                 const mw_rowset *s, mw_error *err) {
  uint64_t id;
  MW_TRY(random_u64(&id, err));
  uint8_t *bytes = NULL;
  size_t len = 0;
  MW_TRY(mw_roaring_encode(&bytes, &len, s, err));
  char key[128];
  mw_merge_deletion d = {.present = true, .type = 1, .read_version = version, .id = id};
  mw_merge_deletion_key(key, sizeof key, "", frag_id, &d);
  mw_status st = put_new(store, w, key, bytes, len, err);
  free(bytes);
  if (st != MW_OK) return st;
  mw_buf m;
  mw_buf_init(&m);
  deletion_msg(&m, version, id, s->n);
  mw_pb_msg(frag, 3, &m);
  mw_buf_free(&m);
  return MW_OK;
}

/* Appends an unknown field (tag, wire type, payload as it follows the tag). */
static bool add_unknown(ProtobufCMessageUnknownField **list, size_t *n, uint32_t tag, ProtobufCWireType wt,
                        const mw_buf *payload) {
  ProtobufCMessageUnknownField *nl = realloc(*list, (*n + 1) * sizeof *nl);
  if (!nl) return false;
  *list = nl;
  uint8_t *d = malloc(payload->len ? payload->len : 1);
  if (!d) return false;
  memcpy(d, payload->data, payload->len);
  nl[*n].tag = tag;
  nl[*n].wire_type = wt;
  nl[*n].len = payload->len;
  nl[*n].data = d;
  (*n)++;
  return true;
}

static bool add_unknown_msg(ProtobufCMessageUnknownField **list, size_t *n, uint32_t tag, const mw_buf *msg) {
  mw_buf p;
  mw_buf_init(&p);
  mw_pb_varint(&p, msg->len);
  mw_buf_append(&p, msg->data, msg->len);
  bool ok = mw_buf_ok(&p) && add_unknown(list, n, tag, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, &p);
  mw_buf_free(&p);
  return ok;
}

static bool add_unknown_varint(ProtobufCMessageUnknownField **list, size_t *n, uint32_t tag, uint64_t v) {
  mw_buf p;
  mw_buf_init(&p);
  mw_pb_varint(&p, v);
  bool ok = mw_buf_ok(&p) && add_unknown(list, n, tag, PROTOBUF_C_WIRE_TYPE_VARINT, &p);
  mw_buf_free(&p);
  return ok;
}

static void free_unknown(ProtobufCMessageUnknownField *list, size_t n, size_t from) {
  for (size_t i = from; i < n; i++) free(list[i].data);
  free(list);
}

/* ------------------------------------------------------- one generation */

typedef struct gen_result {
  uint64_t version;          /* committed table version (0 = skipped) */
  uint64_t rows_added, base_rows_deleted, tombstones, gen_rows, fragments_removed;
  uint64_t bytes_copied;     /* the generation's data file */
  uint32_t attempts;
  bool skipped;              /* already covered by another merger */
} gen_result;

typedef struct merge_ctx {
  mw_objstore *store;
  uint8_t shard[16];
  char shard_str[MW_UUID_STR_LEN + 1];
  uint64_t generation;
  const char *gen_path;      /* folder name under the shard folder */
} merge_ctx;

static mw_status check_table(const mw_table *t, const mw_merge_manifest *bm, mw_error *err) {
  uint64_t flags = bm->reader_flags | bm->writer_flags;
  if (flags & MW_LANCE_FLAG_STABLE_ROW_IDS)
    return mw_err(err, MW_ERR_UNSUPPORTED, "the table uses stable row ids (feature flag 2): merging into it is not supported");
  if (flags & ~(uint64_t)MW_LANCE_FLAGS_KNOWN)
    return mw_err(err, MW_ERR_UNSUPPORTED, "the table has feature flags 0x%" PRIx64 " this merger does not know; nothing merged",
                  flags & ~(uint64_t)MW_LANCE_FLAGS_KNOWN);
  if (!t->mem_wal || !t->mem_wal_index) return mw_err(err, MW_ERR_INVALID, "the table has no MemWAL index (%s)", MW_MEM_WAL_INDEX_NAME);
  if (t->n_pk == 0) return mw_err(err, MW_ERR_INVALID, "the table has no primary key");
  if (t->n_pk > 8) return mw_err(err, MW_ERR_UNSUPPORTED, "a primary key of %zu columns", t->n_pk);
  for (size_t k = 0; k < t->n_pk; k++)
    if (t->pk[k]->parent_id >= 0) return mw_err(err, MW_ERR_UNSUPPORTED, "nested primary-key column %s", t->pk[k]->path);
  for (size_t i = 0; i < bm->n_frags; i++) {
    const mw_merge_fragment *f = &bm->frags[i];
    if (f->has_row_ids || f->has_overlays)
      return mw_err(err, MW_ERR_UNSUPPORTED, "fragment %" PRIu64 " has row id sequences or overlays", f->id);
    for (size_t j = 0; j < f->n_files; j++)
      if (f->files[j].has_base_id)
        return mw_err(err, MW_ERR_UNSUPPORTED, "fragment %" PRIu64 " has a data file in another base path", f->id);
  }
  return MW_OK;
}

/* The data file of fragment f that holds every key field (NULL if none). */
static const mw_merge_datafile *key_file(const mw_table *t, const mw_merge_fragment *f) {
  for (size_t j = 0; j < f->n_files; j++) {
    size_t found = 0;
    for (size_t k = 0; k < t->n_pk; k++)
      for (size_t x = 0; x < f->files[j].n_fields; x++)
        if (f->files[j].fields[x] == t->pk[k]->id) {
          found++;
          break;
        }
    if (found == t->n_pk) return &f->files[j];
  }
  return NULL;
}

/* The new fragment's DataFile: the generation's file at `path`, fields
 * mapped to the base's ids by path, `_tombstone` left out. */
static mw_status new_datafile(mw_buf *df, const mw_table *t, const mw_merge_manifest *gm, const mw_merge_datafile *g,
                              const char *path, mw_error *err) {
  uint64_t *ids = calloc(g->n_fields + 1, sizeof *ids), *cols = calloc(g->n_fields + 1, sizeof *cols);
  mw_status st = MW_OK;
  if (!ids || !cols) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; st == MW_OK && i < g->n_fields; i++) {
    const mw_merge_field *gf = mw_merge_field_by_id(gm, g->fields[i]);
    if (!gf) {
      st = mw_err(err, MW_ERR_CORRUPT, "generation data file names field id %" PRId32 " missing from its schema", g->fields[i]);
      break;
    }
    if (strcmp(gf->path, "_tombstone") == 0) continue;
    const mw_table_field *bf = NULL;
    for (size_t j = 0; j < t->n_fields; j++)
      if (strcmp(t->fields[j].path, gf->path) == 0) bf = &t->fields[j];
    if (!bf) {
      st = mw_err(err, MW_ERR_UNSUPPORTED, "generation column '%s' is not in the base schema", gf->path);
      break;
    }
    ids[n] = (uint64_t)(int64_t)bf->id;
    cols[n] = i < g->n_cols ? (uint64_t)(int64_t)g->cols[i] : (uint64_t)(int64_t)-1;
    n++;
  }
  if (st == MW_OK) {
    mw_pb_str(df, 1, path);
    mw_pb_packed_u64(df, 2, ids, n);
    if (g->n_cols) mw_pb_packed_u64(df, 3, cols, n);
    mw_pb_u64(df, 4, g->major);
    if (g->minor) mw_pb_u64(df, 5, g->minor);
    if (g->size) mw_pb_u64(df, 6, g->size);
  }
  free(ids);
  free(cols);
  return st;
}

/* One attempt on the table's current version. MW_ERR_ALREADY_EXISTS = lost
 * the commit race (nothing of ours is referenced). *committed_unknown is set
 * when the manifest write failed in a way that may have landed. */
static mw_status merge_attempt(gen_result *res, const merge_ctx *c, const mw_table *t, bool *commit_unknown,
                               written *w, mw_error *err) {
  mw_objstore *store = c->store;
  uint64_t V = t->version;
  char gprefix[512], key[640];
  snprintf(gprefix, sizeof gprefix, "_mem_wal/%s/%s", c->shard_str, c->gen_path);
  const char *pk_names[8];
  for (size_t k = 0; k < t->n_pk; k++) pk_names[k] = t->pk[k]->name;

  mw_merge_manifest *bm = NULL, *gm = NULL;
  mw_merge_keys gk = {0}, bk = {0};
  mw_rowset gdel = {0}, dv = {0}, nd = {0};
  keymap map = {0};
  bool map_ok = false;
  mw_buf updated, newfrag, df, txn_update;
  mw_buf_init(&updated); mw_buf_init(&newfrag); mw_buf_init(&df); mw_buf_init(&txn_update);
  uint64_t *removed = NULL;
  size_t n_removed = 0;
  ProtobufCMessageUnknownField *unk = NULL, *tunk = NULL;
  size_t n_unk = 0, n_unk_kept = 0, n_tunk = 0;
  Lance__Table__CompactedSsTableProto *cs = NULL, **csp = NULL;
  Lance__Table__IndexMetadataProto **iptr = NULL;
  uint8_t *file = NULL;
  size_t file_len = 0;
  memset(res, 0, sizeof *res);
  if (!t->mem_wal || !t->mem_wal_index)
    return mw_err(err, MW_ERR_INVALID, "the table has no MemWAL index (%s)", MW_MEM_WAL_INDEX_NAME);

  mw_status st = mw_merge_manifest_read(&bm, store, "", V, err);
  if (st == MW_OK) st = check_table(t, bm, err);
  /* the generation */
  if (st == MW_OK) st = mw_merge_manifest_read(&gm, store, gprefix, 1, err);
  if (st == MW_OK && (gm->n_frags != 1 || gm->frags[0].n_files != 1))
    st = mw_err(err, MW_ERR_UNSUPPORTED, "generation %s has %zu fragments (want one with one data file)", gprefix, gm->n_frags);
  const mw_merge_fragment *gf = st == MW_OK ? &gm->frags[0] : NULL;
  bool has_tomb = false;
  if (st == MW_OK)
    for (size_t i = 0; i < gm->n_fields; i++)
      if (strcmp(gm->fields[i].path, "_tombstone") == 0) has_tomb = true;
  if (st == MW_OK) st = mw_merge_read_deletions(&gdel, store, gprefix, gf, err);
  if (st == MW_OK) {
    snprintf(key, sizeof key, "%s/data/%s", gprefix, gf->files[0].path);
    st = mw_merge_read_keys(&gk, store, key, pk_names, t->n_pk, has_tomb, gf->physical_rows, err);
  }
  /* per key the last live row wins */
  if (st == MW_OK) st = keymap_init(&map, &gk, gk.n, err);
  if (st == MW_OK) map_ok = true;
  uint64_t live_rows = 0;
  for (uint64_t i = 0; st == MW_OK && i < gk.n; i++) {
    if (mw_rowset_has(&gdel, (uint32_t)i)) continue;
    size_t n;
    const uint8_t *p = mw_merge_key_at(&gk, i, &n);
    uint64_t h = key_hash(p, n);
    uint64_t s = keymap_find(&map, p, n, h);
    if (map.slot[s]) {
      st = mw_rowset_add(&nd, (uint32_t)(map.slot[s] - 1), err); /* an older copy */
    } else {
      map.hash[s] = h;
    }
    map.slot[s] = i + 1;
  }
  for (uint64_t s = 0; st == MW_OK && map_ok && s <= map.mask; s++) {
    if (!map.slot[s]) continue;
    uint64_t row = map.slot[s] - 1;
    if (gk.tomb && gk.tomb[row]) {
      res->tombstones++;
      st = mw_rowset_add(&nd, (uint32_t)row, err);
    } else {
      live_rows++;
    }
  }
  if (st == MW_OK) st = mw_rowset_add_all(&nd, &gdel, err);
  mw_rowset_normalize(&nd);
  res->rows_added = live_rows;
  res->gen_rows = gk.n;

  /* the base fragments */
  bool any_deletions = false;
  for (size_t i = 0; st == MW_OK && i < bm->n_frags; i++) {
    const mw_merge_fragment *f = &bm->frags[i];
    if (f->del.present) any_deletions = true;
    const mw_merge_datafile *kf = key_file(t, f);
    if (!kf) {
      st = mw_err(err, MW_ERR_UNSUPPORTED, "fragment %" PRIu64 " has no data file holding the primary key", f->id);
      break;
    }
    st = mw_merge_read_deletions(&dv, store, "", f, err);
    if (st != MW_OK) break;
    if (dv.n >= f->physical_rows) { /* nothing live */
      mw_rowset_free(&dv);
      continue;
    }
    snprintf(key, sizeof key, "data/%s", kf->path);
    st = mw_merge_read_keys(&bk, store, key, pk_names, t->n_pk, false, f->physical_rows, err);
    size_t before = dv.n;
    for (uint64_t r = 0; st == MW_OK && r < bk.n; r++) {
      size_t n;
      const uint8_t *p = mw_merge_key_at(&bk, r, &n);
      uint64_t s = keymap_find(&map, p, n, key_hash(p, n));
      if (map.slot[s] && !mw_rowset_has(&dv, (uint32_t)r)) st = mw_rowset_add(&dv, (uint32_t)r, err);
    }
    mw_merge_keys_free(&bk);
    if (st == MW_OK && dv.n > before) {
      mw_rowset_normalize(&dv);
      res->base_rows_deleted += dv.n - before;
      if (dv.n >= f->physical_rows) {
        uint64_t *nr = realloc(removed, (n_removed + 1) * sizeof *nr);
        if (!nr) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
        else {
          removed = nr;
          removed[n_removed++] = f->id;
          res->fragments_removed++;
        }
      } else {
        /* the fragment's bytes without its deletion file, plus the new one */
        mw_buf fb;
        mw_buf_init(&fb);
        size_t pos = 0, at = 0;
        mw_pb_field pf;
        while (mw_pb_next(f->raw, f->raw_len, &pos, &pf)) {
          if (pf.field != 3) mw_buf_append(&fb, f->raw + at, pos - at);
          at = pos;
        }
        st = write_deletions(&fb, store, w, f->id, V, &dv, err);
        if (st == MW_OK) mw_pb_msg(&updated, 2, &fb);
        mw_buf_free(&fb);
      }
    }
    mw_rowset_free(&dv);
  }

  /* the new fragment */
  uint64_t new_id = 0;
  bool add_frag = st == MW_OK && live_rows > 0;
  if (bm) {
    if (bm->has_max_fragment_id) new_id = bm->max_fragment_id + 1;
    for (size_t i = 0; i < bm->n_frags; i++)
      if (bm->frags[i].id >= new_id) new_id = bm->frags[i].id + 1;
  }
  if (add_frag) {
    uint8_t rnd[16];
    char hex[33];
    st = mw_uuid_v4(rnd, err);
    fmt_hex(hex, rnd, 16);
    char newname[64];
    snprintf(newname, sizeof newname, "%s.lance", hex);
    uint8_t *data = NULL;
    size_t len = 0;
    if (st == MW_OK) {
      snprintf(key, sizeof key, "%s/data/%s", gprefix, gf->files[0].path);
      st = mw_objstore_get(store, &data, &len, key, 0, MW_OBJSTORE_TO_END, err);
      if (st != MW_OK) mw_err_wrap(err, st, "reading %s", key);
    }
    if (st == MW_OK && gf->files[0].size && len != gf->files[0].size)
      st = mw_err(err, MW_ERR_CORRUPT, "%s is %zu bytes, its manifest says %" PRIu64, key, len, gf->files[0].size);
    if (st == MW_OK) {
      snprintf(key, sizeof key, "data/%s", newname);
      st = put_new(store, w, key, data, len, err);
      if (st == MW_OK) res->bytes_copied = len;
    }
    mw_free(data);
    mw_merge_datafile g = gf->files[0];
    g.size = len;
    if (st == MW_OK) st = new_datafile(&df, t, gm, &g, newname, err);
    if (st == MW_OK) {
      mw_pb_u64(&newfrag, 1, new_id);
      mw_pb_msg(&newfrag, 2, &df);
      if (nd.n) {
        st = write_deletions(&newfrag, store, w, new_id, V, &nd, err);
        any_deletions = true;
      }
      mw_pb_u64(&newfrag, 4, gk.n);
    }
  }
  if (res->base_rows_deleted) any_deletions = true;
  /* a data file of another version than the table's data format */
  bool mixed = false;
  if (add_frag && t->manifest->pb->data_format && t->manifest->pb->data_format->version) {
    char fv[32];
    snprintf(fv, sizeof fv, "%" PRIu32 ".%" PRIu32, gf->files[0].major, gf->files[0].minor);
    mixed = strcmp(fv, t->manifest->pb->data_format->version) != 0;
  }

  /* the MemWAL details: compacted_sstables[shard] = g */
  char tuuid[MW_UUID_STR_LEN + 1], txn_file[96];
  uint8_t tuuid_raw[16] = {0}, iuuid_raw[16] = {0};
  if (st == MW_OK) st = mw_uuid_v4(tuuid_raw, err);
  if (st == MW_OK) st = mw_uuid_v4(iuuid_raw, err);
  mw_uuid_format(tuuid, tuuid_raw);
  snprintf(txn_file, sizeof txn_file, "%" PRIu64 "-%s.txn", V, tuuid);
  size_t n_old = t->mem_wal->n_compacted_sstables;
  if (st == MW_OK) {
    cs = calloc(1, sizeof *cs);
    csp = calloc(n_old + 1, sizeof *csp);
    if (!cs || !csp) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  Lance__Table__LanceUuid su = LANCE__TABLE__LANCE_UUID__INIT;
  su.has_uuid = true;
  su.uuid.data = (uint8_t *)c->shard;
  su.uuid.len = 16;
  size_t ncs = 0;
  if (st == MW_OK) {
    lance__table__compacted_ss_table_proto__init(cs);
    cs->shard_id = &su;
    cs->has_generation = true;
    cs->generation = c->generation;
    for (size_t i = 0; i < n_old; i++) {
      const Lance__Table__CompactedSsTableProto *o = t->mem_wal->compacted_sstables[i];
      if (o && o->shard_id && o->shard_id->has_uuid && o->shard_id->uuid.len == 16 &&
          memcmp(o->shard_id->uuid.data, c->shard, 16) == 0)
        continue;
      csp[ncs++] = t->mem_wal->compacted_sstables[i];
    }
    csp[ncs++] = cs;
  }
  Lance__Table__MemWalIndexDetailsProto d = *t->mem_wal;
  d.n_compacted_sstables = ncs;
  d.compacted_sstables = csp;
  uint8_t *details = NULL;
  size_t dl = 0;
  if (st == MW_OK) {
    dl = lance__table__mem_wal_index_details_proto__get_packed_size(&d);
    details = malloc(dl ? dl : 1);
    if (!details) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
    else lance__table__mem_wal_index_details_proto__pack(&d, details);
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  Lance__Table__LanceUuid iu = LANCE__TABLE__LANCE_UUID__INIT;
  iu.has_uuid = true;
  iu.uuid.data = iuuid_raw;
  iu.uuid.len = 16;
  Lance__Table__AnyProto any = LANCE__TABLE__ANY_PROTO__INIT;
  if (t->mem_wal_index->index_details) any = *t->mem_wal_index->index_details;
  any.type_url = (char *)MW_MEM_WAL_DETAILS_TYPE_URL;
  any.has_value = true;
  any.value.data = details;
  any.value.len = dl;
  Lance__Table__IndexMetadataProto idx = *t->mem_wal_index; /* unknown fields kept */
  idx.uuid = &iu;
  idx.has_dataset_version = true;
  idx.dataset_version = V + 1;
  idx.index_details = &any;
  const Lance__Table__IndexSectionProto *old_sec = t->manifest->index;
  size_t n_idx = old_sec ? old_sec->n_indices : 0;
  if (st == MW_OK && !(iptr = calloc(n_idx + 1, sizeof *iptr))) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  Lance__Table__IndexSectionProto sec = LANCE__TABLE__INDEX_SECTION_PROTO__INIT;
  if (old_sec) sec = *old_sec;
  if (st == MW_OK) {
    bool replaced = false;
    for (size_t i = 0; i < n_idx; i++) {
      if (old_sec->indices[i] == t->mem_wal_index) {
        iptr[i] = &idx;
        replaced = true;
      } else {
        iptr[i] = old_sec->indices[i];
      }
    }
    if (!replaced) st = mw_err(err, MW_ERR_CORRUPT, "the MemWAL index entry is not in the index section");
    sec.n_indices = n_idx;
    sec.indices = iptr;
  }

  /* the transaction: Update {1 removed, 2 updated, 3 new, 5 compacted} */
  if (st == MW_OK) {
    if (n_removed) mw_pb_packed_u64(&txn_update, 1, removed, n_removed);
    mw_buf_append(&txn_update, updated.data, updated.len);
    if (add_frag) mw_pb_msg(&txn_update, 3, &newfrag);
    mw_buf u, csb;
    mw_buf_init(&u);
    mw_buf_init(&csb);
    mw_pb_bytes(&u, 1, c->shard, 16);
    mw_pb_msg(&csb, 1, &u);
    mw_pb_u64(&csb, 2, c->generation);
    mw_pb_msg(&txn_update, 5, &csb);
    mw_buf_free(&u);
    mw_buf_free(&csb);
    if (!mw_buf_ok(&txn_update) || !mw_buf_ok(&updated) || !mw_buf_ok(&newfrag) || !mw_buf_ok(&df))
      st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  Lance__Table__TransactionProto txn = LANCE__TABLE__TRANSACTION_PROTO__INIT;
  txn.has_read_version = true;
  txn.read_version = V;
  txn.uuid = tuuid;
  if (st == MW_OK && !add_unknown_msg(&tunk, &n_tunk, 108, &txn_update)) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  txn.base.n_unknown_fields = n_tunk;
  txn.base.unknown_fields = tunk;

  /* the manifest: the old one with fragments, flags, max_fragment_id,
   * version, timestamp, transaction file and writer replaced */
  Lance__Table__TableManifest m = *t->manifest->pb;
  if (st == MW_OK) {
    const ProtobufCMessage *ob = &t->manifest->pb->base;
    for (size_t i = 0; i < ob->n_unknown_fields; i++) {
      uint32_t tag = ob->unknown_fields[i].tag;
      if (tag == 2 || tag == 9 || tag == 10 || tag == 11) continue;
      ProtobufCMessageUnknownField *nl = realloc(unk, (n_unk + 1) * sizeof *nl);
      if (!nl) {
        st = mw_err(err, MW_ERR_NOMEM, "out of memory");
        break;
      }
      unk = nl;
      unk[n_unk++] = ob->unknown_fields[i]; /* borrowed data */
    }
    n_unk_kept = n_unk;
  }
  bool ok = st == MW_OK;
  for (size_t i = 0; ok && i < bm->n_frags; i++) {
    const mw_merge_fragment *f = &bm->frags[i];
    bool gone = false;
    for (size_t j = 0; j < n_removed; j++) gone = gone || removed[j] == f->id;
    if (gone) continue;
    /* an updated fragment's new bytes, else the old bytes */
    const uint8_t *src = f->raw;
    size_t srclen = f->raw_len;
    size_t pos = 0;
    mw_pb_field uf;
    while (mw_pb_next(updated.data, updated.len, &pos, &uf)) {
      mw_pb_field idf;
      if (mw_pb_find(uf.data, uf.len, 1, &idf) ? idf.val == f->id : f->id == 0) {
        src = uf.data;
        srclen = uf.len;
        break;
      }
    }
    mw_buf fb;
    mw_buf_init(&fb);
    mw_buf_append(&fb, src, srclen);
    ok = mw_buf_ok(&fb) && add_unknown_msg(&unk, &n_unk, 2, &fb);
    mw_buf_free(&fb);
  }
  if (ok && add_frag) ok = add_unknown_msg(&unk, &n_unk, 2, &newfrag);
  uint64_t rflags = bm ? bm->reader_flags : 0, wflags = bm ? bm->writer_flags : 0;
  if (any_deletions) {
    rflags |= MW_LANCE_FLAG_DELETION_FILES;
    wflags |= MW_LANCE_FLAG_DELETION_FILES;
  }
  if (mixed) {
    rflags |= MW_LANCE_FLAG_MIXED_VERSIONS;
    wflags |= MW_LANCE_FLAG_MIXED_VERSIONS;
  }
  if (ok && rflags) ok = add_unknown_varint(&unk, &n_unk, 9, rflags);
  if (ok && wflags) ok = add_unknown_varint(&unk, &n_unk, 10, wflags);
  if (ok && bm && (bm->has_max_fragment_id || add_frag))
    ok = add_unknown_varint(&unk, &n_unk, 11, add_frag ? new_id : bm->max_fragment_id);
  if (st == MW_OK && !ok) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  m.base.n_unknown_fields = n_unk;
  m.base.unknown_fields = unk;
  Lance__Table__TimestampProto ts = LANCE__TABLE__TIMESTAMP_PROTO__INIT;
  if (t->manifest->pb->timestamp) ts = *t->manifest->pb->timestamp;
  ts.has_seconds = true;
  ts.seconds = (int64_t)now.tv_sec;
  ts.has_nanos = now.tv_nsec != 0;
  ts.nanos = (int32_t)now.tv_nsec;
  Lance__Table__WriterVersion wv = LANCE__TABLE__WRITER_VERSION__INIT;
  if (t->manifest->pb->writer_version) wv = *t->manifest->pb->writer_version;
  wv.library = (char *)"memwal";
  wv.version = (char *)mw_version();
  m.has_version = true;
  m.version = V + 1;
  m.timestamp = &ts;
  m.transaction_file = txn_file;
  m.writer_version = &wv;
  if (st == MW_OK) st = mw_lance_table_manifest_encode(&file, &file_len, &m, old_sec ? &sec : NULL, &txn, err);
  if (st == MW_OK) { /* never commit what we cannot read back */
    mw_lance_table_manifest *chk = NULL;
    mw_merge_manifest *chk2 = NULL;
    mw_error e = {0};
    st = mw_lance_table_manifest_decode(&chk, file, file_len, "(merged manifest)", &e);
    if (st == MW_OK) {
      uint8_t *copy = malloc(file_len);
      if (!copy) st = mw_err(&e, MW_ERR_NOMEM, "out of memory");
      else {
        memcpy(copy, file, file_len);
        st = mw_merge_manifest_parse(&chk2, copy, file_len, "(merged manifest)", &e);
      }
    }
    if (st == MW_OK && chk2->n_frags != bm->n_frags - n_removed + (add_frag ? 1 : 0))
      st = mw_err(&e, MW_ERR_CORRUPT, "fragment count mismatch");
    if (st != MW_OK)
      st = mw_err(err, st == MW_ERR_NOMEM ? st : MW_ERR_CORRUPT,
                  "the merged manifest of version %" PRIu64 " does not read back (%s); nothing was committed", V + 1, e.message);
    mw_lance_table_manifest_free(chk);
    mw_merge_manifest_free(chk2);
  }

  /* commit: transaction file, manifest put-if-absent, hint */
  if (st == MW_OK) {
    snprintf(key, sizeof key, "_transactions/%s", txn_file);
    size_t tl = protobuf_c_message_get_packed_size(&txn.base);
    uint8_t *tb = malloc(tl ? tl : 1);
    if (!tb) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
    else {
      protobuf_c_message_pack(&txn.base, tb);
      st = put_new(store, w, key, tb, tl, err);
      free(tb);
    }
  }
  if (st == MW_OK) {
    char mk[64];
    mw_lance_manifest_key(mk, sizeof mk, V + 1);
    st = mw_objstore_put_if_absent(store, mk, file, file_len, err);
    if (st == MW_ERR_ALREADY_EXISTS) {
      mw_err(err, st, "table version %" PRIu64 " was committed by another writer", V + 1);
    } else if (st != MW_OK) {
      *commit_unknown = true;
      mw_err_wrap(err, st, "committing table version %" PRIu64 " (%s)", V + 1, mk);
    } else {
      char hint[48];
      int n = snprintf(hint, sizeof hint, "{\"version\":%" PRIu64 "}", V + 1);
      (void)mw_objstore_put(store, "_versions/latest_version_hint.json", hint, (size_t)n, NULL);
      res->version = V + 1;
    }
  }

  free(file);
  free(details);
  free(iptr);
  free(cs);
  free(csp);
  if (unk) free_unknown(unk, n_unk, n_unk_kept);
  if (tunk) free_unknown(tunk, n_tunk, 0);
  free(removed);
  mw_buf_free(&updated); mw_buf_free(&newfrag); mw_buf_free(&df); mw_buf_free(&txn_update);
  if (map_ok) keymap_free(&map);
  mw_rowset_free(&gdel);
  mw_rowset_free(&nd);
  mw_rowset_free(&dv);
  mw_merge_keys_free(&gk);
  mw_merge_keys_free(&bk);
  mw_merge_manifest_free(bm);
  mw_merge_manifest_free(gm);
  return st;
}

static mw_status merge_generation(gen_result *res, const merge_ctx *c, uint32_t max_attempts, mw_error *err) {
  memset(res, 0, sizeof *res);
  for (uint32_t a = 1; a <= max_attempts; a++) {
    mw_table *t = NULL;
    MW_TRY(mw_table_open(&t, c->store, err));
    if (watermark(t, c->shard) >= c->generation) {
      mw_table_close(t);
      res->skipped = true;
      res->attempts = a;
      return MW_OK;
    }
    written w = {0};
    bool unknown = false;
    mw_status st = merge_attempt(res, c, t, &unknown, &w, err);
    mw_table_close(t);
    res->attempts = a;
    written_free(&w, c->store, st != MW_OK && !unknown);
    if (st != MW_ERR_ALREADY_EXISTS) return st;
  }
  return mw_err(err, MW_ERR_CONFLICT, "shard %s generation %" PRIu64 ": other writers committed first %" PRIu32 " times in a row",
                c->shard_str, c->generation, max_attempts);
}

/* --------------------------------------------------------------- driver */

static int gen_cmp(const void *a, const void *b) {
  const mw_flushed_generation *x = *(const mw_flushed_generation *const *)a, *y = *(const mw_flushed_generation *const *)b;
  return x->generation < y->generation ? -1 : x->generation > y->generation;
}

static void json_result(mw_buf *b, const char *shard, uint64_t gen, const gen_result *r) {
  char line[512];
  int n;
  if (r->skipped)
    n = snprintf(line, sizeof line, "{\"shard\":\"%s\",\"generation\":%" PRIu64 ",\"skipped\":\"already merged by another merger\"}",
                 shard, gen);
  else
    n = snprintf(line, sizeof line,
                 "{\"shard\":\"%s\",\"generation\":%" PRIu64 ",\"version\":%" PRIu64 ",\"generation_rows\":%" PRIu64
                 ",\"rows_added\":%" PRIu64 ",\"tombstones\":%" PRIu64 ",\"base_rows_deleted\":%" PRIu64
                 ",\"fragments_removed\":%" PRIu64 ",\"bytes_copied\":%" PRIu64 ",\"attempts\":%" PRIu32 "}",
                 shard, gen, r->version, r->gen_rows, r->rows_added, r->tombstones, r->base_rows_deleted,
                 r->fragments_removed, r->bytes_copied, r->attempts);
  if (n > 0) mw_buf_append(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

mw_status mw_table_merge(char **out_json, mw_objstore *store, const mw_table_merge_options *opts, mw_error *err) {
  if (out_json) *out_json = NULL;
  if (!store) return mw_err(err, MW_ERR_INVALID, "mw_table_merge: store is required");
  mw_table_merge_options o;
  mw_table_merge_options_init(&o);
  if (opts) {
    if (opts->struct_size < sizeof o || opts->struct_size > sizeof o)
      return mw_err(err, MW_ERR_INVALID, "merge options: struct_size %" PRIu32 " is not a known version", opts->struct_size);
    memcpy(&o, opts, sizeof o);
  }
  if (o.max_attempts == 0) o.max_attempts = DEFAULT_ATTEMPTS;
  uint8_t only[16] = {0};
  if (o.shard) MW_TRY(mw_uuid_parse(only, o.shard, err));

  mw_table *t = NULL;
  MW_TRY(mw_table_open(&t, store, err));
  uint64_t v0 = t->version;
  mw_status st = MW_OK;
  if (!t->mem_wal) st = mw_err(err, MW_ERR_INVALID, "the table has no MemWAL spec (%s index): nothing to merge", MW_MEM_WAL_INDEX_NAME);
  else if (t->n_pk == 0) st = mw_err(err, MW_ERR_INVALID, "the table has no primary key: cannot merge by key");
  size_t n_shards = 0;
  uint8_t(*shards)[16] = NULL;
  if (st == MW_OK) st = mw_table_shard_ids(&shards, &n_shards, t, o.shard, only, err);
  mw_table_close(t);

  mw_buf merged, skipped;
  mw_buf_init(&merged);
  mw_buf_init(&skipped);
  uint64_t n_merged = 0, n_skipped = 0, rows_added = 0, base_deleted = 0, tombs = 0, last_version = v0, bytes = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t si = 0; st == MW_OK && si < n_shards; si++) {
    if (o.shard && memcmp(shards[si], only, 16) != 0) continue;
    merge_ctx c = {.store = store};
    memcpy(c.shard, shards[si], 16);
    mw_uuid_format(c.shard_str, c.shard);
    mw_manifest_store *ms = NULL;
    mw_shard_manifest *sm = NULL;
    st = mw_manifest_store_open(&ms, store, c.shard, 0, err);
    if (st == MW_OK) st = mw_manifest_store_read_latest(&sm, ms, err);
    if (st != MW_OK) mw_err_wrap(err, st, "shard %s", c.shard_str);
    mw_flushed_generation **gens = NULL;
    size_t ng = sm ? sm->n_flushed_generations : 0;
    if (st == MW_OK && ng) {
      gens = malloc(ng * sizeof *gens);
      if (!gens) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
      else {
        memcpy(gens, sm->flushed_generations, ng * sizeof *gens);
        qsort(gens, ng, sizeof *gens, gen_cmp);
      }
    }
    /* the watermark now (merge_generation re-checks it per attempt) */
    uint64_t wm = 0;
    if (st == MW_OK && ng) {
      mw_table *tt = NULL;
      st = mw_table_open(&tt, store, err);
      if (st == MW_OK) wm = watermark(tt, c.shard);
      mw_table_close(tt);
    }
    for (size_t gi = 0; st == MW_OK && gi < ng; gi++) {
      const mw_flushed_generation *g = gens[gi];
      if (!g || g->generation <= wm) continue;
      if (o.up_to && g->generation > o.up_to) break;
      if (!g->path || !g->path[0] || strchr(g->path, '/') || strstr(g->path, "..")) {
        st = mw_err(err, MW_ERR_CORRUPT, "shard %s generation %" PRIu64 ": bad folder name", c.shard_str, g->generation);
        break;
      }
      c.generation = g->generation;
      c.gen_path = g->path;
      if (o.progress) {
        mw_table_merge_progress p = {.shard = c.shard_str, .generation = g->generation, .stage = "merging"};
        o.progress(o.progress_ctx, &p);
      }
      gen_result r;
      st = merge_generation(&r, &c, o.max_attempts, err);
      if (st != MW_OK) {
        mw_err_wrap(err, st, "merging shard %s generation %" PRIu64, c.shard_str, g->generation);
        break;
      }
      mw_buf *dst = r.skipped ? &skipped : &merged;
      if (dst->len) mw_buf_u8(dst, ',');
      json_result(dst, c.shard_str, g->generation, &r);
      if (r.skipped) {
        n_skipped++;
      } else {
        n_merged++;
        rows_added += r.rows_added;
        base_deleted += r.base_rows_deleted;
        tombs += r.tombstones;
        bytes += r.bytes_copied;
        last_version = r.version;
      }
      if (o.progress) {
        mw_table_merge_progress p = {.shard = c.shard_str, .generation = g->generation,
                                     .stage = r.skipped ? "skipped" : "committed", .table_version = r.version,
                                     .rows_added = r.rows_added, .base_rows_deleted = r.base_rows_deleted,
                                     .tombstones = r.tombstones};
        o.progress(o.progress_ctx, &p);
      }
    }
    free(gens);
    mw_shard_manifest_free(sm);
    mw_manifest_store_close(ms);
  }
  free(shards);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  if (st == MW_OK && out_json) {
    mw_buf j;
    mw_buf_init(&j);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "{\"table_version_before\":%" PRIu64 ",\"table_version\":%" PRIu64 ",\"generations_merged\":%" PRIu64
                     ",\"generations_skipped\":%" PRIu64 ",\"rows_added\":%" PRIu64 ",\"tombstones\":%" PRIu64
                     ",\"base_rows_deleted\":%" PRIu64 ",\"bytes_copied\":%" PRIu64 ",\"seconds\":%.6f,\"merged\":[",
                     v0, last_version, n_merged, n_skipped, rows_added, tombs, base_deleted, bytes, secs);
    mw_buf_append(&j, head, (size_t)n);
    mw_buf_append(&j, merged.data, merged.len);
    mw_buf_append(&j, "],\"skipped\":[", 13);
    mw_buf_append(&j, skipped.data, skipped.len);
    mw_buf_append(&j, "]}", 3); /* with the NUL */
    if (!mw_buf_ok(&j)) {
      mw_buf_free(&j);
      st = mw_err(err, MW_ERR_NOMEM, "out of memory");
    } else {
      size_t len;
      *out_json = (char *)mw_buf_take(&j, &len);
    }
  }
  mw_buf_free(&merged);
  mw_buf_free(&skipped);
  return st;
}
