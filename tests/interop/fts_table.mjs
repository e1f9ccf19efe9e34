// fts_table.mjs DB TEXTS_JSON QUERY... - LanceDB 0.39 creates table "t"
// {id int64, text utf8 (nullable)} with the given texts (null allowed; row i
// gets id 1e9 + i), builds an FTS index on text, and prints, per query, one
// line {"rows":[{"id":"...","_score":S},...]} (every match, k = 1000), the
// shape peers/lancedb_lsm.mjs fts prints. Used by fts_bm25.sh.
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";

const [dbUri, textsJson, ...queries] = process.argv.slice(2);
const texts = JSON.parse(textsJson);
const schema = new A.Schema([new A.Field("id", new A.Int64(), false), new A.Field("text", new A.Utf8(), true)]);
const db = await lancedb.connect(dbUri);
const t = await db.createTable("t", texts.map((x, i) => ({ id: BigInt(1_000_000_000 + i), text: x })), { schema, mode: "overwrite" });
await t.createIndex("text", { config: lancedb.Index.fts() });
for (const q of queries) {
  const r = await t.search(q, "fts", "text").limit(1000).toArray();
  console.log(JSON.stringify({ rows: r.map((x) => ({ id: String(x.id), _score: x._score })) }));
}
