/*
 * merge_read.c - reading what a merge needs (merge.h): deletion vectors in
 * both of Lance's deletion-file formats, the raw fragments of a manifest,
 * and the primary keys of a data file.
 *
 * Design: manifests are parsed from their protobuf bytes with the bounded
 * reader of pb.h rather than through generated structs, because the merger
 * rewrites fragments by copying their bytes and replacing only field 3
 * (deletion_file): every fragment field we do not know survives. Keys are
 * read with the Lance file reader in chunks of KEY_CHUNK rows (only the key
 * columns and `_tombstone` are fetched) and encoded with mw_pk_encode, the
 * same memcomparable encoding the generation writer uses, so a key read
 * from a base file and from a generation compare byte for byte whatever
 * the width of the stored integer type.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "common/error.h"
#include "lance/lance_read.h"
#include "lance/pb.h"
#include "lance/pk_index.h"
#include "lance/table_manifest.h"
#include "table/merge.h"

#define KEY_CHUNK 65536
#define ROARING_NO_RUN 12346u
#define ROARING_RUN 12347u

/* ------------------------------------------------------------- row sets */

void mw_rowset_free(mw_rowset *s) {
  if (!s) return;
  free(s->v);
  memset(s, 0, sizeof *s);
}

mw_status mw_rowset_add(mw_rowset *s, uint32_t v, mw_error *err) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint32_t *nv = realloc(s->v, cap * sizeof *nv);
    if (!nv) return mw_err(err, MW_ERR_NOMEM, "out of memory (deletion vector of %zu rows)", s->n);
    s->v = nv;
    s->cap = cap;
  }
  s->v[s->n++] = v;
  return MW_OK;
}

mw_status mw_rowset_add_all(mw_rowset *s, const mw_rowset *o, mw_error *err) {
  for (size_t i = 0; i < o->n; i++) MW_TRY(mw_rowset_add(s, o->v[i], err));
  return MW_OK;
}

static int u32_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

void mw_rowset_normalize(mw_rowset *s) {
  if (s->n < 2) return;
  qsort(s->v, s->n, sizeof *s->v, u32_cmp);
  size_t w = 1;
  for (size_t i = 1; i < s->n; i++)
    if (s->v[i] != s->v[w - 1]) s->v[w++] = s->v[i];
  s->n = w;
}

bool mw_rowset_has(const mw_rowset *s, uint32_t v) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->v[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < s->n && s->v[lo] == v;
}

/* -------------------------------------------------------------- roaring */

