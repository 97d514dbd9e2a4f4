import { describe, expect, it } from 'vitest';
import { compile, createRandom, DarbouxError, dnls } from '../../src/index.js';

/** The norm Σₙ |ψₙ|² with ψₙ = (qₙ + i pₙ)/√2, written independently of the library. */
function norm(q: ArrayLike<number>, p: ArrayLike<number>): number {
  let s = 0;
  for (let n = 0; n < q.length; n++) s += (q[n]! ** 2 + p[n]! ** 2) / 2;
  return s;
}

/** H = C Σₙ |ψₙ₊₁ − ψₙ|² − (γ/2) Σₙ |ψₙ|⁴ on a ring, in complex arithmetic on (re, im) pairs. */
function complexEnergy(q: ArrayLike<number>, p: ArrayLike<number>, C: number, gamma: number): number {
  const sites = q.length, re = (n: number) => q[n % sites]! / Math.SQRT2, im = (n: number) => p[n % sites]! / Math.SQRT2;
  let e = 0;
  for (let n = 0; n < sites; n++) {
    const dRe = re(n + 1) - re(n), dIm = im(n + 1) - im(n);
    const density = re(n) ** 2 + im(n) ** 2;
    e += C * (dRe * dRe + dIm * dIm) - (gamma / 2) * density * density;
  }
  return e;
}

describe('discrete nonlinear Schrödinger ring (non-separable lattice Hamiltonian)', () => {
  const sites = 16, C = 0.8, gamma = 1.7;
  const model = dnls({ sites, C, gamma });
  const h = model.hamiltonian;
  // A random state of order one (not the model's bump), so every site carries norm and phase.
  const random = createRandom(21);
  const q0 = Array.from({ length: sites }, () => 2 * random.next() - 1);
  const p0 = Array.from({ length: sites }, () => 2 * random.next() - 1);

  it('is the complex DNLS energy in real variables, and not separable', () => {
    expect(h.energy(q0, p0)).toBeCloseTo(complexEnergy(q0, p0, C, gamma), 12);
    expect(h.energy(model.q0, model.p0)).toBeCloseTo(complexEnergy(model.q0, model.p0, C, gamma), 12);
    expect(h.isSeparable).toBe(false);
  });

  it('refuses leapfrog and the explicit splittings (NOT_SEPARABLE, naming a coupling term)', async () => {
    for (const method of ['leapfrog', 'yoshida4', 'symplecticEulerA']) {
      const refusal = await compile(h, { method, dt: model.dt, backend: 'cpu' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refusal).toBeInstanceOf(DarbouxError);
      expect((refusal as DarbouxError).code).toBe('NOT_SEPARABLE');
      expect((refusal as DarbouxError).message).toContain(method);
      expect((refusal as DarbouxError).message).toMatch(/couples q and p/);
      expect((refusal as DarbouxError).message).toMatch(/midpoint/);
    }
  });

  it('midpoint, gauss4 and gauss6 keep the norm Σ|ψ|² to rounding over 2 000 steps; rk4 does not', async () => {
    const N0 = norm(q0, p0), E0 = h.energy(q0, p0);
    const dt = 0.02, steps = 2000, every = 250;
    for (const method of ['midpoint', 'gauss4', 'gauss6']) {
      const st = await compile(h, { method, dt, backend: 'cpu' });
      const res = await st.run({ q0, p0, steps, record: every });
      st.dispose();
      const rec = res.record!;
      for (let f = 0; f < rec.count; f++) {
        const q = rec.q.subarray(f * sites, (f + 1) * sites), p = rec.p.subarray(f * sites, (f + 1) * sites);
        // Rounding: ~ √(steps)·ε relative, far below any truncation error of these methods at this step.
        expect(Math.abs(norm(q, p) - N0) / N0).toBeLessThan(1e-13);
        expect(Math.abs(h.energy(q, p) - E0) / Math.abs(E0)).toBeLessThan(1e-2);
      }
      // The state did move: the norm is kept by the method, not because nothing happened.
      expect(Math.max(...Array.from(res.q, (x, n) => Math.abs(x - q0[n]!)))).toBeGreaterThan(0.1);
    }
    const st = await compile(h, { method: 'rk4', dt, backend: 'cpu' });
    const res = await st.run({ q0, p0, steps });
    st.dispose();
    expect(Math.abs(norm(res.q, res.p) - N0) / N0).toBeGreaterThan(1e-10);
  });
});
