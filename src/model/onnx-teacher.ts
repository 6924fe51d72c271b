// ONNX teachers (a PyTorch or Keras model exported to .onnx) through onnxruntime-node: the sidecar
// with the teacher's own preprocessing, the fingerprint, the execution provider (CUDA → WebGPU → CPU),
// and one batched forward pass giving class scores and the CAMs of the requested classes.
import { availableCpus } from '../util/cpus.js';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { UserError } from '../util/errors.js';
import type { Fit } from '../image/decode.js';
import { check } from '../util/schemas.js';
import { camsFromFeatures, softmaxRows } from '../cam/cam-math.js';
import type { OnnxHeadOptions, OrtProvider, TeacherRunner } from './teacher-types.js';
import { decodeModel, encodeModel, externalRefs, inlineExternal, exposeFeatures, findOnnxCamHead, graphInput, type OnnxCamHead } from './onnx-graph.js';

export const isOnnx = (p: string) => /\.onnx$/i.test(p);

interface TeacherConfig {
  input_size: number;
  /** The teacher's resize policy, the default of `cams --fit` when set (src/image/decode.ts Fit). */
  fit?: Fit;
  mean: number[];
  std: number[];
  channel_order: 'rgb' | 'bgr';
  layout?: 'nchw' | 'nhwc';
  class_names?: string[];
}

/** torchvision's ImageNet recipe: what `torch.onnx.export` of a torchvision/timm model expects by default. */
const TORCHVISION_PREPROCESS: TeacherConfig = { input_size: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channel_order: 'rgb' };



/** The sidecar: --teacher-config, else MODEL.json beside MODEL.onnx, else teacher.json in its directory. */
async function readSidecar(model: string, explicit?: string): Promise<{ config: Partial<TeacherConfig>; file?: string; text: string }> {
  const candidates = explicit ? [explicit] : [model.replace(/\.onnx$/i, '.json'), path.join(path.dirname(model), 'teacher.json')];
  for (const file of candidates) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      if (explicit) throw new UserError(`--teacher-config ${file} cannot be read`);
      continue;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new UserError(`${file} (the sidecar of ${model}) is not valid JSON: ${(e as Error).message}`);
    }
    const problems = check('teacher', obj, '', `${file}: `);
    if (problems.length) throw new UserError(`${file} (the sidecar of ${model}) does not match schemas/teacher.schema.json:\n  ${problems.join('\n  ')}`);
    return { config: obj as Partial<TeacherConfig>, file, text };
  }
  return { config: {}, text: '' };
}

export interface OnnxDescription {
  bytes: Uint8Array;
  head: OnnxCamHead;
  config: TeacherConfig;
  inputName: string;
  fingerprint: string;
  /** The sidecar the preprocessing came from; undefined: none, torchvision defaults. */
  sidecar?: string;
  /** The graph's static batch size (torch's default export without dynamic_axes fixes it), 0 when dynamic. */
  batch: number;
}

/** onnxruntime reads models as protobuf: one message may not pass 2 GiB. */
const MAX_INLINE = 2 ** 31 - 1;

/**
 * A model file as self-contained bytes: an initializer kept in an external data file (torch ≥ 2.9's
 * exporter writes MODEL.onnx.data beside MODEL.onnx) is read in from it, so the graph can be edited and
 * loaded from memory. `identity` is what the fingerprint hashes: the file's bytes, then each external
 * file's (a model without external data hashes as before).
 */
async function readOnnxFile(model: string): Promise<{ bytes: Uint8Array; identity: Uint8Array[] }> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(model);
  } catch {
    throw new UserError(`--teacher ${model} cannot be read; point it at an exported .onnx file`);
  }
  const m = decodeModel(bytes, model);
  const refs = externalRefs(m, model);
  if (!refs.length) return { bytes, identity: [bytes] };
  const dir = path.dirname(path.resolve(model));
  const files = new Map<string, Buffer>();
  for (const loc of new Set(refs.map((r) => r.location))) {
    const file = path.resolve(dir, loc);
    if (path.isAbsolute(loc) || path.relative(dir, file).startsWith('..')) {
      throw new UserError(`${model}: its external data location ${loc} is outside the model's directory; keep the data file beside the .onnx file (as the exporter writes it)`);
    }
    try {
      files.set(loc, await fs.readFile(file));
    } catch {
      throw new UserError(`${model} keeps its weights in ${file} (external data; torch ≥ 2.9's exporter writes MODEL.onnx.data beside MODEL.onnx), which cannot be read: copy it beside ${path.basename(model)}, or export with external_data=False for one file`);
    }
  }
  inlineExternal(m, (r) => {
    const data = files.get(r.location)!;
    const end = r.length === undefined ? data.length : r.offset + r.length;
    if (!(r.offset >= 0 && end <= data.length)) throw new UserError(`${model}: initializer ${r.tensor} lies at bytes ${r.offset}..${end} of ${r.location}, which holds ${data.length}: the data file is truncated or from another export; export again`);
    return data.subarray(r.offset, end);
  }, model);
  const total = [...files.values()].reduce((a, b) => a + b.length, bytes.length);
  if (total > MAX_INLINE) throw new UserError(`${model} with its external data is ${(total / 2 ** 30).toFixed(1)} GiB: snapmix edits the graph in memory, which ONNX limits to 2 GiB; use a smaller teacher`);
  return { bytes: encodeModel(m), identity: [bytes, ...files.values()] };
}

