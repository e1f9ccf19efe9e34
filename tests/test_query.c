/* test_query.c - MemTable queries (mw_query): filtered scans, point
 * lookups, vector k-NN and full-text search over several MemTables and
 * through a ShardWriter, each compared with a brute-force reference model
 * of the rows put (newest row per key wins, deletes hide keys), plus
 * visibility, replay equivalence and concurrent puts and queries. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index/fts.h"
#include "index/fts_tokenizer.h"
#include "index/hnsw.h"
#include "memtable/memtable.h"
#include "objstore/objstore_fault.h"
#include "memwal.h"
#include "mw_test.h"

#define DIM 4

/* ------------------------------------------------------------ rows */

typedef struct trow {
  int64_t id;
  int cat_null;
  int32_t cat;
  int vec_null;
  float vec[DIM];
  const char *text; /* NULL = null */
  int tomb;
} trow;

static const char *const WORDS[] = {"apple", "banana", "cherry", "delta", "echo", "fox", "golf", "hotel",
                                    "india", "juliet", "the", "running", "foxes", "café"};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static float rndf(void) { return (float)(rnd() % 1000000) / 1000000.0f; }

static char text_pool[20000][64];
static size_t n_text;

static pthread_mutex_t rng_mu = PTHREAD_MUTEX_INITIALIZER; /* the putter threads share the generator */

static void random_row_locked(trow *r, int64_t id, int with_tomb);
static void random_row(trow *r, int64_t id, int with_tomb) {
  pthread_mutex_lock(&rng_mu);
  random_row_locked(r, id, with_tomb);
  pthread_mutex_unlock(&rng_mu);
}

static void random_row_locked(trow *r, int64_t id, int with_tomb) {
  memset(r, 0, sizeof *r);
  r->id = id;
  r->cat_null = rnd() % 8 == 0;
  r->cat = (int32_t)(rnd() % 10);
  r->vec_null = rnd() % 16 == 0;
  for (int d = 0; d < DIM; d++) r->vec[d] = rndf();
  if (rnd() % 10 == 0) {
    r->text = NULL;
  } else {
    char *t = text_pool[n_text++ % 20000];
    t[0] = 0;
    int nw = 1 + (int)(rnd() % 4);
    for (int w = 0; w < nw; w++) {
      strcat(t, WORDS[rnd() % N_WORDS]);
      if (w + 1 < nw) strcat(t, " ");
    }
    r->text = t;
  }
  r->tomb = with_tomb && rnd() % 7 == 0;
}

/* The user schema {id int64 pk, cat int32?, vec fixed_size_list<f32,4>?,
 * text utf8?} (+ `_tombstone` bool when with_tomb). */
static void schema_free_release(struct ArrowSchema *s) {
  for (int64_t i = 0; i < s->n_children; i++) {
    struct ArrowSchema *c = s->children[i];
    for (int64_t j = 0; j < c->n_children; j++) free(c->children[j]);
    free(c->children);
    free(c);
  }
  free(s->children);
  s->release = NULL;
}

static void noop_schema_release(struct ArrowSchema *s) { s->release = NULL; }

static struct ArrowSchema *field(const char *fmt, const char *name, int64_t flags, const char *md) {
  struct ArrowSchema *f = calloc(1, sizeof *f);
  *f = (struct ArrowSchema){.format = fmt, .name = name, .metadata = md, .flags = flags,
                            .release = noop_schema_release};
  return f;
}

static const char PK_MD[] = {1, 0, 0, 0, 44, 0, 0, 0, 'l', 'a', 'n', 'c', 'e', '-', 's', 'c', 'h', 'e', 'm', 'a', ':',
                             'u', 'n', 'e', 'n', 'f', 'o', 'r', 'c', 'e', 'd', '-', 'p', 'r', 'i', 'm', 'a', 'r', 'y',
                             '-', 'k', 'e', 'y', ':', 'p', 'o', 's', 'i', 't', 'i', 'o', 'n', 1, 0, 0, 0, '1'};

static void make_schema_q(struct ArrowSchema *s, int with_tomb) {
  int n = with_tomb ? 5 : 4;
  struct ArrowSchema **k = calloc((size_t)n, sizeof *k);
  k[0] = field("l", "id", 0, PK_MD);
  k[1] = field("i", "cat", ARROW_FLAG_NULLABLE, NULL);
  k[2] = field("+w:4", "vec", ARROW_FLAG_NULLABLE, NULL);
  k[2]->n_children = 1;
  k[2]->children = calloc(1, sizeof *k[2]->children);
  k[2]->children[0] = field("f", "item", ARROW_FLAG_NULLABLE, NULL);
  k[3] = field("u", "text", ARROW_FLAG_NULLABLE, NULL);
  if (with_tomb) k[4] = field("b", "_tombstone", 0, NULL);
  *s = (struct ArrowSchema){.format = "+s", .name = "", .n_children = n, .children = k, .release = schema_free_release};
}

/* An owned batch of rows (one malloc per buffer, freed by release). */
typedef struct tb {
  struct ArrowArray root, cols[5], items;
  struct ArrowArray *kids[5], *item_kid[1];
  const void *bufs[5][3], *root_bufs[1], *item_bufs[2];
  void *mem[16];
  int n_mem;
} tb;

