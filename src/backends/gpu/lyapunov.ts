/**
 * `lyapunov` on the GPU: one fused f32 kernel per tangent count (emit-wgsl-lyapunov.ts) advances each
 * trajectory's state and tangents together and re-orthonormalises them in the same invocation, adding the logs
 * to f32 sums per history interval; dispatches are paced like `run`'s (the event loop stays free), and the host
 * reads the sums once at the end and adds them up in f64. Implicit methods solve their stages and then the
 * tangents' linear stage equations in the same kernel (`tangentVectors`). With `onFailure: 'report'` failed
 * trajectories keep their last finite state and the estimate of their last renormalisation before the failure.
 *
 * Accuracy: the tangents and the per-renormalisation logs are f32, so each log R_jj carries an error of a few
 * 1e-7 (relative to the vector's length); averaged over time T with k steps between renormalisations the exponents
 * are good to about 1e-7 / (k·dt) plus the divergence of the f32 trajectory from the f64 one, which for chaotic
 * orbits changes the finite-time exponents by their own statistical spread.
 */
import { DarbouxError } from '../../errors.js';
import { LYAPUNOV_CONTROL_WORDS, wgslLyapunovKernel } from '../../codegen/emit-wgsl-lyapunov.js';
import { WGSL_FIXED_POINT } from '../../codegen/emit-wgsl.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { STATUS_WORDS, WORKGROUP_SIZE } from '../../codegen/kernel-words.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { specializeParameters } from '../../integrators/specialize.js';
import { graphSize } from '../../ir/traverse.js';
import { createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, splitDispatch, writeBuffer, type ComputeKernel, type Gpu } from '../../runtime/index.js';
import { checkLyapunovOptions, LyapunovAccumulator, startingTangents, type LyapunovOptions, type LyapunovPlan, type LyapunovResult } from '../lyapunov-options.js';
import { RunControl } from '../run-control.js';
import { runFailureError, trajectoryStatuses, type RunFailure } from '../run-failures.js';
import { DispatchPacer, type DispatchSizing } from './dispatch-pacer.js';
import { controlWriter, decodeFailures, decodeStatus, refuseOversizedKernel } from './kernel-host.js';
import { LyapunovCheckpoint } from './lyapunov-checkpoint.js';

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
  /** Convergence of implicit steps' solves (default WGSL_FIXED_POINT). */
  settings?: FixedPointSettings;
  /** The stepper's set of compiled WGSL modules (its `dispose` drops their pipelines). */
  modules?: Set<string>;
}

/**
 * How an implicit kernel's steps per dispatch are sized on llvmpipe: the loop iterations one invocation may run
 * (its limiter stops at 65 535; with a margin) and the solve iterations per step assumed. A block of steps that
 * needed more is cut short by the adapter, detected, and run again with half the steps. Internal: tests change
 * these (before compiling a stepper) to force cut-short dispatches; `rerunBlocks` counts the reruns.
 *
 * @example
 * Object.assign(lyapunovLoopBudget, { invocationLoops: 1_200_000, rerunBlocks: 0 }); // then compile and run
 */
export const lyapunovLoopBudget = { invocationLoops: 60_000, assumedSolveIterations: 25, rerunBlocks: 0 };

/** Node·steps one dispatch may run (as `run`'s default dispatchBudget). */
const DISPATCH_BUDGET = 2e9;

/** A compiled kernel for one tangent count. */
interface LyapunovKernel {
  kernel: ComputeKernel;
  stride: number;
  stepBound: number;
  /** Graph nodes of the step and its tangents (a dispatch's work per trajectory·step). */
  cost: number;
  /** Whether the adapter may cut a dispatch short (llvmpipe, implicit solves): each block is kept, checked, and rerun if so. */
  mayTruncate: boolean;
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
  const fp = specialized.implicit;
  const cost = graphSize([specialized.next.q, specialized.next.p, ...(fp === undefined ? [] : fp.iteration ?? fp.update)]) * (1 + count);
  refuseOversizedKernel(gpu, cost, `${program.method}: the Lyapunov kernel (${count} tangents)`);
  const settings = context.settings ?? WGSL_FIXED_POINT;
  const { wgsl, stride, loopIterations } = wgslLyapunovKernel(specialized, count, settings);
  context.modules?.add(wgsl);
  const kernel = await createComputeKernel(gpu, { wgsl, entryPoint: 'main', label: `darboux-lyapunov-${program.method}-${count}` });
  // A dispatch cut short by llvmpipe's limiter (the solves needed more iterations than assumed) is reported
  // (TRUNCATED), never taken for a result: its block of steps runs again with fewer steps (dispatchAll).
  const perStep = loopIterations.perStep + Math.min(settings.maxIterations, lyapunovLoopBudget.assumedSolveIterations) * loopIterations.perSolveIteration;
  const llvmpipe = gpu.adapterKind === 'llvmpipe';
  const loopBound = llvmpipe ? Math.max(1, Math.floor((lyapunovLoopBudget.invocationLoops - loopIterations.prologue) / perStep) - 1) : Infinity;
  const mayTruncate = llvmpipe && fp !== undefined;
  return { kernel, stride, stepBound: Math.min(context.stepsPerDispatch ?? Infinity, loopBound), cost, mayTruncate };
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
  const statusBuffer = createStorageBuffer(gpu, new Uint32Array(batch * STATUS_WORDS), { readable: true });
  const words = controlWriter(LYAPUNOV_CONTROL_WORDS);
  const controlBuffer = createUniformBuffer(gpu, words.bytes.byteLength);
  const accumulator = new LyapunovAccumulator(plan, dt);
  let checkpoint: LyapunovCheckpoint | null = null;
  try {
    const buffers = [stateBuffer, context.paramBuffer, logsBuffer, statusBuffer, controlBuffer];
    checkpoint = compiled.mayTruncate ? new LyapunovCheckpoint(gpu, { state: stateBuffer, logs: logsBuffer, status: statusBuffer }, { batch, count, historyEvery: plan.historyEvery }) : null;
    await dispatchAll(context, compiled, plan, control, buffers, checkpoint, (values) => {
      words.set(values);
      writeBuffer(gpu, controlBuffer, words.bytes);
    });
    // Each history interval's f32 log sums, added up in f64.
    const logs = new Float32Array(await readBuffer(gpu, logsBuffer));
    for (let k = 0; k < points; k++) {
      for (let i = 0; i < batch * count; i++) accumulator.logs[i]! += logs[k * batch * count + i]!;
      for (let b = 0; b < batch; b++) accumulator.reached(b, Math.min(steps, (k + 1) * plan.historyEvery));
    }
    const failures = kernelFailures(await readBuffer(gpu, statusBuffer), batch, context.program.method);
    if (failures.length > 0 && plan.onFailure === 'throw') throw runFailureError(`${context.program.method} (lyapunov)`, dt, failures, { batch, label: 'gpu f32' });
    for (const f of failures) accumulator.stopped(f.trajectory, f.step);
    const out = new Float32Array(await readBuffer(gpu, stateBuffer));
    const q = new Float64Array(batch * n), p = new Float64Array(batch * n);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < n; i++) {
        q[b * n + i] = out[b * stride + i]!;
        p[b * n + i] = out[b * stride + n + i]!;
      }
    }
    control.report(1, 1);
    const result = accumulator.result(q, p);
    if (plan.onFailure === 'report') result.status = trajectoryStatuses(batch, failures);
    return result;
  } finally {
    stateBuffer.destroy();
    logsBuffer.destroy();
    statusBuffer.destroy();
    controlBuffer.destroy();
    checkpoint?.destroy();
  }
}

