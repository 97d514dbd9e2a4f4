import { describe, expect, it } from 'vitest';
import { compile, fpuChain, graphSize } from '../../src/index.js';

describe('FPU-β chain (bonds as an edge sum on a ring)', () => {
  it('has the FPU equations of motion, a graph independent of the length, and a separable H', () => {
    const beta = 0.7, N = 16;
    const model = fpuChain({ sites: N, beta, amplitude: 0.3 });
    const h = model.hamiltonian;
    expect(h.isSeparable).toBe(true);
    // A perturbed state (not the pure mode) so every term is exercised.
    const q = model.q0.map((x, n) => x + 0.05 * Math.cos(1.3 * n));
    const p = model.q0.map((_, n) => 0.1 * Math.sin(0.7 * n));
    const u = q.map((x, n) => x - n);
    const { dq } = h.gradient(q, p);
    for (let n = 0; n < N; n++) {
      const right = u[(n + 1) % N]! - u[n]!, left = u[n]! - u[(n + N - 1) % N]!;
      const force = right - left + beta * (right ** 3 - left ** 3);
      expect(-dq[n]!).toBeCloseTo(force, 12);
    }
    const energy = p.reduce((s, x) => s + x * x / 2, 0) + u.reduce((s, _, n) => {
      const r = u[(n + 1) % N]! - u[n]!;
      return s + r * r / 2 + beta * r ** 4 / 4;
    }, 0);
    expect(h.energy(q, p)).toBeCloseTo(energy, 12);
    expect(graphSize([fpuChain({ sites: 1000 }).hamiltonian.H])).toBe(graphSize([h.H]));
  });

  it('leapfrog keeps the total momentum to rounding and the energy bounded over 10⁴ steps', async () => {
    const model = fpuChain({ sites: 32, beta: 1, amplitude: 1 });
    const h = model.hamiltonian;
    const st = await compile(h, { method: 'leapfrog', dt: model.dt, backend: 'cpu' });
    const p0 = model.q0.map((_, n) => 0.01 * Math.cos(n)); // a small net momentum
    const P0 = p0.reduce((s, x) => s + x, 0);
    const res = await st.run({ q0: model.q0, p0, steps: 10_000, record: 100 });
    const e0 = h.energy(model.q0, p0);
    let worst = 0;
    for (let k = 0; k < res.record!.count; k++) {
      const at = k * 32;
      worst = Math.max(worst, Math.abs(h.energy(res.record!.q.subarray(at, at + 32), res.record!.p.subarray(at, at + 32)) - e0));
    }
    expect(worst / e0).toBeLessThan(1e-2);
    expect(Math.abs(res.p.reduce((s, x) => s + x, 0) - P0)).toBeLessThan(1e-12);
    st.dispose();
  });
});
