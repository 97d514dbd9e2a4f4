/**
 * Per-trajectory parameters in WGSL kernels: the packed parameter buffer `dParams` holds the stepper's values
 * (all parameters, packed in order) followed by one block per per-trajectory parameter — `dControl.batch`·k values
 * for a parameter of k elements (1 for a scalar), trajectory-major — so no extra binding is needed (llvmpipe's
 * compatibility limit is 4 storage buffers per stage).
 */
import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';

/**
 * WGSL index expressions of the first element of the per-trajectory parameters `indices` (into `params`) for
 * trajectory `b` of the chunk: parameter index → offset into `dParams`, for `bindParams` (a scalar is read there,
 * a tensor's element e is at offset + e).
 *
 * @example
 * wgslTrajectoryParamReads(h.params, [0]); // Map { 0 → '1u + 0u * dControl.batch + b * 1u' } for one scalar λ
 */
export function wgslTrajectoryParamReads(params: readonly Expr[], indices: readonly number[]): ReadonlyMap<number, string> {
  const shared = params.reduce((s, node) => s + size(node.shape), 0);
  let before = 0; // elements per trajectory of the per-trajectory parameters before this one
  return new Map(
    indices.map((k) => {
      const n = size(params[k]!.shape);
      const at = `${shared}u + ${before}u * dControl.batch + b * ${n}u`;
      before += n;
      return [k, at];
    }),
  );
}

/**
 * The `dParams` contents of a chunk: the packed values of every parameter, then for each per-trajectory parameter
 * j (of `sizes[j]` elements, default 1) its values for trajectories `first … first + count − 1` (f32).
 *
 * @example
 * const data = packTrajectoryParams(h.paramValues, [lamValues], 0, 4096);
 */
export function packTrajectoryParams(paramValues: readonly ArrayLike<number>[], perTrajectory: readonly Float64Array[], first: number, count: number, sizes: readonly number[] = perTrajectory.map(() => 1)): Float32Array {
  const shared = paramValues.reduce((s, v) => s + v.length, 0);
  const out = new Float32Array(shared + sizes.reduce((s, k) => s + k, 0) * count);
  let at = 0;
  for (const v of paramValues) {
    out.set(Array.from(v), at);
    at += v.length;
  }
  perTrajectory.forEach((v, j) => {
    const k = sizes[j]!;
    out.set(v.subarray(first * k, (first + count) * k), at);
    at += k * count;
  });
  return out;
}
