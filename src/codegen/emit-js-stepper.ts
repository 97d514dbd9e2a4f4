import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import { topologicalOrder } from '../ir/traverse.js';
import type { Value } from '../ir/op.js';
import type { StepProgram } from '../integrators/step-program.js';
import type { System } from '../system/system.js';
import { Lowering } from './lowering.js';
import { compileGenerated } from './emit-js.js';
import { jsSyntax } from './syntax-js.js';
import { elementOf, lowerStepper, type FixedPointDialect, type FixedPointSettings } from './step-body.js';

/** What a generated runner returns: the first failure, or null, and fixed-point iteration statistics. */
export interface JsRunStatus {
  failure: { kind: 'nonfinite' | 'noConvergence'; step: number; trajectory: number; residual?: number; iterations?: number } | null;
  /** Total and maximum fixed-point iterations over all steps (0 for explicit methods). */
  iterationsTotal: number;
  iterationsMax: number;
}

/** The generated batched runner. Arrays are trajectory-major (batch × dof); `record*` may be null. */
export type JsRunner = ((
  Q: Float64Array,
  P: Float64Array,
  params: readonly Float64Array[],
  batch: number,
  steps: number,
  dt: number,
  tStart: number,
  recordEvery: number,
  recordQ: Float64Array | null,
  recordP: Float64Array | null,
) => JsRunStatus) & { readonly source: string };

/** State vectors up to this size live in scalar locals; larger ones in arrays. */
export const UNROLL_STATE = 64;

/**
 * A state vector in a runner: scalar locals `prefix0…` up to UNROLL_STATE, else the array `prefixA`.
 *
 * @example
 * jsStateValue('sq', 2);   // { kind: 'unrolled', elems: ['sq0', 'sq1'] }
 * jsStateValue('lq', 100); // { kind: 'array', name: 'lqA', size: 100 }
 */
export function jsStateValue(prefix: string, n: number): Value {
  return n <= UNROLL_STATE
    ? { kind: 'unrolled', elems: Array.from({ length: n }, (_, i) => `${prefix}${i}`) }
    : { kind: 'array', name: `${prefix}A`, size: n };
}

/**
 * Binds a system's inputs in a runner: the state to `jsStateValue`s `sq…`, `sp…`, dt and t to the locals
 * `dt` and `time`, parameter k to `th{k}` read from the runner argument `params` (the returned prologue).
 *
 * @example
 * const lowering = new Lowering(jsSyntax, { prefix: 'v' });
 * const { q: qv, p: pv, prologue } = bindJsRunnerInputs(lowering, h);
 */
export function bindJsRunnerInputs(lowering: Lowering, h: System): { q: Value; p: Value; prologue: string[] } {
  const q = jsStateValue('sq', h.dof), p = jsStateValue('sp', h.dof);
  lowering.bind(h.q, q);
  lowering.bind(h.p, p);
  lowering.bind(h.dt, { kind: 'scalar', code: 'dt' });
  lowering.bind(h.time, { kind: 'scalar', code: 'time' });
  const prologue: string[] = [];
  h.params.forEach((node, k) => {
    prologue.push(node.shape.length === 0 ? `  const th${k} = params[${k}][0];` : `  const th${k} = params[${k}];`);
    lowering.bind(node, node.shape.length === 0 ? { kind: 'scalar', code: `th${k}` } : { kind: 'array', name: `th${k}`, size: size(node.shape) });
  });
  return { q, p, prologue };
}

/** The fixed-point loop in JavaScript; failing returns from a runner whose loop variables are `s` (step) and `b` (trajectory). */
export const jsFixedPoint: FixedPointDialect = {
  mutable: (name, code) => `let ${name} = ${code};`,
  loopOpen: 'for (;;) {',
  abs: (x) => `Math.abs(${x})`,
  max: (a, b) => `Math.max(${a}, ${b})`,
  huge: 'Infinity',
  fail: (residual, iterations) => [
    `return { failure: { kind: 'noConvergence', step: s, trajectory: b, residual: ${residual}, iterations: ${iterations} }, iterationsTotal, iterationsMax };`,
  ],
};

/** Default fixed-point settings for f64: updates at a few ulps of the state. */
export const JS_FIXED_POINT: FixedPointSettings = { tolerance: 4 * Number.EPSILON, maxIterations: 100 };

/**
 * Generates the CPU runner for a step program: per trajectory, the state is loaded into locals, the step body
 * (straight-line f64 code, plus the fixed-point loop of implicit methods) runs `steps` times, a cheap
 * finiteness test per step reports the first non-finite state, and every `recordEvery`-th state can be
 * recorded. Loop-invariant subexpressions are computed once. Compiled once with `new Function`.
 *
 * @example
 * const run = compileJsRunner(leapfrogStep(h));
 * run(Q, P, h.paramValues, batch, 1000, 0.01, 0, 0, null, null);
 */
export function compileJsRunner(program: StepProgram, settings: FixedPointSettings = JS_FIXED_POINT): JsRunner {
  const fp = program.implicit;
  const roots = [program.next.q, program.next.p, ...(fp ? [...(fp.iteration ?? fp.update), ...fp.initial, ...(fp.scale ?? [])] : [])];
  const source = optimizableSource((unrollLimit) => jsRunnerSource(program, settings, unrollLimit), roots);
  const fn = compileGenerated<(...args: never[]) => unknown>(source, `the ${program.method} runner`);
  return Object.assign(fn, { source }) as JsRunner;
}

