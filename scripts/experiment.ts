// The paper's claim on the synthetic benchmark: seeds × {none, mixup, cutmix, snapmix}, each a full
// demo run (own data, teacher, CAMs, shards, students on identical budgets). Finished stages are
// reused, so an interrupted experiment resumes. Prints mean ± sd of student top-1 and label error.
// Usage: npx tsx scripts/experiment.ts [--seeds 0,1,2] [--out runs/experiment] [--full]
import { parseArgs } from 'node:util';
import path from 'node:path';
import { backendLine, initBackend } from '../src/model/backend.js';
import { DEMO_PRESETS, runDemo, type DemoResult } from '../src/pipeline/demo.js';
import type { Method } from '../src/mix/plan.js';
import { machineLine } from './bench-common.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    out: { type: 'string', default: 'runs/experiment' },
    full: { type: 'boolean', default: false },
    workers: { type: 'string', default: '2' },
  },
});
const seeds = values.seeds!.split(',').map(Number);
const methods: Method[] = ['none', 'mixup', 'cutmix', 'snapmix'];
const preset = values.full ? DEMO_PRESETS.full : DEMO_PRESETS.default;
const backend = await initBackend('wasm');
console.log(machineLine());
console.log(backendLine(backend));
console.log(`preset ${JSON.stringify(preset)}; seeds ${seeds.join(', ')}; methods ${methods.join(', ')}`);
const t0 = Date.now();
const results: DemoResult[] = [];
for (const seed of seeds) {
  const r = await runDemo({ out: path.join(values.out!, `seed-${seed}`), preset, seed, backend, workers: Number(values.workers), quiet: true, log: (l) => console.log(`[seed ${seed}] ${l}`), methods });
  results.push(r);
  console.log(`[seed ${seed}] teacher ${(r.teacherTop1 * 100).toFixed(1)}%; ${r.rows.map((x) => `${x.method} ${(x.top1 * 100).toFixed(1)}%`).join(', ')}`);
}
const stats = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { m, sd };
};
const fmt = (xs: (number | null)[], scale: number, digits: number) => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  if (!v.length) return 'n/a';
  const { m, sd } = stats(v.map((x) => x * scale));
  return `${m.toFixed(digits)} ± ${sd.toFixed(digits)}`;
};
console.log('');
console.log(`teacher top-1: ${fmt(results.map((r) => r.teacherTop1), 100, 1)}%; CAM max inside part: ${fmt(results.map((r) => r.camInPart), 100, 1)}%`);
console.log('');
console.log(`| method | student top-1 (%) mean ± sd over ${seeds.length} seeds | label error vs part masks | area-label error, same boxes |`);
console.log('|---|---:|---:|---:|');
for (const method of methods) {
  const rows = results.map((r) => r.rows.find((x) => x.method === method)!);
  console.log(`| ${method} | ${fmt(rows.map((x) => x.top1), 100, 1)} | ${fmt(rows.map((x) => x.labelError), 1, 3)} | ${fmt(rows.map((x) => x.areaError), 1, 3)} |`);
}
console.log('');
console.log(`experiment: ${((Date.now() - t0) / 1000).toFixed(0)}s wall`);
