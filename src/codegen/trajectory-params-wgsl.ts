/**
 * Per-trajectory parameters in WGSL kernels: the packed parameter buffer `dParams` holds the stepper's values
 * (all parameters, packed in order) followed by one block of `dControl.batch` values per per-trajectory
 * parameter, so no extra binding is needed (llvmpipe's compatibility limit is 4 storage buffers per stage).
 */
import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';

/**
 * WGSL reads of the per-trajectory parameters `indices` (into `params`) for trajectory `b` of the chunk: parameter
 * index → expression, for `bindParams`.
 *
 * @example
 * wgslTrajectoryParamReads(h.params, [0]); // Map { 0 → 'dParams[1u + 0u * dControl.batch + b]' } for one scalar λ
 */
export function wgslTrajectoryParamReads(params: readonly Expr[], indices: readonly number[]): ReadonlyMap<number, string> {
  const shared = params.reduce((s, node) => s + size(node.shape), 0);
  return new Map(indices.map((k, j) => [k, `dParams[${shared}u + ${j}u * dControl.batch + b]`]));
}

/**
 * The `dParams` contents of a chunk: the packed values of every parameter, then for each per-trajectory parameter
 * j its values for trajectories `first … first + count − 1` (f32).
 *
 * @example
 * const data = packTrajectoryParams(h.paramValues, [lamValues], 0, 4096);
 */
export function packTrajectoryParams(paramValues: readonly ArrayLike<number>[], perTrajectory: readonly Float64Array[], first: number, count: number): Float32Array {
  const shared = paramValues.reduce((s, v) => s + v.length, 0);
  const out = new Float32Array(shared + perTrajectory.length * count);
  let at = 0;
  for (const v of paramValues) {
    out.set(Array.from(v), at);
    at += v.length;
  }
  perTrajectory.forEach((v, j) => out.set(v.subarray(first, first + count), shared + j * count));
  return out;
}
