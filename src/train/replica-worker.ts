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

type Handler = (m: ReplicaRequest) => Promise<ReplicaReply>;

async function start(): Promise<Handler> {
  await initBackend('wasm');
  const model = await tf.loadLayersModel(tf.io.fromMemory(init.artifacts));
  // tfjs's optimizer only for Adam; SGD with momentum runs on a flat weight copy (below).
  const adam = init.recipe.optimizer === 'adam';
  const opt = makeOptimizer(init.recipe);
  if (adam && init.optimizer) {
    const map = tf.io.decodeWeights(init.optimizer.data, init.optimizer.specs);
    await opt.setWeights(init.optimizer.specs.map((s) => ({ name: s.name, tensor: map[s.name] })));
  }
  const grads = new AllReduce(new Float32Array(init.gradSlab), ctl, 3, init.rank, init.ranks, init.params);
  const bn = new AllReduce(new Float32Array(init.bnSlab), ctl, 1, init.rank, init.ranks, init.bnLen);
  let parties = init.ranks;
  fastBatchNorm(model, init.ranks > 1 ? { reduce: bn, parties: () => parties } : undefined);
  plainConvolutions(model);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  // Per weight: weight decay for the kernels (as stepLoss decays them in process), and the fine-tuning factor.
  // Weight decay, d(½·wd·Σw²)/dw = wd·w, goes into the summed gradient by every replica alike (the weights
  // are the same bits everywhere); inside rank 0's backward pass it made rank 0 the slowest at every barrier.
  const segments: Segment[] = vars.map((v, i) => ({ size: v.size, decay: /kernel/.test(v.name) ? init.recipe.weightDecay : 0, scale: init.gradScales?.[i] ?? 1 }));
  const local = new Float32Array(init.params);
  const sum = new Float32Array(init.params);
  const names = vars.map((v) => v.name);
  const shapes = vars.map((v) => v.shape);
  const sizes = vars.map((v) => v.size);
  // SGD with momentum runs on a flat copy of the weights (src/train/momentum.ts, the same bits as
  // tf.train.momentum); Adam stays on tfjs's optimizer.
  const flat = adam ? undefined : new Float32Array(init.params);
  let state: MomentumState | undefined;
  if (flat) {
    let at = 0;
    for (const v of vars) {
      flat.set(v.dataSync() as Float32Array, at);
      at += v.size;
    }
    const map = init.optimizer ? tf.io.decodeWeights(init.optimizer.data, init.optimizer.specs) : {};
    state = momentumFromWeights((init.optimizer?.specs ?? []).map((s) => ({ name: s.name, values: map[s.name].dataSync() as Float32Array, shape: s.shape })), names, sizes);
    tf.dispose(Object.values(map));
  }
  const batch = new Float32Array(init.batchSlab);
  const slotLen = batch.length / 2;

  interface Step { slot: number; lo: number; n: number; total: number; active: number; lr: number }
  const step = (m: Step): { loss: number; pred: Int32Array } => {
    bn.reset();
    parties = m.active;
    let loss = 0;
    let pred: Int32Array = new Int32Array(0);
    if (m.n > 0) {
      const S = init.size * init.size * 3;
      const C = init.numClasses;
      // This replica's rows of the batch, from the shared slot the main thread wrote.
      const base = m.slot * slotLen;
      const xs = batch.subarray(base + m.lo * S, base + (m.lo + m.n) * S);
      const ts = batch.subarray(base + m.total * S + m.lo * C, base + m.total * S + (m.lo + m.n) * C);
      const x = tf.tensor4d(xs, [m.n, init.size, init.size, 3]);
      const t = tf.tensor2d(ts, [m.n, C]);
      let predT: tf.Tensor | undefined;
      const { value, grads: g } = tf.variableGrads(() => {
        const r = stepLoss(model, x, t, m.total, [], 0);
        predT = r.pred;
        return r.loss;
      }, vars);
      loss = value.dataSync()[0];
      pred = Int32Array.from(predT!.dataSync());
      let off = 0;
      for (const v of vars) {
        local.set(g[v.name].dataSync(), off);
        off += v.size;
      }
      tf.dispose([x, t, value, predT!, ...Object.values(g)]);
    } else {
      local.fill(0); // no rows this step: a zero gradient, but still one apply, so the replicas stay equal
    }
    const wd = init.recipe.weightDecay;
    if (flat && state) {
      // Sum of the replicas' gradients, weight decay, the backbone factor and the momentum step in one pass.
      const l2 = momentumStepSummed(flat, state, grads.rows(local, init.ranks), segments, m.lr, init.recipe.momentum);
      if (init.rank === 0 && wd > 0) loss += 0.5 * wd * l2;
      let off = 0;
      for (const v of vars) {
        const t = tf.tensor(flat.subarray(off, off + v.size), v.shape);
        v.assign(t);
        t.dispose();
        off += v.size;
      }
    } else {
      const l2 = summedGradient(grads.rows(local, init.ranks), segments, (k) => vars[k].dataSync() as Float32Array, sum);
      if (init.rank === 0 && wd > 0) loss += 0.5 * wd * l2;
      setLr(opt, m.lr);
      let off = 0;
      const named = vars.map((v) => {
        const tensor = tf.tensor(sum.subarray(off, off + v.size), v.shape);
        off += v.size;
        return { name: v.name, tensor };
      });
      opt.applyGradients(named);
      tf.dispose(named.map((n) => n.tensor));
    }
    return { loss, pred };
  };

  /** Run the queue's steps until a stop command (src/util/step-queue.ts). */
  const run = (from: number): ReplicaReply => {
    const inbox = new StepInbox(init.queue, init.rank, ctl, from);
    for (;;) {
      const { seq, c } = inbox.next();
      if (c.kind === 'stop') return { type: 'stopped' };
      const [lo, hi] = microBatch(c.total, init.rank, init.ranks);
      const r = step({ slot: c.slot, lo, n: hi - lo, total: c.total, active: c.active, lr: c.lr });
      inbox.done(seq, r.loss, r.pred, lo);
    }
  };

  const pull = async (): Promise<ReplicaReply> => {
    // Every model weight (trainable and BatchNorm's moving statistics) in model.weights order, packed: no
    // model.save, whose topology JSON and artifacts were garbage enough to slow the next epoch's steps.
    const all = model.weights.map((w) => w.read().dataSync() as Float32Array);
    const values = new Float32Array(all.reduce((a, v) => a + v.length, 0));
    let at = 0;
    for (const v of all) {
      values.set(v, at);
      at += v.length;
    }
    const weights = state
      ? momentumToWeights(state, names, shapes).map((w) => ({ name: w.name, tensor: tf.tensor(w.values, w.shape, w.values instanceof Int32Array ? 'int32' : 'float32') }))
      : await opt.getWeights();
    const { data, specs } = await tf.io.encodeWeights(weights);
    if (state) tf.dispose(weights.map((w) => w.tensor));
    return { type: 'pull', values, optimizer: { specs, data } };
  };

  return async (m) => {
    try {
      if (m.type === 'run') return run(m.from);
      if (m.type === 'ping') return { type: 'ready' };
      return await pull();
    } catch (e) {
      abortAll(ctl); // release the other replicas from their barriers and the queue
      wakeQueue(init.queue);
      throw e;
    }
  };
}

const ready = start();
ready.catch(() => {}); // reported by the first task

export default async function replicaTask(m: ReplicaRequest): Promise<ReplicaReply> {
  return (await ready)(m);
}
