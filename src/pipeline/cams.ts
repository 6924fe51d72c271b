// `snapmix cams`: one teacher pass per source image, batched, in the piscina inference pool.
import type { Dataset, DatasetRecord } from '../data/types.js';
import { datasetFingerprint } from '../data/fingerprint.js';
import type { Teacher } from '../model/teacher.js';
import { checkModelClasses } from '../model/classes.js';
import { threadsPerWorker } from '../model/onnx-teacher.js';
import { makePool, poolThreads } from '../pool/pools.js';
import { defaultWorkers } from '../util/cpus.js';
import type { CamResult, CamTask, Reject } from '../pool/tasks.js';
import { agreementOf, CAM_CACHE_VERSION, checkAgreement, type CamMeta, type CamSet } from '../shards/cam-cache.js';
import { StrictError, UserError } from '../util/errors.js';
import { rejectText } from '../data/reject.js';
import { chosenFit, type Fit } from '../image/decode.js';

export interface CamOptions {
  dataset: Dataset;
  records: DatasetRecord[];
  split: string;
  /** Described once by the caller: path, head, compute (tfjs backend or ONNX provider), fingerprint. */
  teacher: Teacher;
  /** Worker threads; default: 2 for tfjs wasm, 1 for ONNX (one session using every core measured alike: docs/MEASUREMENTS.md "CAM pass (ONNX and tfjs teachers)"). */
  workers?: number;
  batchSize: number;
  strict: boolean;
  /** --fit; default: the teacher's recorded fit, else DEFAULT_FIT. */
  fit?: Fit;
  onProgress?: (done: number, total: number) => void;
  /** One part of a split pass: a slice with no readable image is a finished part (its rejects), not an error. */
  allowEmpty?: boolean;
  /** Keep the CAMs of a teacher whose top-1 agrees with the labels near chance only (--allow-weak-teacher). */
  allowWeakTeacher?: boolean;
}

/** The teacher over every record, in batches, in the worker pool: one result per batch, in record order. */
async function runPass(o: CamOptions, fit: Fit): Promise<CamResult[]> {
  const info = o.teacher;
  const { head, compute } = info;
  const tasks = Math.ceil(o.records.length / o.batchSize);
  // tfjs-node breaks in a second worker thread: exactly one inference thread on native backends. ONNX
  // sessions split the cores: workers × intra-op threads = cores.
  // tfjs wasm: one runtime and model copy per worker, up to 4; ONNX: one session using every core.
  const workers = o.workers ?? (info.kind === 'onnx' ? 1 : Math.min(4, defaultWorkers()));
  const threads = info.kind === 'onnx' ? poolThreads(workers, tasks) : compute.backend === 'wasm' || compute.backend === 'cpu' ? Math.max(1, workers) : 1;
  const onnx = info.kind === 'onnx'
    ? { featureTensor: head.featureTensor, classifierNode: head.classifierNode, teacherConfig: head.teacherConfig, provider: compute.provider ?? 'cpu', threads: threadsPerWorker(threads) }
    : undefined;
  // ONNX: two tasks per worker, so one batch decodes (sharp, off the JS thread) while the other runs.
  const pool = makePool(onnx ? 'onnx-cam-worker' : 'cam-worker', threads, tasks, onnx ? 2 : 1);
  const n = o.records.length;
  const results: CamResult[] = [];
  let done = 0;
  try {
    const tasks: Promise<void>[] = [];
    for (let s = 0; s < n; s += o.batchSize) {
      const items = o.records.slice(s, s + o.batchSize).map((r) => ({ id: r.id, path: r.path, label: r.label }));
      const task: CamTask = { teacher: info.path, backend: compute.backend, featureLayer: head.featureLayer, classifierLayer: head.classifierLayer, onnx, fit, items };
      const k = s / o.batchSize;
      tasks.push(
        pool.run(task).then((r: CamResult) => {
          if (o.strict && r.rejects.length) {
            throw new StrictError(`--strict: ${rejectText(r.rejects[0])}; fix or remove it, or drop --strict to skip and count it`);
          }
          results[k] = r;
          done += items.length;
          o.onProgress?.(done, n);
        }),
      );
    }
    await Promise.all(tasks);
  } finally {
    await pool.destroy();
  }
  return results;
}

export async function extractCams(o: CamOptions): Promise<{ set: CamSet; meta: CamMeta; rejects: Reject[]; allSha: string[] }> {
  const info = o.teacher;
  checkModelClasses(`teacher ${info.path}`, info.numClasses, { classNames: info.classNames }, o.dataset.classNames, 'the dataset');
  const { fingerprint, inputSize: size, compute } = info;
  const fit = chosenFit(o.fit, info.fit);
  const results = await runPass(o, fit);
  const h = results.find((r) => r.h)?.h ?? 0;
  const w = results.find((r) => r.w)?.w ?? 0;
  const ids: string[] = [];
  const labels: number[] = [];
  const sha: string[] = [];
  const allSha: string[] = [];
  const rejects: Reject[] = [];
  const cams: Float32Array[] = [];
  const prob: number[] = [];
  const pred: number[] = [];
  results.forEach((r, k) => {
    rejects.push(...r.rejects);
    r.row.forEach((row, j) => {
      const rec = o.records[k * o.batchSize + j];
      allSha.push(r.sha256[j]);
      if (row < 0) return;
      ids.push(rec.id);
      labels.push(rec.label);
      sha.push(r.sha256[j]);
      cams.push(r.cams.subarray(row * h * w, (row + 1) * h * w));
      prob.push(r.prob[row]);
      pred.push(r.pred[row]);
    });
  });
  const flat = new Float32Array(cams.length * h * w);
  cams.forEach((c, i) => flat.set(c, i * h * w));
  const broken = cams.filter((c) => c.some((v) => !Number.isFinite(v))).length;
  if (broken) {
    // A non-finite CAM has no SPM: generate would fall back to area labels and call them snapmix.
    throw new UserError(`teacher ${info.path} gave non-finite (NaN or infinite) CAMs for ${broken} of ${cams.length} images: its weights or its outputs are not finite. Nothing was written; use a teacher that trained to finite weights`);
  }
  const set: CamSet = { ids, labels: Int32Array.from(labels), cams: flat, h, w, prob: Float32Array.from(prob), pred: Int32Array.from(pred), sha256: sha };
  const agreement = agreementOf(set, info.numClasses);
  checkAgreement(`teacher ${info.path}`, agreement, ids.length, !!o.allowWeakTeacher);
  const rejected: Record<string, number> = {};
  for (const r of rejects) rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
  const meta: CamMeta = {
    format: 'snapmix-cams',
    version: CAM_CACHE_VERSION,
    teacher_fingerprint: fingerprint,
    dataset_fingerprint: datasetFingerprint(o.dataset.classNames, o.records, allSha),
    class_names: o.dataset.classNames,
    split: o.split,
    teacher_input_size: size,
    fit,
    h,
    w,
    count: ids.length,
    rejected,
    teacher_agreement: agreement,
    cam_backend: info.kind === 'onnx' ? `onnxruntime-${compute.provider ?? 'cpu'}` : `tfjs-${compute.backend}`,
  };
  if (!ids.length && !o.allowEmpty) throw new UserError(`no readable images among the ${o.records.length} ${o.split} images; see the rejects`);
  return {
    set,
    meta,
    rejects,
    allSha,
  };
}
