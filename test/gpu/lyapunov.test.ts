/**
 * Lyapunov spectra on the GPU (f32, llvmpipe in CI) against the f64 CPU backend: a linear saddle's exact rate
 * log λ / dt, Hénon–Heiles and double-pendulum spectra over short times (before the f32 and f64 orbits part),
 * the symplectic zero sum, implicit methods (tangents solved in the kernel) against the CPU, onFailure 'report'
 * against the CPU's statuses, progress and abort.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, doublePendulum, fpuChain, henonHeiles, parse, type GpuStepper } from '../../src/index.js';
import { escapingBatch } from '../unit/run-fixtures.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { lyapunovLoopBudget } from '../../src/backends/gpu/lyapunov.js';

afterAll(() => releaseGpu());

describe('lyapunov (GPU)', () => {
  it('a linear saddle grows at log λ / dt (f32), as on the CPU', async () => {
    const a = 1.3, dt = 0.1;
    const h = parse({ q: ['q'], p: ['p'], H: 'p^2/2 - a^2*q^2/2', params: { a } });
    const trace = 2 + a * a * dt * dt;
    const expected = Math.log((trace + Math.sqrt(trace * trace - 4)) / 2) / dt;
    const gpu = await compile(h, { method: 'leapfrog', dt, backend: 'gpu' });
    const cpu = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
    const options = { q0: [0, 0, 0], p0: [0, 0, 0], batch: 3, steps: 2000, count: 2, renormalizeEvery: 5, historyEvery: 100 };
    const [g, c] = [await gpu.lyapunov(options), await cpu.lyapunov(options)];
    for (let b = 0; b < 3; b++) {
      expect(Math.abs(g.exponents[2 * b]! - c.exponents[2 * b]!)).toBeLessThan(1e-5 * expected);
      expect(Math.abs(g.exponents[2 * b + 1]! - c.exponents[2 * b + 1]!)).toBeLessThan(1e-5 * expected);
    }
    expect(Array.from(g.history.t)).toEqual(Array.from(c.history.t));
    // The late growth rate (history points 19 → 20): f32 logs, ~1e-7 per renormalisation.
    const k = g.history.t.length - 1;
    const rate = (g.history.exponents[k * 6]! * g.history.t[k]! - g.history.exponents[(k - 1) * 6]! * g.history.t[k - 1]!) / (g.history.t[k]! - g.history.t[k - 1]!);
    expect(Math.abs(rate - expected)).toBeLessThan(1e-5 * expected);
    gpu.dispose();
    cpu.dispose();
  });

  it('Hénon–Heiles (leapfrog) and the double pendulum (rk4): full spectra agree with the CPU within f32 tolerance', async () => {
    const cases = [
      { model: henonHeiles(), method: 'leapfrog', q0: [0.1, -0.2, 0.0, 0.3], p0: [0.3, 0.2, 0.45, 0.1], steps: 400, dt: 0.05 },
      { model: doublePendulum(), method: 'rk4', q0: [1, 0.5, 0.2, 0.1], p0: [0, 0, 0, 0], steps: 300, dt: 0.005 },
    ];
    for (const { model, method, q0, p0, steps, dt } of cases) {
      const gpu = await compile(model.hamiltonian, { method, dt, backend: 'gpu' });
      const cpu = await compile(model.hamiltonian, { method, dt, backend: 'cpu' });
      const options = { q0, p0, batch: 2, steps, count: 4, renormalizeEvery: 4 };
      const [g, c] = [await gpu.lyapunov(options), await cpu.lyapunov(options)];
      const scale = Math.max(...Array.from(c.exponents, Math.abs));
      for (let k = 0; k < 8; k++) expect(Math.abs(g.exponents[k]! - c.exponents[k]!)).toBeLessThan(2e-5 * Math.max(1, scale));
      if (method === 'leapfrog') expect(Math.abs(g.exponents.slice(0, 4).reduce((x, y) => x + y, 0))).toBeLessThan(1e-4);
      for (let k = 0; k < 4; k++) expect(Math.abs(g.q[k]! - c.q[k]!)).toBeLessThan(1e-4);
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('long states held in arrays (an FPU chain of 40 sites) agree with the CPU', async () => {
    const { hamiltonian: h, q0, p0, dt } = fpuChain({ sites: 40, beta: 8, ends: 'fixed' });
    const gpu = await compile(h, { method: 'leapfrog', dt, backend: 'gpu' });
    const cpu = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
    const options = { q0, p0, steps: 200, count: 3, renormalizeEvery: 5 };
    const [g, c] = [await gpu.lyapunov(options), await cpu.lyapunov(options)];
    for (let k = 0; k < 3; k++) expect(Math.abs(g.exponents[k]! - c.exponents[k]!)).toBeLessThan(2e-5);
    gpu.dispose();
    cpu.dispose();
  });

  it('implicit methods (midpoint, gauss4; fixed-point and Newton solvers: the tangents’ linear stage equations solved in the kernel): full spectra agree with the CPU within f32 tolerance and sum to 0', async () => {
    const cases = [
      { model: henonHeiles(), method: 'midpoint', solver: 'fixedPoint', q0: [0.1, -0.2, 0.0, 0.3], p0: [0.3, 0.2, 0.45, 0.1], steps: 400, dt: 0.05 },
      { model: doublePendulum(), method: 'gauss4', solver: 'fixedPoint', q0: [1, 0.5, 0.2, 0.1], p0: [0, 0, 0, 0], steps: 300, dt: 0.01 },
      { model: henonHeiles(), method: 'midpoint', solver: 'newton', q0: [0.1, -0.2, 0.0, 0.3], p0: [0.3, 0.2, 0.45, 0.1], steps: 200, dt: 0.1 },
    ] as const;
    for (const { model, method, solver, q0, p0, steps, dt } of cases) {
      const gpu = await compile(model.hamiltonian, { method, dt, backend: 'gpu', solver });
      const cpu = await compile(model.hamiltonian, { method, dt, backend: 'cpu', solver });
      const options = { q0, p0, batch: 2, steps, count: 4, renormalizeEvery: 4 };
      const [g, c] = [await gpu.lyapunov(options), await cpu.lyapunov(options)];
      const scale = Math.max(...Array.from(c.exponents, Math.abs));
      for (let k = 0; k < 8; k++) expect(Math.abs(g.exponents[k]! - c.exponents[k]!), `${method} ${solver} ${k}`).toBeLessThan(2e-5 * Math.max(1, scale));
      for (let b = 0; b < 2; b++) expect(Math.abs(g.exponents.slice(4 * b, 4 * b + 4).reduce((x, y) => x + y, 0))).toBeLessThan(1e-4);
      for (let k = 0; k < 4; k++) expect(Math.abs(g.q[k]! - c.q[k]!)).toBeLessThan(1e-4);
      gpu.dispose();
      cpu.dispose();
    }
  });

  it("onFailure 'report': the CPU's statuses, finite exponents (the estimate before the failure); 'throw' names the earliest failure", async () => {
    const { q0, p0, batch } = escapingBatch();
    const gpu = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const cpu = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const options = { q0, p0, batch, steps: 2000, count: 2, renormalizeEvery: 10, onFailure: 'report' } as const;
    const [g, c] = [await gpu.lyapunov(options), await cpu.lyapunov(options)];
    expect(g.status!.map((s) => s.ok)).toEqual(c.status!.map((s) => s.ok));
    for (const b of [3, 6]) {
      expect(g.status![b]!.code).toBe('NONFINITE');
      // f32 and f64 orbits escape within a few steps of each other.
      expect(Math.abs(g.status![b]!.step! - c.status![b]!.step!)).toBeLessThan(20);
    }
    expect([...g.exponents, ...g.history.exponents, ...g.q, ...g.p].every(Number.isFinite)).toBe(true);
    // The survivors (regular orbits) agree; a failed one's estimate depends on where its f32 orbit escaped.
    for (const b of [0, 1, 2, 4, 5, 7]) for (const k of [2 * b, 2 * b + 1]) expect(Math.abs(g.exponents[k]! - c.exponents[k]!), `${k}`).toBeLessThan(2e-3);
    await expect(gpu.lyapunov({ ...options, onFailure: 'throw' })).rejects.toMatchObject({ code: 'NONFINITE', details: { trajectory: 6, failed: 2 } });
    const mid = await compile(henonHeiles().hamiltonian, { method: 'midpoint', dt: 0.5, backend: 'gpu', maxIterations: 60 });
    const r = await mid.lyapunov({ q0: [0.1, 0.05, 0.5, 0.5, 0.1, 0], p0: [0.1, 0, 0.3, 0.2, 0, 0.1], steps: 200, batch: 3, count: 4, renormalizeEvery: 4, onFailure: 'report' });
    expect(r.status!.map((s) => s.code ?? 'ok')).toEqual(['ok', 'NO_CONVERGENCE', 'ok']);
    expect([...r.exponents].every(Number.isFinite)).toBe(true);
    for (const st of [gpu, cpu, mid]) st.dispose();
  });

  it('an implicit dispatch that llvmpipe cuts short runs again with fewer steps: the same result bit for bit', async (context) => {
    const options = { q0: [0.1, -0.2, 0.0, 0.3], p0: [0.3, 0.2, 0.45, 0.1], batch: 2, steps: 70000, count: 4, renormalizeEvery: 4, historyEvery: 5000 };
    const reference = (await compile(henonHeiles().hamiltonian, { method: 'midpoint', dt: 0.05, backend: 'gpu' })) as GpuStepper;
    if (reference.gpu.adapterKind !== 'llvmpipe') {
      reference.dispose();
      return context.skip();
    }
    const expected = await reference.lyapunov(options);
    const saved = { ...lyapunovLoopBudget };
    // Sized as if one invocation could loop 20× longer: every first dispatch overruns the limiter.
    Object.assign(lyapunovLoopBudget, { invocationLoops: 1_200_000, rerunBlocks: 0 });
    try {
      const cut = await compile(henonHeiles().hamiltonian, { method: 'midpoint', dt: 0.05, backend: 'gpu' });
      const fractions: number[] = [];
      const got = await cut.lyapunov({ ...options, onProgress: (p) => fractions.push(p.fraction) });
      expect(lyapunovLoopBudget.rerunBlocks).toBeGreaterThan(0);
      expect(Array.from(got.exponents)).toEqual(Array.from(expected.exponents));
      expect(Array.from(got.history.exponents)).toEqual(Array.from(expected.history.exponents));
      expect([...got.q, ...got.p]).toEqual([...expected.q, ...expected.p]);
      expect(fractions.at(-1)).toBe(1);
      expect(fractions.every((f, k) => k === 0 || f >= fractions[k - 1]!)).toBe(true);
      cut.dispose();
    } finally {
      Object.assign(lyapunovLoopBudget, saved);
      reference.dispose();
    }
  });

  it('bad counts are refused with OPTION', async () => {
    const hh = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    await expect(hh.lyapunov({ q0: [0.1, 0], p0: [0, 0.1], steps: 10, count: 5 })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(hh.lyapunov({ q0: [0.1, 0], p0: [0, 0.1], steps: 10, renormalizeEvery: 0 })).rejects.toMatchObject({ code: 'OPTION' });
    hh.dispose();
  });

  it('reports progress to 1 and can be aborted (ABORTED), the stepper still usable', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const fractions: number[] = [];
    await st.lyapunov({ q0: [0.1, 0], p0: [0, 0.1], steps: 20_000, count: 2, onProgress: (p) => fractions.push(p.fraction) });
    expect(fractions.at(-1)).toBe(1);
    const controller = new AbortController();
    const pending = st.lyapunov({ q0: [0.1, 0], p0: [0, 0.1], steps: 50_000_000, count: 2, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    const again = await st.lyapunov({ q0: [0.1, 0], p0: [0, 0.1], steps: 100, count: 1 });
    expect(again.exponents.length).toBe(1);
    st.dispose();
  });
});
