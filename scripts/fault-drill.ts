// Fault drill: kill -9 `cams`, one part of a split `cams`, `generate`, `merge`, `export` and
// `train --shards --resume` at random points, rerun the same command, and check the result is
// byte-identical to an uninterrupted run. Prints a table.
// Usage: npm run build && npx tsx scripts/fault-drill.ts [--kills 5] [--seed 1] [--keep]
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../src/util/rng.js';
import { machineLine } from './bench-common.js';

const { values } = parseArgs({ options: { kills: { type: 'string', default: '5' }, seed: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } } });
const kills = Number(values.kills);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist', 'cli', 'main.js');
const entry = await fs.stat(dist).then(() => [dist], () => ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts')]);
const rng = new Rng(Number(values.seed), 'fault-drill');
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'fault-drill-'));

function runSync(args: string[]): void {
  const r = spawnSync(process.execPath, [...entry, ...args], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`snapmix ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
}

/** Run to completion and return the wall time in ms. */
function timed(args: string[]): number {
  const t0 = Date.now();
  runSync(args);
  return Date.now() - t0;
}

/** Start the command, SIGKILL it after ms (if still running); resolves to whether it was killed. */
function killAfter(args: string[], ms: number): Promise<boolean> {
  const p = spawn(process.execPath, [...entry, ...args], { cwd: root, stdio: 'ignore' });
  return new Promise((res) => {
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (_code, signal) => {
      clearTimeout(t);
      res(signal === 'SIGKILL');
    });
  });
}

/** sha256 of every file under dir (relative path → hash), less what legitimately differs between runs. */
async function digest(dir: string, skip: (rel: string) => boolean): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of (await fs.readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (skip(rel)) continue;
      if (e.isDirectory()) await walk(p);
      else {
        let bytes = await fs.readFile(p);
        // Timings in metrics.jsonl are wall-clock: compare everything else on each line.
        if (rel === 'metrics.jsonl') bytes = Buffer.from(bytes.toString('utf8').split('\n').filter(Boolean).map((l) => { const { seconds: _s, images_per_s: _i, ...m } = JSON.parse(l); return JSON.stringify(m); }).join('\n'));
        out[rel] = createHash('sha256').update(bytes).digest('hex');
      }
    }
  };
  await walk(dir);
  return out;
}

/** What the kill left, in a few words: which commit markers existed. */
async function leftState(dir: string, markers: [string, string][]): Promise<string> {
  const entries = await fs.readdir(dir).catch(() => undefined);
  if (!entries) return 'no output yet';
  const found: string[] = [];
  for (const [rel, word] of markers) if (await fs.stat(path.join(dir, rel)).then(() => true, () => false)) found.push(word);
  if (entries.includes('.snapmix.lock')) found.push('stale lock');
  return found.length ? found.join(', ') : 'partial';
}

console.log(machineLine());
console.log(`fault drill: ${kills} kill -9 per command at uniform random times in [5%, 95%] of an uninterrupted run, then the same command rerun; seed ${values.seed}; ${tmp}`);
const data = path.join(tmp, 'data');
runSync(['synth', '--out', data, '--classes', '4', '--per-class', '20', '--test-per-class', '5', '--size', '32', '--quiet']);
const teacher = path.join(tmp, 'teacher');
runSync(['train', '--data', data, '--out', teacher, '--epochs', '2', '--size', '32', '--width', '8', '--stages', '2', '--backend', 'wasm', '--quiet']);

type Stage = { name: string; args: (out: string) => string[]; skip: (rel: string) => boolean; markers: [string, string][] };
const refShards = path.join(tmp, 'ref-generate');
// The student trains on a smaller output of its own (4 rounds), so its runs stay short.
const trainShards = path.join(tmp, 'train-shards');
runSync(['generate', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', trainShards, '--size', '32', '--rounds', '4', '--backend', 'wasm', '--quiet']);
// Parts of a split generate for the merge stage (the request of the generate stage, in 2 parts).
const genArgs = (o: string) => ['generate', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', o, '--size', '32', '--resize', '36', '--rounds', '40', '--shard-size', '160', '--backend', 'wasm', '--quiet', '--workers', '2'];
const genParts = [0, 1].map((i) => path.join(tmp, `gen-part-${i}`));
genParts.forEach((p, i) => runSync([...genArgs(p), '--num-shards', '2', '--shard-index', String(i)]));
const stages: Stage[] = [
  { name: 'cams', args: (o) => ['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', o, '--backend', 'wasm', '--quiet', '--workers', '2', '--cam-batch', '8'], skip: (r) => r.startsWith('.snapmix'), markers: [['cams.arrow', 'cams.arrow'], ['cams.json', 'cams.json (done)']] },
  { name: 'cams part 1 of 2', args: (o) => ['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', o, '--backend', 'wasm', '--quiet', '--workers', '2', '--cam-batch', '8', '--num-shards', '2', '--shard-index', '1'], skip: (r) => r === '.snapmix/output.json', markers: [['cams.json', 'cams.json'], ['.snapmix/cams-part.json', 'part record (done)']] },
  { name: 'generate', args: genArgs, skip: (r) => r === '.snapmix/sources.json', markers: [['cams/cams.json', 'CAMs'], ['.snapmix/data-00000-of-00020.arrow.json', 'shard 0'], ['.snapmix/data-00010-of-00020.arrow.json', 'shard 10'], ['manifest.json', 'manifest (done)']] },
  { name: 'merge', args: (o) => ['merge', ...genParts, '--out', o], skip: (r) => r === '.snapmix/sources.json', markers: [['.snapmix/request.json', 'request'], ['.snapmix/data-00010-of-00020.arrow.json', 'shard 10'], ['manifest.json', 'manifest (done)']] },
  { name: 'export', args: (o) => ['export', refShards, '--to', 'parquet', '--out', o, '--quiet'], skip: () => false, markers: [['.snapmix/export-request.json', 'request'], ['data-00010-of-00020.parquet', 'parquet 10'], ['export.json', 'export.json'], ['README.md', 'card (done)']] },
  { name: 'train --shards --resume', args: (o) => ['train', '--shards', trainShards, '--val', data, '--out', o, '--epochs', '6', '--batch-size', '16', '--width', '8', '--stages', '2', '--workers', '1', '--backend', 'wasm', '--quiet', '--resume'], skip: () => false, markers: [['checkpoint/state.json', 'checkpoint'], ['model.json', 'model']] },
];
const rows: string[][] = [];
for (const st of stages) {
  const slug = st.name.split(' ').slice(0, st.name.startsWith('cams part') ? 2 : 1).join('-');
  const ref = st.name === 'generate' ? refShards : path.join(tmp, `ref-${slug}`);
  const ms = timed(st.args(ref));
  const want = await digest(ref, st.skip);
  for (let k = 0; k < kills; k++) {
    const out = path.join(tmp, `${slug}-${k}`);
    const at = Math.round(ms * (0.05 + 0.9 * rng.next()));
    const killed = await killAfter(st.args(out), at);
    const left = await leftState(out, st.markers);
    const t0 = Date.now();
    let rerun = 'exit 0';
    try {
      runSync(st.args(out));
    } catch (e) {
      rerun = `FAILED: ${(e as Error).message.split('\n').find((l) => l.startsWith('snapmix: error')) ?? (e as Error).message.split('\n')[0]}`;
    }
    const got = await digest(out, st.skip);
    const same = JSON.stringify(got) === JSON.stringify(want);
    const diff = same ? '' : ` (differs: ${Object.keys({ ...want, ...got }).filter((f) => want[f] !== got[f]).slice(0, 3).join(', ')})`;
    rows.push([st.name, String(k + 1), `${(at / 1000).toFixed(2)} s of ${(ms / 1000).toFixed(2)} s`, killed ? 'killed' : 'had finished', left, `${rerun} in ${((Date.now() - t0) / 1000).toFixed(1)} s`, (same ? 'yes' : 'NO') + diff]);
  }
}
const head = ['command', 'kill', 'at', 'signal', 'left behind', 'rerun', 'identical'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
console.log([line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
const bad = rows.filter((r) => !r[6].startsWith('yes')).length;
console.log(`fault drill: ${rows.length} kills, ${rows.filter((r) => r[3] === 'killed').length} landed mid-run, ${rows.length - bad} identical after rerun`);
if (!values.keep) await fs.rm(tmp, { recursive: true, force: true });
process.exit(bad ? 1 : 0);
