/**
 * Lyapunov spectra of implicit methods on the CPU, from the tangents solved in the generated step (the linear
 * stage equations after the step's own), against the oracle of the per-step implicit Jacobian (a dense LU of
 * I − ∂F/∂W per step, `referenceSpectrum`), for every Gauss–Legendre method and solver and for a Newton-solved
 * variational integrator; the symplectic zero sum; and `onFailure: 'report'` against runs of the failed
 * trajectories alone and of the good ones alone.
 */
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, fpuChain, henonHeiles } from '../../src/index.js';
import { orthonormalize } from '../../src/backends/lyapunov-options.js';
import { doublePendulumLagrangian } from './lagrangian-fixtures.js';
import { referenceSpectrum } from './lyapunov-fixtures.js';
import { escapingBatch } from './run-fixtures.js';

const bits = (a: ArrayLike<number>) => Array.from(new BigUint64Array(Float64Array.from(a).buffer));

describe('lyapunov of implicit methods (CPU, generated tangents)', () => {
  it('midpoint, gauss4, gauss6 with every solver match the per-step implicit Jacobian to 1e-10', async () => {
    const { hamiltonian: h } = henonHeiles();
    const q0 = [0.1, -0.2, 0.0, 0.3], p0 = [0.3, 0.2, 0.45, 0.1];
    for (const method of ['midpoint', 'gauss4', 'gauss6']) {
      for (const solver of ['fixedPoint', 'newton', 'simplifiedNewton'] as const) {
        const st = await compile(h, { method, dt: 0.05, backend: 'cpu', solver });
        const { exponents } = await st.lyapunov({ q0, p0, batch: 2, steps: 60, count: 4, renormalizeEvery: 7 });
        for (let b = 0; b < 2; b++) {
          const reference = await referenceSpectrum(st, q0.slice(2 * b, 2 * b + 2), p0.slice(2 * b, 2 * b + 2), 60, 4, 7);
          reference.forEach((x, i) => expect(Math.abs(exponents[b * 4 + i]! - x), `${method} ${solver} b${b} λ${i}`).toBeLessThan(1e-10));
        }
        st.dispose();
      }
    }
  });

  it('a variational integrator (stage equations solved by Newton; the plain map is not a contraction) matches too', async () => {
    const L = doublePendulumLagrangian();
    for (const method of ['variationalMidpoint', 'variationalTrapezoid']) {
      const st = (await compile(L, { method, dt: 0.02, backend: 'cpu' })).phase;
      const q0 = [1, 0.5], p0 = [0.2, -0.1];
      const { exponents } = await st.lyapunov({ q0, p0, steps: 80, count: 4, renormalizeEvery: 5 });
      const reference = await referenceSpectrum(st, q0, p0, 80, 4, 5);
      reference.forEach((x, i) => expect(Math.abs(exponents[i]! - x), `${method} λ${i}`).toBeLessThan(1e-10));
      // Symplectic: the full spectrum sums to 0 to rounding.
      expect(Math.abs(exponents.reduce((a, b) => a + b, 0))).toBeLessThan(1e-11 * Math.max(1, Math.abs(exponents[0]!)));
      st.dispose();
    }
  });

  it('long states (an FPU chain of 70 sites: stage and tangent unknowns held in arrays) match the oracle', async () => {
    const { hamiltonian: h, q0, p0, dt } = fpuChain({ sites: 70, beta: 8, ends: 'fixed' });
    const st = await compile(h, { method: 'midpoint', dt, backend: 'cpu' });
    const { exponents } = await st.lyapunov({ q0, p0, steps: 12, count: 2, renormalizeEvery: 4 });
    const reference = await referenceSpectrum(st, Array.from(q0), Array.from(p0), 12, 2, 4);
    reference.forEach((x, i) => expect(Math.abs(exponents[i]! - x)).toBeLessThan(1e-10));
    st.dispose();
  });

  it('gauss6 (symplectic): the full spectrum sums to 0 to rounding over a long chaotic run, and comes in ± pairs', async () => {
    const { hamiltonian: h } = henonHeiles();
    const st = await compile(h, { method: 'gauss6', dt: 0.1, backend: 'cpu' });
    const y = -0.1, E = 1 / 6, px = Math.sqrt(2 * (E - (y * y) / 2 + (y ** 3) / 3));
    const { exponents } = await st.lyapunov({ q0: [0, y], p0: [px, 0], steps: 4000, count: 4, renormalizeEvery: 5 });
    expect(exponents[0]!).toBeGreaterThan(0.02);
    expect(Math.abs(exponents.reduce((a, b) => a + b, 0))).toBeLessThan(1e-13);
    // The ± pairs hold as time grows (finite-time estimates pair up to a transient of order 1/time).
    expect(Math.abs(exponents[0]! + exponents[3]!)).toBeLessThan(0.02 * exponents[0]!);
    expect(Math.abs(exponents[1]! + exponents[2]!)).toBeLessThan(0.02 * exponents[0]!);
    st.dispose();
  });
});