/** Parse, find the head, resolve the preprocessing; no runtime. Errors name the file. */
export async function describeOnnx(model: string, o: OnnxHeadOptions = {}): Promise<OnnxDescription> {
  const { bytes, identity } = await readOnnxFile(model);
  const m = decodeModel(bytes, model);
  const head = findOnnxCamHead(m, model, o);
  const input = graphInput(m);
  const side = await readSidecar(model, o.teacherConfig);
  const graphLayout = input.dims.length === 4 ? (input.dims[1] === 3 ? 'nchw' : input.dims[3] === 3 ? 'nhwc' : undefined) : undefined;
  const staticSize = graphLayout === 'nchw' ? input.dims[2] : graphLayout === 'nhwc' ? input.dims[1] : 0;
  const config: TeacherConfig = { ...TORCHVISION_PREPROCESS, ...(staticSize ? { input_size: staticSize } : {}), ...side.config };
  if (side.config.layout && graphLayout && side.config.layout !== graphLayout) {
    throw new UserError(`${side.file}: layout ${side.config.layout}, but ${model}'s input ${input.name} is [${input.dims.map((d) => d || '?')}] (${graphLayout}); fix the sidecar's layout or remove it (it is read from the graph)`);
  }
  config.layout = side.config.layout ?? graphLayout ?? 'nchw';
  if (staticSize && staticSize !== config.input_size) {
    throw new UserError(`${side.file}: input_size ${config.input_size}, but ${model} takes ${staticSize}×${staticSize} images; fix the sidecar`);
  }
  if (config.class_names && config.class_names.length !== head.numClasses) {
    throw new UserError(`${side.file}: ${config.class_names.length} class_names, but ${model}'s classifier has ${head.numClasses} outputs`);
  }
  // The fingerprint covers the weights and the preprocessing: either changes the CAMs.
  const h = createHash('sha256');
  for (const part of identity) h.update(part);
  const fingerprint = h.update('\0').update(JSON.stringify(config)).digest('hex');
  return { bytes, head, config, inputName: input.name, fingerprint, sidecar: side.file, batch: input.dims.length ? Math.max(0, input.dims[0]) : 0 };
}

function ort(): typeof import('onnxruntime-node') {
  // CommonJS package; loaded only when an ONNX teacher is used.
  return createRequire(import.meta.url)('onnxruntime-node');
}

/** Why a provider cannot work here without trying it (and printing native warnings), or undefined. */
function providerBlocked(p: OrtProvider): string | undefined {
  if (p === 'cuda') {
    const dir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const bin = path.join(dir, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
    return existsSync(bin) ? undefined : 'CUDA provider files not installed (docs/PYTORCH.md "Execution providers")';
  }
  if (p === 'webgpu') {
    const found = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'].some((d) => existsSync(path.join(d, 'libvulkan.so.1')));
    return found ? undefined : 'no Vulkan loader (libvulkan.so.1), so no WebGPU adapter';
  }
  return undefined;
}

export interface ProviderChoice { provider: OrtProvider; tried: string[] }

/** onnxruntime's message as one readable clause: its first line, without the C++ source location it ends with. */
export function ortReason(message: string): string {
  const first = message.split('\n')[0].replace(/\s+\S+\.(cc|cpp|h):\d+.*$/, '').replace(/^\[[^\]]*\]\s*(:\s*\d+\s*:\s*)?/, '').trim();
  return first.length > 200 ? `${first.slice(0, first.lastIndexOf(' ', 200))} …` : first;
}

/**
 * A GPU provider proved in a child process: its native libraries print to the process's stderr (Dawn's
 * "XDG_RUNTIME_DIR is invalid", Vulkan warnings, CUDA's loader) whatever the log level, so the probe runs
 * where that output can be caught and summarised in one clause.
 */
