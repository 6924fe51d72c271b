// --epoch-rounds: epoch e of a student reads exactly round e mod R of the shards (shard files that
// straddle two rounds are filtered row by row), so with R ≥ epochs every mix is seen once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Piscina } from 'piscina';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { generate } from '../src/pipeline/generate.js';
import { openShardSets } from '../src/train/shard-set.js';
import { shardSource } from '../src/train/shard-source.js';
import { readManifest, readSamples } from '../src/shards/reader.js';
import { makePool } from '../src/pool/pools.js';
import { DEFAULT_PREPROCESS } from '../src/model/io.js';
import { tmpDir } from './helpers/fixtures.js';

let data = '';
let shards = '';
let pool: Piscina;

before(async () => {
  const base = await tmpDir('snapmix-rounds-');
  data = path.join(base, 'data');
  shards = path.join(base, 'shards');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 6, testPerClass: 1, size: 32 });
  const dataset = await openDataset(data);
  // 18 sources × 3 rounds in shards of 5: shards 3, 7 and 10 hold rows of two rounds.
  await generate({
    config: { method: 'cutmix', rounds: 3, size: 32, seed: 1, shardSize: 5 }, dataset, records: splitRecords(dataset, 'train'),
    out: shards, workers: 1, camBatch: 8, strict: false, overwrite: false,
  });
  pool = makePool('decode-worker', 1);
});

after(async () => pool?.destroy());

test('--epoch-rounds: epoch e reads exactly the rows of round e mod R; without it an epoch reads every round', async () => {
  const dataset = await openDataset(data);
  const sets = await openShardSets([shards], dataset.classNames, data);
  assert.deepEqual(sets[0].rounds?.rows, [18, 18, 18]);
  const m = await readManifest(shards);
  // A row's soft target nearly identifies it (same-label pairs aside): compare multisets of targets.
  const key = (t: ArrayLike<number>) => Array.from(t).map((v) => v.toFixed(6)).join(',');
  const byRound: string[][] = [[], [], []];
  for await (const s of readSamples(shards, m)) byRound[s.round].push(key(s.softLabel));
  assert.ok(new Set(byRound.flat()).size >= 40, 'targets tell rows apart');
  assert.notDeepEqual(byRound[0].slice().sort(), byRound[1].slice().sort());
  const opts = { sets, numClasses: 3, size: 32, batchSize: 4, seed: 2, bufferSize: 6, pre: DEFAULT_PREPROCESS, pool };
  const labelsOf = async (src: ReturnType<typeof shardSource>, epoch: number) => {
    const out: string[] = [];
    for await (const b of src.epoch(epoch)) for (let i = 0; i < b.n; i++) out.push(key(b.targets.subarray(i * 3, i * 3 + 3)));
    return out.sort();
  };
  const rounds = shardSource({ ...opts, epochRounds: true });
  assert.equal(rounds.batchesPerEpoch, Math.ceil(18 / 4));
  for (const e of [0, 1, 2, 3, 4]) assert.deepEqual(await labelsOf(rounds, e), byRound[e % 3].slice().sort(), `epoch ${e} is round ${e % 3}`);
  const all = shardSource(opts);
  assert.equal(all.batchesPerEpoch, Math.ceil(54 / 4));
  assert.deepEqual(await labelsOf(all, 0), byRound.flat().sort());
});
