// Build small ONNX graphs in JS (onnx-proto), for head-discovery and CAM-agreement tests without Python.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = 1;
const INT64 = 7;
const A_FLOAT = 1;
const A_INT = 2;
const A_INTS = 7;

export type Attr = number | number[] | { f: number };

export function floatTensor(name: string, dims: number[], data: Float32Array) {
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
}

export function int64Tensor(name: string, values: number[]) {
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
}

/** A Constant node holding a tensor (torch's opset ≥ 18 export gives ReduceMean its axes this way). */
export function constant(output: string, value: ReturnType<typeof int64Tensor>) {
  return onnx.NodeProto.create({ opType: 'Constant', input: [], output: [output], name: `Constant_${output}`, attribute: [{ name: 'value', type: 4, t: value }] });
}

export function node(opType: string, input: string[], output: string[], attrs: Record<string, Attr> = {}) {
  const attribute = Object.entries(attrs).map(([name, v]) =>
    Array.isArray(v) ? { name, type: A_INTS, ints: v } : typeof v === 'number' ? { name, type: A_INT, i: v } : { name, type: A_FLOAT, f: v.f },
  );
  return onnx.NodeProto.create({ opType, input, output, name: `${opType}_${output[0]}`, attribute });
}

function valueInfo(name: string, dims?: number[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: FLOAT, ...(dims ? { shape: { dim: dims.map((d) => (d > 0 ? { dimValue: d } : { dimParam: 'N' })) } } : {}) } },
  });
}

export function model(o: { nodes: ReturnType<typeof node>[]; inits: ReturnType<typeof floatTensor>[]; input: string; inputDims: number[]; output: string; opset?: number }): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'snapmix-tests',
    opsetImport: [{ domain: '', version: o.opset ?? 13 }],
    graph: { name: 'g', node: o.nodes, initializer: o.inits, input: [valueInfo(o.input, o.inputDims)], output: [valueInfo(o.output)] },
  });
  return onnx.ModelProto.encode(m).finish();
}

/** Transpose a tfjs conv kernel [kh, kw, in, out] to ONNX's [out, in, kh, kw]. */
export function oihwFromHwio(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o];
  }
  return out;
}

/** The fixed 32×32 input scripts/make-onnx-fixture.py gave PyTorch: pixel (y, x, c) = (7x + 13y + 29c) mod 256, RGB HWC. */
export function fixtureInput(S = 32): Uint8Array {
  const img = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) img[(y * S + x) * 3 + c] = (7 * x + 13 * y + 29 * c) % 256;
  return img;
}
