// What a generate run is asked to do (shared by the run, its sources and its shard writer).
import type { Dataset, DatasetRecord } from '../data/types.js';
import type { BackendInfo } from '../model/backend.js';
import type { OrtProvider } from '../model/onnx-teacher.js';
import type { TeacherHeadOptions } from '../model/teacher.js';
import type { GenerateConfig, GenerateConfigInput } from '../shards/config.js';
import type { ReleaseInfo } from '../shards/manifest.js';

/** The teacher's CAM-head overrides (tfjs layers, ONNX tensor and node, sidecar) come from TeacherHeadOptions. */
export interface GenerateOptions extends TeacherHeadOptions {
  /** Resolved by resolveGenerateConfig: defaults, schema check, canonical key order. */
  config: GenerateConfigInput;
  dataset: Dataset;
  records: DatasetRecord[];
  teacher?: string;
  cams?: string;
  out: string;
  /** The compute for a teacher pass (--teacher without --cams); started by the caller, wasm when absent. */
  backend?: BackendInfo;
  /** Worker threads of the compose pool (default 2) and of the CAM pass (default by teacher kind, see extractCams). */
  workers?: number;
  camBatch: number;
  strict: boolean;
  overwrite: boolean;
  /** Bytes of decoded sources kept in memory; past it they spill to a file in OUT (default: defaultCacheMem()). */
  cacheMem?: number;
  /** Write only shards k ≡ index (mod of), and a part file instead of the manifest (merge joins parts). */
  part?: { index: number; of: number };
  /** License and title for the dataset card (OUT/README.md); not part of the request. */
  release?: Partial<ReleaseInfo>;
  /** Accept an output with 0 written rows (otherwise an error once the manifest is written). */
  allowEmpty?: boolean;
  /** ONNX teachers: the execution provider (chosen by the caller). */
  provider?: OrtProvider;
  log?: (line: string) => void;
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Further inputs the output may not equal, contain or sit inside (reproduce: the release). */
  alsoReads?: { flag: string; path: string }[];
}

/** The options with the config resolved (defaults, schema check, canonical key order). */
export type Resolved = GenerateOptions & { config: GenerateConfig };
