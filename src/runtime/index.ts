/**
 * The WebGPU runtime: adapter selection (hardware → Mesa llvmpipe → SwiftShader), one cached device per
 * adapter choice, compute kernels with WGSL-line error reporting, buffers and dispatch splitting.
 */
export { type AdapterChoice, ADAPTER_CHOICES, SOFTWARE_ADAPTER_PACKAGES, SWIFTSHADER_ICD } from './adapter.js';
export { acquireGpu, releaseGpu, gpuInfo, gpuAvailable, checkDevice, type Gpu, type GpuInfo, type GpuLimits, type AcquireOptions } from './device.js';
export {
  createComputeKernel,
  submitComputePass,
  splitDispatch,
  setPipelineCacheLimits,
  pipelineCacheStats,
  dropPipelines,
  type ComputeKernel,
  type KernelSource,
  type DispatchChunk,
  type PipelineCacheLimits,
} from './kernel.js';
export {
  createStorageBuffer,
  createUniformBuffer,
  writeBuffer,
  readBuffer,
  readBuffersWith,
  type ReadbackRange,
  READBACK_TIMEOUT_MS,
  type BufferData,
  type StorageBufferOptions,
  type ReadBufferOptions,
} from './buffers.js';
