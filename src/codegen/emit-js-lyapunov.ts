/**
 * The generated CPU runner of Lyapunov spectra: the state and `count` tangent vectors advanced together in one
 * loop, the tangent step being the exact JVP of the whole step (shared subexpressions with the step computed
 * once); implicit steps solve the tangents' linear stage equations after their own (`tangentVectors`).
 * Re-orthonormalisation happens between calls (backends/cpu/lyapunov.ts).
 */
import type { StepProgram } from '../integrators/step-program.js';
import { tangentVectors, type TangentVectors } from '../integrators/tangent-vectors.js';
import { compileGenerated } from './emit-js.js';
import { JS_FIXED_POINT, type JsRunStatus } from './emit-js-stepper.js';
import { bindJsRunnerInputs, JS_KERNEL_INDENT, jsKernelSkeleton, jsStateValue, optimizableSource } from './js-kernel.js';
import { lowerLyapunovStep } from './lyapunov-body.js';
import type { FixedPointSettings } from './step-body.js';
import { Lowering } from './lowering.js';
import { jsTarget } from './target-js.js';
import type { RegisterPair } from './values.js';

/**
 * The generated runner: `T` holds 2·count arrays (δq of tangent 0, δp of tangent 0, δq of tangent 1, …), each
 * batch × dof like Q and P; trajectories bFrom…bTo−1 advance through steps sFrom…sTo−1 of `steps`, state and
 * tangents together. Failures (a non-finite state or tangent) are in `failures`, one per failed trajectory.
 */
export type JsLyapunovRunner = ((
  Q: Float64Array,
  P: Float64Array,
  T: readonly Float64Array[],
  params: readonly ArrayLike<number>[],
  batch: number,
  steps: number,
  dt: number,
  tStart: number,
  bFrom?: number,
  bTo?: number,
  sFrom?: number,
  sTo?: number,
) => JsRunStatus) & { readonly source: string };

/**
 * Generates the runner (see `JsLyapunovRunner`) for a program (explicit or implicit, its solves converged with
 * `settings`) and `count` tangent vectors; compiled once with `new Function`.
 *
 * @example
 * const run = compileJsLyapunovRunner(leapfrogStep(h), 4);
 * run(Q, P, T, h.paramValues, batch, 1000, 0.01, 0);
 */
export function compileJsLyapunovRunner(program: StepProgram, count: number, settings: FixedPointSettings = JS_FIXED_POINT): JsLyapunovRunner {
  const vectors = tangentVectors(program, count);
  const solve = vectors.solve;
  const fp = program.implicit;
  const roots = [
    program.next.q,
    program.next.p,
    ...vectors.tangents.flatMap((t) => [t.dq, t.dp]),
    ...[fp, solve].flatMap((s) => (s === undefined ? [] : [...(s.iteration ?? s.update), ...s.initial, ...(s.scale ?? [])])),
  ];
  const source = optimizableSource((unrollLimit) => lyapunovRunnerSource(program, vectors, settings, unrollLimit), roots);
  const fn = compileGenerated<(...args: never[]) => unknown>(source, `the ${program.method} Lyapunov runner`);
  return Object.assign(fn, { source }) as JsLyapunovRunner;
}

function lyapunovRunnerSource(program: StepProgram, vectors: TangentVectors, settings: FixedPointSettings, unrollLimit: number | undefined): string {
  const h = program.system;
  const n = h.dof;
  const lowering = new Lowering(jsTarget, { prefix: 'v', unrollLimit });
  const { q: qv, p: pv, prologue } = bindJsRunnerInputs(lowering, h);
  const registers = vectors.tangents.map((t, j) => {
    const rq = jsStateValue(`tq${j}_`, n), rp = jsStateValue(`tp${j}_`, n);
    lowering.bind(t.tq, rq);
    lowering.bind(t.tp, rp);
    return [rq, rp] as const;
  });
  const { values, iterations, invariantLines, usesTime } = lowerLyapunovStep(lowering, program, vectors, { q: qv, p: pv }, settings, JS_KERNEL_INDENT);
  const pairs: RegisterPair[] = [
    { registers: [qv, pv], io: ['Q', 'P'], next: [values[0]!, values[1]!], nextNames: ['nq', 'np'] },
    ...registers.map(([rq, rp], j): RegisterPair => ({
      registers: [rq, rp],
      io: [`TQ${j}`, `TP${j}`],
      next: [values[2 + 2 * j]!, values[3 + 2 * j]!],
      nextNames: [`nu${j}_`, `nw${j}_`],
    })),
  ];
  const tangentArrays = vectors.tangents.map((_, j) => `  const TQ${j} = T[${2 * j}], TP${j} = T[${2 * j + 1}];`);
  return jsKernelSkeleton({
    signature: 'lyapunov(Q, P, T, params, batch, steps, dt, tStart, bFrom = 0, bTo = batch, sFrom = 0, sTo = steps)',
    direction: 'forward',
    dof: n,
    lowering,
    pairs,
    prologue: [...prologue, ...tangentArrays, ...invariantLines],
    usesTime,
    carries: { preLoop: [], assign: [] },
    iterations,
  });
}
