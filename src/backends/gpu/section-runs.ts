/**
 * GPU runs with Poincaré sections, events and saved steps: the section kernel (codegen/section-wgsl.ts) locates
 * and stores crossings and writes saved states itself; the host sizes and paces its dispatches, then decodes the
 * buffers into `result.section` (t = t0 + step·dt + τ in f64) and `result.saved`. `record` joins the saved steps
 * (section-record.ts); with `onFailure: 'report'` each failed trajectory runs again alone up to its failure (its
 * last finite state), its saved and recorded states after the failure NaN.
 */
import { DarbouxError } from '../../errors.js';
import { STATUS_WORDS, WORKGROUP_SIZE } from '../../codegen/kernel-words.js';
import { CROSSING_LOOP_ITERATIONS, SECTION_CONTROL_WORDS, SECTION_HEADER_WORDS, wgslSectionKernel } from '../../codegen/section-wgsl.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import type { KernelLoopIterations } from '../../codegen/emit-wgsl.js';
import type { Expr } from '../../ir/expr.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { createComputeKernel, createStorageBuffer, createUniformBuffer, readBuffer, splitDispatch, writeBuffer, type ComputeKernel, type Gpu } from '../../runtime/index.js';
import { onFailureMode, runFailureError, trajectoryStatuses } from '../run-failures.js';
import { RunControl } from '../run-control.js';
import { sectionArrays, sectionRate, type RunExtras } from '../sections.js';
import { keptParameters, sliceTrajectoryParams, type TrajectoryParams } from '../run-params.js';
import { packTrajectoryParams } from '../../codegen/trajectory-params-wgsl.js';
import { specializeParameters } from '../../integrators/specialize.js';
import type { RunOptions, RunResult } from '../stepper.js';
import { sectionRecordPlan } from './section-record.js';
import { DispatchPacer, type DispatchSizing } from './dispatch-pacer.js';
import { controlWriter, decodeFailures, decodeStatus, loopBoundedSteps } from './kernel-host.js';

/** What a stepper hands to its section runs. */
export interface GpuSectionContext {
  gpu: Gpu;
  /** The program its kernels compile (parameters possibly specialised). */
  program: StepProgram;
  /** The stepper's program before specialisation, and whether small parameters are inlined (sweep kernels: all but the swept ones). */
  source: StepProgram;
  specialize: boolean;
  dt: number;
  settings: FixedPointSettings;
  paramBuffer: GPUBuffer;
  maxWorkgroups: number;
  bindingLimit: number;
  dispatchBudget: number;
  stepsPerDispatch?: number;
  sizing: DispatchSizing;
  /**
   * Section kernels by section function (null: saved steps only), then by whether they save steps and which
   * parameters they read per trajectory (`saves|key`), with their loop iterations.
   */
  kernels: Map<Expr | null, Map<string, Promise<{ kernel: ComputeKernel; loopIterations: KernelLoopIterations }>>>;
  /** The WGSL modules compiled for this stepper (its `dispose` drops their pipelines from the cache). */
  modules: Set<string>;
}

/** The shape of one section run: `record` > 0 records every `record` steps (with `recordInitial`, q0 and p0 first). */
export interface SectionRun {
  batch: number;
  steps: number;
  t0: number;
  record: number;
  recordInitial?: boolean;
  params: TrajectoryParams | null;
}

/**
 * One run with `section` and/or saved steps on the GPU (the batch in one buffer set).
 *
 * @example
 * const result = await gpuSectionRun(context, options, { batch, steps, t0, record }, extras, control);
 */
