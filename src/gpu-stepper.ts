import { DarbouxError } from './errors.js';
import { emitWgslStepper, NO_CONVERGENCE_FLAG, STATUS_WORDS, STEPPER_CONTROL_WORDS, WGSL_FIXED_POINT, WORKGROUP_SIZE } from './codegen/emit-wgsl.js';
import type { FixedPointSettings } from './codegen/step-body.js';
import { JS_FIXED_POINT } from './codegen/emit-js-stepper.js';
import { jacobianFunction } from './integrators/jacobian.js';
import type { StepProgram } from './integrators/step-program.js';
import { graphSize } from './ir/traverse.js';
import { acquireGpu, createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, splitDispatch, writeBuffer, type AdapterChoice, type Gpu } from './runtime/index.js';
import { checkRunOptions, noConvergence } from './cpu-stepper.js';
import type { RunOptions, RunResult, Stepper, VjpOptions, VjpResult } from './stepper.js';
import { runVjp, type BackwardFailure, type BackwardStatus } from './vjp.js';
import { gpuAdjointBackend } from './gpu-adjoint.js';

/** GPU-specific options of `compile`. */
export interface GpuOptions {
  /** Which adapter to use (default: DARBOUX_ADAPTER, else hardware → llvmpipe → SwiftShader). */
  adapter?: AdapterChoice;
  /** Upper bound on trajectories per buffer set (default: from device limits); smaller values force splitting. */
  maxTrajectoriesPerChunk?: number;
  /** Upper bound on workgroups per dispatch (default: the device limit). */
  maxWorkgroupsPerDispatch?: number;
  /** Approximate node·step budget of one dispatch, which sets how many steps a dispatch fuses (default 2e9). */
  dispatchBudget?: number;
}

/** A Stepper on the GPU, with the WGSL it dispatches. */
export interface GpuStepper extends Stepper {
  readonly wgsl: string;
  readonly gpu: Gpu;
}

/**
 * The f32 WGSL backend: one fused kernel advances every trajectory by K steps per dispatch with the state in
 * registers. Batches beyond the device's binding-size or dispatch limits are split automatically. The
 * Jacobian is the exact f64 one of the same step program (CPU); `vjp` runs fused f32 backward kernels.
 *
 * @example
 * const st = await gpuStepper(leapfrogStep(h), 0.01);
 * const { q, p } = await st.run({ q0, p0, steps: 1000, batch: 4096 });
 */
