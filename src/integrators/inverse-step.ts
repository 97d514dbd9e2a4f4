import { DarbouxError } from '../errors.js';
import { add, input, mul, neg, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { substitute } from '../ir/traverse.js';
import type { FixedPointProblem, SplittingStage, StepProgram } from './step-program.js';

/**
 * The inverse of one step, z_n = Φₕ⁻¹(z_{n+1}), as expressions of the program's state inputs q, p (holding
 * z_{n+1}), dt and t (holding t_n, the time at the START of the forward step being undone). Implicit programs
 * solve `solve` first; its unknowns include the reconstructed state and the forward step's own unknowns at it.
 */
export interface InverseStep {
  /** z_n. */
  readonly previous: { readonly q: Expr; readonly p: Expr };
  /** Implicit programs: one fixed point over (z_n, W) with z_n = z_{n+1} − (G(W, z_n) − z_n), W = F(W; z_n). */
  readonly solve?: FixedPointProblem;
}

/**
 * Whether a program has an inverse step darboux can build (so `memory: 'reverse'` applies): its method's
 * `inverse` rule is not 'none' (symmetric, splitting and implicit methods have one; `rk4` does not).
 *
 * @example
 * isReversible(stepProgram(h, 'leapfrog')) // true
 */
export function isReversible(program: StepProgram): boolean {
  return program.inverse !== 'none' && (program.inverse !== 'undoStages' || program.splitting !== undefined);
}

/**
 * Builds the inverse step of a program:
 * - symmetric explicit methods: Φₕ⁻¹ = Φ₋ₕ, the same program with dt ↦ −dt started at t_{n+1} = t + dt;
 * - splitting methods (symplectic Euler A/B): each kick p ← p − c·h∇V(q) and drift q ← q + c·h∇T(p) undone, last first;
 * - implicit methods (any, symmetric or not): one fixed point solving Φₕ(z_n) = z_{n+1} for z_n together with
 *   the stage unknowns W of the forward step at z_n, so the adjoint solve that follows sees exactly the stages
 *   of the step it differentiates. Its contraction is O(h), like the forward solve's.
 * Throws OPTION for methods without an inverse (rk4), naming `memory: 'checkpoint'` and `'store'` instead.
 *
 * @example
 * const { previous } = inverseStep(stepProgram(h, 'leapfrog')); // z_n as expressions of z_{n+1}
 */
export function inverseStep(program: StepProgram): InverseStep {
  const h = program.system;
  if (!isReversible(program)) {
    throw new DarbouxError(
      'OPTION',
      `memory: 'reverse' needs a reversible step, and '${program.method}' has no inverse darboux can build ` +
        `(it is neither symmetric nor implicit); use memory: 'checkpoint' (store every k-th state, recompute segments) ` +
        `or 'store' (keep every state)`,
      { method: program.method },
    );
  }
  const fp = program.implicit;
  if (fp !== undefined) {
    const zq = input('aux', 'reconstructed_q', [h.dof]), zp = input('aux', 'reconstructed_p', [h.dof]);
    const at = new Map<Expr, Expr>([[h.q, zq], [h.p, zp]]);
    const [gq, gp, ...update] = substitute([program.next.q, program.next.p, ...fp.update], at);
    return {
      previous: { q: zq, p: zp },
      solve: {
        unknowns: [zq, zp, ...fp.unknowns],
        initial: [h.q, h.p, ...fp.initial],
        update: [sub(h.q, sub(gq!, zq)), sub(h.p, sub(gp!, zp)), ...update],
      },
    };
  }
  if (program.inverse === 'undoStages') return { previous: undoStages(program.system, program.splitting!) };
  const [q, p] = substitute([program.next.q, program.next.p], new Map([[h.dt, neg(h.dt)], [h.time, add(h.time, h.dt)]]));
  return { previous: { q: q!, p: p! } };
}

/** z_n from z_{n+1} = (q, p) by undoing each stage of a splitting method, last first. */
function undoStages(system: StepProgram['system'], stages: readonly SplittingStage[]): { q: Expr; p: Expr } {
  let q: Expr = system.q, p: Expr = system.p;
  for (const stage of [...stages].reverse()) {
    const [force] = substitute([stage.force], new Map([[system.q, q], [system.p, p], [system.time, stage.time]]));
    if (stage.kind === 'kick') p = add(p, mul(stage.step, force!));
    else q = sub(q, mul(stage.step, force!));
  }
  return { q, p };
}
