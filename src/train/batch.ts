// What the training loop consumes: dense-target batches from a seeded source (shards or clean images).

export interface Batch {
  /** [n, size, size, 3] normalised. */
  x: Float32Array;
  /** [n, C] dense targets. */
  targets: Float32Array;
  /** Hard label per sample (the dominant class), for running accuracy. */
  labels: Int32Array;
  n: number;
}

export interface BatchSource {
  /** Batches of one epoch, in a seeded order. */
  epoch(epoch: number): AsyncIterable<Batch> | Iterable<Batch>;
  /** Batches per epoch (for progress and schedule). */
  batchesPerEpoch: number;
  size: number;
  numClasses: number;
}
