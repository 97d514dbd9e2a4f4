/** The arrays of `result.record`: the recorded steps, and the initial state before them with `recordInitial`. */
import type { RunResult } from './stepper.js';
import type { Precision } from './input-checks.js';

/** A run's record: the full arrays it returns, and the views after the initial state that the backend writes into. */
export interface RecordArrays {
  /** What `result.record` holds: (initial state, if asked, then) the state after steps k, 2k, … */
  record: NonNullable<RunResult['record']>;
  /** The part after the initial state (the whole arrays without `recordInitial`): `recorded` snapshots × batch × dof. */
  steps: { q: Float64Array; p: Float64Array };
}

/**
 * Allocates the record of a run: `recorded` snapshots × batch × dof for q and p, plus, with `initial`, the initial
 * state (q0, p0) as snapshot 0 — rounded to f32 for `precision` 'f32', the state a GPU kernel starts from, so that
 * every snapshot of a GPU record is an f32 value. The backend writes its snapshots into `steps`. @internal
 *
 * @example
 * const r = recordArrays([1], [0], 1, 1, 10, 3, true); // r.record.count 4, r.record.q[0] 1; write r.steps.q[0..3)
 */
export function recordArrays(
  q0: ArrayLike<number>,
  p0: ArrayLike<number>,
  batch: number,
  dof: number,
  every: number,
  recorded: number,
  initial: boolean,
  precision: Precision = 'f64',
): RecordArrays {
  const state = batch * dof, first = initial ? state : 0;
  const q = new Float64Array(first + recorded * state), p = new Float64Array(first + recorded * state);
  if (initial) {
    q.set(precision === 'f32' ? Float32Array.from(q0) : q0);
    p.set(precision === 'f32' ? Float32Array.from(p0) : p0);
  }
  return { record: { every, count: recorded + (initial ? 1 : 0), q, p }, steps: { q: q.subarray(first), p: p.subarray(first) } };
}
