// Usage: node compare_arrow_js.mjs OURS.json ARROW_READ.json
// OURS.json: what memwal's JSON renderer says a stream holds (the schema line,
// then one row object per line: src/arrow/json.h). ARROW_READ.json: the output
// of the peers' arrow_read.mjs on the same stream (apache-arrow JS 18.1.0).
// Compares field names, nullability, types (our type string translated to
// apache-arrow's toString()), field and schema metadata, and every row value,
// normalising apache-arrow's representation: 64-bit integers, time64 and
// durations as decimal strings, decimals as the quoted unscaled integer,
// dates and timestamps as (possibly fractional) milliseconds, maps as objects,
// binary as hex, NaN/Infinity as null (JSON.stringify). Everything else is
// compared strictly. Prints every difference; exit 1 if any.
import { readFileSync } from "node:fs";

const [oursPath, theirsPath] = process.argv.slice(2);
if (!theirsPath) {
  console.error("usage: node compare_arrow_js.mjs OURS.json ARROW_READ.json");
  process.exit(2);
}

// A JSON parser that keeps numbers as their source text (64-bit integers
// must not go through doubles).
class Num { constructor(t) { this.t = t; } }
function parseJson(text) {
  let i = 0;
  const ws = () => { while (i < text.length && " \t\r\n".includes(text[i])) i++; };
  const fail = (m) => { throw new Error(`JSON parse error at ${i}: ${m}`); };
  function value() {
    ws();
    const c = text[i];
    if (c === "{") {
      i++; const o = []; ws();
      if (text[i] === "}") { i++; return { obj: o }; }
      for (;;) {
        ws(); const k = value(); ws();
        if (text[i++] !== ":") fail("expected :");
        o.push([k, value()]); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] !== "}") fail("expected }");
        return { obj: o };
      }
    }
    if (c === "[") {
      i++; const a = []; ws();
      if (text[i] === "]") { i++; return a; }
      for (;;) {
        a.push(value()); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] !== "]") fail("expected ]");
        return a;
      }
    }
    if (c === '"') {
      const start = i; i++;
      while (text[i] !== '"') { if (text[i] === "\\") i++; i++; if (i > text.length) fail("open string"); }
      i++;
      return JSON.parse(text.slice(start, i));
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m) { i += m[0].length; return new Num(m[0]); }
    for (const [w, v] of [["true", true], ["false", false], ["null", null]])
      if (text.startsWith(w, i)) { i += w.length; return v; }
    fail("unexpected character");
  }
  const v = value(); ws();
  if (i !== text.length) fail("trailing text");
  return v;
}
const objEntries = (o) => o.obj; // [[key, value], ...] in order

