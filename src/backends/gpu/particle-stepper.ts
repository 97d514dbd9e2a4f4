/**
 * The GPU stepper of particle programs (src/codegen/particle-analysis.ts): one invocation per particle and copy.
 * A system that fits one workgroup runs many steps per dispatch (`workgroupStepsKernel`); a larger one runs one
 * dispatch per force evaluation — all pairs tiled (`tiledKickDriftKernel`) or through cell lists rebuilt on the
 * device (`cellKickDriftModule`) — with its state resident on the device from the upload at the start of a run to
 * the readback at its end (particle-runs.ts). Either way `batch` copies run side by side.
 */
import type { KernelExport } from './kernel-export.js';
import { DarbouxError, showValue } from '../../errors.js';
import type { ParticleProgram } from '../../codegen/particle-analysis.js';
import { fixedData, type FixedData } from '../../codegen/particle-terms-wgsl.js';
import { cellGridOf, cellKickDriftModule } from '../../codegen/particle-cells-wgsl.js';
import { forceLoopIterations, tiledKickDriftKernel, workgroupStepsKernel } from '../../codegen/particle-wgsl.js';
import { JS_FIXED_POINT } from '../../codegen/emit-js-stepper.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { acquireGpu, createComputeKernel, createStorageBuffer, type AdapterChoice, type Gpu } from '../../runtime/index.js';
import { jacobianFunction } from '../cpu/jacobian.js';
import { checkRunOptions } from '../checks.js';
import { refuseSectionOptions } from '../sections.js';
import { recordArrays } from '../record-arrays.js';
import { checkJacobianPoint, disposedError, stepperLifetime } from '../input-checks.js';
import { withHostState, type PlainRunStepper } from '../device-state.js';
import type { RunOptions, RunResult, Stepper, VjpOptions, VjpResult } from '../stepper.js';
import { RunControl } from '../run-control.js';
import { onFailureMode, trajectoryStatuses, type RunFailure } from '../run-failures.js';
import { particleFailureError, runResidentChunk, runWorkgroupChunk, type ParticleChunk, type ParticleKernelKind, type ParticleRunContext } from './particle-runs.js';

/** Which per-particle kernel runs: chosen by size ('auto'), or forced. */
export type ParticleKernelChoice = 'auto' | 'tiled' | 'workgroup' | 'cells';

/** Options of {@link particleGpuStepper}. */
export interface ParticleStepperOptions {
  adapter?: AdapterChoice;
  /** Workgroup kernel: steps per dispatch (default: as many as the adapter's loop bound and `dispatchBudget` allow). */
  stepsPerDispatch?: number;
  /** Approximate pair evaluations per dispatch of the workgroup kernel on hardware adapters (default 2e9). */
  dispatchBudget?: number;
  particleKernel?: ParticleKernelChoice;
}

/** A Stepper of the per-particle kernels, with the WGSL it dispatches and which kernel that is. */
export interface ParticleGpuStepper extends Stepper {
  readonly wgsl: string;
  readonly gpu: Gpu;
  readonly kernel: ParticleKernelKind;
  /** Refused (OPTION): several kernels and dispatches per step; compile with `particleKernel: 'off'` to export. */
  exportKernel(): KernelExport;
}

/** Loop iterations one invocation may run on llvmpipe (its limiter stops at 65 535), with a margin. */
const LLVMPIPE_LOOP_ITERATIONS = 60_000;
/** Invocations per workgroup of the tiled kernel. */
const TILE = 64;
/** Largest workgroup the workgroup kernel uses (and so the largest system it runs). */
const MAX_WORKGROUP = 256;

/** Entry points of the cell-list passes, in dispatch order. */
const CELL_PASSES = ['cellClear', 'cellCount', 'cellScan', 'cellScatter'] as const;

/** On llvmpipe, the most particles 'auto' runs in the workgroup kernel. */
const LLVMPIPE_WORKGROUP_PARTICLES = 128;

/** Workgroup size of the workgroup kernel for this system, or 0 when it does not fit one workgroup. */
function workgroupFit(gpu: Gpu, pp: ParticleProgram): number {
  const limit = Math.min(MAX_WORKGROUP, gpu.limits.maxComputeInvocationsPerWorkgroup, gpu.limits.maxComputeWorkgroupSizeX);
  const size = Math.max(32, Math.ceil(pp.n / 32) * 32);
  return size <= limit && pp.n * pp.dim * 4 <= 12_288 ? size : 0;
}

