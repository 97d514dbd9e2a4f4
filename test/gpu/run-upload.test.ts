/**
 * The upload of a GPU run (issue 15 item 3): typed float inputs checked while converted, Float32Array inputs
 * written as they are, and status words zeroed by the kernel in a run's first dispatch (no clear from the host).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, henonHeiles, parse } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

const h = henonHeiles().hamiltonian;
const q0 = Float64Array.from([0.1, 0, -0.2, 0.05, 0.3, -0.1]), p0 = Float64Array.from([0.2, 0.4, 0.1, 0.35, -0.1, 0.2]);

describe('GPU run uploads', () => {
  it('Float32Array inputs give exactly the result of the same values as Float64Array (and as plain arrays)', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const f32 = { q0: Float32Array.from(q0), p0: Float32Array.from(p0) };
    const a = await st.run({ ...f32, batch: 3, steps: 200 });
    const b = await st.run({ q0: Float64Array.from(f32.q0), p0: Float64Array.from(f32.p0), batch: 3, steps: 200 });
    const c = await st.run({ q0: Array.from(f32.q0), p0: Array.from(f32.p0), batch: 3, steps: 200, record: 50 });
    expect(Array.from(a.q)).toEqual(Array.from(b.q));
    expect(Array.from(a.p)).toEqual(Array.from(c.p));
    expect(a.q).toBeInstanceOf(Float64Array);
    // The caller's arrays are read, never written.
    expect(Array.from(f32.q0)).toEqual(Array.from(Float32Array.from(q0)));
    st.dispose();
  });

  it('every bad entry is still refused with INPUT naming the array and index: NaN, Infinity, beyond f32, in f64 and f32 arrays', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const cases: [string, Float64Array | Float32Array, Float64Array | Float32Array, string, number][] = [];
    const bad = (at: number, v: number, f32: boolean) => {
      const a = Float64Array.from(q0);
      a[at] = v;
      return f32 ? Float32Array.from(a) : a;
    };
    cases.push(['NaN in q0 (f64)', bad(4, NaN, false), p0, 'q0', 4]);
    cases.push(['Infinity in q0 (f32)', bad(1, Infinity, true), Float32Array.from(p0), 'q0', 1]);
    cases.push(['1e39 in p0 (f64: beyond f32)', q0, bad(5, 1e39, false), 'p0', 5]);
    cases.push(['-Infinity in p0 (f32)', Float32Array.from(q0), bad(2, -Infinity, true), 'p0', 2]);
    cases.push(['NaN in q0 and p0: q0 named first', bad(3, NaN, false), bad(0, NaN, false), 'q0', 3]);
    for (const [what, q, p, array, index] of cases) {
      const error = await st.run({ q0: q, p0: p, batch: 3, steps: 10 }).then(() => null, (e: unknown) => e);
      expect(error, what).toMatchObject({ code: 'INPUT', details: { array, index } });
    }
    // The stepper is still usable, with the same results as before the refusals.
    const before = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const [x, y] = [await st.run({ q0, p0, batch: 3, steps: 50 }), await before.run({ q0, p0, batch: 3, steps: 50 })];
    expect(Array.from(x.q)).toEqual(Array.from(y.q));
    for (const s of [st, before]) s.dispose();
  });

  it('status words start from zero every run: a failed run does not leak into the next, iteration counts do not add up', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const escaping = await st.run({ q0: [0.9, 0.9, 0.1, 0], p0: [0.8, 0, 0.1, 0.1], batch: 2, steps: 500, onFailure: 'report' });
    expect(escaping.status!.map((s) => s.ok)).toEqual([false, true]);
    const clean = await st.run({ q0: [0.1, 0, 0.1, 0], p0: [0.1, 0.1, 0.1, 0.1], batch: 2, steps: 500 });
    expect([...clean.q, ...clean.p].every(Number.isFinite)).toBe(true);
    st.dispose();
    const oscillator = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2 + x^4/4' });
    const implicit = await compile(oscillator, { method: 'midpoint', dt: 0.1, backend: 'gpu', stepsPerDispatch: 7 });
    const options = { q0: [0.5, 1, -0.3], p0: [0, 0.2, 0.4], batch: 3, steps: 40 };
    const first = await implicit.run(options), second = await implicit.run(options);
    expect(first.stats!.iterations.mean).toBeGreaterThan(1);
    expect(second.stats).toEqual(first.stats); // accumulated over 6 dispatches, from zero each run
    const state = await implicit.upload(options.q0, options.p0, { batch: 3 });
    const onState = await implicit.run({ state, steps: 40 });
    expect(onState.stats).toEqual(first.stats);
    state.dispose();
    implicit.dispose();
  });
});
