// Usage: node lance_read_million.mjs DB_DIR OUT_DIR ROWS NAME
// LanceDB (file format 2.2, default encodings) creates table NAME with ROWS
// rows (the "large" end of the reader's tests: 1,000,000 rows make many
// pages per column and LanceDB's choices at that size) of narrow columns:
// sequential ids, low-cardinality ints (RLE / bitpacking), random 64-bit
// ints, floats, bools, a 7-word string column (dictionary), unique short
// strings (FSST), every 7th row from row 3 null in the nullable ones. Then
// LanceDB reads the table back and writes it as an Arrow IPC stream
// OUT_DIR/NAME.arrows (what `memwal lance-cat` of the dataset must print).
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";

const [dbDir, outDir, rowsArg, name] = process.argv.slice(2);
const N = Number(rowsArg);
let seed = 987654321;
const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"];
const f = (n, t, nullable = true) => new A.Field(n, t, nullable);
const schema = new A.Schema([
  f("id", new A.Int64(), false), f("low_i32", new A.Int32()), f("high_i64", new A.Int64()),
  f("f32", new A.Float32()), f("flag", new A.Bool()), f("word", new A.Utf8()), f("text", new A.Utf8()),
]);
const id = new BigInt64Array(N), high = new Array(N), low = new Array(N), f32 = new Array(N);
const flag = new Array(N), word = new Array(N), text = new Array(N);
for (let i = 0; i < N; i++) {
  const nul = i % 7 === 3;
  id[i] = BigInt(i);
  low[i] = nul ? null : i % 5;
  high[i] = nul ? null : (BigInt(rnd()) << 20n) + BigInt(i);
  f32[i] = nul ? null : Math.fround((i % 997) / 16);
  flag[i] = nul ? null : i % 3 === 0;
  word[i] = nul ? null : words[(i * 13) % 7];
  text[i] = nul ? null : `r${i}-${(rnd() % 100000).toString(36)}`;
}
const cols = { id: Array.from(id), low_i32: low, high_i64: high, f32, flag, word, text };
const vectors = schema.fields.map((fl) => A.vectorFromArray(cols[fl.name], fl.type));
const data = new A.Table(schema, Object.fromEntries(schema.fields.map((fl, k) => [fl.name, vectors[k]])));
const db = await lancedb.connect(dbDir);
const t = await db.createTable(name, data, { mode: "overwrite" });
const back = await t.query().toArrow();
const AC = createRequire(import.meta.url)("apache-arrow");
writeFileSync(`${outDir}/${name}.arrows`, AC.tableToIPC(back, "stream"));
console.log(JSON.stringify({ rows: await t.countRows() }));
