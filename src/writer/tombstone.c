/*
 * tombstone.c - the `_tombstone` column of WAL entries and generations, and
 * delete rows (LSM.md section 4).
 *
 * Lance 12 writes every WAL entry and every generation data file with a
 * last column `_tombstone: bool not null` (false for puts, true for
 * deletes) and widens every non-key column to nullable there. The writer
 * therefore keeps two schemas: the user's (what put batches are validated
 * against) and the stored one (user columns, non-key ones nullable, then
 * `_tombstone`), which the WAL, the MemTables and the generations use. A
 * user schema that already ends in `_tombstone: bool` is its own stored
 * schema (puts then carry the flag themselves).
 *
 * Design (zero copy): a put batch is wrapped, not copied: a new struct
 * array whose children are the user's children (borrowed from the wrapped
 * batch, which the wrapper owns) plus a bool child whose bitmap points at a
 * shared static all-false / all-true bitmap (allocated only for batches
 * longer than it covers). A delete batch wraps the caller's key batch the
 * same way: key children borrowed, every other column an all-null array
 * (one zeroed block serves as validity, offsets and values), `_tombstone`
 * all true. Wrapping is reversible (w_tomb_unwrap) so that a put that fails
 * before taking its batches hands them back untouched.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow/c_data.h"
#include "lance/lance_file.h"
#include "writer/writer_internal.h"

#define SHARED_BITMAP_BYTES 8192 /* covers 65 536 rows */

static const uint8_t g_zeros[SHARED_BITMAP_BYTES];
static uint8_t g_ones[SHARED_BITMAP_BYTES];
static pthread_once_t g_ones_once = PTHREAD_ONCE_INIT;
static void ones_init(void) { memset(g_ones, 0xff, sizeof g_ones); }
static const void *g_no_validity[1] = {NULL};

bool w_is_tombstone_field(const struct ArrowSchema *f) {
  return f && f->name && strcmp(f->name, MW_TOMBSTONE_COLUMN) == 0;
}

/* ------------------------------------------------------------- schemas */

mw_status w_stored_schema(struct ArrowSchema *out, bool *out_user_has_tomb, const struct ArrowSchema *user,
                          mw_error *err) {
  memset(out, 0, sizeof *out);
  *out_user_has_tomb = false;
  int64_t n = user->n_children;
  for (int64_t i = 0; i < n; i++) {
    if (!w_is_tombstone_field(user->children[i])) continue;
    if (i != n - 1)
      return mw_err(err, MW_ERR_INVALID,
                    "schema: column '%s' is reserved for delete markers and must be the last column (it is column %" PRId64
                    " of %" PRId64 ")",
                    MW_TOMBSTONE_COLUMN, i, n);
    if (strcmp(user->children[i]->format, "b") != 0)
      return mw_err(err, MW_ERR_INVALID, "schema: column '%s' must be bool (format 'b'), not format '%s'",
                    MW_TOMBSTONE_COLUMN, user->children[i]->format);
    *out_user_has_tomb = true;
  }
  int64_t n_out = *out_user_has_tomb ? n : n + 1;
  MW_TRY(mw_schema_init(out, "+s", user->name, user->metadata, user->flags, n_out, err));
  mw_status s = MW_OK;
  for (int64_t i = 0; s == MW_OK && i < n; i++) {
    struct ArrowSchema *c = out->children[i];
    s = mw_schema_copy(c, user->children[i], err); /* into the zeroed slot */
    if (s != MW_OK) {
      c->release = NULL;
      break;
    }
    mw_kv kv;
    bool is_key = c->metadata && mw_metadata_find(c->metadata, MW_LANCE_PK_POSITION_KEY, &kv);
    if (w_is_tombstone_field(c)) c->flags &= ~(int64_t)ARROW_FLAG_NULLABLE;
    else if (!is_key) c->flags |= ARROW_FLAG_NULLABLE;
  }
  if (s == MW_OK && !*out_user_has_tomb) {
    struct ArrowSchema *c = out->children[n];
    s = mw_schema_init(c, "b", MW_TOMBSTONE_COLUMN, NULL, 0, 0, err);
    if (s != MW_OK) c->release = NULL;
  }
  if (s != MW_OK) mw_schema_release(out);
  return s;
}

