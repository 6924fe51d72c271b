// One face for both kinds of teacher: a tfjs LayersModel directory or an ONNX file. The CAM pass, eval
// and generate's cache checks go through here and never ask which kind they hold.
import * as tf from '@tensorflow/tfjs';
import { loadModel, readModelMeta, DEFAULT_PREPROCESS } from './io.js';
import type { Fit } from '../image/decode.js';
import { computeCams, findCamHead } from './cam-head.js';
import { checkModelClasses } from './classes.js';
import { describeOnnx, isOnnx, openOnnxTeacher, readSidecar, runOnnx, type OnnxHeadOptions, type OrtProvider } from './onnx-teacher.js';
import { toFloatBatch } from '../image/views.js';

export interface TeacherHeadOptions extends OnnxHeadOptions {
  featureLayer?: string;
  classifierLayer?: string;
}

export interface TeacherInfo {
  kind: 'tfjs' | 'onnx';
  fingerprint: string;
  numClasses: number;
  /** Side of the square input images are decoded to for this teacher. */
  inputSize: number;
  classNames?: string[];
  /** The resize policy the teacher was trained with, when recorded (model meta, ONNX sidecar). */
  fit?: Fit;
}

/** What a teacher is, without running it: fingerprint, classes, input size. */
export async function describeTeacher(p: string, o: TeacherHeadOptions = {}): Promise<TeacherInfo> {
  if (isOnnx(p)) {
    const d = await describeOnnx(p, o);
    return { kind: 'onnx', fingerprint: d.fingerprint, numClasses: d.head.numClasses, inputSize: d.config.input_size, classNames: d.config.class_names, fit: d.config.fit };
  }
  const { model, meta, fingerprint } = await loadModel(p);
  const head = findCamHead(model, o);
  const info: TeacherInfo = { kind: 'tfjs', fingerprint, numClasses: head.numClasses, inputSize: meta.inputSize ?? (model.inputs[0].shape[1] as number), classNames: meta.classNames, fit: meta.fit };
  model.dispose();
  return info;
}

/** The fit a teacher recorded (model metadata, ONNX sidecar), read without loading or hashing the model. */
export async function teacherFit(p: string, o: TeacherHeadOptions = {}): Promise<Fit | undefined> {
  return isOnnx(p) ? (await readSidecar(p, o.teacherConfig)).config.fit : (await readModelMeta(p)).fit;
}

/** Describe the teacher and check it predicts exactly the dataset's classes. */
export async function checkTeacher(p: string, classNames: string[], dataName: string, o: TeacherHeadOptions = {}): Promise<TeacherInfo> {
  const info = await describeTeacher(p, o);
  checkModelClasses(`teacher ${p}`, info.numClasses, { classNames: info.classNames }, classNames, dataName);
  return info;
}

export interface TeacherRunner extends TeacherInfo {
  /** Images RGB uint8 at inputSize², HWC → CAMs [n, h·w] of labels[n] and probabilities [n, C]. */
  run(images: Uint8Array[], labels: Int32Array): Promise<{ cams: Float32Array; h: number; w: number; probs: Float32Array }>;
  dispose(): Promise<void>;
}

/** A loaded teacher. tfjs needs its backend initialised first; ONNX takes the provider and threads. */
export async function openTeacher(p: string, o: TeacherHeadOptions & { provider?: OrtProvider; threads?: number } = {}): Promise<TeacherRunner> {
  if (isOnnx(p)) {
    const t = await openOnnxTeacher(p, { ...o, provider: o.provider ?? 'cpu', threads: o.threads ?? 1 });
    return {
      kind: 'onnx', fingerprint: t.fingerprint, numClasses: t.head.numClasses, inputSize: t.config.input_size, classNames: t.config.class_names, fit: t.config.fit,
      run: (images, labels) => runOnnx(t, images, labels),
      dispose: async () => { await t.session.release(); },
    };
  }
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
