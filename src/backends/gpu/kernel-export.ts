/**
 * Kernel export for embedding: everything another WebGPU application needs to run a GPU stepper's kernel on
 * its OWN device without darboux's runtime — the WGSL and entry point, the binding table with buffer sizes,
 * packers for the state, parameter and control buffers, the dispatch size, the steps one dispatch may take, an
 * explicit pipeline layout, and the same as a JSON manifest that documents every packing format (offsets,
 * element types, layout formulas, status-word meanings) for hosts in other languages.
 */
import { DarbouxError } from '../../errors.js';
import {
  NO_CONVERGENCE_FLAG, NONFINITE_BY_FLAG, STATUS_WORD, STATUS_WORDS, STEPPER_CONTROL_WORDS, TRUNCATED_FLAG, WORKGROUP_SIZE, controlWordType,
} from '../../codegen/kernel-words.js';
import { wgslStepperKernel, WGSL_FIXED_POINT, type KernelLoopIterations } from '../../codegen/emit-wgsl.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { specializeParameters } from '../../integrators/specialize.js';
import { size } from '../../ir/shape.js';
import type { Gpu } from '../../runtime/index.js';
import { loopBoundedSteps } from './kernel-host.js';

/** The kinds of buffer binding an exported kernel declares (WebGPU's GPUBufferBindingType). */
export type KernelBindingKind = 'storage' | 'read-only-storage' | 'uniform';

/** One binding of an exported kernel (group 0). */
export interface KernelBinding {
  readonly binding: number;
  readonly name: 'state' | 'params' | 'record' | 'status' | 'control';
  readonly kind: KernelBindingKind;
  /** Bytes of the buffer for `batch` trajectories. */
  byteLength(batch: number): number;
}

/** What one dispatch's control uniform holds (`stepBase` and `offset` default to 0). */
export interface KernelUniformValues {
  batch: number;
  steps: number;
  /** Time of the run's first step: step s of this dispatch is at t0 + (stepBase + s)·dt (for H that depend on t). */
  t0: number;
  /** Steps already taken by earlier dispatches of the run: the kernel reports failing steps from it. */
  stepBase?: number;
  /** First trajectory of this dispatch (only for batches split over several dispatches of one buffer set). */
  offset?: number;
}

