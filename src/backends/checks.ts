/** Checks and errors shared by every backend: run options, unconverged solves (failed runs: run-failures.ts). */
import { DarbouxError, showValue } from '../errors.js';
import type { RunOptions, VjpOptions } from './stepper.js';
import { checkCount, checkOptionsObject, checkOutputMemory, checkStateArray, checkTime, type Precision } from './input-checks.js';

/**
 * Checks run options against a stepper and returns the normalised batch, steps, record and start time: every
 * refusal (a missing or non-finite entry of q0/p0, a bad count, an output over `memoryBudget`) an INPUT error
 * naming the value, before any allocation. `precision` 'f32' (GPU) also refuses values beyond the f32 range;
 * `scanFloatArrays` false leaves the entries of typed float arrays to the caller (it must scan them). @internal
 *
 * @example
 * const { batch, steps, record } = checkRunOptions({ q0: [1, 0], p0: [0, 1], steps: 100 }, 2); // batch 1, record 0
 */
export function checkRunOptions(options: RunOptions, dof: number, precision: Precision = 'f64', scanFloatArrays = true): { batch: number; steps: number; record: number; recordInitial: boolean; t0: number } {
  checkOptionsObject('run', options, '{ q0, p0, steps, batch?, t0?, record?, recordInitial? }');
  const batch = checkCount('batch', options.batch, 1, 1);
  const steps = checkCount('steps', options.steps, 0);
  const expected = batch * dof;
  // scanFloatArrays false: Float64Array/Float32Array entries are left to the caller's copy loop (GPU uploads).
  for (const key of ['q0', 'p0'] as const) checkStateArray(key, options[key], expected, precision, `batch·dof = ${batch}·${dof} = ${expected}`, scanFloatArrays);
  const record = checkCount('record', options.record, 0, 0);
  const recordInitial = checkRecordInitial(options.recordInitial, record);
  const t0 = checkTime('t0', options.t0, precision);
  checkOutputMemory(batch, dof, record > 0 ? Math.floor(steps / record) + (recordInitial ? 1 : 0) : 0, options.memoryBudget);
  return { batch, steps, record, recordInitial, t0 };
}

/** `recordInitial`: undefined (false) or a boolean, and only with `record` (OPTION otherwise). */
function checkRecordInitial(value: unknown, record: number): boolean {
  if (value === undefined || value === false) return false;
  if (value !== true) {
    throw new DarbouxError('OPTION', `recordInitial must be true or false, got ${showValue(value)}`, { name: 'recordInitial', value: showValue(value) });
  }
  if (record === 0) {
    throw new DarbouxError('OPTION', 'recordInitial: true needs record: k (a positive step interval); the initial state is the first snapshot of the record', { name: 'recordInitial', record });
  }
  return true;
}

/**
 * Checks `vjp` options: those of the run it differentiates, and the cotangents dq, dp (batch × dof finite numbers). @internal
 *
 * @example
 * checkVjpOptions({ q0: [1], p0: [0], steps: 10, dq: [1], dp: [0] }, 1); // { batch: 1, steps: 10, record: 0, t0: 0 }
 */
export function checkVjpOptions(options: VjpOptions, dof: number, precision: Precision = 'f64'): { batch: number; steps: number; t0: number } {
  checkOptionsObject('vjp', options, '{ q0, p0, steps, dq, dp, batch?, t0?, memory? }');
  const { batch, steps, t0 } = checkRunOptions({ q0: options.q0, p0: options.p0, steps: options.steps, batch: options.batch, t0: options.t0 }, dof, precision);
  for (const key of ['dq', 'dp'] as const) {
    checkStateArray(`vjp: ${key} (the cotangent of ${key === 'dq' ? 'q' : 'p'}_N)`, options[key], batch * dof, precision, `batch·dof = ${batch}·${dof} = ${batch * dof}`);
  }
  return { batch, steps, t0 };
}

/**
 * The error for an implicit step whose fixed-point iteration did not converge. @internal
 *
 * @example
 * throw noConvergence('midpoint (gpu f32)', dt, step, trajectory, residual, iterations);
 */
export function noConvergence(method: string, dt: number, step: number, trajectory: number, residual: number, iterations: number): DarbouxError {
  return new DarbouxError(
    'NO_CONVERGENCE',
    `${method}: the implicit solve did not converge at step ${step + 1} of trajectory ${trajectory} ` +
      `(residual ${residual.toExponential(3)} after ${iterations} iterations); reduce dt or raise maxIterations`,
    { step, trajectory, residual, iterations },
  );
}