static void tb_kid_release(struct ArrowArray *a) { a->release = NULL; }
static void tb_release_all(struct ArrowArray *a) {
  tb *t = a->private_data;
  for (int i = 0; i < t->n_mem; i++) free(t->mem[i]);
  free(t);
  a->release = NULL;
}
static void *tb_alloc(tb *t, size_t n) {
  void *p = calloc(1, n ? n : 1);
  t->mem[t->n_mem++] = p;
  return p;
}
static void set_bit(uint8_t *bm, int64_t i, int v) {
  if (v) bm[i / 8] |= (uint8_t)(1u << (i % 8));
}

static struct ArrowArray make_batch_q(const trow *rows, int64_t n, int with_tomb) {
  tb *t = calloc(1, sizeof *t);
  int nc = with_tomb ? 5 : 4;
  size_t bm = (size_t)(n + 7) / 8;
  int64_t *ids = tb_alloc(t, (size_t)n * 8);
  uint8_t *cat_v = tb_alloc(t, bm), *vec_v = tb_alloc(t, bm), *txt_v = tb_alloc(t, bm), *tomb = tb_alloc(t, bm);
  int32_t *cats = tb_alloc(t, (size_t)n * 4);
  float *vecs = tb_alloc(t, (size_t)n * DIM * 4);
  int32_t *offs = tb_alloc(t, (size_t)(n + 1) * 4);
  size_t tl = 0;
  for (int64_t i = 0; i < n; i++) tl += rows[i].text ? strlen(rows[i].text) : 0;
  char *data = tb_alloc(t, tl);
  int64_t nn[4] = {0};
  for (int64_t i = 0; i < n; i++) {
    const trow *r = &rows[i];
    ids[i] = r->id;
    cats[i] = r->cat;
    set_bit(cat_v, i, !r->cat_null);
    nn[1] += r->cat_null;
    memcpy(vecs + i * DIM, r->vec, sizeof r->vec);
    set_bit(vec_v, i, !r->vec_null);
    nn[2] += r->vec_null;
    set_bit(txt_v, i, r->text != NULL);
    nn[3] += r->text == NULL;
    size_t l = r->text ? strlen(r->text) : 0;
    memcpy(data + offs[i], r->text ? r->text : "", l);
    offs[i + 1] = offs[i] + (int32_t)l;
    set_bit(tomb, i, r->tomb);
  }
  t->bufs[0][0] = NULL;
  t->bufs[0][1] = ids;
  t->bufs[1][0] = cat_v;
  t->bufs[1][1] = cats;
  t->bufs[2][0] = vec_v;
  t->bufs[3][0] = txt_v;
  t->bufs[3][1] = offs;
  t->bufs[3][2] = data;
  t->bufs[4][0] = NULL;
  t->bufs[4][1] = tomb;
  t->item_bufs[0] = NULL;
  t->item_bufs[1] = vecs;
  t->items = (struct ArrowArray){.length = n * DIM, .n_buffers = 2, .buffers = t->item_bufs, .release = tb_kid_release};
  t->item_kid[0] = &t->items;
  int nbuf[5] = {2, 2, 1, 3, 2};
  for (int c = 0; c < nc; c++) {
    t->cols[c] = (struct ArrowArray){.length = n, .null_count = c < 4 ? nn[c] : 0, .n_buffers = nbuf[c],
                                     .buffers = t->bufs[c], .release = tb_kid_release};
    t->kids[c] = &t->cols[c];
  }
  t->cols[2].n_children = 1;
  t->cols[2].children = t->item_kid;
  t->root_bufs[0] = NULL;
  struct ArrowArray a = {.length = n, .n_buffers = 1, .n_children = nc, .buffers = t->root_bufs, .children = t->kids,
                         .release = tb_release_all, .private_data = t};
  return a;
}

/* ------------------------------------------------------------ reference */

typedef struct model {
  trow *rows; /* every row put, in order */
  size_t n, cap;
} model;

static void model_add(model *m, const trow *r) {
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 256;
    m->rows = realloc(m->rows, m->cap * sizeof *m->rows);
  }
  m->rows[m->n++] = *r;
}

/* live[i]: row i (of the first n) is the newest of its key and not a delete. */
static unsigned char *model_live(const model *m, size_t n) {
  unsigned char *live = calloc(n ? n : 1, 1);
  for (size_t i = n; i-- > 0;) {
    int newer = 0;
    for (size_t j = i + 1; j < n && !newer; j++) newer = m->rows[j].id == m->rows[i].id;
    live[i] = !newer && !m->rows[i].tomb;
  }
  return live;
}

/* ------------------------------------------------------------ results */

typedef struct res {
  int64_t id[4096];
  float extra[4096];
  size_t n;
} res;

