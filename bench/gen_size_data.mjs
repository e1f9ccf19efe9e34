// Writes N rows as an Arrow IPC stream for bench/gen_size.sh.
// node gen_size_data.mjs OUT.arrows N DIM bench|short [BATCH_ROWS=1000]
//   schema: id int64 not null, vector fixed_size_list<float32>[DIM], text utf8
//   bench: text = "row <i> " padded to 70 B (lance_write_bench.mjs's text);
//   short: text = one of 16 short words (repeated values, 3-9 B).
// Vectors: uniform random floats in [0, 1) from a fixed-seed generator.
import * as A from "apache-arrow";
import { writeFileSync } from "node:fs";
const [out, N, DIM, mode, BR = "1000"] = process.argv.slice(2);
const n = +N, dim = +DIM, br = +BR;
const words = ["red", "green", "blue", "amber", "violet", "teal", "black", "white",
  "silver", "gold", "orange", "pink", "cyan", "magenta", "olive", "navy"];
let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) / 16777216; };
const vecType = new A.FixedSizeList(dim, new A.Field("item", new A.Float32(), true));
const schema = new A.Schema([new A.Field("id", new A.Int64(), false),
  new A.Field("vector", vecType, true), new A.Field("text", new A.Utf8(), true)]);
const batches = [];
for (let s = 0; s < n; s += br) {
  const m = Math.min(br, n - s);
  const ids = new BigInt64Array(m), vals = new Float32Array(m * dim), txt = new Array(m);
  for (let i = 0; i < m; i++) {
    ids[i] = BigInt(s + i);
    txt[i] = mode === "short" ? words[(s + i) * 7 % 16] : `row ${s + i} `.padEnd(70, "abcdefghijklmnopqrstuvwxyz");
  }
  for (let j = 0; j < vals.length; j++) vals[j] = rnd();
  const idD = A.makeData({ type: new A.Int64(), length: m, nullCount: 0, data: ids });
  const vD = A.makeData({ type: vecType, length: m, nullCount: 0,
    child: A.makeData({ type: new A.Float32(), length: m * dim, nullCount: 0, data: vals }) });
  const tD = A.vectorFromArray(txt, new A.Utf8()).data[0];
  const sD = A.makeData({ type: new A.Struct(schema.fields), length: m, nullCount: 0, children: [idD, vD, tD] });
  batches.push(new A.RecordBatch(schema, sD));
}
writeFileSync(out, A.tableToIPC(new A.Table(schema, batches), "stream"));