// ---- our type strings: NAME[PARAMS]? or NAME(PARAMS)? then <CHILD, ...>?
function parseType(s) {
  let i = 0;
  function type() {
    const m = /^[a-z0-9_]+(\[[^\]]*\]|\([^)]*\))?/.exec(s.slice(i));
    if (!m) throw new Error(`bad type string at ${i}: ${s}`);
    i += m[0].length;
    const t = { name: m[0].replace(/[[(].*$/, ""), params: m[1] ? m[1].slice(1, -1) : null, children: [] };
    if (s[i] === "<") {
      i++;
      while (s[i] !== ">") {
        const c = /^([^:]*): /.exec(s.slice(i));
        if (!c) throw new Error(`bad child at ${i}: ${s}`);
        i += c[0].length;
        const ct = type();
        ct.fieldName = c[1];
        ct.nullable = true;
        if (s.startsWith(" not null", i)) { i += 9; ct.nullable = false; }
        t.children.push(ct);
        if (s.startsWith(", ", i)) i += 2;
      }
      i++;
    }
    return t;
  }
  const t = type();
  if (i !== s.length) throw new Error(`trailing type text: ${s}`);
  return t;
}
const UNIT = { s: "SECOND", ms: "MILLISECOND", us: "MICROSECOND", ns: "NANOSECOND" };
const SIMPLE = {
  null: "Null", bool: "Bool", int8: "Int8", uint8: "Uint8", int16: "Int16", uint16: "Uint16",
  int32: "Int32", uint32: "Uint32", int64: "Int64", uint64: "Uint64", float16: "Float16",
  float32: "Float32", float64: "Float64", utf8: "Utf8", large_utf8: "LargeUtf8", binary: "Binary",
  large_binary: "LargeBinary", date32: "Date32<DAY>", date64: "Date64<MILLISECOND>",
};
function jsTypeString(t) {
  if (SIMPLE[t.name]) return SIMPLE[t.name];
  switch (t.name) {
    case "fixed_size_binary": return `FixedSizeBinary[${t.params}]`;
    case "decimal128": {
      const [p, sc] = t.params.split(", ").map(Number);
      return `Decimal[${p}e${sc > 0 ? "+" : ""}${sc}]`;
    }
    case "time32": return `Time32<${UNIT[t.params]}>`;
    case "time64": return `Time64<${UNIT[t.params]}>`;
    case "duration": return `Duration<${UNIT[t.params]}>`;
    case "timestamp": {
      const [u, tz] = t.params.split(", ");
      return tz ? `Timestamp<${UNIT[u]}, ${tz}>` : `Timestamp<${UNIT[u]}>`;
    }
    case "list": return `List<${jsTypeString(t.children[0])}>`;
    case "fixed_size_list": return `FixedSizeList[${t.params}]<${jsTypeString(t.children[0])}>`;
    case "struct": return `Struct<{${t.children.map((c) => `${c.fieldName}:${jsTypeString(c)}`).join(", ")}}>`;
    case "map": {
      const e = t.children[0];
      return `Map<{${e.children.map((c) => `${c.fieldName}:${jsTypeString(c)}`).join(", ")}}>`;
    }
  }
  return `?${t.name}`;
}

// ---- values: our parsed value -> what arrow_read prints
const isInt64 = (n) => ["int64", "uint64", "time64", "duration"].includes(n);
function unscaled(dec) { // "-123.45" -> "-12345", "0.01" -> "1"
  let neg = dec.startsWith("-");
  let d = (neg ? dec.slice(1) : dec).replace(".", "").replace(/^0+(?=\d)/, "");
  if (d === "0") neg = false;
  return (neg ? "-" : "") + d;
}
const diffs = [];
function cmpValue(t, ours, theirs, path) {
  const bad = (why) => diffs.push(`${path}: ${why}: ours ${JSON.stringify(show(ours))} vs arrow-js ${JSON.stringify(theirs)}`);
  if (ours === null) { if (theirs !== null) bad("null differs"); return; }
  const num = ours instanceof Num ? ours.t : null;
  switch (t.name) {
    case "bool": case "utf8": case "large_utf8": case "binary": case "large_binary": case "fixed_size_binary":
      if (ours !== theirs) bad("value differs");
      return;
    case "float16": case "float32": case "float64": {
      if (typeof ours === "string") { if (theirs !== null) bad("non-finite float"); return; }
      const v = Number(num);
      let same;
      if (t.name === "float64") same = v === theirs;
      else if (t.name === "float32") same = Math.fround(v) === theirs;
      else { // our text must round to the half value arrow-js decoded
        const a = Math.abs(theirs);
        const ulp = a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
        same = typeof theirs === "number" && Math.abs(v - theirs) <= ulp / 2;
      }
      if (!same) bad("float differs");
      return;
    }
    case "decimal128":
      if (JSON.stringify(unscaled(ours)) !== theirs) bad("decimal differs");
      return;
    case "date32":
      if (Number(num) * 86400000 !== theirs) bad("date32 differs");
      return;
    case "date64": case "time32":
      if (Number(num) !== theirs) bad(`${t.name} differs`);
      return;
    case "timestamp": {
      const u = t.params.split(", ")[0];
      const b = BigInt(num);
      let want;
      if (u === "s") want = Number(b * 1000n);
      else if (u === "ms") want = Number(b);
      else want = Number(b) / (u === "us" ? 1e3 : 1e6);
      // JS converts us/ns to fractional ms with its own float steps
      const tol = u === "us" || u === "ns" ? Math.abs(want) * 1e-12 + 1e-9 : 0;
      if (typeof theirs !== "number" || Math.abs(want - theirs) > tol) bad("timestamp differs");
      return;
    }
    case "list": case "fixed_size_list":
      if (!Array.isArray(theirs) || theirs.length !== ours.length) { bad("list length differs"); return; }
      ours.forEach((v, k) => cmpValue(t.children[0], v, theirs[k], `${path}[${k}]`));
      return;
    case "struct": {
      const e = objEntries(ours);
      if (theirs === null || typeof theirs !== "object" ||
          JSON.stringify(Object.keys(theirs)) !== JSON.stringify(e.map(([k]) => k))) { bad("struct keys differ"); return; }
      e.forEach(([k, v], n) => cmpValue(t.children[n], v, theirs[k], `${path}.${k}`));
      return;
    }
    case "map": {
      const [kt, vt] = t.children[0].children;
      if (theirs === null || typeof theirs !== "object") { bad("map differs"); return; }
      const keys = Object.keys(theirs);
      if (keys.length !== ours.length) { bad("map size differs"); return; }
      ours.forEach(([k, v], n) => {
        const ks = k instanceof Num ? k.t : String(k);
        if (keys[n] !== ks) bad(`map key ${n} differs`);
        cmpValue(vt, v, theirs[ks], `${path}{${ks}}`);
      });
      void kt;
      return;
    }
    case "null": if (theirs !== null) bad("null type"); return;
  }
  if (isInt64(t.name)) { if (num !== theirs) bad("64-bit integer differs"); return; }
  if (Number(num) !== theirs) bad("integer differs");
}
function show(v) {
  if (v instanceof Num) return v.t;
  if (Array.isArray(v)) return v.map(show);
  if (v && v.obj) return Object.fromEntries(v.obj.map(([k, x]) => [k, show(x)]));
  return v;
}

