import { add, div, dot, mul, param, powi, sub } from '../ir/build.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * Hénon–Heiles: H = (px² + py²)/2 + (x² + y²)/2 + λ(x²y − y³/3), started in the bounded regime (E ≈ 0.08 < 1/6).
 *
 * @example
 * const { hamiltonian: h } = henonHeiles({ lambda: 1 });
 */
export function henonHeiles(options: { lambda?: number } = {}): Model {
  const s = phaseSpace(2);
  const [x, y] = s.qs as [typeof s.q, typeof s.q];
  const H = add(
    add(mul(0.5, dot(s.p, s.p)), mul(0.5, dot(s.q, s.q))),
    mul(param('lam'), sub(mul(powi(x, 2), y), div(powi(y, 3), 3))),
  );
  return {
    name: 'henon-heiles',
    hamiltonian: hamiltonian(s, H, { params: { lam: options.lambda ?? 1 }, names: { q: ['x', 'y'], p: ['px', 'py'] } }),
    q0: [0.1, -0.2],
    p0: [0.3, 0.2],
    dt: 0.05,
    invariants: {},
  };
}
