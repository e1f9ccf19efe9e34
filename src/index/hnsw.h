/* hnsw.h - an in-memory HNSW index (Malkov & Yashunin, "Efficient and
 * robust approximate nearest neighbor search using Hierarchical Navigable
 * Small World graphs", 2016/2018) over float32 vectors of one fixed
 * dimension, as a MemTable keeps for a fixed_size_list<float32> column.
 *
 * Parameters (Lance 12's MemTable defaults, LSM.md section 8):
 * max_connections M = 16 (upper levels keep at most M links per node, level
 * 0 keeps 2M as in the paper), ef_construction = 100, max_level = 7 (levels
 * 0..6; a node's level is floor(-ln(u) / ln(M)), capped).
 *
 * Distances (the `_distance` Lance reports; checked with LanceDB 0.39's
 * table.search(...).distanceType(m) on [1,1] vs [1,0], [0,2], [3,4]:
 * l2 -> 1, 2, 13; cosine -> 0.2929, 0.2929, 0.01005; dot -> 0, -1, -6):
 *   l2     = squared Euclidean distance, sum (a_i - b_i)^2 (no square root);
 *   cosine = 1 - a.b / (|a| |b|)  (1 when either vector is all zeros);
 *   dot    = 1 - a.b.
 * Smaller is nearer for all three.
 *
 * Row ids: the caller gives each vector its row id (the MemTable's uint64
 * insertion row number); results carry row ids. Internally a node id (u32)
 * is reserved per insert.
 *
 * Concurrency: inserts from any number of threads run concurrently with
 * each other and with searches (mw_hnsw_insert_batch runs them on several
 * threads). Locks:
 *   - node->mu (one per node) serialises the writers of that node's link
 *     lists (counts and ids at every level). A thread holds at most one
 *     node lock at a time (an insert links one neighbour at a time), so
 *     there is no lock order to respect. Readers take no lock: lists are
 *     atomics, an in-place rewrite is bracketed by a per-list sequence
 *     word and readers retry on a change (hnsw.c, "Link lists").
 *   - pool_mu guards the free list of per-call scratch objects (visited
 *     stamps, heaps), held only to pop or push one.
 *   - entry_mu guards entry_node and top_level (the graph's entry point).
 *   - cal_mu guards the background calibration thread's handle (taken to
 *     start or join it); the plan it computes is one atomic word, and
 *     `calibrating` (atomic) lets one caller at a time start one.
 *   - grow_mu serialises the allocation of a new storage chunk; published
 *     chunk pointers are read with acquire loads (chunks never move).
 *   - n_reserved (atomic) hands out node ids; node->ready (atomic, release
 *     store after the vector, row id and level are written) tells the exact
 *     scan which nodes are complete. A node's vector is written before any
 *     link to it is published (under a node lock), so a search that reaches
 *     a node through a link sees its vector.
 * A search may return a row whose insert has not returned yet (it is linked
 * already): callers that need a visibility cut pass a filter (e.g. row <
 * visible count).
 *
 * Memory: mw_hnsw_memory() counts every byte the index allocated (chunks,
 * link lists with a float distance beside each link slot, kept for
 * mw_hnsw_export: 4 (2M + M x upper levels) bytes per node, 128 B at M 16,
 * ~6% of a 512-d node), the scratch pool: about 4 bytes per node per thread that
 * searched or inserted concurrently), for MemTable size accounting. */
#ifndef MW_INDEX_HNSW_H
#define MW_INDEX_HNSW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/row_filter.h"
#include "memwal.h"

/* mw_metric (l2 | cosine | dot) is public: memwal.h. */

#define MW_HNSW_DEFAULT_M 16
#define MW_HNSW_DEFAULT_EF_CONSTRUCTION 100
#define MW_HNSW_MAX_LEVEL 7      /* levels 0..MW_HNSW_MAX_LEVEL-1 */
#define MW_HNSW_MAX_NODES (1u << 30)

typedef struct mw_hnsw_config {
  uint32_t dim;             /* vector dimension, >= 1 */
  mw_metric metric;
  uint32_t m;               /* max connections; 0 = 16 */
  uint32_t ef_construction; /* 0 = 100 */
  uint64_t seed;            /* level generator seed (0 is fine) */
} mw_hnsw_config;

typedef struct mw_hnsw mw_hnsw;

/* A search hit: row id and its distance (see the metric above). */
typedef struct mw_hnsw_hit {
  uint64_t row;
  float distance;
} mw_hnsw_hit;

