// Usage: node lance_query.mjs DIR [--rows N] [--dim D] [--k K] [--queries Q] [--batch B]
// (run with NODE_PATH or from a folder whose node_modules has @lancedb/lancedb 0.39 and
// apache-arrow; bench/compare_query.sh does both)
//
// The other side of `memwal bench-query`: LanceDB 0.39's in-process MemTable on the
// same workload, printing one JSON line with the same field names.
// Table DIR/t.lance: id int64 not null (unenforced primary key), vector
// fixed_size_list<float32>[D], text utf8; a 512-row base (ids 10^12 + i, vectors from
// the same generator with another seed) with indexes vector_idx IVF_PQ (l2, 2
// partitions, D/4 sub-vectors), text_idx FTS, id_idx BTree; LSM spec unsharded
// maintaining all three (Lance's MemTable mirrors the vector index as an HNSW),
// writer defaults except durable_write false (as memwal: non-durable puts; Lance's
// default sync_indexed_write: a mergeInsert returns once its rows are indexed).
// Data (bit for bit memwal bench-query's: the checksums in the JSON line match): ids
// 0..N-1, D floats uniform in [-0.5, 0.5) from xorshift64 seeded 0x9E3779B97F4A7C15
// (top 24 bits * 2^-24 - 0.5, as float), text "<w[i % 10]> <w[(i * 7) % 10]> item<i>";
// Q query vectors from seed 12345. Batches are built as Arrow IPC buffers before
// anything is timed.
// Timed: ingest = the N/B mergeInserts of B rows (insert-all, update-all on id);
// vec = table.search(vector).limit(K).select(["id"]) through the LSM path (base +
// MemTable), recall against the exact top K computed here over base + data rows;
// pk lookup = query().where("id = X") of X = (q * 37) % N, all columns; fts = 20
// search("item<(q * 13) % N>", "fts", "text").limit(K), all columns. Each query is one
// awaited toArray() (results converted to JS rows: that is what a caller gets).
// peak_rss_mb is node's ru_maxrss: the JS runtime, this script's copy of every vector
// (for the exact top K) and the IPC buffers included; rss_before_ingest_mb is the RSS
// once those are built, before the table is created.
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
const require = createRequire(import.meta.url);
const { fromDataToBuffer } = require(path.join(path.dirname(require.resolve("@lancedb/lancedb")), "arrow.js"));

const argv = process.argv.slice(2);
const DIR = argv[0];
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) { console.error(`lance_query: ${name} wants a positive integer`); process.exit(2); }
  return v;
};
if (!DIR || DIR.startsWith("-")) { console.error("usage: node lance_query.mjs DIR [--rows N] [--dim D] [--k K] [--queries Q] [--batch B]"); process.exit(2); }
const N = opt("--rows", 20000), D = opt("--dim", 128), K = opt("--k", 10), Q = opt("--queries", 50), B = opt("--batch", 1000);
const FTS_Q = 20, BASE = 512, BASE_ID = 1_000_000_000_000;
const W = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma"];
const now = () => Number(process.hrtime.bigint()) / 1e6;
const log = (m) => process.stderr.write(`lance_query: ${m}\n`);

// xorshift64 on two 32-bit halves (= bq_next in src/cli/cli_bench_query.c)
function rng(hi, lo) { return { hi: hi >>> 0, lo: lo >>> 0 }; }
function urand(s) {
  let hi = s.hi, lo = s.lo, h, l;
  h = (hi ^ ((hi << 13) | (lo >>> 19))) >>> 0; l = (lo ^ (lo << 13)) >>> 0; hi = h; lo = l;   // s ^= s << 13
  l = (lo ^ ((lo >>> 7) | (hi << 25))) >>> 0; h = (hi ^ (hi >>> 7)) >>> 0; hi = h; lo = l;    // s ^= s >> 7
  h = (hi ^ ((hi << 17) | (lo >>> 15))) >>> 0; l = (lo ^ (lo << 17)) >>> 0; hi = h; lo = l;   // s ^= s << 17
  s.hi = hi; s.lo = lo;
  return Math.fround((hi >>> 8) * 2 ** -24 - 0.5); // (float)((s >> 40) * 2^-24) - 0.5f
}
// FNV-1a over the floats' 32-bit patterns (= bq_fnv)
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
const fnv = (h, x) => { f32[0] = x; return Math.imul((h ^ u32[0]) >>> 0, 16777619) >>> 0; };
const hex = (h) => h.toString(16).padStart(8, "0");

