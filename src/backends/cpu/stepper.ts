import { JS_FIXED_POINT } from '../../codegen/emit-js-stepper.js';
import { cpuAdjointBackend } from './adjoint.js';
import { cpuForwardRunner, jsRunners } from './runners.js';
import { runWithTrajectoryParams, trajectoryRunner } from './trajectory-runs.js';
import { keptParameters, trajectoryParams, type TrajectoryParams } from '../run-params.js';
import type { JsRunner } from '../../codegen/emit-js-stepper.js';
import { checkRunOptions } from '../checks.js';
import { recordArrays } from '../record-arrays.js';
import { checkJacobianPoint, disposedError, stepperLifetime } from '../input-checks.js';
import { withHostState, type PlainRunStepper } from '../device-state.js';
import { RunControl } from '../run-control.js';
import { onFailureMode, runFailureError, trajectoryStatuses } from '../run-failures.js';
import { type WindowedRunArgs, type WindowedRunStatus } from './windowed-run.js';
import { runVjp } from '../adjoint-driver.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { jacobianFunction } from './jacobian.js';
import { cpuLyapunov } from './lyapunov.js';
import { LyapunovPool } from './lyapunov-threads.js';
import { threadedRunner, type CpuSettings } from './threaded-runner.js';
import { TrajectoryPool } from './trajectory-threads.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { specializeParameters } from '../../integrators/specialize.js';
import { runExtras } from '../sections.js';
import { runSections } from './section-run.js';
import { SECTION_MAX_DOF } from '../../codegen/section-js.js';
import type { LyapunovOptions, LyapunovResult, RunOptions, RunResult, Stepper, VjpOptions, VjpResult } from '../stepper.js';

/**
 * The f64 CPU backend: a generated JavaScript runner for the step program, the exact Jacobian from the
 * program's tangent step, and the exact discrete adjoint (`vjp`) from its backward step programs.
 *
 * @example
 * const st = cpuStepper(leapfrogStep(h), 0.01);
 * await st.run({ q0: [1, 0], p0: [0, 1], steps: 100 });
 */
