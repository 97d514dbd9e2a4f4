import { describe, expect, it } from 'vitest';
import { compile, henonHeiles, type Stepper } from '../../src/index.js';
import { refusal } from './run-fixtures.js';
import { lambdaSweep, twoParameters } from './sweep-fixtures.js';

describe('per-trajectory parameters on the CPU (run({ params }))', () => {
  it('a λ sweep in one run equals each value run on its own: bit for bit, and to rounding against a compile per value', async () => {
    const h = henonHeiles().hamiltonian;
    const { q0, p0, batch, lam } = lambdaSweep(12);
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const fractions: number[] = [];
    const swept = await st.run({ q0, p0, steps: 300, batch, params: { lam }, record: 100, onProgress: (p) => fractions.push(p.fraction) });
    expect(fractions.at(-1)).toBe(1);
    const aborted = new AbortController();
    aborted.abort();
    await expect(st.run({ q0, p0, steps: 300, batch, params: { lam }, signal: aborted.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    for (let b = 0; b < batch; b++) {
      const q1 = q0.slice(2 * b, 2 * b + 2), p1 = p0.slice(2 * b, 2 * b + 2);
      // The same kernel, one trajectory: exactly the same arithmetic.
      const alone = await st.run({ q0: q1, p0: p1, steps: 300, record: 100, params: { lam: [lam[b]!] } });
      expect(Array.from(swept.q.subarray(2 * b, 2 * b + 2))).toEqual(Array.from(alone.q));
      expect(Array.from(swept.p.subarray(2 * b, 2 * b + 2))).toEqual(Array.from(alone.p));
      for (let k = 0; k < 3; k++) expect(swept.record!.q[k * 2 * batch + 2 * b]).toBe(alone.record!.q[2 * k]);
      // A stepper compiled for this λ folds it into its constants (λ·(−1/3) is one constant there): equal to rounding.
      const one = await compile(h.withParams({ lam: lam[b]! }), { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
      const compiled = await one.run({ q0: q1, p0: p1, steps: 300 });
      for (let i = 0; i < 2; i++) {
        expect(Math.abs(swept.q[2 * b + i]! - compiled.q[i]!)).toBeLessThan(1e-12);
        expect(Math.abs(swept.p[2 * b + i]! - compiled.p[i]!)).toBeLessThan(1e-12);
      }
    }
  });

  it('an implicit method and a plain number (the same value for every trajectory, this run only)', async () => {
    const h = twoParameters();
    const q0 = [0.4, -0.3, 0.8], p0 = [0.1, 0.5, -0.2];
    const st = await compile(h, { method: 'midpoint', dt: 0.1, backend: 'cpu' });
    const overridden = await st.run({ q0, p0, steps: 50, batch: 3, params: { eps: 0.3, k: [0.5, 1, 2] } });
    for (let b = 0; b < 3; b++) {
      const one = await compile(h.withParams({ eps: 0.3, k: [0.5, 1, 2][b]! }), { method: 'midpoint', dt: 0.1, backend: 'cpu' });
      const alone = await one.run({ q0: [q0[b]!], p0: [p0[b]!], steps: 50 });
      expect(overridden.q[b]).toBeCloseTo(alone.q[0]!, 13);
      expect(overridden.p[b]).toBeCloseTo(alone.p[0]!, 13);
    }
    // The compiled values are untouched by the override.
    const plain = await st.run({ q0, p0, steps: 50, batch: 3 });
    const again = await compile(h, { method: 'midpoint', dt: 0.1, backend: 'cpu' });
    expect(Array.from(plain.q)).toEqual(Array.from((await again.run({ q0, p0, steps: 50, batch: 3 })).q));
  });

  it('onFailure: report names the trajectories a large λ makes escape', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const q0 = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], p0 = [0.3, 0, 0.3, 0, 0.3, 0];
    const result = await st.run({ q0, p0, steps: 2000, batch: 3, params: { lam: [0.1, 3, 0.1] }, onFailure: 'report' });
    expect(result.status!.map((s) => s.ok)).toEqual([true, false, true]);
    await expect(st.run({ q0, p0, steps: 2000, batch: 3, params: { lam: [0.1, 3, 0.1] } })).rejects.toMatchObject({ code: 'NONFINITE', details: { trajectory: 1 } });
  });

  it('refuses unknown names (closest one named), tensors, wrong lengths and non-finite values', async () => {
    const st = await compile(twoParameters(), { method: 'leapfrog', dt: 0.1, backend: 'cpu' });
    const base = { q0: [0.1, 0.2], p0: [0, 0], steps: 5, batch: 2 };
    const unknown = await refusal(() => st.run({ ...base, params: { eps2: [1, 2] } }));
    expect(unknown.code).toBe('OPTION');
    expect(unknown.message).toContain("did you mean 'eps'");
    // A tensor parameter (w has 2 elements) takes batch·2 values: 2 are too few.
    const tensor = await refusal(() => st.run({ ...base, params: { w: [1, 2] } }));
    expect(tensor).toMatchObject({ code: 'INPUT', details: { array: 'params.w', expected: 4 } });
    expect((await refusal(() => st.run({ ...base, params: { w: 1 } }))).code).toBe('INPUT');
    expect((await refusal(() => st.run({ ...base, params: [1, 2] as never }))).code).toBe('OPTION');
    const short = await refusal(() => st.run({ ...base, params: { k: [1, 2, 3] } }));
    expect(short.code).toBe('INPUT');
    expect(short.message).toContain('params.k');
    const nan = await refusal(() => st.run({ ...base, params: { k: [1, NaN] } }));
    expect(nan).toMatchObject({ code: 'INPUT', details: { array: 'params.k', index: 1 } });
    expect((await refusal(() => st.run({ ...base, params: { eps: Infinity } }))).code).toBe('INPUT');
  });

  for (const method of ['leapfrog', 'midpoint']) it(`sections and saveAt of a 2-value sweep (${method}) equal each value run on its own, bit for bit, and a compile per value to rounding`, async () => {
    const h = henonHeiles().hamiltonian;
    const q0 = [0.1, 0, -0.2, 0], p0 = [0.2, 0.4, 0.1, 0.35], lam = [0.6, 1.1];
    const st = await compile(h, { method, dt: 0.05, backend: 'cpu' });
    // The section reads λ too: the crossing locator must see each trajectory's own value.
    const section = { expr: 'y + 0.02*lam', direction: 1 as const, max: 40 };
    const options = { steps: 2000, section, saveAtSteps: [0, 700, 2000] };
    const swept = await st.run({ q0, p0, batch: 2, params: { lam }, ...options });
    const sec = swept.section!;
    for (let b = 0; b < 2; b++) {
      const q1 = q0.slice(2 * b, 2 * b + 2), p1 = p0.slice(2 * b, 2 * b + 2);
      const alone = await st.run({ q0: q1, p0: p1, params: { lam: [lam[b]!] }, ...options });
      expect(sec.count[b]).toBe(alone.section!.count[0]);
      expect(sec.count[b]).toBeGreaterThan(5);
      expect(Array.from(sec.t.subarray(40 * b, 40 * (b + 1)))).toEqual(Array.from(alone.section!.t));
      expect(Array.from(sec.q.subarray(80 * b, 80 * (b + 1)))).toEqual(Array.from(alone.section!.q));
      expect(Array.from(sec.p.subarray(80 * b, 80 * (b + 1)))).toEqual(Array.from(alone.section!.p));
      for (let k = 0; k < 3; k++) expect(Array.from(swept.saved!.q.subarray(4 * k + 2 * b, 4 * k + 2 * b + 2))).toEqual(Array.from(alone.saved!.q.subarray(2 * k, 2 * k + 2)));
      expect(Array.from(swept.q.subarray(2 * b, 2 * b + 2))).toEqual(Array.from(alone.q));
      // A stepper compiled for this λ alone (λ folded into its constants, the probe with its compiled value).
      const one = await compile(h.withParams({ lam: lam[b]! }), { method, dt: 0.05, backend: 'cpu' });
      const compiled = (await one.run({ q0: q1, p0: p1, ...options })).section!;
      expect(compiled.count[0]).toBe(sec.count[b]);
      for (let k = 0; k < compiled.count[0]!; k++) {
        expect(Math.abs(compiled.t[k]! - sec.t[40 * b + k]!)).toBeLessThan(1e-9);
        // On the section: y = −0.02·λ at each crossing.
        expect(Math.abs(sec.q[80 * b + 2 * k + 1]! + 0.02 * lam[b]!)).toBeLessThan(1e-12);
      }
    }
    // The two values give different sections (the sweep is not running one λ for both).
    expect(sec.q[1]).not.toBe(sec.q[81]);
  });
});

describe('per-trajectory parameter gradients on the CPU (vjp({ params }))', () => {
  /** Trajectory b's ⟨dq, q_N⟩ + ⟨dp, p_N⟩ for the given k values. */
  async function objective(st: Stepper, o: { q0: number[]; p0: number[]; dq: number[]; dp: number[]; steps: number }, k: number[]) {
    const { q, p } = await st.run({ q0: o.q0, p0: o.p0, steps: o.steps, batch: k.length, params: { k } });
    return k.map((_, b) => o.dq[b]! * q[b]! + o.dp[b]! * p[b]!);
  }

  for (const method of ['leapfrog', 'midpoint', 'rk4']) {
    it(`${method}: dparams.k per trajectory matches central differences; the other gradients are summed as before`, async () => {
      const st = await compile(twoParameters(), { method, dt: 0.1, backend: 'cpu' });
      const o = { q0: [0.4, -0.3, 0.8], p0: [0.1, 0.5, -0.2], dq: [1, 0.5, -0.7], dp: [0.3, -1, 0.2], steps: 40 };
      const k = [0.5, 1.3, 2];
      const result = await st.vjp({ ...o, batch: 3, params: { k } });
      const dk = result.dparams.k as Float64Array;
      expect(dk).toBeInstanceOf(Float64Array);
      const e = 1e-6;
      for (let b = 0; b < 3; b++) {
        const up = await objective(st, o, k.map((v, i) => (i === b ? v + e : v)));
        const down = await objective(st, o, k.map((v, i) => (i === b ? v - e : v)));
        expect(dk[b]).toBeCloseTo((up[b]! - down[b]!) / (2 * e), 6);
      }
      // k = 1.3 for every trajectory: the per-trajectory gradients sum to the plain vjp's, eps and w agree.
      const same = await st.vjp({ ...o, batch: 3, params: { k: 1.3 } });
      const plain = await st.vjp({ ...o, batch: 3 });
      expect((same.dparams.k as Float64Array).reduce((s, v) => s + v, 0)).toBeCloseTo(plain.dparams.k as number, 11);
      expect(same.dparams.eps as number).toBeCloseTo(plain.dparams.eps as number, 11);
      expect(Array.from(same.dparams.w as Float64Array).map((v, i) => v - (plain.dparams.w as Float64Array)[i]!).every((d) => Math.abs(d) < 1e-11)).toBe(true);
      expect(Array.from(same.dq0)).toEqual(Array.from(plain.dq0));
    });
  }
});
