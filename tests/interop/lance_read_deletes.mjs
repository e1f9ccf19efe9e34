// Usage: node lance_read_deletes.mjs DB_DIR OUT_DIR ROWS NAME PREDICATE
// LanceDB creates table NAME from ROWS rows (id int64, v int32 with nulls,
// s utf8), appends ROWS more (a second fragment), then deletes the rows
// matching PREDICATE (each fragment gets a deletion file: `.arrow` for few
// deleted rows, `.bin` (roaring) for many). LanceDB reads the table back and
// the rows are written as an Arrow IPC stream OUT_DIR/NAME.arrows (what
// `memwal lance-cat` of the dataset must print); prints the number of rows.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
const [dbDir, outDir, rowsArg, name, pred] = process.argv.slice(2);
const N = Number(rowsArg);
const schema = new A.Schema([
  new A.Field("id", new A.Int64(), false),
  new A.Field("v", new A.Int32(), true),
  new A.Field("s", new A.Utf8(), true),
]);
const batch = (from) => {
  const c = { id: [], v: [], s: [] };
  for (let i = from; i < from + N; i++) {
    c.id.push(BigInt(i));
    c.v.push(i % 7 === 2 ? null : i * 3);
    c.s.push(i % 5 === 1 ? null : `row${i}`);
  }
  const vecs = schema.fields.map((f) => A.vectorFromArray(c[f.name], f.type));
  return new A.Table(schema, Object.fromEntries(schema.fields.map((f, k) => [f.name, vecs[k]])));
};
const db = await lancedb.connect(dbDir);
const t = await db.createTable(name, batch(0), { mode: "overwrite" });
await t.add(batch(N));
await t.delete(pred);
const back = await t.query().toArrow();
const AC = createRequire(import.meta.url)("apache-arrow");
writeFileSync(`${outDir}/${name}.arrows`, AC.tableToIPC(back, "stream"));
console.log(await t.countRows());