export function cpuStepper(program: StepProgram, dt: number, settings: CpuSettings = {}): Stepper {
  const h = program.system;
  const fixedPoint: FixedPointSettings = {
    tolerance: settings.tolerance ?? JS_FIXED_POINT.tolerance,
    maxIterations: settings.maxIterations ?? JS_FIXED_POINT.maxIterations,
  };
  // Small parameters are compiled in as constants (the stepper fixes their values anyway).
  const specialized = specializeParameters(program);
  // The WebAssembly SIMD lane runner where the step has one (settings.cpuRunner), else the JS runner.
  const { runner, info: cpuRunner } = cpuForwardRunner(specialized, fixedPoint, settings.cpuRunner);
  const threaded = threadedRunner(specialized, fixedPoint, settings.threads); // null: 1 thread
  const trajectories = threaded === null ? new TrajectoryPool(specialized, runner, settings.threads) : null; // trajectories over threads
  const sweepRunners = new Map<string, JsRunner>(); // per-trajectory parameter sets (run-params.ts)
  let jacobian: ReturnType<typeof jacobianFunction> | undefined;
  let vjpForward: TrajectoryPool | undefined; // vjp's forward passes over threads (its backward pass sums g over trajectories in order: one thread)
  let lyapunov: ReturnType<typeof cpuLyapunov> | undefined;
  let lyapunovPool: LyapunovPool | undefined; // lyapunov's trajectories over threads (explicit methods)
  const sweepPrograms = new Map<string, StepProgram>(); // the same sets, for runs with sections
  /** The program and plain runner of a run with sections: per-trajectory parameters kept as inputs in a sweep. */
  const sectionPrograms = (tp: TrajectoryParams | null): { program: StepProgram; plain: JsRunner } => {
    if (tp === null) return { program: specialized, plain: runner };
    let kept = sweepPrograms.get(tp.key);
    if (kept === undefined) sweepPrograms.set(tp.key, (kept = specializeParameters(program, 16, keptParameters(h, tp))));
    return { program: kept, plain: trajectoryRunner(program, fixedPoint, tp, sweepRunners) };
  };
  const life = stepperLifetime();
  const stepper: PlainRunStepper<Stepper> = {
    method: program.method,
    dt,
    backend: 'cpu',
    dof: h.dof,
    source: jsRunners(specialized, fixedPoint).forward.source,
    cpuRunner,
    async run(options: RunOptions): Promise<RunResult> {
      const { batch, steps, record, recordInitial, t0 } = checkRunOptions(options, h.dof);
      const q = Float64Array.from(options.q0), p = Float64Array.from(options.p0);
      const recorded = record > 0 ? recordArrays(q, p, batch, h.dof, record, Math.floor(steps / record), recordInitial) : null;
      const rq = recorded?.steps.q ?? null, rp = recorded?.steps.p ?? null;
      const onFailure = onFailureMode(options.onFailure);
      const control = new RunControl(options, 'run', steps);
      const args = { Q: q, P: p, params: h.paramValues as Float64Array[], batch, steps, dt, t0, record, recordQ: rq, recordP: rp };
      const extras = runExtras(h, options, { dt, t0, steps, batch, record, maxDof: SECTION_MAX_DOF });
      // Threaded particle runs happen in workers (the main thread only awaits them): one call, no windows.
      const tp = trajectoryParams(h, options.params, batch);
      const status =
        extras !== null
          ? await runSections(args, { ...sectionPrograms(tp), settings: fixedPoint, ...extras, sweep: tp }, control)
          : tp !== null
            ? await runWithTrajectoryParams(trajectoryRunner(program, fixedPoint, tp, sweepRunners), args, tp, control)
            : threaded === null
              ? await trajectories!.run(args, control)
              : await threadedRun(threaded, args, control);
      if (status.failures.length > 0 && onFailure === 'throw') {
        throw runFailureError(program.method, dt, status.failures, { batch, start: { system: h, q0: options.q0 } });
      }
      const result: RunResult = { q, p };
      if (onFailure === 'report') result.status = trajectoryStatuses(batch, status.failures);
      if (program.implicit) {
        result.stats = { iterations: { mean: steps > 0 ? status.iterationsTotal / (steps * batch) : 0, max: status.iterationsMax } };
      }
      if (recorded !== null) result.record = recorded.record;
      if (extras?.saved) result.saved = extras.saved;
      if (extras?.sectionOut) result.section = extras.sectionOut;
      return result;
    },
    async vjp(options: VjpOptions): Promise<VjpResult> {
      // Forward passes over threads only when `threads` asks for it: the backward pass stays on one thread, and with
      // the default a 500-step leapfrog vjp of 1 024 trajectories measured 0.91× (slower) threaded on 2 quiet cores.
      vjpForward ??= new TrajectoryPool(program, cpuForwardRunner(program, fixedPoint, settings.cpuRunner === 'js' ? 'js' : 'auto').runner, settings.threads ?? 1);
      return runVjp(cpuAdjointBackend(program, dt, h.paramValues, fixedPoint, vjpForward), options);
    },
    async lyapunov(options: LyapunovOptions): Promise<LyapunovResult> {
      lyapunov ??= cpuLyapunov(program, dt, fixedPoint, (lyapunovPool = new LyapunovPool(specialized, settings.threads)));
      return lyapunov(options);
    },
    jacobian(q0, p0, t = 0) {
      checkJacobianPoint(q0, p0, t, h.dof);
      jacobian ??= jacobianFunction(program, fixedPoint);
      return jacobian(q0, p0, dt, t);
    },
    dispose() {
      life.dispose();
      threaded?.dispose();
      trajectories?.dispose();
      vjpForward?.dispose();
      lyapunovPool?.dispose();
    },
  };
  return life.guard(withHostState(stepper, (what) => {
    if (life.disposed) throw disposedError(what);
  }));
}

/** One threaded run over every trajectory and step, as a windowed run's status (progress reported at the end). */
async function threadedRun(threaded: NonNullable<ReturnType<typeof threadedRunner>>, a: WindowedRunArgs, control: RunControl): Promise<WindowedRunStatus> {
  control.throwIfAborted();
  const status = await threaded.run(a.Q, a.P, a.params, a.batch, a.steps, a.dt, a.t0, a.record, a.recordQ, a.recordP);
  control.report(a.batch * a.steps, a.batch * a.steps);
  return { failures: status.failures ?? (status.failure === null ? [] : [status.failure]), iterationsTotal: status.iterationsTotal, iterationsMax: status.iterationsMax };
}

