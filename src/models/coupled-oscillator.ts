import { add, dot, mul, param, powi, sub } from '../ir/build.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * A charged particle (unit mass and charge) in an isotropic harmonic trap and a uniform magnetic field B along z,
 * with the vector potential in the symmetric gauge A = (−B y/2, B x/2):
 *
 *   H = ((p_x + B y/2)² + (p_y − B x/2)²)/2 + ω²(x² + y²)/2.
 *
 * The kinetic momenta p − A(q) couple q and p, so H is not separable (use midpoint or gauss4/gauss6). H is
 * invariant under rotations about z, so the canonical angular momentum L = x p_y − y p_x is conserved — a
 * quadratic invariant, which the Gauss–Legendre methods conserve to rounding. The motion is a superposition of
 * two circular modes with frequencies √(ω² + B²/4) ± B/2 (parameters B and omega).
 *
 * @example
 * const { hamiltonian: h, q0, p0, dt, invariants } = coupledOscillator({ B: 2 });
 * const st = await compile(h, { method: 'midpoint', dt, backend: 'cpu' });
 * const L = compileJs([h.q, h.p], [invariants.angularMomentum!]);
 */
export function coupledOscillator(options: { B?: number; omega?: number } = {}): Model {
  const s = phaseSpace(2);
  const [x, y] = s.qs as [typeof s.q, typeof s.q];
  const [px, py] = s.ps as [typeof s.q, typeof s.q];
  const halfB = mul(0.5, param('B'));
  const kx = add(px, mul(halfB, y)), ky = sub(py, mul(halfB, x));
  const H = add(mul(0.5, add(powi(kx, 2), powi(ky, 2))), mul(mul(0.5, powi(param('omega'), 2)), dot(s.q, s.q)));
  return {
    name: 'charged particle in a magnetic field (harmonic trap, symmetric gauge)',
    hamiltonian: hamiltonian(s, H, {
      params: { B: options.B ?? 1, omega: options.omega ?? 1 },
      names: { q: ['x', 'y'], p: ['px', 'py'] },
    }),
    q0: [1, 0],
    p0: [0, 0.5],
    dt: 0.05,
    invariants: { angularMomentum: sub(mul(x, py), mul(y, px)) },
  };
}
