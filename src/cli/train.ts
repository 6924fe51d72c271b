import type { Argv } from 'yargs';
import { openDataset } from '../data/index.js';
import { trainTeacher } from '../train/teacher.js';
import { DEFAULT_RESNET } from '../model/zoo.js';
import { UserError } from '../util/errors.js';
import { validateRecipe } from '../train/recipe.js';
import { log, recipeFrom, startBackend, withBackend, withDataFormat, withQuiet, withRecipe } from './common.js';

export const command = 'train';
export const describe = 'train a model on clean images (the teacher); keeps the best epoch by test top-1';

export function builder(y: Argv) {
  return withRecipe(withQuiet(withDataFormat(withBackend(y))))
    .option('data', { type: 'string', describe: 'dataset: ImageFolder dir, CUB-200-2011 dir, or .csv/.jsonl manifest' })
    .option('out', { type: 'string', demandOption: true, describe: 'model directory to write (model.json, weights, metrics.jsonl)' })
    .option('size', { type: 'number', default: 64, describe: 'working image size in pixels' })
    .option('width', { type: 'number', default: DEFAULT_RESNET.width, describe: 'ResNet channels of the first stage' })
    .option('depth', { type: 'number', default: DEFAULT_RESNET.depth, describe: 'ResNet basic blocks per stage' })
    .option('stages', { type: 'number', default: DEFAULT_RESNET.stages, describe: 'ResNet stages (each halves resolution)' })
    .example('$0 train --data data/synth --out runs/teacher', 'train the teacher with the default recipe');
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  if (!a.data) throw new UserError('--data is required: the dataset to train on');
  const recipe = validateRecipe(recipeFrom(a));
  await startBackend(a.backend);
  const dataset = await openDataset(a.data, a.dataFormat);
  const r = await trainTeacher({
    dataset,
    out: a.out,
    size: a.size,
    recipe,
    width: a.width,
    depth: a.depth,
    stages: a.stages,
    quiet: a.quiet,
    log,
  });
  log(`train: best test top-1 ${r.bestTop1 === null ? 'n/a (no test split)' : r.bestTop1.toFixed(4)}; model in ${a.out}; ${r.seconds.toFixed(1)}s`);
}