function probeGpu(p: OrtProvider, model: Uint8Array): string | undefined {
  const script = `const ort = require(${JSON.stringify(createRequire(import.meta.url).resolve('onnxruntime-node'))});
const chunks = []; process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  try { ort.env.logLevel = 'fatal'; const s = await ort.InferenceSession.create(Buffer.concat(chunks), { executionProviders: [${JSON.stringify(p)}], logSeverityLevel: 4 }); await s.release(); process.stdout.write('ok'); }
  catch (e) { process.stdout.write(String(e && e.message)); process.exitCode = 1; }
});`;
  const r = spawnSync(process.execPath, ['-e', script], { input: model, encoding: 'utf8', maxBuffer: 16 * 2 ** 20, timeout: 120_000 });
  if (r.status === 0 && r.stdout === 'ok') return undefined;
  const noise = `${r.stderr ?? ''}`;
  if (p === 'webgpu' && /XDG_RUNTIME_DIR|vulkan|adapter|Dawn/i.test(noise + r.stdout)) return 'no GPU adapter';
  return ortReason(r.stdout || noise || `the probe exited with ${r.status ?? r.signal}`);
}

/**
 * The execution provider for --backend: auto = CUDA → WebGPU → CPU, gpu = CUDA → WebGPU (or an error),
 * cpu/wasm/native = CPU. Each candidate is proved by opening a session on the model (GPU ones in a child
 * process, whose native noise is summarised, not shown).
 */
export async function chooseProvider(backend: string, model: Uint8Array, file: string): Promise<ProviderChoice> {
  const order: OrtProvider[] = backend === 'auto' ? ['cuda', 'webgpu', 'cpu'] : backend === 'gpu' ? ['cuda', 'webgpu'] : ['cpu'];
  const tried: string[] = [];
  ort().env.logLevel = 'fatal';
  for (const p of order) {
    const blocked = providerBlocked(p) ?? (p === 'cpu' ? undefined : probeGpu(p, model));
    if (blocked) {
      tried.push(`${p}: ${blocked}`);
      continue;
    }
    try {
      const s = await ort().InferenceSession.create(model, { executionProviders: [p], logSeverityLevel: 4 });
      await s.release();
      return { provider: p, tried };
    } catch (e) {
      tried.push(`${p}: ${ortReason((e as Error).message)}`);
    }
  }
  // The CPU provider runs every standard ONNX model: if it failed too, the model is the cause, not the compute.
  const cpu = tried.find((t) => t.startsWith('cpu: '));
  if (cpu) throw new UserError(`onnxruntime cannot load ${file}: ${cpu.slice(5)}. The model is the cause, not the compute backend: export it again (opset 13–21; torch.onnx.export as docs/PYTORCH.md shows) and check it with onnx.checker.check_model`);
  throw new UserError(`--backend ${backend}: no GPU execution provider works here (${tried.join('; ')}); use --backend cpu or auto`);
}

export function providerLine(c: ProviderChoice): string {
  return `backend: onnxruntime-node ${ort().env.versions.node} [${c.provider}]${c.tried.length ? ` (skipped ${c.tried.join('; ')})` : ''}`;
}

interface OnnxTeacher extends OnnxDescription {
  session: InferenceSession;
  provider: OrtProvider;
}

