/**
 * Runs the batched GPU gradient (gpu-batched-kernels.ts) on a device: compiles its kernels once, keeps `mem`,
 * the index maps and the sample set on the device, and per batch records unpack → chunks → scatter into one
 * compute pass (the caller's, so a training step is one submit), writing a sums buffer laid out as the Adam
 * kernel reads it ([Σ loss, Σ ∂loss/∂θ …]). Each chunk has its own control buffer, written only when the
 * batch size changes.
 */
import { DarbouxError } from '../errors.js';
import {
  createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, submitComputePass, writeBuffer, type ComputeKernel, type Gpu,
} from '../runtime/index.js';
import type { BatchedHnnSpec } from './batched-match.js';
import { batchedGpuProgram, type BatchedBinding, type BatchedKernel } from './gpu-batched-kernels.js';

/** A compiled batched gradient bound to one sample set on one device. */
export interface BatchedGpuGradient {
  /** Records the gradient of the `count` (≤ batch) samples whose indices are in `rows` into `sums`. */
  encode(pass: GPUComputePassEncoder, params: GPUBuffer, rows: GPUBuffer, count: number, sums: GPUBuffer): void;
  /** Buffers owned by this gradient (destroy when done). */
  buffers: GPUBuffer[];
}

/**
 * Compiles the batched gradient of `spec` for minibatches of up to `batch` samples over `data` (a storage
 * buffer of packed f32 records).
 *
 * @example
 * const g = await createBatchedGpuGradient(gpu, spec, 256, dataBuffer);
 * submitComputePass(gpu, 'step', (pass) => g.encode(pass, params, rows, 256, sums));
 */
export async function createBatchedGpuGradient(gpu: Gpu, spec: BatchedHnnSpec, batch: number, data: GPUBuffer): Promise<BatchedGpuGradient> {
  const program = batchedGpuProgram(spec, batch);
  const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  if (program.memWords * 4 > limit) {
    throw new DarbouxError('DEVICE', `fit: the batched GPU gradient needs ${program.memWords * 4} bytes of working memory, over the ${gpu.adapterKind} device's buffer limit of ${limit} bytes; use a smaller batchSize or the CPU backend`, { bytes: program.memWords * 4, limit });
  }
  const mem = createStorageBuffer(gpu, program.memWords * 4, { label: 'darboux-batched-mem' });
  const thetaMap = createStorageBuffer(gpu, program.thetaMap.length > 0 ? program.thetaMap : 4, { label: 'darboux-batched-theta-map' });
  const gradientMap = createStorageBuffer(gpu, program.gradientMap.length > 0 ? program.gradientMap : 4, { label: 'darboux-batched-gradient-map' });
  const controls = Array.from({ length: Math.max(1, Math.ceil(batch / program.chunk)) }, () => createUniformBuffer(gpu, 16));
  const compiled = await Promise.all(program.kernels.map(async (k) => ({ k, kernel: await createComputeKernel(gpu, { wgsl: k.wgsl, label: `darboux-batched-${k.label}` }) })));
  const bind = (k: BatchedKernel, params: GPUBuffer, rows: GPUBuffer, sums: GPUBuffer, ctl: GPUBuffer): GPUBuffer[] =>
    k.bindings.map((b: BatchedBinding) => ({ mem, data, rows, params, sums, ctl, map: k.phase === 'unpack' ? thetaMap : gradientMap })[b]);
  const record = (pass: GPUComputePassEncoder, phase: BatchedKernel['phase'], params: GPUBuffer, rows: GPUBuffer, sums: GPUBuffer, ctl: GPUBuffer) => {
    for (const { k, kernel } of compiled as { k: BatchedKernel; kernel: ComputeKernel }[]) {
      if (k.phase === phase) kernel.encode(pass, bind(k, params, rows, sums, ctl), k.workgroups);
    }
  };
  let written = -1;
  return {
    buffers: [mem, thetaMap, gradientMap, ...controls],
    encode(pass, params, rows, count, sums) {
      if (count > batch) throw new DarbouxError('INTERNAL', `batched GPU gradient: ${count} samples in a batch compiled for ${batch}`, { count, batch });
      if (count !== written) {
        for (let s0 = 0, c = 0; s0 < count; s0 += program.chunk, c++) writeBuffer(gpu, controls[c]!, Uint32Array.of(s0 === 0 ? 1 : 0, Math.min(program.chunk, count - s0), s0, 0));
        written = count;
      }
      record(pass, 'unpack', params, rows, sums, controls[0]!);
      for (let s0 = 0, c = 0; s0 < count; s0 += program.chunk, c++) record(pass, 'chunk', params, rows, sums, controls[c]!);
      record(pass, 'scatter', params, rows, sums, controls[0]!);
    },
  };
}

/**
 * One batch loss and gradient with the batched GPU kernels, read back as [Σ loss, Σ ∂loss/∂θ …] over `rows`
 * (the contract of `evaluateGpuGradient`). For checks against the CPU batched lowering.
 *
 * @example
 * const sums = await evaluateBatchedGpuGradient(gpu, spec, packed.rows, theta, Uint32Array.of(0, 1, 2));
 */
export async function evaluateBatchedGpuGradient(gpu: Gpu, spec: BatchedHnnSpec, records: Float64Array, theta: Float64Array, rows: Uint32Array): Promise<Float64Array> {
  const data = createStorageBuffer(gpu, Float32Array.from(records), { label: 'darboux-batched-data' });
  const g = await createBatchedGpuGradient(gpu, spec, rows.length, data);
  const params = createStorageBuffer(gpu, theta.length > 0 ? Float32Array.from(theta) : 4);
  const rowBuffer = createStorageBuffer(gpu, rows);
  const sums = createStorageBuffer(gpu, (1 + spec.parameters) * 4, { readable: true });
  try {
    submitComputePass(gpu, 'darboux-batched-gradient', (pass) => g.encode(pass, params, rowBuffer, rows.length, sums));
    return Float64Array.from(new Float32Array(await readBuffer(gpu, sums, (1 + spec.parameters) * 4)));
  } finally {
    for (const b of [data, params, rowBuffer, sums, ...g.buffers]) b.destroy();
  }
}
