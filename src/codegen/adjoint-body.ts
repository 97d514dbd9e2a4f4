import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { topologicalOrder } from '../ir/traverse.js';
import type { AdjointStep } from '../integrators/adjoint-step.js';
import { loopInvariants } from './invariants.js';
import type { Lowering } from './lowering.js';
import { elementOf, emitFixedPoint, type FixedPointDialect, type FixedPointSettings } from './step-body.js';

/** Every expression a backward step evaluates: the solves' predictors, maps and scales, then its outputs. */
function adjointRoots(step: AdjointStep): Expr[] {
  const outputs = [step.previous.q, step.previous.p, step.lambda.q, step.lambda.p, ...step.paramGradient];
  return [...step.solves.flatMap((fp) => [...fp.initial, ...fp.update, ...(fp.scale ?? [])]), ...outputs];
}

/**
 * The lowering sequence of a backward step, shared by the JS and WGSL adjoint runners, after the state (q, p),
 * the cotangent, dt, t and θ are bound: loop invariants (functions of dt and θ only) at `indent.invariants`,
 * then at `indent.step` the chained fixed-point solves (each followed by `afterSolve`, e.g. a failure exit) and
 * the outputs z_n, λ_n and g_θ. Returns their values and the iteration counters of the solves.
 *
 * @example
 * const body = lowerAdjointStep(lowering, adjointStep(program, 'reverse'), state, dialect, settings, { invariants: 1, step: 3 });
 */
export function lowerAdjointStep(
  lowering: Lowering,
  step: AdjointStep,
  state: { q: Value; p: Value },
  dialect: FixedPointDialect,
  settings: FixedPointSettings,
  indent: { invariants: number; step: number },
  afterSolve: readonly string[] = [],
) {
  const h = step.forward.hamiltonian;
  const roots = adjointRoots(step);
  const varying = [h.q, h.p, h.time, step.cotangent.q, step.cotangent.p, ...step.solves.flatMap((fp) => fp.unknowns)];
  lowering.baseIndent = indent.invariants;
  lowering.emit(loopInvariants(roots, varying));
  const invariantLines = lowering.takeLines();
  const prologueLoops = lowering.takeLoopIterations();
  lowering.baseIndent = indent.step;
  const stateElems = Array.from({ length: h.dof }, (_, i) => [elementOf(state.q, i), elementOf(state.p, i)]).flat();
  const outputs = [step.previous.q, step.previous.p, step.lambda.q, step.lambda.p, ...step.paramGradient];
  let solveLoops = 0;
  const iterations = step.solves.map((fp, k) => {
    const laterSolves = step.solves.slice(k + 1);
    const later = [...laterSolves.flatMap((next) => [...next.initial, ...next.update]), ...outputs];
    const loops = { solveLoopIterations: 0 };
    const it = emitFixedPoint(lowering, fp, later, stateElems, dialect, settings, laterSolves.flatMap((next) => next.unknowns), loops);
    solveLoops += 1 + loops.solveLoopIterations;
    for (const line of afterSolve) lowering.line(line, false);
    return it;
  });
  const [pq, pp, lq, lp, ...paramGradient] = lowering.emit(outputs);
  const usesTime = topologicalOrder(roots).includes(h.time);
  // Loop iterations before the step loop, per step outside the solves, and per iteration of all solves together.
  const loopIterations = { prologue: prologueLoops, perStep: 1 + lowering.takeLoopIterations(), perSolveIteration: solveLoops };
  return { previous: [pq!, pp!] as const, lambda: [lq!, lp!] as const, paramGradient, iterations, invariantLines, usesTime, loopIterations };
}
