// Usage: node merge_bench.mjs plan DIR ROWS_BASE GEN_ROWS GENS OVERWRITE_PCT TOMBS LOOKUPS DIM
//        node merge_bench.mjs add DB NAME FILE...
//        node merge_bench.mjs reads DB NAME DIR RUNS
// The LanceDB side of bench/merge_bench.sh (apache-arrow + LanceDB 0.39).
// plan: writes the inputs, all rows of the bench shape (id int64 not null,
//   vector fixed_size_list<float32>[DIM], text ~70 B naming where the row
//   came from), 10,000-row batches:
//     DIR/base_K.arrows   the base, 100,000 rows per file, ids 0..ROWS_BASE-1;
//     DIR/gen_G.arrows    generation G's puts (G = 1..GENS): GEN_ROWS rows, of
//                         which OVERWRITE_PCT % overwrite random distinct
//                         existing keys (base or earlier generations), the
//                         rest new keys (ids from ROWS_BASE up);
//     DIR/tomb_G.arrows   TOMBS keys (key column only) generation G deletes:
//                         random live keys not overwritten in G;
//     DIR/expect.json     {live_keys, lookups: [[id, text | null]]}: the key
//                         count after every generation and LOOKUPS random
//                         keys (live, overwritten, deleted) with the text the
//                         table must return for them (null = absent).
// add: table.add() of each file (the base written by LanceDB: one fragment
//   per file).
// reads: LanceDB's LSM path (useLsm(true)), RUNS times each: a full scan of
//   the id column counting rows (seconds), and the point lookups of
//   expect.json one at a time (`id = K`, columns id + text; latency of each);
//   prints {scan_seconds (median), scan_seconds_all, rows, lookups,
//   lookup_p50_ms, lookup_p99_ms (over all RUNS x LOOKUPS lookups),
//   wrong_scan, wrong_lookups} where wrong_* count results that differ from
//   expect.json (rows != live_keys; a lookup returning another text, or a
//   key not exactly once / not absent).
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [cmd, ...a] = process.argv.slice(2);
const print = (o) => console.log(JSON.stringify(o));
// mulberry32 (32-bit integer arithmetic: an LCG in doubles loses its low
// bits and falls into a short cycle)
let seed = 20261207;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};
const BATCH = 10000;

function writeRows(path, ids, texts, D) {
  const item = new A.Field("item", new A.Float32(), true);
  const pk = new Map([["lance-schema:unenforced-primary-key:position", "1"]]);
  const schema = new A.Schema([
    new A.Field("id", new A.Int64(), false, pk),
    new A.Field("vector", new A.FixedSizeList(D, item), true),
    new A.Field("text", new A.Utf8(), true),
  ]);
  const batches = [];
  for (let s = 0; s < ids.length; s += BATCH) {
    const n = Math.min(BATCH, ids.length - s);
    const idv = new BigInt64Array(n), vec = new Float32Array(n * D);
    for (let i = 0; i < n; i++) idv[i] = BigInt(ids[s + i]);
    for (let k = 0; k < n * D; k++) vec[k] = rnd() - 0.5;
    const idData = A.makeData({ type: new A.Int64(), length: n, data: idv });
    const itemData = A.makeData({ type: new A.Float32(), length: n * D, data: vec });
    const vecData = A.makeData({ type: new A.FixedSizeList(D, item), length: n, child: itemData });
    const textVec = A.vectorFromArray(texts.slice(s, s + n), new A.Utf8());
    batches.push(new A.RecordBatch(schema, A.makeData({
      type: new A.Struct(schema.fields), length: n, children: [idData, vecData, textVec.data[0]],
    })));
  }
  writeFileSync(path, A.tableToIPC(new A.Table(schema, batches), "stream"));
}

function writeKeys(path, ids) {
  const schema = new A.Schema([new A.Field("id", new A.Int64(), false)]);
  const idv = BigInt64Array.from(ids.map(BigInt));
  const idData = A.makeData({ type: new A.Int64(), length: ids.length, data: idv });
  const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: ids.length, children: [idData] }));
  writeFileSync(path, A.tableToIPC(new A.Table(schema, [batch]), "stream"));
}

const median = (v) => { const s = [...v].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };
const pct = (v, p) => { const s = [...v].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]; };

