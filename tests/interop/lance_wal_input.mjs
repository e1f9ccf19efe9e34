// Usage: node lance_wal_input.mjs OUT.arrows ID[,ID...] [--writer-epoch N] [--empty-batch]
// Writes, with apache-arrow JS, an Arrow IPC stream holding rows
// {id: ID, name: "n<ID>", _tombstone: false} in the exact schema of the WAL
// entries LanceDB 0.39 / Lance 12 writes for a table made by
// lancedb_memwal_write.mjs --create (see `memwal ipc-cat` on the fixture):
//   id int64 not null, field metadata
//        "lance-schema:unenforced-primary-key:position" = "1"
//   name utf8 (nullable)
//   _tombstone bool not null
// --writer-epoch N adds schema metadata writer_epoch = N (which
// `memwal append` must replace with its own epoch); --empty-batch writes a
// zero-row batch before the data batch (which `memwal append` must drop).
// Used to make tests/data/wal_append_input.arrows (ids 11,12, writer epoch
// 99, with an empty batch) and, live, the input of the Lance takeover test.
import { writeFileSync } from "node:fs";
import * as A from "apache-arrow";

const args = process.argv.slice(2);
const pos = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--writer-epoch");
const [out, idList] = pos;
if (!idList) {
  console.error("usage: node lance_wal_input.mjs OUT.arrows ID[,ID...] [--writer-epoch N] [--empty-batch]");
  process.exit(2);
}
const epAt = args.indexOf("--writer-epoch");
const schemaMeta = new Map();
if (epAt >= 0) schemaMeta.set("writer_epoch", args[epAt + 1]);

const fields = [
  new A.Field("id", new A.Int64(), false, new Map([["lance-schema:unenforced-primary-key:position", "1"]])),
  new A.Field("name", new A.Utf8(), true),
  new A.Field("_tombstone", new A.Bool(), false),
];
const schema = new A.Schema(fields, schemaMeta);
const ids = idList.split(",").map((s) => BigInt(s));

function batch(idVals) {
  const n = idVals.length;
  const enc = new TextEncoder();
  const names = idVals.map((v) => enc.encode(`n${v}`));
  const offsets = new Int32Array(n + 1);
  names.forEach((b, i) => { offsets[i + 1] = offsets[i] + b.length; });
  const chars = new Uint8Array(offsets[n]);
  names.forEach((b, i) => chars.set(b, offsets[i]));
  const children = [
    A.makeData({ type: fields[0].type, length: n, nullCount: 0, data: BigInt64Array.from(idVals) }),
    A.makeData({ type: fields[1].type, length: n, nullCount: 0, valueOffsets: offsets, data: chars }),
    A.makeData({ type: fields[2].type, length: n, nullCount: 0, data: new Uint8Array(Math.max(1, (n + 7) >> 3)) }),
  ];
  const data = A.makeData({ type: new A.Struct(fields), length: n, nullCount: 0, children });
  return new A.RecordBatch(schema, data);
}

const batches = [];
if (args.includes("--empty-batch")) batches.push(batch([]));
batches.push(batch(ids));
const table = new A.Table(schema, batches);
writeFileSync(out, A.tableToIPC(table, "stream"));
