import type { AdjointStep } from '../integrators/adjoint-step.js';
import { lowerAdjointStep } from './adjoint-body.js';
import { JS_FIXED_POINT, type JsRunStatus } from './emit-js-stepper.js';
import { bindJsRunnerInputs, JS_KERNEL_INDENT, jsKernelSkeleton, jsStateValue, optimizableSource } from './js-kernel.js';
import { Lowering } from './lowering.js';
import { compileGenerated } from './emit-js.js';
import { jsTarget } from './target-js.js';
import type { FixedPointSettings } from './step-body.js';
import { elementOf } from './values.js';

/**
 * The generated backward runner: for every trajectory, `steps` backward steps from step `steps − 1` down to 0
 * (forward step s runs from time tStart + s·dt). `Q`, `P` hold z_steps on entry and z_0 on return ('reverse');
 * for 'store', `storedQ`/`storedP` hold z_0 … z_{steps−1} (steps × batch × dof) and Q, P are not used. `LQ`,
 * `LP` hold λ_steps on entry and λ_0 on return; `G` (flat, the parameters in order) accumulates g_θ summed over
 * steps and trajectories. Failures report the forward step s whose backward step failed.
 */
export type JsAdjointRunner = ((
  Q: Float64Array,
  P: Float64Array,
  LQ: Float64Array,
  LP: Float64Array,
  G: Float64Array,
  params: readonly ArrayLike<number>[],
  batch: number,
  steps: number,
  dt: number,
  tStart: number,
  storedQ: Float64Array | null,
  storedP: Float64Array | null,
  /** Window (default: everything): trajectories bFrom…bTo−1, backward steps sTo−1 down to sFrom (see `jsKernelSkeleton`). */
  bFrom?: number,
  bTo?: number,
  sFrom?: number,
  sTo?: number,
) => JsRunStatus) & { readonly source: string };

/**
 * Generates the f64 CPU runner of a backward step program (`adjointStep`): the same lowering as the forward
 * runner (shared nodes once, loop invariants hoisted, fixed-point loops for the reconstruction and the adjoint
 * stage solves), with z, λ in locals across all steps of a trajectory. Compiled once with `new Function`.
 *
 * @example
 * const back = compileJsAdjointRunner(adjointStep(leapfrogStep(h), 'reverse'));
 * back(Q, P, LQ, LP, G, h.paramValues, batch, steps, dt, 0, null, null);
 */
export function compileJsAdjointRunner(step: AdjointStep, settings: FixedPointSettings = JS_FIXED_POINT): JsAdjointRunner {
  const source = optimizableSource((unrollLimit) => adjointRunnerSource(step, settings, unrollLimit));
  const fn = compileGenerated<(...args: never[]) => unknown>(source, `the ${step.forward.method} backward runner`);
  return Object.assign(fn, { source }) as JsAdjointRunner;
}

function adjointRunnerSource(step: AdjointStep, settings: FixedPointSettings, unrollLimit: number | undefined): string {
  const h = step.forward.system;
  const n = h.dof;
  const reverse = step.source === 'reverse';
  const lowering = new Lowering(jsTarget, { prefix: 'v', unrollLimit });
  const { q: qv, p: pv, prologue } = bindJsRunnerInputs(lowering, h);
  const lqv = jsStateValue('lq', n), lpv = jsStateValue('lp', n);
  lowering.bind(step.cotangent.q, lqv);
  lowering.bind(step.cotangent.p, lpv);
  const body = lowerAdjointStep(lowering, step, { q: qv, p: pv }, settings, JS_KERNEL_INDENT, (k) => `G[${k}]`);
  const I = '      ';
  // 'store': the state of every backward step is read from the stored forward states.
  const stepLoads = reverse
    ? []
    : qv.kind === 'array' && pv.kind === 'array'
      ? [`${I}const at = (s * batch + b) * ${n};`, `${I}for (let i = 0; i < ${n}; i++) { ${qv.name}[i] = storedQ[at + i]; ${pv.name}[i] = storedP[at + i]; }`]
      : [`${I}const at = (s * batch + b) * ${n};`, ...Array.from({ length: n }, (_, i) => `${I}${elementOf(qv, i)} = storedQ[at + ${i}]; ${elementOf(pv, i)} = storedP[at + ${i}];`)];
  return jsKernelSkeleton({
    signature: 'backward(Q, P, LQ, LP, G, params, batch, steps, dt, tStart, storedQ, storedP, bFrom = 0, bTo = batch, sFrom = 0, sTo = steps)',
    direction: 'backward',
    dof: n,
    lowering,
    pairs: [
      { registers: [lqv, lpv], io: ['LQ', 'LP'], next: body.lambda, nextNames: ['nl', 'ml'] },
      { registers: [qv, pv], io: reverse ? ['Q', 'P'] : null, next: reverse ? body.previous : null, nextNames: ['nq', 'np'] },
    ],
    prologue: [...prologue, ...body.invariantLines],
    usesTime: body.usesTime,
    carries: { preLoop: body.carryLines, assign: body.assignCarries(JS_KERNEL_INDENT.step) },
    stepLoads,
    iterations: body.iterations,
  });
}
