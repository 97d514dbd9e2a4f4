import { DarbouxError } from '../errors.js';
import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { elementOf } from './values.js';
import { size } from '../ir/shape.js';
import type { FixedPointProblem, StepProgram } from '../integrators/step-program.js';
import { loopInvariants } from './invariants.js';
import { prepareCarries, stepCarries } from './carry.js';
import { topologicalOrder } from '../ir/traverse.js';
import type { Lowering } from './lowering.js';

/** Convergence settings of the fixed-point iteration, as code. */
export interface FixedPointSettings {
  /** Relative tolerance on the max-norm of the update, relative to the state's max-norm. */
  tolerance: number;
  maxIterations: number;
}

/**
 * Lowers one step of a program into `lowering` and returns the values of q′ and p′. Explicit programs are
 * straight-line code; implicit ones solve their fixed point first (`emitFixedPoint`) and then evaluate q′, p′
 * at the converged W. `iterations` names the variable holding this step's count.
 *
 * @example
 * const { next: [nq, np], iterations } = emitStep(lowering, program, { q: qv, p: pv }, JS_FIXED_POINT);
 */
export function emitStep(
  lowering: Lowering,
  program: StepProgram,
  state: { q: Value; p: Value },
  settings: FixedPointSettings,
  extraRoots: readonly Expr[] = [],
): { next: [Value, Value]; extra: Value[]; iterations: string | null; solveLoopIterations: number } {
  const roots = [program.next.q, program.next.p, ...extraRoots];
  const fp = program.implicit;
  const n = program.system.dof;
  const stateElems = fp === undefined ? [] : solveScaleElems(lowering, state, n);
  const loops = { solveLoopIterations: 0 };
  const iterations = fp === undefined ? null : emitFixedPoint(lowering, fp, roots, stateElems, settings, [], loops);
  const [q, p, ...extra] = lowering.emit(roots);
  return { next: [q!, p!], extra, iterations, solveLoopIterations: loops.solveLoopIterations };
}

/**
 * The values whose max-norm scales a solve's tolerance (`emitFixedPoint`'s `scaleElems`): the state's elements,
 * or for an array state in JS one local holding their max-norm, computed by a loop (emitted here).
 *
 * @example
 * const it = emitFixedPoint(lowering, fp, roots, solveScaleElems(lowering, { q: qv, p: pv }, h.dof), JS_FIXED_POINT);
 */
export function solveScaleElems(lowering: Lowering, state: { q: Value; p: Value }, n: number): string[] {
  const { q, p } = state;
  if (q.kind !== 'array' || p.kind !== 'array' || lowering.syntax.name !== 'js') return Array.from({ length: n }, (_, i) => [elementOf(q, i), elementOf(p, i)]).flat();
  const t = lowering.syntax;
  const m = lowering.mutable('0');
  lowering.loop(n, (i) => lowering.line(`${m} = ${t.max(m, t.max(t.abs(indexed(q, i)), t.abs(indexed(p, i))))};`, false));
  return [m];
}

/**
 * Lowers the solve of one fixed-point problem: its unknowns become mutable scalars set by the predictor and
 * bound for everything lowered afterwards; W ← F(W) iterates in a nested scope until the update's max-norm is at
 * rounding level relative to the scale (the max-norm of `scaleElems` and of the unknowns, or of the problem's own
 * `scale` expressions), or has stopped decreasing there, and fails with the residual and iteration count after
 * `maxIterations` (the target's `solveFailure` statements; its `afterSolve` statements follow the loop). Work that does not depend on the unknowns (in the update and in `roots`, what is evaluated
 * after the solve, except what depends on `laterUnknowns`, solved afterwards) is lowered once, before the loop.
 * Returns the name of the iteration counter; `loops` receives the loop iterations of one solve iteration.
 *
 * @example
 * const it = emitFixedPoint(lowering, program.implicit!, [program.next.q, program.next.p], stateElems, JS_FIXED_POINT);
 */
