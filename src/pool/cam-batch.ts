// The body of a CAM task, whatever the teacher: read, hash and decode every item, run the teacher, and
// keep each image's raw CAM of its label, the probability of that label and the prediction.
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import type { TeacherRunner } from '../model/teacher-types.js';
import { decodeRgb } from '../image/decode.js';
import type { CamResult, CamTask } from './tasks.js';
import { rejectOf, type Reject } from '../data/reject.js';

/** One task's items read, hashed, decoded at the teacher's size and run; unreadable or corrupt ones rejected. */
export async function camBatch(teacher: TeacherRunner, t: CamTask): Promise<CamResult> {
  const size = teacher.inputSize;
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
      rejects.push(rejectOf(it.id, it.path, 'unreadable', e));
      sha256.push('');
      continue;
    }
    sha256.push(createHash('sha256').update(bytes).digest('hex'));
    try {
      images.push((await decodeRgb(bytes, size, t.fit)).data);
    } catch (e) {
      rejects.push(rejectOf(it.id, it.path, 'corrupt', e));
      continue;
    }
    row[i] = labels.length;
    labels.push(it.label);
  }
  if (!labels.length) return { row, sha256, cams: new Float32Array(0), h: 0, w: 0, prob: new Float32Array(0), pred: new Int32Array(0), rejects };
  const labelArr = Int32Array.from(labels);
  const out = await teacher.run(images, labelArr);
  const C = teacher.numClasses;
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
