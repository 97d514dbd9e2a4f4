import { add, cos, mul, param, powi, sub } from '../ir/build.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * Simple pendulum H = p²/2 + ω²(1 − cos q) (parameter omega2 = ω²).
 *
 * @example
 * const { hamiltonian: h } = pendulum({ omega2: 1 });
 */
export function pendulum(options: { omega2?: number } = {}): Model {
  const s = phaseSpace(1);
  const [theta] = s.qs, [p] = s.ps;
  const H = add(mul(0.5, powi(p!, 2)), mul(param('omega2'), sub(1, cos(theta!))));
  return {
    name: 'pendulum',
    hamiltonian: hamiltonian(s, H, { params: { omega2: options.omega2 ?? 1 }, names: { q: ['theta'], p: ['p_theta'] } }),
    q0: [2.0],
    p0: [0.0],
    dt: 0.05,
    invariants: {},
  };
}
