// `snapmix demo` (what `npm start` runs). Parsing and printing only; the work is src/pipeline/demo.ts.
import type { Argv } from 'yargs';
import { log, startBackend, withBackend, withQuiet } from './common.js';

export const command = 'demo';
export const describe = 'end to end on the embedded synthetic benchmark: teacher, CAMs, none/cutmix/snapmix shards, three students';

export function builder(y: Argv) {
  return withQuiet(withBackend(y))
    .option('out', { type: 'string', default: 'runs/demo', describe: 'run directory (new, empty, or an earlier demo of the same preset and seed, whose finished stages are reused; never a directory of other files)' })
    .option('full', { type: 'boolean', default: false, describe: 'the larger preset (10 classes × 100 images, teacher 20 epochs, students 8 epochs); see README for its time' })
    .option('workers', { type: 'number', default: 2, describe: 'worker threads for CAMs, composition and decoding' })
    .option('seed', { type: 'number', default: 0 });
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { DEMO_PRESETS, demoTable, runDemo } = await import('../pipeline/demo.js');
  const backend = await startBackend(a.backend);
  const preset = a.full ? DEMO_PRESETS.full : DEMO_PRESETS.default;
  log(`demo: preset ${a.full ? 'full' : 'default'} ${JSON.stringify(preset)} → ${a.out}`);
  const r = await runDemo({ out: a.out, preset, seed: a.seed, backend: backend.kind, workers: a.workers, quiet: a.quiet, log });
  log('');
  log(demoTable(r));
  log('');
  log(`demo: plot ${r.plot}, preview ${r.preview}, results ${a.out}/results.json`);
  log(`demo: done in ${r.seconds.toFixed(0)}s`);
}