const pkMeta = new Map([["lance-schema:unenforced-primary-key:position", "1"]]);
const vt = new A.FixedSizeList(D, new A.Field("item", new A.Float32(), true));
const schema = new A.Schema([new A.Field("id", new A.Int64(), false, pkMeta), new A.Field("vector", vt, true),
  new A.Field("text", new A.Utf8(), true)]);
const text = (id) => `${W[id % 10]} ${W[(id * 7) % 10]} item${id}`;

function batch(ids, vals) {
  const n = ids.length;
  const idD = A.makeData({ type: new A.Int64(), length: n, nullCount: 0, data: BigInt64Array.from(ids, BigInt) });
  const vD = A.makeData({ type: vt, length: n, nullCount: 0,
    child: A.makeData({ type: new A.Float32(), length: n * D, nullCount: 0, data: vals }) });
  const tD = A.vectorFromArray(ids.map(text), new A.Utf8()).data[0];
  return new A.Table([new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: n,
    nullCount: 0, children: [idD, vD, tD] }))]);
}

// data and queries, before anything is timed
const all = new Float32Array((N + BASE) * D); // data rows 0..N-1, then the base rows
const data = rng(0x9E3779B9, 0x7F4A7C15);
let vsum = 2166136261;
for (let i = 0; i < N * D; i++) vsum = fnv(vsum, all[i] = urand(data));
const qs = rng(0, 12345), qv = new Float32Array(Q * D);
let qsum = 2166136261;
for (let i = 0; i < Q * D; i++) qsum = fnv(qsum, qv[i] = urand(qs));
const bs = rng(0, 0xBA5E);
for (let i = N * D; i < (N + BASE) * D; i++) all[i] = urand(bs);
const bufs = [];
for (let s = 0; s < N; s += B) {
  const n = Math.min(B, N - s);
  bufs.push(await fromDataToBuffer(batch(Array.from({ length: n }, (_, i) => s + i), all.slice(s * D, (s + n) * D)),
    undefined, schema));
}

const rssBefore = process.memoryUsage().rss / 2 ** 20; // the data, query vectors and IPC buffers, before LanceDB works
const dir = path.resolve(DIR);
fs.rmSync(dir, { recursive: true, force: true });
const db = await lancedb.connect(dir);
const base = batch(Array.from({ length: BASE }, (_, i) => BASE_ID + i), all.slice(N * D));
const tbl = await db.createTable("t", base, { mode: "overwrite" });
await tbl.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: 2, numSubVectors: Math.max(1, Math.floor(D / 4)), distanceType: "l2" }) });
await tbl.createIndex("text", { config: lancedb.Index.fts() });
await tbl.createIndex("id", { config: lancedb.Index.btree() });
const maintained = ["id_idx", "text_idx", "vector_idx"];
await tbl.setLsmWriteSpec({ specType: "unsharded", maintainedIndexes: maintained,
  writerConfigDefaults: { durable_write: "false" } });
const indices = (await tbl.listIndices()).map((i) => `${i.name}:${i.indexType}`);
log(`table ready (${indices.join(", ")}); ingesting ${N} rows`);

// ingest
let t0 = now(), last = t0;
for (let b = 0; b < bufs.length; b++) {
  await tbl.inner.mergeInsert(["id"]).whenMatchedUpdateAll(undefined).whenNotMatchedInsertAll().execute(bufs[b]);
  bufs[b] = null; // garbage from here on
  if (now() - last > 1000) { last = now(); log(`${Math.min((b + 1) * B, N)}/${N} rows, ${Math.round((b + 1) * B / ((last - t0) / 1e3))} rows/s`); }
}
const ingestMs = now() - t0;