static void collect(res *r, struct ArrowArrayStream *st, int has_extra) {
  r->n = 0;
  struct ArrowSchema s;
  CHECK(st->get_schema(st, &s) == 0);
  int64_t id_col = -1;
  for (int64_t i = 0; i < s.n_children; i++)
    if (strcmp(s.children[i]->name, "id") == 0) id_col = i;
  if (has_extra) CHECK(strcmp(s.children[s.n_children - 1]->format, "f") == 0);
  for (;;) {
    struct ArrowArray a;
    CHECK(st->get_next(st, &a) == 0);
    if (!a.release) break;
    for (int64_t i = 0; i < a.length && r->n < 4096; i++) {
      if (id_col >= 0) {
        const struct ArrowArray *c = a.children[id_col];
        r->id[r->n] = ((const int64_t *)c->buffers[1])[c->offset + a.offset + i];
      }
      if (has_extra) {
        const struct ArrowArray *c = a.children[a.n_children - 1];
        r->extra[r->n] = ((const float *)c->buffers[1])[c->offset + i];
      }
      r->n++;
    }
    a.release(&a);
  }
  s.release(&s);
  st->release(st);
}

static float l2(const float *a, const float *b) {
  float s = 0;
  for (int d = 0; d < DIM; d++) s += (a[d] - b[d]) * (a[d] - b[d]);
  return s;
}

/* ------------------------------------------------------------ MemTables */

static mw_index_config ix_cfg[3];
static void init_ix(void) {
  mw_index_config_init(&ix_cfg[0], "cat_idx", "cat", MW_INDEX_BTREE);
  mw_index_config_init(&ix_cfg[1], "vec_idx", "vec", MW_INDEX_HNSW);
  mw_index_config_init(&ix_cfg[2], "text_idx", "text", MW_INDEX_FTS);
}

/* Three MemTables (two "frozen", one active) with overwrites and deletes
 * across them; every kind of query against the model. */
