// Training batches streamed from shards: shard files in a seeded order per epoch, a seeded shuffle
// buffer across them (memory bounded by the buffer, not the number of shards), decoding in the
// piscina pool one batch ahead of the training step.
import { promises as fs } from 'node:fs';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import type { Piscina } from 'piscina';
import { Rng } from '../util/rng.js';
import type { Batch, BatchSource } from './loop.js';
import type { ShardSet } from './shard-set.js';
import type { DecodeTask } from '../pool/tasks.js';
import { UserError } from '../util/errors.js';
import { softLabel } from '../mix/labels.js';

interface Row { image: Uint8Array; la: number; lb: number; wa: number; wb: number; where: string }

/** Epoch e of a set read with --epoch-rounds: round e mod R only (one pass over the sources per epoch). */
const roundOf = (set: ShardSet, epoch: number): number => epoch % set.rounds!.count;

const num = (v: unknown) => (typeof v === 'bigint' ? Number(v) : (v as number));

/** The rows of one file (of one round), less those that mix in an excluded source (held out for validation). */
async function* rowsOf(file: string, round?: number, exclude?: Set<string>): AsyncGenerator<Row> {
  const reader = RecordBatchReader.from(await fs.readFile(file));
  let r = 0;
  for (const batch of reader as Iterable<RecordBatch>) {
    const img = batch.getChild('image')!.getChild('bytes')!;
    const [la, lb, wa, wb] = ['label_a', 'label_b', 'weight_a', 'weight_b'].map((c) => batch.getChild(c)!);
    const rounds = round === undefined ? undefined : batch.getChild('round')!;
    const [sa, sb] = exclude ? ['source_a', 'source_b'].map((c) => batch.getChild(c)!) : [];
    for (let i = 0; i < batch.numRows; i++, r++) {
      if (rounds && num(rounds.get(i)) !== round) continue;
      if (exclude && (exclude.has(sa!.get(i)) || exclude.has(sb!.get(i)))) continue;
      // A copy of the row's bytes: a view would pin the whole shard in the shuffle buffer and clone all of it to the worker.
      yield { image: (img.get(i) as Uint8Array).slice(), la: num(la.get(i)), lb: num(lb.get(i)), wa: wa.get(i), wb: wb.get(i), where: `${file} row ${r}` };
    }
  }
}

/** Remove and return a uniformly chosen element (swap with the last, pop): O(1). */
function popRandom<T>(buffer: T[], rng: Rng): T {
  const j = rng.int(0, buffer.length - 1);
  const chosen = buffer[j];
  buffer[j] = buffer[buffer.length - 1];
  buffer.pop();
  return chosen;
}

export interface ShardSourceOptions {
  sets: ShardSet[];
  numClasses: number;
  size: number;
  batchSize: number;
  seed: number;
  bufferSize: number;
  pre: { mean: number[]; std: number[] };
  pool: Piscina;
  /** Epoch e reads only round e mod R of each set (snapmix outputs; see ShardSet.rounds). */
  epochRounds?: boolean;
  /** Sources held out for validation: rows that mix one in are skipped (counted by keptRows). */
  exclude?: { ids: Set<string>; kept: KeptRows };
}

/** Rows left per set (and per round of it) once the rows mixing in an excluded source are dropped. */
export type KeptRows = Map<ShardSet, { all: number; byRound: number[] }>;

/** One pass over the shards counting what an exclusion keeps, so progress and the schedule stay exact. */
export async function keptRows(sets: ShardSet[], ids: Set<string>): Promise<KeptRows> {
  const out: KeptRows = new Map();
  for (const s of sets) {
    const byRound = new Array<number>(s.rounds?.count ?? 1).fill(0);
    let all = 0;
    for (const file of s.files) {
      const reader = RecordBatchReader.from(await fs.readFile(file));
      for (const batch of reader as Iterable<RecordBatch>) {
        const [sa, sb, round] = ['source_a', 'source_b', 'round'].map((c) => batch.getChild(c)!);
        for (let i = 0; i < batch.numRows; i++) {
          if (ids.has(sa.get(i)) || ids.has(sb.get(i))) continue;
          all++;
          if (s.rounds) byRound[num(round.get(i)) % s.rounds.count]++;
        }
      }
    }
    out.set(s, { all, byRound });
  }
  return out;
}

