/**
 * CPU runs and vjps with per-trajectory parameters (`RunOptions.params`): one generated runner per set of
 * per-trajectory parameter names (those read from the `params` argument, the others inlined as constants),
 * called one trajectory at a time with that trajectory's values, inside the usual windows (progress, abort).
 */
import type { JsRunFailure, JsRunner } from '../../codegen/emit-js-stepper.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { specializeParameters } from '../../integrators/specialize.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { size } from '../../ir/shape.js';
import type { AdjointBackend, BackwardSegment, BackwardStatus } from '../adjoint-driver.js';
import { RunControl } from '../run-control.js';
import { runFailureError } from '../run-failures.js';
import { keptParameters, trajectoryParamBlocks, type TrajectoryParams } from '../run-params.js';
import { jsRunners } from './runners.js';
import { driveWindows, type WindowedRunArgs, type WindowedRunStatus } from './windowed-run.js';

/**
 * The forward runner of `program` with the parameters of `tp` kept as inputs (others inlined), compiled once per
 * set of names and kept in `cache`.
 *
 * @example
 * const runner = trajectoryRunner(program, JS_FIXED_POINT, tp, new Map());
 */
export function trajectoryRunner(program: StepProgram, settings: FixedPointSettings, tp: TrajectoryParams, cache: Map<string, JsRunner>): JsRunner {
  let runner = cache.get(tp.key);
  if (runner === undefined) {
    runner = jsRunners(specializeParameters(program, 16, keptParameters(program.system, tp)), settings).forward;
    cache.set(tp.key, runner);
  }
  return runner;
}

/**
 * Copies of the parameter arrays whose per-trajectory entries `setTrajectory(b)` overwrites.
 *
 * @example
 * const values = trajectoryParamArrays(h.paramValues, tp); values.setTrajectory(3); runner(…, values.arrays, …);
 */
export function trajectoryParamArrays(params: readonly ArrayLike<number>[], tp: TrajectoryParams): { arrays: Float64Array[]; setTrajectory(b: number): void } {
  const arrays = params.map((v) => Float64Array.from(v));
  return {
    arrays,
    setTrajectory(b) {
      for (let j = 0; j < tp.indices.length; j++) {
        const k = tp.sizes[j]!;
        arrays[tp.indices[j]!]!.set(tp.values[j]!.subarray(b * k, (b + 1) * k));
      }
    },
  };
}

/**
 * A forward run (as `runWindowed`) where each trajectory sees its own values of the parameters in `tp`.
 *
 * @example
 * const status = await runWithTrajectoryParams(runner, args, tp, control);
 */
export async function runWithTrajectoryParams(runner: JsRunner, a: WindowedRunArgs, tp: TrajectoryParams, control: RunControl): Promise<WindowedRunStatus> {
  const out: WindowedRunStatus = { failures: [], iterationsTotal: 0, iterationsMax: 0 };
  const params = trajectoryParamArrays(a.params, tp);
  await driveWindows(a.batch, a.steps, control, 'forward', (bFrom, bTo, sFrom, sTo) => {
    const failures: JsRunFailure[] = [];
    for (let b = bFrom; b < bTo; b++) {
      params.setTrajectory(b);
      const status = runner(a.Q, a.P, params.arrays, a.batch, a.steps, a.dt, a.t0, a.record, a.recordQ, a.recordP, b, b + 1, sFrom, sTo);
      out.iterationsTotal += status.iterationsTotal;
      out.iterationsMax = Math.max(out.iterationsMax, status.iterationsMax);
      failures.push(...status.failures!);
    }
    out.failures.push(...failures);
    return failures.length > 0 ? 'trajectoryFailed' : 'ok';
  });
  return out;
}

/**
 * The f64 CPU adjoint backend with per-trajectory parameters: forward and backward passes call the generated
 * runners one trajectory at a time with its values; the gradients of the per-trajectory parameters go to
 * `segment.gTrajectory` (per trajectory), the others are summed into `segment.g` as usual.
 *
 * @example
 * const backend = cpuTrajectoryAdjointBackend(program, 0.01, h.paramValues, JS_FIXED_POINT, tp);
 */
export function cpuTrajectoryAdjointBackend(program: StepProgram, dt: number, params: readonly ArrayLike<number>[], settings: FixedPointSettings, tp: TrajectoryParams): AdjointBackend {
  const runners = jsRunners(program, settings);
  const n = program.system.dof;
  return {
    program,
    dt,
    label: 'cpu f64',
    bytesPerValue: 8,
    async forward(q, p, batch, steps, t0, record, control = new RunControl({}, 'vjp', steps)) {
      const count = record > 0 ? Math.floor(steps / record) : 0;
      const rq = record > 0 ? new Float64Array(count * batch * n) : null;
      const rp = record > 0 ? new Float64Array(count * batch * n) : null;
      const args = { Q: q, P: p, params: params as Float64Array[], batch, steps, dt, t0, record, recordQ: rq, recordP: rp };
      const status = await runWithTrajectoryParams(runners.forward, args, tp, control);
      if (status.failures.length > 0) throw runFailureError(program.method, dt, status.failures, { batch });
      return { q, p, ...(rq && rp ? { record: { q: rq, p: rp } } : {}) };
    },
    async backward(s, control = new RunControl({}, 'vjp', s.steps)) {
      return backwardPerTrajectory(program, runners.backward(s.source), s, params, tp, dt, control);
    },
  };
}

/** Offsets of each parameter's first element in the flat gradient. */
function gradientOffsets(program: StepProgram): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const node of program.system.params) {
    offsets.push(at);
    at += size(node.shape);
  }
  return offsets;
}

/** A backward segment, one trajectory per runner call, each trajectory's parameter gradient split as `tp` says. */
async function backwardPerTrajectory(
  program: StepProgram,
  run: ReturnType<ReturnType<typeof jsRunners>['backward']>,
  s: BackwardSegment,
  params: readonly ArrayLike<number>[],
  tp: TrajectoryParams,
  dt: number,
  control: RunControl,
): Promise<BackwardStatus> {
  const out: BackwardStatus = { failure: null, iterationsTotal: 0, iterationsMax: 0 };
  const values = trajectoryParamArrays(params, tp);
  const offsets = gradientOffsets(program);
  const blocks = trajectoryParamBlocks(tp, s.batch).starts;
  const perTrajectory = new Set(tp.indices.flatMap((k, j) => Array.from({ length: tp.sizes[j]! }, (_, e) => offsets[k]! + e)));
  const g = new Float64Array(s.g.length);
  await driveWindows(s.batch, s.steps, control, 'backward', (bFrom, bTo, sFrom, sTo) => {
    for (let b = bFrom; b < bTo; b++) {
      values.setTrajectory(b);
      g.fill(0);
      const status = run(s.q, s.p, s.lq, s.lp, g, values.arrays, s.batch, s.steps, dt, s.t0, s.storedQ ?? null, s.storedP ?? null, b, b + 1, sFrom, sTo);
      out.iterationsTotal += status.iterationsTotal;
      out.iterationsMax = Math.max(out.iterationsMax, status.iterationsMax);
      for (let i = 0; i < g.length; i++) if (!perTrajectory.has(i)) s.g[i] += g[i]!;
      tp.indices.forEach((k, j) => {
        const size = tp.sizes[j]!;
        for (let e = 0; e < size; e++) s.gTrajectory![blocks[j]! + b * size + e] += g[offsets[k]! + e]!;
      });
      if (status.failure) {
        out.failure = status.failure;
        return 'stop';
      }
    }
    return 'ok';
  });
  return out;
}
