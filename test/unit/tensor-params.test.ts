/** Tensor parameters given per trajectory on the CPU: run, sections and vjp against each value alone and finite differences. */
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { coupledOscillators, tensorSweep } from './tensor-param-fixtures.js';

const slice = (a: ArrayLike<number>, b: number, k: number) => Array.from(a).slice(b * k, (b + 1) * k);

describe('tensor parameters per trajectory on the CPU', () => {
  for (const method of ['leapfrog', 'midpoint']) {
    it(`${method}: a sweep over w [2] and C [2, 2] equals each trajectory run alone (bit for bit) and compiled with its values (rounding)`, async () => {
      const h = coupledOscillators();
      const { w, C, q0, p0, batch } = tensorSweep(4);
      const st = await compile(h, { method, dt: 0.05, backend: 'cpu' });
      const swept = await st.run({ q0, p0, batch, steps: 300, params: { w, C, lam: 0.8 } });
      for (let b = 0; b < batch; b++) {
        const alone = await st.run({ q0: slice(q0, b, 2), p0: slice(p0, b, 2), steps: 300, params: { w: slice(w, b, 2), C: slice(C, b, 4), lam: 0.8 } });
        expect(slice(swept.q, b, 2)).toEqual(Array.from(alone.q));
        expect(slice(swept.p, b, 2)).toEqual(Array.from(alone.p));
        const one = await compile(h.withParams({ w: slice(w, b, 2), C: slice(C, b, 4), lam: 0.8 }), { method, dt: 0.05, backend: 'cpu' });
        const compiled = await one.run({ q0: slice(q0, b, 2), p0: slice(p0, b, 2), steps: 300 });
        for (let i = 0; i < 2; i++) expect(Math.abs(swept.q[2 * b + i]! - compiled.q[i]!)).toBeLessThan(1e-11);
      }
      // Different values give different trajectories (each reads its own block, not trajectory 0's).
      const shared = await st.run({ q0, p0, batch, steps: 300, params: { lam: 0.8 } });
      expect(Math.abs(swept.q[6]! - shared.q[6]!)).toBeGreaterThan(1e-3);
    });
  }

  it('sections and saved steps of a tensor sweep equal each trajectory alone', async () => {
    const h = coupledOscillators();
    const { w, C, q0, p0, batch } = tensorSweep(3);
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const options = { steps: 1000, section: { expr: 'q1', direction: 1 as const, max: 30 }, saveAtSteps: [500] };
    const swept = await st.run({ q0, p0, batch, params: { w, C }, ...options });
    for (let b = 0; b < batch; b++) {
      const alone = await st.run({ q0: slice(q0, b, 2), p0: slice(p0, b, 2), params: { w: slice(w, b, 2), C: slice(C, b, 4) }, ...options });
      expect(swept.section!.count[b]).toBe(alone.section!.count[0]);
      expect(swept.section!.count[b]).toBeGreaterThan(3);
      expect(slice(swept.section!.t, b, 30)).toEqual(Array.from(alone.section!.t));
      expect(slice(swept.saved!.q, b, 2)).toEqual(Array.from(alone.saved!.q));
    }
  });

  for (const method of ['leapfrog', 'midpoint']) {
    it(`${method}: vjp gives dparams.w (batch·2) and dparams.C (batch·4) per trajectory, equal to central differences`, async () => {
      const h = coupledOscillators();
      const { w, C, q0, p0, batch } = tensorSweep(3);
      const st = await compile(h, { method, dt: 0.05, backend: 'cpu' });
      const dq = [1, -0.5, 0.3, 0.7, -1, 0.2], dp = [0.4, 0.1, -0.3, 0.5, 0.2, -0.6];
      const steps = 60;
      const r = await st.vjp({ q0, p0, batch, steps, dq, dp, params: { w, C } });
      const dw = r.dparams.w as Float64Array, dC = r.dparams.C as Float64Array;
      expect([dw.length, dC.length]).toEqual([2 * batch, 4 * batch]);
      const objective = async (wv: Float64Array, Cv: Float64Array) => {
        const { q, p } = await st.run({ q0, p0, batch, steps, params: { w: wv, C: Cv } });
        return Array.from({ length: batch }, (_, b) => [0, 1].reduce((s, i) => s + dq[2 * b + i]! * q[2 * b + i]! + dp[2 * b + i]! * p[2 * b + i]!, 0));
      };
      const e = 1e-6;
      for (const [values, grad, k] of [[w, dw, 2], [C, dC, 4]] as const) {
        for (let at = 0; at < values.length; at++) {
          const up = Float64Array.from(values), down = Float64Array.from(values);
          up[at] += e;
          down[at] -= e;
          const [fu, fd] = values === w ? [await objective(up, C), await objective(down, C)] : [await objective(w, up), await objective(w, down)];
          const b = Math.floor(at / k);
          expect(grad[at]).toBeCloseTo((fu[b]! - fd[b]!) / (2 * e), 6);
          // Only trajectory b depends on its own element.
          for (let other = 0; other < batch; other++) if (other !== b) expect(Math.abs(fu[other]! - fd[other]!)).toBe(0);
        }
      }
      expect(Math.max(...Array.from(dC).map(Math.abs))).toBeGreaterThan(1e-3);
      // The same values for every trajectory: the per-trajectory gradients sum to the plain vjp's.
      const same = await st.vjp({ q0, p0, batch, steps, dq, dp, params: { w: [1, 1.4, 1, 1.4, 1, 1.4] } });
      const plain = await st.vjp({ q0, p0, batch, steps, dq, dp });
      const summed = [0, 1].map((i) => [0, 1, 2].reduce((s, b) => s + (same.dparams.w as Float64Array)[2 * b + i]!, 0));
      for (let i = 0; i < 2; i++) expect(summed[i]).toBeCloseTo((plain.dparams.w as Float64Array)[i]!, 11);
    });
  }
});
