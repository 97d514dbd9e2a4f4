/**
 * `lyapunov` on the GPU: one fused f32 kernel per tangent count (emit-wgsl-lyapunov.ts) advances each
 * trajectory's state and tangents together and re-orthonormalises them in the same invocation, adding the logs
 * to f32 sums per history interval; dispatches are paced like `run`'s (the event loop stays free), and the host
 * reads the sums once at the end and adds them up in f64. Explicit methods only.
 *
 * Accuracy: the tangents and the per-renormalisation logs are f32, so each log R_jj carries an error of a few
 * 1e-7 (relative to the vector's length); averaged over time T with k steps between renormalisations the exponents
 * are good to about 1e-7 / (k·dt) plus the divergence of the f32 trajectory from the f64 one, which for chaotic
 * orbits changes the finite-time exponents by their own statistical spread.
 */
import { DarbouxError } from '../../errors.js';
import { LYAPUNOV_CONTROL_WORDS, wgslLyapunovKernel } from '../../codegen/emit-wgsl-lyapunov.js';
import { WORKGROUP_SIZE } from '../../codegen/kernel-words.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { specializeParameters } from '../../integrators/specialize.js';
import { graphSize } from '../../ir/traverse.js';
import { createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, splitDispatch, writeBuffer, type ComputeKernel, type Gpu } from '../../runtime/index.js';
import { checkLyapunovOptions, LyapunovAccumulator, startingTangents, type LyapunovOptions, type LyapunovPlan, type LyapunovResult } from '../lyapunov-options.js';
import { RunControl } from '../run-control.js';
import { runFailureError, type RunFailure } from '../run-failures.js';
import { DispatchPacer, type DispatchSizing } from './dispatch-pacer.js';
import { controlWriter, refuseOversizedKernel } from './kernel-host.js';

/** What the GPU `lyapunov` needs from its stepper. */
export interface GpuLyapunovContext {
  program: StepProgram;
  dt: number;
  gpu: Gpu;
  paramBuffer: GPUBuffer;
  maxWorkgroups: number;
  sizing: DispatchSizing;
  /** Steps per dispatch chosen by the user (compile's stepsPerDispatch), else automatic. */
  stepsPerDispatch?: number;
  /** The stepper's set of compiled WGSL modules (its `dispose` drops their pipelines). */
  modules?: Set<string>;
}

/** Loop iterations one llvmpipe invocation may run (its limiter stops at 65 535), with a margin. */
const LLVMPIPE_LOOP_ITERATIONS = 60_000;

/** Node·steps one dispatch may run (as `run`'s default dispatchBudget). */
const DISPATCH_BUDGET = 2e9;

/** A compiled kernel for one tangent count. */
interface LyapunovKernel {
  kernel: ComputeKernel;
  stride: number;
  stepBound: number;
  /** Graph nodes of the step and its tangents (a dispatch's work per trajectory·step). */
  cost: number;
}

/**
 * The GPU `lyapunov` of a per-trajectory GPU stepper (see the module comment).
 *
 * @example
 * const lyapunov = gpuLyapunov({ program, dt, gpu, paramBuffer, maxWorkgroups, sizing: { workgroupStepsPerMs: 0 } });
 * const { exponents } = await lyapunov({ q0, p0, steps: 10_000, batch: 1024, count: 4 });
 */
