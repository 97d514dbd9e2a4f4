/**
 * The GPU device: acquired once per adapter choice, shared, and released explicitly so that Node exits.
 * Errors that WebGPU reports asynchronously (validation, out-of-memory, device loss) are collected here and
 * rethrown as DarbouxError('DEVICE') by `checkDevice` (which `readBuffer` calls).
 */
import { DarbouxError } from '../errors.js';
import { describeAdapter, findAdapter, requestedAdapter, type AdapterChoice } from './adapter.js';

/** The device limits darboux sizes its dispatches and buffers by. */
export interface GpuLimits {
  maxStorageBuffersPerShaderStage: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxBufferSize: number;
}

/** An acquired WebGPU device and what it is. */
export interface Gpu {
  readonly device: GPUDevice;
  readonly adapterKind: AdapterChoice;
  /** vendor / architecture / device / description, from `adapter.info`. */
  readonly description: string;
  readonly featureLevel: 'core' | 'compatibility';
  readonly limits: GpuLimits;
}

/** What `gpuInfo` reports. */
export interface GpuInfo {
  adapter: AdapterChoice;
  description: string;
  featureLevel: 'core' | 'compatibility';
  limits: GpuLimits;
}

/** Options of `acquireGpu` and `gpuInfo`. */
export interface AcquireOptions {
  /** Which adapter (default: env DARBOUX_ADAPTER, else hardware → llvmpipe → SwiftShader). */
  adapter?: AdapterChoice;
}

/** Per-device bookkeeping, not part of the public `Gpu` shape. */
export interface GpuState {
  /** The dawn instance: it must stay referenced while the device is in use. */
  instance: GPU | undefined;
  /** Error-scope results of submitted work, not yet inspected. */
  pending: Promise<DarbouxError | undefined>[];
  /** Set when the device is lost; every later operation rethrows it. */
  failure: DarbouxError | undefined;
  /** Resolves with an error when the device is lost (never resolves on `releaseGpu`). */
  lost: Promise<DarbouxError>;
  released: boolean;
  /** Compiled pipelines keyed by entry point and WGSL text. */
  pipelines: Map<string, Promise<unknown>>;
}

const LIMIT_KEYS: readonly (keyof GpuLimits)[] = [
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxBufferSize',
];

const states = new WeakMap<Gpu, GpuState>();
/** Acquired (or being acquired) devices, keyed by the requested choice ('auto' for none) and by the kind found. */
const cache = new Map<string, Promise<Gpu>>();

/**
 * Internal: the bookkeeping of a Gpu; throws if it was released or its device was lost.
 *
 * @example
 * const { pipelines } = gpuState(gpu);
 */
export function gpuState(gpu: Gpu): GpuState {
  const state = states.get(gpu);
  if (!state) throw new DarbouxError('DEVICE', 'this object is not a Gpu from acquireGpu');
  if (state.released) throw new DarbouxError('DEVICE', `the ${gpu.adapterKind} GPU was released (releaseGpu); acquire it again`);
  if (state.failure) throw state.failure;
  return state;
}

/**
 * Internal: records the outcome of an error scope so `checkDevice` can report it.
 *
 * @example
 * gpu.device.pushErrorScope('validation');
 * gpu.device.queue.submit([encoder.finish()]);
 * trackErrorScope(gpu, gpu.device.popErrorScope(), 'my submit was invalid');
 */
export function trackErrorScope(gpu: Gpu, scope: Promise<GPUError | null>, what: string): void {
  const state = gpuState(gpu);
  state.pending.push(
    scope.then(
      (e) => (e ? new DarbouxError('DEVICE', `${what}: ${e.message}`, { adapter: gpu.adapterKind, gpuMessage: e.message }) : undefined),
      (e: unknown) => new DarbouxError('DEVICE', `${what}: ${e instanceof Error ? e.message : String(e)}`),
    ),
  );
}