/** The kernel for a system on this adapter (and the workgroup size and cell grid it needs). */
function chooseKernel(gpu: Gpu, pp: ParticleProgram, choice: ParticleKernelChoice): { kind: ParticleKernelKind; fit: number; grid: number[] | null } {
  if (!['auto', 'tiled', 'workgroup', 'cells'].includes(choice)) {
    throw new DarbouxError('OPTION', `unknown particleKernel ${showValue(choice)}; use 'auto', 'tiled', 'workgroup', 'cells' or 'off'`, { particleKernel: choice });
  }
  const fit = workgroupFit(gpu, pp);
  const grid = cellGridOf(pp);
  if (choice === 'workgroup' && fit === 0) {
    throw new DarbouxError('OPTION', `particleKernel 'workgroup': ${pp.n} particles do not fit one workgroup on the ${gpu.adapterKind} GPU; use 'tiled' or 'auto'`, { n: pp.n });
  }
  if (choice === 'cells' && grid === null) {
    throw new DarbouxError('OPTION', "particleKernel 'cells' needs pair terms in a periodic box with a cutoff and at least 3 cells of side ≥ the cutoff per dimension; use 'tiled' or 'auto'", { n: pp.n });
  }
  // On llvmpipe one workgroup runs on one thread: past ~128 particles the tiled kernel's parallel workgroups win
  // over the saved dispatches (measured); on hardware a system that fits one workgroup always runs there.
  const autoWorkgroup = fit > 0 && (gpu.adapterKind !== 'llvmpipe' || pp.n <= LLVMPIPE_WORKGROUP_PARTICLES);
  // Cell lists pay off once the 3^dim cells around a particle hold well under all particles.
  const cellsPayOff = grid !== null && 2 * 3 ** pp.dim < grid.reduce((a, b) => a * b, 1);
  const kind: ParticleKernelKind = choice !== 'auto' ? choice : autoWorkgroup ? 'workgroup' : cellsPayOff ? 'cells' : 'tiled';
  return { kind, fit, grid };
}

/**
 * Steps per dispatch of the workgroup kernel (as many as llvmpipe's loop bound, or on hardware the dispatch
 * budget, allows); refuses (DEVICE) a force evaluation over llvmpipe's bound for the other kernels.
 */
function stepsPerDispatch(gpu: Gpu, pp: ParticleProgram, fixed: FixedData, kind: ParticleKernelKind, options: ParticleStepperOptions, method: string): number {
  const forceLoops = forceLoopIterations(pp, fixed);
  const perStep = 1 + Math.max(1, pp.stages.filter((s) => s.kind === 'drift').length) * forceLoops;
  const llvmpipe = gpu.adapterKind === 'llvmpipe';
  const bound = Math.floor((LLVMPIPE_LOOP_ITERATIONS - forceLoops) / perStep);
  if (llvmpipe && (kind === 'workgroup' ? bound < 1 : forceLoops + pp.n / TILE > LLVMPIPE_LOOP_ITERATIONS)) {
    throw new DarbouxError('DEVICE', `${method}: ${pp.n} particles need about ${kind === 'workgroup' ? perStep : forceLoops} loop iterations per invocation, over what llvmpipe allows (65 535); use backend: 'cpu' or a hardware adapter`, { n: pp.n });
  }
  return options.stepsPerDispatch ?? Math.max(1, llvmpipe ? bound : Math.floor((options.dispatchBudget ?? 2e9) / (perStep * pp.n)));
}

/**
 * A per-particle GPU stepper for a particle program. `fallback` builds the per-trajectory GPU stepper of the same
 * program, used for `vjp`.
 *
 * @example
 * const pp = particleProgram(program, dt);
 * if (pp) return particleGpuStepper(program, pp, dt, options, () => trajectoryStepper(program, dt, options));
 */