export function gpuLyapunov(context: GpuLyapunovContext): (options: LyapunovOptions) => Promise<LyapunovResult> {
  const { program, gpu } = context;
  const kernels = new Map<number, Promise<LyapunovKernel>>();
  const kernelFor = (count: number): Promise<LyapunovKernel> => {
    if (!kernels.has(count)) kernels.set(count, compileKernel(context, count));
    return kernels.get(count)!;
  };
  return async (options) => {
    if (program.implicit) {
      throw new DarbouxError(
        'OPTION',
        `lyapunov: '${program.method}' is implicit, and the GPU backend has tangents of explicit methods only; compile with backend: 'cpu' (exact tangents through the implicit function theorem) or use an explicit method (leapfrog, yoshida4, rk4, …)`,
        { option: 'method', method: program.method, backend: 'gpu' },
      );
    }
    const bindingLimit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    const plan = fitHistory(checkLyapunovOptions(options, program.system.dof, 'f32'), options.historyEvery === undefined ? bindingLimit : Infinity);
    const control = new RunControl(options, 'lyapunov', plan.steps);
    control.throwIfAborted();
    const compiled = await kernelFor(plan.count);
    control.throwIfAborted();
    const bytes = plan.batch * compiled.stride * 4;
    const historyBytes = Math.ceil(plan.steps / plan.historyEvery) * plan.batch * plan.count * 4;
    if (bytes > bindingLimit || historyBytes > bindingLimit) {
      throw new DarbouxError(
        'INPUT',
        `lyapunov: ${plan.batch} trajectories with ${plan.count} tangents need ${Math.max(bytes, historyBytes)} bytes of GPU ${bytes > bindingLimit ? 'state' : 'history'}, over the device limit ${bindingLimit}; use a smaller batch${bytes > bindingLimit ? '' : ' or a larger historyEvery'}`,
        { batch: plan.batch, bytes, historyBytes, limit: bindingLimit },
      );
    }
    return runLyapunov(context, compiled, plan, control, options);
  };
}

/** The plan with a default history spaced out (fewer points) until its f32 sums fit in `limit` bytes. */
function fitHistory(plan: LyapunovPlan, limit: number): LyapunovPlan {
  const perPoint = plan.batch * plan.count * 4;
  const points = Math.max(1, Math.floor(limit / perPoint));
  if (Math.ceil(plan.steps / plan.historyEvery) <= points) return plan;
  const every = plan.renormalizeEvery * Math.ceil(Math.ceil(plan.steps / points) / plan.renormalizeEvery);
  return { ...plan, historyEvery: Math.max(plan.historyEvery, every) };
}

async function compileKernel(context: GpuLyapunovContext, count: number): Promise<LyapunovKernel> {
  const { gpu, program } = context;
  const specialized = specializeParameters(program);
  const cost = graphSize([specialized.next.q, specialized.next.p]) * (1 + count);
  refuseOversizedKernel(gpu, cost, `${program.method}: the Lyapunov kernel (${count} tangents)`);
  const { wgsl, stride, loopIterationsPerStep } = wgslLyapunovKernel(specialized, count);
  context.modules?.add(wgsl);
  const kernel = await createComputeKernel(gpu, { wgsl, entryPoint: 'main', label: `darboux-lyapunov-${program.method}-${count}` });
  const loopBound = gpu.adapterKind === 'llvmpipe' ? Math.max(1, Math.floor(LLVMPIPE_LOOP_ITERATIONS / loopIterationsPerStep) - 1) : Infinity;
  return { kernel, stride, stepBound: Math.min(context.stepsPerDispatch ?? Infinity, loopBound), cost };
}

