import { add, addAll, dot, index, mul, param, powi, sub, type Operand } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * N Lennard-Jones particles in the plane, written as an explicit pair sum with the DSL:
 * H = |p|²/2 + Σ_{i<j} 4ε((σ²/r²)⁶ − (σ²/r²)³). Positions are laid out (x₀, y₀, x₁, y₁, …); the initial state
 * is a square lattice at spacing 1.2σ with small deterministic momenta.
 *
 * @example
 * const { hamiltonian: h } = lennardJones({ particles: 32 });
 */
export function lennardJones(options: { particles?: number; epsilon?: number; sigma?: number } = {}): Model {
  const n = options.particles ?? 32;
  const s = phaseSpace(2 * n);
  const x = (i: number) => index(s.q, 2 * i), y = (i: number) => index(s.q, 2 * i + 1);
  const sigma2 = mul(param('sigma'), param('sigma'));
  const pairs: Operand[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const r2: Expr = add(powi(sub(x(i), x(j)), 2), powi(sub(y(i), y(j)), 2));
      const s6 = powi(mul(sigma2, powi(r2, -1)), 3);
      pairs.push(sub(powi(s6, 2), s6));
    }
  }
  const H = add(mul(0.5, dot(s.p, s.p)), mul(mul(4, param('epsilon')), addAll(pairs)));
  const side = Math.ceil(Math.sqrt(n));
  const q0: number[] = [], p0: number[] = [];
  for (let i = 0; i < n; i++) {
    q0.push(1.2 * (i % side), 1.2 * Math.floor(i / side));
    p0.push(0.05 * Math.sin(1.7 * i), 0.05 * Math.cos(2.3 * i));
  }
  return {
    name: `lennard-jones-${n}`,
    hamiltonian: hamiltonian(s, H, { params: { epsilon: options.epsilon ?? 1, sigma: options.sigma ?? 1 } }),
    q0,
    p0,
    dt: 0.002,
    invariants: {},
  };
}
