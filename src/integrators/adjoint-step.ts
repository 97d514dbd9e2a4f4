import { add, input } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { substitute } from '../ir/traverse.js';
import { vjp } from '../autodiff/vjp.js';
import { inverseStep } from './inverse-step.js';
import { splittingBackward } from './splitting-adjoint.js';
import type { FixedPointProblem, StepProgram } from './step-program.js';
import { newtonProblem } from './newton.js';

/** Where a backward step gets the state z_n it differentiates at. */
export type AdjointStateSource = 'reverse' | 'store';

/**
 * One backward step n+1 → n of the discrete adjoint, as a program over the IR. Its inputs are the forward
 * program's: state q, p (z_{n+1} for 'reverse', z_n for 'store'), dt, t (= t_n, the start of the forward step)
 * and θ, plus the cotangent λ_{n+1} (aux inputs `cotangent`). `solves` run in order; then
 *   λ_n = (∂z_{n+1}/∂z_n)ᵀ λ_{n+1},   g_θ = (∂z_{n+1}/∂θ)ᵀ λ_{n+1},
 * and, for 'reverse', the reconstructed z_n, are evaluated.
 */
export interface AdjointStep {
  readonly forward: StepProgram;
  readonly source: AdjointStateSource;
  /** λ_{n+1}: aux input vectors [dof]. */
  readonly cotangent: { readonly q: Expr; readonly p: Expr };
  /** Fixed-point problems solved in order (reconstruction or forward stages, then the adjoint stage solve). */
  readonly solves: readonly FixedPointProblem[];
  /** z_n: the reconstructed state ('reverse') or the state input itself ('store'). */
  readonly previous: { readonly q: Expr; readonly p: Expr };
  /** λ_n. */
  readonly lambda: { readonly q: Expr; readonly p: Expr };
  /** g_θ, aligned with `forward.system.params` (shapes of the parameters). */
  readonly paramGradient: readonly Expr[];
}

/**
 * The vector–Jacobian product of one forward step at the state (q, p) = `at` (expressions), with cotangent
 * (lq, lp): explicit steps by one reverse-mode pass over `next`; implicit ones by the implicit function theorem
 * transposed — with W = F(W; z, θ) and z′ = G(W, z, θ), the adjoint stages μ solve the linear fixed point
 * μ = F_Wᵀμ + G_Wᵀλ (contractive exactly when the forward iteration is), then λ_n = G_zᵀλ + F_zᵀμ and
 * g_θ = G_θᵀλ + F_θᵀμ. Never differentiates the iterations.
 *
 * @example
 * const { lambda, paramGradient, solve } = stepVjp(program, { q: h.q, p: h.p }, lq, lp);
 */
export function stepVjp(
  program: StepProgram,
  at: { q: Expr; p: Expr },
  lq: Expr,
  lp: Expr,
): { lambda: { q: Expr; p: Expr }; paramGradient: Expr[]; solve?: FixedPointProblem } {
  const h = program.system;
  const move = (roots: readonly Expr[]) => (at.q === h.q && at.p === h.p ? [...roots] : substitute(roots, new Map([[h.q, at.q], [h.p, at.p]])));
  const next = [program.next.q, program.next.p];
  const fp = program.implicit;
  if (fp === undefined) {
    const [dq, dp, ...dtheta] = move(vjp(next, [lq, lp], [h.q, h.p, ...h.params]));
    return { lambda: { q: dq!, p: dp! }, paramGradient: dtheta };
  }
  const W = fp.unknowns;
  const mu = W.map((w, k) => input('aux', `adjoint_stage${k}`, w.shape));
  const k = W.length, P = h.params.length;
  const fromNext = vjp(next, [lq, lp], [...W, h.q, h.p, ...h.params]);
  const fromStages = vjp(fp.update, mu, [...W, h.q, h.p, ...h.params]);
  const moved = move([...fromNext, ...fromStages]);
  const G = moved.slice(0, k + 2 + P), F = moved.slice(k + 2 + P);
  const r = G.slice(0, k);
  return {
    solve: { unknowns: mu, initial: r, update: r.map((rk, i) => add(F[i]!, rk)), scale: [lq, lp] },
    lambda: { q: add(G[k]!, F[k]!), p: add(G[k + 1]!, F[k + 1]!) },
    paramGradient: h.params.map((_, j) => add(G[k + 2 + j]!, F[k + 2 + j]!)),
  };
}

/**
 * The backward step of a program for a memory mode: 'store' differentiates at the state input; 'reverse'
 * first reconstructs z_n from the state input z_{n+1} with the inverse step (`inverseStep`; throws OPTION for
 * methods without one) and differentiates there — except for splitting methods, which undo and transpose one
 * stage at a time (`splittingBackward`). Memoised per program.
 *
 * @example
 * const step = adjointStep(stepProgram(h, 'midpoint'), 'reverse');
 * step.solves.length; // 2: reconstruction with the forward stages, then the adjoint stages
 */
export function adjointStep(program: StepProgram, source: AdjointStateSource): AdjointStep {
  const h = program.system;
  const cached = built.get(program) ?? {};
  built.set(program, cached);
  return (cached[source] ??= (() => {
    const cotangent = { q: input('aux', 'cotangent_q', [h.dof]), p: input('aux', 'cotangent_p', [h.dof]) };
    const solves: FixedPointProblem[] = [];
    let previous = { q: h.q, p: h.p };
    if (source === 'reverse' && program.splitting !== undefined) {
      // Splitting methods: undo and transpose one stage at a time (no recomputed forward step).
      const back = splittingBackward({ ...program, splitting: program.splitting }, cotangent.q, cotangent.p);
      return { forward: program, source, cotangent, solves, ...back };
    }
    if (source === 'reverse') {
      const inverse = inverseStep(program);
      if (inverse.solve) solves.push(inverse.solve);
      previous = { ...inverse.previous };
    } else if (program.implicit) {
      solves.push(program.implicit);
    }
    const { lambda, paramGradient, solve } = stepVjp(program, previous, cotangent.q, cotangent.p);
    if (solve) solves.push(solve);
    // A forward step solved by Newton (stiff problems) gets Newton for its backward solves too: the plain
    // iteration of the reconstruction and of the adjoint stages diverges exactly where the forward one did.
    const solver = program.implicit?.solver;
    const backwardSolves = solver === 'newton' || solver === 'simplifiedNewton' ? solves.map((fp) => (fp.iteration ? fp : newtonProblem(fp, solver))) : solves;
    return { forward: program, source, cotangent, solves: backwardSolves, previous, lambda, paramGradient };
  })());
}

/** Backward steps built so far, per forward program. */
const built = new WeakMap<StepProgram, Partial<Record<AdjointStateSource, AdjointStep>>>();
