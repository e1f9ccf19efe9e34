// Usage: node tomb_rows.mjs OUT.arrows ID[=NAME][,ID[=NAME]...] [--keys] [--col NAME]
// Writes, with apache-arrow JS, an Arrow IPC stream of one batch WITHOUT a
// `_tombstone` column (the writer adds it): rows {id, name} (id int64 not
// null with the unenforced primary key metadata, name utf8 nullable; a
// missing NAME = "n<ID>"), or with --keys only the key column (named
// --col NAME, default "id", no metadata: a delete's key batch).
import { writeFileSync } from "node:fs";
import * as A from "apache-arrow";

const args = process.argv.slice(2);
const keysOnly = args.includes("--keys");
const ci = args.indexOf("--col");
const col = ci >= 0 ? args[ci + 1] : "id";
const pos = args.filter((a, i) => !a.startsWith("--") && !(ci >= 0 && i === ci + 1));
const [out, list] = pos;
if (!list) {
  console.error("usage: node tomb_rows.mjs OUT.arrows ID[=NAME][,...] [--keys] [--col NAME]");
  process.exit(2);
}
const pairs = list.split(",").map((p) => { const [k, v] = p.split("="); return [k, v ?? `n${k}`]; });
const n = pairs.length;
const ids = A.makeData({ type: new A.Int64(), length: n, nullCount: 0, data: BigInt64Array.from(pairs.map(([k]) => BigInt(k))) });
let fields, children;
if (keysOnly) {
  fields = [new A.Field(col, new A.Int64(), false)];
  children = [ids];
} else {
  fields = [
    new A.Field("id", new A.Int64(), false, new Map([["lance-schema:unenforced-primary-key:position", "1"]])),
    new A.Field("name", new A.Utf8(), true),
  ];
  const enc = new TextEncoder();
  const names = pairs.map(([, v]) => enc.encode(v));
  const offsets = new Int32Array(n + 1);
  names.forEach((b, i) => { offsets[i + 1] = offsets[i] + b.length; });
  const chars = new Uint8Array(offsets[n]);
  names.forEach((b, i) => chars.set(b, offsets[i]));
  children = [ids, A.makeData({ type: fields[1].type, length: n, nullCount: 0, valueOffsets: offsets, data: chars })];
}
const schema = new A.Schema(fields);
const data = A.makeData({ type: new A.Struct(fields), length: n, nullCount: 0, children });
writeFileSync(out, A.tableToIPC(new A.Table(schema, [new A.RecordBatch(schema, data)]), "stream"));
