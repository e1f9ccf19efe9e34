/*
 * gc.c - mw_table_gc (memwal.h): conservative garbage collection of
 * generation folders and WAL entries that merging (merge.c) made
 * unnecessary. Nothing is removed that cannot be proven unused; when in
 * doubt, keep. The rules, and why they are safe:
 *
 * GENERATIONS. Generation g of shard s (a folder listed in the shard
 * manifest's sstables) is removed only when, for EVERY base table version
 * still in `_versions/` (the latest included), g <= W_v(s), where W_v(s) =
 * compacted_sstables[s] of that version's MemWalIndexDetails, lowered to
 * index_catchup[I][s] for every index I of that version that is an FTS
 * (InvertedIndexDetails) or vector (VectorIndexDetails) index, has no type
 * at all, or is named in its maintained_indexes (an index missing from
 * index_catchup has caught up nothing: W = 0). W_v is exactly the bound
 * below which LanceDB's LSM reader skips generations (LSM.md section 11).
 * Requiring it in every retained version covers both ways a reader of an
 * old version can work: with that version's own MemWAL details (then W_v
 * is its bound) or with the latest details (then W_latest is). A version
 * without a MemWAL index has no LSM view at all. Consequences: right after
 * a merge the version before it (watermark below g) still exists, so gc
 * frees nothing until old versions are cleaned up (LanceDB
 * optimize({cleanupOlderThan}) / cleanupOldVersions); an index LanceDB has
 * not re-indexed the merged fragment for keeps the folder. Merged data
 * lives in the base's own data/ (the merger copies data files), so no base
 * version refers to a path inside a generation folder. Generation folders
 * not listed in the shard manifest (a flush in progress writes its folder
 * before its manifest commit) are never touched.
 *
 * The shard manifest's sstables list is left as it is: the manifest
 * belongs to the writer (changing it would race a live writer's commits);
 * every reader skips listed generations <= the watermark without opening
 * them (our merger, describe, query, replay and table reads never open a
 * generation folder; LanceDB's LSM read is checked by
 * tests/interop/gc_lancedb.sh). A folder is deleted manifests
 * (`_versions/`) first, then the rest, so a crash part-way leaves a folder
 * that is no dataset any more and that nobody opens; a rerun deletes the
 * rest (deletes are idempotent).
 *
 * Races: every decision is made on one read of the table, then the table is
 * read again (fresh listing of `_versions/`, fresh latest) just before
 * deleting and only generations removable in both reads go. Watermarks only
 * grow (merge.c refuses stale compaction), versions are only added or
 * cleaned, so a generation being merged right now is above the watermark
 * and kept. Not covered: a LanceDB restore() of an old version between the
 * second read and the delete (it would lower the watermark of a new
 * version); README says so.
 *
 * TEMP FILES. A write the file store was doing when its process was killed
 * leaves a ".tmp-*" file (never listed, never read through a key). gc
 * removes those at least MW_GC_TEMP_MIN_AGE_S old (modification time)
 * under the table's root (under `_mem_wal/<shard>/` with a shard given):
 * a live write renames its temp file within the time it takes to write
 * it, far below that age. Other stores leave none (mw_objstore_sweep_temp).
 *
 * WAL ENTRIES. Entries at positions <= replay_after_wal_entry_position (R)
 * hold data that is in a flushed generation; replay and LanceDB start at
 * R + 1 and never read them. But positions also fence: a stale writer (an
 * older epoch, possibly alive: it can never be proven dead) appends with
 * put_if_absent at its next position and learns it is fenced only by
 * colliding with an existing entry; were that entry deleted, the stale
 * write would succeed and its acknowledged rows would be lost. A writer
 * whose next position is unknown rediscovers it and checks fencing after
 * probing (wal_appender.c), so only a KNOWN next position matters. For the
 * writer of epoch e it lies in [L_e, U_e]:
 *  - L_e = max(R_e, P_e): R_e = the replay cursor of the first shard
 *    manifest version with writer_epoch e (the writer read at least that
 *    one when it claimed; replay seeds next past it; cursors never go
 *    down), P_e = the highest position + 1 of an entry of epoch e we read
 *    (a writer's next only grows past its own writes);
 *  - U_e = the lowest position of an entry of a later epoch: that entry
 *    exists only after the later claim is in the manifest, every position
 *    below it was taken when it landed (positions are dense above what gc
 *    deleted), so writer e can move only up to it, collides there at the
 *    latest and stops for good (fenced is sticky); no later entry: U = inf.
 * Bounds from fewer entries are only wider, so positions gc deleted (lost
 * evidence) never make the rule unsafe. So, for p <= R and p not the newest
 * entry of the WAL:
 *  - p outside every [L_e, U_e]: deleted (no writer of any epoch can append
 *    there any more; epochs claimed later start past R);
 *  - p inside one, the entry holding batches: REPLACED (atomic overwrite,
 *    `put`) by a placeholder: an IPC stream of an empty schema and no batch
 *    (the shape of a Lance 12 fence entry, which every reader skips as
 *    data) with metadata writer_epoch = the original's, fence_sentinel =
 *    "true" and memwal_gc_placeholder = "true". The position stays taken, so
 *    a stale writer still collides and is fenced; the bytes are reclaimed;
 *  - everything else stays: the newest entry is never touched and wal/ is
 *    never emptied (discovery falls back to a listing's max + 1).
 * With every shard manifest version still present (none is ever deleted
 * here) and every entry readable; otherwise only placeholders are written.
 * In practice each writer session (epoch) leaves one small entry behind
 * (typically the next epoch's fence entry), because its writer can never
 * be proven gone: the WAL's bytes stay bounded, its entry count grows by
 * one per writer restart. Cost: every shard manifest version and every
 * entry <= R is read on each run (entries deleted or replaced by earlier
 * runs are gone or tiny). Deletes go in ascending position order. A shard
 * that never flushed (R = 0) is left alone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"
#include "lance/table_manifest.h"
#include "manifest/manifest_store.h"
#include "manifest/shard_manifest.h"
#include "objstore/objstore.h"
#include "table/table.h"
#include "wal/wal_internal.h"
#include "wal/wal_names.h"

void mw_table_gc_options_init(mw_table_gc_options *o) {
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
}

/* ------------------------------------------------------- table versions */