static void test_memtables_vs_model(void) {
  init_ix();
  struct ArrowSchema sch;
  make_schema_q(&sch, 1);
  mw_memtable *mts[3];
  model m = {0};
  size_t per_mt = 600;
  for (int k = 0; k < 3; k++) {
    CHECK_OK(mw_memtable_new(&mts[k], &sch, (uint64_t)k + 1, ix_cfg, 3, NULL), NULL);
    for (size_t b = 0; b < per_mt / 50; b++) {
      trow rows[50];
      for (int i = 0; i < 50; i++) {
        random_row(&rows[i], (int64_t)(rnd() % 700), 1);
        model_add(&m, &rows[i]);
      }
      struct ArrowArray a = make_batch_q(rows, 50, 1);
      CHECK_OK(mw_memtable_insert(NULL, mts[k], &a, 1, (b % 2) == 0, NULL), NULL);
    }
    CHECK_OK(mw_memtable_index_pending(NULL, mts[k], NULL), NULL);
  }
  uint64_t vis[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX};
  unsigned char *live = model_live(&m, m.n);
  static res r;
  struct ArrowArrayStream st;
  mw_query q;

  /* scan: every live row, in insertion order */
  mw_query_init(&q);
  CHECK_OK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, NULL), NULL);
  collect(&r, &st, 0);
  size_t want = 0, bad = 0;
  for (size_t i = 0; i < m.n; i++)
    if (live[i]) {
      if (want >= r.n || r.id[want] != m.rows[i].id) bad++;
      want++;
    }
  CHECK(r.n == want);
  CHECK(bad == 0);

  /* filter */
  mw_expr *f = NULL;
  CHECK_OK(mw_expr_parse(&f, "(cat >= 3 AND cat < 7) OR text IS NULL OR id IN (1, 2, 3)", NULL), NULL);
  q.filter = f;
  q.limit = 0;
  CHECK_OK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, NULL), NULL);
  collect(&r, &st, 0);
  want = 0, bad = 0;
  for (size_t i = 0; i < m.n; i++) {
    const trow *x = &m.rows[i];
    int pass = (!x->cat_null && x->cat >= 3 && x->cat < 7) || !x->text || x->id == 1 || x->id == 2 || x->id == 3;
    if (live[i] && pass) {
      if (want >= r.n || r.id[want] != x->id) bad++;
      want++;
    }
  }
  CHECK(r.n == want);
  CHECK(bad == 0);
  /* filters a BTree term answers (cat has a BTree index): candidates from
   * the tree, then liveness and the whole filter row by row */
  {
    const char *texts[5] = {"cat >= 8 AND id < 500", "cat = 4", "cat IN (1, 9) AND text IS NOT NULL",
                            "cat > 2 AND cat <= 4", "cat >= 5 AND cat < 6 AND id >= 100"};
    for (int c = 0; c < 5; c++) {
      mw_expr *fe = NULL;
      CHECK_OK(mw_expr_parse(&fe, texts[c], NULL), NULL);
      mw_query qq;
      mw_query_init(&qq);
      qq.filter = fe;
      CHECK_OK(mw_memtable_query(&st, mts, vis, 3, &qq, NULL, 0, NULL), NULL);
      collect(&r, &st, 0);
      size_t w2 = 0, b2 = 0;
      for (size_t i = 0; i < m.n; i++) {
        const trow *x = &m.rows[i];
        int pass = c == 0   ? !x->cat_null && x->cat >= 8 && x->id < 500
                   : c == 1 ? !x->cat_null && x->cat == 4
                   : c == 2 ? !x->cat_null && (x->cat == 1 || x->cat == 9) && x->text
                   : c == 3 ? !x->cat_null && x->cat > 2 && x->cat <= 4
                            : !x->cat_null && x->cat == 5 && x->id >= 100;
        if (live[i] && pass) {
          if (w2 >= r.n || r.id[w2] != x->id) b2++;
          w2++;
        }
      }
      CHECK(r.n == w2);
      CHECK(w2 > 0);
      CHECK(b2 == 0);
      mw_expr_free(fe);
    }
  }
  /* limit */
  q.limit = 5;
  CHECK_OK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, NULL), NULL);
  collect(&r, &st, 0);
  CHECK(r.n == (want < 5 ? want : 5));
  q.limit = 0;
  mw_expr_free(f);
  q.filter = NULL;

  /* point lookup: present, deleted, absent and repeated keys */
  int64_t keys[64];
  for (int i = 0; i < 64; i++) keys[i] = (int64_t)(rnd() % 800);
  keys[1] = keys[0];
  struct ArrowSchema ks = {.format = "l", .name = "id", .release = noop_schema_release};
  uint8_t kvalid[8];
  memset(kvalid, 0xff, sizeof kvalid);
  kvalid[0] &= (uint8_t)~(1u << 5); /* key 5 is null: it names no row */
  const void *kb[2] = {kvalid, keys};
  struct ArrowArray ka = {.length = 64, .null_count = 1, .n_buffers = 2, .buffers = kb, .release = tb_kid_release};
  ks.flags = ARROW_FLAG_NULLABLE;
  q.keys_schema = &ks;
  q.keys = &ka;
  CHECK_OK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, NULL), NULL);
  collect(&r, &st, 0);
  want = 0, bad = 0;
  for (int i = 0; i < 64; i++) {
    if (i == 5) continue;
    int found = 0;
    for (size_t j = 0; j < m.n; j++) found |= live[j] && m.rows[j].id == keys[i];
    if (found) {
      if (want >= r.n || r.id[want] != keys[i]) bad++;
      want++;
    }
  }
  CHECK(r.n == want);
  CHECK(bad == 0);
  q.keys_schema = NULL;
  q.keys = NULL;

  /* k-NN: exact equals brute force (ids and distances); graph recall */
  double recall_sum = 0;
  int n_q = 20;
  for (int t = 0; t < n_q; t++) {
    float qv[DIM];
    for (int d = 0; d < DIM; d++) qv[d] = rndf();
    /* brute force over live rows with a vector */
    size_t cand[4096], nc = 0;
    for (size_t i = 0; i < m.n; i++)
      if (live[i] && !m.rows[i].vec_null) cand[nc++] = i;
    /* selection of the 10 nearest (ties by insertion order) */
    size_t best[10];
    size_t nb = 0;
    for (size_t c = 0; c < nc; c++) {
      float dc = l2(qv, m.rows[cand[c]].vec);
      size_t pos = nb;
      while (pos > 0 && l2(qv, m.rows[best[pos - 1]].vec) > dc) pos--;
      if (pos >= 10) continue;
      if (nb < 10) nb++;
      memmove(best + pos + 1, best + pos, (nb - 1 - pos) * sizeof *best);
      best[pos] = cand[c];
    }
    q.nearest_column = "vec";
    q.vector = qv;
    q.dim = DIM;
    q.k = 10;
    q.ef = MW_EF_EXACT;
    CHECK_OK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, NULL), NULL);
    collect(&r, &st, 1);
    CHECK(r.n == nb);
    for (size_t i = 0; i < nb && i < r.n; i++) {
      CHECK(fabsf(r.extra[i] - l2(qv, m.rows[best[i]].vec)) < 1e-5f);
      if (i > 0) CHECK(r.extra[i] >= r.extra[i - 1]);
    }
    q.ef = 0; /* the graph */
    CHECK_OK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, NULL), NULL);
    collect(&r, &st, 1);
    CHECK(r.n == nb);
    size_t hit = 0;
    for (size_t i = 0; i < r.n; i++) {
      /* every row returned is live, with its true distance */
      int ok = 0;
      for (size_t c = 0; c < nc && !ok; c++)
        ok = m.rows[cand[c]].id == r.id[i] && fabsf(l2(qv, m.rows[cand[c]].vec) - r.extra[i]) < 1e-5f;
      CHECK(ok);
      for (size_t j = 0; j < nb; j++) hit += m.rows[best[j]].id == r.id[i];
    }
    recall_sum += nb ? (double)hit / (double)nb : 1.0;
  }
  printf("  k-NN over 3 MemTables: recall@10 at the default ef = %.3f\n", recall_sum / n_q);
  CHECK(recall_sum / n_q >= 0.95);
  /* a filter makes k-NN exact over the filtered rows */
  {
    float qv[DIM] = {0.5f, 0.5f, 0.5f, 0.5f};
    CHECK_OK(mw_expr_parse(&f, "cat = 4", NULL), NULL);
    q.filter = f;
    q.vector = qv;
    q.ef = 0;
    CHECK_OK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, NULL), NULL);
    collect(&r, &st, 1);
    float prev = -1;
    size_t n4 = 0;
    for (size_t i = 0; i < m.n; i++) n4 += live[i] && !m.rows[i].vec_null && !m.rows[i].cat_null && m.rows[i].cat == 4;
    CHECK(r.n == (n4 < 10 ? n4 : 10));
    for (size_t i = 0; i < r.n; i++) {
      int ok = 0;
      for (size_t j = 0; j < m.n && !ok; j++)
        ok = live[j] && m.rows[j].id == r.id[i] && !m.rows[j].cat_null && m.rows[j].cat == 4;
      CHECK(ok);
      CHECK(r.extra[i] >= prev);
      prev = r.extra[i];
    }
    mw_expr_free(f);
    q.filter = NULL;
  }
  q.nearest_column = NULL;
  q.vector = NULL;

  /* FTS: BM25 over the indexed rows of the three MemTables, live rows only */
  {
    const char *qt = "Running fox apple";
    q.fts_column = "text";
    q.fts_text = qt;
    q.k = 10;
    CHECK_OK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, NULL), NULL);
    collect(&r, &st, 1);
    /* reference: tokens of every indexed text (every row with text, any
     * version), scores of live rows */
    mw_fts_tokenizer *tk = NULL;
    CHECK_OK(mw_fts_tokenizer_create(&tk, NULL), NULL);
    mw_fts_tokens qtok = {0};
    CHECK_OK(mw_fts_tokenize(&qtok, tk, qt, strlen(qt), NULL), NULL);
    uint64_t N = 0, total = 0;
    static uint32_t dl[8192], tf[8192][4];
    uint64_t df[4] = {0};
    for (size_t i = 0; i < m.n; i++) {
      dl[i] = 0;
      memset(tf[i], 0, sizeof tf[i]);
      if (!m.rows[i].text) continue;
      mw_fts_tokens dt = {0};
      CHECK_OK(mw_fts_tokenize(&dt, tk, m.rows[i].text, strlen(m.rows[i].text), NULL), NULL);
      if (dt.n == 0) {
        mw_fts_tokens_free(&dt);
        continue;
      }
      N++;
      total += dt.n;
      dl[i] = (uint32_t)dt.n;
      for (size_t a = 0; a < qtok.n && a < 4; a++) {
        for (size_t b = 0; b < dt.n; b++)
          tf[i][a] += dt.v[b].len == qtok.v[a].len && memcmp(dt.text + dt.v[b].offset, qtok.text + qtok.v[a].offset, dt.v[b].len) == 0;
        df[a] += tf[i][a] > 0;
      }
      mw_fts_tokens_free(&dt);
    }
    double avgdl = (double)total / (double)N;
    static double score[8192];
    size_t order[8192], no = 0;
    for (size_t i = 0; i < m.n; i++) {
      score[i] = 0;
      int any = 0;
      for (size_t a = 0; a < qtok.n && a < 4; a++)
        if (tf[i][a]) {
          any = 1;
          score[i] += mw_bm25_idf(N, df[a]) * mw_bm25_weight(tf[i][a], dl[i], avgdl);
        }
      if (live[i] && any) order[no++] = i;
    }
    /* sort by score desc, ties by insertion order */
    for (size_t a = 1; a < no; a++)
      for (size_t b = a; b > 0 && (score[order[b]] > score[order[b - 1]] ||
                                   (score[order[b]] == score[order[b - 1]] && order[b] < order[b - 1]));
           b--) {
        size_t t = order[b];
        order[b] = order[b - 1];
        order[b - 1] = t;
      }
    CHECK(r.n == (no < 10 ? no : 10));
    for (size_t i = 0; i < r.n; i++) {
      CHECK(fabs((double)r.extra[i] - score[order[i]]) < 1e-4);
      /* equal scores may order either way only when truly equal */
      if (r.id[i] != m.rows[order[i]].id) CHECK(fabs(score[order[i]] - (double)r.extra[i]) < 1e-6);
    }
    mw_fts_tokens_free(&qtok);
    mw_fts_tokenizer_free(tk);
    q.fts_column = NULL;
    q.fts_text = NULL;
  }

  /* visibility: a cursor hides later rows */
  {
    uint64_t v2[3] = {UINT64_MAX, UINT64_MAX, 10};
    mw_query_init(&q);
    CHECK_OK(mw_memtable_query(&st, mts, v2, 3, &q, NULL, 0, NULL), NULL);
    collect(&r, &st, 0);
    unsigned char *lv = model_live(&m, 2 * per_mt + 10);
    size_t w2 = 0;
    for (size_t i = 0; i < 2 * per_mt + 10; i++) w2 += lv[i];
    CHECK(r.n == w2);
    free(lv);
  }

  /* bad queries */
  mw_query_init(&q);
  mw_error e = {0};
  q.nearest_column = "vec";
  float v3[3] = {0, 0, 0};
  q.vector = v3;
  q.dim = 3;
  CHECK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, &e) == MW_ERR_INVALID);
  CHECK(strstr(e.message, "dimensions") != NULL);
  q.fts_column = "text";
  q.fts_text = "x";
  CHECK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, &e) == MW_ERR_INVALID);
  mw_query_init(&q);
  q.fts_column = "cat";
  q.fts_text = "x";
  CHECK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, &e) == MW_ERR_INVALID);
  CHECK(strstr(e.message, "full-text") != NULL);
  mw_query_init(&q);
  const char *bad_cols[] = {"nope"};
  q.columns = bad_cols;
  q.n_columns = 1;
  CHECK(mw_memtable_query(&st, mts, vis, 3, &q, NULL, 0, &e) == MW_ERR_INVALID);

  free(live);
  free(m.rows);
  for (int k = 0; k < 3; k++) mw_memtable_free(mts[k]);
  sch.release(&sch);
}