/** Device limits the export was sized for, and where they came from. */
export interface KernelLimits {
  readonly source: 'adapter' | 'compatibility-defaults';
  /** The adapter kind ('hardware', 'llvmpipe', 'swiftshader'), null without one. */
  readonly adapterKind: string | null;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

/**
 * WebGPU's compatibility-mode default limits (the least every adapter offers): what a manifest built without an
 * adapter assumes, recorded in it as `limits`.
 */
export const COMPATIBILITY_LIMITS: KernelLimits = {
  source: 'compatibility-defaults',
  adapterKind: null,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
};

/** The JSON manifest of an exported kernel (see `manifestOf` for its fields). */
export type KernelManifest = ReturnType<typeof manifestOf>;

/** An exported kernel: the contract of `GpuStepper.exportKernel()`. */
export interface KernelExport {
  readonly wgsl: string;
  readonly entryPoint: string;
  readonly workgroupSize: number;
  readonly bindings: readonly KernelBinding[];
  /** The contents of the binding named 'state' (q block, then p block, f32). */
  packState(q0: ArrayLike<number>, p0: ArrayLike<number>, batch: number): Float32Array<ArrayBuffer>;
  /** The final state read back from the binding named 'state'. */
  unpackState(data: ArrayBuffer | ArrayBufferView, batch: number): { q: Float64Array; p: Float64Array };
  /** The contents of the binding named 'params' (every parameter of H, concatenated, f32). */
  packParams(): Float32Array<ArrayBuffer>;
  /** The contents of the uniform binding for one dispatch of `steps` steps. */
  packUniform(values: KernelUniformValues): ArrayBuffer;
  /** Workgroup counts [x, y, z] of one dispatch over `batch` trajectories. */
  dispatch(batch: number): [number, number, number];
  /** Steps one dispatch may take on the adapter the stepper was compiled for. */
  readonly maxStepsPerDispatch: number;
  /** A compute pipeline on the caller's device, with an explicit layout (every binding, used or not). */
  createPipeline(device: GPUDevice): GPUComputePipeline;
  /** The manifest: everything above but the functions, plus the layouts as data. */
  toJSON(): KernelManifest;
}

/** What `kernelExport` is built from. */
export interface KernelExportSource {
  /** The WGSL module holding `entryPoint` (declaring bindings 0…4 as `wgslKernelSkeleton` does). */
  readonly wgsl: string;
  readonly entryPoint: string;
  /** Other entry points of the module with the same bindings, described in the manifest. */
  readonly otherEntryPoints?: readonly string[];
  readonly program: StepProgram;
  readonly dt: number;
  readonly maxStepsPerDispatch: number;
  readonly limits: KernelLimits;
}

/** The largest value of the u32 `steps` control word: the bound on hardware adapters, which bound no loop. */
const U32_MAX = 0xffffffff;

/**
 * The limits of a darboux device, for `KernelExportSource.limits`.
 *
 * @example
 * adapterLimits(st.gpu); // { source: 'adapter', adapterKind: 'llvmpipe', maxComputeWorkgroupsPerDimension: 65535, … }
 */
export function adapterLimits(gpu: Gpu): KernelLimits {
  const { maxComputeWorkgroupsPerDimension, maxStorageBufferBindingSize, maxBufferSize } = gpu.limits;
  return { source: 'adapter', adapterKind: gpu.adapterKind, maxComputeWorkgroupsPerDimension, maxStorageBufferBindingSize, maxBufferSize };
}

/** GPUShaderStage.COMPUTE (a literal: the caller's globals need not be installed). */
const COMPUTE_STAGE = 4;

/** Sizes of the bindings: bytes = max(4, fixed + perTrajectory · batch) (WebGPU binds no empty buffer). */
function bindingTable(dof: number, paramFloats: number): { binding: number; name: KernelBinding['name']; kind: KernelBindingKind; fixed: number; perTrajectory: number; fill: string }[] {
  return [
    { binding: 0, name: 'state', kind: 'storage', fixed: 0, perTrajectory: 8 * dof, fill: 'packState' },
    { binding: 1, name: 'params', kind: 'read-only-storage', fixed: 4 * Math.max(1, paramFloats), perTrajectory: 0, fill: 'packParams' },
    { binding: 2, name: 'record', kind: 'storage', fixed: 4, perTrajectory: 0, fill: 'zero' },
    { binding: 3, name: 'status', kind: 'storage', fixed: 0, perTrajectory: 4 * STATUS_WORDS, fill: 'zero' },
    { binding: 4, name: 'control', kind: 'uniform', fixed: 4 * STEPPER_CONTROL_WORDS.length, perTrajectory: 0, fill: 'packUniform' },
  ];
}

/**
 * Describes a per-trajectory stepper kernel for embedding (the body of `GpuStepper.exportKernel()`).
 *
 * @example
 * const k = kernelExport({ wgsl, entryPoint: 'main', program, dt: 0.01, maxStepsPerDispatch: 1000, limits: COMPATIBILITY_LIMITS });
 * const pipeline = k.createPipeline(device);
 */
export function kernelExport(source: KernelExportSource): KernelExport {
  const { program, dt } = source;
  const h = program.system;
  const n = h.dof;
  const paramFloats = h.paramValues.reduce((s, v) => s + v.length, 0);
  const table = bindingTable(n, paramFloats);
  const bindings: KernelBinding[] = table.map(({ binding, name, kind, fixed, perTrajectory }) => ({
    binding, name, kind, byteLength: (batch: number) => Math.max(4, fixed + perTrajectory * checkBatch(batch, 'byteLength')),
  }));
  const maxBatch = WORKGROUP_SIZE * source.limits.maxComputeWorkgroupsPerDimension;
  const maxSteps = Math.min(source.maxStepsPerDispatch, U32_MAX);
  const exported: KernelExport = {
    wgsl: source.wgsl,
    entryPoint: source.entryPoint,
    workgroupSize: WORKGROUP_SIZE,
    bindings,
    maxStepsPerDispatch: maxSteps,
    packState(q0, p0, batch) {
      checkBatch(batch, 'packState');
      if (q0.length !== batch * n || p0.length !== batch * n) {
        throw new DarbouxError('INPUT', `packState: q0 and p0 must hold batch × dof = ${batch} × ${n} values, got ${q0.length} and ${p0.length}`, { batch, dof: n });
      }
      const state = new Float32Array(2 * batch * n);
      state.set(q0, 0);
      state.set(p0, batch * n);
      return state;
    },
    unpackState(data, batch) {
      checkBatch(batch, 'unpackState');
      const f32 = data instanceof ArrayBuffer ? new Float32Array(data) : new Float32Array(data.buffer, data.byteOffset, Math.floor(data.byteLength / 4));
      if (f32.length < 2 * batch * n) throw new DarbouxError('INPUT', `unpackState: ${batch} trajectories need ${8 * batch * n} bytes, got ${f32.length * 4}`, { batch, dof: n });
      return { q: Float64Array.from(f32.subarray(0, batch * n)), p: Float64Array.from(f32.subarray(batch * n, 2 * batch * n)) };
    },
    packParams() {
      const packed = new Float32Array(Math.max(1, paramFloats));
      let at = 0;
      for (const v of h.paramValues) {
        packed.set(v, at);
        at += v.length;
      }
      return packed;
    },
    packUniform: (values) => controlBytes(dt, values, maxSteps),
    dispatch(batch) {
      checkBatch(batch, 'dispatch');
      if (batch > maxBatch) {
        throw new DarbouxError('INPUT', `dispatch: ${batch} trajectories need ${Math.ceil(batch / WORKGROUP_SIZE)} workgroups, over the ${source.limits.maxComputeWorkgroupsPerDimension} one dimension allows; split the batch into buffer sets of at most ${maxBatch}`, { batch, maxBatch });
      }
      return [Math.ceil(batch / WORKGROUP_SIZE), 1, 1];
    },
    createPipeline(device) {
      const module = device.createShaderModule({ code: source.wgsl, label: `darboux-${program.method}` });
      const bindGroupLayout = device.createBindGroupLayout({ entries: table.map(({ binding, kind }) => ({ binding, visibility: COMPUTE_STAGE, buffer: { type: kind } })) });
      const layout = device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] });
      return device.createComputePipeline({ label: `darboux-${program.method}`, layout, compute: { module, entryPoint: source.entryPoint } });
    },
    toJSON: () => manifestOf({ ...source, maxStepsPerDispatch: maxSteps }, table, maxBatch),
  };
  return exported;
}

