/**
 * A small seeded pseudo-random generator: xoshiro128** seeded through splitmix32, with Box–Muller normals.
 * Deterministic across platforms (32-bit integer arithmetic only), so the same seed gives the same
 * initial parameters, data sets and minibatch orders everywhere.
 */
import { DarbouxError, showValue } from '../../errors.js';

/** A seeded stream of random numbers. */
export interface Random {
  /** Uniform in [0, 1) with 53 random bits. */
  next(): number;
  /** Standard normal N(0, 1) (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T;
  /** An independent stream derived from this generator's seed and a label (does not advance this one). */
  fork(label: string | number): Random;
}

/** One step of splitmix32: returns the next state and its scrambled output. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [s, (z ^ (z >>> 16)) >>> 0];
}

/** FNV-1a hash of a string to 32 bits. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Folds an integer seed (any safe integer, negative included) into 32 bits, high and low halves mixed. */
function seedWord(seed: number): number {
  const low = seed >>> 0;
  const high = Math.floor(seed / 4294967296) >>> 0;
  return (low ^ Math.imul(high, 0x9e3779b1)) >>> 0;
}

/**
 * A seeded random stream. Equal seeds give equal streams; `fork(label)` derives independent streams (one per
 * parameter tensor, one for noise, …) without consuming values.
 *
 * @example
 * const rng = createRandom(42);
 * rng.next();          // uniform in [0, 1)
 * rng.normal();        // N(0, 1)
 * rng.shuffle([0, 1, 2, 3]);
 */
export function createRandom(seed: number): Random {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new DarbouxError('OPTION', `seed must be an integer, got ${showValue(seed)}`);
  }
  return fromWord(seedWord(seed));
}

function fromWord(word: number): Random {
  let sm = word | 0;
  const s = new Uint32Array(4);
  for (let k = 0; k < 4; k++) {
    const [next, out] = splitmix32(sm);
    sm = next;
    s[k] = out;
  }
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;

  const nextUint32 = (): number => {
    // xoshiro128**: result = rotl(s1 * 5, 7) * 9.
    const x = Math.imul(s[1]!, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = (s[3]! << 11) | (s[3]! >>> 21);
    return result;
  };

  let spare: number | null = null;
  const rng: Random = {
    next() {
      const a = nextUint32() >>> 5, b = nextUint32() >>> 6;
      return (a * 67108864 + b) / 9007199254740992;
    },
    normal() {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = rng.next();
      const v = rng.next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n) {
      if (!Number.isInteger(n) || n < 1) throw new DarbouxError('OPTION', `int(n): n must be a positive integer, got ${n}`);
      return Math.floor(rng.next() * n);
    },
    shuffle(array) {
      for (let i = array.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const tmp = array[i];
        array[i] = array[j];
        array[j] = tmp;
      }
      return array;
    },
    fork(label) {
      const [, mixed] = splitmix32((word ^ hashString(`${typeof label}:${label}`)) | 0);
      return fromWord(mixed);
    },
  };
  return rng;
}
