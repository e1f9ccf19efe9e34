// Usage: node tomb_rows.mjs OUT.arrows ID[=NAME][,ID[=NAME]...] [--keys] [--col NAME] [--vector D]
// Writes, with apache-arrow JS, an Arrow IPC stream of one batch WITHOUT a
// `_tombstone` column (the writer adds it): rows {id, name} (id int64 not
// null with the unenforced primary key metadata, name utf8 nullable; a
// missing NAME = "n<ID>"), or with --keys only the key column (named
// --col NAME, default "id", no metadata: a delete's key batch), or with
// --vector D rows of lancedb_lsm.mjs's table {id pk, vector
// fixed_size_list<float32>[D] (all 0.5), text = NAME}.
import { writeFileSync } from "node:fs";
import * as A from "apache-arrow";

const args = process.argv.slice(2);
const keysOnly = args.includes("--keys");
const ci = args.indexOf("--col");
const col = ci >= 0 ? args[ci + 1] : "id";
const vi = args.indexOf("--vector");
const dim = vi >= 0 ? Number(args[vi + 1]) : 0;
const pos = args.filter((a, i) => !a.startsWith("--") && !(ci >= 0 && i === ci + 1) && !(vi >= 0 && i === vi + 1));
const [out, list] = pos;
if (!list) {
  console.error("usage: node tomb_rows.mjs OUT.arrows ID[=NAME][,...] [--keys] [--col NAME]");
  process.exit(2);
}
const pairs = list.split(",").map((p) => { const [k, v] = p.split("="); return [k, v ?? `n${k}`]; });
const n = pairs.length;
const ids = A.makeData({ type: new A.Int64(), length: n, nullCount: 0, data: BigInt64Array.from(pairs.map(([k]) => BigInt(k))) });
function strings(type) {
  const enc = new TextEncoder();
  const names = pairs.map(([, v]) => enc.encode(v));
  const offsets = new Int32Array(n + 1);
  names.forEach((b, i) => { offsets[i + 1] = offsets[i] + b.length; });
  const chars = new Uint8Array(offsets[n]);
  names.forEach((b, i) => chars.set(b, offsets[i]));
  return A.makeData({ type, length: n, nullCount: 0, valueOffsets: offsets, data: chars });
}
let fields, children;
if (keysOnly) {
  fields = [new A.Field(col, new A.Int64(), false)];
  children = [ids];
} else if (dim > 0) {
  const vt = new A.FixedSizeList(dim, new A.Field("item", new A.Float32(), true));
  fields = [
    new A.Field("id", new A.Int64(), false, new Map([["lance-schema:unenforced-primary-key:position", "1"]])),
    new A.Field("vector", vt, true),
    new A.Field("text", new A.Utf8(), true),
  ];
  const items = A.makeData({ type: new A.Float32(), length: n * dim, nullCount: 0, data: new Float32Array(n * dim).fill(0.5) });
  children = [ids, A.makeData({ type: vt, length: n, nullCount: 0, child: items }), strings(fields[2].type)];
} else {
  fields = [
    new A.Field("id", new A.Int64(), false, new Map([["lance-schema:unenforced-primary-key:position", "1"]])),
    new A.Field("name", new A.Utf8(), true),
  ];
  children = [ids, strings(fields[1].type)];
}
const schema = new A.Schema(fields);
const data = A.makeData({ type: new A.Struct(fields), length: n, nullCount: 0, children });
writeFileSync(out, A.tableToIPC(new A.Table(schema, [new A.RecordBatch(schema, data)]), "stream"));
