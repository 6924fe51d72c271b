// Piscina worker: teacher forward passes → raw CAM of the true class, probability, prediction.
// The model is loaded once per worker and reused for every task.
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../model/backend.js';
import { loadModel, DEFAULT_PREPROCESS } from '../model/io.js';
import { computeCams, findCamHead, type CamHead } from '../model/cam-head.js';
import { decodeRgb } from '../image/decode.js';
import { toFloatBatch } from '../image/views.js';
import type { CamResult, CamTask, Reject } from './tasks.js';

interface Loaded { head: CamHead; size: number; pre: { mean: number[]; std: number[] } }
let loaded: Promise<Loaded> | undefined;

async function load(t: CamTask): Promise<Loaded> {
  await initBackend(t.backend);
  const { model, meta } = await loadModel(t.teacher);
  const head = findCamHead(model, { featureLayer: t.featureLayer, classifierLayer: t.classifierLayer });
  const size = meta.inputSize ?? (model.inputs[0].shape[1] as number);
  return { head, size, pre: meta.preprocess ?? DEFAULT_PREPROCESS };
}

export default async function camTask(t: CamTask): Promise<CamResult> {
  const { head, size, pre } = await (loaded ??= load(t));
  const row = new Int32Array(t.items.length).fill(-1);
  const sha256: string[] = [];
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  const rejects: Reject[] = [];
  for (const [i, it] of t.items.entries()) {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(it.path);
    } catch (e) {
      rejects.push({ id: it.id, path: it.path, reason: 'unreadable', message: (e as Error).message });
      sha256.push('');
      continue;
    }
    sha256.push(createHash('sha256').update(bytes).digest('hex'));
    try {
      images.push((await decodeRgb(bytes, size)).data);
    } catch (e) {
      rejects.push({ id: it.id, path: it.path, reason: 'corrupt', message: (e as Error).message.replace('an in-memory image', it.path) });
      continue;
    }
    row[i] = labels.length;
    labels.push(it.label);
  }
  if (!labels.length) return { row, sha256, cams: new Float32Array(0), h: 0, w: 0, prob: new Float32Array(0), pred: new Int32Array(0), rejects };
  const x = tf.tensor4d(toFloatBatch(images, size, pre.mean, pre.std), [labels.length, size, size, 3]);
  const labelArr = Int32Array.from(labels);
  const out = computeCams(head, x, labelArr);
  x.dispose();
  const C = head.numClasses;
  const prob = new Float32Array(labels.length);
  const pred = new Int32Array(labels.length);
  for (let n = 0; n < labels.length; n++) {
    const p = out.probs.subarray(n * C, (n + 1) * C);
    prob[n] = p[labelArr[n]];
    let best = 0;
    for (let c = 1; c < C; c++) if (p[c] > p[best]) best = c;
    pred[n] = best;
  }
  return { row, sha256, cams: out.cams, h: out.h, w: out.w, prob, pred, rejects };
}
