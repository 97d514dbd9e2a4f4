/**
 * Failed trajectories of a forward run, on every backend: the per-trajectory `status` of `onFailure: 'report'`,
 * and the error of `onFailure: 'throw'`, which names the earliest failure (smallest step, then trajectory) and
 * counts all of them.
 */
import { DarbouxError } from '../errors.js';
import type { System } from '../system/system.js';
import { noConvergence } from './checks.js';
import type { OnFailure, TrajectoryStatus } from './stepper.js';

/** One failed trajectory: the 0-based step that failed (its state after `step` steps is the last finite one). */
export interface RunFailure {
  kind: 'nonfinite' | 'noConvergence';
  step: number;
  trajectory: number;
  residual?: number;
  iterations?: number;
}

/**
 * Checks the `onFailure` option (default 'throw').
 *
 * @example
 * onFailureMode(undefined); // 'throw'
 * onFailureMode('report');  // 'report'
 */
export function onFailureMode(value: unknown): OnFailure {
  if (value === undefined || value === 'throw') return 'throw';
  if (value === 'report') return 'report';
  throw new DarbouxError('OPTION', `onFailure must be 'throw' or 'report', got ${JSON.stringify(value)}`, { option: 'onFailure', value });
}

/**
 * The earliest of some failures: the smallest step, then the smallest trajectory.
 *
 * @example
 * earliestFailure([{ kind: 'nonfinite', step: 403, trajectory: 3 }, { kind: 'nonfinite', step: 239, trajectory: 6 }]); // trajectory 6
 */
export function earliestFailure<F extends RunFailure>(failures: readonly F[]): F {
  let first = failures[0]!;
  for (const f of failures) if (f.step < first.step || (f.step === first.step && f.trajectory < first.trajectory)) first = f;
  return first;
}

/**
 * The per-trajectory status array of a run (`onFailure: 'report'`).
 *
 * @example
 * trajectoryStatuses(3, [{ kind: 'nonfinite', step: 9, trajectory: 1 }]); // [{ ok: true }, { ok: false, code: 'NONFINITE', step: 9 }, { ok: true }]
 */
export function trajectoryStatuses(batch: number, failures: readonly RunFailure[]): TrajectoryStatus[] {
  const status: TrajectoryStatus[] = Array.from({ length: batch }, () => ({ ok: true }));
  for (const f of failures) {
    status[f.trajectory] = f.kind === 'noConvergence'
      ? { ok: false, code: 'NO_CONVERGENCE', step: f.step, residual: f.residual! }
      : { ok: false, code: 'NONFINITE', step: f.step };
  }
  return status;
}

/**
 * The error of a run whose trajectories failed (`onFailure: 'throw'`): it names the earliest failure and counts
 * all of them in the message and in `details.failed` (indices in `details.failedTrajectories`). A non-finite
 * state at the first step of a system that can say why (particles: an overlapping pair) gets that error.
 *
 * @example
 * throw runFailureError('leapfrog', 0.01, status.failures, { batch: 8 });
 */
export function runFailureError(
  method: string,
  dt: number,
  failures: readonly RunFailure[],
  context: { batch: number; label?: string; start?: { system: System; q0: ArrayLike<number> } },
): DarbouxError {
  const failure = earliestFailure(failures);
  const label = context.label === undefined ? '' : `, ${context.label}`;
  const counted = { failed: failures.length, failedTrajectories: failures.map((f) => f.trajectory).sort((a, b) => a - b) };
  const others = failures.length > 1
    ? ` (${failures.length} of ${context.batch} trajectories failed; run with onFailure: 'report' to keep the others)`
    : '';
  if (failure.kind === 'nonfinite' && failure.step === 0 && context.start !== undefined) {
    // A system that can say why its initial state is not finite (particles: an overlapping pair) names it.
    const { system, q0 } = context.start;
    const reason = (system as { nonfiniteReason?: (q: ArrayLike<number>) => DarbouxError | undefined }).nonfiniteReason;
    const at = failure.trajectory * system.dof;
    const named = reason?.call(system, Array.prototype.slice.call(q0, at, at + system.dof) as number[]);
    if (named !== undefined) return named;
  }
  if (failure.kind === 'noConvergence') {
    const base = noConvergence(`${method}${context.label === undefined ? '' : ` (${context.label})`}`, dt, failure.step, failure.trajectory, failure.residual!, failure.iterations!);
    return new DarbouxError(base.code, `${base.message}${others}`, { ...base.details, ...counted });
  }
  return new DarbouxError(
    'NONFINITE',
    `non-finite state at step ${failure.step + 1} of trajectory ${failure.trajectory} (${method}, dt = ${dt}${label}); ` +
      `reduce dt or check the initial state${others}`,
    { kind: failure.kind, step: failure.step, trajectory: failure.trajectory, ...counted },
  );
}
