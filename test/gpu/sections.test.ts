/** `run({ section, saveAt })` on the GPU: crossings located and saved states written by the kernel, in f32. */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, henonHeiles, parse } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { henonHeilesSectionStarts } from '../unit/section-fixtures.js';

afterAll(() => releaseGpu());

const oscillator = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' });

describe('Poincaré sections on the GPU', () => {
  it('harmonic oscillator: crossing times of x = 0 match the closed form to f32 accuracy', async () => {
    const st = await compile(oscillator, { method: 'yoshida4', dt: 0.01, backend: 'gpu' });
    const r = await st.run({ q0: [1, 0.5], p0: [0, -0.5], batch: 2, steps: 2000, section: { expr: 'x', max: 8 } });
    const s = r.section!;
    expect(Array.from(s.count)).toEqual([6, 7]);
    for (let k = 0; k < 6; k++) {
      expect(Math.abs(s.t[k]! - (Math.PI / 2 + k * Math.PI))).toBeLessThan(2e-5);
      expect(Math.abs(s.t[8 + k]! - (Math.PI / 4 + k * Math.PI))).toBeLessThan(2e-5);
      expect(Math.abs(s.q[k]!)).toBeLessThan(1e-6);
    }
    const up = await st.run({ q0: [1], p0: [0], steps: 2000, section: { expr: 'x', direction: 1, max: 2 } });
    expect([up.section!.count[0], up.section!.overflowed[0]]).toEqual([2, 1]);
    expect(Math.abs(up.section!.t[0]! - 1.5 * Math.PI)).toBeLessThan(2e-5);
    st.dispose();
  });

  it('Hénon–Heiles at E = 1/8, y = 0, p_y > 0: the GPU crossings agree with the CPU ones', async () => {
    const h = henonHeiles().hamiltonian;
    const batch = 64;
    const { q0, p0 } = henonHeilesSectionStarts(1 / 8, batch, 3);
    const options = { q0, p0, batch, steps: 400, section: { expr: 'y', direction: 1 as const, max: 10 } };
    const gpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const cpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const [g, c] = [(await gpu.run(options)).section!, (await cpu.run(options)).section!];
    let compared = 0;
    for (let b = 0; b < batch; b++) {
      expect(Math.abs(g.count[b]! - c.count[b]!)).toBeLessThanOrEqual(1); // a crossing at the very end may fall either side
      for (let k = 0; k < Math.min(2, g.count[b]!, c.count[b]!); k++, compared++) {
        const slot = b * 10 + k;
        expect(Math.abs(g.t[slot]! - c.t[slot]!)).toBeLessThan(1e-4);
        expect(Math.abs(g.q[2 * slot]! - c.q[2 * slot]!)).toBeLessThan(1e-4);
        expect(Math.abs(g.p[2 * slot]! - c.p[2 * slot]!)).toBeLessThan(1e-4);
        expect(Math.abs(g.q[2 * slot + 1]!)).toBeLessThan(1e-6);
        const energy = (s: typeof g) => h.energy(s.q.subarray(2 * slot, 2 * slot + 2), s.p.subarray(2 * slot, 2 * slot + 2));
        expect(Math.abs(energy(g) - energy(c))).toBeLessThan(1e-5);
      }
    }
    expect(compared).toBeGreaterThan(100);
    gpu.dispose();
  });

  it('a section of q, the time and a parameter (rk4): GPU crossings equal the CPU ones to f32 accuracy', async () => {
    const h = henonHeiles().hamiltonian;
    const options = { q0: [0.1, 0, 0.2, 0.05], p0: [0.05, 0.45, 0.1, 0.3], batch: 2, steps: 1000, section: { expr: 'x - 0.05*lam*cos(t)', direction: -1 as const, max: 5 } };
    const [gpu, cpu] = [await compile(h, { method: 'rk4', dt: 0.02, backend: 'gpu' }), await compile(h, { method: 'rk4', dt: 0.02, backend: 'cpu' })];
    const [g, c] = [(await gpu.run(options)).section!, (await cpu.run(options)).section!];
    expect(Array.from(g.count)).toEqual(Array.from(c.count));
    for (let b = 0; b < 2; b++) {
      for (let k = 0; k < c.count[b]!; k++) {
        const slot = b * 5 + k;
        expect(Math.abs(g.t[slot]! - c.t[slot]!)).toBeLessThan(1e-5);
        expect(Math.abs(g.q[2 * slot]! - 0.05 * Math.cos(g.t[slot]!))).toBeLessThan(1e-6);
      }
    }
    gpu.dispose();
  });

  it('stop: the event ends the trajectory at the crossing state; saveAt equals record at the same steps', async () => {
    const st = await compile(oscillator, { method: 'leapfrog', dt: 0.01, backend: 'gpu' });
    const ev = await st.run({ q0: [1, 0.1], p0: [0, 0], batch: 2, steps: 1000, section: { expr: 'x^2 - 0.09', direction: -1, stop: true } });
    expect(Array.from(ev.section!.stopped)).toEqual([1, 0]);
    expect(Math.abs(ev.section!.t[0]! - Math.acos(0.3))).toBeLessThan(1e-4);
    expect(ev.q[0]).toBe(ev.section!.q[0]);
    const h = henonHeiles().hamiltonian;
    const hh = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const q0 = [0.1, -0.2, 0.05, 0.3], p0 = [0.2, 0.1, -0.3, 0.05];
    const rec = await hh.run({ q0, p0, batch: 2, steps: 100, record: 10 });
    const saved = await hh.run({ q0, p0, batch: 2, steps: 100, saveAt: [0.5, 5] });
    expect(Array.from(saved.saved!.q.subarray(0, 4))).toEqual(Array.from(rec.record!.q.subarray(0, 4)));
    expect(Array.from(saved.saved!.p.subarray(4, 8))).toEqual(Array.from(rec.record!.p.subarray(36, 40)));
    expect(Array.from(saved.q)).toEqual(Array.from(rec.q));
    // record with saveAt (once refused on the GPU): both arrays as the runs with one of them.
    const both = await hh.run({ q0, p0, batch: 2, steps: 100, record: 10, saveAt: [0.5, 5] });
    expect(Array.from(both.record!.q)).toEqual(Array.from(rec.record!.q));
    expect(Array.from(both.saved!.p)).toEqual(Array.from(saved.saved!.p));
    for (const s of [st, hh]) s.dispose();
  });

  it("onFailure: 'report': the escaping trajectory keeps its last finite state and its crossings up to then; the others are unchanged", async () => {
    const h = henonHeiles().hamiltonian;
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    // Trajectory 1 starts above the escape energy 1/6 and leaves through a saddle.
    const q0 = [0.1, 0, 0.5, 0.5, -0.2, 0], p0 = [0.2, 0.4, 0.3, 0, 0.1, 0.35];
    const options = { steps: 1500, section: { expr: 'y', direction: 1 as const, max: 40 }, saveAtSteps: [10, 1500] };
    await expect(st.run({ q0, p0, batch: 3, ...options })).rejects.toMatchObject({ code: 'NONFINITE' });
    const r = await st.run({ q0, p0, batch: 3, ...options, onFailure: 'report' });
    expect(r.status!.map((s) => s.ok)).toEqual([true, false, true]);
    const step = r.status![1]!.step!;
    expect(step).toBeGreaterThan(10);
    expect(step).toBeLessThan(1500);
    // The failed trajectory alone, run for exactly the steps before its failure: the same state and crossings.
    const alone = await st.run({ q0: q0.slice(2, 4), p0: p0.slice(2, 4), steps: step, section: options.section, saveAtSteps: [10] });
    expect(Array.from(r.q.subarray(2, 4))).toEqual(Array.from(alone.q));
    expect(Array.from(r.p.subarray(2, 4))).toEqual(Array.from(alone.p));
    expect([...r.q.subarray(2, 4), ...r.p.subarray(2, 4)].every(Number.isFinite)).toBe(true);
    expect(r.section!.count[1]).toBe(alone.section!.count[0]);
    expect(Array.from(r.section!.t.subarray(40, 80))).toEqual(Array.from(alone.section!.t));
    expect(Array.from(r.saved!.q.subarray(2, 4))).toEqual(Array.from(alone.saved!.q)); // saved before the failure: kept
    expect(Number.isNaN(r.saved!.q[6 + 2])).toBe(true); // saved after the failure: NaN
    // The others: as a run without the failing trajectory.
    const rest = await st.run({ q0: [...q0.slice(0, 2), ...q0.slice(4)], p0: [...p0.slice(0, 2), ...p0.slice(4)], batch: 2, ...options });
    expect([r.q[0], r.q[1], r.q[4], r.q[5]]).toEqual(Array.from(rest.q));
    expect(Array.from(r.section!.t.subarray(80, 120))).toEqual(Array.from(rest.section!.t.subarray(40, 80)));
    // A sweep: the failed trajectory reruns with its own λ.
    const swept = await st.run({ q0, p0, batch: 3, ...options, params: { lam: [1, 3, 1] }, onFailure: 'report' });
    const sweptStep = swept.status![1]!.step!;
    expect(sweptStep).not.toBe(step);
    const own = await st.run({ q0: q0.slice(2, 4), p0: p0.slice(2, 4), steps: sweptStep, section: options.section, saveAtSteps: [10], params: { lam: [3] } });
    expect(Array.from(swept.q.subarray(2, 4))).toEqual(Array.from(own.q));
    for (const i of [0, 1, 4, 5]) expect(Math.abs(swept.q[i]! - r.q[i]!)).toBeLessThan(1e-4); // λ = 1 read from the buffer, not folded: to f32 rounding
    st.dispose();
  });

  it('implicit methods: midpoint keeps the oscillator crossing on its energy; midpoint and gauss4 crossings equal the CPU ones to f32 accuracy', async () => {
    const implicit = await compile(oscillator, { method: 'midpoint', dt: 0.05, backend: 'gpu' });
    const r = (await implicit.run({ q0: [1], p0: [0], steps: 400, section: { expr: 'x - 0.3', max: 8 } })).section!;
    expect(r.count[0]).toBe(6);
    for (let k = 0; k < 6; k++) {
      expect(Math.abs(r.q[k]! - 0.3)).toBeLessThan(1e-6);
      expect(Math.abs(Math.abs(r.p[k]!) - Math.sqrt(0.91))).toBeLessThan(2e-5);
    }
    implicit.dispose();
    const h = henonHeiles().hamiltonian;
    const options = { q0: [0.1, 0, -0.2, 0], p0: [0.2, 0.4, 0.1, 0.35], batch: 2, steps: 300, section: { expr: 'y', direction: 1 as const, max: 8 } };
    for (const method of ['midpoint', 'gauss4']) {
      const [gpu, cpu] = [await compile(h, { method, dt: 0.05, backend: 'gpu' }), await compile(h, { method, dt: 0.05, backend: 'cpu' })];
      const [g, c] = [(await gpu.run(options)).section!, (await cpu.run(options)).section!];
      expect(Array.from(g.count)).toEqual(Array.from(c.count));
      expect(c.count[0]).toBeGreaterThan(1);
      for (let b = 0; b < 2; b++) {
        for (let k = 0; k < c.count[b]!; k++) {
          const slot = 8 * b + k;
          expect(Math.abs(g.t[slot]! - c.t[slot]!)).toBeLessThan(1e-4);
          expect(Math.abs(g.q[2 * slot]! - c.q[2 * slot]!)).toBeLessThan(1e-4);
          expect(Math.abs(g.p[2 * slot + 1]! - c.p[2 * slot + 1]!)).toBeLessThan(1e-4);
          expect(Math.abs(g.q[2 * slot + 1]!)).toBeLessThan(1e-6);
        }
      }
      gpu.dispose();
    }
  });
  it('the classic surface of section for 1 000 Hénon–Heiles orbits at E = 1/8 and 1/6: every crossing on y = 0 with p_y > 0 at its energy', async () => {
    const h = henonHeiles().hamiltonian;
    const st = await compile(h, { method: 'yoshida4', dt: 0.05, backend: 'gpu' });
    for (const E of [1 / 8, 1 / 6]) {
      const batch = 1000;
      const { q0, p0 } = henonHeilesSectionStarts(E, batch, 11);
      const r = await st.run({ q0, p0, batch, steps: 2000, section: { expr: 'y', direction: 1, max: 40 } });
      const s = r.section!;
      let crossings = 0, worstY = 0, worstE = 0;
      for (let b = 0; b < batch; b++) {
        for (let k = 0; k < s.count[b]!; k++) {
          const slot = b * s.max + k;
          const q = s.q.subarray(slot * 2, slot * 2 + 2), p = s.p.subarray(slot * 2, slot * 2 + 2);
          expect(p[1]).toBeGreaterThan(0);
          worstY = Math.max(worstY, Math.abs(q[1]!));
          worstE = Math.max(worstE, Math.abs(h.energy(q, p) - E));
          crossings++;
        }
      }
      // t = 100: about one upward crossing per 2π/ω ≈ 6.3 time units per orbit.
      expect(crossings / batch).toBeGreaterThan(10);
      expect(worstY).toBeLessThan(1e-5);   // located to f32 rounding, not to the step (dt·|p_y| ≈ 0.02)
      expect(worstE).toBeLessThan(2e-4);   // f32 state and the method's energy error
    }
    st.dispose();
  });
});
