// Usage: node table_schema_gen.mjs OUT.arrows
// Writes tests/data/table_schema.arrows with apache-arrow JS: an Arrow IPC
// stream with no batches whose schema is the one lancedb_lsm.mjs tables
// use (id int64 not null, vector fixed_size_list<float32>[8], text utf8),
// with the primary key in id's field metadata as LanceDB's
// setUnenforcedPrimaryKey records it. Input of `memwal create` tests.
import { writeFileSync } from "node:fs";
import * as A from "apache-arrow";

const pk = new Map([["lance-schema:unenforced-primary-key:position", "1"]]);
const schema = new A.Schema([
  new A.Field("id", new A.Int64(), false, pk),
  new A.Field("vector", new A.FixedSizeList(8, new A.Field("item", new A.Float32(), true)), true),
  new A.Field("text", new A.Utf8(), true),
]);
writeFileSync(process.argv[2], A.tableToIPC(new A.Table(schema), "stream"));
