// Usage: node table_lance.mjs gen OUT.arrows N DIM BATCH
//        node table_lance.mjs upsert DB NAME ROWS.arrows BUCKETS.jsonl BATCH
// gen: N rows of the bench shape (id int64 not null, vector
//   fixed_size_list<float32>[DIM], text ~70 B) as an Arrow IPC stream of
//   BATCH-row batches (the input of both sides of bench/table_bench.sh).
// upsert: LanceDB 0.39's mergeInsert of the same rows into the bucket table
//   NAME, as LanceDB must write it: bucket by bucket (each mergeInsert may
//   touch one shard, one shard writer open at a time), BATCH rows per
//   mergeInsert, closeLsmWriters after each bucket (flushes its MemTable).
//   BUCKETS.jsonl is `memwal route --spec` output (one {"bucket": b} per
//   row, in row order). Prints {"rows", "seconds"} (the mergeInserts and
//   closes only; reading the file and grouping excluded).
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
import { readFileSync, writeFileSync } from "node:fs";

const [cmd, ...a] = process.argv.slice(2);
if (cmd === "gen") {
  const [out, nS, dS, bS] = a;
  const N = Number(nS), D = Number(dS), B = Number(bS);
  const item = new A.Field("item", new A.Float32(), true);
  // the key marker Lance writes, so a plain ShardWriter (the "single" side)
  // accepts the file too
  const pk = new Map([["lance-schema:unenforced-primary-key:position", "1"]]);
  const schema = new A.Schema([
    new A.Field("id", new A.Int64(), false, pk),
    new A.Field("vector", new A.FixedSizeList(D, item), true),
    new A.Field("text", new A.Utf8(), true),
  ]);
  const batches = [];
  let seed = 42;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
  for (let s = 0; s < N; s += B) {
    const n = Math.min(B, N - s);
    const ids = new BigInt64Array(n), vec = new Float32Array(n * D), texts = [];
    for (let i = 0; i < n; i++) {
      ids[i] = BigInt(s + i);
      for (let k = 0; k < D; k++) vec[i * D + k] = rnd();
      texts.push(`row ${s + i} lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod`);
    }
    const idData = A.makeData({ type: new A.Int64(), length: n, data: ids });
    const itemData = A.makeData({ type: new A.Float32(), length: n * D, data: vec });
    const vecData = A.makeData({ type: new A.FixedSizeList(D, item), length: n, child: itemData });
    const textVec = A.vectorFromArray(texts, new A.Utf8());
    batches.push(new A.RecordBatch(schema, A.makeData({
      type: new A.Struct(schema.fields), length: n, children: [idData, vecData, textVec.data[0]],
    })));
  }
  writeFileSync(out, A.tableToIPC(new A.Table(schema, batches), "stream"));
} else if (cmd === "upsert") {
  const [dbPath, name, rowsFile, bucketsFile, bS] = a;
  const B = Number(bS);
  const tbl = A.tableFromIPC(readFileSync(rowsFile));
  const buckets = readFileSync(bucketsFile, "utf8").trim().split("\n").map((l) => JSON.parse(l).bucket);
  const byBucket = new Map();
  const rows = tbl.toArray();
  rows.forEach((r, i) => {
    const b = buckets[i];
    if (!byBucket.has(b)) byBucket.set(b, []);
    byBucket.get(b).push({ id: r.id, vector: Array.from(r.vector.toArray()), text: r.text });
  });
  const db = await lancedb.connect(dbPath);
  const t = await db.openTable(name);
  const t0 = process.hrtime.bigint();
  for (const [, list] of byBucket) {
    for (let s = 0; s < list.length; s += B)
      await t.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(list.slice(s, s + B));
    await t.closeLsmWriters();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ rows: rows.length, seconds: secs }));
} else {
  console.error("usage: node table_lance.mjs gen|upsert ...");
  process.exit(2);
}
