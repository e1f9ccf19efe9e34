// Regenerates the tests/data/ipc_*.arrows inputs of tests/test_ipc_read.c with
// apache-arrow JS 18.1.0: cp to the peers folder, then `node ipc_gen_inputs.mjs OUTDIR`.
import { writeFileSync } from "node:fs";
import * as A from "apache-arrow";
const { Schema, Field, makeData, RecordBatch, Struct, RecordBatchStreamWriter, vectorFromArray } = A;
const dir = process.argv[2];
function write(name, fields, arrays, md) {
  const schema = new Schema(fields, md ? new Map(md) : undefined);
  const cols = arrays.map((a, i) => vectorFromArray(a, fields[i].type));
  const len = cols.length ? cols[0].length : 0;
  const data = makeData({ type: new Struct(fields), length: len, nullCount: 0, children: cols.map((v) => v.data[0]) });
  const batch = new RecordBatch(schema, data);
  writeFileSync(`${dir}/${name}`, RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true));
}
// rich types
{
  const f = (n, t, nl = true) => new Field(n, t, nl);
  const fields = [
    f("i8", new A.Int8()), f("u16", new A.Uint16()), f("f32", new A.Float32()), f("f64", new A.Float64()),
    f("s", new A.Utf8()), f("ls", new A.LargeUtf8()), f("bin", new A.Binary()), f("b", new A.Bool()),
    f("dec", new A.Decimal(2, 10, 128)), f("d32", new A.DateDay()), f("d64", new A.DateMillisecond()),
    f("t32", new A.TimeMillisecond()), f("t64", new A.TimeMicrosecond()),
    f("ts", new A.TimestampMicrosecond("UTC")), f("dur", new A.DurationNanosecond()),
    f("lst", new A.List(f("item", new A.Int32()))),
    f("st", new A.Struct([f("a", new A.Int32()), f("b", new A.Utf8())])),
    f("fsb", new A.FixedSizeBinary(4)), f("fsl", new A.FixedSizeList(2, f("item", new A.Float32()))),
    f("m", new A.Map_(f("entries", new A.Struct([f("key", new A.Utf8(), false), f("value", new A.Int32())])), true)),
    f("nul", new A.Null()),
  ];
  const arrays = [
    [1, -2, null], [1, 65535, null], [1.5, null, -2], [0.25, 1e300, null],
    ["x", null, "zz"], ["L", "", null], [new Uint8Array([1, 2]), null, new Uint8Array([])], [true, null, false],
    [new Uint32Array([1234,0,0,0]), null, new Uint32Array([5,0,0,0])], [new Date(86400000), null, new Date(0)], [new Date(1000), new Date(2000), null],
    [1000, null, 2], [1n, null, 3n], [1, 2, null], [5n, null, 7n],
    [[1, 2], null, []], [{ a: 1, b: "p" }, null, { a: 3, b: null }],
    [new Uint8Array([1,2,3,4]), null, new Uint8Array([5,6,7,8])], [[1, 2], [3, 4], [5, 6]],
    [new Map([["k", 1]]), null, new Map()], [null, null, null],
  ];
  write("ipc_rich_types.arrows", fields, arrays, [["k", "v"]]);
}
write("ipc_list_int32.arrows", [new Field("l", new A.List(new Field("item", new A.Int32(), true)), true)], [[[1, 2], null, [3]]]);
{
  let t = new A.Int32(); let arr = [1, 2];
  for (let i = 0; i < 80; i++) { t = new A.Struct([new Field("c", t, true)]); arr = arr.map((v) => ({ c: v })); }
  write("ipc_deep_nesting.arrows", [new Field("deep", t, true)], [arr]);
}
{
  const t = new A.Dictionary(new A.Utf8(), new A.Int32());
  write("ipc_dictionary.arrows", [new Field("x", t, true)], [["a", "b", "a"]]);
}
write("ipc_interval.arrows", [new Field("iv", new A.IntervalDayTime(), true)], [[new Int32Array([1, 2]), null]]);
console.log("ok");
