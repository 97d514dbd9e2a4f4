/**
 * Deterministic minibatch sampling: every step draws `batch` distinct samples (a partial Fisher–Yates shuffle,
 * like `torch.randperm(n)[:batch]`), from the seeded generator, so the same seed gives the same batches on
 * every backend.
 */
import { createRandom } from '../models/neural/random.js';

/**
 * A seeded generator of uniform numbers in [0, 1): the project's one seeded generator (`createRandom`), as a
 * function.
 *
 * @example
 * const next = seededUniform(0); next(); // the same number in [0, 1) on every run
 */
export function seededUniform(seed: number): () => number {
  const random = createRandom(seed);
  return () => random.next();
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
