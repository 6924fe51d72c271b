// CAM pass throughput of a ResNet-18-shaped teacher at 224 px: tfjs wasm vs an ONNX teacher on
// onnxruntime CPU (workers × intra-op threads), with PyTorch's own CPU forward pass as the anchor, in one run.
// Usage: npx tsx scripts/bench-cams.ts [--images 192] [--repeats 3] [--batch 16] [--size 224]
// The PyTorch anchor and the ONNX ResNet-18 come from scripts/bench_cams_torch.py (python3 + torch;
// Debian: apt-get install python3-torch). Both runtimes run the same pipeline: decode, resize, forward, CAM.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { backendLine, initBackend } from '../src/model/backend.js';
import { saveModel } from '../src/model/io.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { extractCams } from '../src/pipeline/cams.js';
import { teacherHandle } from '../src/model/teacher.js';
import { machineLine, median } from './bench-common.js';

const { values } = parseArgs({ options: { images: { type: 'string', default: '192' }, repeats: { type: 'string', default: '3' }, batch: { type: 'string', default: '16' }, size: { type: 'string', default: '224' } } });
const images = Number(values.images);
const repeats = Number(values.repeats);
const batch = Number(values.batch);
const size = Number(values.size);
const classes = 10;
const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-cams-'));

/** torchvision's ResNet-18 layout in tfjs layers (7×7/2 stem, max pool, 4 stages of 2 basic blocks). */
function resnet18(): tf.LayersModel {
  let seed = 1;
  const conv = (x: tf.SymbolicTensor, f: number, k: number, s: number) =>
    tf.layers.conv2d({ filters: f, kernelSize: k, strides: s, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: seed++ }) }).apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor) => tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor) => tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [size, size, 3] });
  let x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(relu(bn(conv(input, 64, 7, 2)))) as tf.SymbolicTensor;
  let cin = 64;
  for (const [i, c] of [64, 128, 256, 512].entries()) {
    for (let b = 0; b < 2; b++) {
      const s = i > 0 && b === 0 ? 2 : 1;
      const y = bn(conv(relu(bn(conv(x, c, 3, s))), c, 3, 1));
      const sc = s !== 1 || cin !== c ? bn(conv(x, c, 1, s)) : x;
      x = relu(tf.layers.add().apply([y, sc]) as tf.SymbolicTensor);
      cin = c;
    }
  }
  const out = tf.layers.dense({ units: classes }).apply(tf.layers.globalAveragePooling2d({}).apply(x)) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

console.log(machineLine());
const backend = await initBackend('wasm');
console.log(backendLine(backend));
const onnxFile = path.join(tmp, 'resnet18.onnx');
const py = spawnSync('python3', [path.join(here, 'bench_cams_torch.py'), onnxFile, '--size', String(size), '--batch', String(batch), '--classes', String(classes), '--images', String(images), '--repeats', String(repeats)], { encoding: 'utf8' });
const pyAlt = py.status === 0 ? py : spawnSync('/usr/bin/python3', [path.join(here, 'bench_cams_torch.py'), onnxFile, '--size', String(size), '--batch', String(batch), '--classes', String(classes), '--images', String(images), '--repeats', String(repeats)], { encoding: 'utf8' });
if (pyAlt.status !== 0) {
  console.error(`bench-cams: the PyTorch anchor needs python3 with torch (Debian: apt-get install python3-torch):\n${pyAlt.stderr.slice(-800)}`);
  process.exit(2);
}
const anchor = JSON.parse(pyAlt.stdout.trim().split('\n').pop()!) as { torch: string; img_s: Record<string, { median: number; runs: number[] }> };
console.log(`model: ResNet-18 (torchvision layout, ${classes} classes, random weights) at ${size} px; batch ${batch}; ${images} synthetic PNG images; images/s = images / wall time of the CAM pass (decode + resize + forward + CAM), median of ${repeats}`);

