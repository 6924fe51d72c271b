// `snapmix demo` (what `npm start` runs). Parsing and printing only; the work is src/pipeline/demo.ts.
import type { Argv } from 'yargs';
import { log, startBackend, withBackend, withQuiet } from './common.js';

export const command = 'demo';
export const describe = 'end to end on the synthetic benchmark in the regime SnapMix is for: a pretrained backbone, a fine-tuned teacher, its CAMs, fresh mixes every epoch, none/mixup/cutmix/snapmix students'

export function builder(y: Argv) {
  return withQuiet(withBackend(y))
    .option('out', { type: 'string', default: 'runs/demo', describe: 'run directory (new, empty, or an earlier demo of the same preset and seed, whose finished stages are reused; never a directory of other files)' })
    .option('full', { type: 'boolean', default: false, describe: 'the larger preset (10 classes × 30 images, 40 epochs); see README for its time' })
    .option('scratch', { type: 'boolean', default: false, describe: 'the earlier demo: from scratch, 2 rounds, 6 epochs, none/cutmix/snapmix (a regime where any mixing costs accuracy)' })
    .option('workers', { type: 'number', default: 2, describe: 'worker threads for CAMs, composition and decoding' })
    .option('seed', { type: 'number', default: 0 });
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { DEMO_BACKBONE, DEMO_PRESETS, demoTable, runDemo } = await import('../pipeline/demo.js');
  const backend = await startBackend(a.backend);
  const name = a.scratch ? 'scratch' : a.full ? 'full' : 'default';
  const preset = DEMO_PRESETS[name];
  log(`demo: preset ${name} ${JSON.stringify(preset)} → ${a.out}`);
  // The paper's regime: fine-tuned from the committed backbone, fresh mixes every epoch, the four methods.
  const regime = a.scratch ? {} : {
    init: { model: DEMO_BACKBONE, freezeStem: true, backboneLr: 0.1 }, epochRounds: true,
    variants: (['none', 'mixup', 'cutmix', 'snapmix'] as const).map((m) => ({ name: m, method: m })),
  };
  const r = await runDemo({ out: a.out, preset, seed: a.seed, backend: backend.kind, workers: a.workers, quiet: a.quiet, log, ...regime });
  log('');
  log(demoTable(r));
  log('');
  log(`demo: plot ${r.plot}, preview ${r.preview}, results ${a.out}/results.json`);
  log(`demo: done in ${r.seconds.toFixed(0)}s`);
}
