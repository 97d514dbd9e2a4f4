/**
 * Random Lagrangians for property tests: fast-check arbitraries of smooth Lagrangians with a positive definite
 * velocity Hessian on the sampled states, built to be exactly invariant under a rotation of the (q0, q1) plane or
 * under a translation along [1, 1, 1] — and not quadratic in v (a quartic kinetic term), so that the variational
 * steps really solve a nonlinear equation.
 */
import fc from 'fast-check';
import { add, cos, div, dot, mul, powi, sin, sqrt, sub, type Operand } from '../../src/ir/build.js';
import { configurationSpace, lagrangian, type Lagrangian } from '../../src/index.js';

/** A double spread evenly over [min, max]. */
const uniform = (min: number, max: number) => fc.integer({ min: 0, max: 1 << 20 }).map((k) => min + ((max - min) * k) / (1 << 20));

const sumAll = (terms: Operand[]) => terms.reduce<Operand>((a, b) => add(a, b), 0);

/**
 * Names a generated Lagrangian by its coefficients for fast-check's reports (its default printer would expand the
 * expression DAG into a tree, which for a counterexample can exhaust the heap).
 */
function named(L: Lagrangian, kind: string, coefficients: object): Lagrangian {
  return Object.assign(L, { [fc.toStringMethod]: () => `${kind}(${JSON.stringify(coefficients)})` });
}

/**
 * L invariant under rotations of the (q0, q1) plane (dof 3: q2 is a spectator coupled through invariants):
 * ½(1 + a·s/(1+s))|v₀₁|² + b·(q·v)²/(1+s) + c·(q₀v₁ − q₁v₀) + d·|v₀₁|⁴/8 + ½v₂² + e·v₂(q·v) − V, with
 * s = q₀² + q₁², V = w·s/2 + u/√(1+s) + g·q₂²/2 + k·q₂²s/(1+s) (confining).
 */
export const rotationInvariantLagrangian: fc.Arbitrary<Lagrangian> = fc
  .record({ a: uniform(0, 1), b: uniform(0, 0.5), c: uniform(-1, 1), d: uniform(0, 0.5), e: uniform(-0.2, 0.2), w: uniform(0.2, 1.5), u: uniform(-1, 1), g: uniform(0.5, 1.5), k: uniform(-0.3, 0.3) })
  .map((coefficients) => {
    const { a, b, c, d, e, w, u, g, k } = coefficients;
    const S = configurationSpace(3);
    const [x, y, z] = S.qs, [vx, vy, vz] = S.vs;
    const s = add(mul(x!, x!), mul(y!, y!));
    const vv = add(mul(vx!, vx!), mul(vy!, vy!));
    const qv = add(mul(x!, vx!), mul(y!, vy!));
    const T = sumAll([
      mul(0.5, mul(add(1, div(mul(a, s), add(1, s))), vv)),
      mul(b, div(powi(qv, 2), add(1, s))),
      mul(c, sub(mul(x!, vy!), mul(y!, vx!))),
      mul(d / 8, powi(vv, 2)),
      mul(0.5, mul(vz!, vz!)),
      mul(e, mul(vz!, qv)),
    ]);
    const V = sumAll([mul(w / 2, s), div(u, sqrt(add(1, s))), mul(g / 2, mul(z!, z!)), mul(k, div(mul(mul(z!, z!), s), add(1, s)))]);
    return named(lagrangian(S, sub(T, V)), 'rotationInvariant', coefficients);
  });

/**
 * L invariant under translations along [1, 1, 1] (three particles on a line; only differences r₁ = q₀ − q₁,
 * r₂ = q₁ − q₂ enter): Σ ½mᵢvᵢ² + d·|v|⁴/8 + b·sin(r₁)·v₀v₁ + c·r₂·v₂ − w₁cos(r₁) − w₂r₂²/2 − u·r₁r₂.
 */
export const translationInvariantLagrangian: fc.Arbitrary<Lagrangian> = fc
  .record({ m: fc.tuple(uniform(1, 2), uniform(1, 2), uniform(1, 2)), d: uniform(0, 0.5), b: uniform(-0.3, 0.3), c: uniform(-1, 1), w1: uniform(-1, 1), w2: uniform(0.2, 1.5), u: uniform(-0.3, 0.3) })
  .map((coefficients) => {
    const { m, d, b, c, w1, w2, u } = coefficients;
    const S = configurationSpace(3);
    const [q0, q1, q2] = S.qs, [v0, v1, v2] = S.vs;
    const r1 = sub(q0!, q1!), r2 = sub(q1!, q2!);
    const vv = dot(S.v, S.v);
    const T = sumAll([...S.vs.map((v, i) => mul(m[i]! / 2, mul(v, v))), mul(d / 8, powi(vv, 2)), mul(b, mul(sin(r1), mul(v0!, v1!))), mul(c, mul(r2, v2!))]);
    const V = sumAll([mul(w1, cos(r1)), mul(w2 / 2, mul(r2, r2)), mul(u, mul(r1, r2))]);
    return named(lagrangian(S, sub(T, V)), 'translationInvariant', coefficients);
  });

/** A state (q, v) of dof 3 with |q| ≤ 1 and |v| ≤ 0.5 per component. */
export const arbitraryState3 = fc.record({
  q: fc.tuple(uniform(-1, 1), uniform(-1, 1), uniform(-1, 1)),
  v: fc.tuple(uniform(-0.5, 0.5), uniform(-0.5, 0.5), uniform(-0.5, 0.5)),
});

/** Kepler in the plane: L = |v|²/2 + k/|q|. */
export const keplerLagrangian = (k = 1) => lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: '(vx^2+vy^2)/2 + k/sqrt(x^2+y^2)', params: { k } });

/** The double pendulum (unit masses and lengths, g = 9.81): L = v₁² + v₂²/2 + v₁v₂cos(θ₁−θ₂) + 2g cos θ₁ + g cos θ₂. */
export const doublePendulumLagrangian = () =>
  lagrangian({ q: ['a', 'b'], v: ['va', 'vb'], L: 'va^2 + vb^2/2 + va*vb*cos(a-b) + 2*g*cos(a) + g*cos(b)', params: { g: 9.81 } });
