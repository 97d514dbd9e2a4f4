/** Tensor parameters given per trajectory on the GPU: run, device states, sections and vjp against the CPU and each value compiled alone. */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, index, mul, sub } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { coupledOscillators, tensorSweep } from '../unit/tensor-param-fixtures.js';

afterAll(() => releaseGpu());

const slice = (a: ArrayLike<number>, b: number, k: number) => Array.from(a).slice(b * k, (b + 1) * k);
const worst = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('tensor parameters per trajectory on the GPU', () => {
  for (const method of ['leapfrog', 'midpoint']) {
    it(`${method}: a sweep over w [2] and C [2, 2] equals the CPU sweep and each value compiled alone (f32 tolerance); a device state gives the same`, async () => {
      const h = coupledOscillators();
      const { w, C, q0, p0, batch } = tensorSweep(6);
      const params = { w, C, lam: 0.8 };
      const gpu = await compile(h, { method, dt: 0.05, backend: 'gpu' });
      const cpu = await compile(h, { method, dt: 0.05, backend: 'cpu' });
      const swept = await gpu.run({ q0, p0, batch, steps: 300, params });
      const reference = await cpu.run({ q0, p0, batch, steps: 300, params });
      expect(worst(swept.q, reference.q)).toBeLessThan(2e-4);
      expect(worst(swept.p, reference.p)).toBeLessThan(2e-4);
      for (const b of [0, 5]) {
        const one = await compile(h.withParams({ w: slice(w, b, 2), C: slice(C, b, 4), lam: 0.8 }), { method, dt: 0.05, backend: 'gpu' });
        const alone = await one.run({ q0: slice(q0, b, 2), p0: slice(p0, b, 2), steps: 300 });
        expect(worst(slice(swept.q, b, 2), alone.q)).toBeLessThan(2e-4);
        one.dispose();
      }
      const shared = await gpu.run({ q0, p0, batch, steps: 300, params: { lam: 0.8 } });
      expect(Math.abs(swept.q[10]! - shared.q[10]!)).toBeGreaterThan(1e-3);
      const state = await gpu.upload(q0, p0, { batch });
      await gpu.run({ state, steps: 300, params });
      const down = await gpu.download(state);
      expect(Array.from(down.q)).toEqual(Array.from(swept.q));
      state.dispose();
      gpu.dispose();
      cpu.dispose();
    });
  }

  it('sections of a tensor sweep (the section reads w) equal the CPU ones to f32 tolerance', async () => {
    const h = coupledOscillators();
    const { w, C, q0, p0, batch } = tensorSweep(3);
    const wNode = h.params.find((node) => node.attrs.name === 'w')!;
    const expr = sub(index(h.q, 1), mul(0.01, index(wNode, 1))); // DSL: the formula syntax has no tensor indexing
    const options = { q0, p0, batch, steps: 1000, params: { w, C }, section: { expr, direction: 1 as const, max: 30 } };
    const [gpu, cpu] = [await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' }), await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' })];
    const [g, c] = [(await gpu.run(options)).section!, (await cpu.run(options)).section!];
    for (let b = 0; b < batch; b++) {
      expect(Math.abs(g.count[b]! - c.count[b]!)).toBeLessThanOrEqual(1);
      expect(c.count[b]).toBeGreaterThan(3);
      for (let k = 0; k < Math.min(g.count[b]!, c.count[b]!); k++) {
        const slot = 30 * b + k;
        expect(Math.abs(g.t[slot]! - c.t[slot]!)).toBeLessThan(1e-3);
        expect(Math.abs(g.q[2 * slot + 1]! - 0.01 * w[2 * b + 1]!)).toBeLessThan(1e-6); // on this trajectory's own section
      }
    }
    gpu.dispose();
  });

  it('vjp: dparams.w and dparams.C per trajectory equal the CPU ones (f32 tolerance)', async () => {
    const h = coupledOscillators();
    const { w, C, q0, p0, batch } = tensorSweep(4);
    const options = { q0, p0, batch, steps: 60, dq: Array.from({ length: 8 }, (_, i) => Math.cos(i)), dp: Array.from({ length: 8 }, (_, i) => Math.sin(i)), params: { w, C } };
    const [gpu, cpu] = [await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' }), await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' })];
    const [g, c] = [await gpu.vjp(options), await cpu.vjp(options)];
    for (const name of ['w', 'C']) {
      const a = g.dparams[name] as Float64Array, b = c.dparams[name] as Float64Array;
      expect(a.length).toBe(b.length);
      const scale = Math.max(...Array.from(b).map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      expect(worst(a, b) / scale).toBeLessThan(2e-3);
    }
    gpu.dispose();
  });
});