const char *mw_metric_name(mw_metric m); /* "l2" | "cosine" | "dot" */
/* Parses "l2" | "cosine" | "dot" (case-insensitive). */
mw_status mw_metric_parse(mw_metric *out, const char *name, mw_error *err);

/* The distance between two vectors of dim floats, as defined above. */
float mw_vec_distance(mw_metric metric, const float *a, const float *b, uint32_t dim);
/* The same distance with a's inverse norm computed once for many b
 * (a_inv = mw_vec_inv_norm(a, dim); used by cosine only): bit for bit
 * mw_vec_distance(metric, a, b, dim). */
float mw_vec_inv_norm(const float *a, uint32_t dim);
float mw_vec_distance_pre(mw_metric metric, const float *a, float a_inv, const float *b, uint32_t dim);

/* Creates an empty index; free with mw_hnsw_free (no call may run
 * concurrently with it; it waits for a background calibration to end). */
mw_status mw_hnsw_create(mw_hnsw **out, const mw_hnsw_config *cfg, mw_error *err);
void mw_hnsw_free(mw_hnsw *h);

/* Inserts one vector (dim floats, copied) with its row id. Thread-safe.
 * MW_ERR_INVALID for a non-finite component; MW_ERR_NOMEM leaves the
 * index usable (the reserved node is then an unreachable hole). */
mw_status mw_hnsw_insert(mw_hnsw *h, uint64_t row, const float *vec, mw_error *err);

/* Inserts n vectors (vecs: n * dim floats, row i's at vecs + i * dim,
 * copied) with row ids rows[0..n) on `threads` threads (0 = the number of
 * online cores; never more than n; 1 = the calling thread only). Rows are
 * handed out in order from a shared counter, so which thread inserts which
 * row varies, and so does the graph (as with concurrent mw_hnsw_insert
 * calls). Thread-safe (may run concurrently with other inserts and
 * searches).
 * All or error: every vector is checked first; a non-finite component
 * returns MW_ERR_INVALID (naming the row and component) with no row
 * inserted. After that, an insert can fail only for resources
 * (MW_ERR_NOMEM, MW_ERR_INVALID "index full"): then no further rows are
 * started, the first error is returned, and the rows whose inserts had
 * completed stay in the index (searchable; which ones is not reported, so
 * a caller that needs to know treats the index as failed), the failing
 * row's node may be an unreachable hole as with mw_hnsw_insert.
 * MW_ERR_IO if a thread cannot be started (rows inserted so far stay). */
mw_status mw_hnsw_insert_batch(mw_hnsw *h, const uint64_t *rows, const float *vecs, size_t n,
                               unsigned threads, mw_error *err);

/* Approximate k nearest neighbours of `query`, nearest first (ties by row
 * id). `ef` is the search beam (raised to k). ef = 0 is the default
 * search: the cheapest one that keeps recall@10 >= 0.95 on this index's
 * own data, chosen by measuring (hnsw.c, "the default search"): the exact
 * scan below 2,048 nodes; above, a beam calibrated on held-out nodes
 * (ef_construction on clustered data, where recall@10 is ~0.98 at 100,000
 * x 128), or the exact scan when that recall needs a beam that costs half
 * a scan or more (uniform random 128-d vectors need ef ~1,600 at 100,000
 * rows, ef 800 at 20,000). The
 * first default search, and the first after each doubling of the index,
 * starts a calibration on a background thread and uses the previous plan
 * (the exact scan before the first) until it is done (README, "The
 * default search").
 * With a filter, only rows it keeps are returned: the graph is still walked
 * through every node, results are collected from kept rows only (for
 * selective filters prefer mw_hnsw_search_exact). `hits` has room for k;
 * *n_hits gets the count (< k when the index holds fewer matching rows).
 * Thread-safe. */
mw_status mw_hnsw_search(mw_hnsw_hit *hits, size_t *n_hits, const mw_hnsw *h,
                         const float *query, size_t k, size_t ef,
                         mw_row_filter_fn filter, void *filter_ctx, mw_error *err);

/* The beam mw_hnsw_search uses for ef = 0 at this k and the index's
 * current size, MW_HNSW_EF_EXACT for the exact scan (see mw_hnsw_search;
 * starts a background calibration when the plan is stale, as a default
 * search would, and returns the plan in force meanwhile). Thread-safe. */
#define MW_HNSW_EF_EXACT SIZE_MAX
size_t mw_hnsw_default_ef(const mw_hnsw *h, size_t k);

