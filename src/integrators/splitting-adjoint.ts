import { add, input, mul, neg, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { substitute } from '../ir/traverse.js';
import { vjp } from '../autodiff/vjp.js';
import type { SplittingStage, StepProgram } from './step-program.js';

/**
 * The reverse-mode backward step of a splitting method, one sub-map at a time, from z_{n+1} (the program's
 * state inputs) and λ_{n+1} (`lq`, `lp`): for the stages in reverse order, each kick p′ = p − c·dt·∇V(q, τ) is
 * undone (p = p′ + c·dt·∇V(q, τ)) and transposed at the q it leaves unchanged (λ_q += −(c·dt·∇²V)ᵀλ_p,
 * g_θ += −∂(c·dt·∇V)/∂θᵀλ_p), and likewise each drift with ∇T and p. Every Jacobian is evaluated at exactly
 * the state its stage saw during reconstruction, so undoing and differentiating a stage share one force
 * evaluation (by interning), and the last stage's force at q_n is the next backward step's first (carried by
 * the runners). Adjacent kicks at the same time (compositions) are merged.
 *
 * @example
 * const { previous, lambda, paramGradient } = splittingBackward(leapfrogStep(h), lq, lp);
 */
export function splittingBackward(
  program: StepProgram & { splitting: readonly SplittingStage[] },
  lq: Expr,
  lp: Expr,
): { previous: { q: Expr; p: Expr }; lambda: { q: Expr; p: Expr }; paramGradient: Expr[] } {
  const h = program.system;
  let q: Expr = h.q, p: Expr = h.p, lambdaQ = lq, lambdaP = lp;
  let gradients: (Expr | null)[] = h.params.map(() => null);
  const placeholder = input('aux', 'splitting_cotangent', [h.dof]);
  for (const stage of mergedStages(program.splitting).reverse()) {
    const kick = stage.kind === 'kick';
    const increment = mul(stage.step, stage.force);
    // Differentiated with a placeholder cotangent, then moved to the stage's state and cotangent at once (λ
    // depends on z_{n+1}, which must not be substituted).
    const [dx, ...dtheta] = vjp([increment], [kick ? neg(placeholder) : placeholder], [kick ? h.q : h.p, ...h.params]);
    const at = new Map([[h.q, q], [h.p, p], [h.time, stage.time], [placeholder, kick ? lambdaP : lambdaQ]]);
    const [undo, dState, ...dParams] = substitute([increment, dx!, ...dtheta], at);
    if (kick) {
      p = add(p, undo!);
      lambdaQ = add(lambdaQ, dState!);
    } else {
      q = sub(q, undo!);
      lambdaP = add(lambdaP, dState!);
    }
    gradients = gradients.map((g, k) => (g === null ? dParams[k]! : add(g, dParams[k]!)));
  }
  return { previous: { q, p }, lambda: { q: lambdaQ, p: lambdaP }, paramGradient: gradients.map((g) => g!) };
}

/** The stages with adjacent kicks (or drifts) at the same time merged into one of the summed step. */
function mergedStages(stages: readonly SplittingStage[]): SplittingStage[] {
  const merged: SplittingStage[] = [];
  for (const stage of stages) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.kind === stage.kind && last.time === stage.time) merged[merged.length - 1] = { ...last, step: add(last.step, stage.step) };
    else merged.push(stage);
  }
  return merged;
}
