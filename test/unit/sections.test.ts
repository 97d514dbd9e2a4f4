/** `run({ section, saveAt })` on the CPU: crossings located to rounding, events, saved steps, refusals. */
import { describe, expect, it } from 'vitest';
import { compile, henonHeiles, parse } from '../../src/index.js';
import { hermiteRoot } from '../../src/backends/cpu/section-run.js';
import { henonHeilesSectionStarts } from './section-fixtures.js';

const oscillator = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' });

describe('Poincaré sections on the CPU', () => {
  it('harmonic oscillator: crossing times of x = 0 match the closed form to ~1e-12 (yoshida8)', async () => {
    const st = await compile(oscillator, { method: 'yoshida8', dt: 0.01, backend: 'cpu' });
    // x = A cos(t + φ): x(0) = 1, 0.5 and px(0) = 0, −0.5 (φ = π/4 for the second).
    const r = await st.run({ q0: [1, 0.5], p0: [0, -0.5], batch: 2, steps: 3000, section: { expr: 'x', max: 20 } });
    const s = r.section!;
    expect(Array.from(s.count)).toEqual([10, 10]);
    for (let k = 0; k < 10; k++) {
      expect(Math.abs(s.t[k]! - (Math.PI / 2 + k * Math.PI))).toBeLessThan(1e-12);
      expect(Math.abs(s.t[20 + k]! - (Math.PI / 4 + k * Math.PI))).toBeLessThan(1e-12);
      expect(Math.abs(s.q[k]!)).toBeLessThan(1e-15);
      expect(Math.abs(s.p[k]!) - 1).toBeLessThan(1e-12);
    }
    // Unused slots stay NaN; the final state is the plain run's, bit for bit.
    expect(s.t[10]).toBeNaN();
    const plain = await st.run({ q0: [1, 0.5], p0: [0, -0.5], batch: 2, steps: 3000 });
    expect(Array.from(r.q)).toEqual(Array.from(plain.q));
    expect(Array.from(r.p)).toEqual(Array.from(plain.p));
  });

  it('direction and max: upward crossings only, overflow counted but not stored', async () => {
    const st = await compile(oscillator, { method: 'yoshida8', dt: 0.01, backend: 'cpu' });
    const up = await st.run({ q0: [1], p0: [0], steps: 3000, section: { expr: 'x', direction: 1, max: 3 } });
    const s = up.section!;
    expect(s.count[0]).toBe(3);
    expect(s.overflowed[0]).toBe(2); // t = 3π/2 + 2πk < 30: k = 0…4
    for (let k = 0; k < 3; k++) expect(Math.abs(s.t[k]! - (1.5 * Math.PI + 2 * k * Math.PI))).toBeLessThan(1e-12);
    for (let k = 0; k < 3; k++) expect(s.p[k]).toBeGreaterThan(0);
    const down = await st.run({ q0: [1], p0: [0], steps: 3000, section: { expr: 'x', direction: -1, max: 10 } });
    expect(down.section!.count[0]).toBe(5);
    expect(Math.abs(down.section!.t[0]! - Math.PI / 2)).toBeLessThan(1e-12);
  });

  it('Hénon–Heiles at E = 1/8, y = 0 with p_y > 0: every crossing has y = 0 and H = E to rounding', async () => {
    const h = henonHeiles().hamiltonian;
    const E = 1 / 8, batch = 16;
    const { q0, p0 } = henonHeilesSectionStarts(E, batch, 1);
    const st = await compile(h, { method: 'yoshida8', dt: 0.02, backend: 'cpu' });
    const r = await st.run({ q0, p0, batch, steps: 5000, section: { expr: 'y', direction: 1, max: 100 } });
    const s = r.section!;
    let crossings = 0;
    for (let b = 0; b < batch; b++) {
      expect(s.count[b]).toBeGreaterThan(5);
      for (let k = 0; k < s.count[b]!; k++, crossings++) {
        const slot = b * s.max + k;
        const q = s.q.subarray(slot * 2, slot * 2 + 2), p = s.p.subarray(slot * 2, slot * 2 + 2);
        expect(Math.abs(q[1]!)).toBeLessThan(1e-15);
        expect(p[1]).toBeGreaterThan(0);
        expect(Math.abs(h.energy(q, p) - E)).toBeLessThan(1e-12);
        if (k > 0) expect(s.t[slot]).toBeGreaterThan(s.t[slot - 1]!);
      }
    }
    expect(crossings).toBeGreaterThan(100);
  });

  it('an implicit method (midpoint): crossings of its own trajectory at g = 0 to rounding', async () => {
    const st = await compile(oscillator, { method: 'midpoint', dt: 0.05, backend: 'cpu' });
    const r = await st.run({ q0: [1], p0: [0], steps: 400, section: { expr: 'x - 0.3' } });
    const s = r.section!;
    expect(s.count[0]).toBe(6); // t ≈ 1.27, 5.02, 7.55, 11.3, 13.8, 17.6 < 20
    for (let k = 0; k < 6; k++) expect(Math.abs(s.q[k]! - 0.3)).toBeLessThan(1e-15);
    // midpoint conserves this quadratic H exactly: every crossing has |p| = √(1 − 0.09).
    for (let k = 0; k < 6; k++) expect(Math.abs(Math.abs(s.p[k]!) - Math.sqrt(0.91))).toBeLessThan(1e-13);
  });

  it('stop: true ends each trajectory at its first crossing (an event); others run to the end', async () => {
    const st = await compile(oscillator, { method: 'yoshida8', dt: 0.01, backend: 'cpu' });
    // The third trajectory's amplitude 0.1 never reaches x² = 0.09.
    const r = await st.run({ q0: [1, 0.5, 0.1], p0: [0, 0, 0], batch: 3, steps: 1000, section: { expr: 'x^2 - 0.09', direction: -1, stop: true } });
    const s = r.section!;
    expect(Array.from(s.stopped)).toEqual([1, 1, 0]);
    // x = A cos t crosses x = 0.3 downward at t = acos(0.3 / A).
    expect(Math.abs(s.t[0]! - Math.acos(0.3))).toBeLessThan(1e-12);
    expect(Math.abs(s.t[s.max]! - Math.acos(0.6))).toBeLessThan(1e-12);
    expect(r.q[0]).toBe(s.q[0]);
    expect(r.p[1]).toBe(s.p[s.max]);
    const plain = await st.run({ q0: [0.1], p0: [0], steps: 1000 });
    expect(r.q[2]).toBe(plain.q[0]);
    // Saved states after an event are NaN.
    const saved = await st.run({ q0: [1], p0: [0], steps: 1000, saveAtSteps: [10, 500], section: { expr: 'x', stop: true } });
    expect(saved.saved!.q[0]).not.toBeNaN();
    expect(saved.saved!.q[1]).toBeNaN();
  });

  it('negative dt: crossings backwards in time and saveAt at decreasing times', async () => {
    const st = await compile(oscillator, { method: 'yoshida8', dt: -0.01, backend: 'cpu' });
    const r = await st.run({ q0: [1], p0: [0], steps: 500, section: { expr: 'x' }, saveAt: [-0.5, -1] });
    // x = cos t: x = 0 at t = −π/2 and −3π/2 going backwards.
    expect(r.section!.count[0]).toBe(2);
    expect(Math.abs(r.section!.t[0]! + Math.PI / 2)).toBeLessThan(1e-12);
    expect(Math.abs(r.section!.t[1]! + 1.5 * Math.PI)).toBeLessThan(1e-12);
    expect(Array.from(r.saved!.steps)).toEqual([50, 100]);
    expect(Math.abs(r.saved!.q[1]! - Math.cos(1))).toBeLessThan(1e-12);
  });

  it('hermiteRoot: the root of the cubic interpolant', () => {
    expect(hermiteRoot(-1, 2, 1, 2)).toBeCloseTo(0.5, 15);
    // g(u) = u³ − 0.125: g0 = −0.125, g0′ = 0, g1 = 0.875, g1′ = 3 → root 0.5.
    expect(Math.abs(hermiteRoot(-0.125, 0, 0.875, 3) - 0.5)).toBeLessThan(1e-15);
  });
});

