/**
 * The generated CPU runner of Lyapunov spectra for explicit step programs: the state and `count` tangent vectors
 * advanced together in one loop, the tangent step being the exact JVP of the whole step (shared subexpressions
 * with the step computed once). Re-orthonormalisation happens between calls (backends/cpu/lyapunov.ts).
 */
import { DarbouxError } from '../errors.js';
import { constant, input } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { topologicalOrder } from '../ir/traverse.js';
import { jvp } from '../autodiff/jvp.js';
import type { StepProgram } from '../integrators/step-program.js';
import { compileGenerated } from './emit-js.js';
import type { JsRunStatus } from './emit-js-stepper.js';
import { loopInvariants } from './invariants.js';
import { bindJsRunnerInputs, JS_KERNEL_INDENT, jsKernelSkeleton, jsStateValue, optimizableSource } from './js-kernel.js';
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
 * The tangent inputs and tangent steps of `count` vectors: (δq_j′, δp_j′) = Φ′(q, p)·(δq_j, δp_j), each the
 * JVP of the whole step with its own seed inputs.
 *
 * @example
 * const tangents = tangentSteps(leapfrogStep(h), 2); // [{ tq, tp, dq, dp }, { … }]
 */
export function tangentSteps(program: StepProgram, count: number): { tq: Expr; tp: Expr; dq: Expr; dp: Expr }[] {
  if (program.implicit) {
    throw new DarbouxError('INTERNAL', `tangentSteps: '${program.method}' is implicit (its tangent goes through the implicit function theorem)`, { method: program.method });
  }
  const h = program.system;
  return Array.from({ length: count }, (_, j) => {
    const tq = input('aux', `lyapunov_q${j}`, [h.dof]), tp = input('aux', `lyapunov_p${j}`, [h.dof]);
    const [dq, dp] = jvp([program.next.q, program.next.p], new Map([[h.q, tq], [h.p, tp]]));
    return { tq, tp, dq: dq ?? constant(0, [h.dof]), dp: dp ?? constant(0, [h.dof]) };
  });
}

/**
 * Generates the runner (see `JsLyapunovRunner`) for an explicit program and `count` tangent vectors; compiled
 * once with `new Function`.
 *
 * @example
 * const run = compileJsLyapunovRunner(leapfrogStep(h), 4);
 * run(Q, P, T, h.paramValues, batch, 1000, 0.01, 0);
 */
export function compileJsLyapunovRunner(program: StepProgram, count: number): JsLyapunovRunner {
  const tangents = tangentSteps(program, count);
  const roots = [program.next.q, program.next.p, ...tangents.flatMap((t) => [t.dq, t.dp])];
  const source = optimizableSource((unrollLimit) => lyapunovRunnerSource(program, tangents, unrollLimit), roots);
  const fn = compileGenerated<(...args: never[]) => unknown>(source, `the ${program.method} Lyapunov runner`);
  return Object.assign(fn, { source }) as JsLyapunovRunner;
}

function lyapunovRunnerSource(program: StepProgram, tangents: ReturnType<typeof tangentSteps>, unrollLimit: number | undefined): string {
  const h = program.system;
  const n = h.dof;
  const lowering = new Lowering(jsTarget, { prefix: 'v', unrollLimit });
  const { q: qv, p: pv, prologue } = bindJsRunnerInputs(lowering, h);
  const registers = tangents.map((t, j) => {
    const rq = jsStateValue(`tq${j}_`, n), rp = jsStateValue(`tp${j}_`, n);
    lowering.bind(t.tq, rq);
    lowering.bind(t.tp, rp);
    return [rq, rp] as const;
  });
  const roots = [program.next.q, program.next.p, ...tangents.flatMap((t) => [t.dq, t.dp])];
  const varying = [h.q, h.p, h.time, ...tangents.flatMap((t) => [t.tq, t.tp])];
  lowering.baseIndent = JS_KERNEL_INDENT.invariants;
  lowering.emit(loopInvariants(roots, varying));
  const invariantLines = lowering.takeLines();
  lowering.baseIndent = JS_KERNEL_INDENT.step;
  const values = lowering.emit(roots);
  const pairs: RegisterPair[] = [
    { registers: [qv, pv], io: ['Q', 'P'], next: [values[0]!, values[1]!], nextNames: ['nq', 'np'] },
    ...registers.map(([rq, rp], j): RegisterPair => ({
      registers: [rq, rp],
      io: [`TQ${j}`, `TP${j}`],
      next: [values[2 + 2 * j]!, values[3 + 2 * j]!],
      nextNames: [`nu${j}_`, `nw${j}_`],
    })),
  ];
  const tangentArrays = tangents.map((_, j) => `  const TQ${j} = T[${2 * j}], TP${j} = T[${2 * j + 1}];`);
  return jsKernelSkeleton({
    signature: 'lyapunov(Q, P, T, params, batch, steps, dt, tStart, bFrom = 0, bTo = batch, sFrom = 0, sTo = steps)',
    direction: 'forward',
    dof: n,
    lowering,
    pairs,
    prologue: [...prologue, ...tangentArrays, ...invariantLines],
    usesTime: topologicalOrder(roots).includes(h.time),
    carries: { preLoop: [], assign: [] },
    iterations: [],
  });
}