try {
  if (cmd === "plan") {
    const [dir, rbS, grS, gS, opS, tS, lS, dS] = a;
    const RB = Number(rbS), GR = Number(grS), G = Number(gS), OP = Number(opS), TB = Number(tS), L = Number(lS), D = Number(dS);
    const text = new Map(); // live key -> text
    const live = [];        // live keys (for random picks), with their index in it
    const where = new Map();
    const addLive = (id) => { where.set(id, live.length); live.push(id); };
    const dropLive = (id) => { const i = where.get(id), last = live.pop(); if (last !== id) { live[i] = last; where.set(last, i); } where.delete(id); };
    const pad = " lorem ipsum dolor sit amet consectetur adipiscing elit";
    for (let s = 0, k = 0; s < RB; s += 100000, k++) {
      const ids = [], texts = [];
      for (let i = s; i < Math.min(RB, s + 100000); i++) {
        ids.push(i); const t = `base row ${i}${pad}`; texts.push(t); text.set(i, t); addLive(i);
      }
      writeRows(join(dir, `base_${k}.arrows`), ids, texts, D);
    }
    let next = RB;
    const deleted = [];
    for (let g = 1; g <= G; g++) {
      const nOver = Math.round(GR * OP / 100), chosen = new Set();
      while (chosen.size < Math.min(nOver, live.length)) chosen.add(live[Math.floor(rnd() * live.length)]);
      const ids = [...chosen];
      while (ids.length < GR) ids.push(next++);
      const texts = ids.map((id) => `gen ${g} row ${id}${pad}`);
      const tombs = new Set();
      while (tombs.size < Math.min(TB, live.length - chosen.size)) {
        const k = live[Math.floor(rnd() * live.length)];
        if (!chosen.has(k)) tombs.add(k);
      }
      // the generation holds the tombstones first (written first), then the puts
      for (const k of tombs) { text.delete(k); dropLive(k); deleted.push(k); }
      ids.forEach((id, i) => { if (!text.has(id)) addLive(id); text.set(id, texts[i]); });
      writeRows(join(dir, `gen_${g}.arrows`), ids, texts, D);
      writeKeys(join(dir, `tomb_${g}.arrows`), [...tombs]);
    }
    const lookups = [];
    for (let i = 0; i < L; i++) {
      const k = i % 10 === 9 && deleted.length ? deleted[Math.floor(rnd() * deleted.length)] : live[Math.floor(rnd() * live.length)];
      lookups.push([k, text.has(k) ? text.get(k) : null]);
    }
    writeFileSync(join(dir, "expect.json"), JSON.stringify({ live_keys: text.size, lookups }));
    print({ planned: dir, live_keys: text.size, next_id: next });
  } else if (cmd === "add") {
    const [db, name, ...files] = a;
    const t = await (await lancedb.connect(db)).openTable(name);
    let rows = 0;
    for (const f of files) { const tbl = A.tableFromIPC(readFileSync(f)); await t.add(tbl); rows += tbl.numRows; }
    print({ added: rows, version: await t.version() });
  } else if (cmd === "reads") {
    const [db, name, dir, runsS] = a;
    const runs = Number(runsS);
    const exp = JSON.parse(readFileSync(join(dir, "expect.json"), "utf8"));
    const t = await (await lancedb.connect(db)).openTable(name);
    const scans = [], lat = [];
    let rows = 0, wrongScan = 0, wrongLookups = 0;
    for (let r = 0; r < runs; r++) {
      let t0 = process.hrtime.bigint();
      rows = 0;
      for await (const b of t.query().select(["id"]).limit(2_000_000_000).useLsm(true)) rows += b.numRows;
      scans.push(Number(process.hrtime.bigint() - t0) / 1e9);
      if (rows !== exp.live_keys) wrongScan++;
      for (const [k, want] of exp.lookups) {
        t0 = process.hrtime.bigint();
        const got = await t.query().where(`id = ${k}`).select(["id", "text"]).useLsm(true).toArray();
        lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (want === null ? got.length !== 0 : got.length !== 1 || got[0].text !== want) wrongLookups++;
      }
    }
    print({ scan_seconds: median(scans), scan_seconds_all: scans.map((x) => +x.toFixed(3)), rows, lookups: lat.length,
      lookup_p50_ms: +pct(lat, 50).toFixed(2), lookup_p99_ms: +pct(lat, 99).toFixed(2), wrong_scan: wrongScan, wrong_lookups: wrongLookups });
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
} catch (e) {
  console.error(`merge_bench: ${e.stack || e.message}`);
  process.exit(1);
}
