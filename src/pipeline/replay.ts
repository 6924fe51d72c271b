// Re-derive what generate did for a sample (its sources, views, SPMs) from the manifest, the dataset
// and the CAM cache: the plan is a pure function of (config, round, index), so nothing else is stored.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { planConfigOf, type Manifest } from './generate.js';
import { openDataset, splitRecords, type DatasetFormat } from '../data/index.js';
import type { DatasetRecord } from '../data/types.js';
import { readCamCache, camOf, checkCamFit, type CamSet } from '../shards/cam-cache.js';
import { planner, type PlanConfig, type SamplePlan } from '../mix/plan.js';
import { decodeRgb, recordedFit, type Fit } from '../image/decode.js';
import { UserError } from '../util/errors.js';

export interface Replay {
  manifest: Manifest;
  sources: DatasetRecord[];
  dataRoot: string;
  /** The fit the shards were made with (normalised from the stored config). */
  fit: Fit;
  /** The CAM cache directory read, if any. */
  camDir?: string;
  cams?: CamSet;
  camRow: Map<string, number>;
  plan: PlanConfig;
  planOf(index: number): SamplePlan;
  /** Source j decoded at the plan's resize side. */
  rgb(j: number): Promise<Uint8Array>;
  cam(j: number): { data: Float32Array; h: number; w: number } | undefined;
}

export async function openReplay(dir: string, manifest: Manifest, overrides: { data?: string; cams?: string } = {}): Promise<Replay> {
  const recorded = await fs.readFile(path.join(dir, '.snapmix', 'sources.json'), 'utf8').then((t) => JSON.parse(t) as { data: string; data_format: DatasetFormat; cams: string | null }, () => undefined);
  const data = overrides.data ?? recorded?.data;
  if (!data) throw new UserError(`${dir} does not record its dataset; pass --data`);
  const ds = await openDataset(data, overrides.data ? 'auto' : recorded?.data_format ?? 'auto');
  if (ds.classNames.join('\n') !== manifest.class_names.join('\n')) throw new UserError(`${data} has other classes than the shards in ${dir}`);
  const camDir = overrides.cams ?? recorded?.cams ?? undefined;
  const cache = camDir ? await readCamCache(camDir) : undefined;
  // The stored config's fit, normalised once here (absent in format-2 outputs: 'cover').
  const fit = recordedFit(manifest.config.fit);
  if (cache) checkCamFit(`the CAM cache ${camDir}`, cache.meta, fit);
  const cams = cache?.set;
  const camRow = new Map<string, number>();
  cams?.ids.forEach((id, i) => camRow.set(id, i));
  const train = splitRecords(ds, 'train');
  const sources = manifest.teacher && cams ? train.filter((r) => camRow.has(r.id)) : train;
  if (sources.length !== manifest.dataset.sources) {
    throw new UserError(`${data} yields ${sources.length} sources but the shards were made from ${manifest.dataset.sources}; pass the --data (and --cams) they were generated from`);
  }
  const c = manifest.config;
  const plan = planConfigOf(c);
  const n = sources.length;
  return {
    manifest, sources, dataRoot: ds.root, fit, camDir, cams, camRow, plan,
    planOf: planner(plan, n, sources.map((r) => r.label)),
    rgb: async (j) => (await decodeRgb(sources[j].path, c.resize, fit)).data,
    cam: (j) => {
      const row = camRow.get(sources[j].id);
      return cams && row !== undefined ? camOf(cams, row) : undefined;
    },
  };
}
