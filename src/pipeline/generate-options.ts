// What a generate run is asked to do (shared by the run, its sources and its shard writer).
import type { Dataset, DatasetRecord } from '../data/types.js';
import type { Teacher } from '../model/teacher.js';
import type { GenerateConfigInput, ResolvedConfig } from '../shards/config.js';
import type { ReleaseInfo } from '../shards/manifest.js';

export interface GenerateOptions {
  /** Resolved by resolveGenerateConfig: defaults, schema check, canonical key order. */
  config: GenerateConfigInput;
  dataset: Dataset;
  records: DatasetRecord[];
  /** Described once by the caller (path, head, compute, fingerprint); its compute runs a teacher pass. */
  teacher?: Teacher;
  cams?: string;
  out: string;
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
  /** Use CAMs of a teacher that agrees with the labels near chance only (--allow-weak-teacher). */
  allowWeakTeacher?: boolean;
  /** Accept an output with 0 written rows (otherwise an error once the manifest is written). */
  allowEmpty?: boolean;
  log?: (line: string) => void;
  onProgress?: (stage: string, done: number, total: number) => void;
  /** The shard format to write (default: the current one; reproduce: the release's, 3 or 4). */
  formatVersion?: number;
  /** Further inputs the output may not equal, contain or sit inside (reproduce: the release). */
  alsoReads?: { flag: string; path: string }[];
}

/** The options with the config resolved (defaults, schema check, canonical key order). */
export type Resolved = GenerateOptions & { config: ResolvedConfig };
