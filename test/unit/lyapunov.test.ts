/**
 * Lyapunov spectra on the CPU (Benettin et al. from the exact tangent map). Oracles: the closed-form eigenvalues
 * of leapfrog's one-step matrix for linear saddles (the exponents are log|λ|/dt, seen to rounding in the growth
 * rate between late history points), the determinant of a symplectic step (the full spectrum sums to 0 to
 * rounding), an independent Benettin loop over `st.jacobian` and `st.run`, and the log(t)/t decay of a regular
 * orbit's maximal exponent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, fpuChain, Hamiltonian, henonHeiles, parse, pendulum } from '../../src/index.js';
import { arbitraryHamiltonian, arbitrarySeparableHamiltonian } from './arbitrary.js';
import { referenceSpectrum } from './lyapunov-fixtures.js';

/** Leapfrog (kick–drift–kick) on H = p²/2 − a²q²/2: the larger eigenvalue of its one-step matrix (trace 2 + a²h²). */
function saddleEigenvalue(a: number, dt: number): number {
  const trace = 2 + a * a * dt * dt;
  return (trace + Math.sqrt(trace * trace - 4)) / 2;
}

/** The growth rates between the last two history points: (S(t₂) − S(t₁)) / (t₂ − t₁) per exponent, S = average · elapsed time. */
function lateRates(history: { t: Float64Array; exponents: Float64Array }, count: number, t0 = 0): number[] {
  const k = history.t.length - 1;
  const t1 = history.t[k - 1]! - t0, t2 = history.t[k]! - t0;
  return Array.from({ length: count }, (_, i) => (history.exponents[k * count + i]! * t2 - history.exponents[(k - 1) * count + i]! * t1) / (t2 - t1));
}

