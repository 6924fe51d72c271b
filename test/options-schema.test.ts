// One way to check options: every number option of every command has its range in
// schemas/options.schema.json (generate's in its config schema), and the CLI refuses a value outside it
// with the schema's words before the command runs.
import test from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli } from './helpers/cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMMANDS = ['synth', 'train', 'eval', 'cams', 'generate', 'inspect', 'preview', 'verify', 'merge', 'reproduce', 'export', 'demo'];

test('every number option of every command has a range in the schemas', async () => {
  const options = JSON.parse(await fs.readFile(path.join(root, 'schemas', 'options.schema.json'), 'utf8'));
  const config = JSON.parse(await fs.readFile(path.join(root, 'schemas', 'config.schema.json'), 'utf8'));
  const missing: string[] = [];
  let numbers = 0;
  for (const c of COMMANDS) {
    const help = cli([c, '--help']);
    assert.equal(help.code, 0, help.stderr);
    const props = c === 'generate' ? config.properties : options.properties[c]?.properties ?? {};
    // One block per option: its line and the wrapped lines of its description, up to the next option.
    for (const block of help.stdout.split(/\n(?=\s+-)/)) {
      const m = /^\s+(?:-\w, )?--([a-z][a-z-]*)\b/.exec(block);
      if (!m || !/\[number\]/.test(block)) continue;
      numbers++;
      if (!props[m[1]]) missing.push(`${c} --${m[1]}`);
    }
  }
  assert.ok(numbers > 30, `the help lists the number options (${numbers} found)`);
  assert.deepEqual(missing, []);
});

test('a value outside the schema is refused with its range before anything runs', () => {
  for (const [args, msg] of [
    [['train', '--data', 'nowhere', '--out', 'x', '--lr', '11'], /--lr must be in \[1e-7, 10\], got 11/],
    [['train', '--data', 'nowhere', '--out', 'x', '--epochs', '2.5'], /--epochs must be an integer, got 2.5/],
    [['synth', '--out', 'x', '--size', '600'], /--size must be in \[16, 512\], got 600/],
    [['preview', '--shards', 'nowhere', '--out', 'x.png', '--n', '0'], /--n must be in \[1, 256\], got 0/],
    [['cams', '--data', 'nowhere', '--teacher', 't', '--out', 'x', '--cam-batch', '2000'], /--cam-batch must be in \[1, 1024\], got 2000/],
    [['generate', '--data', 'nowhere', '--cams', 'c', '--out', 'x', '--workers', '65'], /--workers must be in \[1, 64\], got 65/],
  ] as const) {
    const r = cli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.doesNotMatch(r.stderr, /nowhere/, 'refused before the data is opened');
  }
});

test('--help examples are copy-pasteable: every line a whole command or a comment above one', () => {
  let commands = 0;
  for (const c of COMMANDS) {
    const help = cli([c, '--help']).stdout;
    const examples = help.split('\nExamples:\n')[1]?.split('\n\n')[0];
    if (!examples) continue;
    for (const line of examples.split('\n').filter(Boolean)) {
      assert.match(line, /^ {2}(# \S|snapmix \S)/, `${c} --help: "${line}" is a wrapped piece of an example`);
      if (line.startsWith('  snapmix')) commands++;
    }
  }
  assert.ok(commands >= 10, `${commands} example commands`);
});
