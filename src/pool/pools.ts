// Piscina pools. Worker files sit beside this module with its extension (.js from dist, .ts under tsx
// in tests, whose loader worker threads inherit through execArgv).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';

export function workerUrl(name: string): string {
  const here = fileURLToPath(import.meta.url);
  return new URL(`./${name}${path.extname(here)}`, import.meta.url).href;
}

export function makePool(name: 'cam-worker' | 'compose-worker' | 'decode-worker', threads: number): Piscina {
  return new Piscina({ filename: workerUrl(name), minThreads: threads, maxThreads: threads, idleTimeout: 30_000 });
}
