/** Checks and errors shared by every backend: run options, unconverged solves, failed runs. */
import { DarbouxError } from '../errors.js';
import type { JsRunStatus } from '../codegen/emit-js-stepper.js';
import type { RunOptions } from './stepper.js';
import type { System } from '../system/system.js';

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

/**
 * Throws the error for a failed generated forward run (non-finite state or unconverged implicit solve). @internal
 *
 * @example
 * throwRunFailure(program.method, dt, run(Q, P, h.paramValues, batch, steps, dt, 0, 0, null, null));
 */
export function throwRunFailure(method: string, dt: number, status: JsRunStatus, start?: { system: System; q0: ArrayLike<number> }): void {
  const failure = status.failure;
  if (failure?.kind === 'nonfinite') {
    if (failure.step === 0 && start !== undefined) {
      // A system that can say why its initial state is not finite (particles: an overlapping pair) names it.
      const reason = (start.system as { nonfiniteReason?: (q: ArrayLike<number>) => DarbouxError | undefined }).nonfiniteReason;
      const dof = start.system.dof, at = failure.trajectory * dof;
      const named = reason?.call(start.system, Array.prototype.slice.call(start.q0, at, at + dof) as number[]);
      if (named !== undefined) throw named;
    }
    throw new DarbouxError(
      'NONFINITE',
      `non-finite state at step ${failure.step + 1} of trajectory ${failure.trajectory} (${method}, dt = ${dt}); ` +
        'reduce dt or check the initial state',
      { ...failure },
    );
  }
  if (failure?.kind === 'noConvergence') throw noConvergence(method, dt, failure.step, failure.trajectory, failure.residual!, failure.iterations!);
}
