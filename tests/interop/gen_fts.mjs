// gen_fts.mjs COMMAND ... - helpers of gen_fts.sh (LanceDB 0.39 / Lance 12).
//  rows N SEED OUT_PREFIX [--dups]
//      writes OUT_PREFIX.json: [[id, text], ...] for lance_routing_rows.mjs:
//      N rows, ids 1..N, texts of 3..14 words drawn from a Zipf-like
//      vocabulary (frequent words reach df > 128: full posting blocks),
//      every 53rd text null, every 61st "" and every 67th only stop words;
//      with --dups, N/10 more rows rewriting earlier ids with new texts
//      (newest wins), and OUT_PREFIX.dedup.json the rows that survive.
//  base DB NAME ROWS.json
//      creates table NAME {id, text} from the rows and an FTS index on text
//      (the oracle: LanceDB indexing the same surviving rows itself).
//  search DB NAME QUERIES.json K
//      prints one line per query: {"q":..., "rows":[[id, score], ...]}, the
//      top K of LanceDB's full-text search on column text (--no-lsm path).
//  searchdir DIR QUERIES.json K
//      the same on a dataset folder (e.g. a generation), opened as a table.
import * as lancedb from "@lancedb/lancedb";
import * as A from "apache-arrow";
import { readFileSync, writeFileSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const [cmd, ...a] = process.argv.slice(2);
const rng = (seed) => () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };

async function search(t, queries, k) {
  for (const q of queries) {
    const r = await t.search(q, "fts", "text").limit(k).toArray();
    console.log(JSON.stringify({ q, rows: r.map((x) => [String(x.id), x._score]) }));
  }
}

if (cmd === "rows") {
  const [n, seed, out] = [Number(a[0]), Number(a[1]), a[2]];
  const r = rng(seed);
  const vocab = ["river", "stone", "lantern", "harbor", "meadow", "copper", "falcon", "willow", "ember", "glacier",
    "orchard", "thunder", "velvet", "quarry", "saffron", "tundra", "beacon", "cobalt", "dune", "fjord",
    "granite", "hollow", "ivory", "juniper", "kelp", "lagoon", "marble", "nectar", "oasis", "pebble",
    "quartz", "reef", "summit", "timber", "umber", "valley", "walnut", "yarrow", "zephyr", "running", "runs",
    "foxes", "jumped", "café", "naïve", "Cedars", "HARBORS"];
  const word = () => vocab[Math.min(vocab.length - 1, Math.floor(Math.pow(r(), 2.2) * vocab.length))];
  const text = (i) => i % 53 === 7 ? null : i % 61 === 9 ? "" : i % 67 === 11 ? "the of and to a" :
    Array.from({ length: 3 + Math.floor(r() * 12) }, word).join(r() < 0.3 ? ", " : " ");
  const rows = []; for (let i = 1; i <= n; i++) rows.push([String(i), text(i)]);
  if (a.includes("--dups")) {
    for (let j = 0; j < n / 10; j++) { const id = 1 + Math.floor(r() * n); rows.push([String(id), text(id + 1000)]); }
    const last = new Map(); rows.forEach(([id], i) => last.set(id, i));
    writeFileSync(out + ".dedup.json", JSON.stringify(rows.filter(([id], i) => last.get(id) === i)));
  }
  writeFileSync(out + ".json", JSON.stringify(rows));
} else if (cmd === "base") {
  const [dbUri, name, rowsFile] = a;
  const rows = JSON.parse(readFileSync(rowsFile, "utf8"));
  const schema = new A.Schema([new A.Field("id", new A.Int64(), false), new A.Field("text", new A.Utf8(), true)]);
  const db = await lancedb.connect(dbUri);
  const t = await db.createTable(name, rows.map(([id, text]) => ({ id: BigInt(id), text })), { schema, mode: "overwrite" });
  await t.createIndex("text", { config: lancedb.Index.fts() });
} else if (cmd === "search") {
  const [dbUri, name, qf, k] = a;
  const t = await (await lancedb.connect(dbUri)).openTable(name);
  await search(t, JSON.parse(readFileSync(qf, "utf8")), Number(k));
} else if (cmd === "searchdir") {
  const [dir, qf, k] = a;
  const tmp = mkdtempSync(join(tmpdir(), "gen_fts-")); symlinkSync(resolve(dir), join(tmp, "d.lance"));
  const t = await (await lancedb.connect(tmp)).openTable("d");
  await search(t, JSON.parse(readFileSync(qf, "utf8")), Number(k));
} else {
  console.error("usage: see the top of gen_fts.mjs"); process.exit(2);
}