async function openDevice(choice: AdapterChoice | undefined): Promise<Gpu> {
  const found = await findAdapter(choice);
  const { adapter } = found;
  // Ask for everything the adapter allows on the limits we size by (the defaults, at compatibility level
  // especially, are far lower: 128 invocations per workgroup, 8 storage buffers).
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMIT_KEYS) requiredLimits[k] = adapter.limits[k];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: `darboux-${found.kind}`, requiredLimits });
  } catch (e) {
    throw new DarbouxError('DEVICE', `requestDevice on the ${found.kind} adapter (${describeAdapter(adapter)}) failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const limits = Object.fromEntries(LIMIT_KEYS.map((k) => [k, device.limits[k]])) as unknown as GpuLimits;
  const gpu: Gpu = Object.freeze({
    device,
    adapterKind: found.kind,
    description: describeAdapter(adapter),
    featureLevel: found.featureLevel,
    limits: Object.freeze(limits),
  });
  const state: GpuState = {
    instance: found.instance,
    pending: [],
    failure: undefined,
    lost: new Promise<DarbouxError>((resolve) => {
      void device.lost.then((info) => {
        if (state.released) return; // our own destroy(): not an error, and nothing waits on it any more
        const err = new DarbouxError('DEVICE', `the ${found.kind} GPU device was lost (${info.reason}): ${info.message}`, { reason: info.reason });
        state.failure ??= err;
        forget(gpu); // the next acquireGpu opens a fresh device
        resolve(err);
      });
    }),
    released: false,
    pipelines: new Map(),
  };
  device.onuncapturederror = (ev) => {
    const err = new DarbouxError('DEVICE', `WebGPU error on the ${found.kind} device: ${ev.error.message}`, { gpuMessage: ev.error.message });
    state.pending.push(Promise.resolve(err));
  };
  states.set(gpu, state);
  return gpu;
}

/** Drops a Gpu from the cache (after device loss). */
function forget(gpu: Gpu): void {
  for (const [key, p] of cache) {
    void p.then((g) => {
      if (g === gpu && cache.get(key) === p) cache.delete(key);
    }, () => undefined);
  }
}

/**
 * Acquires the GPU device (cached: one per adapter choice). The adapter is the one asked for (option or env
 * `DARBOUX_ADAPTER`), else a hardware GPU, else Mesa llvmpipe (OpenGL ES/EGL, compatibility level), else
 * SwiftShader. Throws DarbouxError('DEVICE') listing what was tried when none works.
 *
 * @example
 * const gpu = await acquireGpu();                        // best available
 * const cpuGpu = await acquireGpu({ adapter: 'llvmpipe' });
 * console.log(gpu.adapterKind, gpu.description);
 * await releaseGpu();
 */
export function acquireGpu(options: AcquireOptions = {}): Promise<Gpu> {
  let choice: AdapterChoice | undefined;
  try {
    choice = requestedAdapter(options.adapter);
  } catch (e) {
    return Promise.reject(e);
  }
  const key = choice ?? 'auto';
  const hit = cache.get(key);
  if (hit) return hit;
  const pending = openDevice(choice).then(
    (gpu) => {
      if (!cache.has(gpu.adapterKind)) cache.set(gpu.adapterKind, pending);
      return gpu;
    },
    (e: unknown) => {
      cache.delete(key); // let a later call retry (after the user installed a driver, say)
      throw e;
    },
  );
  cache.set(key, pending);
  return pending;
}

/**
 * Destroys the device(s) and drops every reference to dawn, so that Node can exit. With no argument, releases
 * every acquired GPU. A released Gpu throws on use; `acquireGpu` then opens a fresh one.
 *
 * @example
 * const gpu = await acquireGpu();
 * // … dispatch kernels …
 * await releaseGpu();
 */
export async function releaseGpu(gpu?: Gpu): Promise<void> {
  const entries = [...cache.entries()];
  const settled = await Promise.all(entries.map(([, p]) => p.then((g) => g, () => undefined)));
  const targets = new Set<Gpu>();
  entries.forEach(([key], i) => {
    const g = settled[i];
    if (gpu === undefined || g === gpu) {
      cache.delete(key);
      if (g) targets.add(g);
    }
  });
  if (gpu) targets.add(gpu);
  for (const g of targets) {
    const state = states.get(g);
    if (!state || state.released) continue;
    state.released = true;
    state.pending = [];
    state.pipelines.clear();
    g.device.onuncapturederror = null;
    g.device.destroy();
    state.instance = undefined;
  }
}

/**
 * Waits for the work submitted so far to be validated and throws the first asynchronous WebGPU error
 * (validation, out-of-memory, device loss) as DarbouxError('DEVICE'). `readBuffer` calls it.
 *
 * @example
 * kernel.dispatch([a, b], 64);
 * await checkDevice(gpu); // throws if the dispatch was invalid
 */
export async function checkDevice(gpu: Gpu): Promise<void> {
  const state = gpuState(gpu);
  while (state.pending.length > 0) {
    const batch = state.pending;
    state.pending = [];
    const errors = await Promise.all(batch);
    const first = errors.find((e) => e !== undefined);
    if (first) throw first; // reported once: the device stays usable after a bad dispatch
  }
  if (state.failure) throw state.failure;
}

/**
 * Describes the adapter that `acquireGpu` would use (acquiring it if needed).
 *
 * @example
 * const { adapter, description, featureLevel, limits } = await gpuInfo();
 * console.log(`${adapter}: ${description} (${featureLevel}), ${limits.maxComputeWorkgroupsPerDimension} workgroups`);
 */
export async function gpuInfo(options: AcquireOptions = {}): Promise<GpuInfo> {
  const gpu = await acquireGpu(options);
  return { adapter: gpu.adapterKind, description: gpu.description, featureLevel: gpu.featureLevel, limits: { ...gpu.limits } };
}

/**
 * Whether a GPU (of the given kind, or any) can be acquired. Never throws.
 *
 * @example
 * const backend = (await gpuAvailable()) ? 'gpu' : 'cpu';
 * const onLlvmpipe = await gpuAvailable('llvmpipe');
 */
export async function gpuAvailable(adapter?: AdapterChoice | AcquireOptions): Promise<boolean> {
  try {
    await acquireGpu(typeof adapter === 'object' ? adapter : { adapter });
    return true;
  } catch {
    return false;
  }
}
