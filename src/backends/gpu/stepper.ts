import { DarbouxError } from '../../errors.js';
import { emitWgslStepper, wgslStepperKernel, WGSL_FIXED_POINT } from '../../codegen/emit-wgsl.js';
import { STATUS_WORDS, STEPPER_CONTROL_WORDS, WORKGROUP_SIZE } from '../../codegen/kernel-words.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { JS_FIXED_POINT } from '../../codegen/emit-js-stepper.js';
import { jacobianFunction } from '../cpu/jacobian.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { specializeParameters } from '../../integrators/specialize.js';
import { graphSize } from '../../ir/traverse.js';
import { acquireGpu, createComputeKernel, createStorageBuffer, dropPipelines, readBuffer, readBuffersWith, splitDispatch, writeBuffer } from '../../runtime/index.js';
import type { GpuOptions, GpuStepper } from './stepper-types.js';
import { recordArrays } from '../record-arrays.js';
import { checkRunOptions } from '../checks.js';
import { checkCount, checkF32Parameters, checkStateArray, checkF32StepSize, checkJacobianPoint, checkTime, disposedError, stepperLifetime } from '../input-checks.js';
import { RunControl } from '../run-control.js';
import { onFailureMode, runFailureError, trajectoryStatuses, type RunFailure } from '../run-failures.js';
import { DispatchPacer, type DispatchSizing } from './dispatch-pacer.js';
import type { RunOptions, RunResult, StateRunOptions, StateRunResult, VjpOptions, VjpResult } from '../stepper.js';
import { checkStateRun, dispatchRun, type PlainRunStepper, type StateOwner } from '../device-state.js';
import { downloadGpuState, foreignGpuState, uploadGpuState, type GpuDeviceState } from './resident-state.js';
import { runVjp } from '../adjoint-driver.js';
import { gpuAdjointBackend } from './adjoint.js';
import { gpuLyapunov } from './lyapunov.js';
import { particleProgram } from '../../codegen/particle-analysis.js';
import { particleGpuStepper } from './particle-stepper.js';
import { controlWriter, decodeFailures, decodeStatus, loopBoundedSteps, refuseOversizedKernel } from './kernel-host.js';
import { adapterLimits, kernelExport } from './kernel-export.js';
import { stepperKernelSet, stepperModule, type StepperKernelSet } from './stepper-kernels.js';
import { sliceTrajectoryParams, trajectoryParams, type TrajectoryParams } from '../run-params.js';
import { packTrajectoryParams } from '../../codegen/trajectory-params-wgsl.js';
import { runExtras } from '../sections.js';
import { gpuSectionRun, type GpuSectionContext } from './section-runs.js';
import { WGSL_SECTION_MAX_DOF } from '../../codegen/section-wgsl.js';
import { decodeSummary, packState, RunBufferPool, SUMMARY_WORDS, unpackState, uploadState, type RunBufferSet } from './run-buffers.js';

export type { GpuOptions, GpuStepper } from './stepper-types.js';

/**
 * The f32 WGSL backend: one fused kernel advances every trajectory by K steps per dispatch with the state in
 * registers; particle systems run by kick/drift methods get per-particle kernels instead (particle-stepper.ts). Batches beyond the device's binding-size or dispatch limits are split automatically. The
 * Jacobian is the exact f64 one of the same step program (CPU); `vjp` runs fused f32 backward kernels.
 *
 * @example
 * const st = await gpuStepper(leapfrogStep(h), 0.01);
 * const { q, p } = await st.run({ q0, p0, steps: 1000, batch: 4096 });
 */
export async function gpuStepper(program: StepProgram, dt: number, options: GpuOptions & Partial<FixedPointSettings> = {}): Promise<GpuStepper> {
  checkF32StepSize(dt);
  checkF32Parameters(program.system);
  const particle = options.particleKernel === 'off' ? null : particleProgram(program, dt);
  if (particle !== null) {
    const kernel = options.particleKernel === 'off' ? undefined : options.particleKernel;
    return particleGpuStepper(program, particle, dt, { ...options, particleKernel: kernel }, () => trajectoryGpuStepper(program, dt, options));
  }
  return trajectoryGpuStepper(program, dt, options);
}

