// --partner other-class: a source is only mixed with a source of another class (uniformly among them);
// the default 'any' plan is unchanged (and outputs of it stay byte-identical); verify replays both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { planSample, planner, partnerIndex, type PlanConfig } from '../src/mix/plan.js';
import { resolveGenerateConfig } from '../src/shards/config.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { readManifest, readSamples } from '../src/shards/reader.js';
import { verifyDirectory } from '../src/shards/verify.js';
import { tmpDir } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

const cfg: PlanConfig = { method: 'snapmix', beta: 5, prob: 1, seed: 3, size: 32, resize: 36, crop: 'random', flip: true };

test('other-class partners: never the same label, uniform over the other classes\' sources; any is the official plan', () => {
  const n = 40;
  const labels = Array.from({ length: n }, (_, j) => (j * 7) % 4); // 4 classes, interleaved
  const plan = planner({ ...cfg, partner: 'other-class' }, n, labels);
  const counts = new Array(n).fill(0);
  for (let r = 0; r < 200; r++) {
    for (let i = 0; i < n; i++) {
      const p = plan(r * n + i);
      assert.notEqual(labels[p.b], labels[p.a], `round ${r} source ${i}`);
      counts[p.b]++;
    }
  }
  // 8000 draws over 40 sources, each a partner of the 30 sources of other classes: about 200 each.
  assert.ok(Math.min(...counts) > 140 && Math.max(...counts) < 260, JSON.stringify(counts));
  // 'any' (or no partner key) is the plan of earlier versions, draw for draw.
  const any = planner({ ...cfg, partner: 'any' }, n, labels);
  for (let g = 0; g < 3 * n; g++) assert.deepEqual(any(g), planSample(cfg, Math.floor(g / n), g % n, n));
  // One class only: nothing to pair with, so the samples are written unmixed.
  const one = planSample({ ...cfg, partner: 'other-class' }, 0, 2, 5, partnerIndex([1, 1, 1, 1, 1]));
  assert.equal(one.method, 'none');
  assert.throws(() => planSample({ ...cfg, partner: 'other-class' }, 0, 0, 5), /needs the labels/);
});

test('the config records partner only when it is not the default, so default outputs keep their bytes', () => {
  assert.equal('partner' in resolveGenerateConfig({}), false);
  assert.equal('partner' in resolveGenerateConfig({ partner: 'any' }), false);
  assert.equal(resolveGenerateConfig({ partner: 'other-class' }).partner, 'other-class');
});

test('generate --partner other-class: every mixed row pairs two classes, verify replays the plan, the card says so', async () => {
  const base = await tmpDir('snapmix-partner-');
  const data = path.join(base, 'data');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 5, testPerClass: 1, size: 32 });
  const out = path.join(base, 'out');
  const r = cli(['generate', '--allow-weak-teacher', '--data', data, '--method', 'cutmix', '--partner', 'other-class', '--rounds', '3', '--size', '32', '--out', out, '--quiet', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const m = await readManifest(out);
  assert.equal(m.config.partner, 'other-class');
  let rows = 0;
  for await (const s of readSamples(out, m)) {
    rows++;
    assert.notEqual(s.labelA, s.labelB, `row ${s.index}`);
  }
  assert.equal(rows, 45);
  await verifyDirectory(out);
  assert.match(await fs.readFile(path.join(out, 'README.md'), 'utf8'), /--partner other-class/);
  // The same run with the default partner is another request.
  const dflt = path.join(base, 'any');
  assert.equal(cli(['generate', '--allow-weak-teacher', '--data', data, '--method', 'cutmix', '--rounds', '3', '--size', '32', '--out', dflt, '--quiet', '--backend', 'wasm']).code, 0);
  assert.notEqual((await readManifest(dflt)).request, m.request);
});
