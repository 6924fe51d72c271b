// The training objective, one definition for the in-process loop and the data-parallel replicas:
// Σ_rows −Σ_c t_c·log softmax(z)_c / divisor per head (heads added, --midlevel), plus ½·wd·Σ‖kernel‖²
// where asked (one replica adds it, so the replicas' gradients sum to the full-batch gradient).
import * as tf from '@tensorflow/tfjs';

export interface StepLoss {
  loss: tf.Scalar;
  /** Argmax of the summed heads' logits (kept: the caller disposes it). */
  pred: tf.Tensor1D;
}

export function stepLoss(model: tf.LayersModel, x: tf.Tensor4D, t: tf.Tensor2D, divisor: number, kernels: tf.Tensor[], weightDecay: number): StepLoss {
  const out = model.apply(x, { training: true }) as tf.Tensor2D | tf.Tensor2D[];
  const heads = Array.isArray(out) ? out : [out];
  const pred = tf.keep((heads.length > 1 ? tf.addN(heads) : heads[0]).argMax(-1) as tf.Tensor1D);
  const ces = heads.map((logits) => tf.div(tf.neg(tf.sum(tf.mul(t, tf.logSoftmax(logits)))), divisor));
  const ce = (ces.length > 1 ? tf.addN(ces) : ces[0]) as tf.Scalar;
  if (weightDecay <= 0 || !kernels.length) return { loss: ce, pred };
  const l2 = tf.addN(kernels.map((k) => tf.sum(tf.square(k))));
  return { loss: tf.add(ce, tf.mul(l2, 0.5 * weightDecay)) as tf.Scalar, pred };
}
