// Usage: node lance_table_ops.mjs DB NAME COMMAND [ARG]
// LanceDB 0.39 operations on a table `memwal create` made (one JSON line):
//   open            version, schema fields [name, Arrow type, nullable,
//                   metadata] and countRows() of table NAME in DB
//   add FILE.arrows table.add() of every row of an Arrow IPC stream (a
//                   normal Lance append: a new version with a fragment)
//   index-id        createIndex("id", btree) -> index "id_idx"
//   read            every row through LanceDB's query (LSM path when the
//                   table has a MemWAL spec): sorted ids and the row count
import { readFileSync } from "node:fs";
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";

const [dbDir, name, cmd, arg] = process.argv.slice(2);
const print = (o) => console.log(JSON.stringify(o, (k, v) => (typeof v === "bigint" ? v.toString() : v)));
try {
  const t = await (await lancedb.connect(dbDir)).openTable(name);
  if (cmd === "open") {
    const s = await t.schema();
    print({ version: await t.version(), count: await t.countRows(),
      fields: s.fields.map((f) => [f.name, String(f.type), f.nullable, Object.fromEntries(f.metadata)]) });
  } else if (cmd === "add") {
    const tbl = A.tableFromIPC(readFileSync(arg));
    await t.add(tbl);
    print({ added: tbl.numRows, version: await t.version() });
  } else if (cmd === "index-id") {
    await t.createIndex("id", { config: lancedb.Index.btree() });
    print({ indices: (await t.listIndices()).map((i) => i.name) });
  } else if (cmd === "read") {
    const rows = await t.query().select(["id"]).toArray();
    print({ ids: rows.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String), rows: rows.length });
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
} catch (e) {
  console.error(`lance_table_ops: ${e.message}`);
  process.exit(1);
}
