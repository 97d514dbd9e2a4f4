/**
 * The acceleration loss of Lagrangian networks on the GPU (f32 WGSL training kernels): batch gradients against the
 * CPU (f64) ones, and a short `fit` that follows the CPU run. Small networks: the per-sample kernel of the
 * acceleration loss holds ∂²L/∂v², the pivoted solve and their parameter gradients, and its WGSL grows quickly with
 * dof and depth (dof 3 with two hidden layers of 16 is ~380 k characters, which llvmpipe compiles for minutes).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fit, lnn } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { planTraining } from '../../src/train/fit.js';
import { evaluateGpuGradient } from '../../src/train/gpu-trainer.js';

afterAll(() => releaseGpu());

/** The oscillator a = −q in `dof` coordinates, q in (−1, 1), v in (−0.5, 0.5). */
function oscillator(dof: number, count: number, seed: number) {
  let s = seed;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const q = Float64Array.from({ length: dof * count }, () => r());
  const v = Float64Array.from({ length: dof * count }, () => 0.5 * r());
  return { q, v, a: q.map((x) => -x) };
}

describe('LNN acceleration loss on the GPU', () => {
  const models = {
    'unconstrained, dof 1, two hidden layers of 4': () => lnn({ dof: 1, hidden: [4, 4], seed: 0 }),
    'rotation-invariant, one particle in 2-D (4 invariants), one hidden layer of 4': () => lnn({ particles: 1, dim: 2, symmetry: 'rotation', hidden: [4], seed: 0 }),
  };
  for (const [name, make] of Object.entries(models)) {
    it(`batch loss and gradient agree with the CPU at f32 precision: ${name}`, async () => {
      const model = make();
      const plan = planTraining(model, oscillator(model.dof, 32, 5), { loss: 'acceleration', steps: 1, lr: 1e-3 });
      const rows = Uint32Array.from({ length: 32 }, (_, i) => (5 * i + 1) % 32);
      const cpu = new Float64Array(1 + plan.program.layout.total);
      compileCpuGradient(plan.program)(plan.train.rows, plan.theta, rows, 32, cpu);
      const gpu = await evaluateGpuGradient(plan.program, plan.train, plan.theta, rows);
      expect(Math.abs(gpu[0]! - cpu[0]!) / cpu[0]!).toBeLessThan(1e-4);
      let d = 0, n = 0;
      for (let j = 1; j < cpu.length; j++) {
        d += (gpu[j]! - cpu[j]!) ** 2;
        n += cpu[j]! ** 2;
      }
      expect(Math.sqrt(d / n)).toBeLessThan(1e-3);
    });
  }

  it('fit with backend gpu follows the CPU run', async () => {
    const data = oscillator(1, 64, 3);
    const options = { loss: 'acceleration', steps: 40, lr: 1e-2, batchSize: 32, seed: 0, checkEvery: 20 } as const;
    const gpu = await fit(lnn({ dof: 1, hidden: [4, 4], seed: 0 }), data, { ...options, backend: 'gpu' });
    const cpu = await fit(lnn({ dof: 1, hidden: [4, 4], seed: 0 }), data, { ...options, backend: 'cpu' });
    expect(gpu.backend).toBe('gpu');
    expect(gpu.lagrangian).toBeInstanceOf(cpu.lagrangian!.constructor);
    for (let t = 0; t < 10; t++) expect(Math.abs(gpu.history[t]! - cpu.history[t]!)).toBeLessThan(1e-3 * cpu.history[t]!);
    expect(gpu.history.at(-1)!).toBeLessThan(gpu.history[0]!);
  });
});
