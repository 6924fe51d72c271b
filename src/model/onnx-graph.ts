// CAM-head discovery in an ONNX graph, and the graph surgery that exposes the feature tensor.
// The head is: a 4-D feature tensor → global average pool (GlobalAveragePool, or ReduceMean over the
// spatial axes, as PyTorch's AdaptiveAvgPool2d(1) and tf2onnx export it) → pass-through ops
// (Flatten/Reshape/Squeeze/Dropout/Identity) → classifier (Gemm, or MatMul + Add) whose weights are
// initializers. Pure functions of the decoded protobuf; no runtime needed.
import onnxProto from 'onnx-proto';
import { UserError } from '../util/errors.js';

const { onnx } = onnxProto;
type Model = InstanceType<typeof onnx.ModelProto>;
type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;

export interface OnnxCamHead {
  /** Name of the 4-D feature tensor exposed as an extra output. */
  featureTensor: string;
  layout: 'nchw' | 'nhwc';
  /** Name of the classifier node (Gemm or MatMul). */
  classifierNode: string;
  /** Classifier weights as [classes, channels] and bias [classes] (zeros when absent). */
  weight: Float32Array;
  bias: Float32Array;
  numClasses: number;
  channels: number;
  /** The graph output holding the class scores. */
  logitsOutput: string;
  /** True when a Softmax follows the classifier (scores are already probabilities). */
  outputsProbabilities: boolean;
}

const PASS = new Set(['Flatten', 'Reshape', 'Squeeze', 'Dropout', 'Identity']);
const FLOAT = 1;
const INT64 = 7;

export function decodeModel(bytes: Uint8Array, file: string): Model {
  let m: Model;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new UserError(`${file} is not an ONNX model (${(e as Error).message}); export one with torch.onnx.export or tf2onnx`);
  }
  if (!m.graph || !m.graph.node?.length) throw new UserError(`${file} is not an ONNX model (no graph); export one with torch.onnx.export or tf2onnx`);
  return m;
}

/** Where an initializer's bytes live when the model keeps them outside (ONNX external data). */
export interface ExternalRef { tensor: string; location: string; offset: number; length?: number }

/** The tensors of a model whose bytes are in external files (torch ≥ 2.9 writes MODEL.onnx.data by default). */
function externalTensors(m: Model): Tensor[] {
  const consts = (m.graph?.node ?? []).flatMap((n) => (n.attribute ?? []).map((a) => a.t).filter((t): t is Tensor => !!t));
  return [...(m.graph?.initializer ?? []) as Tensor[], ...consts].filter((t) => t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0);
}

export function externalRefs(m: Model, file: string): ExternalRef[] {
  return externalTensors(m).map((t) => {
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) throw new UserError(`${file}: initializer ${t.name} is stored as external data without a location; re-export the model`);
    const length = kv.has('length') ? Number(kv.get('length')) : undefined;
    return { tensor: t.name ?? '', location, offset: Number(kv.get('offset') ?? 0), length };
  });
}

/**
 * The model with every external tensor's bytes put inside it (raw_data), so the graph can be edited and
 * loaded from memory: onnxruntime refuses external data for a model given as bytes. `read(ref)` returns a
 * tensor's bytes; the caller does the file I/O.
 */
export function inlineExternal(m: Model, read: (ref: ExternalRef) => Uint8Array, file: string): void {
  const refs = externalRefs(m, file);
  externalTensors(m).forEach((t, i) => {
    t.rawData = read(refs[i]);
    t.externalData = [];
    t.dataLocation = 0;
  });
}

export function encodeModel(m: Model): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}

/** An initializer's values as numbers (float or int64; raw or typed storage). */
function tensorValues(t: Tensor, file: string): { dims: number[]; data: Float32Array | number[] } {
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0) {
    throw new UserError(`${file}: initializer ${t.name} is stored as external data; re-export the model with its weights inside (save_as_external_data=False)`);
  }
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  if (t.dataType === FLOAT) {
    if (raw) {
      const copy = new Uint8Array(raw); // aligned copy
      return { dims, data: new Float32Array(copy.buffer, 0, count) };
    }
    return { dims, data: Float32Array.from(t.floatData ?? []) };
  }
  if (t.dataType === INT64) {
    if (raw) {
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return { dims, data: Array.from({ length: count }, (_, i) => Number(dv.getBigInt64(i * 8, true))) };
    }
    return { dims, data: (t.int64Data ?? []).map(Number) };
  }
  throw new UserError(`${file}: initializer ${t.name} has data type ${t.dataType}; only float32 classifier weights are supported`);
}

