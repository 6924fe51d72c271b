// CSV or JSONL manifests: path,label[,split]. Paths are relative to the manifest's directory.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { compareCodePoints, type Dataset, type DatasetRecord, type Split } from './types.js';
import { realRoot, safeResolve, toPosixId } from './paths.js';

interface Row { path: string; label: string; split?: string; where: string }

/** Minimal RFC 4180 line splitter (quoted fields, doubled quotes); manifests are one record a line. */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { out.push(cur); cur = ''; }
    else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

function parseCsv(text: string, file: string): Row[] {
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.toLowerCase());
  const pi = header.indexOf('path');
  const li = header.indexOf('label');
  const si = header.indexOf('split');
  if (pi < 0 || li < 0) throw new UserError(`${file} line 1: header must name columns path,label[,split]; got '${lines[0] ?? ''}'`);
  const rows: Row[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    const cells = splitCsvLine(lines[i]);
    rows.push({ path: cells[pi] ?? '', label: cells[li] ?? '', split: si >= 0 ? cells[si] : undefined, where: `${file} row ${i + 1}` });
  }
  return rows;
}

function parseJsonl(text: string, file: string): Row[] {
  const rows: Row[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw new UserError(`${file} line ${i + 1}: invalid JSON (${(e as Error).message})`);
    }
    rows.push({
      path: typeof o.path === 'string' ? o.path : '',
      label: o.label === undefined || o.label === null ? '' : String(o.label),
      split: typeof o.split === 'string' ? o.split : undefined,
      where: `${file} line ${i + 1}`,
    });
  });
  return rows;
}

const SPLITS: Record<string, Split> = { train: 'train', test: 'test', val: 'test', all: 'all', '': 'all' };

export function isManifestFile(p: string): boolean {
  return /\.(csv|jsonl|ndjson)$/i.test(p);
}

export async function readManifest(file: string, classList?: string[]): Promise<Dataset> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new UserError(`manifest ${file} does not exist or cannot be read`);
  }
  const rows = /\.csv$/i.test(file) ? parseCsv(text, file) : parseJsonl(text, file);
  if (rows.length === 0) throw new UserError(`manifest ${file} lists no images`);
  const root = await realRoot(path.dirname(path.resolve(file)));
  const classNames = classList ?? [...new Set(rows.map((r) => r.label).filter(Boolean))].sort(compareCodePoints);
  const index = new Map(classNames.map((c, i) => [c, i]));
  const seen = new Map<string, string>();
  const records: DatasetRecord[] = [];
  for (const r of rows) {
    if (!r.path) throw new UserError(`${r.where}: empty path`);
    if (!r.label) throw new UserError(`${r.where}: empty label for ${r.path}`);
    const label = index.get(r.label);
    if (label === undefined) throw new UserError(`${r.where}: unknown label '${r.label}'; known classes: ${classNames.slice(0, 8).join(', ')}${classNames.length > 8 ? ', …' : ''}`);
    const split = SPLITS[(r.split ?? '').toLowerCase()];
    if (split === undefined) throw new UserError(`${r.where}: split '${r.split}' is not train, test, val or empty`);
    const abs = await safeResolve(root, r.path, r.where);
    const id = toPosixId(r.path);
    if (seen.has(id)) throw new UserError(`${r.where}: duplicate id '${id}' (also at ${seen.get(id)}); each image may appear once`);
    seen.set(id, r.where);
    records.push({ id, path: abs, label, split });
  }
  for (let c = 0; c < classNames.length; c++) {
    if (!records.some((r) => r.label === c)) throw new UserError(`empty class: '${classNames[c]}' has no rows in ${file}`);
  }
  return { root, format: 'manifest', classNames, records };
}
