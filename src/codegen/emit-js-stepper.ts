import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import type { Value } from '../ir/op.js';
import type { StepProgram } from '../integrators/step-program.js';
import { Lowering } from './lowering.js';
import { loopInvariants } from './invariants.js';
import { topologicalOrder } from '../ir/traverse.js';
import { jsSyntax } from './syntax-js.js';

/** Where a run stopped on a non-finite state, or null when it completed. */
export type JsRunStatus = { step: number; trajectory: number } | null;

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
const UNROLL_STATE = 64;

/**
 * Generates the CPU runner for a step program: per trajectory, the state is loaded into locals, the step body
 * (straight-line f64 code) runs `steps` times, a cheap finiteness test per step reports the first non-finite
 * state, and every `recordEvery`-th state can be recorded. Compiled once with `new Function`.
 *
 * @example
 * const run = compileJsRunner(leapfrogStep(h));
 * run(Q, P, h.paramValues, batch, 1000, 0.01, 0, 0, null, null);
 */
export function compileJsRunner(program: StepProgram): JsRunner {
  const h = program.hamiltonian;
  const n = h.dof;
  const lowering = new Lowering(jsSyntax, { prefix: 'v' });
  lowering.baseIndent = 3;
  const stateValue = (prefix: string): Value =>
    n <= UNROLL_STATE
      ? { kind: 'unrolled', elems: Array.from({ length: n }, (_, i) => `${prefix}${i}`) }
      : { kind: 'array', name: `${prefix}A`, size: n };
  const qv = stateValue('sq'), pv = stateValue('sp');
  lowering.bind(h.q, qv);
  lowering.bind(h.p, pv);
  lowering.bind(h.dt, { kind: 'scalar', code: 'dt' });
  lowering.bind(h.time, { kind: 'scalar', code: 'time' });
  const prologue: string[] = [];
  h.params.forEach((node, k) => {
    if (node.shape.length === 0) {
      prologue.push(`  const th${k} = params[${k}][0];`);
      lowering.bind(node, { kind: 'scalar', code: `th${k}` });
    } else {
      prologue.push(`  const th${k} = params[${k}];`);
      lowering.bind(node, { kind: 'array', name: `th${k}`, size: size(node.shape) });
    }
  });
  const roots = [program.next.q, program.next.p];
  // Loop-invariant subexpressions (functions of dt and θ only) are computed once per call.
  lowering.baseIndent = 1;
  lowering.emit(loopInvariants(roots, [h.q, h.p, h.time]));
  const invariantLines = lowering.takeLines();
  lowering.baseIndent = 3;
  const [nq, np] = lowering.emit(roots);
  const usesTime = topologicalOrder(roots).includes(h.time);
  const el = (v: Value, i: number) => (v.kind === 'scalar' ? v.code : v.kind === 'unrolled' ? v.elems[i]! : `${v.name}[${i}]`);
  const idx = Array.from({ length: n }, (_, i) => i);
  const sq = (i: number) => (qv.kind === 'unrolled' ? qv.elems[i]! : `sqA[${i}]`);
  const spv = (i: number) => (pv.kind === 'unrolled' ? pv.elems[i]! : `spA[${i}]`);
  const I = '      ';
  const declState =
    qv.kind === 'unrolled'
      ? [`    let ${idx.map((i) => `${sq(i)} = Q[o + ${i}]`).join(', ')};`, `    let ${idx.map((i) => `${spv(i)} = P[o + ${i}]`).join(', ')};`]
      : [`    for (let i = 0; i < ${n}; i++) { sqA[i] = Q[o + i]; spA[i] = P[o + i]; }`];
  const source = [
    '"use strict";',
    ...lowering.hoisted,
    ...(qv.kind === 'array' ? [`const sqA = new Float64Array(${n});`, `const spA = new Float64Array(${n});`] : []),
    'return function run(Q, P, params, batch, steps, dt, tStart, recordEvery, recordQ, recordP) {',
    ...prologue,
    ...invariantLines,
    '  for (let b = 0; b < batch; b++) {',
    `    const o = b * ${n};`,
    ...declState,
    '    let untilRecord = recordEvery;',
    '    let recordAt = o;',
    '    for (let s = 0; s < steps; s++) {',
    ...(usesTime ? [`${I}const time = tStart + s * dt;`] : []),
    ...lowering.lines,
    ...idx.map((i) => `${I}const nq${i} = ${el(nq!, i)};`),
    ...idx.map((i) => `${I}const np${i} = ${el(np!, i)};`),
    ...idx.map((i) => `${I}${sq(i)} = nq${i}; ${spv(i)} = np${i};`),
    `${I}const check = ${idx.map((i) => `nq${i} + np${i}`).join(' + ')};`,
    `${I}if (check - check !== 0) return { step: s, trajectory: b };`,
    `${I}if (recordQ !== null && --untilRecord === 0) {`,
    `${I}  untilRecord = recordEvery;`,
    ...idx.map((i) => `${I}  recordQ[recordAt + ${i}] = nq${i}; recordP[recordAt + ${i}] = np${i};`),
    `${I}  recordAt += batch * ${n};`,
    `${I}}`,
    '    }',
    ...idx.map((i) => `    Q[o + ${i}] = ${sq(i)}; P[o + ${i}] = ${spv(i)};`),
    '  }',
    '  return null;',
    '};',
  ].join('\n');
  const fn = new Function(source)();
  return Object.assign(fn, { source }) as JsRunner;
}

/** Nodes of a program's next state (for size reports). @example programOutputs(p).length === 2 */
export function programOutputs(program: StepProgram): Expr[] {
  return [program.next.q, program.next.p];
}