export async function gpuStepper(program: StepProgram, dt: number, options: GpuOptions & Partial<FixedPointSettings> = {}): Promise<GpuStepper> {
  const h = program.hamiltonian;
  const n = h.dof;
  const gpu = await acquireGpu({ adapter: options.adapter });
  const settings: FixedPointSettings = {
    tolerance: Math.max(options.tolerance ?? WGSL_FIXED_POINT.tolerance, WGSL_FIXED_POINT.tolerance),
    maxIterations: options.maxIterations ?? WGSL_FIXED_POINT.maxIterations,
  };
  // One module, two entry points: `main` without recording and `mainRecord` with it (the recording branch
  // costs time in every step, so runs that do not record do not pay for it).
  const wgsl = stepperModule(emitWgslStepper(program, settings, { record: false }), emitWgslStepper(program, settings, { record: true }));
  const plainKernel = await createComputeKernel(gpu, { wgsl, entryPoint: 'main', label: `darboux-${program.method}` });
  let recordingKernel: ReturnType<typeof createComputeKernel> | undefined; // compiled on first use
  const packed = new Float32Array(Math.max(1, h.paramValues.reduce((s, v) => s + v.length, 0)));
  let at = 0;
  for (const v of h.paramValues) {
    packed.set(v, at);
    at += v.length;
  }
  const paramBuffer = createStorageBuffer(gpu, packed);
  const cost = Math.max(1, graphSize([program.next.q, program.next.p]));
  const maxWorkgroups = Math.min(options.maxWorkgroupsPerDispatch ?? Infinity, gpu.limits.maxComputeWorkgroupsPerDimension);
  const bindingLimit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  const chunkLimit = Math.max(1, Math.min(options.maxTrajectoriesPerChunk ?? Infinity, Math.floor(bindingLimit / (8 * n))));
  let jacobian: ReturnType<typeof jacobianFunction> | undefined;
  let disposed = false;

  type Accumulated = RunResult & { iterationsTotal?: number; iterationsMax?: number };
  async function runChunk(q: Float64Array, p: Float64Array, first: number, count: number, steps: number, t0: number, record: number, recordCount: number, out: Accumulated): Promise<void> {
    const state = new Float32Array(2 * count * n);
    state.set(q.subarray(first * n, (first + count) * n), 0);
    state.set(p.subarray(first * n, (first + count) * n), count * n);
    const stateBuffer = createStorageBuffer(gpu, state, { readable: true });
    const recordFloats = record > 0 ? 2 * recordCount * count * n : 1;
    if (recordFloats * 4 > bindingLimit) {
      throw new DarbouxError('INPUT', `recording ${recordCount} snapshots of ${count} trajectories needs ${recordFloats * 4} bytes, over the device limit ${bindingLimit}; record less often`);
    }
    const recordBuffer = createStorageBuffer(gpu, recordFloats * 4, { readable: record > 0 });
    const statusBuffer = createStorageBuffer(gpu, new Uint32Array(count * STATUS_WORDS), { readable: true });
    const control = new ArrayBuffer(STEPPER_CONTROL_WORDS.length * 4);
    const f32 = new Float32Array(control), u32 = new Uint32Array(control);
    const controlBuffer = createUniformBuffer(gpu, control.byteLength);
    const kernel = record > 0 ? await (recordingKernel ??= createComputeKernel(gpu, { wgsl, entryPoint: 'mainRecord', label: `darboux-${program.method}-record` })) : plainKernel;
    const perDispatch = Math.max(1, Math.min(steps, Math.floor((options.dispatchBudget ?? 2e9) / (count * cost))));
    try {
      for (let base = 0; base < steps; base += perDispatch) {
        for (const part of splitDispatch(count, WORKGROUP_SIZE, maxWorkgroups)) {
          f32[0] = dt;
          f32[1] = t0;
          u32[2] = Math.min(perDispatch, steps - base);
          u32[3] = base;
          u32[4] = part.offset;
          u32[5] = count;
          u32[6] = record;
          u32[7] = recordCount;
          writeBuffer(gpu, controlBuffer, control);
          kernel.dispatch([stateBuffer, paramBuffer, recordBuffer, statusBuffer, controlBuffer], part.workgroups);
        }
      }
      const [stateOut, statusOut] = await Promise.all([readBuffer(gpu, stateBuffer), readBuffer(gpu, statusBuffer)]);
      const status = readStatus(statusOut, count);
      out.iterationsTotal! += status.iterationsTotal;
      out.iterationsMax = Math.max(out.iterationsMax!, status.iterationsMax);
      const failure = status.failure;
      if (failure) {
        if (failure.kind === 'noConvergence') {
          throw noConvergence(`${program.method} (gpu f32)`, dt, failure.step, first + failure.trajectory, failure.residual!, failure.iterations!);
        }
        throw new DarbouxError(
          'NONFINITE',
          `non-finite state at step ${failure.step + 1} of trajectory ${first + failure.trajectory} (${program.method}, dt = ${dt}, gpu f32); reduce dt or check the initial state`,
          { step: failure.step, trajectory: first + failure.trajectory },
        );
      }
      const s = new Float32Array(stateOut);
      out.q.set(s.subarray(0, count * n), first * n);
      out.p.set(s.subarray(count * n, 2 * count * n), first * n);
      if (record > 0 && out.record) {
        const r = new Float32Array(await readBuffer(gpu, recordBuffer));
        const total = out.record.q.length / recordCount; // batch · dof
        for (let k = 0; k < recordCount; k++) {
          for (let j = 0; j < count * n; j++) {
            out.record.q[k * total + first * n + j] = r[k * count * n + j]!;
            out.record.p[k * total + first * n + j] = r[(recordCount + k) * count * n + j]!;
          }
        }
      }
    } finally {
      stateBuffer.destroy();
      recordBuffer.destroy();
      statusBuffer.destroy();
      controlBuffer.destroy();
    }
  }

  const stepper: GpuStepper = {
    method: program.method,
    dt,
    backend: 'gpu',
    dof: n,
    source: wgsl,
    wgsl,
    gpu,
    async run(options: RunOptions): Promise<RunResult> {
      if (disposed) throw new DarbouxError('INPUT', 'this stepper was disposed');
      const { batch, steps, record } = checkRunOptions(options, n);
      const q = Float64Array.from(options.q0), p = Float64Array.from(options.p0);
      const recordCount = record > 0 ? Math.floor(steps / record) : 0;
      const out: Accumulated = { q: new Float64Array(batch * n), p: new Float64Array(batch * n), iterationsTotal: 0, iterationsMax: 0 };
      if (record > 0) out.record = { every: record, count: recordCount, q: new Float64Array(recordCount * batch * n), p: new Float64Array(recordCount * batch * n) };
      if (steps === 0) return { ...out, q, p };
      for (let first = 0; first < batch; first += chunkLimit) {
        await runChunk(q, p, first, Math.min(chunkLimit, batch - first), steps, options.t0 ?? 0, record, recordCount, out);
      }
      const { iterationsTotal, iterationsMax, ...result } = out;
      if (program.implicit) result.stats = { iterations: { mean: iterationsTotal! / (steps * batch), max: iterationsMax! } };
      return result;
    },
    async vjp(options: VjpOptions): Promise<VjpResult> {
      if (disposed) throw new DarbouxError('INPUT', 'this stepper was disposed');
      return runVjp(adjointBackend, options);
    },
    jacobian(q0, p0, t = 0) {
      if (q0.length !== n || p0.length !== n) throw new DarbouxError('INPUT', `jacobian: q and p must have length ${n}, got ${q0.length} and ${p0.length}`);
      jacobian ??= jacobianFunction(program, { ...JS_FIXED_POINT, maxIterations: settings.maxIterations });
      return jacobian(q0, p0, dt, t);
    },
    dispose() {
      if (!disposed) paramBuffer.destroy();
      disposed = true;
    },
  };
  const adjointBackend = gpuAdjointBackend({
    program,
    dt,
    gpu,
    paramBuffer,
    settings,
    maxWorkgroups,
    dispatchBudget: options.dispatchBudget ?? 2e9,
    maxTrajectoriesPerChunk: options.maxTrajectoriesPerChunk ?? Infinity,
    run: (o) => stepper.run(o),
  });
  return stepper;
}

