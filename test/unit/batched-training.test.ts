/**
 * The batched CPU lowering of the HNN derivative loss (src/train/batched-gradient.ts) against the per-sample
 * lowering (compileCpuGradient, itself checked against finite differences in train.test.ts) and against central
 * finite differences; which losses it applies to; and fit's cpuLowering option.
 */
import { describe, expect, it } from 'vitest';
import { DarbouxError, fit, hnn, mlpField } from '../../src/index.js';
import type { NeuralModel } from '../../src/models/neural/model.js';
import { compileBatchedGradient } from '../../src/train/batched-gradient.js';
import { matchBatchedHnn, type BatchedHnnSpec } from '../../src/train/batched-match.js';
import { compileCpuGradient } from '../../src/train/cpu-gradient.js';
import { packSamples } from '../../src/train/data.js';
import { gradientProgram, packParams } from '../../src/train/gradient-program.js';
import { lossGraph, type LossSettings } from '../../src/train/losses.js';
import { expectGradientMatchesDifferences, fixtureHnn, springData, worstRelative } from './train-fixtures.js';

/** Deterministic samples with non-trivial targets (so the residuals and every gradient are far from zero). */
function samples(n: number, dof: number) {
  const wave = (k: number) => Float64Array.from({ length: n * dof }, (_, i) => 1.2 * Math.sin(1.3 * i + 0.7 * k));
  return { q: wave(1), p: wave(2), dqdt: wave(3), dpdt: wave(4), qNext: wave(5), pNext: wave(6), trajectoryIndex: new Int32Array(n) };
}

function setup(model: NeuralModel, n: number, settings: LossSettings = { loss: 'derivative' }) {
  const graph = lossGraph(model, settings);
  const program = gradientProgram(model, graph);
  const data = packSamples(graph, model.dof, samples(n, model.dof));
  // Perturbed θ: biases away from zero, so every activation's σ″ term matters.
  const theta = packParams(program.layout, model.params).map((x, i) => x + 0.07 * Math.sin(0.37 * i + 1));
  const rows = Uint32Array.from({ length: n }, (_, i) => (i * 37 + 5) % n);
  return { program, data, theta, rows, spec: matchBatchedHnn(model, program) };
}

const cases: [string, () => NeuralModel, number][] = [
  ['hidden [200], tanh', () => hnn({ dof: 1, hidden: [200], activation: 'tanh', seed: 1 }), 70],
  ['hidden [64, 64], softplus', () => hnn({ dof: 1, hidden: [64, 64], activation: 'softplus', seed: 2 }), 67],
  ['hidden [200, 200], sigmoid', () => hnn({ dof: 1, hidden: [200, 200], activation: 'sigmoid', seed: 3 }), 9],
  ['hidden [13, 6, 5], sin, dof 3', () => hnn({ dof: 3, hidden: [13, 6, 5], activation: 'sin', seed: 4 }), 130],
  ['separable, hidden [12, 7], tanh, dof 2', () => hnn({ dof: 2, hidden: [12, 7], activation: 'tanh', seed: 5, separable: true }), 33],
  ['hand-built H = w·tanh(Wq q + Wp p + b) + b2 (fixture)', () => fixtureHnn(2, 9, 'x'), 21],
];

describe('batched derivative-loss gradient = per-sample gradient', () => {
  for (const simd of [true, false]) {
    for (const [name, make, n] of cases) {
      it(`${name} (${simd ? 'WebAssembly SIMD' : 'JS'} GEMMs)`, () => {
        const { program, data, theta, rows, spec } = setup(make(), n);
        expect(typeof spec).toBe('object');
        const P = program.layout.total;
        const reference = new Float64Array(1 + P), batched = new Float64Array(1 + P).fill(NaN);
        compileCpuGradient(program)(data.rows, theta, rows, n, reference);
        const f = compileBatchedGradient(spec as BatchedHnnSpec, { simd });
        expect(f.simd).toBe(simd);
        f(data.rows, theta, rows, n, batched);
        expect(worstRelative(program, batched, reference)).toBeLessThan(1e-12);
        // A second call on a prefix of the rows (chunk padding, state from the previous call) agrees too.
        compileCpuGradient(program)(data.rows, theta, rows, n - 3, reference);
        f(data.rows, theta, rows, n - 3, batched);
        expect(worstRelative(program, batched, reference)).toBeLessThan(1e-12);
      });
    }
  }

  it('matches central finite differences of the loss (three layers, sigmoid)', () => {
    const model = hnn({ dof: 2, hidden: [5, 4, 3], activation: 'sigmoid', seed: 7 });
    const n = 6;
    const { data, theta, rows, spec } = setup(model, n);
    expectGradientMatchesDifferences(compileBatchedGradient(spec as BatchedHnnSpec), data.rows, theta, rows, n, 3, 1e-7);
  });
});

describe('where the batched lowering applies', () => {
  it('refuses, with a reason, the losses it does not lower', () => {
    const model = hnn({ dof: 1, hidden: [8], seed: 0 });
    expect(setup(model, 4, { loss: 'derivative', energyWeight: 0.5 }).spec).toMatch(/energy regulariser/);
    expect(setup(model, 4, { loss: 'rollout', rollout: { steps: 1, method: 'rk4', dt: 0.1 } }).spec).toMatch(/rollout loss/);
    expect(setup(mlpField({ dof: 1, hidden: [8], seed: 0 }), 4).spec).toMatch(/mlpField model/);
  });

  it("fit uses it by default and gives the per-sample history; cpuLowering 'batched' refuses what it cannot lower", async () => {
    const data = springData(4, 10);
    const options = { loss: 'derivative' as const, steps: 15, lr: 1e-2, batchSize: 23, seed: 3 };
    const model = hnn({ dof: 1, hidden: [16, 16], activation: 'tanh', seed: 0 });
    const auto = await fit(model, data, options);
    const perSample = await fit(model, data, { ...options, cpuLowering: 'perSample' });
    const forced = await fit(model, data, { ...options, cpuLowering: 'batched' });
    expect(auto.history).toEqual(forced.history);
    auto.history.forEach((loss, t) => expect(Math.abs(loss - perSample.history[t]!)).toBeLessThan(1e-10 * perSample.history[t]!));
    const err = await fit(mlpField({ dof: 1, hidden: [4], seed: 0 }), data, { ...options, cpuLowering: 'batched' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DarbouxError);
    expect((err as DarbouxError).code).toBe('OPTION');
    expect((err as DarbouxError).message).toMatch(/cpuLowering 'batched' does not apply to a mlpField model/);
    const bad = await fit(model, data, { ...options, cpuLowering: 'fast' as 'auto' }).catch((e: unknown) => e);
    expect((bad as DarbouxError).message).toMatch(/cpuLowering must be 'auto' or 'batched' or 'perSample'/);
  });
});
