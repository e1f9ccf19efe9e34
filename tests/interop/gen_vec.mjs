// gen_vec.mjs COMMAND ... - helpers of gen_vec.sh (LanceDB 0.39 / Lance 12).
//  rows N D SEED OUT_PREFIX [FIRST_ID]
//      OUT_PREFIX.arrows: an Arrow IPC stream {id int64 not null, vector
//      fixed_size_list<float32>[D] (nullable), text utf8}: N rows, ids
//      FIRST_ID.. (default 1),
//      clustered vectors (64 centres uniform in [-1, 1)^D, each point a
//      centre plus uniform noise of +-0.25 per coordinate), every 97th
//      vector null; then N/20 rows rewriting earlier ids with new vectors
//      (newest wins).
//      OUT_PREFIX.json: the surviving rows {id: vector|null}.
//  search TARGET ROWS_JSON[,ROWS_JSON...] K Q [--lsm DB NAME]
//      TARGET = a dataset folder (opened as a table, plain search) or, with
//      --lsm, table NAME of DB through LanceDB's LSM read path. Queries: the
//      vectors of Q surviving rows (each must come back first, at distance
//      0) and Q new points of the same clusters (seed 1234); truth = brute
//      force (squared L2) over the
//      surviving rows, plus, with --lsm, the base table's rows. EF (env):
//      the search's ef (unset: LanceDB's default). Prints
//      {"exact_first": n, "queries": q, "recall": r}.
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
import { readFileSync, writeFileSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const [cmd, ...a] = process.argv.slice(2);
// mulberry32: 32-bit state, exact in JS integer arithmetic (no repeats
// within the sizes used here)
const rng = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const l2 = (x, y) => { let s = 0; for (let i = 0; i < x.length; i++) { const d = x[i] - y[i]; s += d * d; } return s; };

// A generator of points around 64 fixed centres (the centres come from
// `cr`, the points from `r`).
function clustered(cr, d, r) {
  const centres = Array.from({ length: 64 }, () => Array.from({ length: d }, () => cr() * 2 - 1));
  return () => {
    const c = centres[Math.floor(r() * centres.length)];
    return Float32Array.from(c, (x) => x + (r() - 0.5) * 0.5);
  };
}

if (cmd === "rows") {
  const [n, d, seed, out] = [Number(a[0]), Number(a[1]), Number(a[2]), a[3]];
  const first = Number(a[4] || 1);
  const r = rng(seed);
  const vec = clustered(rng(99), d, r);
  const rows = [];
  for (let i = first; i < first + n; i++) rows.push([i, i % 97 === 5 ? null : vec()]);
  for (let j = 0; j < Math.floor(n / 20); j++) rows.push([first + Math.floor(r() * n), vec()]);
  const item = new A.Field("item", new A.Float32(), true);
  const type = new A.FixedSizeList(d, item);
  const schema = new A.Schema([new A.Field("id", new A.Int64(), false), new A.Field("vector", type, true),
    new A.Field("text", new A.Utf8(), true)]);
  const ids = A.makeData({ type: new A.Int64(), length: rows.length, nullCount: 0,
    data: BigInt64Array.from(rows, ([i]) => BigInt(i)) });
  const flat = new Float32Array(rows.length * d);
  const valid = new Uint8Array((rows.length >> 3) + 1);
  let nulls = 0;
  rows.forEach(([, v], k) => { if (v) { flat.set(v, k * d); valid[k >> 3] |= 1 << (k & 7); } else nulls++; });
  const child = A.makeData({ type: new A.Float32(), length: rows.length * d, nullCount: 0, data: flat });
  const vecs = A.makeData({ type, length: rows.length, nullCount: nulls, nullBitmap: valid, child });
  const texts = A.vectorFromArray(rows.map(([i]) => "row " + i), new A.Utf8()).data[0];
  const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: rows.length,
    nullCount: 0, children: [ids, vecs, texts] }));
  writeFileSync(out + ".arrows", A.tableToIPC(new A.Table([batch]), "stream"));
  const last = {};
  for (const [i, v] of rows) last[i] = v ? Array.from(v) : null;
  writeFileSync(out + ".json", JSON.stringify(last));
} else if (cmd === "search") {
  const [target, rowsFile, kS, qS] = a;
  const k = Number(kS), q = Number(qS);
  const li = a.indexOf("--lsm");
  const rows = rowsFile.split(",").flatMap((f) => Object.entries(JSON.parse(readFileSync(f, "utf8")))).filter(([, v]) => v);
  let t;
  let pool = rows.map(([id, v]) => [String(id), v]);
  if (li >= 0) {
    t = await (await lancedb.connect(a[li + 1])).openTable(a[li + 2]);
    const base = await t.query().useLsm(false).select(["id", "vector"]).limit(1e9).toArray();
    pool = pool.concat(base.map((r) => [String(r.id), Array.from(r.vector.toArray())]));
  } else {
    const tmp = mkdtempSync(join(tmpdir(), "gen_vec-")); symlinkSync(resolve(target), join(tmp, "d.lance"));
    t = await (await lancedb.connect(tmp)).openTable("d");
  }
  const r = rng(1234);
  let exact = 0, hit = 0, total = 0;
  const run = async (v) => {
    let qb = t.search(v).limit(k);
    if (process.env.EF) qb = qb.ef(Number(process.env.EF));
    const res = await qb.toArray();
    return res.map((x) => [String(x.id), x._distance]);
  };
  for (let j = 0; j < q; j++) {
    const [id, v] = rows[Math.floor(r() * rows.length)];
    const res = await run(v);
    if (res.length && res[0][0] === String(id) && res[0][1] === 0) exact++;
  }
  const d = rows[0][1].length;
  const point = clustered(rng(99), d, r);
  for (let j = 0; j < q; j++) {
    const v = Array.from(point());
    const truth = pool.map(([id, w]) => [id, l2(v, w)]).sort((x, y) => x[1] - y[1]).slice(0, k).map(([id]) => id);
    const got = new Set((await run(v)).map(([id]) => id));
    hit += truth.filter((id) => got.has(id)).length;
    total += truth.length;
  }
  console.log(JSON.stringify({ exact_first: exact, queries: q, recall: hit / total }));
} else {
  console.error("usage: see the top of gen_vec.mjs"); process.exit(2);
}
