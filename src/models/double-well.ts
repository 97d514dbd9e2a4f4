import { add, mul, powi, sub } from '../ir/build.js';
import { hamiltonian, phaseSpace } from '../system/dsl.js';
import type { Model } from './model.js';

/**
 * Quartic double well H = p²/2 + q⁴/4 − q²/2: minima at q = ±1 (energy −1/4) and a barrier at q = 0 (energy 0).
 * The default start q = 1.5, p = 0 has energy 9/64 ≈ 0.14 above the barrier, so the orbit swings through both
 * wells (between q = −1.5 and 1.5); a start with negative energy stays in one well. No invariants besides H.
 *
 * @example
 * const { hamiltonian: h, q0, p0, dt } = doubleWell();
 * const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
 * await st.run({ q0, p0, steps: 1000 });
 */
export function doubleWell(): Model {
  const s = phaseSpace(1);
  const [x] = s.qs, [p] = s.ps;
  const H = add(mul(0.5, powi(p!, 2)), sub(mul(0.25, powi(x!, 4)), mul(0.5, powi(x!, 2))));
  return {
    name: 'double-well',
    hamiltonian: hamiltonian(s, H, { names: { q: ['x'], p: ['px'] } }),
    q0: [1.5],
    p0: [0],
    dt: 0.05,
    invariants: {},
  };
}
