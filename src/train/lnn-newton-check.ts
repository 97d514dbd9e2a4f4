/**
 * Reporting of the unrolled Newton solves of an lnn's variational windows on the GPU (`lnn-window-graph.ts`): the
 * device loss carries a marker per step whose residual after the last iteration is over tolerance, and the trainer
 * turns a marked (or non-finite) minibatch loss into DarbouxError('NO_CONVERGENCE'), naming the window, step and
 * residual found by re-evaluating the same unrolled iterations in f64 at the current parameters.
 */
import { add, mul, sign, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { graphEvaluator } from '../ir/evaluate-graph.js';
import { DarbouxError } from '../errors.js';
import type { NeuralModel } from '../models/neural/model.js';
import type { GradientProgram, ParamLayout } from './gradient-program.js';
import type { ConvergenceCheck } from './plan.js';

/**
 * Largest relative Newton residual |R| / (|p| + 1) after the unrolled iterations that a GPU window accepts
 * (f32 rounding leaves ~1e-7 on well-posed windows).
 */
export const NEWTON_RESIDUAL_TOLERANCE = 1e-3;

/** What one unconverged step adds to a sample's device loss: far above any real loss, far below f32 overflow. */
export const NEWTON_MARKER = 2 ** 90;

/**
 * The program with `NEWTON_MARKER` added to its loss value for every step whose residual is over tolerance
 * (exactly 0 otherwise); its gradients stay those of the plain loss.
 *
 * @example
 * const program = withNewtonMarker(gradientProgram(model, graph), graph.newtonResiduals);
 */
export function withNewtonMarker(program: GradientProgram, residuals: readonly Expr[]): GradientProgram {
  if (residuals.length === 0) return program;
  // 1 + sign(r − tol) is 0 below tolerance, 2 above it (and NaN for a NaN residual, which the trainer also checks).
  const flags = residuals.map((r) => add(1, sign(sub(r, NEWTON_RESIDUAL_TOLERANCE))));
  const marker = mul(NEWTON_MARKER / 2, flags.reduce((a, b) => add(a, b)));
  return { ...program, loss: add(program.loss, marker) };
}

/** The windows of a plan as `newtonConvergenceCheck` needs them: starts (q₀, v₀ flat, window-major) and where they came from. */
export interface NewtonWindows {
  readonly q: Float64Array;
  readonly v: Float64Array;
  readonly method: string;
  readonly horizon: number;
  /** Start index of each window in the flat trajectory data. */
  readonly starts: readonly number[];
  /** Parameters the explanation looks at when the current ones are no longer finite. */
  readonly initialTheta?: Float64Array;
}

/**
 * The trainer's check of the unrolled solves: re-evaluates every window's residuals in f64 at θ (the same unrolled
 * iterations, so the same residual up to f32 rounding) and names the worst window and step.
 *
 * @example
 * const check = newtonConvergenceCheck(model, program.layout, graph.newtonResiduals, { q, v, method, horizon, starts });
 * check.explain(17, theta, 1); // DarbouxError('NO_CONVERGENCE', …)
 */
export function newtonConvergenceCheck(model: NeuralModel, layout: ParamLayout, residuals: readonly Expr[], windows: NewtonWindows): ConvergenceCheck {
  const evaluate = graphEvaluator([model.q, model.p, ...layout.nodes], residuals);
  const n = model.dof;
  const worst = (theta: Float64Array) => {
    const params = layout.nodes.map((_, k) => theta.subarray(layout.offsets[k]!, layout.offsets[k]! + layout.sizes[k]!));
    const out = residuals.map(() => new Float64Array(1));
    let found = { window: -1, step: -1, residual: 0 };
    windows.starts.forEach((_, w) => {
      evaluate([windows.q.subarray(w * n, (w + 1) * n), windows.v.subarray(w * n, (w + 1) * n), ...params], out);
      out.forEach(([r], j) => {
        const over = !(r! <= NEWTON_RESIDUAL_TOLERANCE), worse = found.window < 0 || (!Number.isNaN(found.residual) && !(r! <= found.residual));
        if (over && worse) found = { window: w, step: j + 1, residual: r! };
      });
    });
    return found;
  };
  return {
    marker: NEWTON_MARKER,
    explain(step, current, flagged) {
      // Parameters already non-finite (a NaN gradient from the failing step): look at the initial ones instead.
      const initial = !current.every(Number.isFinite) && windows.initialTheta !== undefined;
      const at = worst(initial ? windows.initialTheta! : current);
      if (flagged === 0 && at.window < 0) return undefined;
      const label = initial ? 'initial (the current ones are not finite)' : 'current';
      const where = at.window >= 0
        ? `at the ${label} parameters window ${at.window} (trajectory index ${windows.starts[at.window]}) step ${at.step} of ${windows.horizon} has relative residual ${at.residual.toExponential(2)}`
        : `at the ${label} parameters every window converges (an earlier minibatch did not)`;
      return new DarbouxError(
        'NO_CONVERGENCE',
        `fit: the unrolled Newton solve of a ${windows.method} step did not converge on the GPU at training step ${step} ` +
          `(${flagged > 0 ? `${flagged} step(s) of the minibatch over` : 'non-finite loss; residual tolerance'} ${NEWTON_RESIDUAL_TOLERANCE}); ${where}. ` +
          `Use a smaller dt (finer data), a shorter horizon, or backend 'cpu' (Newton to convergence).`,
        { step, flagged, tolerance: NEWTON_RESIDUAL_TOLERANCE, parameters: initial ? 'initial' : 'current', ...(at.window >= 0 ? { window: at.window, windowStart: windows.starts[at.window], windowStep: at.step, residual: at.residual } : {}) },
      );
    },
  };
}
