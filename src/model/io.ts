// Save/load tfjs LayersModel directories (model.json + weights) with plain fs, so no tfjs-node is
// needed. Saves are atomic: written to a temporary directory, then renamed over the target.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { Fit } from '../image/decode.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import './midlevel.js'; // registers the StopGradient layer so --midlevel students load anywhere

/** What snapmix records beside the weights (userDefinedMetadata.snapmix). */
export interface ModelMeta {
  classNames?: string[];
  inputSize?: number;
  /** pixel → (pixel/255 − mean)/std per channel, applied before the model. */
  preprocess?: { mean: number[]; std: number[] };
  /** How images were fitted to the square input in training (--fit); absent in models made before it. */
  fit?: Fit;
  [k: string]: unknown;
}

export const DEFAULT_PREPROCESS = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

/**
 * Save as model.json + weights.<sha8>.bin inside dir, leaving other files there (metrics, configs).
 * The weights get a content name and model.json is replaced last by rename, so a crash at any point
 * leaves the previous model loadable.
 */
export async function saveModel(model: tf.LayersModel, dir: string, meta: ModelMeta): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (art) => {
      artifacts = art;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const art = artifacts!;
  const weights = Buffer.from(
    art.weightData instanceof ArrayBuffer ? art.weightData : tf.io.concatenateArrayBuffers(art.weightData as ArrayBuffer[]),
  );
  const weightsName = `weights.${createHash('sha256').update(weights).digest('hex').slice(0, 12)}.bin`;
  const json = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: null,
    modelTopology: art.modelTopology,
    weightsManifest: [{ paths: [weightsName], weights: art.weightSpecs }],
    userDefinedMetadata: { snapmix: meta },
  };
  await writeFileAtomic(path.join(dir, weightsName), weights);
  await writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(json));
  for (const f of await fs.readdir(dir)) {
    if (/^weights\.[0-9a-f]{12}\.bin$/.test(f) && f !== weightsName) await fs.rm(path.join(dir, f), { force: true });
  }
}

export interface LoadedModel {
  model: tf.LayersModel;
  meta: ModelMeta;
  /** sha256 of model.json + weight files: identifies the teacher in caches and shards. */
  fingerprint: string;
}


async function readModelJson(dirOrJson: string) {
  const jsonPath = dirOrJson.endsWith('.json') ? dirOrJson : path.join(dirOrJson, 'model.json');
  let raw: string;
  try {
    raw = await fs.readFile(jsonPath, 'utf8');
  } catch {
    throw new UserError(`no model at ${jsonPath}: expected a tfjs LayersModel directory (model.json + weights), e.g. from 'snapmix train'`);
  }
  let json: {
    modelTopology?: object;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: { snapmix?: ModelMeta };
  };
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new UserError(`${jsonPath} is not valid JSON (${(e as Error).message})`);
  }
  return { jsonPath, raw, json };
}

export async function loadModel(dirOrJson: string): Promise<LoadedModel> {
  const { jsonPath, raw, json } = await readModelJson(dirOrJson);
  if (!json.modelTopology || !json.weightsManifest) {
    throw new UserError(`${jsonPath} is not a tfjs LayersModel (needs modelTopology and weightsManifest; graph models are not supported)`);
  }
  const hash = createHash('sha256').update(raw);
  const buffers: Buffer[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const file = path.join(path.dirname(jsonPath), p);
      let b: Buffer;
      try {
        b = await fs.readFile(file);
      } catch {
        throw new UserError(`weight file ${file} named in ${jsonPath} is missing`);
      }
      hash.update(b);
      buffers.push(b);
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const bad = nonFiniteWeight(all, specs);
  if (bad) {
    throw new UserError(`${jsonPath}: weight ${bad} holds NaN or infinite values (a diverged or damaged model); its CAMs and predictions would be meaningless. Use a model that trained to finite weights`);
  }
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
  } catch (e) {
    throw new UserError(`cannot load ${jsonPath}: ${(e as Error).message}`);
  }
  return { model, meta: json.userDefinedMetadata?.snapmix ?? {}, fingerprint: hash.digest('hex') };
}

/** The name of the first float32 weight holding a non-finite value, if any (read straight from the bytes). */
function nonFiniteWeight(all: Buffer, specs: tf.io.WeightsManifestEntry[]): string | undefined {
  let offset = 0;
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const bytesPer = s.quantization ? (s.quantization.dtype === 'uint8' ? 1 : 2) : s.dtype === 'float32' || s.dtype === 'int32' ? 4 : s.dtype === 'bool' ? 1 : 4;
    if (s.dtype === 'float32' && !s.quantization && offset + n * 4 <= all.length) {
      const v = new Float32Array(all.buffer.slice(all.byteOffset + offset, all.byteOffset + offset + n * 4));
      for (let i = 0; i < n; i++) if (!Number.isFinite(v[i])) return s.name;
    }
    offset += n * bytesPer;
  }
  return undefined;
}
