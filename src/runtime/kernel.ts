/**
 * Compute kernels: WGSL compiled once per device (pipelines cached by WGSL text), dispatched with buffers bound
 * in order at group 0. Compilation and validation errors become DarbouxError('DEVICE') naming the WGSL line.
 */
import { DarbouxError } from '../errors.js';
import { gpuState, trackErrorScope, type Gpu } from './device.js';

/** What `createComputeKernel` compiles. */
export interface KernelSource {
  wgsl: string;
  /** Entry point (default: the first `@compute` function in the WGSL). */
  entryPoint?: string;
  label?: string;
}

/** A compiled compute pipeline. */
export interface ComputeKernel {
  readonly label: string;
  readonly entryPoint: string;
  /** Seconds spent compiling (0 when the pipeline came from the cache). */
  readonly compileSeconds: number;
  /**
   * Binds `bindings` at group 0, bindings 0..n−1, and submits one dispatch. Validation errors surface in the
   * next `readBuffer` / `checkDevice` (or the next dispatch) as DarbouxError('DEVICE').
   */
  dispatch(bindings: readonly GPUBuffer[], workgroups: number | readonly [number, number?, number?]): void;
  /** Records the same dispatch into an open compute pass instead of submitting it (see `submitComputePass`). */
  encode(pass: GPUComputePassEncoder, bindings: readonly GPUBuffer[], workgroups: number | readonly [number, number?, number?]): void;
}

/** One chunk of a split 1-D dispatch: invocations offset … offset+count−1, run by `workgroups` workgroups. */
export interface DispatchChunk {
  offset: number;
  count: number;
  workgroups: number;
}

type BindingKind = 'storage' | 'read-only-storage' | 'uniform';

interface CachedPipeline {
  pipeline: GPUComputePipeline;
  bindings: BindingKind[] | undefined;
  entryPoint: string;
  compileSeconds: number;
}

/**
 * The group-0 bindings a WGSL module declares, in binding order; undefined when it is not simple to read
 * (then the pipeline uses the 'auto' layout, which drops bindings the entry point does not use).
 *
 * @example
 * declaredBindings('@group(0) @binding(0) var<storage, read> a: array<f32>;\n@group(0) @binding(1) var<uniform> c: C;');
 * // → ['read-only-storage', 'uniform']
 */
export function declaredBindings(wgsl: string): BindingKind[] | undefined {
  const code = wgsl.replace(/\/\/[^\n]*/g, '');
  const found = new Map<number, BindingKind>();
  const re = /((?:@(?:group|binding)\s*\(\s*\d+\s*\)\s*){2})var\s*<\s*([a-z_]+)\s*(?:,\s*([a-z_]+)\s*)?>/g;
  for (const m of code.matchAll(re)) {
    const group = /@group\s*\(\s*(\d+)/.exec(m[1]!)?.[1];
    const binding = /@binding\s*\(\s*(\d+)/.exec(m[1]!)?.[1];
    if (group === undefined || binding === undefined) return undefined;
    if (group !== '0') return undefined;
    const kind: BindingKind | undefined = m[2] === 'uniform' ? 'uniform' : m[2] === 'storage' ? (m[3] === 'read_write' ? 'storage' : 'read-only-storage') : undefined;
    if (!kind) return undefined;
    found.set(Number(binding), kind);
  }
  if (found.size === 0) return undefined;
  const list: BindingKind[] = [];
  for (let i = 0; i < found.size; i++) {
    const k = found.get(i);
    if (!k) return undefined; // gaps: leave it to the 'auto' layout
    list.push(k);
  }
  return list;
}

/** Formats a WGSL diagnostic as "line L:C: message" with the line's text and a caret. */
function wgslError(what: string, wgsl: string, msg: GPUCompilationMessage | undefined, fallback: string, all: readonly GPUCompilationMessage[] = []): DarbouxError {
  if (!msg || msg.lineNum === 0) return new DarbouxError('DEVICE', `${what}: ${msg?.message ?? fallback}`, { messages: all.map((m) => m.message) });
  const lineText = wgsl.split('\n')[msg.lineNum - 1] ?? '';
  const caret = ' '.repeat(String(msg.lineNum).length + 3 + Math.max(0, msg.linePos - 1)) + '^';
  return new DarbouxError('DEVICE', `${what} at line ${msg.lineNum}:${msg.linePos}: ${msg.message}\n${msg.lineNum} | ${lineText}\n${caret}`, {
    line: msg.lineNum,
    column: msg.linePos,
    lineText,
    gpuMessage: msg.message,
    messages: all.map((m) => `${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`),
  });
}

async function compile(gpu: Gpu, src: KernelSource, entryPoint: string): Promise<CachedPipeline> {
  const { device } = gpu;
  const what = `WGSL kernel '${src.label ?? entryPoint}' failed to compile on the ${gpu.adapterKind} GPU`;
  const t0 = performance.now();
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: src.wgsl, label: src.label });
  const info = await module.getCompilationInfo();
  const moduleError = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length > 0 || moduleError) throw wgslError(what, src.wgsl, errors[0], moduleError?.message ?? 'unknown error', info.messages);
  const bindings = declaredBindings(src.wgsl);
  device.pushErrorScope('validation');
  let pipeline: GPUComputePipeline;
  try {
    const layout: GPUPipelineLayout | 'auto' = bindings
      ? device.createPipelineLayout({
          bindGroupLayouts: [
            device.createBindGroupLayout({
              entries: bindings.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })),
            }),
          ],
        })
      : 'auto';
    pipeline = await device.createComputePipelineAsync({ label: src.label, layout, compute: { module, entryPoint } });
  } catch (e) {
    await device.popErrorScope().catch(() => null);
    throw new DarbouxError('DEVICE', `WGSL kernel '${src.label ?? entryPoint}': pipeline creation failed on the ${gpu.adapterKind} GPU: ${e instanceof Error ? e.message : String(e)}`);
  }
  const layoutError = await device.popErrorScope();
  if (layoutError) throw new DarbouxError('DEVICE', `WGSL kernel '${src.label ?? entryPoint}': ${layoutError.message}`, { gpuMessage: layoutError.message });
  return { pipeline, bindings, entryPoint, compileSeconds: (performance.now() - t0) / 1000 };
}