describe('lyapunov (CPU)', () => {
  it('a linear saddle H = p²/2 − a²q²/2 with leapfrog grows at exactly log λ / dt, λ the one-step eigenvalue', async () => {
    const a = 1.3, dt = 0.1;
    const st = await compile(parse({ q: ['q'], p: ['p'], H: 'p^2/2 - a^2*q^2/2', params: { a } }), { method: 'leapfrog', dt, backend: 'cpu' });
    const expected = Math.log(saddleEigenvalue(a, dt)) / dt;
    const { exponents, history, time } = await st.lyapunov({ q0: [0], p0: [0], steps: 2000, count: 2, renormalizeEvery: 5, historyEvery: 100 });
    const [up, down] = lateRates(history, 2);
    expect(Math.abs(up! - expected)).toBeLessThan(1e-12 * expected);
    expect(Math.abs(down! + expected)).toBeLessThan(1e-12 * expected);
    // The averages carry the start's transient, O(1/time).
    expect(Math.abs(exponents[0]! - expected)).toBeLessThan(2 / time);
    expect(Math.abs(exponents[0]! + exponents[1]!)).toBeLessThan(1e-12);
    expect(time).toBeCloseTo(200, 12);
    st.dispose();
  });

  it('a rotated pair of linear saddles gives the full spectrum ±log λ₁/dt, ±log λ₂/dt (pairs to rounding in the late growth rates)', async () => {
    const [a1, a2, c, s, dt] = [1.5, 0.6, Math.cos(0.7), Math.sin(0.7), 0.05];
    // V = −½ Σ a_k² (R q)_k², R a rotation by 0.7.
    const H = `(px^2 + py^2)/2 - ${a1 ** 2}*(${c}*x + ${s}*y)^2/2 - ${a2 ** 2}*(${-s}*x + ${c}*y)^2/2`;
    const st = await compile(parse({ q: ['x', 'y'], p: ['px', 'py'], H }), { method: 'leapfrog', dt, backend: 'cpu' });
    const { history } = await st.lyapunov({ q0: [0, 0], p0: [0, 0], steps: 4000, count: 4, renormalizeEvery: 10, historyEvery: 200 });
    const l1 = Math.log(saddleEigenvalue(a1, dt)) / dt, l2 = Math.log(saddleEigenvalue(a2, dt)) / dt;
    const rates = lateRates(history, 4);
    [l1, l2, -l2, -l1].forEach((expected, i) => expect(Math.abs(rates[i]! - expected)).toBeLessThan(1e-9));
    st.dispose();
  });

  it('symplectic methods: the full spectrum sums to 0 to rounding (random Hamiltonians, explicit and implicit)', async () => {
    const sumOf = async (h: Hamiltonian, method: string) => {
      const st = await compile(h, { method, dt: 0.02, backend: 'cpu' });
      try {
        // An orbit that runs off to |q|, |p| ≫ 1 stretches by more than 1/ε between renormalisations late in the run,
        // and the smallest exponent is then lost to rounding in any Benettin loop: such samples say nothing about the
        // step's determinant, so they are skipped like the ones that overflow.
        const end = await st.run({ q0: [0.3, -0.2], p0: [0.1, 0.4], steps: 150 });
        if ([...end.q, ...end.p].some((x) => !(Math.abs(x) < 20))) return null;
        const { exponents } = await st.lyapunov({ q0: [0.3, -0.2], p0: [0.1, 0.4], steps: 150, count: 4, renormalizeEvery: 3 });
        return { sum: exponents.reduce((x, y) => x + y, 0), largest: Math.abs(exponents[0]!) };
      } catch (e) {
        if (e instanceof DarbouxError && (e.code === 'NONFINITE' || e.code === 'NO_CONVERGENCE')) return null; // an escaping sample
        throw e;
      } finally {
        st.dispose();
      }
    };
    await fc.assert(
      fc.asyncProperty(arbitrarySeparableHamiltonian(2), fc.constantFrom('leapfrog', 'yoshida4', 'symplecticEulerA'), async ({ q, p, H }, method) => {
        const r = await sumOf(new Hamiltonian({ H, q, p }), method);
        if (r !== null) expect(Math.abs(r.sum)).toBeLessThan(1e-10 * Math.max(1, r.largest));
      }),
      { numRuns: 25 },
    );
    await fc.assert(
      fc.asyncProperty(arbitraryHamiltonian(2), fc.constantFrom('midpoint', 'gauss4'), async ({ q, p, H }, method) => {
        const r = await sumOf(new Hamiltonian({ H, q, p }), method);
        if (r !== null) expect(Math.abs(r.sum)).toBeLessThan(1e-9 * Math.max(1, r.largest));
      }),
      { numRuns: 8 },
    );
  });

  it('rk4 is not symplectic: its spectrum on a damped-looking orbit does not sum to 0 at large dt (the test above can fail)', async () => {
    const { hamiltonian: h } = henonHeiles();
    const st = await compile(h, { method: 'rk4', dt: 0.5, backend: 'cpu' });
    const { exponents } = await st.lyapunov({ q0: [0.3, -0.2], p0: [0.2, 0.3], steps: 400, count: 4 });
    expect(Math.abs(exponents.reduce((x, y) => x + y, 0))).toBeGreaterThan(1e-6);
    st.dispose();
  });

  it('matches an independent Benettin loop over st.jacobian and st.run (explicit and implicit, several trajectories)', async () => {
    const { hamiltonian: h } = henonHeiles();
    for (const method of ['leapfrog', 'rk4', 'midpoint']) {
      const st = await compile(h, { method, dt: 0.05, backend: 'cpu' });
      const q0 = [0.1, -0.2, 0.0, 0.3], p0 = [0.3, 0.2, 0.45, 0.1];
      const { exponents } = await st.lyapunov({ q0, p0, batch: 2, steps: 60, count: 3, renormalizeEvery: 7 });
      for (let b = 0; b < 2; b++) {
        const reference = await referenceSpectrum(st, q0.slice(2 * b, 2 * b + 2), p0.slice(2 * b, 2 * b + 2), 60, 3, 7);
        reference.forEach((x, i) => expect(Math.abs(exponents[b * 3 + i]! - x)).toBeLessThan(1e-10));
      }
      st.dispose();
    }
  });

  it('long states held in arrays (an FPU chain of 70 sites) match the independent loop too', async () => {
    const { hamiltonian: h, q0, p0, dt } = fpuChain({ sites: 70, beta: 8, ends: 'fixed' });
    const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
    const { exponents } = await st.lyapunov({ q0, p0, steps: 20, count: 2, renormalizeEvery: 4 });
    const reference = await referenceSpectrum(st, Array.from(q0), Array.from(p0), 20, 2, 4);
    reference.forEach((x, i) => expect(Math.abs(exponents[i]! - x)).toBeLessThan(1e-10));
    st.dispose();
  });

  it("a regular orbit's maximal exponent decays like log(t)/t (pendulum libration: λ·t gains log 10 per decade of t)", async () => {
    const { hamiltonian: h } = pendulum();
    const st = await compile(h, { method: 'leapfrog', dt: 0.1, backend: 'cpu' });
    const { history } = await st.lyapunov({ q0: [1.5], p0: [0], steps: 100_000, count: 1, renormalizeEvery: 10, historyEvery: 100 });
    const at = (t: number) => {
      const k = history.t.findIndex((x) => x >= t);
      return history.exponents[k]! * history.t[k]!;
    };
    // λ(t)·t = log‖δ(t)‖ ≈ log(c·t): +log 10 from t = 100 to 1000 and from 1000 to 10 000.
    for (const t of [100, 1000]) expect(Math.abs(at(10 * t) - at(t) - Math.log(10))).toBeLessThan(0.35);
    expect(at(10_000) / 10_000).toBeLessThan(2e-3);
    st.dispose();
  });

  it('Hénon–Heiles: a chaotic orbit (E = 1/6) has a clearly larger maximal exponent than a regular one (E ≈ 0.01)', async () => {
    const { hamiltonian: h } = henonHeiles();
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    // Chaotic: x = 0, y = −0.1, py = 0, px from E = 1/6. Regular: a small-amplitude orbit.
    const y = -0.1, E = 1 / 6, px = Math.sqrt(2 * (E - (y * y) / 2 + (y ** 3) / 3));
    const { exponents } = await st.lyapunov({ q0: [0, y, 0.1, 0], p0: [px, 0, 0, 0.1], batch: 2, steps: 40_000, count: 1, renormalizeEvery: 10 });
    expect(exponents[0]!).toBeGreaterThan(0.03);
    expect(exponents[1]!).toBeLessThan(0.3 * exponents[0]!);
    st.dispose();
  });

  it('reports progress, can be aborted (ABORTED, the stepper still usable), and keeps the event loop free', async () => {
    const { hamiltonian: h, q0, p0 } = henonHeiles();
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const fractions: number[] = [];
    let ticks = 0, longest = 0, last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      ticks++;
    }, 5);
    await st.lyapunov({ q0, p0, steps: 300_000, count: 4, onProgress: (p) => fractions.push(p.fraction) });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(2);
    expect(longest).toBeLessThan(150);
    expect(fractions.at(-1)).toBe(1);
    expect(fractions.every((f, i) => i === 0 || f > fractions[i - 1]!)).toBe(true);
    const controller = new AbortController();
    const pending = st.lyapunov({ q0, p0, steps: 10_000_000, count: 2, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED', name: 'AbortError' });
    const again = await st.lyapunov({ q0, p0, steps: 10, count: 1 });
    expect(again.exponents.length).toBe(1);
    st.dispose();
  });

  it('history: points every historyEvery steps and at the end, the last equal to the exponents', async () => {
    const { hamiltonian: h, q0, p0 } = henonHeiles();
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const r = await st.lyapunov({ q0: [...q0, ...q0], p0: [...p0, 0, 0.1], batch: 2, steps: 250, count: 2, renormalizeEvery: 10, historyEvery: 100, t0: 1 });
    expect(Array.from(r.history.t)).toEqual([1 + 100 * 0.05, 1 + 200 * 0.05, 1 + 250 * 0.05].map((t) => expect.closeTo(t, 12)));
    expect(Array.from(r.history.exponents.subarray(2 * 4))).toEqual(Array.from(r.exponents));
    expect(r.exponents[0]!).toBeGreaterThanOrEqual(r.exponents[1]!);
    // The final state is the run's.
    const run = await st.run({ q0: [...q0, ...q0], p0: [...p0, 0, 0.1], batch: 2, steps: 250, t0: 1 });
    expect(Array.from(r.q)).toEqual(Array.from(run.q));
    st.dispose();
  });

  it('refuses bad input with DarbouxError: count > 2·dof or < 1, renormalizeEvery < 1 or fractional (OPTION), bad states (INPUT)', async () => {
    const { hamiltonian: h, q0, p0 } = henonHeiles();
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const refused = async (options: object, code: string, mention: string) => {
      const e = await st.lyapunov({ q0, p0, steps: 10, ...options } as never).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(DarbouxError);
      expect((e as DarbouxError).code).toBe(code);
      expect((e as DarbouxError).message).toContain(mention);
    };
    await refused({ count: 5 }, 'OPTION', 'count');
    await refused({ count: 0 }, 'OPTION', 'count');
    await refused({ renormalizeEvery: 0 }, 'OPTION', 'renormalizeEvery');
    await refused({ renormalizeEvery: 1.5 }, 'OPTION', 'renormalizeEvery');
    await refused({ historyEvery: -1 }, 'OPTION', 'historyEvery');
    await refused({ q0: [0.1, NaN] }, 'INPUT', 'q0');
    await refused({ steps: -1 }, 'INPUT', 'steps');
    await expect(st.lyapunov(undefined as never)).rejects.toBeInstanceOf(DarbouxError);
    st.dispose();
    await expect(st.lyapunov({ q0, p0, steps: 1 })).rejects.toMatchObject({ code: 'INPUT' });
  });
});
