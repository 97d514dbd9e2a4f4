/** Checks and errors shared by every backend: run options, unconverged solves (failed runs: run-failures.ts). */
import { DarbouxError } from '../errors.js';
import type { RunOptions } from './stepper.js';

/**
 * Checks run options against a stepper and returns the normalised batch and steps. @internal
 *
 * @example
 * const { batch, steps, record } = checkRunOptions({ q0: [1, 0], p0: [0, 1], steps: 100 }, 2); // batch 1, record 0
 */
export function checkRunOptions(options: RunOptions, dof: number): { batch: number; steps: number; record: number } {
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new DarbouxError('INPUT', `batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(options.steps) || options.steps < 0) {
    throw new DarbouxError('INPUT', `steps must be a non-negative integer, got ${options.steps}`);
  }
  const expected = batch * dof;
  for (const key of ['q0', 'p0'] as const) {
    const arr = options[key];
    if (arr === undefined || arr.length !== expected) {
      throw new DarbouxError('INPUT', `${key} must have length batch·dof = ${batch}·${dof} = ${expected}, got ${arr?.length}`);
    }
  }
  const record = options.record ?? 0;
  if (!Number.isInteger(record) || record < 0) throw new DarbouxError('INPUT', `record must be a non-negative integer, got ${record}`);
  return { batch, steps: options.steps, record };
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
