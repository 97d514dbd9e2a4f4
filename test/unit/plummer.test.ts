import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, plummer } from '../../src/index.js';

/** Kinetic and potential energy of equal masses m with softening ε, written independently of the library. */
function energies(q: Float64Array, p: Float64Array, m: number, soft: number): { T: number; W: number } {
  const n = q.length / 3;
  let T = 0, W = 0;
  for (let i = 0; i < n; i++) {
    T += (p[3 * i]! ** 2 + p[3 * i + 1]! ** 2 + p[3 * i + 2]! ** 2) / (2 * m);
    for (let j = i + 1; j < n; j++) {
      const r2 = (q[3 * i]! - q[3 * j]!) ** 2 + (q[3 * i + 1]! - q[3 * j + 1]!) ** 2 + (q[3 * i + 2]! - q[3 * j + 2]!) ** 2;
      W -= (m * m) / Math.sqrt(r2 + soft * soft);
    }
  }
  return { T, W };
}

describe('softened N-body from a Plummer sphere', () => {
  it('is in Hénon units and virial equilibrium; H equals the hand-written energy', () => {
    const n = 512;
    const { system, q, p } = plummer({ n, seed: 3, softening: 0.01 });
    const { T, W } = energies(q, p, 1 / n, 0.01);
    expect(system.hamiltonian.energy(q, p)).toBeCloseTo(T + W, 12);
    expect(Math.abs(T + W + 0.25)).toBeLessThan(0.05); // E = −1/4 up to sampling noise
    expect(Math.abs((2 * T) / Math.abs(W) - 1)).toBeLessThan(0.15);
    for (const x of system.momentum(p)) expect(Math.abs(x)).toBeLessThan(1e-15);
    expect(plummer({ n, seed: 3 }).q).toEqual(q); // deterministic by seed
  });

  it('leapfrog keeps momentum and angular momentum to rounding (central pair forces) and the energy bounded', async () => {
    const { system, q, p } = plummer({ n: 64, seed: 5, softening: 0.05 });
    const h = system.hamiltonian;
    const st = await compile(h, { method: 'leapfrog', dt: 0.002, backend: 'cpu' });
    const { q: q1, p: p1 } = await st.run({ q0: q, p0: p, steps: 2000 });
    const L0 = system.angularMomentum(q, p), L1 = system.angularMomentum(q1, p1);
    for (let k = 0; k < 3; k++) expect(Math.abs(L1[k]! - L0[k]!)).toBeLessThan(1e-13);
    for (const x of system.momentum(p1)) expect(Math.abs(x)).toBeLessThan(1e-13);
    const e0 = h.energy(q, p);
    expect(Math.abs(h.energy(q1, p1) - e0) / Math.abs(e0)).toBeLessThan(1e-3);
    st.dispose();
  });

  it('refuses bad sizes and softening', () => {
    expect(() => plummer({ n: 1, seed: 0 })).toThrow(DarbouxError);
    expect(() => plummer({ n: 8, seed: 0, softening: 0 })).toThrow(expect.objectContaining({ code: 'SPEC' }));
  });
});