export function emitFixedPoint(
  lowering: Lowering,
  fp: FixedPointProblem,
  roots: readonly Expr[],
  scaleElems: readonly string[],
  settings: FixedPointSettings,
  laterUnknowns: readonly Expr[] = [],
  loops: { solveLoopIterations: number } = { solveLoopIterations: 0 },
): string {
  const target = lowering.syntax;
  const L = (code: string) => lowering.line(code, false);
  const initial = lowering.emit(fp.initial);
  lowering.emit(loopInvariants([...iterated(fp), ...roots, ...(fp.scale ?? [])], [...fp.unknowns, ...laterUnknowns]));
  const unknowns = fp.unknowns.map((u, k) => declareUnknown(lowering, u, initial[k]!));
  const vars = unknowns.map((w) => (w.kind === 'unrolled' ? w.elems : []));
  const scaleValues = fp.scale === undefined ? [] : lowering.emit(fp.scale);
  const isLong = (v: Value) => target.name === 'js' && (v.kind === 'array' || v.kind === 'fused') && v.size > ARRAY_UNKNOWN;
  // Long array (or fused) scale values and array unknowns enter the scale by loops, the rest element by element.
  const looped = [...scaleValues.filter(isLong), ...unknowns.filter((w) => w.kind === 'array')];
  const reference = fp.scale === undefined ? scaleElems : scaleValues.filter((v) => !isLong(v)).flatMap((v) => Array.from({ length: valueSize(v) }, (_, i) => elementOf(v, i)));
  const scale = lowering.fresh('scale'), it = lowering.fresh('iterations'), prev = lowering.fresh('previous');
  const magnitudes = [...reference, ...vars.flat(), lowering.literal(1e-300)].map((e) => target.abs(e));
  L(target.mutableDecl(scale, magnitudes.reduce((a, b) => target.max(a, b))));
  for (const v of looped) lowering.loop(valueSize(v), (i) => L(`${scale} = ${target.max(scale, target.abs(indexed(v, i)))};`));
  L(target.mutableDecl(it, '0'));
  L(target.mutableDecl(prev, target.huge));
  const lit = (v: number) => lowering.literal(v);
  L(target.unboundedLoopOpen);
  const body = lowering.fork();
  body.baseIndent = lowering.baseIndent + 1;
  const updated = body.emit(iterated(fp));
  const B = (code: string) => body.line(code, false);
  B(`${it} = ${it} + 1;`);
  const fresh = vars.map((names, k) => names.map((_, i) => body.temp(elementOf(updated[k]!, i))));
  const unrolledDelta = vars.flatMap((names, k) => names.map((w, i) => target.abs(`${fresh[k]![i]} - ${w}`)));
  const delta = unknowns.some((w) => w.kind === 'array')
    ? updateArrayUnknowns(body, unknowns, updated, unrolledDelta)
    : body.temp(unrolledDelta.reduce((a, b) => target.max(a, b)));
  vars.forEach((names, k) => names.forEach((w, i) => B(`${w} = ${fresh[k]![i]};`)));
  B(`if (${delta} <= ${lit(settings.tolerance)} * ${scale}) { break; }`);
  // At the rounding floor the update stops decreasing: accept only there.
  B(`if (${delta} >= ${prev} && ${delta} <= ${lit(64 * settings.tolerance)} * ${scale}) { break; }`);
  B(`if (${it} >= ${settings.maxIterations}) {`);
  for (const s of target.solveFailure(delta, it)) B(`  ${s}`);
  B('}');
  B(`${prev} = ${delta};`);
  for (const line of body.lines) lowering.lines.push(line); // no spread: a body can have over 10⁵ lines
  L('}');
  for (const s of target.afterSolve) L(s);
  loops.solveLoopIterations = body.loopIterations;
  return it;
}

/** JS unknowns longer than this are arrays updated by loops, so that the source does not grow with them. */
const ARRAY_UNKNOWN = 64;

/**
 * Declares an unknown of a solve, set to its predictor `initial`, and binds it: mutable scalars, or (JS, longer
 * than ARRAY_UNKNOWN) a hoisted array filled by a loop.
 */
function declareUnknown(lowering: Lowering, u: Expr, initial: Value): Value & ({ kind: 'unrolled' } | { kind: 'array' }) {
  const n = size(u.shape);
  const L = (code: string) => lowering.line(code, false);
  if (lowering.syntax.name === 'js' && n > ARRAY_UNKNOWN) {
    const w = { kind: 'array' as const, name: lowering.array(n), size: n };
    if (initial.kind === 'array' || initial.kind === 'fused') lowering.loop(n, (i) => L(`${w.name}[${i}] = ${indexed(initial, i)};`));
    else for (let i = 0; i < n; i++) L(`${w.name}[${i}] = ${elementOf(initial, i)};`);
    lowering.bind(u, w);
    return w;
  }
  const w = { kind: 'unrolled' as const, elems: Array.from({ length: n }, () => lowering.fresh('w')) };
  w.elems.forEach((name, i) => L(lowering.syntax.mutableDecl(name, elementOf(initial, i))));
  lowering.bind(u, w);
  return w;
}

