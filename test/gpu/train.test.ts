import { afterAll, describe, expect, it } from 'vitest';
import { DarbouxError, fit } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { planTraining } from '../../src/train/fit.js';
import { evaluateGpuGradient } from '../../src/train/gpu-trainer.js';
import type { FitOptions } from '../../src/train/types.js';
import type { TrainingPlan } from '../../src/train/plan.js';
import { fixtureHnn, lossCases, springData } from '../unit/train-fixtures.js';

afterAll(() => releaseGpu());

function cpuSums(plan: TrainingPlan, rows: Uint32Array): Float64Array {
  const out = new Float64Array(1 + plan.program.layout.total);
  compileCpuGradient(plan.program)(plan.train.rows, plan.theta, rows, rows.length, out);
  return out;
}

/** ‖a − b‖ / ‖b‖ over the gradient part (entries 1 …). */
function relativeGradientError(a: Float64Array, b: Float64Array): number {
  let d = 0, n = 0;
  for (let j = 1; j < a.length; j++) {
    d += (a[j]! - b[j]!) ** 2;
    n += b[j]! ** 2;
  }
  return Math.sqrt(d / n);
}

describe('GPU (f32) batch gradients agree with the CPU (f64) ones', () => {
  for (const c of lossCases) {
    it(c.name, async () => {
      const plan = planTraining(c.model(), c.data(), { steps: 1, lr: 1e-3, ...c.options });
      const n = plan.train.count;
      const rows = Uint32Array.from({ length: n }, (_, i) => (5 * i + 1) % n);
      const cpu = cpuSums(plan, rows);
      const gpu = await evaluateGpuGradient(plan.program, plan.train, plan.theta, rows);
      expect(Math.abs(gpu[0]! - cpu[0]!) / Math.abs(cpu[0]!)).toBeLessThan(1e-4);
      expect(relativeGradientError(gpu, cpu)).toBeLessThan(1e-3);
    });
  }

  it('the spring HNN of the benchmark (200 tanh units: loops over tensors in WGSL), split into several dispatches', async () => {
    const plan = planTraining(fixtureHnn(1, 200), springData(10, 25), { steps: 1, lr: 1e-3 });
    const rows = Uint32Array.from({ length: 250 }, (_, i) => (7 * i) % 250);
    const cpu = cpuSums(plan, rows);
    for (const maxSamplesPerDispatch of [250, 64]) {
      const gpu = await evaluateGpuGradient(plan.program, plan.train, plan.theta, rows, { maxSamplesPerDispatch });
      expect(Math.abs(gpu[0]! - cpu[0]!) / Math.abs(cpu[0]!)).toBeLessThan(1e-4);
      expect(relativeGradientError(gpu, cpu)).toBeLessThan(1e-3);
    }
  });
});

describe('fit on the GPU', () => {
  const data = springData(6, 20);
  const options: FitOptions = { loss: 'derivative', steps: 300, lr: 1e-2, weightDecay: 1e-4, batchSize: 40, seed: 3, backend: 'gpu', checkEvery: 64 };

  it('reduces the loss by at least 10×, follows the CPU run at f32 precision, and is deterministic', async () => {
    const gpu = await fit(fixtureHnn(1, 16), data, options);
    const again = await fit(fixtureHnn(1, 16), data, options);
    const cpu = await fit(fixtureHnn(1, 16), data, { ...options, backend: 'cpu' });
    expect(gpu.backend).toBe('gpu');
    expect(gpu.history).toHaveLength(300);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(gpu.history.slice(-10))).toBeLessThan(mean(gpu.history.slice(0, 10)) / 10);
    for (let t = 0; t < 20; t++) expect(Math.abs(gpu.history[t]! - cpu.history[t]!)).toBeLessThan(1e-3 * cpu.history[t]!);
    expect(Math.abs(mean(gpu.history.slice(-10)) - mean(cpu.history.slice(-10)))).toBeLessThan(0.1 * mean(cpu.history.slice(-10)));
    expect(again.history).toEqual(gpu.history);
    // the output bias gets no gradient from the derivative loss: only the L2 decay moves it, alike on both
    expect(gpu.params.hb2![0]).toBeCloseTo(cpu.params.hb2![0]!, 5);
  });

  it('runs Adam with clipping, cosine decay, decoupled decay and validation on the device like the CPU', async () => {
    const extra: Partial<FitOptions> = { steps: 60, clipNorm: 0.5, schedule: 'cosine', weightDecayMode: 'decoupled', weightDecay: 1e-2, validation: springData(2, 9), validationEvery: 25, maxSamplesPerDispatch: 16 };
    const gpu = await fit(fixtureHnn(1, 8), data, { ...options, ...extra });
    const cpu = await fit(fixtureHnn(1, 8), data, { ...options, ...extra, backend: 'cpu' });
    expect(gpu.validationSteps).toEqual([0, 25, 50, 60]);
    for (let k = 0; k < 4; k++) expect(Math.abs(gpu.validationHistory[k]! - cpu.validationHistory[k]!)).toBeLessThan(2e-3 * cpu.validationHistory[k]!);
    for (const name of Object.keys(cpu.params)) {
      const a = gpu.params[name]!, b = cpu.params[name]!;
      for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-3);
    }
  });

  it('stops on a non-finite loss with the step number', async () => {
    const err = await fit(fixtureHnn(1, 8), data, { ...options, lr: 1e30, steps: 40, checkEvery: 8 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DarbouxError);
    expect((err as DarbouxError).code).toBe('NONFINITE');
    expect((err as DarbouxError).message).toMatch(/diverged at step \d+/);
  });
});

describe('software-adapter loop bound', () => {
  it('refuses (on llvmpipe) a network whose per-sample kernel would exceed 65 535 loop iterations, instead of a wrong gradient', async () => {
    // cpuLowering 'perSample': by default a matched HNN trains with the batched kernels (test/gpu/batched-training.test.ts).
    const { hnn, gpuInfo } = await import('../../src/index.js');
    const model = hnn({ dof: 1, hidden: [200, 200], activation: 'tanh', seed: 0 });
    const data = { q: [0.1, 0.2], p: [0.3, -0.1], dqdt: [0.6, -0.2], dpdt: [-0.2, -0.4] };
    const run = fit(model, data, { loss: 'derivative', steps: 1, lr: 1e-3, backend: 'gpu', cpuLowering: 'perSample' });
    if ((await gpuInfo()).adapter === 'llvmpipe') await expect(run).rejects.toMatchObject({ code: 'DEVICE', message: expect.stringMatching(/65 535/) });
    else await expect(run).resolves.toBeDefined();
  });
});
