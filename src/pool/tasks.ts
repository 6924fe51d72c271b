// Task and result types crossing the worker boundary (structured-cloned; typed arrays transferred).
import type { Fit } from '../image/decode.js';
import type { BackendChoice } from '../model/backend-choices.js';
import type { OrtProvider } from '../model/teacher-types.js';
import type { SourceCacheRef } from '../image/source-cache.js';
import type { SamplePlan } from '../mix/plan.js';
import type { Weights } from '../mix/labels.js';

import type { Reject } from '../data/reject.js';
export type { Reject } from '../data/reject.js';

export interface CamTask {
  teacher: string;
  backend: BackendChoice;
  featureLayer?: string;
  classifierLayer?: string;
  /** Set for an ONNX teacher: head overrides, sidecar, execution provider and ORT threads per worker. */
  onnx?: { featureTensor?: string; classifierNode?: string; teacherConfig?: string; provider: OrtProvider; threads: number };
  /** How each source is fitted to the teacher's square input (the views of generate use the same). */
  fit: Fit;
  items: { id: string; path: string; label: number }[];
}

export interface CamResult {
  /** Per item, in task order: index into cams/probs rows, or −1 when rejected. */
  row: Int32Array;
  sha256: string[];
  cams: Float32Array;
  h: number;
  w: number;
  prob: Float32Array;
  pred: Int32Array;
  rejects: Reject[];
}

import type { ImageFormat } from '../image/decode.js';

export interface ComposeSource {
  id: string;
  label: number;
  /** Its slot in the source cache (the decoded R×R pixels). */
  slot: number;
  /** Set when the cache pass could not read or decode it: every sample using it is skipped. */
  reject?: Reject;
  cam?: { data: Float32Array; h: number; w: number };
}

export interface ComposeTask {
  plans: SamplePlan[];
  /** Sources the plans use, keyed by source index. */
  sources: Record<number, ComposeSource>;
  cache: SourceCacheRef;
  format: ImageFormat;
  quality: number;
}

/** The source-cache pass: read, hash and decode each item into its slot. */
export interface DecodeSourcesTask {
  cache: SourceCacheRef;
  fit: Fit;
  items: { slot: number; id: string; path: string }[];
}

export interface DecodeSourcesResult {
  /** Per item: sha256 of the file ('' when unreadable). */
  sha256: string[];
  /** Per item: why it is unusable, or null. */
  rejects: (Reject | null)[];
}

export interface ComposedRow {
  plan: SamplePlan;
  image?: Uint8Array;
  weights?: Weights;
  reject?: Reject;
}

export interface DecodeTask {
  images: Uint8Array[];
  /** Names for errors: shard file and row. */
  where: string[];
  size: number;
  mean: number[];
  std: number[];
}
