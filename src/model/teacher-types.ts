// What a teacher is and how it runs, as types only: the CAM workers, the pipeline and the CLI share them
// without loading either runtime.
import type { Fit } from '../image/fit.js';
import type { BackendChoice } from './backend-choices.js';

/** onnxruntime's execution providers snapmix uses. */
export type OrtProvider = 'cuda' | 'webgpu' | 'cpu';

/** An ONNX teacher's CAM-head overrides and preprocessing sidecar. */
export interface OnnxHeadOptions { featureTensor?: string; classifierNode?: string; teacherConfig?: string }

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
  /** What the teacher is taken to be (input, normalisation, layout, fit) and where each came from, in one line. */
  takenAs: string;
}

/** Where a teacher's inference runs: the tfjs backend its workers start, or an onnxruntime provider. */
export interface TeacherCompute {
  backend: Exclude<BackendChoice, 'auto'>;
  provider?: OrtProvider;
}

/** A run's teacher: described once (every weight hashed once) and passed down to every stage that needs it. */
export interface Teacher extends TeacherInfo {
  path: string;
  head: TeacherHeadOptions;
  compute: TeacherCompute;
}

export interface TeacherRunner extends Omit<TeacherInfo, 'takenAs'> {
  /** Images RGB uint8 at inputSize², HWC → CAMs [n, h·w] of labels[n] and probabilities [n, C]. */
  run(images: Uint8Array[], labels: Int32Array): Promise<{ cams: Float32Array; h: number; w: number; probs: Float32Array }>;
  dispose(): Promise<void>;
}
