// Usage: node lance_table_defaults.mjs DB_DIR
// LanceDB creates table "wd" (id int64 not null, primary key; region utf8)
// with an identity(region) LSM spec and writer config defaults, then prints
// getLsmWriteSpec() as one JSON line (what `memwal describe` must read).
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";

const db = await lancedb.connect(process.argv[2]);
const schema = new A.Schema([new A.Field("id", new A.Int64(), false), new A.Field("region", new A.Utf8(), true)]);
const t = await db.createEmptyTable("wd", schema, { mode: "overwrite" });
await t.setUnenforcedPrimaryKey("id");
await t.setLsmWriteSpec({
  specType: "identity", column: "region",
  writerConfigDefaults: { durable_write: "true", max_memtable_rows: "1000", max_wal_flush_interval_ms: "250" },
});
console.log(JSON.stringify(await t.getLsmWriteSpec()));
