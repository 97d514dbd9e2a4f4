import { div, dot, mul, param, sqrt, sub } from '../ir/build.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * Planar Kepler problem in Cartesian coordinates, H = |p|²/2 − k/|q|, started at perihelion of an orbit with
 * semi-major axis 1 and eccentricity e. Conserves the angular momentum L = x·p_y − y·p_x.
 *
 * @example
 * const { hamiltonian: h, q0, p0 } = kepler({ eccentricity: 0.6 });
 */
export function kepler(options: { eccentricity?: number; k?: number } = {}): Model {
  const e = options.eccentricity ?? 0.6;
  const k = options.k ?? 1;
  const s = phaseSpace(2);
  const [x, y] = s.qs as [typeof s.q, typeof s.q];
  const [px, py] = s.ps as [typeof s.q, typeof s.q];
  const H = sub(mul(0.5, dot(s.p, s.p)), div(param('k'), sqrt(dot(s.q, s.q))));
  return {
    name: 'kepler',
    hamiltonian: hamiltonian(s, H, { params: { k }, names: { q: ['x', 'y'], p: ['px', 'py'] } }),
    q0: [1 - e, 0],
    p0: [0, Math.sqrt((k * (1 + e)) / (1 - e))],
    dt: 0.01,
    invariants: { angularMomentum: sub(mul(x, py), mul(y, px)) },
  };
}
