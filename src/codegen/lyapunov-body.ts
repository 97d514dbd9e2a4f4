/**
 * The lowering of one step of a program together with `count` tangent vectors, shared by the JS and WGSL
 * Lyapunov runners: loop invariants, then (implicit programs) the step's fixed point and the linear stage
 * equations of the tangents, each solved to rounding in its own loop, then the new state and tangents.
 */
import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { topologicalOrder } from '../ir/traverse.js';
import type { StepProgram } from '../integrators/step-program.js';
import type { TangentVectors } from '../integrators/tangent-vectors.js';
import { loopInvariants } from './invariants.js';
import type { Lowering } from './lowering.js';
import { emitFixedPoint, solveScaleElems, type FixedPointSettings } from './step-body.js';

/** Everything a solve evaluates: its predictor, its iterated map and its scale. */
const solveRoots = (fp: NonNullable<TangentVectors['solve']>) => [...fp.initial, ...(fp.iteration ?? fp.update), ...(fp.scale ?? [])];

/**
 * Lowers the step and its tangents after q, p, dt, t, θ and the tangent inputs are bound: loop invariants at
 * `indent.invariants` (returned as `invariantLines`), the rest at `indent.step`. Returns the values of
 * [q′, p′, δq′₀, δp′₀, δq′₁, …], the solves' iteration counters, and the loop iterations of one step outside the
 * solves and of one iteration of all solves (for adapters that bound loop iterations per invocation).
 *
 * @example
 * const body = lowerLyapunovStep(lowering, program, tangentVectors(program, 4), { q: qv, p: pv }, JS_FIXED_POINT, JS_KERNEL_INDENT);
 */
export function lowerLyapunovStep(
  lowering: Lowering,
  program: StepProgram,
  vectors: TangentVectors,
  state: { q: Value; p: Value },
  settings: FixedPointSettings,
  indent: { invariants: number; step: number },
) {
  const h = program.system;
  const { tangents } = vectors;
  const solves = program.implicit === undefined ? [] : [program.implicit, vectors.solve!];
  const outputs = [program.next.q, program.next.p, ...tangents.flatMap((t) => [t.dq, t.dp])];
  const roots: Expr[] = [...solves.flatMap(solveRoots), ...outputs];
  const varying = [h.q, h.p, h.time, ...tangents.flatMap((t) => [t.tq, t.tp]), ...solves.flatMap((fp) => fp.unknowns)];
  lowering.baseIndent = indent.invariants;
  lowering.emit(loopInvariants(roots, varying));
  const invariantLines = lowering.takeLines();
  const prologue = lowering.takeLoopIterations();
  lowering.baseIndent = indent.step;
  const stateElems = solves.length > 0 ? solveScaleElems(lowering, state, h.dof) : [];
  let perSolveIteration = 0;
  const iterations = solves.map((fp, k) => {
    const later = solves.slice(k + 1);
    const loops = { solveLoopIterations: 0 };
    const it = emitFixedPoint(lowering, fp, [...later.flatMap(solveRoots), ...outputs], stateElems, settings, later.flatMap((next) => next.unknowns), loops);
    perSolveIteration += 1 + loops.solveLoopIterations;
    return it;
  });
  const values = lowering.emit(outputs);
  return {
    values,
    iterations,
    invariantLines,
    usesTime: topologicalOrder(roots).includes(h.time),
    loopIterations: { prologue, perStep: 1 + lowering.takeLoopIterations(), perSolveIteration },
  };
}
