// A map that keeps at most `capacity` entries, dropping the least recently used: caches of decoded
// images whose total would otherwise grow with the dataset (inspect --masks once held ~3 GB).
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`Lru capacity must be ≥ 1, got ${capacity}`);
  }
  get size(): number {
    return this.map.size;
  }
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k); // re-insert: Map keeps insertion order, so the oldest key is the first
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }
}
