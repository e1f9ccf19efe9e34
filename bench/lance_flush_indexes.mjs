// Usage: node lance_flush_indexes.mjs DIR ROWS INDEXES [DIM=512]
// Lance 12's (LanceDB 0.39) MemTable flush of ROWS rows, with or without
// maintained indexes: the other side of bench/compare_flush_indexes.sh.
// Rows: exactly bench_flush's (src/cli/gen_data.c: id int64 PK, vector
// fixed_size_list<float32>[DIM] from the same xorshift32 per 1000-row
// batch, text of 70 bytes "row %012d " + lorem words), as 1000-row Arrow
// IPC buffers built before anything is timed.
// Table: 300 base rows (ids 10^12 + i; an IVF index needs >= 256 rows), then
// with INDEXES=all: id_idx BTree(id), text_idx FTS(text), vector_idx
// IVF_HNSW_SQ(vector, l2, 1 partition), the LSM spec unsharded with
// maintainedIndexes [id_idx, text_idx, vector_idx] (Lance's MemTable keeps a
// BTree, an FTS and an HNSW index and its flush writes each into the
// generation); INDEXES=none: the same table without indexes, no maintained
// indexes. Writer defaults except durable_write false (as bench_flush:
// non-durable puts); sync_indexed_write is Lance's default (true), so every
// row is indexed when its mergeInsert returns.
// Timed: loop_ms = the 1000-row mergeInserts (incl. the in-memory
// indexing); close_ms = closeLsmWriters after the loop = Lance's flush (the
// WAL tail, the freeze, the generation with its index files, the manifest
// commit). Prints one JSON line.
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
const require = createRequire(import.meta.url);
const { fromDataToBuffer } = require(path.join(path.dirname(require.resolve("@lancedb/lancedb")), "arrow.js"));

const [DIR, ROWS = "100000", IDX = "none", DIMS = "512"] = process.argv.slice(2);
const dir = path.resolve(DIR), rows = Number(ROWS), D = Number(DIMS), B = 1000, TEXT = 70;
const withIdx = IDX === "all";
if (!withIdx && IDX !== "none") { console.error("INDEXES must be all or none"); process.exit(2); }
const now = () => Number(process.hrtime.bigint()) / 1e6;

const pkMeta = new Map([["lance-schema:unenforced-primary-key:position", "1"]]);
const vt = new A.FixedSizeList(D, new A.Field("item", new A.Float32(), true));
const schema = new A.Schema([new A.Field("id", new A.Int64(), false, pkMeta), new A.Field("vector", vt, true),
  new A.Field("text", new A.Utf8(), true)]);
const WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";

function batch(first, n) { // = mw_gen_batch(first, n, D)
  const ids = new BigInt64Array(n), vals = new Float32Array(n * D), txt = new Array(n);
  let x = (Math.imul(first, 2654435761 | 0) | 1) >>> 0;
  for (let i = 0; i < n; i++) ids[i] = BigInt(first + i);
  for (let j = 0; j < n * D; j++) {
    x = (x ^ (x << 13)) >>> 0; x = (x ^ (x >>> 17)) >>> 0; x = (x ^ (x << 5)) >>> 0;
    vals[j] = (x & 0xffff) / 65536;
  }
  for (let i = 0; i < n; i++) {
    let t = `row ${String(first + i).padStart(12, "0")} `;
    for (let k = t.length; k < TEXT; k++) t += WORDS[(k + i) % WORDS.length];
    txt[i] = t;
  }
  const idD = A.makeData({ type: new A.Int64(), length: n, nullCount: 0, data: ids });
  const vD = A.makeData({ type: vt, length: n, nullCount: 0,
    child: A.makeData({ type: new A.Float32(), length: n * D, nullCount: 0, data: vals }) });
  const tD = A.vectorFromArray(txt, new A.Utf8()).data[0];
  return new A.Table([new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: n,
    nullCount: 0, children: [idD, vD, tD] }))]);
}

const out = { rows, dim: D, indexes: withIdx ? "btree,fts,hnsw" : "none" };
const bufs = [];
for (let s = 0; s < rows; s += B) bufs.push(await fromDataToBuffer(batch(s, Math.min(B, rows - s)), undefined, schema));

fs.rmSync(dir, { recursive: true, force: true });
const db = await lancedb.connect(dir);
const base = batch(1e12, 300);
const tbl = await db.createTable("t", base, { mode: "overwrite" });
let maintained = [];
if (withIdx) {
  await tbl.createIndex("id", { config: lancedb.Index.btree() });
  await tbl.createIndex("text", { config: lancedb.Index.fts() });
  await tbl.createIndex("vector", { config: lancedb.Index.hnswSq({ numPartitions: 1, distanceType: "l2" }) });
  maintained = ["id_idx", "text_idx", "vector_idx"];
}
await tbl.setLsmWriteSpec({ specType: "unsharded", maintainedIndexes: maintained,
  writerConfigDefaults: { durable_write: "false" } });
out.indices = (await tbl.listIndices()).map((i) => `${i.name}:${i.indexType}`);

let t0 = now();
for (const b of bufs) await tbl.inner.mergeInsert(["id"]).whenMatchedUpdateAll(undefined).whenNotMatchedInsertAll().execute(b);
const t1 = now();
out.loop_ms = t1 - t0;
await tbl.closeLsmWriters();
out.close_ms = now() - t1;
out.input_mb = (rows * (8 + D * 4 + TEXT + 4)) / 1e6; // as mw_array_byte_size: + i32 text offsets
out.flush_mb_per_s = out.input_mb / (out.close_ms / 1e3);

// the generation Lance flushed: its folder and index files
const mw = path.join(dir, "t.lance", "_mem_wal");
let gens = [], idxBytes = 0, idxFiles = 0;
const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
  const p = path.join(d, e.name);
  if (e.isDirectory()) walk(p); else if (p.includes("/_indices/")) { idxFiles++; idxBytes += fs.statSync(p).size; } } };
for (const shard of fs.existsSync(mw) ? fs.readdirSync(mw) : []) {
  const sd = path.join(mw, shard);
  if (!fs.statSync(sd).isDirectory()) continue;
  for (const g of fs.readdirSync(sd).filter((n) => n.includes("_gen_"))) { gens.push(g); walk(path.join(sd, g)); }
}
Object.assign(out, { generations: gens.length, index_files: idxFiles, index_mb: idxBytes / 1e6 });
console.log(JSON.stringify(out));
process.exit(0);
