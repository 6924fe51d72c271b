// Convolution weight gradients computed while a data-parallel replica waits at a barrier. Synchronised
// BatchNorm makes every replica stop at a barrier per layer in the backward pass and wait for the slowest
// (a replica runs 2–20 ms behind the other now and then: cache sharing, GC, the OS). A convolution's
// weight gradient is needed by nothing later in the backward pass, only by the update after it, so a
// replica that arrives early computes pending weight gradients instead of spinning. Every gradient is
// computed by tfjs's own gradient function from the same tensors as before, so the bits do not change;
// only when they are computed does. Without replicas nothing is deferred (there is nothing to wait for).
import * as tf from '@tensorflow/tfjs';

interface Pending { run: () => tf.Tensor; kept: tf.Tensor[]; result?: tf.Tensor }

export class DeferredFilterGradients {
  /** Defer while true (set around the replica's gradient computation). */
  active = false;
  private readonly queue: Pending[] = [];
  private readonly byPlaceholder = new Map<tf.Tensor, Pending>();

  /** Queue a weight gradient; the backward pass gets a zero placeholder of its shape to carry to the end. */
  defer(run: (kept: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], shape: number[]): tf.Tensor {
    // Clones share the data (src/model/wasm-identity.ts) and outlive the backward pass's scopes.
    const kept = inputs.map((t) => tf.keep(tf.clone(t)));
    const p: Pending = { run: () => run(kept), kept };
    const placeholder = tf.zeros(shape);
    this.queue.push(p);
    this.byPlaceholder.set(placeholder, p);
    return placeholder;
  }

  /** Compute the oldest pending gradient; false when none is pending. */
  runOne(): boolean {
    const p = this.queue.shift();
    if (!p) return false;
    p.result = tf.keep(tf.tidy(p.run));
    tf.dispose(p.kept);
    return true;
  }

  /** The gradient a backward pass returned for a weight: the computed one for a placeholder. */
  resolve(g: tf.Tensor): tf.Tensor {
    const p = this.byPlaceholder.get(g);
    if (!p) return g;
    while (!p.result) this.runOne();
    this.byPlaceholder.delete(g);
    return p.result;
  }

  /**
   * End of a step: every deferred gradient must have been claimed by exactly one weight. One that was not
   * went into a sum (a weight used by two convolutions), where its placeholder counted as zero.
   */
  end(): void {
    const lost = this.byPlaceholder.size;
    while (this.runOne());
    for (const p of this.byPlaceholder.values()) p.result?.dispose();
    this.byPlaceholder.clear();
    if (lost) throw new Error(`${lost} convolution weight gradient(s) were summed before they were computed (a weight shared by two convolutions); train this model with --train-workers 1`);
  }
}

/**
 * Route the Conv2D weight gradient through d while d.active: tfjs's Conv2D gradient, its filter part
 * deferred. The input gradient stays immediate (the backward pass needs it next).
 */
export function deferConvFilterGradients(d: DeferredFilterGradients): void {
  const stock = tf.getGradient('Conv2D');
  if (!stock) throw new Error('tfjs has no Conv2D gradient to defer');
  tf.unregisterGradient('Conv2D'); // registering over it would print a warning
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: stock.inputsToSave,
    gradFunc: (dy, saved, attrs) => {
      const g = stock.gradFunc(dy, saved, attrs);
      if (!d.active) return g;
      const dy4 = dy as tf.Tensor;
      const [x, filter] = saved;
      // The filter's shape is all its gradient reads of it.
      return { ...g, filter: () => d.defer(([kdy, kx]) => stock.gradFunc(kdy, [kx, filter], attrs).filter(), [dy4, x], filter.shape) };
    },
  });
}
