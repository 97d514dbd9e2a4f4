/**
 * Bad input on the GPU backend (issue 13 item 7): f32 step sizes, state and parameter values beyond f32, Unicode
 * and reserved-word names (never emitted into WGSL: the module is the same as for ASCII names), and dispose()
 * while a run is in flight.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, parse, type Stepper } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { refusal } from '../unit/run-fixtures.js';

afterAll(() => releaseGpu());

const oscillator = (names = { q: ['x', 'y'], p: ['px', 'py'], k: 'k' }) => {
  const [x, y] = names.q, [px, py] = names.p;
  return parse({ q: names.q, p: names.p, H: `(${px}^2 + ${py}^2)/2 + ${names.k}*(${x}^2 + ${y}^2)/2 + ${x}*${y}/4`, params: { [names.k]: 1.3 } });
};
const gpu = (h = oscillator(), dt = 0.05): Promise<Stepper> => compile(h, { method: 'leapfrog', dt, backend: 'gpu' });
const start = { q0: [0.5, -0.1, 0.2, 0.3], p0: [0.2, 0.3, -0.4, 0], batch: 2, steps: 100 };

describe('GPU: bad input', () => {
  it('dt that underflows or overflows f32 → OPTION (1e-46 no longer steps by 0)', async () => {
    for (const dt of [1e-46, 1e39]) {
      const err = await refusal(() => gpu(oscillator(), dt));
      expect(err.code).toBe('OPTION');
      expect(err.details.dt).toBe(dt);
    }
  });

  it('q0 with NaN or beyond f32, vjp cotangents with NaN, jacobian(null) → INPUT naming array and index', async () => {
    const st = await gpu();
    expect((await refusal(() => st.run({ ...start, q0: [0.5, NaN, 0, 0] }))).details).toMatchObject({ array: 'q0', index: 1 });
    expect((await refusal(() => st.run({ ...start, p0: [0, 0, 1e39, 0] }))).details).toMatchObject({ array: 'p0', index: 2, value: 1e39 });
    expect((await refusal(() => st.run({ ...start, t0: 1e39 }))).details).toMatchObject({ name: 't0' });
    expect((await refusal(() => st.vjp({ ...start, dq: [0, 0, 0, NaN], dp: [0, 0, 0, 0] }))).details).toMatchObject({ index: 3 });
    expect((await refusal(() => st.jacobian(null as never, [0, 0]))).code).toBe('INPUT');
    st.dispose();
  });

  it('a parameter beyond f32 → SPEC naming it (not a WGSL compile error)', async () => {
    const err = await refusal(() => gpu(oscillator().withParams({ k: 1e39 })));
    expect(err.code).toBe('SPEC');
    expect(err.details).toMatchObject({ name: 'k', value: 1e39 });
  });

  it('Unicode and reserved-word names give the very same WGSL and results as ASCII names', async () => {
    const ascii = await gpu();
    const unicode = await gpu(oscillator({ q: ['θ', 'x₁'], p: ['p_θ', 'x′'], k: 'ω' }));
    const words = await gpu(oscillator({ q: ['var', 'fn'], p: ['let', 'return'], k: 'struct' }));
    expect(unicode.wgsl).toBe(ascii.wgsl);
    expect(words.wgsl).toBe(ascii.wgsl);
    const [a, u, w] = await Promise.all([ascii.run(start), unicode.run(start), words.run(start)]);
    expect([...u.q, ...u.p]).toEqual([...a.q, ...a.p]);
    expect([...w.q, ...w.p]).toEqual([...a.q, ...a.p]);
    // And the f32 run agrees with the f64 CPU run of the Unicode Hamiltonian.
    const cpu = await (await compile(oscillator({ q: ['θ', 'x₁'], p: ['p_θ', 'x′'], k: 'ω' }), { method: 'leapfrog', dt: 0.05, backend: 'cpu' })).run(start);
    for (let i = 0; i < 4; i++) expect(Math.abs(u.q[i]! - cpu.q[i]!)).toBeLessThan(1e-4);
    for (const st of [ascii, unicode, words]) st.dispose();
  });

  it('dispose() during a run: the run fails with "disposed during run"; the GPU stays usable; jacobian after dispose as on the CPU', async () => {
    const st = await gpu();
    const batch = 4096;
    const running = st.run({ q0: new Float64Array(2 * batch).fill(0.5), p0: new Float64Array(2 * batch), batch, steps: 2000 });
    st.dispose();
    const err = await refusal(() => running);
    expect(err.code).toBe('INPUT');
    expect(err.details).toMatchObject({ disposed: true, during: 'run' });
    expect(err.message).toMatch(/disposed during run/);
    const cpu = await compile(oscillator(), { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    cpu.dispose();
    const [g, c] = [await refusal(() => st.jacobian([0, 0], [0, 0])), await refusal(() => cpu.jacobian([0, 0], [0, 0]))];
    expect([g.code, g.message, g.details]).toEqual([c.code, c.message, c.details]);
    // A fresh stepper on the same device still runs correctly.
    const again = await gpu();
    const r = await again.run(start);
    expect(r.q.every((v) => Number.isFinite(v))).toBe(true);
    again.dispose();
  });
});