describe('saveAt and saveAtSteps on the CPU', () => {
  it('the states at exactly those steps, equal to record at the same steps', async () => {
    const h = henonHeiles().hamiltonian;
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const q0 = [0.1, -0.2, 0.05, 0.3], p0 = [0.2, 0.1, -0.3, 0.05];
    const rec = await st.run({ q0, p0, batch: 2, steps: 100, record: 10 });
    const saved = await st.run({ q0, p0, batch: 2, steps: 100, saveAt: [0.5, 1.5, 5] });
    const bySteps = await st.run({ q0, p0, batch: 2, steps: 100, saveAtSteps: [0, 10, 30, 100] });
    const snapshot = (k: number) => Array.from(rec.record!.q.subarray((k - 1) * 4, k * 4));
    expect(Array.from(saved.saved!.steps)).toEqual([10, 30, 100]);
    expect(Array.from(saved.saved!.t)).toEqual([0.5, 1.5, 5]);
    expect(Array.from(saved.saved!.q.subarray(0, 4))).toEqual(snapshot(1));
    expect(Array.from(saved.saved!.q.subarray(4, 8))).toEqual(snapshot(3));
    expect(Array.from(saved.saved!.p.subarray(8, 12))).toEqual(Array.from(rec.record!.p.subarray(36, 40)));
    expect(Array.from(bySteps.saved!.q.subarray(0, 4))).toEqual(q0);
    expect(Array.from(bySteps.saved!.q.subarray(4))).toEqual(Array.from(saved.saved!.q));
    expect(Array.from(saved.q)).toEqual(Array.from(rec.q));
  });

  it('refuses times off the step grid, unsorted or outside the run, and both lists (OPTION naming the value)', async () => {
    const st = await compile(oscillator, { method: 'leapfrog', dt: 0.1, backend: 'cpu' });
    const run = (extra: object) => st.run({ q0: [1], p0: [0], steps: 10, ...extra });
    await expect(run({ saveAt: [0.25] })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringContaining('0.25') });
    await expect(run({ saveAt: [0.3, 0.2] })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringContaining('increasing') });
    await expect(run({ saveAt: [2] })).rejects.toMatchObject({ code: 'OPTION', message: expect.stringContaining('outside') });
    await expect(run({ saveAtSteps: [1.5] })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(run({ saveAt: [0.1], saveAtSteps: [1] })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(run({ saveAt: [NaN] })).rejects.toMatchObject({ code: 'OPTION', details: { index: 0 } });
    // 0.3 is 3·0.1 within rounding.
    await expect(run({ saveAt: [0.3] })).resolves.toMatchObject({ saved: { steps: Int32Array.of(3) } });
  });

  it('section refusals: bad direction, max, names and foreign expressions', async () => {
    const st = await compile(oscillator, { method: 'leapfrog', dt: 0.1, backend: 'cpu' });
    const run = (section: unknown) => st.run({ q0: [1], p0: [0], steps: 10, section: section as never });
    await expect(run({ expr: 'x', direction: 2 })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(run({ expr: 'x', max: 0 })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(run({ expr: 'x', stop: 'yes' })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(run({ expr: 'zz' })).rejects.toMatchObject({ code: 'PARSE' });
    await expect(run({ expr: henonHeiles().hamiltonian.H })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(run('x')).rejects.toMatchObject({ code: 'OPTION' });
    await expect(st.run({ q0: [1], p0: [0], steps: 10, record: 2, section: { expr: 'x', stop: true } })).rejects.toMatchObject({ code: 'OPTION' });
  });
});