typedef struct vinfo {
  uint64_t version;
  Lance__Table__MemWalIndexDetailsProto *d; /* NULL: no MemWAL index */
  char **idx;                               /* indexes the LSM read relies on */
  size_t n_idx;
} vinfo;

typedef struct snapshot {
  vinfo *v;
  size_t n;
  uint64_t latest;
} snapshot;

static void snapshot_free(snapshot *s) {
  for (size_t i = 0; i < s->n; i++) {
    if (s->v[i].d) lance__table__mem_wal_index_details_proto__free_unpacked(s->v[i].d, NULL);
    for (size_t k = 0; k < s->v[i].n_idx; k++) free(s->v[i].idx[k]);
    free(s->v[i].idx);
  }
  free(s->v);
  memset(s, 0, sizeof *s);
}

typedef struct vlist {
  uint64_t *v;
  size_t n, cap;
  bool oom;
} vlist;

static int on_version(void *arg, const char *key, uint64_t size) {
  (void)size;
  vlist *l = arg;
  uint64_t v;
  if (!mw_lance_version_from_key(&v, key)) return 0;
  if (l->n == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 16;
    uint64_t *nv = realloc(l->v, nc * sizeof *nv);
    if (!nv) {
      l->oom = true;
      return 1;
    }
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = v;
  return 0;
}

static bool url_is(const char *url, const char *name) {
  const char *dot = strrchr(url, '.');
  const char *slash = strrchr(url, '/');
  const char *last = dot && (!slash || dot > slash) ? dot + 1 : slash ? slash + 1 : url;
  return strcmp(last, name) == 0;
}

static bool has_name(char **v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0) return true;
  return false;
}

static mw_status add_name(vinfo *vi, const char *s, mw_error *err) {
  if (has_name(vi->idx, vi->n_idx, s)) return MW_OK;
  char **nv = realloc(vi->idx, (vi->n_idx + 1) * sizeof *nv);
  if (!nv) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  vi->idx = nv;
  if (!(nv[vi->n_idx] = strdup(s))) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  vi->n_idx++;
  return MW_OK;
}

/* Fills vi from table version v; *gone = true when the version was cleaned
 * up meanwhile. */
