import { add, div, mul, param, powi, sub } from '../ir/build.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * Planar Kepler problem in polar coordinates (r, φ; p_r, p_φ): H = p_r²/2 + p_φ²/(2r²) − k/r. Same orbit as
 * `kepler`: semi-major axis 1, eccentricity e, started at perihelion (r = 1 − e, φ = 0, p_r = 0,
 * p_φ = √(k(1 − e²))). The centrifugal term couples r and p_φ, so H is not separable (use midpoint or
 * gauss4/gauss6). φ is cyclic, so the angular momentum p_φ is conserved: a linear invariant, which every
 * Runge–Kutta method (Gauss–Legendre included) conserves exactly.
 *
 * @example
 * const { hamiltonian: h, q0, p0, invariants } = keplerPolar({ eccentricity: 0.3 });
 * const st = await compile(h, { method: 'gauss4', dt: 0.01, backend: 'cpu' });
 * const { p } = await st.run({ q0, p0, steps: 1000 }); // p[1] === p0[1]
 */
export function keplerPolar(options: { eccentricity?: number; k?: number } = {}): Model {
  const e = options.eccentricity ?? 0.6;
  const k = options.k ?? 1;
  const s = phaseSpace(2);
  const [r] = s.qs as [typeof s.q];
  const [pr, pphi] = s.ps as [typeof s.q, typeof s.q];
  const H = sub(add(mul(0.5, powi(pr, 2)), div(powi(pphi, 2), mul(2, powi(r, 2)))), div(param('k'), r));
  return {
    name: 'kepler (polar)',
    hamiltonian: hamiltonian(s, H, { params: { k }, names: { q: ['r', 'phi'], p: ['p_r', 'p_phi'] } }),
    q0: [1 - e, 0],
    p0: [0, Math.sqrt(k * (1 - e * e))],
    dt: 0.01,
    invariants: { angularMomentum: pphi },
  };
}