const data = path.join(tmp, 'data');
await writeSynth({ ...SYNTH_DEFAULTS, out: data, size, classes, perClass: Math.ceil(images / classes), testPerClass: 0 });
const ds = await openDataset(data);
const records = splitRecords(ds, 'train').slice(0, images);
const tfDir = path.join(tmp, 'tfjs-resnet18');
const m = resnet18();
await saveModel(m, tfDir, { classNames: ds.classNames, inputSize: size, preprocess: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
m.dispose();
await fs.writeFile(onnxFile.replace(/\.onnx$/, '.json'), JSON.stringify({ input_size: size, class_names: ds.classNames }));

async function rate(teacher: string, workers: number, provider?: 'cpu'): Promise<{ med: number; runs: number[] }> {
  const runs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = Date.now();
    await extractCams({ dataset: ds, records, split: 'train', teacher: await teacherHandle(teacher, {}, { backend: backend.kind, provider }), workers, batchSize: batch, strict: false, allowWeakTeacher: true }); // an untrained benchmark teacher: speed, not labels
    runs.push(records.length / ((Date.now() - t0) / 1000));
  }
  return { med: median(runs), runs };
}

const rows: [string, string, number, number[]][] = [];
const tf1 = await rate(tfDir, 1);
rows.push(['tfjs wasm', '1 worker', tf1.med, tf1.runs]);
const tf2 = await rate(tfDir, 2);
rows.push(['tfjs wasm', '2 workers', tf2.med, tf2.runs]);
const cores = os.availableParallelism();
const o1 = await rate(onnxFile, 1, 'cpu');
rows.push(['ONNX CPU', `1 worker × ${cores} threads`, o1.med, o1.runs]);
const o2 = await rate(onnxFile, 2, 'cpu');
rows.push(['ONNX CPU', `2 workers × ${Math.max(1, Math.floor(cores / 2))} thread(s)`, o2.med, o2.runs]);
// onnxruntime's bare forward pass on the same file (no decode, no CAM): the ceiling of the ONNX CAM pass.
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');
const bare: number[] = [];
{
  const session = await ort.InferenceSession.create(onnxFile, { executionProviders: ['cpu'], intraOpNumThreads: cores, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const x = new ort.Tensor('float32', new Float32Array(batch * 3 * size * size).fill(0.1), [batch, 3, size, size]);
  await session.run({ input: x });
  for (let r = 0; r < repeats; r++) {
    const t0 = Date.now();
    const steps = Math.max(1, Math.floor(images / batch));
    for (let i = 0; i < steps; i++) await session.run({ input: x });
    bare.push((steps * batch) / ((Date.now() - t0) / 1000));
  }
  await session.release();
}
rows.push(['onnxruntime bare forward, same file', `${cores} threads`, median(bare), bare]);
rows.push([`PyTorch ${anchor.torch} CPU forward (anchor)`, '1 thread', anchor.img_s['1'].median, anchor.img_s['1'].runs]);
rows.push([`PyTorch ${anchor.torch} CPU forward (anchor)`, '2 threads', anchor.img_s['2'].median, anchor.img_s['2'].runs]);
console.log('| runtime | workers × threads | CAM pass images/s | runs |');
console.log('|---|---|---:|---|');
for (const [rt, w, med, runs] of rows) console.log(`| ${rt} | ${w} | ${med.toFixed(1)} | ${runs.map((v) => v.toFixed(1)).join(', ')} |`);
const best = Math.max(o1.med, o2.med);
console.log(`ONNX best ${best.toFixed(1)} img/s = ${(best / anchor.img_s['2'].median).toFixed(2)}× PyTorch 2 threads (goal ≥ 1.5×); ` +
  `${(o1.med / tf1.med).toFixed(1)}× tfjs wasm with 1 worker, ${(o2.med / tf2.med).toFixed(1)}× with 2 workers (goal ≥ 3×); ` +
  `bare onnxruntime forward = ${(median(bare) / anchor.img_s['2'].median).toFixed(2)}× PyTorch 2 threads; ` +
  `faster in this run: ${o1.med >= o2.med ? '1 worker × all cores' : 'workers × 1 thread'} (${(Math.max(o1.med, o2.med) / Math.min(o1.med, o2.med)).toFixed(2)}×)`);
await fs.rm(tmp, { recursive: true, force: true });
