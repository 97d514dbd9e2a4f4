import { DarbouxError, showValue } from '../../errors.js';
import { JS_FIXED_POINT } from '../../codegen/emit-js-stepper.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import type { ParamValues } from '../../system/hamiltonian.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { size } from '../../ir/shape.js';
import { RunControl } from '../run-control.js';
import { runFailureError } from '../run-failures.js';
import { jsRunners } from './runners.js';
import { cpuTrajectoryAdjointBackend } from './trajectory-runs.js';
import { driveWindows, runWindowed, type WindowedRunArgs, type WindowedRunStatus } from './windowed-run.js';
import type { VjpOptions, VjpResult } from '../stepper.js';
import { runVjp, type AdjointBackend, type BackwardSegment, type BackwardStatus } from '../adjoint-driver.js';
import type { JsAdjointRunner } from '../../codegen/emit-js-adjoint.js';

/**
 * The f64 CPU backend of the vjp memory modes, for a program with given parameter values (aligned with
 * `program.system.params`).
 *
 * @example
 * const backend = cpuAdjointBackend(program, 0.01, h.paramValues);
 */
export function cpuAdjointBackend(
  program: StepProgram,
  dt: number,
  params: readonly ArrayLike<number>[],
  settings: FixedPointSettings = JS_FIXED_POINT,
  forwardRuns?: { run(a: WindowedRunArgs, control: RunControl): Promise<WindowedRunStatus> }, // e.g. a TrajectoryPool: forward passes over threads
): AdjointBackend {
  const runners = jsRunners(program, settings);
  return {
    program,
    dt,
    label: 'cpu f64',
    bytesPerValue: 8,
    async forward(q, p, batch, steps, t0, record, control = new RunControl({}, 'vjp', steps)) {
      const n = program.system.dof;
      const count = record > 0 ? Math.floor(steps / record) : 0;
      const rq = record > 0 ? new Float64Array(count * batch * n) : null;
      const rp = record > 0 ? new Float64Array(count * batch * n) : null;
      const args = { Q: q, P: p, params: params as Float64Array[], batch, steps, dt, t0, record, recordQ: rq, recordP: rp };
      const status = forwardRuns === undefined ? await runWindowed(runners.forward, args, control) : await forwardRuns.run(args, control);
      if (status.failures.length > 0) throw runFailureError(program.method, dt, status.failures, { batch });
      return { q, p, ...(rq && rp ? { record: { q: rq, p: rp } } : {}) };
    },
    async backward(s, control = new RunControl({}, 'vjp', s.steps)) {
      return backwardInPieces(runners.backward(s.source), s, params, dt, control);
    },
    withTrajectoryParams: (tp) => cpuTrajectoryAdjointBackend(program, dt, params, settings, tp),
  };
}

/** Options of `programVjp`: a vjp of a step program at given parameter values and step size. */
export interface ProgramVjpOptions extends Omit<VjpOptions, 'params'> {
  /** Step size (finite, non-zero). */
  dt: number;
  /** Parameter values: by name (missing names keep the Hamiltonian's), or arrays aligned with `hamiltonian.params`. */
  params?: ParamValues | readonly ArrayLike<number>[];
  /** Fixed-point settings of implicit methods (defaults as for `compile` on the CPU). */
  tolerance?: number;
  maxIterations?: number;
}

/** Parameter values aligned with the program's parameter nodes, checked for size. */
function alignedParams(program: StepProgram, params: ProgramVjpOptions['params']): readonly ArrayLike<number>[] {
  const h = program.system;
  if (params === undefined) return h.paramValues;
  const values = Array.isArray(params)
    ? (params as readonly ArrayLike<number>[])
    : h.params.map((node, k) => {
        const v = (params as ParamValues)[node.attrs.name as string];
        return v === undefined ? h.paramValues[k]! : typeof v === 'number' ? [v] : v;
      });
  if (values.length !== h.params.length) throw new DarbouxError('INPUT', `programVjp: ${values.length} parameter arrays for ${h.params.length} parameters`);
  h.params.forEach((node, k) => {
    if (values[k]!.length !== size(node.shape)) {
      throw new DarbouxError('INPUT', `programVjp: parameter ${showValue(node.attrs.name)} needs ${size(node.shape)} value(s), got ${values[k]!.length}`);
    }
  });
  return values;
}

/**
 * The exact discrete adjoint of `steps` steps of a step program on the f64 CPU backend, at parameter values
 * given per call — the entry point for trainers, which change θ every iteration without recompiling (generated
 * code is cached per program). Same options and result as `Stepper.vjp`, plus `dt`, `params` and the
 * fixed-point settings. `steps: 1` gives a single-step VJP.
 *
 * @example
 * const program = stepProgram(h, 'leapfrog');
 * const { dq0, dp0, dparams } = await programVjp(program, { dt: 0.01, params: { lam: 0.9 }, q0, p0, steps: 50, dq, dp });
 */
export async function programVjp(program: StepProgram, options: ProgramVjpOptions): Promise<VjpResult> {
  const { dt } = options;
  if (typeof dt !== 'number' || !Number.isFinite(dt) || dt === 0) throw new DarbouxError('OPTION', `dt must be a finite non-zero number, got ${showValue(dt)}`);
  const settings: FixedPointSettings = {
    tolerance: options.tolerance ?? JS_FIXED_POINT.tolerance,
    maxIterations: options.maxIterations ?? JS_FIXED_POINT.maxIterations,
  };
  // `params` here are the program's values for the whole batch, not per-trajectory values of `Stepper.vjp`.
  const { params, ...vjpOptions } = options;
  return runVjp(cpuAdjointBackend(program, dt, alignedParams(program, params), settings), vjpOptions);
}

/**
 * A backward segment run in windows (`driveWindows`, trajectory-major, steps descending), bit-identical to one
 * call, with yields, progress and the abort test between them; it stops at the first failure.
 */
async function backwardInPieces(run: JsAdjointRunner, s: BackwardSegment, params: readonly ArrayLike<number>[], dt: number, control: RunControl): Promise<BackwardStatus> {
  const out: BackwardStatus = { failure: null, iterationsTotal: 0, iterationsMax: 0 };
  await driveWindows(s.batch, s.steps, control, 'backward', (bFrom, bTo, sFrom, sTo) => {
    const status = run(s.q, s.p, s.lq, s.lp, s.g, params, s.batch, s.steps, dt, s.t0, s.storedQ ?? null, s.storedP ?? null, bFrom, bTo, sFrom, sTo);
    out.iterationsTotal += status.iterationsTotal;
    out.iterationsMax = Math.max(out.iterationsMax, status.iterationsMax);
    out.failure = status.failure;
    return status.failure ? 'stop' : 'ok';
  });
  return out;
}