mw_status mw_roaring_decode(mw_rowset *out, const uint8_t *d, size_t len, uint64_t limit, const char *name,
                            mw_error *err) {
  memset(out, 0, sizeof *out);
  if (!name) name = "roaring bitmap";
  if (len < 4) return mw_err(err, MW_ERR_CORRUPT, "%s: %zu bytes, too short for a roaring cookie", name, len);
  uint32_t cookie = mw_load_u32le(d);
  size_t pos, size;
  const uint8_t *runs = NULL;
  if ((cookie & 0xffffu) == ROARING_RUN) {
    size = (size_t)(cookie >> 16) + 1;
    pos = 4;
    size_t rb = (size + 7) / 8;
    if (len - pos < rb) return mw_err(err, MW_ERR_CORRUPT, "%s: run bitmap past the end at byte 4", name);
    runs = d + pos;
    pos += rb;
  } else if (cookie == ROARING_NO_RUN) {
    if (len < 8) return mw_err(err, MW_ERR_CORRUPT, "%s: truncated container count at byte 4", name);
    uint32_t sz = mw_load_u32le(d + 4);
    if (sz > 65536) return mw_err(err, MW_ERR_CORRUPT, "%s: %" PRIu32 " containers at byte 4 (at most 65536)", name, sz);
    size = sz;
    pos = 8;
  } else {
    return mw_err(err, MW_ERR_CORRUPT, "%s: bad roaring cookie %" PRIu32 " at byte 0 (want 12346 or 12347)", name, cookie);
  }
  if ((len - pos) / 4 < size) return mw_err(err, MW_ERR_CORRUPT, "%s: container headers past the end at byte %zu", name, pos);
  const uint8_t *hdr = d + pos;
  pos += 4 * size;
  if (!runs || size >= 4) { /* offset header, not needed: containers are read in order */
    if ((len - pos) / 4 < size) return mw_err(err, MW_ERR_CORRUPT, "%s: offset header past the end at byte %zu", name, pos);
    pos += 4 * size;
  }
  int64_t prev_key = -1;
  mw_status st = MW_OK;
  for (size_t c = 0; c < size && st == MW_OK; c++) {
    uint32_t key = mw_load_u16le(hdr + 4 * c);
    uint32_t card = (uint32_t)mw_load_u16le(hdr + 4 * c + 2) + 1;
    if ((int64_t)key <= prev_key) {
      st = mw_err(err, MW_ERR_CORRUPT, "%s: container keys not ascending at container %zu", name, c);
      break;
    }
    prev_key = key;
    uint64_t base = (uint64_t)key << 16;
    size_t start_pos = pos;
    size_t before = out->n;
    if (runs && (runs[c / 8] >> (c % 8)) & 1) {
      if (len - pos < 2) { st = mw_err(err, MW_ERR_CORRUPT, "%s: run container %zu truncated at byte %zu", name, c, pos); break; }
      size_t nr = mw_load_u16le(d + pos);
      pos += 2;
      if ((len - pos) / 4 < nr) { st = mw_err(err, MW_ERR_CORRUPT, "%s: run container %zu past the end at byte %zu", name, c, pos); break; }
      int64_t last = -1;
      for (size_t r = 0; r < nr && st == MW_OK; r++) {
        uint32_t s0 = mw_load_u16le(d + pos + 4 * r), l = (uint32_t)mw_load_u16le(d + pos + 4 * r + 2) + 1;
        if ((int64_t)s0 <= last || s0 + l > 65536)
          st = mw_err(err, MW_ERR_CORRUPT, "%s: bad run %zu of container %zu at byte %zu", name, r, c, pos + 4 * r);
        else if (base + s0 + l > limit)
          st = mw_err(err, MW_ERR_CORRUPT, "%s: row %" PRIu64 " at byte %zu is not below %" PRIu64, name,
                      base + s0 + l - 1, pos + 4 * r, limit);
        for (uint32_t i = 0; i < l && st == MW_OK; i++) st = mw_rowset_add(out, (uint32_t)(base + s0 + i), err);
        last = (int64_t)s0 + l - 1;
      }
      pos += 4 * nr;
    } else if (card <= 4096) {
      if ((len - pos) / 2 < card) { st = mw_err(err, MW_ERR_CORRUPT, "%s: array container %zu past the end at byte %zu", name, c, pos); break; }
      int64_t last = -1;
      for (uint32_t i = 0; i < card && st == MW_OK; i++) {
        uint32_t lo = mw_load_u16le(d + pos + 2 * i);
        if ((int64_t)lo <= last) st = mw_err(err, MW_ERR_CORRUPT, "%s: array container %zu not ascending at byte %zu", name, c, pos + 2 * i);
        else if (base + lo >= limit)
          st = mw_err(err, MW_ERR_CORRUPT, "%s: row %" PRIu64 " at byte %zu is not below %" PRIu64, name, base + lo, pos + 2 * i, limit);
        else st = mw_rowset_add(out, (uint32_t)(base + lo), err);
        last = lo;
      }
      pos += 2 * (size_t)card;
    } else {
      if (len - pos < 8192) { st = mw_err(err, MW_ERR_CORRUPT, "%s: bitmap container %zu past the end at byte %zu", name, c, pos); break; }
      for (uint32_t i = 0; i < 65536 && st == MW_OK; i++) {
        if (!((d[pos + i / 8] >> (i % 8)) & 1)) continue;
        if (base + i >= limit)
          st = mw_err(err, MW_ERR_CORRUPT, "%s: row %" PRIu64 " at byte %zu is not below %" PRIu64, name, base + i, pos + i / 8, limit);
        else st = mw_rowset_add(out, (uint32_t)(base + i), err);
      }
      if (st == MW_OK && out->n - before != card)
        st = mw_err(err, MW_ERR_CORRUPT, "%s: bitmap container %zu at byte %zu holds %zu values, header says %" PRIu32,
                    name, c, start_pos, out->n - before, card);
      pos += 8192;
    }
    if (st == MW_OK && !(runs && (runs[c / 8] >> (c % 8)) & 1) && out->n - before != card)
      st = mw_err(err, MW_ERR_CORRUPT, "%s: container %zu at byte %zu holds %zu values, header says %" PRIu32, name, c,
                  start_pos, out->n - before, card);
  }
  if (st != MW_OK) {
    mw_rowset_free(out);
    return st;
  }
  return MW_OK; /* containers ascending and values ascending within: sorted, unique */
}

