/**
 * Deterministic minibatch sampling: every step draws `batch` distinct samples (a partial Fisher–Yates shuffle,
 * like `torch.randperm(n)[:batch]`), from a small seeded generator, so the same seed gives the same batches on
 * every backend.
 */

/**
 * A seeded generator of uniform numbers in [0, 1) (mulberry32: 32-bit state, full period 2³²).
 *
 * @example
 * const next = seededUniform(0); next(); // the same number in [0, 1) on every run
 */
export function seededUniform(seed: number): () => number {
  let state = (Math.imul(seed | 0, 0x9e3779b9) ^ 0x6d2b79f5) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws minibatches of sample indices. */
export interface MinibatchSampler {
  /** Sample indices of the next minibatch (a view reused by the next call). */
  next(): Uint32Array;
  readonly batch: number;
}

/**
 * A sampler of `batch` distinct indices out of `count` per call; with batch = count every call returns all
 * samples in order (full-batch training needs no randomness).
 *
 * @example
 * const sampler = minibatchSampler(1500, 250, 0);
 * const rows = sampler.next(); // 250 distinct indices in [0, 1500)
 */
export function minibatchSampler(count: number, batch: number, seed: number): MinibatchSampler {
  const perm = new Uint32Array(count);
  for (let i = 0; i < count; i++) perm[i] = i;
  const rows = perm.subarray(0, batch);
  if (batch >= count) return { batch: count, next: () => perm };
  const uniform = seededUniform(seed);
  return {
    batch,
    next() {
      for (let i = 0; i < batch; i++) {
        const j = i + Math.floor(uniform() * (count - i));
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
      }
      return rows;
    },
  };
}
