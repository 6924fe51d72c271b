// tfjs's wasm Identity kernel copies its input. The engine runs Identity for every tensor it saves for a
// backward pass (engine.clone), so a training step made ~180 full copies (2 ms of kernels at batch 16).
// Tensors are immutable in tfjs, so the copy is not needed: the CPU backend's Identity shares the data
// and counts a reference, as wasm's own Reshape does; this does the same on wasm.
import * as tf from '@tensorflow/tfjs';

type RefBackend = { incRef(dataId: object): void };

let registered = false;

export function registerWasmIdentity(): void {
  if (registered) return;
  registered = true;
  const stock = tf.getKernel('Identity', 'wasm');
  if (!stock) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = (args.inputs as { x: tf.TensorInfo }).x;
      if (x.dtype === 'string') return stock.kernelFunc(args);
      (args.backend as unknown as RefBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}