static mw_status load_version(vinfo *vi, bool *gone, mw_objstore *store, uint64_t v, mw_error *err) {
  *gone = false;
  vi->version = v;
  mw_lance_table_manifest *m = NULL;
  mw_status st = mw_lance_table_manifest_read(&m, store, v, err);
  if (st == MW_ERR_NOT_FOUND) {
    mw_err_clear(err);
    *gone = true;
    return MW_OK;
  }
  if (st != MW_OK) return mw_err_wrap(err, st, "reading table version %" PRIu64, v);
  const Lance__Table__IndexMetadataProto *x = mw_lance_table_find_index(m, MW_MEM_WAL_INDEX_NAME);
  if (x) {
    const ProtobufCBinaryData *b = x->index_details ? &x->index_details->value : NULL;
    vi->d = b ? lance__table__mem_wal_index_details_proto__unpack(NULL, b->len, b->data) : NULL;
    if (!vi->d)
      st = mw_err(err, MW_ERR_CORRUPT, "table version %" PRIu64 ": the %s details do not decode", v,
                  MW_MEM_WAL_INDEX_NAME);
  }
  for (size_t i = 0; st == MW_OK && vi->d && i < vi->d->n_maintained_indexes; i++)
    if (vi->d->maintained_indexes[i]) st = add_name(vi, vi->d->maintained_indexes[i], err);
  for (size_t i = 0; st == MW_OK && vi->d && m->index && i < m->index->n_indices; i++) {
    const Lance__Table__IndexMetadataProto *im = m->index->indices[i];
    if (!im || !im->name || strcmp(im->name, MW_MEM_WAL_INDEX_NAME) == 0) continue;
    const char *url = im->index_details && im->index_details->type_url ? im->index_details->type_url : "";
    /* an index of unknown kind counts (conservative); a BTree index only
     * when the MemWAL spec maintains it (then it is named above) */
    if (!url_is(url, "BTreeIndexDetails")) st = add_name(vi, im->name, err);
  }
  mw_lance_table_manifest_free(m);
  return st;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static mw_status load_snapshot(snapshot *s, mw_objstore *store, mw_error *err) {
  memset(s, 0, sizeof *s);
  MW_TRY(mw_lance_table_latest_version(&s->latest, store, err));
  vlist l = {0};
  mw_status st = mw_objstore_list(store, "_versions/", on_version, &l, err);
  if (st == MW_OK && l.oom) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (st != MW_OK) {
    free(l.v);
    return mw_err_wrap(err, st, "listing _versions/");
  }
  /* the latest is always part of the set (also if listed late) */
  if (on_version(&l, "_versions/0.manifest", 0), l.oom) {
    free(l.v);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  l.v[l.n - 1] = s->latest;
  qsort(l.v, l.n, sizeof *l.v, cmp_u64);
  s->v = calloc(l.n ? l.n : 1, sizeof *s->v);
  if (!s->v) {
    free(l.v);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; st == MW_OK && i < l.n; i++) {
    if (i && l.v[i] == l.v[i - 1]) continue;
    /* a version committed after we found the latest is read too: retained */
    bool gone = false;
    st = load_version(&s->v[s->n], &gone, store, l.v[i], err);
    if (st == MW_OK && gone && l.v[i] == s->latest)
      st = mw_err(err, MW_ERR_CONFLICT, "table version %" PRIu64 " vanished while gc read it", s->latest);
    if (gone) continue;
    s->n++;
  }
  free(l.v);
  if (st != MW_OK) snapshot_free(s);
  return st;
}

static uint64_t gen_of(Lance__Table__CompactedSsTableProto *const *list, size_t n, const uint8_t shard[16]) {
  uint64_t w = 0;
  for (size_t i = 0; i < n; i++) {
    const Lance__Table__CompactedSsTableProto *c = list[i];
    if (c && c->shard_id && c->shard_id->has_uuid && c->shard_id->uuid.len == 16 &&
        memcmp(c->shard_id->uuid.data, shard, 16) == 0 && c->generation > w)
      w = c->generation;
  }
  return w;
}

static uint64_t compacted(const Lance__Table__MemWalIndexDetailsProto *d, const uint8_t shard[16]) {
  return d ? gen_of(d->compacted_sstables, d->n_compacted_sstables, shard) : 0;
}

/* index_catchup[index][shard]; 0 when the index is not listed */
static uint64_t caught_up(const Lance__Table__MemWalIndexDetailsProto *d, const char *index, const uint8_t shard[16]) {
  uint64_t w = 0;
  for (size_t i = 0; i < d->n_index_catchup; i++) {
    const Lance__Table__IndexCatchupProgressProto *p = d->index_catchup[i];
    if (!p || !p->index_name || strcmp(p->index_name, index) != 0) continue;
    uint64_t x = gen_of(p->caught_up_generations, p->n_caught_up_generations, shard);
    if (x > w) w = x;
  }
  return w;
}

/* Whether generation g of shard may go by snapshot s; reason (when kept)
 * written to why. */
static bool gen_removable(const snapshot *s, const uint8_t shard[16], uint64_t g, char *why, size_t cap) {
  why[0] = 0;
  /* the latest version first: its reasons are the interesting ones */
  const vinfo *lv = NULL;
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].version == s->latest) lv = &s->v[i];
  if (!lv || !lv->d) {
    snprintf(why, cap, "the latest table version has no MemWAL index");
    return false;
  }
  uint64_t c = compacted(lv->d, shard);
  if (c < g) {
    snprintf(why, cap, "not merged (watermark %" PRIu64 ")", c);
    return false;
  }
  for (size_t k = 0; k < lv->n_idx; k++) {
    uint64_t w = caught_up(lv->d, lv->idx[k], shard);
    if (w < g) {
      snprintf(why, cap, "index %s has not caught up (watermark %" PRIu64 ")", lv->idx[k], w);
      return false;
    }
  }
  for (size_t i = 0; i < s->n; i++) {
    const vinfo *v = &s->v[i];
    if (v == lv || !v->d) continue;
    uint64_t w = compacted(v->d, shard);
    for (size_t k = 0; k < v->n_idx; k++) {
      uint64_t x = caught_up(v->d, v->idx[k], shard);
      if (x < w) w = x;
    }
    if (w < g) {
      snprintf(why, cap, "base version %" PRIu64 " still reads it (watermark %" PRIu64 ")", v->version, w);
      return false;
    }
  }
  return true;
}

