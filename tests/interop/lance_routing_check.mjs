// Usage: node lance_routing_check.mjs MEMWAL_BIN TABLE_DIR ROUTE.jsonl KEYS.json LABEL
// Compares where LanceDB put every row with where `memwal route` says it
// belongs. LanceDB's side: every shard folder under TABLE_DIR/_mem_wal and
// the ids in its WAL entries (read with `memwal tail`, which Lance never
// deletes, also after a flush). Our side: ROUTE.jsonl, one {"row","shard"}
// line per row of the input whose ids are KEYS.json ([[ID, TEXT], ...], ID
// a decimal string). Prints "ok   LABEL: ..." or "FAIL LABEL: ..." lines;
// exit 1 on any failure.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const [bin, table, routeFile, keysFile, label] = process.argv.slice(2);
const keys = JSON.parse(readFileSync(keysFile, "utf8"));
const ours = readFileSync(routeFile, "utf8").trim().split("\n").map((l) => JSON.parse(l));
let bad = 0;
const fail = (m) => { console.log(`FAIL ${label}: ${m}`); bad++; };
if (ours.length !== keys.length) fail(`memwal route gave ${ours.length} rows for ${keys.length} keys`);
const want = new Map(); // id -> our shard
ours.forEach((r, i) => { if (keys[i]) want.set(keys[i][0], r.shard); });

const shards = readdirSync(join(table, "_mem_wal")).sort();
const seen = new Map(); // id -> [shards]
for (const s of shards) {
  const out = execFileSync(bin, ["tail", table, "--shard", s], { encoding: "utf8" });
  // ids are rendered as the first member of each row; parse them as text,
  // since JSON numbers lose int64 precision in JS
  for (const m of out.matchAll(/\{"id": (-?\d+),/g)) {
    if (!seen.has(m[1])) seen.set(m[1], []);
    seen.get(m[1]).push(s);
  }
}
let agree = 0;
for (const [id, shard] of want) {
  const got = seen.get(id) || [];
  if (got.length !== 1) fail(`id ${id}: LanceDB wrote it to ${got.length} shard folders [${got}]`);
  else if (got[0] !== shard) fail(`id ${id} (text ${JSON.stringify(keys.find((k) => k[0] === id)[1])}): LanceDB shard ${got[0]}, ours ${shard}`);
  else agree++;
}
for (const id of seen.keys()) if (!want.has(id)) fail(`LanceDB wrote unknown id ${id}`);
const ourShards = [...new Set(want.values())].sort();
if (ourShards.join() !== shards.join()) fail(`shard folders [${shards}] != our shards [${ourShards}]`);
if (!bad) console.log(`ok   ${label}: ${agree} keys in ${shards.length} shard folders, each where memwal route puts it`);
process.exit(bad ? 1 : 0);
