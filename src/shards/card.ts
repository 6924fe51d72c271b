// The dataset card (OUT/README.md): a Hugging Face dataset card rendered from the manifest alone, so it
// is deterministic (no clock, no machine path), `verify` can re-render and compare it, and an export
// renders the same card pointing at its own files.
import { recordedFit } from '../image/decode.js';
import { stringify } from 'yaml';
import type { Manifest, TeacherAgreement } from './manifest-types.js';
import { hfFeatures } from './schema.js';
import { sameLabelLine, shiftLine, summarise, weightTable, type MethodSummary } from './summary.js';

export const CARD_FILE = 'README.md';
export const DEFAULT_LICENSE = 'unknown';

const SNAPMIX_BIBTEX = `@inproceedings{huang2021snapmix,
  title     = {SnapMix: Semantically Proportional Mixing for Augmenting Fine-grained Data},
  author    = {Huang, Shaoli and Wang, Xinchao and Tao, Dacheng},
  booktitle = {Proceedings of the AAAI Conference on Artificial Intelligence},
  volume    = {35},
  number    = {2},
  pages     = {1628--1636},
  year      = {2021}
}`;

function defaultTitle(m: Pick<Manifest, 'config' | 'dataset'>): string {
  const c = m.config;
  return `SnapMix-augmented ${m.dataset.format} dataset (${c.method}, ${c.rounds} round${c.rounds > 1 ? 's' : ''}, ${c.size} px)`;
}

/** HF features (the dataset_info.json form) in the card's YAML form (datasets' Features._to_yaml_list). */
function yamlFeatures(features: Record<string, unknown>): unknown[] {
  const inner = (f: Record<string, unknown>): Record<string, unknown> => {
    switch (f._type) {
      case 'Value': return { dtype: f.dtype };
      case 'Image': return { dtype: 'image' };
      case 'ClassLabel': return { dtype: { class_label: { names: Object.fromEntries((f.names as string[]).map((n, i) => [String(i), n])) } } };
      case 'Sequence': return { sequence: (f.feature as { dtype: string }).dtype, length: f.length };
      default: throw new Error(`no card form for feature type ${String(f._type)}`);
    }
  };
  return Object.entries(features).map(([name, f]) => ({ name, ...inner(f as Record<string, unknown>) }));
}

function sizeCategory(n: number): string {
  const bands: [number, string][] = [[1e3, 'n<1K'], [1e4, '1K<n<10K'], [1e5, '10K<n<100K'], [1e6, '100K<n<1M'], [1e7, '1M<n<10M']];
  return bands.find(([b]) => n < b)?.[1] ?? 'n>10M';
}

/** The flags that reproduce the config, every one spelled out (defaults may change between versions). */
function configFlags(c: Manifest['config']): string {
  return [
    `--method ${c.method}`, `--rounds ${c.rounds}`, `--size ${c.size}`, `--resize ${c.resize}`, `--fit ${recordedFit(c.fit)}`, `--crop ${c.crop}`, c.flip ? '--flip' : '--no-flip',
    `--beta ${c.beta}`, `--prob ${c.prob}`, `--seed ${c.seed}`, `--shard-size ${c.shardSize}`, `--format ${c.format}`, `--quality ${c.quality}`,
    ...(c.partner ? [`--partner ${c.partner}`] : []),
  ].join(' ');
}

export interface CardFiles {
  /** Glob of the data files, relative to the card (HF `configs`). */
  glob: string;
  /** Total bytes of those files. */
  bytes: number;
  /** What the files are, for the body (e.g. "Arrow IPC stream shards"). */
  kind: string;
  /** Python that loads them. */
  load: string;
  /** For a copy in another format (an export): where it came from and how to check it, instead of verify/reproduce. */
  provenance?: string;
}

function arrowFiles(m: Manifest): CardFiles {
  return {
    glob: 'data-*.arrow',
    bytes: m.shards.reduce((a, s) => a + s.bytes, 0),
    kind: 'Arrow IPC stream shards in the `datasets` save_to_disk layout',
    load: 'from datasets import load_from_disk\nds = load_from_disk(".")  # or: load_dataset("arrow", data_files="data-*.arrow", split="train")' +
      // Format ≥ 4 cards say how to read one round per epoch without writing into the release (ds.filter
      // would put cache-*.arrow files here, which verify refuses); older cards re-render as written.
      (m.format_version >= 4 && m.config.rounds > 1
        ? `\n# one round per epoch: rows are in index order, so a round is one contiguous range of rows, and selecting\n# a range writes nothing into this directory (ds.filter would write cache-*.arrow files here)\nimport bisect\nrounds = ds["round"]\nepoch_ds = ds.select(range(bisect.bisect_left(rounds, epoch % ${m.config.rounds}), bisect.bisect_right(rounds, epoch % ${m.config.rounds})))`
        : ''),
  };
}

