// Usage: node merge_ops.mjs DB NAME COMMAND [ARG]
// LanceDB 0.39 operations the merge interop tests run on a table after (or
// between) `memwal merge` runs (one JSON line; exit 1 on error):
//   optimize      table.optimize() (compaction, index updates, cleanup of
//                 nothing: versions are kept)
//   cleanup       table.optimize({cleanupOlderThan: now, deleteUnverified:
//                 true}): index updates and removal of every old version
//   delete PRED   table.delete(PRED): a base-table delete (Lance writes a
//                 deletion file, `.arrow` for a few rows)
//   add FILE      table.add() of an Arrow IPC stream (a base append)
//   version       the table's version
//   views         {lsm, base}: every row as "id:text", sorted, through the
//                 LSM read and the base-only read (useLsm(false))
import { readFileSync } from "node:fs";
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";

const [dbDir, name, cmd, arg] = process.argv.slice(2);
const print = (o) => console.log(JSON.stringify(o, (k, v) => (typeof v === "bigint" ? v.toString() : v)));
try {
  const t = await (await lancedb.connect(dbDir)).openTable(name);
  if (cmd === "optimize") {
    const s = await t.optimize();
    print({ optimized: true, compaction: s.compaction, version: await t.version() });
  } else if (cmd === "cleanup") {
    const s = await t.optimize({ cleanupOlderThan: new Date(), deleteUnverified: true });
    print({ optimized: true, prune: s.prune, version: await t.version() });
  } else if (cmd === "delete") {
    await t.delete(arg);
    print({ deleted: arg, version: await t.version() });
  } else if (cmd === "add") {
    const tbl = A.tableFromIPC(readFileSync(arg));
    await t.add(tbl);
    print({ added: tbl.numRows, version: await t.version() });
  } else if (cmd === "views") {
    const view = async (lsm) => (await t.query().select(["id", "text"]).limit(100_000_000).useLsm(lsm).toArray())
      .map((r) => `${r.id}:${r.text}`).sort();
    print({ lsm: await view(true), base: await view(false) });
  } else if (cmd === "version") {
    print({ version: await t.version() });
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
} catch (e) {
  console.error(`merge_ops: ${e.message}`);
  process.exit(1);
}
