/** Systems with tensor parameters for the per-trajectory parameter tests (CPU in test/unit, GPU in test/gpu). */
import { add, dot, hamiltonian, index, matvec, mul, param, phaseSpace, sub, type Hamiltonian } from '../../src/index.js';

/**
 * Two anharmonic oscillators with a vector of squared frequencies and a 2 × 2 coupling matrix:
 * H = Σ p_i²/2 + Σ w_i q_i²/2 + qᵀ C q / 4 + lam (x² y − y³/3).
 *
 * @example
 * const h = coupledOscillators(); // params w [2], C [2, 2], lam
 */
export function coupledOscillators(): Hamiltonian {
  const s = phaseSpace(2);
  const x = index(s.q, 0), y = index(s.q, 1), px = index(s.p, 0), py = index(s.p, 1);
  const w = param('w', [2]), C = param('C', [2, 2]), lam = param('lam');
  const kinetic = mul(0.5, add(mul(px, px), mul(py, py)));
  const potential = mul(0.5, add(mul(index(w, 0), mul(x, x)), mul(index(w, 1), mul(y, y))));
  const coupling = dot(s.q, matvec(C, s.q)); // tensor ops on the parameter (loops over its elements)
  const cubic = mul(lam, sub(mul(mul(x, x), y), mul(1 / 3, mul(y, mul(y, y)))));
  return hamiltonian(s, add(add(kinetic, potential), add(mul(0.25, coupling), cubic)), { params: { w: [1, 1.4], C: [0.1, 0.02, 0.02, -0.05], lam: 1 } });
}

/** Per-trajectory w (batch·2) and C (batch·4) for `batch` trajectories, and bounded starts. */
export function tensorSweep(batch: number) {
  const w = new Float64Array(2 * batch), C = new Float64Array(4 * batch);
  const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch);
  for (let b = 0; b < batch; b++) {
    w[2 * b] = 0.8 + 0.1 * b; w[2 * b + 1] = 1.5 - 0.07 * b;
    C.set([0.1 * Math.cos(b), 0.03 * b, 0.03 * b, -0.05 + 0.01 * b], 4 * b);
    q0[2 * b] = 0.1 + 0.02 * b; q0[2 * b + 1] = -0.05;
    p0[2 * b] = 0.1; p0[2 * b + 1] = 0.2 - 0.01 * b;
  }
  return { w, C, q0, p0, batch };
}
