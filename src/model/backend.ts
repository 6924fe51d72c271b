// Compute backend selection: gpu (tfjs-node-gpu) → native (tfjs-node) → wasm. The native packages are
// optionalDependencies whose installer downloads libtensorflow; where that failed they do not load and
// we fall back. wasm is the floor every command and test can rely on.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmConvGradients } from './conv-grads.js';
import { registerBatchNormGradient } from './batchnorm-grad.js';
import { registerWasmIdentity } from './wasm-identity.js';
import { UserError } from '../util/errors.js';

import { BACKEND_CHOICES, type BackendChoice } from './backend-choices.js';

export interface BackendInfo {
  /** What the user asked for. */
  requested: BackendChoice;
  /** What we got: gpu | native | wasm | cpu. */
  kind: Exclude<BackendChoice, 'auto'>;
  /** tfjs backend name (tensorflow | wasm | cpu). */
  tfName: string;
  /** Why a preferred backend was not used, for the printed line. */
  notes: string[];
}

const require = createRequire(import.meta.url);
let current: BackendInfo | undefined;

function tryLoad(pkg: string): string | undefined {
  try {
    require(pkg);
    return undefined;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    return `${pkg} not usable (${msg.slice(0, 120)})`;
  }
}

async function useWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  // Resolve the .wasm binaries from the installed package, not a CDN (the machine may be offline).
  const dir = require.resolve('@tensorflow/tfjs-backend-wasm/package.json').replace(/package\.json$/, 'dist/');
  setWasmPaths(dir);
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend failed to initialise');
  await tf.ready();
  registerWasmConvGradients();
  registerBatchNormGradient();
  registerWasmIdentity();
}

/**
 * Select and initialise a backend. 'cpu' is the pure-JS reference used only by tests to check wasm
 * numerics; it is ~100x slower and never chosen by 'auto'.
 */
export async function initBackend(requested: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (current) {
    if (requested === 'auto' || requested === current.kind) return current;
    throw new Error(`backend already initialised as ${current.kind}; cannot switch to ${requested} in one process`);
  }
  if (!BACKEND_CHOICES.includes(requested)) {
    throw new UserError(`--backend ${requested} is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  const notes: string[] = [];
  const order: Exclude<BackendChoice, 'auto'>[] = requested === 'auto' ? ['gpu', 'native', 'wasm'] : [requested];
  for (const kind of order) {
    if (kind === 'gpu' || kind === 'native') {
      const err = tryLoad(kind === 'gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      if (err) {
        notes.push(err);
        if (requested !== 'auto') throw new UserError(`--backend ${kind}: ${err}. Use --backend wasm or auto.`);
        continue;
      }
      await tf.setBackend('tensorflow');
      await tf.ready();
    } else if (kind === 'wasm') {
      await useWasm();
    } else {
      await tf.setBackend('cpu');
      await tf.ready();
    }
    current = { requested, kind, tfName: tf.getBackend(), notes };
    return current;
  }
  throw new Error('no backend could be initialised');
}

export function backendLine(info: BackendInfo): string {
  const fell = info.notes.length ? ` (fallback: ${info.notes.map((n) => n.split(' ')[0]).join(', ')} not available)` : '';
  return `backend: ${info.kind} [tfjs ${info.tfName}]${fell}`;
}
