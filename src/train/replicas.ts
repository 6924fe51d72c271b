// The main thread's side of data-parallel training (--train-workers N): N replica workers
// (src/pool/train-worker.ts) start from the main model and optimizer, each step gets one contiguous
// micro-batch per replica, and at the end of an epoch replica 0's weights and optimizer state come back
// into the main model (for evaluation, saving and checkpoints). The main thread only coordinates.
import { Piscina } from 'piscina';
import * as tf from '@tensorflow/tfjs';
import { workerUrl } from '../pool/pools.js';
import type { Recipe } from './recipe.js';
import type { Batch } from './loop.js';
import { CTL_ABORT } from '../util/barrier.js';

export interface ReplicaInit {
  rank: number;
  ranks: number;
  artifacts: tf.io.ModelArtifacts;
  optimizer: { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } | null;
  recipe: Recipe;
  size: number;
  numClasses: number;
  params: number;
  bnLen: number;
  ctl: SharedArrayBuffer;
  gradSlab: SharedArrayBuffer;
  bnSlab: SharedArrayBuffer;
  /** Two batch slots (x rows, then target rows), written by the main thread, read by every replica. */
  batchSlab: SharedArrayBuffer;
  /** Per trainable weight, a factor for its summed gradient (fine-tuning's backbone learning rate). */
  gradScales?: number[];
}

export type ReplicaRequest =
  /** Rows lo..lo+n of the batch in slot `slot` of the batch slab (x and t sent instead when a batch outgrows it). */
  | { type: 'step'; slot: number; lo: number; n: number; total: number; active: number; lr: number; x?: Float32Array; t?: Float32Array }
  | { type: 'pull' }
  | { type: 'ping' };

export type ReplicaReply =
  | { type: 'ready' }
  | { type: 'step'; loss: number; pred: Int32Array }
  /** values: every model weight, in model.weights order, end to end. */
  | { type: 'pull'; values: Float32Array; optimizer: { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } }
  ;

async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  return artifacts!;
}

/**
 * Rows of micro-batch r of n rows split over R replicas: contiguous, sizes differing by at most one, the
 * larger ones first, so with n < R the replicas holding rows are exactly ranks 0..n−1 (rank 0, which
 * adds the weight decay and is pulled from, always has rows).
 */
export function microBatch(n: number, r: number, R: number): [number, number] {
  const q = Math.floor(n / R);
  const extra = n % R;
  const lo = r * q + Math.min(r, extra);
  return [lo, lo + q + (r < extra ? 1 : 0)];
}

export class Replicas {
  private failed: Error | undefined;

  private steps = 0;

  private constructor(
    private readonly pools: Piscina[],
    private readonly ctl: Int32Array,
    private readonly batch: Float32Array,
    private readonly o: { size: number; numClasses: number },
  ) {}

  /** A replica failed: release the others from their barriers and fail every later call. */
  private fail(e: Error): never {
    this.failed ??= e;
    Atomics.store(this.ctl, CTL_ABORT, 1);
    for (const at of [2, 4]) Atomics.notify(this.ctl, at);
    throw this.failed;
  }

