// Piscina worker for an ONNX teacher: one onnxruntime session per worker, every task through camBatch.
// It imports nothing of tfjs (a dependency-cruiser rule holds it to that).
import { openOnnxRunner } from '../model/onnx-teacher.js';
import type { TeacherRunner } from '../model/teacher-types.js';
import type { CamResult, CamTask } from './tasks.js';
import { camBatch } from './cam-batch.js';

let loaded: Promise<TeacherRunner> | undefined;

export default async function onnxCamTask(t: CamTask): Promise<CamResult> {
  if (!t.onnx) throw new Error('onnx-cam-worker: a task without its ONNX settings');
  return camBatch(await (loaded ??= openOnnxRunner(t.teacher, t.onnx)), t);
}
