import { add, dot, index, mul, param, stack, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * The discrete nonlinear Schrödinger equation on a ring of `sites` sites, as a lattice Hamiltonian in real
 * canonical variables ψₙ = (qₙ + i pₙ)/√2:
 *
 *   H = C Σₙ |ψₙ₊₁ − ψₙ|² − (γ/2) Σₙ |ψₙ|⁴ = (C/2) Σₙ ((qₙ₊₁ − qₙ)² + (pₙ₊₁ − pₙ)²) − (γ/8) Σₙ (qₙ² + pₙ²)²,
 *
 * so that i ψ̇ₙ = −C(ψₙ₊₁ + ψₙ₋₁ − 2ψₙ) − γ|ψₙ|²ψₙ. H couples qₙ and pₙ (not separable: use midpoint or gauss4/6).
 * Its U(1) symmetry ψ ↦ e^{iα}ψ conserves the norm N = Σₙ |ψₙ|² = Σₙ (qₙ² + pₙ²)/2 — a quadratic invariant,
 * which the Gauss–Legendre methods conserve to rounding. The initial state is a localised breather-like bump on
 * a small uniform background (parameters C and gamma).
 *
 * @example
 * const { hamiltonian: h, q0, p0, dt, invariants } = dnls({ sites: 32 });
 * const st = await compile(h, { method: 'gauss4', dt, backend: 'cpu' });
 */
export function dnls(options: { sites?: number; C?: number; gamma?: number } = {}): Model {
  const sites = options.sites ?? 32;
  const s = phaseSpace(sites);
  const shifted = (v: Expr) => stack(Array.from({ length: sites }, (_, n) => index(v, (n + 1) % sites)));
  const dq = sub(shifted(s.q), s.q), dp = sub(shifted(s.p), s.p);
  const density = add(mul(s.q, s.q), mul(s.p, s.p)); // 2|ψₙ|² per site
  const H = sub(mul(mul(0.5, param('C')), add(dot(dq, dq), dot(dp, dp))), mul(mul(0.125, param('gamma')), dot(density, density)));
  const q0: number[] = [], p0: number[] = [];
  for (let n = 0; n < sites; n++) {
    const bump = 1.5 / Math.cosh(0.8 * (n - sites / 2));
    q0.push(bump + 0.05 * Math.cos((2 * Math.PI * n) / sites));
    p0.push(0.05 * Math.sin((2 * Math.PI * n) / sites));
  }
  return {
    name: `dnls-${sites}`,
    hamiltonian: hamiltonian(s, H, { params: { C: options.C ?? 1, gamma: options.gamma ?? 1 } }),
    q0,
    p0,
    dt: 0.01,
    invariants: { norm: mul(0.5, add(dot(s.q, s.q), dot(s.p, s.p))) },
  };
}
