// The step queue between the training loop (main thread) and its replicas (worker threads), in shared
// memory: the main thread posts numbered commands into a ring of QUEUE_DEPTH descriptors, every replica
// runs them in order and reports each one done with its partial loss and its rows' predictions. A replica
// picks the next command up the moment it is posted, without a message round trip through either event
// loop, so both start a step within microseconds of each other.
import { waitUntil } from './barrier.js';

/** Commands in flight at most (loop.ts posts step b+1, then waits for step b). */
const QUEUE_DEPTH = 2;

export type Command =
  | { kind: 'step'; slot: number; total: number; active: number; lr: number }
  | { kind: 'stop' };

const FIELDS = 5; // kind, slot, total, active, lr

// Atomics.waitAsync (Node ≥ 16) is not in TypeScript's ES2022 lib.
type WaitAsync = (a: Int32Array, index: number, value: number, timeout: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export interface QueueBuffers { ints: SharedArrayBuffer; floats: SharedArrayBuffer; ranks: number; maxRows: number }

/** Shared memory for a queue to `ranks` replicas of batches of up to `maxRows` rows. */
export function queueBuffers(ranks: number, maxRows: number): QueueBuffers {
  return {
    ints: new SharedArrayBuffer((1 + ranks + QUEUE_DEPTH * maxRows) * 4),
    floats: new SharedArrayBuffer((QUEUE_DEPTH * FIELDS + QUEUE_DEPTH * ranks) * 8),
    ranks,
    maxRows,
  };
}

class Views {
  /** [posted, done[0..R−1], pred rows per ring entry] */
  readonly head: Int32Array;
  readonly desc: Float64Array;
  readonly loss: Float64Array;
  readonly pred: Int32Array;
  constructor(readonly b: QueueBuffers) {
    this.head = new Int32Array(b.ints, 0, 1 + b.ranks);
    this.pred = new Int32Array(b.ints, (1 + b.ranks) * 4);
    this.desc = new Float64Array(b.floats, 0, QUEUE_DEPTH * FIELDS);
    this.loss = new Float64Array(b.floats, QUEUE_DEPTH * FIELDS * 8);
  }
}

/** The main thread's end: post commands, wait for them. */
export class StepQueue extends Views {
  posted = 0;

  /** Post a command; returns its number. */
  post(c: Command): number {
    const seq = ++this.posted;
    const at = (seq % QUEUE_DEPTH) * FIELDS;
    if (c.kind === 'step') this.desc.set([1, c.slot, c.total, c.active, c.lr], at);
    else this.desc[at] = 0;
    Atomics.store(this.head, 0, seq);
    Atomics.notify(this.head, 0);
    return seq;
  }

  /**
   * Wait until every replica has done command seq; then the partial losses summed in rank order and the
   * predictions of the step's `total` rows. `failed` is asked after every wake-up (a failed replica ends
   * the wait: its owner notifies these words).
   */
  async wait(seq: number, total: number, failed: () => Error | undefined): Promise<{ loss: number; pred: Int32Array }> {
    for (let r = 0; r < this.b.ranks; r++) {
      for (;;) {
        const e = failed();
        if (e) throw e;
        const v = Atomics.load(this.head, 1 + r);
        if (v >= seq) break;
        const w = waitAsync(this.head, 1 + r, v, 1000);
        if (w.async) await w.value;
      }
    }
    const e = seq % QUEUE_DEPTH;
    let loss = 0;
    for (let r = 0; r < this.b.ranks; r++) loss += this.loss[e * this.b.ranks + r];
    return { loss, pred: this.pred.slice(e * this.b.maxRows, e * this.b.maxRows + total) };
  }

  /** Wake every waiter (after a failure). */
  wake(): void {
    wakeQueue(this.b);
  }
}

/** Wake every thread waiting on the queue b (the main thread's or a failing replica's abort path). */
export function wakeQueue(b: QueueBuffers): void {
  const head = new Int32Array(b.ints, 0, 1 + b.ranks);
  for (let i = 0; i < head.length; i++) Atomics.notify(head, i);
}

/** A replica's end: take the next command, report it done. */
export class StepInbox extends Views {
  constructor(b: QueueBuffers, private readonly rank: number, private readonly ctl: Int32Array, private seen: number) {
    super(b);
  }

  /** The next command (blocks this thread until it is posted; throws if another replica failed). */
  next(): { seq: number; c: Command } {
    const seq = ++this.seen;
    waitUntil(this.head, 0, (v) => v >= seq, this.ctl);
    const at = (seq % QUEUE_DEPTH) * FIELDS;
    const d = this.desc.subarray(at, at + FIELDS);
    const c: Command = d[0] === 1 ? { kind: 'step', slot: d[1], total: d[2], active: d[3], lr: d[4] } : { kind: 'stop' };
    return { seq, c };
  }

  /** Command seq done: this replica's partial loss and the predictions of its rows lo..lo+pred.length. */
  done(seq: number, loss: number, pred: Int32Array, lo: number): void {
    const e = seq % QUEUE_DEPTH;
    this.loss[e * this.b.ranks + this.rank] = loss;
    this.pred.set(pred, e * this.b.maxRows + lo);
    Atomics.store(this.head, 1 + this.rank, seq);
    Atomics.notify(this.head, 1 + this.rank);
  }
}
