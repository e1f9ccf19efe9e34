// Usage: node gen_arrow_types.mjs OUT.arrows EXPECTED.txt
// Writes, with apache-arrow JS, an IPC stream covering every type it can
// write (ints, uints, floats incl. float16, utf8/large_utf8, binary/
// large_binary, fixed_size_binary, decimal128, dates, times, timestamps with
// and without zone, durations, lists, fixed-size lists, structs, maps), with
// nulls and two batches, plus field and schema metadata; and EXPECTED.txt:
// exactly what `memwal ipc-cat OUT.arrows` must print (schema line + rows),
// written by hand here from the same values (independent of memwal's code).
// Buffers are built explicitly with makeData so the bytes are known.
import { writeFileSync } from "node:fs";
import * as A from "apache-arrow";

const [out, expOut] = process.argv.slice(2);
if (!expOut) { console.error("usage: node gen_arrow_types.mjs OUT.arrows EXPECTED.txt"); process.exit(2); }

const N = 3; // rows per batch
const bitmap = (valid) => { const b = new Uint8Array(8); valid.forEach((v, i) => { if (v) b[i >> 3] |= 1 << (i & 7); }); return b; };
const nulls = (valid) => valid.filter((v) => !v).length;
const V = [true, false, true]; // validity used by nullable columns: row 1 null

// One column: arrow type, our type string, nullable, per batch: data + our JSON texts
const cols = [];
function col(name, type, ours, nullable, batches, metadata) { cols.push({ name, type, ours, nullable, batches, metadata }); }
function fixedCol(name, type, ours, arrays, texts, nullable = true) {
  col(name, type, ours, nullable, arrays.map((data, b) => ({
    data: A.makeData({ type, length: N, nullCount: nullable ? nulls(V) : 0, nullBitmap: nullable ? bitmap(V) : undefined, data }),
    json: texts[b].map((t, i) => (nullable && !V[i] ? "null" : t)),
  })));
}
const enc = new TextEncoder();
function varCol(name, type, ours, large, batches, hex) {
  col(name, type, ours, true, batches.map((vals) => {
    const bytes = vals.map((v) => (v === null ? new Uint8Array(0) : typeof v === "string" ? enc.encode(v) : Uint8Array.from(v)));
    const offs = [0]; bytes.forEach((b) => offs.push(offs[offs.length - 1] + b.length));
    const data = new Uint8Array(offs[offs.length - 1]); let p = 0; bytes.forEach((b) => { data.set(b, p); p += b.length; });
    const valid = vals.map((v) => v !== null);
    return {
      data: A.makeData({ type, length: N, nullCount: nulls(valid), nullBitmap: bitmap(valid), data,
                         valueOffsets: large ? BigInt64Array.from(offs.map(BigInt)) : Int32Array.from(offs) }),
      json: vals.map((v, i) => (v === null ? "null" : hex ? `"${Buffer.from(bytes[i]).toString("hex")}"` : JSON.stringify(v))),
    };
  }));
}

fixedCol("i8", new A.Int8(), "int8", [Int8Array.of(-128, 0, 127), Int8Array.of(1, 2, 3)], [["-128", "", "127"], ["1", "", "3"]]);
fixedCol("u8", new A.Uint8(), "uint8", [Uint8Array.of(255, 0, 0), Uint8Array.of(1, 2, 3)], [["255", "0", "0"], ["1", "2", "3"]], false);
fixedCol("i16", new A.Int16(), "int16", [Int16Array.of(-32768, 0, 32767), Int16Array.of(-1, 0, 1)], [["-32768", "", "32767"], ["-1", "", "1"]]);
fixedCol("u16", new A.Uint16(), "uint16", [Uint16Array.of(65535, 9, 1), Uint16Array.of(7, 8, 9)], [["65535", "9", "1"], ["7", "8", "9"]], false);
fixedCol("i32", new A.Int32(), "int32", [Int32Array.of(-2147483648, 5, 2147483647), Int32Array.of(0, 0, -7)], [["-2147483648", "", "2147483647"], ["0", "", "-7"]]);
fixedCol("u32", new A.Uint32(), "uint32", [Uint32Array.of(4294967295, 0, 1), Uint32Array.of(2, 3, 4)], [["4294967295", "", "1"], ["2", "", "4"]]);
fixedCol("i64", new A.Int64(), "int64", [BigInt64Array.of(-9223372036854775808n, 0n, 9223372036854775807n), BigInt64Array.of(9007199254740993n, 0n, -1n)],
         [["-9223372036854775808", "0", "9223372036854775807"], ["9007199254740993", "0", "-1"]], false);
