/**
 * The batched CPU lowering of the LNN acceleration loss (src/train/batched-lnn.ts) against the per-sample lowering
 * (compileCpuGradient of the symbolic Euler–Lagrange graph, itself checked against finite differences in
 * lnn.test.ts) on random widths, depths, activations and dof, on Noether-invariant networks, and against central
 * finite differences; where it applies; and fit's cpuLowering choice for an lnn.
 */
import { describe, expect, it } from 'vitest';
import { DarbouxError, fit, hnn, lnn } from '../../src/index.js';
import type { Activation } from '../../src/models/neural/layers.js';
import type { LnnSymmetry } from '../../src/models/neural/lnn-invariants.js';
import type { NeuralModel } from '../../src/models/neural/model.js';
import { compileBatchedLnnGradient } from '../../src/train/batched-lnn.js';
import { matchBatchedLnn, perSampleIsFaster, type BatchedLnnSpec } from '../../src/train/batched-lnn-match.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { packSamples } from '../../src/train/data.js';
import { planTraining } from '../../src/train/fit.js';
import { gradientProgram, packParams } from '../../src/train/gradient-program.js';
import { lossGraph } from '../../src/train/losses.js';
import { expectGradientMatchesDifferences, worstRelative } from './train-fixtures.js';
import { seededRandom } from './op-cases.js';

/** Samples q, v, a (a far from the model's accelerations, so every residual and gradient is far from zero). */
function samples(n: number, dof: number, seed: number) {
  const u = seededRandom(seed);
  const draw = (scale: number) => Float64Array.from({ length: n * dof }, () => scale * (2 * u() - 1));
  return { q: draw(1.2), v: draw(1.5), a: draw(2) };
}

function setup(model: NeuralModel, n: number, seed: number) {
  const graph = lossGraph(model, { loss: 'acceleration' });
  const program = gradientProgram(model, graph);
  const data = packSamples(graph, model.dof, samples(n, model.dof, seed));
  // Perturbed θ: biases away from zero, so every σ″ and σ‴ term matters.
  const theta = packParams(program.layout, model.params).map((x, i) => x + 0.07 * Math.sin(0.37 * i + seed));
  const rows = Uint32Array.from({ length: n }, (_, i) => (i * 37 + 5) % n);
  return { program, data, theta, rows, spec: matchBatchedLnn(model, program) };
}

const ACTIVATIONS: Activation[] = ['softplus', 'tanh', 'sigmoid', 'sin'];

/** Random architectures: dof 1–6, 1–3 hidden layers of widths 1–19, every activation. */
const cases = Array.from({ length: 10 }, (_, c) => {
  const u = seededRandom(100 + c);
  const dof = 1 + Math.floor(6 * u());
  const hidden = Array.from({ length: 1 + Math.floor(3 * u()) }, () => 1 + Math.floor(19 * u()));
  return { dof, hidden, activation: ACTIVATIONS[c % 4]!, n: 3 + Math.floor(90 * u()), seed: c };
});

describe('batched acceleration-loss gradient = per-sample gradient', () => {
  for (const { dof, hidden, activation, n, seed } of cases) {
    it(`dof ${dof}, hidden [${hidden}], ${activation}, ${n} samples`, () => {
      const { program, data, theta, rows, spec } = setup(lnn({ dof, hidden, activation, seed }), n, seed);
      expect(typeof spec).toBe('object');
      const P = program.layout.total;
      const reference = new Float64Array(1 + P);
      compileCpuGradient(program)(data.rows, theta, rows, n, reference);
      for (const simd of [true, false]) {
        const f = compileBatchedLnnGradient(spec as BatchedLnnSpec, { simd });
        expect(f.simd).toBe(simd);
        const batched = new Float64Array(1 + P).fill(NaN);
        f(data.rows, theta, rows, n, batched);
        expect(worstRelative(program, batched, reference)).toBeLessThan(1e-10);
        // A second call on a prefix of the rows (a partial last chunk, state left by the previous call) agrees too.
        const m = Math.max(1, n - 3);
        compileCpuGradient(program)(data.rows, theta, rows, m, reference);
        f(data.rows, theta, rows, m, batched);
        expect(worstRelative(program, batched, reference)).toBeLessThan(1e-10);
        compileCpuGradient(program)(data.rows, theta, rows, n, reference);
      }
    });
  }

  const invariantCases: [number, number, LnnSymmetry, number[], Activation, number][] = [
    [1, 3, 'rotation', [7, 5], 'softplus', 19],
    [2, 2, 'translation', [6], 'tanh', 13],
    [2, 3, 'euclidean', [5, 4, 3], 'sigmoid', 11],
    [2, 2, 'rotation', [9, 4], 'sin', 45],
  ];
  for (const [particles, dim, symmetry, hidden, activation, n] of invariantCases) {
    it(`Noether-invariant: ${particles} particle(s) in ${dim}-D, ${symmetry}, hidden [${hidden}], ${activation}`, () => {
      const model = lnn({ particles, dim, symmetry, hidden, activation, seed: n });
      const { program, data, theta, rows, spec } = setup(model, n, n);
      expect((spec as BatchedLnnSpec).invariant?.inputs).toBe(model.inputs);
      const P = program.layout.total;
      const reference = new Float64Array(1 + P), batched = new Float64Array(1 + P).fill(NaN);
      compileCpuGradient(program)(data.rows, theta, rows, n, reference);
      compileBatchedLnnGradient(spec as BatchedLnnSpec)(data.rows, theta, rows, n, batched);
      expect(worstRelative(program, batched, reference)).toBeLessThan(1e-10);
    });
  }

  it('matches central finite differences of the loss (dof 2, three layers, tanh)', () => {
    const n = 7;
    const { data, theta, rows, spec } = setup(lnn({ dof: 2, hidden: [5, 4, 3], activation: 'tanh', seed: 9 }), n, 9);
    expectGradientMatchesDifferences(compileBatchedLnnGradient(spec as BatchedLnnSpec), data.rows, theta, rows, n, 2, 1e-6);
  });
});

