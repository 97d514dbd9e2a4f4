/**
 * GPU buffers: storage and uniform buffers, writes, and readback through a MAP_READ staging buffer that
 * rejects (rather than hangs) when the device is lost or the map never completes.
 */
import { DarbouxError } from '../errors.js';
import { checkDevice, gpuState, trackErrorScope, type Gpu } from './device.js';

/** Typed arrays a buffer can be filled from. */
export type BufferData = Float32Array | Uint32Array | Int32Array;

/** Options of `createStorageBuffer`. */
export interface StorageBufferOptions {
  /** Whether `readBuffer` may read it back (adds COPY_SRC). Default false. */
  readable?: boolean;
  label?: string;
}

/** Options of `readBuffer`. */
export interface ReadBufferOptions {
  /** Reject after this many milliseconds without the data (default 120 000). */
  timeoutMs?: number;
}

/** Default readback timeout: generous, since a software adapter may still be running a long dispatch. */
export const READBACK_TIMEOUT_MS = 120_000;

function roundUp(n: number, to: number): number {
  return Math.max(to, Math.ceil(n / to) * to);
}

function createFilled(gpu: Gpu, data: BufferData | number, usage: number, align: number, label: string | undefined, what: string): GPUBuffer {
  gpuState(gpu);
  const byteLength = typeof data === 'number' ? data : data.byteLength;
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) throw new DarbouxError('INPUT', `${what}: byte length must be a non-negative integer, got ${byteLength}`);
  const size = roundUp(byteLength, align);
  const limit = usage & GPUBufferUsage.STORAGE ? Math.min(gpu.limits.maxBufferSize, gpu.limits.maxStorageBufferBindingSize) : gpu.limits.maxBufferSize;
  if (size > limit) {
    throw new DarbouxError('DEVICE', `${what}: ${size} bytes is over the ${gpu.adapterKind} device's limit of ${limit} bytes per buffer; split the batch`, { size, limit });
  }
  const { device } = gpu;
  device.pushErrorScope('out-of-memory');
  const buffer = device.createBuffer({ label, size, usage, mappedAtCreation: typeof data !== 'number' });
  if (typeof data !== 'number') {
    const view = new Uint8Array(buffer.getMappedRange());
    view.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
  }
  trackErrorScope(gpu, device.popErrorScope(), `${what}: allocating ${size} bytes failed`);
  return buffer;
}

/**
 * A storage buffer (STORAGE | COPY_DST, plus COPY_SRC when readable), filled from `data` or zeroed with
 * `data` bytes. Sizes round up to 4 bytes.
 *
 * @example
 * const x = createStorageBuffer(gpu, new Float32Array([1, 2, 3]));
 * const y = createStorageBuffer(gpu, 3 * 4, { readable: true });
 */
export function createStorageBuffer(gpu: Gpu, data: BufferData | number, options: StorageBufferOptions = {}): GPUBuffer {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | (options.readable ? GPUBufferUsage.COPY_SRC : 0);
  return createFilled(gpu, data, usage, 4, options.label, 'createStorageBuffer');
}

/**
 * A uniform buffer (UNIFORM | COPY_DST), filled from `data` or zeroed; sizes round up to 16 bytes.
 *
 * @example
 * const control = createUniformBuffer(gpu, new Uint32Array([offset, count, 0, 0]));
 * writeBuffer(gpu, control, new Uint32Array([nextOffset, count, 0, 0]));
 */
export function createUniformBuffer(gpu: Gpu, data: BufferData | number, options: { label?: string } = {}): GPUBuffer {
  return createFilled(gpu, data, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 16, options.label, 'createUniformBuffer');
}

/**
 * Writes `data` into `buffer` at `byteOffset` (queued: ordered before every later dispatch).
 *
 * @example
 * writeBuffer(gpu, x, new Float32Array([4, 5, 6]));
 */