fixedCol("u64", new A.Uint64(), "uint64", [BigUint64Array.of(18446744073709551615n, 0n, 1n), BigUint64Array.of(2n, 3n, 9007199254740993n)],
         [["18446744073709551615", "", "1"], ["2", "", "9007199254740993"]]);
// float16 bits: 1, 65504, 0.1 (0x2E66), -inf, NaN, smallest subnormal
fixedCol("f16", new A.Float16(), "float16", [Uint16Array.of(0x3C00, 0, 0x2E66), Uint16Array.of(0xFC00, 0, 0x0001)],
         [["1", "", "0.1"], ['"-Infinity"', "", "6e-08"]]);
fixedCol("f32", new A.Float32(), "float32", [Float32Array.of(0.1, 0, -1.5), Float32Array.of(NaN, 0, 16777216)],
         [["0.1", "", "-1.5"], ['"NaN"', "", "16777216"]]);
fixedCol("f64", new A.Float64(), "float64", [Float64Array.of(0.1, 0, 1e300), Float64Array.of(Infinity, 0, 5e-324)],
         [["0.1", "", "1e+300"], ['"Infinity"', "", "5e-324"]]);
fixedCol("b", new A.Bool(), "bool", [Uint8Array.of(0b001), Uint8Array.of(0b100)], [["true", "", "false"], ["false", "", "true"]]);
varCol("s", new A.Utf8(), "utf8", false, [["héllo €", null, ""], ["q\"\\\n", "x", "😀"]]);
varCol("ls", new A.LargeUtf8(), "large_utf8", true, [["a", "", null], [null, "b", "c"]]);
varCol("bin", new A.Binary(), "binary", false, [[[0, 255], null, []], [[1], [2, 3], null]], true);
varCol("lbin", new A.LargeBinary(), "large_binary", true, [[[0xde, 0xad], [], null], [null, [0xbe], [0xef]]], true);
fixedCol("fsb", new A.FixedSizeBinary(2), "fixed_size_binary[2]", [Uint8Array.of(1, 2, 0, 0, 0xff, 0xfe), Uint8Array.of(0, 0, 0, 0, 0xab, 0xcd)],
         [['"0102"', "", '"fffe"'], ['"0000"', "", '"abcd"']]);
// decimal128(10, 2): -123.45, 0.01; (38, 0) big values via 32-bit words (LE)
const dec = (...vals) => { const a = new Uint32Array(vals.length * 4); vals.forEach((v, i) => { let x = BigInt.asUintN(128, v); for (let k = 0; k < 4; k++) { a[i * 4 + k] = Number(x & 0xffffffffn); x >>= 32n; } }); return a; };
fixedCol("dec", new A.Decimal(2, 10, 128), "decimal128(10, 2)", [dec(-12345n, 0n, 1n), dec(4200n, 0n, -5n)], [['"-123.45"', "", '"0.01"'], ['"42.00"', "", '"-0.05"']]);
fixedCol("dec38", new A.Decimal(0, 38, 128), "decimal128(38, 0)", [dec(10n ** 38n - 1n, 0n, -(10n ** 38n - 1n)), dec(2n ** 64n, 0n, 0n)],
         [['"99999999999999999999999999999999999999"', "", '"-99999999999999999999999999999999999999"'], ['"18446744073709551616"', "", '"0"']]);
