import { size } from '../ir/shape.js';
import type { Value } from '../ir/op.js';
import type { AdjointStep } from '../integrators/adjoint-step.js';
import { lowerAdjointStep } from './adjoint-body.js';
import { bindJsRunnerInputs, jsFixedPoint, jsStateValue, JS_FIXED_POINT, optimizableSource, type JsRunStatus } from './emit-js-stepper.js';
import { Lowering } from './lowering.js';
import { compileGenerated } from './emit-js.js';
import { jsSyntax } from './syntax-js.js';
import { elementOf, type FixedPointSettings } from './step-body.js';

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
  const lowering = new Lowering(jsSyntax, { prefix: 'v', unrollLimit });
  const { q: qv, p: pv, prologue } = bindJsRunnerInputs(lowering, h);
  const lqv = jsStateValue('lq', n), lpv = jsStateValue('lp', n);
  lowering.bind(step.cotangent.q, lqv);
  lowering.bind(step.cotangent.p, lpv);
  const body = lowerAdjointStep(lowering, step, { q: qv, p: pv }, jsFixedPoint, settings, { invariants: 1, carries: 2, step: 3 }, (k) => `G[${k}]`);
  const idx = Array.from({ length: n }, (_, i) => i);
  const I = '      ';
  const e = (v: Value, i: number) => elementOf(v, i);
  const declare = (v: Value, from: string) =>
    v.kind === 'array'
      ? [`    for (let i = 0; i < ${n}; i++) ${v.name}[i] = ${from}[o + i];`]
      : [`    let ${idx.map((i) => `${e(v, i)} = ${from}[o + ${i}]`).join(', ')};`];
  const arrays = [qv, pv, lqv, lpv].flatMap((v) => (v.kind === 'array' ? [`const ${v.name} = new Float64Array(${n});`] : []));
  const its = body.iterations;
  return [
    '"use strict";',
    ...lowering.hoisted,
    ...arrays,
    'return function backward(Q, P, LQ, LP, G, params, batch, steps, dt, tStart, storedQ, storedP) {',
    '  let iterationsTotal = 0, iterationsMax = 0;',
    ...prologue,
    ...body.invariantLines,
    '  for (let b = 0; b < batch; b++) {',
    `    const o = b * ${n};`,
    ...(reverse ? [...declare(qv, 'Q'), ...declare(pv, 'P')] : qv.kind === 'unrolled' ? [`    let ${[...idx.map((i) => e(qv, i)), ...idx.map((i) => e(pv, i))].join(', ')};`] : []),
    ...declare(lqv, 'LQ'),
    ...declare(lpv, 'LP'),
    // Carried values are evaluated at z_steps, at the time of the first backward step.
    ...(body.usesTime && body.carryLines.length > 0 ? ['    const time = tStart + (steps - 1) * dt;'] : []),
    ...body.carryLines,
    '    for (let s = steps - 1; s >= 0; s--) {',
    ...(body.usesTime ? [`${I}const time = tStart + s * dt;`] : []),
    ...(reverse ? [] : [`${I}const at = (s * batch + b) * ${n};`, ...idx.map((i) => `${I}${e(qv, i)} = storedQ[at + ${i}]; ${e(pv, i)} = storedP[at + ${i}];`)]),
    ...lowering.lines,
    ...(its.length > 0 ? [`${I}const its = ${its.join(' + ')};`, `${I}iterationsTotal += its; if (its > iterationsMax) iterationsMax = its;`] : []),
    ...idx.map((i) => `${I}const nl${i} = ${e(body.lambda[0], i)};`),
    ...idx.map((i) => `${I}const ml${i} = ${e(body.lambda[1], i)};`),
    ...(reverse ? [...idx.map((i) => `${I}const nq${i} = ${e(body.previous[0], i)};`), ...idx.map((i) => `${I}const np${i} = ${e(body.previous[1], i)};`)] : []),
    ...body.assignCarries(3),
    ...idx.map((i) => `${I}${e(lqv, i)} = nl${i}; ${e(lpv, i)} = ml${i};`),
    ...(reverse ? idx.map((i) => `${I}${e(qv, i)} = nq${i}; ${e(pv, i)} = np${i};`) : []),
    `${I}const check = ${[...idx.map((i) => `nl${i} + ml${i}`), ...(reverse ? idx.map((i) => `nq${i} + np${i}`) : [])].join(' + ')};`,
    `${I}if (check - check !== 0) return { failure: { kind: 'nonfinite', step: s, trajectory: b }, iterationsTotal, iterationsMax };`,
    '    }',
    ...(reverse ? idx.map((i) => `    Q[o + ${i}] = ${e(qv, i)}; P[o + ${i}] = ${e(pv, i)};`) : []),
    ...idx.map((i) => `    LQ[o + ${i}] = ${e(lqv, i)}; LP[o + ${i}] = ${e(lpv, i)};`),
    '  }',
    '  return { failure: null, iterationsTotal, iterationsMax };',
    '};',
  ].join('\n');
}