export async function gpuSectionRun(
  c: GpuSectionContext,
  options: RunOptions,
  run: SectionRun,
  extras: RunExtras,
  control: RunControl,
): Promise<RunResult> {
  const { program, dt } = c;
  const { batch, steps, t0 } = run;
  const n = program.system.dof;
  if (run.record > 0) {
    const plan = sectionRecordPlan(extras, { q0: options.q0, p0: options.p0, batch, dof: n, dt, t0, steps, every: run.record, initial: run.recordInitial === true });
    const result = await gpuSectionRun(c, options, { ...run, record: 0 }, plan.extras, control);
    plan.split(result);
    return result;
  }
  const section = extras.section;
  const max = section?.max ?? 0, saveSteps = extras.saveSteps;
  const outFloats = Math.max(1, batch * max * (1 + 2 * n) + 2 * saveSteps.length * batch * n);
  const statusWords = batch * (STATUS_WORDS + SECTION_HEADER_WORDS) + saveSteps.length + batch * max;
  if (Math.max(outFloats, statusWords) * 4 > c.bindingLimit) {
    throw new DarbouxError('INPUT', `section slots and saved states of ${batch} trajectories need ${Math.max(outFloats, statusWords) * 4} bytes, over the device limit ${c.bindingLimit}; lower section.max, save fewer steps or split the batch`, { batch, max, saves: saveSteps.length });
  }
  const { kernel, loopIterations } = await sectionKernel(c, section?.g ?? null, saveSteps.length > 0, run.params);
  // Located crossings run extra loop iterations (implicit methods: up to four fractional solves each): leave
  // llvmpipe's per-invocation bound room for them.
  const crossing = CROSSING_LOOP_ITERATIONS + (program.implicit ? FRACTIONAL_STEPS * c.settings.maxIterations * Math.max(1, loopIterations.perSolveIteration) : 0);
  const bound = Math.max(1, Math.floor(loopBoundedSteps(c.gpu, { ...loopIterations, prologue: loopIterations.prologue + 2 * crossing }, c.settings.maxIterations, program.method) / 2));
  const perDispatch = Math.min(steps, c.stepsPerDispatch ?? Math.max(1, Math.min(Math.floor(c.dispatchBudget / (batch * Math.max(1, n * 8))), bound)));
  const state = new Float32Array(2 * batch * n);
  state.set(Float32Array.from(options.q0), 0);
  state.set(Float32Array.from(options.p0), batch * n);
  const status = new Uint32Array(statusWords);
  const uBase = batch * STATUS_WORDS;
  for (let b = 0; b < batch; b++) status[uBase + b * SECTION_HEADER_WORDS + 3] = saveSteps[0] === 0 ? 1 : 0;
  status.set(saveSteps, uBase + batch * SECTION_HEADER_WORDS);
  const sweepParams = run.params === null ? null : createStorageBuffer(c.gpu, packTrajectoryParams(program.system.paramValues, run.params.values, 0, batch, run.params.sizes));
  const buffers = [
    createStorageBuffer(c.gpu, state, { readable: true }),
    sweepParams ?? c.paramBuffer,
    createStorageBuffer(c.gpu, new Float32Array(outFloats).fill(NaN), { readable: true }),
    createStorageBuffer(c.gpu, status, { readable: true }),
  ];
  const words = controlWriter(SECTION_CONTROL_WORDS);
  const controlBuffer = createUniformBuffer(c.gpu, words.bytes.byteLength);
  const direction = section === null ? 0 : section.direction === 1 ? 1 : section.direction === -1 ? 2 : 0;
  const pacer = new DispatchPacer(c.gpu, control, steps, c.sizing);
  try {
    for (let base = 0; base < steps; base += perDispatch) {
      const stepsNow = Math.min(perDispatch, steps - base);
      for (let offset = 0; offset < batch;) {
        const part = splitDispatch(batch - offset, WORKGROUP_SIZE, Math.min(c.maxWorkgroups, pacer.workgroupLimit(stepsNow)))[0]!;
        words.set({ dt, tStart: t0, steps: stepsNow, stepBase: base, offset: offset + part.offset, batch, sectionMax: max, saveCount: saveSteps.length, direction, stop: section?.stop ? 1 : 0 });
        writeBuffer(c.gpu, controlBuffer, words.bytes);
        const began = performance.now();
        kernel.dispatch([...buffers, controlBuffer], part.workgroups);
        pacer.measured(part.workgroups, stepsNow, performance.now() - began);
        offset += Math.min(batch - offset, part.workgroups * WORKGROUP_SIZE);
        await pacer.dispatched(base + (offset >= batch ? stepsNow : 0));
      }
    }
    const [stateOut, outOut, statusOut] = await Promise.all([readBuffer(c.gpu, buffers[0]!), readBuffer(c.gpu, buffers[2]!), readBuffer(c.gpu, buffers[3]!)]);
    refuseTruncated(c.gpu, statusOut, batch, perDispatch);
    const failures = decodeFailures(statusOut, batch).map((f) => ({ ...f, kind: f.kind === 'noConvergence' ? ('noConvergence' as const) : ('nonfinite' as const) }));
    const report = onFailureMode(options.onFailure) === 'report';
    if (failures.length > 0 && !report) throw runFailureError(program.method, dt, failures, { batch, label: 'gpu f32' });
    const s = new Float32Array(stateOut);
    const result: RunResult = { q: Float64Array.from(s.subarray(0, batch * n)), p: Float64Array.from(s.subarray(batch * n)) };
    decodeOutputs(result, extras, new Float32Array(outOut), new Uint32Array(statusOut), { batch, n, t0, dt });
    for (const f of failures) await replaceFailed(c, options, run, extras, result, f, perDispatch);
    if (report) result.status = trajectoryStatuses(batch, failures);
    control.report(1, 1);
    return result;
  } finally {
    for (const buffer of [buffers[0]!, buffers[2]!, buffers[3]!, controlBuffer]) buffer.destroy();
    sweepParams?.destroy();
  }
}

