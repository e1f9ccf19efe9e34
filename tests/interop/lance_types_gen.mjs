// Usage: node lance_types_gen.mjs OUT.arrows ROWS [simple|all] [BATCHES] [FIRST_ID]
// Writes, with apache-arrow JS, an IPC stream for the Lance generation
// interop test: `id` int64 not null (primary key: field metadata
// lance-schema:unenforced-primary-key:position = 1, values 0..ROWS-1) and,
// for "all", one nullable column of every type memwal writes to Lance (every
// 7th row null from row 3), plus a not-null utf8 and a field with metadata.
// "nested": id, a struct (with a nested struct) and lists of int32, utf8 and
// bool, with null structs, null / empty lists and null items.
// "lists": id and top-level lists only (what Lance 2.0 files can hold, as
// the FTS / HNSW index files use them): list<int32> / <utf8> / <bool> as in
// "nested", list<large_binary> (items of ~64 bytes, so 200,000 rows span
// several 8 MiB item pages), list<uint32>, list<float32>.
// "simple": id, name utf8, _tombstone bool; "dup": the same with id =
// FIRST + (row % 5) (repeated keys) and name "n<row>". Values are deterministic.
import { writeFileSync } from "node:fs";
import * as A from "apache-arrow";

const [out, rowsArg, mode = "all", batchesArg = "2", firstArg = "0"] = process.argv.slice(2);
const FIRST = Number(firstArg);
const ROWS = Number(rowsArg), NB = Math.max(1, Number(batchesArg));
const isNull = (i) => i % 7 === 3;

function bitmap(n, off) {
  const b = new Uint8Array(((n + 7) >> 3) + 8);
  let nulls = 0;
  for (let i = 0; i < n; i++) { if (!isNull(off + i)) b[i >> 3] |= 1 << (i & 7); else nulls++; }
  return [b, nulls];
}

function field(name, type, nullable, md) {
  return new A.Field(name, type, nullable, md ? new Map(Object.entries(md)) : undefined);
}

// columns: [Field, (off, n) => Data]
const cols = [];
const fixed = (name, type, Arr, fn, width = 1) => {
  cols.push([field(name, type, true), (off, n) => {
    const data = new Arr(n * width);
    for (let i = 0; i < n; i++) {
      const v = fn(off + i);
      if (width === 1) data[i] = v; else for (let k = 0; k < width; k++) data[i * width + k] = v[k];
    }
    const [nb, nulls] = bitmap(n, off);
    return A.makeData({ type, length: n, nullCount: nulls, nullBitmap: nb, data });
  }]);
};
const varcol = (name, type, large, fn, nullable = true, withNulls = nullable) => {
  cols.push([field(name, type, nullable), (off, n) => {
    const parts = [];
    const offs = large ? new BigInt64Array(n + 1) : new Int32Array(n + 1);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      if (!(withNulls && isNull(off + i))) { const b = fn(off + i); parts.push(b); pos += b.length; }
      offs[i + 1] = large ? BigInt(pos) : pos;
    }
    const data = new Uint8Array(pos);
    let p = 0;
    for (const b of parts) { data.set(b, p); p += b.length; }
    const [nb, nulls] = withNulls ? bitmap(n, off) : [undefined, 0];
    return A.makeData({ type, length: n, nullCount: nulls, nullBitmap: nb, valueOffsets: offs, data });
  }]);
};
const enc = new TextEncoder();
const bool = (name, fn, nullable) => {
  cols.push([field(name, new A.Bool(), nullable), (off, n) => {
    const data = new Uint8Array(((n + 7) >> 3) + 8);
    for (let i = 0; i < n; i++) if (fn(off + i)) data[i >> 3] |= 1 << (i & 7);
    const [nb, nulls] = nullable ? bitmap(n, off) : [undefined, 0];
    return A.makeData({ type: new A.Bool(), length: n, nullCount: nulls, nullBitmap: nb, data });
  }]);
};

