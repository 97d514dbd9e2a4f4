/**
 * Per-trajectory parameters on the GPU (llvmpipe in CI): a λ sweep in one run equals each value run alone (to f32
 * rounding against a stepper compiled per value), one pipeline serves every value, per-trajectory parameter
 * gradients match central differences of the f64 CPU objective, and the pipeline cache stays within its bound.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, henonHeiles } from '../../src/index.js';
import { acquireGpu, createComputeKernel, pipelineCacheStats, releaseGpu, setPipelineCacheLimits } from '../../src/runtime/index.js';
import { lambdaSweep, twoParameters } from '../unit/sweep-fixtures.js';

afterAll(() => releaseGpu());

describe('GPU runs with per-trajectory parameters', () => {
  it('a λ sweep is one pipeline and one run, and equals each λ compiled and run alone (f32 tolerance)', async () => {
    const h = henonHeiles().hamiltonian;
    const { q0, p0, batch, lam } = lambdaSweep(64);
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const gpu = await acquireGpu();
    const before = pipelineCacheStats(gpu).compiled;
    const swept = await st.run({ q0, p0, steps: 200, batch, params: { lam } });
    expect(pipelineCacheStats(gpu).compiled - before).toBe(1); // the sweep variant's `main`, for all 64 values
    const again = await st.run({ q0, p0, steps: 200, batch, params: { lam: lam.map((v) => v * 0.9) } });
    expect(pipelineCacheStats(gpu).compiled - before).toBe(1); // new values, no new pipeline
    expect(Array.from(again.q)).not.toEqual(Array.from(swept.q));
    for (const b of [0, 17, 40, 63]) {
      const one = await compile(h.withParams({ lam: lam[b]! }), { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
      const alone = await one.run({ q0: q0.slice(2 * b, 2 * b + 2), p0: p0.slice(2 * b, 2 * b + 2), steps: 200 });
      for (let i = 0; i < 2; i++) {
        expect(Math.abs(swept.q[2 * b + i]! - alone.q[i]!)).toBeLessThan(2e-4);
        expect(Math.abs(swept.p[2 * b + i]! - alone.p[i]!)).toBeLessThan(2e-4);
      }
      one.dispose();
    }
    // The f64 CPU sweep agrees to f32 accuracy.
    const cpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const reference = await cpu.run({ q0, p0, steps: 200, batch, params: { lam } });
    for (let i = 0; i < 2 * batch; i++) expect(Math.abs(swept.q[i]! - reference.q[i]!)).toBeLessThan(2e-4);
    st.dispose();
  });

  it('record, onFailure: report and an implicit method with two per-trajectory parameters', async () => {
    const st = await compile(henonHeiles().hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const q0 = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], p0 = [0.3, 0, 0.3, 0, 0.3, 0];
    const result = await st.run({ q0, p0, steps: 2000, batch: 3, params: { lam: [0.1, 3, 0.1] }, onFailure: 'report', record: 500 });
    expect(result.status!.map((s) => s.ok)).toEqual([true, false, true]);
    expect(result.record!.count).toBe(4);
    // f32 overflows earlier than f64: the reference is the same trajectory alone on the GPU, and its last finite state.
    const alone = await st.run({ q0: [0.5, 0.5], p0: [0.3, 0], steps: 2000, params: { lam: 3 }, onFailure: 'report' });
    const step = alone.status![0]!.step!;
    expect(result.status![1]!.step).toBe(step);
    expect(step).toBeGreaterThan(10);
    const last = await st.run({ q0: [0.5, 0.5], p0: [0.3, 0], steps: step, params: { lam: [3] } });
    expect(Array.from(result.q.subarray(2, 4))).toEqual(Array.from(last.q));
    st.dispose();

    const implicit = await compile(twoParameters(), { method: 'midpoint', dt: 0.1, backend: 'gpu' });
    const cpuImplicit = await compile(twoParameters(), { method: 'midpoint', dt: 0.1, backend: 'cpu' });
    const o = { q0: [0.4, -0.3, 0.8], p0: [0.1, 0.5, -0.2], steps: 50, batch: 3, params: { k: [0.5, 1, 2], eps: [0, 0.1, 0.3] } };
    const [g, c] = [await implicit.run(o), await cpuImplicit.run(o)];
    for (let b = 0; b < 3; b++) expect(Math.abs(g.q[b]! - c.q[b]!)).toBeLessThan(1e-4);
    implicit.dispose();
  });

  it('sections and saveAt of a 2-value sweep equal each value run alone, and the f64 CPU sweep to f32 accuracy', async () => {
    const h = henonHeiles().hamiltonian;
    const q0 = [0.1, 0, -0.2, 0], p0 = [0.2, 0.4, 0.1, 0.35], lam = [0.6, 1.1];
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const cpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    // The section reads λ too: the kernel's crossing location must use each trajectory's own value.
    const options = { steps: 600, section: { expr: 'y + 0.02*lam', direction: 1 as const, max: 12 }, saveAtSteps: [300, 600] };
    const swept = await st.run({ q0, p0, batch: 2, params: { lam }, ...options });
    const reference = await cpu.run({ q0, p0, batch: 2, params: { lam }, ...options });
    const [g, c] = [swept.section!, reference.section!];
    for (let b = 0; b < 2; b++) {
      const alone = await st.run({ q0: q0.slice(2 * b, 2 * b + 2), p0: p0.slice(2 * b, 2 * b + 2), params: { lam: [lam[b]!] }, ...options });
      expect(g.count[b]).toBe(alone.section!.count[0]);
      expect(g.count[b]).toBeGreaterThan(3);
      for (let k = 0; k < g.count[b]!; k++) {
        const slot = 12 * b + k;
        expect(Math.abs(g.t[slot]! - alone.section!.t[k]!)).toBeLessThan(1e-5);
        expect(Math.abs(g.q[2 * slot]! - alone.section!.q[2 * k]!)).toBeLessThan(1e-5);
      }
      expect(Math.abs(g.count[b]! - c.count[b]!)).toBeLessThanOrEqual(1);
      for (let k = 0; k < Math.min(g.count[b]!, c.count[b]!); k++) {
        const slot = 12 * b + k;
        expect(Math.abs(g.t[slot]! - c.t[slot]!)).toBeLessThan(2e-4);
        expect(Math.abs(g.q[2 * slot]! - c.q[2 * slot]!)).toBeLessThan(2e-4);
        expect(Math.abs(g.q[2 * slot + 1]! + 0.02 * lam[b]!)).toBeLessThan(2e-6); // on the section y = −0.02·λ
      }
      for (let k = 0; k < 2; k++) {
        for (let i = 0; i < 2; i++) expect(Math.abs(swept.saved!.q[4 * k + 2 * b + i]! - reference.saved!.q[4 * k + 2 * b + i]!)).toBeLessThan(2e-4);
      }
    }
    st.dispose();
  });

  for (const method of ['leapfrog', 'rk4']) it(`vjp (${method}): per-trajectory dparams match central differences of the f64 objective`, async () => {
    const st = await compile(twoParameters(), { method, dt: 0.1, backend: 'gpu' });
    const cpu = await compile(twoParameters(), { method, dt: 0.1, backend: 'cpu' });
    const o = { q0: [0.4, -0.3, 0.8], p0: [0.1, 0.5, -0.2], dq: [1, 0.5, -0.7], dp: [0.3, -1, 0.2], steps: 40, batch: 3 };
    const k = [0.5, 1.3, 2];
    const result = await st.vjp({ ...o, params: { k } });
    const dk = result.dparams.k as Float64Array;
    expect(dk).toBeInstanceOf(Float64Array);
    const objective = async (values: number[]) => {
      const { q, p } = await cpu.run({ q0: o.q0, p0: o.p0, steps: o.steps, batch: 3, params: { k: values } });
      return values.map((_, b) => o.dq[b]! * q[b]! + o.dp[b]! * p[b]!);
    };
    const e = 1e-6;
    for (let b = 0; b < 3; b++) {
      const up = await objective(k.map((v, i) => (i === b ? v + e : v)));
      const down = await objective(k.map((v, i) => (i === b ? v - e : v)));
      const fd = (up[b]! - down[b]!) / (2 * e);
      expect(Math.abs(dk[b]! - fd)).toBeLessThan(1e-3 * Math.max(1, Math.abs(fd)));
    }
    // The other parameters' gradients are summed as before (CPU f64 reference).
    const reference = await cpu.vjp({ ...o, params: { k } });
    expect(Math.abs((result.dparams.eps as number) - (reference.dparams.eps as number))).toBeLessThan(1e-3);
    st.dispose();
  });
});

describe('GPU pipeline cache', () => {
  it('compile() pays the pipeline compiles: plain, recording and failing runs compile nothing more', async () => {
    const gpu = await acquireGpu();
    const st = await compile(henonHeiles({ lambda: 0.61 }).hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const compiled = pipelineCacheStats(gpu).compiled;
    await st.run({ q0: [0.1, 0.2], p0: [0, 0.1], steps: 100 });
    await st.run({ q0: [0.1, 0.2], p0: [0, 0.1], steps: 100, record: 10 });
    await st.run({ q0: [0.9, 0.9], p0: [0.8, 0], steps: 2000, onFailure: 'report' }); // escapes: the per-step kernel finds the step
    expect(pipelineCacheStats(gpu).compiled).toBe(compiled);
    st.dispose();
  });


  it('stays within its count bound (least recently used dropped) and a disposed stepper frees its pipelines', async () => {
    const gpu = await acquireGpu();
    const before = setPipelineCacheLimits({ count: 3 });
    try {
      const kernel = (k: number) => `@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n@compute @workgroup_size(1)\nfn main() { a[0] = ${k}.0; }\n`;
      for (let k = 0; k < 5; k++) await createComputeKernel(gpu, { wgsl: kernel(k) });
      expect(pipelineCacheStats(gpu).pipelines).toBeLessThanOrEqual(3);
      const compiled = pipelineCacheStats(gpu).compiled;
      await createComputeKernel(gpu, { wgsl: kernel(4) }); // recent: cached
      expect(pipelineCacheStats(gpu).compiled).toBe(compiled);
      await createComputeKernel(gpu, { wgsl: kernel(0) }); // evicted: compiled again
      expect(pipelineCacheStats(gpu).compiled).toBe(compiled + 1);
      expect(pipelineCacheStats(gpu).pipelines).toBeLessThanOrEqual(3);
    } finally {
      setPipelineCacheLimits(before);
    }
    const st = await compile(henonHeiles({ lambda: 0.77 }).hamiltonian, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const held = pipelineCacheStats(gpu).pipelines;
    st.dispose();
    expect(pipelineCacheStats(gpu).pipelines).toBe(held - 3); // its three entry points (compiled in compile())
  });

  it('the byte bound: one large module beyond it evicts the others', async () => {
    const gpu = await acquireGpu();
    const small = `@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n@compute @workgroup_size(1)\nfn main() { a[0] = 1.0; }\n`;
    await createComputeKernel(gpu, { wgsl: small });
    const before = setPipelineCacheLimits({ bytes: small.length * 3 });
    try {
      const big = `${small}// ${'x'.repeat(small.length * 3)}\n`;
      await createComputeKernel(gpu, { wgsl: big });
      expect(pipelineCacheStats(gpu).pipelines).toBe(1);
    } finally {
      setPipelineCacheLimits(before);
    }
  });
});