mw_status mw_roaring_encode(uint8_t **out, size_t *out_len, const mw_rowset *s, mw_error *err) {
  *out = NULL;
  *out_len = 0;
  /* containers: runs of equal high 16 bits */
  size_t nc = 0;
  for (size_t i = 0; i < s->n; i++)
    if (i == 0 || (s->v[i] >> 16) != (s->v[i - 1] >> 16)) nc++;
  mw_buf b;
  mw_buf_init(&b);
  mw_buf_u32le(&b, ROARING_NO_RUN);
  mw_buf_u32le(&b, (uint32_t)nc);
  size_t *start = calloc(nc + 1, sizeof *start);
  if (!start) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  size_t c = 0;
  for (size_t i = 0; i < s->n; i++)
    if (i == 0 || (s->v[i] >> 16) != (s->v[i - 1] >> 16)) start[c++] = i;
  start[nc] = s->n;
  for (c = 0; c < nc; c++) {
    uint8_t h[4];
    mw_store_u16le(h, (uint16_t)(s->v[start[c]] >> 16));
    mw_store_u16le(h + 2, (uint16_t)(start[c + 1] - start[c] - 1));
    mw_buf_append(&b, h, 4);
  }
  size_t off = b.len + 4 * nc;
  for (c = 0; c < nc; c++) {
    size_t card = start[c + 1] - start[c];
    mw_buf_u32le(&b, (uint32_t)off);
    off += card <= 4096 ? 2 * card : 8192;
  }
  for (c = 0; c < nc; c++) {
    size_t card = start[c + 1] - start[c];
    if (card <= 4096) {
      for (size_t i = start[c]; i < start[c + 1]; i++) {
        uint8_t v[2];
        mw_store_u16le(v, (uint16_t)s->v[i]);
        mw_buf_append(&b, v, 2);
      }
    } else {
      uint8_t *bm = calloc(1, 8192);
      if (!bm) {
        free(start);
        mw_buf_free(&b);
        return mw_err(err, MW_ERR_NOMEM, "out of memory");
      }
      for (size_t i = start[c]; i < start[c + 1]; i++) {
        uint32_t lo = s->v[i] & 0xffffu;
        bm[lo / 8] |= (uint8_t)(1u << (lo % 8));
      }
      mw_buf_append(&b, bm, 8192);
      free(bm);
    }
  }
  free(start);
  if (!mw_buf_ok(&b)) {
    mw_buf_free(&b);
    return mw_err(err, MW_ERR_NOMEM, "out of memory encoding a roaring bitmap");
  }
  *out = mw_buf_take(&b, out_len);
  return MW_OK;
}

/* --------------------------------------------------- arrow deletion file */