/* ------------------------------------------------------------ writer */

static mw_objstore *mem_store(void) {
  mw_objstore *s = NULL;
  char uri[128];
  snprintf(uri, sizeof uri, "memory://query-%llu", (unsigned long long)rnd());
  CHECK_OK(mw_objstore_open(&s, uri, NULL, NULL), NULL);
  return s;
}

static void put_rows(mw_shard_writer *w, const trow *rows, int64_t n) {
  struct ArrowArray a = make_batch_q(rows, n, 0);
  CHECK_OK(mw_shard_writer_put(NULL, w, &a, 1, NULL), NULL);
}

/* Through a ShardWriter: read-your-writes, deletes, replay equivalence. */
static void test_writer_query_and_replay(void) {
  init_ix();
  mw_objstore *store = mem_store();
  struct ArrowSchema sch;
  make_schema_q(&sch, 0);
  mw_shard_writer_config cfg;
  mw_shard_writer_config_init(&cfg);
  snprintf(cfg.shard_id, sizeof cfg.shard_id, "22222222-2222-4222-8222-222222222222");
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, store, &cfg, &sch, ix_cfg, 3, NULL), NULL);
  model m = {0};
  for (int b = 0; b < 20; b++) {
    trow rows[25];
    for (int i = 0; i < 25; i++) {
      random_row(&rows[i], (int64_t)(rnd() % 300), 0);
      model_add(&m, &rows[i]);
    }
    put_rows(w, rows, 25);
    /* read-your-writes: the put's last row is visible at once */
    int64_t key = rows[24].id;
    struct ArrowSchema ks = {.format = "l", .name = "id", .release = noop_schema_release};
    const void *kb[2] = {NULL, &key};
    struct ArrowArray ka = {.length = 1, .n_buffers = 2, .buffers = kb, .release = tb_kid_release};
    mw_query q;
    mw_query_init(&q);
    q.keys_schema = &ks;
    q.keys = &ka;
    struct ArrowArrayStream st;
    static res r;
    CHECK_OK(mw_shard_writer_query(&st, w, &q, NULL), NULL);
    collect(&r, &st, 0);
    CHECK(r.n == 1 && r.id[0] == key);
    /* and the vector search finds it (its exact vector, distance 0) */
    if (!rows[24].vec_null) {
      q.keys = NULL;
      q.keys_schema = NULL;
      q.nearest_column = "vec";
      q.vector = rows[24].vec;
      q.dim = DIM;
      q.k = 1;
      CHECK_OK(mw_shard_writer_query(&st, w, &q, NULL), NULL);
      collect(&r, &st, 1);
      CHECK(r.n == 1 && r.extra[0] == 0.0f);
    }
  }
  /* deletes hide keys */
  int64_t del[3] = {m.rows[0].id, m.rows[1].id, 99999};
  {
    struct ArrowSchema ks = {.format = "+s", .name = "", .release = noop_schema_release};
    struct ArrowSchema kid = {.format = "l", .name = "id", .release = noop_schema_release};
    struct ArrowSchema *kk[1] = {&kid};
    ks.n_children = 1;
    ks.children = kk;
    /* the writer keeps the keys' buffers (zero-copy): an owned batch */
    tb *kt = calloc(1, sizeof *kt);
    int64_t *ids = tb_alloc(kt, sizeof del);
    memcpy(ids, del, sizeof del);
    kt->bufs[0][1] = ids;
    kt->cols[0] = (struct ArrowArray){.length = 3, .n_buffers = 2, .buffers = kt->bufs[0], .release = tb_kid_release};
    kt->kids[0] = &kt->cols[0];
    struct ArrowArray ka = {.length = 3, .n_buffers = 1, .n_children = 1, .buffers = kt->root_bufs,
                            .children = kt->kids, .release = tb_release_all, .private_data = kt};
    CHECK_OK(mw_shard_writer_delete(NULL, w, &ka, &ks, NULL), NULL);
    for (int i = 0; i < 3; i++) {
      trow t = {0};
      t.id = del[i];
      t.tomb = 1;
      model_add(&m, &t);
    }
  }
  /* every kind of query before and after a reopen (replay) is identical */
  static res before[4], after[4];
  float qv[DIM] = {0.3f, 0.6f, 0.2f, 0.9f};
  mw_expr *f = NULL;
  CHECK_OK(mw_expr_parse(&f, "cat != 2 AND text IS NOT NULL", NULL), NULL);
  for (int round = 0; round < 2; round++) {
    res *out = round == 0 ? before : after;
    mw_query q;
    struct ArrowArrayStream st;
    mw_query_init(&q);
    CHECK_OK(mw_shard_writer_query(&st, w, &q, NULL), NULL);
    collect(&out[0], &st, 0);
    q.filter = f;
    CHECK_OK(mw_shard_writer_query(&st, w, &q, NULL), NULL);
    collect(&out[1], &st, 0);
    q.filter = NULL;
    q.nearest_column = "vec";
    q.vector = qv;
    q.dim = DIM;
    q.k = 20;
    CHECK_OK(mw_shard_writer_query(&st, w, &q, NULL), NULL);
    collect(&out[2], &st, 1);
    mw_query_init(&q);
    q.fts_column = "text";
    q.fts_text = "banana hotel";
    q.k = 20;
    CHECK_OK(mw_shard_writer_query(&st, w, &q, NULL), NULL);
    collect(&out[3], &st, 1);
    if (round == 0) {
      CHECK_OK(mw_shard_writer_close(w, NULL), NULL);
      w = NULL;
      CHECK_OK(mw_shard_writer_open(&w, store, &cfg, &sch, ix_cfg, 3, NULL), NULL);
    }
  }
  mw_expr_free(f);
  for (int k = 0; k < 4; k++) {
    CHECK(before[k].n == after[k].n);
    CHECK(before[k].n > 0);
    int same = 1;
    for (size_t i = 0; i < before[k].n && i < after[k].n; i++)
      same &= before[k].id[i] == after[k].id[i] && before[k].extra[i] == after[k].extra[i];
    CHECK(same);
  }
  /* the scan equals the model */
  unsigned char *live = model_live(&m, m.n);
  size_t want = 0, bad = 0;
  for (size_t i = 0; i < m.n; i++)
    if (live[i]) {
      if (want >= before[0].n || before[0].id[want] != m.rows[i].id) bad++;
      want++;
    }
  CHECK(before[0].n == want);
  CHECK(bad == 0);
  free(live);
  /* the index memory is counted in the MemTable's size */
  mw_memtable_stats ms;
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, NULL), NULL);
  CHECK(ms.estimated_size > 500u * 100u);
  CHECK_OK(mw_shard_writer_close(w, NULL), NULL);
  /* WAL-only mode refuses indexes; index configs are checked */
  cfg.enable_memtable = 0;
  mw_error e = {0};
  CHECK(mw_shard_writer_open(&w, store, &cfg, &sch, ix_cfg, 3, &e) == MW_ERR_INVALID);
  cfg.enable_memtable = 1;
  mw_index_config bad_ix;
  mw_index_config_init(&bad_ix, "v", "text", MW_INDEX_HNSW);
  CHECK(mw_shard_writer_open(&w, store, &cfg, &sch, &bad_ix, 1, &e) == MW_ERR_INVALID);
  CHECK(strstr(e.message, "fixed_size_list<float32>") != NULL);
  mw_index_config_init(&bad_ix, "t", "cat", MW_INDEX_FTS);
  CHECK(mw_shard_writer_open(&w, store, &cfg, &sch, &bad_ix, 1, &e) == MW_ERR_INVALID);
  free(m.rows);
  sch.release(&sch);
  mw_objstore_close(store);
}

