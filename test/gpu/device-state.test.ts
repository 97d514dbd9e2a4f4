/**
 * Device-resident states on the GPU backend (`st.upload`, `run({ state })`, `st.download`) and the run buffers a
 * stepper keeps across runs (src/backends/gpu/run-buffers.ts). Oracles: plain runs of the same f32 kernel (bit
 * for bit), and a fresh stepper (no buffers kept) for runs of changing batch sizes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, DarbouxError, henonHeiles } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

const h = henonHeiles().hamiltonian;

/** Bound Hénon–Heiles states (energy below 1/6), trajectory-major, different per trajectory. */
function states(batch: number, shift = 0) {
  const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch);
  for (let b = 0; b < batch; b++) {
    q0[2 * b] = 0.2 * Math.sin(1.7 * (b + shift));
    q0[2 * b + 1] = 0.2 * Math.cos(0.9 * (b + shift));
    p0[2 * b] = 0.2 * Math.sin(2.3 * (b + shift) + 1);
    p0[2 * b + 1] = 0.2 * Math.cos(1.1 * (b + shift) + 2);
  }
  return { q0, p0 };
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<DarbouxError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(DarbouxError);
    return e as DarbouxError;
  }
  throw new Error('expected a rejection');
}

describe('GPU device-resident state', () => {
  it('runs on a resident state equal chained plain runs bit for bit (leapfrog and midpoint with its stats)', async () => {
    for (const method of ['leapfrog', 'midpoint'] as const) {
      const st = await compile(h, { method, dt: 0.05, backend: 'gpu' });
      const batch = 300;
      const { q0, p0 } = states(batch);
      const state = await st.upload(q0, p0, { batch });
      expect(state.backend).toBe('gpu');
      expect(state.batch).toBe(batch);
      let q: Float64Array = q0, p: Float64Array = p0;
      let plainStats, stateStats;
      for (let k = 0; k < 5; k++) {
        const plain = await st.run({ q0: q, p0: p, steps: 40, batch });
        q = plain.q;
        p = plain.p;
        plainStats = plain.stats;
        const resident = await st.run({ state, steps: 40 });
        expect(resident.state).toBe(state);
        stateStats = resident.stats;
      }
      const down = await st.download(state);
      expect(down.q).toEqual(q);
      expect(down.p).toEqual(p);
      expect(stateStats).toEqual(plainStats);
      if (method === 'midpoint') expect(stateStats!.iterations.mean).toBeGreaterThan(1);
      // The state moved: it is not the upload.
      expect(down.q).not.toEqual(Float64Array.from(Float32Array.from(q0)));
      state.dispose();
      st.dispose();
    }
  });

  it('upload then download without a run returns the f32-rounded input', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const { q0, p0 } = states(7);
    const state = await st.upload(q0, p0, { batch: 7 });
    const { q, p } = await st.download(state);
    expect(q).toEqual(Float64Array.from(Float32Array.from(q0)));
    expect(p).toEqual(Float64Array.from(Float32Array.from(p0)));
    expect((await st.run({ state, steps: 0 })).state).toBe(state);
    expect((await st.download(state)).q).toEqual(q);
    state.dispose();
    st.dispose();
  });

  it('per-trajectory params work on a resident state as in a plain run', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const batch = 65;
    const { q0, p0 } = states(batch);
    const lam = Float64Array.from({ length: batch }, (_, b) => 0.5 + b / batch);
    const plain = await st.run({ q0, p0, steps: 100, batch, params: { lam } });
    const state = await st.upload(q0, p0, { batch });
    await st.run({ state, steps: 100, params: { lam } });
    expect((await st.download(state)).q).toEqual(plain.q);
    state.dispose();
    st.dispose();
  });

  it('a failing resident run rejects as the plain run does (same code, step and trajectory)', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const batch = 70;
    const { q0, p0 } = states(batch);
    q0[2 * 33] = 0.9; q0[2 * 33 + 1] = 0.9; p0[2 * 33] = 0.8; // trajectory 33 escapes
    const plain = await rejection(st.run({ q0, p0, steps: 2000, batch }));
    const state = await st.upload(q0, p0, { batch });
    const resident = await rejection(st.run({ state, steps: 2000 }));
    expect(plain.code).toBe('NONFINITE');
    expect(resident.code).toBe(plain.code);
    expect(resident.details).toEqual(plain.details);
    // The rejected run left the state as it was: the upload, rounded to f32.
    const after = await st.download(state);
    expect(after.q).toEqual(Float64Array.from(Float32Array.from(q0)));
    expect(after.p).toEqual(Float64Array.from(Float32Array.from(p0)));
    state.dispose();
    st.dispose();
  });
});

