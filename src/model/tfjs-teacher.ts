// A tfjs LayersModel teacher: described (fingerprint, head, preprocessing) and opened for CAM passes.
// Only tfjs teachers load this module (and tfjs with it).
import * as tf from '@tensorflow/tfjs';
import { loadModel, DEFAULT_PREPROCESS } from './io.js';
import { computeCams, findCamHead } from './cam-head.js';
import { toFloatBatch } from '../image/views.js';
import type { TeacherHeadOptions, TeacherInfo, TeacherRunner } from './teacher-types.js';

const list = (v: number[]) => `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;

export async function describeTfjsTeacher(p: string, o: TeacherHeadOptions): Promise<TeacherInfo> {
  const { model, meta, fingerprint } = await loadModel(p);
  const head = findCamHead(model, o);
  const size = meta.inputSize ?? (model.inputs[0].shape[1] as number);
  const pre = meta.preprocess ?? DEFAULT_PREPROCESS;
  const takenAs = `tfjs, input ${size}×${size}, mean ${list(pre.mean)}, std ${list(pre.std)}, fit ${meta.fit ?? 'not recorded'} (${meta.preprocess ? "the model's metadata" : 'no recorded normalisation: snapmix defaults'})`;
  const info: TeacherInfo = { kind: 'tfjs', fingerprint, numClasses: head.numClasses, inputSize: size, classNames: meta.classNames, fit: meta.fit, takenAs };
  model.dispose();
  return info;
}

/** A loaded tfjs teacher; its backend must be initialised first. */
export async function openTfjsTeacher(p: string, o: TeacherHeadOptions): Promise<TeacherRunner> {
  const { model, meta, fingerprint } = await loadModel(p);
  const head = findCamHead(model, o);
  const size = meta.inputSize ?? (model.inputs[0].shape[1] as number);
  const pre = meta.preprocess ?? DEFAULT_PREPROCESS;
  return {
    kind: 'tfjs', fingerprint, numClasses: head.numClasses, inputSize: size, classNames: meta.classNames, fit: meta.fit,
    run: async (images, labels) => {
      const x = tf.tensor4d(toFloatBatch(images, size, pre.mean, pre.std), [images.length, size, size, 3]);
      try {
        return computeCams(head, x, labels);
      } finally {
        x.dispose();
      }
    },
    dispose: async () => { model.dispose(); },
  };
}