/* Same names and types at every level; nullability and metadata ignored. */
static bool same_shape(const struct ArrowSchema *a, const struct ArrowSchema *b) {
  if (!a || !b || !a->format || !b->format || strcmp(a->format, b->format) != 0) return false;
  if (strcmp(a->name ? a->name : "", b->name ? b->name : "") != 0) return false;
  if (a->n_children != b->n_children) return false;
  if ((a->dictionary == NULL) != (b->dictionary == NULL)) return false;
  if (a->dictionary && !same_shape(a->dictionary, b->dictionary)) return false;
  for (int64_t i = 0; i < a->n_children; i++)
    if (!same_shape(a->children[i], b->children[i])) return false;
  return true;
}

mw_status w_entry_compat(bool *out_add_tomb, const struct ArrowSchema *stored, const struct ArrowSchema *entry,
                         char *why, size_t why_cap) {
  *out_add_tomb = false;
  int64_t ns = stored->n_children, ne = entry->n_children;
  if (!entry->format || strcmp(entry->format, "+s") != 0) {
    snprintf(why, why_cap, "the entry's schema is not a struct (format '%s')", entry->format ? entry->format : "");
    return MW_ERR_INVALID;
  }
  /* An entry without `_tombstone` (older memwal, or Lance before it) means
   * every row is a put. */
  bool add = ne == ns - 1 && (ne == 0 || !w_is_tombstone_field(entry->children[ne - 1]));
  int64_t n = add ? ne : ns;
  for (int64_t i = 0; i < n && i < ne; i++) {
    const struct ArrowSchema *want = stored->children[i], *got = entry->children[i];
    if (!same_shape(want, got)) {
      snprintf(why, why_cap, "column %" PRId64 " is '%s' (format '%s'), the writer's is '%s' (format '%s')", i,
               got->name ? got->name : "", got->format ? got->format : "", want->name ? want->name : "",
               want->format);
      return MW_ERR_INVALID;
    }
  }
  if (ne > n) {
    snprintf(why, why_cap, "extra column %" PRId64 " '%s' (format '%s') is not in the writer schema (%" PRId64
             " columns with %s)", n, entry->children[n]->name ? entry->children[n]->name : "",
             entry->children[n]->format ? entry->children[n]->format : "", ns, MW_TOMBSTONE_COLUMN);
    return MW_ERR_INVALID;
  }
  if (ne < n) {
    snprintf(why, why_cap, "column %" PRId64 " '%s' (format '%s') of the writer schema is missing (the entry has %" PRId64
             " columns)", ne, stored->children[ne]->name, stored->children[ne]->format, ne);
    return MW_ERR_INVALID;
  }
  *out_add_tomb = add;
  return MW_OK;
}

/* ------------------------------------------------------ all-null arrays */

typedef struct zero_node {
  void *block;                  /* zeroed bytes: validity, offsets and values */
  const void *buffers[3];
  struct ArrowArray **children; /* pointers into kids */
  struct ArrowArray *kids;
} zero_node;

static void zero_release(struct ArrowArray *a) {
  zero_node *z = a->private_data;
  if (z) {
    for (int64_t i = 0; i < a->n_children; i++)
      if (z->kids[i].release) z->kids[i].release(&z->kids[i]);
    free(z->kids);
    free(z->children);
    free(z->block);
    free(z);
  }
  a->release = NULL;
  a->private_data = NULL;
}

/* An array of field f with `length` rows, all zero; all null when `null`
 * (otherwise no validity: the rows hold zeros, empty strings, empty lists). */
