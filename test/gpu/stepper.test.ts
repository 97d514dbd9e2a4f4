import { afterAll, describe, expect, it } from 'vitest';
import { compile, hnn, parse, type GpuStepper, harmonicOscillator, henonHeiles, kepler, methodNames, pendulum, type Model } from '../../src/index.js';
import { gpuAvailable, releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

/** Largest difference between GPU (f32) and CPU (f64) states, relative to the state's scale. */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0, scale = 1e-30;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

/** A small batch of initial states scattered around the model's own. */
function batchAround(model: Model, batch: number) {
  const n = model.q0.length;
  const q0 = new Float64Array(batch * n), p0 = new Float64Array(batch * n);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      q0[b * n + i] = model.q0[i]! + 0.01 * Math.sin(b + 3 * i);
      p0[b * n + i] = model.p0[i]! + 0.01 * Math.cos(2 * b + i);
    }
  }
  return { q0, p0 };
}

const models = [harmonicOscillator(), pendulum(), kepler({ eccentricity: 0.3 }), henonHeiles()];

describe('GPU stepper agrees with the f64 CPU backend', () => {
  for (const model of models) {
    for (const method of methodNames()) {
      it(`${model.name} × ${method}`, async () => {
        const steps = 200, batch = 257;
        const { q0, p0 } = batchAround(model, batch);
        const gpu = await compile(model.hamiltonian, { method, dt: model.dt, backend: 'gpu' });
        const cpu = await compile(model.hamiltonian, { method, dt: model.dt, backend: 'cpu' });
        expect(gpu.backend).toBe('gpu');
        expect(gpu.wgsl).toMatch(/fn main\(/);
        expect(gpu.wgsl).toMatch(/fn mainRecord\(/);
        const a = await gpu.run({ q0, p0, steps, batch, record: 50 });
        const b = await cpu.run({ q0, p0, steps, batch, record: 50 });
        // f32 rounding accumulates over 200 steps; 1e-4 relative is far below any method or model error.
        expect(relativeDifference(a.q, b.q)).toBeLessThan(1e-4);
        expect(relativeDifference(a.p, b.p)).toBeLessThan(1e-4);
        expect(relativeDifference(a.record!.q, b.record!.q)).toBeLessThan(1e-4);
        expect(relativeDifference(a.record!.p, b.record!.p)).toBeLessThan(1e-4);
        gpu.dispose();
        cpu.dispose();
      });
    }
  }
});

describe('loop-iteration bounds of software adapters', () => {
  it('runs more steps than llvmpipe allows one invocation by splitting dispatches', async () => {
    const model = henonHeiles();
    const gpu = await compile(model.hamiltonian, { dt: 0.01, backend: 'gpu' });
    const cpu = await compile(model.hamiltonian, { dt: 0.01, backend: 'cpu' });
    const a = await gpu.run({ q0: model.q0, p0: model.p0, steps: 70_000 });
    const b = await cpu.run({ q0: model.q0, p0: model.p0, steps: 70_000 });
    expect(relativeDifference(a.q, b.q)).toBeLessThan(2e-3);
  });

  it('integrates a wide neural Hamiltonian (tensor loops inside the step) like the CPU', async () => {
    const model = hnn({ dof: 1, hidden: [200], activation: 'tanh', seed: 0, separable: true });
    const gpu = await compile(model.hamiltonian!, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const cpu = await compile(model.hamiltonian!, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const a = await gpu.run({ q0: [0.5, -0.2], p0: [0.3, 0.1], steps: 300, batch: 2 });
    const b = await cpu.run({ q0: [0.5, -0.2], p0: [0.3, 0.1], steps: 300, batch: 2 });
    expect(relativeDifference(a.q, b.q)).toBeLessThan(1e-4);
    expect(relativeDifference(a.p, b.p)).toBeLessThan(1e-4);
  });

  it('reports a dispatch the adapter cut short instead of returning its state', async () => {
    const model = henonHeiles();
    const gpu = await compile(model.hamiltonian, { dt: 0.01, backend: 'gpu', stepsPerDispatch: 70_000 });
    const cutShort = { code: 'DEVICE', message: expect.stringMatching(/ended the step loop early/) };
    const outcome = await gpu.run({ q0: model.q0, p0: model.p0, steps: 70_000 }).then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
    const adapter = (gpu as GpuStepper).gpu.adapterKind;
    // llvmpipe ends every loop of an invocation after 65 535 iterations: the run must be refused.
    if (adapter === 'llvmpipe') expect(outcome.error).toMatchObject(cutShort);
    // A hardware adapter has no such bound: the one long dispatch must return the right state.
    if (adapter === 'hardware') expect(outcome.error).toBeUndefined();
    // On any adapter, a returned state is the true one (the f64 CPU run of the same 70 000 steps) and a refusal
    // is the DEVICE report, never another failure.
    if (outcome.error !== undefined) expect(outcome.error).toMatchObject(cutShort);
    else {
      const cpu = await compile(model.hamiltonian, { dt: 0.01, backend: 'cpu' });
      const reference = await cpu.run({ q0: model.q0, p0: model.p0, steps: 70_000 });
      expect(relativeDifference(outcome.result!.q, reference.q)).toBeLessThan(2e-3);
      expect(relativeDifference(outcome.result!.p, reference.p)).toBeLessThan(2e-3);
      cpu.dispose();
    }
    gpu.dispose();
  });
});

describe("backend 'auto'", () => {
  it('takes the GPU exactly when an adapter is available, and says so', async () => {
    const model = harmonicOscillator();
    const st = await compile(model.hamiltonian, { dt: model.dt, backend: 'auto' });
    expect(st.backend).toBe((await gpuAvailable()) ? 'gpu' : 'cpu');
    st.dispose();
  });
});

describe('Newton iteration on the GPU', () => {
  it('solves a stiff implicit step inside the kernel and agrees with the CPU', async () => {
    // ω = 100, h = 0.05: the plain fixed-point iteration diverges (h·ω = 5), Newton converges.
    const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + 1e4*x^2/2 + x^4/4' });
    for (const solver of ['newton', 'simplifiedNewton'] as const) {
      for (const method of ['midpoint', 'gauss4']) {
        const gpu = await compile(h, { method, dt: 0.05, backend: 'gpu', solver });
        const cpu = await compile(h, { method, dt: 0.05, backend: 'cpu', solver });
        const q0 = [1, 0.5, -0.2], p0 = [0, 3, 10];
        const a = await gpu.run({ q0, p0, steps: 100, batch: 3 });
        const b = await cpu.run({ q0, p0, steps: 100, batch: 3 });
        expect(relativeDifference(a.q, b.q)).toBeLessThan(1e-3);
        expect(relativeDifference(a.p, b.p)).toBeLessThan(1e-3);
        expect(a.stats!.iterations.max).toBeLessThan(12);
      }
    }
    const plain = await compile(h, { method: 'midpoint', dt: 0.05, backend: 'gpu' });
    await expect(plain.run({ q0: [1], p0: [0], steps: 10 })).rejects.toMatchObject({ code: 'NO_CONVERGENCE' });
  });

  it('differentiates stiff Newton-solved steps on the GPU like the CPU (backward solves by Newton too)', async () => {
    const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + k*x^2/2 + x^4/4', params: { k: 1e4 } });
    const args = { q0: [0.3, 0.1], p0: [1, -2], steps: 20, batch: 2, dq: [1, 0], dp: [0.5, 1], memory: 'reverse' as const };
    const gpu = await (await compile(h, { method: 'midpoint', dt: 0.05, backend: 'gpu', solver: 'newton' })).vjp(args);
    const cpu = await (await compile(h, { method: 'midpoint', dt: 0.05, backend: 'cpu', solver: 'newton' })).vjp(args);
    expect(relativeDifference(gpu.dq0, cpu.dq0)).toBeLessThan(1e-2);
    expect(Math.abs((gpu.dparams.k as number) - (cpu.dparams.k as number))).toBeLessThan(1e-2 * Math.abs(cpu.dparams.k as number));
  });
});

describe('GPU batches', () => {
  it('splits a batch larger than one dispatch and one buffer set, and stays right', async () => {
    const model = henonHeiles();
    const batch = 1000;
    const { q0, p0 } = batchAround(model, batch);
    const split = await compile(model.hamiltonian, { dt: 0.05, backend: 'gpu', maxTrajectoriesPerChunk: 300, maxWorkgroupsPerDispatch: 2 });
    const whole = await compile(model.hamiltonian, { dt: 0.05, backend: 'cpu' });
    const a = await split.run({ q0, p0, steps: 100, batch });
    const b = await whole.run({ q0, p0, steps: 100, batch });
    expect(relativeDifference(a.q, b.q)).toBeLessThan(1e-4);
    expect(relativeDifference(a.p, b.p)).toBeLessThan(1e-4);
  });

  it('fuses many steps per dispatch and still splits long runs into several dispatches', async () => {
    const model = kepler({ eccentricity: 0.3 });
    const st = await compile(model.hamiltonian, { dt: 0.01, backend: 'gpu', dispatchBudget: 64 * 29 * 10 });
    const cpu = await compile(model.hamiltonian, { dt: 0.01, backend: 'cpu' });
    const a = await st.run({ q0: model.q0, p0: model.p0, steps: 1000 });
    const b = await cpu.run({ q0: model.q0, p0: model.p0, steps: 1000 });
    expect(relativeDifference(a.q, b.q)).toBeLessThan(1e-3);
  });

  it('reports a non-finite state with its step and trajectory', async () => {
    const model = harmonicOscillator({ k: -1 }); // an unstable "oscillator": grows like e^t
    const st = await compile(model.hamiltonian, { dt: 0.5, backend: 'gpu' });
    await expect(st.run({ q0: [0, 1], p0: [0, 0], steps: 10_000, batch: 2 })).rejects.toThrow(/non-finite state at step \d+ of trajectory 1/);
  });

  it('finds the exact failing step although the fast kernel tests the state only after its last step', async () => {
    const model = harmonicOscillator({ k: -1 });
    // Small dispatches: the failure lies in a middle dispatch, found by the rerun with the per-step test.
    const st = await compile(model.hamiltonian, { dt: 0.5, backend: 'gpu', dispatchBudget: 64 * 40 });
    expect(st.wgsl).toMatch(/fn mainChecked\(/);
    type Failure = { details: { step: number; trajectory: number } };
    const failure = (run: Promise<unknown>) => run.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as Failure);
    const fast = await failure(st.run({ q0: [0, 1, 0, 0.5], p0: [0, 0, 0, 0], steps: 2000, batch: 4 }));
    // Recording uses the per-step-tested kernel directly.
    const recorded = await failure(st.run({ q0: [0, 1, 0, 0.5], p0: [0, 0, 0, 0], steps: 2000, batch: 4, record: 1000 }));
    expect(fast).toMatchObject({ code: 'NONFINITE', details: { trajectory: recorded.details.trajectory, step: recorded.details.step } });
    expect(fast.details.step).toBeGreaterThan(100);
  });
});

describe('negative dt on the GPU', () => {
  it('leapfrog with −dt undoes 400 steps of dt (f32 rounding) and agrees with the CPU backward run', async () => {
    const { hamiltonian: h } = henonHeiles();
    const forward = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const backward = await compile(h, { method: 'leapfrog', dt: -0.05, backend: 'gpu' });
    const cpuBackward = await compile(h, { method: 'leapfrog', dt: -0.05, backend: 'cpu' });
    const q0 = [0.1, -0.2], p0 = [0.3, 0.2];
    const there = await forward.run({ q0, p0, steps: 400 });
    const back = await backward.run({ q0: there.q, p0: there.p, steps: 400 });
    const reference = await cpuBackward.run({ q0: there.q, p0: there.p, steps: 400 });
    for (let k = 0; k < 2; k++) {
      expect(Math.abs(there.q[k]! - q0[k]!)).toBeGreaterThan(1e-2);
      expect(Math.abs(back.q[k]! - q0[k]!)).toBeLessThan(1e-5);
      expect(Math.abs(back.p[k]! - p0[k]!)).toBeLessThan(1e-5);
      expect(Math.abs(back.q[k]! - reference.q[k]!)).toBeLessThan(1e-5);
    }
    for (const st of [forward, backward, cpuBackward]) st.dispose();
  });
});