/** The stepper control uniform of one dispatch (recording off), as `packUniform` returns it. */
function controlBytes(dt: number, { batch, steps, t0, stepBase = 0, offset = 0 }: KernelUniformValues, maxSteps: number): ArrayBuffer {
  checkBatch(batch, 'packUniform');
  if (!Number.isInteger(steps) || steps < 0 || steps > maxSteps) {
    throw new DarbouxError('INPUT', `packUniform: steps must be an integer in 0…${maxSteps} (maxStepsPerDispatch), got ${steps}; split the run into several dispatches`, { steps, maxStepsPerDispatch: maxSteps });
  }
  const values: Record<string, number> = { dt, tStart: t0, steps, stepBase, offset, batch, recordEvery: 0, recordCount: 0 };
  const bytes = new ArrayBuffer(4 * STEPPER_CONTROL_WORDS.length);
  const f32 = new Float32Array(bytes), u32 = new Uint32Array(bytes);
  STEPPER_CONTROL_WORDS.forEach((word, k) => ((controlWordType(word) === 'f32' ? f32 : u32)[k] = values[word]!));
  return bytes;
}

/** Refuses a batch that is not a positive integer. */
function checkBatch(batch: number, what: string): number {
  if (!Number.isInteger(batch) || batch < 1) throw new DarbouxError('INPUT', `${what}: batch must be a positive integer, got ${batch}`, { batch });
  return batch;
}

