/** Shared by the GPU tests: evaluates a graph at many points through a generated WGSL evaluator kernel. */
import type { Expr } from '../../src/ir/expr.js';
import { emitWgslEvaluator, WORKGROUP_SIZE } from '../../src/codegen/emit-wgsl.js';
import { acquireGpu, createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer } from '../../src/runtime/index.js';

/**
 * Evaluates `outputs` at `points` (each point: the flattened inputs) through a generated WGSL kernel; returns the
 * outputs of every point, `outputStride` values apart.
 *
 * @example
 * const values = await evaluateOnGpu([z], [sin(index(z, 0))], [[0.5], [1]]);
 */
export async function evaluateOnGpu(inputs: readonly Expr[], outputs: readonly Expr[], points: readonly ArrayLike<number>[], label = 'evaluator'): Promise<Float32Array> {
  const gpu = await acquireGpu();
  const { wgsl, inputStride, outputStride } = emitWgslEvaluator([...inputs], [...outputs]);
  const kernel = await createComputeKernel(gpu, { wgsl, label });
  const data = new Float32Array(Math.max(1, points.length * inputStride));
  points.forEach((pt, k) => data.set(pt, k * inputStride));
  const inBuffer = createStorageBuffer(gpu, data);
  const outBuffer = createStorageBuffer(gpu, points.length * outputStride * 4, { readable: true });
  const control = createUniformBuffer(gpu, new Uint32Array([points.length, 0, 0, 0]));
  kernel.dispatch([inBuffer, outBuffer, control], Math.ceil(points.length / WORKGROUP_SIZE));
  const out = new Float32Array(await readBuffer(gpu, outBuffer));
  inBuffer.destroy();
  outBuffer.destroy();
  control.destroy();
  return out;
}