/** Elements of an emitted value (a scalar has one). */
function valueSize(v: Value): number {
  return v.kind === 'scalar' ? 1 : v.kind === 'unrolled' ? v.elems.length : v.size;
}

/** Element `i` (an index expression) of an array or fused value. */
function indexed(v: Value, i: string): string {
  if (v.kind === 'fused') return v.at(i);
  if (v.kind === 'array') return `${v.name}[${v.offset === undefined ? '' : `${v.offset} + `}${i}]`;
  throw new DarbouxError('INTERNAL', `fixed point: element ${i} of a ${v.kind} value (expected an array or a fused value)`, { kind: v.kind });
}

/**
 * One fixed-point update of array unknowns (JS): the max-norm of the update (with `unrolledDelta`, the terms of
 * the scalar unknowns) accumulated while each array is overwritten by its new value, in one loop per unknown.
 * New values that are not arrays of their own are first written to scratch arrays, so that no unknown changes
 * before every new value is read. Returns the name of the update's norm.
 */
function updateArrayUnknowns(body: Lowering, unknowns: readonly Value[], updated: readonly Value[], unrolledDelta: readonly string[]): string {
  const target = body.syntax;
  const B = (code: string) => body.line(code, false);
  const names = new Set(unknowns.map((w) => (w.kind === 'array' ? w.name : '')));
  const sources = unknowns.map((w, k) => {
    const v = updated[k]!;
    if (w.kind !== 'array' || (v.kind === 'array' && !names.has(v.name))) return v;
    const scratch = body.array(w.size);
    if (v.kind === 'array' || v.kind === 'fused') body.loop(w.size, (i) => B(`${scratch}[${i}] = ${indexed(v, i)};`));
    else for (let i = 0; i < w.size; i++) B(`${scratch}[${i}] = ${elementOf(v, i)};`);
    return { kind: 'array' as const, name: scratch, size: w.size };
  });
  const delta = body.mutable(unrolledDelta.length > 0 ? unrolledDelta.reduce((a, b) => target.max(a, b)) : '0');
  unknowns.forEach((w, k) => {
    if (w.kind !== 'array') return;
    body.loop(w.size, (i) => {
      const x = body.temp(indexed(sources[k]!, i));
      B(`${delta} = ${target.max(delta, target.abs(`${x} - ${w.name}[${i}]`))};`);
      B(`${w.name}[${i}] = ${x};`);
    });
  });
  return delta;
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
 * The lowering sequence of a forward step, shared by the JS and WGSL runners, after q, p, dt, t and θ are bound:
 * loop invariants (functions of dt and θ), carried values evaluated before the step loop, then the step itself,
 * each at the kernel skeleton's indentation (`JS_KERNEL_INDENT`, `WGSL_KERNEL_INDENT`). Returns what the
 * skeleton needs around those lines. `carryLimit` bounds the length of carried vectors (`stepCarries`); `lastStep`
 * (JS forward runners) is the step loop's condition for the last step of a call, seen by the step's emitters
 * (`EmitContext.lastStep`), not by the invariants or the carried values evaluated before the loop.
 *
 * @example
 * const { next, invariantLines, carries } = lowerStepper(lowering, program, { q: qv, p: pv }, settings, JS_KERNEL_INDENT);
 */
export function lowerStepper(
  lowering: Lowering,
  program: StepProgram,
  state: { q: Value; p: Value },
  settings: FixedPointSettings,
  indent: { invariants: number; carries: number; step: number },
  carryLimit?: number,
  lastStep?: string,
) {
  const fp = program.implicit;
  const allRoots = [program.next.q, program.next.p, ...(fp ? [...iterated(fp), ...fp.initial] : [])];
  lowering.baseIndent = indent.invariants;
  lowering.emit(loopInvariants(allRoots, varyingNodes(program)));
  const invariantLines = lowering.takeLines();
  const prologueLoops = lowering.takeLoopIterations();
  // Values handed from one step to the next (e.g. leapfrog's closing force is the next opening force).
  const carries = prepareCarries(lowering, stepCarries(program, carryLimit), indent.carries);
  lowering.baseIndent = indent.step;
  const carryLoops = lowering.takeLoopIterations() + carries.preLoopIterations;
  lowering.lastStep = lastStep;
  const step = emitStep(lowering, program, state, settings, carries.ends);
  lowering.lastStep = undefined;
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
