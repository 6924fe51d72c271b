// Piscina worker for a tfjs teacher: its backend started and its model loaded once per worker, then every
// task through camBatch. (ONNX teachers have their own worker, which never loads tfjs.)
import { initBackend } from '../model/backend.js';
import { openTfjsTeacher } from '../model/tfjs-teacher.js';
import type { TeacherRunner } from '../model/teacher-types.js';
import type { CamResult, CamTask } from './tasks.js';
import { camBatch } from './cam-batch.js';

let loaded: Promise<TeacherRunner> | undefined;

async function load(t: CamTask): Promise<TeacherRunner> {
  await initBackend(t.backend);
  return openTfjsTeacher(t.teacher, { featureLayer: t.featureLayer, classifierLayer: t.classifierLayer });
}

export default async function camTask(t: CamTask): Promise<CamResult> {
  return camBatch(await (loaded ??= load(t)), t);
}
