/**
 * Minibatch gradients in fixed chunks: a minibatch's rows are cut into chunks of GRADIENT_CHUNK rows (from the
 * first, whatever the thread count), each chunk's loss and gradient sums are computed on their own (from zero),
 * and the chunk sums are added in chunk order. One thread and any number of worker threads (gradient-threads.ts)
 * therefore compute the very same sums, bit for bit.
 */
import type { CpuBatchGradient } from './cpu-gradient.js';

/** Rows per chunk of a minibatch (a multiple of 4: the batched lowering's chunk of GEMM rows). */
export const GRADIENT_CHUNK = 64;

/**
 * A batch gradient that computes one chunk at a time: `prepare(θ)` once per minibatch, then
 * `chunk(data, rows, s0, n, out)` for the rows rows[s0 … s0+n−1] (n ≤ GRADIENT_CHUNK) writes out[0] = Σ loss and
 * out[1 + j] = Σ ∂loss/∂θ_j over those rows (out is overwritten).
 */
export interface ChunkedGradient {
  prepare(theta: Float64Array): void;
  chunk(data: Float64Array, rows: Uint32Array, s0: number, n: number, out: Float64Array): void;
}

/** The number of chunks of a minibatch of `count` rows. @example chunkCount(256) // 4 */
export const chunkCount = (count: number): number => Math.ceil(count / GRADIENT_CHUNK);

/**
 * A per-sample batch gradient (`compileCpuGradient`) as a chunked one: each chunk is one call on its rows.
 *
 * @example
 * const chunks = perSampleChunks(compileCpuGradient(program));
 */
export function perSampleChunks(f: CpuBatchGradient): ChunkedGradient {
  let theta: Float64Array = new Float64Array(0);
  return {
    prepare(t) {
      theta = t;
    },
    chunk(data, rows, s0, n, out) {
      f(data, theta, rows.subarray(s0, s0 + n), n, out);
    },
  };
}

/**
 * out += the chunk sums `partials[k·(1+P) …]` for k = 0 … chunks−1, in chunk order, after out.fill(0): the one
 * summation every thread count shares.
 *
 * @example
 * addChunkSums(out, partials, chunkCount(256));
 */
export function addChunkSums(out: Float64Array, partials: Float64Array, chunks: number): void {
  const width = out.length;
  out.fill(0);
  for (let k = 0; k < chunks; k++) {
    for (let j = 0, at = k * width; j < width; j++) out[j] += partials[at + j]!;
  }
}

/**
 * The minibatch sums on this thread: every chunk in order into `partial`, added to `out` (overwritten) one after
 * another — the same sums as `addChunkSums` over the same chunks computed anywhere.
 *
 * @example
 * chunkedSums(chunks, data, theta, rows, rows.length, out, new Float64Array(out.length));
 */
export function chunkedSums(g: ChunkedGradient, data: Float64Array, theta: Float64Array, rows: Uint32Array, count: number, out: Float64Array, partial: Float64Array): void {
  g.prepare(theta);
  out.fill(0);
  for (let s0 = 0; s0 < count; s0 += GRADIENT_CHUNK) {
    g.chunk(data, rows, s0, Math.min(GRADIENT_CHUNK, count - s0), partial);
    for (let j = 0; j < out.length; j++) out[j] += partial[j]!;
  }
}