const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.round(p * (s.length - 1))]; };
const rows = N + BASE;
function exactTopK(q) { // ids of the K nearest rows (l2) over data + base
  const best = []; // [dist, id] sorted ascending, at most K
  for (let r = 0; r < rows; r++) {
    let d = 0;
    const o = r * D;
    for (let j = 0; j < D; j++) { const x = all[o + j] - qv[q * D + j]; d += x * x; }
    const id = r < N ? r : BASE_ID + (r - N);
    if (best.length < K) { best.push([d, id]); best.sort((x, y) => x[0] - y[0]); }
    else if (d < best[K - 1][0]) {
      best[K - 1] = [d, id];
      for (let i = K - 1; i > 0 && best[i - 1][0] > best[i][0]; i--) [best[i - 1], best[i]] = [best[i], best[i - 1]];
    }
  }
  return best.map((x) => x[1]);
}

// vector k-NN through the LSM path
const vl = [];
let recall = 0;
for (let q = 0; q < Q; q++) {
  const v = Array.from(qv.subarray(q * D, (q + 1) * D));
  const a = now();
  const res = await tbl.search(v).limit(K).select(["id"]).toArray();
  vl.push(now() - a);
  const got = new Set(res.map((r) => Number(r.id)));
  const ex = exactTopK(q);
  recall += ex.filter((id) => got.has(id)).length / Math.min(K, ex.length);
}
recall /= Q;

// point lookups
const pl = [];
for (let q = 0; q < Q; q++) {
  const key = (q * 37) % N;
  const a = now();
  const res = await tbl.query().where(`id = ${key}`).limit(K).toArray();
  pl.push(now() - a);
  if (res.length !== 1 || Number(res[0].id) !== key) throw new Error(`lookup of id ${key} returned ${res.length} rows`);
}

// full-text
const fl = [];
let firstOk = 0;
for (let q = 0; q < FTS_Q; q++) {
  const id = (q * 13) % N;
  const a = now();
  const res = await tbl.search(`item${id}`, "fts", "text").limit(K).toArray();
  fl.push(now() - a);
  firstOk += res.length >= 1 && Number(res[0].id) === id ? 1 : 0;
}

// generations Lance flushed meanwhile (folders *_gen_* under _mem_wal/<shard>/)
let gens = 0;
const mw = path.join(dir, "t.lance", "_mem_wal");
for (const s of fs.existsSync(mw) ? fs.readdirSync(mw) : []) {
  const sd = path.join(mw, s);
  if (fs.statSync(sd).isDirectory()) gens += fs.readdirSync(sd).filter((n) => n.includes("_gen_")).length;
}
const r3 = (x) => Math.round(x * 1000) / 1000;
console.log(JSON.stringify({
  engine: "lancedb-0.39", rows: N, dim: D, k: K, queries: Q, fts_queries: FTS_Q, batch_rows: B, base_rows: BASE,
  indices, ingest_seconds: r3(ingestMs / 1e3), ingest_rows_per_s: Math.round(N / (ingestMs / 1e3)),
  vec_p50_ms: r3(pct(vl, 0.5)), vec_p99_ms: r3(pct(vl, 0.99)), recall10: r3(recall),
  pk_lookup_p50_ms: r3(pct(pl, 0.5)), pk_lookup_p99_ms: r3(pct(pl, 0.99)),
  fts_p50_ms: r3(pct(fl, 0.5)), fts_p99_ms: r3(pct(fl, 0.99)), fts_first_share: firstOk / FTS_Q,
  generations_flushed: gens, rss_before_ingest_mb: Math.round(rssBefore * 10) / 10,
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024 * 10) / 10,
  vector_checksum: hex(vsum), query_checksum: hex(qsum),
}));
process.exit(0);
