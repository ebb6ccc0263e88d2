/**
 * Seeded randomness for the simulator. Same seed → same data, so a demo, a screenshot or a failing
 * test can be reproduced exactly. Every device draws from its own stream derived from
 * (seed, device id): adding a device to a fleet never changes what the others report.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's "small fast chaotic" PRNG from PractRand), seeded through
 * splitmix32 from a 32-bit hash of the seed parts. Not cryptographic — never use it for secrets.
 */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number;
  /** Integer uniform in [min, max], both inclusive. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  /** Gaussian (Box–Muller). */
  normal(mean?: number, sd?: number): number;
  /** Exponential with the given mean: inter-arrival time of a Poisson process. */
  exponential(mean: number): number;
  /** Number of events of a Poisson process with `lambda` expected events. */
  poisson(lambda: number): number;
  pick<T>(items: readonly T[]): T;
  /**
   * An independent child stream named `label`. It depends only on this stream's seed and the
   * label, never on how much this stream has been consumed — so drawing one more noise sample
   * cannot shift, say, a household's shower schedule.
   */
  fork(label: string | number): Rng;
}

export type SeedPart = string | number;

/** FNV-1a over the parts (with a separator, so ('ab','c') ≠ ('a','bc')), then murmur3's fmix32 avalanche. */
export function hashSeed(...parts: SeedPart[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = typeof part === 'number' ? `#${part}` : `$${part}`;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x1f, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A stream seeded from the given parts: `createRng(42)`, `createRng(42, 'chundu-b1-sd-u1')`. */
export function createRng(...parts: SeedPart[]): Rng {
  const seed = hashSeed(...parts);
  const sm = splitmix32(seed);
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  const raw = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Discard the first outputs: sfc32's state needs a few rounds to mix.
  for (let i = 0; i < 12; i++) raw();

  const rng: Rng = {
    next: raw,
    uniform: (min, max) => min + (max - min) * raw(),
    int: (min, max) => min + Math.floor(raw() * (max - min + 1)),
    chance: (p) => raw() < p,
    normal: (mean = 0, sd = 1) => {
      const u = 1 - raw(); // (0, 1]: log(0) would be -Infinity
      const v = raw();
      return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    exponential: (mean) => -mean * Math.log(1 - raw()),
    poisson: (lambda) => {
      if (!(lambda > 0)) return 0;
      if (lambda > 30) return Math.max(0, Math.round(rng.normal(lambda, Math.sqrt(lambda))));
      // Knuth's multiplication method: exact, and cheap for the small rates the profiles use.
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = raw();
      while (p > limit) {
        k++;
        p *= raw();
      }
      return k;
    },
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(raw() * items.length)] as T;
    },
    fork: (label) => createRng(seed, 'fork', label),
  };
  return rng;
}

/** The stream of one device in a fleet seeded with `seed`. */
export function deviceRng(seed: number, deviceId: string): Rng {
  return createRng(seed, 'device', deviceId);
}