function auditLines(methods: Record<string, MethodSummary>): string[] {
  const lines = Object.entries(methods).flatMap(([k, x]) => [shiftLine(k, x), sameLabelLine(k, x)]).filter((l): l is string => !!l);
  return lines.length ? ['', ...lines.map((l) => `- ${l}`)] : [];
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const agreementLine = (a: TeacherAgreement) => `top-1 ${pct(a.top1)} of the images (chance ${pct(a.chance)}), mean p(label) ${a.mean_p_true.toFixed(3)}`;

/** The card for manifest m (manifestSha256: its file's sha256, for `verify --manifest-sha256`). */
export function renderCard(m: Manifest, manifestSha256: string, files: CardFiles = arrowFiles(m)): string {
  const c = m.config;
  const title = m.release?.title ?? defaultTitle(m);
  const front = {
    license: m.release?.license ?? DEFAULT_LICENSE,
    pretty_name: title,
    task_categories: ['image-classification'],
    tags: ['snapmix', 'data-augmentation', 'fine-grained', 'soft-labels'],
    size_categories: [sizeCategory(m.counts.written)],
    dataset_info: {
      features: yamlFeatures(hfFeatures(m.class_names)),
      splits: [{ name: 'train', num_bytes: files.bytes, num_examples: m.counts.written }],
      download_size: files.bytes,
      dataset_size: files.bytes,
    },
    configs: [{ config_name: 'default', data_files: [{ split: 'train', path: files.glob }] }],
  };
  const counts = m.counts;
  const reasons = (o: Record<string, number>) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const teacher = m.teacher ? `\`${m.teacher.fingerprint}\`` : 'none (this method needs no CAMs)';
  const cams = c.method === 'snapmix' ? '--teacher TEACHER' : '';
  const here = files.provenance ? 'RELEASE' : '.'; // an export's card points back at the release
  const body = [
    `# ${title}`,
    '',
    `Training samples pre-generated offline by snapmix (offline SnapMix augmentation) with **${c.method}** from the`,
    `training split of a dataset in ${m.dataset.format} layout: ${m.dataset.sources} source images in ${m.class_names.length} classes. Each row is one image with two`,
    'labels and their weights: `soft_label = weight_a·onehot(label_a) + weight_b·onehot(label_b)`. SnapMix weights',
    'come from the teacher\'s class activation maps (the semantic share of each image in the mix), so they need not',
    'sum to 1; CutMix and Mixup weights are the area and blend ratios.',
    '',
    `Files: ${m.shards.length} ${files.kind} (\`${files.glob}\`), ${counts.written} rows.`,
    '',
    '## How it was made',
    '',
    '| | |',
    '|---|---|',
    `| method | ${c.method} |`,
    `| rounds (samples per source) | ${c.rounds} |`,
    `| image | ${c.size} px ${c.format}${c.format === 'png' ? '' : ` q${c.quality}`}, views cropped (${c.crop}) from sources resized to ${c.resize}×${c.resize} px${c.flip ? ', random flips' : ''} |`,
    `| fit (photo → square) | ${recordedFit(c.fit) === 'fill' ? 'fill: the whole photo squashed to the square' : 'cover: shorter side scaled, centre square cut'} |`,
    `| Beta(β, β) | β = ${c.beta}, mixing probability ${c.prob} |`,
    `| partner | ${c.partner === 'other-class' ? 'a source of another class' : 'any other source (the official rule)'} |`,
    `| seed | ${c.seed} |`,
    `| dataset fingerprint | \`${m.dataset.fingerprint}\` |`,
    `| teacher fingerprint | ${teacher} |`,
    // Format ≥ 4 only: an older card re-renders exactly as it was written.
    ...(m.teacher?.agreement ? [`| teacher against the labels (CAM pass) | ${agreementLine(m.teacher.agreement)} |`] : []),
    ...(m.generator ? [`| made with | snapmix ${m.generator.snapmix}${m.generator.cam_backend ? `, CAMs computed by ${m.generator.cam_backend}` : ''} |`] : []),
    `| request | \`${m.request}\` |`,
    `| manifest.json sha256 | \`${manifestSha256}\` |`,
    '',
    'Resolved config (manifest.json `config`):',
    '',
    '```json',
    JSON.stringify(c, null, 2),
    '```',
    '',
    '## Counts',
    '',
    `Planned ${counts.planned} (${m.dataset.sources} sources × ${c.rounds} round${c.rounds > 1 ? 's' : ''}), written ${counts.written}, skipped ${counts.skipped} (${reasons(counts.skipped_by_reason)});`,
    `rejected sources ${counts.rejected_sources} (${reasons(counts.rejected_by_reason)}). Planned by method: ${reasons(counts.by_method)}.`,
    '',
    '## Label weights',
    '',
    ...weightTable(summarise(m.label_weights ?? {})),
    // Format ≥ 4 manifests carry the audit: how far the labels are from area labels, and same-label rows.
    ...auditLines(summarise(m.label_weights ?? {})),
    '',
    '## Check and reproduce',
    '',
    ...(files.provenance ? [files.provenance, 'RELEASE below is the release directory (Arrow shards and manifest.json) this was exported from.', ''] : []),
    'Integrity (every shard\'s sha256, layout, plan replay and counts), with the manifest sha256 above:',
    '',
    '```sh',
    `snapmix verify ${here} --manifest-sha256 ${manifestSha256}`,
    '```',
    '',
    `Regenerate from the same data${m.teacher ? ' and teacher' : ''} (DATA: the dataset with the fingerprint above${m.teacher ? '; TEACHER: the teacher with the teacher fingerprint' : ''}), shard by shard against the manifest:`,
    '',
    '```sh',
    `snapmix reproduce ${here} --data DATA ${cams}`.trimEnd(),
    `snapmix generate --data DATA ${cams} ${configFlags(c)} --out OUT`.replace(/ {2,}/g, ' '),
    '```',
    '',
    '## Loading',
    '',
    '```python',
    files.load,
    '```',
    '',
    '## Citation',
    '',
    '```bibtex',
    SNAPMIX_BIBTEX,
    '```',
    '',
  ];
  return `---\n${stringify(front, { lineWidth: 0 })}---\n\n${body.join('\n')}`;
}