fixedCol("d32", new A.DateDay(), "date32", [Int32Array.of(19000, 0, -1), Int32Array.of(0, 0, 2932896)], [["19000", "", "-1"], ["0", "", "2932896"]]);
fixedCol("d64", new A.DateMillisecond(), "date64", [BigInt64Array.of(1700000000123n, 0n, -86400000n), BigInt64Array.of(0n, 0n, 1n)], [["1700000000123", "", "-86400000"], ["0", "", "1"]]);
fixedCol("t_s", new A.TimeSecond(), "time32[s]", [Int32Array.of(86399, 0, 1), Int32Array.of(2, 0, 3)], [["86399", "", "1"], ["2", "", "3"]]);
fixedCol("t_ms", new A.TimeMillisecond(), "time32[ms]", [Int32Array.of(86399999, 0, 1), Int32Array.of(2, 0, 3)], [["86399999", "", "1"], ["2", "", "3"]]);
fixedCol("t_us", new A.TimeMicrosecond(), "time64[us]", [BigInt64Array.of(86399999999n, 0n, 1n), BigInt64Array.of(2n, 0n, 3n)], [["86399999999", "", "1"], ["2", "", "3"]]);
fixedCol("t_ns", new A.TimeNanosecond(), "time64[ns]", [BigInt64Array.of(86399999999999n, 0n, 1n), BigInt64Array.of(2n, 0n, 3n)], [["86399999999999", "", "1"], ["2", "", "3"]]);
const units = [["s", A.TimeUnit.SECOND], ["ms", A.TimeUnit.MILLISECOND], ["us", A.TimeUnit.MICROSECOND], ["ns", A.TimeUnit.NANOSECOND]];
for (const [u, tu] of units) {
  for (const tz of [null, u === "ms" ? "Europe/Paris" : "UTC"]) {
    fixedCol(`ts_${u}${tz ? "_tz" : ""}`, new A.Timestamp(tu, tz), tz ? `timestamp[${u}, ${tz}]` : `timestamp[${u}]`,
             [BigInt64Array.of(1700000000123456789n, 0n, -1n), BigInt64Array.of(9223372036854775807n, 0n, -9223372036854775808n)],
             [["1700000000123456789", "", "-1"], ["9223372036854775807", "", "-9223372036854775808"]]);
  }
  fixedCol(`dur_${u}`, new A.Duration(tu), `duration[${u}]`, [BigInt64Array.of(5n, 0n, -9223372036854775808n), BigInt64Array.of(0n, 0n, 42n)],
           [["5", "", "-9223372036854775808"], ["0", "", "42"]]);
}
// list<int32>: [[1, null], null, []] / [[], null, [3, 4, 5]]
{
  const itemF = new A.Field("item", new A.Int32(), true);
  const type = new A.List(itemF);
  const mk = (offs, vals, vvalid, valid) => A.makeData({ type, length: N, nullCount: nulls(valid), nullBitmap: bitmap(valid), valueOffsets: Int32Array.from(offs),
    child: A.makeData({ type: new A.Int32(), length: vals.length, nullCount: nulls(vvalid), nullBitmap: bitmap(vvalid), data: Int32Array.from(vals) }) });
  col("li", type, "list<item: int32>", true, [
    { data: mk([0, 2, 2, 2], [1, 0], [true, false], [true, false, true]), json: ["[1, null]", "null", "[]"] },
    { data: mk([0, 0, 0, 3], [3, 4, 5], [true, true, true], [true, false, true]), json: ["[]", "null", "[3, 4, 5]"] }]);
}
// fixed_size_list[2]<float32 not null>
{
  const itemF = new A.Field("item", new A.Float32(), false);
  const type = new A.FixedSizeList(2, itemF);
  const mk = (vals) => A.makeData({ type, length: N, nullCount: 1, nullBitmap: bitmap(V),
    child: A.makeData({ type: new A.Float32(), length: 6, nullCount: 0, data: Float32Array.from(vals) }) });
  col("fsl", type, "fixed_size_list[2]<item: float32 not null>", true, [
    { data: mk([1, 2, 0, 0, 0.5, -0.5]), json: ["[1, 2]", "null", "[0.5, -0.5]"] },
    { data: mk([3, 4, 9, 9, 5, 6]), json: ["[3, 4]", "null", "[5, 6]"] }]);
}
// struct<a: int16, s: utf8>
{
  const fa = new A.Field("a", new A.Int16(), true), fs = new A.Field("s", new A.Utf8(), false);
  const type = new A.Struct([fa, fs]);
  const mk = (av, avalid, strs) => {
    const bytes = strs.map((x) => enc.encode(x)); const offs = [0]; bytes.forEach((b) => offs.push(offs[offs.length - 1] + b.length));
    return A.makeData({ type, length: N, nullCount: 1, nullBitmap: bitmap(V), children: [
      A.makeData({ type: new A.Int16(), length: N, nullCount: nulls(avalid), nullBitmap: bitmap(avalid), data: Int16Array.from(av) }),
      A.makeData({ type: new A.Utf8(), length: N, nullCount: 0, valueOffsets: Int32Array.from(offs), data: Buffer.concat(bytes.map((b) => Buffer.from(b))) })] });
  };
  col("st", type, "struct<a: int16, s: utf8 not null>", true, [
    { data: mk([1, 2, 3], [true, true, false], ["x", "y", ""]), json: ['{"a": 1, "s": "x"}', "null", '{"a": null, "s": ""}'] },
    { data: mk([4, 5, 6], [true, true, true], ["p", "q", "r"]), json: ['{"a": 4, "s": "p"}', "null", '{"a": 6, "s": "r"}'] }]);
}
// map<entries: struct<key: utf8 not null, value: int64>>
{
  const kf = new A.Field("key", new A.Utf8(), false), vf = new A.Field("value", new A.Int64(), true);
  const ef = new A.Field("entries", new A.Struct([kf, vf]), false);
  const type = new A.Map_(ef, false);
  const mk = (offs, keys, vals, vvalid) => {
    const bytes = keys.map((x) => enc.encode(x)); const ko = [0]; bytes.forEach((b) => ko.push(ko[ko.length - 1] + b.length));
    return A.makeData({ type, length: N, nullCount: 1, nullBitmap: bitmap(V), valueOffsets: Int32Array.from(offs),
      child: A.makeData({ type: ef.type, length: keys.length, nullCount: 0, children: [
        A.makeData({ type: new A.Utf8(), length: keys.length, nullCount: 0, valueOffsets: Int32Array.from(ko), data: Buffer.concat(bytes.map((b) => Buffer.from(b))) }),
        A.makeData({ type: new A.Int64(), length: keys.length, nullCount: nulls(vvalid), nullBitmap: bitmap(vvalid), data: BigInt64Array.from(vals) })] }) });
  };
  col("m", type, "map<entries: struct<key: utf8 not null, value: int64> not null>", true, [
    { data: mk([0, 2, 2, 3], ["k1", "k2", "k3"], [1n, 0n, -9223372036854775808n], [true, false, true]), json: ['[["k1", 1], ["k2", null]]', "null", '[["k3", -9223372036854775808]]'] },
    { data: mk([0, 0, 0, 0], [], [], []), json: ["[]", "null", "[]"] }]);
}