export function shardSource(o: ShardSourceOptions): BatchSource {
  if (o.epochRounds) {
    const bad = o.sets.find((s) => !s.rounds);
    if (bad) throw new UserError(`--epoch-rounds needs snapmix outputs (manifest.json records the rounds); ${bad.dir} has none`);
  }
  // Rows an epoch reads: all of them, or with --epoch-rounds the largest round's (for progress and schedule).
  const rowsOfRound = (s: ShardSet, r: number) => (o.exclude ? o.exclude.kept.get(s)!.byRound[r] : s.rounds!.rows[r]);
  const total = o.epochRounds
    ? Math.max(...Array.from({ length: Math.max(...o.sets.map((s) => s.rounds!.count)) }, (_, e) => o.sets.reduce((a, s) => a + rowsOfRound(s, roundOf(s, e)), 0)))
    : o.sets.reduce((a, s) => a + (o.exclude ? o.exclude.kept.get(s)!.all : s.rows), 0);
  /** The files of epoch e, each with the round to keep (undefined: every row). */
  const filesOf = (epoch: number): { file: string; round?: number }[] => o.sets.flatMap((s) => {
    if (!o.epochRounds) return s.files.map((file) => ({ file }));
    const r = roundOf(s, epoch);
    const [lo, hi] = [r * s.rounds!.sources, (r + 1) * s.rounds!.sources - 1];
    return s.files.filter((_, k) => s.rounds!.ranges[k][0] <= hi && s.rounds!.ranges[k][1] >= lo).map((file) => ({ file, round: r }));
  });
  const C = o.numClasses;
  const makeBatch = (rows: Row[]): { task: DecodeTask; targets: Float32Array; labels: Int32Array } => {
    const targets = new Float32Array(rows.length * C);
    const labels = new Int32Array(rows.length);
    rows.forEach((r, i) => {
      targets.set(softLabel(C, r.la, r.lb, { weightA: r.wa, weightB: r.wb }), i * C);
      labels[i] = r.wa >= r.wb ? r.la : r.lb;
    });
    return { task: { images: rows.map((r) => r.image), where: rows.map((r) => r.where), size: o.size, mean: o.pre.mean, std: o.pre.std }, targets, labels };
  };
  return {
    size: o.size,
    numClasses: C,
    batchesPerEpoch: Math.ceil(total / o.batchSize),
    async *epoch(epoch: number): AsyncGenerator<Batch> {
      const order = new Rng(o.seed, 'shard-order', epoch).shuffle(filesOf(epoch));
      const pick = new Rng(o.seed, 'shuffle-buffer', epoch);
      const buffer: Row[] = [];
      let pending: Row[] = [];
      const inflight: Promise<Batch>[] = [];
      const submit = (rows: Row[]) => {
        const b = makeBatch(rows);
        inflight.push(o.pool.run(b.task).then((x: Float32Array) => ({ x, targets: b.targets, labels: b.labels, n: rows.length })));
      };
      const take = (row: Row) => {
        pending.push(row);
        if (pending.length === o.batchSize) {
          submit(pending);
          pending = [];
        }
      };
      for (const f of order) {
        for await (const row of rowsOf(f.file, f.round, o.exclude?.ids)) {
          buffer.push(row);
          if (buffer.length < o.bufferSize) continue;
          take(popRandom(buffer, pick));
          // Keep at most two decoded batches ahead of training.
          while (inflight.length > 2) yield await inflight.shift()!;
        }
      }
      while (buffer.length) {
        take(popRandom(buffer, pick));
        while (inflight.length > 2) yield await inflight.shift()!;
      }
      if (pending.length) submit(pending);
      while (inflight.length) yield await inflight.shift()!;
    },
  };
}