/**
 * The section kernel for g (null: saved steps only), with or without the save branch, reading the parameters of
 * `tp` per trajectory (a sweep: compiled from the unspecialised program with those kept as inputs); compiled once.
 */
function sectionKernel(c: GpuSectionContext, g: Expr | null, saves: boolean, tp: TrajectoryParams | null): Promise<{ kernel: ComputeKernel; loopIterations: KernelLoopIterations }> {
  let byG = c.kernels.get(g);
  if (byG === undefined) c.kernels.set(g, (byG = new Map()));
  const key = `${saves}|${tp?.key ?? ''}`;
  let found = byG.get(key);
  if (found === undefined) {
    const program = tp === null ? c.program : c.specialize ? specializeParameters(c.source, 16, keptParameters(c.source.system, tp)) : c.source;
    const { wgsl, loopIterations } = wgslSectionKernel(program, c.settings, g, g === null ? null : sectionRate(program.system, g), saves, tp?.indices ?? []);
    const variant = tp === null ? '' : `-params(${tp.names.join(',')})`;
    c.modules.add(wgsl);
    found = createComputeKernel(c.gpu, { wgsl, entryPoint: 'main', label: `darboux-${program.method}-section${variant}` }).then((kernel) => ({ kernel, loopIterations }));
    byG.set(key, found);
    found.catch(() => byG.get(key) === found && byG.delete(key));
  }
  return found;
}

/** Fractional steps Φ_τ one located crossing runs in the kernel (section-wgsl.ts: k = 2 … 5). */
const FRACTIONAL_STEPS = 4;

/**
 * `onFailure: 'report'`: puts failed trajectory f at its last finite state (after f.step steps), with the crossings
 * it had by then and its saved states up to then (later saves NaN). The trajectory runs again alone for f.step steps
 * with the same kernel, parameters and steps per dispatch, so its state and crossings are the batch run's.
 */
