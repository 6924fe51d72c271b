// One face for both kinds of teacher: a tfjs LayersModel directory or an ONNX file. The CAM pass, eval
// and generate's cache checks go through here and never ask which kind they hold. The tfjs side
// (src/model/tfjs-teacher.ts) is imported only for a tfjs teacher: an ONNX run never loads tfjs.
import { describeOnnx, isOnnx, openOnnxRunner, type OnnxDescription } from './onnx-teacher.js';
import type { OrtProvider, Teacher, TeacherCompute, TeacherHeadOptions, TeacherInfo, TeacherRunner } from './teacher-types.js';
export type { Teacher, TeacherCompute, TeacherHeadOptions, TeacherRunner } from './teacher-types.js';

/** The handle of a run's teacher. tfjs teachers need their backend initialised first (describing loads the model). */
export async function teacherHandle(p: string, head: TeacherHeadOptions, compute: TeacherCompute): Promise<Teacher> {
  return { ...(await describeTeacher(p, head)), path: p, head, compute };
}

const list = (v: number[]) => `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;

/**
 * An ONNX teacher's handle whose compute is chosen from the bytes its description read (an execution
 * provider is tried on the model itself): the file and its external data are read once.
 */
export async function onnxTeacherHandle(p: string, head: TeacherHeadOptions, provider: (bytes: Uint8Array) => Promise<OrtProvider | undefined>): Promise<Teacher> {
  const d = await describeOnnx(p, head);
  return { ...onnxInfo(d), path: p, head, compute: { backend: 'wasm', provider: await provider(d.bytes) } };
}

/** What a teacher is, without running it: fingerprint, classes, input size, and what it was taken to be. */
async function describeTeacher(p: string, o: TeacherHeadOptions = {}): Promise<TeacherInfo> {
  if (!isOnnx(p)) {
    const { describeTfjsTeacher } = await import('./tfjs-teacher.js');
    return describeTfjsTeacher(p, o);
  }
  return onnxInfo(await describeOnnx(p, o));
}

function onnxInfo(d: OnnxDescription): TeacherInfo {
  const c = d.config;
  const from = d.sidecar ? `sidecar ${d.sidecar}` : 'no sidecar: torchvision ImageNet defaults';
  const takenAs = `ONNX, input ${c.input_size}×${c.input_size} ${c.layout} ${c.channel_order}, mean ${list(c.mean)}, std ${list(c.std)}, fit ${c.fit ?? 'not recorded'} (${from}; size and layout checked against the graph)`;
  return { kind: 'onnx', fingerprint: d.fingerprint, numClasses: d.head.numClasses, inputSize: c.input_size, classNames: c.class_names, fit: c.fit, takenAs };
}

/** A loaded teacher. tfjs needs its backend initialised first; ONNX takes the provider and threads. */
export async function openTeacher(p: string, o: TeacherHeadOptions & { provider?: OrtProvider; threads?: number } = {}): Promise<TeacherRunner> {
  if (isOnnx(p)) return openOnnxRunner(p, { ...o, provider: o.provider ?? 'cpu', threads: o.threads ?? 1 });
  const { openTfjsTeacher } = await import('./tfjs-teacher.js');
  return openTfjsTeacher(p, o);
}