/* ------------------------------------------------------------- listing */

typedef struct keylist {
  char **k;
  uint64_t *size;
  size_t n, cap;
  bool oom;
} keylist;

static int on_key(void *arg, const char *key, uint64_t size) {
  keylist *l = arg;
  if (l->n == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 16;
    char **nk = realloc(l->k, nc * sizeof *nk);
    if (nk) l->k = nk;
    uint64_t *ns = nk ? realloc(l->size, nc * sizeof *ns) : NULL;
    if (!nk || !ns) {
      l->oom = true;
      return 1;
    }
    l->size = ns;
    l->cap = nc;
  }
  if (!(l->k[l->n] = strdup(key))) {
    l->oom = true;
    return 1;
  }
  l->size[l->n++] = size;
  return 0;
}

static void keylist_free(keylist *l) {
  for (size_t i = 0; i < l->n; i++) free(l->k[i]);
  free(l->k);
  free(l->size);
  memset(l, 0, sizeof *l);
}

static mw_status list_keys(keylist *l, mw_objstore *store, const char *prefix, mw_error *err) {
  memset(l, 0, sizeof *l);
  mw_status st = mw_objstore_list(store, prefix, on_key, l, err);
  if (st == MW_OK && l->oom) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (st != MW_OK) {
    keylist_free(l);
    return mw_err_wrap(err, st, "listing %s", prefix);
  }
  return MW_OK;
}

/* ------------------------------------------------------------- state */

typedef struct cand {
  uint8_t shard[16];
  char shard_str[37];
  uint64_t generation;
  char *path; /* "_mem_wal/<shard>/<folder>" */
} cand;

/* Temp files younger than this are left alone (see TEMP FILES above). */
#define MW_GC_TEMP_MIN_AGE_S 3600.0

typedef struct gc_run {
  mw_objstore *store;
  mw_table_gc_options o;
  uint64_t gens_removed, wal_removed, wal_replaced, bytes, temps_removed, temp_bytes;
  mw_buf kept;
  cand *c;
  size_t nc;
} gc_run;

static void report(gc_run *r, const char *action, const char *path, const char *reason) {
  if (!r->o.report) return;
  mw_table_gc_item it = {.action = action, .path = path, .reason = reason};
  r->o.report(r->o.report_ctx, &it);
}

static void report_temp(void *arg, const char *path, uint64_t size, double age_s) {
  char why[160];
  snprintf(why, sizeof why, "temp file of an interrupted write, %" PRIu64 " bytes, %.0f s old", size, age_s);
  report(arg, "remove", path, why);
}

static void json_str(mw_buf *b, const char *s) {
  mw_buf_u8(b, '"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      mw_buf_u8(b, '\\');
      mw_buf_u8(b, ch);
    } else if (ch < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", ch);
      mw_buf_append(b, e, 6);
    } else {
      mw_buf_u8(b, ch);
    }
  }
  mw_buf_u8(b, '"');
}

static void kept_add(gc_run *r, const char *shard, uint64_t g, const char *why) {
  char head[96];
  int n = snprintf(head, sizeof head, "%s{\"shard\":\"%s\",\"generation\":%" PRIu64 ",\"reason\":", r->kept.len ? "," : "",
                   shard, g);
  mw_buf_append(&r->kept, head, (size_t)n);
  json_str(&r->kept, why);
  mw_buf_u8(&r->kept, '}');
}

static int gen_cmp(const void *a, const void *b) {
  const mw_flushed_generation *x = *(const mw_flushed_generation *const *)a, *y = *(const mw_flushed_generation *const *)b;
  return x->generation < y->generation ? -1 : x->generation > y->generation;
}