/**
 * Decodes the per-trajectory status words of a stepper or backward kernel: iteration totals and the first
 * failure (trajectory within the chunk, step, and for unconverged solves the residual and iteration count).
 *
 * @example
 * const { failure } = readStatus(await readBuffer(gpu, statusBuffer), count);
 */
export function readStatus(words: ArrayBuffer, count: number): BackwardStatus {
  const status = new Uint32Array(words);
  const residuals = new Float32Array(words);
  let total = 0, most = 0, failed = -1;
  for (let b = 0; b < count; b++) {
    const at = b * STATUS_WORDS;
    total += status[at + 1]!;
    if (status[at + 2]! > most) most = status[at + 2]!;
    if (failed < 0 && status[at] !== 0) failed = b;
  }
  if (failed < 0) return { failure: null, iterationsTotal: total, iterationsMax: most };
  const word = status[failed * STATUS_WORDS]!;
  const step = (word & ~NO_CONVERGENCE_FLAG) - 1;
  const failure: BackwardFailure =
    (word & NO_CONVERGENCE_FLAG) !== 0
      ? { kind: 'noConvergence', step, trajectory: failed, residual: residuals[failed * STATUS_WORDS + 3]!, iterations: status[failed * STATUS_WORDS + 2]! }
      : { kind: 'nonfinite', step, trajectory: failed };
  return { failure, iterationsTotal: total, iterationsMax: most };
}

/** Joins the plain and recording kernels into one WGSL module (shared declarations once, entry points `main` and `mainRecord`). */
function stepperModule(plain: string, recording: string): string {
  const split = (text: string) => {
    const at = text.indexOf('@compute');
    return { head: text.slice(0, at), body: text.slice(at) };
  };
  const a = split(plain), b = split(recording);
  return `${a.head}${a.body}\n${b.body.replace('fn main(', 'fn mainRecord(')}`;
}