export async function particleGpuStepper(program: StepProgram, pp: ParticleProgram, dt: number, options: ParticleStepperOptions, fallback: () => Promise<Stepper>): Promise<ParticleGpuStepper> {
  const gpu = await acquireGpu({ adapter: options.adapter });
  const dof = pp.n * pp.dim;
  const fixed: FixedData = fixedData(pp);
  const { kind, fit, grid } = chooseKernel(gpu, pp, options.particleKernel ?? 'auto');
  const perDispatch = stepsPerDispatch(gpu, pp, fixed, kind, options, program.method);
  const wgsl = kind === 'tiled' ? tiledKickDriftKernel(pp, fixed, TILE) : kind === 'cells' ? cellKickDriftModule(pp, fixed, grid!) : workgroupStepsKernel(pp, fixed, fit);
  const context: ParticleRunContext = {
    gpu, pp, kind, method: program.method, dt,
    kernel: await createComputeKernel(gpu, { wgsl, entryPoint: 'main', label: `darboux-particles-${kind}` }),
    cellPasses: kind !== 'cells' ? [] : await Promise.all(CELL_PASSES.map((entryPoint) => createComputeKernel(gpu, { wgsl, entryPoint, label: `darboux-particles-${entryPoint}` }))),
    cellCount: grid?.reduce((a, b) => a * b, 1) ?? 0,
    fixedBuffer: createStorageBuffer(gpu, fixed.words.length > 0 ? fixed.words : new Uint32Array(1)),
    stepsPerDispatch: perDispatch,
    tile: TILE,
  };
  const bindingLimit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  const copiesPerChunk = Math.max(1, Math.min(gpu.limits.maxComputeWorkgroupsPerDimension, Math.floor(bindingLimit / (12 * dof))));
  let jacobian: ReturnType<typeof jacobianFunction> | undefined;
  let trajectoryStepper: Promise<Stepper> | undefined;
  const life = stepperLifetime();

  const stepper: PlainRunStepper<ParticleGpuStepper> = {
    method: program.method,
    dt,
    backend: 'gpu',
    dof,
    source: wgsl,
    wgsl,
    gpu,
    kernel: kind,
    async run(runOptions: RunOptions): Promise<RunResult> {
      const { batch, steps, record, recordInitial } = checkRunOptions(runOptions, dof, 'f32');
      // Per-trajectory parameters (run-params.ts) run on the per-trajectory kernels, as vjp does.
      if (runOptions.params !== undefined) return (await (trajectoryStepper ??= fallback())).run(runOptions);
      refuseSectionOptions(runOptions, 'the GPU particle kernels');
      const q = Float64Array.from(runOptions.q0), p = Float64Array.from(runOptions.p0);
      const recordCount = record > 0 ? Math.floor(steps / record) : 0;
      const out: RunResult = { q: new Float64Array(batch * dof), p: new Float64Array(batch * dof) };
      const recorded = record > 0 ? recordArrays(q, p, batch, dof, record, recordCount, recordInitial, 'f32') : null;
      if (recorded !== null) out.record = { every: record, count: recordCount, ...recorded.steps };
      const onFailure = onFailureMode(runOptions.onFailure);
      const control = new RunControl(runOptions, 'run', steps);
      control.throwIfAborted();
      if (steps === 0) return { ...out, q, p, ...(recorded !== null ? { record: recorded.record } : {}), ...(onFailure === 'report' ? { status: trajectoryStatuses(batch, []) } : {}) };
      const failures: RunFailure[] = [];
      const runChunk = (chunk: ParticleChunk) => (kind === 'workgroup' ? runWorkgroupChunk(context, chunk) : runResidentChunk(context, chunk));
      for (let first = 0; first < batch; first += copiesPerChunk) {
        const count = Math.min(copiesPerChunk, batch - first);
        await runChunk({ q, p, first, count, steps, record, recordCount, out, control: control.phase(first / batch, count / batch), failures });
      }
      if (failures.length > 0 && onFailure === 'throw') throw particleFailureError(context, q, failures, batch);
      // Each failed copy at its last finite state: the copy run again alone for the steps before its failure.
      for (const f of failures) {
        const alone: RunResult = { q: out.q, p: out.p };
        await runChunk({ q, p, first: f.trajectory, count: 1, steps: f.step, record: 0, recordCount: 0, out: alone, control: control.phase(1, 0), failures: [] });
      }
      control.report(1, 1);
      if (onFailure === 'report') out.status = trajectoryStatuses(batch, failures);
      if (recorded !== null) out.record = recorded.record;
      return out;
    },
    async vjp(vjpOptions: VjpOptions): Promise<VjpResult> {
      try {
        trajectoryStepper ??= fallback();
        return await (await trajectoryStepper).vjp(vjpOptions);
      } catch (e) {
        if (e instanceof DarbouxError && e.code === 'DEVICE') {
          throw new DarbouxError('DEVICE', `vjp of this ${pp.n}-particle system needs the per-trajectory GPU kernels, which this adapter refuses (${e.message}); use compile(…, { backend: 'cpu' }) for its gradient`, { n: pp.n });
        }
        throw e;
      }
    },
    async lyapunov(lyapunovOptions) {
      trajectoryStepper ??= fallback();
      return (await trajectoryStepper).lyapunov(lyapunovOptions);
    },
    exportKernel(): never {
      throw new DarbouxError('OPTION', `exportKernel: this ${pp.n}-particle system runs the per-particle '${kind}' kernels (several kernels and dispatches per step), which have no single-kernel export; compile with particleKernel: 'off' to export the per-trajectory kernel`, { kernel: kind });
    },
    jacobian(q0, p0, t = 0) {
      checkJacobianPoint(q0, p0, t, dof);
      jacobian ??= jacobianFunction(program, JS_FIXED_POINT);
      return jacobian(q0, p0, dt, t);
    },
    dispose() {
      life.dispose(() => {
        context.fixedBuffer.destroy();
        void trajectoryStepper?.then((s) => s.dispose(), () => undefined);
      });
    },
  };
  return life.guard(withHostState(stepper, (what) => {
    if (life.disposed) throw disposedError(what);
  }));
}
