import { add, constant, index, stack, sub, unitVector } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import { substitute } from '../ir/traverse.js';
import { jvp } from '../autodiff/jvp.js';
import { solveLinearSystem } from '../autodiff/linear-solve.js';
import { DarbouxError } from '../errors.js';
import { pivotedSolve } from '../system/lagrangian-linear.js';
import type { FixedPointProblem, StepProgram } from './step-program.js';

/** How an implicit step's equations are solved: plain fixed-point iteration or Newton's method. */
export type ImplicitSolver = 'fixedPoint' | 'newton' | 'simplifiedNewton';

/**
 * Rewrites an implicit step so that its iteration is Newton's method on the stage equations W = F(W):
 *   W ← W + (I − ∂F/∂W)⁻¹ (F(W) − W),
 * with the Jacobian from forward-mode autodiff (Hessian–vector products of H) and the small dense solve
 * unrolled into the step's code. `simplifiedNewton` freezes ∂F/∂W at the predictor, so its factorisation is
 * computed once per step (the emitters hoist it out of the iteration). Both converge where the plain
 * iteration diverges (stiff problems, h·‖∂F/∂W‖ ≥ 1). The problem itself (`update`) is unchanged, so exact
 * Jacobians by the implicit function theorem are unaffected; only `iteration` is replaced.
 *
 * @example
 * const program = withImplicitSolver(stepProgram(h, 'midpoint'), 'newton');
 */
export function withImplicitSolver(program: StepProgram, solver: ImplicitSolver): StepProgram {
  const fp = program.implicit;
  if (fp === undefined || solver === 'fixedPoint') return program;
  let bySolver = solverVariants.get(program);
  if (bySolver === undefined) solverVariants.set(program, (bySolver = new Map()));
  let variant = bySolver.get(solver);
  if (variant === undefined) bySolver.set(solver, (variant = { ...program, implicit: newtonProblem(fp, solver) }));
  return variant;
}

/** Solver variants of a program, built once and held as long as the program lives. */
const solverVariants = new WeakMap<StepProgram, Map<ImplicitSolver, StepProgram>>();

/**
 * One fixed-point problem with Newton's iteration (see `withImplicitSolver`): the same unknowns, predictor and
 * map F, plus `iteration` W + (I − ∂F/∂W)⁻¹(F(W) − W). Also used for the solves of backward steps.
 *
 * @example
 * const fast = newtonProblem(stepProgram(h, 'gauss4').implicit!, 'newton');
 */
export function newtonProblem(fp: FixedPointProblem, solver: Exclude<ImplicitSolver, 'fixedPoint'>): FixedPointProblem {
  const { unknowns, update } = fp;
  const scalars = unknowns.flatMap((u) => Array.from({ length: size(u.shape) }, (_, i) => ({ u, i })));
  const element = (e: Expr, i: number) => (e.shape.length === 0 ? e : index(e, i));
  const updateElements = update.flatMap((f) => Array.from({ length: size(f.shape) }, (_, i) => element(f, i)));
  // Column c of ∂F/∂W: the JVP of F along the unit vector of unknown scalar c.
  const columns = scalars.map(({ u, i }) => {
    const seed = u.shape.length === 0 ? constant(1) : unitVector(size(u.shape), i);
    const tangents = jvp(update, new Map([[u, seed]]));
    return tangents.flatMap((t, k) => Array.from({ length: size(update[k]!.shape) }, (_, r) => (t === null ? constant(0) : element(t, r))));
  });
  const frozen = solver === 'simplifiedNewton' ? new Map(unknowns.map((u, k) => [u, fp.initial[k]!])) : null;
  const matrix = updateElements.map((_, r) =>
    scalars.map((_, c) => {
      const entry = sub(r === c ? constant(1) : constant(0), columns[c]![r]!);
      return frozen === null ? entry : substitute([entry], frozen)[0]!;
    }),
  );
  const residual = updateElements.map((f, r) => sub(f, element(scalars[r]!.u, scalars[r]!.i)));
  let correction: Expr[];
  try {
    correction = solveLinearSystem(matrix, residual);
  } catch (e) {
    // A structurally zero pivot (an indefinite matrix, e.g. a Lagrangian's v₀v₁ term): pivot at run time instead.
    if (!(e instanceof DarbouxError) || e.code !== 'SPEC') throw e;
    correction = pivotedSolve(matrix, residual);
  }
  let offset = 0;
  const iteration = unknowns.map((u) => {
    const n = size(u.shape);
    const parts = Array.from({ length: n }, (_, i) => add(element(u, i), correction[offset + i]!));
    offset += n;
    return u.shape.length === 0 ? parts[0]! : stack(parts);
  });
  return { ...fp, iteration, solver };
}
