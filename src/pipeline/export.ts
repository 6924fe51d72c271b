// `snapmix export RELEASE --to parquet|webdataset --out DIR`: the release's shards in the formats other
// trainers read, one output file per shard, deterministic bytes; plus SHA256SUMS, export.json and a
// dataset card pointing at the new files. The release is verified first: a damaged one is not exported.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readManifest } from '../shards/reader.js';
import { verifyDirectory } from '../shards/verify.js';
import { CARD_FILE, renderCard, type CardFiles } from '../shards/card.js';
import type { Manifest } from '../shards/manifest.js';
import { arrowToParquet, DEFAULT_ROW_GROUP_BYTES } from '../shards/to-parquet.js';
import { arrowToTar, tarName } from '../shards/to-webdataset.js';
import { writeFileAtomic } from '../util/fs.js';
import { UserError } from '../util/errors.js';
import { STATE_DIR, withOutput } from '../util/outdir.js';
import { requestDifferences } from '../util/differences.js';

import { type ExportFormat } from '../shards/export-formats.js';
export type { ExportFormat } from '../shards/export-formats.js';

interface ExportedFile { filename: string; from: string; rows: number; bytes: number; sha256: string }

export interface ExportResult { files: ExportedFile[]; manifestSha256: string; seconds: number }

const EXPORT_RECORD = 'export.json';
const SUMS_FILE = 'SHA256SUMS';

const parquetName = (shard: string) => shard.replace(/\.arrow$/, '.parquet');

const CLASSES_FILE = 'classes.csv';

/** id,name per class, RFC 4180 quoting (a name may hold a comma or a quote). */
const classesCsv = (names: string[]) => `id,name\n${names.map((n, i) => `${i},${/[",\n\r]/.test(n) ? `"${n.replace(/"/g, '""')}"` : n}`).join('\n')}\n`;

function cardFiles(to: ExportFormat, m: Manifest, files: ExportedFile[], manifestSha256: string): CardFiles {
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  const provenance = `Exported by \`snapmix export\` from the release whose manifest.json has sha256 \`${manifestSha256}\`; \`sha256sum -c ${SUMS_FILE}\` checks every file.`;
  if (to === 'parquet') {
    return {
      glob: 'data-*.parquet', bytes, kind: 'Parquet files (Snappy; the `huggingface` features kept in the file metadata)', provenance,
      load: [
        'from datasets import load_dataset',
        'ds = load_dataset("parquet", data_files="data-*.parquet", split="train")',
        '# DuckDB, class names from classes.csv (id,name): select c.name, avg(d.weight_a) from \'data-*.parquet\' d join \'classes.csv\' c on d.label_a = c.id group by 1',
        '# polars: pl.scan_parquet("data-*.parquet")',
      ].join('\n'),
    };
  }
  const last = String(Math.max(0, files.length - 1)).padStart(6, '0');
  const ext = m.config.format === 'jpeg' ? 'jpg' : m.config.format;
  return {
    glob: 'shard-*.tar', bytes, kind: `WebDataset tars (per sample KEY.${ext} and KEY.json; KEY = the sample index)`, provenance,
    load: [
      'import webdataset as wds',
      `ds = wds.WebDataset("shard-{000000..${last}}.tar").decode("pil").to_tuple("${ext}", "json")`,
      '# or: load_dataset("webdataset", data_files="shard-*.tar", split="train")',
    ].join('\n'),
  };
}

export async function exportRelease(o: {
  release: string; to: ExportFormat; out: string; overwrite: boolean; rowGroupBytes?: number;
  log?: (l: string) => void; onProgress?: (done: number, total: number) => void;
}): Promise<ExportResult> {
  const t0 = Date.now();
  const rowGroupBytes = o.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES;
  const m = await readManifest(o.release);
  const { manifestSha256 } = await verifyDirectory(o.release, { allowEmpty: true }).catch((e: Error) => {
    throw new UserError(`${o.release} is not exported: it fails verification (${e.message.split('\n').slice(1, 3).map((l) => l.trim()).join('; ')}); regenerate it or fetch it again`);
  });
  return withOutput({ out: o.out, kind: 'export', command: `export --to ${o.to}`, reads: [{ flag: 'RELEASE', path: o.release }], overwrite: o.overwrite }, async (out) => {
    // The request is recorded before any file, so a killed export is recognised as this one on rerun.
    const request = { to: o.to, manifest_sha256: manifestSha256, row_group_bytes: o.to === 'parquet' ? rowGroupBytes : null };
    const requestFile = path.join(o.out, STATE_DIR, 'export-request.json');
    // An earlier export here (ours) is replaced: its files are a function of the release, redone cheaply.
    // Only snapmix's own files go; a user's LICENSE or .git stays.
    if (out.state === 'ours') {
      const prev = await fs.readFile(requestFile, 'utf8').then((t) => JSON.parse(t) as typeof request, () => undefined);
      const finished = JSON.parse(await fs.readFile(path.join(o.out, EXPORT_RECORD), 'utf8').catch(() => 'null')) as { to?: string; release?: { manifest_sha256?: string } } | null;
      const recorded = prev ?? (finished ? { to: finished.to, manifest_sha256: finished.release?.manifest_sha256 } : undefined);
      const diff = recorded ? requestDifferences(recorded as never, (prev ? request : { to: request.to, manifest_sha256: request.manifest_sha256 }) as never) : [];
      if (diff.length && !o.overwrite) throw new UserError(`--out ${o.out} holds an export of another release or format (${diff.join('; ')}); pass --overwrite to replace it or choose another directory`);
      await out.clear();
    }
    await fs.mkdir(path.dirname(requestFile), { recursive: true });
    await writeFileAtomic(requestFile, JSON.stringify(request) + '\n');
    const ext = m.config.format === 'jpeg' ? 'jpg' : m.config.format;
    const files: ExportedFile[] = [];
    for (const [k, s] of m.shards.entries()) {
      const ipc = await fs.readFile(path.join(o.release, s.filename));
      const filename = o.to === 'parquet' ? parquetName(s.filename) : tarName(k);
      const bytes = o.to === 'parquet' ? arrowToParquet(ipc, s.rows, rowGroupBytes) : await arrowToTar(ipc, m.class_names, ext);
      const w = await writeFileAtomic(path.join(o.out, filename), bytes);
      files.push({ filename, from: s.filename, rows: s.rows, ...w });
      o.onProgress?.(k + 1, m.shards.length);
    }
    // SQL readers get the class names as a table (id,name) instead of parsing key-value metadata.
    const classes = o.to === 'parquet' ? await writeFileAtomic(path.join(o.out, CLASSES_FILE), classesCsv(m.class_names)) : undefined;
    await writeFileAtomic(path.join(o.out, SUMS_FILE), [...files, ...(classes ? [{ ...classes, filename: CLASSES_FILE }] : [])].map((f) => `${f.sha256}  ${f.filename}\n`).join(''));
    await writeFileAtomic(path.join(o.out, EXPORT_RECORD), JSON.stringify({
      format: 'snapmix-export', version: 1, to: o.to, row_group_bytes: o.to === 'parquet' ? rowGroupBytes : undefined,
      release: { request: m.request, manifest_sha256: manifestSha256 }, files,
      ...(classes ? { classes: { filename: CLASSES_FILE, ...classes } } : {}),
    }, null, 2) + '\n');
    await writeFileAtomic(path.join(o.out, CARD_FILE), renderCard(m, manifestSha256, cardFiles(o.to, m, files, manifestSha256)));
    return { files, manifestSha256, seconds: (Date.now() - t0) / 1000 };
  });
}