interface Index {
  producer: Map<string, Node>;
  consumers: Map<string, Node[]>;
  init: Map<string, Tensor>;
  outputs: Set<string>;
}

function index(m: Model): Index {
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of m.graph!.node!) {
    for (const o of n.output ?? []) producer.set(o, n as Node);
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n as Node]);
  }
  const init = new Map<string, Tensor>();
  for (const t of m.graph!.initializer ?? []) init.set(t.name!, t as Tensor);
  return { producer, consumers, init, outputs: new Set((m.graph!.output ?? []).map((o) => o.name!)) };
}

const attr = (n: Node, name: string) => (n.attribute ?? []).find((a) => a.name === name);
const attrInt = (n: Node, name: string, dflt: number) => {
  const a = attr(n, name);
  return a ? Number(a.i) : dflt;
};
const label = (n: Node) => `${n.name || '(unnamed)'} (${n.opType})`;

/** Spatial axes a pooling node averages over, or undefined when it is no global average pool. */
function poolLayout(n: Node, ix: Index, file: string): 'nchw' | 'nhwc' | undefined {
  if (n.opType === 'GlobalAveragePool') return 'nchw';
  if (n.opType !== 'ReduceMean') return undefined;
  let axes = (attr(n, 'axes')?.ints ?? []).map(Number);
  if (!axes.length && n.input && n.input[1]) {
    // Opset ≥ 18 takes axes as an input: an initializer, or (torch's exporter) a Constant node's value.
    const c = ix.producer.get(n.input[1]);
    const t = ix.init.get(n.input[1]) ?? (c?.opType === 'Constant' ? (attr(c, 'value')?.t as Tensor | undefined) : undefined);
    if (t) axes = tensorValues(t, file).data as number[];
  }
  const key = axes.map((a) => (a < 0 ? a + 4 : a)).sort().join(',');
  return key === '2,3' ? 'nchw' : key === '1,2' ? 'nhwc' : undefined;
}

function classifierAfter(pool: Node, ix: Index, file: string): { node: Node; weight: Float32Array; bias: Float32Array; classes: number; channels: number; end: string } | undefined {
  let t = pool.output![0];
  for (let hops = 0; hops < 8; hops++) {
    const next = ix.consumers.get(t) ?? [];
    if (next.length !== 1) return undefined;
    const n = next[0];
    if (PASS.has(n.opType!)) {
      t = n.output![0];
      continue;
    }
    if (n.opType === 'Gemm') {
      const wT = ix.init.get(n.input![1]);
      if (!wT || attrInt(n, 'transA', 0)) return undefined;
      const { dims, data } = tensorValues(wT, file);
      const transB = attrInt(n, 'transB', 0) === 1;
      const [classes, channels] = transB ? dims : [dims[1], dims[0]];
      const alpha = attr(n, 'alpha')?.f ?? 1;
      const beta = attr(n, 'beta')?.f ?? 1;
      const weight = new Float32Array(classes * channels);
      for (let c = 0; c < classes; c++) for (let k = 0; k < channels; k++) weight[c * channels + k] = alpha * (data as Float32Array)[transB ? c * channels + k : k * classes + c];
      const bias = new Float32Array(classes);
      const bT = n.input![2] ? ix.init.get(n.input![2]) : undefined;
      if (n.input![2] && !bT) return undefined;
      if (bT) {
        const b = tensorValues(bT, file).data as Float32Array;
        for (let c = 0; c < classes; c++) bias[c] = beta * b[b.length === 1 ? 0 : c];
      }
      return { node: n, weight, bias, classes, channels, end: n.output![0] };
    }
    if (n.opType === 'MatMul') {
      const wT = ix.init.get(n.input![1]);
      if (!wT) return undefined;
      const { dims, data } = tensorValues(wT, file);
      const [channels, classes] = dims;
      const weight = new Float32Array(classes * channels);
      for (let c = 0; c < classes; c++) for (let k = 0; k < channels; k++) weight[c * channels + k] = (data as Float32Array)[k * classes + c];
      const bias = new Float32Array(classes);
      let end = n.output![0];
      const add = ix.consumers.get(end) ?? [];
      if (add.length === 1 && add[0].opType === 'Add') {
        const other = add[0].input!.find((i) => i !== end)!;
        const bT = ix.init.get(other);
        if (bT) {
          const b = tensorValues(bT, file).data as Float32Array;
          for (let c = 0; c < classes; c++) bias[c] = b[b.length === 1 ? 0 : c];
          end = add[0].output![0];
        }
      }
      return { node: n, weight, bias, classes, channels, end };
    }
    return undefined;
  }
  return undefined;
}

