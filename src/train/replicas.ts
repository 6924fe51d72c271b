// The main thread's side of data-parallel training (--train-workers N): N replica workers
// (src/train/replica-worker.ts) start from the main model and optimizer, each step gets one contiguous
// micro-batch per replica, and at the end of an epoch replica 0's weights and optimizer state come back
// into the main model (for evaluation, saving and checkpoints). The main thread only coordinates.
import { Piscina } from 'piscina';
import * as tf from '@tensorflow/tfjs';
import { workerUrl } from '../pool/pools.js';
import type { Recipe } from './recipe.js';
import type { Batch } from './batch.js';
import { abortAll } from '../util/barrier.js';
import { queueBuffers, StepQueue, type QueueBuffers } from '../util/step-queue.js';

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
  /** The step queue (src/util/step-queue.ts). */
  queue: QueueBuffers;
  /** Per trainable weight, a factor for its summed gradient (fine-tuning's backbone learning rate). */
  gradScales?: number[];
}

export type ReplicaRequest =
  /** Run the step queue's commands after number `from` until a stop command. */
  | { type: 'run'; from: number }
  | { type: 'pull' }
  | { type: 'ping' };

export type ReplicaReply =
  | { type: 'ready' }
  | { type: 'stopped' }
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

  /** The replicas' run tasks while they serve the step queue (one epoch), else undefined. */
  private running: Promise<unknown> | undefined;

  private constructor(
    private readonly pools: Piscina[],
    private readonly ctl: Int32Array,
    private readonly batch: Float32Array,
    private readonly queue: StepQueue,
    private readonly o: { size: number; numClasses: number; maxRows: number },
  ) {}

  /** A replica failed: release the others from their barriers and fail every later call. */
  private fail(e: Error): never {
    this.failed ??= e;
    abortAll(this.ctl);
    this.queue.wake();
    throw this.failed;
  }

  private async call(r: number, m: ReplicaRequest): Promise<ReplicaReply> {
    if (this.failed) throw this.failed;
    try {
      return (await this.pools[r].run(m)) as ReplicaReply;
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
    const queue = queueBuffers(o.n, o.recipe.batchSize);
    // One single-thread pool per replica: its tasks always reach the same worker, which keeps the replica.
    const pools = Array.from({ length: o.n }, (_, rank) => new Piscina({
      filename: workerUrl('replica-worker', import.meta.url), minThreads: 1, maxThreads: 1, idleTimeout: Infinity,
      workerData: { rank, ranks: o.n, artifacts, optimizer, recipe: o.recipe, size: o.size, numClasses: o.numClasses, params, bnLen, ctl: ctlBuf, gradSlab, bnSlab, batchSlab, queue, gradScales: o.gradScales } satisfies ReplicaInit,
    }));
    const reps = new Replicas(pools, new Int32Array(ctlBuf), new Float32Array(batchSlab), new StepQueue(queue), { ...o, maxRows: o.recipe.batchSize });
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
   * batch goes once into a shared slot and the step into the step queue (at most QUEUE_DEPTH steps in
   * flight: the caller awaits step b before it starts step b+2); the replicas, running the queue since
   * the epoch's first step, start it as soon as they finish the one before.
   */
  async step(b: Batch, lr: number): Promise<{ loss: number; pred: Int32Array }> {
    if (this.failed) throw this.failed;
    const S = this.o.size * this.o.size * 3;
    const C = this.o.numClasses;
    if (b.n > this.o.maxRows) throw new Error(`a batch of ${b.n} rows exceeds the replicas' ${this.o.maxRows}`);
    if (!this.running) {
      const from = this.queue.posted;
      this.running = Promise.all(this.pools.map((_, r) => this.call(r, { type: 'run', from })));
      this.running.catch(() => {}); // a failure is reported to the step waiting on the queue
    }
    const slotLen = this.batch.length / 2;
    const slot = (this.queue.posted + 1) & 1;
    this.batch.set(b.x.subarray(0, b.n * S), slot * slotLen);
    this.batch.set(b.targets.subarray(0, b.n * C), slot * slotLen + b.n * S);
    const seq = this.queue.post({ kind: 'step', slot, total: b.n, active: Math.min(this.pools.length, b.n), lr });
    return this.queue.wait(seq, b.n, () => this.failed);
  }

  /** End the replicas' run tasks (between epochs), so that they take other tasks again. */
  private async stop(): Promise<void> {
    if (!this.running) return;
    this.queue.post({ kind: 'stop' });
    const running = this.running;
    this.running = undefined;
    await running;
  }

  /** Replica 0's weights and optimizer state into model and optimizer (all replicas hold the same). */
  async pull(model: tf.LayersModel, optimizer: tf.Optimizer): Promise<void> {
    await this.stop();
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
    if (!this.failed) await this.stop().catch(() => {});
    await Promise.all(this.pools.map((p) => p.destroy()));
  }
}