async function replaceFailed(
  c: GpuSectionContext,
  options: RunOptions,
  run: SectionRun,
  extras: RunExtras,
  result: RunResult,
  f: { trajectory: number; step: number },
  perDispatch: number,
): Promise<void> {
  const n = c.program.system.dof, b = f.trajectory;
  const one = {
    section: extras.section,
    saveSteps: extras.saveSteps.length > 0 && f.step > 0 ? Int32Array.of(f.step) : new Int32Array(0),
    sectionOut: extras.section === null ? null : sectionArrays(1, extras.section.max, n),
    saved: null,
  };
  let q: ArrayLike<number> = Float64Array.from(options.q0).slice(b * n, (b + 1) * n);
  let p: ArrayLike<number> = Float64Array.from(options.p0).slice(b * n, (b + 1) * n);
  if (f.step > 0) {
    const again = { q0: q, p0: p, steps: f.step, signal: options.signal } as RunOptions;
    const params = run.params === null ? null : sliceTrajectoryParams(run.params, b, 1);
    const alone = await gpuSectionRun({ ...c, stepsPerDispatch: perDispatch }, again, { batch: 1, steps: f.step, t0: run.t0, record: 0, params }, one, new RunControl({ signal: options.signal }, 'run', f.step));
    ({ q, p } = alone);
  }
  result.q.set(q, b * n);
  result.p.set(p, b * n);
  const sec = extras.sectionOut, mine = one.sectionOut;
  if (sec !== null && mine !== null) {
    const max = sec.max;
    sec.count[b] = mine.count[0]!;
    sec.overflowed[b] = mine.overflowed[0]!;
    sec.stopped[b] = 0;
    for (const [to, from, width] of [[sec.t, mine.t, 1], [sec.q, mine.q, n], [sec.p, mine.p, n]] as const) to.set(from, b * max * width);
  }
  const saved = extras.saved;
  if (saved !== null) {
    const m = run.batch * n;
    extras.saveSteps.forEach((k, j) => {
      if (k <= f.step) return;
      saved.q.fill(NaN, j * m + b * n, j * m + (b + 1) * n);
      saved.p.fill(NaN, j * m + b * n, j * m + (b + 1) * n);
    });
  }
}

/** DEVICE when the adapter cut a dispatch short (the result is discarded). */
function refuseTruncated(gpu: Gpu, statusOut: ArrayBuffer, batch: number, perDispatch: number): void {
  const failure = decodeStatus(statusOut, batch).failure;
  if (failure?.kind !== 'truncated') return;
  throw new DarbouxError(
    'DEVICE',
    `the ${gpu.adapterKind} GPU ended the step loop early (at step ${failure.step + 1} of trajectory ${failure.trajectory}, ${perDispatch} steps per dispatch); the result is discarded: pass a smaller stepsPerDispatch to compile, or use the CPU backend`,
    { step: failure.step + 1, trajectory: failure.trajectory },
  );
}

/** Fills `result.section` and `result.saved` from the kernel's buffers (layouts in codegen/section-wgsl.ts). */
function decodeOutputs(result: RunResult, extras: RunExtras, out: Float32Array, words: Uint32Array, r: { batch: number; n: number; t0: number; dt: number }): void {
  const { batch, n } = r;
  const uBase = batch * STATUS_WORDS;
  const saveCount = extras.saveSteps.length;
  const slotSteps = uBase + batch * SECTION_HEADER_WORDS + saveCount;
  const sec = extras.sectionOut;
  if (sec !== null) {
    const width = 1 + 2 * n;
    for (let b = 0; b < batch; b++) {
      const h = uBase + b * SECTION_HEADER_WORDS;
      sec.count[b] = words[h]!;
      sec.overflowed[b] = words[h + 1]!;
      sec.stopped[b] = words[h + 2]!;
      for (let k = 0; k < sec.count[b]!; k++) {
        const slot = b * sec.max + k;
        sec.t[slot] = r.t0 + words[slotSteps + slot]! * r.dt + out[slot * width]!;
        for (let i = 0; i < n; i++) {
          sec.q[slot * n + i] = out[slot * width + 1 + i]!;
          sec.p[slot * n + i] = out[slot * width + 1 + n + i]!;
        }
      }
    }
    result.section = sec;
  }
  const saved = extras.saved;
  if (saved !== null) {
    const savedBase = batch * (sec?.max ?? 0) * (1 + 2 * n), m = batch * n;
    for (let k = 0; k < saveCount; k++) {
      if (extras.saveSteps[k] === 0) continue; // the initial state, filled on the host
      for (let j = 0; j < m; j++) {
        saved.q[k * m + j] = out[savedBase + k * m + j]!;
        saved.p[k * m + j] = out[savedBase + saveCount * m + k * m + j]!;
      }
    }
    result.saved = saved;
  }
}