/** A session of the teacher; `described` (from describeOnnx of the same file and options) spares a second read. */
async function openOnnxTeacher(model: string, o: OnnxHeadOptions & { provider: OrtProvider; threads: number }, described?: OnnxDescription): Promise<OnnxTeacher> {
  const d = described ?? (await describeOnnx(model, o));
  ort().env.logLevel = 'fatal';
  const session = await ort().InferenceSession.create(exposeFeatures(decodeModel(d.bytes, model), d.head.featureTensor), {
    executionProviders: [o.provider],
    intraOpNumThreads: Math.max(1, o.threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 4,
    // Idle intra-op threads sleep instead of spinning, leaving the cores to the next batch's decode.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return { ...d, session, provider: o.provider };
}

/** Images (RGB uint8, input_size², HWC) → the model's input tensor per the sidecar. */
function inputTensor(t: OnnxDescription, images: Uint8Array[]): Tensor {
  const { input_size: S, mean, std, channel_order: order, layout } = t.config;
  const n = images.length;
  const plane = S * S;
  const data = new Float32Array(n * 3 * plane);
  const src = order === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  // One tight loop per (image, channel) with the layout's strides fixed outside it: this runs on every
  // pixel of every image, on the same cores as the forward pass.
  const nhwc = layout === 'nhwc';
  const step = nhwc ? 3 : 1;
  for (let i = 0; i < n; i++) {
    const img = images[i];
    for (let c = 0; c < 3; c++) {
      const sc = src[c];
      const a = 1 / (255 * std[c]);
      const b = mean[c] / std[c];
      let o = nhwc ? i * plane * 3 + c : (i * 3 + c) * plane;
      for (let p = sc; p < plane * 3; p += 3, o += step) data[o] = img[p] * a - b;
    }
  }
  const Ctor = ort().Tensor;
  return new Ctor('float32', data, layout === 'nhwc' ? [n, S, S, 3] : [n, 3, S, S]);
}

/**
 * CAMs [n, h·w] of labels[n] and class probabilities [n, C]. A graph exported with a fixed batch size B
 * runs in chunks of B, the last one padded with copies of its last image (their outputs are dropped).
 */
async function runOnnx(t: OnnxTeacher, images: Uint8Array[], labels: Int32Array): Promise<{ cams: Float32Array; h: number; w: number; probs: Float32Array }> {
  const B = t.batch;
  if (!B || images.length === B) return runOnnxBatch(t, images, labels);
  const parts: { cams: Float32Array; h: number; w: number; probs: Float32Array }[] = [];
  for (let s = 0; s < images.length; s += B) {
    const k = Math.min(B, images.length - s);
    const imgs = images.slice(s, s + k);
    const lab = new Int32Array(B);
    lab.set(labels.subarray(s, s + k));
    while (imgs.length < B) {
      lab[imgs.length] = lab[k - 1];
      imgs.push(imgs[k - 1]);
    }
    const r = await runOnnxBatch(t, imgs, lab);
    const hw = r.h * r.w;
    parts.push({ ...r, cams: r.cams.slice(0, k * hw), probs: r.probs.slice(0, k * t.head.numClasses) });
  }
  const cat = (xs: Float32Array[]) => {
    const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const x of xs) (out.set(x, o), (o += x.length));
    return out;
  };
  return { cams: cat(parts.map((p) => p.cams)), h: parts[0].h, w: parts[0].w, probs: cat(parts.map((p) => p.probs)) };
}

async function runOnnxBatch(t: OnnxTeacher, images: Uint8Array[], labels: Int32Array): Promise<{ cams: Float32Array; h: number; w: number; probs: Float32Array }> {
  const out = await t.session.run({ [t.inputName]: inputTensor(t, images) }, [t.head.logitsOutput, t.head.featureTensor]);
  const f = out[t.head.featureTensor];
  const scores = out[t.head.logitsOutput];
  const dims = f.dims.map(Number);
  if (dims.length !== 4) throw new UserError(`feature tensor ${t.head.featureTensor} has shape [${dims}], expected 4-D`);
  const [n, a, b, c] = dims;
  const nchw = t.head.layout === 'nchw';
  const fb = { data: f.data as Float32Array, layout: t.head.layout, n, channels: nchw ? a : c, h: nchw ? b : a, w: nchw ? c : b };
  if (fb.channels !== t.head.channels) throw new UserError(`feature tensor ${t.head.featureTensor} has ${fb.channels} channels, the classifier takes ${t.head.channels}`);
  const cams = camsFromFeatures(fb, t.head.weight, t.head.bias, labels);
  const C = t.head.numClasses;
  const probs = t.head.outputsProbabilities ? Float32Array.from(scores.data as Float32Array) : softmaxRows(scores.data as Float32Array, n, C);
  f.dispose?.();
  scores.dispose?.();
  return { cams, h: fb.h, w: fb.w, probs };
}

/** ORT threads per worker so that workers × threads = cores. */
/** An ONNX teacher behind the runner face the CAM pass uses. */
export async function openOnnxRunner(model: string, o: OnnxHeadOptions & { provider: OrtProvider; threads: number }, described?: OnnxDescription): Promise<TeacherRunner> {
  const t = await openOnnxTeacher(model, o, described);
  return {
    kind: 'onnx', fingerprint: t.fingerprint, numClasses: t.head.numClasses, inputSize: t.config.input_size, classNames: t.config.class_names, fit: t.config.fit,
    run: (images, labels) => runOnnx(t, images, labels),
    dispose: async () => { await t.session.release(); },
  };
}

export function threadsPerWorker(workers: number): number {
  return Math.max(1, Math.floor(availableCpus() / Math.max(1, workers)));
}