export function writeBuffer(gpu: Gpu, buffer: GPUBuffer, data: BufferData | ArrayBuffer, byteOffset = 0): void {
  gpuState(gpu);
  const bytes = data instanceof ArrayBuffer ? data.byteLength : data.byteLength;
  if (byteOffset % 4 !== 0 || bytes % 4 !== 0 || byteOffset + bytes > buffer.size) {
    throw new DarbouxError('INPUT', `writeBuffer: ${bytes} bytes at offset ${byteOffset} do not fit a ${buffer.size}-byte buffer (both must be multiples of 4)`);
  }
  if (data instanceof ArrayBuffer) gpu.device.queue.writeBuffer(buffer, byteOffset, data);
  else gpu.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Copies `byteLength` bytes (default: the whole buffer) back to the CPU, after every dispatch submitted before
 * it. Rejects with DarbouxError('DEVICE') if an earlier dispatch was invalid, the device is lost, or the data
 * does not arrive within the timeout.
 *
 * @example
 * const y = new Float32Array(await readBuffer(gpu, output));
 */
export async function readBuffer(gpu: Gpu, buffer: GPUBuffer, byteLength?: number, options: ReadBufferOptions = {}): Promise<ArrayBuffer> {
  const state = gpuState(gpu);
  const size = byteLength ?? buffer.size;
  if (!(buffer.usage & GPUBufferUsage.COPY_SRC)) {
    throw new DarbouxError('INPUT', `readBuffer: buffer '${buffer.label || '(unlabeled)'}' was not created readable (createStorageBuffer(…, { readable: true }))`);
  }
  if (!Number.isSafeInteger(size) || size < 0 || size % 4 !== 0 || size > buffer.size) {
    throw new DarbouxError('INPUT', `readBuffer: byteLength ${size} must be a multiple of 4 within the buffer's ${buffer.size} bytes`);
  }
  if (size === 0) {
    await checkDevice(gpu);
    return new ArrayBuffer(0);
  }
  const { device } = gpu;
  const staging = device.createBuffer({ label: 'darboux-readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    return await copyAndMap(gpu, [{ buffer, bytes: size }], staging, options, (mapped) => mapped.slice(0));
  } finally {
    if (!state.released) staging.destroy();
  }
}

/** One source of `readBuffersWith`: the first `bytes` bytes of `buffer` (a multiple of 4, readable). */
export interface ReadbackRange {
  buffer: GPUBuffer;
  bytes: number;
}

/**
 * Reads several buffers back in ONE copy submission and ONE map of a staging buffer (`staging`, MAP_READ |
 * COPY_DST, at least the sum of the ranges; kept by the caller for reuse, left unmapped), and calls `use` with
 * the mapped bytes and each range's byte offset in them, while mapped (valid only during the call: convert or
 * copy there, e.g. `new Float32Array(mapped, offsets[0], n)`). Rejects as `readBuffer` does (invalid dispatch,
 * lost device, timeout).
 *
 * @example
 * const staging = gpu.device.createBuffer({ size: 1024, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
 * const first = await readBuffersWith(gpu, [{ buffer: a, bytes: 512 }, { buffer: b, bytes: 16 }], staging, (mapped, [at, bt]) => new Float32Array(mapped, at, 1)[0] + new Uint32Array(mapped, bt, 1)[0]);
 */
export async function readBuffersWith<T>(gpu: Gpu, ranges: readonly ReadbackRange[], staging: GPUBuffer, use: (mapped: ArrayBuffer, offsets: number[]) => T, options: ReadBufferOptions = {}): Promise<T> {
  gpuState(gpu);
  for (const r of ranges) {
    if (!(r.buffer.usage & GPUBufferUsage.COPY_SRC)) throw new DarbouxError('INPUT', `readBuffersWith: buffer '${r.buffer.label || '(unlabeled)'}' was not created readable`);
    if (!Number.isSafeInteger(r.bytes) || r.bytes <= 0 || r.bytes % 4 !== 0 || r.bytes > r.buffer.size) {
      throw new DarbouxError('INPUT', `readBuffersWith: ${r.bytes} bytes must be a positive multiple of 4 within the buffer's ${r.buffer.size} bytes`);
    }
  }
  const offsets: number[] = [];
  let total = 0;
  for (const r of ranges) {
    offsets.push(total);
    total += r.bytes;
  }
  if (total > staging.size) throw new DarbouxError('INPUT', `readBuffersWith: ${total} bytes do not fit the ${staging.size}-byte staging buffer`);
  return copyAndMap(gpu, ranges, staging, options, (mapped) => use(mapped, offsets));
}

/** Copies `ranges` into `staging` back to back (one submission), maps it, and hands `use` the mapped bytes; unmaps after. */
async function copyAndMap<T>(gpu: Gpu, ranges: readonly ReadbackRange[], staging: GPUBuffer, options: ReadBufferOptions, use: (mapped: ArrayBuffer) => T): Promise<T> {
  const state = gpuState(gpu);
  const { device } = gpu;
  const size = ranges.reduce((s, r) => s + r.bytes, 0);
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder({ label: 'darboux-readback' });
  let at = 0;
  for (const r of ranges) {
    encoder.copyBufferToBuffer(r.buffer, 0, staging, at, r.bytes);
    at += r.bytes;
  }
  device.queue.submit([encoder.finish()]);
  trackErrorScope(gpu, device.popErrorScope(), 'readBuffer: copying the buffer back was invalid');
  const timeoutMs = options.timeoutMs ?? READBACK_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<DarbouxError>((resolve) => {
    timer = setTimeout(
      () => resolve(new DarbouxError('DEVICE', `readBuffer: no data from the ${gpu.adapterKind} GPU after ${timeoutMs / 1000} s (a hung or crashed driver?)`, { timeoutMs })),
      timeoutMs,
    );
  });
  let isMapped = false;
  try {
    const mapped = staging.mapAsync(GPUMapMode.READ, 0, size).then(
      () => {
        isMapped = true;
      },
      (e: unknown) => new DarbouxError('DEVICE', `readBuffer: mapping failed on the ${gpu.adapterKind} GPU: ${e instanceof Error ? e.message : String(e)}`),
    );
    const outcome = await Promise.race([mapped, state.lost, timeout]);
    // Report an invalid dispatch before a failed map: the dispatch is the cause.
    await checkDevice(gpu);
    if (outcome) throw outcome;
    return use(staging.getMappedRange(0, size));
  } finally {
    clearTimeout(timer);
    if (isMapped && !state.released) staging.unmap();
  }
}
