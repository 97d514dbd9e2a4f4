/**
 * Integrators of Lagrangian systems as step programs: the variational integrators (discrete Lagrangians L_d,
 * position–momentum form, solved for the velocity) and classical RK4 on the Euler–Lagrange equations.
 */
import { add, constant, index, input, mul, stack, sub, unitVector } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { substitute, topologicalOrder } from '../ir/traverse.js';
import { jvp } from '../autodiff/jvp.js';
import type { Lagrangian } from '../system/lagrangian.js';
import { pivotedSolve } from '../system/lagrangian-linear.js';
import type { FixedPointProblem, StepProgram } from './step-program.js';
import { rk4Program } from './rk4.js';

/** The discrete Lagrangians darboux integrates with. */
export type DiscreteLagrangian = 'midpoint' | 'trapezoid';

/** Scalar elements of a vector expression. */
const elements = (e: Expr, n: number): Expr[] => Array.from({ length: n }, (_, i) => (e.shape.length === 0 ? e : index(e, i)));

/**
 * A variational integrator in position–momentum form over the state (q, p), p the discrete momenta. The unknown
 * is the velocity v = (q_{n+1} − q_n)/h, with q_{n+1} = q_n + h v:
 * - 'midpoint': L_d = h·L((q₀+q₁)/2, v, t + h/2), so p_n = ∂L/∂v − (h/2)∂L/∂q and p_{n+1} = ∂L/∂v + (h/2)∂L/∂q
 *   at the midpoint;
 * - 'trapezoid': L_d = (h/2)·[L(q₀, v, t) + L(q₁, v, t + h)], so p_n = ½(∂L/∂v₀ + ∂L/∂v₁) − (h/2)∂L/∂q(q₀) and
 *   p_{n+1} = ½(∂L/∂v₀ + ∂L/∂v₁) + (h/2)∂L/∂q(q₁).
 * The fixed point is v = v − R(v) with R(v) = p_n(v) − p (same fixed points as R = 0), iterated by Newton's method
 * with the exact ∂R/∂v (forward mode over the symbolic gradient) and a run-time pivoted elimination. The
 * predictor is the continuous inverse Legendre map v(q, p) (`legendrePredictor`): for L quadratic in v one
 * Newton step from rest, exact; otherwise Newton continuation from rest along the momenta b + s(p − b), s = 1/K …
 * 1 (b = ∂L/∂v at rest), which stays in L's domain where a single step from rest leaves it (a relativistic
 * particle with p/m > 1) and ends next to the solution (v differs from the discrete velocity by O(h)). Every
 * step, its Jacobian and its adjoint start there — a function of the state alone, so runs split into windows or
 * dispatches give the same result. Exact Jacobians and adjoints go through `update` by the implicit function
 * theorem. Symplectic, symmetric, order 2; the discrete Noether charges p·X(q) of linear symmetries are
 * conserved exactly.
 *
 * @example
 * const program = variationalStep(lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - x^2/2' }), 'midpoint');
 */
export function variationalStep(L: Lagrangian, kind: DiscreteLagrangian): StepProgram {
  const system = L.phaseSystem();
  const n = L.dof, h = L.dt, t = L.time, q = L.q, p = system.p;
  const { dq, dv } = L.gradientExprs();
  const velocity = input('aux', 'velocity', [n]);
  const at = (x: Expr, time: Expr) => substitute([dq, dv], new Map([[L.q, x], [L.v, velocity], [L.time, time]])) as [Expr, Expr];
  const half = mul(0.5, h);
  const q1 = add(q, mul(h, velocity));
  let start: Expr, end: Expr;
  if (kind === 'midpoint') {
    const [lq, lv] = at(add(q, mul(half, velocity)), add(t, half));
    start = sub(lv, mul(half, lq));
    end = add(lv, mul(half, lq));
  } else {
    const [lq0, lv0] = at(q, t);
    const [lq1, lv1] = at(q1, add(t, h));
    const mean = mul(0.5, add(lv0, lv1));
    start = sub(mean, mul(half, lq0));
    end = add(mean, mul(half, lq1));
  }
  const residual = sub(start, p);
  return {
    method: kind === 'midpoint' ? 'variationalMidpoint' : 'variationalTrapezoid',
    order: 2,
    symmetric: true,
    inverse: 'solve',
    system,
    // p_{n+1} = D₂L_d − R: the same value and the same exact derivatives (R ≡ 0 on the solution, so its total
    // derivative vanishes), but the inverse step's equations then have a regular structure for unpivoted Newton,
    // and the residual left by the solve enters the discrete charge only as R·(X(q_n) − X(q_{n+1})) = O(h·R).
    next: { q: q1, p: sub(end, residual) },
    implicit: velocityProblem(L, velocity, residual, p),
  };
}

