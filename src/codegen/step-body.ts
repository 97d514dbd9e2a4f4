import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { size } from '../ir/shape.js';
import type { FixedPointProblem, StepProgram } from '../integrators/step-program.js';
import { loopInvariants } from './invariants.js';
import { prepareCarries, stepCarries } from './carry.js';
import { topologicalOrder } from '../ir/traverse.js';
import type { Lowering } from './lowering.js';

/** Target-specific statements of the fixed-point loop. */
export interface FixedPointDialect {
  mutable(name: string, code: string): string;
  loopOpen: string;
  abs(x: string): string;
  max(a: string, b: string): string;
  /** Largest finite number (initial "previous update"). */
  huge: string;
  /** Statements run when the iteration does not converge (must leave the loop). */
  fail(residual: string, iterations: string): string[];
}

/** Convergence settings of the fixed-point iteration, as code. */
export interface FixedPointSettings {
  /** Relative tolerance on the max-norm of the update, relative to the state's max-norm. */
  tolerance: number;
  maxIterations: number;
}

/**
 * Element i of an emitted value.
 *
 * @example
 * elementOf({ kind: 'unrolled', elems: ['sq0', 'sq1'] }, 1);              // 'sq1'
 * elementOf({ kind: 'array', name: 'dParams', size: 4, offset: 2 }, 1); // 'dParams[2 + 1]'
 */
export function elementOf(v: Value, i: number): string {
  if (v.kind === 'scalar') return v.code;
  if (v.kind === 'unrolled') return v.elems[i]!;
  if (v.kind === 'fused') return v.at(i);
  const off = v.offset === undefined ? '' : `${v.offset} + `;
  return `${v.name}[${off}${i}]`;
}

/**
 * Lowers one step of a program into `lowering` and returns the values of q′ and p′. Explicit programs are
 * straight-line code; implicit ones solve their fixed point first (`emitFixedPoint`) and then evaluate q′, p′
 * at the converged W. `iterations` names the variable holding this step's count.
 *
 * @example
 * const { next: [nq, np], iterations } = emitStep(lowering, program, { q: qv, p: pv }, jsFixedPoint, JS_FIXED_POINT);
 */
export function emitStep(
  lowering: Lowering,
  program: StepProgram,
  state: { q: Value; p: Value },
  dialect: FixedPointDialect,
  settings: FixedPointSettings,
  extraRoots: readonly Expr[] = [],
): { next: [Value, Value]; extra: Value[]; iterations: string | null; solveLoopIterations: number } {
  const roots = [program.next.q, program.next.p, ...extraRoots];
  const fp = program.implicit;
  const n = program.system.dof;
  const stateElems = Array.from({ length: n }, (_, i) => [elementOf(state.q, i), elementOf(state.p, i)]).flat();
  const loops = { solveLoopIterations: 0 };
  const iterations = fp === undefined ? null : emitFixedPoint(lowering, fp, roots, stateElems, dialect, settings, [], loops);
  const [q, p, ...extra] = lowering.emit(roots);
  return { next: [q!, p!], extra, iterations, solveLoopIterations: loops.solveLoopIterations };
}

/**
 * Lowers the solve of one fixed-point problem: its unknowns become mutable scalars set by the predictor and
 * bound for everything lowered afterwards; W ← F(W) iterates in a nested scope until the update's max-norm is at
 * rounding level relative to the scale (the max-norm of `scaleElems` and of the unknowns, or of the problem's own
 * `scale` expressions), or has stopped decreasing there, and fails with the residual and iteration count after
 * `maxIterations`. Work that does not depend on the unknowns (in the update and in `roots`, what is evaluated
 * after the solve, except what depends on `laterUnknowns`, solved afterwards) is lowered once, before the loop.
 * Returns the name of the iteration counter; `loops` receives the loop iterations of one solve iteration.
 *
 * @example
 * const it = emitFixedPoint(lowering, program.implicit!, [program.next.q, program.next.p], stateElems, jsFixedPoint, JS_FIXED_POINT);
 */