/** The per-trajectory stepper: one invocation per trajectory, the whole step program in its kernel. */
async function trajectoryGpuStepper(program: StepProgram, dt: number, options: GpuOptions & Partial<FixedPointSettings>): Promise<GpuStepper> {
  const h = program.system;
  const n = h.dof;
  const gpu = await acquireGpu({ adapter: options.adapter });
  const settings: FixedPointSettings = {
    tolerance: Math.max(options.tolerance ?? WGSL_FIXED_POINT.tolerance, WGSL_FIXED_POINT.tolerance),
    maxIterations: options.maxIterations ?? WGSL_FIXED_POINT.maxIterations,
  };
  // One module, three entry points: `main` (no recording; explicit methods test for a non-finite state after
  // the last step only), `mainChecked` (tests every step: run again to find the exact step of a failure) and
  // `mainRecord` (records, tests every step). Runs pay only for what they use.
  // Scalar and small parameters are compiled in as constants (the stepper fixes their values anyway).
  const kernelProgram = options.specializeParameters === false ? program : specializeParameters(program);
  refuseOversizedKernel(gpu, graphSize([kernelProgram.next.q, kernelProgram.next.p, ...(kernelProgram.implicit?.update ?? [])]), `${program.method}: the step kernel`);
  const fast = wgslStepperKernel(kernelProgram, settings, { record: false, checkEveryStep: false });
  const wgsl = stepperModule({
    main: fast.wgsl,
    mainChecked: emitWgslStepper(kernelProgram, settings, { record: false, checkEveryStep: true }),
    mainRecord: emitWgslStepper(kernelProgram, settings, { record: true, checkEveryStep: true }),
  });
  const lazyKernels = new Map<string, ReturnType<typeof createComputeKernel>>();
  const kernelFor = async (entryPoint: 'main' | 'mainChecked' | 'mainRecord') => {
    if (!lazyKernels.has(entryPoint)) lazyKernels.set(entryPoint, createComputeKernel(gpu, { wgsl, entryPoint, label: `darboux-${program.method}${entryPoint === 'main' ? '' : `-${entryPoint}`}` }));
    return lazyKernels.get(entryPoint)!;
  };
  // The pipeline compiles are paid here, not in the first run: `main` and `mainRecord` now (together), and
  // `mainChecked` (needed only to locate a failure) started in the background.
  const pool = new RunBufferPool(gpu, n, STEPPER_CONTROL_WORDS.length * 4); // buffers kept across runs
  await Promise.all([kernelFor('main'), kernelFor('mainRecord'), pool.prepare()]);
  kernelFor('mainChecked').catch(() => undefined); // a failure surfaces when a run needs it
  // Runs with per-trajectory parameters: one kernel set per set of names, those read from the parameter buffer.
  const sweepKernels = new Map<string, StepperKernelSet>();
  const sweepSet = (tp: TrajectoryParams) => sweepKernels.get(tp.key) ?? sweepKernels.set(tp.key, stepperKernelSet(gpu, program, settings, { specialize: options.specializeParameters !== false, perTrajectory: tp })).get(tp.key)!;
  const packed = new Float32Array(Math.max(1, h.paramValues.reduce((s, v) => s + v.length, 0)));
  let at = 0;
  for (const v of h.paramValues) {
    packed.set(v, at);
    at += v.length;
  }
  const paramBuffer = createStorageBuffer(gpu, packed);
  const cost = Math.max(1, graphSize([kernelProgram.next.q, kernelProgram.next.p]));
  const maxWorkgroups = Math.min(options.maxWorkgroupsPerDispatch ?? Infinity, gpu.limits.maxComputeWorkgroupsPerDimension);
  const bindingLimit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  const chunkLimit = Math.max(1, Math.min(options.maxTrajectoriesPerChunk ?? Infinity, Math.floor(bindingLimit / (8 * n))));
  // llvmpipe ends all loops of an invocation after 65 535 iterations in total: keep each dispatch below that.
  const stepsPerDispatchBound = loopBoundedSteps(gpu, fast.loopIterations, settings.maxIterations, program.method);
  let jacobian: ReturnType<typeof jacobianFunction> | undefined;
  const life = stepperLifetime();
  /** WGSL modules of this stepper's section, Lyapunov and backward kernels (their pipelines dropped on dispose). */
  const modules = new Set<string>();
  const sizing: DispatchSizing = { workgroupStepsPerMs: 0 };

  type Accumulated = RunResult & { iterationsTotal?: number; iterationsMax?: number };
  /**
   * checked: the kernel that tests every step; stepBound: steps per dispatch at most (lowered after a cut-short
   * run); perDispatch: exactly these steps per dispatch (a rerun that must split its dispatches as an earlier run did).
   */
  type ChunkMode = { checked?: boolean; stepBound?: number; perDispatch?: number; params?: TrajectoryParams; scan?: boolean };
  /** A chunk's pacing (progress, abort) and where its failures go (trajectory indices of the whole batch). */
  type ChunkContext = { control: RunControl; failures: (RunFailure & { perDispatch: number })[] };
  /**
   * Dispatches `steps` steps of trajectories 0 … count − 1 of `stateBuffer` (f32 [q | p] blocks of `count`
   * trajectories; the first dispatch zeroes their status words); returns the steps per dispatch used.
   */
  async function dispatchSteps(stateBuffer: GPUBuffer, set: RunBufferSet, count: number, steps: number, t0: number, record: number, recordCount: number, recordBuffer: GPUBuffer, chunkParams: GPUBuffer | null, context: ChunkContext, mode: ChunkMode): Promise<number> {
    const entryPoint = record > 0 ? 'mainRecord' : mode.checked ? 'mainChecked' : 'main';
    const sweep = mode.params === undefined ? null : sweepSet(mode.params);
    const kernel = sweep === null ? await kernelFor(entryPoint) : await sweep.kernel(entryPoint);
    const perDispatch = Math.min(
      steps,
      mode.perDispatch ?? options.stepsPerDispatch ?? Math.max(1, Math.min(Math.floor((options.dispatchBudget ?? 2e9) / (count * (sweep?.cost ?? cost))), mode.stepBound ?? sweep?.stepBound ?? stepsPerDispatchBound)),
    );
    // No clear here: the kernels zero each trajectory's status words in the run's first dispatch (stepBase 0).
    const control = controlWriter(STEPPER_CONTROL_WORDS);
    const pacer = new DispatchPacer(gpu, context.control, steps, sizing);
    for (let base = 0; base < steps; base += perDispatch) {
      const stepsNow = Math.min(perDispatch, steps - base);
      // Synchronous adapters get dispatches of fewer workgroups (a part of the batch), each about CHUNK_TARGET_MS.
      for (let offset = 0; offset < count;) {
        const parts = splitDispatch(count - offset, WORKGROUP_SIZE, Math.min(maxWorkgroups, pacer.workgroupLimit(stepsNow)));
        const part = parts[0]!;
        control.set({ dt, tStart: t0, steps: stepsNow, stepBase: base, offset: offset + part.offset, batch: count, recordEvery: record, recordCount });
        writeBuffer(gpu, set.control, control.bytes);
        const began = performance.now();
        kernel.dispatch([stateBuffer, chunkParams ?? paramBuffer, recordBuffer, set.status, set.control], part.workgroups);
        pacer.measured(part.workgroups, stepsNow, performance.now() - began);
        offset += Math.min(count - offset, part.workgroups * WORKGROUP_SIZE);
        await pacer.dispatched(base + (offset >= count ? stepsNow : 0));
      }
    }
    return perDispatch;
  }

  async function runChunk(q: ArrayLike<number>, p: ArrayLike<number>, first: number, count: number, steps: number, t0: number, record: number, recordCount: number, out: Accumulated, context: ChunkContext, mode: ChunkMode = {}): Promise<void> {
    const recordFloats = record > 0 ? 2 * recordCount * count * n : 1;
    if (recordFloats * 4 > bindingLimit) {
      throw new DarbouxError('INPUT', `recording ${recordCount} snapshots of ${count} trajectories needs ${recordFloats * 4} bytes, over the device limit ${bindingLimit}; record less often`);
    }
    const set = pool.acquire(count);
    let ok = false;
    let again: ChunkMode | null = null;
    const recordBuffer = record > 0 ? createStorageBuffer(gpu, recordFloats * 4, { readable: true }) : set.noRecord;
    const chunkParams = mode.params === undefined ? null : createStorageBuffer(gpu, packTrajectoryParams(h.paramValues, mode.params.values, first, count, mode.params.sizes));
    try {
      uploadState(gpu, set, q, p, first, count, n, mode.scan === true);
      const perDispatch = await dispatchSteps(set.state, set, count, steps, t0, record, recordCount, recordBuffer, chunkParams, context, mode);
      // One readback: the state, and for implicit methods a summary of the status words (iteration statistics,
      // failures). An explicit kernel's failures all leave a non-finite state (nanWhenTruncated), so its state is
      // the summary. The full status words come back only when something failed.
      const summarized = program.implicit !== undefined;
      if (summarized) await pool.summarize(set, set.status, count);
      const stateBytes = 2 * count * n * 4;
      const ranges = [{ buffer: set.state, bytes: stateBytes }, ...(summarized ? [{ buffer: set.summary, bytes: SUMMARY_WORDS * 4 }] : [])];
      const summary = await readBuffersWith(gpu, ranges, set.staging, (mapped, [, at]) => {
        const found = summarized ? decodeSummary(new Uint32Array(mapped, at, SUMMARY_WORDS)) : { failed: 0, iterationsTotal: 0, iterationsMax: 0 };
        if (found.failed === 0 && !unpackState(new Float32Array(mapped, 0, 2 * count * n), count, n, out.q, out.p, first)) found.failed = 1;
        return found;
      });
      if (summary.failed === 0) {
        out.iterationsTotal! += summary.iterationsTotal;
        out.iterationsMax = Math.max(out.iterationsMax!, summary.iterationsMax);
      } else {
        again = await failedChunk(q, p, first, count, t0, out, context, mode, set, perDispatch);
      }
      if (again === null && record > 0 && out.record) {
        const r = new Float32Array(await readBuffer(gpu, recordBuffer));
        const total = out.record.q.length / recordCount; // batch · dof
        for (let k = 0; k < recordCount; k++) {
          for (let j = 0; j < count * n; j++) {
            out.record.q[k * total + first * n + j] = r[k * count * n + j]!;
            out.record.p[k * total + first * n + j] = r[(recordCount + k) * count * n + j]!;
          }
        }
      }
      ok = true;
    } finally {
      pool.release(set, !ok);
      if (record > 0) recordBuffer.destroy();
      chunkParams?.destroy();
    }
    if (again !== null) await runChunk(q, p, first, count, steps, t0, record, recordCount, out, context, again);
  }

  /**
   * A chunk whose status summary reports failures: decodes the full status words. Returns the mode of a rerun
   * (a dispatch cut short: fewer steps per dispatch; failures known only by a step: the per-step test), or null
   * after recording the failures and the state.
   */
  async function failedChunk(q: ArrayLike<number>, p: ArrayLike<number>, first: number, count: number, t0: number, out: Accumulated, context: ChunkContext, mode: ChunkMode, set: RunBufferSet, perDispatch: number): Promise<ChunkMode | null> {
    const statusOut = await readBuffer(gpu, set.status, count * STATUS_WORDS * 4);
    const status = decodeStatus(statusOut, count);
    const failure = status.failure;
    if (failure?.kind === 'truncated') {
      // The adapter cut a dispatch short (implicit solves needed more iterations than estimated): the state is
      // discarded and the chunk runs again from its start with fewer steps per dispatch.
      if (options.stepsPerDispatch === undefined && mode.perDispatch === undefined && perDispatch > 1) return { ...mode, stepBound: Math.max(1, Math.floor(perDispatch / 4)) };
      throw new DarbouxError(
        'DEVICE',
        `the ${gpu.adapterKind} GPU ended the step loop early (at step ${failure.step + 1} of trajectory ${first + failure.trajectory}, ${perDispatch} steps per dispatch); ` +
          'the result is discarded. Software adapters bound loop iterations per invocation: use fewer steps per dispatch, or the CPU backend',
        { step: failure.step + 1, trajectory: first + failure.trajectory },
      );
    }
    const failures = decodeFailures(statusOut, count);
    // Only known to have failed by the end of a dispatch: the same run with the per-step test names the steps.
    if (!mode.checked && failures.some((f) => f.kind === 'nonfiniteBy')) return { ...mode, checked: true };
    for (const f of failures) context.failures.push({ ...f, kind: f.kind === 'noConvergence' ? 'noConvergence' : 'nonfinite', trajectory: first + f.trajectory, perDispatch });
    out.iterationsTotal! += status.iterationsTotal;
    out.iterationsMax = Math.max(out.iterationsMax!, status.iterationsMax);
    unpackState(new Float32Array(await readBuffer(gpu, set.state, 2 * count * n * 4)), count, n, out.q, out.p, first);
    return null;
  }

  /**
   * Puts each failed trajectory at its last finite state: the same trajectory run again alone for the steps
   * before its failure, with the dispatches split as in the batch run (so the state is the one the run had).
   */
  async function lastFiniteStates(q0: ArrayLike<number>, p0: ArrayLike<number>, t0: number, out: Accumulated, failures: ChunkContext['failures'], control: RunControl, tp: TrajectoryParams | null): Promise<void> {
    for (const f of failures) {
      const one: Accumulated = { q: new Float64Array(n), p: new Float64Array(n), iterationsTotal: 0, iterationsMax: 0 };
      const qs = Float64Array.from({ length: n }, (_, i) => q0[f.trajectory * n + i]!), ps = Float64Array.from({ length: n }, (_, i) => p0[f.trajectory * n + i]!);
      const params = tp === null ? {} : { params: sliceTrajectoryParams(tp, f.trajectory, 1) };
      await runChunk(qs, ps, 0, 1, f.step, t0, 0, 0, one, { control, failures: [] }, { checked: true, perDispatch: f.perDispatch, ...params });
      out.q.set(one.q, f.trajectory * n);
      out.p.set(one.p, f.trajectory * n);
    }
  }

  const stepper: PlainRunStepper<GpuStepper> = {
    method: program.method,
    dt,
    backend: 'gpu',
    dof: n,
    source: wgsl,
    wgsl,
    gpu,
    async run(options: RunOptions): Promise<RunResult> {
      // Typed float q0/p0 of a plain one-chunk run are checked while they are converted for the upload (one pass).
      const { batch, steps, record, recordInitial, t0 } = checkRunOptions(options, n, 'f32', false);
      const scanOnUpload = steps > 0 && batch <= chunkLimit && options.section === undefined && options.saveAt === undefined && options.saveAtSteps === undefined;
      if (!scanOnUpload) for (const key of ['q0', 'p0'] as const) checkStateArray(key, options[key], batch * n, 'f32');
      const tp = trajectoryParams(h, options.params, batch, 'f32');
      const onFailure = onFailureMode(options.onFailure);
      const control = new RunControl(options, 'run', steps);
      control.throwIfAborted();
      const extras = runExtras(h, options, { dt, t0, steps, batch, record, maxDof: WGSL_SECTION_MAX_DOF });
      if (extras !== null) return gpuSectionRun(sectionContext, options, { batch, steps, t0, record, recordInitial, params: tp }, extras, control);
      const q = options.q0, p = options.p0; // read, not copied (a failed trajectory's rerun reads its start again)
      const recordCount = record > 0 ? Math.floor(steps / record) : 0;
      const out: Accumulated = { q: new Float64Array(batch * n), p: new Float64Array(batch * n), iterationsTotal: 0, iterationsMax: 0 };
      const recorded = record > 0 ? recordArrays(q, p, batch, n, record, recordCount, recordInitial, 'f32') : null;
      if (recorded !== null) out.record = { every: record, count: recordCount, ...recorded.steps };
      if (steps === 0) return { ...out, q: Float64Array.from(q), p: Float64Array.from(p), ...(recorded !== null ? { record: recorded.record } : {}), ...(onFailure === 'report' ? { status: trajectoryStatuses(batch, []) } : {}) };
      const failures: ChunkContext['failures'] = [];
      for (let first = 0; first < batch; first += chunkLimit) {
        const count = Math.min(chunkLimit, batch - first);
        await runChunk(q, p, first, count, steps, t0, record, recordCount, out, { control: control.phase(first / batch, count / batch), failures }, { scan: scanOnUpload, ...(tp === null ? {} : { params: tp }) });
      }
      if (failures.length > 0 && onFailure === 'throw') throw runFailureError(program.method, dt, failures, { batch, label: 'gpu f32' });
      if (failures.length > 0) await lastFiniteStates(q, p, options.t0 ?? 0, out, failures, control, tp);
      control.report(1, 1);
      const { iterationsTotal, iterationsMax, ...result } = out;
      if (program.implicit) result.stats = { iterations: { mean: iterationsTotal! / (steps * batch), max: iterationsMax! } };
      if (onFailure === 'report') result.status = trajectoryStatuses(batch, failures);
      if (recorded !== null) result.record = recorded.record;
      return result;
    },
    async vjp(options: VjpOptions): Promise<VjpResult> {
      return runVjp(adjointBackend, options, 'f32');
    },
    lyapunov: gpuLyapunov({ program, dt, gpu, paramBuffer, maxWorkgroups, sizing, stepsPerDispatch: options.stepsPerDispatch, settings, modules }),
    jacobian(q0, p0, t = 0) {
      checkJacobianPoint(q0, p0, t, n);
      jacobian ??= jacobianFunction(program, { ...JS_FIXED_POINT, maxIterations: settings.maxIterations });
      return jacobian(q0, p0, dt, t);
    },
    exportKernel() {
      const maxStepsPerDispatch = options.stepsPerDispatch ?? stepsPerDispatchBound;
      return kernelExport({ wgsl, entryPoint: 'main', otherEntryPoints: ['mainChecked', 'mainRecord'], program, dt, maxStepsPerDispatch, limits: adapterLimits(gpu) });
    },
    dispose() {
      life.dispose(() => {
        paramBuffer.destroy();
        pool.destroy();
        // Free the cached pipelines of this stepper's modules (kernel.ts bounds the cache; this returns them early).
        for (const module of [wgsl, ...[...sweepKernels.values()].map((set) => set.wgsl), ...modules]) dropPipelines(gpu, module);
      });
    },
  };
  const sectionContext: GpuSectionContext = {
    gpu, program: kernelProgram, source: program, specialize: options.specializeParameters !== false, dt, settings, paramBuffer, maxWorkgroups, bindingLimit, sizing, kernels: new Map(), modules,
    dispatchBudget: options.dispatchBudget ?? 2e9, ...(options.stepsPerDispatch !== undefined ? { stepsPerDispatch: options.stepsPerDispatch } : {}),
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
    modules,
    run: (o) => stepper.run(o),
  });
  const owner: StateOwner = { backend: 'gpu', dof: n, foreign: (s) => foreignGpuState(s, gpu) };
  const live = (what: string) => {
    if (life.disposed) throw disposedError(what);
  };

  /** `run({ state, steps })`: the state's buffer advanced in place; only a 32-byte status summary comes back. */
  async function runOnState(options: StateRunOptions): Promise<StateRunResult> {
    checkStateRun(options, owner);
    const state = options.state as GpuDeviceState;
    const batch = state.batch;
    const steps = checkCount('steps', options.steps, 0);
    const t0 = checkTime('t0', options.t0, 'f32');
    const tp = trajectoryParams(h, options.params, batch, 'f32');
    const control = new RunControl(options, 'run', steps);
    control.throwIfAborted();
    if (steps === 0) return { state };
    const set = pool.acquire(batch);
    let ok = false;
    const chunkParams = tp === null ? null : createStorageBuffer(gpu, packTrajectoryParams(h.paramValues, tp.values, 0, batch, tp.sizes));
    let summary;
    const start = state.keepStart();
    try {
      await dispatchSteps(state.buffer, set, batch, steps, t0, 0, 0, set.noRecord, chunkParams, { control, failures: [] }, tp === null ? {} : { params: tp });
      await pool.summarize(set, set.status, batch);
      summary = await readBuffersWith(gpu, [{ buffer: set.summary, bytes: SUMMARY_WORDS * 4 }], set.staging, (mapped) => decodeSummary(new Uint32Array(mapped, 0, SUMMARY_WORDS)));
      ok = true;
      if (summary.failed > 0) {
        // Diagnosed as a plain run from the same start (which throws the failure, or reruns a dispatch the
        // adapter cut short with fewer steps and succeeds: then its result is the state's).
        const from = await downloadGpuState(state, owner, start);
        const { state: _s, batch: _b, ...rest } = options;
        const result = await stepper.run({ ...rest, q0: from.q, p0: from.p, batch });
        writeBuffer(gpu, state.buffer, packState(result.q, result.p, 0, batch, n, new Float32Array(2 * batch * n)));
        control.report(1, 1);
        return result.stats === undefined ? { state } : { state, stats: result.stats };
      }
    } catch (e) {
      state.restoreStart(); // a rejected run (failure, abort, device error) leaves the state as it was
      throw e;
    } finally {
      pool.release(set, !ok);
      chunkParams?.destroy();
    }
    control.report(1, 1);
    return program.implicit ? { state, stats: { iterations: { mean: summary.iterationsTotal / (steps * batch), max: summary.iterationsMax } } } : { state };
  }

  const full = stepper as unknown as GpuStepper;
  full.run = dispatchRun(stepper.run.bind(stepper), runOnState);
  full.upload = async (q0, p0, uploadOptions) => {
    live('upload');
    return uploadGpuState(gpu, q0, p0, uploadOptions, n, chunkLimit);
  };
  full.download = async (state) => {
    live('download');
    return downloadGpuState(state, owner);
  };
  return life.guard(full);
}
