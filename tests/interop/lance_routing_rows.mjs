// Usage: node lance_routing_rows.mjs OUT.arrows KEYS.json
// Writes, with apache-arrow JS, an Arrow IPC stream of one batch in the
// schema of the tables lancedb_lsm.mjs creates (id int64 not null, vector
// fixed_size_list<float32>[8], text utf8), one row per [ID, TEXT] pair of
// KEYS.json (ID a decimal string, so any int64 survives; TEXT a string or
// null). The routing interop test routes these rows with `memwal route`
// and upserts them through LanceDB.
import { readFileSync, writeFileSync } from "node:fs";
import * as A from "apache-arrow";

const [out, keysFile] = process.argv.slice(2);
if (!keysFile) {
  console.error("usage: node lance_routing_rows.mjs OUT.arrows KEYS.json");
  process.exit(2);
}
const keys = JSON.parse(readFileSync(keysFile, "utf8"));
const D = 8;
const item = new A.Field("item", new A.Float32(), true);
const fields = [
  new A.Field("id", new A.Int64(), false),
  new A.Field("vector", new A.FixedSizeList(D, item), true),
  new A.Field("text", new A.Utf8(), true),
];
const schema = new A.Schema(fields);
const n = keys.length;
const enc = new TextEncoder();
const texts = keys.map(([, t]) => (t === null ? new Uint8Array(0) : enc.encode(t)));
const offsets = new Int32Array(n + 1);
texts.forEach((b, i) => { offsets[i + 1] = offsets[i] + b.length; });
const chars = new Uint8Array(offsets[n]);
texts.forEach((b, i) => chars.set(b, offsets[i]));
const valid = new Uint8Array(Math.max(1, (n + 7) >> 3));
let nulls = 0;
keys.forEach(([, t], i) => { if (t === null) nulls++; else valid[i >> 3] |= 1 << (i & 7); });
const vec = Float32Array.from({ length: n * D }, (_, i) => (i % 7) / 7);
const children = [
  A.makeData({ type: fields[0].type, length: n, nullCount: 0, data: BigInt64Array.from(keys.map(([k]) => BigInt(k))) }),
  A.makeData({ type: fields[1].type, length: n, nullCount: 0,
    child: A.makeData({ type: item.type, length: n * D, nullCount: 0, data: vec }) }),
  A.makeData({ type: fields[2].type, length: n, nullCount: nulls, nullBitmap: valid, valueOffsets: offsets, data: chars }),
];
const data = A.makeData({ type: new A.Struct(fields), length: n, nullCount: 0, children });
writeFileSync(out, A.tableToIPC(new A.Table(schema, [new A.RecordBatch(schema, data)]), "stream"));
