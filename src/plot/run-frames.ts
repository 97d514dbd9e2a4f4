/**
 * A `Stepper.run` result as the trajectory a plot draws: `plot.energy(result, { hamiltonian, dt, q0, p0 })` and
 * `plot.phase(result, { q0, p0 })` take the result directly, with the run's inputs named as `trajectoryFromRun`
 * and `st.run` name them.
 */
import { DarbouxError } from '../errors.js';
import type { RunResult } from '../backends/stepper.js';
import { trajectoryFromRun, type Trajectory } from '../io/trajectory.js';

/**
 * What a plot needs besides a run's result (the names of `st.run`'s options, so a run's options can be spread in):
 * `q0`, `p0` put the initial state first (else the record's first snapshot starts the frames: the initial state
 * when the run had `recordInitial: true`); `batch` (default: the result's size over the Hamiltonian's dof, else 1);
 * the step `dt` (or `stepper: st`) and `t0` place the frames in time.
 */
export interface RunFrameOptions {
  q0?: ArrayLike<number>;
  p0?: ArrayLike<number>;
  batch?: number;
  dt?: number;
  stepper?: { readonly dt: number };
  t0?: number;
  recordInitial?: boolean;
}

/**
 * Whether a plot's input is a run's result (final `q`, `p` and an optional `record`) rather than a Trajectory.
 *
 * @example
 * isRunResult(await st.run({ q0, p0, steps: 10, record: 1 })) // true
 */
export function isRunResult(input: unknown): input is RunResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return false;
  const r = input as Partial<RunResult> & { dof?: unknown };
  return r.q instanceof Float64Array && r.p instanceof Float64Array && typeof r.dof !== 'number';
}

/**
 * The trajectory of a run's result for `plot.<what>`: its recorded frames (the initial state first when q0, p0 are
 * given); an INPUT DarbouxError when the run recorded none, OPTION when `needsTime` and no dt is given.
 *
 * @example
 * const traj = trajectoryOfRun(res, { q0, p0, dt: st.dt }, 'energy', h.dof, true);
 */
export function trajectoryOfRun(result: RunResult, options: RunFrameOptions, what: string, dof: number | undefined, needsTime: boolean): Trajectory {
  const record = result.record;
  if (!record || record.count === 0 && options.q0 === undefined) {
    throw new DarbouxError('INPUT', `plot.${what}: the run's result has no frames; run with record: k (st.run({ q0, p0, steps, record: 10, recordInitial: true }))`, { what });
  }
  const dt = options.dt ?? options.stepper?.dt;
  if (dt === undefined && needsTime) {
    throw new DarbouxError('OPTION', `plot.${what}: a run's result needs the step size to place its frames in time: give { dt: st.dt } or { stepper: st }`, { what });
  }
  if (dt !== undefined && !(Number.isFinite(dt) && dt !== 0)) throw new DarbouxError('OPTION', `plot.${what}: dt must be a finite non-zero number, got ${String(dt)}`, { what, dt });
  const batch = options.batch ?? (dof !== undefined ? result.q.length / dof : 1);
  if (!Number.isSafeInteger(batch) || batch < 1 || result.q.length % batch !== 0) {
    throw new DarbouxError('SHAPE', `plot.${what}: the result's ${result.q.length} numbers are not batch × dof for batch ${String(batch)}${dof !== undefined ? ` and dof ${dof}` : ''}`, { what, batch, dof });
  }
  const step = dt ?? 1, t0 = options.t0 ?? 0;
  if (options.q0 !== undefined || options.p0 !== undefined) {
    if (options.q0 === undefined || options.p0 === undefined) throw new DarbouxError('OPTION', `plot.${what}: give both q0 and p0 (the run's initial state), or neither`, { what });
    return trajectoryFromRun(result, { q0: options.q0, p0: options.p0, batch, dt: step, t0 });
  }
  const first = options.recordInitial ? 0 : 1;
  const t = Float64Array.from({ length: record.count }, (_, i) => t0 + (i + first) * record.every * step);
  return { batch, dof: result.q.length / batch, q: result.q, p: result.p, frames: { t, q: record.q.subarray(0, record.count * result.q.length), p: record.p.subarray(0, record.count * result.p.length) } };
}
