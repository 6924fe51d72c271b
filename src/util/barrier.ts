// Shared-memory collectives for data-parallel replicas in worker threads: a reusable barrier and a
// fixed-order all-reduce over SharedArrayBuffer slabs. Every replica sums the ranks 0..R−1 in the same
// order, so all of them get the same bits and the replicas stay identical.

/** Control words: [abort, (count, generation) per barrier …]. */
const CTL_ABORT = 0;

class AbortedError extends Error {}

const SPIN = 200_000;

/** Fail every replica: set the abort word and wake whoever sleeps on a control word. */
export function abortAll(ctl: Int32Array): void {
  Atomics.store(ctl, CTL_ABORT, 1);
  for (let i = 0; i < ctl.length; i++) Atomics.notify(ctl, i);
}

/**
 * Block this thread until words[index] satisfies `ready`. Spins briefly first: replicas arrive within
 * microseconds of each other, and a futex sleep and wake-up costs far more than that (it cost ~20 ms a step
 * over BatchNorm's 27 barriers). Then sleeps, polling ctl's abort word once a second so a failed replica
 * cannot leave the others waiting forever.
 */
export function waitUntil(words: Int32Array, index: number, ready: (v: number) => boolean, ctl: Int32Array): void {
  for (let i = 0; i < SPIN; i++) if (ready(Atomics.load(words, index))) return;
  for (;;) {
    const v = Atomics.load(words, index);
    if (ready(v)) return;
    if (Atomics.load(ctl, CTL_ABORT)) throw new AbortedError('another training replica failed');
    Atomics.wait(words, index, v, 1000);
  }
}

/** Wait until `parties` replicas have arrived at barrier `at` (words at, at+1 of ctl). */
function barrier(ctl: Int32Array, at: number, parties: number): void {
  if (parties <= 1) return;
  const gen = Atomics.load(ctl, at + 1);
  if (Atomics.add(ctl, at, 1) === parties - 1) {
    Atomics.store(ctl, at, 0);
    Atomics.add(ctl, at + 1, 1);
    Atomics.notify(ctl, at + 1);
    return;
  }
  waitUntil(ctl, at + 1, (v) => v !== gen, ctl);
}

/**
 * All-reduce (sum) of `local` across ranks 0..parties−1 through a slab of 2 × ranks × len floats
 * (double-buffered by call parity, so a fast replica's next write never overwrites a slow one's read).
 */
export class AllReduce {
  private calls = 0;
  constructor(
    private readonly slab: Float32Array,
    private readonly ctl: Int32Array,
    private readonly at: number,
    private readonly rank: number,
    private readonly ranks: number,
    readonly len: number,
  ) {
    if (slab.length < 2 * ranks * len) throw new Error(`all-reduce slab holds ${slab.length} floats, needs ${2 * ranks * len}`);
  }

  /** Start a new sequence (every replica at the same point, e.g. each step; only after a full barrier). */
  reset(): void {
    this.calls = 0;
  }

  /**
   * Every rank's values (ranks 0..parties−1), row r = rank r's, as views of the slab: an all-gather. The
   * views hold until this rank's next call (then another rank may pass that call's barrier and write).
   */
  rows(local: ArrayLike<number>, parties: number): Float32Array[] {
    const n = local.length;
    if (n > this.len) throw new Error(`all-reduce of ${n} values exceeds the slab's ${this.len}`);
    const base = (this.calls++ & 1) * this.ranks * this.len;
    this.slab.set(local, base + this.rank * this.len);
    barrier(this.ctl, this.at, parties);
    return Array.from({ length: parties }, (_, r) => this.slab.subarray(base + r * this.len, base + r * this.len + n));
  }

  /** Every rank's values (as rows), copied. */
  gather(local: ArrayLike<number>, parties: number): Float64Array[] {
    return this.rows(local, parties).map((row) => Float64Array.from(row));
  }

  /** Sum over ranks 0..parties−1 (parties ≤ ranks; ranks ≥ parties take no part), in rank order. */
  sum(local: ArrayLike<number>, parties: number, out: Float32Array | Float64Array = new Float64Array(local.length)): Float32Array | Float64Array {
    const rows = this.rows(local, parties);
    out.fill(0);
    for (const row of rows) for (let i = 0; i < row.length; i++) out[i] += row[i];
    return out;
  }
}
