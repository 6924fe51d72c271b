// SGD with momentum on flat Float32Arrays, for the training replicas: the same update and the same float32
// bits as tf.train.momentum (acc ← m·acc + g; w ← w + (−lr)·acc, each operation rounded to float32 as its
// kernels round them), in one pass over the weights instead of ~4 kernel calls and a tensor per weight.
// The state converts to and from tfjs's optimizer weights (iter, then `<weight>/momentum` per weight, in
// weight order), so checkpoints and --resume see no difference. Hand-written because it is a hot loop of
// the product's trainer; a double product or sum of float32 values rounded once to float32 is the
// correctly rounded float32 result, so Math.fround reproduces the kernels exactly.

export interface MomentumState {
  /** Optimizer steps applied so far (tfjs's `iter`). */
  iter: number;
  /** One accumulator per weight value, in the order of the flat weight vector. */
  acc: Float32Array;
  /** Whether the accumulators exist yet (tfjs creates them at its first step). */
  started: boolean;
}

/** w ← w − lr·(m·acc + g) with tfjs's float32 rounding; acc updated in place. */
export function momentumStep(w: Float32Array, s: MomentumState, g: Float32Array, lr: number, momentum: number): void {
  momentumStepSummed(w, s, [g], [{ size: w.length, decay: 0, scale: 1 }], lr, momentum);
}

/** A weight's stretch of the flat vector: its length, weight decay factor (0: none) and gradient factor. */
export interface Segment { size: number; decay: number; scale: number }

/**
 * The replicas' whole update in one pass: g = rows[0] + rows[1] + … (each sum rounded to float32, in row
 * order), g += decay·w, g *= scale, then the momentum step, per weight segment. The same bits as those
 * four passes one after another (two of them were 0.5 ms each a step). Returns Σw² over the decayed
 * segments, before the step. The gradient's three lines are summedGradient's, written out here: as a
 * shared function call in this loop the pass measured 0.46–0.75 ms instead of 0.42 (78k weights).
 */
export function momentumStepSummed(w: Float32Array, s: MomentumState, rows: Float32Array[], segments: Segment[], lr: number, momentum: number): number {
  const m = Math.fround(momentum);
  const c = Math.fround(-lr);
  const acc = s.acc;
  const first = rows[0];
  let l2 = 0;
  let at = 0;
  for (const seg of segments) {
    const end = at + seg.size;
    for (let i = at; i < end; i++) {
      let g = first[i];
      for (let r = 1; r < rows.length; r++) g = Math.fround(g + rows[r][i]);
      const wi = w[i];
      if (seg.decay) {
        g = Math.fround(g + seg.decay * wi);
        l2 += wi * wi;
      }
      if (seg.scale !== 1) g = Math.fround(g * seg.scale);
      const a = Math.fround(Math.fround(m * acc[i]) + g);
      acc[i] = a;
      w[i] = Math.fround(Math.fround(c * a) + wi);
    }
    at = end;
  }
  s.iter++;
  s.started = true;
  return l2;
}

/**
 * The same gradient alone, into out, for an optimizer that is not this one (Adam through tfjs); weights(k)
 * gives segment k's weights and is asked only for decayed segments. Returns Σw² over those.
 */
export function summedGradient(rows: Float32Array[], segments: Segment[], weights: (k: number) => ArrayLike<number>, out: Float32Array): number {
  const first = rows[0];
  let l2 = 0;
  let at = 0;
  segments.forEach((seg, k) => {
    const w = seg.decay ? weights(k) : undefined;
    for (let i = at; i < at + seg.size; i++) {
      let g = first[i];
      for (let r = 1; r < rows.length; r++) g = Math.fround(g + rows[r][i]);
      if (w) {
        const wi = w[i - at];
        g = Math.fround(g + seg.decay * wi);
        l2 += wi * wi;
      }
      out[i] = seg.scale !== 1 ? Math.fround(g * seg.scale) : g;
    }
    at += seg.size;
  });
  return l2;
}

export interface NamedValues { name: string; values: Float32Array | Int32Array; shape: number[] }

/** The state from tfjs optimizer weights (none: a fresh optimizer). */
export function momentumFromWeights(weights: NamedValues[], names: string[], sizes: number[]): MomentumState {
  const total = sizes.reduce((a, b) => a + b, 0);
  const s: MomentumState = { iter: 0, acc: new Float32Array(total), started: false };
  const byName = new Map(weights.map((w) => [w.name, w]));
  s.iter = Number(byName.get('iter')?.values[0] ?? 0);
  const slots = weights.filter((w) => w.name !== 'iter');
  if (!slots.length) return s;
  if (slots.length !== names.length) throw new Error(`optimizer state has ${slots.length} momentum slots for ${names.length} weights`);
  let at = 0;
  // Slots are matched by position, as tfjs's setWeights does.
  slots.forEach((w, i) => {
    if (w.values.length !== sizes[i]) throw new Error(`optimizer slot ${w.name} has ${w.values.length} values, weight ${names[i]} has ${sizes[i]}`);
    s.acc.set(w.values, at);
    at += sizes[i];
  });
  s.started = true;
  return s;
}

/** The state as tfjs's momentum optimizer names it: iter, then one slot per weight once started. */
export function momentumToWeights(s: MomentumState, names: string[], shapes: number[][]): NamedValues[] {
  const out: NamedValues[] = [{ name: 'iter', values: Int32Array.of(s.iter), shape: [] }];
  if (!s.started) return out;
  let at = 0;
  names.forEach((name, i) => {
    const size = shapes[i].reduce((a, b) => a * b, 1);
    out.push({ name: `${name}/momentum`, values: s.acc.slice(at, at + size), shape: shapes[i] });
    at += size;
  });
  return out;
}
