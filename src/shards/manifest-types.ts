// The types of an output's accounts (manifest, shard stats, run info), on their own so that the card,
// the reader and verify can name them without importing the writer.
import type { GenerateConfig } from './config.js';
import type { Reject } from '../data/reject.js';
import type { WeightSums } from './summary.js';

interface ShardEntry {
  filename: string;
  first_index: number;
  last_index: number;
  rows: number;
  bytes: number;
  sha256: string;
}

/** A planned sample left out because a source was unusable (no machine path: outputs hold none). */
export interface SkippedSample { index: number; id: string; reason: string; message: string }

export interface ShardStats extends ShardEntry {
  /** The request this shard belongs to: a resume uses only markers of its own request. */
  request: string;
  skipped: SkippedSample[];
  /** Planned samples per method in this shard (the manifest sums them; no re-planning). */
  by_method: Record<string, number>;
  /** Label-weight sums of the shard's rows per method (the manifest and card combine them in shard order). */
  weights: WeightSums;
}

/** What a release says about itself beyond the data (the card's front matter); not part of the request. */
/** The teacher against the dataset's labels on the CAM pass: a teacher whose classes are not the dataset's shows here. */
export interface TeacherAgreement {
  /** Share of images whose top-1 class is their label. */
  top1: number;
  /** Mean probability the teacher gives the label. */
  mean_p_true: number;
  /** 1 / classes: what guessing scores. */
  chance: number;
}

/** The snapmix version and the CAM backend (null without CAMs) that made an output. */
interface Generator { snapmix: string; cam_backend: string | null }

export interface ReleaseInfo { license: string; title?: string }

/** One line of sources.jsonl: a fingerprinted source file (the dataset fingerprint hashes these in order). */
export interface SourceFile { id: string; label: number; split: string; sha256: string }

export interface Manifest {
  format: 'snapmix-shards';
  format_version: number;
  request: string;
  config: GenerateConfig;
  class_names: string[];
  dataset: { fingerprint: string; format: string; sources: number };
  /** The teacher, and (format ≥ 4) how often its top-1 was the label on the CAM pass. */
  teacher: { fingerprint: string; agreement?: TeacherAgreement } | null;
  /** What made the output (format ≥ 4): with the CAM backend it explains bytes that differ between two runs of one request. */
  generator?: Generator;
  /** License and title of the dataset card (absent in outputs of older versions). */
  release?: ReleaseInfo;
  shards: ShardEntry[];
  counts: {
    planned: number;
    written: number;
    skipped: number;
    skipped_by_reason: Record<string, number>;
    rejected_sources: number;
    rejected_by_reason: Record<string, number>;
    by_method: Record<string, number>;
  };
  /** Label-weight sums per method over every written row (absent in outputs of older versions). */
  label_weights?: WeightSums;
}

/** What a run is, independent of how it was split: the manifest's header and the CAM-stage rejects. */
export interface RunInfo {
  request: string;
  config: GenerateConfig;
  classNames: string[];
  dataset: { fingerprint: string; format: string; sources: number };
  teacher: string | null;
  /** The shard format written (the current one, or a release's when reproducing it). */
  formatVersion: number;
  /** Format ≥ 4: the teacher's agreement with the labels and what made the output. */
  teacherAgreement?: TeacherAgreement;
  generator?: Generator;
  sourceRejects: Reject[];
  release: ReleaseInfo;
  /** Every fingerprinted source file, in record order (written as sources.jsonl). */
  sources: SourceFile[];
}

