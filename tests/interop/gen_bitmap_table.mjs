// gen_bitmap_table.mjs DB NAME ROWS.arrows - LanceDB 0.39 creates table NAME
// {id int64 not null (unenforced primary key), text utf8} with 300 rows, a
// BTree index on id (id_idx) and a Bitmap index on text (text_idx: a kind
// the MemWAL cannot maintain; LanceDB refuses it in its own LSM spec, so
// gen_btree.sh installs the spec with `memwal set-spec`), and writes 50
// new rows (ids 1..50) of the same schema to ROWS.arrows.
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
import { writeFileSync } from "node:fs";

const [dbUri, name, out] = process.argv.slice(2);
const schema = new A.Schema([new A.Field("id", new A.Int64(), false), new A.Field("text", new A.Utf8(), true)]);
const db = await lancedb.connect(dbUri);
const base = Array.from({ length: 300 }, (_, i) => ({ id: BigInt(1_000_000 + i), text: "t" + (i % 5) }));
const t = await db.createTable(name, base, { schema, mode: "overwrite" });
await t.createIndex("id", { config: lancedb.Index.btree() });
await t.createIndex("text", { config: lancedb.Index.bitmap() });
await t.setUnenforcedPrimaryKey("id");
const n = 50;
const batch = new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: n, nullCount: 0, children: [
  A.makeData({ type: new A.Int64(), length: n, nullCount: 0, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i + 1)) }),
  A.vectorFromArray(Array.from({ length: n }, (_, i) => "n" + (i + 1)), new A.Utf8()).data[0]] }));
writeFileSync(out, A.tableToIPC(new A.Table([batch]), "stream"));
