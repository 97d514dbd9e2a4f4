import { add, mul } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { substitute } from '../ir/traverse.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import type { System } from '../system/system.js';
import type { StepProgram } from './step-program.js';

/**
 * Classical fourth-order Runge–Kutta on ż = J∇H: a documented NON-symplectic control, for comparisons and
 * for tests that must tell a symplectic step from one that is not.
 *
 * @example
 * const program = rk4Step(h); // energy drifts linearly over long runs
 */
export function rk4Step(h: Hamiltonian): StepProgram {
  const { dq: Hq, dp: Hp } = h.gradientExprs();
  // Vector field f(q, p, t) = (∂H/∂p, −∂H/∂q).
  return rk4Program(h, (q, p, t) => {
    const [fq, fp] = substitute([Hp, Hq], new Map([[h.q, q], [h.p, p], [h.time, t]]));
    return { q: fq!, p: mul(-1, fp!) };
  });
}

/**
 * Classical RK4 on a first-order system (q, p)′ = field(q, p, t) over the state inputs of `system` (its second
 * half may be velocities rather than momenta): the step program with `method: 'rk4'`, no inverse.
 *
 * @example
 * rk4Program(system, (q, v, t) => ({ q: v, p: acceleration(q, v, t) }))
 */
export function rk4Program(system: System, field: (q: Expr, p: Expr, t: Expr) => { q: Expr; p: Expr }): StepProgram {
  const { q, p, dt, time: t } = system;
  const half = mul(0.5, dt);
  const k1 = field(q, p, t);
  const k2 = field(add(q, mul(half, k1.q)), add(p, mul(half, k1.p)), add(t, half));
  const k3 = field(add(q, mul(half, k2.q)), add(p, mul(half, k2.p)), add(t, half));
  const k4 = field(add(q, mul(dt, k3.q)), add(p, mul(dt, k3.p)), add(t, dt));
  const combine = (z: Expr, a: Expr, b: Expr, c: Expr, d: Expr) => add(z, mul(mul(dt, 1 / 6), add(add(a, mul(2, b)), add(mul(2, c), d))));
  return {
    method: 'rk4',
    order: 4,
    symmetric: false,
    inverse: 'none',
    system,
    next: { q: combine(q, k1.q, k2.q, k3.q, k4.q), p: combine(p, k1.p, k2.p, k3.p, k4.p) },
  };
}
