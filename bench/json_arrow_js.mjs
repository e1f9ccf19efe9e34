// Usage: node json_arrow_js.mjs gen OUT.arrows [ROWS] [DIM] [BATCH_ROWS]
//        node json_arrow_js.mjs render FILE.arrows
// apache-arrow JS (18.1.0, from the peers' node_modules) side of
// bench/json_bench.sh.
// gen: writes an Arrow IPC stream of the benchmark schema (id int64 not null,
//   vector fixed_size_list<float32>[DIM] not null, text utf8 of ~70 bytes),
//   default 20,000 rows x 512 in batches of 1,000; vector items are random
//   float32 in [-1, 1) from a fixed-seed generator (so 7-9 significant
//   digits each, like real embeddings).
// render: reads FILE and writes one JSON object per row to stdout
//   (JSON.stringify of row.toJSON(), 64-bit integers as numbers), in chunks
//   of about 1 MB: the JS counterpart of `memwal ipc-cat FILE`.
import { readFileSync, writeFileSync, writeSync } from "node:fs";
import * as A from "apache-arrow";

const [mode, file, ...rest] = process.argv.slice(2);
if ((mode !== "gen" && mode !== "render") || !file) {
  console.error("usage: node json_arrow_js.mjs gen OUT.arrows [ROWS] [DIM] [BATCH_ROWS] | render FILE.arrows");
  process.exit(2);
}

if (mode === "gen") {
  const rows = Number(rest[0] ?? 20000), dim = Number(rest[1] ?? 512), per = Number(rest[2] ?? 1000);
  let s = 0x2545f491;
  const rnd = () => { // xorshift32, deterministic
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const item = new A.Field("item", new A.Float32(), true);
  const schema = new A.Schema([
    new A.Field("id", new A.Int64(), false),
    new A.Field("vector", new A.FixedSizeList(dim, item), false),
    new A.Field("text", new A.Utf8(), true),
  ]);
  const batches = [];
  for (let first = 0; first < rows; first += per) {
    const n = Math.min(per, rows - first);
    const ids = new BigInt64Array(n);
    const floats = new Float32Array(n * dim);
    const texts = [];
    for (let r = 0; r < n; r++) {
      ids[r] = BigInt(first + r);
      for (let k = 0; k < dim; k++) floats[r * dim + k] = rnd() * 2 - 1;
      texts.push(`row ${first + r}: the quick brown fox jumps over the lazy dog ${(rnd() * 1e6) | 0}`.padEnd(70, "."));
    }
    const idData = A.makeData({ type: new A.Int64(), length: n, data: ids });
    const itemData = A.makeData({ type: new A.Float32(), length: n * dim, data: floats });
    const vecData = A.makeData({ type: new A.FixedSizeList(dim, item), length: n, child: itemData });
    const textData = A.vectorFromArray(texts, new A.Utf8()).data[0];
    const structData = A.makeData({
      type: new A.Struct(schema.fields), length: n, children: [idData, vecData, textData],
    });
    batches.push(new A.RecordBatch(schema, structData));
  }
  writeFileSync(file, A.tableToIPC(new A.Table(schema, batches), "stream"));
} else {
  const reader = A.RecordBatchReader.from(readFileSync(file));
  const replacer = (k, v) => (typeof v === "bigint" ? Number(v) : v);
  let chunk = [], size = 0;
  const flush = () => { writeSync(1, chunk.join("")); chunk = []; size = 0; };
  for (const batch of reader) {
    for (const row of batch) {
      const line = JSON.stringify(row.toJSON(), replacer) + "\n";
      chunk.push(line);
      size += line.length;
      if (size >= 1 << 20) flush();
    }
  }
  flush();
}
