/** The options and result of `Stepper.lyapunov` (types only; the checks and the algorithm are in lyapunov-options.ts). */
import type { RunControlOptions } from './run-control.js';


/** Options of `Stepper.lyapunov`. */
export interface LyapunovOptions extends RunControlOptions {
  /** Initial positions, batch × dof, trajectory-major. */
  q0: ArrayLike<number>;
  /** Initial momenta, batch × dof. */
  p0: ArrayLike<number>;
  /** Number of steps. */
  steps: number;
  /** Number of trajectories (default 1). */
  batch?: number;
  /** How many exponents (tangent vectors) per trajectory: 1 … 2·dof (default 1, the largest). */
  count?: number;
  /** Re-orthonormalise the tangent vectors every k steps (default 1); also at the last step. */
  renormalizeEvery?: number;
  /**
   * Steps between two points of `history` (default: the smallest multiple of `renormalizeEvery` that keeps it to
   * at most 1 000 points, and on the GPU few enough that their f32 sums fit in one device buffer); rounded up to a
   * multiple of `renormalizeEvery`.
   */
  historyEvery?: number;
  /** Start time (default 0). */
  t0?: number;
  /**
   * What a failing trajectory (a non-finite state or tangent, an unconverged implicit solve) does: 'throw'
   * (default) rejects, naming the earliest failure; 'report' returns every trajectory, with `result.status`.
   */
  onFailure?: 'throw' | 'report';
}

/** Result of `Stepper.lyapunov`. */
export interface LyapunovResult {
  /** batch × count exponents per unit time, trajectory-major, each trajectory's largest first. */
  exponents: Float64Array;
  /** The time they are averaged over: steps · |dt|. */
  time: number;
  /**
   * The running estimate: after `t[k] − t0` time units (the k-th history point), the exponents averaged so far,
   * `exponents[(k · batch + b) · count + i]`, each trajectory's largest first.
   */
  history: { t: Float64Array; exponents: Float64Array };
  /** Final positions and momenta, batch × dof (a failed trajectory's last finite state). */
  q: Float64Array;
  p: Float64Array;
  /**
   * `onFailure: 'report'`: per trajectory, as `RunResult.status` (ok, or the code and 0-based step of its
   * failure). A failed trajectory's exponents are its estimate at its last renormalisation before the failure
   * (after ⌊step / renormalizeEvery⌋ · renormalizeEvery steps: the log-stretchings so far over the time so far;
   * all 0 when it failed before the first), never NaN; its history points after that repeat it.
   */
  status?: LyapunovTrajectoryStatus[];
}

/**
 * A trajectory's outcome in `LyapunovResult.status`: the shape of `TrajectoryStatus` (stepper.ts, which imports
 * this file): ok, or the failure's code, its 0-based step and, for NO_CONVERGENCE, the residual.
 */
export interface LyapunovTrajectoryStatus {
  ok: boolean;
  code?: 'NONFINITE' | 'NO_CONVERGENCE';
  step?: number;
  residual?: number;
}
