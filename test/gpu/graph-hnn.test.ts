/**
 * Graph Hamiltonian networks on the GPU: the f32 WGSL batch gradient of the force-matching (derivative) loss of a
 * `graphHnn` — a pair sum whose body is an MLP of r, differentiated in q and then in θ — agrees with the f64 CPU one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { graphHnn } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { planTraining } from '../../src/train/fit.js';
import { evaluateGpuGradient } from '../../src/train/gpu-trainer.js';
import { jitteredLattice } from '../unit/particle-fixtures.js';

afterAll(() => releaseGpu());

describe('graphHnn: GPU (f32) ≡ CPU (f64) gradients of the force-matching loss', () => {
  for (const hidden of [[12], [4, 3]]) {
    it(`hidden ${JSON.stringify(hidden)}, 9 particles in a periodic 2-D box`, async () => {
      const n = 9, dim = 2, L = 4.5, samples = 6;
      const model = graphHnn({ n, dim, hidden, cutoff: 2.2, box: [L, L], seed: 1 });
      const q = new Float64Array(samples * n * dim), p = new Float64Array(samples * n * dim);
      for (let s = 0; s < samples; s++) {
        const { q0, p0 } = jitteredLattice(n, dim, L, 10 + s);
        q.set(q0, s * n * dim);
        p.set(p0, s * n * dim);
      }
      const dpdt = q.map((_, k) => Math.sin(0.7 * k));
      const plan = planTraining(model, { q, p, dqdt: p, dpdt }, { loss: 'derivative', steps: 1, lr: 1e-3 });
      const rows = Uint32Array.from({ length: samples }, (_, i) => (5 * i + 1) % samples);
      const cpu = new Float64Array(1 + plan.program.layout.total);
      compileCpuGradient(plan.program)(plan.train.rows, plan.theta, rows, rows.length, cpu);
      const gpu = await evaluateGpuGradient(plan.program, plan.train, plan.theta, rows);
      expect(Math.abs(gpu[0]! - cpu[0]!) / Math.abs(cpu[0]!)).toBeLessThan(1e-4);
      let d = 0, m = 0;
      for (let j = 1; j < cpu.length; j++) {
        d += (gpu[j]! - cpu[j]!) ** 2;
        m += cpu[j]! ** 2;
      }
      expect(m).toBeGreaterThan(0);
      expect(Math.sqrt(d / m)).toBeLessThan(1e-3);
    });
  }
});
