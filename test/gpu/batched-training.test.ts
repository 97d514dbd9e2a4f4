/**
 * The batched GPU derivative-loss gradient (src/train/gpu-batched*.ts, f32, tiled GEMMs) against the batched CPU
 * lowering (f64, itself checked against the per-sample lowering and finite differences in
 * test/unit/batched-training.test.ts), including batches spread over several chunks; and fit on the GPU at
 * hidden [200, 200], which the per-sample kernels refuse on llvmpipe.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fit, hnn } from '../../src/index.js';
import type { NeuralModel } from '../../src/models/neural/model.js';
import { acquireGpu, releaseGpu } from '../../src/runtime/index.js';
import { compileBatchedGradient } from '../../src/train/batched-gradient.js';
import { matchBatchedHnn, type BatchedHnnSpec } from '../../src/train/batched-match.js';
import { packSamples } from '../../src/train/data.js';
import { evaluateBatchedGpuGradient } from '../../src/train/gpu-batched.js';
import { setGemmTiling, type GemmTiling } from '../../src/train/gpu-batched-kernels.js';
import { gradientProgram, packParams } from '../../src/train/gradient-program.js';
import { lossGraph } from '../../src/train/losses.js';
import { fixtureHnn, worstRelative } from '../unit/train-fixtures.js';

afterAll(() => releaseGpu());

function samples(n: number, dof: number) {
  const wave = (k: number) => Float64Array.from({ length: n * dof }, (_, i) => 1.2 * Math.sin(1.3 * i + 0.7 * k));
  return { q: wave(1), p: wave(2), dqdt: wave(3), dpdt: wave(4) };
}

const cases: [string, () => NeuralModel, number][] = [
  ['hidden [200], tanh', () => hnn({ dof: 1, hidden: [200], activation: 'tanh', seed: 1 }), 70],
  ['hidden [64, 64], softplus, 2 chunks', () => hnn({ dof: 1, hidden: [64, 64], activation: 'softplus', seed: 2 }), 1500],
  ['hidden [200, 200], sigmoid', () => hnn({ dof: 1, hidden: [200, 200], activation: 'sigmoid', seed: 3 }), 9],
  ['hidden [13, 6, 5], sin, dof 3', () => hnn({ dof: 3, hidden: [13, 6, 5], activation: 'sin', seed: 4 }), 130],
  ['separable, hidden [12, 7], tanh, dof 2', () => hnn({ dof: 2, hidden: [12, 7], activation: 'tanh', seed: 5, separable: true }), 33],
  ['hand-built H = w·tanh(Wq q + Wp p + b) + b2 (fixture)', () => fixtureHnn(2, 9, 'x'), 21],
];

describe('batched GPU gradient (f32) = batched CPU gradient (f64)', () => {
  // Wide register blocks (the default) for every case; narrow 4×4 blocks for the two deep ones.
  const runs: [string, () => NeuralModel, number, GemmTiling][] = [
    ...cases.map(([name, make, n]): [string, () => NeuralModel, number, GemmTiling] => [name, make, n, 'wide']),
    ...cases.filter(([name]) => name.includes(', 2')).map(([name, make, n]): [string, () => NeuralModel, number, GemmTiling] => [`${name}, narrow register blocks`, make, n, 'narrow']),
  ];
  for (const [name, make, n, tiling] of runs) {
    it(name, async () => {
      const before = setGemmTiling(tiling);
      const model = make();
      const graph = lossGraph(model, { loss: 'derivative' });
      const program = gradientProgram(model, graph);
      const data = packSamples(graph, model.dof, samples(n, model.dof));
      const theta = packParams(program.layout, model.params).map((x, i) => x + 0.07 * Math.sin(0.37 * i + 1));
      const rows = Uint32Array.from({ length: n }, (_, i) => (i * 37 + 5) % n);
      const spec = matchBatchedHnn(model, program) as BatchedHnnSpec;
      expect(typeof spec).toBe('object');
      const cpu = new Float64Array(1 + program.layout.total);
      compileBatchedGradient(spec, { simd: false })(data.rows, theta, rows, n, cpu);
      const gpu = await evaluateBatchedGpuGradient(await acquireGpu(), spec, data.rows, theta, rows).finally(() => setGemmTiling(before));
      expect(worstRelative(program, gpu, cpu, false)).toBeLessThan(2e-4);
    });
  }
});

describe('fit on the GPU at width', () => {
  it('hidden [200, 200] trains on the GPU (batched kernels) and its loss history is the CPU one to f32 precision', async () => {
    const n = 64;
    const q = Float64Array.from({ length: n }, (_, i) => Math.cos(0.3 * i)), p = Float64Array.from({ length: n }, (_, i) => Math.sin(0.3 * i));
    const data = { q, p, dqdt: p, dpdt: q.map((x) => -x) };
    const options = { loss: 'derivative' as const, steps: 30, lr: 1e-3, batchSize: 32, seed: 0 };
    const model = hnn({ dof: 1, hidden: [200, 200], activation: 'tanh', seed: 0 });
    const gpu = await fit(model, data, { ...options, backend: 'gpu' });
    const cpu = await fit(model, data, { ...options, backend: 'cpu' });
    expect(gpu.history.length).toBe(30);
    expect(gpu.history.at(-1)!).toBeLessThan(gpu.history[0]!);
    // Same minibatches: the f32 GPU history follows the f64 CPU one step for step.
    for (let t = 0; t < 30; t++) expect(Math.abs(gpu.history[t]! - cpu.history[t]!)).toBeLessThan(1e-4 * cpu.history[t]!);
  });
});