/**
 * Generated functions longer than this (characters) risk exceeding V8's bytecode limit for optimisation
 * (`--max-optimized-bytecode-size`, 60 KiB). Measured on Node 20 with `%GetOptimizationStatus` on generated
 * runners: up to 70 447 characters they were optimised by TurboFan, from 78 276 on they were not (and ran
 * ~20–40× slower); this keeps a margin below the boundary.
 */
const OPTIMIZABLE_SOURCE_LENGTH = 60_000;

/**
 * Source of a generated runner that V8 will still optimise: V8 leaves functions whose bytecode is over its
 * limit (~60 kB) to the interpreter, tens of times slower. Generated with the default unrolling first, and
 * again with loops for every tensor longer than 4 elements when that is too long (large networks, long
 * backward steps).
 *
 * @example
 * const source = optimizableSource((unrollLimit) => jsRunnerSource(program, settings, unrollLimit), [program.next.q, program.next.p]);
 */
export function optimizableSource(generate: (unrollLimit: number | undefined) => string, roots?: readonly Expr[]): string {
  const source = generate(undefined);
  if (source.length <= OPTIMIZABLE_SOURCE_LENGTH) return source;
  // Only tensors with 5 to 16 elements, or a dimension of 5 to 16 (reductions over it), lower differently with
  // unrollLimit 4 instead of 16: without any, generating again would give the same source.
  const midSized = (d: number) => d > 4 && d <= 16;
  const shrinks = roots === undefined || topologicalOrder(roots).some((n) => midSized(size(n.shape)) || n.shape.some(midSized));
  return shrinks ? generate(4) : source;
}

function jsRunnerSource(program: StepProgram, settings: FixedPointSettings, unrollLimit: number | undefined): string {
  const h = program.system;
  const n = h.dof;
  const lowering = new Lowering(jsSyntax, { prefix: 'v', unrollLimit });
  const { q: qv, p: pv, prologue } = bindJsRunnerInputs(lowering, h);
  const { next: [nq, np], extra, iterations, invariantLines, carries, usesTime } = lowerStepper(lowering, program, { q: qv, p: pv }, jsFixedPoint, settings, { invariants: 1, carries: 2, step: 3 });
  const idx = Array.from({ length: n }, (_, i) => i);
  const sq = (i: number) => elementOf(qv, i), sp = (i: number) => elementOf(pv, i);
  const I = '      ';
  const declState =
    qv.kind === 'unrolled'
      ? [`    let ${idx.map((i) => `${sq(i)} = Q[o + ${i}]`).join(', ')};`, `    let ${idx.map((i) => `${sp(i)} = P[o + ${i}]`).join(', ')};`]
      : [`    for (let i = 0; i < ${n}; i++) { sqA[i] = Q[o + i]; spA[i] = P[o + i]; }`];
  return [
    '"use strict";',
    ...lowering.hoisted,
    ...(qv.kind === 'array' ? [`const sqA = new Float64Array(${n});`, `const spA = new Float64Array(${n});`] : []),
    'return function run(Q, P, params, batch, steps, dt, tStart, recordEvery, recordQ, recordP) {',
    '  let iterationsTotal = 0, iterationsMax = 0;',
    ...prologue,
    ...invariantLines,
    '  for (let b = 0; b < batch; b++) {',
    `    const o = b * ${n};`,
    ...declState,
    // Carried values are evaluated at the initial state, at the start time (H may depend on t).
    ...(usesTime && carries.preLoop.length > 0 ? ['    const time = tStart;'] : []),
    ...carries.preLoop,
    '    let untilRecord = recordEvery;',
    '    let recordAt = o;',
    '    for (let s = 0; s < steps; s++) {',
    ...(usesTime ? [`${I}const time = tStart + s * dt;`] : []),
    ...lowering.lines,
    ...(iterations ? [`${I}iterationsTotal += ${iterations}; if (${iterations} > iterationsMax) iterationsMax = ${iterations};`] : []),
    ...idx.map((i) => `${I}const nq${i} = ${elementOf(nq, i)};`),
    ...idx.map((i) => `${I}const np${i} = ${elementOf(np, i)};`),
    ...carries.assign(extra, 3),
    ...idx.map((i) => `${I}${sq(i)} = nq${i}; ${sp(i)} = np${i};`),
    `${I}const check = ${idx.map((i) => `nq${i} + np${i}`).join(' + ')};`,
    `${I}if (check - check !== 0) return { failure: { kind: 'nonfinite', step: s, trajectory: b }, iterationsTotal, iterationsMax };`,
    `${I}if (recordQ !== null && --untilRecord === 0) {`,
    `${I}  untilRecord = recordEvery;`,
    ...idx.map((i) => `${I}  recordQ[recordAt + ${i}] = nq${i}; recordP[recordAt + ${i}] = np${i};`),
    `${I}  recordAt += batch * ${n};`,
    `${I}}`,
    '    }',
    ...idx.map((i) => `    Q[o + ${i}] = ${sq(i)}; P[o + ${i}] = ${sp(i)};`),
    '  }',
    '  return { failure: null, iterationsTotal, iterationsMax };',
    '};',
  ].join('\n');
}