/* Decides the generations of one shard against snapshot s: candidates go
 * to r->c, kept ones are reported. */
static mw_status shard_generations(gc_run *r, const snapshot *s, const uint8_t shard[16], const char *shard_str,
                                   const mw_shard_manifest *sm, mw_error *err) {
  size_t ng = sm->n_flushed_generations;
  if (!ng) return MW_OK;
  mw_flushed_generation **gens = malloc(ng * sizeof *gens);
  if (!gens) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  memcpy(gens, sm->flushed_generations, ng * sizeof *gens);
  qsort(gens, ng, sizeof *gens, gen_cmp);
  mw_status st = MW_OK;
  for (size_t i = 0; st == MW_OK && i < ng; i++) {
    const mw_flushed_generation *g = gens[i];
    if (!g) continue;
    char path[512];
    if (!g->path || !g->path[0] || strchr(g->path, '/') || strstr(g->path, "..") || strlen(g->path) > 200) {
      snprintf(path, sizeof path, "_mem_wal/%s/(generation %" PRIu64 ")", shard_str, g->generation);
      report(r, "keep", path, "bad folder name in the shard manifest");
      kept_add(r, shard_str, g->generation, "bad folder name in the shard manifest");
      continue;
    }
    snprintf(path, sizeof path, "_mem_wal/%s/%s", shard_str, g->path);
    char prefix[520];
    snprintf(prefix, sizeof prefix, "%s/", path);
    keylist kl;
    st = list_keys(&kl, r->store, prefix, err);
    if (st != MW_OK) break;
    size_t nfiles = kl.n;
    keylist_free(&kl);
    if (nfiles == 0) continue; /* removed before */
    char why[256];
    if (!gen_removable(s, shard, g->generation, why, sizeof why)) {
      report(r, "keep", path, why);
      kept_add(r, shard_str, g->generation, why);
      continue;
    }
    cand *nc = realloc(r->c, (r->nc + 1) * sizeof *nc);
    if (!nc) {
      st = mw_err(err, MW_ERR_NOMEM, "out of memory");
      break;
    }
    r->c = nc;
    cand *c = &nc[r->nc];
    memcpy(c->shard, shard, 16);
    memcpy(c->shard_str, shard_str, 37);
    c->generation = g->generation;
    if (!(c->path = strdup(path))) {
      st = mw_err(err, MW_ERR_NOMEM, "out of memory");
      break;
    }
    r->nc++;
  }
  free(gens);
  return st;
}

/* Deletes one generation folder: manifests first, then the rest. */
static mw_status remove_folder(gc_run *r, const cand *c, const char *why, mw_error *err) {
  char prefix[520];
  snprintf(prefix, sizeof prefix, "%s/", c->path);
  keylist kl;
  MW_TRY(list_keys(&kl, r->store, prefix, err));
  uint64_t bytes = 0;
  for (size_t i = 0; i < kl.n; i++) bytes += kl.size[i];
  report(r, "remove", c->path, why);
  mw_status st = MW_OK;
  if (!r->o.dry_run) {
    size_t plen = strlen(prefix);
    for (int pass = 0; st == MW_OK && pass < 2; pass++)
      for (size_t i = 0; st == MW_OK && i < kl.n; i++) {
        bool is_manifest = strncmp(kl.k[i] + plen, "_versions/", 10) == 0;
        if (is_manifest != (pass == 0)) continue;
        st = mw_objstore_delete(r->store, kl.k[i], err);
        if (st != MW_OK) mw_err_wrap(err, st, "deleting %s", kl.k[i]);
      }
  }
  keylist_free(&kl);
  if (st == MW_OK) {
    r->gens_removed++;
    r->bytes += bytes;
  }
  return st;
}

/* ------------------------------------------------------------------ WAL */