const lines = readFileSync(oursPath, "utf8").split("\n").filter((l) => l.length);
const theirs = JSON.parse(readFileSync(theirsPath, "utf8"));
const schemaObj = show(parseJson(lines[0])).schema;
const rows = lines.slice(1).map(parseJson);

if (theirs.format !== "stream") diffs.push(`format: ${theirs.format}`);
const eqJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);
if (!eqJson(schemaObj.metadata, theirs.schema_metadata))
  diffs.push(`schema metadata: ours ${JSON.stringify(schemaObj.metadata)} vs ${JSON.stringify(theirs.schema_metadata)}`);
if (schemaObj.fields.length !== theirs.fields.length) diffs.push(`field count ${schemaObj.fields.length} vs ${theirs.fields.length}`);
const types = [];
schemaObj.fields.forEach((f, k) => {
  const g = theirs.fields[k] || {};
  const t = parseType(f.type);
  types.push(t);
  if (f.name !== g.name) diffs.push(`field ${k}: name ${f.name} vs ${g.name}`);
  if (f.nullable !== g.nullable) diffs.push(`field ${f.name}: nullable ${f.nullable} vs ${g.nullable}`);
  if (jsTypeString(t) !== g.type) diffs.push(`field ${f.name}: type ${f.type} (= ${jsTypeString(t)}) vs ${g.type}`);
  if (!eqJson(f.metadata, g.metadata)) diffs.push(`field ${f.name}: metadata ${JSON.stringify(f.metadata)} vs ${JSON.stringify(g.metadata)}`);
});
if (rows.length !== theirs.num_rows || rows.length !== theirs.rows.length)
  diffs.push(`row count: ours ${rows.length} vs ${theirs.num_rows} (${theirs.rows.length} printed)`);
rows.forEach((r, n) => {
  const tr = theirs.rows[n];
  if (!tr) return;
  const e = objEntries(r);
  if (!eqJson(e.map(([k]) => k), Object.keys(tr))) diffs.push(`row ${n}: columns differ`);
  e.forEach(([k, v], c) => cmpValue(types[c], v, tr[k], `row ${n}.${k}`));
});

if (diffs.length) {
  for (const d of diffs) console.error(`  DIFF ${d}`);
  console.error(`${oursPath}: ${diffs.length} difference(s)`);
  process.exit(1);
}
console.log(`${oursPath}: ${rows.length} rows, ${types.length} fields equal`);