export function emitFixedPoint(
  lowering: Lowering,
  fp: FixedPointProblem,
  roots: readonly Expr[],
  scaleElems: readonly string[],
  dialect: FixedPointDialect,
  settings: FixedPointSettings,
  laterUnknowns: readonly Expr[] = [],
  loops: { solveLoopIterations: number } = { solveLoopIterations: 0 },
): string {
  const L = (code: string) => lowering.line(code, false);
  const initial = lowering.emit(fp.initial);
  lowering.emit(loopInvariants([...iterated(fp), ...roots, ...(fp.scale ?? [])], [...fp.unknowns, ...laterUnknowns]));
  const vars = fp.unknowns.map((u, k) => {
    const names = Array.from({ length: size(u.shape) }, () => lowering.fresh('w'));
    names.forEach((name, i) => L(dialect.mutable(name, elementOf(initial[k]!, i))));
    lowering.bind(u, { kind: 'unrolled', elems: names });
    return names;
  });
  const reference = fp.scale === undefined ? scaleElems : lowering.emit(fp.scale).flatMap((v, k) => Array.from({ length: size(fp.scale![k]!.shape) }, (_, i) => elementOf(v, i)));
  const scale = lowering.fresh('scale'), it = lowering.fresh('iterations'), prev = lowering.fresh('previous');
  const magnitudes = [...reference, ...vars.flat(), lowering.literal(1e-300)].map((e) => dialect.abs(e));
  L(dialect.mutable(scale, magnitudes.reduce((a, b) => dialect.max(a, b))));
  L(dialect.mutable(it, '0'));
  L(dialect.mutable(prev, dialect.huge));
  const lit = (v: number) => lowering.literal(v);
  L(dialect.loopOpen);
  const body = lowering.fork();
  body.baseIndent = lowering.baseIndent + 1;
  const updated = body.emit(iterated(fp));
  const B = (code: string) => body.line(code, false);
  B(`${it} = ${it} + 1;`);
  const fresh = vars.map((names, k) => names.map((_, i) => body.temp(elementOf(updated[k]!, i))));
  const delta = body.temp(
    vars.flatMap((names, k) => names.map((w, i) => dialect.abs(`${fresh[k]![i]} - ${w}`))).reduce((a, b) => dialect.max(a, b)),
  );
  vars.forEach((names, k) => names.forEach((w, i) => B(`${w} = ${fresh[k]![i]};`)));
  B(`if (${delta} <= ${lit(settings.tolerance)} * ${scale}) { break; }`);
  // At the rounding floor the update stops decreasing: accept only there.
  B(`if (${delta} >= ${prev} && ${delta} <= ${lit(64 * settings.tolerance)} * ${scale}) { break; }`);
  B(`if (${it} >= ${settings.maxIterations}) {`);
  for (const s of dialect.fail(delta, it)) B(`  ${s}`);
  B('}');
  B(`${prev} = ${delta};`);
  for (const line of body.lines) lowering.lines.push(line); // no spread: a body can have over 10⁵ lines
  L('}');
  loops.solveLoopIterations = body.loopIterations;
  return it;
}

/** The map the fixed-point loop iterates (Newton's map when a Newton solver was chosen). */
function iterated(fp: FixedPointProblem): readonly Expr[] {
  return fp.iteration ?? fp.update;
}

/**
 * The unknown and input nodes that vary inside a step (for loop-invariant hoisting).
 *
 * @example
 * lowering.emit(loopInvariants([program.next.q, program.next.p], varyingNodes(program)));
 */
export function varyingNodes(program: StepProgram): Expr[] {
  const h = program.system;
  return [h.q, h.p, h.time, ...(program.implicit?.unknowns ?? [])];
}

/**
 * The lowering sequence both runners share, after q, p, dt, t and θ are bound: loop invariants (functions of dt
 * and θ), carried values evaluated before the step loop, then the step itself, each at its template's
 * indentation. Returns what the runner template needs around those lines.
 *
 * @example
 * const { next: [nq, np], invariantLines, carries } = lowerStepper(lowering, program, { q: qv, p: pv }, jsFixedPoint, settings, { invariants: 1, carries: 2, step: 3 });
 */
export function lowerStepper(
  lowering: Lowering,
  program: StepProgram,
  state: { q: Value; p: Value },
  dialect: FixedPointDialect,
  settings: FixedPointSettings,
  indent: { invariants: number; carries: number; step: number },
) {
  const fp = program.implicit;
  const allRoots = [program.next.q, program.next.p, ...(fp ? [...iterated(fp), ...fp.initial] : [])];
  lowering.baseIndent = indent.invariants;
  lowering.emit(loopInvariants(allRoots, varyingNodes(program)));
  const invariantLines = lowering.takeLines();
  const prologueLoops = lowering.takeLoopIterations();
  // Values handed from one step to the next (e.g. leapfrog's closing force is the next opening force).
  const carries = prepareCarries(lowering, stepCarries(program), dialect.mutable, indent.carries);
  lowering.baseIndent = indent.step;
  const carryLoops = lowering.takeLoopIterations() + carries.preLoopIterations;
  const step = emitStep(lowering, program, state, dialect, settings, carries.ends);
  // Loop iterations of one step (outside the solve) and of one solve iteration, for kernels on adapters that
  // bound loop iterations per invocation.
  const loopIterations = {
    prologue: prologueLoops + carryLoops,
    perStep: 1 + lowering.takeLoopIterations(),
    perSolveIteration: fp ? 1 + step.solveLoopIterations : 0,
  };
  const usesTime = topologicalOrder(allRoots).includes(program.system.time);
  return { ...step, invariantLines, carries, usesTime, loopIterations };
}