/** The dispatches of one call, history point by history point; buffers released at the end. */
async function runLyapunov(context: GpuLyapunovContext, compiled: LyapunovKernel, plan: LyapunovPlan, control: RunControl, options: LyapunovOptions): Promise<LyapunovResult> {
  const { gpu, dt } = context;
  const { batch, count, steps, stride } = { ...plan, stride: compiled.stride };
  const n = context.program.system.dof;
  const state = initialState(options, n, batch, count, stride);
  const stateBuffer = createStorageBuffer(gpu, state, { readable: true });
  const points = Math.ceil(steps / plan.historyEvery);
  const logsBuffer = createStorageBuffer(gpu, new Float32Array(Math.max(1, points * batch * count)), { readable: true });
  const statusBuffer = createStorageBuffer(gpu, new Uint32Array(batch), { readable: true });
  const words = controlWriter(LYAPUNOV_CONTROL_WORDS);
  const controlBuffer = createUniformBuffer(gpu, words.bytes.byteLength);
  const accumulator = new LyapunovAccumulator(plan, dt);
  try {
    const buffers = [stateBuffer, context.paramBuffer, logsBuffer, statusBuffer, controlBuffer];
    await dispatchAll(context, compiled, plan, control, buffers, (values) => {
      words.set(values);
      writeBuffer(gpu, controlBuffer, words.bytes);
    });
    // Each history interval's f32 log sums, added up in f64.
    const logs = new Float32Array(await readBuffer(gpu, logsBuffer));
    for (let k = 0; k < points; k++) {
      for (let i = 0; i < batch * count; i++) accumulator.logs[i]! += logs[k * batch * count + i]!;
      for (let b = 0; b < batch; b++) accumulator.reached(b, Math.min(steps, (k + 1) * plan.historyEvery));
    }
    const status = new Uint32Array(await readBuffer(gpu, statusBuffer));
    const failures: RunFailure[] = [];
    status.forEach((word, b) => word !== 0 && failures.push({ kind: 'nonfinite', step: word - 1, trajectory: b }));
    if (failures.length > 0) throw runFailureError(`${context.program.method} (lyapunov)`, dt, failures, { batch, label: 'gpu f32' });
    const out = new Float32Array(await readBuffer(gpu, stateBuffer));
    const q = new Float64Array(batch * n), p = new Float64Array(batch * n);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < n; i++) {
        q[b * n + i] = out[b * stride + i]!;
        p[b * n + i] = out[b * stride + n + i]!;
      }
    }
    control.report(1, 1);
    return accumulator.result(q, p);
  } finally {
    stateBuffer.destroy();
    logsBuffer.destroy();
    statusBuffer.destroy();
    controlBuffer.destroy();
  }
}

/** The kernel's input: per trajectory q, p and the starting tangents (f32). */
function initialState(options: LyapunovOptions, n: number, batch: number, count: number, stride: number): Float32Array {
  const state = new Float32Array(batch * stride);
  const basis = startingTangents(n, count);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      state[b * stride + i] = options.q0[b * n + i]!;
      state[b * stride + n + i] = options.p0[b * n + i]!;
    }
    state.set(basis, b * stride + 2 * n);
  }
  return state;
}

/** Every step in dispatches of at most the kernel's bound (and DISPATCH_BUDGET), each over the part of the batch the pacer allows. */
async function dispatchAll(
  context: GpuLyapunovContext,
  compiled: LyapunovKernel,
  plan: LyapunovPlan,
  control: RunControl,
  buffers: readonly GPUBuffer[],
  setControl: (values: Record<Exclude<(typeof LYAPUNOV_CONTROL_WORDS)[number], 'pad'>, number>) => void,
): Promise<void> {
  const { batch, steps } = plan;
  const pacer = new DispatchPacer(context.gpu, control, steps, context.sizing);
  const perDispatch = Math.min(compiled.stepBound, Math.max(1, Math.floor(DISPATCH_BUDGET / (batch * compiled.cost))));
  for (let base = 0; base < steps; ) {
    const stepsNow = Math.min(perDispatch, steps - base);
    for (let offset = 0; offset < batch; ) {
      const part = splitDispatch(batch - offset, WORKGROUP_SIZE, Math.min(context.maxWorkgroups, pacer.workgroupLimit(stepsNow)))[0]!;
      setControl({ dt: context.dt, tStart: plan.t0, steps: stepsNow, stepBase: base, offset: offset + part.offset, batch, renormalizeEvery: plan.renormalizeEvery, totalSteps: steps, historyEvery: plan.historyEvery });
      const began = performance.now();
      compiled.kernel.dispatch(buffers, part.workgroups);
      pacer.measured(part.workgroups, stepsNow, performance.now() - began);
      offset += Math.min(batch - offset, part.workgroups * WORKGROUP_SIZE);
      await pacer.dispatched(base + (offset >= batch ? stepsNow : 0));
    }
    base += stepsNow;
  }
}
