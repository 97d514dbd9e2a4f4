/**
 * Failures without losing the batch (CPU): onFailure 'report' returns every trajectory, each failed one at its
 * last finite state (the state after `status.step` steps, checked against a run of exactly that many steps), the
 * others complete (checked against a run of the good trajectories alone); 'throw' names the earliest failure by
 * step (not by trajectory order) and counts all of them.
 */
import { describe, expect, it } from 'vitest';
import { compile, DarbouxError, henonHeiles } from '../../src/index.js';
import { escapingBatch } from './run-fixtures.js';

const bits = (a: ArrayLike<number>) => Array.from(new BigUint64Array(Float64Array.from(a).buffer));
const pick = (a: Float64Array, b: number) => a.slice(2 * b, 2 * b + 2);

describe('onFailure (CPU)', () => {
  it("'report': status per trajectory, failed ones at their last finite state, the others complete", async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const { q0, p0, batch } = escapingBatch();
    const steps = 2000;
    const r = await st.run({ q0, p0, steps, batch, onFailure: 'report' });
    const failed = r.status!.flatMap((s, b) => (s.ok ? [] : [b]));
    expect(failed).toEqual([3, 6]);
    expect(r.status![6]!.step!).toBeLessThan(r.status![3]!.step!);
    for (const b of failed) {
      const s = r.status![b]!;
      expect(s.code).toBe('NONFINITE');
      // q, p hold the state after `step` steps: the same as a run of exactly that many steps, finite; one more step is not.
      const alone = await st.run({ q0: pick(q0, b), p0: pick(p0, b), steps: s.step! });
      expect(bits([...pick(r.q, b), ...pick(r.p, b)])).toEqual(bits([...alone.q, ...alone.p]));
      expect([...alone.q, ...alone.p].every(Number.isFinite)).toBe(true);
      await expect(st.run({ q0: pick(q0, b), p0: pick(p0, b), steps: s.step! + 1 })).rejects.toMatchObject({ code: 'NONFINITE', details: { step: s.step } });
    }
    // The good trajectories are exactly what a run of them alone gives.
    const good = [0, 1, 2, 4, 5, 7];
    const sub = (a: Float64Array) => Float64Array.from(good.flatMap((b) => [...pick(a, b)]));
    const others = await st.run({ q0: sub(q0), p0: sub(p0), steps, batch: good.length });
    expect(bits(sub(r.q))).toEqual(bits(others.q));
    expect(bits(sub(r.p))).toEqual(bits(others.p));
    expect(r.status!.filter((s) => s.ok).length).toBe(6);
  });

  it("'throw' (default) names the earliest failure by step and counts all of them", async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const { q0, p0, batch } = escapingBatch();
    const report = await st.run({ q0, p0, steps: 2000, batch, onFailure: 'report' });
    const error = await st.run({ q0, p0, steps: 2000, batch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DarbouxError);
    const e = error as DarbouxError;
    expect(e.code).toBe('NONFINITE');
    expect(e.details).toMatchObject({ trajectory: 6, step: report.status![6]!.step, failed: 2, failedTrajectories: [3, 6] });
    expect(e.message).toContain(`step ${report.status![6]!.step! + 1} of trajectory 6`);
    expect(e.message).toContain('2 of 8 trajectories failed');
    await expect(st.run({ q0, p0, steps: 2000, batch, onFailure: 'throw' })).rejects.toMatchObject({ details: { trajectory: 6 } });
  });

  it("'report' with an unconverged implicit solve: NO_CONVERGENCE at its step, with the residual", async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'midpoint', dt: 0.5, backend: 'cpu', maxIterations: 60 });
    const q0 = [0.1, 0.05, 0.5, 0.5, 0.1, 0], p0 = [0.1, 0, 0.3, 0.2, 0, 0.1];
    const r = await st.run({ q0, p0, steps: 200, batch: 3, onFailure: 'report' });
    expect(r.status![0]).toEqual({ ok: true });
    expect(r.status![2]).toEqual({ ok: true });
    const s = r.status![1]!;
    expect(s).toMatchObject({ ok: false, code: 'NO_CONVERGENCE' });
    expect(s.residual!).toBeGreaterThan(0);
    const error = await st.run({ q0, p0, steps: 200, batch: 3 }).catch((e: unknown) => e as DarbouxError);
    expect(error).toMatchObject({ code: 'NO_CONVERGENCE', details: { step: s.step, trajectory: 1, residual: s.residual, failed: 1 } });
    const alone = await st.run({ q0: q0.slice(2, 4), p0: p0.slice(2, 4), steps: s.step! });
    expect(bits(pick(r.q, 1))).toEqual(bits(alone.q));
  });

  it('a run without failures has every status ok, and bad onFailure values are OPTION errors', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const r = await st.run({ q0: [0.1, 0, 0, 0.1], p0: [0, 0.1, 0.1, 0], steps: 100, batch: 2, onFailure: 'report' });
    expect(r.status).toEqual([{ ok: true }, { ok: true }]);
    expect((await st.run({ q0: [0.1, 0], p0: [0, 0.1], steps: 10 })).status).toBeUndefined();
    await expect(st.run({ q0: [0.1, 0], p0: [0, 0.1], steps: 10, onFailure: 'ignore' as never })).rejects.toMatchObject({ code: 'OPTION' });
  });
});