static mw_status placeholder(void **out, size_t *len, uint64_t epoch, mw_error *err) {
  char es[32];
  snprintf(es, sizeof es, "%" PRIu64, epoch);
  bool ok = true;
  char *m1 = mw_metadata_with(NULL, "writer_epoch", es, &ok);
  char *m2 = ok ? mw_metadata_with(m1, "fence_sentinel", "true", &ok) : NULL;
  char *m3 = ok ? mw_metadata_with(m2, "memwal_gc_placeholder", "true", &ok) : NULL;
  free(m1);
  free(m2);
  if (!ok) {
    free(m3);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  struct ArrowSchema empty;
  mw_status st = mw_schema_init(&empty, "+s", "", NULL, 0, 0, err);
  if (st == MW_OK) {
    st = mw_ipc_encode(out, len, &empty, NULL, 0, m3, err);
    empty.release(&empty);
  }
  free(m3);
  return st;
}

static int cmp_pos(const void *a, const void *b) { return cmp_u64(a, b); }

/* Epochs beyond the latest manifest's that an entry may carry and still be
 * taken into account (a claim racing the gc); more = hostile: no deletes. */
#define MAX_EPOCH_AHEAD 1024
/* A shard with more epochs than this keeps its WAL (bounded memory). */
#define MAX_EPOCHS (1u << 20)

static mw_status shard_wal(gc_run *r, const char *shard_str, mw_manifest_store *ms, const mw_shard_manifest *sm,
                           mw_error *err) {
  uint64_t R = sm->replay_after_wal_entry_position;
  if (R == 0 || sm->writer_epoch > MAX_EPOCHS) return MW_OK;
  char prefix[MW_KEY_SIZE];
  mw_wal_dir_prefix(prefix, shard_str);
  keylist kl;
  MW_TRY(list_keys(&kl, r->store, prefix, err));
  size_t plen = strlen(prefix);
  /* (position, size) pairs, sorted by position */
  uint64_t *pair = malloc((kl.n ? kl.n : 1) * 2 * sizeof *pair);
  size_t np = 0;
  mw_status st = MW_OK;
  if (!pair) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  for (size_t i = 0; st == MW_OK && i < kl.n; i++) {
    uint64_t p;
    const char *name = kl.k[i] + plen;
    size_t nl = strlen(name);
    if (strchr(name, '/') || nl < 6 || strcmp(name + nl - 6, ".arrow") != 0 || !mw_bitrev64_parse(&p, name)) continue;
    pair[2 * np] = p;
    pair[2 * np + 1] = kl.size[i];
    np++;
  }
  keylist_free(&kl);
  if (st != MW_OK || np < 2) {
    free(pair);
    return st;
  }
  qsort(pair, np, 2 * sizeof *pair, cmp_pos);
  uint64_t newest = pair[2 * (np - 1)];

  /* per epoch e (1..ne-1): rr[e] = replay cursor of its first manifest
   * (UINT64_MAX: not seen), pp[e] = highest position + 1 of its entries
   * read, lo[e] = lowest position of its entries read (UINT64_MAX none) */
  bool sure = true; /* false: delete nothing (history or an entry unreadable) */
  uint64_t ne = sm->writer_epoch + MAX_EPOCH_AHEAD + 1;
  uint64_t *rr = malloc(ne * sizeof *rr), *pp = calloc(ne, sizeof *pp), *lo = malloc(ne * sizeof *lo);
  uint64_t *ep = calloc(np, sizeof *ep);
  uint8_t *has_data = calloc(np, 1), *ok = calloc(np, 1);
  if (!rr || !pp || !lo || !ep || !has_data || !ok) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  for (uint64_t e = 0; st == MW_OK && e < ne; e++) rr[e] = lo[e] = UINT64_MAX;
  for (uint64_t v = 1; st == MW_OK && sure && v <= sm->version; v++) {
    mw_shard_manifest *hv = NULL;
    mw_error e2 = {0};
    if (mw_manifest_store_read_version(&hv, ms, v, &e2) != MW_OK || !hv) {
      sure = false;
      break;
    }
    uint64_t e = hv->writer_epoch;
    if (e < ne && hv->replay_after_wal_entry_position < rr[e]) rr[e] = hv->replay_after_wal_entry_position;
    mw_shard_manifest_free(hv);
  }
  /* the entries at or below R but the newest: epochs, batches */
  for (size_t i = 0; st == MW_OK && i < np; i++) {
    uint64_t p = pair[2 * i];
    if (p > R || p == newest) continue;
    char key[MW_KEY_SIZE];
    mw_wal_entry_key(key, shard_str, p);
    uint8_t *data = NULL;
    size_t len = 0;
    mw_error e2 = {0};
    mw_status gs = mw_objstore_get(r->store, &data, &len, key, 0, MW_OBJSTORE_TO_END, &e2);
    if (gs == MW_ERR_NOT_FOUND) continue;
    if (gs != MW_OK) {
      st = mw_err(err, gs, "reading %s: %s", key, e2.message);
      break;
    }
    mw_wal_entry ent;
    memset(&ent, 0, sizeof ent);
    mw_status ds = mw_wal_decode_entry(&ent, data, len, p, key, &e2);
    mw_free(data);
    if (ds != MW_OK) {
      sure = false; /* its epoch is unknown: it stays, and nothing goes */
      continue;
    }
    ok[i] = 1;
    ep[i] = ent.writer_epoch;
    has_data[i] = ent.n_batches > 0;
    mw_wal_entry_release(&ent);
    if (ep[i] >= ne) {
      sure = false;
      ok[i] = 0;
      continue;
    }
    if (p + 1 > pp[ep[i]]) pp[ep[i]] = p + 1;
    if (p < lo[ep[i]]) lo[ep[i]] = p;
  }
  /* the protected interval of epoch e: [L_e, U_e], L_e = max(rr, pp),
   * U_e = lowest position of an entry of a later epoch (a stale writer of
   * epoch e collides at one position in there and stops for good) */
  uint64_t *L = NULL, *U = NULL;
  uint64_t top = 0; /* highest epoch with a manifest or an entry */
  if (st == MW_OK && sure) {
    L = malloc(ne * sizeof *L);
    U = malloc(ne * sizeof *U);
    if (!L || !U) st = mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  if (st == MW_OK && sure) {
    for (uint64_t e = 1; e < ne; e++)
      if (rr[e] != UINT64_MAX || lo[e] != UINT64_MAX) top = e;
    uint64_t later = UINT64_MAX;
    for (uint64_t e = top + 1; e-- > 1;) {
      U[e] = later;
      if (lo[e] < later) later = lo[e];
      /* an epoch whose first manifest we did not see (claimed after our
       * read): it started past R */
      uint64_t base = rr[e] != UINT64_MAX ? rr[e] : e > sm->writer_epoch ? R : 0;
      L[e] = base > pp[e] ? base : pp[e];
    }
  }
  for (size_t i = 0; st == MW_OK && i < np; i++) {
    uint64_t p = pair[2 * i], size = pair[2 * i + 1];
    if (!ok[i] || p > R || p == newest) continue;
    bool prot = !sure;
    uint64_t by = 0;
    for (uint64_t e = 1; !prot && e <= top; e++)
      if (L[e] <= p && p <= U[e]) {
        prot = true;
        by = e;
      }
    char key[MW_KEY_SIZE], why[320];
    mw_wal_entry_key(key, shard_str, p);
    if (!prot) {
      snprintf(why, sizeof why,
               "data in a flushed generation (replay cursor %" PRIu64 ") and no writer epoch can append at %" PRIu64
               " any more",
               R, p);
      report(r, "remove", key, why);
      if (!r->o.dry_run) {
        st = mw_objstore_delete(r->store, key, err);
        if (st != MW_OK) {
          mw_err_wrap(err, st, "deleting %s", key);
          break;
        }
      }
      r->wal_removed++;
      r->bytes += size;
    } else if (has_data[i]) {
      void *ph = NULL;
      size_t phl = 0;
      st = placeholder(&ph, &phl, ep[i], err);
      if (st != MW_OK) break;
      if (sure)
        snprintf(why, sizeof why,
                 "data in a flushed generation (replay cursor %" PRIu64 "); a placeholder keeps the position taken: "
                 "a stale writer of epoch %" PRIu64 " may still append here and must collide",
                 R, by);
      else
        snprintf(why, sizeof why,
                 "data in a flushed generation (replay cursor %" PRIu64 "); a placeholder keeps the position taken "
                 "(the shard's epoch history is incomplete: no WAL entry is deleted)",
                 R);
      report(r, "replace", key, why);
      if (!r->o.dry_run) {
        st = mw_objstore_put(r->store, key, ph, phl, err);
        if (st != MW_OK) mw_err_wrap(err, st, "replacing %s", key);
      }
      free(ph);
      if (st != MW_OK) break;
      r->wal_replaced++;
      if (size > phl) r->bytes += size - phl;
    }
  }
  free(L);
  free(U);
  free(rr);
  free(pp);
  free(lo);
  free(ep);
  free(has_data);
  free(ok);
  free(pair);
  return st;
}

/* ------------------------------------------------------------------ API */

mw_status mw_table_gc(char **out_json, mw_objstore *store, const mw_table_gc_options *opts, mw_error *err) {
  if (out_json) *out_json = NULL;
  if (!store) return mw_err(err, MW_ERR_INVALID, "mw_table_gc: store is required");
  gc_run r;
  memset(&r, 0, sizeof r);
  r.store = store;
  mw_table_gc_options_init(&r.o);
  if (opts) {
    if (opts->struct_size != sizeof r.o)
      return mw_err(err, MW_ERR_INVALID, "gc options: struct_size %" PRIu32 " is not a known version", opts->struct_size);
    memcpy(&r.o, opts, sizeof r.o);
  }
  uint8_t only[16] = {0};
  if (r.o.shard) MW_TRY(mw_uuid_parse(only, r.o.shard, err));
  mw_table *t = NULL;
  MW_TRY(mw_table_open(&t, store, err));
  mw_status st = MW_OK;
  if (!t->mem_wal) st = mw_err(err, MW_ERR_INVALID, "the table has no MemWAL spec (%s index): nothing to collect", MW_MEM_WAL_INDEX_NAME);
  size_t n_shards = 0;
  uint8_t(*shards)[16] = NULL;
  if (st == MW_OK) st = mw_table_shard_ids(&shards, &n_shards, t, r.o.shard, only, err);
  mw_table_close(t);
  mw_buf_init(&r.kept);
  snapshot s1 = {0}, s2 = {0};
  if (st == MW_OK) st = load_snapshot(&s1, store, err);

  /* 1. decide, per shard; WAL entries are settled right away (their rule
   *    does not depend on the table) */
  for (size_t si = 0; st == MW_OK && si < n_shards; si++) {
    if (r.o.shard && memcmp(shards[si], only, 16) != 0) continue;
    char ss[37];
    mw_uuid_format(ss, shards[si]);
    mw_manifest_store *ms = NULL;
    mw_shard_manifest *sm = NULL;
    st = mw_manifest_store_open(&ms, store, shards[si], 0, err);
    if (st == MW_OK) st = mw_manifest_store_read_latest(&sm, ms, err);
    if (st == MW_OK && sm) {
      st = shard_generations(&r, &s1, shards[si], ss, sm, err);
      if (st == MW_OK && !r.o.skip_wal) st = shard_wal(&r, ss, ms, sm, err);
    }
    if (st != MW_OK) mw_err_wrap(err, st, "shard %s", ss);
    mw_shard_manifest_free(sm);
    mw_manifest_store_close(ms);
  }
  /* 2. read the table again; remove what both reads allow */
  if (st == MW_OK && r.nc) st = load_snapshot(&s2, store, err);
  for (size_t i = 0; st == MW_OK && i < r.nc; i++) {
    char why[256];
    if (!gen_removable(&s2, r.c[i].shard, r.c[i].generation, why, sizeof why)) {
      report(&r, "keep", r.c[i].path, why);
      kept_add(&r, r.c[i].shard_str, r.c[i].generation, why);
      continue;
    }
    char reason[320];
    snprintf(reason, sizeof reason,
             "merged (generation %" PRIu64 " <= the watermark of every retained base version, every index caught up)",
             r.c[i].generation);
    st = remove_folder(&r, &r.c[i], reason, err);
    if (st != MW_OK) mw_err_wrap(err, st, "removing %s", r.c[i].path);
  }
  /* 3. temp files of interrupted writes */
  if (st == MW_OK) {
    char tp[64] = "", ss[37];
    if (r.o.shard) {
      mw_uuid_format(ss, only); /* the folder's spelling, whatever case was given */
      snprintf(tp, sizeof tp, "_mem_wal/%s/", ss);
    }
    st = mw_objstore_sweep_temp(store, tp, MW_GC_TEMP_MIN_AGE_S, r.o.dry_run != 0, report_temp, &r,
                                &r.temps_removed, &r.temp_bytes, err);
    if (st != MW_OK) mw_err_wrap(err, st, "removing temp files");
  }
  if (st == MW_OK && out_json) {
    mw_buf j;
    mw_buf_init(&j);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "{\"dry_run\":%s,\"table_version\":%" PRIu64 ",\"generations_removed\":%" PRIu64
                     ",\"wal_entries_removed\":%" PRIu64 ",\"wal_entries_replaced\":%" PRIu64 ",\"bytes_freed\":%" PRIu64
                     ",\"temp_files_removed\":%" PRIu64 ",\"temp_bytes_freed\":%" PRIu64 ",\"kept\":[",
                     r.o.dry_run ? "true" : "false", r.nc ? s2.latest : s1.latest, r.gens_removed, r.wal_removed,
                     r.wal_replaced, r.bytes, r.temps_removed, r.temp_bytes);
    mw_buf_append(&j, head, (size_t)n);
    mw_buf_append(&j, r.kept.data, r.kept.len);
    mw_buf_append(&j, "]}", 3);
    if (!mw_buf_ok(&j) || !mw_buf_ok(&r.kept)) {
      mw_buf_free(&j);
      st = mw_err(err, MW_ERR_NOMEM, "out of memory");
    } else {
      size_t len;
      *out_json = (char *)mw_buf_take(&j, &len);
    }
  }
  for (size_t i = 0; i < r.nc; i++) free(r.c[i].path);
  free(r.c);
  mw_buf_free(&r.kept);
  snapshot_free(&s1);
  snapshot_free(&s2);
  free(shards);
  return st;
}
