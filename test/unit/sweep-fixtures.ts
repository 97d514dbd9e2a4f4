/** Shared inputs of the per-trajectory parameter tests (CPU in test/unit, GPU in test/gpu). */
import { add, hamiltonian, index, mul, param, phaseSpace, sum, type Hamiltonian } from '../../src/index.js';

/**
 * A batch of Hénon–Heiles states, each with its own λ in [0.2, 1.2], bounded for a few hundred steps at dt = 0.05.
 *
 * @example
 * const { q0, p0, batch, lam } = lambdaSweep(16);
 */
export function lambdaSweep(batch: number) {
  const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch), lam = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    q0[2 * b] = 0.1 + 0.2 * Math.sin(1.3 * b); q0[2 * b + 1] = -0.1 + 0.1 * Math.cos(0.7 * b);
    p0[2 * b] = 0.2 * Math.cos(b); p0[2 * b + 1] = 0.15;
    lam[b] = 0.2 + b / Math.max(1, batch - 1);
  }
  return { q0, p0, batch, lam };
}

/**
 * A 1-dof oscillator with two scalar parameters and a tensor one: H = p²/2 + k q²/2 + eps q⁴ + w·(q, q²) (w a 2-vector).
 *
 * @example
 * const h = twoParameters(); // params k, eps, w
 */
export function twoParameters(): Hamiltonian {
  const s = phaseSpace(1);
  const q = sum(s.q), p = sum(s.p);
  const w = param('w', [2]);
  const wTerm = add(mul(index(w, 0), q), mul(index(w, 1), mul(q, q)));
  const H = add(add(mul(0.5, mul(p, p)), mul(mul(0.5, param('k')), mul(q, q))), add(mul(param('eps'), mul(mul(q, q), mul(q, q))), wTerm));
  return hamiltonian(s, H, { params: { k: 1.3, eps: 0.1, w: [0.05, -0.02] } });
}