describe('where the batched lnn lowering applies', () => {
  const data = samples(40, 2, 1);
  const options = { loss: 'acceleration' as const, steps: 12, lr: 1e-2, batchSize: 13, seed: 3 };

  it('refuses, with a reason, other losses; auto keeps tiny one-layer networks per sample', () => {
    const h = hnn({ dof: 1, hidden: [8], seed: 0 });
    const program = gradientProgram(h, lossGraph(h, { loss: 'derivative' }));
    expect(matchBatchedLnn(h, program)).toMatch(/the derivative loss/);
    const tiny = lnn({ dof: 2, hidden: [8], seed: 0 });
    expect(perSampleIsFaster(setup(tiny, 4, 1).spec as BatchedLnnSpec)).toBe(true);
    expect(planTraining(tiny, data, options).batchedLnn).toBeUndefined();
    expect(planTraining(tiny, data, { ...options, cpuLowering: 'batched' }).batchedLnn).toBeDefined();
    expect(planTraining(lnn({ dof: 2, hidden: [8, 8], seed: 0 }), data, options).batchedLnn?.network.layers.map((l) => l.width)).toEqual([8, 8]);
    expect(planTraining(lnn({ dof: 2, hidden: [8, 8], seed: 0 }), data, { ...options, cpuLowering: 'perSample' }).batchedLnn).toBeUndefined();
    const inv = planTraining(lnn({ particles: 1, dim: 2, symmetry: 'rotation', hidden: [8, 8], seed: 0 }), data, options).batchedLnn;
    expect(inv?.invariant?.inputs).toBe(4); // |q|², q·v, |v|², det[q, v]
  });

  it("fit uses it by default and gives the per-sample history; cpuLowering 'batched' refuses what it cannot lower", async () => {
    const model = lnn({ dof: 2, hidden: [12, 9], activation: 'softplus', seed: 0 });
    const auto = await fit(model, data, options);
    const perSample = await fit(model, data, { ...options, cpuLowering: 'perSample' });
    const forced = await fit(model, data, { ...options, cpuLowering: 'batched' });
    expect(auto.history).toEqual(forced.history);
    auto.history.forEach((loss, t) => expect(Math.abs(loss - perSample.history[t]!)).toBeLessThan(1e-10 * perSample.history[t]!));
    const inv = lnn({ particles: 1, dim: 2, symmetry: 'rotation', hidden: [8, 6], seed: 0 });
    const invBatched = await fit(inv, data, { ...options, cpuLowering: 'batched' });
    const invPerSample = await fit(inv, data, { ...options, cpuLowering: 'perSample' });
    // The first loss is the same θ's; later ones follow Adam, which rescales rounding-level gradient differences.
    expect(Math.abs(invBatched.history[0]! - invPerSample.history[0]!)).toBeLessThan(1e-12 * invPerSample.history[0]!);
    invBatched.history.forEach((loss, t) => expect(Math.abs(loss - invPerSample.history[t]!)).toBeLessThan(1e-6 * invPerSample.history[t]!));
    const gpu = await fit(model, data, { ...options, cpuLowering: 'batched', backend: 'gpu' }).catch((e: unknown) => e);
    expect(gpu).toBeInstanceOf(DarbouxError);
    expect([(gpu as DarbouxError).code, (gpu as DarbouxError).message]).toEqual(['OPTION', expect.stringMatching(/cpuLowering 'batched' does not apply to an lnn on the gpu backend/)]);
  });
});