mw_status mw_deletion_arrow_decode(mw_rowset *out, const uint8_t *d, size_t len, uint64_t limit, const char *name,
                                   mw_error *err) {
  memset(out, 0, sizeof *out);
  if (!name) name = "deletion file";
  const uint8_t *body = d;
  size_t blen = len;
  if (len >= 6 && memcmp(d, "ARROW1", 6) == 0) { /* IPC file: magic, pad, stream, footer, u32 size, magic */
    if (len < 8 + 10 || memcmp(d + len - 6, "ARROW1", 6) != 0)
      return mw_err(err, MW_ERR_CORRUPT, "%s: Arrow IPC file without its trailing magic (%zu bytes)", name, len);
    uint32_t fl = mw_load_u32le(d + len - 10);
    if (fl > len - 18) return mw_err(err, MW_ERR_CORRUPT, "%s: footer of %" PRIu32 " bytes at byte %zu does not fit", name, fl, len - 10);
    /* the stream starts after the magic's padding: 2 bytes in the
     * format spec, up to 64 with arrow-rs's alignment (zero words) */
    size_t start = 8, end = len - 10 - fl;
    while (start + 8 <= end && mw_load_u64le(d + start) == 0) start += 8;
    if (start > end) return mw_err(err, MW_ERR_CORRUPT, "%s: no stream before the footer", name);
    body = d + start;
    blen = end - start;
  }
  struct ArrowSchema schema;
  struct ArrowArray *batches = NULL;
  size_t nb = 0;
  mw_error e = {0};
  mw_status st = mw_ipc_decode(&schema, &batches, &nb, body, blen, &e);
  if (st != MW_OK) return mw_err(err, st == MW_ERR_NOMEM ? st : MW_ERR_CORRUPT, "%s: %s", name, e.message);
  mw_type ty = {0};
  if (schema.n_children != 1 || mw_type_from_format(&ty, schema.children[0]->format, NULL) != MW_OK ||
      !(ty.id == MW_T_INT32 || ty.id == MW_T_UINT32 || ty.id == MW_T_INT64 || ty.id == MW_T_UINT64))
    st = mw_err(err, MW_ERR_CORRUPT, "%s: want one integer column of row offsets", name);
  for (size_t b = 0; b < nb && st == MW_OK; b++) {
    const struct ArrowArray *a = batches[b].children[0];
    if (a->null_count != 0) {
      st = mw_err(err, MW_ERR_CORRUPT, "%s: null row offsets", name);
      break;
    }
    int64_t base = batches[b].offset + a->offset;
    for (int64_t i = 0; i < batches[b].length && st == MW_OK; i++) {
      uint64_t v;
      if (ty.id == MW_T_INT32) {
        int32_t x = ((const int32_t *)a->buffers[1])[base + i];
        v = x < 0 ? UINT64_MAX : (uint64_t)x;
      } else if (ty.id == MW_T_UINT32) {
        v = ((const uint32_t *)a->buffers[1])[base + i];
      } else if (ty.id == MW_T_INT64) {
        int64_t x = ((const int64_t *)a->buffers[1])[base + i];
        v = x < 0 ? UINT64_MAX : (uint64_t)x;
      } else {
        v = ((const uint64_t *)a->buffers[1])[base + i];
      }
      if (v >= limit) st = mw_err(err, MW_ERR_CORRUPT, "%s: row offset %" PRIu64 " is not below %" PRIu64, name, v, limit);
      else st = mw_rowset_add(out, (uint32_t)v, err);
    }
  }
  for (size_t b = 0; b < nb; b++) mw_array_release(&batches[b]);
  mw_free(batches);
  mw_schema_release(&schema);
  if (st != MW_OK) {
    mw_rowset_free(out);
    return st;
  }
  mw_rowset_normalize(out);
  return MW_OK;
}

/* ------------------------------------------------------------- manifest */

void mw_merge_manifest_free(mw_merge_manifest *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n_frags; i++) {
    mw_merge_fragment *f = &m->frags[i];
    for (size_t j = 0; j < f->n_files; j++) {
      free(f->files[j].path);
      free(f->files[j].fields);
      free(f->files[j].cols);
    }
    free(f->files);
  }
  for (size_t i = 0; i < m->n_fields; i++) free(m->fields[i].path);
  free(m->fields);
  free(m->frags);
  free(m->file);
  free(m);
}

/* Repeated int32, packed (wire type 2) or one value (wire type 0). */
static bool add_i32s(int32_t **v, size_t *n, const mw_pb_field *f) {
  size_t add = 0;
  if (f->wire_type == 0) {
    add = 1;
  } else if (f->wire_type == 2) {
    size_t p = 0;
    uint64_t x;
    while (p < f->len) {
      if (!mw_pb_read_varint(f->data, f->len, &p, &x)) return false;
      add++;
    }
  } else {
    return false;
  }
  int32_t *nv = realloc(*v, (*n + add + 1) * sizeof *nv);
  if (!nv) return false;
  *v = nv;
  if (f->wire_type == 0) {
    nv[(*n)++] = (int32_t)f->val;
  } else {
    size_t p = 0;
    uint64_t x;
    while (p < f->len && mw_pb_read_varint(f->data, f->len, &p, &x)) nv[(*n)++] = (int32_t)x;
  }
  return true;
}