static mw_status zero_array(struct ArrowArray *out, const struct ArrowSchema *f, int64_t length, bool null,
                            mw_error *err) {
  memset(out, 0, sizeof *out);
  mw_type t;
  MW_TRY(mw_type_from_format(&t, f->format, err));
  if (f->dictionary)
    return mw_err(err, MW_ERR_UNSUPPORTED, "column '%s': dictionary columns cannot be null-filled", f->name);
  int nb = mw_type_n_buffers(&t);
  uint64_t n = (uint64_t)length;
  uint64_t need = (n + 7) / 8 + 8;
  int64_t child_len = 0;
  switch (t.id) {
    case MW_T_UTF8: case MW_T_BINARY: case MW_T_LIST: case MW_T_MAP: need = (n + 1) * 4; break;
    case MW_T_LARGE_UTF8: case MW_T_LARGE_BINARY: case MW_T_LARGE_LIST: need = (n + 1) * 8; break;
    case MW_T_FIXED_SIZE_LIST: child_len = length * t.width; break;
    case MW_T_STRUCT: child_len = length; break;
    default: {
      int bits = mw_type_fixed_bits(&t);
      if (bits > 0 && (n * (uint64_t)bits + 7) / 8 > need) need = (n * (uint64_t)bits + 7) / 8;
    }
  }
  zero_node *z = calloc(1, sizeof *z);
  if (!z) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  z->block = calloc(1, need + 8);
  int64_t nc = f->n_children;
  if (nc > 0) {
    z->kids = calloc((size_t)nc, sizeof *z->kids);
    z->children = calloc((size_t)nc, sizeof *z->children);
  }
  out->private_data = z;
  out->release = zero_release;
  if (!z->block || (nc > 0 && (!z->kids || !z->children))) {
    zero_release(out);
    return mw_err(err, MW_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < nb && i < 3; i++) z->buffers[i] = z->block;
  if (!null && nb > 0) z->buffers[0] = NULL;
  out->length = length;
  out->null_count = null ? length : 0;
  out->n_buffers = nb;
  out->buffers = z->buffers;
  out->n_children = nc;
  out->children = nc > 0 ? z->children : NULL;
  for (int64_t i = 0; i < nc; i++) {
    z->children[i] = &z->kids[i];
    mw_status s = zero_array(&z->kids[i], f->children[i], child_len, false, err);
    if (s != MW_OK) {
      zero_release(out);
      return s;
    }
  }
  return MW_OK;
}

/* A bool array of `length` rows, all `value` (shared bitmap when short). */
static mw_status const_bool(struct ArrowArray *out, int64_t length, bool value, mw_error *err) {
  memset(out, 0, sizeof *out);
  zero_node *z = calloc(1, sizeof *z);
  if (!z) return mw_err(err, MW_ERR_NOMEM, "out of memory");
  uint64_t bytes = ((uint64_t)length + 7) / 8;
  const void *bits;
  if (bytes <= SHARED_BITMAP_BYTES) {
    if (value) pthread_once(&g_ones_once, ones_init);
    bits = value ? (const void *)g_ones : (const void *)g_zeros;
  } else {
    z->block = malloc(bytes);
    if (!z->block) {
      free(z);
      return mw_err(err, MW_ERR_NOMEM, "out of memory");
    }
    memset(z->block, value ? 0xff : 0, bytes);
    bits = z->block;
  }
  z->buffers[0] = NULL;
  z->buffers[1] = bits;
  out->length = length;
  out->n_buffers = 2;
  out->buffers = z->buffers;
  out->private_data = z;
  out->release = zero_release;
  return MW_OK;
}

/* ------------------------------------------------------------ wrappers */

typedef struct tomb_wrap {
  struct ArrowArray inner;      /* the caller's batch (owned) */
  struct ArrowArray *children[]; /* borrowed from inner, or owned extras */
} tomb_wrap;

/* The wrapper's owned children: those not borrowed from inner. */
static bool borrowed(const tomb_wrap *tw, const struct ArrowArray *c) {
  for (int64_t i = 0; i < tw->inner.n_children; i++)
    if (tw->inner.children[i] == c) return true;
  return false;
}

static void wrap_release(struct ArrowArray *a) {
  tomb_wrap *tw = a->private_data;
  if (tw) {
    for (int64_t i = 0; i < a->n_children; i++) {
      struct ArrowArray *c = tw->children[i];
      if (c && !borrowed(tw, c)) {
        if (c->release) c->release(c);
        free(c);
      }
    }
    if (tw->inner.release) tw->inner.release(&tw->inner);
    free(tw);
  }
  a->release = NULL;
  a->private_data = NULL;
}

static tomb_wrap *wrap_new(struct ArrowArray *out, int64_t n_children, mw_error *err) {
  memset(out, 0, sizeof *out);
  tomb_wrap *tw = calloc(1, sizeof *tw + (size_t)n_children * sizeof(struct ArrowArray *));
  if (!tw) mw_err(err, MW_ERR_NOMEM, "out of memory");
  return tw;
}

/* Finishes a wrapper around tw->inner (moved in by the caller). */
static void wrap_finish(struct ArrowArray *out, tomb_wrap *tw, int64_t n_children) {
  out->length = tw->inner.length;
  out->offset = tw->inner.offset;
  out->null_count = tw->inner.null_count;
  out->n_buffers = tw->inner.n_buffers;
  out->buffers = tw->inner.buffers;
  out->n_children = n_children;
  out->children = tw->children;
  out->private_data = tw;
  out->release = wrap_release;
}

static struct ArrowArray *owned_child(void) { return calloc(1, sizeof(struct ArrowArray)); }

mw_status w_tomb_wrap(struct ArrowArray *out, struct ArrowArray *batch, bool value, mw_error *err) {
  int64_t n = batch->n_children;
  tomb_wrap *tw = wrap_new(out, n + 1, err);
  if (!tw) return MW_ERR_NOMEM;
  struct ArrowArray *t = owned_child();
  mw_status s = t ? const_bool(t, batch->offset + batch->length, value, err)
                  : mw_err(err, MW_ERR_NOMEM, "out of memory");
  if (s != MW_OK) {
    free(t);
    free(tw);
    return s;
  }
  tw->inner = *batch;
  batch->release = NULL; /* moved */
  for (int64_t i = 0; i < n; i++) tw->children[i] = tw->inner.children[i];
  tw->children[n] = t;
  wrap_finish(out, tw, n + 1);
  return MW_OK;
}

void w_tomb_unwrap(struct ArrowArray *batch, struct ArrowArray *wrapped) {
  tomb_wrap *tw = wrapped->private_data;
  *batch = tw->inner;
  tw->inner.release = NULL;
  wrap_release(wrapped);
}

mw_status w_delete_wrap(struct ArrowArray *out, const struct ArrowSchema *stored, const mw_pk *pk,
                        const int *key_child, struct ArrowArray *keys, mw_error *err) {
  int64_t n = stored->n_children;
  tomb_wrap *tw = wrap_new(out, n, err);
  if (!tw) return MW_ERR_NOMEM;
  int64_t len = keys->offset + keys->length;
  mw_status s = MW_OK;
  for (int64_t i = 0; s == MW_OK && i < n; i++) {
    int k = -1;
    for (int j = 0; j < pk->n; j++)
      if (pk->col[j] == i) k = j;
    if (k >= 0) {
      tw->children[i] = keys->children[key_child[k]];
      continue;
    }
    struct ArrowArray *c = owned_child();
    if (!c) {
      s = mw_err(err, MW_ERR_NOMEM, "out of memory");
      break;
    }
    tw->children[i] = c;
    if (i == n - 1) s = const_bool(c, len, true, err);
    else s = zero_array(c, stored->children[i], len, true, err);
  }
  if (s != MW_OK) {
    for (int64_t i = 0; i < n; i++) {
      struct ArrowArray *c = tw->children[i];
      bool is_key = false;
      for (int j = 0; j < pk->n; j++) is_key |= pk->col[j] == i;
      if (c && !is_key) {
        if (c->release) c->release(c);
        free(c);
      }
    }
    free(tw);
    return s;
  }
  tw->inner = *keys;
  keys->release = NULL; /* moved */
  wrap_finish(out, tw, n);
  /* The batch's own validity (a null struct row) would hide the key. */
  out->null_count = 0;
  out->n_buffers = 1;
  out->buffers = g_no_validity;
  return MW_OK;
}
