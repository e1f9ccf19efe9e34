// Usage: node lance_read_nested.mjs DB_DIR OUT_DIR ROWS NAME
// LanceDB creates table NAME with ROWS rows of nested columns: id int64,
// st struct<a int32, b utf8, inner struct<z double>> (null structs, null
// inner structs, null fields); li list<int32>, ls list<utf8> and ll
// list<utf8> of long strings (full-zip pages), with null lists, empty lists
// and null items; lists inside structs and of nested types: sl struct<a
// list<int32>, b utf8>, lst list<struct<x int32, y utf8>>, lli
// list<list<int32>> (nulls and empties at every level). LanceDB reads it back and the rows are written as an Arrow
// IPC stream OUT_DIR/NAME.arrows (what `memwal lance-cat` of the dataset
// must print). Values are deterministic.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
const [dbDir, outDir, rowsArg, name] = process.argv.slice(2);
const N = Number(rowsArg);
const st = new A.Struct([new A.Field("a", new A.Int32(), true), new A.Field("b", new A.Utf8(), true),
  new A.Field("inner", new A.Struct([new A.Field("z", new A.Float64(), true)]), true)]);
const I = (n) => new A.Field(n, new A.Int32(), true);
const sl = new A.Struct([new A.Field("a", new A.List(I("item")), true), new A.Field("b", new A.Utf8(), true)]);
const lst = new A.List(new A.Field("item", new A.Struct([I("x"), new A.Field("y", new A.Utf8(), true)]), true));
const lli = new A.List(new A.Field("item", new A.List(I("item")), true));
const schema = new A.Schema([
  new A.Field("id", new A.Int64(), false),
  new A.Field("st", st, true),
  new A.Field("li", new A.List(new A.Field("item", new A.Int32(), true)), true),
  new A.Field("ls", new A.List(new A.Field("item", new A.Utf8(), true)), true),
  new A.Field("ll", new A.List(new A.Field("item", new A.Utf8(), true)), true),
  new A.Field("sl", sl, true),
  new A.Field("lst", lst, true),
  new A.Field("lli", lli, true),
]);
const rows = { id: [], st: [], li: [], ls: [], ll: [], sl: [], lst: [], lli: [] };
for (let i = 0; i < N; i++) {
  rows.id.push(BigInt(i));
  rows.st.push(i % 11 === 5 ? null : { a: i % 3 === 0 ? null : i, b: i % 4 === 1 ? null : `s${i % 50}`, inner: i % 13 === 2 ? null : { z: i % 5 === 0 ? null : i / 4 } });
  rows.li.push(i % 9 === 4 ? null : i % 9 === 5 ? [] : Array.from({ length: i % 6 }, (_, k) => (k === 2 && i % 2 ? null : i * 10 + k)));
  rows.ll.push(i % 8 === 1 ? null : i % 8 === 2 ? [] : Array.from({ length: 1 + (i % 3) }, (_, k) => (k === 1 && i % 5 === 0 ? null : `${i}/${k}:` + "long".repeat(80 + (i % 17)))));
  rows.ls.push(i % 10 === 3 ? null : i % 10 === 6 ? [] : Array.from({ length: i % 4 }, (_, k) => (k === 1 && i % 3 === 0 ? null : `v${i}_${k}`)));
  rows.sl.push(i % 11 === 5 ? null : { a: i % 7 === 3 ? null : i % 7 === 4 ? [] : Array.from({ length: i % 5 }, (_, k) => (k === 1 && i % 2 ? null : i + k)), b: i % 4 === 1 ? null : `b${i}` });
  rows.lst.push(i % 9 === 4 ? null : i % 9 === 5 ? [] : Array.from({ length: i % 4 }, (_, k) => (k === 1 && i % 3 === 0 ? null : { x: k === 2 ? null : i * k, y: i % 5 === 0 ? null : `y${i}_${k}` })));
  rows.lli.push(i % 8 === 1 ? null : i % 8 === 2 ? [] : Array.from({ length: i % 3 }, (_, k) => (k === 1 && i % 5 === 0 ? null : k === 0 && i % 7 === 0 ? [] : Array.from({ length: 1 + ((i + k) % 3) }, (_, q) => (q === 1 && i % 2 ? null : i * 100 + k * 10 + q)))));
}
const vecs = schema.fields.map((f) => A.vectorFromArray(rows[f.name], f.type));
const data = new A.Table(schema, Object.fromEntries(schema.fields.map((f, k) => [f.name, vecs[k]])));
const db = await lancedb.connect(dbDir);
const t = await db.createTable(name, data, { mode: "overwrite" });
const back = await t.query().toArrow();
// LanceDB hands back tables of the CommonJS build of apache-arrow
const AC = createRequire(import.meta.url)("apache-arrow");
writeFileSync(`${outDir}/${name}.arrows`, AC.tableToIPC(back, "stream"));
