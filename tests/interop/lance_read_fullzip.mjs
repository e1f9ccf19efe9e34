// Usage: node lance_read_fullzip.mjs DB_DIR OUT_DIR ROWS NAME [unreadable]
// LanceDB creates table NAME with ROWS rows of nested vector / long list
// columns: lv list<fixed_size_list<float32>[128]> (a full-zip page with
// repetition levels of fixed-width values), lbig list<int64> (50-80 items a
// row), sv struct<v fixed_size_list<float32>[128]>, sll struct<t
// list<utf8>, n int32>, lsv list<struct<v fixed_size_list<float32>[128]>>,
// with null / empty lists, null structs and null items. LanceDB reads it
// back and the rows are written as an Arrow IPC stream OUT_DIR/NAME.arrows
// (what `memwal lance-cat` of the dataset must print). With "unreadable",
// sll's strings are long enough for a full-zip page under a nullable struct,
// which LanceDB 0.39 writes but cannot read back itself: nothing is read.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
const [dbDir, outDir, rowsArg, name, mode] = process.argv.slice(2);
const LONG = mode === "unreadable" ? 300 : 100;
const N = Number(rowsArg);
const D = 128;
const fsl = new A.FixedSizeList(D, new A.Field("item", new A.Float32(), true));
const schema = new A.Schema([new A.Field("id", new A.Int64(), false),
  new A.Field("lv", new A.List(new A.Field("item", fsl, true)), true),
  new A.Field("lbig", new A.List(new A.Field("item", new A.Int64(), true)), true),
  new A.Field("sv", new A.Struct([new A.Field("v", fsl, true)]), true),
  new A.Field("sll", new A.Struct([new A.Field("t", new A.List(new A.Field("item", new A.Utf8(), true)), true), new A.Field("n", new A.Int32(), true)]), true),
  new A.Field("lsv", new A.List(new A.Field("item", new A.Struct([new A.Field("v", fsl, true)]), true)), true)]);
const rows = { id: [], lv: [], lbig: [], sv: [], sll: [], lsv: [] };
let seed = 7; const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; };
const vec = (i, k) => Array.from({ length: D }, (_, q) => Math.fround(((i * 31 + k * 7 + q) % 997) / 10));
for (let i = 0; i < N; i++) {
  rows.id.push(BigInt(i));
  rows.lv.push(i % 9 === 4 ? null : i % 9 === 5 ? [] : Array.from({ length: 1 + (i % 3) }, (_, k) => (k === 1 && i % 4 === 0 ? null : vec(i, k))));
  rows.lbig.push(i % 8 === 3 ? null : i % 8 === 6 ? [] : Array.from({ length: 50 + (i % 30) }, (_, k) => (k === 3 && i % 2 ? null : BigInt(rnd()) * 1000003n + BigInt(k))));
  rows.sll.push(i % 6 === 1 ? null : { t: i % 5 === 2 ? null : i % 5 === 3 ? [] : Array.from({ length: 1 + (i % 2) }, (_, k) => (k === 1 && i % 3 ? null : `${i}:${k}:` + "x".repeat(LONG + (i % 50)))), n: i % 4 ? i : null });
  rows.lsv.push(i % 10 === 7 ? null : i % 10 === 8 ? [] : Array.from({ length: 1 + (i % 2) }, (_, k) => (k === 1 && i % 3 === 0 ? null : { v: i % 4 === 2 ? null : vec(i, k + 20) })));
  rows.sv.push(i % 7 === 2 ? null : { v: i % 5 === 1 ? null : vec(i, 9) });
}
const vecs = schema.fields.map((f) => A.vectorFromArray(rows[f.name], f.type));
const data = new A.Table(schema, Object.fromEntries(schema.fields.map((f, k) => [f.name, vecs[k]])));
const db = await lancedb.connect(dbDir);
const t = await db.createTable(name, data, { mode: "overwrite" });
if (mode === "unreadable") process.exit(0);
const back = await t.query().toArrow();
const AC = createRequire(import.meta.url)("apache-arrow");
writeFileSync(`${outDir}/${name}.arrows`, AC.tableToIPC(back, "stream"));
