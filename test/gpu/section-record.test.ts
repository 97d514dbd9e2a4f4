/** `record` together with `section` / `saveAt` on the GPU, and the section, Lyapunov and backward pipelines freed by `dispose`. */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, henonHeiles } from '../../src/index.js';
import { acquireGpu, pipelineCacheStats, releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

const q0 = [0.1, 0, -0.2, 0.05, 0.3, -0.1], p0 = [0.2, 0.4, 0.1, 0.35, -0.1, 0.2];
const section = { expr: 'y', direction: 1 as const, max: 12 };

describe('record with section on the GPU', () => {
  it('records the same states as a plain GPU record (exactly) and the CPU (f32 tolerance); the section is unchanged', async () => {
    const h = henonHeiles().hamiltonian;
    const gpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const cpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const options = { q0, p0, batch: 3, steps: 305, record: 20, section };
    const both = await gpu.run(options);
    const plain = await gpu.run({ q0, p0, batch: 3, steps: 305, record: 20 });
    const alone = await gpu.run({ q0, p0, batch: 3, steps: 305, section });
    const reference = await cpu.run(options);
    expect(both.record!.count).toBe(15);
    expect(both.record!.every).toBe(20);
    expect(Array.from(both.record!.q)).toEqual(Array.from(plain.record!.q));
    expect(Array.from(both.record!.p)).toEqual(Array.from(plain.record!.p));
    expect(Array.from(both.q)).toEqual(Array.from(plain.q));
    expect(Array.from(both.section!.t)).toEqual(Array.from(alone.section!.t));
    expect(Array.from(both.section!.count)).toEqual(Array.from(alone.section!.count));
    expect(both.saved).toBeUndefined();
    expect(reference.record!.q.length).toBe(both.record!.q.length);
    let worst = 0;
    for (let i = 0; i < reference.record!.q.length; i++) {
      worst = Math.max(worst, Math.abs(both.record!.q[i]! - reference.record!.q[i]!), Math.abs(both.record!.p[i]! - reference.record!.p[i]!));
    }
    expect(worst).toBeLessThan(1e-4);
    expect(worst).toBeGreaterThan(0); // f32 against f64: not the CPU's arrays
    gpu.dispose();
    cpu.dispose();
  });

  it('recordInitial, saveAtSteps overlapping the recorded steps, and a sweep: each array as the run without the other', async () => {
    const h = henonHeiles().hamiltonian;
    const gpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const params = { lam: [1, 0.7, 1.2] };
    const saveAtSteps = [0, 7, 40, 100];
    const both = await gpu.run({ q0, p0, batch: 3, steps: 100, record: 20, recordInitial: true, saveAtSteps, section, params });
    const recordOnly = await gpu.run({ q0, p0, batch: 3, steps: 100, record: 20, recordInitial: true, params });
    const savedOnly = await gpu.run({ q0, p0, batch: 3, steps: 100, saveAtSteps, section, params });
    expect(both.record!.count).toBe(6);
    expect(Array.from(both.record!.q)).toEqual(Array.from(recordOnly.record!.q));
    expect(Array.from(both.record!.p)).toEqual(Array.from(recordOnly.record!.p));
    expect(Array.from(both.saved!.q)).toEqual(Array.from(savedOnly.saved!.q));
    expect(Array.from(both.saved!.steps)).toEqual(saveAtSteps);
    expect(Array.from(both.saved!.q.subarray(0, 6))).toEqual(q0); // step 0: the initial state as given
    // Step 40 is both saved (slot 2) and recorded (snapshot 2 after the initial one).
    expect(Array.from(both.saved!.p.subarray(12, 18))).toEqual(Array.from(both.record!.p.subarray(12, 18)));
    gpu.dispose();
  });

  it("onFailure: 'report': the escaping trajectory's snapshots after its failure are NaN, before it as run alone", async () => {
    const h = henonHeiles().hamiltonian;
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const q = [0.1, 0, 0.5, 0.5, -0.2, 0], p = [0.2, 0.4, 0.3, 0, 0.1, 0.35];
    const r = await st.run({ q0: q, p0: p, batch: 3, steps: 1500, record: 100, section: { expr: 'y', max: 40 }, onFailure: 'report' });
    const step = r.status![1]!.step!;
    expect(r.status!.map((s) => s.ok)).toEqual([true, false, true]);
    const before = Math.floor(step / 100);
    expect(before).toBeGreaterThan(0);
    const alone = await st.run({ q0: q.slice(2, 4), p0: p.slice(2, 4), steps: before * 100, record: 100 });
    for (let k = 0; k < 15; k++) {
      const got = Array.from(r.record!.q.subarray(6 * k + 2, 6 * k + 4));
      if (k < before) expect(got).toEqual(Array.from(alone.record!.q.subarray(2 * k, 2 * k + 2)));
      else expect(got.every(Number.isNaN)).toBe(true);
    }
    st.dispose();
  });
});

describe('dispose frees every pipeline of the stepper', () => {
  it('section, Lyapunov and backward kernels leave the pipeline cache with the stepper', async () => {
    const gpu = await acquireGpu();
    const h = henonHeiles({ lambda: 0.77 }).hamiltonian; // values no other test compiles
    const held = () => pipelineCacheStats(gpu).pipelines;
    const start = held();
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    await st.run({ q0, p0, batch: 3, steps: 50, section });
    await st.run({ q0, p0, batch: 3, steps: 50, saveAtSteps: [10], section, params: { lam: [1, 2, 3] } });
    await st.lyapunov({ q0: q0.slice(0, 2), p0: p0.slice(0, 2), steps: 40, count: 2, renormalizeEvery: 10 });
    await st.vjp({ q0: q0.slice(0, 2), p0: p0.slice(0, 2), steps: 20, dq: [1, 0], dp: [0, 0] });
    const compiled = held() - start;
    expect(compiled).toBeGreaterThanOrEqual(3 + 4); // main, mainRecord, mainChecked + 2 section + Lyapunov + backward (+ the shared summary kernel, if not cached yet)
    st.dispose();
    // What stays: only pipelines shared by every stepper (the status summary kernel).
    expect(held() - start).toBeLessThanOrEqual(1);
  });
});