describe('GPU run buffers kept across runs', () => {
  it('runs of changing batch sizes on one stepper equal the same runs on fresh steppers', async () => {
    const kept = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    for (const [k, batch] of [1000, 10, 3000, 1, 10].entries()) {
      const { q0, p0 } = states(batch, k);
      const fresh = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
      const expected = await fresh.run({ q0, p0, steps: 50, batch });
      fresh.dispose();
      const got = await kept.run({ q0, p0, steps: 50, batch });
      expect(got.q).toEqual(expected.q);
      expect(got.p).toEqual(expected.p);
    }
    kept.dispose();
  });

  it('a failed run leaves no stale status: the next clean run on the same stepper succeeds, smaller or larger', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const bad = states(200);
    bad.q0[2 * 150] = 0.9; bad.q0[2 * 150 + 1] = 0.9; bad.p0[2 * 150] = 0.8;
    const report = await st.run({ q0: bad.q0, p0: bad.p0, steps: 2000, batch: 200, onFailure: 'report' });
    expect(report.status!.filter((s) => !s.ok).map((_, i) => i)).toHaveLength(1);
    expect(report.status![150]!.ok).toBe(false);
    for (const batch of [160, 400]) {
      const good = states(batch);
      const run = await st.run({ q0: good.q0, p0: good.p0, steps: 2000, batch, onFailure: 'report' });
      expect(run.status!.every((s) => s.ok)).toBe(true);
    }
    st.dispose();
  });

  it('two runs in flight at once on one stepper each get their own buffers', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const a = states(500, 0), b = states(300, 9);
    const [ra, rb] = await Promise.all([st.run({ ...a, steps: 300, batch: 500 }), st.run({ ...b, steps: 300, batch: 300 })]);
    expect(ra.q).toEqual((await st.run({ ...a, steps: 300, batch: 500 })).q);
    expect(rb.q).toEqual((await st.run({ ...b, steps: 300, batch: 300 })).q);
    st.dispose();
  });
});

describe('GPU device-state refusals and disposal', () => {
  it('refuses state with q0/p0, neither, host-only options, a wrong batch and foreign states', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const cpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const { q0, p0 } = states(4);
    const state = await st.upload(q0, p0, { batch: 4 });
    const run = st.run as (o: unknown) => Promise<unknown>;
    expect((await rejection(run({ state, q0, p0, steps: 1 }))).code).toBe('OPTION');
    expect((await rejection(run({ steps: 1 }))).code).toBe('OPTION');
    for (const extra of [{ record: 1 }, { recordInitial: true }, { onFailure: 'report' }, { memoryBudget: 1e6 }]) {
      expect((await rejection(run({ state, steps: 1, ...extra }))).code).toBe('OPTION');
    }
    const wrongBatch = await rejection(run({ state, steps: 1, batch: 5 }));
    expect(wrongBatch.code).toBe('INPUT');
    expect(wrongBatch.details).toMatchObject({ batch: 5, stateBatch: 4 });
    const cpuState = await cpu.upload(q0, p0, { batch: 4 });
    expect((await rejection(st.run({ state: cpuState, steps: 1 }))).details).toMatchObject({ stateBackend: 'cpu', backend: 'gpu' });
    expect((await rejection(cpu.run({ state, steps: 1 }))).details).toMatchObject({ stateBackend: 'gpu', backend: 'cpu' });
    expect((await rejection(run({ state: { q0 }, steps: 1 }))).code).toBe('INPUT');
    expect((await rejection(st.upload(q0, p0, { batch: 3 }))).code).toBe('INPUT');
    expect((await rejection(st.upload([1e39, 0], [0, 0]))).code).toBe('INPUT'); // beyond f32
    state.dispose();
    cpuState.dispose();
    cpu.dispose();
    st.dispose();
  });

  it('a disposed state is refused by run and download; a disposed stepper refuses upload', async () => {
    const st = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const { q0, p0 } = states(3);
    const state = await st.upload(q0, p0, { batch: 3 });
    await st.run({ state, steps: 10 });
    state.dispose();
    state.dispose(); // idempotent
    expect(state.disposed).toBe(true);
    expect((await rejection(st.run({ state, steps: 1 }))).details).toMatchObject({ disposed: true });
    expect((await rejection(st.download(state))).details).toMatchObject({ disposed: true });
    st.dispose();
    expect((await rejection(st.upload(q0, p0, { batch: 3 }))).details).toMatchObject({ disposed: true });
  });
});