/** The manifest: the export as data, each packing format written out so a host in any language can implement it. */
function manifestOf(source: KernelExportSource, table: ReturnType<typeof bindingTable>, maxBatch: number) {
  const h = source.program.system;
  const n = h.dof;
  let at = 0;
  const params = h.params.map((node, k) => {
    const entry = { name: node.attrs.name as string, offset: at, length: h.paramValues[k]!.length, shape: [...node.shape], values: Array.from(h.paramValues[k]!) };
    at += size(node.shape);
    return entry;
  });
  return {
    format: 'darboux-kernel/1',
    method: source.program.method,
    dt: source.dt,
    dof: n,
    names: { q: [...h.names.q], p: [...h.names.p] },
    wgsl: source.wgsl,
    entryPoint: source.entryPoint,
    otherEntryPoints: otherEntryPointDocs(source.otherEntryPoints ?? []),
    workgroupSize: WORKGROUP_SIZE,
    maxStepsPerDispatch: source.maxStepsPerDispatch,
    limits: { ...source.limits },
    bindings: table.map(({ binding, name, kind, fixed, perTrajectory, fill }) => ({
      binding, name, kind, byteLength: { fixed, perTrajectory, minimum: 4, formula: 'max(minimum, fixed + perTrajectory * batch)' }, fill,
    })),
    bindGroupLayouts: [{ entries: table.map(({ binding, kind }) => ({ binding, visibility: COMPUTE_STAGE, buffer: { type: kind } })) }],
    state: {
      elementType: 'f32',
      layout: 'q block then p block, each batch × dof, trajectory-major',
      index: { q: 'b * dof + i', p: 'batch * dof + b * dof + i' },
      note: 'the kernel reads the state, advances it by `steps` steps, and writes it back in place: dispatches chain on one buffer',
    },
    params: {
      elementType: 'f32',
      readByKernel: /\bdParams\[/.test(entryBody(source.wgsl, source.entryPoint)),
      length: Math.max(1, at),
      entries: params,
      note: 'parameters of H concatenated in this order (tensors row-major); a buffer of one 0 when there are none',
    },
    uniform: {
      byteLength: 4 * STEPPER_CONTROL_WORDS.length,
      words: STEPPER_CONTROL_WORDS.map((name, k) => ({ name, offset: 4 * k, type: controlWordType(name), value: UNIFORM_WORD_VALUES[name] })),
    },
    status: {
      elementType: 'u32',
      wordsPerTrajectory: STATUS_WORDS,
      index: 'b * wordsPerTrajectory + word',
      words: { ...STATUS_WORD },
      flags: { noConvergence: NO_CONVERGENCE_FLAG, nonfiniteBy: NONFINITE_BY_FLAG, truncated: TRUNCATED_FLAG },
      meanings: STATUS_MEANINGS,
    },
    dispatch: {
      workgroups: '[ceil(batch / workgroupSize), 1, 1]',
      maxBatch,
      maxStepsPerDispatch: 'llvmpipe ends the loops of an invocation after 65 535 iterations, so there a dispatch takes at most the bound computed from the kernel\'s loops; adapters without such a bound get 4294967295 (the u32 steps word), but a long dispatch may meet the operating system\'s GPU watchdog: darboux itself fuses about 2e9 / (batch × step-graph nodes) steps per dispatch',
      schedule: 'zero the status buffer once; for base = 0, m, 2m, … (m ≤ maxStepsPerDispatch): write the uniform with steps = min(m, total − base), stepBase = base, tStart = t0, and dispatch; then read back state and status',
    },
  };
}

/** What the host writes into each control word (steps per dispatch, not per run). */
const UNIFORM_WORD_VALUES: Record<(typeof STEPPER_CONTROL_WORDS)[number], string> = {
  dt: 'the step size',
  tStart: 'the time of the run\'s first step (the kernel uses tStart + (stepBase + s) * dt)',
  steps: 'steps this dispatch takes (≤ maxStepsPerDispatch)',
  stepBase: 'steps taken by earlier dispatches of the run (failing steps are reported from it)',
  offset: 'first trajectory of this dispatch (0 unless a batch is split over several dispatches)',
  batch: 'trajectories in the state buffer',
  recordEvery: '0 (recording is the mainRecord entry point\'s)',
  recordCount: '0',
};

/** The status words, and how to read a non-zero failure word. */
const STATUS_MEANINGS = {
  failure: 'the failing step + 1 in the low bits (0: none), with flags in the high bits: none set — non-finite state at that step (per-step check); nonfiniteBy — non-finite by the end of that step (the state is tested after the dispatch\'s last step only; rerun with mainChecked to find the step); noConvergence — the implicit solve did not converge at that step; truncated — the adapter cut the step loop short at that step: the state is invalid, use fewer steps per dispatch',
  iterationsTotal: 'fixed-point iterations summed over the run (implicit methods; 0 otherwise)',
  iterationsMax: 'the most fixed-point iterations of one step',
  residual: 'f32 bits: the last update of an unconverged solve',
};

/** Entry points the module has besides the exported one, with what they do differently. */
function otherEntryPointDocs(names: readonly string[]): { name: string; description: string }[] {
  const docs: Record<string, string> = {
    mainChecked: 'the same bindings and uniform; tests the state after every step, so a failure word without the nonfiniteBy flag names the exact step',
    mainRecord: 'tests every step and records q then p every recordEvery steps into binding 2 (record: 2 × recordCount × batch × dof f32, q blocks then p blocks, snapshot-major); the uniform\'s recordEvery and recordCount must be set',
  };
  return names.map((name) => ({ name, description: docs[name] ?? '' }));
}

/** The text of one entry point's function in a module (to the next `@compute` or the end). */
function entryBody(wgsl: string, entryPoint: string): string {
  const at = wgsl.indexOf(`fn ${entryPoint}(`);
  if (at < 0) return wgsl;
  const next = wgsl.indexOf('@compute', at);
  return wgsl.slice(at, next < 0 ? undefined : next);
}

/**
 * The export of the kernel `darboux compile --emit wgsl` prints (entry point `main`), built without an adapter:
 * sized for WebGPU's compatibility-mode default limits and for llvmpipe's loop bound (the smallest of the
 * adapters darboux knows), both recorded in the manifest.
 *
 * @example
 * const manifest = kernelExportWithoutDevice(stepProgram(h, 'leapfrog'), 0.01).toJSON();
 */
export function kernelExportWithoutDevice(program: StepProgram, dt: number, options: { specializeParameters?: boolean } & Partial<FixedPointSettings> = {}): KernelExport {
  const settings: FixedPointSettings = {
    tolerance: Math.max(options.tolerance ?? WGSL_FIXED_POINT.tolerance, WGSL_FIXED_POINT.tolerance),
    maxIterations: options.maxIterations ?? WGSL_FIXED_POINT.maxIterations,
  };
  const kernelProgram = options.specializeParameters === false ? program : specializeParameters(program);
  const fast = wgslStepperKernel(kernelProgram, settings, { record: false, checkEveryStep: false });
  return kernelExport({
    wgsl: fast.wgsl,
    entryPoint: 'main',
    program,
    dt,
    maxStepsPerDispatch: portableStepsPerDispatch(fast.loopIterations, settings.maxIterations, program.method),
    limits: COMPATIBILITY_LIMITS,
  });
}

/** Steps per dispatch that every adapter darboux knows runs: llvmpipe's loop bound. */
function portableStepsPerDispatch(loops: KernelLoopIterations, maxIterations: number, method: string): number {
  return loopBoundedSteps({ adapterKind: 'llvmpipe' }, loops, maxIterations, method);
}
