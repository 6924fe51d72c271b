// A full garbage collection on demand, for the shard writer. Each written shard leaves its image bytes in
// ArrayBuffers that V8 frees only at a full collection, which its external-memory limit triggers every
// ~64 MiB of them: a long generate run's peak RSS sat 60–90 MiB above a short run's. Collecting after every
// few MiB of shards written keeps the main thread flat (docs/MEASUREMENTS.md, peak RSS: 2k/50k samples 1.32× → ~1.1×).
import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = () => void;
let gc: Gc | undefined;

/** V8's gc(): the global one under `node --expose-gc`, else exposed once at run time (Node's documented flag). */
export function collectGarbage(): void {
  if (!gc) {
    const g = (globalThis as { gc?: Gc }).gc;
    if (g) gc = g;
    else {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as Gc;
    }
  }
  gc();
}

/** Calls collectGarbage() once at least `every` bytes have been reported since the last call. */
export function collectEvery(every: number): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < every) return;
    since = 0;
    collectGarbage();
  };
}
