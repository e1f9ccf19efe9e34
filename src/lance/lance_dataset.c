/* lance_dataset.c - one-fragment Lance datasets and generation folders
 * (layouts in lance_dataset.h).
 *
 * Concurrency: a generation's indexes (gen_index.h) are independent of its
 * data file, so mw_lance_write_generation builds and stores each of them on
 * a thread of its own (gix_job) while the calling thread encodes and writes
 * the data file, the bloom filter and _pk_index/. Shared inputs (the
 * batches, the surviving rows, offset_of, the in-memory indexes) are only
 * read while the jobs run; each job owns its section buffer, status and
 * error. Every job is joined before the function returns, and the manifest
 * (the generation's publication) is written only after all of them ended
 * well, so no generation is published before its index files exist (Lance
 * bug #9035). Sections are concatenated in index order, and on failure the
 * error reported is the data file's, else the first failed index's (in
 * index order), so the outcome does not depend on thread timing. */
#include "lance/lance_dataset.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/uuid.h"
#include "lance/bloom.h"
#include "lance/gen_index.h"
#include "lance/pb.h"
#include "lance/pk_index.h"

void mw_lance_gen_options_init(mw_lance_gen_options *o) {
  memset(o, 0, sizeof *o);
  o->version = MW_LANCE_V2_1;
  o->dedup = true;
  o->write_index = true;
}

mw_status mw_lance_manifest_encode(uint8_t **out, size_t *out_len, const mw_lance_manifest_info *info,
                                   mw_error *err) {
  *out = NULL;
  *out_len = 0;
  mw_buf m, frag, df, ts, wv, fmt;
  mw_buf_init(&m); mw_buf_init(&frag); mw_buf_init(&df); mw_buf_init(&ts); mw_buf_init(&wv);
  mw_buf_init(&fmt);
  mw_status s = mw_lance_write_fields(&m, 1, info->schema, info->pk_names, info->n_pk, err);
  if (s != MW_OK) goto done;
  /* DataFile: the fields of the file's columns, in order */
  size_t nf = mw_lance_column_field_ids(info->schema, info->version, NULL, 0);
  uint64_t *ids = calloc(nf + 1, sizeof *ids), *cols = calloc(nf + 1, sizeof *cols);
  int32_t *leaf = calloc(nf + 1, sizeof *leaf);
  if (!ids || !cols || !leaf) {
    free(ids); free(cols); free(leaf);
    s = mw_err(err, MW_ERR_NOMEM, "out of memory");
    goto done;
  }
  mw_lance_column_field_ids(info->schema, info->version, leaf, nf);
  for (size_t i = 0; i < nf; i++) {
    ids[i] = (uint64_t)leaf[i];
    cols[i] = (uint64_t)i;
  }
  mw_pb_str(&df, 1, info->data_file);
  mw_pb_packed_u64(&df, 2, ids, nf);
  mw_pb_packed_u64(&df, 3, cols, nf);
  free(ids); free(cols); free(leaf);
  mw_pb_u64(&df, 4, 2);
  if (info->version == MW_LANCE_V2_1) mw_pb_u64(&df, 5, 1);
  mw_pb_u64(&df, 6, info->data_file_size);
  /* DataFragment {1 id = 0, 2 files, 4 physical_rows} */
  mw_pb_msg(&frag, 2, &df);
  mw_pb_u64(&frag, 4, info->physical_rows);
  mw_pb_msg(&m, 2, &frag);
  mw_pb_u64(&m, 3, 1); /* version */
  mw_pb_metadata(&m, 5, info->schema->metadata);
  if (info->index_section) mw_pb_u64(&m, 6, 0); /* the section's frame is at 0 */
  int64_t tns = info->timestamp_ns;
  if (tns == 0) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    tns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
  }
  mw_pb_u64(&ts, 1, (uint64_t)(tns / 1000000000));
  if (tns % 1000000000) mw_pb_u64(&ts, 2, (uint64_t)(tns % 1000000000));
  mw_pb_msg(&m, 7, &ts);
  mw_pb_u64(&m, 11, 0); /* max_fragment_id */
  mw_pb_str(&wv, 1, info->writer_library ? info->writer_library : "memwal");
  mw_pb_str(&wv, 2, info->writer_version ? info->writer_version : mw_version());
  mw_pb_msg(&m, 13, &wv);
  mw_pb_str(&fmt, 1, "lance");
  mw_pb_str(&fmt, 2, info->version == MW_LANCE_V2_1 ? "2.1" : "2.0");
  mw_pb_msg(&m, 15, &fmt);
  if (!mw_buf_ok(&m)) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory encoding Lance manifest");
    goto done;
  }
  mw_buf file;
  mw_buf_init(&file);
  if (info->index_section) {
    mw_buf_u32le(&file, (uint32_t)info->index_section_len);
    mw_buf_append(&file, info->index_section, info->index_section_len);
  }
  uint64_t mpos = file.len;
  mw_buf_u32le(&file, (uint32_t)m.len);
  mw_buf_append(&file, m.data, m.len);
  mw_buf_u64le(&file, mpos); /* P: the manifest's length prefix */
  uint8_t ver[4];
  mw_store_u16le(ver, 0);
  mw_store_u16le(ver + 2, 2);
  mw_buf_append(&file, ver, 4);
  mw_buf_append(&file, "LANC", 4);
  if (!mw_buf_ok(&file)) {
    mw_buf_free(&file);
    s = mw_err(err, MW_ERR_NOMEM, "out of memory encoding Lance manifest");
    goto done;
  }
  *out = mw_buf_take(&file, out_len);