/** Where the class scores end up: through pass-through ops and an optional Softmax to a graph output. */
function scoresOutput(t: string, ix: Index): { name: string; softmax: boolean } | undefined {
  let softmax = false;
  for (let hops = 0; hops < 8; hops++) {
    if (ix.outputs.has(t)) return { name: t, softmax };
    const next = ix.consumers.get(t) ?? [];
    if (next.length !== 1) return undefined;
    const n = next[0];
    if (n.opType === 'Softmax') softmax = true;
    else if (!PASS.has(n.opType!)) return undefined;
    t = n.output![0];
  }
  return undefined;
}

/**
 * Find the CAM head (the last one, nearest the graph output). --feature-tensor / --classifier-node pin
 * it; a graph without one is refused with its candidate nodes listed.
 */
export function findOnnxCamHead(m: Model, file: string, opts: { featureTensor?: string; classifierNode?: string } = {}): OnnxCamHead {
  const ix = index(m);
  const found: OnnxCamHead[] = [];
  for (const n of m.graph!.node! as Node[]) {
    const layout = poolLayout(n, ix, file);
    if (!layout) continue;
    const cls = classifierAfter(n, ix, file);
    if (!cls) continue;
    const out = scoresOutput(cls.end, ix);
    if (!out) continue;
    found.push({
      featureTensor: n.input![0], layout, classifierNode: cls.node.name || cls.node.output![0], weight: cls.weight, bias: cls.bias,
      numClasses: cls.classes, channels: cls.channels, logitsOutput: out.name, outputsProbabilities: out.softmax,
    });
  }
  const pick = found.filter((h) => (!opts.featureTensor || h.featureTensor === opts.featureTensor) && (!opts.classifierNode || h.classifierNode === opts.classifierNode));
  if (pick.length) return pick[pick.length - 1];
  const nodes = m.graph!.node! as Node[];
  const pools = nodes.filter((n) => /Pool|Reduce/.test(n.opType!)).map(label);
  const dense = nodes.filter((n) => n.opType === 'Gemm' || n.opType === 'MatMul').map(label);
  const wanted = opts.featureTensor || opts.classifierNode ? ` matching --feature-tensor ${opts.featureTensor ?? '(any)'} --classifier-node ${opts.classifierNode ?? '(any)'}` : '';
  throw new UserError(
    `${file}: the ONNX model has no CAM head${wanted} (a 4-D feature tensor → global average pool → Gemm or MatMul+Add classifier with constant weights, to a graph output). ` +
      `Pooling candidates: ${pools.join(', ') || 'none'}; classifier candidates: ${dense.join(', ') || 'none'}` +
      (found.length ? `; heads found: ${found.map((h) => `--feature-tensor ${h.featureTensor} --classifier-node ${h.classifierNode}`).join('; ')}` : ''),
  );
}

/** The model with the feature tensor added as a graph output (a copy; the input is not changed). */
export function exposeFeatures(m: Model, featureTensor: string): Uint8Array {
  const copy = onnx.ModelProto.decode(encodeModel(m));
  if (!(copy.graph!.output ?? []).some((o) => o.name === featureTensor)) {
    copy.graph!.output!.push(onnx.ValueInfoProto.create({ name: featureTensor, type: { tensorType: { elemType: FLOAT } } }));
  }
  return encodeModel(copy);
}

/** The graph's first real input (not an initializer) and its static shape (0 where dynamic). */
export function graphInput(m: Model): { name: string; dims: number[] } {
  const inits = new Set((m.graph!.initializer ?? []).map((t) => t.name));
  const inp = (m.graph!.input ?? []).find((i) => !inits.has(i.name));
  if (!inp) throw new UserError('the ONNX model has no input');
  const dims = (inp.type?.tensorType?.shape?.dim ?? []).map((d) => Number(d.dimValue ?? 0));
  return { name: inp.name!, dims };
}