/** The fixed point v = v − R(v) of a variational step, with its predictor and pivoted Newton iteration. */
function velocityProblem(L: Lagrangian, velocity: Expr, residual: Expr, p: Expr): FixedPointProblem {
  const n = L.dof;
  const R = elements(residual, n);
  const columns = Array.from({ length: n }, (_, j) => jvp([residual], new Map([[velocity, unitVector(n, j)]]))[0] ?? null);
  const jacobian = R.map((_, i) => columns.map((c) => (c === null ? constant(0) : elements(c, n)[i]!)));
  const correction = pivotedSolve(jacobian, R);
  return {
    unknowns: [velocity],
    initial: [legendrePredictor(L, p)],
    update: [sub(velocity, residual)],
    iteration: [sub(velocity, stack(correction))],
    solver: 'newton',
  };
}

/** Continuation stages of the predictor of a Lagrangian whose velocity Hessian depends on v. */
export const PREDICTOR_STAGES = 6;

/**
 * The predictor of a variational step: the continuous inverse Legendre map at (q, p, t), v with ∂L/∂v(q, v) = p.
 * With H = ∂²L/∂v² and b = ∂L/∂v at rest: v = H⁻¹(p − b) at v = 0 when H does not depend on v (L quadratic in v:
 * exact); otherwise K = PREDICTOR_STAGES Newton steps, step k towards the momentum b + (k/K)(p − b) from the
 * previous stage's v, with H and ∂L/∂v at that v. Each stage moves by only a K-th of the momentum, so a Legendre
 * map that stiffens with speed (relativistic: H = mγ(I + γ²vvᵀ)) is followed instead of jumped over.
 *
 * @example
 * const v = legendrePredictor(L, L.phaseSystem().p); // an Expr of q, p, t, θ
 */
export function legendrePredictor(L: Lagrangian, p: Expr): Expr {
  const n = L.dof;
  const { velocityHessian, dv } = L.eulerLagrange();
  const quadratic = !topologicalOrder(velocityHessian.flat()).includes(L.v);
  const stages = quadratic ? 1 : PREDICTOR_STAGES;
  const rest = constant(0, [n]);
  const b = substitute([dv], new Map([[L.v, rest]]))[0]!;
  let v: Expr = rest;
  for (let k = 1; k <= stages; k++) {
    const at = new Map<Expr, Expr>([[L.v, v]]);
    const M = velocityHessian.map((row) => substitute(row, at));
    const target = k === stages ? p : add(b, mul(k / stages, sub(p, b)));
    const momentum = k === 1 ? b : substitute([dv], at)[0]!;
    const step = stack(pivotedSolve(M, elements(sub(target, momentum), n)));
    v = k === 1 ? step : add(v, step);
  }
  return v;
}

/**
 * Classical RK4 on the Euler–Lagrange equations (q̇ = v, v̇ = a(q, v, t)) over the state (q, v): the
 * NON-symplectic control for the variational integrators (its Noether charges drift).
 *
 * @example
 * const program = eulerLagrangeRk4Step(L); // program.system.p is L.v
 */
export function eulerLagrangeRk4Step(L: Lagrangian): StepProgram {
  const system = L.velocitySystem();
  const { accelerations } = L.eulerLagrange();
  return rk4Program(system, (q, v, time) => ({ q: v, p: substitute([accelerations], new Map([[L.q, q], [L.v, v], [L.time, time]]))[0]! }));
}

/** Variational midpoint (L_d = h·L((q₀+q₁)/2, (q₁−q₀)/h)). @example compile(L, { method: 'variationalMidpoint', dt }) */
export const variationalMidpointStep = (L: Lagrangian) => variationalStep(L, 'midpoint');
/** Variational trapezoid (L_d = h/2·[L(q₀, v) + L(q₁, v)]). @example compile(L, { method: 'variationalTrapezoid', dt }) */
export const variationalTrapezoidStep = (L: Lagrangian) => variationalStep(L, 'trapezoid');
