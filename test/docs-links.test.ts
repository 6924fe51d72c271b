// The documents are split over README.md and docs/*.md: every relative link and #anchor between them must
// land on a file and a heading that exist (a moved section broke several before this test).
import test from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** GitHub's heading anchor: lower case, punctuation dropped (letters, digits, '-', '_' and spaces kept), spaces → '-'. */
export const slug = (h: string) => h.trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, '').replace(/ /g, '-');

async function anchors(file: string): Promise<Set<string>> {
  const text = await fs.readFile(file, 'utf8');
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (m) out.add(slug(m[1]));
  }
  return out;
}

test('slug follows GitHub: code spans and punctuation dropped, spaces to hyphens', () => {
  assert.equal(slug('Fitting photos to the square (`--fit`)'), 'fitting-photos-to-the-square---fit');
  assert.equal(slug('Training a student on shards'), 'training-a-student-on-shards');
});

test('every relative link and anchor in README.md and docs/*.md resolves', async () => {
  const files = ['README.md', 'CHANGELOG.md', ...(await fs.readdir(path.join(root, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const bad: string[] = [];
  for (const rel of files) {
    const file = path.join(root, rel);
    const text = (await fs.readFile(file, 'utf8')).replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1];
      if (/^[a-z]+:/i.test(link)) continue; // http(s), mailto
      const [target, anchor] = link.split('#');
      const dest = target ? path.resolve(path.dirname(file), target) : file;
      const st = await fs.stat(dest).catch(() => undefined);
      if (!st) {
        bad.push(`${rel}: ${link} (no such file)`);
        continue;
      }
      if (anchor && dest.endsWith('.md') && !(await anchors(dest)).has(anchor)) bad.push(`${rel}: ${link} (no such heading)`);
    }
  }
  assert.deepEqual(bad, []);
});

test('source comments cite documents of this repository by a heading that exists', async () => {
  const bad: string[] = [];
  let cited = 0;
  const walk = async (dir: string): Promise<string[]> => (await Promise.all((await fs.readdir(dir, { withFileTypes: true })).map((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])))).flat();
  for (const file of (await walk(path.join(root, 'src'))).filter((f) => f.endsWith('.ts'))) {
    const text = await fs.readFile(file, 'utf8');
    const rel = path.relative(root, file);
    if (/DESIGN §/.test(text)) bad.push(`${rel}: cites "DESIGN §", which is not in the repository`);
    for (const m of text.matchAll(/\b(README|docs\/[A-Z-]+\.md)(?:\.md)? "([^"]+)"/g)) {
      cited++;
      const doc = path.join(root, m[1] === 'README' ? 'README.md' : m[1]);
      const heads = await anchors(doc).catch(() => undefined);
      if (!heads) bad.push(`${rel}: ${m[0]} (no such document)`);
      else if (!heads.has(slug(m[2]))) bad.push(`${rel}: ${m[0]} (no such heading)`);
    }
  }
  assert.ok(cited >= 10, `found ${cited} citations`);
  assert.deepEqual(bad, []);
});
