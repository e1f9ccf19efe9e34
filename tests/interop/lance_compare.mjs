// Usage: node lance_compare.mjs IN.arrows DATASET_DIR [--expect-ids LIST]
// Reads IN.arrows with apache-arrow JS and the Lance dataset folder with
// LanceDB (plain scan), and compares them exactly: row count, field names,
// types, nullability, field metadata, every value (nulls included), in
// order. With --last-wins, the expected rows are IN's rows deduplicated on
// `id` keeping the last copy (at the position of that copy). Prints "ok N"
// or the first differences; exit 1 on any difference.
import { readFileSync, mkdtempSync, symlinkSync, unlinkSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as A from "apache-arrow";
import * as lancedb from "@lancedb/lancedb";

const args = process.argv.slice(2);
const [inPath, dsDir] = args;
const lastWins = args.includes("--last-wins");
const norm = (v) => {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return "n" + v.toString();
  if (v instanceof Uint8Array) return "x" + Buffer.from(v).toString("hex");
  if (ArrayBuffer.isView(v)) return "x" + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex");
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (v instanceof Date) return "d" + v.getTime();
  if (typeof v === "object" && typeof v.toArray === "function") return JSON.stringify(Array.from(v.toArray(), norm));
  if (Array.isArray(v)) return JSON.stringify(v.map(norm));
  return JSON.stringify(v);
};
const rowsOf = (t) => {
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((n) => t.getChild(n));
  const out = [];
  for (let i = 0; i < t.numRows; i++) out.push(cols.map((c) => norm(c.get(i))));
  return out;
};

const input = A.tableFromIPC(readFileSync(inPath));
let exp = rowsOf(input);
if (lastWins) {
  const idIdx = input.schema.fields.findIndex((f) => f.name === "id");
  const last = new Map();
  exp.forEach((r, i) => last.set(r[idIdx], i));
  exp = exp.filter((r, i) => last.get(r[idIdx]) === i);
}

const tmp = mkdtempSync(join(tmpdir(), "lance_compare-"));
symlinkSync(resolve(dsDir), join(tmp, "t.lance"));
let rc = 0;
const errs = [];
try {
  const db = await lancedb.connect(tmp);
  const t = await db.openTable("t");
  const got = await t.query().toArrow();
  const ef = input.schema.fields, gf = got.schema.fields;
  if (ef.length !== gf.length) errs.push(`fields: ${gf.length} != ${ef.length}`);
  for (let i = 0; i < Math.min(ef.length, gf.length); i++) {
    const a = ef[i], b = gf[i];
    if (a.name !== b.name) errs.push(`field ${i}: name ${b.name} != ${a.name}`);
    if (String(a.type) !== String(b.type)) errs.push(`field ${a.name}: type ${b.type} != ${a.type}`);
    if (a.nullable !== b.nullable) errs.push(`field ${a.name}: nullable ${b.nullable} != ${a.nullable}`);
    const am = JSON.stringify([...a.metadata].sort()), bm = JSON.stringify([...b.metadata].sort());
    if (am !== bm) errs.push(`field ${a.name}: metadata ${bm} != ${am}`);
  }
  const gr = rowsOf(got);
  if (gr.length !== exp.length) errs.push(`rows: ${gr.length} != ${exp.length}`);
  for (let i = 0; i < Math.min(gr.length, exp.length) && errs.length < 20; i++)
    for (let c = 0; c < exp[i].length; c++)
      if (gr[i][c] !== exp[i][c]) errs.push(`row ${i} col ${ef[c].name}: ${gr[i][c]} != ${exp[i][c]}`);
  t.close();
} catch (e) {
  errs.push(`lancedb: ${e.message}`);
} finally {
  unlinkSync(join(tmp, "t.lance"));
  rmdirSync(tmp);
}
if (errs.length) { console.log(errs.slice(0, 20).join("\n")); rc = 1; } else console.log(`ok ${exp.length}`);
process.exit(rc);
