import { DarbouxError } from '../errors.js';
import { add, mul, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { printExpr } from '../ir/printer.js';
import { substitute } from '../ir/traverse.js';
import { gradient } from '../autodiff/vjp.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import type { SplittingStage, StepProgram } from './step-program.js';

/**
 * ∇V(q, t) and ∇T(p, t) of a separable Hamiltonian, or a NOT_SEPARABLE error naming a coupling term.
 *
 * @example
 * const { gradV, gradT } = separableGradients(h, 'leapfrog');
 */
export function separableGradients(h: Hamiltonian, method: string): { gradV: Expr; gradT: Expr } {
  let forces = separableForces.get(h);
  if (forces === undefined) {
    const split = h.split();
    if (!split.separable) {
      const term = printExpr(split.coupling, { name: (n) => coordinateName(h, n) });
      throw new DarbouxError(
        'NOT_SEPARABLE',
        `${method} needs a separable H = T(p) + V(q), but H is not separable: the term '${term}' couples q and p. ` +
          `Use method 'midpoint' (or another implicit method) for non-separable Hamiltonians.`,
        { coupling: term },
      );
    }
    const [gradV] = gradient(split.V, [h.q]);
    const [gradT] = gradient(split.T, [h.p]);
    separableForces.set(h, (forces = { gradV: gradV!, gradT: gradT! }));
  }
  return forces;
}

/** ∇V and ∇T of each separable Hamiltonian, derived once and held as long as it lives. */
const separableForces = new WeakMap<Hamiltonian, { gradV: Expr; gradT: Expr }>();

/**
 * The display name of a coordinate node (index(q, i) → 'x'), for messages.
 *
 * @example
 * coordinateName(h, index(h.q, 0)); // 'x' when h.names.q is ['x', 'y']
 */
export function coordinateName(h: Hamiltonian, node: Expr): string | undefined {
  if (node.op === 'index' && node.args[0] === h.q) return h.names.q[node.attrs.i as number];
  if (node.op === 'index' && node.args[0] === h.p) return h.names.p[node.attrs.i as number];
  return undefined;
}

/**
 * One Störmer–Verlet kick–drift–kick step of size `c·dt` as expressions of (q, p):
 * p½ = p − (h/2)∇V(q, t), q′ = q + h∇T(p½, t + h/2), p′ = p½ − (h/2)∇V(q′, t + h).
 *
 * @example
 * const { q, p, stages } = kickDriftKick(h, h.q, h.p, h.time, 1); // one full leapfrog step
 */
export function kickDriftKick(h: Hamiltonian, q: Expr, p: Expr, t: Expr, c: number): { q: Expr; p: Expr; t: Expr; stages: SplittingStage[] } {
  const { gradV, gradT } = separableGradients(h, 'leapfrog');
  const step = mul(c, h.dt);
  const half = mul(0.5 * c, h.dt);
  const at = (e: Expr, qq: Expr, pp: Expr, tt: Expr) => substitute([e], new Map([[h.q, qq], [h.p, pp], [h.time, tt]]))[0]!;
  const pHalf = sub(p, mul(half, at(gradV, q, p, t)));
  const qNext = add(q, mul(step, at(gradT, q, pHalf, add(t, half))));
  const tNext = add(t, step);
  const pNext = sub(pHalf, mul(half, at(gradV, qNext, pHalf, tNext)));
  const stages: SplittingStage[] = [
    { kind: 'kick', force: gradV, step: half, time: t },
    { kind: 'drift', force: gradT, step, time: add(t, half) },
    { kind: 'kick', force: gradV, step: half, time: tNext },
  ];
  return { q: qNext, p: pNext, t: tNext, stages };
}

/**
 * Leapfrog (Störmer–Verlet, kick–drift–kick) for separable H = T(p) + V(q): order 2, symplectic, symmetric.
 *
 * @example
 * const program = leapfrogStep(parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' }));
 */
export function leapfrogStep(h: Hamiltonian): StepProgram {
  const next = kickDriftKick(h, h.q, h.p, h.time, 1);
  return { method: 'leapfrog', order: 2, symmetric: true, inverse: 'negatedStep', system: h, next: { q: next.q, p: next.p }, splitting: next.stages };
}
