// Usage: node lance_read_tables.mjs DB_DIR OUT_DIR ROWS NAME [DIM]
// LanceDB (default storage: file format 2.2) creates table NAME with ROWS
// rows of deterministic data in one create: ints of low and high
// cardinality, floats, bools, dates, timestamps, short (dictionary-friendly)
// and long (full-zip sized) strings, binary, DIM-d (default 128) float
// vectors, nullable variants with nulls (every 7th row from row 3), an
// all-null column, and constant int64 and long-string columns (constant
// pages, the long one with its value in a page buffer). Then LanceDB reads
// the table back and the rows are written as an Arrow IPC stream
// OUT_DIR/NAME.arrows (what `memwal lance-cat` of the dataset must print,
// row for row).
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";

const [dbDir, outDir, rowsArg, name, dimArg = "128"] = process.argv.slice(2);
const DIM = Number(dimArg);
const N = Number(rowsArg);
let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; };
const isNull = (i) => i % 7 === 3;
const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"];

const f = (n, t, nullable = true) => new A.Field(n, t, nullable);
const schema = new A.Schema([
  f("id", new A.Int64(), false),
  f("low_i32", new A.Int32()),
  f("high_i64", new A.Int64()),
  f("small_u8", new A.Uint8()),
  f("neg_i16", new A.Int16()),
  f("f32", new A.Float32()),
  f("f64", new A.Float64()),
  f("flag", new A.Bool()),
  f("day", new A.DateDay()),
  f("ts", new A.TimestampMicrosecond("UTC")),
  f("word", new A.Utf8()),
  f("text", new A.Utf8()),
  f("long_text", new A.Utf8()),
  f("blob", new A.Binary()),
  f("vec", new A.FixedSizeList(DIM, new A.Field("item", new A.Float32(), true))),
  f("nothing", new A.Int32()),
  f("same", new A.Int64()),
  f("same_text", new A.Utf8(), false),
]);
const cols = {};
for (const fl of schema.fields) cols[fl.name] = [];
for (let i = 0; i < N; i++) {
  const nul = isNull(i);
  cols.id.push(BigInt(i));
  cols.low_i32.push(nul ? null : i % 5);
  cols.high_i64.push(nul ? null : BigInt(rnd()) * 4096n + BigInt(i));
  cols.small_u8.push(i % 200);
  cols.neg_i16.push(nul ? null : (i % 1000) - 500);
  cols.f32.push(nul ? null : Math.fround((i % 97) / 8));
  cols.f64.push(nul ? null : rnd() / 7.0);
  cols.flag.push(nul ? null : i % 3 === 0);
  cols.day.push(nul ? null : new Date(Date.UTC(2020, 0, 1) + (i % 3000) * 86400000));
  cols.ts.push(nul ? null : 1700000000000 + i * 1000);
  cols.word.push(nul ? null : words[i % words.length]);
  cols.text.push(nul ? null : `row ${i} ${words[rnd() % 7]} ${rnd().toString(36)}`);
  cols.long_text.push(nul ? null : `${i}:` + words[i % 7].repeat(40 + (i % 30)));
  cols.blob.push(nul ? null : Uint8Array.from({ length: i % 20 }, (_, k) => (i * 31 + k) & 255));
  const v = new Array(DIM);
  for (let k = 0; k < DIM; k++) v[k] = Math.fround(((i * 131 + k * 7) % 1000) / 100 - 5);
  cols.vec.push(nul ? null : v);
  cols.nothing.push(null);
  cols.same.push(42n);
  cols.same_text.push("constant ".repeat(40));
}
const vectors = schema.fields.map((fl) => A.vectorFromArray(cols[fl.name], fl.type));
const data = new A.Table(schema, Object.fromEntries(schema.fields.map((fl, k) => [fl.name, vectors[k]])));
const db = await lancedb.connect(dbDir);
const t = await db.createTable(name, data, { mode: "overwrite" });
const back = await t.query().toArrow();
// LanceDB hands back tables of the CommonJS build of apache-arrow: encode
// them with that build (the ESM one does not recognise them)
const AC = createRequire(import.meta.url)("apache-arrow");
writeFileSync(`${outDir}/${name}.arrows`, AC.tableToIPC(back, "stream"));
console.log(JSON.stringify({ rows: await t.countRows() }));