/* Concurrent puts (two threads, sync and async indexing) and queries: a
 * query never sees a row whose indexes are incomplete (every row a k-NN or
 * FTS query returns is also returned by the point lookup of its key), and a
 * putter always finds what it just put. */
typedef struct conc {
  mw_shard_writer *w;
  int base;
  int failures;
} conc;

static void *putter(void *arg) {
  conc *c = arg;
  for (int b = 0; b < 30; b++) {
    trow rows[20];
    for (int i = 0; i < 20; i++) random_row(&rows[i], c->base + b * 20 + i, 0);
    struct ArrowArray a = make_batch_q(rows, 20, 0);
    if (mw_shard_writer_put(NULL, c->w, &a, 1, NULL) != MW_OK) {
      c->failures++;
      if (a.release) a.release(&a);
      continue;
    }
    int64_t key = rows[19].id;
    struct ArrowSchema ks = {.format = "l", .name = "id", .release = noop_schema_release};
    const void *kb[2] = {NULL, &key};
    struct ArrowArray ka = {.length = 1, .n_buffers = 2, .buffers = kb, .release = tb_kid_release};
    mw_query q;
    mw_query_init(&q);
    q.keys_schema = &ks;
    q.keys = &ka;
    struct ArrowArrayStream st;
    if (mw_shard_writer_query(&st, c->w, &q, NULL) != MW_OK) {
      c->failures++;
      continue;
    }
    struct ArrowArray out;
    int64_t n = 0;
    while (st.get_next(&st, &out) == 0 && out.release) {
      n += out.length;
      out.release(&out);
    }
    st.release(&st);
    if (n != 1) c->failures++;
  }
  return NULL;
}

