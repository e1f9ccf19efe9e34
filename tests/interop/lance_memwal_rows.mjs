// Usage: node lance_memwal_rows.mjs OUT.arrows ID=NAME[,ID=NAME...]
// Writes, with apache-arrow JS, an Arrow IPC stream of one batch of rows
// {id, name, _tombstone: false} in the schema of a LanceDB MemWAL table
// (id int64 not null with the unenforced primary key metadata, name utf8,
// _tombstone bool not null), with chosen names so that updates of a key
// are visible in reads.
import { writeFileSync } from "node:fs";
import * as A from "apache-arrow";

const [out, list] = process.argv.slice(2);
if (!list) {
  console.error("usage: node lance_memwal_rows.mjs OUT.arrows ID=NAME[,ID=NAME...]");
  process.exit(2);
}
const pairs = list.split(",").map((p) => p.split("="));
const fields = [
  new A.Field("id", new A.Int64(), false, new Map([["lance-schema:unenforced-primary-key:position", "1"]])),
  new A.Field("name", new A.Utf8(), true),
  new A.Field("_tombstone", new A.Bool(), false),
];
const schema = new A.Schema(fields);
const n = pairs.length;
const enc = new TextEncoder();
const names = pairs.map(([, v]) => enc.encode(v));
const offsets = new Int32Array(n + 1);
names.forEach((b, i) => { offsets[i + 1] = offsets[i] + b.length; });
const chars = new Uint8Array(offsets[n]);
names.forEach((b, i) => chars.set(b, offsets[i]));
const children = [
  A.makeData({ type: fields[0].type, length: n, nullCount: 0, data: BigInt64Array.from(pairs.map(([k]) => BigInt(k))) }),
  A.makeData({ type: fields[1].type, length: n, nullCount: 0, valueOffsets: offsets, data: chars }),
  A.makeData({ type: fields[2].type, length: n, nullCount: 0, data: new Uint8Array(Math.max(1, (n + 7) >> 3)) }),
];
const data = A.makeData({ type: new A.Struct(fields), length: n, nullCount: 0, children });
writeFileSync(out, A.tableToIPC(new A.Table(schema, [new A.RecordBatch(schema, data)]), "stream"));