done:
  mw_buf_free(&m); mw_buf_free(&frag); mw_buf_free(&df); mw_buf_free(&ts); mw_buf_free(&wv);
  mw_buf_free(&fmt);
  return s;
}

/* ---- dedup: open-addressing table of key encodings -> last row ---- */

typedef struct dedup {
  const uint8_t *enc;
  const uint64_t *off;
  int64_t *slot; /* global row, -1 empty */
  uint64_t mask;
} dedup;

static uint64_t key_hash(const dedup *d, uint64_t r) {
  return mw_siphash13(d->enc + d->off[r], (size_t)(d->off[r + 1] - d->off[r]));
}

static bool key_eq(const dedup *d, uint64_t a, uint64_t b) {
  size_t la = (size_t)(d->off[a + 1] - d->off[a]), lb = (size_t)(d->off[b + 1] - d->off[b]);
  return la == lb && memcmp(d->enc + d->off[a], d->enc + d->off[b], la) == 0;
}

static mw_status put_obj(mw_objstore *store, const char *prefix, const char *name, const void *data,
                         size_t len, mw_error *err) {
  char key[1024];
  int n = snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "/" : "", name);
  if (n < 0 || (size_t)n >= sizeof key) return mw_err(err, MW_ERR_INVALID, "key prefix too long");
  mw_status s = mw_objstore_put_if_absent(store, key, data, len, err);
  if (s != MW_OK) return mw_err_wrap(err, s, "writing %s", key);
  return MW_OK;
}

/* One index of a generation, built on its own thread (see the top). */
typedef struct gix_job {
  mw_objstore *store;
  const char *prefix;
  const mw_gen_index *ix;
  const mw_gen_rows *g;
  uint64_t created_ms;
  mw_buf section; /* this index's IndexMetadata entry */
  mw_status s;
  mw_error err;
  pthread_t tid;
  bool started;   /* tid runs the job (else it runs on the caller at join) */
} gix_job;

static void *gix_main(void *arg) {
  gix_job *j = arg;
  j->s = mw_gen_index_write(&j->section, j->store, j->prefix, j->ix, j->g, j->created_ms, &j->err);
  return NULL;
}

/* Waits for every job (running a job that got no thread now), frees their
 * sections; with `section`, appends them in index order and returns the
 * first failure in that order (its error copied to err). */
static mw_status join_jobs(gix_job *jobs, size_t n, mw_buf *section, mw_error *err) {
  mw_status s = MW_OK;
  for (size_t i = 0; i < n; i++) {
    gix_job *j = &jobs[i];
    if (j->started) pthread_join(j->tid, NULL);
    else if (section) gix_main(j);
    if (section && s == MW_OK) {
      if (j->s != MW_OK) {
        s = j->s;
        if (err) *err = j->err;
      } else {
        mw_buf_append(section, j->section.data, j->section.len);
        if (!mw_buf_ok(section)) s = mw_err(err, MW_ERR_NOMEM, "out of memory");
      }
    }
    mw_buf_free(&j->section);
  }
  return s;
}

