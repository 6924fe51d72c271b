// Piscina pools. Worker files sit beside this module with its extension (.js from dist, .ts under tsx
// in tests, whose loader worker threads inherit through execArgv).
import { availableCpus } from '../util/cpus.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';

/** The worker file `name` beside the module at base (default: this one), with that module's extension. */
export function workerUrl(name: string, base: string = import.meta.url): string {
  const here = fileURLToPath(base);
  return new URL(`./${name}${path.extname(here)}`, base).href;
}

/**
 * Threads worth starting: each worker loads its own wasm runtime (and model), so more threads than
 * cores or than tasks only cost memory and start-up time (--workers 64 on 2 cores once took 77 s, 2.5 GB).
 */
export function poolThreads(requested: number, tasks = Infinity): number {
  return Math.max(1, Math.min(requested, availableCpus(), tasks));
}

type PoolName = 'cam-worker' | 'onnx-cam-worker' | 'compose-worker' | 'decode-worker';

/**
 * Young-generation cap (MiB) per worker kind. A compose worker's garbage is short-lived pixel and view
 * buffers; under V8's default its semi-spaces grew over a long run (worker heaps 17 → 41 MiB) and a
 * 200,000-sample generate peaked at 424 MiB RSS; capped at 4 MiB, 341 MiB at the same speed.
 */
const YOUNG_GEN_MB: Partial<Record<PoolName, number>> = { 'compose-worker': 4 };

export function makePool(name: PoolName, requested: number, tasks = Infinity, concurrentTasksPerWorker = 1): Piscina {
  const threads = poolThreads(requested, tasks);
  const young = YOUNG_GEN_MB[name];
  return new Piscina({
    filename: workerUrl(name), minThreads: threads, maxThreads: threads, idleTimeout: 30_000, concurrentTasksPerWorker,
    ...(young ? { resourceLimits: { maxYoungGenerationSizeMb: young } } : {}),
  });
}
