// Counter-based randomness (docs/ARCHITECTURE.md "3. Contracts"): every draw for (seed, stream, ...counters) comes from its own
// generator, so results never depend on worker count or completion order.
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

type Gen = ReturnType<typeof xoroshiro128plus>;

/** 32-bit avalanche mix (murmur3 finaliser); used only to fold counters into one seed. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Stable hash of a string label, so streams are named, not numbered. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

/** Fold a seed, a stream name and integer counters into one 32-bit seed. */
function deriveSeed(seed: number, stream: string, ...counters: number[]): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  h = mix32(h ^ hashString(stream));
  for (const c of counters) {
    // Counters may exceed 2^32 (global sample index); fold high and low words.
    const lo = c >>> 0;
    const hi = Math.floor(c / 0x100000000) >>> 0;
    h = mix32(h ^ lo);
    h = mix32((h + 0x9e3779b9) ^ hi);
  }
  return h;
}

/** A small stateful wrapper over pure-rand for one (seed, stream, counters) key. */
export class Rng {
  private gen: Gen;
  constructor(seed: number, stream = 'default', ...counters: number[]) {
    this.gen = xoroshiro128plus(deriveSeed(seed, stream, ...counters));
  }
  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.gen);
  }
  /** Uniform integer in [from, to] (both inclusive). */
  int(from: number, to: number): number {
    return uniformInt(this.gen, from, to);
  }
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = this.next();
    while (u <= 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** Gamma(k, 1), Marsaglia-Tsang; used for Beta draws. */
  gamma(k: number): number {
    if (k < 1) return this.gamma(k + 1) * Math.pow(this.next() || Number.MIN_VALUE, 1 / k);
    const d = k - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }
  /** In-place Fisher-Yates shuffle. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }
}
