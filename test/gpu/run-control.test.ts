/**
 * Progress, cancellation and failures of GPU runs (llvmpipe in CI): a timer fires during a long run; an abort
 * rejects with ABORTED and the stepper still works; onProgress fractions increase to 1; pacing does not change
 * results (a run split into one-workgroup dispatches, with progress and timers, equals the default run bit for
 * bit); onFailure 'report' keeps the batch (failed trajectories at their last finite state, checked against a run
 * of exactly that many steps; the others against a run of them alone); 'throw' names the earliest failure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, DarbouxError, fcc, henonHeiles, maxwellBoltzmann, particles } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { escapingBatch } from '../unit/run-fixtures.js';

afterAll(() => releaseGpu());

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
const pick = (a: Float64Array, b: number) => a.slice(2 * b, 2 * b + 2);

describe('GPU runs: progress and cancellation', () => {
  it('a timer fires during a long run, and progress rises to 1', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'gpu' });
    const start = performance.now();
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now() - start), 5);
    const fractions: number[] = [];
    await st.run({ q0: [0.1, 0.05], p0: [0.1, 0], steps: 20_000_000, onProgress: (p) => fractions.push(p.fraction) });
    const finished = performance.now() - start;
    clearInterval(timer);
    expect(ticks.filter((t) => t < finished - 20).length).toBeGreaterThan(2);
    expect(fractions.length).toBeGreaterThan(2);
    for (let k = 1; k < fractions.length; k++) expect(fractions[k]!).toBeGreaterThan(fractions[k - 1]!);
    expect(fractions.at(-1)).toBe(1);
    st.dispose();
  });

  it('abort mid-run rejects with ABORTED (AbortError) and the stepper still runs', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'gpu' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 40);
    const error = await st.run({ q0: [0.1, 0.05], p0: [0.1, 0], steps: 2_000_000_000, signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DarbouxError);
    expect(error).toMatchObject({ code: 'ABORTED', name: 'AbortError' });
    const a = await st.run({ q0: [0.1, 0.05], p0: [0.1, 0], steps: 1000 });
    const fresh = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'gpu' });
    const b = await fresh.run({ q0: [0.1, 0.05], p0: [0.1, 0], steps: 1000 });
    expect(bits([...a.q, ...a.p])).toEqual(bits([...b.q, ...b.p]));
    st.dispose();
    fresh.dispose();
  });

  it('pacing does not change results: one-workgroup dispatches with progress equal the default run, record included', async () => {
    const h = henonHeiles().hamiltonian;
    const batch = 300, steps = 3000;
    const q0 = Float64Array.from({ length: 2 * batch }, (_, k) => 0.1 * Math.sin(k)), p0 = Float64Array.from({ length: 2 * batch }, (_, k) => 0.1 * Math.cos(k));
    const plain = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'gpu' });
    const split = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'gpu', maxWorkgroupsPerDispatch: 1 });
    const a = await plain.run({ q0, p0, steps, batch, record: 500 });
    const fractions: number[] = [];
    const b = await split.run({ q0, p0, steps, batch, record: 500, signal: new AbortController().signal, onProgress: (p) => fractions.push(p.fraction) });
    expect(bits(b.q)).toEqual(bits(a.q));
    expect(bits(b.p)).toEqual(bits(a.p));
    expect(bits(b.record!.q)).toEqual(bits(a.record!.q));
    expect(fractions.at(-1)).toBe(1);
    expect(Math.abs(a.q[0]! - q0[0]!)).toBeGreaterThan(1e-4);
    plain.dispose();
    split.dispose();
  });
});

describe('GPU runs: onFailure', () => {
  it("'report': failed trajectories at their last finite state, the others complete; 'throw' names the earliest", async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const { q0, p0, batch } = escapingBatch();
    const steps = 2000;
    const r = await st.run({ q0, p0, steps, batch, onFailure: 'report' });
    expect(r.status!.flatMap((s, b) => (s.ok ? [] : [b]))).toEqual([3, 6]);
    for (const b of [3, 6]) {
      const s = r.status![b]!;
      expect(s.code).toBe('NONFINITE');
      const alone = await st.run({ q0: pick(q0, b), p0: pick(p0, b), steps: s.step! });
      expect(bits([...pick(r.q, b), ...pick(r.p, b)])).toEqual(bits([...alone.q, ...alone.p]));
      expect([...alone.q, ...alone.p].every(Number.isFinite)).toBe(true);
    }
    const good = [0, 1, 2, 4, 5, 7];
    const sub = (a: Float64Array) => Float64Array.from(good.flatMap((b) => [...pick(a, b)]));
    const others = await st.run({ q0: sub(q0), p0: sub(p0), steps, batch: good.length });
    expect(bits(sub(r.q))).toEqual(bits(others.q));
    const error = await st.run({ q0, p0, steps, batch }).catch((e: unknown) => e as DarbouxError);
    const first = r.status![6]!.step!;
    expect(first).toBeLessThan(r.status![3]!.step!);
    expect(error).toMatchObject({ code: 'NONFINITE', details: { trajectory: 6, step: first, failed: 2, failedTrajectories: [3, 6] } });
    st.dispose();
  });

  it("'report' with an unconverged implicit solve: NO_CONVERGENCE, its step and residual", async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'midpoint', dt: 0.5, backend: 'gpu', maxIterations: 20 });
    const q0 = [0.1, 0.05, 0.5, 0.5, 0.1, 0], p0 = [0.1, 0, 0.3, 0.2, 0, 0.1];
    const r = await st.run({ q0, p0, steps: 200, batch: 3, onFailure: 'report' });
    expect(r.status![0]).toEqual({ ok: true });
    expect(r.status![2]).toEqual({ ok: true });
    const s = r.status![1]!;
    expect(s).toMatchObject({ ok: false, code: 'NO_CONVERGENCE' });
    expect(s.residual!).toBeGreaterThan(0);
    const alone = await st.run({ q0: q0.slice(2, 4), p0: p0.slice(2, 4), steps: s.step! });
    expect(bits(pick(r.q, 1))).toEqual(bits(alone.q));
    await expect(st.run({ q0, p0, steps: 200, batch: 3 })).rejects.toMatchObject({ code: 'NO_CONVERGENCE', details: { trajectory: 1, step: s.step, failed: 1 } });
    st.dispose();
  });
});

describe('per-particle GPU kernels: onFailure and abort', () => {
  for (const kernel of ['workgroup', 'tiled'] as const) {
    it(`${kernel}: a copy with overlapping particles fails at step 0; 'report' keeps the others, 'throw' counts the failures`, async () => {
      const { q, box } = fcc({ cells: [2, 2, 2], density: 0.8 });
      const n = q.length / 3;
      const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*((1/r)^12 - (1/r)^6)', cutoff: 1.5, shift: true } });
      const p = Float64Array.from(Float32Array.from(maxwellBoltzmann({ n, dim: 3, temperature: 1, mass: 1, seed: 2 })));
      const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.004, backend: 'gpu', particleKernel: kernel });
      expect((st as { kernel?: string }).kernel).toBe(kernel);
      const bad = Float64Array.from(q);
      bad.set(q.subarray(0, 3), 9); // particles 0 and 3 overlap (r = 0)
      const q0 = [...q, ...bad, ...q, ...bad], p0 = [...p, ...p, ...p, ...p];
      const r = await st.run({ q0, p0, steps: 20, batch: 4, onFailure: 'report' });
      expect(r.status).toEqual([{ ok: true }, { ok: false, code: 'NONFINITE', step: 0 }, { ok: true }, { ok: false, code: 'NONFINITE', step: 0 }]);
      const dof = q.length;
      // A failed copy at step 0 keeps its initial state (as f32); the good copies equal a run of one alone.
      expect(bits(r.q.subarray(dof, 2 * dof))).toEqual(bits(bad));
      const alone = await st.run({ q0: q, p0: p, steps: 20 });
      expect(bits(r.q.subarray(2 * dof, 3 * dof))).toEqual(bits(alone.q));
      expect(bits(r.p.subarray(0, dof))).toEqual(bits(alone.p));
      await expect(st.run({ q0, p0, steps: 20, batch: 4 })).rejects.toMatchObject({ code: 'NONFINITE', details: { step: 0, trajectory: 1, i: 0, j: 3, failed: 2, failedTrajectories: [1, 3] } });
      const controller = new AbortController();
      controller.abort();
      await expect(st.run({ q0: q, p0: p, steps: 20, signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
      st.dispose();
    });
  }
});
