// A data-parallel training replica (one worker thread, its own wasm runtime): computes the gradient of
// its micro-batch, all-reduces it with the other replicas through shared memory in rank order, and
// applies the sum with its own optimizer. Every replica applies the same bits, so all stay identical;
// BatchNorm uses whole-batch statistics (src/train/sync-bn.ts).
import { workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../model/backend.js';
import { makeOptimizer, setLr } from './loop.js';
import { stepLoss } from './loss.js';
import { fastBatchNorm } from './sync-bn.js';
import '../model/midlevel.js'; // registers the mid-level head's custom layer, so --midlevel models load here too
import { plainConvolutions } from './plain-conv.js';
import { abortAll, AllReduce } from '../util/barrier.js';
import { StepInbox, wakeQueue } from '../util/step-queue.js';
import { momentumFromWeights, momentumStepSummed, momentumToWeights, summedGradient, type MomentumState, type Segment } from './momentum.js';
import { microBatch, type ReplicaInit, type ReplicaReply, type ReplicaRequest } from './replicas.js';

// One replica per single-thread piscina pool (src/train/replicas.ts): the pool's workerData is the
// replica's init, and its state lives in this module between tasks.
const init = workerData as ReplicaInit;
const ctl = new Int32Array(init.ctl);

interface Step { slot: number; lo: number; n: number; total: number; active: number; lr: number }

/** This thread's replica: its model, its optimizer state and its two all-reduces (gradients, BatchNorm). */
class Replica {
  /** Replicas with rows in the current step (a last batch smaller than the replica count leaves some out). */
  private parties = init.ranks;
  private readonly grads = new AllReduce(new Float32Array(init.gradSlab), ctl, 3, init.rank, init.ranks, init.params);
  private readonly bn = new AllReduce(new Float32Array(init.bnSlab), ctl, 1, init.rank, init.ranks, init.bnLen);
  private readonly batch = new Float32Array(init.batchSlab);
  private readonly local = new Float32Array(init.params);
  private readonly sum = new Float32Array(init.params);
  private readonly vars: tf.Variable[];
  private readonly segments: Segment[];
  /** SGD with momentum: a flat copy of the weights and the momentum slots (src/train/momentum.ts, tf.train.momentum's bits). */
  private readonly flat?: Float32Array;
  private readonly state?: MomentumState;

  private constructor(private readonly model: tf.LayersModel, private readonly opt: tf.Optimizer) {
    fastBatchNorm(model, init.ranks > 1 ? { reduce: this.bn, parties: () => this.parties } : undefined);
    plainConvolutions(model);
    this.vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    // Per weight: weight decay for the kernels (as stepLoss decays them in process), and the fine-tuning
    // factor. Weight decay, d(½·wd·Σw²)/dw = wd·w, goes into the summed gradient by every replica alike
    // (the weights are the same bits everywhere); inside rank 0's backward pass it made rank 0 the slowest
    // at every barrier.
    this.segments = this.vars.map((v, i) => ({ size: v.size, decay: /kernel/.test(v.name) ? init.recipe.weightDecay : 0, scale: init.gradScales?.[i] ?? 1 }));
    if (init.recipe.optimizer !== 'adam') {
      this.flat = new Float32Array(init.params);
      let at = 0;
      for (const v of this.vars) {
        this.flat.set(v.dataSync() as Float32Array, at);
        at += v.size;
      }
      const map = init.optimizer ? tf.io.decodeWeights(init.optimizer.data, init.optimizer.specs) : {};
      const slots = (init.optimizer?.specs ?? []).map((s) => ({ name: s.name, values: map[s.name].dataSync() as Float32Array, shape: s.shape }));
      this.state = momentumFromWeights(slots, this.vars.map((v) => v.name), this.vars.map((v) => v.size));
      tf.dispose(Object.values(map));
    }
  }

  static async create(): Promise<Replica> {
    await initBackend('wasm');
    const model = await tf.loadLayersModel(tf.io.fromMemory(init.artifacts));
    // tfjs's optimizer state only for Adam; SGD with momentum runs on the flat weight copy.
    const opt = makeOptimizer(init.recipe);
    if (init.recipe.optimizer === 'adam' && init.optimizer) {
      const map = tf.io.decodeWeights(init.optimizer.data, init.optimizer.specs);
      await opt.setWeights(init.optimizer.specs.map((s) => ({ name: s.name, tensor: map[s.name] })));
    }
    return new Replica(model, opt);
  }

  /** This replica's rows of the batch (from the shared slot the main thread wrote) → its gradient in `local`. */
  private gradient(m: Step): { loss: number; pred: Int32Array } {
    if (m.n === 0) {
      this.local.fill(0); // no rows this step: a zero gradient, but still one apply, so the replicas stay equal
      return { loss: 0, pred: new Int32Array(0) };
    }
    const S = init.size * init.size * 3;
    const C = init.numClasses;
    const base = m.slot * (this.batch.length / 2);
    const xs = this.batch.subarray(base + m.lo * S, base + (m.lo + m.n) * S);
    const ts = this.batch.subarray(base + m.total * S + m.lo * C, base + m.total * S + (m.lo + m.n) * C);
    const x = tf.tensor4d(xs, [m.n, init.size, init.size, 3]);
    const t = tf.tensor2d(ts, [m.n, C]);
    let predT: tf.Tensor | undefined;
    const { value, grads: g } = tf.variableGrads(() => {
      const r = stepLoss(this.model, x, t, m.total, [], 0);
      predT = r.pred;
      return r.loss;
    }, this.vars);
    const loss = value.dataSync()[0];
    const pred = Int32Array.from(predT!.dataSync());
    let off = 0;
    for (const v of this.vars) {
      this.local.set(g[v.name].dataSync(), off);
      off += v.size;
    }
    tf.dispose([x, t, value, predT!, ...Object.values(g)]);
    return { loss, pred };
  }

  /** The replicas' gradients summed in rank order, weight decay and the update; returns Σw² of the decayed weights. */
  private apply(lr: number): number {
    const rows = this.grads.rows(this.local, init.ranks);
    if (this.flat && this.state) {
      // Sum, weight decay, the backbone factor and the momentum step in one pass over the flat weights.
      const l2 = momentumStepSummed(this.flat, this.state, rows, this.segments, lr, init.recipe.momentum);
      let off = 0;
      for (const v of this.vars) {
        const t = tf.tensor(this.flat.subarray(off, off + v.size), v.shape);
        v.assign(t);
        t.dispose();
        off += v.size;
      }
      return l2;
    }
    const l2 = summedGradient(rows, this.segments, (k) => this.vars[k].dataSync() as Float32Array, this.sum);
    setLr(this.opt, lr);
    let off = 0;
    const named = this.vars.map((v) => {
      const tensor = tf.tensor(this.sum.subarray(off, off + v.size), v.shape);
      off += v.size;
      return { name: v.name, tensor };
    });
    this.opt.applyGradients(named);
    tf.dispose(named.map((n) => n.tensor));
    return l2;
  }

  private step(m: Step): { loss: number; pred: Int32Array } {
    this.bn.reset();
    this.parties = m.active;
    const r = this.gradient(m);
    const l2 = this.apply(m.lr);
    const wd = init.recipe.weightDecay;
    return { loss: init.rank === 0 && wd > 0 ? r.loss + 0.5 * wd * l2 : r.loss, pred: r.pred };
  }

  /** Run the queue's steps until a stop command (src/util/step-queue.ts). */
  run(from: number): ReplicaReply {
    const inbox = new StepInbox(init.queue, init.rank, ctl, from);
    for (;;) {
      const { seq, c } = inbox.next();
      if (c.kind === 'stop') return { type: 'stopped' };
      const [lo, hi] = microBatch(c.total, init.rank, init.ranks);
      const r = this.step({ slot: c.slot, lo, n: hi - lo, total: c.total, active: c.active, lr: c.lr });
      inbox.done(seq, r.loss, r.pred, lo);
    }
  }

  /**
   * Every model weight (trainable and BatchNorm's moving statistics) in model.weights order, packed, with
   * the optimizer state: no model.save, whose topology JSON and artifacts were garbage enough to slow the
   * next epoch's steps.
   */
  async pull(): Promise<ReplicaReply> {
    const all = this.model.weights.map((w) => w.read().dataSync() as Float32Array);
    const values = new Float32Array(all.reduce((a, v) => a + v.length, 0));
    let at = 0;
    for (const v of all) {
      values.set(v, at);
      at += v.length;
    }
    const weights = this.state
      ? momentumToWeights(this.state, this.vars.map((v) => v.name), this.vars.map((v) => v.shape)).map((w) => ({ name: w.name, tensor: tf.tensor(w.values, w.shape, w.values instanceof Int32Array ? 'int32' : 'float32') }))
      : await this.opt.getWeights();
    const { data, specs } = await tf.io.encodeWeights(weights);
    if (this.state) tf.dispose(weights.map((w) => w.tensor));
    return { type: 'pull', values, optimizer: { specs, data } };
  }
}

const ready = Replica.create();
ready.catch(() => {}); // reported by the first task

export default async function replicaTask(m: ReplicaRequest): Promise<ReplicaReply> {
  const replica = await ready;
  try {
    if (m.type === 'run') return replica.run(m.from);
    if (m.type === 'ping') return { type: 'ready' };
    return await replica.pull();
  } catch (e) {
    abortAll(ctl); // release the other replicas from their barriers and the queue
    wakeQueue(init.queue);
    throw e;
  }
}