mw_status mw_lance_write_generation(mw_objstore *store, const char *prefix,
                                    const struct ArrowSchema *schema,
                                    const struct ArrowArray *batches, size_t n,
                                    const mw_lance_gen_options *opts, mw_lance_gen_result *out,
                                    mw_error *err) {
  mw_lance_gen_options o;
  if (opts) o = *opts;
  else mw_lance_gen_options_init(&o);
  memset(out, 0, sizeof *out);
  MW_TRY(mw_lance_check_schema_version(schema, o.version, err));
  if (!prefix) prefix = ""; /* "" = the store's root is the dataset */
  mw_pk pk;
  MW_TRY(mw_pk_resolve(&pk, schema, o.pk_names, o.n_pk, err));
  for (size_t b = 0; b < n; b++) {
    if (batches[b].n_children != schema->n_children)
      return mw_err(err, MW_ERR_INVALID, "batch %zu has %lld columns, schema %lld", b,
                    (long long)batches[b].n_children, (long long)schema->n_children);
    out->input_rows += (uint64_t)batches[b].length;
    out->in_memory_bytes += mw_array_byte_size(schema, &batches[b]);
  }
  if (n > UINT32_MAX) return mw_err(err, MW_ERR_INVALID, "too many batches");
  uint64_t total = out->input_rows;

  mw_status s = MW_OK;
  mw_buf enc, tmp;
  mw_buf_init(&enc);
  mw_buf_init(&tmp);
  uint64_t *off = NULL;
  int64_t *slots = NULL;
  uint8_t *alive = NULL;
  mw_pk_row *rows = NULL;
  int64_t *take = NULL;
  uint8_t *file = NULL, *man = NULL, *bloom = NULL;
  size_t file_len = 0, man_len = 0;
  mw_lance_file_writer *fw = NULL;
  int64_t *offset_of = NULL;
  mw_buf section;
  mw_buf_init(&section);
  gix_job *jobs = NULL;
  size_t n_jobs = 0;
  mw_gen_rows gr;

  alive = malloc((size_t)total + 1);
  rows = malloc(((size_t)total + 1) * sizeof *rows);
  if (!alive || !rows) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory flushing %llu rows", (unsigned long long)total);
    goto done;
  }
  memset(alive, 1, (size_t)total + 1);
  if (pk.n && o.dedup && total > 1) {
    off = malloc(((size_t)total + 1) * sizeof *off);
    uint64_t cap = 16;
    while (cap < total * 2) cap <<= 1;
    slots = malloc((size_t)cap * sizeof *slots);
    if (!off || !slots) {
      s = mw_err(err, MW_ERR_NOMEM, "out of memory flushing %llu rows", (unsigned long long)total);
      goto done;
    }
    uint64_t g = 0;
    for (size_t b = 0; b < n; b++)
      for (int64_t r = 0; r < batches[b].length; r++, g++) {
        off[g] = enc.len;
        mw_pk_encode(&enc, &pk, &batches[b], r);
      }
    off[total] = enc.len;
    if (!mw_buf_ok(&enc)) {
      s = mw_err(err, MW_ERR_NOMEM, "out of memory encoding keys");
      goto done;
    }
    dedup d = {enc.data, off, slots, cap - 1};
    memset(slots, 0xff, (size_t)cap * sizeof *slots);
    for (uint64_t r = 0; r < total; r++) {
      uint64_t h = key_hash(&d, r) & d.mask;
      while (slots[h] >= 0 && !key_eq(&d, (uint64_t)slots[h], r)) h = (h + 1) & d.mask;
      if (slots[h] >= 0) alive[slots[h]] = 0; /* an older copy: the last write wins */
      slots[h] = (int64_t)r;
    }
  }

  /* survivors in insertion order */
  uint64_t nsurv = 0, g = 0;
  for (size_t b = 0; b < n; b++)
    for (int64_t r = 0; r < batches[b].length; r++, g++)
      if (alive[g]) {
        rows[nsurv].batch = (uint32_t)b;
        rows[nsurv].row = r;
        nsurv++;
      }
  out->physical_rows = nsurv;

  /* the indexes: one job each, running while this thread writes the data
   * file (a job that cannot get a thread runs here, when joined) */
  if (o.n_indexes) {
    offset_of = malloc(((size_t)total + 1) * sizeof *offset_of);
    jobs = calloc(o.n_indexes, sizeof *jobs);
    if (!offset_of || !jobs) {
      s = mw_err(err, MW_ERR_NOMEM, "out of memory");
      goto done;
    }
    uint64_t k = 0;
    for (uint64_t r = 0; r < total; r++) offset_of[r] = alive[r] ? (int64_t)k++ : -1;
    int64_t tns = o.timestamp_ns;
    if (tns == 0) {
      struct timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      tns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    }
    gr = (mw_gen_rows){schema, batches, rows, nsurv, offset_of, total};
    for (size_t i = 0; i < o.n_indexes; i++) {
      gix_job *j = &jobs[i];
      *j = (gix_job){.store = store, .prefix = prefix, .ix = &o.indexes[i], .g = &gr,
                     .created_ms = (uint64_t)(tns / 1000000), .s = MW_OK};
      mw_buf_init(&j->section);
      n_jobs = i + 1;
      j->started = pthread_create(&j->tid, NULL, gix_main, j) == 0;
    }
  }

  /* data file */
  mw_lance_file_options fo;
  mw_lance_file_options_init(&fo);
  fo.version = o.version;
  fo.max_page_bytes = o.max_page_bytes;
  fo.pk_names = o.pk_names;
  fo.n_pk = o.n_pk;
  /* the file is about the input's size (plain encodings) plus page and
   * column metadata: reserved once, not grown by copies */
  fo.size_hint = out->in_memory_bytes + out->in_memory_bytes / 32 + ((uint64_t)1 << 20);
  s = mw_lance_file_writer_open(&fw, schema, &fo, err);
  if (s != MW_OK) goto done;
  take = malloc(((size_t)nsurv + 1) * sizeof *take);
  if (!take) {
    s = mw_err(err, MW_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (uint64_t i = 0; i < nsurv;) {
    uint32_t b = rows[i].batch;
    uint64_t j = i;
    while (j < nsurv && rows[j].batch == b) {
      take[j - i] = rows[j].row;
      j++;
    }
    s = mw_lance_file_writer_write(fw, &batches[b], take, (int64_t)(j - i), err);
    if (s != MW_OK) goto done;
    i = j;
  }
  s = mw_lance_file_writer_finish(fw, &file, &file_len, err);
  if (s != MW_OK) goto done;
  out->data_file_size = file_len;
  uint8_t u[16];
  s = mw_uuid_v4(u, err);
  if (s != MW_OK) goto done;
  for (int i = 0; i < 16; i++) snprintf(out->data_file + 2 * i, 3, "%02x", u[i]);
  strcat(out->data_file, ".lance");
  char name[128];
  snprintf(name, sizeof name, "data/%s", out->data_file);
  s = put_obj(store, prefix, name, file, file_len, err);
  if (s != MW_OK) goto done;

  if (pk.n) {
    for (uint64_t i = 0; i < nsurv; i++)
      out->primary_key_bytes += mw_pk_value_bytes(&pk, &batches[rows[i].batch], rows[i].row);
  }
  if (pk.n && o.write_index) {
    bloom = calloc(1, MW_BLOOM_BYTES);
    if (!bloom) {
      s = mw_err(err, MW_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (uint64_t i = 0; i < nsurv; i++)
      mw_bloom_insert(bloom, MW_BLOOM_BLOCKS, mw_pk_hash(&tmp, &pk, &batches[rows[i].batch], rows[i].row));
    if (!mw_buf_ok(&tmp)) {
      s = mw_err(err, MW_ERR_NOMEM, "out of memory");
      goto done;
    }
    s = put_obj(store, prefix, "bloom_filter.bin", bloom, MW_BLOOM_BYTES, err);
    if (s != MW_OK) goto done;
    s = mw_pk_index_write(store, prefix, schema, &pk, batches, rows, nsurv, err);
    if (s != MW_OK) goto done;
  }

  s = join_jobs(jobs, n_jobs, &section, err);
  n_jobs = 0;
  if (s != MW_OK) goto done;
  /* every index file is written by now (the jobs ended well) */
  mw_lance_manifest_info mi = {
      .schema = schema, .pk_names = o.pk_names, .n_pk = o.n_pk, .data_file = out->data_file,
      .data_file_size = file_len, .physical_rows = nsurv, .version = o.version,
      .writer_library = o.writer_library, .writer_version = o.writer_version,
      .timestamp_ns = o.timestamp_ns, .index_section = o.n_indexes ? section.data : NULL,
      .index_section_len = section.len};
  s = mw_lance_manifest_encode(&man, &man_len, &mi, err);
  if (s != MW_OK) goto done;
  s = put_obj(store, prefix, "_versions/" MW_LANCE_V1_MANIFEST, man, man_len, err);
  if (s != MW_OK) goto done;
  static const char hint[] = "{\"version\":1}";
  /* the hint is advisory: readers list _versions/ when it is missing */
  s = put_obj(store, prefix, "_versions/latest_version_hint.json", hint, sizeof hint - 1, err);

done:
  if (n_jobs) join_jobs(jobs, n_jobs, NULL, NULL); /* an earlier failure: wait, drop their results */
  free(jobs);
  mw_lance_file_writer_free(fw);
  free(offset_of);
  mw_buf_free(&section);
  mw_buf_free(&enc);
  mw_buf_free(&tmp);
  free(off);
  free(slots);
  free(alive);
  free(rows);
  free(take);
  free(file);
  free(man);
  free(bloom);
  return s;
}