describe("lyapunov onFailure: 'report' (CPU)", () => {
  it('failed trajectories: status as run reports it, last finite state, exponents of their last renormalisation; the others unaffected', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const { q0, p0, batch } = escapingBatch();
    const steps = 2000, every = 10, count = 3;
    const run = await st.run({ q0, p0, steps, batch, onFailure: 'report' });
    const r = await st.lyapunov({ q0, p0, steps, batch, count, renormalizeEvery: every, historyEvery: 100, onFailure: 'report' });
    expect(r.status).toEqual(run.status);
    expect(bits(r.q)).toEqual(bits(run.q));
    expect(bits(r.p)).toEqual(bits(run.p));
    expect([...r.exponents, ...r.history.exponents].every(Number.isFinite)).toBe(true);
    for (const b of [3, 6]) {
      const step = r.status![b]!.step!;
      const covered = Math.floor(step / every) * every;
      expect(covered).toBeGreaterThan(0);
      const alone = await st.lyapunov({ q0: q0.slice(2 * b, 2 * b + 2), p0: p0.slice(2 * b, 2 * b + 2), steps: covered, count, renormalizeEvery: every });
      expect(bits(r.exponents.subarray(b * count, (b + 1) * count))).toEqual(bits(alone.exponents));
      // History points after the failure repeat the estimate.
      const last = r.history.t.length - 1;
      expect(bits(r.history.exponents.subarray((last * batch + b) * count, (last * batch + b + 1) * count))).toEqual(bits(alone.exponents));
    }
    const good = [0, 1, 2, 4, 5, 7];
    const sub = (a: Float64Array, width: number) => Float64Array.from(good.flatMap((b) => [...a.subarray(width * b, width * (b + 1))]));
    const others = await st.lyapunov({ q0: sub(q0, 2), p0: sub(p0, 2), steps, batch: good.length, count, renormalizeEvery: every, historyEvery: 100 });
    expect(bits(sub(r.exponents, count))).toEqual(bits(others.exponents));
    expect(others.status).toBeUndefined();
    // Before the first renormalisation there is no estimate: all 0.
    const early = await st.lyapunov({ q0, p0, steps, batch, count, renormalizeEvery: steps, onFailure: 'report' });
    for (const b of [3, 6]) expect(Array.from(early.exponents.subarray(b * count, (b + 1) * count))).toEqual([0, 0, 0]);
    st.dispose();
  });

  it("'throw' (default) names the earliest failure and counts all; bad onFailure values are OPTION errors", async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const { q0, p0, batch } = escapingBatch();
    const error = await st.lyapunov({ q0, p0, steps: 2000, batch, renormalizeEvery: 2000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DarbouxError);
    expect((error as DarbouxError).details).toMatchObject({ trajectory: 6, failed: 2, failedTrajectories: [3, 6] });
    await expect(st.lyapunov({ q0, p0, steps: 10, batch, onFailure: 'ignore' as never })).rejects.toMatchObject({ code: 'OPTION' });
    const fine = await st.lyapunov({ q0: [0.1, 0], p0: [0, 0.1], steps: 10, onFailure: 'report' });
    expect(fine.status).toEqual([{ ok: true }]);
    st.dispose();
  });

  it('an unconverged implicit solve: NO_CONVERGENCE at the step and with the residual run reports', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'midpoint', dt: 0.5, backend: 'cpu', maxIterations: 60 });
    const q0 = [0.1, 0.05, 0.5, 0.5, 0.1, 0], p0 = [0.1, 0, 0.3, 0.2, 0, 0.1];
    const run = await st.run({ q0, p0, steps: 200, batch: 3, onFailure: 'report' });
    const r = await st.lyapunov({ q0, p0, steps: 200, batch: 3, count: 4, renormalizeEvery: 4, onFailure: 'report' });
    expect(run.status![1]!.code).toBe('NO_CONVERGENCE');
    expect(r.status).toEqual(run.status);
    expect(bits(r.q)).toEqual(bits(run.q));
    expect([...r.exponents].every(Number.isFinite)).toBe(true);
    // The survivors' spectra still sum to 0 (midpoint is symplectic).
    for (const b of [0, 2]) expect(Math.abs(r.exponents.subarray(4 * b, 4 * b + 4).reduce((x, y) => x + y, 0))).toBeLessThan(1e-12);
    st.dispose();
  });

  it('Gram–Schmidt of a tangent whose squares overflow (near an escape) still gives its length', () => {
    const v = Float64Array.of(3e200, 4e200, 1, 0), logs = new Float64Array(2);
    orthonormalize(v, 0, 2, 2, logs, 0);
    expect(logs[0]).toBeCloseTo(Math.log(5e200), 12);
    expect(Array.from(v, (x) => Math.round(x * 1e12) / 1e12)).toEqual([0.6, 0.8, 0.8, -0.6]);
  });
});
