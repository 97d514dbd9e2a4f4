import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { topologicalOrder } from '../ir/traverse.js';
import type { AdjointStep } from '../integrators/adjoint-step.js';
import { loopInvariants } from './invariants.js';
import { adjointCarries, prepareCarries } from './carry.js';
import { gradientParts, offsetPlus, partRoots, writeGradient } from './gradient-writes.js';
import { size } from '../ir/shape.js';
import type { Lowering } from './lowering.js';
import { emitFixedPoint, solveScaleElems, type FixedPointSettings } from './step-body.js';

/** Every expression a backward step evaluates: the solves' predictors, maps and scales, then its outputs. */
function adjointRoots(step: AdjointStep, outputs: readonly Expr[]): Expr[] {
  return [...step.solves.flatMap((fp) => [...fp.initial, ...fp.update, ...(fp.scale ?? [])]), ...outputs];
}

/**
 * The lowering sequence of a backward step, shared by the JS and WGSL adjoint runners, after the state (q, p),
 * the cotangent, dt, t and θ are bound: loop invariants (functions of dt and θ only) at `indent.invariants`,
 * carried values at `indent.carries` (`carryLines`, evaluated at the first state; `assignCarries` hands them on),
 * then at `indent.step` the chained fixed-point solves (each followed by the target's `afterSolve`, e.g. a
 * failure exit), the outputs z_n and λ_n, and g_θ added into the accumulator `gradient(k)` (k: flat index over all parameters) —
 * outer-product terms element by element, never materialised. Returns the values of z_n and λ_n and the
 * iteration counters of the solves.
 *
 * @example
 * const body = lowerAdjointStep(lowering, step, state, settings, JS_KERNEL_INDENT, (k) => `G[${k}]`);
 */
export function lowerAdjointStep(
  lowering: Lowering,
  step: AdjointStep,
  state: { q: Value; p: Value },
  settings: FixedPointSettings,
  indent: { invariants: number; carries: number; step: number },
  gradient: (k: number | string) => string,
) {
  const h = step.forward.system;
  const parts = step.paramGradient.map(gradientParts);
  const outputs = [step.previous.q, step.previous.p, step.lambda.q, step.lambda.p, ...partRoots(parts)];
  const roots = adjointRoots(step, outputs);
  const varying = [h.q, h.p, h.time, step.cotangent.q, step.cotangent.p, ...step.solves.flatMap((fp) => fp.unknowns)];
  lowering.baseIndent = indent.invariants;
  lowering.emit(loopInvariants(roots, varying));
  const invariantLines = lowering.takeLines();
  const prologueLoops = lowering.takeLoopIterations();
  // Values of z_{n+1} that the previous backward step evaluated at its z_n (forces, activations).
  const carries = prepareCarries(lowering, adjointCarries(step, outputs), indent.carries);
  lowering.baseIndent = indent.step;
  const stateElems = step.solves.length > 0 ? solveScaleElems(lowering, state, h.dof) : [];
  let solveLoops = 0;
  const iterations = step.solves.map((fp, k) => {
    const laterSolves = step.solves.slice(k + 1);
    const later = [...laterSolves.flatMap((next) => [...next.initial, ...next.update]), ...outputs];
    const loops = { solveLoopIterations: 0 };
    const it = emitFixedPoint(lowering, fp, later, stateElems, settings, laterSolves.flatMap((next) => next.unknowns), loops);
    solveLoops += 1 + loops.solveLoopIterations;
    return it;
  });
  const [pq, pp, lq, lp, ...rest] = lowering.emit([...outputs, ...carries.ends]);
  const endValues = rest.slice(rest.length - carries.ends.length);
  let offset = 0;
  h.params.forEach((node, k) => {
    const at = offset;
    writeGradient(lowering, parts[k]!, (i) => gradient(offsetPlus(at, i)), true);
    offset += size(node.shape);
  });
  const usesTime = topologicalOrder(roots).includes(h.time);
  // Loop iterations before the step loop, per step outside the solves, and per iteration of all solves together.
  const loopIterations = { prologue: prologueLoops + carries.preLoopIterations, perStep: 1 + lowering.takeLoopIterations(), perSolveIteration: solveLoops };
  return {
    previous: [pq!, pp!] as const,
    lambda: [lq!, lp!] as const,
    iterations,
    invariantLines,
    usesTime,
    loopIterations,
    /** Evaluation of the carried values at the first state (before the step loop). */
    carryLines: carries.preLoop,
    /** Statements handing the carried values to the next backward step (after the step, at indentation `at`). */
    assignCarries: (at: number) => carries.assign(endValues, at),
  };
}
