// Piscina pools. Worker files sit beside this module with its extension (.js from dist, .ts under tsx
// in tests, whose loader worker threads inherit through execArgv).
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';

export function workerUrl(name: string): string {
  const here = fileURLToPath(import.meta.url);
  return new URL(`./${name}${path.extname(here)}`, import.meta.url).href;
}

/**
 * Threads worth starting: each worker loads its own wasm runtime (and model), so more threads than
 * cores or than tasks only cost memory and start-up time (--workers 64 on 2 cores once took 77 s, 2.5 GB).
 */
export function poolThreads(requested: number, tasks = Infinity): number {
  return Math.max(1, Math.min(requested, os.availableParallelism(), tasks));
}

export function makePool(name: 'cam-worker' | 'compose-worker' | 'decode-worker', requested: number, tasks = Infinity, concurrentTasksPerWorker = 1): Piscina {
  const threads = poolThreads(requested, tasks);
  return new Piscina({ filename: workerUrl(name), minThreads: threads, maxThreads: threads, idleTimeout: 30_000, concurrentTasksPerWorker });
}