/* Brings the default search's plan up to date now: calibrates on the
 * calling thread if it is stale, or waits for the calibration running in
 * the background. Thread-safe. */
void mw_hnsw_calibrate(mw_hnsw *h);

/* Exact (brute-force) k nearest over every complete node the filter keeps
 * (NULL filter = all), nearest first, ties by row id. Thread-safe. */
mw_status mw_hnsw_search_exact(mw_hnsw_hit *hits, size_t *n_hits, const mw_hnsw *h,
                               const float *query, size_t k,
                               mw_row_filter_fn filter, void *filter_ctx, mw_error *err);

/* Number of complete nodes (inserts that returned MW_OK or are about to). */
size_t mw_hnsw_count(const mw_hnsw *h);
uint32_t mw_hnsw_dim(const mw_hnsw *h);
mw_metric mw_hnsw_metric(const mw_hnsw *h);
/* Bytes allocated by the index. */
size_t mw_hnsw_memory(const mw_hnsw *h);

/* A copy of the graph for serialisation (the MemTable flusher writes it as
 * Lance's IVF_HNSW_SQ index.idx, LSM.md sections 6 and 10). The caller
 * guarantees no insert runs concurrently (a frozen, fully indexed
 * MemTable). Nodes are the complete nodes, renumbered 0..n_nodes-1 in node
 * id order (holes left by failed inserts are dropped); neighbour ids use the
 * new numbering. Free with mw_hnsw_graph_free. */
typedef struct mw_hnsw_graph {
  uint32_t n_nodes;
  uint32_t dim;
  mw_metric metric;
  uint32_t m, ef_construction;
  uint32_t max_level;   /* MW_HNSW_MAX_LEVEL */
  uint32_t entry;       /* entry point node (valid when n_nodes > 0) */
  uint32_t top_level;   /* its level: the highest non-empty level */
  uint64_t *rows;       /* rows[i]: the row id of node i */
  uint8_t *levels;      /* levels[i]: the top level of node i */
  const float **vecs;   /* vecs[i]: node i's dim floats (owned by the index) */
  /* vmin[i] / vmax[i]: the smallest / largest of node i's floats, kept by
   * the index since the insert; of equal ones (-0.0, +0.0) the first in
   * component order, so a min over nodes in some order of their vmin is
   * the element a flat pass over those vectors in that order keeps */
  float *vmin, *vmax;   /* vmax points into vmin's block */
  /* Neighbours of node i at level l (l <= levels[i]):
   * nbr[l][off[l][i] .. off[l][i + 1]) (off[l] has n_nodes + 1 entries;
   * nodes below level l have empty lists). */
  uint32_t *off[MW_HNSW_MAX_LEVEL];
  uint32_t *nbr[MW_HNSW_MAX_LEVEL];
  /* dist[l][p]: the distance from the list's owner to nbr[l][p], as the
   * index computed it when it made the link (mw_vec_distance of the two
   * vectors, owner first, up to float rounding for cosine: the product of
   * the two inverse norms may associate the other way). */
  float *dist[MW_HNSW_MAX_LEVEL];
  /* mw_hnsw_export_nodes only (off, nbr and dist stay NULL): the links are
   * read in place from src by mw_hnsw_graph_links, through the two maps
   * between src's node ids and the export's numbering */
  const mw_hnsw *src;
  uint32_t *node_id;    /* node_id[i]: node i's id in src */
  uint32_t *num;        /* num[id]: src node id's number, UINT32_MAX if dropped */
  uint32_t n_src;       /* entries of num */
} mw_hnsw_graph;

mw_status mw_hnsw_export(mw_hnsw_graph *out, const mw_hnsw *h, mw_error *err);
/* The same export without copying the links (the flush reads each list
 * once, in place: no copy of every link and distance first). The index
 * must stay alive and unchanged (no insert) while the graph is used. */
mw_status mw_hnsw_export_nodes(mw_hnsw_graph *out, const mw_hnsw *h, mw_error *err);
/* Node i's neighbours at level l (l <= levels[i]) of an
 * mw_hnsw_export_nodes graph, in the export's numbering, with their stored
 * distances (as dist above), in list order: the count (at most 2 m), ids
 * and dists with room for 2 m each. Equal to what mw_hnsw_export lists. */
uint32_t mw_hnsw_graph_links(const mw_hnsw_graph *g, uint32_t i, uint32_t l, uint32_t *ids, float *dists);
void mw_hnsw_graph_free(mw_hnsw_graph *g);

#endif
