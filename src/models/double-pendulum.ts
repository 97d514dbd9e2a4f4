import { add, cos, div, mul, neg, param, powi, sin, sub } from '../ir/build.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * The planar double pendulum in canonical coordinates: angles θ₁, θ₂ from the downward vertical and their
 * conjugate momenta p₁, p₂ (masses m1, m2, rod lengths l1, l2, gravity g as parameters). With Δ = θ₁ − θ₂,
 *
 *   H = (m₂l₂²p₁² + (m₁+m₂)l₁²p₂² − 2m₂l₁l₂p₁p₂ cos Δ) / (2m₂l₁²l₂²(m₁ + m₂ sin²Δ))
 *       − (m₁+m₂) g l₁ cos θ₁ − m₂ g l₂ cos θ₂.
 *
 * The kinetic energy depends on the angles, so H is not separable (use midpoint or gauss4/gauss6). The default
 * start (θ₁, θ₂) = (1, 0.5) at rest is a large-amplitude, chaotic-regime release. No invariants besides H.
 *
 * @example
 * const { hamiltonian: h, q0, p0, dt } = doublePendulum({ m2: 0.5 });
 * const st = await compile(h, { method: 'gauss4', dt, backend: 'cpu' });
 * await st.run({ q0, p0, steps: 1000 });
 */
export function doublePendulum(
  options: { m1?: number; m2?: number; l1?: number; l2?: number; g?: number } = {},
): Model {
  const s = phaseSpace(2);
  const [t1, t2] = s.qs as [typeof s.q, typeof s.q];
  const [p1, p2] = s.ps as [typeof s.q, typeof s.q];
  const m1 = param('m1'), m2 = param('m2'), l1 = param('l1'), l2 = param('l2'), g = param('g');
  const M = add(m1, m2);
  const delta = sub(t1, t2);
  const numerator = sub(
    add(mul(mul(m2, powi(l2, 2)), powi(p1, 2)), mul(mul(M, powi(l1, 2)), powi(p2, 2))),
    mul(mul(mul(mul(2, m2), mul(l1, l2)), mul(p1, p2)), cos(delta)),
  );
  const denominator = mul(mul(mul(2, m2), mul(powi(l1, 2), powi(l2, 2))), add(m1, mul(m2, powi(sin(delta), 2))));
  const V = sub(neg(mul(mul(M, mul(g, l1)), cos(t1))), mul(mul(m2, mul(g, l2)), cos(t2)));
  const H = add(div(numerator, denominator), V);
  return {
    name: 'double pendulum',
    hamiltonian: hamiltonian(s, H, {
      params: { m1: options.m1 ?? 1, m2: options.m2 ?? 1, l1: options.l1 ?? 1, l2: options.l2 ?? 1, g: options.g ?? 9.81 },
      names: { q: ['theta1', 'theta2'], p: ['p1', 'p2'] },
    }),
    q0: [1, 0.5],
    p0: [0, 0],
    dt: 0.01,
    invariants: {},
  };
}