static char *dup_n(const uint8_t *s, size_t n) {
  if (memchr(s, 0, n)) return NULL;
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

static mw_status parse_datafile(mw_merge_datafile *df, const uint8_t *d, size_t len, const char *name, size_t at,
                                mw_error *err) {
  size_t pos = 0;
  mw_pb_field f;
  while (mw_pb_next(d, len, &pos, &f)) {
    bool ok = true;
    switch (f.field) {
      case 1:
        free(df->path);
        df->path = NULL;
        ok = f.wire_type == 2 && f.len > 0 && (df->path = dup_n(f.data, f.len)) != NULL;
        break;
      case 2: ok = add_i32s(&df->fields, &df->n_fields, &f); break;
      case 3: ok = add_i32s(&df->cols, &df->n_cols, &f); break;
      case 4: df->major = (uint32_t)f.val; break;
      case 5: df->minor = (uint32_t)f.val; break;
      case 6: df->size = f.val; break;
      case 7: df->has_base_id = true; break;
      default: break;
    }
    if (!ok) return mw_err(err, MW_ERR_CORRUPT, "%s: bad DataFile field %" PRIu32 " in the fragment at byte %zu", name, f.field, at);
  }
  if (pos != len || !df->path) return mw_err(err, MW_ERR_CORRUPT, "%s: malformed DataFile (no path?) in the fragment at byte %zu", name, at);
  if (strstr(df->path, "..") || df->path[0] == '/')
    return mw_err(err, MW_ERR_CORRUPT, "%s: data file path '%s' leaves the table", name, df->path);
  return MW_OK;
}

static mw_status parse_fragment(mw_merge_fragment *fr, const uint8_t *d, size_t len, const char *name, size_t at,
                                mw_error *err) {
  fr->raw = d;
  fr->raw_len = len;
  size_t pos = 0;
  mw_pb_field f;
  while (mw_pb_next(d, len, &pos, &f)) {
    switch (f.field) {
      case 1: fr->id = f.val; break;
      case 2: {
        if (f.wire_type != 2) return mw_err(err, MW_ERR_CORRUPT, "%s: fragment at byte %zu: DataFile not a message", name, at);
        mw_merge_datafile *nf = realloc(fr->files, (fr->n_files + 1) * sizeof *nf);
        if (!nf) return mw_err(err, MW_ERR_NOMEM, "out of memory");
        fr->files = nf;
        memset(&nf[fr->n_files], 0, sizeof *nf);
        fr->n_files++;
        MW_TRY(parse_datafile(&nf[fr->n_files - 1], f.data, f.len, name, at, err));
        break;
      }
      case 3: {
        if (f.wire_type != 2) return mw_err(err, MW_ERR_CORRUPT, "%s: fragment at byte %zu: DeletionFile not a message", name, at);
        memset(&fr->del, 0, sizeof fr->del);
        fr->del.present = true;
        size_t p = 0;
        mw_pb_field g;
        while (mw_pb_next(f.data, f.len, &p, &g)) {
          if (g.field == 1) fr->del.type = (uint32_t)g.val;
          else if (g.field == 2) fr->del.read_version = g.val;
          else if (g.field == 3) fr->del.id = g.val;
          else if (g.field == 4) fr->del.num_deleted = g.val;
          else if (g.field == 7) fr->del.has_base_id = true;
        }
        if (p != f.len) return mw_err(err, MW_ERR_CORRUPT, "%s: fragment at byte %zu: malformed DeletionFile", name, at);
        break;
      }
      case 4: fr->physical_rows = f.val; break;
      case 5: case 6: fr->has_row_ids = true; break;
      case 11: fr->has_overlays = true; break;
      default: break;
    }
  }
  if (pos != len) return mw_err(err, MW_ERR_CORRUPT, "%s: malformed DataFragment at byte %zu", name, at);
  if (fr->physical_rows > UINT32_MAX)
    return mw_err(err, MW_ERR_CORRUPT, "%s: fragment %" PRIu64 " claims %" PRIu64 " rows", name, fr->id, fr->physical_rows);
  return MW_OK;
}

static mw_status parse_field(mw_merge_field *fl, const uint8_t *d, size_t len, const char *name, mw_error *err) {
  size_t pos = 0;
  mw_pb_field f;
  fl->parent_id = -1;
  char *nm = NULL;
  while (mw_pb_next(d, len, &pos, &f)) {
    if (f.field == 2 && f.wire_type == 2) {
      free(nm);
      nm = dup_n(f.data, f.len);
      if (!nm) return mw_err(err, MW_ERR_CORRUPT, "%s: bad field name", name);
    } else if (f.field == 3 && f.wire_type == 0) {
      fl->id = (int32_t)f.val;
    } else if (f.field == 4 && f.wire_type == 0) {
      fl->parent_id = (int32_t)f.val;
    }
  }
  if (pos != len || !nm) {
    free(nm);
    return mw_err(err, MW_ERR_CORRUPT, "%s: malformed schema field", name);
  }
  fl->path = nm; /* name only; made a path below */
  return MW_OK;
}

/* Joins ancestors' names (parents come before children in Lance's list). */
static mw_status make_paths(mw_merge_manifest *m, const char *name, mw_error *err) {
  for (size_t i = 0; i < m->n_fields; i++) {
    mw_merge_field *f = &m->fields[i];
    if (f->parent_id < 0) continue;
    const mw_merge_field *p = NULL;
    for (size_t j = 0; j < i; j++)
      if (m->fields[j].id == f->parent_id) p = &m->fields[j];
    if (!p) return mw_err(err, MW_ERR_CORRUPT, "%s: field %" PRId32 " names parent %" PRId32 " that comes not before it", name, f->id, f->parent_id);
    size_t n = strlen(p->path) + strlen(f->path) + 2;
    char *path = malloc(n);
    if (!path) return mw_err(err, MW_ERR_NOMEM, "out of memory");
    snprintf(path, n, "%s.%s", p->path, f->path);
    free(f->path);
    f->path = path;
  }
  return MW_OK;
}

mw_status mw_merge_manifest_parse(mw_merge_manifest **out, uint8_t *file, size_t len, const char *name,
                                  mw_error *err) {
  *out = NULL;
  if (!name) name = "manifest";
  mw_merge_manifest *m = calloc(1, sizeof *m);
  if (!m) {
    free(file);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  m->file = file;
  m->file_len = len;
  mw_status st = MW_OK;
  if (len < 16 || memcmp(file + len - 4, "LANC", 4) != 0) {
    st = mw_err(err, MW_ERR_CORRUPT, "%s: no Lance manifest trailer (%zu bytes)", name, len);
    goto fail;
  }
  uint64_t p = mw_load_u64le(file + len - 16);
  if (p > len - 16 || len - 16 - p < 4) {
    st = mw_err(err, MW_ERR_CORRUPT, "%s: manifest position %" PRIu64 " outside the file", name, p);
    goto fail;
  }
  uint32_t ml = mw_load_u32le(file + p);
  if (ml > len - 16 - p - 4) {
    st = mw_err(err, MW_ERR_CORRUPT, "%s: manifest of %" PRIu32 " bytes at byte %" PRIu64 " runs past the trailer", name, ml, p);
    goto fail;
  }
  const uint8_t *d = file + p + 4;
  size_t pos = 0;
  mw_pb_field f;
  while (st == MW_OK && mw_pb_next(d, ml, &pos, &f)) {
    size_t at = (size_t)p + 4 + (size_t)(f.data ? f.data - d : 0);
    switch (f.field) {
      case 1: {
        if (f.wire_type != 2) { st = mw_err(err, MW_ERR_CORRUPT, "%s: schema field not a message", name); break; }
        mw_merge_field *nf = realloc(m->fields, (m->n_fields + 1) * sizeof *nf);
        if (!nf) { st = mw_err(err, MW_ERR_NOMEM, "out of memory"); break; }
        m->fields = nf;
        memset(&nf[m->n_fields], 0, sizeof *nf);
        st = parse_field(&nf[m->n_fields], f.data, f.len, name, err);
        if (st == MW_OK) m->n_fields++;
        break;
      }
      case 2: {
        if (f.wire_type != 2) { st = mw_err(err, MW_ERR_CORRUPT, "%s: fragment not a message", name); break; }
        mw_merge_fragment *nf = realloc(m->frags, (m->n_frags + 1) * sizeof *nf);
        if (!nf) { st = mw_err(err, MW_ERR_NOMEM, "out of memory"); break; }
        m->frags = nf;
        memset(&nf[m->n_frags], 0, sizeof *nf);
        m->n_frags++;
        st = parse_fragment(&nf[m->n_frags - 1], f.data, f.len, name, at, err);
        break;
      }
      case 3: m->version = f.val; break;
      case 9: m->reader_flags = f.val; break;
      case 10: m->writer_flags = f.val; break;
      case 11: m->has_max_fragment_id = true; m->max_fragment_id = f.val; break;
      default: break;
    }
  }
  if (st == MW_OK && pos != ml) st = mw_err(err, MW_ERR_CORRUPT, "%s: malformed manifest protobuf near byte %" PRIu64, name, p + 4 + pos);
  if (st == MW_OK) st = make_paths(m, name, err);
  for (size_t i = 0; st == MW_OK && i < m->n_frags; i++)
    for (size_t j = 0; j < i; j++)
      if (m->frags[i].id == m->frags[j].id) {
        st = mw_err(err, MW_ERR_CORRUPT, "%s: fragment id %" PRIu64 " appears twice", name, m->frags[i].id);
        break;
      }
  if (st != MW_OK) goto fail;
  *out = m;
  return MW_OK;
fail:
  mw_merge_manifest_free(m);
  return st;
}

mw_status mw_merge_manifest_read(mw_merge_manifest **out, mw_objstore *store, const char *prefix, uint64_t version,
                                 mw_error *err) {
  *out = NULL;
  char mk[64], key[512];
  mw_lance_manifest_key(mk, sizeof mk, version);
  int n = snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "/" : "", mk);
  if (n < 0 || (size_t)n >= sizeof key) return mw_err(err, MW_ERR_INVALID, "manifest key too long");
  uint8_t *data = NULL;
  size_t len = 0;
  mw_status st = mw_objstore_get(store, &data, &len, key, 0, MW_OBJSTORE_TO_END, err);
  if (st != MW_OK) return mw_err_wrap(err, st, "reading %s", key);
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    mw_free(data);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  memcpy(copy, data, len);
  mw_free(data);
  return mw_merge_manifest_parse(out, copy, len, key, err);
}

const mw_merge_field *mw_merge_field_by_id(const mw_merge_manifest *m, int32_t id) {
  for (size_t i = 0; i < m->n_fields; i++)
    if (m->fields[i].id == id) return &m->fields[i];
  return NULL;
}

int mw_merge_deletion_key(char *buf, size_t cap, const char *prefix, uint64_t frag_id, const mw_merge_deletion *d) {
  return snprintf(buf, cap, "%s%s_deletions/%" PRIu64 "-%" PRIu64 "-%" PRIu64 ".%s", prefix, prefix[0] ? "/" : "", frag_id,
                  d->read_version, d->id, d->type == 1 ? "bin" : "arrow");
}

mw_status mw_merge_read_deletions(mw_rowset *out, mw_objstore *store, const char *prefix, const mw_merge_fragment *f,
                                  mw_error *err) {
  memset(out, 0, sizeof *out);
  if (!f->del.present) return MW_OK;
  if (f->del.has_base_id)
    return mw_err(err, MW_ERR_UNSUPPORTED, "fragment %" PRIu64 ": deletion file in another base path", f->id);
  if (f->del.type > 1)
    return mw_err(err, MW_ERR_UNSUPPORTED, "fragment %" PRIu64 ": unknown deletion file type %" PRIu32, f->id, f->del.type);
  char key[512];
  int n = mw_merge_deletion_key(key, sizeof key, prefix, f->id, &f->del);
  if (n < 0 || (size_t)n >= sizeof key) return mw_err(err, MW_ERR_INVALID, "deletion file key too long");
  uint8_t *data = NULL;
  size_t len = 0;
  MW_TRY(mw_objstore_get(store, &data, &len, key, 0, MW_OBJSTORE_TO_END, err));
  mw_status st = f->del.type == 1 ? mw_roaring_decode(out, data, len, f->physical_rows, key, err)
                                  : mw_deletion_arrow_decode(out, data, len, f->physical_rows, key, err);
  mw_free(data);
  if (st == MW_OK && f->del.num_deleted != 0 && out->n != f->del.num_deleted) {
    st = mw_err(err, MW_ERR_CORRUPT, "%s holds %zu rows, the manifest says %" PRIu64, key, out->n, f->del.num_deleted);
    mw_rowset_free(out);
  }
  return st;
}

/* ------------------------------------------------------------------ keys */

void mw_merge_keys_free(mw_merge_keys *k) {
  if (!k) return;
  mw_buf_free(&k->enc);
  free(k->off);
  free(k->tomb);
  memset(k, 0, sizeof *k);
}

mw_status mw_merge_read_keys(mw_merge_keys *out, mw_objstore *store, const char *key, const char *const *pk_names,
                             size_t n_pk, bool with_tombstone, uint64_t expect_rows, mw_error *err) {
  memset(out, 0, sizeof *out);
  mw_buf_init(&out->enc);
  if (n_pk == 0 || n_pk > MW_PK_MAX_COLS) return mw_err(err, MW_ERR_INVALID, "%s: %zu key columns", key, n_pk);
  mw_lance_reader *r = NULL;
  MW_TRY(mw_lance_reader_open_store(&r, store, key, err));
  uint64_t n = mw_lance_reader_num_rows(r);
  mw_status st = MW_OK;
  if (expect_rows != UINT64_MAX && n != expect_rows)
    st = mw_err(err, MW_ERR_CORRUPT, "%s holds %" PRIu64 " rows, the manifest says %" PRIu64, key, n, expect_rows);
  const char *cols[MW_PK_MAX_COLS + 1];
  for (size_t i = 0; i < n_pk; i++) cols[i] = pk_names[i];
  cols[n_pk] = "_tombstone";
  size_t nc = n_pk + (with_tombstone ? 1 : 0);
  if (st == MW_OK) {
    out->n = n;
    out->off = malloc((size_t)(n + 1) * sizeof *out->off);
    out->tomb = with_tombstone ? calloc((size_t)n + 1, 1) : NULL;
    if (!out->off || (with_tombstone && !out->tomb)) st = mw_err(err, MW_ERR_NOMEM, "out of memory (keys of %" PRIu64 " rows)", n);
    else out->off[0] = 0;
  }
  for (uint64_t start = 0; st == MW_OK && start < n; start += KEY_CHUNK) {
    uint64_t end = start + KEY_CHUNK < n ? start + KEY_CHUNK : n;
    struct ArrowSchema sch;
    struct ArrowArray b;
    st = mw_lance_reader_read(&sch, &b, r, cols, nc, start, end, err);
    if (st != MW_OK) {
      mw_err_wrap(err, st, "reading the keys of %s", key);
      break;
    }
    mw_pk pk;
    st = mw_pk_resolve(&pk, &sch, pk_names, n_pk, err);
    if (st == MW_OK && (uint64_t)b.length != end - start)
      st = mw_err(err, MW_ERR_CORRUPT, "%s: read %" PRId64 " rows of %" PRIu64, key, b.length, end - start);
    if (st == MW_OK && with_tombstone) {
      mw_type ty = {0};
      const struct ArrowArray *tc = b.children[n_pk];
      if (mw_type_from_format(&ty, sch.children[n_pk]->format, NULL) != MW_OK || ty.id != MW_T_BOOL)
        st = mw_err(err, MW_ERR_CORRUPT, "%s: _tombstone is not a bool column", key);
      for (int64_t i = 0; st == MW_OK && i < b.length; i++) {
        int64_t p = b.offset + tc->offset + i;
        bool valid = tc->null_count == 0 || !tc->buffers[0] || mw_bit_get(tc->buffers[0], p);
        out->tomb[start + (uint64_t)i] = valid && mw_bit_get(tc->buffers[1], p);
      }
    }
    for (int64_t i = 0; st == MW_OK && i < b.length; i++) {
      mw_pk_encode(&out->enc, &pk, &b, i);
      out->off[start + (uint64_t)i + 1] = out->enc.len;
    }
    if (st == MW_OK && !mw_buf_ok(&out->enc)) st = mw_err(err, MW_ERR_NOMEM, "out of memory (keys of %s)", key);
    b.release(&b);
    sch.release(&sch);
  }
  mw_lance_reader_free(r);
  if (st != MW_OK) mw_merge_keys_free(out);
  return st;
}