static void *querier(void *arg) {
  conc *c = arg;
  for (int i = 0; i < 40; i++) {
    mw_query q;
    mw_query_init(&q);
    pthread_mutex_lock(&rng_mu);
    float qv[DIM] = {rndf(), rndf(), rndf(), rndf()};
    pthread_mutex_unlock(&rng_mu);
    if (i % 2) {
      q.nearest_column = "vec";
      q.vector = qv;
      q.dim = DIM;
      q.k = 5;
    } else {
      q.fts_column = "text";
      q.fts_text = "apple golf";
    }
    struct ArrowArrayStream st;
    if (mw_shard_writer_query(&st, c->w, &q, NULL) != MW_OK) {
      c->failures++;
      continue;
    }
    struct ArrowArray out;
    while (st.get_next(&st, &out) == 0 && out.release) out.release(&out);
    st.release(&st);
  }
  return NULL;
}

static void test_concurrent(int sync_index) {
  init_ix();
  mw_objstore *store = mem_store();
  struct ArrowSchema sch;
  make_schema_q(&sch, 0);
  mw_shard_writer_config cfg;
  mw_shard_writer_config_init(&cfg);
  cfg.sync_indexed_write = sync_index;
  cfg.durable_write = sync_index; /* both visibility rules */
  cfg.async_index_interval_ms = 5;
  cfg.async_index_buffer_rows = 30;
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, store, &cfg, &sch, ix_cfg, 3, NULL), NULL);
  conc c[3] = {{w, 0, 0}, {w, 100000, 0}, {w, 0, 0}};
  pthread_t t[3];
  pthread_create(&t[0], NULL, putter, &c[0]);
  pthread_create(&t[1], NULL, putter, &c[1]);
  pthread_create(&t[2], NULL, querier, &c[2]);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  /* async indexing: the put returns before indexing, so its rows may be
   * invisible for a moment; a sync put's rows never are */
  if (sync_index) CHECK(c[0].failures + c[1].failures == 0);
  CHECK(c[2].failures == 0);
  /* once indexed, everything is visible */
  mw_memtable_stats ms;
  CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, NULL), NULL);
  CHECK_OK(mw_shard_writer_close(w, NULL), NULL);
  sch.release(&sch);
  mw_objstore_close(store);
}

