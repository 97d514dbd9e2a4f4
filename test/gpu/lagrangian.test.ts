/**
 * Lagrangian steppers on the GPU: the variational steps and rk4 on the Euler–Lagrange equations go through the
 * same WGSL lowering as the Hamiltonian methods (f32), agree with the f64 CPU backend to f32 accuracy, keep the
 * discrete charge to f32 rounding, and differentiate (st.vjp) like the CPU.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, lagrangian, noetherCharge } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { doublePendulumLagrangian, keplerLagrangian } from '../unit/lagrangian-fixtures.js';

afterAll(() => releaseGpu());

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));

describe('Lagrangian steppers on the GPU', () => {
  for (const method of ['variationalMidpoint', 'variationalTrapezoid', 'rk4']) {
    it(`${method} agrees with the f64 CPU backend (Kepler and the double pendulum)`, async () => {
      for (const [L, q0, v0] of [
        [keplerLagrangian(), [1, 0, 0.8, 0.1], [0, 1.1, 0.2, 1.0]],
        [doublePendulumLagrangian(), [0.6, -0.4, 0.1, 0.2], [0.5, 1.0, -0.3, 0.4]],
      ] as const) {
        const gpu = await compile(L, { method, dt: 0.01, backend: 'gpu' });
        const cpu = await compile(L, { method, dt: 0.01, backend: 'cpu' });
        expect(gpu.backend).toBe('gpu');
        expect(gpu.source).toMatch(/fn main/);
        const [rg, rc] = [await gpu.run({ q0, v0, steps: 500, batch: 2 }), await cpu.run({ q0, v0, steps: 500, batch: 2 })];
        expect(maxDiff(rg.q, rc.q), method).toBeLessThan(2e-4);
        expect(maxDiff(rg.v, rc.v), method).toBeLessThan(2e-3);
        const x = { q0: q0.slice(0, 2), v0: v0.slice(0, 2), steps: 10, dq: [1, 0.5], dv: [0.2, 1], dp: [0.3, -0.4] };
        const [g, c] = [await gpu.vjp(x), await cpu.vjp(x)];
        expect(maxDiff([...g.dq0, ...g.dv0], [...c.dq0, ...c.dv0]), method).toBeLessThan(1e-4);
      }
    });
  }

  it('integrates a relativistic particle through p/m = 3 in f32 (the continuation predictor in WGSL), as the CPU does', async () => {
    const L = lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: '-sqrt(1 - vx^2 - vy^2) - (x^2+y^2)/2' });
    const q0 = [0, 0.1], v0 = [0.95, 0.05];
    for (const method of ['variationalMidpoint', 'variationalTrapezoid']) {
      const gpu = await compile(L, { method, dt: 0.01, backend: 'gpu' });
      const cpu = await compile(L, { method, dt: 0.01, backend: 'cpu' });
      const [rg, rc] = [await gpu.run({ q0, v0, steps: 300 }), await cpu.run({ q0, v0, steps: 300 })];
      expect(maxDiff(rg.q, rc.q), method).toBeLessThan(1e-3);
      const angular = (q: ArrayLike<number>, p: ArrayLike<number>) => q[0]! * p[1]! - q[1]! * p[0]!;
      expect(Math.abs(angular(rg.q, rg.p) - angular(q0, L.momenta(q0, v0))), method).toBeLessThan(1e-5);
    }
  });

  it('keeps the discrete angular momentum of Kepler to f32 rounding (variational midpoint)', async () => {
    const L = keplerLagrangian();
    const st = await compile(L, { method: 'variationalMidpoint', dt: 0.01, backend: 'gpu' });
    const r = await st.run({ q0: [1, 0], v0: [0, 1.1], steps: 2000 });
    expect(Math.abs(noetherCharge({ rotation: [0, 1] }, r.q, r.p) - 1.1)).toBeLessThan(2e-5);
  });
});