/** How many pipelines the per-device cache keeps, and how much WGSL text (bytes) they may come from in all. */
export interface PipelineCacheLimits {
  count: number;
  bytes: number;
}

/** The cache bound: least recently used pipelines are dropped beyond either limit (a big kernel counts by its size). */
const pipelineCacheLimits: PipelineCacheLimits = { count: 64, bytes: 16 * 2 ** 20 };

/** Pipelines compiled per device (cache misses), for tests and benches. */
const compiledPipelines = new WeakMap<Gpu, number>();

/**
 * Sets the per-device pipeline cache bound (LRU by count and by WGSL bytes) and returns the previous one.
 *
 * @example
 * const before = setPipelineCacheLimits({ count: 8, bytes: 2 ** 20 });
 * setPipelineCacheLimits(before);
 */
export function setPipelineCacheLimits(limits: Partial<PipelineCacheLimits>): PipelineCacheLimits {
  const before = { ...pipelineCacheLimits };
  for (const key of ['count', 'bytes'] as const) {
    const v = limits[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1) throw new DarbouxError('OPTION', `pipeline cache ${key} must be a positive integer, got ${v}`, { option: key, value: v });
    pipelineCacheLimits[key] = v;
  }
  return before;
}

/**
 * The pipeline cache of a device: pipelines held, the WGSL bytes they came from, and pipelines compiled so far.
 *
 * @example
 * const { pipelines, compiled } = pipelineCacheStats(gpu);
 */
export function pipelineCacheStats(gpu: Gpu): { pipelines: number; wgslBytes: number; compiled: number } {
  const state = gpuState(gpu);
  let wgslBytes = 0;
  for (const key of state.pipelines.keys()) wgslBytes += key.length;
  return { pipelines: state.pipelines.size, wgslBytes, compiled: compiledPipelines.get(gpu) ?? 0 };
}

/**
 * Drops the cached pipelines of a WGSL module (every entry point), e.g. when the stepper that compiled it is
 * disposed; kernels already created keep working. Nothing happens on a released device.
 *
 * @example
 * dropPipelines(gpu, st.wgsl);
 */
export function dropPipelines(gpu: Gpu, wgsl: string): void {
  let state;
  try {
    state = gpuState(gpu);
  } catch {
    return; // released or lost: its cache is gone
  }
  for (const key of [...state.pipelines.keys()]) if (key.endsWith(wgsl) && key.length - wgsl.length === key.indexOf('\u0000') + 1) state.pipelines.delete(key);
}

/** Drops least recently used pipelines (the Map's first keys) beyond the cache limits. */
function evictPipelines(pipelines: Map<string, Promise<unknown>>): void {
  let bytes = 0;
  for (const key of pipelines.keys()) bytes += key.length;
  for (const oldest of pipelines.keys()) {
    if (pipelines.size <= pipelineCacheLimits.count && bytes <= pipelineCacheLimits.bytes) break;
    if (pipelines.size === 1) break; // the one just used stays
    pipelines.delete(oldest);
    bytes -= oldest.length;
  }
}

/**
 * Compiles a WGSL compute kernel (cached per device by WGSL text and entry point). Throws DarbouxError('DEVICE')
 * with the offending WGSL line on a compile error.
 *
 * @example
 * const k = await createComputeKernel(gpu, { wgsl, label: 'scale' });
 * k.dispatch([input, output, control], Math.ceil(n / 64));
 * const out = new Float32Array(await readBuffer(gpu, output));
 */
