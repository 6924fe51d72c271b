// The one resolver of a generate request: defaults, the schema check (schemas/config.schema.json), and
// a canonical key order, so the request hash and the shard metadata never depend on how a caller (CLI,
// config file, demo, refresh, benchmark, test) spelled the object.
import { createHash } from 'node:crypto';
import { DEFAULT_BETA, type Method, type Partner, type PlanConfig } from '../mix/plan.js';
import type { ImageFormat } from '../image/fit.js';
import { SHARD_FORMAT_VERSION } from './format-version.js';
import { check } from '../util/schemas.js';
import { UserError } from '../util/errors.js';
import { DEFAULT_FIT, recordedFit, type Fit } from '../image/fit.js';

export interface GenerateConfig {
  method: Method;
  rounds: number;
  size: number;
  resize: number;
  /** Source → R×R square (src/image/decode.ts). Always set by the resolver; absent only in format-2 outputs (cover). */
  fit?: Fit;
  crop: 'random' | 'center';
  flip: boolean;
  beta: number;
  prob: number;
  seed: number;
  shardSize: number;
  format: ImageFormat;
  quality: number;
  /** Present only when not the official 'any' (so outputs of the default stay byte-identical across versions). */
  partner?: Exclude<Partner, 'any'>;
}

/** A config from the resolver: the fit always set. (A stored one may lack it: format-2 outputs, 'cover'.) */
export type ResolvedConfig = GenerateConfig & { fit: Fit };

export const GENERATE_DEFAULTS = { method: 'snapmix' as Method, rounds: 1, size: 64, fit: DEFAULT_FIT, flip: true, prob: 1, seed: 0, shardSize: 1000, format: 'jpeg' as ImageFormat, quality: 90 };

export type GenerateConfigInput = Partial<Omit<GenerateConfig, 'partner' | 'fit'>> & { partner?: Partner; fit?: Fit };

/** A stored config (manifest) as resolver input: there an absent fit (format 2) means 'cover', not today's default. */
export const storedConfigInput = (c: GenerateConfig): GenerateConfigInput => ({ ...c, fit: recordedFit(c.fit) });

/** --resize when not given: size / 0.875 (64 → 73, 224 → 256, 448 → 512). */
const defaultResize = (size: number) => Math.round(size / 0.875);

/** Defaults filled in, checked against the schema (messages name the flag), keys in canonical order. */
export function resolveGenerateConfig(i: GenerateConfigInput): ResolvedConfig {
  const d = GENERATE_DEFAULTS;
  const method = i.method ?? d.method;
  const size = i.size ?? d.size;
  // The standard view policy: resize to size/0.875 (the official CUB recipe crops 448 from 512), then a
  // random size crop; --resize = --size makes flip-only views.
  const resize = i.resize ?? defaultResize(size);
  const cfg: ResolvedConfig = {
    method,
    rounds: i.rounds ?? d.rounds,
    size,
    resize,
    fit: i.fit ?? d.fit,
    crop: i.crop ?? (resize > size ? 'random' : 'center'),
    flip: i.flip ?? d.flip,
    beta: i.beta ?? DEFAULT_BETA[method],
    prob: i.prob ?? d.prob,
    seed: i.seed ?? d.seed,
    shardSize: i.shardSize ?? d.shardSize,
    format: i.format ?? d.format,
    quality: i.quality ?? d.quality,
    ...(i.partner && i.partner !== 'any' ? { partner: i.partner } : {}),
  };
  const kebab = {
    method: cfg.method, rounds: cfg.rounds, size: cfg.size, resize: cfg.resize, fit: cfg.fit, crop: cfg.crop, flip: cfg.flip, beta: cfg.beta,
    prob: cfg.prob, seed: cfg.seed, 'shard-size': cfg.shardSize, format: cfg.format, quality: cfg.quality, ...(cfg.partner ? { partner: cfg.partner } : {}),
  };
  const problems = check('config', kebab, '--');
  if (problems.length) throw new UserError(problems.join('; '));
  if (cfg.resize < cfg.size) throw new UserError(`--resize (${cfg.resize}) must be ≥ --size (${cfg.size})`);
  return cfg;
}

/** The plan's part of a generate config (generate, replay and verify replay the same plan). */
export function planConfigOf(c: GenerateConfig): PlanConfig {
  return { method: c.method, beta: c.beta, prob: c.prob, seed: c.seed, size: c.size, resize: c.resize, crop: c.crop, flip: c.flip, ...(c.partner ? { partner: c.partner } : {}) };
}

/** The request: what the output bytes are a function of (docs/ARCHITECTURE.md "3. Contracts"), as one hash. */
export function requestHash(cfg: GenerateConfig, datasetFp: string, teacherFp: string | null, v = SHARD_FORMAT_VERSION): string {
  return createHash('sha256').update(JSON.stringify({ v, cfg, dsFp: datasetFp, teacher: teacherFp })).digest('hex');
}