cols.push([field("id", new A.Int64(), false, { "lance-schema:unenforced-primary-key:position": "1" }),
  (off, n) => A.makeData({ type: new A.Int64(), length: n, nullCount: 0,
    data: BigInt64Array.from({ length: n }, (_, i) => BigInt(FIRST + (mode === "dup" ? (off + i) % 5 : off + i))) })]);

if (mode === "nested") {
  // struct / list columns (Lance file format 2.1): nulls at every level
  const inner = new A.Struct([new A.Field("b", new A.Bool(), true), new A.Field("d", new A.Float64(), true)]);
  const stT = new A.Struct([new A.Field("x", new A.Int32(), true), new A.Field("s", new A.Utf8(), true),
    new A.Field("in", inner, true)]);
  const item = (t) => new A.List(new A.Field("item", t, true));
  const rowsOf = {
    st: (i) => i % 11 === 5 ? null : {
      x: i % 3 === 2 ? null : i * 10, s: i % 4 === 3 ? null : "s" + i,
      in: i % 13 === 7 ? null : { b: i % 5 === 1 ? null : i % 2 === 0, d: i % 17 === 4 ? null : i / 8 } },
    l: (i) => i % 9 === 2 ? null : i % 9 === 4 ? [] :
      Array.from({ length: i % 4 + 1 }, (_, k) => (k === 1 && i % 7 === 1 ? null : i * 100 + k)),
    ls: (i) => i % 10 === 3 ? null : Array.from({ length: i % 3 }, (_, k) => (k === 0 && i % 6 === 1 ? null : "v" + i + "_" + k)),
    lb: (i) => [i % 2 === 0, i % 3 === 0],
  };
  const types = { st: stT, l: item(new A.Int32()), ls: item(new A.Utf8()), lb: item(new A.Bool()) };
  for (const name of Object.keys(types))
    cols.push([field(name, types[name], true, name === "st" ? { note: "struct" } : undefined),
      (off, n) => A.vectorFromArray(Array.from({ length: n }, (_, i) => rowsOf[name](off + i)), types[name]).data[0]]);
} else if (mode === "lists") {
  const item = (t, nullable = true) => new A.List(new A.Field("item", t, nullable));
  const bin = (i, k) => Uint8Array.from({ length: 48 + ((i + k) % 33) }, (_, j) => (i * 31 + k * 7 + j) & 255);
  const rowsOf = {
    l: (i) => i % 9 === 2 ? null : i % 9 === 4 ? [] :
      Array.from({ length: i % 4 + 1 }, (_, k) => (k === 1 && i % 7 === 1 ? null : i * 100 + k)),
    ls: (i) => i % 10 === 3 ? null : Array.from({ length: i % 3 }, (_, k) => (k === 0 && i % 6 === 1 ? null : "v" + i + "_" + k)),
    lb: (i) => [i % 2 === 0, i % 3 === 0],
    lbin: (i) => i % 11 === 6 ? null : Array.from({ length: i % 4 }, (_, k) => bin(i, k)),
    lu: (i) => Array.from({ length: i % 5 }, (_, k) => (i * 7 + k) >>> 0),
    lf: (i) => i % 8 === 5 ? [] : Array.from({ length: 1 + (i % 3) }, (_, k) => i / 4 - k),
  };
  const types = { l: item(new A.Int32()), ls: item(new A.Utf8()), lb: item(new A.Bool()),
    lbin: item(new A.LargeBinary(), false), lu: item(new A.Uint32(), false), lf: item(new A.Float32(), false) };
  for (const name of Object.keys(types))
    cols.push([field(name, types[name], name !== "lu"),
      (off, n) => A.vectorFromArray(Array.from({ length: n }, (_, i) => rowsOf[name](off + i)), types[name]).data[0]]);
} else if (mode === "simple" || mode === "dup") {
  varcol("name", new A.Utf8(), false, (i) => enc.encode("n" + (FIRST + i)), true, false);
  bool("_tombstone", () => false, false);
} else {
  fixed("i8", new A.Int8(), Int8Array, (i) => (i % 256) - 128);
  fixed("u8", new A.Uint8(), Uint8Array, (i) => (i * 7) % 256);
  fixed("i16", new A.Int16(), Int16Array, (i) => (i * 31) % 65536 - 32768);
  fixed("u16", new A.Uint16(), Uint16Array, (i) => (i * 13) % 65536);
  fixed("i32", new A.Int32(), Int32Array, (i) => (i * 1000003) | 0);
  fixed("u32", new A.Uint32(), Uint32Array, (i) => (i * 2654435761) >>> 0);
  fixed("i64", new A.Int64(), BigInt64Array, (i) => BigInt(i) * -9007199254740993n);
  fixed("u64", new A.Uint64(), BigUint64Array, (i) => (BigInt(i) * 11400714819323198485n) % (1n << 64n));
  fixed("f16", new A.Float16(), Uint16Array, (i) => (0x3c00 + (i % 1000)) & 0xffff);
  fixed("f32", new A.Float32(), Float32Array, (i) => i * 0.5 - 3.25);
  fixed("f64", new A.Float64(), Float64Array, (i) => i * 1e-3 + 1e300 * (i % 2));
  varcol("s", new A.Utf8(), false, (i) => enc.encode(i % 5 === 0 ? "" : "s\u00e9" + i));
  varcol("ls", new A.LargeUtf8(), true, (i) => enc.encode("large" + i));
  varcol("bin", new A.Binary(), false, (i) => Uint8Array.from({ length: i % 4 }, (_, k) => (i + k) & 255));
  varcol("lbin", new A.LargeBinary(), true, (i) => Uint8Array.of(i & 255, 0, 255));
  varcol("s_nn", new A.Utf8(), false, (i) => enc.encode("v" + (i % 10)), false);
  bool("b", (i) => i % 3 === 0, true);
  fixed("fsb", new A.FixedSizeBinary(3), Uint8Array, (i) => [i & 255, (i >> 8) & 255, 7], 3);
  fixed("dec", new A.Decimal(2, 10, 128), Uint32Array, (i) => [i * 12345 >>> 0, 0, 0, 0], 4);
  fixed("d32", new A.DateDay(), Int32Array, (i) => i - 500);
  fixed("d64", new A.DateMillisecond(), BigInt64Array, (i) => BigInt(i) * 86400000n);
  fixed("t32", new A.TimeMillisecond(), Int32Array, (i) => (i * 1000) % 86400000);
  fixed("t64", new A.TimeMicrosecond(), BigInt64Array, (i) => BigInt(i) * 1000001n % 86400000000n);
  fixed("ts", new A.Timestamp(A.TimeUnit.MICROSECOND, "UTC"), BigInt64Array, (i) => 1700000000000000n + BigInt(i));
  fixed("ts_ms", new A.Timestamp(A.TimeUnit.MILLISECOND), BigInt64Array, (i) => 1700000000000n + BigInt(i) * 1000n);
  fixed("dur", new A.Duration(A.TimeUnit.NANOSECOND), BigInt64Array, (i) => BigInt(i) * 7n);
  const fslT = new A.FixedSizeList(4, new A.Field("item", new A.Float32(), true));
  cols.push([field("vec", fslT, true, { note: "vector" }), (off, n) => {
    const child = A.makeData({ type: new A.Float32(), length: n * 4, nullCount: 0,
      data: Float32Array.from({ length: n * 4 }, (_, k) => (off * 4 + k) * 0.25) });
    const [nb, nulls] = bitmap(n, off);
    return A.makeData({ type: fslT, length: n, nullCount: nulls, nullBitmap: nb, child });
  }]);
}

const schema = new A.Schema(cols.map((c) => c[0]));
const batches = [];
const per = Math.ceil(ROWS / NB);
for (let off = 0; off < ROWS; off += per) {
  const n = Math.min(per, ROWS - off);
  const children = cols.map((c) => c[1](off, n));
  const sd = A.makeData({ type: new A.Struct(schema.fields), length: n, nullCount: 0, children });
  batches.push(new A.RecordBatch(schema, sd));
}
writeFileSync(out, A.tableToIPC(new A.Table(schema, batches), "stream"));