const fieldMeta = new Map([["lance-schema:unenforced-primary-key:position", "1"]]);
const fields = cols.map((c, k) => new A.Field(c.name, c.type, c.nullable, k === 6 ? fieldMeta : undefined));
const schema = new A.Schema(fields, new Map([["writer_epoch", "5"], ["origin", "apache-arrow-js"]]));
const batches = [0, 1].map((b) => new A.RecordBatch(schema, A.makeData({ type: new A.Struct(fields), length: N, nullCount: 0, children: cols.map((c) => c.batches[b].data) })));
writeFileSync(out, A.RecordBatchStreamWriter.writeAll(batches).toUint8Array(true));

const md = (m) => `{${[...m.entries()].map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ")}}`;
const lines = [`{"schema": {"fields": [${cols.map((c, k) => `{"name": ${JSON.stringify(c.name)}, "type": ${JSON.stringify(c.ours)}, "nullable": ${c.nullable}, "metadata": ${k === 6 ? md(fieldMeta) : "{}"}}`).join(", ")}], "metadata": ${md(schema.metadata)}}}`];
for (let b = 0; b < 2; b++)
  for (let i = 0; i < N; i++)
    lines.push(`{${cols.map((c) => `${JSON.stringify(c.name)}: ${c.batches[b].json[i]}`).join(", ")}}`);
// JSON.stringify escapes differ from ours only for control chars: ours uses \u00XX
writeFileSync(expOut, lines.map((l) => l.replace(/\\n/g, "\\u000a")).join("\n") + "\n");
console.log(`wrote ${out} (${cols.length} columns, 2 batches) and ${expOut}`);