  private async call(r: number, m: ReplicaRequest, transferList: ArrayBuffer[] = []): Promise<ReplicaReply> {
    if (this.failed) throw this.failed;
    try {
      return (await this.pools[r].run(m, { transferList })) as ReplicaReply;
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Start n replicas of model with optimizer's state (a resumed optimizer carries its slots over). */
  static async start(o: { model: tf.LayersModel; optimizer: tf.Optimizer; recipe: Recipe; n: number; size: number; numClasses: number; gradScales?: number[] }): Promise<Replicas> {
    const artifacts = await modelArtifacts(o.model);
    const optWeights = await o.optimizer.getWeights();
    const optimizer = optWeights.length ? await tf.io.encodeWeights(optWeights).then(({ data, specs }) => ({ data, specs })) : null;
    const params = o.model.trainableWeights.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);
    const bnChannels = Math.max(1, ...o.model.layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => l.getWeights()[0]?.shape.at(-1) ?? 1));
    const bnLen = 2 * bnChannels + 1;
    const ctlBuf = new SharedArrayBuffer(8 * Int32Array.BYTES_PER_ELEMENT);
    const gradSlab = new SharedArrayBuffer(2 * o.n * params * 4);
    const bnSlab = new SharedArrayBuffer(2 * o.n * bnLen * 4);
    // Two slots, since at most two steps are in flight (loop.ts queues step b+1, then waits for step b).
    const batchSlab = new SharedArrayBuffer(2 * o.recipe.batchSize * (o.size * o.size * 3 + o.numClasses) * 4);
    // One single-thread pool per replica: its tasks always reach the same worker, which keeps the replica.
    const pools = Array.from({ length: o.n }, (_, rank) => new Piscina({
      // Two tasks per worker: the next step is already in the worker's queue when this one ends (loop.ts).
      filename: workerUrl('train-worker'), minThreads: 1, maxThreads: 1, idleTimeout: Infinity, concurrentTasksPerWorker: 2,
      workerData: { rank, ranks: o.n, artifacts, optimizer, recipe: o.recipe, size: o.size, numClasses: o.numClasses, params, bnLen, ctl: ctlBuf, gradSlab, bnSlab, batchSlab, gradScales: o.gradScales } satisfies ReplicaInit,
    }));
    const reps = new Replicas(pools, new Int32Array(ctlBuf), new Float32Array(batchSlab), o);
    try {
      await Promise.all(pools.map((_, r) => reps.call(r, { type: 'ping' })));
    } catch (e) {
      await reps.close();
      throw e;
    }
    return reps;
  }

  get size(): number {
    return this.pools.length;
  }

  /**
   * One optimizer step on batch b: each replica its micro-batch; loss and predictions in row order. The
   * batch goes once into a shared slot (alternating, as at most two steps are in flight: the caller
   * awaits step b before it starts step b+2); each replica reads its own rows from there.
   */
  async step(b: Batch, lr: number): Promise<{ loss: number; pred: Int32Array }> {
    const R = this.pools.length;
    const S = this.o.size * this.o.size * 3;
    const C = this.o.numClasses;
    const active = Math.min(R, b.n);
    const slotLen = this.batch.length / 2;
    const slot = this.steps++ & 1;
    const shared = b.n * (S + C) <= slotLen;
    if (shared) {
      this.batch.set(b.x.subarray(0, b.n * S), slot * slotLen);
      this.batch.set(b.targets.subarray(0, b.n * C), slot * slotLen + b.n * S);
    }
    const replies = await Promise.all(this.pools.map((_, r) => {
      const [lo, hi] = microBatch(b.n, r, R);
      const m: ReplicaRequest = { type: 'step', slot, lo, n: hi - lo, total: b.n, active, lr };
      if (shared) return this.call(r, m);
      const x = b.x.slice(lo * S, hi * S);
      const t = b.targets.slice(lo * C, hi * C);
      return this.call(r, { ...m, x, t }, [x.buffer, t.buffer]);
    }));
    const pred = new Int32Array(b.n);
    let loss = 0;
    replies.forEach((m, r) => {
      if (m.type !== 'step') return;
      loss += m.loss; // partial losses in rank order
      pred.set(m.pred, microBatch(b.n, r, R)[0]);
    });
    return { loss, pred };
  }

  /** Replica 0's weights and optimizer state into model and optimizer (all replicas hold the same). */
  async pull(model: tf.LayersModel, optimizer: tf.Optimizer): Promise<void> {
    const m = await this.call(0, { type: 'pull' });
    if (m.type !== 'pull') throw new Error('training replica 0 did not return its weights');
    let at = 0;
    const values = model.weights.map((w) => {
      const size = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
      const t = tf.tensor(m.values.subarray(at, at + size), w.shape as number[]);
      at += size;
      return t;
    });
    if (at !== m.values.length) throw new Error(`training replica 0 returned ${m.values.length} weight values, the model has ${at}`);
    model.setWeights(values);
    const om = tf.io.decodeWeights(m.optimizer.data, m.optimizer.specs);
    // Optimizer slots are matched by position (the order of the trainable weights), not by name.
    await optimizer.setWeights(m.optimizer.specs.map((s) => ({ name: s.name, tensor: om[s.name] })));
    tf.dispose(values);
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.destroy()));
  }
}
