// Runs `snapmix demo` from the built CLI into a fresh directory and writes its table into README.md between
// the demo markers, with the date, the commit and the wall time of that run: the README's demo figures are
// never typed by hand. Usage: npm run build && npx tsx scripts/readme-demo.ts [--full] [--dry-run]
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoTable, type DemoResult } from '../src/pipeline/demo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const full = process.argv.includes('--full');
const dry = process.argv.includes('--dry-run');
const git = (...a: string[]) => spawnSync('git', a, { cwd: root, encoding: 'utf8' }).stdout.trim();
const commit = git('rev-parse', '--short', 'HEAD');
const dirty = git('status', '--porcelain', '--untracked-files=no', 'src') !== '';

const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'snapmix-readme-demo-')), 'demo');
const t0 = Date.now();
const run = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'main.js'), 'demo', '--out', out, '--quiet', ...(full ? ['--full'] : [])], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const wall = (Date.now() - t0) / 1000;
if (run.status !== 0) throw new Error(`snapmix demo failed (exit ${run.status}):\n${run.stdout}`);
const r = JSON.parse(await fs.readFile(path.join(out, 'results.json'), 'utf8')) as DemoResult;
const reading = run.stdout.split('\n').filter((l) => l.startsWith('demo: reading:')).map((l) => l.slice('demo: '.length));

const block = [
  `<!-- demo-begin: written by scripts/readme-demo.ts${full ? ' --full' : ''}; do not edit by hand -->`,
  `\`snapmix demo${full ? ' --full' : ''}\` on ${new Date().toISOString().slice(0, 10)}, commit ${commit}${dirty ? ' (with uncommitted changes in src/)' : ''}, ` +
    `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), wall time ${Math.floor(wall / 60)} min ${Math.round(wall % 60)} s:`,
  '',
  '```',
  demoTable(r),
  ...(reading.length ? ['', ...reading] : []),
  '```',
  '<!-- demo-end -->',
].join('\n');

console.log(block);
if (!dry) {
  const readme = path.join(root, 'README.md');
  const text = await fs.readFile(readme, 'utf8');
  const re = /<!-- demo-begin[\s\S]*?<!-- demo-end -->/;
  if (!re.test(text)) throw new Error('README.md has no demo markers');
  await fs.writeFile(readme, text.replace(re, block));
  console.log('README.md updated');
}
await fs.rm(path.dirname(out), { recursive: true, force: true });