/** The failed trajectories of the kernel's status words; a step loop the adapter cut short (even in a dispatch of one step) is refused (DEVICE). */
function kernelFailures(words: ArrayBuffer, batch: number, method: string): RunFailure[] {
  const { failure } = decodeStatus(words, batch);
  if (failure?.kind === 'truncated') {
    throw new DarbouxError('DEVICE', `${method} (lyapunov): the GPU ended the step loop of trajectory ${failure.trajectory} early (at step ${failure.step + 1}, even with few steps per dispatch); software adapters bound loop iterations per invocation: use a smaller dt or maxIterations, or the CPU backend`, {
      trajectory: failure.trajectory,
      step: failure.step,
    });
  }
  return decodeFailures(words, batch).map((f) => ({ ...f, kind: f.kind === 'noConvergence' ? ('noConvergence' as const) : ('nonfinite' as const) }));
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

/**
 * Every step in blocks of at most the kernel's bound (and DISPATCH_BUDGET) steps, each block dispatched over the
 * parts of the batch the pacer allows. With a checkpoint (the adapter may cut a dispatch short) each block's
 * buffers are kept first and its status read after: a block cut short is put back and run again with half the
 * steps (and so are the blocks after it); a single step cut short is refused (DEVICE). Splitting the steps
 * differently leaves the results bit for bit the same.
 */
async function dispatchAll(
  context: GpuLyapunovContext,
  compiled: LyapunovKernel,
  plan: LyapunovPlan,
  control: RunControl,
  buffers: readonly GPUBuffer[],
  checkpoint: LyapunovCheckpoint | null,
  setControl: (values: Record<Exclude<(typeof LYAPUNOV_CONTROL_WORDS)[number], 'pad'>, number>) => void,
): Promise<void> {
  const { batch, steps } = plan;
  const pacer = new DispatchPacer(context.gpu, control, steps, context.sizing);
  let perDispatch = Math.min(compiled.stepBound, Math.max(1, Math.floor(DISPATCH_BUDGET / (batch * compiled.cost))));
  let submitted = 0; // steps reported as submitted (never decreasing across reruns)
  for (let base = 0; base < steps; ) {
    const stepsNow = Math.min(perDispatch, steps - base);
    checkpoint?.keep(base, stepsNow);
    for (let offset = 0; offset < batch; ) {
      const part = splitDispatch(batch - offset, WORKGROUP_SIZE, Math.min(context.maxWorkgroups, pacer.workgroupLimit(stepsNow)))[0]!;
      setControl({ dt: context.dt, tStart: plan.t0, steps: stepsNow, stepBase: base, offset: offset + part.offset, batch, renormalizeEvery: plan.renormalizeEvery, totalSteps: steps, historyEvery: plan.historyEvery });
      const began = performance.now();
      compiled.kernel.dispatch(buffers, part.workgroups);
      pacer.measured(part.workgroups, stepsNow, performance.now() - began);
      offset += Math.min(batch - offset, part.workgroups * WORKGROUP_SIZE);
      submitted = Math.max(submitted, base + (offset >= batch ? stepsNow : 0));
      await pacer.dispatched(submitted);
    }
    if (checkpoint !== null && (await checkpoint.truncated())) {
      if (stepsNow === 1) return; // one step cut short: refused from the status words (kernelFailures)
      checkpoint.restore();
      lyapunovLoopBudget.rerunBlocks++;
      perDispatch = Math.max(1, Math.floor(stepsNow / 2));
      continue;
    }
    base += stepsNow;
  }
}