export async function createComputeKernel(gpu: Gpu, src: KernelSource): Promise<ComputeKernel> {
  const state = gpuState(gpu);
  const entryPoint = src.entryPoint ?? /@compute[^]*?\bfn\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(src.wgsl)?.[1] ?? 'main';
  const key = `${entryPoint}\u0000${src.wgsl}`;
  let cached = state.pipelines.get(key) as Promise<CachedPipeline> | undefined;
  const fresh = !cached;
  if (cached) state.pipelines.delete(key); // re-inserted below: the Map's order is least recently used first
  else {
    compiledPipelines.set(gpu, (compiledPipelines.get(gpu) ?? 0) + 1);
    const pending = compile(gpu, src, entryPoint);
    cached = pending;
    pending.catch(() => state.pipelines.get(key) === pending && state.pipelines.delete(key));
  }
  state.pipelines.set(key, cached);
  // Bounded: steppers compiled with new parameter values have new WGSL (parameters are compiled in), so a
  // long-lived process would otherwise keep every pipeline. Evicted pipelines stay with the kernels using them.
  evictPipelines(state.pipelines);
  const { pipeline, bindings, compileSeconds } = await cached;
  const label = src.label ?? entryPoint;
  const { device } = gpu;
  let lastBuffers: readonly GPUBuffer[] = [];
  let lastGroup: GPUBindGroup | undefined;

  const record = (pass: GPUComputePassEncoder, buffers: readonly GPUBuffer[], workgroups: number | readonly [number, number?, number?]) => {
    const [x, y = 1, z = 1] = typeof workgroups === 'number' ? [workgroups] : workgroups;
    const max = gpu.limits.maxComputeWorkgroupsPerDimension;
    for (const w of [x, y, z]) {
      if (!Number.isInteger(w) || w < 0 || w > max) {
        throw new DarbouxError('DEVICE', `kernel '${label}': ${w} workgroups in one dimension; the device allows 0…${max} (split the dispatch with splitDispatch)`, { workgroups: [x, y, z], max });
      }
    }
    if (bindings && buffers.length !== bindings.length) {
      throw new DarbouxError('DEVICE', `kernel '${label}' declares ${bindings.length} bindings at group 0 but was given ${buffers.length} buffers`);
    }
    if (!lastGroup || lastBuffers.length !== buffers.length || lastBuffers.some((b, i) => b !== buffers[i])) {
      lastGroup = device.createBindGroup({
        label: `${label}-bindings`,
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      lastBuffers = [...buffers];
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, lastGroup);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
  };
  return {
    label,
    entryPoint,
    compileSeconds: fresh ? compileSeconds : 0,
    dispatch(buffers, workgroups) {
      submitComputePass(gpu, label, (pass) => record(pass, buffers, workgroups));
    },
    encode(pass, buffers, workgroups) {
      gpuState(gpu);
      record(pass, buffers, workgroups);
    },
  };
}

/**
 * Records dispatches into one compute pass and submits it as one command buffer (one submit instead of one per
 * dispatch: on software adapters each submit costs ~0.1 ms of host time). Errors surface like `dispatch`'s.
 *
 * @example
 * submitComputePass(gpu, 'step', (pass) => { a.encode(pass, [x, y], 4); b.encode(pass, [y, z], 4); });
 */
export function submitComputePass(gpu: Gpu, label: string, recordAll: (pass: GPUComputePassEncoder) => void): void {
  gpuState(gpu); // throws if released or an earlier error is known
  const { device } = gpu;
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  try {
    const encoder = device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    try {
      recordAll(pass);
    } finally {
      pass.end();
    }
    device.queue.submit([encoder.finish()]);
  } finally {
    trackErrorScope(gpu, device.popErrorScope(), `kernel '${label}' dispatch was invalid`);
    trackErrorScope(gpu, device.popErrorScope(), `kernel '${label}' ran out of GPU memory`);
  }
}

/**
 * Splits a 1-D dispatch of `count` invocations into chunks that each fit in `maxWorkgroupsPerDimension`
 * workgroups of `workgroupSize`. Each chunk's kernel reads its `offset` from a uniform.
 *
 * @example
 * splitDispatch(100_000, 64, 500);
 * // → [{ offset: 0, count: 32000, workgroups: 500 }, { offset: 32000, … }, …, { offset: 96000, count: 4000, workgroups: 63 }]
 */
export function splitDispatch(count: number, workgroupSize: number, maxWorkgroupsPerDimension: number): DispatchChunk[] {
  for (const [name, v, min] of [['count', count, 0], ['workgroupSize', workgroupSize, 1], ['maxWorkgroupsPerDimension', maxWorkgroupsPerDimension, 1]] as const) {
    if (!Number.isSafeInteger(v) || v < min) throw new DarbouxError('INPUT', `splitDispatch: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  const perChunk = workgroupSize * maxWorkgroupsPerDimension;
  const chunks: DispatchChunk[] = [];
  for (let offset = 0; offset < count; offset += perChunk) {
    const n = Math.min(perChunk, count - offset);
    chunks.push({ offset, count: n, workgroups: Math.ceil(n / workgroupSize) });
  }
  return chunks;
}