static void test_concurrent_sync(void) { test_concurrent(1); }
static void test_concurrent_async(void) { test_concurrent(0); }

/* durable_write: a row whose WAL entry is not durable yet is in the
 * MemTable but no query sees it; once the entry lands it is visible. */
typedef struct slow_put {
  mw_shard_writer *w;
  mw_status st;
} slow_put;

static void *slow_putter(void *arg) {
  slow_put *p = arg;
  trow r;
  random_row(&r, 4242, 0);
  struct ArrowArray a = make_batch_q(&r, 1, 0);
  p->st = mw_shard_writer_put(NULL, p->w, &a, 1, NULL);
  if (a.release) a.release(&a);
  return NULL;
}

static size_t count_rows(mw_shard_writer *w) {
  mw_query q;
  mw_query_init(&q);
  struct ArrowArrayStream st;
  static res r;
  CHECK_OK(mw_shard_writer_query(&st, w, &q, NULL), NULL);
  collect(&r, &st, 0);
  return r.n;
}

static void no_log(void *arg, mw_log_level level, const char *msg) {
  (void)arg;
  (void)level;
  (void)msg;
}

static void test_durable_visibility(void) {
  init_ix();
  mw_objstore *inner = mem_store(), *store = NULL;
  CHECK_OK(mw_objstore_fault_new(&store, inner, NULL), NULL);
  struct ArrowSchema sch;
  make_schema_q(&sch, 0);
  mw_shard_writer_config cfg;
  mw_shard_writer_config_init(&cfg);
  snprintf(cfg.shard_id, sizeof cfg.shard_id, "33333333-3333-4333-8333-333333333333");
  cfg.retry_initial_backoff_ms = 20;
  cfg.retry_max_backoff_ms = 50;
  cfg.retry_max_attempts = 1000;
  cfg.retry_max_elapsed_ms = 0;
  cfg.log_fn = no_log; /* the injected WAL failures are expected */
  mw_shard_writer *w = NULL;
  CHECK_OK(mw_shard_writer_open(&w, store, &cfg, &sch, ix_cfg, 3, NULL), NULL);
  /* every WAL write fails until the fault is reset */
  mw_fault_spec spec = {MW_FAULT_WRITES, "_mem_wal/33333333-3333-4333-8333-333333333333/wal/", 1, MW_FAULT_ERROR,
                        MW_FAULT_PERSISTENT};
  CHECK_OK(mw_objstore_fault_arm(store, &spec, NULL), NULL);
  slow_put p = {w, MW_ERR_INTERNAL};
  pthread_t t;
  pthread_create(&t, NULL, slow_putter, &p);
  /* wait until the row is in the MemTable (and indexed) */
  mw_memtable_stats ms = {0};
  for (int i = 0; i < 2000 && ms.row_count == 0; i++) {
    CHECK_OK(mw_shard_writer_memtable_stats(&ms, w, NULL), NULL);
    struct timespec d = {0, 1000000};
    nanosleep(&d, NULL);
  }
  CHECK(ms.row_count == 1);
  struct timespec d = {0, 100000000};
  nanosleep(&d, NULL);
  CHECK(count_rows(w) == 0); /* in memory, not durable: invisible */
  mw_objstore_fault_reset(store);
  pthread_join(t, NULL);
  /* the durable put saw a failed WAL attempt: taken, not known durable */
  CHECK(p.st == MW_OK || p.st == MW_ERR_NOT_DURABLE);
  /* the retry lands the entry: then the row is visible */
  size_t n = 0;
  for (int i = 0; i < 400 && n == 0; i++) {
    n = count_rows(w);
    struct timespec d2 = {0, 5000000};
    if (n == 0) nanosleep(&d2, NULL);
  }
  CHECK(n == 1);
  CHECK_OK(mw_shard_writer_close(w, NULL), NULL);
  sch.release(&sch);
  mw_objstore_close(store);
  mw_objstore_close(inner);
}

int main(void) {
  MW_RUN(test_memtables_vs_model);
  MW_RUN(test_writer_query_and_replay);
  MW_RUN(test_concurrent_sync);
  MW_RUN(test_concurrent_async);
  MW_RUN(test_durable_visibility);
  return mw_test_finish();
}
